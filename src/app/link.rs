//! [`RunTracker`]: which run of a lab's worker the UI follows, and where it is (idle, starting,
//! running, paused, finished). Each lab owns one; the lab's event handler asks it whether an event
//! belongs to the run on screen.

use super::actions::Action;
use super::backend::Backend;
use super::meters::StepRate;
use crate::config::ValidRunConfig;
use crate::protocol::{Command, Event, Outcome, RunId, Summary};
use std::time::Instant;

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

    /// The word the status bar shows.
    pub fn word(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Starting => "starting",
            Phase::Running => "running",
            Phase::Paused => "paused",
            Phase::Finished => "finished",
        }
    }
}

/// A lab's status line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Status {
    pub text: String,
    pub is_error: bool,
}

impl Status {
    pub fn info(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            is_error: false,
        }
    }

    pub fn error(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            is_error: true,
        }
    }
}

/// Whose `Finished` an event is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinishedRun {
    /// The run on screen ended.
    Current,
    /// A start the worker refused (a `Finished` with no `Started` before it).
    Refused,
    /// A run no longer followed (replaced or reset).
    Stale,
}

/// [`RunTracker::marker`]: the run followed, the newest seen, the starts in flight.
pub type RunMarker = (Option<RunId>, Option<RunId>, u32);

/// The run a lab follows and its phase.
#[derive(Debug)]
pub struct RunTracker {
    phase: Phase,
    current: Option<RunId>,
    /// Starts sent whose `Started` (or refusal) has not arrived; a `Started` beyond these is stale.
    pending_starts: u32,
    /// The highest run id seen (ids increase): a `Finished` above it with no `Started` is a refused start.
    newest: Option<RunId>,
    /// Step and epoch from the latest `Progress` of the current run.
    progress: Option<(u64, u64)>,
    rate: StepRate,
    /// When the current run's `Started` arrived.
    started_at: Option<Instant>,
}

impl Default for RunTracker {
    fn default() -> Self {
        Self {
            phase: Phase::Idle,
            current: None,
            pending_starts: 0,
            newest: None,
            progress: None,
            rate: StepRate::default(),
            started_at: None,
        }
    }
}

impl RunTracker {
    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn is_current(&self, run: RunId) -> bool {
        self.current == Some(run)
    }

    /// What changes when a run is started or reset: the run followed, the newest seen and the starts
    /// in flight. Equal at two moments, no run was started (or reset) between them.
    pub fn marker(&self) -> RunMarker {
        (self.current, self.newest, self.pending_starts)
    }

    /// A `Start` went to the worker.
    pub fn start_sent(&mut self) {
        self.phase = Phase::Starting;
        self.pending_starts += 1;
        self.current = None;
        self.progress = None;
        self.rate.clear();
    }

    /// A `Started` arrived: follow it if a start is awaited (returns false for a stale one).
    pub fn started(&mut self, run: RunId) -> bool {
        if self.pending_starts == 0 {
            return false;
        }
        self.pending_starts -= 1;
        self.newest = self.newest.max(Some(run));
        self.current = Some(run);
        self.progress = None;
        self.rate.clear();
        self.started_at = Some(Instant::now());
        self.phase = Phase::Running;
        true
    }

    /// How long ago the current run started (pauses included).
    pub fn running_for(&self) -> Option<std::time::Duration> {
        self.started_at.map(|t| t.elapsed())
    }

    /// Progress of `run` (ignored unless current, or if it goes backwards).
    pub fn progress(&mut self, run: RunId, step: u64, epoch: u64) {
        if self.is_current(run) && self.progress.is_none_or(|(s, _)| step >= s) {
            self.progress = Some((step, epoch));
            self.rate.record(Instant::now(), step);
        }
    }

    pub fn paused(&mut self, run: RunId, paused: bool) {
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

    /// The worker refused a command; if a start was awaited it was that start. `has_data`: whether
    /// an earlier run's data is still on screen.
    pub fn refused(&mut self, has_data: bool) {
        if self.phase == Phase::Starting && self.pending_starts > 0 {
            self.pending_starts -= 1;
            self.phase = Self::resting(has_data);
        }
    }

    /// A `Finished` arrived.
    pub fn finished(&mut self, run: RunId, has_data: bool) -> FinishedRun {
        if self.is_current(run) {
            self.phase = Phase::Finished;
            self.rate.clear();
            FinishedRun::Current
        } else if self.pending_starts > 0 && self.newest.is_none_or(|n| run > n) {
            self.pending_starts -= 1;
            self.newest = Some(run);
            if self.pending_starts == 0 {
                self.phase = Self::resting(has_data);
            }
            FinishedRun::Refused
        } else {
            FinishedRun::Stale
        }
    }

    /// Forget the run (its later events are ignored).
    pub fn reset(&mut self) {
        self.current = None;
        self.pending_starts = 0;
        self.progress = None;
        self.phase = Phase::Idle;
        self.rate.clear();
    }

    fn resting(has_data: bool) -> Phase {
        if has_data {
            Phase::Finished
        } else {
            Phase::Idle
        }
    }

    /// Step and epoch to show: the newest of progress and `logged` (the newest stored row).
    pub fn shown_step(&self, logged: Option<(u64, u64)>) -> (u64, u64) {
        match (self.progress, logged) {
            (Some(p), Some(r)) => p.max(r),
            (Some(p), None) => p,
            (None, Some(r)) => r,
            (None, None) => (0, 0),
        }
    }

    /// Training speed while running.
    pub fn steps_per_sec(&self) -> Option<f64> {
        match self.phase {
            Phase::Running => self.rate.per_sec(),
            Phase::Starting | Phase::Paused | Phase::Idle | Phase::Finished => None,
        }
    }
}

/// A lab's link to its worker: where commands go, the run followed, and the lab's status line.
pub struct LabLink {
    backend: Box<dyn Backend>,
    pub runs: RunTracker,
    status: Status,
    /// The last error an info message replaced on the status line (a save that failed, then "memorised
    /// at epoch 111" a moment later): kept beside it until dismissed or the next run is launched.
    earlier: Option<String>,
    /// Which named panels show and which a lesson highlights.
    pub panels: super::teach::panels::PanelState,
    /// Where this lab's latest run trains and why (from its `Started`; the status bar shows it).
    pub device: Option<crate::config::device::Choice>,
}

impl LabLink {
    pub fn new(backend: Box<dyn Backend>, ready: &str) -> Self {
        Self {
            backend,
            runs: RunTracker::default(),
            status: Status::info(ready),
            earlier: None,
            panels: Default::default(),
            device: None,
        }
    }

    pub fn phase(&self) -> Phase {
        self.runs.phase()
    }

    pub fn status(&self) -> &Status {
        &self.status
    }

    pub fn info(&mut self, text: impl Into<String>) {
        let before = std::mem::replace(&mut self.status, Status::info(text));
        if before.is_error {
            self.earlier = Some(before.text);
        }
    }

    /// An error that a later info message replaced on the status line ([`Self::info`]), not yet
    /// dismissed.
    pub fn earlier(&self) -> Option<&str> {
        self.earlier.as_deref()
    }

    pub fn dismiss_earlier(&mut self) {
        self.earlier = None;
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.status = Status::error(text);
    }

    pub fn send(&self, cmd: Command) {
        self.backend.send(cmd);
    }

    /// The next event, unless `deadline` has passed (then `more` is set: events may be waiting).
    pub fn next_event(&self, deadline: Instant, more: &mut bool) -> Option<Event> {
        if Instant::now() >= deadline {
            *more = true;
            return None;
        }
        self.backend.try_recv()
    }

    /// Send `config` to the worker (after the speed limit) and await its `Started`.
    pub fn launch(&mut self, config: ValidRunConfig, speed: Option<f64>) {
        self.launch_command(Command::Start(Box::new(config)), speed);
        self.info("starting…");
    }

    /// Send a run-starting command (`Start` or `Continue`) after the speed limit, and await its
    /// `Started`.
    pub fn launch_command(&mut self, cmd: Command, speed: Option<f64>) {
        self.send(Command::SetSpeed(speed));
        self.send(cmd);
        self.runs.start_sent();
        // a new run: what went wrong before it is not kept beside its messages
        self.earlier = None;
        if self.status.is_error {
            self.status = Status::info("");
        }
    }

    /// The top bar's step counter: the newest of progress and `logged` rows, and the rate.
    pub fn counter(&self, logged: Option<(u64, u64)>) -> super::labs::Counter {
        let (step, epoch) = self.runs.shown_step(logged);
        super::labs::Counter::Steps {
            step,
            epoch,
            steps_per_sec: self.runs.steps_per_sec(),
        }
    }

    /// A `Finished` arrived: the status line says how it ended. Returns the outcome and summary
    /// when it ended the run on screen (for the lab to store).
    pub fn finished(
        &mut self,
        run: RunId,
        outcome: Outcome,
        summary: Option<Summary>,
        has_data: bool,
    ) -> Option<(Outcome, Option<Summary>)> {
        self.finished_as(run, outcome, summary, has_data).1
    }

    /// [`Self::finished`], and whose `Finished` it was: a refused start is one a lab may undo.
    pub fn finished_as(
        &mut self,
        run: RunId,
        outcome: Outcome,
        summary: Option<Summary>,
        has_data: bool,
    ) -> (FinishedRun, Option<(Outcome, Option<Summary>)>) {
        let text = finished_text(&outcome, summary.as_ref());
        self.ended(run, outcome, summary, has_data, text)
    }

    /// [`Self::finished`] with the status line's `text` for a run on screen that ended.
    fn ended(
        &mut self,
        run: RunId,
        outcome: Outcome,
        summary: Option<Summary>,
        has_data: bool,
        text: String,
    ) -> (FinishedRun, Option<(Outcome, Option<Summary>)>) {
        let whose = self.runs.finished(run, has_data);
        let ended = match whose {
            FinishedRun::Current => {
                match outcome {
                    Outcome::Failed { .. } => self.error(text),
                    Outcome::Completed | Outcome::Stopped => self.info(text),
                }
                Some((outcome, summary))
            }
            // a run that never started: the worker refused its config
            FinishedRun::Refused => {
                self.error(text);
                None
            }
            FinishedRun::Stale => None,
        };
        (whose, ended)
    }

    /// A study's or sweep's `Finished` (it has no summary): as [`Self::finished`], and for the one on
    /// screen that completed or was stopped the status line says how many of its runs were done and
    /// in how long: "phase study completed: 72 of 72 runs in 55.0 s".
    pub fn batch_finished(
        &mut self,
        run: RunId,
        outcome: Outcome,
        batch: Batch<'_>,
        has_data: bool,
    ) -> Option<Outcome> {
        let head = match outcome {
            Outcome::Completed => Some("completed"),
            Outcome::Stopped => Some("stopped"),
            Outcome::Failed { .. } => None,
        };
        let text = match head {
            None => finished_text(&outcome, None),
            Some(head) => {
                let time = self.runs.running_for().map_or(String::new(), |d| {
                    format!(" in {}", wall_text(d.as_secs_f64()))
                });
                format!(
                    "{} {head}: {} of {} {}{time}",
                    batch.what, batch.done, batch.total, batch.unit
                )
            }
        };
        self.ended(run, outcome, None, has_data, text)
            .1
            .map(|(outcome, _)| outcome)
    }

    /// The top bar's controls while `batch` (a lab's study or sweep, if it has one) may be its run:
    /// start and stop only while it is the current run and active (its threads run whole runs; a
    /// pause held back its results while they went on), a single run's controls otherwise.
    pub fn controls_with(&self, batch: Option<RunId>) -> super::labs::Controls {
        match batch {
            Some(run) if self.runs.is_current(run) && self.runs.phase().active() => {
                super::labs::Controls::Tasks
            }
            _ => super::labs::Controls::Run,
        }
    }

    /// Stop the run if one is active and forget it.
    pub fn reset(&mut self) {
        if self.runs.phase().active() {
            self.send(Command::Stop);
        }
        self.runs.reset();
    }

    /// A run that ended is shown instead of the one followed (a scene's run, made current from its
    /// folder): a run still active stops and is forgotten, and the lab rests as after a run's end
    /// (its step counter then reads the shown run's rows).
    pub fn show_ended(&mut self) {
        self.reset();
        self.runs.phase = Phase::Finished;
    }

    /// Apply the controls every lab handles alike (pause, resume, step, stop, speed, a live change);
    /// false for any other action.
    pub fn control(&mut self, action: &Action) -> bool {
        match action {
            Action::Pause => self.send(Command::Pause),
            Action::Resume => self.send(Command::Resume),
            Action::Step => self.send(Command::Step),
            Action::Stop => {
                self.send(Command::Stop);
                self.info("stopping…");
            }
            Action::SetSpeed(limit) => self.send(Command::SetSpeed(*limit)),
            // (a worker with no run drops it)
            Action::PauseAt(at) => self.send(Command::PauseAt(*at)),
            Action::Change(change) => {
                if let Err(message) = change.validate() {
                    self.error(format!("not applied: {message}"));
                } else if self.runs.phase().active() {
                    self.send(Command::Change(*change));
                    self.info(format!("requested {change}"));
                }
            }
            Action::None
            | Action::Start
            | Action::StartStudy
            | Action::Reset
            | Action::SelectPreset(_)
            | Action::Export(_)
            | Action::ExportTo(..)
            | Action::CancelExportPath => return false,
        }
        true
    }
}

/// What a study or sweep did, for its status line at the end.
pub struct Batch<'a> {
    /// "study", "sweep", "phase study".
    pub what: &'a str,
    pub done: usize,
    pub total: usize,
    /// "runs", "tasks".
    pub unit: &'a str,
}

/// A run's wall time: in seconds to a tenth, below a tenth of a second in milliseconds (a tiny run's
/// "0.0 s" read as if it had not run).
fn wall_text(secs: f64) -> String {
    if secs < 0.095 {
        format!("{:.0} ms", secs * 1000.0)
    } else {
        format!("{secs:.1} s")
    }
}

/// The status line for a run's end.
pub fn finished_text(outcome: &Outcome, summary: Option<&Summary>) -> String {
    let head = match outcome {
        Outcome::Completed => "completed".to_string(),
        Outcome::Stopped => "stopped".to_string(),
        Outcome::Failed { message } => format!("run failed: {message}"),
    };
    let Some(s) = summary else {
        return head;
    };
    let mut parts = vec![format!(
        "{head} after {} epochs ({} steps, {})",
        s.epochs,
        s.steps,
        wall_text(s.wall_secs)
    )];
    if let Some(t) = s.t_train_epoch {
        parts.push(format!("memorised at epoch {t}"));
    }
    if let Some(t) = s.t_val_epoch {
        parts.push(format!("generalised at epoch {t}"));
    }
    if let Some(d) = s.delay_text() {
        // measured to validation >= 98 %, not to the 99 % of "generalised" (312 - 111 is not 195:
        // a helper's audit), and a lower bound said to be one
        parts.push(format!("delay {d}"));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_is_followed_then_finished() {
        let mut t = RunTracker::default();
        assert!(!t.started(1), "nothing was awaited");
        t.start_sent();
        assert_eq!(t.phase(), Phase::Starting);
        assert!(t.started(3));
        assert!(t.is_current(3));
        t.progress(3, 10, 1);
        t.progress(3, 5, 1);
        assert_eq!(t.shown_step(Some((8, 1))), (10, 1));
        t.paused(3, true);
        assert_eq!(t.phase(), Phase::Paused);
        assert_eq!(t.finished(2, true), FinishedRun::Stale);
        assert_eq!(t.finished(3, true), FinishedRun::Current);
        assert_eq!(t.phase(), Phase::Finished);
    }

    #[test]
    fn a_finished_without_started_is_a_refused_start() {
        let mut t = RunTracker::default();
        t.start_sent();
        assert_eq!(t.finished(1, false), FinishedRun::Refused);
        assert_eq!(t.phase(), Phase::Idle);
        // a later start, refused while an earlier run's data is shown
        t.start_sent();
        t.refused(true);
        assert_eq!(t.phase(), Phase::Finished);
    }

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
            "completed after 500 epochs (500 steps, 2.0 s), memorised at epoch 100, generalised at epoch 400, delay 290 epochs (to validation ≥ 98 %)"
        );
        // a tiny run (an Ordering-lab run of 1000 steps takes tens of milliseconds)
        let tiny = Summary {
            wall_secs: 0.0342,
            t_train_epoch: None,
            t_val_epoch: None,
            delay_epochs: None,
            ..s.clone()
        };
        assert_eq!(
            finished_text(&Outcome::Completed, Some(&tiny)),
            "completed after 500 epochs (500 steps, 34 ms)"
        );
        // memorised at 100 and never generalised in 500 epochs: the spec's delay, 500 − 100, is only
        // a lower bound, and says so (it read as a measured 400)
        let never = Summary {
            t_val_epoch: None,
            delay_epochs: Some(400),
            ..s.clone()
        };
        assert!(
            finished_text(&Outcome::Completed, Some(&never))
                .ends_with("memorised at epoch 100, delay ≥ 400 epochs (never generalised)"),
            "{}",
            finished_text(&Outcome::Completed, Some(&never))
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
