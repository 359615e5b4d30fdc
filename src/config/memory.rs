//! How much memory a Grokking run needs, estimated from its config before anything is allocated, and
//! the limit a run must fit under (checked at the edges: the command line before a run folder is
//! created, the window before a run starts).
//!
//! The estimate is an upper bound of the heap a run holds at its peak, counted from the buffers the
//! models and the runner allocate (their sizes follow from the config alone):
//! - the parameters and the copies a run makes of them: gradients (the transformer keeps a second set
//!   for a batch's second half), AdamW's two moments, the copy that evaluates beside the training, the
//!   transformer's weight panels, a checkpoint being written (the state, its bytes and the file's);
//! - the activations of a training step (one minibatch, and the shorter last one of an epoch), kept for
//!   the backward pass;
//! - the activations of evaluation (the model's, and the copy's beside it): the MLP in chunks of 8192
//!   examples, the transformer in chunks of 256 on each core;
//! - the dataset;
//! - in the window: the checkpoints a run holds in memory until it is saved, and the insight views'
//!   computation over all p x p pairs (every pair's hidden activations; the transformer's logits of
//!   every pair, and the MLP's up to [`INSIGHT_FULL_LOGITS_MAX`], a chunk of rows at a time above).
//!
//! `tests/memory.rs` measures what runs allocate with a counting allocator and holds the estimate
//! above it (and within a small factor of it, so that the limit refuses no config that fits).

use super::checkpoints::CheckpointEvery;
use super::{Combine, GrokkingConfig, ModelConfig};
use std::fmt;

/// Examples the MLP evaluates at once (`model::mlp` evaluates in chunks of this many).
pub const MLP_EVAL_CHUNK: usize = 8192;
/// Examples the CPU transformer evaluates at once on one core (`model::transformer_cpu`)...
pub const TRANSFORMER_EVAL_CHUNK: usize = 256;
/// ... and the fewest sequences whose rows it shares (a last chunk shorter than this joins the one before).
pub const TRANSFORMER_SHARE_MIN: usize = 64;
/// The most examples a chunk of the transformer's evaluation holds.
const TRANSFORMER_EVAL_ROWS: u64 = (TRANSFORMER_EVAL_CHUNK + TRANSFORMER_SHARE_MIN - 1) as u64;
/// Tokens a sequence of the transformer holds: a, op, b, =.
const SEQ: u64 = 4;
/// Floats a checkpoint being written holds per parameter: the exported state (parameters and two
/// moments), its bytes, and the file's bytes.
const CHECKPOINT_WRITE: u64 = 9;
/// Floats a checkpoint held in memory takes per parameter (parameters and two moments).
const CHECKPOINT_HELD: u64 = 3;
const F32: u64 = 4;
/// The MLP's insight views hold every pair's logits (p^3 floats) up to this many floats (64 MiB, p up to
/// 255); above it they compute the answer grid a chunk of rows at a time (`train::insight`).
pub const INSIGHT_FULL_LOGITS_MAX: usize = 1 << 24;
/// Rows of a chunk of the insight views' read-out (`analysis::ablation` reads out this many at once).
pub const INSIGHT_CHUNK: usize = 1024;
/// The most weight frames a window run keeps to fill in its views between the live snapshots
/// (`train::insight::Frames`)...
pub const VIEW_FRAMES: usize = 128;
/// ... and the most bytes they take (a larger model keeps fewer frames).
pub const VIEW_FRAMES_BYTES: u64 = 64 << 20;

/// How many weight frames a window run of `params` parameters keeps (0: too large to keep two).
pub fn view_frames(params: u64) -> usize {
    let fit = VIEW_FRAMES_BYTES / params.max(1).saturating_mul(F32);
    let n = fit.min(VIEW_FRAMES as u64) as usize;
    if n < 2 { 0 } else { n }
}

/// Where a run trains, which decides what it holds besides its model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    /// From the command line or in a sweep: checkpoints go to disk, no insight views.
    Headless,
    /// In the window: checkpoints (taken at this cadence) held in memory until the run is saved,
    /// and the insight views computed while it trains.
    Window(CheckpointEvery),
}

/// The parts of a run's memory, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// The parameters.
    pub params: u64,
    /// Gradients, AdamW's moments and the other copies of the parameters (evaluation beside the
    /// training, weight panels, a checkpoint being written).
    pub optimiser: u64,
    /// Activations and their gradients for training steps.
    pub step: u64,
    /// Activations of evaluation.
    pub eval: u64,
    /// The dataset and the order of its minibatches, and the runtime's own buffers (matrix products'
    /// packing, the runner's vectors).
    pub data: u64,
    /// Checkpoints held in memory (a window run, until it is saved).
    pub held: u64,
    /// The insight views' computation (a window run; 0 when they are off).
    pub insight: u64,
}

impl MemoryEstimate {
    /// Every part with its name, as the estimate's text names them.
    fn parts(&self) -> [(&'static str, u64); 7] {
        [
            ("parameters", self.params),
            ("gradients, optimiser state and copies", self.optimiser),
            ("activations of training", self.step),
            ("activations of evaluation", self.eval),
            ("data and runtime", self.data),
            ("checkpoints held", self.held),
            ("insight views", self.insight),
        ]
    }

    pub fn total(&self) -> u64 {
        self.parts()
            .iter()
            .fold(0, |a, &(_, b)| a.saturating_add(b))
    }

    /// The largest part, named as the estimate's text names it, and its size.
    pub fn largest_part(&self) -> (&'static str, u64) {
        self.parts()
            .into_iter()
            .fold(("parameters", 0), |a, b| if b.1 > a.1 { b } else { a })
    }

    /// The estimate with the insight views off.
    pub fn without_insight(&self) -> MemoryEstimate {
        MemoryEstimate {
            insight: 0,
            ..*self
        }
    }
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 30) as f64
}

/// A size in GiB to two decimals, or in MiB below a tenth of a GiB (so a small run reads as more than 0).
pub fn size_text(bytes: u64) -> String {
    if bytes >= (1u64 << 30) / 10 {
        format!("{:.2} GiB", gib(bytes))
    } else {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    }
}

impl fmt::Display for MemoryEstimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // the window's parts only where a run has them
        let parts: Vec<String> = self
            .parts()
            .iter()
            .filter(|&&(name, size)| {
                size > 0 || !matches!(name, "checkpoints held" | "insight views")
            })
            .map(|&(name, size)| format!("{name} {}", size_text(size)))
            .collect();
        write!(f, "{} ({})", size_text(self.total()), parts.join(", "))
    }
}

/// Floats of the CPU transformer's buffers for `rows` examples (`Work` in `model::transformer_cpu`):
/// each block's activations (for its query positions: all four, or the last one in the final block),
/// the final norm and logits, and (`backward`) the backward pass's scratch of one block.
fn transformer_work(d: u64, depth: u64, heads: u64, vocab: u64, rows: u64, backward: bool) -> u64 {
    let block = |tq: u64| {
        // x_in, h1 (d each), qkv (3d), the inverse RMS (1), the rows evaluation shares (2 x 3d)
        SEQ * (5 * d + 1) + 6 * d
        // attention weights; per query row: ctx, x_mid, h2 (d each), r2, SwiGLU's gate and up (8d),
        // sigmoid, product and dropout mask (4d each), the mask's draws (16 bits an element: 2d)
            + tq * (heads * SEQ + 1 + 25 * d)
    };
    let blocks: u64 = (0..depth)
        .map(|b| block(if b + 1 == depth { 1 } else { SEQ }))
        .sum();
    // out, xf (d each), rf, logits
    let head = 2 * d + 1 + vocab;
    // dy, dx, dxm, dh, dctx (d each), dqkv (3d), da (8d), dhid (4d)
    let scratch = if backward { SEQ * 20 * d } else { 0 };
    // the lane pass's scratch: about 31 d lanes of 16 floats
    rows.saturating_mul(blocks + head + scratch)
        .saturating_add(31 * 16 * d)
}

/// What a run holds besides its buffers, per core: the matrix products' packing buffers (`gemm` took
/// 2 MiB a thread here) and the runner's small vectors.
const RUNTIME_PER_CORE: u64 = 4 << 20;

impl GrokkingConfig {
    /// The memory a run of this config needs at its peak, run headless on this machine's cores (see
    /// the module's notes). Saturates rather than overflows, so an absurd config gives a huge estimate,
    /// never a wrapped small one.
    pub fn memory_estimate(&self) -> MemoryEstimate {
        self.memory_estimate_in(Setting::Headless, crate::perf::cores())
    }

    /// [`GrokkingConfig::memory_estimate`] for a run in `setting` whose evaluation may use `cores`.
    pub fn memory_estimate_in(&self, setting: Setting, cores: usize) -> MemoryEstimate {
        let p = self.p as u64;
        let n = self.dataset_size() as u64;
        let n_train = self.train_size() as u64;
        let batch = self.effective_batch() as u64;
        // the short last minibatch of an epoch (the transformer keeps a second set of buffers for it)
        let last = n_train % batch.max(1);
        let largest_set = n_train.max(n - n_train);
        let params = self.model.param_count(self.p as usize);
        let cores = (cores as u64).max(1);
        // floats of: copies of the parameters besides them, training, evaluation, insight
        let (copies, step, eval, insight) = match &self.model {
            ModelConfig::Mlp(m) => {
                let h = m.hidden as u64;
                let tables = match m.combine {
                    Combine::Concat => 2,
                    Combine::Sum => 1,
                };
                // gradients, two moments, the evaluation copy, a checkpoint being written
                let copies = (3 + 1 + CHECKPOINT_WRITE) * params;
                // per example: pre-activation, activation and its gradient [h x 3], logits [p], the
                // batch's pairs and answers (3); the projection tables and their gradient [2 x tables,
                // p, h]
                let step = batch
                    .saturating_mul(3 * h + p + 3)
                    .saturating_add(2 * tables * p * h);
                // the model's evaluation buffers and its copy's: tables, hidden layer twice, logits
                let chunk = largest_set.min(MLP_EVAL_CHUNK as u64);
                let eval = 2 * (tables * p * h + chunk.saturating_mul(2 * h + p));
                // every pair's hidden layer, and their logits (held whole up to a size, else a chunk's);
                // projection tables of a and b
                let cube = (p * p).saturating_mul(p);
                let logits = if cube <= INSIGHT_FULL_LOGITS_MAX as u64 {
                    cube
                } else {
                    INSIGHT_CHUNK as u64 * p
                };
                let insight = (p * p).saturating_mul(h) + logits + 2 * p * h;
                (copies, step, eval, insight)
            }
            ModelConfig::Transformer(t) => {
                let (d, depth, heads, vocab) =
                    (t.d_model as u64, t.depth as u64, t.heads as u64, p + 2);
                let work = |rows: u64| transformer_work(d, depth, heads, vocab, rows, true);
                // evaluation's chunk (and the sequences whose rows it shares: one per token)
                let eval_rows = TRANSFORMER_EVAL_ROWS.max(vocab);
                let eval_work = transformer_work(d, depth, heads, vocab, eval_rows, false);
                // the shared rows of evaluation: every token's block-0 rows, and each prefix's
                // (a, op) rows of the later blocks
                let tables = vocab * SEQ * 3 * d + depth.saturating_sub(1) * p * 2 * 3 * d;
                // two sets of gradients (a batch's halves), two moments, weight panels and the
                // evaluation copy's parameters and panels, a checkpoint being written
                let copies = (2 + 2 + 1 + 2 + CHECKPOINT_WRITE) * params;
                // a batch's halves, and the last minibatch's halves
                let step = work(batch).saturating_add(if last > 0 { work(last) } else { 0 });
                // each core's chunk, on the model and on its copy, with their shared rows
                let eval = 2 * (cores.saturating_mul(eval_work) + tables);
                // a CPU copy of the model (parameters, panels, shared rows, one chunk's buffers);
                // every pair's feed-forward hidden layer (4d), residual (d) and logits
                let insight =
                    (p * p).saturating_mul(5 * d + vocab) + 2 * params + tables + eval_work;
                (copies, step, eval, insight)
            }
        };
        // the examples (a, b, answer) and, while splitting, every example and a permutation of them;
        // the minibatch order
        let data = n.saturating_mul(3 + 3 + 2) + 2 * n_train;
        let runtime = cores * RUNTIME_PER_CORE;
        let (held, insight) = match setting {
            Setting::Headless => (0, 0),
            Setting::Window(cadence) => {
                // a checkpoint at step 0, at the cadence, at each milestone and the end
                let count = cadence.count_for(self);
                // and, for the views: every pair and its split, the answers and rows of the ablation,
                // the grid's predictions, an exported copy of the weights, and the weight frames
                // kept to fill the views in (one more while a new one is thinned in)
                let grid = (p * p).saturating_mul(2 + 1 + 4 + 2 + 1);
                let frames = match view_frames(params) {
                    0 => 0,
                    // a frame an epoch at most
                    n => (n as u64)
                        .min(self.max_epochs)
                        .saturating_add(1)
                        .saturating_mul(params),
                };
                (
                    count.saturating_mul(CHECKPOINT_HELD * params),
                    insight
                        .saturating_add(grid)
                        .saturating_add(params)
                        .saturating_add(frames),
                )
            }
        };
        let bytes = |floats: u64| floats.saturating_mul(F32);
        MemoryEstimate {
            params: bytes(params),
            optimiser: bytes(copies),
            step: bytes(step),
            eval: bytes(eval),
            data: bytes(data).saturating_add(runtime),
            held: bytes(held),
            insight: bytes(insight),
        }
    }

    /// Refused, with the estimate, when a run of this config needs more than `limit_bytes` headless.
    pub fn check_memory(&self, limit_bytes: u64) -> Result<MemoryEstimate, String> {
        let est = self.memory_estimate();
        refuse_over(est, limit_bytes)
    }

    /// Whether a window run of this config, checkpointed at `cadence`, fits under `limit_bytes` on
    /// `cores`: with its insight views (`Ok(true)`), only without them (`Ok(false)`), or not at all
    /// (refused, with the estimate).
    pub fn check_window_memory(
        &self,
        limit_bytes: u64,
        cores: usize,
        cadence: CheckpointEvery,
    ) -> Result<bool, String> {
        let est = self.memory_estimate_in(Setting::Window(cadence), cores);
        if est.total() <= limit_bytes {
            return Ok(true);
        }
        refuse_over(est.without_insight(), limit_bytes).map(|_| false)
    }
}

impl GrokkingConfig {
    /// The window's objection to this config's memory under `limit` (the window's limit, or why it
    /// could not be read), short enough for the config panel; `None` when a run fits (perhaps without
    /// its insight views: the run says so when it starts). `cadence`: how often the run checkpoints
    /// (the window holds its checkpoints).
    pub fn window_memory_problem(
        &self,
        limit: &Result<u64, String>,
        cadence: CheckpointEvery,
    ) -> Option<super::FieldProblem> {
        let message = match limit {
            Err(why) => why.clone(),
            Ok(limit) => {
                let est = self
                    .memory_estimate_in(Setting::Window(cadence), crate::perf::cores())
                    .without_insight();
                if est.total() <= *limit {
                    return None;
                }
                let (part, size) = est.largest_part();
                format!(
                    "a run needs about {} ({part} {}), more than the limit of {}: use a smaller \
                     model, batch or prime, or raise the limit with {MAX_MEMORY_ENV}",
                    size_text(est.total()),
                    size_text(size),
                    size_text(*limit)
                )
            }
        };
        Some(super::FieldProblem {
            field: "memory",
            message,
        })
    }
}

fn refuse_over(est: MemoryEstimate, limit_bytes: u64) -> Result<MemoryEstimate, String> {
    if est.total() > limit_bytes {
        return Err(format!(
            "this config needs about {est}, more than the limit of {}; use a smaller model, batch \
             or prime, or raise the limit ({MAX_MEMORY_ENV}, or --max-memory-gb on the command line)",
            size_text(limit_bytes)
        ));
    }
    Ok(est)
}

/// The environment variable that sets the memory limit (the command line's `--max-memory-gb` wins).
pub const MAX_MEMORY_ENV: &str = "GROKSCOPE_MAX_MEMORY_GB";

/// The memory a run may need, in bytes: `flag` GiB, else `GROKSCOPE_MAX_MEMORY_GB`, else half the
/// machine's memory (`MemTotal` of /proc/meminfo; 8 GiB where that cannot be read).
pub fn memory_limit(flag: Option<f64>) -> Result<u64, String> {
    memory_limit_from(flag, std::env::var(MAX_MEMORY_ENV).ok(), machine_memory())
}

/// [`memory_limit`] with its inputs given (tested without touching the environment).
pub fn memory_limit_from(
    flag: Option<f64>,
    env: Option<String>,
    machine_bytes: Option<u64>,
) -> Result<u64, String> {
    let gib = (1u64 << 30) as f64;
    let given = match (flag, env) {
        (Some(v), _) => Some((v, "--max-memory-gb".to_string())),
        (None, Some(text)) => {
            let shown = super::truncate_echo(&text, 40);
            let v: f64 = text
                .trim()
                .parse()
                .map_err(|_| format!("{MAX_MEMORY_ENV}={shown} is not a number of GiB"))?;
            Some((v, MAX_MEMORY_ENV.to_string()))
        }
        (None, None) => None,
    };
    match given {
        // 2^24 GiB (16 PiB) keeps the product within u64 and far beyond any machine
        Some((v, _)) if v.is_normal() && v > 0.0 && v <= (1u64 << 24) as f64 => {
            Ok((v * gib) as u64)
        }
        Some((v, name)) => Err(format!(
            "{name} must be a number of GiB in (0, 16777216], got {v}"
        )),
        None => Ok(machine_memory_or_default(machine_bytes) / 2),
    }
}

fn machine_memory_or_default(machine_bytes: Option<u64>) -> u64 {
    machine_bytes.unwrap_or(16 << 30)
}

/// `MemTotal` of /proc/meminfo in bytes, where it can be read (read once: the window asks every frame).
fn machine_memory() -> Option<u64> {
    static MEMORY: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *MEMORY.get_or_init(read_machine_memory)
}

fn read_machine_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Activation, MlpConfig, Operation, OptimConfig};

    fn mlp(p: u32, hidden: usize, batch: usize, full: bool) -> GrokkingConfig {
        GrokkingConfig {
            op: Operation::Add,
            p,
            train_fraction: 0.5,
            model: ModelConfig::Mlp(MlpConfig {
                embed_dim: 4,
                hidden,
                activation: Activation::Relu,
                combine: Combine::Concat,
                init_scale: 1.0,
            }),
            optim: OptimConfig {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.98,
                eps: 1e-8,
                weight_decay: 1.0,
                warmup_steps: 0,
            },
            batch_size: batch,
            full_batch: full,
            max_epochs: 10,
            eval_every_epochs: 1,
            early_stop: true,
            seed: 0,
        }
    }

    #[test]
    fn small_mlp_by_hand() {
        // p = 5, e = 4, h = 8, concat: params 5*4 + 8*8 + 8 + 8*5 + 5 = 137 floats = 548 bytes;
        // gradients, moments, the evaluation copy and a checkpoint being written: 13 * 548 = 7124.
        // 25 examples, 12 train, batch 4: step 4 * (24 + 5 + 3) + 2*2*5*8 = 128 + 160 = 288 floats
        // = 1152 bytes; eval (chunk: the larger set, 13) 2 * (2*5*8 + 13 * (16 + 5)) = 2 * 353 = 706
        // floats = 2824 bytes; data 25 * 8 + 2 * 12 = 224 floats = 896 bytes, and the runtime's 4 MiB
        // for one core.
        let e = mlp(5, 8, 4, false).memory_estimate_in(Setting::Headless, 1);
        assert_eq!(
            e,
            MemoryEstimate {
                params: 548,
                optimiser: 7124,
                step: 1152,
                eval: 2824,
                data: 896 + (4 << 20),
                held: 0,
                insight: 0,
            }
        );
        assert_eq!(e.total(), 548 + 7124 + 1152 + 2824 + 896 + (4 << 20));
        // in the window: 10 epochs, a checkpoint every one (10) plus step 0, the end and three
        // milestones: 15 * 3 * 137 floats = 24660 bytes; the views: 25 * (8 + 5) + 2*5*8 = 405, the
        // grid's 25 * 10 = 250, an exported copy 137 and 10 + 1 weight frames of 137 (one an epoch:
        // fewer than VIEW_FRAMES, far under VIEW_FRAMES_BYTES): 792 + 1507 = 2299 floats
        let every = |n| CheckpointEvery::Epochs(std::num::NonZeroU64::new(n).unwrap());
        let w = mlp(5, 8, 4, false).memory_estimate_in(Setting::Window(every(1)), 1);
        assert_eq!((w.held, w.insight), (24660, 9196));
        assert_eq!(w.without_insight().total() + 9196, w.total());
        // the held checkpoints follow the cadence: every 5 epochs, 10 / 5 + 5 = 7 of 3 * 137 floats
        let w5 = mlp(5, 8, 4, false).memory_estimate_in(Setting::Window(every(5)), 1);
        assert_eq!(w5.held, 7 * 3 * 137 * 4);
        // about ten a run, as the command line takes them: every epoch of 10, as every(1)
        let tenth =
            mlp(5, 8, 4, false).memory_estimate_in(Setting::Window(CheckpointEvery::Tenth), 1);
        assert_eq!(tenth.held, w.held);
    }

    /// The frames a window run keeps: VIEW_FRAMES while they fit VIEW_FRAMES_BYTES, then as many as
    /// fit, and none when two do not.
    #[test]
    fn a_larger_model_keeps_fewer_weight_frames() {
        assert_eq!(view_frames(1000), VIEW_FRAMES);
        // 64 MiB / (4 bytes * 2^20 params) = 16
        assert_eq!(view_frames(1 << 20), 16);
        // 64 MiB holds two frames of 8 Mi params, not one of 9 Mi
        assert_eq!(view_frames(8 << 20), 2);
        assert_eq!(view_frames(9 << 20), 0);
    }

    #[test]
    fn the_transformer_counts_its_cores_and_its_short_last_batch() {
        // the paper's transformer: p = 97, d = 128, two blocks of four heads, a + b at fraction 0.3
        let mut c = crate::config::preset("paper-transformer-cpu")
            .unwrap()
            .config;
        c.op = Operation::Add;
        c.p = 97;
        c.train_fraction = 0.3;
        c.batch_size = 512;
        let ModelConfig::Transformer(t) = &mut c.model else {
            unreachable!("the preset is a transformer")
        };
        (t.d_model, t.depth, t.heads) = (128, 2, 4);
        let one = c.memory_estimate_in(Setting::Headless, 1);
        let four = c.memory_estimate_in(Setting::Headless, 4);
        // each further core evaluates a chunk on the model and on its copy
        let (d, depth, heads, vocab) = (128, 2, 4, 99);
        let chunk = transformer_work(d, depth, heads, vocab, TRANSFORMER_EVAL_ROWS, false);
        assert_eq!(four.eval - one.eval, 2 * 3 * chunk * F32);
        // p = 97 at fraction 0.3: 2822 training examples, five batches of 512 and one of 262
        let n_train = c.train_size() as u64;
        assert_eq!((n_train, n_train % 512), (2822, 262));
        let want = transformer_work(d, depth, heads, vocab, 512, true)
            + transformer_work(d, depth, heads, vocab, 262, true);
        assert_eq!(one.step, want * F32);
        c.batch_size = 2822 / 2;
        let even = c.memory_estimate_in(Setting::Headless, 1);
        assert_eq!(
            even.step,
            transformer_work(d, depth, heads, vocab, 1411, true) * F32
        );
    }

    #[test]
    fn the_issue_config_is_refused_under_a_machine_limit() {
        // issue 13: p = 2003, train fraction 0.99, full batch, hidden 8192 reached 15.5 GB resident in
        // 10 s. Its full batch is floor(0.99 * 2003^2) = 3_971_929 examples; the logits alone are
        // 3_971_929 * 2003 floats = 31.8 GB, so any limit of a 128 GB machine's half refuses it.
        let mut cfg = mlp(2003, 8192, 512, true);
        cfg.train_fraction = 0.99;
        let e = cfg.memory_estimate();
        assert!(e.step > 3_971_929 * 2003 * 4, "{e}");
        let why = cfg.check_memory(64 << 30).unwrap_err();
        assert!(why.contains("activations of training"), "{why}");
        assert!(mlp(97, 64, 512, false).check_memory(1 << 30).is_ok());
    }

    #[test]
    fn a_window_run_too_large_for_its_views_trains_without_them() {
        // p = 1009, hidden 4096, batches of 512: training needs about a GiB, but the views hold every
        // pair's hidden layer, 1009^2 * 4096 floats = 16.7 GB (their logits a chunk at a time: p^3 is
        // over INSIGHT_FULL_LOGITS_MAX)
        let cfg = mlp(1009, 4096, 512, false);
        let auto = CheckpointEvery::Auto;
        let est = cfg.memory_estimate_in(Setting::Window(auto), 2);
        assert!(est.insight > 1009u64.pow(2) * 4096 * 4, "{est}");
        assert!(est.insight < 1009u64.pow(2) * 4200 * 4, "{est}");
        assert!(est.without_insight().total() < 2 << 30, "{est}");
        assert_eq!(cfg.check_window_memory(4 << 30, 2, auto), Ok(false));
        assert_eq!(cfg.check_window_memory(32 << 30, 2, auto), Ok(true));
        let why = cfg.check_window_memory(1 << 20, 2, auto).unwrap_err();
        assert!(why.contains("more than the limit of 1.0 MiB"), "{why}");
        assert!(
            !why.contains("insight views"),
            "refused without the views: {why}"
        );
    }
}
