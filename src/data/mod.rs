//! Datasets. Pure data, no tensors: models build what they need from these vectors.

pub mod modular;
pub mod ordering;
pub mod random_labels;
