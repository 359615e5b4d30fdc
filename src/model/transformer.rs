//! The paper's transformer (spec section 1), on candle's CPU backend or, with the `cuda` feature, a GPU.
//!
//! Pre-norm decoder: token embedding (no learned positions), `depth` blocks of
//! `x + Attn(RMSNorm(x))`, `x + SwiGLU(RMSNorm(x))`, a final RMSNorm and a bias-free unembedding read at the
//! last position (the EQ token). Rotary encoding (base 1e6, "rotate half" pairing) acts on q and k per head.
//!
//! candle-nn 0.11.1's fused `rms_norm`, `rope` and `softmax_last_dim` have no backward pass, so those are
//! composed here from differentiable primitives.
//!
//! Only the last position's logits are ever read, so the final block computes its queries, attention output
//! and feed-forward for that position alone (keys and values still cover the whole sequence); this cuts about
//! a third of the work of a 2-block model and changes no result.
//!
//! On a GPU ([`super::device`] chooses) the whole step stays there: dropout masks and AdamW are our kernels
//! (`super::gpu`), the optimiser's moments live on the device, and a step sends only its loss and accuracy
//! (two numbers) to the host. The CPU path is unchanged: AdamW on the host, masks from the seeded stream.

use super::device::{self, Choice, Placement};
use super::transformer_params::{
    NORM_EPS, PER_BLOCK, SEQ, dropout_mask, init_params, rotary_tables,
};
use super::{BatchStats, Model, ModelError, NamedTensor};
use crate::config::TransformerConfig;
use crate::data::modular::tokens;
use crate::optim::AdamW;
use crate::rng::Rng;
use candle_core::{D, DType, Device, Shape, Tensor, Var};
#[cfg(feature = "cuda")]
use rand::RngCore;

/// Examples per forward pass in `evaluate`, to bound memory on large validation sets.
const EVAL_CHUNK: usize = 4096;

/// One parameter tensor and its export name.
struct Param {
    name: String,
    shape: Vec<usize>,
    var: Var,
}

/// Slot indices of one block's parameters.
struct BlockSlots {
    attn_norm: usize,
    q: usize,
    k: usize,
    v: usize,
    o: usize,
    ffn_norm: usize,
    w1: usize,
    w3: usize,
    w2: usize,
}

impl BlockSlots {
    fn of(block: usize) -> Self {
        let b = 1 + PER_BLOCK * block;
        BlockSlots {
            attn_norm: b,
            q: b + 1,
            k: b + 2,
            v: b + 3,
            o: b + 4,
            ffn_norm: b + 5,
            w1: b + 6,
            w3: b + 7,
            w2: b + 8,
        }
    }
}

/// The candle device for a placement: a GPU gets a stream of its own per model.
fn open(placement: Placement) -> Result<Device, ModelError> {
    match placement {
        Placement::Cpu => Ok(Device::Cpu),
        #[cfg(feature = "cuda")]
        Placement::Cuda(n) => Ok(super::gpu::new_device(n)?),
        #[cfg(not(feature = "cuda"))]
        Placement::Cuda(n) => Err(ModelError::Other(format!(
            "cuda:{n} needs a build with the cuda feature"
        ))),
    }
}

/// AdamW's moments on the device, one [m; v] tensor (2n entries) per parameter, as of optimiser step `t`.
struct DeviceMoments {
    t: u64,
    mv: Vec<Tensor>,
}

pub struct Transformer {
    /// Where the tensors live (see [`device::choose`]).
    dev: Device,
    /// The device chosen and why.
    choice: Choice,
    /// The GPU path's optimiser state (`None` on the CPU, and on a GPU before the first update).
    moments: Option<DeviceMoments>,
    d: usize,
    depth: usize,
    heads: usize,
    p: u32,
    dropout: f64,
    /// Slot order: embed, blocks (see [`PER_BLOCK`]), final_norm, unembed.
    params: Vec<Param>,
    /// Gradients of the last `forward_backward` in slot order (`None`: the parameter did not reach the loss),
    /// consumed by `apply`.
    grads: Option<Vec<Option<Tensor>>>,
    /// Rotary tables for positions 0..SEQ, each half of a head's dims repeated: [SEQ, head_dim].
    cos: Tensor,
    sin: Tensor,
    /// Additive causal mask, 0 on and below the diagonal, -inf above: [SEQ, SEQ].
    mask: Tensor,
}

/// RMSNorm over the last dimension with a learned scale.
fn rms_norm(x: &Tensor, scale: &Tensor) -> candle_core::Result<Tensor> {
    let ms = x.sqr()?.mean_keepdim(D::Minus1)?; // [.., 1]
    let inv_rms = ms.affine(1.0, NORM_EPS)?.sqrt()?.recip()?; // [.., 1]
    x.broadcast_mul(&inv_rms)?.broadcast_mul(scale) // [.., d]
}

/// Softmax over the last dimension. The max is only there for stability (it cancels), so it is detached.
fn softmax_last(x: &Tensor) -> candle_core::Result<Tensor> {
    let max = x.max_keepdim(D::Minus1)?.detach(); // [.., 1]
    let e = x.broadcast_sub(&max)?.exp()?; // [.., n]
    let s = e.sum_keepdim(D::Minus1)?; // [.., 1]
    e.broadcast_div(&s)
}

/// Rotary encoding, "rotate half" convention: dim i pairs with dim i + head_dim/2.
/// `x`: [B, heads, t, hd]; `cos`, `sin`: [t, hd].
fn rotary(x: &Tensor, cos: &Tensor, sin: &Tensor) -> candle_core::Result<Tensor> {
    let half = x.dim(D::Minus1)? / 2;
    let x1 = x.narrow(D::Minus1, 0, half)?; // [B, h, t, hd/2]
    let x2 = x.narrow(D::Minus1, half, half)?; // [B, h, t, hd/2]
    let rotated = Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?; // [B, h, t, hd]
    x.broadcast_mul(cos)? + rotated.broadcast_mul(sin)?
}

/// `x @ w^T` for a weight stored PyTorch-style as [out, in].
fn linear(x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    x.matmul(&w.t()?)
}

/// Loss and accuracy from logits [B, V] and targets [B]; `loss` is the batch mean. Both are reduced where
/// the tensors live and cross to the host together (one transfer, the step's only one on a GPU); the
/// count of correct answers is a sum of 0/1 in f32, exact below 2^24 examples.
fn stats_of(logits: &Tensor, loss: &Tensor, targets: &Tensor) -> Result<BatchStats, ModelError> {
    let count = targets.dim(0)?;
    let hits = logits
        .argmax(D::Minus1)?
        .eq(targets)?
        .to_dtype(DType::F32)?; // [B]
    let both = Tensor::stack(&[loss, &hits.sum_all()?], 0)?.to_vec1::<f32>()?; // [2]
    Ok(BatchStats {
        loss_sum: both[0] as f64 * count as f64,
        correct: both[1] as usize,
        count,
    })
}

/// Mean cross-entropy of logits [B, V] against targets (softmax over all V).
fn cross_entropy(logits: &Tensor, targets: &Tensor) -> candle_core::Result<Tensor> {
    let max = logits.max_keepdim(D::Minus1)?.detach(); // [B, 1]
    let z = logits.broadcast_sub(&max)?; // [B, V]
    let lse = z.exp()?.sum_keepdim(D::Minus1)?.log()?; // [B, 1]
    let logp = z.broadcast_sub(&lse)?; // [B, V]
    let picked = logp.gather(&targets.unsqueeze(1)?, 1)?; // [B, 1]
    picked.mean_all()?.neg()
}

impl Transformer {
    /// Build and initialise from `rng` (see [`init_params`]).
    pub fn new(cfg: &TransformerConfig, p: u32, rng: &mut Rng) -> Result<Self, ModelError> {
        let (d, depth, heads) = (cfg.d_model, cfg.depth, cfg.heads);
        let request = device::effective(cfg.device);
        let choice = device::choose(request, &device::probe(request))?;
        // a CPU-only build has nothing to choose unless something was asked for
        if cfg!(feature = "cuda") || !request.is_auto() {
            device::announce(&choice);
        }
        let dev = open(choice.placement)?;
        let mut params = vec![];
        for (name, shape, values) in init_params(cfg, p, rng)? {
            let var = Var::from_tensor(&Tensor::from_vec(values, shape.as_slice(), &dev)?)?;
            params.push(Param { name, shape, var });
        }

        let hd = d / heads;
        let (cos, sin) = rotary_tables(hd);
        let mask: Vec<f32> = (0..SEQ * SEQ)
            .map(|i| {
                if i % SEQ > i / SEQ {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
            .collect();

        Ok(Transformer {
            choice,
            moments: None,
            d,
            depth,
            heads,
            p,
            dropout: cfg.dropout,
            params,
            grads: None,
            cos: Tensor::from_vec(cos, (SEQ, hd), &dev)?,
            dev: dev.clone(),
            sin: Tensor::from_vec(sin, (SEQ, hd), &dev)?,
            mask: Tensor::from_vec(mask, (SEQ, SEQ), &dev)?,
        })
    }

    /// The gradients of the last `forward_backward` in slot order (zeros for a parameter that did not
    /// reach the loss; empty before any backward pass): the reference that other implementations are
    /// tested against.
    #[cfg(test)]
    pub(super) fn gradient_values(&self) -> Vec<Vec<f32>> {
        let Some(grads) = &self.grads else {
            return vec![];
        };
        grads
            .iter()
            .zip(&self.params)
            .map(|(g, p)| match g {
                Some(g) => g.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                None => vec![0.0; p.shape.iter().product()],
            })
            .collect()
    }

    /// Parameters as tracked tensors (for backward) or detached (eval: no graph is recorded).
    fn weights(&self, track: bool) -> Vec<Tensor> {
        self.params
            .iter()
            .map(|p| {
                if track {
                    p.var.as_tensor().clone()
                } else {
                    p.var.as_detached_tensor()
                }
            })
            .collect()
    }

    /// One block. `x`: [B, SEQ, d]; returns [B, SEQ, d], or [B, 1, d] (the last position) when `last_only`.
    fn block(
        &self,
        w: &[Tensor],
        s: &BlockSlots,
        x: &Tensor,
        last_only: bool,
        dropout: &mut Option<&mut Rng>,
    ) -> candle_core::Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let (nh, hd) = (self.heads, self.d / self.heads);
        let tq = if last_only { 1 } else { t };

        let h = rms_norm(x, &w[s.attn_norm])?; // [B, t, d]
        let h_all = h.reshape((b * t, d))?; // [B*t, d]
        let h_q = h.narrow(1, t - tq, tq)?.reshape((b * tq, d))?; // [B*tq, d]
        let split = |y: Tensor, len: usize| -> candle_core::Result<Tensor> {
            y.reshape((b, len, nh, hd))?.transpose(1, 2)?.contiguous() // [B, nh, len, hd]
        };
        let q = split(linear(&h_q, &w[s.q])?, tq)?; // [B, nh, tq, hd]
        let k = split(linear(&h_all, &w[s.k])?, t)?; // [B, nh, t, hd]
        let v = split(linear(&h_all, &w[s.v])?, t)?; // [B, nh, t, hd]
        let q = rotary(
            &q,
            &self.cos.narrow(0, t - tq, tq)?,
            &self.sin.narrow(0, t - tq, tq)?,
        )?; // [B, nh, tq, hd]
        let k = rotary(&k, &self.cos.narrow(0, 0, t)?, &self.sin.narrow(0, 0, t)?)?; // [B, nh, t, hd]

        let scores = (q.matmul(&k.t()?)? / (hd as f64).sqrt())?; // [B, nh, tq, t]
        let scores = scores.broadcast_add(&self.mask.narrow(0, t - tq, tq)?.narrow(1, 0, t)?)?; // [B, nh, tq, t]
        let att = softmax_last(&scores)?; // [B, nh, tq, t]
        let ctx = att.matmul(&v)?; // [B, nh, tq, hd]
        let ctx = ctx.transpose(1, 2)?.contiguous()?.reshape((b * tq, d))?; // [B*tq, d]
        let x_q = x.narrow(1, t - tq, tq)?.reshape((b * tq, d))?; // [B*tq, d]
        let x = (x_q + linear(&ctx, &w[s.o])?)?; // [B*tq, d]

        let h = rms_norm(&x, &w[s.ffn_norm])?; // [B*tq, d]
        let gate = linear(&h, &w[s.w1])?.silu()?; // [B*tq, 4d]
        let mut hidden = (gate * linear(&h, &w[s.w3])?)?; // [B*tq, 4d]
        if let Some(rng) = dropout.as_deref_mut() {
            let mask = self.dropout_mask(hidden.shape(), rng)?; // [B*tq, 4d]
            hidden = (hidden * mask)?; // [B*tq, 4d]
        }
        let x = (x + linear(&hidden, &w[s.w2])?)?; // [B*tq, d]
        x.reshape((b, tq, d))
    }

    /// An inverted-dropout mask of `shape`: on the CPU from `rng` itself; on a GPU made there from one
    /// number drawn from `rng` (so a resumed run's masks still follow the saved stream).
    fn dropout_mask(&self, shape: &Shape, rng: &mut Rng) -> candle_core::Result<Tensor> {
        #[cfg(feature = "cuda")]
        if self.dev.is_cuda() {
            return super::gpu::dropout_mask(&self.dev, shape, self.dropout, rng.next_u64());
        }
        let mask = dropout_mask(shape.elem_count(), self.dropout, rng);
        Tensor::from_vec(mask, shape.clone(), &self.dev)
    }

    /// Token ids [B*SEQ] for these examples.
    fn token_tensor(&self, xs: &[[u32; 2]]) -> candle_core::Result<Tensor> {
        let ids: Vec<u32> = xs.iter().flat_map(|&x| tokens(x, self.p)).collect();
        Tensor::from_vec(ids, xs.len() * SEQ, &self.dev)
    }

    /// The residual stream after every block. `ids`: [B*SEQ]; returns [B, SEQ, d], or [B, 1, d] when
    /// `last_only`. Dropout masks are drawn, block by block, only when `dropout` is given and the rate > 0.
    fn trunk(
        &self,
        w: &[Tensor],
        ids: &Tensor,
        last_only: bool,
        mut dropout: Option<&mut Rng>,
    ) -> candle_core::Result<Tensor> {
        let b = ids.dim(0)? / SEQ;
        if self.dropout <= 0.0 {
            dropout = None;
        }
        let mut x = w[0].index_select(ids, 0)?.reshape((b, SEQ, self.d))?; // [B, SEQ, d]
        for blk in 0..self.depth {
            let last = last_only && blk + 1 == self.depth;
            x = self.block(w, &BlockSlots::of(blk), &x, last, &mut dropout)?;
        }
        Ok(x)
    }

    /// Logits at the last position: [B, vocab].
    fn logits(
        &self,
        w: &[Tensor],
        ids: &Tensor,
        dropout: Option<&mut Rng>,
    ) -> candle_core::Result<Tensor> {
        let x = self.trunk(w, ids, true, dropout)?; // [B, 1, d]
        let x = x.squeeze(1)?; // [B, d]
        // final_norm and unembed are the last two slots
        let n = w.len();
        let x = rms_norm(&x, &w[n - 2])?; // [B, d]
        linear(&x, &w[n - 1]) // [B, vocab]
    }

    fn targets(&self, ys: &[u32]) -> candle_core::Result<Tensor> {
        Tensor::from_vec(ys.to_vec(), ys.len(), &self.dev)
    }

    fn check_batch(&self, xs: &[[u32; 2]], ys: &[u32]) -> Result<(), ModelError> {
        if xs.len() != ys.len() || xs.is_empty() {
            return Err(ModelError::Other(format!(
                "batch of {} inputs and {} targets (must match, non-empty)",
                xs.len(),
                ys.len()
            )));
        }
        let p = self.p;
        if xs.iter().any(|x| x[0] >= p || x[1] >= p) || ys.iter().any(|&y| y >= p) {
            return Err(ModelError::Other(format!(
                "an input or target lies outside [0, {p})"
            )));
        }
        Ok(())
    }
}

#[cfg(feature = "cuda")]
impl Transformer {
    /// AdamW on the device: two kernels per parameter tensor, the moments kept there between steps.
    fn apply_on_device(
        &mut self,
        opt: &AdamW,
        grads: Vec<Option<Tensor>>,
    ) -> Result<(), ModelError> {
        // The device's moments continue the optimiser's when they are of its previous step; otherwise
        // (the first step, or an optimiser restored from a checkpoint) they start from its host state.
        let mut dm = match self.moments.take() {
            Some(dm) if dm.t + 1 == opt.t => dm,
            _ => {
                let mv = self
                    .params
                    .iter()
                    .enumerate()
                    .map(|(slot, p)| {
                        let mut both = opt.m[slot].clone();
                        both.extend_from_slice(&opt.v[slot]);
                        let n = both.len();
                        Tensor::from_vec(both, n, &self.dev).map_err(|e| {
                            ModelError::Other(format!("optimiser state of {}: {e}", p.name))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                DeviceMoments { t: 0, mv }
            }
        };
        let s = opt.step_scalars();
        let step = super::gpu::AdamStep {
            beta1: opt.params.beta1 as f32,
            beta2: opt.params.beta2 as f32,
            eps: opt.params.eps as f32,
            decay: s.decay,
            step_size: s.step_size,
            inv_bias2_sqrt: s.inv_bias2_sqrt,
        };
        for ((p, g), mv) in self.params.iter().zip(grads).zip(&dm.mv) {
            // Every parameter feeds the loss, but a missing gradient is zero by definition.
            let g = match g {
                Some(g) => g,
                None => Tensor::zeros(p.shape.as_slice(), DType::F32, &self.dev)?,
            };
            super::gpu::adamw_step(p.var.as_tensor(), mv, &g, step)?;
        }
        dm.t = opt.t;
        self.moments = Some(dm);
        Ok(())
    }
}

/// Arbitrary token sequences: the Capacity lab's random-label data puts a random token in every position
/// and a target anywhere in the vocabulary [0, p + 2), which the (a, b) interface of [`Model`] cannot express.
impl Transformer {
    /// [`Model::forward_backward`] on token sequences (each token and target in [0, p + 2)); keeps the
    /// gradients for [`Model::apply`].
    pub fn forward_backward_tokens(
        &mut self,
        seqs: &[[u32; SEQ]],
        ys: &[u32],
        rng: &mut Rng,
    ) -> Result<BatchStats, ModelError> {
        self.check_token_batch(seqs, ys)?;
        let ids = self.seq_tensor(seqs)?; // [B*SEQ]
        self.train_ids(&ids, ys, rng)
    }

    /// [`Model::evaluate`] on token sequences (eval mode, no gradients).
    pub fn evaluate_tokens(
        &mut self,
        seqs: &[[u32; SEQ]],
        ys: &[u32],
    ) -> Result<BatchStats, ModelError> {
        if seqs.is_empty() && ys.is_empty() {
            return Ok(BatchStats::default());
        }
        self.check_token_batch(seqs, ys)?;
        let w = self.weights(false);
        let mut total = BatchStats::default();
        for (sc, yc) in seqs.chunks(EVAL_CHUNK).zip(ys.chunks(EVAL_CHUNK)) {
            let ids = self.seq_tensor(sc)?; // [B*SEQ]
            total.add(self.eval_ids(&w, &ids, yc)?);
        }
        Ok(total)
    }

    /// Token ids [B*SEQ] of these sequences.
    fn seq_tensor(&self, seqs: &[[u32; SEQ]]) -> candle_core::Result<Tensor> {
        let ids: Vec<u32> = seqs.iter().flatten().copied().collect();
        Tensor::from_vec(ids, seqs.len() * SEQ, &self.dev)
    }

    fn check_token_batch(&self, seqs: &[[u32; SEQ]], ys: &[u32]) -> Result<(), ModelError> {
        if seqs.len() != ys.len() || seqs.is_empty() {
            return Err(ModelError::Other(format!(
                "batch of {} sequences and {} targets (must match, non-empty)",
                seqs.len(),
                ys.len()
            )));
        }
        let v = self.p + 2;
        if seqs.iter().flatten().chain(ys).any(|&t| t >= v) {
            return Err(ModelError::Other(format!(
                "a token or target lies outside the vocabulary [0, {v})"
            )));
        }
        Ok(())
    }

    /// Training-mode forward and backward on token ids [B*SEQ]; keeps the parameters' gradients.
    fn train_ids(
        &mut self,
        ids: &Tensor,
        ys: &[u32],
        rng: &mut Rng,
    ) -> Result<BatchStats, ModelError> {
        self.grads = None;
        let w = self.weights(true);
        let logits = self.logits(&w, ids, Some(rng))?; // [B, vocab]
        let targets = self.targets(ys)?; // [B]
        let loss = cross_entropy(&logits, &targets)?; // []
        let stats = stats_of(&logits, &loss, &targets)?;
        let mut store = loss.backward()?;
        // The store also holds the gradient of every intermediate tensor; keep only the parameters' so
        // the activations' gradients are freed now rather than after `apply`.
        let grads = self
            .params
            .iter()
            .map(|p| store.remove(p.var.as_tensor()))
            .collect();
        self.grads = Some(grads);
        Ok(stats)
    }

    /// Eval-mode statistics of one chunk of token ids [B*SEQ] with detached weights `w`.
    fn eval_ids(&self, w: &[Tensor], ids: &Tensor, ys: &[u32]) -> Result<BatchStats, ModelError> {
        let logits = self.logits(w, ids, None)?; // [B, vocab]
        let targets = self.targets(ys)?; // [B]
        let loss = cross_entropy(&logits, &targets)?; // []
        stats_of(&logits, &loss, &targets)
    }
}

impl super::SequenceModel for Transformer {
    fn forward_backward_tokens(
        &mut self,
        seqs: &[[u32; SEQ]],
        ys: &[u32],
        rng: &mut Rng,
    ) -> Result<BatchStats, ModelError> {
        Transformer::forward_backward_tokens(self, seqs, ys, rng)
    }

    fn evaluate_tokens(
        &mut self,
        seqs: &[[u32; SEQ]],
        ys: &[u32],
    ) -> Result<BatchStats, ModelError> {
        Transformer::evaluate_tokens(self, seqs, ys)
    }
}

impl Model for Transformer {
    fn param_count(&self) -> u64 {
        self.param_sizes().iter().map(|&n| n as u64).sum()
    }

    fn param_sizes(&self) -> Vec<usize> {
        self.params
            .iter()
            .map(|p| p.shape.iter().product())
            .collect()
    }

    fn forward_backward(
        &mut self,
        xs: &[[u32; 2]],
        ys: &[u32],
        rng: &mut Rng,
    ) -> Result<BatchStats, ModelError> {
        self.check_batch(xs, ys)?;
        let ids = self.token_tensor(xs)?; // [B*SEQ]
        self.train_ids(&ids, ys, rng)
    }

    fn evaluate(&mut self, xs: &[[u32; 2]], ys: &[u32]) -> Result<BatchStats, ModelError> {
        if xs.is_empty() && ys.is_empty() {
            return Ok(BatchStats::default());
        }
        self.check_batch(xs, ys)?;
        let w = self.weights(false);
        let mut total = BatchStats::default();
        for (xc, yc) in xs.chunks(EVAL_CHUNK).zip(ys.chunks(EVAL_CHUNK)) {
            let ids = self.token_tensor(xc)?; // [B*SEQ]
            total.add(self.eval_ids(&w, &ids, yc)?);
        }
        Ok(total)
    }

    fn apply(&mut self, opt: &mut AdamW) -> Result<(), ModelError> {
        let grads = self.grads.take().ok_or_else(|| {
            ModelError::Other("apply called without a preceding forward_backward".into())
        })?;
        #[cfg(feature = "cuda")]
        if self.dev.is_cuda() {
            return self.apply_on_device(opt, grads);
        }
        for (slot, (p, g)) in self.params.iter().zip(grads).enumerate() {
            let mut values = p.var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
            let grad = match g {
                Some(g) => g.flatten_all()?.to_vec1::<f32>()?,
                // Every parameter feeds the loss, but a missing gradient is zero by definition.
                None => vec![0.0; values.len()],
            };
            opt.update(slot, &mut values, &grad);
            p.var
                .set(&Tensor::from_vec(values, p.shape.as_slice(), &self.dev)?)?;
        }
        Ok(())
    }

    fn weight_norm_sq(&self) -> Result<f64, ModelError> {
        if self.dev.is_cuda() {
            // summed on the device in f32 (one number crosses), not in f64 as on the CPU
            let sums = self
                .params
                .iter()
                .map(|p| p.var.as_tensor().sqr()?.sum_all())
                .collect::<candle_core::Result<Vec<_>>>()?;
            return Ok(Tensor::stack(&sums, 0)?.sum_all()?.to_scalar::<f32>()? as f64);
        }
        let mut sum = 0.0f64;
        for p in &self.params {
            let v = p.var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
            sum += v.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>();
        }
        Ok(sum)
    }

    fn export(&self) -> Result<Vec<NamedTensor>, ModelError> {
        self.params
            .iter()
            .map(|p| {
                let v = p.var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
                Ok((p.name.clone(), p.shape.clone(), v))
            })
            .collect()
    }

    fn device_choice(&self) -> Choice {
        self.choice.clone()
    }

    #[allow(clippy::type_complexity)]
    fn optimiser_moments(&self, opt: &AdamW) -> Result<(Vec<Vec<f32>>, Vec<Vec<f32>>), ModelError> {
        match &self.moments {
            // the device holds the moments of the optimiser's latest step
            Some(dm) if dm.t == opt.t => {
                let (mut m, mut v) = (vec![], vec![]);
                for mv in &dm.mv {
                    let mut both = mv.to_vec1::<f32>()?;
                    v.push(both.split_off(both.len() / 2));
                    m.push(both);
                }
                Ok((m, v))
            }
            _ => Ok((opt.m.clone(), opt.v.clone())),
        }
    }

    fn import(&mut self, tensors: &[NamedTensor]) -> Result<(), ModelError> {
        super::check_import(&self.export()?, tensors)?;
        for (p, (_, shape, values)) in self.params.iter().zip(tensors) {
            let t = Tensor::from_slice(values, shape.as_slice(), &self.dev)?;
            p.var.set(&t)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Operation;
    use crate::data::modular::all_examples;
    use crate::optim::AdamWParams;
    use crate::rng::{Stream, stream};

    fn cfg(d: usize, depth: usize, heads: usize, dropout: f64) -> TransformerConfig {
        TransformerConfig {
            d_model: d,
            depth,
            heads,
            dropout,
            init_scale: 1.0,
            device: Default::default(),
        }
    }

    fn model(c: &TransformerConfig, p: u32, seed: u64) -> Transformer {
        Transformer::new(c, p, &mut stream(seed, Stream::Init)).unwrap()
    }

    fn adamw(m: &Transformer, lr: f64, weight_decay: f64) -> AdamW {
        let hp = AdamWParams {
            lr,
            beta1: 0.9,
            beta2: 0.98,
            eps: 1e-8,
            weight_decay,
        };
        AdamW::new(hp, &m.param_sizes())
    }

    /// Initial parameter values and the losses of `steps` training steps plus a final evaluation.
    fn train_losses(seed: u64, steps: usize) -> (Vec<Vec<f32>>, Vec<f64>) {
        let mut m = model(&cfg(8, 2, 1, 0.2), 7, seed);
        let init = m.export().unwrap().into_iter().map(|(_, _, v)| v).collect();
        let ex = all_examples(Operation::Add, 7);
        let mut opt = adamw(&m, 1e-2, 1.0);
        let mut drop_rng = stream(seed, Stream::Dropout);
        let mut losses = vec![];
        for _ in 0..steps {
            let s = m.forward_backward(&ex.xs, &ex.ys, &mut drop_rng).unwrap();
            opt.begin_step(1e-2);
            m.apply(&mut opt).unwrap();
            losses.push(s.mean_loss());
        }
        losses.push(m.evaluate(&ex.xs, &ex.ys).unwrap().mean_loss());
        (init, losses)
    }

    #[test]
    fn same_seed_same_weights_and_losses() {
        // expected: bit-identical by construction (all randomness from the seeded streams)
        let (w1, l1) = train_losses(7, 3);
        let (w2, l2) = train_losses(7, 3);
        assert_eq!(w1, w2);
        assert_eq!(l1, l2);
        let (w3, l3) = train_losses(8, 3);
        assert_ne!(w1, w3);
        assert_ne!(l1, l3);
    }

    #[test]
    fn dropout_changes_training_loss_only() {
        // expected: eval mode has no dropout, so two evaluations agree; two training passes draw
        // different masks from one stream, so their losses differ
        let mut m = model(&cfg(8, 1, 1, 0.5), 7, 1);
        let ex = all_examples(Operation::Add, 7);
        assert_eq!(
            m.evaluate(&ex.xs, &ex.ys).unwrap(),
            m.evaluate(&ex.xs, &ex.ys).unwrap()
        );
        let mut r = stream(1, Stream::Dropout);
        let a = m.forward_backward(&ex.xs, &ex.ys, &mut r).unwrap();
        let b = m.forward_backward(&ex.xs, &ex.ys, &mut r).unwrap();
        assert_ne!(a.loss_sum, b.loss_sum);
    }

    /// Eval-mode mean loss (equals the training loss when dropout is 0).
    fn loss(m: &mut Transformer, xs: &[[u32; 2]], ys: &[u32]) -> f64 {
        m.evaluate(xs, ys).unwrap().mean_loss()
    }

    fn gradient_check(c: TransformerConfig, seed: u64) {
        // expected: central finite differences of the loss, (L(w+h) - L(w-h)) / 2h, for several entries of
        // every parameter tensor (so every hand-composed op: RMSNorm, rotary, masked softmax, SwiGLU).
        // With h = 1e-2 the f32 differences agree to about 4e-5 on gradients of 1e-3..4e-2; detaching the
        // RMSNorm denominator (a wrong backward) breaks the tolerance by 10x.
        let p = 5;
        let mut m = model(&c, p, seed);
        let ex = all_examples(Operation::Add, p);
        m.forward_backward(&ex.xs, &ex.ys, &mut stream(0, Stream::Dropout))
            .unwrap();
        let grads = m.grads.take().unwrap();
        assert!(
            grads.iter().all(Option::is_some),
            "every parameter reaches the loss"
        );
        let h = 1e-2f32;
        let mut checked = 0;
        for (i, grad) in grads.iter().enumerate() {
            let var = m.params[i].var.clone();
            let shape = m.params[i].shape.clone();
            let name = m.params[i].name.clone();
            let base = var
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            let g = grad.as_ref().unwrap().flatten_all().unwrap();
            let g = g.to_vec1::<f32>().unwrap();
            let n = base.len();
            for j in [0, n / 3, n / 2, n - 1] {
                let mut at = |delta: f32| {
                    let mut v = base.clone();
                    v[j] += delta;
                    var.set(&Tensor::from_vec(v, shape.as_slice(), &Device::Cpu).unwrap())
                        .unwrap();
                    loss(&mut m, &ex.xs, &ex.ys)
                };
                let num = (at(h) - at(-h)) / (2.0 * h as f64);
                let ana = g[j] as f64;
                assert!(
                    (num - ana).abs() <= 2e-4 + 1e-2 * ana.abs(),
                    "{name}[{j}]: analytic {ana}, numeric {num}"
                );
                checked += 1;
            }
            var.set(&Tensor::from_vec(base, shape.as_slice(), &Device::Cpu).unwrap())
                .unwrap();
        }
        assert_eq!(checked, 4 * m.params.len());
    }

    #[test]
    fn gradients_match_finite_differences() {
        gradient_check(cfg(4, 1, 1, 0.0), 11);
    }

    #[test]
    fn gradients_match_finite_differences_two_heads_two_blocks() {
        gradient_check(cfg(8, 2, 2, 0.0), 12);
    }

    /// Plain f64 loops written from the spec (section 1), sharing nothing with the candle code but the
    /// exported weights: logits at the last position for one token sequence.
    fn reference_logits(m: &Transformer, toks: [u32; 4]) -> Vec<f64> {
        let params = m.export().unwrap();
        let get = |name: &str| -> Vec<f64> {
            let (_, _, v) = params.iter().find(|(n, _, _)| n == name).unwrap();
            v.iter().map(|&x| x as f64).collect()
        };
        let (d, nh) = (m.d, m.heads);
        let hd = d / nh;
        // y = W x for W stored [out, in]
        let matvec = |w: &[f64], x: &[f64]| -> Vec<f64> {
            w.chunks(x.len())
                .map(|row| row.iter().zip(x).map(|(a, b)| a * b).sum())
                .collect()
        };
        let norm = |x: &[f64], g: &[f64]| -> Vec<f64> {
            let ms = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
            x.iter()
                .zip(g)
                .map(|(v, s)| v / (ms + 1e-5).sqrt() * s)
                .collect()
        };
        // rotate-half rotary: dim i pairs with i + hd/2, angle pos * 1e6^(-2i/hd)
        let rotate = |x: &[f64], pos: usize| -> Vec<f64> {
            let half = hd / 2;
            let mut out = x.to_vec();
            for i in 0..half {
                let a = pos as f64 * 1e6f64.powf(-2.0 * i as f64 / hd as f64);
                out[i] = x[i] * a.cos() - x[i + half] * a.sin();
                out[i + half] = x[i + half] * a.cos() + x[i] * a.sin();
            }
            out
        };
        let embed = get("embed");
        let mut x: Vec<Vec<f64>> = toks
            .iter()
            .map(|&t| embed[t as usize * d..(t as usize + 1) * d].to_vec())
            .collect();
        for b in 0..m.depth {
            let w = |n: &str| get(&format!("blocks.{b}.{n}"));
            let h: Vec<Vec<f64>> = x.iter().map(|xt| norm(xt, &w("attn_norm"))).collect();
            let q: Vec<Vec<f64>> = h.iter().map(|ht| matvec(&w("attn.q"), ht)).collect();
            let k: Vec<Vec<f64>> = h.iter().map(|ht| matvec(&w("attn.k"), ht)).collect();
            let v: Vec<Vec<f64>> = h.iter().map(|ht| matvec(&w("attn.v"), ht)).collect();
            for t in 0..4 {
                let mut ctx = vec![0.0; d];
                for head in 0..nh {
                    let r = head * hd..(head + 1) * hd;
                    let qt = rotate(&q[t][r.clone()], t);
                    let scores: Vec<f64> = (0..=t)
                        .map(|u| {
                            let ku = rotate(&k[u][r.clone()], u);
                            qt.iter().zip(&ku).map(|(a, b)| a * b).sum::<f64>() / (hd as f64).sqrt()
                        })
                        .collect();
                    let z: f64 = scores.iter().map(|s| s.exp()).sum();
                    for (u, s) in scores.iter().enumerate() {
                        for i in r.clone() {
                            ctx[i] += s.exp() / z * v[u][i];
                        }
                    }
                }
                let o = matvec(&w("attn.o"), &ctx);
                x[t].iter_mut().zip(o).for_each(|(a, b)| *a += b);
            }
            for xt in x.iter_mut() {
                let h = norm(xt, &w("ffn_norm"));
                let a: Vec<f64> = matvec(&w("ffn.w1"), &h)
                    .iter()
                    .zip(matvec(&w("ffn.w3"), &h))
                    .map(|(g, u)| g / (1.0 + (-g).exp()) * u)
                    .collect();
                let out = matvec(&w("ffn.w2"), &a);
                xt.iter_mut().zip(out).for_each(|(p, q)| *p += q);
            }
        }
        matvec(&get("unembed"), &norm(&x[3], &get("final_norm")))
    }

    #[test]
    fn forward_matches_a_plain_reference() {
        // expected: `reference_logits`, an independent f64 loop implementation of the spec's model
        for (c, seed) in [(cfg(8, 2, 2, 0.0), 21), (cfg(4, 1, 1, 0.0), 22)] {
            let mut c = c;
            c.init_scale = 0.7;
            let m = model(&c, 7, seed);
            let xs = [[1, 2], [6, 0], [3, 3]];
            let w = m.weights(false);
            let got = m.logits(&w, &m.token_tensor(&xs).unwrap(), None).unwrap();
            let got = got.to_vec2::<f32>().unwrap();
            for (x, row) in xs.iter().zip(got) {
                let want = reference_logits(&m, tokens(*x, 7));
                assert_eq!(row.len(), 9);
                for (g, w) in row.iter().zip(&want) {
                    assert!((*g as f64 - w).abs() < 1e-4, "{x:?}: {row:?} vs {want:?}");
                }
            }
        }
    }

    #[test]
    fn attention_is_causal() {
        // expected: with a causal mask, position t sees only tokens 0..=t, so changing the token at position
        // 3 leaves positions 0..2 bit-identical, while changing position 0 reaches position 3
        let m = model(&cfg(8, 2, 2, 0.0), 7, 5);
        let w = m.weights(false);
        let hidden = |ids: Vec<u32>| {
            let ids = Tensor::from_vec(ids, 2 * SEQ, &Device::Cpu).unwrap();
            m.trunk(&w, &ids, false, None)
                .unwrap()
                .to_vec3::<f32>()
                .unwrap()
        };
        let base = hidden(vec![1, 7, 2, 8, 3, 7, 4, 8]);
        let changed_last = hidden(vec![1, 7, 2, 0, 3, 7, 4, 5]);
        let changed_first = hidden(vec![6, 7, 2, 8, 0, 7, 4, 8]);
        for b in 0..2 {
            assert_eq!(base[b][..3], changed_last[b][..3]);
            assert_ne!(base[b][3], changed_last[b][3]);
            assert_ne!(base[b][3], changed_first[b][3]);
        }
    }

    #[test]
    fn last_only_equals_the_full_forward() {
        // expected: the last-position shortcut of the final block computes the same numbers as the full pass
        let m = model(&cfg(8, 2, 2, 0.0), 7, 6);
        let w = m.weights(false);
        let ids = m.token_tensor(&[[1, 2], [3, 4], [6, 0]]).unwrap();
        let full = m
            .trunk(&w, &ids, false, None)
            .unwrap()
            .narrow(1, SEQ - 1, 1)
            .unwrap();
        let last = m.trunk(&w, &ids, true, None).unwrap();
        let diff = (full - last).unwrap().abs().unwrap().max_all().unwrap();
        assert!(diff.to_scalar::<f32>().unwrap() < 1e-5);
    }

    #[test]
    fn learns_addition_mod_7() {
        // expected: a d=16 transformer easily memorises all 49 sums (training set = the whole table)
        let p = 7;
        let mut m = model(&cfg(16, 1, 1, 0.0), p, 0);
        let ex = all_examples(Operation::Add, p);
        let mut opt = adamw(&m, 1e-2, 0.0);
        let mut r = stream(0, Stream::Dropout);
        let mut solved_at = None;
        for step in 1..=400 {
            m.forward_backward(&ex.xs, &ex.ys, &mut r).unwrap();
            opt.begin_step(1e-2);
            m.apply(&mut opt).unwrap();
            if step % 10 == 0 && m.evaluate(&ex.xs, &ex.ys).unwrap().accuracy() == 1.0 {
                solved_at = Some(step);
                break;
            }
        }
        assert!(
            solved_at.is_some(),
            "train accuracy below 100 % after 400 steps"
        );
    }

    #[test]
    fn apply_without_backward_is_an_error() {
        let mut m = model(&cfg(4, 1, 1, 0.0), 5, 0);
        let mut opt = adamw(&m, 1e-3, 0.0);
        opt.begin_step(1e-3);
        assert!(m.apply(&mut opt).is_err());
    }

    #[test]
    fn bad_batches() {
        // expected: an empty evaluation is zero examples; mismatched or out-of-range inputs are errors
        let mut m = model(&cfg(4, 1, 1, 0.0), 5, 0);
        assert_eq!(m.evaluate(&[], &[]).unwrap(), BatchStats::default());
        let mut r = stream(0, Stream::Dropout);
        assert!(m.forward_backward(&[], &[], &mut r).is_err());
        assert!(m.forward_backward(&[[1, 2]], &[], &mut r).is_err());
        assert!(m.evaluate(&[[5, 2]], &[0]).is_err());
    }

    #[test]
    fn token_path_equals_the_pair_path() {
        // expected: the modular task's pairs written as [a, OP, b, EQ] are the same ids, so loss, accuracy,
        // gradients (seen through one update) and the dropout masks drawn are bit-identical
        let ex = all_examples(Operation::Add, 7);
        let seqs: Vec<[u32; 4]> = ex.xs.iter().map(|&x| tokens(x, 7)).collect();
        let mut a = model(&cfg(8, 2, 1, 0.2), 7, 4);
        let mut b = model(&cfg(8, 2, 1, 0.2), 7, 4);
        let (mut ra, mut rb) = (stream(4, Stream::Dropout), stream(4, Stream::Dropout));
        let (mut oa, mut ob) = (adamw(&a, 1e-2, 1.0), adamw(&b, 1e-2, 1.0));
        for _ in 0..2 {
            let sa = a.forward_backward(&ex.xs, &ex.ys, &mut ra).unwrap();
            let sb = b.forward_backward_tokens(&seqs, &ex.ys, &mut rb).unwrap();
            assert_eq!(sa, sb);
            oa.begin_step(1e-2);
            ob.begin_step(1e-2);
            a.apply(&mut oa).unwrap();
            b.apply(&mut ob).unwrap();
        }
        assert_eq!(a.export().unwrap(), b.export().unwrap());
        assert_eq!(
            a.evaluate(&ex.xs, &ex.ys).unwrap(),
            b.evaluate_tokens(&seqs, &ex.ys).unwrap()
        );
    }

    #[test]
    fn token_path_takes_the_whole_vocabulary() {
        // expected: random-label data uses tokens and targets in [0, p + 2) = [0, 7) for p = 5, so OP and
        // EQ (5, 6) are valid targets and inputs anywhere; 7 is outside
        let mut m = model(&cfg(4, 1, 1, 0.0), 5, 0);
        let mut r = stream(0, Stream::Dropout);
        let seqs = [[6, 6, 0, 5], [1, 2, 3, 4]];
        let s = m.forward_backward_tokens(&seqs, &[5, 6], &mut r).unwrap();
        assert_eq!(s.count, 2);
        assert_eq!(m.evaluate_tokens(&seqs, &[6, 5]).unwrap().count, 2);
        assert_eq!(m.evaluate_tokens(&[], &[]).unwrap(), BatchStats::default());
        assert!(m.evaluate_tokens(&seqs, &[7, 0]).is_err());
        assert!(m.evaluate_tokens(&[[7, 0, 0, 0]], &[0]).is_err());
        assert!(m.forward_backward_tokens(&seqs, &[0], &mut r).is_err());
        assert!(m.forward_backward_tokens(&[], &[], &mut r).is_err());
    }

    #[test]
    fn bad_head_count_is_refused() {
        assert!(Transformer::new(&cfg(6, 1, 2, 0.0), 5, &mut stream(0, Stream::Init)).is_err());
    }

    /// CPU time of this thread in seconds (Linux schedstat), so a timing taken on a busy machine still means
    /// something; `None` elsewhere.
    fn thread_cpu_secs() -> Option<f64> {
        let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        Some(s.split_whitespace().next()?.parse::<f64>().ok()? * 1e-9)
    }

    #[test]
    #[ignore = "timing; run with CANDLE_NUM_THREADS=1 RAYON_NUM_THREADS=1 ... --ignored --nocapture"]
    fn step_timing() {
        // the paper's width at p=97, and the CPU preset's
        for (d, p) in [(128, 97), (32, 47)] {
            let mut m = model(&cfg(d, 2, 1, 0.2), p, 0);
            let ex = all_examples(Operation::Div, p);
            let (xs, ys) = (&ex.xs[..512], &ex.ys[..512]);
            let mut opt = adamw(&m, 1e-3, 1.0);
            let mut r = stream(0, Stream::Dropout);
            let mut step = |m: &mut Transformer| {
                m.forward_backward(xs, ys, &mut r).unwrap();
                opt.begin_step(1e-3);
                m.apply(&mut opt).unwrap();
            };
            for _ in 0..3 {
                step(&mut m);
            }
            let n = 20;
            let (t0, c0) = (std::time::Instant::now(), thread_cpu_secs());
            for _ in 0..n {
                step(&mut m);
            }
            let wall = t0.elapsed().as_secs_f64() / n as f64;
            let cpu = thread_cpu_secs().zip(c0).map(|(b, a)| (b - a) / n as f64);
            let t1 = std::time::Instant::now();
            m.evaluate(&ex.xs, &ex.ys).unwrap();
            println!(
                "d={d} depth=2 p={p} batch 512: {:.2} ms/step wall, {:.2} ms/step on this thread's CPU; \
                 eval of {} examples {:.1} ms wall",
                wall * 1e3,
                cpu.unwrap_or(f64::NAN) * 1e3,
                ex.len(),
                t1.elapsed().as_secs_f64() * 1e3
            );
        }
    }
}
