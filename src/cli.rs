//! The command line: `grokscope` opens the window; subcommands run headless.

use crate::config::{self, GrokkingConfig};
use crate::experiment::{EventSink, Unattended, grokking};
use crate::protocol::{Event, Metric, MetricRow, Outcome, Summary};
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Write};
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
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Train one Grokking-lab config headless and write config.toml, metrics.csv, events.jsonl, summary.json.
    Run {
        /// A TOML config (see `grokscope presets --show NAME`).
        #[arg(long)]
        config: PathBuf,
        /// Output folder (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Stop after this many epochs (overrides the config's cap when smaller).
        #[arg(long)]
        max_epochs: Option<u64>,
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
    match cli.command {
        None => {
            crate::app::run_window()?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Cmd::Run {
            config,
            out,
            max_epochs,
        }) => {
            let text = std::fs::read_to_string(&config)
                .with_context(|| format!("reading {}", config.display()))?;
            let mut cfg = GrokkingConfig::from_toml(&text)
                .with_context(|| format!("in {}", config.display()))?;
            if let Some(m) = max_epochs {
                if m == 0 {
                    bail!("--max-epochs must be at least 1");
                }
                cfg.max_epochs = cfg.max_epochs.min(m);
            }
            let summary = run_to_folder(&cfg, &out, std::io::stderr().is_terminal())?;
            Ok(match summary.0 {
                Outcome::Completed | Outcome::Stopped => ExitCode::SUCCESS,
                Outcome::Failed { .. } => ExitCode::FAILURE,
            })
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
        Some(Cmd::Orderedness { weights }) => {
            crate::cli_ordering::orderedness_main(&weights)?;
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
    let tmp = path.with_extension("tmp-write");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

/// Columns of metrics.csv after `step,epoch`.
const COLUMNS: [Metric; 11] = Metric::GROKKING;

/// Streams a run into a folder and reports progress.
struct FolderSink {
    csv: csv::Writer<std::fs::File>,
    events: std::fs::File,
    bar: Option<indicatif::ProgressBar>,
    max_epochs: u64,
    last_line: Instant,
    summary: Option<(Outcome, Option<Summary>)>,
    error: Option<anyhow::Error>,
}

impl FolderSink {
    fn row(&mut self, r: &MetricRow) -> Result<()> {
        let mut rec = vec![r.step.to_string(), r.epoch.to_string()];
        rec.extend(
            COLUMNS
                .iter()
                .map(|&m| r.get(m).map(|v| v.to_string()).unwrap_or_default()),
        );
        self.csv.write_record(&rec)?;
        Ok(())
    }

    fn event_line(&mut self, v: serde_json::Value) -> Result<()> {
        writeln!(self.events, "{v}")?;
        Ok(())
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

    fn handle(&mut self, ev: Event) -> Result<()> {
        match ev {
            Event::Started { param_count, .. } => {
                self.event_line(
                    serde_json::json!({"event": "started", "param_count": param_count}),
                )?;
            }
            Event::Metrics { rows, .. } => {
                for r in &rows {
                    self.row(r)?;
                }
                if let Some(r) = rows.last() {
                    self.progress(r);
                }
            }
            Event::Progress { .. } => {}
            Event::Detected {
                event, step, epoch, ..
            } => {
                self.event_line(serde_json::json!({"event": event, "step": step, "epoch": epoch}))?;
                let line = format!("epoch {epoch}: {event}");
                match &self.bar {
                    Some(bar) => bar.println(line),
                    None => eprintln!("{line}"),
                }
            }
            Event::Changed {
                change,
                step,
                epoch,
                ..
            } => {
                self.event_line(serde_json::json!({"event": "changed", "change": change, "step": step, "epoch": epoch}))?;
            }
            Event::Paused { .. }
            | Event::Refused { .. }
            | Event::Snapshot { .. }
            | Event::StudyPoint { .. }
            | Event::SweepResult { .. } => {}
            Event::Finished {
                outcome, summary, ..
            } => {
                self.event_line(serde_json::json!({"event": "finished", "outcome": outcome}))?;
                self.csv.flush()?;
                self.summary = Some((outcome, summary));
            }
        }
        Ok(())
    }
}

impl EventSink for FolderSink {
    fn emit(&mut self, ev: Event) {
        if self.error.is_none()
            && let Err(e) = self.handle(ev)
        {
            self.error = Some(e);
        }
    }
}

/// Train `cfg` and write `config.toml`, `metrics.csv`, `events.jsonl` and `summary.json` into `out`.
pub fn run_to_folder(cfg: &GrokkingConfig, out: &Path, bar: bool) -> Result<(Outcome, Summary)> {
    cfg.validate()?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    write_atomic(&out.join("config.toml"), cfg.to_toml().as_bytes())?;
    let mut csv =
        csv::Writer::from_path(out.join("metrics.csv")).context("creating metrics.csv")?;
    let mut header = vec!["step".to_string(), "epoch".to_string()];
    header.extend(COLUMNS.iter().map(|m| m.key().to_string()));
    csv.write_record(&header)?;
    let events =
        std::fs::File::create(out.join("events.jsonl")).context("creating events.jsonl")?;
    let bar = bar.then(|| {
        let b = indicatif::ProgressBar::new(cfg.max_epochs);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] epoch {pos}/{len} {msg}",
        ) {
            b.set_style(style.progress_chars("=> "));
        }
        b
    });
    let mut sink = FolderSink {
        csv,
        events,
        bar,
        max_epochs: cfg.max_epochs,
        last_line: Instant::now(),
        summary: None,
        error: None,
    };
    crate::perf::flush_denormals();
    grokking::run(cfg, 1, &mut sink, &mut Unattended);
    if let Some(b) = &sink.bar {
        b.finish_and_clear();
    }
    if let Some(e) = sink.error {
        return Err(e.context(format!("writing into {}", out.display())));
    }
    let Some((outcome, summary)) = sink.summary else {
        bail!("the run ended without a result");
    };
    if let Outcome::Failed { message } = &outcome {
        eprintln!("run failed: {message}");
    }
    let summary = summary.context("the run produced no summary")?;
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
