//! The Ordering lab end to end: the complete layer learns its tasks, pruning shapes W as the spec says,
//! runs report in protocol order, studies are deterministic, and the CLI refuses bad matrices.

use grokscope::config::ordering::{
    OrderingConfig, OrderingStudyConfig, OrderingTask, Pruning, Scheme, StudyKind, default_study,
    sine_preset, xor_preset,
};
use grokscope::config::{RunConfig, ValidOrderingConfig, ValidOrderingStudyConfig};
use grokscope::data::ordering as data;
use grokscope::experiment::ordering::{self, OrderingTrainer, sort_rows};
use grokscope::experiment::{Control, RunControl, Unattended};
use grokscope::protocol::{
    Command as WorkerCommand, Event, HyperChange, LabEvent, LayerSnapshot, Metric, OrderingEvent,
    Outcome, StudyRow,
};
use grokscope::store::ordering::aggregate;
use grokscope::worker::Worker;
use std::process::Command;
use std::time::{Duration, Instant};

fn valid(cfg: &OrderingConfig) -> ValidOrderingConfig {
    ValidOrderingConfig::try_from(cfg.clone()).unwrap()
}

fn study_start(cfg: &OrderingStudyConfig) -> ordering::Start {
    ordering::Start::Study(ValidOrderingStudyConfig::try_from(cfg.clone()).unwrap())
}

fn trained(cfg: &OrderingConfig) -> OrderingTrainer {
    let mut t = OrderingTrainer::new(&valid(cfg));
    while !t.finished() {
        t.step().unwrap();
    }
    t
}

fn run(cfg: &OrderingConfig, control: &mut dyn RunControl) -> Vec<Event> {
    let mut evs = vec![];
    ordering::run(&ordering::Start::Run(valid(cfg)), 3, &mut evs, control);
    evs
}

fn snapshots(evs: &[Event]) -> Vec<LayerSnapshot> {
    evs.iter()
        .filter_map(|e| match e {
            Event::Lab {
                payload: LabEvent::Ordering(OrderingEvent::Snapshot(snapshot)),
                ..
            } => Some((**snapshot).clone()),
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
fn the_unpruned_layer_learns_xor() {
    // The spec's XOR run (H = 5, 3 iterations, 1000 epochs, Adam 0.01). When this test was written all
    // of seeds 0..20 put every output on the right side of 0.5 (final MSE 2e-4..1.3e-3); we check 5.
    let d = data::xor();
    for seed in 0..5 {
        let t = trained(&OrderingConfig {
            seed,
            ..xor_preset()
        });
        let mut layer = t.layer().clone();
        let p = layer.predict(&d.xs);
        for (i, (p, y)) in p.iter().zip(&d.ys).enumerate() {
            assert_eq!(*p > 0.5, *y > 0.5, "seed {seed} example {i}: {p} for {y}");
        }
    }
}

#[test]
fn the_unpruned_layer_fits_sine() {
    // The spec's sine run. y has variance 0.0836 (predicting the mean); seeds 0..10 reached MSE
    // 0.0009..0.0024 when this test was written. "Well below": a tenth of the variance.
    let var = data::sine().target_variance();
    for seed in 0..3 {
        let mut t = trained(&OrderingConfig {
            seed,
            ..sine_preset()
        });
        let mse = t.full_mse();
        assert!(mse < var / 10.0, "seed {seed}: MSE {mse} vs variance {var}");
    }
}

#[test]
fn a_run_reports_in_protocol_order_with_throttled_snapshots() {
    // XOR: 1000 epochs of one step; snapshots every 2nd epoch (ceil(1000 / 500)) plus the initial one
    let evs = run(&xor_preset(), &mut Unattended);
    assert!(
        matches!(
            evs[0],
            Event::Started {
                param_count: 54,
                steps_per_epoch: 1,
                ..
            }
        ),
        "Started first; W is 6 x 8 = 48, v0 6: 54 parameters; got {:?}",
        evs[0]
    );
    assert_eq!(finished(&evs), [Outcome::Completed]);
    assert!(
        matches!(evs.last(), Some(Event::Finished { summary: Some(s), .. }) if s.steps == 1000)
    );
    let rows: Vec<_> = evs
        .iter()
        .filter_map(|e| match e {
            Event::Metrics { rows, .. } => Some(rows.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    // one row per epoch plus the initial row at step 0
    assert_eq!(rows.len(), 1001);
    assert_eq!(rows[0].step, 0);
    for r in &rows {
        for m in [Metric::Mse, Metric::Orderedness, Metric::Sparsity] {
            let v = r
                .get(m)
                .unwrap_or_else(|| panic!("{m} missing at step {}", r.step));
            assert!(v.is_finite() && v >= 0.0);
        }
        let d = r.get(Metric::Orderedness).unwrap();
        assert!((0.0..=1.0).contains(&d), "{d}");
    }
    let snaps = snapshots(&evs);
    assert_eq!(snaps.len(), 501);
    assert_eq!((snaps[0].step, snaps[500].step), (0, 1000));
    let s = &snaps[500];
    assert_eq!((s.inputs, s.hidden, s.outputs), (2, 5, 1));
    assert_eq!((s.weights.len(), s.pruned.len()), (48, 48));
    let mut order = s.order.clone();
    order.sort_unstable();
    assert_eq!(
        order,
        (0..6).collect::<Vec<_>>(),
        "a permutation of the 6 neurons"
    );
    assert_eq!(s.d, rows[1000].get(Metric::Orderedness).unwrap());
    // the same seed gives the same numbers
    let again = run(&xor_preset(), &mut Unattended);
    assert_eq!(snapshots(&again), snaps);
}

/// The snapshots of a short sine run under `pruning`.
fn sine_snapshots(pruning: Pruning, epochs: u64) -> Vec<LayerSnapshot> {
    let cfg = OrderingConfig {
        pruning,
        epochs,
        ..sine_preset()
    };
    snapshots(&run(&cfg, &mut Unattended))
}

#[test]
fn triu_damp_f_1_makes_the_layer_a_dag() {
    // f = 1 zeroes every entry below the diagonal after each step: in the square block a receiver i only
    // hears senders j >= i, so the reverse index order has no backward edge and D = 1 exactly.
    let snaps = sine_snapshots(Pruning::TriuDamp { f: 1.0 }, 3);
    let last = snaps.last().unwrap();
    let cols = last.hidden + last.outputs + last.inputs;
    for (i, w) in last.weights.iter().enumerate() {
        let lower = i / cols > i % cols;
        assert_eq!(last.pruned[i], lower);
        if lower {
            assert_eq!(*w, 0.0);
        }
    }
    for s in &snaps[1..] {
        assert_eq!(s.d, 1.0, "step {}", s.step);
    }
    // 9 x 11: the strictly lower triangle holds 8 + 7 + .. + 1 = 36 entries: sparsity 36/99
    assert!(
        (last.sparsity - 36.0 / 99.0).abs() < 1e-12,
        "{}",
        last.sparsity
    );
}

/// Triu-damp below f = 1 shrinks the weights under the diagonal but leaves them a value, which D
/// counts: none is marked pruned, so the graph keeps their edges and the heatmap (window and
/// export) their cells. (A helper's audit found all 36 drawn as pruned dots and exported empty,
/// a heatmap whose D was 1.0 for a run of D 0.70.)
#[test]
fn triu_damp_below_one_prunes_nothing_and_the_heatmap_keeps_the_damped_weights() {
    use grokscope::store::ordering_layout as layout;
    let snaps = sine_snapshots(Pruning::DynamicTriuDamp { f: 0.5 }, 3);
    let last = snaps.last().unwrap();
    let cols = last.hidden + last.outputs + last.inputs;
    let damped = (0..last.weights.len())
        .filter(|&i| i / cols > i % cols && last.weights[i] != 0.0)
        .count();
    // 9 x 11: 36 entries below the diagonal, all still non-zero (N(0, 1) starts, scaled by <= 1/2)
    assert_eq!(damped, 36);
    assert!(last.pruned.iter().all(|p| !p));
    let order = layout::heat_order(last, false);
    let n = last.hidden + last.outputs;
    for r in 0..n {
        for c in 0..cols {
            let e = order[r] * cols + layout::heat_sender(&order, c);
            assert_eq!(
                layout::heat_value(last, &order, r, c),
                Some(f64::from(last.weights[e]))
            );
        }
    }
}

/// Every D a run logs has its shuffled null beside it (nine neurons, within the null's 16): an
/// orderedness, equal to the trainer's own null at that step and the same in a second run of the
/// config (its shuffles come from the seed and step).
#[test]
fn each_logged_d_has_its_shuffled_null_and_it_is_reproducible() {
    use grokscope::protocol::Metric;
    let cfg = OrderingConfig {
        pruning: Pruning::DynamicTopK { k: 0.5 },
        epochs: 4,
        ..sine_preset()
    };
    let pairs = |evs: &[Event]| -> Vec<(u64, f64, f64)> {
        evs.iter()
            .filter_map(|e| match e {
                Event::Metrics { rows, .. } => Some(rows.clone()),
                _ => None,
            })
            .flatten()
            .filter_map(|r| {
                let d = r.get(Metric::Orderedness)?;
                let null = r.get(Metric::OrderednessNull);
                assert!(null.is_some(), "step {}: D without its null", r.step);
                Some((r.step, d, null.unwrap()))
            })
            .collect()
    };
    let first = pairs(&run(&cfg, &mut Unattended));
    assert!(first.len() >= 5, "{first:?}");
    for &(_, _, null) in &first {
        assert!((0.5..=1.0).contains(&null), "{first:?}");
    }
    assert_eq!(first, pairs(&run(&cfg, &mut Unattended)));
    let t = trained(&cfg);
    let (step, _, null) = *first.last().unwrap();
    assert_eq!(step, t.steps());
    assert_eq!(t.null().unwrap().map(|n| n.mean), Some(null));
}

#[test]
fn top_k_holds_the_sparsity_and_marks_what_it_pruned() {
    // k = 0.5 of 99 weights keeps floor(49.5) = 49: 50 zero, sparsity 50/99 after every step
    let snaps = sine_snapshots(Pruning::TopK { k: 0.5 }, 2);
    for s in &snaps[1..] {
        assert!((s.sparsity - 50.0 / 99.0).abs() < 1e-12);
        assert_eq!(s.pruned.iter().filter(|p| **p).count(), 50);
        for (w, p) in s.weights.iter().zip(&s.pruned) {
            assert!(!*p || *w == 0.0);
        }
    }
}

/// Stops before `at`, changes the learning rate and asks for weight decay before step 2.
struct Steer {
    at: u64,
}

impl RunControl for Steer {
    fn poll(&mut self, next_step: u64) -> Control {
        Control {
            stop: next_step >= self.at,
            changes: if next_step == 2 {
                vec![HyperChange::Lr(0.05), HyperChange::WeightDecay(0.1)]
            } else {
                vec![]
            },
            ..Default::default()
        }
    }
}

#[test]
fn stop_and_changes_are_honoured() {
    let evs = run(&sine_preset(), &mut Steer { at: 20 });
    assert_eq!(finished(&evs), [Outcome::Stopped]);
    assert!(evs.iter().any(
        |e| matches!(e, Event::Changed { change: HyperChange::Lr(v), step: 1, .. } if *v == 0.05)
    ));
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::Refused { message } if message.contains("weight decay")))
    );
    // a stopped run ends with a snapshot of where it stopped: 19 steps
    assert_eq!(snapshots(&evs).last().unwrap().step, 19);
    assert!(matches!(evs.last(), Some(Event::Finished { .. })));
}

#[test]
fn a_bad_config_cannot_reach_the_runner() {
    // the runner and the trainer take only a checked config; the check refuses this one, naming
    // every bad field
    let cfg = OrderingConfig {
        hidden: 0,
        lr: -1.0,
        pruning: Pruning::Random { p: 2.0 },
        ..xor_preset()
    };
    let message = ValidOrderingConfig::try_from(cfg).unwrap_err().to_string();
    for field in ["hidden", "lr", "pruning.p"] {
        assert!(message.contains(field), "{message}");
    }
}

fn tiny_study(threads: usize) -> OrderingStudyConfig {
    let mut s = default_study(OrderingTask::Sine, StudyKind::Sparsity);
    s.base.epochs = 3;
    s.runs = 2;
    s.sparsities = vec![0.3, 0.8];
    s.schemes = vec![Scheme::Random, Scheme::DynamicTopK];
    s.threads = threads;
    s
}

fn study_rows(cfg: &OrderingStudyConfig) -> (Vec<Event>, Vec<StudyRow>) {
    let mut evs = vec![];
    let outcome = ordering::run(&study_start(cfg), 9, &mut evs, &mut Unattended);
    assert_eq!(outcome, Outcome::Completed);
    let rows = evs
        .iter()
        .filter_map(|e| match e {
            Event::Lab {
                payload: LabEvent::Ordering(OrderingEvent::StudyPoint { row, .. }),
                ..
            } => Some((**row).clone()),
            _ => None,
        })
        .collect();
    (evs, rows)
}

#[test]
fn a_study_is_complete_and_independent_of_the_thread_count() {
    // (2 schemes x 2 sparsities + baseline) x 2 runs = 10 rows
    let (evs, mut one) = study_rows(&tiny_study(1));
    assert!(matches!(evs[0], Event::Started { .. }));
    assert_eq!(finished(&evs), [Outcome::Completed]);
    assert_eq!(one.len(), 10);
    let dones: Vec<_> = evs
        .iter()
        .filter_map(|e| match e {
            Event::Lab {
                payload: LabEvent::Ordering(OrderingEvent::StudyPoint { done, total, .. }),
                ..
            } => Some((*done, *total)),
            _ => None,
        })
        .collect();
    assert_eq!(dones, (1..=10).map(|d| (d, 10)).collect::<Vec<_>>());
    let (_, mut two) = study_rows(&tiny_study(2));
    sort_rows(&mut one);
    sort_rows(&mut two);
    assert_eq!(one, two);
    let stats = aggregate(&one);
    assert_eq!(stats.len(), 5);
    assert!(
        stats
            .iter()
            .all(|s| s.runs == 2 && s.min <= s.mean && s.mean <= s.max)
    );
    // a row carries its setting: Random(p = 0.8) on the sine preset
    let r = one
        .iter()
        .find(|r| r.scheme == Scheme::Random && r.sparsity == 0.8)
        .unwrap();
    assert_eq!((r.param, r.hidden, r.its), (0.8, 8, 3));
}

#[test]
fn pruning_raises_orderedness_on_sine() {
    // The paper's trend (D rises with sparsity under random and magnitude pruning). Our full study
    // (5 seeds) measured mean D 0.70 unpruned against 0.91 for Random(0.8) and Top-K(0.2 kept); the test
    // asks for a rise of at least 0.1 over the same 5 seeds.
    let mut s = default_study(OrderingTask::Sine, StudyKind::Sparsity);
    s.sparsities = vec![0.8];
    s.schemes = vec![Scheme::Random, Scheme::TopK];
    let (_, rows) = study_rows(&s);
    let stats = aggregate(&rows);
    let base = stats
        .iter()
        .find(|st| st.setting.scheme == Scheme::None)
        .unwrap();
    for st in stats.iter().filter(|st| st.setting.scheme != Scheme::None) {
        assert!(
            st.mean > base.mean + 0.1,
            "{}: mean D {} vs unpruned {}",
            st.setting.scheme,
            st.mean,
            base.mean
        );
    }
}

/// Stops at the first poll.
struct StopNow;

impl RunControl for StopNow {
    fn poll(&mut self, _next_step: u64) -> Control {
        Control {
            stop: true,
            changes: vec![],
            ..Default::default()
        }
    }
}

#[test]
fn a_study_stops_with_one_finished() {
    let mut evs = vec![];
    let outcome = ordering::run(&study_start(&tiny_study(2)), 1, &mut evs, &mut StopNow);
    assert_eq!(outcome, Outcome::Stopped);
    assert_eq!(finished(&evs), [Outcome::Stopped]);
    assert!(matches!(evs[0], Event::Started { .. }));
    // a bad study cannot reach the runner: the runner takes only a checked study, and the check
    // refuses it naming the field
    let mut bad = tiny_study(1);
    bad.runs = 0;
    let e = ValidOrderingStudyConfig::try_from(bad).unwrap_err();
    assert!(e.to_string().contains("runs"), "{e}");
}

/// Events from the worker until `Finished`, with a deadline.
fn worker_events(w: &Worker, cfg: RunConfig) -> Vec<Event> {
    w.send(WorkerCommand::Start(Box::new(cfg.try_into().unwrap())));
    let t = Instant::now();
    let mut evs = vec![];
    while t.elapsed() < Duration::from_secs(60) {
        if let Some(ev) = w.recv_timeout(Duration::from_millis(50)) {
            let done = matches!(ev, Event::Finished { .. });
            evs.push(ev);
            if done {
                return evs;
            }
        }
    }
    panic!("no Finished within a minute: {} events", evs.len());
}

#[test]
fn the_worker_runs_ordering_runs_and_studies() {
    let w = Worker::spawn(None).unwrap();
    let cfg = OrderingConfig {
        epochs: 5,
        ..sine_preset()
    };
    let evs = worker_events(&w, RunConfig::Ordering(cfg));
    assert!(matches!(evs[0], Event::Started { .. }), "{:?}", evs[0]);
    assert_eq!(finished(&evs), [Outcome::Completed]);
    // snapshots may be coalesced by the worker (latest wins), but the last one arrives
    assert_eq!(snapshots(&evs).last().unwrap().step, 75);
    let evs = worker_events(&w, RunConfig::OrderingStudy(tiny_study(2)));
    assert!(matches!(evs[0], Event::Started { .. }), "{:?}", evs[0]);
    assert_eq!(finished(&evs), [Outcome::Completed]);
    let points = evs
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Lab {
                    payload: LabEvent::Ordering(OrderingEvent::StudyPoint { .. }),
                    ..
                }
            )
        })
        .count();
    assert_eq!(points, 10);
}

fn grokscope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_grokscope"))
}

fn orderedness_of(file: &std::path::Path) -> std::process::Output {
    grokscope()
        .arg("orderedness")
        .arg("--weights")
        .arg(file)
        .output()
        .unwrap()
}

/// `grokscope orderedness --weights FILE ARGS... LAST`.
fn orderedness_with(
    file: &std::path::Path,
    args: &[&str],
    last: &std::path::Path,
) -> std::process::Output {
    grokscope()
        .args(["orderedness", "--weights"])
        .arg(file)
        .args(args)
        .arg(last)
        .output()
        .unwrap()
}

#[test]
fn cli_orderedness_prints_json_and_refuses_bad_matrices() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.csv");
    // a 3-cycle 0 -> 1 -> 2 -> 0 with weights 1, 2, -3 (|w| = 3): the cheapest edge to leave backward
    // is the weight 1, so D = 1 - 1/6 = 5/6 (by hand)
    std::fs::write(&file, "0,0,-3\n1,0,0\n0,2,0\n").unwrap();
    let out = orderedness_of(&file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!((j["d"].as_f64().unwrap() - 5.0 / 6.0).abs() < 1e-12, "{j}");
    assert_eq!(j["n"], 3);
    assert_eq!(j["method"], "exact");
    assert_eq!(j["order"].as_array().unwrap().len(), 3);
    assert!(
        out.stderr.is_empty(),
        "no warning for a matrix with weights"
    );
    // all zero: D = 1 by the spec's convention (nothing flows backward), said to be empty of meaning
    std::fs::write(&file, "0,0\n0,0\n").unwrap();
    let out = orderedness_of(&file);
    assert!(out.status.success());
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["d"], 1.0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("every weight in") && err.contains("is 0"),
        "{err}"
    );
    for bad in [
        "1,2,3\n4,5,6\n",
        "",
        "abc\n",
        "1,NaN\n2,3\n",
        "1,inf\n2,3\n",
    ] {
        std::fs::write(&file, bad).unwrap();
        let out = orderedness_of(&file);
        assert!(!out.status.success(), "{bad:?} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("error") && err.contains("w.csv"),
            "{bad:?}: {err}"
        );
        assert!(out.stdout.is_empty());
    }
    let missing = grokscope()
        .args(["orderedness", "--weights", "/no/such/file.csv"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
}

#[test]
fn cli_ordering_writes_the_study() {
    // the spec's sparsity study shrunk to 1 run a setting and 1 epoch: 5 schemes x 9 sparsities + 1 = 46
    let dir = tempfile::tempdir().unwrap();
    let out = grokscope()
        .args([
            "ordering", "--task", "sine", "--study", "sparsity", "--runs", "1",
        ])
        .args(["--epochs", "1", "--threads", "2", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(dir.path().join("study.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "scheme,param,nominal_sparsity,hidden,its,seed,d,final_loss,method,d_shuffled"
    );
    // every run (9 neurons, within the null's 16) has its shuffled null, an orderedness
    let mut problems = vec![];
    let rows = grokscope::store::study_dir::read_study_csv(&csv, &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(rows.len(), 46);
    for r in &rows {
        let null = r.d_null.unwrap_or_else(|| panic!("no null: {r:?}"));
        assert!((0.5..=1.0).contains(&null), "{r:?}");
    }
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("dynamic triu-damp") && table.contains("mean D"),
        "{table}"
    );
    assert!(table.contains("shuffled D"), "{table}");
}

/// The two sparsities have their own names in saved files (`nominal_sparsity` in study.csv,
/// `nominal_sparsities` in a study's config.json, `measured_sparsity` in a metrics table), and files
/// written with the old names (`sparsity`, `sparsities`, `sparsity`) still read the same values
/// (the values by hand: 0.3 written, 0.3 read).
#[test]
fn files_saved_with_the_old_sparsity_names_still_read() {
    use grokscope::cli::ordering::study_csv;
    use grokscope::protocol::OrderMethod;
    use grokscope::store::run_dir::parse_metrics_csv;
    use grokscope::store::study_dir::read_study_csv;
    let row = StudyRow {
        scheme: Scheme::TriuDamp,
        param: 0.3,
        sparsity: 0.3,
        hidden: 8,
        its: 3,
        seed: 1,
        d: 0.9,
        method: OrderMethod::Exact,
        final_loss: 0.01,
        d_null: Some(0.8),
    };
    let text = study_csv(std::slice::from_ref(&row)).unwrap();
    assert!(text.starts_with("scheme,param,nominal_sparsity,"), "{text}");
    let mut problems = vec![];
    assert_eq!(
        read_study_csv(&text, &mut problems),
        std::slice::from_ref(&row)
    );
    let old = text.replacen("nominal_sparsity", "sparsity", 1);
    assert_eq!(read_study_csv(&old, &mut problems), [row]);
    assert!(problems.is_empty(), "{problems:?}");

    let cfg = default_study(OrderingTask::Sine, StudyKind::Sparsity);
    let mut json = serde_json::to_value(&cfg).unwrap();
    let list = json
        .as_object_mut()
        .unwrap()
        .remove("nominal_sparsities")
        .expect("written as nominal_sparsities");
    json["sparsities"] = list;
    let back: OrderingStudyConfig = serde_json::from_value(json).unwrap();
    assert_eq!(back, cfg);

    for column in ["measured_sparsity", "sparsity"] {
        let rows = parse_metrics_csv(&format!("step,epoch,{column}\n1,1,0.3\n"), &mut problems);
        assert_eq!(rows[0].get(Metric::Sparsity), Some(0.3), "{column}");
    }
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(Metric::Sparsity.key(), "measured_sparsity");
}

/// A study.csv written before the shuffled null's column reads as before, its rows without a null;
/// a null outside 0..1 is named and its row left out, as a bad D is.
#[test]
fn a_study_csv_without_the_shuffled_column_still_reads() {
    use grokscope::store::study_dir::read_study_csv;
    let old = "scheme,param,sparsity,hidden,its,seed,d,final_loss,method\n\
               random,0.5,0.5,8,3,0,0.8,0.01,exact\n";
    let mut problems = vec![];
    let rows = read_study_csv(old, &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!((rows.len(), rows[0].d, rows[0].d_null), (1, 0.8, None));
    let new = "scheme,param,sparsity,hidden,its,seed,d,final_loss,method,d_shuffled\n\
               random,0.5,0.5,8,3,0,0.8,0.01,exact,0.75\n\
               random,0.5,0.5,8,3,1,0.8,0.01,exact,\n\
               random,0.5,0.5,8,3,2,0.8,0.01,exact,1.5\n";
    let rows = read_study_csv(new, &mut problems);
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].d_null, rows[1].d_null), (Some(0.75), None));
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].contains("line 4") && problems[0].contains("d_shuffled"),
        "{problems:?}"
    );
}

#[test]
fn cli_orderedness_draws_the_matrix_as_a_heatmap_and_a_graph() {
    let dir = tempfile::tempdir().unwrap();
    // a 3-cycle 0 -> 1 -> 2 -> 0 (row = receiver, column = sender) with weights 1, 2, -3: the best
    // order leaves the weakest edge (|w| = 1) backward
    let w = dir.path().join("w.csv");
    std::fs::write(&w, "0,0,-3\n1,0,0\n0,2,0\n").unwrap();
    for (kind, file) in [("heatmap", "h.svg"), ("graph", "g.svg")] {
        let out = orderedness_with(&w, &["--figure", kind, "--out"], &dir.path().join(file));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
    }
    let heat = std::fs::read_to_string(dir.path().join("h.svg")).unwrap();
    assert_eq!(heat.matches(r#"class="cell""#).count(), 9);
    let graph = std::fs::read_to_string(dir.path().join("g.svg")).unwrap();
    assert_eq!(graph.matches(r#"<path class="edge "#).count(), 3);
    // the one backward edge is the weakest: 0 -> 1 with w = 1 (h0 sends to h1)
    assert_eq!(graph.matches(r#"class="edge backward""#).count(), 1);
    let csv = std::fs::read_to_string(dir.path().join("g.csv")).unwrap();
    assert!(csv.contains("edge,h0,h1,1,true,"), "{csv}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("g.json")).unwrap()).unwrap();
    assert_eq!(json["config"]["orderedness"]["n"], 3);
    // the heatmap's sidecar: D = 1 - 1/6 (the weakest edge of 1 + 2 + 3 backward), and the rows'
    // order; a matrix file has no step
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("h.json")).unwrap()).unwrap();
    let d = json["data"]["d"].as_f64().unwrap();
    assert!((d - (1.0 - 1.0 / 6.0)).abs() < 1e-12, "{d}");
    assert_eq!(json["data"]["heat_order"].as_array().map(Vec::len), Some(3));
    assert!(json["data"].get("step").is_none(), "{}", json["data"]);
}

#[test]
fn printed_mean_d_and_the_figures_agree_when_a_run_has_no_finite_d() {
    use grokscope::cli::export::folder_figures;
    use grokscope::cli::ordering::{study_csv, summary_table};
    use grokscope::protocol::{OrderMethod, StudyRow};
    let row = |scheme, sparsity: f64, seed, d| StudyRow {
        scheme,
        param: sparsity,
        sparsity,
        hidden: 8,
        its: 1,
        seed,
        d,
        method: OrderMethod::Exact,
        final_loss: 0.01,
        d_null: None,
    };
    // Random at sparsity 0.5: D of 0.6 and 0.8, and one run whose D is NaN (left out): mean 0.7 by
    // hand, where averaging the NaN in would give NaN and counting it as a run 0.4667
    let rows = vec![
        row(Scheme::None, 0.0, 0, 0.5),
        row(Scheme::Random, 0.5, 0, 0.6),
        row(Scheme::Random, 0.5, 1, f64::NAN),
        row(Scheme::Random, 0.5, 2, 0.8),
    ];
    let printed = summary_table(StudyKind::Sparsity, &aggregate(&rows));
    let line = printed
        .lines()
        .find(|l| l.starts_with(&Scheme::Random.to_string()))
        .unwrap();
    let cells: Vec<&str> = line.split_whitespace().collect();
    // scheme, sparsity, runs, mean D, min D, max D, mean loss
    assert_eq!(cells[2], "2", "{printed}");
    assert_eq!(cells[3], "0.7000", "{printed}");
    // the same study as `grokscope ordering` writes it, drawn by `grokscope export`
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("study.csv"), study_csv(&rows).unwrap()).unwrap();
    let ff = folder_figures(tmp.path()).unwrap();
    let line = ff.figures[0]
        .series
        .iter()
        .find(|s| s.name == Scheme::Random.to_string())
        .unwrap();
    assert_eq!(line.points.len(), 1);
    assert_eq!(format!("{:.4}", line.points[0][1]), cells[3]);
    assert!((line.points[0][1] - 0.7).abs() < 1e-12);
}
