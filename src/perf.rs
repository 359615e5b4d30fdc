// (module docs live on the `pub mod perf` declaration)

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
