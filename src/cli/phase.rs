//! `grokscope phase`: the Grokking lab's phase diagram headless. One result file per run in the study
//! folder (written atomically), resumable (finished runs are skipped) and shardable like `sweep`
//! (`--shard I/N`, or an array index from the environment: see [`super::study`]); at the end the
//! folder's `cells.csv` and `cells.json` are rewritten from every result it holds. The figure comes from
//! `grokscope export DIR --figure phase`.

use super::study::{self, ResultFiles, ResultFormat};
use crate::analysis::phase::{PhaseCellResult, PhaseRun};
use crate::config::phase::{
    PhaseStudyConfig, PhaseTask, ValidPhaseStudyConfig, phase_preset, phase_presets, phase_tasks,
};
use crate::experiment::Unattended;
use crate::experiment::phase::{PhaseOptions, RUNS_SUBDIR, run};
use crate::protocol::{GrokkingEvent, LabEvent, Outcome};
use crate::store::phase::{load_result, open_or_create, outcome_key, write_cells, write_result};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::time::Instant;

/// What one `grokscope phase` did.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseReport {
    /// Runs of this shard (or of the whole study).
    pub tasks: usize,
    /// Runs already done, skipped.
    pub skipped: usize,
    /// Runs trained and written now.
    pub written: usize,
    pub outcome: Outcome,
    /// Seconds this session took.
    pub wall_secs: f64,
    /// The cells from every result in the folder.
    pub cells: Vec<PhaseCellResult>,
}

/// A study's result files: `PhaseTask` events, `task-wd{i}-tf{j}[-w{k}]-s{seed}.json`.
fn result_format() -> ResultFormat<PhaseRun> {
    ResultFormat {
        take: |payload| match payload {
            LabEvent::Grokking(GrokkingEvent::PhaseTask { result, .. }) => Some(*result),
            LabEvent::Grokking(_) | LabEvent::Capacity(_) | LabEvent::Ordering(_) => None,
        },
        write: |dir, result| Ok(write_result(dir, result)?),
        // a phase task's progress is its runs' own; its result line says the rest
        progress: |_| None,
        describe: |result| {
            let delay = match result.class.delay_text() {
                d if d.is_empty() => d,
                d => format!(", delay {d}"),
            };
            format!(
                "{}: wd {}, train fraction {}, width {}, seed {}: {}{delay} ({} epochs, {:.1} s)",
                result.task.name(),
                result.weight_decay,
                result.train_fraction,
                result.width,
                result.task.seed,
                result.class.outcome,
                result.epochs,
                result.wall_secs
            )
        },
    }
}

/// Run the runs of `cfg` (or of one shard) that `out` still lacks, writing `out/phase.toml`, one result
/// file per run as each finishes and, at the end, `cells.csv` and `cells.json`. A folder of another
/// study is refused untouched. With `keep_runs` each run's folder goes to `out/runs/TASK/`.
pub fn phase_main(
    cfg: &ValidPhaseStudyConfig,
    out: &Path,
    shard_of: Option<(usize, usize)>,
    keep_runs: bool,
    bar: bool,
) -> Result<PhaseReport> {
    let t0 = Instant::now();
    open_or_create(out, cfg)?;
    let todo = study::pending(
        out,
        phase_tasks(cfg),
        shard_of,
        "run",
        |t| load_result(out, cfg, t),
        PhaseTask::file_name,
    )?;
    let runs_dir = keep_runs.then(|| out.join(RUNS_SUBDIR));
    if let Some(d) = &runs_dir {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
        // a task trained again may have a folder from an earlier session: kept under another name,
        // and said (it was renamed without a word: a helper's audit)
        for t in &todo.pending {
            if let Some(aside) = crate::experiment::phase::set_aside_run_folder(&d.join(t.name()))?
            {
                eprintln!(
                    "{RUNS_SUBDIR}/{} has no usable result file (an earlier session stopped, or its \
                     file was set aside): kept as {}, and the run is trained again",
                    t.name(),
                    aside.display()
                );
            }
        }
    }
    let mut sink = ResultFiles::new(out, &todo, result_format(), bar);
    let opts = PhaseOptions {
        tasks: Some(todo.pending.clone()),
        runs_dir,
        speed: None,
    };
    run(cfg, &opts, 1, &mut sink, &mut Unattended);
    let done = sink.finish("phase study", "the study")?;
    let c = crate::store::phase::collect(out)?;
    let cells = write_cells(out, &c.config, &c.runs)?;
    let wall_secs = t0.elapsed().as_secs_f64();
    eprintln!(
        "{} of {} runs done in {}; wrote cells.csv and cells.json ({wall_secs:.1} s this session)",
        c.runs.len(),
        phase_tasks(cfg).len(),
        out.display()
    );
    Ok(PhaseReport {
        tasks: todo.mine,
        skipped: todo.skipped(),
        written: done.written,
        outcome: done.outcome,
        wall_secs,
        cells,
    })
}

/// The cells as a text table: one line per cell.
pub fn cells_table(cells: &[PhaseCellResult]) -> String {
    let mut s = String::from("width\tweight_decay\ttrain_fraction\toutcome\tmean_delay\truns\n");
    for c in cells {
        let o = c.summary.outcome.map_or("", outcome_key);
        let d = c
            .summary
            .mean_delay
            .map_or_else(String::new, |d| format!("{d:.1}"));
        s.push_str(&format!(
            "{}\t{}\t{}\t{o}\t{d}\t{}\n",
            c.width,
            c.weight_decay,
            c.train_fraction,
            c.runs.len()
        ));
    }
    s
}

/// `grokscope phase`: the study from `--config` or `--preset`, `--threads` over its own.
pub fn phase_cmd(
    config: Option<&Path>,
    preset: Option<&str>,
    out: &Path,
    shard_of: Option<(usize, usize)>,
    threads: Option<usize>,
    keep_runs: bool,
    bar: bool,
) -> Result<PhaseReport> {
    let cfg = match (config, preset) {
        (Some(path), _) => super::read_config(path, PhaseStudyConfig::from_toml)?,
        (None, Some(name)) => {
            let p = phase_preset(name).with_context(|| {
                let names: Vec<_> = phase_presets().iter().map(|p| p.name).collect();
                format!(
                    "no phase preset named {name:?}; known: {}",
                    names.join(", ")
                )
            })?;
            ValidPhaseStudyConfig::try_from(p.config)?
        }
        (None, None) => bail!("give the study with --config FILE.toml or --preset NAME"),
    };
    let cfg = match threads {
        Some(t) => cfg.with_threads(t)?,
        None => cfg,
    };
    // each thread trains one run at a time: the largest run, once per thread, must fit
    crate::experiment::phase::check_memory(&cfg, super::memory_limit(None)?)
        .map_err(anyhow::Error::msg)
        .context("the phase study")?;
    let report = phase_main(&cfg, out, shard_of, keep_runs, bar)?;
    out!("{}", cells_table(&report.cells))?;
    Ok(report)
}
