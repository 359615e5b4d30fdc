//! A heatmap or graph [`Figure`] as SVG, in the same hand-written `f32` SVG and bundled font as the
//! x/y plots ([`super::svg`]); the colours and arc geometry come from
//! [`crate::store::ordering_layout`], as in the window.
//!
//! Elements carry classes (`cell`, `bar`, `bar-label`, `bar-title`, `edge forward|backward|self-loop`, `halo`,
//! `node`) so that a reader (and the tests) can tell them apart.

use super::figure::{
    ClassGridBody, Figure, FigureSize, GraphBody, HeatScale, HeatmapBody, NodeKind, Rgb,
};
use super::svg::{
    LABEL_PT, LEGEND_PT, MARGIN, Measure, NOTE_PT, PT_PER_IN, TICK_PT, TITLE_PT, esc, fit_text, n,
    open_svg, rgb,
};
use crate::store::ordering_layout as layout;
use std::fmt::Write as _;

/// Zero on paper: white.
const PAPER: Rgb = [255, 255, 255];
/// A pruned cell.
const EMPTY_CELL: Rgb = [232, 232, 232];
/// The gap before the inputs' columns, in points.
const COL_GAP: f64 = 3.0;
const BAR_W: f64 = 7.0;
/// Window stroke widths (points on screen, for a graph a few hundred points wide) to paper points.
const WIDTH_SCALE: f64 = 0.45;

/// The title lines, the notes' lines and the page size in points.
struct Frame {
    w: f64,
    h: f64,
    title_lines: Vec<String>,
    note_lines: Vec<String>,
}

impl Frame {
    fn new(fig: &Figure, size: FigureSize, m: &Measure) -> Self {
        let (w, h) = (size.width_in * PT_PER_IN, size.height_in * PT_PER_IN);
        let inner = w - 2.0 * MARGIN;
        Self {
            w,
            h,
            title_lines: if fig.title.is_empty() {
                vec![]
            } else {
                m.wrap(&fig.title, TITLE_PT, inner)
            },
            note_lines: fig
                .notes
                .iter()
                .flat_map(|t| m.wrap(t, NOTE_PT, inner))
                .collect(),
        }
    }

    /// Where the body may start.
    fn top(&self) -> f64 {
        MARGIN + self.title_lines.len() as f64 * TITLE_PT * 1.25 + 3.0
    }

    /// Height of the notes at the bottom.
    fn notes_h(&self) -> f64 {
        self.note_lines.len() as f64 * NOTE_PT * 1.25
    }

    /// The notes, last line at the bottom margin; then the document's end.
    fn close(&self, s: &mut String) {
        let mut y = self.h - MARGIN - self.notes_h();
        for line in &self.note_lines {
            y += NOTE_PT * 1.25;
            let _ = writeln!(
                s,
                r##"<text x="{}" y="{}" font-size="{NOTE_PT}" fill="#404040">{}</text>"##,
                n(MARGIN),
                n(y - NOTE_PT * 0.25),
                esc(line)
            );
        }
        s.push_str("</svg>\n");
    }
}

/// The colour of value `v` on a heatmap's scale.
pub fn heat_rgb(scale: &HeatScale, v: f64) -> Rgb {
    match scale {
        HeatScale::Diverging { max_abs, .. } => layout::diverging_value(v, *max_abs, PAPER),
        // the window's scale (viridis) on paper too: the export drew Blues
        HeatScale::Sequential { lo, hi } => layout::sequential_value(v, *lo, *hi),
        HeatScale::Categorical(classes) => classes
            .get(v as usize)
            .filter(|_| v >= 0.0)
            .map_or(layout::NOT_FINITE, |c| c.color),
    }
}

/// The value range of a colour bar; `None` for classes (a legend instead).
fn bar_range(scale: &HeatScale) -> Option<(f64, f64)> {
    match scale {
        HeatScale::Diverging { max_abs, .. } => Some((-max_abs, *max_abs)),
        HeatScale::Sequential { lo, hi } => Some((*lo, *hi)),
        HeatScale::Categorical(_) => None,
    }
}

/// Height of a class's row in a heatmap's legend.
const CLASS_ROW: f64 = LEGEND_PT * 1.4;

/// The heatmap figure: row labels left, column labels on top, the grid (one `cell` rect per
/// entry), the diagonal, the colour bar with its three labels (or the classes' legend) right, the
/// column title under it.
pub fn heatmap_svg(fig: &Figure, hm: &HeatmapBody, size: FigureSize) -> String {
    let m = Measure::new();
    let fr = Frame::new(fig, size, &m);
    let mut s = open_svg(&fig.title, &fr.title_lines, size);
    let (rows, cols) = hm.shape();
    if rows == 0 || cols == 0 {
        fr.close(&mut s);
        return s;
    }
    let label_w = |labels: &[String]| {
        labels
            .iter()
            .map(|l| m.width(l, TICK_PT))
            .fold(0.0, f64::max)
    };
    let row_label_w = label_w(&hm.row_labels) + 2.0;
    let col_label_w = label_w(&hm.col_labels) + 2.0;
    let range = bar_range(&hm.scale);
    let bar_labels: Vec<String> = match (range, &hm.scale) {
        (Some((lo, hi)), _) => [hi, (lo + hi) / 2.0, lo].map(layout::bar_label).to_vec(),
        (None, HeatScale::Categorical(classes)) => classes.iter().map(|c| c.name.clone()).collect(),
        (None, HeatScale::Diverging { .. } | HeatScale::Sequential { .. }) => vec![],
    };
    // the bar's title, written along it right of its labels (what the colour is)
    let bar_title = match &hm.scale {
        HeatScale::Diverging { quantity, .. } => quantity.as_str(),
        HeatScale::Sequential { .. } | HeatScale::Categorical(_) => "",
    };
    let bar_title_w = if bar_title.is_empty() {
        0.0
    } else {
        LABEL_PT * 1.4
    };
    let bar_label_w = bar_labels
        .iter()
        .map(|l| m.width(l, TICK_PT))
        .fold(0.0, f64::max)
        + 3.0
        + bar_title_w;
    let row_title_w = LABEL_PT * 1.3;
    let gap = if hm.gap_before_col.is_some() {
        COL_GAP
    } else {
        0.0
    };
    let top = fr.top() + TICK_PT * 1.3;
    let bottom = fr.h - MARGIN - fr.notes_h() - LABEL_PT * 1.5;
    let avail_w = fr.w - 2.0 * MARGIN - row_title_w - row_label_w - gap - 6.0 - BAR_W - bar_label_w;
    let avail_h = bottom - top;
    // a matrix (rows and columns the same things: the answer grid, a layer's weights) keeps square
    // cells; another grid fills the room, its cells stretched at most 4:1 (square, four snapshots of
    // 48 frequencies were a strip a tenth of the page wide: a helper's audit)
    let square = rows == cols || hm.gap_before_col.is_some() || hm.diagonal;
    let (fit_w, fit_h) = (avail_w / cols as f64, avail_h / rows as f64);
    let (cw, ch) = if square {
        let c = fit_w.min(fit_h).max(0.5);
        (c, c)
    } else {
        (
            fit_w.min(4.0 * fit_h).max(0.5),
            fit_h.min(4.0 * fit_w).max(0.5),
        )
    };
    let grid_w = cols as f64 * cw + gap;
    let grid_h = rows as f64 * ch;
    let block_w = row_title_w + row_label_w + grid_w + 6.0 + BAR_W + bar_label_w;
    let left = MARGIN + ((fr.w - 2.0 * MARGIN - block_w) / 2.0).max(0.0);
    let gx = left + row_title_w + row_label_w;
    let gy = top;
    let col_x = |c: usize| {
        let g = match hm.gap_before_col {
            Some(b) if c >= b => gap,
            Some(_) | None => 0.0,
        };
        gx + c as f64 * cw + g
    };
    // cells; a hairline of the cell's own colour closes the seams a renderer's anti-aliasing leaves
    s.push_str("<g stroke-width=\"0.15\">\n");
    for r in 0..rows {
        for c in 0..cols {
            let fill = match hm.values.get(r * cols + c).copied().flatten() {
                Some(v) => heat_rgb(&hm.scale, v),
                None => EMPTY_CELL,
            };
            let f = rgb(fill);
            let _ = writeln!(
                s,
                r#"<rect class="cell" x="{}" y="{}" width="{}" height="{}" fill="{f}" stroke="{f}"/>"#,
                n(col_x(c)),
                n(gy + r as f64 * ch),
                n(cw),
                n(ch)
            );
        }
    }
    s.push_str("</g>\n");
    // each cell's text (the Ordering grid's mean D), in black or white as its colour needs
    let text_pt = (ch * 0.45).min(TICK_PT).min(cw * 0.3).max(3.0);
    for r in 0..rows {
        for c in 0..cols {
            let Some(text) = hm.texts.get(r * cols + c).filter(|t| !t.is_empty()) else {
                continue;
            };
            let fill = match hm.values.get(r * cols + c).copied().flatten() {
                Some(v) => heat_rgb(&hm.scale, v),
                None => EMPTY_CELL,
            };
            cell_text(
                &mut s,
                &m,
                text,
                (col_x(c), gy + r as f64 * ch, cw, ch),
                text_pt,
                fill,
            );
        }
    }
    // a dot in each empty (pruned) cell, as the window draws it, when the cells are large enough
    if cw.min(ch) >= 4.0 {
        s.push_str("<g fill=\"#9a9a9a\">\n");
        for r in 0..rows {
            for c in 0..cols {
                if hm.values.get(r * cols + c).copied().flatten().is_none() {
                    let _ = writeln!(
                        s,
                        r#"<circle cx="{}" cy="{}" r="{}"/>"#,
                        n(col_x(c) + cw / 2.0),
                        n(gy + (r as f64 + 0.5) * ch),
                        n((cw.min(ch) * 0.06).min(1.2))
                    );
                }
            }
        }
        s.push_str("</g>\n");
    }
    // frames around the square part and the inputs' part
    let split = hm.gap_before_col.unwrap_or(cols).min(cols);
    for (a, b) in [(0, split), (split, cols)] {
        if b > a {
            let _ = writeln!(
                s,
                r##"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#000000" stroke-width="0.5"/>"##,
                n(col_x(a)),
                n(gy),
                n((b - a) as f64 * cw),
                n(grid_h)
            );
        }
    }
    if hm.diagonal {
        let k = rows.min(split);
        if k > 0 {
            let _ = writeln!(
                s,
                r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#606060" stroke-width="0.5" stroke-dasharray="2 1.5"/>"##,
                n(gx),
                n(gy),
                n(col_x(k - 1) + cw),
                n(gy + k as f64 * ch)
            );
        }
    }
    // labels, thinned so that they do not overlap
    let every_row = ((TICK_PT * 1.05 / ch).ceil() as usize).max(1);
    let every_col = ((col_label_w / cw).ceil() as usize).max(1);
    let _ = writeln!(s, r##"<g font-size="{TICK_PT}" fill="#000000">"##);
    for r in (0..rows).step_by(every_row) {
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            n(gx - 2.0),
            n(gy + (r as f64 + 0.5) * ch + TICK_PT * 0.35),
            esc(&hm.row_labels[r])
        );
    }
    for c in (0..cols).step_by(every_col) {
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            n(col_x(c) + cw / 2.0),
            n(gy - 2.0),
            esc(&hm.col_labels[c])
        );
    }
    s.push_str("</g>\n");
    // titles: the columns' under the grid, the rows' rotated on the left
    let _ = writeln!(
        s,
        r##"<text x="{}" y="{}" font-size="{LABEL_PT}" text-anchor="middle" fill="#000000">{}</text>"##,
        n(gx + grid_w / 2.0),
        n(gy + grid_h + LABEL_PT * 1.2),
        esc(&fit_text(&m, &hm.col_title, LABEL_PT, fr.w - 2.0 * MARGIN))
    );
    let _ = writeln!(
        s,
        r##"<text x="0" y="0" font-size="{LABEL_PT}" text-anchor="middle" fill="#000000" transform="translate({} {}) rotate(-90)">{}</text>"##,
        n(left + LABEL_PT * 0.9),
        n(gy + grid_h / 2.0),
        esc(&fit_text(&m, &hm.row_title, LABEL_PT, grid_h.max(30.0)))
    );
    let bx = col_x(cols - 1) + cw + 6.0;
    match (range, &hm.scale) {
        (Some(range), _) => {
            colour_bar(&mut s, &hm.scale, range, &bar_labels, bx, gy, grid_h);
            if !bar_title.is_empty() {
                // rotated to read upwards, centred on the bar, right of its widest label
                let bar_h = grid_h.max(24.0);
                let x = bx + BAR_W + bar_label_w - bar_title_w + LABEL_PT * 0.9;
                let _ = writeln!(
                    s,
                    r##"<text class="bar-title" x="0" y="0" font-size="{LABEL_PT}" text-anchor="middle" fill="#000000" transform="translate({} {}) rotate(-90)">{}</text>"##,
                    n(x),
                    n(gy + bar_h / 2.0),
                    esc(&fit_text(
                        &m,
                        bar_title,
                        LABEL_PT,
                        (bar_h + 40.0).min(fr.h - 2.0 * MARGIN)
                    ))
                );
            }
        }
        (None, HeatScale::Categorical(classes)) => {
            // the classes' legend: a swatch and the name, one a row from the grid's top
            for (i, c) in classes.iter().enumerate() {
                let y = gy + i as f64 * CLASS_ROW;
                let f = rgb(c.color);
                let _ = writeln!(
                    s,
                    r##"<rect class="class" x="{}" y="{}" width="{BAR_W}" height="{}" fill="{f}" stroke="#606060" stroke-width="0.3"/>"##,
                    n(bx),
                    n(y),
                    n(LEGEND_PT)
                );
                let _ = writeln!(
                    s,
                    r##"<text class="class-label" x="{}" y="{}" font-size="{TICK_PT}" fill="#000000">{}</text>"##,
                    n(bx + BAR_W + 2.0),
                    n(y + LEGEND_PT * 0.8),
                    esc(&c.name)
                );
            }
        }
        (None, HeatScale::Diverging { .. } | HeatScale::Sequential { .. }) => {}
    }
    fr.close(&mut s);
    s
}

/// The colour bar of `scale` over `(lo, hi)` at `(bx, gy)`, as tall as the grid (at least 24 pt), high
/// end on top, with its three `labels` (top, middle, bottom) right of it.
fn colour_bar(
    s: &mut String,
    scale: &HeatScale,
    (lo, hi): (f64, f64),
    labels: &[String],
    bx: f64,
    gy: f64,
    grid_h: f64,
) {
    let bar_h = grid_h.max(24.0);
    let step_h = bar_h / layout::BAR_STEPS as f64;
    for i in 0..layout::BAR_STEPS {
        let f = rgb(heat_rgb(scale, layout::bar_step_value(lo, hi, i)));
        let _ = writeln!(
            s,
            r#"<rect class="bar" x="{}" y="{}" width="{BAR_W}" height="{}" fill="{f}" stroke="{f}" stroke-width="0.15"/>"#,
            n(bx),
            n(gy + i as f64 * step_h),
            n(step_h)
        );
    }
    let _ = writeln!(
        s,
        r##"<rect x="{}" y="{}" width="{BAR_W}" height="{}" fill="none" stroke="#000000" stroke-width="0.4"/>"##,
        n(bx),
        n(gy),
        n(bar_h)
    );
    let lx = bx + BAR_W + 2.0;
    for (label, y) in labels.iter().zip([
        gy + TICK_PT * 0.7,
        gy + bar_h / 2.0 + TICK_PT * 0.35,
        gy + bar_h,
    ]) {
        let _ = writeln!(
            s,
            r##"<text class="bar-label" x="{}" y="{}" font-size="{TICK_PT}" fill="#000000">{}</text>"##,
            n(lx),
            n(y),
            esc(label)
        );
    }
}

/// A cell of a class grid with no data.
const NO_DATA: Rgb = [245, 245, 245];

/// Black or white, whichever reads better on `c` (by its luma).
fn text_on(c: Rgb) -> &'static str {
    let luma = 0.299 * f64::from(c[0]) + 0.587 * f64::from(c[1]) + 0.114 * f64::from(c[2]);
    if luma > 140.0 { "#000000" } else { "#ffffff" }
}

/// `text` centred in the cell `(x, y, width, height)` at `pt` points, cut to its width, in black
/// or white as its `fill` needs (class `cell-text`).
fn cell_text(
    s: &mut String,
    m: &Measure,
    text: &str,
    (x, y, w, h): (f64, f64, f64, f64),
    pt: f64,
    fill: Rgb,
) {
    let _ = writeln!(
        s,
        r#"<text class="cell-text" x="{}" y="{}" font-size="{}" text-anchor="middle" fill="{}">{}</text>"#,
        n(x + w / 2.0),
        n(y + h / 2.0 + pt * 0.35),
        n(pt),
        text_on(fill),
        esc(&fit_text(m, text, pt, w - 1.0))
    );
}

/// The class grid figure: row labels left with the rows' title rotated beside them, the grid (one
/// `cell` rect per entry, its text centred in it), column labels and the columns' title under it, and
/// the legend (`key` swatches with the class names) under that.
pub fn class_grid_svg(fig: &Figure, g: &ClassGridBody, size: FigureSize) -> String {
    let m = Measure::new();
    let fr = Frame::new(fig, size, &m);
    let mut s = open_svg(&fig.title, &fr.title_lines, size);
    let (rows, cols) = g.shape();
    if rows == 0 || cols == 0 {
        fr.close(&mut s);
        return s;
    }
    let widest =
        |labels: &[String], pt: f64| labels.iter().map(|l| m.width(l, pt)).fold(0.0, f64::max);
    let row_label_w = widest(&g.row_labels, TICK_PT) + 3.0;
    let row_title_w = LABEL_PT * 1.3;
    // the legend's entries laid out left to right, wrapping
    let inner = fr.w - 2.0 * MARGIN;
    let swatch = LEGEND_PT;
    let mut key_rows: Vec<Vec<(usize, f64)>> = vec![vec![]];
    let mut x = 0.0;
    for (i, (name, _)) in g.classes.iter().enumerate() {
        let w = swatch + 2.0 + m.width(name, LEGEND_PT) + 8.0;
        if x > 0.0 && x + w > inner {
            key_rows.push(vec![]);
            x = 0.0;
        }
        if let Some(row) = key_rows.last_mut() {
            row.push((i, x));
        }
        x += w;
    }
    let key_h = key_rows.len() as f64 * LEGEND_PT * 1.5;
    let top = fr.top() + 2.0;
    let bottom = fr.h - MARGIN - fr.notes_h() - key_h - TICK_PT * 1.4 - LABEL_PT * 1.5;
    let avail_w = inner - row_title_w - row_label_w;
    let cell_w = (avail_w / cols as f64).max(1.0);
    let cell_h = ((bottom - top) / rows as f64).max(1.0);
    let grid_w = cols as f64 * cell_w;
    let grid_h = rows as f64 * cell_h;
    let left = MARGIN;
    let gx = left + row_title_w + row_label_w;
    let gy = top;
    let text_pt = (cell_h * 0.45).min(TICK_PT).min(cell_w * 0.3).max(3.0);
    s.push_str("<g stroke=\"#ffffff\" stroke-width=\"0.6\">\n");
    for r in 0..rows {
        for c in 0..cols {
            let class = g.cells.get(r * cols + c).copied().flatten();
            let fill = class
                .and_then(|k| g.classes.get(k))
                .map_or(NO_DATA, |(_, c)| *c);
            let _ = writeln!(
                s,
                r#"<rect class="cell" x="{}" y="{}" width="{}" height="{}" fill="{}"/>"#,
                n(gx + c as f64 * cell_w),
                n(gy + r as f64 * cell_h),
                n(cell_w),
                n(cell_h),
                rgb(fill)
            );
        }
    }
    s.push_str("</g>\n");
    for r in 0..rows {
        for c in 0..cols {
            let Some(text) = g.texts.get(r * cols + c).filter(|t| !t.is_empty()) else {
                continue;
            };
            let fill = g
                .cells
                .get(r * cols + c)
                .copied()
                .flatten()
                .and_then(|k| g.classes.get(k))
                .map_or(NO_DATA, |(_, c)| *c);
            cell_text(
                &mut s,
                &m,
                text,
                (
                    gx + c as f64 * cell_w,
                    gy + r as f64 * cell_h,
                    cell_w,
                    cell_h,
                ),
                text_pt,
                fill,
            );
        }
    }
    let _ = writeln!(s, r##"<g font-size="{TICK_PT}" fill="#000000">"##);
    for (r, label) in g.row_labels.iter().enumerate() {
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            n(gx - 2.0),
            n(gy + (r as f64 + 0.5) * cell_h + TICK_PT * 0.35),
            esc(label)
        );
    }
    let every_col = ((widest(&g.col_labels, TICK_PT) + 3.0) / cell_w)
        .ceil()
        .max(1.0) as usize;
    for (c, label) in g.col_labels.iter().enumerate().step_by(every_col) {
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            n(gx + (c as f64 + 0.5) * cell_w),
            n(gy + grid_h + TICK_PT * 1.1),
            esc(label)
        );
    }
    s.push_str("</g>\n");
    let col_title_y = gy + grid_h + TICK_PT * 1.2 + LABEL_PT * 1.1;
    let _ = writeln!(
        s,
        r##"<text x="{}" y="{}" font-size="{LABEL_PT}" text-anchor="middle" fill="#000000">{}</text>"##,
        n(gx + grid_w / 2.0),
        n(col_title_y),
        esc(&fit_text(&m, &g.col_title, LABEL_PT, inner))
    );
    let _ = writeln!(
        s,
        r##"<text x="0" y="0" font-size="{LABEL_PT}" text-anchor="middle" fill="#000000" transform="translate({} {}) rotate(-90)">{}</text>"##,
        n(left + LABEL_PT * 0.9),
        n(gy + grid_h / 2.0),
        esc(&fit_text(&m, &g.row_title, LABEL_PT, grid_h.max(30.0)))
    );
    for (i, row) in key_rows.iter().enumerate() {
        let cy = col_title_y + LEGEND_PT * (1.2 + 1.5 * i as f64);
        for &(k, x) in row {
            let (name, c) = &g.classes[k];
            let _ = writeln!(
                s,
                r##"<rect class="key" x="{}" y="{}" width="{swatch}" height="{swatch}" fill="{}" stroke="#808080" stroke-width="0.3"/>"##,
                n(MARGIN + x),
                n(cy - swatch * 0.8),
                rgb(*c)
            );
            let _ = writeln!(
                s,
                r##"<text x="{}" y="{}" font-size="{LEGEND_PT}" fill="#000000">{}</text>"##,
                n(MARGIN + x + swatch + 2.0),
                n(cy),
                esc(name)
            );
        }
    }
    fr.close(&mut s);
    s
}

/// One entry of the graph's key: a mark and its text.
enum KeyMark {
    Dot(Rgb),
    Line(Rgb),
    ArcUp,
    ArcDown,
}

/// The graph figure: nodes on one line (`node` circles with their names, thinned when crowded), every drawn edge one
/// `path` of class `edge` (forward ones above the line, backward ones below with a `halo` path under
/// them), and a key under the graph.
pub fn graph_svg(fig: &Figure, g: &GraphBody, size: FigureSize) -> String {
    let m = Measure::new();
    let fr = Frame::new(fig, size, &m);
    let mut s = open_svg(&fig.title, &fr.title_lines, size);
    // the key: entries laid out in rows
    let has = |k: NodeKind| g.nodes.iter().any(|nd| nd.kind == k);
    let mut key: Vec<(KeyMark, &str)> = vec![];
    if has(NodeKind::Input) {
        key.push((KeyMark::Dot(layout::INPUT_FILL), "inputs"));
    }
    if has(NodeKind::Output) {
        key.push((KeyMark::Dot(layout::OUTPUT_FILL), "outputs"));
    }
    key.extend([
        (KeyMark::Line(layout::POSITIVE), "w > 0"),
        (KeyMark::Line(layout::NEGATIVE), "w < 0"),
        (KeyMark::ArcUp, "above: forward"),
        (KeyMark::ArcDown, "below: backward (1 − D)"),
    ]);
    const SAMPLE: f64 = 10.0;
    let row_h = LEGEND_PT * 1.4;
    let mut key_rows: Vec<Vec<(usize, f64)>> = vec![vec![]];
    let mut at = 0.0;
    for (i, (_, text)) in key.iter().enumerate() {
        let ew = SAMPLE + 2.0 + m.width(text, LEGEND_PT) + 7.0;
        if at > 0.0 && at + ew > fr.w - 2.0 * MARGIN {
            key_rows.push(vec![]);
            at = 0.0;
        }
        if let Some(row) = key_rows.last_mut() {
            row.push((i, at));
        }
        at += ew;
    }
    let key_h = key_rows.len() as f64 * row_h;
    let top = fr.top();
    let bottom = fr.h - MARGIN - fr.notes_h() - key_h - 2.0;
    let margin_x = MARGIN + 6.0;
    let span_max = (fr.w - 2.0 * margin_x).max(1.0);
    let max_slot = g.nodes.iter().map(|nd| nd.slot).fold(0.0, f64::max);
    let spacing = span_max / max_slot.max(1.0);
    let node_r = (spacing * 0.4).clamp(1.2, 4.5);
    let label_h = TICK_PT * 1.2;
    let y0 = top + (bottom - top - label_h) * 0.56;
    let up = (y0 - top - 2.0).max(1.0);
    let down = (bottom - y0 - node_r - label_h).max(1.0);
    let x_of = |slot: f64| margin_x + slot * spacing;
    let max_abs = g.max_abs.max(f64::MIN_POSITIVE);
    s.push_str("<g fill=\"none\" stroke-linecap=\"round\">\n");
    for e in &g.edges {
        let rel = (e.weight.abs() / max_abs).min(1.0) as f32;
        let color = rgb(if e.weight < 0.0 {
            layout::NEGATIVE
        } else {
            layout::POSITIVE
        });
        let width = f64::from(layout::edge_width(rel)) * WIDTH_SCALE;
        let (Some(from), Some(to)) = (g.nodes.get(e.from), g.nodes.get(e.to)) else {
            continue;
        };
        let (sx, rx) = (x_of(from.slot), x_of(to.slot));
        if e.from == e.to {
            let rad = f64::from(layout::self_loop_radius(rel, node_r as f32));
            let cy = y0 - node_r - rad + 0.5;
            let _ = writeln!(
                s,
                r#"<path class="edge self-loop" d="M {} {} a {} {} 0 1 0 {} 0 a {} {} 0 1 0 {} 0" stroke="{color}" stroke-width="{}" stroke-opacity="0.8"/>"#,
                n(rx - rad),
                n(cy),
                n(rad),
                n(rad),
                n(2.0 * rad),
                n(rad),
                n(rad),
                n(-2.0 * rad),
                n(width)
            );
            continue;
        }
        let (p, backward) = layout::arc_points(
            sx as f32,
            rx as f32,
            y0 as f32,
            up as f32,
            down as f32,
            span_max as f32,
        );
        let d = format!(
            "M {} {} Q {} {} {} {}",
            n(f64::from(p[0][0])),
            n(f64::from(p[0][1])),
            n(f64::from(p[1][0])),
            n(f64::from(p[1][1])),
            n(f64::from(p[2][0])),
            n(f64::from(p[2][1]))
        );
        if backward {
            let _ = writeln!(
                s,
                r##"<path class="halo" d="{d}" stroke="#3c3c3c" stroke-opacity="0.22" stroke-width="{}"/>"##,
                n(width + 1.4)
            );
            let _ = writeln!(
                s,
                r#"<path class="edge backward" d="{d}" stroke="{color}" stroke-width="{}"/>"#,
                n(width)
            );
        } else {
            let _ = writeln!(
                s,
                r#"<path class="edge forward" d="{d}" stroke="{color}" stroke-width="{}" stroke-opacity="{}"/>"#,
                n(width),
                n(f64::from(layout::forward_alpha(rel)))
            );
        }
    }
    s.push_str("</g>\n");
    // nodes and, when they fit, their names
    let name_w = g
        .nodes
        .iter()
        .map(|nd| m.width(&nd.name, TICK_PT))
        .fold(0.0, f64::max);
    // names are thinned (every k-th place) so that they never overlap
    let every = ((name_w + 1.5) / spacing).ceil().max(1.0);
    for nd in &g.nodes {
        let fill = match nd.kind {
            NodeKind::Input => layout::INPUT_FILL,
            NodeKind::Hidden => PAPER,
            NodeKind::Output => layout::OUTPUT_FILL,
        };
        let x = x_of(nd.slot);
        let _ = writeln!(
            s,
            r##"<circle class="node" cx="{}" cy="{}" r="{}" fill="{}" stroke="#000000" stroke-width="0.5"/>"##,
            n(x),
            n(y0),
            n(node_r),
            rgb(fill)
        );
        if (nd.slot / every).fract() == 0.0 {
            let _ = writeln!(
                s,
                r##"<text x="{}" y="{}" font-size="{TICK_PT}" text-anchor="middle" fill="#000000">{}</text>"##,
                n(x),
                n(y0 + node_r + TICK_PT * 0.95),
                esc(&nd.name)
            );
        }
    }
    // the key
    for (r, row) in key_rows.iter().enumerate() {
        let cy = bottom + 2.0 + (r as f64 + 0.5) * row_h;
        for &(i, dx) in row {
            let x = MARGIN + dx;
            let (mark, text) = &key[i];
            match mark {
                KeyMark::Dot(c) => {
                    let _ = writeln!(
                        s,
                        r##"<circle cx="{}" cy="{}" r="2.5" fill="{}" stroke="#000000" stroke-width="0.4"/>"##,
                        n(x + SAMPLE / 2.0),
                        n(cy),
                        rgb(*c)
                    );
                }
                KeyMark::Line(c) => {
                    let _ = writeln!(
                        s,
                        r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1.5"/>"#,
                        n(x),
                        n(cy),
                        n(x + SAMPLE),
                        n(cy),
                        rgb(*c)
                    );
                }
                KeyMark::ArcUp | KeyMark::ArcDown => {
                    let dy = if matches!(mark, KeyMark::ArcUp) {
                        -5.0
                    } else {
                        5.0
                    };
                    let base = cy - dy / 4.0;
                    let d = format!(
                        "M {} {} Q {} {} {} {}",
                        n(x),
                        n(base),
                        n(x + SAMPLE / 2.0),
                        n(base + dy),
                        n(x + SAMPLE),
                        n(base)
                    );
                    if matches!(mark, KeyMark::ArcDown) {
                        let _ = writeln!(
                            s,
                            r##"<path d="{d}" fill="none" stroke="#3c3c3c" stroke-opacity="0.22" stroke-width="2.4"/>"##
                        );
                    }
                    let _ = writeln!(
                        s,
                        r##"<path d="{d}" fill="none" stroke="#505050" stroke-width="1"/>"##
                    );
                }
            }
            let _ = writeln!(
                s,
                r##"<text x="{}" y="{}" font-size="{LEGEND_PT}" fill="#000000">{}</text>"##,
                n(x + SAMPLE + 2.0),
                n(cy + LEGEND_PT * 0.35),
                esc(text)
            );
        }
    }
    fr.close(&mut s);
    s
}
