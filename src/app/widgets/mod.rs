//! What the labs' views share: the metric plot kit (linked step axes, log axes, markers, overlays),
//! form widgets (sections, rows, preset picker, number fields), colour scales, and the custom-painted
//! neuron-ordering graph and heatmaps.
//!
//! The graph and heatmaps draw in O(cells) per frame with no per-frame allocation beyond one mesh and a
//! few labels; what only changes with the data (layout, labels) is kept in their state between frames.

pub mod form;
pub mod graph;
pub mod heatmap;
pub mod key;
pub mod layout;
pub mod plots;

use crate::store::ordering_layout::{self, Rgb};
use eframe::egui::{Color32, Key, Modifiers, Ui};

/// An engine colour as egui's.
pub const fn color(c: Rgb) -> Color32 {
    Color32::from_rgb(c[0], c[1], c[2])
}

/// Positive weights: blue ([`ordering_layout::POSITIVE`]).
pub const POSITIVE: Color32 = color(ordering_layout::POSITIVE);
/// Negative weights: red ([`ordering_layout::NEGATIVE`]).
pub const NEGATIVE: Color32 = color(ordering_layout::NEGATIVE);
/// A weight of zero on the dark background.
const NEUTRAL_RGB: Rgb = [40, 40, 44];

/// `a` blended towards `b` by `t` in [0, 1].
pub(crate) fn lerp_color(a: Color32, b: Color32, t: f32) -> Color32 {
    let t = t.clamp(0.0, 1.0);
    let mix = |x: u8, y: u8| (f32::from(x) + (f32::from(y) - f32::from(x)) * t).round() as u8;
    Color32::from_rgb(mix(a.r(), b.r()), mix(a.g(), b.g()), mix(a.b(), b.b()))
}

/// A diverging scale for `t` in [-1, 1]: red below zero, blue above, dark at zero (the engine's
/// [`ordering_layout::diverging`] on the window's background). Not finite: grey.
pub fn diverging(t: f64) -> Color32 {
    color(ordering_layout::diverging(t, NEUTRAL_RGB))
}

/// A sequential scale for `t` in [0, 1], dark to bright (the engine's
/// [`ordering_layout::sequential`], viridis, which the exported figures draw too). Not finite: grey.
pub fn sequential(t: f64) -> Color32 {
    color(ordering_layout::sequential(t))
}

/// Black or white, whichever reads on `bg`.
pub fn text_on(bg: Color32) -> Color32 {
    let lum = 0.299 * f32::from(bg.r()) + 0.587 * f32::from(bg.g()) + 0.114 * f32::from(bg.b());
    if lum > 140.0 {
        Color32::BLACK
    } else {
        Color32::WHITE
    }
}

/// A key that moves a lab's step cursor (the Grokking views', the Ordering layer's).
pub enum StepKey {
    None,
    Back,
    On,
    Latest,
}

/// ← and → step through the snapshots, End follows the latest; with Shift too, for while a lesson
/// plays (its keys are taken first: plain ← and → move through the lesson). Not while typing.
pub fn step_keys(ui: &Ui) -> StepKey {
    if ui.ctx().egui_wants_keyboard_input() {
        return StepKey::None;
    }
    ui.input_mut(|i| {
        // no modifier asked: egui matches the key with Shift held too
        let mut press = |k: Key| i.consume_key(Modifiers::NONE, k);
        if press(Key::ArrowLeft) {
            StepKey::Back
        } else if press(Key::ArrowRight) {
            StepKey::On
        } else if press(Key::End) {
            StepKey::Latest
        } else {
            StepKey::None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_reach_their_end_colours() {
        assert_eq!(diverging(0.0), color(NEUTRAL_RGB));
        assert_eq!(diverging(1.0), POSITIVE);
        assert_eq!(diverging(-3.0), NEGATIVE);
        assert_eq!(diverging(f64::NAN), Color32::GRAY);
        let stop = |i: usize| color(ordering_layout::SEQUENTIAL[i]);
        assert_eq!(sequential(0.0), stop(0));
        assert_eq!(sequential(1.0), stop(4));
        // half way: the middle stop
        assert_eq!(sequential(0.5), stop(2));
        assert_eq!(sequential(f64::NAN), Color32::GRAY);
        assert_eq!(text_on(stop(4)), Color32::BLACK);
        assert_eq!(text_on(stop(0)), Color32::WHITE);
    }
}
