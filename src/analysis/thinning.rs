//! Which weight snapshots a long run keeps, so scrubbing stays possible at every scale of a 10^6-step run
//! while memory stays under a fixed cap: the first, the most recent few, and the rest spread evenly in
//! log(1 + step) (grokking happens on a log time axis).
//!
//! Greedy and incremental: while too many are kept, drop the interior snapshot whose neighbours are closest
//! in log(1 + step), i.e. the one whose absence leaves the smallest hole on a log axis. Called after each new
//! snapshot, it drops one; thinning n at once costs O(n log n). The survivors approach an even log
//! spacing.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Indices (ascending) of the snapshots at `steps` (ascending) to keep when each takes `bytes_each` and
/// together they may take at most `cap_bytes`. Keeps everything that fits; otherwise the first, the
/// newest quarter of the budget (at least the last one) and a log-spaced rest. Keeps none when not even
/// one fits, only the last when exactly one does.
pub fn snapshots_to_keep(steps: &[u64], bytes_each: usize, cap_bytes: usize) -> Vec<usize> {
    let n = steps.len();
    let capacity = cap_bytes.checked_div(bytes_each).unwrap_or(usize::MAX);
    if n <= capacity {
        return (0..n).collect();
    }
    match capacity {
        0 => return vec![],
        1 => return vec![n - 1],
        _ => {}
    }
    let recent = (capacity / 4).max(1);
    // a linked list over the snapshots and a min-heap of the interior ones by the log-gap their removal
    // leaves; entries go stale when a neighbour is dropped (the version check skips them)
    let log: Vec<f64> = steps.iter().map(|&s| (1.0 + s as f64).ln()).collect();
    let mut prev: Vec<usize> = (0..n).map(|i| i.saturating_sub(1)).collect();
    let mut next: Vec<usize> = (0..n).map(|i| (i + 1).min(n - 1)).collect();
    let mut version = vec![0u32; n];
    let mut alive = vec![true; n];
    let free = 1..n - recent;
    // gaps are >= 0 for ascending steps, and the bits of non-negative floats order as the floats do
    let entry = |i: usize, prev: &[usize], next: &[usize], v: u32| {
        Reverse(((log[next[i]] - log[prev[i]]).max(0.0).to_bits(), i, v))
    };
    let mut heap: BinaryHeap<_> = free.clone().map(|i| entry(i, &prev, &next, 0)).collect();
    let mut count = n;
    while count > capacity {
        let Some(Reverse((_, i, v))) = heap.pop() else {
            break;
        };
        if !alive[i] || version[i] != v {
            continue;
        }
        alive[i] = false;
        count -= 1;
        let (a, b) = (prev[i], next[i]);
        next[a] = b;
        prev[b] = a;
        for j in [a, b] {
            if free.contains(&j) {
                version[j] += 1;
                heap.push(entry(j, &prev, &next, version[j]));
            }
        }
    }
    (0..n).filter(|&i| alive[i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_the_cap_with_first_last_and_recent() {
        let steps: Vec<u64> = (0..1000).map(|i| i * 10).collect();
        // 100 bytes each, cap 3_250 -> 32 fit; 8 of them (a quarter) the most recent
        let keep = snapshots_to_keep(&steps, 100, 3_250);
        assert_eq!(keep.len(), 32);
        assert_eq!(keep[0], 0);
        assert_eq!(&keep[24..], &(992..1000).collect::<Vec<_>>()[..]);
        assert!(keep.windows(2).all(|w| w[0] < w[1]));
        // everything fits, nothing fits, one fits
        assert_eq!(
            snapshots_to_keep(&steps[..5], 100, 1_000),
            vec![0, 1, 2, 3, 4]
        );
        assert!(snapshots_to_keep(&steps, 100, 99).is_empty());
        assert_eq!(snapshots_to_keep(&steps, 100, 150), vec![999]);
        assert_eq!(snapshots_to_keep(&steps, 100, 250), vec![0, 999]);
        assert_eq!(
            snapshots_to_keep(&steps[..3], 0, 0),
            vec![0, 1, 2],
            "empty snapshots always fit"
        );
    }

    #[test]
    fn the_rest_is_spread_evenly_in_log_step() {
        // a snapshot every step 1..=100_000, 44 kept, 11 recent: the 32 between the first and the recent
        // ones should split evenly over the 4 decades 10..10^5 (log spacing means equal counts per decade:
        // 8 each; allow 5..=11), and 1..10 holds the first and at most a few
        let steps: Vec<u64> = (1..=100_000).collect();
        let keep = snapshots_to_keep(&steps, 1, 44);
        assert_eq!(keep.len(), 44);
        let spread: Vec<u64> = keep[1..33].iter().map(|&i| steps[i]).collect();
        for d in 1..5 {
            let (lo, hi) = (10u64.pow(d), 10u64.pow(d + 1));
            let count = spread.iter().filter(|&&s| s >= lo && s < hi).count();
            assert!(
                (5..=11).contains(&count),
                "decade {lo}..{hi}: {count} in {spread:?}"
            );
        }
    }

    #[test]
    fn a_long_run_stays_bounded_as_it_goes() {
        // 10^6 steps, a snapshot every 500, thinned after each: never over the cap, first and newest kept
        let (bytes, cap) = (4096, 4096 * 64);
        let mut stored: Vec<u64> = vec![];
        for step in (0..=1_000_000).step_by(500) {
            stored.push(step);
            let keep = snapshots_to_keep(&stored, bytes, cap);
            stored = keep.iter().map(|&i| stored[i]).collect();
            assert!(stored.len() * bytes <= cap);
            assert_eq!((stored[0], *stored.last().unwrap()), (0, step));
        }
        // early history survives: some snapshot below step 10^4 and some in every decade above
        for d in 3..6 {
            assert!(
                stored
                    .iter()
                    .any(|&s| s >= 10u64.pow(d) && s < 10u64.pow(d + 1)),
                "{stored:?}"
            );
        }
    }
}
