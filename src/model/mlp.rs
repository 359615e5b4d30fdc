//! The cheap teaching model: shared embeddings of a and b, one hidden layer, linear read-out to p classes.
//!
//! Forward and backward are written by hand on `gemm` (see `linalg`): at these sizes that is about twice
//! as fast as candle's best (stack.md). Gradients are checked against finite differences in the tests.
//!
//! The first layer acts on an embedding lookup, so it is itself a lookup: with W1 split into the rows
//! that see e_a and those that see e_b, `[e_a, e_b] W1 = (E W1a)[a] + (E W1b)[b]`. We project the p-row
//! table once per step instead of every one of the n examples (n/p times less work; the same function
//! and the same gradients: dW1a = E^T dPa, dE = dPa W1a^T + dPb W1b^T, with dPa the rows of dz summed
//! by a).

use super::linalg::{cross_entropy, matmul, resize, wide_fn};
use super::{BatchStats, EvalCopy, Model, ModelError, NamedTensor};
use crate::config::{Activation, Combine, MlpConfig};
use crate::optim::AdamW;
use crate::rng::Rng;
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
    /// Batch of the last training step, whose activations `buf` holds.
    last_xs: Vec<[u32; 2]>,
    last_ys: Vec<u32>,
    /// Some(stats): `buf` holds the forward pass of the last batch with the current parameters and, in
    /// `buf.l`, the gradient of its mean loss, whose statistics these are. An evaluation of the training
    /// batch after the optimiser step (a full-batch run's clean train accuracy) computes exactly what the
    /// next step would (no dropout here), so it keeps that for the step instead of computing it twice.
    ready: Option<BatchStats>,
    /// Activations of evaluations of other inputs (kept apart so that `buf` keeps the training batch's).
    eval_buf: Buffers,
}

#[derive(Default)]
struct Buffers {
    /// Projected embedding tables: [tables, p, h] (tables = 2 for concat, 1 for sum).
    proj: Vec<f32>,
    /// Their gradients, same shape.
    dproj: Vec<f32>,
    z: Vec<f32>,  // [n, h] pre-activation
    hh: Vec<f32>, // [n, h] activation
    l: Vec<f32>,  // [n, p] logits, then dL
    dh: Vec<f32>, // [n, h]
}

const NAMES: [&str; 5] = ["embed", "w1", "b1", "w2", "b2"];
/// Rows per forward pass in `evaluate`, to bound memory (the memory estimate counts this many).
const EVAL_CHUNK: usize = crate::config::memory::MLP_EVAL_CHUNK;

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
            last_xs: vec![],
            last_ys: vec![],
            ready: None,
            eval_buf: Buffers::default(),
        }
    }

    /// Projection tables: 2 for concat (a and b see different rows of W1), 1 for sum.
    fn tables(&self) -> usize {
        match self.combine {
            Combine::Concat => 2,
            Combine::Sum => 1,
        }
    }

    /// The projected table each operand reads: (table of a, table of b).
    fn table_of(&self) -> (usize, usize) {
        match self.combine {
            Combine::Concat => (0, 1),
            Combine::Sum => (0, 0),
        }
    }

    /// Logits for `xs` into `b.l` ([n, p]); keeps z and h for the backward pass.
    fn forward(&self, b: &mut Buffers, xs: &[[u32; 2]]) {
        forward_wide(self, b, xs)
    }

    #[inline(always)]
    fn forward_body(&self, b: &mut Buffers, xs: &[[u32; 2]]) {
        let (n, e, h, p) = (xs.len(), self.e, self.h, self.p);
        let tables = self.tables();
        let (ta, tb) = self.table_of();
        resize(&mut b.proj, tables * p * h);
        resize(&mut b.z, n * h);
        resize(&mut b.hh, n * h);
        resize(&mut b.l, n * p);
        // proj[t] = E W1[t*e..(t+1)*e, :]   [p, h]
        for t in 0..tables {
            let w1t = &self.params[1][t * e * h..][..e * h];
            matmul(
                &mut b.proj[t * p * h..][..p * h],
                &self.params[0],
                w1t,
                p,
                e,
                h,
                false,
                false,
                false,
            );
        }
        // z = proj_a[a] + proj_b[b] + b1, h = act(z)   [n, h]
        let b1 = &self.params[2];
        let rows = b.z.chunks_exact_mut(h).zip(b.hh.chunks_exact_mut(h));
        for (x, (zr, hr)) in xs.iter().zip(rows) {
            let pa = &b.proj[(ta * p + x[0] as usize) * h..][..h];
            let pb = &b.proj[(tb * p + x[1] as usize) * h..][..h];
            for j in 0..h {
                zr[j] = pa[j] + pb[j] + b1[j];
            }
            match self.act {
                Activation::Relu => hr.iter_mut().zip(&*zr).for_each(|(h, &z)| *h = z.max(0.0)),
                Activation::Square => hr.iter_mut().zip(&*zr).for_each(|(h, &z)| *h = z * z),
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

    /// Whether (xs, ys) is the last training batch.
    fn is_last(&self, xs: &[[u32; 2]], ys: &[u32]) -> bool {
        self.last_xs == xs && self.last_ys == ys
    }

    /// Forward pass of the last training batch into `buf`, and its mean loss's gradient in `buf.l`.
    fn forward_loss(&mut self) -> BatchStats {
        let mut b = std::mem::take(&mut self.buf);
        self.forward(&mut b, &self.last_xs);
        let st = cross_entropy(&mut b.l, self.p, &self.last_ys, true);
        self.buf = b;
        st
    }

    /// Gradients of the mean loss given dL in `buf.l`.
    fn backward(&mut self, xs: &[[u32; 2]]) {
        backward_wide(self, xs)
    }

    #[inline(always)]
    fn backward_body(&mut self, xs: &[[u32; 2]]) {
        let (n, e, h, p) = (xs.len(), self.e, self.h, self.p);
        let tables = self.tables();
        let (ta, tb) = self.table_of();
        let b = &mut self.buf;
        let g = &mut self.grads;
        resize(&mut b.dh, n * h);
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
        let rows = b.dh.chunks_exact_mut(h).zip(b.z.chunks_exact(h));
        match self.act {
            Activation::Relu => rows.for_each(|(dr, zr)| {
                for (d, &z) in dr.iter_mut().zip(zr) {
                    *d *= if z > 0.0 { 1.0 } else { 0.0 };
                }
            }),
            Activation::Square => rows.for_each(|(dr, zr)| {
                for (d, &z) in dr.iter_mut().zip(zr) {
                    *d *= 2.0 * z;
                }
            }),
        }
        // db1 = column sums of dz; dproj[table][row] = the dz rows of the examples that read it
        g[2].fill(0.0);
        resize(&mut b.dproj, tables * p * h);
        b.dproj.fill(0.0);
        for (i, x) in xs.iter().enumerate() {
            let dz = &b.dh[i * h..][..h];
            for (acc, v) in g[2].iter_mut().zip(dz) {
                *acc += v;
            }
            for (t, tok) in [(ta, x[0]), (tb, x[1])] {
                let dp = &mut b.dproj[(t * p + tok as usize) * h..][..h];
                for (acc, v) in dp.iter_mut().zip(dz) {
                    *acc += v;
                }
            }
        }
        // dW1[t] = E^T dproj[t]   [e, h];   dE = sum_t dproj[t] W1[t]^T   [p, e]
        for t in 0..tables {
            let dp = &b.dproj[t * p * h..][..p * h];
            matmul(
                &mut g[1][t * e * h..][..e * h],
                &self.params[0],
                dp,
                e,
                p,
                h,
                true,
                false,
                false,
            );
            let w1t = &self.params[1][t * e * h..][..e * h];
            matmul(&mut g[0], dp, w1t, p, h, e, false, true, t > 0);
        }
    }
}

impl EvalCopy for Mlp {
    fn evaluate_copy(&mut self, xs: &[[u32; 2]], ys: &[u32]) -> Result<BatchStats, ModelError> {
        Model::evaluate(self, xs, ys)
    }
}

wide_fn!(fn forward_wide(m: &Mlp, b: &mut Buffers, xs: &[[u32; 2]]) => Mlp::forward_body);
wide_fn!(fn backward_wide(m: &mut Mlp, xs: &[[u32; 2]]) => Mlp::backward_body);

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
        let st = match self.ready.take() {
            Some(st) if self.is_last(xs, ys) => st,
            _ => {
                self.last_xs.clear();
                self.last_xs.extend_from_slice(xs);
                self.last_ys.clear();
                self.last_ys.extend_from_slice(ys);
                self.forward_loss()
            }
        };
        self.backward(xs);
        Ok(st)
    }

    fn evaluate(&mut self, xs: &[[u32; 2]], ys: &[u32]) -> Result<BatchStats, ModelError> {
        check(xs, ys, self.p)?;
        if self.is_last(xs, ys) && xs.len() <= EVAL_CHUNK {
            // the training batch: the statistics of the gradient's pass are those of an evaluation
            // (the same logits, the same sums: linalg's tests check it)
            if self.ready.is_none() {
                self.ready = Some(self.forward_loss());
            }
            return Ok(self.ready.unwrap_or_default());
        }
        let mut total = BatchStats::default();
        let mut b = std::mem::take(&mut self.eval_buf);
        for (cx, cy) in xs.chunks(EVAL_CHUNK).zip(ys.chunks(EVAL_CHUNK)) {
            self.forward(&mut b, cx);
            total.add(cross_entropy(&mut b.l, self.p, cy, false));
        }
        self.eval_buf = b;
        Ok(total)
    }

    fn evaluation_is_reused(&self, xs: &[[u32; 2]], ys: &[u32]) -> bool {
        // as `evaluate` decides it
        self.is_last(xs, ys) && xs.len() <= EVAL_CHUNK
    }

    fn eval_copy(&self, old: Option<Box<dyn EvalCopy>>) -> Option<Box<dyn EvalCopy>> {
        let same = |c: &Mlp| {
            c.params
                .iter()
                .zip(&self.params)
                .all(|(a, b)| a.len() == b.len())
        };
        let mut copy = match super::reuse_copy::<Mlp>(old) {
            Some(c) if same(&c) => c,
            // the same model without gradients, buffers or a training batch
            _ => Box::new(Mlp {
                p: self.p,
                e: self.e,
                h: self.h,
                inp: self.inp,
                act: self.act,
                combine: self.combine,
                params: self.params.clone(),
                grads: Default::default(),
                buf: Buffers::default(),
                last_xs: vec![],
                last_ys: vec![],
                ready: None,
                eval_buf: Buffers::default(),
            }),
        };
        for (c, w) in copy.params.iter_mut().zip(&self.params) {
            c.copy_from_slice(w);
        }
        Some(copy)
    }

    fn apply(&mut self, opt: &mut AdamW) -> Result<(), ModelError> {
        self.ready = None;
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

    fn export(&self) -> Result<Vec<NamedTensor>, ModelError> {
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

    fn import(&mut self, tensors: &[NamedTensor]) -> Result<(), ModelError> {
        super::check_import(&self.export()?, tensors)?;
        self.ready = None;
        for (slot, (_, _, values)) in self.params.iter_mut().zip(tensors) {
            slot.copy_from_slice(values);
        }
        Ok(())
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
                        let mut loss_at = |v: f32| {
                            m.params[t][i] = v;
                            // parameters changed behind the model's back: its reused forward is stale
                            m.ready = None;
                            m.evaluate(&xs, &ys).unwrap().mean_loss()
                        };
                        let (up, down) = (loss_at(orig + h), loss_at(orig - h));
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

    /// The trainer's order (step, apply, evaluate the training batch, evaluate other data, step...) with
    /// the training batch's forward reused must give the same bits as a model that never evaluates, and the
    /// evaluations the same statistics as a fresh copy of the weights computes.
    #[test]
    fn reusing_the_evaluated_forward_changes_nothing() {
        let xs: Vec<[u32; 2]> = (0..30).map(|i| [i % 7, (i * 3 + 1) % 7]).collect();
        let ys: Vec<u32> = xs.iter().map(|x| (x[0] + x[1]) % 7).collect();
        let other = [[1u32, 2], [5, 6]];
        let c = cfg(Activation::Relu, Combine::Concat);
        let mut evaluated = Mlp::new(&c, 7, &mut rng::stream(4, Stream::Init));
        let mut plain = Mlp::new(&c, 7, &mut rng::stream(4, Stream::Init));
        let params = |m: &Mlp| m.params.concat();
        let mut opt_e = crate::optim::AdamW::new(adamw(), &evaluated.param_sizes());
        let mut opt_p = crate::optim::AdamW::new(adamw(), &plain.param_sizes());
        let mut r = rng::stream(0, Stream::Dropout);
        for _ in 0..5 {
            for (m, opt) in [(&mut evaluated, &mut opt_e), (&mut plain, &mut opt_p)] {
                m.forward_backward(&xs, &ys, &mut r).unwrap();
                opt.begin_step(1e-2);
                m.apply(opt).unwrap();
            }
            let got = evaluated.evaluate(&xs, &ys).unwrap();
            let got_other = evaluated.evaluate(&other, &[3, 4]).unwrap();
            let mut copy = Mlp::new(&c, 7, &mut rng::stream(9, Stream::Init));
            copy.import(&evaluated.export().unwrap()).unwrap();
            assert_eq!(got, copy.evaluate(&xs, &ys).unwrap());
            assert_eq!(got_other, copy.evaluate(&other, &[3, 4]).unwrap());
            // asked again (the reused buffers), the same
            assert_eq!(got, evaluated.evaluate(&xs, &ys).unwrap());
        }
        assert_eq!(params(&evaluated), params(&plain));
    }

    fn adamw() -> crate::optim::AdamWParams {
        crate::optim::AdamWParams {
            lr: 1e-2,
            beta1: 0.9,
            beta2: 0.98,
            eps: 1e-8,
            weight_decay: 1.0,
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
