//! The Ordering lab's "complete layer" (Song 2025): one weight matrix connecting every neuron to every
//! neuron and every input, iterated `its` times with tied weights (a recurrent net with constant input).
//!
//! State v in R^(H+O), outputs first, starting from a learned v0 shared by the batch. Each iteration
//! `v <- sigmoid([v, x] W^T)` with W of shape (H+O) x (H+O+I) and no bias; the prediction is v[:O] after
//! the last iteration; the loss is the MSE over batch and outputs. Forward and backward (through time
//! over the iterations) are written by hand in f64; the parameters are stored in f32 for our AdamW and
//! for snapshots. Gradients are checked against finite differences in the tests.

use crate::optim::AdamW;
use crate::rng::Rng;
use rand::Rng as _;
use rand_distr::StandardNormal;

/// Sizes of a complete layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims {
    pub inputs: usize,
    pub hidden: usize,
    pub outputs: usize,
    /// Iterations per forward pass.
    pub its: usize,
}

impl Dims {
    /// Neurons in the state: H + O (the rows of W and the square block's side).
    pub fn neurons(&self) -> usize {
        self.hidden + self.outputs
    }

    /// Columns of W: the neurons, then the inputs.
    pub fn cols(&self) -> usize {
        self.neurons() + self.inputs
    }

    /// Entries of W.
    pub fn weights(&self) -> usize {
        self.neurons() * self.cols()
    }

    /// Trainable parameters: W and v0.
    pub fn param_count(&self) -> u64 {
        (self.weights() + self.neurons()) as u64
    }
}

/// Buffers reused across passes.
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    /// States before and after every iteration: [its + 1, batch, neurons].
    states: Vec<f64>,
    /// Gradient of the loss by the current state: [batch, neurons].
    dv: Vec<f64>,
    /// Gradient by the previous state: [batch, neurons].
    dv_prev: Vec<f64>,
    /// Gradient by the pre-activations: [batch, neurons].
    dz: Vec<f64>,
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Run the iterations for a batch; fills `s.states`. `w` is [neurons, cols], `v0` [neurons],
/// `xs` [batch, inputs].
fn forward(d: Dims, w: &[f64], v0: &[f64], xs: &[f64], s: &mut Scratch) -> usize {
    let (n, c, ni) = (d.neurons(), d.cols(), d.inputs);
    let batch = xs.len() / ni.max(1);
    s.states.clear();
    s.states.resize((d.its + 1) * batch * n, 0.0);
    for b in 0..batch {
        s.states[b * n..(b + 1) * n].copy_from_slice(v0);
    }
    for t in 1..=d.its {
        let (prev, next) = s.states.split_at_mut(t * batch * n);
        let prev = &prev[(t - 1) * batch * n..]; // [batch, n]
        let next = &mut next[..batch * n]; // [batch, n]
        for b in 0..batch {
            let v = &prev[b * n..(b + 1) * n];
            let x = &xs[b * ni..(b + 1) * ni];
            for i in 0..n {
                let row = &w[i * c..(i + 1) * c];
                let z: f64 = row[..n].iter().zip(v).map(|(a, b)| a * b).sum::<f64>()
                    + row[n..].iter().zip(x).map(|(a, b)| a * b).sum::<f64>();
                next[b * n + i] = sigmoid(z);
            }
        }
    }
    batch
}

/// Mean squared error of the batch (over examples and outputs); with `grad`, also overwrites (gW, gv0)
/// with the gradient of that loss. `xs` is [batch, inputs], `ys` [batch, outputs].
pub fn loss_and_grad(
    d: Dims,
    w: &[f64],
    v0: &[f64],
    xs: &[f64],
    ys: &[f64],
    s: &mut Scratch,
    grad: Option<(&mut [f64], &mut [f64])>,
) -> f64 {
    let (n, c, ni, no) = (d.neurons(), d.cols(), d.inputs, d.outputs);
    let batch = forward(d, w, v0, xs, s);
    let last = &s.states[d.its * batch * n..]; // [batch, n]
    let scale = 1.0 / (batch * no).max(1) as f64;
    let mut loss = 0.0;
    for b in 0..batch {
        for k in 0..no {
            let e = last[b * n + k] - ys[b * no + k];
            loss += e * e;
        }
    }
    loss *= scale;
    let Some((gw, gv0)) = grad else {
        return loss;
    };
    gw.fill(0.0);
    gv0.fill(0.0);
    s.dv.clear();
    s.dv.resize(batch * n, 0.0);
    for b in 0..batch {
        for k in 0..no {
            s.dv[b * n + k] = 2.0 * (last[b * n + k] - ys[b * no + k]) * scale;
        }
    }
    s.dz.resize(batch * n, 0.0);
    s.dv_prev.resize(batch * n, 0.0);
    for t in (1..=d.its).rev() {
        let v = &s.states[t * batch * n..(t + 1) * batch * n]; // [batch, n]
        let prev = &s.states[(t - 1) * batch * n..t * batch * n]; // [batch, n]
        for ((dz, dv), v) in s.dz.iter_mut().zip(&s.dv).zip(v) {
            *dz = dv * v * (1.0 - v);
        }
        s.dv_prev.fill(0.0);
        for b in 0..batch {
            let dz = &s.dz[b * n..(b + 1) * n];
            let u_state = &prev[b * n..(b + 1) * n];
            let u_input = &xs[b * ni..(b + 1) * ni];
            let dprev = &mut s.dv_prev[b * n..(b + 1) * n];
            for (i, &g) in dz.iter().enumerate() {
                let row = &w[i * c..(i + 1) * c];
                let grow = &mut gw[i * c..(i + 1) * c];
                for j in 0..n {
                    grow[j] += g * u_state[j];
                    dprev[j] += g * row[j];
                }
                for k in 0..ni {
                    grow[n + k] += g * u_input[k];
                }
            }
        }
        std::mem::swap(&mut s.dv, &mut s.dv_prev);
    }
    // v0 is shared by the batch: its gradient sums over examples
    for b in 0..batch {
        for (g, dv) in gv0.iter_mut().zip(&s.dv[b * n..(b + 1) * n]) {
            *g += dv;
        }
    }
    loss
}

/// A complete layer with its parameters and the gradients of the last backward pass.
#[derive(Clone, Debug)]
pub struct CompleteLayer {
    pub dims: Dims,
    /// Row-major [neurons, cols]: rows are receivers (outputs, then hidden), columns senders (the same
    /// neurons, then the inputs).
    pub w: Vec<f32>,
    /// Initial state [neurons].
    pub v0: Vec<f32>,
    w64: Vec<f64>,
    v064: Vec<f64>,
    gw: Vec<f64>,
    gv0: Vec<f64>,
    gw32: Vec<f32>,
    gv032: Vec<f32>,
    scratch: Scratch,
}

impl CompleteLayer {
    /// W then v0, each entry from N(0, 1) drawn from `rng` (the Init stream).
    pub fn new(dims: Dims, rng: &mut Rng) -> Self {
        let w: Vec<f32> = (0..dims.weights())
            .map(|_| rng.sample::<f64, _>(StandardNormal) as f32)
            .collect();
        let v0: Vec<f32> = (0..dims.neurons())
            .map(|_| rng.sample::<f64, _>(StandardNormal) as f32)
            .collect();
        CompleteLayer {
            dims,
            gw: vec![0.0; w.len()],
            gv0: vec![0.0; v0.len()],
            gw32: vec![0.0; w.len()],
            gv032: vec![0.0; v0.len()],
            w64: vec![],
            v064: vec![],
            w,
            v0,
            scratch: Scratch::default(),
        }
    }

    /// Lengths of the optimiser's slots: W, v0.
    pub fn param_sizes(&self) -> [usize; 2] {
        [self.w.len(), self.v0.len()]
    }

    fn widen(&mut self) {
        self.w64.clear();
        self.w64.extend(self.w.iter().map(|&v| v as f64));
        self.v064.clear();
        self.v064.extend(self.v0.iter().map(|&v| v as f64));
    }

    /// MSE of a batch (`xs` [batch, inputs], `ys` [batch, outputs]) without gradients.
    pub fn loss(&mut self, xs: &[f64], ys: &[f64]) -> f64 {
        self.pass(xs, ys, false)
    }

    /// MSE of a batch; keeps its gradients for [`apply`](Self::apply).
    pub fn forward_backward(&mut self, xs: &[f64], ys: &[f64]) -> f64 {
        self.pass(xs, ys, true)
    }

    fn pass(&mut self, xs: &[f64], ys: &[f64], grad: bool) -> f64 {
        self.widen();
        let grads = grad.then_some((&mut self.gw[..], &mut self.gv0[..]));
        loss_and_grad(
            self.dims,
            &self.w64,
            &self.v064,
            xs,
            ys,
            &mut self.scratch,
            grads,
        )
    }

    /// Predictions [batch, outputs] for `xs` [batch, inputs].
    pub fn predict(&mut self, xs: &[f64]) -> Vec<f64> {
        self.widen();
        let d = self.dims;
        let batch = forward(d, &self.w64, &self.v064, xs, &mut self.scratch);
        let n = d.neurons();
        let last = &self.scratch.states[d.its * batch * n..];
        last.chunks_exact(n)
            .flat_map(|v| v[..d.outputs].iter().copied())
            .collect()
    }

    /// One optimiser update (after `opt.begin_step`) with the gradients of the last backward pass.
    pub fn apply(&mut self, opt: &mut AdamW) {
        for (g, &v) in self.gw32.iter_mut().zip(&self.gw) {
            *g = v as f32;
        }
        for (g, &v) in self.gv032.iter_mut().zip(&self.gv0) {
            *g = v as f32;
        }
        opt.update(0, &mut self.w, &self.gw32);
        opt.update(1, &mut self.v0, &self.gv032);
    }

    /// |W| of the square (neuron to neuron) block, row-major [neurons, neurons].
    pub fn square_block_abs(&self) -> Vec<f64> {
        let (n, c) = (self.dims.neurons(), self.dims.cols());
        self.w
            .chunks_exact(c)
            .flat_map(|row| row[..n].iter().map(|v| (*v as f64).abs()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{self, Stream};

    fn dims(its: usize) -> Dims {
        Dims {
            inputs: 2,
            hidden: 3,
            outputs: 2,
            its,
        }
    }

    #[test]
    fn sizes() {
        // H = 3, O = 2, I = 2: W is 5 x 7 = 35, v0 5
        let d = dims(3);
        assert_eq!((d.neurons(), d.cols(), d.weights()), (5, 7, 35));
        assert_eq!(d.param_count(), 40);
    }

    /// Central finite differences (f64, h = 1e-5) against the analytic gradient, for 1 and 4 iterations.
    #[test]
    fn gradients_match_finite_differences() {
        let xs = [0.3, -1.0, 1.2, 0.5, 0.0, 0.7];
        let ys = [0.1, 0.9, 0.6, 0.2, 0.4, 0.5];
        for its in [1, 4] {
            let d = dims(its);
            let l = CompleteLayer::new(d, &mut rng::stream(5, Stream::Init));
            let w: Vec<f64> = l.w.iter().map(|&v| v as f64).collect();
            let v0: Vec<f64> = l.v0.iter().map(|&v| v as f64).collect();
            let mut s = Scratch::default();
            let (mut gw, mut gv0) = (vec![0.0; w.len()], vec![0.0; v0.len()]);
            loss_and_grad(d, &w, &v0, &xs, &ys, &mut s, Some((&mut gw, &mut gv0)));
            let h = 1e-5;
            let nw = w.len();
            for i in 0..nw + v0.len() {
                let (mut wp, mut wm, mut vp, mut vm) =
                    (w.clone(), w.clone(), v0.clone(), v0.clone());
                let analytic = if i < nw {
                    wp[i] += h;
                    wm[i] -= h;
                    gw[i]
                } else {
                    vp[i - nw] += h;
                    vm[i - nw] -= h;
                    gv0[i - nw]
                };
                let up = loss_and_grad(d, &wp, &vp, &xs, &ys, &mut s, None);
                let down = loss_and_grad(d, &wm, &vm, &xs, &ys, &mut s, None);
                let fd = (up - down) / (2.0 * h);
                assert!(
                    (fd - analytic).abs() < 1e-8 + 1e-5 * analytic.abs(),
                    "its {its} parameter {i}: fd {fd} vs analytic {analytic}"
                );
            }
            assert!(gw.iter().any(|g| g.abs() > 1e-4), "a non-trivial gradient");
        }
    }

    #[test]
    fn one_iteration_by_hand() {
        // I = 1, H = 0, O = 1, its = 1: v1 = sigmoid(w0 v0 + w1 x). With w = (0, 0) every output is
        // sigmoid(0) = 0.5, so the MSE against targets 0 and 1 is 0.25.
        let d = Dims {
            inputs: 1,
            hidden: 0,
            outputs: 1,
            its: 1,
        };
        let mut l = CompleteLayer::new(d, &mut rng::stream(0, Stream::Init));
        l.w = vec![0.0, 0.0];
        assert_eq!(l.predict(&[3.0, -2.0]), [0.5, 0.5]);
        assert_eq!(l.loss(&[3.0, -2.0], &[0.0, 1.0]), 0.25);
        // w = (0, 1), x = ln 3: sigmoid(ln 3) = 3/4
        l.w = vec![0.0, 1.0];
        let p = l.predict(&[3f64.ln()]);
        assert!((p[0] - 0.75).abs() < 1e-7, "{p:?}");
    }

    #[test]
    fn square_block_is_the_state_columns() {
        let d = Dims {
            inputs: 1,
            hidden: 1,
            outputs: 1,
            its: 1,
        };
        let mut l = CompleteLayer::new(d, &mut rng::stream(0, Stream::Init));
        l.w = vec![1.0, -2.0, 9.0, -3.0, 4.0, 9.0];
        assert_eq!(l.square_block_abs(), [1.0, 2.0, 3.0, 4.0]);
    }
}
