//! The capacity lab's analysis (Song & Ye 2026; spec section 2): memorised bits, the capacity C in bits per
//! parameter, the timescales T_mem(P) and T_gen(P), the predicted onset P* where they cross, the observed
//! onset from the generalisation delay, and the exponential memorisation-speed model T_mem = a exp(b f).
//!
//! Conventions shared by every function here: P (`params`) is a parameter count and `p` the prime of the
//! task; a value that is NaN is a run that has no value (it never reached the threshold, never
//! memorised) and is left out, never treated as zero; results come back as `Option` when the data cannot
//! determine them, with the reason in the function's doc.

use serde::{Deserialize, Serialize};

use crate::data::random_labels::bits_per_label;

/// Memorised bits of a model on a random-label set: `sum_i [log2(p + 2) + log2 q_i]`, where q_i is the
/// model's softmax probability of the i-th target (eval mode).
///
/// A term is log2 of how much better than chance the model predicts its label, so it is negative where
/// the model does worse than uniform; q = 1/(p+2) everywhere gives 0, q = 1 everywhere gives the set's
/// whole complexity n log2(p + 2). A q of exactly 0 gives -infinity, as the definition does; a caller
/// holding the cross-entropy (finite from a log-softmax) should use [`memorised_bits_from_loss`].
pub fn memorised_bits(probs_of_target: &[f64], p: usize) -> f64 {
    let per_label = bits_per_label(p as u32);
    probs_of_target.iter().map(|q| per_label + q.log2()).sum()
}

/// [`memorised_bits`] from the summed natural-log cross-entropy of the n examples:
/// `n log2(p + 2) - loss_sum / ln 2` (since `-sum log2 q_i = -sum ln q_i / ln 2 = loss_sum / ln 2`).
pub fn memorised_bits_from_loss(loss_sum_nats: f64, n: usize, p: usize) -> f64 {
    n as f64 * bits_per_label(p as u32) - loss_sum_nats / std::f64::consts::LN_2
}

/// A least-squares line `y = slope x + intercept` and its coefficient of determination.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LinearFit {
    pub slope: f64,
    pub intercept: f64,
    /// 1 - SS_res / SS_tot; 1 when the y values do not vary (the line then passes through all of them).
    pub r2: f64,
}

/// Ordinary least squares of `ys` on `xs` with a free intercept, over the pairs where both are finite.
///
/// `None` with fewer than two such pairs, or when their x values are all equal (no slope is determined).
pub fn linear_fit(xs: &[f64], ys: &[f64]) -> Option<LinearFit> {
    assert_eq!(xs.len(), ys.len(), "x and y of different lengths");
    let pts: Vec<(f64, f64)> = xs
        .iter()
        .zip(ys)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(&x, &y)| (x, y))
        .collect();
    if pts.len() < 2 {
        return None;
    }
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    // centred sums: P runs to 1e6 and bits to 1e7, where raw sums of squares would lose digits
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let syy: f64 = pts.iter().map(|p| (p.1 - my).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let ss_res: f64 = pts
        .iter()
        .map(|p| (p.1 - (slope * p.0 + intercept)).powi(2))
        .sum();
    let r2 = if syy == 0.0 { 1.0 } else { 1.0 - ss_res / syy };
    Some(LinearFit {
        slope,
        intercept,
        r2,
    })
}

/// Capacity from (P, max over n of memorised bits) points: the least-squares line with a free intercept;
/// its slope is C in bits per parameter. `None` as for [`linear_fit`].
pub fn capacity_fit(points: &[(f64, f64)]) -> Option<LinearFit> {
    let (xs, ys): (Vec<f64>, Vec<f64>) = points.iter().copied().unzip();
    linear_fit(&xs, &ys)
}

/// Tracks the capacity runs' stop rule epoch by epoch: "no improvement of `min_improvement` in `window`
/// epochs". See [`saturated`] for the definition.
#[derive(Clone, Debug, PartialEq)]
pub struct Saturation {
    min_improvement: f64,
    window: usize,
    /// Best loss so far at each of the last `window + 1` epochs, oldest first.
    best: std::collections::VecDeque<f64>,
}

impl Saturation {
    pub fn new(min_improvement: f64, window: usize) -> Self {
        Saturation {
            min_improvement,
            window,
            best: std::collections::VecDeque::with_capacity(window + 1),
        }
    }

    /// Feed the next epoch's loss; true when the loss has saturated at this epoch.
    pub fn observe(&mut self, loss: f64) -> bool {
        // f64::min ignores a NaN operand, so a NaN loss leaves the best as it was
        let best = self.best.back().map_or(loss, |&b| b.min(loss));
        self.best.push_back(best);
        if self.best.len() > self.window + 1 {
            self.best.pop_front();
        }
        if self.window == 0 || self.best.len() < self.window + 1 {
            return false;
        }
        let (then, now) = (self.best[0], best);
        // NaN (no finite loss yet) compares false: not saturated
        then - now < self.min_improvement
    }
}

/// The first epoch index i (into `losses`, one loss per epoch) at which the loss has saturated:
/// i >= `window` and `best(i - window) - best(i) < min_improvement`, where `best(j) = min(losses[0..=j])`.
///
/// So the rule compares the best loss so far with the best loss `window` epochs ago: a noisy spike neither
/// triggers it nor postpones it, and a steady crawl of less than `min_improvement` per `window` epochs
/// counts as saturated. An improvement of exactly `min_improvement` is enough to go on. NaN losses are
/// ignored. `None` when the rule never fires, including when there are `window` epochs or fewer and when
/// `window` is 0 (no window, no rule). The capacity runs use `min_improvement` 1e-4 and `window` 100.
pub fn saturated(losses: &[f64], min_improvement: f64, window: usize) -> Option<usize> {
    let mut s = Saturation::new(min_improvement, window);
    losses.iter().position(|&l| s.observe(l))
}

/// The first epoch whose value is >= `threshold` (T_mem from running train accuracy, T_gen from validation
/// accuracy). The earliest such epoch even if `series` is out of order; `None` if none reaches it (NaN
/// never does).
pub fn first_reaching(series: &[(u64, f64)], threshold: f64) -> Option<u64> {
    series
        .iter()
        .filter(|(_, v)| *v >= threshold)
        .map(|&(e, _)| e)
        .min()
}

/// The points of one curve usable on log axes, sorted by P: P and T finite and positive.
fn log_curve(ps: &[f64], ts: &[f64]) -> Vec<(f64, f64)> {
    let mut c: Vec<(f64, f64)> = ps
        .iter()
        .zip(ts)
        .filter(|(p, t)| p.is_finite() && **p > 0.0 && t.is_finite() && **t > 0.0)
        .map(|(&p, &t)| (p, t))
        .collect();
    c.sort_by(|a, b| a.0.total_cmp(&b.0));
    c
}

/// Piecewise-linear interpolation of a sorted curve at x, which must lie within its P range.
fn interpolate(curve: &[(f64, f64)], x: f64) -> f64 {
    let j = curve.partition_point(|&(p, _)| p < x).min(curve.len() - 1);
    let (x1, y1) = curve[j];
    if x1 <= x || j == 0 {
        return y1;
    }
    let (x0, y0) = curve[j - 1];
    y0 + (y1 - y0) * (x - x0) / (x1 - x0)
}

/// Where the T_mem(P) and T_gen(P) curves cross, and how they lie at the sizes where both are measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Crossings {
    /// Each crossing, by increasing P (empty: the curves do not cross between measured sizes).
    pub points: Vec<f64>,
    /// (P, ln T_mem - ln T_gen) at each size where both curves are measured, by increasing P.
    pub gaps: Vec<(f64, f64)>,
}

/// The crossings of the T_mem(P) and T_gen(P) curves (spec section 2's predicted onset P*).
///
/// A crossing is a sign change of ln T_mem - ln T_gen between neighbouring sizes where both curves are
/// measured (a size where they are equal is a crossing itself): a curve that stays below the other has
/// none, wherever the two come closest. Its point is found as the spec says: each curve is
/// interpolated linearly in P through its own points (a P whose T is NaN, or not positive, is skipped
/// for that curve only) and evaluated on `grid` log-spaced points from the larger of the two smallest P
/// to the smaller of the two largest P (endpoints included); of the grid points between the two sizes,
/// the one with the smallest |ln T_mem - ln T_gen| (the smallest P on a tie), or the closer of the two
/// sizes when the grid has no point between them (`grid` 0 or 1). `ps` has one row per model size, as
/// [`mean_over_seeds`] gives; of repeated P the first in sorted order is used.
pub fn crossings(ps: &[f64], t_mem: &[f64], t_gen: &[f64], grid: usize) -> Crossings {
    assert!(
        ps.len() == t_mem.len() && ps.len() == t_gen.len(),
        "P, T_mem and T_gen of different lengths"
    );
    let mem = log_curve(ps, t_mem);
    let gen_curve = log_curve(ps, t_gen);
    let mut gaps: Vec<(f64, f64)> = mem
        .iter()
        .filter_map(|&(p, tm)| {
            let &(_, tg) = gen_curve.iter().find(|q| q.0 == p)?;
            Some((p, tm.ln() - tg.ln()))
        })
        .collect();
    gaps.dedup_by(|b, a| a.0 == b.0);
    if gaps.is_empty() {
        return Crossings::default();
    }
    // the common range of the two curves (it holds every size where both are measured)
    let lo = mem[0].0.max(gen_curve[0].0);
    let hi = mem[mem.len() - 1].0.min(gen_curve[gen_curve.len() - 1].0);
    let (ln_lo, ln_hi) = (lo.ln(), hi.ln());
    let at = |k: usize| {
        // the ends exactly, not exp(ln x) which may round past the curves' last points
        if k == 0 {
            return lo;
        }
        if k + 1 == grid {
            return hi;
        }
        (ln_lo + (ln_hi - ln_lo) * k as f64 / (grid - 1) as f64)
            .exp()
            .clamp(lo, hi)
    };
    let gap = |x: f64| (interpolate(&mem, x).ln() - interpolate(&gen_curve, x).ln()).abs();
    let mut points = vec![];
    for (i, &(p, d)) in gaps.iter().enumerate() {
        if d == 0.0 {
            points.push(p);
            continue;
        }
        let Some(&(q, e)) = gaps.get(i + 1) else {
            break;
        };
        if e == 0.0 || (d < 0.0) == (e < 0.0) {
            continue;
        }
        let nearest = (0..grid)
            .map(at)
            .filter(|&x| p <= x && x <= q)
            .map(|x| (x, gap(x)))
            .fold(None, |best: Option<(f64, f64)>, (x, g)| match best {
                Some((_, bg)) if bg <= g => best,
                _ => Some((x, g)),
            });
        points.push(nearest.map_or(if d.abs() <= e.abs() { p } else { q }, |(x, _)| x));
    }
    Crossings { points, gaps }
}

/// Predicted onset P*: the first crossing of the T_mem(P) and T_gen(P) curves ([`crossings`]); `None`
/// when they do not cross between sizes where both are measured.
pub fn predicted_onset(ps: &[f64], t_mem: &[f64], t_gen: &[f64], grid: usize) -> Option<f64> {
    crossings(ps, t_mem, t_gen, grid).points.first().copied()
}

/// Rows (P, value) grouped by P, in increasing P; rows with a non-finite P are dropped.
pub fn group_by_params(rows: &[(f64, f64)]) -> Vec<(f64, Vec<f64>)> {
    let mut sorted: Vec<(f64, f64)> = rows.iter().copied().filter(|r| r.0.is_finite()).collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<(f64, Vec<f64>)> = vec![];
    for (p, v) in sorted {
        match out.last_mut() {
            Some((last, vs)) if *last == p => vs.push(v),
            _ => out.push((p, vec![v])),
        }
    }
    out
}

/// Observed onset: per P the minimum delay over seeds (NaN delays left out; a P with none left is
/// skipped); the onset is the smallest P after the last P whose minimum delay is 0.
///
/// `None` when no P has zero minimum delay (every size grokked or none memorised: the onset lies at or
/// below the smallest P tried and cannot be located), and when the largest P has zero minimum delay
/// (grokking never set in within the range).
pub fn observed_onset(rows: &[(f64, f64)]) -> Option<f64> {
    let minima: Vec<(f64, f64)> = group_by_params(rows)
        .into_iter()
        .filter_map(|(p, ds)| {
            let m = ds.into_iter().filter(|d| !d.is_nan()).reduce(f64::min)?;
            Some((p, m))
        })
        .collect();
    let last_zero = minima.iter().rposition(|&(_, m)| m == 0.0)?;
    minima.get(last_zero + 1).map(|&(p, _)| p)
}

/// The memorisation-speed model `T_mem = a exp(b f)` and the R^2 of its log-linear fit.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ExpFit {
    pub a: f64,
    pub b: f64,
    /// R^2 of ln T_mem on f (not of T_mem itself).
    pub r2: f64,
    /// The runs the fit leaves out: those that never memorised (no T_mem), or without a finite f.
    pub left_out: LeftOut,
}

/// Runs left out of a fit, and where they lie.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct LeftOut {
    pub count: usize,
    /// Their capacity fractions f, in the order given.
    pub f: Vec<f64>,
}

/// Fits `T_mem = a exp(b f)` by least squares of ln T_mem on the capacity fraction f, over the pairs with
/// f finite and T_mem finite and positive (NaN: never memorised); the others are counted in
/// [`ExpFit::left_out`] with their f. `None` as for [`linear_fit`].
pub fn exp_fit(f: &[f64], t_mem: &[f64]) -> Option<ExpFit> {
    assert_eq!(f.len(), t_mem.len(), "f and T_mem of different lengths");
    // ln of a non-positive T is NaN or -inf, which linear_fit leaves out
    let ln_t: Vec<f64> = t_mem.iter().map(|t| t.ln()).collect();
    let fit = linear_fit(f, &ln_t)?;
    let f_out: Vec<f64> = f
        .iter()
        .zip(&ln_t)
        .filter(|(f, l)| !(f.is_finite() && l.is_finite()))
        .map(|(&f, _)| f)
        .collect();
    Some(ExpFit {
        a: fit.intercept.exp(),
        b: fit.slope,
        r2: fit.r2,
        left_out: LeftOut {
            count: f_out.len(),
            f: f_out,
        },
    })
}

/// Capacity fraction f = S / (C P): the share of the model's capacity the dataset's S bits would fill.
pub fn capacity_fraction(s_bits: f64, c: f64, p_params: f64) -> f64 {
    s_bits / (c * p_params)
}

/// The mean over seeds at one P, and how many seeds were left out of it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SeedMean {
    pub params: f64,
    /// Mean of the seeds that have a value; `None` when none has.
    pub mean: Option<f64>,
    /// Seeds in the mean.
    pub used: usize,
    /// Seeds left out because their value is NaN (the run never reached the threshold).
    pub left_out: usize,
}

/// Per P (increasing), the mean of the values over seeds ignoring NaN, and the count of NaN left out:
/// "runs that never reach it are left out of the mean and shown as such".
pub fn mean_over_seeds(rows: &[(f64, f64)]) -> Vec<SeedMean> {
    group_by_params(rows)
        .into_iter()
        .map(|(params, vs)| {
            let kept: Vec<f64> = vs.iter().copied().filter(|v| !v.is_nan()).collect();
            let mean = (!kept.is_empty()).then(|| kept.iter().sum::<f64>() / kept.len() as f64);
            SeedMean {
                params,
                mean,
                used: kept.len(),
                left_out: vs.len() - kept.len(),
            }
        })
        .collect()
}

/// Per P (increasing), the largest value ignoring NaN: max over n of memorised bits, the capacity
/// points. A P with no value is left out.
pub fn max_by_params(rows: &[(f64, f64)]) -> Vec<(f64, f64)> {
    group_by_params(rows)
        .into_iter()
        .filter_map(|(p, vs)| {
            let m = vs.into_iter().filter(|v| !v.is_nan()).reduce(f64::max)?;
            Some((p, m))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn memorised_bits_at_chance_and_at_certainty() {
        // q = 1/(p+2) everywhere: every term log2(p+2) + log2(1/(p+2)) = 0
        let p = 97;
        let chance = vec![1.0 / 99.0; 50];
        assert!(close(memorised_bits(&chance, p), 0.0, 1e-12));
        // q = 1: every term log2 99, the whole complexity of the 50 labels
        let all = memorised_bits(&[1.0; 50], p);
        assert!(close(all, 50.0 * 99f64.log2(), 1e-9));
        assert!(close(
            all,
            crate::data::random_labels::complexity_bits(50, 97),
            1e-9
        ));
        assert_eq!(memorised_bits(&[], p), 0.0);
    }

    #[test]
    fn memorised_bits_mixed_by_hand() {
        // p = 2: 4 symbols, 2 bits a label. q = 1, 1/2, 1/4, 1/8 gives terms 2, 1, 0, -1 (the last below
        // chance, negative as the definition allows): 2 bits in all
        let q = [1.0, 0.5, 0.25, 0.125];
        assert_eq!(memorised_bits(&q, 2), 2.0);
        // the same from the loss: -sum ln q = ln 2 + ln 4 + ln 8 = 6 ln 2 nats, so 4 * 2 - 6 = 2
        let loss: f64 = q.iter().map(|q: &f64| -q.ln()).sum();
        assert!(close(loss, 6.0 * std::f64::consts::LN_2, 1e-12));
        assert!(close(memorised_bits_from_loss(loss, 4, 2), 2.0, 1e-12));
        // chance loss ln(p+2) per example gives 0; zero loss gives n log2(p+2) = 3 * 2
        assert!(close(
            memorised_bits_from_loss(3.0 * 4f64.ln(), 3, 2),
            0.0,
            1e-12
        ));
        assert_eq!(memorised_bits_from_loss(0.0, 3, 2), 6.0);
        // q = 0 is -infinity, as log2 0 is
        assert_eq!(memorised_bits(&[1.0, 0.0], 2), f64::NEG_INFINITY);
    }

    #[test]
    fn capacity_fit_exact_line() {
        // bits = 2.16 P + 100 exactly: slope 2.16, intercept 100, R^2 1 (up to rounding at P ~ 1e6)
        let pts: Vec<(f64, f64)> = [1e3, 1e4, 5e4, 2e5, 1e6]
            .iter()
            .map(|&p| (p, 2.16 * p + 100.0))
            .collect();
        let fit = capacity_fit(&pts).unwrap();
        assert!(close(fit.slope, 2.16, 1e-12), "{fit:?}");
        assert!(close(fit.intercept, 100.0, 1e-6), "{fit:?}");
        assert!(close(fit.r2, 1.0, 1e-12), "{fit:?}");
        // a horizontal line: slope 0, R^2 1 by the convention for constant y
        let flat = capacity_fit(&[(1.0, 5.0), (2.0, 5.0), (3.0, 5.0)]).unwrap();
        assert_eq!(
            flat,
            LinearFit {
                slope: 0.0,
                intercept: 5.0,
                r2: 1.0
            }
        );
    }

    #[test]
    fn capacity_fit_noisy_by_hand() {
        // points (0,1) (1,3) (2,2) (3,5): mean x 1.5, mean y 2.75; Sxx = 2.25+0.25+0.25+2.25 = 5,
        // Sxy = 2.625-0.125-0.375+3.375 = 5.5, so slope 1.1 and intercept 2.75 - 1.1*1.5 = 1.1;
        // residuals -0.1, 0.8, -1.3, 0.6 give SS_res 2.7; SS_tot = 8.75; R^2 = 1 - 2.7/8.75 = 0.6914286
        let fit = capacity_fit(&[(0.0, 1.0), (1.0, 3.0), (2.0, 2.0), (3.0, 5.0)]).unwrap();
        assert!(close(fit.slope, 1.1, 1e-12), "{fit:?}");
        assert!(close(fit.intercept, 1.1, 1e-12), "{fit:?}");
        assert!(close(fit.r2, 1.0 - 2.7 / 8.75, 1e-12), "{fit:?}");
        // a NaN point is left out: the same answer
        let with_nan = [
            (0.0, 1.0),
            (1.0, 3.0),
            (9.0, f64::NAN),
            (2.0, 2.0),
            (3.0, 5.0),
        ];
        assert_eq!(capacity_fit(&with_nan), Some(fit));
    }

    #[test]
    fn capacity_fit_undetermined() {
        assert_eq!(capacity_fit(&[]), None);
        assert_eq!(capacity_fit(&[(1.0, 2.0)]), None, "one point");
        assert_eq!(capacity_fit(&[(1.0, 2.0), (1.0, 3.0)]), None, "one P");
        assert_eq!(capacity_fit(&[(1.0, 2.0), (f64::NAN, 3.0)]), None);
    }

    #[test]
    fn saturation_after_a_plateau() {
        // loss falls 0.01 an epoch to 0.5 at epoch 50, then stays. With window 10 the best loss 10 epochs
        // ago equals the best now first at i = 60 (best(50) = best(60) = 0.5); at i = 59 best(49) = 0.51
        // is still 0.01 above it
        let losses: Vec<f64> = (0..200).map(|i| 1.0 - 0.01 * (i.min(50) as f64)).collect();
        assert_eq!(saturated(&losses, 1e-4, 10), Some(60));
        // steady descent of 1e-3 an epoch improves 0.01 per window: never saturated
        let falling: Vec<f64> = (0..500).map(|i| 1.0 - 1e-3 * i as f64).collect();
        assert_eq!(saturated(&falling, 1e-4, 10), None);
        // a crawl of 5e-7 an epoch gains 5e-5 < 1e-4 in 100 epochs: saturated as soon as the window is full
        let crawl: Vec<f64> = (0..300).map(|i| 1.0 - 5e-7 * i as f64).collect();
        assert_eq!(saturated(&crawl, 1e-4, 100), Some(100));
    }

    #[test]
    fn saturation_ignores_spikes_and_nan() {
        // flat at 0.5 with an upward spike and a NaN: the best loss never moves, so the rule fires as soon
        // as the window is full, at i = window = 5
        let losses = [0.5, 0.5, 3.0, f64::NAN, 0.5, 0.5, 0.5];
        assert_eq!(saturated(&losses, 1e-4, 5), Some(5));
        // a spike up followed by a fall back to the old level is no improvement either
        let mut s = Saturation::new(1e-4, 2);
        let fired: Vec<bool> = [1.0, 9.0, 1.0, 1.0].iter().map(|&l| s.observe(l)).collect();
        assert_eq!(fired, [false, false, true, true]);
    }

    #[test]
    fn saturation_boundaries() {
        // powers of two, so the differences are exact: a gain of exactly min_improvement (0.25) per window
        // goes on; the first epoch gaining less (0.125) stops
        let losses = [4.0, 3.75, 3.5, 3.375];
        assert_eq!(saturated(&losses, 0.25, 1), Some(3));
        // too short for the window: epochs 0..=window are needed to compare
        assert_eq!(saturated(&[1.0; 10], 1e-4, 10), None);
        assert_eq!(saturated(&[1.0; 11], 1e-4, 10), Some(10));
        assert_eq!(saturated(&[1.0; 10], 1e-4, 0), None, "no window");
        assert_eq!(saturated(&[f64::NAN; 10], 1e-4, 2), None, "no finite loss");
    }

    #[test]
    fn first_reaching_thresholds() {
        let s = [(10, 0.5), (20, 0.99), (30, 1.0)];
        assert_eq!(first_reaching(&s, 0.99), Some(20), "inclusive");
        assert_eq!(first_reaching(&s, 0.995), Some(30));
        assert_eq!(first_reaching(&s, 1.01), None);
        assert_eq!(
            first_reaching(&[(5, f64::NAN)], 0.0),
            None,
            "NaN never reaches"
        );
        assert_eq!(first_reaching(&[(30, 1.0), (20, 1.0)], 0.99), Some(20));
        assert_eq!(first_reaching(&[], 0.5), None);
    }

    #[test]
    fn predicted_onset_exact_crossing() {
        // T_mem = 500 - P and T_gen = P + 100 at P = 100 and 400 (linear, so interpolation is exact); they
        // meet where 500 - P = P + 100, P = 200. A 3-point log grid over [100, 400] is 100, 200, 400
        let ps = [100.0, 400.0];
        let t_mem = [400.0, 100.0];
        let t_gen = [200.0, 500.0];
        let p_star = predicted_onset(&ps, &t_mem, &t_gen, 3).unwrap();
        assert!(close(p_star, 200.0, 1e-9), "{p_star}");
        // on a fine grid the answer is the grid point nearest 200: neighbours differ by a factor
        // 4^(1/1000) ~ 1.0014, so within 0.3 of it
        let p_star = predicted_onset(&ps, &t_mem, &t_gen, 1001).unwrap();
        assert!(close(p_star, 200.0, 0.3), "{p_star}");
        // grid 1 is just the lower end of the range; with no grid point between the sizes (grid 0) the
        // crossing is the size where the curves are closer: at 100 |ln 400 - ln 200| = ln 2, at 400
        // ln 5
        assert_eq!(predicted_onset(&ps, &t_mem, &t_gen, 1), Some(100.0));
        assert_eq!(predicted_onset(&ps, &t_mem, &t_gen, 0), Some(100.0));
    }

    #[test]
    fn predicted_onset_skips_missing_points_per_curve() {
        // the same lines with an extra P = 250 where T_mem is missing (no seed memorised) and T_gen is on
        // its line (350): T_mem still interpolates between 100 and 400, so the crossing stays at 200
        let ps = [100.0, 250.0, 400.0];
        let t_mem = [400.0, f64::NAN, 100.0];
        let t_gen = [200.0, 350.0, 500.0];
        let p_star = predicted_onset(&ps, &t_mem, &t_gen, 3).unwrap();
        assert!(close(p_star, 200.0, 1e-9), "{p_star}");
        // order of the rows does not matter
        let p_star = predicted_onset(&[400.0, 100.0], &[100.0, 400.0], &[500.0, 200.0], 3);
        assert!(close(p_star.unwrap(), 200.0, 1e-9));
    }

    #[test]
    fn predicted_onset_common_range() {
        // T_mem known on [100, 400], T_gen on [200, 800] (missing at 100): common range [200, 400]. Gaps
        // at grid points 200, ~283, 400 are |ln 300 - ln 300| = 0, ... so P* = 200
        let ps = [100.0, 200.0, 400.0, 800.0];
        let t_mem = [400.0, 300.0, 100.0, f64::NAN];
        let t_gen = [f64::NAN, 300.0, 500.0, 900.0];
        assert_eq!(predicted_onset(&ps, &t_mem, &t_gen, 3), Some(200.0));
        // no overlap: T_mem only at small P, T_gen only at large P
        let t_mem = [400.0, 300.0, f64::NAN, f64::NAN];
        let t_gen = [f64::NAN, f64::NAN, 500.0, 900.0];
        assert_eq!(predicted_onset(&ps, &t_mem, &t_gen, 10), None);
        // a curve with no point at all
        assert_eq!(predicted_onset(&ps, &[f64::NAN; 4], &t_gen, 10), None);
    }

    #[test]
    fn no_crossing_gives_no_onset() {
        // T_mem = 10 everywhere, T_gen falls from 1000 to 20: never equal. The gap ln(T_gen / 10) is
        // smallest at the top of the range, P = 1000, which the argmin alone reported as P*
        let ps = [10.0, 100.0, 1000.0];
        let c = crossings(&ps, &[10.0; 3], &[1000.0, 100.0, 20.0], 50);
        assert_eq!(c.points, Vec::<f64>::new());
        let gaps: Vec<f64> = c.gaps.iter().map(|g| g.0).collect();
        assert_eq!(gaps, ps, "all three sizes have both curves");
        assert!(c.gaps.iter().all(|g| g.1 < 0.0), "T_mem below throughout");
        assert_eq!(
            predicted_onset(&ps, &[10.0; 3], &[1000.0, 100.0, 20.0], 50),
            None
        );
        // one size with both: nothing to cross
        let one = crossings(&[5.0, 7.0], &[f64::NAN, 3.0], &[2.0, 9.0], 10);
        assert_eq!((one.points.len(), one.gaps.len()), (0, 1));
    }

    #[test]
    fn the_audit_folder_without_d_20_and_24_has_no_crossing() {
        // the means of assets/sweeps/cpu without its d = 20 and 24 tasks (a helper's audit removed
        // them, /tmp/audit_cap/nocross): T_mem is measured from d = 28 on and is below T_gen at each of
        // 27076 (318 < 692), 35040 (240 < 585) and 77136 (108 < 963). The closest approach's argmin
        // gave 27076, the range's end, as P*
        let n = f64::NAN;
        let ps = [2616.0, 5460.0, 9328.0, 27076.0, 35040.0, 77136.0];
        let t_mem = [n, n, n, 318.0, 240.0, 108.0];
        let t_gen = [n, 1742.0, 1203.0, 692.0, 585.0, 963.0];
        let c = crossings(&ps, &t_mem, &t_gen, 1000);
        assert!(c.points.is_empty(), "{c:?}");
        assert_eq!(c.gaps.len(), 3);
        // with d = 20 (14220: 809 vs 554) and d = 24 (20136: 488 vs 458) back, the sign changes once,
        // between 20136 and 27076, and the grid point there is the bundled sweep's P* = 20635.74 (what
        // `grokscope analyse assets/sweeps/cpu` printed before this change, and recompute.py's argmin)
        let ps = [
            2616.0, 5460.0, 9328.0, 14220.0, 20136.0, 27076.0, 35040.0, 77136.0,
        ];
        let t_mem = [n, n, n, 809.0, 488.0, 318.0, 240.0, 108.0];
        let t_gen = [n, 1742.0, 1203.0, 554.0, 458.0, 692.0, 585.0, 963.0];
        let c = crossings(&ps, &t_mem, &t_gen, 1000);
        assert_eq!(c.points.len(), 1, "{c:?}");
        assert!(close(c.points[0], 20635.736, 0.01), "{c:?}");
    }

    #[test]
    fn several_crossings_are_each_reported() {
        // T_gen = 200 throughout, T_mem zigzags 400, 100, 400, 100 at P = 100, 200, 400, 800: linear in
        // P, T_mem meets 200 at 100 + 100 * 2/3, 200 + 200 * 1/3 and 400 + 400 * 2/3 (by hand). The
        // 1001-point grid over [100, 800] has steps of 8^(1/1000) ~ 0.21 %
        let ps = [100.0, 200.0, 400.0, 800.0];
        let c = crossings(&ps, &[400.0, 100.0, 400.0, 100.0], &[200.0; 4], 1001);
        let want = [
            100.0 + 200.0 / 3.0,
            200.0 + 200.0 / 3.0,
            400.0 + 800.0 / 3.0,
        ];
        assert_eq!(c.points.len(), 3, "{c:?}");
        for (got, want) in c.points.iter().zip(want) {
            assert!(close(*got, want, 0.0021 * want), "{got} vs {want}");
        }
        let first = predicted_onset(&ps, &[400.0, 100.0, 400.0, 100.0], &[200.0; 4], 1001);
        assert_eq!(first, Some(c.points[0]), "P* is the first");
    }

    #[test]
    fn observed_onset_after_the_last_zero() {
        // P = 100 never memorised (NaN), min delays: 200 -> 0, 400 -> 0, 800 -> 10, 1600 -> 50.
        // The last P with zero minimum delay is 400, so the onset is the next P, 800
        let n = f64::NAN;
        let rows = [
            (1600.0, 100.0),
            (100.0, n),
            (200.0, 0.0),
            (200.0, 5.0),
            (400.0, 3.0),
            (400.0, 0.0),
            (800.0, 30.0),
            (800.0, 10.0),
            (1600.0, 50.0),
            (100.0, n),
        ];
        assert_eq!(observed_onset(&rows), Some(800.0));
        // a zero at a larger P after a grokking P: the last zero counts (1600 -> 0, nothing after): None
        let mut late_zero = rows.to_vec();
        late_zero.push((1600.0, 0.0));
        assert_eq!(observed_onset(&late_zero), None);
        // no zero anywhere: the onset lies below the range
        assert_eq!(observed_onset(&[(1.0, 4.0), (2.0, 9.0)]), None);
        assert_eq!(observed_onset(&[]), None);
        // the P after the last zero is the next P that has a value, skipping an all-NaN P
        assert_eq!(
            observed_onset(&[(1.0, 0.0), (2.0, n), (3.0, 7.0)]),
            Some(3.0)
        );
    }

    #[test]
    fn exp_fit_exact_and_noisy() {
        // T = 3 exp(2 f) exactly: a = 3, b = 2, R^2 = 1
        let f = [0.0, 0.5, 1.0, 2.0];
        let t: Vec<f64> = f.iter().map(|&f: &f64| 3.0 * (2.0 * f).exp()).collect();
        let fit = exp_fit(&f, &t).unwrap();
        assert!(
            close(fit.a, 3.0, 1e-9) && close(fit.b, 2.0, 1e-12),
            "{fit:?}"
        );
        assert!(close(fit.r2, 1.0, 1e-12));
        assert_eq!(fit.left_out, LeftOut::default(), "every run memorised");
        // ln T = 1, 3, 2, 5 at f = 0..3 is the hand-worked line of capacity_fit_noisy_by_hand: b = 1.1,
        // ln a = 1.1, R^2 = 1 - 2.7/8.75. Extra rows with T NaN, 0 and f NaN are left out
        let f = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, f64::NAN];
        let t = [
            1f64.exp(),
            3f64.exp(),
            2f64.exp(),
            5f64.exp(),
            f64::NAN,
            0.0,
            9.0,
        ];
        let fit = exp_fit(&f, &t).unwrap();
        assert!(close(fit.b, 1.1, 1e-12), "{fit:?}");
        assert!(close(fit.a, 1.1f64.exp(), 1e-12), "{fit:?}");
        assert!(close(fit.r2, 1.0 - 2.7 / 8.75, 1e-12), "{fit:?}");
        // the three rows left out are counted, with their f (NaN where f is)
        assert_eq!(fit.left_out.count, 3);
        assert_eq!(fit.left_out.f[..2], [4.0, 5.0]);
        assert!(fit.left_out.f[2].is_nan());
        assert_eq!(exp_fit(&[1.0], &[2.0]), None);
    }

    #[test]
    fn capacity_fraction_by_hand() {
        // 1000 bits into a 250-parameter model at 2 bits a parameter: 1000 / 500 = 2 (twice its capacity)
        assert_eq!(capacity_fraction(1000.0, 2.0, 250.0), 2.0);
        assert_eq!(capacity_fraction(0.0, 2.16, 1e4), 0.0);
    }

    #[test]
    fn mean_over_seeds_leaves_out_and_counts_nan() {
        // P = 100: seeds 10, 20, NaN -> mean 15 of 2, 1 left out; P = 50: 4 -> 4; P = 200: all NaN -> none
        let n = f64::NAN;
        let rows = [
            (100.0, 10.0),
            (200.0, n),
            (100.0, n),
            (50.0, 4.0),
            (100.0, 20.0),
            (200.0, n),
        ];
        let want = vec![
            SeedMean {
                params: 50.0,
                mean: Some(4.0),
                used: 1,
                left_out: 0,
            },
            SeedMean {
                params: 100.0,
                mean: Some(15.0),
                used: 2,
                left_out: 1,
            },
            SeedMean {
                params: 200.0,
                mean: None,
                used: 0,
                left_out: 2,
            },
        ];
        assert_eq!(mean_over_seeds(&rows), want);
        assert!(mean_over_seeds(&[]).is_empty());
    }

    #[test]
    fn max_by_params_for_capacity_points() {
        // memorised bits at growing n for two sizes: the maximum per size, NaN ignored, a size with no
        // value dropped
        let rows = [
            (10.0, 5.0),
            (10.0, 9.0),
            (10.0, 7.0),
            (20.0, f64::NAN),
            (20.0, 15.0),
            (30.0, f64::NAN),
        ];
        assert_eq!(max_by_params(&rows), vec![(10.0, 9.0), (20.0, 15.0)]);
    }

    #[test]
    fn results_round_trip_through_json() {
        let fit = LinearFit {
            slope: 2.16,
            intercept: -3.5,
            r2: 0.98,
        };
        let e = ExpFit {
            a: 12.0,
            b: 0.7,
            r2: 0.9,
            left_out: LeftOut {
                count: 1,
                f: vec![0.5],
            },
        };
        let m = SeedMean {
            params: 1e4,
            mean: None,
            used: 0,
            left_out: 3,
        };
        let back: LinearFit = serde_json::from_str(&serde_json::to_string(&fit).unwrap()).unwrap();
        assert_eq!(back, fit);
        let back: ExpFit = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, e);
        let back: SeedMean = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
    }
}
