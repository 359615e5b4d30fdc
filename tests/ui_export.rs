//! UI test of the Export figure window: a figure of the Grokking lab written from the window, with its
//! CSV and JSON sidecars.

use crate::ui_support::step_until;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use grokscope::app::{Backend, FixedPathDialog, GrokscopeApp, Phase};
use grokscope::config::ValidRunConfig;
use grokscope::protocol::{Command, Event, Metric, MetricRow, Outcome};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Answers Start with 30 rows of train and validation accuracy, then finishes.
#[derive(Clone, Default)]
struct ThirtyRows {
    events: Arc<Mutex<VecDeque<Event>>>,
}

impl Backend for ThirtyRows {
    fn send(&self, cmd: Command) {
        let Command::Start(cfg) = cmd else { return };
        let ValidRunConfig::Grokking(c) = cfg.as_ref() else {
            return;
        };
        let mut ev = self.events.lock().unwrap();
        ev.push_back(Event::Started {
            run: 1,
            param_count: c.model.param_count(c.p as usize),
            steps_per_epoch: c.steps_per_epoch(),
            device: Some(grokscope::config::device::Choice::cpu_only()),
            config: Box::new((*cfg).clone().into()),
        });
        let rows = (1..=30u64)
            .map(|s| MetricRow {
                step: s,
                epoch: s,
                values: vec![
                    (Metric::TrainAcc, s as f64 / 30.0),
                    (Metric::ValAcc, s as f64 / 60.0),
                    (Metric::TrainLoss, 1.0 / s as f64),
                ],
            })
            .collect();
        ev.push_back(Event::Metrics { run: 1, rows });
        ev.push_back(Event::Finished {
            run: 1,
            outcome: Outcome::Completed,
            summary: None,
        });
    }

    fn try_recv(&self) -> Option<Event> {
        self.events.lock().unwrap().pop_front()
    }
}

#[test]
fn the_window_exports_a_figure_with_its_sidecars() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acc.pdf");
    let dialog = Arc::new(FixedPathDialog(Some(path.clone())));
    let backend = ThirtyRows::default();
    let mut h = Harness::builder()
        .with_size(eframe::egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| GrokscopeApp::with_backend(cc, dialog, Box::new(backend)));
    h.step();
    h.get_by_label("▶ Start").click();
    assert!(step_until(&mut h, Duration::from_secs(10), |h| h
        .state()
        .phase()
        == Phase::Finished));

    h.get_by_label("Export figure…").click();
    h.step();
    h.step();
    // the window opens on the lab's first plot, as PDF (its defaults)
    h.get_by_label("Export…").click();
    let saved = step_until(&mut h, Duration::from_secs(20), |h| {
        h.state().status().text.starts_with("saved the figure")
    });
    assert!(saved, "status: {}", h.state().status().text);

    let pdf = std::fs::read(&path).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    // the CSV beside holds the accuracy plot's points from the store, in percent: 30 train rows
    // (s/30 * 100) and 30 validation rows (s/60 * 100); no train (eval) rows were sent
    let mut r = csv::Reader::from_path(dir.path().join("acc.csv")).unwrap();
    let rows: Vec<(String, f64, f64)> = r
        .records()
        .map(|x| {
            let x = x.unwrap();
            (
                x[0].to_string(),
                x[1].parse().unwrap(),
                x[2].parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows.len(), 60);
    assert_eq!(
        rows[0],
        ("train (running, train mode)".to_string(), 1.0, 100.0 / 30.0)
    );
    assert_eq!(rows[30], ("validation".to_string(), 1.0, 100.0 / 60.0));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("acc.json")).unwrap())
            .unwrap();
    assert_eq!(json["figure"], "accuracy");
    assert!(
        json["config"]["p"].is_number(),
        "the run's config: {}",
        json["config"]
    );
}
