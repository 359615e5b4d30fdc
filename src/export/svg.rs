//! A [`Figure`] as SVG, written by hand with `f32` coordinates.
//!
//! Why not plotters (stack.md): its SVG backend rounds every coordinate to a whole pixel, which shows
//! as kinked curves and uneven ticks in a vector figure that a paper scales up; and its text needs a
//! font feature of its own. The SVG needed here is small (paths, lines, circles, text), so it is
//! written directly, in points (1/72 in) with two decimals, and the text is measured with the
//! bundled font ([`FONT_TTF`]) so that labels, the legend and the notes are laid out to fit.
//!
//! Layout: the title on top; the y label, tick labels and ticks on the left (and, for a figure with
//! a second y axis, on the right); the x axis, its label and the notes at the bottom; the legend,
//! in one column or several, in an inner corner of the plot where it covers no curve or marker line,
//! or under the plot in as few rows as the width allows when every corner would hide data (see
//! `LegendGrid`); marker labels stand in rows
//! above the plot, each on a thin line up from its dashed marker, where no curve runs. Ticks are
//! 1-2-5 steps on linear axes, decades (labelled 10ⁿ) with minor ticks at 2..9 on log axes.

use super::figure::{Axis, BAR_WIDTH, Body, Figure, FigureSize, Rgb, SeriesKind, Span};
use std::fmt::Write as _;

/// The font every export uses (DejaVu Sans; licence in `assets/DejaVuSans-LICENSE.txt`), compiled in
/// so that text renders on a machine with no fonts.
pub const FONT_TTF: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
/// The bundled font's family name, as the SVG names it.
pub const FONT_FAMILY: &str = "DejaVu Sans";

/// Points per inch (SVG user units here are points).
pub(super) const PT_PER_IN: f64 = 72.0;
pub(super) const TITLE_PT: f64 = 9.0;
pub(super) const LABEL_PT: f64 = 8.0;
pub(super) const TICK_PT: f64 = 7.0;
pub(super) const LEGEND_PT: f64 = 7.0;
pub(super) const NOTE_PT: f64 = 6.5;
const MARKER_PT: f64 = 7.0;
/// The height of a row of marker labels above the plot.
const MARKER_ROW: f64 = MARKER_PT * 1.3;
/// At most this many rows of marker labels; a label that finds no room in them is named in a note.
const MARKER_ROWS: usize = 3;
pub(super) const MARGIN: f64 = 5.0;
const TICK_LEN: f64 = 3.0;
/// How strongly a smoothed line's raw points are drawn behind it ([`super::figure::Series::smoothed`]).
const RAW_OPACITY: f64 = 0.3;

/// Text widths from the bundled font's advances.
pub(super) struct Measure {
    face: Option<ttf_parser::Face<'static>>,
}

impl Measure {
    pub(super) fn new() -> Self {
        Self {
            // The bundled font is a valid TrueType file (tests parse it); should it fail, widths fall
            // back to an estimate instead of failing the export.
            face: ttf_parser::Face::parse(FONT_TTF, 0).ok(),
        }
    }

    /// Width of `text` at `size` points.
    pub(super) fn width(&self, text: &str, size: f64) -> f64 {
        let Some(face) = &self.face else {
            return text.chars().count() as f64 * 0.6 * size;
        };
        let upem = f64::from(face.units_per_em());
        let units: f64 = text
            .chars()
            .map(|c| {
                face.glyph_index(c)
                    .and_then(|g| face.glyph_hor_advance(g))
                    .map_or(upem * 0.6, f64::from)
            })
            .sum();
        units * size / upem
    }

    /// `text` broken at spaces into lines no wider than `max` (a single word may be wider).
    pub(super) fn wrap(&self, text: &str, size: f64, max: f64) -> Vec<String> {
        let mut lines: Vec<String> = vec![];
        let mut line = String::new();
        for word in text.split(' ') {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if !line.is_empty() && self.width(&candidate, size) > max {
                lines.push(std::mem::take(&mut line));
                line = word.to_string();
            } else {
                line = candidate;
            }
        }
        if !line.is_empty() || lines.is_empty() {
            lines.push(line);
        }
        lines
    }
}

/// Escape text for XML content and attribute values.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

pub(super) fn rgb(c: Rgb) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

/// A coordinate with two decimals, as `f32` (enough for 1/7200 in).
pub(super) fn n(v: f64) -> String {
    let v = v as f32;
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// An axis' drawn range in data units and the mapping to the page.
#[derive(Clone, Copy, Debug)]
struct Scale {
    lo: f64,
    hi: f64,
    log: bool,
}

impl Scale {
    fn t(&self, v: f64) -> f64 {
        if self.log { v.log10() } else { v }
    }

    /// Fraction of the way from `lo` to `hi`.
    fn frac(&self, v: f64) -> f64 {
        (self.t(v) - self.t(self.lo)) / (self.t(self.hi) - self.t(self.lo))
    }
}

/// The range an axis shows: its fixed range, or the data's with a small margin. Always finite,
/// non-empty and positive on a log axis.
fn axis_scale(axis: &Axis, values: &[f64]) -> Scale {
    if let Some((lo, hi)) = axis.range
        && axis.drawable(lo)
        && axis.drawable(hi)
        && hi > lo
    {
        return Scale {
            lo,
            hi,
            log: axis.log,
        };
    }
    let (mut lo, mut hi) = values
        .iter()
        .filter(|v| axis.drawable(**v))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if axis.log {
        if lo > hi {
            (lo, hi) = (1.0, 10.0);
        } else if lo == hi {
            (lo, hi) = (lo / 10f64.sqrt(), hi * 10f64.sqrt());
        }
        let (a, b) = (lo.log10(), hi.log10());
        let pad = (b - a) * 0.04;
        Scale {
            lo: 10f64.powf(a - pad),
            hi: 10f64.powf(b + pad),
            log: true,
        }
    } else {
        if lo > hi {
            (lo, hi) = (0.0, 1.0);
        } else if lo == hi {
            let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
            (lo, hi) = (lo - d, hi + d);
        }
        let pad = (hi - lo) * 0.04;
        Scale {
            lo: lo - pad,
            hi: hi + pad,
            log: false,
        }
    }
}

/// A tick: its value, its label (empty for a minor tick) and whether it is major.
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    pub value: f64,
    pub label: String,
    pub major: bool,
}

/// A 1-2-5 step giving about `target` intervals over `span`.
fn nice_step(span: f64, target: f64) -> f64 {
    let raw = span / target.max(1.0);
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f < 1.5 {
        1.0
    } else if f < 3.5 {
        2.0
    } else if f < 7.5 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

fn superscript(e: i32) -> String {
    e.to_string()
        .chars()
        .map(|c| match c {
            '-' => '⁻',
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            _ => '⁹',
        })
        .collect()
}

/// A tick value with `decimals` decimals; large or tiny values as m×10ⁿ.
fn tick_label(v: f64, decimals: usize) -> String {
    let a = v.abs();
    if a == 0.0 {
        return format!("{:.decimals$}", 0.0);
    }
    if !(1e-4..1e5).contains(&a) {
        return power_label(v);
    }
    format!("{v:.decimals$}")
}

/// A finite non-zero `v` as a power of ten, `m×10ⁿ` (`10ⁿ` when m is 1), m to two decimals without
/// trailing zeros: `2×10⁵`, `10⁻³`, `-2.5×10⁶` (the figures' and the window's log axes share it).
pub fn power_label(v: f64) -> String {
    let mut e = v.abs().log10().floor() as i32;
    // a logarithm a hair off (1000 as 2.9999…) would write 10×10²
    if (v / 10f64.powi(e)).abs() >= 9.995 {
        e += 1;
    }
    let m = v / 10f64.powi(e);
    let m = format!("{m:.2}");
    let m = m.trim_end_matches('0').trim_end_matches('.');
    if m == "1" {
        format!("10{}", superscript(e))
    } else if m == "-1" {
        format!("-10{}", superscript(e))
    } else {
        format!("{m}×10{}", superscript(e))
    }
}

/// Decimals that show every multiple of a 1-2-5 `step` exactly: 1 for 0.1, 0.2 and 0.5 alike (the
/// window's axes too: rounding the log there gave 0 for 0.5, so a mark at 0.5 read "0").
pub fn step_decimals(step: f64) -> usize {
    if !(step.is_finite() && step > 0.0) {
        return 0;
    }
    // (the 1e-9 keeps a power of ten whose log comes out a hair off at its own count)
    (-step.log10() - 1e-9).ceil().clamp(0.0, 12.0) as usize
}

/// Ticks of a linear range: 1-2-5 steps, about one per `target` interval, and at least two where a
/// finer step gives them (a PCA's ±1.8 on a short axis had the one tick "0": no scale).
pub fn linear_ticks(lo: f64, hi: f64, target: f64) -> Vec<Tick> {
    let mut ticks = ticks_by(lo, hi, target);
    let mut finer = target;
    for _ in 0..3 {
        if ticks.len() >= 2 {
            break;
        }
        finer *= 2.0;
        ticks = ticks_by(lo, hi, finer);
    }
    ticks
}

fn ticks_by(lo: f64, hi: f64, target: f64) -> Vec<Tick> {
    let step = nice_step(hi - lo, target);
    if !(step.is_finite() && step > 0.0) {
        return vec![];
    }
    let decimals = step_decimals(step);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last)
        .take(100)
        .map(|k| {
            let v = k as f64 * step;
            // snap values like 0.30000000000000004
            let v = if v.abs() < step * 1e-9 { 0.0 } else { v };
            Tick {
                value: v,
                label: tick_label(v, decimals),
                major: true,
            }
        })
        .collect()
}

/// Ticks of a log range: decades (labelled 10ⁿ, every k-th when there are many) with minor ticks at
/// 2..9; when fewer than two decades fall inside, 1-2-5 values are labelled instead.
pub fn log_ticks(lo: f64, hi: f64, max_labels: usize) -> Vec<Tick> {
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    if b - a > 300 {
        return vec![];
    }
    let inside = |v: f64| v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9);
    let decades: Vec<i32> = (a..=b).filter(|&e| inside(10f64.powi(e))).collect();
    let mut ticks = vec![];
    if decades.len() >= 2 {
        let every = decades.len().div_ceil(max_labels.max(2)).max(1);
        for e in a..=b {
            let v = 10f64.powi(e);
            if inside(v) {
                let label = if (e - decades[0]).rem_euclid(every as i32) == 0 {
                    format!("10{}", superscript(e))
                } else {
                    String::new()
                };
                ticks.push(Tick {
                    value: v,
                    label,
                    major: true,
                });
            }
            if b - a <= 12 {
                for j in 2..=9 {
                    let m = f64::from(j) * v;
                    if inside(m) {
                        ticks.push(Tick {
                            value: m,
                            label: String::new(),
                            major: false,
                        });
                    }
                }
            }
        }
    } else {
        for e in a..=b {
            for j in 1..=9 {
                let v = f64::from(j) * 10f64.powi(e);
                if !inside(v) {
                    continue;
                }
                let labelled = matches!(j, 1 | 2 | 5);
                let decimals = (-e).max(0) as usize;
                ticks.push(Tick {
                    value: v,
                    label: if labelled {
                        tick_label(v, decimals)
                    } else {
                        String::new()
                    },
                    major: labelled,
                });
            }
        }
        if ticks.iter().filter(|t| !t.label.is_empty()).count() < 2 {
            // a narrow range (4.5..4.7, 300..450) holds fewer than two 1-2-5 values: label
            // evenly stepped values instead, so the axis can still be read
            return linear_ticks(lo, hi, 4.0);
        }
    }
    ticks
}

fn ticks_for(s: &Scale, len_pt: f64) -> Vec<Tick> {
    if s.log {
        log_ticks(s.lo, s.hi, (len_pt / 28.0).floor().max(2.0) as usize)
    } else {
        linear_ticks(s.lo, s.hi, (len_pt / 45.0).clamp(2.0, 8.0))
    }
}

/// The plot rectangle on the page.
#[derive(Clone, Copy, Debug)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Rect {
    fn contains(&self, p: [f64; 2]) -> bool {
        p[0] >= self.x && p[0] <= self.x + self.w && p[1] >= self.y && p[1] <= self.y + self.h
    }
}

/// Where the legend goes.
#[derive(Clone, Debug, PartialEq)]
enum LegendPlace {
    /// Inside the plot, the top-left corner of its box here, its entries in this grid.
    Inside(f64, f64, LegendGrid),
    /// Under the plot, in [`Layout::legend_below`]'s grid.
    Below,
}

/// A legend's entries in a grid: filled row by row, each column as wide as its widest entry (at
/// most the width the grid was fitted to: a longer text is cut with an ellipsis).
#[derive(Clone, Debug, PartialEq)]
struct LegendGrid {
    /// Each column's left edge, from the grid's.
    col_x: Vec<f64>,
    /// Each column's width (sample, gap and text).
    col_w: Vec<f64>,
    /// Rows of entries.
    rows: usize,
    /// From the first column's left edge to the last one's right edge.
    width: f64,
}

/// Space between two columns of a legend, in points.
const LEGEND_COL_GAP: f64 = 8.0;

impl LegendGrid {
    /// `widths` (each entry's sample, gap and text) in `cols` columns, each column at most `max_w`.
    fn new(widths: &[f64], cols: usize, max_w: f64) -> Self {
        let cols = cols.clamp(1, widths.len().max(1));
        let mut col_w = vec![0.0f64; cols];
        for (i, w) in widths.iter().enumerate() {
            col_w[i % cols] = col_w[i % cols].max(w.min(max_w));
        }
        let mut col_x = Vec::with_capacity(cols);
        let mut at = 0.0;
        for w in &col_w {
            col_x.push(at);
            at += w + LEGEND_COL_GAP;
        }
        Self {
            col_x,
            rows: widths.len().div_ceil(cols),
            width: (at - LEGEND_COL_GAP).max(0.0),
            col_w,
        }
    }

    /// The legend of the fewest rows no wider than `max_w`: `rows` rows take `n / rows` columns
    /// (rounded up), so the columns stay balanced; one column a row when even two are too wide.
    fn fit(widths: &[f64], max_w: f64) -> Self {
        let n = widths.len().max(1);
        (1..=n)
            .map(|rows| Self::new(widths, n.div_ceil(rows), max_w))
            .find(|g| g.width <= max_w + 1e-9)
            .unwrap_or_else(|| Self::new(widths, 1, max_w))
    }

    /// Entry `i`'s row and the left edge of its column.
    fn place(&self, i: usize) -> (usize, f64) {
        let cols = self.col_x.len().max(1);
        (i / cols, self.col_x[i % cols])
    }

    /// The width entry `i`'s column gives it.
    fn entry_w(&self, i: usize) -> f64 {
        self.col_w[i % self.col_w.len().max(1)]
    }

    /// The grid's height.
    fn height(&self) -> f64 {
        self.rows as f64 * LEGEND_ROW
    }
}

/// Each legend entry's width: its sample, the gap after it and its text.
fn legend_widths(fig: &Figure, m: &Measure) -> Vec<f64> {
    fig.legend_entries()
        .iter()
        .map(|s| LEGEND_SAMPLE + 3.0 + m.width(s.legend_label(), LEGEND_PT))
        .collect()
}

struct Layout {
    plot: Rect,
    xs: Scale,
    ys: Scale,
    /// The right-hand axis' range, when the figure has one ([`Figure::y2`]).
    ys2: Option<Scale>,
    x_ticks: Vec<Tick>,
    y_ticks: Vec<Tick>,
    y2_ticks: Vec<Tick>,
    title_lines: Vec<String>,
    note_lines: Vec<String>,
    /// The legend under the plot, when it goes there.
    legend_below: Option<LegendGrid>,
    y_tick_w: f64,
    y2_tick_w: f64,
}

const LEGEND_ROW: f64 = LEGEND_PT * 1.35;
const LEGEND_SAMPLE: f64 = 12.0;
const LEGEND_PAD: f64 = 3.0;

/// Everything decided before drawing: the SVG text follows from it.
/// The rotated y title's baseline stands this many label sizes left of the widest tick label: its
/// descenders ("T_mem (epochs)": the underscore, p, the brackets) reach about 0.25 of a size past
/// the baseline towards the ticks (at 0.35 they touched the speed figure's "200": a helper's audit).
const Y_TITLE_GAP: f64 = 0.5;
/// The right-hand y title (rotated as the left one, so its ascenders face the tick labels) has its
/// baseline this many label sizes right of the widest tick label: its ascent (0.76) and a gap.
const Y2_TITLE_AT: f64 = 1.05;

fn layout(
    fig: &Figure,
    size: FigureSize,
    m: &Measure,
    legend_below: bool,
    extra_notes: &[String],
    label_rows: usize,
) -> Layout {
    let (w, h) = (size.width_in * PT_PER_IN, size.height_in * PT_PER_IN);
    let inner_w = w - 2.0 * MARGIN;
    let title_lines = if fig.title.is_empty() {
        vec![]
    } else {
        m.wrap(&fig.title, TITLE_PT, inner_w)
    };
    let note_lines: Vec<String> = fig
        .notes
        .iter()
        .chain(extra_notes)
        .flat_map(|n| m.wrap(n, NOTE_PT, inner_w))
        .collect();
    let mut xv = vec![];
    let mut yv = vec![];
    let mut y2v = vec![];
    for s in &fig.series {
        let ys = if fig.on_right(s) { &mut y2v } else { &mut yv };
        for p in fig.plotted(s) {
            xv.push(p[0]);
            ys.push(p[1]);
            if p[2].is_finite() {
                ys.push(p[2]);
            }
            if s.kind == SeriesKind::Bars {
                // a bar's sides, and its base at zero where zero can be drawn
                xv.extend([p[0] - BAR_WIDTH / 2.0, p[0] + BAR_WIDTH / 2.0]);
                if fig.y_of(s).drawable(0.0) {
                    ys.push(0.0);
                }
            }
        }
    }
    xv.extend(fig.plotted_markers().map(|mk| mk.x));
    xv.extend(fig.plotted_spans().flat_map(|sp| [sp.lo, sp.hi]));
    span_headroom(&fig.y, &mut yv, fig.plotted_spans().next().is_some());
    let mut xs = axis_scale(&fig.x, &xv);
    let mut ys = axis_scale(&fig.y, &yv);
    let ys2 = fig.y2.as_ref().map(|a| axis_scale(a, &y2v));

    // marker labels stand in rows between the title and the plot, where no curve runs
    let top =
        MARGIN + title_lines.len() as f64 * TITLE_PT * 1.25 + 4.0 + label_rows as f64 * MARKER_ROW;
    // the legend under the plot: as few rows as the width allows
    let legend_below = (legend_below && !fig.legend_entries().is_empty())
        .then(|| LegendGrid::fit(&legend_widths(fig, m), inner_w));
    let bottom_text = TICK_PT * 1.2
        + LABEL_PT * 1.3
        + legend_below.as_ref().map_or(0.0, LegendGrid::height)
        + note_lines.len() as f64 * NOTE_PT * 1.25;
    let plot_h = (h - top - MARGIN - TICK_LEN - 2.0 - bottom_text).max(20.0);
    let mut y_ticks = ticks_for(&ys, plot_h);
    let tick_w = |ticks: &[Tick]| {
        ticks
            .iter()
            .map(|t| m.width(&t.label, TICK_PT))
            .fold(0.0, f64::max)
    };
    let y_tick_w = tick_w(&y_ticks);
    let y2_ticks = ys2.map_or(vec![], |s| ticks_for(&s, plot_h));
    let y2_tick_w = tick_w(&y2_ticks);
    // the y title (see `Y_TITLE_GAP`): its glyphs' height and the gap to the tick labels
    let left = MARGIN + LABEL_PT * (0.85 + Y_TITLE_GAP) + y_tick_w + 2.0 + TICK_LEN;
    // room on the right for half of the last x tick label, or for the right-hand axis: its ticks,
    // their labels and its title (see `Y2_TITLE_AT`, and its descenders' 0.25)
    let right = if ys2.is_some() {
        MARGIN + TICK_LEN + 1.5 + y2_tick_w + LABEL_PT * (Y2_TITLE_AT + 0.25)
    } else {
        MARGIN + 8.0
    };
    let plot_w = (w - left - right).max(20.0);
    if fig.equal_aspect && !xs.log && !ys.log {
        // data units per point alike on both axes: widen the range of the one with room to spare
        let (ux, uy) = ((xs.hi - xs.lo) / plot_w, (ys.hi - ys.lo) / plot_h);
        let widen = |s: &mut Scale, span: f64| {
            let mid = (s.lo + s.hi) / 2.0;
            (s.lo, s.hi) = (mid - span / 2.0, mid + span / 2.0);
        };
        if ux < uy {
            widen(&mut xs, uy * plot_w);
        } else if uy < ux {
            widen(&mut ys, ux * plot_h);
            y_ticks = ticks_for(&ys, plot_h);
        }
    }
    let x_ticks = ticks_for(&xs, plot_w);
    Layout {
        plot: Rect {
            x: left,
            y: top,
            w: plot_w,
            h: plot_h,
        },
        xs,
        ys,
        ys2,
        x_ticks,
        y_ticks,
        y2_ticks,
        title_lines,
        note_lines,
        legend_below,
        y_tick_w,
        y2_tick_w,
    }
}

impl Layout {
    /// Where bars start: zero when it is inside the y range, else the range's nearer end.
    fn bar_base(&self) -> f64 {
        if self.ys.log {
            self.ys.lo
        } else {
            0.0f64.clamp(self.ys.lo, self.ys.hi)
        }
    }

    /// A point on the left-hand axes, on the page.
    fn px(&self, p: [f64; 2]) -> [f64; 2] {
        self.px_on(p, false)
    }

    /// A point on the page: on the right-hand y axis when `right` (and the figure has one).
    fn px_on(&self, p: [f64; 2], right: bool) -> [f64; 2] {
        let ys = match self.ys2 {
            Some(s) if right => s,
            _ => self.ys,
        };
        [
            self.plot.x + self.xs.frac(p[0]) * self.plot.w,
            self.plot.y + (1.0 - ys.frac(p[1])) * self.plot.h,
        ]
    }
}

/// Page positions of everything drawn inside the plot, sampled every couple of points along lines,
/// for choosing a legend corner: the series, and the markers' dashed lines (a legend over t_val's
/// line hid where it crossed the curves).
fn occupied(fig: &Figure, l: &Layout, m: &Measure) -> Vec<[f64; 2]> {
    let mut out = vec![];
    let mut sample_line = |pts: &[[f64; 2]]| {
        for w in pts.windows(2) {
            let (a, b) = (w[0], w[1]);
            let len = ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt();
            let k = (len / 2.0).ceil().clamp(1.0, 400.0) as usize;
            for i in 0..=k {
                let t = i as f64 / k as f64;
                out.push([a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]);
            }
        }
        if pts.len() == 1 {
            out.push(pts[0]);
        }
    };
    for s in &fig.series {
        let plotted = fig.plotted(s);
        let right = fig.on_right(s);
        let px = |q: [f64; 2]| l.px_on(q, right);
        let lower: Vec<[f64; 2]> = plotted.iter().map(|p| px([p[0], p[1]])).collect();
        match s.kind {
            SeriesKind::Line | SeriesKind::Dashed => sample_line(&lower),
            SeriesKind::Points | SeriesKind::HollowPoints | SeriesKind::Rings => {
                lower.iter().for_each(|p| sample_line(&[*p]))
            }
            SeriesKind::Bars => {
                let base = l.bar_base();
                for p in &plotted {
                    sample_line(&[px([p[0], p[1]]), px([p[0], base])]);
                }
            }
            SeriesKind::Band => {
                let upper: Vec<[f64; 2]> = plotted.iter().map(|p| px([p[0], p[2]])).collect();
                sample_line(&lower);
                sample_line(&upper);
                // the fill between: a few points up each column
                for (a, b) in lower.iter().zip(&upper) {
                    let mid = [a[0], (a[1] + b[1]) / 2.0];
                    sample_line(&[*a, mid, *b]);
                }
            }
        }
    }
    for mk in fig.plotted_markers() {
        let x = l.px([mk.x, l.ys.lo])[0];
        sample_line(&[[x, l.plot.y], [x, l.plot.y + l.plot.h]]);
    }
    // the spans' names as `spans_svg` writes them: a legend at 7 in covered "underfitting" and
    // "immediate generalisation"
    let p = l.plot;
    for (sp, a, b) in span_columns(fig, l) {
        match span_name(m, &sp.label, a, b, p.h) {
            SpanName::Across(lines) => {
                for i in 0..lines.len() {
                    let y = p.y + SPAN_PT * (1.0 + 1.15 * i as f64);
                    sample_line(&[[a, y], [b, y]]);
                }
            }
            SpanName::Down(long) => {
                let x = down_x(a);
                sample_line(&[[x, p.y], [x, p.y + 0.4 * SPAN_PT + long]]);
            }
        }
    }
    out
}

/// A legend box's size around `grid`.
fn legend_box_size(grid: &LegendGrid) -> (f64, f64) {
    (
        2.0 * LEGEND_PAD + grid.width,
        2.0 * LEGEND_PAD + grid.height(),
    )
}

/// Where the legend goes inside the plot: of every grid (one row, two, … one column) and inner
/// corner whose box covers no drawn point, the smallest box (ties: fewer rows, then the corner
/// first in the order top right, top left, bottom right, bottom left); `None` when every grid
/// covers some data in every corner (or does not fit).
fn legend_corner(fig: &Figure, l: &Layout, m: &Measure) -> Option<(f64, f64, LegendGrid)> {
    let widths = legend_widths(fig, m);
    let inset = 4.0;
    let p = l.plot;
    let pts = occupied(fig, l, m);
    let mut best: Option<(f64, (f64, f64, LegendGrid))> = None;
    for rows in 1..=widths.len() {
        let grid = LegendGrid::new(&widths, widths.len().div_ceil(rows), f64::INFINITY);
        if grid.rows != rows {
            continue; // the same grid as fewer rows gave
        }
        let (bw, bh) = legend_box_size(&grid);
        if bw + 2.0 * inset > p.w || bh + 2.0 * inset > p.h {
            continue;
        }
        let area = bw * bh;
        if best.as_ref().is_some_and(|(a, _)| *a <= area) {
            continue;
        }
        let (x0, x1) = (p.x + inset, p.x + p.w - inset - bw);
        let (y0, y1) = (p.y + inset, p.y + p.h - inset - bh);
        let free = [(x1, y0), (x0, y0), (x1, y1), (x0, y1)]
            .into_iter()
            .find(|&(x, y)| {
                let r = Rect {
                    x: x - 2.0,
                    y: y - 2.0,
                    w: bw + 4.0,
                    h: bh + 4.0,
                };
                !pts.iter().any(|q| r.contains(*q))
            });
        if let Some((x, y)) = free {
            best = Some((area, (x, y, grid)));
        }
    }
    best.map(|(_, at)| at)
}

/// The figure as an SVG document of `size`, text in the bundled font.
pub fn to_svg(fig: &Figure, size: FigureSize) -> String {
    match &fig.body {
        Body::Plot => {}
        Body::Heatmap(h) => return super::layer_svg::heatmap_svg(fig, h, size),
        Body::Graph(g) => return super::layer_svg::graph_svg(fig, g, size),
        Body::ClassGrid(g) => return super::layer_svg::class_grid_svg(fig, g, size),
    }
    let m = Measure::new();
    let (l, place, labels) = plan(fig, size, &m);
    let w = size.width_in * PT_PER_IN;
    let p = l.plot;
    let mut s = open_svg(&fig.title, &l.title_lines, size);
    // grid lines at major ticks, light
    let _ = writeln!(
        s,
        r##"<g stroke="#e6e6e6" stroke-width="0.4" fill="none">"##
    );
    for t in l.x_ticks.iter().filter(|t| t.major) {
        let x = l.px([t.value, l.ys.lo])[0];
        let _ = writeln!(
            s,
            r#"<line x1="{0}" y1="{1}" x2="{0}" y2="{2}"/>"#,
            n(x),
            n(p.y),
            n(p.y + p.h)
        );
    }
    for t in l.y_ticks.iter().filter(|t| t.major) {
        let y = l.px([l.xs.lo, t.value])[1];
        let _ = writeln!(
            s,
            r#"<line x1="{0}" y1="{1}" x2="{2}" y2="{1}"/>"#,
            n(p.x),
            n(y),
            n(p.x + p.w)
        );
    }
    s.push_str("</g>\n");
    spans_svg(&mut s, fig, &l, &m);
    // data, clipped to the plot when some of it lies outside (a fixed range); without a clip when
    // all of it fits, which also suits simple SVG renderers that ignore or drop clipped groups
    let clip = needs_clip(fig, &l);
    if clip {
        let _ = writeln!(
            s,
            r#"<defs><clipPath id="plot-area"><rect x="{}" y="{}" width="{}" height="{}"/></clipPath></defs>"#,
            n(p.x),
            n(p.y),
            n(p.w),
            n(p.h)
        );
        s.push_str("<g clip-path=\"url(#plot-area)\">\n");
    } else {
        s.push_str("<g>\n");
    }
    let bands = fig.series.iter().filter(|x| x.kind == SeriesKind::Band);
    let others = fig.series.iter().filter(|x| x.kind != SeriesKind::Band);
    for series in bands.chain(others) {
        let pts = fig.plotted(series);
        if pts.is_empty() {
            continue;
        }
        let color = rgb(series.color);
        let right = fig.on_right(series);
        let px = |q: [f64; 2]| l.px_on(q, right);
        // a series on the right-hand axis says so (a reader of the SVG, and the tests, find it)
        let on = if right { r#" class="y2-series""# } else { "" };
        let path = |pts: &mut dyn Iterator<Item = [f64; 2]>| {
            let mut d = String::new();
            for (i, q) in pts.enumerate() {
                let q = px(q);
                let _ = write!(
                    d,
                    "{}{} {} ",
                    if i == 0 { 'M' } else { 'L' },
                    n(q[0]),
                    n(q[1])
                );
            }
            d.trim_end().to_string()
        };
        match series.kind {
            SeriesKind::Line | SeriesKind::Dashed if pts.len() == 1 => {
                // a line through one point would draw nothing: show the point
                let c = px([pts[0][0], pts[0][1]]);
                let _ = writeln!(
                    s,
                    r#"<circle cx="{}" cy="{}" r="1.8" fill="{color}"{on}/>"#,
                    n(c[0]),
                    n(c[1])
                );
            }
            SeriesKind::Line | SeriesKind::Dashed => {
                let dash = if series.kind == SeriesKind::Dashed {
                    r#" stroke-dasharray="4 2""#
                } else {
                    ""
                };
                let y = fig.y_of(series);
                if series.smoothed.is_empty() {
                    let _ = writeln!(
                        s,
                        r#"<path d="{}" fill="none" stroke="{color}" stroke-width="1" stroke-linejoin="round" stroke-linecap="round"{dash}{on}/>"#,
                        path(&mut pts.iter().map(|q| [q[0], q[1]]))
                    );
                } else {
                    // smoothed for display: the raw line faint behind, the smoothed one over it
                    let _ = writeln!(
                        s,
                        r#"<path d="{}" fill="none" stroke="{color}" stroke-opacity="{RAW_OPACITY}" stroke-width="0.8" stroke-linejoin="round" stroke-linecap="round"{dash} class="raw"/>"#,
                        path(&mut pts.iter().map(|q| [q[0], q[1]]))
                    );
                    let y2 = if right { " y2-series" } else { "" };
                    let smooth = fig
                        .plotted_indexed(series)
                        .into_iter()
                        .filter_map(|(i, q)| Some([q[0], series.smoothed_at(i, y)?]));
                    let _ = writeln!(
                        s,
                        r#"<path d="{}" fill="none" stroke="{color}" stroke-width="1" stroke-linejoin="round" stroke-linecap="round"{dash} class="smoothed{y2}"/>"#,
                        path(&mut smooth.into_iter())
                    );
                }
            }
            SeriesKind::Points => {
                let _ = writeln!(s, r#"<g fill="{color}"{on}>"#);
                for (i, q) in fig.plotted_indexed(series) {
                    let c = px([q[0], q[1]]);
                    let fill = if series.colors.is_empty() {
                        String::new()
                    } else {
                        format!(r#" fill="{}""#, rgb(series.color_of(i)))
                    };
                    let _ = writeln!(
                        s,
                        r#"<circle cx="{}" cy="{}" r="1.8"{fill}/>"#,
                        n(c[0]),
                        n(c[1])
                    );
                }
                s.push_str("</g>\n");
            }
            SeriesKind::HollowPoints | SeriesKind::Rings => {
                let (class, r, width) = if series.kind == SeriesKind::Rings {
                    ("ring", RING_R, 0.9)
                } else {
                    ("hollow", 2.2, 0.8)
                };
                let _ = writeln!(
                    s,
                    r#"<g fill="none" stroke="{color}" stroke-width="{width}" class="{class}">"#
                );
                for q in &pts {
                    let c = px([q[0], q[1]]);
                    let _ = writeln!(s, r#"<circle cx="{}" cy="{}" r="{r}"/>"#, n(c[0]), n(c[1]));
                }
                s.push_str("</g>\n");
            }
            SeriesKind::Bars => {
                let base = l.bar_base();
                let _ = writeln!(s, r#"<g fill="{color}" stroke="none">"#);
                for q in &pts {
                    let a = px([q[0] - BAR_WIDTH / 2.0, q[1]]);
                    let b = px([q[0] + BAR_WIDTH / 2.0, base]);
                    let (top, bottom) = (a[1].min(b[1]), a[1].max(b[1]));
                    let _ = writeln!(
                        s,
                        r#"<rect class="bar" x="{}" y="{}" width="{}" height="{}"/>"#,
                        n(a[0]),
                        n(top),
                        n((b[0] - a[0]).max(0.3)),
                        n(bottom - top)
                    );
                }
                s.push_str("</g>\n");
            }
            SeriesKind::Band => {
                let mut outline = pts
                    .iter()
                    .map(|q| [q[0], q[1]])
                    .chain(pts.iter().rev().map(|q| [q[0], q[2]]));
                let _ = writeln!(
                    s,
                    r#"<path d="{} Z" fill="{color}" fill-opacity="0.22" stroke="none"/>"#,
                    path(&mut outline)
                );
            }
        }
    }
    // event markers: dashed vertical lines
    let markers: Vec<_> = fig.plotted_markers().collect();
    for mk in &markers {
        let x = l.px([mk.x, l.ys.lo])[0];
        let _ = writeln!(
            s,
            r#"<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="{3}" stroke-width="0.8" stroke-dasharray="3 2"/>"#,
            n(x),
            n(p.y),
            n(p.y + p.h),
            rgb(mk.color)
        );
    }
    s.push_str("</g>\n");
    // marker labels in their rows above the plot, each on a thin line up from its marker: no curve
    // runs there (inside the plot they ran over the accuracy curves at 100 %: a researcher's audit)
    for lab in &labels.placed {
        let x = l.px([lab.marker.x, l.ys.lo])[0];
        let base = p.y - 2.0 - lab.row as f64 * MARKER_ROW - MARKER_ROW * 0.22;
        let _ = writeln!(
            s,
            r#"<line class="marker-leader" x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="{3}" stroke-width="0.5"/>"#,
            n(x),
            n(p.y),
            n(base - MARKER_PT * 0.75),
            rgb(lab.marker.color)
        );
        let _ = writeln!(
            s,
            r#"<text class="marker-label" x="{}" y="{}" font-size="{MARKER_PT}" fill="{}">{}</text>"#,
            n(lab.x0),
            n(base),
            rgb(darker(lab.marker.color)),
            esc(&lab.marker.label)
        );
    }
    // frame and ticks
    let _ = writeln!(
        s,
        r##"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#000000" stroke-width="0.7"/>"##,
        n(p.x),
        n(p.y),
        n(p.w),
        n(p.h)
    );
    let _ = writeln!(s, r##"<g stroke="#000000" stroke-width="0.6">"##);
    for t in &l.x_ticks {
        let x = l.px([t.value, l.ys.lo])[0];
        let len = if t.major { TICK_LEN } else { TICK_LEN * 0.55 };
        let _ = writeln!(
            s,
            r#"<line x1="{0}" y1="{1}" x2="{0}" y2="{2}"/>"#,
            n(x),
            n(p.y + p.h),
            n(p.y + p.h + len)
        );
    }
    for t in &l.y_ticks {
        let y = l.px([l.xs.lo, t.value])[1];
        let len = if t.major { TICK_LEN } else { TICK_LEN * 0.55 };
        let _ = writeln!(
            s,
            r#"<line x1="{0}" y1="{1}" x2="{2}" y2="{1}"/>"#,
            n(p.x - len),
            n(y),
            n(p.x)
        );
    }
    for t in &l.y2_ticks {
        let y = l.px_on([l.xs.lo, t.value], true)[1];
        let len = if t.major { TICK_LEN } else { TICK_LEN * 0.55 };
        let _ = writeln!(
            s,
            r#"<line x1="{0}" y1="{1}" x2="{2}" y2="{1}"/>"#,
            n(p.x + p.w),
            n(y),
            n(p.x + p.w + len)
        );
    }
    s.push_str("</g>\n");
    let _ = writeln!(s, r##"<g font-size="{TICK_PT}" fill="#000000">"##);
    let xl_y = p.y + p.h + TICK_LEN + 1.0 + TICK_PT;
    for t in l.x_ticks.iter().filter(|t| !t.label.is_empty()) {
        let x = l.px([t.value, l.ys.lo])[0];
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            n(x),
            n(xl_y),
            esc(&t.label)
        );
    }
    for t in l.y_ticks.iter().filter(|t| !t.label.is_empty()) {
        let y = l.px([l.xs.lo, t.value])[1];
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            n(p.x - TICK_LEN - 1.5),
            n(y + TICK_PT * 0.35),
            esc(&t.label)
        );
    }
    s.push_str("</g>\n");
    // axis labels
    let x_label_y = xl_y + TICK_PT * 0.2 + LABEL_PT * 1.2;
    let _ = writeln!(
        s,
        r##"<text x="{}" y="{}" font-size="{LABEL_PT}" text-anchor="middle" fill="#000000">{}</text>"##,
        n(p.x + p.w / 2.0),
        n(x_label_y),
        esc(&fit_text(&m, &fig.x.label, LABEL_PT, w - 2.0 * MARGIN))
    );
    let yx = p.x - TICK_LEN - 2.0 - l.y_tick_w - LABEL_PT * Y_TITLE_GAP;
    let yy = p.y + p.h / 2.0;
    let _ = writeln!(
        s,
        r##"<text x="0" y="0" font-size="{LABEL_PT}" text-anchor="middle" fill="#000000" transform="translate({0} {1}) rotate(-90)">{2}</text>"##,
        n(yx),
        n(yy),
        esc(&fit_text(&m, &fig.y.label, LABEL_PT, p.h + 20.0))
    );
    if let Some(y2) = &fig.y2 {
        right_axis_text(&mut s, fig, y2, &l, &m);
    }
    // legend
    let entries = fig.legend_entries();
    let mut below_y = x_label_y + LABEL_PT * 0.3;
    match &place {
        LegendPlace::Inside(x, y, grid) => {
            let (x, y) = (*x, *y);
            let (bw, bh) = legend_box_size(grid);
            let _ = writeln!(
                s,
                r##"<rect x="{}" y="{}" width="{}" height="{}" fill="#ffffff" fill-opacity="0.9" stroke="#b0b0b0" stroke-width="0.5"/>"##,
                n(x),
                n(y),
                n(bw),
                n(bh)
            );
            for (i, e) in entries.iter().enumerate() {
                let (row, dx) = grid.place(i);
                let cy = y + LEGEND_PAD + (row as f64 + 0.5) * LEGEND_ROW;
                legend_entry(&mut s, &m, e, x + LEGEND_PAD + dx, cy, grid.entry_w(i));
            }
        }
        LegendPlace::Below => {
            if let Some(grid) = &l.legend_below {
                for (i, e) in entries.iter().enumerate() {
                    let (row, dx) = grid.place(i);
                    let cy = below_y + (row as f64 + 0.5) * LEGEND_ROW + 1.0;
                    legend_entry(&mut s, &m, e, MARGIN + dx, cy, grid.entry_w(i));
                }
                below_y += grid.height();
            }
        }
    }
    // notes: the figure's, then markers that found no room for a label (laid out with the rest)
    for line in &l.note_lines {
        below_y += NOTE_PT * 1.25;
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" font-size="{NOTE_PT}" fill="#404040">{}</text>"##,
            n(MARGIN),
            n(below_y),
            esc(line)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The right-hand axis' tick labels and its title, in the colour of the first series drawn against
/// it (its curve and its axis read as one, the left axis' curves being in other colours).
fn right_axis_text(s: &mut String, fig: &Figure, y2: &Axis, l: &Layout, m: &Measure) {
    let p = l.plot;
    let color = fig
        .series
        .iter()
        .find(|x| fig.on_right(x))
        .map_or([0, 0, 0], |x| darker(x.color));
    let _ = writeln!(
        s,
        r#"<g class="y2-ticks" font-size="{TICK_PT}" fill="{}">"#,
        rgb(color)
    );
    for t in l.y2_ticks.iter().filter(|t| !t.label.is_empty()) {
        let y = l.px_on([l.xs.lo, t.value], true)[1];
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" text-anchor="start">{}</text>"#,
            n(p.x + p.w + TICK_LEN + 1.5),
            n(y + TICK_PT * 0.35),
            esc(&t.label)
        );
    }
    s.push_str("</g>\n");
    // rotated as the left title (read bottom to top), so its ascenders face the tick labels; no
    // longer than the plot is high, clear of the marker labels above it
    let _ = writeln!(
        s,
        r#"<text class="y2-label" x="0" y="0" font-size="{LABEL_PT}" text-anchor="middle" fill="{3}" transform="translate({0} {1}) rotate(-90)">{2}</text>"#,
        n(p.x + p.w + TICK_LEN + 1.5 + l.y2_tick_w + LABEL_PT * Y2_TITLE_AT),
        n(p.y + p.h / 2.0),
        esc(&fit_text(m, &y2.label, LABEL_PT, p.h)),
        rgb(color)
    );
}

/// The SVG's opening: the document in `size` (user units are points), a white page and the title's
/// `lines` centred on top.
pub(super) fn open_svg(title: &str, lines: &[String], size: FigureSize) -> String {
    let (w, h) = (size.width_in * PT_PER_IN, size.height_in * PT_PER_IN);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{}in" height="{}in" viewBox="0 0 {} {}" font-family="{FONT_FAMILY}, sans-serif">"#,
        n(size.width_in),
        n(size.height_in),
        n(w),
        n(h)
    );
    let _ = writeln!(s, "<title>{}</title>", esc(title));
    let _ = writeln!(
        s,
        r##"<rect x="0" y="0" width="{}" height="{}" fill="#ffffff"/>"##,
        n(w),
        n(h)
    );
    for (i, line) in lines.iter().enumerate() {
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" font-size="{TITLE_PT}" text-anchor="middle" fill="#000000">{}</text>"##,
            n(w / 2.0),
            n(MARGIN + TITLE_PT * (0.9 + 1.25 * i as f64)),
            esc(line)
        );
    }
    s
}

/// The share of a fitted y range left free above the data for the spans' names (two lines).
const SPAN_HEADROOM: f64 = 0.3;
/// The size of a span's name: small, so that a regime's name fits its cell at a column's width.
const SPAN_PT: f64 = 5.5;
/// How opaque a span's tint is (faint, under the data, but told apart on paper and in grey).
const SPAN_OPACITY: f64 = 0.16;

/// Room above the data for the spans' names (written at the plot's top): a value `SPAN_HEADROOM` of
/// the data's range (in decades on a log axis) above its highest, when there are spans and the
/// range is fitted.
fn span_headroom(axis: &Axis, yv: &mut Vec<f64>, spans: bool) {
    if !spans || axis.range.is_some() {
        return;
    }
    let f = |v: f64| if axis.log { v.log10() } else { v };
    let drawn: Vec<f64> = yv.iter().copied().filter(|&v| axis.drawable(v)).collect();
    let (Some(lo), Some(hi)) = (
        drawn.iter().copied().map(f).reduce(f64::min),
        drawn.iter().copied().map(f).reduce(f64::max),
    ) else {
        return;
    };
    let top = hi + SPAN_HEADROOM * (hi - lo).max(if axis.log { 1.0 } else { hi.abs() * 0.1 });
    yv.push(if axis.log { 10f64.powf(top) } else { top });
}

/// The spans drawn, each with the page x where its stretch starts and ends within the plot (those
/// with no width there left out).
fn span_columns<'f>(fig: &'f Figure, l: &Layout) -> Vec<(&'f Span, f64, f64)> {
    let p = l.plot;
    fig.plotted_spans()
        .filter_map(|sp| {
            let a = l.px([sp.lo, l.ys.lo])[0].clamp(p.x, p.x + p.w);
            let b = l.px([sp.hi, l.ys.lo])[0].clamp(p.x, p.x + p.w);
            (b - a > 0.0).then_some((sp, a, b))
        })
        .collect()
}

/// The spans: a faint tint across the plot's height (class `span`), under the data, each named at
/// the top of its stretch (class `span-label`), cut to its width.
fn spans_svg(s: &mut String, fig: &Figure, l: &Layout, m: &Measure) {
    let p = l.plot;
    for (sp, a, b) in span_columns(fig, l) {
        let c = rgb(sp.color);
        let _ = writeln!(
            s,
            r#"<rect class="span" x="{}" y="{}" width="{}" height="{}" fill="{c}" fill-opacity="{SPAN_OPACITY}"/>"#,
            n(a),
            n(p.y),
            n(b - a),
            n(p.h)
        );
        let lines = match span_name(m, &sp.label, a, b, p.h) {
            SpanName::Across(lines) => lines,
            SpanName::Down(_) => {
                let _ = writeln!(
                    s,
                    r##"<text class="span-label" x="0" y="0" font-size="{SPAN_PT}" text-anchor="end" fill="#404040" transform="translate({} {}) rotate(-90)">{}</text>"##,
                    n(down_x(a) + 0.35 * SPAN_PT),
                    n(p.y + 0.4 * SPAN_PT),
                    esc(&sp.label)
                );
                continue;
            }
        };
        for (i, text) in lines.iter().enumerate() {
            let _ = writeln!(
                s,
                r##"<text class="span-label" x="{}" y="{}" font-size="{SPAN_PT}" text-anchor="middle" fill="#404040">{}</text>"##,
                n((a + b) / 2.0),
                n(p.y + SPAN_PT * (1.3 + 1.15 * i as f64)),
                esc(text)
            );
        }
    }
}

/// How a span's name is written in its band from page x `a` to `b` in a plot `h` high.
enum SpanName {
    /// Across the band's top, in these lines ([`span_lines`]).
    Across(Vec<String>),
    /// Down the band, whole, this long: a name that would be cut across it ("underfitti…" in a
    /// column's narrow band), where the band's height holds it; read from the bottom up as the y
    /// axis's name is.
    Down(f64),
}

/// The middle of a name written down a band from page x `a`: along its left edge, clear of the
/// band's middle, where a band of one model size has that size's marks (the crossing figure's
/// hollow never-reached runs at the top covered "underfitting" written down its middle).
fn down_x(a: f64) -> f64 {
    a + 0.75 * SPAN_PT
}

fn span_name(m: &Measure, label: &str, a: f64, b: f64, h: f64) -> SpanName {
    let lines = span_lines(m, label, b - a - 2.0);
    let long = m.width(label, SPAN_PT);
    if lines.join(" ") != label && b - a >= SPAN_PT * 1.3 && long <= 0.8 * h {
        SpanName::Down(long)
    } else {
        SpanName::Across(lines)
    }
}

/// A span's name in at most two lines `width` wide: whole on one where it fits, else its words
/// filling the first line and the rest on the second, cut to fit ("immediate generalisation" in a
/// narrow cell, as the window writes it); no line where not even a letter fits.
fn span_lines(m: &Measure, label: &str, width: f64) -> Vec<String> {
    if m.width(label, SPAN_PT) <= width {
        return vec![label.to_string()];
    }
    let mut first = String::new();
    let mut words = label.split(' ').peekable();
    while let Some(w) = words.peek() {
        let next = if first.is_empty() {
            w.to_string()
        } else {
            format!("{first} {w}")
        };
        if !first.is_empty() && m.width(&next, SPAN_PT) > width {
            break;
        }
        first = next;
        words.next();
    }
    let rest: Vec<&str> = words.collect();
    [first, rest.join(" ")]
        .iter()
        .map(|t| fit_text(m, t, SPAN_PT, width))
        .filter(|t| !t.is_empty())
        .collect()
}

/// Whether anything drawn in the plot lies outside its ranges (only possible with a fixed range).
fn needs_clip(fig: &Figure, l: &Layout) -> bool {
    let inside = |s: &Scale, v: f64| v >= s.lo && v <= s.hi;
    let data_out = fig.series.iter().any(|s| {
        let ys = match l.ys2 {
            Some(ys2) if fig.on_right(s) => ys2,
            _ => l.ys,
        };
        fig.plotted(s).iter().any(|p| {
            !inside(&l.xs, p[0]) || !inside(&ys, p[1]) || (p[2].is_finite() && !inside(&ys, p[2]))
        })
    });
    data_out || fig.plotted_markers().any(|m| !inside(&l.xs, m.x))
}

/// Where the layout, the legend and the marker labels go: the layout reserves the rows the labels
/// take and a note for those that found no room, and the legend takes an inner corner free of data
/// (else goes under the plot). Laid out again until the rows and the note agree with the layout
/// (a few rounds: the plot's width changes only with its y tick labels).
fn plan<'a>(
    fig: &'a Figure,
    size: FigureSize,
    m: &Measure,
) -> (Layout, LegendPlace, MarkerLabels<'a>) {
    let mut rows = 0;
    let mut note: Option<String> = None;
    let mut below = false;
    let mut round = 0;
    loop {
        let extra: Vec<String> = note.iter().cloned().collect();
        let mut l = layout(fig, size, m, below, &extra, rows);
        let mut place = LegendPlace::Below;
        if !below && !fig.legend_entries().is_empty() {
            match legend_corner(fig, &l, m) {
                Some((x, y, grid)) => place = LegendPlace::Inside(x, y, grid),
                None => {
                    below = true;
                    l = layout(fig, size, m, true, &extra, rows);
                }
            }
        }
        let labels = marker_labels(fig, &l, m);
        round += 1;
        if (labels.rows == rows && labels.note == note) || round >= 4 {
            return (l, place, labels);
        }
        rows = labels.rows;
        note = labels.note;
    }
}

/// A marker label placed above the plot: its row (0 next to the plot) and where its text starts.
struct PlacedLabel<'a> {
    marker: &'a super::figure::Marker,
    row: usize,
    x0: f64,
}

/// Where marker labels go, the rows they take, and a note naming the markers whose label found no
/// room.
struct MarkerLabels<'a> {
    placed: Vec<PlacedLabel<'a>>,
    rows: usize,
    note: Option<String>,
}

/// Where a label may go: a row above the plot and where its text starts and ends.
#[derive(Clone, Copy, Debug)]
struct LabelSpot {
    row: usize,
    x0: f64,
    x1: f64,
    /// The marker's line, which runs up to the label's row.
    lead: f64,
}

impl LabelSpot {
    /// Whether two labels can stand together: not overlapping in one row, and neither's line
    /// crossing the other's text on its way up.
    fn clear_of(&self, o: &LabelSpot) -> bool {
        const GAP: f64 = 8.0;
        let overlaps = o.row == self.row && self.x1 + GAP > o.x0 && self.x0 < o.x1 + GAP;
        let crossed = o.row > self.row && o.lead > self.x0 - 1.0 && o.lead < self.x1 + 1.0;
        let crosses = o.row < self.row && self.lead > o.x0 - 1.0 && self.lead < o.x1 + 1.0;
        !(overlaps || crossed || crosses)
    }
}

/// The best placement found so far: which labels are placed (in the figure's order) and where.
struct LabelSearch {
    spots: Vec<Vec<LabelSpot>>,
    current: Vec<Option<LabelSpot>>,
    best: Option<Vec<Option<LabelSpot>>>,
    budget: usize,
}

impl LabelSearch {
    /// Better: more of the earlier labels placed (the figure's order is its priority), then fewer
    /// rows (more height for the plot).
    fn better(a: &[Option<LabelSpot>], b: &[Option<LabelSpot>]) -> bool {
        for (x, y) in a.iter().zip(b) {
            if x.is_some() != y.is_some() {
                return x.is_some();
            }
        }
        let rows = |v: &[Option<LabelSpot>]| v.iter().flatten().map(|s| s.row + 1).max();
        rows(a) < rows(b)
    }

    fn run(&mut self, i: usize) {
        if self.budget == 0 {
            return;
        }
        self.budget -= 1;
        // no completion of this prefix can beat the best: one of its labels left out that the
        // best placed, with the earlier ones alike
        if let Some(best) = &self.best {
            for (x, y) in self.current.iter().zip(best) {
                if x.is_some() != y.is_some() {
                    if y.is_some() {
                        return;
                    }
                    break;
                }
            }
        }
        if i == self.spots.len() {
            if self
                .best
                .as_ref()
                .is_none_or(|b| Self::better(&self.current, b))
            {
                self.best = Some(self.current.clone());
            }
            return;
        }
        for k in 0..self.spots[i].len() {
            let spot = self.spots[i][k];
            if self.current.iter().flatten().all(|o| spot.clear_of(o)) {
                self.current.push(Some(spot));
                self.run(i + 1);
                self.current.pop();
            }
        }
        self.current.push(None);
        self.run(i + 1);
        self.current.pop();
    }
}

/// Marker labels stand in up to [`MARKER_ROWS`] rows above the plot, each on a thin line up from its
/// marker: its text right of the line or left of it, in rows where it overlaps no other label and
/// no other label's line crosses it. The placement keeps as many labels as it can in the figure's
/// order (the labs put the most telling first: t_val, t_train), then the fewest rows; one with an
/// empty label has its line only; one that finds no room is named in a note ("also marked: …").
/// Inside the plot the labels ran over the accuracy curves at 100 %, and two milestones 25 steps
/// apart ("val ≥ 98 %", "generalised") overdrew each other (a researcher's audit).
fn marker_labels<'a>(fig: &'a Figure, l: &Layout, m: &Measure) -> MarkerLabels<'a> {
    let p = l.plot;
    let (lo, hi) = (MARGIN, p.x + p.w + 8.0);
    let labelled: Vec<&super::figure::Marker> = fig
        .plotted_markers()
        .filter(|mk| !mk.label.is_empty())
        .collect();
    let spots: Vec<Vec<LabelSpot>> = labelled
        .iter()
        .map(|mk| {
            let lead = l.px([mk.x, l.ys.lo])[0];
            let w = m.width(&mk.label, MARKER_PT);
            let mut starts: Vec<f64> = [lead + 1.5, lead - 1.5 - w]
                .into_iter()
                .filter(|&x0| x0 >= lo && x0 + w <= hi)
                .collect();
            if starts.is_empty() {
                // wider than either side: as far in as the page allows
                starts.push(lo.max(hi - w));
            }
            (0..MARKER_ROWS)
                .flat_map(|row| {
                    starts.iter().map(move |&x0| LabelSpot {
                        row,
                        x0,
                        x1: x0 + w,
                        lead,
                    })
                })
                .collect()
        })
        .collect();
    let mut search = LabelSearch {
        spots,
        current: vec![],
        best: None,
        // enough for every arrangement of a handful of labels; many runs' labels take the best
        // found within it
        budget: 20_000,
    };
    search.run(0);
    let best = search.best.unwrap_or_default();
    let mut placed = vec![];
    let mut unlabelled = vec![];
    for (i, mk) in labelled.into_iter().enumerate() {
        match best.get(i).copied().flatten() {
            Some(spot) => placed.push(PlacedLabel {
                marker: mk,
                row: spot.row,
                x0: spot.x0,
            }),
            None => unlabelled.push(mk.label.clone()),
        }
    }
    MarkerLabels {
        rows: placed.iter().map(|l| l.row + 1).max().unwrap_or(0),
        placed,
        note: (!unlabelled.is_empty()).then(|| format!("also marked: {}", unlabelled.join("; "))),
    }
}

/// The radius of a [`SeriesKind::Rings`] ring: wide enough to surround a point's marker (1.8).
const RING_R: f64 = 4.0;

/// A legend entry: its sample (line, dashes, dot or swatch) at `(x, cy)` and its legend text after
/// it, cut to fit the entry's `width` (sample and text).
fn legend_entry(
    s: &mut String,
    m: &Measure,
    e: &super::figure::Series,
    x: f64,
    cy: f64,
    width: f64,
) {
    let c = rgb(e.color);
    let x1 = x + LEGEND_SAMPLE;
    match e.kind {
        SeriesKind::Line => {
            let _ = writeln!(
                s,
                r#"<line x1="{0}" y1="{2}" x2="{1}" y2="{2}" stroke="{c}" stroke-width="1.2"/>"#,
                n(x),
                n(x1),
                n(cy)
            );
        }
        SeriesKind::Dashed => {
            let _ = writeln!(
                s,
                r#"<line x1="{0}" y1="{2}" x2="{1}" y2="{2}" stroke="{c}" stroke-width="1" stroke-dasharray="4 2"/>"#,
                n(x),
                n(x1),
                n(cy)
            );
        }
        SeriesKind::Points => {
            let _ = writeln!(
                s,
                r#"<circle cx="{}" cy="{}" r="1.8" fill="{c}"/>"#,
                n(x + LEGEND_SAMPLE / 2.0),
                n(cy)
            );
        }
        SeriesKind::HollowPoints => {
            let _ = writeln!(
                s,
                r#"<circle cx="{}" cy="{}" r="2.2" fill="none" stroke="{c}" stroke-width="0.8"/>"#,
                n(x + LEGEND_SAMPLE / 2.0),
                n(cy)
            );
        }
        SeriesKind::Rings => {
            let _ = writeln!(
                s,
                r#"<circle cx="{}" cy="{}" r="{RING_R}" fill="none" stroke="{c}" stroke-width="0.9"/>"#,
                n(x + LEGEND_SAMPLE / 2.0),
                n(cy)
            );
        }
        SeriesKind::Bars => {
            let _ = writeln!(
                s,
                r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{c}"/>"#,
                n(x + LEGEND_SAMPLE * 0.25),
                n(cy - 3.0),
                n(LEGEND_SAMPLE * 0.5),
                n(6.0)
            );
        }
        SeriesKind::Band => {
            let _ = writeln!(
                s,
                r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{c}" fill-opacity="0.3"/>"#,
                n(x),
                n(cy - 2.5),
                n(LEGEND_SAMPLE),
                n(5.0)
            );
        }
    }
    let _ = writeln!(
        s,
        r##"<text x="{}" y="{}" font-size="{LEGEND_PT}" fill="#000000">{}</text>"##,
        n(x1 + 3.0),
        n(cy + LEGEND_PT * 0.35),
        esc(&fit_text(
            m,
            e.legend_label(),
            LEGEND_PT,
            width - LEGEND_SAMPLE - 3.0
        ))
    );
}

/// A darker shade of a colour, for text on white.
fn darker(c: Rgb) -> Rgb {
    c.map(|v| (f64::from(v) * 0.7) as u8)
}

/// `text`, cut with an ellipsis to fit `max` points.
pub(super) fn fit_text(m: &Measure, text: &str, size: f64, max: f64) -> String {
    if m.width(text, size) <= max {
        return text.to_string();
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let t: String = chars.iter().collect::<String>() + "…";
        if m.width(&t, size) <= max {
            return t;
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::figure::{Marker, Series};

    /// A span's name takes a second line where one is too narrow (the crossing figure's
    /// "immediate generalisation" in its cell, as the window writes it) and is cut only where a word
    /// does not fit. Widths from the bundled font's measure.
    #[test]
    fn a_spans_name_wraps_to_a_second_line_before_it_is_cut() {
        let m = Measure::new();
        let name = "immediate generalisation";
        let wide = m.width(name, SPAN_PT) + 1.0;
        assert_eq!(span_lines(&m, name, wide), [name]);
        let word = m.width("generalisation", SPAN_PT) + 1.0;
        assert_eq!(span_lines(&m, name, word), ["immediate", "generalisation"]);
        let narrow = m.width("immediate", SPAN_PT) - 1.0;
        let lines = span_lines(&m, name, narrow);
        assert_eq!(lines.len(), 2);
        assert!(
            lines
                .iter()
                .all(|l| l.ends_with('…') && m.width(l, SPAN_PT) <= narrow)
        );
        assert!(span_lines(&m, name, 0.5).is_empty(), "no room: no text");
    }

    fn fig() -> Figure {
        let mut f = Figure::new(
            "t",
            "A & B <title>",
            Axis::linear("step"),
            Axis::log("loss"),
        );
        f.series.push(Series::new(
            "train",
            [0, 0, 255],
            SeriesKind::Line,
            (1..=50).map(|i| [i as f64, 10.0 / i as f64]).collect(),
        ));
        f.series.push(Series::new(
            "bad",
            [255, 0, 0],
            SeriesKind::Points,
            vec![
                [1.0, f64::NAN],
                [2.0, -1.0],
                [3.0, 0.0],
                [f64::INFINITY, 1.0],
            ],
        ));
        f.markers.push(Marker {
            x: 25.0,
            label: "memorised".into(),
            color: [0, 128, 0],
        });
        f.notes.push("a note".into());
        f
    }

    #[test]
    fn the_svg_is_xml_with_its_texts() {
        let svg = to_svg(&fig(), FigureSize::default());
        let doc = roxmltree::Document::parse(&svg).expect("valid XML");
        let texts: Vec<String> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text().map(str::to_string))
            .collect();
        for want in [
            "A & B <title>",
            "step",
            "loss",
            "train",
            "bad",
            "memorised",
            "a note",
        ] {
            assert!(
                texts.iter().any(|t| t == want),
                "{want} missing from {texts:?}"
            );
        }
    }

    #[test]
    fn unplottable_points_draw_nothing_and_do_not_panic() {
        let mut f = fig();
        f.series.remove(0);
        f.markers[0].x = f64::NAN;
        let svg = to_svg(&f, FigureSize::default());
        assert!(roxmltree::Document::parse(&svg).is_ok());
        // every point of 'bad' is unplottable: the only circle is its legend entry's
        assert_eq!(svg.matches("<circle").count(), 1, "{svg}");
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn data_outside_a_fixed_range_is_clipped_and_only_then() {
        let mut f = fig();
        assert!(
            !to_svg(&f, FigureSize::default()).contains("clip-path"),
            "all data fits"
        );
        f.y.range = Some((0.5, 2.0)); // the line runs from 10 down to 0.2
        assert!(to_svg(&f, FigureSize::default()).contains("clip-path=\"url(#plot-area)\""));
    }

    #[test]
    fn linear_ticks_step_by_1_2_5() {
        // 0..1 over about 5 intervals: 0.2 steps (by hand: 1/5 = 0.2, a 2 x 10^-1 step)
        let t = linear_ticks(0.0, 1.0, 5.0);
        let labels: Vec<&str> = t.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        // 0..30000 over 5: 6000 rounds to a 5000 step, ticks 0, 5000, ..., 30000
        let t = linear_ticks(0.0, 30000.0, 5.0);
        assert_eq!(t.len(), 7);
        assert_eq!(t[1].value, 5000.0);
        // -1.8..1.8 over 2: a step of 2 leaves only 0 inside; the finer 1 gives -1, 0, 1
        let t = linear_ticks(-1.8, 1.8, 2.0);
        let labels: Vec<&str> = t.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["-1", "0", "1"]);
    }

    #[test]
    fn log_ticks_are_decades_with_minor_ticks() {
        let t = log_ticks(0.5, 2000.0, 10);
        let majors: Vec<&str> = t
            .iter()
            .filter(|t| t.major)
            .map(|t| t.label.as_str())
            .collect();
        assert_eq!(majors, ["10⁰", "10¹", "10²", "10³"]);
        // minor ticks at 2..9 of each decade, inside the range: 5..9 x 0.1, 2..9 x 1, 10, 100, and 2000
        assert_eq!(t.iter().filter(|t| !t.major).count(), 5 + 8 + 8 + 8 + 1);
        // within one decade the 1-2-5 values are labelled
        let t = log_ticks(2.0, 9.0, 10);
        let labels: Vec<&str> = t
            .iter()
            .filter(|t| t.major)
            .map(|t| t.label.as_str())
            .collect();
        assert_eq!(labels, ["2", "5"]);
        // under a 1-2-5 pair (4.49..4.77, a short run's loss near ln 113): stepped labels, every one
        // inside the range (by hand: a 0.05 step gives 4.5, 4.55, .., 4.75)
        let t = log_ticks(4.49, 4.77, 10);
        let labelled: Vec<f64> = t
            .iter()
            .filter(|t| !t.label.is_empty())
            .map(|t| t.value)
            .collect();
        assert!(labelled.len() >= 2, "{t:?}");
        assert!(
            labelled.iter().all(|v| (4.49..=4.77).contains(v)),
            "{labelled:?}"
        );
        let t = log_ticks(1e-4, 1e-2, 10);
        assert_eq!(t[0].label, "10⁻⁴");
    }

    #[test]
    fn equal_aspect_draws_a_circle_round() {
        // a unit circle on a 3.5 x 2.8 in page: without equal aspect it is stretched to the plot's
        // wider box; with it, a unit spans the same points on both axes (by the definition)
        let mut f = Figure::new("c", "", Axis::linear("x"), Axis::linear("y"));
        f.series.push(Series::new(
            "circle",
            [0, 0, 0],
            SeriesKind::Line,
            (0..=64)
                .map(|i| {
                    let t = i as f64 / 64.0 * std::f64::consts::TAU;
                    [t.cos(), t.sin()]
                })
                .collect(),
        ));
        let m = Measure::new();
        let span = |l: &Layout| {
            let (a, b) = (l.px([0.0, 0.0]), l.px([1.0, 1.0]));
            ((b[0] - a[0]).abs(), (b[1] - a[1]).abs())
        };
        let (sx, sy) = span(&layout(&f, FigureSize::default(), &m, false, &[], 0));
        assert!((sx - sy).abs() > 5.0, "{sx} vs {sy}");
        f.equal_aspect = true;
        let (sx, sy) = span(&layout(&f, FigureSize::default(), &m, false, &[], 0));
        assert!((sx - sy).abs() < 1e-6, "{sx} vs {sy}");
    }

    #[test]
    fn bars_rise_from_zero_and_points_take_their_own_colours() {
        let mut f = Figure::new("b", "", Axis::linear("k"), Axis::linear("norm"));
        f.series.push(Series::new(
            "bars",
            [0, 0, 255],
            SeriesKind::Bars,
            vec![[1.0, 2.0], [2.0, 4.0]],
        ));
        let mut dots = Series::new(
            "dots",
            [0, 0, 0],
            SeriesKind::Points,
            vec![[1.0, 1.0], [2.0, 1.0]],
        );
        dots.colors = vec![[255, 0, 0], [0, 255, 0]];
        f.series.push(dots);
        let svg = to_svg(&f, FigureSize::default());
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let bars: Vec<_> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("bar"))
            .collect();
        assert_eq!(bars.len(), 2);
        // both bars end at the same base (y = 0), the second twice as tall as the first
        let bottom = |n: &roxmltree::Node| {
            let y: f64 = n.attribute("y").unwrap().parse().unwrap();
            let h: f64 = n.attribute("height").unwrap().parse().unwrap();
            (y + h, h)
        };
        let ((b0, h0), (b1, h1)) = (bottom(&bars[0]), bottom(&bars[1]));
        assert!(
            (b0 - b1).abs() < 0.02 && (h1 / h0 - 2.0).abs() < 0.01,
            "{h0} {h1}"
        );
        assert!(svg.contains(r##"fill="#ff0000""##) && svg.contains(r##"fill="#00ff00""##));
    }

    /// Hollow points (values that are only bounds) are rings: unfilled circles stroked in the series'
    /// colour, one a point, and the legend's sample is one too.
    #[test]
    fn hollow_points_are_rings() {
        let mut f = Figure::new("h", "", Axis::linear("P"), Axis::linear("bits"));
        f.series.push(Series::new(
            "bound",
            [200, 0, 0],
            SeriesKind::HollowPoints,
            vec![[1.0, 2.0], [2.0, 3.0], [3.0, f64::NAN]],
        ));
        let svg = to_svg(&f, FigureSize::default());
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let group = doc
            .descendants()
            .find(|n| n.attribute("class") == Some("hollow"))
            .expect("a group of rings");
        assert_eq!(group.attribute("fill"), Some("none"));
        assert_eq!(group.attribute("stroke"), Some("#c80000"));
        assert_eq!(
            group
                .children()
                .filter(|n| n.has_tag_name("circle"))
                .count(),
            2
        );
        let legend_rings = doc
            .descendants()
            .filter(|n| n.has_tag_name("circle") && n.attribute("fill") == Some("none"))
            .count();
        assert_eq!(legend_rings, 1, "the legend's sample");
    }

    /// Two milestones 25 steps apart at the end of a run whose curve sits at 100 % (the paper
    /// transformer's val ≥ 98 % at step 4260 and generalised at 4335, the audit's "overdrawn"
    /// labels), and one earlier: every label is drawn, above the plot's frame, and no two overlap
    /// (their boxes measured with the bundled font), nor does a label's line cross another label.
    #[test]
    fn close_marker_labels_are_all_drawn_above_the_plot_without_overlapping() {
        let mut f = Figure::new("t", "Accuracy", Axis::linear("step"), Axis::linear("%"));
        f.series.push(Series::new(
            "train",
            [0, 0, 255],
            SeriesKind::Line,
            (0..=4335).step_by(5).map(|s| [s as f64, 100.0]).collect(),
        ));
        for (x, label) in [
            (4335.0, "generalised · step 4335"),
            (3219.0, "memorised · step 3219"),
            (4260.0, "val ≥ 98 % · step 4260"),
        ] {
            f.markers.push(Marker {
                x,
                label: label.into(),
                color: [0, 128, 0],
            });
        }
        let svg = to_svg(&f, FigureSize::default());
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let frame_top: f64 = doc
            .descendants()
            .find(|n| n.has_tag_name("rect") && n.attribute("stroke-width") == Some("0.7"))
            .and_then(|n| n.attribute("y")?.parse().ok())
            .unwrap();
        let m = Measure::new();
        let num = |n: roxmltree::Node<'_, '_>, a: &str| -> f64 {
            n.attribute(a).unwrap().parse().unwrap()
        };
        let boxes: Vec<(f64, f64, f64)> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("marker-label"))
            .map(|n| {
                let x = num(n, "x");
                (x, x + m.width(n.text().unwrap(), MARKER_PT), num(n, "y"))
            })
            .collect();
        let leaders: Vec<(f64, f64)> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("marker-leader"))
            .map(|n| (num(n, "x1"), num(n, "y2")))
            .collect();
        assert_eq!(boxes.len(), 3, "every label drawn: {svg}");
        assert!(!svg.contains("also marked"));
        for (i, a) in boxes.iter().enumerate() {
            assert!(a.2 < frame_top, "above the plot: {a:?}, top {frame_top}");
            for b in &boxes[i + 1..] {
                let same_row = (a.2 - b.2).abs() < 1.0;
                assert!(
                    !same_row || a.1 <= b.0 || b.1 <= a.0,
                    "{a:?} overlaps {b:?}"
                );
            }
            // a line reaching above a label's baseline must pass outside its text
            for &(lx, ly) in &leaders {
                let own = (lx - a.0).abs() < 2.0 || (lx - a.1).abs() < 2.0;
                if !own && ly < a.2 - MARKER_PT {
                    assert!(lx < a.0 || lx > a.1, "a line at {lx} crosses {a:?}");
                }
            }
        }
    }

    /// The legend's grid takes the fewest rows the width allows, its columns balanced (n / rows
    /// rounded up), each as wide as its widest entry; an entry wider than the width is cut to it.
    /// Expected, by hand: five entries 40 wide with 8 between columns take 5 x 40 + 4 x 8 = 232 in
    /// one row; at 150 two rows of three (3 x 40 + 2 x 8 = 136); at 100 three rows of two (88).
    #[test]
    fn a_legend_takes_the_fewest_rows_that_fit_the_width() {
        let w = [40.0; 5];
        let g = LegendGrid::fit(&w, 250.0);
        assert_eq!((g.rows, g.col_x.len(), g.width), (1, 5, 232.0));
        let g = LegendGrid::fit(&w, 150.0);
        assert_eq!((g.rows, g.col_x.len(), g.width), (2, 3, 136.0));
        // row by row: the fourth entry starts the second row, under the first
        assert_eq!(g.place(3), (1, 0.0));
        assert_eq!(g.place(4), (1, 48.0));
        let g = LegendGrid::fit(&w, 100.0);
        assert_eq!((g.rows, g.col_x.len(), g.width), (3, 2, 88.0));
        // a column is as wide as its widest entry: 60 and 30 over 20 and 50
        let g = LegendGrid::new(&[60.0, 20.0, 30.0, 50.0], 2, 500.0);
        assert_eq!(g.col_x, [0.0, 68.0]);
        assert_eq!(g.width, 118.0);
        // wider than the page: one column, cut to the width
        let g = LegendGrid::fit(&[300.0, 10.0], 100.0);
        assert_eq!((g.rows, g.width, g.entry_w(0)), (2, 100.0, 100.0));
    }

    /// A figure whose curves leave no corner free (the ablation figure's losses falling from the
    /// top left, its accuracy rising to the top right) at a column's width (3.5 in): the legend
    /// goes under the plot in one row (two or three rows ate the plot: a researcher's audit), every
    /// entry on the page and clear of the others, measured with the bundled font.
    #[test]
    fn a_legend_under_a_full_plot_at_a_columns_width_takes_one_row_clear_of_itself() {
        let mut f = Figure::new(
            "t",
            "Restricted and excluded loss, step 312",
            Axis::linear("step"),
            Axis::log("loss"),
        );
        let line = |name: &str, short: &str, kind, pts: Vec<[f64; 2]>| {
            Series::new(name, [0, 0, 0], kind, pts).with_legend_text(short)
        };
        let falling = |top: f64| {
            (0..=100)
                .map(|i| [i as f64, top / (1.0 + i as f64)])
                .collect()
        };
        for (name, short, kind, top) in [
            (
                "restricted (val, key k only)",
                "restricted",
                SeriesKind::Line,
                5.0,
            ),
            (
                "excluded (train, key k removed)",
                "excluded",
                SeriesKind::Line,
                4.0,
            ),
            ("validation loss", "val.", SeriesKind::Dashed, 3.0),
            ("train loss (eval)", "train", SeriesKind::Dashed, 2.0),
        ] {
            f.series.push(line(name, short, kind, falling(top)));
        }
        // flat along the bottom and the top: every corner holds data
        let mut acc = line(
            "validation accuracy (%)",
            "val. acc.",
            SeriesKind::Line,
            (0..=100)
                .map(|i| [i as f64, if i < 50 { 0.0 } else { 100.0 }])
                .collect(),
        );
        acc.right = true;
        f.series.push(acc);
        f.y2 = Some(Axis {
            range: Some((-2.0, 102.0)),
            ..Axis::linear("validation accuracy (%)")
        });
        let m = Measure::new();
        let (l, place, _) = plan(&f, FigureSize::default(), &m);
        assert_eq!(place, LegendPlace::Below);
        let grid = l.legend_below.clone().expect("a legend under the plot");
        assert_eq!(grid.rows, 1, "{grid:?}");
        let svg = to_svg(&f, FigureSize::default());
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let page_w = 3.5 * PT_PER_IN;
        let mut boxes: Vec<(f64, f64)> = vec![];
        for short in ["restricted", "excluded", "val.", "train", "val. acc."] {
            let t = doc
                .descendants()
                .find(|n| n.has_tag_name("text") && n.text() == Some(short))
                .unwrap_or_else(|| panic!("{short} drawn whole: {svg}"));
            let x: f64 = t.attribute("x").unwrap().parse().unwrap();
            // its sample starts LEGEND_SAMPLE + 3 before its text
            boxes.push((x - LEGEND_SAMPLE - 3.0, x + m.width(short, LEGEND_PT)));
        }
        for (i, a) in boxes.iter().enumerate() {
            assert!(
                a.0 >= MARGIN - 1e-9 && a.1 <= page_w - MARGIN + 1e-9,
                "{a:?} on the page"
            );
            for b in &boxes[i + 1..] {
                assert!(a.1 <= b.0 || b.1 <= a.0, "{a:?} overlaps {b:?}");
            }
        }
    }

    /// Where a single column does not fit a free corner but a wide row does (a short plot, curves
    /// only in its lower half), the legend goes inside in that row rather than under the plot; and
    /// its box covers no drawn point. Expected: the rule in `legend_corner` (the smallest box that
    /// covers nothing).
    #[test]
    fn a_legend_inside_may_take_several_columns_and_covers_no_data() {
        let mut f = Figure::new("t", "", Axis::linear("x"), Axis::linear("y"));
        f.y.range = Some((0.0, 1.0));
        for (k, name) in ["one", "two", "three", "four", "five", "six"]
            .iter()
            .enumerate()
        {
            f.series.push(Series::new(
                *name,
                [0, 0, 0],
                SeriesKind::Line,
                // flat lines in the lower 40 % of the plot
                vec![[0.0, 0.05 + 0.06 * k as f64], [1.0, 0.05 + 0.06 * k as f64]],
            ));
        }
        let size = FigureSize {
            width_in: 3.5,
            height_in: 1.6,
        };
        let m = Measure::new();
        let (l, place, _) = plan(&f, size, &m);
        let LegendPlace::Inside(x, y, grid) = place else {
            panic!("inside: {place:?}");
        };
        assert!(grid.col_x.len() > 1 && grid.rows < 6, "{grid:?}");
        let (bw, bh) = legend_box_size(&grid);
        let r = Rect { x, y, w: bw, h: bh };
        assert!(occupied(&f, &l, &m).iter().all(|q| !r.contains(*q)));
        // and inside the plot
        let p = l.plot;
        assert!(x >= p.x && y >= p.y && x + bw <= p.x + p.w && y + bh <= p.y + p.h);
    }

    #[test]
    fn the_legend_avoids_the_data() {
        // a line from bottom left to top right: the top-right corner is taken, top left is free
        let mut f = Figure::new("t", "", Axis::linear("x"), Axis::linear("y"));
        f.series.push(Series::new(
            "diagonal",
            [0, 0, 0],
            SeriesKind::Line,
            vec![[0.0, 0.0], [1.0, 1.0]],
        ));
        let m = Measure::new();
        let l = layout(&f, FigureSize::default(), &m, false, &[], 0);
        let (x, y, _) = legend_corner(&f, &l, &m).expect("a free corner");
        assert!(
            x < l.plot.x + l.plot.w / 2.0 && y < l.plot.y + l.plot.h / 2.0,
            "top left"
        );
        // a milestone's dashed line near the left edge takes the top left too (the comparison's
        // legend stood over t_train's line): the bottom right is the free corner left
        f.markers.push(Marker {
            x: 0.05,
            label: String::new(),
            color: [0, 0, 0],
        });
        let l = layout(&f, FigureSize::default(), &m, false, &[], 0);
        let (x, y, _) = legend_corner(&f, &l, &m).expect("a free corner");
        assert!(
            x > l.plot.x + l.plot.w / 2.0 && y > l.plot.y + l.plot.h / 2.0,
            "bottom right"
        );
        f.markers.clear();
        // data everywhere: the legend goes below the plot
        for k in 0..40 {
            let y0 = k as f64 / 40.0;
            let mut s = Series::new(
                "fill",
                [0, 0, 0],
                SeriesKind::Line,
                vec![[0.0, y0], [1.0, y0]],
            );
            s.legend = false; // one legend entry, so the box itself fits every corner
            f.series.push(s);
        }
        let l = layout(&f, FigureSize::default(), &m, false, &[], 0);
        assert!(legend_corner(&f, &l, &m).is_none());
    }
}
