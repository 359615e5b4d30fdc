//! A plot's key above it, so that no legend box covers the data: rows of entries (points, hollow
//! points, diamonds, vertical lines, bands), wrapping onto a second row rather than shrinking
//! ([`key_rows`], [`key_rows_toggling`]), or one strip of a set height whose type shrinks to fit
//! ([`key_strip`], the metric plots' legends in the presenter view, laid out before their plots).
//! Every key's marks are drawn here.

use eframe::egui::{self, Color32, Sense, Stroke, Ui, pos2, vec2};
use egui_plot::LineStyle;

/// How an entry's mark is drawn: as the plot draws it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mark {
    /// A line through a filled point (a mean line and its runs' points).
    LineAndPoint,
    /// A hollow point.
    Hollow,
    /// A filled diamond.
    Diamond,
    /// A hollow diamond.
    HollowDiamond,
    /// A vertical line, solid or dashed.
    VLine { dashed: bool },
    /// A horizontal line in a plot's line style (solid, dashed or dotted).
    Line(LineStyle),
    /// A horizontal line over a shaded band, solid or dashed (a line across the whole plot and the
    /// range its runs span).
    HLineBand { dashed: bool },
    /// A filled square: a colour a cell or area is painted in (the phase diagram's classes).
    Swatch,
    /// A wide ring, drawn around another point's mark (a run trained in the window beside results
    /// read from a folder).
    Ring,
}

/// One entry: its mark, colour and name.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyEntry {
    pub name: String,
    pub color: Color32,
    pub mark: Mark,
}

impl KeyEntry {
    pub fn new(name: impl Into<String>, color: Color32, mark: Mark) -> Self {
        KeyEntry {
            name: name.into(),
            color,
            mark,
        }
    }
}

/// The entries in rows, left to right, each a mark and its name kept together (an entry that does not
/// fit goes whole to the next row; it reads back as a label); `line` is the presenter view's
/// line-width factor.
pub fn key_rows(ui: &mut Ui, entries: &[KeyEntry], line: f32) {
    let style = crate::app::widgets::plots::legend_text_style(ui.ctx());
    rows(ui, entries, line, &style, None);
}

/// [`key_rows`] in body type, for a key that is read on its own rather than beside a plot's lines
/// (the phase diagram's classes).
pub fn key_rows_body(ui: &mut Ui, entries: &[KeyEntry], line: f32) {
    rows(ui, entries, line, &egui::TextStyle::Body, None);
}

/// [`key_rows`] whose entries are buttons: a click shows or hides that entry's marks in the plot
/// (its name is added to or taken from `hidden`), as a plot legend's entries do; a hidden entry is
/// drawn faded. In body type: the row is above the plot, not over it, so it need not be small.
pub fn key_rows_toggling(
    ui: &mut Ui,
    entries: &[KeyEntry],
    line: f32,
    hidden: &mut std::collections::BTreeSet<String>,
) {
    rows(ui, entries, line, &egui::TextStyle::Body, Some(hidden));
}

fn rows(
    ui: &mut Ui,
    entries: &[KeyEntry],
    line: f32,
    style: &egui::TextStyle,
    mut hidden: Option<&mut std::collections::BTreeSet<String>>,
) {
    let font = style.resolve(ui.style());
    let size = font.size;
    let text_color = ui.visuals().text_color();
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 1.2 * size;
        for e in entries {
            let galley =
                ui.painter()
                    .layout_no_wrap(e.name.clone(), font.clone(), Color32::PLACEHOLDER);
            let mark = vec2(2.0 * size, galley.size().y);
            let gap = 0.5 * size;
            let sense = if hidden.is_some() {
                Sense::click()
            } else {
                Sense::hover()
            };
            let (rect, response) =
                ui.allocate_exact_size(vec2(mark.x + gap + galley.size().x, mark.y), sense);
            let mut shown = true;
            if let Some(hidden) = hidden.as_deref_mut() {
                if response.clicked() && !hidden.remove(&e.name) {
                    hidden.insert(e.name.clone());
                }
                shown = !hidden.contains(&e.name);
                response.widget_info(|| {
                    egui::WidgetInfo::selected(egui::Role::CheckBox, true, shown, e.name.clone())
                });
                if response.hovered() {
                    ui.ctx().set_cursor_icon(egui::CursorIcon::PointingHand);
                }
                response.on_hover_text(if shown {
                    "click to hide it in the plot"
                } else {
                    "hidden: click to show it"
                });
            } else {
                response.widget_info(|| {
                    egui::WidgetInfo::labeled(egui::Role::Label, true, e.name.clone())
                });
            }
            let mark_rect = egui::Rect::from_min_size(rect.min, mark);
            let faded;
            let (e, text_color) = if shown {
                (e, text_color)
            } else {
                faded = KeyEntry {
                    color: e.color.gamma_multiply(0.3),
                    ..e.clone()
                };
                (&faded, ui.visuals().weak_text_color())
            };
            paint_mark(ui.painter(), mark_rect, e, line);
            ui.painter().galley(
                pos2(mark_rect.right() + gap, rect.top()),
                galley,
                text_color,
            );
        }
    });
}

/// The entries of a key strip in rows: each row's entries (indices) fitting `room` points at `font`
/// (an entry wider than the room alone gets a row of its own).
fn strip_rows(ui: &Ui, entries: &[KeyEntry], room: f32, font: &egui::FontId) -> Vec<Vec<usize>> {
    let text_color = ui.visuals().text_color();
    let mut rows: Vec<Vec<usize>> = vec![];
    let mut used = 0.0;
    for (i, e) in entries.iter().enumerate() {
        let w = ui
            .painter()
            .layout_no_wrap(e.name.clone(), font.clone(), text_color)
            .size()
            .x
            + 4.0 * font.size
            + 6.0;
        let new_row = match rows.last() {
            None => true,
            Some(row) => !row.is_empty() && used + w > room,
        };
        if new_row {
            rows.push(vec![]);
            used = 0.0;
        }
        rows.last_mut().expect("pushed above").push(i);
        used += w;
    }
    rows
}

/// The rows a key strip of `entries` takes at `style` in `ui` (as wide as it is, less `indent`), each
/// its entries' indices: one where they fit, more where they would be cut off (a presenter view's
/// loss plot with its restricted and excluded losses). Measured once a frame, for the strip's height
/// and then for [`key_strip`].
pub fn key_strip_rows(
    ui: &Ui,
    entries: &[KeyEntry],
    indent: f32,
    style: &egui::TextStyle,
) -> Vec<Vec<usize>> {
    let font = style.resolve(ui.style());
    strip_rows(ui, entries, ui.available_width() - indent, &font)
}

/// A legend as a strip of entries (mark and name) in `rows` of `row_height` points (from
/// [`key_strip_rows`] with the same `indent` and `style`), starting `indent` points in: the
/// presenter view's legends, above their plots.
pub fn key_strip(
    ui: &mut Ui,
    entries: &[KeyEntry],
    rows: &[Vec<usize>],
    row_height: f32,
    indent: f32,
    style: &egui::TextStyle,
    line: f32,
) {
    let font = style.resolve(ui.style());
    let width = ui.available_width();
    // (2 points above and below the rows)
    let height = row_height * rows.len().max(1) as f32 + 4.0;
    let (rect, _) = ui.allocate_exact_size(vec2(width, height), Sense::hover());
    let painter = ui.painter_at(rect);
    let text_color = ui.visuals().text_color();
    let swatch = 2.0 * font.size;
    for (r, row) in rows.iter().enumerate() {
        let mut x = rect.left() + indent;
        let y = rect.top() + 2.0 + row_height * (r as f32 + 0.5);
        for &i in row {
            let e = &entries[i];
            let galley = painter.layout_no_wrap(e.name.clone(), font.clone(), text_color);
            let mark = egui::Rect::from_center_size(
                pos2(x + swatch / 2.0, y),
                vec2(swatch, galley.size().y),
            );
            paint_mark(&painter, mark, e, line);
            x += swatch + 6.0;
            let text_h = galley.size().y;
            let text_w = galley.size().x;
            painter.galley(pos2(x, y - text_h / 2.0), galley, text_color);
            x += text_w + 2.0 * font.size;
        }
    }
}

fn paint_mark(painter: &egui::Painter, rect: egui::Rect, e: &KeyEntry, line: f32) {
    let c = rect.center();
    let r = 0.22 * rect.height();
    let stroke = Stroke::new(1.5 * line, e.color);
    match e.mark {
        Mark::LineAndPoint => {
            painter.line_segment([pos2(rect.left(), c.y), pos2(rect.right(), c.y)], stroke);
            painter.circle_filled(c, r, e.color);
        }
        Mark::Hollow => {
            painter.circle_stroke(c, 1.4 * r, stroke);
        }
        Mark::Ring => {
            painter.circle_stroke(c, 2.0 * r, stroke);
        }
        Mark::Swatch => {
            let side = 0.75 * rect.height();
            painter.rect_filled(
                egui::Rect::from_center_size(c, vec2(side, side)),
                0.15 * side,
                e.color,
            );
        }
        Mark::Diamond | Mark::HollowDiamond => {
            let d = 1.3 * r;
            let corners = vec![
                pos2(c.x, c.y - d),
                pos2(c.x + d, c.y),
                pos2(c.x, c.y + d),
                pos2(c.x - d, c.y),
            ];
            painter.add(if e.mark == Mark::Diamond {
                egui::Shape::convex_polygon(corners, e.color, Stroke::NONE)
            } else {
                egui::Shape::closed_line(corners, stroke)
            });
        }
        Mark::VLine { dashed } => {
            let (a, b) = (pos2(c.x, rect.top()), pos2(c.x, rect.bottom()));
            if dashed {
                let dash = 0.25 * rect.height();
                painter.extend(egui::Shape::dashed_line(&[a, b], stroke, dash, dash));
            } else {
                painter.line_segment([a, b], stroke);
            }
        }
        Mark::Line(style) => {
            let (a, b) = (pos2(rect.left(), c.y), pos2(rect.right(), c.y));
            match style {
                LineStyle::Solid => {
                    painter.line_segment([a, b], stroke);
                }
                LineStyle::Dashed { length } => {
                    painter.extend(egui::Shape::dashed_line(
                        &[a, b],
                        stroke,
                        length,
                        length * (std::f32::consts::GOLDEN_RATIO - 1.0),
                    ));
                }
                LineStyle::Dotted { spacing } => {
                    painter.extend(egui::Shape::dotted_line(
                        &[a, b],
                        e.color,
                        spacing,
                        0.9 * line,
                    ));
                }
            }
        }
        Mark::HLineBand { dashed } => {
            let band = egui::Rect::from_center_size(c, vec2(rect.width(), 1.6 * r * 2.0));
            painter.rect_filled(band, 0.0, e.color.gamma_multiply(0.2));
            let (a, b) = (pos2(rect.left(), c.y), pos2(rect.right(), c.y));
            if dashed {
                let dash = 0.25 * rect.height();
                painter.extend(egui::Shape::dashed_line(&[a, b], stroke, dash, dash));
            } else {
                painter.line_segment([a, b], stroke);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A strip whose entries do not fit one row goes on in a second, in the same type, instead of
    /// being set smaller and then cut off (the presenter view's loss legend, with the restricted and
    /// excluded losses, ran off the plot's right edge in small type: a helper's audit, 2026-12-06).
    /// Expected: every entry in some row, in order; one row where the room is wide enough.
    #[test]
    fn a_strip_too_long_for_one_row_wraps_in_the_same_type() {
        let ctx = egui::Context::default();
        let entries: Vec<KeyEntry> = [
            "excluded (train, final keys removed)",
            "restricted (val, final keys only)",
            "validation",
            "train (running)",
        ]
        .iter()
        .map(|n| KeyEntry::new(*n, Color32::WHITE, Mark::Swatch))
        .collect();
        let rows_in = |room: f32| {
            let mut rows = vec![];
            let mut out = ctx.run_ui(egui::RawInput::default(), |ui| {
                let font = egui::TextStyle::Body.resolve(ui.style());
                rows = strip_rows(ui, &entries, room, &font);
            });
            out.textures_delta.clear();
            rows
        };
        let narrow = rows_in(500.0);
        assert!(narrow.len() >= 2, "{narrow:?}");
        assert_eq!(narrow.concat(), vec![0, 1, 2, 3], "every entry, in order");
        assert_eq!(rows_in(5000.0), vec![vec![0, 1, 2, 3]]);
        // an entry wider than the room alone still gets a row
        assert_eq!(rows_in(10.0).len(), 4);
    }
}
