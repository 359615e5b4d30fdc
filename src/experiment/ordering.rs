//! The Ordering lab's runners (placeholder until the complete layer lands).

use super::{EventSink, RunControl};
use crate::config::{OrderingConfig, OrderingStudyConfig};
use crate::protocol::{Event, Outcome, RunId};

fn not_yet(run: RunId, sink: &mut dyn EventSink) -> Outcome {
    let outcome = Outcome::Failed {
        message: "the Ordering lab is not built yet".into(),
    };
    sink.emit(Event::Finished {
        run,
        outcome: outcome.clone(),
        summary: None,
    });
    outcome
}

/// Train one complete layer with pruning.
pub fn run(
    _cfg: &OrderingConfig,
    run: RunId,
    sink: &mut dyn EventSink,
    _control: &mut dyn RunControl,
) -> Outcome {
    not_yet(run, sink)
}

/// Run a study.
pub fn study(
    _cfg: &OrderingStudyConfig,
    run: RunId,
    sink: &mut dyn EventSink,
    _control: &mut dyn RunControl,
) -> Outcome {
    not_yet(run, sink)
}
