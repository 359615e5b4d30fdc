//! `grokscope bench`: the training-speed benchmarks, one JSON object a line.

use anyhow::{Result, bail};
use std::time::Duration;

/// Longest --secs accepted: a day.
pub const MAX_SECS: f64 = 86_400.0;

/// Run the benchmarks whose name contains `only` (all without it), timing each for `secs` seconds.
pub fn bench_cmd(only: Option<&str>, secs: f64) -> Result<()> {
    // a day at most: beyond it Duration::from_secs_f64 may overflow (1e20 s panicked), and no
    // benchmark needs more
    if !(secs.is_normal() && secs > 0.0 && secs <= MAX_SECS) {
        bail!("--secs must be a number of seconds in (0, {MAX_SECS}], got {secs}");
    }
    for line in crate::bench::run_all(only, Duration::from_secs_f64(secs))? {
        outln!("{line}")?;
    }
    Ok(())
}
