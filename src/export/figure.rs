//! A figure as plain data, free of any UI type: title, two axes, series, event markers and notes.
//!
//! The labs build these from their stored data ([`super::labs`]); [`super::svg`] draws them and
//! [`super::render`] turns the SVG into PNG or PDF. What a figure *plots* is decided here once
//! ([`Series::plotted`]), so the drawing and the CSV beside it hold exactly the same points.

use serde::Serialize;

/// An sRGB colour.
pub type Rgb = [u8; 3];

/// An sRGB channel in linear light (IEC 61966-2-1), for luminance and colour-vision checks.
pub fn srgb_linear(c: u8) -> f64 {
    let c = f64::from(c) / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// A colour's relative luminance: Rec. 709's weights of its linear sRGB (0 black, 1 white).
pub fn relative_luminance(c: Rgb) -> f64 {
    let [r, g, b] = c.map(srgb_linear);
    0.2126 * r + 0.7152 * g + 0.0722 * b
}

/// WCAG's contrast ratio of two colours, (L1 + 0.05) / (L2 + 0.05) of their relative luminances
/// (1 for one colour, 21 for black on white).
pub fn contrast_ratio(a: Rgb, b: Rgb) -> f64 {
    let (x, y) = (relative_luminance(a), relative_luminance(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

/// One axis: its label, whether it is logarithmic, and an optional fixed range.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Axis {
    /// The axis label (with its unit).
    pub label: String,
    /// A base-10 logarithmic axis: non-positive values cannot be drawn and are skipped.
    pub log: bool,
    /// A fixed range `(min, max)`; `None` fits the data.
    pub range: Option<(f64, f64)>,
}

impl Axis {
    /// A linear axis fitted to the data.
    pub fn linear(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            log: false,
            range: None,
        }
    }

    /// A base-10 logarithmic axis fitted to the data.
    pub fn log(label: impl Into<String>) -> Self {
        Self {
            log: true,
            ..Self::linear(label)
        }
    }

    /// Whether `v` can be drawn on this axis: finite, and positive on a log axis.
    pub fn drawable(&self, v: f64) -> bool {
        v.is_finite() && (!self.log || v > 0.0)
    }
}

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum SeriesKind {
    /// A solid line through the points.
    Line,
    /// A marker at each point.
    Points,
    /// A hollow marker at each point: values that are only bounds (a capacity still rising).
    HollowPoints,
    /// A wide ring around each point, drawn over another series' marker there (a run trained in the
    /// window beside runs read from a folder).
    Rings,
    /// A dashed line (fits, references).
    Dashed,
    /// A filled band between a lower and an upper curve (min-max or mean ± std around a mean):
    /// `points` hold the lower curve, [`Series::upper`] the upper one at the same x.
    Band,
    /// A bar from zero (or the bottom of the y range) up to each point, [`BAR_WIDTH`] x units wide
    /// (for values at whole x, like the spectrum's frequencies).
    Bars,
}

/// A bar's width in x units ([`SeriesKind::Bars`]).
pub const BAR_WIDTH: f64 = 0.8;

/// One series: a name for the legend, a colour, a kind and its points in data coordinates.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Series {
    /// The legend's text (and the CSV's `series` column).
    pub name: String,
    pub color: Rgb,
    pub kind: SeriesKind,
    /// `[x, y]` in data coordinates, in drawing order (for a band: `[x, lower]`).
    pub points: Vec<[f64; 2]>,
    /// A band's upper curve, one value per point; empty for other kinds.
    pub upper: Vec<f64>,
    /// Whether the series has a legend entry (off for the second and later seeds of one size, say).
    pub legend: bool,
    /// A colour per point (the clock's position on the cycle); empty: every point in `color`.
    pub colors: Vec<Rgb>,
    /// A label per point (the clock's residue), written in the CSV's `label` column; empty: none.
    pub labels: Vec<String>,
    /// Plotted against the figure's right-hand axis ([`Figure::y2`]) instead of its left one.
    pub right: bool,
    /// The legend's text where it is shorter than [`Series::name`] (the CSV keeps the name, the
    /// caption says the rest): at a column's width long entries took two or three legend rows.
    pub legend_text: Option<String>,
    /// A line's display-smoothed values, one per point ([`super::labs::smooth_figures`]): the line
    /// is drawn through these, its raw points faint behind it, and the CSV writes them in a
    /// `smoothed` column beside the raw `y`; empty: not smoothed.
    pub smoothed: Vec<f64>,
    /// Where a y of 0 is drawn on a log y axis, which has no 0 (the crossing figure's delay of 0 at 1
    /// epoch, as the window draws it); the CSV keeps the 0. `None`: such a point is not drawn, nor
    /// written in the CSV. Not for bands.
    pub log_zero_at: Option<f64>,
}

impl Series {
    /// A line, dashed line or point series with a legend entry.
    pub fn new(
        name: impl Into<String>,
        color: Rgb,
        kind: SeriesKind,
        points: Vec<[f64; 2]>,
    ) -> Self {
        Self {
            name: name.into(),
            color,
            kind,
            points,
            upper: vec![],
            legend: true,
            colors: vec![],
            labels: vec![],
            right: false,
            legend_text: None,
            smoothed: vec![],
            log_zero_at: None,
        }
    }

    /// A filled band from `[x, lower, upper]` rows, with a legend entry.
    pub fn band(name: impl Into<String>, color: Rgb, rows: &[[f64; 3]]) -> Self {
        Self {
            name: name.into(),
            color,
            kind: SeriesKind::Band,
            points: rows.iter().map(|r| [r[0], r[1]]).collect(),
            upper: rows.iter().map(|r| r[2]).collect(),
            legend: true,
            colors: vec![],
            labels: vec![],
            right: false,
            legend_text: None,
            smoothed: vec![],
            log_zero_at: None,
        }
    }

    /// The same series with `text` in the legend (its name stays in the CSV).
    pub fn with_legend_text(mut self, text: impl Into<String>) -> Self {
        self.legend_text = Some(text.into());
        self
    }

    /// What its legend entry says: [`Series::legend_text`], else its name.
    pub fn legend_label(&self) -> &str {
        self.legend_text.as_deref().unwrap_or(&self.name)
    }

    /// The smoothed value at point `i` (see [`Series::smoothed`]), if smoothed and drawable on `y`.
    pub fn smoothed_at(&self, i: usize, y: &Axis) -> Option<f64> {
        self.smoothed.get(i).copied().filter(|&v| y.drawable(v))
    }

    /// The colour of point `i`: its own when [`Series::colors`] has one, else the series'.
    pub fn color_of(&self, i: usize) -> Rgb {
        self.colors.get(i).copied().unwrap_or(self.color)
    }

    /// The points this series draws on axes `x` and `y`, as `[x, y, upper]` (`upper` is NaN except
    /// for bands): a point is skipped when a coordinate is not finite or, on a log axis, not
    /// positive (but a y of 0 is drawn at [`Series::log_zero_at`] when set); a band point also when
    /// its upper value is. The SVG and the CSV both use this (the CSV writes the point's own y).
    pub fn plotted(&self, x: &Axis, y: &Axis) -> Vec<[f64; 3]> {
        self.plotted_indexed(x, y)
            .into_iter()
            .map(|(_, p)| p)
            .collect()
    }

    /// [`Series::plotted`] with each point's index in [`Series::points`] (for its colour and label).
    pub fn plotted_indexed(&self, x: &Axis, y: &Axis) -> Vec<(usize, [f64; 3])> {
        self.points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let upper = match self.kind {
                    SeriesKind::Band => *self.upper.get(i)?,
                    SeriesKind::Line
                    | SeriesKind::Points
                    | SeriesKind::HollowPoints
                    | SeriesKind::Rings
                    | SeriesKind::Dashed
                    | SeriesKind::Bars => f64::NAN,
                };
                let band_ok = match self.kind {
                    SeriesKind::Band => y.drawable(upper),
                    SeriesKind::Line
                    | SeriesKind::Points
                    | SeriesKind::HollowPoints
                    | SeriesKind::Rings
                    | SeriesKind::Dashed
                    | SeriesKind::Bars => true,
                };
                let py = match self.log_zero_at {
                    Some(at) if y.log && p[1] == 0.0 && self.kind != SeriesKind::Band => at,
                    Some(_) | None => p[1],
                };
                (x.drawable(p[0]) && y.drawable(py) && band_ok).then_some((i, [p[0], py, upper]))
            })
            .collect()
    }
}

/// A vertical line at an x value (an event, a fitted threshold) with its label.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Marker {
    pub x: f64,
    pub label: String,
    pub color: Rgb,
}

/// A shaded stretch of the x axis across the plot's height, named at its top (the crossing
/// figure's regimes: where memorisation or generalisation is the faster, as the window shades them).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Span {
    /// Where it starts and ends, in data coordinates.
    pub lo: f64,
    pub hi: f64,
    /// Its name, written at the top of its stretch (and in the JSON sidecar).
    pub label: String,
    /// Its tint (drawn faint, under the data).
    pub color: Rgb,
}

/// One class of a categorical heatmap: its name (legend and CSV) and colour.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Category {
    pub name: String,
    pub color: Rgb,
}

/// How a heatmap's values map to colours.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum HeatScale {
    /// Centred at zero, from -`max_abs` to +`max_abs`, with a colour bar (weights) titled
    /// `quantity`: what the colour shows, whose sign matters (a layer's weight w_ij).
    Diverging { max_abs: f64, quantity: String },
    /// From `lo` (dark) to `hi` (bright) on the window's scale, viridis
    /// ([`crate::store::ordering_layout::sequential`]), with a colour bar (shares, normalised norms,
    /// the grid study's mean D).
    Sequential { lo: f64, hi: f64 },
    /// Value `i` is class `i` of the list, with a legend of the classes instead of a colour bar
    /// (the answer grid); the CSV writes the class's name.
    Categorical(Vec<Category>),
}

/// A heatmap of a matrix: cells on a colour scale ([`HeatScale`]), a colour bar with its labels (or
/// a legend of classes), row and column labels (the Ordering lab's permuted weight matrix, the
/// Grokking lab's insight figures).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HeatmapBody {
    /// One label per row, top to bottom.
    pub row_labels: Vec<String>,
    /// One label per column, left to right.
    pub col_labels: Vec<String>,
    /// Row-major, rows x columns; `None` is an empty cell (a pruned weight).
    pub values: Vec<Option<f64>>,
    /// Row-major text written in each cell (the Ordering grid's mean D, as the window writes it);
    /// empty: none.
    pub texts: Vec<String>,
    /// How values map to colours.
    pub scale: HeatScale,
    /// The CSV's names for the row's and the column's label (`row_neuron`, `column_neuron` for a
    /// weight matrix).
    pub csv_labels: [String; 2],
    /// A gap before this column (where the inputs start).
    pub gap_before_col: Option<usize>,
    /// Draw the main diagonal of the square part.
    pub diagonal: bool,
    /// What the rows are (left, rotated).
    pub row_title: String,
    /// What the columns are (under the grid).
    pub col_title: String,
}

impl HeatmapBody {
    /// Rows and columns.
    pub fn shape(&self) -> (usize, usize) {
        (self.row_labels.len(), self.col_labels.len())
    }
}

/// A grid of cells, each of one class (a colour from the legend) with a short text: a categorical map
/// such as the Grokking lab's phase diagram.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassGridBody {
    /// One label per row, top to bottom.
    pub row_labels: Vec<String>,
    /// One label per column, left to right.
    pub col_labels: Vec<String>,
    /// The classes: their names (the legend) and colours.
    pub classes: Vec<(String, Rgb)>,
    /// Row-major, rows x columns: an index into `classes`, `None` for a cell with no data.
    pub cells: Vec<Option<usize>>,
    /// Row-major text written in each cell (may be empty).
    pub texts: Vec<String>,
    /// What the rows are (left, rotated).
    pub row_title: String,
    /// What the columns are (under the grid).
    pub col_title: String,
}

impl ClassGridBody {
    /// Rows and columns.
    pub fn shape(&self) -> (usize, usize) {
        (self.row_labels.len(), self.col_labels.len())
    }
}

/// What a node of a graph is (its fill).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum NodeKind {
    /// An input of the layer (grey).
    Input,
    /// A hidden neuron (white).
    Hidden,
    /// An output neuron (amber).
    Output,
}

/// A node on the graph's line.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GraphNode {
    pub name: String,
    /// Place along the line, 0 = leftmost; nodes are one unit apart.
    pub slot: f64,
    pub kind: NodeKind,
}

/// An edge: an arc from `from` to `to` (indices into [`GraphBody::nodes`]); a self-loop when equal.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GraphEdge {
    pub from: usize,
    pub to: usize,
    pub weight: f64,
    /// Against the drawn order (sender right of receiver): drawn below the line and marked.
    pub backward: bool,
}

/// Nodes on one line, edges as arcs coloured by sign and as wide as |w|: forward arcs above the line,
/// backward ones below with a halo (the Ordering lab's neuron-ordering graph).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GraphBody {
    pub nodes: Vec<GraphNode>,
    /// The drawn edges, forward ones first (backward arcs are drawn over them).
    pub edges: Vec<GraphEdge>,
    /// The largest |w| of a live edge: widths are relative to it.
    pub max_abs: f64,
}

impl GraphBody {
    /// The nodes' names from left to right.
    pub fn node_order(&self) -> Vec<&str> {
        let mut idx: Vec<usize> = (0..self.nodes.len()).collect();
        idx.sort_by(|&a, &b| self.nodes[a].slot.total_cmp(&self.nodes[b].slot));
        idx.into_iter()
            .map(|i| self.nodes[i].name.as_str())
            .collect()
    }
}

/// What a figure draws in its body.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Body {
    /// The x/y plot of [`Figure::x`], [`Figure::y`], [`Figure::series`] and [`Figure::markers`].
    Plot,
    /// A heatmap; the figure's axes and series are unused.
    Heatmap(HeatmapBody),
    /// A graph; the figure's axes and series are unused.
    Graph(GraphBody),
    /// A grid of classed cells with a legend; the figure's axes and series are unused.
    ClassGrid(ClassGridBody),
}

/// A figure: what [`super::svg::to_svg`] draws.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Figure {
    /// Stable name: file names and `grokscope export --figure NAME`.
    pub name: String,
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    /// A right-hand y axis for the series marked [`Series::right`] (the ablation figure's validation
    /// accuracy in percent beside its log losses); `None`: every series is on [`Figure::y`].
    pub y2: Option<Axis>,
    /// Drawn in order (later on top); bands are drawn first whatever their place.
    pub series: Vec<Series>,
    /// Vertical dashed lines with their labels.
    pub markers: Vec<Marker>,
    /// Shaded stretches of the x axis under the data, each named at its top.
    pub spans: Vec<Span>,
    /// Lines of text under the plot (what the figure leaves out, fitted values).
    pub notes: Vec<String>,
    /// What a caption says of the figure (how its curves were measured, what its styles mean):
    /// written in the JSON sidecar's `caption`, never drawn. At a column's width such notes took
    /// two thirds of the ablation figure's height (a researcher's audit).
    pub caption: Vec<String>,
    /// Whether to draw the legend (when at least one series has an entry).
    pub legend: bool,
    /// What the figure draws: the x/y plot, or a heatmap or graph instead.
    pub body: Body,
    /// Linear axes at the same scale (a circle draws round): the axis with room to spare shows
    /// more of its range.
    pub equal_aspect: bool,
    /// What the drawing rests on besides its points and the config, for the JSON sidecar's `data`
    /// (a layer's step, D and the neuron order it is drawn in); empty: no `data`.
    pub data: serde_json::Map<String, serde_json::Value>,
}

impl Figure {
    /// An empty figure with a legend.
    pub fn new(name: impl Into<String>, title: impl Into<String>, x: Axis, y: Axis) -> Self {
        Self {
            name: name.into(),
            title: title.into(),
            x,
            y,
            y2: None,
            series: vec![],
            markers: vec![],
            spans: vec![],
            notes: vec![],
            caption: vec![],
            legend: true,
            body: Body::Plot,
            equal_aspect: false,
            data: serde_json::Map::new(),
        }
    }

    /// A figure drawing `body` (a heatmap or a graph) under `title`.
    pub fn with_body(name: impl Into<String>, title: impl Into<String>, body: Body) -> Self {
        Self {
            body,
            legend: false,
            ..Self::new(name, title, Axis::linear(""), Axis::linear(""))
        }
    }

    /// The y axis `s` is plotted against: the right-hand one when it is marked so and there is one.
    pub fn y_of(&self, s: &Series) -> &Axis {
        match &self.y2 {
            Some(y2) if s.right => y2,
            _ => &self.y,
        }
    }

    /// Whether `s` is drawn against the right-hand axis.
    pub fn on_right(&self, s: &Series) -> bool {
        s.right && self.y2.is_some()
    }

    /// [`Series::plotted`] on the axes `s` is drawn against.
    pub fn plotted(&self, s: &Series) -> Vec<[f64; 3]> {
        s.plotted(&self.x, self.y_of(s))
    }

    /// [`Series::plotted_indexed`] on the axes `s` is drawn against.
    pub fn plotted_indexed(&self, s: &Series) -> Vec<(usize, [f64; 3])> {
        s.plotted_indexed(&self.x, self.y_of(s))
    }

    /// The series' legend entries, in order.
    pub fn legend_entries(&self) -> Vec<&Series> {
        if !self.legend {
            return vec![];
        }
        self.series.iter().filter(|s| s.legend).collect()
    }

    /// The spans that can be drawn on the x axis (both ends drawable, in order).
    pub fn plotted_spans(&self) -> impl Iterator<Item = &Span> {
        self.spans
            .iter()
            .filter(|s| self.x.drawable(s.lo) && self.x.drawable(s.hi) && s.lo < s.hi)
    }

    /// The markers that can be drawn on the x axis.
    pub fn plotted_markers(&self) -> impl Iterator<Item = &Marker> {
        self.markers.iter().filter(|m| self.x.drawable(m.x))
    }
}

/// A figure's size on paper.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct FigureSize {
    pub width_in: f64,
    pub height_in: f64,
}

impl Default for FigureSize {
    /// A one-column figure of a two-column paper (3.5 in wide), 2.8 in high.
    fn default() -> Self {
        Self {
            width_in: 3.5,
            height_in: 2.8,
        }
    }
}

impl FigureSize {
    /// Smallest and largest side accepted, in inches.
    pub const LIMITS_IN: (f64, f64) = (1.0, 40.0);

    /// A size in centimetres.
    pub fn from_cm(width_cm: f64, height_cm: f64) -> Self {
        Self {
            width_in: width_cm / 2.54,
            height_in: height_cm / 2.54,
        }
    }

    /// Check both sides are finite and within [`Self::LIMITS_IN`].
    pub fn check(&self) -> Result<(), String> {
        let (lo, hi) = Self::LIMITS_IN;
        for (side, v) in [("width", self.width_in), ("height", self.height_in)] {
            if !(v.is_finite() && (lo..=hi).contains(&v)) {
                return Err(format!(
                    "figure {side} {v} in is out of range ({lo} to {hi} in)"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ordering_layout as layout;

    /// The sequential scale rises in luminance all the way from 0 to 1, so its order reads in grey
    /// and for readers who tell hues apart poorly (viridis' design; ColorBrewer's Blues, which the
    /// export drew, fell). Expected: the relative luminance ([`relative_luminance`]) of
    /// 41 evenly spaced colours, each above the one before.
    #[test]
    fn the_sequential_scale_rises_in_lightness() {
        let l: Vec<f64> = (0..=40)
            .map(|i| relative_luminance(layout::sequential(f64::from(i) / 40.0)))
            .collect();
        assert!(l.windows(2).all(|w| w[1] > w[0]), "{l:?}");
        assert_eq!(layout::sequential(f64::NAN), layout::NOT_FINITE);
        assert_eq!(
            layout::sequential_value(1.0, 1.0, 1.0),
            layout::SEQUENTIAL[2]
        );
    }

    #[test]
    fn plotted_skips_non_finite_and_non_positive_on_log_axes() {
        let s = Series::new(
            "s",
            [0, 0, 0],
            SeriesKind::Line,
            vec![
                [0.0, 1.0],
                [1.0, f64::NAN],
                [2.0, -1.0],
                [3.0, 2.0],
                [f64::INFINITY, 1.0],
            ],
        );
        // linear axes: only the NaN and the infinite x go
        let lin = s.plotted(&Axis::linear("x"), &Axis::linear("y"));
        assert_eq!(
            lin.iter().map(|p| [p[0], p[1]]).collect::<Vec<_>>(),
            [[0.0, 1.0], [2.0, -1.0], [3.0, 2.0]]
        );
        // log x drops x = 0; log y drops y = -1
        let log = s.plotted(&Axis::log("x"), &Axis::log("y"));
        assert_eq!(
            log.iter().map(|p| [p[0], p[1]]).collect::<Vec<_>>(),
            [[3.0, 2.0]]
        );
    }

    #[test]
    fn a_band_point_needs_both_curves() {
        let b = Series::band(
            "b",
            [0, 0, 0],
            &[[1.0, 0.5, 1.5], [2.0, 0.5, f64::NAN], [3.0, 0.0, 1.0]],
        );
        let p = b.plotted(&Axis::linear("x"), &Axis::log("y"));
        // the NaN upper and the zero lower (log y) are skipped
        assert_eq!(p, vec![[1.0, 0.5, 1.5]]);
    }

    #[test]
    fn sizes_are_checked() {
        assert!(FigureSize::default().check().is_ok());
        assert!(
            FigureSize {
                width_in: 0.1,
                height_in: 2.0
            }
            .check()
            .is_err()
        );
        assert!(
            FigureSize {
                width_in: f64::NAN,
                height_in: 2.0
            }
            .check()
            .is_err()
        );
        let cm = FigureSize::from_cm(2.54 * 4.0, 2.54 * 3.0);
        assert!((cm.width_in - 4.0).abs() < 1e-12 && (cm.height_in - 3.0).abs() < 1e-12);
    }
}
