//! The command line: the subcommands, one file per command family ([`run`]: run, resume, fork and
//! presets; [`capacity`]: sweep, merge, analyse; [`ordering`]: ordering and orderedness; [`export`];
//! [`bench`]). `main.rs` opens the window when no subcommand is given; this module never names the app.

/// `println!` to standard output, but a failed write (a full disk, a closed pipe) is an error naming
/// standard output, where `println!` panics.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
            .map_err(|e| anyhow::anyhow!("cannot write to standard output: {e}"))
    }};
}

/// `print!` as [`outln!`] is `println!`, flushed (the last of a command's output ends no line early).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        write!(stdout, $($arg)*)
            .and_then(|()| stdout.flush())
            .map_err(|e| anyhow::anyhow!("cannot write to standard output: {e}"))
    }};
}

/// `n` and `noun`, plural but for one: "1 task", "2 tasks".
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

pub mod bench;
pub mod capacity;
pub mod export;
pub mod lesson;
pub mod ordering;
pub mod phase;
pub mod run;
pub mod study;

use crate::protocol::Outcome;
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "grokscope",
    version,
    about = "Watch small neural networks learn, live. With no command, opens the window."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Cmd>,
    /// Where the window's transformers train: auto (a GPU when one works, else the CPU), cpu, cuda
    /// or cuda:N; the commands that train take their own `--device`.
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<crate::model::device::DeviceRequest>,
    /// The window (no subcommand) opens playing this lesson: a bundled one's name (see `grokscope
    /// lesson list`) or a lesson file.
    #[arg(long, value_name = "LESSON")]
    pub lesson: Option<String>,
    /// The window opens in the presenter view (large text, thick lines; Esc leaves it).
    #[arg(long)]
    pub presenter: bool,
    /// The window opens this scene (saved from the Lessons window).
    #[arg(long, value_name = "FILE")]
    pub scene: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Train one Grokking-lab config headless into a run folder: config.toml, metrics.csv, events.jsonl,
    /// run.json, checkpoints/ (safetensors, with optimiser and generator state) and summary.json.
    Run {
        /// A TOML config (see `grokscope presets --show NAME`).
        #[arg(long)]
        config: PathBuf,
        /// Output folder (created if missing; must not hold a run already).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        flags: RunFlags,
    },
    /// Continue a saved run from its newest checkpoint to its config's end, in its own folder; the
    /// metrics are bit for bit those of a run never interrupted.
    Resume {
        /// The run folder.
        dir: PathBuf,
        /// A folder DIR cannot be continued in (a table in it could not be read in full) is left as
        /// it is; this writes what can be read of it into the new folder NEW and continues there.
        #[arg(long, value_name = "NEW")]
        repair: Option<PathBuf>,
        #[command(flatten)]
        flags: RunFlags,
    },
    /// Fork a saved run at one of its checkpoints with changed settings into a new run folder that
    /// records its parent.
    Fork {
        /// The parent run folder.
        dir: PathBuf,
        /// The checkpoint's step (see the file names in DIR/checkpoints).
        #[arg(long, allow_negative_numbers = true)]
        step: u64,
        /// A change, KEY=VALUE with a TOML value, e.g. optim.weight_decay=0.1 (repeatable). Allowed:
        /// train_fraction, optim.*, batch_size, full_batch, max_epochs, eval_every_epochs, early_stop,
        /// model.dropout.
        #[arg(long)]
        set: Vec<String>,
        /// The fork's folder.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        flags: RunFlags,
    },
    /// List the built-in presets, or print one as a config `run` accepts.
    Presets {
        /// Print this preset as TOML.
        #[arg(long)]
        show: Option<String>,
    },
    /// Orderedness D of a square weight matrix; prints {"d", "order", "method", "n"} as JSON.
    Orderedness {
        /// CSV: one row a line, comma separated; row = receiver, column = sender; |w| is used.
        #[arg(long)]
        weights: PathBuf,
        /// Also draw the matrix in its best order: the permuted heatmap or the ordering graph.
        #[arg(long, value_enum, requires = "out")]
        figure: Option<ordering::LayerFigureArg>,
        /// The figure file (with --figure); FILE.csv and FILE.json go beside it.
        #[arg(long, requires = "figure")]
        out: Option<PathBuf>,
        /// File format (default: from the extension of --out).
        #[arg(long, value_enum, requires = "figure")]
        format: Option<export::FormatArg>,
        /// PNG resolution in pixels per inch (default 96); e.g. 300 for print.
        #[arg(long, allow_negative_numbers = true, requires = "figure")]
        dpi: Option<f64>,
        /// Figure width in inches (default 3.5).
        #[arg(long, allow_negative_numbers = true, requires = "figure")]
        width_in: Option<f64>,
        /// Figure height in inches (default 2.8).
        #[arg(long, allow_negative_numbers = true, requires = "figure")]
        height_in: Option<f64>,
    },
    /// Run an Ordering-lab study and write DIR/study.csv and DIR/config.json; prints mean D per
    /// setting. The spec's study of a task (--task and --study), or a study from a TOML file (--config).
    #[command(group = clap::ArgGroup::new("source").required(true).multiple(false))]
    Ordering {
        /// The spec's study of this task (with --study).
        #[arg(long, value_enum, group = "source", requires = "study")]
        task: Option<ordering::TaskArg>,
        #[arg(long, value_enum, requires = "task")]
        study: Option<ordering::StudyArg>,
        /// A TOML study config (start from `grokscope presets --show ordering-sine-sparsity`).
        #[arg(long, group = "source")]
        config: Option<PathBuf>,
        /// Runs (seeds) per setting (default: 5, or the config's).
        #[arg(long, allow_negative_numbers = true)]
        runs: Option<usize>,
        /// Output folder (created if missing; a folder of another study is refused untouched).
        #[arg(long)]
        out: PathBuf,
        /// Training threads (0 = the number of cores; default: 0, or the config's).
        #[arg(long, allow_negative_numbers = true)]
        threads: Option<usize>,
        /// Train this many epochs instead of the task's or the config's (quick checks).
        #[arg(long, allow_negative_numbers = true)]
        epochs: Option<u64>,
    },
    /// Train one Ordering-lab run headless into a new or empty folder: config.toml, metrics.csv (MSE,
    /// measured sparsity and D over training), weights.csv (the final square matrix, as `grokscope
    /// orderedness --weights` reads it) and summary.json.
    #[command(group = clap::ArgGroup::new("source").required(true).multiple(false))]
    OrderingRun {
        /// The built-in run of this task, the Ordering tab's preset of the same name: the spec's run,
        /// pruned by dynamic top-k to half the weights (`grokscope presets --show ordering-xor`;
        /// `--set 'pruning={scheme = "none"}'` for the unpruned baseline).
        #[arg(long, value_enum, group = "source")]
        task: Option<ordering::TaskArg>,
        /// A TOML run config (start from `grokscope presets --show ordering-sine`).
        #[arg(long, group = "source")]
        config: Option<PathBuf>,
        /// A change, KEY=VALUE with a TOML value (repeatable), e.g. epochs=200, seed=3, hidden=3 or
        /// 'pruning={scheme="top_k", k=0.3}'.
        #[arg(long)]
        set: Vec<String>,
        /// Output folder: new or empty (anything else is refused and left as it was).
        #[arg(long)]
        out: PathBuf,
    },
    /// Run a Capacity-lab sweep: one result file per task in OUT (tasks already done are skipped, so a
    /// stopped sweep resumes). Shard I of N runs tasks k with k mod N = I; the index may also come from
    /// a SLURM array task's place in its array (SLURM_ARRAY_TASK_ID, _MIN, _STEP; N from --shard-count
    /// or SLURM_ARRAY_TASK_COUNT; a list such as --array=3,7 needs --shard $SLURM_ARRAY_TASK_ID/N) or
    /// JOB_COMPLETION_INDEX (N from --shard-count).
    #[command(group = clap::ArgGroup::new("source").required(true).multiple(false))]
    Sweep {
        /// A TOML sweep config (see `grokscope presets --show tiny`).
        #[arg(long, group = "source")]
        config: Option<PathBuf>,
        /// A built-in sweep (see `grokscope presets`).
        #[arg(long, group = "source")]
        preset: Option<String>,
        /// Output folder (created if missing); shards of one sweep share it.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        shards: study::ShardArgs,
        /// Training threads (0 = the number of cores); overrides the config's.
        #[arg(long, allow_negative_numbers = true)]
        threads: Option<usize>,
        #[command(flatten)]
        device: DeviceArg,
    },
    /// Run a Grokking-lab phase study (weight decay x train fraction, optionally x width, several seeds
    /// a cell): one result file per run in OUT (runs already done are skipped, so a stopped study
    /// resumes; a folder of another study is refused untouched), then OUT/cells.csv and cells.json.
    /// Sharding as for `sweep`. Draw it with `grokscope export OUT --figure phase`.
    #[command(group = clap::ArgGroup::new("source").required(true).multiple(false))]
    Phase {
        /// A TOML phase study (see `grokscope presets --show phase-tiny`).
        #[arg(long, group = "source")]
        config: Option<PathBuf>,
        /// A built-in phase study: phase-tiny or phase-default (tiny or default for short; see
        /// `grokscope presets`).
        #[arg(long, group = "source")]
        preset: Option<String>,
        /// Output folder (created if missing); shards of one study share it.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        shards: study::ShardArgs,
        /// Training threads (0 = the number of cores); overrides the config's.
        #[arg(long, allow_negative_numbers = true)]
        threads: Option<usize>,
        /// Keep each run's folder (config, metrics, events, start and end checkpoints) in OUT/runs/.
        #[arg(long)]
        keep_runs: bool,
        #[command(flatten)]
        device: DeviceArg,
    },
    /// Merge a sweep folder's result files into DIR/sweep.csv (and DIR/capacity.csv); missing, corrupt
    /// and impossible files are named on stderr and left out (with none usable, nothing is written).
    Merge {
        /// The sweep's output folder.
        dir: PathBuf,
    },
    /// Analyse a sweep folder; prints one JSON object: capacity_bits_per_param (null without capacity
    /// runs), c_lower_bound and c_uncertain (a size's largest memorised bits is only a lower bound
    /// when it is from a run the epoch cap stopped while improving or from the largest n tried, each
    /// size's flags in capacity_points; the slope is then a lower bound when all such sizes lie at or
    /// above the sizes' mean P, else uncertain either way),
    /// c_used, c_used_lower_bound and c_source (the C of f = S / (C P) and the exp fit: measured,
    /// the paper's 2.16, or given with --c / --c-from),
    /// p_star (the first crossing of T_mem and T_gen; null when they do not cross), p_star_all (every
    /// crossing), p_star_between (brackets, not points: the intervals a crossing must lie in where
    /// runs that never reached a threshold, all or some of a size's seeds, bound its mean),
    /// p_star_note (why there is no P*, or what else holds), observed_onset and exp_fit {a, b, r2,
    /// left_out {count, f}} (a value for one prime, keyed by prime for several), per-prime means per
    /// model size with counts of runs that never reached the thresholds and of delays that are only
    /// lower bounds (delay_lower_bounds: never generalised), and the files found, missing and
    /// unusable (also named on stderr); exits 1 when no file is usable.
    Analyse {
        /// The sweep's output folder.
        dir: PathBuf,
        #[command(flatten)]
        c: capacity::CArgs,
    },
    /// Export a figure for a paper from a run, sweep or study folder, or several runs compared: PNG
    /// (at any DPI), SVG or PDF,
    /// with FILE.csv (the plotted points) and FILE.json (the config behind it) beside FILE.
    Export {
        /// A Grokking run folder, a Capacity sweep folder, a phase study folder or an Ordering study
        /// folder; or several Grokking run folders, compared (figures compare_accuracy,
        /// compare_loss, compare_weight_norm, compare_fourier; e.g. `grokscope export runs/wd1-*`).
        #[arg(required = true, num_args = 1..)]
        dirs: Vec<PathBuf>,
        /// Runs compared that were trained alike but for their seed (the same config, changes
        /// mid-run and fork step) are drawn as their mean with a band, as the window's "group by
        /// seed".
        #[arg(long)]
        group_by_seed: bool,
        /// A seed group's band (with --group-by-seed; default min-max).
        #[arg(long, value_enum)]
        band: Option<export::BandArg>,
        /// Print the figures DIR can draw (name, tab, title), one a line.
        #[arg(long)]
        list: bool,
        /// The figure to draw (a name from --list).
        #[arg(long, required_unless_present = "list")]
        figure: Option<String>,
        /// File format (default: from the extension of --out).
        #[arg(long, value_enum)]
        format: Option<export::FormatArg>,
        /// PNG resolution in pixels per inch (default 96, screen resolution); e.g. 300 for print.
        #[arg(long, allow_negative_numbers = true)]
        dpi: Option<f64>,
        /// Figure width in inches (default 3.5, one column of a two-column paper).
        #[arg(long, allow_negative_numbers = true)]
        width_in: Option<f64>,
        /// Figure height in inches (default 2.8).
        #[arg(long, allow_negative_numbers = true)]
        height_in: Option<f64>,
        /// The figure file; its folder must exist. FILE.csv and FILE.json go beside it. For several
        /// figures (--figure clock or insight): a folder (NAME.FORMAT in it; a path ending in / is
        /// made, inside a folder that exists) or a file whose stem each figure's name extends.
        #[arg(long, required_unless_present = "list")]
        out: Option<PathBuf>,
        /// A run's insight figures (spectrum, spectrum-history, clock-kK, pca, grid, neurons,
        /// ablation; groups clock and insight) at the saved weights of this step, a checkpoint or a
        /// frame (default: the newest), recomputed from them.
        #[arg(long, allow_negative_numbers = true)]
        step: Option<u64>,
        /// The ablation figure with each saved step's own key frequencies (default: every step
        /// ablated with the final model's, as Nanda et al. and the window once a run has ended).
        #[arg(long)]
        own_keys: bool,
        /// A run folder's accuracy, loss, weight-norm and Fourier figures smoothed for display as
        /// the window's "smoothing" slider: each line its debiased moving average (0 to 0.99;
        /// default 0, off), the raw curve faint behind; FILE.csv keeps the raw y and adds a
        /// smoothed column. The milestones stay the raw run's.
        #[arg(long, allow_negative_numbers = true)]
        smoothing: Option<f64>,
        /// (A Capacity sweep folder's figures.)
        #[command(flatten)]
        c: capacity::CArgs,
    },
    /// Lessons for teaching (TOML files of steps; see the README): check files, list the bundled ones.
    Lesson {
        #[command(subcommand)]
        cmd: LessonCmd,
    },
    /// Measure training speed; prints one JSON object a line.
    Bench {
        /// Run only the benchmarks whose name contains this.
        #[arg(long)]
        only: Option<String>,
        /// Seconds to time each throughput benchmark.
        #[arg(long, allow_negative_numbers = true, default_value_t = 5.0)]
        secs: f64,
        #[command(flatten)]
        device: DeviceArg,
    },
}

/// `grokscope lesson ...`
#[derive(Subcommand, Debug)]
pub enum LessonCmd {
    /// Check lesson files: each refused one is named as FILE:LINE: field: problem on stderr, and the
    /// exit status is non-zero.
    Check {
        /// Lesson files (TOML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List the bundled lessons: name, number of steps, title.
    List,
}

/// `--device`, taken by the commands that train transformers (run, resume, fork, sweep, phase,
/// bench) and by the window ([`Cli::device`]); the others train nothing and do not list it.
#[derive(clap::Args, Debug, Clone, Copy, Default)]
pub struct DeviceArg {
    /// Where transformers train: auto (a GPU when one works, else the CPU), cpu, cuda or cuda:N.
    /// Overrides every config's `device`; each run says on stderr which device it uses and why.
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<crate::model::device::DeviceRequest>,
}

impl Cmd {
    /// `--device` as this command was given it; `None` also for a command that trains no transformer.
    pub fn device(&self) -> Option<crate::model::device::DeviceRequest> {
        match self {
            Cmd::Run { flags, .. } | Cmd::Resume { flags, .. } | Cmd::Fork { flags, .. } => {
                flags.device.device
            }
            Cmd::Sweep { device, .. } | Cmd::Phase { device, .. } | Cmd::Bench { device, .. } => {
                device.device
            }
            _ => None,
        }
    }

    /// Whether this command trains transformers, so that a `--device` given before it applies.
    pub fn trains(&self) -> bool {
        matches!(
            self,
            Cmd::Run { .. }
                | Cmd::Resume { .. }
                | Cmd::Fork { .. }
                | Cmd::Sweep { .. }
                | Cmd::Phase { .. }
                | Cmd::Bench { .. }
        )
    }
}

/// How `run`, `resume` and `fork` record and stop, and where they train.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct RunFlags {
    #[command(flatten)]
    pub device: DeviceArg,
    /// Stop after this many epochs in all (a run stopped early goes on with `grokscope resume DIR`).
    #[arg(long, allow_negative_numbers = true)]
    pub max_epochs: Option<u64>,
    /// Checkpoint every this many epochs (0: about ten a run); always at the start and the end.
    #[arg(long, allow_negative_numbers = true, default_value_t = 0)]
    pub checkpoint_every: u64,
    /// Also write TensorBoard event files into the run folder's tensorboard/ as the run trains (tags
    /// like train/loss, val/acc at the optimiser step); view with `tensorboard --logdir DIR`.
    #[arg(long)]
    pub tensorboard: bool,
    /// Refuse a config whose estimated memory exceeds this many GiB (default: half the machine's
    /// memory; also GROKSCOPE_MAX_MEMORY_GB): `run` its config, `resume` the run's, `fork` the changed one.
    #[arg(long, allow_negative_numbers = true, value_name = "GIB")]
    pub max_memory_gb: Option<f64>,
}

pub use crate::config::memory::MAX_MEMORY_ENV;

/// The memory a run may need, in bytes: `flag` GiB, else `GROKSCOPE_MAX_MEMORY_GB`, else half the
/// machine's memory ([`crate::config::memory::memory_limit`]).
pub fn memory_limit(flag: Option<f64>) -> Result<u64> {
    crate::config::memory::memory_limit(flag).map_err(anyhow::Error::msg)
}

/// [`memory_limit`] with its inputs given (tested without touching the environment).
pub fn memory_limit_from(
    flag: Option<f64>,
    env: Option<String>,
    machine_bytes: Option<u64>,
) -> Result<u64> {
    crate::config::memory::memory_limit_from(flag, env, machine_bytes).map_err(anyhow::Error::msg)
}

/// Run one subcommand; errors carry their context chain (print them with `{e:#}`).
pub fn run(cmd: Cmd) -> Result<ExitCode> {
    match cmd {
        Cmd::Run { config, out, flags } => run::run_cmd(&config, &out, flags),
        Cmd::Resume { dir, repair, flags } => run::resume_cmd(&dir, repair.as_deref(), flags),
        Cmd::Fork {
            dir,
            step,
            set,
            out,
            flags,
        } => run::fork_cmd(&dir, step, &set, &out, flags),
        Cmd::Presets { show } => {
            run::presets_cmd(show.as_deref())?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Orderedness {
            weights,
            figure,
            out,
            format,
            dpi,
            width_in,
            height_in,
        } => {
            let choice = export::FigureChoice {
                format: format.map(Into::into),
                dpi,
                width_in,
                height_in,
            };
            let fig = figure.zip(out.as_deref()).map(|(k, o)| (k, o, choice));
            ordering::orderedness_main(&weights, fig)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Ordering {
            task,
            study,
            config,
            runs,
            out,
            threads,
            epochs,
        } => {
            let bar = std::io::stderr().is_terminal();
            match (task, study, config) {
                (Some(task), Some(study), _) => {
                    let args = ordering::StudyArgs {
                        task: task.into(),
                        kind: study.into(),
                        runs: runs.unwrap_or(5),
                        threads: threads.unwrap_or(0),
                        epochs,
                    };
                    ordering::study_main(&args, &out, bar)?;
                }
                (_, _, Some(config)) => {
                    let changes = ordering::StudyChanges {
                        runs,
                        threads,
                        epochs,
                    };
                    ordering::study_file_main(&config, &changes, &out, bar)?;
                }
                // clap requires --task with --study, or --config
                _ => bail!("give --task and --study, or --config"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::OrderingRun {
            task,
            config,
            set,
            out,
        } => {
            let source = match (task, config) {
                (Some(task), _) => ordering::RunSource::Task(task.into()),
                (None, Some(config)) => ordering::RunSource::File(config),
                // clap requires one of them
                (None, None) => bail!("give --task or --config"),
            };
            ordering::run_main(&source, &set, &out)
        }
        Cmd::Sweep {
            config,
            preset,
            out,
            shards,
            threads,
            device: _,
        } => {
            let report = capacity::sweep_cmd(
                config.as_deref(),
                preset.as_deref(),
                &out,
                shards.resolve()?,
                threads,
                std::io::stderr().is_terminal(),
            )?;
            Ok(exit_code(&report.outcome))
        }
        Cmd::Phase {
            config,
            preset,
            out,
            shards,
            threads,
            keep_runs,
            device: _,
        } => {
            let report = phase::phase_cmd(
                config.as_deref(),
                preset.as_deref(),
                &out,
                shards.resolve()?,
                threads,
                keep_runs,
                std::io::stderr().is_terminal(),
            )?;
            Ok(exit_code(&report.outcome))
        }
        Cmd::Merge { dir } => {
            capacity::merge_main(&dir)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Analyse { dir, c } => {
            let v = capacity::analyse_main_with(&dir, &c.choice()?)?;
            outln!("{v}")?;
            // the JSON says which files were unusable; with none usable there was nothing to
            // analyse, and the command fails as `merge` does (it exited 0: a helper's audit)
            if v["files"]["found"] == 0 {
                eprintln!(
                    "error: {} holds no task result file that can be used: nothing was analysed",
                    dir.display()
                );
                return Ok(ExitCode::FAILURE);
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Export {
            dirs,
            group_by_seed,
            band,
            list,
            figure,
            format,
            dpi,
            width_in,
            height_in,
            out,
            step,
            own_keys,
            smoothing,
            c,
        } => {
            export::export_main_with(
                &export::ExportArgs {
                    // clap requires at least one
                    dir: dirs.first().cloned().unwrap_or_default(),
                    also: dirs.iter().skip(1).cloned().collect(),
                    group_by_seed,
                    band: band.map(Into::into),
                    list,
                    figure,
                    format: format.map(Into::into),
                    dpi,
                    width_in,
                    height_in,
                    out,
                    step,
                    own_keys,
                    smoothing,
                },
                &c.choice()?,
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Lesson { cmd } => match cmd {
            LessonCmd::Check { files } => lesson::check_cmd(&files),
            LessonCmd::List => lesson::list_cmd(),
        },
        Cmd::Bench { only, secs, .. } => {
            bench::bench_cmd(only.as_deref(), secs)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The config in file `path`, parsed by `parse` (a config's `from_toml`); errors name the file.
pub fn read_config<T, E>(path: &Path, parse: impl FnOnce(&str) -> Result<T, E>) -> Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text).with_context(|| format!("in {}", path.display()))
}

/// The exit status of a command that ran to `outcome`: success unless it failed (a stopped run or
/// study can be resumed).
pub fn exit_code(outcome: &Outcome) -> ExitCode {
    match outcome {
        Outcome::Completed | Outcome::Stopped => ExitCode::SUCCESS,
        Outcome::Failed { .. } => ExitCode::FAILURE,
    }
}

/// Write `text` to `path` atomically: a temporary name in the same folder, then a rename.
pub fn write_atomic(path: &Path, text: &[u8]) -> Result<()> {
    crate::store::files::write_atomic(path, text)
        .with_context(|| format!("writing {}", path.display()))
}

/// A progress bar over `tasks` tasks, `done` of them already done.
pub fn task_bar(tasks: usize, done: usize) -> indicatif::ProgressBar {
    let b = indicatif::ProgressBar::new(tasks as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] task {pos}/{len}")
    {
        b.set_style(style.progress_chars("=> "));
    }
    b.set_position(done as u64);
    b
}

/// Refuse to write a study into a folder whose config file `path` holds another config, as `run`
/// refuses a folder that holds a run: `differences` reads the stored config and names the fields that
/// differ from the new one (an error when it cannot be read). A file that cannot be read in full is
/// refused too (what it held would be lost). Without the file, the folder may hold only the study's
/// own files (`own`, a file name; hidden files aside): a run folder, another kind of study or a user's
/// files are refused, and `what` (the study, "a sweep") says whose folder it is not. `damaged` ends the
/// message of an unreadable config file with the safe way out, where there is one ("" for none).
pub fn refuse_other_config(
    path: &Path,
    what: &str,
    damaged: &str,
    own: impl Fn(&str) -> bool,
    differences: impl FnOnce(&str) -> std::result::Result<Vec<String>, String>,
) -> Result<()> {
    let folder = path.parent().unwrap_or(path);
    if std::fs::metadata(folder).is_ok_and(|m| !m.is_dir()) {
        bail!(
            "{}; {what} needs a folder, so nothing was written",
            crate::store::files::not_a_folder(folder)
        );
    }
    let dir = folder.display();
    let unreadable = |why: String| {
        anyhow::anyhow!(
            "{} cannot be read ({why}); {dir} may hold another study, so nothing was written: choose a \
             new folder{damaged}",
            path.display()
        )
    };
    let bytes = match crate::store::files::read_bounded(path, 64 << 20) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return refuse_foreign_files(path, what, own);
        }
        Err(e) => return Err(unreadable(e.to_string())),
    };
    let text = String::from_utf8(bytes).map_err(|e| unreadable(e.to_string()))?;
    let diff = differences(&text).map_err(|e| unreadable(crate::config::truncate_echo(&e, 400)))?;
    if diff.is_empty() {
        return Ok(());
    }
    bail!(
        "{dir} holds a study of another config ({} differs: {}); nothing was written: choose a new \
         folder for this config",
        path.file_name()
            .map_or(String::new(), |f| f.to_string_lossy().into_owned()),
        diff.join("; ")
    )
}

/// Refuse the folder of the config file `config` (which it lacks) when the folder holds files that
/// are not `own` (hidden files aside: a write in progress, `.NAME.partial`, or the desktop's own),
/// naming a few, in the words `phase` uses; a missing or empty folder passes.
fn refuse_foreign_files(config: &Path, what: &str, own: impl Fn(&str) -> bool) -> Result<()> {
    let dir = config.parent().unwrap_or(config);
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => bail!(
            "{} cannot be read ({e}); nothing was written",
            dir.display()
        ),
    };
    let mut foreign: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.') && !own(name))
        .collect();
    if foreign.is_empty() {
        return Ok(());
    }
    foreign.sort();
    let more = foreign.len().saturating_sub(5);
    foreign.truncate(5);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    bail!(
        "{} is not empty and holds no {} (it has {}{more}); {what} needs an empty folder or its own, \
         so nothing was written",
        dir.display(),
        config
            .file_name()
            .map_or(String::new(), |f| f.to_string_lossy().into_owned()),
        foreign.join(", ")
    )
}
