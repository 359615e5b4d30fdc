//! The insight views' input at one step (spec section 4): from a model's weights alone, so the live run
//! (on the worker) and a saved checkpoint give the same numbers, and on a schedule that keeps their cost
//! within a share of the training time.
//!
//! The MLP's measures come from its exported weights through the pure functions of `analysis`. The
//! transformer's hidden layer needs a forward pass: the weights go into a CPU copy of the model
//! ([`CpuTransformer`], the same function as the GPU model) whose [`CpuTransformer::probe`] gives the last
//! block's feed-forward activations at the last position and the read-out from them.

use crate::analysis::ablation::{self, HiddenGrid, MlpWeights, Readout};
use crate::analysis::fourier::KeySelect;
use crate::analysis::insight::{self, Split};
use crate::config::memory::INSIGHT_FULL_LOGITS_MAX;
use crate::config::{ModelConfig, Operation, ValidGrokkingConfig};
use crate::model::transformer_cpu::CpuTransformer;
use crate::model::{ModelError, NamedTensor};
use crate::protocol::{InsightSnapshot, NeuronShares};
use crate::rng::{self, Stream};
use std::sync::Arc;
use std::time::Duration;

/// The share of a window run's training time its insight snapshots may take (`grokscope bench` measures
/// what it costs: `fast_preset` against `fast_preset_insight`).
pub const WINDOW_SHARE: f64 = 0.05;

/// Key frequencies: every frequency with at least this share of the embedding's power...
pub const KEY_SHARE: f64 = 0.05;
/// ... at most this many ...
pub const MAX_KEYS: usize = 6;
/// ... and, when none stands out, the largest few (the plot says which are in use).
pub const FALLBACK_KEYS: usize = 3;

/// The key frequencies of an embedding spectrum (1-based, strongest first).
pub fn key_frequencies(norms: &[f64]) -> Vec<usize> {
    let mut keys = crate::analysis::fourier::select_keys(norms, KeySelect::Share(KEY_SHARE));
    keys.truncate(MAX_KEYS);
    if keys.is_empty() {
        keys = crate::analysis::fourier::select_keys(norms, KeySelect::Top(FALLBACK_KEYS));
    }
    keys
}

/// Computes snapshots of one run's config (keeps the pairs, the split and a CPU model between calls).
pub struct Prober {
    op: Operation,
    p: usize,
    model: ModelConfig,
    /// Every pair, row a * p + b.
    pairs: Vec<[u32; 2]>,
    split: Vec<Split>,
    /// The transformer's CPU copy, built on first use.
    cpu: Option<CpuTransformer>,
}

impl Prober {
    pub fn new(cfg: &ValidGrokkingConfig) -> Self {
        let p = cfg.p as usize;
        let pairs = (0..cfg.p)
            .flat_map(|a| (0..cfg.p).map(move |b| [a, b]))
            .collect();
        Prober {
            op: cfg.op,
            p,
            model: cfg.model.clone(),
            pairs,
            split: insight::run_split(cfg),
            cpu: None,
        }
    }

    /// Train or validation for every pair, row a * p + b.
    pub fn split(&self) -> &[Split] {
        &self.split
    }

    /// The measures of the weights `tensors` (as `Model::export` gives them) at `step`, `epoch`.
    pub fn snapshot(
        &mut self,
        tensors: &[NamedTensor],
        step: u64,
        epoch: u64,
    ) -> Result<InsightSnapshot, ModelError> {
        self.measure(tensors, step, epoch, None)
    }

    /// The restricted and excluded loss of the weights `tensors` for the key frequencies `keys` (e.g.
    /// the final model's, as Nanda et al. fix them), not those of the weights' own spectrum.
    pub fn ablation_with_keys(
        &mut self,
        tensors: &[NamedTensor],
        keys: &[usize],
    ) -> Result<ablation::AblationLosses, ModelError> {
        let s = self.measure(tensors, 0, 0, Some(keys))?;
        s.ablation
            .ok_or_else(|| ModelError::Other("no ablation was computed".into()))
    }

    /// The measures, the ablation with `keys` when given (else the spectrum's key frequencies).
    fn measure(
        &mut self,
        tensors: &[NamedTensor],
        step: u64,
        epoch: u64,
        fixed_keys: Option<&[usize]>,
    ) -> Result<InsightSnapshot, ModelError> {
        let (op, p) = (self.op, self.p);
        let (_, shape, embed) = tensors
            .iter()
            .find(|(name, shape, _)| name == "embed" && shape.len() == 2 && shape[0] >= p)
            .ok_or_else(|| ModelError::Other("the weights hold no embedding".into()))?;
        let e = shape[1];
        let embed = embed[..p * e].to_vec();
        let spectrum = insight::embedding_spectrum(op, &embed, p, e, KeySelect::Top(0)).norms;
        let keys = key_frequencies(&spectrum);
        let ablation_keys = fixed_keys.unwrap_or(&keys);
        let (predictions, neurons, ab) = match &self.model {
            ModelConfig::Mlp(m) => {
                let w = MlpWeights::from_export(tensors, m.activation)
                    .map_err(|err| ModelError::Other(err.to_string()))?;
                let hidden = w.hidden(p);
                // the read-out as the model's own: a matrix product (gemm), not a plain loop
                let readout = Readout::Linear {
                    w: w.w2,
                    bias: Some(w.b2),
                    product: Some(gemm_product),
                };
                // every pair's logits are held (and handed to the ablation) only up to a size; above
                // it the answer grid is computed chunk by chunk, and the ablation reads out itself
                let whole = grid(op, p, w.h, &hidden, None);
                let logits = (p * p * p <= INSIGHT_FULL_LOGITS_MAX)
                    .then(|| ablation::grid_logits(&whole, &readout));
                let predictions = match &logits {
                    Some(l) => ablation::argmax_rows(l, p),
                    None => ablation::grid_argmax(&whole, &readout),
                };
                let nf = insight::neuron_frequencies(op, &embed, p, e, w.w_in_a(), w.h);
                let neurons = NeuronShares {
                    neurons: nf.neurons,
                    frequencies: nf.freqs,
                    share: nf.share.iter().map(|&v| v as f32).collect(),
                };
                let ab = ablation::ablation_losses(
                    &grid(op, p, w.h, &hidden, logits.as_deref()),
                    &self.split,
                    ablation_keys,
                    &readout,
                );
                (predictions, Some(neurons), ab)
            }
            ModelConfig::Transformer(t) => {
                let cpu = match &mut self.cpu {
                    Some(cpu) => cpu,
                    None => {
                        // initial values are replaced by `import` at once
                        let mut r = rng::stream(0, Stream::Init);
                        self.cpu.insert(CpuTransformer::new(t, p as u32, &mut r)?)
                    }
                };
                crate::model::Model::import(cpu, tensors)?;
                let probe = cpu.probe(&self.pairs)?;
                let predictions = ablation::argmax_rows(&probe.logits, probe.vocab);
                let logits_fn = |rows: &[usize], hidden: &[f32], out: &mut [f32]| {
                    probe.readout(rows, hidden, out)
                };
                let readout = Readout::Custom {
                    classes: probe.vocab,
                    logits: &logits_fn,
                };
                let ab = ablation::ablation_losses(
                    &grid(op, p, probe.hidden_width, &probe.hidden, None),
                    &self.split,
                    ablation_keys,
                    &readout,
                );
                (predictions, None, ab)
            }
        };
        Ok(InsightSnapshot {
            step,
            epoch,
            op,
            p,
            e,
            embed,
            spectrum,
            keys,
            predictions,
            neurons,
            ablation: Some(ab),
        })
    }
}

/// The views' matrix product for a linear read-out: `linalg::matmul` (gemm, as the models use). At
/// p = 1009 and h = 128 an MLP snapshot took 22 s with the plain loop and 9 s with this.
fn gemm_product(out: &mut [f32], a: &[f32], b: &[f32], m: usize, k: usize, n: usize) {
    crate::model::linalg::matmul(out, a, b, m, k, n, false, false, false);
}

fn grid<'a>(
    op: Operation,
    p: usize,
    h: usize,
    values: &'a [f32],
    logits: Option<&'a [f32]>,
) -> HiddenGrid<'a> {
    HiddenGrid {
        op,
        p,
        h,
        values,
        logits,
    }
}

/// When a run takes snapshots.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum InsightEvery {
    /// None (the command line's runs, benchmarks).
    Off,
    /// At the start and at every epoch that is a multiple of this (deterministic: tests, exports).
    Epochs(u64),
    /// At the start, then whenever the snapshots so far have cost at most this share of the training time
    /// (the window's runs: about 5 %), or the speed limit has held the run at least as long as the last
    /// snapshot took since it was taken (then it costs the run nothing). Which steps get one depends on
    /// the machine; their values do not.
    Budget(f64),
}

/// Decides at each epoch end whether to take a snapshot, and accounts for their cost.
#[derive(Clone, Debug)]
pub struct Schedule {
    every: InsightEvery,
    training: Duration,
    spent: Duration,
    /// The last snapshot's cost (the estimate of the next one's).
    last: Duration,
    /// Time the speed limit held the run since the last snapshot.
    idle: Duration,
}

impl Schedule {
    pub fn new(every: InsightEvery) -> Self {
        Schedule {
            every,
            training: Duration::ZERO,
            spent: Duration::ZERO,
            last: Duration::ZERO,
            idle: Duration::ZERO,
        }
    }

    /// Whether snapshots are taken at all.
    pub fn on(&self) -> bool {
        self.every != InsightEvery::Off
    }

    /// Time spent training (steps and their evaluation).
    pub fn trained(&mut self, d: Duration) {
        self.training += d;
    }

    /// Time spent training so far.
    pub fn training(&self) -> Duration {
        self.training
    }

    /// The speed limit held the run for `d` (time the snapshots may use for free).
    pub fn idled(&mut self, d: Duration) {
        self.idle += d;
    }

    /// Whether the time the speed limit held the run pays for the next snapshot.
    fn free(&self) -> bool {
        !self.idle.is_zero() && self.last <= self.idle
    }

    /// A snapshot took `d` (from the share of the training time, unless the speed limit paid for it).
    pub fn took(&mut self, d: Duration) {
        if !self.free() {
            self.spent += d;
        }
        self.last = d;
        self.idle = Duration::ZERO;
    }

    /// Whether to take one at the end of `epoch` (epoch 0: before training).
    pub fn due(&self, epoch: u64) -> bool {
        match self.every {
            InsightEvery::Off => false,
            InsightEvery::Epochs(n) => epoch == 0 || epoch.is_multiple_of(n.max(1)),
            InsightEvery::Budget(share) => {
                epoch == 0
                    || self.free()
                    || (self.spent + self.last).as_secs_f64() <= share * self.training.as_secs_f64()
            }
        }
    }
}

/// A run's weights at evenly spaced epochs, kept so its views can be filled in between the live
/// snapshots once there is time (the run paused or ended). At most `max` frames: the first row epoch of
/// each span of `stride` epochs; when one more would not fit, the stride doubles and every other
/// frame goes, so any run length ends with between `max / 2` and `max` frames spread evenly over it.
#[derive(Clone, Debug)]
pub struct Frames {
    max: usize,
    stride: u64,
    /// (step, epoch, weights), in step order; shared with the run's recorder once the run ends.
    frames: Vec<(u64, u64, Arc<Vec<NamedTensor>>)>,
}

impl Frames {
    /// Keeps at most `max` frames (0: none; see `config::memory::view_frames`).
    pub fn new(max: usize) -> Self {
        Frames {
            max,
            stride: 1,
            frames: Vec::new(),
        }
    }

    /// Whether the weights at the end of `epoch` are wanted (a span of the stride not yet held).
    pub fn wants(&self, epoch: u64) -> bool {
        self.max > 0
            && self
                .frames
                .last()
                .is_none_or(|&(_, e, _)| epoch / self.stride > e / self.stride)
    }

    /// Keep the weights at `step`, `epoch` (after [`Frames::wants`] said so).
    pub fn keep(&mut self, step: u64, epoch: u64, tensors: Vec<NamedTensor>) {
        if self.max == 0 {
            return;
        }
        self.frames.push((step, epoch, Arc::new(tensors)));
        self.thin();
    }

    /// Keep at most `max` frames from now on (fewer, when fewer views can be kept).
    pub fn cap(&mut self, max: usize) {
        self.max = self.max.min(max);
        if self.max == 0 {
            self.frames.clear();
        }
        self.thin();
    }

    /// Double the stride until the frames fit.
    fn thin(&mut self) {
        // ends: once the stride passes every epoch held, one frame is left
        while self.frames.len() > self.max.max(1) {
            self.stride = self.stride.saturating_mul(2);
            let stride = self.stride;
            let mut span = None;
            self.frames.retain(|&(_, e, _)| {
                let first = span != Some(e / stride);
                span = Some(e / stride);
                first
            });
        }
    }

    /// The steps held, ascending.
    pub fn steps(&self) -> Vec<u64> {
        self.frames.iter().map(|f| f.0).collect()
    }

    /// Of the frames whose step is not in `shown`, the one farthest from every shown step (the earliest
    /// of a tie): filled in this order, the views are spread evenly over the run whenever filling stops.
    pub fn farthest_from(&self, shown: &std::collections::BTreeSet<u64>) -> Option<usize> {
        let gap = |step: u64| {
            let below = shown.range(..step).next_back().map(|s| step - s);
            let above = shown.range(step..).next().map(|s| s - step);
            match (below, above) {
                (Some(b), Some(a)) => b.min(a),
                (Some(d), None) | (None, Some(d)) => d,
                (None, None) => u64::MAX,
            }
        };
        let mut best: Option<(usize, u64)> = None;
        for (i, &(step, _, _)) in self.frames.iter().enumerate() {
            let g = gap(step);
            if g > 0 && best.is_none_or(|(_, b)| g > b) {
                best = Some((i, g));
            }
        }
        best.map(|(i, _)| i)
    }

    /// Frame `i`: its step, epoch and weights.
    pub fn get(&self, i: usize) -> Option<(u64, u64, &[NamedTensor])> {
        self.frames.get(i).map(|(s, e, t)| (*s, *e, t.as_slice()))
    }

    /// Every frame, shared (to be saved with the run).
    pub fn shared(&self) -> Vec<(u64, u64, Arc<Vec<NamedTensor>>)> {
        self.frames.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{GrokkingConfig, MlpConfig, TransformerConfig};
    use crate::model::{self, Model};

    fn cfg(model: ModelConfig, op: Operation) -> ValidGrokkingConfig {
        let mut c: GrokkingConfig = crate::config::preset("fast-mlp").unwrap().config;
        c.p = 11;
        c.op = op;
        c.model = model;
        ValidGrokkingConfig::try_from(c).unwrap()
    }

    fn mlp() -> ModelConfig {
        ModelConfig::Mlp(MlpConfig {
            embed_dim: 6,
            hidden: 10,
            ..match crate::config::preset("fast-mlp").unwrap().config.model {
                ModelConfig::Mlp(m) => m,
                ModelConfig::Transformer(_) => unreachable!(),
            }
        })
    }

    fn transformer() -> ModelConfig {
        ModelConfig::Transformer(TransformerConfig {
            d_model: 8,
            depth: 2,
            heads: 1,
            dropout: 0.0,
            init_scale: 1.0,
            device: Default::default(),
        })
    }

    /// Frames of a long run stay within their cap and spread evenly: 1000 epochs into 8 frames keep
    /// the first epoch of each span of 128 (the stride doubled from 1 until 8 spans hold them all).
    #[test]
    fn frames_thin_to_evenly_spaced_epochs_within_their_cap() {
        let mut f = Frames::new(8);
        let mut exports = 0;
        for epoch in 1..=1000u64 {
            if f.wants(epoch) {
                exports += 1;
                f.keep(epoch * 2, epoch, vec![]);
            }
        }
        // spans of 128 epochs: [0, 128) starts at epoch 1, the others at their multiple of 128
        let epochs: Vec<u64> = f.steps().iter().map(|s| s / 2).collect();
        assert_eq!(epochs, [1, 128, 256, 384, 512, 640, 768, 896]);
        // each doubling asks for at most `max` more: the weights are exported rarely
        assert!(exports <= 8 * 8, "{exports} exports");
        // capped later (when a snapshot's size is known): thinned the same way at once
        f.cap(2);
        let epochs: Vec<u64> = f.steps().iter().map(|s| s / 2).collect();
        assert_eq!(epochs, [1, 512]);
        f.cap(0);
        assert!(f.steps().is_empty() && !f.wants(2000));
        // none kept when none may be
        let mut none = Frames::new(0);
        assert!(!none.wants(1));
        none.keep(1, 1, vec![]);
        assert!(none.steps().is_empty());
    }

    /// The fill order: the frame farthest from every step shown (the earliest of a tie), none left
    /// once all are shown.
    #[test]
    fn frames_fill_in_farthest_from_what_is_shown() {
        let mut f = Frames::new(16);
        for epoch in 1..=10 {
            f.keep(epoch, epoch, vec![]);
        }
        let mut shown: std::collections::BTreeSet<u64> = [0, 10].into();
        let mut order = vec![];
        while let Some(i) = f.farthest_from(&shown) {
            let step = f.get(i).unwrap().0;
            order.push(step);
            shown.insert(step);
        }
        // 5 (5 from both ends); then 2 (2, 3, 7 and 8 are 2 away: the earliest), then 7 (7 and 8 tie)
        assert_eq!(order[..3], [5, 2, 7]);
        assert_eq!(
            order.len(),
            9,
            "every frame but the one at 10, shown already"
        );
        // with nothing shown, the first frame
        assert_eq!(f.farthest_from(&Default::default()), Some(0));
    }

    /// The views' read-out through gemm gives what the plain loop of `analysis::ablation` gives: the
    /// same answer grid, and losses within 1e-5 (only the order of the sums differs). p = 23 keeps
    /// every pair's logits (the grid and the excluded loss's shortcut); the chunked path is held to the
    /// whole grid in `analysis::ablation`'s tests.
    #[test]
    fn the_gemm_read_out_agrees_with_the_plain_loop() {
        let mut c: GrokkingConfig = crate::config::preset("fast-mlp").unwrap().config;
        c.p = 23;
        let c = ValidGrokkingConfig::try_from(c).unwrap();
        let m = model::build(&c.model, c.p, &mut rng::stream(5, Stream::Init)).unwrap();
        let tensors = m.export().unwrap();
        let mut prober = Prober::new(&c);
        let s = prober.snapshot(&tensors, 1, 1).unwrap();
        let ModelConfig::Mlp(mc) = &c.model else {
            unreachable!("fast-mlp is an MLP")
        };
        let w = MlpWeights::from_export(&tensors, mc.activation).unwrap();
        let p = c.p as usize;
        let hidden = w.hidden(p);
        let plain = w.readout();
        let g = grid(c.op, p, w.h, &hidden, None);
        let logits = ablation::grid_logits(&g, &plain);
        assert_eq!(s.predictions, ablation::argmax_rows(&logits, p));
        let ab = ablation::ablation_losses(
            &grid(c.op, p, w.h, &hidden, Some(&logits)),
            prober.split(),
            &s.keys,
            &plain,
        );
        let got = s.ablation.as_ref().unwrap();
        for (a, b) in [
            (got.restricted.unwrap().loss, ab.restricted.unwrap().loss),
            (got.excluded.unwrap().loss, ab.excluded.unwrap().loss),
        ] {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }

    /// Expected values come from the model itself: its own evaluation over the validation pairs must agree
    /// with the snapshot's predictions (the count right), and the transformer probe's read-out must give
    /// back the logits of its own forward pass.
    #[test]
    fn predictions_agree_with_the_model_for_both_models_and_all_operations() {
        for model_cfg in [mlp(), transformer()] {
            for op in Operation::ALL {
                let c = cfg(model_cfg.clone(), op);
                let mut m = model::build(&c.model, c.p, &mut rng::stream(3, Stream::Init)).unwrap();
                let data = crate::data::modular::split(c.op, c.p, c.train_fraction, c.seed);
                let stats = m.evaluate(&data.val.xs, &data.val.ys).unwrap();
                let mut prober = Prober::new(&c);
                let s = prober.snapshot(&m.export().unwrap(), 7, 3).unwrap();
                let p = c.p as usize;
                let right = data
                    .val
                    .xs
                    .iter()
                    .zip(&data.val.ys)
                    .filter(|(x, y)| s.predictions[x[0] as usize * p + x[1] as usize] == **y)
                    .count();
                assert_eq!(right, stats.correct, "{op:?} {model_cfg:?}");
                assert_eq!((s.step, s.epoch, s.p), (7, 3, p));
                assert_eq!(
                    s.neurons.is_some(),
                    matches!(model_cfg, ModelConfig::Mlp(_))
                );
                let n = crate::analysis::fourier::Cycle::for_op(op, p).frequencies();
                assert_eq!(s.spectrum.len(), n);
                assert!(s.ablation.as_ref().is_some_and(|a| a.restricted.is_some()));
                if let ModelConfig::Transformer(t) = &c.model {
                    // the probe's read-out of its own hidden rows gives back its logits
                    let mut cpu =
                        CpuTransformer::new(t, c.p, &mut rng::stream(0, Stream::Init)).unwrap();
                    cpu.import(&m.export().unwrap()).unwrap();
                    let probe = cpu.probe(&prober.pairs).unwrap();
                    let rows: Vec<usize> = (0..p * p).collect();
                    let mut out = vec![0.0; p * p * probe.vocab];
                    probe.readout(&rows, &probe.hidden, &mut out);
                    let worst = out
                        .iter()
                        .zip(&probe.logits)
                        .map(|(a, b)| (a - b).abs())
                        .fold(0.0f32, f32::max);
                    assert!(worst < 1e-4, "{op:?}: read-out differs by {worst}");
                }
            }
        }
    }

    #[test]
    fn schedules() {
        let mut s = Schedule::new(InsightEvery::Epochs(5));
        assert_eq!(
            (0..12).filter(|&e| s.due(e)).collect::<Vec<_>>(),
            [0, 5, 10]
        );
        s = Schedule::new(InsightEvery::Budget(0.05));
        assert!(s.due(0));
        s.took(Duration::from_millis(10));
        // 10 ms spent + 10 ms expected needs 400 ms of training at 5 %
        s.trained(Duration::from_millis(399));
        assert!(!s.due(1));
        s.trained(Duration::from_millis(1));
        assert!(s.due(2));
        assert!(!Schedule::new(InsightEvery::Off).due(0));
    }

    /// Under a speed limit a snapshot is due once the run has been held as long as the last one took,
    /// and such a snapshot costs nothing of the share of the training time.
    #[test]
    fn the_speed_limit_pays_for_snapshots() {
        let mut s = Schedule::new(InsightEvery::Budget(0.05));
        s.took(Duration::from_millis(10));
        s.trained(Duration::from_millis(100));
        // 5 ms of the 10 a snapshot takes: not yet
        s.idled(Duration::from_millis(5));
        assert!(!s.due(1));
        s.idled(Duration::from_millis(5));
        assert!(s.due(2));
        s.took(Duration::from_millis(12));
        // paid by the limit: nothing spent of the share, so after 440 ms of training the share pays
        // for the next (12 ms + the first 10 <= 5 % of 440 ms)
        s.trained(Duration::from_millis(339));
        assert!(!s.due(3), "the idle time was used up by the last snapshot");
        s.trained(Duration::from_millis(1));
        assert!(s.due(4));
    }
}
