//! The Capacity lab's sweep runner (placeholder until it lands).

use super::{EventSink, RunControl};
use crate::config::CapacitySweepConfig;
use crate::protocol::{Event, Outcome, RunId};
use serde::{Deserialize, Serialize};

/// The measurements of one sweep task (one width, prime and seed).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TaskResult {
    pub width: usize,
    pub p: u32,
    pub seed: u64,
    /// Parameter count P of the model.
    pub params: u64,
}

/// Run a sweep.
pub fn sweep(
    _cfg: &CapacitySweepConfig,
    run: RunId,
    sink: &mut dyn EventSink,
    _control: &mut dyn RunControl,
) -> Outcome {
    let outcome = Outcome::Failed {
        message: "the Capacity lab is not built yet".into(),
    };
    sink.emit(Event::Finished {
        run,
        outcome: outcome.clone(),
        summary: None,
    });
    outcome
}
