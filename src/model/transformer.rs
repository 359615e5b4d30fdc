//! The paper's transformer (candle). Placeholder until implemented.

use super::{BatchStats, Model, ModelError};
use crate::config::TransformerConfig;
use crate::rng::Rng;
use crate::train::optim::AdamW;

pub struct Transformer {}

impl Transformer {
    pub fn new(_cfg: &TransformerConfig, _p: u32, _rng: &mut Rng) -> Result<Self, ModelError> {
        Err(ModelError::Other(
            "the transformer is not implemented yet".into(),
        ))
    }
}

impl Model for Transformer {
    fn param_count(&self) -> u64 {
        0
    }
    fn param_sizes(&self) -> Vec<usize> {
        vec![]
    }
    fn forward_backward(
        &mut self,
        _: &[[u32; 2]],
        _: &[u32],
        _: &mut Rng,
    ) -> Result<BatchStats, ModelError> {
        Err(ModelError::Other("unimplemented".into()))
    }
    fn evaluate(&mut self, _: &[[u32; 2]], _: &[u32]) -> Result<BatchStats, ModelError> {
        Err(ModelError::Other("unimplemented".into()))
    }
    fn apply(&mut self, _: &mut AdamW) -> Result<(), ModelError> {
        Ok(())
    }
    fn weight_norm_sq(&self) -> Result<f64, ModelError> {
        Ok(0.0)
    }
    fn export(&self) -> Result<Vec<(String, Vec<usize>, Vec<f32>)>, ModelError> {
        Ok(vec![])
    }
}
