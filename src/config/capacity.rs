//! Configurations of the Capacity lab (Song & Ye 2026): sweeps over model sizes of memorisation speed on
//! random labels and generalisation speed on the modular task.

use super::{
    Checker, ConfigError, ConfigParseError, GrokkingConfig, MAX_P, MAX_PARAMS, MAX_WIDTH,
    ModelConfig, Operation, ValidGrokkingConfig, distinct, is_prime,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A sweep: the base run, the widths (model sizes), primes and seeds to cross.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CapacitySweepConfig {
    /// The run every task starts from (its model width, prime and seed are replaced per task; early
    /// stopping is always on). Its model must be the transformer: random-label data has a random token
    /// in all four positions, which only the transformer reads.
    pub base: GrokkingConfig,
    /// Model widths (d_model of the transformer).
    pub widths: Vec<usize>,
    /// Primes (one crossing plot each).
    pub primes: Vec<u32>,
    /// Seeds per (width, prime).
    pub seeds: Vec<u64>,
    /// Training threads (0 = the number of cores).
    #[serde(default)]
    pub threads: usize,
    /// Also measure each model's capacity: train on random-label sets of growing size until the loss
    /// saturates and record the memorised bits.
    #[serde(default)]
    pub capacity: bool,
    /// Random-label set sizes n of the capacity runs. Empty: `capacity_points` sizes log-spaced so that
    /// the set holds from 0.5 to 8 bits per parameter of the model (n log2(p + 2) = k P).
    #[serde(default)]
    pub capacity_sizes: Vec<usize>,
    /// How many sizes the log-spaced generator gives (when `capacity_sizes` is empty).
    #[serde(default = "default_capacity_points")]
    pub capacity_points: usize,
    /// Epoch cap of one capacity run when its loss has not saturated (default: the base's max_epochs).
    #[serde(default)]
    pub capacity_max_epochs: Option<u64>,
    /// Keep the base's weight decay and dropout in capacity runs. Off (the default): capacity runs train
    /// with neither, because both fight memorisation and would measure the regulariser, not how many
    /// bits the architecture can store (memorisation-capacity measurements train unregularised).
    #[serde(default)]
    pub capacity_regularised: bool,
}

fn default_capacity_points() -> usize {
    5
}

/// Most tasks (primes x widths x seeds) a sweep may hold.
pub const MAX_SWEEP_TASKS: usize = 100_000;
/// Largest random-label set of a capacity run.
pub const MAX_CAPACITY_SIZE: usize = 10_000_000;

impl CapacitySweepConfig {
    /// Every problem with this sweep, or `Ok(())`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut c = Checker { problems: vec![] };
        c.nested("base", self.base.validate());
        c.every_epoch_evaluated("T_gen", self.base.eval_every_epochs);
        let heads = match &self.base.model {
            ModelConfig::Transformer(t) => Some(t.heads),
            ModelConfig::Mlp(_) => {
                c.fail(
                    "base.model",
                    "the Capacity lab trains the transformer (kind = \"transformer\"): random-label \
                     inputs fill all four token positions, which the MLP cannot see",
                );
                None
            }
        };
        for (field, len, distinct) in [
            ("widths", self.widths.len(), distinct(&self.widths)),
            ("primes", self.primes.len(), distinct(&self.primes)),
            ("seeds", self.seeds.len(), distinct(&self.seeds)),
        ] {
            if len == 0 {
                c.fail(field, "needs at least one value");
            }
            c.distinct_values(field, distinct);
        }
        for &p in &self.primes {
            if !is_prime(p) || !(3..=MAX_P).contains(&p) {
                c.fail("primes", format!("{p} must be a prime in [3, {MAX_P}]"));
                continue;
            }
            let with_p = GrokkingConfig {
                p,
                ..self.base.clone()
            };
            let (n, n_train) = (with_p.dataset_size(), with_p.train_size());
            if n_train == 0 || n_train >= n {
                c.fail(
                    "primes",
                    format!(
                        "p = {p}: base.train_fraction {} of {n} examples leaves {n_train} to train and {} \
                         to validate; both must be non-empty",
                        self.base.train_fraction,
                        n - n_train.min(n)
                    ),
                );
            }
        }
        for &w in &self.widths {
            if !(2..=MAX_WIDTH).contains(&w) {
                c.fail(
                    "widths",
                    format!("{w} is outside the allowed range [2, {MAX_WIDTH}]"),
                );
            } else if let Some(h) = heads
                && h >= 1
                && (w % h != 0 || (w / h) % 2 != 0)
            {
                c.fail(
                    "widths",
                    format!(
                        "{h} heads must divide width {w} into an even head width (rotary encoding pairs \
                         dimensions)"
                    ),
                );
            }
        }
        if c.problems.is_empty() {
            let largest = self.largest_task();
            let params = largest.model.param_count(largest.p as usize);
            if params > MAX_PARAMS {
                c.fail(
                    "widths",
                    format!(
                        "the largest model has {params} parameters, too large for this app (at most \
                         {MAX_PARAMS})"
                    ),
                );
            }
        }
        let tasks = self.task_count();
        if tasks > MAX_SWEEP_TASKS {
            c.fail(
                "seeds",
                format!("{tasks} tasks (primes x widths x seeds) is more than {MAX_SWEEP_TASKS}"),
            );
        }
        c.int("threads", self.threads as u64, 0, 1024);
        if self.capacity {
            if self.capacity_sizes.is_empty() {
                c.int("capacity_points", self.capacity_points as u64, 1, 100);
            }
            for &n in &self.capacity_sizes {
                c.int("capacity_sizes", n as u64, 1, MAX_CAPACITY_SIZE as u64);
            }
        }
        if let Some(m) = self.capacity_max_epochs {
            c.int("capacity_max_epochs", m, 1, 100_000_000);
        }
        c.finish()
    }

    /// The Grokking run of one task: the base with this prime, width and seed, early stopping on.
    pub fn task_config(&self, p: u32, width: usize, seed: u64) -> GrokkingConfig {
        let mut cfg = self.base.clone();
        cfg.p = p;
        cfg.seed = seed;
        cfg.early_stop = true;
        match &mut cfg.model {
            ModelConfig::Transformer(t) => t.d_model = width,
            // refused by validate; an MLP task keeps its shape
            ModelConfig::Mlp(m) => m.hidden = width,
        }
        cfg
    }

    /// Tasks of the sweep: primes x widths x seeds.
    pub fn task_count(&self) -> usize {
        self.primes
            .len()
            .saturating_mul(self.widths.len())
            .saturating_mul(self.seeds.len())
    }

    /// The config of a task's capacity runs: unregularised unless `capacity_regularised`.
    pub fn capacity_run_config(&self, run: &GrokkingConfig) -> GrokkingConfig {
        let mut c = run.clone();
        if !self.capacity_regularised {
            c.optim.weight_decay = 0.0;
            match &mut c.model {
                ModelConfig::Transformer(t) => t.dropout = 0.0,
                ModelConfig::Mlp(_) => {}
            }
        }
        c
    }

    /// Epoch cap of a capacity run.
    pub fn capacity_epochs(&self) -> u64 {
        self.capacity_max_epochs.unwrap_or(self.base.max_epochs)
    }

    /// The task needing the most memory and parameters: the largest prime at the largest width.
    pub fn largest_task(&self) -> GrokkingConfig {
        self.task_config(self.largest_prime(), self.largest_width(), 0)
    }

    fn largest_prime(&self) -> u32 {
        self.primes.iter().copied().max().unwrap_or(self.base.p)
    }

    fn largest_width(&self) -> usize {
        self.widths.iter().copied().max().unwrap_or(2)
    }

    pub fn to_toml(&self) -> String {
        // Serialising a plain struct of numbers, strings and enums cannot fail.
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// The base run's values the sweep's axes replace, where they say otherwise: each task takes its
    /// prime from `primes`, its seed from `seeds` and its d_model from `widths`, so a `[base]` value
    /// outside them is not used (a researcher's audit: `base.p = 29` beside `primes = [23]` ran p = 23
    /// without a word). One sentence each; none when the base agrees with the axes.
    pub fn overridden(&self) -> Vec<String> {
        let mut out = vec![];
        let mut say = |field: &str, value: String, axis: &str, within: bool| {
            if !within {
                out.push(format!(
                    "{field} = {value} is not used: each task takes its value from `{axis}`"
                ));
            }
        };
        say(
            "base.p",
            self.base.p.to_string(),
            "primes",
            self.primes.contains(&self.base.p),
        );
        say(
            "base.seed",
            self.base.seed.to_string(),
            "seeds",
            self.seeds.contains(&self.base.seed),
        );
        if let ModelConfig::Transformer(t) = &self.base.model {
            say(
                "base.model.d_model",
                t.d_model.to_string(),
                "widths",
                self.widths.contains(&t.d_model),
            );
        }
        out
    }

    /// Parse a TOML sweep into a valid one (the edge for sweep files).
    pub fn from_toml(text: &str) -> Result<ValidCapacitySweepConfig, ConfigParseError> {
        let cfg: CapacitySweepConfig = super::parse::from_toml(text)?;
        Ok(ValidCapacitySweepConfig::try_from(cfg)?)
    }
}

checked_config!(
    /// A sweep that passed [`CapacitySweepConfig::validate`]: the only kind the runner accepts.
    ValidCapacitySweepConfig(CapacitySweepConfig)
);

impl ValidCapacitySweepConfig {
    /// The Grokking run of a task of this sweep (see [`CapacitySweepConfig::task_config`]), valid
    /// without a second check: the base was checked, and so were the prime (with the base's train
    /// split), the width (with the base's heads) and the largest model's size, which bounds every
    /// task's (parameters grow with p and width); the seed has no range and early stopping is a switch.
    pub fn task_run(&self, task: &Task) -> ValidGrokkingConfig {
        ValidGrokkingConfig(self.task_config(task.p, task.width, task.seed))
    }

    /// The config of a task's capacity runs (see [`CapacitySweepConfig::capacity_run_config`]): the
    /// task's run with weight decay and dropout at 0, both inside their ranges.
    pub fn capacity_run(&self, run: &ValidGrokkingConfig) -> ValidGrokkingConfig {
        ValidGrokkingConfig(self.capacity_run_config(run))
    }

    /// The same sweep with another thread count (not part of what the results depend on).
    pub fn with_threads(mut self, threads: usize) -> Result<Self, ConfigError> {
        self.0.threads = threads;
        ValidCapacitySweepConfig::try_from(self.0)
    }
}

/// A named, described sweep.
#[derive(Clone, Debug)]
pub struct SweepPreset {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub config: CapacitySweepConfig,
}

/// A sweep of one prime and one seed over `widths`, in the paper's training recipe as the
/// `paper-transformer-cpu` Grokking preset holds it (AdamW lr 1e-3, betas (0.9, 0.98), weight decay 1,
/// dropout 0.2, batch 512, 2 blocks, 1 head) with this task and epoch cap.
fn one_prime_sweep(
    op: Operation,
    p: u32,
    train_fraction: f64,
    max_epochs: u64,
    widths: &[usize],
) -> CapacitySweepConfig {
    let mut base = super::presets()
        .into_iter()
        .find(|p| p.name == "paper-transformer-cpu")
        .map(|p| p.config)
        // the list above is built into the binary and holds this preset
        .unwrap_or_else(|| unreachable!("the paper-transformer-cpu preset is built in"));
    base.op = op;
    base.p = p;
    base.train_fraction = train_fraction;
    base.max_epochs = max_epochs;
    CapacitySweepConfig {
        base,
        widths: widths.to_vec(),
        primes: vec![p],
        seeds: vec![0],
        threads: 0,
        capacity: false,
        capacity_sizes: vec![],
        capacity_points: default_capacity_points(),
        capacity_max_epochs: None,
        capacity_regularised: false,
    }
}

/// The built-in sweeps; `grokscope sweep --preset NAME` runs one.
pub fn sweep_presets() -> Vec<SweepPreset> {
    vec![
        SweepPreset {
            name: "tiny",
            title: "Tiny sweep (under 10 seconds)",
            description: "Widths 8 and 32, one seed, a + b mod 23 with 80 % train, at most 1000 epochs: checks \
                          the machinery end to end in about 7 seconds on one core, 4 on two. Measured: d = 8 learns \
                          nothing; d = 32 memorises random labels by epoch 183 and the task, but does not \
                          generalise within 1000 epochs.",
            config: one_prime_sweep(Operation::Add, 23, 0.8, 1000, &[8, 32]),
        },
        SweepPreset {
            name: "cpu",
            title: "CPU crossing (under 2 minutes on one core)",
            description: "a + b mod 31, 80 % train, widths 8..48, one seed, at most 3000 epochs. Measured \
                          (seed 0, assets/sweeps/cpu): d = 8 learns nothing (underfitting); d = 12 \
                          generalises at epoch 1742 with delay 0 (immediate generalisation); from d = 16 on \
                          the delay is positive (grokking). Random labels are memorised from d = 20 on \
                          (T_mem 809, 488, 318, 240, 108 at d = 20..48) while T_gen stays near 450-1200, so \
                          T_mem crosses T_gen between d = 20 and 28: P* = 20636 parameters (near d = 24, \
                          P = 20136), observed onset 9328 (d = 16). About 76 s on one core, 39 on two.",
            config: one_prime_sweep(
                Operation::Add,
                31,
                0.8,
                3000,
                &[8, 12, 16, 20, 24, 28, 32, 48],
            ),
        },
        SweepPreset {
            name: "capacity-cpu",
            title: "Capacity C on one core (about a minute)",
            description: "Measures C for our transformer: a + b mod 23, widths 4, 6, 8 (P = 732, 1482, 2488), \
                          one seed; each size trains unregularised on 5 random-label sets from 0.5 to 8 bits \
                          per parameter, at lr 3e-3 (so the runs near saturation) for at most 1500 epochs. \
                          Measured: at most 841, 2311 and 4070 memorised bits, C ≈ 1.83 bits per parameter \
                          (R² 0.999; the paper's transformer: 2.16). The best runs of d = 6 and 8 were still \
                          improving at the cap and d = 4's is at its largest n, so each size's bits are lower \
                          bounds, and C is uncertain either way (more bits at d = 4 would lower the slope). \
                          8, 20 and 30 s a task, 30 s in all on two cores.",
            config: capacity_cpu_sweep(),
        },
    ]
}

/// The `capacity-cpu` sweep: capacity runs on, tuned so they approach saturation on one core (see its
/// description for what it measured).
fn capacity_cpu_sweep() -> CapacitySweepConfig {
    let mut c = one_prime_sweep(Operation::Add, 23, 0.8, 1000, &[4, 6, 8]);
    c.base.optim.lr = 3e-3;
    c.capacity = true;
    c.capacity_max_epochs = Some(1500);
    c
}

/// Look a sweep preset up by name.
pub fn sweep_preset(name: &str) -> Option<SweepPreset> {
    sweep_presets().into_iter().find(|p| p.name == name)
}

/// One point of the sweep: a prime, a model width and a seed.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Task {
    pub p: u32,
    pub width: usize,
    pub seed: u64,
}

impl Task {
    /// The task's name, which is also its result file's stem: `task-p23-w16-s0`.
    pub fn name(&self) -> String {
        format!("task-p{}-w{}-s{}", self.p, self.width, self.seed)
    }

    /// Its result file's name: `task-p23-w16-s0.json`.
    pub fn file_name(&self) -> String {
        format!("{}.json", self.name())
    }

    /// The task whose result file `name` is (`task-p23-w16-s0.json`); `None` for any other name, a
    /// phase study's `task-wd0-tf1-s0.json` among them.
    pub fn of_file_name(name: &str) -> Option<Task> {
        let rest = name.strip_prefix("task-p")?.strip_suffix(".json")?;
        let (p, rest) = rest.split_once("-w")?;
        let (width, seed) = rest.split_once("-s")?;
        let whole = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !(whole(p) && whole(width) && whole(seed)) {
            return None;
        }
        let task = Task {
            p: p.parse().ok()?,
            width: width.parse().ok()?,
            seed: seed.parse().ok()?,
        };
        // the name written back is this one (no leading zeros)
        (task.file_name() == name).then_some(task)
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p = {}, width {}, seed {}",
            self.p, self.width, self.seed
        )
    }
}

/// The sweep's tasks in a fixed order: primes, then widths, then seeds (the seed varies fastest).
pub fn tasks(cfg: &CapacitySweepConfig) -> Vec<Task> {
    let mut out = Vec::with_capacity(cfg.task_count());
    for &p in &cfg.primes {
        for &width in &cfg.widths {
            for &seed in &cfg.seeds {
                out.push(Task { p, width, seed });
            }
        }
    }
    out
}

/// Shard `index` of `count`: task k goes to shard k mod count, so every task lands in exactly one shard
/// and the shards' sizes differ by at most one. A `count` of 0 is treated as 1.
pub fn shard<T: Copy>(tasks: &[T], index: usize, count: usize) -> Vec<T> {
    let count = count.max(1);
    tasks
        .iter()
        .enumerate()
        .filter(|(k, _)| k % count == index)
        .map(|(_, &t)| t)
        .collect()
}

/// A tiny sweep of 2 widths x 2 primes x 3 seeds, for unit tests.
#[cfg(test)]
pub(crate) fn tiny_sweep() -> CapacitySweepConfig {
    let mut c = sweep_preset("tiny").expect("the tiny preset exists").config;
    c.widths = vec![4, 8];
    c.primes = vec![5, 7];
    c.seeds = vec![0, 1, 2];
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_validate_and_round_trip_through_toml() {
        for p in sweep_presets() {
            p.config.validate().unwrap();
            let back = CapacitySweepConfig::from_toml(&p.config.to_toml()).unwrap();
            assert_eq!(*back, p.config, "{}", p.name);
        }
        assert!(sweep_preset("tiny").is_some());
        assert!(sweep_preset("nope").is_none());
    }

    /// A `[base]` value the axes replace is named (p = 29 beside primes = [23]); the tiny preset,
    /// whose base takes its values from its axes, gives none. Expected by hand from the preset.
    #[test]
    fn base_values_the_axes_replace_are_named() {
        let tiny = sweep_preset("tiny").unwrap().config;
        assert_eq!(tiny.overridden(), Vec::<String>::new());
        let mut c = tiny.clone();
        c.base.p = 29;
        c.base.seed = 7;
        let notes = c.overridden();
        assert_eq!(
            notes,
            [
                "base.p = 29 is not used: each task takes its value from `primes`",
                "base.seed = 7 is not used: each task takes its value from `seeds`",
            ]
        );
        let mut c = tiny;
        c.widths = vec![4, 6];
        assert_eq!(
            c.overridden(),
            ["base.model.d_model = 32 is not used: each task takes its value from `widths`"]
        );
    }

    fn fields(cfg: &CapacitySweepConfig) -> Vec<&'static str> {
        cfg.validate().unwrap_err().fields()
    }

    #[test]
    fn bad_sweeps_name_their_fields() {
        let good = sweep_preset("tiny").unwrap().config;
        let mut c = good.clone();
        c.widths = vec![];
        c.primes = vec![9, 11, 11];
        c.seeds = vec![1, 1];
        let f = fields(&c);
        for want in ["widths", "primes", "seeds"] {
            assert!(f.contains(&want), "{f:?}");
        }
        // width 6 with 2 heads gives head width 3, odd: rotary needs pairs
        let mut c = good.clone();
        if let ModelConfig::Transformer(t) = &mut c.base.model {
            t.heads = 2;
        }
        c.widths = vec![8, 6];
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("widths") && e.contains("width 6"), "{e}");
        // the MLP cannot read random-label sequences
        let mut c = good.clone();
        c.base = crate::config::preset("fast-mlp").unwrap().config;
        assert!(fields(&c).contains(&"base.model"));
        // a base problem is named with its field inside the base
        let mut c = good.clone();
        c.base.optim.lr = -1.0;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("base: optim.lr"), "{e}");
        // capacity sizes in range; p = 3 with 10 % train leaves floor(0.1 * 9) = 0 to train
        let mut c = good.clone();
        c.capacity = true;
        c.capacity_sizes = vec![0];
        c.capacity_max_epochs = Some(0);
        let f = fields(&c);
        assert!(f.contains(&"capacity_sizes") && f.contains(&"capacity_max_epochs"));
        // T_gen is the first epoch at 99 % validation: a coarser evaluation would round it up
        let mut c = good.clone();
        c.base.eval_every_epochs = 7;
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("base.eval_every_epochs: 7: a study times T_gen by the first epoch"),
            "{e}"
        );
        let mut c = good;
        c.base.train_fraction = 0.1;
        c.primes = vec![3];
        assert!(fields(&c).contains(&"primes"));
    }

    #[test]
    fn an_invalid_sweep_cannot_be_checked_and_names_its_field() {
        let mut c = tiny_sweep();
        c.widths = vec![8, 1];
        let e = ValidCapacitySweepConfig::try_from(c).unwrap_err();
        assert_eq!(e.fields(), ["widths"]);
        let e = ValidCapacitySweepConfig::try_from(tiny_sweep())
            .unwrap()
            .with_threads(5000)
            .unwrap_err();
        assert_eq!(e.fields(), ["threads"]);
    }

    #[test]
    fn every_run_of_a_checked_sweep_passes_the_run_check() {
        // the claim `task_run` and `capacity_run` build on, for every task of every preset and of a
        // sweep at its edges (the smallest width, a prime that leaves one example to validate)
        let mut edge = tiny_sweep();
        edge.widths = vec![2, 8];
        edge.primes = vec![3, 5];
        edge.base.train_fraction = 0.85; // floor(0.85 * 9) = 7 of 9, floor(0.85 * 25) = 21 of 25
        let mut sweeps: Vec<_> = sweep_presets().into_iter().map(|p| p.config).collect();
        sweeps.push(edge);
        for s in sweeps {
            let s = ValidCapacitySweepConfig::try_from(s).unwrap();
            for t in tasks(&s) {
                let run = s.task_run(&t);
                GrokkingConfig::from(run.clone()).validate().unwrap();
                GrokkingConfig::from(s.capacity_run(&run))
                    .validate()
                    .unwrap();
            }
        }
    }

    #[test]
    fn capacity_runs_drop_weight_decay_and_dropout_unless_asked() {
        // the tiny preset trains with the paper's weight decay 1 and dropout 0.2
        let mut s = sweep_preset("tiny").unwrap().config;
        let run = s.task_config(23, 8, 0);
        let drop = |c: &GrokkingConfig| match &c.model {
            ModelConfig::Transformer(t) => t.dropout,
            ModelConfig::Mlp(_) => panic!("the preset is a transformer"),
        };
        assert_eq!((run.optim.weight_decay, drop(&run)), (1.0, 0.2));
        let cap = s.capacity_run_config(&run);
        assert_eq!((cap.optim.weight_decay, drop(&cap)), (0.0, 0.0));
        assert_eq!(cap.optim.lr, run.optim.lr, "only the regularisers change");
        s.capacity_regularised = true;
        assert_eq!(s.capacity_run_config(&run), run);
    }

    #[test]
    fn task_config_replaces_prime_width_seed() {
        let mut s = sweep_preset("tiny").unwrap().config;
        s.base.early_stop = false;
        let t = s.task_config(13, 24, 7);
        assert_eq!((t.p, t.seed, t.early_stop), (13, 7, true));
        match t.model {
            ModelConfig::Transformer(m) => assert_eq!(m.d_model, 24),
            ModelConfig::Mlp(_) => panic!("the preset is a transformer"),
        }
        assert_eq!(s.task_count(), 2);
        assert_eq!(s.capacity_epochs(), s.base.max_epochs);
    }
}
