//! Seeded random streams. All randomness of a run comes from here, never from candle's unseedable RNG.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator used everywhere.
pub type Rng = ChaCha8Rng;

/// Independent streams of one seed, so that e.g. changing the dropout rate does not change the split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// The train/validation permutation.
    Split = 1,
    /// Parameter initialisation.
    Init = 2,
    /// Minibatch order.
    Batches = 3,
    /// Dropout masks.
    Dropout = 4,
    /// Random labels (capacity lab).
    Labels = 5,
    /// Pruning masks (ordering lab).
    Pruning = 6,
    /// The shuffles of orderedness's null baseline (ordering lab): [`stream_at`] one per measurement.
    Shuffle = 7,
}

/// The generator for one stream of one seed.
pub fn stream(seed: u64, which: Stream) -> Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(which as u64);
    r
}

/// The generator for item `index` of one stream of one seed (e.g. the measurement at a step), the same
/// whenever and in whatever order the items are drawn. Distinct (stream, index) pairs get distinct
/// ChaCha streams: the stream number is the index shifted above the 8 bits a [`Stream`] takes.
pub fn stream_at(seed: u64, which: Stream, index: u64) -> Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream((index << 8) | which as u64);
    r
}

/// A uniformly random permutation of 0..n (Fisher-Yates via rand).
pub fn permutation(n: usize, rng: &mut Rng) -> Vec<usize> {
    use rand::seq::SliceRandom;
    let mut v: Vec<usize> = (0..n).collect();
    v.shuffle(rng);
    v
}
