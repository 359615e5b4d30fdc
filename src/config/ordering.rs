//! Configurations of the Ordering lab (Song 2025): a complete, weight-tied recurrent layer pruned while
//! it learns XOR or sine regression.

use super::{Checker, ConfigError, ConfigParseError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The task the complete layer learns.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum OrderingTask {
    /// 4 points, 2 inputs, 1 output.
    Xor,
    /// x = 0, 0.01, .., 2.99 (300 values) as 150 points (x1, x2), y = (sin x1 + sin x2) / 2.
    Sine,
}

impl fmt::Display for OrderingTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OrderingTask::Xor => "XOR",
            OrderingTask::Sine => "sine",
        })
    }
}

/// Pruning applied to W after every optimiser step (v0 is never pruned).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(tag = "scheme", rename_all = "snake_case")]
pub enum Pruning {
    /// No pruning: the baseline.
    None,
    /// A fixed mask drawn once; each weight zeroed with probability p.
    Random { p: f64 },
    /// Keep the floor(k * numel) largest |w| of W, reselected every step.
    TopK { k: f64 },
    /// Top-K with k'(x) = 1 - (1 - k) sin^4(pi x / 2), x = training progress.
    DynamicTopK { k: f64 },
    /// Multiply the strictly lower-triangular entries of W by (1 - f).
    TriuDamp { f: f64 },
    /// Triu-damp with f'(x) = f sin^4(pi x / 2).
    DynamicTriuDamp { f: f64 },
}

/// A pruning scheme without its parameter (for studies and legends).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// No pruning.
    None,
    /// Random(p).
    Random,
    /// Top-K(k).
    TopK,
    /// Dynamic Top-K(k).
    DynamicTopK,
    /// Triu-damp(f).
    TriuDamp,
    /// Dynamic Triu-damp(f).
    DynamicTriuDamp,
}

impl Scheme {
    pub const ALL: [Scheme; 6] = [
        Scheme::None,
        Scheme::Random,
        Scheme::TopK,
        Scheme::DynamicTopK,
        Scheme::TriuDamp,
        Scheme::DynamicTriuDamp,
    ];

    /// The pruning of this scheme at a nominal sparsity s (p = s, k = 1 - s, f = s).
    pub fn at_sparsity(self, s: f64) -> Pruning {
        match self {
            Scheme::None => Pruning::None,
            Scheme::Random => Pruning::Random { p: s },
            Scheme::TopK => Pruning::TopK { k: 1.0 - s },
            Scheme::DynamicTopK => Pruning::DynamicTopK { k: 1.0 - s },
            Scheme::TriuDamp => Pruning::TriuDamp { f: s },
            Scheme::DynamicTriuDamp => Pruning::DynamicTriuDamp { f: s },
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheme::None => "none",
            Scheme::Random => "random",
            Scheme::TopK => "top-k",
            Scheme::DynamicTopK => "dynamic top-k",
            Scheme::TriuDamp => "triu-damp",
            Scheme::DynamicTriuDamp => "dynamic triu-damp",
        })
    }
}

impl Pruning {
    pub fn scheme(&self) -> Scheme {
        match self {
            Pruning::None => Scheme::None,
            Pruning::Random { .. } => Scheme::Random,
            Pruning::TopK { .. } => Scheme::TopK,
            Pruning::DynamicTopK { .. } => Scheme::DynamicTopK,
            Pruning::TriuDamp { .. } => Scheme::TriuDamp,
            Pruning::DynamicTriuDamp { .. } => Scheme::DynamicTriuDamp,
        }
    }

    /// The scheme's parameter: p, k or f (0 for none).
    pub fn param(&self) -> f64 {
        match *self {
            Pruning::None => 0.0,
            Pruning::Random { p } => p,
            Pruning::TopK { k } | Pruning::DynamicTopK { k } => k,
            Pruning::TriuDamp { f } | Pruning::DynamicTriuDamp { f } => f,
        }
    }

    /// The setting's nominal sparsity: p, 1 - k, f respectively (0 for none); not the measured one,
    /// the share of W at zero (triu-damp's f damps weights, zeroing them only at f = 1).
    pub fn sparsity(&self) -> f64 {
        match *self {
            Pruning::None => 0.0,
            Pruning::Random { p } => p,
            Pruning::TopK { k } | Pruning::DynamicTopK { k } => 1.0 - k,
            Pruning::TriuDamp { f } | Pruning::DynamicTriuDamp { f } => f,
        }
    }
}

/// One run of the Ordering lab.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OrderingConfig {
    pub task: OrderingTask,
    /// Hidden neurons H.
    pub hidden: usize,
    /// Iterations of the weight-tied layer per forward pass.
    pub its: usize,
    pub epochs: u64,
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
    pub pruning: Pruning,
    pub seed: u64,
}

/// Which study to run.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StudyKind {
    /// D against sparsity for each scheme, plus the unpruned baseline.
    Sparsity,
    /// Mean D over hidden sizes x iterations (unpruned).
    Grid,
}

/// Many Ordering runs, in parallel on the worker.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OrderingStudyConfig {
    /// The base run (task, sizes, epochs, lr); its pruning and seed are replaced per task.
    pub base: OrderingConfig,
    pub kind: StudyKind,
    /// Runs (seeds) per setting.
    pub runs: usize,
    /// Nominal sparsities (p, 1 - k or f) of the sparsity study's settings; `sparsities` in a
    /// config written before they were named so.
    #[serde(rename = "nominal_sparsities", alias = "sparsities")]
    pub sparsities: Vec<f64>,
    /// Schemes of the sparsity study (the baseline is always included).
    pub schemes: Vec<Scheme>,
    /// Hidden sizes of the grid study.
    pub hidden_grid: Vec<usize>,
    /// Iteration counts of the grid study.
    pub its_grid: Vec<usize>,
    /// Training threads (0 = the number of cores).
    #[serde(default)]
    pub threads: usize,
}

impl Scheme {
    /// Machine name (the serde form), for CSV columns.
    pub fn key(self) -> &'static str {
        match self {
            Scheme::None => "none",
            Scheme::Random => "random",
            Scheme::TopK => "top_k",
            Scheme::DynamicTopK => "dynamic_top_k",
            Scheme::TriuDamp => "triu_damp",
            Scheme::DynamicTriuDamp => "dynamic_triu_damp",
        }
    }

    /// The five pruning schemes (everything but the baseline).
    pub const PRUNING: [Scheme; 5] = [
        Scheme::Random,
        Scheme::TopK,
        Scheme::DynamicTopK,
        Scheme::TriuDamp,
        Scheme::DynamicTriuDamp,
    ];
}

impl OrderingTask {
    /// Examples in the task's dataset (XOR 4; sine 300 values as 150 pairs).
    pub fn examples(self) -> usize {
        match self {
            OrderingTask::Xor => 4,
            OrderingTask::Sine => 150,
        }
    }
}

/// Largest hidden size accepted (the square block then has 65 neurons: the heuristic orders it).
pub const MAX_HIDDEN: usize = 64;
/// Most iterations accepted.
pub const MAX_ITS: usize = 50;
/// Most runs a study may hold.
pub const MAX_STUDY_RUNS: usize = 100_000;

impl Pruning {
    fn check(&self, c: &mut Checker) {
        match *self {
            Pruning::None => {}
            Pruning::Random { p } => c.real("pruning.p", p, 0.0, 1.0, false, false),
            Pruning::TopK { k } | Pruning::DynamicTopK { k } => {
                c.real("pruning.k", k, 0.0, 1.0, false, false)
            }
            Pruning::TriuDamp { f } | Pruning::DynamicTriuDamp { f } => {
                c.real("pruning.f", f, 0.0, 1.0, false, false)
            }
        }
    }
}

impl OrderingConfig {
    fn check(&self, c: &mut Checker) {
        c.int("hidden", self.hidden as u64, 1, MAX_HIDDEN as u64);
        c.int("its", self.its as u64, 1, MAX_ITS as u64);
        c.int("epochs", self.epochs, 1, 100_000_000);
        c.int("batch_size", self.batch_size as u64, 1, 1 << 20);
        c.real("lr", self.lr, 0.0, 10.0, true, false);
        self.pruning.check(c);
    }

    /// Every problem with this config, or `Ok(())`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut c = Checker { problems: vec![] };
        self.check(&mut c);
        c.finish()
    }

    /// Examples per optimiser step (the batch, capped by the dataset).
    pub fn effective_batch(&self) -> usize {
        self.batch_size.clamp(1, self.task.examples())
    }

    /// Optimiser steps per epoch (the last batch may be short).
    pub fn steps_per_epoch(&self) -> u64 {
        self.task.examples().div_ceil(self.effective_batch()) as u64
    }

    /// Optimiser steps of the whole run.
    pub fn total_steps(&self) -> u64 {
        self.steps_per_epoch().saturating_mul(self.epochs)
    }

    pub fn to_toml(&self) -> String {
        // Serialising a plain struct of numbers, strings and enums cannot fail.
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Parse and validate a TOML run config (the edge for run files).
    pub fn from_toml(text: &str) -> Result<ValidOrderingConfig, ConfigParseError> {
        let cfg: OrderingConfig = super::parse::from_toml(text)?;
        Ok(ValidOrderingConfig::try_from(cfg)?)
    }
}

impl OrderingStudyConfig {
    /// Every problem with this study, or `Ok(())`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut c = Checker { problems: vec![] };
        self.base.check(&mut c);
        c.int("runs", self.runs as u64, 1, 1000);
        c.int("threads", self.threads as u64, 0, 256);
        match self.kind {
            StudyKind::Sparsity => {
                if self.sparsities.is_empty() {
                    c.fail(
                        "nominal_sparsities",
                        "the sparsity study needs at least one nominal sparsity",
                    );
                }
                for &s in &self.sparsities {
                    c.real("nominal_sparsities", s, 0.0, 1.0, false, false);
                }
                if self.schemes.is_empty() {
                    c.fail("schemes", "the sparsity study needs at least one scheme");
                }
            }
            StudyKind::Grid => {
                if self.hidden_grid.is_empty() {
                    c.fail(
                        "hidden_grid",
                        "the grid study needs at least one hidden size",
                    );
                }
                for &h in &self.hidden_grid {
                    c.int("hidden_grid", h as u64, 1, MAX_HIDDEN as u64);
                }
                if self.its_grid.is_empty() {
                    c.fail(
                        "its_grid",
                        "the grid study needs at least one iteration count",
                    );
                }
                for &i in &self.its_grid {
                    c.int("its_grid", i as u64, 1, MAX_ITS as u64);
                }
            }
        }
        let total = self.total_runs();
        if total > MAX_STUDY_RUNS {
            c.fail(
                "runs",
                format!("the study would train {total} networks; at most {MAX_STUDY_RUNS}"),
            );
        }
        c.finish()
    }

    /// Pruning schemes the sparsity study sweeps (the baseline is added once, not per sparsity).
    pub fn pruning_schemes(&self) -> Vec<Scheme> {
        let mut out: Vec<Scheme> = vec![];
        for &s in &self.schemes {
            if s != Scheme::None && !out.contains(&s) {
                out.push(s);
            }
        }
        out
    }

    pub fn to_toml(&self) -> String {
        // Serialising a plain struct of numbers, strings, lists and enums cannot fail.
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Parse and validate a TOML study config (the edge for study files).
    pub fn from_toml(text: &str) -> Result<ValidOrderingStudyConfig, ConfigParseError> {
        let cfg: OrderingStudyConfig = super::parse::from_toml(text)?;
        Ok(ValidOrderingStudyConfig::try_from(cfg)?)
    }

    /// Networks the study trains.
    pub fn total_runs(&self) -> usize {
        let settings = match self.kind {
            StudyKind::Sparsity => self.pruning_schemes().len() * self.sparsities.len() + 1,
            StudyKind::Grid => self.hidden_grid.len() * self.its_grid.len(),
        };
        settings.saturating_mul(self.runs)
    }
}

checked_config!(
    /// An Ordering run that passed [`OrderingConfig::validate`]: the only kind the trainer and the runner
    /// accept, so they never check again.
    ValidOrderingConfig(OrderingConfig)
);

checked_config!(
    /// An Ordering study that passed [`OrderingStudyConfig::validate`]: the only kind the runner accepts.
    ValidOrderingStudyConfig(OrderingStudyConfig)
);

impl ValidOrderingStudyConfig {
    /// The networks the study trains, in a fixed order: for the sparsity study the baseline's runs, then
    /// each scheme x sparsity x run; for the grid each hidden x its x run. Run r of every setting has
    /// seed base.seed + r, so settings are compared on the same initialisations.
    ///
    /// Each is valid without a second check: it is the checked base with only its seed, its pruning at a
    /// checked sparsity s in [0, 1] (p = s, k = 1 - s, f = s: all in [0, 1]), or a checked hidden size and
    /// iteration count changed; the seed has no range.
    pub fn tasks(&self) -> Vec<ValidOrderingConfig> {
        let cfg = &self.0;
        let seeds = |base: &OrderingConfig| {
            (0..cfg.runs as u64)
                .map(|r| {
                    ValidOrderingConfig(OrderingConfig {
                        seed: cfg.base.seed.wrapping_add(r),
                        ..base.clone()
                    })
                })
                .collect::<Vec<_>>()
        };
        let unpruned = OrderingConfig {
            pruning: Pruning::None,
            ..cfg.base.clone()
        };
        let mut out = vec![];
        match cfg.kind {
            StudyKind::Sparsity => {
                out.extend(seeds(&unpruned));
                for scheme in cfg.pruning_schemes() {
                    for &s in &cfg.sparsities {
                        out.extend(seeds(&OrderingConfig {
                            pruning: scheme.at_sparsity(s),
                            ..unpruned.clone()
                        }));
                    }
                }
            }
            StudyKind::Grid => {
                for &hidden in &cfg.hidden_grid {
                    for &its in &cfg.its_grid {
                        out.extend(seeds(&OrderingConfig {
                            hidden,
                            its,
                            ..unpruned.clone()
                        }));
                    }
                }
            }
        }
        out
    }

    /// The same study with another thread count (not part of what the results depend on).
    pub fn with_threads(mut self, threads: usize) -> Result<Self, ConfigError> {
        self.0.threads = threads;
        ValidOrderingStudyConfig::try_from(self.0)
    }
}

/// The spec's XOR run: H = 5, 3 iterations, batch 4 (the whole set), 1000 epochs, Adam lr 0.01.
pub fn xor_preset() -> OrderingConfig {
    OrderingConfig {
        task: OrderingTask::Xor,
        hidden: 5,
        its: 3,
        epochs: 1000,
        batch_size: 4,
        lr: 0.01,
        pruning: Pruning::None,
        seed: 0,
    }
}

/// The spec's sine run: H = 8, 3 iterations, batch 10, 40 epochs, Adam lr 0.01.
pub fn sine_preset() -> OrderingConfig {
    OrderingConfig {
        task: OrderingTask::Sine,
        hidden: 8,
        its: 3,
        epochs: 40,
        batch_size: 10,
        lr: 0.01,
        pruning: Pruning::None,
        seed: 0,
    }
}

impl OrderingConfig {
    /// This run switched to `task`, and what the switch changed (`field: old → new`, in field
    /// order). Epochs and the batch size are counted against the task's dataset (passes over it, a
    /// share of its 4 or 150 points), so they take the new task's values from [`task_preset`]: 1000
    /// XOR epochs are 15 000 sine steps, a sine batch of 10 is more than XOR's four points. The
    /// hidden size is the layer's: one the user chose is kept (it is valid for either task), one
    /// still at the old task's default takes the new task's. The iterations, learning rate, pruning
    /// and seed are not the task's (the spec uses the same for both) and are kept.
    pub fn with_task(&self, task: OrderingTask) -> (OrderingConfig, Vec<String>) {
        if task == self.task {
            return (self.clone(), vec![]);
        }
        let (old, new) = (task_preset(self.task), task_preset(task));
        let next = OrderingConfig {
            task,
            hidden: if self.hidden == old.hidden {
                new.hidden
            } else {
                self.hidden
            },
            epochs: new.epochs,
            batch_size: new.batch_size,
            ..self.clone()
        };
        let mut changes = vec![];
        let mut note = |field: &str, a: u64, b: u64| {
            if a != b {
                changes.push(format!("{field}: {a} → {b}"));
            }
        };
        note("hidden", self.hidden as u64, next.hidden as u64);
        note("epochs", self.epochs, next.epochs);
        note("batch_size", self.batch_size as u64, next.batch_size as u64);
        (next, changes)
    }
}

/// The spec's run for a task.
pub fn task_preset(task: OrderingTask) -> OrderingConfig {
    match task {
        OrderingTask::Xor => xor_preset(),
        OrderingTask::Sine => sine_preset(),
    }
}

/// A named starting point for an Ordering run: what the Ordering tab's preset list offers, what a
/// lesson's `preset = "xor"` names, and (as `ordering-xor`, ..) what `grokscope presets` lists and
/// `grokscope ordering-run --task` trains. One list, so the three always agree.
#[derive(Clone, Debug)]
pub struct OrderingPreset {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub config: OrderingConfig,
}

/// The built-in Ordering runs: the spec's XOR and sine runs ([`task_preset`]), pruned by dynamic
/// top-k to half the weights so that D can be watched rising as pruning proceeds (the spec's
/// figure of D over training). The unpruned baseline is the same run with `pruning = { scheme = "none" }`.
pub fn ordering_presets() -> Vec<OrderingPreset> {
    let pruned = |task| OrderingConfig {
        pruning: Pruning::DynamicTopK { k: 0.5 },
        ..task_preset(task)
    };
    vec![
        OrderingPreset {
            name: "xor",
            title: "XOR",
            description: "H = 5, 3 iterations, batch 4, 1000 epochs, Adam lr 0.01; dynamic top-k \
                          prunes to half the weights as training ends.",
            config: pruned(OrderingTask::Xor),
        },
        OrderingPreset {
            name: "sine",
            title: "sine regression",
            description: "H = 8, 3 iterations, batch 10, 40 epochs, Adam lr 0.01 on \
                          y = (sin x1 + sin x2) / 2; dynamic top-k prunes to half the weights.",
            config: pruned(OrderingTask::Sine),
        },
    ]
}

/// The built-in run of `task` ([`ordering_presets`]): what `grokscope ordering-run --task` trains.
pub fn preset_of(task: OrderingTask) -> OrderingConfig {
    ordering_presets()
        .into_iter()
        .map(|p| p.config)
        .find(|c| c.task == task)
        .expect("a built-in preset for every task")
}

/// A built-in Ordering run or study, by the name `grokscope presets` lists.
#[derive(Clone, Debug)]
pub struct NamedOrdering<T> {
    pub name: &'static str,
    pub title: &'static str,
    pub config: T,
}

/// The built-in runs as `grokscope presets` lists them (`ordering-xor`, `ordering-sine`): the
/// Ordering tab's presets ([`ordering_presets`]), what `grokscope ordering-run --task` trains.
pub fn run_presets() -> Vec<OrderingPreset> {
    ordering_presets()
        .into_iter()
        .map(|p| OrderingPreset {
            name: match p.config.task {
                OrderingTask::Xor => "ordering-xor",
                OrderingTask::Sine => "ordering-sine",
            },
            ..p
        })
        .collect()
}

/// The spec's four studies as `grokscope presets` lists them (`ordering-sine-sparsity`, ..): what
/// `grokscope ordering --task T --study S` runs.
pub fn study_presets() -> Vec<NamedOrdering<OrderingStudyConfig>> {
    let one = |name, title, task, kind| NamedOrdering {
        name,
        title,
        config: default_study(task, kind),
    };
    vec![
        one(
            "ordering-xor-sparsity",
            "XOR: D against nominal sparsity, five schemes x 0.1..0.9 and the baseline, 5 runs each",
            OrderingTask::Xor,
            StudyKind::Sparsity,
        ),
        one(
            "ordering-xor-grid",
            "XOR: mean D over H in {1, 3, 5, 7, 9} x its 1..10, unpruned, 5 runs each",
            OrderingTask::Xor,
            StudyKind::Grid,
        ),
        one(
            "ordering-sine-sparsity",
            "Sine: D against nominal sparsity, five schemes x 0.1..0.9 and the baseline, 5 runs each",
            OrderingTask::Sine,
            StudyKind::Sparsity,
        ),
        one(
            "ordering-sine-grid",
            "Sine: mean D over H in {1, 3, 5, 7, 9} x its 1..10, unpruned, 5 runs each",
            OrderingTask::Sine,
            StudyKind::Grid,
        ),
    ]
}

/// The spec's study of a task: sparsities 0.1, .., 0.9 under all five schemes plus the baseline, or
/// the grid H in {1, 3, 5, 7, 9} x its in 1..=10 (unpruned); 5 runs a setting.
pub fn default_study(task: OrderingTask, kind: StudyKind) -> OrderingStudyConfig {
    OrderingStudyConfig {
        base: task_preset(task),
        kind,
        runs: 5,
        sparsities: (1..=9).map(|i| i as f64 / 10.0).collect(),
        schemes: Scheme::PRUNING.to_vec(),
        hidden_grid: vec![1, 3, 5, 7, 9],
        its_grid: (1..=10).collect(),
        threads: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values from the spec's two runs (XOR: H 5, 1000 epochs, batch 4; sine: H 8, 40
    /// epochs, batch 10) and the rule of [`OrderingConfig::with_task`].
    #[test]
    fn a_task_switch_takes_the_tasks_dataset_settings_and_keeps_the_users_others() {
        // the XOR defaults, its own choices elsewhere: the sine run's defaults replace the
        // task's settings; iterations, lr, pruning and seed stay
        let xor = OrderingConfig {
            its: 5,
            lr: 0.02,
            pruning: Pruning::TriuDamp { f: 0.7 },
            seed: 9,
            ..xor_preset()
        };
        let (sine, changes) = xor.with_task(OrderingTask::Sine);
        assert_eq!(
            sine,
            OrderingConfig {
                task: OrderingTask::Sine,
                hidden: 8,
                epochs: 40,
                batch_size: 10,
                ..xor.clone()
            }
        );
        assert_eq!(
            changes,
            ["hidden: 5 → 8", "epochs: 1000 → 40", "batch_size: 4 → 10"]
        );
        // a hidden size the user chose is kept; a sine batch of 30 (of 150 points) and 200 epochs
        // mean nothing for XOR's 4 points: its defaults
        let mine = OrderingConfig {
            hidden: 3,
            epochs: 200,
            batch_size: 30,
            ..sine_preset()
        };
        let (xor2, changes) = mine.with_task(OrderingTask::Xor);
        assert_eq!((xor2.hidden, xor2.epochs, xor2.batch_size), (3, 1000, 4));
        assert_eq!(changes, ["epochs: 200 → 1000", "batch_size: 30 → 4"]);
        assert!(xor2.validate().is_ok());
        // the same task: nothing changes
        assert_eq!(mine.with_task(OrderingTask::Sine), (mine.clone(), vec![]));
        // there and back restores the defaults
        assert_eq!(sine_preset().with_task(OrderingTask::Xor).0, xor_preset());
    }

    #[test]
    fn presets_and_default_studies_validate() {
        for p in ordering_presets() {
            p.config
                .validate()
                .unwrap_or_else(|e| panic!("{}: {e}", p.name));
        }
        for task in [OrderingTask::Xor, OrderingTask::Sine] {
            for kind in [StudyKind::Sparsity, StudyKind::Grid] {
                default_study(task, kind).validate().unwrap();
            }
        }
        // 5 schemes x 9 sparsities + baseline = 46 settings; grid 5 x 10 = 50; 5 runs each
        assert_eq!(
            default_study(OrderingTask::Sine, StudyKind::Sparsity).total_runs(),
            230
        );
        assert_eq!(
            default_study(OrderingTask::Sine, StudyKind::Grid).total_runs(),
            250
        );
    }

    /// Every preset printed as TOML (what `grokscope presets --show` prints) reads back as the same
    /// config, and a bad value in such a file is refused naming its field.
    #[test]
    fn presets_round_trip_through_toml() {
        for p in run_presets() {
            let text = p.config.to_toml();
            let back = OrderingConfig::from(OrderingConfig::from_toml(&text).unwrap());
            assert_eq!(back, p.config, "{}", p.name);
        }
        for p in study_presets() {
            let text = p.config.to_toml();
            let back = OrderingStudyConfig::from(OrderingStudyConfig::from_toml(&text).unwrap());
            assert_eq!(back, p.config, "{}", p.name);
        }
        // a pruned run too: the scheme's tag and its parameter
        let pruned = OrderingConfig {
            pruning: Pruning::DynamicTopK { k: 0.25 },
            ..xor_preset()
        };
        let text = pruned.to_toml();
        assert!(text.contains("scheme = \"dynamic_top_k\""), "{text}");
        assert_eq!(
            OrderingConfig::from(OrderingConfig::from_toml(&text).unwrap()),
            pruned
        );
        let e = OrderingConfig::from_toml(&text.replace("hidden = 5", "hidden = 0"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("hidden: 0"), "{e}");
        let study = study_presets()[0].config.to_toml();
        let e = OrderingStudyConfig::from_toml(&study.replace("runs = 5", "runs = 0"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("runs: 0"), "{e}");
    }

    #[test]
    fn steps_per_epoch_by_hand() {
        // XOR: 4 examples, batch 4 -> 1 step; sine: 150 examples, batch 10 -> 15; batch 40 -> 4 (last 30)
        assert_eq!(xor_preset().steps_per_epoch(), 1);
        let mut s = sine_preset();
        assert_eq!(s.steps_per_epoch(), 15);
        assert_eq!(s.total_steps(), 600);
        s.batch_size = 40;
        assert_eq!(s.steps_per_epoch(), 4);
        s.batch_size = 1000;
        assert_eq!(s.steps_per_epoch(), 1);
    }

    #[test]
    fn bad_values_are_refused_with_their_fields() {
        let mut c = sine_preset();
        c.hidden = 0;
        c.its = 51;
        c.epochs = 0;
        c.batch_size = 0;
        c.lr = f64::NAN;
        c.pruning = Pruning::TopK { k: 1.5 };
        let e = c.validate().unwrap_err();
        let fields: Vec<_> = e.problems.iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            ["hidden", "its", "epochs", "batch_size", "lr", "pruning.k"]
        );
        assert!(
            e.to_string()
                .contains("hidden: 0 is outside the allowed range [1, 64]"),
            "{e}"
        );
        let mut s = default_study(OrderingTask::Sine, StudyKind::Sparsity);
        s.sparsities = vec![0.5, -0.1];
        s.runs = 0;
        let e = s.validate().unwrap_err();
        let fields: Vec<_> = e.problems.iter().map(|p| p.field).collect();
        assert_eq!(fields, ["runs", "nominal_sparsities"]);
        let mut g = default_study(OrderingTask::Xor, StudyKind::Grid);
        g.its_grid.clear();
        g.hidden_grid = vec![65];
        let fields: Vec<_> = g
            .validate()
            .unwrap_err()
            .problems
            .iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(fields, ["hidden_grid", "its_grid"]);
    }

    #[test]
    fn an_invalid_run_or_study_cannot_be_checked_and_names_its_field() {
        let mut c = xor_preset();
        c.its = 0;
        let e = ValidOrderingConfig::try_from(c).unwrap_err();
        assert_eq!(e.fields(), ["its"]);
        let mut s = default_study(OrderingTask::Xor, StudyKind::Sparsity);
        s.base.lr = 0.0;
        s.schemes.clear();
        let e = ValidOrderingStudyConfig::try_from(s).unwrap_err();
        assert_eq!(e.fields(), ["lr", "schemes"]);
        // deserialising is an edge too: the same check, naming the field
        let mut bad = serde_json::to_value(xor_preset()).unwrap();
        bad["hidden"] = 65.into();
        let e = serde_json::from_value::<ValidOrderingConfig>(bad).unwrap_err();
        assert!(e.to_string().contains("hidden: 65"), "{e}");
        let good = ValidOrderingConfig::try_from(xor_preset()).unwrap();
        let json = serde_json::to_string(&good).unwrap();
        assert_eq!(
            serde_json::from_str::<ValidOrderingConfig>(&json).unwrap(),
            good
        );
    }

    #[test]
    fn study_tasks_by_hand() {
        // 2 schemes x 3 sparsities x 2 runs + 2 baseline runs = 14; seeds base.seed + 0, + 1
        let mut s = default_study(OrderingTask::Sine, StudyKind::Sparsity);
        s.base.seed = 10;
        s.runs = 2;
        s.sparsities = vec![0.1, 0.5, 0.9];
        s.schemes = vec![Scheme::None, Scheme::Random, Scheme::TriuDamp];
        let s = ValidOrderingStudyConfig::try_from(s).unwrap();
        let t = s.tasks();
        assert_eq!(t.len(), 14);
        assert_eq!(t.len(), s.total_runs());
        assert_eq!(
            (t[0].pruning, t[0].seed, t[1].seed),
            (Pruning::None, 10, 11)
        );
        assert_eq!(t[2].pruning, Pruning::Random { p: 0.1 });
        assert_eq!(t[13].pruning, Pruning::TriuDamp { f: 0.9 });
        // grid: 2 x 3 x 2 = 12, unpruned
        let mut g = default_study(OrderingTask::Xor, StudyKind::Grid);
        g.runs = 2;
        g.hidden_grid = vec![1, 3];
        g.its_grid = vec![1, 2, 3];
        let t = ValidOrderingStudyConfig::try_from(g).unwrap().tasks();
        assert_eq!(t.len(), 12);
        assert!(t.iter().all(|c| c.pruning == Pruning::None));
        assert_eq!((t[11].hidden, t[11].its, t[11].seed), (3, 3, 1));
    }

    #[test]
    fn every_task_of_a_checked_study_passes_the_run_check() {
        // the claim `tasks` builds on, at the ends of the ranges: sparsities 0 and 1, the largest grid
        let mut s = default_study(OrderingTask::Sine, StudyKind::Sparsity);
        s.runs = 1;
        s.sparsities = vec![0.0, 1.0];
        let mut g = default_study(OrderingTask::Xor, StudyKind::Grid);
        g.runs = 1;
        g.hidden_grid = vec![1, MAX_HIDDEN];
        g.its_grid = vec![1, MAX_ITS];
        for study in [s, g] {
            for t in ValidOrderingStudyConfig::try_from(study).unwrap().tasks() {
                OrderingConfig::from(t.clone()).validate().unwrap();
            }
        }
    }

    #[test]
    fn scheme_keys_match_serde() {
        for s in Scheme::ALL {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.key()));
        }
    }
}
