//! A Capacity sweep's folder: `sweep.toml` (the config), one `task-p{p}-w{w}-s{seed}.json` per finished
//! task (each written atomically), and what `merge` writes from them (`sweep.csv`, `capacity.csv`).
//! A task whose file parses, names the task and carries the config's key is done; a missing,
//! half-written, corrupt or stale one is not.

use super::files::{Partial, write_atomic};
use crate::analysis::capacity_study::TaskResult;
use crate::config::capacity::{Task, tasks};
use crate::config::{CapacitySweepConfig, GrokkingConfig};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Why a sweep folder could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SweepDirError {
    /// The path is not a folder.
    #[error("{}", crate::store::files::not_a_folder(.0))]
    NotAFolder(PathBuf),
    /// Reading or writing a file failed.
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        /// (in the message, not a `source`: `{:#}` would print it twice)
        error: std::io::Error,
    },
    /// A result could not be written as JSON.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A CSV table could not be written.
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    /// A CSV table was not UTF-8 (cannot happen for tables written from strings).
    #[error("CSV text: {0}")]
    Utf8(#[from] std::string::FromUtf8Error),
    /// A copy was refused before anything was written, and why.
    #[error("{0}")]
    Refused(String),
}

/// Make `dir` (and the folders above it) and write `cfg` as its `sweep.toml` unless it has one: how
/// `grokscope sweep --out` and a sweep started in the window begin a sweep folder. A `sweep.toml`
/// already there is this sweep's (the caller has checked: `sweep` refuses another config's) and stays
/// as it is, so shards started together do not all rewrite it.
pub fn begin_folder(dir: &Path, cfg: &CapacitySweepConfig) -> Result<(), SweepDirError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| SweepDirError::Io { path, error }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(CONFIG_FILE);
    if !path.exists() {
        write_atomic(&path, cfg.to_toml().as_bytes()).map_err(io(&path))?;
    }
    Ok(())
}

/// Whether `name` is one of a sweep folder's own files: its config, a task's result, or what
/// `merge` wrote.
pub fn is_sweep_file(name: &str) -> bool {
    name == CONFIG_FILE
        || name == CSV_FILE
        || name == CAPACITY_CSV_FILE
        || Task::of_file_name(name).is_some()
}

/// What `dir` is when it is a folder of another kind than a sweep (a phase study, an Ordering study,
/// a Grokking run), with where grokscope opens it; `None` otherwise. Tells a reader of sweep folders
/// to say so rather than call its files missing or corrupt (as `grokscope analyse` does).
pub fn other_kind(dir: &Path) -> Option<&'static str> {
    let has = |name: &str| dir.join(name).exists();
    let phase_task = std::fs::read_dir(dir).is_ok_and(|mut it| {
        it.any(|e| {
            e.ok().is_some_and(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| crate::config::phase::PhaseTask::of_file_name(n).is_some())
            })
        })
    });
    if has(super::phase::CONFIG_FILE) || phase_task {
        Some("a phase study folder (open it in the Grokking tab)")
    } else if has(super::study_dir::STUDY_CSV) {
        Some("an Ordering study folder, not a sweep (`grokscope export` draws its figures)")
    } else if super::run_dir::looks_like_run(dir) {
        Some("a Grokking run folder (open it in the Grokking tab)")
    } else {
        None
    }
}

/// A new folder under `root` for a sweep the window starts, named for when and what:
/// `sweep-2026-12-07_15-32-26-tiny` (UTC; `-2`, `-3`, … when taken). Only names it: the worker makes
/// it as the sweep starts.
pub fn new_folder_name(root: &Path, unix_secs: u64, what: &str) -> PathBuf {
    let base = format!(
        "sweep-{}-{}",
        super::files::utc_stamp(unix_secs),
        super::files::safe_file_part(what, "sweep")
    );
    super::files::first_free(root.join(&base), |k| root.join(format!("{base}-{k}")))
}

/// Write a sweep's config and results into `to`, a new or empty folder, as `grokscope sweep --out`
/// would have (Save sweep as… of a sweep trained in the window). Results of tasks not in `cfg`'s grid
/// (kept beside it from the sweep shown before) are left out, as a reader of the folder would leave
/// them. Returns the number of task files written.
pub fn write_folder(
    to: &Path,
    cfg: &CapacitySweepConfig,
    results: &[TaskResult],
) -> Result<usize, SweepDirError> {
    refuse_unless_new(to, None)?;
    begin_folder(to, cfg)?;
    let grid = tasks(cfg);
    let mut written = 0;
    for r in results.iter().filter(|r| grid.contains(&r.task())) {
        write_result(to, r)?;
        written += 1;
    }
    Ok(written)
}

/// Refuse `to` as the target of a copy or save unless it is new or an empty folder (and, with `from`,
/// not `from` itself or inside it, as the paths resolve): the run folders' own checks
/// ([`super::run_dir::inside`], [`super::run_dir::refuse_unless_empty`]).
fn refuse_unless_new(to: &Path, from: Option<&Path>) -> Result<(), SweepDirError> {
    let refused = |why: String| SweepDirError::Refused(format!("{why}; nothing was written"));
    if from.is_some_and(|from| super::run_dir::inside(from, to)) {
        return Err(refused(format!(
            "{} is the sweep's own folder or inside it: choose another folder",
            to.display()
        )));
    }
    super::run_dir::refuse_unless_empty(to).map_err(|e| refused(e.to_string()))
}

/// Copy the sweep folder `from` into `to` (the window's Save sweep as…): its `sweep.toml`, task files
/// and merged tables (not its `set-aside` folder, nor files of other kinds). `to` must be new or
/// empty, and not inside `from`; every file is read whole before anything is written, so a file that
/// cannot be read (or a refused `to`) leaves `to` as it was. `from` is only read. Returns the number
/// of files copied.
pub fn copy_folder(from: &Path, to: &Path) -> Result<usize, SweepDirError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| SweepDirError::Io { path, error }
    };
    if !from.is_dir() {
        return Err(SweepDirError::NotAFolder(from.to_path_buf()));
    }
    refuse_unless_new(to, Some(from))?;
    let mut names: Vec<String> = std::fs::read_dir(from)
        .map_err(io(from))?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| is_sweep_file(n))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(SweepDirError::Refused(format!(
            "{} holds no sweep files ({CONFIG_FILE}, task-*.json); nothing was written",
            from.display()
        )));
    }
    // read whole first (the files are small: a few kilobytes a task), write after
    let mut files = vec![];
    for name in names {
        let path = from.join(&name);
        let bytes = super::files::read_bounded(&path, MAX_CONFIG_BYTES).map_err(io(&path))?;
        files.push((name, bytes));
    }
    std::fs::create_dir_all(to).map_err(io(to))?;
    for (name, bytes) in &files {
        let path = to.join(name);
        write_atomic(&path, bytes).map_err(io(&path))?;
    }
    Ok(files.len())
}

/// Format version of [`TaskResult`]; a stored result of another version is redone.
pub const RESULT_VERSION: u32 = 1;

/// What a task's result depends on besides the task: the run config and the capacity settings.
#[derive(Serialize)]
struct KeyInput {
    version: u32,
    run: GrokkingConfig,
    capacity: bool,
    capacity_sizes: Vec<usize>,
    capacity_points: usize,
    capacity_max_epochs: u64,
    /// Absent when the sweep has no capacity runs or they are unregularised (keeps older keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    capacity_regularised: Option<bool>,
}

/// A fingerprint of everything a task's result depends on (the run config with this task's prime, width
/// and seed, the capacity settings and [`RESULT_VERSION`]; not the thread count): 16 hex digits of the
/// FNV-1a hash of its JSON. A stored result with another key came from another config and is redone.
pub fn config_key(cfg: &CapacitySweepConfig, task: &Task) -> String {
    let input = KeyInput {
        version: RESULT_VERSION,
        run: cfg.task_config(task.p, task.width, task.seed),
        capacity: cfg.capacity,
        capacity_sizes: if cfg.capacity {
            cfg.capacity_sizes.clone()
        } else {
            vec![]
        },
        capacity_points: if cfg.capacity { cfg.capacity_points } else { 0 },
        capacity_max_epochs: if cfg.capacity {
            cfg.capacity_epochs()
        } else {
            0
        },
        capacity_regularised: (cfg.capacity && cfg.capacity_regularised).then_some(true),
    };
    // serialising plain numbers, strings and enums cannot fail
    let json = serde_json::to_vec(&input).unwrap_or_default();
    format!("{:016x}", fnv1a(&json))
}

/// 64-bit FNV-1a: stable across builds and platforms, unlike `std`'s hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The sweep's config inside its folder.
pub const CONFIG_FILE: &str = "sweep.toml";
/// What `merge` writes: one row per task.
pub const CSV_FILE: &str = "sweep.csv";
/// What `merge` also writes when the sweep ran capacity runs: one row per (task, n).
pub const CAPACITY_CSV_FILE: &str = "capacity.csv";

/// The state of one task's result file.
pub type Stored = super::files::Stored<TaskResult>;

/// Read a task's result file from `dir`. With the sweep's config, a result measured under another
/// config is unusable, and so is one whose parameters, example count or epochs no run of that config
/// makes ([`against_config`]).
pub fn load_result(dir: &Path, task: &Task, sweep: Option<&CapacitySweepConfig>) -> Stored {
    let r = match parse_result_file(&dir.join(task.file_name())) {
        Ok(r) => r,
        Err(None) => return Stored::Missing,
        Err(Some(why)) => return Stored::Unusable(why),
    };
    if r.task() != *task {
        return Stored::Unusable(format!("holds the result of {}", r.task().name()));
    }
    if let Some(what) = impossible_value(&r) {
        return Stored::Unusable(impossible(&what));
    }
    if r.version != RESULT_VERSION {
        return Stored::Unusable(format!(
            "written by result version {}, this is {RESULT_VERSION}",
            r.version
        ));
    }
    if let Some(cfg) = sweep {
        let k = config_key(cfg, task);
        if r.key != k {
            return Stored::Unusable(format!(
                "measured under another config (key {}, this sweep's is {k})",
                r.key
            ));
        }
        if let Some(what) = against_config(&r, cfg) {
            return Stored::Unusable(impossible(&what));
        }
    }
    Stored::Done(Box::new(r))
}

/// The result in the task file at `path` as it parses, or why not (`None`: there is no file). Read
/// bounded, links not followed ([`read_bounded`](super::files::read_bounded)).
fn parse_result_file(path: &Path) -> Result<TaskResult, Option<String>> {
    // a result file is a few kilobytes: 16 MiB bounds what a link or a stray file can make us read
    let text = match super::files::read_bounded(path, 16 << 20).map(String::from_utf8) {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return Err(Some(format!("is not text (UTF-8): {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(None),
        Err(e) => return Err(Some(format!("cannot be read: {e}"))),
    };
    serde_json::from_str(&text).map_err(|e| {
        Some(if text.trim().is_empty() {
            "is empty".to_string()
        } else {
            format!("corrupt or half-written: {e}")
        })
    })
}

/// Largest `sweep.toml` read (a config is a few hundred bytes), as `sweep` bounds it.
pub const MAX_CONFIG_BYTES: u64 = 64 << 20;

/// The first value of `r` that no run of `cfg`'s task makes: its parameter count and random-label
/// example count follow from the task's model and data (the spec's closed forms), and neither of its
/// trainings runs past the config's epoch cap. A file edited by hand keeps its config key; these
/// catch what the key cannot (`params = 1` was averaged into the analysis: a helper's audit).
pub fn against_config(r: &TaskResult, cfg: &CapacitySweepConfig) -> Option<String> {
    let run = cfg.task_config(r.p, r.width, r.seed);
    let params = run.model.param_count(r.p as usize);
    if r.params != params {
        return Some(format!(
            "params = {} (this task's model has {params})",
            r.params
        ));
    }
    let n_equiv = crate::data::random_labels::equivalent_size(run.op, run.p, run.train_fraction);
    if r.n_equiv != n_equiv {
        return Some(format!(
            "n_equiv = {} (this task has {n_equiv} training examples)",
            r.n_equiv
        ));
    }
    for (field, v) in [("gen_epochs", r.gen_epochs), ("mem_epochs", r.mem_epochs)] {
        if v > run.max_epochs {
            return Some(format!(
                "{field} = {v} (at most the config's max_epochs = {})",
                run.max_epochs
            ));
        }
    }
    None
}

/// Why a result with an impossible value is not used.
fn impossible(what: &str) -> String {
    format!("holds an impossible value, so it is left out: {what}")
}

/// The first value of `r` that no run makes, as "field = value (what it must be)": a result damaged
/// or edited into such numbers (no parameters, a threshold after its run's last epoch, an accuracy
/// outside [0, 1], a negative or non-finite time) is refused rather than averaged into the analysis
/// and the figures.
pub fn impossible_value(r: &TaskResult) -> Option<String> {
    let at_least = [
        ("p", u64::from(r.p), 2),
        ("width", r.width as u64, 1),
        ("params", r.params, 1),
        ("n_equiv", r.n_equiv as u64, 1),
    ];
    for (field, v, min) in at_least {
        if v < min {
            return Some(format!("{field} = {v} (at least {min})"));
        }
    }
    let within = [
        ("t_train", r.t_train, "gen_epochs", r.gen_epochs),
        ("t_gen", r.t_gen, "gen_epochs", r.gen_epochs),
        ("delay", r.delay, "gen_epochs", r.gen_epochs),
        ("t_mem", r.t_mem, "mem_epochs", r.mem_epochs),
    ];
    for (field, v, of, max) in within {
        if let Some(v) = v
            && v > max
        {
            return Some(format!("{field} = {v} (at most the run's {of} = {max})"));
        }
    }
    if let Some(what) = inconsistent_times(r) {
        return Some(what);
    }
    // S = n_equiv log2(p + 2) (the spec's dataset complexity)
    let s = crate::data::random_labels::complexity_bits(r.n_equiv, r.p);
    if (r.complexity_bits - s).abs() > 1e-9 * s.max(1.0) {
        return Some(format!(
            "complexity_bits = {} (n_equiv log2(p + 2) = {s})",
            r.complexity_bits
        ));
    }
    let mut accuracies = vec![
        ("final_train_acc".to_string(), r.final_train_acc),
        ("final_val_acc".to_string(), r.final_val_acc),
        ("mem_final_train_acc".to_string(), r.mem_final_train_acc),
    ];
    let mut amounts = vec![
        ("complexity_bits".to_string(), r.complexity_bits),
        ("wall_secs".to_string(), r.wall_secs),
    ];
    for (i, c) in r.capacity.iter().enumerate() {
        if c.n == 0 {
            return Some(format!("capacity[{i}].n = 0 (at least 1)"));
        }
        accuracies.push((
            format!("capacity[{i}].train_acc_eval"),
            Some(c.train_acc_eval),
        ));
        // memorised bits may be negative (a loss above chance), never infinite
        if !c.bits.is_finite() {
            return Some(format!("capacity[{i}].bits = {} (a finite number)", c.bits));
        }
    }
    for (i, g) in r.curves.gen_run.iter().enumerate() {
        accuracies.push((format!("curves.gen_run[{i}].train_acc"), Some(g.train_acc)));
        accuracies.push((format!("curves.gen_run[{i}].val_acc"), g.val_acc));
        amounts.push((format!("curves.gen_run[{i}].train_loss"), g.train_loss));
        amounts.extend(
            g.val_loss
                .map(|v| (format!("curves.gen_run[{i}].val_loss"), v)),
        );
    }
    for (i, m) in r.curves.mem_run.iter().enumerate() {
        accuracies.push((format!("curves.mem_run[{i}].train_acc"), Some(m.train_acc)));
        amounts.push((format!("curves.mem_run[{i}].train_loss"), m.train_loss));
    }
    for (field, v) in accuracies {
        if let Some(v) = v
            && !(0.0..=1.0).contains(&v)
        {
            return Some(format!("{field} = {v} (an accuracy, in [0, 1])"));
        }
    }
    for (field, v) in amounts {
        if !(v.is_finite() && v >= 0.0) {
            return Some(format!("{field} = {v} (a finite number, at least 0)"));
        }
    }
    None
}

/// A delay that its run's t_train and t_gen rule out (the spec: delay = max(0, t_val(98 %) − t_train),
/// or epochs run − t_train when validation never reaches 98 %; t_val(98 %) comes at or before t_gen;
/// 0 for a run that generalised without its running train accuracy reaching 99 %).
fn inconsistent_times(r: &TaskResult) -> Option<String> {
    let show = |v: Option<u64>| v.map_or("null".to_string(), |v| v.to_string());
    let why = match (r.t_train, r.t_gen, r.delay) {
        (_, Some(_), None) => "a run that generalised has a delay",
        (Some(_), None, None) => "a run that learned its training set has a delay",
        (Some(tt), Some(tg), Some(d)) if d > tg.saturating_sub(tt) => {
            "at most t_gen − t_train: validation reached 98 % by t_gen"
        }
        (Some(tt), None, Some(d)) if d > r.gen_epochs.saturating_sub(tt) => {
            "at most gen_epochs − t_train"
        }
        (None, _, Some(d)) if d > 0 => {
            "0 or null without t_train: the delay counts from the training set's 99 %"
        }
        _ => return None,
    };
    Some(format!(
        "delay = {} with t_train = {} and t_gen = {} ({why})",
        show(r.delay),
        show(r.t_train),
        show(r.t_gen)
    ))
}

/// A plausible result (p = 23, width 8, seed 0, 1000 parameters; every time within its run's
/// epochs, accuracies 1) for tests and examples to edit.
pub fn example_result() -> TaskResult {
    TaskResult {
        version: RESULT_VERSION,
        key: "k".into(),
        width: 8,
        p: 23,
        seed: 0,
        params: 1000,
        n_equiv: 100,
        complexity_bits: crate::data::random_labels::complexity_bits(100, 23),
        t_train: Some(10),
        t_gen: Some(20),
        delay: Some(0),
        gen_epochs: 20,
        final_train_acc: Some(1.0),
        final_val_acc: Some(1.0),
        t_mem: Some(30),
        mem_epochs: 30,
        mem_final_train_acc: Some(1.0),
        capacity: vec![],
        wall_secs: 1.0,
        curves: Default::default(),
    }
}

/// The bundled `cpu` sweep (`assets/sweeps/cpu`, p = 31, a 3000-epoch cap) without its d = 20 and 24
/// tasks, as a helper's audit cut it, largest model first (as a sweep trains them), on
/// [`example_result`] otherwise: T_mem is measured from d = 28 on and is below T_gen at every size
/// where both are (318 < 692, 240 < 585, 108 < 963), so the curves do not cross there; d = 8..16
/// never memorised in 3000 epochs, and d = 16's T_gen is 1203, so T_mem > T_gen at d = 16.
pub fn no_crossing_results() -> Vec<TaskResult> {
    [
        (48, 77136, Some(108), Some(963)),
        (32, 35040, Some(240), Some(585)),
        (28, 27076, Some(318), Some(692)),
        (16, 9328, None, Some(1203)),
        (12, 5460, None, Some(1742)),
        (8, 2616, None, None),
    ]
    .into_iter()
    .map(|(width, params, t_mem, t_gen)| TaskResult {
        p: 31,
        width,
        params,
        t_mem,
        t_gen,
        mem_epochs: 3000,
        gen_epochs: 3000,
        ..example_result()
    })
    .collect()
}

/// Write a result into `dir` atomically (a temporary file, then a rename).
pub fn write_result(dir: &Path, r: &TaskResult) -> Result<(), SweepDirError> {
    let text = serde_json::to_string_pretty(r)?;
    let path = dir.join(r.task().file_name());
    write_atomic(&path, text.as_bytes()).map_err(|source| SweepDirError::Io {
        path,
        error: source,
    })
}

/// The results found in a sweep folder, and the files that were not usable.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Collected {
    /// Usable results, in task order.
    pub results: Vec<TaskResult>,
    /// Tasks the folder's `sweep.toml` lists; `None` without a readable one (missing files then cannot
    /// be named).
    pub expected: Option<usize>,
    /// Result files that do not exist.
    pub missing: Vec<String>,
    /// Result files that exist but cannot be used, with the reason.
    pub unusable: Vec<(String, String)>,
    /// Anything else worth saying (an unreadable `sweep.toml`).
    pub notes: Vec<String>,
    /// The folder's sweep config, when its `sweep.toml` was readable.
    pub config: Option<CapacitySweepConfig>,
}

/// Gather a folder's results: the tasks of its `sweep.toml` when it has one (naming the missing files),
/// else every `task-*.json` in it.
pub fn collect_results(dir: &Path) -> Result<Collected, SweepDirError> {
    if !dir.is_dir() {
        return Err(SweepDirError::NotAFolder(dir.to_path_buf()));
    }
    let mut c = Collected::default();
    let unusable = |why: String| {
        format!(
            "{CONFIG_FILE} is unusable ({why}); reading every task-*.json instead, so missing tasks \
             cannot be named and files of different sweeps cannot be told apart"
        )
    };
    // bounded, links not followed (a link to /dev/zero was read until memory ran out), and only a
    // file that is not there is called missing (an unreadable one was: a helper's audit)
    let read = super::files::read_bounded(&dir.join(CONFIG_FILE), MAX_CONFIG_BYTES);
    let cfg = match read.map(String::from_utf8) {
        Ok(Ok(text)) => match CapacitySweepConfig::from_toml(&text) {
            Ok(cfg) => Some(cfg),
            Err(e) => {
                c.notes.push(unusable(format!("{e:#}")));
                None
            }
        },
        Ok(Err(e)) => {
            c.notes.push(unusable(format!("not text (UTF-8): {e}")));
            None
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            c.notes.push(unusable(format!("it cannot be read: {e}")));
            None
        }
        Err(_) => {
            c.notes.push(format!(
                "no {CONFIG_FILE} in {}: reading every task-*.json, so missing tasks cannot be named \
                 and files of different sweeps cannot be told apart (copy the sweep's \
                 {CONFIG_FILE} in to check them)",
                dir.display()
            ));
            None
        }
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| SweepDirError::Io {
            path: dir.to_path_buf(),
            error: source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| Task::of_file_name(n).is_some())
        })
        .collect();
    files.sort();
    match cfg {
        Some(cfg) => {
            let all = tasks(&cfg);
            c.expected = Some(all.len());
            for t in &all {
                match load_result(dir, t, Some(&cfg)) {
                    Stored::Done(r) => c.results.push(*r),
                    Stored::Missing => c.missing.push(t.file_name()),
                    Stored::Unusable(why) => c.unusable.push((t.file_name(), why)),
                }
            }
            // a task file of another grid (copied in from another sweep's nodes) is not read
            let ours: std::collections::HashSet<String> =
                all.iter().map(|t| t.file_name()).collect();
            let stray: Vec<String> = files
                .iter()
                .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
                .filter(|n| !ours.contains(n))
                .collect();
            if !stray.is_empty() {
                c.notes.push(format!(
                    "left out, as {CONFIG_FILE}'s grid has no such task: {}",
                    crate::config::list_some(&stray, 5, ", ")
                ));
            }
            c.config = Some(cfg.into());
        }
        None => {
            for path in files {
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_string();
                // (listed a moment ago: one gone since is said to be)
                let parsed = parse_result_file(&path)
                    .map_err(|why| why.unwrap_or_else(|| "is gone".to_string()));
                match parsed {
                    Ok(r) if r.task().file_name() != name => c
                        .unusable
                        .push((name, format!("holds the result of {}", r.task().name()))),
                    Ok(r) => match impossible_value(&r) {
                        None => c.results.push(r),
                        Some(what) => c.unusable.push((name, impossible(&what))),
                    },
                    Err(why) => c.unusable.push((name, why)),
                }
            }
            c.results.sort_by_key(|r| r.task());
        }
    }
    Ok(c)
}

/// Header of `sweep.csv` (`delay_lower_bound`, last so that earlier columns keep their places: true
/// when the run never generalised and its delay is the spec's epochs run - t_train).
pub const CSV_COLUMNS: [&str; 20] = [
    "p",
    "width",
    "seed",
    "params",
    "n_equiv",
    "complexity_bits",
    "t_train",
    "t_gen",
    "delay",
    "gen_epochs",
    "final_train_acc",
    "final_val_acc",
    "t_mem",
    "mem_epochs",
    "mem_final_train_acc",
    "capacity_runs",
    "max_bits",
    "wall_secs",
    "key",
    "delay_lower_bound",
];

/// A cell: the value, or empty for `None` (a threshold never reached).
fn cell<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The results as `sweep.csv` text, one row per task in the given order.
pub fn sweep_csv(results: &[TaskResult]) -> Result<String, SweepDirError> {
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record(CSV_COLUMNS)?;
    for r in results {
        w.write_record([
            r.p.to_string(),
            r.width.to_string(),
            r.seed.to_string(),
            r.params.to_string(),
            r.n_equiv.to_string(),
            r.complexity_bits.to_string(),
            cell(r.t_train),
            cell(r.t_gen),
            cell(r.delay),
            r.gen_epochs.to_string(),
            cell(r.final_train_acc),
            cell(r.final_val_acc),
            cell(r.t_mem),
            r.mem_epochs.to_string(),
            cell(r.mem_final_train_acc),
            r.capacity.len().to_string(),
            cell(r.max_bits()),
            format!("{:.3}", r.wall_secs),
            r.key.clone(),
            r.delay_is_lower_bound().to_string(),
        ])?;
    }
    Ok(String::from_utf8(
        w.into_inner()
            .map_err(|e| csv::Error::from(e.into_error()))?,
    )?)
}

/// The capacity runs as `capacity.csv` text: one row per (task, n).
pub fn capacity_csv(results: &[TaskResult]) -> Result<String, SweepDirError> {
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record([
        "p",
        "width",
        "seed",
        "params",
        "n",
        "bits",
        "epochs",
        "saturated",
        "train_acc_eval",
    ])?;
    for r in results {
        for c in &r.capacity {
            w.write_record([
                r.p.to_string(),
                r.width.to_string(),
                r.seed.to_string(),
                r.params.to_string(),
                c.n.to_string(),
                c.bits.to_string(),
                c.epochs.to_string(),
                c.saturated.to_string(),
                c.train_acc_eval.to_string(),
            ])?;
        }
    }
    Ok(String::from_utf8(
        w.into_inner()
            .map_err(|e| csv::Error::from(e.into_error()))?,
    )?)
}

/// One folder of the window's sweeps folder, as the Capacity tab's Saved sweeps list shows it
/// ([`list_saved`]).
#[derive(Clone, Debug, PartialEq)]
pub struct SavedSweep {
    pub dir: PathBuf,
    /// The folder's name.
    pub name: String,
    /// What the name says after its time (`tiny`, `cpu-edited`); the whole name when it has no time.
    pub what: String,
    /// When it was started, in seconds since the Unix epoch: the UTC time in its name
    /// ([`new_folder_name`]), else the folder's modification time.
    pub started: Option<u64>,
    /// Tasks whose result is usable under the folder's `sweep.toml`.
    pub done: usize,
    /// Tasks its `sweep.toml` lists (`None`: no readable one).
    pub total: Option<usize>,
    /// Task files there that cannot be used (corrupt, another config's).
    pub unusable: usize,
    /// Every file in it (of any kind, sub-folders included) and their bytes.
    pub files: usize,
    pub bytes: u64,
    /// Why it cannot be read as a sweep, on one line; `None` when it can.
    pub problem: Option<String>,
}

impl SavedSweep {
    /// Whether every task of its config has a usable result.
    pub fn complete(&self) -> bool {
        self.problem.is_none() && self.total.is_some_and(|t| self.done >= t)
    }

    /// "4/4 tasks · complete", "1/4 tasks · stopped", or "3 results" without a config's count.
    pub fn tasks_text(&self) -> String {
        let mut text = match self.total {
            Some(t) if self.done >= t => format!("{}/{t} tasks · complete", self.done),
            Some(t) => format!("{}/{t} tasks · stopped", self.done),
            None => format!("{} results", self.done),
        };
        if self.unusable > 0 {
            text.push_str(&format!(" · {} unusable", self.unusable));
        }
        text
    }

    /// What it holds, for a confirmation: "sweep.toml and 3 task results (4 files, 12 kB)".
    pub fn holds_text(&self) -> String {
        let files = match self.files {
            1 => "1 file".to_string(),
            n => format!("{n} files"),
        };
        let results = match (self.done, self.total) {
            (d, Some(t)) => format!("{d} of {t} task results"),
            (d, None) => format!("{d} task results"),
        };
        format!("{results} ({files}, {})", size_text(self.bytes))
    }
}

/// A size on disk in words: `812 B`, `48 kB`, `3.4 MB` (decimal units).
pub fn size_text(bytes: u64) -> String {
    match bytes {
        b if b < 1000 => format!("{b} B"),
        b if b < 999_500 => format!("{:.0} kB", b as f64 / 1e3),
        b if b < 999_950_000 => format!("{:.1} MB", b as f64 / 1e6),
        b => format!("{:.1} GB", b as f64 / 1e9),
    }
}

/// The time in a folder name of [`new_folder_name`] (`sweep-2026-12-07_15-32-26-tiny`), in seconds
/// since the Unix epoch, and the rest of the name (`tiny`).
pub fn stamp_of_name(name: &str) -> Option<(u64, &str)> {
    let rest = name.strip_prefix("sweep-")?;
    let (date, time) = (rest.get(..10)?, rest.get(11..19)?);
    if rest.get(10..11)? != "_" {
        return None;
    }
    let what = rest.get(19..)?;
    let at = humantime::parse_rfc3339(&format!("{date}T{}Z", time.replace('-', ":"))).ok()?;
    let secs = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    Some((secs, what.strip_prefix('-').unwrap_or(what)))
}

/// Files under `dir` (links not followed, counted as the small files they are) and their bytes, down
/// to a few folders deep.
fn size_on_disk(dir: &Path, depth: usize) -> (usize, u64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (0, 0);
    };
    let mut total = (0, 0);
    for e in entries.flatten() {
        let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        if meta.is_dir() {
            if depth > 0 {
                let (f, b) = size_on_disk(&e.path(), depth - 1);
                total = (total.0 + f, total.1 + b);
            }
        } else {
            total = (total.0 + 1, total.1 + meta.len());
        }
    }
    total
}

/// One folder of the sweeps folder read as a sweep: its results counted, or why it cannot be.
pub fn read_saved(dir: &Path) -> SavedSweep {
    let name = dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let stamp = stamp_of_name(&name);
    let mut s = SavedSweep {
        dir: dir.to_path_buf(),
        what: stamp.map_or(name.clone(), |(_, what)| what.to_string()),
        started: stamp.map(|(secs, _)| secs),
        name,
        done: 0,
        total: None,
        unusable: 0,
        files: 0,
        bytes: 0,
        problem: None,
    };
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) => {
            s.problem = Some(format!("cannot be read: {e}"));
            return s;
        }
    };
    if s.started.is_none() {
        s.started = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs());
    }
    if meta.file_type().is_symlink() {
        s.problem = Some("a symbolic link (not followed)".into());
        return s;
    }
    (s.files, s.bytes) = size_on_disk(dir, 3);
    if let Some(kind) = other_kind(dir) {
        s.problem = Some(format!("not a sweep: {kind}"));
        return s;
    }
    match collect_results(dir) {
        Err(e) => s.problem = Some(e.to_string()),
        Ok(c) => {
            s.done = c.results.len();
            s.total = c.expected;
            s.unusable = c.unusable.len();
            if c.config.is_none() {
                let config = dir.join(CONFIG_FILE);
                s.problem = Some(if std::fs::symlink_metadata(&config).is_err() {
                    if s.done + s.unusable == 0 {
                        format!("holds no sweep files ({CONFIG_FILE}, task-*.json)")
                    } else {
                        format!("no {CONFIG_FILE}: its task count is unknown")
                    }
                } else {
                    // the note's own why, without its advice on reading the task files
                    let note = c.notes.first().map_or("", String::as_str);
                    let why = note
                        .split_once(" is unusable (")
                        .and_then(|(_, rest)| rest.rsplit_once("); reading"))
                        .map_or(note, |(why, _)| why);
                    format!("{CONFIG_FILE} is unusable: {}", first_line(why))
                });
            }
        }
    }
    s
}

/// The first line of `text`.
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// The folders in `root` (the window's sweeps folder) as sweeps, newest first (by the time in their
/// names, else their modification time; then by name); a missing `root` has none. Files beside them
/// are not sweeps and are left out; a folder that cannot be read as one is listed with why.
pub fn list_saved(root: &Path) -> Result<Vec<SavedSweep>, SweepDirError> {
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(error) => {
            return Err(SweepDirError::Io {
                path: root.to_path_buf(),
                error,
            });
        }
    };
    let mut found: Vec<SavedSweep> = entries
        .flatten()
        .filter(|e| {
            // a folder, or a link (listed as one not followed); hidden names are a removal's own
            !e.file_name().to_string_lossy().starts_with('.')
                && e.file_type().is_ok_and(|t| t.is_dir() || t.is_symlink())
        })
        .map(|e| read_saved(&e.path()))
        .collect();
    found.sort_by(|a, b| b.started.cmp(&a.started).then_with(|| b.name.cmp(&a.name)));
    Ok(found)
}

/// What [`remove_folder`] removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemovedSweep {
    pub files: usize,
    pub bytes: u64,
}

/// Whether `name`, in a sweep folder's `set-aside/`, is a sweep file set aside there: its own name
/// or that name with `.2`, `.3`, … ([`super::files::set_aside`]).
fn is_set_aside_sweep_file(name: &str) -> bool {
    let base = match name.rsplit_once('.') {
        Some((base, k)) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => name,
    };
    is_sweep_file(base)
}

/// Every file of the sweep folder `dir` to remove (paths relative to it, with their sizes), or why
/// it is not a folder of sweep files alone: anything else (a file of another kind, a link, a folder
/// other than `set-aside/` of sweep files, the temporary file of a write that may be under way)
/// refuses the whole folder. A temporary file that a killed sweep left ([`Partial::Stale`]) is
/// removed with the rest.
fn removal_plan(dir: &Path) -> Result<Vec<(PathBuf, u64)>, String> {
    let list = |d: &Path| -> Result<Vec<(String, std::fs::Metadata)>, String> {
        let mut out = vec![];
        for e in std::fs::read_dir(d).map_err(|e| format!("cannot be read: {e}"))? {
            let e = e.map_err(|e| format!("cannot be read: {e}"))?;
            let name = e
                .file_name()
                .into_string()
                .map_err(|n| format!("holds {}, a name that is not UTF-8", n.to_string_lossy()))?;
            let meta = std::fs::symlink_metadata(e.path())
                .map_err(|err| format!("cannot look at {name}: {err}"))?;
            out.push((name, meta));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    };
    let mut plan = vec![];
    let mut sweep_files = 0;
    for (name, meta) in list(dir)? {
        if meta.file_type().is_symlink() {
            return Err(format!("holds {name}, a symbolic link"));
        }
        if meta.is_dir() {
            if name != super::files::SET_ASIDE {
                return Err(format!("holds the folder {name}, which is not a sweep's"));
            }
            for (inner, m) in list(&dir.join(&name))? {
                if !m.is_file() || !is_set_aside_sweep_file(&inner) {
                    return Err(format!("holds {name}/{inner}, which is not a sweep file"));
                }
                plan.push((Path::new(&name).join(inner), m.len()));
            }
            plan.push((PathBuf::from(name), 0));
            continue;
        }
        match Partial::of(&name).filter(|_| meta.is_file()) {
            Some(Partial::Stale(_)) => {
                plan.push((PathBuf::from(name), meta.len()));
                continue;
            }
            Some(p @ (Partial::Live(_) | Partial::Unknown(_))) => {
                return Err(format!(
                    "holds {name}, {} (is a sweep still writing this folder?)",
                    p.writer_text()
                ));
            }
            None => {}
        }
        if !meta.is_file() || !is_sweep_file(&name) {
            return Err(format!("holds {name}, which is not a sweep file"));
        }
        if name == CONFIG_FILE || Task::of_file_name(&name).is_some() {
            sweep_files += 1;
        }
        plan.push((PathBuf::from(name), meta.len()));
    }
    if sweep_files == 0 {
        return Err(format!("holds no sweep files ({CONFIG_FILE}, task-*.json)"));
    }
    Ok(plan)
}

/// Remove the sweep folder `dir` and everything in it, when it is a folder (not a link) of sweep
/// files alone ([`is_sweep_file`], and a `set-aside/` folder of them) and the temporary files a
/// killed sweep left: anything else in it (a temporary file of a process that still runs too)
/// refuses the whole folder, and nothing is removed. Everything is checked first; the folder is then moved
/// to a hidden name beside it (so no writer adds to it meanwhile), checked again, and emptied. Only
/// a failure while emptying it (a disk error) can leave part of it, in that hidden folder, and the
/// error says where. A refusal names the folder by its name alone (the status line it is shown in
/// cut the reason off after a full path).
pub fn remove_folder(dir: &Path) -> Result<RemovedSweep, SweepDirError> {
    let shown = dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let refused =
        |why: String| SweepDirError::Refused(format!("{shown} {why}; nothing was removed"));
    let meta =
        std::fs::symlink_metadata(dir).map_err(|e| refused(format!("cannot be read ({e})")))?;
    if meta.file_type().is_symlink() {
        return Err(refused("is a symbolic link (not followed)".into()));
    }
    if !meta.is_dir() {
        return Err(refused("is not a folder".into()));
    }
    if let Some(kind) = other_kind(dir) {
        return Err(refused(format!("is {kind}")));
    }
    let plan = removal_plan(dir).map_err(refused)?;
    let Some(name) = dir.file_name() else {
        return Err(refused("names no folder".into()));
    };
    let mut hidden = std::ffi::OsString::from(".");
    hidden.push(name);
    hidden.push(".removing");
    let staged = dir.with_file_name(hidden);
    if std::fs::symlink_metadata(&staged).is_ok() {
        return Err(refused(format!(
            "cannot be moved aside: {} is there already",
            staged.display()
        )));
    }
    std::fs::rename(dir, &staged)
        .map_err(|e| refused(format!("cannot be moved aside to remove it ({e})")))?;
    let put_back = |why: String| match std::fs::rename(&staged, dir) {
        Ok(()) => refused(why),
        Err(e) => SweepDirError::Refused(format!(
            "{} {why}; it could not be put back ({e}): it is whole in {}",
            dir.display(),
            staged.display()
        )),
    };
    match removal_plan(&staged) {
        Ok(again) if again == plan => {}
        Ok(_) | Err(_) => return Err(put_back("changed while it was checked".into())),
    }
    let mut removed = RemovedSweep { files: 0, bytes: 0 };
    // files first (a sub-folder's before it: the plan lists them before their folder)
    for (rel, bytes) in &plan {
        let path = staged.join(rel);
        let folder = rel == Path::new(super::files::SET_ASIDE);
        let done = if folder {
            std::fs::remove_dir(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match done {
            Ok(()) if !folder => {
                removed.files += 1;
                removed.bytes += bytes;
            }
            Ok(()) => {}
            Err(e) if removed.files == 0 => {
                return Err(put_back(format!("cannot be removed ({e})")));
            }
            Err(error) => {
                return Err(SweepDirError::Io {
                    path: path.clone(),
                    error: std::io::Error::new(
                        error.kind(),
                        format!(
                            "{error}: {} of its files were removed, the rest are in {}",
                            removed.files,
                            staged.display()
                        ),
                    ),
                });
            }
        }
    }
    std::fs::remove_dir(&staged).map_err(|error| SweepDirError::Io {
        path: staged.clone(),
        error,
    })?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::capacity::tiny_sweep as tiny;

    /// `r` as a run of `cfg`'s task would have it (key, parameters, examples), so a folder with `cfg`'s
    /// `sweep.toml` reads it back.
    fn of_config(cfg: &CapacitySweepConfig, task: Task) -> TaskResult {
        let run = cfg.task_config(task.p, task.width, task.seed);
        let n_equiv =
            crate::data::random_labels::equivalent_size(run.op, run.p, run.train_fraction);
        TaskResult {
            p: task.p,
            width: task.width,
            seed: task.seed,
            params: run.model.param_count(task.p as usize),
            n_equiv,
            complexity_bits: crate::data::random_labels::complexity_bits(n_equiv, task.p),
            key: config_key(cfg, &task),
            ..example_result()
        }
    }

    /// Save sweep as…: a sweep's results written from memory, and a folder copied, read back as the
    /// same sweep (expected: the results written, in task order, and the config); a result of a task
    /// outside the config's grid is left out; a target that is not empty, or the folder itself, is
    /// refused and left as it was; a file that cannot be read whole (a link) stops the copy before
    /// anything is written.
    #[test]
    fn a_sweep_is_saved_and_copied_into_new_folders_only() {
        let dir = tempfile::tempdir().unwrap();
        let cfg: CapacitySweepConfig = tiny();
        let grid = tasks(&cfg);
        let mine: Vec<TaskResult> = grid.iter().map(|t| of_config(&cfg, *t)).collect();
        let mut with_stray = mine.clone();
        with_stray.push(TaskResult {
            width: 999,
            ..mine[0].clone()
        });
        let a = dir.path().join("a");
        assert_eq!(write_folder(&a, &cfg, &with_stray).unwrap(), grid.len());
        let back = collect_results(&a).unwrap();
        assert_eq!(back.results, mine);
        assert_eq!(back.config.as_ref(), Some(&cfg));
        assert!(back.notes.is_empty(), "{:?}", back.notes);

        let b = dir.path().join("b");
        assert_eq!(copy_folder(&a, &b).unwrap(), grid.len() + 1);
        assert_eq!(collect_results(&b).unwrap(), back);

        // refused: not empty (its file kept), the folder itself, a folder inside it
        std::fs::write(dir.path().join("c.txt"), "x").unwrap();
        let c = dir.path().join("c");
        std::fs::create_dir(&c).unwrap();
        std::fs::write(c.join("mine.txt"), "keep").unwrap();
        for (to, words) in [
            (&c, "is not empty"),
            (&a, "own folder or inside it"),
            (&a.join("inner"), "own folder or inside it"),
        ] {
            let e = copy_folder(&a, to).unwrap_err().to_string();
            assert!(
                e.contains(words) && e.contains("nothing was written"),
                "{e}"
            );
            let e = write_folder(&c, &cfg, &mine).unwrap_err().to_string();
            assert!(e.contains("is not empty"), "{e}");
        }
        assert!(!a.join("inner").exists());
        assert_eq!(std::fs::read_to_string(c.join("mine.txt")).unwrap(), "keep");
        assert_eq!(std::fs::read_dir(&c).unwrap().count(), 1);

        // a task file that is a link cannot be read whole: nothing is written
        #[cfg(unix)]
        {
            let d = dir.path().join("d");
            let e = dir.path().join("e");
            copy_folder(&a, &d).unwrap();
            let name = grid[0].file_name();
            std::fs::remove_file(d.join(&name)).unwrap();
            std::os::unix::fs::symlink(a.join(&name), d.join(&name)).unwrap();
            let err = copy_folder(&d, &e).unwrap_err().to_string();
            assert!(err.contains("symbolic link"), "{err}");
            assert!(!e.exists());
        }
    }

    /// Every path under `dir` with its bytes (a folder: `None`), sorted: a tree to compare before
    /// and after a refused removal.
    fn tree(dir: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
        let mut out = vec![];
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let path = e.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                out.push((path.clone(), None));
                out.extend(tree(&path));
            } else if meta.file_type().is_symlink() {
                out.push((path.clone(), Some(b"link".to_vec())));
            } else {
                out.push((path.clone(), Some(std::fs::read(&path).unwrap())));
            }
        }
        out.sort();
        out
    }

    /// The bytes of the files under `dir` ([`tree`]): what a removal of it says it freed.
    fn tree_bytes(dir: &Path) -> u64 {
        tree(dir)
            .iter()
            .filter_map(|(_, b)| b.as_ref().map(|b| b.len() as u64))
            .sum()
    }

    /// The Saved sweeps list: folders of the sweeps folder newest first by the UTC time in their
    /// names, each with its usable results of its config's tasks and its size; one that cannot be
    /// read as a sweep is listed with why; a file beside them is not listed; no folder, no sweeps.
    /// Expected: the tiny preset's grid (`tasks`), the bytes written (summed from the files' own
    /// metadata), and the times of the names (the stamp of 1796657546 s by `date -u`).
    #[test]
    fn saved_sweeps_are_listed_newest_first_with_counts_sizes_and_problems() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("sweeps");
        assert_eq!(list_saved(&root).unwrap(), vec![]);
        let cfg: CapacitySweepConfig = tiny();
        let grid = tasks(&cfg);
        let all: Vec<TaskResult> = grid.iter().map(|t| of_config(&cfg, *t)).collect();
        let complete = root.join("sweep-2026-12-07_15-32-26-tiny");
        write_folder(&complete, &cfg, &all).unwrap();
        let stopped = root.join("sweep-2026-12-08_09-00-00-tiny-edited");
        write_folder(&stopped, &cfg, &all[..1]).unwrap();
        // a task of its grid cut short: unusable
        std::fs::write(stopped.join(grid[1].file_name()), "{ half").unwrap();
        // no time in the name: by its modification time, set to 2028-01-01 (`date -u -d 2028-01-01
        // +%s`), between the names' 2026 and 2030
        let corrupt = root.join("mine");
        std::fs::create_dir(&corrupt).unwrap();
        std::fs::write(corrupt.join(CONFIG_FILE), "widths = [").unwrap();
        let in_2028 = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_830_297_600);
        std::fs::File::open(&corrupt)
            .unwrap()
            .set_modified(in_2028)
            .unwrap();
        let run = root.join("sweep-2030-01-01_00-00-00-run");
        std::fs::create_dir(&run).unwrap();
        std::fs::write(run.join("run.json"), "{}").unwrap();
        let empty = root.join("sweep-2030-01-02_00-00-00-x");
        std::fs::create_dir(&empty).unwrap();
        std::fs::write(root.join("notes.txt"), "not a sweep").unwrap();

        let listed = list_saved(&root).unwrap();
        let names: Vec<&str> = listed.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "sweep-2030-01-02_00-00-00-x",
                "sweep-2030-01-01_00-00-00-run",
                "mine",
                "sweep-2026-12-08_09-00-00-tiny-edited",
                "sweep-2026-12-07_15-32-26-tiny",
            ]
        );
        let c = &listed[4];
        assert_eq!(c.started, Some(1_796_657_546));
        assert_eq!(c.what, "tiny");
        assert_eq!(
            (c.done, c.total, c.problem.as_deref()),
            (grid.len(), Some(grid.len()), None)
        );
        assert!(c.complete());
        assert_eq!(
            c.tasks_text(),
            format!("{0}/{0} tasks · complete", grid.len())
        );
        let bytes: u64 = std::fs::read_dir(&complete)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert_eq!((c.files, c.bytes), (grid.len() + 1, bytes));

        let s = &listed[3];
        assert_eq!(s.what, "tiny-edited");
        assert_eq!((s.done, s.total, s.unusable), (1, Some(grid.len()), 1));
        assert!(!s.complete());
        assert_eq!(
            s.tasks_text(),
            format!("1/{} tasks · stopped · 1 unusable", grid.len())
        );
        let why = |i: usize| listed[i].problem.clone().unwrap_or_default();
        assert!(why(2).starts_with("sweep.toml is unusable: "), "{}", why(2));
        assert!(
            !why(2).contains('\n') && !why(2).contains("reading every"),
            "{}",
            why(2)
        );
        assert!(
            why(1).starts_with("not a sweep: a Grokking run folder"),
            "{}",
            why(1)
        );
        assert_eq!(why(0), "holds no sweep files (sweep.toml, task-*.json)");
        assert_eq!(
            listed[0].started,
            Some(1_893_542_400),
            "2030-01-02 by `date -u -d`"
        );
    }

    /// Names made by [`new_folder_name`] give their time back; others give none. Sizes in words
    /// (decimal units, by hand).
    #[test]
    fn folder_names_give_their_time_and_sizes_read_in_words() {
        let dir = tempfile::tempdir().unwrap();
        let name = new_folder_name(dir.path(), 1_796_657_546, "cpu-edited");
        let name = name.file_name().unwrap().to_str().unwrap();
        assert_eq!(stamp_of_name(name), Some((1_796_657_546, "cpu-edited")));
        assert_eq!(
            stamp_of_name("sweep-2026-12-07_15-32-26"),
            Some((1_796_657_546, ""))
        );
        for bad in [
            "mine",
            "sweep-2026-12-07T15-32-26-x",
            "sweep-2026-13-07_15-32-26-x",
            "sweep-",
        ] {
            assert_eq!(stamp_of_name(bad), None, "{bad}");
        }
        assert_eq!(size_text(812), "812 B");
        assert_eq!(size_text(48_200), "48 kB");
        assert_eq!(size_text(3_400_000), "3.4 MB");
        assert_eq!(size_text(2_000_000_000), "2.0 GB");
    }

    /// Remove: a folder of sweep files alone (with a `set-aside/` of them) goes whole, and says what
    /// went (expected: the files written, counted by hand, and their bytes from their metadata); a
    /// folder holding anything else (a stray file, a folder of another kind, a link, no sweep file at
    /// all), or a link to a sweep folder, is refused whole and left exactly as it was.
    #[test]
    fn only_a_folder_of_sweep_files_alone_is_removed_and_others_are_left_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let cfg: CapacitySweepConfig = tiny();
        let all: Vec<TaskResult> = tasks(&cfg).iter().map(|t| of_config(&cfg, *t)).collect();
        let a = dir.path().join("a");
        write_folder(&a, &cfg, &all[..1]).unwrap();
        std::fs::write(a.join(CSV_FILE), sweep_csv(&all[..1]).unwrap()).unwrap();
        let aside = a.join(crate::store::files::SET_ASIDE);
        std::fs::create_dir(&aside).unwrap();
        let old = format!("{}.2", all[0].task().file_name());
        std::fs::write(aside.join(&old), "{ old").unwrap();
        let bytes = tree_bytes(&a);
        // sweep.toml, one task file, sweep.csv, the set-aside one
        assert_eq!(remove_folder(&a).unwrap(), RemovedSweep { files: 4, bytes });
        assert!(!a.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing hidden is left"
        );

        let make = |name: &str| {
            let d = dir.path().join(name);
            write_folder(&d, &cfg, &all).unwrap();
            d
        };
        let stray = make("stray");
        std::fs::write(stray.join("notes.txt"), "mine").unwrap();
        let nested = make("nested");
        std::fs::create_dir(nested.join("checkpoints")).unwrap();
        std::fs::write(nested.join("checkpoints").join("x"), "x").unwrap();
        let bad_aside = make("bad-aside");
        std::fs::create_dir(bad_aside.join("set-aside")).unwrap();
        std::fs::write(bad_aside.join("set-aside").join("photo.png"), "x").unwrap();
        let run = make("run");
        std::fs::write(run.join("run.json"), "{}").unwrap();
        let none = dir.path().join("none");
        std::fs::create_dir(&none).unwrap();
        std::fs::write(none.join(CSV_FILE), "p\n").unwrap();
        let mut cases = vec![
            (stray.clone(), "holds notes.txt, which is not a sweep file"),
            (
                nested.clone(),
                "holds the folder checkpoints, which is not a sweep's",
            ),
            (
                bad_aside.clone(),
                "holds set-aside/photo.png, which is not a sweep file",
            ),
            (run.clone(), "a Grokking run folder"),
            (none.clone(), "holds no sweep files"),
            (dir.path().join("gone"), "cannot be read"),
        ];
        #[cfg(unix)]
        {
            let linked = make("linked");
            std::os::unix::fs::symlink("/etc/hostname", linked.join(CSV_FILE)).unwrap();
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&stray, &link).unwrap();
            cases.push((linked, "holds sweep.csv, a symbolic link"));
            cases.push((link, "is a symbolic link (not followed)"));
        }
        let before = tree(dir.path());
        for (d, words) in cases {
            let e = remove_folder(&d).unwrap_err().to_string();
            assert!(
                e.contains(words) && e.ends_with("nothing was removed"),
                "{}: {e}",
                d.display()
            );
        }
        assert_eq!(tree(dir.path()), before);
    }

    /// Remove takes a folder holding the temporary files a killed sweep left (`.NAME.PID-N.partial`,
    /// its process gone) with the rest; it refused such a folder before, as one holding files not
    /// a sweep's. One holding a temporary file of a process that still runs (a sweep writing it) is
    /// refused, naming that file, and left exactly as it was. Expected: the files written here,
    /// counted by hand, and their bytes from their metadata; the PIDs, one past the kernel's largest
    /// (`pid_max` is at most 2^22), which no process can have, and this process's own.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_killed_sweeps_partial_files_are_removed_with_it_and_a_live_ones_refuse_it() {
        let dir = tempfile::tempdir().unwrap();
        let cfg: CapacitySweepConfig = tiny();
        let all: Vec<TaskResult> = tasks(&cfg).iter().map(|t| of_config(&cfg, *t)).collect();
        let gone = 1u32 << 23;
        let killed = dir.path().join("killed");
        write_folder(&killed, &cfg, &all[..1]).unwrap();
        let stale = format!(".{}.{gone}-4.partial", all[1].task().file_name());
        std::fs::write(killed.join(&stale), "{ half").unwrap();
        let bytes = tree_bytes(&killed);
        // sweep.toml, one task file, the stale one
        assert_eq!(
            remove_folder(&killed).unwrap(),
            RemovedSweep { files: 3, bytes }
        );
        assert!(!killed.exists());

        let writing = dir.path().join("writing");
        write_folder(&writing, &cfg, &all[..1]).unwrap();
        let live = format!(
            ".{}.{}-0.partial",
            all[1].task().file_name(),
            std::process::id()
        );
        std::fs::write(writing.join(&live), "{ half").unwrap();
        std::fs::write(writing.join(&stale), "{ half").unwrap();
        let before = tree(dir.path());
        let e = remove_folder(&writing).unwrap_err().to_string();
        assert!(
            e.contains(&format!("holds {live}, being written by process"))
                && e.contains("which still runs")
                && e.ends_with("nothing was removed"),
            "{e}"
        );
        assert_eq!(tree(dir.path()), before, "the stale one is kept too");
    }

    /// A new sweep folder is named for its UTC time and preset, numbered when taken (expected: the
    /// stamp of 1796657546 s by `date -u`); folders of other kinds are named as what they are.
    #[test]
    fn new_folders_are_named_and_other_kinds_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let first = new_folder_name(dir.path(), 1_796_657_546, "tiny");
        assert_eq!(first, dir.path().join("sweep-2026-12-07_15-32-26-tiny"));
        std::fs::create_dir(&first).unwrap();
        let second = new_folder_name(dir.path(), 1_796_657_546, "tiny");
        assert_eq!(second, dir.path().join("sweep-2026-12-07_15-32-26-tiny-2"));
        assert_eq!(
            new_folder_name(dir.path(), 0, "a b/c"),
            dir.path().join("sweep-1970-01-01_00-00-00-a_b_c")
        );

        assert_eq!(other_kind(&first), None);
        std::fs::write(first.join(super::super::study_dir::STUDY_CSV), "").unwrap();
        assert!(
            other_kind(&first)
                .unwrap()
                .starts_with("an Ordering study folder")
        );
        std::fs::write(first.join(super::super::phase::CONFIG_FILE), "").unwrap();
        assert!(
            other_kind(&first)
                .unwrap()
                .starts_with("a phase study folder")
        );
    }

    /// A result read back holds the floats written, bit for bit: 420/423 came back one unit in the
    /// last place off and `sweep.csv` disagreed with the task file (a helper's audit; serde_json's
    /// `float_roundtrip`). Expected: the same f64s.
    #[test]
    fn a_result_reads_back_the_floats_it_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = example_result();
        r.final_train_acc = Some(420.0 / 423.0);
        r.final_val_acc = Some(0.1 + 0.2);
        r.wall_secs = std::f64::consts::PI * 1e-7;
        write_result(dir.path(), &r).unwrap();
        let Stored::Done(back) = load_result(dir.path(), &r.task(), None) else {
            panic!("not read back");
        };
        for (a, b) in [
            (back.final_train_acc, r.final_train_acc),
            (back.final_val_acc, r.final_val_acc),
            (Some(back.wall_secs), Some(r.wall_secs)),
        ] {
            assert_eq!(a.map(f64::to_bits), b.map(f64::to_bits));
        }
    }

    #[test]
    fn config_key_tracks_what_results_depend_on() {
        let c = tiny();
        let t = tasks(&c)[0];
        let k = config_key(&c, &t);
        assert_eq!(k.len(), 16);
        assert_eq!(k, config_key(&c.clone(), &t), "deterministic");
        assert_ne!(k, config_key(&c, &tasks(&c)[1]), "another seed");
        let mut threads = c.clone();
        threads.threads = 7;
        assert_eq!(k, config_key(&threads, &t), "threads do not matter");
        let mut epochs = c.clone();
        epochs.base.max_epochs += 1;
        assert_ne!(k, config_key(&epochs, &t));
        let mut sizes = c.clone();
        sizes.capacity_sizes = vec![3];
        assert_eq!(
            k,
            config_key(&sizes, &t),
            "capacity settings matter only when on"
        );
        sizes.capacity = true;
        assert_ne!(k, config_key(&sizes, &t));
        // FNV-1a of "a" from its published test vectors
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a(b""), 0xcbf29ce484222325);
    }
}
