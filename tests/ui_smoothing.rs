//! The plots' display smoothing, driven through the window: the toolbar's slider smooths the drawn
//! lines while the milestones, their markers and the stored values stay the raw run's.

use crate::ui_support::{Labs, harness_with, step_until};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use grokscope::app::{Backend, FixedPathDialog, GrokscopeApp, Phase};
use grokscope::config::ValidRunConfig;
use grokscope::protocol::{Command, Event, GrokEvent, Metric, MetricRow, Outcome};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A worker stand-in: Start gives a run of 60 steps whose train loss zig-zags (1.5 on odd steps,
/// 0.5 on even ones) and whose validation accuracy rises, memorised at step 20 and generalised at
/// step 50.
#[derive(Clone, Default)]
struct Noisy {
    events: Arc<Mutex<VecDeque<Event>>>,
}

impl Backend for Noisy {
    fn send(&self, cmd: Command) {
        let Command::Start(run_config) = &cmd else {
            return;
        };
        let ValidRunConfig::Grokking(config) = run_config.as_ref() else {
            panic!("the Grokking tab started another lab: {run_config:?}");
        };
        let run = 1;
        let mut ev = self.events.lock().unwrap();
        ev.push_back(Event::Started {
            run,
            config: Box::new((**run_config).clone().into()),
            param_count: config.model.param_count(config.p as usize),
            steps_per_epoch: 1,
            device: Some(grokscope::config::device::Choice::cpu_only()),
        });
        let rows = (1..=60u64)
            .map(|step| MetricRow {
                step,
                epoch: step,
                values: vec![
                    (Metric::TrainLoss, if step % 2 == 1 { 1.5 } else { 0.5 }),
                    (Metric::ValAcc, (step as f64 / 50.0).min(1.0)),
                ],
            })
            .collect();
        ev.push_back(Event::Metrics { run, rows });
        ev.push_back(Event::detected(run, GrokEvent::Memorised, 20, 20));
        ev.push_back(Event::detected(run, GrokEvent::Generalised, 50, 50));
        ev.push_back(Event::Finished {
            run,
            outcome: Outcome::Completed,
            summary: None,
        });
    }

    fn try_recv(&self) -> Option<Event> {
        self.events.lock().unwrap().pop_front()
    }
}

/// The app on the [`Noisy`] backend, its run finished and drawn.
fn finished_run() -> Harness<'static, GrokscopeApp> {
    let dialog = Arc::new(FixedPathDialog(None));
    let mut h =
        harness_with(move |cc| GrokscopeApp::with_backend(cc, dialog, Box::new(Noisy::default())));
    h.step();
    h.get_by_label("▶ Start").click();
    assert!(step_until(&mut h, Duration::from_secs(10), |h| h
        .state()
        .phase()
        == Phase::Finished));
    h.step();
    h.step();
    h
}

/// The toolbar's smoothing slider (its text beside it is a label of the same name).
fn slider<'h>(h: &'h Harness<'_, GrokscopeApp>) -> egui_kittest::Node<'h> {
    h.get_by_role_and_label(eframe::egui::accesskit::Role::Slider, "smoothing")
}

/// The train loss's points as the loss plot (log y) draws them unsmoothed, from the stored values:
/// (step, log10 value).
fn raw_loss_line(h: &Harness<'_, GrokscopeApp>) -> Vec<(f64, f64)> {
    h.state()
        .history()
        .series(Metric::TrainLoss)
        .iter()
        .map(|p| (p.step as f64, p.value.log10()))
        .collect()
}

fn drawn_loss_line(h: &Harness<'_, GrokscopeApp>) -> Vec<(f64, f64)> {
    let view = h.state().grokking().plot_view();
    let line = view
        .drawn_line(Metric::TrainLoss)
        .expect("a plotted metric");
    line.iter().map(|p| (p.x, p.y)).collect()
}

/// Off by default, the line drawn is exactly the stored points (log10 on the loss axis) and no
/// faint raw curve is drawn.
#[test]
fn smoothing_off_draws_exactly_the_raw_points() {
    let h = finished_run();
    let view = h.state().grokking().plot_view();
    assert!(!view.smoothing.is_on(), "off by default");
    assert!(view.raw_behind.is_empty());
    let raw = raw_loss_line(&h);
    assert_eq!(raw.len(), 60);
    assert_eq!(drawn_loss_line(&h), raw);
}

/// Moving the slider to 0.9 changes the train loss's line (first point kept, the second the
/// debiased average), draws the raw curve faint behind, and leaves the milestones, their labels and
/// the stored values as they were. Back to 0, the raw line again.
#[test]
fn the_slider_smooths_the_lines_but_not_the_milestones() {
    let mut h = finished_run();
    let labels = h.state().marker_labels().to_vec();
    let markers = h.state().history().markers().to_vec();
    let stored = h.state().history().series(Metric::TrainLoss).to_vec();
    assert_eq!(markers.len(), 2, "{markers:?}");
    assert!(
        labels.iter().any(|l| l.text.contains("generalised")),
        "{labels:?}"
    );
    let raw = raw_loss_line(&h);

    slider(&h).set_value_accesskit(0.9);
    h.step();
    h.step();
    let view = h.state().grokking().plot_view();
    assert!(
        (view.smoothing.get() - 0.9).abs() < 1e-9,
        "{:?}",
        view.smoothing
    );
    assert!(
        view.raw_behind.contains(&Metric::TrainLoss),
        "{:?}",
        view.raw_behind
    );
    let drawn = drawn_loss_line(&h);
    assert_eq!(drawn.len(), 60);
    assert_ne!(drawn, raw, "the line changed");
    // step 1's loss is 1.5 and step 2's 0.5: the first smoothed point is the first value (the
    // debias), the second (0.9·1.5 + 1·0.5) / 1.9 = 1.85 / 1.9, by hand from the definition
    assert!((drawn[0].1 - 1.5f64.log10()).abs() < 1e-12, "{drawn:?}");
    assert!(
        (drawn[1].1 - (1.85f64 / 1.9).log10()).abs() < 1e-12,
        "{drawn:?}"
    );
    // the zig-zag between log10 1.5 and log10 0.5 (0.48 apart) is all but gone at the end
    let tail: Vec<f64> = drawn[50..].iter().map(|p| p.1).collect();
    let spread = tail.iter().cloned().fold(f64::MIN, f64::max)
        - tail.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread < 0.1, "{tail:?}");

    // display only: the milestones and what is stored are the raw run's
    assert_eq!(h.state().marker_labels(), labels.as_slice());
    assert_eq!(h.state().history().markers(), markers.as_slice());
    assert_eq!(
        h.state().history().series(Metric::TrainLoss),
        stored.as_slice()
    );

    slider(&h).set_value_accesskit(0.0);
    h.step();
    h.step();
    assert_eq!(drawn_loss_line(&h), raw);
    assert!(h.state().grokking().plot_view().raw_behind.is_empty());
    assert_eq!(h.state().marker_labels(), labels.as_slice());
}

/// The smoothing is kept across restarts with the window's other settings (eframe storage): set by
/// the slider, saved, loaded back; a stored value from before smoothing existed gives 0 (off), and
/// one out of range is brought into 0 to 0.99.
#[test]
fn the_smoothing_is_kept_across_restarts() {
    use crate::ui_runs::{MemStorage, app_with_storage};
    let mut h = app_with_storage(MemStorage::default());
    assert!(!h.state().grokking().plot_view().smoothing.is_on());
    slider(&h).set_value_accesskit(0.6);
    h.step();
    let mut storage = MemStorage::default();
    eframe::App::save(h.state_mut(), &mut storage);
    let stored = storage.0.get(eframe::APP_KEY).cloned().unwrap_or_default();
    assert!(
        stored.contains("smoothing:0.6") || stored.contains("smoothing: 0.6"),
        "{stored}"
    );
    let restarted = app_with_storage(storage);
    let w = restarted.state().grokking().plot_view().smoothing.get();
    assert!((w - 0.6).abs() < 1e-9, "{w}");

    for (stored, want) in [
        ("(runs: (tensorboard: true))", 0.0),
        ("(smoothing: 7.0)", 0.99),
        ("(smoothing: -1.0)", 0.0),
    ] {
        let mut storage = MemStorage::default();
        storage.0.insert(eframe::APP_KEY.into(), stored.into());
        let h = app_with_storage(storage);
        assert_eq!(
            h.state().grokking().plot_view().smoothing.get(),
            want,
            "{stored}"
        );
    }
}

/// The presenter view leaves the plots' toolbar out, so it draws the raw curves whatever the
/// window's smoothing (a lesson's picture must not change unseen); the window's choice is kept and
/// comes back when the presenter view closes.
#[test]
fn the_presenter_view_draws_the_raw_curves() {
    use grokscope::app::teach::presenter::LessonCmd;
    let mut h = finished_run();
    let raw = raw_loss_line(&h);
    slider(&h).set_value_accesskit(0.9);
    h.step();
    h.step();
    assert_ne!(drawn_loss_line(&h), raw);
    h.state_mut().lesson_command(LessonCmd::Presenter);
    h.step();
    h.step();
    assert!(h.state().presenter().on);
    assert_eq!(drawn_loss_line(&h), raw);
    assert!(h.state().grokking().plot_view().raw_behind.is_empty());
    assert!((h.state().grokking().plot_view().smoothing.get() - 0.9).abs() < 1e-9);
    h.state_mut().lesson_command(LessonCmd::Presenter);
    h.step();
    h.step();
    assert!(!h.state().presenter().on);
    assert_ne!(drawn_loss_line(&h), raw, "smoothed again");
}
