//! Row-major matrix products on the `gemm` crate, for the hand-written models.
//!
//! candle's per-op overhead (1-2 us an op) and its unfused small ops dominate small models; stack.md measured
//! a hand-written forward/backward on `gemm` at 2.3x candle's best for the MLP. This is the one place that
//! touches raw pointers.

use std::cell::Cell;

thread_local! {
    /// Threads `gemm` may use on this thread's products (0 = all cores). Sweeps set 1 per worker.
    static THREADS: Cell<usize> = const { Cell::new(0) };
}

/// Set the intra-op thread count for products issued from this thread (0 = all cores).
pub fn set_threads(n: usize) {
    THREADS.with(|t| t.set(n));
}

fn parallelism(flops: usize) -> gemm::Parallelism {
    // Below ~2 MFLOP a product finishes before a second thread would have started.
    let n = THREADS.with(|t| t.get());
    let n = if n == 0 {
        std::thread::available_parallelism()
            .map(|v| v.get())
            .unwrap_or(1)
    } else {
        n
    };
    if n <= 1 || flops < 2_000_000 {
        gemm::Parallelism::None
    } else {
        gemm::Parallelism::Rayon(n)
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
    assert!(
        dst.len() >= m * n && a.len() >= m * k && b.len() >= k * n,
        "matmul buffer too small"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return;
    }
    let (a_rs, a_cs) = if ta { (1, m as isize) } else { (k as isize, 1) };
    let (b_rs, b_cs) = if tb { (1, k as isize) } else { (n as isize, 1) };
    // SAFETY: the assert above guarantees every index the strides reach lies inside its buffer;
    // dst does not alias a or b (distinct borrows).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            parallelism(2 * m * n * k),
        );
    }
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
