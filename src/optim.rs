//! AdamW with state we own (plain vectors), so a run can be saved and resumed exactly.
//!
//! Decoupled weight decay as in PyTorch's `AdamW`:
//! p <- p - lr*wd*p; m <- b1 m + (1-b1) g; v <- b2 v + (1-b2) g^2;
//! p <- p - lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).

use serde::{Deserialize, Serialize};

/// The hyper-parameters in force at one step.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamWParams {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl From<&crate::config::OptimConfig> for AdamWParams {
    fn from(o: &crate::config::OptimConfig) -> Self {
        AdamWParams {
            lr: o.lr,
            beta1: o.beta1,
            beta2: o.beta2,
            eps: o.eps,
            weight_decay: o.weight_decay,
        }
    }
}

/// Optimiser state: one (m, v) pair per parameter tensor, and the step count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamW {
    pub params: AdamWParams,
    /// Steps taken (t in the bias corrections).
    pub t: u64,
    pub m: Vec<Vec<f32>>,
    pub v: Vec<Vec<f32>>,
    /// Scalars of the current step, set by `begin_step`.
    #[serde(skip)]
    cur: StepScalars,
}

/// The per-step factors of the update, computed once per step in f64 and rounded to f32.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepScalars {
    /// 1 - lr * weight_decay.
    pub decay: f32,
    /// lr / (1 - beta1^t).
    pub step_size: f32,
    /// 1 / sqrt(1 - beta2^t).
    pub inv_bias2_sqrt: f32,
}

impl AdamW {
    /// State for tensors of these lengths.
    pub fn new(params: AdamWParams, sizes: &[usize]) -> Self {
        AdamW {
            params,
            t: 0,
            m: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            v: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            cur: StepScalars::default(),
        }
    }

    /// Start step t+1 with learning rate `lr` (the schedule's value for this step).
    pub fn begin_step(&mut self, lr: f64) {
        self.t += 1;
        let t = self.t as i32;
        let p = self.params;
        let bias1 = 1.0 - p.beta1.powi(t);
        let bias2 = 1.0 - p.beta2.powi(t);
        self.cur = StepScalars {
            decay: (1.0 - lr * p.weight_decay) as f32,
            step_size: (lr / bias1) as f32,
            inv_bias2_sqrt: (1.0 / bias2.sqrt()) as f32,
        };
    }

    /// The factors of the step begun by the last `begin_step` (for updates done elsewhere, e.g. on a GPU).
    pub fn step_scalars(&self) -> StepScalars {
        self.cur
    }

    /// Update tensor `slot` in place from its gradient. Call after `begin_step`.
    pub fn update(&mut self, slot: usize, param: &mut [f32], grad: &[f32]) {
        assert_eq!(
            param.len(),
            grad.len(),
            "parameter and gradient lengths differ"
        );
        let (b1, b2, eps) = (
            self.params.beta1 as f32,
            self.params.beta2 as f32,
            self.params.eps as f32,
        );
        let s = self.cur;
        let m = &mut self.m[slot];
        let v = &mut self.v[slot];
        assert!(
            m.len() == param.len() && v.len() == param.len(),
            "optimiser state of slot {slot} does not match its parameter"
        );
        // each element on its own: a large tensor is split over this thread's threads, same bits
        let update = |param: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32]| {
            for (((p, &g), m), v) in param.iter_mut().zip(grad).zip(m).zip(v) {
                *m = b1 * *m + (1.0 - b1) * g;
                *v = b2 * *v + (1.0 - b2) * g * g;
                let denom = v.sqrt() * s.inv_bias2_sqrt + eps;
                *p = *p * s.decay - s.step_size * *m / denom;
            }
        };
        match crate::perf::row_blocks(param.len(), 1, 16) {
            None => update(param, grad, m, v),
            Some(k) => {
                use rayon::prelude::*;
                param
                    .par_chunks_mut(k)
                    .zip(grad.par_chunks(k))
                    .zip(m.par_chunks_mut(k))
                    .zip(v.par_chunks_mut(k))
                    .for_each(|(((p, g), m), v)| update(p, g, m, v));
            }
        }
    }
}

/// Learning rate at step `t` (1-based) under linear warm-up over `warmup` steps.
pub fn warmup_lr(base: f64, t: u64, warmup: u64) -> f64 {
    if warmup == 0 || t >= warmup {
        base
    } else {
        base * t as f64 / warmup as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp() -> AdamWParams {
        AdamWParams {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.98,
            eps: 1e-8,
            weight_decay: 0.5,
        }
    }

    #[test]
    fn first_step_by_hand() {
        // t=1: m = 0.1*g, v = 0.02*g^2; mhat = g, vhat = g^2, so the Adam step is lr*g/(|g|+eps) ~ lr*sign(g).
        // p = 2, g = 4: p <- 2*(1 - 0.1*0.5) - 0.1*4/(4+1e-8) = 1.9 - 0.1 = 1.8
        let mut o = AdamW::new(hp(), &[1]);
        let mut p = [2.0f32];
        o.begin_step(0.1);
        o.update(0, &mut p, &[4.0]);
        assert!((p[0] - 1.8).abs() < 1e-6, "{}", p[0]);
        assert!((o.m[0][0] - 0.4).abs() < 1e-7);
        assert!((o.v[0][0] - 0.32).abs() < 1e-6);
    }

    #[test]
    fn second_step_by_hand() {
        // after step 1 (p = 1.8, m = 0.4, v = 0.32), g = -1:
        // m = 0.9*0.4 - 0.1 = 0.26; v = 0.98*0.32 + 0.02 = 0.3336
        // mhat = 0.26/(1-0.81) = 1.368421; vhat = 0.3336/(1-0.9604) = 8.424242, sqrt = 2.902454
        // p = 1.8*0.95 - 0.1*1.368421/2.902454 = 1.71 - 0.0471474 = 1.6628526
        let mut o = AdamW::new(hp(), &[1]);
        let mut p = [2.0f32];
        o.begin_step(0.1);
        o.update(0, &mut p, &[4.0]);
        o.begin_step(0.1);
        o.update(0, &mut p, &[-1.0]);
        assert!((p[0] - 1.662_852_6).abs() < 2e-6, "{}", p[0]);
    }

    #[test]
    fn warmup_is_linear() {
        assert_eq!(warmup_lr(1.0, 5, 10), 0.5);
        assert_eq!(warmup_lr(1.0, 10, 10), 1.0);
        assert_eq!(warmup_lr(1.0, 3, 0), 1.0);
    }
}
