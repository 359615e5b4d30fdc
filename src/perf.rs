// (module docs live on the `pub mod perf` declaration)

use std::cell::Cell;

/// Flush denormal floats to zero on the calling thread (FTZ and DAZ).
///
/// Weight decay drives many weights towards zero; once they are denormal each multiply costs ~100
/// cycles. stack.md measured up to 4.4x on weight-decay-0 memorisation runs. Every training thread calls
/// this before its first step. Results stay deterministic: the same flags on every run.
///
/// It also builds rayon's global pool (where `gemm` runs a split product and the hand-written models run
/// their split row-wise loops) with its threads flushing denormals too, if nothing has built it yet: a
/// product or loop then gives the same bits whether it runs here or is split over the pool.
pub fn flush_denormals() {
    build_pool();
    flush_here();
}

/// Build rayon's global pool with threads that flush denormals, unless it is built already (`main` calls
/// this first, before anything can use rayon).
pub fn build_pool() {
    static POOL: std::sync::Once = std::sync::Once::new();
    POOL.call_once(|| {
        // an error means the pool was built already (then its threads keep the default mode)
        let _ = rayon::ThreadPoolBuilder::new()
            .start_handler(|_| flush_here())
            .build_global();
    });
}

fn flush_here() {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: setting MXCSR bits 15 (FTZ) and 6 (DAZ) only changes how this thread rounds tiny floats.
        #[allow(deprecated)]
        unsafe {
            use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
            _mm_setcsr(_mm_getcsr() | (1 << 15) | (1 << 6));
        }
    }
}

/// The calling thread's floating-point control word (x86-64: MXCSR, which holds the flush flags), so that
/// helper threads can compute exactly as their caller does; 0 elsewhere.
pub fn float_mode() -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: reading MXCSR has no effect.
        #[allow(deprecated)]
        unsafe {
            std::arch::x86_64::_mm_getcsr()
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        0
    }
}

/// Give the calling thread the control word `mode` taken by [`float_mode`] on another thread.
pub fn set_float_mode(mode: u32) {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: a value read from MXCSR on this machine only sets rounding and flush flags.
        #[allow(deprecated)]
        unsafe {
            std::arch::x86_64::_mm_setcsr(mode)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = mode;
}

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
        0 => cores(),
        n => n,
    }
}

/// The cores this process may use, asked once: on Linux `available_parallelism` reads the cgroup's quota
/// files on every call, which the many small products and loops of a step would otherwise pay each time.
fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |v| v.get()))
}

/// Elements a row-wise loop (RMSNorm, rotary, attention, SwiGLU, AdamW) must touch before it is split
/// over this thread's threads. A split loop gives the same bits: rows are independent. Measured on this
/// 2-core machine (alternating runs): `transformer97` (d = 128, batch 512) made 23-27 steps/s with the
/// build before (no loop split) and 30-32 with a threshold of 2^16, 2^18, 2^19 or 2^20 elements; 400
/// epochs of `paper-transformer-cpu` (d = 32, two threads) took 7.7-7.9 s at 2^16 (its small loops then
/// pay for waking the pool more than they gain), 6.5-6.6 s at 2^18, 6.3-6.6 s at 2^19 and 6.2-6.4 s at
/// 2^20, where none of its loops is split.
pub const PARALLEL_MIN_ELEMS: usize = 1 << 19;

thread_local! {
    /// [`PARALLEL_MIN_ELEMS`], lowered by tests so that small loops are split too.
    static SPLIT_MIN: Cell<usize> = const { Cell::new(PARALLEL_MIN_ELEMS) };
}

/// Split row-wise loops issued from this thread from `n` elements on (tests: to split small loops).
#[cfg(test)]
pub(crate) fn set_split_min(n: usize) {
    SPLIT_MIN.with(|m| m.set(n));
}

/// Rows a block when a loop over `rows` rows of `per_row` elements each is worth splitting over this
/// thread's threads (a multiple of `multiple`, so that blocks start at whole examples); `None` to run it
/// on this thread.
pub fn row_blocks(rows: usize, per_row: usize, multiple: usize) -> Option<usize> {
    if rows.saturating_mul(per_row) < SPLIT_MIN.with(|m| m.get()) {
        return None;
    }
    let n = threads();
    if n <= 1 {
        return None;
    }
    // two blocks a thread, so that a core slowed by other work holds up less of the loop
    Some(rows.div_ceil(2 * n).next_multiple_of(multiple.max(1)))
}
