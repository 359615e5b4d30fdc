//! The speaker notes: a window of the teacher's own (on the laptop's screen while the projector shows
//! the presenter view) with the step's notes, the lesson's clocks, what comes next, and the lesson's
//! controls. The class never sees it. A lesson step's `notes` fill it; a step without notes says so.
//!
//! It is a second native window (an egui viewport) where the platform has them; elsewhere (and in
//! the tests) egui draws it as a window inside the main one.

use super::player::LessonPlayer;
use super::presenter::{LessonCmd, keys, paragraphs, wait_text};
use eframe::egui::{self, RichText, Ui};
use std::time::Duration;

/// The notes window's title (its viewport's title, or the embedded window's).
pub const TITLE: &str = "grokscope: speaker notes";

/// Type sizes in the notes window (points): read at arm's length on a laptop.
const NOTES_SIZE: f32 = 17.0;
const HEAD_SIZE: f32 = 20.0;
/// The notes' own window's other type, against the main window's.
const BODY_SCALE: f32 = 1.15;

/// Show the notes window (call it while the notes are open); returns what its buttons or keys ask.
/// `presenting`: the presenter view is on (its keys apply). Its close box, or its own Close button,
/// clears `open`.
pub fn notes_window(
    ctx: &egui::Context,
    player: &LessonPlayer,
    presenting: bool,
    open: &mut bool,
) -> LessonCmd {
    let id = egui::ViewportId::from_hash_of("grokscope-speaker-notes");
    // egui's zoom is one for all windows, and the presenter view's is for the projector: the notes'
    // own window undoes it (its size and type), so it stays the size it was on the teacher's screen
    let zoom = ctx.zoom_factor().max(0.1);
    let builder = egui::ViewportBuilder::default()
        .with_title(TITLE)
        .with_inner_size([560.0 / zoom, 600.0 / zoom])
        .with_min_inner_size([320.0 / zoom, 240.0 / zoom]);
    let (cmd, keep) = ctx.show_viewport_immediate(id, builder, |ui, class| {
        let native = matches!(
            class,
            egui::ViewportClass::Immediate | egui::ViewportClass::Deferred
        );
        if native {
            // its own window has its own keys (a clicker sends them to the window in front) and
            // its own close box
            let closed = ui.ctx().input(|i| i.viewport().close_requested());
            let keyed = keys(ui.ctx(), presenting, true);
            // (and a little larger than the main window's type: it is read at a glance)
            for font in ui.style_mut().text_styles.values_mut() {
                font.size *= BODY_SCALE / zoom;
            }
            let r = egui::CentralPanel::default().show(ui, |ui| notes_ui(ui, player, 1.0 / zoom));
            let (cmd, keep) = r.inner;
            (keyed.or(cmd), keep && !closed)
        } else {
            // drawn inside the main window: its keys are the main window's already, and whoever
            // sees the main window sees the notes
            ui.label(
                RichText::new(
                    "Drawn inside the main window (no second window here): the class sees these \
                     notes if it sees this screen.",
                )
                .small()
                .color(ui.visuals().warn_fg_color),
            );
            notes_ui(ui, player, 1.0)
        }
    });
    if !keep {
        *open = false;
    }
    cmd
}

/// mm:ss (h:mm:ss from an hour).
fn clock_text(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// The notes' contents; returns the command asked and whether the window stays open.
fn notes_ui(ui: &mut Ui, player: &LessonPlayer, type_scale: f32) -> (LessonCmd, bool) {
    let mut cmd = LessonCmd::None;
    let mut keep = true;
    let (i, n) = player.position();
    let (lesson_time, step_time) = player.clocks();
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(player.title()).strong());
        ui.label(format!("step {} of {n}", i + 1));
        ui.separator();
        ui.label(RichText::new(clock_text(lesson_time)).monospace())
            .on_hover_text("Time since the lesson began (or began again)");
        ui.label(
            RichText::new(format!("this step {}", clock_text(step_time)))
                .monospace()
                .weak(),
        )
        .on_hover_text("Time since this step was shown");
    });
    ui.horizontal_wrapped(|ui| {
        if ui
            .add_enabled(i > 0, egui::Button::new("◀ Back"))
            .on_hover_text("The previous step (Left, PageUp)")
            .clicked()
        {
            cmd = LessonCmd::Previous;
        }
        let waiting = player.waiting().is_some();
        if ui
            .add_enabled(
                waiting || i + 1 < n,
                egui::Button::new(if waiting { "Skip ▶" } else { "Next ▶" }),
            )
            .on_hover_text("Go on (Space, Right, PageDown); while the step waits, skip the wait")
            .clicked()
        {
            cmd = LessonCmd::Next;
        }
        if let Some(text) = wait_text(player, false) {
            ui.label(RichText::new(text).color(super::panels::HIGHLIGHT));
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .button("Close notes")
                .on_hover_text("Close this window (N opens it again)")
                .clicked()
            {
                keep = false;
            }
        });
    });
    ui.separator();
    let step = player.step();
    ui.label(
        RichText::new(&step.title)
            .strong()
            .size(HEAD_SIZE * type_scale),
    );
    let notes = paragraphs(&step.notes);
    let next = player.next_step();
    egui::ScrollArea::vertical()
        .auto_shrink([false, true])
        .max_height(ui.available_height() - 3.0 * ui.text_style_height(&egui::TextStyle::Body))
        .show(ui, |ui| {
            if notes.is_empty() {
                ui.label(
                    RichText::new("No notes for this step: the class sees its text.")
                        .size(NOTES_SIZE * type_scale)
                        .weak(),
                );
            }
            for p in &notes {
                ui.label(RichText::new(p).size(NOTES_SIZE * type_scale));
                ui.add_space(4.0);
            }
        });
    ui.separator();
    let next = match next {
        Some(s) => format!("Next: {}", s.title),
        None => "This is the last step.".to_string(),
    };
    ui.label(
        RichText::new(next)
            .size(HEAD_SIZE * 0.8 * type_scale)
            .weak(),
    );
    (cmd, keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_read_as_minutes_and_seconds() {
        assert_eq!(clock_text(Duration::from_secs(0)), "0:00");
        assert_eq!(clock_text(Duration::from_millis(65_900)), "1:05");
        assert_eq!(clock_text(Duration::from_secs(3600 + 62)), "1:01:02");
    }
}
