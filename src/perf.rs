// (module docs live on the `pub mod perf` declaration)

/// Flush denormal floats to zero on the calling thread (FTZ and DAZ).
///
/// Weight decay drives many weights towards zero; once they are denormal each multiply costs ~100
/// cycles. stack.md measured up to 4.4x on weight-decay-0 memorisation runs. Every training thread calls
/// this before its first step. Results stay deterministic: the same flags on every run.
pub fn flush_denormals() {
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
