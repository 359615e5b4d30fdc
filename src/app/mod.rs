//! The desktop window (egui). The only module that knows egui, eframe, egui_plot and rfd.
//!
//! Layout: a top bar (labs, run controls, speed, counters), the config of the current lab on the
//! left, its views in the centre, a status bar at the bottom. The shell ([`GrokscopeApp`]) holds the
//! labs, each one slot ([`labs::LabSlot`]) in its own folder under `labs/`; shared widgets are in
//! [`widgets`]. Views draw and return an [`actions::Action`]; the shell hands it to the lab shown
//! after the frame. Training runs on each lab's worker thread; the app drains their events for a few
//! milliseconds a frame. Dialogs and file writes run on their own named threads ([`jobs`]).

pub mod actions;
pub mod backend;
pub mod dialog;
pub mod figure_export;
pub mod jobs;
pub mod labs;
pub mod link;
pub mod meters;
mod shell;
pub mod shutdown;
pub mod teach;
pub mod widgets;

pub use actions::{Action, ExportKind};
pub use backend::{Backend, Unattached};
pub use dialog::{FileDialog, FixedPathDialog, RfdDialog};
pub use jobs::crop_to_picture;
pub use labs::capacity::CapacityLab;
pub use labs::grokking::{GrokkingLab, Persisted};
pub use labs::ordering::OrderingLab;
pub use labs::{Lab, LabSlot};
pub use link::{Phase, Status};
pub use shell::GrokscopeApp;
pub use widgets::plots::plotted_metrics;

use std::sync::Arc;

/// Whether a display server is named in the environment (X11 or Wayland).
fn display_available() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()))
}

/// How the window opens: a lesson to play, the presenter view, a scene.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WindowStart {
    /// A bundled lesson's name or a lesson file.
    pub lesson: Option<String>,
    pub presenter: bool,
    pub scene: Option<std::path::PathBuf>,
}

impl WindowStart {
    /// The lesson as the player loads it: `bundled:NAME` for a bundled lesson's name, else the file.
    pub fn lesson_source(&self) -> Option<String> {
        let lesson = self.lesson.as_ref()?;
        let bundled = crate::config::lesson::BUNDLED
            .iter()
            .any(|(name, _)| name == lesson);
        Some(if bundled {
            format!("bundled:{lesson}")
        } else {
            lesson.clone()
        })
    }

    /// What is wrong with the scene and lesson files named, one line each (read and checked as the
    /// window would, without it).
    pub fn problems(&self) -> Vec<String> {
        let scene = self
            .scene
            .as_ref()
            .and_then(|p| teach::scene::Scene::read(p).err());
        let lesson = self
            .lesson_source()
            .and_then(|s| teach::scene::load_lesson(&s).err());
        scene.into_iter().chain(lesson).collect()
    }
}

/// The window's app id: eframe keeps its settings (`app.ron`) in this app's data folder
/// (`eframe::storage_dir`), and the Capacity lab its sweeps beside them.
pub const APP_ID: &str = "grokscope";

/// Open the grokscope window and run until it is closed.
pub fn run_window(start: WindowStart) -> anyhow::Result<()> {
    if !display_available() {
        // a lesson or scene that would not open is named too: it is what a user fixes first
        let problems: String = start.problems().iter().map(|p| format!("{p}\n")).collect();
        anyhow::bail!(
            "{problems}no display found: neither DISPLAY nor WAYLAND_DISPLAY is set, so the window cannot open.\n\
             To train without a window use the headless commands (e.g. `grokscope run`); see `grokscope --help`.\n\
             To see the window on a machine without a screen, start a virtual one (e.g. `Xvfb :99 &` and `DISPLAY=:99 grokscope`)."
        );
    }
    let options = eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default()
            .with_title("grokscope")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([800.0, 500.0]),
        ..Default::default()
    };
    eframe::run_native(
        APP_ID,
        options,
        Box::new(|cc| {
            shutdown::install(&cc.egui_ctx);
            let mut app = GrokscopeApp::new(cc, Arc::new(RfdDialog))?;
            app.begin(&start);
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("the window failed: {e}"))
}
