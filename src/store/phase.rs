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
    let text = match std::fs::read_to_string(&path) {
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
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
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
    let text = match std::fs::read_to_string(&path) {
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
    Stored::Done(Box::new(r))
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
        why: "missing: this is not a phase study folder".into(),
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
