//! The side panels' widths in proportion to the window, so that the plots between them keep room on
//! a laptop or a 1280-px projector.
//!
//! The fixed widths that suit a 1600-px window (config 330, insight views 360, Runs 290) left the plots
//! about 270 px at 1280 x 800, where their legends covered most of the curves. Below [`WIDE`] the
//! panels start narrower and the Runs panel starts folded to a strip at the window's edge. Their
//! largest widths are shares of the window too, so that a width dragged out on a large screen is
//! clamped when the window gets smaller (egui clamps a panel's remembered width to its range). They
//! never go below what the panels' widest rows need (about 290 points for the config panel's and the
//! Runs panel's, measured under Xvfb), or egui would cut those rows off, as it did in the presenter
//! view, whose zoom leaves a 1280-px window 853 points wide.

use eframe::egui::{self, Ui};
use std::ops::RangeInclusive;

/// From this window width (in points) up, the panels take their full widths and the Runs panel
/// starts open.
pub const WIDE: f32 = 1500.0;

/// The width of a folded panel's strip (room for one line of text turned on its side).
pub const FOLDED: f32 = 26.0;

/// A side panel's starting width and the widths it may be dragged to.
#[derive(Clone, Debug, PartialEq)]
pub struct Side {
    pub default: f32,
    pub range: RangeInclusive<f32>,
}

/// `share` of `width`, kept within `lo..=hi`.
fn share(width: f32, share: f32, lo: f32, hi: f32) -> f32 {
    (width * share).clamp(lo, hi)
}

/// The config panel (left) in a window `width` points wide.
pub fn config(width: f32) -> Side {
    Side {
        default: share(width, 0.21, 240.0, 330.0),
        range: 240.0..=share(width, 0.3, 300.0, 520.0),
    }
}

/// The insight views' panel (right of the plots).
pub fn insight(width: f32) -> Side {
    Side {
        default: share(width, 0.27, 240.0, 360.0),
        range: 240.0..=share(width, 0.6, 240.0, 900.0),
    }
}

/// The Runs panel (at the right edge) when open.
pub fn runs(width: f32) -> Side {
    Side {
        default: share(width, 0.2, 220.0, 290.0),
        range: 220.0..=share(width, 0.3, 320.0, 480.0),
    }
}

/// Whether the Runs panel starts open (until the user folds or opens it).
pub fn runs_open_by_default(width: f32) -> bool {
    width >= WIDE
}

/// A folded panel: its title turned on its side down a narrow strip. Returns whether it was clicked
/// (to open the panel again).
pub fn folded_tab_ui(ui: &mut Ui, title: &str) -> bool {
    let rect = ui.max_rect();
    let response = ui
        .interact(rect, ui.scope_id().with("folded_tab"), egui::Sense::click())
        .on_hover_text(format!("Open the {title} panel"));
    let visuals = ui.style().interact(&response);
    if response.hovered() {
        ui.painter()
            .rect_filled(rect.expand(2.0), 2.0, visuals.weak_bg_fill);
    }
    let galley = ui.painter().layout_no_wrap(
        format!("« {title}"),
        egui::TextStyle::Button.resolve(ui.style()),
        visuals.text_color(),
    );
    // read from the top down, as a book's spine
    let pos = egui::pos2(rect.center().x + galley.size().y / 2.0, rect.top() + 8.0);
    ui.painter().add(
        egui::epaint::TextShape::new(pos, galley, visuals.text_color())
            .with_angle(std::f32::consts::FRAC_PI_2),
    );
    response.widget_info(|| {
        egui::WidgetInfo::labeled(egui::Role::Button, true, format!("Open {title}"))
    });
    response.clicked()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the plots keep between the panels at their starting widths (the panels' own margins
    /// aside).
    fn centre(width: f32) -> f32 {
        let runs = if runs_open_by_default(width) {
            runs(width).default
        } else {
            FOLDED
        };
        width - config(width).default - insight(width).default - runs
    }

    #[test]
    fn a_wide_window_keeps_the_widths_it_had() {
        // the widths the panels had before they followed the window (commit 795a1e1)
        for w in [1600.0, 1920.0, 2560.0] {
            assert_eq!(config(w).default, 330.0);
            assert_eq!(insight(w).default, 360.0);
            assert_eq!(runs(w).default, 290.0);
            assert!(runs_open_by_default(w));
        }
    }

    #[test]
    fn the_plots_keep_room_in_small_windows() {
        // with the fixed widths 1280 x 800 left the plots 300 px (1280 - 330 - 360 - 290), 270 after
        // margins; now at least 38 % of any window, and 600 px at 1280
        for w in [1024.0, 1280.0, 1366.0, 1440.0, 1600.0, 1920.0] {
            let c = centre(w);
            assert!(c >= 0.38 * w, "{w}: the plots get {c}");
        }
        assert!(centre(1280.0) >= 600.0, "{}", centre(1280.0));
    }

    #[test]
    fn defaults_lie_in_their_ranges_and_ranges_shrink_with_the_window() {
        for w in [640.0, 800.0, 1024.0, 1280.0, 1600.0, 2560.0, 4000.0] {
            for s in [config(w), insight(w), runs(w)] {
                assert!(s.range.contains(&s.default), "{w}: {s:?}");
                assert!(s.range.start() <= s.range.end());
            }
        }
        assert!(config(1280.0).range.end() < config(1920.0).range.end());
        assert!(runs(1280.0).range.end() < runs(1920.0).range.end());
        assert_eq!(*insight(4000.0).range.end(), 900.0);
    }
}
