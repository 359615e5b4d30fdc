//! Run configurations for the Grokking lab, their validation and the built-in presets.
//!
//! Every config is plain data (serde, TOML on disk). `validate()` returns every problem at once, each
//! naming the field and the allowed range, so a bad file or a bad panel value is refused clearly.

/// A checked config: `$valid` wraps a `$raw` whose `validate()` passed, so whatever accepts `$valid`
/// never checks again (parse, don't validate). Built by `TryFrom` (or deserialised, which checks too);
/// read through `Deref`; turned back into plain data by `From`. The wrapped value is private to the
/// module that declares the type, so only that module can build one without the check (for values
/// derived from a checked config whose checks cover them).
macro_rules! checked_config {
    ($(#[$meta:meta])* $valid:ident($raw:ty)) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $valid($raw);

        impl TryFrom<$raw> for $valid {
            type Error = $crate::config::ConfigError;

            fn try_from(cfg: $raw) -> Result<Self, $crate::config::ConfigError> {
                cfg.validate()?;
                Ok($valid(cfg))
            }
        }

        impl From<$valid> for $raw {
            fn from(valid: $valid) -> Self {
                valid.0
            }
        }

        impl std::ops::Deref for $valid {
            type Target = $raw;

            fn deref(&self) -> &$raw {
                &self.0
            }
        }

        impl serde::Serialize for $valid {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.0.serialize(s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $valid {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <$raw as serde::Deserialize>::deserialize(d)?;
                $valid::try_from(raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

pub mod capacity;
pub mod checkpoints;
pub mod device;
pub mod lesson;
pub mod memory;
pub mod ordering;
pub mod parse;
pub mod phase;

use self::device::DeviceRequest;
use serde::{Deserialize, Serialize};
use std::fmt;

pub use capacity::{CapacitySweepConfig, ValidCapacitySweepConfig};
pub use ordering::{
    OrderingConfig, OrderingStudyConfig, ValidOrderingConfig, ValidOrderingStudyConfig,
};
pub use phase::{PhaseStudyConfig, ValidPhaseStudyConfig};

/// The arithmetic operation mod p.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// a + b mod p
    #[serde(rename = "+")]
    Add,
    /// a - b mod p
    #[serde(rename = "-")]
    Sub,
    /// a * b mod p
    #[serde(rename = "*")]
    Mul,
    /// a * b^(p-2) mod p, b != 0
    #[serde(rename = "/")]
    Div,
}

impl Operation {
    pub const ALL: [Operation; 4] = [
        Operation::Add,
        Operation::Sub,
        Operation::Mul,
        Operation::Div,
    ];

    pub fn symbol(self) -> &'static str {
        match self {
            Operation::Add => "+",
            Operation::Sub => "-",
            Operation::Mul => "*",
            Operation::Div => "/",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// Number of examples of the task: p(p-1) for division (b = 0 has no inverse), p^2 otherwise.
pub fn task_size(op: Operation, p: u32) -> usize {
    let p = p as usize;
    match op {
        Operation::Div => p * (p - 1),
        Operation::Add | Operation::Sub | Operation::Mul => p * p,
    }
}

/// Hidden-layer non-linearity of the MLP.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// max(0, x)
    Relu,
    /// x^2 (Gromov 2023)
    Square,
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Activation::Relu => "ReLU",
            Activation::Square => "x²",
        })
    }
}

/// How the MLP joins the embeddings of a and b.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    /// [e_a, e_b]: the hidden layer sees 2 * embed_dim inputs
    Concat,
    /// e_a + e_b
    Sum,
}

impl fmt::Display for Combine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Combine::Concat => "concat",
            Combine::Sum => "sum",
        })
    }
}

/// The cheap teaching model: embeddings of a and b, one hidden layer, linear read-out to p classes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MlpConfig {
    pub embed_dim: usize,
    pub hidden: usize,
    pub activation: Activation,
    pub combine: Combine,
    /// Multiplies every parameter after the default initialisation.
    #[serde(default = "one")]
    pub init_scale: f64,
}

/// The paper's pre-norm decoder-only transformer (RMSNorm, rotary, SwiGLU).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TransformerConfig {
    pub d_model: usize,
    pub depth: usize,
    pub heads: usize,
    /// Dropout on the SwiGLU hidden layer (training mode only).
    pub dropout: f64,
    /// Multiplies every parameter after the default initialisation.
    #[serde(default = "one")]
    pub init_scale: f64,
    /// Where to train: "auto" (a GPU when one works, else the CPU), "cpu", "cuda" or "cuda:N". The
    /// command line's `--device` overrides it.
    #[serde(default, skip_serializing_if = "DeviceRequest::is_auto")]
    pub device: DeviceRequest,
}

fn one() -> f64 {
    1.0
}

/// Which model a run trains.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelConfig {
    /// See [`MlpConfig`].
    Mlp(MlpConfig),
    /// See [`TransformerConfig`].
    Transformer(TransformerConfig),
}

impl ModelConfig {
    /// Number of trainable parameters for a task with prime `p` (closed form, checked against the models).
    pub fn param_count(&self, p: usize) -> u64 {
        match self {
            ModelConfig::Mlp(m) => {
                let (e, h) = (m.embed_dim as u64, m.hidden as u64);
                let p = p as u64;
                let inputs = match m.combine {
                    Combine::Concat => 2 * e,
                    Combine::Sum => e,
                };
                // embedding p x e, W1 inputs x h + b1, W2 h x p + b2
                p * e + inputs * h + h + h * p + p
            }
            ModelConfig::Transformer(t) => {
                let (d, depth, v) = (t.d_model as u64, t.depth as u64, p as u64 + 2);
                // the spec's closed form: 2(p+2)d + d + depth(16 d^2 + 2d)
                2 * v * d + d + depth * (16 * d * d + 2 * d)
            }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            ModelConfig::Mlp(_) => "MLP",
            ModelConfig::Transformer(_) => "Transformer",
        }
    }
}

/// AdamW and its schedule.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OptimConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    /// Linear learning-rate warm-up over this many optimiser steps (0 = none).
    #[serde(default)]
    pub warmup_steps: u64,
}

/// One Grokking-lab run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GrokkingConfig {
    pub op: Operation,
    pub p: u32,
    pub train_fraction: f64,
    pub model: ModelConfig,
    pub optim: OptimConfig,
    /// Minibatch size; ignored when `full_batch` is set.
    pub batch_size: usize,
    /// One step per epoch on the whole training set.
    #[serde(default)]
    pub full_batch: bool,
    pub max_epochs: u64,
    /// Evaluate (clean train accuracy, validation) every this many epochs.
    #[serde(default = "one_u64")]
    pub eval_every_epochs: u64,
    /// Stop once train and validation accuracy both reach 99 %.
    #[serde(default = "yes")]
    pub early_stop: bool,
    pub seed: u64,
}

fn one_u64() -> u64 {
    1
}
fn yes() -> bool {
    true
}

/// One problem with one field of a config.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldProblem {
    pub field: &'static str,
    pub message: String,
}

/// Every problem found in a config.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<FieldProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid config: ")?;
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                write!(f, "; ")?;
            }
            write!(f, "{}: {}", p.field, p.message)?;
        }
        Ok(())
    }
}

impl ConfigError {
    /// The fields named, in order (unit tests of the configs' checks).
    #[cfg(test)]
    pub(crate) fn fields(&self) -> Vec<&'static str> {
        self.problems.iter().map(|p| p.field).collect()
    }
}

/// Largest prime accepted (p^2 examples; beyond this the dataset alone is unwieldy).
pub const MAX_P: u32 = 2003;
/// Largest model accepted, in parameters.
pub const MAX_PARAMS: u64 = 50_000_000;
/// Largest width accepted for any layer.
pub const MAX_WIDTH: usize = 8192;
/// The speed limits the window offers, in steps a second (its top bar's slider, a lesson's `speed`).
pub const SPEED_LIMITS: std::ops::RangeInclusive<f64> = 1.0..=10_000.0;

pub fn is_prime(n: u32) -> bool {
    if n < 2 {
        return false;
    }
    let mut d = 2u32;
    while d.saturating_mul(d) <= n {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 1;
    }
    true
}

/// The most epochs a Grokking run may train (`max_epochs`).
pub const MAX_EPOCHS: u64 = 100_000_000;

/// The first `n` of `items` joined by `sep`, with how many more there are.
pub fn list_some(items: &[String], n: usize, sep: &str) -> String {
    let shown = items[..items.len().min(n)].join(sep);
    match items.len().saturating_sub(n) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

/// `v` as Rust writes it, or in scientific notation where that is long (1e300 has 301 digits written
/// out; 1e-300 has 300 after the point), so that a message echoes it in a few characters.
pub fn short_number(v: f64) -> String {
    let plain = v.to_string();
    if plain.len() > 16 {
        format!("{v:e}")
    } else {
        plain
    }
}

struct Checker {
    problems: Vec<FieldProblem>,
}

impl Checker {
    fn fail(&mut self, field: &'static str, message: impl Into<String>) {
        self.problems.push(FieldProblem {
            field,
            message: message.into(),
        });
    }

    /// Finite and within [lo, hi] (or (lo, hi] when `open_lo`; [lo, hi) when `open_hi`).
    fn real(
        &mut self,
        field: &'static str,
        v: f64,
        lo: f64,
        hi: f64,
        open_lo: bool,
        open_hi: bool,
    ) {
        let lo_ok = if open_lo { v > lo } else { v >= lo };
        let hi_ok = if open_hi { v < hi } else { v <= hi };
        if v != 0.0 && v.is_finite() && !v.is_normal() {
            // a subnormal passes a range check, then reads as 0 where the CPU flushes denormals
            // (training does, for speed): refused here, where it is still named
            self.fail(
                field,
                format!(
                    "{v:e} is too small to compute with (below {:e}, the smallest normal number)",
                    f64::MIN_POSITIVE
                ),
            );
        } else if !v.is_finite() || !lo_ok || !hi_ok {
            let l = if open_lo { '(' } else { '[' };
            let h = if open_hi { ')' } else { ']' };
            self.fail(
                field,
                format!(
                    "{} is outside the allowed range {l}{lo}, {hi}{h}",
                    short_number(v)
                ),
            );
        }
    }

    fn int(&mut self, field: &'static str, v: u64, lo: u64, hi: u64) {
        if v < lo || v > hi {
            self.fail(
                field,
                format!("{v} is outside the allowed range [{lo}, {hi}]"),
            );
        }
    }

    /// The problems of a config nested under `field` (a study's base run), each as `field: its field:
    /// its message`.
    fn nested(&mut self, field: &'static str, checked: Result<(), ConfigError>) {
        if let Err(e) = checked {
            for p in e.problems {
                self.fail(field, format!("{}: {}", p.field, p.message));
            }
        }
    }

    /// A study's axis whose values name result files: no value may appear twice.
    fn distinct_values(&mut self, field: &'static str, distinct: bool) {
        if !distinct {
            self.fail(
                field,
                "a value appears twice (two tasks would share a result file)",
            );
        }
    }

    /// A study's runs are timed by their first epoch at 99 % validation accuracy (`what`: T_gen, the
    /// grokking delay), so they evaluate every epoch: on a coarser grid that epoch is rounded up to
    /// the next evaluation (a spec audit: every 7 epochs moved a T_gen from 458 to 469 and its delay
    /// from 100 to 112, the training the same), while T_mem and memorisation are checked each epoch.
    fn every_epoch_evaluated(&mut self, what: &str, eval_every_epochs: u64) {
        if eval_every_epochs != 1 {
            self.fail(
                "base.eval_every_epochs",
                format!(
                    "{eval_every_epochs}: a study times {what} by the first epoch whose validation \
                     accuracy reaches 99 %, so it evaluates every epoch: give 1"
                ),
            );
        }
    }

    /// `Ok(())` when nothing failed, else every problem found.
    fn finish(self) -> Result<(), ConfigError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError {
                problems: self.problems,
            })
        }
    }
}

/// No value twice (by `==`), sorted by `order` first, so a list of 10^6 seeds is checked in well under
/// a second (a pairwise check took minutes). `order` must put equal values side by side (`Ord::cmp`,
/// `f64::total_cmp`).
fn distinct_by<T: Clone + PartialEq>(
    v: &[T],
    order: impl FnMut(&T, &T) -> std::cmp::Ordering,
) -> bool {
    let mut sorted = v.to_vec();
    sorted.sort_unstable_by(order);
    sorted.windows(2).all(|w| w[0] != w[1])
}

/// No value twice (see [`distinct_by`]).
fn distinct<T: Ord + Clone>(v: &[T]) -> bool {
    distinct_by(v, T::cmp)
}

impl OptimConfig {
    fn check(&self, c: &mut Checker) {
        c.real("optim.lr", self.lr, 0.0, 10.0, true, false);
        c.real("optim.beta1", self.beta1, 0.0, 1.0, false, true);
        c.real("optim.beta2", self.beta2, 0.0, 1.0, false, true);
        c.real("optim.eps", self.eps, 0.0, 1.0, true, false);
        c.real(
            "optim.weight_decay",
            self.weight_decay,
            0.0,
            100.0,
            false,
            false,
        );
        c.int("optim.warmup_steps", self.warmup_steps, 0, 10_000_000);
    }
}

impl GrokkingConfig {
    /// Every problem with this config, or `Ok(())`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut c = Checker { problems: vec![] };
        if !is_prime(self.p) || self.p < 3 || self.p > MAX_P {
            c.fail("p", format!("{} must be a prime in [3, {MAX_P}]", self.p));
        }
        c.real("train_fraction", self.train_fraction, 0.0, 1.0, true, true);
        if c.problems.is_empty() {
            let n = self.dataset_size();
            let n_train = self.train_size();
            if n_train == 0 || n_train >= n {
                c.fail(
                    "train_fraction",
                    format!(
                        "{} of {n} examples leaves {n_train} to train and {} to validate; both must be non-empty",
                        self.train_fraction,
                        n - n_train.min(n)
                    ),
                );
            }
        }
        match &self.model {
            ModelConfig::Mlp(m) => {
                c.int("model.embed_dim", m.embed_dim as u64, 1, MAX_WIDTH as u64);
                c.int("model.hidden", m.hidden as u64, 1, MAX_WIDTH as u64);
                c.real("model.init_scale", m.init_scale, 0.0, 1000.0, true, false);
            }
            ModelConfig::Transformer(t) => {
                c.int("model.d_model", t.d_model as u64, 2, MAX_WIDTH as u64);
                c.int("model.depth", t.depth as u64, 1, 64);
                c.int("model.heads", t.heads as u64, 1, 64);
                if t.heads >= 1 && t.d_model >= 2 {
                    let ok = t.d_model % t.heads == 0 && (t.d_model / t.heads) % 2 == 0;
                    if !ok {
                        c.fail(
                            "model.heads",
                            format!(
                                "{} heads must divide d_model {} into an even head width (rotary encoding pairs dimensions)",
                                t.heads, t.d_model
                            ),
                        );
                    }
                }
                c.real("model.dropout", t.dropout, 0.0, 1.0, false, true);
                c.real("model.init_scale", t.init_scale, 0.0, 1000.0, true, false);
            }
        }
        if c.problems.is_empty() {
            let params = self.model.param_count(self.p as usize);
            if params > MAX_PARAMS {
                c.fail(
                    "model",
                    format!("{params} parameters is too large for this app (at most {MAX_PARAMS})"),
                );
            }
        }
        self.optim.check(&mut c);
        c.int("batch_size", self.batch_size as u64, 1, 1 << 20);
        c.int("max_epochs", self.max_epochs, 1, MAX_EPOCHS);
        c.int("eval_every_epochs", self.eval_every_epochs, 1, 1_000_000);
        c.finish()
    }

    /// Number of examples of the task: p(p-1) for division, p^2 otherwise.
    pub fn dataset_size(&self) -> usize {
        task_size(self.op, self.p)
    }

    /// floor(train_fraction * n), as the spec splits.
    pub fn train_size(&self) -> usize {
        (self.train_fraction * self.dataset_size() as f64).floor() as usize
    }

    /// Examples per optimiser step.
    pub fn effective_batch(&self) -> usize {
        if self.full_batch {
            self.train_size().max(1)
        } else {
            self.batch_size.min(self.train_size().max(1))
        }
    }

    /// Optimiser steps per epoch (the last batch may be short).
    pub fn steps_per_epoch(&self) -> u64 {
        let n = self.train_size().max(1);
        n.div_ceil(self.effective_batch()) as u64
    }

    pub fn to_toml(&self) -> String {
        // Serialising a plain struct of numbers, strings and enums cannot fail.
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Parse a TOML config into a valid one (the edge for config files).
    pub fn from_toml(text: &str) -> Result<ValidGrokkingConfig, ConfigParseError> {
        let cfg: GrokkingConfig = parse::from_toml(text)?;
        Ok(ValidGrokkingConfig::try_from(cfg)?)
    }
}

checked_config!(
    /// A Grokking config that passed [`GrokkingConfig::validate`]: the only kind the trainer and the
    /// runner accept, so they never check again. Built by `TryFrom` (or [`GrokkingConfig::from_toml`]);
    /// read through `Deref`.
    ValidGrokkingConfig(GrokkingConfig)
);

impl ValidGrokkingConfig {
    /// A learning rate changed mid-run, already checked at the edge (`HyperChange::validate`).
    pub(crate) fn set_lr(&mut self, lr: f64) {
        self.0.optim.lr = lr;
    }

    /// A weight decay changed mid-run, already checked at the edge (`HyperChange::validate`).
    pub(crate) fn set_weight_decay(&mut self, weight_decay: f64) {
        self.0.optim.weight_decay = weight_decay;
    }

    /// The same run with early stopping on (a switch: it cannot make a config invalid).
    pub fn with_early_stop(mut self) -> Self {
        self.0.early_stop = true;
        self
    }
}

/// Why a config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigParseError {
    /// Not TOML of a config (a syntax error, an unknown or missing field, a wrong type): the line and
    /// field, and the parser's message with any echoed text cut short.
    #[error("{0}")]
    Toml(parse::TomlProblem),
    /// Parsed, but a value is out of range.
    #[error(transparent)]
    Invalid(#[from] ConfigError),
}

/// What a `Command::Start` runs: one lab's run or study.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "lab", rename_all = "snake_case")]
pub enum RunConfig {
    /// A Grokking-lab run.
    Grokking(GrokkingConfig),
    /// An Ordering-lab run.
    Ordering(OrderingConfig),
    /// An Ordering-lab study (many runs in parallel).
    OrderingStudy(OrderingStudyConfig),
    /// A Capacity-lab sweep (many runs in parallel).
    CapacitySweep(CapacitySweepConfig),
    /// A Grokking-lab phase diagram (many runs in parallel).
    PhaseStudy(phase::PhaseStudyConfig),
}

/// A [`RunConfig`] checked at the edge (the window's labs, the tests): what a `Command::Start` carries,
/// so the worker starts it without checking again.
#[derive(Clone, Debug, PartialEq)]
pub enum ValidRunConfig {
    /// A Grokking-lab run.
    Grokking(ValidGrokkingConfig),
    /// An Ordering-lab run.
    Ordering(ValidOrderingConfig),
    /// An Ordering-lab study (many runs in parallel).
    OrderingStudy(ValidOrderingStudyConfig),
    /// A Capacity-lab sweep (many runs in parallel).
    CapacitySweep(ValidCapacitySweepConfig),
    /// A Grokking-lab phase diagram (many runs in parallel).
    PhaseStudy(ValidPhaseStudyConfig),
}

impl TryFrom<RunConfig> for ValidRunConfig {
    type Error = ConfigError;

    fn try_from(cfg: RunConfig) -> Result<Self, ConfigError> {
        Ok(match cfg {
            RunConfig::Grokking(c) => ValidRunConfig::Grokking(c.try_into()?),
            RunConfig::Ordering(c) => ValidRunConfig::Ordering(c.try_into()?),
            RunConfig::OrderingStudy(c) => ValidRunConfig::OrderingStudy(c.try_into()?),
            RunConfig::CapacitySweep(c) => ValidRunConfig::CapacitySweep(c.try_into()?),
            RunConfig::PhaseStudy(c) => ValidRunConfig::PhaseStudy(c.try_into()?),
        })
    }
}

impl From<ValidRunConfig> for RunConfig {
    fn from(cfg: ValidRunConfig) -> Self {
        match cfg {
            ValidRunConfig::Grokking(c) => RunConfig::Grokking(c.into()),
            ValidRunConfig::Ordering(c) => RunConfig::Ordering(c.into()),
            ValidRunConfig::OrderingStudy(c) => RunConfig::OrderingStudy(c.into()),
            ValidRunConfig::CapacitySweep(c) => RunConfig::CapacitySweep(c.into()),
            ValidRunConfig::PhaseStudy(c) => RunConfig::PhaseStudy(c.into()),
        }
    }
}

/// A named, described starting point.
#[derive(Clone, Debug)]
pub struct Preset {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub config: GrokkingConfig,
}

/// The built-in Grokking presets; the first is the one the window selects on launch.
pub fn presets() -> Vec<Preset> {
    vec![
        Preset {
            name: "fast-mlp",
            title: "Fast MLP demo",
            description: "MLP on a/b mod 97, full batch, weight decay 1: memorises by epoch ~110, groks at ~310, in about 1.5 seconds.",
            config: GrokkingConfig {
                op: Operation::Div,
                p: 97,
                train_fraction: 0.5,
                model: ModelConfig::Mlp(MlpConfig {
                    embed_dim: 32,
                    hidden: 128,
                    activation: Activation::Relu,
                    combine: Combine::Concat,
                    init_scale: 1.0,
                }),
                optim: OptimConfig {
                    lr: 1e-2,
                    beta1: 0.9,
                    beta2: 0.98,
                    eps: 1e-8,
                    weight_decay: 1.0,
                    warmup_steps: 0,
                },
                batch_size: 512,
                full_batch: true,
                max_epochs: 5000,
                eval_every_epochs: 1,
                early_stop: true,
                seed: 0,
            },
        },
        Preset {
            name: "paper-transformer-cpu",
            title: "Paper transformer (CPU scale)",
            description: "The paper's 2-layer RMSNorm/rotary/SwiGLU transformer with dropout 0.2 and batch 512, narrowed to d = 32 and p = 47 so it groks on a CPU: seed 0 memorised at epoch 1073 and generalised at 1445, in about 10 seconds on two cores (17 on one).",
            config: GrokkingConfig {
                op: Operation::Div,
                p: 47,
                train_fraction: 0.5,
                model: ModelConfig::Transformer(TransformerConfig {
                    d_model: 32,
                    depth: 2,
                    heads: 1,
                    dropout: 0.2,
                    init_scale: 1.0,
                    device: DeviceRequest::Auto,
                }),
                optim: OptimConfig {
                    lr: 1e-3,
                    beta1: 0.9,
                    beta2: 0.98,
                    eps: 1e-8,
                    weight_decay: 1.0,
                    warmup_steps: 0,
                },
                batch_size: 512,
                full_batch: false,
                max_epochs: 5000,
                eval_every_epochs: 1,
                early_stop: true,
                seed: 0,
            },
        },
        Preset {
            name: "nanda-power",
            title: "Nanda/Power setting (slow on a CPU)",
            description: "1-layer transformer, d = 128, 4 heads, MLP 512, a + b mod 113, 30 % train, full batch, AdamW lr 1e-3, wd 1, 10-step warm-up. Takes hours on a CPU.",
            config: GrokkingConfig {
                op: Operation::Add,
                p: 113,
                train_fraction: 0.3,
                model: ModelConfig::Transformer(TransformerConfig {
                    d_model: 128,
                    depth: 1,
                    heads: 4,
                    dropout: 0.0,
                    init_scale: 1.0,
                    device: DeviceRequest::Auto,
                }),
                optim: OptimConfig {
                    lr: 1e-3,
                    beta1: 0.9,
                    beta2: 0.98,
                    eps: 1e-8,
                    weight_decay: 1.0,
                    warmup_steps: 10,
                },
                batch_size: 512,
                full_batch: true,
                max_epochs: 40_000,
                eval_every_epochs: 10,
                early_stop: true,
                seed: 0,
            },
        },
    ]
}

/// Look a preset up by name.
pub fn preset(name: &str) -> Option<Preset> {
    presets().into_iter().find(|p| p.name == name)
}

/// Fields a fork may change: the rest (task, seed, model shape) would make the checkpoint meaningless.
pub const FORKABLE: [&str; 13] = [
    "train_fraction",
    "optim.lr",
    "optim.weight_decay",
    "optim.beta1",
    "optim.beta2",
    "optim.eps",
    "optim.warmup_steps",
    "batch_size",
    "full_batch",
    "max_epochs",
    "eval_every_epochs",
    "early_stop",
    "model.dropout",
];

/// Every field (dotted path, e.g. `optim.lr`) in which `b` differs from `a`, with both values (`None`
/// where one of them lacks the field), in `b`'s field order and then `a`'s fields that `b` lacks.
fn changed_fields<T: Serialize>(a: &T, b: &T) -> Vec<(String, Option<String>, Option<String>)> {
    fn flatten(prefix: &str, v: &toml::Value, out: &mut Vec<(String, String)>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    flatten(&key, v, out);
                }
            }
            other => out.push((prefix.to_string(), other.to_string())),
        }
    }
    let flat = |c: &T| {
        let mut out = vec![];
        // a config of numbers, strings, lists and enums always converts
        if let Ok(v) = toml::Value::try_from(c) {
            flatten("", &v, &mut out);
        }
        out
    };
    let (a, b) = (flat(a), flat(b));
    let of = |list: &[(String, String)], k: &str| {
        list.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    };
    let mut out = vec![];
    for (k, v) in &b {
        let before = of(&a, k);
        if before.as_deref() != Some(v.as_str()) {
            out.push((k.clone(), before, Some(v.clone())));
        }
    }
    for (k, v) in &a {
        if of(&b, k).is_none() {
            out.push((k.clone(), Some(v.clone()), None));
        }
    }
    out
}

/// Every field in which `b` differs from `a`, as `field: old -> new` (values cut to 40 characters):
/// what a refusal to overwrite a folder of another config names.
pub fn differences<T: Serialize>(a: &T, b: &T) -> Vec<String> {
    let show = |v: &Option<String>| truncate_echo(v.as_deref().unwrap_or("(none)"), 40);
    changed_fields(a, b)
        .iter()
        .map(|(k, old, new)| format!("{k}: {} -> {}", show(old), show(new)))
        .collect()
}

/// A fork that changes what a checkpoint cannot carry over (the model's shape, the task, the seed).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("a fork may change only {}; it changed {}", FORKABLE.join(", "), .refused.join(", "))]
pub struct ForkError {
    /// The fields changed that may not change in a fork.
    pub refused: Vec<String>,
}

/// The fields in which `child` differs from `parent`, as `field: old -> new`; refused, naming the
/// fields, when any of them may not change in a fork (see [`FORKABLE`]).
pub fn fork_changes(
    parent: &GrokkingConfig,
    child: &GrokkingConfig,
) -> Result<Vec<String>, ForkError> {
    let mut changes = vec![];
    let mut refused = vec![];
    for (k, before, after) in changed_fields(parent, child) {
        match after {
            Some(v) if FORKABLE.contains(&k.as_str()) => changes.push(format!(
                "{k}: {} -> {v}",
                before.as_deref().unwrap_or("(none)")
            )),
            Some(_) => refused.push(k),
            None => {
                if !refused.iter().any(|r| r == "model.kind") {
                    refused.push("model.kind".into());
                }
            }
        }
    }
    if refused.is_empty() {
        Ok(changes)
    } else {
        Err(ForkError { refused })
    }
}

/// `text` cut to at most `max` characters, saying how much was cut: an error message never echoes a
/// huge value (a 50 MB number in a config) back in full.
pub fn truncate_echo(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((cut, _)) => format!(
            "{}... ({} more bytes not shown)",
            &text[..cut],
            text.len() - cut
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value out of range is echoed in a few characters: 1e300 written out has 301 digits (a
    /// helper's audit, 2026-12-06); ordinary values as Rust writes them.
    #[test]
    fn an_out_of_range_value_is_echoed_short() {
        let mut c = preset("fast-mlp").unwrap().config;
        c.optim.lr = 1e300;
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("optim.lr: 1e300 is outside the allowed range (0, 10]"),
            "{e}"
        );
        assert_eq!(short_number(0.5), "0.5");
        assert_eq!(short_number(-12.25), "-12.25");
        assert_eq!(short_number(1e-300), "1e-300");
        assert_eq!(short_number(123456789012.0), "123456789012");
    }

    #[test]
    fn presets_validate_and_round_trip_through_toml() {
        for p in presets() {
            p.config.validate().unwrap();
            let back =
                GrokkingConfig::from(GrokkingConfig::from_toml(&p.config.to_toml()).unwrap());
            assert_eq!(back, p.config, "{}", p.name);
        }
    }

    #[test]
    fn a_fork_names_the_fields_it_may_not_change() {
        // lr may change (listed in FORKABLE); seed and p may not: refused, both named, in field order
        let parent = preset("fast-mlp").unwrap().config;
        let mut child = parent.clone();
        child.optim.lr = 0.5;
        assert_eq!(
            fork_changes(&parent, &child).unwrap(),
            ["optim.lr: 0.01 -> 0.5"]
        );
        child.seed = 7;
        child.p = 89;
        let e = fork_changes(&parent, &child).unwrap_err();
        let mut refused = e.refused.clone();
        refused.sort();
        assert_eq!(refused, ["p", "seed"]);
        assert!(
            e.to_string()
                .starts_with("a fork may change only train_fraction"),
            "{e}"
        );
    }

    #[test]
    fn primes() {
        // from a table of primes
        let primes: Vec<u32> = (0..60).filter(|&n| is_prime(n)).collect();
        assert_eq!(
            primes,
            [
                2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59
            ]
        );
    }

    #[test]
    fn mlp_param_count_by_hand() {
        // p = 5, e = 2, h = 3, concat: 5*2 + 4*3 + 3 + 3*5 + 5 = 10 + 12 + 3 + 15 + 5 = 45
        let m = ModelConfig::Mlp(MlpConfig {
            embed_dim: 2,
            hidden: 3,
            activation: Activation::Relu,
            combine: Combine::Concat,
            init_scale: 1.0,
        });
        assert_eq!(m.param_count(5), 45);
    }
}
