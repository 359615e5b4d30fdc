//! The geometry of compared runs on the Grokking plots: each run's curves as thinned plot points, or a
//! seed group's mean with its band, built from the runs' histories (the Runs panel decides which).

use crate::analysis::smooth::{Ema, Weight};
use crate::app::widgets::plots::{
    Band, Overlay, YScale, plotted_metrics, to_plot_x, to_plot_y, y_scale_of,
};
use crate::export::compare::{
    ABLATION_CURVES, BandKind, CompareRun, band_edges, group_name, group_note,
};
use crate::store::compare::{self, BandPoint};
use crate::store::{RunHistory, decimate_min_max};
use eframe::egui::Color32;
use egui_plot::PlotPoint;

/// Most points an overlay keeps per series (min/max thinned over the whole run): a compared run
/// is a background curve, and rebuilding it must stay cheap.
const OVERLAY_POINTS: usize = 3000;

/// A run taking part in a comparison.
pub(super) struct Member<'a> {
    pub(super) name: String,
    pub(super) history: &'a RunHistory,
    pub(super) color: Color32,
    pub(super) width: f32,
    pub(super) is_current: bool,
    /// Its key in the list (0 for the current run, which has none).
    pub(super) id: u64,
    /// The step it was forked at, when it is a fork.
    pub(super) fork_step: Option<u64>,
}

impl<'a> Member<'a> {
    /// What a comparison's figures and names need of it.
    pub(super) fn run(&self) -> CompareRun<'a> {
        CompareRun {
            name: self.name.clone(),
            history: self.history,
            color: [self.color.r(), self.color.g(), self.color.b()],
            is_current: self.is_current,
            fork_step: self.fork_step,
        }
    }

    /// What an overlay takes from this run: which run, its history (the generation, and the row
    /// count: the current run grows), its name, colour and line width.
    pub(super) fn key(&self) -> [u64; 7] {
        [
            u64::from(self.is_current),
            self.id,
            self.history.generation(),
            self.history.row_count() as u64,
            name_key(&self.name),
            color_key(self.color),
            u64::from(self.width.to_bits()),
        ]
    }
}

/// A colour as part of a cache key.
pub(super) fn color_key(c: Color32) -> u64 {
    u64::from(u32::from_be_bytes(c.to_array()))
}

/// A run's name (its legend entry) as part of a cache key: the name changes when the run is saved
/// into another folder.
pub(super) fn name_key(name: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut h);
    h.finish()
}

/// A colour moved two thirds of the way to grey (a fork's parent).
pub(super) fn greyed(c: Color32) -> Color32 {
    crate::app::widgets::lerp_color(c, Color32::from_gray(140), 2.0 / 3.0)
}

/// The plot-space points of a run's `metric`, `(step, value)` in step order, as drawn: smoothed at
/// `w` (the plots' display smoothing, over every point before thinning) with the raw ones to draw
/// faint behind them, or (off) the raw ones and no second set.
fn drawn_points(
    pts: &[(u64, f64)],
    metric: crate::protocol::Metric,
    log_x: bool,
    w: Weight,
) -> (Vec<PlotPoint>, Option<Vec<PlotPoint>>) {
    let raw = to_plot_points(pts.iter().copied(), metric, log_x);
    if !w.is_on() {
        return (raw, None);
    }
    let mut ema = Ema::new(w);
    let smoothed = pts.iter().map(|&(s, v)| (s, ema.push(v)));
    (to_plot_points(smoothed, metric, log_x), Some(raw))
}

/// Plot-space points of (step, value) pairs, thinned to about [`OVERLAY_POINTS`].
fn to_plot_points(
    pts: impl Iterator<Item = (u64, f64)>,
    metric: crate::protocol::Metric,
    log_x: bool,
) -> Vec<PlotPoint> {
    let scale = y_scale_of(metric);
    let all: Vec<PlotPoint> = pts
        .filter_map(|(s, v)| Some(PlotPoint::new(to_plot_x(s, log_x)?, to_plot_y(v, scale)?)))
        .collect();
    thin(all)
}

fn thin(all: Vec<PlotPoint>) -> Vec<PlotPoint> {
    let (Some(first), Some(last)) = (all.first(), all.last()) else {
        return all;
    };
    if all.len() <= OVERLAY_POINTS {
        return all;
    }
    let kept = decimate_min_max(&all, |p| (p.x, p.y), (first.x, last.x), OVERLAY_POINTS / 2);
    kept.into_iter().map(|i| all[i]).collect()
}

pub(super) fn overlay_of(m: &Member<'_>, log_x: bool, w: Weight) -> Overlay {
    let mut series = Vec::new();
    let mut raw = Vec::new();
    // a compared run's curves are train and validation (see `ABLATION_CURVES`)
    for metric in plotted_metrics()
        .into_iter()
        .filter(|metric| !ABLATION_CURVES.contains(metric))
    {
        let pts: Vec<(u64, f64)> = m
            .history
            .series(metric)
            .iter()
            .map(|p| (p.step, p.value))
            .collect();
        let (drawn, behind) = drawn_points(&pts, metric, log_x, w);
        if drawn.is_empty() {
            continue;
        }
        series.push((metric, drawn));
        raw.extend(behind.map(|b| (metric, b)));
    }
    Overlay {
        name: m.name.clone(),
        color: m.color,
        width: m.width,
        series,
        raw,
        bands: Vec::new(),
        markers: m.history.markers().to_vec(),
        steps_per_epoch: m.history.steps_per_epoch().unwrap_or(0),
        note: String::new(),
    }
}

/// The mean of a group of seeds with its band, per plotted metric; with smoothing on (`w`), the mean
/// smoothed and drawn over its raw mean (the band stays the raw runs').
pub(super) fn group_overlay(
    group: &[&Member<'_>],
    band: BandKind,
    log_x: bool,
    w: Weight,
) -> Overlay {
    let runs: Vec<CompareRun<'_>> = group.iter().map(|m| m.run()).collect();
    let runs: Vec<&CompareRun<'_>> = runs.iter().collect();
    let mut series = Vec::new();
    let mut raw = Vec::new();
    let mut bands = Vec::new();
    for metric in plotted_metrics()
        .into_iter()
        .filter(|metric| !ABLATION_CURVES.contains(metric))
    {
        let all: Vec<&[crate::store::Point]> =
            group.iter().map(|m| m.history.series(metric)).collect();
        let stats = compare::mean_band(&all);
        if stats.is_empty() {
            continue;
        }
        let means: Vec<(u64, f64)> = stats.iter().map(|p| (p.step, p.mean)).collect();
        let (drawn, behind) = drawn_points(&means, metric, log_x, w);
        series.push((metric, drawn));
        raw.extend(behind.map(|b| (metric, b)));
        let scale = y_scale_of(metric);
        let mut xs = Vec::new();
        let mut los = Vec::new();
        let mut his = Vec::new();
        for p in thin_band(&stats) {
            let (l, h) = band_edges(p, band, scale == YScale::Log);
            if let (Some(x), Some(l), Some(h)) = (
                to_plot_x(p.step, log_x),
                to_plot_y(l, scale),
                to_plot_y(h, scale),
            ) {
                xs.push(x);
                los.push(l);
                his.push(h);
            }
        }
        bands.push(Band {
            metric,
            xs,
            lower: los,
            upper: his,
        });
    }
    Overlay {
        name: group_name(&runs),
        note: group_note(&runs),
        color: group[0].color,
        width: 2.0,
        series,
        raw,
        bands,
        markers: Vec::new(),
        // the group differs only by the seed, so every member has the same epoch length
        steps_per_epoch: group[0].history.steps_per_epoch().unwrap_or(0),
    }
}

/// Every k-th point of a long band (a band is a shaded background; its detail is not needed).
fn thin_band(stats: &[BandPoint]) -> impl Iterator<Item = &BandPoint> {
    let k = stats.len().div_ceil(OVERLAY_POINTS).max(1);
    stats
        .iter()
        .enumerate()
        .filter(move |(i, _)| i % k == 0 || *i + 1 == stats.len())
        .map(|(_, p)| p)
}
