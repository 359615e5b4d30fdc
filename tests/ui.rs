//! UI tests: the real app driven headless by egui_kittest, widgets found by their labels.

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use grokscope::app::labs::Milestone;
use grokscope::app::{Backend, FixedPathDialog, GrokscopeApp, LabSlot, Phase, plotted_metrics};
use grokscope::config::ValidRunConfig;
use grokscope::protocol::{Command, Event, GrokEvent, Metric, MetricRow, Outcome};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

// ui_runs.rs reaches these through this module
pub(crate) use crate::ui_support::{Labs, harness_with, step_until};

const START: &str = "▶ Start";

/// The step counter shown in the top bar ("step N").
fn shown_step(harness: &Harness<'_, GrokscopeApp>) -> Option<u64> {
    harness
        .query_all_by_label_contains("step ")
        // a plain label's text is its accessible value
        .filter_map(|n| {
            n.accesskit_node()
                .value()
                .or_else(|| n.accesskit_node().label())
        })
        .find_map(|label| label.strip_prefix("step ").and_then(|n| n.parse().ok()))
}

/// The config form does not move when a run starts (a helper's audit: the line saying what may
/// change appeared above the form at Start, moving it 13 points down under the pointer, and a click
/// meant for weight decay set the learning rate). Expected: the weight decay row's top, idle and
/// running, the same to the point.
#[test]
fn the_config_form_stays_put_when_a_run_starts() {
    let dialog = Arc::new(FixedPathDialog(None));
    let mut harness =
        harness_with(move |cc| GrokscopeApp::new(cc, dialog).expect("the worker thread starts"));
    harness.step();
    let top = |h: &Harness<'_, GrokscopeApp>| h.get_by_label("weight decay").rect().top();
    let idle = top(&harness);
    harness.get_by_label(START).click();
    let running = step_until(&mut harness, Duration::from_secs(30), |h| {
        h.state().phase() == Phase::Running
    });
    assert!(running, "status: {}", harness.state().status().text);
    assert_eq!(top(&harness), idle);
}

#[test]
fn start_trains_and_the_step_counter_advances() {
    let dialog = Arc::new(FixedPathDialog(None));
    let mut harness =
        harness_with(move |cc| GrokscopeApp::new(cc, dialog).expect("the worker thread starts"));
    harness.step();
    assert_eq!(
        harness.state().preset_name(),
        Some("fast-mlp"),
        "the first preset is selected on launch"
    );
    assert_eq!(shown_step(&harness), Some(0));

    harness.get_by_label(START).click();
    let advanced = step_until(&mut harness, Duration::from_secs(30), |h| {
        shown_step(h).is_some_and(|s| s > 0)
            && !h.state().history().series(Metric::TrainLoss).is_empty()
            || h.state().status().is_error
    });
    let app = harness.state();
    assert!(
        !app.status().is_error,
        "the run reported an error: {}",
        app.status().text
    );
    assert!(
        advanced,
        "no step shown within 30 s; status: {}",
        app.status().text
    );
    assert!(matches!(
        app.phase(),
        Phase::Running | Phase::Paused | Phase::Finished
    ));
    assert!(app.history().row_count() > 0);
    // the status bar says where the run trains (the MLP: the CPU only)
    harness.step();
    assert!(
        harness.query_by_label("on cpu").is_some(),
        "the status bar names the device"
    );
    let app = harness.state();
    assert!(
        plotted_metrics()
            .iter()
            .any(|&m| !app.history().series(m).is_empty()),
        "the plots have points"
    );
    // the stop button ends it
    harness.get_by_label("■ Stop").click();
    step_until(&mut harness, Duration::from_secs(10), |h| {
        h.state().phase() == Phase::Finished
    });
    assert_eq!(harness.state().phase(), Phase::Finished);
}

/// A worker stand-in: records commands, answers Start with a short scripted run.
#[derive(Clone, Default)]
struct Scripted {
    sent: Arc<Mutex<Vec<Command>>>,
    events: Arc<Mutex<VecDeque<Event>>>,
}

/// The app on a [`Scripted`] backend (its dialog answering `path`), one frame drawn.
fn scripted_app(path: Option<PathBuf>) -> (Scripted, Harness<'static, GrokscopeApp>) {
    let backend = Scripted::default();
    let dialog = Arc::new(FixedPathDialog(path));
    let b = backend.clone();
    let mut harness = harness_with(move |cc| GrokscopeApp::with_backend(cc, dialog, Box::new(b)));
    harness.step();
    (backend, harness)
}

impl Backend for Scripted {
    fn send(&self, cmd: Command) {
        if let Command::Start(run_config) = &cmd {
            let ValidRunConfig::Grokking(config) = run_config.as_ref() else {
                panic!("the Grokking tab started another lab: {run_config:?}");
            };
            let run = 1;
            let steps_per_epoch = config.steps_per_epoch();
            let param_count = config.model.param_count(config.p as usize);
            let mut ev = self.events.lock().unwrap();
            ev.push_back(Event::Started {
                run,
                config: Box::new((**run_config).clone().into()),
                param_count,
                steps_per_epoch,
                device: Some(grokscope::config::device::Choice::cpu_only()),
            });
            for chunk in 0..4u64 {
                let rows = (1..=25u64)
                    .map(|i| {
                        let step = chunk * 25 + i;
                        let mut values = vec![
                            (Metric::TrainLoss, 4.0 / step as f64),
                            (Metric::TrainAcc, (step as f64 / 100.0).min(1.0)),
                            (Metric::WeightNorm, 100.0 + step as f64),
                            (Metric::Lr, 1e-2),
                        ];
                        if step % 5 == 0 {
                            values.push((Metric::ValAcc, step as f64 / 200.0));
                            values.push((Metric::ValLoss, 5.0 / step as f64));
                            values.push((Metric::TrainAccEval, (step as f64 / 90.0).min(1.0)));
                        }
                        MetricRow {
                            step,
                            epoch: step,
                            values,
                        }
                    })
                    .collect();
                ev.push_back(Event::Metrics { run, rows });
            }
            ev.push_back(Event::detected(run, GrokEvent::Memorised, 90, 90));
            // a stale run's rows must be ignored
            ev.push_back(Event::Metrics {
                run: 99,
                rows: vec![MetricRow {
                    step: 1000,
                    epoch: 1000,
                    values: vec![(Metric::TrainLoss, 9.0)],
                }],
            });
            ev.push_back(Event::Finished {
                run,
                outcome: Outcome::Completed,
                summary: None,
            });
        }
        self.sent.lock().unwrap().push(cmd);
    }

    fn try_recv(&self) -> Option<Event> {
        self.events.lock().unwrap().pop_front()
    }
}

/// A run whose insight views are off (they would not fit the memory limit, or computing one failed)
/// says why in the views, where a person looks for them, not only in the status bar.
#[test]
fn a_run_without_insight_views_says_why_in_them() {
    use grokscope::protocol::{GrokkingEvent, LabEvent};
    let (backend, mut harness) = scripted_app(None);
    assert!(
        harness
            .query_all_by_label_contains("the insight views are off")
            .next()
            .is_none()
    );
    harness.get_by_label(START).click();
    assert!(step_until(&mut harness, Duration::from_secs(10), |h| h
        .state()
        .phase()
        == Phase::Finished));
    let why = "the insight views are off for this run: they would need about 8.6 MiB more";
    backend.events.lock().unwrap().push_back(Event::Lab {
        run: 1,
        payload: LabEvent::Grokking(GrokkingEvent::InsightOff { why: why.into() }),
    });
    harness.step();
    harness.step();
    // the caption above the plots and the views' panel both say it
    assert!(
        harness.query_all_by_label_contains(why).count() >= 2,
        "{:?}",
        crate::ui_support::labels_with(&harness, "insight")
    );
}

#[test]
fn csv_export_writes_exactly_the_plotted_series() {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("metrics.csv");
    let (_backend, mut harness) = scripted_app(Some(path.clone()));
    harness.get_by_label(START).click();
    assert!(step_until(&mut harness, Duration::from_secs(10), |h| h
        .state()
        .phase()
        == Phase::Finished));
    assert_eq!(
        harness.state().history().latest(),
        Some((100, 100)),
        "the stale run's row was ignored"
    );
    assert_eq!(harness.state().history().markers().len(), 1);
    // what a lesson waits on: the scripted memorisation (step 90) and the last row (step 100)
    let grokking = harness.state().grokking();
    assert!(grokking.reached(Milestone::Memorised));
    assert!(!grokking.reached(Milestone::Generalised));
    assert!(grokking.reached(Milestone::Step(100)));
    assert!(!grokking.reached(Milestone::Step(101)));

    harness.get_by_label("Export CSV").click();
    let saved = step_until(&mut harness, Duration::from_secs(10), |h| {
        h.state().status().text.starts_with("saved CSV")
    });
    assert!(saved, "status: {}", harness.state().status().text);

    // what the plots draw, in plot order: the store's series named by `plotted_metrics`
    let expected: Vec<(String, u64, u64, f64)> = plotted_metrics()
        .iter()
        .flat_map(|&m| {
            harness
                .state()
                .history()
                .series(m)
                .iter()
                .map(move |p| (m.key().to_string(), p.step, p.epoch, p.value))
        })
        .collect();
    let mut reader = csv::Reader::from_path(&path).unwrap();
    assert_eq!(
        reader.headers().unwrap(),
        vec!["series", "step", "epoch", "value"]
    );
    let written: Vec<(String, u64, u64, f64)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[0].to_string(),
                r[1].parse().unwrap(),
                r[2].parse().unwrap(),
                r[3].parse().unwrap(),
            )
        })
        .collect();
    // 100 rows of train loss/acc and weight norm, 20 of val acc/loss and train acc (eval); lr is not plotted
    assert_eq!(written.len(), 3 * 100 + 3 * 20);
    assert_eq!(written, expected);
    assert!(!written.iter().any(|(s, ..)| s == "lr"));
}

#[test]
fn an_invalid_config_is_refused_with_the_field_named() {
    let (backend, mut harness) = scripted_app(None);
    harness.state_mut().config_mut().p = 4;
    harness.step();
    // shown before Start is pressed, next to it
    assert!(
        harness.query_by_label_contains("invalid: p").is_some(),
        "the top bar names the field"
    );

    start_is_refused(&mut harness, &backend, "p: 4 must be a prime");
    assert!(
        harness
            .query_all_by_label_contains("p: 4 must be a prime")
            .count()
            >= 1
    );
}

/// Start pressed: refused in the status bar with `says`, the app idle, nothing sent to the worker.
fn start_is_refused(harness: &mut Harness<'_, GrokscopeApp>, backend: &Scripted, says: &str) {
    harness.get_by_label(START).click();
    harness.step();
    harness.step();
    let app = harness.state();
    assert!(app.status().is_error);
    assert!(
        app.status().text.contains(says),
        "status: {}",
        app.status().text
    );
    assert_eq!(app.phase(), Phase::Idle);
    let sent = backend.sent.lock().unwrap();
    assert!(
        !sent.iter().any(|c| matches!(c, Command::Start(_))),
        "nothing was started: {sent:?}"
    );
}

/// A config in range that no machine could hold (issue 13's: p = 2003, full batch at fraction 0.99,
/// hidden 8192: its training step alone needs about 420 GB by `config::memory`'s count, more than half
/// of any machine these tests run on) is named before Start, and Start refuses it without sending it.
#[test]
fn a_config_too_large_for_memory_is_refused_before_it_starts() {
    let (backend, mut harness) = scripted_app(None);
    {
        let cfg = harness.state_mut().config_mut();
        cfg.p = 2003;
        cfg.train_fraction = 0.99;
        cfg.full_batch = true;
        if let grokscope::config::ModelConfig::Mlp(m) = &mut cfg.model {
            m.hidden = 8192;
        }
    }
    harness.step();
    assert!(
        harness.query_by_label_contains("invalid: memory").is_some(),
        "the top bar names the problem"
    );
    assert!(
        harness
            .query_all_by_label_contains("a run needs about")
            .count()
            >= 1,
        "the config panel says how much"
    );
    start_is_refused(
        &mut harness,
        &backend,
        "Start refused: memory: a run needs about",
    );
}

/// Scrubbing through a real run's insight snapshots: dragging the step cursor moves every view to an
/// earlier snapshot, and "Follow latest" brings them back. Expected values: the run's own snapshot steps
/// (the first is always the untrained model at step 0, the last the final state).
/// The real app after a run of 30 full-batch epochs of a + b mod 13 started with Start, once `until`
/// holds as well as the run's end.
fn after_a_small_run(
    until: impl Fn(&Harness<'_, GrokscopeApp>) -> bool,
) -> Harness<'static, GrokscopeApp> {
    let dialog = Arc::new(FixedPathDialog(None));
    let mut harness =
        harness_with(move |cc| GrokscopeApp::new(cc, dialog).expect("the worker thread starts"));
    harness.step();
    {
        let cfg = harness.state_mut().config_mut();
        cfg.p = 13;
        cfg.max_epochs = 30;
        cfg.early_stop = false;
    }
    harness.get_by_label(START).click();
    let done = step_until(&mut harness, Duration::from_secs(60), |h| {
        h.state().phase() == Phase::Finished && until(h)
    });
    assert!(
        done,
        "the run did not finish: {}",
        harness.state().status().text
    );
    harness
}

#[test]
fn dragging_the_step_cursor_moves_the_views() {
    let mut harness = after_a_small_run(|_| true);
    let steps = harness.state().grokking().insight().steps();
    assert!(steps.len() >= 2, "snapshots at {steps:?}");
    assert_eq!(steps[0], 0);
    let last = *steps.last().unwrap();
    assert_eq!(last, 30, "the final state is kept");
    let shown =
        |h: &Harness<'_, GrokscopeApp>| h.state().grokking().shown_snapshot().map(|s| s.step);
    assert_eq!(shown(&harness), Some(last), "live: the newest");
    assert!(!crate::ui_support::labels_with(&harness, &format!("step {last} · epoch")).is_empty());

    // drag the slider from its right end to its left end
    let rect = harness.get_by_label_contains("snapshot ").rect();
    let (from, to) = (
        eframe::egui::pos2(rect.right() - 4.0, rect.center().y),
        eframe::egui::pos2(rect.left() + 2.0, rect.center().y),
    );
    harness.hover_at(from);
    harness.step();
    harness.drag_at(from);
    harness.step();
    harness.hover_at(to);
    harness.step();
    harness.drop_at(to);
    harness.step();
    harness.step();
    assert_eq!(
        shown(&harness),
        Some(0),
        "the views show the first snapshot"
    );
    assert_eq!(harness.state().grokking().insight_view().pinned, Some(0));
    assert!(!crate::ui_support::labels_with(&harness, "step 0 · epoch 0").is_empty());

    harness.get_by_label("Follow latest").click_accesskit();
    harness.step();
    assert_eq!(shown(&harness), Some(last), "following the run again");

    // the keys: once the views are filled in (a frame every epoch of these 30, one step each), ← steps
    // back one snapshot at a time, → on, End follows the latest again
    let filled = step_until(&mut harness, Duration::from_secs(30), |h| {
        h.state().grokking().insight().steps() == (0..=30).collect::<Vec<u64>>()
    });
    assert!(filled, "{:?}", harness.state().grokking().insight().steps());
    for (key, expect) in [
        (eframe::egui::Key::ArrowLeft, 29),
        (eframe::egui::Key::ArrowLeft, 28),
        (eframe::egui::Key::ArrowRight, 29),
    ] {
        harness.key_press(key);
        harness.step();
        assert_eq!(shown(&harness), Some(expect), "{key:?}");
    }
    harness.key_press(eframe::egui::Key::End);
    harness.step();
    assert_eq!(harness.state().grokking().insight_view().pinned, None);
    assert_eq!(shown(&harness), Some(last), "End: following again");
}

/// After a run, the loss plot's restricted and excluded loss use the final model's key frequencies
/// (as Nanda et al.); the Restricted loss view switches them back to each snapshot's own keys.
/// Expected: the legend names the series drawn; the final keys' series has a point every kept epoch.
#[test]
fn the_ablation_curves_use_the_final_keys_once_the_run_ends() {
    let final_points = |h: &Harness<'_, GrokscopeApp>| {
        h.state()
            .grokking()
            .history()
            .series(Metric::RestrictedLossFinal)
            .len()
    };
    let mut harness = after_a_small_run(|h| final_points(h) == 30);
    harness.run_steps(2);
    let legend = |h: &Harness<'_, GrokscopeApp>, name: &str| {
        !crate::ui_support::labels_with(h, name).is_empty()
    };
    assert!(legend(&harness, "restricted (val, final keys only)"));
    assert!(!legend(&harness, "restricted (val, key k only)"));
    // the exported ablation figure draws the curves the loss plot draws
    let exported = |h: &Harness<'_, GrokscopeApp>| {
        use grokscope::app::labs::LabSlot;
        let set = h.state().grokking().figure_set();
        let fig = set.figures.iter().find(|f| f.name == "ablation").cloned();
        let fig = fig.expect("an ablation figure");
        (fig.series[0].name.clone(), fig.series[0].points.len())
    };
    assert_eq!(
        exported(&harness),
        ("restricted (val, final keys only)".to_string(), 30)
    );
    harness
        .get_by_label("each snapshot's own keys")
        .click_accesskit();
    harness.run_steps(2);
    assert!(harness.state().grokking().insight_view().own_keys);
    assert!(legend(&harness, "restricted (val, key k only)"));
    assert!(!legend(&harness, "restricted (val, final keys only)"));
    assert_eq!(exported(&harness).0, "restricted (val, key k only)");
}

/// The step the views show ("step N · epoch N") is read whole on one line beside the slider, or on
/// the next line where the row is full (it once broke after "step 312" at 1024 points, the epoch
/// alone at the start of the next line).
#[test]
fn the_views_step_is_never_broken_across_lines() {
    let mut harness = after_a_small_run(|_| true);
    // every tenth width a laptop or projector gives (the old label broke at 1050 here)
    for width in (900..=1280).step_by(10).map(|w| w as f32) {
        harness.set_size(eframe::egui::vec2(width, 768.0));
        harness.run_steps(3);
        let node = harness
            .query_all_by_label_contains("step 30 · epoch 30")
            .next()
            .expect("the shown step");
        let rect = node.rect();
        // one line of 14-point strong text is about 18 points high
        assert!(rect.height() < 24.0, "{width}: {rect:?}");
        assert!(rect.right() <= width, "{width}: {rect:?}");
    }
}

/// The key frequencies ("k = …") stand beside the shown step only while a view of frequencies shows
/// (spectrum, clock, neurons or ablation): a lesson's plots alone once carried "k = 25, 7, 37, 15, 24,
/// 48" that nothing on screen explained (a helper's lesson audit, 2026-12-06). Expected: the label
/// with the default views, none with those four hidden, back with the clock alone.
#[test]
fn the_key_frequencies_stand_beside_a_view_of_them_only() {
    let mut harness = after_a_small_run(|_| true);
    harness.run_steps(2);
    let has_k = |h: &Harness<'_, GrokscopeApp>| h.query_all_by_label_contains("k = ").count() > 0;
    assert!(has_k(&harness), "beside the default views");
    for key in ["spectrum", "clock", "neurons", "ablation"] {
        harness.state_mut().grokking_mut().show_panel(key, false);
    }
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label_contains("step 30 · epoch 30")
            .is_some(),
        "the step is still shown"
    );
    assert!(!has_k(&harness), "no view of frequencies shows");
    harness.state_mut().grokking_mut().show_panel("clock", true);
    harness.run_steps(2);
    assert!(has_k(&harness), "beside the clock");
}

/// A run recorded in the temporary folder (a lesson's) is named by its folder's name on the status
/// line, not by a path of 60 characters a room cannot read and nobody needs; a run recorded elsewhere
/// keeps its whole path. Expected: the worker's `Saved` for each kind of folder.
#[test]
fn a_lessons_recording_is_named_without_its_temporary_path() {
    let (backend, mut harness) = scripted_app(None);
    harness.get_by_label(START).click();
    step_until(&mut harness, Duration::from_secs(10), |h| {
        h.state().phase() == Phase::Finished
    });
    let temp = std::env::temp_dir().join("grokscope-unsaved/1-2/3-run");
    for (dir, says) in [
        (
            temp.clone(),
            "recording into 3-run in the temporary folder (Save run… keeps it)".to_string(),
        ),
        (
            PathBuf::from("/grokscope-runs-here/run-1"),
            "recording into /grokscope-runs-here/run-1 (kept up to date".to_string(),
        ),
    ] {
        backend
            .events
            .lock()
            .unwrap()
            .push_back(Event::Saved { run: 1, dir });
        harness.run_steps(2);
        let text = harness.state().status().text.clone();
        assert!(text.starts_with(&says), "{text}");
    }
}
