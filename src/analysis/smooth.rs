//! Display smoothing of a noisy curve: the debiased exponential moving average TensorBoard's
//! "smoothing" slider applies, written from its definition.
//!
//! With weight `w` in `[0, 1)`, and `x_1, x_2, …` the finite values of a series in step order:
//!
//! ```text
//! s_0 = 0
//! s_t = w * s_{t-1} + (1 - w) * x_t
//! smoothed_t = s_t / (1 - w^t)
//! ```
//!
//! Starting from 0 pulls the first values towards 0; dividing by `1 - w^t` (the sum of the weights
//! the `t` values have had) removes that bias, so the first smoothed value is the first value
//! itself and each smoothed value is a weighted mean of the values so far. `t` counts points, not
//! steps: two points logged 1 and 100 steps apart weigh the same. Weight 0 gives the values
//! unchanged. A value that is not finite (a diverged loss) is neither counted nor smoothed: it is
//! passed through as it is, and the average goes on from the last finite values.
//!
//! Smoothing is for what is drawn only: the stored values, the events found in them (see
//! [`super::events`]) and the CSV's raw values never go through it.

/// The largest weight accepted (as TensorBoard's slider): at 1 nothing after the first value would
/// count at all.
pub const MAX_WEIGHT: f64 = 0.99;

/// A smoothing weight, checked: finite and in `[0, MAX_WEIGHT]` (anything else is brought into that
/// range, NaN to 0, so a bad stored setting draws raw curves rather than failing).
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Default)]
pub struct Weight(f64);

impl Weight {
    /// Off: the values as they are.
    pub const OFF: Weight = Weight(0.0);

    /// `w` brought into `[0, MAX_WEIGHT]` (NaN: 0).
    pub fn new(w: f64) -> Self {
        if w.is_nan() {
            Self::OFF
        } else {
            Weight(w.clamp(0.0, MAX_WEIGHT))
        }
    }

    /// The weight, in `[0, MAX_WEIGHT]`.
    pub fn get(self) -> f64 {
        self.0
    }

    /// Whether smoothing changes anything (weight above 0).
    pub fn is_on(self) -> bool {
        self.0 > 0.0
    }
}

/// The running state of the debiased average: push the values in order, get each smoothed value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ema {
    w: f64,
    /// `s_t`, the biased average.
    acc: f64,
    /// `w^t` for the `t` finite values pushed so far.
    w_pow: f64,
}

impl Ema {
    /// Nothing pushed yet, at weight `w`.
    pub fn new(w: Weight) -> Self {
        Self {
            w: w.get(),
            acc: 0.0,
            w_pow: 1.0,
        }
    }

    /// The smoothed value at `x`, the next value of the series (a value that is not finite comes back
    /// as it is and leaves the average as it was).
    pub fn push(&mut self, x: f64) -> f64 {
        if !x.is_finite() {
            return x;
        }
        self.acc = self.w * self.acc + (1.0 - self.w) * x;
        self.w_pow *= self.w;
        // 1 - w^t >= 1 - w > 0 for t >= 1 and w <= MAX_WEIGHT: never a division by zero
        self.acc / (1.0 - self.w_pow)
    }
}

/// `values` smoothed at weight `w` ([`Ema`]), one out for each in.
pub fn smoothed(values: impl IntoIterator<Item = f64>, w: Weight) -> Vec<f64> {
    let mut ema = Ema::new(w);
    values.into_iter().map(|x| ema.push(x)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    /// Worked by hand at w = 0.5 for 4, 0, 2:
    /// s_1 = 0.5·0 + 0.5·4 = 2,   / (1 - 0.5)   = 2 / 0.5   = 4   (the first value itself);
    /// s_2 = 0.5·2 + 0.5·0 = 1,   / (1 - 0.25)  = 1 / 0.75  = 4/3 (= (0.5·4 + 1·0) / 1.5);
    /// s_3 = 0.5·1 + 0.5·2 = 1.5, / (1 - 0.125) = 1.5 / 0.875 = 12/7 (= (0.25·4 + 0.5·0 + 1·2) / 1.75).
    #[test]
    fn the_debiased_average_by_hand() {
        let s = smoothed([4.0, 0.0, 2.0], Weight::new(0.5));
        assert_eq!(s.len(), 3);
        assert!(close(s[0], 4.0), "{s:?}");
        assert!(close(s[1], 4.0 / 3.0), "{s:?}");
        assert!(close(s[2], 12.0 / 7.0), "{s:?}");
    }

    /// The first smoothed value is the first value whatever the weight (the debias: s_1 = (1 - w)·x_1,
    /// divided by 1 - w); without the debias it would be 0.1·0.8 = 0.08 at w = 0.9.
    #[test]
    fn the_first_value_is_kept() {
        for w in [0.0, 0.3, 0.6, 0.9, 0.99] {
            let s = smoothed([0.8, 0.2], Weight::new(w));
            assert!(close(s[0], 0.8), "w {w}: {s:?}");
        }
        // and at w = 0.9 the second is (0.9·0.8 + 1·0.2) / 1.9 = 0.92 / 1.9
        let s = smoothed([0.8, 0.2], Weight::new(0.9));
        assert!(close(s[1], 0.92 / 1.9), "{s:?}");
    }

    /// Weight 0 gives back exactly the values (bit for bit: s_t = 0·s + 1·x, divided by 1 - 0).
    #[test]
    fn weight_zero_is_the_identity() {
        let v = [0.1 + 0.2, 1e-300, 3.0, -7.25, 123_456.789];
        assert_eq!(smoothed(v, Weight::OFF), v.to_vec());
    }

    /// A constant series stays constant (each smoothed value is a weighted mean of equal values).
    #[test]
    fn a_constant_stays_constant() {
        for x in smoothed([0.7; 50], Weight::new(0.95)) {
            assert!(close(x, 0.7), "{x}");
        }
    }

    /// A value that is not finite passes through and is not counted: w = 0.5 over 4, NaN, 0 gives
    /// 4, NaN, then 4/3 as for 4, 0 alone (worked above).
    #[test]
    fn values_not_finite_pass_through() {
        let s = smoothed([4.0, f64::NAN, 0.0, f64::INFINITY], Weight::new(0.5));
        assert!(close(s[0], 4.0));
        assert!(s[1].is_nan());
        assert!(close(s[2], 4.0 / 3.0), "{s:?}");
        assert_eq!(s[3], f64::INFINITY);
    }

    /// Out-of-range weights are brought into range instead of failing.
    #[test]
    fn weights_are_checked() {
        assert_eq!(Weight::new(f64::NAN), Weight::OFF);
        assert_eq!(Weight::new(-1.0).get(), 0.0);
        assert_eq!(Weight::new(1.0).get(), MAX_WEIGHT);
        assert_eq!(Weight::new(f64::INFINITY).get(), MAX_WEIGHT);
        assert!(!Weight::new(0.0).is_on());
        assert!(Weight::new(0.6).is_on());
    }

    /// At the largest weight over many points w^t underflows to 0 and the average stays finite.
    #[test]
    fn long_series_stay_finite() {
        let s = smoothed(
            (0..100_000).map(|i| (i % 2) as f64),
            Weight::new(MAX_WEIGHT),
        );
        let last = *s.last().unwrap();
        // the mean of alternating 0 and 1 with these weights is near 1/2
        assert!((last - 0.5).abs() < 0.01, "{last}");
    }
}
