//! Training: the stepper that drives a model through epochs, and run control.

pub mod checkpoint;
pub mod insight;
pub mod pruning;
pub mod trainer;
