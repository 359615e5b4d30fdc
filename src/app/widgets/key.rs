//! A plot's key as rows above it, for plots whose marks are more than lines (points, hollow points,
//! diamonds, vertical lines): the presenter view puts it there so that no legend box covers the data,
//! in body type (read from the back of a room), wrapping onto a second row rather than shrinking.
//! The metric plots' own strip (`plots::legend_strip`) draws line styles only.

use eframe::egui::{self, Color32, Sense, Stroke, Ui, pos2, vec2};

/// How an entry's mark is drawn: as the plot draws it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mark {
    /// A line through a filled point (a mean line and its runs' points).
    LineAndPoint,
    /// A hollow point.
    Hollow,
    /// A filled diamond.
    Diamond,
    /// A vertical line, solid or dashed.
    VLine { dashed: bool },
    /// A horizontal line over a shaded band, solid or dashed (a line across the whole plot and the
    /// range its runs span).
    HLineBand { dashed: bool },
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
        Mark::Diamond => {
            let d = 1.3 * r;
            painter.add(egui::Shape::convex_polygon(
                vec![
                    pos2(c.x, c.y - d),
                    pos2(c.x + d, c.y),
                    pos2(c.x, c.y + d),
                    pos2(c.x - d, c.y),
                ],
                e.color,
                Stroke::NONE,
            ));
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
