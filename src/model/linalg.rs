//! Row-major (and strided) matrix products on the `gemm` crate and the softmax cross-entropy, for the
//! hand-written models.
//!
//! candle's per-op overhead (1-2 us an op) and its unfused small ops dominate small models; stack.md measured
//! a hand-written forward/backward on `gemm` at 2.3x candle's best for the MLP. This is the one place that
//! touches raw pointers.

use super::BatchStats;

pub use crate::perf::{set_threads, threads, threads_setting};

/// Products of fewer floating-point operations run on the calling thread alone: about a millisecond of
/// one core's work. Below it, waking the pool's threads and waiting for the slowest (long on a machine
/// whose other cores are busy) cost more than the split saves. Measured on this 2-core machine: at the
/// old 2 MFLOP the paper preset's d = 32 transformer took 40.7 s to validation 99 % on two threads and
/// 27.8 s on one (another build running); the fast MLP preset (116 MFLOP products) 1.8-2.0 s on two
/// threads and 1.67 s on one; `mlp97` (370 MFLOP products) gains 10-15 % from the second thread.
pub const PARALLEL_MIN_FLOPS: usize = 128_000_000;

fn parallelism(flops: usize) -> gemm::Parallelism {
    let n = threads();
    if n <= 1 || flops < PARALLEL_MIN_FLOPS {
        gemm::Parallelism::None
    } else {
        gemm::Parallelism::Rayon(n)
    }
}

/// A read-only strided matrix: element (i, j) lies at `data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

impl<'a> View<'a> {
    /// A row-major matrix with `cols` columns.
    pub fn rows(data: &'a [f32], cols: usize) -> Self {
        View {
            data,
            rs: cols,
            cs: 1,
        }
    }
    /// Every `every`-th row of a row-major matrix with `cols` columns, from row `first`.
    pub fn every(data: &'a [f32], cols: usize, first: usize, every: usize) -> Self {
        View {
            data: &data[first * cols..],
            rs: every * cols,
            cs: 1,
        }
    }
    /// The transpose (no copy).
    pub fn t(self) -> Self {
        View {
            data: self.data,
            rs: self.cs,
            cs: self.rs,
        }
    }
    /// The last index an `r` x `c` matrix reads (`None` when empty).
    fn last(&self, r: usize, c: usize) -> Option<usize> {
        (r > 0 && c > 0).then(|| (r - 1) * self.rs + (c - 1) * self.cs)
    }
}

/// `dst[m,n] = a[m,k] · b[k,n]` (or `+=` when `accumulate`) for strided `a` and `b`; row `i` of `dst` starts at
/// `dst[i * dst_rs]` and its columns are contiguous.
#[allow(clippy::too_many_arguments)]
pub fn gemm_view(
    dst: &mut [f32],
    dst_rs: usize,
    a: View,
    b: View,
    m: usize,
    k: usize,
    n: usize,
    accumulate: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    let dst_last = (m - 1) * dst_rs + n - 1;
    assert!(dst_last < dst.len(), "matmul destination too small");
    if k == 0 {
        if !accumulate {
            for row in 0..m {
                dst[row * dst_rs..][..n].fill(0.0);
            }
        }
        return;
    }
    assert!(
        a.last(m, k).is_some_and(|l| l < a.data.len())
            && b.last(k, n).is_some_and(|l| l < b.data.len()),
        "matmul operand too small"
    );
    // SAFETY: the asserts above guarantee every index the strides reach lies inside its buffer (strides
    // are non-negative, so the extreme index is the last one); dst does not alias a or b (distinct borrows).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            parallelism(2 * m * n * k),
        );
    }
}

/// `dst[m,n] = op(a)[m,k] · op(b)[k,n]` (or `+=` when `accumulate`), every buffer row-major.
/// `a` holds [m,k], or [k,m] when `ta`; `b` holds [k,n], or [n,k] when `tb`.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    dst: &mut [f32],
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    tb: bool,
    accumulate: bool,
) {
    let a = if ta {
        View::rows(a, m).t()
    } else {
        View::rows(a, k)
    };
    let b = if tb {
        View::rows(b, k).t()
    } else {
        View::rows(b, n)
    };
    gemm_view(dst, n, a, b, m, k, n, accumulate);
}

/// e^x in f32 without a branch or a call, so that loops over slices vectorise (libm's `expf` is a scalar
/// call: it was most of the softmax and SwiGLU time). Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, and
/// Cephes' degree-6 polynomial for e^r: within 2 ulp of e^x on [-87, 88]; inputs are clamped to that range
/// (below it e^x < 1.7e-38 comes out as about that, above it the result would overflow).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split so that n * LN2_HI is exact for |n| < 2^9
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // adding and subtracting 1.5 * 2^23 rounds to the nearest integer
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * LOG2E + ROUND;
    let n = shifted - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = ((((1.987_569_1e-4 * r + 1.398_2e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let y = p * r * r + r + 1.0;
    // 2^n from its exponent bits; n lies in [-126, 127] after the clamp and sits, as an integer, in the
    // low mantissa bits of `shifted` (bit arithmetic, not a float-to-int cast, so the loops vectorise)
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    y * f32::from_bits(n_bits.wrapping_add(127) << 23)
}

/// Lanes of [`max_and_arg`]: 16 f32 fill one AVX-512 register.
const LANES: usize = 16;

/// Defines `fn $name(args) -> R` that calls `$inner(args)` compiled for AVX-512 when this CPU has it
/// (checked once, then cached by std), so the loops of `$inner` (which must be `#[inline(always)]`, as
/// must whatever of its own it calls in a hot loop) run 16 floats wide; as built (SSE2) otherwise.
///
/// Results do not depend on which build runs: the compiler vectorises a loop only where that keeps each
/// element's operations and their order (it never reassociates a float sum or fuses a multiply-add).
/// Tests compare both builds bit for bit.
macro_rules! wide_fn {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? => $inner:path) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn avx512($($arg: $ty),*) $(-> $ret)? {
                    $inner($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has AVX-512F (checked just above).
                    return unsafe { avx512($($arg),*) };
                }
            }
            $inner($($arg),*)
        }
    };
}
pub(crate) use wide_fn;

/// The largest value of `xs` (NaN ignored, as `f32::max` does; -inf when empty) and the first index holding
/// it (0 when none does). Lane-wise, then folded: max is exact, so the order does not matter.
#[inline(always)]
fn max_and_arg(xs: &[f32]) -> (f32, usize) {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for l in 0..LANES {
            acc[l] = acc[l].max(c[l]);
        }
    }
    for (a, &v) in acc.iter_mut().zip(chunks.remainder()) {
        *a = a.max(v);
    }
    let max = acc.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    // the first chunk that holds the max (a wide compare), then the place within it
    let arg = xs
        .chunks(LANES)
        .position(|c| c.iter().fold(false, |hit, &v| hit | (v == max)))
        .map_or(0, |k| {
            k * LANES + xs[k * LANES..].iter().position(|&v| v == max).unwrap_or(0)
        });
    (max, arg)
}

wide_fn!(
    /// Softmax cross-entropy and accuracy of `logits` ([rows, classes], row r's target `ys[r]`). With `grad`,
    /// the logits are replaced by the gradient of the batch-mean loss with respect to them.
    ///
    /// Each row's sum of exponentials is a plain running sum in class order (as first written, so runs
    /// keep their numbers); a running sum is a chain of dependent additions, so [`ROWS`] rows are summed
    /// side by side to keep the adder busy, and the exponentials and maxima are computed wide.
    ///
    /// `mean_of` is the batch the mean runs over: `ys.len()`, or more when these rows are a part of
    /// the batch (then each row's gradient is the one it has in the whole batch's).
    pub fn cross_entropy_of(
        logits: &mut [f32],
        classes: usize,
        ys: &[u32],
        grad: bool,
        mean_of: usize,
    ) -> BatchStats
    => cross_entropy_rows);

/// [`cross_entropy_of`] with the mean over these rows.
pub fn cross_entropy(logits: &mut [f32], classes: usize, ys: &[u32], grad: bool) -> BatchStats {
    cross_entropy_of(logits, classes, ys, grad, ys.len())
}

/// Rows whose running sums advance together in [`cross_entropy`].
const ROWS: usize = 8;

#[inline(always)]
fn cross_entropy_rows(
    logits: &mut [f32],
    classes: usize,
    ys: &[u32],
    grad: bool,
    mean_of: usize,
) -> BatchStats {
    let mut st = BatchStats {
        count: ys.len(),
        ..Default::default()
    };
    if classes == 0 {
        return st;
    }
    let inv_n = 1.0 / mean_of.max(1) as f32;
    // a full block of rows, transposed (class-major: [j * ROWS + r]), so that the exponentials and the
    // rows' running sums go ROWS lanes wide while each row's sum still adds its classes in order
    let mut cols = vec![0.0f32; ROWS * classes];
    // evaluation leaves the logits alone: the last block's exponentials go here
    let mut scratch = if grad {
        vec![]
    } else {
        vec![0.0f32; ROWS * classes]
    };
    for (block, yb) in logits.chunks_mut(ROWS * classes).zip(ys.chunks(ROWS)) {
        let rows = yb.len();
        let mut max = [0.0f32; ROWS];
        let mut target = [0.0f32; ROWS];
        if rows == ROWS {
            for (j, col) in cols.chunks_exact_mut(ROWS).enumerate() {
                for r in 0..ROWS {
                    col[r] = block[r * classes + j];
                }
            }
            // each row's maximum and its first place, ROWS lanes at a time (the same as
            // [`max_and_arg`]: a NaN is never the maximum, the first of equal maxima wins)
            let mut arg = [0u32; ROWS];
            max = [f32::NEG_INFINITY; ROWS];
            for (j, col) in cols.chunks_exact(ROWS).enumerate() {
                for r in 0..ROWS {
                    let above = col[r] > max[r];
                    max[r] = if above { col[r] } else { max[r] };
                    arg[r] = if above { j as u32 } else { arg[r] };
                }
            }
            for (r, &y) in yb.iter().enumerate() {
                target[r] = block[r * classes + y as usize];
                st.correct += usize::from(arg[r] == y);
            }
            let mut sum = [0.0f32; ROWS];
            for col in cols.chunks_exact_mut(ROWS) {
                for r in 0..ROWS {
                    col[r] = exp(col[r] - max[r]);
                }
            }
            for col in cols.chunks_exact(ROWS) {
                for r in 0..ROWS {
                    sum[r] += col[r];
                }
            }
            for r in 0..ROWS {
                st.loss_sum += (max[r] + sum[r].ln() - target[r]) as f64;
            }
            if grad {
                let mut scale = [0.0f32; ROWS];
                for r in 0..ROWS {
                    scale[r] = inv_n / sum[r];
                }
                for (r, row) in block.chunks_exact_mut(classes).enumerate() {
                    for (j, v) in row.iter_mut().enumerate() {
                        *v = cols[j * ROWS + r] * scale[r];
                    }
                    row[yb[r] as usize] -= inv_n;
                }
            }
            continue;
        }
        for (r, &y) in yb.iter().enumerate() {
            let row = &block[r * classes..][..classes];
            let (m, arg) = max_and_arg(row);
            max[r] = m;
            target[r] = row[y as usize];
            st.correct += usize::from(arg == y as usize);
        }
        let e: &mut [f32] = if grad {
            for (r, row) in block.chunks_exact_mut(classes).enumerate() {
                row.iter_mut().for_each(|v| *v = exp(*v - max[r]));
            }
            block
        } else {
            for (r, (dst, row)) in scratch
                .chunks_exact_mut(classes)
                .zip(block.chunks_exact(classes))
                .enumerate()
            {
                for (d, &v) in dst.iter_mut().zip(row) {
                    *d = exp(v - max[r]);
                }
            }
            &mut scratch[..rows * classes]
        };
        // the last rows, fewer than a block: one row at a time
        let mut sum = [0.0f32; ROWS];
        for (s, row) in sum.iter_mut().zip(e.chunks_exact(classes)) {
            for &v in row {
                *s += v;
            }
        }
        for (r, &y) in yb.iter().enumerate() {
            st.loss_sum += (max[r] + sum[r].ln() - target[r]) as f64;
            if grad {
                let row = &mut e[r * classes..][..classes];
                let scale = inv_n / sum[r];
                row.iter_mut().for_each(|v| *v *= scale);
                row[y as usize] -= inv_n;
            }
        }
    }
    st
}

/// `v` at length `n`, its capacity grown to exactly that (not doubled, as a plain `resize` may): a
/// buffer holds what its largest use asked for, as `config::memory` counts it.
pub fn resize(v: &mut Vec<f32>, n: usize) {
    v.reserve_exact(n.saturating_sub(v.len()));
    v.resize(n, 0.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Triple loop reference.
    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize, ta: bool, tb: bool) -> Vec<f32> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0;
                for l in 0..k {
                    let av = if ta { a[l * m + i] } else { a[i * k + l] };
                    let bv = if tb { b[j * k + l] } else { b[l * n + j] };
                    s += av * bv;
                }
                out[i * n + j] = s;
            }
        }
        out
    }

    #[test]
    fn exp_is_within_2_ulp() {
        // expected: f64's exp rounded to f32 (the correctly rounded value, to within f64's own error),
        // on a fine grid over the whole clamped range and around 0
        let mut worst = 0.0f64;
        for i in 0..=350_000 {
            // (the grid's f32 rounding would step just past 88, where the clamp applies)
            let x = (-87.0 + i as f32 * (175.0 / 350_000.0)).min(88.0);
            for x in [x, x * 1e-4] {
                let want = (x as f64).exp();
                let ulp = (want as f32).next_up() as f64 - want as f32 as f64;
                worst = worst.max((exp(x) as f64 - want).abs() / ulp);
            }
        }
        assert!(worst <= 2.0, "worst error {worst} ulp");
        // clamped ends: finite and positive
        assert!(exp(-1000.0) > 0.0 && exp(-1000.0) < 1e-37);
        assert!(exp(1000.0).is_finite());
    }

    /// Expected by the rule argmax keeps (the first of equal maxima is the prediction), in a full block
    /// of rows (the lane-wide path) and in a short one (one row at a time): rows with maxima at classes 1
    /// and 3, two in three labelled 1 (right), the others 3 (wrong); a NaN logit is never the prediction.
    #[test]
    fn cross_entropy_counts_the_first_of_equal_maxima() {
        for n in [ROWS, ROWS - 1, 2 * ROWS + 3] {
            let c = 5;
            let mut logits = vec![0.0f32; n * c];
            let mut ys = vec![];
            for r in 0..n {
                logits[r * c + 1] = 2.0;
                logits[r * c + 3] = 2.0;
                ys.push(if r % 3 == 0 { 3 } else { 1 });
            }
            logits[4] = f32::NAN; // row 0, class 4
            let st = cross_entropy(&mut logits.clone(), c, &ys, false);
            let first_wins = (0..n).filter(|r| r % 3 != 0).count();
            assert_eq!(st.correct, first_wins, "n = {n}");
        }
    }

    /// Expected values: the definition computed in f64 one row at a time (max-shifted log-sum-exp, the
    /// gradient softmax - onehot over n), the sums as first written and the AVX-512 build against the
    /// portable one bit for bit.
    #[test]
    fn cross_entropy_matches_the_definition_and_both_builds_agree() {
        let (n, c) = (37, 97); // 4 blocks of 8 rows and 5 left over
        let base: Vec<f32> = (0..n * c)
            .map(|i| ((i * 7919) % 1000) as f32 / 97.0 - 5.0)
            .collect();
        let ys: Vec<u32> = (0..n).map(|i| ((i * 31) % c) as u32).collect();
        let mut want_loss = 0.0f64;
        let mut want_grad = vec![0.0f64; n * c];
        let mut want_correct = 0;
        for r in 0..n {
            let row: Vec<f64> = base[r * c..][..c].iter().map(|&v| v as f64).collect();
            let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let arg = row.iter().position(|&v| v == max).unwrap();
            let z: f64 = row.iter().map(|v| (v - max).exp()).sum();
            want_loss += max + z.ln() - row[ys[r] as usize];
            want_correct += usize::from(arg == ys[r] as usize);
            for j in 0..c {
                want_grad[r * c + j] = ((row[j] - max).exp() / z
                    - f64::from(u8::from(j == ys[r] as usize)))
                    / n as f64;
            }
        }
        let mut g = base.clone();
        let st = cross_entropy(&mut g, c, &ys, true);
        assert!((st.loss_sum - want_loss).abs() < 1e-4 * want_loss.abs());
        assert_eq!(st.correct, want_correct);
        for (a, b) in g.iter().zip(&want_grad) {
            assert!((*a as f64 - b).abs() < 1e-7, "{a} vs {b}");
        }
        let mut l = base.clone();
        let eval = cross_entropy(&mut l, c, &ys, false);
        assert_eq!(l, base, "evaluation leaves the logits alone");
        assert_eq!((eval.loss_sum, eval.correct), (st.loss_sum, st.correct));
        // the running sums as first written (one row at a time, in class order): the same bits
        let mut first = 0.0f64;
        for (r, &y) in ys.iter().enumerate() {
            let row = &base[r * c..][..c];
            let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let sum = row.iter().fold(0.0f32, |s, &v| s + exp(v - max));
            first += (max + sum.ln() - row[y as usize]) as f64;
        }
        assert_eq!(first.to_bits(), st.loss_sum.to_bits());
        let mut portable = base.clone();
        let st2 = cross_entropy_rows(&mut portable, c, &ys, true, ys.len());
        assert_eq!(st2.loss_sum.to_bits(), st.loss_sum.to_bits());
        assert!(
            portable
                .iter()
                .zip(&g)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
        // in two parts (11 rows, then the rest: a part's blocks of ROWS start at its first row), each
        // with the whole batch's mean: every row's gradient bits, the counts, and each part's loss the
        // sum of its rows' as above
        let mut parts = base.clone();
        let (l1, l2) = parts.split_at_mut(11 * c);
        let a = cross_entropy_of(l1, c, &ys[..11], true, n);
        let b = cross_entropy_of(l2, c, &ys[11..], true, n);
        assert_eq!((a.count, b.count), (11, n - 11));
        assert_eq!(a.correct + b.correct, st.correct);
        assert!((a.loss_sum + b.loss_sum - st.loss_sum).abs() < 1e-9 * st.loss_sum.abs());
        assert!(
            parts
                .iter()
                .zip(&g)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
    }

    #[test]
    fn all_transpose_cases_match_the_triple_loop() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.91).cos()).collect();
        for ta in [false, true] {
            for tb in [false, true] {
                let want = naive(&a, &b, m, k, n, ta, tb);
                let mut got = vec![1.0; m * n];
                matmul(&mut got, &a, &b, m, k, n, ta, tb, false);
                for (g, w) in got.iter().zip(&want) {
                    assert!((g - w).abs() < 1e-5, "ta={ta} tb={tb}");
                }
                let mut acc = vec![1.0; m * n];
                matmul(&mut acc, &a, &b, m, k, n, ta, tb, true);
                for (g, w) in acc.iter().zip(&want) {
                    assert!((g - (w + 1.0)).abs() < 1e-5, "accumulate ta={ta} tb={tb}");
                }
            }
        }
    }
}
