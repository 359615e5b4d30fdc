//! Configurations of the Capacity lab (Song & Ye 2026): sweeps over model sizes of memorisation speed on
//! random labels and generalisation speed on the modular task.

use super::GrokkingConfig;
use serde::{Deserialize, Serialize};

/// A sweep: the base run, the widths (model sizes), primes and seeds to cross.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CapacitySweepConfig {
    /// The run every task starts from (its model width, prime and seed are replaced per task).
    pub base: GrokkingConfig,
    /// Model widths (d_model for the transformer, hidden for the MLP).
    pub widths: Vec<usize>,
    /// Primes (one crossing plot each).
    pub primes: Vec<u32>,
    /// Seeds per (width, prime).
    pub seeds: Vec<u64>,
    /// Training threads (0 = the number of cores).
    #[serde(default)]
    pub threads: usize,
}
