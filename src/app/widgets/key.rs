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
    let font = style.resolve(ui.style());
    let size = font.size;
    let text_color = ui.visuals().text_color();
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 1.2 * size;
        for e in entries {
            let galley = ui
                .painter()
                .layout_no_wrap(e.name.clone(), font.clone(), text_color);
            let mark = vec2(2.0 * size, galley.size().y);
            let gap = 0.5 * size;
            let (rect, response) = ui
                .allocate_exact_size(vec2(mark.x + gap + galley.size().x, mark.y), Sense::hover());
            response
                .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, e.name.clone()));
            let mark_rect = egui::Rect::from_min_size(rect.min, mark);
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
    }
}
