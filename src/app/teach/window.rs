//! The Lessons window: the bundled lessons to play, a lesson file to open (a malformed one is refused
//! naming its line and field), and scenes to save and open.

use crate::config::lesson::{BUNDLED, Lesson};
use eframe::egui::{self, RichText};

/// The window's state: open or not, the typed paths, the last problem.
#[derive(Clone, Debug, Default)]
pub struct LessonsWindow {
    pub open: bool,
    pub lesson_path: String,
    pub scene_path: String,
    /// The last refusal or result shown in the window: (is an error, text).
    pub message: Option<(bool, String)>,
    /// A scene file the user was told is there (or chose to replace in the save dialog): the next
    /// Save scene to it replaces it.
    pub replace_scene: Option<String>,
}

/// What the window asks the shell to do.
#[derive(Clone, Debug, PartialEq)]
pub enum WindowCmd {
    None,
    /// Play a lesson: `bundled:NAME` or a file path.
    Play(String),
    SaveScene(String),
    OpenScene(String),
    /// Ask for the file in a dialog (the path field was empty), then do what it is for.
    Choose(FileUse),
}

/// What a file chosen in the window's dialog is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileUse {
    PlayLesson,
    SaveScene,
    OpenScene,
}

impl FileUse {
    /// The dialog's title.
    pub fn title(self) -> &'static str {
        match self {
            FileUse::PlayLesson => "Open a lesson file",
            FileUse::SaveScene => "Save the scene",
            FileUse::OpenScene => "Open a scene",
        }
    }

    /// What the window does with `path`.
    pub fn command(self, path: String) -> WindowCmd {
        match self {
            FileUse::PlayLesson => WindowCmd::Play(path),
            FileUse::SaveScene => WindowCmd::SaveScene(path),
            FileUse::OpenScene => WindowCmd::OpenScene(path),
        }
    }
}

/// A button that uses the typed path, or, with none typed, asks for one in a dialog ("…").
fn path_button(ui: &mut egui::Ui, label: &str, path: &str, purpose: FileUse) -> Option<WindowCmd> {
    let path = path.trim();
    let (text, tip) = if path.is_empty() {
        (
            format!("{label}…"),
            "No path typed: choose the file in a dialog".to_string(),
        )
    } else {
        (label.to_string(), format!("Use {path}"))
    };
    ui.button(text).on_hover_text(tip).clicked().then(|| {
        if path.is_empty() {
            WindowCmd::Choose(purpose)
        } else {
            purpose.command(path.to_string())
        }
    })
}

/// A bundled lesson as the window lists it: its title, and its steps and summary.
struct Listed {
    title: String,
    text: String,
}

/// The bundled lessons' lines (or why one is refused), read once: they are compiled in, so every
/// frame the window is open would otherwise parse all of them again.
fn bundled_listing() -> &'static [(&'static str, Result<Listed, String>)] {
    static LISTING: std::sync::OnceLock<Vec<(&'static str, Result<Listed, String>)>> =
        std::sync::OnceLock::new();
    LISTING.get_or_init(|| {
        BUNDLED
            .iter()
            .map(|(name, text)| {
                let listed = Lesson::parse(text)
                    .map(|l| Listed {
                        title: l.title.clone(),
                        text: format!("{} steps · {}", l.steps.len(), l.summary),
                    })
                    .map_err(|e| e.located(&format!("assets/lessons/{name}.toml")));
                (*name, listed)
            })
            .collect()
    })
}

impl LessonsWindow {
    /// The window, when open, first at `at` (its top centre); what was asked of it.
    pub fn ui(&mut self, ctx: &egui::Context, at: egui::Pos2) -> WindowCmd {
        let mut cmd = WindowCmd::None;
        let mut open = self.open;
        egui::Window::new("Lessons and scenes")
            .open(&mut open)
            .pivot(egui::Align2::CENTER_TOP)
            .default_pos(at)
            .default_width(520.0)
            .show(ctx, |ui| {
                ui.label(RichText::new("Bundled lessons").strong());
                egui::Grid::new("bundled_lessons")
                    .num_columns(2)
                    .striped(true)
                    .show(ui, |ui| {
                        for (name, listed) in bundled_listing() {
                            match listed {
                                Ok(line) => {
                                    if ui.button("▶ Play").clicked() {
                                        cmd = WindowCmd::Play(format!("bundled:{name}"));
                                    }
                                    ui.vertical(|ui| {
                                        // a column wide enough to read from the first frame on
                                        // (measured without a width, the summaries ran a word a
                                        // line, 2500 points tall, and the window was moved up
                                        // over the bars to fit the screen)
                                        ui.set_min_width(ui.available_width().max(380.0));
                                        ui.label(RichText::new(&line.title).strong());
                                        ui.label(&line.text);
                                    });
                                }
                                Err(refused) => {
                                    ui.label("");
                                    ui.colored_label(ui.visuals().error_fg_color, refused);
                                }
                            }
                            ui.end_row();
                        }
                    });
                ui.separator();
                ui.label(RichText::new("A lesson file").strong()).on_hover_text(
                    "A TOML file of steps (see the README); check one with `grokscope lesson check FILE`",
                );
                ui.horizontal(|ui| {
                    ui.add(
                        egui::TextEdit::singleline(&mut self.lesson_path)
                            .hint_text("path/to/lesson.toml")
                            .desired_width(340.0),
                    );
                    if let Some(c) =
                        path_button(ui, "Open lesson", &self.lesson_path, FileUse::PlayLesson)
                    {
                        cmd = c;
                    }
                });
                ui.separator();
                ui.label(RichText::new("Scenes").strong()).on_hover_text(
                    "A scene keeps the lab, its config and seed, the run and its step, the step cursor, \
                     the panels, the presenter layout and the lesson step; opening it brings the picture back",
                );
                ui.horizontal(|ui| {
                    ui.add(
                        egui::TextEdit::singleline(&mut self.scene_path)
                            .hint_text("path/to/scene.toml")
                            .desired_width(260.0),
                    );
                    for (label, purpose) in [
                        ("Save scene", FileUse::SaveScene),
                        ("Open scene", FileUse::OpenScene),
                    ] {
                        if let Some(c) = path_button(ui, label, &self.scene_path, purpose) {
                            cmd = c;
                        }
                    }
                });
                if let Some((is_error, text)) = &self.message {
                    ui.separator();
                    let color = if *is_error {
                        ui.visuals().error_fg_color
                    } else {
                        ui.visuals().text_color()
                    };
                    ui.label(RichText::new(text).color(color));
                }
            });
        self.open = open;
        cmd
    }
}
