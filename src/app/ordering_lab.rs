//! [`OrderingLab`]: the Ordering tab's state (its own worker, the run or study it follows, the
//! drafts in its panel, what it has received) and its event handler.
//!
//! The lab has its own worker, so a study here goes on while a Grokking run trains in the other tab.
//! One worker runs one thing at a time: a single run or a study; whichever started last is followed.

use super::actions::Action;
use super::backend::Backend;
use super::runs::{LabLink, Phase, Status};
use super::views::ordering::{OrderingPanel, OrderingView, centre_ui, config_ui};
use crate::config::ordering::{OrderingTask, Pruning, Scheme, StudyKind};
use crate::config::{FieldProblem, OrderingConfig, OrderingStudyConfig, RunConfig};
use crate::protocol::{Event, HyperChange};
use crate::store::{Marker, MarkerKind, OrderingHistory, StudyHistory};
use eframe::egui::Ui;
use std::time::Instant;

/// A named starting point for the Ordering lab.
#[derive(Clone, Debug)]
pub struct OrderingPreset {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub config: OrderingConfig,
}

/// The lab's presets (the spec's two tasks); the first is selected on launch. Defined here until the
/// config module has its own.
pub fn ordering_presets() -> Vec<OrderingPreset> {
    vec![
        OrderingPreset {
            name: "xor",
            title: "XOR",
            description: "H = 5, 3 iterations, batch 4, 1000 epochs, Adam lr 0.01; dynamic top-k \
                          prunes to half the weights as training ends.",
            config: OrderingConfig {
                task: OrderingTask::Xor,
                hidden: 5,
                its: 3,
                epochs: 1000,
                batch_size: 4,
                lr: 0.01,
                pruning: Pruning::DynamicTopK { k: 0.5 },
                seed: 0,
            },
        },
        OrderingPreset {
            name: "sine",
            title: "sine regression",
            description: "H = 8, 3 iterations, batch 10, 40 epochs, Adam lr 0.01 on \
                          y = (sin x1 + sin x2) / 2; dynamic top-k prunes to half the weights.",
            config: OrderingConfig {
                task: OrderingTask::Sine,
                hidden: 8,
                its: 3,
                epochs: 40,
                batch_size: 10,
                lr: 0.01,
                pruning: Pruning::DynamicTopK { k: 0.5 },
                seed: 0,
            },
        },
    ]
}

/// Training points of a task (the largest batch that makes sense).
pub fn task_points(task: OrderingTask) -> usize {
    match task {
        OrderingTask::Xor => 4,
        // 150 values as 75 pairs
        OrderingTask::Sine => 75,
    }
}

/// Largest hidden size accepted: the exact ordering search is exponential in H + O, beyond about
/// 20 neurons the runner uses its heuristic, and beyond this the graph is unreadable anyway.
pub const MAX_HIDDEN: usize = 64;
/// Most iterations of the layer accepted.
pub const MAX_ITS: usize = 50;
/// Most epochs accepted.
pub const MAX_EPOCHS: u64 = 1_000_000;
/// Most runs per study setting accepted.
pub const MAX_STUDY_RUNS: usize = 100;
/// Most study threads accepted.
pub const MAX_THREADS: usize = 64;

fn out_of_range(field: &'static str, v: impl std::fmt::Display, range: &str) -> FieldProblem {
    FieldProblem {
        field,
        message: format!("{v} is outside the allowed range {range}"),
    }
}

/// Every problem of a run config, each naming its field and the allowed range. (Checked here
/// because `OrderingConfig` has no `validate()` yet; the worker checks again.)
pub fn validate_run(c: &OrderingConfig) -> Vec<FieldProblem> {
    let mut p = Vec::new();
    if !(1..=MAX_HIDDEN).contains(&c.hidden) {
        p.push(out_of_range(
            "hidden",
            c.hidden,
            &format!("[1, {MAX_HIDDEN}]"),
        ));
    }
    if !(1..=MAX_ITS).contains(&c.its) {
        p.push(out_of_range("its", c.its, &format!("[1, {MAX_ITS}]")));
    }
    if !(1..=MAX_EPOCHS).contains(&c.epochs) {
        p.push(out_of_range(
            "epochs",
            c.epochs,
            &format!("[1, {MAX_EPOCHS}]"),
        ));
    }
    let points = task_points(c.task);
    if !(1..=points).contains(&c.batch_size) {
        p.push(out_of_range(
            "batch_size",
            c.batch_size,
            &format!("[1, {points}] ({} has {points} points)", c.task),
        ));
    }
    if let Err(message) = HyperChange::Lr(c.lr).validate() {
        p.push(FieldProblem {
            field: "lr",
            message: message.trim_start_matches("optim.lr: ").to_string(),
        });
    }
    let ok = |v: f64, lo_open: bool, hi_open: bool| {
        v.is_finite()
            && if lo_open { v > 0.0 } else { v >= 0.0 }
            && if hi_open { v < 1.0 } else { v <= 1.0 }
    };
    match c.pruning {
        Pruning::None => {}
        Pruning::Random { p: v } if !ok(v, false, true) => {
            p.push(out_of_range("pruning.p", v, "[0, 1)"));
        }
        Pruning::TopK { k } | Pruning::DynamicTopK { k } if !ok(k, true, false) => {
            p.push(out_of_range("pruning.k", k, "(0, 1]"));
        }
        Pruning::TriuDamp { f } | Pruning::DynamicTriuDamp { f } if !ok(f, false, false) => {
            p.push(out_of_range("pruning.f", f, "[0, 1]"));
        }
        Pruning::Random { .. }
        | Pruning::TopK { .. }
        | Pruning::DynamicTopK { .. }
        | Pruning::TriuDamp { .. }
        | Pruning::DynamicTriuDamp { .. } => {}
    }
    p
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
            schemes: vec![Scheme::Random, Scheme::TopK, Scheme::TriuDamp],
        }
    }
}

/// Sparsities of the sparsity study: 0.1, 0.2, .., 0.9.
pub fn study_sparsities() -> Vec<f64> {
    (1..=9).map(|i| f64::from(i) / 10.0).collect()
}

/// Hidden sizes of the grid study.
pub const GRID_HIDDEN: [usize; 5] = [1, 3, 5, 7, 9];
/// Iteration counts of the grid study.
pub const GRID_ITS: [usize; 10] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

impl StudyDraft {
    pub fn validate(&self) -> Vec<FieldProblem> {
        let mut p = Vec::new();
        if !(1..=MAX_STUDY_RUNS).contains(&self.runs) {
            p.push(out_of_range(
                "study.runs",
                self.runs,
                &format!("[1, {MAX_STUDY_RUNS}]"),
            ));
        }
        if self.threads > MAX_THREADS {
            p.push(out_of_range(
                "study.threads",
                self.threads,
                &format!("[0, {MAX_THREADS}]"),
            ));
        }
        match self.kind {
            StudyKind::Sparsity if !self.schemes.iter().any(|s| *s != Scheme::None) => {
                p.push(FieldProblem {
                    field: "study.schemes",
                    message: "choose at least one pruning scheme".into(),
                });
            }
            StudyKind::Sparsity | StudyKind::Grid => {}
        }
        p
    }

    /// The study's config around the base run `base`.
    pub fn config(&self, base: &OrderingConfig) -> OrderingStudyConfig {
        OrderingStudyConfig {
            base: base.clone(),
            kind: self.kind,
            runs: self.runs,
            sparsities: study_sparsities(),
            schemes: self
                .schemes
                .iter()
                .copied()
                .filter(|s| *s != Scheme::None)
                .collect(),
            hidden_grid: GRID_HIDDEN.to_vec(),
            its_grid: GRID_ITS.to_vec(),
            threads: self.threads,
        }
    }
}

/// The Ordering tab.
pub struct OrderingLab {
    /// The lab's worker, run and status line.
    link: LabLink,
    presets: Vec<OrderingPreset>,
    preset: usize,
    draft: OrderingConfig,
    study_draft: StudyDraft,
    history: OrderingHistory,
    study: StudyHistory,
    view: OrderingView,
}

impl OrderingLab {
    pub fn new(backend: Box<dyn Backend>) -> Self {
        let presets = ordering_presets();
        // Invariant: `ordering_presets()` is a fixed, non-empty list.
        let draft = presets
            .first()
            .expect("ordering_presets() is never empty")
            .config
            .clone();
        Self {
            link: LabLink::new(
                backend,
                "ready: choose a preset, then Start (or Start study)",
            ),
            presets,
            preset: 0,
            draft,
            study_draft: StudyDraft::default(),
            history: OrderingHistory::new(),
            study: StudyHistory::new(),
            view: OrderingView::default(),
        }
    }

    pub fn phase(&self) -> Phase {
        self.link.runs.phase()
    }

    pub fn status(&self) -> &Status {
        self.link.status()
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
        self.presets.get(self.preset).map(|p| p.name)
    }

    /// Problems of the drafts in the panel (the run's, then the study's).
    pub fn problems(&self) -> Vec<FieldProblem> {
        let mut p = validate_run(&self.draft);
        p.extend(self.study_draft.validate());
        p
    }

    /// Parameter count of the run shown and rows dropped for going backwards (for the status bar).
    pub fn counts(&self) -> (Option<u64>, usize) {
        (
            self.history.param_count(),
            self.history.metrics().dropped_rows(),
        )
    }

    pub fn shown_step(&self) -> (u64, u64) {
        self.link.runs.shown_step(self.history.latest())
    }

    pub fn steps_per_sec(&self) -> Option<f64> {
        self.link.runs.steps_per_sec()
    }

    /// Take events until `deadline`; true if it was reached with events possibly waiting.
    pub fn drain(&mut self, deadline: Instant) -> bool {
        let mut more = false;
        while let Some(event) = self.link.next_event(deadline, &mut more) {
            self.handle_event(event);
        }
        more
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
            } => match *config {
                RunConfig::Ordering(c) => {
                    if self.link.runs.started(run) {
                        self.history.begin(run, c, param_count, steps_per_epoch);
                        self.view.run_started();
                        self.info(format!("run {run} training: {param_count} parameters"));
                    }
                }
                RunConfig::OrderingStudy(c) => {
                    if self.link.runs.started(run) {
                        self.study.begin(run, c);
                        self.view.study_started();
                        self.info(format!("study {run} running"));
                    }
                }
                // another lab's run: this lab's worker only runs Ordering configs
                RunConfig::Grokking(_) => {}
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
            Event::Snapshot { run, snapshot } => {
                if self.link.runs.is_current(run) && !self.history.push_snapshot(*snapshot) {
                    let (count, why) = self.history.rejected_snapshots();
                    let why = why.unwrap_or("malformed").to_string();
                    self.error(format!("{count} snapshot(s) ignored: {why}"));
                }
            }
            Event::StudyPoint {
                run,
                row,
                done,
                total,
            } => {
                if self.link.runs.is_current(run) {
                    self.study.push(*row, done, total);
                    self.info(format!("study: {done} of {total} runs done"));
                }
            }
            // grokking milestones do not occur in this lab
            Event::Detected { .. } => {}
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
            Event::Refused { message } => {
                self.link.runs.refused(self.has_data());
                self.error(format!("refused: {message}"));
            }
            Event::Finished {
                run,
                outcome,
                summary,
            } => {
                let has_data = self.has_data();
                if let Some((outcome, summary)) =
                    self.link.finished(run, outcome, summary, has_data)
                {
                    if self.study.run() == Some(run) {
                        self.study.finish(outcome);
                    } else {
                        self.history.finish(outcome, summary);
                    }
                }
            }
        }
    }

    /// Apply a run control or a panel request; `speed` is the top bar's limit (sent with a start).
    pub fn apply(&mut self, action: Action, speed: Option<f64>) {
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
            | Action::Change(_) => {}
            Action::Start => {
                let problems = validate_run(&self.draft);
                if let Some(first) = problems.first() {
                    self.error(format!("Start refused: {}: {}", first.field, first.message));
                    return;
                }
                self.link
                    .launch(RunConfig::Ordering(self.draft.clone()), speed);
                self.history.clear();
                self.view.run_started();
            }
            Action::StartStudy => {
                let problems = self.problems();
                if let Some(first) = problems.first() {
                    self.error(format!("Study refused: {}: {}", first.field, first.message));
                    return;
                }
                let config = self.study_draft.config(&self.draft);
                self.link.launch(RunConfig::OrderingStudy(config), speed);
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
                if let Some(p) = self.presets.get(i) {
                    self.preset = i;
                    self.draft = p.config.clone();
                    self.info(format!("preset {}: {}", p.name, p.title));
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

    /// The left panel.
    pub fn config_ui(&mut self, ui: &mut Ui, problems: &[FieldProblem]) -> Action {
        let panel = OrderingPanel {
            presets: &self.presets,
            preset: self.preset,
            run_active: self.link.runs.phase().active(),
            problems,
        };
        config_ui(ui, &mut self.draft, &mut self.study_draft, &panel)
    }

    /// The centre: the run's plots, graph and heatmap, or the study's results.
    pub fn centre_ui(&mut self, ui: &mut Ui) {
        centre_ui(ui, &mut self.view, &self.history, &self.study);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid() {
        for p in ordering_presets() {
            assert!(validate_run(&p.config).is_empty(), "{}", p.name);
        }
        assert!(StudyDraft::default().validate().is_empty());
    }

    #[test]
    fn problems_name_the_field_and_range() {
        let mut c = ordering_presets()[0].config.clone();
        c.hidden = 0;
        c.batch_size = 5;
        c.lr = -1.0;
        c.pruning = Pruning::TopK { k: 0.0 };
        let fields: Vec<&str> = validate_run(&c).iter().map(|p| p.field).collect();
        assert_eq!(fields, ["hidden", "batch_size", "lr", "pruning.k"]);
        let p = validate_run(&c);
        assert_eq!(p[0].message, "0 is outside the allowed range [1, 64]");
        assert!(
            p[1].message.contains("XOR has 4 points"),
            "{}",
            p[1].message
        );
        c.pruning = Pruning::Random { p: f64::NAN };
        assert_eq!(validate_run(&c).last().map(|p| p.field), Some("pruning.p"));
        let study = StudyDraft {
            runs: 0,
            schemes: vec![Scheme::None],
            ..StudyDraft::default()
        };
        let fields: Vec<&str> = study.validate().iter().map(|p| p.field).collect();
        assert_eq!(fields, ["study.runs", "study.schemes"]);
    }

    #[test]
    fn the_study_config_always_has_the_baseline_implicitly() {
        let d = StudyDraft {
            schemes: vec![Scheme::None, Scheme::TopK],
            ..StudyDraft::default()
        };
        let c = d.config(&ordering_presets()[1].config);
        assert_eq!(c.schemes, [Scheme::TopK]);
        assert_eq!(c.sparsities.len(), 9);
        assert_eq!(c.hidden_grid, GRID_HIDDEN);
        assert_eq!(c.base.task, OrderingTask::Sine);
    }
}
