//! What the UI tests share: building the real app in a harness, stepping it until a state appears,
//! and reading the texts of labels.

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use grokscope::app::GrokscopeApp;
use std::time::{Duration, Instant};

/// The app built by `build` in a 1280 x 800 harness (the window's default size).
pub(crate) fn harness_with(
    build: impl FnOnce(&eframe::CreationContext<'_>) -> GrokscopeApp + 'static,
) -> Harness<'static, GrokscopeApp> {
    Harness::builder()
        .with_size(eframe::egui::vec2(1280.0, 800.0))
        .build_eframe(|cc| build(cc))
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
