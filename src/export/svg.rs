//! A [`Figure`] as SVG, written by hand with `f32` coordinates.
//!
//! Why not plotters (stack.md): its SVG backend rounds every coordinate to a whole pixel, which shows
//! as kinked curves and uneven ticks in a vector figure that a paper scales up; and its text needs a
//! font feature of its own. The SVG needed here is small (paths, lines, circles, text), so it is
//! written directly, in points (1/72 in) with two decimals, and the text is measured with the
//! bundled font ([`FONT_TTF`]) so that labels, the legend and the notes are laid out to fit.
//!
//! Layout: the title on top; the y label, tick labels and ticks on the left; the x axis, its label
//! and the notes at the bottom; the legend in the inner corner of the plot that covers the fewest
//! drawn points, or under the plot when every corner would hide data; marker labels stand in rows
//! above the plot, each on a thin line up from its dashed marker, where no curve runs. Ticks are
//! 1-2-5 steps on linear axes, decades (labelled 10ⁿ) with minor ticks at 2..9 on log axes.

use super::figure::{Axis, BAR_WIDTH, Body, Figure, FigureSize, Rgb, SeriesKind};
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
#[derive(Clone, Copy, Debug, PartialEq)]
enum LegendPlace {
    /// Inside the plot, its top-left corner here.
    Inside(f64, f64),
    /// Under the plot, in rows.
    Below,
}

struct Layout {
    plot: Rect,
    xs: Scale,
    ys: Scale,
    x_ticks: Vec<Tick>,
    y_ticks: Vec<Tick>,
    title_lines: Vec<String>,
    note_lines: Vec<String>,
    /// Legend rows below the plot: (entry index, x offset) per row.
    legend_rows: Vec<Vec<(usize, f64)>>,
    y_tick_w: f64,
}

const LEGEND_ROW: f64 = LEGEND_PT * 1.35;
const LEGEND_SAMPLE: f64 = 12.0;
const LEGEND_PAD: f64 = 3.0;

/// Everything decided before drawing: the SVG text follows from it.
/// The rotated y title's baseline stands this many label sizes left of the widest tick label: its
/// descenders ("T_mem (epochs)": the underscore, p, the brackets) reach about 0.25 of a size past
/// the baseline towards the ticks (at 0.35 they touched the speed figure's "200": a helper's audit).
const Y_TITLE_GAP: f64 = 0.5;

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
    for s in &fig.series {
        for p in s.plotted(&fig.x, &fig.y) {
            xv.push(p[0]);
            yv.push(p[1]);
            if p[2].is_finite() {
                yv.push(p[2]);
            }
            if s.kind == SeriesKind::Bars {
                // a bar's sides, and its base at zero where zero can be drawn
                xv.extend([p[0] - BAR_WIDTH / 2.0, p[0] + BAR_WIDTH / 2.0]);
                if fig.y.drawable(0.0) {
                    yv.push(0.0);
                }
            }
        }
    }
    xv.extend(fig.plotted_markers().map(|mk| mk.x));
    let mut xs = axis_scale(&fig.x, &xv);
    let mut ys = axis_scale(&fig.y, &yv);

    // marker labels stand in rows between the title and the plot, where no curve runs
    let top =
        MARGIN + title_lines.len() as f64 * TITLE_PT * 1.25 + 4.0 + label_rows as f64 * MARKER_ROW;
    let entries = fig.legend_entries();
    // legend rows below the plot, filled left to right
    let mut legend_rows: Vec<Vec<(usize, f64)>> = vec![];
    if legend_below && !entries.is_empty() {
        let mut row: Vec<(usize, f64)> = vec![];
        let mut at = 0.0;
        for (i, s) in entries.iter().enumerate() {
            let ew = LEGEND_SAMPLE + 3.0 + m.width(&s.name, LEGEND_PT) + 8.0;
            if !row.is_empty() && at + ew > inner_w {
                legend_rows.push(std::mem::take(&mut row));
                at = 0.0;
            }
            row.push((i, at));
            at += ew;
        }
        legend_rows.push(row);
    }
    let bottom_text = TICK_PT * 1.2
        + LABEL_PT * 1.3
        + legend_rows.len() as f64 * LEGEND_ROW
        + note_lines.len() as f64 * NOTE_PT * 1.25;
    let plot_h = (h - top - MARGIN - TICK_LEN - 2.0 - bottom_text).max(20.0);
    let mut y_ticks = ticks_for(&ys, plot_h);
    let y_tick_w = y_ticks
        .iter()
        .map(|t| m.width(&t.label, TICK_PT))
        .fold(0.0, f64::max);
    // the y title (see `Y_TITLE_GAP`): its glyphs' height and the gap to the tick labels
    let left = MARGIN + LABEL_PT * (0.85 + Y_TITLE_GAP) + y_tick_w + 2.0 + TICK_LEN;
    // room on the right for half of the last x tick label
    let right = MARGIN + 8.0;
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
        x_ticks,
        y_ticks,
        title_lines,
        note_lines,
        legend_rows,
        y_tick_w,
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

    fn px(&self, p: [f64; 2]) -> [f64; 2] {
        [
            self.plot.x + self.xs.frac(p[0]) * self.plot.w,
            self.plot.y + (1.0 - self.ys.frac(p[1])) * self.plot.h,
        ]
    }
}

/// Page positions of everything drawn inside the plot, sampled every couple of points along lines,
/// for choosing a legend corner.
fn occupied(fig: &Figure, l: &Layout) -> Vec<[f64; 2]> {
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
        let plotted = s.plotted(&fig.x, &fig.y);
        let lower: Vec<[f64; 2]> = plotted.iter().map(|p| l.px([p[0], p[1]])).collect();
        match s.kind {
            SeriesKind::Line | SeriesKind::Dashed => sample_line(&lower),
            SeriesKind::Points | SeriesKind::HollowPoints | SeriesKind::Rings => {
                lower.iter().for_each(|p| sample_line(&[*p]))
            }
            SeriesKind::Bars => {
                let base = l.bar_base();
                for p in &plotted {
                    sample_line(&[l.px([p[0], p[1]]), l.px([p[0], base])]);
                }
            }
            SeriesKind::Band => {
                let upper: Vec<[f64; 2]> = plotted.iter().map(|p| l.px([p[0], p[2]])).collect();
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
    out
}

fn legend_box_size(fig: &Figure, m: &Measure) -> (f64, f64) {
    let entries = fig.legend_entries();
    let text_w = entries
        .iter()
        .map(|s| m.width(&s.name, LEGEND_PT))
        .fold(0.0, f64::max);
    (
        2.0 * LEGEND_PAD + LEGEND_SAMPLE + 3.0 + text_w,
        2.0 * LEGEND_PAD + entries.len() as f64 * LEGEND_ROW,
    )
}

/// The inner corner whose legend box covers the fewest drawn points; `None` when every corner
/// covers some (or the box does not fit).
fn legend_corner(fig: &Figure, l: &Layout, m: &Measure) -> Option<(f64, f64)> {
    let (bw, bh) = legend_box_size(fig, m);
    let inset = 4.0;
    let p = l.plot;
    if bw + 2.0 * inset > p.w || bh + 2.0 * inset > p.h {
        return None;
    }
    let (x0, x1) = (p.x + inset, p.x + p.w - inset - bw);
    let (y0, y1) = (p.y + inset, p.y + p.h - inset - bh);
    let pts = occupied(fig, l);
    // preference order when several are free: top right, top left, bottom right, bottom left
    [(x1, y0), (x0, y0), (x1, y1), (x0, y1)]
        .into_iter()
        .map(|(x, y)| {
            let r = Rect {
                x: x - 2.0,
                y: y - 2.0,
                w: bw + 4.0,
                h: bh + 4.0,
            };
            (pts.iter().filter(|q| r.contains(**q)).count(), (x, y))
        })
        .find(|(count, _)| *count == 0)
        .map(|(_, at)| at)
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
        let pts = series.plotted(&fig.x, &fig.y);
        if pts.is_empty() {
            continue;
        }
        let color = rgb(series.color);
        let path = |pts: &mut dyn Iterator<Item = [f64; 2]>| {
            let mut d = String::new();
            for (i, q) in pts.enumerate() {
                let q = l.px(q);
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
                let c = l.px([pts[0][0], pts[0][1]]);
                let _ = writeln!(
                    s,
                    r#"<circle cx="{}" cy="{}" r="1.8" fill="{color}"/>"#,
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
                let _ = writeln!(
                    s,
                    r#"<path d="{}" fill="none" stroke="{color}" stroke-width="1" stroke-linejoin="round" stroke-linecap="round"{dash}/>"#,
                    path(&mut pts.iter().map(|q| [q[0], q[1]]))
                );
            }
            SeriesKind::Points => {
                let _ = writeln!(s, r#"<g fill="{color}">"#);
                for (i, q) in series.plotted_indexed(&fig.x, &fig.y) {
                    let c = l.px([q[0], q[1]]);
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
                    let c = l.px([q[0], q[1]]);
                    let _ = writeln!(s, r#"<circle cx="{}" cy="{}" r="{r}"/>"#, n(c[0]), n(c[1]));
                }
                s.push_str("</g>\n");
            }
            SeriesKind::Bars => {
                let base = l.bar_base();
                let _ = writeln!(s, r#"<g fill="{color}" stroke="none">"#);
                for q in &pts {
                    let a = l.px([q[0] - BAR_WIDTH / 2.0, q[1]]);
                    let b = l.px([q[0] + BAR_WIDTH / 2.0, base]);
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
    // legend
    let entries = fig.legend_entries();
    let mut below_y = x_label_y + LABEL_PT * 0.3;
    match place {
        LegendPlace::Inside(x, y) => {
            let (bw, bh) = legend_box_size(fig, &m);
            let _ = writeln!(
                s,
                r##"<rect x="{}" y="{}" width="{}" height="{}" fill="#ffffff" fill-opacity="0.9" stroke="#b0b0b0" stroke-width="0.5"/>"##,
                n(x),
                n(y),
                n(bw),
                n(bh)
            );
            for (i, e) in entries.iter().enumerate() {
                let cy = y + LEGEND_PAD + (i as f64 + 0.5) * LEGEND_ROW;
                legend_entry(&mut s, e, x + LEGEND_PAD, cy);
            }
        }
        LegendPlace::Below => {
            for row in &l.legend_rows {
                let cy = below_y + LEGEND_ROW * 0.5 + 1.0;
                for &(i, dx) in row {
                    legend_entry(&mut s, entries[i], MARGIN + dx, cy);
                }
                below_y += LEGEND_ROW;
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

/// Whether anything drawn in the plot lies outside its ranges (only possible with a fixed range).
fn needs_clip(fig: &Figure, l: &Layout) -> bool {
    let inside = |s: &Scale, v: f64| v >= s.lo && v <= s.hi;
    let data_out = fig.series.iter().any(|s| {
        s.plotted(&fig.x, &fig.y).iter().any(|p| {
            !inside(&l.xs, p[0])
                || !inside(&l.ys, p[1])
                || (p[2].is_finite() && !inside(&l.ys, p[2]))
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
                Some((x, y)) => place = LegendPlace::Inside(x, y),
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

/// A legend entry: its sample (line, dashes, dot or swatch) at `(x, cy)` and its name after it.
fn legend_entry(s: &mut String, e: &super::figure::Series, x: f64, cy: f64) {
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
        esc(&e.name)
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
        let (x, y) = legend_corner(&f, &l, &m).expect("a free corner");
        assert!(
            x < l.plot.x + l.plot.w / 2.0 && y < l.plot.y + l.plot.h / 2.0,
            "top left"
        );
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
