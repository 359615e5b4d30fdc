//! A phase study's folder: `phase.toml` (the config), one `task-wd{i}-tf{j}[-w{k}]-s{seed}.json` per
//! finished run (each written atomically), `cells.csv` and `cells.json` (the cells: majority class, mean
//! delay, per-seed classes) and, when runs are kept, `runs/TASK/` (each run's folder).
//!
//! A folder is used only for the study it holds: one whose `phase.toml` holds another config is refused,
//! naming the fields that differ, and left untouched; so is one whose `phase.toml` cannot be read in
//! full, and a non-empty folder without one. A task whose file parses, names the task and holds the
//! study's run config is done; a missing, half-written, corrupt or stale one is (re)done.

use super::files::write_atomic;
use crate::analysis::phase::{
    Outcome, PHASE_RESULT_VERSION, PhaseCellResult, PhaseRun, phase_cells,
};
use crate::config::phase::{PhaseStudyConfig, PhaseTask, ValidPhaseStudyConfig, phase_tasks};
use crate::config::{ConfigParseError, differences};
use std::path::{Path, PathBuf};

/// The study's config inside its folder.
pub const CONFIG_FILE: &str = "phase.toml";
/// The cells, one row each.
pub const CELLS_CSV: &str = "cells.csv";
/// The cells with the config, as JSON.
pub const CELLS_JSON: &str = "cells.json";
/// Where each run's folder goes inside the study folder (`--keep-runs`).
pub const RUNS_SUBDIR: &str = "runs";

/// Whether `name`, an entry of a study folder without its `phase.toml`, is one a phase study writes:
/// a run's result file, the cells, the run folders, the set-aside files. A folder holding these alone
/// (result files copied together from a cluster's nodes) is the study's to finish.
pub fn is_own_file(name: &str) -> bool {
    crate::config::phase::PhaseTask::of_file_name(name).is_some()
        || [
            CELLS_CSV,
            CELLS_JSON,
            RUNS_SUBDIR,
            crate::store::files::SET_ASIDE,
        ]
        .contains(&name)
        || name.starts_with('.')
}

/// Why a phase study folder could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PhaseDirError {
    /// The path exists and is not a folder.
    #[error("{}", crate::store::files::not_a_folder(.0))]
    NotAFolder(PathBuf),
    /// Reading or writing a file failed.
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        /// (in the message, not a `source`: `{:#}` would print it twice)
        error: std::io::Error,
    },
    /// The folder's `phase.toml` cannot be used; nothing in the folder was changed.
    #[error("{}: {why}; the folder was left as it is", path.display())]
    BadConfig { path: PathBuf, why: String },
    /// The folder holds another study; nothing in it was changed.
    #[error(
        "{} holds a phase study of another config ({}); the folder was left as it is: use another \
         folder, or the config in its {CONFIG_FILE}",
        dir.display(),
        fields.join("; ")
    )]
    OtherStudy { dir: PathBuf, fields: Vec<String> },
    /// The folder holds something else.
    #[error(
        "{} is not empty and holds no {CONFIG_FILE} (it has {}); a phase study needs an empty folder \
         or its own",
        dir.display(),
        found.join(", ")
    )]
    NotAStudy { dir: PathBuf, found: Vec<String> },
    /// A result or the cells could not be written as JSON.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The cells could not be written as CSV.
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> PhaseDirError + '_ {
    move |source| PhaseDirError::Io {
        path: path.to_path_buf(),
        error: source,
    }
}

/// Read a folder's `phase.toml` in full and parse it. `Ok(None)` when there is none.
pub fn read_config(dir: &Path) -> Result<Option<ValidPhaseStudyConfig>, PhaseDirError> {
    let path = dir.join(CONFIG_FILE);
    // bounded, links not followed (as the sweep's config: a link to /dev/zero read until memory ran out)
    let text = match super::files::read_text_bounded(&path, super::sweep_dir::MAX_CONFIG_BYTES) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(PhaseDirError::BadConfig {
                path,
                why: format!("cannot be read: {e}"),
            });
        }
    };
    PhaseStudyConfig::from_toml(&text)
        .map(Some)
        .map_err(|e: ConfigParseError| PhaseDirError::BadConfig {
            path,
            why: format!("not a phase study: {e}"),
        })
}

/// Make `dir` the folder of study `cfg`: create it (and write `phase.toml`) when it is missing or
/// empty; accept it when its `phase.toml` holds the same study (the thread count may differ; the file
/// is then left as it is). Anything else is refused and left untouched.
pub fn open_or_create(dir: &Path, cfg: &PhaseStudyConfig) -> Result<(), PhaseDirError> {
    if dir.exists() && !dir.is_dir() {
        return Err(PhaseDirError::NotAFolder(dir.to_path_buf()));
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let same_study = |c: &PhaseStudyConfig| PhaseStudyConfig {
        threads: 0,
        ..c.clone()
    };
    if let Some(old) = read_config(dir)? {
        let (old, new) = (same_study(&old), same_study(cfg));
        if old == new {
            return Ok(());
        }
        return Err(PhaseDirError::OtherStudy {
            dir: dir.to_path_buf(),
            fields: differences(&old, &new),
        });
    }
    // a folder of this kind of study's files alone (copied from a cluster's nodes) is the study's:
    // each result file is checked against the config before it is used, one of another study set
    // aside
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|name| !is_own_file(name))
        .collect();
    if !found.is_empty() {
        found.sort();
        found.truncate(5);
        return Err(PhaseDirError::NotAStudy {
            dir: dir.to_path_buf(),
            found,
        });
    }
    let path = dir.join(CONFIG_FILE);
    write_atomic(&path, cfg.to_toml().as_bytes()).map_err(io(&path))
}

/// The state of one task's result file.
pub type Stored = super::files::Stored<PhaseRun>;

/// Read a task's result file from `dir`; a result of another run config than `cfg` gives is unusable.
pub fn load_result(dir: &Path, cfg: &PhaseStudyConfig, task: &PhaseTask) -> Stored {
    let path = dir.join(task.file_name());
    // a result file is a few kilobytes: 16 MiB bounds what a link or a stray file can make us read
    let text = match super::files::read_text_bounded(&path, 16 << 20) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Stored::Missing,
        Err(e) => return Stored::Unusable(format!("cannot be read: {e}")),
    };
    let r: PhaseRun = match serde_json::from_str(&text) {
        Ok(r) => r,
        Err(e) => return Stored::Unusable(format!("corrupt or half-written: {e}")),
    };
    if r.version != PHASE_RESULT_VERSION {
        return Stored::Unusable(format!(
            "written by result version {}, this is {PHASE_RESULT_VERSION}",
            r.version
        ));
    }
    if r.task != *task {
        return Stored::Unusable(format!("holds the result of {}", r.task.name()));
    }
    if r.config != cfg.task_config(task) {
        return Stored::Unusable(format!(
            "measured under another run config ({})",
            differences(&r.config, &cfg.task_config(task)).join("; ")
        ));
    }
    if let Some(what) = impossible_value(&r) {
        return Stored::Unusable(format!(
            "holds an impossible value, so it is left out: {what}"
        ));
    }
    Stored::Done(Box::new(r))
}

/// The first value of `r` that its run (`r.config`, checked against the study's) does not make, as
/// "field = value (what it must be)": the cell, width and parameter count its config gives, times
/// within the epochs run and the cap, 98 % validation no later than 99 %, accuracies in [0, 1], and
/// the class `classify_run` gives its events. A file edited by hand keeps its config; these catch
/// the rest (a "comprehension" at 4 % validation was drawn in the phase figure: a helper's audit).
pub fn impossible_value(r: &PhaseRun) -> Option<String> {
    use crate::config::ModelConfig;
    let c = &r.config;
    let width = match &c.model {
        ModelConfig::Mlp(m) => m.hidden,
        ModelConfig::Transformer(t) => t.d_model,
    };
    let params = c.model.param_count(c.p as usize);
    let same = [
        ("weight_decay", r.weight_decay, c.optim.weight_decay),
        ("train_fraction", r.train_fraction, c.train_fraction),
        ("width", r.width as f64, width as f64),
        ("params", r.params as f64, params as f64),
    ];
    for (field, v, want) in same {
        if v != want {
            return Some(format!("{field} = {v} (the run's config has {want})"));
        }
    }
    if r.epochs > c.max_epochs {
        return Some(format!(
            "epochs = {} (at most the config's max_epochs = {})",
            r.epochs, c.max_epochs
        ));
    }
    if r.steps < r.epochs {
        return Some(format!(
            "steps = {} (at least one a trained epoch, {})",
            r.steps, r.epochs
        ));
    }
    for (field, v) in [
        ("t_train", r.t_train),
        ("t_val98", r.t_val98),
        ("t_val", r.t_val),
    ] {
        if let Some(v) = v
            && v > r.epochs
        {
            return Some(format!(
                "{field} = {v} (at most the {} epochs run)",
                r.epochs
            ));
        }
    }
    match (r.t_val98, r.t_val) {
        (None, Some(v)) => {
            return Some(format!(
                "t_val98 = null with t_val = {v} (validation passes 98 % on its way to 99 %)"
            ));
        }
        (Some(a), Some(b)) if a > b => {
            return Some(format!(
                "t_val98 = {a} after t_val = {b} (98 % comes no later than 99 %)"
            ));
        }
        _ => {}
    }
    for (field, v) in [
        ("final_train_acc", r.final_train_acc),
        ("final_val_acc", r.final_val_acc),
    ] {
        if let Some(v) = v
            && !(0.0..=1.0).contains(&v)
        {
            return Some(format!("{field} = {v} (an accuracy, in [0, 1])"));
        }
    }
    if !(r.wall_secs.is_finite() && r.wall_secs >= 0.0) {
        return Some(format!(
            "wall_secs = {} (a finite number, at least 0)",
            r.wall_secs
        ));
    }
    let class = crate::analysis::phase::classify_run(r.t_train, r.t_val98, c.max_epochs);
    if r.class != class {
        return Some(format!(
            "class = {} with delay {:?} (its events give {} with delay {:?})",
            r.class.outcome, r.class.delay, class.outcome, class.delay
        ));
    }
    None
}

/// Write a result into `dir` atomically (a temporary file, then a rename).
pub fn write_result(dir: &Path, r: &PhaseRun) -> Result<(), PhaseDirError> {
    let text = serde_json::to_string_pretty(r)?;
    let path = dir.join(r.task.file_name());
    write_atomic(&path, text.as_bytes()).map_err(io(&path))
}

/// A study folder's config, its usable results and the files that were not usable.
#[derive(Clone, Debug)]
pub struct PhaseCollected {
    pub config: ValidPhaseStudyConfig,
    /// Usable results, in task order.
    pub runs: Vec<PhaseRun>,
    /// Result files that do not exist yet.
    pub missing: Vec<String>,
    /// Result files that exist but cannot be used, with the reason.
    pub unusable: Vec<(String, String)>,
}

/// Gather a study folder's results (its `phase.toml` must be readable).
pub fn collect(dir: &Path) -> Result<PhaseCollected, PhaseDirError> {
    if !dir.is_dir() {
        return Err(PhaseDirError::NotAFolder(dir.to_path_buf()));
    }
    let config = read_config(dir)?.ok_or_else(|| PhaseDirError::BadConfig {
        path: dir.join(CONFIG_FILE),
        why: "missing: this is not a phase study folder (if it holds a study's result files \
              copied together, `grokscope phase --config CONFIG --out DIR` with the study's config \
              takes them in, runs what is missing and writes it)"
            .into(),
    })?;
    let mut c = PhaseCollected {
        runs: vec![],
        missing: vec![],
        unusable: vec![],
        config,
    };
    for t in phase_tasks(&c.config) {
        match load_result(dir, &c.config, &t) {
            Stored::Done(r) => c.runs.push(*r),
            Stored::Missing => c.missing.push(t.file_name()),
            Stored::Unusable(why) => c.unusable.push((t.file_name(), why)),
        }
    }
    Ok(c)
}

/// Header of `cells.csv`.
pub const CELLS_COLUMNS: [&str; 11] = [
    "width",
    "weight_decay",
    "train_fraction",
    "outcome",
    "mean_delay",
    "runs",
    "no_learning",
    "memorisation",
    "grokking",
    "comprehension",
    "seeds",
];

/// The cells as `cells.csv` text: one row per cell; `outcome` and `mean_delay` are empty for a cell
/// with no finished run (or none that generalised); `seeds` lists `seed:outcome:delay` per run.
pub fn cells_csv(cells: &[PhaseCellResult]) -> Result<String, PhaseDirError> {
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record(CELLS_COLUMNS)?;
    for c in cells {
        let s = &c.summary;
        let seeds: Vec<String> = c
            .runs
            .iter()
            .map(|(seed, o, d)| {
                let d = d.map(|d| d.to_string()).unwrap_or_default();
                format!("{seed}:{}:{d}", outcome_key(*o))
            })
            .collect();
        w.write_record([
            c.width.to_string(),
            c.weight_decay.to_string(),
            c.train_fraction.to_string(),
            s.outcome.map(outcome_key).unwrap_or_default().to_string(),
            s.mean_delay.map(|d| d.to_string()).unwrap_or_default(),
            c.runs.len().to_string(),
            s.counts[0].to_string(),
            s.counts[1].to_string(),
            s.counts[2].to_string(),
            s.counts[3].to_string(),
            seeds.join(" "),
        ])?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    // the writer was given only strings
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// An outcome as one word (CSV cells, file names).
pub fn outcome_key(o: Outcome) -> &'static str {
    match o {
        Outcome::NoLearning => "no_learning",
        Outcome::Memorisation => "memorisation",
        Outcome::Grokking => "grokking",
        Outcome::Comprehension => "comprehension",
    }
}

/// Write `cells.csv` and `cells.json` (the config and the cells) into `dir` from its results.
pub fn write_cells(
    dir: &Path,
    cfg: &PhaseStudyConfig,
    runs: &[PhaseRun],
) -> Result<Vec<PhaseCellResult>, PhaseDirError> {
    let cells = phase_cells(cfg, runs);
    let path = dir.join(CELLS_CSV);
    write_atomic(&path, cells_csv(&cells)?.as_bytes()).map_err(io(&path))?;
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "config": cfg,
        "cells": cells,
    }))?;
    let path = dir.join(CELLS_JSON);
    write_atomic(&path, json.as_bytes()).map_err(io(&path))?;
    Ok(cells)
}
