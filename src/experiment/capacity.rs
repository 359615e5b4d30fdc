//! The Capacity lab's sweep (Song & Ye 2026; spec section 2).
//!
//! A sweep crosses primes x widths x seeds. Each task measures, for one model size P:
//! - T_gen and the generalisation delay: the modular task trained by the Grokking trainer, with the
//!   spec's events (t_train, t_val = T_gen, delay) and early stopping once both thresholds hold;
//! - T_mem: the same model, optimiser, batch and dropout trained on n_equiv random-label examples until the
//!   running training accuracy first reaches 99 % (at most the base's max_epochs);
//! - optionally its capacity: memorised bits (eval mode) after training on random-label sets of growing n
//!   until the loss saturates.
//!
//! Runs that never reach a threshold keep `None`: they are results too, never dropped. A task's result
//! depends only on the sweep config and the task, never on threads or scheduling.

use super::pool::Report;
use super::{EventSink, RunControl};
use crate::analysis::capacity::{Saturation, memorised_bits_from_loss};
pub use crate::analysis::capacity_study::{
    CapacityPoint, GenCurvePoint, MemCurvePoint, TaskCurves, TaskResult,
};
use crate::analysis::events::THRESHOLD;
use crate::config::capacity::Task;
use crate::config::{
    CapacitySweepConfig, ModelConfig, RunConfig, ValidCapacitySweepConfig, ValidGrokkingConfig,
};
use crate::data::random_labels::{self, RandomLabels, bits_per_label};
use crate::model::{self, BatchStats, ModelError, SequenceModel};
use crate::optim::{AdamW, AdamWParams, warmup_lr};
use crate::protocol::{CapacityEvent, LabEvent, Metric, Outcome, RunId, TaskPoint, TaskRun};
use crate::rng::{self, Rng, Stream};
use crate::store::sweep_dir::{RESULT_VERSION, config_key};
use crate::store::thin::Thinned;
use crate::train::trainer::{TrainError, Trainer};
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The capacity runs' stop rule (spec): no improvement of this much in the loss ...
pub const SATURATION_MIN_IMPROVEMENT: f64 = 1e-4;
/// ... over this many epochs.
pub const SATURATION_WINDOW_EPOCHS: usize = 100;
/// The log-spaced capacity sizes hold from this many bits per parameter of the model ...
pub const CAPACITY_GRID_LO_BITS_PER_PARAM: f64 = 0.5;
/// ... to this many (the paper's C is 2.16, Morris et al. report about 3.6).
pub const CAPACITY_GRID_HI_BITS_PER_PARAM: f64 = 8.0;

/// Why a task could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("modular task: {0}")]
    Train(#[from] TrainError),
    // transparent: the model's own words, once (a message with {0} and a #[from] source prints them
    // twice in an error chain)
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("random labels need the transformer (the MLP reads (a, b) pairs only)")]
    NotTransformer,
    #[error("an empty random-label set cannot be trained")]
    NoData,
    #[error(
        "random labels: the training loss became {value} at epoch {epoch}; try a smaller learning rate"
    )]
    NonFinite { value: f64, epoch: u64 },
}

/// Random-label set sizes of a task's capacity runs, increasing: the config's `capacity_sizes`, or
/// `capacity_points` sizes n = ceil(k P / log2(p + 2)) for k log-spaced over
/// [[`CAPACITY_GRID_LO_BITS_PER_PARAM`], [`CAPACITY_GRID_HI_BITS_PER_PARAM`]] bits per parameter (one
/// point: their geometric mean). Empty when capacity runs are off.
pub fn capacity_sizes(cfg: &CapacitySweepConfig, p: u32, params: u64) -> Vec<usize> {
    if !cfg.capacity {
        return vec![];
    }
    let mut sizes = if cfg.capacity_sizes.is_empty() {
        let (lo, hi) = (
            CAPACITY_GRID_LO_BITS_PER_PARAM,
            CAPACITY_GRID_HI_BITS_PER_PARAM,
        );
        let m = cfg.capacity_points.max(1);
        (0..m)
            .map(|i| {
                let k = if m == 1 {
                    (lo * hi).sqrt()
                } else {
                    lo * (hi / lo).powf(i as f64 / (m - 1) as f64)
                };
                ((k * params as f64 / bits_per_label(p)).ceil() as usize).max(1)
            })
            .collect()
    } else {
        cfg.capacity_sizes.clone()
    };
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// Most points kept of each stored training curve ([`Thinned`]; pinned threshold epochs and the last
/// epoch come on top).
pub const CURVE_MAX_POINTS: usize = 300;

/// At most this often a running task sends its run's new curve points (the Capacity tab's tasks in
/// flight); a run's last points go when it ends. Points are gathered, not dropped: the tab receives
/// every point the result's curve is thinned from.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// One run's curve points on their way to the sink: gathered as they come, sent as one
/// `TaskProgress` at most every [`PROGRESS_EVERY`] and when the run ends ([`LiveCurve::finish`]).
pub struct LiveCurve<'a> {
    task: Task,
    run: TaskRun,
    report: Report<'a>,
    points: Vec<TaskPoint>,
    sent: Instant,
}

impl<'a> LiveCurve<'a> {
    pub fn new(task: Task, run: TaskRun, report: Report<'a>) -> Self {
        LiveCurve {
            task,
            run,
            report,
            points: vec![],
            sent: Instant::now(),
        }
    }

    fn push(&mut self, point: TaskPoint) {
        self.points.push(point);
        if self.sent.elapsed() >= PROGRESS_EVERY {
            self.send();
        }
    }

    fn send(&mut self) {
        self.sent = Instant::now();
        if !self.points.is_empty() {
            (self.report)(LabEvent::Capacity(CapacityEvent::TaskProgress {
                task: self.task,
                run: self.run,
                points: std::mem::take(&mut self.points),
            }));
        }
    }

    /// The run ended: send what is left.
    fn finish(mut self) {
        self.send();
    }
}

/// T_gen and the delay of one modular run.
#[derive(Clone, Debug, PartialEq)]
pub struct GenMeasure {
    pub params: u64,
    pub t_train: Option<u64>,
    pub t_gen: Option<u64>,
    pub delay: Option<u64>,
    pub epochs: u64,
    pub final_train_acc: Option<f64>,
    pub final_val_acc: Option<f64>,
    /// Thinned curve of the run.
    pub curve: Vec<GenCurvePoint>,
}

/// Train the modular task of `cfg` with the Grokking trainer (early stopping on) and read its events;
/// the points of its curve also go to `live`. `Ok(None)` when `stop` was set first.
pub fn measure_gen(
    cfg: &ValidGrokkingConfig,
    stop: &AtomicBool,
    mut live: LiveCurve<'_>,
) -> Result<Option<GenMeasure>, TaskError> {
    // this measure reads the running training statistics and validation only
    let mut t = Trainer::new(&cfg.clone().with_early_stop())?.without_clean_train_pass();
    let (mut train_acc, mut val_acc) = (None, None);
    let mut curve = Thinned::new(CURVE_MAX_POINTS);
    while !t.finished() {
        if stop.load(AtomicOrdering::Relaxed) {
            return Ok(None);
        }
        let report = t.step()?;
        if let Some(row) = report.row {
            train_acc = row.get(Metric::TrainAcc).or(train_acc);
            val_acc = row.get(Metric::ValAcc).or(val_acc);
            let at_threshold = !report.events.is_empty();
            let evaluated = row.get(Metric::ValAcc).is_some();
            if let (Some(acc), Some(loss)) = (row.get(Metric::TrainAcc), row.get(Metric::TrainLoss))
                && (evaluated || at_threshold)
            {
                let point = GenCurvePoint {
                    epoch: row.epoch,
                    train_acc: acc,
                    train_loss: loss,
                    val_acc: row.get(Metric::ValAcc),
                    val_loss: row.get(Metric::ValLoss),
                };
                live.push(TaskPoint {
                    step: row.step,
                    epoch: row.epoch,
                    train_acc: acc,
                    val_acc: point.val_acc,
                });
                curve.push(point, at_threshold);
            }
        }
    }
    live.finish();
    let d = t.detector();
    Ok(Some(GenMeasure {
        params: t.param_count(),
        t_train: d.t_train,
        t_gen: d.t_val,
        delay: d.delay(t.epochs()),
        epochs: t.epochs(),
        final_train_acc: train_acc,
        final_val_acc: val_acc,
        curve: curve.finish(),
    }))
}

/// Trains the transformer of a run config on a random-label set: the same initialisation (the seed's
/// `Init` stream, as the modular run), optimiser, warm-up, batch size and dropout; a fresh permutation of
/// the set every epoch from the `Batches` stream, dropout masks from the `Dropout` stream.
pub struct LabelTrainer {
    model: Box<dyn SequenceModel>,
    opt: AdamW,
    data: RandomLabels,
    batch: usize,
    batch_rng: Rng,
    dropout_rng: Rng,
    lr: f64,
    warmup_steps: u64,
    steps: u64,
    epochs: u64,
    bx: Vec<[u32; 4]>,
    by: Vec<u32>,
}

impl LabelTrainer {
    pub fn new(cfg: &ValidGrokkingConfig, data: RandomLabels) -> Result<Self, TaskError> {
        let ModelConfig::Transformer(t) = &cfg.model else {
            return Err(TaskError::NotTransformer);
        };
        if data.is_empty() {
            return Err(TaskError::NoData);
        }
        let model = model::build_transformer(t, cfg.p, &mut rng::stream(cfg.seed, Stream::Init))?;
        let o = &cfg.optim;
        let opt = AdamW::new(AdamWParams::from(o), &model.param_sizes());
        let n = data.len();
        let batch = if cfg.full_batch {
            n
        } else {
            cfg.batch_size.clamp(1, n)
        };
        Ok(LabelTrainer {
            model,
            opt,
            data,
            batch,
            batch_rng: rng::stream(cfg.seed, Stream::Batches),
            dropout_rng: rng::stream(cfg.seed, Stream::Dropout),
            lr: o.lr,
            warmup_steps: o.warmup_steps,
            steps: 0,
            epochs: 0,
            bx: vec![],
            by: vec![],
        })
    }

    pub fn param_count(&self) -> u64 {
        self.model.param_count()
    }

    /// Epochs completed.
    pub fn epochs(&self) -> u64 {
        self.epochs
    }

    /// Optimiser steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// One epoch; its running (training-mode) loss and accuracy over the minibatches. `Ok(None)` when
    /// `stop` was set (checked before every step; the epoch is abandoned).
    pub fn epoch(&mut self, stop: &AtomicBool) -> Result<Option<BatchStats>, TaskError> {
        let n = self.data.len();
        // one batch covers the set: its gradient does not depend on the order, so draw none
        let order = if self.batch >= n {
            (0..n).collect()
        } else {
            rng::permutation(n, &mut self.batch_rng)
        };
        let mut running = BatchStats::default();
        for chunk in order.chunks(self.batch) {
            if stop.load(AtomicOrdering::Relaxed) {
                return Ok(None);
            }
            self.bx.clear();
            self.by.clear();
            for &i in chunk {
                self.bx.push(self.data.tokens[i]);
                self.by.push(self.data.targets[i]);
            }
            let s =
                self.model
                    .forward_backward_tokens(&self.bx, &self.by, &mut self.dropout_rng)?;
            self.steps += 1;
            if !s.mean_loss().is_finite() {
                return Err(TaskError::NonFinite {
                    value: s.mean_loss(),
                    epoch: self.epochs + 1,
                });
            }
            self.opt
                .begin_step(warmup_lr(self.lr, self.steps, self.warmup_steps));
            self.model.apply(&mut self.opt)?;
            running.add(s);
        }
        self.epochs += 1;
        Ok(Some(running))
    }

    /// Eval-mode loss and accuracy on the whole set.
    pub fn evaluate(&mut self) -> Result<BatchStats, TaskError> {
        Ok(self
            .model
            .evaluate_tokens(&self.data.tokens, &self.data.targets)?)
    }
}

/// T_mem of one model.
#[derive(Clone, Debug, PartialEq)]
pub struct MemMeasure {
    /// First epoch whose running train accuracy reached 99 %.
    pub t_mem: Option<u64>,
    pub epochs: u64,
    /// Running train accuracy of the last epoch.
    pub final_train_acc: Option<f64>,
    /// Thinned curve of the run.
    pub curve: Vec<MemCurvePoint>,
}

/// Train `cfg`'s model on its n_equiv random-label examples (the seed's `Labels` stream) until the
/// running training accuracy first reaches 99 % or `cfg.max_epochs` pass; every epoch's point also goes
/// to `live`. `Ok(None)` when stopped.
pub fn measure_mem(
    cfg: &ValidGrokkingConfig,
    stop: &AtomicBool,
    mut live: LiveCurve<'_>,
) -> Result<Option<MemMeasure>, TaskError> {
    let data = random_labels::equivalent(cfg.op, cfg.p, cfg.train_fraction, cfg.seed);
    let mut t = LabelTrainer::new(cfg, data)?;
    let mut last = None;
    let mut t_mem = None;
    let mut curve = Thinned::new(CURVE_MAX_POINTS);
    while t.epochs() < cfg.max_epochs && t_mem.is_none() {
        let Some(s) = t.epoch(stop)? else {
            return Ok(None);
        };
        last = Some(s.accuracy());
        let reached = s.accuracy() >= THRESHOLD;
        live.push(TaskPoint {
            step: t.steps(),
            epoch: t.epochs(),
            train_acc: s.accuracy(),
            val_acc: None,
        });
        curve.push(
            MemCurvePoint {
                epoch: t.epochs(),
                train_acc: s.accuracy(),
                train_loss: s.mean_loss(),
            },
            reached,
        );
        if reached {
            t_mem = Some(t.epochs());
        }
    }
    live.finish();
    Ok(Some(MemMeasure {
        t_mem,
        epochs: t.epochs(),
        final_train_acc: last,
        curve: curve.finish(),
    }))
}

/// One capacity run: train `cfg`'s model on the first `n` random-label examples of its seed until the
/// epoch's running training loss saturates ([`Saturation`] with [`SATURATION_MIN_IMPROVEMENT`] over
/// [`SATURATION_WINDOW_EPOCHS`]) or `max_epochs` pass, then measure the memorised bits in eval mode.
/// `on_epoch` hears each epoch trained (the epochs so far). `Ok(None)` when stopped.
pub fn measure_capacity(
    cfg: &ValidGrokkingConfig,
    n: usize,
    max_epochs: u64,
    stop: &AtomicBool,
    on_epoch: &mut dyn FnMut(u64),
) -> Result<Option<CapacityPoint>, TaskError> {
    let mut t = LabelTrainer::new(cfg, random_labels::generate(n, cfg.p, cfg.seed))?;
    let mut sat = Saturation::new(SATURATION_MIN_IMPROVEMENT, SATURATION_WINDOW_EPOCHS);
    let mut saturated = false;
    while t.epochs() < max_epochs && !saturated {
        let Some(s) = t.epoch(stop)? else {
            return Ok(None);
        };
        saturated = sat.observe(s.mean_loss());
        on_epoch(t.epochs());
    }
    let eval = t.evaluate()?;
    Ok(Some(CapacityPoint {
        n,
        bits: memorised_bits_from_loss(eval.loss_sum, n, cfg.p as usize),
        epochs: t.epochs(),
        saturated,
        train_acc_eval: eval.accuracy(),
    }))
}

/// Measure one task on this thread: T_gen and delay, T_mem, and the capacity runs when the sweep asks for
/// them; the T_gen and T_mem runs' curves go to `report` as they grow. `Ok(None)` when `stop` was set
/// first. (A sweep runs the same two trainings as separate units, maybe side by side: see [`run`].)
pub fn run_task(
    cfg: &ValidCapacitySweepConfig,
    task: &Task,
    stop: &AtomicBool,
    report: Report<'_>,
) -> Result<Option<TaskResult>, TaskError> {
    // the sweep's own units, one after the other: the second completes the task
    let parts = Mutex::new(Parts::default());
    let mut result = None;
    for which in [TaskRun::Gen, TaskRun::Mem] {
        match train(cfg, task, which, &parts, stop, report)? {
            Some(r) => result = r,
            None => return Ok(None),
        }
    }
    Ok(result)
}

/// One of a task's two trainings (its T_gen run or its T_mem run): what a sweep's threads take, so that
/// the two trainings of one task can run on two cores at once and a sweep does not end with one core
/// training a long task while the others wait.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Training {
    /// Index of its task in the sweep's task list.
    task: usize,
    run: TaskRun,
}

/// The order a sweep's threads take its trainings in: the largest models first (a training's cost grows
/// with its parameters, and a long one started last leaves the other cores idle while it runs), each
/// task's T_gen run before its T_mem run. Results do not depend on it.
fn trainings(cfg: &ValidCapacitySweepConfig, tasks: &[Task]) -> Vec<Training> {
    let mut order: Vec<(u64, Training)> = tasks
        .iter()
        .enumerate()
        .flat_map(|(i, t)| {
            let params = cfg.task_run(t).model.param_count(t.p as usize);
            [TaskRun::Gen, TaskRun::Mem].map(|run| (params, Training { task: i, run }))
        })
        .collect();
    // stable: equal sizes keep the task order, T_gen before T_mem
    order.sort_by_key(|(params, _)| std::cmp::Reverse(*params));
    order.into_iter().map(|(_, t)| t).collect()
}

/// What has come in of one task's trainings, with the seconds they took.
#[derive(Default)]
struct Parts {
    t_gen: Option<GenMeasure>,
    t_mem: Option<MemMeasure>,
    secs: f64,
}

/// Train `which` of `task`'s two runs, and put its measure with the task's `parts`. The training that
/// completes the task goes on with the capacity runs (when the sweep asks for them) and answers the
/// task's result; the other answers `Some(None)`. `Ok(None)` when `stop` was set first.
fn train(
    cfg: &ValidCapacitySweepConfig,
    task: &Task,
    which: TaskRun,
    parts: &Mutex<Parts>,
    stop: &AtomicBool,
    report: Report<'_>,
) -> Result<Option<Option<TaskResult>>, TaskError> {
    let t0 = Instant::now();
    let run = cfg.task_run(task);
    let live = LiveCurve::new(*task, which, report);
    let mut part = Parts::default();
    match which {
        TaskRun::Gen => match measure_gen(&run, stop, live)? {
            Some(g) => part.t_gen = Some(g),
            None => return Ok(None),
        },
        TaskRun::Mem => match measure_mem(&run, stop, live)? {
            Some(m) => part.t_mem = Some(m),
            None => return Ok(None),
        },
    }
    let both = {
        // a training that panicked holding the lock left it as it was: its own part is simply missing
        let mut slot = parts.lock().unwrap_or_else(PoisonError::into_inner);
        slot.t_gen = slot.t_gen.take().or(part.t_gen);
        slot.t_mem = slot.t_mem.take().or(part.t_mem);
        slot.secs += t0.elapsed().as_secs_f64();
        if slot.t_gen.is_some() && slot.t_mem.is_some() {
            Some(std::mem::take(&mut *slot))
        } else {
            None
        }
    };
    let Some(Parts {
        t_gen: Some(g),
        t_mem: Some(m),
        secs,
    }) = both
    else {
        return Ok(Some(None));
    };
    Ok(complete(cfg, task, &run, g, m, secs, stop, report)?.map(Some))
}

/// A task whose two trainings are done (`secs`: their seconds, added): its capacity runs when the sweep
/// asks for them (each set's progress to `report`, [`CapacityEvent::CapacityRun`]), then its result.
/// `Ok(None)` when `stop` was set first.
#[allow(clippy::too_many_arguments)]
fn complete(
    cfg: &ValidCapacitySweepConfig,
    task: &Task,
    run: &ValidGrokkingConfig,
    g: GenMeasure,
    m: MemMeasure,
    secs: f64,
    stop: &AtomicBool,
    report: Report<'_>,
) -> Result<Option<TaskResult>, TaskError> {
    let t1 = Instant::now();
    let mut capacity: Vec<CapacityPoint> = vec![];
    let cap_run = cfg.capacity_run(run);
    let sizes = capacity_sizes(cfg, task.p, g.params);
    let max_epochs = cfg.capacity_epochs();
    for (set, &n) in sizes.iter().enumerate() {
        let say = |epoch, finished: &[CapacityPoint]| {
            report(LabEvent::Capacity(CapacityEvent::CapacityRun(
                crate::protocol::CapacityRuns {
                    task: *task,
                    set,
                    sets: sizes.len(),
                    n,
                    epoch,
                    max_epochs,
                    finished: finished.to_vec(),
                },
            )))
        };
        say(0, &capacity);
        let mut sent = Instant::now();
        let mut on_epoch = |epoch| {
            if sent.elapsed() >= PROGRESS_EVERY {
                sent = Instant::now();
                say(epoch, &capacity);
            }
        };
        let Some(point) = measure_capacity(&cap_run, n, max_epochs, stop, &mut on_epoch)? else {
            return Ok(None);
        };
        let epochs = point.epochs;
        capacity.push(point);
        say(epochs, &capacity);
    }
    let n_equiv = random_labels::equivalent_size(run.op, run.p, run.train_fraction);
    Ok(Some(TaskResult {
        version: RESULT_VERSION,
        key: config_key(cfg, task),
        width: task.width,
        p: task.p,
        seed: task.seed,
        params: g.params,
        n_equiv,
        complexity_bits: random_labels::complexity_bits(n_equiv, run.p),
        t_train: g.t_train,
        t_gen: g.t_gen,
        delay: g.delay,
        gen_epochs: g.epochs,
        final_train_acc: g.final_train_acc,
        final_val_acc: g.final_val_acc,
        t_mem: m.t_mem,
        mem_epochs: m.epochs,
        mem_final_train_acc: m.final_train_acc,
        capacity,
        wall_secs: secs + t1.elapsed().as_secs_f64(),
        curves: TaskCurves {
            gen_run: g.curve,
            mem_run: m.curve,
        },
    }))
}

/// Training threads of a sweep of `tasks` tasks for `requested` (0 = the cores): two trainings a task.
pub fn sweep_threads(requested: usize, tasks: usize) -> usize {
    super::pool::threads_for(requested, 2 * tasks)
}

/// Refuse a sweep whose largest task, once per training thread, needs more than `limit_bytes`.
pub fn check_memory(cfg: &CapacitySweepConfig, limit_bytes: u64) -> Result<(), String> {
    let threads = sweep_threads(cfg.threads, cfg.task_count());
    super::check_study_memory(&cfg.largest_task(), threads, limit_bytes)
}

/// Which tasks of a sweep to run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Tasks<'a> {
    /// Every task (primes x widths x seeds).
    All,
    /// These (one shard, or the ones a resumed sweep still lacks).
    Only(&'a [Task]),
}

/// Run `tasks` of a sweep: the one entry of the Capacity lab (the worker, the CLI and the tests call
/// it). Each task's two trainings (T_gen, T_mem) are units of their own on up to `cfg.threads` named
/// scoped threads, each single-threaded, the largest models first ([`trainings`]); the one that finishes
/// second adds the capacity runs and the result. Emits `Started`, one `SweepResult` per finished task in
/// completion order (`done` of the tasks run), each running training's `TaskProgress` (a task's all
/// before its result), and exactly one `Finished`. A task that fails does not end the others: the sweep goes on and ends
/// `Failed`, naming every failed task. The control is polled between results; a stop reaches the
/// running tasks before their next optimiser step.
pub fn run(
    cfg: &ValidCapacitySweepConfig,
    tasks: Tasks<'_>,
    run: RunId,
    sink: &mut dyn EventSink,
    control: &mut dyn RunControl,
) -> Outcome {
    let all;
    let tasks = match tasks {
        Tasks::All => {
            all = crate::config::capacity::tasks(cfg);
            &all[..]
        }
        Tasks::Only(t) => t,
    };
    let spec = super::pool::StudySpec {
        run,
        config: RunConfig::CapacitySweep(CapacitySweepConfig::clone(cfg)),
        steps_per_epoch: cfg.base.steps_per_epoch(),
        threads: sweep_threads(cfg.threads, tasks.len()),
        thread_name: "capacity-sweep",
        kind: "sweep",
        units: "trainings",
        device: crate::model::device_for(&cfg.base.model).map_err(|e| e.to_string()),
    };
    let order = trainings(cfg, tasks);
    let parts: Vec<Mutex<Parts>> = tasks.iter().map(|_| Mutex::default()).collect();
    super::pool::study(
        spec,
        &order,
        sink,
        control,
        |t, stop, report| train(cfg, &tasks[t.task], t.run, &parts[t.task], stop, report),
        |t| {
            let run = match t.run {
                TaskRun::Gen => "T_gen",
                TaskRun::Mem => "T_mem",
            };
            format!("{} ({run} run)", tasks[t.task].name())
        },
        |result, done| {
            result.map(|result| {
                LabEvent::Capacity(CapacityEvent::SweepResult {
                    result: Box::new(result),
                    done,
                    total: tasks.len(),
                })
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::GrokkingConfig;
    use crate::config::capacity::{shard, tasks, tiny_sweep as tiny};

    #[test]
    fn tasks_in_order_primes_widths_seeds() {
        // 2 primes x 2 widths x 3 seeds = 12, seed fastest
        let t = tasks(&tiny());
        assert_eq!(t.len(), 12);
        assert_eq!(
            t[0],
            Task {
                p: 5,
                width: 4,
                seed: 0
            }
        );
        assert_eq!(
            t[4],
            Task {
                p: 5,
                width: 8,
                seed: 1
            }
        );
        assert_eq!(
            t[11],
            Task {
                p: 7,
                width: 8,
                seed: 2
            }
        );
        assert_eq!(t[4].name(), "task-p5-w8-s1");
        assert_eq!(t[4].file_name(), "task-p5-w8-s1.json");
    }

    #[test]
    fn shard_by_hand() {
        // 12 tasks in 5 shards: shard 1 gets tasks 1, 6, 11; shard 4 gets 4, 9
        let t = tasks(&tiny());
        assert_eq!(shard(&t, 1, 5), vec![t[1], t[6], t[11]]);
        assert_eq!(shard(&t, 4, 5), vec![t[4], t[9]]);
        assert_eq!(shard(&t, 0, 1), t);
        assert!(shard(&t, 5, 5).is_empty());
    }

    #[test]
    fn trainings_take_the_largest_models_first_each_task_twice() {
        // expected: every task's T_gen run, then later its T_mem run, each once; model sizes (the closed
        // form, itself checked against the models) never grow along the order; first the largest model,
        // p = 7 and width 8 (tasks 9..12), lowest seed first
        let c = ValidCapacitySweepConfig::try_from(tiny()).unwrap();
        let t = tasks(&c);
        let order = trainings(&c, &t);
        assert_eq!(order.len(), 2 * t.len());
        for i in 0..t.len() {
            let at = |run| order.iter().position(|o| *o == Training { task: i, run });
            let (g, m) = (at(TaskRun::Gen).unwrap(), at(TaskRun::Mem).unwrap());
            assert!(g < m, "task {i}");
            assert_eq!(order.iter().filter(|o| o.task == i).count(), 2);
        }
        let size = |o: &Training| {
            c.task_run(&t[o.task])
                .model
                .param_count(t[o.task].p as usize)
        };
        assert!(order.windows(2).all(|w| size(&w[0]) >= size(&w[1])));
        assert_eq!(
            order[..2],
            [
                Training {
                    task: 9,
                    run: TaskRun::Gen
                },
                Training {
                    task: 9,
                    run: TaskRun::Mem
                }
            ]
        );
    }

    #[test]
    fn capacity_sizes_log_spaced_in_bits_per_param() {
        // p = 2 gives log2(4) = 2 bits a label; P = 100: k = 0.5, 2, 8 bits per parameter (three points
        // log-spaced over [0.5, 8]) give n = k * 100 / 2 = 25, 100, 400
        let mut c = tiny();
        assert!(capacity_sizes(&c, 2, 100).is_empty(), "off");
        c.capacity = true;
        c.capacity_points = 3;
        assert_eq!(capacity_sizes(&c, 2, 100), vec![25, 100, 400]);
        // one point: the geometric mean, 2 bits per parameter
        c.capacity_points = 1;
        assert_eq!(capacity_sizes(&c, 2, 100), vec![100]);
        // explicit sizes are sorted and deduplicated
        c.capacity_sizes = vec![50, 10, 50];
        assert_eq!(capacity_sizes(&c, 2, 100), vec![10, 50]);
    }

    fn label_run(seed: u64) -> ValidGrokkingConfig {
        let mut c = tiny().task_config(7, 8, seed);
        c.max_epochs = 30;
        c.batch_size = 16;
        ValidGrokkingConfig::try_from(c).unwrap()
    }

    #[test]
    fn label_trainer_is_deterministic_and_steps_by_batches() {
        // 40 examples in batches of 16: 3 steps an epoch (16, 16, 8); same seed, same losses
        let go = |seed| {
            let mut t =
                LabelTrainer::new(&label_run(seed), random_labels::generate(40, 7, 1)).unwrap();
            let stop = AtomicBool::new(false);
            let stats: Vec<BatchStats> = (0..3).map(|_| t.epoch(&stop).unwrap().unwrap()).collect();
            assert_eq!(t.steps, 9);
            assert!(stats.iter().all(|s| s.count == 40));
            stats
        };
        assert_eq!(go(3), go(3));
        assert_ne!(go(3), go(4));
    }

    #[test]
    fn label_trainer_stops_and_refuses() {
        let stop = AtomicBool::new(true);
        let mut t = LabelTrainer::new(&label_run(0), random_labels::generate(20, 7, 0)).unwrap();
        assert_eq!(t.epoch(&stop).unwrap(), None);
        assert!(matches!(
            LabelTrainer::new(&label_run(0), random_labels::generate(0, 7, 0)),
            Err(TaskError::NoData)
        ));
        let mlp = ValidGrokkingConfig::try_from(crate::config::preset("fast-mlp").unwrap().config)
            .unwrap();
        let data = random_labels::generate(5, mlp.p, 0);
        assert!(matches!(
            LabelTrainer::new(&mlp, data),
            Err(TaskError::NotTransformer)
        ));
    }

    #[test]
    fn a_task_stores_its_curves_and_results_without_curves_still_load() {
        // a / b mod 7 is not in tiny(); a + b mod 7 at width 8, 40 epochs: short runs, so no thinning
        let mut c = tiny();
        c.base.max_epochs = 40;
        let task = Task {
            p: 7,
            width: 8,
            seed: 0,
        };
        let c = ValidCapacitySweepConfig::try_from(c).unwrap();
        let r = run_task(&c, &task, &AtomicBool::new(false), &|_| {})
            .unwrap()
            .unwrap();
        // eval_every_epochs is 1 in the preset: one point per epoch of each run, in order
        let epochs = |v: Vec<u64>| v;
        assert_eq!(
            epochs(r.curves.gen_run.iter().map(|p| p.epoch).collect()),
            (1..=r.gen_epochs).collect::<Vec<_>>()
        );
        assert_eq!(
            epochs(r.curves.mem_run.iter().map(|p| p.epoch).collect()),
            (1..=r.mem_epochs).collect::<Vec<_>>()
        );
        assert!(r.curves.gen_run.iter().all(|p| p.val_acc.is_some()));
        let last = r.curves.mem_run.last().unwrap();
        assert_eq!(Some(last.train_acc), r.mem_final_train_acc);
        // a result file written before curves were stored (no "curves" key) loads with none ...
        let mut json = serde_json::to_value(&r).unwrap();
        json.as_object_mut().unwrap().remove("curves");
        let old: TaskResult = serde_json::from_value(json).unwrap();
        assert!(old.curves.is_empty());
        assert_eq!(
            TaskResult {
                curves: r.curves.clone(),
                ..old.clone()
            },
            r
        );
        // ... and a result without curves is written as before
        assert!(!serde_json::to_string(&old).unwrap().contains("curves"));
    }

    #[test]
    fn memorising_a_few_labels() {
        // 12 random labels over 9 symbols, d = 16 (about 8 600 parameters, ~3 bits a label): a model
        // this much larger than its data memorises them; dropout 0 and lr 1e-2 so it does quickly
        let mut c = GrokkingConfig::from(label_run(0));
        c.train_fraction = 12.0 / 42.0 + 1e-9; // floor(42 * f) = 12 of p(p-1) = 42 for a / b mod 7
        c.op = crate::config::Operation::Div;
        c.optim.lr = 1e-2;
        c.optim.weight_decay = 0.0;
        if let ModelConfig::Transformer(t) = &mut c.model {
            t.dropout = 0.0;
            t.d_model = 16;
        }
        c.max_epochs = 300;
        let c = ValidGrokkingConfig::try_from(c).unwrap();
        let stop = AtomicBool::new(false);
        let task = Task {
            p: 7,
            width: 16,
            seed: 0,
        };
        let live = || LiveCurve::new(task, TaskRun::Mem, &|_| {});
        let m = measure_mem(&c, &stop, live()).unwrap().unwrap();
        let t_mem = m.t_mem.expect("memorised");
        assert_eq!(m.epochs, t_mem, "stops at T_mem");
        assert!(m.final_train_acc.unwrap() >= THRESHOLD);
        // the capacity run on the same 12 labels: at full accuracy nearly all 12 log2 9 = 38.04 bits are
        // memorised (bits = n log2 9 - loss / ln 2, below it by the remaining loss)
        let point = measure_capacity(&c, 12, 300, &stop, &mut |_| {})
            .unwrap()
            .unwrap();
        let whole = random_labels::complexity_bits(12, 7);
        assert!(point.bits <= whole && point.bits > 0.8 * whole, "{point:?}");
        assert_eq!(point.train_acc_eval, 1.0);
        // stopped before starting: no result
        assert_eq!(
            measure_mem(&c, &AtomicBool::new(true), live()).unwrap(),
            None
        );
    }
}
