//! Restricted and excluded loss (Nanda et al. 2023, "Progress measures for grokking"), spec section 4.
//!
//! Input: the hidden activations N over every pair (a, b), `[p * p, h]`, row a * p + b (the MLP's hidden
//! layer, or the transformer's feed-forward hidden layer at the last position), and the read-out from
//! hidden to logits. Each neuron's activation pattern, a function of (a, b), is projected on the span of
//! {1, cos(w_k i(a, b)), sin(w_k i(a, b)) : k key}, where i(a, b) is the position of the answer
//! c = a op b on the operation's cycle and w_k = 2 pi k / n:
//! - `+`: i = a + b (n = p), the spec's cos w_k (a + b);
//! - `-`: i = a - b. A network that subtracts reads its answer off cos w_k (a - b - c) (the clock run
//!   backwards for b), so the phase the answer depends on is a - b, not a + b;
//! - `*`: i = log_g a + log_g b (n = p - 1): multiplication is addition of discrete logarithms;
//! - `/`: i = log_g a - log_g b, for the same reason as `-`.
//!
//! The product by 0 under `*` (and 0 / b under `/`) has no logarithm: those pairs get 0 on the cosine and
//! sine functions (they keep the constant). Every function of the span is a function of the answer c alone,
//! so the projection is computed on the p per-answer sums of N (a weighted least squares in p dimensions,
//! by Gram-Schmidt), never on the p^2 x h matrix.
//!
//! - Restricted loss: validation cross-entropy with each neuron replaced by its projection on the span
//!   (constant included: the neuron's mean stays).
//! - Excluded loss: training cross-entropy with the projection on the key cosines and sines removed. The
//!   constant is kept here too: it is the neuron's mean, the same for every pair, and removing it would
//!   shift every logit by an input-independent amount that says nothing about the algorithm (Nanda et al.
//!   likewise ablate only the key frequencies).
//!
//! Pairs outside the task (b = 0 under `/`) take part in nothing.

use super::fourier::Cycle;
use super::insight::Split;
use crate::config::{Activation, Combine, Operation};
use crate::data::modular::apply;

/// A matrix product `out[m, n] = a[m, k] . b[k, n]`, row-major: (out, a, b, m, k, n).
pub type Product = fn(&mut [f32], &[f32], &[f32], usize, usize, usize);

/// A general read-out: (row indices a * p + b, hidden rows `[rows, h]`, logits out `[rows, classes]`).
pub type LogitsFn<'a> = dyn Fn(&[usize], &[f32], &mut [f32]) + 'a;

/// How hidden activations become logits.
#[derive(Clone, Copy)]
pub enum Readout<'a> {
    /// logits = hidden . w + bias, `w` row-major `[h, classes]`, `bias` `[classes]` (the MLP's w2, b2).
    /// `product`, when given, computes the chunks' hidden . w (the caller's matrix product: `gemm`);
    /// without it a plain loop does ([`linear`]).
    Linear {
        w: &'a [f32],
        bias: Option<&'a [f32]>,
        product: Option<Product>,
    },
    /// Any read-out (the transformer's: W2, the residual stream, final norm, unembedding). Called with
    /// a batch's row indices (a * p + b), their hidden rows `[rows, h]` and the logits to fill
    /// `[rows, classes]`.
    Custom {
        classes: usize,
        logits: &'a LogitsFn<'a>,
    },
}

impl Readout<'_> {
    /// Logit count per row.
    pub fn classes(&self, h: usize) -> usize {
        match self {
            Readout::Linear { w, .. } => w.len() / h.max(1),
            Readout::Custom { classes, .. } => *classes,
        }
    }

    /// Logits of the hidden rows `hidden` (`[rows.len(), h]`) of the pairs `rows` into `out`.
    fn apply(&self, rows: &[usize], hidden: &[f32], h: usize, out: &mut [f32]) {
        match self {
            Readout::Linear {
                w,
                bias,
                product: None,
            } => linear(w, *bias, hidden, h, out),
            Readout::Linear {
                w,
                bias,
                product: Some(product),
            } => {
                let classes = w.len() / h.max(1);
                product(out, hidden, w, rows.len(), h, classes);
                if let Some(b) = bias {
                    for or in out.chunks_exact_mut(classes) {
                        for (o, &bv) in or.iter_mut().zip(*b) {
                            *o += bv;
                        }
                    }
                }
            }
            Readout::Custom { logits, .. } => logits(rows, hidden, out),
        }
    }
}

/// `out[r] = hidden[r] . w (+ bias)` for every row. Four rows share each pass over w (a quarter of the
/// loads of w), and a hidden unit that is zero in all four (common in a ReLU layer) is skipped.
fn linear(w: &[f32], bias: Option<&[f32]>, hidden: &[f32], h: usize, out: &mut [f32]) {
    let classes = w.len() / h.max(1);
    for or in out.chunks_exact_mut(classes) {
        match bias {
            Some(b) => or.copy_from_slice(&b[..classes]),
            None => or.fill(0.0),
        }
    }
    let mut rows = hidden.chunks_exact(h).zip(out.chunks_exact_mut(classes));
    loop {
        let block: Vec<(&[f32], &mut [f32])> = rows.by_ref().take(4).collect();
        match <[_; 4]>::try_from(block) {
            Ok([(h0, o0), (h1, o1), (h2, o2), (h3, o3)]) => {
                for (j, wr) in w.chunks_exact(classes).enumerate() {
                    let (x0, x1, x2, x3) = (h0[j], h1[j], h2[j], h3[j]);
                    if x0 == 0.0 && x1 == 0.0 && x2 == 0.0 && x3 == 0.0 {
                        continue;
                    }
                    for c in 0..classes {
                        let wv = wr[c];
                        o0[c] += x0 * wv;
                        o1[c] += x1 * wv;
                        o2[c] += x2 * wv;
                        o3[c] += x3 * wv;
                    }
                }
            }
            Err(rest) => {
                // fewer than four rows left
                for (hr, or) in rest {
                    for (&x, wr) in hr.iter().zip(w.chunks_exact(classes)) {
                        if x != 0.0 {
                            for (o, &wv) in or.iter_mut().zip(wr) {
                                *o += x * wv;
                            }
                        }
                    }
                }
                break;
            }
        }
    }
}

/// Hidden activations over the whole p x p grid.
#[derive(Clone, Copy, Debug)]
pub struct HiddenGrid<'a> {
    pub op: Operation,
    pub p: usize,
    /// Neurons.
    pub h: usize,
    /// `[p * p, h]`, row a * p + b (rows of pairs outside the task are read by nothing).
    pub values: &'a [f32],
    /// The unablated logits `[p * p, classes]` when the caller has them already ([`grid_logits`], for the
    /// answer grid): a linear read-out's excluded loss then subtracts from them instead of recomputing
    /// (the read-out of every training row is most of the work). Ignored by a custom read-out.
    pub logits: Option<&'a [f32]>,
}

/// Mean cross-entropy and accuracy over a set of pairs.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LossAccuracy {
    pub loss: f64,
    pub accuracy: f64,
}

/// Restricted and excluded loss at one step.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AblationLosses {
    /// The key frequencies used (those inside 1..=n/2 of the ones asked for).
    pub keys: Vec<usize>,
    /// Validation loss with only the key-frequency projection kept; `None` with no validation pair.
    pub restricted: Option<LossAccuracy>,
    /// Validation loss with all of the hidden layer that is a function of the answer kept (every
    /// frequency and the constant: each answer's mean activations), what the restriction would give
    /// with every frequency a key. Against `restricted` it says whether the keys are too few: when the
    /// restricted loss lies above the validation loss, is it the keys, or keeping a function of the
    /// answer alone? (A transformer's restricted loss ended 10 times its validation loss; with every
    /// frequency it was the validation loss.) `None` with no validation pair.
    #[serde(default)]
    pub every_frequency: Option<LossAccuracy>,
    /// Training loss with the key-frequency directions removed; `None` with no training pair.
    pub excluded: Option<LossAccuracy>,
}

/// Rows per read-out call on the general path, to bound memory (the memory estimate counts this many).
const CHUNK: usize = crate::config::memory::INSIGHT_CHUNK;

/// Restricted (validation) and excluded (training) loss for the key frequencies `keys` (1-based on the
/// operation's cycle, as [`super::insight::EmbeddingSpectrum::keys`] gives them). `split` is `[p * p]`.
pub fn ablation_losses(
    grid: &HiddenGrid,
    split: &[Split],
    keys: &[usize],
    readout: &Readout,
) -> AblationLosses {
    let (op, p, h) = (grid.op, grid.p, grid.h);
    assert!(
        grid.values.len() == p * p * h && split.len() == p * p,
        "hidden must be [p * p, h] and split [p * p]"
    );
    let cycle = Cycle::for_op(op, p);
    let n = cycle.len();
    let keys: Vec<usize> = keys
        .iter()
        .copied()
        .filter(|k| (1..=n / 2).contains(k))
        .collect();
    // answer of every pair in the task; per-answer counts and sums of hidden rows
    let answer: Vec<Option<usize>> = (0..p * p)
        .map(|i| {
            (split[i] != Split::NotInTask)
                .then(|| apply(op, (i / p) as u32, (i % p) as u32, p as u32) as usize)
        })
        .collect();
    let mut count = vec![0.0f64; p];
    let mut sums = vec![0.0f64; p * h];
    for (i, c) in answer.iter().enumerate() {
        if let Some(c) = *c {
            count[c] += 1.0;
            let s = &mut sums[c * h..][..h];
            for (acc, &v) in s.iter_mut().zip(&grid.values[i * h..][..h]) {
                *acc += v as f64;
            }
        }
    }
    // the span's functions of the answer c: cos and sin of w_k pos(c), 0 where c has no position
    let trig: Vec<Vec<f64>> = keys
        .iter()
        .flat_map(|&k| {
            let w = 2.0 * std::f64::consts::PI * k as f64 / n as f64;
            let at = |f: fn(f64) -> f64| -> Vec<f64> {
                cycle
                    .position
                    .iter()
                    .map(|pos| pos.map_or(0.0, |i| f(w * i as f64)))
                    .collect()
            };
            // at k = n/2 (an even cycle: `*` and `/`) the sine is sin(pi i) = 0 at every position;
            // computed, it is rounding noise of norm about 1e-13 that Gram-Schmidt would normalise
            // into a meaningless direction of the span (a helper's audit: the restricted loss of
            // a / b mod 31 was 3 % off, the excluded 7 %), so it is left out, as the spectrum does
            if cycle.is_half(k) {
                vec![at(f64::cos)]
            } else {
                vec![at(f64::cos), at(f64::sin)]
            }
        })
        .collect();
    let with_constant: Vec<Vec<f64>> = std::iter::once(vec![1.0; p])
        .chain(trig.iter().cloned())
        .collect();
    let keep = projection(&orthonormal(with_constant, &count), &sums, p, h);
    let remove = projection(&orthonormal(trig, &count), &sums, p, h);

    let rows_of = |s: Split| -> Vec<usize> { (0..p * p).filter(|&i| split[i] == s).collect() };
    let (val_rows, train_rows) = (rows_of(Split::Val), rows_of(Split::Train));
    let classes = readout.classes(h);
    let target = |i: usize| answer[i].unwrap_or(0);

    // the validation loss with the hidden layer replaced by `kept[c]`, a table over the answer `[p, h]`
    let kept_loss = |kept: &[f32]| match readout {
        Readout::Linear { w, bias, .. } => {
            // the kept activations depend on c alone, and so do the logits: p read-outs, not n
            let mut table = vec![0.0f32; p * classes];
            linear(w, *bias, kept, h, &mut table);
            let mut acc = Tally::default();
            for &i in &val_rows {
                acc.add(&table[target(i) * classes..][..classes], target(i));
            }
            acc.finish()
        }
        Readout::Custom { .. } => tally_rows(&val_rows, readout, h, classes, &target, |i, out| {
            out.copy_from_slice(&kept[target(i) * h..][..h]);
        }),
    };
    let restricted = kept_loss(&keep);
    // the projection on every function of the answer is each answer's mean (0 for an answer no pair has)
    let means: Vec<f32> = (0..p * h)
        .map(|j| {
            let n = count[j / h];
            if n > 0.0 { (sums[j] / n) as f32 } else { 0.0 }
        })
        .collect();
    let every_frequency = kept_loss(&means);
    let excluded = match (readout, grid.logits) {
        (Readout::Linear { w, .. }, Some(full)) => {
            // (N - R[c]) W + b = (N W + b) - R[c] W, from the logits the caller has
            let mut removed = vec![0.0f32; p * classes];
            linear(w, None, &remove, h, &mut removed);
            let mut acc = Tally::default();
            let mut logits = vec![0.0f32; classes];
            for &i in &train_rows {
                logits.copy_from_slice(&full[i * classes..][..classes]);
                let c = target(i);
                for (l, r) in logits.iter_mut().zip(&removed[c * classes..][..classes]) {
                    *l -= r;
                }
                acc.add(&logits, c);
            }
            acc.finish()
        }
        // the ablated rows read out a chunk at a time
        _ => tally_rows(&train_rows, readout, h, classes, &target, |i, out| {
            let r = &remove[target(i) * h..][..h];
            for ((o, &v), &x) in out.iter_mut().zip(&grid.values[i * h..][..h]).zip(r) {
                *o = v - x;
            }
        }),
    };
    AblationLosses {
        keys,
        restricted,
        every_frequency,
        excluded,
    }
}

/// Logits of every pair, `[p * p, classes]` (rows outside the task computed too, for a full grid).
pub fn grid_logits(grid: &HiddenGrid, readout: &Readout) -> Vec<f32> {
    let (p, h) = (grid.p, grid.h);
    let classes = readout.classes(h);
    let mut out = vec![0.0f32; p * p * classes];
    let rows: Vec<usize> = (0..p * p).collect();
    for (chunk, oc) in rows.chunks(CHUNK).zip(out.chunks_mut(CHUNK * classes)) {
        let hid = &grid.values[chunk[0] * h..][..chunk.len() * h];
        readout.apply(chunk, hid, h, oc);
    }
    out
}

/// The arg-max of every pair's logits, `[p * p]`, computed 1024 rows at a time, so that the logits
/// of all pairs (p^3 floats for the MLP) are never held: the same rows and chunks as [`grid_logits`], so
/// the same values as `argmax_rows(&grid_logits(..))`, bit for bit.
pub fn grid_argmax(grid: &HiddenGrid, readout: &Readout) -> Vec<u32> {
    let (p, h) = (grid.p, grid.h);
    let classes = readout.classes(h);
    let mut out = Vec::with_capacity(p * p);
    let mut logits = vec![0.0f32; CHUNK * classes];
    let rows: Vec<usize> = (0..p * p).collect();
    for chunk in rows.chunks(CHUNK) {
        let hid = &grid.values[chunk[0] * h..][..chunk.len() * h];
        let l = &mut logits[..chunk.len() * classes];
        l.fill(0.0);
        readout.apply(chunk, hid, h, l);
        out.extend(argmax_rows(l, classes));
    }
    out
}

/// Arg-max of each row of `[rows, classes]` logits (the first of equal maxima).
pub fn argmax_rows(logits: &[f32], classes: usize) -> Vec<u32> {
    logits
        .chunks_exact(classes.max(1))
        .map(|row| {
            let mut best = 0;
            for (j, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = j;
                }
            }
            best as u32
        })
        .collect()
}

/// Weighted Gram-Schmidt of functions of the answer c under <f, g> = sum_c m[c] f(c) g(c): the
/// orthonormal functions, dropping any that the earlier ones (or m's zeros) already span.
fn orthonormal(basis: Vec<Vec<f64>>, m: &[f64]) -> Vec<Vec<f64>> {
    let dot =
        |f: &[f64], g: &[f64]| -> f64 { f.iter().zip(g).zip(m).map(|((a, b), w)| a * b * w).sum() };
    let mut out: Vec<Vec<f64>> = vec![];
    for mut f in basis {
        let before = dot(&f, &f);
        for q in &out {
            let d = dot(&f, q);
            f.iter_mut().zip(q).for_each(|(a, b)| *a -= d * b);
        }
        let after = dot(&f, &f);
        // relative tolerance: a direction left with less than 1e-10 of its norm is a rounding residue;
        // and an absolute one, as the functions here are of order 1 at every answer: a function
        // that is rounding noise throughout is no direction at all
        let total: f64 = m.iter().sum();
        if before > 1e-20 * total.max(1.0) && after > 1e-10 * before {
            let s = after.sqrt();
            f.iter_mut().for_each(|a| *a /= s);
            out.push(f);
        }
    }
    out
}

/// The projection of every neuron on the span of the orthonormal functions `q`, as a table over the
/// answer: `[p, h]`. With per-answer sums S, coefficient_q = sum_c q(c) S[c] and P[c] = sum_q q(c) coef_q.
fn projection(q: &[Vec<f64>], sums: &[f64], p: usize, h: usize) -> Vec<f32> {
    let mut table = vec![0.0f64; p * h];
    let mut coef = vec![0.0f64; h];
    for f in q {
        coef.fill(0.0);
        for (c, &fc) in f.iter().enumerate() {
            for (acc, &s) in coef.iter_mut().zip(&sums[c * h..][..h]) {
                *acc += fc * s;
            }
        }
        for (c, &fc) in f.iter().enumerate() {
            for (t, &k) in table[c * h..][..h].iter_mut().zip(&coef) {
                *t += fc * k;
            }
        }
    }
    table.into_iter().map(|v| v as f32).collect()
}

/// Running sum of cross-entropy and right answers.
#[derive(Default)]
struct Tally {
    loss: f64,
    right: usize,
    count: usize,
}

impl Tally {
    fn add(&mut self, logits: &[f32], target: usize) {
        let max = logits.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) as f64;
        let lse = max
            + logits
                .iter()
                .map(|&v| (v as f64 - max).exp())
                .sum::<f64>()
                .ln();
        self.loss += lse - logits[target] as f64;
        // right when no logit beats the target's, and none before it equals it (first maximum wins)
        let t = logits[target];
        let right =
            logits[..target].iter().all(|&v| v < t) && logits[target..].iter().all(|&v| v <= t);
        self.right += usize::from(right);
        self.count += 1;
    }

    fn finish(&self) -> Option<LossAccuracy> {
        (self.count > 0).then(|| LossAccuracy {
            loss: self.loss / self.count as f64,
            accuracy: self.right as f64 / self.count as f64,
        })
    }
}

/// Cross-entropy over `rows` through a general read-out, their hidden rows written by `fill`.
fn tally_rows(
    rows: &[usize],
    readout: &Readout,
    h: usize,
    classes: usize,
    target: &dyn Fn(usize) -> usize,
    fill: impl Fn(usize, &mut [f32]),
) -> Option<LossAccuracy> {
    let mut acc = Tally::default();
    let mut hidden = vec![0.0f32; CHUNK * h];
    let mut logits = vec![0.0f32; CHUNK * classes];
    for chunk in rows.chunks(CHUNK) {
        let (hid, out) = (
            &mut hidden[..chunk.len() * h],
            &mut logits[..chunk.len() * classes],
        );
        for (&i, hr) in chunk.iter().zip(hid.chunks_exact_mut(h)) {
            fill(i, hr);
        }
        readout.apply(chunk, hid, h, out);
        for (&i, lr) in chunk.iter().zip(out.chunks_exact(classes)) {
            acc.add(lr, target(i));
        }
    }
    acc.finish()
}

/// The MLP's weights as `Model::export` names them, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct MlpWeights<'a> {
    /// `embed` `[p, e]`.
    pub embed: &'a [f32],
    /// `w1` `[inp, h]` with inp = 2e (concat: a's rows, then b's) or e (sum).
    pub w1: &'a [f32],
    /// `b1` `[h]`.
    pub b1: &'a [f32],
    /// `w2` `[h, p]`.
    pub w2: &'a [f32],
    /// `b2` `[p]`.
    pub b2: &'a [f32],
    pub e: usize,
    pub h: usize,
    pub combine: Combine,
    pub activation: Activation,
}

/// A tensor `MlpWeights::from_export` needs is missing or has the wrong shape.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("MLP weights: {0}")]
pub struct WeightsError(String);

impl<'a> MlpWeights<'a> {
    /// Borrow the tensors of `Model::export` (name, shape, values) of an MLP; how a and b combine follows
    /// from w1's shape, the activation is not stored in the weights and must be given.
    pub fn from_export(
        tensors: &'a [(String, Vec<usize>, Vec<f32>)],
        activation: Activation,
    ) -> Result<Self, WeightsError> {
        let get = |name: &str, rank: usize| -> Result<(&'a [usize], &'a [f32]), WeightsError> {
            let (_, shape, values) = tensors
                .iter()
                .find(|(n, _, _)| n == name)
                .ok_or_else(|| WeightsError(format!("no tensor {name}")))?;
            if shape.len() != rank || shape.iter().product::<usize>() != values.len() {
                return Err(WeightsError(format!("{name} has shape {shape:?}")));
            }
            Ok((shape, values))
        };
        let (es, embed) = get("embed", 2)?;
        let (w1s, w1) = get("w1", 2)?;
        let (_, b1) = get("b1", 1)?;
        let (w2s, w2) = get("w2", 2)?;
        let (_, b2) = get("b2", 1)?;
        let (p, e, h) = (es[0], es[1], w1s[1]);
        let combine = match w1s[0] {
            x if x == 2 * e => Combine::Concat,
            x if x == e => Combine::Sum,
            _ => {
                return Err(WeightsError(format!(
                    "w1 {w1s:?} does not fit embed {es:?}"
                )));
            }
        };
        if b1.len() != h || w2s != [h, p] || b2.len() != p {
            return Err(WeightsError(format!(
                "b1, w2 {w2s:?}, b2 do not fit {h} hidden units and {p} classes"
            )));
        }
        Ok(MlpWeights {
            embed,
            w1,
            b1,
            w2,
            b2,
            e,
            h,
            combine,
            activation,
        })
    }

    /// Hidden activations over every pair: `[p * p, h]`, row a * p + b (for the ablation and the grid).
    pub fn hidden(&self, p: usize) -> Vec<f32> {
        let (e, h) = (self.e, self.h);
        // the first layer on a lookup is a lookup: tables T_a = E W1[a's rows], T_b = E W1[b's rows]
        let table = |rows: &[f32]| -> Vec<f32> {
            let mut t = vec![0.0f32; p * h];
            for (tr, er) in t.chunks_exact_mut(h).zip(self.embed.chunks_exact(e)) {
                for (&x, wr) in er.iter().zip(rows.chunks_exact(h)) {
                    for (o, &w) in tr.iter_mut().zip(wr) {
                        *o += x * w;
                    }
                }
            }
            t
        };
        let ta = table(&self.w1[..e * h]);
        let tb = match self.combine {
            Combine::Concat => table(&self.w1[e * h..][..e * h]),
            Combine::Sum => ta.clone(),
        };
        let mut out = vec![0.0f32; p * p * h];
        for (i, row) in out.chunks_exact_mut(h.max(1)).enumerate() {
            let (ra, rb) = (&ta[i / p * h..][..h], &tb[i % p * h..][..h]);
            for (((o, &x), &y), &c) in row.iter_mut().zip(ra).zip(rb).zip(self.b1) {
                *o = x + y + c;
            }
        }
        match self.activation {
            Activation::Relu => out.iter_mut().for_each(|z| *z = z.max(0.0)),
            Activation::Square => out.iter_mut().for_each(|z| *z *= *z),
        }
        out
    }

    /// The read-out from hidden to logits: w2, b2.
    pub fn readout(&self) -> Readout<'a> {
        Readout::Linear {
            w: self.w2,
            bias: Some(self.b2),
            product: None,
        }
    }

    /// The rows of w1 that see a's embedding, `[e, h]` (for [`super::insight::neuron_frequencies`]).
    pub fn w_in_a(&self) -> &'a [f32] {
        &self.w1[..self.e * self.h]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::insight::split_grid;
    use crate::data::modular::{pow_mod, split};
    use crate::rng::{Stream, stream};
    use rand_distr::{Distribution, StandardNormal};
    use std::f64::consts::PI;

    fn gaussian(n: usize, seed: u64) -> Vec<f32> {
        let mut r = stream(seed, Stream::Init);
        (0..n).map(|_| StandardNormal.sample(&mut r)).collect()
    }

    /// The answer's phase index and period, found by brute force (not through `Cycle`): c itself mod p
    /// for `+`, `-`; the i with g^i = c for `*`, `/` (g the smallest primitive root, searched by order).
    fn phase(op: Operation, p: usize, c: usize) -> (Option<usize>, usize) {
        match op {
            Operation::Add | Operation::Sub => (Some(c), p),
            Operation::Mul | Operation::Div => {
                let g = (2..p as u64)
                    .find(|&g| (1..p as u64 - 1).all(|e| pow_mod(g, e, p as u64) != 1))
                    .unwrap();
                let i = (0..p - 1).find(|&i| pow_mod(g, i as u64, p as u64) as usize == c);
                (i, p - 1)
            }
        }
    }

    /// Design row of the answer c: [1?, cos w_k i, sin w_k i for each key].
    fn design(op: Operation, p: usize, c: usize, keys: &[usize], constant: bool) -> Vec<f64> {
        let (i, n) = phase(op, p, c);
        let mut row = if constant { vec![1.0] } else { vec![] };
        for &k in keys {
            let t = i.map(|i| 2.0 * PI * (k * i) as f64 / n as f64);
            row.push(t.map_or(0.0, f64::cos));
            // sin(pi i) at k = n/2 is exactly 0: no function of the span (and a column of rounding
            // noise would make the normal equations singular)
            if 2 * k != n {
                row.push(t.map_or(0.0, f64::sin));
            }
        }
        row
    }

    /// Solve the square system a x = b by Gaussian elimination with partial pivoting.
    fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
        let n = b.len();
        for col in 0..n {
            let piv = (col..n)
                .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
                .unwrap();
            a.swap(col, piv);
            b.swap(col, piv);
            let (top, below) = a.split_at_mut(col + 1);
            let pivot = &top[col];
            for (r, row) in below.iter_mut().enumerate() {
                let f = row[col] / pivot[col];
                row.iter_mut()
                    .zip(pivot)
                    .skip(col)
                    .for_each(|(x, y)| *x -= f * y);
                b[col + 1 + r] -= f * b[col];
            }
        }
        let mut x = vec![0.0; n];
        for r in (0..n).rev() {
            x[r] = (b[r] - (r + 1..n).map(|c| a[r][c] * x[c]).sum::<f64>()) / a[r][r];
        }
        x
    }

    /// Least-squares fit of every neuron on the design over the task's rows (normal equations), returned
    /// as the fitted activations of every row.
    fn fitted(
        op: Operation,
        p: usize,
        hidden: &[f32],
        h: usize,
        rows: &[usize],
        keys: &[usize],
        constant: bool,
    ) -> Vec<Vec<f64>> {
        let x: Vec<Vec<f64>> = rows
            .iter()
            .map(|&i| {
                design(
                    op,
                    p,
                    crate::data::modular::apply(op, (i / p) as u32, (i % p) as u32, p as u32)
                        as usize,
                    keys,
                    constant,
                )
            })
            .collect();
        let m = x[0].len();
        let xtx: Vec<Vec<f64>> = (0..m)
            .map(|u| {
                (0..m)
                    .map(|v| x.iter().map(|r| r[u] * r[v]).sum())
                    .collect()
            })
            .collect();
        let mut out = vec![vec![0.0; h]; p * p];
        for j in 0..h {
            let xty: Vec<f64> = (0..m)
                .map(|u| {
                    rows.iter()
                        .zip(&x)
                        .map(|(&i, r)| r[u] * hidden[i * h + j] as f64)
                        .sum()
                })
                .collect();
            let beta = solve(xtx.clone(), xty);
            for (&i, r) in rows.iter().zip(&x) {
                out[i][j] = r.iter().zip(&beta).map(|(a, b)| a * b).sum();
            }
        }
        out
    }

    /// Mean cross-entropy of the rows `rows` given logits per row (computed here, not by the module).
    fn mean_ce(op: Operation, p: usize, rows: &[usize], logits: impl Fn(usize) -> Vec<f64>) -> f64 {
        rows.iter()
            .map(|&i| {
                let l = logits(i);
                let c = crate::data::modular::apply(op, (i / p) as u32, (i % p) as u32, p as u32)
                    as usize;
                let lse = l.iter().map(|v| v.exp()).sum::<f64>().ln();
                lse - l[c]
            })
            .sum::<f64>()
            / rows.len() as f64
    }

    /// A read-out with a row-dependent term (as the transformer's residual stream makes it): logits =
    /// hidden . w + bias + 0.1 (a - b) on class 0, over `classes` logits.
    fn brute_logits(
        w: &[f32],
        bias: &[f32],
        hidden: &[f64],
        i: usize,
        p: usize,
        row_term: bool,
    ) -> Vec<f64> {
        let classes = bias.len();
        (0..classes)
            .map(|c| {
                let mut v = bias[c] as f64
                    + hidden
                        .iter()
                        .enumerate()
                        .map(|(j, x)| x * w[j * classes + c] as f64)
                        .sum::<f64>();
                if row_term && c == 0 {
                    v += 0.1 * ((i / p) as f64 - (i % p) as f64);
                }
                v
            })
            .collect()
    }

    #[test]
    fn brute_force_on_p5() {
        // every operation on p = 5, random activations and read-out: restricted and excluded loss against
        // an independent least-squares projection over the task's rows (normal equations, no grouping by
        // answer), for a linear read-out and for a custom one with a row-dependent term and p + 2 classes
        let (p, h) = (5, 6);
        for (case, op) in Operation::ALL.into_iter().enumerate() {
            // (for * and /, k = 2 is half their cycle of 4: its sine is no direction; the module once
            // normalised its rounding noise into one, a helper's audit)
            let keys: &[usize] = match op {
                Operation::Add => &[2],
                Operation::Sub => &[1, 2],
                Operation::Mul | Operation::Div => &[1, 2],
            };
            let s = split(op, p as u32, 0.5, case as u64);
            let grid_split = split_grid(op, p, &s.train.xs);
            let rows = |want: Split| -> Vec<usize> {
                (0..p * p).filter(|&i| grid_split[i] == want).collect()
            };
            let (train, val) = (rows(Split::Train), rows(Split::Val));
            let task: Vec<usize> = (0..p * p)
                .filter(|&i| grid_split[i] != Split::NotInTask)
                .collect();
            let hidden = gaussian(p * p * h, 10 + case as u64);
            let keep = fitted(op, p, &hidden, h, &task, keys, true);
            let trig = fitted(op, p, &hidden, h, &task, keys, false);
            // every function of the answer kept: each row the mean of the task's rows with its answer
            let answer = |i: usize| apply(op, (i / p) as u32, (i % p) as u32, p as u32);
            let mean_of_answer: Vec<Vec<f64>> = (0..p * p)
                .map(|i| {
                    let same: Vec<usize> = task
                        .iter()
                        .copied()
                        .filter(|&t| answer(t) == answer(i))
                        .collect();
                    (0..h)
                        .map(|j| {
                            same.iter().map(|&t| hidden[t * h + j] as f64).sum::<f64>()
                                / same.len().max(1) as f64
                        })
                        .collect()
                })
                .collect();
            for row_term in [false, true] {
                let classes = if row_term { p + 2 } else { p };
                let w = gaussian(h * classes, 20 + case as u64);
                let bias = gaussian(classes, 30 + case as u64);
                let want_restricted = mean_ce(op, p, &val, |i| {
                    brute_logits(&w, &bias, &keep[i], i, p, row_term)
                });
                let want_every = mean_ce(op, p, &val, |i| {
                    brute_logits(&w, &bias, &mean_of_answer[i], i, p, row_term)
                });
                let want_excluded = mean_ce(op, p, &train, |i| {
                    let kept: Vec<f64> = (0..h)
                        .map(|j| hidden[i * h + j] as f64 - trig[i][j])
                        .collect();
                    brute_logits(&w, &bias, &kept, i, p, row_term)
                });
                let custom = |rs: &[usize], hid: &[f32], out: &mut [f32]| {
                    for ((&i, hr), or) in rs
                        .iter()
                        .zip(hid.chunks_exact(h))
                        .zip(out.chunks_exact_mut(classes))
                    {
                        let hr: Vec<f64> = hr.iter().map(|&v| v as f64).collect();
                        for (o, v) in or.iter_mut().zip(brute_logits(&w, &bias, &hr, i, p, true)) {
                            *o = v as f32;
                        }
                    }
                };
                let readout = if row_term {
                    Readout::Custom {
                        classes,
                        logits: &custom,
                    }
                } else {
                    Readout::Linear {
                        w: &w,
                        bias: Some(&bias),
                        product: None,
                    }
                };
                let grid = HiddenGrid {
                    op,
                    p,
                    h,
                    values: &hidden,
                    logits: None,
                };
                let got = ablation_losses(&grid, &grid_split, keys, &readout);
                assert_eq!(got.keys, keys);
                // the same with the unablated logits handed in (a custom read-out ignores them)
                let full = grid_logits(&grid, &readout);
                let again = ablation_losses(
                    &HiddenGrid {
                        logits: Some(&full),
                        ..grid
                    },
                    &grid_split,
                    keys,
                    &readout,
                );
                let (a, b) = (got.excluded.unwrap().loss, again.excluded.unwrap().loss);
                assert!((a - b).abs() < 1e-5, "{a} vs {b}");
                let (r, x) = (got.restricted.unwrap().loss, got.excluded.unwrap().loss);
                assert!(
                    (r - want_restricted).abs() < 1e-5,
                    "{op} restricted {r} vs {want_restricted}"
                );
                assert!(
                    (x - want_excluded).abs() < 1e-5,
                    "{op} excluded {x} vs {want_excluded}"
                );
                let e = got.every_frequency.unwrap().loss;
                assert!(
                    (e - want_every).abs() < 1e-5,
                    "{op} every frequency {e} vs {want_every}"
                );
            }
        }
    }

    #[test]
    fn activations_in_the_span_lose_nothing() {
        // hidden rows built as a_j + b_j cos(w_k i) + c_j sin(w_k i) of the answer's phase i for the keys:
        // the projection is the identity, so the restricted loss is the full validation loss; removing the
        // key directions leaves the constant a_j, so the excluded loss is that of a constant hidden layer
        let (p, h) = (13, 5);
        for op in Operation::ALL {
            let keys = [2, 5];
            let s = split(op, p as u32, 0.4, 1);
            let grid_split = split_grid(op, p, &s.train.xs);
            let coef = gaussian(h * 5, 2);
            let cycle = Cycle::for_op(op, p);
            let n = cycle.len();
            let mut hidden = vec![0.0f32; p * p * h];
            let mut constant = vec![0.0f32; p * p * h];
            for i in 0..p * p {
                let c = apply(op, (i / p) as u32, (i % p) as u32, p as u32) as usize;
                for j in 0..h {
                    let mut v = coef[j * 5] as f64;
                    constant[i * h + j] = v as f32;
                    if let Some(pos) = cycle.position[c] {
                        for (t, &k) in keys.iter().enumerate() {
                            let a = 2.0 * PI * (k * pos) as f64 / n as f64;
                            v += coef[j * 5 + 1 + 2 * t] as f64 * a.cos()
                                + coef[j * 5 + 2 + 2 * t] as f64 * a.sin();
                        }
                    }
                    hidden[i * h + j] = v as f32;
                }
            }
            let (w, bias) = (gaussian(h * p, 3), gaussian(p, 4));
            let readout = Readout::Linear {
                w: &w,
                bias: Some(&bias),
                product: None,
            };
            let logits = |values: &[f32], i: usize| -> Vec<f64> {
                let hr: Vec<f64> = values[i * h..][..h].iter().map(|&v| v as f64).collect();
                brute_logits(&w, &bias, &hr, i, p, false)
            };
            let rows = |want: Split| -> Vec<usize> {
                (0..p * p).filter(|&i| grid_split[i] == want).collect()
            };
            let full_val = mean_ce(op, p, &rows(Split::Val), |i| logits(&hidden, i));
            let const_train = mean_ce(op, p, &rows(Split::Train), |i| logits(&constant, i));
            let got = ablation_losses(
                &HiddenGrid {
                    op,
                    p,
                    h,
                    values: &hidden,
                    logits: None,
                },
                &grid_split,
                &keys,
                &readout,
            );
            let (r, x) = (got.restricted.unwrap(), got.excluded.unwrap());
            assert!(
                (r.loss - full_val).abs() < 1e-4,
                "{op}: {} vs {full_val}",
                r.loss
            );
            // a hidden layer that is a function of the answer is its own answer mean
            let e = got.every_frequency.unwrap();
            assert!(
                (e.loss - full_val).abs() < 1e-4,
                "{op}: every frequency {} vs {full_val}",
                e.loss
            );
            assert!(
                (x.loss - const_train).abs() < 1e-4,
                "{op}: {} vs {const_train}",
                x.loss
            );
        }
    }

    #[test]
    fn keys_outside_the_cycle_are_dropped_and_empty_sets_give_none() {
        // p = 7: frequencies 1..=3 exist; with every pair in training there is no validation loss
        let (p, h) = (7, 2);
        let all: Vec<[u32; 2]> = (0..p as u32)
            .flat_map(|a| (0..p as u32).map(move |b| [a, b]))
            .collect();
        let grid_split = split_grid(Operation::Add, p, &all);
        let hidden = gaussian(p * p * h, 5);
        let w = gaussian(h * p, 6);
        let got = ablation_losses(
            &HiddenGrid {
                op: Operation::Add,
                p,
                h,
                values: &hidden,
                logits: None,
            },
            &grid_split,
            &[0, 3, 4],
            &Readout::Linear {
                w: &w,
                bias: None,
                product: None,
            },
        );
        assert_eq!(got.keys, vec![3]);
        assert_eq!(got.restricted, None);
        assert_eq!(got.every_frequency, None);
        assert!(got.excluded.is_some());
    }

    /// An MLP's exported tensors (concat) with standard normal values, each its own stream.
    fn random_mlp(p: usize, e: usize, h: usize) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        let names = ["embed", "w1", "b1", "w2", "b2"];
        let shapes = [vec![p, e], vec![2 * e, h], vec![h], vec![h, p], vec![p]];
        names
            .iter()
            .zip(shapes)
            .enumerate()
            .map(|(i, (n, s))| {
                (
                    n.to_string(),
                    s.clone(),
                    gaussian(s.iter().product(), i as u64),
                )
            })
            .collect()
    }

    #[test]
    fn the_chunked_arg_max_is_the_arg_max_of_the_whole_grid() {
        // p = 37: 1369 pairs, a chunk of 1024 and one of 345; an MLP with random weights, ReLU (many
        // zero hidden units, which the read-out skips in blocks of four rows)
        let (p, e, h) = (37usize, 6usize, 24usize);
        let tensors = random_mlp(p, e, h);
        let mw = MlpWeights::from_export(&tensors, Activation::Relu).unwrap();
        let hidden = mw.hidden(p);
        let grid = HiddenGrid {
            op: Operation::Add,
            p,
            h,
            values: &hidden,
            logits: None,
        };
        let whole = argmax_rows(&grid_logits(&grid, &mw.readout()), p);
        let chunked = grid_argmax(&grid, &mw.readout());
        assert_eq!(chunked, whole);
        // not a constant answer: the comparison has something to compare
        assert!(whole.iter().any(|&c| c != whole[0]));
    }

    #[test]
    #[ignore = "timing report, run with --ignored --nocapture"]
    fn timing_p97_h512() {
        // the live-view budget: every measure on p = 97 with the MLP at e = 128, h = 512
        use crate::analysis::fourier::KeySelect;
        use crate::analysis::insight::{
            answer_grid, clocks, embedding_pca, embedding_spectrum, neuron_frequencies,
        };
        use std::time::Instant;
        let (p, e, h) = (97usize, 128usize, 512usize);
        let tensors = random_mlp(p, e, h);
        let mw = MlpWeights::from_export(&tensors, Activation::Relu).unwrap();
        let s = split(Operation::Add, p as u32, 0.5, 1);
        let grid_split = split_grid(Operation::Add, p, &s.train.xs);
        let time = |label: &str, f: &mut dyn FnMut()| {
            let t = Instant::now();
            let reps = 5;
            for _ in 0..reps {
                f();
            }
            println!(
                "{label}: {:.2} ms",
                t.elapsed().as_secs_f64() * 1e3 / reps as f64
            );
        };
        let mut hidden = vec![];
        time("hidden [9409, 512]", &mut || hidden = mw.hidden(p));
        let grid = HiddenGrid {
            op: Operation::Add,
            p,
            h,
            values: &hidden,
            logits: None,
        };
        time("restricted + excluded loss", &mut || {
            ablation_losses(&grid, &grid_split, &[3, 14, 29, 41], &mw.readout());
        });
        let mut logits = vec![];
        time("grid logits", &mut || {
            logits = grid_logits(&grid, &mw.readout())
        });
        time("restricted + excluded given the grid logits", &mut || {
            let g = HiddenGrid {
                logits: Some(&logits),
                ..grid
            };
            ablation_losses(&g, &grid_split, &[3, 14, 29, 41], &mw.readout());
        });
        time("argmax + answer grid", &mut || {
            answer_grid(Operation::Add, p, &argmax_rows(&logits, p), &grid_split);
        });
        time("embedding spectrum", &mut || {
            embedding_spectrum(Operation::Div, mw.embed, p, e, KeySelect::Top(4));
        });
        time("4 clocks", &mut || {
            clocks(Operation::Add, mw.embed, p, e, &[3, 14, 29, 41]);
        });
        time("PCA", &mut || {
            embedding_pca(Operation::Add, mw.embed, p, e);
        });
        time("neurons x frequencies", &mut || {
            neuron_frequencies(Operation::Add, mw.embed, p, e, mw.w_in_a(), h);
        });
    }
}
