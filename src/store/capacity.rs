//! What the Capacity tab has received: a sweep's finished tasks (live, or read from a folder), its
//! progress, and the analysis of the results so far. Pure data; the app's figures borrow from it.

use crate::config::CapacitySweepConfig;
use crate::experiment::capacity::TaskResult;
use crate::experiment::capacity_analysis::{Analysis, analyse};
use crate::protocol::{Outcome, RunId};

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
    outcome: Option<Outcome>,
    analysis: Analysis,
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
            outcome: None,
            analysis: analyse(&[]),
        }
    }

    /// Forget everything.
    pub fn clear(&mut self) {
        *self = Self::new();
    }

    /// A live sweep `run` of `config` started: its tasks are to come.
    pub fn begin(&mut self, run: RunId, config: CapacitySweepConfig) {
        self.clear();
        self.total = config.task_count();
        self.config = Some(config);
        self.source = Source::Live(run);
    }

    /// One finished task (`done` of `total` so far); the analysis is redone.
    pub fn push(&mut self, result: TaskResult, done: usize, total: usize) {
        self.results.push(result);
        self.done = done.max(self.results.len());
        self.total = total.max(self.done);
        self.analysis = analyse(&self.results);
    }

    /// Results read from a folder (`expected` tasks when its config was readable).
    pub fn load(&mut self, folder: String, results: Vec<TaskResult>, expected: Option<usize>) {
        self.clear();
        self.done = results.len();
        self.total = expected.unwrap_or(results.len()).max(results.len());
        self.analysis = analyse(&results);
        self.results = results;
        self.source = Source::Folder(folder);
    }

    pub fn finish(&mut self, outcome: Outcome) {
        self.outcome = Some(outcome);
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

    /// Estimated seconds left: the tasks still to run, at the mean task time, `threads` at a time
    /// (rounded up to whole rounds). `None` before the first result.
    pub fn eta_secs(&self, threads: usize) -> Option<f64> {
        let mean = self.mean_task_secs()?;
        let left = self.total.saturating_sub(self.done);
        let threads = threads.max(1).min(left.max(1));
        Some(left.div_ceil(threads) as f64 * mean)
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
