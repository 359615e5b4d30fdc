//! The app's link to the training worker, behind a trait so tests can script the events.

use crate::protocol::{Command, Event};

/// Where commands go and events come from. Both calls must never block.
pub trait Backend {
    /// Queue a command for the worker.
    fn send(&self, cmd: Command);
    /// The next event, if one is waiting.
    fn try_recv(&self) -> Option<Event>;
}

impl Backend for super::worker_stub::Worker {
    fn send(&self, cmd: Command) {
        super::worker_stub::Worker::send(self, cmd);
    }

    fn try_recv(&self) -> Option<Event> {
        super::worker_stub::Worker::try_recv(self)
    }
}
