//! `grokscope export DIR`: the figures a folder can draw (`--list`), or one of them as PNG, SVG or
//! PDF with its CSV and JSON sidecars (`--figure NAME --format F --out FILE`).
//!
//! DIR is a Grokking run folder (`grokscope run`), a Capacity sweep folder (`grokscope sweep`) or an
//! Ordering study folder (`grokscope ordering`). The figures are those of [`crate::export::labs`], the
//! same functions the window's export uses.

use crate::analysis::capacity_study::analyse;
use crate::config::ordering::{OrderingStudyConfig, Scheme, StudyKind};
use crate::export::figure::{Figure, FigureSize};
use crate::export::labs;
use crate::export::render::{ExportOptions, FigureFormat, SCREEN_DPI, write_figure};
use crate::protocol::StudyRow;
use crate::store::compare::folder_history;
use crate::store::ordering::aggregate;
use crate::store::run_dir::{RunFolder, looks_like_run};
use crate::store::sweep_dir::{CONFIG_FILE as SWEEP_CONFIG, collect_results};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// The Ordering study's rows file.
pub const STUDY_CSV: &str = "study.csv";
/// The Ordering study's config file.
pub const STUDY_CONFIG: &str = "config.json";

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

fn has_task_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|it| {
        it.filter_map(|e| e.ok()).any(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with("task-") && n.ends_with(".json"))
        })
    })
}

/// Which kind of folder `dir` is, or a message saying why it is none.
pub fn folder_kind(dir: &Path) -> Result<FolderKind> {
    if !dir.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    let has = |n: &str| dir.join(n).exists();
    if has(crate::store::phase::CONFIG_FILE) {
        Ok(FolderKind::Phase)
    } else if has(STUDY_CSV) {
        Ok(FolderKind::Study)
    } else if looks_like_run(dir) {
        Ok(FolderKind::Run)
    } else if has(SWEEP_CONFIG) || has_task_files(dir) {
        Ok(FolderKind::Sweep)
    } else {
        bail!(
            "{} holds no figures: it is not a Grokking run folder (run.json, config.toml, metrics.csv), \
             a Capacity sweep folder ({SWEEP_CONFIG}, task-*.json), an Ordering study folder ({STUDY_CSV}) \
             or a phase study folder ({})",
            dir.display(),
            crate::store::phase::CONFIG_FILE
        )
    }
}

/// The rows of a `study.csv`; rows that cannot be read are named in `problems` and left out.
pub fn read_study_csv(text: &str, problems: &mut Vec<String>) -> Vec<StudyRow> {
    let mut rows = vec![];
    let mut r = ::csv::Reader::from_reader(text.as_bytes());
    for (i, rec) in r.deserialize::<StudyRow>().enumerate() {
        match rec {
            Ok(row) => rows.push(row),
            // line i + 2: the header is line 1
            Err(e) => problems.push(format!("{STUDY_CSV} line {}: {e}; left out", i + 2)),
        }
    }
    rows
}

fn study_figures(dir: &Path) -> Result<FolderFigures> {
    let path = dir.join(STUDY_CSV);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut problems = vec![];
    let rows = read_study_csv(&text, &mut problems);
    let cfg: Option<OrderingStudyConfig> = match std::fs::read_to_string(dir.join(STUDY_CONFIG)) {
        Ok(t) => match serde_json::from_str(&t) {
            Ok(c) => Some(c),
            Err(e) => {
                problems.push(format!(
                    "{STUDY_CONFIG} is unusable ({e}); the study kind is guessed from the rows"
                ));
                None
            }
        },
        Err(e) => {
            problems.push(format!(
                "{STUDY_CONFIG}: {e}; the study kind is guessed from the rows"
            ));
            None
        }
    };
    // without a config: a grid study has only unpruned runs, a sparsity study pruned ones too
    let kind = cfg.as_ref().map_or_else(
        || {
            if rows.iter().any(|r| r.scheme != Scheme::None) {
                StudyKind::Sparsity
            } else {
                StudyKind::Grid
            }
        },
        |c| c.kind,
    );
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

fn sweep_figures(dir: &Path) -> Result<FolderFigures> {
    let c = collect_results(dir)?;
    let mut problems = c.notes.clone();
    problems.extend(c.missing.iter().map(|m| format!("missing: {m}")));
    problems.extend(
        c.unusable
            .iter()
            .map(|(f, why)| format!("skipped {f}: {why}")),
    );
    if c.results.is_empty() {
        bail!("{} holds no usable sweep results", dir.display());
    }
    let config = match std::fs::read_to_string(dir.join(SWEEP_CONFIG)) {
        Ok(t) => match crate::config::CapacitySweepConfig::from_toml(&t) {
            Ok(cfg) => serde_json::to_value(&cfg)?,
            Err(_) => serde_json::Value::Null,
        },
        Err(_) => serde_json::Value::Null,
    };
    let an = analyse(&c.results);
    Ok(FolderFigures {
        kind: FolderKind::Sweep,
        figures: labs::capacity_figures(&c.results, &an),
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

/// The figures of the folder `dir`, whatever its kind.
pub fn folder_figures(dir: &Path) -> Result<FolderFigures> {
    match folder_kind(dir)? {
        FolderKind::Run => run_figures(dir),
        FolderKind::Sweep => sweep_figures(dir),
        FolderKind::Study => study_figures(dir),
        FolderKind::Phase => phase_figures(dir),
    }
}

/// Options of `grokscope export`.
#[derive(Clone, Debug)]
pub struct ExportArgs {
    /// The run, sweep or study folder.
    pub dir: PathBuf,
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
    /// The figure file (its sidecars go beside it).
    pub out: Option<PathBuf>,
}

/// `grokscope export`: list the folder's figures, or write one (with its sidecars) and name the files.
pub fn export_main(a: &ExportArgs) -> Result<()> {
    let ff = folder_figures(&a.dir)?;
    for p in &ff.problems {
        eprintln!("{}: {p}", a.dir.display());
    }
    if a.list {
        for f in &ff.figures {
            println!("{}\t{}", f.name, f.title);
        }
        return Ok(());
    }
    let names = || {
        ff.figures
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
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
    let Some(out) = &a.out else {
        bail!("--out FILE is required to write a figure");
    };
    write_one(
        fig,
        out,
        &FigureChoice {
            format: a.format,
            dpi: a.dpi,
            width_in: a.width_in,
            height_in: a.height_in,
        },
        &ff.config,
    )
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

/// Write `fig` to `out` (with its CSV and JSON sidecars, `config` in the JSON) as `a` says, and name
/// the files on stderr. `grokscope export` and `grokscope orderedness --figure` both write with it.
pub fn write_one(
    fig: &Figure,
    out: &Path,
    a: &FigureChoice,
    config: &serde_json::Value,
) -> Result<()> {
    let format = match a.format {
        Some(f) => f,
        None => out
            .extension()
            .and_then(|e| e.to_str())
            .and_then(FigureFormat::parse)
            .with_context(|| {
                format!(
                    "give --format png|svg|pdf (it cannot be told from {})",
                    out.display()
                )
            })?,
    };
    let default = FigureSize::default();
    let opts = ExportOptions {
        format,
        size: FigureSize {
            width_in: a.width_in.unwrap_or(default.width_in),
            height_in: a.height_in.unwrap_or(default.height_in),
        },
        dpi: a.dpi.unwrap_or(SCREEN_DPI),
    };
    if a.dpi.is_some() && format != FigureFormat::Png {
        eprintln!(
            "--dpi applies to PNG only; {} is a vector format",
            format.extension()
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
