//! grokscope: watch small neural networks learn, live.
//!
//! The library is the engine (data, models, training, analysis, storage, export) plus the egui app in
//! [`app`], which is the only module that knows the UI crates. `main.rs` is a thin dispatcher.

pub mod analysis;
pub mod app;
pub mod bench;
pub mod cli;
pub mod config;
pub mod data;
pub mod experiment;
pub mod export;
pub mod model;
/// AdamW and the learning-rate schedule: a leaf that models and the trainer both use.
pub mod optim;
pub mod protocol;
pub mod rng;
pub mod store;
pub mod train;
pub mod worker;

/// Per-thread set-up for fast training: denormal flushing, the threads a thread's products and
/// row-wise loops may use, and the cores a sweep's idle workers lend to its running trainings.
pub mod perf;
