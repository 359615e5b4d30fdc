//! The views of the labs. Each draws into a `Ui` and returns an [`crate::app::actions::Action`].

pub mod capacity;
pub mod grokking;
pub mod ordering;
pub mod plots;
pub mod runs;
