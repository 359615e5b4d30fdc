//! Headless integration tests (one test crate: each file here is a module, so one binary links).

mod capacity;
mod cli;
mod engine;
mod export;
mod export_insight;
mod fuzz;
mod hardening;
mod insight;
mod layers;
mod ordering;
mod ordering_cli;
mod phase;
mod runs;
mod tensorboard;
mod ui;
mod ui_capacity;
mod ui_export;
mod ui_layout;
mod ui_lessons;
mod ui_ordering;
mod ui_phase;
mod ui_runs;
mod ui_smoothing;
#[path = "support/ui.rs"]
mod ui_support;
