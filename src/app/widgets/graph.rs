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
//! that became pruned fade out over [`FADE_SECS`]. A glide always runs from one whole order to the
//! next: an order that arrives mid-glide waits for it to end (restarted from where the neurons were
//! drawn, fast snapshots left them parked between slots, on top of each other). While they glide,
//! neurons leave the line, each lifted in proportion to how far it goes (right: above, left: below),
//! so two that pass each other are apart; where the room is short they are drawn smaller
//! ([`glide_radius`]). Nodes never overlap at any snapshot rate.

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
    /// The order (as slots) that arrived while the neurons glided: the next glide's end.
    pending: Option<Vec<f32>>,
    /// The node radius of the glide that began at `.0`, for the geometry `.1` (spacing, room,
    /// full radius): computed once a glide.
    glide_r: Option<(f64, [f32; 3], f32)>,
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
    /// This frame's slots, and each neuron's lift off the line in points (up: positive), reused.
    slots: Vec<f32>,
    lifts: Vec<f32>,
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
            // a new order mid-glide is the next glide's end: the neurons go on to the order they
            // are gliding to, then to the newest one ([`Self::advance`])
            if self.gliding(now) {
                self.pending = (slot_to != self.slot_to).then_some(slot_to);
            } else {
                self.slot_from.clone_from(&self.slot_to);
                if slot_to != self.slot_to {
                    self.slot_to = slot_to;
                    self.moved_at = now;
                }
                self.pending = None;
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
            self.slot_to = slot_to;
            self.moved_at = f64::NEG_INFINITY;
            self.pending = None;
            self.ghost_w = vec![0.0; cells];
            self.fade_from = vec![f64::NEG_INFINITY; cells];
            self.shown_alive = (0..cells).map(|e| alive(s, e)).collect();
            self.names = layout::node_names(s);
        }
        self.shown_w.clone_from(&s.weights);
        self.choose_edges(s);
    }

    /// Whether a glide is under way at `now`.
    fn gliding(&self, now: f64) -> bool {
        now - self.moved_at < MOVE_SECS
    }

    /// At the end of a glide, start the one to the order that came in meanwhile (if any).
    fn advance(&mut self, now: f64) {
        if self.gliding(now) {
            return;
        }
        // at rest on the glide's end
        self.slot_from.clone_from(&self.slot_to);
        if let Some(next) = self.pending.take() {
            self.slot_to = next;
            self.moved_at = now;
        }
    }

    /// Where the neurons are drawn at `now`: fills [`Self::slots`] (along the line, in slots) and
    /// [`Self::lifts`] (off it, in points: up positive) and returns the nodes' radius. `spacing` is
    /// the points between two slots, `room` the most a node may leave the line, `r_full` the radius
    /// at rest.
    fn place(&mut self, now: f64, spacing: f32, room: f32, r_full: f32) -> f32 {
        self.advance(now);
        let k = (((now - self.moved_at) / MOVE_SECS).clamp(0.0, 1.0)) as f32;
        let lift = glide_lift(&self.slot_from, &self.slot_to, spacing, room);
        self.slots.clear();
        self.lifts.clear();
        for (&a, &b) in self.slot_from.iter().zip(&self.slot_to) {
            let (x, y) = glide_at(a, b, k, lift);
            self.slots.push(x);
            self.lifts.push(y);
        }
        if k >= 1.0 || self.slot_from == self.slot_to {
            return r_full;
        }
        let geometry = [spacing, room, r_full];
        match self.glide_r {
            Some((at, g, r)) if at == self.moved_at && g == geometry => r,
            _ => {
                let r = glide_radius(&self.slot_from, &self.slot_to, spacing, lift, r_full);
                self.glide_r = Some((self.moved_at, geometry, r));
                r
            }
        }
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
        let rest_r = (spacing * 0.4).clamp(2.5, NODE_R);
        // a gliding node stays inside the area, its whole circle
        let room = (up.min(down) - rest_r).max(0.0);
        let node_r = self.place(now, spacing, room, rest_r);
        let moving = self.gliding(now) || self.pending.is_some();
        let y_neuron = |lifts: &[f32], i: usize| y0 - lifts[i];

        // the node under the pointer (a neuron i, or input j as n + j): its edges stand out
        let focus = response.hover_pos().and_then(|p| {
            let near =
                |x: f32, y: f32| (p - pos2(x, y)).length() <= (node_r * 1.6).max(spacing * 0.5);
            (0..n)
                .find(|&i| near(x_neuron(&self.slots, i), y_neuron(&self.lifts, i)))
                .or_else(|| {
                    (0..inputs)
                        .find(|&j| near(x_of(j as f32), y0))
                        .map(|j| n + j)
                })
        });
        let max_abs = layout::max_live_abs(s);

        let mut fading = false;
        // forward arcs and self-loops first, backward arcs over them
        for backward_pass in [false, true] {
            for r in 0..n {
                let rx = x_neuron(&self.slots, r);
                let ry = y_neuron(&self.lifts, r);
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
                            let center = pos2(rx, ry - node_r - rad + 1.0);
                            let stroke = Stroke::new(width, color.gamma_multiply(0.8 * alpha));
                            painter.circle_stroke(center, rad, stroke);
                        }
                        continue;
                    }
                    let (sx, sy) = if c < n {
                        (x_neuron(&self.slots, c), y_neuron(&self.lifts, c))
                    } else {
                        (x_of((c - n) as f32), y0)
                    };
                    let (p, backward) = arc_points(sx, rx, y0, up, down, span_max);
                    if backward != backward_pass {
                        continue;
                    }
                    // a gliding node takes its arcs' ends with it
                    let [a, m, b] = p;
                    let points = [
                        pos2(a[0], sy),
                        pos2(m[0], m[1] + (sy + ry) / 2.0 - y0),
                        pos2(b[0], ry),
                    ];
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
        let node = |i: usize, x: f32, y: f32, fill: Color32| {
            let p = pos2(x, y);
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
                    .anchor_size(pos2(x, y + node_r + 2.0), galley.size())
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
            node(n + j, x_of(j as f32), y0, INPUT_FILL);
        }
        for i in 0..n {
            let fill = if i < self.outputs {
                OUTPUT_FILL
            } else {
                visuals.extreme_bg_color
            };
            node(i, x_neuron(&self.slots, i), y_neuron(&self.lifts, i), fill);
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

/// A neuron gliding from slot `from` to slot `to`, at progress `k` (0..1) of the glide: its slot
/// along the line (eased), and its lift off the line in points, `lift` a slot of its way (up for a
/// move to the right, down for one to the left), most at mid-glide.
fn glide_at(from: f32, to: f32, k: f32, lift: f32) -> (f32, f32) {
    let d = to - from;
    (
        from + d * ease(k),
        d * lift * (std::f32::consts::PI * k).sin(),
    )
}

/// The lift per slot of a glide from `from` to `to`: a slot's spacing (so that two neurons that
/// swap places pass a node's diameter apart and more), less where the longest move would leave the
/// `room` there is off the line.
fn glide_lift(from: &[f32], to: &[f32], spacing: f32, room: f32) -> f32 {
    let longest = from
        .iter()
        .zip(to)
        .map(|(a, b)| (b - a).abs())
        .fold(0.0f32, f32::max);
    if longest > 0.0 {
        spacing.min(room / longest)
    } else {
        spacing
    }
}

/// Most samples of one pair's glide checked for its closest approach.
const MAX_GLIDE_SAMPLES: usize = 1024;

/// The nodes' radius during a glide from the whole order `from` to `to` (slots, a permutation each):
/// `r_full`, or less where two of them pass closer than a diameter. Two neurons whose places along
/// the line keep their sides stay a slot or more apart; for two that pass each other the closest
/// approach is sampled along the glide (finely enough that the gap cannot close by more than half a
/// point between samples, or [`MAX_GLIDE_SAMPLES`] with that bound subtracted), so the radius is
/// from a lower bound of the gap and the circles never overlap.
fn glide_radius(from: &[f32], to: &[f32], spacing: f32, lift: f32, r_full: f32) -> f32 {
    let n = from.len().min(to.len());
    let mut closest = f32::INFINITY;
    let at = |i: usize, k: f32| {
        let (x, y) = glide_at(from[i], to[i], k, lift);
        (x * spacing, y)
    };
    for i in 0..n {
        for j in i + 1..n {
            let (start, end) = (from[i] - from[j], to[i] - to[j]);
            if start * end > 0.0 {
                // the gap along the line moves monotonically from one end to the other: never
                // below the smaller, a slot or more
                closest = closest.min(start.abs().min(end.abs()) * spacing);
                continue;
            }
            let rel = (end - start).abs();
            // |d/dk| of the gap along (ease' <= 1.5) and across (pi lift) the line
            let speed = rel * (1.5 * spacing + std::f32::consts::PI * lift);
            let samples = ((speed / 0.5).ceil() as usize).clamp(16, MAX_GLIDE_SAMPLES);
            let slack = speed / (2.0 * samples as f32);
            for s in 0..=samples {
                let k = s as f32 / samples as f32;
                let (a, b) = (at(i, k), at(j, k));
                let gap = ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
                closest = closest.min(gap - slack);
            }
        }
    }
    r_full.min((closest / 2.0).max(0.0))
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

    /// Snapshots in a random order of 6 neurons at a rate from 100 a second to one every 0.4 s
    /// (the glide takes 0.3), drawn at 60 frames a second: no two neurons' circles ever overlap
    /// (centres at least a diameter apart), the nodes stay visible (radius at least a quarter of
    /// the resting one, whose reductions come from the sampled gap), and once the snapshots stop
    /// every neuron comes to rest on the last order's slot. Before the fix a glide restarted from
    /// wherever the neurons were drawn, on the line: two that swapped passed through each other,
    /// and fast snapshots left them parked between slots.
    #[test]
    fn nodes_never_overlap_at_any_snapshot_rate() {
        let n = 6;
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            // xorshift64: any permutation sequence will do, this one is reproducible
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let snapshot = |step: u64, order: Vec<usize>| LayerSnapshot {
            step,
            epoch: step,
            inputs: 2,
            hidden: n - 1,
            outputs: 1,
            weights: vec![0.0; n * (n + 2)],
            pruned: vec![false; n * (n + 2)],
            order,
            d: 1.0,
            method: OrderMethod::Exact,
            sparsity: 0.0,
        };
        // (spacing, room off the line, resting radius) as the window gives them: a wide graph, one
        // beside the heatmap, a cramped one
        for (spacing, room, r_full) in [(60.0, 120.0, 9.0), (30.0, 50.0, 9.0), (12.0, 20.0, 4.8)] {
            for every in [0.01, 0.05, 0.1, 0.2, 0.29, 0.4] {
                let mut g = LayerGraph::default();
                let mut t = 0.0;
                let mut due = 0.0;
                let mut step = 0;
                let mut last = vec![];
                let mut smallest = f32::INFINITY;
                while t < 6.0 {
                    if t >= due && t < 4.0 {
                        let mut order: Vec<usize> = (0..n).collect();
                        for i in (1..n).rev() {
                            order.swap(i, (next() % (i as u64 + 1)) as usize);
                        }
                        step += 1;
                        let s = snapshot(step, order);
                        g.sync(&s, t);
                        last = layout::flow_slots(g.heat_order());
                        due += every;
                    }
                    let r = g.place(t, spacing, room, r_full);
                    smallest = smallest.min(r);
                    for i in 0..n {
                        assert!(g.lifts[i].abs() <= room + 1e-3, "inside the area");
                        for j in i + 1..n {
                            let dx = (g.slots[i] - g.slots[j]) * spacing;
                            let dy = g.lifts[i] - g.lifts[j];
                            let gap = (dx * dx + dy * dy).sqrt();
                            assert!(
                                gap >= 2.0 * r - 1e-3,
                                "{spacing}/{room}, every {every} s, t = {t:.3}: neurons {i} and \
                                 {j} {gap:.2} apart with radius {r:.2}"
                            );
                        }
                    }
                    t += 1.0 / 60.0;
                }
                assert!(smallest >= 0.25 * r_full, "radius down to {smallest}");
                assert_eq!(g.slots, last, "every {every} s: at rest on the last order");
                assert!(g.lifts.iter().all(|&y| y == 0.0));
            }
        }
    }
}
