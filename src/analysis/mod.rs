//! Pure analysis: slices in, numbers out. Every function has unit tests with hand-worked values.

pub mod ablation;
pub mod capacity;
pub mod capacity_study;
pub mod eigen;
pub mod events;
pub mod fourier;
pub mod insight;
pub mod orderedness;
pub mod phase;
pub mod smooth;
pub mod thinning;
