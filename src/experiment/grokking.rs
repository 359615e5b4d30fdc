//! The Grokking runner: trains one config to its end and reports typed events; optionally records the
//! run in a folder with checkpoints, resumes one, or forks one from a checkpoint.

use super::{EventSink, RunControl};
use crate::config::GrokkingConfig;
use crate::protocol::{Event, Metric, Outcome, RunId, Summary};
use crate::store::run_dir::{ParentRef, RunDirError, RunFolder, RunWriter};
use crate::train::trainer::Trainer;
use std::path::Path;
use std::time::Instant;

/// How a run is recorded and where it ends.
#[derive(Default)]
pub struct RunOptions {
    /// Records the run (in memory, and in its folder once it has one). `None`: nothing is kept.
    pub writer: Option<RunWriter>,
    /// End (as `Stopped`, with a checkpoint) after this many epochs, before the config's cap.
    pub stop_at_epoch: Option<u64>,
    /// Checkpoint every this many epochs (0: about ten a run), and always at the end.
    pub checkpoint_every_epochs: u64,
    /// Also write TensorBoard event files into the run folder's `tensorboard/` as the run trains
    /// (switches on [`RunWriter::tensorboard`] of `writer`; nothing is written without a writer, or
    /// until an in-memory writer gets a folder).
    pub tensorboard: bool,
}

impl RunOptions {
    /// Record into a new run folder.
    pub fn to_folder(dir: &Path, cfg: &GrokkingConfig) -> Result<Self, RunDirError> {
        Ok(RunOptions {
            writer: Some(RunWriter::create(dir, cfg, None)?),
            ..Default::default()
        })
    }
}

/// Train `cfg` to its end. Emits `Started`, `Progress`/`Metrics`/`Detected`/`Changed` while training, and
/// exactly one `Finished` (also for a refused config, which emits no `Started`). Returns the outcome.
pub fn run(
    cfg: &GrokkingConfig,
    run: RunId,
    sink: &mut dyn EventSink,
    control: &mut dyn RunControl,
) -> Outcome {
    run_with(cfg, run, sink, control, RunOptions::default())
}

/// [`run`] with a recorder and a stopping point.
pub fn run_with(
    cfg: &GrokkingConfig,
    run: RunId,
    sink: &mut dyn EventSink,
    control: &mut dyn RunControl,
    opts: RunOptions,
) -> Outcome {
    run_keeping(cfg, run, sink, control, opts).0
}

/// [`run_with`], also handing back the recorder (so the run can still be saved after it ended).
pub fn run_keeping(
    cfg: &GrokkingConfig,
    run: RunId,
    sink: &mut dyn EventSink,
    control: &mut dyn RunControl,
    opts: RunOptions,
) -> (Outcome, Option<RunWriter>) {
    match Trainer::new(cfg) {
        Ok(trainer) => train(trainer, run, sink, control, opts),
        Err(e) => (super::refuse(run, sink, e.to_string()), None),
    }
}

pub use crate::protocol::{ContinueSpec, ForkSpec};

/// Resume or fork a saved run (see [`ContinueSpec`]); refused with a message naming the problem when
/// the folder, the checkpoint or the fork's changes cannot be used.
pub fn continue_run(
    spec: &ContinueSpec,
    run: RunId,
    sink: &mut dyn EventSink,
    control: &mut dyn RunControl,
    opts: RunOptions,
) -> Outcome {
    continue_keeping(spec, run, sink, control, opts).0
}

/// [`continue_run`], also handing back the recorder.
pub fn continue_keeping(
    spec: &ContinueSpec,
    run: RunId,
    sink: &mut dyn EventSink,
    control: &mut dyn RunControl,
    mut opts: RunOptions,
) -> (Outcome, Option<RunWriter>) {
    match prepare_continue(spec, &mut opts) {
        Ok(trainer) => train(trainer, run, sink, control, opts),
        Err(message) => (super::refuse(run, sink, message), None),
    }
}

fn prepare_continue(spec: &ContinueSpec, opts: &mut RunOptions) -> Result<Trainer, String> {
    let folder = RunFolder::open(&spec.from).map_err(|e| e.to_string())?;
    let (ckpt, mut state) = match spec.step {
        None => folder.latest_usable().map_err(|e| e.to_string())?,
        Some(step) => {
            let c = folder
                .checkpoint_at(step)
                .map_err(|e| e.to_string())?
                .clone();
            let s = folder.load(&c).map_err(|e| e.to_string())?;
            (c, s)
        }
    };
    let fork = match &spec.fork {
        None => None,
        Some(fork) => {
            let changes = crate::config::fork_changes(&state.config, &fork.config)?;
            fork.config.validate().map_err(|e| e.to_string())?;
            state.config = fork.config.clone();
            let parent = ParentRef {
                dir: spec.from.clone(),
                step: ckpt.step,
                epoch: ckpt.epoch,
                changes,
            };
            Some((fork, parent))
        }
    };
    // Everything in the checkpoint is checked before anything is written: a resume rewrites the
    // folder's tables up to the checkpoint, which must not happen for a state that cannot train.
    let trainer = Trainer::from_state(&state)
        .map_err(|e| format!("checkpoint at step {}: {e}", ckpt.step))?;
    let writer = match fork {
        None => RunWriter::resume(&folder, &ckpt),
        Some((fork, parent)) => match &fork.out {
            Some(out) => RunWriter::create(out, &fork.config, Some(parent)),
            None => Ok(RunWriter::in_memory(&fork.config, Some(parent))),
        },
    };
    opts.writer = Some(writer.map_err(|e| e.to_string())?);
    Ok(trainer)
}

/// Passes events to the sink, recording them first; a recording failure is reported once.
struct Recorder<'a> {
    sink: &'a mut dyn EventSink,
    writer: Option<RunWriter>,
    run: RunId,
    failed: bool,
}

impl Recorder<'_> {
    fn emit(&mut self, ev: Event) {
        if let Some(w) = &mut self.writer {
            let r = w.observe(&ev);
            self.check(r.map(|_| ()));
        }
        self.sink.emit(ev);
    }

    fn check(&mut self, r: Result<(), RunDirError>) {
        if let Err(e) = r
            && !self.failed
        {
            self.failed = true;
            self.sink.emit(Event::Refused {
                message: format!(
                    "run {}: saving failed, training goes on in memory: {e}",
                    self.run
                ),
            });
        }
    }

    fn checkpoint(&mut self, trainer: &Trainer) {
        let Some(w) = &mut self.writer else { return };
        let r = match trainer.state() {
            Ok(state) => w.checkpoint(&state).map(|_| ()),
            Err(e) => Err(e.into()),
        };
        self.check(r);
    }
}

/// Train a prepared trainer to its end (see [`run`]).
pub fn run_trainer(
    trainer: Trainer,
    run: RunId,
    sink: &mut dyn EventSink,
    control: &mut dyn RunControl,
    opts: RunOptions,
) -> Outcome {
    train(trainer, run, sink, control, opts).0
}

/// [`run_trainer`], handing back the recorder.
fn train(
    mut trainer: Trainer,
    run: RunId,
    sink: &mut dyn EventSink,
    control: &mut dyn RunControl,
    opts: RunOptions,
) -> (Outcome, Option<RunWriter>) {
    let t0 = Instant::now();
    let cfg = trainer.config().clone();
    let every = match opts.checkpoint_every_epochs {
        0 => (cfg.max_epochs / 10).max(1),
        n => n,
    };
    let mut writer = opts.writer;
    if let Some(w) = &mut writer {
        w.tensorboard |= opts.tensorboard;
    }
    let mut rec = Recorder {
        sink,
        writer,
        run,
        failed: false,
    };
    rec.emit(Event::Started {
        run,
        config: Box::new(crate::config::RunConfig::Grokking(cfg.clone())),
        param_count: trainer.param_count(),
        steps_per_epoch: cfg.steps_per_epoch(),
    });
    if let Some(dir) = rec.writer.as_ref().and_then(|w| w.dir()) {
        let dir = dir.to_path_buf();
        rec.sink.emit(Event::Saved { run, dir });
    }
    // a fresh run's initial state, so a fork can start from step 0
    if trainer.steps() == 0 {
        rec.checkpoint(&trainer);
    }
    let mut checkpoint_due = false;
    // latest value of each metric (eval metrics are not on every row)
    let mut latest = std::collections::BTreeMap::new();
    let outcome = loop {
        if trainer.finished() {
            break Outcome::Completed;
        }
        if opts.stop_at_epoch.is_some_and(|e| trainer.epochs() >= e) {
            break Outcome::Stopped;
        }
        let ctl = control.poll(trainer.steps() + 1);
        for change in ctl.changes {
            trainer.apply_change(change);
            rec.emit(Event::Changed {
                run,
                change,
                step: trainer.steps(),
                epoch: trainer.epochs(),
            });
        }
        if let Some(super::SaveTo { dir, tensorboard }) = ctl.save_to {
            let r = match &mut rec.writer {
                Some(w) => w.attach_with(&dir, tensorboard),
                None => Err(RunDirError::NotARun(
                    "this run is not being recorded, so it cannot be saved".into(),
                )),
            };
            match r {
                Ok(()) => {
                    checkpoint_due = true;
                    rec.sink.emit(Event::Saved { run, dir });
                }
                Err(e) => rec.sink.emit(Event::Refused {
                    message: format!("cannot save into {}: {e}", dir.display()),
                }),
            }
        }
        if ctl.stop {
            break Outcome::Stopped;
        }
        if ctl.hold {
            // a paused run was saved (its held checkpoints with it): wait again without stepping
            continue;
        }
        match trainer.step() {
            Ok(report) => {
                rec.emit(Event::Progress {
                    run,
                    step: trainer.steps(),
                    epoch: trainer.epochs(),
                });
                if let Some(row) = report.row {
                    for event in report.events {
                        rec.emit(Event::Detected {
                            run,
                            event,
                            step: row.step,
                            epoch: row.epoch,
                        });
                    }
                    latest.extend(row.values.iter().copied());
                    let epoch = row.epoch;
                    rec.emit(Event::Metrics {
                        run,
                        rows: vec![row],
                    });
                    if checkpoint_due || epoch.is_multiple_of(every) {
                        rec.checkpoint(&trainer);
                        checkpoint_due = false;
                    }
                }
            }
            Err(e) => {
                break Outcome::Failed {
                    message: e.to_string(),
                };
            }
        }
    };
    // the end of a run is an epoch boundary unless it stopped mid-epoch or failed
    if !matches!(outcome, Outcome::Failed { .. }) && trainer.state().is_ok() {
        rec.checkpoint(&trainer);
    }
    let d = trainer.detector();
    let summary = Summary {
        param_count: trainer.param_count(),
        steps: trainer.steps(),
        epochs: trainer.epochs(),
        t_train_epoch: d.t_train,
        t_val_epoch: d.t_val,
        delay_epochs: d.delay(trainer.epochs()),
        final_train_acc: latest.get(&Metric::TrainAcc).copied(),
        final_val_acc: latest.get(&Metric::ValAcc).copied(),
        wall_secs: t0.elapsed().as_secs_f64(),
    };
    rec.emit(Event::Finished {
        run,
        outcome: outcome.clone(),
        summary: Some(summary),
    });
    (outcome, rec.writer)
}
