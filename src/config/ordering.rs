//! Configurations of the Ordering lab (Song 2025): a complete, weight-tied recurrent layer pruned while
//! it learns XOR or sine regression.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The task the complete layer learns.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum OrderingTask {
    /// 4 points, 2 inputs, 1 output.
    Xor,
    /// x = 0, 0.01, .., 2.99 (300 values) as 150 points (x1, x2), y = (sin x1 + sin x2) / 2.
    Sine,
}

impl fmt::Display for OrderingTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OrderingTask::Xor => "XOR",
            OrderingTask::Sine => "sine",
        })
    }
}

/// Pruning applied to W after every optimiser step (v0 is never pruned).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(tag = "scheme", rename_all = "snake_case")]
pub enum Pruning {
    /// No pruning: the baseline.
    None,
    /// A fixed mask drawn once; each weight zeroed with probability p.
    Random { p: f64 },
    /// Keep the floor(k * numel) largest |w| of W, reselected every step.
    TopK { k: f64 },
    /// Top-K with k'(x) = 1 - (1 - k) sin^4(pi x / 2), x = training progress.
    DynamicTopK { k: f64 },
    /// Multiply the strictly lower-triangular entries of W by (1 - f).
    TriuDamp { f: f64 },
    /// Triu-damp with f'(x) = f sin^4(pi x / 2).
    DynamicTriuDamp { f: f64 },
}

/// A pruning scheme without its parameter (for studies and legends).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// No pruning.
    None,
    /// Random(p).
    Random,
    /// Top-K(k).
    TopK,
    /// Dynamic Top-K(k).
    DynamicTopK,
    /// Triu-damp(f).
    TriuDamp,
    /// Dynamic Triu-damp(f).
    DynamicTriuDamp,
}

impl Scheme {
    pub const ALL: [Scheme; 6] = [
        Scheme::None,
        Scheme::Random,
        Scheme::TopK,
        Scheme::DynamicTopK,
        Scheme::TriuDamp,
        Scheme::DynamicTriuDamp,
    ];

    /// The pruning of this scheme at a target sparsity s (p = s, k = 1 - s, f = s).
    pub fn at_sparsity(self, s: f64) -> Pruning {
        match self {
            Scheme::None => Pruning::None,
            Scheme::Random => Pruning::Random { p: s },
            Scheme::TopK => Pruning::TopK { k: 1.0 - s },
            Scheme::DynamicTopK => Pruning::DynamicTopK { k: 1.0 - s },
            Scheme::TriuDamp => Pruning::TriuDamp { f: s },
            Scheme::DynamicTriuDamp => Pruning::DynamicTriuDamp { f: s },
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheme::None => "none",
            Scheme::Random => "random",
            Scheme::TopK => "top-k",
            Scheme::DynamicTopK => "dynamic top-k",
            Scheme::TriuDamp => "triu-damp",
            Scheme::DynamicTriuDamp => "dynamic triu-damp",
        })
    }
}

impl Pruning {
    pub fn scheme(&self) -> Scheme {
        match self {
            Pruning::None => Scheme::None,
            Pruning::Random { .. } => Scheme::Random,
            Pruning::TopK { .. } => Scheme::TopK,
            Pruning::DynamicTopK { .. } => Scheme::DynamicTopK,
            Pruning::TriuDamp { .. } => Scheme::TriuDamp,
            Pruning::DynamicTriuDamp { .. } => Scheme::DynamicTriuDamp,
        }
    }

    /// The setting's sparsity: p, 1 - k, f respectively (0 for none).
    pub fn sparsity(&self) -> f64 {
        match *self {
            Pruning::None => 0.0,
            Pruning::Random { p } => p,
            Pruning::TopK { k } | Pruning::DynamicTopK { k } => 1.0 - k,
            Pruning::TriuDamp { f } | Pruning::DynamicTriuDamp { f } => f,
        }
    }
}

/// One run of the Ordering lab.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OrderingConfig {
    pub task: OrderingTask,
    /// Hidden neurons H.
    pub hidden: usize,
    /// Iterations of the weight-tied layer per forward pass.
    pub its: usize,
    pub epochs: u64,
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
    pub pruning: Pruning,
    pub seed: u64,
}

/// Which study to run.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StudyKind {
    /// D against sparsity for each scheme, plus the unpruned baseline.
    Sparsity,
    /// Mean D over hidden sizes x iterations (unpruned).
    Grid,
}

/// Many Ordering runs, in parallel on the worker.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OrderingStudyConfig {
    /// The base run (task, sizes, epochs, lr); its pruning and seed are replaced per task.
    pub base: OrderingConfig,
    pub kind: StudyKind,
    /// Runs (seeds) per setting.
    pub runs: usize,
    /// Sparsities of the sparsity study.
    pub sparsities: Vec<f64>,
    /// Schemes of the sparsity study (the baseline is always included).
    pub schemes: Vec<Scheme>,
    /// Hidden sizes of the grid study.
    pub hidden_grid: Vec<usize>,
    /// Iteration counts of the grid study.
    pub its_grid: Vec<usize>,
    /// Training threads (0 = the number of cores).
    #[serde(default)]
    pub threads: usize,
}
