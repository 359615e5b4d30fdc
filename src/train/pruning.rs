//! Pruning of the complete layer's W, applied after every optimiser step (Song 2025; spec section 3).
//!
//! Random(p) zeroes a fixed mask; Top-K(k) keeps the floor(k * numel) largest |w|, reselected every
//! step; Triu-damp(f) multiplies the strictly lower-triangular entries (row > column in raw index order,
//! over the whole rectangular W) by (1 - f). The dynamic variants ramp their strength with training
//! progress x in [0, 1) as sin^4(pi x / 2).

use crate::config::ordering::Pruning;
use crate::rng::Rng;
use rand::Rng as _;

/// sin^4(pi x / 2): 0 at x = 0, 1/4 at x = 1/2, 1 at x = 1.
pub fn ramp(x: f64) -> f64 {
    (std::f64::consts::FRAC_PI_2 * x).sin().powi(4)
}

/// Dynamic Top-K's kept fraction at progress x: k'(x) = 1 - (1 - k) sin^4(pi x / 2).
pub fn dynamic_keep(k: f64, x: f64) -> f64 {
    1.0 - (1.0 - k) * ramp(x)
}

/// Dynamic Triu-damp's damping at progress x: f'(x) = f sin^4(pi x / 2).
pub fn dynamic_damp(f: f64, x: f64) -> f64 {
    f * ramp(x)
}

/// Fraction of entries that are exactly zero.
pub fn sparsity(w: &[f32]) -> f64 {
    w.iter().filter(|v| **v == 0.0).count() as f64 / w.len().max(1) as f64
}

/// Applies one pruning scheme to a rows x cols matrix and remembers which entries it acted on.
#[derive(Clone, Debug)]
pub struct Pruner {
    pruning: Pruning,
    rows: usize,
    cols: usize,
    /// Random's fixed mask (true = zeroed), drawn once.
    mask: Vec<bool>,
    /// Entries the last application zeroed.
    pruned: Vec<bool>,
    /// Top-K's index buffer.
    order: Vec<usize>,
}

impl Pruner {
    /// A pruner for a rows x cols W; Random draws its mask from `rng` (the Pruning stream) here.
    pub fn new(pruning: Pruning, rows: usize, cols: usize, rng: &mut Rng) -> Self {
        let n = rows * cols;
        let mask = match pruning {
            Pruning::Random { p } => (0..n).map(|_| rng.random::<f64>() < p).collect(),
            Pruning::None
            | Pruning::TopK { .. }
            | Pruning::DynamicTopK { .. }
            | Pruning::TriuDamp { .. }
            | Pruning::DynamicTriuDamp { .. } => vec![],
        };
        Pruner {
            pruning,
            rows,
            cols,
            mask,
            pruned: vec![false; n],
            order: vec![],
        }
    }

    /// Which entries the last [`apply`](Self::apply) zeroed: Random's and Top-K's, and Triu-damp's only
    /// at a damping of 1. A damped weight keeps a value (D and the views count it), so it is not
    /// pruned; all false before the first.
    pub fn pruned(&self) -> &[bool] {
        &self.pruned
    }

    /// Prune `w` (row-major rows x cols) at training progress `x` in [0, 1).
    pub fn apply(&mut self, w: &mut [f32], x: f64) {
        debug_assert_eq!(w.len(), self.rows * self.cols);
        match self.pruning {
            Pruning::None => {}
            Pruning::Random { .. } => {
                for ((v, &m), p) in w.iter_mut().zip(&self.mask).zip(&mut self.pruned) {
                    if m {
                        *v = 0.0;
                    }
                    *p = m;
                }
            }
            Pruning::TopK { k } => self.top_k(w, k),
            Pruning::DynamicTopK { k } => self.top_k(w, dynamic_keep(k, x)),
            Pruning::TriuDamp { f } => self.damp(w, f),
            Pruning::DynamicTriuDamp { f } => self.damp(w, dynamic_damp(f, x)),
        }
    }

    /// Keep the floor(k * numel) largest |w|; ties go to the lower index so the choice is deterministic.
    fn top_k(&mut self, w: &mut [f32], k: f64) {
        let n = w.len();
        // a hair of tolerance so that e.g. k = 0.7 of 100 keeps 70 although 0.7 * 100 = 69.999..
        let keep = ((k * n as f64 + 1e-9).floor() as usize).min(n);
        self.order.clear();
        self.order.extend(0..n);
        if keep < n {
            let key = |i: &usize| (std::cmp::Reverse(w[*i].abs().to_bits()), *i);
            // |w| as bits orders like the value for non-negative floats (NaN aside, which fails the run)
            self.order.select_nth_unstable_by_key(keep, key);
        }
        self.pruned.fill(false);
        for &i in &self.order[keep..] {
            w[i] = 0.0;
            self.pruned[i] = true;
        }
    }

    /// Multiply the strictly lower-triangular entries (row > column) by (1 - f).
    fn damp(&mut self, w: &mut [f32], f: f64) {
        let scale = (1.0 - f) as f32;
        for r in 0..self.rows {
            for c in 0..self.cols {
                let i = r * self.cols + c;
                let lower = r > c;
                if lower {
                    w[i] *= scale;
                }
                // only a weight held at zero is pruned: at f < 1 a damped one still carries its
                // value, which D counts (a helper's audit: marked pruned, the views and the
                // exported heatmap dropped the 36 damped weights of a run whose D counted them)
                self.pruned[i] = lower && scale == 0.0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{self, Stream};

    fn pruner(p: Pruning, rows: usize, cols: usize) -> Pruner {
        Pruner::new(p, rows, cols, &mut rng::stream(1, Stream::Pruning))
    }

    #[test]
    fn schedules_by_hand() {
        // sin^4(0) = 0; sin^4(pi/4) = (1/sqrt 2)^4 = 1/4; sin^4(pi/2) = 1
        assert_eq!(ramp(0.0), 0.0);
        assert!((ramp(0.5) - 0.25).abs() < 1e-15);
        assert!((ramp(1.0) - 1.0).abs() < 1e-15);
        // k = 0.2: k'(0) = 1, k'(0.5) = 1 - 0.8/4 = 0.8, k'(x -> 1) -> 0.2
        assert_eq!(dynamic_keep(0.2, 0.0), 1.0);
        assert!((dynamic_keep(0.2, 0.5) - 0.8).abs() < 1e-15);
        assert!((dynamic_keep(0.2, 0.999) - 0.2).abs() < 1e-5);
        // f = 0.6: f'(0) = 0, f'(0.5) = 0.15, f'(x -> 1) -> 0.6
        assert_eq!(dynamic_damp(0.6, 0.0), 0.0);
        assert!((dynamic_damp(0.6, 0.5) - 0.15).abs() < 1e-15);
        assert!((dynamic_damp(0.6, 0.999) - 0.6).abs() < 1e-5);
    }

    #[test]
    fn random_mask_is_fixed_and_near_p() {
        // 100 x 100 entries with p = 0.3: the zeroed fraction is 0.3 within 4.5 standard deviations
        // (sd = sqrt(0.3 * 0.7 / 10^4) = 0.0046)
        let mut pr = pruner(Pruning::Random { p: 0.3 }, 100, 100);
        let mut w = vec![1.0f32; 10_000];
        pr.apply(&mut w, 0.0);
        let s = sparsity(&w);
        assert!((s - 0.3).abs() < 0.021, "{s}");
        let first = pr.pruned().to_vec();
        assert_eq!(first.iter().filter(|p| **p).count() as f64 / 1e4, s);
        // the mask does not change from step to step, and zeroed entries stay zero after updates
        w.iter_mut().for_each(|v| *v += 1.0);
        pr.apply(&mut w, 0.9);
        assert_eq!(pr.pruned(), &first[..]);
        assert_eq!(sparsity(&w), s);
        // p = 0 prunes nothing, p = 1 everything
        let mut w = vec![1.0f32; 50];
        pruner(Pruning::Random { p: 0.0 }, 5, 10).apply(&mut w, 0.0);
        assert_eq!(sparsity(&w), 0.0);
        pruner(Pruning::Random { p: 1.0 }, 5, 10).apply(&mut w, 0.0);
        assert_eq!(sparsity(&w), 1.0);
    }

    #[test]
    fn top_k_keeps_the_largest_magnitudes() {
        // 2 x 5 = 10 entries, k = 0.3: keep floor(3) = 3 largest |w|: -9, 8, 7 (indices 1, 4, 8)
        let mut w = vec![1.0f32, -9.0, 2.0, 0.5, 8.0, -3.0, 0.1, 4.0, 7.0, -6.0];
        let mut pr = pruner(Pruning::TopK { k: 0.3 }, 2, 5);
        pr.apply(&mut w, 0.0);
        assert_eq!(w, [0.0, -9.0, 0.0, 0.0, 8.0, 0.0, 0.0, 0.0, 7.0, 0.0]);
        assert_eq!(sparsity(&w), 0.7);
        let kept: Vec<usize> = (0..10).filter(|&i| !pr.pruned()[i]).collect();
        assert_eq!(kept, [1, 4, 8]);
        // ties: four equal magnitudes, keep floor(0.5 * 4) = 2: the lower indices win
        let mut w = vec![-1.0f32, 1.0, 1.0, -1.0];
        pruner(Pruning::TopK { k: 0.5 }, 2, 2).apply(&mut w, 0.0);
        assert_eq!(w, [-1.0, 1.0, 0.0, 0.0]);
        // k = 0.7 of 10 keeps 7 (0.7 * 10 is 6.999.. in floating point)
        let mut w: Vec<f32> = (1..=10).map(|v| v as f32).collect();
        pruner(Pruning::TopK { k: 0.7 }, 2, 5).apply(&mut w, 0.0);
        assert_eq!(sparsity(&w), 0.3);
    }

    #[test]
    fn dynamic_top_k_follows_the_schedule() {
        // 10 x 10, k = 0.2: at x = 0.5 keep floor(0.8 * 100) = 80; near the end floor(0.20000004 * 100) = 20
        let w0: Vec<f32> = (0..100).map(|v| (v + 1) as f32).collect();
        let mut pr = pruner(Pruning::DynamicTopK { k: 0.2 }, 10, 10);
        let mut w = w0.clone();
        pr.apply(&mut w, 0.0);
        assert_eq!(sparsity(&w), 0.0);
        let mut w = w0.clone();
        pr.apply(&mut w, 0.5);
        assert!((sparsity(&w) - 0.2).abs() < 1e-12);
        let mut w = w0.clone();
        pr.apply(&mut w, 0.9999);
        assert!((sparsity(&w) - 0.8).abs() < 1e-12, "{}", sparsity(&w));
    }

    #[test]
    fn triu_damp_scales_the_strict_lower_triangle() {
        // 2 x 3: strictly lower entries are (1, 0) only; f = 0.25 multiplies it by 0.75
        let mut w = vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut pr = pruner(Pruning::TriuDamp { f: 0.25 }, 2, 3);
        pr.apply(&mut w, 0.0);
        assert_eq!(w, [1.0, 2.0, 3.0, 3.0, 5.0, 6.0]);
        // damped, not zeroed: the weight 3 is still there, so nothing is pruned
        assert_eq!(pr.pruned(), [false; 6]);
        // f = 1 on 3 x 4 zeroes the 3 entries below the diagonal: sparsity 3/12, and they are pruned
        let mut w = vec![1.0f32; 12];
        let mut pr = pruner(Pruning::TriuDamp { f: 1.0 }, 3, 4);
        pr.apply(&mut w, 0.0);
        assert_eq!(w, [1., 1., 1., 1., 0., 1., 1., 1., 0., 0., 1., 1.]);
        assert_eq!(sparsity(&w), 0.25);
        let zeroed: Vec<bool> = w.iter().map(|&v| v == 0.0).collect();
        assert_eq!(pr.pruned(), &zeroed[..]);
        // dynamic f = 1 at x = 0.5 damps by 1/4: 1 -> 0.75; at x = 0 nothing is marked pruned
        let mut w = vec![1.0f32; 4];
        let mut pr = pruner(Pruning::DynamicTriuDamp { f: 1.0 }, 2, 2);
        pr.apply(&mut w, 0.0);
        assert_eq!(pr.pruned(), [false; 4]);
        pr.apply(&mut w, 0.5);
        assert_eq!(w, [1.0, 1.0, 0.75, 1.0]);
        assert_eq!(pr.pruned(), [false; 4]);
    }

    #[test]
    fn none_leaves_w_alone() {
        let mut w = vec![0.5f32, -1.0];
        let mut pr = pruner(Pruning::None, 1, 2);
        pr.apply(&mut w, 0.3);
        assert_eq!(w, [0.5, -1.0]);
        assert_eq!(pr.pruned(), [false, false]);
    }
}
