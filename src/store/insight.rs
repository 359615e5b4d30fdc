//! The insight snapshots of one run kept for scrubbing: in step order, under a fixed memory cap (the
//! first, the newest and a log-spaced rest survive, see [`snapshots_to_keep`]), so a 10^6-step run's views
//! stay scrubbable in bounded memory.

use crate::analysis::thinning::snapshots_to_keep;
use crate::protocol::InsightSnapshot;

/// Default cap on the snapshots one run keeps.
pub const DEFAULT_CAP_BYTES: usize = 48 << 20;

/// A run's snapshots by step.
#[derive(Clone, Debug)]
pub struct InsightStore {
    snaps: Vec<InsightSnapshot>,
    cap_bytes: usize,
    /// Where the snapshots came from, for the views' caption (e.g. "live", "checkpoints of run-3").
    pub source: String,
    /// The final model's key frequencies, once the restricted and excluded loss have been computed
    /// with them (after the run); empty before.
    pub final_keys: Vec<usize>,
}

impl Default for InsightStore {
    fn default() -> Self {
        Self::with_cap(DEFAULT_CAP_BYTES)
    }
}

impl InsightStore {
    pub fn with_cap(cap_bytes: usize) -> Self {
        InsightStore {
            snaps: Vec::new(),
            cap_bytes,
            source: String::new(),
            final_keys: Vec::new(),
        }
    }

    /// Add a snapshot (one at a step already held replaces it), then thin to the cap.
    pub fn push(&mut self, snap: InsightSnapshot) {
        match self.snaps.binary_search_by_key(&snap.step, |s| s.step) {
            Ok(i) => self.snaps[i] = snap,
            Err(i) => self.snaps.insert(i, snap),
        }
        let each = self
            .snaps
            .iter()
            .map(InsightSnapshot::bytes)
            .max()
            .unwrap_or(1);
        let steps: Vec<u64> = self.snaps.iter().map(|s| s.step).collect();
        let keep = snapshots_to_keep(&steps, each, self.cap_bytes);
        if keep.len() < self.snaps.len() {
            let mut k = keep.into_iter().peekable();
            let mut i = 0;
            self.snaps.retain(|_| {
                let kept = k.peek() == Some(&i);
                if kept {
                    k.next();
                }
                i += 1;
                kept
            });
        }
    }

    pub fn clear(&mut self) {
        self.snaps.clear();
        self.source.clear();
        self.final_keys.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.snaps.is_empty()
    }

    pub fn len(&self) -> usize {
        self.snaps.len()
    }

    /// Every snapshot, oldest first.
    pub fn all(&self) -> &[InsightSnapshot] {
        &self.snaps
    }

    /// The steps held, ascending.
    pub fn steps(&self) -> Vec<u64> {
        self.snaps.iter().map(|s| s.step).collect()
    }

    pub fn latest(&self) -> Option<&InsightSnapshot> {
        self.snaps.last()
    }

    /// The snapshot shown at `step`: the last one taken at or before it (the first when `step` is
    /// earlier than all).
    pub fn at(&self, step: u64) -> Option<&InsightSnapshot> {
        let i = self.snaps.partition_point(|s| s.step <= step);
        self.snaps.get(i.saturating_sub(1))
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.snaps.iter().map(InsightSnapshot::bytes).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Operation;

    fn snap(step: u64) -> InsightSnapshot {
        InsightSnapshot {
            step,
            epoch: step,
            op: Operation::Add,
            p: 5,
            e: 2,
            embed: vec![0.0; 10],
            spectrum: vec![0.0; 2],
            keys: vec![1],
            predictions: vec![0; 25],
            neurons: None,
            ablation: None,
        }
    }

    #[test]
    fn picks_the_last_snapshot_at_or_before_a_step() {
        let mut s = InsightStore::default();
        for step in [0, 10, 20] {
            s.push(snap(step));
        }
        // by the definition: the last at or before, the first before all
        assert_eq!(s.at(15).map(|x| x.step), Some(10));
        assert_eq!(s.at(20).map(|x| x.step), Some(20));
        assert_eq!(s.at(99).map(|x| x.step), Some(20));
        s.push(snap(5));
        assert_eq!(s.steps(), [0, 5, 10, 20]);
    }

    /// A 10^6-step run with a snapshot every 100 steps stays under the cap; the first and the newest are
    /// kept and the survivors spread over the log axis (every decade from 10^2 on keeps some).
    #[test]
    fn a_long_run_stays_under_the_cap() {
        let each = snap(0).bytes();
        let mut s = InsightStore::with_cap(each * 50);
        for step in (0..=1_000_000u64).step_by(100) {
            s.push(snap(step));
        }
        assert!(s.bytes() <= each * 50, "{} bytes", s.bytes());
        let steps = s.steps();
        assert_eq!(steps.first(), Some(&0));
        assert_eq!(steps.last(), Some(&1_000_000));
        for decade in 2..6 {
            let (lo, hi) = (10u64.pow(decade), 10u64.pow(decade + 1));
            assert!(
                steps.iter().any(|&x| x >= lo && x < hi),
                "no snapshot in [{lo}, {hi}): {steps:?}"
            );
        }
    }
}
