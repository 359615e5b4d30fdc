//! The cheap teaching model: shared embeddings of a and b, one hidden layer, linear read-out to p classes.
//!
//! Forward and backward are written by hand on `gemm` (see `linalg`): at these sizes that is about twice
//! as fast as candle's best (stack.md). Gradients are checked against finite differences in the tests.

use super::linalg::matmul;
use super::{BatchStats, Model, ModelError};
use crate::config::{Activation, Combine, MlpConfig};
use crate::rng::Rng;
use crate::train::optim::AdamW;
use rand::Rng as _;
use rand_distr::{Distribution, StandardNormal};

/// Parameters, gradients and reusable activation buffers.
pub struct Mlp {
    p: usize,
    e: usize,
    h: usize,
    /// Width of the hidden layer's input: 2e (concat) or e (sum).
    inp: usize,
    act: Activation,
    combine: Combine,
    /// [embed, w1, b1, w2, b2] with shapes [p,e], [inp,h], [h], [h,p], [p].
    params: [Vec<f32>; 5],
    grads: [Vec<f32>; 5],
    buf: Buffers,
}

#[derive(Default)]
struct Buffers {
    x: Vec<f32>,  // [n, inp]
    z: Vec<f32>,  // [n, h] pre-activation
    hh: Vec<f32>, // [n, h] activation
    l: Vec<f32>,  // [n, p] logits, then dL
    dh: Vec<f32>, // [n, h]
    dx: Vec<f32>, // [n, inp]
}

const NAMES: [&str; 5] = ["embed", "w1", "b1", "w2", "b2"];
/// Rows per forward pass in `evaluate`, to bound memory.
const EVAL_CHUNK: usize = 8192;

fn resize(v: &mut Vec<f32>, n: usize) {
    v.resize(n, 0.0);
}

impl Mlp {
    /// PyTorch's default initialisation: embedding N(0,1), linear weights and biases U(±1/sqrt(fan_in)),
    /// drawn in the order embed, w1, b1, w2, b2; then every parameter times `init_scale`.
    pub fn new(cfg: &MlpConfig, p: u32, rng: &mut Rng) -> Self {
        let (p, e, h) = (p as usize, cfg.embed_dim, cfg.hidden);
        let inp = match cfg.combine {
            Combine::Concat => 2 * e,
            Combine::Sum => e,
        };
        let normal = |n: usize, rng: &mut Rng| -> Vec<f32> {
            (0..n).map(|_| StandardNormal.sample(rng)).collect()
        };
        let uniform = |n: usize, fan_in: usize, rng: &mut Rng| -> Vec<f32> {
            let b = 1.0 / (fan_in as f32).sqrt();
            (0..n).map(|_| rng.random_range(-b..b)).collect()
        };
        let embed = normal(p * e, rng);
        let w1 = uniform(inp * h, inp, rng);
        let b1 = uniform(h, inp, rng);
        let w2 = uniform(h * p, h, rng);
        let b2 = uniform(p, h, rng);
        let mut params = [embed, w1, b1, w2, b2];
        let s = cfg.init_scale as f32;
        if s != 1.0 {
            params.iter_mut().flatten().for_each(|w| *w *= s);
        }
        let grads = params.clone().map(|v| vec![0.0; v.len()]);
        Mlp {
            p,
            e,
            h,
            inp,
            act: cfg.activation,
            combine: cfg.combine,
            params,
            grads,
            buf: Buffers::default(),
        }
    }

    /// Logits for `xs` into `buf.l` ([n, p]); keeps x, z and h for the backward pass.
    fn forward(&mut self, xs: &[[u32; 2]]) {
        let (n, e, h, p, inp) = (xs.len(), self.e, self.h, self.p, self.inp);
        let b = &mut self.buf;
        resize(&mut b.x, n * inp);
        resize(&mut b.z, n * h);
        resize(&mut b.hh, n * h);
        resize(&mut b.l, n * p);
        let emb = &self.params[0];
        for (i, x) in xs.iter().enumerate() {
            let ea = &emb[x[0] as usize * e..][..e];
            let eb = &emb[x[1] as usize * e..][..e];
            let row = &mut b.x[i * inp..][..inp];
            match self.combine {
                Combine::Concat => {
                    row[..e].copy_from_slice(ea);
                    row[e..].copy_from_slice(eb);
                }
                Combine::Sum => {
                    for j in 0..e {
                        row[j] = ea[j] + eb[j];
                    }
                }
            }
        }
        // z = x W1 + b1   [n, h]
        matmul(
            &mut b.z,
            &b.x,
            &self.params[1],
            n,
            inp,
            h,
            false,
            false,
            false,
        );
        let b1 = &self.params[2];
        for (zr, hr) in b.z.chunks_exact_mut(h).zip(b.hh.chunks_exact_mut(h)) {
            for j in 0..h {
                zr[j] += b1[j];
                hr[j] = match self.act {
                    Activation::Relu => zr[j].max(0.0),
                    Activation::Square => zr[j] * zr[j],
                };
            }
        }
        // logits = h W2 + b2   [n, p]
        matmul(
            &mut b.l,
            &b.hh,
            &self.params[3],
            n,
            h,
            p,
            false,
            false,
            false,
        );
        let b2 = &self.params[4];
        for lr in b.l.chunks_exact_mut(p) {
            for (l, bias) in lr.iter_mut().zip(b2) {
                *l += bias;
            }
        }
    }

    /// Cross-entropy and accuracy of the logits in `buf.l`; with `grad`, replaces them by dLoss/dlogits
    /// of the mean loss.
    fn loss(&mut self, ys: &[u32], grad: bool) -> BatchStats {
        let (n, p) = (ys.len(), self.p);
        let mut st = BatchStats {
            count: n,
            ..Default::default()
        };
        let inv_n = 1.0 / n.max(1) as f32;
        for (row, &y) in self.buf.l.chunks_exact_mut(p).zip(ys) {
            let y = y as usize;
            let (mut arg, mut max) = (0, f32::NEG_INFINITY);
            for (j, &v) in row.iter().enumerate() {
                if v > max {
                    max = v;
                    arg = j;
                }
            }
            let mut sum = 0.0f32;
            for v in row.iter() {
                sum += (v - max).exp();
            }
            let lse = max + sum.ln();
            st.loss_sum += (lse - row[y]) as f64;
            st.correct += usize::from(arg == y);
            if grad {
                let inv = 1.0 / sum;
                for v in row.iter_mut() {
                    *v = (*v - max).exp() * inv * inv_n;
                }
                row[y] -= inv_n;
            }
        }
        st
    }

    /// Gradients of the mean loss given dL in `buf.l`.
    fn backward(&mut self, xs: &[[u32; 2]]) {
        let (n, e, h, p, inp) = (xs.len(), self.e, self.h, self.p, self.inp);
        let b = &mut self.buf;
        let g = &mut self.grads;
        resize(&mut b.dh, n * h);
        resize(&mut b.dx, n * inp);
        // dW2 = h^T dL [h, p]; db2 = column sums of dL
        matmul(&mut g[3], &b.hh, &b.l, h, n, p, true, false, false);
        g[4].fill(0.0);
        for lr in b.l.chunks_exact(p) {
            for (acc, v) in g[4].iter_mut().zip(lr) {
                *acc += v;
            }
        }
        // dh = dL W2^T [n, h], then through the activation
        matmul(
            &mut b.dh,
            &b.l,
            &self.params[3],
            n,
            p,
            h,
            false,
            true,
            false,
        );
        for (dr, zr) in b.dh.chunks_exact_mut(h).zip(b.z.chunks_exact(h)) {
            for j in 0..h {
                dr[j] *= match self.act {
                    Activation::Relu => {
                        if zr[j] > 0.0 {
                            1.0
                        } else {
                            0.0
                        }
                    }
                    Activation::Square => 2.0 * zr[j],
                };
            }
        }
        // dW1 = x^T dz [inp, h]; db1 = column sums of dz; dx = dz W1^T [n, inp]
        matmul(&mut g[1], &b.x, &b.dh, inp, n, h, true, false, false);
        g[2].fill(0.0);
        for dr in b.dh.chunks_exact(h) {
            for (acc, v) in g[2].iter_mut().zip(dr) {
                *acc += v;
            }
        }
        matmul(
            &mut b.dx,
            &b.dh,
            &self.params[1],
            n,
            h,
            inp,
            false,
            true,
            false,
        );
        // scatter dx into the embedding rows of a and b
        let ge = &mut g[0];
        ge.fill(0.0);
        for (i, x) in xs.iter().enumerate() {
            let row = &b.dx[i * inp..][..inp];
            let (da, db) = match self.combine {
                Combine::Concat => (&row[..e], &row[e..]),
                Combine::Sum => (row, row),
            };
            for (acc, v) in ge[x[0] as usize * e..][..e].iter_mut().zip(da) {
                *acc += v;
            }
            for (acc, v) in ge[x[1] as usize * e..][..e].iter_mut().zip(db) {
                *acc += v;
            }
        }
    }
}

impl Model for Mlp {
    fn param_count(&self) -> u64 {
        self.params.iter().map(|v| v.len() as u64).sum()
    }

    fn param_sizes(&self) -> Vec<usize> {
        self.params.iter().map(Vec::len).collect()
    }

    fn forward_backward(
        &mut self,
        xs: &[[u32; 2]],
        ys: &[u32],
        _rng: &mut Rng,
    ) -> Result<BatchStats, ModelError> {
        check(xs, ys, self.p)?;
        self.forward(xs);
        let st = self.loss(ys, true);
        self.backward(xs);
        Ok(st)
    }

    fn evaluate(&mut self, xs: &[[u32; 2]], ys: &[u32]) -> Result<BatchStats, ModelError> {
        check(xs, ys, self.p)?;
        let mut total = BatchStats::default();
        for (cx, cy) in xs.chunks(EVAL_CHUNK).zip(ys.chunks(EVAL_CHUNK)) {
            self.forward(cx);
            total.add(self.loss(cy, false));
        }
        Ok(total)
    }

    fn apply(&mut self, opt: &mut AdamW) -> Result<(), ModelError> {
        for (slot, (w, g)) in self.params.iter_mut().zip(&self.grads).enumerate() {
            opt.update(slot, w, g);
        }
        Ok(())
    }

    fn weight_norm_sq(&self) -> Result<f64, ModelError> {
        Ok(self
            .params
            .iter()
            .flatten()
            .map(|&w| (w as f64) * (w as f64))
            .sum())
    }

    fn export(&self) -> Result<Vec<(String, Vec<usize>, Vec<f32>)>, ModelError> {
        let shapes = [
            vec![self.p, self.e],
            vec![self.inp, self.h],
            vec![self.h],
            vec![self.h, self.p],
            vec![self.p],
        ];
        Ok(NAMES
            .iter()
            .zip(shapes)
            .zip(&self.params)
            .map(|((n, s), v)| (n.to_string(), s, v.clone()))
            .collect())
    }
}

/// Inputs and targets agree in length and lie in [0, p).
fn check(xs: &[[u32; 2]], ys: &[u32], p: usize) -> Result<(), ModelError> {
    if xs.len() != ys.len() {
        return Err(ModelError::Other(format!(
            "{} inputs but {} targets",
            xs.len(),
            ys.len()
        )));
    }
    let bad = xs.iter().flatten().chain(ys).find(|&&v| v as usize >= p);
    match bad {
        Some(v) => Err(ModelError::Other(format!("token {v} is outside [0, {p})"))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ModelConfig;
    use crate::rng::{self, Stream};

    fn cfg(act: Activation, combine: Combine) -> MlpConfig {
        MlpConfig {
            embed_dim: 3,
            hidden: 4,
            activation: act,
            combine,
            init_scale: 1.0,
        }
    }

    #[test]
    fn param_count_matches_the_closed_form() {
        for combine in [Combine::Concat, Combine::Sum] {
            let c = cfg(Activation::Relu, combine);
            let m = Mlp::new(&c, 7, &mut rng::stream(1, Stream::Init));
            assert_eq!(m.param_count(), ModelConfig::Mlp(c).param_count(7));
        }
    }

    /// Central finite differences of the mean loss (in f64 via the stats) against the analytic gradient.
    #[test]
    fn gradients_match_finite_differences() {
        let xs = [[0u32, 1], [2, 3], [4, 4], [1, 0], [3, 2]];
        let ys = [1u32, 0, 3, 4, 2];
        for act in [Activation::Relu, Activation::Square] {
            for combine in [Combine::Concat, Combine::Sum] {
                let mut m = Mlp::new(&cfg(act, combine), 5, &mut rng::stream(3, Stream::Init));
                m.forward_backward(&xs, &ys, &mut rng::stream(0, Stream::Dropout))
                    .unwrap();
                let grads = m.grads.clone();
                let h = 1e-2f32;
                for t in 0..5 {
                    for i in (0..m.params[t].len()).step_by(3) {
                        let orig = m.params[t][i];
                        m.params[t][i] = orig + h;
                        let up = m.evaluate(&xs, &ys).unwrap().mean_loss();
                        m.params[t][i] = orig - h;
                        let down = m.evaluate(&xs, &ys).unwrap().mean_loss();
                        m.params[t][i] = orig;
                        let fd = (up - down) / (2.0 * h as f64);
                        let an = grads[t][i] as f64;
                        assert!(
                            (fd - an).abs() < 2e-3 + 2e-2 * an.abs(),
                            "{act} {combine} {}[{i}]: fd {fd} vs analytic {an}",
                            NAMES[t]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn loss_of_uniform_logits_is_ln_p() {
        // all-zero weights give equal logits: cross-entropy = ln p exactly (by definition of softmax)
        let mut m = Mlp::new(
            &cfg(Activation::Relu, Combine::Concat),
            5,
            &mut rng::stream(0, Stream::Init),
        );
        m.params.iter_mut().flatten().for_each(|w| *w = 0.0);
        let st = m.evaluate(&[[1, 2], [3, 4]], &[0, 1]).unwrap();
        assert!((st.mean_loss() - 5f64.ln()).abs() < 1e-6);
    }

    #[test]
    fn out_of_range_tokens_are_refused() {
        let mut m = Mlp::new(
            &cfg(Activation::Relu, Combine::Concat),
            5,
            &mut rng::stream(0, Stream::Init),
        );
        let err = m.evaluate(&[[1, 7]], &[0]).unwrap_err();
        assert!(err.to_string().contains("token 7"), "{err}");
    }
}
