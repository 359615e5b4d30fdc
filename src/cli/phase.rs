//! `grokscope phase`: the Grokking lab's phase diagram headless. One result file per run in the study
//! folder (written atomically), resumable (finished runs are skipped) and shardable like `sweep`
//! (`--shard I/N`, or an array index from the environment: see [`super::capacity`]); at the end the
//! folder's `cells.csv` and `cells.json` are rewritten from every result it holds. The figure comes from
//! `grokscope export DIR --figure phase`.

use crate::analysis::phase::PhaseCellResult;
use crate::config::capacity::shard;
use crate::config::phase::{
    PhaseStudyConfig, ValidPhaseStudyConfig, phase_preset, phase_presets, phase_tasks,
};
use crate::experiment::phase::{PhaseOptions, RUNS_SUBDIR, run};
use crate::experiment::{EventSink, Unattended};
use crate::protocol::{Event, GrokkingEvent, LabEvent, Outcome};
use crate::store::phase::{
    Stored, load_result, open_or_create, outcome_key, write_cells, write_result,
};
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

/// Writes each finished run's file and shows progress.
struct FileSink<'a> {
    dir: &'a Path,
    bar: Option<indicatif::ProgressBar>,
    skipped: usize,
    tasks: usize,
    written: usize,
    outcome: Option<Outcome>,
    error: Option<anyhow::Error>,
}

impl FileSink<'_> {
    fn line(&self, text: String) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }
}

impl EventSink for FileSink<'_> {
    fn emit(&mut self, ev: Event) {
        match ev {
            Event::Lab {
                payload: LabEvent::Grokking(GrokkingEvent::PhaseTask { result, .. }),
                ..
            } => {
                if self.error.is_some() {
                    return;
                }
                if let Err(e) = write_result(self.dir, &result) {
                    self.error = Some(e.into());
                    return;
                }
                self.written += 1;
                let done = self.skipped + self.written;
                if let Some(bar) = &self.bar {
                    bar.set_position(done as u64);
                }
                let delay = result
                    .class
                    .delay
                    .map_or_else(String::new, |d| format!(", delay {d}"));
                self.line(format!(
                    "{done}/{} {}: wd {}, train fraction {}, width {}, seed {}: {}{delay} ({} epochs, \
                     {:.1} s)",
                    self.tasks,
                    result.task.name(),
                    result.weight_decay,
                    result.train_fraction,
                    result.width,
                    result.task.seed,
                    result.class.outcome,
                    result.epochs,
                    result.wall_secs
                ));
            }
            Event::Finished { outcome, .. } => self.outcome = Some(outcome),
            Event::Refused { message } => self.line(message),
            Event::Started { .. }
            | Event::Metrics { .. }
            | Event::Progress { .. }
            | Event::Saved { .. }
            | Event::Changed { .. }
            | Event::Paused { .. }
            | Event::Lab { .. } => {}
        }
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
    let all = phase_tasks(cfg);
    let mine = match shard_of {
        Some((i, n)) => shard(&all, i, n),
        None => all,
    };
    let mut pending = vec![];
    for t in &mine {
        match load_result(out, cfg, t) {
            Stored::Done(_) => {}
            Stored::Missing => pending.push(*t),
            Stored::Unusable(why) => {
                eprintln!("redoing {}: {why}", t.file_name());
                pending.push(*t);
            }
        }
    }
    let skipped = mine.len() - pending.len();
    if let Some((i, n)) = shard_of {
        eprint!("shard {i}/{n}: ");
    }
    eprintln!(
        "{} runs, {skipped} already done, {} to run",
        mine.len(),
        pending.len()
    );
    let runs_dir = keep_runs.then(|| out.join(RUNS_SUBDIR));
    if let Some(d) = &runs_dir {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    let mut sink = FileSink {
        dir: out,
        bar: bar.then(|| super::task_bar(mine.len(), skipped)),
        skipped,
        tasks: mine.len(),
        written: 0,
        outcome: None,
        error: None,
    };
    let opts = PhaseOptions {
        tasks: Some(pending),
        runs_dir,
    };
    run(cfg, &opts, 1, &mut sink, &mut Unattended);
    if let Some(b) = &sink.bar {
        b.finish_and_clear();
    }
    if let Some(e) = sink.error {
        return Err(e.context(format!("writing into {}", out.display())));
    }
    let outcome = sink.outcome.context("the study ended without a result")?;
    if let Outcome::Failed { message } = &outcome {
        eprintln!("phase study failed: {message}");
    }
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
        tasks: mine.len(),
        skipped,
        written: sink.written,
        outcome,
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
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            PhaseStudyConfig::from_toml(&text).with_context(|| format!("in {}", path.display()))?
        }
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
    let report = phase_main(&cfg, out, shard_of, keep_runs, bar)?;
    print!("{}", cells_table(&report.cells));
    Ok(report)
}
