//! How much memory a Grokking run needs, estimated from its config before anything is allocated, and
//! the limit a run must fit under (checked at the edges, before a run folder is created).
//!
//! The estimate is an upper bound of the f32 buffers a run holds at its peak: the parameters, their
//! gradients and AdamW's two moments, the activations of one training step (kept for the backward
//! pass) and of one evaluation chunk. It errs high (the transformer's autograd copies are counted
//! twice) so that a config it accepts does not abort while allocating.

use super::{Combine, GrokkingConfig, ModelConfig};
use std::fmt;

/// Examples evaluated at once: the largest evaluation chunk of the models (the MLP's, 8192).
pub const EVAL_CHUNK: u64 = 8192;
/// Tokens a sequence of the transformer holds: a, op, b, =.
const SEQ: u64 = 4;
/// Floats a transformer layer keeps per token and unit of width: norms, q/k/v, attention output,
/// projection, residuals (about 10 d) and SwiGLU's gate, up, product and dropout mask (4 x 4d).
const PER_TOKEN_WIDTHS: u64 = 26;
const F32: u64 = 4;

/// The parts of a run's memory, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// The parameters.
    pub params: u64,
    /// Gradients and AdamW's first and second moments (three copies of the parameters).
    pub optimiser: u64,
    /// Activations and their gradients for one training step (one minibatch, or the whole training
    /// set with `full_batch`).
    pub step: u64,
    /// Activations of one evaluation chunk.
    pub eval: u64,
}

impl MemoryEstimate {
    pub fn total(&self) -> u64 {
        self.params
            .saturating_add(self.optimiser)
            .saturating_add(self.step)
            .saturating_add(self.eval)
    }
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 30) as f64
}

impl fmt::Display for MemoryEstimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.2} GiB (parameters {:.2}, gradients and optimiser state {:.2}, activations of a \
             training step {:.2}, of an evaluation pass {:.2})",
            gib(self.total()),
            gib(self.params),
            gib(self.optimiser),
            gib(self.step),
            gib(self.eval)
        )
    }
}

impl GrokkingConfig {
    /// The memory a run of this config needs at its peak (see the module's notes). Saturates rather
    /// than overflows, so an absurd config gives a huge estimate, never a wrapped small one.
    pub fn memory_estimate(&self) -> MemoryEstimate {
        let p = self.p as u64;
        let params = self.model.param_count(self.p as usize).saturating_mul(F32);
        let batch = self.effective_batch() as u64;
        let chunk = (self.dataset_size() as u64).min(EVAL_CHUNK);
        // floats per example kept for the backward pass (train) or for the forward only (eval),
        // and floats that do not grow with the batch
        let (train_floats, eval_floats, fixed) = match &self.model {
            ModelConfig::Mlp(m) => {
                let (e, h) = (m.embed_dim as u64, m.hidden as u64);
                let inputs = match m.combine {
                    Combine::Concat => 2 * e,
                    Combine::Sum => e,
                };
                // inputs, pre- and post-activation and their gradient [h x 3], logits and their
                // gradient [p x 2]; the eval pass keeps the hidden layer twice and the logits
                (
                    inputs + 3 * h + 2 * p,
                    2 * h + p,
                    // per-token projection tables of a and b: [2, p, h]
                    2 * p * h,
                )
            }
            ModelConfig::Transformer(t) => {
                let (d, depth, heads, vocab) =
                    (t.d_model as u64, t.depth as u64, t.heads as u64, p + 2);
                let layer = SEQ * PER_TOKEN_WIDTHS * d + 2 * heads * SEQ * SEQ;
                let forward = depth * layer + SEQ * d + 2 * SEQ * vocab;
                // autograd keeps every forward value and a gradient of each
                (2 * forward, forward, 0)
            }
        };
        MemoryEstimate {
            params,
            optimiser: params.saturating_mul(3),
            step: batch
                .saturating_mul(train_floats)
                .saturating_add(fixed)
                .saturating_mul(F32),
            eval: chunk
                .saturating_mul(eval_floats)
                .saturating_add(fixed)
                .saturating_mul(F32),
        }
    }

    /// Refused, with the estimate, when a run of this config needs more than `limit_bytes`.
    pub fn check_memory(&self, limit_bytes: u64) -> Result<MemoryEstimate, String> {
        let est = self.memory_estimate();
        if est.total() > limit_bytes {
            return Err(format!(
                "this config needs about {est}, more than the limit of {:.2} GiB; use a smaller \
                 model, batch or prime, or raise the limit (--max-memory-gb or GROKSCOPE_MAX_MEMORY_GB)",
                gib(limit_bytes)
            ));
        }
        Ok(est)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Activation, MlpConfig, Operation, OptimConfig};

    fn mlp(p: u32, hidden: usize, batch: usize, full: bool) -> GrokkingConfig {
        GrokkingConfig {
            op: Operation::Add,
            p,
            train_fraction: 0.5,
            model: ModelConfig::Mlp(MlpConfig {
                embed_dim: 4,
                hidden,
                activation: Activation::Relu,
                combine: Combine::Concat,
                init_scale: 1.0,
            }),
            optim: OptimConfig {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.98,
                eps: 1e-8,
                weight_decay: 1.0,
                warmup_steps: 0,
            },
            batch_size: batch,
            full_batch: full,
            max_epochs: 10,
            eval_every_epochs: 1,
            early_stop: true,
            seed: 0,
        }
    }

    #[test]
    fn small_mlp_by_hand() {
        // p = 5, e = 4, h = 8, concat: params 5*4 + 8*8 + 8 + 8*5 + 5 = 137 -> 548 bytes; gradients
        // and moments 3 * 548 = 1644. 25 examples, 12 train, batch 4: step 4 * (8 + 24 + 10) + 2*5*8
        // = 168 + 80 = 248 floats = 992 bytes; eval 25 * (16 + 5) + 80 = 605 floats = 2420 bytes.
        let e = mlp(5, 8, 4, false).memory_estimate();
        assert_eq!(
            e,
            MemoryEstimate {
                params: 548,
                optimiser: 1644,
                step: 992,
                eval: 2420
            }
        );
        assert_eq!(e.total(), 548 + 1644 + 992 + 2420);
    }

    #[test]
    fn the_issue_config_is_refused_under_a_machine_limit() {
        // issue 13: p = 2003, train fraction 0.99, full batch, hidden 8192 reached 15.5 GB resident in
        // 10 s. Its full batch is floor(0.99 * 2003^2) = 3_971_929 examples; the logits alone are
        // 3_971_929 * 2003 floats = 31.8 GB, so any limit of a 128 GB machine's half refuses it.
        let mut cfg = mlp(2003, 8192, 512, true);
        cfg.train_fraction = 0.99;
        let e = cfg.memory_estimate();
        assert!(e.step > 3_971_929 * 2003 * 4, "{e}");
        let why = cfg.check_memory(64 << 30).unwrap_err();
        assert!(why.contains("activations of a training step"), "{why}");
        assert!(mlp(97, 64, 512, false).check_memory(1 << 30).is_ok());
    }
}
