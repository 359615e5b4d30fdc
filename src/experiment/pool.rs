//! Many small trainings in parallel: studies and sweeps run their tasks on named scoped threads, one
//! task per thread at a time (each single-threaded: on 2 cores two single-threaded runs side by side beat
//! one run using both, stack.md), and collect the results on the calling thread, which owns the sink.

use super::{EventSink, RunControl};
use crate::config::RunConfig;
use crate::config::device::Choice;
use crate::protocol::{Event, LabEvent, Outcome, RunId};
use crossbeam_channel::{Receiver, RecvTimeoutError};
use std::fmt::Display;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// A task's index and how it ended on its thread (`Err`: it panicked).
pub type Delivery<T> = (usize, std::thread::Result<T>);

/// What a task thread sends the collecting thread: its progress while it trains, then its delivery. One
/// channel for both keeps a task's progress ahead of its result.
pub enum Message<T> {
    /// A lab payload a running task reports (see [`Report`]).
    Progress(LabEvent),
    /// The task ended.
    Done(Delivery<T>),
}

/// How a running task hands a progress payload to the sink, from its own thread. It blocks while the
/// channel is full, so a task should report a few times a second at most, not every step.
pub type Report<'a> = &'a (dyn Fn(LabEvent) + Sync);

/// Training threads for `requested` (0 = the cores) and `tasks` tasks.
pub fn threads_for(requested: usize, tasks: usize) -> usize {
    // asked once (`perf::cores`): the Capacity tab checks a sweep's memory, and so its threads, each frame
    let cores = crate::perf::cores();
    let t = if requested == 0 { cores } else { requested };
    t.min(tasks).max(1)
}

/// Run `work(k, stop, report)` for every k in 0..`tasks` on up to `threads` threads named `{name}-{i}`,
/// while `collect` receives the tasks' progress and deliveries in order on this thread and decides the
/// outcome. When `collect` returns, `stop` is raised (running tasks end at their next step) and the
/// threads are joined.
pub fn run<T, W, C>(name: &str, tasks: usize, threads: usize, work: W, collect: C) -> Outcome
where
    T: Send,
    W: Fn(usize, &AtomicBool, Report<'_>) -> T + Sync,
    C: FnOnce(&Receiver<Message<T>>) -> Outcome,
{
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    // a worker out of tasks lends its core to the trainings still running (batch halves, evaluation)
    let spare = std::sync::Arc::new(crate::perf::SpareCores::default());
    std::thread::scope(|scope| {
        let (tx, rx) = crossbeam_channel::bounded::<Message<T>>(2 * threads);
        let mut spawned = 0;
        let mut spawn_error = None;
        for i in 0..threads {
            let (tx, next, stop, work) = (tx.clone(), &next, &stop, &work);
            let spare = spare.clone();
            let worker = move || {
                crate::perf::flush_denormals();
                // the MLP's products would otherwise use every core from every task thread
                crate::model::linalg::set_threads(1);
                crate::perf::join_group(Some(spare.clone()));
                loop {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= tasks {
                        break;
                    }
                    // a closed channel means the collector is gone: the stop flag ends the task
                    let report = |payload| drop(tx.send(Message::Progress(payload)));
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        work(k, stop, &report)
                    }));
                    if tx.send(Message::Done((k, result))).is_err() {
                        break;
                    }
                }
                spare.give();
            };
            match std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn_scoped(scope, worker)
            {
                Ok(_) => spawned += 1,
                Err(e) => spawn_error = Some(e),
            }
        }
        drop(tx);
        let outcome = match (spawned, spawn_error) {
            (0, Some(e)) => Outcome::Failed {
                message: format!("could not start a training thread: {e}"),
            },
            _ => collect(&rx),
        };
        // a thread blocked on a full channel sees it closed
        stop.store(true, Ordering::Relaxed);
        drop(rx);
        outcome
    })
}

/// The text of a panic's payload.
pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Receive the deliveries of `total` tasks of `run` on the calling thread in completion order: emit each
/// task's progress payloads as they come and each finished task as `payload(result, done)` (with how
/// many results are out, this one included), poll the control between them (a stop ends the wait;
/// changes are refused: the settings of a `kind` are fixed while it runs). `payload` may answer `None`
/// for a delivery that is a part of a result still to come (one training of a sweep task whose other
/// training runs on): it counts as delivered and emits nothing. A task that fails or panics does not end
/// the others; the outcome is `Failed` naming every failed task (by `name_of` its index).
#[allow(clippy::too_many_arguments)]
pub fn collect<R, E: Display>(
    kind: &str,
    units: &str,
    run: RunId,
    total: usize,
    rx: &Receiver<Message<Result<Option<R>, E>>>,
    sink: &mut dyn EventSink,
    control: &mut dyn RunControl,
    name_of: impl Fn(usize) -> String,
    payload: impl Fn(R, usize) -> Option<LabEvent>,
) -> Outcome {
    // results emitted, and deliveries (results and parts)
    let (mut done, mut delivered) = (0, 0);
    let mut failures: Vec<String> = vec![];
    while delivered + failures.len() < total {
        let ctl = control.poll(done as u64 + 1);
        for change in ctl.changes {
            sink.emit(Event::Refused {
                message: format!("a {kind}'s settings are fixed while it runs ({change} ignored)"),
            });
        }
        if ctl.stop {
            return Outcome::Stopped;
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Message::Progress(payload)) => sink.emit(Event::Lab { run, payload }),
            Ok(Message::Done((_, Ok(Ok(Some(result)))))) => {
                delivered += 1;
                if let Some(payload) = payload(result, done + 1) {
                    done += 1;
                    sink.emit(Event::Lab { run, payload });
                }
            }
            // abandoned after a stop that this loop has not seen yet
            Ok(Message::Done((_, Ok(Ok(None))))) => {}
            Ok(Message::Done((k, Ok(Err(e))))) => failures.push(format!("{}: {e}", name_of(k))),
            Ok(Message::Done((k, Err(panic)))) => failures.push(format!(
                "{} crashed: {}",
                name_of(k),
                panic_message(panic.as_ref())
            )),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                failures.push(format!(
                    "the training threads ended after {} of {total} {units}",
                    delivered + failures.len()
                ));
                break;
            }
        }
    }
    if failures.is_empty() {
        Outcome::Completed
    } else {
        Outcome::Failed {
            message: format!(
                "{} of {total} {units} failed: {}",
                failures.len(),
                failures.join("; ")
            ),
        }
    }
}

/// What a study run by [`study`] says about itself: its run id, its config (for `Started`) and the names
/// of its threads (`{threads}-{i}`) and of its kind in messages ("a {kind}'s settings are fixed ..").
pub struct StudySpec<'a> {
    pub run: RunId,
    pub config: RunConfig,
    pub steps_per_epoch: u64,
    /// Training threads (see [`threads_for`]).
    pub threads: usize,
    pub thread_name: &'a str,
    pub kind: &'a str,
    /// What its units of work are called in messages, plural ("tasks", "runs", "trainings").
    pub units: &'a str,
    /// Where the tasks train and why, or why the asked-for device cannot be used (the study then ends
    /// at once, before any task starts).
    pub device: Result<Choice, String>,
}

/// Run a study's `tasks` in parallel ([`run`]) and report them ([`collect`]): emits `Started`, the
/// `Lab` payloads the running tasks report, one `Lab(payload(result, done))` per finished task in
/// completion order (none where `payload` answers `None`: see [`collect`]), and exactly one `Finished`.
/// `work` trains one task (`Ok(None)`: stopped first); `name_of` names a task in failure messages.
pub fn study<T, R, E>(
    spec: StudySpec<'_>,
    tasks: &[T],
    sink: &mut dyn EventSink,
    control: &mut dyn RunControl,
    work: impl Fn(&T, &AtomicBool, Report<'_>) -> Result<Option<R>, E> + Sync,
    name_of: impl Fn(&T) -> String,
    payload: impl Fn(R, usize) -> Option<LabEvent>,
) -> Outcome
where
    T: Sync,
    R: Send,
    E: Display + Send,
{
    let run_id = spec.run;
    sink.emit(Event::Started {
        run: run_id,
        config: Box::new(spec.config),
        param_count: 0,
        steps_per_epoch: spec.steps_per_epoch,
        device: spec.device.as_ref().ok().cloned(),
    });
    if let Err(why) = spec.device {
        let outcome = Outcome::Failed { message: why };
        sink.emit(Event::Finished {
            run: run_id,
            outcome: outcome.clone(),
            summary: None,
        });
        return outcome;
    }
    let total = tasks.len();
    let outcome = run(
        spec.thread_name,
        total,
        spec.threads,
        |k, stop, report| work(&tasks[k], stop, report),
        |rx| {
            collect(
                spec.kind,
                spec.units,
                run_id,
                total,
                rx,
                sink,
                control,
                |k| name_of(&tasks[k]),
                payload,
            )
        },
    );
    sink.emit(Event::Finished {
        run: run_id,
        outcome: outcome.clone(),
        summary: None,
    });
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_runs_once_and_a_panic_is_delivered_not_raised() {
        let mut seen = vec![];
        let outcome = run(
            "pool-test",
            10,
            3,
            |k, _, _| {
                assert!(k != 7, "task 7 fails");
                k * k
            },
            |rx| {
                for _ in 0..10 {
                    let Message::Done((k, r)) = rx.recv().unwrap() else {
                        panic!("these tasks report no progress");
                    };
                    seen.push((k, r.ok()));
                }
                Outcome::Completed
            },
        );
        assert_eq!(outcome, Outcome::Completed);
        seen.sort_by_key(|(k, _)| *k);
        let want: Vec<(usize, Option<usize>)> =
            (0..10).map(|k| (k, (k != 7).then_some(k * k))).collect();
        assert_eq!(seen, want);
        assert_eq!(threads_for(0, 1), 1);
        assert_eq!(threads_for(4, 2), 2);
    }

    /// A stand-in payload: a `TaskProgress` of task (width, seed) and run `run`, without points.
    fn stand_in(width: usize, seed: u64, run: crate::protocol::TaskRun) -> LabEvent {
        LabEvent::Capacity(crate::protocol::CapacityEvent::TaskProgress {
            task: crate::config::capacity::Task { p: 0, width, seed },
            run,
            points: vec![],
        })
    }

    /// Six units of `work` on two threads, collected into `sink` as run 5 of a "test".
    fn six_units<T: Send>(
        sink: &mut Vec<Event>,
        work: impl Fn(usize, &AtomicBool, Report<'_>) -> Result<Option<T>, String> + Sync,
        name_of: impl Fn(usize) -> String,
        payload: impl Fn(T, usize) -> Option<LabEvent>,
    ) -> Outcome {
        run("pool-test", 6, 2, work, |rx| {
            let mut control = super::super::Unattended;
            collect(
                "test",
                "units",
                5,
                6,
                rx,
                sink,
                &mut control,
                name_of,
                payload,
            )
        })
    }

    #[test]
    fn parts_count_as_delivered_without_an_event_and_a_failure_is_named() {
        use crate::protocol::{CapacityEvent, TaskRun};
        // expected by construction: 6 units; units 0, 2 and 4 are parts (no event), 1 and 5 results,
        // unit 3 fails: the sweep ends Failed naming unit 3 alone (not "threads ended": the parts were
        // counted), after two results numbered 1 and 2
        let event = |width, done: usize| stand_in(width, done as u64, TaskRun::Mem);
        let mut sink: Vec<Event> = vec![];
        let outcome = six_units(
            &mut sink,
            |k, _, _| match k {
                3 => Err("diverged".to_string()),
                k => Ok(Some(k)),
            },
            |k| format!("unit {k}"),
            |k, done| (k % 2 == 1).then(|| event(k, done)),
        );
        assert_eq!(
            outcome,
            Outcome::Failed {
                message: "1 of 6 units failed: unit 3: diverged".into()
            }
        );
        let mut got: Vec<(usize, u64)> = sink
            .iter()
            .filter_map(|e| match e {
                Event::Lab {
                    payload: LabEvent::Capacity(CapacityEvent::TaskProgress { task, .. }),
                    ..
                } => Some((task.width, task.seed)),
                _ => None,
            })
            .collect();
        assert_eq!(got.len(), 2);
        got.sort();
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), [1, 5]);
        let mut dones: Vec<u64> = got.iter().map(|g| g.1).collect();
        dones.sort();
        assert_eq!(dones, [1, 2]);
    }

    #[test]
    fn a_tasks_progress_reaches_the_sink_before_its_result() {
        use crate::protocol::{CapacityEvent, TaskRun};
        // progress payloads stand in as TaskProgress of run Gen, results as TaskProgress of run Mem
        let payload = |width, run| stand_in(width, 0, run);
        let mut sink: Vec<Event> = vec![];
        let outcome = six_units(
            &mut sink,
            |k, _, report| {
                report(payload(k, TaskRun::Gen));
                report(payload(k, TaskRun::Gen));
                Ok(Some(k))
            },
            |k| k.to_string(),
            |k, _| Some(payload(k, TaskRun::Mem)),
        );
        assert_eq!(outcome, Outcome::Completed);
        // expected by construction: per task, two progress events then its result, 6 x 3 in all
        assert_eq!(sink.len(), 18);
        for k in 0..6 {
            let runs: Vec<TaskRun> = sink
                .iter()
                .filter_map(|e| match e {
                    Event::Lab {
                        run: 5,
                        payload: LabEvent::Capacity(CapacityEvent::TaskProgress { task, run, .. }),
                    } if task.width == k => Some(*run),
                    _ => None,
                })
                .collect();
            assert_eq!(runs, [TaskRun::Gen, TaskRun::Gen, TaskRun::Mem], "task {k}");
        }
    }
}
