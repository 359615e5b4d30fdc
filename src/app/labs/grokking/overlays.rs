//! The geometry of compared runs on the Grokking plots: each run's curves as thinned plot points, or a
//! seed group's mean with its band, built from the runs' histories (the Runs panel decides which).

use super::run_files::BandKind;
use crate::app::widgets::plots::{
    Band, Overlay, YScale, plotted_metrics, to_plot_x, to_plot_y, y_scale_of,
};
use crate::export::figure::{Figure, Series, SeriesKind};
use crate::export::labs;
use crate::protocol::{GrokEvent, HyperChange, Metric};
use crate::store::compare::{self, BandPoint};
use crate::store::{MarkerKind, RunHistory, decimate_min_max};
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

impl Member<'_> {
    /// The hyper-parameters changed while it trained: (step, change), in step order.
    pub(super) fn changes(&self) -> Vec<(u64, HyperChange)> {
        self.history
            .markers()
            .iter()
            .filter_map(|m| match m.kind {
                MarkerKind::Change(c) => Some((m.step, c)),
                MarkerKind::Grok(_) => None,
            })
            .collect()
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

pub(super) fn overlay_of(m: &Member<'_>, log_x: bool) -> Overlay {
    let series = plotted_metrics()
        .into_iter()
        // a compared run's curves are train and validation (see `ABLATION_CURVES`)
        .filter(|metric| !super::ABLATION_CURVES.contains(metric))
        .map(|metric| {
            let pts = m.history.series(metric).iter().map(|p| (p.step, p.value));
            (metric, to_plot_points(pts, metric, log_x))
        })
        .filter(|(_, p)| !p.is_empty())
        .collect();
    Overlay {
        name: m.name.clone(),
        color: m.color,
        width: m.width,
        series,
        bands: Vec::new(),
        markers: m.history.markers().to_vec(),
        steps_per_epoch: m.history.steps_per_epoch().unwrap_or(0),
        note: String::new(),
    }
}

/// Each member's seed ("?" for a run without a config).
fn seeds_of(group: &[&Member<'_>]) -> Vec<String> {
    group
        .iter()
        .map(|m| {
            m.history
                .config()
                .map_or("?".into(), |c| c.seed.to_string())
        })
        .collect()
}

/// A band's lower and upper edge at one step, the plot's and the exported figure's alike. On a log
/// axis mean - std can fall to 0 or below (one seed grokked, one not) and would drop the step from
/// the band: there its lower edge stops at the smallest run.
fn band_edges(p: &BandPoint, band: BandKind, log_axis: bool) -> (f64, f64) {
    match band {
        BandKind::MinMax => (p.min, p.max),
        BandKind::Std if log_axis => ((p.mean - p.std).max(p.min), p.mean + p.std),
        BandKind::Std => (p.mean - p.std, p.mean + p.std),
    }
}

/// The mean of a group of seeds with its band, per plotted metric.
pub(super) fn group_overlay(group: &[&Member<'_>], band: BandKind, log_x: bool) -> Overlay {
    let seeds = seeds_of(group);
    let mut series = Vec::new();
    let mut bands = Vec::new();
    for metric in plotted_metrics()
        .into_iter()
        .filter(|metric| !super::ABLATION_CURVES.contains(metric))
    {
        let all: Vec<&[crate::store::Point]> =
            group.iter().map(|m| m.history.series(metric)).collect();
        let stats = compare::mean_band(&all);
        if stats.is_empty() {
            continue;
        }
        series.push((
            metric,
            to_plot_points(stats.iter().map(|p| (p.step, p.mean)), metric, log_x),
        ));
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
        name: group_name(group, &seeds),
        note: group_note(group, &seeds),
        color: group[0].color,
        width: 2.0,
        series,
        bands,
        markers: Vec::new(),
        // the group differs only by the seed, so every member has the same epoch length
        steps_per_epoch: group[0].history.steps_per_epoch().unwrap_or(0),
    }
}

/// A seed group's legend name: its seeds and what its runs were trained with beyond their config
/// (the changes mid-run, the fork step: the same for every member), so that two groups of other
/// treatments are told apart: "mean of 2 (seeds 0, 1; wd → 3 at step 90)".
fn group_name(group: &[&Member<'_>], seeds: &[String]) -> String {
    let mut parts = vec![format!("seeds {}", seeds.join(", "))];
    let first = group[0];
    let changes: Vec<String> = first
        .changes()
        .iter()
        .map(|(step, c)| format!("{c} at step {step}"))
        .collect();
    if !changes.is_empty() {
        parts.push(changes.join(", "));
    }
    if let Some(step) = first.fork_step {
        parts.push(format!("forked at step {step}"));
    }
    format!("mean of {} ({})", group.len(), parts.join("; "))
}

/// What a group's legend has no room for: the spread of its members' t_val, and where the group's
/// curves end when its runs end at different steps (the mean is drawn over the steps every run
/// logged: an early stop ends it). "t_val epochs 253–312; drawn to step 253, where seed 2 ends".
fn group_note(group: &[&Member<'_>], seeds: &[String]) -> String {
    let mut parts = Vec::new();
    let t_val: Vec<u64> = group
        .iter()
        .filter_map(|m| {
            m.history.markers().iter().find_map(|k| match k.kind {
                MarkerKind::Grok(GrokEvent::Generalised) => Some(k.epoch),
                _ => None,
            })
        })
        .collect();
    if let (Some(lo), Some(hi)) = (t_val.iter().min(), t_val.iter().max()) {
        let range = if lo == hi {
            format!("{lo}")
        } else {
            format!("{lo}–{hi}")
        };
        parts.push(if t_val.len() == group.len() {
            format!("t_val epochs {range}")
        } else {
            format!(
                "t_val epochs {range} for {} of {}",
                t_val.len(),
                group.len()
            )
        });
    } else {
        parts.push("none generalised".into());
    }
    let ends: Vec<(u64, &str)> = group
        .iter()
        .zip(seeds)
        .filter_map(|(m, seed)| m.history.latest().map(|(step, _)| (step, seed.as_str())))
        .collect();
    if let (Some(&(end, seed)), Some(last)) = (
        ends.iter().min_by_key(|(step, _)| *step),
        ends.iter().map(|(step, _)| *step).max(),
    ) && end < last
    {
        parts.push(format!("drawn to step {end}, where seed {seed} ends"));
    }
    parts.join("; ")
}

/// The style of a metric in a figure of runs compared (the colour tells the run): validation, the
/// weight norm and the Fourier Gini solid; train (running) and the Fourier IPR dashed; `None` for
/// the train (eval) curves, which the window dots and a figure has no third style for.
fn compare_kind(m: Metric) -> Option<SeriesKind> {
    match m {
        Metric::TrainAccEval | Metric::TrainLossEval => None,
        Metric::TrainAcc | Metric::TrainLoss | Metric::FourierIpr => Some(SeriesKind::Dashed),
        _ => Some(SeriesKind::Line),
    }
}

/// Figures of the runs compared, one a metric plot (`compare_accuracy`, …), drawn as the window's
/// plots draw them: each group of `groups` (indices into `members`) in its colour, a single run's
/// curves as logged, a seed group's mean with its band (min–max or ±1 std, on a log axis the lower
/// edge stopping at the smallest run, as in the window), over the steps all its runs logged. The
/// sidecar's `data.runs` names each group's runs with their configs, changes mid-run and fork step,
/// so a reader knows what each curve is (a helper's audit: Export figure… wrote the current run
/// alone, whatever the plots compared).
pub(super) fn compare_figures(
    members: &[Member<'_>],
    groups: &[Vec<usize>],
    band: BandKind,
    log_x: bool,
) -> Vec<Figure> {
    let rgb = |c: Color32| [c.r(), c.g(), c.b()];
    let mut runs = Vec::new();
    for g in groups {
        let group: Vec<&Member<'_>> = g.iter().map(|&i| &members[i]).collect();
        let first = group[0];
        let seeds = seeds_of(&group);
        let name = if group.len() > 1 {
            group_name(&group, &seeds)
        } else {
            first.name.clone()
        };
        let mut entry = serde_json::Map::new();
        entry.insert("name".into(), name.clone().into());
        entry.insert(
            "runs".into(),
            group
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "name": m.name,
                        "current": m.is_current,
                        "config": m.history.config(),
                        "changes": m
                            .changes()
                            .iter()
                            .map(|(step, c)| format!("{c} at step {step}"))
                            .collect::<Vec<_>>(),
                        "fork_step": m.fork_step,
                    })
                })
                .collect::<Vec<_>>()
                .into(),
        );
        if group.len() > 1 {
            entry.insert("note".into(), group_note(&group, &seeds).into());
        }
        runs.push((
            name,
            rgb(first.color),
            group,
            serde_json::Value::Object(entry),
        ));
    }
    let band_name = match band {
        BandKind::MinMax => "min–max across its seeds",
        BandKind::Std => "±1 standard deviation across its seeds",
    };
    labs::GROKKING_PLOTS
        .iter()
        .filter_map(|plot| {
            let metrics: Vec<(Metric, SeriesKind)> = plot
                .series
                .iter()
                .filter(|m| !super::ABLATION_CURVES.contains(m))
                .filter_map(|&m| compare_kind(m).map(|k| (m, k)))
                .collect();
            if metrics.is_empty() {
                return None;
            }
            let (x, y) = labs::metric_axes(plot, log_x);
            let scale = if plot.y == labs::YKind::Percent { 100.0 } else { 1.0 };
            let mut fig = Figure::new(
                format!("compare_{}", plot.id),
                format!("{}: runs compared", plot.title),
                x,
                y,
            );
            for (name, color, group, _) in &runs {
                for &(metric, kind) in &metrics {
                    let label = format!("{name}: {}", labs::series_name(metric));
                    if let [only] = group.as_slice() {
                        let points: Vec<[f64; 2]> = only
                            .history
                            .series(metric)
                            .iter()
                            .map(|p| [p.step as f64, p.value * scale])
                            .collect();
                        if !points.is_empty() {
                            fig.series.push(Series::new(label, *color, kind, points));
                        }
                        continue;
                    }
                    let all: Vec<&[crate::store::Point]> =
                        group.iter().map(|m| m.history.series(metric)).collect();
                    let stats = compare::mean_band(&all);
                    if stats.is_empty() {
                        continue;
                    }
                    let rows: Vec<[f64; 3]> = stats
                        .iter()
                        .map(|p| {
                            let (lo, hi) = band_edges(p, band, plot.y == labs::YKind::Log);
                            [p.step as f64, lo * scale, hi * scale]
                        })
                        .collect();
                    let mut shade = Series::band(format!("{label} ({band_name})"), *color, &rows);
                    shade.legend = false;
                    fig.series.push(shade);
                    let mean = stats
                        .iter()
                        .map(|p| [p.step as f64, p.mean * scale])
                        .collect();
                    fig.series.push(Series::new(label, *color, kind, mean));
                }
            }
            fig.notes.push(
                "Colour: the run (as in the window). Solid: validation, weight norm, Fourier Gini; \
                 dashed: train (running), Fourier IPR; train (eval) left out."
                    .into(),
            );
            if runs.iter().any(|(_, _, g, _)| g.len() > 1) {
                fig.notes.push(format!(
                    "A group of seeds: its mean, shaded {band_name}, over the steps every run logged."
                ));
            }
            for (name, _, group, entry) in &runs {
                if group.len() > 1
                    && let Some(note) = entry.get("note").and_then(|n| n.as_str())
                {
                    fig.notes.push(format!("{name}: {note}."));
                }
            }
            fig.data.insert(
                "runs".into(),
                runs.iter().map(|(.., v)| v.clone()).collect::<Vec<_>>().into(),
            );
            Some(fig)
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Metric, MetricRow};
    use crate::store::Marker;

    /// A history of `config` with seed `seed` logging steps 1..=`last`, generalised at `t_val`.
    fn run(seed: u64, last: u64, t_val: Option<u64>, change: Option<(u64, f64)>) -> RunHistory {
        let mut config = crate::config::presets()[0].config.clone();
        config.seed = seed;
        let mut h = RunHistory::new();
        h.begin(seed, config, 100, 1);
        let rows: Vec<MetricRow> = (1..=last)
            .map(|s| MetricRow {
                step: s,
                epoch: s,
                values: vec![(Metric::ValAcc, 0.5)],
            })
            .collect();
        h.push_rows(&rows);
        let marks = t_val
            .map(|e| (e, MarkerKind::Grok(GrokEvent::Generalised)))
            .into_iter()
            .chain(change.map(|(s, wd)| (s, MarkerKind::Change(HyperChange::WeightDecay(wd)))));
        for (step, kind) in marks {
            h.add_marker(Marker {
                step,
                epoch: step,
                kind,
            });
        }
        h
    }

    fn member(history: &RunHistory, fork_step: Option<u64>) -> Member<'_> {
        Member {
            name: String::new(),
            history,
            color: Color32::WHITE,
            width: 1.5,
            is_current: false,
            id: 1,
            fork_step,
        }
    }

    /// A group's name says its seeds and its members' common treatment; its note the spread of
    /// t_val and where its mean ends when a member ends early. Expected: written out from the runs made here (seed 2
    /// stops at step 253, the others at 312; t_val 253 and 301, seed 1 never generalises).
    #[test]
    fn a_groups_name_says_its_treatment_and_its_note_t_val_spread_and_early_end() {
        let a = run(0, 312, Some(301), None);
        let b = run(1, 312, None, None);
        let c = run(2, 253, Some(253), None);
        let (ma, mb, mc) = (member(&a, None), member(&b, None), member(&c, None));
        let seeds = ["0".to_string(), "1".into(), "2".into()];
        assert_eq!(
            group_name(&[&ma, &mb, &mc], &seeds),
            "mean of 3 (seeds 0, 1, 2)"
        );
        assert_eq!(
            group_note(&[&ma, &mb, &mc], &seeds),
            "t_val epochs 253–301 for 2 of 3; drawn to step 253, where seed 2 ends"
        );
        let two = [seeds[0].clone(), seeds[2].clone()];
        assert_eq!(
            group_note(&[&ma, &mc], &two),
            "t_val epochs 253–301; drawn to step 253, where seed 2 ends"
        );
        let (d, e) = (
            run(0, 40, None, Some((20, 3.0))),
            run(1, 40, None, Some((20, 3.0))),
        );
        let (md, me) = (member(&d, Some(10)), member(&e, Some(10)));
        assert_eq!(
            group_name(&[&md, &me], &seeds[..2]),
            "mean of 2 (seeds 0, 1; wd → 3 at step 20; forked at step 10)"
        );
        assert_eq!(group_note(&[&md, &me], &seeds[..2]), "none generalised");
    }
}
