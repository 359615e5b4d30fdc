//! Thinning long series for drawing: keep the minimum and maximum of each pixel-wide bucket.
//!
//! A line through the min and max of every bucket looks the same at that width as the full series
//! (spikes survive), while a 10^6-point history draws as about two points per pixel.
//! The functions are generic over the point type and return indices, so the caller keeps its own
//! storage (the app's cached plot points, the store's [`crate::store::Point`]s).

use std::ops::Range;

/// Indices of the points whose x lies in `[x_min, x_max]`, widened by one point on each side so
/// that a line drawn through them reaches the edges of the view.
///
/// `points` must be sorted by x (non-decreasing). A NaN bound gives the whole slice.
pub fn visible_range<T>(
    points: &[T],
    x: impl Fn(&T) -> f64,
    x_min: f64,
    x_max: f64,
) -> Range<usize> {
    if x_min.is_nan() || x_max.is_nan() {
        return 0..points.len();
    }
    let (x_min, x_max) = if x_min <= x_max {
        (x_min, x_max)
    } else {
        (x_max, x_min)
    };
    let lo = points.partition_point(|p| x(p) < x_min);
    let hi = points.partition_point(|p| x(p) <= x_max);
    lo.saturating_sub(1)..(hi + 1).min(points.len())
}

/// Min/max decimation of the points visible in `x_range` into `buckets` equal-width x buckets.
///
/// Returns strictly increasing indices into `points`: for every bucket that holds a point with a
/// finite y, the index of its smallest and of its largest y (one index if they coincide), plus the
/// first and last index of the visible range so lines reach the view's edges. When the visible range
/// holds at most `2 * buckets` points they are all returned (no thinning needed).
/// Points with a non-finite y are skipped when thinning.
///
/// `points` must be sorted by x; `xy` gives a point's (x, y) in the space being drawn (e.g. log10).
pub fn decimate_min_max<T>(
    points: &[T],
    xy: impl Fn(&T) -> (f64, f64),
    x_range: (f64, f64),
    buckets: usize,
) -> Vec<usize> {
    let buckets = buckets.max(1);
    let range = visible_range(points, |p| xy(p).0, x_range.0, x_range.1);
    if range.len() <= 2 * buckets {
        return range.collect();
    }
    let Some(grid) = BucketGrid::new(x_range, buckets) else {
        // No usable width to bucket over: thin by index instead, which keeps the same guarantees
        // per bucket of equal point counts.
        return decimate_by_index(points, &xy, range, buckets);
    };
    let bucket_of = |x: f64| grid.bucket(x);
    let mut out = Vec::with_capacity(2 * buckets + 2);
    let mut start = range.start;
    while start < range.end {
        let b = bucket_of(xy(&points[start]).0);
        let mut end = start + 1;
        while end < range.end && bucket_of(xy(&points[end]).0) == b {
            end += 1;
        }
        push_min_max(points, &xy, start..end, &mut out);
        start = end;
    }
    finish(out, range)
}

/// Equal-width x buckets over a view.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BucketGrid {
    x_min: f64,
    width: f64,
    buckets: usize,
}

impl BucketGrid {
    /// `None` when the range has no usable width (empty, reversed to zero, or not finite).
    pub(crate) fn new(x_range: (f64, f64), buckets: usize) -> Option<Self> {
        let (x_min, x_max) = if x_range.0 <= x_range.1 {
            x_range
        } else {
            (x_range.1, x_range.0)
        };
        let width = x_max - x_min;
        (width.is_finite() && width > 0.0).then_some(Self {
            x_min,
            width,
            buckets: buckets.max(1),
        })
    }

    /// The bucket of `x`, clamped so that points just outside the view fall into the edge buckets.
    pub(crate) fn bucket(&self, x: f64) -> usize {
        let b = ((x - self.x_min) / self.width * self.buckets as f64).floor();
        if b.is_nan() || b < 0.0 {
            0
        } else {
            (b as usize).min(self.buckets - 1)
        }
    }
}

fn decimate_by_index<T>(
    points: &[T],
    xy: &impl Fn(&T) -> (f64, f64),
    range: Range<usize>,
    buckets: usize,
) -> Vec<usize> {
    let n = range.len();
    let mut out = Vec::with_capacity(2 * buckets + 2);
    for b in 0..buckets {
        let start = range.start + b * n / buckets;
        let end = range.start + (b + 1) * n / buckets;
        push_min_max(points, xy, start..end, &mut out);
    }
    finish(out, range)
}

/// Push the indices of the min and max finite y of `run`, in index order.
fn push_min_max<T>(
    points: &[T],
    xy: &impl Fn(&T) -> (f64, f64),
    run: Range<usize>,
    out: &mut Vec<usize>,
) {
    let mut lo: Option<(usize, f64)> = None;
    let mut hi: Option<(usize, f64)> = None;
    for i in run {
        let y = xy(&points[i]).1;
        if !y.is_finite() {
            continue;
        }
        if lo.is_none_or(|(_, v)| y < v) {
            lo = Some((i, y));
        }
        if hi.is_none_or(|(_, v)| y > v) {
            hi = Some((i, y));
        }
    }
    if let (Some((a, _)), Some((b, _))) = (lo, hi) {
        let (first, second) = if a <= b { (a, b) } else { (b, a) };
        out.push(first);
        if second != first {
            out.push(second);
        }
    }
}

/// Add the range's first and last index and restore strict order.
fn finish(mut out: Vec<usize>, range: Range<usize>) -> Vec<usize> {
    if let Some(last) = range.end.checked_sub(1)
        && !range.is_empty()
    {
        out.push(range.start);
        out.push(last);
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A deterministic, jumpy signal: a sine plus a spike every 7919 points.
    pub(crate) fn signal(i: usize) -> f64 {
        let base = (i as f64 * 0.37).sin();
        if i.is_multiple_of(7919) {
            base + 10.0
        } else {
            base
        }
    }

    #[test]
    fn a_million_points_into_1000_buckets_keep_each_buckets_min_and_max() {
        let n = 1_000_000;
        let pts: Vec<(f64, f64)> = (0..n).map(|i| (i as f64, signal(i))).collect();
        let buckets = 1000;
        // x in [0, n): bucket width n / 1000 = 1000 points, so bucket b holds indices b*1000..(b+1)*1000.
        let kept = decimate_min_max(&pts, |p| *p, (0.0, n as f64), buckets);
        assert!(
            kept.windows(2).all(|w| w[0] < w[1]),
            "indices in x order, no repeats"
        );
        assert!(kept.len() <= 2 * buckets + 2, "{} indices", kept.len());
        for b in 0..buckets {
            // brute force: the bucket's min and max by a plain scan
            let idx = b * 1000..(b + 1) * 1000;
            let min = idx.clone().map(|i| pts[i].1).fold(f64::INFINITY, f64::min);
            let max = idx
                .clone()
                .map(|i| pts[i].1)
                .fold(f64::NEG_INFINITY, f64::max);
            let in_bucket: Vec<f64> = kept
                .iter()
                .filter(|&&i| idx.contains(&i))
                .map(|&i| pts[i].1)
                .collect();
            assert!(in_bucket.contains(&min), "bucket {b} lost its min");
            assert!(in_bucket.contains(&max), "bucket {b} lost its max");
            // only min, max and the range's end points are kept
            for v in in_bucket {
                assert!(
                    v == min || v == max || b == 0 || b == buckets - 1,
                    "bucket {b} kept {v}"
                );
            }
        }
    }

    #[test]
    fn few_points_are_returned_whole() {
        let pts: Vec<(f64, f64)> = (0..50).map(|i| (i as f64, signal(i))).collect();
        assert_eq!(
            decimate_min_max(&pts, |p| *p, (0.0, 49.0), 100),
            (0..50).collect::<Vec<_>>()
        );
    }

    #[test]
    fn visible_range_is_widened_by_one_point_each_side() {
        let xs = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0];
        assert_eq!(visible_range(&xs, |x| *x, 3.0, 10.0), 1..5); // 4 and 8 inside, 2 and 16 added
        assert_eq!(visible_range(&xs, |x| *x, 100.0, 200.0), 5..6); // all left of the view: keep the last
        assert_eq!(visible_range(&xs, |x| *x, -5.0, 0.5), 0..1);
        assert_eq!(visible_range(&xs, |x| *x, f64::NAN, 1.0), 0..6);
        assert_eq!(visible_range(&[] as &[f64], |x| *x, 0.0, 1.0), 0..0);
    }

    #[test]
    fn zoomed_view_only_thins_what_is_visible() {
        let pts: Vec<(f64, f64)> = (0..100_000).map(|i| (i as f64, signal(i))).collect();
        let kept = decimate_min_max(&pts, |p| *p, (10_000.0, 20_000.0), 100);
        assert_eq!(kept.first(), Some(&9_999));
        assert_eq!(kept.last(), Some(&20_001));
        assert!(kept.len() <= 202);
    }

    #[test]
    fn non_finite_values_are_skipped() {
        let pts: Vec<(f64, f64)> = (0..10_000)
            .map(|i| (i as f64, if i % 2 == 0 { f64::NAN } else { i as f64 }))
            .collect();
        let kept = decimate_min_max(&pts, |p| *p, (0.0, 10_000.0), 10);
        for &i in &kept[1..kept.len() - 1] {
            assert!(pts[i].1.is_finite());
        }
    }

    #[test]
    fn zero_width_view_thins_by_index() {
        let pts: Vec<(f64, f64)> = (0..10_000).map(|i| (5.0, signal(i))).collect();
        let kept = decimate_min_max(&pts, |p| *p, (5.0, 5.0), 10);
        assert!(kept.len() <= 22);
        assert!(kept.windows(2).all(|w| w[0] < w[1]));
    }
}
