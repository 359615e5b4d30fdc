//! [`Thinned`]: a series recorded point by point into bounded memory, for curves stored with a result
//! and for the curves of a sweep's tasks in flight.
//!
//! Written by hand because the recorder must work online (a run's length is not known until it stops)
//! and must keep chosen points exactly (the first epoch at each threshold), which the min/max
//! decimation of [`super::decimate`] (made for drawing a finished series at a pixel width) does not
//! promise.

/// Keeps every `stride`-th point offered, doubling the stride (and dropping the points off it) whenever
/// more than `cap` points are held, so at most about `cap` points remain, spread evenly over the run.
/// Pinned points are always kept, and [`Thinned::finish`] adds the last point offered.
#[derive(Clone, Debug, PartialEq)]
pub struct Thinned<T> {
    cap: usize,
    stride: usize,
    offered: usize,
    /// (offer index, pinned, point), by offer index.
    kept: Vec<(usize, bool, T)>,
    last: Option<(usize, T)>,
}

impl<T: Clone> Thinned<T> {
    /// A recorder holding at most about `cap` points (at least 2) besides the pinned ones.
    pub fn new(cap: usize) -> Self {
        Thinned {
            cap: cap.max(2),
            stride: 1,
            offered: 0,
            kept: vec![],
            last: None,
        }
    }

    /// Offer the next point; `pin` keeps it whatever the stride.
    pub fn push(&mut self, point: T, pin: bool) {
        let i = self.offered;
        self.offered += 1;
        if pin || i.is_multiple_of(self.stride) {
            self.kept.push((i, pin, point.clone()));
            if self.kept.len() > self.cap {
                self.stride *= 2;
                let stride = self.stride;
                self.kept
                    .retain(|(k, pinned, _)| *pinned || k.is_multiple_of(stride));
            }
        }
        self.last = Some((i, point));
    }

    /// How many points were offered.
    pub fn offered(&self) -> usize {
        self.offered
    }

    /// The points kept so far, in the order offered, ending with the last point offered.
    pub fn points(&self) -> impl Iterator<Item = &T> {
        let last = match (&self.last, self.kept.last()) {
            (Some((i, p)), Some((k, _, _))) if i != k => Some(p),
            (Some((_, p)), None) => Some(p),
            (Some(_), Some(_)) | (None, _) => None,
        };
        self.kept.iter().map(|(_, _, p)| p).chain(last)
    }

    /// The points kept, in the order offered, ending with the last point offered.
    pub fn finish(self) -> Vec<T> {
        self.points().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_series_are_kept_whole() {
        let mut t = Thinned::new(10);
        for i in 0..10 {
            t.push(i, false);
        }
        assert_eq!(t.finish(), (0..10).collect::<Vec<_>>());
        assert!(Thinned::<u32>::new(5).finish().is_empty());
    }

    #[test]
    fn long_series_are_bounded_even_and_keep_pins_and_the_end() {
        // 10 000 points with cap 300: the stride doubles to 64 (10 000 / 64 = 157 points on it, below the
        // cap; stride 32 would hold 313 > 300), plus pinned 4 321 and the last point 9 999
        let mut t = Thinned::new(300);
        for i in 0..10_000u32 {
            t.push(i, i == 4_321);
        }
        assert_eq!(t.offered(), 10_000);
        let seen: Vec<u32> = t.points().copied().collect();
        let got = t.finish();
        assert_eq!(seen, got, "what is kept so far is what finish gives");
        let on_stride: Vec<u32> = (0..10_000).filter(|i| i % 64 == 0).collect();
        assert_eq!(on_stride.len(), 157);
        let mut want = on_stride;
        want.push(4_321);
        want.sort_unstable();
        want.push(9_999);
        assert_eq!(got, want);
    }
}
