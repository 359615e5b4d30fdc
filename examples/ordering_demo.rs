//! The window with its Ordering tab fed by synthetic events (tests/support/ordering_synth.rs), for
//! looking at the tab before the engine lands and for measuring frame times while a run streams in.
//!
//! ```sh
//! cargo run --release --example ordering_demo -- [run|study|grid|idle|grokking] [hidden] [pace_ms]
//! ```
//! It draws flat out (a repaint every frame) and every two seconds prints frames per second and the
//! p99 of the `ui` time (the status bar's). `idle` shows the Ordering tab with nothing started and
//! `grokking` the Grokking tab: baselines for the same machine and moment.

#[path = "../tests/support/ordering_synth.rs"]
mod synth;

use eframe::egui;
use grokscope::app::labs::Counter;
use grokscope::app::{
    Action, FixedPathDialog, GrokscopeApp, Lab, LabSlot, OrderingLab, Unattached,
};
use grokscope::config::ordering::StudyKind;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Demo {
    app: GrokscopeApp,
    frames: u32,
    since: Instant,
}

impl eframe::App for Demo {
    fn logic(&mut self, ctx: &egui::Context, frame: &mut eframe::Frame) {
        self.app.logic(ctx, frame);
    }

    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        self.app.ui(ui, frame);
        // the synthetic worker has no waker; and drawing flat out is what is measured
        ui.ctx().request_repaint();
        self.frames += 1;
        let dt = self.since.elapsed();
        if dt >= Duration::from_secs(2) {
            let ord = self
                .app
                .lab_as::<OrderingLab>()
                .expect("the Ordering lab is registered");
            let step = match ord.counter() {
                Counter::Steps { step, .. } => step,
                Counter::Text(_) => 0,
            };
            eprintln!(
                "{:.1} frames/s, ui p99 {:.2} ms, step {}, snapshots {}",
                f64::from(self.frames) / dt.as_secs_f64(),
                self.app.frame_p99_ms().unwrap_or(f32::NAN),
                step,
                ord.history().snapshots().len(),
            );
            self.frames = 0;
            self.since = Instant::now();
        }
    }
}

fn main() -> eframe::Result {
    let args: Vec<String> = std::env::args().collect();
    let what = args.get(1).map_or("run", String::as_str).to_string();
    let hidden: Option<usize> = args.get(2).and_then(|a| a.parse().ok());
    let pace_ms: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(15);
    let synthetic = synth::Synthetic::new(None, Some(Duration::from_millis(pace_ms)));
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("grokscope (ordering demo)")
            .with_inner_size([1280.0, 800.0]),
        ..Default::default()
    };
    eframe::run_native(
        "grokscope-ordering-demo",
        options,
        Box::new(move |cc| {
            let mut app = GrokscopeApp::with_backend(
                cc,
                Arc::new(FixedPathDialog(None)),
                Box::new(Unattached::default()),
            )
            .with_lab_backend(Lab::Ordering, Box::new(synthetic));
            app.show_lab(if what == "grokking" {
                Lab::Grokking
            } else {
                Lab::Ordering
            });
            let lab = app
                .lab_as_mut::<OrderingLab>()
                .expect("the Ordering lab is registered");
            // the sine preset: 9 neurons, 2 inputs
            lab.apply(Action::SelectPreset(1), Default::default());
            if let Some(h) = hidden {
                lab.config_mut().hidden = h;
            }
            match what.as_str() {
                "study" => lab.apply(Action::StartStudy, Default::default()),
                "grid" => {
                    lab.study_draft_mut().kind = StudyKind::Grid;
                    lab.apply(Action::StartStudy, Default::default());
                }
                "idle" | "grokking" => {}
                _ => lab.apply(Action::Start, Default::default()),
            }
            Ok(Box::new(Demo {
                app,
                frames: 0,
                since: Instant::now(),
            }))
        }),
    )
}
