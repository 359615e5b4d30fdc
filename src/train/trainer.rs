//! The trainer stepper: the caller drives it one optimiser step at a time (GUI, CLI and tests alike).

use crate::analysis::events::GrokDetector;
use crate::analysis::fourier;
use crate::config::{GrokkingConfig, ValidGrokkingConfig};
use crate::data::modular::{self, Examples, ModularSplit};
use crate::model::{self, BatchStats, Model, ModelError};
use crate::optim::{AdamW, AdamWParams, warmup_lr};
use crate::protocol::{GrokEvent, HyperChange, Metric, MetricRow};
use crate::rng::{self, Rng, Stream};
use crate::train::checkpoint::{CheckpointError, RngState, Scalars, TrainerState};

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

/// A grokking run in progress: data, model, optimiser and the position within the epoch.
pub struct Trainer {
    cfg: ValidGrokkingConfig,
    data: ModularSplit,
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
        let data = modular::split(cfg.op, cfg.p, cfg.train_fraction, cfg.seed);
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
        Ok(TrainerState {
            config: self.cfg.clone(),
            scalars: Scalars {
                step: self.step,
                epoch: self.epoch,
                base_lr: self.base_lr,
                detector: self.detector.clone(),
                adam_t: self.opt.t,
                adam: self.opt.params,
                batch_rng: RngState::of(&self.batch_rng),
                dropout_rng: RngState::of(&self.dropout_rng),
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
        let stats = self
            .model
            .forward_backward(&xs, &ys, &mut self.dropout_rng)?;
        self.bx = xs;
        self.by = ys;
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
            let tr = eval(self.model.as_mut(), &self.data.train)?;
            let va = eval(self.model.as_mut(), &self.data.val)?;
            values.extend([
                (Metric::TrainAccEval, tr.accuracy()),
                (Metric::TrainLossEval, tr.mean_loss()),
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
