//! How the Ordering lab lays out a layer snapshot: the order the neurons are drawn in, which edges are
//! drawn, the arcs' geometry and the weights' colour scale. The window's widgets
//! (`app/widgets/graph.rs`, `app/widgets/heatmap.rs`) and the exported figures
//! (`export/layer.rs`) both call these, so a figure shows what the window shows.
//!
//! Orders here are the heatmap's (receivers first, as the spec's formula reads them); the graph draws
//! the reverse, so that information flows left to right.

use super::ordering::receivers_first;
use crate::protocol::LayerSnapshot;

/// An sRGB colour.
pub type Rgb = [u8; 3];

/// Positive weights: blue.
pub const POSITIVE: Rgb = [90, 150, 255];
/// Negative weights: red.
pub const NEGATIVE: Rgb = [240, 85, 70];
/// A value that is not finite.
pub const NOT_FINITE: Rgb = [160, 160, 160];
/// Inputs in the graph.
pub const INPUT_FILL: Rgb = [110, 110, 110];
/// Outputs in the graph.
pub const OUTPUT_FILL: Rgb = [225, 170, 50];

/// Most edges drawn: beyond, only the strongest are (a layer of 65 neurons has 4355 weights, and
/// thousands of overlapping arcs cost far more to draw than they show).
pub const MAX_EDGES: usize = 600;

/// Steps of a colour bar, top (high end) to bottom.
pub const BAR_STEPS: usize = 48;

/// Whether pruning holds entry `e` of W at zero. A run saved before Triu-damp marked only the weights
/// it zeroed also marks damped ones, which keep a value: a marked entry that is not zero is not pruned.
pub fn is_pruned(s: &LayerSnapshot, e: usize) -> bool {
    s.pruned.get(e).copied().unwrap_or(false) && s.weights[e] == 0.0
}

/// Whether entry `e` of W carries a weight: finite, not zero, not pruned.
pub fn alive(s: &LayerSnapshot, e: usize) -> bool {
    let w = s.weights[e];
    w != 0.0 && w.is_finite() && !is_pruned(s, e)
}

/// The neurons in the heatmap's order (receivers before their senders), whichever way round the
/// snapshot lists its order ([`receivers_first`]). With `outputs_last`, the outputs come first here,
/// which is last along the flow; the others keep their order.
pub fn heat_order(s: &LayerSnapshot, outputs_last: bool) -> Vec<usize> {
    let mut order: Vec<usize> = if receivers_first(s) {
        s.order.clone()
    } else {
        s.order.iter().rev().copied().collect()
    };
    if outputs_last {
        let (mut first, rest): (Vec<usize>, Vec<usize>) =
            order.iter().partition(|&&i| i < s.outputs);
        first.extend(rest);
        order = first;
    }
    order
}

/// Each neuron's slot along the graph's line (0 = leftmost neuron): the reverse of the heatmap's
/// order. `heat_order` must be a permutation of `0..n`.
pub fn flow_slots(heat_order: &[usize]) -> Vec<f32> {
    let n = heat_order.len();
    let mut slots = vec![0.0; n];
    for (p, &i) in heat_order.iter().enumerate() {
        slots[i] = (n - 1 - p) as f32;
    }
    slots
}

/// Names of the neurons, then of the inputs: outputs `o0..`, hidden `h0..`, inputs `x0..`.
pub fn node_names(s: &LayerSnapshot) -> Vec<String> {
    let n = s.hidden + s.outputs;
    (0..n + s.inputs)
        .map(|i| match i {
            i if i < s.outputs => format!("o{i}"),
            i if i < n => format!("h{}", i - s.outputs),
            i => format!("x{}", i - n),
        })
        .collect()
}

/// Which of a snapshot's live edges are drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EdgeChoice {
    /// Edges with |w| below this are left out (0: all are drawn).
    pub min_drawn: f32,
    /// Live edges ([`alive`]).
    pub live: usize,
    /// Live edges with |w| >= `min_drawn`: [`MAX_EDGES`] at most, unless weights tie at the cut.
    pub drawn: usize,
}

/// The strongest [`MAX_EDGES`] live edges of `s`. `scratch` is reused between calls.
pub fn choose_edges(s: &LayerSnapshot, scratch: &mut Vec<f32>) -> EdgeChoice {
    scratch.clear();
    scratch.extend(
        (0..s.weights.len())
            .filter(|&e| alive(s, e))
            .map(|e| s.weights[e].abs()),
    );
    let live = scratch.len();
    let mut min_drawn = 0.0;
    if live > MAX_EDGES {
        // the MAX_EDGES-th largest
        let (_, nth, _) = scratch.select_nth_unstable_by(MAX_EDGES - 1, |a, b| b.total_cmp(a));
        min_drawn = *nth;
    }
    let drawn = scratch.iter().filter(|&&a| a >= min_drawn).count();
    EdgeChoice {
        min_drawn,
        live,
        drawn,
    }
}

/// The largest |w| of a live edge (at least the smallest positive `f32`, so it can divide).
pub fn max_live_abs(s: &LayerSnapshot) -> f32 {
    (0..s.weights.len())
        .filter(|&e| alive(s, e))
        .fold(0.0f32, |m, e| m.max(s.weights[e].abs()))
        .max(f32::MIN_POSITIVE)
}

/// An edge's stroke width (in the window's points) for `rel` = |w| / the largest |w|, in [0, 1].
pub fn edge_width(rel: f32) -> f32 {
    0.5 + 4.0 * rel
}

/// A forward arc's opacity: weak ones recede, so the backward ones stand out.
pub fn forward_alpha(rel: f32) -> f32 {
    0.35 + 0.5 * rel
}

/// A self-loop's radius, for a node of radius `node_r`.
pub fn self_loop_radius(rel: f32, node_r: f32) -> f32 {
    (0.55 + 0.35 * rel) * node_r
}

/// The arc of an edge from a sender at `sx` to a receiver at `rx`, both on the line `y0` (y grows
/// downward): the quadratic Bézier's start, control point and end, and whether it goes backward
/// (sender right of receiver). Forward arcs rise at most `up` above the line, backward ones drop at
/// most `down` below it, in proportion to (their length / `span_max`)^0.7.
pub fn arc_points(
    sx: f32,
    rx: f32,
    y0: f32,
    up: f32,
    down: f32,
    span_max: f32,
) -> ([[f32; 2]; 3], bool) {
    let backward = sx > rx;
    let dx = (rx - sx).abs();
    // a quadratic arc peaks at half its control point's height
    let reach = if backward { down } else { -up };
    let ctrl_y = y0 + 2.0 * reach * (dx / span_max.max(f32::MIN_POSITIVE)).powf(0.7).min(1.0);
    ([[sx, y0], [(sx + rx) / 2.0, ctrl_y], [rx, y0]], backward)
}

/// Share of the square block's weight that flows backward when the neurons are drawn in
/// `heat_order` (equal to 1 - D when that is the best order). 0 when the block holds no weight.
pub fn backward_share(s: &LayerSnapshot, heat_order: &[usize]) -> f64 {
    let n = s.hidden + s.outputs;
    let cols = n + s.inputs;
    let a: Vec<f64> = (0..n * n)
        .map(|k| f64::from(s.weights[(k / n) * cols + k % n]).abs())
        .collect();
    let total: f64 = a.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    // flow order = the heatmap's order reversed
    let flow: Vec<usize> = heat_order.iter().rev().copied().collect();
    crate::analysis::orderedness::backward_weight(&a, n, &flow) / total
}

/// The heatmap of W permuted by `heat_order` (rows: receivers; columns: the same neurons, then the
/// inputs in their own order): the neuron or input behind column `c`.
pub fn heat_sender(heat_order: &[usize], c: usize) -> usize {
    heat_order.get(c).copied().unwrap_or(c)
}

/// The value of heatmap cell (`r`, `c`): the weight, or `None` where pruning holds it at zero.
pub fn heat_value(s: &LayerSnapshot, heat_order: &[usize], r: usize, c: usize) -> Option<f64> {
    let cols = s.hidden + s.outputs + s.inputs;
    let e = heat_order[r] * cols + heat_sender(heat_order, c);
    (!is_pruned(s, e)).then(|| f64::from(s.weights[e]))
}

/// The heatmap's colour-scale end: the largest finite |w| of the snapshot.
pub fn heat_max_abs(s: &LayerSnapshot) -> f64 {
    f64::from(
        s.weights
            .iter()
            .filter(|w| w.is_finite())
            .fold(0.0f32, |m, w| m.max(w.abs())),
    )
}

/// `a` blended towards `b` by `t` in [0, 1].
pub fn lerp_rgb(a: Rgb, b: Rgb, t: f32) -> Rgb {
    let t = t.clamp(0.0, 1.0);
    let mix = |x: u8, y: u8| (f32::from(x) + (f32::from(y) - f32::from(x)) * t).round() as u8;
    [mix(a[0], b[0]), mix(a[1], b[1]), mix(a[2], b[2])]
}

/// A diverging scale for `t` in [-1, 1]: [`NEGATIVE`] below zero, [`POSITIVE`] above, `neutral` at
/// zero (the window's dark background, a paper's white), on a square-root ramp so that small weights
/// are not lost. Not finite: [`NOT_FINITE`].
pub fn diverging(t: f64, neutral: Rgb) -> Rgb {
    if !t.is_finite() {
        return NOT_FINITE;
    }
    let mag = (t.abs().min(1.0) as f32).sqrt();
    lerp_rgb(neutral, if t < 0.0 { NEGATIVE } else { POSITIVE }, mag)
}

/// Stops of the sequential scale, dark to bright, at 0, 1/4, 1/2, 3/4 and 1: viridis (van der Walt
/// and Smith's map for matplotlib), perceptually uniform, rising in lightness throughout (so it reads
/// in grey) and told apart by colour-blind readers.
pub const SEQUENTIAL: [Rgb; 5] = [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
];

/// The sequential scale for `t` in [0, 1], the window's and the exported figures' alike (the grid
/// study's mean D, the shares of the insight heatmaps): the export drew ColorBrewer's Blues, the
/// window viridis. Not finite: [`NOT_FINITE`].
pub fn sequential(t: f64) -> Rgb {
    if !t.is_finite() {
        return NOT_FINITE;
    }
    let x = t.clamp(0.0, 1.0) * (SEQUENTIAL.len() - 1) as f64;
    let i = (x.floor() as usize).min(SEQUENTIAL.len() - 2);
    lerp_rgb(SEQUENTIAL[i], SEQUENTIAL[i + 1], (x - i as f64) as f32)
}

/// `v` on the sequential scale from `lo` to `hi` (the middle where they are equal).
pub fn sequential_value(v: f64, lo: f64, hi: f64) -> Rgb {
    let span = hi - lo;
    sequential(if span > 0.0 { (v - lo) / span } else { 0.5 })
}

/// `v` on a diverging scale from -`max_abs` to +`max_abs`.
pub fn diverging_value(v: f64, max_abs: f64, neutral: Rgb) -> Rgb {
    diverging(v / max_abs.max(f64::MIN_POSITIVE), neutral)
}

/// The value at the middle of colour-bar step `i` of [`BAR_STEPS`], from `hi` (top) to `lo`.
pub fn bar_step_value(lo: f64, hi: f64, i: usize) -> f64 {
    hi - (hi - lo) * (i as f64 + 0.5) / BAR_STEPS as f64
}

/// A colour bar's label: "0", whole numbers from 100 on, else two decimals.
pub fn bar_label(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::OrderMethod;

    /// Three neurons (o0, h0, h1), one input x0. W is 3 x 4 (receivers x [neurons, input]):
    /// x0 -> h1 (1.0), h1 -> h0 (-2.0), h0 -> o0 (1.5), and a weak back edge o0 -> h1 (0.1).
    fn three(order: [usize; 3]) -> LayerSnapshot {
        let mut weights = vec![0.0f32; 12];
        weights[2 * 4 + 3] = 1.0;
        weights[4 + 2] = -2.0;
        weights[1] = 1.5;
        weights[2 * 4] = 0.1;
        LayerSnapshot {
            step: 1,
            epoch: 1,
            inputs: 1,
            hidden: 2,
            outputs: 1,
            pruned: vec![false; 12],
            weights,
            order: order.to_vec(),
            d: 0.9,
            method: OrderMethod::Exact,
            sparsity: 0.5,
        }
    }

    #[test]
    fn the_heat_order_is_receivers_first_either_way_round() {
        // flow 2 -> 1 -> 0: receivers first is [0, 1, 2]; given either way, the lighter triangle
        // (the 0.1 edge) ends up below the diagonal
        assert_eq!(heat_order(&three([0, 1, 2]), false), [0, 1, 2]);
        assert_eq!(heat_order(&three([2, 1, 0]), false), [0, 1, 2]);
        // slots are the reverse: neuron 2 leftmost (slot 0), the output rightmost (slot 2)
        assert_eq!(flow_slots(&[0, 1, 2]), [2.0, 1.0, 0.0]);
        assert_eq!(flow_slots(&[1, 0, 2]), [1.0, 2.0, 0.0]);
        assert_eq!(node_names(&three([0, 1, 2])), ["o0", "h0", "h1", "x0"]);
    }

    #[test]
    fn outputs_last_moves_only_the_outputs() {
        // best order (receivers first) [1, 0, 2] puts the output second; outputs last: [0, 1, 2]
        let mut s = three([1, 0, 2]);
        // make [1, 0, 2] the receivers-first reading: lower mass <= upper mass under it
        s.weights = vec![0.0; 12];
        s.weights[4] = 1.0; // h0 <- o0: row 1, col 0; in order [1,0,2] row pos 0, col pos 1: upper
        assert_eq!(heat_order(&s, false), [1, 0, 2]);
        assert_eq!(heat_order(&s, true), [0, 1, 2]);
    }

    #[test]
    fn backward_share_by_hand() {
        let s = three([0, 1, 2]);
        // block weight 1.5 + 2 + 0.1 = 3.6 (the input's 1.0 is outside the square block); in the best
        // order only the 0.1 runs backward
        assert!((backward_share(&s, &[0, 1, 2]) - 0.1 / 3.6).abs() < 1e-9);
        // reversed: 1.5 and 2 run backward, 0.1 forward
        assert!((backward_share(&s, &[2, 1, 0]) - 3.5 / 3.6).abs() < 1e-9);
    }

    #[test]
    fn the_strongest_edges_are_chosen() {
        let s = three([0, 1, 2]);
        let mut scratch = vec![];
        // 4 live edges, all drawn
        assert_eq!(
            choose_edges(&s, &mut scratch),
            EdgeChoice {
                min_drawn: 0.0,
                live: 4,
                drawn: 4
            }
        );
        assert_eq!(max_live_abs(&s), 2.0);
        // a pruned edge (held at zero) is not live
        let mut p = s.clone();
        p.pruned[8] = true;
        p.weights[8] = 0.0;
        assert_eq!(choose_edges(&p, &mut scratch).live, 3);
        // marked but not zero (a damped weight of a run saved before damping marked nothing): live
        let mut p = s.clone();
        p.pruned[8] = true;
        assert_eq!(choose_edges(&p, &mut scratch).live, 4);
    }

    #[test]
    fn arcs_by_hand() {
        // forward: sender at 0, receiver at 100 on y0 = 50, the longest span: the control point is
        // 2 * up above the line (the arc peaks at up)
        let (p, back) = arc_points(0.0, 100.0, 50.0, 20.0, 30.0, 100.0);
        assert!(!back);
        assert_eq!(p, [[0.0, 50.0], [50.0, 10.0], [100.0, 50.0]]);
        // backward, half the span: 2 * 30 * 0.5^0.7 below the line
        let (q, back) = arc_points(100.0, 50.0, 50.0, 20.0, 30.0, 100.0);
        assert!(back);
        let want = 50.0 + 60.0 * 0.5f32.powf(0.7);
        assert!((q[1][1] - want).abs() < 1e-4, "{q:?}");
        assert_eq!(q[1][0], 75.0);
        assert_eq!(edge_width(1.0), 4.5);
        assert_eq!(forward_alpha(0.0), 0.35);
    }

    #[test]
    fn the_permuted_heatmap_by_hand() {
        let s = three([0, 1, 2]);
        let order = heat_order(&s, false);
        // row 0 = o0: its sender h0 (column 1) with 1.5; row 2 = h1: the input (column 3) with 1.0
        assert_eq!(heat_value(&s, &order, 0, 1), Some(1.5));
        assert_eq!(heat_value(&s, &order, 2, 3), Some(1.0));
        assert_eq!(heat_value(&s, &order, 1, 2), Some(-2.0));
        assert_eq!(heat_sender(&order, 3), 3);
        assert_eq!(heat_max_abs(&s), 2.0);
        let mut p = s.clone();
        p.pruned[1] = true;
        // a marked weight that still has a value (damped, an older run) is drawn with it
        assert_eq!(heat_value(&p, &order, 0, 1), Some(1.5));
        p.weights[1] = 0.0;
        assert_eq!(heat_value(&p, &order, 0, 1), None);
    }

    #[test]
    fn the_colour_scale_by_hand() {
        let white = [255, 255, 255];
        assert_eq!(diverging(0.0, white), white);
        assert_eq!(diverging(1.0, white), POSITIVE);
        assert_eq!(diverging(-3.0, white), NEGATIVE);
        assert_eq!(diverging(f64::NAN, white), NOT_FINITE);
        // |t| = 0.25: sqrt = 0.5, half way from white to blue: 255 + (90 - 255) / 2 = 172.5 -> 173
        assert_eq!(diverging(0.25, white), [173, 203, 255]);
        assert_eq!(diverging_value(-2.0, 2.0, white), NEGATIVE);
        // the bar's first step is just below the top: hi - (hi - lo) * 0.5 / 48
        assert!((bar_step_value(-1.0, 1.0, 0) - (1.0 - 1.0 / 48.0)).abs() < 1e-12);
        assert_eq!(bar_label(0.0), "0");
        assert_eq!(bar_label(-2.154), "-2.15");
        assert_eq!(bar_label(123.4), "123");
    }
}
