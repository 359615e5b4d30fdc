//! The Ordering lab's regression tasks (Song 2025): XOR and the sine pairs. Both have 2 inputs, 1 output.

use crate::config::ordering::OrderingTask;

/// A small regression dataset as row-major arrays.
#[derive(Clone, Debug, PartialEq)]
pub struct Regression {
    pub inputs: usize,
    pub outputs: usize,
    /// [n, inputs]
    pub xs: Vec<f64>,
    /// [n, outputs]
    pub ys: Vec<f64>,
}

impl Regression {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.ys.len() / self.outputs.max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.ys.is_empty()
    }

    /// Inputs of example `i`.
    pub fn x(&self, i: usize) -> &[f64] {
        &self.xs[i * self.inputs..(i + 1) * self.inputs]
    }

    /// Targets of example `i`.
    pub fn y(&self, i: usize) -> &[f64] {
        &self.ys[i * self.outputs..(i + 1) * self.outputs]
    }

    /// The examples at these indices, in this order, as ([k, inputs], [k, outputs]) arrays.
    pub fn gather(&self, idx: &[usize], xs: &mut Vec<f64>, ys: &mut Vec<f64>) {
        xs.clear();
        ys.clear();
        for &i in idx {
            xs.extend_from_slice(self.x(i));
            ys.extend_from_slice(self.y(i));
        }
    }

    /// Population variance of the targets (all outputs pooled): the MSE of predicting their mean.
    pub fn target_variance(&self) -> f64 {
        let n = self.ys.len().max(1) as f64;
        let mean = self.ys.iter().sum::<f64>() / n;
        self.ys.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / n
    }
}

/// XOR: the 4 points of {0, 1}^2, target x1 xor x2.
pub fn xor() -> Regression {
    let mut xs = Vec::with_capacity(8);
    let mut ys = Vec::with_capacity(4);
    for a in 0..2u8 {
        for b in 0..2u8 {
            xs.extend([a as f64, b as f64]);
            ys.push((a ^ b) as f64);
        }
    }
    Regression {
        inputs: 2,
        outputs: 1,
        xs,
        ys,
    }
}

/// Sine pairs: x = 0, 0.01, .., 2.99 (300 values) reshaped to 150 consecutive pairs (x1, x2) - the
/// spec's "150 points" - with y = (sin x1 + sin x2) / 2.
pub fn sine() -> Regression {
    // i / 100 rather than repeated addition of 0.01, so every x is the closest double to its decimal
    let values: Vec<f64> = (0..300).map(|i| i as f64 / 100.0).collect();
    let xs = values.clone();
    let ys = values
        .chunks_exact(2)
        .map(|p| (p[0].sin() + p[1].sin()) / 2.0)
        .collect();
    Regression {
        inputs: 2,
        outputs: 1,
        xs,
        ys,
    }
}

/// The dataset of a task.
pub fn task(t: OrderingTask) -> Regression {
    match t {
        OrderingTask::Xor => xor(),
        OrderingTask::Sine => sine(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xor_is_the_truth_table() {
        let d = xor();
        assert_eq!(d.len(), 4);
        assert_eq!(d.xs, [0., 0., 0., 1., 1., 0., 1., 1.]);
        assert_eq!(d.ys, [0., 1., 1., 0.]);
    }

    #[test]
    fn sine_pairs_by_hand() {
        let d = sine();
        // 0, 0.01, .., 2.99 is 300 values: 150 pairs
        assert_eq!((d.len(), d.inputs, d.outputs), (150, 2, 1));
        // first pair (0, 0.01): y = sin(0.01)/2 = 0.0049999167 (Taylor: 0.005 - 0.01^3/12)
        assert_eq!(d.x(0), [0.0, 0.01]);
        assert!((d.y(0)[0] - 0.004_999_916_7).abs() < 1e-10);
        // last pair (2.98, 2.99)
        assert_eq!(d.x(149), [2.98, 2.99]);
        assert!((d.y(149)[0] - (2.98f64.sin() + 2.99f64.sin()) / 2.0).abs() < 1e-15);
    }

    #[test]
    fn sizes_agree_with_the_config() {
        for t in [OrderingTask::Xor, OrderingTask::Sine] {
            assert_eq!(task(t).len(), t.examples(), "{t}");
        }
    }

    #[test]
    fn gather_and_variance() {
        let d = xor();
        let (mut xs, mut ys) = (vec![], vec![]);
        d.gather(&[3, 1], &mut xs, &mut ys);
        assert_eq!(xs, [1., 1., 0., 1.]);
        assert_eq!(ys, [0., 1.]);
        // targets 0, 1, 1, 0: mean 0.5, every squared deviation 0.25
        assert_eq!(d.target_variance(), 0.25);
    }
}
