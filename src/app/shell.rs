//! [`GrokscopeApp`]: the window's state, its bars, the event drain and the action handler.

use super::actions::{Action, ExportKind};
use super::backend::{Backend, Unattached};
use super::capacity_lab::CapacityLab;
use super::dialog::FileDialog;
use super::figure_export::{FigureExport, FigureRequest, FigureSet};
use super::jobs::{JobDone, Jobs};
use super::meters::FrameTimer;
use super::ordering_lab::OrderingLab;
use super::run_files::{RunFiles, RunsAction, RunsCtx, RunsSettings};
use super::runs::{LabLink, Phase, Status};
use super::views::grokking::{ConfigPanel, config_ui, error_color, group_digits};
use super::views::plots::{
    PathPrompt, PlotView, plots_compare_ui, plots_toolbar_ui, plotted_metrics,
};
use super::views::runs::runs_panel_ui;
use crate::config::{FieldProblem, GrokkingConfig, Preset, RunConfig, presets};
use crate::protocol::{Event, GrokEvent, Outcome, RunId, Summary};
use crate::store::{Marker, MarkerKind, RunHistory};
use anyhow::Context as _;
use eframe::egui::{self, Color32, Key, Modifiers, RichText, Ui};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Oldest the Export figure window's figures may be before they are built again.
const FIGURE_SET_MAX_AGE: Duration = Duration::from_millis(500);

/// Longest time one frame spends taking events from the worker; the rest wait for the next frame.
const DRAIN_BUDGET: Duration = Duration::from_millis(4);

/// The labs of the app; each has its own worker, so a run of one goes on while another is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lab {
    /// Modular arithmetic: memorisation, then generalisation.
    Grokking,
    /// Memorisation speed vs generalisation speed across model sizes (spec section 2).
    Capacity,
    /// Orderedness of a complete layer under pruning (Song 2025).
    Ordering,
}

impl Lab {
    pub const ALL: [Lab; 3] = [Lab::Grokking, Lab::Capacity, Lab::Ordering];

    fn available(self) -> bool {
        match self {
            Lab::Grokking | Lab::Capacity | Lab::Ordering => true,
        }
    }
}

impl fmt::Display for Lab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Lab::Grokking => "Grokking",
            Lab::Capacity => "Capacity",
            Lab::Ordering => "Ordering",
        })
    }
}

/// The UI state kept across restarts (eframe storage, under [`eframe::APP_KEY`]). Missing fields
/// take their defaults; a value that does not parse as a whole gives all defaults.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Persisted {
    /// The Grokking lab's Runs panel.
    pub runs: RunsSettings,
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

/// The speed control.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Speed {
    limited: bool,
    steps_per_sec: f64,
}

impl Speed {
    fn command(self) -> Option<f64> {
        self.limited.then_some(self.steps_per_sec)
    }
}

/// The grokscope window.
pub struct GrokscopeApp {
    ctx: egui::Context,
    /// The Grokking lab's worker, run and status line.
    link: LabLink,
    dialog: Arc<dyn FileDialog>,
    jobs: Jobs,
    lab: Lab,
    presets: Vec<Preset>,
    preset: usize,
    draft: GrokkingConfig,
    history: RunHistory,
    plots: PlotView,
    speed: Speed,
    ordering: OrderingLab,
    capacity: CapacityLab,
    frames: FrameTimer,
    prompt: Option<PathPrompt>,
    /// A PNG export waiting for its screenshot.
    awaiting_screenshot: bool,
    /// The Grokking lab's runs on disk and the runs compared.
    files: RunFiles,
    /// The Export figure window (any plot of the lab shown as PNG/SVG/PDF).
    figure_export: FigureExport,
    /// The figures the Export figure window offers, with the lab and time they were built for.
    figure_sets: Option<(Lab, Instant, FigureSet)>,
}

impl GrokscopeApp {
    /// The app with a real training worker per lab, woken through `request_repaint`.
    pub fn new(
        cc: &eframe::CreationContext<'_>,
        dialog: Arc<dyn FileDialog>,
    ) -> anyhow::Result<Self> {
        let spawn = |lab: &str| {
            let ctx = cc.egui_ctx.clone();
            let waker: Box<dyn Fn() + Send + Sync> = Box::new(move || ctx.request_repaint());
            crate::worker::Worker::spawn_named(
                &format!("grokscope-{}", lab.to_lowercase()),
                Some(waker),
            )
            .with_context(|| format!("cannot start the {lab} lab's training worker thread"))
        };
        let grokking = spawn("Grokking")?;
        let ordering = spawn("Ordering")?;
        let capacity = spawn("Capacity")?;
        Ok(Self::with_backend(cc, dialog, Box::new(grokking))
            .with_ordering_backend(Box::new(ordering))
            .with_capacity_backend(Box::new(capacity)))
    }

    /// The app with `backend` for the Grokking lab (tests pass a scripted one). The Ordering lab gets
    /// no worker (its starts are refused) until [`Self::with_ordering_backend`] gives it one.
    pub fn with_backend(
        cc: &eframe::CreationContext<'_>,
        dialog: Arc<dyn FileDialog>,
        backend: Box<dyn Backend>,
    ) -> Self {
        let ctx = cc.egui_ctx.clone();
        install_fonts(&ctx);
        let wake_ctx = ctx.clone();
        let presets = presets();
        // Invariant: `presets()` is a fixed, non-empty list (its first entry is the launch default).
        let draft = presets
            .first()
            .expect("presets() is never empty")
            .config
            .clone();
        Self {
            ctx,
            link: LabLink::new(
                backend,
                "ready: choose a preset, then Start (or press Space)",
            ),
            dialog,
            jobs: Jobs::new(Arc::new(move || wake_ctx.request_repaint())),
            lab: Lab::Grokking,
            presets,
            preset: 0,
            draft,
            history: RunHistory::new(),
            plots: PlotView::default(),
            speed: Speed {
                limited: false,
                steps_per_sec: 100.0,
            },
            ordering: OrderingLab::new(Box::new(Unattached::default())),
            capacity: CapacityLab::new(Box::new(Unattached::default())),
            frames: FrameTimer::default(),
            prompt: None,
            awaiting_screenshot: false,
            files: RunFiles::with_settings(Persisted::load(cc.storage).runs),
            figure_export: FigureExport::default(),
            figure_sets: None,
        }
    }

    /// The Ordering lab talks to `backend` (its own worker; tests pass a scripted one).
    #[must_use]
    pub fn with_ordering_backend(mut self, backend: Box<dyn Backend>) -> Self {
        self.ordering = OrderingLab::new(backend);
        self
    }

    /// The Capacity lab talks to `backend` (its own worker; tests pass a scripted one).
    #[must_use]
    pub fn with_capacity_backend(mut self, backend: Box<dyn Backend>) -> Self {
        self.capacity = CapacityLab::new(backend);
        self
    }

    /// The Capacity lab (its sweep, results and figures).
    pub fn capacity(&self) -> &CapacityLab {
        &self.capacity
    }

    pub fn capacity_mut(&mut self) -> &mut CapacityLab {
        &mut self.capacity
    }

    /// The lab whose tab is shown.
    pub fn lab(&self) -> Lab {
        self.lab
    }

    /// Show `lab`'s tab (as clicking it would; labs not built yet are refused).
    pub fn show_lab(&mut self, lab: Lab) {
        if lab.available() {
            self.lab = lab;
        }
    }

    /// The Ordering lab (its config, histories and phase).
    pub fn ordering(&self) -> &OrderingLab {
        &self.ordering
    }

    pub fn ordering_mut(&mut self) -> &mut OrderingLab {
        &mut self.ordering
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
        self.with_runs(|files, ctx| files.apply(action, ctx));
    }

    /// What the plots draw besides the current run (built as the next frame would).
    pub fn compared(&mut self) -> &super::views::plots::Compare {
        self.files.compare(&self.history, self.plots.log_x)
    }

    /// The marker labels the Grokking plots drew in the last frame (the current run's and the
    /// compared runs').
    pub fn marker_labels(&self) -> &[super::views::plots::MarkerLabel] {
        &self.plots.labelled
    }

    /// Let the runs code act on the lab's link, jobs and history.
    fn with_runs<R>(&mut self, f: impl FnOnce(&mut RunFiles, &mut RunsCtx<'_>) -> R) -> R {
        let mut ctx = RunsCtx {
            link: &mut self.link,
            jobs: &mut self.jobs,
            dialog: &self.dialog,
            history: &mut self.history,
            speed: self.speed.command(),
        };
        f(&mut self.files, &mut ctx)
    }

    /// The config in the panel (what Start would run).
    pub fn config(&self) -> &GrokkingConfig {
        &self.draft
    }

    /// Edit the config in the panel directly.
    pub fn config_mut(&mut self) -> &mut GrokkingConfig {
        &mut self.draft
    }

    /// The Grokking run's phase.
    pub fn phase(&self) -> Phase {
        self.link.runs.phase()
    }

    /// The status line of the lab shown.
    pub fn status(&self) -> &Status {
        match self.lab {
            Lab::Ordering => self.ordering.status(),
            Lab::Capacity => self.capacity.status(),
            Lab::Grokking => self.link.status(),
        }
    }

    /// The phase of the lab shown.
    fn active_phase(&self) -> Phase {
        match self.lab {
            Lab::Ordering => self.ordering.phase(),
            Lab::Capacity => self.capacity.phase(),
            Lab::Grokking => self.link.runs.phase(),
        }
    }

    /// 99th percentile of the recent frames' `ui` time, in ms.
    pub fn frame_p99_ms(&self) -> Option<f32> {
        self.frames.p99_ms()
    }

    /// Points the plots drew in the last frame (after decimation).
    pub fn drawn_points(&self) -> usize {
        self.plots.drawn_points
    }

    /// Name of the preset last loaded.
    pub fn preset_name(&self) -> Option<&'static str> {
        self.presets.get(self.preset).map(|p| p.name)
    }

    /// Take the workers' events for at most [`DRAIN_BUDGET`] (the shown lab's first); ask for
    /// another frame if more remain.
    fn drain_events(&mut self) {
        let deadline = Instant::now() + DRAIN_BUDGET;
        let more = match self.lab {
            Lab::Ordering => {
                self.ordering.drain(deadline)
                    || self.drain_grokking(deadline)
                    || self.capacity.drain(deadline)
            }
            Lab::Capacity => {
                self.capacity.drain(deadline)
                    || self.drain_grokking(deadline)
                    || self.ordering.drain(deadline)
            }
            Lab::Grokking => {
                self.drain_grokking(deadline)
                    || self.ordering.drain(deadline)
                    || self.capacity.drain(deadline)
            }
        };
        if more {
            self.ctx.request_repaint();
        }
    }

    /// The Grokking worker's events until `deadline`; true if it was reached with events waiting.
    fn drain_grokking(&mut self, deadline: Instant) -> bool {
        let mut more = false;
        while let Some(event) = self.link.next_event(deadline, &mut more) {
            self.handle_event(event);
        }
        more
    }

    fn is_current(&self, run: RunId) -> bool {
        self.link.runs.is_current(run)
    }

    fn handle_event(&mut self, event: Event) {
        match event {
            Event::Started {
                run,
                config,
                param_count,
                steps_per_epoch,
            } => {
                let RunConfig::Grokking(config) = *config else {
                    // another lab's run: this lab's worker only runs Grokking configs
                    return;
                };
                if !self.link.runs.started(run) {
                    // A run we no longer wait for (reset meanwhile); its later events are ignored.
                    return;
                }
                // the panel shows the config in force (a resumed or forked run's, not the draft's),
                // so its live settings start from the run's values
                self.draft = config.clone();
                self.history
                    .begin(run, config, param_count, steps_per_epoch);
                self.info(format!(
                    "run {run} training: {} parameters",
                    group_digits(param_count)
                ));
            }
            Event::Metrics { run, rows } => {
                if self.is_current(run) {
                    self.files.before_rows(&mut self.history, &rows);
                    self.history.push_rows(&rows);
                    if let Some((step, epoch)) = self.history.latest() {
                        self.link.runs.progress(run, step, epoch);
                    }
                }
            }
            Event::Progress { run, step, epoch } => self.link.runs.progress(run, step, epoch),
            Event::Detected {
                run,
                event,
                step,
                epoch,
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
            Event::Snapshot { .. } | Event::StudyPoint { .. } | Event::SweepResult { .. } => {
                // Ordering-lab events; this tab's worker never runs that lab
            }
            Event::Refused { message } => {
                self.link.runs.refused(self.history.latest().is_some());
                self.error(format!("refused: {message}"));
            }
            Event::Saved { run, dir } => self.with_runs(|files, ctx| files.saved(ctx, run, dir)),
            Event::Finished {
                run,
                outcome,
                summary,
            } => {
                let has_data = self.history.latest().is_some();
                if let Some((outcome, summary)) =
                    self.link.finished(run, outcome, summary, has_data)
                {
                    self.files.at_finish(&mut self.history);
                    self.history.finish(outcome, summary);
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

    /// Step and epoch to show (of the lab shown): the newest of progress and logged rows.
    pub fn shown_step(&self) -> (u64, u64) {
        match self.lab {
            Lab::Ordering => self.ordering.shown_step(),
            Lab::Grokking | Lab::Capacity => self.link.runs.shown_step(self.history.latest()),
        }
    }

    fn info(&mut self, text: impl Into<String>) {
        self.link.info(text);
    }

    fn error(&mut self, text: impl Into<String>) {
        self.link.error(text);
    }

    /// What the play/pause button (and Space) does now.
    fn play_action(&self) -> Action {
        match self.active_phase() {
            Phase::Idle | Phase::Finished => Action::Start,
            Phase::Starting | Phase::Running => Action::Pause,
            Phase::Paused => Action::Resume,
        }
    }

    /// Apply a view's request to the lab it concerns: run controls to the lab shown.
    fn apply(&mut self, action: Action) {
        match (self.lab, action) {
            (
                Lab::Ordering,
                action @ (Action::Start
                | Action::StartStudy
                | Action::Pause
                | Action::Resume
                | Action::Step
                | Action::Stop
                | Action::Reset
                | Action::SetSpeed(_)
                | Action::Change(_)
                | Action::SelectPreset(_)),
            ) => self.ordering.apply(action, self.speed.command()),
            (
                Lab::Capacity,
                action @ (Action::Start
                | Action::StartStudy
                | Action::Pause
                | Action::Resume
                | Action::Step
                | Action::Stop
                | Action::Reset
                | Action::SelectPreset(_)),
            ) => self.capacity.apply(action),
            (_, action) => self.apply_grokking(action),
        }
    }

    fn apply_grokking(&mut self, action: Action) {
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
            | Action::Change(_) => {}
            Action::Start => self.start(),
            Action::Reset => {
                self.link.reset();
                self.history.clear();
                self.files.forget_current();
                self.plots.follow_latest();
                self.info("reset: plots cleared");
            }
            Action::SelectPreset(i) => {
                if let Some(p) = self.presets.get(i) {
                    self.preset = i;
                    self.draft = p.config.clone();
                    self.info(format!("preset {}: {}", p.name, p.title));
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

    fn start(&mut self) {
        if let Err(e) = self.draft.validate() {
            self.error(format!("Start refused: {e}"));
            return;
        }
        let config = self.draft.clone();
        // the previous run goes to the runs list; the worker records the new one
        self.with_runs(|files, ctx| files.start(ctx, config));
        self.plots.follow_latest();
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
                self.ctx
                    .request_screenshot(move |image| out.send(JobDone::Captured { path, image }));
                self.info("capturing the plots…");
            }
        }
    }

    fn poll_jobs(&mut self) {
        while let Some(done) = self.jobs.try_recv() {
            match done {
                JobDone::Chosen {
                    kind,
                    path: Some(path),
                } => self.export_to(kind, path),
                JobDone::Chosen { kind, path: None } => {
                    self.error(
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
                JobDone::Captured { path, image } => {
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
                JobDone::Folder {
                    purpose,
                    path: Some(path),
                } => {
                    self.with_runs(|files, ctx| files.folder_chosen(ctx, purpose, path));
                }
                JobDone::Folder {
                    purpose,
                    path: None,
                } => {
                    self.with_runs(|files, ctx| files.no_folder(ctx, purpose));
                }
                JobDone::Opened {
                    purpose,
                    path,
                    result,
                } => {
                    self.with_runs(|files, ctx| files.opened(ctx, purpose, &path, result));
                    self.plots.follow_latest();
                }
                JobDone::Figure(done) => {
                    // the figure came from the lab shown: its status line says how it went
                    let result = self.figure_export.done(done);
                    let link = match self.lab {
                        Lab::Grokking => &mut self.link,
                        Lab::Capacity => self.capacity.link_mut(),
                        Lab::Ordering => self.ordering.link_mut(),
                    };
                    match result {
                        Ok(m) => link.info(m),
                        Err(m) => link.error(m),
                    }
                }
                JobDone::Written { kind, path, result } => match result {
                    Ok(()) => self.info(format!("saved {kind} to {}", path.display())),
                    Err(message) => self.error(format!("{kind} export failed: {message}")),
                },
            }
        }
    }

    /// The Export figure window with the shown lab's figures.
    fn figure_export_ui(&mut self, ctx: &egui::Context) {
        if !self.figure_export.open {
            self.figure_sets = None;
            return;
        }
        // Building a set copies every plotted point: not every frame while a run trains, but when
        // the window opens, the lab changes, and at most twice a second (an export is at most that
        // far behind the live plots, and its figure and CSV always agree).
        let stale = self
            .figure_sets
            .as_ref()
            .is_none_or(|(lab, at, _)| *lab != self.lab || at.elapsed() > FIGURE_SET_MAX_AGE);
        if stale {
            let set = match self.lab {
                Lab::Grokking => {
                    super::figure_export::grokking_set(&self.history, self.plots.log_x)
                }
                Lab::Capacity => super::figure_export::capacity_set(self.capacity.history()),
                Lab::Ordering => {
                    let history = self.ordering.history();
                    let layer = self.ordering.view().shown_layer(history);
                    super::figure_export::ordering_set(history, self.ordering.study(), layer)
                }
            };
            self.figure_sets = Some((self.lab, Instant::now(), set));
        }
        let Some((_, _, set)) = &self.figure_sets else {
            return;
        };
        match self
            .figure_export
            .window_ui(ctx, set, &mut self.jobs, &self.dialog)
        {
            FigureRequest::None => {}
            FigureRequest::Started(m) => self.info(m),
            FigureRequest::Failed(m) => self.error(m),
        }
    }

    fn top_bar_ui(&mut self, ui: &mut Ui, problems: &[FieldProblem]) -> Action {
        let mut action = Action::None;
        ui.horizontal_wrapped(|ui| {
            for lab in Lab::ALL {
                let r = ui.add_enabled(
                    lab.available(),
                    egui::Button::selectable(self.lab == lab, lab.to_string()),
                );
                if lab.available() {
                    if r.clicked() {
                        self.lab = lab;
                    }
                } else {
                    r.on_disabled_hover_text("coming soon");
                }
            }
            ui.separator();

            let phase = self.active_phase();
            let (play_text, play_tip) = match phase {
                Phase::Starting | Phase::Running => {
                    ("‖ Pause", "Hold the run between two steps (Space)")
                }
                Phase::Paused => ("▶ Resume", "Continue the run (Space)"),
                Phase::Idle | Phase::Finished => {
                    ("▶ Start", "Train the config on the left (Space)")
                }
            };
            // a sweep's threads run whole tasks: it can start and stop, not pause, step or slow down
            let sweep = self.lab == Lab::Capacity;
            if ui
                .add_enabled(!(sweep && phase.active()), egui::Button::new(play_text))
                .on_hover_text(play_tip)
                .on_disabled_hover_text("A sweep cannot pause; Stop ends it and keeps its results")
                .clicked()
            {
                action = self.play_action();
            }
            let can_step = matches!(phase, Phase::Running | Phase::Paused) && !sweep;
            if ui
                .add_enabled(can_step, egui::Button::new("⇥ Step"))
                .on_hover_text("One optimiser step, then pause")
                .clicked()
            {
                action = Action::Step;
            }
            if ui
                .add_enabled(phase.active(), egui::Button::new("■ Stop"))
                .on_hover_text("End the run; its plots stay")
                .clicked()
            {
                action = Action::Stop;
            }
            if ui
                .add_enabled(phase != Phase::Idle, egui::Button::new("↺ Reset"))
                .on_hover_text("Stop any run and clear the plots")
                .clicked()
            {
                action = Action::Reset;
            }
            ui.separator();
            if ui
                .button("Export figure…")
                .on_hover_text("Any plot of this lab as PNG, SVG or PDF for a paper, with its data (CSV) and config (JSON)")
                .clicked()
            {
                self.figure_export.open = true;
            }
            if let Some(first) = problems.first() {
                let more = if problems.len() > 1 {
                    format!(" (+{} more)", problems.len() - 1)
                } else {
                    String::new()
                };
                let all: Vec<String> = problems
                    .iter()
                    .map(|p| format!("{}: {}", p.field, p.message))
                    .collect();
                ui.label(
                    RichText::new(format!("invalid: {}{more}", first.field)).color(error_color(ui)),
                )
                .on_hover_text(all.join("\n"));
            }
            ui.separator();

            let speed_label = ui.label("speed");
            let mut speed = self.speed;
            let a = ui
                .add_enabled(!sweep, egui::Checkbox::new(&mut speed.limited, "limit"))
                .on_hover_text("Off: train flat out");
            let s = ui
                .add_enabled(
                    speed.limited && !sweep,
                    egui::Slider::new(&mut speed.steps_per_sec, 1.0..=10_000.0)
                        .logarithmic(true)
                        .max_decimals(0)
                        .suffix(" steps/s"),
                )
                .labelled_by(speed_label.id);
            let committed = a.changed() || (s.changed() && !s.dragged()) || s.drag_stopped();
            self.speed = speed;
            if committed {
                action = Action::SetSpeed(speed.command());
            }
            ui.separator();

            if sweep {
                ui.label(RichText::new(self.capacity.top_bar_progress()).monospace());
                return;
            }
            let (step, epoch) = self.shown_step();
            ui.label(RichText::new(format!("step {step}")).monospace());
            ui.label(RichText::new(format!("epoch {epoch}")).monospace());
            let rate = match self.lab {
                Lab::Ordering => self.ordering.steps_per_sec(),
                Lab::Grokking | Lab::Capacity => self.link.runs.steps_per_sec(),
            };
            let rate = rate.map_or("— steps/s".into(), |r| format!("{r:.0} steps/s"));
            ui.label(RichText::new(rate).monospace().weak());
        });
        action
    }

    fn status_bar_ui(&self, ui: &mut Ui, problems: &[FieldProblem]) {
        ui.horizontal(|ui| {
            ui.label(RichText::new(self.active_phase().word()).strong());
            let status = self.status();
            let color = if status.is_error {
                error_color(ui)
            } else {
                ui.visuals().text_color()
            };
            ui.label(RichText::new(&status.text).color(color));
            if let Some(first) = problems.first() {
                ui.separator();
                let more = if problems.len() > 1 {
                    format!(" (+{} more)", problems.len() - 1)
                } else {
                    String::new()
                };
                ui.label(
                    RichText::new(format!("config: {}: {}{more}", first.field, first.message))
                        .color(error_color(ui)),
                );
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let frame = match (self.frames.last_ms(), self.frames.p99_ms()) {
                    (Some(last), Some(p99)) => format!("frame {last:.1} ms · p99 {p99:.1} ms"),
                    _ => "frame —".into(),
                };
                ui.label(RichText::new(frame).small().weak()).on_hover_text(
                    "Time spent building this window's frame (p99 over the last 300 frames)",
                );
                let (params, dropped) = match self.lab {
                    Lab::Ordering => self.ordering.counts(),
                    // a sweep has many models; their sizes are in its figures
                    Lab::Capacity => (None, 0),
                    Lab::Grokking => (self.history.param_count(), self.history.dropped_rows()),
                };
                if let Some(n) = params {
                    ui.separator();
                    ui.label(format!("{} parameters", group_digits(n)));
                }
                if dropped > 0 {
                    ui.separator();
                    ui.label(
                        RichText::new(format!("{dropped} out-of-order rows dropped"))
                            .color(Color32::YELLOW),
                    );
                }
            });
        });
    }
}

impl eframe::App for GrokscopeApp {
    /// Keep the settings that outlive a session (see [`Persisted`]).
    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        let persisted = Persisted {
            runs: self.files.settings.clone(),
        };
        eframe::set_value(storage, eframe::APP_KEY, &persisted);
    }

    fn logic(&mut self, _ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.drain_events();
        self.poll_jobs();
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        let t0 = Instant::now();
        let mut action = Action::None;
        let space = !ui.ctx().egui_wants_keyboard_input()
            && ui.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Space));
        if space {
            action = self.play_action();
        }
        let problems = match self.lab {
            Lab::Ordering => self.ordering.problems(),
            Lab::Capacity => self.capacity.problems(),
            Lab::Grokking => self
                .draft
                .validate()
                .err()
                .map(|e| e.problems)
                .unwrap_or_default(),
        };

        let top = egui::Panel::top("top_bar").show(ui, |ui| {
            ui.add_space(2.0);
            let a = self.top_bar_ui(ui, &problems);
            ui.add_space(2.0);
            a
        });
        action = action.or(top.inner);
        egui::Panel::bottom("status_bar").show(ui, |ui| self.status_bar_ui(ui, &problems));
        let left = egui::Panel::left("config_panel")
            .resizable(true)
            .default_size(330.0)
            .size_range(260.0..=520.0)
            .show(ui, |ui| match self.lab {
                Lab::Ordering => self.ordering.config_ui(ui, &problems),
                Lab::Capacity => self.capacity.config_ui(ui, &problems),
                Lab::Grokking => {
                    let panel = ConfigPanel {
                        presets: &self.presets,
                        preset: self.preset,
                        run_active: self.link.runs.phase().active(),
                        problems: &problems,
                    };
                    config_ui(ui, &mut self.draft, &panel)
                }
            });
        action = action.or(left.inner);
        let busy = self.jobs.dialog_open() || self.jobs.writing() || self.awaiting_screenshot;
        if self.lab == Lab::Grokking {
            let phase = self.link.runs.phase();
            let runs = egui::Panel::right("runs_panel")
                .resizable(true)
                .default_size(290.0)
                .size_range(220.0..=480.0)
                .show(ui, |ui| {
                    runs_panel_ui(ui, &mut self.files, &self.history, phase, busy)
                });
            self.apply_runs(runs.inner);
        }
        let centre = egui::CentralPanel::default().show(ui, |ui| match self.lab {
            Lab::Ordering => {
                self.ordering.centre_ui(ui);
                Action::None
            }
            Lab::Capacity => {
                self.capacity.centre_ui(ui);
                Action::None
            }
            Lab::Grokking => {
                let a = plots_toolbar_ui(ui, &mut self.plots, self.prompt.as_mut(), busy);
                let compare = self.files.compare(&self.history, self.plots.log_x);
                plots_compare_ui(ui, &mut self.plots, &self.history, compare);
                a
            }
        });
        action = action.or(centre.inner);
        self.figure_export_ui(ui.ctx());

        self.apply(action);
        if self.link.runs.phase().active()
            || self.ordering.phase().active()
            || self.capacity.phase().active()
            || self.capacity.loading()
            || busy
        {
            // Keep the step rate and spinners moving even between worker wake-ups.
            ui.ctx().request_repaint_after(Duration::from_millis(250));
        }
        self.frames.record(t0.elapsed());
    }
}

/// egui's default proportional font (Ubuntu Light) lacks the symbols the bars and plots use
/// (▶ ■ ↺ → ⁻ and the thin space); the bundled Hack font has them, so it becomes a fallback.
fn install_fonts(ctx: &egui::Context) {
    let mut fonts = egui::FontDefinitions::default();
    if fonts.font_data.contains_key("Hack")
        && let Some(family) = fonts.families.get_mut(&egui::FontFamily::Proportional)
    {
        let at = family
            .iter()
            .position(|f| f == "Ubuntu-Light")
            .map_or(0, |i| i + 1);
        family.insert(at, "Hack".to_owned());
    }
    ctx.set_fonts(fonts);
}

/// The status line for a run's end.
pub(super) fn finished_text(outcome: &Outcome, summary: Option<&Summary>) -> String {
    let head = match outcome {
        Outcome::Completed => "completed".to_string(),
        Outcome::Stopped => "stopped".to_string(),
        Outcome::Failed { message } => format!("run failed: {message}"),
    };
    let Some(s) = summary else {
        return head;
    };
    let mut parts = vec![format!(
        "{head} after {} epochs ({} steps, {:.1} s)",
        s.epochs, s.steps, s.wall_secs
    )];
    if let Some(t) = s.t_train_epoch {
        parts.push(format!("memorised at epoch {t}"));
    }
    if let Some(t) = s.t_val_epoch {
        parts.push(format!("generalised at epoch {t}"));
    }
    if let Some(d) = s.delay_epochs {
        parts.push(format!("delay {d} epochs"));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_text_names_the_milestones() {
        let s = Summary {
            param_count: 1,
            steps: 500,
            epochs: 500,
            t_train_epoch: Some(100),
            t_val_epoch: Some(400),
            delay_epochs: Some(290),
            final_train_acc: Some(1.0),
            final_val_acc: Some(0.995),
            wall_secs: 2.0,
        };
        assert_eq!(
            finished_text(&Outcome::Completed, Some(&s)),
            "completed after 500 epochs (500 steps, 2.0 s), memorised at epoch 100, generalised at epoch 400, delay 290 epochs"
        );
        assert_eq!(
            finished_text(
                &Outcome::Failed {
                    message: "NaN loss".into()
                },
                None
            ),
            "run failed: NaN loss"
        );
    }
}
