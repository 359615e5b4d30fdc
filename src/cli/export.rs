//! `grokscope export DIR`: the figures a folder can draw (`--list`), or one of them as PNG, SVG or
//! PDF with its CSV and JSON sidecars (`--figure NAME --format F --out FILE`).
//!
//! DIR is a Grokking run folder (`grokscope run`), a Capacity sweep folder (`grokscope sweep`) or an
//! Ordering study folder (`grokscope ordering`). The figures are those of [`crate::export::labs`], the
//! same functions the window's export uses.
//!
//! A run folder also draws the insight figures ([`crate::export::insight`]) at a checkpoint
//! (`--step N`, else the newest): the snapshot is recomputed from that checkpoint's weights, and the
//! JSON sidecar holds the config the run trained with there. `--figure clock` (the clocks and the
//! principal components) and `--figure insight` (all of them) write several figures: `--out` is then
//! a folder (files `NAME.FORMAT`) or a file whose stem each figure's name extends (`x.svg` ->
//! `x-grid.svg`).

use crate::analysis::capacity_study::{CChoice, analyse_with};
use crate::experiment::grokking::{final_keys_from_saved, insight_from_saved};
use crate::export::compare::{self as compare_fig, BandKind, CompareRun, RUN_PALETTE};
use crate::export::figure::{Body, Figure, FigureSize};
use crate::export::insight::{self, InsightInput};
use crate::export::labs;
use crate::export::render::{ExportOptions, FigureFormat, SCREEN_DPI, write_figure};
use crate::protocol::Metric;
use crate::store::compare::folder_history;
use crate::store::ordering::aggregate;
use crate::store::run_dir::{RunFolder, looks_like_run};
use crate::store::study_dir::StudyFolder;
use crate::store::sweep_dir::{CONFIG_FILE as SWEEP_CONFIG, collect_results};
use crate::train::insight::Prober;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

pub use crate::store::study_dir::{STUDY_CONFIG, STUDY_CSV, read_study_csv};

/// `--format` of `grokscope export`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatArg {
    /// PNG at --dpi (default 96).
    Png,
    /// SVG (vector).
    Svg,
    /// PDF (vector, font embedded).
    Pdf,
}

impl From<FormatArg> for FigureFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Png => FigureFormat::Png,
            FormatArg::Svg => FigureFormat::Svg,
            FormatArg::Pdf => FigureFormat::Pdf,
        }
    }
}

/// `--band` of `grokscope export RUN RUN… --group-by-seed`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BandArg {
    /// From the lowest to the highest run at each step (the window's default).
    MinMax,
    /// The mean plus and minus one sample standard deviation.
    Std,
}

impl From<BandArg> for BandKind {
    fn from(b: BandArg) -> Self {
        match b {
            BandArg::MinMax => BandKind::MinMax,
            BandArg::Std => BandKind::Std,
        }
    }
}

/// What kind of folder a figure source is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FolderKind {
    /// A Grokking run folder.
    Run,
    /// A Capacity sweep folder.
    Sweep,
    /// An Ordering study folder.
    Study,
    /// A Grokking phase study folder.
    Phase,
}

/// The figures a folder can draw, the config(s) behind them and what could not be read.
#[derive(Clone, Debug)]
pub struct FolderFigures {
    pub kind: FolderKind,
    pub figures: Vec<Figure>,
    /// Written as the JSON sidecar's `config`.
    pub config: serde_json::Value,
    /// Parts of the folder that could not be read (named on stderr; the rest is drawn).
    pub problems: Vec<String>,
}

fn folder_title(dir: &Path) -> String {
    dir.canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default()
}

/// Whether `dir` holds a file whose name `is_task` takes for a task's result file.
fn has_task_files(dir: &Path, is_task: impl Fn(&str) -> bool) -> bool {
    std::fs::read_dir(dir).is_ok_and(|it| {
        it.filter_map(|e| e.ok())
            .any(|e| e.file_name().to_str().is_some_and(&is_task))
    })
}

/// Which kind of folder `dir` is, or a message saying why it is none.
pub fn folder_kind(dir: &Path) -> Result<FolderKind> {
    if !dir.is_dir() {
        bail!("{}", crate::store::files::not_a_folder(dir));
    }
    let has = |n: &str| dir.join(n).exists();
    // (a phase study's result files alone are a phase study's, not a sweep's: they were read as
    // corrupt sweep results, "missing field `key`")
    let phase_task = |n: &str| crate::config::phase::PhaseTask::of_file_name(n).is_some();
    if has(crate::store::phase::CONFIG_FILE) || has_task_files(dir, phase_task) {
        Ok(FolderKind::Phase)
    } else if has(STUDY_CSV) {
        Ok(FolderKind::Study)
    } else if super::ordering::is_run_folder(dir) {
        // its config.toml and metrics.csv are not a Grokking run's: said, not read as damage
        bail!(
            "{} is an Ordering run folder (`grokscope ordering-run`), whose figures `export` does not \
             draw yet; draw its final layer with `grokscope orderedness --weights {} --figure heatmap \
             --out FILE` (or --figure graph)",
            dir.display(),
            dir.join(super::ordering::RUN_WEIGHTS).display()
        )
    } else if looks_like_run(dir) {
        Ok(FolderKind::Run)
    } else if has(SWEEP_CONFIG)
        || has_task_files(dir, |n| {
            crate::config::capacity::Task::of_file_name(n).is_some()
        })
    {
        Ok(FolderKind::Sweep)
    } else {
        // a folder that cannot be listed (no permission) is said to be that, not to hold nothing
        if let Err(e) = std::fs::read_dir(dir) {
            bail!("{}: {e}", dir.display());
        }
        bail!(
            "{} holds no figures: it is not a Grokking run folder (run.json, config.toml, metrics.csv), \
             a Capacity sweep folder ({SWEEP_CONFIG}, task-*.json), an Ordering study folder ({STUDY_CSV}) \
             or a phase study folder ({}){}",
            dir.display(),
            crate::store::phase::CONFIG_FILE,
            runs_inside_hint(dir)
        )
    }
}

fn study_figures(dir: &Path) -> Result<FolderFigures> {
    let study = StudyFolder::read(dir)
        .with_context(|| format!("reading {}", dir.join(STUDY_CSV).display()))?;
    let StudyFolder {
        rows,
        config: cfg,
        kind,
        problems,
    } = study;
    if rows.is_empty() {
        let why = if problems.is_empty() {
            String::new()
        } else {
            format!(" ({})", problems.join("; "))
        };
        bail!(
            "{} holds no usable row{why}, so there is nothing to draw",
            dir.join(STUDY_CSV).display()
        );
    }
    let title = cfg
        .as_ref()
        .map_or_else(|| folder_title(dir), |c| c.base.task.to_string());
    let stats = aggregate(&rows);
    Ok(FolderFigures {
        kind: FolderKind::Study,
        figures: labs::ordering_study_figures(kind, &title, &stats),
        config: serde_json::to_value(&cfg)?,
        problems,
    })
}

fn sweep_figures(dir: &Path, choice: &CChoice) -> Result<FolderFigures> {
    let c = collect_results(dir)?;
    let mut problems = c.notes.clone();
    problems.extend(c.missing.iter().map(|m| format!("missing: {m}")));
    problems.extend(
        c.unusable
            .iter()
            .map(|(f, why)| format!("skipped {f}: {why}")),
    );
    if c.results.is_empty() {
        // why: each task file's problem, or that there are none
        let why = if problems.is_empty() {
            "it has no task-*.json result file".to_string()
        } else {
            crate::config::list_some(&problems, 5, "; ")
        };
        bail!("{} holds no usable sweep results: {why}", dir.display());
    }
    // the config collect_results read (bounded, no link followed), not a second unbounded read
    let config = match &c.config {
        Some(cfg) => serde_json::to_value(cfg)?,
        None => serde_json::Value::Null,
    };
    let an = analyse_with(&c.results, choice);
    Ok(FolderFigures {
        kind: FolderKind::Sweep,
        figures: labs::capacity_figures(&c.results, &[], &an),
        config,
        problems,
    })
}

fn run_figures(dir: &Path) -> Result<FolderFigures> {
    let run = RunFolder::open(dir)?;
    Ok(FolderFigures {
        kind: FolderKind::Run,
        // the window's path (a listed run's history, then its figures), so both draw the same figure
        figures: labs::history_figures(
            &labs::GROKKING_PLOTS,
            &folder_title(dir),
            &folder_history(&run, 0, None),
            false,
        ),
        config: serde_json::to_value(&run.config)?,
        problems: run.problems,
    })
}

fn phase_figures(dir: &Path) -> Result<FolderFigures> {
    let c = crate::store::phase::collect(dir)?;
    let mut problems = vec![];
    if !c.missing.is_empty() {
        problems.push(format!(
            "{} of {} runs have no result yet (their cells are drawn from the runs that do)",
            c.missing.len(),
            c.config.task_count()
        ));
    }
    problems.extend(
        c.unusable
            .iter()
            .map(|(f, why)| format!("skipped {f}: {why}")),
    );
    let cells = crate::analysis::phase::phase_cells(&c.config, &c.runs);
    Ok(FolderFigures {
        kind: FolderKind::Phase,
        figures: labs::phase_figures(&c.config, &cells),
        config: serde_json::to_value(&*c.config)?,
        problems,
    })
}

/// Refuse a C given for a folder that is not a Capacity sweep (its figures have no C to use).
fn c_applies(dir: &Path, kind: FolderKind, c: &CChoice) -> Result<()> {
    let CChoice::Given(g) = c else {
        return Ok(());
    };
    let what = match kind {
        FolderKind::Sweep => return Ok(()),
        FolderKind::Run => "a Grokking run folder",
        FolderKind::Study => "an Ordering study folder",
        FolderKind::Phase => "a phase study folder",
    };
    bail!(
        "a capacity C ({}) is for a Capacity sweep folder's figures, and {} is {what}",
        g.source(),
        dir.display()
    )
}

/// The figures of the folder `dir`, whatever its kind.
pub fn folder_figures(dir: &Path) -> Result<FolderFigures> {
    folder_figures_with(dir, &CChoice::Auto)
}

/// [`folder_figures`] with the capacity C of `c` for a Capacity sweep's speed model (`--c`,
/// `--c-from`); a C given for a folder of another kind is refused, naming the kind.
pub fn folder_figures_with(dir: &Path, c: &CChoice) -> Result<FolderFigures> {
    let kind = folder_kind(dir)?;
    c_applies(dir, kind, c)?;
    match kind {
        FolderKind::Run => run_figures(dir),
        FolderKind::Sweep => sweep_figures(dir, c),
        FolderKind::Study => study_figures(dir),
        FolderKind::Phase => phase_figures(dir),
    }
}

/// " (it holds 3 run folders: give them, `grokscope export DIR/*`, to compare them)" when the
/// folder `dir` is a parent of run folders; empty otherwise.
fn runs_inside_hint(dir: &Path) -> String {
    let runs = std::fs::read_dir(dir).map_or(0, |it| {
        it.filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir() && looks_like_run(&e.path()))
            .count()
    });
    if runs == 0 {
        return String::new();
    }
    format!(
        " (it holds {runs} run folder{}: give them, e.g. `grokscope export {}/* --figure \
         compare_accuracy …`, to compare them)",
        if runs == 1 { "" } else { "s" },
        dir.display()
    )
}

/// The names of the figures of runs compared, for messages.
fn compare_names() -> String {
    labs::GROKKING_PLOTS
        .iter()
        .map(|p| format!("compare_{}", p.id))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What kind of folder `kind` is, in a sentence's words.
fn kind_words(kind: FolderKind) -> &'static str {
    match kind {
        FolderKind::Run => "a Grokking run folder",
        FolderKind::Sweep => "a Capacity sweep folder",
        FolderKind::Study => "an Ordering study folder",
        FolderKind::Phase => "a phase study folder",
    }
}

/// The figures of the Grokking run folders `dirs` compared (`compare_accuracy`, …), as the window
/// draws the runs it compares ([`crate::export::compare::compare_figures`]): each run in the
/// window's colours in turn, or (`by_seed`) runs trained alike but for the seed as their mean with a
/// `band`. Refused, naming the folder and why: a folder that is not a run (another lab's figures are
/// not curves over a run's steps), a run with no logged row, a folder given twice. Nothing is written
/// to the run folders (they are only read).
pub fn compare_folder_figures(
    dirs: &[PathBuf],
    by_seed: bool,
    band: BandKind,
) -> Result<FolderFigures> {
    if dirs.len() < 2 {
        bail!(
            "runs are compared from two or more run folders ({} given)",
            dirs.len()
        );
    }
    let mut seen: Vec<(PathBuf, &Path)> = Vec::new();
    let mut folders = Vec::new();
    let mut problems = Vec::new();
    for dir in dirs {
        let kind = folder_kind(dir)?;
        if kind != FolderKind::Run {
            bail!(
                "{} is {}, not a Grokking run folder: runs are compared by their curves over the \
                 optimiser steps, which only a run folder holds (export it on its own)",
                dir.display(),
                kind_words(kind)
            );
        }
        let real = dir
            .canonicalize()
            .with_context(|| format!("reading {}", dir.display()))?;
        if let Some((_, earlier)) = seen.iter().find(|(r, _)| *r == real) {
            bail!(
                "{} and {} are the same run folder: each run is compared once",
                earlier.display(),
                dir.display()
            );
        }
        seen.push((real, dir));
        let run = RunFolder::open(dir)?;
        if run.rows.is_empty() {
            let why = if run.problems.is_empty() {
                String::new()
            } else {
                format!(" ({})", crate::config::list_some(&run.problems, 3, "; "))
            };
            bail!(
                "{} has no logged metrics to draw{why}: leave it out of the comparison",
                dir.display()
            );
        }
        problems.extend(
            run.problems
                .iter()
                .map(|p| format!("{}: {p}", dir.display())),
        );
        folders.push(run);
    }
    let histories: Vec<_> = folders
        .iter()
        .map(|run| folder_history(run, 0, None))
        .collect();
    // each run by its folder's name, or where two end alike (runs/a/seed1, runs/b/seed1) by the
    // shortest end of its path that tells it apart, as the window's runs list names them
    let real: Vec<&Path> = seen.iter().map(|(r, _)| r.as_path()).collect();
    let names = crate::store::files::distinct_folder_names(&real);
    // the window's colours for runs opened beside its current run: the palette from its second
    let runs: Vec<CompareRun<'_>> = names
        .iter()
        .zip(&histories)
        .zip(&folders)
        .enumerate()
        .map(|(i, ((name, history), run))| CompareRun {
            name: name.clone(),
            history,
            color: RUN_PALETTE[(i + 1) % RUN_PALETTE.len()],
            is_current: false,
            fork_step: run
                .info
                .as_ref()
                .and_then(|i| i.parent.as_ref())
                .map(|p| p.step),
        })
        .collect();
    let groups = compare_fig::groups(&runs, by_seed);
    if by_seed && groups.iter().all(|g| g.len() == 1) {
        problems.push(
            "--group-by-seed: no two runs were trained alike but for their seed (the same config, \
             changes mid-run and fork step), so each is drawn on its own"
                .into(),
        );
    }
    let mut figures = compare_fig::compare_figures(&runs, &groups, band, false);
    // runs of other tasks are drawn together, as the window draws them, and said to differ
    let task_text = |c: &crate::config::GrokkingConfig| format!("a {} b mod {}", c.op, c.p);
    let tasks: Vec<String> = histories
        .iter()
        .zip(&names)
        .map(|(h, name)| {
            h.config().map_or_else(
                || format!("{name}: task unknown"),
                |c| format!("{name}: {}", task_text(c)),
            )
        })
        .collect();
    let first_task = histories[0].config().map(task_text);
    if histories
        .iter()
        .any(|h| h.config().map(task_text) != first_task)
    {
        let note = format!("The runs' tasks differ: {}.", tasks.join("; "));
        for f in &mut figures {
            f.notes.push(note.clone());
        }
    }
    let config = serde_json::Value::Array(
        folders
            .iter()
            .zip(dirs)
            .map(|(run, dir)| {
                serde_json::json!({ "folder": dir.display().to_string(), "config": run.config })
            })
            .collect(),
    );
    Ok(FolderFigures {
        kind: FolderKind::Run,
        figures,
        config,
        problems,
    })
}

/// `--smoothing` checked: `None` when absent or 0; refused outside 0 to
/// [`crate::analysis::smooth::MAX_WEIGHT`]. Said to be ignored where it does not apply (runs compared,
/// insight figures).
fn smoothing_of(a: &ExportArgs) -> Result<Option<crate::analysis::smooth::Weight>> {
    use crate::analysis::smooth::{MAX_WEIGHT, Weight};
    let Some(w) = a.smoothing else {
        return Ok(None);
    };
    if !(0.0..=MAX_WEIGHT).contains(&w) {
        bail!("--smoothing {w} is outside the allowed range 0 to {MAX_WEIGHT}");
    }
    let insight = a.figure.as_deref().is_some_and(insight::is_insight);
    if !a.also.is_empty() || insight {
        eprintln!("--smoothing applies to a single run folder's metric figures; ignored");
        return Ok(None);
    }
    Ok(Some(Weight::new(w)).filter(|w| w.is_on()))
}

/// Options of `grokscope export`.
#[derive(Clone, Debug, Default)]
pub struct ExportArgs {
    /// The run, sweep or study folder (the first run folder of several compared).
    pub dir: PathBuf,
    /// More run folders, compared with `dir` (`compare_*` figures).
    pub also: Vec<PathBuf>,
    /// Runs compared that differ only by their seed are drawn as their mean with a band.
    pub group_by_seed: bool,
    /// The band of a seed group; `None`: min–max.
    pub band: Option<BandKind>,
    /// Only list the figures.
    pub list: bool,
    /// The figure to write (a name from the list).
    pub figure: Option<String>,
    /// The format; `None` takes it from the extension of `out`.
    pub format: Option<FigureFormat>,
    /// PNG resolution; `None` is screen resolution (96).
    pub dpi: Option<f64>,
    /// Width in inches; `None` is the one-column default.
    pub width_in: Option<f64>,
    /// Height in inches; `None` is the default.
    pub height_in: Option<f64>,
    /// The figure file (its sidecars go beside it); a folder, or a stem, for several figures.
    pub out: Option<PathBuf>,
    /// The checkpoint step of a run's insight figures; `None`: the newest checkpoint.
    pub step: Option<u64>,
    /// The ablation figure with each saved step's own key frequencies, not the final model's.
    pub own_keys: bool,
    /// Display smoothing of a run folder's metric figures ([`labs::smooth_figures`]); `None`: off.
    pub smoothing: Option<f64>,
}

/// A run's insight figures at one checkpoint.
#[derive(Clone, Debug)]
pub struct InsightFigures {
    /// The checkpoint's step.
    pub step: u64,
    pub figures: Vec<Figure>,
    /// The config the run trained with at that checkpoint (the JSON sidecar's `config`).
    pub config: serde_json::Value,
    /// Parts of the folder that could not be read (named on stderr; the rest is drawn).
    pub problems: Vec<String>,
}

/// Steps as text for a message: all of them, or the first and last few of a long list.
fn steps_text(steps: &[u64]) -> String {
    let text = |s: &[u64]| s.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    if steps.len() <= 24 {
        text(steps)
    } else {
        format!(
            "{}, … ({} in all) …, {}",
            text(&steps[..10]),
            steps.len(),
            text(&steps[steps.len() - 10..])
        )
    }
}

/// What the insight figures of a run folder draw from besides the saved weights of their step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FromSaved {
    /// The step's weights alone.
    #[default]
    Step,
    /// Every saved step's snapshot too (the spectrum's history, the ablation curves with each
    /// step's own key frequencies).
    History,
    /// The history, and the restricted and excluded loss of every saved step ablated with the
    /// final model's key frequencies (the newest saved weights'), as Nanda et al. and as the window
    /// draws them once a run has ended (a second pass over the saved weights).
    FinalKeys,
}

/// The insight figures of the run folder `dir` at the saved weights of `step` (a checkpoint or a
/// frame; `None`: the newest), recomputed from them, with what `from` asks of the other saved steps.
/// A step without saved weights is refused, naming those there are.
pub fn insight_folder_figures(
    dir: &Path,
    step: Option<u64>,
    from: FromSaved,
) -> Result<InsightFigures> {
    let run = RunFolder::open(dir)?;
    let saved = run.weights();
    let steps: Vec<u64> = saved.iter().map(|w| w.file.step).collect();
    let Some(newest) = saved.last() else {
        bail!(
            "{} has no checkpoints or frames: the insight figures are recomputed from saved weights",
            dir.display()
        );
    };
    let w = match step {
        None => newest,
        Some(n) => saved.iter().find(|w| w.file.step == n).with_context(|| {
            format!(
                "{} has no checkpoint or frame at step {n}; the steps with one are {}",
                dir.display(),
                steps_text(&steps)
            )
        })?,
    };
    let c = &w.file;
    let (config, model) = run.load_weights(w).with_context(|| {
        // the newest one damaged: the others may still be read
        let others: Vec<u64> = steps.iter().copied().filter(|&s| s != c.step).collect();
        let hint = if step.is_none() && !others.is_empty() {
            format!(
                " (give --step with another saved step: {})",
                steps_text(&others)
            )
        } else {
            String::new()
        };
        format!("reading the weights at step {}{hint}", c.step)
    })?;
    crate::experiment::grokking::insight_fits(&config).map_err(anyhow::Error::msg)?;
    let mut prober = Prober::new(&config);
    let snap = prober
        .snapshot(&model, c.step, c.epoch)
        .with_context(|| format!("the insight measures at step {}", c.step))?;
    let mut problems = run.problems.clone();
    let mut snaps = vec![];
    if from != FromSaved::Step {
        insight_from_saved(&run, &mut |r| {
            match r {
                Ok(s) => snaps.push(s),
                Err(e) => problems.push(format!("left out of the history: {e}")),
            }
            true
        });
    }
    // the final model's keys: those the newest readable snapshot ablated with
    let final_keys = match snaps.last().and_then(|s| s.ablation.as_ref()) {
        Some(ab) if from == FromSaved::FinalKeys => ab.keys.clone(),
        _ => vec![],
    };
    let mut finals: [Vec<[f64; 2]>; 2] = Default::default();
    if !final_keys.is_empty() {
        final_keys_from_saved(&run, &final_keys, &mut |r| {
            // weights that cannot be read were named by the first pass
            if let Ok((step, _, ab)) = r {
                for (points, part) in finals.iter_mut().zip([ab.restricted, ab.excluded]) {
                    if let Some(v) = part.filter(|v| v.loss.is_finite()) {
                        points.push([step as f64, v.loss]);
                    }
                }
            }
            true
        });
    }
    let hist = folder_history(&run, 0, None);
    let losses = |m: Metric| match m {
        Metric::RestrictedLossFinal => finals[0].clone(),
        Metric::ExcludedLossFinal => finals[1].clone(),
        _ => labs::history_points(&hist, m),
    };
    let milestones = labs::history_markers(hist.markers());
    let figures = insight::insight_figures(&InsightInput {
        snap: &snap,
        split: prober.split(),
        history: &snaps,
        losses: &losses,
        final_keys: &final_keys,
        milestones: &milestones,
    })
    .with_context(|| format!("drawing the weights at step {}", c.step))?;
    Ok(InsightFigures {
        step: c.step,
        figures,
        config: serde_json::to_value(&config)?,
        problems,
    })
}

/// `grokscope export RUN --figure NAME` for an insight figure or group: write each figure `wanted`
/// selects at the checkpoint step.
fn insight_main(a: &ExportArgs, wanted: &str) -> Result<()> {
    let from = if !insight::needs_history(wanted) {
        FromSaved::Step
    } else if a.own_keys || !insight::draws_ablation(wanted) {
        FromSaved::History
    } else {
        FromSaved::FinalKeys
    };
    let ff = insight_folder_figures(&a.dir, a.step, from)?;
    for p in &ff.problems {
        eprintln!("{}: {p}", a.dir.display());
    }
    let chosen: Vec<&Figure> = ff
        .figures
        .iter()
        .filter(|f| insight::selects(wanted, &f.name))
        .collect();
    if chosen.is_empty() {
        let names: Vec<&str> = ff.figures.iter().map(|f| f.name.as_str()).collect();
        bail!(
            "no figure {wanted:?} at step {} of {} (it has: {}; groups: {}, {})",
            ff.step,
            a.dir.display(),
            names.join(", "),
            insight::GROUP_CLOCK,
            insight::GROUP_ALL
        );
    }
    let Some(out) = &a.out else {
        bail!("--out FILE (or a folder, for several figures) is required to write a figure");
    };
    let choice = FigureChoice {
        format: a.format,
        dpi: a.dpi,
        width_in: a.width_in,
        height_in: a.height_in,
    };
    // (a folder named `DIR/` is made first, whether one figure goes in it or several)
    let folder = out_folder(out)?;
    let single = chosen.len() == 1 && !folder;
    for fig in chosen {
        let path = if single {
            out.clone()
        } else {
            figure_path(out, &fig.name, a.format)?
        };
        write_one(fig, &path, &choice, &ff.config)
            .with_context(|| format!("figure {} at step {}", fig.name, ff.step))?;
    }
    Ok(())
}

/// Whether `--out` names a folder: an existing one, or a path ending in `/`, made here inside a folder
/// that exists (one folder, never a mistyped chain of them).
fn out_folder(out: &Path) -> Result<bool> {
    if out.is_dir() {
        return Ok(true);
    }
    if !out
        .as_os_str()
        .to_string_lossy()
        .ends_with(['/', std::path::MAIN_SEPARATOR])
    {
        return Ok(false);
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        bail!(
            "the folder {} does not exist (create it first); nothing was written",
            parent.display()
        );
    }
    std::fs::create_dir(out)
        .with_context(|| format!("cannot create the folder {}", out.display()))?;
    Ok(true)
}

/// The format of the figure file `out`: `given` (`--format`), else its extension's. A figure extension
/// that differs from `--format` is refused (SVG was written into a `.png` file without a word).
fn format_for(out: &Path, given: Option<FigureFormat>) -> Result<FigureFormat> {
    let ext = out.extension().and_then(|e| e.to_str());
    let by_ext = ext.and_then(FigureFormat::parse);
    match (given, by_ext) {
        (Some(g), Some(e)) if g != e => bail!(
            "{} ends in .{} but --format {} was given: make them agree (or leave --format out)",
            out.display(),
            ext.unwrap_or_default(),
            g.extension()
        ),
        (Some(f), _) | (None, Some(f)) => Ok(f),
        (None, None) => bail!(
            "give --format png|svg|pdf (it cannot be told from {})",
            out.display()
        ),
    }
}

/// Where one of several figures goes: `NAME.FORMAT` in the folder `out`, or `STEM-NAME.EXT` beside
/// the file `out` (its extension, or `format`'s).
fn figure_path(out: &Path, name: &str, format: Option<FigureFormat>) -> Result<PathBuf> {
    let stem = crate::export::render::file_stem(name);
    if out.is_dir() {
        let f = format.with_context(|| {
            format!(
                "give --format png|svg|pdf to write into the folder {} (a figure goes there as \
                 NAME.FORMAT)",
                out.display()
            )
        })?;
        return Ok(out.join(format!("{stem}.{}", f.extension())));
    }
    let ext = format_for(out, format)?.extension();
    let base = out
        .file_stem()
        .map_or_else(|| "figure".into(), |s| s.to_string_lossy().into_owned());
    Ok(out.with_file_name(format!("{base}-{stem}.{ext}")))
}

/// The insight figures a run folder draws from its weights, as an unknown figure's message names them.
const INSIGHT_NAMES: &str = "; from its weights (at --step): spectrum, spectrum-history, clock-kN (one \
     of the key frequencies), pca, grid, neurons, ablation, and the groups clock and insight (--list \
     names them at the newest step)";

/// A plot with no point to draw (an empty frame, which `export` refuses).
fn no_data(fig: &Figure) -> bool {
    matches!(fig.body, Body::Plot) && fig.series.iter().all(|s| s.points.is_empty())
}

/// `grokscope export`: list the folder's figures, or write one (with its sidecars) and name the files.
pub fn export_main(a: &ExportArgs) -> Result<()> {
    export_main_with(a, &CChoice::Auto)
}

/// [`export_main`] with the capacity C of `c` for a Capacity sweep's figures (`--c`, `--c-from`).
pub fn export_main_with(a: &ExportArgs, c: &CChoice) -> Result<()> {
    let smoothing = smoothing_of(a)?;
    if !a.also.is_empty() {
        return compare_main(a, c);
    }
    if a.group_by_seed {
        bail!(
            "--group-by-seed groups runs compared: give two or more run folders ({} was given \
             alone)",
            a.dir.display()
        );
    }
    if a.band.is_some() {
        eprintln!("--band applies to runs compared with --group-by-seed; ignored");
    }
    if let Some(name) = a.figure.as_deref().filter(|n| n.starts_with("compare_")) {
        bail!(
            "{name} compares runs: give two or more run folders (`grokscope export RUN RUN… \
             --figure {name}`); {} was given alone",
            a.dir.display()
        );
    }
    if matches!(c, CChoice::Given(_)) {
        c_applies(&a.dir, folder_kind(&a.dir)?, c)?;
    }
    if let Some(wanted) = a.figure.as_deref().filter(|w| insight::is_insight(w))
        && !a.list
        && folder_kind(&a.dir)? == FolderKind::Run
    {
        return insight_main(a, wanted);
    }
    let mut ff = folder_figures_with(&a.dir, c)?;
    if let Some(w) = smoothing {
        if ff.kind == FolderKind::Run {
            labs::smooth_figures(&mut ff.figures, w);
        } else {
            eprintln!("--smoothing applies to a run folder's metric figures; ignored");
        }
    }
    for p in &ff.problems {
        eprintln!("{}: {p}", a.dir.display());
    }
    if a.list {
        for f in &ff.figures {
            // a figure the folder has nothing for is listed as such: it was offered, then refused
            // (a sweep without capacity runs and its memorised-bits figures: a helper's audit)
            let empty = if no_data(f) {
                "\t(no data in this folder: refused)"
            } else {
                ""
            };
            outln!("{}\t{}{empty}", f.name, f.title)?;
        }
        if ff.kind == FolderKind::Run {
            list_insight(a)?;
        }
        return Ok(());
    }
    let names = || {
        let mut names = ff
            .figures
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        // a run folder also draws the insight figures (not listed here: that reads its weights)
        if ff.kind == FolderKind::Run {
            names.push_str(INSIGHT_NAMES);
        }
        names
    };
    let Some(name) = &a.figure else {
        bail!(
            "name a figure with --figure (this folder has: {}), or use --list",
            names()
        );
    };
    let Some(fig) = ff.figures.iter().find(|f| &f.name == name) else {
        bail!(
            "no figure {name:?} in {} (it has: {})",
            a.dir.display(),
            names()
        );
    };
    // a plot with no point is an empty frame (a run with no rows drew one and said nothing)
    if no_data(fig) {
        // the folder's problems may be why, or not (a sweep too small for the figure)
        let why = if ff.problems.is_empty() {
            String::new()
        } else {
            format!(
                " (what the folder could not give, which may be why: {})",
                crate::config::list_some(&ff.problems, 5, "; ")
            )
        };
        bail!(
            "{} has no data for the figure {name}; nothing was written{why}",
            a.dir.display()
        );
    }
    write_chosen(a, fig, &ff.config)
}

/// `grokscope export RUN RUN…`: list or write the figures of the runs compared.
fn compare_main(a: &ExportArgs, c: &CChoice) -> Result<()> {
    if let CChoice::Given(g) = c {
        bail!(
            "a capacity C ({}) is for a Capacity sweep folder's figures, and runs compared are \
             Grokking run folders",
            g.source()
        );
    }
    let dirs: Vec<PathBuf> = std::iter::once(a.dir.clone())
        .chain(a.also.iter().cloned())
        .collect();
    if a.band.is_some() && !a.group_by_seed {
        eprintln!("--band applies with --group-by-seed (a group's spread); ignored");
    }
    let ff = compare_folder_figures(&dirs, a.group_by_seed, a.band.unwrap_or(BandKind::MinMax))?;
    for p in &ff.problems {
        eprintln!("{p}");
    }
    if a.list {
        for f in &ff.figures {
            outln!("{}\t{}", f.name, f.title)?;
        }
        return Ok(());
    }
    let Some(name) = &a.figure else {
        bail!(
            "name a figure with --figure (runs compared draw: {}), or use --list",
            compare_names()
        );
    };
    let Some(fig) = ff.figures.iter().find(|f| &f.name == name) else {
        let why = if insight::is_insight(name) {
            " (an insight figure is one run's weights at a step: export it from one run folder)"
        } else {
            ""
        };
        bail!(
            "no figure {name:?} for runs compared{why}; they draw: {}",
            compare_names()
        );
    };
    if no_data(fig) {
        bail!("the runs compared have no data for the figure {name}; nothing was written");
    }
    write_chosen(a, fig, &ff.config)
}

/// Write the one figure `--figure` chose, into `--out` (a file, or a folder where it is named after
/// the figure), saying which options of `a` do not apply to it.
fn write_chosen(a: &ExportArgs, fig: &Figure, config: &serde_json::Value) -> Result<()> {
    if a.step.is_some() {
        eprintln!("--step applies to the insight figures only; ignored");
    }
    if a.own_keys {
        eprintln!("--own-keys applies to a run's ablation figure only; ignored");
    }
    let Some(out) = &a.out else {
        bail!("--out FILE is required to write a figure");
    };
    // `--out DIR/` (or an existing folder): the figure goes in it, named after the figure
    let out = if out_folder(out)? {
        figure_path(out, &fig.name, a.format)?
    } else {
        out.clone()
    };
    write_one(
        fig,
        &out,
        &FigureChoice {
            format: a.format,
            dpi: a.dpi,
            width_in: a.width_in,
            height_in: a.height_in,
        },
        config,
    )
}

/// `--list` of a run folder: the insight figures at the checkpoint step, and the groups; a folder
/// without a usable checkpoint says why on stderr.
fn list_insight(a: &ExportArgs) -> Result<()> {
    match insight_folder_figures(&a.dir, a.step, FromSaved::Step) {
        Ok(ins) => {
            for f in &ins.figures {
                outln!("{}\t{}", f.name, f.title)?;
            }
            outln!(
                "{}\tthe clocks and the principal components, step {}",
                insight::GROUP_CLOCK,
                ins.step
            )?;
            outln!(
                "{}\tevery insight figure, step {}",
                insight::GROUP_ALL,
                ins.step
            )?;
        }
        Err(e) => eprintln!("no insight figures: {e:#}"),
    }
    Ok(())
}

/// How to write a figure from the command line: each `None` takes its default.
#[derive(Clone, Copy, Debug, Default)]
pub struct FigureChoice {
    /// The format; `None` takes it from the extension of the file.
    pub format: Option<FigureFormat>,
    /// PNG resolution; `None` is screen resolution (96).
    pub dpi: Option<f64>,
    /// Width in inches; `None` is the one-column default.
    pub width_in: Option<f64>,
    /// Height in inches; `None` is the default.
    pub height_in: Option<f64>,
}

/// The options of a figure to `out` as `a` says, checked (format, size, DPI, the folder, the sidecars)
/// before anything is computed or written.
pub fn figure_options(out: &Path, a: &FigureChoice) -> Result<ExportOptions> {
    let format = format_for(out, a.format)?;
    let default = FigureSize::default();
    let opts = ExportOptions {
        format,
        size: FigureSize {
            width_in: a.width_in.unwrap_or(default.width_in),
            height_in: a.height_in.unwrap_or(default.height_in),
        },
        dpi: a.dpi.unwrap_or(SCREEN_DPI),
    };
    opts.check()?;
    crate::export::render::exported_files(out)?;
    Ok(opts)
}

/// Write `fig` to `out` (with its CSV and JSON sidecars, `config` in the JSON) as `a` says, and name
/// the files on stderr. `grokscope export` and `grokscope orderedness --figure` both write with it.
pub fn write_one(
    fig: &Figure,
    out: &Path,
    a: &FigureChoice,
    config: &serde_json::Value,
) -> Result<()> {
    let opts = figure_options(out, a)?;
    if a.dpi.is_some() && opts.format != FigureFormat::Png {
        eprintln!(
            "--dpi applies to PNG only; {} is a vector format",
            opts.format.extension()
        );
    }
    let files = write_figure(out, fig, &opts, config)?;
    eprintln!(
        "wrote {}, {} and {}",
        files.figure.display(),
        files.csv.display(),
        files.json.display()
    );
    Ok(())
}
