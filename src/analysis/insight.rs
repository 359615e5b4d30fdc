//! What the network learned (spec section 4): the embedding's Fourier spectrum, the clock, the principal
//! components, the answer grid and the MLP's neurons by frequency. Each is computed from plain weights at
//! one step, so the views can show any step, live or from a checkpoint.
//!
//! Embeddings come as row-major `[rows, e]` tables whose rows 0..p are the residues; further rows (the
//! transformer's OP and EQ tokens) are ignored, so the whole `embed` tensor of either model can be passed.
//! For `*` and `/` every measure reads the residues on the discrete-log cycle ([`Cycle`]), for `+` and `-`
//! in the order 0..p.

use super::eigen::symmetric_eigen;
use super::fourier::{self, Coefficients, Cycle, KeySelect};
use crate::config::Operation;

/// The embedding's spectrum in the orthonormal real Fourier basis and its sparsity.
#[derive(Clone, Debug, PartialEq)]
pub struct EmbeddingSpectrum {
    /// Norm s_k of frequency k = 1..=n/2 (index k - 1): the norm of the cos k and sin k rows of F E.
    pub norms: Vec<f64>,
    /// Key frequencies, largest first.
    pub keys: Vec<usize>,
    /// Inverse participation ratio of the norms: 1/(n/2) when flat, 1 for a single frequency.
    pub ipr: f64,
    /// Gini coefficient of the norms: 0 when flat, near 1 for a single frequency.
    pub gini: f64,
    /// Share of the embedding's non-constant power sum_k s_k^2 held by the key frequencies.
    pub key_share: f64,
}

/// The spectrum of the residue rows of `embed` (`[rows >= p, e]`) on the operation's cycle.
pub fn embedding_spectrum(
    op: Operation,
    embed: &[f32],
    p: usize,
    e: usize,
    select: KeySelect,
) -> EmbeddingSpectrum {
    let norms = Coefficients::of_rows(embed, &Cycle::for_op(op, p).residues, e).norms();
    let keys = fourier::select_keys(&norms, select);
    EmbeddingSpectrum {
        ipr: fourier::ipr(&norms),
        gini: fourier::gini(&norms),
        key_share: fourier::power_share(&norms, &keys),
        norms,
        keys,
    }
}

/// One residue on a frequency's plane.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClockPoint {
    pub residue: usize,
    pub x: f64,
    pub y: f64,
}

/// The residues projected on one frequency's (cos, sin) plane, in cycle order: a, a + 1, .. for `+` and
/// `-`; g^i, g^(i+1), .. for `*` and `/` (residue 0 has no place there). Consecutive points are the
/// "a -> next" path to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Clock {
    pub k: usize,
    pub points: Vec<ClockPoint>,
}

/// The clock of each frequency in `keys` (1-based; frequencies outside 1..=n/2 are skipped).
///
/// Residue a's coordinates are its centred embedding E[a] - mean projected on the unit directions of the
/// cos k and sin k rows of F E. Centring takes out the constant component, so a network that uses k puts
/// residue a at angle 2 pi k pos(a) / n on a circle round the origin. A direction with zero norm (the sine
/// at k = n/2 on the even multiplicative cycle) gives coordinate 0.
pub fn clocks(op: Operation, embed: &[f32], p: usize, e: usize, keys: &[usize]) -> Vec<Clock> {
    let cycle = Cycle::for_op(op, p);
    let coef = Coefficients::of_rows(embed, &cycle.residues, e);
    let n = cycle.len().max(1) as f64;
    let mut mean = vec![0.0f64; e];
    for &r in &cycle.residues {
        for (m, &v) in mean.iter_mut().zip(&embed[r * e..][..e]) {
            *m += v as f64 / n;
        }
    }
    let unit = |row: &[f64]| -> Vec<f64> {
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            row.iter().map(|v| v / norm).collect()
        } else {
            vec![0.0; row.len()]
        }
    };
    keys.iter()
        .filter(|&&k| (1..=coef.frequencies()).contains(&k))
        .map(|&k| {
            let (u, v) = (unit(coef.cos_row(k)), unit(coef.sin_row(k)));
            let points = cycle
                .residues
                .iter()
                .map(|&r| {
                    let row = &embed[r * e..][..e];
                    let (mut x, mut y) = (0.0, 0.0);
                    for i in 0..e {
                        let c = row[i] as f64 - mean[i];
                        x += c * u[i];
                        y += c * v[i];
                    }
                    ClockPoint { residue: r, x, y }
                })
                .collect();
            Clock { k, points }
        })
        .collect()
}

/// The embedding's first two principal components.
#[derive(Clone, Debug, PartialEq)]
pub struct Pca {
    /// Coordinates of residue a on the two components: [p] (0 for a residue off the operation's
    /// cycle: 0 under `*` and `/`).
    pub coords: Vec<[f64; 2]>,
    /// Fraction of the centred embedding's variance each component explains.
    pub explained: [f64; 2],
}

/// Principal components of the residue rows of `embed` (`[rows >= p, e]`) on `op`'s cycle (0..p for `+`
/// and `-`; the p − 1 non-zero residues for `*` and `/`, those the ring picture draws), centred on their
/// mean: residue 0 of `/` counted in the centring and the variance shares while its plot left it out
/// (a helper's audit).
///
/// Decomposes whichever of the covariance (e x e) and the Gram matrix (p x p) is smaller with
/// [`symmetric_eigen`]. Signs are fixed so that the coordinate of largest magnitude on each component is
/// positive (lowest residue on ties).
pub fn embedding_pca(op: Operation, embed: &[f32], p: usize, e: usize) -> Pca {
    let residues = Cycle::for_op(op, p).residues;
    let rows = pca_of_rows(embed, &residues, e);
    let mut coords = vec![[0.0; 2]; p];
    for (&r, c) in residues.iter().zip(rows.coords) {
        coords[r] = c;
    }
    Pca {
        coords,
        explained: rows.explained,
    }
}

/// [`embedding_pca`] of the rows `rows` of `embed`, in that order (`coords[i]` is row `rows[i]`'s).
fn pca_of_rows(embed: &[f32], rows: &[usize], e: usize) -> Pca {
    let p = rows.len();
    let mut x: Vec<f64> = rows
        .iter()
        .flat_map(|&r| embed[r * e..][..e].iter().map(|&v| v as f64))
        .collect();
    for col in 0..e {
        let mean = (0..p).map(|a| x[a * e + col]).sum::<f64>() / p.max(1) as f64;
        (0..p).for_each(|a| x[a * e + col] -= mean);
    }
    let total: f64 = x.iter().map(|v| v * v).sum();
    let mut coords = vec![[0.0; 2]; p];
    let mut explained = [0.0; 2];
    if e <= p {
        let mut cov = vec![0.0; e * e];
        for row in x.chunks_exact(e.max(1)) {
            for i in 0..e {
                for j in 0..e {
                    cov[i * e + j] += row[i] * row[j];
                }
            }
        }
        let eig = symmetric_eigen(&cov, e);
        for c in 0..2.min(e) {
            let v = eig.vector(c);
            for (a, row) in x.chunks_exact(e).enumerate() {
                coords[a][c] = row.iter().zip(v).map(|(r, w)| r * w).sum();
            }
            explained[c] = eig.values[c].max(0.0);
        }
    } else {
        let mut gram = vec![0.0; p * p];
        for a in 0..p {
            for b in 0..p {
                gram[a * p + b] = (0..e).map(|i| x[a * e + i] * x[b * e + i]).sum();
            }
        }
        let eig = symmetric_eigen(&gram, p);
        for c in 0..2.min(p) {
            let lambda = eig.values[c].max(0.0);
            for (a, u) in eig.vector(c).iter().enumerate() {
                coords[a][c] = u * lambda.sqrt();
            }
            explained[c] = lambda;
        }
    }
    for c in 0..2 {
        let lead =
            coords.iter().map(|xy| xy[c]).fold(
                0.0f64,
                |best, v| if v.abs() > best.abs() { v } else { best },
            );
        if lead < 0.0 {
            coords.iter_mut().for_each(|xy| xy[c] = -xy[c]);
        }
        explained[c] = if total > 0.0 {
            explained[c] / total
        } else {
            0.0
        };
    }
    Pca { coords, explained }
}

/// Each hidden neuron's input weight over a by frequency (MLP).
#[derive(Clone, Debug, PartialEq)]
pub struct NeuronFrequencies {
    pub neurons: usize,
    /// Frequencies k = 1..=n/2.
    pub freqs: usize,
    /// Share of neuron j's non-constant input power at frequency k in `share[j * freqs + k - 1]`; each
    /// neuron's shares sum to 1 (0 for a neuron whose input over a is constant).
    pub share: Vec<f64>,
    /// Each neuron's frequency of largest share; `None` when its input over a is constant.
    pub dominant: Vec<Option<usize>>,
}

/// Neurons x frequencies for a hidden layer that reads residue a through the embedding.
///
/// `embed` is `[rows >= p, e]`; `w_in` is `[e, h]`, the rows of the first layer that see a's embedding, so
/// neuron j's input from a is u_j(a) = E[a] . w_in[:, j]. With the MLP's `w1` (`[inp, h]`, row-major) that is
/// its first e * h values for both ways of combining: concat puts a's rows first, sum shares them with b.
/// The constant component (the same input for every a) is left out of the shares: it carries no frequency.
pub fn neuron_frequencies(
    op: Operation,
    embed: &[f32],
    p: usize,
    e: usize,
    w_in: &[f32],
    h: usize,
) -> NeuronFrequencies {
    assert!(w_in.len() >= e * h, "w_in is not [e, h]");
    // u[a, j] = E[a] . w_in[:, j]   [p, h]
    let mut u = vec![0.0f32; p * h];
    for a in 0..p {
        let ur = &mut u[a * h..][..h];
        for (i, &ev) in embed[a * e..][..e].iter().enumerate() {
            for (acc, &w) in ur.iter_mut().zip(&w_in[i * h..][..h]) {
                *acc += ev * w;
            }
        }
    }
    let coef = Coefficients::of_rows(&u, &Cycle::for_op(op, p).residues, h);
    let freqs = coef.frequencies();
    let mut share = vec![0.0; h * freqs];
    let mut dominant = vec![None; h];
    for j in 0..h {
        let row = &mut share[j * freqs..][..freqs];
        for (k, s) in (1..=freqs).zip(row.iter_mut()) {
            *s = coef.power(k, j);
        }
        let total: f64 = row.iter().sum();
        if total > 0.0 {
            row.iter_mut().for_each(|s| *s /= total);
            dominant[j] = fourier::key_frequencies(row, 1).first().copied();
        }
    }
    NeuronFrequencies {
        neurons: h,
        freqs,
        share,
        dominant,
    }
}

/// Where a pair (a, b) stands in the task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// A training example.
    Train,
    /// A validation example.
    Val,
    /// Not an example of the task (b = 0 under `/`).
    NotInTask,
}

/// The split of every pair, row a * p + b: train where `train` lists the pair, validation for the rest
/// of the task (the spec's split puts every task example in exactly one of the two).
pub fn split_grid(op: Operation, p: usize, train: &[[u32; 2]]) -> Vec<Split> {
    let mut grid: Vec<Split> = (0..p * p)
        .map(|i| {
            if op == Operation::Div && i % p == 0 {
                Split::NotInTask
            } else {
                Split::Val
            }
        })
        .collect();
    for &[a, b] in train {
        let i = a as usize * p + b as usize;
        if i < grid.len() && grid[i] != Split::NotInTask {
            grid[i] = Split::Train;
        }
    }
    grid
}

/// The split of every pair of a run's task as its runner draws it (from the config's operation, p,
/// train fraction and seed), row a * p + b.
pub fn run_split(cfg: &crate::config::GrokkingConfig) -> Vec<Split> {
    let data = crate::data::modular::split(cfg.op, cfg.p, cfg.train_fraction, cfg.seed);
    split_grid(cfg.op, cfg.p as usize, &data.train.xs)
}

/// One cell of the answer grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// Training pair answered right.
    RightTrain,
    /// Training pair answered wrong.
    WrongTrain,
    /// Validation pair answered right.
    RightVal,
    /// Validation pair answered wrong.
    WrongVal,
    /// Not an example of the task.
    NotInTask,
}

/// Right answers out of a count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Accuracy {
    pub right: usize,
    pub total: usize,
}

impl Accuracy {
    /// right / total; `None` for an empty set.
    pub fn value(self) -> Option<f64> {
        (self.total > 0).then(|| self.right as f64 / self.total as f64)
    }
}

/// The answer grid at one step.
#[derive(Clone, Debug, PartialEq)]
pub struct AnswerGrid {
    pub p: usize,
    /// Cell of (a, b) at a * p + b.
    pub cells: Vec<Cell>,
    pub train: Accuracy,
    pub val: Accuracy,
}

/// Mark every pair right or wrong: `predictions` and `split` are `[p * p]` (row a * p + b; predictions of
/// pairs not in the task are ignored).
pub fn answer_grid(op: Operation, p: usize, predictions: &[u32], split: &[Split]) -> AnswerGrid {
    assert!(
        predictions.len() == p * p && split.len() == p * p,
        "predictions and split must cover the p x p grid"
    );
    let mut grid = AnswerGrid {
        p,
        cells: Vec::with_capacity(p * p),
        train: Accuracy::default(),
        val: Accuracy::default(),
    };
    for (i, (&pred, &s)) in predictions.iter().zip(split).enumerate() {
        let (a, b) = ((i / p) as u32, (i % p) as u32);
        let right =
            s != Split::NotInTask && pred == crate::data::modular::apply(op, a, b, p as u32);
        let (cell, acc) = match s {
            Split::Train => (
                if right {
                    Cell::RightTrain
                } else {
                    Cell::WrongTrain
                },
                Some(&mut grid.train),
            ),
            Split::Val => (
                if right {
                    Cell::RightVal
                } else {
                    Cell::WrongVal
                },
                Some(&mut grid.val),
            ),
            Split::NotInTask => (Cell::NotInTask, None),
        };
        if let Some(acc) = acc {
            acc.total += 1;
            acc.right += usize::from(right);
        }
        grid.cells.push(cell);
    }
    grid
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Stream, stream};
    use rand_distr::{Distribution, StandardNormal};
    use std::f64::consts::PI;

    /// Residue a embedded as (cos, sin) of 2 pi k a / p, scaled.
    fn pure(p: usize, k: usize, amp: f64) -> Vec<f32> {
        (0..p)
            .flat_map(|a| {
                let t = 2.0 * PI * (k * a) as f64 / p as f64;
                [(amp * t.cos()) as f32, (amp * t.sin()) as f32]
            })
            .collect()
    }

    fn gaussian(n: usize, seed: u64) -> Vec<f32> {
        let mut r = stream(seed, Stream::Init);
        (0..n).map(|_| StandardNormal.sample(&mut r)).collect()
    }

    /// Angle difference wrapped to (-pi, pi].
    fn wrap(d: f64) -> f64 {
        let t = d.rem_euclid(2.0 * PI);
        if t > PI { t - 2.0 * PI } else { t }
    }

    #[test]
    fn frequency_five_is_found_with_its_clock() {
        // E[a] = (cos, sin)(2 pi 5 a / p): by construction all power at k = 5, so IPR 1, Gini (n-1)/n
        // over the (p-1)/2 = 11 frequencies, share 1, and residue a at angle 2 pi 5 a / p
        let p = 23;
        let embed = pure(p, 5, 2.0);
        let s = embedding_spectrum(Operation::Add, &embed, p, 2, KeySelect::Top(3));
        assert_eq!(s.keys[0], 5);
        assert!((s.ipr - 1.0).abs() < 1e-9, "{}", s.ipr);
        assert!((s.gini - 10.0 / 11.0).abs() < 1e-6, "{}", s.gini);
        assert!((s.key_share - 1.0).abs() < 1e-9);
        // orthonormal basis: |F E| at k = 5 equals |E| = amp sqrt(p) (Parseval, no constant component)
        assert!((s.norms[4] - 2.0 * (p as f64).sqrt()).abs() < 1e-5);
        let c = &clocks(Operation::Add, &embed, p, 2, &[5])[0];
        assert_eq!(c.k, 5);
        for (a, pt) in c.points.iter().enumerate() {
            assert_eq!(pt.residue, a);
            let want = 2.0 * PI * 5.0 * a as f64 / p as f64;
            assert!(wrap(pt.y.atan2(pt.x) - want).abs() < 1e-6, "a = {a}");
            assert!(((pt.x.hypot(pt.y)) - 2.0).abs() < 1e-5);
        }
    }

    #[test]
    fn the_clock_survives_other_columns_and_an_offset() {
        // frequency 3 in columns 1, 2 of four; column 0 a constant offset, column 3 frequency 7 of
        // smaller amplitude: centring removes the offset and the k = 3 directions ignore the other columns
        let p = 17;
        let mut embed = vec![0.0f32; p * 4];
        for a in 0..p {
            let t3 = 2.0 * PI * (3 * a) as f64 / p as f64;
            let t7 = 2.0 * PI * (7 * a) as f64 / p as f64;
            embed[a * 4] = 5.0;
            embed[a * 4 + 1] = t3.cos() as f32;
            embed[a * 4 + 2] = t3.sin() as f32;
            embed[a * 4 + 3] = 0.5 * t7.cos() as f32;
        }
        let s = embedding_spectrum(Operation::Sub, &embed, p, 4, KeySelect::Top(2));
        assert_eq!(s.keys, vec![3, 7]);
        // powers p/2 * (1 + 1) at k = 3 and p/2 * 0.25 at k = 7 (Parseval by column): share 2 / 2.25
        assert!((fourier::power_share(&s.norms, &[3]) - 2.0 / 2.25).abs() < 1e-6);
        let c = &clocks(Operation::Sub, &embed, p, 4, &[3, 99])[..];
        assert_eq!(c.len(), 1, "k = 99 lies outside 1..=8");
        for (a, pt) in c[0].points.iter().enumerate() {
            let want = 2.0 * PI * 3.0 * a as f64 / p as f64;
            assert!(wrap(pt.y.atan2(pt.x) - want).abs() < 1e-6);
        }
    }

    #[test]
    fn multiplicative_clock_runs_on_the_discrete_log() {
        // p = 7, g = 3: residues in the order 1, 3, 2, 6, 4, 5 (3^i mod 7); embed g^i at angle 2 pi i / 6
        let p = 7;
        let cycle = Cycle::discrete_log(7, 3);
        let mut embed = vec![0.0f32; p * 2];
        for (i, &r) in cycle.residues.iter().enumerate() {
            let t = 2.0 * PI * i as f64 / 6.0;
            embed[r * 2] = t.cos() as f32;
            embed[r * 2 + 1] = t.sin() as f32;
        }
        let s = embedding_spectrum(Operation::Mul, &embed, p, 2, KeySelect::Top(1));
        assert_eq!(s.keys, vec![1]);
        assert_eq!(s.norms.len(), 3);
        assert!((s.ipr - 1.0).abs() < 1e-9);
        let c = &clocks(Operation::Div, &embed, p, 2, &[1])[0];
        let residues: Vec<usize> = c.points.iter().map(|q| q.residue).collect();
        assert_eq!(residues, vec![1, 3, 2, 6, 4, 5]);
        for (i, pt) in c.points.iter().enumerate() {
            assert!(wrap(pt.y.atan2(pt.x) - 2.0 * PI * i as f64 / 6.0).abs() < 1e-6);
        }
    }

    #[test]
    fn a_random_embedding_has_a_flat_spectrum() {
        // iid N(0, 1) entries stay iid N(0, 1) under an orthonormal basis, so s_k^2 ~ chi^2 with 2e = 256
        // degrees of freedom (relative sd 9 %): norms within +-15 % of each other (over 3 sd), IPR within
        // 5 % of 1/48, Gini of the norms about 0.025
        let (p, e) = (97, 128);
        let s = embedding_spectrum(Operation::Add, &gaussian(p * e, 7), p, e, KeySelect::Top(4));
        assert_eq!(s.norms.len(), 48);
        let (lo, hi) = s
            .norms
            .iter()
            .fold((f64::MAX, 0.0f64), |(l, h), &v| (l.min(v), h.max(v)));
        assert!(hi / lo < 1.35, "{lo} .. {hi}");
        assert!(s.ipr * 48.0 < 1.05, "{}", s.ipr);
        assert!(s.gini < 0.06, "{}", s.gini);
        assert!(s.key_share < 4.0 / 48.0 * 1.3, "{}", s.key_share);
    }

    /// For `/` the principal components are those of the residues the ring picture draws, the p − 1
    /// on the discrete log's cycle: residue 0, far off here, moved the centre and took PC1 (its plot
    /// left it out). Expected: the ring's two axes share the variance (1/2 each) and every drawn
    /// residue lies at the ring's radius 3.
    #[test]
    fn the_pca_of_division_is_that_of_the_cycle_it_draws() {
        let (p, e) = (13usize, 4usize);
        let cycle = Cycle::for_op(Operation::Div, p);
        let mut embed = vec![50.0f32; p * e];
        for (i, &a) in cycle.residues.iter().enumerate() {
            let t = 2.0 * PI * i as f64 / (p - 1) as f64;
            embed[a * e..][..e].copy_from_slice(&[
                (3.0 * t.cos()) as f32 + 1.0,
                (3.0 * t.sin()) as f32 - 2.0,
                0.5,
                0.5,
            ]);
        }
        let pca = embedding_pca(Operation::Div, &embed, p, e);
        for c in 0..2 {
            assert!((pca.explained[c] - 0.5).abs() < 1e-5, "{:?}", pca.explained);
        }
        for &a in &cycle.residues {
            let [x, y] = pca.coords[a];
            assert!((x.hypot(y) - 3.0).abs() < 1e-4, "radius at {a}");
        }
        assert_eq!(pca.coords[0], [0.0, 0.0], "off the cycle");
    }

    #[test]
    fn pca_recovers_a_ring() {
        // residues on a circle of radius 3 in a random plane of R^6, plus 0.5 cos(2 pi 3 a / p) along a
        // third direction (frequency 3 is orthogonal to the ring's frequency 1 over a period): the first two
        // components are the ring (variance 9/2 each against 0.125 for the third), so every point lies at
        // radius 3 and consecutive residues are 2 pi / p apart, turning the same way
        let (p, e) = (29, 6);
        let basis = gaussian(3 * e, 3);
        // Gram-Schmidt on three random directions
        let mut dirs: Vec<Vec<f64>> = vec![];
        for d in basis.chunks(e) {
            let mut v: Vec<f64> = d.iter().map(|&x| x as f64).collect();
            for u in &dirs {
                let dot: f64 = v.iter().zip(u).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(u).for_each(|(a, b)| *a -= dot * b);
            }
            let n = v.iter().map(|a| a * a).sum::<f64>().sqrt();
            dirs.push(v.into_iter().map(|a| a / n).collect());
        }
        let mut embed = vec![0.0f32; p * e];
        for a in 0..p {
            let t = 2.0 * PI * a as f64 / p as f64;
            let extra = 0.5 * (3.0 * t).cos();
            for i in 0..e {
                embed[a * e + i] = (3.0 * t.cos() * dirs[0][i]
                    + 3.0 * t.sin() * dirs[1][i]
                    + extra * dirs[2][i]
                    + 1.0) as f32;
            }
        }
        for e_used in [e, 40] {
            // e = 40 > p exercises the Gram branch (the extra columns are zero)
            let mut emb = vec![0.0f32; p * e_used];
            for a in 0..p {
                emb[a * e_used..a * e_used + e].copy_from_slice(&embed[a * e..][..e]);
            }
            let pca = embedding_pca(Operation::Add, &emb, p, e_used);
            let turn = wrap(
                pca.coords[1][1].atan2(pca.coords[1][0]) - pca.coords[0][1].atan2(pca.coords[0][0]),
            );
            assert!((turn.abs() - 2.0 * PI / p as f64).abs() < 1e-4, "{turn}");
            for a in 0..p {
                let [x, y] = pca.coords[a];
                assert!((x.hypot(y) - 3.0).abs() < 1e-4, "radius at {a}");
                let [x1, y1] = pca.coords[(a + 1) % p];
                assert!((wrap(y1.atan2(x1) - y.atan2(x)) - turn).abs() < 1e-4);
            }
            // variance: 9/2 per ring axis, 0.25 / 2 for the third (its mean is 0)
            let third = 0.125;
            let total = 9.0 + third;
            assert!(
                (pca.explained[0] - 4.5 / total).abs() < 1e-4,
                "{:?}",
                pca.explained
            );
            assert!((pca.explained[1] - 4.5 / total).abs() < 1e-4);
        }
    }

    #[test]
    fn neurons_pick_their_frequency() {
        // embedding = (cos, sin) at k = 2 and k = 5 in four columns; neuron 0 reads the k = 2 pair,
        // neuron 1 the k = 5 cosine, neuron 2 mixes cos 2 and cos 5 equally (share 1/2 each, by Parseval),
        // neuron 3 reads nothing
        let p = 13;
        let (a2, a5) = (pure(p, 2, 1.0), pure(p, 5, 1.0));
        let embed: Vec<f32> = (0..p)
            .flat_map(|a| [a2[2 * a], a2[2 * a + 1], a5[2 * a], a5[2 * a + 1]])
            .collect();
        let h = 4;
        let mut w = vec![0.0f32; 4 * h];
        w[0] = 1.0;
        w[h] = 2.0;
        w[2 * h + 1] = 1.0;
        w[2] = 1.0;
        w[2 * h + 2] = 1.0;
        let nf = neuron_frequencies(Operation::Add, &embed, p, 4, &w, h);
        assert_eq!(nf.freqs, 6);
        assert_eq!(nf.dominant, vec![Some(2), Some(5), Some(2), None]);
        let share = |j: usize, k: usize| nf.share[j * 6 + k - 1];
        // f32 weights: leakage to other frequencies at the 1e-7 level
        assert!((share(0, 2) - 1.0).abs() < 1e-6);
        assert!((share(1, 5) - 1.0).abs() < 1e-6);
        assert!((share(2, 2) - 0.5).abs() < 1e-6 && (share(2, 5) - 0.5).abs() < 1e-6);
        assert!((0..6).all(|k| share(3, k + 1) == 0.0));
    }

    #[test]
    fn answer_grid_marks_every_pair() {
        // p = 3, division: b = 0 is outside the task. Train (1, 1) [1/1 = 1] and (2, 1) [2/1 = 2]; predict
        // 1 everywhere: right at (1, 1), wrong at (2, 1); validation answers by hand: 0/1 = 0, 0/2 = 0,
        // 1/2 = 2 (2 * 2 = 4 = 1), 2/2 = 1 -> only (2, 2) right
        let p = 3;
        let split = split_grid(Operation::Div, p, &[[1, 1], [2, 1]]);
        let grid = answer_grid(Operation::Div, p, &[1; 9], &split);
        use Cell::*;
        assert_eq!(
            grid.cells,
            vec![
                NotInTask, WrongVal, WrongVal, NotInTask, RightTrain, WrongVal, NotInTask,
                WrongTrain, RightVal
            ]
        );
        assert_eq!(grid.train, Accuracy { right: 1, total: 2 });
        assert_eq!(grid.val, Accuracy { right: 1, total: 4 });
        assert_eq!(grid.val.value(), Some(0.25));
        assert_eq!(Accuracy::default().value(), None);
    }

    #[test]
    fn split_grid_follows_the_data_split() {
        // the data module's split, read back cell by cell: every train pair Train, every validation Val
        let s = crate::data::modular::split(Operation::Div, 11, 0.4, 3);
        let grid = split_grid(Operation::Div, 11, &s.train.xs);
        for x in &s.train.xs {
            assert_eq!(grid[x[0] as usize * 11 + x[1] as usize], Split::Train);
        }
        for x in &s.val.xs {
            assert_eq!(grid[x[0] as usize * 11 + x[1] as usize], Split::Val);
        }
        assert_eq!(grid.iter().filter(|&&c| c == Split::NotInTask).count(), 11);
    }
}
