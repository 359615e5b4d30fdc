//! The Grokking lab: modular arithmetic, memorisation then generalisation. Its own worker, the run it
//! follows, the config panel, the linked plots, and the Runs panel (runs on disk, forks, comparing).

pub mod config_panel;
pub mod overlays;
pub mod phase_view;
pub mod run_files;
pub mod runs_panel;

use self::config_panel::{ConfigPanel, config_ui};
use self::run_files::{RunFiles, RunsAction, RunsCtx, RunsSettings};
use self::runs_panel::runs_panel_ui;
use super::{Counter, LabCtx, LabSetup, LabSlot, Milestone, PanelName, PresetList};
use crate::app::actions::{Action, ExportKind};
use crate::app::backend::Backend;
use crate::app::dialog::FileDialog;
use crate::app::figure_export::{FigureSet, grokking_set};
use crate::app::jobs::{JobDone, Jobs};
use crate::app::link::{LabLink, Phase};
use crate::app::widgets::form::group_digits;
use crate::app::widgets::plots::{
    Compare, MarkerLabel, PathPrompt, PlotView, plots_compare_ui, plots_toolbar_ui, plotted_metrics,
};
use crate::config::{FieldProblem, GrokkingConfig, Preset, RunConfig, presets};
use crate::protocol::{Event, GrokEvent, GrokkingEvent, LabEvent, RunId};
use crate::store::{Marker, MarkerKind, RunHistory};
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
const PANELS: [PanelName; 3] = [
    PanelName {
        key: "config",
        title: "the config panel",
    },
    PanelName {
        key: "plots",
        title: "accuracy, loss, weight norm and Fourier plots",
    },
    PanelName {
        key: "runs",
        title: "the Runs panel",
    },
];

/// The Grokking tab.
pub struct GrokkingLab {
    ctx: egui::Context,
    /// The lab's worker, run and status line.
    link: LabLink,
    dialog: Arc<dyn FileDialog>,
    /// Dialogs, file writes and folder reads of this lab.
    jobs: Jobs,
    presets: PresetList<Preset>,
    draft: GrokkingConfig,
    history: RunHistory,
    plots: PlotView,
    prompt: Option<PathPrompt>,
    /// A PNG export waiting for its screenshot.
    awaiting_screenshot: bool,
    /// The runs on disk and the runs compared.
    files: RunFiles,
    /// The last speed limit the top bar gave (sent with starts from the Runs panel).
    speed: Option<f64>,
}

impl GrokkingLab {
    pub fn new(backend: Box<dyn Backend>, setup: &LabSetup<'_>) -> Self {
        let (presets, draft) = PresetList::new(presets());
        let wake_ctx = setup.ctx.clone();
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
            plots: PlotView::default(),
            prompt: None,
            awaiting_screenshot: false,
            files: RunFiles::with_settings(Persisted::load(setup.storage).runs),
            speed: None,
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
        self.with_runs(|files, ctx| files.apply(action, ctx));
    }

    /// What the plots draw besides the current run (built as the next frame would).
    pub fn compared(&mut self) -> &Compare {
        self.files.compare(&self.history, self.plots.log_x)
    }

    /// The marker labels the plots drew in the last frame (the current run's and the compared runs').
    pub fn marker_labels(&self) -> &[MarkerLabel] {
        &self.plots.labelled
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
            speed: self.speed,
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
                payload: LabEvent::Ordering(_) | LabEvent::Capacity(_),
                ..
            } => {
                // other labs' events; this lab's worker never runs those labs
            }
            Event::Lab {
                payload: LabEvent::Grokking(GrokkingEvent::PhaseTask { .. }),
                ..
            } => {
                // a phase study's runs: the phase panel (phase_view::PhaseViewState) takes these once
                // it is wired into the lab
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

    fn info(&mut self, text: impl Into<String>) {
        self.link.info(text);
    }

    fn error(&mut self, text: impl Into<String>) {
        self.link.error(text);
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
                // figure exports run on the window's own jobs, never on this lab's
                JobDone::Figure(_) => {}
                JobDone::Written { kind, path, result } => match result {
                    Ok(()) => self.info(format!("saved {kind} to {}", path.display())),
                    Err(message) => self.error(format!("{kind} export failed: {message}")),
                },
            }
        }
    }
}

impl LabSlot for GrokkingLab {
    super::slot_basics!(super::Lab::Grokking);

    fn counter(&self) -> Counter {
        self.link.counter(self.history.latest())
    }

    fn counts(&self) -> (Option<u64>, usize) {
        (self.history.param_count(), self.history.dropped_rows())
    }

    fn problems(&self) -> Vec<FieldProblem> {
        self.draft
            .validate()
            .err()
            .map(|e| e.problems)
            .unwrap_or_default()
    }

    fn drain(&mut self, deadline: Instant) -> bool {
        self.poll_jobs();
        let mut more = false;
        while let Some(event) = self.link.next_event(deadline, &mut more) {
            self.handle_event(event);
        }
        more
    }

    fn wants_frames(&self) -> bool {
        self.phase().active() || self.busy()
    }

    fn config_ui(&mut self, ui: &mut Ui, problems: &[FieldProblem]) -> Action {
        let panel = ConfigPanel {
            presets: self.presets.all(),
            preset: self.presets.chosen(),
            run_active: self.link.runs.phase().active(),
            problems,
        };
        config_ui(ui, &mut self.draft, &panel)
    }

    fn side_panels_ui(&mut self, ui: &mut Ui) {
        let phase = self.link.runs.phase();
        let busy = self.busy();
        let runs = egui::Panel::right("runs_panel")
            .resizable(true)
            .default_size(290.0)
            .size_range(220.0..=480.0)
            .show(ui, |ui| {
                runs_panel_ui(ui, &mut self.files, &self.history, phase, busy)
            });
        self.apply_runs(runs.inner);
    }

    fn centre_ui(&mut self, ui: &mut Ui) -> Action {
        let busy = self.busy();
        let a = plots_toolbar_ui(ui, &mut self.plots, self.prompt.as_mut(), busy);
        let compare = self.files.compare(&self.history, self.plots.log_x);
        plots_compare_ui(ui, &mut self.plots, &self.history, compare);
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
        grokking_set(&self.history, self.plots.log_x)
    }

    fn save(&self, storage: &mut dyn eframe::Storage) {
        let persisted = Persisted {
            runs: self.files.settings.clone(),
        };
        eframe::set_value(storage, eframe::APP_KEY, &persisted);
    }

    fn preset_names(&self) -> Vec<&'static str> {
        self.presets.names()
    }

    fn panels(&self) -> &'static [PanelName] {
        &PANELS
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
            // a single run has no tasks
            Milestone::Tasks(_) => false,
        }
    }
}

super::preset_fields!(Preset, GrokkingConfig);
