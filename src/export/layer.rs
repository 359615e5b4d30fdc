//! The Ordering lab's two figures of a layer snapshot: the neuron-ordering graph and the permuted
//! weight heatmap, laid out by [`crate::store::ordering_layout`] as the window's widgets are, and
//! their CSV sidecars (exactly the drawn edges or cells).

use super::ExportError;
use super::figure::{
    Body, ClassGridBody, Figure, GraphBody, GraphEdge, GraphNode, HeatScale, HeatmapBody, NodeKind,
};
use crate::protocol::LayerSnapshot;
use crate::store::ordering_layout as layout;

/// Figure name of the neuron-ordering graph.
pub const GRAPH: &str = "ordering_graph";
/// Figure name of the permuted weight heatmap.
pub const HEATMAP: &str = "weight_heatmap";

/// Header of a heatmap's CSV: one row a cell, in reading order.
pub const HEATMAP_CSV_HEADER: [&str; 5] = ["row", "column", "row_neuron", "column_neuron", "value"];
/// Header of a graph's CSV: the nodes left to right (`item` = `node`, `position` its slot), then the
/// drawn edges (`item` = `edge`).
pub const GRAPH_CSV_HEADER: [&str; 6] = ["item", "from", "to", "weight", "backward", "position"];

/// What the permuted weight heatmap's colour shows, as its colour bar's title: entry (i, j) of W,
/// the weight receiver i (the row) puts on sender j (the column) in `v ← sigmoid([v, x] Wᵀ)`.
pub const WEIGHT_QUANTITY: &str = "weight w_ij (row i ← column j)";

/// The heatmap's words on its colour: what w_ij is, its sign and unit, as the spec defines W.
pub const WEIGHT_NOTE: &str = "Colour: w_ij, the weight receiver i (row) gives sender j \
     (column) in v ← sigmoid([v, x] Wᵀ); unitless; blue > 0 (excites), red < 0 (inhibits), \
     white 0; the bar's ends are ± the largest |w|.";

/// A layer figure's facts for its JSON sidecar ([`Figure::data`]): the step, D, how D was found,
/// the measured sparsity, and the order the neurons are drawn in (`heat_order`, receivers first:
/// the heatmap's rows top to bottom, the graph's neurons right to left), by index into W's rows and
/// by name, beside the best order the run reported (`best_order`, as the snapshot lists it).
fn layer_data(
    s: &LayerSnapshot,
    order: &[usize],
    outputs_last: bool,
) -> serde_json::Map<String, serde_json::Value> {
    let names = layout::node_names(s);
    let name = |i: &usize| names.get(*i).cloned().unwrap_or_default();
    let d = if s.d.is_finite() {
        serde_json::json!(s.d)
    } else {
        serde_json::Value::Null
    };
    let mut m = serde_json::Map::new();
    let mut put = |k: &str, v: serde_json::Value| {
        m.insert(k.into(), v);
    };
    put("step", s.step.into());
    put("epoch", s.epoch.into());
    put("d", d);
    put("d_method", s.method.to_string().into());
    put("measured_sparsity", s.sparsity.into());
    put("inputs", s.inputs.into());
    put("hidden", s.hidden.into());
    put("outputs", s.outputs.into());
    put("outputs_last", outputs_last.into());
    put("heat_order", order.into());
    put(
        "heat_order_names",
        order.iter().map(name).collect::<Vec<_>>().into(),
    );
    put("best_order", s.order.clone().into());
    put(
        "best_order_names",
        s.order.iter().map(name).collect::<Vec<_>>().into(),
    );
    put("colour_max_abs", layout::heat_max_abs(s).into());
    m
}

/// A snapshot's read-out, as the window's header shows it: D, method, measured sparsity, step.
pub fn snapshot_text(s: &LayerSnapshot) -> String {
    let d = if s.d.is_finite() {
        format!("D = {:.2}", s.d)
    } else {
        "D = —".into()
    };
    format!(
        "{d} ({}) · measured sparsity {:.2} · step {}",
        s.method, s.sparsity, s.step
    )
}

/// D against the null beside it, for the reader who asks whether the order was learned: "D −
/// shuffled D = +0.01", and how to read it. The same weights at random places are as sparse as the
/// run's, so their D is what sparsity alone gives (spec section 3; a researcher's audit: the Study tab
/// said so, the single run did not).
pub fn over_null_text(d: f64, null: f64) -> String {
    // to the two places shown, so a difference under 0.005 reads 0.00, not "-0.00" (seen in the
    // pruning lesson's picture), and a negative one with the minus sign of "D − shuffled D"
    let x = ((d - null) * 100.0).round() / 100.0;
    let diff = if x == 0.0 {
        "0.00".to_string()
    } else if x > 0.0 {
        format!("+{x:.2}")
    } else {
        format!("−{:.2}", -x)
    };
    format!(
        "D − shuffled D = {diff} (near 0: the order sparsity alone gives; well above 0: order the \
         training made)"
    )
}

/// The window's note under the "outputs last" box: the backward share of the drawn order against the
/// best order's.
pub fn drawn_share_text(share: f64, d: f64) -> String {
    format!(
        "this order: {:.1} % of the weight backward (best order: {:.1} %)",
        share * 100.0,
        (1.0 - d) * 100.0
    )
}

/// The permuted weight heatmap of `s`: rows are the neurons in the heatmap's order (receivers
/// first), columns the same neurons then the inputs; `outputs_last` as the window's box.
/// `s` must have passed [`crate::store::ordering::check_snapshot`].
pub fn heatmap_figure(s: &LayerSnapshot, outputs_last: bool) -> Figure {
    let order = layout::heat_order(s, outputs_last);
    let names = layout::node_names(s);
    let n = s.hidden + s.outputs;
    let cols = n + s.inputs;
    let name = |i: usize| names.get(i).cloned().unwrap_or_default();
    let mut values = Vec::with_capacity(n * cols);
    for r in 0..n {
        for c in 0..cols {
            values.push(layout::heat_value(s, &order, r, c));
        }
    }
    let body = HeatmapBody {
        row_labels: order.iter().map(|&i| name(i)).collect(),
        col_labels: (0..cols)
            .map(|c| name(layout::heat_sender(&order, c)))
            .collect(),
        values,
        texts: vec![],
        scale: HeatScale::Diverging {
            max_abs: layout::heat_max_abs(s),
            quantity: WEIGHT_QUANTITY.into(),
        },
        csv_labels: [HEATMAP_CSV_HEADER[2].into(), HEATMAP_CSV_HEADER[3].into()],
        gap_before_col: (s.inputs > 0).then_some(n),
        diagonal: true,
        row_title: "receiver".into(),
        col_title: if s.inputs > 0 {
            "sender (drawn order, last first), then inputs".into()
        } else {
            "sender (drawn order, last first)".into()
        },
    };
    let mut fig = Figure::with_body(
        HEATMAP,
        format!("Permuted weight matrix, step {}", s.step),
        Body::Heatmap(body),
    );
    fig.notes.push(snapshot_text(s));
    let pruned = if (0..s.pruned.len()).any(|e| layout::is_pruned(s, e)) {
        " Grey cells with a dot: pruned."
    } else {
        ""
    };
    // with the outputs moved last the drawn order is not the best one: its backward share is its own
    let below = if outputs_last {
        format!(
            "Below the diagonal: backward edges; {}.",
            drawn_share_text(layout::backward_share(s, &order), s.d)
        )
    } else {
        "Below the diagonal: backward edges (the 1 − D share).".to_string()
    };
    fig.notes.push(format!("{below}{pruned}"));
    fig.notes.push(WEIGHT_NOTE.into());
    fig.data = layer_data(s, &order, outputs_last);
    fig
}

/// The neuron-ordering graph of `s`: inputs, then the neurons in their order, on one line; the
/// strongest [`layout::MAX_EDGES`] live edges as arcs. `outputs_last` as the window's box.
/// `s` must have passed [`crate::store::ordering::check_snapshot`].
pub fn graph_figure(s: &LayerSnapshot, outputs_last: bool) -> Figure {
    let order = layout::heat_order(s, outputs_last);
    let slots = layout::flow_slots(&order);
    let names = layout::node_names(s);
    let n = s.hidden + s.outputs;
    let cols = n + s.inputs;
    let mut scratch = vec![];
    let choice = layout::choose_edges(s, &mut scratch);
    // nodes are indexed as W's columns: neurons 0..n, then inputs
    let slot = |i: usize| {
        if i < n {
            f64::from(slots[i]) + s.inputs as f64
        } else {
            (i - n) as f64
        }
    };
    let nodes = (0..cols)
        .map(|i| GraphNode {
            name: names.get(i).cloned().unwrap_or_default(),
            slot: slot(i),
            kind: match i {
                i if i < s.outputs => NodeKind::Output,
                i if i < n => NodeKind::Hidden,
                _ => NodeKind::Input,
            },
        })
        .collect();
    let mut edges = vec![];
    // forward arcs and self-loops first, backward arcs over them (as the window draws them)
    for backward_pass in [false, true] {
        for r in 0..n {
            for c in 0..cols {
                let e = r * cols + c;
                let w = s.weights[e];
                if !layout::alive(s, e) || w.abs() < choice.min_drawn {
                    continue;
                }
                let backward = c != r && slot(c) > slot(r);
                if backward != backward_pass {
                    continue;
                }
                edges.push(GraphEdge {
                    from: c,
                    to: r,
                    weight: f64::from(w),
                    backward,
                });
            }
        }
    }
    let body = GraphBody {
        nodes,
        edges,
        max_abs: f64::from(layout::max_live_abs(s)),
    };
    let mut fig = Figure::with_body(
        GRAPH,
        format!("Neuron ordering, step {}", s.step),
        Body::Graph(body),
    );
    fig.notes.push(snapshot_text(s));
    if outputs_last {
        fig.notes.push(format!(
            "Outputs drawn last; {}.",
            drawn_share_text(layout::backward_share(s, &order), s.d)
        ));
    }
    if choice.drawn < choice.live {
        fig.notes.push(format!(
            "The {} strongest of {} edges shown.",
            choice.drawn, choice.live
        ));
    }
    fig.data = layer_data(s, &order, outputs_last);
    fig
}

/// Both layer figures of `s`: the graph, then the heatmap.
pub fn layer_figures(s: &LayerSnapshot, outputs_last: bool) -> Vec<Figure> {
    vec![
        graph_figure(s, outputs_last),
        heatmap_figure(s, outputs_last),
    ]
}

/// A weight as the CSV writes it: the shortest text that reads back as the same `f32` (the weights
/// are `f32`; their `f64` copies would print noise digits).
fn weight_text(v: f64) -> String {
    (v as f32).to_string()
}

fn finish(w: ::csv::Writer<Vec<u8>>) -> Result<Vec<u8>, ExportError> {
    w.into_inner()
        .map_err(|e| ExportError::Render(format!("CSV buffer: {e}")))
}

/// A heatmap's cells as CSV: every drawn cell, in reading order, with its row's and column's labels
/// (named by [`HeatmapBody::csv_labels`]; a weight matrix's header is [`HEATMAP_CSV_HEADER`]), and
/// its value (empty for a pruned cell) or, on a categorical scale, its class's name.
pub fn heatmap_csv(h: &HeatmapBody) -> Result<Vec<u8>, ExportError> {
    let mut w = ::csv::Writer::from_writer(vec![]);
    let last = match &h.scale {
        HeatScale::Categorical(_) => "class",
        HeatScale::Diverging { .. } | HeatScale::Sequential { .. } => HEATMAP_CSV_HEADER[4],
    };
    w.write_record([
        HEATMAP_CSV_HEADER[0],
        HEATMAP_CSV_HEADER[1],
        &h.csv_labels[0],
        &h.csv_labels[1],
        last,
    ])?;
    let text = |v: f64| match &h.scale {
        HeatScale::Categorical(classes) => classes
            .get(v as usize)
            .map_or_else(|| weight_text(v), |c| c.name.clone()),
        HeatScale::Diverging { .. } | HeatScale::Sequential { .. } => weight_text(v),
    };
    let (rows, cols) = h.shape();
    for r in 0..rows {
        for c in 0..cols {
            let v = h.values.get(r * cols + c).copied().flatten();
            w.write_record([
                r.to_string(),
                c.to_string(),
                h.row_labels[r].clone(),
                h.col_labels[c].clone(),
                v.map_or(String::new(), text),
            ])?;
        }
    }
    finish(w)
}

/// Header of a class grid's CSV.
pub const CLASS_GRID_CSV_HEADER: [&str; 6] = [
    "row",
    "column",
    "row_label",
    "column_label",
    "class",
    "text",
];

/// A class grid's cells as CSV ([`CLASS_GRID_CSV_HEADER`]), row by row: the class's name (empty for a
/// cell with no data) and the text drawn in the cell.
pub fn class_grid_csv(g: &ClassGridBody) -> Result<Vec<u8>, ExportError> {
    let mut w = ::csv::Writer::from_writer(vec![]);
    w.write_record(CLASS_GRID_CSV_HEADER)?;
    let (rows, cols) = g.shape();
    for r in 0..rows {
        for c in 0..cols {
            let class = g
                .cells
                .get(r * cols + c)
                .copied()
                .flatten()
                .and_then(|k| g.classes.get(k))
                .map_or("", |(name, _)| name.as_str());
            w.write_record([
                r.to_string().as_str(),
                c.to_string().as_str(),
                &g.row_labels[r],
                &g.col_labels[c],
                class,
                g.texts.get(r * cols + c).map_or("", |t| t.as_str()),
            ])?;
        }
    }
    finish(w)
}

/// A graph's nodes (left to right) and drawn edges as CSV ([`GRAPH_CSV_HEADER`]).
pub fn graph_csv(g: &GraphBody) -> Result<Vec<u8>, ExportError> {
    let mut w = ::csv::Writer::from_writer(vec![]);
    w.write_record(GRAPH_CSV_HEADER)?;
    let mut idx: Vec<usize> = (0..g.nodes.len()).collect();
    idx.sort_by(|&a, &b| g.nodes[a].slot.total_cmp(&g.nodes[b].slot));
    for i in idx {
        let node = &g.nodes[i];
        w.write_record(["node", &node.name, "", "", "", &node.slot.to_string()])?;
    }
    let name = |i: usize| g.nodes.get(i).map_or("?", |nd| nd.name.as_str());
    for e in &g.edges {
        w.write_record([
            "edge",
            name(e.from),
            name(e.to),
            &weight_text(e.weight),
            &e.backward.to_string(),
            "",
        ])?;
    }
    finish(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// D above its null, signed, to two decimals: 0.774 - 0.731 = +0.043 -> "+0.04"; below it, "-".
    #[test]
    fn the_null_line_says_how_far_d_is_above_it() {
        assert!(over_null_text(0.774, 0.731).starts_with("D − shuffled D = +0.04 (near 0"));
        assert!(over_null_text(0.70, 0.72).starts_with("D − shuffled D = −0.02"));
        // a difference under half a hundredth is 0.00, unsigned (it read "-0.00")
        assert!(over_null_text(0.7722, 0.7727).starts_with("D − shuffled D = 0.00 ("));
    }
    use crate::protocol::OrderMethod;

    /// o0, h0, h1 and input x0: x0 -> h1 (1.0), h1 -> h0 (-2.0), h0 -> o0 (1.5), o0 -> h1 (0.1, back).
    fn three() -> LayerSnapshot {
        let mut weights = vec![0.0f32; 12];
        weights[2 * 4 + 3] = 1.0;
        weights[4 + 2] = -2.0;
        weights[1] = 1.5;
        weights[2 * 4] = 0.1;
        LayerSnapshot {
            step: 7,
            epoch: 7,
            inputs: 1,
            hidden: 2,
            outputs: 1,
            pruned: vec![false; 12],
            weights,
            order: vec![2, 1, 0],
            d: 0.97,
            method: OrderMethod::Exact,
            sparsity: 0.5,
        }
    }

    #[test]
    fn the_graph_of_three_neurons_by_hand() {
        let f = graph_figure(&three(), true);
        let Body::Graph(g) = &f.body else {
            panic!("a graph")
        };
        // flow: x0, h1, h0, o0 from left to right
        assert_eq!(g.node_order(), ["x0", "h1", "h0", "o0"]);
        // four live edges; only o0 -> h1 (0.1) runs backward, and it comes last
        assert_eq!(g.edges.len(), 4);
        let back: Vec<_> = g.edges.iter().filter(|e| e.backward).collect();
        assert_eq!(back.len(), 1);
        assert_eq!((back[0].from, back[0].to), (0, 2));
        assert!(g.edges.last().is_some_and(|e| e.backward));
        assert_eq!(g.max_abs, 2.0);
        // the note gives the drawn order's share: 0.1 / 3.6 = 2.8 %
        assert!(f.notes.iter().any(|n| n.contains("2.8 %")), "{:?}", f.notes);
    }

    #[test]
    fn the_heatmap_csv_has_a_row_per_cell() {
        let mut s = three();
        s.pruned[1] = true;
        s.weights[1] = 0.0;
        let f = heatmap_figure(&s, false);
        let Body::Heatmap(h) = &f.body else {
            panic!("a heatmap")
        };
        assert_eq!(h.row_labels, ["o0", "h0", "h1"]);
        assert_eq!(h.col_labels, ["o0", "h0", "h1", "x0"]);
        let text = String::from_utf8(heatmap_csv(h).unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // header + 3 x 4 cells
        assert_eq!(lines.len(), 13);
        // the pruned o0 <- h0 is empty; h1 <- x0 is 1
        assert!(lines.contains(&"0,1,o0,h0,"), "{text}");
        assert!(lines.contains(&"2,3,h1,x0,1"), "{text}");
        assert!(lines.contains(&"1,2,h0,h1,-2"), "{text}");
    }

    /// The heatmap says what its colour is (the bar's title and a note on w_ij's sign) and carries,
    /// for its JSON sidecar, the step, D and the order its rows are drawn in: by hand from
    /// [`three`], whose order [2, 1, 0] lists the flow, so the rows (receivers first) are o0, h0,
    /// h1; with the output moved last the same (it is last already).
    #[test]
    fn the_heatmap_names_its_colour_and_carries_its_order_and_d() {
        let s = three();
        for outputs_last in [false, true] {
            let f = heatmap_figure(&s, outputs_last);
            let Body::Heatmap(h) = &f.body else {
                panic!("a heatmap")
            };
            assert_eq!(
                h.scale,
                HeatScale::Diverging {
                    max_abs: 2.0,
                    quantity: WEIGHT_QUANTITY.into()
                }
            );
            assert!(
                f.notes.iter().any(|n| n.contains("blue > 0")),
                "{:?}",
                f.notes
            );
            let svg = crate::export::svg::to_svg(&f, super::super::figure::FigureSize::default());
            assert!(
                svg.contains(r#"class="bar-title""#)
                    && svg.contains("weight w_ij (row i ← column j)"),
                "the SVG writes the bar's title"
            );
            let d = &f.data;
            assert_eq!(d["step"], 7);
            assert_eq!(d["d"], 0.97);
            assert_eq!(d["d_method"], "exact");
            assert_eq!(d["heat_order"], serde_json::json!([0, 1, 2]));
            assert_eq!(d["heat_order_names"], serde_json::json!(h.row_labels));
            assert_eq!(d["best_order"], serde_json::json!([2, 1, 0]));
            assert_eq!(d["best_order_names"], serde_json::json!(["h1", "h0", "o0"]));
            assert_eq!(d["outputs_last"], outputs_last);
            assert_eq!(d["colour_max_abs"], 2.0);
        }
        // the graph's sidecar has the same facts
        assert_eq!(
            graph_figure(&s, false).data["heat_order"],
            serde_json::json!([0, 1, 2])
        );
    }

    #[test]
    fn the_graph_csv_lists_the_nodes_then_the_edges() {
        let f = graph_figure(&three(), false);
        let Body::Graph(g) = &f.body else {
            panic!("a graph")
        };
        let text = String::from_utf8(graph_csv(g).unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "node,x0,,,,0");
        assert_eq!(lines[4], "node,o0,,,,3");
        assert_eq!(lines.len(), 1 + 4 + 4);
        assert!(lines.contains(&"edge,o0,h1,0.1,true,"), "{text}");
        assert!(lines.contains(&"edge,h1,h0,-2,false,"), "{text}");
    }
}
