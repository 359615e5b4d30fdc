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
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |v| v.get()))
}

/// Cores a group of training threads shares (the workers of a sweep or study, each training on one
/// core): a worker that runs out of work gives its core here, and a training still running may borrow it
/// for a while ([`lend_core`]): for a batch's second half ([`both`]), its evaluation's chunks, or an
/// evaluation beside its training. The group never uses more cores than it has workers.
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

/// `a()` here and `b()` on a second core at the same time when one is free ([`lend_core`]), else `b()`
/// here after `a()`. On two cores `b` computes as it would here (the same float mode), each with half of
/// this thread's threads (one each when this thread has two or a core was lent), so the results do not
/// depend on where `b` ran. A panic in either is resumed here once both have ended.
///
/// `b` runs on this thread's [`Helper`], which waits for the next job spinning for a while: a training
/// calls this once a step, and a thread started per call, or a rayon pool thread woken from its sleep,
/// lost a third to a half of what the second core gave a d = 32 step (measured, see [`Helper`]).
pub fn both<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA,
    B: FnOnce() -> RB + Send,
    RB: Send,
{
    let Some(lent) = lend_core() else {
        return (a(), b());
    };
    let out = on_two(a, b);
    drop(lent);
    out
}

/// `a()` here and `b()` on this thread's [`Helper`] at the same time, for a caller that may use two
/// cores (it has two threads or a lent core, [`lend_core`]): as [`both`] does when a core is free. (With
/// no helper thread, `b()` here after `a()`.)
pub fn on_two<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA,
    B: FnOnce() -> RB + Send,
    RB: Send,
{
    let (mode, setting, n) = (float_mode(), threads_setting(), threads());
    let (mut a, mut b) = (Some(a), Some(b));
    let (mut ra, mut rb) = (None, None);
    let mut job = || {
        set_float_mode(mode);
        set_threads((n / 2).max(1));
        rb = b.take().map(|b| b());
    };
    let mut here = || {
        set_threads((n - n / 2).max(1));
        ra = a.take().map(|a| a());
    };
    let ran = HELPER.with(|h| {
        // (busy: a `both` inside a `both` runs its two here)
        let Ok(mut h) = h.try_borrow_mut() else {
            return false;
        };
        if h.is_none() {
            *h = Helper::start().ok();
        }
        let Some(helper) = h.as_mut() else {
            return false;
        };
        helper.run(&mut job, &mut here);
        true
    });
    if !ran {
        here();
        job();
    }
    set_threads(setting);
    match (ra, rb) {
        (Some(ra), Some(rb)) => (ra, rb),
        _ => unreachable!("both ran: on two threads, or here"),
    }
}

thread_local! {
    /// The calling thread's helper for [`on_two`], started on first use.
    static HELPER: std::cell::RefCell<Option<Helper>> = const { std::cell::RefCell::new(None) };
}

/// A thread that runs one job at a time for the thread that started it ([`on_two`]), borrowing that
/// thread's data: [`Helper::run`] returns only once the job has ended.
///
/// After a job it spins for [`Helper::SPIN`] before it sleeps, as a training's next step comes within
/// a fraction of a millisecond. Measured on this 2-core machine (alternating runs), 1000 steps of a
/// d = 32 transformer (p = 23, 423 examples a step, no evaluation) took 3.5 s on one thread and, with
/// their two halves on two cores: 1.8-1.9 s on this helper, 2.4-2.8 s with a scoped thread started each
/// step, 2.1-2.5 s on rayon's pool (whose threads sleep after a few dozen yields, and wake in tens of
/// microseconds on a virtual machine). Written here because neither rayon nor std offers a scoped job on
/// a thread that keeps spinning between calls.
///
/// Spinning costs where other work holds a core: beside a busy loop on one of the two cores, a d = 32
/// run with evaluation every epoch took 5.1-5.5 s with 2 ms of spinning (and its owner spinning 2^16
/// rounds before it yields), 4.5-4.8 s with 0.5 ms (2^12 rounds), the same as 2 ms on a quiet machine,
/// and 4.3-4.6 s with the build before the halves, which had no helper. Giving the job back to the
/// owner when the helper had not started it did not help (4.6-4.7 s).
struct Helper {
    shared: std::sync::Arc<Shared>,
    thread: std::thread::Thread,
}

/// What a [`Helper`] and its owner share.
struct Shared {
    /// Jobs posted and jobs ended, counted from 0.
    posted: std::sync::atomic::AtomicU64,
    ended: std::sync::atomic::AtomicU64,
    /// The posted job, with its lifetime erased: [`Helper::run`] keeps it alive until it has ended.
    job: std::sync::Mutex<Option<JobPtr>>,
    /// A panic of the last job.
    panic: std::sync::Mutex<Option<Box<dyn std::any::Any + Send>>>,
    /// The helper sleeps (or is about to).
    parked: std::sync::atomic::AtomicBool,
    /// Its owner has ended: the helper ends too.
    quit: std::sync::atomic::AtomicBool,
}

struct JobPtr(*mut (dyn FnMut() + Send + 'static));
// SAFETY: the job is `Send`; the pointer moves to the helper while its owner waits for it.
unsafe impl Send for JobPtr {}

impl Helper {
    /// How long a helper waits for the next job spinning before it sleeps.
    const SPIN: std::time::Duration = std::time::Duration::from_micros(500);

    fn start() -> std::io::Result<Helper> {
        use std::sync::atomic::{AtomicBool, AtomicU64};
        let shared = std::sync::Arc::new(Shared {
            posted: AtomicU64::new(0),
            ended: AtomicU64::new(0),
            job: std::sync::Mutex::new(None),
            panic: std::sync::Mutex::new(None),
            parked: AtomicBool::new(false),
            quit: AtomicBool::new(false),
        });
        let theirs = shared.clone();
        let handle = std::thread::Builder::new()
            .name("helper".into())
            .spawn(move || Helper::serve(&theirs))?;
        Ok(Helper {
            shared,
            thread: handle.thread().clone(),
        })
    }

    /// The helper's loop: wait for a job (spinning, then sleeping), run it, say it ended.
    fn serve(shared: &Shared) {
        use std::sync::atomic::Ordering::{Acquire, Release, SeqCst};
        flush_here();
        let mut seen = 0;
        loop {
            let mut since = std::time::Instant::now();
            let mut spins = 0u32;
            while shared.posted.load(Acquire) == seen {
                if shared.quit.load(Acquire) {
                    return;
                }
                spins = spins.wrapping_add(1);
                if spins.is_multiple_of(256) && since.elapsed() > Self::SPIN {
                    // (the owner raises `posted`, then reads `parked`: one of the two sees the other)
                    shared.parked.store(true, SeqCst);
                    if shared.posted.load(SeqCst) == seen && !shared.quit.load(SeqCst) {
                        std::thread::park();
                    }
                    shared.parked.store(false, SeqCst);
                    since = std::time::Instant::now();
                } else {
                    std::hint::spin_loop();
                }
            }
            seen += 1;
            let job = shared.job.lock().ok().and_then(|mut j| j.take());
            if let Some(JobPtr(job)) = job {
                // SAFETY: the owner posted this job and waits in `run` until `ended` reaches `seen`,
                // so what it borrows is alive, and nothing else touches it meanwhile.
                let run = std::panic::AssertUnwindSafe(|| unsafe { (*job)() });
                if let Err(panic) = std::panic::catch_unwind(run)
                    && let Ok(mut p) = shared.panic.lock()
                {
                    *p = Some(panic);
                }
            }
            shared.ended.store(seen, Release);
        }
    }

    /// `job` on the helper while `here` runs on this thread; returns once both have ended. A panic of
    /// either is resumed here after that.
    fn run(&mut self, job: &mut (dyn FnMut() + Send), here: &mut dyn FnMut()) {
        use std::sync::atomic::Ordering::{Acquire, SeqCst};
        let ptr: *mut (dyn FnMut() + Send + '_) = job;
        // SAFETY: only the lifetime changes. This function returns, or unwinds, only once the helper has
        // ended the job (a panic of `here` is caught and resumed after the wait), so nothing the job
        // borrows ends before it does.
        let ptr: *mut (dyn FnMut() + Send + 'static) = unsafe { std::mem::transmute(ptr) };
        match self.shared.job.lock() {
            Ok(mut j) => *j = Some(JobPtr(ptr)),
            Err(_) => {
                here();
                return job();
            }
        }
        let n = self.shared.posted.fetch_add(1, SeqCst) + 1;
        if self.shared.parked.load(SeqCst) {
            self.thread.unpark();
        }
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(here));
        let mut spins = 0u32;
        while self.shared.ended.load(Acquire) < n {
            spins = spins.saturating_add(1);
            if spins < 1 << 12 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        let panic = self.shared.panic.lock().ok().and_then(|mut p| p.take());
        if let Some(panic) = out.err().or(panic) {
            std::panic::resume_unwind(panic)
        }
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        self.shared
            .quit
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.thread.unpark();
    }
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

    #[test]
    fn both_runs_the_second_on_a_lent_core_or_here() {
        // expected: with a core to lend, b runs on another thread with this thread's float mode and one
        // thread (this one has two), while a runs here; without one, both run here, a first
        let here = std::thread::current().id();
        let order = std::sync::Mutex::new(vec![]);
        let record = |name: &'static str| {
            order.lock().unwrap().push(name);
            (std::thread::current().id(), float_mode(), threads())
        };
        set_threads(2);
        let (a, b) = both(|| record("a"), || record("b"));
        assert_eq!(a, (here, float_mode(), 1));
        assert_ne!(b.0, here, "b on a helper thread");
        assert_eq!((b.1, b.2), (float_mode(), 1));
        assert_eq!(threads(), 2, "the setting is restored");
        set_threads(1);
        order.lock().unwrap().clear();
        let (a, b) = both(|| record("a"), || record("b"));
        assert_eq!((a.0, b.0), (here, here), "no core to lend: both here");
        assert_eq!(*order.lock().unwrap(), ["a", "b"]);
        set_threads(0);
    }
}
