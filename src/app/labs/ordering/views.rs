//! The Ordering lab's panel and centre: a single run (linked MSE / D / measured sparsity plots, the
//! neuron-ordering graph and the permuted weight heatmap of a snapshot chosen with a scrub slider),
//! or a study (D against nominal sparsity per scheme with min-max bands, or the grid of mean D).

use super::{OrderingPreset, StudyDraft};
use crate::app::actions::Action;
use crate::app::teach::panels::PanelState;
use crate::app::widgets::form::{
    error_color, live_badge, preset_picker_ui, row, sci_value, section,
};
use crate::app::widgets::graph::{INPUT_FILL, LayerGraph, OUTPUT_FILL};
use crate::app::widgets::heatmap::{HeatmapSpec, Scale, heatmap_ui};
use crate::app::widgets::key::{KeyEntry, Mark, key_rows_toggling};
use crate::app::widgets::plots::{PlotSpec, PlotView, YScale, hover_parts, plots_ui};
use crate::app::widgets::{NEGATIVE, POSITIVE, StepKey, step_keys};
use crate::config::FieldProblem;
use crate::config::OrderingConfig;
use crate::config::ordering::{OrderingTask, Pruning, Scheme, StudyKind};
use crate::export::layer::{WEIGHT_QUANTITY, drawn_share_text, over_null_text, snapshot_text};
use crate::protocol::{HyperChange, LayerSnapshot, Metric};
use crate::store::ordering_layout;
use crate::store::{OrderingHistory, StudyHistory};
use eframe::egui::{self, Color32, DragValue, RichText, Ui, vec2};
use egui_plot::{FilledArea, HLine, Line, Plot, PlotPoints, Points};

/// The single run's plots, top to bottom, on a shared step axis; their ids are the panel keys a
/// lesson shows or hides one of them by.
pub const ORDERING_PLOTS: [PlotSpec; 3] = [
    PlotSpec {
        id: "mse",
        y_label: "MSE",
        short_label: "MSE",
        series: &[Metric::Mse],
        y_scale: YScale::Log,
        height_share: 0.34,
        legend: None,
    },
    PlotSpec {
        id: "orderedness",
        y_label: "orderedness D",
        short_label: "D",
        // the null beside D: how ordered the same weights are at random places (drawn first, so
        // that D, the run's own measure, lies over its noisier line)
        series: &[Metric::OrderednessNull, Metric::Orderedness],
        y_scale: YScale::Orderedness,
        height_share: 0.33,
        legend: Some(egui_plot::Corner::LeftTop),
    },
    PlotSpec {
        id: "sparsity",
        y_label: "measured sparsity",
        short_label: "measured sparsity",
        series: &[Metric::Sparsity],
        y_scale: YScale::Unit,
        height_share: 0.33,
        legend: None,
    },
];

/// What the centre shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CentreMode {
    /// The single run.
    Run,
    /// The study.
    Study,
}

/// The centre's state between frames (not part of any run).
#[derive(Debug)]
pub struct OrderingView {
    mode: CentreMode,
    plots: PlotView,
    /// Follow the newest snapshot.
    live: bool,
    /// Index of the snapshot shown when not live.
    selected: usize,
    graph: LayerGraph,
    /// The study plot's entries hidden by a click on their key (by name).
    study_hidden: std::collections::BTreeSet<String>,
}

impl OrderingView {
    /// Show the snapshot nearest before `step` (`None`: follow the newest again).
    pub fn set_cursor(&mut self, step: Option<u64>, history: &OrderingHistory) {
        match step {
            None => self.live = true,
            Some(step) => {
                let snaps = history.snapshots();
                self.selected = snaps.iter().rposition(|s| s.step <= step).unwrap_or(0);
                self.live = false;
            }
        }
    }

    /// The step of the snapshot shown when not following the newest.
    pub fn cursor(&self, history: &OrderingHistory) -> Option<u64> {
        if self.live {
            return None;
        }
        history.snapshots().get(self.selected).map(|s| s.step)
    }
}

impl Default for OrderingView {
    fn default() -> Self {
        Self {
            mode: CentreMode::Run,
            plots: PlotView::new(&ORDERING_PLOTS),
            live: true,
            selected: 0,
            graph: {
                let mut g = LayerGraph::default();
                // the picture: inputs first, outputs last
                g.set_outputs_last(true);
                g
            },
            study_hidden: Default::default(),
        }
    }
}

impl OrderingView {
    pub fn mode(&self) -> CentreMode {
        self.mode
    }

    /// The neuron-ordering graph's layout (its "outputs last" option).
    pub fn graph_mut(&mut self) -> &mut LayerGraph {
        &mut self.graph
    }

    pub fn graph(&self) -> &LayerGraph {
        &self.graph
    }

    /// Whether the newest snapshot is followed.
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// Index of the snapshot shown (as of the last frame).
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// The snapshot the single-run view shows (the newest when live, else the scrubber's) and
    /// whether its graph draws the outputs last; `None` in the study view or before a snapshot.
    pub fn shown_layer<'a>(
        &self,
        history: &'a OrderingHistory,
    ) -> Option<(&'a LayerSnapshot, bool)> {
        let snapshots = history.snapshots();
        let last = snapshots.len().checked_sub(1)?;
        let i = if self.live {
            last
        } else {
            self.selected.min(last)
        };
        match self.mode {
            CentreMode::Run => snapshots.get(i).map(|s| (s, self.graph.outputs_last())),
            CentreMode::Study => None,
        }
    }

    /// The study plot's entries hidden by a click on the key above it (by the key's names).
    pub fn study_hidden(&self) -> &std::collections::BTreeSet<String> {
        &self.study_hidden
    }

    /// A single run began: show it, live, from its start.
    pub fn run_started(&mut self) {
        self.mode = CentreMode::Run;
        self.live = true;
        self.selected = 0;
        self.graph.reset();
        self.plots.follow_latest();
    }

    /// A study began: show it.
    pub fn study_started(&mut self) {
        self.mode = CentreMode::Study;
    }

    pub fn reset(&mut self) {
        self.run_started();
    }
}

/// What the panel needs besides the drafts it edits.
pub struct OrderingPanel<'a> {
    pub presets: &'a [OrderingPreset],
    pub preset: usize,
    /// A run or study is active: only live settings may change.
    pub run_active: bool,
    pub problems: &'a [FieldProblem],
}

/// The left panel: presets, the run's settings, pruning, and the study section.
pub fn config_ui(
    ui: &mut Ui,
    cfg: &mut OrderingConfig,
    study: &mut StudyDraft,
    panel: &OrderingPanel<'_>,
) -> Action {
    let mut action = Action::None;
    ui.add_space(4.0);
    ui.heading("Ordering lab");
    ui.label(
        RichText::new("a complete layer learns while it is pruned: does it become a DAG?")
            .small()
            .weak(),
    );
    ui.add_space(4.0);
    ui.add_enabled_ui(!panel.run_active, |ui| {
        action = preset_ui(ui, cfg, panel);
    });
    crate::app::widgets::form::run_state_line(ui, panel.run_active);
    ui.separator();
    let problems = panel.problems;
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.add_enabled_ui(!panel.run_active, |ui| {
                section(ui, "Task and layer", |ui| task_ui(ui, cfg, problems));
            });
            section(ui, "Training", |ui| {
                action = action.clone().or(training_ui(ui, cfg, panel));
            });
            ui.add_enabled_ui(!panel.run_active, |ui| {
                section(ui, "Pruning", |ui| pruning_ui(ui, cfg, problems));
                action = action.clone().or(study_ui(ui, study, cfg, problems));
            });
            if !problems.is_empty() {
                ui.add_space(6.0);
                ui.label(RichText::new("Problems").strong().color(error_color(ui)));
                for p in problems {
                    ui.label(
                        RichText::new(format!("{}: {}", p.field, p.message)).color(error_color(ui)),
                    );
                }
            }
        });
    action
}

fn preset_ui(ui: &mut Ui, cfg: &OrderingConfig, panel: &OrderingPanel<'_>) -> Action {
    let edited = panel
        .presets
        .get(panel.preset)
        .is_some_and(|p| p.config != *cfg);
    let items: Vec<(&str, &str)> = panel
        .presets
        .iter()
        .map(|p| (p.title, p.description))
        .collect();
    preset_picker_ui(ui, "ordering_preset", &items, panel.preset, edited)
}

fn task_ui(ui: &mut Ui, cfg: &mut OrderingConfig, problems: &[FieldProblem]) {
    row(ui, "task", "task", problems, |ui| {
        let mut task = cfg.task;
        let help = "A switch sets epochs and batch size to the task's (they count its 4 or 150 \
                    points), and H where it is still the other task's default; iterations, \
                    learning rate, pruning and seed are kept";
        let a = ui.radio_value(&mut task, OrderingTask::Xor, "XOR");
        let b = ui.radio_value(&mut task, OrderingTask::Sine, "sine");
        if task != cfg.task {
            *cfg = cfg.with_task(task).0;
        }
        (a | b).on_hover_text(help)
    });
    row(ui, "hidden H", "hidden", problems, |ui| {
        ui.add(DragValue::new(&mut cfg.hidden).speed(0.1))
    });
    row(ui, "iterations", "its", problems, |ui| {
        ui.add(DragValue::new(&mut cfg.its).speed(0.1))
    });
    let (inputs, outputs) = (2, 1);
    let n = cfg.hidden + outputs;
    ui.label("W");
    ui.label(RichText::new(format!("{n} x {} ({} weights)", n + inputs, n * (n + inputs))).weak())
        .on_hover_text("Rows: receivers (outputs, then hidden); columns: the same neurons as senders, then the inputs");
    ui.end_row();
}

fn training_ui(ui: &mut Ui, cfg: &mut OrderingConfig, panel: &OrderingPanel<'_>) -> Action {
    let problems = panel.problems;
    let locked = panel.run_active;
    row(ui, "epochs", "epochs", problems, |ui| {
        ui.add_enabled(!locked, DragValue::new(&mut cfg.epochs).speed(5.0))
    });
    let points = cfg.task.examples();
    row(ui, "batch size", "batch_size", problems, |ui| {
        let r = ui.add_enabled(!locked, DragValue::new(&mut cfg.batch_size).speed(0.2));
        ui.label(RichText::new(format!("of {points} points")).weak());
        r
    });
    let before = cfg.lr;
    let r = row(ui, "learning rate", "lr", problems, |ui| {
        let r = ui.add(sci_value(&mut cfg.lr));
        live_badge(ui);
        r
    });
    let committed = (r.changed() && !r.dragged()) || r.drag_stopped();
    let action = if panel.run_active && committed && (cfg.lr != before || r.drag_stopped()) {
        Action::Change(HyperChange::Lr(cfg.lr))
    } else {
        Action::None
    };
    row(ui, "seed", "seed", problems, |ui| {
        ui.add_enabled(!locked, DragValue::new(&mut cfg.seed).speed(0.2))
    });
    action
}

/// The parameter of a pruning, by name: p, k or f.
fn pruning_param(p: &mut Pruning) -> Option<(&'static str, &'static str, &mut f64)> {
    match p {
        Pruning::None => None,
        Pruning::Random { p } => Some(("p", "pruning.p", p)),
        Pruning::TopK { k } | Pruning::DynamicTopK { k } => Some(("k", "pruning.k", k)),
        Pruning::TriuDamp { f } | Pruning::DynamicTriuDamp { f } => Some(("f", "pruning.f", f)),
    }
}

fn pruning_help(s: Scheme) -> &'static str {
    match s {
        Scheme::None => "No pruning: the baseline.",
        Scheme::Random => "A fixed mask drawn once: each weight zeroed with probability p.",
        Scheme::TopK => "Keep the ⌊k·numel⌋ largest |w|, reselected after every step.",
        Scheme::DynamicTopK => {
            "Top-k whose k falls from 1 to k over training: k' = 1 − (1 − k)·sin⁴(πx/2)."
        }
        Scheme::TriuDamp => {
            "Multiply the strictly lower-triangular entries (raw index order) by 1 − f: imposes one fixed order."
        }
        Scheme::DynamicTriuDamp => "Triu-damp with f' = f·sin⁴(πx/2) over training.",
    }
}

fn pruning_ui(ui: &mut Ui, cfg: &mut OrderingConfig, problems: &[FieldProblem]) {
    let scheme = cfg.pruning.scheme();
    row(ui, "scheme", "pruning", problems, |ui| {
        let mut chosen = scheme;
        let r = egui::ComboBox::from_id_salt("ordering_scheme")
            .selected_text(scheme.to_string())
            .show_ui(ui, |ui| {
                for s in Scheme::ALL {
                    ui.selectable_value(&mut chosen, s, s.to_string())
                        .on_hover_text(pruning_help(s));
                }
            })
            .response
            .on_hover_text(pruning_help(scheme));
        if chosen != scheme {
            let s = match cfg.pruning.sparsity() {
                s if s > 0.0 && s < 1.0 => s,
                _ => 0.5,
            };
            cfg.pruning = chosen.at_sparsity(s);
        }
        r
    });
    if let Some((name, field, value)) = pruning_param(&mut cfg.pruning) {
        row(ui, name, field, problems, |ui| {
            ui.add(
                DragValue::new(value)
                    .speed(0.005)
                    .range(0.0..=1.0)
                    .max_decimals(3),
            )
        });
    }
    ui.label("nominal sparsity");
    ui.label(RichText::new(format!("{:.2}", cfg.pruning.sparsity())).weak())
        .on_hover_text(
            "The setting's nominal sparsity: p, 1 − k or f (the study's axis). The run's plot \
             shows the measured sparsity, the share of W at 0: near the nominal one for random \
             and top-k once pruned, not for triu-damp, which damps weights and zeroes them only \
             at f = 1",
        );
    ui.end_row();
}

fn study_ui(
    ui: &mut Ui,
    study: &mut StudyDraft,
    base: &OrderingConfig,
    problems: &[FieldProblem],
) -> Action {
    let mut action = Action::None;
    egui::CollapsingHeader::new(RichText::new("Study").strong())
        .default_open(true)
        .show(ui, |ui| {
            egui::Grid::new("ordering_study")
                .num_columns(2)
                .spacing([10.0, 4.0])
                .show(ui, |ui| study_rows_ui(ui, study, base, problems));
            if study.kind == StudyKind::Sparsity {
                ui.label("schemes (the unpruned baseline always runs)");
                ui.horizontal_wrapped(|ui| {
                    for s in Scheme::ALL.into_iter().filter(|s| *s != Scheme::None) {
                        let mut on = study.schemes.contains(&s);
                        if ui
                            .checkbox(&mut on, s.to_string())
                            .on_hover_text(pruning_help(s))
                            .changed()
                        {
                            if on {
                                study.schemes.push(s);
                                study.schemes.sort();
                            } else {
                                study.schemes.retain(|x| *x != s);
                            }
                        }
                    }
                });
            }
            ui.add_space(4.0);
            if ui
                .button("▶ Start study")
                .on_hover_text(
                    "Run every setting on the lab's worker, in parallel; results fill in live",
                )
                .clicked()
            {
                action = Action::StartStudy;
            }
        });
    action
}

fn study_rows_ui(
    ui: &mut Ui,
    study: &mut StudyDraft,
    base: &OrderingConfig,
    problems: &[FieldProblem],
) {
    row(ui, "kind", "kind", problems, |ui| {
        let a = ui
            .radio_value(&mut study.kind, StudyKind::Sparsity, "sparsity")
            .on_hover_text(
                "D against nominal sparsity 0.1 … 0.9 (p, 1 − k or f) for each scheme, with the \
                 unpruned baseline",
            );
        let b = ui
            .radio_value(&mut study.kind, StudyKind::Grid, "grid")
            .on_hover_text("Mean D of unpruned runs over H ∈ {1,3,5,7,9} × iterations 1 … 10");
        a | b
    });
    row(ui, "runs per setting", "runs", problems, |ui| {
        ui.add(DragValue::new(&mut study.runs).speed(0.1))
    });
    row(ui, "threads", "threads", problems, |ui| {
        let r = ui.add(DragValue::new(&mut study.threads).speed(0.05));
        ui.label(RichText::new("0 = one per core").weak());
        r
    });
    ui.label("runs in all");
    let total = study.config(base).total_runs();
    ui.label(RichText::new(total.to_string()).weak());
    ui.end_row();
}

/// The centre of the tab.
pub fn centre_ui(
    ui: &mut Ui,
    view: &mut OrderingView,
    history: &OrderingHistory,
    study: &StudyHistory,
    panels: &mut PanelState,
) {
    ui.horizontal(|ui| {
        ui.selectable_value(&mut view.mode, CentreMode::Run, "Single run");
        ui.selectable_value(&mut view.mode, CentreMode::Study, "Study");
    });
    ui.separator();
    match view.mode {
        CentreMode::Run => run_ui(ui, view, history, panels),
        CentreMode::Study => study_results_ui(ui, study, &mut view.study_hidden),
    }
}

fn run_ui(
    ui: &mut Ui,
    view: &mut OrderingView,
    history: &OrderingHistory,
    panels: &mut PanelState,
) {
    let snapshots = history.snapshots();
    let count = snapshots.len();
    if view.live || view.selected >= count {
        view.selected = count.saturating_sub(1);
    }
    let shown = snapshots.get(view.selected);
    view.plots.cursor = shown.filter(|_| !view.live).map(|s| s.step);

    // a lesson may hide single rows of the plots (those left share the height); hiding them all
    // hides the plots
    view.plots.hidden_rows = ORDERING_PLOTS
        .iter()
        .map(|spec| spec.id)
        .filter(|id| !panels.shown(id))
        .collect();
    view.plots.row_rects.clear();
    let plots_shown = panels.shown("plots") && view.plots.hidden_rows.len() < ORDERING_PLOTS.len();
    let total_w = ui.available_width();
    let total_h = ui.available_height();
    // with the graph and the heatmap hidden the plots take most of the width (the snapshot's
    // slider and read-out keep the rest)
    let share = if panels.shown("graph") || panels.shown("heatmap") {
        0.4
    } else {
        0.68
    };
    let plots_w = (total_w * share).max(240.0);
    ui.horizontal_top(|ui| {
        if plots_shown {
            let r = ui.allocate_ui_with_layout(
                vec2(plots_w, total_h),
                egui::Layout::top_down(egui::Align::Min),
                |ui| {
                    ui.set_min_size(vec2(plots_w, total_h));
                    plots_ui(ui, &mut view.plots, history.metrics());
                },
            );
            panels.drawn("plots", r.response.rect);
            for &(id, rect) in &view.plots.row_rects {
                panels.drawn(id, rect);
            }
            ui.separator();
        }
        ui.vertical(|ui| {
            scrub_ui(ui, view, history);
            match shown {
                Some(s) => {
                    // the null measured at the snapshot's step (D's own line has it too)
                    let null = history
                        .metrics()
                        .series(Metric::OrderednessNull)
                        .iter()
                        .find(|p| p.step == s.step)
                        .map(|p| p.value);
                    layer_ui(ui, &mut view.graph, s, null, panels)
                }
                None => {
                    let text = match history.metrics().series(Metric::Orderedness).last() {
                        Some(p) => format!("D = {:.2} · no snapshot yet", p.value),
                        None => "no snapshot yet: the layer appears here while it trains".into(),
                    };
                    ui.label(RichText::new(text).weak());
                }
            }
        });
    });
}

fn scrub_ui(ui: &mut Ui, view: &mut OrderingView, history: &OrderingHistory) {
    let snapshots = history.snapshots();
    let count = snapshots.len();
    let readout = snapshots.get(view.selected).map(|s| {
        let of = history
            .config()
            .zip(history.steps_per_epoch())
            .map_or(history.latest().map_or(s.step, |l| l.0), |(c, spe)| {
                c.epochs.saturating_mul(spe)
            });
        format!("step {} of {of} · {} of {count}", s.step, view.selected + 1)
    });
    // the read-out's width: beside the slider where the line holds both, else under it
    let font = egui::TextStyle::Monospace.resolve(ui.style());
    let readout_width = readout.as_ref().map_or(0.0, |t| {
        ui.painter()
            .layout_no_wrap(t.clone(), font, egui::Color32::PLACEHOLDER)
            .size()
            .x
    });
    // the label, the toggle and the narrowest slider take about 300 points
    let one_line = ui.available_width() >= readout_width + 300.0;
    let mut readout =
        readout.map(|text| egui::Label::new(RichText::new(text).monospace()).extend());
    ui.horizontal(|ui| {
        let label = ui.label("snapshot");
        // the toggle and the read-out from the right; the slider takes the room between
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if one_line && let Some(text) = readout.take() {
                ui.add(text);
            }
            ui.checkbox(&mut view.live, "live view")
                .on_hover_text("Follow the newest snapshot while the run trains");
            ui.spacing_mut().slider_width = (ui.available_width() - 4.0).clamp(40.0, 420.0);
            let mut index = view.selected;
            let slider = egui::Slider::new(&mut index, 0..=count.saturating_sub(1))
                .show_value(false)
                .integer();
            let r = ui.add_enabled(count > 1, slider).labelled_by(label.id);
            if r.changed() && index != view.selected {
                view.selected = index.min(count.saturating_sub(1));
                view.live = false;
            }
        });
        let at = view.selected.min(count.saturating_sub(1));
        match step_keys(ui) {
            StepKey::Back if at > 0 => {
                view.selected = at - 1;
                view.live = false;
            }
            StepKey::On if at + 1 < count => {
                view.selected = at + 1;
                view.live = false;
            }
            StepKey::Latest => view.live = true,
            StepKey::Back | StepKey::On | StepKey::None => {}
        }
    });
    if let Some(text) = readout {
        ui.add(text);
    }
}

/// The graph and the heatmap of one snapshot.
fn layer_ui(
    ui: &mut Ui,
    graph: &mut LayerGraph,
    s: &LayerSnapshot,
    null: Option<f64>,
    panels: &mut PanelState,
) {
    ui.label(RichText::new(snapshot_text(s)).strong().size(15.0))
        .on_hover_text(
            "D = 1 − (weight of backward edges in the best order) / (all weight); \
             exact: the true minimum; heuristic: an upper bound on it",
        );
    if let Some(null) = null.filter(|n| n.is_finite() && s.d.is_finite()) {
        ui.label(over_null_text(s.d, null)).on_hover_text(
            "The grey dashed line under D: the D of the same weights put at random places, as \
             sparse as the run's. The Study tab runs many seeds and sparsities to tell the two apart.",
        );
    }
    if panels.shown("graph") {
        let alone = !panels.shown("heatmap");
        let r = ui.scope(|ui| graph_ui(ui, graph, s, alone));
        panels.drawn("graph", r.response.rect);
    } else {
        // the heatmap's order is the graph's
        graph.sync(s, ui.input(|i| i.time));
    }
    if !panels.shown("heatmap") {
        return;
    }
    let r = ui.scope(|ui| heat_ui(ui, graph, s));
    panels.drawn("heatmap", r.response.rect);
}

/// The neuron-ordering graph and its key; `alone`: the heatmap is hidden, and the graph takes the
/// height its toggle row and key leave (its arcs grow with it), else a share beside the heatmap.
fn graph_ui(ui: &mut Ui, graph: &mut LayerGraph, s: &LayerSnapshot, alone: bool) {
    let w = ui.available_width();
    let h = ui.available_height();
    let line = ui.text_style_height(&egui::TextStyle::Body);
    let graph_h = if alone {
        // the toggle row and up to two lines of key, with their spacing
        (h - 5.0 * line).clamp(120.0, 560.0)
    } else {
        (h * 0.42).clamp(120.0, 320.0)
    };
    ui.horizontal(|ui| {
        let mut last = graph.outputs_last();
        ui.checkbox(&mut last, "outputs last").on_hover_text(
            "Draw the outputs at the end of the line, as the paper draws the net. D is still that of the \
             best order; the arcs below the line are then the backward edges of the drawn order.",
        );
        graph.set_outputs_last(last);
        // lay out this snapshot now, so the share below is of the order drawn this frame
        graph.sync(s, ui.input(|i| i.time));
        if last {
            let share = graph.drawn_backward_share(s);
            let style = crate::app::widgets::plots::legend_text_style(ui.ctx());
            ui.label(
                RichText::new(drawn_share_text(share, s.d))
                    .text_style(style)
                    .weak(),
            );
        }
    });
    graph.ui(ui, s, vec2(w, graph_h));
    legend_ui(ui, graph.edge_counts(), graph.outputs_last());
}

/// The weights as a heatmap, rows and senders in the graph's order.
fn heat_ui(ui: &mut Ui, graph: &LayerGraph, s: &LayerSnapshot) {
    let n = s.hidden + s.outputs;
    let cols = n + s.inputs;
    let order = graph.heat_order();
    let max_abs = ordering_layout::heat_max_abs(s);
    let sender = |c: usize| ordering_layout::heat_sender(order, c);
    let entry = |r: usize, c: usize| order[r] * cols + sender(c);
    let pruned = |e: usize| ordering_layout::is_pruned(s, e);
    let value = |r: usize, c: usize| ordering_layout::heat_value(s, order, r, c);
    let row_label = |r: usize| graph.name(order[r]).to_string();
    let col_label = |c: usize| graph.name(sender(c)).to_string();
    let hover = |r: usize, c: usize| {
        let e = entry(r, c);
        let mut text = format!(
            "receiver {} ← sender {}\nw = {:.4}",
            graph.name(order[r]),
            graph.name(sender(c)),
            s.weights[e]
        );
        if pruned(e) {
            text.push_str(" (pruned)");
        }
        if c < n && r > c {
            text.push_str(if graph.outputs_last() {
                "\nbackward in this order (outputs last)"
            } else {
                "\nbackward: counted in 1 − D"
            });
        } else if c == r {
            text.push_str("\nself-loop: in the total only");
        }
        text
    };
    let spec = HeatmapSpec {
        rows: n,
        cols,
        value: &value,
        row_label: &row_label,
        col_label: &col_label,
        hover: &hover,
        scale: Scale::Diverging {
            max_abs,
            quantity: WEIGHT_QUANTITY,
        },
        write_values: false,
        gap_before_col: Some(n),
        diagonal: true,
        max_cell: 44.0,
        square: true,
        marked_col: None,
        row_title: "receiver",
        col_title: "senders (drawn order, last first), then inputs · below the diagonal: backward",
    };
    let size = vec2(ui.available_width(), ui.available_height().max(80.0));
    heatmap_ui(ui, &spec, size);
}

/// The graph's key, in its own colours.
fn legend_ui(ui: &mut Ui, (live, drawn): (usize, usize), outputs_last: bool) {
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 10.0;
        // small in the window; the body's in the presenter view, to be read from the back of a room
        let style = crate::app::widgets::plots::legend_text_style(ui.ctx());
        let presenting = crate::app::teach::presenter::Look::of(ui.ctx()).presenting;
        // an entry is kept whole: a line ends between entries, never inside one (a wrapped "↓" was
        // left at a line's end, its words on the next). Its mark is drawn in its colour, its words in
        // the text's: a "━" glyph in red on grey words was too small to read at half size (a
        // helper's audit), so a line's mark is a painted stroke as wide as two letters
        let text_color = if presenting {
            ui.visuals().strong_text_color()
        } else {
            ui.visuals().text_color()
        };
        let key = |ui: &mut Ui, mark: Mark, text: &str| {
            let font = style.resolve(ui.style());
            let (glyph, color, scale) = match mark {
                Mark::Glyph(g, c) => (g, c, 1.0),
                // two heavy strokes in a larger size: a line as wide as two letters
                Mark::Stroke(c) => ("━━", c, 1.3),
            };
            let mut job = egui::text::LayoutJob::default();
            job.append(
                glyph,
                0.0,
                egui::TextFormat {
                    font_id: egui::FontId::new(font.size * scale, font.family.clone()),
                    color,
                    valign: egui::Align::Center,
                    ..Default::default()
                },
            );
            job.append(
                text,
                font.size * 0.3,
                egui::TextFormat {
                    font_id: font.clone(),
                    color: text_color,
                    valign: egui::Align::Center,
                    ..Default::default()
                },
            );
            ui.add(egui::Label::new(job).wrap_mode(egui::TextWrapMode::Extend));
        };
        enum Mark<'a> {
            Glyph(&'a str, Color32),
            Stroke(Color32),
        }
        key(ui, Mark::Glyph("●", INPUT_FILL), "inputs, first");
        key(ui, Mark::Glyph("●", OUTPUT_FILL), "outputs");
        key(ui, Mark::Stroke(POSITIVE), "w > 0");
        key(ui, Mark::Stroke(NEGATIVE), "w < 0");
        key(
            ui,
            Mark::Glyph("↑", text_color),
            "arcs above: forward, left to right",
        );
        // with the outputs moved last the drawn order is not the best one (its share is above)
        key(
            ui,
            Mark::Glyph("↓", text_color),
            if outputs_last {
                "arcs below: backward in this order"
            } else {
                "arcs below: backward, the 1 − D share"
            },
        );
        if !presenting {
            let weak = ui.visuals().weak_text_color();
            key(ui, Mark::Glyph("·", weak), "hover a node for its edges");
        }
        if drawn < live {
            let text = format!("the {drawn} strongest of {live} edges shown");
            key(ui, Mark::Glyph("·", ui.visuals().warn_fg_color), &text);
        }
    });
}

/// A scheme's colour in the study plot.
fn scheme_color(s: Scheme) -> Color32 {
    match s {
        Scheme::None => Color32::from_gray(170),
        Scheme::Random => Color32::from_rgb(100, 165, 250),
        Scheme::TopK => Color32::from_rgb(240, 140, 50),
        Scheme::DynamicTopK => Color32::from_rgb(235, 205, 80),
        Scheme::TriuDamp => Color32::from_rgb(80, 200, 120),
        Scheme::DynamicTriuDamp => Color32::from_rgb(190, 120, 230),
    }
}

fn study_results_ui(
    ui: &mut Ui,
    study: &StudyHistory,
    hidden: &mut std::collections::BTreeSet<String>,
) {
    let Some(config) = study.config() else {
        ui.add_space(20.0);
        ui.label(
            RichText::new(
                "No study yet: set it up in the Study section on the left, then Start study.",
            )
            .weak(),
        );
        return;
    };
    let (done, total) = study.progress();
    ui.horizontal(|ui| {
        let what = match config.kind {
            StudyKind::Sparsity => "D against nominal sparsity",
            StudyKind::Grid => "mean D of unpruned layers over hidden size × iterations",
        };
        ui.label(RichText::new(what).strong());
        ui.label(
            RichText::new(format!(
                "{} · {} runs per setting",
                config.base.task, config.runs
            ))
            .weak(),
        );
        let frac = if total > 0 {
            done as f32 / total as f32
        } else {
            0.0
        };
        ui.add(
            egui::ProgressBar::new(frac)
                .desired_width(260.0)
                .text(format!("{done} / {total} runs")),
        );
    });
    match config.kind {
        StudyKind::Sparsity => sparsity_plot_ui(ui, study, hidden),
        StudyKind::Grid => grid_ui(ui, study, &config.hidden_grid, &config.its_grid),
    }
}

/// The key's name of the unpruned baseline (the same in every frame, so that hiding it holds while
/// its runs come in).
const BASELINE_KEY: &str = "unpruned";
/// The key entry of the schemes' shuffled nulls (dotted, each in its scheme's colour).
const SHUFFLED_KEY: &str = "same weights shuffled";

/// D against sparsity: each scheme's mean over its runs as a line through points, the band from
/// the lowest to the highest run, and the unpruned baseline across the whole axis. The bands span
/// the whole plot at high sparsity, so the key is a row above it (clickable: an entry hides or shows
/// its scheme) rather than a legend box over the runs.
fn sparsity_plot_ui(
    ui: &mut Ui,
    study: &StudyHistory,
    hidden: &mut std::collections::BTreeSet<String>,
) {
    let look = crate::app::teach::presenter::Look::of(ui.ctx());
    let baseline = study.baseline().filter(|b| b.runs > 0);
    let drawn: Vec<Scheme> = Scheme::ALL
        .into_iter()
        .filter(|s| *s != Scheme::None && study.curve(*s).any(|s| s.runs > 0))
        .collect();
    let mut entries: Vec<KeyEntry> = drawn
        .iter()
        .map(|&s| KeyEntry::new(s.to_string(), scheme_color(s), mean_mark(s).key))
        .collect();
    if baseline.is_some() {
        entries.push(KeyEntry::new(
            BASELINE_KEY,
            scheme_color(Scheme::None),
            Mark::HLineBand { dashed: true },
        ));
    }
    let any_null = study.stats().iter().any(|s| s.null_runs > 0);
    if any_null {
        entries.push(KeyEntry::new(
            SHUFFLED_KEY,
            ui.visuals().text_color(),
            Mark::Line(egui_plot::LineStyle::dotted_dense()),
        ));
    }
    if !entries.is_empty() {
        key_rows_toggling(ui, &entries, look.line, hidden);
        let mut note =
            "lines: the mean of a setting's runs · bands: lowest to highest run".to_string();
        if any_null {
            // the null is what tells pruning's ordering from the order sparsity gives by chance
            note.push_str(
                " · dotted, in a scheme's colour: the same final weights at random places (a \
                 sparse layer is ordered by chance; pruning orders it where a line rises above \
                 its dotted one)",
            );
        }
        ui.label(RichText::new(note).small().weak());
    }
    let plot = Plot::new("ordering_study")
        .x_axis_label("nominal sparsity (p, 1 − k or f)")
        .y_axis_label("orderedness D")
        .include_x(0.0)
        .include_x(1.0)
        // D >= 0.5 always: an order or its reverse has at most half the weight backward
        .include_y(0.5)
        .include_y(1.0)
        .label_formatter(|pos| {
            let (head, p) = hover_parts(pos);
            Some(format!("{head}nominal sparsity {:.2}\nD {:.3}", p.x, p.y))
        });
    plot.show(ui, |pui| {
        if let Some(b) = baseline.filter(|_| !hidden.contains(BASELINE_KEY)) {
            let name = format!("unpruned ({} runs)", b.runs);
            let color = scheme_color(Scheme::None);
            // the band across the whole sparsity axis (a span would write its name in it)
            let (lo, hi) = ([b.min, b.min], [b.max, b.max]);
            let band = FilledArea::new(name.clone(), &[0.0, 1.0], &lo, &hi);
            pui.add(band.fill_color(color.gamma_multiply(0.12)));
            pui.hline(
                HLine::new(name, b.mean)
                    .color(color)
                    .style(egui_plot::LineStyle::dashed_loose())
                    .width(1.5),
            );
        }
        // each shown scheme's settings once: sparsity, mean, lowest and highest D
        let curves: Vec<SchemeCurve> = drawn
            .into_iter()
            .filter(|scheme| !hidden.contains(&scheme.to_string()))
            .map(|scheme| {
                let mut c = SchemeCurve {
                    name: scheme.to_string(),
                    color: scheme_color(scheme),
                    mark: mean_mark(scheme),
                    ..SchemeCurve::default()
                };
                for s in study.curve(scheme).filter(|s| s.runs > 0) {
                    c.xs.push(s.setting.sparsity);
                    c.mean.push(s.mean);
                    c.lo.push(s.min);
                    c.hi.push(s.max);
                    if let Some(m) = s.null_mean {
                        c.null.push([s.setting.sparsity, m]);
                    }
                }
                c
            })
            .collect();
        // every band under every line: a later scheme's band painted over an earlier one's line
        // turned the random scheme's blue to grey (a helper's audit)
        for c in &curves {
            pui.add(
                FilledArea::new(c.name.clone(), &c.xs, &c.lo, &c.hi)
                    .fill_color(c.color.gamma_multiply(0.2)),
            );
        }
        if !hidden.contains(SHUFFLED_KEY) {
            for c in &curves {
                pui.line(
                    Line::new(format!("{}, {SHUFFLED_KEY}", c.name), c.null.clone())
                        .color(c.color)
                        .style(egui_plot::LineStyle::dotted_dense())
                        .width(1.5 * look.line),
                );
            }
        }
        // triu-damp and dynamic triu-damp both sit at D ≈ 1: the dynamic schemes' lines under the
        // static ones', their means rings round the static ones' dots, so neither hides the other
        // (as the exported figure draws them)
        let points = |c: &SchemeCurve| -> Vec<[f64; 2]> {
            c.xs.iter().zip(&c.mean).map(|(&x, &y)| [x, y]).collect()
        };
        let mut order: Vec<&SchemeCurve> = curves.iter().collect();
        order.sort_by_key(|c| c.mark.filled);
        for c in &order {
            pui.line(
                Line::new(c.name.clone(), PlotPoints::from(points(c)))
                    .color(c.color)
                    .width(2.0 * look.line),
            );
        }
        order.sort_by_key(|c| !c.mark.filled);
        for c in order {
            pui.points(
                Points::new(c.name.clone(), PlotPoints::from(points(c)))
                    .color(c.color)
                    .filled(c.mark.filled)
                    .radius(c.mark.radius * look.line),
            );
        }
    });
}

/// How a scheme's means are marked in the D-against-sparsity plot and its key.
#[derive(Clone, Copy, Debug, PartialEq)]
struct MeanMark {
    /// The marker's radius (before the presenter's scale).
    radius: f32,
    /// A dot; else a ring.
    filled: bool,
    /// The key's mark.
    key: Mark,
}

impl Default for MeanMark {
    fn default() -> Self {
        mean_mark(Scheme::Random)
    }
}

/// A scheme's mean marker: the dynamic schemes' means are rings, wider than the static ones' dots,
/// drawn after them so each shows round the other where their means coincide (triu-damp and dynamic
/// triu-damp at D ≈ 1), as the exported figure draws them
/// ([`crate::export::labs::scheme_hollow`]).
fn mean_mark(scheme: Scheme) -> MeanMark {
    if crate::export::labs::scheme_hollow(scheme) {
        MeanMark {
            radius: 4.5,
            filled: false,
            key: Mark::Hollow,
        }
    } else {
        MeanMark {
            radius: 3.0,
            filled: true,
            key: Mark::LineAndPoint,
        }
    }
}

/// One scheme's line and band in the D-against-sparsity plot.
#[derive(Default)]
struct SchemeCurve {
    name: String,
    color: Color32,
    /// How its means are marked (rings for a dynamic scheme).
    mark: MeanMark,
    xs: Vec<f64>,
    mean: Vec<f64>,
    lo: Vec<f64>,
    hi: Vec<f64>,
    /// The settings' shuffled nulls (sparsity, mean), where they have one.
    null: Vec<[f64; 2]>,
}

/// The grid study's colour scale: D >= 0.5 always (an order or its reverse), so it spends its
/// colours on 0.5 .. 1.
const GRID_SCALE: Scale = Scale::Sequential { lo: 0.5, hi: 1.0 };

fn grid_ui(ui: &mut Ui, study: &StudyHistory, hidden: &[usize], its: &[usize]) {
    let cell = |r: usize, c: usize| {
        hidden
            .get(r)
            .zip(its.get(c))
            .and_then(|(&h, &i)| study.cell(h, i))
            .filter(|s| s.runs > 0)
    };
    let value = |r: usize, c: usize| cell(r, c).map(|s| s.mean);
    let row_label = |r: usize| hidden.get(r).map_or(String::new(), |h| format!("H={h}"));
    let col_label = |c: usize| its.get(c).map_or(String::new(), |i| i.to_string());
    let hover = |r: usize, c: usize| match (hidden.get(r), its.get(c), cell(r, c)) {
        (Some(h), Some(i), Some(s)) => format!(
            "H = {h}, {i} iterations\nmean D {:.3} (min {:.3}, max {:.3}, {} runs)",
            s.mean, s.min, s.max, s.runs
        ),
        (Some(h), Some(i), None) => format!("H = {h}, {i} iterations\nno runs finished yet"),
        _ => String::new(),
    };
    let spec = HeatmapSpec {
        rows: hidden.len(),
        cols: its.len(),
        value: &value,
        row_label: &row_label,
        col_label: &col_label,
        hover: &hover,
        scale: GRID_SCALE,
        write_values: true,
        gap_before_col: None,
        diagonal: false,
        max_cell: 72.0,
        square: true,
        marked_col: None,
        row_title: "hidden H",
        col_title: "iterations of the layer",
    };
    ui.add_space(6.0);
    let size = vec2(ui.available_width(), ui.available_height().min(520.0));
    heatmap_ui(ui, &spec, size);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::OrderMethod;

    /// The window draws the dynamic pruning schemes' means as hollow rings, wider than the static
    /// schemes' dots, and its key says so (triu-damp's dot and dynamic triu-damp's at D ≈ 1 hid one
    /// another: a researcher's audit). Expected, from the spec's two dynamic schemes: dynamic top-k
    /// and dynamic triu-damp rings (unfilled, key `Hollow`), random, top-k and triu-damp dots
    /// (filled, key `LineAndPoint`), as the export's `scheme_hollow` has them.
    #[test]
    fn dynamic_schemes_means_are_hollow_rings() {
        for scheme in Scheme::PRUNING {
            let m = mean_mark(scheme);
            let dynamic = matches!(scheme, Scheme::DynamicTopK | Scheme::DynamicTriuDamp);
            assert_eq!(m.filled, !dynamic, "{scheme}");
            assert_eq!(
                m.key,
                if dynamic {
                    Mark::Hollow
                } else {
                    Mark::LineAndPoint
                },
                "{scheme}"
            );
            assert_eq!(!m.filled, crate::export::labs::scheme_hollow(scheme));
            // a ring round a dot where two means coincide
            if dynamic {
                assert!(m.radius > mean_mark(Scheme::TriuDamp).radius, "{scheme}");
            }
        }
    }

    /// The grid study's heatmap is one palette in the window and the exported `grid_mean_d` (the
    /// export drew ColorBrewer's Blues, the window viridis): each cell the window paints is the
    /// colour the export fills it with (the figure's scale is its own, whatever its cells).
    /// Expected: the export's own colour ([`heat_rgb`] on the figure's scale) for D across 0.5 to 1
    /// and an unfinished (NaN) mean, and viridis' published ends (#440154, #fde725) at D = 0.5
    /// and 1.
    ///
    /// [`heat_rgb`]: crate::export::heat_rgb
    #[test]
    fn the_grid_study_is_coloured_as_its_export() {
        use crate::export::figure::Body;
        let figs = crate::export::labs::ordering_study_figures(
            crate::config::ordering::StudyKind::Grid,
            "",
            &[],
        );
        let Body::Heatmap(h) = &figs[0].body else {
            panic!("a heatmap")
        };
        for d in [0.5, 0.55, 0.625, 0.8, 0.97, 1.0, f64::NAN] {
            let paper = crate::export::heat_rgb(&h.scale, d);
            assert_eq!(
                GRID_SCALE.color(d),
                crate::app::widgets::color(paper),
                "D = {d}"
            );
        }
        assert_eq!(
            GRID_SCALE.color(0.5),
            egui::Color32::from_rgb(0x44, 0x01, 0x54)
        );
        assert_eq!(
            GRID_SCALE.color(1.0),
            egui::Color32::from_rgb(0xfd, 0xe7, 0x25)
        );
    }

    #[test]
    fn the_header_names_d_method_and_sparsity() {
        let s = LayerSnapshot {
            step: 12,
            epoch: 3,
            inputs: 2,
            hidden: 1,
            outputs: 1,
            weights: vec![0.0; 8],
            pruned: vec![false; 8],
            order: vec![0, 1],
            d: 0.8349,
            method: OrderMethod::Heuristic,
            sparsity: 0.5,
        };
        assert_eq!(
            snapshot_text(&s),
            "D = 0.83 (heuristic) · measured sparsity 0.50 · step 12"
        );
    }
}
