//! [`MinMaxPyramid`]: min/max summaries of a growing series at doubling block sizes, so thinning a
//! long series for drawing costs about one pass over a few thousand blocks instead of one pass over
//! every point.
//!
//! [`crate::store::decimate_min_max`] scans every visible point: about 5 ms for 10^6 points in a
//! release build, too slow for several series each frame. The pyramid answers the same question from
//! blocks of at most half a bucket, so each bucket's extremes are kept, up to a shift of one block
//! (less than a pixel) at bucket edges.

use super::decimate::{BucketGrid, decimate_min_max};
use std::ops::Range;

/// Points per block at the finest level.
const BASE: usize = 32;

/// The smallest and largest finite y of a block, with their indices.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Block {
    min: Option<(usize, f64)>,
    max: Option<(usize, f64)>,
}

impl Block {
    const EMPTY: Block = Block {
        min: None,
        max: None,
    };

    fn add(&mut self, i: usize, y: f64) {
        if !y.is_finite() {
            return;
        }
        if self.min.is_none_or(|(_, v)| y < v) {
            self.min = Some((i, y));
        }
        if self.max.is_none_or(|(_, v)| y > v) {
            self.max = Some((i, y));
        }
    }

    fn merge(&mut self, other: &Block) {
        if let Some((i, y)) = other.min
            && self.min.is_none_or(|(_, v)| y < v)
        {
            self.min = Some((i, y));
        }
        if let Some((i, y)) = other.max
            && self.max.is_none_or(|(_, v)| y > v)
        {
            self.max = Some((i, y));
        }
    }

    /// Push min and max indices in index order.
    fn emit(&self, out: &mut Vec<usize>) {
        if let (Some((a, _)), Some((b, _))) = (self.min, self.max) {
            out.push(a.min(b));
            if a != b {
                out.push(a.max(b));
            }
        }
    }
}

/// Min/max of the y values of a series, per block of `BASE * 2^k` points at level k.
#[derive(Clone, Debug, Default)]
pub struct MinMaxPyramid {
    levels: Vec<Vec<Block>>,
    len: usize,
}

impl MinMaxPyramid {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of values pushed.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Append the y of the next point (index `len()`). Non-finite values are counted but never chosen.
    pub fn push(&mut self, y: f64) {
        let i = self.len;
        self.len += 1;
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        let mut k = 0;
        loop {
            let is_top = k + 1 == self.levels.len();
            let blocks = &mut self.levels[k];
            let b = i / (BASE << k);
            if b == blocks.len() {
                blocks.push(Block::EMPTY);
            }
            blocks[b].add(i, y);
            if blocks.len() < 2 {
                // the coarsest level needed: one block holds everything so far
                break;
            }
            if is_top {
                // This level just got its second block: a coarser level starts, as the merge of
                // both (so it already includes point i).
                let mut top = blocks[0];
                top.merge(&blocks[1]);
                self.levels.push(vec![top]);
                break;
            }
            k += 1;
        }
    }

    /// Like [`decimate_min_max`] over the points `range` of the series (sorted by x, `x(i)` giving
    /// point i's x and `y(i)` its y), bucketed over `x_range`: strictly increasing indices holding each
    /// bucket's min and max (a block's extremes count in the bucket where the block starts), plus the
    /// range's first and last index. Falls back to the exact scan when the range is short.
    pub fn decimate(
        &self,
        x: impl Fn(usize) -> f64,
        y: impl Fn(usize) -> f64,
        range: Range<usize>,
        x_range: (f64, f64),
        buckets: usize,
    ) -> Vec<usize> {
        let buckets = buckets.max(1);
        let range = range.start.min(self.len)..range.end.min(self.len);
        let n = range.len();
        if n <= 2 * buckets {
            return range.collect();
        }
        // Blocks of at most half a bucket's worth of points (if the points are evenly spaced).
        let target = n / (2 * buckets);
        let Some(level) = (0..self.levels.len()).rev().find(|&k| BASE << k <= target) else {
            return self.exact(&x, &y, range, x_range, buckets);
        };
        let size = BASE << level;
        let Some(grid) = BucketGrid::new(x_range, buckets) else {
            return self.exact(&x, &y, range, x_range, buckets);
        };
        let bucket_of = |xv: f64| grid.bucket(xv);

        let mut out = Vec::with_capacity(2 * buckets + 4);
        let mut current: Option<(usize, Block)> = None;
        // Merge a block into the bucket being gathered; emit that bucket when a new one begins.
        fn flush(
            bucket: usize,
            block: Block,
            current: &mut Option<(usize, Block)>,
            out: &mut Vec<usize>,
        ) {
            match current {
                Some((b, acc)) if *b == bucket => acc.merge(&block),
                Some((_, acc)) => {
                    acc.emit(out);
                    *current = Some((bucket, block));
                }
                None => *current = Some((bucket, block)),
            }
        }
        // Partial blocks at the ends are summarised point by point.
        let first_full = range.start.div_ceil(size);
        let end_full = range.end / size;
        let head_end = (first_full * size).min(range.end);
        for i in range.start..head_end {
            let mut b = Block::EMPTY;
            b.add(i, y(i));
            flush(bucket_of(x(i)), b, &mut current, &mut out);
        }
        let blocks = &self.levels[level];
        let full = blocks.iter().enumerate().take(end_full).skip(first_full);
        for (j, block) in full {
            flush(bucket_of(x(j * size)), *block, &mut current, &mut out);
        }
        for i in (end_full * size).max(head_end)..range.end {
            let mut b = Block::EMPTY;
            b.add(i, y(i));
            flush(bucket_of(x(i)), b, &mut current, &mut out);
        }
        if let Some((_, acc)) = current {
            acc.emit(&mut out);
        }
        out.push(range.start);
        out.push(range.end - 1);
        out.sort_unstable();
        out.dedup();
        out
    }

    fn exact(
        &self,
        x: &impl Fn(usize) -> f64,
        y: &impl Fn(usize) -> f64,
        range: Range<usize>,
        x_range: (f64, f64),
        buckets: usize,
    ) -> Vec<usize> {
        let idx: Vec<usize> = range.collect();
        decimate_min_max(&idx, |&i| (x(i), y(i)), x_range, buckets)
            .into_iter()
            .map(|k| idx[k])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::decimate::tests::signal;

    #[test]
    fn levels_summarise_their_blocks() {
        let mut p = MinMaxPyramid::new();
        for i in 0..1000 {
            p.push(signal(i));
        }
        for (k, blocks) in p.levels.iter().enumerate() {
            let size = BASE << k;
            for (j, b) in blocks.iter().enumerate() {
                // brute force over the block's points
                let idx = j * size..((j + 1) * size).min(1000);
                let min = idx.clone().map(signal).fold(f64::INFINITY, f64::min);
                let max = idx.clone().map(signal).fold(f64::NEG_INFINITY, f64::max);
                assert_eq!(b.min.unwrap().1, min, "level {k} block {j}");
                assert_eq!(b.max.unwrap().1, max, "level {k} block {j}");
            }
        }
        assert_eq!(
            p.levels.last().unwrap().len(),
            1,
            "the top level is one block"
        );
    }

    #[test]
    fn a_million_points_keep_every_buckets_extremes_within_a_block() {
        let n = 1_000_000;
        let mut p = MinMaxPyramid::new();
        for i in 0..n {
            p.push(signal(i));
        }
        let buckets = 1000;
        let kept = p.decimate(|i| i as f64, signal, 0..n, (0.0, n as f64), buckets);
        assert!(kept.windows(2).all(|w| w[0] < w[1]));
        assert!(kept.len() <= 2 * buckets + 4, "{}", kept.len());
        // Bucket b holds indices b*1000..(b+1)*1000; blocks are 256 points here (the largest
        // BASE * 2^k <= 10^6 / 2000), so an extreme of bucket b may be carried by a block that starts
        // in bucket b-1, and bucket b's kept extreme may sit in a block reaching into bucket b+1.
        let bucket = |i: usize| i / 1000;
        for b in 0..buckets {
            let idx = b * 1000..(b + 1) * 1000;
            let min = idx.clone().map(signal).fold(f64::INFINITY, f64::min);
            let max = idx.clone().map(signal).fold(f64::NEG_INFINITY, f64::max);
            let near: Vec<f64> = kept
                .iter()
                .filter(|&&i| bucket(i) + 1 >= b && bucket(i) <= b + 1)
                .map(|&i| signal(i))
                .collect();
            assert!(near.iter().any(|&v| v <= min), "bucket {b}: min {min} lost");
            assert!(near.iter().any(|&v| v >= max), "bucket {b}: max {max} lost");
        }
        // every spike survives
        for s in (0..n).step_by(7919) {
            assert!(kept.contains(&s), "spike at {s} lost");
        }
    }

    #[test]
    fn short_or_unaligned_ranges_match_the_exact_scan() {
        let n = 5000;
        let mut p = MinMaxPyramid::new();
        for i in 0..n {
            p.push(signal(i));
        }
        // 4000 points into 100 buckets: 20 points per half bucket, under one block -> exact scan
        let exact: Vec<usize> = {
            let pts: Vec<(f64, f64)> = (0..n).map(|i| (i as f64, signal(i))).collect();
            decimate_min_max(&pts[..], |q| *q, (500.0, 4500.0), 100)
        };
        let range =
            crate::store::visible_range(&(0..n).collect::<Vec<_>>(), |&i| i as f64, 500.0, 4500.0);
        let fast = p.decimate(|i| i as f64, signal, range, (500.0, 4500.0), 100);
        assert_eq!(fast, exact);
    }

    #[test]
    fn unaligned_ends_are_scanned_point_by_point() {
        let n = 200_000;
        let mut p = MinMaxPyramid::new();
        for i in 0..n {
            p.push(if i == 100_003 { 50.0 } else { signal(i) });
        }
        let kept = p.decimate(
            |i| i as f64,
            |i| if i == 100_003 { 50.0 } else { signal(i) },
            100_001..199_999,
            (100_001.0, 199_999.0),
            50,
        );
        assert_eq!(kept.first(), Some(&100_001));
        assert_eq!(kept.last(), Some(&199_998));
        assert!(
            kept.contains(&100_003),
            "the spike in the partial head block is kept"
        );
    }

    #[test]
    fn non_finite_values_are_never_chosen() {
        let mut p = MinMaxPyramid::new();
        for i in 0..100_000usize {
            p.push(if i.is_multiple_of(3) {
                f64::NAN
            } else {
                i as f64
            });
        }
        let y = |i: usize| {
            if i.is_multiple_of(3) {
                f64::NAN
            } else {
                i as f64
            }
        };
        let kept = p.decimate(|i| i as f64, y, 0..100_000, (0.0, 100_000.0), 100);
        for &i in &kept[1..kept.len() - 1] {
            assert!(y(i).is_finite(), "index {i}");
        }
    }
}
