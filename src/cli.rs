//! The command line: `grokscope` opens the window; subcommands run headless.

use crate::config::{self, GrokkingConfig};
use crate::experiment::{EventSink, Unattended, grokking};
use crate::protocol::{Event, Metric, MetricRow, Outcome, Summary};
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(
    name = "grokscope",
    version,
    about = "Watch small neural networks learn, live. With no command, opens the window."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Cmd>,
    /// Where transformers train: auto (a GPU when one works, else the CPU), cpu, cuda or cuda:N.
    /// Overrides every config's `device`; each run says on stderr which device it uses and why.
    #[arg(long, global = true, value_name = "DEVICE")]
    pub device: Option<crate::model::device::DeviceRequest>,
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
        #[command(flatten)]
        flags: RunFlags,
    },
    /// Fork a saved run at one of its checkpoints with changed settings into a new run folder that
    /// records its parent.
    Fork {
        /// The parent run folder.
        dir: PathBuf,
        /// The checkpoint's step (see the file names in DIR/checkpoints).
        #[arg(long)]
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
        figure: Option<crate::cli_ordering::LayerFigureArg>,
        /// The figure file (with --figure); FILE.csv and FILE.json go beside it.
        #[arg(long, requires = "figure")]
        out: Option<PathBuf>,
        /// File format (default: from the extension of --out).
        #[arg(long, value_enum, requires = "figure")]
        format: Option<crate::cli_export::FormatArg>,
        /// PNG resolution in pixels per inch (default 96); e.g. 300 for print.
        #[arg(long, requires = "figure")]
        dpi: Option<f64>,
        /// Figure width in inches (default 3.5).
        #[arg(long, requires = "figure")]
        width_in: Option<f64>,
        /// Figure height in inches (default 2.8).
        #[arg(long, requires = "figure")]
        height_in: Option<f64>,
    },
    /// Run an Ordering-lab study (the spec's settings) and write DIR/study.csv; prints mean D per setting.
    Ordering {
        #[arg(long, value_enum)]
        task: crate::cli_ordering::TaskArg,
        #[arg(long, value_enum)]
        study: crate::cli_ordering::StudyArg,
        /// Runs (seeds) per setting.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Output folder (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Training threads (0 = the number of cores).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Train this many epochs instead of the task's (quick checks).
        #[arg(long)]
        epochs: Option<u64>,
    },
    /// Run a Capacity-lab sweep: one result file per task in OUT (tasks already done are skipped, so a
    /// stopped sweep resumes). Shard I of N runs tasks k with k mod N = I; the index may also come from
    /// SLURM_ARRAY_TASK_ID (N from --shard-count or SLURM_ARRAY_TASK_COUNT) or JOB_COMPLETION_INDEX (N
    /// from --shard-count).
    Sweep {
        /// A TOML sweep config (see `grokscope presets --show tiny`).
        #[arg(long, required_unless_present = "preset", conflicts_with = "preset")]
        config: Option<PathBuf>,
        /// A built-in sweep (see `grokscope presets`).
        #[arg(long)]
        preset: Option<String>,
        /// Output folder (created if missing); shards of one sweep share it.
        #[arg(long)]
        out: PathBuf,
        /// Run only shard I of N, written I/N (0 <= I < N).
        #[arg(long)]
        shard: Option<String>,
        /// Number of shards N when the index comes from the environment.
        #[arg(long)]
        shard_count: Option<usize>,
        /// Training threads (0 = the number of cores); overrides the config's.
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Merge a sweep folder's result files into DIR/sweep.csv (and DIR/capacity.csv); missing and corrupt
    /// files are named on stderr and left out.
    Merge {
        /// The sweep's output folder.
        dir: PathBuf,
    },
    /// Analyse a sweep folder; prints one JSON object: capacity_bits_per_param (null without capacity
    /// runs), p_star, observed_onset and exp_fit {a, b, r2} (a number or object for one prime, keyed by
    /// prime for several), per-prime means per model size with counts of runs that never reached the
    /// thresholds, and the files found, missing and unusable (also named on stderr).
    Analyse {
        /// The sweep's output folder.
        dir: PathBuf,
    },
    /// Export a figure for a paper from a run, sweep or study folder: PNG (at any DPI), SVG or PDF,
    /// with FILE.csv (the plotted points) and FILE.json (the config behind it) beside FILE.
    Export {
        /// A Grokking run folder, a Capacity sweep folder or an Ordering study folder.
        dir: PathBuf,
        /// Print the figures DIR can draw (name, tab, title), one a line.
        #[arg(long)]
        list: bool,
        /// The figure to draw (a name from --list).
        #[arg(long, required_unless_present = "list")]
        figure: Option<String>,
        /// File format (default: from the extension of --out).
        #[arg(long, value_enum)]
        format: Option<crate::cli_export::FormatArg>,
        /// PNG resolution in pixels per inch (default 96, screen resolution); e.g. 300 for print.
        #[arg(long)]
        dpi: Option<f64>,
        /// Figure width in inches (default 3.5, one column of a two-column paper).
        #[arg(long)]
        width_in: Option<f64>,
        /// Figure height in inches (default 2.8).
        #[arg(long)]
        height_in: Option<f64>,
        /// The figure file; its folder must exist. FILE.csv and FILE.json go beside it.
        #[arg(long, required_unless_present = "list")]
        out: Option<PathBuf>,
    },
    /// Measure training speed; prints one JSON object a line.
    Bench {
        /// Run only the benchmarks whose name contains this.
        #[arg(long)]
        only: Option<String>,
        /// Seconds to time each throughput benchmark.
        #[arg(long, default_value_t = 5.0)]
        secs: f64,
    },
}

/// How `run`, `resume` and `fork` record and stop.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct RunFlags {
    /// Stop after this many epochs in all (a run stopped early goes on with `grokscope resume DIR`).
    #[arg(long)]
    pub max_epochs: Option<u64>,
    /// Checkpoint every this many epochs (0: about ten a run); always at the start and the end.
    #[arg(long, default_value_t = 0)]
    pub checkpoint_every: u64,
    /// Also write TensorBoard event files into the run folder's tensorboard/ as the run trains (tags
    /// like train/loss, val/acc at the optimiser step); view with `tensorboard --logdir DIR`.
    #[arg(long)]
    pub tensorboard: bool,
}

/// Parse the arguments and run; errors are printed with their context chain.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode> {
    if let Some(d) = cli.device {
        crate::model::device::set_override(d);
    }
    match cli.command {
        None => {
            crate::app::run_window()?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Cmd::Run { config, out, flags }) => {
            let text = std::fs::read_to_string(&config)
                .with_context(|| format!("reading {}", config.display()))?;
            let cfg = GrokkingConfig::from_toml(&text)
                .with_context(|| format!("in {}", config.display()))?;
            headless(Start::New(&cfg), &out, flags)
        }
        Some(Cmd::Resume { dir, flags }) => {
            let spec = grokking::ContinueSpec {
                from: dir.clone(),
                step: None,
                fork: None,
            };
            headless(Start::Continue(&spec), &dir, flags)
        }
        Some(Cmd::Fork {
            dir,
            step,
            set,
            out,
            flags,
        }) => {
            let spec = fork_spec(&dir, step, &set, &out)?;
            headless(Start::Continue(&spec), &out, flags)
        }
        Some(Cmd::Presets { show }) => {
            match show {
                None => {
                    for p in config::presets() {
                        println!("{:<24} {}\n{:<24} {}", p.name, p.title, "", p.description);
                    }
                    println!("\nCapacity sweeps (grokscope sweep --preset NAME --out DIR):");
                    for p in config::capacity::sweep_presets() {
                        println!("{:<24} {}\n{:<24} {}", p.name, p.title, "", p.description);
                    }
                }
                Some(name) => {
                    if let Some(p) = config::capacity::sweep_preset(&name) {
                        println!("# {}: {}\n{}", p.title, p.description, p.config.to_toml());
                        return Ok(ExitCode::SUCCESS);
                    }
                    let p = config::preset(&name).with_context(|| {
                        let names: Vec<_> = config::presets()
                            .iter()
                            .map(|p| p.name)
                            .chain(config::capacity::sweep_presets().iter().map(|p| p.name))
                            .collect();
                        format!("no preset named {name:?}; known: {}", names.join(", "))
                    })?;
                    println!("# {}: {}\n{}", p.title, p.description, p.config.to_toml());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Cmd::Orderedness {
            weights,
            figure,
            out,
            format,
            dpi,
            width_in,
            height_in,
        }) => {
            let choice = crate::cli_export::FigureChoice {
                format: format.map(Into::into),
                dpi,
                width_in,
                height_in,
            };
            let fig = figure.zip(out.as_deref()).map(|(k, o)| (k, o, choice));
            crate::cli_ordering::orderedness_main(&weights, fig)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Cmd::Ordering {
            task,
            study,
            runs,
            out,
            threads,
            epochs,
        }) => {
            let args = crate::cli_ordering::StudyArgs {
                task: task.into(),
                kind: study.into(),
                runs,
                threads,
                epochs,
            };
            crate::cli_ordering::study_main(&args, &out, std::io::stderr().is_terminal())?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Cmd::Sweep {
            config,
            preset,
            out,
            shard,
            shard_count,
            threads,
        }) => {
            let shard_of =
                crate::cli_capacity::resolve_shard(shard.as_deref(), shard_count, &|name| {
                    std::env::var(name).ok()
                })?;
            let report = crate::cli_capacity::sweep_cmd(
                config.as_deref(),
                preset.as_deref(),
                &out,
                shard_of,
                threads,
                std::io::stderr().is_terminal(),
            )?;
            Ok(match report.outcome {
                Outcome::Completed | Outcome::Stopped => ExitCode::SUCCESS,
                Outcome::Failed { .. } => ExitCode::FAILURE,
            })
        }
        Some(Cmd::Merge { dir }) => {
            crate::cli_capacity::merge_main(&dir)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Cmd::Analyse { dir }) => {
            let v = crate::cli_capacity::analyse_main(&dir)?;
            println!("{v}");
            Ok(ExitCode::SUCCESS)
        }
        Some(Cmd::Export {
            dir,
            list,
            figure,
            format,
            dpi,
            width_in,
            height_in,
            out,
        }) => {
            crate::cli_export::export_main(&crate::cli_export::ExportArgs {
                dir,
                list,
                figure,
                format: format.map(Into::into),
                dpi,
                width_in,
                height_in,
                out,
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Cmd::Bench { only, secs }) => {
            if !(secs.is_finite() && secs > 0.0) {
                bail!("--secs must be a positive number of seconds, got {secs}");
            }
            for line in crate::bench::run_all(only.as_deref(), Duration::from_secs_f64(secs))? {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Write `text` to `path` atomically: a temporary name in the same folder, then a rename.
pub fn write_atomic(path: &Path, text: &[u8]) -> Result<()> {
    crate::store::run_dir::write_atomic(path, text)
        .with_context(|| format!("writing {}", path.display()))
}

/// `run`, `resume` and `fork`: train into a folder; failure when the run failed.
fn headless(start: Start<'_>, out: &Path, flags: RunFlags) -> Result<ExitCode> {
    let RunFlags {
        max_epochs,
        checkpoint_every,
        tensorboard,
    } = flags;
    if max_epochs == Some(0) {
        bail!("--max-epochs must be at least 1");
    }
    let bar = std::io::stderr().is_terminal();
    Ok(
        match run_to_folder(start, out, max_epochs, checkpoint_every, tensorboard, bar)?.0 {
            Outcome::Completed | Outcome::Stopped => ExitCode::SUCCESS,
            Outcome::Failed { .. } => ExitCode::FAILURE,
        },
    )
}

/// A fork of `dir` at checkpoint `step` with `KEY=VALUE` changes (TOML values) into `out`.
pub fn fork_spec(
    dir: &Path,
    step: u64,
    set: &[String],
    out: &Path,
) -> Result<grokking::ContinueSpec> {
    let folder = crate::store::run_dir::RunFolder::open(dir)?;
    let c = folder.checkpoint_at(step)?.clone();
    let state = folder.load(&c)?;
    let mut value = toml::Value::try_from(&state.config)?;
    for kv in set {
        let (key, raw) = kv.split_once('=').with_context(|| {
            format!("--set {kv:?}: write KEY=VALUE, e.g. optim.weight_decay=0.1")
        })?;
        let parsed: toml::Value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_string()));
        let mut at = &mut value;
        let parts: Vec<&str> = key.trim().split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let table = at
                .as_table_mut()
                .with_context(|| format!("--set {key}: {part} is not inside a table"))?;
            if i + 1 == parts.len() {
                if !table.contains_key(*part) {
                    bail!("--set {key}: the config has no field {key}");
                }
                table.insert(part.to_string(), parsed.clone());
                break;
            }
            at = table
                .get_mut(*part)
                .with_context(|| format!("--set {key}: the config has no field {key}"))?;
        }
    }
    let config: GrokkingConfig = value.try_into().context("the changed config")?;
    config.validate()?;
    Ok(grokking::ContinueSpec {
        from: dir.to_path_buf(),
        step: Some(step),
        fork: Some(grokking::ForkSpec {
            config,
            out: Some(out.to_path_buf()),
        }),
    })
}

/// Shows a run's progress on stderr and keeps how it ended.
struct ProgressSink {
    bar: Option<indicatif::ProgressBar>,
    max_epochs: u64,
    last_line: Instant,
    finished: Option<(Outcome, Option<Summary>)>,
}

impl ProgressSink {
    fn new(max_epochs: u64, bar: bool) -> Self {
        let bar = bar.then(|| {
            let b = indicatif::ProgressBar::new(max_epochs);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] epoch {pos}/{len} {msg}",
            ) {
                b.set_style(style.progress_chars("=> "));
            }
            b
        });
        ProgressSink {
            bar,
            max_epochs,
            last_line: Instant::now(),
            finished: None,
        }
    }

    fn line(&self, line: String) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn progress(&mut self, r: &MetricRow) {
        let val = r
            .get(Metric::ValAcc)
            .map(|v| format!(" val {:.1}%", v * 100.0))
            .unwrap_or_default();
        let msg = format!(
            "train {:.1}%{val} loss {:.3}",
            r.get(Metric::TrainAcc).unwrap_or(f64::NAN) * 100.0,
            r.get(Metric::TrainLoss).unwrap_or(f64::NAN),
        );
        match &self.bar {
            Some(bar) => {
                bar.set_position(r.epoch);
                bar.set_message(msg);
            }
            None => {
                if self.last_line.elapsed() >= Duration::from_secs(2) {
                    eprintln!(
                        "epoch {}/{} step {} {msg}",
                        r.epoch, self.max_epochs, r.step
                    );
                    self.last_line = Instant::now();
                }
            }
        }
    }
}

impl EventSink for ProgressSink {
    fn emit(&mut self, ev: Event) {
        match ev {
            Event::Metrics { rows, .. } => {
                if let Some(r) = rows.last() {
                    self.progress(r);
                }
            }
            Event::Detected { event, epoch, .. } => self.line(format!("epoch {epoch}: {event}")),
            Event::Refused { message } => self.line(format!("warning: {message}")),
            Event::Started { .. }
            | Event::Progress { .. }
            | Event::Saved { .. }
            | Event::Changed { .. }
            | Event::Paused { .. }
            | Event::Snapshot { .. }
            | Event::StudyPoint { .. }
            | Event::SweepResult { .. } => {}
            Event::Finished {
                outcome, summary, ..
            } => self.finished = Some((outcome, summary)),
        }
    }
}

/// How a headless Grokking run is started.
pub enum Start<'a> {
    /// A new run of this config.
    New(&'a GrokkingConfig),
    /// Resume or fork a saved run.
    Continue(&'a grokking::ContinueSpec),
}

/// Train and record the run in `out` (config.toml, metrics.csv, events.jsonl, run.json, checkpoints,
/// summary.json, and tensorboard/ event files when `tensorboard`), stopping after `stop_at_epoch` epochs
/// when given.
pub fn run_to_folder(
    start: Start<'_>,
    out: &Path,
    stop_at_epoch: Option<u64>,
    checkpoint_every_epochs: u64,
    tensorboard: bool,
    bar: bool,
) -> Result<(Outcome, Summary)> {
    let mut opts = grokking::RunOptions {
        stop_at_epoch,
        checkpoint_every_epochs,
        tensorboard,
        ..Default::default()
    };
    let max_epochs = match &start {
        Start::New(cfg) => {
            cfg.validate()?;
            opts.writer = Some(
                crate::store::run_dir::RunWriter::create(out, cfg, None)
                    .with_context(|| format!("creating the run folder {}", out.display()))?,
            );
            cfg.max_epochs
        }
        Start::Continue(spec) => match &spec.fork {
            Some(f) => f.config.max_epochs,
            None => crate::store::run_dir::RunFolder::open(&spec.from)?
                .config
                .map_or(0, |c| c.max_epochs),
        },
    };
    let mut sink = ProgressSink::new(max_epochs, bar);
    crate::perf::flush_denormals();
    match start {
        Start::New(cfg) => {
            grokking::run_with(cfg, 1, &mut sink, &mut Unattended, opts);
        }
        Start::Continue(spec) => {
            grokking::continue_run(spec, 1, &mut sink, &mut Unattended, opts);
        }
    }
    if let Some(b) = &sink.bar {
        b.finish_and_clear();
    }
    let Some((outcome, summary)) = sink.finished else {
        bail!("the run ended without a result");
    };
    if let Outcome::Failed { message } = &outcome {
        eprintln!("run failed: {message}");
    }
    let Some(summary) = summary else {
        bail!("the run did not start; nothing was written");
    };
    let text = serde_json::to_string_pretty(&summary)?;
    write_atomic(&out.join("summary.json"), text.as_bytes())?;
    eprintln!(
        "{} epochs in {:.1}s; t_train {:?}, t_val {:?}, delay {:?}; wrote {}",
        summary.epochs,
        summary.wall_secs,
        summary.t_train_epoch,
        summary.t_val_epoch,
        summary.delay_epochs,
        out.display()
    );
    Ok((outcome, summary))
}
