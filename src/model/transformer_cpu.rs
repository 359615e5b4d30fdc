//! The paper's transformer (spec section 1) with its forward and backward passes written by hand on `gemm`:
//! the CPU training path.
//!
//! It computes the same function as the candle [`Transformer`](super::transformer::Transformer), which stays
//! the reference (and the GPU path): the same parameter names, shapes, slot order and initial draws (shared
//! code), the same dropout masks drawn from the same stream in the same order (block by block, rows
//! example-major; the last block draws for its last position only), so a checkpoint of one resumes in the
//! other. The tests compare losses and gradients with candle's and with finite differences.
//!
//! Why by hand: at the Capacity lab's sizes (d = 8..48, about a thousand examples) a candle step is a few
//! hundred small ops at 1-2 us of overhead each. Here a block is four matrix products forward (q, k and v as
//! one; o; w1 and w3 as one; w2) and the small ops are fused loops: RMSNorm, rotary, causal attention over
//! four positions, SwiGLU with dropout, cross-entropy. All parameters live in one flat buffer in slot order,
//! so q|k|v and w1|w3 are already the stacked matrices of the fused products.
//!
//! As in the candle model, only the last position's logits are read, so the final block computes its query,
//! attention output and feed-forward for that position alone (keys and values still cover the sequence).

use super::device::{Choice, Placement};
use super::linalg::{
    self, View, cross_entropy, cross_entropy_of, exp, gemm_view, matmul, resize, wide_fn,
};
use super::transformer_params::{
    NORM_EPS, PER_BLOCK, SEQ, fill_dropout_mask, init_params, rotary_tables,
};
use super::{BatchStats, EvalCopy, Model, ModelError, NamedTensor, SequenceModel};
use crate::config::TransformerConfig;
use crate::data::modular::tokens;
use crate::optim::AdamW;
use crate::perf;
use crate::rng::Rng;
use rayon::prelude::*;
use std::ops::Range;

mod lanes;

const T: usize = SEQ;

/// Examples per forward pass in `evaluate`: bounds memory, keeps a chunk's activations in cache (the
/// memory estimate counts this many).
const EVAL_CHUNK: usize = crate::config::memory::TRANSFORMER_EVAL_CHUNK;

/// Evaluation shares rows between sequences only from this many sequences (see [`Layout::tables`]).
const SHARE_MIN: usize = crate::config::memory::TRANSFORMER_SHARE_MIN;
/// Positions a prefix covers (0 and 1: a and the operation), whose rows evaluation shares.
const SHARED: usize = 2;

/// What evaluation shares between sequences at one set of parameters, in eval mode (see
/// [`Layout::tables`]): block 0's q, k and v rows (after rotation) of every token at every position,
/// and every later block's rows at positions 0 and 1 of each prefix (first two tokens) met so far. They
/// are kept while the parameters stay the same, so the training and the validation set evaluated at one
/// epoch's end compute them once.
#[derive(Default)]
struct Tables {
    /// The identity of the parameters the rows were computed from ([`CpuTransformer::params_id`]; 0:
    /// none yet).
    params: u64,
    /// [vocab, T, 3d]: block 0's rows of the sequence [x, x, x, x], token x after token x.
    tokens: Vec<f32>,
    /// `rows[blk - 1]`, blocks 1..depth: [prefixes, 2, 3d].
    rows: Vec<Vec<f32>>,
    /// The prefixes met, by their second token: (that token, each first token's row in `rows` or
    /// [`NO_ROW`], the last call that met it).
    by_second: Vec<(u32, Vec<u32>, Vec<u64>)>,
    prefixes: u32,
    /// Every block's weight matrices in panels, for the lane pass ([`lanes::weight_panels`]).
    weights: Vec<f32>,
    /// Calls so far, to count a call's distinct prefixes.
    calls: u64,
}

const NO_ROW: u32 = u32::MAX;

/// Slots of a block's parameters relative to its first (see [`PER_BLOCK`]).
const ATTN_NORM: usize = 0;
const Q: usize = 1;
const K: usize = 2;
const V: usize = 3;
const O: usize = 4;
const FFN_NORM: usize = 5;
const W1: usize = 6;
const W3: usize = 7;
const W2: usize = 8;

/// Sizes, parameter layout and rotary tables: everything the passes read besides the buffers.
#[derive(Clone)]
struct Layout {
    d: usize,
    heads: usize,
    /// Head width d / heads.
    hd: usize,
    /// Feed-forward width 4d.
    hidden: usize,
    vocab: usize,
    depth: usize,
    /// Start of each slot in the flat parameter (and gradient) buffer, then the total.
    offsets: Vec<usize>,
    /// [T, hd] each, as the candle model's.
    cos: Vec<f32>,
    sin: Vec<f32>,
}

impl Layout {
    /// Slots `first..=last` as one range of the flat buffer.
    fn span(&self, first: usize, last: usize) -> Range<usize> {
        self.offsets[first]..self.offsets[last + 1]
    }
    fn slot(&self, i: usize) -> Range<usize> {
        self.span(i, i)
    }
    /// Slot `rel` of block `blk`.
    fn bslot(&self, blk: usize, rel: usize) -> usize {
        1 + PER_BLOCK * blk + rel
    }
    fn final_norm(&self) -> usize {
        self.offsets.len() - 3
    }
    fn unembed(&self) -> usize {
        self.offsets.len() - 2
    }
    /// Query positions of block `blk`: all T, or the last one in the final block.
    fn tq(&self, blk: usize) -> usize {
        if blk + 1 == self.depth { 1 } else { T }
    }
}

/// Activations of one block, kept for the backward pass.
#[derive(Default)]
struct BlockWork {
    x_in: Vec<f32>,  // [B*T, d] residual entering the block
    r1: Vec<f32>,    // [B*T] inverse RMS of x_in
    h1: Vec<f32>,    // [B*T, d] normed x_in
    qkv: Vec<f32>,   // [B*T, 3d] q (rotated; query rows only), k (rotated), v
    att: Vec<f32>,   // [B, heads, tq, T] attention weights, 0 above the diagonal
    ctx: Vec<f32>,   // [B*tq, d]
    x_mid: Vec<f32>, // [B*tq, d] residual after attention
    r2: Vec<f32>,    // [B*tq]
    h2: Vec<f32>,    // [B*tq, d] normed x_mid
    a: Vec<f32>,     // [B*tq, 8d] per row: silu(w1 x) (4d), then w3 x (4d)
    sig: Vec<f32>,   // [B*tq, 4d] sigmoid(w1 x), for the backward pass
    hid: Vec<f32>,   // [B*tq, 4d] silu(w1 x) * w3 x * mask
    mask: Vec<f32>,  // [B*tq*4d] inverted-dropout mask; empty without dropout
    draws: Vec<u8>,  // the mask's random draws, 16 bits an element
    sfx: Vec<f32>,   // evaluation from shared rows: q, k, v of positions 2 and 3 [B*2, 3d]
}

/// A training batch of at least this many examples is trained in two halves ([`first_half`]).
const HALVES_MIN: usize = 64;

/// The size of a training batch's first half, when a batch of `b` examples is trained in two halves:
/// each half's forward and backward pass on its own (on two cores when a second is free,
/// [`perf::both`]), then the second half's parameter gradients added to the first's. A batch's gradient
/// is thus two sums of its examples' in every case, so a run's numbers do not depend on the cores it
/// gets. `None` below [`HALVES_MIN`] examples: one pass.
fn first_half(b: usize) -> Option<usize> {
    (b >= HALVES_MIN).then(|| b.div_ceil(2))
}

/// Dropout for a training pass: the stream, the rate and, for a part of a batch, where the part's draws
/// lie in the stream.
struct Dropout<'a> {
    rng: &'a mut Rng,
    rate: f64,
    part: Option<Part>,
}

/// A pass over examples `first..` of a batch of `batch` examples, whose draws start at word `start` of
/// the dropout stream. Each block draws the masks of the whole batch's rows in turn (example-major), so
/// the part's draws in block `blk` start `words_before(blk, batch) + first * mask_words(blk)` words on
/// (see [`Layout::mask_words`]): a part draws the masks the whole batch's pass gives its examples.
#[derive(Clone, Copy)]
struct Part {
    start: u128,
    batch: usize,
    first: usize,
}

/// Reusable buffers: activations, logits and the backward pass's scratch.
#[derive(Default)]
struct Work {
    blocks: Vec<BlockWork>,
    out: Vec<f32>,    // [B, d] last position after the final block
    rf: Vec<f32>,     // [B]
    xf: Vec<f32>,     // [B, d] final-normed
    logits: Vec<f32>, // [B, vocab], then dLoss/dlogits
    dy: Vec<f32>,     // gradient of the current block's output [B*tq, d]
    dx: Vec<f32>,     // gradient of the current block's input [B*T, d]
    dxm: Vec<f32>,    // [B*tq, d]
    dh: Vec<f32>,     // [B*T, d]
    dqkv: Vec<f32>,   // [B*T, 3d]
    dctx: Vec<f32>,   // [B*tq, d]
    da: Vec<f32>,     // [B*tq, 8d]
    dhid: Vec<f32>,   // [B*tq, 4d]
    lanes: lanes::LaneWork,
}

/// A new identity for a set of parameters, never handed out before in this process (from 1): each
/// change to a model's parameters takes one and a copy takes its source's, so that two models with the
/// same identity hold the same parameters.
fn new_params_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

pub struct CpuTransformer {
    l: Layout,
    p: u32,
    dropout: f64,
    names: Vec<String>,
    shapes: Vec<Vec<usize>>,
    /// Every parameter, slot after slot, each row-major.
    w: Vec<f32>,
    /// The identity of `w` ([`new_params_id`]): a new one whenever `w` changes.
    params_id: u64,
    /// Gradients of the last `forward_backward`, same layout.
    g: Vec<f32>,
    has_grads: bool,
    /// The training's buffers, sized for `ws_batch` examples (its first half, when the batch is trained in
    /// halves), and the second half's.
    ws: Work,
    ws2: Work,
    ws_batch: usize,
    /// The second half's gradients (see [`first_half`]).
    g2: Vec<f32>,
    /// A second set, sized for `other_batch`: an epoch's last minibatch is often smaller than the rest,
    /// and one set would shrink for it and then be zeroed as it grows back for the next step. The two
    /// swap when the batch size changes.
    other_ws: Work,
    other_ws2: Work,
    other_batch: usize,
    /// Buffers of `evaluate`: this thread's, then each helper thread's. Apart from the training's `ws`:
    /// evaluation's chunks would shrink those buffers, and the next step would zero them as they grow
    /// back.
    eval_ws: Vec<Work>,
    /// What evaluation shares between sequences at the current parameters.
    tables: Tables,
    /// Token sequences of the current (a, b) batch.
    seqs: Vec<[u32; T]>,
    /// Why it trains on the CPU (set by `model::build_transformer`; views' copies keep the default).
    choice: Choice,
}

impl CpuTransformer {
    /// Build and initialise from `rng`: the candle model's parameters, drawn by the same code.
    pub fn new(cfg: &TransformerConfig, p: u32, rng: &mut Rng) -> Result<Self, ModelError> {
        let params = init_params(cfg, p, rng)?;
        let (d, heads) = (cfg.d_model, cfg.heads);
        let hd = d / heads;
        let mut offsets = vec![0];
        let (mut names, mut shapes, mut w) = (vec![], vec![], vec![]);
        for (name, shape, values) in params {
            w.extend_from_slice(&values);
            offsets.push(w.len());
            names.push(name);
            shapes.push(shape);
        }
        let (cos, sin) = rotary_tables(hd);
        Ok(CpuTransformer {
            l: Layout {
                d,
                heads,
                hd,
                hidden: 4 * d,
                vocab: p as usize + 2,
                depth: cfg.depth,
                offsets,
                cos,
                sin,
            },
            p,
            dropout: cfg.dropout,
            names,
            shapes,
            g: vec![0.0; w.len()],
            w,
            params_id: new_params_id(),
            has_grads: false,
            ws: Work::default(),
            ws2: Work::default(),
            ws_batch: 0,
            g2: vec![],
            other_ws: Work::default(),
            other_ws2: Work::default(),
            other_batch: 0,
            eval_ws: vec![],
            tables: Tables::default(),
            seqs: vec![],
            choice: Choice {
                placement: Placement::Cpu,
                reason: "the hand-written CPU path".into(),
            },
        })
    }

    /// The same model, saying why it trains on the CPU (see `model::device_for`).
    pub fn placed(mut self, choice: Choice) -> Self {
        self.choice = choice;
        self
    }

    /// A training pass over the batch `seqs` (one pass, or two halves: [`first_half`]): its statistics,
    /// with the gradients in `g` and the dropout stream `rng` moved past the batch's masks.
    fn train_seqs(
        &mut self,
        seqs: &[[u32; T]],
        ys: &[u32],
        rng: &mut Rng,
    ) -> Result<BatchStats, ModelError> {
        self.has_grads = false;
        let b = seqs.len();
        if b != self.ws_batch {
            std::mem::swap(&mut self.ws, &mut self.other_ws);
            std::mem::swap(&mut self.ws2, &mut self.other_ws2);
            std::mem::swap(&mut self.ws_batch, &mut self.other_batch);
            self.ws_batch = b;
        }
        let rate = (self.dropout > 0.0).then_some(self.dropout);
        let CpuTransformer {
            l,
            w,
            g,
            g2,
            ws,
            ws2,
            ..
        } = self;
        let (l, w) = (&*l, &w[..]);
        let Some(h) = first_half(b) else {
            let dropout = rate.map(|rate| Dropout {
                rng,
                rate,
                part: None,
            });
            let st = l.train_part(w, g, ws, seqs, ys, b, dropout);
            self.has_grads = true;
            return Ok(st);
        };
        // the two halves, the second on a lent core when one is free: each draws its rows' masks where
        // the whole batch's pass would ([`Part`]), and their gradients are added, the second half's to
        // the first's
        let start = rng.get_word_pos();
        let mut rng2 = rng.clone();
        g2.resize(w.len(), 0.0);
        let part = |rng, first| {
            rate.map(|rate| Dropout {
                rng,
                rate,
                part: Some(Part {
                    start,
                    batch: b,
                    first,
                }),
            })
        };
        let (d1, d2) = (part(&mut *rng, 0), part(&mut rng2, h));
        let (s1, s2) = perf::both(
            || l.train_part(w, g, ws, &seqs[..h], &ys[..h], b, d1),
            || l.train_part(w, g2, ws2, &seqs[h..], &ys[h..], b, d2),
        );
        if rate.is_some() {
            rng.set_word_pos(start + l.words_before(l.depth, b));
        }
        for (a, &x) in g.iter_mut().zip(g2.iter()) {
            *a += x;
        }
        let mut st = s1;
        st.add(s2);
        self.has_grads = true;
        Ok(st)
    }

    /// Eval-mode statistics in chunks of [`EVAL_CHUNK`] (a last chunk shorter than [`SHARE_MIN`] joins
    /// the one before it), spread over the threads this thread may use (`linalg::threads`; in a sweep's
    /// task one, or two while its group has a core spare): chunk k goes to thread k mod n (the second of
    /// two: this thread's helper, [`perf::on_two`]), each computes as the caller does (same float mode,
    /// single-threaded products), and the chunks' statistics are added in chunk order, so the result does
    /// not depend on the thread count. Block 0's products of every token, and the first two positions'
    /// work of the sequences that share them, are computed once ([`Layout::tables`]).
    fn eval_seqs(&mut self, seqs: &[[u32; T]], ys: &[u32]) -> BatchStats {
        let mut bounds: Vec<usize> = (0..seqs.len()).step_by(EVAL_CHUNK).collect();
        if bounds.len() > 1 && seqs.len() - bounds[bounds.len() - 1] < SHARE_MIN {
            bounds.pop();
        }
        bounds.push(seqs.len());
        let chunks: Vec<Range<usize>> = bounds.windows(2).map(|r| r[0]..r[1]).collect();
        // a sweep's training on one core borrows a second that its group has spare ([`perf::lend_core`])
        let lent = (linalg::threads() < 2 && chunks.len() > 1)
            .then(perf::lend_core)
            .flatten();
        let mine = linalg::threads().max(if lent.is_some() { 2 } else { 1 });
        let n = mine.min(chunks.len()).max(1);
        let CpuTransformer {
            l,
            w,
            params_id,
            eval_ws,
            tables,
            ..
        } = self;
        let (l, w) = (&*l, &w[..]);
        eval_ws.resize_with(n, Work::default);
        let (ws, helpers) = eval_ws.split_at_mut(1);
        let ws = &mut ws[0];
        let which = l.tables((w, *params_id), ws, tables, seqs);
        let (tables, which) = (&*tables, which.as_deref());
        let share = |ws: &mut Work, first: usize| -> Vec<(usize, BatchStats)> {
            (first..chunks.len())
                .step_by(n)
                .map(|k| {
                    let r = chunks[k].clone();
                    let shared = which.map(|which| (tables, &which[r.clone()]));
                    (k, l.eval_chunk(w, ws, &seqs[r.clone()], &ys[r], shared))
                })
                .collect()
        };
        let mut stats = vec![BatchStats::default(); chunks.len()];
        if n == 1 {
            for (k, st) in share(ws, 0) {
                stats[k] = st;
            }
        } else if n == 2 {
            // the second thread's chunks on this thread's helper (ready, unlike a new thread)
            let hws = &mut helpers[0];
            let (mine, theirs) = perf::on_two(|| share(ws, 0), || share(hws, 1));
            for (k, st) in mine.into_iter().chain(theirs) {
                stats[k] = st;
            }
        } else {
            let (mode, setting) = (perf::float_mode(), linalg::threads_setting());
            linalg::set_threads(1);
            let share = &share;
            let results = std::thread::scope(|scope| {
                let handles: Vec<_> = helpers
                    .iter_mut()
                    .enumerate()
                    .map(|(i, hws)| {
                        std::thread::Builder::new()
                            .name(format!("eval-{}", i + 1))
                            .spawn_scoped(scope, move || {
                                perf::set_float_mode(mode);
                                linalg::set_threads(1);
                                share(hws, i + 1)
                            })
                    })
                    .collect();
                let mut results = share(ws, 0);
                for (i, h) in handles.into_iter().enumerate() {
                    match h.map(|h| h.join()) {
                        Ok(Ok(r)) => results.extend(r),
                        Ok(Err(panic)) => std::panic::resume_unwind(panic),
                        // that thread could not start: its share here
                        Err(_) => results.extend(share(ws, i + 1)),
                    }
                }
                results
            });
            for (k, st) in results {
                stats[k] = st;
            }
            linalg::set_threads(setting);
        }
        drop(lent);
        let mut total = BatchStats::default();
        for st in stats {
            total.add(st);
        }
        total
    }

    /// The (a, b) pairs as token sequences, into `self.seqs`; checks they and the targets lie in [0, p).
    fn pair_seqs(&mut self, xs: &[[u32; 2]], ys: &[u32]) -> Result<Vec<[u32; T]>, ModelError> {
        let p = self.p;
        if xs.iter().flatten().chain(ys).any(|&v| v >= p) {
            return Err(ModelError::Other(format!(
                "an input or target lies outside [0, {p})"
            )));
        }
        let mut seqs = std::mem::take(&mut self.seqs);
        seqs.clear();
        seqs.extend(xs.iter().map(|&x| tokens(x, p)));
        Ok(seqs)
    }
}

wide_fn!(fn forward_wide(
    l: &Layout,
    w: &[f32],
    ws: &mut Work,
    seqs: &[[u32; T]],
    dropout: Option<Dropout<'_>>,
) => Layout::forward_body);
wide_fn!(fn prefix_wide(l: &Layout, w: &[f32], ws: &mut Work, seqs: &[[u32; T]], tokens: &[f32])
    => Layout::prefix_body);
wide_fn!(fn suffix_wide(
    l: &Layout,
    w: &[f32],
    ws: &mut Work,
    seqs: &[[u32; T]],
    tables: &Tables,
    which: &[u32],
) => Layout::suffix_body);
// The blocks of a loop split over rayon's threads: a closure does not take the target features of the
// function it is inlined into, so each block calls the AVX-512 build itself. (A generic helper running a
// closure inside one `#[target_feature]` function was tried: LLVM left some closures out of line, so
// their loops ran in the portable build.)
wide_fn!(fn rotate_rows_wide(l: &Layout, qkv: &mut [f32], span: usize, tq: usize, inverse: bool)
    => Layout::rotate_rows);
wide_fn!(fn attention_wide(
    l: &Layout,
    b: usize,
    tq: usize,
    qkv: &[f32],
    att: &mut [f32],
    ctx: &mut [f32],
) => Layout::attention_rows);
wide_fn!(fn attention_back_wide(
    l: &Layout,
    b: usize,
    tq: usize,
    qkv: &[f32],
    att: &[f32],
    dctx: &[f32],
    dqkv: &mut [f32],
) => Layout::attention_back_examples);
wide_fn!(fn rms_rows_wide(x: &[f32], gamma: &[f32], h: &mut [f32], r: &mut [f32]) => rms_rows);
wide_fn!(fn rms_back_rows_wide(
    dy: &[f32],
    x: &[f32],
    r: &[f32],
    gamma: &[f32],
    dgamma: Option<&mut [f32]>,
    dx: &mut [f32],
    accumulate: bool,
) => rms_back_rows);
wide_fn!(fn rms_dgamma_wide(dy: &[f32], x: &[f32], r: &[f32], dgamma: &mut [f32]) => rms_dgamma);
wide_fn!(fn swiglu_rows_wide(hid: &mut [f32], a: &mut [f32], sig: &mut [f32], mask: &[f32], hidden: usize)
    => swiglu_rows);
wide_fn!(fn swiglu_back_rows_wide(
    da: &mut [f32],
    a: &[f32],
    dhid: &[f32],
    sig: &[f32],
    mask: &[f32],
    hidden: usize,
) => swiglu_back_rows);
wide_fn!(fn backward_wide(l: &Layout, w: &[f32], g: &mut [f32], ws: &mut Work, seqs: &[[u32; T]])
    => Layout::backward_body);

/// Batch sizes agree and the batch is non-empty.
fn check_lengths(inputs: usize, ys: &[u32]) -> Result<(), ModelError> {
    if inputs != ys.len() || inputs == 0 {
        return Err(ModelError::Other(format!(
            "batch of {inputs} inputs and {} targets (must match, non-empty)",
            ys.len()
        )));
    }
    Ok(())
}

impl Layout {
    /// Forward pass over `seqs` into `ws.logits` ([B, vocab]), keeping what the backward pass needs.
    /// Dropout masks are drawn, block by block, when `dropout` (a stream and a positive rate) is given.
    fn forward(&self, w: &[f32], ws: &mut Work, seqs: &[[u32; T]], dropout: Option<Dropout<'_>>) {
        forward_wide(self, w, ws, seqs, dropout)
    }

    #[inline(always)]
    fn forward_body(
        &self,
        w: &[f32],
        ws: &mut Work,
        seqs: &[[u32; T]],
        mut dropout: Option<Dropout<'_>>,
    ) {
        let b = seqs.len();
        self.embed_rows(w, ws, seqs, 0);
        for blk in 0..self.depth {
            let (done, rest) = ws.blocks.split_at_mut(blk + 1);
            let next = match rest.first_mut() {
                Some(nb) => &mut nb.x_in,
                None => &mut ws.out,
            };
            let mask = dropout.as_mut().map(|d| {
                if let Some(part) = d.part {
                    let at = self.words_before(blk, part.batch)
                        + part.first as u128 * self.mask_words(blk);
                    d.rng.set_word_pos(part.start + at);
                }
                (&mut *d.rng, d.rate)
            });
            self.block_forward(w, blk, b, &mut done[blk], next, mask);
        }
        self.head(w, ws, b);
    }

    /// One training pass over `seqs` (all of a batch of `batch` examples, or a part of it): the forward
    /// pass (with dropout when given), the cross-entropy of the batch's mean loss and the backward pass,
    /// whose parameter gradients (over these examples) go into `g`. The examples' statistics.
    #[allow(clippy::too_many_arguments)]
    fn train_part(
        &self,
        w: &[f32],
        g: &mut [f32],
        ws: &mut Work,
        seqs: &[[u32; T]],
        ys: &[u32],
        batch: usize,
        dropout: Option<Dropout<'_>>,
    ) -> BatchStats {
        self.forward(w, ws, seqs, dropout);
        let st = cross_entropy_of(&mut ws.logits, self.vocab, ys, true, batch);
        self.backward(w, g, ws, seqs);
        st
    }

    /// 32-bit words of the dropout stream that block `blk` draws an example: 16 bits an entry of its
    /// query rows' hidden layer ([`fill_dropout_mask`]; `hidden` is a multiple of 4, so no draw is
    /// shared between examples).
    fn mask_words(&self, blk: usize) -> u128 {
        (self.tq(blk) * self.hidden / 2) as u128
    }

    /// Words of the dropout stream that the blocks before `blk` draw for a batch of `batch` examples.
    fn words_before(&self, blk: usize, batch: usize) -> u128 {
        (0..blk).map(|j| batch as u128 * self.mask_words(j)).sum()
    }

    /// Gradients of the loss into `g` from dLoss/dlogits in `ws.logits` and the kept activations.
    fn backward(&self, w: &[f32], g: &mut [f32], ws: &mut Work, seqs: &[[u32; T]]) {
        backward_wide(self, w, g, ws, seqs)
    }

    #[inline(always)]
    fn backward_body(&self, w: &[f32], g: &mut [f32], ws: &mut Work, seqs: &[[u32; T]]) {
        let l = self;
        let (b, d, v) = (seqs.len(), l.d, l.vocab);
        // logits = xf U^T: dU = dlogits^T xf [V, d]; dxf = dlogits U [B, d]
        let un = l.slot(l.unembed());
        matmul(
            &mut g[un.clone()],
            &ws.logits,
            &ws.xf,
            v,
            b,
            d,
            true,
            false,
            false,
        );
        resize(&mut ws.dh, b * d);
        matmul(&mut ws.dh, &ws.logits, &w[un], b, v, d, false, false, false);
        resize(&mut ws.dy, b * d);
        let fln = l.slot(l.final_norm());
        rms_backward(
            &ws.dh[..b * d],
            &ws.out,
            &ws.rf,
            &w[fln.clone()],
            &mut g[fln],
            &mut ws.dy,
            false,
        );
        for blk in (0..l.depth).rev() {
            l.block_backward(w, g, blk, b, ws);
            std::mem::swap(&mut ws.dy, &mut ws.dx);
        }
        // embedding rows gather the gradient of every position that read them
        let ge = &mut g[l.slot(0)];
        ge.fill(0.0);
        for (&tok, dr) in seqs.iter().flatten().zip(ws.dy.chunks_exact(d)) {
            for (acc, v) in ge[tok as usize * d..][..d].iter_mut().zip(dr) {
                *acc += v;
            }
        }
    }

    /// Block 0's input ([`BlockWork::x_in`], growing the blocks' buffers as needed): the embeddings of the
    /// tokens at positions `from..T` of every sequence.
    #[inline(always)]
    fn embed_rows(&self, w: &[f32], ws: &mut Work, seqs: &[[u32; T]], from: usize) {
        let d = self.d;
        ws.blocks.resize_with(self.depth, BlockWork::default);
        let x0 = &mut ws.blocks[0].x_in;
        x0.clear();
        let embed = &w[self.slot(0)];
        for s in seqs {
            for &tok in &s[from..] {
                x0.extend_from_slice(&embed[tok as usize * d..][..d]);
            }
        }
    }

    /// The final RMSNorm and the unembedding: `ws.out` ([B, d]) to `ws.logits` ([B, vocab]).
    #[inline(always)]
    fn head(&self, w: &[f32], ws: &mut Work, b: usize) {
        let d = self.d;
        resize(&mut ws.rf, b);
        resize(&mut ws.xf, b * d);
        resize(&mut ws.logits, b * self.vocab);
        rms_forward(
            &ws.out,
            &w[self.slot(self.final_norm())],
            &mut ws.xf,
            &mut ws.rf,
        );
        let unembed = &w[self.slot(self.unembed())];
        matmul(
            &mut ws.logits,
            &ws.xf,
            unembed,
            b,
            d,
            self.vocab,
            false,
            true,
            false,
        );
    }

    /// Eval-mode loss and accuracy of one chunk: from the shared rows when given (`which` holds each
    /// sequence's prefix), else by the full forward pass. Both give the same bits.
    fn eval_chunk(
        &self,
        w: &[f32],
        ws: &mut Work,
        seqs: &[[u32; T]],
        ys: &[u32],
        shared: Option<(&Tables, &[u32])>,
    ) -> BatchStats {
        match shared {
            Some((tables, which)) => {
                if !lanes::suffix(self, w, ws, seqs, tables, which) {
                    suffix_wide(self, w, ws, seqs, tables, which)
                }
            }
            None => self.forward(w, ws, seqs, None),
        }
        cross_entropy(&mut ws.logits, self.vocab, ys, false)
    }

    /// Brings `t` up to the parameters `w` (identity `params`) and to the prefixes (first two tokens) of
    /// `seqs`, and returns each sequence's prefix row. In eval mode, block 0's q, k and v rows depend on
    /// one token and its position alone, and by causality every block's rows at positions 0 and 1 on the
    /// first two tokens alone (in a modular-arithmetic set each `a` starts p sequences). `None` when
    /// sharing would save little (fewer than [`SHARE_MIN`] sequences, or more than one prefix in two
    /// sequences) or could not keep the bits (d < 8, see below).
    ///
    /// The rows are read from the passes the full forward pass makes (block 0's products over the
    /// sequence [x, x, x, x] for each token x; [`prefix_body`](Self::prefix_body) over one sequence of
    /// each new prefix), padded to at least [`SHARE_MIN`] sequences: `gemm` computes each
    /// element of a product as one run over k whatever the number of rows (its blocking over k depends
    /// on k alone; the other paths it takes for at most 256 outputs, one row or k <= 2 are avoided by the
    /// padding, by evaluating in chunks of at least [`SHARE_MIN`] and by d >= 8: the last position's
    /// queries of a chunk of 64 sequences are 64 rows of d outputs), so they are the bits the full pass
    /// over any set gives.
    fn tables(
        &self,
        (w, params): (&[f32], u64),
        ws: &mut Work,
        t: &mut Tables,
        seqs: &[[u32; T]],
    ) -> Option<Vec<u32>> {
        // k = d >= 8 and at least SHARE_MIN rows keep every product on gemm's main path (see above)
        if self.depth == 0 || self.d < 8 || seqs.len() < SHARE_MIN {
            return None;
        }
        let row = T * 3 * self.d;
        if t.params != params {
            t.params = params;
            // block 0's products alone over [x, x, x, x] for every token x (padded as `prefix_passes`
            // pads; with one block, the q rows of positions 0..T-1 are left as they were: never read)
            let last = self.vocab as u32 - 1;
            let mut every: Vec<[u32; T]> = (0..=last).map(|x| [x; T]).collect();
            every.resize(self.vocab.max(SHARE_MIN), [last; T]);
            self.embed_rows(w, ws, &every, 0);
            let BlockWork {
                x_in, r1, h1, qkv, ..
            } = &mut ws.blocks[0];
            self.qkv_forward(w, 0, every.len(), T, self.tq(0), x_in, r1, h1, qkv);
            t.tokens.clear();
            t.tokens.extend_from_slice(&qkv[..self.vocab * row]);
            lanes::weight_panels(self, w, &mut t.weights);
            t.rows = vec![vec![]; self.depth - 1];
            t.by_second.clear();
            t.prefixes = 0;
        }
        t.calls += 1;
        let (call, vocab) = (t.calls, self.vocab);
        let (mut distinct, mut new) = (0, vec![]);
        let mut at = 0;
        for s in seqs {
            if t.by_second.get(at).is_none_or(|b| b.0 != s[1]) {
                at = match t.by_second.iter().position(|b| b.0 == s[1]) {
                    Some(i) => i,
                    None => {
                        t.by_second
                            .push((s[1], vec![NO_ROW; vocab], vec![call - 1; vocab]));
                        t.by_second.len() - 1
                    }
                };
            }
            let (_, rows, met) = &mut t.by_second[at];
            let a = s[0] as usize;
            if met[a] != call {
                met[a] = call;
                distinct += 1;
                if rows[a] == NO_ROW {
                    new.push((at, *s));
                }
            }
        }
        if 2 * distinct > seqs.len() {
            return None;
        }
        for &(i, s) in &new {
            t.by_second[i].1[s[0] as usize] = t.prefixes;
            t.prefixes += 1;
        }
        // (one block: its rows all come from the token table)
        if !new.is_empty() && !t.rows.is_empty() {
            let width = SHARED * 3 * self.d;
            let new: Vec<[u32; T]> = new.into_iter().map(|(_, s)| s).collect();
            self.prefix_passes(w, ws, &t.tokens, &new, |ws, e| {
                for (blk, r) in t.rows.iter_mut().enumerate() {
                    r.extend_from_slice(&ws.blocks[blk + 1].qkv[e * row..][..width]);
                }
            });
        }
        let mut which = Vec::with_capacity(seqs.len());
        for s in seqs {
            if t.by_second[at].0 != s[1] {
                at = t.by_second.iter().position(|b| b.0 == s[1])?;
            }
            which.push(t.by_second[at].1[s[0] as usize]);
        }
        Some(which)
    }

    /// [`prefix_body`](Self::prefix_body) over `seqs` (at least one), padded to at least
    /// [`SHARE_MIN`] sequences and in chunks of at least that many (see [`Layout::tables`]);
    /// `read(ws, e)` after each pass for each sequence in order, `e` its place in that pass.
    fn prefix_passes(
        &self,
        w: &[f32],
        ws: &mut Work,
        tokens: &[f32],
        seqs: &[[u32; T]],
        mut read: impl FnMut(&Work, usize),
    ) {
        let n = seqs.len();
        let mut all = seqs.to_vec();
        let Some(&pad) = seqs.last() else { return };
        all.resize(n.max(SHARE_MIN), pad);
        let mut done = 0;
        for chunk in all.chunks(EVAL_CHUNK) {
            // a short last chunk takes its rows from a full-sized pass over the last sequences
            let (from, pass) = if chunk.len() < SHARE_MIN {
                let start = all.len() - SHARE_MIN;
                (done - start, &all[start..])
            } else {
                (0, chunk)
            };
            prefix_wide(self, w, ws, pass, tokens);
            let take = chunk.len().min(n.saturating_sub(done));
            for e in from..from + take {
                read(ws, e);
            }
            done += chunk.len();
        }
    }

    /// The eval-mode forward pass over `seqs` as far as every block's q, k and v rows (`ws.blocks[_].qkv`):
    /// block 0's from the token table `tokens`, then every block but the last, then the last block's
    /// rows. The same operations in the same order as [`forward`](Self::forward), so the same bits,
    /// without the last block's attention and feed-forward or the head.
    #[inline(always)]
    fn prefix_body(&self, w: &[f32], ws: &mut Work, seqs: &[[u32; T]], tokens: &[f32]) {
        let b = seqs.len();
        self.embed_rows(w, ws, seqs, 0);
        for blk in 0..self.depth {
            let (done, rest) = ws.blocks.split_at_mut(blk + 1);
            let bw = &mut done[blk];
            if blk > 0 {
                let BlockWork {
                    x_in, r1, h1, qkv, ..
                } = bw;
                self.qkv_forward(w, blk, b, T, self.tq(blk), x_in, r1, h1, qkv);
            }
            let Some(next) = rest.first_mut() else { break };
            if blk == 0 {
                let row = self.token_rows(tokens, seqs);
                self.attend_rows(b, T, row, &mut bw.att, &mut bw.ctx);
            } else {
                self.attend(b, T, bw);
            }
            self.mix_forward(w, blk, b, T, T, bw, &mut next.x_in, None, false);
        }
    }

    /// Example e's q, k and v at position u in block 0, read where they lie in the token table `tokens`
    /// ([`Tables::tokens`]).
    #[inline(always)]
    fn token_rows<'a>(
        &self,
        tokens: &'a [f32],
        seqs: &'a [[u32; T]],
    ) -> impl Fn(usize, usize) -> &'a [f32] + 'a {
        let d3 = 3 * self.d;
        move |e, u| &tokens[(seqs[e][u] as usize * T + u) * d3..][..d3]
    }

    /// [`attend`](Self::attend) with example e's rows at position u from `row(e, u)` (on this thread):
    /// weights into `att`, context into `ctx` (grown as needed).
    #[inline(always)]
    fn attend_rows<'a>(
        &self,
        b: usize,
        tq: usize,
        row: impl Fn(usize, usize) -> &'a [f32],
        att: &mut Vec<f32>,
        ctx: &mut Vec<f32>,
    ) {
        resize(att, b * self.heads * tq * T);
        resize(ctx, b * tq * self.d);
        self.attention_examples(b, tq, row, att, ctx);
    }

    /// Eval-mode forward pass into `ws.logits` that computes positions 2 and 3 only, taking block 0's q,
    /// k and v rows from the token table and later blocks' rows at positions 0 and 1 (the keys and values
    /// the queries attend to) from the prefixes' (`which`: each sequence's prefix) in `tables`. The same
    /// operations in the same order as [`forward`](Self::forward) on those rows, so the same bits, at
    /// less than half the work.
    #[inline(always)]
    fn suffix_body(
        &self,
        w: &[f32],
        ws: &mut Work,
        seqs: &[[u32; T]],
        tables: &Tables,
        which: &[u32],
    ) {
        const S: usize = T - SHARED;
        let (b, d) = (seqs.len(), self.d);
        self.embed_rows(w, ws, seqs, T - S);
        for blk in 0..self.depth {
            let tq = self.tq(blk).min(S);
            let (done, rest) = ws.blocks.split_at_mut(blk + 1);
            let next = match rest.first_mut() {
                Some(nb) => &mut nb.x_in,
                None => &mut ws.out,
            };
            let bw = &mut done[blk];
            if blk == 0 {
                let row = self.token_rows(&tables.tokens, seqs);
                self.attend_rows(b, tq, row, &mut bw.att, &mut bw.ctx);
            } else {
                let BlockWork {
                    x_in, r1, h1, sfx, ..
                } = bw;
                self.qkv_forward(w, blk, b, S, tq, x_in, r1, h1, sfx);
                // an example's rows: its prefix's two, then its own
                let (rows, own) = (&tables.rows[blk - 1], &bw.sfx);
                let row = |e: usize, u: usize| -> &[f32] {
                    match u.checked_sub(SHARED) {
                        None => &rows[(which[e] as usize * SHARED + u) * 3 * d..][..3 * d],
                        Some(o) => &own[(e * S + o) * 3 * d..][..3 * d],
                    }
                };
                self.attend_rows(b, tq, row, &mut bw.att, &mut bw.ctx);
            }
            self.mix_forward(w, blk, b, tq, S, bw, next, None, false);
        }
        self.head(w, ws, b);
    }

    /// One block forward. `bw.x_in` ([B*T, d]) holds the input; writes the output residual, [B*tq, d],
    /// into `out`.
    #[inline(always)]
    fn block_forward(
        &self,
        w: &[f32],
        blk: usize,
        b: usize,
        bw: &mut BlockWork,
        out: &mut Vec<f32>,
        dropout: Option<(&mut Rng, f64)>,
    ) {
        let tq = self.tq(blk);
        let BlockWork {
            x_in, r1, h1, qkv, ..
        } = bw;
        self.qkv_forward(w, blk, b, T, tq, x_in, r1, h1, qkv);
        self.attend(b, tq, bw);
        self.mix_forward(w, blk, b, tq, T, bw, out, dropout, true);
    }

    /// RMSNorm of a block's input rows `x` (`span` an example, positions T - span..T) into `h1` (and 1/rms
    /// into `r1`), then their k and v and the query rows' q into `qkv` ([B*span, 3d]), rotated. The query
    /// rows are the last `tq` of an example: all of them (tq = span) or the last one (tq = 1).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn qkv_forward(
        &self,
        w: &[f32],
        blk: usize,
        b: usize,
        span: usize,
        tq: usize,
        x: &[f32],
        r1: &mut Vec<f32>,
        h1: &mut Vec<f32>,
        qkv: &mut Vec<f32>,
    ) {
        let (d, rows) = (self.d, b * span);
        resize(r1, rows);
        resize(h1, rows * d);
        rms_forward(x, &w[self.slot(self.bslot(blk, ATTN_NORM))], h1, r1);
        resize(qkv, rows * 3 * d);
        let wqkv = &w[self.span(self.bslot(blk, Q), self.bslot(blk, V))]; // [3d, d]
        if tq == span {
            matmul(qkv, h1, wqkv, rows, d, 3 * d, false, true, false);
        } else {
            // k and v of every position, q of the last
            let (wq, wkv) = wqkv.split_at(d * d);
            gemm_view(
                &mut qkv[d..],
                3 * d,
                View::rows(h1, d),
                View::rows(wkv, d).t(),
                rows,
                d,
                2 * d,
                false,
            );
            gemm_view(
                &mut qkv[(span - 1) * 3 * d..],
                span * 3 * d,
                View::every(h1, d, span - 1, span),
                View::rows(wq, d).t(),
                b,
                d,
                d,
                false,
            );
        }
        self.rotate_qk(qkv, span, tq, false);
    }

    /// A block's attention from its rotated `bw.qkv` ([B*T, 3d]) for the query positions T - tq..T:
    /// weights into `bw.att`, context into `bw.ctx` (grown as needed).
    #[inline(always)]
    fn attend(&self, b: usize, tq: usize, bw: &mut BlockWork) {
        resize(&mut bw.att, b * self.heads * tq * T);
        resize(&mut bw.ctx, b * tq * self.d);
        self.attention_forward(b, tq, &bw.qkv, &mut bw.att, &mut bw.ctx);
    }

    /// The rest of a block after its attention (context in `bw.ctx`, [B*tq, d]): the residual, RMSNorm,
    /// SwiGLU (with dropout when given) and the second residual; the output, [B*tq, d], into `out`.
    /// `bw.x_in` holds `span` rows an example (positions T - span..T), the last `tq` of which are the
    /// query rows. Without `for_backward` (evaluation), SwiGLU keeps nothing for a backward pass.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn mix_forward(
        &self,
        w: &[f32],
        blk: usize,
        b: usize,
        tq: usize,
        span: usize,
        bw: &mut BlockWork,
        out: &mut Vec<f32>,
        dropout: Option<(&mut Rng, f64)>,
        for_backward: bool,
    ) {
        let (d, qrows) = (self.d, b * tq);
        let s = |rel: usize| &w[self.slot(self.bslot(blk, rel))];
        // x_mid = x (query rows) + ctx Wo^T
        bw.x_mid.clear();
        for e in 0..b {
            bw.x_mid
                .extend_from_slice(&bw.x_in[(e * span + span - tq) * d..][..tq * d]);
        }
        matmul(&mut bw.x_mid, &bw.ctx, s(O), qrows, d, d, false, true, true);

        resize(&mut bw.r2, qrows);
        resize(&mut bw.h2, qrows * d);
        rms_forward(&bw.x_mid, s(FFN_NORM), &mut bw.h2, &mut bw.r2);
        let hidden = self.hidden;
        resize(&mut bw.a, qrows * 2 * hidden);
        let w13 = &w[self.span(self.bslot(blk, W1), self.bslot(blk, W3))]; // [8d, d]
        matmul(
            &mut bw.a,
            &bw.h2,
            w13,
            qrows,
            d,
            2 * hidden,
            false,
            true,
            false,
        );
        resize(&mut bw.hid, qrows * hidden);
        match dropout {
            Some((rng, rate)) => {
                fill_dropout_mask(&mut bw.mask, &mut bw.draws, qrows * hidden, rate, rng)
            }
            None => bw.mask.clear(),
        }
        if for_backward || !bw.mask.is_empty() {
            resize(&mut bw.sig, qrows * hidden);
            swiglu_forward(&mut bw.hid, &mut bw.a, &mut bw.sig, &bw.mask, hidden);
        } else {
            swiglu_eval(&mut bw.hid, &bw.a, hidden);
        }
        out.clear();
        out.extend_from_slice(&bw.x_mid);
        matmul(out, &bw.hid, s(W2), qrows, hidden, d, false, true, true);
    }

    /// Rotary encoding, in place, of the query rows' q and every row's k in `qkv` ([B*span, 3d]: `span`
    /// rows an example, positions T - span..T); with `inverse`, the transpose (the backward pass of the
    /// rotation, applied to gradients).
    #[inline(always)]
    fn rotate_qk(&self, qkv: &mut [f32], span: usize, tq: usize, inverse: bool) {
        let d = self.d;
        // blocks of whole examples, so that a row's place in its block gives its position
        match perf::row_blocks(qkv.len() / (3 * d), 2 * d, span) {
            None => self.rotate_rows(qkv, span, tq, inverse),
            Some(k) => qkv
                .par_chunks_mut(k * 3 * d)
                .for_each(|rows| rotate_rows_wide(self, rows, span, tq, inverse)),
        }
    }

    /// [`rotate_qk`](Self::rotate_qk) on this thread.
    #[inline(always)]
    fn rotate_rows(&self, qkv: &mut [f32], span: usize, tq: usize, inverse: bool) {
        let (d, hd) = (self.d, self.hd);
        for (r, row) in qkv.chunks_exact_mut(3 * d).enumerate() {
            let t = T - span + r % span;
            let (cos, sin) = (&self.cos[t * hd..][..hd], &self.sin[t * hd..][..hd]);
            let (q, kv) = row.split_at_mut(d);
            if t >= T - tq {
                rotate(q, cos, sin, hd, inverse);
            }
            rotate(&mut kv[..d], cos, sin, hd, inverse);
        }
    }

    /// Causal softmax attention of every head, query rows of `qkv` against the keys and values of their
    /// example: weights into `att` ([B, heads, tq, T]), context into `ctx` ([B*tq, d]). Examples are
    /// independent: a large batch is split over this thread's threads.
    #[inline(always)]
    fn attention_forward(
        &self,
        b: usize,
        tq: usize,
        qkv: &[f32],
        att: &mut [f32],
        ctx: &mut [f32],
    ) {
        let (d, nh) = (self.d, self.heads);
        match perf::row_blocks(b, tq * T * d, 1) {
            None => self.attention_rows(b, tq, qkv, att, ctx),
            Some(k) => qkv
                .par_chunks(k * T * 3 * d)
                .zip(att.par_chunks_mut(k * nh * tq * T))
                .zip(ctx.par_chunks_mut(k * tq * d))
                .for_each(|((qkv, att), ctx)| {
                    attention_wide(self, ctx.len() / (tq * d), tq, qkv, att, ctx)
                }),
        }
    }

    /// [`attention_forward`](Self::attention_forward) over `b` examples on this thread.
    #[inline(always)]
    fn attention_rows(&self, b: usize, tq: usize, qkv: &[f32], att: &mut [f32], ctx: &mut [f32]) {
        let d3 = 3 * self.d;
        let row = |e: usize, u: usize| -> &[f32] { &qkv[(e * T + u) * d3..][..d3] };
        self.attention_examples(b, tq, row, att, ctx)
    }

    /// [`attention_forward`](Self::attention_forward) over `b` examples on this thread, reading example
    /// e's q, k and v at position u from `row(e, u)` ([3d]). The query rows go [`QUERIES`] at a time, so
    /// that their softmaxes' exponentials run together and the rows do not wait on one another's chains
    /// of dependent operations; each row's arithmetic is as on its own.
    #[inline(always)]
    fn attention_examples<'a>(
        &self,
        b: usize,
        tq: usize,
        row: impl Fn(usize, usize) -> &'a [f32],
        att: &mut [f32],
        ctx: &mut [f32],
    ) {
        const G: usize = QUERIES;
        let (d, hd, nh) = (self.d, self.hd, self.heads);
        let scale = (1.0 / (hd as f64).sqrt()) as f32;
        let rows = b * tq;
        for first in (0..rows).step_by(G) {
            let group = (rows - first).min(G);
            // each row's example and query position (`array::from_fn` was left out of line here)
            let mut at = [(0, 0); G];
            for (i, slot) in at.iter_mut().enumerate() {
                let r = (first + i).min(rows - 1);
                *slot = (r / tq, T - tq + r % tq);
            }
            for h in 0..nh {
                // the scores against every position at once ([`dots`]; keys past t are summed and not
                // read)
                let mut scores = [0.0f32; G * T];
                let mut maxes = [f32::NEG_INFINITY; G * T];
                for (i, &(e, t)) in at.iter().enumerate().take(group) {
                    let q = &row(e, t)[h * hd..][..hd];
                    let sums = dots(q, |u| &row(e, u)[d + h * hd..][..hd]);
                    let mut max = f32::NEG_INFINITY;
                    for u in 0..=t {
                        scores[i * T + u] = sums[u] * scale;
                        max = max.max(scores[i * T + u]);
                    }
                    maxes[i * T..][..T].fill(max);
                }
                // every lane's exponential at once (those past a row's t, or past the group, not read)
                let mut exps = [0.0f32; G * T];
                for l in 0..G * T {
                    exps[l] = exp(scores[l] - maxes[l]);
                }
                for (i, &(e, t)) in at.iter().enumerate().take(group) {
                    let mut sum = 0.0;
                    for &x in &exps[i * T..][..=t] {
                        sum += x;
                    }
                    let iq = t - (T - tq);
                    let a = &mut att[((e * nh + h) * tq + iq) * T..][..T];
                    for (u, au) in a.iter_mut().enumerate() {
                        *au = if u <= t { exps[i * T + u] / sum } else { 0.0 };
                    }
                    let c = &mut ctx[(e * tq + iq) * d + h * hd..][..hd];
                    c.fill(0.0);
                    for (u, &au) in a[..=t].iter().enumerate() {
                        let v = &row(e, u)[2 * d + h * hd..][..hd];
                        for (ci, &vi) in c.iter_mut().zip(v) {
                            *ci += au * vi;
                        }
                    }
                }
            }
        }
    }

    /// Gradients of q (query rows), k and v into `dqkv` (zeroed here) from the context's gradient `dctx`;
    /// a large batch is split over this thread's threads (examples are independent).
    #[inline(always)]
    fn attention_backward(
        &self,
        b: usize,
        tq: usize,
        qkv: &[f32],
        att: &[f32],
        dctx: &[f32],
        dqkv: &mut [f32],
    ) {
        let (d, nh) = (self.d, self.heads);
        match perf::row_blocks(b, 2 * tq * T * d, 1) {
            None => self.attention_back_examples(b, tq, qkv, att, dctx, dqkv),
            Some(k) => qkv
                .par_chunks(k * T * 3 * d)
                .zip(att.par_chunks(k * nh * tq * T))
                .zip(dctx.par_chunks(k * tq * d))
                .zip(dqkv.par_chunks_mut(k * T * 3 * d))
                .for_each(|(((qkv, att), dctx), dqkv)| {
                    let b = dctx.len() / (tq * d);
                    attention_back_wide(self, b, tq, qkv, att, dctx, dqkv)
                }),
        }
    }

    /// [`attention_backward`](Self::attention_backward) over `b` examples on this thread.
    #[inline(always)]
    fn attention_back_examples(
        &self,
        b: usize,
        tq: usize,
        qkv: &[f32],
        att: &[f32],
        dctx: &[f32],
        dqkv: &mut [f32],
    ) {
        let (d, hd, nh) = (self.d, self.hd, self.heads);
        let scale = (1.0 / (hd as f64).sqrt()) as f32;
        for e in 0..b {
            let ex = &qkv[e * T * 3 * d..][..T * 3 * d];
            let dex = &mut dqkv[e * T * 3 * d..][..T * 3 * d];
            // zeroed here, an example at a time, rather than the whole batch's in one pass before:
            // the example's rows are then in cache for the sums (the one pass was 3 % of a step)
            dex.fill(0.0);
            for iq in 0..tq {
                let t = T - tq + iq;
                for h in 0..nh {
                    let a = &att[((e * nh + h) * tq + iq) * T..][..T];
                    let dc = &dctx[(e * tq + iq) * d + h * hd..][..hd];
                    // datt[u] = dc . v_u, every position at once (those past t not read)
                    let datt = dots(dc, |u| &ex[u * 3 * d + 2 * d + h * hd..][..hd]);
                    // dv_u += a[u] dc
                    for (u, &au) in a[..=t].iter().enumerate() {
                        let off = u * 3 * d + 2 * d + h * hd;
                        for (dv, &g) in dex[off..][..hd].iter_mut().zip(dc) {
                            *dv += au * g;
                        }
                    }
                    // softmax backward, then the scaled dot products
                    let mean: f32 = (0..=t).map(|u| a[u] * datt[u]).sum();
                    for u in 0..=t {
                        let ds = a[u] * (datt[u] - mean) * scale;
                        let (qo, ko) = (t * 3 * d + h * hd, u * 3 * d + d + h * hd);
                        // q's part of row t and k's part of row u never overlap
                        let (dq, dk) = disjoint(dex, qo, ko, hd);
                        let (q, k) = (&ex[qo..][..hd], &ex[ko..][..hd]);
                        for (x, &kv) in dq.iter_mut().zip(k) {
                            *x += ds * kv;
                        }
                        for (x, &qv) in dk.iter_mut().zip(q) {
                            *x += ds * qv;
                        }
                    }
                }
            }
        }
    }

    /// One block backward: `ws.dy` holds the gradient of the block's output ([B*tq, d]); leaves the
    /// gradient of its input in `ws.dx` ([B*T, d]) and writes the block's parameter gradients into `g`.
    #[inline(always)]
    fn block_backward(&self, w: &[f32], g: &mut [f32], blk: usize, b: usize, ws: &mut Work) {
        let (d, hidden, tq) = (self.d, self.hidden, self.tq(blk));
        let (rows, qrows) = (b * T, b * tq);
        let bw = &ws.blocks[blk];
        let slot = |rel| self.slot(self.bslot(blk, rel));
        let span = |a, z| self.span(self.bslot(blk, a), self.bslot(blk, z));
        let dy = &ws.dy[..qrows * d];

        // out = x_mid + hid W2^T
        matmul(
            &mut g[slot(W2)],
            dy,
            &bw.hid,
            d,
            qrows,
            hidden,
            true,
            false,
            false,
        );
        resize(&mut ws.dhid, qrows * hidden);
        matmul(
            &mut ws.dhid,
            dy,
            &w[slot(W2)],
            qrows,
            d,
            hidden,
            false,
            false,
            false,
        );
        // hid = silu(z) * u * mask; with s = sigmoid(z), silu'(z) = s + silu(z) (1 - s)
        resize(&mut ws.da, qrows * 2 * hidden);
        swiglu_backward(&mut ws.da, &bw.a, &ws.dhid, &bw.sig, &bw.mask, hidden);
        matmul(
            &mut g[span(W1, W3)],
            &ws.da,
            &bw.h2,
            2 * hidden,
            qrows,
            d,
            true,
            false,
            false,
        );
        resize(&mut ws.dh, rows * d);
        let dh2 = &mut ws.dh[..qrows * d];
        matmul(
            dh2,
            &ws.da,
            &w[span(W1, W3)],
            qrows,
            2 * hidden,
            d,
            false,
            false,
            false,
        );
        // dxm = dy + RMSNorm backward
        ws.dxm.clear();
        ws.dxm.extend_from_slice(dy);
        let fnorm = slot(FFN_NORM);
        rms_backward(
            dh2,
            &bw.x_mid,
            &bw.r2,
            &w[fnorm.clone()],
            &mut g[fnorm],
            &mut ws.dxm,
            true,
        );

        // x_mid = x + ctx Wo^T
        matmul(
            &mut g[slot(O)],
            &ws.dxm,
            &bw.ctx,
            d,
            qrows,
            d,
            true,
            false,
            false,
        );
        resize(&mut ws.dctx, qrows * d);
        matmul(
            &mut ws.dctx,
            &ws.dxm,
            &w[slot(O)],
            qrows,
            d,
            d,
            false,
            false,
            false,
        );
        resize(&mut ws.dqkv, rows * 3 * d);
        self.attention_backward(b, tq, &bw.qkv, &bw.att, &ws.dctx, &mut ws.dqkv);
        self.rotate_qk(&mut ws.dqkv, T, tq, true);

        // qkv = h1 Wqkv^T
        let wqkv = &w[span(Q, V)];
        let dh1 = &mut ws.dh[..rows * d];
        if tq == T {
            matmul(
                &mut g[span(Q, V)],
                &ws.dqkv,
                &bw.h1,
                3 * d,
                rows,
                d,
                true,
                false,
                false,
            );
            matmul(dh1, &ws.dqkv, wqkv, rows, 3 * d, d, false, false, false);
        } else {
            let (wq, wkv) = wqkv.split_at(d * d);
            let dkv = View {
                data: &ws.dqkv[d..],
                rs: 3 * d,
                cs: 1,
            };
            let dq = View::every(&ws.dqkv, 3 * d, T - 1, T);
            let h1q = View::every(&bw.h1, d, T - 1, T);
            gemm_view(&mut g[slot(Q)], d, dq.t(), h1q, d, b, d, false);
            gemm_view(
                &mut g[span(K, V)],
                d,
                dkv.t(),
                View::rows(&bw.h1, d),
                2 * d,
                rows,
                d,
                false,
            );
            gemm_view(dh1, d, dkv, View::rows(wkv, d), rows, 2 * d, d, false);
            gemm_view(
                &mut dh1[(T - 1) * d..],
                T * d,
                dq,
                View::rows(wq, d),
                b,
                d,
                d,
                true,
            );
        }
        // dx = RMSNorm backward + the residual's gradient on the query rows
        resize(&mut ws.dx, rows * d);
        let anorm = slot(ATTN_NORM);
        rms_backward(
            dh1,
            &bw.x_in,
            &bw.r1,
            &w[anorm.clone()],
            &mut g[anorm],
            &mut ws.dx,
            false,
        );
        for e in 0..b {
            let dst = &mut ws.dx[(e * T + T - tq) * d..][..tq * d];
            for (x, &v) in dst.iter_mut().zip(&ws.dxm[e * tq * d..][..tq * d]) {
                *x += v;
            }
        }
    }
}

/// `s[i..i + len]` and `s[j..j + len]`, two ranges that do not overlap, both mutable.
#[inline(always)]
fn disjoint(s: &mut [f32], i: usize, j: usize, len: usize) -> (&mut [f32], &mut [f32]) {
    assert!(i + len <= j || j + len <= i, "overlapping ranges");
    if i < j {
        let (lo, hi) = s.split_at_mut(j);
        (&mut lo[i..][..len], &mut hi[..len])
    } else {
        let (lo, hi) = s.split_at_mut(i);
        (&mut hi[..len], &mut lo[j..][..len])
    }
}

/// `x` dotted with each of the T rows `row(u)`: T running sums at once, each in dimension order from -0.0
/// as `dot` (f32's `Sum`) adds, so each has the bits it would have alone, and the sums do not wait on
/// one another's chains of additions.
#[inline(always)]
fn dots<'a>(x: &[f32], row: impl Fn(usize) -> &'a [f32]) -> [f32; T] {
    let [r0, r1, r2, r3]: [&[f32]; T] = [row(0), row(1), row(2), row(3)];
    let mut sums = [-0.0f32; T];
    for ((((&xj, &a), &b), &c), &e) in x.iter().zip(r0).zip(r1).zip(r2).zip(r3) {
        sums[0] += xj * a;
        sums[1] += xj * b;
        sums[2] += xj * c;
        sums[3] += xj * e;
    }
    sums
}

/// The textbook dot product (f32's `Sum`: from -0.0, in order), which the passes' interleaved sums
/// repeat bit for bit; the tests' reference.
#[cfg(test)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// "Rotate half" rotary encoding of one row (every head): dim i pairs with i + hd/2. With `inverse`, the
/// transposed rotation (what the backward pass applies to a gradient).
#[inline(always)]
fn rotate(x: &mut [f32], cos: &[f32], sin: &[f32], hd: usize, inverse: bool) {
    let half = hd / 2;
    let (c1, c2) = cos.split_at(half);
    let (s1, s2) = sin.split_at(half);
    // zipped iterators (no indices) so that the loops vectorise
    for head in x.chunks_exact_mut(hd) {
        let (x1, x2) = head.split_at_mut(half);
        let pairs = x1.iter_mut().zip(x2.iter_mut());
        let tables = c1.iter().zip(c2).zip(s1.iter().zip(s2));
        if inverse {
            for ((a, b), ((&c1, &c2), (&s1, &s2))) in pairs.zip(tables) {
                let (va, vb) = (*a, *b);
                *a = va * c1 + vb * s2;
                *b = vb * c2 - va * s1;
            }
        } else {
            for ((a, b), ((&c1, &c2), (&s1, &s2))) in pairs.zip(tables) {
                let (va, vb) = (*a, *b);
                *a = va * c1 + -vb * s1;
                *b = vb * c2 + va * s2;
            }
        }
    }
}

/// RMSNorm with a learned scale, row by row: h = x / sqrt(mean(x^2) + eps) * gamma; keeps 1/rms in `r`.
/// A large batch is split over this thread's threads.
#[inline(always)]
fn rms_forward(x: &[f32], gamma: &[f32], h: &mut [f32], r: &mut [f32]) {
    let d = gamma.len();
    match perf::row_blocks(r.len(), d, 1) {
        None => rms_rows(x, gamma, h, r),
        Some(k) => h
            .par_chunks_mut(k * d)
            .zip(r.par_chunks_mut(k))
            .zip(x.par_chunks(k * d))
            .for_each(|((h, r), x)| rms_rows_wide(x, gamma, h, r)),
    }
}

/// [`rms_forward`] on this thread.
#[inline(always)]
fn rms_rows(x: &[f32], gamma: &[f32], h: &mut [f32], r: &mut [f32]) {
    let d = gamma.len();
    // the sums of squares of RUN rows advance together (each row's still adds in dimension order from
    // -0.0, as f32's `Sum`), so they do not wait on one another's additions
    for ((xs, hs), rs) in x
        .chunks(RUN * d)
        .zip(h.chunks_mut(RUN * d))
        .zip(r.chunks_mut(RUN))
    {
        let mut sums = [-0.0f32; RUN];
        if rs.len() == RUN {
            for j in 0..d {
                for (i, acc) in sums.iter_mut().enumerate() {
                    let v = xs[i * d + j];
                    *acc += v * v;
                }
            }
        } else {
            for (acc, xr) in sums.iter_mut().zip(xs.chunks_exact(d)) {
                *acc = xr.iter().map(|v| v * v).sum::<f32>();
            }
        }
        for (((xr, hr), rv), &sum) in xs
            .chunks_exact(d)
            .zip(hs.chunks_exact_mut(d))
            .zip(rs.iter_mut())
            .zip(&sums)
        {
            let inv = 1.0 / (sum / d as f32 + NORM_EPS as f32).sqrt();
            *rv = inv;
            for ((o, &v), &s) in hr.iter_mut().zip(xr).zip(gamma) {
                *o = v * inv * s;
            }
        }
    }
}

/// Rows whose running sums advance together in the row-wise loops (RMSNorm's sums of squares).
const RUN: usize = 8;

/// Query rows whose attention softmaxes go together ([`Layout::attention_examples`]): 4 rows of T = 4
/// scores fill one AVX-512 register.
const QUERIES: usize = 4;

/// RMSNorm backward: with y_j = gamma_j x_j r, r = (mean(x^2) + eps)^(-1/2),
/// dx_k = r gamma_k dy_k - x_k r^3 / d * sum_j dy_j gamma_j x_j and dgamma_j = sum over rows of dy_j x_j r.
/// `dx` is written, or added to when `accumulate`; `dgamma` is written. A large batch is split over this
/// thread's threads: rows of `dx` in blocks, and `dgamma` beside them, summed over the rows in order as
/// on one thread, so the same bits.
#[inline(always)]
fn rms_backward(
    dy: &[f32],
    x: &[f32],
    r: &[f32],
    gamma: &[f32],
    dgamma: &mut [f32],
    dx: &mut [f32],
    accumulate: bool,
) {
    let d = gamma.len();
    dgamma.fill(0.0);
    let Some(k) = perf::row_blocks(r.len(), 2 * d, 1) else {
        return rms_back_rows(dy, x, r, gamma, Some(dgamma), dx, accumulate);
    };
    rayon::join(
        || {
            dx.par_chunks_mut(k * d)
                .zip(dy.par_chunks(k * d))
                .zip(x.par_chunks(k * d))
                .zip(r.par_chunks(k))
                .for_each(|(((dx, dy), x), r)| {
                    rms_back_rows_wide(dy, x, r, gamma, None, dx, accumulate)
                })
        },
        || rms_dgamma_wide(dy, x, r, dgamma),
    );
}

/// RMSNorm's `dgamma` (zeroed by the caller) summed over the rows in order, on this thread.
#[inline(always)]
fn rms_dgamma(dy: &[f32], x: &[f32], r: &[f32], dgamma: &mut [f32]) {
    let d = dgamma.len();
    for ((dyr, xr), &rv) in dy.chunks_exact(d).zip(x.chunks_exact(d)).zip(r) {
        for ((dg, &g), &v) in dgamma.iter_mut().zip(dyr).zip(xr) {
            *dg += g * v * rv;
        }
    }
}

/// [`rms_backward`] over some rows on this thread, adding to `dgamma` (zeroed by the caller) when given.
#[inline(always)]
fn rms_back_rows(
    dy: &[f32],
    x: &[f32],
    r: &[f32],
    gamma: &[f32],
    mut dgamma: Option<&mut [f32]>,
    dx: &mut [f32],
    accumulate: bool,
) {
    let d = gamma.len();
    for (((dyr, xr), &rv), dxr) in dy
        .chunks_exact(d)
        .zip(x.chunks_exact(d))
        .zip(r)
        .zip(dx.chunks_exact_mut(d))
    {
        let mut s = 0.0f32;
        for ((&g, &v), &gy) in dyr.iter().zip(xr).zip(gamma) {
            s += g * gy * v;
        }
        // apart from the sum's chain, so that it runs wide
        if let Some(dgamma) = dgamma.as_deref_mut() {
            for ((&g, &v), dg) in dyr.iter().zip(xr).zip(dgamma.iter_mut()) {
                *dg += g * v * rv;
            }
        }
        let c = rv * rv * rv * s / d as f32;
        for (((o, &g), &v), &gy) in dxr.iter_mut().zip(dyr).zip(xr).zip(gamma) {
            let val = rv * g * gy - v * c;
            *o = if accumulate { *o + val } else { val };
        }
    }
}

/// SwiGLU with inverted dropout, row by row over `a` ([rows, 8d]: the gate z, then the up projection u):
/// `sig` = sigmoid(z), z becomes silu(z) = z sig, `hid` = silu(z) u, times `mask`'s row unless `mask` is
/// empty. A large batch is split over this thread's threads.
#[inline(always)]
fn swiglu_forward(hid: &mut [f32], a: &mut [f32], sig: &mut [f32], mask: &[f32], hidden: usize) {
    match perf::row_blocks(hid.len() / hidden, hidden, 1) {
        None => swiglu_rows(hid, a, sig, mask, hidden),
        Some(k) => hid
            .par_chunks_mut(k * hidden)
            .zip(a.par_chunks_mut(2 * k * hidden))
            .zip(sig.par_chunks_mut(k * hidden))
            .enumerate()
            .for_each(|(j, ((hid, a), sig))| {
                let mask = block_of(mask, j * k * hidden, hid.len());
                swiglu_rows_wide(hid, a, sig, mask, hidden)
            }),
    }
}

/// [`swiglu_forward`] without dropout, for evaluation: `hid` = silu(z) u alone, by the same arithmetic
/// (so the same bits), keeping nothing for a backward pass.
#[inline(always)]
fn swiglu_eval(hid: &mut [f32], a: &[f32], hidden: usize) {
    for (hr, ar) in hid.chunks_exact_mut(hidden).zip(a.chunks_exact(2 * hidden)) {
        let (gate, up) = ar.split_at(hidden);
        let (hr, up) = (&mut hr[..hidden], &up[..hidden]);
        for j in 0..hidden {
            let sg = 1.0 / (1.0 + exp(-gate[j]));
            hr[j] = gate[j] * sg * up[j];
        }
    }
}

/// `mask[at..at + len]`, or the empty mask.
fn block_of(mask: &[f32], at: usize, len: usize) -> &[f32] {
    if mask.is_empty() {
        mask
    } else {
        &mask[at..][..len]
    }
}

/// [`swiglu_forward`] on this thread.
#[inline(always)]
fn swiglu_rows(hid: &mut [f32], a: &mut [f32], sig: &mut [f32], mask: &[f32], hidden: usize) {
    for (i, ((hr, ar), sr)) in hid
        .chunks_exact_mut(hidden)
        .zip(a.chunks_exact_mut(2 * hidden))
        .zip(sig.chunks_exact_mut(hidden))
        .enumerate()
    {
        let (gate, up) = ar.split_at_mut(hidden);
        // two passes, each a simple vectorisable loop
        for (sg, &z) in sr.iter_mut().zip(&*gate) {
            *sg = 1.0 / (1.0 + exp(-z));
        }
        let (hr, up, sr) = (&mut hr[..hidden], &up[..hidden], &sr[..hidden]);
        let gate = &mut gate[..hidden];
        if mask.is_empty() {
            for j in 0..hidden {
                gate[j] *= sr[j];
                hr[j] = gate[j] * up[j];
            }
        } else {
            // the mask's product in the same pass (a pass of its own before)
            let m = &mask[i * hidden..][..hidden];
            for j in 0..hidden {
                gate[j] *= sr[j];
                hr[j] = gate[j] * up[j] * m[j];
            }
        }
    }
}

/// SwiGLU backward from the hidden layer's gradient `dhid` (masked by dropout's `mask` on the way in)
/// into `da` (the gate's and the up projection's gradients, as `a`); with s = sigmoid(z),
/// silu'(z) = s + silu(z) (1 - s). A large batch is split over this thread's threads.
#[inline(always)]
fn swiglu_backward(
    da: &mut [f32],
    a: &[f32],
    dhid: &[f32],
    sig: &[f32],
    mask: &[f32],
    hidden: usize,
) {
    match perf::row_blocks(dhid.len() / hidden, 2 * hidden, 1) {
        None => swiglu_back_rows(da, a, dhid, sig, mask, hidden),
        Some(k) => da
            .par_chunks_mut(2 * k * hidden)
            .zip(a.par_chunks(2 * k * hidden))
            .zip(dhid.par_chunks(k * hidden))
            .zip(sig.par_chunks(k * hidden))
            .enumerate()
            .for_each(|(j, (((da, a), dhid), sig))| {
                let mask = block_of(mask, j * k * hidden, dhid.len());
                swiglu_back_rows_wide(da, a, dhid, sig, mask, hidden)
            }),
    }
}

/// [`swiglu_backward`] on this thread: one pass a row, the mask's product taken as each element is
/// read (a pass of its own before, over the whole buffer, which no longer fitted in cache).
#[inline(always)]
fn swiglu_back_rows(
    da: &mut [f32],
    a: &[f32],
    dhid: &[f32],
    sig: &[f32],
    mask: &[f32],
    hidden: usize,
) {
    for (i, (((dar, ar), dh), sr)) in da
        .chunks_exact_mut(2 * hidden)
        .zip(a.chunks_exact(2 * hidden))
        .zip(dhid.chunks_exact(hidden))
        .zip(sig.chunks_exact(hidden))
        .enumerate()
    {
        let (dgate, dup) = dar.split_at_mut(hidden);
        let (gate, up) = ar.split_at(hidden);
        let dh = &dh[..hidden];
        if mask.is_empty() {
            swiglu_back_row(dgate, dup, gate, up, sr, |j| dh[j]);
        } else {
            let m = &mask[i * hidden..][..hidden];
            swiglu_back_row(dgate, dup, gate, up, sr, |j| dh[j] * m[j]);
        }
    }
}

/// One row of [`swiglu_back_rows`], the hidden layer's gradient at j being `dp(j)`: indexed over equal
/// lengths (a zip of the six slices was left scalar).
#[inline(always)]
fn swiglu_back_row(
    dgate: &mut [f32],
    dup: &mut [f32],
    gate: &[f32],
    up: &[f32],
    sr: &[f32],
    dp: impl Fn(usize) -> f32,
) {
    let hidden = dgate.len();
    let (dup, gate, up, sr) = (
        &mut dup[..hidden],
        &gate[..hidden],
        &up[..hidden],
        &sr[..hidden],
    );
    for j in 0..hidden {
        let dp = dp(j);
        dup[j] = dp * gate[j];
        dgate[j] = dp * up[j] * (sr[j] + gate[j] * (1.0 - sr[j]));
    }
}

impl Model for CpuTransformer {
    fn param_count(&self) -> u64 {
        self.w.len() as u64
    }

    fn device_choice(&self) -> Choice {
        self.choice.clone()
    }

    fn param_sizes(&self) -> Vec<usize> {
        self.l.offsets.windows(2).map(|o| o[1] - o[0]).collect()
    }

    fn forward_backward(
        &mut self,
        xs: &[[u32; 2]],
        ys: &[u32],
        rng: &mut Rng,
    ) -> Result<BatchStats, ModelError> {
        check_lengths(xs.len(), ys)?;
        let seqs = self.pair_seqs(xs, ys)?;
        let st = self.train_seqs(&seqs, ys, rng);
        self.seqs = seqs;
        st
    }

    fn evaluate(&mut self, xs: &[[u32; 2]], ys: &[u32]) -> Result<BatchStats, ModelError> {
        if xs.is_empty() && ys.is_empty() {
            return Ok(BatchStats::default());
        }
        check_lengths(xs.len(), ys)?;
        let seqs = self.pair_seqs(xs, ys)?;
        let st = self.eval_seqs(&seqs, ys);
        self.seqs = seqs;
        Ok(st)
    }

    fn apply(&mut self, opt: &mut AdamW) -> Result<(), ModelError> {
        if !self.has_grads {
            return Err(ModelError::Other(
                "apply called without a preceding forward_backward".into(),
            ));
        }
        self.has_grads = false;
        for slot in 0..self.names.len() {
            let r = self.l.slot(slot);
            opt.update(slot, &mut self.w[r.clone()], &self.g[r]);
        }
        self.params_id = new_params_id();
        Ok(())
    }

    fn weight_norm_sq(&self) -> Result<f64, ModelError> {
        Ok(self.w.iter().map(|&x| (x as f64) * (x as f64)).sum())
    }

    fn export(&self) -> Result<Vec<NamedTensor>, ModelError> {
        Ok((0..self.names.len())
            .map(|i| {
                (
                    self.names[i].clone(),
                    self.shapes[i].clone(),
                    self.w[self.l.slot(i)].to_vec(),
                )
            })
            .collect())
    }

    fn import(&mut self, tensors: &[NamedTensor]) -> Result<(), ModelError> {
        super::check_import(&self.export()?, tensors)?;
        for (i, (_, _, values)) in tensors.iter().enumerate() {
            let r = self.l.slot(i);
            self.w[r].copy_from_slice(values);
        }
        self.params_id = new_params_id();
        Ok(())
    }

    fn eval_copy(&self, old: Option<Box<dyn EvalCopy>>) -> Option<Box<dyn EvalCopy>> {
        let mut copy = match super::reuse_copy::<CpuTransformer>(old) {
            Some(c) if c.w.len() == self.w.len() => c,
            // the same model without gradients or buffers (they grow on its first evaluation)
            _ => Box::new(CpuTransformer {
                l: self.l.clone(),
                p: self.p,
                dropout: self.dropout,
                names: self.names.clone(),
                shapes: self.shapes.clone(),
                w: self.w.clone(),
                params_id: self.params_id,
                g: vec![],
                has_grads: false,
                ws: Work::default(),
                ws2: Work::default(),
                ws_batch: 0,
                g2: vec![],
                other_ws: Work::default(),
                other_ws2: Work::default(),
                other_batch: 0,
                eval_ws: vec![],
                tables: Tables::default(),
                seqs: vec![],
                choice: self.choice.clone(),
            }),
        };
        copy.w.copy_from_slice(&self.w);
        copy.params_id = self.params_id;
        Some(copy)
    }
}

impl EvalCopy for CpuTransformer {
    fn evaluate_copy(&mut self, xs: &[[u32; 2]], ys: &[u32]) -> Result<BatchStats, ModelError> {
        Model::evaluate(self, xs, ys)
    }
}

impl SequenceModel for CpuTransformer {
    fn forward_backward_tokens(
        &mut self,
        seqs: &[[u32; SEQ]],
        ys: &[u32],
        rng: &mut Rng,
    ) -> Result<BatchStats, ModelError> {
        check_lengths(seqs.len(), ys)?;
        self.check_vocab(seqs, ys)?;
        self.train_seqs(seqs, ys, rng)
    }

    fn evaluate_tokens(
        &mut self,
        seqs: &[[u32; SEQ]],
        ys: &[u32],
    ) -> Result<BatchStats, ModelError> {
        if seqs.is_empty() && ys.is_empty() {
            return Ok(BatchStats::default());
        }
        check_lengths(seqs.len(), ys)?;
        self.check_vocab(seqs, ys)?;
        Ok(self.eval_seqs(seqs, ys))
    }
}

/// The last block's feed-forward hidden layer at the last position over a set of pairs (eval mode), and
/// what turns it into logits: the insight views' restricted and excluded loss (spec section 4).
pub struct Probe {
    /// Feed-forward width (4d).
    pub hidden_width: usize,
    /// `[n, 4d]`: silu(w1 x) * w3 x of the last block at the last position, pair by pair.
    pub hidden: Vec<f32>,
    /// `[n, vocab]`: the model's logits.
    pub logits: Vec<f32>,
    pub vocab: usize,
    /// `[n, d]`: the residual stream entering the last block's feed-forward layer.
    mid: Vec<f32>,
    d: usize,
    /// The last block's w2 `[d, 4d]`, the final norm's gain `[d]`, the unembedding `[vocab, d]`.
    w2: Vec<f32>,
    final_norm: Vec<f32>,
    unembed: Vec<f32>,
}

impl Probe {
    /// Logits of hidden rows `hidden` (`[rows.len(), 4d]`) standing for the probed pairs `rows` (their
    /// positions in the probe's input): the residual stream mid + hidden w2^T, the final norm, the
    /// unembedding. With the probe's own hidden rows this gives back its logits.
    pub fn readout(&self, rows: &[usize], hidden: &[f32], out: &mut [f32]) {
        let (d, n) = (self.d, rows.len());
        let mut x = Vec::with_capacity(n * d);
        for &r in rows {
            x.extend_from_slice(&self.mid[r * d..][..d]);
        }
        matmul(
            &mut x,
            hidden,
            &self.w2,
            n,
            self.hidden_width,
            d,
            false,
            true,
            true,
        );
        let (mut xf, mut rf) = (vec![0.0; n * d], vec![0.0; n]);
        rms_forward(&x, &self.final_norm, &mut xf, &mut rf);
        matmul(
            out,
            &xf,
            &self.unembed,
            n,
            d,
            self.vocab,
            false,
            true,
            false,
        );
    }
}

impl CpuTransformer {
    /// Probe the last block over the pairs `xs` (eval mode, in chunks of [`EVAL_CHUNK`] on this thread).
    pub fn probe(&mut self, xs: &[[u32; 2]]) -> Result<Probe, ModelError> {
        let ys = vec![0u32; xs.len()];
        let seqs = self.pair_seqs(xs, &ys)?;
        let (l, w) = (&self.l, &self.w[..]);
        let (d, hw, vocab) = (l.d, l.hidden, l.vocab);
        let last = l.depth.checked_sub(1).ok_or_else(|| {
            ModelError::Other("a transformer without blocks has no hidden layer".into())
        })?;
        let mut probe = Probe {
            hidden_width: hw,
            hidden: Vec::with_capacity(xs.len() * hw),
            logits: Vec::with_capacity(xs.len() * vocab),
            vocab,
            mid: Vec::with_capacity(xs.len() * d),
            d,
            w2: w[l.slot(l.bslot(last, W2))].to_vec(),
            final_norm: w[l.slot(l.final_norm())].to_vec(),
            unembed: w[l.slot(l.unembed())].to_vec(),
        };
        for chunk in seqs.chunks(EVAL_CHUNK) {
            l.forward(w, &mut self.ws, chunk, None);
            let bw = &self.ws.blocks[last];
            // the last block computes its last position only (tq = 1): one row per pair
            probe.hidden.extend_from_slice(&bw.hid);
            probe.mid.extend_from_slice(&bw.x_mid);
            probe.logits.extend_from_slice(&self.ws.logits);
        }
        self.seqs = seqs;
        Ok(probe)
    }

    fn check_vocab(&self, seqs: &[[u32; SEQ]], ys: &[u32]) -> Result<(), ModelError> {
        let v = self.l.vocab as u32;
        if seqs.iter().flatten().chain(ys).any(|&t| t >= v) {
            return Err(ModelError::Other(format!(
                "a token or target lies outside the vocabulary [0, {v})"
            )));
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
    use rand::Rng as _;

    fn cfg(d: usize, depth: usize, heads: usize, dropout: f64) -> TransformerConfig {
        TransformerConfig {
            d_model: d,
            depth,
            heads,
            dropout,
            init_scale: 1.0,
            // the candle reference on the CPU, whatever the build can reach
            device: crate::model::device::DeviceRequest::Cpu,
        }
    }

    fn adamw(m: &dyn Model, lr: f64, weight_decay: f64) -> AdamW {
        let hp = AdamWParams {
            lr,
            beta1: 0.9,
            beta2: 0.98,
            eps: 1e-8,
            weight_decay,
        };
        AdamW::new(hp, &m.param_sizes())
    }

    /// Random token sequences over the whole vocabulary [0, p + 2), and targets, from `seed`.
    fn random_tokens(p: u32, n: usize, seed: u64) -> (Vec<[u32; 4]>, Vec<u32>) {
        let mut r = stream(seed, Stream::Labels);
        let v = p + 2;
        let seqs = (0..n)
            .map(|_| std::array::from_fn(|_| r.random_range(0..v)))
            .collect();
        let ys = (0..n).map(|_| r.random_range(0..v)).collect();
        (seqs, ys)
    }

    /// The candle model as the reference (built with the `candle` feature, as `bash .ci/test` does).
    #[cfg(feature = "candle")]
    mod against_candle {
        use super::*;
        use crate::model::transformer::Transformer;

        /// ||a - b|| / ||b|| over one tensor.
        fn rel_err(a: &[f32], b: &[f32]) -> f64 {
            let diff: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
            let norm: f64 = b.iter().map(|&y| (y as f64).powi(2)).sum();
            (diff / norm.max(1e-30)).sqrt()
        }

        fn both(c: &TransformerConfig, p: u32, seed: u64) -> (CpuTransformer, Transformer) {
            let fast = CpuTransformer::new(c, p, &mut stream(seed, Stream::Init)).unwrap();
            let reference = Transformer::new(c, p, &mut stream(seed, Stream::Init)).unwrap();
            (fast, reference)
        }

        #[test]
        fn same_parameters_as_the_candle_model() {
            // expected: both draw through `init_params` from the same stream, so names, shapes and values are
            // bit-identical, and a checkpoint of one is a checkpoint of the other
            let mut c = cfg(8, 2, 2, 0.2);
            c.init_scale = 0.5;
            let (fast, reference) = both(&c, 7, 3);
            assert_eq!(fast.export().unwrap(), reference.export().unwrap());
            assert_eq!(fast.param_sizes(), reference.param_sizes());
            assert_eq!(fast.param_count(), reference.param_count());
        }

        #[test]
        fn losses_and_gradients_match_the_candle_model() {
            // expected: the candle model (itself checked against finite differences and an f64 loop
            // implementation) on the same parameters, batch and dropout stream: the same function, so equal
            // losses and accuracies, and gradients within 1e-4 relative (||fast - candle|| / ||candle|| per
            // tensor; f32 rounding in a different summation order is ~1e-6)
            let cases = [
                (cfg(8, 2, 2, 0.0), 7, false),
                (cfg(8, 1, 1, 0.0), 5, false),
                (cfg(16, 2, 1, 0.2), 11, false),
                (cfg(8, 3, 4, 0.5), 7, true),
                (cfg(12, 2, 3, 0.2), 13, true),
            ];
            for (k, (c, p, tokens)) in cases.into_iter().enumerate() {
                let (mut fast, mut reference) = both(&c, p, 40 + k as u64);
                let (mut rf, mut rr) = (
                    stream(k as u64, Stream::Dropout),
                    stream(k as u64, Stream::Dropout),
                );
                let (sf, sr) = if tokens {
                    let (seqs, ys) = random_tokens(p, 60, k as u64);
                    (
                        fast.forward_backward_tokens(&seqs, &ys, &mut rf).unwrap(),
                        reference
                            .forward_backward_tokens(&seqs, &ys, &mut rr)
                            .unwrap(),
                    )
                } else {
                    let ex = all_examples(Operation::Sub, p);
                    (
                        fast.forward_backward(&ex.xs, &ex.ys, &mut rf).unwrap(),
                        reference.forward_backward(&ex.xs, &ex.ys, &mut rr).unwrap(),
                    )
                };
                let what = format!("case {k}: {c:?}");
                assert_eq!(sf.count, sr.count, "{what}");
                assert_eq!(sf.correct, sr.correct, "{what}");
                let rel = (sf.loss_sum - sr.loss_sum).abs() / sr.loss_sum.abs();
                assert!(
                    rel < 1e-5,
                    "{what}: loss {} vs {}",
                    sf.loss_sum,
                    sr.loss_sum
                );
                // the same masks were drawn: both streams stand at the same place
                assert_eq!(rf.random::<u64>(), rr.random::<u64>(), "{what}");
                let want = reference.gradient_values();
                assert_eq!(want.len(), fast.names.len());
                for (i, want) in want.iter().enumerate() {
                    let got = &fast.g[fast.l.slot(i)];
                    let e = rel_err(got, want);
                    assert!(e < 1e-4, "{what}: {} relative error {e:e}", fast.names[i]);
                }
            }
        }

        #[test]
        fn evaluation_matches_the_candle_model_after_training() {
            // expected: train the candle model three steps, load its parameters into the fast model (the
            // checkpoint path): eval-mode losses equal to 1e-5 relative, accuracies equal
            let c = cfg(16, 2, 2, 0.2);
            let (mut fast, mut reference) = both(&c, 11, 5);
            let ex = all_examples(Operation::Div, 11);
            let mut opt = adamw(&reference, 1e-2, 1.0);
            let mut r = stream(5, Stream::Dropout);
            for _ in 0..3 {
                reference.forward_backward(&ex.xs, &ex.ys, &mut r).unwrap();
                opt.begin_step(1e-2);
                reference.apply(&mut opt).unwrap();
            }
            fast.import(&reference.export().unwrap()).unwrap();
            let (a, b) = (
                fast.evaluate(&ex.xs, &ex.ys).unwrap(),
                reference.evaluate(&ex.xs, &ex.ys).unwrap(),
            );
            assert_eq!(a.correct, b.correct);
            assert!((a.loss_sum - b.loss_sum).abs() < 1e-5 * b.loss_sum);
        }
    }

    fn gradient_check(c: TransformerConfig, seed: u64) {
        // expected: central finite differences of the eval-mode loss, (L(w+h) - L(w-h)) / 2h, for several
        // entries of every parameter tensor (every hand-written backward: RMSNorm, rotary, masked softmax,
        // SwiGLU, the last-position shortcut, the fused products). h = 1e-2 in f32 agrees to ~4e-5 on
        // gradients of 1e-3..4e-2 (as for the candle model); a wrong backward misses by far more
        let p = 5;
        let mut m = CpuTransformer::new(&c, p, &mut stream(seed, Stream::Init)).unwrap();
        let ex = all_examples(Operation::Add, p);
        m.forward_backward(&ex.xs, &ex.ys, &mut stream(0, Stream::Dropout))
            .unwrap();
        let grads = m.g.clone();
        let h = 1e-2f32;
        for i in 0..m.names.len() {
            let r = m.l.slot(i);
            let n = r.len();
            for j in [0, n / 3, n / 2, n - 1] {
                let at = r.start + j;
                let base = m.w[at];
                m.w[at] = base + h;
                m.params_id = new_params_id();
                let up = m.evaluate(&ex.xs, &ex.ys).unwrap().mean_loss();
                m.w[at] = base - h;
                m.params_id = new_params_id();
                let down = m.evaluate(&ex.xs, &ex.ys).unwrap().mean_loss();
                m.w[at] = base;
                m.params_id = new_params_id();
                let num = (up - down) / (2.0 * h as f64);
                let ana = grads[at] as f64;
                assert!(
                    (num - ana).abs() <= 2e-4 + 1e-2 * ana.abs(),
                    "{}[{j}]: analytic {ana}, numeric {num}",
                    m.names[i]
                );
            }
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        gradient_check(cfg(4, 1, 1, 0.0), 11);
        gradient_check(cfg(8, 2, 2, 0.0), 12);
        gradient_check(cfg(8, 3, 4, 0.0), 13);
    }

    /// Losses of `steps` training steps with dropout, then the final parameters.
    fn train(seed: u64, steps: usize) -> (Vec<f64>, Vec<NamedTensor>) {
        let c = cfg(8, 2, 1, 0.2);
        let mut m = CpuTransformer::new(&c, 7, &mut stream(seed, Stream::Init)).unwrap();
        let ex = all_examples(Operation::Add, 7);
        let mut opt = adamw(&m, 1e-2, 1.0);
        let mut r = stream(seed, Stream::Dropout);
        let mut losses = vec![];
        for _ in 0..steps {
            losses.push(m.forward_backward(&ex.xs, &ex.ys, &mut r).unwrap().loss_sum);
            opt.begin_step(1e-2);
            m.apply(&mut opt).unwrap();
        }
        losses.push(m.evaluate(&ex.xs, &ex.ys).unwrap().loss_sum);
        (losses, m.export().unwrap())
    }

    #[test]
    fn same_seed_same_numbers() {
        // expected: bit-identical by construction (all randomness from the seeded streams); another seed
        // differs
        let a = train(7, 4);
        assert_eq!(a, train(7, 4));
        assert_ne!(a.0, train(8, 4).0);
    }

    #[test]
    fn evaluation_does_not_depend_on_the_thread_count() {
        // expected: bit-identical statistics on one thread, on two (the second chunk of each pair on
        // this thread's helper) and on three (fixed chunks, added in chunk order); 1000 sequences make
        // four chunks, so every thread gets work
        let mut m =
            CpuTransformer::new(&cfg(8, 2, 2, 0.2), 31, &mut stream(2, Stream::Init)).unwrap();
        let (seqs, ys) = random_tokens(31, 1000, 2);
        linalg::set_threads(1);
        let one = m.evaluate_tokens(&seqs, &ys).unwrap();
        linalg::set_threads(2);
        let two = m.evaluate_tokens(&seqs, &ys).unwrap();
        linalg::set_threads(3);
        let three = m.evaluate_tokens(&seqs, &ys).unwrap();
        linalg::set_threads(0);
        assert_eq!(one, two);
        assert_eq!(one, three);
        assert_eq!(one.count, 1000);
    }

    #[test]
    fn attention_is_the_textbook_formula_bit_for_bit() {
        // expected: the fused scores (T running sums at once) give what the formula written plainly
        // gives: scores dot(q, k_u) / sqrt(hd) for u <= t with f32's own `Sum`, softmax by the max,
        // weights times values in position order; bit for bit, with several heads, both query shapes,
        // and a zero query (its scores are signed zeros)
        let m = CpuTransformer::new(&cfg(16, 2, 2, 0.0), 7, &mut stream(9, Stream::Init)).unwrap();
        let (d, hd, nh) = (m.l.d, m.l.hd, m.l.heads);
        let b = 5;
        let mut r = stream(9, Stream::Labels);
        let mut qkv: Vec<f32> = (0..b * T * 3 * d)
            .map(|_| r.random_range(-2.0f32..2.0))
            .collect();
        qkv[..d].fill(0.0);
        for tq in [T, 1] {
            let (mut att, mut ctx) = (vec![0.0; b * nh * tq * T], vec![0.0; b * tq * d]);
            m.l.attention_forward(b, tq, &qkv, &mut att, &mut ctx);
            let scale = (1.0 / (hd as f64).sqrt()) as f32;
            for e in 0..b {
                for iq in 0..tq {
                    let t = T - tq + iq;
                    for h in 0..nh {
                        let row = |u: usize, part: usize| {
                            &qkv[(e * T + u) * 3 * d + part * d + h * hd..][..hd]
                        };
                        let scores: Vec<f32> =
                            (0..=t).map(|u| dot(row(t, 0), row(u, 1)) * scale).collect();
                        let max = scores.iter().fold(f32::NEG_INFINITY, |a, &s| a.max(s));
                        let ex: Vec<f32> = scores.iter().map(|&s| exp(s - max)).collect();
                        let sum = ex.iter().fold(0.0f32, |a, &v| a + v);
                        let wts: Vec<f32> = ex.iter().map(|v| v / sum).collect();
                        let got = &att[((e * nh + h) * tq + iq) * T..][..T];
                        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                        assert_eq!(bits(&got[..=t]), bits(&wts), "weights e {e} t {t} h {h}");
                        assert!(got[t + 1..].iter().all(|&v| v == 0.0));
                        let mut c = vec![0.0f32; hd];
                        for (u, &a) in wts.iter().enumerate() {
                            for (ci, &vi) in c.iter_mut().zip(row(u, 2)) {
                                *ci += a * vi;
                            }
                        }
                        let got = &ctx[(e * tq + iq) * d + h * hd..][..hd];
                        assert_eq!(bits(got), bits(&c), "context e {e} t {t} h {h}");
                    }
                }
            }
        }
    }

    /// Eval-mode logits of `seqs` by the full forward pass, in one pass of `chunk` sequences at a time.
    fn plain_logits(m: &mut CpuTransformer, seqs: &[[u32; T]], chunk: usize) -> Vec<u32> {
        let mut out = vec![];
        for c in seqs.chunks(chunk) {
            m.l.forward(&m.w, &mut m.ws, c, None);
            out.extend(m.ws.logits.iter().map(|x| x.to_bits()));
        }
        out
    }

    #[test]
    fn shared_prefixes_give_the_full_passes_bits() {
        // expected: evaluating positions 2 and 3 from the shared rows of positions 0 and 1 is the same
        // arithmetic as the full forward pass (same products per element, same fused loops), so the same
        // logits bit for bit, and the statistics of `evaluate` equal those of the full pass chunk by
        // chunk. Cases: the Capacity lab's sizes, several heads and depths, one block, d = 8 (the
        // smallest shared), 12 and 10 (products whose widths are not multiples of 8, or of 4), 48, 96
        // (the widest the lane pass takes) and d = 4 (not shared), a random split of the pairs (in any order), a set whose
        // last chunk is short, and one with fewer than SHARE_MIN sequences (not shared)
        let cases = [
            (cfg(16, 2, 1, 0.2), 47, 1100),
            (cfg(8, 3, 4, 0.0), 31, 961),
            (cfg(4, 1, 1, 0.0), 13, 169),
            (cfg(8, 1, 2, 0.0), 17, 289),
            (cfg(24, 2, 3, 0.2), 37, 530),
            (cfg(32, 2, 2, 0.0), 41, 40),
            (cfg(12, 2, 2, 0.2), 23, 300),
            (cfg(48, 2, 1, 0.2), 19, 200),
            (cfg(96, 1, 2, 0.0), 11, 121),
            (cfg(10, 2, 1, 0.2), 13, 169),
        ];
        for (k, (c, p, n)) in cases.into_iter().enumerate() {
            let mut m = CpuTransformer::new(&c, p, &mut stream(k as u64, Stream::Init)).unwrap();
            // train a few steps so that the weights are not the initial draws
            let ex = all_examples(Operation::Sub, p);
            let mut opt = adamw(&m, 1e-2, 1.0);
            let mut r = stream(k as u64, Stream::Dropout);
            for _ in 0..3 {
                m.forward_backward(
                    &ex.xs[..256.min(ex.xs.len())],
                    &ex.ys[..256.min(ex.xs.len())],
                    &mut r,
                )
                .unwrap();
                opt.begin_step(1e-2);
                m.apply(&mut opt).unwrap();
            }
            let mut order =
                crate::rng::permutation(ex.xs.len(), &mut stream(k as u64, Stream::Split));
            order.truncate(n);
            let xs: Vec<[u32; 2]> = order.iter().map(|&i| ex.xs[i]).collect();
            let ys: Vec<u32> = order.iter().map(|&i| ex.ys[i]).collect();
            let seqs: Vec<[u32; T]> = xs.iter().map(|&x| tokens(x, p)).collect();
            let what = format!("case {k}: {c:?}, {n} pairs");

            // the tables grow: half the prefixes first (when that half is shared), then the rest
            let mut tables = Tables::default();
            if n / 2 >= SHARE_MIN {
                m.l.tables((&m.w, m.params_id), &mut m.ws, &mut tables, &seqs[..n / 2]);
            }
            let which =
                m.l.tables((&m.w, m.params_id), &mut m.ws, &mut tables, &seqs);
            assert_eq!(which.is_some(), n >= SHARE_MIN && c.d_model >= 8, "{what}");
            let want = plain_logits(&mut m, &seqs, EVAL_CHUNK);
            if let Some(which) = &which {
                // the row-major pass, and the lane pass where this machine runs it (AVX-512; on
                // another machine `evaluate` below takes the row-major pass, which this checks)
                let (mut got, mut by_lanes) = (vec![], vec![]);
                for (c, which) in seqs.chunks(EVAL_CHUNK).zip(which.chunks(EVAL_CHUNK)) {
                    suffix_wide(&m.l, &m.w, &mut m.ws, c, &tables, which);
                    got.extend(m.ws.logits.iter().map(|x| x.to_bits()));
                    if lanes::suffix(&m.l, &m.w, &mut m.ws, c, &tables, which) {
                        by_lanes.extend(m.ws.logits.iter().map(|x| x.to_bits()));
                    }
                }
                assert_eq!(got.len(), want.len(), "{what}");
                assert!(got == want, "{what}: logits differ");
                assert!(
                    by_lanes.is_empty() || by_lanes == want,
                    "{what}: lanes' logits differ"
                );
            }
            // evaluate (shared when it can) against the full pass's statistics over the same chunks:
            // twice at these parameters (the second from the kept tables), then after one more step
            // (the tables made again)
            for pass in 0..3 {
                if pass == 2 {
                    m.forward_backward(&xs, &ys, &mut r).unwrap();
                    opt.begin_step(1e-2);
                    m.apply(&mut opt).unwrap();
                }
                let st = m.evaluate(&xs, &ys).unwrap();
                let mut total = BatchStats::default();
                let mut at = 0;
                while at < n {
                    let len = if n - at < EVAL_CHUNK + SHARE_MIN {
                        n - at
                    } else {
                        EVAL_CHUNK
                    };
                    m.l.forward(&m.w, &mut m.ws, &seqs[at..at + len], None);
                    total.add(cross_entropy(
                        &mut m.ws.logits,
                        m.l.vocab,
                        &ys[at..at + len],
                        false,
                    ));
                    at += len;
                }
                assert_eq!(st, total, "{what}, pass {pass}");
                assert!(st.correct > 0 || st.loss_sum > 0.0, "{what}");
            }
        }
    }

    #[test]
    fn training_does_not_depend_on_the_thread_count() {
        // expected: bit-identical losses, gradients and parameters after three steps with dropout on one
        // thread (the batch's two halves one after the other), on two (the second half on this thread's
        // helper) and on three with every row-wise loop split (RMSNorm and its backward, rotary,
        // attention, SwiGLU, AdamW: linalg::row_blocks, its threshold lowered to one element here), as
        // splitting rows changes no arithmetic
        crate::perf::flush_denormals();
        let c = cfg(32, 2, 2, 0.2);
        let (seqs, ys) = random_tokens(29, 300, 6);
        perf::set_split_min(1);
        let run = |threads: usize| {
            linalg::set_threads(threads);
            let mut m = CpuTransformer::new(&c, 29, &mut stream(6, Stream::Init)).unwrap();
            let mut opt = adamw(&m, 1e-2, 1.0);
            let mut r = stream(6, Stream::Dropout);
            let mut out = vec![];
            for _ in 0..3 {
                let st = m.forward_backward_tokens(&seqs, &ys, &mut r).unwrap();
                out.push(st.loss_sum.to_bits() as u32);
                out.extend(m.g.iter().map(|x| x.to_bits()));
                opt.begin_step(1e-2);
                m.apply(&mut opt).unwrap();
            }
            out.extend(m.w.iter().map(|x| x.to_bits()));
            linalg::set_threads(0);
            out
        };
        let one = run(1);
        let two = run(2);
        let three = run(3);
        perf::set_split_min(perf::PARALLEL_MIN_ELEMS);
        assert!(one == two, "two threads gave other bits than one");
        assert!(one == three, "three threads gave other bits than one");
    }

    #[test]
    fn kept_buffers_change_no_bit() {
        // expected: the same losses, gradients and parameters bit for bit whether a step finds its
        // buffers fresh (a new model for every step, parameters and optimiser state carried over) or
        // kept from steps of other batch sizes (one model: its two buffer sets swap as the size changes
        // between 300 and 77 examples), as every buffer is written before it is read
        let c = cfg(16, 2, 1, 0.2);
        let (seqs, ys) = random_tokens(23, 300, 9);
        let sizes = [300, 77, 300, 300, 77, 40, 131];
        let mut kept = CpuTransformer::new(&c, 23, &mut stream(9, Stream::Init)).unwrap();
        let mut opt_kept = adamw(&kept, 1e-2, 1.0);
        let mut opt_fresh = adamw(&kept, 1e-2, 1.0);
        let (mut r_kept, mut r_fresh) = (stream(9, Stream::Dropout), stream(9, Stream::Dropout));
        let mut w = kept.export().unwrap();
        for (i, &n) in sizes.iter().enumerate() {
            let mut fresh = CpuTransformer::new(&c, 23, &mut stream(9, Stream::Init)).unwrap();
            fresh.import(&w).unwrap();
            let a = kept
                .forward_backward_tokens(&seqs[..n], &ys[..n], &mut r_kept)
                .unwrap();
            let b = fresh
                .forward_backward_tokens(&seqs[..n], &ys[..n], &mut r_fresh)
                .unwrap();
            assert_eq!(a, b, "step {i}");
            assert!(same(&kept.g, &fresh.g), "step {i}: gradients");
            opt_kept.begin_step(1e-2);
            kept.apply(&mut opt_kept).unwrap();
            opt_fresh.begin_step(1e-2);
            fresh.apply(&mut opt_fresh).unwrap();
            assert!(same(&kept.w, &fresh.w), "step {i}: parameters");
            w = fresh.export().unwrap();
        }
        fn same(a: &[f32], b: &[f32]) -> bool {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
        }
    }

    /// Expected: the AVX-512 build of the passes (what `forward`/`backward` run on this machine when it
    /// has AVX-512) and the portable one (the `_body` functions inlined here, built for plain x86-64)
    /// give the same logits and gradients bit for bit, with dropout and several heads.
    #[test]
    fn both_builds_give_the_same_bits() {
        let c = cfg(16, 2, 2, 0.2);
        let (seqs, ys) = random_tokens(23, 300, 4);
        let mut m = CpuTransformer::new(&c, 23, &mut stream(4, Stream::Init)).unwrap();
        let mut other = CpuTransformer::new(&c, 23, &mut stream(4, Stream::Init)).unwrap();
        let (mut r1, mut r2) = (stream(1, Stream::Dropout), stream(1, Stream::Dropout));
        let drop = |rng, rate| {
            Some(Dropout {
                rng,
                rate,
                part: None,
            })
        };
        m.l.forward(&m.w, &mut m.ws, &seqs, drop(&mut r1, m.dropout));
        other
            .l
            .forward_body(&other.w, &mut other.ws, &seqs, drop(&mut r2, other.dropout));
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&m.ws.logits), bits(&other.ws.logits));
        cross_entropy(&mut m.ws.logits, m.l.vocab, &ys, true);
        cross_entropy(&mut other.ws.logits, other.l.vocab, &ys, true);
        m.l.backward(&m.w, &mut m.g, &mut m.ws, &seqs);
        other
            .l
            .backward_body(&other.w, &mut other.g, &mut other.ws, &seqs);
        assert_eq!(bits(&m.g), bits(&other.g));
        assert!(m.g.iter().any(|&v| v != 0.0));
    }

    #[test]
    fn learns_addition_mod_7() {
        // expected: a d=16 transformer easily memorises all 49 sums (as the candle model's test)
        let p = 7;
        let mut m =
            CpuTransformer::new(&cfg(16, 1, 1, 0.0), p, &mut stream(0, Stream::Init)).unwrap();
        let ex = all_examples(Operation::Add, p);
        let mut opt = adamw(&m, 1e-2, 0.0);
        let mut r = stream(0, Stream::Dropout);
        let solved = (1..=400).any(|_| {
            m.forward_backward(&ex.xs, &ex.ys, &mut r).unwrap();
            opt.begin_step(1e-2);
            m.apply(&mut opt).unwrap();
            m.evaluate(&ex.xs, &ex.ys).unwrap().accuracy() == 1.0
        });
        assert!(solved, "train accuracy below 100 % after 400 steps");
    }

    #[test]
    fn bad_batches_and_calls() {
        // expected: as the candle model: an empty evaluation is zero examples; mismatched or out-of-range
        // inputs are errors; apply needs a backward pass first
        let mut m =
            CpuTransformer::new(&cfg(4, 1, 1, 0.0), 5, &mut stream(0, Stream::Init)).unwrap();
        let mut r = stream(0, Stream::Dropout);
        assert_eq!(m.evaluate(&[], &[]).unwrap(), BatchStats::default());
        assert_eq!(m.evaluate_tokens(&[], &[]).unwrap(), BatchStats::default());
        assert!(m.forward_backward(&[], &[], &mut r).is_err());
        assert!(m.forward_backward(&[[1, 2]], &[], &mut r).is_err());
        assert!(m.evaluate(&[[5, 2]], &[0]).is_err());
        assert!(m.evaluate_tokens(&[[7, 0, 0, 0]], &[0]).is_err());
        assert!(m.evaluate_tokens(&[[6, 6, 0, 5]], &[7]).is_err());
        assert_eq!(m.evaluate_tokens(&[[6, 6, 0, 5]], &[6]).unwrap().count, 1);
        let mut opt = adamw(&m, 1e-3, 0.0);
        opt.begin_step(1e-3);
        assert!(m.apply(&mut opt).is_err());
        assert!(CpuTransformer::new(&cfg(6, 1, 2, 0.0), 5, &mut stream(0, Stream::Init)).is_err());
    }
}
