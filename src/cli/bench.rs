//! `grokscope bench`: the training-speed benchmarks, one JSON object a line.

use anyhow::{Result, bail};
use std::time::Duration;

/// Run the benchmarks whose name contains `only` (all without it), timing each for `secs` seconds.
pub fn bench_cmd(only: Option<&str>, secs: f64) -> Result<()> {
    if !(secs.is_finite() && secs > 0.0) {
        bail!("--secs must be a positive number of seconds, got {secs}");
    }
    for line in crate::bench::run_all(only, Duration::from_secs_f64(secs))? {
        println!("{line}");
    }
    Ok(())
}
