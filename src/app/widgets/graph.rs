//! The neuron-ordering graph: inputs, then the neurons in their best order, on one line from left to
//! right, so that information flows left to right; edges are arcs coloured by sign, as wide as |w|.
//! Arcs above the line go forward (sender left of receiver); arcs below go backward, against the
//! order: their weight is what keeps D below 1, so they are drawn brighter, with a halo.
//!
//! The runner lists `order` in the direction of flow (senders first, as `analysis::orderedness`
//! does); the spec's formula reads an order from the other end (receivers first). Which way round a
//! snapshot's order runs is read off its weights ([`receivers_first`]: the lighter triangle is the
//! backward one), so either is drawn with the flow left to right. Outputs (amber) are kept where the
//! order puts them unless "outputs last" moves them to the end, as the paper draws the net: that order
//! is not always the best one, so the arcs below the line are then its own backward edges, and the
//! lab says their share beside D's.
//!
//! Between two snapshots, neurons glide to their new places (eased over [`MOVE_SECS`]) and edges
//! that became pruned fade out over [`FADE_SECS`].

use super::{NEGATIVE, POSITIVE, color};
use crate::protocol::LayerSnapshot;
use crate::store::ordering::receivers_first;
use crate::store::ordering_layout::{
    self as layout, alive, arc_points, edge_width, forward_alpha, self_loop_radius,
};
use eframe::egui::{
    self, Align2, Color32, Pos2, Response, Sense, Shape, Stroke, Ui, Vec2, epaint, pos2,
};

/// How long neurons take to move to a new order.
pub const MOVE_SECS: f64 = 0.3;
/// How long a newly pruned edge takes to fade out.
pub const FADE_SECS: f64 = 0.5;
/// Most edges drawn ([`layout::MAX_EDGES`]).
pub const MAX_EDGES: usize = layout::MAX_EDGES;

/// Largest node radius; nodes shrink (and lose their labels) when many share the width.
const NODE_R: f32 = 9.0;
/// Node spacing below which names are left to the hover read-out.
const LABEL_SPACING: f32 = 16.0;
/// A light glow under backward arcs (neutral, so their sign still reads).
const HALO: Color32 = Color32::from_rgba_premultiplied(60, 60, 60, 60);
/// Inputs and outputs.
pub const INPUT_FILL: Color32 = color(layout::INPUT_FILL);
pub const OUTPUT_FILL: Color32 = color(layout::OUTPUT_FILL);

/// What identifies the snapshot shown (a new one starts the transitions).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Key {
    step: u64,
    n: usize,
    inputs: usize,
    d_bits: u64,
    outputs_last: bool,
}

/// The graph's state between frames: layout, labels and animations.
#[derive(Debug, Default)]
pub struct LayerGraph {
    key: Option<Key>,
    /// Draw the outputs at the end of the line (as the paper draws the net) instead of where the
    /// best order puts them; backward arcs then follow the drawn order.
    outputs_last: bool,
    outputs: usize,
    receivers_first: bool,
    /// Per neuron: its slot (0-based, left to right among the neurons) before and after the latest
    /// change of order, and when that change began.
    slot_from: Vec<f32>,
    slot_to: Vec<f32>,
    moved_at: f64,
    /// Per entry of W: the weight last shown and whether it was alive (not pruned, not zero).
    shown_w: Vec<f32>,
    shown_alive: Vec<bool>,
    /// Per entry: the weight to draw while fading out, and when the fade began.
    ghost_w: Vec<f32>,
    fade_from: Vec<f64>,
    /// Neurons in the heatmap's order (receivers first).
    heat_order: Vec<usize>,
    /// Names of the neurons, then of the inputs.
    names: Vec<String>,
    /// This frame's slots (reused between frames).
    slots: Vec<f32>,
    /// Edges weaker than this are not drawn (0: all are).
    min_drawn: f32,
    /// Live edges of the shown snapshot, and how many of them are drawn.
    edges: (usize, usize),
    /// Scratch space for choosing `min_drawn` (reused).
    scratch: Vec<f32>,
}

fn ease(k: f32) -> f32 {
    // smoothstep: starts and ends at rest
    k * k * (3.0 - 2.0 * k)
}

impl LayerGraph {
    /// Forget the shown snapshot (a new run): the next one is placed without transitions.
    pub fn reset(&mut self) {
        self.key = None;
    }

    /// Place the outputs last (as the paper draws the net) or where the best order puts them.
    pub fn set_outputs_last(&mut self, on: bool) {
        self.outputs_last = on;
    }

    /// Whether the outputs are drawn last.
    pub fn outputs_last(&self) -> bool {
        self.outputs_last
    }

    /// Share of all weight that flows backward in the drawn order (equal to 1 - D when the drawn order
    /// is the best one).
    pub fn drawn_backward_share(&self, s: &LayerSnapshot) -> f64 {
        layout::backward_share(s, &self.heat_order)
    }

    /// The neurons in the heatmap's order: receivers before their senders, so the permuted block is
    /// nearly upper-triangular and the mass below the diagonal is what D counts.
    pub fn heat_order(&self) -> &[usize] {
        &self.heat_order
    }

    /// Name of neuron `i` (`i < n`) or of input `i - n`: outputs `o0..`, hidden `h0..`, inputs `x0..`.
    pub fn name(&self, i: usize) -> &str {
        self.names.get(i).map_or("?", String::as_str)
    }

    /// Take `s` as the snapshot shown at time `now` (seconds); starts transitions when it changed.
    /// `s` must have passed [`crate::store::ordering::check_snapshot`].
    pub fn sync(&mut self, s: &LayerSnapshot, now: f64) {
        let n = s.hidden + s.outputs;
        let key = Key {
            step: s.step,
            n,
            inputs: s.inputs,
            d_bits: s.d.to_bits(),
            outputs_last: self.outputs_last,
        };
        if self.key == Some(key) {
            return;
        }
        let same_shape = self.key.is_some_and(|k| k.n == n && k.inputs == s.inputs);
        self.key = Some(key);
        self.outputs = s.outputs;
        self.receivers_first = receivers_first(s);
        self.heat_order = layout::heat_order(s, self.outputs_last);
        let slot_to = layout::flow_slots(&self.heat_order);
        let cells = s.weights.len();
        if same_shape {
            let k = (((now - self.moved_at) / MOVE_SECS).clamp(0.0, 1.0)) as f32;
            let e = ease(k);
            // start from where the neurons are drawn now, so a change mid-move does not jump
            for (from, to) in self.slot_from.iter_mut().zip(&self.slot_to) {
                *from += (to - *from) * e;
            }
            if slot_to != self.slot_to {
                self.moved_at = now;
            }
            for e in 0..cells {
                let now_alive = alive(s, e);
                if now_alive {
                    self.fade_from[e] = f64::NEG_INFINITY;
                } else if self.shown_alive[e] {
                    self.ghost_w[e] = self.shown_w[e];
                    self.fade_from[e] = now;
                }
                self.shown_alive[e] = now_alive;
            }
        } else {
            self.slot_from.clone_from(&slot_to);
            self.moved_at = f64::NEG_INFINITY;
            self.ghost_w = vec![0.0; cells];
            self.fade_from = vec![f64::NEG_INFINITY; cells];
            self.shown_alive = (0..cells).map(|e| alive(s, e)).collect();
            self.names = layout::node_names(s);
        }
        self.slot_to = slot_to;
        self.shown_w.clone_from(&s.weights);
        self.choose_edges(s);
    }

    /// Draw `s` in an area of `size`. Call [`Self::sync`] implicitly: the snapshot may change between
    /// frames.
    pub fn ui(&mut self, ui: &mut Ui, s: &LayerSnapshot, size: Vec2) -> Response {
        let now = ui.input(|i| i.time);
        self.sync(s, now);
        let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
        if !ui.is_rect_visible(rect) {
            return response;
        }
        let n = s.hidden + s.outputs;
        let inputs = s.inputs;
        let cols = n + inputs;
        let k = (((now - self.moved_at) / MOVE_SECS).clamp(0.0, 1.0)) as f32;
        let moving = k < 1.0;
        let e = ease(k);
        self.slots.clear();
        self.slots.extend(
            self.slot_from
                .iter()
                .zip(&self.slot_to)
                .map(|(a, b)| a + (b - a) * e),
        );

        let painter = ui.painter_at(rect);
        let margin = 22.0;
        let spacing = (rect.width() - 2.0 * margin) / (cols.max(2) - 1) as f32;
        let x_of = |slot: f32| rect.left() + margin + slot * spacing;
        // neurons sit right of the inputs
        let x_neuron = |slots: &[f32], i: usize| x_of(slots[i] + inputs as f32);
        let y0 = rect.top() + rect.height() * 0.56;
        let up = y0 - rect.top() - 6.0;
        let down = rect.bottom() - y0 - 22.0;
        let span_max = (rect.width() - 2.0 * margin).max(1.0);
        let node_r = (spacing * 0.4).clamp(2.5, NODE_R);

        // the node under the pointer (a neuron i, or input j as n + j): its edges stand out
        let focus = response.hover_pos().and_then(|p| {
            let near = |x: f32| (p - pos2(x, y0)).length() <= (node_r * 1.6).max(spacing * 0.5);
            (0..n)
                .find(|&i| near(x_neuron(&self.slots, i)))
                .or_else(|| (0..inputs).find(|&j| near(x_of(j as f32))).map(|j| n + j))
        });
        let max_abs = layout::max_live_abs(s);

        let mut fading = false;
        // forward arcs and self-loops first, backward arcs over them
        for backward_pass in [false, true] {
            for r in 0..n {
                let rx = x_neuron(&self.slots, r);
                for c in 0..cols {
                    let e = r * cols + c;
                    let (w, mut alpha) = if alive(s, e) {
                        (s.weights[e], 1.0)
                    } else {
                        let age = now - self.fade_from[e];
                        if age >= FADE_SECS {
                            continue;
                        }
                        fading = true;
                        (self.ghost_w[e], (1.0 - age / FADE_SECS) as f32)
                    };
                    let focused = focus.is_some_and(|f| f == r || f == c);
                    if w.abs() < self.min_drawn && !focused {
                        continue;
                    }
                    if focus.is_some() && !focused {
                        alpha *= 0.12;
                    }
                    let rel = (w.abs() / max_abs).min(1.0);
                    let color = if w < 0.0 { NEGATIVE } else { POSITIVE };
                    let width = edge_width(rel);
                    if c == r {
                        if !backward_pass {
                            let rad = self_loop_radius(rel, node_r);
                            let center = pos2(rx, y0 - node_r - rad + 1.0);
                            let stroke = Stroke::new(width, color.gamma_multiply(0.8 * alpha));
                            painter.circle_stroke(center, rad, stroke);
                        }
                        continue;
                    }
                    let sx = if c < n {
                        x_neuron(&self.slots, c)
                    } else {
                        x_of((c - n) as f32)
                    };
                    let (p, backward) = arc_points(sx, rx, y0, up, down, span_max);
                    if backward != backward_pass {
                        continue;
                    }
                    let points = p.map(|q| pos2(q[0], q[1]));
                    if backward {
                        arc(
                            &painter,
                            points,
                            Stroke::new(width + 3.0, HALO.gamma_multiply(alpha)),
                        );
                        arc(
                            &painter,
                            points,
                            Stroke::new(width, color.gamma_multiply(alpha)),
                        );
                    } else {
                        let a = alpha * forward_alpha(rel);
                        arc(
                            &painter,
                            points,
                            Stroke::new(width, color.gamma_multiply(a)),
                        );
                    }
                }
            }
        }

        let visuals = ui.visuals();
        // the heatmap's label type: the body's size in the presenter view (at 11 points the node
        // names were unreadable at half size: a helper's lesson audit)
        let font = super::heatmap::label_font(ui);
        // room for a name of three characters beside its neighbours'
        let label_spacing = LABEL_SPACING.max(1.6 * font.size);
        let node = |i: usize, x: f32, fill: Color32| {
            let p = pos2(x, y0);
            painter.circle(
                p,
                node_r,
                fill,
                Stroke::new(1.0, visuals.strong_text_color()),
            );
            if spacing >= label_spacing {
                // on a patch of the background: the backward arcs pass under the nodes
                let galley = painter.layout_no_wrap(
                    self.name(i).to_string(),
                    font.clone(),
                    visuals.text_color(),
                );
                let rect = Align2::CENTER_TOP
                    .anchor_size(pos2(x, y0 + node_r + 2.0), galley.size())
                    .expand(1.0);
                painter.rect_filled(rect, 2.0, visuals.panel_fill.gamma_multiply(0.85));
                painter.galley(
                    rect.min + egui::vec2(1.0, 1.0),
                    galley,
                    visuals.text_color(),
                );
            }
        };
        for j in 0..inputs {
            node(n + j, x_of(j as f32), INPUT_FILL);
        }
        for i in 0..n {
            let fill = if i < self.outputs {
                OUTPUT_FILL
            } else {
                visuals.extreme_bg_color
            };
            node(i, x_neuron(&self.slots, i), fill);
        }
        if moving || fading {
            ui.ctx().request_repaint();
        }
        match focus {
            Some(f) => {
                let (into, out) = self.masses(s, f);
                let text = format!(
                    "{}: receives Σ|w| = {into:.2}, sends Σ|w| = {out:.2}",
                    self.name(f)
                );
                response.on_hover_text_at_pointer(text)
            }
            None => response,
        }
    }

    /// Live edges and how many of them are drawn (the strongest [`MAX_EDGES`]).
    pub fn edge_counts(&self) -> (usize, usize) {
        self.edges
    }

    /// The |w| below which edges are left out, so that at most [`MAX_EDGES`] are drawn.
    fn choose_edges(&mut self, s: &LayerSnapshot) {
        let c = layout::choose_edges(s, &mut self.scratch);
        self.min_drawn = c.min_drawn;
        self.edges = (c.live, c.drawn);
    }

    /// Σ|w| into and out of node `f` (a neuron, or input `f - n`), self-loops excluded.
    fn masses(&self, s: &LayerSnapshot, f: usize) -> (f32, f32) {
        let n = s.hidden + s.outputs;
        let cols = n + s.inputs;
        let cell = |r: usize, c: usize| {
            let e = r * cols + c;
            if alive(s, e) { s.weights[e].abs() } else { 0.0 }
        };
        let into = if f < n {
            (0..cols).filter(|&c| c != f).map(|c| cell(f, c)).sum()
        } else {
            0.0
        };
        let out = (0..n).filter(|&r| r != f).map(|r| cell(r, f)).sum();
        (into, out)
    }
}

fn arc(painter: &egui::Painter, points: [Pos2; 3], stroke: Stroke) {
    painter.add(Shape::QuadraticBezier(
        epaint::QuadraticBezierShape::from_points_stroke(
            points,
            false,
            Color32::TRANSPARENT,
            stroke,
        ),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::OrderMethod;

    /// 1 output (0), 2 hidden (1, 2), 1 input: a chain x0 -> h1 -> h0(=neuron 1) ... as weights.
    fn chain(step: u64, order: [usize; 3], pruned_last: bool) -> LayerSnapshot {
        // receivers 0..3, senders 0..3 then the input (column 3)
        // neuron 2 <- input, neuron 1 <- neuron 2, neuron 0 <- neuron 1, and a weak back edge 2 <- 0
        let mut weights = vec![0.0f32; 12];
        weights[2 * 4 + 3] = 1.0;
        weights[4 + 2] = -2.0;
        weights[1] = 1.5;
        weights[2 * 4] = 0.1;
        let mut pruned = vec![false; 12];
        if pruned_last {
            weights[2 * 4] = 0.0;
            pruned[2 * 4] = true;
        }
        LayerSnapshot {
            step,
            epoch: step,
            inputs: 1,
            hidden: 2,
            outputs: 1,
            weights,
            pruned,
            order: order.to_vec(),
            d: 0.9,
            method: OrderMethod::Exact,
            sparsity: 0.5,
        }
    }

    #[test]
    fn flow_runs_left_to_right_whichever_way_the_order_is_given() {
        let mut g = LayerGraph::default();
        // receivers first: 0 (output) <- 1 <- 2 <- input
        g.sync(&chain(1, [0, 1, 2], false), 0.0);
        assert_eq!(g.heat_order(), [0, 1, 2]);
        // the output ends on the right, neuron 2 (fed by the input) on the left
        assert_eq!(g.slot_to, [2.0, 1.0, 0.0]);
        assert_eq!(g.name(0), "o0");
        assert_eq!(g.name(2), "h1");
        assert_eq!(g.name(3), "x0");
        // the same layer with the order given as the flow
        let mut h = LayerGraph::default();
        h.sync(&chain(1, [2, 1, 0], false), 0.0);
        assert_eq!(h.heat_order(), [0, 1, 2]);
        assert_eq!(h.slot_to, [2.0, 1.0, 0.0]);
    }

    #[test]
    fn outputs_last_moves_only_the_outputs_and_reports_the_drawn_backward_share() {
        // chain: input -> neuron 2 -> neuron 1 -> neuron 0 (the output), plus 0.1 from 0 back to 2.
        // Flow order 2, 1, 0 sends only that 0.1 backward: 0.1 / (1.5 + 2 + 0.1) of the block's weight
        // (the input's 1.0 is outside the square block).
        let mut g = LayerGraph::default();
        let s = chain(1, [2, 1, 0], false);
        g.sync(&s, 0.0);
        let best = g.heat_order().to_vec();
        g.set_outputs_last(true);
        g.sync(&s, 0.0);
        assert_eq!(g.heat_order()[0], 0, "the output is last along the flow");
        let rest: Vec<usize> = best.iter().copied().filter(|&i| i != 0).collect();
        assert_eq!(
            &g.heat_order()[1..],
            &rest[..],
            "the others keep their order"
        );
        assert!((g.drawn_backward_share(&s) - 0.1 / 3.6).abs() < 1e-9);
        // an order with the output first: the same layer drawn with the output moved last
        let t = chain(2, [0, 2, 1], false);
        g.sync(&t, 0.0);
        assert_eq!(g.heat_order()[0], 0);
    }

    #[test]
    fn only_the_strongest_edges_of_a_large_layer_are_drawn() {
        // 30 neurons, 2 inputs: 960 weights, all distinct and live
        let n = 30;
        let weights: Vec<f32> = (0..n * (n + 2)).map(|i| (i + 1) as f32).collect();
        let s = LayerSnapshot {
            step: 1,
            epoch: 1,
            inputs: 2,
            hidden: n - 1,
            outputs: 1,
            pruned: vec![false; weights.len()],
            weights,
            order: (0..n).collect(),
            d: 0.5,
            method: OrderMethod::Heuristic,
            sparsity: 0.0,
        };
        let mut g = LayerGraph::default();
        g.sync(&s, 0.0);
        assert_eq!(g.edge_counts(), (960, MAX_EDGES));
        // |w| = 1 ..= 960: the 600 largest are 361 ..= 960
        assert_eq!(g.min_drawn, 361.0);
        // a small layer draws everything
        g.sync(&chain(1, [0, 1, 2], false), 0.0);
        assert_eq!(g.edge_counts(), (4, 4));
        assert_eq!(g.min_drawn, 0.0);
    }

    #[test]
    fn a_newly_pruned_edge_fades_and_a_reorder_glides() {
        let mut g = LayerGraph::default();
        g.sync(&chain(1, [0, 1, 2], false), 10.0);
        g.sync(&chain(2, [0, 1, 2], true), 11.0);
        // the back edge 2 <- 0 (entry 8) was 0.1 and is now pruned: it fades from t = 11
        assert_eq!(g.fade_from[8], 11.0);
        assert_eq!(g.ghost_w[8], 0.1);
        assert!(
            g.fade_from[9] == f64::NEG_INFINITY,
            "live edges do not fade"
        );
        // no change of order: nothing moves
        assert_eq!(g.slot_from, g.slot_to);
        // the same shape in another order: the neurons start where they were
        let mut s = chain(3, [0, 1, 2], true);
        s.order = vec![1, 0, 2];
        s.d = 0.5;
        g.sync(&s, 12.0);
        assert_eq!(g.moved_at, 12.0);
        assert_eq!(g.slot_from, [2.0, 1.0, 0.0]);
        assert_ne!(g.slot_from, g.slot_to);
    }
}
