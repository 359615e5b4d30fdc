//! What the UI tests share: building the real app in a harness, stepping it until a state appears,
//! and reading the texts of labels.

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use grokscope::app::labs::grokking::run_files::RunFiles;
use grokscope::app::widgets::plots::{Compare, MarkerLabel};
use grokscope::app::{CapacityLab, GrokkingLab, GrokscopeApp, OrderingLab};
use grokscope::config::GrokkingConfig;
use grokscope::store::RunHistory;
use std::time::{Duration, Instant};

/// The app built by `build` in a 1280 x 800 harness (the window's default size), its lesson runs
/// in a folder of its own ([`own_lesson_folder`]).
pub(crate) fn harness_with(
    build: impl FnOnce(&eframe::CreationContext<'_>) -> GrokscopeApp + 'static,
) -> Harness<'static, GrokscopeApp> {
    Harness::builder()
        .with_size(eframe::egui::vec2(1280.0, 800.0))
        .build_eframe(|cc| own_lesson_folder(build(cc)))
}

/// `app` recording the runs its lessons start in a new temporary folder, removed with the app (the
/// window's own folder under the system's temporary folder is left for the system to clear: a test
/// run would leave some 30 runs there).
pub(crate) fn own_lesson_folder(mut app: GrokscopeApp) -> GrokscopeApp {
    let dir = tempfile::Builder::new()
        .prefix("grokscope-test-lessons-")
        .tempdir()
        .expect("a temporary folder")
        .keep();
    app.grokking_mut().temp_runs_in_owned_folder(dir);
    app
}

/// Step frames (with short real-time sleeps, since worker and job threads may be running) until
/// `done`, for at most `limit`; false if it never happened.
pub(crate) fn step_until(
    harness: &mut Harness<'_, GrokscopeApp>,
    limit: Duration,
    mut done: impl FnMut(&Harness<'_, GrokscopeApp>) -> bool,
) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        harness.step();
        if done(harness) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

/// Texts of the labels containing `part` (a plain label's text is its accessible value).
pub(crate) fn labels_with(h: &Harness<'_, GrokscopeApp>, part: &str) -> Vec<String> {
    h.query_all_by_label_contains(part)
        .filter_map(|n| {
            let node = n.accesskit_node();
            node.value().or_else(|| node.label())
        })
        .collect()
}

/// The labs of the app by type, and the Grokking lab's parts the tests read most (the shell names no lab).
pub(crate) trait Labs {
    fn grokking(&self) -> &GrokkingLab;
    fn grokking_mut(&mut self) -> &mut GrokkingLab;
    fn ordering(&self) -> &OrderingLab;
    fn ordering_mut(&mut self) -> &mut OrderingLab;
    fn capacity(&self) -> &CapacityLab;
    fn capacity_mut(&mut self) -> &mut CapacityLab;

    fn history(&self) -> &RunHistory {
        self.grokking().history()
    }
    fn runs(&self) -> &RunFiles {
        self.grokking().runs()
    }
    fn runs_mut(&mut self) -> &mut RunFiles {
        self.grokking_mut().runs_mut()
    }
    fn config(&self) -> &GrokkingConfig {
        self.grokking().config()
    }
    fn config_mut(&mut self) -> &mut GrokkingConfig {
        self.grokking_mut().config_mut()
    }
    fn compared(&mut self) -> &Compare {
        self.grokking_mut().compared()
    }
    fn marker_labels(&self) -> &[MarkerLabel] {
        self.grokking().marker_labels()
    }
    fn preset_name(&self) -> Option<&'static str> {
        self.grokking().preset_name()
    }
}

impl Labs for GrokscopeApp {
    fn grokking(&self) -> &GrokkingLab {
        self.lab_as().expect("the Grokking lab is registered")
    }
    fn grokking_mut(&mut self) -> &mut GrokkingLab {
        self.lab_as_mut().expect("the Grokking lab is registered")
    }
    fn ordering(&self) -> &OrderingLab {
        self.lab_as().expect("the Ordering lab is registered")
    }
    fn ordering_mut(&mut self) -> &mut OrderingLab {
        self.lab_as_mut().expect("the Ordering lab is registered")
    }
    fn capacity(&self) -> &CapacityLab {
        self.lab_as().expect("the Capacity lab is registered")
    }
    fn capacity_mut(&mut self) -> &mut CapacityLab {
        self.lab_as_mut().expect("the Capacity lab is registered")
    }
}
