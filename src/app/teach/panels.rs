//! Which of a lab's named panels show, which one a lesson highlights, and where each was drawn in
//! the last frame (so the shell can draw the highlight over it). Kept in each lab's
//! [`crate::app::link::LabLink`]; the labs consult it while drawing.

use eframe::egui::{self, Color32, Rect};
use std::collections::BTreeSet;

/// The panels of one lab as a lesson or a scene left them.
#[derive(Clone, Debug, Default)]
pub struct PanelState {
    /// Keys of the panels hidden (everything else shows).
    hidden: BTreeSet<String>,
    /// The panel drawn attention to, if any.
    highlight: Option<String>,
    /// Where each panel was drawn in the last frame (key, rect), in drawing order.
    rects: Vec<(&'static str, Rect)>,
}

impl PanelState {
    /// Whether panel `key` shows.
    pub fn shown(&self, key: &str) -> bool {
        !self.hidden.contains(key)
    }

    /// Show or hide panel `key`.
    pub fn set_shown(&mut self, key: &str, shown: bool) {
        if shown {
            self.hidden.remove(key);
        } else {
            self.hidden.insert(key.to_string());
        }
    }

    /// The keys hidden, sorted.
    pub fn hidden(&self) -> Vec<String> {
        self.hidden.iter().cloned().collect()
    }

    /// Show every panel and drop the highlight.
    pub fn show_all(&mut self) {
        self.hidden.clear();
        self.highlight = None;
    }

    pub fn highlight(&self) -> Option<&str> {
        self.highlight.as_deref()
    }

    pub fn set_highlight(&mut self, key: Option<&str>) {
        self.highlight = key.map(str::to_string);
    }

    /// Record where panel `key` was drawn this frame.
    pub fn drawn(&mut self, key: &'static str, rect: Rect) {
        self.rects.retain(|(k, _)| *k != key);
        self.rects.push((key, rect));
    }

    /// Where panel `key` was drawn last, if it was.
    pub fn rect(&self, key: &str) -> Option<Rect> {
        self.rects.iter().find(|(k, _)| *k == key).map(|(_, r)| *r)
    }

    /// Forget last frame's rects (before a frame draws them again).
    pub fn new_frame(&mut self) {
        self.rects.clear();
    }
}

/// The highlight's colour: Okabe–Ito orange, seen by every kind of colour vision.
pub const HIGHLIGHT: Color32 = Color32::from_rgb(230, 159, 0);

/// Draw the highlight of `state` (a thick frame around the panel and a dimmed rest) over the panels,
/// under the windows (the Lessons window, Export figure) and popups: a window opened during a
/// highlighted step was dimmed and framed over (a helper's teaching audit).
pub fn paint_highlight(ctx: &egui::Context, state: &PanelState) {
    let Some(rect) = state.highlight().and_then(|k| state.rect(k)) else {
        return;
    };
    // a background layer that is no area's: egui paints it after the background areas (the panels)
    // and before the windows' order
    let layer = egui::LayerId::new(
        egui::Order::Background,
        egui::Id::unique("lesson_highlight"),
    );
    let painter = ctx.layer_painter(layer);
    let screen = ctx.content_rect();
    let dim = Color32::from_black_alpha(90);
    // four bands around the panel darken the rest of the window
    for band in [
        Rect::from_min_max(screen.min, egui::pos2(screen.max.x, rect.min.y)),
        Rect::from_min_max(egui::pos2(screen.min.x, rect.max.y), screen.max),
        Rect::from_min_max(
            egui::pos2(screen.min.x, rect.min.y),
            egui::pos2(rect.min.x, rect.max.y),
        ),
        Rect::from_min_max(
            egui::pos2(rect.max.x, rect.min.y),
            egui::pos2(screen.max.x, rect.max.y),
        ),
    ] {
        if band.is_positive() {
            painter.rect_filled(band, 0.0, dim);
        }
    }
    // around the panel, not over its edge (axis labels sit there), kept on screen
    let frame = rect.expand(4.0).intersect(screen);
    painter.rect_stroke(
        frame,
        6.0,
        egui::Stroke::new(4.0, HIGHLIGHT),
        egui::StrokeKind::Inside,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_shows_and_places() {
        let mut s = PanelState::default();
        assert!(s.shown("plots"));
        s.set_shown("plots", false);
        s.set_shown("runs", false);
        assert!(!s.shown("plots"));
        assert_eq!(s.hidden(), ["plots", "runs"]);
        s.set_shown("plots", true);
        assert_eq!(s.hidden(), ["runs"]);
        let r = Rect::from_min_size(egui::pos2(1.0, 2.0), egui::vec2(3.0, 4.0));
        s.drawn("plots", r);
        s.drawn("plots", r.translate(egui::vec2(1.0, 0.0)));
        assert_eq!(s.rect("plots"), Some(r.translate(egui::vec2(1.0, 0.0))));
        s.new_frame();
        assert_eq!(s.rect("plots"), None);
        s.set_highlight(Some("runs"));
        s.show_all();
        assert!(s.shown("runs") && s.highlight().is_none());
    }
}
