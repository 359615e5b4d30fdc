//! What a view asks the app to do; applied after drawing (views hold no channels).

use crate::protocol::HyperChange;
use std::fmt;
use std::path::PathBuf;

/// Which export a dialog or a writer thread is working on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportKind {
    /// The visible plots as a PNG picture.
    Png,
    /// The plotted series as CSV.
    Csv,
}

impl ExportKind {
    /// File extension, without the dot.
    pub fn ext(self) -> &'static str {
        match self {
            ExportKind::Png => "png",
            ExportKind::Csv => "csv",
        }
    }

    /// File name suggested in the dialog.
    pub fn default_name(self) -> &'static str {
        match self {
            ExportKind::Png => "grokscope-plots.png",
            ExportKind::Csv => "grokscope-metrics.csv",
        }
    }
}

impl fmt::Display for ExportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExportKind::Png => "PNG",
            ExportKind::Csv => "CSV",
        })
    }
}

/// A request from a view, applied by the app after the frame is drawn.
#[must_use]
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Nothing to do.
    None,
    /// Validate the edited config and start a run with it.
    Start,
    /// Validate the edited study and start it (Ordering lab).
    StartStudy,
    /// Hold the running run.
    Pause,
    /// Continue a paused run.
    Resume,
    /// One optimiser step, then pause.
    Step,
    /// End the run.
    Stop,
    /// Stop any run and clear the plots.
    Reset,
    /// Limit training to this many steps per second (`None`: flat out).
    SetSpeed(Option<f64>),
    /// Let the run hold itself where a lesson's wait ends (`None`: no longer); see
    /// [`crate::protocol::Command::PauseAt`].
    PauseAt(Option<crate::protocol::PausePoint>),
    /// Change a live hyper-parameter of the running run.
    Change(HyperChange),
    /// Load the preset with this index into the config panel.
    SelectPreset(usize),
    /// Ask for a file name, then export.
    Export(ExportKind),
    /// Export to a typed path (the fallback when no dialog could be shown).
    ExportTo(ExportKind, PathBuf),
    /// Hide the typed-path fallback.
    CancelExportPath,
}

impl Action {
    /// `self` unless it is `None`, else `other` (a frame carries at most one user request).
    pub fn or(self, other: Action) -> Action {
        match self {
            Action::None => other,
            Action::Start
            | Action::StartStudy
            | Action::Pause
            | Action::Resume
            | Action::Step
            | Action::Stop
            | Action::Reset
            | Action::SetSpeed(_)
            | Action::PauseAt(_)
            | Action::Change(_)
            | Action::SelectPreset(_)
            | Action::Export(_)
            | Action::ExportTo(..)
            | Action::CancelExportPath => self,
        }
    }
}
