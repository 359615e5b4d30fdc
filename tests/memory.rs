//! The memory estimate ([`GrokkingConfig::memory_estimate`]) against what a run allocates: a counting
//! allocator measures the peak of heap bytes a window run holds (training, evaluation, insight snapshots,
//! checkpoints kept in memory) and the estimate must lie above it. Its own test binary, so that no other
//! test allocates while it measures.

use grokscope::config::checkpoints::CheckpointEvery;
use grokscope::config::memory::Setting;
use grokscope::config::{
    Combine, GrokkingConfig, ModelConfig, Operation, ValidGrokkingConfig, preset,
};
use grokscope::experiment::grokking::{self, RunOptions, Start};
use grokscope::experiment::{EventSink, Unattended};
use grokscope::protocol::Event;
use grokscope::store::run_dir::RunWriter;
use grokscope::train::insight::InsightEvery;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Counting;
static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let now = NOW.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every call goes to the system allocator unchanged; the counters only add and subtract sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        NOW.fetch_sub(l.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            // the old block and the new one both exist while the bytes are copied
            grew(new);
            NOW.fetch_sub(l.size(), Relaxed);
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Held by each test while it measures: the counters are the whole process's.
static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Drops every event (the window's side keeps what it shows; this measures the training side).
struct Drop;
impl EventSink for Drop {
    fn emit(&mut self, _ev: Event) {}
}

/// Peak heap bytes above the start of a run of `cfg` trained for `epochs` epochs: in the window's way
/// (an in-memory recorder that holds its checkpoints, insight snapshots within their share of the time,
/// their frames filled in after the run)
/// or headless (no recorder, no views).
fn peak_of(cfg: &GrokkingConfig, epochs: u64, setting: Setting) -> u64 {
    let valid = ValidGrokkingConfig::try_from(cfg.clone()).unwrap();
    let window = matches!(setting, Setting::Window(_));
    let base = NOW.load(Relaxed);
    PEAK.store(base, Relaxed);
    let opts = RunOptions {
        writer: window.then(|| RunWriter::in_memory(cfg, None)),
        stop_at_epoch: Some(epochs),
        // the window's schedule (a share of the time: snapshots, and the weight frames kept to fill
        // them in), with a share large enough for a snapshot about every other epoch
        insight: if window {
            InsightEvery::Budget(1.0)
        } else {
            InsightEvery::Off
        },
        // the window's checkpoints at the cadence its estimate assumes
        checkpoint_every: match setting {
            Setting::Window(every) => every,
            Setting::Headless => CheckpointEvery::Tenth,
        },
        ..Default::default()
    };
    let mut end = grokking::run(Start::New(valid), 1, &mut Drop, &mut Unattended, opts);
    // and the views filled in after the run, as the window's worker does
    if let Some(views) = &mut end.views {
        while views.fill_one(&mut Drop) {}
    }
    let peak = PEAK.load(Relaxed) - base;
    drop(end);
    peak as u64
}

fn transformer(p: u32, d: usize, depth: usize, batch: usize) -> GrokkingConfig {
    let mut c = preset("paper-transformer-cpu").unwrap().config;
    c.op = Operation::Add;
    c.p = p;
    c.batch_size = batch;
    c.full_batch = false;
    c.early_stop = false;
    if let ModelConfig::Transformer(t) = &mut c.model {
        t.d_model = d;
        t.depth = depth;
        t.heads = if d >= 64 { 4 } else { 1 };
    }
    c
}

fn mlp(p: u32, hidden: usize, batch: Option<usize>, combine: Combine) -> GrokkingConfig {
    let mut c = preset("fast-mlp").unwrap().config;
    c.op = Operation::Add;
    c.p = p;
    c.early_stop = false;
    match batch {
        Some(b) => {
            c.full_batch = false;
            c.batch_size = b;
        }
        None => c.full_batch = true,
    }
    if let ModelConfig::Mlp(m) = &mut c.model {
        m.hidden = hidden;
        m.combine = combine;
    }
    c
}

#[test]
fn the_estimate_lies_above_what_a_run_allocates() {
    let _alone = ALONE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // each case trains a few epochs, each evaluated, with a checkpoint per epoch (max_epochs 10);
    // models large enough that their buffers, not the runner's small vectors, make the peak
    let mut cases = vec![
        (
            "mlp p 97, full batch",
            mlp(97, 512, None, Combine::Concat),
            3,
        ),
        (
            "mlp p 97, batches of 512",
            mlp(97, 256, Some(512), Combine::Sum),
            2,
        ),
        (
            "mlp p 211, batches of 100",
            mlp(211, 64, Some(100), Combine::Concat),
            1,
        ),
        ("transformer p 97, d 128", transformer(97, 128, 2, 512), 1),
        // 4704 training examples: four batches of 941 and a last one of 940
        (
            "transformer, last batch one short",
            transformer(97, 64, 2, 941),
            1,
        ),
        (
            "transformer depth 1, batches of 48",
            transformer(59, 64, 1, 48),
            1,
        ),
        ("transformer depth 3, d 32", transformer(61, 32, 3, 256), 2),
    ];
    for (_, c, _) in &mut cases {
        c.max_epochs = 10;
    }
    let cores = grokscope::perf::cores();
    let mut report = vec![];
    let mut over = vec![];
    for (name, cfg, epochs) in &cases {
        // the window's default cadence: every epoch of these 10 (as about ten a run would)
        for setting in [Setting::Headless, Setting::Window(CheckpointEvery::Auto)] {
            let est = cfg.memory_estimate_in(setting, cores);
            let peak = peak_of(cfg, *epochs, setting);
            let ratio = est.total() as f64 / peak as f64;
            let line = format!(
                "{name}, {setting:?}: peak {peak} bytes, estimate {} (ratio {ratio:.2}): {est}",
                est.total()
            );
            // above the peak, and not so far above it that the limit refuses configs that fit (a
            // small run's estimate may be several times its peak: the fixed allowances dominate)
            if peak > est.total() || est.total() > 3 * peak + (64 << 20) {
                over.push(line.clone());
            }
            report.push(line);
        }
    }
    println!("{}", report.join("\n"));
    assert!(over.is_empty(), "{}", over.join("\n"));
}

/// The insight views of a large p: every pair's hidden layer (p^2 h floats) is held, their logits only
/// a chunk at a time once p^3 floats pass `INSIGHT_FULL_LOGITS_MAX` (at p = 503 they would be 509 MB;
/// before the chunks a window run there held 562 MB, and at p = 1009 4.3 GB).
#[test]
fn the_views_of_a_large_prime_hold_their_logits_a_chunk_at_a_time() {
    let _alone = ALONE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let cfg = mlp(503, 16, Some(512), Combine::Concat);
    // about ten checkpoints a run: this measures the views (the window's automatic cadence would add
    // to the estimate the checkpoints of a run to its cap of 5000 epochs, not of this one epoch)
    let window = Setting::Window(CheckpointEvery::Tenth);
    let est = cfg.memory_estimate_in(window, grokscope::perf::cores());
    let peak = peak_of(&cfg, 1, window);
    println!("p 503: peak {peak}, estimate {est}");
    assert!(
        peak <= est.total() && est.total() <= 3 * peak + (64 << 20),
        "peak {peak}, {est}"
    );
    assert!(peak < 503u64.pow(3) * 4 / 4, "peak {peak}");
}

/// A sweep's task (its T_gen run, then T_mem on random labels of the same size) holds no more than the
/// headless estimate of its config on two cores, which `experiment::check_study_memory` charges per
/// training thread.
#[test]
fn a_sweep_task_lies_under_its_estimate() {
    use grokscope::config::capacity::{Task, ValidCapacitySweepConfig, sweep_presets};
    use grokscope::experiment::capacity::run_task;
    use std::sync::atomic::AtomicBool;
    let _alone = ALONE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // the bundled cpu preset's largest width, at its prime, for a few epochs
    let mut cfg = sweep_presets()
        .into_iter()
        .find(|p| p.name == "cpu")
        .expect("the cpu preset")
        .config;
    cfg.base.max_epochs = 3;
    let task = Task {
        p: cfg.primes[0],
        width: *cfg.widths.iter().max().unwrap(),
        seed: 0,
    };
    let valid = ValidCapacitySweepConfig::try_from(cfg.clone()).unwrap();
    let est = cfg
        .task_config(task.p, task.width, task.seed)
        .memory_estimate_in(Setting::Headless, 2);
    let base = NOW.load(Relaxed);
    PEAK.store(base, Relaxed);
    let r = run_task(&valid, &task, &AtomicBool::new(false), &|_| {}).unwrap();
    let peak = (PEAK.load(Relaxed) - base) as u64;
    drop(r);
    println!("sweep task d = {}: peak {peak}, estimate {est}", task.width);
    assert!(
        peak <= est.total() && est.total() <= 3 * peak + (64 << 20),
        "peak {peak}, {est}"
    );
}
