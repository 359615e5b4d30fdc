//! [`OrderingLab`]: the Ordering tab's state (its own worker, the run or study it follows, the
//! drafts in its panel, what it has received) and its event handler.
//!
//! The lab has its own worker, so a study here goes on while a Grokking run trains in the other tab.
//! One worker runs one thing at a time: a single run or a study; whichever started last is followed.

pub mod figures;
pub mod views;

use self::figures::ordering_set;
use self::views::{OrderingPanel, OrderingView, centre_ui, config_ui};
use super::{
    Controls, Counter, CursorAt, LabCtx, LabScene, LabSetup, LabSlot, Milestone, PanelName,
    PresetList, Teach, checked, table_of, with_setting,
};
use crate::app::actions::Action;
use crate::app::backend::Backend;
use crate::app::figure_export::FigureSet;
use crate::app::link::{Batch, LabLink, Phase};
use crate::config::lesson::OUTPUTS_LAST;
pub use crate::config::ordering::{OrderingPreset, ordering_presets};
use crate::config::ordering::{Scheme, StudyKind, default_study};
use crate::config::{
    ConfigError, FieldProblem, OrderingConfig, OrderingStudyConfig, RunConfig, ValidRunConfig,
};
use crate::protocol::{Event, LabEvent, OrderingEvent};
use crate::store::{Marker, MarkerKind, OrderingHistory, StudyHistory};
use eframe::egui::Ui;
use std::time::Instant;

/// The Ordering lab's speed limit until the top bar changes it, in steps a second
/// ([`LabSlot::default_speed`]).
pub const WATCHING_PACE: f64 = 100.0;

fn problems_of(result: Result<(), ConfigError>) -> Vec<FieldProblem> {
    result.err().map(|e| e.problems).unwrap_or_default()
}

/// The study section of the panel.
#[derive(Clone, Debug, PartialEq)]
pub struct StudyDraft {
    pub kind: StudyKind,
    /// Runs (seeds) per setting.
    pub runs: usize,
    /// Training threads (0: one per core).
    pub threads: usize,
    /// Schemes of the sparsity study (the unpruned baseline is always run).
    pub schemes: Vec<Scheme>,
}

impl Default for StudyDraft {
    fn default() -> Self {
        Self {
            kind: StudyKind::Sparsity,
            runs: 5,
            threads: 0,
            // every scheme, as the spec's study and the CLI run it
            schemes: Scheme::ALL
                .into_iter()
                .filter(|s| *s != Scheme::None)
                .collect(),
        }
    }
}

impl StudyDraft {
    /// The study's config around the base run `base`: the spec's sparsities (0.1 .. 0.9) and grid
    /// (H in {1, 3, 5, 7, 9} x 1 ..= 10 iterations).
    pub fn config(&self, base: &OrderingConfig) -> OrderingStudyConfig {
        OrderingStudyConfig {
            base: base.clone(),
            runs: self.runs,
            threads: self.threads,
            schemes: self
                .schemes
                .iter()
                .copied()
                .filter(|s| *s != Scheme::None)
                .collect(),
            ..default_study(base.task, self.kind)
        }
    }
}

/// The Ordering tab.
pub struct OrderingLab {
    /// The lab's worker, run and status line.
    link: LabLink,
    presets: PresetList<OrderingPreset>,
    draft: OrderingConfig,
    study_draft: StudyDraft,
    history: OrderingHistory,
    study: StudyHistory,
    view: OrderingView,
}

impl OrderingLab {
    /// [`Self::new`], boxed as a slot (the registry's constructor).
    pub fn boxed(backend: Box<dyn Backend>, _setup: &LabSetup<'_>) -> Box<dyn LabSlot> {
        Box::new(Self::new(backend))
    }

    pub fn new(backend: Box<dyn Backend>) -> Self {
        let (presets, draft) = PresetList::new(ordering_presets());
        Self {
            link: LabLink::new(
                backend,
                "ready: choose a preset, then Start (or Start study)",
            ),
            presets,
            draft,
            study_draft: StudyDraft::default(),
            history: OrderingHistory::new(),
            study: StudyHistory::new(),
            view: OrderingView::default(),
        }
    }

    /// The single run's metrics and snapshots.
    pub fn history(&self) -> &OrderingHistory {
        &self.history
    }

    /// The study's finished runs and aggregates.
    pub fn study(&self) -> &StudyHistory {
        &self.study
    }

    /// What the centre shows (scrub position, live, run or study).
    pub fn view(&self) -> &OrderingView {
        &self.view
    }

    /// The run config in the panel (what Start would run).
    pub fn config(&self) -> &OrderingConfig {
        &self.draft
    }

    pub fn config_mut(&mut self) -> &mut OrderingConfig {
        &mut self.draft
    }

    pub fn study_draft_mut(&mut self) -> &mut StudyDraft {
        &mut self.study_draft
    }

    pub fn preset_name(&self) -> Option<&'static str> {
        self.presets.current_name()
    }

    fn has_data(&self) -> bool {
        self.history.has_data() || !self.study.rows().is_empty()
    }

    fn handle_event(&mut self, event: Event) {
        match event {
            Event::Started {
                run,
                config,
                param_count,
                steps_per_epoch,
                device,
            } => match *config {
                RunConfig::Ordering(c) => {
                    if self.link.runs.started(run) {
                        self.link.device = device;
                        self.history.begin(run, c, param_count, steps_per_epoch);
                        self.view.run_started();
                        self.info(format!("training: {param_count} parameters"));
                    }
                }
                RunConfig::OrderingStudy(c) => {
                    if self.link.runs.started(run) {
                        self.link.device = device;
                        self.study.begin(run, c);
                        self.view.study_started();
                        self.info(format!("study {run} running"));
                    }
                }
                // another lab's run: this lab's worker only runs Ordering configs
                RunConfig::Grokking(_) | RunConfig::CapacitySweep(_) | RunConfig::PhaseStudy(_) => {
                }
            },
            Event::Metrics { run, rows } => {
                if self.link.runs.is_current(run) {
                    self.history.push_rows(&rows);
                    if let Some((step, epoch)) = self.history.latest() {
                        self.link.runs.progress(run, step, epoch);
                    }
                }
            }
            Event::Progress { run, step, epoch } => self.link.runs.progress(run, step, epoch),
            Event::Lab {
                run,
                payload: LabEvent::Ordering(OrderingEvent::Snapshot(snapshot)),
            } => {
                if self.link.runs.is_current(run) && !self.history.push_snapshot(*snapshot) {
                    let (count, why) = self.history.rejected_snapshots();
                    let why = why.unwrap_or("malformed").to_string();
                    self.error(format!("{count} snapshot(s) ignored: {why}"));
                }
            }
            Event::Lab {
                run,
                payload: LabEvent::Ordering(OrderingEvent::StudyPoint { row, done, total }),
            } => {
                if self.link.runs.is_current(run) {
                    self.study.push(*row, done, total);
                    self.info(format!("study: {done} of {total} runs done"));
                }
            }
            // grokking milestones and capacity sweeps do not occur in this lab
            Event::Lab {
                payload: LabEvent::Grokking(_) | LabEvent::Capacity(_),
                ..
            } => {}
            Event::Changed {
                run,
                change,
                step,
                epoch,
            } => {
                if self.link.runs.is_current(run) {
                    self.history.add_marker(Marker {
                        step,
                        epoch,
                        kind: MarkerKind::Change(change),
                    });
                    self.info(format!("{change} from step {step}"));
                }
            }
            Event::Paused { run, paused } => self.link.runs.paused(run, paused),
            // only Grokking runs are recorded in folders
            Event::Saved { .. } => {}
            Event::Refused { message } => {
                self.link.runs.refused(self.has_data());
                self.error(format!("refused: {message}"));
            }
            Event::Note { message, .. } => self.error(message),
            Event::Finished {
                run,
                outcome,
                summary,
            } => {
                let has_data = self.has_data();
                if self.study.run() == Some(run) {
                    let (done, total) = self.study.progress();
                    let batch = Batch {
                        what: "study",
                        done,
                        total,
                        unit: "runs",
                    };
                    if let Some(outcome) = self.link.batch_finished(run, outcome, batch, has_data) {
                        self.study.finish(outcome);
                    }
                } else if let Some((outcome, summary)) =
                    self.link.finished(run, outcome, summary, has_data)
                {
                    self.history.finish(outcome, summary);
                }
            }
        }
    }

    fn info(&mut self, text: impl Into<String>) {
        self.link.info(text);
    }

    fn error(&mut self, text: impl Into<String>) {
        self.link.error(text);
    }
}

/// The panels a lesson can name.
const PANELS: [PanelName; 7] = [
    PanelName {
        key: "config",
        label: "Config panel",
        title: "the config panel",
    },
    PanelName {
        key: "plots",
        label: "All three plots",
        title: "MSE, orderedness D and measured sparsity over the run",
    },
    // one row of the plots each (keys: the plots' ids): a step about D shows its plot alone, large
    PanelName {
        key: "mse",
        label: "MSE plot",
        title: "the MSE plot",
    },
    PanelName {
        key: "orderedness",
        label: "D plot",
        title: "the plot of orderedness D and its shuffled null",
    },
    PanelName {
        key: "sparsity",
        label: "Sparsity plot",
        title: "the measured-sparsity plot",
    },
    PanelName {
        key: "graph",
        label: "Ordering graph",
        title: "the neuron-ordering graph",
    },
    PanelName {
        key: "heatmap",
        label: "Weight heatmap",
        title: "the permuted weight heatmap",
    },
];

impl LabSlot for OrderingLab {
    super::slot_basics!(super::Lab::Ordering);

    /// A study's threads run whole runs: while one runs it can be stopped, not paused, stepped or
    /// slowed down (a pause held back its results while its threads went on).
    fn controls(&self) -> Controls {
        self.link.controls_with(self.study.run())
    }

    /// A run of this lab's presets is over in milliseconds flat out, before the window can show the
    /// graph untangle: the lab starts paced so the room watches pruning proceed (the XOR preset's
    /// 1000 steps in 10 s, the sine preset's 600 in 6 s). Unticking "limit" trains flat out.
    fn default_speed(&self) -> Option<f64> {
        Some(WATCHING_PACE)
    }

    /// The single run's step and epoch, or the study's runs done while it is the lab's latest.
    fn counter(&self) -> Counter {
        if let Some(run) = self.study.run()
            && self.link.runs.is_current(run)
        {
            let (done, total) = self.study.progress();
            return Counter::Text(format!("{done} of {total} runs"));
        }
        self.link.counter(self.history.latest())
    }

    /// Parameter count of the run shown and rows dropped for going backwards (for the status bar).
    fn counts(&self) -> (Option<u64>, usize) {
        (
            self.history.param_count(),
            self.history.metrics().dropped_rows(),
        )
    }

    /// Problems of the drafts in the panel: the run's, then the study's own.
    fn problems(&self) -> Vec<FieldProblem> {
        let mut p = problems_of(self.draft.validate());
        let study = self.study_draft.config(&self.draft);
        for q in problems_of(study.validate()) {
            // the study repeats its base run's problems
            if !p.contains(&q) {
                p.push(q);
            }
        }
        p
    }

    fn drain(&mut self, deadline: Instant) -> bool {
        let mut more = false;
        while let Some(event) = self.link.next_event(deadline, &mut more) {
            self.handle_event(event);
        }
        more
    }

    fn config_ui(&mut self, ui: &mut Ui, problems: &[FieldProblem]) -> Action {
        let panel = OrderingPanel {
            presets: self.presets.all(),
            preset: self.presets.chosen(),
            run_active: self.link.runs.phase().active(),
            problems,
        };
        config_ui(ui, &mut self.draft, &mut self.study_draft, &panel)
    }

    /// The run's plots, graph and heatmap, or the study's results.
    fn centre_ui(&mut self, ui: &mut Ui) -> Action {
        centre_ui(
            ui,
            &mut self.view,
            &self.history,
            &self.study,
            &mut self.link.panels,
        );
        Action::None
    }

    /// Apply a run control or a panel request; a start takes the top bar's speed limit.
    fn apply(&mut self, action: Action, ctx: LabCtx) {
        if self.link.control(&action) {
            return;
        }
        match action {
            // exports belong to the Grokking plots; the run controls were handled above
            Action::None
            | Action::Export(_)
            | Action::ExportTo(..)
            | Action::CancelExportPath
            | Action::Pause
            | Action::Resume
            | Action::Step
            | Action::Stop
            | Action::SetSpeed(_)
            | Action::PauseAt(_)
            | Action::Change(_) => {}
            Action::Start => {
                let valid = match checked("Start", self.draft.clone()) {
                    Ok(v) => v,
                    Err(m) => return self.error(m),
                };
                self.link.launch(ValidRunConfig::Ordering(valid), ctx.speed);
                self.history.clear();
                self.view.run_started();
            }
            Action::StartStudy => {
                // the study's check names its base run's problems first, as the panel lists them
                let config = match checked("Study", self.study_draft.config(&self.draft)) {
                    Ok(v) => v,
                    Err(m) => return self.error(m),
                };
                // the speed limit is for watching one run; a study has no live view
                self.link
                    .launch(ValidRunConfig::OrderingStudy(config), None);
                self.study.clear();
                self.view.study_started();
            }
            Action::Reset => {
                self.link.reset();
                self.history.clear();
                self.study.clear();
                self.view.reset();
                self.info("reset: cleared");
            }
            Action::SelectPreset(i) => {
                if let Some((config, text)) = self.presets.choose(i) {
                    self.draft = config;
                    self.info(text);
                }
            }
        }
    }

    fn figure_set(&self) -> FigureSet {
        let layer = self.view.shown_layer(&self.history);
        ordering_set(&self.history, &self.study, layer)
    }

    fn preset_names(&self) -> Vec<&'static str> {
        self.presets.names()
    }

    fn panels(&self) -> &'static [PanelName] {
        &PANELS
    }

    fn reached(&self, milestone: Milestone) -> bool {
        match milestone {
            Milestone::Finished => self.phase() == Phase::Finished,
            Milestone::Step(n) => self.history.latest().is_some_and(|(s, _)| s >= n),
            Milestone::Tasks(n) => self.study.rows().len() >= n,
            // grokking milestones do not occur here
            Milestone::Memorised | Milestone::Generalised => false,
        }
    }

    fn shown_steps(&self) -> Option<(Option<u64>, u64)> {
        let latest = self.history.latest()?.0;
        Some((self.view.cursor(&self.history), latest))
    }

    fn teach(&mut self, request: Teach, ctx: LabCtx) -> Result<String, String> {
        match request {
            Teach::Preset(name) => {
                let i = self.presets.index_of(self.lab(), &name)?;
                self.apply(Action::SelectPreset(i), ctx);
                Ok(format!("preset {name}"))
            }
            Teach::Config(table) => {
                let cfg: OrderingConfig = super::checked_config(&table, OrderingConfig::validate)?;
                self.draft = cfg;
                Ok("config loaded".into())
            }
            Teach::Set { field, value } => {
                if self.phase().active() {
                    return Err(format!("`{field}` cannot change while the run trains"));
                }
                let mut cfg: OrderingConfig = with_setting(&self.draft, &field, &value)?;
                // a switch of task takes the task's settings, as the panel's does
                let mut note = String::new();
                if cfg.task != self.draft.task {
                    let (switched, changes) = self.draft.with_task(cfg.task);
                    cfg = switched;
                    if !changes.is_empty() {
                        note = format!(" (the task's {})", changes.join(", "));
                    }
                }
                cfg.validate().map_err(|e| e.to_string())?;
                self.draft = cfg;
                Ok(format!("{field} = {value}{note}"))
            }
            Teach::Start => {
                self.apply(Action::Start, ctx);
                Ok(String::new())
            }
            Teach::Cursor(at) => {
                let step = match at {
                    CursorAt::Step(s) => Some(s),
                    CursorAt::Latest => None,
                };
                self.view.set_cursor(step, &self.history);
                Ok(String::new())
            }
            Teach::Restore {
                step,
                cursor,
                config,
                ..
            } => {
                // an Ordering run has no folder: its own config is trained again to the scene's step
                let shown = self.draft.clone();
                if let Some(table) = config {
                    self.draft = super::checked_config(&table, OrderingConfig::validate)
                        .map_err(|e| format!("run.config: {e}"))?;
                }
                let per_epoch = self.draft.steps_per_epoch().max(1);
                self.draft.epochs = step.div_ceil(per_epoch).max(1);
                self.apply(Action::Start, ctx);
                self.draft = shown;
                self.view.set_cursor(cursor, &self.history);
                Ok(format!(
                    "scene: retraining the run to step {step} (same config and seed: the same numbers)"
                ))
            }
            Teach::Continue => {
                // a run that ended before its config's end (a scene's, trained again only to its
                // step; or one stopped) has nothing to go on from: this lab keeps no checkpoints
                let total = self.draft.total_steps();
                match self.history.latest() {
                    Some((step, _)) if !self.phase().active() && step < total => Err(format!(
                        "the run shown stopped at step {step} of {total} (a scene's run is trained \
                         again only to the scene's step), and the Ordering lab keeps no \
                         checkpoints to go on from: ↺ Restart plays the lesson from its start"
                    )),
                    _ => Ok(String::new()),
                }
            }
            Teach::Fork { .. } => Err("only Grokking runs fork".into()),
            Teach::Open(dir) => Err(format!(
                "the Ordering lab opens no folders ({})",
                dir.display()
            )),
        }
    }

    fn check_config(&self, table: &toml::Table) -> Result<(), String> {
        super::checked_config(table, OrderingConfig::validate).map(|_| ())
    }

    fn view_options(&self) -> &'static [&'static str] {
        &[OUTPUTS_LAST]
    }

    fn view_option(&self, key: &str) -> Option<bool> {
        (key == OUTPUTS_LAST).then(|| self.view.graph().outputs_last())
    }

    fn set_view_option(&mut self, key: &str, on: bool) -> bool {
        if key != OUTPUTS_LAST {
            return false;
        }
        self.view.graph_mut().set_outputs_last(on);
        true
    }

    fn scene(&self) -> LabScene {
        LabScene {
            config: table_of(&self.draft).unwrap_or_default(),
            run: self.history.latest().map(|(s, _)| (None, s)),
            cursor: self.view.cursor(&self.history),
            run_config: self.history.config().and_then(|c| table_of(c).ok()),
            changed: super::changes_of(self.history.metrics()),
        }
    }
}

super::preset_fields!(OrderingPreset, OrderingConfig);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ordering::{OrderingTask, Pruning};

    #[test]
    fn presets_and_the_default_study_are_valid() {
        for p in ordering_presets() {
            assert!(p.config.validate().is_ok(), "{}", p.name);
            let study = StudyDraft::default().config(&p.config);
            assert!(study.validate().is_ok(), "{}", p.name);
        }
    }

    #[test]
    fn the_study_config_keeps_the_baseline_implicit() {
        let d = StudyDraft {
            schemes: vec![Scheme::None, Scheme::TopK],
            ..StudyDraft::default()
        };
        let c = d.config(&ordering_presets()[1].config);
        assert_eq!(c.schemes, [Scheme::TopK]);
        assert_eq!(c.sparsities.len(), 9);
        assert_eq!(c.hidden_grid, [1, 3, 5, 7, 9]);
        assert_eq!(c.base.task, OrderingTask::Sine);
        // 9 sparsities of top-k, and the baseline, 5 runs each
        assert_eq!(c.total_runs(), 50);
    }

    /// A lesson's `set task` switches as the panel does (OrderingConfig::with_task): from the XOR
    /// preset (H 5, 1000 epochs, batch 4, dynamic top-k k = 0.5) to the spec's sine run's H 8, 40
    /// epochs and batch 10, the pruning kept; the reply names what changed.
    #[test]
    fn a_lessons_task_switch_takes_the_tasks_settings() {
        let mut lab = OrderingLab::new(Box::new(crate::app::backend::Unattached::default()));
        let reply = lab
            .teach(
                Teach::Set {
                    field: "task".into(),
                    value: toml::Value::String("sine".into()),
                },
                LabCtx { speed: None },
            )
            .unwrap();
        let c = lab.config();
        assert_eq!(
            (c.task, c.hidden, c.epochs, c.batch_size),
            (OrderingTask::Sine, 8, 40, 10)
        );
        assert_eq!(c.pruning, Pruning::DynamicTopK { k: 0.5 });
        assert!(reply.contains("epochs: 1000 → 40"), "{reply}");
    }

    #[test]
    fn the_lab_lists_each_problem_once() {
        let mut lab = OrderingLab::new(Box::new(crate::app::backend::Unattached::default()));
        lab.config_mut().hidden = 0;
        lab.study_draft_mut().runs = 0;
        let fields: Vec<&str> = lab.problems().iter().map(|p| p.field).collect();
        assert_eq!(fields, ["hidden", "runs"]);
    }
}
