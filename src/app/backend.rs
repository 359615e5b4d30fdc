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

/// A lab with no worker attached: every command is refused, so a start says why nothing happens.
#[derive(Debug, Default)]
pub struct Unattached {
    events: std::cell::RefCell<std::collections::VecDeque<Event>>,
}

impl Backend for Unattached {
    fn send(&self, cmd: Command) {
        let what = match cmd {
            Command::Start(_) | Command::Continue { .. } | Command::StartSweepInto { .. } => {
                "start"
            }
            Command::SaveRun(_) => "save",
            Command::Pause
            | Command::Resume
            | Command::Step
            | Command::Stop
            | Command::SetSpeed(_)
            | Command::PauseAt(_)
            | Command::Change(_)
            | Command::SetCheckpoints(_)
            | Command::Shutdown => return,
        };
        self.events.borrow_mut().push_back(Event::Refused {
            message: format!("cannot {what}: no training worker is attached to this lab"),
        });
    }

    fn try_recv(&self) -> Option<Event> {
        self.events.borrow_mut().pop_front()
    }
}
