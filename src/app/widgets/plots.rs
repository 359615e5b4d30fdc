//! The linked plots of a run: accuracy, loss (log y), weight norm, on a shared step axis.
//!
//! egui_plot has no log axes: a log axis plots log10 of the data, with grid marks at whole decades
//! and tick labels and hover read-outs that show the real values. The transformed points are cached
//! per series (appended as rows arrive, rebuilt when the history or an axis mode changes); a frame
//! borrows a slice of the cache, or draws a min/max-decimated copy when the visible part holds more
//! points than the plot has pixels.
//!
//! Display smoothing ([`PlotView::smoothing`], the toolbar's "smoothing" slider) draws each series'
//! debiased moving average ([`crate::analysis::smooth`]) over its raw curve, which stays drawn faint
//! behind it in the same colour. The average runs over every logged value of the series in step
//! order (the stored points, not the thinned ones drawn: the smoothed curve does not change as the
//! view zooms or the window narrows), in real values (a log axis shows the log of the smoothed
//! loss), and counts points, not steps (a log step axis changes where the points are drawn, not
//! their average; step 0, which it cannot show, still counts). The smoothed curve is then thinned
//! for drawing as the raw one is. Compared runs ([`Overlay`]) are smoothed alike, a seed group's mean
//! as one series (its band stays raw). The markers (memorised, generalised, val ≥ 98 %) come from the
//! run's raw values, as the stored data and the CSV do: smoothing is for the eye only.

use crate::analysis::smooth::{Ema, MAX_WEIGHT, Weight};
use crate::app::actions::{Action, ExportKind};
use crate::app::widgets::key::{KeyEntry, Mark, key_strip, key_strip_rows};
use crate::protocol::{GrokEvent, HyperChange, Metric};
use crate::store::{self, Marker, MarkerKind, MinMaxPyramid, RunHistory};
use eframe::egui::{self, Color32, FontId, Id, Rect, Ui};
use egui_plot::{
    Corner, FilledArea, GridInput, GridMark, HoverPosition, Legend, Line, LineStyle, Plot,
    PlotMemory, PlotPoint, PlotPoints, PlotUi, VLine, uniform_grid_spacer,
};
use std::ops::RangeInclusive;
use std::path::PathBuf;

/// How a plot's y values are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum YScale {
    /// Fractions in [0, 1] shown as percent.
    Percent,
    /// log10 of the value, ticks at decades.
    Log,
    /// The value as is.
    Linear,
    /// A fraction in [0, 1] shown as is (the axis always spans 0 to 1).
    Unit,
    /// Orderedness D, shown as is on an axis that always spans 0.5 to 1: D >= 0.5 (an order or its
    /// reverse has at most half the weight backward), and on 0 to 1 the lab's rise from 0.71 to
    /// 0.77 was a few pixels (a helper's lesson audit).
    Orderedness,
}

/// One of the stacked plots.
#[derive(Clone, Copy, Debug)]
pub struct PlotSpec {
    /// Stable id (plot memory, cache keys).
    pub id: &'static str,
    /// The y axis label.
    pub y_label: &'static str,
    /// The y label where `y_label` is longer than the row is high (a short row in the presenter view).
    pub short_label: &'static str,
    /// The series drawn, in legend order.
    pub series: &'static [Metric],
    pub y_scale: YScale,
    /// Share of the plots' height.
    pub height_share: f32,
    /// Legend corner (where the curves usually are not); `None` for a single series, which the
    /// y label names.
    pub legend: Option<Corner>,
}

/// The plots, top to bottom. The CSV export writes exactly these series ([`plotted_metrics`]).
pub const PLOTS: [PlotSpec; 4] = [
    PlotSpec {
        id: "accuracy",
        y_label: "accuracy",
        short_label: "acc.",
        series: &[Metric::TrainAcc, Metric::TrainAccEval, Metric::ValAcc],
        y_scale: YScale::Percent,
        height_share: 0.34,
        legend: Some(Corner::RightBottom),
    },
    PlotSpec {
        id: "loss",
        y_label: "loss",
        short_label: "loss",
        series: &[
            Metric::TrainLoss,
            Metric::ValLoss,
            Metric::RestrictedLoss,
            Metric::ExcludedLoss,
            Metric::RestrictedLossFinal,
            Metric::ExcludedLossFinal,
        ],
        y_scale: YScale::Log,
        height_share: 0.3,
        legend: Some(Corner::LeftBottom),
    },
    PlotSpec {
        id: "weight_norm",
        y_label: "weight norm²",
        short_label: "‖w‖²",
        series: &[Metric::WeightNorm],
        y_scale: YScale::Linear,
        height_share: 0.18,
        legend: None,
    },
    PlotSpec {
        id: "fourier",
        // as the figure export calls it (the row once had no title: a helper's audit)
        y_label: "Fourier sparsity",
        short_label: "sparsity",
        series: &[Metric::FourierGini, Metric::FourierIpr],
        y_scale: YScale::Linear,
        height_share: 0.18,
        legend: Some(Corner::LeftTop),
    },
];

/// Every series the plots draw, in plot then legend order.
pub fn plotted_metrics() -> Vec<Metric> {
    metrics_of(&PLOTS)
}

fn metrics_of(specs: &[PlotSpec]) -> Vec<Metric> {
    specs
        .iter()
        .flat_map(|p| p.series.iter().copied())
        .collect()
}

/// Legend name of a series (the figure export's, so window and exported figures agree).
fn series_name(m: Metric) -> String {
    crate::export::labs::series_name(m)
}

/// Each series of a plot in its own hue (shared with the figure export).
pub fn series_color(m: Metric) -> Color32 {
    let [r, g, b] = crate::export::labs::series_rgb(m);
    Color32::from_rgb(r, g, b)
}

fn marker_color(kind: MarkerKind) -> Color32 {
    let [r, g, b] = match kind {
        MarkerKind::Grok(e) => crate::export::labs::event_rgb(e),
        MarkerKind::Change(_) => crate::export::labs::CHANGE_RGB,
    };
    Color32::from_rgb(r, g, b)
}

/// A marker's label, in the x axis' unit: optimiser steps, as the exported figures say it ("epoch
/// 1073" stood at x = 3219 for a run of 3 steps an epoch; the hover gives the epoch).
fn marker_label(m: &Marker) -> String {
    match m.kind {
        MarkerKind::Grok(e) => crate::export::labs::event_label(e, m.step),
        MarkerKind::Change(HyperChange::Lr(v)) => {
            format!("lr → {}", super::form::format_sci(v))
        }
        MarkerKind::Change(HyperChange::WeightDecay(v)) => {
            format!("wd → {}", super::form::format_sci(v))
        }
    }
}

/// The transformed points of one series, kept between frames.
#[derive(Debug, Default)]
struct SeriesCache {
    generation: u64,
    log_x: bool,
    /// How many of the store's points have been looked at.
    consumed: usize,
    /// Finite points in plot space, in step order.
    points: Vec<PlotPoint>,
    /// Min/max summaries of `points`' y, for fast thinning.
    pyramid: MinMaxPyramid,
    /// The smoothed curve, while smoothing is on.
    smooth: Option<SmoothedCache>,
}

/// A series' smoothed curve in plot space (see the module's doc), kept between frames.
#[derive(Debug)]
struct SmoothedCache {
    weight: Weight,
    /// The average over the store's points looked at so far.
    ema: Ema,
    /// Smoothed points the axes can show, in step order.
    points: Vec<PlotPoint>,
    pyramid: MinMaxPyramid,
}

impl SmoothedCache {
    fn new(weight: Weight) -> Self {
        Self {
            weight,
            ema: Ema::new(weight),
            points: Vec::new(),
            pyramid: MinMaxPyramid::new(),
        }
    }

    fn push(&mut self, p: &store::Point, log_x: bool, y_scale: YScale) {
        let v = self.ema.push(p.value);
        if let (Some(x), Some(y)) = (to_plot_x(p.step, log_x), to_plot_y(v, y_scale)) {
            self.points.push(PlotPoint::new(x, y));
            self.pyramid.push(y);
        }
    }
}

impl SeriesCache {
    fn update(
        &mut self,
        history: &RunHistory,
        metric: Metric,
        log_x: bool,
        y_scale: YScale,
        weight: Weight,
    ) {
        if self.generation != history.generation() || self.log_x != log_x {
            *self = SeriesCache {
                generation: history.generation(),
                log_x,
                ..SeriesCache::default()
            };
        }
        let src = history.series(metric);
        if src.len() < self.consumed {
            // Cannot happen while the generation is unchanged; rebuild rather than trust it.
            self.consumed = 0;
            self.points.clear();
            self.pyramid = MinMaxPyramid::new();
            self.smooth = None;
        }
        let wanted = weight.is_on().then_some(weight);
        if self.smooth.as_ref().map(|s| s.weight) != wanted {
            // a new weight: the smoothed curve again from the first point (the raw one stays)
            self.smooth = wanted.map(|w| {
                let mut s = SmoothedCache::new(w);
                for p in &src[..self.consumed] {
                    s.push(p, log_x, y_scale);
                }
                s
            });
        }
        for p in &src[self.consumed..] {
            if let (Some(x), Some(y)) = (to_plot_x(p.step, log_x), to_plot_y(p.value, y_scale)) {
                self.points.push(PlotPoint::new(x, y));
                self.pyramid.push(y);
            }
            if let Some(s) = &mut self.smooth {
                s.push(p, log_x, y_scale);
            }
        }
        self.consumed = src.len();
    }

    /// The points the series' line is drawn through: the smoothed ones while smoothing is on, else
    /// the raw ones (with their summaries, for thinning).
    fn drawn(&self) -> (&[PlotPoint], &MinMaxPyramid) {
        match &self.smooth {
            Some(s) => (&s.points, &s.pyramid),
            None => (&self.points, &self.pyramid),
        }
    }

    /// The raw value's plot y at plot x `x` (the point a smoothed one was made from), if drawn.
    fn raw_at(&self, x: f64) -> Option<f64> {
        y_at(&self.points, x)
    }
}

/// Step -> plot x (log10 on a log axis, where step 0 cannot be shown).
pub fn to_plot_x(step: u64, log_x: bool) -> Option<f64> {
    if log_x {
        (step > 0).then(|| (step as f64).log10())
    } else {
        Some(step as f64)
    }
}

/// The y range of an orderedness plot: its points' (D and its null), with a tenth of their span
/// on each side, at least 0.1 high, within D's own 0.5 ..= 1 (an order or its reverse leaves at most
/// half the weight backward); no points, the whole 0.5 ..= 1. The whole range had squashed a run's
/// rise from 0.70 to 0.77 into a seventh of the plot (a researcher's audit); the axis's labels say
/// where it is.
pub fn orderedness_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    const MIN_SPAN: f64 = 0.1;
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if lo > hi {
        return (0.5, 1.0);
    }
    let pad = (hi - lo) * 0.1;
    let (mut lo, mut hi) = (lo - pad, hi + pad);
    if hi - lo < MIN_SPAN {
        let mid = (lo + hi) / 2.0;
        (lo, hi) = (mid - MIN_SPAN / 2.0, mid + MIN_SPAN / 2.0);
    }
    // kept inside 0.5 ..= 1, moved rather than cut where it can be
    if lo < 0.5 {
        (lo, hi) = (0.5, (hi + 0.5 - lo).min(1.0));
    }
    if hi > 1.0 {
        (lo, hi) = ((lo - (hi - 1.0)).max(0.5), 1.0);
    }
    (lo, hi)
}

/// Value -> plot y; `None` for what the axis cannot show (non-finite, non-positive on a log axis).
pub fn to_plot_y(value: f64, scale: YScale) -> Option<f64> {
    let y = match scale {
        YScale::Percent | YScale::Linear | YScale::Unit | YScale::Orderedness => value,
        YScale::Log => {
            if value > 0.0 {
                value.log10()
            } else {
                f64::NAN
            }
        }
    };
    y.is_finite().then_some(y)
}

fn from_plot(v: f64, log: bool) -> f64 {
    if log { 10f64.powf(v) } else { v }
}

/// UI state of the plots (not part of any run).
#[derive(Debug)]
pub struct PlotView {
    /// The plots, top to bottom.
    specs: &'static [PlotSpec],
    /// Links the step axes of these plots (and no others).
    link: Id,
    /// A step to mark with a line on every plot (e.g. the snapshot shown).
    pub cursor: Option<u64>,
    /// The run as it was at this step: what every plot drew after it is veiled and marked "later"
    /// (a lesson's step gone back to speaks of that moment, not of the run's end).
    pub later_from: Option<u64>,
    /// The veils drawn over the later part of each plot in the last frame, by [`PlotSpec::id`].
    pub veils: Vec<(&'static str, Rect)>,
    /// The step under a click on any plot in the last frame (a click, not a drag: dragging pans).
    pub clicked_step: Option<u64>,
    /// Series not drawn (their views are hidden).
    pub hidden: Vec<Metric>,
    /// Plots not drawn, by [`PlotSpec::id`] (a lesson hid them); the others share their height.
    pub hidden_rows: Vec<&'static str>,
    /// Auto-bounds on: the view follows the newest data. Zooming or panning turns it off.
    pub follow: bool,
    /// Log10 step axis.
    pub log_x: bool,
    /// Display smoothing of every series (see the module's doc): off by default.
    pub smoothing: Weight,
    /// Set the plots' auto-bounds on (true) or off (false) in the next frame.
    force_auto: Option<bool>,
    caches: Vec<SeriesCache>,
    /// Where the plots were drawn in the last frame (for the PNG export), in points.
    pub plots_rect: Option<Rect>,
    /// Where each plot was drawn in the last frame, by [`PlotSpec::id`] (a lesson highlights one).
    pub row_rects: Vec<(&'static str, Rect)>,
    /// Each plot's data frame (inside its axes) in the last frame, by [`PlotSpec::id`]: a step lines
    /// up through the stack when their left and right edges agree.
    pub data_frames: Vec<(&'static str, Rect)>,
    /// Points drawn in the last frame over all series (after decimation; a smoothed series' faint
    /// raw curve counts too).
    pub drawn_points: usize,
    /// The main run's series whose raw curve was drawn faint behind a smoothed one in the last frame.
    pub raw_behind: Vec<Metric>,
    /// The marker labels drawn in the last frame (those in view that found room).
    pub labelled: Vec<MarkerLabel>,
    /// Rows of marker labels in the last frame: a percent plot leaves room above 100 % for them.
    label_rows: usize,
    /// The legends drawn as strips above their plots in the last frame (the presenter view's), by
    /// [`PlotSpec::id`], with their entries' names.
    pub legend_strips: Vec<(&'static str, Vec<String>)>,
}

impl Default for PlotView {
    /// The Grokking lab's plots.
    fn default() -> Self {
        Self::new(&PLOTS)
    }
}

impl PlotView {
    /// The smoothing the plots draw with: the toolbar's, except in the presenter view, which leaves
    /// the toolbar out and so draws the raw curves (a smoothing chosen in the window must not change
    /// a lesson's picture unseen).
    pub fn shown_smoothing(&self, ctx: &egui::Context) -> Weight {
        if crate::app::teach::presenter::Look::of(ctx).presenting {
            Weight::OFF
        } else {
            self.smoothing
        }
    }

    /// Linked plots of `specs` (top to bottom), their step axes linked to each other only.
    pub fn new(specs: &'static [PlotSpec]) -> Self {
        Self {
            specs,
            link: Id::unique(("grokscope-step-axis", specs.first().map(|s| s.id))),
            cursor: None,
            later_from: None,
            veils: Vec::new(),
            clicked_step: None,
            hidden: Vec::new(),
            hidden_rows: Vec::new(),
            follow: true,
            log_x: false,
            smoothing: Weight::OFF,
            force_auto: None,
            caches: metrics_of(specs)
                .iter()
                .map(|_| SeriesCache::default())
                .collect(),
            plots_rect: None,
            row_rects: Vec::new(),
            data_frames: Vec::new(),
            drawn_points: 0,
            raw_behind: Vec::new(),
            labelled: Vec::new(),
            label_rows: 0,
            legend_strips: Vec::new(),
        }
    }

    /// Follow the newest data again (a new run, a reset).
    pub fn follow_latest(&mut self) {
        self.follow = true;
        self.force_auto = Some(true);
    }

    /// The line the main run's `metric` is drawn through, in plot space, before thinning: its
    /// smoothed points while smoothing is on, else its raw ones (as of the last frame; `None` for a
    /// metric these plots do not draw).
    pub fn drawn_line(&self, metric: Metric) -> Option<&[PlotPoint]> {
        let i = metrics_of(self.specs).iter().position(|&m| m == metric)?;
        self.caches.get(i).map(|c| c.drawn().0)
    }

    /// Put the step axis on a log scale (or back), as the toolbar's box does: the plots fit their
    /// data again, whose x values all change.
    pub fn set_log_x(&mut self, on: bool) {
        if self.log_x != on {
            self.log_x = on;
            self.force_auto = Some(true);
        }
    }
}

/// A typed path for an export, offered when no dialog could be shown.
#[derive(Clone, Debug, PartialEq)]
pub struct PathPrompt {
    pub kind: ExportKind,
    pub text: String,
}

/// The row above the plots: axis options, follow, exports, and the typed-path fallback.
pub fn plots_toolbar_ui(
    ui: &mut Ui,
    view: &mut PlotView,
    prompt: Option<&mut PathPrompt>,
    busy: bool,
) -> Action {
    let mut action = Action::None;
    ui.horizontal(|ui| {
        if ui
            .checkbox(&mut view.log_x, "log step axis")
            .on_hover_text("Plot log10(step); steps start at 1.")
            .changed()
        {
            view.force_auto = Some(true);
        }
        smoothing_ui(ui, view);
        let mut follow = view.follow;
        if ui
            .checkbox(&mut follow, "fit all data")
            .on_hover_text("Keep all data in view as it arrives. Zooming or panning a plot turns this off; double-click a plot to turn it back on.")
            .changed()
        {
            view.follow = follow;
            view.force_auto = Some(follow);
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .add_enabled(!busy, egui::Button::new("Export CSV"))
                .on_hover_text(
                    "The current run's plotted series, every logged point, raw (never smoothed): \
                     series,step,epoch,value (the runs compared beside it: Export figure…, \
                     \"…: runs compared\")",
                )
                .clicked()
            {
                action = Action::Export(ExportKind::Csv);
            }
            if ui
                .add_enabled(!busy, egui::Button::new("Export PNG"))
                .on_hover_text("A picture of the plots as shown")
                .clicked()
            {
                action = Action::Export(ExportKind::Png);
            }
            if busy {
                ui.spinner();
            }
        });
    });
    if let Some(prompt) = prompt {
        ui.horizontal(|ui| {
            ui.label(format!("Save {} to:", prompt.kind));
            let edit = ui.add(egui::TextEdit::singleline(&mut prompt.text).desired_width(360.0));
            let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("Save").clicked() || enter {
                let path = PathBuf::from(prompt.text.trim());
                action = Action::ExportTo(prompt.kind, path);
            }
            if ui.button("Cancel").clicked() {
                action = Action::CancelExportPath;
            }
        });
    }
    action
}

/// The toolbar's smoothing slider (0 to [`MAX_WEIGHT`], 0 off).
fn smoothing_ui(ui: &mut Ui, view: &mut PlotView) {
    let mut w = view.smoothing.get();
    let slider = egui::Slider::new(&mut w, 0.0..=MAX_WEIGHT)
        .text("smoothing")
        .fixed_decimals(2)
        .step_by(0.01);
    if ui
        .add(slider)
        .on_hover_text(
            "Smooth the curves for the eye, as TensorBoard does: a moving average over each \
             series' points in step order, s = w·s + (1 − w)·x, divided by 1 − wᵗ (t counting \
             points) so that it starts at the first point. 0 is off. The raw curve stays drawn \
             faint behind; the hover gives both values.\n\
             Display only: the milestones (memorised, generalised, val ≥ 98 %) and their lines \
             come from the raw values, and the stored run and Export CSV keep the raw values.",
        )
        .changed()
    {
        view.smoothing = Weight::new(w);
    }
}

/// Other runs drawn over the plots, and how the main history is drawn among them (runs compared).
#[derive(Debug, Default)]
pub struct Compare {
    /// Drawn under the main history, in order.
    pub overlays: Vec<Overlay>,
    /// The main history's colour when runs are compared (`None`: each metric in its own colour).
    pub main_color: Option<Color32>,
    /// Its name in the legend when runs are compared.
    pub main_name: String,
    /// The main history is not drawn (hidden in the runs list, or part of a group's mean).
    pub main_hidden: bool,
}

/// One run (or a group's mean) drawn over the plots, prepared in plot space for the current axes.
#[derive(Clone, Debug)]
pub struct Overlay {
    /// Legend name (the metric is added).
    pub name: String,
    pub color: Color32,
    pub width: f32,
    /// Plot-space points of each metric, in step order (smoothed while the plots' smoothing is on).
    pub series: Vec<(Metric, Vec<PlotPoint>)>,
    /// While the plots' smoothing is on, each smoothed metric's raw points, drawn faint behind its
    /// line; empty when off.
    pub raw: Vec<(Metric, Vec<PlotPoint>)>,
    /// A band around some metrics (a group's spread).
    pub bands: Vec<Band>,
    /// Its milestones and hyper-parameter changes, drawn as thin lines in the run's colour and
    /// labelled with the run's name (see [`marker_labels`]).
    pub markers: Vec<Marker>,
    /// Its optimiser steps an epoch, for the hover's epoch (0: not known).
    pub steps_per_epoch: u64,
    /// What a group's legend name has no room for (its t_val spread, where its mean ends), said
    /// in the Runs panel; empty for a single run.
    pub note: String,
}

/// A marker's label on the first plot: its text, colour and step.
#[derive(Clone, Debug, PartialEq)]
pub struct MarkerLabel {
    /// The marker's step (where its line is).
    pub step: u64,
    /// What the label says (the run's name first when runs are compared).
    pub text: String,
    /// The milestone's colour, or the run's when runs are compared.
    pub color: Color32,
}

/// The colour of the main run's markers: the milestone's alone, the run's when runs are compared
/// (so that no run's markers take another run's colour).
fn main_marker_color(kind: MarkerKind, compare: &Compare) -> Color32 {
    compare.main_color.unwrap_or_else(|| marker_color(kind))
}

/// Longest run name a marker label repeats (longer ones are cut with an ellipsis).
const LABEL_NAME_CHARS: usize = 18;

/// Most rows of marker labels stacked at the top of a plot; labels that would need more are left
/// out (their lines stay), the current run's first, so several compared runs cannot bury the plot.
const MAX_LABEL_LANES: usize = 4;

/// `name` cut to `max` characters (the last one an ellipsis when cut).
fn short_name(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        name.to_owned()
    } else {
        let mut s: String = name.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// Height of a row of marker labels, in points (a 12-point line and the gap between rows).
const LABEL_ROW_PX: f32 = 16.0;

/// The marker labels' size in the presenter view, in points (before its zoom): at 12 ("memorised ·
/// epoch 111") they were under 9 pixels high in a 1600 x 900 picture seen at half size.
const PRESENTER_MARKER_TYPE: f32 = 16.0;

/// How much larger the plots' body type (tick labels, axis labels, the legend strips) is in the
/// presenter view than elsewhere in it: tick labels in body type were about 9 pixels high in a
/// 1600 x 900 picture seen at half size (a helper's teaching audit).
const PRESENTER_PLOT_TYPE: f32 = 1.25;

/// A legend's type: small in the window, to cover less of the curves; the body's in the presenter
/// view, to be read from the back of a room.
pub fn legend_text_style(ctx: &egui::Context) -> egui::TextStyle {
    if crate::app::teach::presenter::Look::of(ctx).presenting {
        egui::TextStyle::Body
    } else {
        egui::TextStyle::Small
    }
}

/// The y axis's width (tick labels and the axis label), in points, at least.
const Y_AXIS_WIDTH: f32 = 56.0;

/// A legend row's height, in points, beyond its text's. Measured under Xvfb, 3 rows and their frame
/// took 56 px in body text (15.0 points high) and 45 px in small (10.3): 3 rows of text + 2 and a
/// 10-point frame (61 and 47) is a little over both.
const LEGEND_ROW_GAP: f32 = 2.0;

/// The labels of every marker drawn, in placing priority: generalised first, then memorised and
/// hyper-parameter changes, last val ≥ 98 % (which sits next to generalised); within each, the main
/// run's before the overlays', in their order. The main run's are in the milestone's colour when it
/// is alone; when runs are compared every label is in its run's colour and named after the run.
pub fn marker_labels(markers: &[Marker], compare: &Compare) -> Vec<MarkerLabel> {
    let prefix = |name: &str| format!("{}: ", short_name(name, LABEL_NAME_CHARS));
    let rank = |kind: MarkerKind| match kind {
        MarkerKind::Grok(GrokEvent::Generalised) => 0u8,
        MarkerKind::Grok(GrokEvent::Memorised) | MarkerKind::Change(_) => 1,
        MarkerKind::Grok(GrokEvent::Val98) => 2,
    };
    let label = |m: &Marker, prefix: &str, color: Color32| {
        let l = MarkerLabel {
            step: m.step,
            text: format!("{prefix}{}", marker_label(m)),
            color,
        };
        (rank(m.kind), l)
    };
    let main_prefix = compare
        .main_color
        .map_or(String::new(), |_| prefix(&compare.main_name));
    let mut all: Vec<(u8, MarkerLabel)> = markers
        .iter()
        .map(|m| label(m, &main_prefix, main_marker_color(m.kind, compare)))
        .collect();
    for o in &compare.overlays {
        let p = prefix(&o.name);
        all.extend(o.markers.iter().map(|m| label(m, &p, o.color)));
    }
    // stable: the main run, then the overlays in order, within a rank
    all.sort_by_key(|(r, _)| *r);
    all.into_iter().map(|(_, l)| l).collect()
}

/// A shaded band around one metric's line, in plot space.
#[derive(Clone, Debug)]
pub struct Band {
    pub metric: Metric,
    pub xs: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
}

/// How a metric's line is told apart from the others of its plot when every run has one colour:
/// validation and the single-series plots solid, running train values dashed, eval train dotted.
pub fn metric_style(m: Metric) -> LineStyle {
    match m {
        Metric::TrainAcc
        | Metric::TrainLoss
        | Metric::FourierIpr
        | Metric::ExcludedLoss
        | Metric::ExcludedLossFinal => LineStyle::dashed_loose(),
        Metric::TrainAccEval | Metric::TrainLossEval => LineStyle::dotted_dense(),
        Metric::ValAcc
        | Metric::ValLoss
        | Metric::WeightNorm
        | Metric::Lr
        | Metric::WeightDecay
        | Metric::FourierGini
        | Metric::RestrictedLoss
        | Metric::RestrictedLossFinal
        | Metric::Mse
        | Metric::Orderedness
        | Metric::Sparsity => LineStyle::Solid,
        Metric::OrderednessNull => LineStyle::dashed_loose(),
    }
}

/// The y transform of the plot that draws `m` (linear for a metric no plot draws).
pub fn y_scale_of(m: Metric) -> YScale {
    PLOTS
        .iter()
        .find(|p| p.series.contains(&m))
        .map_or(YScale::Linear, |p| p.y_scale)
}

/// The linked plots of `view`. Records their rect in `view.plots_rect`.
pub fn plots_ui(ui: &mut Ui, view: &mut PlotView, history: &RunHistory) {
    plots_compare_ui(ui, view, history, &Compare::default());
}

/// [`plots_ui`] with other runs drawn over it (see [`Compare`]); in the presenter view in larger
/// body type ([`PRESENTER_PLOT_TYPE`]).
pub fn plots_compare_ui(ui: &mut Ui, view: &mut PlotView, history: &RunHistory, compare: &Compare) {
    if !crate::app::teach::presenter::Look::of(ui.ctx()).presenting {
        return plots_in(ui, view, history, compare);
    }
    ui.scope(|ui| {
        if let Some(body) = ui.style_mut().text_styles.get_mut(&egui::TextStyle::Body) {
            body.size *= PRESENTER_PLOT_TYPE;
        }
        plots_in(ui, view, history, compare);
    });
}

fn plots_in(ui: &mut Ui, view: &mut PlotView, history: &RunHistory, compare: &Compare) {
    let specs = view.specs;
    let metrics = metrics_of(specs);
    let smoothing = view.shown_smoothing(ui.ctx());
    for (cache, &m) in view.caches.iter_mut().zip(&metrics) {
        let scale = specs
            .iter()
            .find(|p| p.series.contains(&m))
            .map_or(YScale::Linear, |p| p.y_scale);
        cache.update(history, m, view.log_x, scale, smoothing);
    }
    let force = view.force_auto.take();
    let log_x = view.log_x;
    let caches = &view.caches;
    let steps_per_epoch = history.steps_per_epoch().unwrap_or(0);
    let markers = if compare.main_hidden {
        &[]
    } else {
        history.markers()
    };
    let labels = marker_labels(markers, compare);
    let mut labelled = Vec::new();
    let mut label_rows = view.label_rows;
    let empty = caches.iter().all(|c| c.points.is_empty())
        && compare.overlays.iter().all(|o| o.series.is_empty());

    let total_h = ui.available_height();
    // the last row's x axis (tick labels and its label) takes this from that row, so it is added to
    // the row's share rather than taken out of its plot
    let axis_h = 2.0 * ui.text_style_height(&egui::TextStyle::Body) + 8.0;
    let rows_h = (total_h - axis_h).max(0.0);
    let label_font = egui::TextStyle::Body.resolve(ui.style());
    // one y axis width for the whole stack, so that a step lines up in every plot: egui_plot widens
    // an axis to its widest tick label (body type, 4 points each side) and its rotated label (the
    // label's line and a quarter), each plot its own, and five-digit ticks ("30000", a weight
    // norm's) in the presenter's larger type moved the weight norm's markers 6 points off the
    // accuracy's
    let axis_w = {
        let text = |t: &str| {
            ui.painter()
                .layout_no_wrap(t.into(), label_font.clone(), Color32::WHITE)
                .size()
        };
        (text("00000").x + 8.0 + 1.25 * text("weight norm").y + 1.0).max(Y_AXIS_WIDTH)
    };
    let link = view.link;
    let cursor = view.cursor.and_then(|step| to_plot_x(step, log_x));
    let cursor_color = ui.visuals().strong_text_color();
    let mut follow_after = view.follow;
    let hidden = &view.hidden;
    let mut clicked_step = None;
    let mut drawn = 0usize;
    let mut raw_behind = Vec::new();
    let mut first = 0usize;
    let shown = |spec: &PlotSpec| !view.hidden_rows.contains(&spec.id);
    let first_shown = specs.iter().position(shown);
    let last_shown = specs.iter().rposition(shown);
    let shares: f32 = specs
        .iter()
        .filter(|s| shown(s))
        .map(|s| s.height_share)
        .sum();
    let mut row_rects = Vec::new();
    let mut data_frames = Vec::new();
    let mut veils = Vec::new();
    let later_from = view.later_from.and_then(|step| to_plot_x(step, log_x));
    let mut strips = Vec::new();
    let look = crate::app::teach::presenter::Look::of(ui.ctx());
    let (presenting, presenting_line) = (look.presenting, look.line);
    // the marker labels' size and row height: larger in the presenter view, read from the back
    let marker_type = if presenting {
        (PRESENTER_MARKER_TYPE, PRESENTER_MARKER_TYPE + 4.0)
    } else {
        (12.0, LABEL_ROW_PX)
    };
    let label_row_px = marker_type.1;
    // the gap between rows: in the presenter's larger type the tick at the bottom of one plot and
    // the one at the top of the next ("0.1" over "5000") all but touched 2 points apart
    let row_gap = if presenting { 8.0 } else { 2.0 };
    let legend_style = legend_text_style(ui.ctx());
    let legend_row = ui.text_style_height(&legend_style) + LEGEND_ROW_GAP;
    let response = ui.scope(|ui| {
        ui.spacing_mut().item_spacing.y = row_gap;
        for (i, spec) in specs.iter().enumerate() {
            let last = Some(i) == last_shown;
            let n = spec.series.len();
            let series = &caches[first..first + n];
            first += n;
            if !shown(spec) {
                continue;
            }
            let plot_id = Id::unique(("grokscope-plot", spec.id));
            // compared runs share one legend name per run: the hover finds the metric by the point
            let lookup = compare.main_color.map(|_| HoverLookup {
                main_name: &compare.main_name,
                main: (!compare.main_hidden).then_some(series),
                overlays: &compare.overlays,
                metrics: spec.series,
            });
            // in the presenter view a legend is a strip above its plot: in body type it would
            // cover the curves of a short plot (the grokking jump among them), and there is no room
            // for it below 0 % there
            let strip = presenting && spec.legend.is_some();
            let entries = if strip {
                legend_entries(spec, series, hidden, compare, look.safe_palette)
            } else {
                vec![]
            };
            // in rows where one would be cut off (in body type, as the rest of the presenter view)
            let strip_rows = if strip {
                key_strip_rows(ui, &entries, axis_w + 6.0, &legend_style)
            } else {
                vec![]
            };
            let strip_h = if strip {
                strip_rows.len().max(1) as f32 * legend_row + 4.0
            } else {
                0.0
            };
            // (the strip and the 2-point gap under it come out of the row)
            let taken = if strip { strip_h + row_gap } else { 0.0 };
            let data_h =
                (rows_h * spec.height_share / shares.max(1e-3) - row_gap - taken).max(60.0);
            if strip {
                key_strip(
                    ui,
                    &entries,
                    &strip_rows,
                    legend_row,
                    axis_w + 6.0,
                    &legend_style,
                    presenting_line,
                );
                strips.push((spec.id, entries.into_iter().map(|e| e.name).collect()));
            }
            let height = if last { data_h + axis_h } else { data_h };
            let label_w = ui
                .painter()
                .layout_no_wrap(spec.y_label.to_string(), label_font.clone(), Color32::WHITE)
                .size()
                .x;
            let y_label = if label_w <= data_h {
                spec.y_label
            } else {
                spec.short_label
            };
            let mut plot = Plot::new(spec.id)
                .id(plot_id)
                .height(height)
                .link_axis(link, [true, false])
                .link_cursor(link, [true, false])
                .y_axis_label(y_label)
                .y_axis_min_width(axis_w)
                .show_axes([last, true])
                .label_formatter(move |pos| {
                    hover_text(
                        pos,
                        (log_x, spec.y_scale),
                        steps_per_epoch,
                        lookup.as_ref(),
                        series,
                    )
                })
                .x_axis_formatter(move |mark, range| x_tick(mark, range, log_x))
                .y_axis_formatter(move |mark, range| y_tick(mark, range, spec.y_scale));
            if let Some(corner) = spec.legend.filter(|_| !strip) {
                plot = plot.legend(
                    Legend::default()
                        .position(corner)
                        .text_style(legend_style.clone())
                        .background_alpha(0.75)
                        .follow_insertion_order(true),
                );
            }
            if last {
                plot = plot.x_axis_label(if log_x { "step (log)" } else { "step" });
            }
            if log_x {
                plot = plot.x_grid_spacer(log_step_marks);
            } else {
                plot = plot.x_grid_spacer(uniform_grid_spacer(step_levels));
            }
            match spec.y_scale {
                YScale::Log => plot = plot.y_grid_spacer(log_marks),
                // headroom above 100 % for the marker labels, and room below 0 % for a legend in a
                // bottom corner
                YScale::Percent => {
                    let labels = if Some(i) == first_shown {
                        label_rows
                    } else {
                        0
                    };
                    let legend = match spec.legend.filter(|_| !strip) {
                        Some(Corner::LeftBottom | Corner::RightBottom) => {
                            if compare.overlays.is_empty() {
                                spec.series.iter().filter(|m| !hidden.contains(m)).count()
                            } else {
                                compare.overlays.len() + usize::from(!compare.main_hidden)
                            }
                        }
                        _ => 0,
                    };
                    let (bottom, top) =
                        percent_range(labels, label_row_px, legend, legend_row, data_h);
                    plot = plot.include_y(bottom).include_y(top);
                }
                YScale::Unit => {
                    plot = plot
                        .include_y(0.0)
                        .include_y(1.0)
                        .y_grid_spacer(uniform_grid_spacer(value_levels));
                }
                YScale::Orderedness => {
                    // of the series shown (a hidden null no longer stretches D's axis)
                    let (lo, hi) = orderedness_range(
                        spec.series
                            .iter()
                            .zip(series)
                            .filter(|(m, _)| !hidden.contains(m))
                            .flat_map(|(_, c)| c.points.iter().map(|p| p.y)),
                    );
                    plot = plot
                        .include_y(lo)
                        .include_y(hi)
                        .y_grid_spacer(uniform_grid_spacer(value_levels));
                }
                // 1-2-5 steps: egui_plot's default (powers of ten) left a short plot of 3,000 to
                // 20,000 with the one label "10000" (a helper's audit, 2026-12-06)
                YScale::Linear => {
                    plot = plot.y_grid_spacer(uniform_grid_spacer(value_levels));
                    // before any point the axis is 0 to 1, not egui_plot's -0.5 to 0.5 (a weight
                    // norm or a Gini has no negative values to show)
                    if series.iter().all(|c| c.points.is_empty()) && compare.overlays.is_empty() {
                        plot = plot.include_y(0.0).include_y(1.0);
                    }
                }
            }
            let resp = plot.show(ui, |pui| {
                if let Some(on) = force {
                    pui.set_auto_bounds([on, on]);
                }
                let following = force.unwrap_or(pui.auto_bounds().x);
                let width_px = pui.response().rect.width().max(1.0) as usize;
                let mut count = 0;
                for o in &compare.overlays {
                    count += add_overlay(pui, o, spec.series, log_x, presenting_line);
                }
                if !compare.main_hidden {
                    for (cache, &metric) in series.iter().zip(spec.series) {
                        if hidden.contains(&metric) {
                            continue;
                        }
                        let look = compare.main_color.map(|c| (c, compare.main_name.as_str()));
                        count += add_series(pui, cache, metric, following, width_px, look);
                        if cache.smooth.is_some() && !cache.points.is_empty() {
                            raw_behind.push(metric);
                        }
                    }
                }
                for m in markers {
                    if let Some(x) = to_plot_x(m.step, log_x) {
                        let mut line = VLine::new("", x)
                            .color(main_marker_color(m.kind, compare))
                            .width(1.5);
                        if matches!(m.kind, MarkerKind::Change(_)) {
                            line = line.style(LineStyle::dashed_dense());
                        }
                        pui.vline(line.allow_hover(false));
                    }
                }
                if let Some(x) = cursor {
                    let line = VLine::new("", x).color(cursor_color).width(1.0);
                    pui.vline(line.allow_hover(false));
                }
                count
            });
            drawn += resp.inner;
            if resp.response.clicked()
                && let Some(q) = resp.response.interact_pointer_pos()
            {
                let x = resp.transform.value_from_position(q).x;
                clicked_step = Some(from_plot(x, log_x).round().max(0.0) as u64);
            }
            row_rects.push((spec.id, resp.response.rect));
            data_frames.push((spec.id, *resp.transform.frame()));
            if Some(i) == first_shown {
                // above 100 %, only as many rows as the axis's headroom can hold: a third row in
                // the presenter's short accuracy plot lay over the validation accuracy's jump (a
                // teacher's audit); the labels are ranked, so the one left out is the least
                let lanes = match spec.y_scale {
                    YScale::Percent => label_lanes_fitting(label_row_px, data_h),
                    _ => MAX_LABEL_LANES,
                };
                (labelled, label_rows) =
                    marker_labels_ui(ui, &resp.transform, &labels, log_x, marker_type, lanes);
                if empty {
                    // wrapped to the plot's width: the Ordering tab's plots are narrow
                    let frame = *resp.transform.frame();
                    let color = ui.visuals().weak_text_color();
                    // in a lesson the lesson starts the run (its Next), not the top bar's Start
                    let hint = if crate::app::teach::presenter::Look::of(ui.ctx()).lesson {
                        "No run yet: the lesson starts one"
                    } else {
                        "Press Start (or Space) to train the selected config"
                    };
                    let galley = ui.painter().layout(
                        hint.to_owned(),
                        FontId::proportional(16.0),
                        color,
                        frame.width() - 16.0,
                    );
                    let pos = frame.center() - galley.size() / 2.0;
                    ui.painter().galley(pos, galley, color);
                }
            }
            // over the marker labels too: a later milestone's label belongs to the later part
            if let Some(x) = later_from {
                let marked = Some(i) == first_shown;
                if let Some(veil) = later_veil(ui, &resp.transform, x, marked, marker_type.0) {
                    veils.push((spec.id, veil));
                }
            }
            if let Some(mem) = PlotMemory::load(ui.ctx(), plot_id) {
                follow_after = mem.auto_bounds.x;
            }
        }
    });
    view.follow = follow_after;
    view.clicked_step = clicked_step;
    view.drawn_points = drawn;
    view.raw_behind = raw_behind;
    view.labelled = labelled;
    view.label_rows = label_rows;
    view.plots_rect = Some(response.response.rect);
    view.row_rects = row_rects;
    view.data_frames = data_frames;
    view.veils = veils;
    view.legend_strips = strips;
}

/// Veil the part of a plot's data frame right of plot x `x` (what the run did after the moment
/// shown) and, where `marked`, say so with "later" in `size` points; returns the veil. Nothing when
/// `x` lies at or past the frame's right edge (nothing later in view).
fn later_veil(
    ui: &Ui,
    transform: &egui_plot::PlotTransform,
    x: f64,
    marked: bool,
    size: f32,
) -> Option<Rect> {
    let frame = *transform.frame();
    let left = transform.position_from_point_x(x).max(frame.left());
    if left >= frame.right() - 1.0 {
        return None;
    }
    let veil = Rect::from_min_max(egui::pos2(left, frame.top()), frame.right_bottom());
    let painter = ui.painter().with_clip_rect(frame);
    // the plot's own background, mostly opaque: the curves show through faint, the picture of the
    // moment stays in front
    painter.rect_filled(veil, 0.0, ui.visuals().extreme_bg_color.gamma_multiply(0.8));
    if marked {
        let color = ui.visuals().strong_text_color();
        let galley =
            painter.layout_no_wrap("later →".to_owned(), FontId::proportional(size), color);
        // at the bottom of the veil, clear of the marker labels along the top
        let pos = egui::pos2(left + 6.0, veil.bottom() - galley.size().y - 6.0);
        if pos.x + galley.size().x <= frame.right() {
            painter.galley(pos, galley, color);
        }
    }
    Some(veil)
}

/// What the legend of `spec`'s plot lists, top to bottom as the window's legend does (one in a
/// bottom corner grows upwards, so it lists the last drawn first): each metric drawn (with points,
/// not hidden), or, when runs are compared, each run (in its colour) and then each metric's line
/// style (in grey).
fn legend_entries(
    spec: &PlotSpec,
    series: &[SeriesCache],
    hidden: &[Metric],
    compare: &Compare,
    safe_palette: bool,
) -> Vec<KeyEntry> {
    let drawn = |m: &Metric| !hidden.contains(m);
    let upwards = matches!(spec.legend, Some(Corner::LeftBottom | Corner::RightBottom));
    let ordered = |mut v: Vec<KeyEntry>| {
        if upwards {
            v.reverse();
        }
        v
    };
    let mut entries = Vec::new();
    if let Some(main_color) = compare.main_color {
        for o in &compare.overlays {
            if o.series
                .iter()
                .any(|(m, pts)| spec.series.contains(m) && !pts.is_empty())
            {
                entries.push(KeyEntry {
                    name: o.name.clone(),
                    color: o.color,
                    mark: Mark::Line(LineStyle::Solid),
                });
            }
        }
        let has_points = series
            .iter()
            .zip(spec.series)
            .any(|(c, m)| drawn(m) && !c.points.is_empty());
        if !compare.main_hidden && has_points {
            entries.push(KeyEntry {
                name: compare.main_name.clone(),
                color: main_color,
                mark: Mark::Line(LineStyle::Solid),
            });
        }
        let mut entries = ordered(entries);
        // then the line style of each metric drawn, in grey (the window's legend leaves these to
        // the hover)
        let mut styles = Vec::new();
        for &m in spec.series {
            let in_main = !compare.main_hidden
                && series
                    .iter()
                    .zip(spec.series)
                    .any(|(c, n)| *n == m && !c.points.is_empty());
            let in_overlay = compare
                .overlays
                .iter()
                .any(|o| o.series.iter().any(|(n, pts)| *n == m && !pts.is_empty()));
            if drawn(&m) && (in_main || in_overlay) {
                styles.push(KeyEntry {
                    name: series_name(m).to_string(),
                    color: Color32::GRAY,
                    mark: Mark::Line(metric_style(m)),
                });
            }
        }
        entries.extend(ordered(styles));
        return entries;
    }
    for (cache, &m) in series.iter().zip(spec.series) {
        if drawn(&m) && !cache.points.is_empty() {
            entries.push(KeyEntry {
                name: series_name(m).to_string(),
                color: if safe_palette {
                    crate::app::teach::presenter::okabe_ito(m)
                } else {
                    series_color(m)
                },
                mark: Mark::Line(metric_style(m)),
            });
        }
    }
    ordered(entries)
}

/// Add an overlay's series (and bands, markers) of the metrics `metrics`. Returns points drawn.
/// Draw a compared run (or group); `line`: the view's line width factor (the presenter's thicker
/// lines: a compared run at its window width was all but lost at half size, a helper's teaching audit).
fn add_overlay<'a>(
    pui: &mut PlotUi<'a>,
    o: &'a Overlay,
    metrics: &[Metric],
    log_x: bool,
    line: f32,
) -> usize {
    let mut drawn = 0;
    for b in &o.bands {
        if metrics.contains(&b.metric) && !b.xs.is_empty() {
            let area = FilledArea::new("", &b.xs, &b.lower, &b.upper)
                .fill_color(o.color.gamma_multiply(0.22));
            pui.add(area.allow_hover(false));
        }
    }
    for (m, pts) in &o.raw {
        if metrics.contains(m) && !pts.is_empty() {
            // the raw curve faint behind the smoothed one, as for the current run
            let raw = Line::new("", PlotPoints::Borrowed(pts))
                .color(o.color.gamma_multiply(RAW_ALPHA))
                .width(o.width * line)
                .style(metric_style(*m))
                .allow_hover(false);
            pui.line(raw);
            drawn += pts.len();
        }
    }
    for (m, pts) in &o.series {
        if metrics.contains(m) && !pts.is_empty() {
            // one legend entry a run (egui_plot merges equal names); the line style tells the metric
            let drawn_line = Line::new(o.name.as_str(), PlotPoints::Borrowed(pts))
                .color(o.color)
                .width(o.width * line)
                .style(metric_style(*m));
            pui.line(drawn_line);
            drawn += pts.len();
        }
    }
    for m in &o.markers {
        if let Some(x) = to_plot_x(m.step, log_x) {
            let style = match m.kind {
                MarkerKind::Grok(_) => LineStyle::dotted_loose(),
                MarkerKind::Change(_) => LineStyle::dashed_dense(),
            };
            let mark = VLine::new("", x)
                .color(o.color.gamma_multiply(0.7))
                .width(line)
                .style(style);
            pui.vline(mark.allow_hover(false));
        }
    }
    drawn
}

/// Add one series, borrowed or decimated to about two points per pixel; `look`: the run's colour
/// and name when runs are compared. While smoothing is on, its raw curve is drawn first, faint and
/// with no legend entry or hover, and the smoothed one over it. Returns points drawn.
fn add_series<'a>(
    pui: &mut PlotUi<'a>,
    cache: &'a SeriesCache,
    metric: Metric,
    following: bool,
    width_px: usize,
    look: Option<(Color32, &str)>,
) -> usize {
    // the presenter view draws thicker lines in the Okabe–Ito palette
    let shown = crate::app::teach::presenter::Look::of(pui.ctx());
    // egui_plot draws a dot of the line's width as its radius: a dotted line at the others' width
    // was a string of beads over the running train line beneath it
    let style = metric_style(metric);
    let (color, width, name) = match look {
        None => {
            let thin = match style {
                LineStyle::Dotted { .. } => 0.6,
                _ => 1.0,
            };
            let color = if shown.safe_palette {
                crate::app::teach::presenter::okabe_ito(metric)
            } else {
                series_color(metric)
            };
            (color, 1.5 * shown.line * thin, series_name(metric))
        }
        Some((color, name)) => (color, 1.8 * shown.line, name.to_owned()),
    };
    let mut drawn = 0;
    if cache.smooth.is_some()
        && let Some((points, n)) = thinned(pui, &cache.points, &cache.pyramid, following, width_px)
    {
        // the raw curve faint behind the smoothed one, in its colour (as TensorBoard draws it)
        let raw = Line::new("", points)
            .color(color.gamma_multiply(RAW_ALPHA))
            .width(width)
            .style(style)
            .allow_hover(false);
        pui.line(raw);
        drawn += n;
    }
    let (pts, pyramid) = cache.drawn();
    let Some((points, n)) = thinned(pui, pts, pyramid, following, width_px) else {
        return drawn;
    };
    // the key's line style, which the lessons name ("the dashed magenta line"): drawn solid, a
    // teacher's audit found the key and the text saying dashed
    let line = Line::new(name, points)
        .color(color)
        .width(width)
        .style(style);
    // `Line` keeps the borrow for the plot's lifetime; the cache outlives the frame.
    pui.line(line);
    drawn + n
}

/// How strongly a raw curve is drawn behind its smoothed one (its colour's alpha, as a share).
const RAW_ALPHA: f32 = 0.3;

/// `pts` (with `pyramid`, their y summaries) as drawn: borrowed when the visible part has at most
/// two points a pixel, else min/max-decimated to that; with the count. `None` when empty.
fn thinned<'a>(
    pui: &PlotUi<'a>,
    pts: &'a [PlotPoint],
    pyramid: &MinMaxPyramid,
    following: bool,
    width_px: usize,
) -> Option<(PlotPoints<'a>, usize)> {
    let (first, last) = (pts.first()?, pts.last()?);
    let (x0, x1, buckets) = if following {
        (first.x, last.x, width_px)
    } else {
        // The view can move before the next frame: thin over a range twice as wide.
        let b = pui.plot_bounds();
        let (lo, hi) = (b.min()[0], b.max()[0]);
        let pad = (hi - lo) * 0.5;
        (lo - pad, hi + pad, width_px * 2)
    };
    let range = store::visible_range(pts, |p| p.x, x0, x1);
    Some(if range.len() <= 2 * buckets {
        let slice = &pts[range];
        (PlotPoints::Borrowed(slice), slice.len())
    } else {
        let kept = pyramid.decimate(|i| pts[i].x, |i| pts[i].y, range, (x0, x1), buckets);
        let owned: Vec<PlotPoint> = kept.iter().map(|&i| pts[i]).collect();
        let n = owned.len();
        (PlotPoints::Owned(owned), n)
    })
}

/// Labels of the markers along the top of the first plot, in rows so that no two overlap: each
/// label goes into the first row where it has room, in `labels`' order (the main run's first), up
/// to `max_lanes` rows (a label with no room in them is left out). Returns the labels drawn and the
/// rows used.
fn marker_labels_ui(
    ui: &Ui,
    transform: &egui_plot::PlotTransform,
    labels: &[MarkerLabel],
    log_x: bool,
    (size, row_px): (f32, f32),
    max_lanes: usize,
) -> (Vec<MarkerLabel>, usize) {
    let frame = *transform.frame();
    let painter = ui.painter().with_clip_rect(frame);
    let font = FontId::proportional(size);
    let mut lanes: Vec<Vec<(f32, f32)>> = Vec::new();
    let mut drawn = Vec::new();
    for label in labels {
        let Some(x) = to_plot_x(label.step, log_x) else {
            continue;
        };
        let sx = transform.position_from_point_x(x);
        if sx < frame.left() || sx > frame.right() {
            continue;
        }
        let galley = painter.layout_no_wrap(label.text.clone(), font.clone(), label.color);
        let w = galley.size().x;
        // 6 points apart, so neighbouring labels read as two
        let span = |left: f32| (left - 3.0, left + w + 3.0);
        let free =
            |lane: &Vec<(f32, f32)>, (l, r): (f32, f32)| lane.iter().all(|&(a, b)| r < a || l > b);
        // a row already used takes the label on either side of its line (short plots have room
        // for few rows: a teacher's audit found the third over the curves); else a new row
        let (first, other) = label_sides(sx, w, frame.x_range());
        let placed = lanes.iter().enumerate().find_map(|(i, lane)| {
            std::iter::once(first)
                .chain(other)
                .find(|&left| free(lane, span(left)))
                .map(|left| (i, left))
        });
        let (lane, left) = match placed {
            Some(p) => p,
            None if lanes.len() < max_lanes => {
                lanes.push(Vec::new());
                (lanes.len() - 1, first)
            }
            None => continue,
        };
        lanes[lane].push(span(left));
        let pos = egui::pos2(left, frame.top() + 4.0 + lane as f32 * row_px);
        let bg = Rect::from_min_size(pos, galley.size()).expand(2.0);
        painter.rect_filled(bg, 2.0, ui.visuals().extreme_bg_color.gamma_multiply(0.85));
        painter.galley(pos, galley, label.color);
        drawn.push(label.clone());
    }
    (drawn, lanes.len())
}

/// Where a marker label `w` wide for a line at `sx` may start: [`label_left`] first, then the other
/// side of the line where that fits in the plot.
fn label_sides(sx: f32, w: f32, frame: egui::Rangef) -> (f32, Option<f32>) {
    let first = label_left(sx, w, frame);
    let other = if first > sx { sx - 4.0 - w } else { sx + 4.0 };
    let fits = other >= frame.min + 2.0 && other + w <= frame.max - 2.0;
    (first, fits.then_some(other))
}

/// The left edge of a marker label `w` wide for a line at `sx` in a plot spanning `frame`: right of
/// the line, or left of it near the right edge; where neither fits (a narrow plot, a long label), as
/// near the line as the plot allows, so that the label is cut only when it is wider than the plot
/// (and then at its end, its event's name staying readable).
fn label_left(sx: f32, w: f32, frame: egui::Rangef) -> f32 {
    let (lo, hi) = (frame.min + 2.0, frame.max - 2.0);
    let left = if sx + 4.0 + w <= hi {
        sx + 4.0
    } else {
        sx - 4.0 - w
    };
    left.min(hi - w).max(lo)
}

/// How many rows of marker labels `row_px` high fit above 100 % on a percent axis `height_px` high:
/// [`percent_range`] gives them at most half the height (less 8 points), so more rows than this
/// would lie over the data.
fn label_lanes_fitting(row_px: f32, height_px: f32) -> usize {
    let rows = ((0.5 * height_px - 8.0) / row_px.max(1.0)).floor().max(0.0);
    (rows as usize).min(MAX_LABEL_LANES)
}

/// The bottom and top of a percent axis (1 is 100 %) on a plot `height_px` high that leave
/// `label_rows` rows of marker labels above the data and a legend of `legend_rows` rows in a bottom
/// corner below it (under 0 %, where no curve is: at the lower right it hid the validation accuracy's
/// jump). With the labels' share fl of the height and the legend's fg, the data (0 to 1) takes the
/// rest: the top is 1 + fl / (1 - fl - fg) and the bottom -fg / (1 - fl - fg). The labels get at least
/// the 12 % headroom of a top at 1.12 (without a legend) and at most half the plot; the legend what
/// leaves the data 40 %.
fn percent_range(
    label_rows: usize,
    label_row_px: f32,
    legend_rows: usize,
    legend_row_px: f32,
    height_px: f32,
) -> (f64, f64) {
    let share = |px: f32| f64::from(px / height_px.max(1.0));
    let fl = if label_rows == 0 {
        0.0
    } else {
        share(label_rows as f32 * label_row_px + 8.0)
    };
    let fl = fl.clamp(0.12 / 1.12, 0.5);
    let fg = if legend_rows == 0 {
        0.0
    } else {
        share(legend_rows as f32 * legend_row_px + 10.0).min((0.6 - fl).max(0.0))
    };
    let data = 1.0 - fl - fg;
    (-fg / data, 1.0 + fl / data)
}

/// The hovered series' name as a first line (empty away from any series) and the plot position.
pub fn hover_parts(pos: &HoverPosition<'_>) -> (String, PlotPoint) {
    match pos {
        HoverPosition::NearDataPoint {
            plot_name,
            position,
            ..
        } if !plot_name.is_empty() => (format!("{plot_name}\n"), *position),
        HoverPosition::NearDataPoint { position, .. } | HoverPosition::Elsewhere { position } => {
            (String::new(), *position)
        }
    }
}

/// What a plot's lines are when runs are compared (each line named after its run only), to tell
/// which metric a hovered point belongs to.
struct HoverLookup<'a> {
    main_name: &'a str,
    /// The main run's caches of this plot's metrics (`None` when it is not drawn).
    main: Option<&'a [SeriesCache]>,
    overlays: &'a [Overlay],
    /// This plot's metrics, in the order of `main`.
    metrics: &'a [Metric],
}

impl HoverLookup<'_> {
    /// The metrics of run `name` in this plot with a point exactly at `p` (the hovered point is a
    /// copy of a drawn one, and drawn points are copies of these). More than one when lines meet.
    fn metrics_at(&self, name: &str, p: PlotPoint) -> Vec<Metric> {
        let mut out = Vec::new();
        if let Some(main) = self.main
            && name == self.main_name
        {
            for (cache, &m) in main.iter().zip(self.metrics) {
                if has_point(cache.drawn().0, p) {
                    out.push(m);
                }
            }
        }
        for o in self.overlays.iter().filter(|o| o.name == name) {
            for (m, pts) in &o.series {
                if self.metrics.contains(m) && !out.contains(m) && has_point(pts, p) {
                    out.push(*m);
                }
            }
        }
        out
    }
}

/// On a compared run's smoothed line under the pointer: its raw plot y at that step (`None` inside
/// when its thinned raw curve has no point there); `None` on any other line.
fn overlay_raw_at(pos: &HoverPosition<'_>, lookup: &HoverLookup<'_>) -> Option<Option<f64>> {
    let HoverPosition::NearDataPoint {
        plot_name,
        position: p,
        ..
    } = pos
    else {
        return None;
    };
    let o = lookup.overlays.iter().find(|o| o.name == *plot_name)?;
    let m = o
        .series
        .iter()
        .find(|(m, pts)| lookup.metrics.contains(m) && has_point(pts, *p))?
        .0;
    let (_, raw) = o.raw.iter().find(|(r, _)| *r == m)?;
    Some(y_at(raw, p.x))
}

/// The y of the point at exactly `x` in `pts` (in x order), if there is one.
fn y_at(pts: &[PlotPoint], x: f64) -> Option<f64> {
    let range = store::visible_range(pts, |q| q.x, x, x);
    pts[range].iter().find(|q| q.x == x).map(|q| q.y)
}

/// Whether `pts` (in x order) holds `p` exactly.
fn has_point(pts: &[PlotPoint], p: PlotPoint) -> bool {
    let range = store::visible_range(pts, |q| q.x, p.x, p.x);
    pts[range].iter().any(|q| q.x == p.x && q.y == p.y)
}

/// The hover read-out: series (run and metric when runs are compared), step (epoch) and the real
/// value; on a smoothed line of `series` (the main run's caches of this plot), the smoothed value and
/// the raw one.
fn hover_text(
    pos: &HoverPosition<'_>,
    (log_x, y_scale): (bool, YScale),
    steps_per_epoch: u64,
    lookup: Option<&HoverLookup<'_>>,
    series: &[SeriesCache],
) -> Option<String> {
    let (mut head, p) = hover_parts(pos);
    let mut steps_per_epoch = steps_per_epoch;
    if let (
        Some(lookup),
        HoverPosition::NearDataPoint {
            plot_name,
            position,
            ..
        },
    ) = (lookup, pos)
    {
        let found = lookup.metrics_at(plot_name, *position);
        if let Some(o) = lookup.overlays.iter().find(|o| o.name == *plot_name) {
            steps_per_epoch = o.steps_per_epoch;
        }
        if !found.is_empty() {
            let names: Vec<String> = found.into_iter().map(series_name).collect();
            head = format!("{plot_name} · {}\n", names.join(" = "));
        }
    }
    let step = from_plot(p.x, log_x).round().max(0.0) as u64;
    let epoch = step
        .checked_div(steps_per_epoch)
        .map_or(String::new(), |e| format!(" · epoch {e}"));
    // Away from every series the pointer's height is no value of anything (below a percent axis's 0 it
    // read as "-5.80 %"): the read-out then gives the step alone.
    if matches!(pos, HoverPosition::Elsewhere { .. }) {
        return Some(format!("step {step}{epoch}"));
    }
    let real = |y: f64| format_value(from_plot(y, y_scale == YScale::Log), y_scale);
    let raw = series
        .iter()
        .find_map(|c| {
            let s = c.smooth.as_ref()?;
            has_point(&s.points, p).then(|| c.raw_at(p.x))
        })
        .or_else(|| overlay_raw_at(pos, lookup?));
    let value = real(p.y);
    match raw {
        None => Some(format!("{head}step {step}{epoch}\n{value}")),
        Some(raw) => {
            let raw = raw.map_or("not drawn".to_owned(), real);
            Some(format!(
                "{head}step {step}{epoch}\n{value} smoothed\n{raw} raw"
            ))
        }
    }
}

/// A real value as the read-out shows it.
pub fn format_value(v: f64, scale: YScale) -> String {
    match scale {
        YScale::Percent => format!("{:.2} %", v * 100.0),
        YScale::Log | YScale::Linear | YScale::Unit | YScale::Orderedness => format_sig(v, 4),
    }
}

/// `sig` significant digits, switching to scientific notation for very small or large values.
pub fn format_sig(v: f64, sig: usize) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let mag = v.abs().log10().floor() as i32;
    if !(-3..6).contains(&mag) {
        format!("{:.*e}", sig.saturating_sub(1), v)
    } else {
        let decimals = (sig as i32 - 1 - mag).max(0) as usize;
        format!("{v:.decimals$}")
    }
}

/// Whether a log axis showing `range` (log10 of the values) writes its labels as plain numbers:
/// when everything in view lies in 0.01 ..< 10⁵. Otherwise every label on it is a power of ten
/// (`10⁻³`, `2×10⁵`), so that one axis never mixes "10⁴" with "20000" or "0.01" with "10⁻³" (a
/// helper's audit).
fn plain_log_axis(range: &RangeInclusive<f64>) -> bool {
    *range.start() >= -2.0 - 1e-9 && *range.end() < 5.0
}

/// The label of the value 10^`v` on a log axis, in the notation its range chose
/// ([`plain_log_axis`]): `20000` or `2×10⁴`.
fn log_value_label(v: f64, range: &RangeInclusive<f64>) -> String {
    if plain_log_axis(range) {
        return tick_value(10f64.powf(v));
    }
    crate::export::svg::power_label(10f64.powf(v))
}

/// Tick label of a log axis mark (the mark is log10 of the value).
pub fn log_tick(mark: GridMark, range: &RangeInclusive<f64>) -> String {
    log_tick_within(mark, range, Y_LOG.span)
}

/// How egui_plot labels the marks of an axis, and which of a log axis's marks its formatter gives
/// text: a mark is labelled when its declared step spans more than `min_pts` points (egui_plot's
/// `label_spacing`: 20 on a y axis, 60 on an x axis, full strength at 1.5 times that) and it is a
/// decade, or the axis spans under `span` decades (then its 2s and 5s have labels too).
#[derive(Clone, Copy, Debug)]
struct LabelRule {
    min_pts: f64,
    span: f64,
}

/// A log y axis (loss): its 2s and 5s labelled within 2.5 decades.
const Y_LOG: LabelRule = LabelRule {
    min_pts: 20.0,
    span: 2.5,
};

/// A log step axis: its 2s and 5s labelled within 4 decades (see [`log_step_marks`]).
const X_LOG: LabelRule = LabelRule {
    min_pts: 60.0,
    span: 4.0,
};

/// egui_plot's grid spacing minimum: a grid spacer's `base_step_size` is this many points in data
/// units.
const GRID_MIN_PTS: f64 = 8.0;

/// Whether the log value `v` is a whole decade.
fn is_decade(v: f64) -> bool {
    (v - v.round()).abs() < 1e-9
}

/// Make sure at least two of a log axis's `marks` are labelled where the axis has room for two:
/// a presenter's loss plot about 100 points high over a decade and a half labelled "1" alone, its
/// scale unreadable (a teacher's audit, L5). Marks the axis leaves unlabelled are promoted, the
/// roundest first (decades, then 2s and 5s, then the rest) and among those the farthest from the
/// labels already there, each at least `min_pts` points from every label.
fn at_least_two_labels(marks: &mut [GridMark], input: &GridInput, rule: LabelRule) {
    let (lo, hi) = input.bounds;
    let per_decade = GRID_MIN_PTS / input.base_step_size;
    if !(per_decade.is_finite() && per_decade > 0.0) {
        return;
    }
    let has_text = |v: f64| is_decade(v) || hi - lo < rule.span;
    let labelled = |m: &GridMark| m.step_size * per_decade > rule.min_pts && has_text(m.value);
    let mut labels: Vec<f64> = marks
        .iter()
        .filter(|m| labelled(m))
        .map(|m| m.value)
        .collect();
    // apart by the axis's own minimum (a y label's 20 points hold the presenter's tick type), and
    // declared at 1.5 times it, so that egui_plot draws it at full strength
    let gap = rule.min_pts / per_decade;
    let declared = 1.5 * gap;
    let rank = |v: f64| {
        if is_decade(v) {
            0
        } else {
            let mantissa = 10f64.powf(v - v.floor());
            let two_five = [2.0, 5.0].iter().any(|m| (mantissa - m).abs() < 1e-6);
            if two_five { 1 } else { 2 }
        }
    };
    while labels.len() < 2 {
        let apart = |v: f64| {
            labels
                .iter()
                .map(|l| (v - l).abs())
                .fold(f64::INFINITY, f64::min)
        };
        let next = (0..marks.len())
            .filter(|&i| !labelled(&marks[i]) && has_text(marks[i].value))
            .filter(|&i| apart(marks[i].value) >= gap)
            .min_by(|&a, &b| {
                let (va, vb) = (marks[a].value, marks[b].value);
                rank(va)
                    .cmp(&rank(vb))
                    .then(apart(vb).total_cmp(&apart(va)))
            });
        let Some(i) = next else { break };
        marks[i].step_size = marks[i].step_size.max(declared);
        labels.push(marks[i].value);
    }
}

/// [`log_tick`] labelling the 2s and 5s of ranges under `decades` wide (a log step axis: up to 4, so
/// that steps 1 to 312 with the plot's margins label 200; see [`log_step_marks`]).
fn log_tick_within(mark: GridMark, range: &RangeInclusive<f64>, decades: f64) -> String {
    let v = mark.value;
    if is_decade(v) {
        log_value_label(v.round(), range)
    } else if range.end() - range.start() < decades {
        // Within a few decades the 2s and 5s (under one decade every mark) get a label; the axis
        // itself drops labels that would crowd.
        log_value_label(v, range)
    } else {
        String::new()
    }
}

/// A tick's real value without trailing zeros: 6, 0.25, 0.002.
fn tick_value(v: f64) -> String {
    let rounded: f64 = format!("{v:.5e}").parse().unwrap_or(v);
    format!("{rounded}")
}

fn x_tick(mark: GridMark, range: &RangeInclusive<f64>, log_x: bool) -> String {
    if log_x {
        log_tick_within(mark, range, X_LOG.span)
    } else if mark.value < 0.0 || (mark.value - mark.value.round()).abs() > 1e-9 {
        // steps are whole numbers
        String::new()
    } else {
        format!("{}", mark.value.round() as i64)
    }
}

fn y_tick(mark: GridMark, range: &RangeInclusive<f64>, scale: YScale) -> String {
    match scale {
        YScale::Log => log_tick(mark, range),
        YScale::Percent if !(-1e-9..=1.0 + 1e-9).contains(&mark.value) => String::new(),
        YScale::Percent => {
            let decimals = crate::export::svg::step_decimals(mark.step_size * 100.0);
            format!("{:.*}%", decimals, mark.value * 100.0)
        }
        YScale::Linear | YScale::Unit | YScale::Orderedness => {
            let decimals = crate::export::svg::step_decimals(mark.step_size);
            if mark.value.abs() >= 1e5 {
                format_sig(mark.value, 3)
            } else {
                format!("{:.*}", decimals, mark.value)
            }
        }
    }
}

/// Grid marks for a log10 axis: whole decades (labelled), with 2..9 between them while few decades
/// are visible; under one decade, the usual 1-2-5 style marks on the log values.
pub fn log_marks(input: GridInput) -> Vec<GridMark> {
    let mut marks = marks_of_log(&input, 0.3);
    at_least_two_labels(&mut marks, &input, Y_LOG);
    marks
}

/// [`log_marks`] for a log x axis: its 2s and 5s declare the wider gap round them (2 to 5), so that
/// egui_plot's 60-point rule for x labels leaves them their labels where there is room (steps 100 to
/// 312 were unlabelled at 1280 points: a helper's audit). A y axis keeps the narrower gap: its rule is
/// 20 points, and a loss axis then crowded 2 against 1.
pub fn log_step_marks(input: GridInput) -> Vec<GridMark> {
    let mut marks = marks_of_log(&input, 0.4);
    at_least_two_labels(&mut marks, &input, X_LOG);
    marks
}

/// Log marks whose 2s and 5s declare `two_five` decades of room.
fn marks_of_log(input: &GridInput, two_five: f64) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo {
        return Vec::new();
    }
    let span = hi - lo;
    if span < 1.0 {
        return sub_decade_marks(lo, hi);
    }
    // At most about eight labelled decades, and far enough apart to be labelled at all: egui_plot gives
    // `base_step_size` per 8 points and labels a y mark only when its step spans over 20 points (full
    // strength at 30), so a short plot over many decades labels every other (or third) decade rather
    // than none.
    let legible = (input.base_step_size * 30.0 / 8.0).ceil();
    let stride = (span / 8.0).ceil().max(legible).max(1.0);
    let mut marks = Vec::new();
    let first = lo.floor() as i64;
    let last = hi.ceil() as i64;
    for k in first..=last {
        // Marks outside the view would get their labels painted beside the neighbouring plots.
        if (k as f64) >= lo && (k as f64) <= hi {
            let labelled = (k as f64).rem_euclid(stride) == 0.0;
            marks.push(GridMark {
                value: k as f64,
                step_size: if labelled { stride } else { stride / 10.0 },
            });
        }
        if span <= 4.0 {
            for m in 2..=9 {
                let v = k as f64 + (m as f64).log10();
                if v > lo && v < hi {
                    // 2 and 5 weigh more, so they are labelled when there is room; the others
                    // declare their real gap to the next mark, so their labels never overlap
                    let step_size = if m == 2 || m == 5 {
                        two_five
                    } else {
                        (f64::from(m + 1) / f64::from(m)).log10()
                    };
                    marks.push(GridMark {
                        value: v,
                        step_size,
                    });
                }
            }
        }
    }
    marks
}

/// Grid levels of a linear step axis in a 1-2-5 series (steps are whole numbers). egui_plot labels a
/// mark only when its level's spacing leaves 60 points for the label: with powers of ten alone a
/// narrow plot of a few hundred steps loses every label but 0; here the top level is 2 to 5 times the
/// middle one, so some level always lands in the labelled range.
pub fn step_levels(input: GridInput) -> [f64; 3] {
    one_two_five(input.base_step_size.abs().max(1.0))
}

/// Grid levels of a linear value axis in a 1-2-5 series, as [`step_levels`] but also below 1: a
/// Gini from 0.05 to 0.4 on whole-number levels kept only the mark at 0 (its labels were lost
/// for a session: the Fourier plot had none).
pub fn value_levels(input: GridInput) -> [f64; 3] {
    let base = input.base_step_size.abs();
    one_two_five(if base.is_finite() && base > 0.0 {
        base
    } else {
        1.0
    })
}

/// The three levels from the 1-2-5 step at or above `base` (finite, above 0).
fn one_two_five(base: f64) -> [f64; 3] {
    let pow = 10f64.powf(base.log10().floor());
    let (m, s) = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| (m, m * pow))
        .find(|(_, s)| *s >= base)
        .unwrap_or((10.0, 10.0 * pow));
    match m {
        2.0 => [s, 5.0 * s, 10.0 * s],
        5.0 => [s, 2.0 * s, 10.0 * s],
        // 1 or 10
        _ => [s, 5.0 * s, 10.0 * s],
    }
}

/// Under one decade: marks at round real values (a 1-2-5 step), placed at their log10.
fn sub_decade_marks(lo: f64, hi: f64) -> Vec<GridMark> {
    let (a, b) = (10f64.powf(lo), 10f64.powf(hi));
    let raw = (b - a) / 6.0;
    if !(raw.is_finite() && raw > 0.0) {
        return Vec::new();
    }
    let pow = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * pow)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * pow);
    let mut marks = Vec::new();
    let mut i = (a / step).ceil();
    while i * step <= b && marks.len() < 64 {
        let v = i * step;
        // the local gap in log units, which the axis uses to decide whether a label fits
        marks.push(GridMark {
            value: v.log10(),
            step_size: ((v + step) / v).log10(),
        });
        i += 1.0;
    }
    marks
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The D axis fits its points: by hand, 0.70 ..= 0.77 padded by 0.007 a side is 0.693 ..= 0.777,
    /// under 0.1 high, so 0.1 about its middle (0.735): 0.685 ..= 0.785; near the top it is moved
    /// down to end at 1; no points, the whole range; never outside 0.5 ..= 1.
    #[test]
    fn the_orderedness_axis_fits_its_points_within_d_s_range() {
        let close =
            |(a, b): (f64, f64), (c, d): (f64, f64)| (a - c).abs() < 1e-9 && (b - d).abs() < 1e-9;
        let r = orderedness_range([0.70, 0.72, 0.77, f64::NAN].into_iter());
        assert!(close(r, (0.685, 0.785)), "{r:?}");
        let r = orderedness_range([0.98, 0.99].into_iter());
        assert!(close(r, (0.9, 1.0)), "{r:?}");
        let r = orderedness_range([0.5, 0.52].into_iter());
        assert!(close(r, (0.5, 0.6)), "{r:?}");
        assert_eq!(orderedness_range(std::iter::empty()), (0.5, 1.0));
        let r = orderedness_range([0.5, 1.0].into_iter());
        assert!(close(r, (0.5, 1.0)), "{r:?}");
    }

    #[test]
    fn marker_labels_stay_inside_their_plot() {
        let frame = egui::Rangef::new(100.0, 400.0);
        // room on the right: 4 points right of the line
        assert_eq!(label_left(150.0, 100.0, frame), 154.0);
        // near the right edge: left of the line
        assert_eq!(label_left(350.0, 100.0, frame), 246.0);
        // neither fits (a 200-point label at 250 in a 300-point plot): as far left as the plot allows
        // keeps it whole. Left of the line it would start at 46, cut off (the 1280-px window's
        // "memorised · epoch 111" lost its start this way).
        let left = label_left(250.0, 200.0, frame);
        assert!(left >= 102.0 && left + 200.0 <= 398.0, "{left}");
        // wider than the plot: starts at the plot's left edge, so its start is read
        assert_eq!(label_left(250.0, 500.0, frame), 102.0);
    }

    #[test]
    fn plotted_metrics_cover_the_four_plots_once() {
        let m = plotted_metrics();
        assert_eq!(
            m,
            [
                Metric::TrainAcc,
                Metric::TrainAccEval,
                Metric::ValAcc,
                Metric::TrainLoss,
                Metric::ValLoss,
                Metric::RestrictedLoss,
                Metric::ExcludedLoss,
                Metric::RestrictedLossFinal,
                Metric::ExcludedLossFinal,
                Metric::WeightNorm,
                Metric::FourierGini,
                Metric::FourierIpr
            ]
        );
    }

    #[test]
    fn log_transforms_skip_what_cannot_be_shown() {
        assert_eq!(to_plot_x(0, true), None);
        assert_eq!(to_plot_x(1000, true), Some(3.0));
        assert_eq!(to_plot_x(0, false), Some(0.0));
        assert_eq!(to_plot_y(0.0, YScale::Log), None);
        assert_eq!(to_plot_y(-1.0, YScale::Log), None);
        assert_eq!(to_plot_y(f64::NAN, YScale::Linear), None);
        assert_eq!(to_plot_y(0.01, YScale::Log), Some(-2.0));
    }

    /// Hue in degrees of an RGB colour.
    fn hue(c: Color32) -> f64 {
        let (r, g, b) = (f64::from(c.r()), f64::from(c.g()), f64::from(c.b()));
        let (max, min) = (r.max(g).max(b), r.min(g).min(b));
        let d = (max - min).max(1e-9);
        let h = if max == r {
            ((g - b) / d).rem_euclid(6.0)
        } else if max == g {
            (b - r) / d + 2.0
        } else {
            (r - g) / d + 4.0
        };
        60.0 * h
    }

    /// How far apart two colours' hues are on the colour wheel, in degrees (0 to 180).
    fn hues_apart(a: Color32, b: Color32) -> f64 {
        let d = (hue(a) - hue(b)).abs();
        d.min(360.0 - d)
    }

    /// The lines of one plot differ in hue by at least 30°: train (eval) was a darker blue 8° from
    /// train (running), and the two read as one (a helper's audit). Expected from the colour wheel:
    /// 30° is about the distance of orange from yellow.
    #[test]
    fn the_series_of_one_plot_have_hues_apart() {
        for spec in PLOTS.iter() {
            for (i, a) in spec.series.iter().enumerate() {
                for b in &spec.series[i + 1..] {
                    // a final-keys curve is drawn instead of its step's one, in its colour
                    let alternatives = [
                        (Metric::RestrictedLoss, Metric::RestrictedLossFinal),
                        (Metric::ExcludedLoss, Metric::ExcludedLossFinal),
                    ];
                    if alternatives.contains(&(*a, *b)) || alternatives.contains(&(*b, *a)) {
                        continue;
                    }
                    let apart = hues_apart(series_color(*a), series_color(*b));
                    assert!(
                        apart >= 30.0,
                        "{}: {a} and {b} are {apart:.0}° apart",
                        spec.id
                    );
                    // the presenter's Okabe-Ito palette tells its blues apart by lightness and
                    // line style, but nothing may sit near validation's orange: its excluded loss
                    // in vermillion, 15° from it, read as validation at half size (a helper's
                    // lesson audit), where the lesson said magenta
                    let presenter = crate::app::teach::presenter::okabe_ito;
                    if [*a, *b]
                        .iter()
                        .any(|m| matches!(m, Metric::ValAcc | Metric::ValLoss))
                    {
                        let apart = hues_apart(presenter(*a), presenter(*b));
                        assert!(
                            apart >= 30.0,
                            "presenter {}: {a} and {b} are {apart:.0}° apart",
                            spec.id
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn decade_labels() {
        let pow10_label = |k: i32| crate::export::svg::power_label(10f64.powi(k));
        assert_eq!(pow10_label(-5), "10⁻⁵");
        assert_eq!(pow10_label(0), "10⁰");
        assert_eq!(pow10_label(12), "10¹²");
    }

    /// One axis, one notation: the Capacity lab's P axis from 1 700 to 55 000 read "2000, 5000, 10⁴,
    /// 20000" and a loss axis "10⁻³, 0.01" (a helper's audit). Expected: all plain within 0.01 ..< 10⁵,
    /// all powers of ten otherwise.
    #[test]
    fn a_log_axis_writes_all_its_labels_in_one_notation() {
        let label = |value: f64, range: RangeInclusive<f64>| {
            log_tick(
                GridMark {
                    value,
                    step_size: 0.3,
                },
                &range,
            )
        };
        // P from 1 700 to 55 000 (log10 3.23 to 4.74): plain
        let p = 3.23..=4.74;
        assert_eq!(label(4.0, p.clone()), "10000");
        assert_eq!(label(2e4f64.log10(), p.clone()), "20000");
        assert_eq!(label(2e3f64.log10(), p), "2000");
        // a loss from 3·10⁻⁴ to 3 (4 decades: decades only), powers throughout
        let loss = -3.5..=0.5;
        assert_eq!(label(-3.0, loss.clone()), "10⁻³");
        assert_eq!(label(-2.0, loss.clone()), "10⁻²");
        assert_eq!(label(0.0, loss), "10⁰");
        // widths past 10⁵ with their 2s: powers, the 2s too
        let big = 4.8..=6.2;
        assert_eq!(label(5.0, big.clone()), "10⁵");
        assert_eq!(label(2e5f64.log10(), big.clone()), "2×10⁵");
        assert_eq!(label(5e5f64.log10(), big), "5×10⁵");
        // steps 1 to 1 000 and a loss from 0.01 to 10: plain, as before
        assert_eq!(label(3.0, -0.1..=3.1), "1000");
        assert_eq!(label(-2.0, -2.0..=1.0), "0.01");
    }

    #[test]
    fn hover_shows_real_values() {
        // log y: plot y = -2 is a loss of 0.01; log x: plot x = 3 is step 1000; 10 steps per epoch
        let pos = HoverPosition::NearDataPoint {
            plot_name: "validation",
            position: PlotPoint::new(3.0, -2.0),
            index: 0,
        };
        assert_eq!(
            hover_text(&pos, (true, YScale::Log), 10, None, &[]).unwrap(),
            "validation\nstep 1000 · epoch 100\n0.01000"
        );
    }

    /// A history of train accuracy 0.8, 0.2, 0.6 at steps 0, 10, 20.
    fn three_points() -> RunHistory {
        let mut h = RunHistory::new();
        let rows: Vec<crate::protocol::MetricRow> = [(0, 0.8), (10, 0.2), (20, 0.6)]
            .into_iter()
            .map(|(step, v)| crate::protocol::MetricRow {
                step,
                epoch: step,
                values: vec![(Metric::TrainAcc, v)],
            })
            .collect();
        h.push_rows(&rows);
        h
    }

    /// Weight 0 draws the raw points themselves (no smoothed copy is made), bit for bit as the
    /// store holds them.
    #[test]
    fn weight_zero_draws_exactly_the_raw_points() {
        let h = three_points();
        let mut c = SeriesCache::default();
        c.update(&h, Metric::TrainAcc, false, YScale::Percent, Weight::OFF);
        assert!(c.smooth.is_none());
        let raw: Vec<PlotPoint> = h
            .series(Metric::TrainAcc)
            .iter()
            .map(|p| PlotPoint::new(p.step as f64, p.value))
            .collect();
        assert_eq!(c.drawn().0, raw.as_slice());
    }

    /// At w = 0.5 the line goes through 0.8, (0.5·0.8 + 0.2) / 1.5 = 0.4 and
    /// (0.25·0.8 + 0.5·0.2 + 0.6) / 1.75 = 0.9 / 1.75 (the debiased average, worked by hand); the raw
    /// points stay; a log step axis leaves out step 0's point but not its weight in the average;
    /// back to 0, the raw points again.
    #[test]
    fn a_smoothed_series_keeps_its_raw_points_and_counts_every_point() {
        let h = three_points();
        let mut c = SeriesCache::default();
        c.update(
            &h,
            Metric::TrainAcc,
            false,
            YScale::Percent,
            Weight::new(0.5),
        );
        let ys: Vec<f64> = c.drawn().0.iter().map(|p| p.y).collect();
        let want = [0.8, 0.4, 0.9 / 1.75];
        assert_eq!(ys.len(), 3);
        for (y, w) in ys.iter().zip(want) {
            assert!((y - w).abs() < 1e-12, "{ys:?}");
        }
        assert_eq!(c.points.len(), 3, "the raw points stay");
        assert_eq!(c.raw_at(10.0), Some(0.2));
        c.update(
            &h,
            Metric::TrainAcc,
            true,
            YScale::Percent,
            Weight::new(0.5),
        );
        let log: Vec<PlotPoint> = c.drawn().0.to_vec();
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].x, 1.0); // log10(10)
        assert!((log[0].y - 0.4).abs() < 1e-12, "{log:?}");
        c.update(&h, Metric::TrainAcc, true, YScale::Percent, Weight::OFF);
        assert!(c.smooth.is_none());
        assert_eq!(c.drawn().0.len(), 2);
        assert_eq!(c.drawn().0[0].y, 0.2);
    }

    /// The hover on a smoothed line gives its value and the raw one at that step.
    #[test]
    fn hover_on_a_smoothed_line_gives_both_values() {
        let h = three_points();
        let mut c = SeriesCache::default();
        c.update(
            &h,
            Metric::TrainAcc,
            false,
            YScale::Percent,
            Weight::new(0.5),
        );
        // the hovered point is a copy of a drawn one: (10, 0.4) up to rounding
        let position = c.drawn().0[1];
        assert!((position.y - 0.4).abs() < 1e-12);
        let pos = HoverPosition::NearDataPoint {
            plot_name: "train",
            position,
            index: 1,
        };
        let caches = [c];
        assert_eq!(
            hover_text(&pos, (false, YScale::Percent), 10, None, &caches).unwrap(),
            "train\nstep 10 · epoch 1\n40.00 % smoothed\n20.00 % raw"
        );
    }

    #[test]
    fn hover_away_from_the_series_gives_the_step_only() {
        // the reported defect: below the accuracy plot's 0 the pointer's height read "-5.80 %"
        let pos = HoverPosition::Elsewhere {
            position: PlotPoint::new(200.0, -0.058),
        };
        assert_eq!(
            hover_text(&pos, (false, YScale::Percent), 10, None, &[]).unwrap(),
            "step 200 · epoch 20"
        );
    }

    fn overlay(name: &str, series: Vec<(Metric, Vec<PlotPoint>)>, markers: Vec<Marker>) -> Overlay {
        Overlay {
            name: name.into(),
            color: Color32::from_rgb(90, 160, 240),
            width: 1.5,
            series,
            raw: Vec::new(),
            bands: Vec::new(),
            markers,
            steps_per_epoch: 10,
            note: String::new(),
        }
    }

    #[test]
    fn compared_hover_names_the_run_and_the_metric() {
        // run-b's train (running) accuracy is 0.9 at step 100 and its validation 0.5; 10 steps an
        // epoch: the hovered point (100, 0.9) is the train line's, 90.00 % at epoch 10 (run-b's
        // epoch length, even when the main run's is not known: 0)
        let o = overlay(
            "run-b",
            vec![
                (Metric::ValAcc, vec![PlotPoint::new(100.0, 0.5)]),
                (Metric::TrainAcc, vec![PlotPoint::new(100.0, 0.9)]),
            ],
            Vec::new(),
        );
        let overlays = [o];
        let lookup = HoverLookup {
            main_name: "current run",
            main: None,
            overlays: &overlays,
            metrics: PLOTS[0].series,
        };
        let at = |y: f64| HoverPosition::NearDataPoint {
            plot_name: "run-b",
            position: PlotPoint::new(100.0, y),
            index: 0,
        };
        assert_eq!(
            hover_text(&at(0.9), (false, YScale::Percent), 0, Some(&lookup), &[]).unwrap(),
            "run-b · train (running, train mode)\nstep 100 · epoch 10\n90.00 %"
        );
        assert_eq!(
            hover_text(&at(0.5), (false, YScale::Percent), 10, Some(&lookup), &[]).unwrap(),
            "run-b · validation\nstep 100 · epoch 10\n50.00 %"
        );
        // a point no line of run-b has (cannot come from egui_plot, but must not invent a metric)
        assert_eq!(
            hover_text(&at(0.7), (false, YScale::Percent), 10, Some(&lookup), &[]).unwrap(),
            "run-b\nstep 100 · epoch 10\n70.00 %"
        );
    }

    #[test]
    fn every_compared_runs_markers_get_labels_in_its_colour() {
        let generalised = Marker {
            step: 300,
            epoch: 30,
            kind: MarkerKind::Grok(GrokEvent::Generalised),
        };
        let mem = Marker {
            step: 40,
            epoch: 4,
            kind: MarkerKind::Grok(GrokEvent::Memorised),
        };
        let o = overlay("a-very-long-run-folder-name", Vec::new(), vec![generalised]);
        let color = o.color;
        let compare = Compare {
            overlays: vec![o],
            main_color: Some(Color32::RED),
            main_name: "current run".into(),
            main_hidden: false,
        };
        let labels = marker_labels(&[mem], &compare);
        // generalised is placed before memorised whatever the run; the name is cut to 18
        // characters: 17 of it and an ellipsis; the milestone is named at its step, the x axis'
        // unit (these runs take 10 steps an epoch: "epoch 30" stood at x = 300), as the exported
        // figures name it
        assert_eq!(
            labels,
            [
                MarkerLabel {
                    step: 300,
                    text: "a-very-long-run-f…: generalised · step 300".into(),
                    color,
                },
                MarkerLabel {
                    step: 40,
                    text: "current run: memorised · step 40".into(),
                    color: Color32::RED,
                },
            ]
        );
        // alone, the current run's labels are not prefixed (as before runs could be compared)
        let alone = marker_labels(&[mem], &Compare::default());
        assert_eq!(alone[0].text, "memorised · step 40");
        assert_eq!(alone[0].color, marker_color(mem.kind));
        // overlays' generalised, then memorised, then val ≥ 98 % (file order: memorised, val ≥ 98 %,
        // generalised), so a crowded plot drops the last first
        let val98 = Marker {
            step: 290,
            epoch: 29,
            kind: MarkerKind::Grok(GrokEvent::Val98),
        };
        let compare = Compare {
            overlays: vec![overlay("b", Vec::new(), vec![mem, val98, generalised])],
            ..Compare::default()
        };
        let order: Vec<u64> = marker_labels(&[], &compare)
            .iter()
            .map(|l| l.step)
            .collect();
        assert_eq!(order, [300, 40, 290]);
    }

    /// The label rows allowed on a percent axis are those its headroom holds: with n rows the
    /// headroom [`percent_range`] gives (n rows and 8 points) is the labels' own, within the half
    /// of the height it allows; one row more would not be (it would lie over the data), unless n is
    /// already the most rows there are.
    #[test]
    fn marker_label_rows_stay_within_the_headroom_above_100_percent() {
        for row in [LABEL_ROW_PX, PRESENTER_MARKER_TYPE + 4.0] {
            for h in (40..=700).step_by(7).map(|h| h as f32) {
                let n = label_lanes_fitting(row, h);
                let need = |n: usize| n as f32 * row + 8.0;
                if n > 0 {
                    let (b, t) = percent_range(n, row, 0, 17.0, h);
                    // the pixels above 1.0 on a plot h high spanning b..t
                    let above = (t - 1.0) / (t - b) * f64::from(h);
                    assert!(
                        above + 1e-3 >= f64::from(need(n)),
                        "row {row}, height {h}: {n} rows need {} px, the headroom is {above}",
                        need(n)
                    );
                }
                assert!(
                    n == MAX_LABEL_LANES || need(n + 1) > 0.5 * h,
                    "row {row}, height {h}: {} rows would fit too",
                    n + 1
                );
            }
        }
        // the presenter's 20-point rows on a 120-point accuracy plot (a teacher's audit: three rows,
        // the third over the validation curve): (60 - 8) / 20 = 2.6, two rows
        assert_eq!(label_lanes_fitting(PRESENTER_MARKER_TYPE + 4.0, 120.0), 2);
    }

    #[test]
    fn percent_axis_leaves_room_for_the_label_rows_and_the_legend() {
        let top = |labels, h| percent_range(labels, LABEL_ROW_PX, 0, 17.0, h).1;
        // 3 rows on a 232-point plot: (3 * 16 + 8) / 232 = 0.241 of the height, top 1 / 0.759
        assert!((top(3, 232.0) - 1.0 / (1.0 - 56.0 / 232.0)).abs() < 1e-6);
        // no rows, or a tall plot: the fixed 12 % headroom; a short plot: the data keeps half
        assert!((top(0, 232.0) - 1.12).abs() < 1e-9);
        assert!((top(4, 60.0) - 2.0).abs() < 1e-9);
        assert_eq!(
            percent_range(3, LABEL_ROW_PX, 0, 17.0, 232.0).0,
            0.0,
            "no legend: the data starts at the bottom"
        );
        // a 3-row legend on a 170-point plot: (3 * 17 + 10) / 170 = 0.359 of the height under 0 %,
        // and the labels' rows keep their share above 100 %; the data (0 to 1) fills the rest
        let (b, t) = percent_range(2, LABEL_ROW_PX, 3, 17.0, 170.0);
        let (fl, fg) = ((2.0 * 16.0 + 8.0) / 170.0, (3.0 * 17.0 + 10.0) / 170.0);
        let px = |v: f64| (v - b) / (t - b);
        assert!((px(0.0) - fg).abs() < 1e-6, "legend share {}", px(0.0));
        assert!(
            (1.0 - px(1.0) - fl).abs() < 1e-6,
            "labels' share {}",
            1.0 - px(1.0)
        );
        // a short plot: the data keeps 40 %
        let (b, t) = percent_range(4, LABEL_ROW_PX, 6, 17.0, 80.0);
        assert!((1.0 / (t - b) - 0.4).abs() < 1e-9, "{b} {t}");
    }

    #[test]
    fn log_marks_are_decades_with_minor_steps() {
        let marks = log_marks(GridInput {
            bounds: (-3.5, 0.5),
            base_step_size: 0.01,
        });
        let decades: Vec<f64> = marks
            .iter()
            .filter(|m| m.step_size >= 1.0)
            .map(|m| m.value)
            .collect();
        assert_eq!(decades, [-3.0, -2.0, -1.0, 0.0]);
        assert!(
            marks
                .iter()
                .any(|m| (m.value - 2f64.log10() + 1.0).abs() < 1e-12)
        ); // 0.2
    }

    /// egui_plot labels a mark when its declared step spans more than 60 points on an x axis and 20
    /// on a y axis. Expected, for steps 1 to 312 (2.5 decades plus margins) across 540 points (200
    /// points a decade): the log step axis's 200 declares 0.4 decades, 80 points, and is labelled
    /// (at 0.3, 60 points, it was not); a loss axis of 3 decades on 150 points (50 a decade) keeps its
    /// 2 under the y rule, as before (at 0.4 it crowded 2 against 1), and labels it within 2.5 decades
    /// only.
    #[test]
    fn a_log_step_axis_labels_its_2s_and_5s_where_a_log_y_axis_would_crowd() {
        let two_hundred = 200f64.log10();
        let steps = log_step_marks(GridInput {
            bounds: (-0.13, 2.62),
            base_step_size: 0.04,
        });
        let m = steps
            .iter()
            .find(|m| (m.value - two_hundred).abs() < 1e-12)
            .expect("a mark at 200");
        assert!(m.step_size * 200.0 > 60.0, "{}", m.step_size);
        let range = -0.13..=2.62;
        assert_eq!(log_tick_within(*m, &range, 4.0), "200");
        assert_eq!(
            log_tick(*m, &range),
            "",
            "a y axis of this range labels decades only"
        );
        let loss = log_marks(GridInput {
            bounds: (-2.0, 1.0),
            base_step_size: 0.16,
        });
        let two = loss
            .iter()
            .find(|m| (m.value - 2f64.log10()).abs() < 1e-12)
            .expect("a mark at 2");
        assert!(two.step_size * 50.0 < 20.0, "{}", two.step_size);
    }

    #[test]
    fn a_short_log_axis_labels_fewer_decades_not_none() {
        // expected: 8 decades in a plot 120 points high is 15 points a decade, under egui_plot's 20-point
        // label minimum; base_step_size is 8 points in data units (8 / 15 decades), so every labelled
        // mark must be at least 30 points (2 decades) apart, and there are some
        let span = 8.0;
        let marks = log_marks(GridInput {
            bounds: (-7.0, 1.0),
            base_step_size: span * 8.0 / 120.0,
        });
        let labelled: Vec<f64> = marks
            .iter()
            .filter(|m| m.step_size >= 1.0)
            .map(|m| m.value)
            .collect();
        assert!(labelled.len() >= 3, "{labelled:?}");
        let points_per_decade = 120.0 / span;
        for m in marks.iter().filter(|m| m.step_size >= 1.0) {
            assert!(m.step_size * points_per_decade >= 30.0, "{m:?}");
        }
    }

    /// The marks egui_plot labels on an axis `points` long showing `bounds` (log10 values), by its
    /// rule: a step spanning more than `rule.min_pts` points and text from the formatter.
    fn labelled_of(
        marks: &[GridMark],
        bounds: (f64, f64),
        points: f64,
        rule: LabelRule,
    ) -> Vec<f64> {
        let per_decade = points / (bounds.1 - bounds.0);
        let range = bounds.0..=bounds.1;
        marks
            .iter()
            .filter(|m| m.step_size * per_decade > rule.min_pts)
            .filter(|m| !log_tick_within(**m, &range, rule.span).is_empty())
            .map(|m| m.value)
            .collect()
    }

    /// A short log axis always labels two marks, at least the axis's minimum (20 points on a y
    /// axis, 60 on an x axis) apart, where it has room. Expected: a presenter's loss plot 100 points high over 0.12 to
    /// 4 (1.52 decades, 66 points a decade) had only "1" labelled: its 2s and 5s declare 0.3 decades,
    /// 19.7 points, under the 20-point rule; a third of a decade under a decade (0.3 to 0.9 on 40
    /// points) labelled nothing, its marks 0.1 apart 16 points at most; six decades on 50 points
    /// (8.3 points a decade, a stride of 4 decades) landed one labelled decade in view (1, with -3.5
    /// to 2.5: 10⁻³ is 25 points from it). The log
    /// step axis likewise (60-point rule): 1 to 2000 steps on 150 points, 45 points a decade, none.
    #[test]
    fn a_short_log_axis_labels_at_least_two_marks() {
        let cases = [
            ((4f64.log10() - 1.52, 4f64.log10()), 100.0, Y_LOG),
            ((0.3f64.log10(), 0.9f64.log10()), 40.0, Y_LOG),
            ((-3.5, 2.5), 50.0, Y_LOG),
            ((-2.2, -1.05), 60.0, Y_LOG),
            ((0.0, 2000f64.log10()), 150.0, X_LOG),
        ];
        for (bounds, points, rule) in cases {
            let input = GridInput {
                bounds,
                base_step_size: GRID_MIN_PTS * (bounds.1 - bounds.0) / points,
            };
            let marks = if rule.min_pts == X_LOG.min_pts {
                log_step_marks(input)
            } else {
                log_marks(input)
            };
            let mut labels = labelled_of(&marks, bounds, points, rule);
            assert!(labels.len() >= 2, "{bounds:?} on {points}: {labels:?}");
            labels.sort_by(f64::total_cmp);
            let per_decade = points / (bounds.1 - bounds.0);
            for w in labels.windows(2) {
                let apart = (w[1] - w[0]) * per_decade;
                assert!(apart >= rule.min_pts - 1e-9, "{bounds:?}: {labels:?}");
            }
        }
    }

    /// Where two labels were there already, nothing changes: the marks of a tall plot are those of
    /// [`marks_of_log`] as they were (a loss plot 300 points high over 3 decades labels its decades).
    #[test]
    fn a_tall_log_axis_keeps_its_marks() {
        let input = GridInput {
            bounds: (-2.0, 1.0),
            base_step_size: GRID_MIN_PTS * 3.0 / 300.0,
        };
        let marks = marks_of_log(&input, 0.3);
        assert_eq!(log_marks(input), marks);
    }

    #[test]
    fn step_levels_follow_one_two_five() {
        let levels = |base| {
            step_levels(GridInput {
                bounds: (0.0, 1.0),
                base_step_size: base,
            })
        };
        // 540 steps on 290 points with 8-point grid lines: 15 steps -> 20, 100, 200
        assert_eq!(levels(15.0), [20.0, 100.0, 200.0]);
        assert_eq!(levels(3.0), [5.0, 10.0, 50.0]);
        assert_eq!(levels(0.2), [1.0, 5.0, 10.0]);
        assert_eq!(levels(100.0), [100.0, 500.0, 1000.0]);
        // values below 1 keep their own 1-2-5 levels: a Gini from 0.05 to 0.4 on 200 points
        let values = |base| {
            value_levels(GridInput {
                bounds: (0.0, 1.0),
                base_step_size: base,
            })
        };
        let near = |a: [f64; 3], b: [f64; 3]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);
        assert!(near(values(0.03), [0.05, 0.1, 0.5]), "{:?}", values(0.03));
        assert!(near(values(0.2), [0.2, 1.0, 2.0]), "{:?}", values(0.2));
        assert_eq!(values(15.0), levels(15.0), "above 1 as for steps");
        assert_eq!(
            values(0.0),
            [1.0, 5.0, 10.0],
            "a degenerate input gets whole levels"
        );
    }

    /// Each level of a 1-2-5 value axis is labelled with the decimals it needs: the mark at 0.5 of an
    /// orderedness axis once read "0" (decimals from the rounded log of its step, 0.5).
    #[test]
    fn value_marks_show_their_own_value() {
        let tick = |value: f64, step_size: f64, scale| {
            y_tick(GridMark { value, step_size }, &(0.0..=1.0), scale)
        };
        for (value, step, says) in [
            (0.5, 0.5, "0.5"),
            (0.2, 0.2, "0.2"),
            (0.3, 0.1, "0.3"),
            (0.05, 0.05, "0.05"),
            (1.0, 1.0, "1"),
            (5000.0, 5000.0, "5000"),
            (20.0, 2.0, "20"),
        ] {
            assert_eq!(tick(value, step, YScale::Unit), says, "{value} on {step}");
            assert_eq!(tick(value, step, YScale::Linear), says, "{value} on {step}");
        }
        assert_eq!(tick(0.005, 0.005, YScale::Percent), "0.5%");
        assert_eq!(tick(0.5, 0.1, YScale::Percent), "50%");
    }

    #[test]
    fn under_a_decade_marks_sit_at_round_values() {
        // loss between 3 and 7: (7 - 3) / 6 = 0.67 rounds up to a step of 1: marks 3, 4, 5, 6, 7
        let marks = sub_decade_marks(3f64.log10(), 7f64.log10());
        let values: Vec<String> = marks
            .iter()
            .map(|m| tick_value(10f64.powf(m.value)))
            .collect();
        assert_eq!(values, ["3", "4", "5", "6", "7"]);
    }

    #[test]
    fn significant_digits() {
        assert_eq!(format_sig(0.012345, 4), "0.01235");
        assert_eq!(format_sig(1234.4, 4), "1234");
        assert_eq!(format_sig(1.5e-7, 3), "1.50e-7");
    }

    /// The presenter's legend strips list what the window's legends do, in their order: the
    /// accuracy legend (bottom right, growing upwards) lists the last series drawn first; a hidden
    /// metric and one without points are left out. Compared runs are listed by run, then each
    /// metric drawn by its line style, in grey.
    #[test]
    fn legend_strips_list_what_the_legends_do() {
        let acc = &PLOTS[0];
        let pts = |n: usize| SeriesCache {
            points: (0..n).map(|i| PlotPoint::new(i as f64, 0.5)).collect(),
            ..SeriesCache::default()
        };
        // TrainAcc, TrainAccEval, ValAcc: the eval series has no points yet
        let series = [pts(3), pts(0), pts(3)];
        let names = |e: Vec<KeyEntry>| e.into_iter().map(|e| e.name).collect::<Vec<_>>();
        let alone = legend_entries(acc, &series, &[], &Compare::default(), false);
        assert_eq!(
            names(alone.clone()),
            ["validation", "train (running, train mode)"]
        );
        assert_eq!(alone[0].color, series_color(Metric::ValAcc));
        assert_eq!(alone[1].mark, Mark::Line(metric_style(Metric::TrainAcc)));
        let safe = legend_entries(acc, &series, &[], &Compare::default(), true);
        assert_eq!(
            safe[0].color,
            crate::app::teach::presenter::okabe_ito(Metric::ValAcc)
        );
        let hidden = legend_entries(acc, &series, &[Metric::ValAcc], &Compare::default(), false);
        assert_eq!(names(hidden), ["train (running, train mode)"]);

        // compared: the overlay has validation only, the main run train and validation
        let compare = Compare {
            overlays: vec![overlay(
                "run-b",
                vec![(Metric::ValAcc, vec![PlotPoint::new(0.0, 0.1)])],
                vec![],
            )],
            main_color: Some(Color32::RED),
            main_name: "run-a".into(),
            main_hidden: false,
        };
        let both = legend_entries(acc, &series, &[], &compare, false);
        assert_eq!(
            names(both.clone()),
            [
                "run-a",
                "run-b",
                "validation",
                "train (running, train mode)"
            ]
        );
        assert_eq!(
            (both[0].color, both[0].mark),
            (Color32::RED, Mark::Line(LineStyle::Solid))
        );
        assert_eq!(both[2].color, Color32::GRAY);
        assert_eq!(both[3].mark, Mark::Line(metric_style(Metric::TrainAcc)));
        // the main run hidden: its name and its metrics go
        let only_b = legend_entries(
            acc,
            &series,
            &[],
            &Compare {
                main_hidden: true,
                ..compare
            },
            false,
        );
        assert_eq!(names(only_b), ["run-b", "validation"]);
    }
}
