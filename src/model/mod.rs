//! Models for the Grokking lab. Each owns its parameters and gradients and applies our AdamW to them.

pub mod complete_layer;
pub mod device;
#[cfg(feature = "cuda")]
pub mod gpu;
pub mod linalg;
pub mod mlp;
#[cfg(feature = "candle")]
pub mod transformer;
pub mod transformer_cpu;
pub mod transformer_params;

use crate::config::{ModelConfig, TransformerConfig};
use crate::optim::AdamW;
use crate::rng::Rng;

/// Loss and accuracy over a batch.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BatchStats {
    /// Sum of per-example cross-entropy (nats).
    pub loss_sum: f64,
    /// Examples whose arg-max prediction is the target.
    pub correct: usize,
    pub count: usize,
}

impl BatchStats {
    pub fn add(&mut self, o: BatchStats) {
        self.loss_sum += o.loss_sum;
        self.correct += o.correct;
        self.count += o.count;
    }
    pub fn mean_loss(&self) -> f64 {
        self.loss_sum / self.count.max(1) as f64
    }
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.count.max(1) as f64
    }
}

/// A failure inside a model (candle errors, shape mismatches).
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[cfg(feature = "candle")]
    #[error("tensor error: {0}")]
    Candle(#[from] candle_core::Error),
    #[error(transparent)]
    Device(#[from] device::DeviceError),
    #[error("{0}")]
    Other(String),
}

/// One parameter tensor: name, shape, row-major values.
pub type NamedTensor = (String, Vec<usize>, Vec<f32>);

/// A copy of a model's parameters that evaluates on another thread while the model itself trains on
/// ([`Model::eval_copy`]).
pub trait EvalCopy: Send + std::any::Any {
    /// [`Model::evaluate`] at the parameters of the copy's last refresh: the same statistics, bit for bit.
    fn evaluate_copy(&mut self, xs: &[[u32; 2]], ys: &[u32]) -> Result<BatchStats, ModelError>;
}

/// `old` as the copy type `C` a model makes, if it is one.
pub(crate) fn reuse_copy<C: EvalCopy>(old: Option<Box<dyn EvalCopy>>) -> Option<Box<C>> {
    let any: Box<dyn std::any::Any> = old?;
    any.downcast().ok()
}

/// A trainable classifier of (a, b) pairs over p answers.
pub trait Model: Send {
    /// Trainable parameters.
    fn param_count(&self) -> u64;
    /// Lengths of the parameter tensors, in the order `apply` updates them (the optimiser's slots).
    fn param_sizes(&self) -> Vec<usize>;
    /// Forward and backward pass in training mode (dropout on, drawn from `rng`); keeps the gradients.
    fn forward_backward(
        &mut self,
        xs: &[[u32; 2]],
        ys: &[u32],
        rng: &mut Rng,
    ) -> Result<BatchStats, ModelError>;
    /// Eval-mode loss and accuracy (no dropout, no gradients).
    fn evaluate(&mut self, xs: &[[u32; 2]], ys: &[u32]) -> Result<BatchStats, ModelError>;
    /// Apply one optimiser update (after `opt.begin_step`) with the gradients of the last backward pass.
    fn apply(&mut self, opt: &mut AdamW) -> Result<(), ModelError>;
    /// Sum of squared parameters.
    fn weight_norm_sq(&self) -> Result<f64, ModelError>;
    /// Every parameter tensor as (name, shape, values), for saving and for views.
    fn export(&self) -> Result<Vec<NamedTensor>, ModelError>;
    /// Where this model trains and why (for stderr and the status bar).
    fn device_choice(&self) -> device::Choice {
        device::Choice::cpu_only()
    }
    /// AdamW's moments (m, v) after the last `apply`, for a checkpoint. A model that keeps them elsewhere
    /// (the transformer on a GPU) reads them back; `opt.m` and `opt.v` are then not kept up to date.
    #[allow(clippy::type_complexity)]
    fn optimiser_moments(&self, opt: &AdamW) -> Result<(Vec<Vec<f32>>, Vec<Vec<f32>>), ModelError> {
        Ok((opt.m.clone(), opt.v.clone()))
    }
    /// Replace every parameter with the given tensors (as `export` gives them: same names, shapes and
    /// order), e.g. from a checkpoint. Refused, changing nothing, when any name or shape differs.
    fn import(&mut self, tensors: &[NamedTensor]) -> Result<(), ModelError>;
    /// A copy of the current parameters that evaluates on another thread ([`EvalCopy`]): `old`, a copy
    /// this model made before, refreshed in place (its buffers kept), or a new one. `None`: this model
    /// evaluates only where it trains (the candle model).
    fn eval_copy(&self, old: Option<Box<dyn EvalCopy>>) -> Option<Box<dyn EvalCopy>> {
        let _ = old;
        None
    }
    /// Whether [`Model::evaluate`] of this batch now computes the very pass that the next
    /// `forward_backward` of it then keeps instead of computing it again (the MLP in full batch: it has
    /// no dropout), so that evaluating it costs nothing extra where the model trains.
    fn evaluation_is_reused(&self, xs: &[[u32; 2]], ys: &[u32]) -> bool {
        let _ = (xs, ys);
        false
    }
}

/// Check that `given` has the names and shapes of `expected` (both as `Model::export` orders them).
pub fn check_import(expected: &[NamedTensor], given: &[NamedTensor]) -> Result<(), ModelError> {
    if expected.len() != given.len() {
        return Err(ModelError::Other(format!(
            "the checkpoint holds {} parameter tensors, the model has {}",
            given.len(),
            expected.len()
        )));
    }
    for ((en, es, _), (gn, gs, gv)) in expected.iter().zip(given) {
        if en != gn || es != gs {
            return Err(ModelError::Other(format!(
                "the checkpoint's tensor {gn} {gs:?} does not fit the model's {en} {es:?}"
            )));
        }
        if gv.len() != es.iter().product::<usize>() {
            return Err(ModelError::Other(format!(
                "the checkpoint's tensor {gn} has {} values, its shape {gs:?} needs {}",
                gv.len(),
                es.iter().product::<usize>()
            )));
        }
    }
    Ok(())
}

/// A model of token sequences `[t0, t1, t2, t3]` over the vocabulary [0, p + 2): the Capacity lab's
/// random-label data puts a random token in every position and a target anywhere in the vocabulary, which
/// the (a, b) interface of [`Model`] cannot express.
pub trait SequenceModel: Model {
    /// [`Model::forward_backward`] on token sequences; keeps the gradients for [`Model::apply`].
    fn forward_backward_tokens(
        &mut self,
        seqs: &[[u32; 4]],
        ys: &[u32],
        rng: &mut Rng,
    ) -> Result<BatchStats, ModelError>;
    /// [`Model::evaluate`] on token sequences (eval mode, no gradients).
    fn evaluate_tokens(&mut self, seqs: &[[u32; 4]], ys: &[u32]) -> Result<BatchStats, ModelError>;
}

/// Where a model of this config will train and why, as [`build`] decides it (the MLP: the CPU; the
/// transformer: its `device`, or the command line's `--device`, probed once per process). A study says it
/// once in its `Started`; an explicit GPU that cannot be used is an error here, before any task starts.
pub fn device_for(cfg: &ModelConfig) -> Result<device::Choice, device::DeviceError> {
    match cfg {
        ModelConfig::Mlp(_) => Ok(device::Choice::cpu_only()),
        ModelConfig::Transformer(t) => {
            let request = device::effective(t.device);
            let choice = device::choose(request, &device::probe(request))?;
            // a CPU-only build has nothing to choose unless something was asked for
            if cfg!(feature = "cuda") || !request.is_auto() {
                device::announce(&choice);
            }
            Ok(choice)
        }
    }
}

/// Build the paper's transformer for prime `p`, initialised from `rng`, where [`device_for`] places it:
/// the candle model on a GPU (a `cuda` build), else the hand-written CPU path. Both draw the same initial
/// parameters and dropout masks.
pub fn build_transformer(
    cfg: &TransformerConfig,
    p: u32,
    rng: &mut Rng,
) -> Result<Box<dyn SequenceModel>, ModelError> {
    let choice = device_for(&ModelConfig::Transformer(cfg.clone()))?;
    match choice.placement {
        #[cfg(feature = "cuda")]
        device::Placement::Cuda(_) => Ok(Box::new(transformer::Transformer::new(cfg, p, rng)?)),
        _ => Ok(Box::new(
            transformer_cpu::CpuTransformer::new(cfg, p, rng)?.placed(choice),
        )),
    }
}

/// Build the configured model for a task with prime `p`, initialised from `rng`.
pub fn build(cfg: &ModelConfig, p: u32, rng: &mut Rng) -> Result<Box<dyn Model>, ModelError> {
    match cfg {
        ModelConfig::Mlp(m) => Ok(Box::new(mlp::Mlp::new(m, p, rng))),
        ModelConfig::Transformer(t) => Ok(build_transformer(t, p, rng)?),
    }
}
