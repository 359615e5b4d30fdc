//! The trainer stepper: the caller drives it one optimiser step at a time (GUI, CLI and tests alike).

use crate::analysis::events::GrokDetector;
use crate::analysis::fourier;
use crate::config::{GrokkingConfig, ValidGrokkingConfig};
use crate::data::modular::{self, Examples, ModularSplit};
use crate::model::{self, BatchStats, EvalCopy, Model, ModelError};
use crate::optim::{AdamW, AdamWParams, warmup_lr};
use crate::perf;
use crate::protocol::{GrokEvent, HyperChange, Metric, MetricRow};
use crate::rng::{self, Rng, Stream};
use crate::train::checkpoint::{CheckpointError, RngState, Scalars, TrainerState};
use std::sync::Arc;
use std::time::Instant;

/// Why training could not go on.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    // transparent: the model's own words, once (a message with {0} and a #[from] source prints them
    // twice in an error chain)
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("{metric} became {value} at step {step} (epoch {epoch}); try a smaller learning rate")]
    NonFinite {
        metric: Metric,
        value: f64,
        step: u64,
        epoch: u64,
    },
}

/// What one call of [`Trainer::step`] produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepReport {
    /// The epoch's metrics, when this step completed an epoch.
    pub row: Option<MetricRow>,
    /// Grokking milestones reached at this epoch end.
    pub events: Vec<GrokEvent>,
}

/// The next epoch's first forward and backward pass, taken at an epoch's end while a copy of the model
/// evaluated on another core ([`Trainer::evaluate`]): where its batch ends and its statistics (its
/// gradients wait in the model for the step's update), and the generators as they were before it (what a
/// checkpoint taken now saves, so that a resumed run draws the same).
struct Ahead {
    end: usize,
    stats: BatchStats,
    batch_rng: Rng,
    dropout_rng: Rng,
}

/// Which way of evaluating is faster for a run, here or beside the training ([`Trainer::evaluate`]):
/// beside pays when neither the evaluation nor the step uses the machine's cores well by itself, and
/// loses when both do (on a 2-core machine the transformer's evaluation and its step each use both: a
/// d = 32 run of 1000 epochs took 2.5-2.6 s with evaluation here and 3.5 s beside).
/// So the trainer times both ways: the period from an evaluation's start to the next one's, which holds
/// the evaluation and the training after it, with what the evaluation costs that training (a pass taken
/// ahead; caches it emptied). Each way keeps its last three periods; the least of them counts (a pause or
/// the caller's own work lengthens some), the trainer takes the faster way and every [`Self::RETRY`]
/// evaluations times the other again. A run's numbers do not depend on the way.
#[derive(Debug, Default)]
struct EvalClock {
    /// The last evaluation's start, and whether it ran beside.
    last: Option<(Instant, bool)>,
    /// The last three periods of each way, seconds.
    here: [Option<f64>; 3],
    beside: [Option<f64>; 3],
    evaluations: u64,
    /// Tests: always this way.
    #[cfg(test)]
    fixed: Option<bool>,
}

impl EvalClock {
    /// Every this many evaluations the slower way is timed again.
    const RETRY: u64 = 64;

    /// At an evaluation's start (`now`): the last one's period ends; whether to try this one beside.
    fn choose(&mut self, now: Instant) -> bool {
        if let Some((then, beside)) = self.last.take() {
            let times = if beside {
                &mut self.beside
            } else {
                &mut self.here
            };
            *times = [Some((now - then).as_secs_f64()), times[0], times[1]];
        }
        self.evaluations += 1;
        #[cfg(test)]
        if let Some(way) = self.fixed {
            return way;
        }
        let count = |t: &[Option<f64>; 3]| t.iter().flatten().count();
        let least = |t: &[Option<f64>; 3]| t.iter().flatten().copied().fold(f64::MAX, f64::min);
        let (here, beside) = (count(&self.here), count(&self.beside));
        // each way twice first, alternating (a way's first evaluation also grows its buffers)
        if here < 2 && here <= beside {
            return false;
        }
        if beside < 2 {
            return true;
        }
        (least(&self.beside) <= least(&self.here)) != self.evaluations.is_multiple_of(Self::RETRY)
    }

    /// The evaluation that started at `start` ran beside (or here).
    fn ran(&mut self, start: Instant, beside: bool) {
        self.last = Some((start, beside));
    }
}

/// A grokking run in progress: data, model, optimiser and the position within the epoch.
pub struct Trainer {
    cfg: ValidGrokkingConfig,
    /// Shared with the thread that evaluates a copy of the model beside the training.
    data: Arc<ModularSplit>,
    model: Box<dyn Model>,
    opt: AdamW,
    batch_rng: Rng,
    dropout_rng: Rng,
    base_lr: f64,
    step: u64,
    epoch: u64,
    /// Training-set order of the current epoch, and how far through it we are.
    order: Vec<usize>,
    pos: usize,
    /// Running (training-mode) loss and accuracy over the current epoch's minibatches.
    running: BatchStats,
    detector: GrokDetector,
    /// Batch buffers reused across steps.
    bx: Vec<[u32; 2]>,
    by: Vec<u32>,
    /// The next step's pass, when it was taken beside the last evaluation.
    ahead: Option<Ahead>,
    /// The model's copy that evaluates on another core, kept for its buffers.
    copy: Option<Box<dyn EvalCopy>>,
    /// Whether an evaluation includes the clean (eval-mode) pass over the training set.
    clean_train_pass: bool,
    clock: EvalClock,
}

impl Trainer {
    /// Split the data and initialise the model, all from the config's seed.
    pub fn new(cfg: &ValidGrokkingConfig) -> Result<Self, TrainError> {
        let mut init_rng = rng::stream(cfg.seed, Stream::Init);
        let model = model::build(&cfg.model, cfg.p, &mut init_rng)?;
        Self::with_model(cfg, model)
    }

    /// Train a model built elsewhere (it must classify (a, b) pairs of `cfg.p` into p classes).
    pub fn with_model(
        cfg: &ValidGrokkingConfig,
        model: Box<dyn Model>,
    ) -> Result<Self, TrainError> {
        let data = Arc::new(modular::split(cfg.op, cfg.p, cfg.train_fraction, cfg.seed));
        let o = &cfg.optim;
        let opt = AdamW::new(AdamWParams::from(o), &model.param_sizes());
        Ok(Trainer {
            cfg: cfg.clone(),
            model,
            opt,
            batch_rng: rng::stream(cfg.seed, Stream::Batches),
            dropout_rng: rng::stream(cfg.seed, Stream::Dropout),
            base_lr: o.lr,
            step: 0,
            epoch: 0,
            order: vec![],
            pos: 0,
            running: BatchStats::default(),
            detector: GrokDetector::default(),
            bx: vec![],
            by: vec![],
            ahead: None,
            copy: None,
            clean_train_pass: true,
            clock: EvalClock::default(),
            data,
        })
    }

    /// Everything needed to continue this run exactly; only at an epoch boundary (after an epoch's last
    /// step), where no minibatch order or running statistic is in flight.
    pub fn state(&self) -> Result<TrainerState, CheckpointError> {
        if self.pos != 0 {
            return Err(CheckpointError::NotNow(format!(
                "a checkpoint is taken at an epoch's end; step {} is inside epoch {}",
                self.step,
                self.epoch + 1
            )));
        }
        let model = self
            .model
            .export()
            .map_err(|e| CheckpointError::Corrupt(e.to_string()))?;
        let (opt_m, opt_v) = self
            .model
            .optimiser_moments(&self.opt)
            .map_err(|e| CheckpointError::Corrupt(e.to_string()))?;
        // the generators before a pass taken ahead: a resumed run takes that pass itself
        let (batch_rng, dropout_rng) = match &self.ahead {
            Some(a) => (&a.batch_rng, &a.dropout_rng),
            None => (&self.batch_rng, &self.dropout_rng),
        };
        Ok(TrainerState {
            config: self.cfg.clone(),
            scalars: Scalars {
                step: self.step,
                epoch: self.epoch,
                base_lr: self.base_lr,
                detector: self.detector.clone(),
                adam_t: self.opt.t,
                adam: self.opt.params,
                batch_rng: RngState::of(batch_rng),
                dropout_rng: RngState::of(dropout_rng),
                names: model.iter().map(|(n, _, _)| n.clone()).collect(),
            },
            model,
            opt_m,
            opt_v,
        })
    }

    /// Continue from a saved state. `state.config` may differ from the saved run's in what does not
    /// change the model's shape (a fork: weight decay, learning rate, train fraction, epoch cap...); the
    /// optimiser then uses the config's hyper-parameters, the data split follows its train fraction.
    pub fn from_state(state: &TrainerState) -> Result<Self, TrainError> {
        let cfg = &state.config;
        let s = &state.scalars;
        let mut init_rng = rng::stream(cfg.seed, Stream::Init);
        let mut model = model::build(&cfg.model, cfg.p, &mut init_rng)?;
        model.import(&state.model)?;
        let mut t = Self::with_model(cfg, model)?;
        let mut opt = state.optimiser();
        opt.params = AdamWParams::from(&cfg.optim);
        let sizes = t.model.param_sizes();
        let got: Vec<usize> = opt.m.iter().map(Vec::len).collect();
        if got != sizes {
            return Err(TrainError::Model(ModelError::Other(format!(
                "the checkpoint's optimiser state has tensors of {got:?} values, the model needs {sizes:?}"
            ))));
        }
        let restore = |r: &RngState| {
            r.restore()
                .map_err(|e| TrainError::Model(ModelError::Other(e.to_string())))
        };
        t.opt = opt;
        t.batch_rng = restore(&s.batch_rng)?;
        t.dropout_rng = restore(&s.dropout_rng)?;
        t.base_lr = cfg.optim.lr;
        t.step = s.step;
        t.epoch = s.epoch;
        t.detector = s.detector.clone();
        Ok(t)
    }

    /// The same run without the clean pass over the training set at each evaluation (its rows then
    /// lack `TrainAccEval` and `TrainLossEval`), for a caller that reads only the running training
    /// statistics and validation (a sweep's T_gen run): about half of each evaluation spared, and the
    /// training itself unchanged.
    pub fn without_clean_train_pass(mut self) -> Self {
        self.clean_train_pass = false;
        self
    }

    pub fn config(&self) -> &GrokkingConfig {
        &self.cfg
    }
    /// The config as checked at the edge.
    pub fn valid_config(&self) -> &ValidGrokkingConfig {
        &self.cfg
    }
    pub fn param_count(&self) -> u64 {
        self.model.param_count()
    }
    pub fn model(&self) -> &dyn Model {
        self.model.as_ref()
    }
    pub fn data(&self) -> &ModularSplit {
        &self.data
    }
    /// Optimiser steps taken.
    pub fn steps(&self) -> u64 {
        self.step
    }
    /// Epochs completed.
    pub fn epochs(&self) -> u64 {
        self.epoch
    }
    pub fn detector(&self) -> &GrokDetector {
        &self.detector
    }
    /// The learning rate the next step will use (base rate under warm-up).
    pub fn current_lr(&self) -> f64 {
        warmup_lr(self.base_lr, self.step + 1, self.cfg.optim.warmup_steps)
    }

    /// The epoch cap is reached, or early stopping applies.
    pub fn finished(&self) -> bool {
        self.epoch >= self.cfg.max_epochs || (self.cfg.early_stop && self.detector.done())
    }

    /// Change a hyper-parameter from the next step on.
    pub fn apply_change(&mut self, change: HyperChange) {
        match change {
            HyperChange::Lr(v) => {
                self.base_lr = v;
                self.cfg.set_lr(v);
            }
            HyperChange::WeightDecay(v) => {
                self.opt.params.weight_decay = v;
                self.cfg.set_weight_decay(v);
            }
        }
    }

    /// One optimiser step on the next minibatch; at an epoch's end, the epoch's metrics.
    pub fn step(&mut self) -> Result<StepReport, TrainError> {
        let n = self.data.train.len();
        if self.pos == 0 {
            self.running = BatchStats::default();
        }
        let (stats, end) = match self.ahead.take() {
            Some(a) => (a.stats, a.end),
            None => self.forward_next()?,
        };
        let loss = stats.mean_loss();
        self.step += 1;
        if !loss.is_finite() {
            return Err(TrainError::NonFinite {
                metric: Metric::TrainLoss,
                value: loss,
                step: self.step,
                epoch: self.epoch,
            });
        }
        self.opt.begin_step(warmup_lr(
            self.base_lr,
            self.step,
            self.cfg.optim.warmup_steps,
        ));
        self.model.apply(&mut self.opt)?;
        self.running.add(stats);
        self.pos = end;
        if self.pos < n {
            return Ok(StepReport::default());
        }
        self.pos = 0;
        self.epoch += 1;
        self.end_of_epoch()
    }

    /// The next minibatch's forward and backward pass (at an epoch's start, the epoch's order first):
    /// its statistics, and where it ends in the order.
    fn forward_next(&mut self) -> Result<(BatchStats, usize), ModelError> {
        let n = self.data.train.len();
        if self.pos == 0 {
            if self.cfg.full_batch {
                // the gradient of the full batch does not depend on the order: skip the shuffle
                if self.order.len() != n {
                    self.order = (0..n).collect();
                }
            } else {
                self.order = rng::permutation(n, &mut self.batch_rng);
            }
        }
        let bs = self.cfg.effective_batch();
        let end = (self.pos + bs).min(n);
        let (xs, ys) = self.batch(self.pos, end);
        let stats = self.model.forward_backward(&xs, &ys, &mut self.dropout_rng);
        self.bx = xs;
        self.by = ys;
        Ok((stats?, end))
    }

    /// Gather the minibatch order[start..end], reusing the buffers.
    fn batch(&mut self, start: usize, end: usize) -> (Vec<[u32; 2]>, Vec<u32>) {
        let mut xs = std::mem::take(&mut self.bx);
        let mut ys = std::mem::take(&mut self.by);
        xs.clear();
        ys.clear();
        let t = &self.data.train;
        for &i in &self.order[start..end] {
            xs.push(t.xs[i]);
            ys.push(t.ys[i]);
        }
        (xs, ys)
    }

    fn end_of_epoch(&mut self) -> Result<StepReport, TrainError> {
        let e = self.epoch;
        let train_acc = self.running.accuracy();
        let mut values = vec![
            (Metric::TrainLoss, self.running.mean_loss()),
            (Metric::TrainAcc, train_acc),
        ];
        let mut events: Vec<GrokEvent> = self
            .detector
            .observe_train(e, train_acc)
            .into_iter()
            .collect();
        let eval_now =
            e.is_multiple_of(self.cfg.eval_every_epochs) || e >= self.cfg.max_epochs || e == 1;
        if eval_now {
            let (tr, va) = self.evaluate()?;
            if let Some(tr) = tr {
                values.extend([
                    (Metric::TrainAccEval, tr.accuracy()),
                    (Metric::TrainLossEval, tr.mean_loss()),
                ]);
            }
            values.extend([
                (Metric::ValAcc, va.accuracy()),
                (Metric::ValLoss, va.mean_loss()),
            ]);
            events.extend(self.detector.observe_val(e, va.accuracy()));
            if let Some(norms) = self.fourier_norms()? {
                values.push((Metric::FourierGini, fourier::gini(&norms)));
                values.push((Metric::FourierIpr, fourier::ipr(&norms)));
            }
        }
        values.extend([
            (Metric::WeightNorm, self.model.weight_norm_sq()?),
            (Metric::Lr, self.opt_lr()),
            (Metric::WeightDecay, self.opt.params.weight_decay),
        ]);
        for &(metric, value) in &values {
            if !value.is_finite() {
                return Err(TrainError::NonFinite {
                    metric,
                    value,
                    step: self.step,
                    epoch: e,
                });
            }
        }
        Ok(StepReport {
            row: Some(MetricRow {
                step: self.step,
                epoch: e,
                values,
            }),
            events,
        })
    }

    /// Eval-mode statistics over the training set (unless the run does without that pass:
    /// [`Trainer::without_clean_train_pass`]) and over the validation set, at the current parameters.
    ///
    /// When the run goes on and another core is free ([`perf::lend_core`]: a machine with two or more,
    /// or a sweep's core whose worker has no task left), a copy of the model may evaluate there
    /// ([`perf::on_two`], with half of this thread's threads) while this thread takes the next step's
    /// forward and backward pass ([`Ahead`]), which only reads the same
    /// parameters. The numbers are those of evaluating first, bit for bit (a test holds it): the
    /// evaluation just leaves the run's critical path.
    fn evaluate(&mut self) -> Result<(Option<BatchStats>, BatchStats), TrainError> {
        let data = Arc::clone(&self.data);
        let train = self.clean_train_pass.then_some(&data.train);
        let goes_on = self.epoch < self.cfg.max_epochs && self.ahead.is_none();
        let start = Instant::now();
        let lent = (self.clock.choose(start) && goes_on)
            .then(perf::lend_core)
            .flatten();
        let copy = match lent {
            Some(_) => self.model.eval_copy(self.copy.take()),
            None => None,
        };
        self.clock.ran(start, copy.is_some());
        let Some(mut copy) = copy else {
            return self.evaluate_here(train, &data.val);
        };
        // a training-set pass that the next step keeps is taken here (it costs nothing extra)
        let reused = train.filter(|t| self.model.evaluation_is_reused(&t.xs, &t.ys));
        let there = train.filter(|_| reused.is_none());
        let (val, lent_copy) = (&data.val, &mut copy);
        // the copy on this thread's helper (half of this thread's threads each; one each on two cores)
        let (here, (there, va)) = perf::on_two(
            || self.evaluate_here_and_step_ahead(reused),
            move || {
                let va = lent_copy.evaluate_copy(&val.xs, &val.ys);
                let tr = there.map(|t| lent_copy.evaluate_copy(&t.xs, &t.ys));
                (tr, va)
            },
        );
        self.copy = Some(copy);
        let tr = match (here?, there) {
            (Some(tr), _) => Some(tr),
            (None, there) => there.transpose()?,
        };
        Ok((tr, va?))
    }

    /// [`Trainer::evaluate`] on this thread alone.
    fn evaluate_here(
        &mut self,
        train: Option<&Examples>,
        val: &Examples,
    ) -> Result<(Option<BatchStats>, BatchStats), TrainError> {
        let tr = train.map(|t| eval(self.model.as_mut(), t)).transpose()?;
        Ok((tr, eval(self.model.as_mut(), val)?))
    }

    /// This thread's part of [`Trainer::evaluate`] beside the helper: the training set's evaluation when
    /// the next pass reuses it (`reused`), then that pass ahead. A pass that fails is not kept (with the
    /// generators as before it, the next step takes it again and reports why).
    fn evaluate_here_and_step_ahead(
        &mut self,
        reused: Option<&Examples>,
    ) -> Result<Option<BatchStats>, TrainError> {
        let tr = reused.map(|t| eval(self.model.as_mut(), t)).transpose()?;
        let (batch_rng, dropout_rng) = (self.batch_rng.clone(), self.dropout_rng.clone());
        match self.forward_next() {
            Ok((stats, end)) => {
                self.ahead = Some(Ahead {
                    end,
                    stats,
                    batch_rng,
                    dropout_rng,
                })
            }
            Err(_) => {
                self.batch_rng = batch_rng;
                self.dropout_rng = dropout_rng;
            }
        }
        Ok(tr)
    }

    /// Fourier norms of the embedding of the numbers 0..p, over a or over its discrete log as the
    /// operation requires (the models call that tensor `embed`).
    pub fn fourier_norms(&self) -> Result<Option<Vec<f64>>, ModelError> {
        let p = self.cfg.p as usize;
        let found = self
            .model
            .export()?
            .into_iter()
            .find(|(name, shape, _)| name == "embed" && shape.len() == 2 && shape[0] >= p);
        Ok(found.map(|(_, shape, values)| fourier::spectrum(self.cfg.op, &values, p, shape[1])))
    }

    /// The learning rate of the step just taken.
    fn opt_lr(&self) -> f64 {
        warmup_lr(self.base_lr, self.step, self.cfg.optim.warmup_steps)
    }
}

/// Eval-mode statistics over a whole set.
fn eval(model: &mut dyn Model, ex: &Examples) -> Result<BatchStats, ModelError> {
    model.evaluate(&ex.xs, &ex.ys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ModelConfig, preset};

    /// The paper's transformer narrowed to p = 11, d = 8, with dropout and four minibatches an epoch.
    fn transformer_run() -> ValidGrokkingConfig {
        let mut c = preset("paper-transformer-cpu").unwrap().config;
        c.p = 11;
        c.train_fraction = 0.5;
        c.batch_size = 16;
        c.max_epochs = 6;
        c.eval_every_epochs = 1;
        c.early_stop = false;
        if let ModelConfig::Transformer(t) = &mut c.model {
            t.d_model = 8;
        }
        c.try_into().unwrap()
    }

    /// The fast MLP in full batch (its next step reuses the training set's evaluation), p = 11.
    fn mlp_run() -> ValidGrokkingConfig {
        let mut c = preset("fast-mlp").unwrap().config;
        c.p = 11;
        c.max_epochs = 6;
        c.eval_every_epochs = 1;
        c.early_stop = false;
        assert!(c.full_batch);
        c.try_into().unwrap()
    }

    /// Every row's numbers as text (`{:?}` of a float gives back its bits), the state at `keep_at`
    /// epochs, and the epoch ends where the next pass was taken ahead, training `cfg` to its end with
    /// this thread's products and loops on `threads` threads (2: a core is lent for the evaluation).
    fn trained(
        cfg: &ValidGrokkingConfig,
        threads: usize,
        keep_at: u64,
    ) -> (Vec<String>, Option<TrainerState>, usize) {
        trained_with(cfg, threads, keep_at, false, false)
    }

    /// [`trained`], `lean`: without the clean pass over the training set; `drop_clean`: the rows with
    /// that pass's metrics dropped.
    fn trained_with(
        cfg: &ValidGrokkingConfig,
        threads: usize,
        keep_at: u64,
        lean: bool,
        drop_clean: bool,
    ) -> (Vec<String>, Option<TrainerState>, usize) {
        perf::set_threads(threads);
        let mut t = Trainer::new(cfg).unwrap();
        t.clock.fixed = Some(true);
        if lean {
            t = t.without_clean_train_pass();
        }
        let (mut rows, mut kept, mut ahead) = (vec![], None, 0);
        while !t.finished() {
            if let Some(mut row) = t.step().unwrap().row {
                let clean = |m: &Metric| matches!(m, Metric::TrainAccEval | Metric::TrainLossEval);
                if drop_clean {
                    row.values.retain(|(m, _)| !clean(m));
                }
                assert_eq!(
                    row.get(Metric::TrainAccEval).is_some(),
                    !lean && !drop_clean
                );
                rows.push(format!("{row:?}"));
                ahead += usize::from(t.ahead.is_some());
                if row.epoch == keep_at {
                    kept = Some(t.state().unwrap());
                }
            }
        }
        perf::set_threads(0);
        (rows, kept, ahead)
    }

    #[test]
    fn evaluating_beside_the_training_changes_no_number() {
        for cfg in [transformer_run(), mlp_run()] {
            let (serial, serial_state, none) = trained(&cfg, 1, 3);
            let (beside, beside_state, ahead) = trained(&cfg, 2, 3);
            assert_eq!(none, 0, "one thread and no group: nothing is lent");
            // every epoch but the last (the run ends there) took its next pass ahead
            assert_eq!(ahead as u64, cfg.max_epochs - 1);
            assert_eq!(serial.len() as u64, cfg.max_epochs);
            assert_eq!(serial, beside);
            // a checkpoint taken with a pass ahead holds the generators from before it
            assert_eq!(serial_state, beside_state);
        }
    }

    #[test]
    fn a_run_resumed_from_a_state_taken_with_a_pass_ahead_goes_on_as_the_uninterrupted_one() {
        for cfg in [transformer_run(), mlp_run()] {
            let (whole, state, _) = trained(&cfg, 2, 3);
            perf::set_threads(2);
            let mut t = Trainer::from_state(&state.unwrap()).unwrap();
            t.clock.fixed = Some(true);
            let mut rest = vec![];
            while !t.finished() {
                if let Some(row) = t.step().unwrap().row {
                    rest.push(format!("{row:?}"));
                }
            }
            perf::set_threads(0);
            assert_eq!(rest, whole[3..]);
        }
    }

    #[test]
    fn a_run_without_the_clean_train_pass_trains_the_same() {
        for cfg in [transformer_run(), mlp_run()] {
            for threads in [1, 2] {
                let (rows, state, _) = trained_with(&cfg, threads, 3, false, true);
                let (lean_rows, lean_state, _) = trained_with(&cfg, threads, 3, true, false);
                // the same rows once the full run's clean-pass metrics are dropped
                assert_eq!(rows, lean_rows);
                assert_eq!(state, lean_state);
            }
        }
    }

    #[test]
    fn the_clock_takes_the_faster_way_and_times_the_other_again() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + std::time::Duration::from_millis(n);
        // evaluations at the times `at` (ms), each run as asked; the ways asked for
        let run = |c: &mut EvalClock, at: &[u64]| -> Vec<bool> {
            at.iter()
                .map(|&t| {
                    let beside = c.choose(ms(t));
                    c.ran(ms(t), beside);
                    beside
                })
                .collect()
        };
        let mut c = EvalClock::default();
        // each way twice, alternating, here first (the first period of each is long: buffers grow)
        assert_eq!(
            run(&mut c, &[0, 40, 90, 100, 107]),
            [false, true, false, true, true]
        );
        // here's least period 10 ms, beside's 7: beside from now on, but for every RETRY-th evaluation
        let mut at = 114;
        let mut ways = vec![];
        while c.evaluations < EvalClock::RETRY {
            let beside = c.choose(ms(at));
            c.ran(ms(at), beside);
            ways.push(beside);
            at += if beside { 7 } else { 10 };
        }
        assert!(ways[..ways.len() - 1].iter().all(|&b| b));
        assert_eq!(
            ways.last(),
            Some(&false),
            "the RETRY-th evaluation times here again"
        );
        // beside slower (20 ms) than here (10 ms): here
        let mut c = EvalClock::default();
        assert_eq!(
            run(&mut c, &[0, 10, 30, 40, 60]),
            [false, true, false, true, false]
        );
        // the least of a way's last three counts: a long period (a pause) does not turn it
        assert_eq!(run(&mut c, &[1000, 1010]), [false, false]);
        // lent no core: the evaluation ran here although beside was asked for
        let mut c = EvalClock::default();
        assert!(!c.choose(ms(0)));
        c.ran(ms(0), false);
        assert!(c.choose(ms(10)));
        c.ran(ms(10), false);
        assert!(c.choose(ms(20)), "beside is still untimed: asked for again");
    }
}
