//! [`GrokscopeApp`]: the window's state, its bars, the event drain and the action handler.

use super::actions::{Action, ExportKind};
use super::backend::Backend;
use super::dialog::FileDialog;
use super::jobs::{JobDone, Jobs};
use super::meters::{FrameTimer, StepRate};
use super::views::grokking::{ConfigPanel, config_ui, error_color, group_digits};
use super::views::plots::{PathPrompt, PlotView, plots_toolbar_ui, plots_ui, plotted_metrics};
use crate::config::{FieldProblem, GrokkingConfig, Preset, RunConfig, presets};
use crate::protocol::{Command, Event, GrokEvent, HyperChange, Outcome, RunId, Summary};
use crate::store::{Marker, MarkerKind, RunHistory};
use anyhow::Context as _;
use eframe::egui::{self, Color32, Key, Modifiers, RichText, Ui};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest time one frame spends taking events from the worker; the rest wait for the next frame.
const DRAIN_BUDGET: Duration = Duration::from_millis(4);

/// The labs of the app; only Grokking exists so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lab {
    /// Modular arithmetic: memorisation, then generalisation.
    Grokking,
    /// Memorisation speed vs generalisation speed (not built yet).
    Capacity,
    /// Ordering of learned representations (not built yet).
    Ordering,
}

impl Lab {
    pub const ALL: [Lab; 3] = [Lab::Grokking, Lab::Capacity, Lab::Ordering];

    fn available(self) -> bool {
        match self {
            Lab::Grokking => true,
            Lab::Capacity | Lab::Ordering => false,
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

/// Where the current run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Nothing started (or reset).
    Idle,
    /// Start sent, `Started` not yet seen.
    Starting,
    /// Training.
    Running,
    /// Held between two steps.
    Paused,
    /// The run ended (see the history's outcome).
    Finished,
}

impl Phase {
    /// A run exists that may still train: the config is locked except for live settings.
    pub fn active(self) -> bool {
        match self {
            Phase::Starting | Phase::Running | Phase::Paused => true,
            Phase::Idle | Phase::Finished => false,
        }
    }
}

/// The status bar's message.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Status {
    pub text: String,
    pub is_error: bool,
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
    backend: Box<dyn Backend>,
    dialog: Arc<dyn FileDialog>,
    jobs: Jobs,
    lab: Lab,
    presets: Vec<Preset>,
    preset: usize,
    draft: GrokkingConfig,
    phase: Phase,
    current_run: Option<RunId>,
    /// Starts sent whose `Started` (or refusal) has not arrived; a `Started` beyond these is stale.
    pending_starts: u32,
    /// The highest run id seen (ids increase): a `Finished` above it with no `Started` is a refused start.
    newest_run: Option<RunId>,
    /// Step and epoch from the latest `Progress` of the current run.
    progress: Option<(u64, u64)>,
    history: RunHistory,
    plots: PlotView,
    speed: Speed,
    status: Status,
    rate: StepRate,
    frames: FrameTimer,
    prompt: Option<PathPrompt>,
    /// A PNG export waiting for its screenshot.
    awaiting_screenshot: bool,
}

impl GrokscopeApp {
    /// The app with a real training worker, woken through `request_repaint`.
    pub fn new(
        cc: &eframe::CreationContext<'_>,
        dialog: Arc<dyn FileDialog>,
    ) -> anyhow::Result<Self> {
        let ctx = cc.egui_ctx.clone();
        let waker: Box<dyn Fn() + Send + Sync> = Box::new(move || ctx.request_repaint());
        let worker = crate::worker::Worker::spawn(Some(waker))
            .context("cannot start the training worker thread")?;
        Ok(Self::with_backend(cc, dialog, Box::new(worker)))
    }

    /// The app talking to `backend` (tests pass a scripted one).
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
            backend,
            dialog,
            jobs: Jobs::new(Arc::new(move || wake_ctx.request_repaint())),
            lab: Lab::Grokking,
            presets,
            preset: 0,
            draft,
            phase: Phase::Idle,
            current_run: None,
            pending_starts: 0,
            newest_run: None,
            progress: None,
            history: RunHistory::new(),
            plots: PlotView::default(),
            speed: Speed {
                limited: false,
                steps_per_sec: 100.0,
            },
            status: Status {
                text: "ready: choose a preset, then Start (or press Space)".into(),
                is_error: false,
            },
            rate: StepRate::default(),
            frames: FrameTimer::default(),
            prompt: None,
            awaiting_screenshot: false,
        }
    }

    /// The data the plots draw.
    pub fn history(&self) -> &RunHistory {
        &self.history
    }

    /// The config in the panel (what Start would run).
    pub fn config(&self) -> &GrokkingConfig {
        &self.draft
    }

    /// Edit the config in the panel directly.
    pub fn config_mut(&mut self) -> &mut GrokkingConfig {
        &mut self.draft
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn status(&self) -> &Status {
        &self.status
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

    /// Take the worker's events for at most [`DRAIN_BUDGET`]; ask for another frame if more remain.
    fn drain_events(&mut self) {
        let deadline = Instant::now() + DRAIN_BUDGET;
        loop {
            if Instant::now() >= deadline {
                self.ctx.request_repaint();
                break;
            }
            match self.backend.try_recv() {
                Some(event) => self.handle_event(event),
                None => break,
            }
        }
    }

    fn is_current(&self, run: RunId) -> bool {
        self.current_run == Some(run)
    }

    fn handle_event(&mut self, event: Event) {
        match event {
            Event::Started {
                run,
                config,
                param_count,
                steps_per_epoch,
            } => {
                if self.pending_starts == 0 {
                    // A run we no longer wait for (reset meanwhile); its later events are ignored.
                    return;
                }
                let RunConfig::Grokking(config) = *config else {
                    // another lab's run: this tab's worker only runs Grokking configs
                    return;
                };
                self.pending_starts -= 1;
                self.newest_run = self.newest_run.max(Some(run));
                self.current_run = Some(run);
                self.progress = None;
                self.history
                    .begin(run, config, param_count, steps_per_epoch);
                self.rate.clear();
                self.phase = Phase::Running;
                self.info(format!(
                    "run {run} training: {} parameters",
                    group_digits(param_count)
                ));
            }
            Event::Metrics { run, rows } => {
                if self.is_current(run) {
                    self.history.push_rows(&rows);
                    if let Some((step, epoch)) = self.history.latest() {
                        self.note_progress(step, epoch);
                    }
                }
            }
            Event::Progress { run, step, epoch } => {
                if self.is_current(run) {
                    self.note_progress(step, epoch);
                }
            }
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
            Event::Paused { run, paused } => {
                if self.is_current(run) && self.phase.active() {
                    self.phase = if paused {
                        Phase::Paused
                    } else {
                        Phase::Running
                    };
                    if paused {
                        self.rate.clear();
                    }
                }
            }
            Event::Snapshot { .. } | Event::StudyPoint { .. } | Event::SweepResult { .. } => {
                // Ordering-lab events; this tab's worker never runs that lab
            }
            Event::Refused { message } => {
                if self.phase == Phase::Starting && self.pending_starts > 0 {
                    self.pending_starts -= 1;
                    self.phase = if self.history.latest().is_some() {
                        Phase::Finished
                    } else {
                        Phase::Idle
                    };
                }
                self.error(format!("refused: {message}"));
            }
            Event::Finished {
                run,
                outcome,
                summary,
            } if !self.is_current(run)
                && self.pending_starts > 0
                && self.newest_run.is_none_or(|n| run > n) =>
            {
                // A run that never started: the worker refused its config.
                self.pending_starts -= 1;
                self.newest_run = Some(run);
                if self.pending_starts == 0 {
                    self.phase = if self.history.latest().is_some() {
                        Phase::Finished
                    } else {
                        Phase::Idle
                    };
                }
                self.error(finished_text(&outcome, summary.as_ref()));
            }
            Event::Finished {
                run,
                outcome,
                summary,
            } => {
                if self.is_current(run) {
                    let text = finished_text(&outcome, summary.as_ref());
                    let failed = match &outcome {
                        Outcome::Failed { .. } => true,
                        Outcome::Completed | Outcome::Stopped => false,
                    };
                    self.history.finish(outcome, summary);
                    self.phase = Phase::Finished;
                    self.rate.clear();
                    if failed {
                        self.error(text);
                    } else {
                        self.info(text);
                    }
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

    fn note_progress(&mut self, step: u64, epoch: u64) {
        if self.progress.is_none_or(|(s, _)| step >= s) {
            self.progress = Some((step, epoch));
            self.rate.record(Instant::now(), step);
        }
    }

    /// Step and epoch to show: the newest of progress and logged rows.
    pub fn shown_step(&self) -> (u64, u64) {
        match (self.progress, self.history.latest()) {
            (Some(p), Some(r)) => p.max(r),
            (Some(p), None) => p,
            (None, Some(r)) => r,
            (None, None) => (0, 0),
        }
    }

    fn info(&mut self, text: impl Into<String>) {
        self.status = Status {
            text: text.into(),
            is_error: false,
        };
    }

    fn error(&mut self, text: impl Into<String>) {
        self.status = Status {
            text: text.into(),
            is_error: true,
        };
    }

    fn send(&self, cmd: Command) {
        self.backend.send(cmd);
    }

    /// What the play/pause button (and Space) does now.
    fn play_action(&self) -> Action {
        match self.phase {
            Phase::Idle | Phase::Finished => Action::Start,
            Phase::Starting | Phase::Running => Action::Pause,
            Phase::Paused => Action::Resume,
        }
    }

    fn apply(&mut self, action: Action) {
        match action {
            Action::None => {}
            Action::Start => self.start(),
            Action::Pause => self.send(Command::Pause),
            Action::Resume => self.send(Command::Resume),
            Action::Step => self.send(Command::Step),
            Action::Stop => {
                self.send(Command::Stop);
                self.info("stopping…");
            }
            Action::Reset => {
                if self.phase.active() {
                    self.send(Command::Stop);
                }
                self.current_run = None;
                self.pending_starts = 0;
                self.progress = None;
                self.phase = Phase::Idle;
                self.history.clear();
                self.rate.clear();
                self.plots.follow_latest();
                self.info("reset: plots cleared");
            }
            Action::SetSpeed(limit) => self.send(Command::SetSpeed(limit)),
            Action::Change(change) => self.change(change),
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
        self.send(Command::SetSpeed(self.speed.command()));
        self.send(Command::Start(Box::new(RunConfig::Grokking(
            self.draft.clone(),
        ))));
        self.phase = Phase::Starting;
        self.pending_starts += 1;
        self.current_run = None;
        self.progress = None;
        self.history.clear();
        self.rate.clear();
        self.plots.follow_latest();
        self.info("starting…");
    }

    fn change(&mut self, change: HyperChange) {
        if let Err(message) = change.validate() {
            self.error(format!("not applied: {message}"));
            return;
        }
        if self.phase.active() {
            self.send(Command::Change(change));
            self.info(format!("requested {change}"));
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
                JobDone::Written { kind, path, result } => match result {
                    Ok(()) => self.info(format!("saved {kind} to {}", path.display())),
                    Err(message) => self.error(format!("{kind} export failed: {message}")),
                },
            }
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

            let (play_text, play_tip) = match self.phase {
                Phase::Starting | Phase::Running => {
                    ("‖ Pause", "Hold the run between two steps (Space)")
                }
                Phase::Paused => ("▶ Resume", "Continue the run (Space)"),
                Phase::Idle | Phase::Finished => {
                    ("▶ Start", "Train the config on the left (Space)")
                }
            };
            if ui.button(play_text).on_hover_text(play_tip).clicked() {
                action = self.play_action();
            }
            let can_step = matches!(self.phase, Phase::Running | Phase::Paused);
            if ui
                .add_enabled(can_step, egui::Button::new("⇥ Step"))
                .on_hover_text("One optimiser step, then pause")
                .clicked()
            {
                action = Action::Step;
            }
            if ui
                .add_enabled(self.phase.active(), egui::Button::new("■ Stop"))
                .on_hover_text("End the run; its plots stay")
                .clicked()
            {
                action = Action::Stop;
            }
            if ui
                .add_enabled(self.phase != Phase::Idle, egui::Button::new("↺ Reset"))
                .on_hover_text("Stop any run and clear the plots")
                .clicked()
            {
                action = Action::Reset;
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
                .checkbox(&mut speed.limited, "limit")
                .on_hover_text("Off: train flat out");
            let s = ui
                .add_enabled(
                    speed.limited,
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

            let (step, epoch) = self.shown_step();
            ui.label(RichText::new(format!("step {step}")).monospace());
            ui.label(RichText::new(format!("epoch {epoch}")).monospace());
            let rate = match (self.phase, self.rate.per_sec()) {
                (Phase::Running, Some(r)) => format!("{r:.0} steps/s"),
                (
                    Phase::Running
                    | Phase::Starting
                    | Phase::Paused
                    | Phase::Idle
                    | Phase::Finished,
                    _,
                ) => "— steps/s".into(),
            };
            ui.label(RichText::new(rate).monospace().weak());
        });
        action
    }

    fn status_bar_ui(&self, ui: &mut Ui, problems: &[FieldProblem]) {
        ui.horizontal(|ui| {
            let phase = match self.phase {
                Phase::Idle => "idle",
                Phase::Starting => "starting",
                Phase::Running => "running",
                Phase::Paused => "paused",
                Phase::Finished => "finished",
            };
            ui.label(RichText::new(phase).strong());
            let color = if self.status.is_error {
                error_color(ui)
            } else {
                ui.visuals().text_color()
            };
            ui.label(RichText::new(&self.status.text).color(color));
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
                if let Some(n) = self.history.param_count() {
                    ui.separator();
                    ui.label(format!("{} parameters", group_digits(n)));
                }
                if self.history.dropped_rows() > 0 {
                    ui.separator();
                    ui.label(
                        RichText::new(format!(
                            "{} out-of-order rows dropped",
                            self.history.dropped_rows()
                        ))
                        .color(Color32::YELLOW),
                    );
                }
            });
        });
    }
}

impl eframe::App for GrokscopeApp {
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
        let problems = self
            .draft
            .validate()
            .err()
            .map(|e| e.problems)
            .unwrap_or_default();

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
            .show(ui, |ui| {
                let panel = ConfigPanel {
                    presets: &self.presets,
                    preset: self.preset,
                    run_active: self.phase.active(),
                    problems: &problems,
                };
                config_ui(ui, &mut self.draft, &panel)
            });
        action = action.or(left.inner);
        let busy = self.jobs.dialog_open() || self.jobs.writing() || self.awaiting_screenshot;
        let centre = egui::CentralPanel::default().show(ui, |ui| {
            let a = plots_toolbar_ui(ui, &mut self.plots, self.prompt.as_mut(), busy);
            plots_ui(ui, &mut self.plots, &self.history);
            a
        });
        action = action.or(centre.inner);

        self.apply(action);
        if self.phase.active() || busy {
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

fn finished_text(outcome: &Outcome, summary: Option<&Summary>) -> String {
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
