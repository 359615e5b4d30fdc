//! The Grokking runner: trains one config to its end and reports typed events.

use super::{EventSink, RunControl};
use crate::protocol::{Event, Metric, Outcome, RunId, Summary};
use crate::train::trainer::Trainer;
use std::time::Instant;

/// Train `cfg` to its end. Emits `Started`, `Progress`/`Metrics`/`Detected`/`Changed` while training, and
/// exactly one `Finished` (also for a refused config, which emits no `Started`). Returns the outcome.
pub fn run(
    cfg: &crate::config::GrokkingConfig,
    run: RunId,
    sink: &mut dyn EventSink,
    control: &mut dyn RunControl,
) -> Outcome {
    match Trainer::new(cfg) {
        Ok(trainer) => run_trainer(trainer, run, sink, control),
        Err(e) => super::refuse(run, sink, e.to_string()),
    }
}

/// Train a prepared trainer to its end (see [`run`]).
pub fn run_trainer(
    mut trainer: Trainer,
    run: RunId,
    sink: &mut dyn EventSink,
    control: &mut dyn RunControl,
) -> Outcome {
    let t0 = Instant::now();
    let cfg = trainer.config().clone();
    sink.emit(Event::Started {
        run,
        config: Box::new(crate::config::RunConfig::Grokking(cfg.clone())),
        param_count: trainer.param_count(),
        steps_per_epoch: cfg.steps_per_epoch(),
    });
    // latest value of each metric (eval metrics are not on every row)
    let mut latest = std::collections::BTreeMap::new();
    let outcome = loop {
        if trainer.finished() {
            break Outcome::Completed;
        }
        let ctl = control.poll(trainer.steps() + 1);
        for change in ctl.changes {
            trainer.apply_change(change);
            sink.emit(Event::Changed {
                run,
                change,
                step: trainer.steps(),
                epoch: trainer.epochs(),
            });
        }
        if ctl.stop {
            break Outcome::Stopped;
        }
        match trainer.step() {
            Ok(report) => {
                sink.emit(Event::Progress {
                    run,
                    step: trainer.steps(),
                    epoch: trainer.epochs(),
                });
                if let Some(row) = report.row {
                    for event in report.events {
                        sink.emit(Event::Detected {
                            run,
                            event,
                            step: row.step,
                            epoch: row.epoch,
                        });
                    }
                    latest.extend(row.values.iter().copied());
                    sink.emit(Event::Metrics {
                        run,
                        rows: vec![row],
                    });
                }
            }
            Err(e) => {
                break Outcome::Failed {
                    message: e.to_string(),
                };
            }
        }
    };
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
    sink.emit(Event::Finished {
        run,
        outcome: outcome.clone(),
        summary: Some(summary),
    });
    outcome
}
