//! `grokscope run`, `resume`, `fork` and `presets`: one Grokking run trained headless into its folder.

use super::RunFlags;
use crate::config::{self, GrokkingConfig};
use crate::experiment::{EventSink, Unattended, grokking};
use crate::protocol::{Event, GrokkingEvent, LabEvent, Metric, MetricRow, Outcome, Summary};
use anyhow::{Context, Result, bail};
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// `grokscope run --config FILE --out DIR`.
pub fn run_cmd(config: &Path, out: &Path, flags: RunFlags) -> Result<ExitCode> {
    let cfg = super::read_config(config, GrokkingConfig::from_toml).map_err(|e| {
        // a study's config given to `run` said only "unknown field `base`" (a helper's audit)
        let text = std::fs::read_to_string(config).unwrap_or_default();
        let name = config.display();
        if config::CapacitySweepConfig::from_toml(&text).is_ok() {
            e.context(format!(
                "{name} is a Capacity sweep config: run it with `grokscope sweep --config {name} --out DIR`"
            ))
        } else if config::phase::PhaseStudyConfig::from_toml(&text).is_ok() {
            e.context(format!(
                "{name} is a phase study config: run it with `grokscope phase --config {name} --out DIR`"
            ))
        } else {
            e
        }
    })?;
    check_memory(&cfg, flags, || format!("in {}", config.display()))?;
    headless(grokking::Start::New(cfg), out, flags)
}

/// Refuse `cfg`, before anything is written, when its estimated memory exceeds the limit
/// (`--max-memory-gb`, else the environment, else half the machine); `what` names where it came from.
fn check_memory(
    cfg: &GrokkingConfig,
    flags: RunFlags,
    what: impl FnOnce() -> String,
) -> Result<()> {
    let limit = super::memory_limit(flags.max_memory_gb)?;
    cfg.check_memory(limit)
        .map_err(anyhow::Error::msg)
        .with_context(what)?;
    Ok(())
}

/// `grokscope resume DIR [--repair NEW]`: in place, or (with `--repair`) what can be read of `DIR`
/// copied into the new folder `NEW` and continued there, `DIR` left as it is.
pub fn resume_cmd(dir: &Path, repair: Option<&Path>, flags: RunFlags) -> Result<ExitCode> {
    let folder = crate::store::run_dir::RunFolder::open(dir)?;
    // the config the run trained with (a folder without one is refused by the runner)
    if let Some(cfg) = &folder.config {
        check_memory(cfg, flags, || format!("the run in {}", dir.display()))?;
    }
    if let Some(out) = repair
        && crate::store::run_dir::inside(dir, out)
    {
        bail!(
            "{} is inside the run folder {}: --repair writes a new run folder, which must lie outside \
             it; nothing was written",
            out.display(),
            dir.display()
        );
    }
    let Some(out) = repair else {
        let spec = grokking::ContinueSpec {
            from: dir.to_path_buf(),
            step: None,
            fork: None,
        };
        return headless(grokking::Start::Continue(spec), dir, flags);
    };
    let mut folder = folder;
    let (ckpt, state, trainer, mut notes) = grokking::newest_trainer(&folder)?;
    if let Some(why) =
        grokking::nothing_to_resume(&folder, &ckpt, state.config.max_epochs, flags.max_epochs)
    {
        bail!("{why}");
    }
    notes.extend(grokking::refill_missing(&mut folder, &ckpt, &state, out));
    for n in notes {
        eprintln!("warning: {n}");
    }
    for d in &folder.damaged {
        eprintln!("not carried over into {}: {d}", out.display());
    }
    // made beside `out` and moved into place whole: failed, no half-made `out` blocks a retry
    let (writer, left_out) = crate::store::run_dir::RunWriter::repair_into(&folder, &ckpt, out)
        .with_context(|| {
            format!(
                "creating the repaired folder {}; nothing was written",
                out.display()
            )
        })?;
    for n in left_out {
        eprintln!("warning: {n}");
    }
    eprintln!(
        "repairing {} into {} from its checkpoint at step {}; {} is left as it was",
        dir.display(),
        out.display(),
        ckpt.step,
        dir.display()
    );
    headless_with(
        grokking::Start::Trainer(Box::new(trainer)),
        Some(writer),
        out,
        flags,
    )
}

/// `grokscope fork DIR --step N --set KEY=VALUE --out OUT`.
pub fn fork_cmd(
    dir: &Path,
    step: u64,
    set: &[String],
    out: &Path,
    flags: RunFlags,
) -> Result<ExitCode> {
    let spec = fork_spec(dir, step, set, out)?;
    if let Some(fork) = &spec.fork {
        check_memory(&fork.config, flags, || "the fork's config".to_string())?;
    }
    headless(grokking::Start::Continue(spec), out, flags)
}

/// `grokscope presets [--show NAME]`.
pub fn presets_cmd(show: Option<&str>) -> Result<()> {
    match show {
        None => {
            for p in config::presets() {
                outln!("{:<24} {}\n{:<24} {}", p.name, p.title, "", p.description)?;
            }
            outln!("\nCapacity sweeps (grokscope sweep --preset NAME --out DIR):")?;
            for p in config::capacity::sweep_presets() {
                outln!("{:<24} {}\n{:<24} {}", p.name, p.title, "", p.description)?;
            }
            outln!("\nPhase diagrams (grokscope phase --preset NAME --out DIR):")?;
            for p in config::phase::phase_presets() {
                outln!("{:<24} {}\n{:<24} {}", p.name, p.title, "", p.description)?;
            }
            outln!(
                "\nOrdering runs (grokscope ordering-run --task TASK --out DIR, or --config FILE):"
            )?;
            for p in config::ordering::run_presets() {
                outln!("{:<24} {}\n{:<24} {}", p.name, p.title, "", p.description)?;
            }
            outln!(
                "\nOrdering studies (grokscope ordering --task TASK --study KIND --out DIR, or \
                 --config FILE):"
            )?;
            for p in config::ordering::study_presets() {
                outln!("{:<24} {}", p.name, p.title)?;
            }
        }
        Some(name) => {
            if let Some(p) = config::capacity::sweep_preset(name) {
                outln!("# {}: {}\n{}", p.title, p.description, p.config.to_toml())?;
                return Ok(());
            }
            // the full name only: `tiny` is the sweep's
            if let Some(p) = config::phase::phase_presets()
                .into_iter()
                .find(|p| p.name == name)
            {
                outln!("# {}: {}\n{}", p.title, p.description, p.config.to_toml())?;
                return Ok(());
            }
            if let Some(p) = config::ordering::run_presets()
                .into_iter()
                .find(|p| p.name == name)
            {
                outln!(
                    "# {}: {} (grokscope ordering-run --config FILE --out DIR)\n{}",
                    p.title,
                    p.description,
                    p.config.to_toml()
                )?;
                return Ok(());
            }
            if let Some(p) = config::ordering::study_presets()
                .into_iter()
                .find(|p| p.name == name)
            {
                outln!(
                    "# {} (grokscope ordering --config FILE --out DIR)\n{}",
                    p.title,
                    p.config.to_toml()
                )?;
                return Ok(());
            }
            let p = config::preset(name).with_context(|| {
                let names: Vec<_> = config::presets()
                    .iter()
                    .map(|p| p.name)
                    .chain(config::capacity::sweep_presets().iter().map(|p| p.name))
                    .chain(config::phase::phase_presets().iter().map(|p| p.name))
                    .chain(config::ordering::run_presets().iter().map(|p| p.name))
                    .chain(config::ordering::study_presets().iter().map(|p| p.name))
                    .collect();
                format!("no preset named {name:?}; known: {}", names.join(", "))
            })?;
            outln!("# {}: {}\n{}", p.title, p.description, p.config.to_toml())?;
        }
    }
    Ok(())
}

/// `run`, `resume` and `fork`: train into a folder; failure when the run failed.
fn headless(start: grokking::Start, out: &Path, flags: RunFlags) -> Result<ExitCode> {
    headless_with(start, None, out, flags)
}

/// [`headless`] with the run's recorder given (`None`: made from `start`).
fn headless_with(
    start: grokking::Start,
    writer: Option<crate::store::run_dir::RunWriter>,
    out: &Path,
    flags: RunFlags,
) -> Result<ExitCode> {
    let RunFlags {
        max_epochs,
        checkpoint_every,
        tensorboard,
        max_memory_gb: _,
        device: _,
    } = flags;
    if max_epochs == Some(0) {
        bail!("--max-epochs must be at least 1");
    }
    let bar = std::io::stderr().is_terminal();
    let opts = grokking::RunOptions {
        writer,
        stop_at_epoch: max_epochs,
        checkpoint_every: checkpoint_every.into(),
        tensorboard,
        stop_when_unsaved: true,
        ..Default::default()
    };
    Ok(super::exit_code(&run_to_folder(start, out, opts, bar)?.0))
}

/// A fork of `dir` at checkpoint `step` with `KEY=VALUE` changes (TOML values) into `out`.
pub fn fork_spec(
    dir: &Path,
    step: u64,
    set: &[String],
    out: &Path,
) -> Result<grokking::ContinueSpec> {
    let folder = crate::store::run_dir::RunFolder::open(dir)?;
    let c = folder.checkpoint_at(step)?.clone();
    let state = folder.load(&c)?;
    let mut value = toml::Value::try_from(&*state.config)?;
    for kv in set {
        apply_set::<GrokkingConfig>(&mut value, kv, "optim.weight_decay=0.1")?;
    }
    // checked once, where the runner parses the fork's config
    let config: GrokkingConfig = value.try_into().context("the changed config")?;
    Ok(grokking::ContinueSpec {
        from: dir.to_path_buf(),
        step: Some(step),
        fork: Some(grokking::ForkSpec {
            config,
            out: Some(out.to_path_buf()),
        }),
    })
}

/// Apply one `--set KEY=VALUE` (a TOML value; a dotted key reaches into tables) to the config `value`
/// of type `T`: a key the config lacks is named with the fields it has there, a value of the wrong
/// kind with its own `--set`, on one line. `example` is a KEY=VALUE the messages suggest.
pub fn apply_set<T: serde::de::DeserializeOwned>(
    value: &mut toml::Value,
    kv: &str,
    example: &str,
) -> Result<()> {
    let (key, raw) = kv
        .split_once('=')
        .with_context(|| format!("--set {kv:?}: write KEY=VALUE, e.g. {example}"))?;
    let parsed: Option<toml::Value> = toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"));
    // a number too large for TOML (1e400) is one all the same, not a string
    if parsed.is_none() && raw.trim().parse::<f64>().is_ok_and(|v| v.is_infinite()) {
        bail!(
            "--set {kv}: {} is too large to be a number (the largest is about 1.8e308)",
            raw.trim()
        );
    }
    let parsed = parsed.unwrap_or_else(|| toml::Value::String(raw.to_string()));
    let mut at = &mut *value;
    let key = key.trim();
    if key.is_empty() {
        bail!("--set {kv:?}: name a field before the =, e.g. {example}");
    }
    let parts: Vec<&str> = key.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let table = at
            .as_table_mut()
            .with_context(|| format!("--set {key}: {part} is not inside a table"))?;
        // a missing field is named with the fields this run's config has there (an MLP has no
        // model.dropout: that is the transformer's)
        let missing = |table: &toml::Table| {
            let within = parts[..i].join(".");
            let have: Vec<String> = table
                .keys()
                .map(|k| {
                    if within.is_empty() {
                        k.clone()
                    } else {
                        format!("{within}.{k}")
                    }
                })
                .collect();
            anyhow::anyhow!(
                "--set {key}: this run's config has no field {key} (it has: {})",
                have.join(", ")
            )
        };
        if i + 1 == parts.len() {
            if !table.contains_key(*part) {
                return Err(missing(table));
            }
            table.insert(part.to_string(), parsed.clone());
            break;
        }
        if !table.contains_key(*part) {
            return Err(missing(table));
        }
        at = table.get_mut(*part).expect("checked just above");
    }
    // a value of the wrong kind is named with its own --set, on one line
    if let Err(e) = T::deserialize(value.clone()) {
        let why = e.to_string();
        let why = why.lines().next().unwrap_or_default();
        bail!("--set {kv}: {why}");
    }
    Ok(())
}

/// Shows a run's progress on stderr and keeps how it ended.
struct ProgressSink {
    bar: Option<indicatif::ProgressBar>,
    max_epochs: u64,
    last_line: Instant,
    finished: Option<(Outcome, Option<Summary>)>,
}

impl ProgressSink {
    fn new(max_epochs: u64, bar: bool) -> Self {
        let bar = bar.then(|| {
            let b = indicatif::ProgressBar::new(max_epochs);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] epoch {pos}/{len} {msg}",
            ) {
                b.set_style(style.progress_chars("=> "));
            }
            b
        });
        ProgressSink {
            bar,
            max_epochs,
            last_line: Instant::now(),
            finished: None,
        }
    }

    fn line(&self, line: String) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn progress(&mut self, r: &MetricRow) {
        let val = r
            .get(Metric::ValAcc)
            .map(|v| format!(" val {:.1}%", v * 100.0))
            .unwrap_or_default();
        let msg = format!(
            "train {:.1}%{val} loss {:.3}",
            r.get(Metric::TrainAcc).unwrap_or(f64::NAN) * 100.0,
            r.get(Metric::TrainLoss).unwrap_or(f64::NAN),
        );
        match &self.bar {
            Some(bar) => {
                bar.set_position(r.epoch);
                bar.set_message(msg);
            }
            None => {
                if self.last_line.elapsed() >= Duration::from_secs(2) {
                    eprintln!(
                        "epoch {}/{} step {} {msg}",
                        r.epoch, self.max_epochs, r.step
                    );
                    self.last_line = Instant::now();
                }
            }
        }
    }
}

impl EventSink for ProgressSink {
    fn emit(&mut self, ev: Event) {
        match ev {
            Event::Metrics { rows, .. } => {
                if let Some(r) = rows.last() {
                    self.progress(r);
                }
            }
            Event::Lab {
                payload: LabEvent::Grokking(GrokkingEvent::Detected { event, epoch, .. }),
                ..
            } => self.line(format!("epoch {epoch}: {event}")),
            Event::Refused { message } | Event::Note { message, .. } => {
                self.line(format!("warning: {message}"))
            }
            Event::Started { .. }
            | Event::Progress { .. }
            | Event::Saved { .. }
            | Event::Changed { .. }
            | Event::Paused { .. }
            | Event::Lab { .. } => {}
            Event::Finished {
                outcome, summary, ..
            } => self.finished = Some((outcome, summary)),
        }
    }
}

/// Train and record the run in `out` (config.toml, metrics.csv, events.jsonl, run.json, checkpoints,
/// summary.json, and tensorboard/ event files when `tensorboard`), stopping after `stop_at_epoch` epochs
/// when given.
/// A new run's folder is created only once its model is built, so a config that fails there leaves
/// no folder behind.
pub fn run_to_folder(
    start: grokking::Start,
    out: &Path,
    mut opts: grokking::RunOptions,
    bar: bool,
) -> Result<(Outcome, Summary)> {
    let start = match start {
        grokking::Start::New(cfg) => {
            let trainer = crate::train::trainer::Trainer::new(&cfg)
                .context("building the model; nothing was written")?;
            // a killed earlier run's unfinished writes alone do not block the folder (as in a resume)
            let cleared =
                crate::store::run_dir::clear_killed_writes(out).context("the run folder")?;
            for said in cleared {
                eprintln!("{}: {said}", out.display());
            }
            opts.writer = Some(
                crate::store::run_dir::RunWriter::create(out, &cfg, None)
                    .context("creating the run folder")?,
            );
            grokking::Start::Trainer(Box::new(trainer))
        }
        other => other,
    };
    let max_epochs = match &start {
        grokking::Start::New(cfg) => cfg.max_epochs,
        grokking::Start::Continue(spec) => match &spec.fork {
            Some(f) => f.config.max_epochs,
            None => crate::store::run_dir::RunFolder::open(&spec.from)?
                .config
                .map_or(0, |c| c.max_epochs),
        },
        grokking::Start::Trainer(t) => t.config().max_epochs,
    };
    let mut sink = ProgressSink::new(max_epochs, bar);
    crate::perf::flush_denormals();
    grokking::run(start, 1, &mut sink, &mut Unattended, opts);
    if let Some(b) = &sink.bar {
        b.finish_and_clear();
    }
    let Some((outcome, summary)) = sink.finished else {
        bail!("the run ended without a result");
    };
    if let Outcome::Failed { message } = &outcome {
        eprintln!("run failed: {message}");
    }
    let Some(summary) = summary else {
        // a refused start (a new run's folder is made only after its model) writes nothing: a resume
        // is refused before it rewrites a table, a fork before it makes its folder
        bail!("the run did not start; nothing was written");
    };
    // summary.json was written by the run's recorder, as for every run folder
    // numbers or "never", not Rust's `Some(111)`; the delay says where it is measured to
    // ("generalised at never" read badly: a helper's audit)
    let event = |what: &str, e: Option<u64>| {
        e.map_or_else(
            || format!("never {what}"),
            |e| format!("{what} at epoch {e}"),
        )
    };
    let delay = summary
        .delay_text()
        .unwrap_or_else(|| "none (it needs train ≥ 99 % and validation ≥ 98 %)".to_string());
    // a failed run's folder holds it only up to its last good save (the failure said so above)
    let wrote = match &outcome {
        Outcome::Failed { .. } => format!("what was saved is in {}", out.display()),
        Outcome::Completed | Outcome::Stopped => format!("wrote {}", out.display()),
    };
    eprintln!(
        "{} epochs in {:.1}s; {}, {}, delay {delay}; {wrote}",
        summary.epochs,
        summary.wall_secs,
        event("memorised (train ≥ 99 %)", summary.t_train_epoch),
        event("generalised (validation ≥ 99 %)", summary.t_val_epoch),
    );
    Ok((outcome, summary))
}
