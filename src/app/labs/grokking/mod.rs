//! The Grokking lab: modular arithmetic, memorisation then generalisation. Its own worker, the run it
//! follows, the config panel, the linked plots, and the Runs panel (runs on disk, forks, comparing).

pub mod config_panel;
pub mod figures;
pub mod insight_views;
pub mod jobs;
pub mod overlays;
pub mod phase_view;
pub mod run_files;
pub mod runs_panel;
mod teach;

use self::config_panel::{ConfigPanel, config_ui};
use self::figures::{add_insight_figures, grokking_set};
use self::insight_views::{InsightView, ScrubAction, View, insight_panel_ui, scrub_ui, toggles_ui};
use self::jobs::{GrokJob, LabJobs};
use self::phase_view::{PhaseClick, PhaseViewState, phase_view};
use self::run_files::{RunFiles, RunsAction, RunsCtx, RunsSettings};
use self::runs_panel::runs_panel_ui;
use super::{
    Controls, Counter, LabCtx, LabScene, LabSetup, LabSlot, Milestone, PanelName, PresetList, Teach,
};
use crate::analysis::insight::Split;
use crate::analysis::smooth::Weight;
use crate::app::actions::{Action, ExportKind};
use crate::app::backend::Backend;
use crate::app::dialog::FileDialog;
use crate::app::figure_export::FigureSet;
use crate::app::jobs::{JobDone, Jobs};
use crate::app::link::{Batch, FinishedRun, LabLink, Phase};
use crate::app::widgets::form::group_digits;
use crate::app::widgets::layout;
use crate::app::widgets::plots::{
    Compare, MarkerLabel, PLOTS, PathPrompt, PlotView, plots_compare_ui, plots_toolbar_ui,
    plotted_metrics,
};
use crate::config::lesson::LOG_STEPS;
use crate::config::{
    FieldProblem, GrokkingConfig, Preset, RunConfig, ValidGrokkingConfig, ValidPhaseStudyConfig,
    ValidRunConfig, presets,
};
use crate::protocol::{
    Event, GrokEvent, GrokkingEvent, HyperChange, InsightSnapshot, LabEvent, Metric, RunId,
};
use crate::store::insight::InsightStore;
use crate::store::{Marker, MarkerKind, Point, RunHistory};
use eframe::egui::{self, Ui};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// The UI state kept across restarts (eframe storage, under [`eframe::APP_KEY`], where the first
/// version of the window kept it). Missing fields take their defaults; a value that does not parse as
/// a whole gives all defaults.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Persisted {
    /// The Grokking lab's Runs panel.
    pub runs: RunsSettings,
    /// The plots' display smoothing ([`PlotView::smoothing`]; 0, off, when absent; a value out of
    /// range is brought into it).
    pub smoothing: f64,
}

impl Persisted {
    /// What `storage` holds (defaults when there is no storage, no value, or a value that does not
    /// parse: eframe's `get_value` logs and returns `None` for the last).
    pub fn load(storage: Option<&dyn eframe::Storage>) -> Self {
        storage
            .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
            .unwrap_or_default()
    }
}

/// The panels a lesson can name.
const PANELS: [PanelName; 14] = [
    PanelName {
        key: "config",
        label: "Config panel",
        title: "the config panel",
    },
    PanelName {
        key: "plots",
        label: "All four plots",
        title: "accuracy, loss, weight norm and Fourier plots",
    },
    // one row of the plots each (keys: the plots' ids)
    PanelName {
        key: "accuracy",
        label: "Accuracy plot",
        title: "the accuracy plot",
    },
    PanelName {
        key: "loss",
        label: "Loss plot",
        title: "the loss plot",
    },
    PanelName {
        key: "weight_norm",
        label: "Weight-norm plot",
        title: "the weight-norm plot",
    },
    PanelName {
        key: "fourier",
        label: "Fourier plot",
        title: "the plot of the embedding's Fourier measures",
    },
    PanelName {
        key: "runs",
        label: "Runs panel",
        title: "the Runs panel",
    },
    // a part of the Runs panel: what a step about a fork points at
    PanelName {
        key: "runs_list",
        label: "Runs list",
        title: "the Runs panel's list of runs: the current run (a fork names its parent and step) and the runs beside it",
    },
    PanelName {
        key: "spectrum",
        label: "Spectrum",
        title: "the embedding's Fourier spectrum and its history",
    },
    PanelName {
        key: "clock",
        label: "Clock",
        title: "the clock: residues on each key frequency's plane, and the principal components",
    },
    PanelName {
        key: "grid",
        label: "Answer grid",
        title: "the answer grid over every pair (a, b)",
    },
    PanelName {
        key: "neurons",
        label: "Neurons",
        title: "the MLP's neurons by frequency",
    },
    PanelName {
        key: "ablation",
        label: "Restricted loss",
        title: "restricted and excluded loss",
    },
    PanelName {
        key: "phase",
        label: "Phase diagram",
        title: "the phase diagram: when does grokking happen",
    },
];

/// The Grokking tab.
pub struct GrokkingLab {
    ctx: egui::Context,
    /// The lab's worker, run and status line.
    link: LabLink,
    dialog: Arc<dyn FileDialog>,
    /// Dialogs, file writes and folder reads of this lab.
    jobs: LabJobs,
    presets: PresetList<Preset>,
    draft: GrokkingConfig,
    history: RunHistory,
    plots: PlotView,
    prompt: Option<PathPrompt>,
    /// A PNG export waiting for its screenshot.
    awaiting_screenshot: bool,
    /// The run just started and how many notes it has said before its first rows: a start's notes
    /// (a skipped checkpoint, the one used instead, files set aside) come in one burst, and are said
    /// together rather than each over the one before.
    start_notes: Option<(RunId, usize)>,
    /// The runs on disk and the runs compared.
    files: RunFiles,
    /// The last speed limit the top bar gave (sent with starts from the Runs panel).
    speed: Option<f64>,
    /// The current run's insight snapshots, and which views show which step.
    insight: InsightStore,
    insight_view: InsightView,
    /// The train/validation split of every pair of the run shown (the answer grid's), and the config
    /// it was computed for.
    split: Option<(crate::config::GrokkingConfig, Vec<Split>)>,
    /// The phase study shown (running, or finished), the preset its button runs, the cell clicked.
    phase: PhaseViewState,
    phase_preset: usize,
    phase_clicked: Option<PhaseClick>,
    /// The phase study a lesson chose (its next start runs it instead of the panel's config).
    lesson_study: Option<Box<crate::config::PhaseStudyConfig>>,
    /// A scene's run folder being opened, the step its views should show, and the run followed
    /// when it was asked (a start or reset since then leaves the folder listed only).
    scene_pending: Option<(PathBuf, Option<u64>, crate::app::link::RunMarker)>,
    /// The panel's config of a scene whose run is being trained again: shown once that run has
    /// started (a start shows the config in force).
    scene_panel: Option<GrokkingConfig>,
    /// The folder of the last run a scene trained again to its step (its epoch cap is that step's).
    scene_retrained: Option<PathBuf>,
    /// The panel a lesson highlighted last (a newly highlighted view is scrolled into sight).
    last_highlight: Option<String>,
    /// Where the runs this window starts unsaved are recorded (last: dropped after the worker is
    /// joined).
    temp_runs: run_files::TempRuns,
}

impl GrokkingLab {
    pub fn new(backend: Box<dyn Backend>, setup: &LabSetup<'_>) -> Self {
        let (presets, draft) = PresetList::new(presets());
        let wake_ctx = setup.ctx.clone();
        let persisted = Persisted::load(setup.storage);
        let mut plots = PlotView::default();
        plots.smoothing = Weight::new(persisted.smoothing);
        Self {
            ctx: setup.ctx.clone(),
            link: LabLink::new(
                backend,
                "ready: choose a preset, then Start (or press Space)",
            ),
            dialog: Arc::clone(&setup.dialog),
            jobs: Jobs::new(Arc::new(move || wake_ctx.request_repaint())),
            presets,
            draft,
            history: RunHistory::new(),
            plots,
            prompt: None,
            awaiting_screenshot: false,
            start_notes: None,
            files: RunFiles::with_settings(persisted.runs),
            speed: None,
            insight: InsightStore::default(),
            insight_view: InsightView::default(),
            split: None,
            phase: PhaseViewState::default(),
            phase_preset: 0,
            phase_clicked: None,
            lesson_study: None,
            scene_pending: None,
            scene_panel: None,
            scene_retrained: None,
            last_highlight: None,
            temp_runs: run_files::TempRuns::default(),
        }
    }

    /// [`Self::new`], boxed as a slot (the registry's constructor).
    pub fn boxed(backend: Box<dyn Backend>, setup: &LabSetup<'_>) -> Box<dyn LabSlot> {
        Box::new(Self::new(backend, setup))
    }

    /// The data the plots draw.
    pub fn history(&self) -> &RunHistory {
        &self.history
    }

    /// The runs list, the current run's folder, the fork being set up.
    pub fn runs(&self) -> &RunFiles {
        &self.files
    }

    pub fn runs_mut(&mut self) -> &mut RunFiles {
        &mut self.files
    }

    /// Apply a request as the Runs panel would.
    pub fn apply_runs(&mut self, action: RunsAction) {
        if !matches!(action, RunsAction::None) {
            // a scene's panel is for the scene's own start alone
            self.scene_panel = None;
        }
        if matches!(action, RunsAction::Resume(_)) {
            // the views follow the run as it goes on (a teacher's audit: a step pinned before
            // Continue run held the clock and the grid there while the run trained on)
            self.insight_view.pinned = None;
        }
        self.with_runs(|files, ctx| files.apply(action, ctx));
    }

    /// What the plots draw besides the current run (built as the next frame would).
    pub fn compared(&mut self) -> &Compare {
        let smoothing = self.shown_smoothing();
        self.files
            .compare(&self.history, self.plots.log_x, smoothing)
    }

    /// The marker labels the plots drew in the last frame (the current run's and the compared runs').
    pub fn marker_labels(&self) -> &[MarkerLabel] {
        &self.plots.labelled
    }

    /// The smoothing the plots draw with ([`PlotView::shown_smoothing`]).
    pub fn shown_smoothing(&self) -> Weight {
        self.plots.shown_smoothing(&self.ctx)
    }

    /// The plots' view state (axes, smoothing, what the last frame drew).
    pub fn plot_view(&self) -> &PlotView {
        &self.plots
    }

    /// The plots' view state, to change (a test sets the smoothing as the slider would).
    pub fn plot_view_mut(&mut self) -> &mut PlotView {
        &mut self.plots
    }

    /// Points the plots drew in the last frame (after decimation).
    pub fn drawn_points(&self) -> usize {
        self.plots.drawn_points
    }

    /// The config in the panel (what Start would run).
    pub fn config(&self) -> &GrokkingConfig {
        &self.draft
    }

    /// Edit the config in the panel directly.
    pub fn config_mut(&mut self) -> &mut GrokkingConfig {
        &mut self.draft
    }

    /// The kept insight snapshots of the run shown.
    pub fn insight(&self) -> &InsightStore {
        &self.insight
    }

    /// The legends drawn as strips above their plots in the last frame (the presenter view's), by
    /// plot id, with their entries' names.
    pub fn legend_strips(&self) -> &[(&'static str, Vec<String>)] {
        &self.plots.legend_strips
    }

    /// Each plot's data frame (inside its axes) in the last frame, by plot id.
    pub fn plot_frames(&self) -> &[(&'static str, egui::Rect)] {
        &self.plots.data_frames
    }

    /// The veils over the later part of each plot in the last frame (a lesson's step gone back
    /// to), by plot id.
    pub fn plot_veils(&self) -> &[(&'static str, egui::Rect)] {
        &self.plots.veils
    }

    /// Where each row of the plots was drawn in the last frame, by plot id (none when hidden).
    pub fn plot_rows(&self) -> &[(&'static str, egui::Rect)] {
        &self.plots.row_rects
    }

    /// The phase study shown (training, finished, or opened from its folder).
    pub fn phase_study(&self) -> &PhaseViewState {
        &self.phase
    }

    /// Which views show, and the step they show.
    pub fn insight_view(&self) -> &InsightView {
        &self.insight_view
    }

    pub fn insight_view_mut(&mut self) -> &mut InsightView {
        &mut self.insight_view
    }

    /// The snapshot the views show.
    pub fn shown_snapshot(&self) -> Option<&InsightSnapshot> {
        self.insight_view.shown(self.shown_store())
    }

    /// The snapshots of the run whose views show (the current run's, or a listed run's).
    pub fn shown_store(&self) -> &InsightStore {
        store_of(&self.insight, &self.files, self.insight_view.of)
    }

    /// Show the views of the current run (`None`) or of the listed run `key`; a listed run with a
    /// folder and no snapshots has them recomputed from its saved weights.
    pub fn show_views_of(&mut self, of: Option<u64>) {
        self.insight_view.of = of;
        self.insight_view.pinned = None;
        let Some(k) = of else { return };
        let Some(run) = self.files.listed.iter_mut().find(|r| r.key == k) else {
            return;
        };
        if !run.insight.is_empty() || run.insight.source.starts_with("recomputing") {
            return;
        }
        let Some(dir) = run.dir.clone() else {
            run.insight.source = "none kept: this run was not saved".into();
            return;
        };
        match jobs::recompute_insight(&mut self.jobs, dir, k) {
            Ok(()) => {
                run.insight.source = "recomputing from saved weights…".into();
                let name = run.name.clone();
                self.info(format!(
                    "recomputing the insight views of {name} from its saved weights…"
                ));
            }
            Err(e) => self.error(format!("cannot start reading the saved weights: {e}")),
        }
    }

    /// Show `step` in every view (`None`: follow the newest snapshot).
    pub fn show_step(&mut self, step: Option<u64>) {
        self.insight_view.pinned = step;
    }

    /// Keep an insight snapshot of the current run: its views, and its ablation losses as loss-plot
    /// points.
    pub fn add_snapshot(&mut self, snap: InsightSnapshot) {
        add_ablation_points(&mut self.history, &snap);
        self.insight.push(snap);
    }

    /// The history (metrics and config) of the run whose views show.
    fn views_history(&self) -> &RunHistory {
        match self.insight_view.of {
            None => &self.history,
            Some(k) => match self.files.listed.iter().find(|r| r.key == k) {
                Some(r) => &r.history,
                None => &self.history,
            },
        }
    }

    /// The split of the run whose views show (computed once per config).
    fn split(&mut self) -> &[Split] {
        let Some(cfg) = self.views_history().config() else {
            return &[];
        };
        if self.split.as_ref().is_none_or(|(c, _)| c != cfg) {
            let grid = crate::analysis::insight::run_split(cfg);
            self.split = Some((cfg.clone(), grid));
        }
        self.split.as_ref().map_or(&[], |(_, s)| s)
    }

    /// Name of the preset last loaded.
    pub fn preset_name(&self) -> Option<&'static str> {
        self.presets.current_name()
    }

    /// Let the runs code act on the lab's link, jobs and history.
    fn with_runs<R>(&mut self, f: impl FnOnce(&mut RunFiles, &mut RunsCtx<'_>) -> R) -> R {
        let mut ctx = RunsCtx {
            link: &mut self.link,
            jobs: &mut self.jobs,
            dialog: &self.dialog,
            history: &mut self.history,
            insight: &mut self.insight,
            speed: self.speed,
            temp: &self.temp_runs,
        };
        f(&mut self.files, &mut ctx)
    }

    fn is_current(&self, run: RunId) -> bool {
        self.link.runs.is_current(run)
    }

    /// Whether a dialog, a write or a screenshot is under way (the buttons that start one wait).
    fn busy(&self) -> bool {
        self.jobs.dialog_open() || self.jobs.writing() || self.awaiting_screenshot
    }

    fn handle_event(&mut self, event: Event) {
        if self.phase.observe(&event) {
            self.phase_clicked = None;
        }
        match event {
            Event::Started {
                run,
                config,
                param_count,
                steps_per_epoch,
                device,
            } => {
                let config = match *config {
                    RunConfig::Grokking(config) => config,
                    RunConfig::PhaseStudy(study) => {
                        // a phase study: the phase panel took its Started above
                        if self.link.runs.started(run) {
                            self.link.device = device;
                            self.insight_view.set_visible(View::Phase, true);
                            self.info(format!(
                                "phase study: {} runs ({} seeds a cell)",
                                study.task_count(),
                                study.seeds.len()
                            ));
                        }
                        return;
                    }
                    // another lab's run: this lab's worker only runs Grokking configs and phase
                    // studies
                    RunConfig::CapacitySweep(_)
                    | RunConfig::Ordering(_)
                    | RunConfig::OrderingStudy(_) => return,
                };
                if !self.link.runs.started(run) {
                    // A run we no longer wait for (reset meanwhile); its later events are ignored.
                    return;
                }
                // the panel shows the config in force (a resumed or forked run's, not the draft's),
                // so its live settings start from the run's values
                self.draft = self.scene_panel.take().unwrap_or_else(|| config.clone());
                self.history
                    .begin(run, config, param_count, steps_per_epoch);
                self.insight.clear();
                self.insight.source = "live".into();
                let on = device
                    .as_ref()
                    .map(|c| format!(" on {}", c.placement))
                    .unwrap_or_default();
                self.link.device = device;
                // no worker run number: the Runs panel names runs otherwise ("run 3 training" beside
                // a list of "current run" and "run 1": a helper's audit)
                self.info(format!(
                    "training{on}: {} parameters",
                    group_digits(param_count)
                ));
                self.start_notes = Some((run, 0));
            }
            Event::Metrics { run, rows } => {
                if self.start_notes.is_some_and(|(r, _)| r == run) {
                    self.start_notes = None;
                }
                if self.is_current(run) {
                    self.files
                        .before_rows(&mut self.history, &mut self.insight, &rows);
                    self.history.push_rows(&rows);
                    if let Some((step, epoch)) = self.history.latest() {
                        self.link.runs.progress(run, step, epoch);
                    }
                }
            }
            Event::Progress { run, step, epoch } => self.link.runs.progress(run, step, epoch),
            Event::Lab {
                run,
                payload: LabEvent::Grokking(GrokkingEvent::Detected { event, step, epoch }),
            } => {
                let what = match event {
                    GrokEvent::Memorised => "memorised",
                    GrokEvent::Val98 => "validation reached 98 %",
                    GrokEvent::Generalised => "generalised",
                };
                let marker = Marker {
                    step,
                    epoch,
                    kind: MarkerKind::Grok(event),
                };
                self.mark(
                    run,
                    marker,
                    format!("{what} at epoch {epoch} (step {step})"),
                );
            }
            Event::Changed {
                run,
                change,
                step,
                epoch,
            } => {
                let marker = Marker {
                    step,
                    epoch,
                    kind: MarkerKind::Change(change),
                };
                self.mark(run, marker, format!("{change} from step {step}"));
            }
            Event::Paused { run, paused } => self.link.runs.paused(run, paused),
            Event::Lab {
                run,
                payload: LabEvent::Grokking(GrokkingEvent::Insight(snap)),
            } => {
                if self.is_current(run) {
                    self.add_snapshot(*snap);
                }
            }
            // the restricted and excluded loss with the final model's keys: their own curves
            Event::Lab {
                run,
                payload:
                    LabEvent::Grokking(GrokkingEvent::FinalKeys {
                        step,
                        epoch,
                        ablation,
                    }),
            } => {
                if self.is_current(run) {
                    add_final_key_points(&mut self.history, step, epoch, &ablation);
                    self.insight.final_keys = ablation.keys;
                }
            }
            // the views say why they stay empty or stop (and the status bar, to be seen)
            Event::Lab {
                run,
                payload: LabEvent::Grokking(GrokkingEvent::InsightOff { why }),
            } => {
                if self.is_current(run) {
                    self.insight.source = why.clone();
                    self.error(why);
                }
            }
            Event::Lab {
                payload: LabEvent::Ordering(_) | LabEvent::Capacity(_),
                ..
            } => {
                // other labs' events; this lab's worker never runs those labs
            }
            Event::Lab {
                run,
                payload: LabEvent::Grokking(GrokkingEvent::PhaseTask { done, total, .. }),
            } => {
                // the phase panel took the run above; the counter shows the study's progress
                self.link.runs.progress(run, done as u64, done as u64);
                self.info(format!("phase study: {done} of {total} runs finished"));
            }
            Event::Refused { message } => {
                self.link.runs.refused(self.history.latest().is_some());
                self.error(format!("refused: {message}"));
            }
            // a run that goes on: said in the status bar (in the error colour, to be seen), its
            // phase untouched
            Event::Note { run, message } => match &mut self.start_notes {
                Some((r, n)) if *r == run => {
                    let said = if *n == 0 {
                        message
                    } else {
                        format!("{}; {message}", self.link.status().text)
                    };
                    *n += 1;
                    self.error(said);
                }
                _ => self.error(message),
            },
            Event::Saved { run, dir } => self.with_runs(|files, ctx| files.saved(ctx, run, dir)),
            Event::Finished {
                run,
                outcome,
                summary,
            } => {
                if self.phase.run == Some(run) {
                    let has_data = !self.phase.runs.is_empty();
                    let (done, total) = self.phase.progress;
                    let batch = Batch {
                        what: "phase study",
                        done,
                        total,
                        unit: "runs",
                    };
                    self.link.batch_finished(run, outcome, batch, has_data);
                    return;
                }
                let has_data = self.history.latest().is_some();
                match self.link.finished_as(run, outcome, summary, has_data) {
                    (_, Some((outcome, summary))) => {
                        self.files.at_finish(&mut self.history, &mut self.insight);
                        self.history.finish(outcome, summary);
                    }
                    (FinishedRun::Refused, None) => {
                        self.files.refused(&mut self.history, &mut self.insight)
                    }
                    (_, None) => {}
                }
            }
        }
    }

    /// Record a marker of the current run and say what it means.
    fn mark(&mut self, run: RunId, marker: Marker, text: String) {
        if self.is_current(run) {
            self.history.add_marker(marker);
            self.info(text);
        }
    }

    fn info(&mut self, text: impl Into<String>) {
        self.link.info(text);
    }

    fn error(&mut self, text: impl Into<String>) {
        self.link.error(text);
    }

    fn start(&mut self) {
        self.scene_panel = None;
        let config = match ValidGrokkingConfig::try_from(self.draft.clone()) {
            Ok(c) => c,
            Err(e) => return self.error(format!("Start refused: {e}")),
        };
        let limit = crate::config::memory::memory_limit(None);
        if let Some(p) =
            config.window_memory_problem(&limit, self.files.settings.checkpoint_cadence())
        {
            return self.error(format!("Start refused: {}: {}", p.field, p.message));
        }
        // the previous run goes to the runs list; the worker records the new one
        self.with_runs(|files, ctx| files.start(ctx, config));
        self.plots.follow_latest();
    }

    /// Do what the phase section asked.
    fn phase_act(&mut self, act: PhaseAct) {
        match act {
            PhaseAct::None => {}
            PhaseAct::Run(cfg) => {
                self.phase_clicked = None;
                match ValidPhaseStudyConfig::try_from(*cfg) {
                    // flat out: the top bar's limit is for watching one run (a study's pace is
                    // a lesson's, `Teach::Start`)
                    Ok(c) => self.link.launch(ValidRunConfig::PhaseStudy(c), None),
                    Err(e) => self.error(format!("Study refused: {e}")),
                }
            }
            PhaseAct::Rerun(cfg) => {
                self.draft = *cfg;
                self.start();
            }
            PhaseAct::Open => self.apply_runs(RunsAction::Open),
        }
    }

    /// A phase study's folder was read: its map shows, finished, in the phase section (opened with
    /// the Runs panel's Open… or a lesson's `open`). Not over a study training now, whose map it is.
    fn study_opened(
        &mut self,
        path: PathBuf,
        result: Result<Box<crate::store::phase::PhaseCollected>, String>,
    ) {
        let c = match result {
            Ok(c) => c,
            Err(e) => return self.error(format!("cannot open {}: {e}", path.display())),
        };
        let study = self.phase.run.filter(|r| self.link.runs.is_current(*r));
        if study.is_some() && self.phase().active() {
            return self.error(format!(
                "{} not shown: a phase study is training; stop it first",
                path.display()
            ));
        }
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        // the box shows the preset the study is, if it is one: Run study then trains it again
        let same = |p: &crate::config::PhaseStudyConfig| {
            let mut p = p.clone();
            p.threads = c.config.threads;
            p == *c.config
        };
        if let Some(i) = crate::config::phase::phase_presets()
            .iter()
            .position(|p| same(&p.config))
        {
            self.phase_preset = i;
        }
        self.phase = PhaseViewState::opened(path, c.config.into(), c.runs);
        let (found, total) = self.phase.progress;
        self.phase_clicked = None;
        self.insight_view.set_visible(View::Phase, true);
        let mut text = format!("opened the phase study {name}: {found} of {total} runs");
        if !c.missing.is_empty() {
            text.push_str(&format!(", {} not run yet", c.missing.len()));
        }
        match c.unusable.first() {
            None => self.info(text),
            Some((file, why)) => self.error(format!(
                "{text}; {} result file{} unusable ({file}: {why})",
                c.unusable.len(),
                if c.unusable.len() == 1 { "" } else { "s" }
            )),
        }
    }

    /// The history, views and name of the run whose views are recomputed under `key`: a listed
    /// run's, or the current run's when it was opened from its folder under that key.
    fn recomputed_run(&mut self, key: u64) -> Option<(&mut RunHistory, &mut InsightStore, String)> {
        if self
            .files
            .current
            .opened
            .as_ref()
            .is_some_and(|o| o.key == key)
        {
            let name = self.files.current_name();
            return Some((&mut self.history, &mut self.insight, name));
        }
        self.files
            .listed
            .iter_mut()
            .find(|r| r.key == key)
            .map(|r| (&mut r.history, &mut r.insight, r.name.clone()))
    }

    /// A scene's run folder was read: it becomes the current run, as it was when the scene was
    /// saved (its curves in the current run's colours, with its restricted and excluded loss; the
    /// step counter at its step; its views, recomputed from its saved weights, at the scene's
    /// step). Not when a run was started or reset meanwhile: the folder is listed as opened.
    fn scene_opened(&mut self, path: &std::path::Path) {
        let Some((dir, cursor, marker)) = self.scene_pending.take_if(|(d, ..)| d == path) else {
            return;
        };
        let key = self
            .files
            .listed
            .iter()
            .rev()
            .find(|r| r.dir.as_deref() == Some(dir.as_path()))
            .map(|r| r.key);
        let Some(k) = key else { return };
        if self.link.runs.marker() != marker {
            return;
        }
        // its views are asked for under its key, and go to the current run once it is made one
        self.show_views_of(Some(k));
        if self.with_runs(|files, ctx| files.make_current(ctx, k)) {
            // a run still training here (the scene was opened over it) stops, as at a start
            self.link.show_ended();
            self.insight_view.of = None;
            self.plots.follow_latest();
        }
        self.insight_view.pinned = cursor;
        if let Some((step, _)) = self.history.latest()
            && !run_files::completed(&self.history)
        {
            // not "finished": it can go on (a teacher's audit)
            let cap = self.history.config().map_or(String::new(), |c| {
                format!(" of a {}-epoch run", c.max_epochs)
            });
            self.info(format!(
                "scene: the run is back, stopped at step {step}{cap} (Continue run in the Runs \
                 panel, or a lesson's Next, trains it on)"
            ));
        }
    }

    fn export_to(&mut self, kind: ExportKind, path: PathBuf) {
        match kind {
            ExportKind::Csv => {
                let table = self.history.table(&plotted_metrics());
                if let Err(e) = self.jobs.write_csv(path, table) {
                    self.error(format!("cannot start writing the CSV: {e}"));
                } else {
                    self.info("writing CSV…");
                }
            }
            ExportKind::Png => {
                let out = self.jobs.sender();
                self.awaiting_screenshot = true;
                // The picture is of the next painted frame; it is cropped when it arrives, to the
                // plots' rect of that frame (the layout may change in between, e.g. a closed prompt).
                self.ctx.request_screenshot(move |image| {
                    out.send(JobDone::Captured { path, image }.into())
                });
                self.info("capturing the plots…");
            }
        }
    }

    fn poll_jobs(&mut self) {
        while let Some(done) = self.jobs.try_recv() {
            match done {
                GrokJob::Shared(JobDone::Chosen {
                    kind,
                    path: Some(path),
                }) => self.export_to(kind, path),
                GrokJob::Shared(JobDone::Chosen { kind, path: None }) => {
                    // asked for, not a failure
                    self.info(
                        "no file chosen (or no file dialog available): type a path above the plots",
                    );
                    let text = std::env::current_dir()
                        .map(|d| d.join(kind.default_name()))
                        .unwrap_or_else(|_| PathBuf::from(kind.default_name()));
                    self.prompt = Some(PathPrompt {
                        kind,
                        text: text.display().to_string(),
                    });
                }
                GrokJob::Shared(JobDone::Captured { path, image }) => {
                    self.awaiting_screenshot = false;
                    // `plots_rect` is from the last frame drawn: the one the screenshot shows.
                    let Some(rect) = self.plots.plots_rect else {
                        self.error("PNG export failed: no plots drawn yet");
                        continue;
                    };
                    let ppp = self.ctx.pixels_per_point();
                    if let Err(e) = self.jobs.write_png(path, image, rect, ppp) {
                        self.error(format!("cannot start writing the PNG: {e}"));
                    } else {
                        self.info("writing PNG…");
                    }
                }
                GrokJob::Folder {
                    purpose,
                    path: Some(path),
                } => {
                    self.with_runs(|files, ctx| files.folder_chosen(ctx, purpose, path));
                }
                GrokJob::Folder {
                    purpose,
                    path: None,
                } => {
                    self.with_runs(|files, ctx| files.no_folder(ctx, purpose));
                    // the typed folder is asked for in the Runs panel: it opens, where it was
                    // closed or hidden (the phase section's Open study… asked from outside it)
                    self.files.settings.runs_open = Some(true);
                    self.link.panels.set_shown("runs", true);
                }
                GrokJob::Copied { parent, run, then } => {
                    self.with_runs(|files, ctx| files.copied(ctx, parent, run, then));
                }
                GrokJob::Opened {
                    purpose,
                    path,
                    result,
                } => {
                    self.with_runs(|files, ctx| files.opened(ctx, purpose, &path, result));
                    self.plots.follow_latest();
                    self.scene_opened(&path);
                }
                // figure exports and the Lessons window's dialogs run on the window's own jobs,
                // never on this lab's
                GrokJob::Shared(JobDone::Figure(_) | JobDone::LessonFile { .. }) => {}
                GrokJob::StudyOpened { path, result } => self.study_opened(path, result),
                GrokJob::Insight { key, snap } => {
                    let Some((history, insight, name)) = self.recomputed_run(key) else {
                        continue;
                    };
                    match snap {
                        Ok(snap) => {
                            add_ablation_points(history, &snap);
                            insight.push(*snap);
                        }
                        Err(e) => {
                            // the views of a run without any say why
                            if insight.is_empty() {
                                insight.source = e.clone();
                            }
                            self.error(format!("{name}: {e}"));
                        }
                    }
                }
                GrokJob::FinalKeys {
                    key,
                    step,
                    epoch,
                    ablation,
                } => {
                    let Some((history, insight, _)) = self.recomputed_run(key) else {
                        continue;
                    };
                    add_final_key_points(history, step, epoch, &ablation);
                    insight.final_keys = ablation.keys;
                }
                GrokJob::InsightDone { key, error } => {
                    let Some((_, run, name)) = self.recomputed_run(key) else {
                        continue;
                    };
                    let steps = run.steps();
                    if !steps.is_empty() {
                        let (first, last) = (steps[0], steps[steps.len() - 1]);
                        run.source = if steps.len() == 1 {
                            format!("from the saved weights of step {first}")
                        } else {
                            format!(
                                "from the saved weights of {} steps, {first} to {last}",
                                steps.len()
                            )
                        };
                    } else if run.source.starts_with("recomputing") {
                        // none, and no file said why (a refused one set the reason already)
                        run.source = match &error {
                            Some(e) => format!("cannot read its saved weights: {e}"),
                            None => "no checkpoint or frame to recompute them from".into(),
                        };
                    }
                    let why_none = run.source.clone();
                    match error {
                        Some(e) => {
                            self.error(format!("{name}: cannot read its saved weights: {e}"))
                        }
                        // no step at all is no recomputing ("recomputed at 0 saved steps" stood
                        // beside the panel's reason: a helper's audit, 2026-12-06)
                        None if steps.is_empty() => {
                            self.error(format!("{name}: no insight views: {why_none}"))
                        }
                        None => self.info(format!(
                            "{name}: insight views recomputed at {} saved step{}",
                            steps.len(),
                            if steps.len() == 1 { "" } else { "s" }
                        )),
                    }
                }
                GrokJob::Shared(JobDone::Written { kind, path, result }) => match result {
                    Ok(()) => self.info(format!("saved {kind} to {}", path.display())),
                    Err(message) => self.error(format!("{kind} export failed: {message}")),
                },
            }
        }
    }
}

pub use crate::export::compare::ABLATION_CURVES;

/// What the phase section asks for.
enum PhaseAct {
    None,
    /// Run this study.
    Run(Box<crate::config::PhaseStudyConfig>),
    /// Train one of its runs again, live, as the lab's current run.
    Rerun(Box<crate::config::GrokkingConfig>),
    /// Choose a study's folder (written by `grokscope phase --out`) and show it.
    Open,
}

/// The phase diagram: a preset and its Run button, the grid filling in, the clicked cell's runs.
fn phase_section_ui(
    ui: &mut Ui,
    state: &PhaseViewState,
    preset: &mut usize,
    clicked: &mut Option<PhaseClick>,
    active: bool,
    chosen: Option<&crate::config::PhaseStudyConfig>,
) -> PhaseAct {
    let mut act = PhaseAct::None;
    let presets = crate::config::phase::phase_presets();
    ui.label(
        egui::RichText::new("When does grokking happen?")
            .strong()
            .size(15.0),
    );
    ui.horizontal_wrapped(|ui| {
        let title = presets.get(*preset).map_or("", |p| p.title);
        // the box says the study without its timing ("Phase diagram, 6 x 6, 2 seeds"), within the
        // row beside its button: its whole title once widened the side panel over the plots
        let short = title.split(" (").next().unwrap_or(title);
        let room = (ui.available_width() - 110.0).clamp(120.0, 260.0);
        egui::ComboBox::from_id_salt("phase_preset")
            .selected_text(short)
            .width(room)
            .truncate()
            .show_ui(ui, |ui| {
                for (i, p) in presets.iter().enumerate() {
                    ui.selectable_value(preset, i, p.title)
                        .on_hover_text(p.description);
                }
            })
            .response
            .on_hover_text(title);
        let run = ui
            .add_enabled(!active, egui::Button::new("▶ Run study"))
            .on_hover_text("Train every (weight decay, train fraction) cell and seed of the study on the cores, filling in the diagram as runs finish")
            .on_disabled_hover_text("A run or study is active: stop it first");
        if run.clicked()
            && let Some(p) = presets.get(*preset)
        {
            act = PhaseAct::Run(Box::new(p.config.clone()));
        }
        if ui
            .add_enabled(!active, egui::Button::new("Open study…"))
            .on_hover_text("Show a finished study from its folder (what `grokscope phase --out DIR` wrote, e.g. assets/phase/default): its map at once, without training it")
            .on_disabled_hover_text("A run or study is active: stop it first")
            .clicked()
        {
            act = PhaseAct::Open;
        }
        if let Some(dir) = &state.folder {
            let name = dir
                .file_name()
                .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned());
            ui.weak(format!("shown from the folder {name}"))
                .on_hover_text(dir.display().to_string());
        }
    });
    if state.config.is_some() {
        // (the map's title says how many of its runs have finished)
        // the clicked cell's runs are listed below the map: its cells leave them room (they were
        // drawn below the window's edge: a helper's audit, 2026-12-06)
        let below_rows = clicked.as_ref().map_or(0, |c| c.runs.len() + 1);
        if let Some(c) = phase_view(ui, state, below_rows) {
            *clicked = Some(c);
        }
    } else {
        ui.weak("Choose a study and run it: each cell is a weight decay and a train fraction, coloured by what most of its seeds did (no learning, memorisation only, grokking, comprehension), with the mean delay.");
        // the chosen study's map, empty: its axes before anything runs (a lesson's room predicts
        // on it; it was two-thirds blank)
        let skeleton = chosen
            .cloned()
            .or_else(|| presets.get(*preset).map(|p| p.config.clone()));
        if let Some(cfg) = skeleton {
            phase_view(ui, &PhaseViewState::new(cfg, vec![]), 0);
        }
    }
    if let Some(c) = clicked.as_ref() {
        ui.label(egui::RichText::new("Runs of the clicked cell").strong());
        for r in &c.runs {
            ui.horizontal(|ui| {
                ui.label(format!(
                    "seed {}: {} (t_train {}, t_val98 {})",
                    r.task.seed,
                    r.class.outcome,
                    r.t_train.map_or("–".into(), |t| t.to_string()),
                    r.t_val98.map_or("–".into(), |t| t.to_string()),
                ));
                if ui
                    .add_enabled(!active, egui::Button::new("Train it live"))
                    .on_hover_text("Train this run again in the lab (same config and seed: the same numbers), with its plots and insight views")
                    .clicked()
                {
                    act = PhaseAct::Rerun(Box::new(r.config.clone()));
                }
            });
        }
    }
    ui.separator();
    act
}

/// The snapshots of the current run (`of` = `None`) or of a listed run (none for a run no longer listed).
fn store_of<'a>(
    current: &'a InsightStore,
    files: &'a RunFiles,
    of: Option<u64>,
) -> &'a InsightStore {
    static EMPTY: std::sync::OnceLock<InsightStore> = std::sync::OnceLock::new();
    match of {
        None => current,
        Some(k) => files
            .listed
            .iter()
            .find(|r| r.key == k)
            .map_or_else(|| EMPTY.get_or_init(InsightStore::default), |r| &r.insight),
    }
}

/// The points of the final keys' restricted and excluded loss at `step`.
fn add_final_key_points(
    history: &mut RunHistory,
    step: u64,
    epoch: u64,
    ab: &crate::analysis::ablation::AblationLosses,
) {
    let metrics = [Metric::RestrictedLossFinal, Metric::ExcludedLossFinal];
    add_loss_points(history, step, epoch, ab, metrics);
}

/// A snapshot's restricted and excluded loss (its own keys) as points of the history's loss plot.
fn add_ablation_points(history: &mut RunHistory, snap: &InsightSnapshot) {
    if let Some(ab) = &snap.ablation {
        let metrics = [Metric::RestrictedLoss, Metric::ExcludedLoss];
        add_loss_points(history, snap.step, snap.epoch, ab, metrics);
    }
}

/// The restricted and excluded loss of `ab` at `step` as points of `metrics` (finite ones only).
fn add_loss_points(
    history: &mut RunHistory,
    step: u64,
    epoch: u64,
    ab: &crate::analysis::ablation::AblationLosses,
    [restricted, excluded]: [Metric; 2],
) {
    for (metric, v) in [(restricted, ab.restricted), (excluded, ab.excluded)] {
        if let Some(v) = v.filter(|v| v.loss.is_finite()) {
            let point = Point {
                step,
                epoch,
                value: v.loss,
            };
            history.insert_point(metric, point);
        }
    }
}

impl LabSlot for GrokkingLab {
    super::slot_basics!(super::Lab::Grokking);

    /// A phase study's threads run whole runs: while one runs it can be stopped, not paused,
    /// stepped or slowed down (a pause held back its results while its threads went on).
    fn controls(&self) -> Controls {
        self.link.controls_with(self.phase.run)
    }

    /// The run's step and epoch, or the phase study's runs done while it is the lab's latest.
    fn counter(&self) -> Counter {
        if let Some(run) = self.phase.run
            && self.link.runs.is_current(run)
        {
            // (before its first run ends, the count of its config's runs)
            let (done, total) = match self.phase.progress {
                (0, 0) => (0, self.phase.config.as_ref().map_or(0, |c| c.task_count())),
                p => p,
            };
            return Counter::Text(format!("{done} of {total} runs"));
        }
        self.link.counter(self.history.latest())
    }

    fn counts(&self) -> (Option<u64>, usize) {
        (self.history.param_count(), self.history.dropped_rows())
    }

    fn problems(&self) -> Vec<FieldProblem> {
        match self.draft.validate() {
            Err(e) => e.problems,
            // a config in range that a run could not hold in memory (the worker refuses it too)
            Ok(()) => self
                .draft
                .window_memory_problem(
                    &crate::config::memory::memory_limit(None),
                    self.files.settings.checkpoint_cadence(),
                )
                .into_iter()
                .collect(),
        }
    }

    fn drain(&mut self, deadline: Instant) -> bool {
        self.poll_jobs();
        let mut more = false;
        while let Some(event) = self.link.next_event(deadline, &mut more) {
            self.handle_event(event);
        }
        more
    }

    /// A phase study shows nothing that moves between its runs' results (each wakes the window), so a
    /// frame a second does: the frames a quarter second apart took a software renderer two fifths
    /// of the 2 cores the study trains on (measured under Xvfb), the study's threads the rest.
    fn frames_every(&self) -> Option<std::time::Duration> {
        if self.busy() {
            return Some(super::FRAMES_EVERY);
        }
        let active = self.phase().active();
        let study = active && self.phase.run.is_some_and(|r| self.link.runs.is_current(r));
        if study {
            Some(std::time::Duration::from_secs(1))
        } else {
            active.then_some(super::FRAMES_EVERY)
        }
    }

    fn config_ui(&mut self, ui: &mut Ui, problems: &[FieldProblem]) -> Action {
        let run_active = self.link.runs.phase().active();
        // only while the panel holds what the run ended with (not another run opened since, nor
        // the panel edited after it)
        let changed_run = match self.history.config() {
            Some(start) if !run_active && *start != self.draft => {
                let mut ended = start.clone();
                for m in self.history.markers() {
                    match m.kind {
                        MarkerKind::Change(HyperChange::Lr(v)) => ended.optim.lr = v,
                        MarkerKind::Change(HyperChange::WeightDecay(v)) => {
                            ended.optim.weight_decay = v
                        }
                        MarkerKind::Grok(_) => {}
                    }
                }
                (ended == self.draft).then(|| (super::changes_of(&self.history), start))
            }
            _ => None,
        };
        let panel = ConfigPanel {
            presets: self.presets.all(),
            preset: self.presets.chosen(),
            run_active,
            problems,
            changed_run,
        };
        config_ui(ui, &mut self.draft, &panel)
    }

    fn side_panels_ui(&mut self, ui: &mut Ui) {
        let phase = self.link.runs.phase();
        let busy = self.busy();
        let width = ui.ctx().content_rect().width();
        if self.link.panels.shown("runs") {
            // a lesson pointing at the Runs panel (or its list) opens it while it points (the
            // user's choice stays)
            let pointed = matches!(self.link.panels.highlight(), Some("runs" | "runs_list"));
            let list_shown = self.link.panels.shown("runs_list");
            let mut open = pointed
                || self
                    .files
                    .settings
                    .runs_open
                    .unwrap_or_else(|| layout::runs_open_by_default(width));
            let was_open = open;
            let side = layout::runs(width);
            let folded = egui::Panel::right("runs_panel_folded")
                .resizable(false)
                .exact_size(layout::FOLDED);
            let expanded = egui::Panel::right("runs_panel")
                .resizable(true)
                .default_size(side.default)
                .size_range(side.range);
            let runs = egui::Panel::show_switched(ui, &mut open, folded, expanded, |ui, shown| {
                if shown {
                    let (files, history, draft) = (&mut self.files, &self.history, &self.draft);
                    runs_panel_ui(ui, files, history, draft, phase, busy, list_shown)
                } else {
                    (RunsAction::None, layout::folded_tab_ui(ui, "Runs"), None)
                }
            });
            let (act, toggle, list) = runs.inner;
            if let Some(rect) = list {
                self.link.panels.drawn("runs_list", rect);
            }
            if toggle {
                open = !open;
            }
            if open != was_open && !pointed {
                self.files.settings.runs_open = Some(open);
            }
            self.link.panels.drawn("runs", runs.response.rect);
            self.apply_runs(act);
        }
        // nothing to show beside the centre (the phase diagram alone takes the centre when the plots
        // are hidden)
        let only_phase = self.insight_view.visible.iter().all(|v| *v == View::Phase);
        if self.insight_view.visible.is_empty() || (only_phase && !self.link.panels.shown("plots"))
        {
            return;
        }
        // a view a lesson just highlighted is scrolled into sight once; a highlight elsewhere (or
        // none) scrolls the views back to their top, so that a step is not shown the views where
        // the last one scrolled them (the clock-inside lesson's step on the plots opened with the
        // spectrum scrolled away, because the step before had highlighted the clock below it)
        let highlight = self.link.panels.highlight().map(str::to_string);
        if highlight != self.last_highlight {
            let first = self
                .insight_view
                .visible
                .iter()
                .copied()
                .find(|v| *v != View::Phase);
            self.insight_view.scroll_to = highlight
                .as_deref()
                .and_then(|k| View::ALL.into_iter().find(|v| v.key() == k))
                .or(first);
            self.last_highlight = highlight;
        }
        self.split();
        let split = self.split.as_ref().map_or(&[][..], |(_, s)| s);
        let store = store_of(&self.insight, &self.files, self.insight_view.of);
        // the shown run's validation loss, which the restricted loss is read against
        let val_loss = match self.insight_view.of {
            None => self.history.series(Metric::ValLoss),
            Some(k) => self
                .files
                .listed
                .iter()
                .find(|r| r.key == k)
                .map_or(&[][..], |r| r.history.series(Metric::ValLoss)),
        };
        let view = &mut self.insight_view;
        let active = self.link.runs.phase().active();
        let (phase, preset, clicked) =
            (&self.phase, &mut self.phase_preset, &mut self.phase_clicked);
        let chosen = self.lesson_study.as_deref();
        // with the plots hidden the phase diagram takes the centre (see `centre_ui`)
        let plots_shown = self.link.panels.shown("plots");
        // the presenter view gives the views (what a class looks at) almost half the width
        let presenting = crate::app::teach::presenter::Look::of(ui.ctx()).presenting;
        let side = layout::insight(width);
        let panel = if presenting {
            let w = (ui.available_width() * 0.45).clamp(240.0, 900.0);
            // one panel a zoom: the frame that turns the presenter view on is still drawn at the old
            // zoom, and a panel sized there (0.45 of 1600 points, say, not of 1067) kept that width,
            // clamped to its largest, at the new one
            let zoom = (ui.ctx().zoom_factor() * 100.0).round() as i32;
            egui::Panel::right(("insight_panel_presenter", zoom)).default_size(w)
        } else {
            egui::Panel::right("insight_panel").default_size(side.default)
        };
        let (act, rects) = panel
            .resizable(true)
            .size_range(side.range)
            .show(ui, |ui| {
                if !crate::app::teach::presenter::Look::of(ui.ctx()).presenting {
                    toggles_ui(ui, view);
                }
                let mut rects = vec![];
                let act = if view.shows(View::Phase) && plots_shown {
                    let r =
                        ui.scope(|ui| phase_section_ui(ui, phase, preset, clicked, active, chosen));
                    rects.push((View::Phase, r.response.rect));
                    r.inner
                } else {
                    PhaseAct::None
                };
                rects.extend(insight_panel_ui(ui, view, store, split, val_loss));
                (act, rects)
            })
            .inner;
        for (v, rect) in rects {
            self.link.panels.drawn(v.key(), rect);
        }
        self.phase_act(act);
    }

    fn centre_ui(&mut self, ui: &mut Ui) -> Action {
        let busy = self.busy();
        // the presenter view leaves out the plots' own controls
        let presenting = crate::app::teach::presenter::Look::of(ui.ctx()).presenting;
        let a = if presenting {
            Action::None
        } else {
            plots_toolbar_ui(ui, &mut self.plots, self.prompt.as_mut(), busy)
        };
        // a lesson may hide single rows of the plots; hiding them all hides the plots
        self.plots.row_rects.clear();
        self.plots.hidden_rows = PLOTS
            .iter()
            .map(|spec| spec.id)
            .filter(|id| !self.link.panels.shown(id))
            .collect();
        let plots_shown =
            self.link.panels.shown("plots") && self.plots.hidden_rows.len() < PLOTS.len();
        if !plots_shown && self.insight_view.shows(View::Phase) {
            // the phase diagram takes the centre when a lesson hides the plots
            let active = self.link.runs.phase().active();
            let r = ui.scope(|ui| {
                phase_section_ui(
                    ui,
                    &self.phase,
                    &mut self.phase_preset,
                    &mut self.phase_clicked,
                    active,
                    self.lesson_study.as_deref(),
                )
            });
            self.link.panels.drawn("phase", r.response.rect);
            self.phase_act(r.inner);
            return a;
        }
        if !plots_shown && self.shown_store().is_empty() {
            return a;
        }
        let runs: Vec<(u64, String)> = self
            .files
            .listed
            .iter()
            .map(|r| r.key)
            .zip(self.files.listed_names())
            .collect();
        let training = self.link.runs.phase().active();
        match scrub_ui(ui, &self.insight_view, self.shown_store(), &runs, training) {
            ScrubAction::None => {}
            ScrubAction::Pin(step) => self.insight_view.pinned = Some(step),
            ScrubAction::Follow => self.insight_view.pinned = None,
            ScrubAction::Of(of) => self.show_views_of(of),
        }
        self.plots.cursor = self
            .insight_view
            .pinned
            .and_then(|step| self.shown_store().at(step).map(|s| s.step));
        // one pair of ablation curves: the final model's keys once the current run has them (unless
        // asked for each snapshot's own), else each snapshot's; with no current run's curves, the
        // final keys' once a listed (opened) run has them
        let has_final = |h: &RunHistory| {
            !h.series(Metric::RestrictedLossFinal).is_empty()
                || !h.series(Metric::ExcludedLossFinal).is_empty()
        };
        let final_keys = if has_final(&self.history)
            || !self.history.series(Metric::RestrictedLoss).is_empty()
        {
            has_final(&self.history)
        } else {
            self.files.listed.iter().any(|r| has_final(&r.history))
        };
        self.plots.hidden = if !self.insight_view.shows(View::Ablation) {
            ABLATION_CURVES.to_vec()
        } else if final_keys && !self.insight_view.own_keys {
            vec![Metric::RestrictedLoss, Metric::ExcludedLoss]
        } else {
            vec![Metric::RestrictedLossFinal, Metric::ExcludedLossFinal]
        };
        if !plots_shown {
            return a;
        }
        self.plots.later_from = self.insight_view.later_from();
        let smoothing = self.shown_smoothing();
        let compare = self
            .files
            .compare(&self.history, self.plots.log_x, smoothing);
        if !compare.overlays.is_empty() {
            // runs compared: their colours name the runs and the line styles train and
            // validation; the ablation's curves, one pair a run in the same colour, had no style
            // of their own and tangled the loss plot (a helper's audit): one run shows them
            self.plots.hidden.extend(ABLATION_CURVES);
        }
        plots_compare_ui(ui, &mut self.plots, &self.history, compare);
        if let Some(rect) = self.plots.plots_rect {
            self.link.panels.drawn("plots", rect);
        }
        for &(id, rect) in &self.plots.row_rects {
            self.link.panels.drawn(id, rect);
        }
        if let Some(step) = self.plots.clicked_step.take()
            && !self.shown_store().is_empty()
        {
            self.insight_view.pinned = Some(step);
        }
        a
    }

    fn apply(&mut self, action: Action, ctx: LabCtx) {
        self.speed = ctx.speed;
        if self.link.control(&action) {
            return;
        }
        match action {
            // the Grokking lab has no studies; the run controls were handled above
            Action::None
            | Action::StartStudy
            | Action::Pause
            | Action::Resume
            | Action::Step
            | Action::Stop
            | Action::SetSpeed(_)
            | Action::PauseAt(_)
            | Action::Change(_) => {}
            Action::Start => self.start(),
            Action::Reset => {
                self.link.reset();
                self.history.clear();
                self.insight.clear();
                self.insight_view.pinned = None;
                self.files.forget_current();
                self.plots.follow_latest();
                self.info("reset: plots cleared");
            }
            Action::SelectPreset(i) => {
                if let Some((config, text)) = self.presets.choose(i) {
                    self.draft = config;
                    self.info(text);
                }
            }
            Action::Export(kind) => {
                if let Err(e) = self.jobs.choose_path(Arc::clone(&self.dialog), kind) {
                    self.error(format!("cannot open a file dialog: {e}"));
                } else {
                    self.info(format!("choosing where to save the {kind}…"));
                }
            }
            Action::ExportTo(kind, path) => {
                if path.as_os_str().is_empty() {
                    self.error("type a file path first");
                } else {
                    self.prompt = None;
                    self.export_to(kind, path);
                }
            }
            Action::CancelExportPath => self.prompt = None,
        }
    }

    fn figure_set(&self) -> FigureSet {
        let mut set = grokking_set(&self.history, self.plots.log_x);
        // the runs the plots compare, as they draw them (each run's config in the figure's data)
        set.figures
            .extend(self.files.compare_figures(&self.history, self.plots.log_x));
        // smoothed as the plots draw them (the raw curves faint; the note and the CSV say so)
        crate::export::labs::smooth_figures(&mut set.figures, self.shown_smoothing());
        add_insight_figures(
            &mut set,
            self.shown_snapshot(),
            self.shown_store(),
            self.views_history(),
            self.insight_view.of.is_some(),
            self.insight_view.own_keys,
        );
        // the phase diagram of the study shown (as `grokscope export DIR --figure phase` draws it)
        if let Some(cfg) = &self.phase.config
            && self.insight_view.shows(View::Phase)
            && !self.phase.runs.is_empty()
        {
            set.figures
                .extend(crate::export::labs::phase_figures(cfg, self.phase.cells()));
            if set.config.is_null() {
                set.config = serde_json::to_value(cfg).unwrap_or_default();
            }
        }
        set
    }

    fn save(&self, storage: &mut dyn eframe::Storage) {
        let persisted = Persisted {
            runs: self.files.settings.clone(),
            smoothing: self.plots.smoothing.get(),
        };
        eframe::set_value(storage, eframe::APP_KEY, &persisted);
    }

    fn preset_names(&self) -> Vec<&'static str> {
        self.presets.names()
    }

    fn panels(&self) -> &'static [PanelName] {
        &PANELS
    }

    fn shown_steps(&self) -> Option<(Option<u64>, u64)> {
        let latest = self.history.latest()?.0;
        Some((self.insight_view.pinned, latest))
    }

    fn show_as_of(&mut self, step: Option<u64>) {
        self.insight_view.as_of = step;
    }

    /// "stopped" for a run shown that ended before its end: a scene's run opened from its folder
    /// (saved while it paused) read "finished" at step 72 of 5000 epochs (a teacher's audit), though
    /// Continue run (or a lesson's Next) trains it on.
    fn phase_word(&self) -> &'static str {
        match self.phase() {
            Phase::Finished
                if self.history.latest().is_some()
                    && !self.phase.run.is_some_and(|r| self.link.runs.is_current(r))
                    && !run_files::completed(&self.history) =>
            {
                "stopped"
            }
            p => p.word(),
        }
    }

    fn reached(&self, milestone: Milestone) -> bool {
        let hit = |kind: GrokEvent| {
            self.history
                .markers()
                .iter()
                .any(|m| m.kind == MarkerKind::Grok(kind))
        };
        match milestone {
            Milestone::Memorised => hit(GrokEvent::Memorised),
            Milestone::Generalised => hit(GrokEvent::Generalised),
            Milestone::Finished => self.phase() == Phase::Finished,
            Milestone::Step(n) => self.history.latest().is_some_and(|(s, _)| s >= n),
            // the tasks of a phase study
            Milestone::Tasks(n) => self.phase.progress.0 >= n,
        }
    }

    fn teach(&mut self, request: Teach, ctx: LabCtx) -> Result<String, String> {
        self.teach_request(request, ctx)
    }

    fn show_panel(&mut self, key: &str, shown: bool) {
        match View::ALL.into_iter().find(|v| v.key() == key) {
            Some(v) => self.insight_view.set_visible(v, shown),
            None => self.link.panels.set_shown(key, shown),
        }
    }

    fn panel_shown(&self, key: &str) -> bool {
        match View::ALL.into_iter().find(|v| v.key() == key) {
            Some(v) => self.insight_view.shows(v),
            None => self.link.panels.shown(key),
        }
    }

    fn view_options(&self) -> &'static [&'static str] {
        &[LOG_STEPS]
    }

    fn view_option(&self, key: &str) -> Option<bool> {
        (key == LOG_STEPS).then_some(self.plots.log_x)
    }

    fn set_view_option(&mut self, key: &str, on: bool) -> bool {
        if key != LOG_STEPS {
            return false;
        }
        self.plots.set_log_x(on);
        true
    }

    fn smoothing(&self) -> Option<f64> {
        Some(self.plots.smoothing.get())
    }

    fn set_smoothing(&mut self, w: f64) -> bool {
        self.plots.smoothing = Weight::new(w);
        true
    }

    fn scene(&self) -> LabScene {
        self.scene_state()
    }

    fn check_config(&self, table: &toml::Table) -> Result<(), String> {
        super::checked_config(table, GrokkingConfig::validate).map(|_| ())
    }
}

super::preset_fields!(Preset, GrokkingConfig);
