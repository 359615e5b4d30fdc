//! The Ordering lab's runners (Song 2025): one complete layer trained with pruning, reporting its
//! orderedness D as it learns; and studies of many such runs in parallel.

use super::{EventSink, RunControl};
use crate::analysis::orderedness;
use crate::config::ordering::Scheme;
use crate::config::{OrderingConfig, RunConfig, ValidOrderingConfig, ValidOrderingStudyConfig};
use crate::data::ordering::{self as data, Regression};
use crate::model::complete_layer::{CompleteLayer, Dims};
use crate::optim::{AdamW, AdamWParams};
use crate::protocol::{
    Event, HyperChange, LabEvent, LayerSnapshot, Metric, MetricRow, OrderMethod, OrderingEvent,
    Outcome, RunId, StudyRow, Summary,
};
use crate::rng::{self, Rng, Stream};
use crate::train::pruning::{self, Pruner};
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::time::Instant;

/// Most snapshots one run emits (besides the initial one and a final one after a stop).
pub const MAX_SNAPSHOTS: u64 = 500;
/// Up to this many neurons D is computed after every epoch; beyond, only with the snapshots (the exact
/// search grows as 2^n n^2).
pub const D_EVERY_EPOCH_UP_TO: usize = 12;

/// Why an Ordering run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum OrderingError {
    #[error("the loss became {loss} at step {step}; try a smaller learning rate")]
    Diverged { step: u64, loss: f64 },
    #[error("orderedness of the weights at step {step}: {message}")]
    Order { step: u64, message: String },
}

/// D of the square block with the ordering that achieves it.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    pub d: f64,
    pub order: Vec<usize>,
    pub method: OrderMethod,
    /// Mean D of the same weights shuffled ([`OrderingTrainer::null`]); `None` beyond
    /// [`orderedness::NULL_MAX_N`] neurons.
    pub null: Option<f64>,
}

/// What one optimiser step reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport {
    /// The minibatch's MSE before the update.
    pub loss: f64,
    /// At an epoch's end: the epoch's mean MSE over its examples.
    pub epoch_mse: Option<f64>,
}

/// Trains one complete layer with pruning, one optimiser step at a time.
pub struct OrderingTrainer {
    cfg: OrderingConfig,
    data: Regression,
    layer: CompleteLayer,
    opt: AdamW,
    lr: f64,
    pruner: Pruner,
    batch_rng: Rng,
    /// This epoch's example order.
    order: Vec<usize>,
    /// Position in `order`.
    pos: usize,
    steps: u64,
    epochs: u64,
    /// Sum of example MSEs and examples seen this epoch.
    epoch_loss: f64,
    epoch_count: usize,
    xs: Vec<f64>,
    ys: Vec<f64>,
}

impl OrderingTrainer {
    /// Build `cfg`'s data, initialise W and v0 (Init stream) and the pruning (Pruning stream).
    pub fn new(cfg: &ValidOrderingConfig) -> Self {
        let data = data::task(cfg.task);
        let dims = Dims {
            inputs: data.inputs,
            hidden: cfg.hidden,
            outputs: data.outputs,
            its: cfg.its,
        };
        let layer = CompleteLayer::new(dims, &mut rng::stream(cfg.seed, Stream::Init));
        // Adam (PyTorch's defaults) is our AdamW without weight decay
        let opt = AdamW::new(
            AdamWParams {
                lr: cfg.lr,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.0,
            },
            &layer.param_sizes(),
        );
        let pruner = Pruner::new(
            cfg.pruning,
            dims.neurons(),
            dims.cols(),
            &mut rng::stream(cfg.seed, Stream::Pruning),
        );
        OrderingTrainer {
            cfg: OrderingConfig::clone(cfg),
            data,
            layer,
            opt,
            lr: cfg.lr,
            pruner,
            batch_rng: rng::stream(cfg.seed, Stream::Batches),
            order: vec![],
            pos: 0,
            steps: 0,
            epochs: 0,
            epoch_loss: 0.0,
            epoch_count: 0,
            xs: vec![],
            ys: vec![],
        }
    }

    pub fn config(&self) -> &OrderingConfig {
        &self.cfg
    }

    pub fn layer(&self) -> &CompleteLayer {
        &self.layer
    }

    /// Optimiser steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Epochs completed.
    pub fn epochs(&self) -> u64 {
        self.epochs
    }

    pub fn finished(&self) -> bool {
        self.epochs >= self.cfg.epochs
    }

    pub fn param_count(&self) -> u64 {
        self.layer.dims.param_count()
    }

    /// Apply a learning-rate change; weight decay is refused (the lab trains with Adam).
    pub fn apply_change(&mut self, change: HyperChange) -> Result<(), String> {
        change.validate()?;
        match change {
            HyperChange::Lr(v) => {
                self.lr = v;
                self.cfg.lr = v;
                Ok(())
            }
            HyperChange::WeightDecay(_) => Err(
                "the Ordering lab trains with Adam without weight decay; weight decay cannot be set"
                    .into(),
            ),
        }
    }

    /// One optimiser step on the next minibatch of a seeded shuffle, then pruning of W.
    pub fn step(&mut self) -> Result<StepReport, OrderingError> {
        let n = self.data.len();
        if self.pos == 0 {
            self.order = rng::permutation(n, &mut self.batch_rng);
            self.epoch_loss = 0.0;
            self.epoch_count = 0;
        }
        let end = (self.pos + self.cfg.effective_batch()).min(n);
        self.data
            .gather(&self.order[self.pos..end], &mut self.xs, &mut self.ys);
        let loss = self.layer.forward_backward(&self.xs, &self.ys);
        if !loss.is_finite() {
            return Err(OrderingError::Diverged {
                step: self.steps + 1,
                loss,
            });
        }
        // progress x in [0, 1): the fraction of the run done before this step
        let x = self.steps as f64 / self.cfg.total_steps().max(1) as f64;
        self.opt.begin_step(self.lr);
        self.layer.apply(&mut self.opt);
        self.pruner.apply(&mut self.layer.w, x);
        self.steps += 1;
        let count = end - self.pos;
        self.epoch_loss += loss * count as f64;
        self.epoch_count += count;
        self.pos = end;
        let epoch_mse = (end == n).then(|| {
            self.pos = 0;
            self.epochs += 1;
            self.epoch_loss / self.epoch_count.max(1) as f64
        });
        Ok(StepReport { loss, epoch_mse })
    }

    /// MSE over the whole dataset with the current weights.
    pub fn full_mse(&mut self) -> f64 {
        let (xs, ys) = (self.data.xs.clone(), self.data.ys.clone());
        self.layer.loss(&xs, &ys)
    }

    /// Fraction of W that is exactly zero.
    pub fn sparsity(&self) -> f64 {
        pruning::sparsity(&self.layer.w)
    }

    /// D of |W[:, :H+O]| and the best ordering found.
    pub fn measure(&self) -> Result<Measured, OrderingError> {
        let n = self.layer.dims.neurons();
        let block = self.layer.square_block_abs();
        let o = orderedness::orderedness(&block, n).map_err(|e| self.order_error(e))?;
        let method = match o.method {
            orderedness::Method::Exact => OrderMethod::Exact,
            orderedness::Method::Heuristic => OrderMethod::Heuristic,
        };
        Ok(Measured {
            d: o.d,
            order: o.order,
            method,
            null: self.null_of(&block)?.map(|n| n.mean),
        })
    }

    fn order_error(&self, e: orderedness::OrderError) -> OrderingError {
        OrderingError::Order {
            step: self.steps,
            message: e.to_string(),
        }
    }

    /// The shuffled null of the layer now ([`orderedness::shuffled_null`], [`orderedness::SHUFFLES`]
    /// shuffles), `None` beyond [`orderedness::NULL_MAX_N`] neurons. Its shuffles come from the
    /// seed's Shuffle stream at this step, so a step's null is the same whenever it is measured.
    pub fn null(&self) -> Result<Option<orderedness::NullD>, OrderingError> {
        self.null_of(&self.layer.square_block_abs())
    }

    /// [`Self::null`] of `block`, the layer's |W[:, :H+O]| as [`CompleteLayer::square_block_abs`]
    /// gives it.
    fn null_of(&self, block: &[f64]) -> Result<Option<orderedness::NullD>, OrderingError> {
        let n = self.layer.dims.neurons();
        if n > orderedness::NULL_MAX_N {
            return Ok(None);
        }
        let mut rng = rng::stream_at(self.cfg.seed, Stream::Shuffle, self.steps);
        orderedness::shuffled_null(block, n, orderedness::SHUFFLES, &mut rng)
            .map(Some)
            .map_err(|e| self.order_error(e))
    }

    /// The layer now, with a measurement of it.
    pub fn snapshot(&self, m: &Measured) -> LayerSnapshot {
        let d = self.layer.dims;
        LayerSnapshot {
            step: self.steps,
            epoch: self.epochs,
            inputs: d.inputs,
            hidden: d.hidden,
            outputs: d.outputs,
            weights: self.layer.w.clone(),
            pruned: self.pruner.pruned().to_vec(),
            order: m.order.clone(),
            d: m.d,
            method: m.method,
            sparsity: self.sparsity(),
        }
    }

    /// Snapshots every this many epochs so that a run emits at most [`MAX_SNAPSHOTS`] (+ first, last).
    pub fn snapshot_stride(&self) -> u64 {
        self.cfg.epochs.div_ceil(MAX_SNAPSHOTS).max(1)
    }
}

/// Emits the events of one run in order, remembering what the end needs.
struct Reporter<'a> {
    run: RunId,
    sink: &'a mut dyn EventSink,
    /// Step of the last snapshot emitted.
    last_snapshot: Option<u64>,
}

impl Reporter<'_> {
    /// A metrics row (MSE when given, sparsity, D when measured) and, when `snapshot`, a snapshot.
    fn report(
        &mut self,
        t: &OrderingTrainer,
        mse: Option<f64>,
        measure: bool,
        snapshot: bool,
    ) -> Result<(), OrderingError> {
        let mut values = vec![];
        if let Some(m) = mse {
            values.push((Metric::Mse, m));
        }
        let measured = if measure || snapshot {
            Some(t.measure()?)
        } else {
            None
        };
        if let Some(m) = &measured {
            values.push((Metric::Orderedness, m.d));
            if let Some(null) = m.null {
                values.push((Metric::OrderednessNull, null));
            }
        }
        values.push((Metric::Sparsity, t.sparsity()));
        self.sink.emit(Event::Metrics {
            run: self.run,
            rows: vec![MetricRow {
                step: t.steps(),
                epoch: t.epochs(),
                values,
            }],
        });
        if let (true, Some(m)) = (snapshot, &measured) {
            self.sink.emit(Event::Lab {
                run: self.run,
                payload: LabEvent::Ordering(OrderingEvent::Snapshot(Box::new(t.snapshot(m)))),
            });
            self.last_snapshot = Some(t.steps());
        }
        Ok(())
    }
}

/// What the Ordering lab runs.
#[derive(Clone, Debug, PartialEq)]
pub enum Start {
    /// One network, with its metrics and snapshots as it learns.
    Run(ValidOrderingConfig),
    /// Many networks in parallel, one result row each.
    Study(ValidOrderingStudyConfig),
}

/// Run `start` to its end: the one entry of the Ordering lab (the worker, the CLI and the tests call it).
/// Emits exactly one `Finished`; see [`run_one`] and [`run_study`] for the events before it.
pub fn run(
    start: &Start,
    run: RunId,
    sink: &mut dyn EventSink,
    control: &mut dyn RunControl,
) -> Outcome {
    match start {
        Start::Run(cfg) => run_one(cfg, run, sink, control).0,
        Start::Study(cfg) => run_study(cfg, run, sink, control),
    }
}

/// Train one complete layer with pruning. Emits `Started`, an initial metrics row and snapshot, then per
/// step `Progress` and per epoch a `Metrics` row (MSE, D, sparsity) with throttled `Snapshot`s, and
/// exactly one `Finished`. Returns the trainer as the run left it too, for what the events do not
/// carry (the final MSE over the whole dataset): `run` with `Start::Run` is this without it.
pub fn run_one(
    cfg: &ValidOrderingConfig,
    run: RunId,
    sink: &mut dyn EventSink,
    control: &mut dyn RunControl,
) -> (Outcome, OrderingTrainer) {
    let mut trainer = OrderingTrainer::new(cfg);
    let t0 = Instant::now();
    sink.emit(Event::Started {
        run,
        config: Box::new(RunConfig::Ordering(OrderingConfig::clone(cfg))),
        param_count: trainer.param_count(),
        steps_per_epoch: cfg.steps_per_epoch(),
        device: Some(crate::config::device::Choice::cpu_only()),
    });
    let mut rep = Reporter {
        run,
        sink,
        last_snapshot: None,
    };
    let stride = trainer.snapshot_stride();
    let every_epoch = trainer.layer().dims.neurons() <= D_EVERY_EPOCH_UP_TO;
    let outcome = match train_reporting(&mut trainer, &mut rep, control, stride, every_epoch) {
        Ok(o) => o,
        Err(e) => Outcome::Failed {
            message: e.to_string(),
        },
    };
    // a stopped run shows where it stopped (a diverged one has nothing worth drawing)
    if rep.last_snapshot != Some(trainer.steps()) && outcome == Outcome::Stopped {
        // the run is over either way: a failed measurement only costs the last picture
        let _ = rep.report(&trainer, None, true, true);
    }
    rep.sink.emit(Event::Finished {
        run,
        outcome: outcome.clone(),
        summary: Some(Summary {
            param_count: trainer.param_count(),
            steps: trainer.steps(),
            epochs: trainer.epochs(),
            t_train_epoch: None,
            t_val_epoch: None,
            delay_epochs: None,
            final_train_acc: None,
            final_val_acc: None,
            wall_secs: t0.elapsed().as_secs_f64(),
        }),
    });
    (outcome, trainer)
}

fn train_reporting(
    t: &mut OrderingTrainer,
    rep: &mut Reporter<'_>,
    control: &mut dyn RunControl,
    stride: u64,
    every_epoch: bool,
) -> Result<Outcome, OrderingError> {
    let mse0 = t.full_mse();
    rep.report(t, Some(mse0), true, true)?;
    loop {
        if t.finished() {
            return Ok(Outcome::Completed);
        }
        let ctl = control.poll(t.steps() + 1);
        for change in ctl.changes {
            match t.apply_change(change) {
                Ok(()) => rep.sink.emit(Event::Changed {
                    run: rep.run,
                    change,
                    step: t.steps(),
                    epoch: t.epochs(),
                }),
                Err(message) => rep.sink.emit(Event::Refused { message }),
            }
        }
        if ctl.stop {
            return Ok(Outcome::Stopped);
        }
        if ctl.hold {
            // the run just paused: poll again (which waits) before stepping
            continue;
        }
        let r = t.step()?;
        rep.sink.emit(Event::Progress {
            run: rep.run,
            step: t.steps(),
            epoch: t.epochs(),
        });
        if let Some(mse) = r.epoch_mse {
            let e = t.epochs();
            let snap = e.is_multiple_of(stride) || t.finished();
            rep.report(t, Some(mse), every_epoch, snap)?;
        }
    }
}

/// Train one network of a study to its end (or until `stop` is set: `Ok(None)`) and measure it.
pub fn train_one(
    cfg: &ValidOrderingConfig,
    stop: &AtomicBool,
) -> Result<Option<StudyRow>, OrderingError> {
    let mut t = OrderingTrainer::new(cfg);
    while !t.finished() {
        if stop.load(AtomicOrdering::Relaxed) {
            return Ok(None);
        }
        t.step()?;
    }
    let m = t.measure()?;
    Ok(Some(StudyRow {
        scheme: cfg.pruning.scheme(),
        param: cfg.pruning.param(),
        sparsity: cfg.pruning.sparsity(),
        hidden: cfg.hidden,
        its: cfg.its,
        seed: cfg.seed,
        d: m.d,
        method: m.method,
        final_loss: t.full_mse(),
        d_null: m.null,
    }))
}

/// Training threads for `requested` (0 = the cores) and `tasks` networks.
pub fn study_threads(requested: usize, tasks: usize) -> usize {
    super::pool::threads_for(requested, tasks)
}

/// Run a study: its networks in parallel on named scoped threads (each network single-threaded), one
/// `StudyPoint` per finished network in completion order, exactly one `Finished`. Each network's result
/// depends only on its config, so the rows do not depend on the thread count or scheduling.
fn run_study(
    cfg: &ValidOrderingStudyConfig,
    run: RunId,
    sink: &mut dyn EventSink,
    control: &mut dyn RunControl,
) -> Outcome {
    let tasks = cfg.tasks();
    let total = tasks.len();
    let spec = super::pool::StudySpec {
        run,
        config: RunConfig::OrderingStudy(crate::config::OrderingStudyConfig::clone(cfg)),
        steps_per_epoch: cfg.base.steps_per_epoch(),
        threads: study_threads(cfg.threads, total),
        thread_name: "ordering-study",
        kind: "study",
        units: "networks",
        device: Ok(crate::config::device::Choice::cpu_only()),
    };
    super::pool::study(
        spec,
        &tasks,
        sink,
        control,
        |cfg, stop, _report| train_one(cfg, stop),
        |cfg| describe(cfg),
        |row, done| {
            Some(LabEvent::Ordering(OrderingEvent::StudyPoint {
                row: Box::new(row),
                done,
                total,
            }))
        },
    )
}

/// One network of a study in words, for messages.
pub fn describe(c: &OrderingConfig) -> String {
    let scheme = c.pruning.scheme();
    let pruning = match scheme {
        Scheme::None => "unpruned".to_string(),
        Scheme::Random
        | Scheme::TopK
        | Scheme::DynamicTopK
        | Scheme::TriuDamp
        | Scheme::DynamicTriuDamp => {
            format!("{scheme} at nominal sparsity {}", c.pruning.sparsity())
        }
    };
    format!(
        "{} H = {}, its = {}, {pruning}, seed {}",
        c.task, c.hidden, c.its, c.seed
    )
}

/// Sort rows into the study's setting order (scheme, sparsity, hidden, its, seed), e.g. to compare two
/// studies whose rows arrived in different orders.
pub fn sort_rows(rows: &mut [StudyRow]) {
    rows.sort_by(|a, b| {
        a.scheme
            .cmp(&b.scheme)
            .then(a.sparsity.total_cmp(&b.sparsity))
            .then((a.hidden, a.its, a.seed).cmp(&(b.hidden, b.its, b.seed)))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ordering::{sine_preset, xor_preset};

    fn valid(c: OrderingConfig) -> ValidOrderingConfig {
        ValidOrderingConfig::try_from(c).unwrap()
    }

    fn row(scheme: Scheme, sparsity: f64, hidden: usize, d: f64) -> StudyRow {
        StudyRow {
            scheme,
            param: sparsity,
            sparsity,
            hidden,
            its: 3,
            seed: 0,
            d,
            method: OrderMethod::Exact,
            final_loss: 0.1,
            d_null: None,
        }
    }

    #[test]
    fn aggregate_by_hand() {
        let rows = [
            row(Scheme::Random, 0.5, 8, 0.7),
            row(Scheme::None, 0.0, 8, 0.6),
            row(Scheme::Random, 0.5, 8, 0.9),
            row(Scheme::Random, 0.1, 8, 0.65),
            row(Scheme::Random, 0.5, 8, 0.8),
        ];
        // the one study aggregate (the store's), as the CLI, the window and the figures use it
        let a = crate::store::ordering::aggregate(&rows);
        // sorted: none, random 0.1, random 0.5; the last has mean (0.7 + 0.9 + 0.8) / 3 = 0.8
        assert_eq!(a.len(), 3);
        assert_eq!((a[0].setting.scheme, a[0].runs), (Scheme::None, 1));
        assert_eq!((a[1].setting.sparsity, a[1].runs), (0.1, 1));
        assert_eq!((a[2].runs, a[2].min, a[2].max), (3, 0.7, 0.9));
        assert!((a[2].mean - 0.8).abs() < 1e-12);
        assert!((a[2].mean_loss - 0.1).abs() < 1e-12);
    }

    #[test]
    fn trainer_counts_steps_and_epochs() {
        // sine: 150 examples in batches of 10 -> 15 steps an epoch
        let mut c = sine_preset();
        c.epochs = 2;
        let mut t = OrderingTrainer::new(&valid(c));
        let mut ends = vec![];
        while !t.finished() {
            if t.step().unwrap().epoch_mse.is_some() {
                ends.push(t.steps());
            }
        }
        assert_eq!(ends, [15, 30]);
        assert_eq!(t.param_count(), 9 * 11 + 9);
    }

    #[test]
    fn weight_decay_is_refused_and_lr_applied() {
        let mut t = OrderingTrainer::new(&valid(xor_preset()));
        assert!(t.apply_change(HyperChange::WeightDecay(0.1)).is_err());
        t.apply_change(HyperChange::Lr(0.5)).unwrap();
        assert_eq!(t.config().lr, 0.5);
        assert!(t.apply_change(HyperChange::Lr(-1.0)).is_err());
    }

    #[test]
    fn divergence_names_the_step() {
        let mut t = OrderingTrainer::new(&valid(xor_preset()));
        t.step().unwrap();
        t.layer.w[0] = f32::NAN;
        let e = t.step().unwrap_err().to_string();
        assert!(e.contains("step 2"), "{e}");
    }
}
