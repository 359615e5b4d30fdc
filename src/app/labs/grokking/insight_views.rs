//! The Grokking lab's insight views (spec section 4): the embedding's Fourier spectrum and its history,
//! the clock on each key frequency's plane and the principal components, the answer grid, and the MLP's
//! neurons by frequency, all at the step the cursor shows. They draw from the run's kept snapshots
//! ([`InsightStore`]); the restricted and excluded loss are series of the loss plot.

use crate::analysis::insight::{self, Cell, Split};
use crate::app::widgets::form::error_color;
use crate::app::widgets::heatmap::{HeatmapSpec, Scale, heatmap_ui};
use crate::app::widgets::key::{KeyEntry, Mark};
use crate::app::widgets::{StepKey, step_keys};
use crate::export::insight::loss_text;
use crate::protocol::InsightSnapshot;
use crate::store::insight::InsightStore;
use eframe::egui::{
    self, Align2, Color32, FontId, Mesh, Pos2, Rect, RichText, Sense, Shape, Stroke, Ui, Vec2,
    pos2, vec2,
};
use egui_plot::{Bar, BarChart, Plot};

/// One of the views, by the key a lesson names it with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum View {
    Spectrum,
    Clock,
    Grid,
    Neurons,
    Ablation,
    /// The phase diagram of a phase study (not a view of the shown run).
    Phase,
}

impl View {
    pub const ALL: [View; 6] = [
        View::Spectrum,
        View::Clock,
        View::Grid,
        View::Neurons,
        View::Ablation,
        View::Phase,
    ];

    /// The key in lessons, scenes and `export --figure`.
    pub fn key(self) -> &'static str {
        match self {
            View::Spectrum => "spectrum",
            View::Clock => "clock",
            View::Grid => "grid",
            View::Neurons => "neurons",
            View::Ablation => "ablation",
            View::Phase => "phase",
        }
    }

    /// The toggle's label.
    pub fn label(self) -> &'static str {
        match self {
            View::Spectrum => "Spectrum",
            View::Clock => "Clock",
            View::Grid => "Answer grid",
            View::Neurons => "Neurons",
            View::Ablation => "Restricted loss",
            View::Phase => "Phase diagram",
        }
    }

    fn hint(self) -> &'static str {
        match self {
            View::Spectrum => {
                "The embedding's Fourier norm per frequency at the shown step (key frequencies highlighted), and its history: frequency x snapshot."
            }
            View::Clock => {
                "Each residue's embedding projected on a key frequency's cos/sin plane (coloured by position on the cycle, a -> next joined), and the first two principal components."
            }
            View::Grid => {
                "Every pair (a, b): answered right or wrong, training or validation pair, at the shown step."
            }
            View::Neurons => {
                "MLP only: each hidden neuron's share of its input weight's power (squared norm) per frequency (neurons sorted by their strongest frequency)."
            }
            View::Ablation => {
                "Restricted loss (validation, only the key-frequency part of the hidden layer kept) and excluded loss (train, that part removed), drawn in the loss plot."
            }
            View::Phase => {
                "When does grokking happen: a study over weight decay x train fraction, several seeds a cell, each cell coloured by what its runs did."
            }
        }
    }
}

/// Which views show and the step they show.
#[derive(Clone, Debug, PartialEq)]
pub struct InsightView {
    /// The step the views show; `None`: the newest snapshot (follow the run).
    pub pinned: Option<u64>,
    /// The moment a lesson's step gone back to speaks of (where it ended), the run having gone on
    /// since: while the views show it, the plots veil what came later ([`Self::later_from`]).
    pub as_of: Option<u64>,
    /// A view to scroll into sight in the next frame (a lesson highlighted it).
    pub scroll_to: Option<View>,
    pub visible: Vec<View>,
    /// Whose snapshots: `None` the current run, `Some(key)` a run of the Runs panel's list.
    pub of: Option<u64>,
    /// The ablation curves with each snapshot's own key frequencies, also once the final model's are
    /// in (those are drawn by default, as Nanda et al. fix them).
    pub own_keys: bool,
    /// Where each view was drawn last frame, whole (not clipped to what shows), and the views'
    /// visible area: a test reads them (a view alone should fit what shows).
    pub drawn_whole: Vec<(View, egui::Rect)>,
    pub in_view: Option<egui::Rect>,
}

impl Default for InsightView {
    fn default() -> Self {
        InsightView {
            pinned: None,
            as_of: None,
            scroll_to: None,
            visible: vec![View::Spectrum, View::Clock, View::Grid, View::Ablation],
            of: None,
            own_keys: false,
            drawn_whole: vec![],
            in_view: None,
        }
    }
}

impl InsightView {
    /// Where the plots' later part begins: [`Self::as_of`] while the current run's views show that
    /// step (moving the cursor, or following the run, brings the whole run back).
    pub fn later_from(&self) -> Option<u64> {
        self.as_of
            .filter(|&s| self.pinned == Some(s) && self.of.is_none())
    }

    pub fn shows(&self, v: View) -> bool {
        self.visible.contains(&v)
    }

    pub fn set_visible(&mut self, v: View, on: bool) {
        self.visible.retain(|&x| x != v);
        if on {
            self.visible.push(v);
            self.visible
                .sort_by_key(|x| View::ALL.iter().position(|y| y == x));
        }
    }

    /// The snapshot shown.
    pub fn shown<'a>(&self, store: &'a InsightStore) -> Option<&'a InsightSnapshot> {
        match self.pinned {
            Some(step) => store.at(step),
            None => store.latest(),
        }
    }
}

/// What the scrub row asks for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScrubAction {
    None,
    /// Show this step.
    Pin(u64),
    /// Follow the newest snapshot again.
    Follow,
    /// Show the views of the current run (`None`) or of a listed run.
    Of(Option<u64>),
}

/// The step cursor: whose views, a slider over the kept snapshots, "follow latest", and what is shown.
/// `runs` are the listed runs (key, name) whose views can be shown instead of the current run's;
/// `training`: the current run is going (its views are "live" only then).
pub fn scrub_ui(
    ui: &mut Ui,
    view: &InsightView,
    store: &InsightStore,
    runs: &[(u64, String)],
    training: bool,
) -> ScrubAction {
    let mut action = ScrubAction::None;
    ui.horizontal_wrapped(|ui| {
        if !runs.is_empty() {
            let name = |of: Option<u64>| match of {
                None => "current run".to_string(),
                Some(k) => runs
                    .iter()
                    .find(|(key, _)| *key == k)
                    .map_or("(closed)".to_string(), |(_, n)| n.clone()),
            };
            let shown = format!("views of {}", name(view.of));
            egui::ComboBox::from_id_salt("insight_of")
                .selected_text(&shown)
                .width(170.0)
                .truncate()
                .show_ui(ui, |ui| {
                    for of in std::iter::once(None).chain(runs.iter().map(|(k, _)| Some(*k))) {
                        if ui.selectable_label(view.of == of, name(of)).clicked() && view.of != of {
                            action = ScrubAction::Of(of);
                        }
                    }
                })
                .response
                .on_hover_text(format!("{shown}\n\nShow the insight views of another run in the Runs panel: a saved or opened run's are recomputed from its saved weights (frames and checkpoints)"));
        }
        let steps = store.steps();
        let Some(&last) = steps.last() else {
            match why_none(store) {
                Some(why) => ui.label(RichText::new(why).color(error_color(ui))),
                None => ui.weak("Insight views: no snapshot yet (they arrive while a run trains, or from an opened run's checkpoints)."),
            };
            return;
        };
        let shown = view.shown(store).map_or(last, |s| s.step);
        let mut i = steps.partition_point(|&s| s < shown).min(steps.len() - 1);
        ui.label("View step");
        let n = steps.len();
        let text = format!("snapshot {}/{n}", i + 1);
        let slider = egui::Slider::new(&mut i, 0..=n - 1)
            .show_value(false)
            .text(text)
            .clamping(egui::SliderClamping::Always);
        let r = ui
            .add_sized([(ui.available_width() - 90.0).clamp(80.0, 220.0), 18.0], slider)
            .on_hover_text(format!("Drag to move every view (and the line on the plots) through the run's snapshots; clicking a plot also moves it; ← and → step one snapshot (Shift+← → while a lesson plays), End follows the latest. Snapshots arrive live within {:.0} % of the training time; while the run is paused and after it ends, the views between them are filled in from the weights it kept at up to {} evenly spaced epochs.", crate::train::insight::WINDOW_SHARE * 100.0, crate::config::memory::VIEW_FRAMES));
        if r.changed() {
            action = ScrubAction::Pin(steps[i]);
        }
        match step_keys(ui) {
            StepKey::Back if i > 0 => action = ScrubAction::Pin(steps[i - 1]),
            StepKey::On if i + 1 < n => action = ScrubAction::Pin(steps[i + 1]),
            StepKey::Latest => action = ScrubAction::Follow,
            StepKey::Back | StepKey::On | StepKey::None => {}
        }
        let following = view.pinned.is_none();
        if ui
            .selectable_label(following, "Follow latest")
            .on_hover_text("Show the newest snapshot as the run goes on")
            .clicked()
            && !following
        {
            action = ScrubAction::Follow;
        }
        let snap = view.shown(store);
        if let Some(s) = snap {
            // whole on one line (where the row has no room left, it goes onto the next)
            ui.add(
                egui::Label::new(
                    egui::RichText::new(format!("step {} · epoch {}", s.step, s.epoch)).strong(),
                )
                .extend(),
            );
            // only beside a view of frequencies: alone (a lesson's plots) it names what no view shows
            let of_frequencies = [View::Spectrum, View::Clock, View::Neurons, View::Ablation];
            if of_frequencies.into_iter().any(|v| view.shows(v)) {
                ui.label(format!("k = {}", join(&s.keys)))
                    .on_hover_text("The key frequencies of the embedding at this step");
            }
        }
        // "live" beside a finished run's views read as if it still trained (a helper's audit)
        let source = match store.source.as_str() {
            "live" if !training => "this run",
            s => s,
        };
        ui.weak(format!("({source})"));
    });
    action
}

fn join(v: &[usize]) -> String {
    if v.is_empty() {
        return "none".into();
    }
    v.iter()
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The views' toggles.
pub fn toggles_ui(ui: &mut Ui, view: &mut InsightView) {
    ui.horizontal_wrapped(|ui| {
        for v in View::ALL {
            let mut on = view.shows(v);
            if ui
                .toggle_value(&mut on, v.label())
                .on_hover_text(v.hint())
                .changed()
            {
                view.set_visible(v, on);
            }
        }
    });
    ui.separator();
}

/// The visible views of the shown snapshot (the phase diagram aside), in a scrolling column.
/// Why a store without snapshots has none, where it says (its source is a reason, not "live" or
/// "recomputing…"): the views were off for the run, stopped, or could not be recomputed.
fn why_none(store: &InsightStore) -> Option<String> {
    let why = store.source.as_str();
    if !store.is_empty() || why.is_empty() || why == "live" || why.starts_with("recomputing") {
        return None;
    }
    Some(if why.contains("insight views") {
        why.to_string()
    } else {
        format!("Insight views: {why}")
    })
}

/// The visible views of the shown snapshot, one section each; where each section was drawn.
/// `val_loss`: the shown run's validation loss by step (the ablation view reads the restricted loss
/// against it).
pub fn insight_panel_ui(
    ui: &mut Ui,
    view: &mut InsightView,
    store: &InsightStore,
    split: &[Split],
    val_loss: &[crate::store::history::Point],
) -> Vec<(View, egui::Rect)> {
    let mut rects = vec![];
    if !view.visible.iter().any(|v| *v != View::Phase) {
        return rects;
    }
    let Some(snap) = view.shown(store) else {
        match why_none(store) {
            Some(why) => ui.label(RichText::new(why).color(error_color(ui))),
            None => ui.weak("Start a run (or open a run folder) to see what the network learns: its embedding's frequencies, the clock it builds, and where its answers are right."),
        };
        return rects;
    };
    // the height in view: a view drawn larger than it (the answer grid, sized by the width) would be
    // cut at the bottom of a presenter's screen
    let view_h = ui.available_height();
    let look = crate::app::teach::presenter::Look::of(ui.ctx());
    let teaching = look.presenting || look.lesson;
    let fill_h = fill_height(teaching, view, view_h);
    // in a lesson the history stops at the step shown: a room scrubbed back to the plateau saw the
    // frequencies that were to come
    let history = match (sharing(teaching, view), teaching) {
        (true, _) => History::Off,
        (false, true) => History::UpToShown,
        (false, false) => History::Whole,
    };
    let mut whole = vec![];
    let out = egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let w = ui.available_width();
            for v in view.visible.clone() {
                let rect = match v {
                    View::Spectrum => section(ui, "Embedding spectrum", |ui| {
                        spectrum_ui(ui, snap, store, w, history)
                    }),
                    View::Clock => section(ui, "Clock", |ui| clock_ui(ui, snap, vec2(w, fill_h))),
                    View::Grid => section(ui, "Answer grid", |ui| {
                        grid_ui(ui, snap, split, vec2(w, fill_h))
                    }),
                    View::Neurons => {
                        section(ui, "Neurons x frequency", |ui| neurons_ui(ui, snap, w))
                    }
                    View::Ablation => section(ui, "Restricted / excluded loss", |ui| {
                        let val = val_loss
                            .iter()
                            .find(|p| p.step == snap.step)
                            .map(|p| p.value);
                        ablation_ui(ui, snap, val, &store.final_keys, &mut view.own_keys)
                    }),
                    // drawn by the lab above the views
                    View::Phase => continue,
                };
                if view.scroll_to.take_if(|s| *s == v).is_some() {
                    ui.scroll_to_rect(rect, Some(egui::Align::Min));
                }
                whole.push((v, rect));
                rects.push((v, rect.intersect(ui.clip_rect())));
            }
        });
    view.drawn_whole = whole;
    view.in_view = Some(out.inner_rect);
    rects
}

/// The height a view sized by it (the clock, the answer grid) is given, of the column's `view_h`.
/// Alone, the whole column. While a lesson plays or the presenter view shows, the views a step
/// shows together share it: the others keep the height they took last frame, and the sized ones
/// split the rest, so that all of them are on screen (a step that spoke of the spectrum beside the
/// clock had the clock fill the column and the spectrum scrolled out of it: a helper's audit). In
/// the normal window (`teaching` false) the column scrolls, and each such view has the whole height.
fn fill_height(teaching: bool, view: &InsightView, view_h: f32) -> f32 {
    if !teaching {
        return view_h;
    }
    let shown = |v: View| v != View::Phase && view.visible.contains(&v);
    let others: f32 = view
        .drawn_whole
        .iter()
        .filter(|(v, _)| shown(*v) && !sized_by_height(*v))
        .map(|(_, r)| r.height() + SECTION_GAP)
        .sum();
    let n = view
        .visible
        .iter()
        .filter(|v| sized_by_height(**v))
        .count()
        .max(1);
    // at least one row of the smallest clocks (80 points a side) and their titles
    ((view_h - others) / n as f32).max(MIN_FILL_HEIGHT)
}

/// Whether a view is drawn to the height it is given ([`fill_height`]): the clock, the answer grid.
fn sized_by_height(v: View) -> bool {
    matches!(v, View::Clock | View::Grid)
}

/// Whether the views share the column's height ([`fill_height`]) with one sized by it: then the
/// spectrum leaves out its history heatmap. At the presenter's scale the spectrum's bars, its
/// history and the clock are taller than a 900-pixel screen, and a lesson's step that shows the
/// spectrum with the clock speaks of the bars.
fn sharing(teaching: bool, view: &InsightView) -> bool {
    teaching
        && view.visible.contains(&View::Spectrum)
        && view.visible.iter().any(|v| sized_by_height(*v))
}

/// The least height [`fill_height`] gives.
const MIN_FILL_HEIGHT: f32 = 160.0;

/// The space under a section.
const SECTION_GAP: f32 = 8.0;

/// A titled section; where it was drawn, whole.
fn section(ui: &mut Ui, title: &str, body: impl FnOnce(&mut Ui)) -> egui::Rect {
    let r = ui.scope(|ui| {
        ui.label(egui::RichText::new(title).strong().size(15.0));
        body(ui);
    });
    ui.add_space(SECTION_GAP);
    r.response.rect
}

/// The frequencies on the operation's cycle, in words.
fn cycle_words(s: &InsightSnapshot) -> String {
    match s.op {
        crate::config::Operation::Add | crate::config::Operation::Sub => {
            format!("frequency k of cos(2π k a / {})", s.p)
        }
        crate::config::Operation::Mul | crate::config::Operation::Div => format!(
            "frequency k over the discrete log of a (cycle of length {})",
            s.p - 1
        ),
    }
}

/// How much of the embedding's power the key frequencies hold, against what as many frequencies
/// would hold of a flat spectrum (spec section 4: the keys' share of the embedding norm); `None`
/// without keys.
fn key_share_text(s: &InsightSnapshot) -> Option<String> {
    let n = s.spectrum.len();
    if s.keys.is_empty() || n == 0 {
        return None;
    }
    let share = crate::analysis::fourier::power_share(&s.spectrum, &s.keys);
    let flat = s.keys.len() as f64 / n as f64;
    let keys = match s.keys.len() {
        1 => "the key frequency holds".to_string(),
        k => format!("the {k} key frequencies hold"),
    };
    Some(format!(
        "{keys} {:.0} % of the power (of a flat spectrum: {:.0} %)",
        share * 100.0,
        flat * 100.0
    ))
}

const KEY_COLOR: Color32 = Color32::from_rgb(240, 130, 40);
const BAR_COLOR: Color32 = Color32::from_rgb(100, 140, 200);

/// How much of the spectrum's history its heatmap shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum History {
    Off,
    /// Every snapshot, the shown one marked.
    Whole,
    /// The snapshots up to the shown one (a lesson's: what comes later is not given away).
    UpToShown,
}

/// The snapshots the history heatmap draws: all of them, or those up to the one at `shown_step`.
fn history_snaps(all: &[InsightSnapshot], shown_step: u64, h: History) -> &[InsightSnapshot] {
    match h {
        History::Off => &[],
        History::Whole => all,
        History::UpToShown => {
            let end = all.partition_point(|x| x.step <= shown_step);
            &all[..end]
        }
    }
}

/// The spectrum's bars and, as `history` says, its history over the snapshots as a heatmap.
fn spectrum_ui(ui: &mut Ui, s: &InsightSnapshot, store: &InsightStore, w: f32, history: History) {
    let bars: Vec<Bar> = s
        .spectrum
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let k = i + 1;
            let key = s.keys.contains(&k);
            Bar::new(k as f64, v)
                .width(0.8)
                .fill(if key { KEY_COLOR } else { BAR_COLOR })
                .name(format!("k = {k}{}", if key { " (key)" } else { "" }))
        })
        .collect();
    ui.weak(cycle_words(s));
    Plot::new("insight_spectrum")
        .height(130.0)
        .width(w)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .include_y(0.0)
        .y_axis_min_width(28.0)
        // frequencies have at most three digits: labels 25 points apart still read (egui_plot's
        // default asks 60, which left a panel 230 points wide with "0" alone)
        .custom_x_axes(vec![
            egui_plot::AxisHints::new_x()
                .label("frequency k")
                .label_spacing(24.0..=32.0),
        ])
        .y_axis_label("norm")
        .show(ui, |pui| pui.bar_chart(BarChart::new("norm", bars)));
    if let Some(text) = key_share_text(s) {
        ui.weak(text);
    }
    // history: frequency x snapshot, each snapshot's norms over its largest
    let snaps = history_snaps(store.all(), s.step, history);
    let freqs = s.spectrum.len();
    if snaps.len() >= 2 && freqs > 0 {
        let shown = snaps.iter().position(|x| x.step == s.step);
        let value = |r: usize, c: usize| -> Option<f64> {
            let sp = &snaps[c].spectrum;
            let max = sp.iter().cloned().fold(0.0, f64::max);
            sp.get(r).map(|v| if max > 0.0 { v / max } else { 0.0 })
        };
        let row_label = |r: usize| (r + 1).to_string();
        let col_label = |c: usize| snaps[c].step.to_string();
        let hover = |r: usize, c: usize| {
            format!(
                "k = {} at step {}{}: {:.3} of that step's largest",
                r + 1,
                snaps[c].step,
                if Some(c) == shown { " (shown)" } else { "" },
                value(r, c).unwrap_or(0.0)
            )
        };
        let spec = HeatmapSpec {
            rows: freqs,
            cols: snaps.len(),
            value: &value,
            row_label: &row_label,
            col_label: &col_label,
            hover: &hover,
            scale: Scale::Sequential { lo: 0.0, hi: 1.0 },
            write_values: false,
            gap_before_col: None,
            diagonal: false,
            max_cell: 8.0,
            square: false,
            marked_col: shown,
            row_title: "k",
            col_title: "snapshot (step)",
        };
        let h = (freqs as f32 * 4.0).clamp(120.0, 260.0) + 40.0;
        heatmap_ui(ui, &spec, vec2(w, h));
    }
}

/// A colour for position `i` of `n` on the cycle (a hue wheel).
fn cycle_color(i: usize, n: usize) -> Color32 {
    egui::ecolor::Hsva::new(i as f32 / n.max(1) as f32, 0.75, 0.95, 1.0).into()
}

/// Residues and their points on a plane, in cycle order.
type Ring = Vec<(usize, [f64; 2])>;

/// The clocks of the first three key frequencies and the embedding's PCA plane, as large as `fit`
/// allows ([`clock_layout`]: two a row, or one row of four where the height is short), each square
/// no wider than `fit.x` shares nor taller than `fit.y` (the height in view, less the section's
/// title) shares, so the four show whole.
fn clock_ui(ui: &mut Ui, s: &InsightSnapshot, fit: Vec2) {
    let keys = &s.keys[..s.keys.len().min(3)];
    let clocks = insight::clocks(s.op, &s.embed, s.p, s.e, keys);
    let pca = insight::embedding_pca(s.op, &s.embed, s.p, s.e);
    let cycle = crate::analysis::fourier::Cycle::for_op(s.op, s.p);
    let w = fit.x.min(ui.available_width());
    clock_key_ui(ui, s.op, &cycle, w);
    let gap = ui.spacing().item_spacing;
    // the section's title above, from the section's top
    let title = ui.cursor().top() - ui.min_rect().top();
    let avail = fit.y - title - gap.y - 12.0;
    let (per_row, side) = clock_layout(figures_count(s), w, avail, gap);
    let mut figures: Vec<(String, Ring)> = clocks
        .iter()
        .map(|c| {
            (
                if cycle.is_half(c.k) {
                    // a line, not a circle: say why, or it reads as a broken clock
                    format!("k = {} = {}/2: a line", c.k, cycle.len())
                } else {
                    format!("k = {}", c.k)
                },
                c.points.iter().map(|p| (p.residue, [p.x, p.y])).collect(),
            )
        })
        .collect();
    figures.push((
        format!(
            "PC1/PC2 ({:.0} % + {:.0} %)",
            pca.explained[0] * 100.0,
            pca.explained[1] * 100.0
        ),
        cycle.residues.iter().map(|&r| (r, pca.coords[r])).collect(),
    ));
    let n = cycle.len();
    let pos_of = |r: usize| cycle.residues.iter().position(|&x| x == r).unwrap_or(0);
    for row in figures.chunks(per_row) {
        ui.horizontal(|ui| {
            for (title, pts) in row {
                ring_ui(ui, title, pts, side, n, &pos_of);
            }
        });
    }
}

/// What the clock's colours say: what a dot's colour is (its place on the cycle, from 0 to n - 1,
/// round the hue wheel) and why the colours go round a ring k times (on frequency k, place i sits at
/// angle 2π·k·i/n, so each next place is k steps of n on). The colours repeated round the rings with
/// nothing saying what they were (a teacher's audit, L8).
#[derive(Clone, Debug, PartialEq)]
struct ClockKey {
    /// "colour: the number a", before the colours' scale.
    what: String,
    /// The last place (the scale runs from 0 to it).
    last: usize,
    /// Why the colours go round k times.
    why: String,
}

fn clock_key(op: crate::config::Operation, cycle: &crate::analysis::fourier::Cycle) -> ClockKey {
    let n = cycle.len();
    let mut order: Vec<String> = cycle
        .residues
        .iter()
        .take(3)
        .map(usize::to_string)
        .collect();
    order.push("…".into());
    let order = order.join(", ");
    let (what, at) = match op {
        crate::config::Operation::Add | crate::config::Operation::Sub => (
            "colour: the number a".to_string(),
            format!("a sits at angle 2π·k·a/{n}"),
        ),
        crate::config::Operation::Mul | crate::config::Operation::Div => {
            let g = cycle.residues.get(1).copied().unwrap_or(1);
            (
                format!("colour: the power i of a = {g}^i"),
                format!("{g}^i sits at angle 2π·k·i/{n}"),
            )
        }
    };
    ClockKey {
        what,
        last: n.saturating_sub(1),
        why: format!(
            "on frequency k, {at}: the grey line through {order} goes round k times, the colours \
             with it"
        ),
    }
}

/// The clock's key above the rings ([`clock_key`]): what the colours are, their scale from 0 to the
/// last place, and why they go round k times; in body type (the presenter's), wrapped to `w`.
fn clock_key_ui(
    ui: &mut Ui,
    op: crate::config::Operation,
    cycle: &crate::analysis::fourier::Cycle,
    w: f32,
) {
    let key = clock_key(op, cycle);
    let n = cycle.len();
    ui.horizontal_wrapped(|ui| {
        ui.set_max_width(w);
        ui.label(RichText::new(key.what).strong());
        ui.label("0");
        // the hue wheel from the cycle's first place to its last, as the dots take it
        let h = ui.text_style_height(&egui::TextStyle::Body);
        let (rect, _) = ui.allocate_exact_size(vec2(h * 6.0, h * 0.7), Sense::hover());
        let mut mesh = Mesh::default();
        let step = rect.width() / n.max(1) as f32;
        for i in 0..n {
            let min = rect.left_top() + vec2(i as f32 * step, 0.0);
            mesh.add_colored_rect(
                Rect::from_min_size(min, vec2(step + 0.5, rect.height())),
                cycle_color(i, n),
            );
        }
        ui.painter().add(Shape::mesh(mesh));
        ui.label(key.last.to_string());
    });
    ui.scope(|ui| {
        ui.set_max_width(w);
        // in the text's colour, not weak: read at half size from the back of a room
        ui.add(egui::Label::new(key.why).wrap());
    });
}

/// The smallest and largest side of a clock's square (points).
const CLOCK_SIDES: std::ops::RangeInclusive<f32> = 80.0..=260.0;

/// How `n` clocks lay out in `w` x `h` points with `gap` between them: how many a row (one, two,
/// or all in one row) and the side of their squares, the largest of the three (two a row unless
/// another is a quarter larger), within [`CLOCK_SIDES`]. A margin of 4 points in the width: a pair
/// that fitted exactly wrapped or not with the rounding of the width (a paused presenter view kept
/// a one-a-row frame until the pointer moved). Before, a column under the spectrum (407 x 217 points) got one row of four
/// squares of 94, titles cut; two a row give 104.
fn clock_layout(n: usize, w: f32, h: f32, gap: Vec2) -> (usize, f32) {
    let n = n.max(1);
    let side_of = |per_row: usize| {
        let rows = n.div_ceil(per_row);
        let by_w = (w - (per_row - 1) as f32 * gap.x - 4.0) / per_row as f32;
        let by_h = (h - (rows - 1) as f32 * gap.y) / rows as f32;
        by_w.min(by_h).floor()
    };
    // two a row unless another layout gives squares a quarter larger: in the window's scrolling
    // column (330 x 700 at 1600 x 900 with the Runs panel) one a row won by 172 to 159 points and
    // stacked the four clocks 700 points tall, two of them below the fold
    let two = (n.min(2), side_of(n.min(2)));
    let mut best = two;
    for per_row in [1, n] {
        let side = side_of(per_row);
        if side > best.1 && side >= 1.25 * two.1 {
            best = (per_row, side);
        }
    }
    (
        best.0,
        best.1.clamp(*CLOCK_SIDES.start(), *CLOCK_SIDES.end()),
    )
}

/// How many rings the clock draws: up to three key frequencies and the principal components.
fn figures_count(s: &InsightSnapshot) -> usize {
    s.keys.len().min(3) + 1
}

/// Points on a plane joined in cycle order, scaled to fit a square; hover names the residue.
fn ring_ui(
    ui: &mut Ui,
    title: &str,
    pts: &[(usize, [f64; 2])],
    side: f32,
    n: usize,
    pos_of: &dyn Fn(usize) -> usize,
) {
    let (rect, resp) = ui.allocate_exact_size(Vec2::splat(side), Sense::hover());
    let painter = ui.painter_at(rect);
    let v = ui.visuals();
    painter.rect_filled(rect, 4.0, v.extreme_bg_color);
    // wrapped to the square: a title wider than it was cut ("k = 48 = 96/2: a li", a teacher's
    // audit); the ring goes under it
    let galley = painter.layout(
        title.to_owned(),
        FontId::proportional(13.0),
        v.text_color(),
        side - 12.0,
    );
    let below = galley.size().y + 8.0;
    painter.galley(rect.left_top() + vec2(6.0, 4.0), galley, v.text_color());
    let r_max = pts
        .iter()
        .map(|(_, p)| p[0].hypot(p[1]))
        .fold(0.0, f64::max);
    let inner = egui::Rect::from_min_max(
        rect.left_top() + vec2(18.0, below.max(18.0)),
        rect.right_bottom() - vec2(18.0, 12.0),
    );
    let c = inner.center();
    let scale = if r_max > 0.0 {
        (inner.width().min(inner.height()) / 2.0) as f64 / r_max
    } else {
        0.0
    };
    let to = |p: [f64; 2]| pos2(c.x + (p[0] * scale) as f32, c.y - (p[1] * scale) as f32);
    let path: Vec<Pos2> = pts.iter().map(|(_, p)| to(*p)).collect();
    painter.add(Shape::line(
        path.clone(),
        Stroke::new(0.7, v.weak_text_color()),
    ));
    let mut hovered = None;
    let pointer = resp.hover_pos();
    for ((res, _), &at) in pts.iter().zip(&path) {
        painter.circle_filled(at, 2.8, cycle_color(pos_of(*res), n));
        if pointer.is_some_and(|q| q.distance(at) < 5.0) {
            hovered = Some(*res);
        }
    }
    if let Some(r) = hovered {
        resp.on_hover_text(format!("residue {r} (position {} on the cycle)", pos_of(r)));
    }
}

/// Colours of the answer grid's cells.
pub fn cell_color(c: Cell) -> Color32 {
    // the figures' colours (`export::insight::cell_rgb`); a pair outside the task in the dark
    // background's grey
    match crate::export::insight::cell_rgb(c) {
        Some([r, g, b]) => Color32::from_rgb(r, g, b),
        None => Color32::from_gray(50),
    }
}

/// The answer grid, its key and accuracies; the whole section (with its title) no larger than `fit`,
/// the panel's width and the height in view, as far as cells of at least a point allow.
fn grid_ui(ui: &mut Ui, s: &InsightSnapshot, split: &[Split], fit: Vec2) {
    if split.len() != s.p * s.p {
        ui.weak("(the split of this run is not known)");
        return;
    }
    let grid = insight::answer_grid(s.op, s.p, &s.predictions, split);
    let pct = |a: insight::Accuracy| {
        a.value()
            .map_or("–".into(), |v| format!("{:.1} %", v * 100.0))
    };
    // each swatch kept with its name where the row wraps (a red swatch once ended one line and
    // "validation wrong" began the next: a helper's audit)
    let key: Vec<KeyEntry> = [
        (Cell::RightTrain, "train right"),
        (Cell::WrongTrain, "train wrong"),
        (Cell::RightVal, "validation right"),
        (Cell::WrongVal, "validation wrong"),
    ]
    .into_iter()
    .map(|(c, text)| KeyEntry::new(text, cell_color(c), Mark::Swatch))
    .collect();
    crate::app::widgets::key::key_rows_body(ui, &key, 1.0);
    ui.label(format!(
        "right: train {} · validation {}",
        pct(grid.train),
        pct(grid.val)
    ));
    let p = s.p;
    // the axis labels as the heatmaps' (body-sized in the presenter view), the grid after them
    let font = crate::app::widgets::heatmap::label_font(ui);
    let (left, top) = (font.size * 1.8, font.size * 1.3);
    // what the section has drawn above (its title, this key and line), from the section's top
    let above = ui.cursor().top() - ui.min_rect().top();
    let by_width = (fit.x - left - 10.0) / p as f32;
    let by_height = (fit.y - above - top - 12.0) / p as f32;
    let cell = by_width.min(by_height).clamp(1.0, 8.0);
    let size = vec2(cell * p as f32 + left + 4.0, cell * p as f32 + top + 4.0);
    // a grid the height holds to less than the width is centred in it (the section keeps its width)
    // (a width without bound, as in a sideways scroll, keeps the grid's own)
    let room = ui.available_width();
    let wide = if room.is_finite() {
        room.max(size.x)
    } else {
        size.x
    };
    let (outer, resp) = ui.allocate_exact_size(vec2(wide, size.y), Sense::hover());
    let rect = Rect::from_min_size(
        outer.left_top() + vec2(((wide - size.x) / 2.0).floor(), 0.0),
        size,
    );
    let origin = rect.left_top() + vec2(left, top);
    let mut mesh = Mesh::default();
    for (i, &c) in grid.cells.iter().enumerate() {
        let (a, b) = (i / p, i % p);
        let min = origin + vec2(b as f32 * cell, a as f32 * cell);
        mesh.add_colored_rect(Rect::from_min_size(min, Vec2::splat(cell)), cell_color(c));
    }
    let painter = ui.painter_at(rect);
    painter.add(Shape::mesh(mesh));
    let weak = ui.visuals().weak_text_color();
    painter.text(
        rect.left_top() + vec2(left, 0.0),
        Align2::LEFT_TOP,
        "b →",
        font.clone(),
        weak,
    );
    painter.text(
        rect.left_top() + vec2(0.0, top),
        Align2::LEFT_TOP,
        "a\n↓",
        font,
        weak,
    );
    if let Some(q) = resp.hover_pos() {
        let (b, a) = (
            ((q.x - origin.x) / cell).floor(),
            ((q.y - origin.y) / cell).floor(),
        );
        if a >= 0.0 && b >= 0.0 && (a as usize) < p && (b as usize) < p {
            let (a, b) = (a as usize, b as usize);
            let i = a * p + b;
            let want = crate::data::modular::apply(s.op, a as u32, b as u32, p as u32);
            let what = match grid.cells[i] {
                Cell::RightTrain => "training pair, right",
                Cell::WrongTrain => "training pair, wrong",
                Cell::RightVal => "validation pair, right",
                Cell::WrongVal => "validation pair, wrong",
                Cell::NotInTask => "not in the task",
            };
            resp.on_hover_text(format!(
                "a = {a}, b = {b}: answer {want}, model says {}\n{what}",
                s.predictions[i]
            ));
        }
    }
}

fn neurons_ui(ui: &mut Ui, s: &InsightSnapshot, w: f32) {
    let Some(nf) = &s.neurons else {
        ui.weak("The transformer's neurons are not shown (its hidden layer reads more than one residue).");
        return;
    };
    let f = nf.frequencies;
    let row = |j: usize| &nf.share[j * f..][..f];
    // neurons sorted by their strongest frequency, then by its share (as the exported figure)
    let order = crate::export::insight::neuron_order(nf);
    let value = |r: usize, c: usize| Some(row(order[r])[c] as f64);
    let row_label = |r: usize| order[r].to_string();
    let col_label = |c: usize| (c + 1).to_string();
    let hover = |r: usize, c: usize| {
        format!(
            "neuron {}: {:.1} % of its input weight's power at k = {}",
            order[r],
            row(order[r])[c] * 100.0,
            c + 1
        )
    };
    let spec = HeatmapSpec {
        rows: nf.neurons,
        cols: f,
        value: &value,
        row_label: &row_label,
        col_label: &col_label,
        hover: &hover,
        scale: Scale::Sequential { lo: 0.0, hi: 1.0 },
        write_values: false,
        gap_before_col: None,
        diagonal: false,
        max_cell: 6.0,
        square: false,
        marked_col: None,
        row_title: "neuron",
        col_title: "frequency k",
    };
    let h = (nf.neurons as f32 * 2.0).clamp(160.0, 320.0) + 40.0;
    heatmap_ui(ui, &spec, vec2(w, h));
}

/// The shown snapshot's ablation beside the model's own validation loss at its step (`val`, when
/// logged there), and which keys the loss plot's curves use (`final_keys`: the final model's, once
/// computed).
fn ablation_ui(
    ui: &mut Ui,
    s: &InsightSnapshot,
    val: Option<f64>,
    final_keys: &[usize],
    own_keys: &mut bool,
) {
    match &s.ablation {
        Some(ab) => {
            let fmt = |x: Option<crate::analysis::ablation::LossAccuracy>| {
                x.map_or("–".into(), |l| {
                    format!(
                        "loss {}, accuracy {:.1} %",
                        loss_text(l.loss),
                        l.accuracy * 100.0
                    )
                })
            };
            // the shown step's own keys, said as such: beside the final model's (below) they once
            // read as two answers to one question (a helper's lesson audit)
            ui.label(format!(
                "key frequencies at step {}: k = {}",
                s.step,
                join(&ab.keys)
            ));
            if let Some(v) = val {
                ui.label(format!(
                    "the whole model (validation): loss {}",
                    loss_text(v)
                ));
            }
            ui.label(format!(
                "only these kept (validation): {}",
                fmt(ab.restricted)
            ));
            ui.label(format!(
                "every frequency kept (validation): {}",
                fmt(ab.every_frequency)
            ))
            .on_hover_text(
                "All of the hidden layer that depends on the answer alone: what the restricted loss \
                 would be were every frequency a key.",
            );
            if let Some(why) = keys_too_few(ab, val) {
                ui.weak(why);
            }
            ui.label(format!("these removed (train): {}", fmt(ab.excluded)));
            if final_keys.is_empty() {
                ui.weak("Both curves are in the loss plot; each point uses the key frequencies found at its own step (the final model's follow once the run has ended).");
            } else {
                ui.label("curves in the loss plot:");
                ui.radio_value(
                    own_keys,
                    false,
                    format!("final model's keys (k = {})", join(final_keys)),
                )
                .on_hover_text("As Nanda et al.: every kept step ablated with the key frequencies of the final model");
                ui.radio_value(own_keys, true, "each snapshot's own keys");
            }
        }
        None => {
            ui.weak("No hidden layer to ablate in this snapshot.");
        }
    }
}

/// Said when the keys keep clearly less than every frequency does (twice the loss or more): the model
/// still uses other frequencies, and when the restricted loss lies above the validation loss `val`,
/// that is why. Measured on the CPU transformer preset run past its early stop to epoch 4000:
/// restricted 0.0054, every frequency 0.00056, validation about 0.0007; the gap is the frequencies
/// besides the keys, not keeping a function of the answer alone. (On the fast MLP at its early stop
/// the keys leave 6.7 times every frequency's loss, yet the restricted loss is below the validation
/// loss: nothing is said of the latter then.)
fn keys_too_few(
    ab: &crate::analysis::ablation::AblationLosses,
    val: Option<f64>,
) -> Option<String> {
    let (r, e) = (ab.restricted?.loss, ab.every_frequency?.loss);
    (e > 0.0 && r >= 2.0 * e).then(|| {
        let mut said = format!(
            "The keys alone leave {:.1} times the loss of every frequency: the model still uses \
             other frequencies too.",
            r / e
        );
        if val.is_some_and(|v| r > v) {
            said.push_str(" That is why the restricted loss lies above the validation loss here.");
        }
        said
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Said from a ratio of two (the transformer's 0.0054 / 0.00056 = 9.7 is; 1.1 is not) and never
    /// without both losses; the validation loss named only when the restricted loss is above it.
    #[test]
    fn the_keys_are_said_too_few_from_twice_the_loss() {
        use crate::analysis::ablation::{AblationLosses, LossAccuracy};
        let ab = |r: f64, e: Option<f64>| AblationLosses {
            keys: vec![9, 13],
            restricted: Some(LossAccuracy {
                loss: r,
                accuracy: 1.0,
            }),
            every_frequency: e.map(|loss| LossAccuracy {
                loss,
                accuracy: 1.0,
            }),
            excluded: None,
        };
        let said = keys_too_few(&ab(0.0053657, Some(0.00055523)), Some(0.0007)).unwrap();
        assert!(said.contains("9.7 times"), "{said}");
        assert!(said.contains("above the validation loss here"), "{said}");
        // the fast MLP at its early stop: restricted 0.100 below validation 0.15, said without it
        let below = keys_too_few(&ab(0.100, Some(0.015)), Some(0.15)).unwrap();
        assert!(below.contains("6.7 times"), "{below}");
        assert!(!below.contains("validation"), "{below}");
        assert!(
            !keys_too_few(&ab(0.0053657, Some(0.00055523)), None)
                .unwrap()
                .contains("validation")
        );
        assert_eq!(keys_too_few(&ab(0.0011, Some(0.001)), Some(0.0005)), None);
        assert_eq!(keys_too_few(&ab(0.5, None), Some(0.1)), None);
    }

    /// The clock's key names what the colours are and why they go round k times. Expected from
    /// [`crate::analysis::fourier::Cycle`]: mod 7 the additive cycle is 0, 1, 2, … (6 last); the
    /// multiplicative one runs over powers of the smallest primitive root, 3 (3^0 = 1, 3^1 = 3,
    /// 3^2 = 9 = 2 mod 7; 5 last, as p - 1 = 6 places).
    #[test]
    fn the_clock_key_says_what_the_colours_are() {
        use crate::analysis::fourier::Cycle;
        use crate::config::Operation;
        let add = clock_key(Operation::Add, &Cycle::for_op(Operation::Add, 7));
        assert_eq!(add.what, "colour: the number a");
        assert_eq!(add.last, 6);
        assert!(add.why.contains("2π·k·a/7"), "{}", add.why);
        assert!(add.why.contains("0, 1, 2, …"), "{}", add.why);
        let div = clock_key(Operation::Div, &Cycle::for_op(Operation::Div, 7));
        assert_eq!(div.what, "colour: the power i of a = 3^i");
        assert_eq!(div.last, 5);
        assert!(div.why.contains("2π·k·i/6"), "{}", div.why);
        assert!(div.why.contains("1, 3, 2, …"), "{}", div.why);
    }

    /// Expected sides worked by hand from [`clock_layout`]'s rule (gap 8 x 3, 4 points of margin).
    #[test]
    fn the_clocks_take_the_layout_that_makes_them_largest() {
        let gap = vec2(8.0, 3.0);
        // a presenter's column under the spectrum (407 x 217): two a row of min((407-8-4)/2,
        // (217-3)/2) = 107, not one row of four of (407-24-4)/4 = 94 (the audit's thumbnails)
        assert_eq!(clock_layout(4, 407.0, 217.0, gap), (2, 107.0));
        // the column alone (407 x 393): two a row, min(197.5, 195) = 195
        assert_eq!(clock_layout(4, 407.0, 393.0, gap), (2, 195.0));
        // wide and short (900 x 200): one row of four, min(218, 200) = 200 (two a row: 98)
        assert_eq!(clock_layout(4, 900.0, 200.0, gap), (4, 200.0));
        // three clocks in a tall narrow column (200 x 900): one a row, min(196, 298) = 196 (two
        // a row: min(94, 448.5) = 94)
        assert_eq!(clock_layout(3, 200.0, 900.0, gap), (1, 196.0));
        // no room: the smallest side, two a row; a huge screen: the largest
        assert_eq!(clock_layout(4, 100.0, 100.0, gap), (2, 80.0));
        assert_eq!(clock_layout(4, 2000.0, 2000.0, gap), (2, 260.0));
        // one clock alone: one a row
        assert_eq!(clock_layout(1, 300.0, 300.0, gap), (1, 260.0));
        // the window's column (330 x 700): two a row of min((330-8-4)/2, (700-3)/2) = 159, not one
        // a row of min(326, (700-9)/4) = 172, under a quarter larger and twice as tall
        assert_eq!(clock_layout(4, 330.0, 700.0, gap), (2, 159.0));
    }

    fn snapshot(spectrum: Vec<f64>, keys: Vec<usize>) -> InsightSnapshot {
        InsightSnapshot {
            step: 0,
            epoch: 0,
            op: crate::config::Operation::Add,
            p: 9,
            e: 1,
            embed: vec![0.0; 9],
            spectrum,
            keys,
            predictions: vec![],
            neurons: None,
            ablation: None,
        }
    }

    /// By hand: norms 3, 4, 0, 0 with key k = 2 hold 4² / (3² + 4²) = 64 % of the power; one of four
    /// frequencies of a flat spectrum would hold 25 %.
    #[test]
    fn the_key_share_is_said_against_a_flat_spectrum() {
        let s = snapshot(vec![3.0, 4.0, 0.0, 0.0], vec![2]);
        assert_eq!(
            key_share_text(&s).as_deref(),
            Some("the key frequency holds 64 % of the power (of a flat spectrum: 25 %)")
        );
        // three of six, evenly: half
        let s = snapshot(vec![1.0; 6], vec![1, 2, 3]);
        assert_eq!(
            key_share_text(&s).as_deref(),
            Some("the 3 key frequencies hold 50 % of the power (of a flat spectrum: 50 %)")
        );
        assert_eq!(key_share_text(&snapshot(vec![1.0, 1.0], vec![])), None);
    }

    /// In a lesson the spectrum's history stops at the step shown: scrubbed back to step 200 of a
    /// run snapshotted at 0, 100, 200, 300, the room saw the frequencies of step 300 (a helper's
    /// teaching audit). Elsewhere it shows them all, the shown one marked.
    #[test]
    fn a_lessons_spectrum_history_stops_at_the_step_shown() {
        let all: Vec<InsightSnapshot> = [0, 100, 200, 300]
            .into_iter()
            .map(|step| InsightSnapshot {
                step,
                ..snapshot(vec![1.0], vec![])
            })
            .collect();
        let steps =
            |h| -> Vec<u64> { history_snaps(&all, 200, h).iter().map(|s| s.step).collect() };
        assert_eq!(steps(History::UpToShown), [0, 100, 200]);
        assert_eq!(steps(History::Whole), [0, 100, 200, 300]);
        assert!(steps(History::Off).is_empty());
    }
}
