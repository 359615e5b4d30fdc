//! Figures of Grokking runs compared (`compare_accuracy`, `compare_loss`, `compare_weight_norm`,
//! `compare_fourier`): each run in its colour, or a group of seeds as its mean with a band, with the
//! runs' milestones. The window's **Export figure…** (its Runs panel decides which runs and groups)
//! and `grokscope export RUN RUN…` both build them here, so both write the same figure from the same
//! runs.

use super::figure::{Figure, Marker, Rgb, Series, SeriesKind};
use super::labs;
use crate::protocol::{GrokEvent, HyperChange, Metric};
use crate::store::compare::{self, BandPoint, Treatment};
use crate::store::{MarkerKind, RunHistory};
use serde::{Deserialize, Serialize};

/// The restricted and excluded losses (each snapshot's keys, and the final model's): drawn for a
/// single run only; a compared run's curves are train and validation.
pub const ABLATION_CURVES: [Metric; 4] = [
    Metric::RestrictedLoss,
    Metric::ExcludedLoss,
    Metric::RestrictedLossFinal,
    Metric::ExcludedLossFinal,
];

/// Distinct colours handed to runs in turn: the window's runs list (the current run takes the
/// first, runs opened beside it the next ones) and `grokscope export` with several runs alike.
pub const RUN_PALETTE: [Rgb; 8] = [
    [240, 130, 40],
    [90, 160, 240],
    [90, 200, 110],
    [220, 90, 160],
    [230, 200, 70],
    [150, 110, 230],
    [80, 210, 210],
    [230, 90, 80],
];

/// The legend's key to a metric's line style (its colour is the run's): grey.
const KEY_RGB: Rgb = [110, 110, 110];

/// How a group of seeds shows its spread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BandKind {
    /// From the lowest to the highest run at each step.
    MinMax,
    /// The mean plus and minus one (sample) standard deviation.
    Std,
}

impl BandKind {
    /// What the band is, for notes and legends.
    pub fn describe(self) -> &'static str {
        match self {
            BandKind::MinMax => "min–max across its seeds",
            BandKind::Std => "±1 standard deviation across its seeds",
        }
    }
}

/// A run taking part in a comparison, as a figure needs it.
#[derive(Clone, Debug)]
pub struct CompareRun<'a> {
    /// Its legend name (the folder's name).
    pub name: String,
    pub history: &'a RunHistory,
    pub color: Rgb,
    /// The window's current run (the sidecar says so).
    pub is_current: bool,
    /// The step it was forked at, when it is a fork.
    pub fork_step: Option<u64>,
}

impl CompareRun<'_> {
    /// The hyper-parameters changed while it trained: (step, change), in step order.
    pub fn changes(&self) -> Vec<(u64, HyperChange)> {
        self.history
            .markers()
            .iter()
            .filter_map(|m| match m.kind {
                MarkerKind::Change(c) => Some((m.step, c)),
                MarkerKind::Grok(_) => None,
            })
            .collect()
    }

    /// Its seed as text ("?" for a run without a config).
    fn seed(&self) -> String {
        self.history
            .config()
            .map_or("?".into(), |c| c.seed.to_string())
    }
}

/// How `runs` are drawn: one group a run, or (`by_seed`) one a treatment's seeds
/// ([`compare::group_by_seed`]), as indices into `runs`.
pub fn groups(runs: &[CompareRun<'_>], by_seed: bool) -> Vec<Vec<usize>> {
    if !by_seed {
        return (0..runs.len()).map(|i| vec![i]).collect();
    }
    let changes: Vec<Vec<(u64, HyperChange)>> = runs.iter().map(|m| m.changes()).collect();
    let treatments: Vec<Treatment<'_>> = runs
        .iter()
        .zip(&changes)
        .map(|(m, changes)| Treatment {
            config: m.history.config(),
            changes,
            fork_step: m.fork_step,
        })
        .collect();
    compare::group_by_seed(&treatments)
}

/// A band's lower and upper edge at one step, the plot's and the exported figure's alike. On a log
/// axis mean - std can fall to 0 or below (one seed grokked, one not) and would drop the step from
/// the band: there its lower edge stops at the smallest run.
pub fn band_edges(p: &BandPoint, band: BandKind, log_axis: bool) -> (f64, f64) {
    match band {
        BandKind::MinMax => (p.min, p.max),
        BandKind::Std if log_axis => ((p.mean - p.std).max(p.min), p.mean + p.std),
        BandKind::Std => (p.mean - p.std, p.mean + p.std),
    }
}

/// A seed group's legend name: its seeds and what its runs were trained with beyond their config
/// (the changes mid-run, the fork step: the same for every member), so that two groups of other
/// treatments are told apart: "mean of 2 (seeds 0, 1; wd → 3 at step 90)".
pub fn group_name(group: &[&CompareRun<'_>]) -> String {
    format!("mean of {} ({})", group.len(), group_treatment(group))
}

/// A seed group's seeds and common treatment, its entry in an exported figure's legend (the
/// caption says a group is drawn as its mean and band): "seeds 0, 1; wd → 3 at step 90".
pub fn group_treatment(group: &[&CompareRun<'_>]) -> String {
    let seeds: Vec<String> = group.iter().map(|m| m.seed()).collect();
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
    parts.join("; ")
}

/// The step and epoch at which each member of `group` first reached `event`, in member order
/// (members that never did are left out).
fn event_steps(group: &[&CompareRun<'_>], event: GrokEvent) -> Vec<(u64, u64)> {
    group
        .iter()
        .filter_map(|m| {
            m.history.markers().iter().find_map(|k| match k.kind {
                MarkerKind::Grok(e) if e == event => Some((k.step, k.epoch)),
                _ => None,
            })
        })
        .collect()
}

/// "253" or "253–312".
fn range_text(values: &[u64]) -> Option<String> {
    let (lo, hi) = (values.iter().min()?, values.iter().max()?);
    Some(if lo == hi {
        format!("{lo}")
    } else {
        format!("{lo}–{hi}")
    })
}

/// What a group's legend has no room for: the spread of its members' t_val, and where the group's
/// curves end when its runs end at different steps (the mean is drawn over the steps every run
/// logged: an early stop ends it). "t_val epochs 253–312; drawn to step 253, where seed 2 ends".
pub fn group_note(group: &[&CompareRun<'_>]) -> String {
    let mut parts = Vec::new();
    let t_val: Vec<u64> = event_steps(group, GrokEvent::Generalised)
        .iter()
        .map(|&(_, epoch)| epoch)
        .collect();
    match range_text(&t_val) {
        Some(range) if t_val.len() == group.len() => parts.push(format!("t_val epochs {range}")),
        Some(range) => parts.push(format!(
            "t_val epochs {range} for {} of {}",
            t_val.len(),
            group.len()
        )),
        None => parts.push("none generalised".into()),
    }
    let ends: Vec<(u64, String)> = group
        .iter()
        .filter_map(|m| m.history.latest().map(|(step, _)| (step, m.seed())))
        .collect();
    if let (Some((end, seed)), Some(last)) = (
        ends.iter().min_by_key(|(step, _)| *step),
        ends.iter().map(|(step, _)| *step).max(),
    ) && *end < last
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

/// A metric's entry in a comparison's legend of line styles: a word, the caption says the rest
/// ("train (running, train mode)" made the legend of a column's figure two or three rows).
fn style_key(m: Metric) -> String {
    match m {
        Metric::TrainAcc | Metric::TrainLoss => "train".into(),
        Metric::TrainAccEval | Metric::TrainLossEval => "train (eval)".into(),
        Metric::ValAcc | Metric::ValLoss => "validation".into(),
        Metric::FourierGini => "Gini".into(),
        Metric::FourierIpr => "IPR".into(),
        Metric::WeightNorm
        | Metric::Lr
        | Metric::WeightDecay
        | Metric::RestrictedLoss
        | Metric::ExcludedLoss
        | Metric::RestrictedLossFinal
        | Metric::ExcludedLossFinal
        | Metric::Mse
        | Metric::Orderedness
        | Metric::OrderednessNull
        | Metric::Sparsity => labs::series_name(m),
    }
}

/// The milestones and changes of the runs compared, in each run's (or group's) colour, in the order
/// their labels are placed: every generalised first, then memorised, then the changes (the figure
/// names a label that finds no room in a note). Val ≥ 98 %, a few steps before generalised, is left
/// to the sidecar's `data.runs`: beside t_val it crowded out other runs' labels. A single run's milestone is labelled
/// at its step; a group's members each have their line, and one label a milestone spans them
/// ("generalised · steps 756–903 (2 of 3)"): nine labels of three seeds could not be told apart.
fn compare_markers(groups: &[(Rgb, Vec<&CompareRun<'_>>)]) -> Vec<Marker> {
    let mut out: Vec<(u8, Marker)> = Vec::new();
    for (color, group) in groups {
        let first = group[0];
        if group.len() == 1 {
            out.extend(
                first
                    .history
                    .markers()
                    .iter()
                    .filter(|m| m.kind != MarkerKind::Grok(GrokEvent::Val98))
                    .map(|m| {
                        let mut mk = labs::history_marker(m);
                        mk.color = *color;
                        (labs::marker_rank(m.kind), mk)
                    }),
            );
            continue;
        }
        for event in [GrokEvent::Generalised, GrokEvent::Memorised] {
            let at = event_steps(group, event);
            let steps: Vec<u64> = at.iter().map(|&(s, _)| s).collect();
            let Some(range) = range_text(&steps) else {
                continue;
            };
            let unit = if steps.iter().min() == steps.iter().max() {
                "step"
            } else {
                "steps"
            };
            let count = if at.len() == group.len() {
                String::new()
            } else {
                format!(" ({} of {})", at.len(), group.len())
            };
            let label = format!("{} · {unit} {range}{count}", labs::event_name(event));
            let earliest = steps.iter().copied().min().unwrap_or_default();
            let mut labelled = false;
            for &s in &steps {
                let text = if !labelled && s == earliest {
                    labelled = true;
                    label.clone()
                } else {
                    String::new()
                };
                out.push((
                    labs::marker_rank(MarkerKind::Grok(event)),
                    Marker {
                        x: s as f64,
                        label: text,
                        color: *color,
                    },
                ));
            }
        }
        // the members' changes are the same changes at the same steps (one treatment): once
        for m in first.history.markers() {
            if let MarkerKind::Change(_) = m.kind {
                let mut mk = labs::history_marker(m);
                mk.color = *color;
                out.push((labs::marker_rank(m.kind), mk));
            }
        }
    }
    out.sort_by_key(|(rank, _)| *rank);
    out.into_iter().map(|(_, m)| m).collect()
}

/// Figures of the runs compared, one a metric plot (`compare_accuracy`, …), drawn as the window's
/// plots draw them: each group of `groups` (indices into `runs`) in its first run's colour, a single
/// run's curves as logged, a seed group's mean with its band (min–max or ±1 std, on a log axis the
/// lower edge stopping at the smallest run, as in the window), over the steps all its runs logged;
/// the runs' milestones and changes as lines in their colour ([`compare_markers`]). The sidecar's
/// `data.runs` names each group's runs with their configs, changes mid-run and fork step, so a
/// reader knows what each curve is.
pub fn compare_figures(
    runs: &[CompareRun<'_>],
    groups: &[Vec<usize>],
    band: BandKind,
    log_x: bool,
) -> Vec<Figure> {
    let mut drawn = Vec::new();
    for g in groups {
        let group: Vec<&CompareRun<'_>> = g.iter().filter_map(|&i| runs.get(i)).collect();
        let Some(first) = group.first() else {
            continue;
        };
        let name = if group.len() > 1 {
            group_name(&group)
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
                        "milestones": m
                            .history
                            .markers()
                            .iter()
                            .filter_map(|k| match k.kind {
                                MarkerKind::Grok(e) => Some(serde_json::json!({
                                    "event": labs::event_name(e),
                                    "step": k.step,
                                    "epoch": k.epoch,
                                })),
                                MarkerKind::Change(_) => None,
                            })
                            .collect::<Vec<_>>(),
                    })
                })
                .collect::<Vec<_>>()
                .into(),
        );
        if group.len() > 1 {
            entry.insert("note".into(), group_note(&group).into());
        }
        let key = if group.len() > 1 {
            group_treatment(&group)
        } else {
            name.clone()
        };
        drawn.push((
            name,
            key,
            first.color,
            group,
            serde_json::Value::Object(entry),
        ));
    }
    let markers = compare_markers(
        &drawn
            .iter()
            .map(|(_, _, color, group, _)| (*color, group.clone()))
            .collect::<Vec<_>>(),
    );
    let band_name = band.describe();
    labs::GROKKING_PLOTS
        .iter()
        .filter_map(|plot| {
            let metrics: Vec<(Metric, SeriesKind)> = plot
                .series
                .iter()
                .filter(|m| !ABLATION_CURVES.contains(m))
                .filter_map(|&m| compare_kind(m).map(|k| (m, k)))
                .collect();
            if metrics.is_empty() {
                return None;
            }
            let (x, y) = labs::metric_axes(plot, log_x);
            let scale = if plot.y == labs::YKind::Percent {
                100.0
            } else {
                1.0
            };
            let mut fig = Figure::new(
                format!("compare_{}", plot.id),
                format!("{}: runs compared", plot.title),
                x,
                y,
            );
            // the legend: a line a run (its colour) and one a style (which metric), not one a
            // run and metric ("mean of 3 (seeds 0, 1, 2): train (running, train mode)" times
            // four took the plot's height at a column's width); the drawn series keep their full
            // names in the CSV
            for (_, key, color, _, _) in &drawn {
                fig.series
                    .push(Series::new(key.clone(), *color, SeriesKind::Line, vec![]));
            }
            if metrics.len() > 1 {
                for &(metric, kind) in &metrics {
                    fig.series
                        .push(Series::new(style_key(metric), KEY_RGB, kind, vec![]));
                }
            }
            for (name, _, color, group, _) in &drawn {
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
                            let mut line = Series::new(label, *color, kind, points);
                            line.legend = false;
                            fig.series.push(line);
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
                    let mut line = Series::new(label, *color, kind, mean);
                    line.legend = false;
                    fig.series.push(line);
                }
            }
            fig.markers = markers.clone();
            // the caption's words go in the sidecar, off the figure's face
            fig.caption.push(
                "Colour: the run (as in the window). Solid: validation, weight norm, Fourier Gini \
                 (of the embedding's Fourier norms); dashed: train (running, in training mode), \
                 Fourier IPR; train (eval) left out. Dashed verticals: \
                 each run's milestones (a seed group's labelled once, with their range)."
                    .into(),
            );
            if drawn.iter().any(|(_, _, _, g, _)| g.len() > 1) {
                fig.caption.push(format!(
                    "A group of seeds (named by its seeds in the legend): its mean, shaded \
                     {band_name}, over the steps every run logged."
                ));
            }
            for (name, _, _, group, entry) in &drawn {
                if group.len() > 1
                    && let Some(note) = entry.get("note").and_then(|n| n.as_str())
                {
                    fig.caption.push(format!("{name}: {note}."));
                }
            }
            fig.data.insert(
                "runs".into(),
                drawn
                    .iter()
                    .map(|(.., v)| v.clone())
                    .collect::<Vec<_>>()
                    .into(),
            );
            Some(fig)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::MetricRow;
    use crate::store::Marker as HistoryMarker;

    /// A history of the fast preset with seed `seed` logging steps 1..=`last`, generalised at
    /// `t_val`.
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
            h.add_marker(HistoryMarker {
                step,
                epoch: step,
                kind,
            });
        }
        h
    }

    fn member(history: &RunHistory, fork_step: Option<u64>) -> CompareRun<'_> {
        CompareRun {
            name: String::new(),
            history,
            color: [255, 255, 255],
            is_current: false,
            fork_step,
        }
    }

    /// A group's name says its seeds and its members' common treatment; its note the spread of
    /// t_val and where its mean ends when a member ends early. Expected: written out from the runs
    /// made here (seed 2 stops at step 253, the others at 312; t_val 253 and 301, seed 1 never
    /// generalises).
    #[test]
    fn a_groups_name_says_its_treatment_and_its_note_t_val_spread_and_early_end() {
        let a = run(0, 312, Some(301), None);
        let b = run(1, 312, None, None);
        let c = run(2, 253, Some(253), None);
        let (ma, mb, mc) = (member(&a, None), member(&b, None), member(&c, None));
        assert_eq!(group_name(&[&ma, &mb, &mc]), "mean of 3 (seeds 0, 1, 2)");
        assert_eq!(
            group_note(&[&ma, &mb, &mc]),
            "t_val epochs 253–301 for 2 of 3; drawn to step 253, where seed 2 ends"
        );
        assert_eq!(
            group_note(&[&ma, &mc]),
            "t_val epochs 253–301; drawn to step 253, where seed 2 ends"
        );
        let (d, e) = (
            run(0, 40, None, Some((20, 3.0))),
            run(1, 40, None, Some((20, 3.0))),
        );
        let (md, me) = (member(&d, Some(10)), member(&e, Some(10)));
        assert_eq!(
            group_name(&[&md, &me]),
            "mean of 2 (seeds 0, 1; wd → 3 at step 20; forked at step 10)"
        );
        assert_eq!(group_note(&[&md, &me]), "none generalised");
    }

    /// Compared runs' milestones are drawn (they were left out): a single run's at its step in its
    /// colour, a group's as a line per member and one label spanning them; generalised labels are
    /// placed before the others. Expected: the t_val of the runs made here (301, 253; the lone run
    /// 120) and the wd change at step 20.
    #[test]
    fn compared_runs_milestones_are_drawn_in_their_colour() {
        let mut a = run(0, 312, Some(301), None);
        let b = run(1, 312, None, None);
        let c = run(2, 253, Some(253), None);
        let mut lone = run(5, 200, Some(120), Some((20, 3.0)));
        // val ≥ 98 % (a few steps before t_val) is left to the sidecar, in a group or alone
        for (h, step) in [(&mut a, 295), (&mut lone, 117)] {
            h.add_marker(HistoryMarker {
                step,
                epoch: step,
                kind: MarkerKind::Grok(GrokEvent::Val98),
            });
        }
        let mut runs = vec![member(&a, None), member(&b, None), member(&c, None)];
        let mut other = member(&lone, None);
        other.color = [1, 2, 3];
        other.name = "lone".into();
        runs.push(other);
        let figs = compare_figures(&runs, &[vec![0, 1, 2], vec![3]], BandKind::MinMax, false);
        let acc = figs.iter().find(|f| f.name == "compare_accuracy").unwrap();
        let got: Vec<(f64, &str, Rgb)> = acc
            .markers
            .iter()
            .map(|m| (m.x, m.label.as_str(), m.color))
            .collect();
        assert_eq!(
            got,
            [
                (301.0, "", [255, 255, 255]),
                (
                    253.0,
                    "generalised · steps 253–301 (2 of 3)",
                    [255, 255, 255]
                ),
                (120.0, "generalised · step 120", [1, 2, 3]),
                (20.0, "wd → 3", [1, 2, 3]),
            ]
        );
        // every figure has them, and the sidecar names each run's milestones
        assert!(figs.iter().all(|f| f.markers == acc.markers));
        let runs_data = &acc.data["runs"][1]["runs"][0]["milestones"];
        assert_eq!(
            runs_data,
            &serde_json::json!([
                {"event": "generalised", "step": 120, "epoch": 120},
                {"event": "val ≥ 98 %", "step": 117, "epoch": 117}
            ])
        );
    }
}
