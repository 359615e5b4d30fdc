//! Orderedness D of a recurrent weight block (spec: experiments.md section 3).
//!
//! The input is a square non-negative matrix `a`, row-major, `a[i * n + j]` the weight of the connection
//! from sender `j` to receiver `i` (the caller passes |W|). With the neurons placed in an order, neuron
//! `i` at position `pos[i]`, that connection is *forward* when `pos[j] < pos[i]` (information flows from
//! earlier to later) and *backward* when `pos[j] > pos[i]`; self-loops are neither and count only in the
//! total. Then
//!
//! `D = 1 - (min over orders of the backward weight) / (total weight, diagonal included)`.
//!
//! D = 1 exactly when the off-diagonal connections form a DAG. When the total is 0 (an all-zero or
//! 0 x 0 matrix) nothing flows backward and D = 1 by convention.
//!
//! The spec writes the sum as `A[pi_a, pi_b]` for `a > b`, which counts receivers placed after their
//! senders; its minimum equals ours with the order read from the other end. [`Ordering::order`] is
//! always listed in the direction of flow: first neuron first.
//!
//! The minimum is a weighted minimum feedback arc set (linear ordering) problem: [`exact`] solves it by
//! dynamic programming over subsets, [`heuristic`] approximates it for larger `n`, and [`orderedness`]
//! picks between them and says in [`Ordering::method`] which was used.
//!
//! Negative entries are refused rather than made absolute, so that a caller who forgot `|w|` hears about
//! it. Row and column indices in errors about a matrix count from 0, like the neuron indices in an
//! order; errors about a matrix file ([`parse_matrix_csv`]) count its lines and values from 1, as an
//! editor does.

use crate::rng::Rng;
use rand::{Rng as _, SeedableRng};
use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// Largest `n` that [`orderedness`] solves exactly. Release build, 2-core machine: about 1 ms at
/// n = 16, 20 ms at n = 20 (9 MB), 100 ms at n = 22 (36 MB); time and memory double per neuron.
pub const EXACT_MAX_N: usize = 20;

/// Hard limit of [`exact`] called directly: 2^24 subsets take about 150 MB and half a second.
pub const EXACT_LIMIT_N: usize = 24;

/// Largest `n` whose shuffled null ([`shuffled_null`]) is computed: each shuffle is solved exactly,
/// and [`SHUFFLES`] of them at n = 16 take about 20 ms here (1 ms each), at n = 9 a fraction of one.
pub const NULL_MAX_N: usize = 16;

/// Shuffles a null baseline is the mean of.
pub const SHUFFLES: usize = 20;

/// D of the same weights at random places: what orderedness the block's weights give with no
/// structure at all. A sparse block is more ordered by chance (fewer weights to place in an order),
/// so a rise of D with pruning says something about learning only where D rises above this.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct NullD {
    /// Mean D over the shuffles.
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// The shuffled null of `a` (n x n, as for [`orderedness`]): its off-diagonal entries (zeros
/// included, so the sparsity is kept) placed at random off-diagonal places `shuffles` times (at least
/// once), the diagonal left where it is (self-loops count in the total only), and each D solved
/// exactly. Refused beyond [`NULL_MAX_N`] neurons, where the exact solution is too slow to repeat
/// and a heuristic's would not compare with an exact D.
pub fn shuffled_null(
    a: &[f64],
    n: usize,
    shuffles: usize,
    rng: &mut Rng,
) -> Result<NullD, OrderError> {
    use rand::seq::SliceRandom;
    validate(a, n)?;
    if n > NULL_MAX_N {
        return Err(OrderError::TooLarge { n, max: NULL_MAX_N });
    }
    let places: Vec<usize> = (0..n * n).filter(|i| i / n != i % n).collect();
    let mut values: Vec<f64> = places.iter().map(|&i| a[i]).collect();
    let mut m = a.to_vec();
    let (mut sum, mut min, mut max) = (0.0, f64::INFINITY, f64::NEG_INFINITY);
    let k = shuffles.max(1);
    for _ in 0..k {
        values.shuffle(rng);
        for (&i, &v) in places.iter().zip(&values) {
            m[i] = v;
        }
        // n <= NULL_MAX_N <= EXACT_MAX_N: exact, with `orderedness`'s guard for huge weights
        let d = orderedness(&m, n)?.d;
        sum += d;
        min = min.min(d);
        max = max.max(d);
    }
    Ok(NullD {
        mean: sum / k as f64,
        min,
        max,
    })
}

/// How an order was found.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Dynamic programming over subsets: the minimum.
    Exact,
    /// Weighted Eades-Lin-Smyth greedy order improved by local search: an upper bound on the minimum.
    Heuristic,
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Method::Exact => "exact",
            Method::Heuristic => "heuristic",
        })
    }
}

/// The best order found and its orderedness.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Ordering {
    /// Orderedness `1 - backward / total`, in [0, 1].
    pub d: f64,
    /// Neuron indices, first to last.
    pub order: Vec<usize>,
    /// Backward weight of `order`, as [`backward_weight`] computes it.
    pub backward: f64,
    /// Sum of all entries, diagonal included.
    pub total: f64,
    /// Whether `order` is a proven minimum.
    pub method: Method,
}

/// What is wrong with a matrix.
#[derive(Error, Clone, Debug, PartialEq)]
pub enum OrderError {
    /// No rows at all.
    #[error("the matrix is empty")]
    Empty,
    /// A line of a matrix file whose number of values differs from the number of rows (lines and
    /// values counted from 1, as an editor shows them).
    #[error(
        "line {line} has {len} values but the file has {n} rows; the matrix must be square (one row a line)"
    )]
    NotSquare { line: usize, len: usize, n: usize },
    /// A first line of a matrix file with no number in it.
    #[error(
        "line {line} holds no number ({text:?}): a header? The file holds the matrix alone, one row a line"
    )]
    Header { line: usize, text: String },
    /// A slice whose length is not `n * n`.
    #[error("a {n} x {n} matrix needs {} values, got {len}", n * n)]
    WrongLength { len: usize, n: usize },
    /// A value of a matrix file that does not parse as a number (counted from 1).
    #[error("line {line}, value {col}: {text:?} is not a number")]
    NotNumeric {
        line: usize,
        col: usize,
        text: String,
    },
    /// NaN or an infinity in a matrix file (counted from 1).
    #[error("line {line}, value {col}: {value} is not finite")]
    NotFiniteAt { line: usize, col: usize, value: f64 },
    /// NaN or an infinity.
    #[error("row {row}, column {col}: {value} is not finite")]
    NonFinite { row: usize, col: usize, value: f64 },
    /// A negative entry where absolute weights are expected.
    #[error("row {row}, column {col}: {value} is negative; pass absolute weights |w|")]
    Negative { row: usize, col: usize, value: f64 },
    /// Too many neurons for [`exact`].
    #[error("exact orderedness handles at most {max} neurons, got {n}; use the heuristic")]
    TooLarge { n: usize, max: usize },
}

/// How [`orderedness`] orders `n` neurons: exactly up to [`EXACT_MAX_N`], heuristically beyond.
pub fn method_for(n: usize) -> Method {
    if n <= EXACT_MAX_N {
        Method::Exact
    } else {
        Method::Heuristic
    }
}

/// D of `a` (n x n, row = receiver, column = sender): exact if `n <= EXACT_MAX_N`, else heuristic.
///
/// Huge finite weights are scaled down first: D is unchanged when every weight is multiplied by the same
/// positive number, and a matrix of 1e308 entries has a sum that overflows to infinity (D came out NaN
/// or 1). `backward` and `total` are given in the input's scale (infinite where they overflow).
pub fn orderedness(a: &[f64], n: usize) -> Result<Ordering, OrderError> {
    validate(a, n)?;
    let max = a.iter().fold(0.0_f64, |m, &v| m.max(v));
    let overflows = !a.iter().sum::<f64>().is_finite();
    let scaled: Vec<f64>;
    let input = if overflows {
        scaled = a.iter().map(|v| v / max).collect();
        &scaled[..]
    } else {
        a
    };
    let mut o = match method_for(n) {
        Method::Exact => exact(input, n),
        Method::Heuristic => heuristic(input, n),
    }?;
    if overflows {
        o.backward *= max;
        o.total *= max;
    }
    Ok(o)
}

/// The exact minimum by dynamic programming over subsets, `O(2^n n)` time and `9 * 2^n` bytes.
///
/// Among optimal orders the one returned is fixed by the input: ties go to placing the larger index
/// later, so an all-zero matrix gives `0, 1, ..., n-1`.
pub fn exact(a: &[f64], n: usize) -> Result<Ordering, OrderError> {
    validate(a, n)?;
    if n > EXACT_LIMIT_N {
        return Err(OrderError::TooLarge {
            n,
            max: EXACT_LIMIT_N,
        });
    }
    let w = off_diagonal(a, n);
    // best[s]: least backward weight with the set s placed first (in some order); last[s]: the neuron
    // placed last within s in that best order. Placing v right after the set s makes backward exactly
    // the edges from sender v to receivers in s: the sum over i in s of w[i][v].
    let full = (1usize << n) - 1;
    let mut best = vec![0.0f64; full + 1];
    let mut last = vec![0u8; full + 1];
    // into[k * n + v]: sum over i in t of w[i][v] for the current t whose lowest set bit is k. Counting t
    // upwards, the entry for t's next-lowest bit still describes t without its lowest bit (every number
    // visited since differs from it only below that bit), so each sum costs one row addition.
    let mut into = vec![0.0f64; n * n];
    for t in 1..=full {
        let k = t.trailing_zeros() as usize;
        let rest = t & (t - 1);
        let (lower, upper) = into.split_at_mut((k + 1) * n);
        let sums = &mut lower[k * n..];
        let row = &w[k * n..(k + 1) * n];
        if rest == 0 {
            sums.copy_from_slice(row);
        } else {
            let m = rest.trailing_zeros() as usize;
            let prev = &upper[(m - k - 1) * n..(m - k) * n];
            for ((s, &p), &r) in sums.iter_mut().zip(prev).zip(row) {
                *s = p + r;
            }
        }
        // the diagonal of w is zero, so sums[v] counts only receivers in t other than v
        let mut bits = t;
        let mut cost = f64::INFINITY;
        let mut arg = 0u8;
        while bits != 0 {
            let v = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let c = best[t ^ (1 << v)] + sums[v];
            if c <= cost {
                cost = c;
                arg = v as u8;
            }
        }
        best[t] = cost;
        last[t] = arg;
    }
    let mut order = Vec::with_capacity(n);
    let mut t = full;
    while t != 0 {
        let v = last[t] as usize;
        order.push(v);
        t ^= 1 << v;
    }
    order.reverse();
    Ok(finish(a, n, order, Method::Exact))
}

/// A good order: the weighted Eades-Lin-Smyth greedy order, then local search (single-neuron moves to
/// their best position until none improves, at most [`MAX_SWEEPS`] sweeps of `O(n^2)`), then
/// [`KICKS`] rounds (fewer above 128 neurons) of iterated local search: a few random moves drawn from a
/// generator with a fixed seed, local search again, the result kept when no worse. Deterministic; its
/// backward weight is never below the exact minimum.
pub fn heuristic(a: &[f64], n: usize) -> Result<Ordering, OrderError> {
    validate(a, n)?;
    let w = off_diagonal(a, n);
    let tol = a.iter().sum::<f64>() * 1e-12;
    let mut current = greedy_order(&w, n);
    let mut skew = vec![0.0; n * n];
    for v in 0..n {
        for u in 0..n {
            skew[v * n + u] = w[v * n + u] - w[u * n + v];
        }
    }
    improve(&skew, n, &mut current, tol);
    let mut current_cost = backward_weight(&w, n, &current);
    let (mut best, mut best_cost) = (current.clone(), current_cost);
    let mut rng = Rng::seed_from_u64(KICK_SEED);
    for _ in 0..kicks(n) {
        if n < 3 || best_cost <= 0.0 {
            break;
        }
        let mut candidate = current.clone();
        for _ in 0..rng.random_range(2..=4) {
            let v = candidate.remove(rng.random_range(0..n));
            candidate.insert(rng.random_range(0..n), v);
        }
        improve(&skew, n, &mut candidate, tol);
        let cost = backward_weight(&w, n, &candidate);
        if cost < best_cost - tol {
            (best, best_cost) = (candidate.clone(), cost);
        }
        // equal costs are accepted so that the search can walk along plateaus
        if cost <= current_cost + tol {
            (current, current_cost) = (candidate, cost);
        }
    }
    Ok(finish(a, n, best, Method::Heuristic))
}

/// Upper bound on local-search sweeps over all neurons; each costs `O(n^2)`.
pub const MAX_SWEEPS: usize = 1000;

/// Rounds of iterated local search after the first local optimum, up to 128 neurons; beyond, the
/// rounds shrink with `1/n^2` (each costs a few `O(n^2)` sweeps), to no fewer than [`MIN_KICKS`].
pub const KICKS: usize = 64;

/// Fewest rounds of iterated local search at any size.
pub const MIN_KICKS: usize = 8;

/// Rounds of iterated local search for `n` neurons.
fn kicks(n: usize) -> usize {
    const FULL_UP_TO: usize = 128;
    if n <= FULL_UP_TO {
        KICKS
    } else {
        (KICKS * FULL_UP_TO * FULL_UP_TO / (n * n)).max(MIN_KICKS)
    }
}

/// Seed of the generator that draws the kicks: fixed, so that the same input gives the same order.
const KICK_SEED: u64 = 0x5eed_0de5;

/// Backward weight of `order` (neuron indices first to last, a permutation of `0..n`): the sum of
/// `a[i][j]` over pairs where sender `j` is placed after receiver `i`.
///
/// Panics if `a` is not `n * n` long or `order` not `n` long.
pub fn backward_weight(a: &[f64], n: usize, order: &[usize]) -> f64 {
    assert_eq!(a.len(), n * n, "matrix length");
    assert_eq!(order.len(), n, "order length");
    let mut sum = 0.0;
    for (p, &i) in order.iter().enumerate() {
        let row = &a[i * n..(i + 1) * n];
        for &j in &order[p + 1..] {
            sum += row[j];
        }
    }
    sum
}

/// Parses one matrix row a line, values separated by commas, tabs or semicolons (whichever the first
/// row uses, in that order of preference: tab, semicolon, comma); a byte-order mark, blank lines and
/// spaces around values are ignored. Signs are kept (the caller takes |w|); NaN and infinities are
/// refused.
pub fn parse_matrix_csv(text: &str) -> Result<(Vec<f64>, usize), OrderError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // (line number counted from 1, text) of each row
    let rows: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l))
        .collect();
    let first = rows.first().map_or("", |r| r.1);
    let sep = ['\t', ';', ',']
        .into_iter()
        .find(|c| first.contains(*c))
        .unwrap_or(',');
    let n = rows.len();
    if n == 0 {
        return Err(OrderError::Empty);
    }
    // a file with a header row (column names) says so, rather than that it is not square
    if first.split(sep).all(|f| f.trim().parse::<f64>().is_err()) {
        return Err(OrderError::Header {
            line: rows[0].0,
            text: first.chars().take(40).collect(),
        });
    }
    let mut a = Vec::with_capacity(n * n);
    for &(line, row) in &rows {
        let fields: Vec<&str> = row.split(sep).map(str::trim).collect();
        if fields.len() != n {
            return Err(OrderError::NotSquare {
                line,
                len: fields.len(),
                n,
            });
        }
        for (i, text) in fields.into_iter().enumerate() {
            let col = i + 1;
            let value: f64 = text.parse().map_err(|_| OrderError::NotNumeric {
                line,
                col,
                // a huge field is never echoed whole
                text: text.chars().take(40).collect(),
            })?;
            if !value.is_finite() {
                return Err(OrderError::NotFiniteAt { line, col, value });
            }
            a.push(value);
        }
    }
    Ok((a, n))
}

/// Checks length, finiteness and sign.
fn validate(a: &[f64], n: usize) -> Result<(), OrderError> {
    if a.len() != n * n {
        return Err(OrderError::WrongLength { len: a.len(), n });
    }
    for (k, &value) in a.iter().enumerate() {
        let (row, col) = (k / n, k % n);
        if !value.is_finite() {
            return Err(OrderError::NonFinite { row, col, value });
        }
        if value < 0.0 {
            return Err(OrderError::Negative { row, col, value });
        }
    }
    Ok(())
}

/// A copy of `a` with a zero diagonal: self-loops never change with the order.
fn off_diagonal(a: &[f64], n: usize) -> Vec<f64> {
    let mut w = a.to_vec();
    for i in 0..n {
        w[i * n + i] = 0.0;
    }
    w
}

/// Builds the result with `backward` recomputed from `order`, so that the two always agree.
fn finish(a: &[f64], n: usize, order: Vec<usize>, method: Method) -> Ordering {
    let backward = backward_weight(a, n, &order);
    let total: f64 = a.iter().sum();
    let d = if total > 0.0 {
        1.0 - backward / total
    } else {
        1.0
    };
    Ordering {
        d,
        order,
        backward,
        total,
        method,
    }
}

/// Weighted Eades-Lin-Smyth: sinks (no outgoing weight to the remaining neurons) go to the back,
/// sources (no incoming weight) to the front, otherwise the neuron with the largest outgoing minus
/// incoming weight goes to the front. "Outgoing" is as sender: `w[i][v]` over receivers `i`.
fn greedy_order(w: &[f64], n: usize) -> Vec<usize> {
    let mut out_w = vec![0.0f64; n];
    let mut in_w = vec![0.0f64; n];
    // counts of non-zero edges decide sinks and sources exactly, where running weight sums may drift
    let mut out_k = vec![0usize; n];
    let mut in_k = vec![0usize; n];
    for i in 0..n {
        for j in 0..n {
            let x = w[i * n + j];
            if x > 0.0 {
                out_w[j] += x;
                out_k[j] += 1;
                in_w[i] += x;
                in_k[i] += 1;
            }
        }
    }
    let mut alive = vec![true; n];
    let mut front = Vec::with_capacity(n);
    let mut back = Vec::with_capacity(n);
    for _ in 0..n {
        // largest index first among sinks, smallest among sources, so that ties (e.g. isolated
        // neurons) keep index order
        let v = if let Some(v) = (0..n).rev().find(|&v| alive[v] && out_k[v] == 0) {
            back.push(v);
            v
        } else if let Some(v) = (0..n).find(|&v| alive[v] && in_k[v] == 0) {
            front.push(v);
            v
        } else {
            let mut arg = 0;
            let mut score = f64::NEG_INFINITY;
            for v in (0..n).filter(|&v| alive[v]) {
                let s = out_w[v] - in_w[v];
                if s > score {
                    (arg, score) = (v, s);
                }
            }
            front.push(arg);
            arg
        };
        alive[v] = false;
        for u in 0..n {
            // v sends to u: u loses an incoming edge; u sends to v: u loses an outgoing edge
            let to_u = w[u * n + v];
            if to_u > 0.0 {
                in_w[u] -= to_u;
                in_k[u] -= 1;
            }
            let from_u = w[v * n + u];
            if from_u > 0.0 {
                out_w[u] -= from_u;
                out_k[u] -= 1;
            }
        }
    }
    back.reverse();
    front.extend(back);
    front
}

/// Local search: move each neuron to the position that lowers the backward weight most, until a
/// sweep over all neurons finds no move better than `tol` or [`MAX_SWEEPS`] sweeps are done.
/// `skew[v * n + u] = w[v][u] - w[u][v]`: what moving `v` from just after `u` to just before it adds to
/// the backward weight (`w[u][v]` turns forward, `w[v][u]` backward); one row read per neuron.
fn improve(skew: &[f64], n: usize, order: &mut Vec<usize>, tol: f64) {
    for _ in 0..MAX_SWEEPS {
        let mut moved = false;
        for v in 0..n {
            let p = order.iter().position(|&x| x == v).unwrap_or(0);
            let row = &skew[v * n..(v + 1) * n];
            let (mut best_q, mut best_delta) = (p, 0.0);
            let mut delta = 0.0;
            for q in (0..p).rev() {
                delta += row[order[q]];
                if delta < best_delta - tol {
                    (best_q, best_delta) = (q, delta);
                }
            }
            delta = 0.0;
            for (q, &u) in order.iter().enumerate().skip(p + 1) {
                delta -= row[u];
                if delta < best_delta - tol {
                    (best_q, best_delta) = (q, delta);
                }
            }
            if best_q != p {
                order.remove(p);
                order.insert(best_q, v);
                moved = true;
            }
        }
        if !moved {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The shuffled null by hand. Three unit weights among the six off-diagonal places of three
    /// neurons: of the C(6, 3) = 20 placements, 12 hold a two-cycle and 2 a three-cycle (each
    /// leaves one unit backward: D = 2/3) and 6 are acyclic (D = 1), so the null's expectation is
    /// (6 + 14 * 2/3) / 20 = 23/30. The diagonal stays where it is: with [[5, 1], [1, 0]] every
    /// shuffle is the same two-cycle, D = 1 - 1/7, and a shuffle that moved the 5 off the
    /// diagonal would give another D.
    #[test]
    fn the_shuffled_null_by_hand() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let cycle = [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
        let null = shuffled_null(&cycle, 3, 4000, &mut rng).unwrap();
        // one draw's D has standard deviation (1/3) sqrt(0.3 * 0.7) = 0.153; over 4000, 0.0024
        assert!((null.mean - 23.0 / 30.0).abs() < 0.012, "{null:?}");
        // 1 - 1/3 in floating point
        assert_eq!((null.min, null.max), (1.0 - 1.0 / 3.0, 1.0));
        let diag = shuffled_null(&[5.0, 1.0, 1.0, 0.0], 2, 10, &mut rng).unwrap();
        for d in [diag.mean, diag.min, diag.max] {
            assert!((d - 6.0 / 7.0).abs() < 1e-12, "{diag:?}");
        }
        // the same generator state gives the same null; zero shuffles count as one
        let a: Vec<f64> = (0..36).map(|i| ((i * 7) % 11) as f64).collect();
        let once = |seed| shuffled_null(&a, 6, 0, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
        assert_eq!(once(1), once(1));
        assert_eq!(once(1).min, once(1).max);
        let big = vec![0.0; (NULL_MAX_N + 1).pow(2)];
        assert!(matches!(
            shuffled_null(&big, NULL_MAX_N + 1, 1, &mut rng),
            Err(OrderError::TooLarge { .. })
        ));
        assert!(shuffled_null(&[-1.0], 1, 1, &mut rng).is_err());
    }

    /// Backward weight straight from the definition: `a[i][j]` counts when `pos[j] > pos[i]`, i != j.
    fn cost_by_definition(a: &[f64], n: usize, order: &[usize]) -> f64 {
        let mut pos = vec![0; n];
        for (p, &v) in order.iter().enumerate() {
            pos[v] = p;
        }
        let mut sum = 0.0;
        for i in 0..n {
            for j in 0..n {
                if i != j && pos[j] > pos[i] {
                    sum += a[i * n + j];
                }
            }
        }
        sum
    }

    /// Least cost over all n! orders (recursive swaps).
    fn brute_force_min(a: &[f64], n: usize) -> f64 {
        fn go(a: &[f64], n: usize, perm: &mut [usize], k: usize, best: &mut f64) {
            if k == n {
                *best = best.min(cost_by_definition(a, n, perm));
                return;
            }
            for i in k..n {
                perm.swap(k, i);
                go(a, n, perm, k + 1, best);
                perm.swap(k, i);
            }
        }
        let mut perm: Vec<usize> = (0..n).collect();
        let mut best = f64::INFINITY;
        go(a, n, &mut perm, 0, &mut best);
        best
    }

    /// Kinds: 0 dense uniform, 1 sparse (70 % zeros), 2 small integers 0..=3 (many ties); half of
    /// each with a zero diagonal.
    fn random_matrix(rng: &mut ChaCha8Rng, n: usize, kind: usize) -> Vec<f64> {
        let mut a: Vec<f64> = (0..n * n)
            .map(|_| match kind {
                0 => rng.random::<f64>(),
                1 if rng.random_bool(0.7) => 0.0,
                1 => rng.random::<f64>() * 2.0,
                _ => f64::from(rng.random_range(0..4u8)),
            })
            .collect();
        if rng.random_bool(0.5) {
            for i in 0..n {
                a[i * n + i] = 0.0;
            }
        }
        a
    }

    fn is_permutation(order: &[usize], n: usize) -> bool {
        let mut seen = vec![false; n];
        order.len() == n
            && order
                .iter()
                .all(|&v| v < n && !std::mem::replace(&mut seen[v], true))
    }

    /// Expected values: brute force over all n! orders of the definition, n = 1..=8.
    #[test]
    fn exact_equals_brute_force_on_random_matrices() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for m in 0..1000 {
            let n = 1 + m % 8;
            let a = random_matrix(&mut rng, n, m % 3);
            let r = orderedness(&a, n).unwrap();
            assert_eq!(r.method, Method::Exact);
            assert!(is_permutation(&r.order, n), "{:?}", r.order);
            let min = brute_force_min(&a, n);
            assert!(
                (r.backward - min).abs() <= 1e-9,
                "matrix {m}: {} vs {min}",
                r.backward
            );
            let total: f64 = a.iter().sum();
            let d = if total > 0.0 { 1.0 - min / total } else { 1.0 };
            assert!((r.d - d).abs() <= 1e-9, "matrix {m}: D {} vs {d}", r.d);
            // the returned backward is the cost of the returned order, by definition
            assert!((cost_by_definition(&a, n, &r.order) - r.backward).abs() <= 1e-12);
            assert_eq!(backward_weight(&a, n, &r.order), r.backward);
        }
    }

    /// Expected: 1 exactly and no backward edge, since the matrix is strictly lower-triangular under a
    /// relabelling (a DAG); sizes below and above EXACT_MAX_N exercise both methods.
    #[test]
    fn dag_gives_one_and_a_topological_order() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for (n, method) in [(10, Method::Exact), (EXACT_MAX_N + 15, Method::Heuristic)] {
            let label: Vec<usize> = {
                let mut v: Vec<usize> = (0..n).collect();
                rand::seq::SliceRandom::shuffle(v.as_mut_slice(), &mut rng);
                v
            };
            let mut a = vec![0.0; n * n];
            for r in 0..n {
                for c in 0..r {
                    if rng.random_bool(0.6) {
                        a[label[r] * n + label[c]] = rng.random::<f64>() + 0.1;
                    }
                }
                a[label[r] * n + label[r]] = 0.5; // self-loops do not break acyclicity
            }
            let r = orderedness(&a, n).unwrap();
            assert_eq!(r.method, method);
            // the rule the metrics' method column is written by, without ordering anything
            assert_eq!(method_for(n), method);
            assert_eq!(r.d, 1.0);
            assert_eq!(r.backward, 0.0);
            let mut pos = vec![0; n];
            for (p, &v) in r.order.iter().enumerate() {
                pos[v] = p;
            }
            for i in 0..n {
                for j in 0..n {
                    if i != j && a[i * n + j] > 0.0 {
                        assert!(pos[j] < pos[i], "edge {j} -> {i} runs backward");
                    }
                }
            }
        }
    }

    /// Hand calculation: A[0][1] = A[1][0] = w; one of the two edges must run backward, so
    /// D = 1 - w / 2w = 0.5; a self-loop s adds to the total only: D = 1 - w / (2w + s).
    #[test]
    fn two_cycle() {
        let (w, s) = (0.7, 0.3);
        for f in [exact, heuristic] {
            let r = f(&[0.0, w, w, 0.0], 2).unwrap();
            assert_eq!(r.d, 0.5);
            assert_eq!(r.backward, w);
            assert_eq!(r.total, 2.0 * w);
            let r = f(&[s, w, w, 0.0], 2).unwrap();
            assert!((r.d - (1.0 - w / (2.0 * w + s))).abs() < 1e-15);
        }
    }

    /// Hand calculation on a 3-cycle 0 -> 1 -> 2 -> 0 with weights 1, 2, 3 (and a self-loop 4): the
    /// order [0, 1, 2] leaves only 2 -> 0 (weight 3) backward; the best cut is the lightest edge, 0 -> 1.
    #[test]
    fn three_cycle_by_hand() {
        // row = receiver, column = sender
        let a = [4.0, 0.0, 3.0, 1.0, 0.0, 0.0, 0.0, 2.0, 0.0];
        assert_eq!(backward_weight(&a, 3, &[0, 1, 2]), 3.0);
        assert_eq!(backward_weight(&a, 3, &[1, 2, 0]), 1.0);
        assert_eq!(backward_weight(&a, 3, &[2, 1, 0]), 3.0); // 0 -> 1 and 1 -> 2 backward
        let r = exact(&a, 3).unwrap();
        assert_eq!(
            (r.backward, r.total, r.order.clone()),
            (1.0, 10.0, vec![1, 2, 0])
        );
        assert_eq!(r.d, 0.9);
    }

    /// Convention: nothing flows backward in an all-zero or empty matrix, so D = 1; ties keep index order.
    #[test]
    fn all_zero_and_empty_give_one() {
        for f in [exact, heuristic, orderedness] {
            let r = f(&[0.0; 25], 5).unwrap();
            assert_eq!((r.d, r.backward, r.total), (1.0, 0.0, 0.0));
            assert_eq!(r.order, vec![0, 1, 2, 3, 4]);
            let r = f(&[], 0).unwrap();
            assert_eq!((r.d, r.order.len()), (1.0, 0));
        }
    }

    /// Expected: the exact minimum is a lower bound for any order, so the heuristic can only match it
    /// or lose; prints how often it matches.
    #[test]
    fn heuristic_never_beats_exact() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let count = 300;
        let mut matched = [0usize; 3];
        for m in 0..count {
            let n = 2 + m % 11;
            let a = random_matrix(&mut rng, n, m % 3);
            let e = exact(&a, n).unwrap();
            let h = heuristic(&a, n).unwrap();
            assert_eq!(h.method, Method::Heuristic);
            assert!(is_permutation(&h.order, n));
            assert_eq!(backward_weight(&a, n, &h.order), h.backward);
            let tol = 1e-12 * e.total.max(1.0);
            assert!(
                h.backward >= e.backward - tol,
                "matrix {m}: heuristic below exact"
            );
            if h.backward <= e.backward + tol {
                matched[m % 3] += 1;
            }
        }
        let all: usize = matched.iter().sum();
        println!(
            "heuristic matched exact on {all}/{count} matrices (n = 2..=12; dense {}, sparse {}, \
             small integers {} of 100 each)",
            matched[0], matched[1], matched[2]
        );
    }

    /// Expected: same input, same order (ties included), for both methods.
    #[test]
    fn deterministic() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for (n, f) in [(9, exact as fn(&[f64], usize) -> _), (40, heuristic)] {
            let a = random_matrix(&mut rng, n, 2);
            assert_eq!(f(&a, n).unwrap(), f(&a, n).unwrap());
        }
    }

    #[test]
    fn refuses_bad_slices() {
        assert_eq!(
            orderedness(&[1.0, 2.0, 3.0], 2),
            Err(OrderError::WrongLength { len: 3, n: 2 })
        );
        let err = orderedness(&[1.0, -2.0, 3.0, 4.0], 2).unwrap_err();
        assert_eq!(
            err,
            OrderError::Negative {
                row: 0,
                col: 1,
                value: -2.0
            }
        );
        assert_eq!(
            err.to_string(),
            "row 0, column 1: -2 is negative; pass absolute weights |w|"
        );
        assert!(matches!(
            heuristic(&[1.0, 0.0, f64::NAN, 4.0], 2),
            Err(OrderError::NonFinite { row: 1, col: 0, .. })
        ));
        let n = EXACT_LIMIT_N + 1;
        let err = exact(&vec![0.0; n * n], n).unwrap_err();
        assert_eq!(
            err,
            OrderError::TooLarge {
                n,
                max: EXACT_LIMIT_N
            }
        );
        assert!(err.to_string().contains("at most 24 neurons"));
    }

    #[test]
    fn method_text_and_serde() {
        assert_eq!(Method::Exact.to_string(), "exact");
        assert_eq!(Method::Heuristic.to_string(), "heuristic");
        assert_eq!(
            serde_json::to_string(&Method::Heuristic).unwrap(),
            "\"heuristic\""
        );
        let m: Method = serde_json::from_str("\"exact\"").unwrap();
        assert_eq!(m, Method::Exact);
    }

    #[test]
    fn csv_good_matrix_keeps_signs_and_tolerates_spaces() {
        let text = " 0, -1.5 ,2\r\n3,0,  4e-1\n\n-0.25,1,0  \n\n";
        let (a, n) = parse_matrix_csv(text).unwrap();
        assert_eq!(n, 3);
        assert_eq!(a, vec![0.0, -1.5, 2.0, 3.0, 0.0, 0.4, -0.25, 1.0, 0.0]);
    }

    /// Lines and values are counted from 1 in a file's errors, as an editor shows them (blank lines
    /// counted: line 3 below is the file's third line); a header row is named as one.
    #[test]
    fn csv_errors() {
        assert_eq!(parse_matrix_csv(""), Err(OrderError::Empty));
        assert_eq!(parse_matrix_csv(" \n\n"), Err(OrderError::Empty));
        let err = parse_matrix_csv("1,2\n\n3,4,5\n").unwrap_err();
        assert_eq!(
            err,
            OrderError::NotSquare {
                line: 3,
                len: 3,
                n: 2
            }
        );
        assert_eq!(
            err.to_string(),
            "line 3 has 3 values but the file has 2 rows; the matrix must be square (one row a line)"
        );
        assert_eq!(
            parse_matrix_csv("1,2,3\n4,5,6\n"),
            Err(OrderError::NotSquare {
                line: 1,
                len: 3,
                n: 2
            })
        );
        let err = parse_matrix_csv("1,2\n3,x4\n").unwrap_err();
        assert_eq!(err.to_string(), "line 2, value 2: \"x4\" is not a number");
        assert!(matches!(
            parse_matrix_csv("1,\n3,4\n"),
            Err(OrderError::NotNumeric {
                line: 1,
                col: 2,
                ..
            })
        ));
        for bad in ["NaN", "inf", "-inf"] {
            let err = parse_matrix_csv(&format!("1,2\n3,{bad}\n")).unwrap_err();
            assert!(
                matches!(
                    err,
                    OrderError::NotFiniteAt {
                        line: 2,
                        col: 2,
                        ..
                    }
                ),
                "{bad}: {err}"
            );
        }
        // a header row (what a spreadsheet or pandas writes first) is named, not "not square"
        let err = parse_matrix_csv("h0,h1\n0,1\n2,0\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 1 holds no number (\"h0,h1\"): a header? The file holds the matrix alone, one row a line"
        );
    }
}
