//! Synchronous runners. The worker, the CLI and the tests all call the same functions.

pub mod capacity;
pub mod grokking;
pub mod ordering;
pub mod phase;
pub mod pool;

use crate::protocol::{Event, HyperChange};
use std::time::Duration;

/// Refuse a sweep or study when `threads` of its largest training at once need more than `limit_bytes`:
/// each training is estimated headless on two cores (its own, and one a worker out of work may lend
/// it). `largest` is the training with the largest estimate.
pub fn check_study_memory(
    largest: &crate::config::GrokkingConfig,
    threads: usize,
    limit_bytes: u64,
) -> Result<(), String> {
    let threads = threads.max(1) as u64;
    let one = largest.memory_estimate_in(crate::config::memory::Setting::Headless, 2);
    if one.total().saturating_mul(threads) > limit_bytes {
        return Err(format!(
            "its largest training (p = {}) needs about {one}, and {threads} of them train at once: \
             more than the memory limit of {}; use fewer threads, a smaller model or prime, or raise \
             the limit ({}, or --max-memory-gb on the command line)",
            largest.p,
            crate::config::memory::size_text(limit_bytes),
            crate::config::memory::MAX_MEMORY_ENV,
        ));
    }
    Ok(())
}

/// End a run that could not start (a refused config): exactly one `Finished(Failed)`, no `Started`.
pub fn refuse(
    run: crate::protocol::RunId,
    sink: &mut dyn EventSink,
    message: String,
) -> crate::protocol::Outcome {
    let outcome = crate::protocol::Outcome::Failed { message };
    sink.emit(Event::Finished {
        run,
        outcome: outcome.clone(),
        summary: None,
    });
    outcome
}

/// Where a runner sends its events.
pub trait EventSink {
    fn emit(&mut self, ev: Event);
}

impl EventSink for Vec<Event> {
    fn emit(&mut self, ev: Event) {
        self.push(ev);
    }
}

pub use crate::protocol::SaveTo;

/// What the controller says before each optimiser step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Control {
    /// End the run now.
    pub stop: bool,
    /// Apply these changes before the step (each is recorded as a marker).
    pub changes: Vec<HyperChange>,
    /// Start saving the run into this folder (Grokking runs; others ignore it).
    pub save_to: Option<SaveTo>,
    /// Act on the above, then poll again before stepping (a run just paused, or a paused run asked
    /// to save; Grokking runs; others ignore it).
    pub hold: bool,
    /// How long this poll held the run to the speed limit (not while paused): time the run's views
    /// may use for free (Grokking runs; others ignore it).
    pub idle: Duration,
    /// Checkpoint at this cadence from now on (Grokking runs; others ignore it).
    pub checkpoint_every: Option<crate::config::checkpoints::CheckpointEvery>,
}

/// Steers a run between optimiser steps. Pausing is done by blocking inside `poll`.
pub trait RunControl {
    /// Called before step `next_step` (1-based).
    fn poll(&mut self, next_step: u64) -> Control;

    /// Whether a command waits (work a paused run does in the meantime stops for it).
    fn waiting(&self) -> bool {
        false
    }
}

/// Runs to the end with no outside control (CLI, tests, sweeps).
pub struct Unattended;

impl RunControl for Unattended {
    fn poll(&mut self, _next_step: u64) -> Control {
        Control::default()
    }
}
