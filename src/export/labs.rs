//! The figures each lab can draw, built from stored data (a run folder, a sweep's results), so the
//! window and `grokscope export` draw the same figure from the same numbers.

use super::figure::{Axis, Figure, Marker, Rgb, Series, SeriesKind, Span};
use crate::analysis::capacity_study::TaskResult;
use crate::analysis::capacity_study::{Analysis, PrimeAnalysis};
use crate::config::ordering::{Scheme, StudyKind};
use crate::protocol::{GrokEvent, HyperChange, Metric};
use crate::store::{MarkerKind, RunHistory, SettingStats};

/// How a Grokking plot shows its y values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum YKind {
    /// Fractions shown as percent on a 0-100 axis.
    Percent,
    /// A log axis.
    Log,
    /// The value as is.
    Linear,
}

/// One of a lab's plots of logged metrics over steps (the Grokking lab's four, the Ordering run's
/// three).
#[derive(Clone, Copy, Debug)]
pub struct MetricPlot {
    /// Figure name (file names, `export --figure`).
    pub id: &'static str,
    /// The figure's title.
    pub title: &'static str,
    /// The y axis label.
    pub y_label: &'static str,
    /// The metrics drawn, in legend order.
    pub series: &'static [Metric],
    /// How y is shown.
    pub y: YKind,
}

/// The Grokking lab's plots, top to bottom, as the window shows them.
pub const GROKKING_PLOTS: [MetricPlot; 4] = [
    MetricPlot {
        id: "accuracy",
        title: "Accuracy",
        y_label: "accuracy (%)",
        series: &[Metric::TrainAcc, Metric::TrainAccEval, Metric::ValAcc],
        y: YKind::Percent,
    },
    MetricPlot {
        id: "loss",
        title: "Loss",
        y_label: "cross-entropy loss",
        series: &[Metric::TrainLoss, Metric::ValLoss],
        y: YKind::Log,
    },
    MetricPlot {
        id: "weight_norm",
        title: "Squared weight norm",
        y_label: "squared weight norm Σw²",
        series: &[Metric::WeightNorm],
        y: YKind::Linear,
    },
    MetricPlot {
        id: "fourier",
        title: "Fourier sparsity of the embedding",
        y_label: "Fourier sparsity",
        series: &[Metric::FourierGini, Metric::FourierIpr],
        y: YKind::Linear,
    },
];

/// The Ordering lab's single-run plots, top to bottom, as the window shows them.
pub const ORDERING_RUN_PLOTS: [MetricPlot; 3] = [
    MetricPlot {
        id: "ordering_mse",
        title: "Training MSE",
        y_label: "MSE",
        series: &[Metric::Mse],
        y: YKind::Log,
    },
    MetricPlot {
        id: "ordering_d",
        title: "Orderedness D",
        y_label: "orderedness D",
        series: &[Metric::OrderednessNull, Metric::Orderedness],
        y: YKind::Linear,
    },
    MetricPlot {
        id: "ordering_sparsity",
        title: "Measured sparsity: the share of W at 0",
        y_label: "measured sparsity",
        series: &[Metric::Sparsity],
        y: YKind::Linear,
    },
];

/// Legend name of a metric's series.
pub fn series_name(m: Metric) -> String {
    match m {
        Metric::TrainAcc => "train (running, train mode)".into(),
        Metric::TrainAccEval => "train (eval)".into(),
        Metric::ValAcc => "validation".into(),
        Metric::TrainLoss => "train (running)".into(),
        Metric::ValLoss => "validation".into(),
        Metric::FourierGini => "Gini of embedding Fourier norms".into(),
        Metric::RestrictedLoss => "restricted (val, key k only)".into(),
        Metric::ExcludedLoss => "excluded (train, key k removed)".into(),
        Metric::RestrictedLossFinal => "restricted (val, final keys only)".into(),
        Metric::ExcludedLossFinal => "excluded (train, final keys removed)".into(),
        Metric::TrainLossEval
        | Metric::WeightNorm
        | Metric::Lr
        | Metric::WeightDecay
        | Metric::FourierIpr
        | Metric::Mse
        | Metric::Orderedness
        | Metric::Sparsity => m.to_string(),
        Metric::OrderednessNull => "D of the same weights shuffled".into(),
    }
}

/// Running train values in blue, train evaluated in teal, validation in orange, the rest in their
/// own hues.
pub fn series_rgb(m: Metric) -> Rgb {
    match m {
        Metric::TrainAcc | Metric::TrainLoss => [100, 160, 235],
        // teal, not a darker blue: two blues 8° of hue apart read as one line on the accuracy plot
        // (a helper's audit)
        Metric::TrainAccEval | Metric::TrainLossEval => [40, 190, 170],
        Metric::ValAcc | Metric::ValLoss => [240, 130, 40],
        Metric::WeightNorm => [170, 110, 210],
        Metric::Lr => [120, 180, 120],
        Metric::WeightDecay => [180, 180, 100],
        Metric::FourierGini => [230, 90, 150],
        Metric::FourierIpr => [90, 200, 200],
        // the final keys' curves are drawn instead of the others, in their colours
        Metric::RestrictedLoss | Metric::RestrictedLossFinal => [80, 200, 120],
        // magenta, not red: beside validation's orange a red is lost to red-green colour blindness
        // (and was mistaken for it at half size: a helper's lesson audit, 2026-12-06)
        Metric::ExcludedLoss | Metric::ExcludedLossFinal => [210, 90, 210],
        Metric::Mse => [100, 160, 235],
        Metric::Orderedness => [80, 200, 120],
        Metric::Sparsity => [200, 120, 120],
        // grey: a baseline, not a measure of this network
        Metric::OrderednessNull => [150, 150, 150],
    }
}

/// Colour of a grokking milestone's marker.
pub fn event_rgb(e: GrokEvent) -> Rgb {
    match e {
        GrokEvent::Memorised => [100, 160, 235],
        GrokEvent::Val98 => [240, 180, 60],
        GrokEvent::Generalised => [80, 200, 120],
    }
}

/// Colour of a hyper-parameter change's marker.
pub const CHANGE_RGB: Rgb = [150, 150, 150];

/// A milestone's name, as its marker's label and the sidecars say it.
pub fn event_name(e: GrokEvent) -> &'static str {
    match e {
        GrokEvent::Memorised => "memorised",
        GrokEvent::Val98 => "val ≥ 98 %",
        GrokEvent::Generalised => "generalised",
    }
}

/// A milestone marker's label, in the unit of the figures' x axis (optimiser steps): a transformer
/// trained in minibatches takes several steps an epoch, and "epoch 1073" at x = 3219 misled (a
/// researcher's audit). The epochs of the spec's events are in the figure's notes
/// ([`epoch_note`]).
pub fn event_label(e: GrokEvent, step: u64) -> String {
    format!("{} · step {step}", event_name(e))
}

fn change_label(c: HyperChange) -> String {
    c.to_string()
}

/// The order marker labels are placed in, first first (a label finding no room is named in a
/// note): generalised (t_val), memorised (t_train), changes, val ≥ 98 % (beside t_val, last).
pub fn marker_rank(kind: MarkerKind) -> u8 {
    match kind {
        MarkerKind::Grok(GrokEvent::Generalised) => 0,
        MarkerKind::Grok(GrokEvent::Memorised) => 1,
        MarkerKind::Change(_) => 2,
        MarkerKind::Grok(GrokEvent::Val98) => 3,
    }
}

/// One of a run's markers as a figure marker, in the event's colour.
pub fn history_marker(m: &crate::store::Marker) -> Marker {
    match m.kind {
        MarkerKind::Grok(e) => Marker {
            x: m.step as f64,
            label: event_label(e, m.step),
            color: event_rgb(e),
        },
        MarkerKind::Change(c) => Marker {
            x: m.step as f64,
            label: change_label(c),
            color: CHANGE_RGB,
        },
    }
}

/// A live run's markers (the app's [`RunHistory`]) as figure markers, in the order their labels are
/// placed ([`marker_rank`]).
pub fn history_markers(markers: &[crate::store::Marker]) -> Vec<Marker> {
    let mut sorted: Vec<&crate::store::Marker> = markers.iter().collect();
    sorted.sort_by_key(|m| marker_rank(m.kind));
    sorted.into_iter().map(history_marker).collect()
}

/// For a run of several optimiser steps an epoch, what the step axis is and the epochs of its
/// milestones (the spec defines t_train and t_val in epochs): "x: optimiser steps, 3 an epoch;
/// in epochs: memorised 1073, val ≥ 98 % 1420, generalised 1445." `None` for one step an epoch
/// (a full batch), where steps are epochs.
pub fn epoch_note(history: &RunHistory) -> Option<String> {
    let spe = history.steps_per_epoch().filter(|&s| s > 1)?;
    let events: Vec<String> = history
        .markers()
        .iter()
        .filter_map(|m| match m.kind {
            MarkerKind::Grok(e) => Some(format!("{} {}", event_name(e), m.epoch)),
            MarkerKind::Change(_) => None,
        })
        .collect();
    let events = if events.is_empty() {
        String::new()
    } else {
        format!("; in epochs: {}", events.join(", "))
    };
    Some(format!("x: optimiser steps, {spe} an epoch{events}."))
}

/// The step axis and `plot`'s value axis, as its figures draw them (a percentage from 0 to 100).
pub fn metric_axes(plot: &MetricPlot, log_x: bool) -> (Axis, Axis) {
    let x = if log_x {
        Axis::log("step")
    } else {
        Axis::linear("step")
    };
    let mut y = match plot.y {
        YKind::Log => Axis::log(plot.y_label),
        YKind::Percent | YKind::Linear => Axis::linear(plot.y_label),
    };
    if plot.y == YKind::Percent {
        // a little beyond 0-100 so that a curve at 0 % or 100 % is not hidden by the frame
        y.range = Some((-2.0, 102.0));
    }
    (x, y)
}

/// The figures of `plots` for one run: `values(metric)` gives a metric's `[step, value]` points,
/// `markers` go on every figure. `log_x` puts the step axis on a log scale (step 0 then cannot be
/// drawn).
pub fn metric_figures(
    plots: &[MetricPlot],
    run_title: &str,
    values: &dyn Fn(Metric) -> Vec<[f64; 2]>,
    markers: &[Marker],
    log_x: bool,
) -> Vec<Figure> {
    plots
        .iter()
        .map(|plot| {
            let (x, y) = metric_axes(plot, log_x);
            let title = if run_title.is_empty() {
                plot.title.to_string()
            } else {
                format!("{} — {run_title}", plot.title)
            };
            let mut fig = Figure::new(plot.id, title, x, y);
            // a single series is named by the y label
            fig.legend = plot.series.len() > 1;
            for &m in plot.series {
                let scale = if plot.y == YKind::Percent { 100.0 } else { 1.0 };
                let points = values(m).into_iter().map(|[x, v]| [x, v * scale]).collect();
                fig.series.push(Series::new(
                    series_name(m),
                    series_rgb(m),
                    SeriesKind::Line,
                    points,
                ));
            }
            fig.markers = markers.to_vec();
            fig
        })
        .collect()
}

/// A metric's `[step, value]` points in a run's history.
pub fn history_points(history: &RunHistory, m: Metric) -> Vec<[f64; 2]> {
    history
        .series(m)
        .iter()
        .map(|p| [p.step as f64, p.value])
        .collect()
}

/// The figures of `plots` from a live run's history (what the window's plots draw).
pub fn history_figures(
    plots: &[MetricPlot],
    run_title: &str,
    history: &RunHistory,
    log_x: bool,
) -> Vec<Figure> {
    let values = |m: Metric| history_points(history, m);
    let mut figs = metric_figures(
        plots,
        run_title,
        &values,
        &history_markers(history.markers()),
        log_x,
    );
    if let Some(note) = epoch_note(history) {
        for f in &mut figs {
            f.notes.push(note.clone());
        }
    }
    figs
}

/// The line series (solid or dashed) of `figs` smoothed for display at weight `w`, as the window's plots draw them
/// ([`crate::analysis::smooth`]): each line's debiased moving average over its points in order,
/// drawn over its raw points (faint), written in the CSV's `smoothed` column beside the raw `y`;
/// each figure smoothed says so in a note and in its JSON sidecar's `data.smoothing`. The markers are
/// left as they are (they come from the raw run). Weight 0 leaves the figures as they are.
pub fn smooth_figures(figs: &mut [Figure], w: crate::analysis::smooth::Weight) {
    if !w.is_on() {
        return;
    }
    for f in figs {
        let mut any = false;
        // (a compared run's train curves are dashed)
        let lines = f
            .series
            .iter_mut()
            .filter(|s| matches!(s.kind, SeriesKind::Line | SeriesKind::Dashed));
        for s in lines.filter(|s| !s.points.is_empty()) {
            s.smoothed = crate::analysis::smooth::smoothed(s.points.iter().map(|p| p[1]), w);
            any = true;
        }
        if any {
            f.notes.push(smoothing_note(w));
            f.data
                .insert("smoothing".into(), serde_json::json!(w.get()));
        }
    }
}

/// What a smoothed figure says of its smoothing.
pub fn smoothing_note(w: crate::analysis::smooth::Weight) -> String {
    format!(
        "Smoothing {:.2} (debiased moving average, display only): raw curves faint; milestones \
         from the raw values.",
        w.get()
    )
}

/// Memorisation (random labels) in the Capacity figures, the window's and the exported alike: red.
pub const MEM_RGB: Rgb = [0xe0, 0x6c, 0x4c];
/// Generalisation (the modular task): blue. (The export once drew these two the other way round
/// from the window: a helper's audit.)
pub const GEN_RGB: Rgb = [0x4c, 0x9a, 0xe0];
/// The delays: violet.
pub const DELAY_RGB: Rgb = [0xb0, 0x8c, 0xe0];
/// The observed onset (its line in the crossing figure, its points in the onsets figure): amber, in
/// the window and the export alike (the window drew it yellow, the export red: a researcher's
/// audit); amber reads on the window's dark ground and on paper.
pub const ONSET_RGB: Rgb = [0xe0, 0xa0, 0x20];
/// P*, where T_mem and T_gen cross (its line, and any later crossing's, in the crossing figure):
/// Okabe and Ito's bluish green, in the window and the export alike. The window drew it white,
/// which vanishes on paper, and the export dark grey, which vanishes on the window's dark ground;
/// this green reads on both (contrast at least 3:1 with each, tested) and is none of the figure's
/// other hues (red, blue, violet, amber, the regimes' tints).
pub const P_STAR_RGB: Rgb = [0x00, 0x9e, 0x73];
const FIT_RGB: Rgb = [60, 60, 60];
/// Colours of several model sizes or primes, in turn.
const PALETTE: [Rgb; 8] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
];

/// `v` with three significant digits (Rust's formatting has no `%g`).
fn sig3(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return v.to_string();
    }
    let decimals = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    format!("{v:.decimals$}")
}

/// What a figure says of P* beside its line: why there is none, or what else holds (several crossings,
/// a crossing bounded by runs that never reached a threshold).
pub fn p_star_note(pa: &PrimeAnalysis) -> Option<String> {
    let note = pa.p_star_note.as_ref()?;
    Some(match pa.p_star {
        Some(_) => format!("P*: {note}"),
        None => format!("P*: none ({note})"),
    })
}

/// "C = 1.83" or, when the capacity points are lower bounds, "C ≥ 1.83" (`decimals` after the point).
pub fn c_text(slope: f64, lower_bound: bool, decimals: usize) -> String {
    let rel = if lower_bound { "≥" } else { "=" };
    format!("C {rel} {slope:.decimals$}")
}

/// The capacity fit's slope as the analysis qualifies it: "C = 1.83", "C ≥ 1.83" (a lower bound) or
/// "C ≈ 1.83" (uncertain either way: [`Analysis::c_uncertain`]).
pub fn fit_c_text(slope: f64, an: &Analysis, decimals: usize) -> String {
    if an.c_uncertain {
        format!("C ≈ {slope:.decimals$}")
    } else {
        c_text(slope, an.c_lower_bound, decimals)
    }
}

/// The C in use as the analysis qualifies it ([`fit_c_text`] for a measured one).
pub fn c_used_text(an: &Analysis, decimals: usize) -> String {
    if an.c_used_is_uncertain() {
        fit_c_text(an.c, an, decimals)
    } else {
        c_text(an.c, an.c_used_is_lower_bound(), decimals)
    }
}

/// The C that f = S / (C P) uses and where it came from: "C = 2.16 bits/param in f: the paper's
/// value (no capacity runs)", "C ≥ 1.83 … given: …" (then each f is at most as drawn), "C ≈ 1.83 …"
/// (then each f may be off either way).
pub fn c_used_note(an: &Analysis) -> String {
    format!(
        "{} bits/param in f: {}{}",
        c_used_text(an, 2),
        an.c_source_text(),
        if an.c_used_is_uncertain() {
            " (C is uncertain either way, and so is each f)"
        } else if an.c_used_is_lower_bound() {
            " (C is a lower bound, so each f is at most as drawn)"
        } else {
            ""
        }
    )
}

/// The crossing figure's note on its hollow marks at the top ([`never_series`]), where some run of
/// `of_p` never reached a threshold (their counts are in the legend, each run in the CSV).
fn never_note(of_p: &[&TaskResult]) -> Option<String> {
    of_p.iter()
        .any(|r| r.t_mem.is_none() || r.t_gen.is_none())
        .then(|| "hollow, at the top: never reached 99 % in the run, so a lower bound".to_string())
}

/// The key's name of the runs that never memorised their random labels (window and export).
pub const NEVER_MEM_NAME: &str = "never memorised";
/// The key's name of the runs that never generalised on the task (window and export).
pub const NEVER_GEN_NAME: &str = "never generalised";

/// Where the crossing figure draws the runs of one prime that never reached a threshold, in epochs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NeverAt {
    /// The height of a run that never memorised its random labels.
    pub memorised: f64,
    /// The height of a run that never generalised on the task.
    pub generalised: f64,
}

/// Where runs that never reached a threshold are drawn, the window's and the export's alike: just
/// above the longest run of the prime (`of_p`'s largest `gen_epochs` or `mem_epochs`), 0.1 decade up
/// for never generalised and 0.16 for never memorised, so both show at one size. Only a place: each
/// such run's own epochs run is its lower bound.
pub fn never_reached_at(of_p: &[&TaskResult]) -> NeverAt {
    let cap = of_p
        .iter()
        .map(|r| r.gen_epochs.max(r.mem_epochs))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    NeverAt {
        memorised: cap * 10f64.powf(0.16),
        generalised: cap * 10f64.powf(0.1),
    }
}

/// The crossing figure's hollow marks of the runs of `of_p` that never memorised, then of those
/// that never generalised, at [`never_reached_at`], each point labelled in the CSV with its run and
/// the lower bound its epochs run give; none where no run falls short.
fn never_series(of_p: &[&TaskResult]) -> Vec<Series> {
    let at = never_reached_at(of_p);
    /// A run's epochs to a threshold (`None`: never reached) and its epochs run.
    type Reached = fn(&TaskResult) -> (Option<u64>, u64);
    let kinds: [(&str, &str, Rgb, f64, Reached); 2] = [
        (NEVER_MEM_NAME, "T_mem", MEM_RGB, at.memorised, |r| {
            (r.t_mem, r.mem_epochs)
        }),
        (NEVER_GEN_NAME, "T_gen", GEN_RGB, at.generalised, |r| {
            (r.t_gen, r.gen_epochs)
        }),
    ];
    kinds
        .into_iter()
        .filter_map(|(name, t, rgb, y, of)| {
            let mut runs: Vec<(&TaskResult, u64)> = of_p
                .iter()
                .filter_map(|r| match of(r) {
                    (None, epochs) => Some((*r, epochs)),
                    (Some(_), _) => None,
                })
                .collect();
            runs.sort_by_key(|(r, _)| (r.params, r.seed));
            if runs.is_empty() {
                return None;
            }
            // the CSV's name says they are bounds; the legend keeps the window's key's name (longer
            // entries took the plot's height at a column's width), the note says what hollow means
            let mut s = Series::new(
                format!("{name} ({t} ≥ its epochs run)"),
                rgb,
                SeriesKind::HollowPoints,
                runs.iter().map(|(r, _)| [r.params as f64, y]).collect(),
            )
            .with_legend_text(format!("{name} ({})", runs.len()));
            s.labels = runs
                .iter()
                .map(|(r, epochs)| {
                    format!(
                        "d = {} seed {}: {t} ≥ {epochs} (its epochs run; y is where it is drawn)",
                        r.width, r.seed
                    )
                })
                .collect();
            Some(s)
        })
        .collect()
}

/// The name of the rings around a run trained in the window beside runs read from a folder.
pub const TRAINED_HERE: &str = "trained here (ringed)";

/// The rings of the runs `here` (indices into `results`) of prime `p` at the points `at` gives, and
/// the note naming them; none without such runs.
fn trained_here_series(
    results: &[TaskResult],
    here: &[usize],
    p: u32,
    at: &dyn Fn(&TaskResult) -> Vec<[f64; 2]>,
) -> Option<(Series, String)> {
    let runs: Vec<&TaskResult> = here
        .iter()
        .filter_map(|&i| results.get(i))
        .filter(|r| r.p == p)
        .collect();
    if runs.is_empty() {
        return None;
    }
    let pts: Vec<[f64; 2]> = runs.iter().flat_map(|r| at(r)).collect();
    let named: Vec<String> = runs
        .iter()
        .map(|r| format!("d = {} (seed {})", r.width, r.seed))
        .collect();
    let note = format!(
        "ringed: trained in the window beside the runs read from the folder: {}",
        named.join(", ")
    );
    Some((
        Series::new(TRAINED_HERE, FIT_RGB, SeriesKind::Rings, pts),
        note,
    ))
}

/// The regime of one model size of the crossing figure, from its runs (see [`regime_spans`]); the
/// window and the exported figure shade them alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Regime {
    /// No run of that size generalised, learned the task or memorised random labels.
    Underfitting,
    /// Its smallest delay over seeds is 0.
    Immediate,
    /// Some run generalised after a positive delay, none at once.
    Grokking,
    /// Learned the training set, and no seed generalised within its run. The spec counts such a
    /// run as grokking (its delay is the epochs run − t_train, a lower bound), but nothing was seen
    /// to generalise, so its cell says so (the phase diagram's "memorisation only" too).
    MemorisedOnly,
}

/// A regime's name, as its cell's label says it.
pub fn regime_name(r: Regime) -> &'static str {
    match r {
        Regime::Underfitting => "underfitting",
        Regime::Immediate => "immediate generalisation",
        Regime::Grokking => "grokking",
        Regime::MemorisedOnly => "memorised only",
    }
}

/// The colour a regime's cell is tinted with (faintly, in the window and the export alike).
pub fn regime_rgb(r: Regime) -> Rgb {
    match r {
        Regime::Underfitting => [128, 128, 128],
        Regime::Immediate => GEN_RGB,
        Regime::Grokking => MEM_RGB,
        Regime::MemorisedOnly => [0x99, 0x66, 0x66],
    }
}

/// A regime's tint in words, for a figure's note (a narrow cell cuts its name short).
fn regime_tint_name(r: Regime) -> &'static str {
    match r {
        Regime::Underfitting => "grey",
        Regime::Immediate => "blue",
        Regime::Grokking => "red",
        Regime::MemorisedOnly => "brown",
    }
}

/// The regimes along P, derived from the data: each model size P gets one regime, and its
/// shaded cell reaches halfway (in log10 P) to its neighbours (0.15 decades past the end sizes);
/// neighbouring sizes of one regime share one cell (one label, not one per size).
/// - underfitting: no run of that size generalised, learned the task or memorised random labels;
/// - immediate generalisation: its smallest delay over seeds is 0;
/// - memorised only: a run learned its training set and none generalised (the spec's delay of such a
///   run, epochs run − t_train, counts it as grokking, a lower bound nobody saw end);
/// - grokking: otherwise (some run generalised after a positive delay, none at once).
///
/// Returns (log10 low, log10 high, regime) cells in increasing P; `results` are the runs of `pa`'s
/// prime.
pub fn regime_spans(pa: &PrimeAnalysis, results: &[&TaskResult]) -> Vec<(f64, f64, Regime)> {
    let xs: Vec<(f64, Regime)> = pa
        .sizes
        .iter()
        .filter(|s| s.params > 0)
        .map(|s| {
            let runs: Vec<&&TaskResult> = results.iter().filter(|r| r.params == s.params).collect();
            let learned = runs
                .iter()
                .any(|r| r.t_gen.is_some() || r.t_train.is_some() || r.t_mem.is_some());
            let generalised = runs.iter().any(|r| r.t_gen.is_some());
            let regime = if !learned {
                Regime::Underfitting
            } else if s.min_delay == Some(0) {
                Regime::Immediate
            } else if !generalised && runs.iter().any(|r| r.t_train.is_some()) {
                Regime::MemorisedOnly
            } else {
                Regime::Grokking
            };
            ((s.params as f64).log10(), regime)
        })
        .collect();
    let half = |i: usize, j: usize| (xs[i].0 + xs[j].0) / 2.0;
    let mut spans: Vec<(f64, f64, Regime)> = vec![];
    for i in 0..xs.len() {
        let lo = if i == 0 {
            xs[i].0 - 0.15
        } else {
            half(i - 1, i)
        };
        let hi = if i + 1 == xs.len() {
            xs[i].0 + 0.15
        } else {
            half(i, i + 1)
        };
        match spans.last_mut() {
            Some(last) if last.2 == xs[i].1 => last.1 = hi,
            Some(_) | None => spans.push((lo, hi, xs[i].1)),
        }
    }
    spans
}

/// The Capacity lab's five figures (spec section 2) for a sweep's results and their analysis;
/// `trained_here` (indices into `results`) are runs trained in the window beside runs read from a
/// folder, ringed in the crossing and speed figures.
pub fn capacity_figures(
    results: &[TaskResult],
    trained_here: &[usize],
    an: &Analysis,
) -> Vec<Figure> {
    let mut figs = vec![];
    // 1. the crossing plot, one per prime
    for pa in &an.primes {
        let mut fig = Figure::new(
            format!("crossing_p{}", pa.p),
            format!("Memorisation vs generalisation speed, p = {}", pa.p),
            Axis::log("parameters P"),
            Axis::log("epochs"),
        );
        let pts = |f: &dyn Fn(&crate::analysis::capacity_study::SizeRow) -> Option<f64>| {
            pa.sizes
                .iter()
                .filter_map(|s| Some([s.params as f64, f(s)?]))
                .collect::<Vec<_>>()
        };
        fig.series.push(Series::new(
            "T_mem (random labels)",
            MEM_RGB,
            SeriesKind::Line,
            pts(&|s| s.t_mem.mean),
        ));
        fig.series.push(Series::new(
            "T_gen (modular task)",
            GEN_RGB,
            SeriesKind::Line,
            pts(&|s| s.t_gen.mean),
        ));
        // each seed's T_mem and T_gen as dots under the means' lines, as the window draws them (the
        // figure had the means alone: no spread for a reader to judge)
        let seeds = results.iter().filter(|r| r.p == pa.p).count();
        if seeds > pa.sizes.len() {
            for (name, rgb, t) in [
                (
                    "T_mem, each seed",
                    MEM_RGB,
                    (|r: &TaskResult| r.t_mem) as fn(&TaskResult) -> Option<u64>,
                ),
                ("T_gen, each seed", GEN_RGB, |r: &TaskResult| r.t_gen),
            ] {
                let mut dots = Series::new(
                    name,
                    rgb,
                    SeriesKind::Points,
                    results
                        .iter()
                        .filter(|r| r.p == pa.p)
                        .filter_map(|r| Some([r.params as f64, t(r)? as f64]))
                        .collect(),
                );
                dots.legend = false;
                fig.series.push(dots);
            }
            fig.notes
                .push("lines: the means over seeds; dots: each seed's T_mem and T_gen".into());
        }
        // the runs that never reached a threshold, hollow above the longest run, as the window
        // draws them (they were only counted in a note)
        let of_p: Vec<&TaskResult> = results.iter().filter(|r| r.p == pa.p).collect();
        fig.series.extend(never_series(&of_p));
        // a mean delay with a seed that never generalised is only a lower bound: hollow, and named so
        // in the legend and the CSV (it was a filled dot like a measured one, a note below saying so)
        let delays = |bound: bool| {
            pa.sizes
                .iter()
                .filter(|s| (s.delay_lower_bounds > 0) == bound)
                .filter_map(|s| Some([s.params as f64, s.delay.mean?]))
                .collect::<Vec<_>>()
        };
        for (name, kind, bound) in [
            ("delay (mean over seeds)", SeriesKind::Points, false),
            (
                "delay, at least (a seed never generalised)",
                SeriesKind::HollowPoints,
                true,
            ),
        ] {
            let points = delays(bound);
            if !points.is_empty() {
                let mut delays = Series::new(name, DELAY_RGB, kind, points);
                // a delay of 0 at 1 epoch, as the window draws it; the CSV keeps its 0 (those rows
                // were left out of it: a researcher's report)
                delays.log_zero_at = Some(1.0);
                fig.series.push(delays);
            }
        }
        // a run that never reached a threshold is ringed where its hollow mark is, as the window rings it
        let never = never_reached_at(&of_p);
        let at = |r: &TaskResult| -> Vec<[f64; 2]> {
            let t = |t: Option<u64>, drawn_at: f64| Some(t.map_or(drawn_at, |t| t as f64));
            [
                t(r.t_mem, never.memorised),
                t(r.t_gen, never.generalised),
                r.delay.map(|d| d as f64),
            ]
            .into_iter()
            .flatten()
            .map(|y| [r.params as f64, y])
            .collect()
        };
        if let Some((mut rings, note)) = trained_here_series(results, trained_here, pa.p, &at) {
            // (a delay of 0 is ringed where it is drawn)
            rings.log_zero_at = Some(1.0);
            fig.series.push(rings);
            fig.notes.push(note);
        }
        // every crossing, P* the first; none: a note says why, and no line is drawn
        for (k, &p) in pa.p_star_all.iter().enumerate() {
            fig.markers.push(Marker {
                x: p,
                label: if k == 0 {
                    format!("P* = {p:.0}")
                } else {
                    format!("crossing {} at {p:.0}", k + 1)
                },
                color: P_STAR_RGB,
            });
        }
        fig.notes.extend(p_star_note(pa));
        if let Some(p) = pa.observed_onset {
            fig.markers.push(Marker {
                x: p,
                label: format!("observed onset {p:.0}"),
                color: ONSET_RGB,
            });
        }
        // the regimes, shaded under the data as the window shades them (the export had none: a
        // researcher's audit)
        fig.spans = regime_spans(pa, &of_p)
            .into_iter()
            .map(|(lo, hi, r)| Span {
                lo: 10f64.powf(lo),
                hi: 10f64.powf(hi),
                label: regime_name(r).to_string(),
                color: regime_rgb(r),
            })
            .collect();
        let mut named: Vec<Regime> = vec![];
        for (_, _, r) in regime_spans(pa, &of_p) {
            if !named.contains(&r) {
                named.push(r);
            }
        }
        if !named.is_empty() {
            let list: Vec<String> = named
                .iter()
                .map(|&r| format!("{} {}", regime_tint_name(r), regime_name(r)))
                .collect();
            // in the caption: at a column's width a note took two lines of the plot's height
            fig.caption
                .push(format!("shaded by model size: {}", list.join(", ")));
        }
        let zero: Vec<String> = pa
            .sizes
            .iter()
            .filter(|s| s.min_delay == Some(0))
            .map(|s| s.width.to_string())
            .collect();
        if !zero.is_empty() {
            fig.notes.push(format!(
                "delay 0 (immediate generalisation) at d = {} (drawn at 1 epoch on the log axis; \
                 0 in the CSV)",
                zero.join(", ")
            ));
        }
        fig.notes.extend(never_note(&of_p));
        let open = results
            .iter()
            .filter(|r| r.p == pa.p && r.delay_is_lower_bound())
            .count();
        if open > 0 {
            fig.notes.push(format!(
                "the delays of {open} run(s) that never generalised are epochs run - t_train (the \
                 spec's rule), so at least their true delay; they are in the means"
            ));
        }
        figs.push(fig);
    }
    // 2. memorised bits vs n, one line per model size, under the ceiling n·log2(p + 2). A linear n
    // axis, as the window's: on a log one the ceiling's straight two-point segment was not the line
    // it named (2.6-3.6 times too high mid-range, a run on the ceiling drawn far below it: a
    // researcher's audit), and a run's plateau below a straight ceiling is what the figure shows
    let mut fig = Figure::new(
        "memorised_bits",
        "Memorised bits vs random-label set size",
        Axis::linear("random-label examples n"),
        Axis::linear("memorised bits"),
    );
    let mut sizes: Vec<(u64, usize)> = results
        .iter()
        .filter(|r| !r.capacity.is_empty())
        .map(|r| (r.params, r.width))
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    for (i, (params, width)) in sizes.iter().enumerate() {
        for (k, r) in results
            .iter()
            .filter(|r| r.params == *params && !r.capacity.is_empty())
            .enumerate()
        {
            let mut s = Series::new(
                format!("d = {width} (P = {params})"),
                PALETTE[i % PALETTE.len()],
                SeriesKind::Line,
                r.capacity.iter().map(|c| [c.n as f64, c.bits]).collect(),
            );
            s.legend = k == 0; // one legend entry per size, not per seed
            fig.series.push(s);
        }
    }
    // one ceiling for each prime with capacity runs, from n = 0 to the largest n tried
    let mut primes: Vec<u32> = results
        .iter()
        .filter(|r| !r.capacity.is_empty())
        .map(|r| r.p)
        .collect();
    primes.sort_unstable();
    primes.dedup();
    let hi = results
        .iter()
        .flat_map(|r| r.capacity.iter().map(|c| c.n as f64))
        .fold(0.0_f64, f64::max);
    for p in &primes {
        let per = ((p + 2) as f64).log2();
        let mut s = Series::new(
            format!("n · log2(p + 2), p = {p}"),
            FIT_RGB,
            SeriesKind::Dashed,
            vec![[0.0, 0.0], [hi, hi * per]],
        );
        s.legend = true;
        fig.series.push(s);
    }
    if primes.is_empty() {
        fig.notes.push("no capacity runs in this sweep".into());
    }
    figs.push(fig);
    // 3. max memorised bits vs P with the fitted C (a point still rising is a lower bound: hollow)
    let mut fig = Figure::new(
        "capacity",
        "Max memorised bits vs parameters",
        Axis::linear("parameters P"),
        Axis::linear("max memorised bits"),
    );
    let points = |bound: bool| -> Vec<[f64; 2]> {
        an.points
            .iter()
            .filter(|c| c.lower_bound == bound)
            .map(|c| [c.params, c.max_bits])
            .collect()
    };
    for (name, kind, bound) in [
        ("mean over seeds of max bits", SeriesKind::Points, false),
        (
            "max bits, a lower bound (still rising)",
            SeriesKind::HollowPoints,
            true,
        ),
    ] {
        let pts = points(bound);
        if !pts.is_empty() {
            fig.series.push(Series::new(name, MEM_RGB, kind, pts));
        }
    }
    match &an.fit {
        Some(f) => {
            let (lo, hi) = an
                .points
                .iter()
                .fold((f64::INFINITY, 0.0_f64), |(a, b), c| {
                    (a.min(c.params), b.max(c.params))
                });
            fig.series.push(Series::new(
                format!("fit: {} bits/param", fit_c_text(f.slope, an, 2)),
                FIT_RGB,
                SeriesKind::Dashed,
                vec![
                    [lo, f.slope * lo + f.intercept],
                    [hi, f.slope * hi + f.intercept],
                ],
            ));
            fig.notes.push(format!(
                "{} bits per parameter, R² = {:.3} (paper: 2.16; Morris et al.: about 3.6)",
                fit_c_text(f.slope, an, 3),
                f.r2
            ));
            let bounds: Vec<&crate::analysis::capacity_study::CapacityMax> =
                an.points.iter().filter(|c| c.lower_bound).collect();
            if !bounds.is_empty() {
                let why = |c: &crate::analysis::capacity_study::CapacityMax| match (
                    c.unsaturated,
                    c.top_of_grid,
                ) {
                    (true, true) => "cut by the epoch cap, at the largest n",
                    (true, false) => "cut by the epoch cap while improving",
                    (false, _) => "at the largest n tried",
                };
                // (raising a point below the sizes' mean P lowers a least-squares slope)
                let so = if an.c_uncertain {
                    "so C is uncertain either way (one lies below the sizes' mean P)"
                } else {
                    "so C is a lower bound"
                };
                fig.notes.push(format!(
                    "hollow: lower bounds, {so}: {}",
                    bounds
                        .iter()
                        .map(|c| format!("P = {:.0} ({})", c.params, why(c)))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        None => fig
            .notes
            .push("no capacity fit (needs capacity runs at two or more sizes)".into()),
    }
    figs.push(fig);
    // 4. T_mem vs f with the exponential fit, one per prime
    for pa in &an.primes {
        let mut fig = Figure::new(
            format!("speed_p{}", pa.p),
            format!("Memorisation time vs capacity fraction, p = {}", pa.p),
            Axis::linear("capacity fraction f = S / (C P)"),
            Axis::log("T_mem (epochs)"),
        );
        let pts: Vec<[f64; 2]> = results
            .iter()
            .filter(|r| r.p == pa.p)
            .filter_map(|r| {
                let f = crate::analysis::capacity::capacity_fraction(
                    r.complexity_bits,
                    an.c,
                    r.params as f64,
                );
                Some([f, r.t_mem? as f64])
            })
            .collect();
        fig.series.push(Series::new(
            "runs (each seed)",
            MEM_RGB,
            SeriesKind::Points,
            pts.clone(),
        ));
        let at = |r: &TaskResult| -> Vec<[f64; 2]> {
            let f = crate::analysis::capacity::capacity_fraction(
                r.complexity_bits,
                an.c,
                r.params as f64,
            );
            r.t_mem.map(|t| [f, t as f64]).into_iter().collect()
        };
        if let Some((rings, note)) = trained_here_series(results, trained_here, pa.p, &at) {
            fig.series.push(rings);
            fig.notes.push(note);
        }
        if let Some(e) = &pa.exp_fit {
            let (lo, hi) = pts.iter().fold((f64::INFINITY, 0.0_f64), |(a, b), p| {
                (a.min(p[0]), b.max(p[0]))
            });
            let curve: Vec<[f64; 2]> = (0..=40)
                .map(|i| {
                    let f = lo + (hi - lo) * i as f64 / 40.0;
                    [f, e.a * (e.b * f).exp()]
                })
                .collect();
            fig.series.push(Series::new(
                format!(
                    "T_mem = {} exp({} f), R² = {:.3}",
                    sig3(e.a),
                    sig3(e.b),
                    e.r2
                ),
                FIT_RGB,
                SeriesKind::Dashed,
                curve,
            ));
        }
        fig.notes.push(c_used_note(an));
        figs.push(fig);
    }
    // 5. predicted vs observed onset across primes
    let mut fig = Figure::new(
        "onsets",
        "Predicted vs observed onset of grokking",
        Axis::log("predicted onset P*"),
        Axis::log("observed onset"),
    );
    let pts: Vec<[f64; 2]> = an
        .primes
        .iter()
        .filter_map(|pa| Some([pa.p_star?, pa.observed_onset?]))
        .collect();
    if let (Some(lo), Some(hi)) = (
        pts.iter().flatten().copied().reduce(f64::min),
        pts.iter().flatten().copied().reduce(f64::max),
    ) {
        fig.series.push(Series::new(
            "y = x",
            FIT_RGB,
            SeriesKind::Dashed,
            vec![[lo / 1.5, lo / 1.5], [hi * 1.5, hi * 1.5]],
        ));
    }
    // named by its primes ("p = 31"), each point labelled with its own in the CSV
    let drawn: Vec<u32> = an
        .primes
        .iter()
        .filter(|pa| pa.p_star.is_some() && pa.observed_onset.is_some())
        .map(|pa| pa.p)
        .collect();
    let mut onsets = Series::new(onsets_name(&drawn), ONSET_RGB, SeriesKind::Points, pts);
    onsets.labels = drawn.iter().map(|p| format!("p = {p}")).collect();
    fig.series.push(onsets);
    // a prime without both onsets is not drawn: say which, and why
    for pa in &an.primes {
        let p_star = match pa.p_star {
            Some(_) => None,
            None => Some(format!(
                "no P* ({})",
                pa.p_star_note.as_deref().unwrap_or("no crossing")
            )),
        };
        let onset = pa
            .observed_onset
            .is_none()
            .then(|| "no observed onset".to_string());
        let missing: Vec<String> = p_star.into_iter().chain(onset).collect();
        if !missing.is_empty() {
            fig.notes
                .push(format!("p = {} not drawn: {}", pa.p, missing.join("; ")));
        }
    }
    figs.push(fig);
    figs
}

/// The name of the onsets figure's points: the primes they stand for ("p = 31", "p = 23, 31"), or
/// "primes" when none is drawn.
pub fn onsets_name(primes: &[u32]) -> String {
    if primes.is_empty() {
        return "primes".into();
    }
    let list: Vec<String> = primes.iter().map(u32::to_string).collect();
    format!("p = {}", list.join(", "))
}

/// A scheme's colour in the Ordering study figures (the window's hues).
pub fn scheme_rgb(s: Scheme) -> Rgb {
    match s {
        Scheme::None => [140, 140, 140],
        Scheme::Random => [60, 130, 230],
        Scheme::TopK => [235, 125, 30],
        Scheme::DynamicTopK => [200, 165, 30],
        Scheme::TriuDamp => [50, 170, 90],
        Scheme::DynamicTriuDamp => [160, 90, 210],
    }
}

/// Whether a scheme's means are drawn hollow in the sparsity study figure (the window's and the
/// export's): the dynamic schemes, whose rings then show round the static ones' dots where their
/// means coincide.
pub fn scheme_hollow(s: Scheme) -> bool {
    match s {
        Scheme::DynamicTopK | Scheme::DynamicTriuDamp => true,
        Scheme::None | Scheme::Random | Scheme::TopK | Scheme::TriuDamp => false,
    }
}

/// The Ordering lab's study figures from its settings' statistics (`aggregate` of `study.csv`, or
/// the window's [`crate::store::StudyHistory::stats`]).
///
/// A sparsity study gives `d_vs_sparsity`: mean D per pruning scheme against sparsity, each with its
/// min-max band over the runs, and the unpruned runs' band across the axis. A grid study gives
/// `grid_mean_d`: a heatmap of mean D over hidden size H and the layer's iterations, as the window
/// draws it ([`grid_figure`]; the spread over seeds is in its JSON sidecar).
pub fn ordering_study_figures(kind: StudyKind, title: &str, stats: &[SettingStats]) -> Vec<Figure> {
    let ok: Vec<&SettingStats> = stats.iter().filter(|s| s.runs > 0).collect();
    let title = |what: &str| {
        if title.is_empty() {
            what.to_string()
        } else {
            format!("{what} — {title}")
        }
    };
    match kind {
        StudyKind::Sparsity => {
            let mut fig = Figure::new(
                "d_vs_sparsity",
                title("Orderedness D vs nominal sparsity"),
                Axis::linear("nominal sparsity (p, 1 − k or f)"),
                Axis::linear("orderedness D"),
            );
            let base: Vec<&&SettingStats> = ok
                .iter()
                .filter(|s| s.setting.scheme == Scheme::None)
                .collect();
            if !base.is_empty() {
                // the unpruned runs of every setting pooled: their spread and mean across the axis
                let runs: usize = base.iter().map(|s| s.runs).sum();
                let mean = base.iter().map(|s| s.mean * s.runs as f64).sum::<f64>() / runs as f64;
                let lo = base.iter().map(|s| s.min).fold(f64::INFINITY, f64::min);
                let hi = base.iter().map(|s| s.max).fold(f64::NEG_INFINITY, f64::max);
                let c = scheme_rgb(Scheme::None);
                let mut band = Series::band("unpruned min-max", c, &[[0.0, lo, hi], [1.0, lo, hi]]);
                band.legend = false;
                fig.series.push(band);
                fig.series.push(Series::new(
                    format!("unpruned ({runs} runs)"),
                    c,
                    SeriesKind::Dashed,
                    vec![[0.0, mean], [1.0, mean]],
                ));
            }
            // triu-damp and dynamic triu-damp both sit at D ≈ 1 (top-k and dynamic top-k near
            // each other at high sparsity): one covered the other (a researcher's audit). The
            // dynamic schemes' means are hollow rings around the static ones' dots, drawn after
            // them, and the static schemes' lines over the dynamic ones', so both show; the legend
            // shows each scheme's mark
            let mut lines = vec![];
            let mut dots = vec![];
            for scheme in Scheme::PRUNING {
                let pts: Vec<&&SettingStats> =
                    ok.iter().filter(|s| s.setting.scheme == scheme).collect();
                if pts.is_empty() {
                    continue;
                }
                let c = scheme_rgb(scheme);
                let rows: Vec<[f64; 3]> = pts
                    .iter()
                    .map(|s| [s.setting.sparsity, s.min, s.max])
                    .collect();
                let mut band = Series::band(format!("{scheme} min-max"), c, &rows);
                band.legend = false;
                fig.series.push(band);
                let mean: Vec<[f64; 2]> =
                    pts.iter().map(|s| [s.setting.sparsity, s.mean]).collect();
                let mut line = Series::new(scheme.to_string(), c, SeriesKind::Line, mean.clone());
                line.legend = false;
                let kind = if scheme_hollow(scheme) {
                    SeriesKind::HollowPoints
                } else {
                    SeriesKind::Points
                };
                let mark = Series::new(format!("{scheme} mean"), c, kind, mean)
                    .with_legend_text(scheme.to_string());
                lines.push((scheme_hollow(scheme), line));
                dots.push((scheme_hollow(scheme), mark));
                let null: Vec<[f64; 2]> = pts
                    .iter()
                    .filter_map(|s| s.null_mean.map(|m| [s.setting.sparsity, m]))
                    .collect();
                if !null.is_empty() {
                    let mut line =
                        Series::new(format!("{scheme}, shuffled"), c, SeriesKind::Dashed, null);
                    line.legend = false;
                    fig.series.push(line);
                }
            }
            // dynamic lines first (static ones over them), static dots first (rings round them)
            lines.sort_by_key(|(hollow, _)| !hollow);
            dots.sort_by_key(|(hollow, _)| *hollow);
            fig.series.extend(lines.into_iter().map(|(_, s)| s));
            fig.series.extend(dots.into_iter().map(|(_, s)| s));
            if ok.iter().any(|s| scheme_hollow(s.setting.scheme)) {
                fig.notes.push(
                    "hollow: the dynamic schemes, ringed round the static ones' dots where they \
                     coincide (triu-damp and dynamic triu-damp at D ≈ 1)"
                        .to_string(),
                );
            }
            fig.notes
                .push("lines: mean D over the runs of a setting; shaded: min to max".to_string());
            if ok
                .iter()
                .any(|s| s.null_runs > 0 && s.setting.scheme != Scheme::None)
            {
                fig.notes.push(
                    "dashed, in a scheme's colour: mean D of the same final weights shuffled to \
                     random places (the order the sparsity alone gives)"
                        .to_string(),
                );
            }
            vec![fig]
        }
        StudyKind::Grid => vec![grid_figure(
            title("Mean orderedness D of unpruned layers over hidden size and iterations"),
            stats,
        )],
    }
}

/// The grid study's figure `grid_mean_d`, as the window draws it and the spec asks ("a grid of mean
/// D"): a heatmap of hidden size H (down) by the layer's iterations (across), each cell coloured by
/// its settings' mean D on 0.5 to 1 (D ≥ 0.5 always: an order or its reverse) with the mean written
/// in it (to two decimals, as the window's); a cell with no finished run is empty. Its CSV has one
/// row a cell; the JSON sidecar's `data.cells` adds each cell's runs, min and max. (It was drawn
/// as one line per H, not a grid: a researcher's audit.)
fn grid_figure(title: String, stats: &[SettingStats]) -> Figure {
    use super::figure::{Body, HeatScale, HeatmapBody};
    let mut hidden: Vec<usize> = stats.iter().map(|s| s.setting.hidden).collect();
    hidden.sort_unstable();
    hidden.dedup();
    let mut its: Vec<usize> = stats.iter().map(|s| s.setting.its).collect();
    its.sort_unstable();
    its.dedup();
    let mut values = vec![];
    let mut cells = vec![];
    for &h in &hidden {
        for &i in &its {
            let cell = stats
                .iter()
                .find(|s| s.setting.hidden == h && s.setting.its == i && s.runs > 0);
            values.push(cell.map(|s| s.mean));
            if let Some(s) = cell {
                cells.push(serde_json::json!({
                    "hidden": h, "its": i, "runs": s.runs,
                    "mean": s.mean, "min": s.min, "max": s.max,
                }));
            }
        }
    }
    let body = HeatmapBody {
        row_labels: hidden.iter().map(usize::to_string).collect(),
        col_labels: its.iter().map(usize::to_string).collect(),
        texts: values
            .iter()
            .map(|v| v.map_or(String::new(), |v| format!("{v:.2}")))
            .collect(),
        values,
        scale: HeatScale::Sequential { lo: 0.5, hi: 1.0 },
        csv_labels: ["hidden_H".into(), "iterations".into()],
        gap_before_col: None,
        diagonal: false,
        row_title: "hidden H".into(),
        col_title: "iterations of the layer".into(),
    };
    let mut fig = Figure::with_body("grid_mean_d", title, Body::Heatmap(body));
    fig.notes.push(
        "cell: mean D over the runs of a setting (colour from 0.5 to 1; min, max and runs in the \
         JSON's data.cells); empty: no run finished"
            .to_string(),
    );
    fig.data
        .insert("cells".into(), serde_json::Value::Array(cells));
    fig
}

/// An outcome's colour in the phase diagram (figure and window): Paul Tol's bright scheme, readable by
/// colour-blind readers and in grey.
pub fn outcome_rgb(o: crate::analysis::phase::Outcome) -> Rgb {
    use crate::analysis::phase::Outcome;
    match o {
        Outcome::NoLearning => [187, 187, 187],
        Outcome::Memorisation => [238, 102, 119],
        Outcome::Grokking => [68, 119, 170],
        Outcome::Comprehension => [34, 136, 51],
    }
}

/// A cell's text: its mean delay in epochs where most of its runs generalised; empty otherwise (a
/// red "memorisation only" cell with the delay of its one grokking seed read as a grokking cell: a
/// helper's audit; the cell's label still says it).
pub fn phase_cell_text(c: &crate::analysis::phase::PhaseCellResult) -> String {
    use crate::analysis::phase::Outcome;
    let generalised = matches!(
        c.summary.outcome,
        Some(Outcome::Grokking | Outcome::Comprehension)
    );
    match c.summary.mean_delay {
        Some(d) if generalised => format!("{d:.0}"),
        _ => String::new(),
    }
}

/// The phase diagram of a study: one figure per model width (`phase`, or `phase_w{width}` with a
/// widths axis), weight decay across (in the config's order), train fraction up (largest on top), each
/// cell coloured by its majority class with its mean delay written in it.
pub fn phase_figures(
    cfg: &crate::config::PhaseStudyConfig,
    cells: &[crate::analysis::phase::PhaseCellResult],
) -> Vec<Figure> {
    use super::figure::{Body, ClassGridBody};
    use crate::analysis::phase::Outcome;
    let widths = cfg.width_axis();
    let mut tf_order: Vec<usize> = (0..cfg.train_fractions.len()).collect();
    tf_order.sort_by(|&a, &b| cfg.train_fractions[b].total_cmp(&cfg.train_fractions[a]));
    let classes: Vec<(String, Rgb)> = Outcome::ALL
        .iter()
        .map(|o| (o.to_string(), outcome_rgb(*o)))
        .collect();
    let finished: usize = cells.iter().map(|c| c.runs.len()).sum();
    widths
        .iter()
        .enumerate()
        .map(|(wi, w)| {
            let width_index = w.map(|_| wi);
            let width = w.unwrap_or_else(|| cfg.base_width());
            let mut g = ClassGridBody {
                row_labels: tf_order
                    .iter()
                    .map(|&i| cfg.train_fractions[i].to_string())
                    .collect(),
                col_labels: cfg.weight_decays.iter().map(|v| v.to_string()).collect(),
                classes: classes.clone(),
                cells: vec![],
                texts: vec![],
                row_title: "train fraction".into(),
                col_title: "weight decay".into(),
            };
            for &tf in &tf_order {
                for wd in 0..cfg.weight_decays.len() {
                    let cell = cells.iter().find(|c| {
                        c.cell.wd_index == wd
                            && c.cell.tf_index == tf
                            && c.cell.width_index == width_index
                    });
                    g.cells
                        .push(cell.and_then(|c| c.summary.outcome).map(|o| o as usize));
                    g.texts.push(cell.map(phase_cell_text).unwrap_or_default());
                }
            }
            let name = if w.is_some() {
                format!("phase_w{width}")
            } else {
                "phase".to_string()
            };
            let b = &cfg.base;
            let title = format!(
                "When does grokking happen: {} on a {} b mod {}, width {width}",
                b.model.name(),
                b.op,
                b.p
            );
            let mut fig = Figure::with_body(name, title, Body::ClassGrid(g));
            fig.notes.push(format!(
                "colour: the class of most seeds ({} a cell; a tie goes to the class that learned less); \
                 number: mean delay in epochs of the runs that generalised (val ≥ 98 % after train ≥ 99 %), \
                 where most did",
                cfg.seeds.len()
            ));
            fig.notes.push(format!(
                "epoch cap {}; {finished} of {} runs finished; empty cells have none yet",
                cfg.max_epochs,
                cfg.task_count()
            ));
            fig
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Smoothing a figure: weight 0 changes nothing; at 0.5 the line is drawn through its debiased
    /// average (4, 0, 2 -> 4, 4/3, 12/7, worked by hand in `analysis::smooth`'s tests), the raw line
    /// faint behind it, the CSV keeps the raw `y` and adds `smoothed`, a note and the sidecar's
    /// data say so, and the markers stay as they were.
    #[test]
    fn smoothed_figures_keep_the_raw_values_and_say_so() {
        use crate::analysis::smooth::Weight;
        let mut f = Figure::new("loss", "loss", Axis::linear("step"), Axis::linear("loss"));
        let points = vec![[1.0, 4.0], [2.0, 0.0], [3.0, 2.0]];
        f.series.push(Series::new(
            "train",
            [1, 2, 3],
            SeriesKind::Line,
            points.clone(),
        ));
        // a compared run's dashed train curve, and a legend key with no points
        f.series.push(Series::new(
            "dashed",
            [1, 2, 3],
            SeriesKind::Dashed,
            vec![[1.0, 2.0], [2.0, 4.0]],
        ));
        f.series
            .push(Series::new("key", [1, 2, 3], SeriesKind::Line, vec![]));
        f.markers.push(Marker {
            x: 2.0,
            label: "generalised".into(),
            color: [0, 0, 0],
        });
        let before = f.clone();
        smooth_figures(std::slice::from_mut(&mut f), Weight::OFF);
        assert_eq!(f, before);
        let raw_csv = String::from_utf8(super::super::render::plotted_csv(&f).unwrap()).unwrap();
        assert!(raw_csv.starts_with("series,x,y,lower,upper\n"), "{raw_csv}");

        smooth_figures(std::slice::from_mut(&mut f), Weight::new(0.5));
        let s = &f.series[0];
        assert_eq!(s.points, points, "the raw points stay");
        let want = [4.0, 4.0 / 3.0, 12.0 / 7.0];
        assert_eq!(s.smoothed.len(), 3);
        for (got, want) in s.smoothed.iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{:?}", s.smoothed);
        }
        // 2, then (0.5·2 + 4) / 1.5 = 10/3
        let dashed = &f.series[1].smoothed;
        assert!(
            dashed.len() == 2 && (dashed[1] - 10.0 / 3.0).abs() < 1e-12,
            "{dashed:?}"
        );
        assert!(f.series[2].smoothed.is_empty());
        assert_eq!(f.markers, before.markers);
        assert!(
            f.notes.iter().any(|n| n.starts_with("Smoothing 0.50")),
            "{:?}",
            f.notes
        );
        assert_eq!(f.data.get("smoothing"), Some(&serde_json::json!(0.5)));

        let csv = String::from_utf8(super::super::render::plotted_csv(&f).unwrap()).unwrap();
        let rows: Vec<&str> = csv.lines().collect();
        assert_eq!(rows[0], "series,x,y,lower,upper,smoothed");
        assert_eq!(rows[1], "train,1,4,,,4");
        assert!(rows[2].starts_with("train,2,0,,,1.333333333333"), "{csv}");

        let svg = super::super::svg::to_svg(&f, super::super::figure::FigureSize::default());
        assert!(
            svg.contains(r#"stroke-opacity="0.3""#) && svg.contains(r#"class="raw""#),
            "the raw line, faint"
        );
        assert!(svg.contains(r#"class="smoothed""#), "the smoothed line");
    }

    /// A milestone's label is in the x axis' unit: the paper transformer (3 steps an epoch)
    /// memorised at step 3219 = epoch 1073, which the label called "epoch 1073" at x = 3219 (a
    /// researcher's audit); the epoch, the spec's unit, is in the figure's note. Expected: the
    /// preset's own run (`grokscope run` of paper-transformer-cpu, events.jsonl).
    #[test]
    fn milestone_labels_are_in_steps_and_the_note_gives_their_epochs() {
        let mut h = RunHistory::new();
        let cfg = crate::config::presets()[0].config.clone();
        h.begin(0, cfg, 100, 3);
        h.push_rows(&[crate::protocol::MetricRow {
            step: 3,
            epoch: 1,
            values: vec![(Metric::ValAcc, 0.1)],
        }]);
        for (step, epoch, e) in [
            (4335, 1445, GrokEvent::Generalised),
            (3219, 1073, GrokEvent::Memorised),
        ] {
            h.add_marker(crate::store::Marker {
                step,
                epoch,
                kind: MarkerKind::Grok(e),
            });
        }
        let figs = history_figures(&GROKKING_PLOTS, "", &h, false);
        let labels: Vec<&str> = figs[0].markers.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(labels, ["generalised · step 4335", "memorised · step 3219"]);
        assert_eq!(
            figs[0].notes.last().map(String::as_str),
            Some("x: optimiser steps, 3 an epoch; in epochs: generalised 1445, memorised 1073.")
        );
    }
    use crate::protocol::MetricRow;

    /// A phase cell writes its mean delay only where most of its runs generalised: one seed grokking
    /// at delay 872 and one memorising is a memorisation cell (a tie goes to the class that learned
    /// less), and a number in it read as grokking. Expected by hand from `summarise_cell`.
    #[test]
    fn a_phase_cell_writes_its_delay_where_most_runs_generalised() {
        use crate::analysis::phase::{Outcome, PhaseCellResult, RunClass, summarise_cell};
        let cell = |outcomes: &[(Outcome, Option<u64>)]| {
            let classes: Vec<RunClass> = outcomes
                .iter()
                .map(|&(outcome, delay)| RunClass { outcome, delay })
                .collect();
            PhaseCellResult {
                cell: crate::config::phase::PhaseCell {
                    wd_index: 0,
                    tf_index: 0,
                    width_index: None,
                },
                weight_decay: 1.0,
                train_fraction: 0.5,
                width: 128,
                runs: outcomes.iter().map(|&(o, d)| (0, o, d)).collect(),
                summary: summarise_cell(&classes),
            }
        };
        let mixed = cell(&[
            (Outcome::Grokking, Some(872)),
            (Outcome::Memorisation, Some(4000)),
        ]);
        assert_eq!(mixed.summary.outcome, Some(Outcome::Memorisation));
        assert_eq!(mixed.summary.mean_delay, Some(872.0));
        assert_eq!(phase_cell_text(&mixed), "");
        let grokked = cell(&[
            (Outcome::Grokking, Some(872)),
            (Outcome::Grokking, Some(900)),
        ]);
        assert_eq!(phase_cell_text(&grokked), "886");
    }
    use crate::store::compare::folder_history;
    use crate::store::run_dir::{RunEvent, RunFolder};

    /// A task result whose events come from the detector fed `val` (one validation accuracy an
    /// epoch) after memorising at epoch 10, as `measure_gen` records them.
    fn run_of(width: usize, params: u64, val: &[f64]) -> TaskResult {
        let mut d = crate::analysis::events::GrokDetector::default();
        d.observe_train(10, 1.0);
        for (i, &v) in val.iter().enumerate() {
            d.observe_val(i as u64 + 1, v);
        }
        let epochs = val.len() as u64;
        TaskResult {
            width,
            params,
            t_train: d.t_train,
            t_gen: d.t_val,
            delay: d.delay(epochs),
            gen_epochs: epochs,
            final_val_acc: val.last().copied(),
            ..crate::store::sweep_dir::example_result()
        }
    }

    /// The speed figure says which C its f = S / (C P) uses and where that C came from, and places
    /// the runs by it. Two runs of the example result (S = 100 log2 25 = 464.386 bits), P = 100 and
    /// 200: with C = 1.83 given, f = 464.386 / 183 = 2.5376 and 464.386 / 366 = 1.2688 (by hand);
    /// without capacity runs the paper's 2.16 (f = 2.1499 and 1.0750).
    #[test]
    fn the_speed_figure_says_which_c_it_uses_and_whence() {
        use crate::analysis::capacity_study::{CChoice, GivenC, analyse_with};
        let rs: Vec<TaskResult> = [(100, 40), (200, 10)]
            .into_iter()
            .map(|(params, t_mem)| TaskResult {
                params,
                t_mem: Some(t_mem),
                ..crate::store::sweep_dir::example_result()
            })
            .collect();
        let speed = |choice: &CChoice| {
            let figs = capacity_figures(&rs, &[], &analyse_with(&rs, choice));
            figs.into_iter().find(|f| f.name == "speed_p23").unwrap()
        };
        let xs = |f: &Figure| -> Vec<f64> { f.series[0].points.iter().map(|p| p[0]).collect() };
        let auto = speed(&CChoice::Auto);
        assert!(
            auto.notes
                .contains(&"C = 2.16 bits/param in f: the paper's value (no capacity runs)".into()),
            "{:?}",
            auto.notes
        );
        let x = xs(&auto);
        assert!(
            (x[0] - 2.149_933).abs() < 1e-6 && (x[1] - 1.074_967).abs() < 1e-6,
            "{x:?}"
        );
        let given = GivenC::new(1.83, "--c on the command line", false).unwrap();
        let fig = speed(&CChoice::Given(given));
        assert!(
            fig.notes
                .contains(&"C = 1.83 bits/param in f: given: --c on the command line".into()),
            "{:?}",
            fig.notes
        );
        let x = xs(&fig);
        assert!(
            (x[0] - 2.537_626).abs() < 1e-6 && (x[1] - 1.268_813).abs() < 1e-6,
            "{x:?}"
        );
        // a measured C that is only a lower bound makes each f at most as drawn
        let bound = GivenC::new(1.83, "measured by runs/cap (3 sizes, R² = 0.999)", true).unwrap();
        let fig = speed(&CChoice::Given(bound));
        assert!(
            fig.notes.contains(
                &"C ≥ 1.83 bits/param in f: given: measured by runs/cap (3 sizes, R² = 0.999) (C \
                  is a lower bound, so each f is at most as drawn)"
                    .into()
            ),
            "{:?}",
            fig.notes
        );
    }

    /// The spec's delay of a run that never reached 98 % validation is epochs run - t_train, only a
    /// lower bound: the result says so, and the crossing figure's notes count such runs. A run that
    /// generalised, or reached 98 % but not 99 %, has an exact delay.
    #[test]
    fn delays_of_runs_that_never_generalised_are_lower_bounds_and_noted() {
        let mut grokked = vec![0.1; 30];
        grokked.extend([0.99; 1]);
        let almost = [vec![0.1; 20], vec![0.985; 20]].concat();
        let never = vec![0.5; 60];
        let rs = [
            run_of(32, 12000, &grokked),
            run_of(24, 8000, &almost),
            run_of(16, 5000, &never),
        ];
        // grokked: 98 % and 99 % at 31, delay 31 - 10; almost: 98 % at 21, never 99 %, delay 21 - 10;
        // never: 60 epochs run - 10
        assert_eq!(
            rs.each_ref().map(|r| r.delay),
            [Some(21), Some(11), Some(50)]
        );
        assert_eq!(
            rs.each_ref().map(|r| r.delay_is_lower_bound()),
            [false, false, true]
        );
        let figs = capacity_figures(&rs, &[], &crate::analysis::capacity_study::analyse(&rs));
        let crossing = figs.iter().find(|f| f.name == "crossing_p23").unwrap();
        assert!(
            crossing
                .notes
                .iter()
                .any(|n| n.starts_with("the delays of 1 run(s) that never generalised")),
            "{:?}",
            crossing.notes
        );
    }

    /// Without a crossing the figures draw no P* line and no (P*, onset) point, and say why in their
    /// notes (which the JSON beside an exported figure carries); the argmin drew one at 27076.
    #[test]
    fn no_crossing_draws_no_p_star_and_says_why() {
        let rs = crate::store::sweep_dir::no_crossing_results();
        let an = crate::analysis::capacity_study::analyse(&rs);
        let figs = capacity_figures(&rs, &[], &an);
        let crossing = figs.iter().find(|f| f.name == "crossing_p31").unwrap();
        assert!(
            crossing.markers.iter().all(|m| !m.label.starts_with("P*")),
            "{:?}",
            crossing.markers
        );
        assert!(
            crossing.notes.iter().any(|n| n.starts_with(
                "P*: none (no crossing in [27076, 77136]: T_mem below T_gen throughout; at P = 9328"
            )),
            "{:?}",
            crossing.notes
        );
        let onsets = figs.iter().find(|f| f.name == "onsets").unwrap();
        assert!(onsets.series.iter().all(|s| s.points.is_empty()));
        assert!(
            onsets
                .notes
                .iter()
                .any(|n| n.starts_with("p = 31 not drawn: no P* (no crossing in [27076, 77136]")),
            "{:?}",
            onsets.notes
        );
        // the bundled sweep's one crossing (d = 20 and 24 back) is drawn, with no note on it
        let mut all = rs.clone();
        for (width, params, t_mem, t_gen) in [(20, 14220, 809, 554), (24, 20136, 488, 458)] {
            all.push(TaskResult {
                width,
                params,
                t_mem: Some(t_mem),
                t_gen: Some(t_gen),
                ..rs[2].clone()
            });
        }
        let an = crate::analysis::capacity_study::analyse(&all);
        let figs = capacity_figures(&all, &[], &an);
        let crossing = figs.iter().find(|f| f.name == "crossing_p31").unwrap();
        let labels: Vec<&str> = crossing.markers.iter().map(|m| m.label.as_str()).collect();
        assert!(labels.contains(&"P* = 20636"), "{labels:?}");
        assert!(crossing.notes.iter().all(|n| !n.starts_with("P*")));
    }

    /// A capacity point from a run the cap stopped while improving, or from the largest n, is a lower
    /// bound: the figure draws it hollow. Two sizes, one seed: P = 100's best (150) is at its largest
    /// n; P = 200's (300, at the smaller n) was cut by the cap. The line through (100, 150) and (200,
    /// 300) has slope 1.5 (by hand). P = 100 lies below the sizes' mean P (150), where more bits would
    /// lower the slope: "C ≈", not "C ≥" (a spec audit); with P = 100 measured, "C ≥".
    #[test]
    fn capacity_lower_bounds_are_hollow_and_c_is_qualified() {
        use crate::analysis::capacity_study::CapacityPoint;
        let point = |n, bits, saturated| CapacityPoint {
            n,
            bits,
            epochs: 10,
            saturated,
            train_acc_eval: 1.0,
        };
        let rs = vec![
            TaskResult {
                params: 100,
                capacity: vec![point(10, 120.0, true), point(20, 150.0, true)],
                ..crate::store::sweep_dir::example_result()
            },
            TaskResult {
                params: 200,
                width: 16,
                capacity: vec![point(10, 300.0, false), point(20, 250.0, true)],
                ..crate::store::sweep_dir::example_result()
            },
        ];
        let an = crate::analysis::capacity_study::analyse(&rs);
        assert!(an.c_uncertain && !an.c_lower_bound && (an.c - 1.5).abs() < 1e-12);
        let figs = capacity_figures(&rs, &[], &an);
        let cap = figs.iter().find(|f| f.name == "capacity").unwrap();
        assert_eq!(cap.title, "Max memorised bits vs parameters");
        let kinds: Vec<(SeriesKind, &str)> = cap
            .series
            .iter()
            .map(|s| (s.kind, s.name.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                (
                    SeriesKind::HollowPoints,
                    "max bits, a lower bound (still rising)"
                ),
                (SeriesKind::Dashed, "fit: C ≈ 1.50 bits/param"),
            ]
        );
        assert!(cap.notes[0].starts_with("C ≈ 1.500 bits per parameter"));
        assert_eq!(
            cap.notes[1],
            "hollow: lower bounds, so C is uncertain either way (one lies below the sizes' mean P): \
             P = 100 (at the largest n tried), P = 200 (cut by the epoch cap while improving)"
        );
        // P = 100 measured inside its grid (a larger n that holds less): only P = 200 is a bound,
        // above the mean, so the slope is at least what it is
        let mut above = rs.clone();
        above[0].capacity.push(point(40, 140.0, true));
        let an = crate::analysis::capacity_study::analyse(&above);
        assert!(an.c_lower_bound && !an.c_uncertain, "{an:?}");
        let figs = capacity_figures(&above, &[], &an);
        let cap = figs.iter().find(|f| f.name == "capacity").unwrap();
        assert!(cap.notes[0].starts_with("C ≥ 1.500 bits per parameter"));
        assert!(
            cap.notes[1].starts_with("hollow: lower bounds, so C is a lower bound: P = 200"),
            "{:?}",
            cap.notes
        );
    }

    /// The crossing figure shows each seed, not the means alone, and draws a mean delay that holds a
    /// lower bound hollow (a researcher's audit: filled like a measured one, a note below the only
    /// sign). Two sizes, three seeds each, on [`example_result`]'s p = 23: at P = 1000 every seed
    /// generalised (delay 10); at P = 2000 seed 2 memorised at epoch 10 and ran 50 epochs without
    /// generalising, so its delay is 50 - 10 = 40, a lower bound (the spec's rule).
    #[test]
    fn the_crossing_figure_shows_each_seed_and_its_lower_bounds_hollow() {
        use crate::store::sweep_dir::example_result;
        let mut rs = vec![];
        for (params, width) in [(1000, 8), (2000, 12)] {
            for seed in 0..3 {
                let mut r = TaskResult {
                    params,
                    width,
                    seed,
                    t_mem: Some(30 + seed),
                    ..example_result()
                };
                if params == 2000 && seed == 2 {
                    (r.t_gen, r.delay, r.gen_epochs) = (None, Some(40), 50);
                } else {
                    r.delay = Some(10);
                }
                rs.push(r);
            }
        }
        let an = crate::analysis::capacity_study::analyse(&rs);
        let figs = capacity_figures(&rs, &[], &an);
        let fig = figs.iter().find(|f| f.name == "crossing_p23").unwrap();
        let series = |name: &str| fig.series.iter().find(|s| s.name == name);
        let mem = series("T_mem, each seed").expect("each seed's T_mem");
        assert_eq!(mem.points.len(), 6);
        assert!(mem.points.contains(&[2000.0, 32.0]) && !mem.legend);
        // the seed that never generalised has no T_gen dot
        assert_eq!(series("T_gen, each seed").unwrap().points.len(), 5);
        let measured = series("delay (mean over seeds)").unwrap();
        assert_eq!(measured.points, [[1000.0, 10.0]]);
        let bound = series("delay, at least (a seed never generalised)").unwrap();
        assert_eq!(bound.kind, SeriesKind::HollowPoints);
        // (10 + 10 + 40) / 3
        assert_eq!(bound.points, [[2000.0, 20.0]]);
    }

    /// The crossing figure's CSV carries a size whose delay is 0 (immediate generalisation), as
    /// `sweep.csv` does: its row was left out (a log axis has no 0) while the window draws it at 1
    /// epoch. Two sizes on [`example_result`] (its delay is 0, t_train 10, t_gen 20): P = 1000 with
    /// delay 0, P = 2000 with delay 10 (t_gen 20 − t_train 10). Expected: both rows, y = 0 and 10 as
    /// given; the SVG draws the 0 at 1 epoch (log10 1 = 0, the axis' floor).
    #[test]
    fn the_crossing_csv_keeps_a_delay_of_zero() {
        use crate::store::sweep_dir::example_result;
        let rs = vec![
            TaskResult {
                params: 1000,
                width: 8,
                ..example_result()
            },
            TaskResult {
                params: 2000,
                width: 12,
                delay: Some(10),
                ..example_result()
            },
        ];
        let an = crate::analysis::capacity_study::analyse(&rs);
        let here = [0, 1];
        for trained_here in [&[][..], &here[..]] {
            let figs = capacity_figures(&rs, trained_here, &an);
            let fig = figs.iter().find(|f| f.name == "crossing_p23").unwrap();
            let csv = String::from_utf8(crate::export::render::plotted_csv(fig).unwrap()).unwrap();
            let delays: Vec<&str> = csv
                .lines()
                .filter(|l| l.starts_with("delay (mean over seeds),"))
                .collect();
            assert_eq!(
                delays,
                [
                    "delay (mean over seeds),1000,0,,",
                    "delay (mean over seeds),2000,10,,"
                ],
                "{csv}"
            );
            let delay = fig
                .series
                .iter()
                .find(|s| s.name == "delay (mean over seeds)")
                .unwrap();
            let drawn: Vec<[f64; 2]> = fig.plotted(delay).iter().map(|p| [p[0], p[1]]).collect();
            assert_eq!(drawn, [[1000.0, 1.0], [2000.0, 10.0]]);
            if !trained_here.is_empty() {
                // each run's T_mem 30, T_gen 20 and delay ringed, the 0 among them
                let rings = csv.lines().filter(|l| l.starts_with(TRAINED_HERE)).count();
                assert_eq!(rings, 6, "{csv}");
                assert!(csv.contains(&format!("{TRAINED_HERE},1000,0,,")), "{csv}");
            }
        }
    }

    /// The ceiling n·log2(p + 2) is a straight line through the origin on the figure's axes: on a
    /// log n axis its two-point segment read 2.6-3.6 times too high mid-range (a researcher's audit).
    /// A run at p = 31 memorising exactly n·log2(33) bits at n = 160 (743.1, by hand) lies on it, and
    /// each prime of the sweep gets its own ceiling.
    #[test]
    fn the_memorised_bits_ceiling_is_the_line_it_names() {
        use crate::analysis::capacity_study::CapacityPoint;
        let per = 33f64.log2();
        let point = |n: usize, bits| CapacityPoint {
            n,
            bits,
            epochs: 10,
            saturated: true,
            train_acc_eval: 1.0,
        };
        let rs = vec![
            TaskResult {
                p: 31,
                capacity: vec![
                    point(80, 300.0),
                    point(160, 160.0 * per),
                    point(1000, 900.0),
                ],
                ..crate::store::sweep_dir::example_result()
            },
            TaskResult {
                p: 23,
                width: 16,
                capacity: vec![point(80, 200.0), point(4000, 950.0)],
                ..crate::store::sweep_dir::example_result()
            },
        ];
        let an = crate::analysis::capacity_study::analyse(&rs);
        let figs = capacity_figures(&rs, &[], &an);
        let fig = figs.iter().find(|f| f.name == "memorised_bits").unwrap();
        assert!(!fig.x.log && !fig.y.log, "linear axes, as the window's");
        let ceilings: Vec<&Series> = fig
            .series
            .iter()
            .filter(|s| s.name.starts_with("n · log2(p + 2)"))
            .collect();
        assert_eq!(ceilings.len(), 2, "one a prime");
        let on_31 = ceilings
            .iter()
            .find(|s| s.name.ends_with("p = 31"))
            .unwrap();
        // the straight line through its points, evaluated where the run lies
        let [[x0, y0], [x1, y1]] = [on_31.points[0], on_31.points[1]];
        let at = |x: f64| y0 + (y1 - y0) * (x - x0) / (x1 - x0);
        assert!((at(160.0) - 160.0 * per).abs() < 1e-9, "{:?}", on_31.points);
        assert!((x1 - 4000.0).abs() < 1e-9, "to the largest n tried");
    }

    /// The bundled `cpu` sweep's results (`assets/sweeps/cpu`, p = 31: P* 20636, observed onset
    /// 9328, as `grokscope export` of it gives them).
    fn bundled() -> Vec<TaskResult> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sweeps/cpu");
        let c = crate::store::sweep_dir::collect_results(&dir).unwrap();
        assert_eq!(c.results.len(), 8, "the bundled sweep's eight widths");
        c.results
    }

    /// The onsets figure's points were named "one prime" (a researcher's audit); they name their
    /// prime, p = 31 for the bundled sweep, in the legend, and each point's in the CSV's label.
    #[test]
    fn the_onsets_figure_names_its_primes() {
        let rs = bundled();
        let figs = capacity_figures(&rs, &[], &crate::analysis::capacity_study::analyse(&rs));
        let onsets = figs.iter().find(|f| f.name == "onsets").unwrap();
        let names: Vec<&str> = onsets.series.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["y = x", "p = 31"]);
        assert_eq!(onsets.series[1].labels, ["p = 31"]);
        let csv = String::from_utf8(crate::export::render::plotted_csv(onsets).unwrap()).unwrap();
        assert!(
            csv.lines()
                .any(|l| l.starts_with("p = 31,") && l.ends_with(",9328,,,p = 31")),
            "{csv}"
        );
        assert!(!csv.contains("one prime"));
        // several primes, and none (by hand)
        assert_eq!(onsets_name(&[23, 31]), "p = 23, 31");
        assert_eq!(onsets_name(&[]), "primes");
    }

    /// The observed onset is drawn in one colour, the window's and the export's (yellow in the
    /// window, red in the export: a researcher's audit): the crossing figure's onset line and the
    /// onsets figure's points in [`ONSET_RGB`] (the window's key takes the same constant; its test is
    /// in the Capacity views).
    #[test]
    fn the_observed_onset_has_one_colour() {
        let rs = bundled();
        let figs = capacity_figures(&rs, &[], &crate::analysis::capacity_study::analyse(&rs));
        let crossing = figs.iter().find(|f| f.name == "crossing_p31").unwrap();
        let onset = crossing
            .markers
            .iter()
            .find(|m| m.label == "observed onset 9328")
            .expect("the onset's line");
        assert_eq!(onset.color, ONSET_RGB);
        let onsets = figs.iter().find(|f| f.name == "onsets").unwrap();
        assert_eq!(onsets.series[1].color, ONSET_RGB);
    }

    /// The runs that never reached a threshold are drawn in the export as the window draws them
    /// (they were only counted in a note, "(not drawn)"): hollow, above the longest run, and the
    /// CSV says each is a lower bound. Expected from the bundled sweep's task files: t_mem is null
    /// for d = 8, 12, 16 (P = 2616, 5460, 9328), t_gen for d = 8 alone, every such run ran the
    /// 3000-epoch cap, the longest run; so they sit at 3000 · 10^0.16 and 3000 · 10^0.1 (the
    /// window's offsets, 0.16 and 0.1 decade above the cap).
    #[test]
    fn runs_that_never_reached_a_threshold_are_drawn_hollow_at_the_cap() {
        let rs = bundled();
        let figs = capacity_figures(&rs, &[], &crate::analysis::capacity_study::analyse(&rs));
        let crossing = figs.iter().find(|f| f.name == "crossing_p31").unwrap();
        let series = |name: &str| crossing.series.iter().find(|s| s.name == name);
        let mem = series("never memorised (T_mem ≥ its epochs run)")
            .expect("the never-memorised runs drawn");
        let gen_never = series("never generalised (T_gen ≥ its epochs run)")
            .expect("the never-generalised run drawn");
        let y_mem = 3000.0 * 10f64.powf(0.16);
        let y_gen = 3000.0 * 10f64.powf(0.1);
        assert_eq!(mem.kind, SeriesKind::HollowPoints);
        assert_eq!(gen_never.kind, SeriesKind::HollowPoints);
        let xs = |s: &Series| s.points.iter().map(|p| p[0]).collect::<Vec<_>>();
        assert_eq!(xs(mem), [2616.0, 5460.0, 9328.0]);
        assert_eq!(xs(gen_never), [2616.0]);
        for p in &mem.points {
            assert!((p[1] - y_mem).abs() < 1e-9, "{p:?}");
        }
        assert!((gen_never.points[0][1] - y_gen).abs() < 1e-9);
        // the legend names them as the window's key does, with their count, and the CSV says they are bounds, each
        // labelled with its run and its bound
        assert_eq!(mem.legend_label(), "never memorised (3)");
        assert_eq!(gen_never.legend_label(), "never generalised (1)");
        assert_eq!(
            gen_never.labels,
            ["d = 8 seed 0: T_gen ≥ 3000 (its epochs run; y is where it is drawn)"]
        );
        let csv = String::from_utf8(crate::export::render::plotted_csv(crossing).unwrap()).unwrap();
        assert!(csv.starts_with("series,x,y,lower,upper,label\n"), "{csv}");
        assert!(
            csv.contains("never memorised (T_mem ≥ its epochs run),5460,"),
            "the never-memorised d = 12 in the CSV: {csv}"
        );
        // at one column's width "underfitting" runs down its band (d = 8 alone), along the band's
        // left edge: down its middle, where d = 8's hollow marks are, they covered it. Its
        // baseline (the x of its `translate`, the glyphs to its left) keeps left of the leftmost
        // hollow ring (d = 8's, radius 2.2 and a 0.8 stroke)
        let svg =
            crate::export::svg::to_svg(crossing, crate::export::figure::FigureSize::default());
        let label = svg
            .find(r#"rotate(-90)">underfitting<"#)
            .expect("down its band");
        let at = &svg[svg[..label].rfind("translate(").unwrap() + 10..];
        let baseline: f64 = at[..at.find(' ').unwrap()].parse().unwrap();
        let ring = svg
            .split(r#"<circle cx=""#)
            .skip(1)
            .filter(|c| c.contains(r#"r="2.2" fill="none""#))
            .map(|c| {
                let num = |t: &str| t[..t.find('"').unwrap()].parse::<f64>().unwrap();
                (num(c), num(&c[c.find(r#"cy=""#).unwrap() + 4..]))
            })
            // in the plot, at the top (the legend's samples are under the plot, at the left)
            .filter(|&(_, cy)| cy < 60.0)
            .map(|(cx, _)| cx)
            .fold(f64::INFINITY, f64::min);
        assert!(baseline < ring - 2.6, "label at {baseline}, ring at {ring}");
        // the note no longer says they are not drawn
        assert!(
            !crossing.notes.iter().any(|n| n.contains("not drawn")),
            "{:?}",
            crossing.notes
        );
    }

    /// The crossing figure shades its regimes as the window does (the export had none: a
    /// researcher's audit). The bundled sweep, as its preset describes it: d = 8 learns nothing
    /// (underfitting), d = 12 generalises with delay 0 (immediate generalisation), from d = 16 on
    /// the delay is positive (grokking: one cell to the largest, d = 48).
    /// Cells meet halfway in log P (the geometric mean of neighbouring sizes) and reach 0.15
    /// decades past the ends; each is a tinted rect under the data named at its top in the SVG, and
    /// listed in the JSON sidecar, whose caption names their tints.
    #[test]
    fn the_crossing_figure_shades_its_regimes() {
        let rs = bundled();
        let figs = capacity_figures(&rs, &[], &crate::analysis::capacity_study::analyse(&rs));
        let fig = figs.iter().find(|f| f.name == "crossing_p31").unwrap();
        let labels: Vec<&str> = fig.spans.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            ["underfitting", "immediate generalisation", "grokking"]
        );
        let colors: Vec<Rgb> = fig.spans.iter().map(|s| s.color).collect();
        assert_eq!(
            colors,
            [
                regime_rgb(Regime::Underfitting),
                regime_rgb(Regime::Immediate),
                regime_rgb(Regime::Grokking)
            ]
        );
        let mut sizes: Vec<f64> = rs.iter().map(|r| r.params as f64).collect();
        sizes.sort_by(f64::total_cmp);
        let close = |a: f64, b: f64| (a / b - 1.0).abs() < 1e-9;
        assert!(close(fig.spans[0].lo, sizes[0] / 10f64.powf(0.15)));
        assert!(close(fig.spans[0].hi, (sizes[0] * sizes[1]).sqrt()));
        assert!(close(fig.spans[1].hi, (sizes[1] * sizes[2]).sqrt()));
        assert!(close(fig.spans[2].hi, sizes[7] * 10f64.powf(0.15)));
        let svg = crate::export::svg::to_svg(fig, crate::export::figure::FigureSize::default());
        assert_eq!(svg.matches(r#"<rect class="span""#).count(), 3, "{svg}");
        // named at the top of each, whole: a name too wide for its band at a column's width runs
        // down it (it was cut to "underfitti…"), and in the caption
        assert_eq!(svg.matches(r#"class="span-label""#).count(), 3, "{svg}");
        for name in ["underfitting", "immediate generalisation", "grokking"] {
            assert!(svg.contains(&format!(">{name}</text>")), "{name}: {svg}");
        }
        assert!(svg.matches("rotate(-90)\">").count() >= 2, "{svg}");
        // at 7 in the legend goes inside the plot, and not over the names (it covered
        // "underfitting" and "immediate generalisation" at the top left): no name's anchor in its box
        let wide = crate::export::svg::to_svg(
            fig,
            crate::export::figure::FigureSize {
                width_in: 7.0,
                height_in: 2.8,
            },
        );
        let attr = |line: &str, key: &str| -> f64 {
            let at = line.find(&format!(" {key}=\"")).unwrap() + key.len() + 3;
            line[at..].split('"').next().unwrap().parse().unwrap()
        };
        let boxes: Vec<[f64; 4]> = wide
            .lines()
            .filter(|l| l.starts_with("<rect") && l.contains(r#"fill-opacity="0.9""#))
            .map(|l| {
                [
                    attr(l, "x"),
                    attr(l, "y"),
                    attr(l, "width"),
                    attr(l, "height"),
                ]
            })
            .collect();
        assert_eq!(boxes.len(), 1, "one legend box inside the plot: {wide}");
        let [bx, by, bw, bh] = boxes[0];
        for l in wide
            .lines()
            .filter(|l| l.contains(r#"class="span-label""#) && !l.contains("rotate"))
        {
            let (x, y) = (attr(l, "x"), attr(l, "y"));
            assert!(
                !(bx..=bx + bw).contains(&x) || !(by..=by + bh).contains(&y),
                "the legend [{bx} {by} {bw} {bh}] covers {l}"
            );
        }
        assert!(
            fig.caption.contains(
                &"shaded by model size: grey underfitting, blue immediate generalisation, red \
                  grokking"
                    .to_string()
            ),
            "{:?}",
            fig.caption
        );
        // the spans lie under the data: drawn before the first series' path
        let span_at = svg.find(r#"class="span""#).unwrap();
        assert!(span_at < svg.find("<path").unwrap());
        let dir = tempfile::tempdir().unwrap();
        let files = crate::export::render::write_figure(
            &dir.path().join("c.svg"),
            fig,
            &crate::export::render::ExportOptions {
                format: crate::export::render::FigureFormat::Svg,
                ..Default::default()
            },
            &serde_json::Value::Null,
        )
        .unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(files.json).unwrap()).unwrap();
        assert_eq!(json["spans"][2]["label"], "grokking");
    }

    fn row(step: u64, epoch: u64, values: &[(Metric, f64)]) -> MetricRow {
        MetricRow {
            step,
            epoch,
            values: values.to_vec(),
        }
    }

    #[test]
    fn a_run_folders_figures_hold_each_plots_series_and_the_markers() {
        let rows = vec![
            row(
                2,
                1,
                &[
                    (Metric::TrainAcc, 0.5),
                    (Metric::ValAcc, 0.25),
                    (Metric::TrainLoss, 2.0),
                ],
            ),
            row(4, 2, &[(Metric::TrainAcc, 1.0), (Metric::TrainLoss, 0.5)]),
        ];
        let events = vec![RunEvent::Detected {
            what: GrokEvent::Memorised,
            step: 4,
            epoch: 2,
            inherited: false,
        }];
        let folder = RunFolder {
            dir: "run".into(),
            config: None,
            info: None,
            rows,
            events,
            checkpoints: vec![],
            frames: vec![],
            problems: vec![],
            damaged: vec![],
        };
        // the path `grokscope export` and the window take: the folder's history, then its figures
        let history = folder_history(&folder, 0, None);
        let figs = history_figures(&GROKKING_PLOTS, "run", &history, false);
        assert!(
            figs[0].legend && !figs[2].legend,
            "a single series is named by its y label"
        );
        let names: Vec<&str> = figs.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["accuracy", "loss", "weight_norm", "fourier"]);
        // accuracy in percent: 0.5 -> 50, 1.0 -> 100; validation only on the evaluated epoch
        let acc = &figs[0];
        assert_eq!(acc.series[0].points, vec![[2.0, 50.0], [4.0, 100.0]]);
        assert_eq!(acc.series[2].points, vec![[2.0, 25.0]]);
        assert!(
            acc.series[1].points.is_empty(),
            "no eval-mode train accuracy logged"
        );
        assert_eq!(acc.markers.len(), 1);
        assert_eq!(acc.markers[0].x, 4.0);
        assert!(figs[1].y.log && !figs[0].y.log);
    }
}

#[cfg(test)]
mod ordering_tests {
    use super::*;
    use crate::protocol::{OrderMethod, StudyRow};

    fn row(scheme: Scheme, sparsity: f64, hidden: usize, its: usize, d: f64) -> StudyRow {
        StudyRow {
            scheme,
            param: sparsity,
            sparsity,
            hidden,
            its,
            seed: 0,
            d,
            method: OrderMethod::Exact,
            final_loss: 0.1,
            d_null: None,
        }
    }

    #[test]
    fn sparsity_study_has_a_band_and_mean_per_scheme() {
        let rows = [
            row(Scheme::None, 0.0, 8, 1, 0.6),
            row(Scheme::None, 0.0, 8, 1, 0.8),
            row(Scheme::TopK, 0.5, 8, 1, 0.7),
            row(Scheme::TopK, 0.5, 8, 1, 0.9),
            row(Scheme::TopK, 0.9, 8, 1, f64::NAN),
        ];
        let stats = crate::store::ordering::aggregate(&rows);
        let figs = ordering_study_figures(StudyKind::Sparsity, "", &stats);
        let f = &figs[0];
        // unpruned: band 0.6..0.8 and mean 0.7 across [0, 1] (by hand)
        assert_eq!(f.series[0].points, vec![[0.0, 0.6], [1.0, 0.6]]);
        assert_eq!(f.series[0].upper, vec![0.8, 0.8]);
        assert!((f.series[1].points[0][1] - 0.7).abs() < 1e-12);
        // top-k: one setting with finite D (the NaN-only setting at 0.9 is left out)
        let line = f
            .series
            .iter()
            .find(|s| s.name == "top-k")
            .expect("top-k line");
        assert_eq!(line.points.len(), 1);
        assert!((line.points[0][1] - 0.8).abs() < 1e-12);
        let band = f
            .series
            .iter()
            .find(|s| s.name == "top-k min-max")
            .expect("band");
        assert_eq!((band.points[0][1], band.upper[0]), (0.7, 0.9));
        // no run has a shuffled null: no null line and no note of one
        assert!(!f.series.iter().any(|s| s.name.ends_with("shuffled")));
        assert!(!f.notes.iter().any(|n| n.contains("shuffled")));
        // the null: a dashed line in the scheme's colour through the settings' null means, (0.75
        // + 0.85) / 2 = 0.8 by hand, and a note that says what it is
        let with = |null| StudyRow {
            d_null: Some(null),
            ..row(Scheme::TopK, 0.5, 8, 1, 0.9)
        };
        let stats = crate::store::ordering::aggregate(&[with(0.75), with(0.85)]);
        let f = &ordering_study_figures(StudyKind::Sparsity, "", &stats)[0];
        let null = f
            .series
            .iter()
            .find(|s| s.name == "top-k, shuffled")
            .expect("null line");
        assert_eq!(
            (null.kind, null.color, null.legend),
            (SeriesKind::Dashed, scheme_rgb(Scheme::TopK), false)
        );
        assert_eq!(null.points.len(), 1);
        assert!((null.points[0][1] - 0.8).abs() < 1e-12);
        assert!(
            f.notes.iter().any(|n| n.contains("shuffled")),
            "{:?}",
            f.notes
        );
    }

    /// The grid study is "a grid of mean D" (the spec), as the window's heatmap: it was exported as
    /// one line per H (a researcher's audit). Three settings by hand: H = 1 at 1 and 2 iterations
    /// (D 0.9 and 0.8), H = 3 at 1 (0.7), so a 2 x 2 grid with H = 3 at 2 iterations empty; its CSV
    /// one row a cell, the mean in `value`; the means written in their cells to two decimals, as the
    /// window writes them.
    #[test]
    fn grid_study_is_a_heatmap_of_mean_d_cells() {
        use crate::export::figure::{Body, HeatScale};
        let rows = [
            row(Scheme::None, 0.0, 1, 1, 0.9),
            row(Scheme::None, 0.0, 1, 2, 0.8),
            row(Scheme::None, 0.0, 3, 1, 0.7),
        ];
        let stats = crate::store::ordering::aggregate(&rows);
        let f = &ordering_study_figures(StudyKind::Grid, "xor", &stats)[0];
        assert_eq!(f.name, "grid_mean_d");
        let Body::Heatmap(h) = &f.body else {
            panic!("a heatmap, not {:?}", f.body)
        };
        assert!(f.series.is_empty());
        assert_eq!(
            (h.row_labels.clone(), h.col_labels.clone()),
            (
                vec!["1".to_string(), "3".to_string()],
                vec!["1".to_string(), "2".to_string()]
            )
        );
        assert_eq!(h.values, [Some(0.9), Some(0.8), Some(0.7), None]);
        assert_eq!(h.texts, ["0.90", "0.80", "0.70", ""]);
        // the window's scale: D from 0.5 to 1
        assert_eq!(h.scale, HeatScale::Sequential { lo: 0.5, hi: 1.0 });
        let csv = String::from_utf8(crate::export::render::plotted_csv(f).unwrap()).unwrap();
        assert_eq!(
            csv,
            "row,column,hidden_H,iterations,value\n0,0,1,1,0.9\n0,1,1,2,0.8\n1,0,3,1,0.7\n1,1,3,2,\n"
        );
        let svg = crate::export::svg::to_svg(f, crate::export::figure::FigureSize::default());
        assert_eq!(svg.matches(r#"class="cell""#).count(), 4, "{svg}");
        for v in ["0.90", "0.80", "0.70"] {
            assert!(svg.contains(&format!(">{v}</text>")), "{v} written: {svg}");
        }
        // coloured on the window's viridis (it was Blues): D = 0.9 is 0.8 of the way from 0.5 to 1,
        // a fifth of the way from the stop at 3/4, (94, 201, 98), to the one at 1, (253, 231, 37):
        // by hand (126, 207, 86)
        assert!(
            svg.contains(r##"class="cell" "##) && svg.contains(r##"fill="#7ecf56""##),
            "{svg}"
        );
        let cells = f.data.get("cells").and_then(|c| c.as_array()).unwrap();
        assert_eq!(cells.len(), 3);
        assert_eq!(cells[0]["runs"], 1);
    }

    /// Triu-damp and dynamic triu-damp both sit at D ≈ 1: the later one's line and dots covered the
    /// other's (a researcher's audit). Both schemes at the same D (0.999, the same two settings): the
    /// dynamic scheme's means are hollow rings drawn after the static one's dots, and the static
    /// line over the dynamic one; each scheme has a legend entry with its own mark; the SVG holds a
    /// filled dot in triu-damp's colour and a ring in dynamic triu-damp's at each point.
    #[test]
    fn triu_damp_and_dynamic_triu_damp_are_both_seen() {
        let rows: Vec<StudyRow> = [Scheme::TriuDamp, Scheme::DynamicTriuDamp]
            .into_iter()
            .flat_map(|s| [row(s, 0.5, 8, 1, 0.999), row(s, 0.9, 8, 1, 0.999)])
            .collect();
        let stats = crate::store::ordering::aggregate(&rows);
        let f = &ordering_study_figures(StudyKind::Sparsity, "", &stats)[0];
        let at = |name: &str| f.series.iter().position(|s| s.name == name).unwrap();
        let (dyn_dots, dots) = (at("dynamic triu-damp mean"), at("triu-damp mean"));
        assert_eq!(f.series[dyn_dots].kind, SeriesKind::HollowPoints);
        assert_eq!(f.series[dots].kind, SeriesKind::Points);
        assert!(dots < dyn_dots, "rings drawn round the dots");
        assert!(
            at("dynamic triu-damp") < at("triu-damp"),
            "static line on top"
        );
        let legend: Vec<(&str, SeriesKind)> = f
            .legend_entries()
            .iter()
            .map(|s| (s.legend_label(), s.kind))
            .collect();
        assert_eq!(
            legend,
            [
                ("triu-damp", SeriesKind::Points),
                ("dynamic triu-damp", SeriesKind::HollowPoints)
            ]
        );
        let svg = crate::export::svg::to_svg(f, crate::export::figure::FigureSize::default());
        let hex = |c: Rgb| format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2]);
        assert!(
            svg.contains(&format!(
                r#"<g fill="none" stroke="{}" stroke-width="0.8" class="hollow">"#,
                hex(scheme_rgb(Scheme::DynamicTriuDamp))
            )),
            "{svg}"
        );
        assert!(
            svg.contains(&format!(
                r#"<g fill="{}">"#,
                hex(scheme_rgb(Scheme::TriuDamp))
            )),
            "{svg}"
        );
    }
}
