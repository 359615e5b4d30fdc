//! The Grokking lab's phase diagram ("when does grokking happen", spec section 4): a grid over weight
//! decay x train fraction (optionally x model width), several seeds a cell, every run of the base config
//! classified by its events.

use super::{
    Checker, ConfigError, ConfigParseError, GrokkingConfig, MAX_WIDTH, ModelConfig,
    ValidGrokkingConfig, distinct, distinct_by,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A phase study: the base run, the axes, the seeds and the epoch cap.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PhaseStudyConfig {
    /// The run every task starts from; its weight decay, train fraction, width, seed and epoch cap are
    /// replaced per task (early stopping stays as the base has it).
    pub base: GrokkingConfig,
    /// Weight decay values (the diagram's x axis), in the order drawn.
    pub weight_decays: Vec<f64>,
    /// Train fractions (the diagram's y axis), in the order drawn.
    pub train_fractions: Vec<f64>,
    /// Model widths (the MLP's hidden width, the transformer's d_model); empty: the base's alone.
    #[serde(default)]
    pub widths: Vec<usize>,
    /// Seeds of every cell.
    pub seeds: Vec<u64>,
    /// Epoch cap of every run: a run that has not generalised by then counts as never generalising.
    pub max_epochs: u64,
    /// Training threads (0 = the number of cores); not part of what the results depend on.
    #[serde(default)]
    pub threads: usize,
}

/// Most tasks (weight decays x train fractions x widths x seeds) a study may hold.
pub const MAX_PHASE_TASKS: usize = 100_000;
/// Most values on one axis.
pub const MAX_AXIS_VALUES: usize = 64;
/// Largest epoch cap of a phase study.
pub const MAX_PHASE_EPOCHS: u64 = 10_000_000;

impl PhaseStudyConfig {
    /// Every problem with this study, each naming its field and the allowed range, or `Ok(())`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut c = Checker { problems: vec![] };
        c.nested("base", self.base.validate());
        c.every_epoch_evaluated("the grokking delay", self.base.eval_every_epochs);
        let wd_distinct = distinct_by(&self.weight_decays, f64::total_cmp);
        let tf_distinct = distinct_by(&self.train_fractions, f64::total_cmp);
        for (field, len, min, ok) in [
            ("weight_decays", self.weight_decays.len(), 1, wd_distinct),
            (
                "train_fractions",
                self.train_fractions.len(),
                1,
                tf_distinct,
            ),
            ("widths", self.widths.len(), 0, distinct(&self.widths)),
            ("seeds", self.seeds.len(), 1, distinct(&self.seeds)),
        ] {
            if len < min || len > MAX_AXIS_VALUES {
                c.fail(
                    field,
                    format!("{len} values; the allowed number is [{min}, {MAX_AXIS_VALUES}]"),
                );
            }
            c.distinct_values(field, ok);
        }
        for &wd in &self.weight_decays {
            c.real("weight_decays", wd, 0.0, 100.0, false, false);
        }
        for &f in &self.train_fractions {
            c.real("train_fractions", f, 0.0, 1.0, true, true);
            if f.is_finite() && f > 0.0 && f < 1.0 && self.base.validate().is_ok() {
                let with = GrokkingConfig {
                    train_fraction: f,
                    ..self.base.clone()
                };
                let (n, n_train) = (with.dataset_size(), with.train_size());
                if n_train == 0 || n_train >= n {
                    c.fail(
                        "train_fractions",
                        format!(
                            "{f} of {n} examples leaves {n_train} to train and {} to validate; both must \
                             be non-empty",
                            n - n_train.min(n)
                        ),
                    );
                }
            }
        }
        for &w in &self.widths {
            let lo = match self.base.model {
                ModelConfig::Mlp(_) => 1,
                ModelConfig::Transformer(_) => 2,
            };
            c.int("widths", w as u64, lo, MAX_WIDTH as u64);
        }
        c.int("max_epochs", self.max_epochs, 1, MAX_PHASE_EPOCHS);
        c.int("threads", self.threads as u64, 0, 1024);
        if c.problems.is_empty() {
            // each axis value is in range; the combinations must make valid runs too (a width the
            // transformer's heads cannot split, a model too large)
            for &w in &self.widths {
                let run = self.task_config(&self.task(0, 0, Some(w), self.seeds[0]));
                if let Err(e) = run.validate() {
                    for p in e.problems {
                        c.fail("widths", format!("width {w}: {}: {}", p.field, p.message));
                    }
                }
            }
        }
        let tasks = self.task_count();
        if tasks > MAX_PHASE_TASKS {
            c.fail(
                "seeds",
                format!(
                    "{tasks} tasks (weight decays x train fractions x widths x seeds) is more than \
                     {MAX_PHASE_TASKS}"
                ),
            );
        }
        c.finish()
    }

    /// The widths axis: the config's, or `[None]` (the base's width) when it has none.
    pub fn width_axis(&self) -> Vec<Option<usize>> {
        if self.widths.is_empty() {
            vec![None]
        } else {
            self.widths.iter().map(|&w| Some(w)).collect()
        }
    }

    /// Tasks of the study: weight decays x train fractions x widths x seeds.
    pub fn task_count(&self) -> usize {
        self.weight_decays
            .len()
            .saturating_mul(self.train_fractions.len())
            .saturating_mul(self.widths.len().max(1))
            .saturating_mul(self.seeds.len())
    }

    fn task(&self, wd: usize, tf: usize, width: Option<usize>, seed: u64) -> PhaseTask {
        PhaseTask {
            wd_index: wd,
            tf_index: tf,
            width_index: width.and_then(|w| self.widths.iter().position(|&x| x == w)),
            seed,
        }
    }

    /// The Grokking run of a task: the base with the task's weight decay, train fraction, width and
    /// seed, and the study's epoch cap. Indices outside the axes keep the base's value.
    pub fn task_config(&self, t: &PhaseTask) -> GrokkingConfig {
        let mut cfg = self.base.clone();
        if let Some(&wd) = self.weight_decays.get(t.wd_index) {
            cfg.optim.weight_decay = wd;
        }
        if let Some(&f) = self.train_fractions.get(t.tf_index) {
            cfg.train_fraction = f;
        }
        if let Some(&w) = t.width_index.and_then(|i| self.widths.get(i)) {
            match &mut cfg.model {
                ModelConfig::Mlp(m) => m.hidden = w,
                ModelConfig::Transformer(tr) => tr.d_model = w,
            }
        }
        cfg.seed = t.seed;
        cfg.max_epochs = self.max_epochs;
        cfg
    }

    /// The model width of the base (the MLP's hidden width, the transformer's d_model).
    pub fn base_width(&self) -> usize {
        match &self.base.model {
            ModelConfig::Mlp(m) => m.hidden,
            ModelConfig::Transformer(t) => t.d_model,
        }
    }

    pub fn to_toml(&self) -> String {
        // Serialising a plain struct of numbers, strings and enums cannot fail.
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Parse and validate a TOML phase study (the edge for study files).
    pub fn from_toml(text: &str) -> Result<ValidPhaseStudyConfig, ConfigParseError> {
        let cfg: PhaseStudyConfig = super::parse::from_toml(text)?;
        Ok(ValidPhaseStudyConfig::try_from(cfg)?)
    }
}

checked_config!(
    /// A phase study that passed [`PhaseStudyConfig::validate`]: the only kind the runner accepts.
    ValidPhaseStudyConfig(PhaseStudyConfig)
);

impl ValidPhaseStudyConfig {
    /// A task's run config, valid because every axis value was checked with the base.
    pub fn valid_task_config(&self, t: &PhaseTask) -> Result<ValidGrokkingConfig, ConfigError> {
        ValidGrokkingConfig::try_from(self.task_config(t))
    }

    /// The same study with another thread count (not part of what the results depend on).
    pub fn with_threads(mut self, threads: usize) -> Result<Self, ConfigError> {
        self.0.threads = threads;
        ValidPhaseStudyConfig::try_from(self.0)
    }
}

/// One run of the study: a cell (weight decay, train fraction and width, as indices into the axes) and
/// a seed.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhaseTask {
    pub wd_index: usize,
    pub tf_index: usize,
    /// `None` when the study has no widths axis.
    pub width_index: Option<usize>,
    pub seed: u64,
}

impl PhaseTask {
    /// The task's name, also its result file's stem: `task-wd2-tf0-s1` (`-w3` before the seed with a
    /// widths axis).
    pub fn name(&self) -> String {
        let w = self
            .width_index
            .map(|i| format!("-w{i}"))
            .unwrap_or_default();
        format!(
            "task-wd{}-tf{}{w}-s{}",
            self.wd_index, self.tf_index, self.seed
        )
    }

    /// Its result file's name.
    pub fn file_name(&self) -> String {
        format!("{}.json", self.name())
    }

    /// The task whose result file `name` is (`task-wd2-tf0-s1.json`, `task-wd2-tf0-w3-s1.json`);
    /// `None` for any other name, a Capacity sweep's `task-p23-w16-s0.json` among them.
    pub fn of_file_name(name: &str) -> Option<PhaseTask> {
        let rest = name.strip_prefix("task-wd")?.strip_suffix(".json")?;
        let (wd, rest) = rest.split_once("-tf")?;
        let (tf, rest) = rest.split_once('-')?;
        let (width, seed) = match rest.strip_prefix('w') {
            Some(r) => {
                let (w, s) = r.split_once("-s")?;
                (Some(w), s)
            }
            None => (None, rest.strip_prefix('s')?),
        };
        let whole = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        let num = |t: &str| -> Option<usize> { whole(t).then(|| t.parse().ok()).flatten() };
        let task = PhaseTask {
            wd_index: num(wd)?,
            tf_index: num(tf)?,
            width_index: match width {
                Some(w) => Some(num(w)?),
                None => None,
            },
            seed: whole(seed).then(|| seed.parse().ok()).flatten()?,
        };
        (task.file_name() == name).then_some(task)
    }

    /// The cell it belongs to.
    pub fn cell(&self) -> PhaseCell {
        PhaseCell {
            wd_index: self.wd_index,
            tf_index: self.tf_index,
            width_index: self.width_index,
        }
    }
}

impl fmt::Display for PhaseTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// A cell of the diagram: indices into the axes.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhaseCell {
    pub wd_index: usize,
    pub tf_index: usize,
    pub width_index: Option<usize>,
}

/// The study's tasks in a fixed order: widths, then train fractions, then weight decays, then seeds (the
/// seed varies fastest, so a cell's seeds run side by side and cells fill in one after another).
pub fn phase_tasks(cfg: &PhaseStudyConfig) -> Vec<PhaseTask> {
    let mut out = Vec::with_capacity(cfg.task_count());
    let widths: Vec<Option<usize>> = if cfg.widths.is_empty() {
        vec![None]
    } else {
        (0..cfg.widths.len()).map(Some).collect()
    };
    for &width_index in &widths {
        for tf_index in 0..cfg.train_fractions.len() {
            for wd_index in 0..cfg.weight_decays.len() {
                for &seed in &cfg.seeds {
                    out.push(PhaseTask {
                        wd_index,
                        tf_index,
                        width_index,
                        seed,
                    });
                }
            }
        }
    }
    out
}

/// A named, described phase study.
#[derive(Clone, Debug)]
pub struct PhasePreset {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub config: PhaseStudyConfig,
}

/// The fast MLP preset with another task size.
fn fast_mlp(p: u32) -> GrokkingConfig {
    let mut base = super::presets()
        .into_iter()
        .find(|p| p.name == "fast-mlp")
        .map(|p| p.config)
        // the list is built into the binary and holds this preset
        .unwrap_or_else(|| unreachable!("the fast-mlp preset is built in"));
    base.p = p;
    base
}

/// The built-in phase studies; `grokscope phase --preset NAME` runs one (`tiny` for `phase-tiny`).
pub fn phase_presets() -> Vec<PhasePreset> {
    vec![
        PhasePreset {
            name: "phase-tiny",
            title: "Tiny phase diagram (under a second)",
            description: "The fast MLP on a / b mod 23, weight decay 0.1 and 3 x train fraction 0.3 and 0.7, \
                          one seed, at most 300 epochs: 4 runs, for a first look and for tests. Measured: \
                          0.2 s on two cores (release build), 1.5 s in a debug build.",
            config: PhaseStudyConfig {
                base: fast_mlp(23),
                weight_decays: vec![0.1, 3.0],
                train_fractions: vec![0.3, 0.7],
                widths: vec![],
                seeds: vec![0],
                max_epochs: 300,
                threads: 0,
            },
        },
        PhasePreset {
            name: "phase-default",
            title: "Phase diagram, 6 x 6, 2 seeds (72 runs, a minute or two)",
            description: "The fast MLP on a / b mod 59: weight decay 0 to 10 x train fraction 0.2 to 0.8, 2 seeds \
                          a cell, at most 1000 epochs. Measured on 2 cores (release build): 45 s to its \
                          end with `grokscope phase --preset default` (about 1.2 s a run that reaches the \
                          cap); in the window, drawing as it goes, 57 of the 72 runs in 72 s. It shows all three regions: memorisation only with little weight decay \
                          or data, grokking with a delay that falls as either grows, no learning at \
                          weight decay 10.",
            config: PhaseStudyConfig {
                base: fast_mlp(59),
                weight_decays: vec![0.0, 0.1, 0.3, 1.0, 3.0, 10.0],
                train_fractions: vec![0.2, 0.3, 0.4, 0.5, 0.6, 0.8],
                widths: vec![],
                seeds: vec![0, 1],
                max_epochs: 1000,
                threads: 0,
            },
        },
    ]
}

/// Look a phase preset up by name; `tiny` and `default` name `phase-tiny` and `phase-default`.
pub fn phase_preset(name: &str) -> Option<PhasePreset> {
    phase_presets()
        .into_iter()
        .find(|p| p.name == name || p.name.strip_prefix("phase-") == Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A result file's name gives back its task, for a study's names alone: a Capacity sweep's
    /// `task-p23-w16-s0.json` is none (its files in a phase study folder, or these in a sweep's, were
    /// taken for the other's: a helper's audit). Expected: the names `file_name` writes.
    #[test]
    fn a_task_is_read_back_from_its_file_name_and_a_sweeps_is_not() {
        for t in [
            PhaseTask {
                wd_index: 2,
                tf_index: 0,
                width_index: None,
                seed: 1,
            },
            PhaseTask {
                wd_index: 10,
                tf_index: 3,
                width_index: Some(4),
                seed: u64::MAX,
            },
        ] {
            assert_eq!(PhaseTask::of_file_name(&t.file_name()), Some(t));
        }
        for other in [
            "task-p23-w16-s0.json",
            "task-wd1-tf0-s0.toml",
            "task-wd01-tf0-s0.json",
            "task-wd1-tf0-s.json",
            "task-wd1-tf0-wx-s0.json",
            "task-wd-1-tf0-s0.json",
            "cells.json",
        ] {
            assert_eq!(PhaseTask::of_file_name(other), None, "{other}");
        }
        let sweep = crate::config::capacity::Task {
            p: 23,
            width: 16,
            seed: 0,
        };
        assert_eq!(
            crate::config::capacity::Task::of_file_name(&sweep.file_name()),
            Some(sweep)
        );
        for other in [
            "task-wd2-tf0-s1.json",
            "task-p23-w16-s0.json.partial",
            "task-p+3-w1-s0.json",
        ] {
            assert_eq!(
                crate::config::capacity::Task::of_file_name(other),
                None,
                "{other}"
            );
        }
    }

    #[test]
    fn presets_validate_and_round_trip_through_toml() {
        for p in phase_presets() {
            p.config.validate().unwrap();
            let back =
                PhaseStudyConfig::from(PhaseStudyConfig::from_toml(&p.config.to_toml()).unwrap());
            assert_eq!(back, p.config, "{}", p.name);
        }
        assert_eq!(phase_preset("tiny").unwrap().name, "phase-tiny");
        assert_eq!(phase_preset("phase-default").unwrap().name, "phase-default");
        // the default grid: 6 x 6 cells, 2 seeds, the fast MLP
        let d = phase_preset("default").unwrap().config;
        assert_eq!(
            (
                d.weight_decays.len(),
                d.train_fractions.len(),
                d.seeds.len()
            ),
            (6, 6, 2)
        );
        assert!(matches!(d.base.model, ModelConfig::Mlp(_)));
        assert!(phase_preset("nope").is_none());
    }

    fn fields(cfg: &PhaseStudyConfig) -> Vec<&'static str> {
        cfg.validate().unwrap_err().fields()
    }

    #[test]
    fn bad_values_are_refused_naming_field_and_range() {
        let good = phase_preset("tiny").unwrap().config;
        let mut every = good.clone();
        every.base.eval_every_epochs = 10;
        assert_eq!(fields(&every), ["base.eval_every_epochs"]);
        let mut c = good.clone();
        c.weight_decays = vec![-1.0, f64::NAN];
        c.train_fractions = vec![1.0];
        c.seeds = vec![];
        c.max_epochs = 0;
        c.threads = 5000;
        let f = fields(&c);
        for want in [
            "weight_decays",
            "train_fractions",
            "seeds",
            "max_epochs",
            "threads",
        ] {
            assert!(f.contains(&want), "{want} in {f:?}");
        }
        let text = c.validate().unwrap_err().to_string();
        assert!(
            text.contains("weight_decays: -1 is outside the allowed range [0, 100]"),
            "{text}"
        );
        assert!(
            text.contains("train_fractions: 1 is outside the allowed range (0, 1)"),
            "{text}"
        );
        assert!(
            text.contains("max_epochs: 0 is outside the allowed range [1, 10000000]"),
            "{text}"
        );
        // a train fraction that leaves no example to train: a / b mod 23 has 23 * 22 = 506 examples,
        // floor(0.001 * 506) = 0
        let mut c = good.clone();
        c.train_fractions = vec![0.001];
        assert!(fields(&c).contains(&"train_fractions"));
        // duplicates, a width out of range, a base problem named inside the base
        let mut c = good.clone();
        c.weight_decays = vec![1.0, 1.0];
        c.widths = vec![0];
        c.base.optim.lr = -1.0;
        let text = c.validate().unwrap_err().to_string();
        assert!(
            text.contains("weight_decays: a value appears twice"),
            "{text}"
        );
        assert!(text.contains("widths: 0 is outside"), "{text}");
        assert!(text.contains("base: optim.lr"), "{text}");
        // TOML: an unknown field and a bad value are both refused at the edge
        let toml = good.to_toml().replace("max_epochs = 300", "max_epochs = 0");
        let e = PhaseStudyConfig::from_toml(&toml).unwrap_err().to_string();
        assert!(e.contains("max_epochs"), "{e}");
        let toml = format!("colour = 1\n{}", good.to_toml());
        let e = PhaseStudyConfig::from_toml(&toml).unwrap_err().to_string();
        assert!(e.contains("colour"), "{e}");
    }

    #[test]
    fn tasks_cover_the_grid_seed_fastest_and_replace_the_axes() {
        let mut c = phase_preset("tiny").unwrap().config;
        c.seeds = vec![4, 9];
        // 2 weight decays x 2 fractions x 2 seeds = 8, seed fastest, then weight decay
        let t = phase_tasks(&c);
        assert_eq!(t.len(), 8);
        assert_eq!(c.task_count(), 8);
        assert_eq!((t[1].wd_index, t[1].tf_index, t[1].seed), (0, 0, 9));
        assert_eq!((t[2].wd_index, t[2].tf_index, t[2].seed), (1, 0, 4));
        assert_eq!((t[4].wd_index, t[4].tf_index), (0, 1));
        assert_eq!(t[5].name(), "task-wd0-tf1-s9");
        let run = c.task_config(&t[7]);
        assert_eq!(
            (
                run.optim.weight_decay,
                run.train_fraction,
                run.seed,
                run.max_epochs
            ),
            (3.0, 0.7, 9, 300)
        );
        c.widths = vec![16, 64];
        let t = phase_tasks(&c);
        assert_eq!(t.len(), 16);
        assert_eq!(t[15].name(), "task-wd1-tf1-w1-s9");
        match c.task_config(&t[15]).model {
            ModelConfig::Mlp(m) => assert_eq!(m.hidden, 64),
            ModelConfig::Transformer(_) => panic!("the preset is an MLP"),
        }
    }
}
