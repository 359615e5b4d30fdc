//! TEMPORARY stand-in for `crate::worker::Worker` (being written on `main`) with the same API.
//! It fakes a grokking-shaped run so the window can be looked at; removed when the worker merges.

use crate::protocol::{Command, Event, GrokEvent, Metric, MetricRow, Outcome};
use crossbeam_channel::{Receiver, Sender, bounded};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct Worker {
    tx: Sender<Command>,
    rx: Receiver<Event>,
    thread: Option<JoinHandle<()>>,
}

type Waker = Box<dyn Fn() + Send + Sync>;

impl Worker {
    pub fn spawn(waker: Option<Waker>) -> std::io::Result<Worker> {
        let (tx, cmd_rx) = bounded::<Command>(64);
        let (ev_tx, rx) = bounded::<Event>(256);
        let thread = std::thread::Builder::new()
            .name("worker-stub".into())
            .spawn(move || stub_loop(&cmd_rx, &ev_tx, waker.as_deref()))?;
        Ok(Worker {
            tx,
            rx,
            thread: Some(thread),
        })
    }

    pub fn send(&self, cmd: Command) {
        let _ = self.tx.try_send(cmd);
    }

    pub fn try_recv(&self) -> Option<Event> {
        self.rx.try_recv().ok()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.tx.send(Command::Shutdown);
        while self.rx.try_recv().is_ok() {}
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn stub_loop(
    cmds: &Receiver<Command>,
    events: &Sender<Event>,
    waker: Option<&(dyn Fn() + Send + Sync)>,
) {
    let emit = |e: Event| {
        let _ = events.send_timeout(e, Duration::from_millis(100));
        if let Some(w) = waker {
            w();
        }
    };
    let mut run = 0u64;
    let mut active = false;
    let mut paused = false;
    let mut step = 0u64;
    let mut max_epochs = 0u64;
    let mut flags = [false; 3];
    loop {
        let cmd = if active && !paused {
            cmds.recv_timeout(Duration::from_millis(20)).ok()
        } else {
            cmds.recv().ok()
        };
        match cmd {
            Some(Command::Start(cfg)) => {
                if active {
                    emit(Event::Finished {
                        run,
                        outcome: Outcome::Stopped,
                        summary: None,
                    });
                }
                run += 1;
                step = 0;
                flags = [false; 3];
                max_epochs = cfg.max_epochs.min(3000);
                active = true;
                paused = false;
                let param_count = cfg.model.param_count(cfg.p as usize);
                let steps_per_epoch = cfg.steps_per_epoch();
                emit(Event::Started {
                    run,
                    config: cfg,
                    param_count,
                    steps_per_epoch,
                });
            }
            Some(Command::Pause) => {
                paused = true;
                emit(Event::Paused { run, paused });
            }
            Some(Command::Resume) => {
                paused = false;
                emit(Event::Paused { run, paused });
            }
            Some(Command::Step) => {
                paused = true;
            }
            Some(Command::Stop) if active => {
                active = false;
                emit(Event::Finished {
                    run,
                    outcome: Outcome::Stopped,
                    summary: None,
                });
            }
            Some(Command::Stop) | Some(Command::SetSpeed(_)) => {}
            Some(Command::Change(change)) => {
                emit(Event::Changed {
                    run,
                    change,
                    step,
                    epoch: step,
                });
            }
            Some(Command::Shutdown) => return,
            None => {}
        }
        if !active || paused {
            continue;
        }
        let mut rows = Vec::new();
        for _ in 0..10 {
            step += 1;
            let s = step as f64;
            let train = sigmoid((s - 150.0) / 30.0);
            let val = 0.01 + 0.99 * sigmoid((s - 1500.0) / 120.0);
            let mut values = vec![
                (Metric::TrainAcc, train),
                (
                    Metric::TrainLoss,
                    4.6 * (1.0 - train) + 1e-3 * (1.0 + (s * 0.1).sin().abs()),
                ),
                (
                    Metric::WeightNorm,
                    800.0 * (-s / 2000.0).exp() + 200.0 * sigmoid((s - 200.0) / 50.0),
                ),
            ];
            if step.is_multiple_of(5) {
                values.push((Metric::TrainAccEval, train));
                values.push((Metric::ValAcc, val));
                values.push((
                    Metric::ValLoss,
                    4.6 * (1.0 - val) + 1e-3 + 3.0 * train * (1.0 - val),
                ));
            }
            rows.push(MetricRow {
                step,
                epoch: step,
                values,
            });
            for (i, (ev, hit)) in [
                (GrokEvent::Memorised, train >= 0.99),
                (GrokEvent::Val98, val >= 0.98),
                (GrokEvent::Generalised, val >= 0.99),
            ]
            .into_iter()
            .enumerate()
            {
                if hit && !flags[i] {
                    flags[i] = true;
                    emit(Event::Detected {
                        run,
                        event: ev,
                        step,
                        epoch: step,
                    });
                }
            }
        }
        emit(Event::Metrics { run, rows });
        if step >= max_epochs {
            active = false;
            emit(Event::Finished {
                run,
                outcome: Outcome::Completed,
                summary: None,
            });
        }
    }
}
