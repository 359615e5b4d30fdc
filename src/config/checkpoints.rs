//! How often a Grokking run takes a checkpoint (where a fork can start), and what that costs on disk.
//!
//! Every run checkpoints at its first step, at each milestone and at its end; the cadence adds the
//! periodic ones. The command line's default is about ten a run (`--checkpoint-every 0`); the
//! window's is [`CheckpointEvery::Auto`], which sizes the cadence by the model, so that a small
//! model's run has dozens of fork points on its plateau and a large one's stays within
//! [`AUTO_BYTES`] on disk.

use super::{GrokkingConfig, MAX_EPOCHS};
use serde::{Deserialize, Serialize};
use std::num::NonZeroU64;

/// The most bytes of periodic checkpoints the automatic cadence lets a run write by its epoch cap.
pub const AUTO_BYTES: u64 = 128 << 20;
/// The most periodic checkpoints the automatic cadence takes by a run's epoch cap (a tiny model's
/// would otherwise be one an epoch).
pub const AUTO_MAX: u64 = 500;
/// Checkpoints a run takes besides its periodic ones: step 0, its three milestones (memorised,
/// validation 98 % and 99 %) and its end.
pub const EXTRA: u64 = 2 + 3;
/// Bytes of a checkpoint file besides its floats: the safetensors header (names, shapes), the config
/// and the trainer's state (generator, detector) as text. Measured at 3 to 6 KiB; allowed 16.
const FILE_OVERHEAD: u64 = 16 << 10;

/// How often a run takes a periodic checkpoint.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointEvery {
    /// Every `max_epochs / 10` epochs (at least 1): about ten a run, the command line's default.
    Tenth,
    /// Every [`CheckpointEvery::epochs_for`] epochs: as often as keeps a run, by its epoch cap,
    /// within [`AUTO_BYTES`] and [`AUTO_MAX`] periodic checkpoints (the window's default).
    #[default]
    Auto,
    /// Every this many epochs.
    Epochs(NonZeroU64),
}

impl From<u64> for CheckpointEvery {
    /// The command line's `--checkpoint-every N`: 0 is about ten a run.
    fn from(n: u64) -> Self {
        NonZeroU64::new(n).map_or(CheckpointEvery::Tenth, CheckpointEvery::Epochs)
    }
}

impl CheckpointEvery {
    /// A cadence typed into the window: `n` epochs, from 1 to [`MAX_EPOCHS`]; otherwise why not,
    /// naming the setting and its range.
    pub fn epochs(n: i64) -> Result<Self, String> {
        match u64::try_from(n).ok().and_then(NonZeroU64::new) {
            Some(e) if e.get() <= MAX_EPOCHS => Ok(CheckpointEvery::Epochs(e)),
            _ => Err(format!(
                "checkpoint every: {n} epochs is outside the allowed range 1 to {MAX_EPOCHS}"
            )),
        }
    }

    /// The epochs between two periodic checkpoints of a run of `cfg` (at least 1).
    pub fn epochs_for(self, cfg: &GrokkingConfig) -> u64 {
        match self {
            CheckpointEvery::Tenth => (cfg.max_epochs / 10).max(1),
            CheckpointEvery::Epochs(n) => n.get(),
            CheckpointEvery::Auto => {
                let by_bytes = cfg
                    .max_epochs
                    .saturating_mul(checkpoint_bytes(cfg))
                    .div_ceil(AUTO_BYTES);
                let by_count = cfg.max_epochs.div_ceil(AUTO_MAX);
                by_bytes.max(by_count).max(1)
            }
        }
    }

    /// The most checkpoints a run of `cfg` takes by its epoch cap: the periodic ones and [`EXTRA`].
    pub fn count_for(self, cfg: &GrokkingConfig) -> u64 {
        (cfg.max_epochs / self.epochs_for(cfg)).saturating_add(EXTRA)
    }

    /// What the cadence means for a run of `cfg`, for a hover: how often, the size of one checkpoint
    /// and of all of them by the epoch cap (a run that stops early writes fewer).
    pub fn disk_text(self, cfg: &GrokkingConfig) -> String {
        let every = self.epochs_for(cfg);
        let count = self.count_for(cfg);
        let one = checkpoint_bytes(cfg);
        format!(
            "every {every} epoch{} for this config: at most {count} checkpoints of {} each, {} by \
             its epoch cap of {} (fewer when it stops early)",
            if every == 1 { "" } else { "s" },
            super::memory::size_text(one),
            super::memory::size_text(count.saturating_mul(one)),
            cfg.max_epochs
        )
    }
}

/// The size of one checkpoint file of a run of `cfg`: its parameters and AdamW's two moments as f32,
/// and the file's own bytes (an upper bound; `tests/runs.rs` compares it with a written file).
pub fn checkpoint_bytes(cfg: &GrokkingConfig) -> u64 {
    cfg.model
        .param_count(cfg.p as usize)
        .saturating_mul(3 * 4)
        .saturating_add(FILE_OVERHEAD)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> GrokkingConfig {
        crate::config::preset("fast-mlp").unwrap().config
    }

    /// The parameter counts are `ModelConfig::param_count`'s; the rest is worked out by hand.
    #[test]
    fn auto_keeps_a_run_within_its_bytes_and_count() {
        let cfg = fast();
        // fast-mlp: p 97, embed 32, hidden 128, concat: 97*32 + (64*128 + 128) + (128*97 + 97)
        let params = 97 * 32 + 64 * 128 + 128 + 128 * 97 + 97;
        assert_eq!(cfg.model.param_count(97), params);
        let one = params * 12 + (16 << 10);
        assert_eq!(checkpoint_bytes(&cfg), one);
        // 5000 epochs of 303,628-byte checkpoints in 128 MiB: ceil(5000 * 303628 / 134217728) = 12
        assert_eq!(one, 303_628);
        assert_eq!(CheckpointEvery::Auto.epochs_for(&cfg), 12);
        // so the fast preset's ~312 epochs hold 26 periodic checkpoints, 416 by its cap
        assert_eq!(CheckpointEvery::Auto.count_for(&cfg), 5000 / 12 + 5);
        // a tiny model is held by the count: 5000 epochs / 500 = 10
        let mut tiny = fast();
        tiny.p = 7;
        assert!(5000 * checkpoint_bytes(&tiny) < 10 * AUTO_BYTES);
        assert_eq!(CheckpointEvery::Auto.epochs_for(&tiny), 10);
        // the Nanda/Power setting: 40,000 epochs of a larger model, fewer and sparser
        let nanda = crate::config::preset("nanda-power").unwrap().config;
        let every = CheckpointEvery::Auto.epochs_for(&nanda);
        let bytes = checkpoint_bytes(&nanda);
        assert_eq!(every, (40_000 * bytes).div_ceil(AUTO_BYTES));
        assert!((40_000 / every) * bytes <= AUTO_BYTES);
    }

    #[test]
    fn tenth_and_epochs_are_the_command_lines() {
        let cfg = fast();
        assert_eq!(CheckpointEvery::from(0).epochs_for(&cfg), 500);
        assert_eq!(CheckpointEvery::from(7).epochs_for(&cfg), 7);
        let mut short = fast();
        short.max_epochs = 3;
        assert_eq!(CheckpointEvery::Tenth.epochs_for(&short), 1);
    }

    #[test]
    fn a_typed_cadence_out_of_range_is_named() {
        assert_eq!(
            CheckpointEvery::epochs(25),
            Ok(CheckpointEvery::Epochs(NonZeroU64::new(25).unwrap()))
        );
        for bad in [0, -3, MAX_EPOCHS as i64 + 1, i64::MIN] {
            let why = CheckpointEvery::epochs(bad).unwrap_err();
            assert!(
                why.contains("checkpoint every") && why.contains(&bad.to_string()),
                "{why}"
            );
        }
    }

    #[test]
    fn the_disk_text_says_how_often_and_how_much() {
        let cfg = fast();
        let every = CheckpointEvery::Epochs(NonZeroU64::new(1).unwrap());
        let text = every.disk_text(&cfg);
        // 5005 checkpoints of 303,628 bytes: 1.42 GiB
        assert!(text.starts_with("every 1 epoch for"), "{text}");
        assert!(text.contains("5005 checkpoints of 0.3 MiB"), "{text}");
        assert!(text.contains("1.42 GiB"), "{text}");
    }
}
