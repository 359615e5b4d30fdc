//! Checkpoints: everything a Grokking run needs to go on exactly as if it had never stopped.
//!
//! A checkpoint is a `safetensors` file. Its tensors are the model's parameters (`model/NAME`) and
//! the optimiser's moments (`opt_m/III`, `opt_v/III`, one pair per parameter slot); its string metadata
//! holds the config in force (TOML, with every mid-run change applied), the step and epoch, AdamW's step
//! count and hyper-parameters, the grokking detector and the exact positions of the minibatch and
//! dropout generators. Checkpoints are taken at epoch boundaries only: there the epoch's order is not yet
//! drawn and the running statistics are empty, so nothing else needs saving.
//!
//! Nothing read back is trusted: a file from another program, a newer format, a missing or misshapen
//! tensor, or a non-finite value is refused with a message naming it. From version 2 on, the `checksum`
//! metadata key holds the CRC-32C (the `crc` crate's CRC-32/ISCSI) of the config, the state and every
//! tensor's bytes in slot order, so a flipped byte anywhere in what is restored is found.

use crate::analysis::events::GrokDetector;
use crate::config::{GrokkingConfig, ValidGrokkingConfig};
use crate::model::NamedTensor;
use crate::optim::{AdamW, AdamWParams};
use crate::rng::Rng;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The value of the `format` metadata key of our checkpoints.
pub const FORMAT: &str = "grokscope-checkpoint";
/// The newest checkpoint version this build reads and the one it writes (2: with `checksum`).
pub const VERSION: u32 = 2;

/// CRC-32C (Castagnoli), the checksum of the checkpoints' contents.
const CRC32C: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);

/// The checksum of a checkpoint's config, state and tensors (in slot order), as 8 hex digits.
fn checksum<'a>(config: &str, state: &str, tensors: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut digest = CRC32C.digest();
    for part in [config.as_bytes(), state.as_bytes()] {
        // the length first, so moving bytes between parts changes the sum
        digest.update(&(part.len() as u64).to_le_bytes());
        digest.update(part);
    }
    for t in tensors {
        digest.update(&(t.len() as u64).to_le_bytes());
        digest.update(t);
    }
    format!("{:08x}", digest.finalize())
}

/// Why a checkpoint could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The bytes are not a safetensors file.
    #[error("not a safetensors file: {0}")]
    Format(String),
    /// A safetensors file, but not one of ours or not one this build can read.
    #[error("{0}")]
    Foreign(String),
    /// One of ours, but a value in it is missing or unusable.
    #[error("{0}")]
    Corrupt(String),
    /// The trainer cannot be saved now (only at epoch boundaries).
    #[error("{0}")]
    NotNow(String),
}

/// A seeded generator's exact position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The 32-byte key, as hex.
    pub seed: String,
    pub stream: u64,
    /// Position in the stream, in 32-bit words (decimal: JSON numbers cannot hold a u128).
    pub word_pos: String,
}

impl RngState {
    pub fn of(rng: &Rng) -> Self {
        RngState {
            seed: rng.get_seed().iter().map(|b| format!("{b:02x}")).collect(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }

    pub fn restore(&self) -> Result<Rng, CheckpointError> {
        use rand::SeedableRng;
        let bad = |what: &str| CheckpointError::Corrupt(format!("generator state: bad {what}"));
        // 64 hex digits; ASCII first, so the two-byte slices below never cut a character
        if self.seed.len() != 64 || !self.seed.is_ascii() {
            return Err(bad("seed length"));
        }
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = u8::from_str_radix(&self.seed[2 * i..2 * i + 2], 16).map_err(|_| bad("seed"))?;
        }
        let pos: u128 = self.word_pos.parse().map_err(|_| bad("position"))?;
        let mut r = Rng::from_seed(seed);
        r.set_stream(self.stream);
        r.set_word_pos(pos);
        Ok(r)
    }
}

/// The scalar part of a trainer's state (the checkpoint's `state` metadata, as JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scalars {
    pub step: u64,
    pub epoch: u64,
    pub base_lr: f64,
    pub detector: GrokDetector,
    pub adam_t: u64,
    pub adam: AdamWParams,
    pub batch_rng: RngState,
    pub dropout_rng: RngState,
    /// Parameter names in slot order (safetensors does not keep an order).
    pub names: Vec<String>,
}

/// Everything a trainer needs to continue exactly.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainerState {
    /// The config in force (mid-run changes applied).
    pub config: ValidGrokkingConfig,
    pub scalars: Scalars,
    /// Parameters in slot order.
    pub model: Vec<NamedTensor>,
    /// AdamW's first and second moments, one per slot.
    pub opt_m: Vec<Vec<f32>>,
    pub opt_v: Vec<Vec<f32>>,
}

impl TrainerState {
    /// The optimiser as it was.
    pub fn optimiser(&self) -> AdamW {
        let mut opt = AdamW::new(self.scalars.adam, &[]);
        opt.t = self.scalars.adam_t;
        opt.m = self.opt_m.clone();
        opt.v = self.opt_v.clone();
        opt
    }

    /// Encode as a safetensors file.
    pub fn to_bytes(&self) -> Result<Vec<u8>, CheckpointError> {
        let mut tensors: Vec<(String, Vec<usize>, &[f32])> = vec![];
        for (name, shape, values) in &self.model {
            tensors.push((format!("model/{name}"), shape.clone(), values));
        }
        for (i, (m, v)) in self.opt_m.iter().zip(&self.opt_v).enumerate() {
            tensors.push((format!("opt_m/{i:03}"), vec![m.len()], m));
            tensors.push((format!("opt_v/{i:03}"), vec![v.len()], v));
        }
        let state = serde_json::to_string(&self.scalars)
            .map_err(|e| CheckpointError::Corrupt(format!("state: {e}")))?;
        encode(tensors, FORMAT, VERSION, &self.config.to_toml(), state)
    }

    /// Decode a checkpoint, checking everything in it.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CheckpointError> {
        let (st, meta, version) = decode(bytes, FORMAT, VERSION, "checkpoint")?;
        let get = |k: &str| meta_value(&meta, k, "checkpoint");
        // version 1 (before checksums) is still read; from version 2 on the checksum is required
        let expected = match version {
            0 | 1 => None,
            _ => Some(get("checksum")?),
        };
        let config = GrokkingConfig::from_toml(get("config")?)
            .map_err(|e| CheckpointError::Corrupt(format!("the checkpoint's config: {e:#}")))?;
        let scalars: Scalars = serde_json::from_str(get("state")?)
            .map_err(|e| CheckpointError::Corrupt(format!("the checkpoint's state: {e}")))?;
        let tensor = |name: &str| f32_tensor(&st, name);
        if let Some(expected) = expected {
            // the order `to_bytes` writes: every parameter, then each slot's two moments
            let names: Vec<String> = scalars
                .names
                .iter()
                .map(|n| format!("model/{n}"))
                .chain(
                    (0..scalars.names.len())
                        .flat_map(|i| [format!("opt_m/{i:03}"), format!("opt_v/{i:03}")]),
                )
                .collect();
            verify(&st, &names, get("config")?, get("state")?, expected)?;
        }
        let mut model = vec![];
        let (mut opt_m, mut opt_v) = (vec![], vec![]);
        for (i, name) in scalars.names.iter().enumerate() {
            let (shape, values) = tensor(&format!("model/{name}"))?;
            let (_, m) = tensor(&format!("opt_m/{i:03}"))?;
            let (_, v) = tensor(&format!("opt_v/{i:03}"))?;
            if m.len() != values.len() || v.len() != values.len() {
                return Err(CheckpointError::Corrupt(format!(
                    "optimiser state of {name} has {} / {} values for {} parameters",
                    m.len(),
                    v.len(),
                    values.len()
                )));
            }
            model.push((name.clone(), shape, values));
            opt_m.push(m);
            opt_v.push(v);
        }
        if st.len() != 3 * scalars.names.len() {
            return Err(CheckpointError::Corrupt(format!(
                "{} tensors where the state names {} parameters (3 tensors each)",
                st.len(),
                scalars.names.len()
            )));
        }
        Ok(TrainerState {
            config,
            scalars,
            model,
            opt_m,
            opt_v,
        })
    }
}

/// The safetensors bytes of `tensors` (name, shape, values) with the metadata `format`, `version`,
/// `config` (left out when empty), `state` and the checksum of config, state and tensors in their order.
fn encode(
    tensors: Vec<(String, Vec<usize>, &[f32])>,
    format: &str,
    version: u32,
    config: &str,
    state: String,
) -> Result<Vec<u8>, CheckpointError> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(n, s, v)| (n, s, v.iter().flat_map(|x| x.to_le_bytes()).collect()))
        .collect();
    let mut views = vec![];
    for (n, s, b) in &bytes {
        let view = TensorView::new(Dtype::F32, s.clone(), b)
            .map_err(|e| CheckpointError::Format(e.to_string()))?;
        views.push((n.clone(), view));
    }
    let sum = checksum(config, &state, bytes.iter().map(|(_, _, b)| b.as_slice()));
    let mut meta = HashMap::from([
        ("format".to_string(), format.to_string()),
        ("version".to_string(), version.to_string()),
        ("state".to_string(), state),
        ("checksum".to_string(), sum),
    ]);
    if !config.is_empty() {
        meta.insert("config".to_string(), config.to_string());
    }
    safetensors::serialize(views, Some(meta)).map_err(|e| CheckpointError::Format(e.to_string()))
}

/// The metadata value `key` of one of our files (a `what`: "checkpoint", "frame").
fn meta_value<'m>(
    meta: &'m HashMap<String, String>,
    key: &str,
    what: &str,
) -> Result<&'m String, CheckpointError> {
    meta.get(key).ok_or_else(|| {
        CheckpointError::Foreign(format!(
            "a safetensors file without our `{key}` metadata: not a grokscope {what}"
        ))
    })
}

/// A safetensors file of our `format` (a `what`) at a version this build reads: its tensors, metadata
/// and version.
fn decode<'b>(
    bytes: &'b [u8],
    format: &str,
    newest: u32,
    what: &str,
) -> Result<(SafeTensors<'b>, HashMap<String, String>, u32), CheckpointError> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| CheckpointError::Format(e.to_string()))?;
    let (_, header) =
        SafeTensors::read_metadata(bytes).map_err(|e| CheckpointError::Format(e.to_string()))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let found = meta_value(&meta, "format", what)?;
    if found != format {
        return Err(CheckpointError::Foreign(format!(
            "format {found:?} is not {format:?}: not a grokscope {what}"
        )));
    }
    let version: u32 = meta_value(&meta, "version", what)?
        .parse()
        .map_err(|_| CheckpointError::Corrupt(format!("{what} version is not a number")))?;
    if version > newest {
        return Err(CheckpointError::Foreign(format!(
            "{what} version {version} is newer than this build reads ({newest}); update grokscope"
        )));
    }
    Ok((st, meta, version))
}

/// Check the recorded checksum `expected` against `config`, `state` and the tensors `names` in order.
fn verify(
    st: &SafeTensors<'_>,
    names: &[String],
    config: &str,
    state: &str,
    expected: &str,
) -> Result<(), CheckpointError> {
    let mut raw: Vec<&[u8]> = vec![];
    for n in names {
        let t = st
            .tensor(n)
            .map_err(|_| CheckpointError::Corrupt(format!("tensor {n} is missing")))?;
        raw.push(t.data());
    }
    let found = checksum(config, state, raw);
    if found != expected {
        return Err(CheckpointError::Corrupt(format!(
            "checksum mismatch (recorded {expected}, the contents give {found}): the file is damaged"
        )));
    }
    Ok(())
}

/// Tensor `name`: F32, every value finite.
fn f32_tensor(st: &SafeTensors<'_>, name: &str) -> Result<(Vec<usize>, Vec<f32>), CheckpointError> {
    let t = st
        .tensor(name)
        .map_err(|_| CheckpointError::Corrupt(format!("tensor {name} is missing")))?;
    if t.dtype() != Dtype::F32 {
        return Err(CheckpointError::Corrupt(format!(
            "tensor {name} is {:?}, expected F32",
            t.dtype()
        )));
    }
    let values: Vec<f32> = t
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(CheckpointError::Corrupt(format!(
            "tensor {name} holds {} at index {i}",
            values[i]
        )));
    }
    Ok((t.shape().to_vec(), values))
}

/// The value of the `format` metadata key of our weight frames.
pub const FRAME_FORMAT: &str = "grokscope-frame";
/// The newest frame version this build reads and the one it writes.
pub const FRAME_VERSION: u32 = 1;

/// A frame's `state` metadata (JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct FrameState {
    step: u64,
    epoch: u64,
    /// Parameter names in slot order.
    names: Vec<String>,
}

/// A model's parameters at one step of a run, kept so that a saved run's insight views can be
/// recomputed there as densely as the live run showed them. Only the parameters (a third of a
/// checkpoint): a frame cannot be resumed from. The config is the run folder's, not the frame's (the
/// views need only its task and model, which a run never changes).
///
/// Its safetensors file holds `model/NAME` tensors and the metadata `format` ([`FRAME_FORMAT`]),
/// `version`, `state` (step, epoch and names, JSON) and `checksum` (CRC-32C, as a checkpoint's).
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub step: u64,
    pub epoch: u64,
    /// Parameters in slot order, as `Model::export` gives them.
    pub model: Vec<NamedTensor>,
}

impl Frame {
    /// Encode as a safetensors file.
    pub fn to_bytes(&self) -> Result<Vec<u8>, CheckpointError> {
        Self::encode(self.step, self.epoch, &self.model)
    }

    /// The file of the frame of `model` at `step`, `epoch`, without copying the weights into a
    /// [`Frame`] first.
    pub fn encode(
        step: u64,
        epoch: u64,
        model: &[NamedTensor],
    ) -> Result<Vec<u8>, CheckpointError> {
        let state = FrameState {
            step,
            epoch,
            names: model.iter().map(|(n, _, _)| n.clone()).collect(),
        };
        let state = serde_json::to_string(&state)
            .map_err(|e| CheckpointError::Corrupt(format!("state: {e}")))?;
        let tensors = model
            .iter()
            .map(|(n, shape, v)| (format!("model/{n}"), shape.clone(), v.as_slice()))
            .collect();
        encode(tensors, FRAME_FORMAT, FRAME_VERSION, "", state)
    }

    /// Decode a frame, checking everything in it.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CheckpointError> {
        let (st, meta, _) = decode(bytes, FRAME_FORMAT, FRAME_VERSION, "frame")?;
        let state_text = meta_value(&meta, "state", "frame")?;
        let state: FrameState = serde_json::from_str(state_text)
            .map_err(|e| CheckpointError::Corrupt(format!("the frame's state: {e}")))?;
        let names: Vec<String> = state.names.iter().map(|n| format!("model/{n}")).collect();
        verify(
            &st,
            &names,
            "",
            state_text,
            meta_value(&meta, "checksum", "frame")?,
        )?;
        if st.len() != names.len() {
            return Err(CheckpointError::Corrupt(format!(
                "{} tensors where the state names {} parameters",
                st.len(),
                names.len()
            )));
        }
        let mut model = vec![];
        for (name, full) in state.names.iter().zip(&names) {
            let (shape, values) = f32_tensor(&st, full)?;
            model.push((name.clone(), shape, values));
        }
        Ok(Frame {
            step: state.step,
            epoch: state.epoch,
            model,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Stream, stream};
    use rand::RngCore;

    #[test]
    fn generator_state_restores_the_exact_stream() {
        let mut a = stream(7, Stream::Batches);
        for _ in 0..1001 {
            a.next_u32();
        }
        let mut b = RngState::of(&a).restore().unwrap();
        let x: Vec<u64> = (0..50).map(|_| a.next_u64()).collect();
        let y: Vec<u64> = (0..50).map(|_| b.next_u64()).collect();
        assert_eq!(x, y);
        let mut bad = RngState::of(&a);
        bad.seed.truncate(10);
        assert!(bad.restore().is_err());
    }

    fn frame() -> Frame {
        Frame {
            step: 120,
            epoch: 60,
            model: vec![
                (
                    "embed".into(),
                    vec![3, 2],
                    vec![0.5, -1.0, 2.0, 0.25, 0.0, 3.5],
                ),
                ("out".into(), vec![2], vec![1.5, -2.5]),
            ],
        }
    }

    #[test]
    fn a_frame_reads_back_as_written() {
        let f = frame();
        let bytes = f.to_bytes().unwrap();
        assert_eq!(Frame::from_bytes(&bytes).unwrap(), f);
    }

    #[test]
    fn a_damaged_or_foreign_frame_is_refused_with_the_reason() {
        let bytes = frame().to_bytes().unwrap();
        // one flipped bit in the last value (the tensor data ends the file)
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        let e = Frame::from_bytes(&flipped).unwrap_err().to_string();
        assert!(e.contains("checksum mismatch"), "{e}");
        // cut short
        let e = Frame::from_bytes(&bytes[..bytes.len() / 2]).unwrap_err();
        assert!(matches!(e, CheckpointError::Format(_)), "{e}");
        // a checkpoint is not a frame
        let mut rng = crate::rng::stream(1, Stream::Batches);
        let config = crate::config::preset("fast-mlp").unwrap().config;
        let state = TrainerState {
            config: config.clone().try_into().unwrap(),
            scalars: Scalars {
                step: 1,
                epoch: 1,
                base_lr: 0.01,
                detector: GrokDetector::default(),
                adam_t: 1,
                adam: AdamWParams::from(&config.optim),
                batch_rng: RngState::of(&rng),
                dropout_rng: RngState::of(&rng),
                names: vec!["w".into()],
            },
            model: vec![("w".into(), vec![1], vec![rng.next_u32() as f32])],
            opt_m: vec![vec![0.0]],
            opt_v: vec![vec![0.0]],
        };
        let e = Frame::from_bytes(&state.to_bytes().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a grokscope frame"), "{e}");
        // and a frame is not a checkpoint
        let e = TrainerState::from_bytes(&bytes).unwrap_err().to_string();
        assert!(e.contains("not a grokscope checkpoint"), "{e}");
    }
}
