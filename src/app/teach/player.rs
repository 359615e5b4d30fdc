//! Playing a lesson: the step shown, the actions of the step still to do, and what the step waits for.
//! The shell calls [`LessonPlayer::advance`] every frame; the player does the step's actions in order
//! on the labs until one waits (an event, or a time), and goes on once the lab reports it.
//!
//! Going back shows the earlier step's text and redoes only what it shows (panels, highlight, step
//! cursor): training cannot run backwards, so runs stay as they are; the views return to where the
//! step ended, and the plots veil what the run did after it. Restarting the lesson resets the
//! labs it uses and plays it again from its first step.

use crate::analysis::events::GrokEvent;
use crate::app::actions::Action as BarAction;
use crate::app::labs::{Controls, Lab, LabCtx, LabSlot, Milestone, SweepView, Teach};
use crate::app::link::Phase;
use crate::config::lesson::{Action, CursorAt, LESSON_C, LessonLab, Step, ValidLesson};
use crate::protocol::PausePoint;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What the step waits for before its next action.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Wait {
    /// A lab's milestone.
    Event(Lab, Milestone),
    /// Wall time: until this instant.
    Until(Instant),
}

/// A lesson being played.
pub struct LessonPlayer {
    lesson: ValidLesson,
    /// Where it came from, as the window says it: `bundled: NAME` or the file's path.
    pub source: String,
    /// Index of the step shown.
    step: usize,
    /// The step's actions not yet done.
    queue: VecDeque<Action>,
    wait: Option<Wait>,
    /// When the wait began (the bar shows for how long).
    waiting_since: Option<Instant>,
    /// The lab each step works on (the last one chosen up to it), for going back.
    labs: Vec<Option<Lab>>,
    /// The lab the actions go to now.
    lab: Option<Lab>,
    /// What the last action said (a lab's answer, or a refusal).
    pub note: Option<(bool, String)>,
    /// The step's wait that was skipped, if one was: its text speaks of what had not happened yet
    /// (the bar tags the step so, in the presenter view too).
    skipped: Option<Wait>,
    /// The step shows the `config` panel (the presenter view hides it otherwise).
    config_shown: bool,
    /// A new step began: the last step's highlight goes.
    fresh: bool,
    /// The step was gone back (or on) to: the lesson's labs get the panels the steps before it left
    /// (its own show and hide follow in its actions).
    rebuild: bool,
    /// Which of the lesson's labs' panels showed when it began (lab, panel, shown): what going back
    /// starts from before the earlier steps' `show` and `hide`.
    baseline: Option<Vec<(Lab, &'static str, bool)>>,
    /// Which of the lesson's labs' view options were on when it began (lab, option, on): what going
    /// back (or starting again) starts from before the earlier steps' `view`.
    view_baseline: Option<Vec<(Lab, &'static str, bool)>>,
    /// How the lesson's labs that show a sweep showed it when it began (figure, prime, C): what going
    /// back (or the lesson's end) starts from before the earlier steps' `figure`.
    figure_baseline: Option<Vec<(Lab, SweepView)>>,
    /// Where each step ended when it was first played: the step its views showed once its actions
    /// were done (its cursor's, else the run's latest). Gone back (or on) to, a step shows that moment
    /// again, whatever the run did since: its text speaks of it (a teacher's audit found "Nothing
    /// seems to happen" over a finished run at 100 % validation).
    ends: Vec<Option<u64>>,
    /// The step shown plays its actions for the first time (its end is recorded when they are done).
    first_play: bool,
    /// The step shown was gone back (or on) to; what the title says of it is not worked out yet.
    revisiting: bool,
    /// The step was gone back (or on) to and shows where it ended: that step and the run's latest
    /// (the title says so when the run has gone on since).
    back_at: Option<(u64, u64)>,
    /// The furthest step whose actions were played: going on to a step up to it (after going back)
    /// redoes only what it shows, so a step that starts a run does not start it again.
    reached: usize,
    /// A speed limit a `speed` action set on a lab (`None`: flat out), for the window's top bar to
    /// take.
    speed: Option<(Lab, Option<f64>)>,
    /// When the lesson began (or began again): the speaker notes' clock.
    began: Instant,
    /// When the step shown was entered.
    step_began: Instant,
    /// The lab whose run was asked to hold itself where the wait ends (a `run_until` followed by
    /// `pause`): told to let go once the wait ends (met, skipped or left), so that a skipped wait
    /// leaves no pause behind.
    armed: Option<Lab>,
}

/// The app lab a lesson's lab names.
pub fn lab_of(l: LessonLab) -> Option<Lab> {
    Lab::named(l.name())
}

/// A folder a lesson opens (`assets/...`), the first of [`bundled_candidates`] that is there; none
/// is: the folder under the working directory (its refusal then names that path).
pub fn bundled_path(folder: &str) -> PathBuf {
    let exe = std::env::current_exe().ok();
    bundled_candidates(folder, exe.as_deref())
        .into_iter()
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(folder))
}

/// Where a bundled folder may be, in order: beside the binary `exe` and in the three folders above
/// it (a copy handed out with its `assets/` beside it; `target/release/` in a checkout), under the
/// working directory, then under the source tree the binary was built from. The source tree came
/// first: a binary copied elsewhere looked in a folder of the machine that built it (a
/// researcher's audit, L5).
fn bundled_candidates(folder: &str, exe: Option<&Path>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = exe
        .and_then(Path::parent)
        .into_iter()
        .flat_map(|dir| dir.ancestors().take(4))
        .map(|dir| dir.join(folder))
        .collect();
    // absolute, as the others are (a relative one read differently once the working directory
    // changed, and compared unequal to the same folder found by another way)
    out.push(
        std::env::current_dir()
            .map(|d| d.join(folder))
            .unwrap_or_else(|_| PathBuf::from(folder)),
    );
    out.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(folder));
    out
}

/// What the steps before `step` set, in order: (lab, key, on), each on the lab chosen when it came;
/// `of` reads an action's keys and setting (the panels of a `show` or `hide`, a `view`'s option).
fn changes_before(
    lesson: &ValidLesson,
    step: usize,
    of: impl Fn(&Action) -> Option<(Vec<&str>, bool)>,
) -> Vec<(Lab, String, bool)> {
    let mut lab = None;
    let mut out = vec![];
    for s in lesson.steps.iter().take(step) {
        for a in &s.actions {
            if let Action::Choose { lab: l, .. } = a {
                lab = lab_of(*l);
                continue;
            }
            if let (Some(lab), Some((keys, on))) = (lab, of(a)) {
                out.extend(keys.into_iter().map(|k| (lab, k.to_string(), on)));
            }
        }
    }
    out
}

/// The `show` and `hide` of the steps before `step`, in order: (lab, panel, shown).
fn panel_changes(lesson: &ValidLesson, step: usize) -> Vec<(Lab, String, bool)> {
    changes_before(lesson, step, |a| match a {
        Action::Show { panels } => Some((panels.iter().map(String::as_str).collect(), true)),
        Action::Hide { panels } => Some((panels.iter().map(String::as_str).collect(), false)),
        _ => None,
    })
}

/// The `view` options the steps before `step` set, in order: (lab, option, on).
fn view_changes(lesson: &ValidLesson, step: usize) -> Vec<(Lab, String, bool)> {
    changes_before(lesson, step, |a| match a {
        Action::View { option, on } => Some((vec![option.as_str()], *on)),
        _ => None,
    })
}

/// The sweep view a lesson's `figure` sets: its C said as the lesson's.
fn figure_view(name: &str, prime: Option<u32>, c: Option<f64>) -> SweepView {
    SweepView {
        figure: name.to_string(),
        prime,
        c,
        c_source: c.map(|_| LESSON_C.to_string()),
        c_lower_bound: false,
    }
}

/// Set `labs` as `baseline` and then `changes` say, in order: (lab, key, on) each, by `set`.
fn replay(
    labs: &mut [Box<dyn LabSlot>],
    baseline: Option<&Vec<(Lab, &'static str, bool)>>,
    changes: Vec<(Lab, String, bool)>,
    set: impl Fn(&mut dyn LabSlot, &str, bool),
) {
    let baseline = baseline
        .into_iter()
        .flatten()
        .map(|&(lab, key, on)| (lab, key.to_string(), on));
    for (lab, key, on) in baseline.chain(changes) {
        if let Some(l) = labs.iter_mut().find(|l| l.lab() == lab) {
            set(l.as_mut(), &key, on);
        }
    }
}

impl LessonPlayer {
    /// The lesson at its first step (nothing done yet: call [`Self::advance`]).
    pub fn new(lesson: ValidLesson, source: impl Into<String>) -> Self {
        let mut lab = None;
        let labs = lesson
            .steps
            .iter()
            .map(|s| {
                for a in &s.actions {
                    if let Action::Choose { lab: l, .. } = a {
                        lab = lab_of(*l);
                    }
                }
                lab
            })
            .collect();
        let n = lesson.steps.len();
        let mut p = Self {
            lesson,
            source: source.into(),
            step: 0,
            queue: VecDeque::new(),
            wait: None,
            waiting_since: None,
            labs,
            lab: None,
            note: None,
            skipped: None,
            config_shown: false,
            fresh: true,
            rebuild: false,
            view_baseline: None,
            figure_baseline: None,
            baseline: None,
            speed: None,
            reached: 0,
            ends: vec![None; n],
            first_play: true,
            revisiting: false,
            back_at: None,
            began: Instant::now(),
            step_began: Instant::now(),
            armed: None,
        };
        p.enter(0, true);
        p
    }

    pub fn title(&self) -> &str {
        &self.lesson.title
    }

    /// Index of the step shown (from 0) and the number of steps.
    pub fn position(&self) -> (usize, usize) {
        (self.step, self.lesson.steps.len())
    }

    /// The step shown.
    pub fn step(&self) -> &Step {
        &self.lesson.steps[self.step]
    }

    /// The step after the one shown, if there is one.
    pub fn next_step(&self) -> Option<&Step> {
        self.lesson.steps.get(self.step + 1)
    }

    /// For how long the lesson has played (since it began, or began again), and for how long the
    /// step shown has been shown.
    pub fn clocks(&self) -> (Duration, Duration) {
        (self.began.elapsed(), self.step_began.elapsed())
    }

    /// What the step waits for, if it waits.
    pub fn waiting(&self) -> Option<Wait> {
        self.wait
    }

    /// For how long the step has waited.
    pub fn waited(&self) -> Option<Duration> {
        self.waiting_since.map(|t| t.elapsed())
    }

    /// When the window next needs a frame while the step waits: when the wait's seconds counter (the
    /// bar's "(12 s)") turns over, or a timed wait ends, whichever is sooner. A lab's event wakes the
    /// window by itself, so a wait for one needs no faster frames: ten a second here kept a software
    /// renderer busy through a lesson's long waits, on the cores the runs train on.
    pub fn next_frame(&self) -> Duration {
        let tick = self.waited().map_or(Duration::from_secs(1), |w| {
            Duration::from_secs(1) - Duration::from_nanos(u64::from(w.subsec_nanos()))
        });
        let due = match self.wait {
            Some(Wait::Until(t)) => tick.min(t.saturating_duration_since(Instant::now())),
            Some(Wait::Event(..)) | None => tick,
        };
        due.max(Duration::from_millis(10))
    }

    /// Whether the step has done all its actions.
    pub fn step_done(&self) -> bool {
        self.wait.is_none() && self.queue.is_empty()
    }

    /// The lab the lesson works on now.
    pub fn lab(&self) -> Option<Lab> {
        self.lab
    }

    /// Whether the step shows the config panel (the presenter view hides it otherwise: a step shows the
    /// controls it needs).
    pub fn config_shown(&self) -> bool {
        self.config_shown
    }

    /// The lesson as loaded.
    pub fn lesson(&self) -> &ValidLesson {
        &self.lesson
    }

    fn enter(&mut self, i: usize, all: bool) {
        self.step = i.min(self.lesson.steps.len().saturating_sub(1));
        self.step_began = Instant::now();
        self.wait = None;
        self.waiting_since = None;
        self.note = None;
        self.skipped = None;
        self.fresh = true;
        self.rebuild = !all;
        self.config_shown = false;
        self.first_play = all;
        self.revisiting = !all;
        self.back_at = None;
        self.lab = self.labs.get(self.step).copied().flatten().or(self.lab);
        let actions = self.lesson.steps[self.step].actions.iter().cloned();
        self.queue = if all {
            actions.collect()
        } else {
            // going back: only what the step shows
            let mut shown: VecDeque<Action> = actions
                .filter(|a| {
                    matches!(
                        a,
                        Action::Show { .. }
                            | Action::Hide { .. }
                            | Action::Highlight { .. }
                            | Action::Cursor { .. }
                            | Action::View { .. }
                            | Action::Figure { .. }
                    )
                })
                .collect();
            // and the moment it ended, last (its own `cursor latest` meant the latest then)
            if let Some(end) = self.ends.get(self.step).copied().flatten() {
                shown.push_back(Action::Cursor {
                    at: CursorAt::Step(end),
                });
            }
            shown
        };
    }

    /// Record where the step ended, once its actions are done on its first play; on a step gone
    /// back to, what the title says of it.
    fn step_ended(&mut self, labs: &mut [Box<dyn LabSlot>]) {
        let slot = self
            .lab
            .and_then(|lab| labs.iter_mut().find(|l| l.lab() == lab));
        let Some(slot) = slot else {
            self.revisiting = false;
            self.first_play = false;
            return;
        };
        let shown = slot.shown_steps();
        self.revisiting = false;
        if std::mem::take(&mut self.first_play) {
            if let Some(end) = self.ends.get_mut(self.step) {
                *end = shown.map(|(cursor, latest)| cursor.unwrap_or(latest));
            }
        } else if let (Some(end), Some((_, latest))) =
            (self.ends.get(self.step).copied().flatten(), shown)
        {
            self.back_at = (latest > end).then_some((end, latest));
            // the curves as they were then: what came later veiled (the text speaks of that moment)
            slot.show_as_of(self.back_at.map(|(end, _)| end));
        }
    }

    /// On a step gone back to whose run has gone on since: "back at step 200; the run has gone on
    /// to 312 since" (the views show step 200; the curves beyond it came later).
    pub fn back_text(&self) -> Option<String> {
        self.back_at.map(|(end, latest)| {
            format!("back at step {end}; the run has gone on to {latest} since")
        })
    }

    /// Next: skip the wait if the step waits, else go to the next step (nothing at the last).
    pub fn next(&mut self) {
        if self.wait.is_some() {
            self.skip();
        } else if self.step + 1 < self.lesson.steps.len() {
            let next = self.step + 1;
            self.enter(next, next > self.reached);
            self.reached = self.reached.max(next);
        }
    }

    /// Stop waiting: the step's remaining actions go on.
    pub fn skip(&mut self) {
        if let Some(w) = self.wait.take() {
            self.waiting_since = None;
            self.note = Some((false, "skipped the wait".into()));
            self.skipped = Some(w);
        }
    }

    /// What the step waited for when its wait was skipped: "wait skipped: not yet memorised"
    /// (`None` when no wait of the step was skipped).
    pub fn skipped_text(&self) -> Option<String> {
        self.skipped.map(|w| match w {
            Wait::Event(_, m) => format!("wait skipped: not yet {m}"),
            Wait::Until(_) => "wait skipped: not run as long as the step says".into(),
        })
    }

    /// Show step `i` (from 0) as going back would: its text, panels, highlight and cursor.
    /// A scene's lesson: the panels are the scene's own (kept with it), not rebuilt from the steps.
    pub fn show_step(&mut self, i: usize) {
        self.enter(i, false);
        self.rebuild = false;
        self.reached = self.step;
    }

    /// Back to the previous step: its text, panels, highlight and cursor (runs stay as they are).
    pub fn previous(&mut self) {
        if self.step > 0 {
            self.enter(self.step - 1, false);
        }
    }

    /// Start again from the first step; the labs the lesson uses are reset first.
    pub fn restart(&mut self, labs: &mut [Box<dyn LabSlot>], ctx: LabCtx) {
        self.reset_labs(labs, ctx);
        self.lab = None;
        self.config_shown = false;
        self.reached = 0;
        self.ends.fill(None);
        self.began = Instant::now();
        self.enter(0, true);
        // the view options as the lesson found them
        self.rebuild_views(labs);
    }

    /// Reset the labs the lesson uses (a run going stops, the plots clear) and show their panels.
    pub fn reset_labs(&self, labs: &mut [Box<dyn LabSlot>], ctx: LabCtx) {
        for lab in labs.iter_mut() {
            if self.uses(lab.lab()) {
                reset_lab(lab.as_mut(), ctx);
            }
        }
    }

    /// Whether a step of the lesson chooses `lab`.
    pub fn uses(&self, lab: Lab) -> bool {
        self.labs.contains(&Some(lab))
    }

    /// Do the step's actions in order on `labs` until one waits; `shown` is the index of the tab shown
    /// (a `choose` switches it) and `speeds` each lab's speed limit in the top bar (a start goes at its
    /// lab's). Returns true while the step waits (the shell keeps frames coming).
    pub fn advance(
        &mut self,
        labs: &mut [Box<dyn LabSlot>],
        shown: &mut usize,
        speeds: &[Option<f64>],
    ) -> bool {
        if self.baseline.is_none() {
            // the lesson's labs as it found them: their panels and their view options
            let ours: Vec<&dyn LabSlot> = labs
                .iter()
                .map(|l| l.as_ref())
                .filter(|l| self.labs.contains(&Some(l.lab())))
                .collect();
            self.baseline = Some(
                ours.iter()
                    .flat_map(|l| {
                        l.panels()
                            .iter()
                            .map(|p| (l.lab(), p.key, l.panel_shown(p.key)))
                    })
                    .collect(),
            );
            self.view_baseline = Some(
                ours.iter()
                    .flat_map(|l| {
                        l.view_options()
                            .iter()
                            .filter_map(|&k| Some((l.lab(), k, l.view_option(k)?)))
                    })
                    .collect(),
            );
            self.figure_baseline = Some(
                ours.iter()
                    .filter_map(|l| Some((l.lab(), l.sweep_view()?)))
                    .collect(),
            );
        }
        if self.wait.is_none() {
            self.release(labs, speeds);
        }
        if std::mem::take(&mut self.fresh) {
            for l in labs.iter_mut() {
                l.link_mut().panels.set_highlight(None);
                // the whole run again, until a step gone back to asks for its moment
                l.show_as_of(None);
            }
            if std::mem::take(&mut self.rebuild) {
                self.rebuild_panels(labs);
            }
        }
        loop {
            if let Some(w) = self.wait {
                match self.satisfied(w, labs) {
                    None => return true,
                    Some(note) => {
                        self.wait = None;
                        self.waiting_since = None;
                        self.release(labs, speeds);
                        if let Some(n) = note {
                            self.note = Some((false, n));
                        }
                    }
                }
            }
            let Some(action) = self.queue.pop_front() else {
                if self.first_play || self.revisiting {
                    self.step_ended(labs);
                }
                return false;
            };
            self.act(action, labs, shown, speeds);
        }
    }

    /// The panels of the lesson's labs as the steps before this one left them: as they were when the
    /// lesson began, then each earlier step's `show` and `hide` in order, on the lab chosen when it
    /// came. Going back from a step that showed a panel hides it again.
    fn rebuild_panels(&self, labs: &mut [Box<dyn LabSlot>]) {
        let changes = panel_changes(&self.lesson, self.step);
        replay(labs, self.baseline.as_ref(), changes, |l, key, shown| {
            l.show_panel(key, shown)
        });
        self.rebuild_views(labs);
    }

    /// The lesson ends: its labs' view options go back to what they were when it began (the
    /// window's own, not the lesson's last step's).
    pub fn restore_views(&self, labs: &mut [Box<dyn LabSlot>]) {
        for l in labs.iter_mut() {
            l.show_as_of(None);
        }
        replay(labs, self.view_baseline.as_ref(), vec![], |l, key, on| {
            l.set_view_option(key, on);
        });
        self.rebuild_figures(labs, 0);
    }

    /// The view options of the lesson's labs as the steps before this one left them, likewise, and
    /// the sweep figure each showed.
    fn rebuild_views(&self, labs: &mut [Box<dyn LabSlot>]) {
        let changes = view_changes(&self.lesson, self.step);
        replay(labs, self.view_baseline.as_ref(), changes, |l, key, on| {
            l.set_view_option(key, on);
        });
        self.rebuild_figures(labs, self.step);
    }

    /// The sweep figure of each lab that shows one as the steps before `step` left it: the last
    /// `figure` on it, else as the lesson found it. A lesson without a `figure` leaves the tabs to
    /// the room (what was clicked during it stays).
    fn rebuild_figures(&self, labs: &mut [Box<dyn LabSlot>], step: usize) {
        let figures = self.lesson.steps.iter().flat_map(|s| &s.actions);
        if !figures
            .into_iter()
            .any(|a| matches!(a, Action::Figure { .. }))
        {
            return;
        }
        let mut last: Vec<(Lab, SweepView)> = self.figure_baseline.clone().unwrap_or_default();
        let mut lab = None;
        for s in self.lesson.steps.iter().take(step) {
            for a in &s.actions {
                if let Action::Choose { lab: l, .. } = a {
                    lab = lab_of(*l);
                }
                if let (Some(lab), Action::Figure { name, prime, c }) = (lab, a) {
                    last.retain(|(l, _)| *l != lab);
                    last.push((lab, figure_view(name, *prime, *c)));
                }
            }
        }
        for (lab, view) in last {
            if let Some(l) = labs.iter_mut().find(|l| l.lab() == lab)
                && l.check_sweep_view(&view).is_ok()
            {
                l.set_sweep_view(&view);
            }
        }
    }

    /// The lab and speed limit a `speed` action set since the last call (`None`: flat out), once.
    pub fn take_speed(&mut self) -> Option<(Lab, Option<f64>)> {
        self.speed.take()
    }

    /// `None` while `w` holds; else `Some(note)` (a note when the run ended before the event).
    fn satisfied(&self, w: Wait, labs: &[Box<dyn LabSlot>]) -> Option<Option<String>> {
        match w {
            Wait::Until(t) => (Instant::now() >= t).then_some(None),
            Wait::Event(lab, m) => {
                let slot = labs.iter().find(|l| l.lab() == lab)?;
                if slot.reached(m) {
                    Some(None)
                } else if matches!(slot.phase(), Phase::Finished | Phase::Idle) {
                    Some(Some(format!("the run ended before `{m}`")))
                } else {
                    None
                }
            }
        }
    }

    fn act(
        &mut self,
        action: Action,
        labs: &mut [Box<dyn LabSlot>],
        shown: &mut usize,
        speeds: &[Option<f64>],
    ) {
        if let Action::Choose { lab, .. } = &action {
            self.lab = lab_of(*lab);
        }
        let Some(lab) = self.lab else {
            self.note = Some((true, "the lesson chose no lab".into()));
            return;
        };
        let Some(i) = labs.iter().position(|l| l.lab() == lab) else {
            self.note = Some((true, format!("the window has no {lab} lab")));
            return;
        };
        *shown = i;
        // a start after a `speed` in the same frame goes at the lesson's speed
        let ctx = self.ctx_for(lab, i, speeds);
        let slot = &mut labs[i];
        let answer = match action {
            Action::Choose {
                preset: Some(name), ..
            } => slot.teach(Teach::Preset(name), ctx),
            Action::Choose {
                config: Some(table),
                ..
            } => slot.teach(Teach::Config(table), ctx),
            // the lesson check refuses a choose with neither
            Action::Choose { .. } => Ok(String::new()),
            Action::Set { field, value } => slot.teach(Teach::Set { field, value }, ctx),
            Action::Start {} => slot.teach(Teach::Start, ctx),
            Action::Pause {} => {
                let running = slot.phase() == Phase::Running || slot.phase() == Phase::Starting;
                if let Some(why) = slot.pause_refused() {
                    // a pause would only hold back its results while its threads went on
                    Err(format!("pause: the {lab} lab goes on: {why}"))
                } else {
                    if running {
                        slot.apply(BarAction::Pause, ctx);
                    }
                    Ok(String::new())
                }
            }
            Action::RunUntil { event } => {
                // a run that stopped short of the event (a scene's, opened from its folder) goes
                // on from its checkpoint first: the pause point below is then its
                let answer = if event == Milestone::Finished || !slot.reached(event) {
                    go_on(slot.as_mut(), ctx)
                } else {
                    Ok(String::new())
                };
                if answer.is_err() {
                    // nothing will come: the bar says why, not "the run ended before"
                    return self.answered(answer);
                }
                // followed by a pause, the run holds itself right where the event comes (the
                // window sees it a frame or two of steps later)
                let point = match event {
                    Milestone::Step(n) => Some(PausePoint::Step(n)),
                    Milestone::Memorised => Some(PausePoint::Event(GrokEvent::Memorised)),
                    Milestone::Generalised => Some(PausePoint::Event(GrokEvent::Generalised)),
                    Milestone::Finished | Milestone::Tasks(_) => None,
                };
                if let Some(point) = point
                    && matches!(self.queue.front(), Some(Action::Pause {}))
                    && slot.controls() != Controls::Tasks
                {
                    slot.apply(BarAction::PauseAt(Some(point)), ctx);
                    self.armed = Some(lab);
                }
                resume(slot.as_mut(), ctx);
                self.wait = Some(Wait::Event(lab, event));
                self.waiting_since = Some(Instant::now());
                answer
            }
            Action::RunFor { secs } => {
                let answer = go_on(slot.as_mut(), ctx);
                if answer.is_err() {
                    return self.answered(answer);
                }
                resume(slot.as_mut(), ctx);
                self.wait = Some(Wait::Until(Instant::now() + Duration::from_secs_f64(secs)));
                self.waiting_since = Some(Instant::now());
                answer
            }
            Action::Fork { at, field, value } => slot.teach(Teach::Fork { at, field, value }, ctx),
            Action::Show { panels } => {
                for p in &panels {
                    slot.show_panel(p, true);
                    self.config_shown |= p == "config";
                }
                Ok(String::new())
            }
            Action::Hide { panels } => {
                for p in &panels {
                    slot.show_panel(p, false);
                    self.config_shown &= p != "config";
                }
                Ok(String::new())
            }
            Action::Highlight { panel } => {
                slot.link_mut().panels.set_highlight(Some(&panel));
                Ok(String::new())
            }
            Action::Cursor { at } => slot.teach(Teach::Cursor(at), ctx),
            Action::Open { folder } => slot.teach(Teach::Open(bundled_path(&folder)), ctx),
            Action::View { option, on } => {
                if slot.set_view_option(&option, on) {
                    Ok(String::new())
                } else {
                    Err(format!("the {lab} lab has no view option `{option}`"))
                }
            }
            Action::Figure { name, prime, c } => {
                let view = figure_view(&name, prime, c);
                slot.check_sweep_view(&view).map(|()| {
                    slot.set_sweep_view(&view);
                    String::new()
                })
            }
            Action::Speed { limit } => {
                // the lab's run now; the window's top bar shows it and later starts use it
                slot.apply(BarAction::SetSpeed(limit), ctx);
                self.speed = Some((lab, limit));
                Ok(String::new())
            }
        };
        self.answered(answer);
    }

    /// What an action's lab answered goes to the bar: a refusal as a problem, a message as a note.
    fn answered(&mut self, answer: Result<String, String>) {
        match answer {
            Ok(m) if m.is_empty() => {}
            Ok(m) => self.note = Some((false, m)),
            Err(m) => self.note = Some((true, m)),
        }
    }

    /// Tell the lab asked to hold its run at a wait's end to let go (the wait has ended); `speeds`
    /// as for [`Self::advance`].
    pub fn release(&mut self, labs: &mut [Box<dyn LabSlot>], speeds: &[Option<f64>]) {
        let Some(lab) = self.armed.take() else { return };
        let Some(i) = labs.iter().position(|l| l.lab() == lab) else {
            return;
        };
        let ctx = self.ctx_for(lab, i, speeds);
        labs[i].apply(BarAction::PauseAt(None), ctx);
    }

    /// What an action on lab `lab` (index `i`) goes with: the lesson's speed limit for it, else the
    /// top bar's.
    fn ctx_for(&self, lab: Lab, i: usize, speeds: &[Option<f64>]) -> LabCtx {
        let speed = match self.speed {
            Some((l, limit)) if l == lab => limit,
            _ => speeds.get(i).copied().flatten(),
        };
        LabCtx { speed }
    }
}

/// Let the run train (a step that waits): resume it, also when the pause a step before asked for is
/// not confirmed yet (the worker takes the commands in order; a resume of a running run does nothing).
fn resume(slot: &mut dyn LabSlot, ctx: LabCtx) {
    if slot.phase().active() {
        slot.apply(BarAction::Resume, ctx);
    }
}

/// Let a run that is not training go on (a scene's run, stopped before its end): [`Teach::Continue`].
/// A run that trains (or holds) is resumed by [`resume`].
fn go_on(slot: &mut dyn LabSlot, ctx: LabCtx) -> Result<String, String> {
    if slot.phase().active() {
        Ok(String::new())
    } else {
        slot.teach(Teach::Continue, ctx)
    }
}

/// Reset one lab for a lesson: a run going stops, the plots clear, every panel shows.
pub fn reset_lab(lab: &mut dyn LabSlot, ctx: LabCtx) {
    lab.apply(BarAction::Reset, ctx);
    lab.link_mut().panels.show_all();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binary copied with its `assets/` beside it finds them there, and one in a checkout's
    /// `target/release/` finds the checkout's, before the working directory and the build's source
    /// tree (which may be another machine's). Expected: the folder laid out here, found first.
    #[test]
    fn a_copied_binary_finds_the_assets_beside_it() {
        let tmp = tempfile::tempdir().unwrap();
        let folder = "assets/sweeps/cpu";
        // a copy: bin/grokscope with bin/assets/...
        let copy = tmp.path().join("copy");
        std::fs::create_dir_all(copy.join(folder)).unwrap();
        let exe = copy.join("grokscope");
        let found = bundled_candidates(folder, Some(&exe))
            .into_iter()
            .find(|p| p.exists());
        assert_eq!(found, Some(copy.join(folder)));
        // a checkout: root/assets/... and root/target/release/grokscope
        let root = tmp.path().join("checkout");
        std::fs::create_dir_all(root.join(folder)).unwrap();
        let exe = root.join("target/release/grokscope");
        let candidates = bundled_candidates(folder, Some(&exe));
        let found = candidates.iter().find(|p| p.exists());
        assert_eq!(found, Some(&root.join(folder)));
        // the working directory and the source tree come last, in that order
        let n = candidates.len();
        assert_eq!(
            candidates[n - 2],
            std::env::current_dir().unwrap().join(folder)
        );
        assert_eq!(
            candidates[n - 1],
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(folder)
        );
    }
}
