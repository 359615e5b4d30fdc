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

/// Cores a group of training threads shares (the workers of a sweep or study, each training on one
/// core): a worker that runs out of work gives its core here, and a training still running may borrow it
/// for a while ([`lend_core`]) to evaluate beside its training. The group never uses more cores than it
/// has workers.
#[derive(Debug, Default)]
pub struct SpareCores(std::sync::atomic::AtomicUsize);

impl SpareCores {
    /// The calling worker has no more work: its core is free for the others.
    pub fn give(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Cores free now.
    #[cfg(test)]
    fn free(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::Acquire)
    }

    fn take(&self) -> bool {
        self.0
            .fetch_update(
                std::sync::atomic::Ordering::AcqRel,
                std::sync::atomic::Ordering::Acquire,
                |n| n.checked_sub(1),
            )
            .is_ok()
    }
}

thread_local! {
    /// The group this thread's trainings borrow spare cores from (a sweep's or study's worker).
    static GROUP: std::cell::RefCell<Option<std::sync::Arc<SpareCores>>> =
        const { std::cell::RefCell::new(None) };
}

/// Let the calling thread borrow from `group` (a worker of a sweep or study; `None`: no group).
pub fn join_group(group: Option<std::sync::Arc<SpareCores>>) {
    GROUP.with(|g| *g.borrow_mut() = group);
}

/// A second core, lent by [`lend_core`] until this is dropped.
#[derive(Debug)]
pub struct LentCore(Option<std::sync::Arc<SpareCores>>);

impl Drop for LentCore {
    fn drop(&mut self) {
        if let Some(group) = &self.0 {
            group.give();
        }
    }
}

/// A core besides this thread's own, for a while, if one is free: this thread may use two or more
/// ([`threads`]: its setting, or every core of a machine with two or more when it is 0), or its group
/// has a spare one ([`join_group`]). `None`: the work stays on this thread.
pub fn lend_core() -> Option<LentCore> {
    if threads() >= 2 {
        return Some(LentCore(None));
    }
    GROUP.with(|g| {
        let group = g.borrow().clone()?;
        group.take().then(|| LentCore(Some(group)))
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_group_lends_only_the_cores_its_workers_gave() {
        set_threads(1);
        assert!(lend_core().is_none(), "one thread and no group");
        let group = Arc::new(SpareCores::default());
        join_group(Some(group.clone()));
        assert!(lend_core().is_none(), "every worker still has work");
        group.give();
        let lent = lend_core().expect("a worker gave its core");
        assert!(lend_core().is_none(), "the one spare core is lent");
        drop(lent);
        assert_eq!(group.free(), 1, "given back when dropped");
        join_group(None);
        set_threads(2);
        assert!(
            lend_core().is_some(),
            "a thread that may use two cores has one to lend"
        );
        assert_eq!(group.free(), 1, "outside the group");
        set_threads(0);
    }
}
