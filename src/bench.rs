//! `grokscope bench`: training throughput as one JSON object a line.
//!
//! `gflops` is effective: the floating-point work of the model as written (forward, and backward at
//! twice the forward) divided by wall time, counting every position of every sequence even where a model
//! skips work it does not need.

use crate::config::{self, GrokkingConfig, MlpConfig, ModelConfig, TransformerConfig};
use crate::experiment::{EventSink, Unattended, grokking};
use crate::protocol::{Event, GrokEvent, GrokkingEvent, LabEvent};
use crate::train::insight::{InsightEvery, WINDOW_SHARE};
use crate::train::trainer::Trainer;
use anyhow::{Context, Result};
use std::time::{Duration, Instant};

/// Matrix-product FLOPs of one training step (forward + backward = 3x forward) of `cfg`.
pub fn flops_per_step(cfg: &GrokkingConfig) -> f64 {
    let n = cfg.effective_batch() as f64;
    let p = cfg.p as f64;
    let fwd = match &cfg.model {
        ModelConfig::Mlp(m) => {
            let inp = match m.combine {
                config::Combine::Concat => 2 * m.embed_dim,
                config::Combine::Sum => m.embed_dim,
            } as f64;
            let h = m.hidden as f64;
            2.0 * n * (inp * h + h * p)
        }
        ModelConfig::Transformer(t) => {
            let (d, seq) = (t.d_model as f64, 4.0);
            // per block and token: q, k, v, o (4 d^2) and SwiGLU (3 * 4 d^2) multiply-adds; attention
            // scores and mixing 2 * seq * d; read-out d (p+2) at the last position
            let block = 16.0 * d * d + 2.0 * seq * d;
            2.0 * n * (seq * t.depth as f64 * block + d * (p + 2.0))
        }
    };
    3.0 * fwd
}

fn mlp97() -> GrokkingConfig {
    let mut c = config::preset("fast-mlp")
        .map(|p| p.config)
        .unwrap_or_else(|| unreachable!("built-in preset"));
    c.p = 97;
    c.train_fraction = 0.4;
    c.model = ModelConfig::Mlp(MlpConfig {
        embed_dim: 128,
        hidden: 512,
        activation: config::Activation::Relu,
        combine: config::Combine::Concat,
        init_scale: 1.0,
    });
    c.full_batch = true;
    c
}

fn transformer97() -> GrokkingConfig {
    let mut c = mlp97();
    c.train_fraction = 0.5;
    c.model = ModelConfig::Transformer(TransformerConfig {
        d_model: 128,
        depth: 2,
        heads: 1,
        dropout: 0.2,
        init_scale: 1.0,
        device: Default::default(),
    });
    c.full_batch = false;
    c.batch_size = 512;
    c.optim.lr = 1e-3;
    c
}

/// The Capacity lab's sizes: `transformer97` narrowed to p = 47, d = 16 (run on one thread).
fn transformer_small() -> GrokkingConfig {
    let mut c = transformer97();
    c.p = 47;
    if let ModelConfig::Transformer(t) = &mut c.model {
        t.d_model = 16;
    }
    c
}

/// Wall time of one epoch's evaluation passes in eval mode for a fresh model of `cfg`: over the training
/// set and then the validation set, as at an epoch's end; and over the validation set alone (a run
/// without the clean pass). Each timing starts at parameters the model has not evaluated yet (the last
/// bit of one weight flipped back and forth, untimed), as every epoch's do: the hand-written transformer
/// computes what its passes share once for each set of parameters, and timing repeated passes at the same
/// parameters would leave that out.
fn eval_secs(cfg: &GrokkingConfig) -> Result<(f64, f64)> {
    let mut rng = crate::rng::stream(cfg.seed, crate::rng::Stream::Init);
    let mut model = crate::model::build(&cfg.model, cfg.p, &mut rng)?;
    let data = crate::data::modular::split(cfg.op, cfg.p, cfg.train_fraction, cfg.seed);
    let nudge = |model: &mut Box<dyn crate::model::Model>| -> Result<()> {
        let mut params = model.export()?;
        if let Some(v) = params.first_mut().and_then(|(_, _, v)| v.first_mut()) {
            *v = f32::from_bits(v.to_bits() ^ 1);
        }
        Ok(model.import(&params)?)
    };
    let (mut both, mut val) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..5 {
        nudge(&mut model)?;
        let t = Instant::now();
        model.evaluate(&data.train.xs, &data.train.ys)?;
        model.evaluate(&data.val.xs, &data.val.ys)?;
        both = both.min(t.elapsed().as_secs_f64());
        nudge(&mut model)?;
        let t = Instant::now();
        model.evaluate(&data.val.xs, &data.val.ys)?;
        val = val.min(t.elapsed().as_secs_f64());
    }
    Ok((both, val))
}

/// Optimiser steps per second of `cfg`'s trainer, evaluation excluded, over about `secs`; also the cost of
/// one epoch's evaluation, in optimiser steps.
fn throughput(name: &str, mut cfg: GrokkingConfig, secs: Duration) -> Result<serde_json::Value> {
    // evaluation only at epoch 1 (before timing) so the figure is training steps alone
    cfg.eval_every_epochs = 1_000_000;
    cfg.max_epochs = 100_000_000;
    cfg.early_stop = false;
    let mut t =
        Trainer::new(&cfg.clone().try_into()?).with_context(|| format!("building {name}"))?;
    let warm = cfg.steps_per_epoch().max(3);
    for _ in 0..warm {
        t.step()?;
    }
    let start = Instant::now();
    let mut steps = 0u64;
    while start.elapsed() < secs || steps < 3 {
        t.step()?;
        steps += 1;
    }
    let el = start.elapsed().as_secs_f64();
    let sps = steps as f64 / el;
    let (eval, val) = eval_secs(&cfg)?;
    // what evaluation adds to an epoch of training: the validation pass, and the clean pass over the
    // training set, except for the MLP in full batch, whose next step reuses that pass (it is the step's
    // own forward pass with the same parameters: no dropout) and so costs nothing extra
    let epoch = cfg.steps_per_epoch() as f64 / sps;
    let reused = cfg.full_batch && matches!(cfg.model, ModelConfig::Mlp(_));
    let added = if reused { val } else { eval };
    let wall_share = eval_wall_share(&cfg, secs)?;
    Ok(serde_json::json!({
        "name": name,
        "steps_per_sec": round3(sps),
        "gflops": round3(flops_per_step(&cfg) * sps / 1e9),
        "params": t.param_count(),
        "batch": cfg.effective_batch(),
        "steps": steps,
        "eval_ms": round3(eval * 1e3),
        "eval_in_steps": round3(eval * sps),
        "steps_per_epoch": cfg.steps_per_epoch(),
        "val_share_of_epoch": round3(val / epoch),
        "eval_share_of_epoch": round3(added / epoch),
        "eval_wall_share_of_epoch": round3(wall_share),
    }))
}

/// What evaluation every epoch adds to an epoch's wall time as the trainer runs `cfg`, as a share of an
/// epoch without it: two trainers from the same start, one evaluating every epoch and one never, take
/// five turns each of about `secs / 5` and at least five epochs (alternating, so that the machine's
/// drift touches both); the median over the turns of the ratio of their seconds per epoch, less one.
/// The trainer evaluates the faster of its two ways (`Trainer::evaluate`: beside the next step on a
/// second core, or here), so both first train five epochs (the first evaluates in both and grows the
/// buffers; by the fifth the evaluating one has timed each way twice and chosen).
fn eval_wall_share(cfg: &GrokkingConfig, secs: Duration) -> Result<f64> {
    let make = |every: u64| -> Result<Trainer> {
        let mut c = cfg.clone();
        c.eval_every_epochs = every;
        c.max_epochs = 100_000_000;
        c.early_stop = false;
        let mut t = Trainer::new(&c.try_into()?)?;
        while t.epochs() < 5 {
            t.step()?;
        }
        Ok(t)
    };
    let (mut with, mut without) = (make(1)?, make(1_000_000)?);
    let turn = secs / 5;
    let epoch_secs = |t: &mut Trainer| -> Result<f64> {
        let (start, first) = (Instant::now(), t.epochs());
        while start.elapsed() < turn || t.epochs() < first + 5 {
            t.step()?;
        }
        Ok(start.elapsed().as_secs_f64() / (t.epochs() - first) as f64)
    };
    let mut ratios = vec![];
    for _ in 0..5 {
        ratios.push(epoch_secs(&mut with)? / epoch_secs(&mut without)?);
    }
    ratios.sort_by(f64::total_cmp);
    Ok(ratios[2] - 1.0)
}

/// Records when validation first reached 99 %.
struct Stopwatch {
    start: Instant,
    val99: Option<f64>,
    steps: u64,
    outcome: Option<crate::protocol::Outcome>,
    snapshots: usize,
}

impl EventSink for Stopwatch {
    fn emit(&mut self, ev: Event) {
        match ev {
            Event::Lab {
                payload:
                    LabEvent::Grokking(GrokkingEvent::Detected {
                        event: GrokEvent::Generalised,
                        ..
                    }),
                ..
            } => {
                self.val99.get_or_insert(self.start.elapsed().as_secs_f64());
            }
            Event::Lab {
                payload: LabEvent::Grokking(GrokkingEvent::Insight(_)),
                ..
            } => self.snapshots += 1,
            Event::Finished {
                outcome, summary, ..
            } => {
                self.steps = summary.map(|s| s.steps).unwrap_or(0);
                self.outcome = Some(outcome);
            }
            Event::Started { .. }
            | Event::Metrics { .. }
            | Event::Progress { .. }
            | Event::Saved { .. }
            | Event::Changed { .. }
            | Event::Paused { .. }
            | Event::Refused { .. }
            | Event::Note { .. }
            | Event::Lab { .. } => {}
        }
    }
}

/// A preset end to end, as the window runs it (evaluation every epoch included; the insight views'
/// snapshots when `insight` is on, as the window takes them).
fn preset_run(bench: &str, preset: &str, insight: bool) -> Result<serde_json::Value> {
    let cfg = config::preset(preset)
        .with_context(|| format!("{preset} preset"))?
        .config;
    let mut sw = Stopwatch {
        start: Instant::now(),
        val99: None,
        steps: 0,
        outcome: None,
        snapshots: 0,
    };
    let end = grokking::run(
        grokking::Start::New(cfg.clone().try_into()?),
        1,
        &mut sw,
        &mut Unattended,
        grokking::RunOptions {
            insight: if insight {
                InsightEvery::Budget(WINDOW_SHARE)
            } else {
                InsightEvery::Off
            },
            ..Default::default()
        },
    );
    let el = sw.start.elapsed().as_secs_f64();
    let sps = sw.steps as f64 / el;
    let live = sw.snapshots;
    let mut out = serde_json::json!({
        "name": bench,
        "steps_per_sec": round3(sps),
        "gflops": round3(flops_per_step(&cfg) * sps / 1e9),
        "secs_to_val99": sw.val99.map(round3),
        "steps": sw.steps,
        "outcome": sw.outcome,
        "insight_snapshots": live,
    });
    // the views the window's worker fills in after the run, and how long that takes
    if let Some(mut views) = end.views {
        let t = Instant::now();
        while views.fill_one(&mut sw) {}
        out["insight_filled"] = serde_json::json!(sw.snapshots - live);
        out["fill_secs"] = serde_json::json!(round3(t.elapsed().as_secs_f64()));
    }
    Ok(out)
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// The benchmarks' names, in the order they run.
pub const NAMES: [&str; 6] = [
    "mlp97",
    "transformer97",
    "transformer_small",
    "fast_mlp",
    "fast_preset",
    "paper_preset",
];

/// Run the benchmarks whose names contain `only` (all when `None`).
pub fn run_all(only: Option<&str>, secs: Duration) -> Result<Vec<String>> {
    crate::perf::flush_denormals();
    let want = |n: &str| only.is_none_or(|o| n.contains(o));
    if !NAMES.iter().any(|n| want(n)) {
        anyhow::bail!(
            "no benchmark name contains {:?}; the benchmarks are {}",
            only.map(|o| crate::config::truncate_echo(o, 80))
                .unwrap_or_default(),
            NAMES.join(", ")
        );
    }
    let mut out = vec![];
    if want("mlp97") {
        out.push(throughput("mlp97", mlp97(), secs)?.to_string());
    }
    if want("transformer97") {
        out.push(throughput("transformer97", transformer97(), secs)?.to_string());
    }
    if want("transformer_small") {
        crate::model::linalg::set_threads(1);
        let r = throughput("transformer_small", transformer_small(), secs);
        crate::model::linalg::set_threads(0);
        out.push(r?.to_string());
    }
    if want("fast_mlp") {
        // the fast MLP preset's own config, trained as `fast_preset` trains it end to end
        let c = config::preset("fast-mlp")
            .context("fast-mlp preset")?
            .config;
        out.push(throughput("fast_mlp", c, secs)?.to_string());
    }
    if want("fast_preset") {
        out.push(preset_run("fast_preset", "fast-mlp", false)?.to_string());
    }
    if want("fast_preset_insight") {
        out.push(preset_run("fast_preset_insight", "fast-mlp", true)?.to_string());
    }
    if want("paper_preset") {
        out.push(preset_run("paper_preset", "paper-transformer-cpu", false)?.to_string());
    }
    if want("paper_preset_insight") {
        out.push(preset_run("paper_preset_insight", "paper-transformer-cpu", true)?.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mlp_flops_by_hand() {
        // mlp97: n = floor(0.4 * 9312) = 3724 (division: 97*96 examples), inp 256, h 512, p 97:
        // 3 * 2 * 3724 * (256*512 + 512*97) = 6 * 3724 * 180736 = 4_038_365_184
        assert_eq!(flops_per_step(&mlp97()), 4_038_365_184.0);
    }
}
