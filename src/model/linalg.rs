//! Row-major (and strided) matrix products on the `gemm` crate and the softmax cross-entropy, for the
//! hand-written models.
//!
//! candle's per-op overhead (1-2 us an op) and its unfused small ops dominate small models; stack.md measured
//! a hand-written forward/backward on `gemm` at 2.3x candle's best for the MLP. This is the one place that
//! touches raw pointers.

use super::BatchStats;
use std::cell::Cell;

thread_local! {
    /// Threads `gemm` may use on this thread's products (0 = all cores). Sweeps set 1 per worker.
    static THREADS: Cell<usize> = const { Cell::new(0) };
}

/// Set the intra-op thread count for products issued from this thread (0 = all cores).
pub fn set_threads(n: usize) {
    THREADS.with(|t| t.set(n));
}

/// The intra-op thread count set for this thread (0 = all cores).
pub fn threads_setting() -> usize {
    THREADS.with(|t| t.get())
}

/// The threads this thread's work may use: the setting, or every core when it is 0.
pub fn threads() -> usize {
    match threads_setting() {
        0 => std::thread::available_parallelism().map_or(1, |v| v.get()),
        n => n,
    }
}

fn parallelism(flops: usize) -> gemm::Parallelism {
    // Below ~2 MFLOP a product finishes before a second thread would have started.
    let n = threads();
    if n <= 1 || flops < 2_000_000 {
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

/// Softmax cross-entropy and accuracy of `logits` ([rows, classes], row r's target `ys[r]`). With `grad`,
/// the logits are replaced by the gradient of the batch-mean loss with respect to them.
pub fn cross_entropy(logits: &mut [f32], classes: usize, ys: &[u32], grad: bool) -> BatchStats {
    let n = ys.len();
    let mut st = BatchStats {
        count: n,
        ..Default::default()
    };
    let inv_n = 1.0 / n.max(1) as f32;
    for (row, &y) in logits.chunks_exact_mut(classes).zip(ys) {
        let y = y as usize;
        let (mut arg, mut max) = (0, f32::NEG_INFINITY);
        for (j, &v) in row.iter().enumerate() {
            if v > max {
                max = v;
                arg = j;
            }
        }
        let target = row[y];
        let mut sum = 0.0f32;
        if grad {
            // keep exp(v - max) in place: the gradient needs it after the sum
            for v in row.iter_mut() {
                *v = exp(*v - max);
                sum += *v;
            }
            let scale = inv_n / sum;
            for v in row.iter_mut() {
                *v *= scale;
            }
            row[y] -= inv_n;
        } else {
            for v in row.iter() {
                sum += exp(v - max);
            }
        }
        st.loss_sum += (max + sum.ln() - target) as f64;
        st.correct += usize::from(arg == y);
    }
    st
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
