//! The Grokking lab's phase study ("when does grokking happen", spec section 4): every (cell, seed)
//! task trained by the Grokking runner ([`super::grokking::run`]) in parallel ([`super::pool`]), each run
//! classified by [`classify_run`] from its events, one `PhaseTask` event per finished run so a window
//! fills the cells in as they come. A task's result depends only on the study config and the task (its
//! own seeded run), never on threads or scheduling.

use super::grokking::{RunOptions, Start};
use super::{Control, EventSink, RunControl};
use crate::analysis::phase::{PHASE_RESULT_VERSION, PhaseRun, classify_run};
use crate::config::phase::{PhaseTask, ValidPhaseStudyConfig, phase_tasks};
use crate::config::{ConfigError, RunConfig};
use crate::protocol::{Event, GrokEvent, GrokkingEvent, LabEvent, Outcome, RunId, Summary};
use crate::store::run_dir::{RunDirError, RunWriter};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Why a task could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum PhaseTaskError {
    /// The task's run config is out of range (cannot happen for a checked study; kept for the type).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The task's run folder could not be made.
    #[error(transparent)]
    Folder(#[from] RunDirError),
    /// Moving an unfinished run folder aside failed.
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        /// (in the message, not a `source`: `{:#}` would print it twice)
        error: std::io::Error,
    },
    /// The run failed (a non-finite loss, a model error).
    #[error("the run failed: {0}")]
    Failed(String),
    /// The run ended without its summary.
    #[error("the run ended without a summary")]
    NoSummary,
}

/// What [`run`] runs and keeps.
#[derive(Clone, Debug, Default)]
pub struct PhaseOptions {
    /// These tasks (one shard, or the ones a resumed study still lacks); `None`: every task.
    pub tasks: Option<Vec<PhaseTask>>,
    /// Keep each run's folder (config, metrics, events, a checkpoint at its start and end) in
    /// `DIR/TASK-NAME/`, so a cell's runs can be opened; `None`: keep only the results.
    pub runs_dir: Option<PathBuf>,
    /// Hold each run to this many steps a second (a lesson's pace, so that a room sees the map
    /// fill in: the tiny study was done in 0.6 s); `None`: flat out.
    pub speed: Option<f64>,
}

pub use crate::store::phase::RUNS_SUBDIR;

/// Collects what the phase study needs from one run's events.
#[derive(Default)]
struct TaskSink {
    t_val98: Option<u64>,
    end: Option<(Outcome, Option<Summary>)>,
}

impl EventSink for TaskSink {
    fn emit(&mut self, ev: Event) {
        match ev {
            Event::Lab {
                payload:
                    LabEvent::Grokking(GrokkingEvent::Detected {
                        event: GrokEvent::Val98,
                        epoch,
                        ..
                    }),
                ..
            } => {
                self.t_val98.get_or_insert(epoch);
            }
            Event::Finished {
                outcome, summary, ..
            } => self.end = Some((outcome, summary)),
            Event::Started { .. }
            | Event::Metrics { .. }
            | Event::Progress { .. }
            | Event::Lab { .. }
            | Event::Changed { .. }
            | Event::Paused { .. }
            | Event::Refused { .. }
            | Event::Note { .. }
            | Event::Saved { .. } => {}
        }
    }
}

/// Ends a task's run when the study's stop flag is raised, and holds it to a speed limit if given.
struct TaskControl<'a> {
    stop: &'a AtomicBool,
    /// The time a step takes at the speed limit (`None`: flat out).
    period: Option<Duration>,
    /// When the next step may start.
    next_at: Option<Instant>,
}

impl<'a> TaskControl<'a> {
    fn new(stop: &'a AtomicBool, speed: Option<f64>) -> Self {
        let period = speed
            .filter(|v| v.is_finite() && *v > 0.0)
            .map(|v| Duration::from_secs_f64(1.0 / v));
        Self {
            stop,
            period,
            next_at: None,
        }
    }
}

impl RunControl for TaskControl<'_> {
    fn poll(&mut self, _next_step: u64) -> Control {
        let mut idle = Duration::ZERO;
        if let Some(period) = self.period {
            let now = Instant::now();
            if let Some(at) = self.next_at.filter(|at| *at > now) {
                // at most one period (a second at the slowest limit): a stop is seen after it
                idle = at - now;
                std::thread::sleep(idle);
            }
            self.next_at = Some(Instant::now() + period);
        }
        Control {
            stop: self.stop.load(Ordering::Relaxed),
            idle,
            ..Control::default()
        }
    }
}

/// A folder name not yet taken: `base.set-aside-K` for the first free K.
fn aside_name(base: &Path) -> PathBuf {
    let name = base
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (1..)
        .map(|k| base.with_file_name(format!("{name}.set-aside-{k}")))
        .find(|p| !p.exists())
        // an unbounded range always yields a name that is free
        .unwrap_or_else(|| unreachable!("(1..) never ends"))
}

/// Move the run folder `path` of a task about to train again (an earlier session's, with no usable
/// result file: stopped before its end, or its result file damaged) aside to `path.set-aside-K`,
/// kept, not deleted. Returns where it went; `None` when there was no folder.
pub fn set_aside_run_folder(path: &Path) -> Result<Option<PathBuf>, PhaseTaskError> {
    if !path.exists() {
        return Ok(None);
    }
    let aside = aside_name(path);
    std::fs::rename(path, &aside).map_err(|source| PhaseTaskError::Io {
        path: path.to_path_buf(),
        error: source,
    })?;
    Ok(Some(aside))
}

/// Train one task and classify it. `Ok(None)` when `stop` was raised first.
pub fn run_task(
    cfg: &ValidPhaseStudyConfig,
    task: &PhaseTask,
    runs_dir: Option<&Path>,
    stop: &AtomicBool,
    speed: Option<f64>,
) -> Result<Option<PhaseRun>, PhaseTaskError> {
    let run_cfg = cfg.valid_task_config(task)?;
    let mut opts = RunOptions {
        // a checkpoint at the start and the end only: the run folder is for looking, not forking
        checkpoint_every: crate::config::checkpoints::CheckpointEvery::from(u64::MAX),
        ..RunOptions::default()
    };
    let mut run_dir = None;
    if let Some(dir) = runs_dir {
        let path = dir.join(task.name());
        // (the command moves such folders first and says so; this keeps any other caller safe)
        set_aside_run_folder(&path)?;
        opts.writer = Some(RunWriter::create(&path, &run_cfg, None)?);
        run_dir = Some(format!("{RUNS_SUBDIR}/{}", task.name()));
    }
    let mut sink = TaskSink::default();
    super::grokking::run(
        Start::New(run_cfg.clone()),
        0,
        &mut sink,
        &mut TaskControl::new(stop, speed),
        opts,
    );
    result_of(task, run_cfg.into(), sink, run_dir)
}

/// A task's result from what its run sent: `Ok(None)` for a stopped run, an error for a failed one.
fn result_of(
    task: &PhaseTask,
    config: crate::config::GrokkingConfig,
    sink: TaskSink,
    run_dir: Option<String>,
) -> Result<Option<PhaseRun>, PhaseTaskError> {
    let (outcome, summary) = sink.end.ok_or(PhaseTaskError::NoSummary)?;
    match outcome {
        Outcome::Completed => {}
        Outcome::Stopped => return Ok(None),
        Outcome::Failed { message } => return Err(PhaseTaskError::Failed(message)),
    }
    let s = summary.ok_or(PhaseTaskError::NoSummary)?;
    Ok(Some(PhaseRun {
        version: PHASE_RESULT_VERSION,
        task: *task,
        weight_decay: config.optim.weight_decay,
        train_fraction: config.train_fraction,
        width: match &config.model {
            crate::config::ModelConfig::Mlp(m) => m.hidden,
            crate::config::ModelConfig::Transformer(t) => t.d_model,
        },
        params: s.param_count,
        epochs: s.epochs,
        steps: s.steps,
        t_train: s.t_train_epoch,
        t_val98: sink.t_val98,
        t_val: s.t_val_epoch,
        final_train_acc: s.final_train_acc,
        final_val_acc: s.final_val_acc,
        // the paper's delay threshold (98 %), as `GrokDetector::delay` uses; `t_val_epoch` is 99 %
        class: classify_run(s.t_train_epoch, sink.t_val98, config.max_epochs),
        wall_secs: s.wall_secs,
        run_dir,
        config,
    }))
}

/// Run a phase study (all its tasks, or `opts.tasks`) on up to `cfg.threads` named threads, each run
/// single-threaded. Emits `Started`, one `Lab(Grokking(PhaseTask))` per finished run in completion order
/// (`done` of the tasks run now), and exactly one `Finished`. A task that fails does not end the others:
/// the study goes on and ends `Failed`, naming every failed task. The control is polled between results;
/// a stop reaches the running tasks before their next optimiser step.
/// Refuse a study whose largest run, once per thread, needs more than `limit_bytes`.
pub fn check_memory(cfg: &ValidPhaseStudyConfig, limit_bytes: u64) -> Result<(), String> {
    let tasks = phase_tasks(cfg);
    let threads = super::pool::threads_for(cfg.threads, tasks.len());
    let largest = tasks.iter().map(|t| cfg.task_config(t)).max_by_key(|c| {
        c.memory_estimate_in(crate::config::memory::Setting::Headless, 2)
            .total()
    });
    match largest {
        Some(c) => super::check_study_memory(&c, threads, limit_bytes),
        None => Ok(()),
    }
}

pub fn run(
    cfg: &ValidPhaseStudyConfig,
    opts: &PhaseOptions,
    run: RunId,
    sink: &mut dyn EventSink,
    control: &mut dyn RunControl,
) -> Outcome {
    let tasks = opts.tasks.clone().unwrap_or_else(|| phase_tasks(cfg));
    let total = tasks.len();
    let runs_dir = opts.runs_dir.as_deref();
    let spec = super::pool::StudySpec {
        run,
        config: RunConfig::PhaseStudy((**cfg).clone()),
        steps_per_epoch: cfg.base.steps_per_epoch(),
        threads: super::pool::threads_for(cfg.threads, total),
        thread_name: "phase-study",
        kind: "phase study",
        units: "runs",
        device: crate::model::device_for(&cfg.base.model).map_err(|e| e.to_string()),
    };
    super::pool::study(
        spec,
        &tasks,
        sink,
        control,
        |task, stop, _report| run_task(cfg, task, runs_dir, stop, opts.speed),
        PhaseTask::name,
        |result, done| {
            Some(LabEvent::Grokking(GrokkingEvent::PhaseTask {
                result: Box::new(result),
                done,
                total,
            }))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::phase::{Outcome as Class, RunClass};
    use crate::config::phase::phase_preset;

    /// A task's run held to a speed limit takes at least a period a step (a lower bound: sleeps
    /// end no sooner than asked); flat out it is never held. Expected: at 500 steps a second a step
    /// takes 2 ms, so 11 polls (10 waits) take at least 20 ms, and say so in their idle time.
    #[test]
    fn a_task_holds_to_its_speed_limit() {
        let stop = AtomicBool::new(false);
        let mut paced = TaskControl::new(&stop, Some(500.0));
        let t0 = Instant::now();
        let idle: Duration = (1..=11).map(|s| paced.poll(s).idle).sum();
        assert!(
            t0.elapsed() >= Duration::from_millis(20),
            "{:?}",
            t0.elapsed()
        );
        assert!(idle > Duration::ZERO);
        let mut flat = TaskControl::new(&stop, None);
        assert!((1..=100).all(|s| flat.poll(s).idle == Duration::ZERO));
        // a limit that is no limit is flat out
        assert_eq!(TaskControl::new(&stop, Some(0.0)).period, None);
        stop.store(true, Ordering::Relaxed);
        assert!(paced.poll(12).stop, "a stop still ends it");
    }

    fn summary(epochs: u64, t_train: Option<u64>, t_val: Option<u64>) -> Summary {
        Summary {
            param_count: 10,
            steps: epochs,
            epochs,
            t_train_epoch: t_train,
            t_val_epoch: t_val,
            delay_epochs: None,
            final_train_acc: None,
            final_val_acc: None,
            wall_secs: 0.5,
        }
    }

    /// The result of a synthetic run: its Val98 epoch (if any) and its summary, as the runner sends them.
    fn classify(val98: Option<u64>, s: Summary, outcome: Outcome) -> Option<PhaseRun> {
        let study = phase_preset("tiny").unwrap().config;
        let task = phase_tasks(&study)[1];
        let mut sink = TaskSink::default();
        if let Some(epoch) = val98 {
            sink.emit(Event::detected(0, GrokEvent::Val98, epoch * 2, epoch));
            // a second crossing cannot happen, but must not move the first
            sink.emit(Event::detected(0, GrokEvent::Val98, epoch * 4, epoch * 2));
        }
        sink.emit(Event::detected(0, GrokEvent::Memorised, 1, 1));
        sink.emit(Event::Finished {
            run: 0,
            outcome,
            summary: Some(s),
        });
        result_of(&task, study.task_config(&task), sink, None).unwrap()
    }

    #[test]
    fn synthetic_runs_are_classified_from_the_delay_threshold() {
        // the tiny preset's cap is 300 epochs. By hand from the spec's definitions:
        // train 99 % at 40, validation 98 % at 150 (99 % at 160) -> grokking, delay 150 - 40 = 110
        let r = classify(
            Some(150),
            summary(160, Some(40), Some(160)),
            Outcome::Completed,
        )
        .unwrap();
        assert_eq!(
            r.class,
            RunClass {
                outcome: Class::Grokking,
                delay: Some(110)
            }
        );
        assert_eq!(
            (r.t_val98, r.t_val, r.t_train),
            (Some(150), Some(160), Some(40))
        );
        // validation 98 % at 40 as train reaches 99 % -> comprehension, delay 0 (the 99 % epoch, 41,
        // would have said grokking with delay 1: the 98 % threshold decides)
        let r = classify(
            Some(40),
            summary(41, Some(40), Some(41)),
            Outcome::Completed,
        )
        .unwrap();
        assert_eq!(r.class.outcome, Class::Comprehension);
        // train at 30, validation never within the 300-epoch cap -> memorisation, delay 300 - 30
        let r = classify(None, summary(300, Some(30), None), Outcome::Completed).unwrap();
        assert_eq!(
            r.class,
            RunClass {
                outcome: Class::Memorisation,
                delay: Some(270)
            }
        );
        let r = classify(None, summary(300, None, None), Outcome::Completed).unwrap();
        assert_eq!(r.class.outcome, Class::NoLearning);
        // the record says what was run: the task's axis values and config
        assert_eq!((r.weight_decay, r.train_fraction), (3.0, 0.3));
        assert_eq!(r.config.optim.weight_decay, 3.0);
        // a stopped run is no result; a failed one is an error naming why
        assert_eq!(
            classify(None, summary(5, None, None), Outcome::Stopped),
            None
        );
        let study = phase_preset("tiny").unwrap().config;
        let task = phase_tasks(&study)[0];
        let mut sink = TaskSink::default();
        sink.emit(Event::Finished {
            run: 0,
            outcome: Outcome::Failed {
                message: "loss became NaN".into(),
            },
            summary: None,
        });
        let e = result_of(&task, study.task_config(&task), sink, None).unwrap_err();
        assert!(e.to_string().contains("loss became NaN"), "{e}");
    }
}
