//! What the Capacity tab has received: a sweep's finished tasks (live, or read from a folder), its
//! progress, the analysis of the results so far, and the curves of its tasks in flight. Pure data; the
//! app's figures borrow from it.

use super::thin::Thinned;
use crate::analysis::capacity_study::TaskResult;
use crate::analysis::capacity_study::{Analysis, CChoice, GivenC, analyse_with};
use crate::config::CapacitySweepConfig;
use crate::config::capacity::Task;
pub use crate::protocol::CapacityRuns;
use crate::protocol::{Outcome, RunId, TaskPoint, TaskRun};

/// Most points kept of each curve in flight (thinned evenly as it grows, the newest point always kept).
pub const FLIGHT_MAX_POINTS: usize = 400;

/// The curve of one run of a task, as its points arrive while the sweep runs.
#[derive(Clone, Debug)]
pub struct FlightCurve {
    pub task: Task,
    pub run: TaskRun,
    points: Thinned<TaskPoint>,
    /// The task has finished (its result arrived) or the sweep has ended.
    pub done: bool,
    /// The sweep was stopped (or failed) before the task finished: its curve ends there.
    pub stopped: bool,
}

impl FlightCurve {
    /// The points kept, oldest first, ending with the newest.
    pub fn points(&self) -> impl Iterator<Item = &TaskPoint> {
        self.points.points()
    }

    /// How many points arrived.
    pub fn received(&self) -> usize {
        self.points.offered()
    }
}

/// Where the results came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// Nothing yet.
    Empty,
    /// A sweep run by this tab's worker.
    Live(RunId),
    /// A sweep folder read from disk.
    Folder(String),
}

/// The results of one sweep and their analysis.
#[derive(Clone, Debug)]
pub struct SweepHistory {
    source: Source,
    config: Option<CapacitySweepConfig>,
    results: Vec<TaskResult>,
    done: usize,
    total: usize,
    /// Results kept from the sweep shown when a sweep of other widths began (counted on top of its
    /// own progress).
    kept: usize,
    /// Results of the sweep shown before that the live sweep trains again (its own widths): what
    /// they were, to say whether the same config and seed gave the same numbers.
    replaced: Vec<TaskResult>,
    outcome: Option<Outcome>,
    analysis: Analysis,
    /// The live sweep's curves by arrival of their first points.
    flights: Vec<FlightCurve>,
    /// The capacity runs of the live sweep's tasks now in them, by arrival.
    capacity_runs: Vec<CapacityRuns>,
    /// The C the analysis uses for f = S / (C P); kept when the results are replaced.
    c_choice: CChoice,
    /// Per result, whether it was trained in this window (a live sweep's) rather than read from a
    /// folder.
    here: Vec<bool>,
}

impl Default for SweepHistory {
    fn default() -> Self {
        Self::new()
    }
}

impl SweepHistory {
    pub fn new() -> Self {
        Self {
            source: Source::Empty,
            config: None,
            results: vec![],
            done: 0,
            total: 0,
            kept: 0,
            replaced: vec![],
            outcome: None,
            analysis: analyse_with(&[], &CChoice::Auto),
            flights: vec![],
            capacity_runs: vec![],
            c_choice: CChoice::Auto,
            here: vec![],
        }
    }

    /// Forget everything but the C chosen for the analysis.
    pub fn clear(&mut self) {
        let c_choice = std::mem::take(&mut self.c_choice);
        *self = Self::new();
        self.set_c_choice(c_choice);
    }

    /// Use `choice`'s C for the capacity fractions and the speed model's fit, and redo the analysis.
    pub fn set_c_choice(&mut self, choice: CChoice) {
        self.c_choice = choice;
        self.reanalyse();
    }

    pub fn c_choice(&self) -> &CChoice {
        &self.c_choice
    }

    fn reanalyse(&mut self) {
        self.analysis = analyse_with(&self.results, &self.c_choice);
    }

    /// The C this sweep's own capacity runs measured (its capacity fit's slope, when positive), as a
    /// C to use for another sweep: "measured by FOLDER" or by the sweep trained in the window, a lower
    /// bound when some sizes' bits still rose.
    pub fn measured_c(&self) -> Option<GivenC> {
        let fit = self.analysis.fit.as_ref()?;
        let by = match &self.source {
            Source::Folder(name) => name.clone(),
            Source::Live(_) | Source::Empty => "the sweep trained in this window".to_string(),
        };
        let sizes = self.analysis.points.len();
        let why = crate::analysis::capacity_study::slope_why(false, self.analysis.c_uncertain)
            .map_or(String::new(), |w| format!("; {w}"));
        let source = format!("measured by {by} ({sizes} sizes, R² = {:.3}{why})", fit.r2);
        GivenC::new(fit.slope, source, self.analysis.c_lower_bound).ok()
    }

    /// A live sweep `run` of `config` started: its tasks are to come. When the sweep shown had the
    /// same config but for its widths, seeds and threads (e.g. one more width beside a finished sweep),
    /// its results of other tasks stay, and the analysis takes them with the new ones.
    pub fn begin(&mut self, run: RunId, config: CapacitySweepConfig) {
        // each result with whether it was trained here
        type Flagged = Vec<(TaskResult, bool)>;
        let (kept, replaced): (Flagged, Flagged) = match &self.config {
            Some(prev) if same_but_sizes(prev, &config) => {
                let new = crate::config::capacity::tasks(&config);
                let here = std::mem::take(&mut self.here);
                std::mem::take(&mut self.results)
                    .into_iter()
                    .zip(here)
                    .partition(|(r, _)| !new.contains(&r.task()))
            }
            _ => (vec![], vec![]),
        };
        let (kept, here): (Vec<TaskResult>, Vec<bool>) = kept.into_iter().unzip();
        let replaced = replaced.into_iter().map(|(r, _)| r).collect();
        self.clear();
        self.here = here;
        self.kept = kept.len();
        self.replaced = replaced;
        self.total = config.task_count() + kept.len();
        self.done = kept.len();
        self.results = kept;
        self.reanalyse();
        self.config = Some(config);
        self.source = Source::Live(run);
    }

    /// One finished task (`done` of `total` so far); the analysis is redone and its curves in flight
    /// are done.
    pub fn push(&mut self, result: TaskResult, done: usize, total: usize) {
        let task = result.task();
        for c in self.flights.iter_mut().filter(|c| c.task == task) {
            c.done = true;
        }
        self.capacity_runs.retain(|c| c.task != task);
        self.results.push(result);
        self.here.push(true);
        // the live sweep counts its own tasks; results kept from the sweep shown come on top
        self.done = (self.kept + done).max(self.results.len());
        self.total = (self.kept + total).max(self.done);
        self.reanalyse();
    }

    /// Results read from a folder (`expected` tasks when its config was readable), and its config.
    pub fn load(
        &mut self,
        folder: String,
        results: Vec<TaskResult>,
        expected: Option<usize>,
        config: Option<CapacitySweepConfig>,
    ) {
        self.clear();
        self.config = config;
        self.done = results.len();
        self.total = expected.unwrap_or(results.len()).max(results.len());
        self.here = vec![false; results.len()];
        self.results = results;
        self.reanalyse();
        self.source = Source::Folder(folder);
    }

    /// The sweep ended: no task is in flight any more (their curves stay until the next sweep).
    pub fn finish(&mut self, outcome: Outcome) {
        // the curves of tasks that had not finished end where the sweep did
        let stopped = match outcome {
            Outcome::Completed => false,
            Outcome::Stopped | Outcome::Failed { .. } => true,
        };
        for c in self.flights.iter_mut().filter(|c| !c.done) {
            c.done = true;
            c.stopped = stopped;
        }
        self.capacity_runs.clear();
        self.outcome = Some(outcome);
    }

    /// Whether the live sweep was stopped, or failed, before its last task.
    pub fn ended_early(&self) -> Option<&'static str> {
        match self.outcome {
            Some(Outcome::Stopped) if self.done < self.total => Some("stopped"),
            Some(Outcome::Failed { .. }) if self.done < self.total => Some("failed"),
            Some(Outcome::Completed | Outcome::Stopped | Outcome::Failed { .. }) | None => None,
        }
    }

    /// A task's capacity runs moved on (see `CapacityEvent::CapacityRun`).
    pub fn capacity_progress(&mut self, runs: CapacityRuns) {
        match self.capacity_runs.iter_mut().find(|c| c.task == runs.task) {
            Some(c) => *c = runs,
            None => self.capacity_runs.push(runs),
        }
    }

    /// The tasks now in their capacity runs, by arrival.
    pub fn capacity_runs(&self) -> &[CapacityRuns] {
        &self.capacity_runs
    }

    /// New points of a running task's run (see `CapacityEvent::TaskProgress`).
    pub fn progress_points(&mut self, task: Task, run: TaskRun, points: &[TaskPoint]) {
        let i = match self
            .flights
            .iter()
            .position(|c| c.task == task && c.run == run)
        {
            Some(i) => i,
            None => {
                self.flights.push(FlightCurve {
                    task,
                    run,
                    points: Thinned::new(FLIGHT_MAX_POINTS),
                    done: false,
                    stopped: false,
                });
                self.flights.len() - 1
            }
        };
        for p in points {
            self.flights[i].points.push(*p, false);
        }
    }

    /// The curves of the live sweep's tasks, running and finished, by arrival.
    pub fn in_flight(&self) -> &[FlightCurve] {
        &self.flights
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The live sweep's run id.
    pub fn run(&self) -> Option<RunId> {
        match self.source {
            Source::Live(run) => Some(run),
            Source::Empty | Source::Folder(_) => None,
        }
    }

    pub fn config(&self) -> Option<&CapacitySweepConfig> {
        self.config.as_ref()
    }

    /// Finished tasks, in arrival order.
    pub fn results(&self) -> &[TaskResult] {
        &self.results
    }

    /// (done, total) tasks.
    pub fn progress(&self) -> (usize, usize) {
        (self.done, self.total)
    }

    /// The results (indices) trained in this window beside results read from a folder (a lesson's
    /// one width beside a bundled sweep): drawn so as to be told apart. Empty when all were trained
    /// here or none was.
    pub fn trained_here(&self) -> Vec<usize> {
        if self.here.iter().all(|&h| h) {
            return vec![];
        }
        (0..self.here.len()).filter(|&i| self.here[i]).collect()
    }

    /// Tasks kept from the sweep shown before this one (same config but its sizes; among `done`).
    pub fn kept(&self) -> usize {
        self.kept
    }

    /// The tasks this sweep trained again that the sweep shown before had (a lesson's one width
    /// beside a bundled sweep), in words, each with its numbers then and now: "w24-s0: T_mem 488,
    /// T_gen 458, delay 100 epochs, as before" or "… (before: T_mem 490, …)". `None` when there are
    /// none yet.
    pub fn trained_again_text(&self) -> Option<String> {
        let nums = |r: &TaskResult| {
            let e = |v: Option<u64>| v.map_or("never".to_string(), |v| v.to_string());
            format!(
                "T_mem {}, T_gen {}, delay {}",
                e(r.t_mem),
                e(r.t_gen),
                e(r.delay)
            )
        };
        let said: Vec<String> = self
            .replaced
            .iter()
            .filter_map(|old| {
                let new = self.results.iter().find(|r| r.task() == old.task())?;
                let (then, now) = (nums(old), nums(new));
                let name = format!("d = {} (p {}, seed {})", new.width, new.p, new.seed);
                Some(if then == now {
                    format!("{name} trained again: {now} epochs, as before")
                } else {
                    format!("{name} trained again: {now} epochs (before: {then})")
                })
            })
            .collect();
        (!said.is_empty()).then(|| said.join("; "))
    }

    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    pub fn analysis(&self) -> &Analysis {
        &self.analysis
    }

    /// Whether any task has capacity runs (figures 2 and 3 need them).
    pub fn has_capacity_runs(&self) -> bool {
        self.results.iter().any(|r| !r.capacity.is_empty())
    }

    /// Mean wall seconds of a finished task.
    pub fn mean_task_secs(&self) -> Option<f64> {
        if self.results.is_empty() {
            return None;
        }
        Some(self.results.iter().map(|r| r.wall_secs).sum::<f64>() / self.results.len() as f64)
    }

    /// Estimated seconds left: the tasks still to run at the mean task time (a task's trainings' seconds
    /// added), shared by `threads`, at most two threads a task (its two trainings run side by side).
    /// `None` before the first result.
    pub fn eta_secs(&self, threads: usize) -> Option<f64> {
        let mean = self.mean_task_secs()?;
        let left = self.total.saturating_sub(self.done);
        let threads = threads.clamp(1, 2 * left.max(1));
        Some(left as f64 * mean / threads as f64)
    }

    /// Results of prime `p` that never reached a threshold: (no T_mem, no T_gen).
    pub fn never_counts(&self, p: u32) -> (usize, usize) {
        let of_p = self.results.iter().filter(|r| r.p == p);
        let mem = of_p.clone().filter(|r| r.t_mem.is_none()).count();
        let gen_never = of_p.filter(|r| r.t_gen.is_none()).count();
        (mem, gen_never)
    }

    /// Primes with results, increasing.
    pub fn primes(&self) -> Vec<u32> {
        self.analysis.primes.iter().map(|a| a.p).collect()
    }
}

/// Whether two sweeps differ only in their widths, seeds and threads (their results can be analysed
/// together).
fn same_but_sizes(a: &CapacitySweepConfig, b: &CapacitySweepConfig) -> bool {
    let strip = |c: &CapacitySweepConfig| CapacitySweepConfig {
        widths: vec![],
        seeds: vec![],
        threads: 0,
        ..c.clone()
    };
    strip(a) == strip(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::capacity::sweep_presets;
    use crate::store::sweep_dir::RESULT_VERSION;

    fn result(width: usize, params: u64, t_mem: Option<u64>, wall: f64) -> TaskResult {
        TaskResult {
            version: RESULT_VERSION,
            key: "k".into(),
            width,
            p: 23,
            seed: 0,
            params,
            n_equiv: 100,
            complexity_bits: crate::data::random_labels::complexity_bits(100, 23),
            t_train: Some(10),
            t_gen: Some(20),
            delay: Some(10),
            gen_epochs: 20,
            final_train_acc: Some(1.0),
            final_val_acc: Some(1.0),
            t_mem,
            mem_epochs: 30,
            mem_final_train_acc: Some(1.0),
            capacity: vec![],
            wall_secs: wall,
            curves: Default::default(),
        }
    }

    #[test]
    fn a_live_sweep_counts_and_estimates() {
        let mut h = SweepHistory::new();
        assert_eq!(h.eta_secs(2), None);
        let cfg = sweep_presets()[0].config.clone();
        h.begin(7, cfg);
        assert_eq!(h.run(), Some(7));
        assert_eq!(h.progress(), (0, 2));
        h.push(result(8, 100, None, 4.0), 1, 2);
        assert_eq!(h.progress(), (1, 2));
        // one task left at 4 s: its two trainings on two of the 4 threads
        assert_eq!(h.eta_secs(4), Some(2.0));
        assert_eq!(h.never_counts(23), (1, 0));
        assert_eq!(h.analysis().primes.len(), 1);
        assert!(!h.analysis().c_measured());
        assert!(!h.has_capacity_runs());
        h.finish(Outcome::Completed);
        assert_eq!(h.outcome(), Some(&Outcome::Completed));
    }

    #[test]
    fn curves_in_flight_are_kept_bounded_and_greyed_when_done() {
        let mut h = SweepHistory::new();
        h.begin(7, sweep_presets()[0].config.clone());
        let task = |width| Task {
            p: 23,
            width,
            seed: 0,
        };
        let point = |epoch| TaskPoint {
            step: 2 * epoch,
            epoch,
            train_acc: 0.5,
            val_acc: None,
        };
        // 1000 points in batches of 10 into one curve, 3 into another task's
        for b in 0..100 {
            let batch: Vec<TaskPoint> = (1..=10).map(|k| point(10 * b + k)).collect();
            h.progress_points(task(8), TaskRun::Mem, &batch);
        }
        h.progress_points(task(32), TaskRun::Gen, &[point(1), point(2), point(3)]);
        let f = h.in_flight();
        assert_eq!(f.len(), 2);
        // 1000 offered with cap 400: the stride doubles to 4 (250 kept), then the last point, 1000
        assert_eq!(f[0].received(), 1000);
        let epochs: Vec<u64> = f[0].points().map(|p| p.epoch).collect();
        let mut want: Vec<u64> = (0..250).map(|k| 4 * k + 1).collect();
        want.push(1000);
        assert_eq!(epochs, want);
        assert_eq!(f[1].points().count(), 3);
        // the width-8 task finishes: its curve is done, the other still flies
        h.push(result(8, 100, None, 4.0), 1, 2);
        let done: Vec<bool> = h.in_flight().iter().map(|c| c.done).collect();
        assert_eq!(done, [true, false]);
        // the sweep ends: all done, still shown; the next sweep clears them
        h.finish(Outcome::Stopped);
        assert!(h.in_flight().iter().all(|c| c.done));
        h.begin(8, sweep_presets()[0].config.clone());
        assert!(h.in_flight().is_empty());
    }

    /// One more width of the sweep shown keeps its other results (the tiny preset is p = 23, seed 0,
    /// widths 8 and 32); another prime starts afresh.
    #[test]
    fn a_sweep_of_other_widths_adds_to_the_sweep_shown() {
        let tiny = sweep_presets()[0].config.clone();
        let mut h = SweepHistory::new();
        let shown = vec![result(8, 100, Some(5), 1.0), result(32, 900, Some(4), 1.0)];
        h.load("x".into(), shown, Some(2), Some(tiny.clone()));
        let mut more = tiny.clone();
        more.widths = vec![16, 32];
        more.threads = 3;
        h.begin(9, more.clone());
        // width 32 is run again, so only width 8's result stays
        let widths: Vec<usize> = h.results().iter().map(|r| r.width).collect();
        assert_eq!(widths, [8]);
        assert_eq!(h.progress(), (1, 3));
        h.push(result(16, 400, Some(6), 1.0), 1, 2);
        assert_eq!(h.results().len(), 2);
        assert_eq!(h.progress(), (2, 3));
        let mut other = more;
        other.primes = vec![31];
        h.begin(10, other);
        assert!(h.results().is_empty());
    }

    /// A width trained again beside the sweep shown is said with its numbers then and now (the
    /// lesson "Why small models do not grok" trains d = 24 beside the bundled sweep and says the same
    /// config and seed give the same numbers; the live point replaced the bundled one with no word
    /// of it: a helper's teaching audit). Expected: the results' own T_mem, T_gen and delay.
    #[test]
    fn a_width_trained_again_is_said_against_what_it_had() {
        let tiny = sweep_presets()[0].config.clone();
        let shown = vec![result(8, 100, Some(5), 1.0), result(32, 900, Some(4), 1.0)];
        for (t_mem, said) in [
            (
                Some(4),
                "d = 32 (p 23, seed 0) trained again: T_mem 4, T_gen 20, delay 10 epochs, as before",
            ),
            (
                None,
                "d = 32 (p 23, seed 0) trained again: T_mem never, T_gen 20, delay 10 epochs \
                 (before: T_mem 4, T_gen 20, delay 10)",
            ),
        ] {
            let mut h = SweepHistory::new();
            h.load("x".into(), shown.clone(), Some(2), Some(tiny.clone()));
            let mut again = tiny.clone();
            again.widths = vec![32];
            h.begin(9, again);
            assert_eq!(h.trained_again_text(), None, "not trained yet");
            h.push(result(32, 900, t_mem, 1.0), 1, 1);
            assert_eq!(h.trained_again_text().as_deref(), Some(said));
        }
        // a width the sweep shown did not have is no width trained again
        let mut h = SweepHistory::new();
        h.load("x".into(), shown, Some(2), Some(tiny.clone()));
        let mut other = tiny;
        other.widths = vec![16];
        h.begin(9, other);
        h.push(result(16, 400, Some(6), 1.0), 1, 1);
        assert_eq!(h.trained_again_text(), None);
    }

    /// Which results were trained in the window beside a folder's: a live one is, a folder's is
    /// not, and a live one kept under a later sweep stays so. Only told apart when both kinds are
    /// shown (by construction: the folder has d = 8 and 32; d = 32, then d = 8, train again).
    #[test]
    fn results_trained_here_are_told_from_a_folders() {
        let tiny = sweep_presets()[0].config.clone();
        let mut h = SweepHistory::new();
        h.load(
            "x".into(),
            vec![result(8, 100, Some(5), 1.0), result(32, 900, Some(4), 1.0)],
            Some(2),
            Some(tiny.clone()),
        );
        assert_eq!(h.trained_here(), Vec::<usize>::new(), "all from the folder");
        let mut again = tiny.clone();
        again.widths = vec![32];
        h.begin(1, again);
        h.push(result(32, 900, Some(6), 1.0), 1, 1);
        // d = 8 kept from the folder (index 0), d = 32 trained here (index 1)
        assert_eq!(h.trained_here(), vec![1]);
        let mut eight = tiny.clone();
        eight.widths = vec![8];
        h.begin(2, eight);
        h.push(result(8, 100, Some(7), 1.0), 1, 1);
        // both are now the window's own: nothing to tell apart
        assert_eq!(h.trained_here(), Vec::<usize>::new());
        // a live sweep alone is not ringed either
        let mut h = SweepHistory::new();
        h.begin(1, tiny);
        h.push(result(8, 100, Some(5), 1.0), 1, 2);
        assert_eq!(h.trained_here(), Vec::<usize>::new());
    }

    #[test]
    fn eta_shares_the_tasks_left_among_the_threads() {
        let mut h = SweepHistory::new();
        h.load(
            "x".into(),
            vec![result(8, 100, Some(5), 10.0)],
            Some(6),
            None,
        );
        // 5 left at 10 s, 2 threads: 25 s
        assert_eq!(h.eta_secs(2), Some(25.0));
        assert_eq!(h.run(), None);
        assert_eq!(h.source(), &Source::Folder("x".into()));
        h.clear();
        assert!(h.results().is_empty());
        assert_eq!(h.source(), &Source::Empty);
    }
}
