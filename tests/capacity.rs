//! The Capacity lab end to end: sweep tasks and shards, resumable result files, the worker path, and the
//! `sweep`, `merge` and `analyse` commands through the real binary.

use grokscope::analysis::capacity_study::TaskResult;
use grokscope::cli::capacity as cli_capacity;
use grokscope::config::capacity::sweep_preset;
use grokscope::config::capacity::{Task, shard, tasks};
use grokscope::config::{CapacitySweepConfig, Operation, ValidCapacitySweepConfig, ValidRunConfig};
use grokscope::experiment::capacity::{self, Tasks};
use grokscope::experiment::{Control, RunControl, Unattended};
use grokscope::protocol::{
    CapacityEvent, CapacityRuns, Command as WorkerCommand, Event, LabEvent, Outcome, TaskPoint,
    TaskRun,
};
use grokscope::store::sweep_dir::config_key;
use grokscope::store::sweep_dir::{CONFIG_FILE, CSV_COLUMNS, CSV_FILE, Stored, load_result};
use grokscope::worker::Worker;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A sweep small enough for tests: a / b mod 5 (20 examples, 16 train), 20 epochs per run.
fn tiny(widths: &[usize], seeds: &[u64]) -> CapacitySweepConfig {
    let mut c = sweep_preset("tiny").unwrap().config;
    c.base.op = Operation::Div;
    c.base.p = 5;
    c.base.train_fraction = 0.8;
    c.base.max_epochs = 20;
    c.primes = vec![5];
    c.widths = widths.to_vec();
    c.seeds = seeds.to_vec();
    c.threads = 2;
    c
}

fn valid(c: &CapacitySweepConfig) -> ValidCapacitySweepConfig {
    ValidCapacitySweepConfig::try_from(c.clone()).unwrap()
}

fn grokscope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_grokscope"))
}

fn results(evs: &[Event]) -> Vec<(TaskResult, usize, usize)> {
    evs.iter()
        .filter_map(|e| match e {
            Event::Lab {
                payload:
                    LabEvent::Capacity(CapacityEvent::SweepResult {
                        result,
                        done,
                        total,
                    }),
                ..
            } => Some(((**result).clone(), *done, *total)),
            _ => None,
        })
        .collect()
}

fn finished(evs: &[Event]) -> Vec<Outcome> {
    evs.iter()
        .filter_map(|e| match e {
            Event::Finished { outcome, .. } => Some(outcome.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn shards_partition_the_tasks_exactly() {
    // expected by construction: task k goes to shard k mod n, so for every n the shards together hold
    // each of the 3 x 4 x 5 = 60 tasks exactly once, and their sizes differ by at most one
    let mut c = tiny(&[4, 8, 12, 16], &[0, 1, 2, 3, 4]);
    c.primes = vec![5, 7, 11];
    let all = tasks(&c);
    assert_eq!(all.len(), 60);
    for n in 1..=9 {
        let mut seen: Vec<Task> = vec![];
        let mut sizes = vec![];
        for i in 0..n {
            let s = shard(&all, i, n);
            sizes.push(s.len());
            seen.extend(s);
        }
        assert_eq!(seen.len(), all.len(), "n = {n}");
        seen.sort();
        let mut want = all.clone();
        want.sort();
        assert_eq!(seen, want, "n = {n}: every task exactly once");
        let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        assert!(hi - lo <= 1, "n = {n}: {sizes:?}");
    }
}

/// A stop at the first poll.
struct StopAtOnce;

impl RunControl for StopAtOnce {
    fn poll(&mut self, _next_step: u64) -> Control {
        Control {
            stop: true,
            changes: vec![],
            ..Default::default()
        }
    }
}

#[test]
fn a_sweep_reports_each_task_once_and_does_not_depend_on_threads() {
    // expected: one SweepResult per task with done counting 1..=n, then exactly one Finished; each
    // task's numbers depend only on its config, so 1 and 2 threads agree (wall time aside)
    let c = tiny(&[4, 8], &[0, 1]);
    let run = |threads| {
        let mut evs = vec![];
        let c = CapacitySweepConfig {
            threads,
            ..c.clone()
        };
        let outcome = capacity::run(&valid(&c), Tasks::All, 9, &mut evs, &mut Unattended);
        assert_eq!(outcome, Outcome::Completed);
        assert!(
            matches!(evs[0], Event::Started { run: 9, .. }),
            "{:?}",
            evs[0]
        );
        assert_eq!(finished(&evs), [Outcome::Completed]);
        assert!(matches!(evs.last(), Some(Event::Finished { .. })));
        let rs = results(&evs);
        let dones: Vec<usize> = rs.iter().map(|r| r.1).collect();
        assert_eq!(dones, [1, 2, 3, 4]);
        assert!(rs.iter().all(|r| r.2 == 4));
        let mut rs: Vec<TaskResult> = rs
            .into_iter()
            .map(|(r, _, _)| TaskResult {
                wall_secs: 0.0,
                ..r
            })
            .collect();
        rs.sort_by_key(|r| r.task());
        rs
    };
    let one = run(1);
    assert_eq!(one, run(2));
    // every field the spec asks for is there: P from the closed form 2(p+2)d + d + 2(16d^2 + 2d) at
    // p = 5, d = 4: 56 + 4 + 2 * 264 = 588; n_equiv = floor(0.8 * 20) = 16; S = 16 log2 7
    let r = &one[0];
    assert_eq!((r.p, r.width, r.seed, r.params), (5, 4, 0, 588));
    assert_eq!(r.n_equiv, 16);
    assert!((r.complexity_bits - 16.0 * 7f64.log2()).abs() < 1e-9);
    assert!(r.gen_epochs <= 20 && r.mem_epochs <= 20);
    assert_eq!(r.key, config_key(&c, &r.task()));
    assert!(r.capacity.is_empty(), "capacity runs are off");
    // a stop before any result: Stopped, exactly one Finished
    let mut evs = vec![];
    assert_eq!(
        capacity::run(&valid(&c), Tasks::All, 1, &mut evs, &mut StopAtOnce),
        Outcome::Stopped
    );
    assert_eq!(finished(&evs), [Outcome::Stopped]);
    // a bad config cannot reach the runner: the runner takes only a checked sweep, and the check
    // refuses it naming the field
    let mut bad = c.clone();
    bad.widths.clear();
    let e = ValidCapacitySweepConfig::try_from(bad).unwrap_err();
    assert!(e.to_string().contains("widths"), "{e}");
}

#[test]
fn running_tasks_report_their_curves_in_order_before_their_result() {
    // expected: each task's TaskProgress batches come before its SweepResult (its two runs train as
    // separate units, maybe side by side, so their batches may interleave); joined, each run's points
    // are the run's whole curve in step order: the
    // curve the result stores (20 epochs: under its 300-point cap, so nothing thinned), ending at the
    // result's final numbers. 16 examples fit one batch of 512: one step an epoch in both runs.
    let c = tiny(&[4, 8], &[0, 1]);
    let mut evs = vec![];
    assert_eq!(
        capacity::run(&valid(&c), Tasks::All, 3, &mut evs, &mut Unattended),
        Outcome::Completed
    );
    let rs = results(&evs);
    assert_eq!(rs.len(), 4);
    for (r, _, _) in &rs {
        let task = r.task();
        let at_result = evs
            .iter()
            .position(|e| matches!(e, Event::Lab { payload: LabEvent::Capacity(CapacityEvent::SweepResult { result, .. }), .. } if result.task() == task))
            .unwrap();
        let mut batches = vec![];
        for (i, e) in evs.iter().enumerate() {
            if let Event::Lab {
                run: 3,
                payload:
                    LabEvent::Capacity(CapacityEvent::TaskProgress {
                        task: t,
                        run,
                        points,
                    }),
            } = e
                && *t == task
            {
                assert!(i < at_result, "{task:?}: progress after the result");
                assert!(!points.is_empty(), "no empty batch");
                batches.push((*run, points.clone()));
            }
        }
        let runs: Vec<TaskRun> = batches.iter().map(|b| b.0).collect();
        assert!(
            runs.contains(&TaskRun::Gen) && runs.contains(&TaskRun::Mem),
            "{task:?}: both runs report: {runs:?}"
        );
        let joined = |run: TaskRun| -> Vec<TaskPoint> {
            batches
                .iter()
                .filter(|b| b.0 == run)
                .flat_map(|b| b.1.clone())
                .collect()
        };
        let (g, m) = (joined(TaskRun::Gen), joined(TaskRun::Mem));
        for pts in [&g, &m] {
            assert!(pts.iter().all(|p| p.step == p.epoch), "one step an epoch");
            assert!(pts.windows(2).all(|w| w[0].step < w[1].step), "step order");
        }
        let gen_curve: Vec<(u64, f64, Option<f64>)> = r
            .curves
            .gen_run
            .iter()
            .map(|p| (p.epoch, p.train_acc, p.val_acc))
            .collect();
        let gen_live: Vec<(u64, f64, Option<f64>)> = g
            .iter()
            .map(|p| (p.epoch, p.train_acc, p.val_acc))
            .collect();
        assert_eq!(gen_live, gen_curve);
        let mem_curve: Vec<(u64, f64)> = r
            .curves
            .mem_run
            .iter()
            .map(|p| (p.epoch, p.train_acc))
            .collect();
        let mem_live: Vec<(u64, f64)> = m.iter().map(|p| (p.epoch, p.train_acc)).collect();
        assert_eq!(mem_live, mem_curve);
        assert!(
            m.iter().all(|p| p.val_acc.is_none()),
            "random labels have no validation"
        );
        let (gl, ml) = (g.last().unwrap(), m.last().unwrap());
        assert_eq!(gl.epoch, r.gen_epochs);
        assert_eq!(gl.val_acc, r.final_val_acc);
        assert_eq!(Some(gl.train_acc), r.final_train_acc);
        assert_eq!(ml.epoch, r.mem_epochs);
        assert_eq!(Some(ml.train_acc), r.mem_final_train_acc);
    }
}

#[test]
fn capacity_runs_record_bits_per_size() {
    // two explicit sizes, a 5-epoch cap (too short for the 100-epoch saturation window, so never
    // saturated): one point per size in increasing n, memorised bits at most n log2(p + 2)
    let mut c = tiny(&[8], &[0]);
    c.capacity = true;
    c.capacity_sizes = vec![30, 10];
    c.capacity_max_epochs = Some(5);
    let mut evs = vec![];
    assert_eq!(
        capacity::run(&valid(&c), Tasks::All, 1, &mut evs, &mut Unattended),
        Outcome::Completed
    );
    let r = &results(&evs)[0].0;
    let ns: Vec<usize> = r.capacity.iter().map(|p| p.n).collect();
    assert_eq!(ns, [10, 30]);
    for p in &r.capacity {
        assert_eq!((p.epochs, p.saturated), (5, false));
        assert!(p.bits.is_finite() && p.bits <= p.n as f64 * 7f64.log2());
    }
    assert_eq!(
        r.max_bits(),
        r.capacity.iter().map(|p| p.bits).reduce(f64::max)
    );
}

#[test]
fn the_worker_runs_a_sweep() {
    // expected: Started first, one SweepResult per task (2), exactly one Finished, Completed
    let w = Worker::spawn(None).unwrap();
    w.send(WorkerCommand::Start(Box::new(
        ValidRunConfig::CapacitySweep(valid(&tiny(&[4, 8], &[0]))),
    )));
    let evs = until_finished(&w);
    assert!(matches!(evs[0], Event::Started { .. }), "{:?}", evs[0]);
    assert_eq!(finished(&evs), [Outcome::Completed]);
    let rs = results(&evs);
    assert_eq!(rs.len(), 2);
    assert_eq!(rs.last().map(|r| (r.1, r.2)), Some((2, 2)));
    // nothing more arrives for this run after its Finished
    assert!(w.recv_timeout(Duration::from_millis(200)).is_none());
}

/// Events of the worker `w` until its `Finished` (or two minutes).
fn until_finished(w: &Worker) -> Vec<Event> {
    let t = Instant::now();
    let mut evs = vec![];
    while t.elapsed() < Duration::from_secs(120) {
        if let Some(ev) = w.recv_timeout(Duration::from_millis(50)) {
            let done = matches!(ev, Event::Finished { .. });
            evs.push(ev);
            if done {
                break;
            }
        }
    }
    evs
}

/// A sweep started in the window writes its folder as `grokscope sweep --out` does: the folder reads
/// back with the results the window received (expected: the events' own results, byte for byte
/// through JSON), `merge` and `analyse` take it, and `sweep` on it finds every task done. A folder
/// that is not empty is refused and left as it was (H2 of a researcher's audit: a window sweep was
/// never written anywhere).
#[test]
fn a_sweep_started_in_the_window_writes_a_sweep_folder() {
    use grokscope::store::sweep_dir::collect_results;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweeps").join("sweep-1");
    let c = tiny(&[4, 8], &[0]);
    let w = Worker::spawn(None).unwrap();
    w.send(WorkerCommand::StartSweepInto {
        config: Box::new(valid(&c)),
        dir: out.clone(),
    });
    let evs = until_finished(&w);
    assert_eq!(finished(&evs), [Outcome::Completed]);
    let got = collect_results(&out).unwrap();
    assert_eq!(got.expected, Some(2));
    assert!(got.missing.is_empty() && got.unusable.is_empty(), "{got:?}");
    let mut sent: Vec<TaskResult> = results(&evs).into_iter().map(|r| r.0).collect();
    sent.sort_by_key(|r| r.task());
    let json = |rs: &[TaskResult]| serde_json::to_string(rs).unwrap();
    assert_eq!(json(&got.results), json(&sent));
    assert_eq!(got.config.as_ref(), Some(&c));
    // the headless commands take it as their own
    let again = cli_capacity::sweep_main(&valid(&c), &out, None, false).unwrap();
    assert_eq!((again.skipped, again.written), (2, 0));
    cli_capacity::merge_main(&out).unwrap();
    assert!(out.join(CSV_FILE).exists());
    let v = cli_capacity::analyse_main(&out).unwrap();
    assert_eq!(v["files"]["found"], 2);

    // a folder that holds anything is refused before the sweep starts, and keeps what it held
    let busy = dir.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), "mine").unwrap();
    w.send(WorkerCommand::StartSweepInto {
        config: Box::new(valid(&c)),
        dir: busy.clone(),
    });
    let evs = until_finished(&w);
    match &finished(&evs)[..] {
        [Outcome::Failed { message }] => assert!(message.contains("not empty"), "{message}"),
        other => panic!("{other:?}"),
    }
    let names: Vec<_> = std::fs::read_dir(&busy)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["notes.txt"]);
    assert_eq!(read(&busy.join("notes.txt")), "mine");
}

/// A data folder that cannot be written keeps no sweep from running: the sweep runs in the window
/// only, and a note right after its `Started` says why (it was refused, so a read-only home could
/// not run sweeps at all). Expected by construction: a folder asked for under a regular file cannot
/// be made; the tiny sweep's two tasks still arrive and it completes; the file is left as it was.
#[test]
fn a_sweep_whose_folder_cannot_be_made_runs_in_the_window_only() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, "mine").unwrap();
    let w = Worker::spawn(None).unwrap();
    w.send(WorkerCommand::StartSweepInto {
        config: Box::new(valid(&tiny(&[4, 8], &[0]))),
        dir: file.join("sweep-1"),
    });
    let evs = until_finished(&w);
    assert!(matches!(evs[0], Event::Started { .. }), "{:?}", evs[0]);
    match &evs[1] {
        Event::Note { message, .. } => assert!(
            message.contains("cannot be made") && message.contains("in the window only"),
            "{message}"
        ),
        other => panic!("a note after Started: {other:?}"),
    }
    assert_eq!(finished(&evs), [Outcome::Completed]);
    assert_eq!(results(&evs).len(), 2);
    assert_eq!(read(&file), "mine");
}

/// A sweep stopped in the window leaves a folder that `grokscope sweep --config DIR/sweep.toml --out
/// DIR` finishes (what the window's status line says after a stop): expected by construction, the
/// tasks the stopped sweep wrote are skipped and the others run.
#[test]
fn a_stopped_window_sweep_is_finished_by_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stopped");
    let c = tiny(&[4, 8], &[0, 1]);
    let w = Worker::spawn(None).unwrap();
    w.send(WorkerCommand::StartSweepInto {
        config: Box::new(valid(&c)),
        dir: out.clone(),
    });
    let t = Instant::now();
    let mut evs = vec![];
    while t.elapsed() < Duration::from_secs(120) {
        if let Some(ev) = w.recv_timeout(Duration::from_millis(20)) {
            let started = matches!(ev, Event::Started { .. });
            let done = matches!(ev, Event::Finished { .. });
            evs.push(ev);
            if started {
                w.send(WorkerCommand::Stop);
            }
            if done {
                break;
            }
        }
    }
    let written = results(&evs).len();
    assert_eq!(finished(&evs).len(), 1);
    assert!(out.join(CONFIG_FILE).exists());
    let o = grokscope()
        .args(["sweep", "--config"])
        .arg(out.join(CONFIG_FILE))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "4 tasks, {written} already done, {} to run",
            4 - written
        )),
        "{err}"
    );
    let got = grokscope::store::sweep_dir::collect_results(&out).unwrap();
    assert_eq!(got.results.len(), 4, "{got:?}");
}

/// The capacity runs say their progress as they go (a minute and more went by with nothing said: M2
/// of a researcher's audit): per set a first event at epoch 0 with the sets done before it, and a
/// last one with this set's point added; `sweep` prints a line as they begin and as each set ends.
/// Expected by construction: two sizes, a 5-epoch cap.
#[test]
fn capacity_runs_report_their_progress() {
    let mut c = tiny(&[8], &[0]);
    c.capacity = true;
    c.capacity_sizes = vec![30, 10];
    c.capacity_max_epochs = Some(5);
    let mut evs = vec![];
    capacity::run(&valid(&c), Tasks::All, 1, &mut evs, &mut Unattended);
    let runs: Vec<(usize, usize, usize, u64, usize)> = evs
        .iter()
        .filter_map(|e| match e {
            Event::Lab {
                payload:
                    LabEvent::Capacity(CapacityEvent::CapacityRun(CapacityRuns {
                        set,
                        sets,
                        n,
                        epoch,
                        finished,
                        ..
                    })),
                ..
            } => Some((*set, *sets, *n, *epoch, finished.len())),
            _ => None,
        })
        .collect();
    let (first, last) = (runs.first().unwrap(), runs.last().unwrap());
    assert_eq!(*first, (0, 2, 10, 0, 0));
    assert_eq!(*last, (1, 2, 30, 5, 2));
    assert!(runs.contains(&(0, 2, 10, 5, 1)), "{runs:?}");
    assert!(runs.contains(&(1, 2, 30, 0, 1)), "{runs:?}");
    // they all come before the task's result
    let result_at = evs
        .iter()
        .position(|e| !results(std::slice::from_ref(e)).is_empty())
        .unwrap();
    let last_run_at = evs
        .iter()
        .rposition(|e| {
            matches!(
                e,
                Event::Lab {
                    payload: LabEvent::Capacity(CapacityEvent::CapacityRun(_)),
                    ..
                }
            )
        })
        .unwrap();
    assert!(last_run_at < result_at);
    // the CLI's lines
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = dir.path().join("sweep.toml");
    std::fs::write(&cfg_path, c.to_toml()).unwrap();
    let o = grokscope()
        .args(["sweep", "--config"])
        .arg(&cfg_path)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    for line in [
        "task-p5-w8-s0: capacity runs begin: 2 random-label sets, at most 5 epochs each",
        "task-p5-w8-s0: capacity set 1/2: n = 10, ",
        "task-p5-w8-s0: capacity set 2/2: n = 30, ",
        "(the 5-epoch cap ended it)",
        "most bits memorised ",
    ] {
        assert!(err.contains(line), "{line:?} in {err}");
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// An emptied `sweep.toml` blocks its folder (it may have held another sweep) and the refusal says
/// the way out; taking it says loses nothing: the sweep then finds its task files by their keys and
/// skips them (a helper's audit: the message said only "choose a new folder").
#[test]
fn a_damaged_sweep_toml_is_refused_with_a_way_out_that_keeps_the_results() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let c = tiny(&[4], &[0, 1]);
    cli_capacity::sweep_main(&valid(&c), &out, None, false).unwrap();
    std::fs::write(out.join(CONFIG_FILE), "").unwrap();
    let task = read(&out.join(tasks(&c)[0].file_name()));
    let e = format!(
        "{:#}",
        cli_capacity::sweep_main(&valid(&c), &out, None, false).unwrap_err()
    );
    assert!(e.contains("move it out of the folder"), "{e}");
    assert_eq!(read(&out.join(CONFIG_FILE)), "");
    std::fs::rename(out.join(CONFIG_FILE), dir.path().join("sweep.toml.damaged")).unwrap();
    let again = cli_capacity::sweep_main(&valid(&c), &out, None, false).unwrap();
    assert_eq!((again.skipped, again.written), (2, 0));
    assert_eq!(read(&out.join(tasks(&c)[0].file_name())), task);
}

#[test]
fn resume_skips_finished_tasks_and_redoes_broken_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let c = tiny(&[4, 8], &[0, 1]);
    let first = cli_capacity::sweep_main(&valid(&c), out, None, false).unwrap();
    assert_eq!((first.tasks, first.skipped, first.written), (4, 0, 4));
    assert!(out.join(CONFIG_FILE).exists());
    let all = tasks(&c);
    // mark one finished file (still a valid result) so a rewrite would show; cut another in half (a
    // crash mid-write without the atomic rename); fill a third with rubbish; leave the fourth alone
    let marked = out.join(all[0].file_name());
    let mut r: TaskResult = serde_json::from_str(&read(&marked)).unwrap();
    r.wall_secs = 12345.0;
    std::fs::write(&marked, serde_json::to_string(&r).unwrap()).unwrap();
    let marked_text = read(&marked);
    let half = out.join(all[1].file_name());
    let text = read(&half);
    let cut = text[..text.len() / 2].to_string();
    std::fs::write(&half, &cut).unwrap();
    std::fs::write(out.join(all[2].file_name()), "not json").unwrap();
    assert!(matches!(
        load_result(out, &all[1], Some(&c)),
        Stored::Unusable(_)
    ));
    // expected: the two broken files are redone, the two good ones skipped and left byte for byte
    let second = cli_capacity::sweep_main(&valid(&c), out, None, false).unwrap();
    assert_eq!((second.skipped, second.written), (2, 2));
    assert_eq!(second.outcome, Outcome::Completed);
    assert_eq!(read(&marked), marked_text);
    // the files it could not use were moved into set-aside/, byte for byte, not written over
    let aside = out.join("set-aside");
    assert_eq!(read(&aside.join(all[1].file_name())), cut);
    assert_eq!(read(&aside.join(all[2].file_name())), "not json");
    for t in &all {
        assert!(
            matches!(load_result(out, t, Some(&c)), Stored::Done(_)),
            "{t}"
        );
    }
    // another config (more epochs) is refused, naming the field, and the folder is left as it was
    // (issue 13, defect 2: it used to redo every task and replace sweep.toml)
    let mut longer = c.clone();
    longer.base.max_epochs = 21;
    let before = read(&out.join("sweep.toml"));
    let e = format!(
        "{:#}",
        cli_capacity::sweep_main(&valid(&longer), out, None, false)
            .err()
            .unwrap()
    );
    assert!(e.contains("base.max_epochs"), "{e}");
    assert_eq!(read(&out.join("sweep.toml")), before);
    // another thread count is this sweep on another machine: accepted, and its sweep.toml kept byte
    // for byte (rewritten each start, it was what shards started together raced over)
    let more_threads = CapacitySweepConfig {
        threads: c.threads + 3,
        ..c.clone()
    };
    let third = cli_capacity::sweep_main(&valid(&more_threads), out, None, false).unwrap();
    assert_eq!(third.written, 0);
    assert_eq!(read(&out.join("sweep.toml")), before);
    // one shard of a finished sweep has nothing to do: tasks 1 and 3 of 4 in shard 1/2
    let fourth = cli_capacity::sweep_main(&valid(&c), out, Some((1, 2)), false).unwrap();
    assert_eq!((fourth.tasks, fourth.skipped, fourth.written), (2, 2, 0));
    // a file holding another task's result is not taken for this task's
    std::fs::copy(out.join(all[0].file_name()), out.join(all[1].file_name())).unwrap();
    assert!(matches!(
        load_result(out, &all[1], None),
        Stored::Unusable(why) if why.contains(&all[0].name())
    ));
}

#[test]
fn cli_sweep_merge_analyse_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = dir.path().join("sweep.toml");
    let out = dir.path().join("out");
    std::fs::write(&cfg_path, tiny(&[4, 8], &[0]).to_toml()).unwrap();
    let sweep = || {
        grokscope()
            .args(["sweep", "--config"])
            .arg(&cfg_path)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
    };
    let o = sweep();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    for w in [4, 8] {
        assert!(out.join(format!("task-p5-w{w}-s0.json")).exists());
        // each task's line gives its times in epochs, and "never" with the epochs it was given
        // ("T_mem 183, T_gen never, delay ≥ 798" had no unit: a helper's audit)
        let line = err
            .lines()
            .find(|l| l.contains(&format!("task-p5-w{w}-s0: P = ")))
            .unwrap_or_else(|| panic!("a line for d = {w}: {err}"));
        let t_mem = line.split("T_mem ").nth(1).unwrap();
        let t_gen = line.split("T_gen ").nth(1).unwrap();
        for t in [t_mem, t_gen] {
            let first = t.split(',').next().unwrap();
            assert!(
                first.ends_with(" epochs")
                    && (first.starts_with("never within 20 ")
                        || first.trim_end_matches(" epochs").parse::<u64>().is_ok()),
                "{line}"
            );
        }
    }
    // the second time everything is done already
    let o = sweep();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && err.contains("2 already done"),
        "{err}"
    );
    // merge: a header and one row per task, in task order
    let o = grokscope().arg("merge").arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(out.join(CSV_FILE)).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert_eq!(lines[0], CSV_COLUMNS.join(","));
    assert!(lines[1].starts_with("5,4,0,588,16,"), "{csv}");
    assert!(lines[2].starts_with("5,8,0,"), "{csv}");
    // analyse: one JSON object with the spec's quantities (null where the data cannot give them)
    let o = grokscope().arg("analyse").arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for key in [
        "capacity_bits_per_param",
        "p_star",
        "p_star_all",
        "p_star_between",
        "p_star_note",
        "observed_onset",
        "exp_fit",
        "c_lower_bound",
        "primes",
        "files",
    ] {
        assert!(v.get(key).is_some(), "analyse lacks {key}: {v}");
    }
    assert_eq!(v["capacity_bits_per_param"], serde_json::Value::Null);
    assert_eq!(v["files"]["found"], 2);
    assert_eq!(v["files"]["expected"], 2);
    assert_eq!(v["primes"][0]["sizes"].as_array().unwrap().len(), 2);
    // presets lists the sweeps and shows one as a config sweep accepts
    let o = grokscope().arg("presets").output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("tiny") && text.contains("cpu"), "{text}");
    let o = grokscope()
        .args(["presets", "--show", "tiny"])
        .output()
        .unwrap();
    let shown = String::from_utf8(o.stdout).unwrap();
    let body: String = shown
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(
        CapacitySweepConfig::from(CapacitySweepConfig::from_toml(&body).unwrap()),
        sweep_preset("tiny").unwrap().config
    );
}

/// A sweep that adds tasks to a folder merged before merges it again: `sweep.csv` kept the old rows
/// until the next `merge` (a researcher's audit, L11). Expected by construction: two tasks, shard
/// 0/2 then 1/2 (one task each); a folder never merged gets no table from `sweep`.
#[test]
fn a_sweep_adding_tasks_to_a_merged_folder_merges_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let c = valid(&tiny(&[4, 8], &[0]));
    let rows = || {
        std::fs::read_to_string(out.join(CSV_FILE))
            .unwrap()
            .lines()
            .count()
            - 1
    };
    cli_capacity::sweep_main(&c, out, Some((0, 2)), false).unwrap();
    assert!(
        !out.join(CSV_FILE).exists(),
        "sweep writes no table of its own"
    );
    cli_capacity::merge_main(out).unwrap();
    assert_eq!(rows(), 1);
    let report = cli_capacity::sweep_main(&c, out, Some((1, 2)), false).unwrap();
    assert_eq!(report.written, 1);
    assert_eq!(rows(), 2, "the table holds the task the second shard added");
}

#[test]
fn analyse_names_missing_and_corrupt_files_and_still_reports() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let c = tiny(&[4, 8], &[0, 1]);
    cli_capacity::sweep_main(&valid(&c), out, None, false).unwrap();
    let all = tasks(&c);
    std::fs::remove_file(out.join(all[1].file_name())).unwrap();
    std::fs::write(out.join(all[2].file_name()), "{\"version\": 1, \"wid").unwrap();
    let o = grokscope().arg("analyse").arg(out).output().unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    // expected: the deleted file and the corrupt one are named on stderr and in "files"; the two intact
    // results are analysed
    assert!(err.contains(&all[1].file_name()), "{err}");
    assert!(err.contains(&all[2].file_name()), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["files"]["found"], 2);
    assert_eq!(v["files"]["missing"][0], all[1].file_name());
    assert_eq!(v["files"]["unusable"][0]["file"], all[2].file_name());
    assert_eq!(v["results"], 2);
    let sizes = v["primes"][0]["sizes"].as_array().unwrap();
    let runs: u64 = sizes
        .iter()
        .map(|s| s["t_gen"]["runs"].as_u64().unwrap() + s["t_gen"]["never"].as_u64().unwrap())
        .sum();
    assert_eq!(runs, 2, "every intact result counted, reached or not");
    // merge does the same: two rows, the bad files named
    let o = grokscope().arg("merge").arg(out).output().unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&all[1].file_name()) && err.contains(&all[2].file_name()));
    let csv = std::fs::read_to_string(out.join(CSV_FILE)).unwrap();
    assert_eq!(csv.lines().count(), 3);
    // without sweep.toml the missing file cannot be named, but the corrupt one still is
    std::fs::remove_file(out.join(CONFIG_FILE)).unwrap();
    let o = grokscope().arg("analyse").arg(out).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["files"]["expected"], serde_json::Value::Null);
    assert_eq!(v["files"]["unusable"][0]["file"], all[2].file_name());
    assert_eq!(v["files"]["found"], 2);
}

#[test]
fn cli_sweep_shards_and_refuses_bad_shards() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cfg_path = dir.path().join("s.toml");
    std::fs::write(&cfg_path, tiny(&[4, 8], &[0]).to_toml()).unwrap();
    // shard 1 of 2 runs task 1 only (width 8); the index may come from a Kubernetes indexed job
    let o = grokscope()
        .args(["sweep", "--shard-count", "2", "--config"])
        .arg(&cfg_path)
        .arg("--out")
        .arg(&out)
        .env("JOB_COMPLETION_INDEX", "1")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("task-p5-w8-s0.json").exists());
    assert!(!out.join("task-p5-w4-s0.json").exists());
    let o = grokscope()
        .args(["sweep", "--shard", "2/2", "--config"])
        .arg(&cfg_path)
        .arg("--out")
        .arg(&out)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("shard 2 of 2"));
}

#[cfg(not(feature = "cuda"))]
#[test]
fn a_sweep_says_its_device_and_one_that_cannot_be_used_ends_at_once() {
    // expected: the tests build no cuda feature, so `auto` trains on the CPU and says why; an explicit
    // cuda:0 cannot be used, and model::device::choose refuses it (never a silent CPU run): the sweep
    // says so in its one Finished, before any task runs
    use grokscope::config::ModelConfig;
    use grokscope::config::device::{DeviceRequest, Placement};
    let c = tiny(&[4], &[0]);
    let mut evs = vec![];
    capacity::run(&valid(&c), Tasks::All, 3, &mut evs, &mut Unattended);
    let Event::Started {
        device: Some(d), ..
    } = &evs[0]
    else {
        panic!("Started with a device first, got {:?}", evs[0]);
    };
    assert_eq!(d.placement, Placement::Cpu);
    assert!(d.reason.contains("without the cuda feature"), "{d}");

    let mut gpu = tiny(&[4], &[0]);
    let ModelConfig::Transformer(t) = &mut gpu.base.model else {
        panic!("the Capacity lab trains the transformer");
    };
    t.device = DeviceRequest::Cuda(0);
    let mut evs = vec![];
    let outcome = capacity::run(&valid(&gpu), Tasks::All, 4, &mut evs, &mut Unattended);
    assert!(
        matches!(evs[0], Event::Started { device: None, .. }),
        "{:?}",
        evs[0]
    );
    assert_eq!(evs.len(), 2, "Started and Finished only: {evs:?}");
    assert_eq!(finished(&evs), std::slice::from_ref(&outcome));
    let Outcome::Failed { message } = outcome else {
        panic!("a device that cannot be used fails the sweep, got {outcome:?}");
    };
    assert!(message.contains("cuda:0"), "{message}");
    assert!(results(&evs).is_empty());
}
