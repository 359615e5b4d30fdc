//! Form widgets every lab's config panel uses: sections, labelled rows with their problems, the
//! preset picker, the "live" badge, number fields and number formats.

use crate::app::actions::Action;
use crate::config::FieldProblem;
use eframe::egui::{self, Color32, DragValue, Response, RichText, Ui};

/// Colour of validation problems.
pub fn error_color(ui: &Ui) -> Color32 {
    ui.visuals().error_fg_color
}

pub fn section(ui: &mut Ui, title: &str, add: impl FnOnce(&mut Ui)) {
    egui::CollapsingHeader::new(RichText::new(title).strong())
        .default_open(true)
        .show(ui, |ui| {
            egui::Grid::new(title)
                .num_columns(2)
                .spacing([10.0, 4.0])
                .show(ui, add);
        });
}

/// A preset combo box over `(title, description)` items, `selected` shown with its description;
/// `edited` marks that the settings have left the preset.
pub fn preset_picker_ui(
    ui: &mut Ui,
    id: &str,
    items: &[(&str, &str)],
    selected: usize,
    edited: bool,
) -> Action {
    let mut action = Action::None;
    let current = items.get(selected);
    ui.horizontal(|ui| {
        let label = ui.label("Preset");
        let title = current.map_or("custom", |p| p.0);
        // a long title is cut short ("…", whole in the hover) rather than widening the panel past
        // what its description wraps to
        let combo = egui::ComboBox::from_id_salt(id)
            .selected_text(title)
            .width(200.0)
            .truncate()
            .show_ui(ui, |ui| {
                for (i, (title, description)) in items.iter().enumerate() {
                    if ui
                        .selectable_label(i == selected, *title)
                        .on_hover_text(*description)
                        .clicked()
                    {
                        action = Action::SelectPreset(i);
                    }
                }
            });
        combo.response.labelled_by(label.id).on_hover_text(title);
        if edited {
            ui.label(RichText::new("edited").small().weak())
                .on_hover_text(
                    "The settings differ from the preset; choose it again to restore them.",
                );
        }
    });
    // While a lesson plays its text tells the story: a preset's description would give away what
    // the room is asked to predict ("memorises by epoch ~110, groks at ~310" beside the lesson's
    // "will the validation curve rise?": a helper's lesson audit)
    let lesson = crate::app::teach::presenter::Look::of(ui.ctx()).lesson;
    if let Some((_, description)) = current.filter(|_| !lesson) {
        ui.label(RichText::new(*description).small());
    }
    action
}

/// A labelled row: label, widget, and a warning sign when `field` has a problem.
pub fn row(
    ui: &mut Ui,
    label: &str,
    field: &str,
    problems: &[FieldProblem],
    add: impl FnOnce(&mut Ui) -> Response,
) -> Response {
    let label_resp = ui.label(label);
    let r = ui
        .horizontal(|ui| {
            let r = add(ui).labelled_by(label_resp.id);
            for p in problems.iter().filter(|p| p.field == field) {
                ui.label(RichText::new("!").strong().color(error_color(ui)))
                    .on_hover_text(&p.message);
            }
            r
        })
        .inner;
    ui.end_row();
    r
}

/// The line under a lab's preset that says what may change: present whether or not a run is active,
/// so that the form below never moves under the pointer when a run starts (a helper's audit: a click
/// meant for weight decay, 13 points lower a frame after Start, set the learning rate).
pub fn run_state_line(ui: &mut Ui, run_active: bool) {
    let text = if run_active {
        "A run is active: only settings marked live can change."
    } else {
        "Settings marked live can also change while a run trains."
    };
    ui.label(RichText::new(text).small().italics());
}

pub fn live_badge(ui: &mut Ui) {
    let color = ui.visuals().selection.bg_fill;
    ui.label(RichText::new("live").small().strong().color(color))
        .on_hover_text("Can change while a run trains: takes effect at the next step and is marked on the plots.");
}

/// A float field for values spanning decades: shown as `1e-3`, typed as any float.
pub fn sci_value(value: &mut f64) -> DragValue<'_> {
    let speed = value.abs().max(1e-9) * 0.02;
    DragValue::new(value)
        .speed(speed)
        .custom_formatter(|v, _| format_sci(v))
        .custom_parser(|s| s.trim().parse::<f64>().ok())
        .update_while_editing(false)
}

/// `0.001` -> `1e-3`, `0.0015` -> `1.5e-3`, `1` -> `1`, `0.98` -> `0.98`.
pub fn format_sci(v: f64) -> String {
    if v != 0.0 && v.is_finite() && (v.abs() < 0.01 || v.abs() >= 1e4) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// `1234567` -> `1 234 567` (thin spaces), readable at a glance.
pub fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_grouped_in_threes() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1\u{2009}000");
        assert_eq!(group_digits(1_234_567), "1\u{2009}234\u{2009}567");
    }

    #[test]
    fn scientific_only_for_small_or_large_values() {
        assert_eq!(format_sci(0.001), "1e-3");
        assert_eq!(format_sci(0.0015), "1.5e-3");
        assert_eq!(format_sci(1.0), "1");
        assert_eq!(format_sci(0.98), "0.98");
        assert_eq!(format_sci(0.0), "0");
    }
}
