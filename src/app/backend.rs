//! The app's link to the training worker, behind a trait so tests can script the events.

use crate::protocol::{Command, Event};

/// Where commands go and events come from. Both calls must never block.
pub trait Backend {
    /// Queue a command for the worker.
    fn send(&self, cmd: Command);
    /// The next event, if one is waiting.
    fn try_recv(&self) -> Option<Event>;
}

impl Backend for crate::worker::Worker {
    fn send(&self, cmd: Command) {
        crate::worker::Worker::send(self, cmd);
    }

    fn try_recv(&self) -> Option<Event> {
        crate::worker::Worker::try_recv(self)
    }
}
