//! The typed messages between the UI (or CLI) and the worker thread.
//!
//! Matches on these enums never use `_ =>`: a new variant must be handled everywhere.

use crate::config::device::Choice;
use crate::config::ordering::Scheme;
use crate::config::{GrokkingConfig, Operation, RunConfig, ValidRunConfig};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Identifies one run started by one `Command::Start`.
pub type RunId = u64;

/// A quantity logged over training.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Mean cross-entropy over the epoch's minibatches, training mode (dropout on).
    TrainLoss,
    /// Running accuracy over the epoch's minibatches, training mode (the paper's train accuracy).
    TrainAcc,
    /// Accuracy on the whole training set in eval mode.
    TrainAccEval,
    /// Cross-entropy on the whole training set in eval mode.
    TrainLossEval,
    /// Accuracy on the validation set, eval mode.
    ValAcc,
    /// Cross-entropy on the validation set, eval mode.
    ValLoss,
    /// Sum of squared parameters.
    WeightNorm,
    /// Learning rate in force (after warm-up).
    Lr,
    /// Weight decay in force.
    WeightDecay,
    /// Gini coefficient of the embedding's Fourier norms (a grokking progress measure).
    FourierGini,
    /// Inverse participation ratio of the embedding's Fourier norms.
    FourierIpr,
    /// Validation loss with the hidden layer restricted to its key-frequency part (spec section 4; from
    /// the insight snapshots, not a column of metrics.csv).
    RestrictedLoss,
    /// Training loss with the hidden layer's key-frequency part removed (spec section 4; from the
    /// insight snapshots).
    ExcludedLoss,
    /// The restricted loss with the final model's key frequencies at every step (as Nanda et al. fix
    /// them; computed once the run has ended, from its kept weights).
    RestrictedLossFinal,
    /// The excluded loss with the final model's key frequencies.
    ExcludedLossFinal,
    /// Mean squared error over the epoch (Ordering lab).
    Mse,
    /// Orderedness D of the complete layer (Ordering lab).
    Orderedness,
    /// Measured sparsity: the fraction of the complete layer's weights that are zero (Ordering lab;
    /// not the setting's nominal sparsity p, 1 - k or f, [`StudyRow::sparsity`]).
    Sparsity,
    /// D of the same weights shuffled to random places: the orderedness sparsity alone gives
    /// (Ordering lab; [`crate::analysis::orderedness::shuffled_null`]).
    OrderednessNull,
}

impl Metric {
    pub const ALL: [Metric; 19] = [
        Metric::TrainLoss,
        Metric::TrainAcc,
        Metric::TrainAccEval,
        Metric::TrainLossEval,
        Metric::ValAcc,
        Metric::ValLoss,
        Metric::WeightNorm,
        Metric::Lr,
        Metric::WeightDecay,
        Metric::FourierGini,
        Metric::FourierIpr,
        Metric::RestrictedLoss,
        Metric::ExcludedLoss,
        Metric::RestrictedLossFinal,
        Metric::ExcludedLossFinal,
        Metric::Mse,
        Metric::Orderedness,
        Metric::Sparsity,
        Metric::OrderednessNull,
    ];

    /// The Grokking lab's metrics (the columns of its metrics.csv).
    pub const GROKKING: [Metric; 11] = [
        Metric::TrainLoss,
        Metric::TrainAcc,
        Metric::TrainAccEval,
        Metric::TrainLossEval,
        Metric::ValAcc,
        Metric::ValLoss,
        Metric::WeightNorm,
        Metric::Lr,
        Metric::WeightDecay,
        Metric::FourierGini,
        Metric::FourierIpr,
    ];

    /// Whether a run logs it in its metric rows (metrics.csv); the restricted and excluded loss are
    /// measures of the insight snapshots, kept beside the rows, never in them.
    pub fn logged(self) -> bool {
        !matches!(
            self,
            Metric::RestrictedLoss
                | Metric::ExcludedLoss
                | Metric::RestrictedLossFinal
                | Metric::ExcludedLossFinal
        )
    }

    /// The values it can take, as (low, high) with both ends included: a fraction (accuracy, Gini,
    /// inverse participation ratio, D, sparsity) lies in 0..1, everything else (losses, norms, the
    /// learning rate and weight decay) is at least 0. Never a value that is not finite: a run ends
    /// failed at one (its trainer refuses it), so one in a file is damage.
    pub fn range(self) -> (f64, f64) {
        match self {
            Metric::TrainAcc
            | Metric::TrainAccEval
            | Metric::ValAcc
            | Metric::FourierGini
            | Metric::FourierIpr
            | Metric::Orderedness
            | Metric::Sparsity
            | Metric::OrderednessNull => (0.0, 1.0),
            _ => (0.0, f64::MAX),
        }
    }

    /// Whether `v` is a value it can take ([`Metric::range`]).
    pub fn admits(self, v: f64) -> bool {
        let (lo, hi) = self.range();
        v.is_finite() && (lo..=hi).contains(&v)
    }

    /// The metric of a CSV column name: its [`Metric::key`], or the name it had before
    /// (`sparsity`, the measured sparsity's until it was told apart from the nominal one).
    pub fn from_key(key: &str) -> Option<Metric> {
        match key {
            "sparsity" => Some(Metric::Sparsity),
            _ => Metric::ALL.into_iter().find(|m| m.key() == key),
        }
    }

    /// Column name in CSV files.
    pub fn key(self) -> &'static str {
        match self {
            Metric::TrainLoss => "train_loss",
            Metric::TrainAcc => "train_acc",
            Metric::TrainAccEval => "train_acc_eval",
            Metric::TrainLossEval => "train_loss_eval",
            Metric::ValAcc => "val_acc",
            Metric::ValLoss => "val_loss",
            Metric::WeightNorm => "weight_norm",
            Metric::Lr => "lr",
            Metric::WeightDecay => "weight_decay",
            Metric::FourierGini => "fourier_gini",
            Metric::FourierIpr => "fourier_ipr",
            Metric::RestrictedLoss => "restricted_loss",
            Metric::ExcludedLoss => "excluded_loss",
            Metric::RestrictedLossFinal => "restricted_loss_final_keys",
            Metric::ExcludedLossFinal => "excluded_loss_final_keys",
            Metric::Mse => "mse",
            Metric::Orderedness => "d",
            Metric::Sparsity => "measured_sparsity",
            Metric::OrderednessNull => "d_shuffled",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Metric::TrainLoss => "train loss",
            Metric::TrainAcc => "train accuracy",
            Metric::TrainAccEval => "train accuracy (eval)",
            Metric::TrainLossEval => "train loss (eval)",
            Metric::ValAcc => "validation accuracy",
            Metric::ValLoss => "validation loss",
            Metric::WeightNorm => "squared weight norm (Σw²)",
            Metric::Lr => "learning rate",
            Metric::WeightDecay => "weight decay",
            Metric::FourierGini => "Fourier Gini",
            Metric::FourierIpr => "Fourier IPR",
            Metric::RestrictedLoss => "restricted loss",
            Metric::ExcludedLoss => "excluded loss",
            Metric::RestrictedLossFinal => "restricted loss (final keys)",
            Metric::ExcludedLossFinal => "excluded loss (final keys)",
            Metric::Mse => "MSE",
            Metric::Orderedness => "orderedness D",
            Metric::Sparsity => "measured sparsity",
            Metric::OrderednessNull => "D, weights shuffled",
        })
    }
}

/// The metrics logged at one point of a run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct MetricRow {
    /// Optimiser steps taken so far.
    pub step: u64,
    /// Epochs completed so far.
    pub epoch: u64,
    pub values: Vec<(Metric, f64)>,
}

impl MetricRow {
    pub fn get(&self, m: Metric) -> Option<f64> {
        self.values.iter().find(|(k, _)| *k == m).map(|(_, v)| *v)
    }
}

/// A hyper-parameter that can change while a run trains.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(rename_all = "snake_case", tag = "param", content = "value")]
pub enum HyperChange {
    /// New base learning rate.
    Lr(f64),
    /// New weight decay.
    WeightDecay(f64),
}

impl HyperChange {
    /// Refuse values the optimiser cannot use, naming the field.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            HyperChange::Lr(v) if !(v.is_finite() && v > 0.0 && v <= 10.0) => Err(format!(
                "optim.lr: {v} is outside the allowed range (0, 10]"
            )),
            HyperChange::WeightDecay(v) if !(v.is_finite() && (0.0..=100.0).contains(&v)) => Err(
                format!("optim.weight_decay: {v} is outside the allowed range [0, 100]"),
            ),
            HyperChange::Lr(_) | HyperChange::WeightDecay(_) => Ok(()),
        }
    }
}

impl fmt::Display for HyperChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HyperChange::Lr(v) => write!(f, "lr → {v:e}"),
            HyperChange::WeightDecay(v) => write!(f, "wd → {v}"),
        }
    }
}

/// A milestone of a grokking run (detected by [`crate::analysis::events::GrokDetector`]).
pub use crate::analysis::events::GrokEvent;

/// How a run ended.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// Reached the epoch cap or the early-stop condition.
    Completed,
    /// Stopped by the user.
    Stopped,
    /// Ended by an error (NaN loss, a panic, a bad config); the message says which.
    Failed { message: String },
}

/// The numbers a finished run reports (`summary.json`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Summary {
    pub param_count: u64,
    pub steps: u64,
    pub epochs: u64,
    pub t_train_epoch: Option<u64>,
    pub t_val_epoch: Option<u64>,
    pub delay_epochs: Option<u64>,
    pub final_train_acc: Option<f64>,
    pub final_val_acc: Option<f64>,
    pub wall_secs: f64,
}

impl Summary {
    /// The delay in words, measured to validation ≥ 98 % (not the 99 % of "generalised"); a run that
    /// memorised and never generalised has the spec's delay, epochs run − t_train, only a lower bound:
    /// "≥ 381 epochs (never generalised)" (`analysis::events::delay_is_lower_bound`, as a Capacity
    /// task's). `None` without a delay.
    pub fn delay_text(&self) -> Option<String> {
        let d = self.delay_epochs?;
        let lower_bound = crate::analysis::events::delay_is_lower_bound(
            self.t_train_epoch,
            self.t_val_epoch,
            self.delay_epochs,
            self.epochs,
        );
        Some(if lower_bound {
            format!("≥ {d} epochs (never generalised)")
        } else {
            format!("{d} epochs (to validation ≥ 98 %)")
        })
    }
}

/// How the best ordering was found (exact DP or heuristic).
pub use crate::analysis::orderedness::Method as OrderMethod;

/// The complete layer at one step: W (rows = receivers: outputs then hidden; columns = senders: the same
/// neurons, then the inputs), which entries are pruned, and the best ordering of the square block.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LayerSnapshot {
    pub step: u64,
    pub epoch: u64,
    pub inputs: usize,
    pub hidden: usize,
    pub outputs: usize,
    /// Row-major, (hidden + outputs) x (hidden + outputs + inputs).
    pub weights: Vec<f32>,
    /// Same shape: true where pruning holds the weight at zero.
    pub pruned: Vec<bool>,
    /// Neuron indices (into the square block) first to last.
    pub order: Vec<usize>,
    pub d: f64,
    pub method: OrderMethod,
    /// Measured sparsity: the fraction of W that is zero.
    pub sparsity: f64,
}

/// One finished run of a study (a row of `study.csv`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct StudyRow {
    pub scheme: Scheme,
    /// The scheme's parameter (p, k or f; 0 for none).
    pub param: f64,
    /// The setting's nominal sparsity (p, 1 - k or f; triu-damp's f damps, zeroing only at 1), the
    /// `nominal_sparsity` column of `study.csv` (`sparsity` before it was named so).
    #[serde(rename = "nominal_sparsity", alias = "sparsity")]
    pub sparsity: f64,
    pub hidden: usize,
    pub its: usize,
    pub seed: u64,
    pub d: f64,
    pub method: OrderMethod,
    pub final_loss: f64,
    /// Mean D of the final weights shuffled to random places (the sparsity's own orderedness);
    /// `None` beyond [`crate::analysis::orderedness::NULL_MAX_N`] neurons and in a `study.csv`
    /// written before the column.
    #[serde(default, rename = "d_shuffled")]
    pub d_null: Option<f64>,
}

/// Where a run recorded in memory is saved, and how.
#[derive(Clone, Debug, PartialEq)]
pub struct SaveTo {
    /// The run folder (created if missing; refused if it holds another run).
    pub dir: std::path::PathBuf,
    /// Also write TensorBoard event files into its `tensorboard/` from now on.
    pub tensorboard: bool,
    /// A fork's parent was copied into this folder first (it lay in the temporary folder): the
    /// saved run.json names the copy.
    pub parent: Option<std::path::PathBuf>,
}

/// Where a continued run comes from and where it goes.
#[derive(Clone, Debug, PartialEq)]
pub struct ContinueSpec {
    /// The run folder holding the checkpoint.
    pub from: std::path::PathBuf,
    /// The checkpoint's step; `None`: the newest usable one.
    pub step: Option<u64>,
    /// `None`: resume the run itself (in its folder). `Some`: fork it.
    pub fork: Option<ForkSpec>,
}

/// A fork: the checkpoint's config with changes, recorded as a new run whose parent is the source.
#[derive(Clone, Debug, PartialEq)]
pub struct ForkSpec {
    /// The fork's config: the checkpoint's config in force with the wanted changes.
    pub config: GrokkingConfig,
    /// The fork's own run folder (`None`: in memory until saved).
    pub out: Option<std::path::PathBuf>,
}

/// UI (or CLI) -> worker.
#[derive(Clone, Debug)]
pub enum Command {
    /// Stop any run in progress and start this one.
    Start(Box<ValidRunConfig>),
    /// Hold the run between two optimiser steps.
    Pause,
    /// Continue a paused run.
    Resume,
    /// Take one optimiser step, then pause again.
    Step,
    /// End the run (it reports `Outcome::Stopped`).
    Stop,
    /// Limit the training speed (steps per second); `None` runs flat out.
    SetSpeed(Option<f64>),
    /// Hold the run by itself at this point, before its next step (`None`: no longer): a lesson's
    /// `run_until` followed by `pause` stops there, not a frame or two of steps later.
    PauseAt(Option<PausePoint>),
    /// Change a hyper-parameter of the running run; recorded as a marker.
    Change(HyperChange),
    /// How often Grokking runs checkpoint (where a fork can start), from now on: the running run's
    /// next periodic checkpoint and every later run's (the window's Runs panel setting).
    SetCheckpoints(crate::config::checkpoints::CheckpointEvery),
    /// Stop any run in progress and resume or fork a saved Grokking run (answered like `Start`);
    /// with `tensorboard` its folder also gets TensorBoard event files.
    Continue {
        spec: Box<ContinueSpec>,
        tensorboard: bool,
    },
    /// Record the running (or else the last) Grokking run in this folder from now on; `Saved` answers.
    SaveRun(SaveTo),
    /// Stop any run in progress and start this Capacity sweep (answered like `Start`), writing its
    /// folder `dir` as `grokscope sweep --out` does: `sweep.toml` first, then each task's result file
    /// as it finishes. A folder that cannot be made is said in a `Note` after `Started`, and the
    /// sweep runs without it.
    StartSweepInto {
        config: Box<crate::config::ValidCapacitySweepConfig>,
        dir: std::path::PathBuf,
    },
    /// Stop everything and end the worker thread.
    Shutdown,
}

/// Where a run holds itself ([`Command::PauseAt`]): where the window would see the lesson's event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PausePoint {
    /// Once the run has reported a step at or past this one (a metrics row or a snapshot; a run
    /// that logs at epoch ends holds at the first epoch end from here).
    Step(u64),
    /// Once the run has reported this milestone (Grokking runs).
    Event(crate::analysis::events::GrokEvent),
}

/// A lab's own payload: everything a run sends besides its lifecycle (started, metrics, progress,
/// changes, pauses, refusals, saves, finished), which [`Event`] carries for every lab alike.
#[derive(Clone, Debug)]
pub enum LabEvent {
    /// The Grokking lab's.
    Grokking(GrokkingEvent),
    /// The Ordering lab's.
    Ordering(OrderingEvent),
    /// The Capacity lab's.
    Capacity(CapacityEvent),
}

/// What a grokking run sends besides its lifecycle.
#[derive(Clone, Debug)]
pub enum GrokkingEvent {
    /// A grokking milestone was detected at this epoch.
    Detected {
        event: GrokEvent,
        step: u64,
        epoch: u64,
    },
    /// What the network has learned at one step (the insight views' input), on the runner's schedule.
    Insight(Box<InsightSnapshot>),
    /// The run takes no (more) insight snapshots, and why: they would not fit the memory limit, or
    /// computing one failed.
    InsightOff { why: String },
    /// The restricted and excluded loss at a kept step with the final model's key frequencies
    /// (`ablation.keys`), sent after the run once its views are filled in.
    FinalKeys {
        step: u64,
        epoch: u64,
        ablation: crate::analysis::ablation::AblationLosses,
    },
    /// One run of a phase study finished and was classified (`done` of `total` in this session).
    PhaseTask {
        result: Box<crate::analysis::phase::PhaseRun>,
        done: usize,
        total: usize,
    },
}

/// The Grokking lab's insight measures at one step (spec section 4), computed on the worker from the
/// weights alone (so a checkpoint gives the same values as the live run): the views draw from these
/// plain numbers, never from tensors.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct InsightSnapshot {
    pub step: u64,
    pub epoch: u64,
    pub op: Operation,
    pub p: usize,
    /// Embedding width.
    pub e: usize,
    /// The residues' embedding `[p, e]`, row a.
    pub embed: Vec<f32>,
    /// Fourier norm per frequency 1..=n/2 of the embedding over the operation's cycle (index k - 1).
    pub spectrum: Vec<f64>,
    /// Key frequencies (1-based, strongest first) used by the clock and the ablation.
    pub keys: Vec<usize>,
    /// The model's answer (arg-max logit) for every pair, row a * p + b.
    pub predictions: Vec<u32>,
    /// MLP only: hidden neurons x frequencies, `[h, n/2]`, each neuron's input-weight share per frequency.
    pub neurons: Option<NeuronShares>,
    /// Restricted and excluded loss with `keys`; `None` when the model exposes no hidden layer.
    pub ablation: Option<crate::analysis::ablation::AblationLosses>,
}

/// A neurons x frequencies table of shares (rows sum to at most 1).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct NeuronShares {
    pub neurons: usize,
    pub frequencies: usize,
    /// Row-major `[neurons, frequencies]`.
    pub share: Vec<f32>,
}

impl InsightSnapshot {
    /// Bytes this snapshot holds (for the memory cap of a long run's kept snapshots).
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.embed.len() * 4
            + self.spectrum.len() * 8
            + self.keys.len() * 8
            + self.predictions.len() * 4
            + self.neurons.as_ref().map_or(0, |n| n.share.len() * 4)
            + 64
    }
}

/// What an Ordering run or study sends besides its lifecycle.
#[derive(Clone, Debug)]
pub enum OrderingEvent {
    /// The complete layer's weights and their best ordering, throttled by the runner.
    Snapshot(Box<LayerSnapshot>),
    /// One run of a study finished (`done` of `total`).
    StudyPoint {
        row: Box<StudyRow>,
        done: usize,
        total: usize,
    },
}

/// What a Capacity sweep sends besides its lifecycle.
#[derive(Clone, Debug)]
pub enum CapacityEvent {
    /// One task of the sweep finished (`done` of `total`).
    SweepResult {
        result: Box<crate::analysis::capacity_study::TaskResult>,
        done: usize,
        total: usize,
    },
    /// A running task's newest curve points of one of its runs, oldest first (batched by the task's
    /// thread; a run's last point always comes, before the task's `SweepResult`).
    TaskProgress {
        task: crate::config::capacity::Task,
        run: TaskRun,
        points: Vec<TaskPoint>,
    },
    /// A task's capacity runs moved on (after its T_gen and T_mem runs): sent as each set begins, at
    /// most every `PROGRESS_EVERY` while it trains, and as it ends.
    CapacityRun(CapacityRuns),
}

/// Where a task's capacity runs are: set `set` (from 0) of `sets` is training, `n` random labels,
/// `epoch` epochs in of at most `max_epochs`; `finished` holds the sets done so far, in order
/// (`finished.len() == set + 1`: this set has just ended).
#[derive(Clone, Debug, PartialEq)]
pub struct CapacityRuns {
    pub task: crate::config::capacity::Task,
    pub set: usize,
    pub sets: usize,
    pub n: usize,
    pub epoch: u64,
    pub max_epochs: u64,
    pub finished: Vec<crate::analysis::capacity_study::CapacityPoint>,
}

impl CapacityRuns {
    /// "set 2 of 5 (n = 400, epoch 120 of at most 2000); bits so far: 97.3 (n = 25), 190.1 (n = 100)",
    /// or, once the last set has ended, "5 of 5 sets done; bits so far: …".
    pub fn text(&self) -> String {
        let bits: Vec<String> = self
            .finished
            .iter()
            .map(|p| format!("{:.1} (n = {})", p.bits, p.n))
            .collect();
        let bits = if bits.is_empty() {
            String::new()
        } else {
            format!("; bits so far: {}", bits.join(", "))
        };
        if self.finished.len() > self.set {
            return format!("{} of {} sets done{bits}", self.finished.len(), self.sets);
        }
        format!(
            "set {} of {} (n = {}, epoch {} of at most {}){bits}",
            self.set + 1,
            self.sets,
            self.n,
            self.epoch,
            self.max_epochs
        )
    }
}

/// Which training of a Capacity task a curve follows.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum TaskRun {
    /// The modular task (train and validation accuracy; gives T_gen).
    Gen,
    /// Random labels (train accuracy; gives T_mem).
    Mem,
}

impl fmt::Display for TaskRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskRun::Gen => "gen",
            TaskRun::Mem => "mem",
        })
    }
}

/// One evaluated point of a running Capacity task's curve.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub struct TaskPoint {
    /// Optimiser steps taken so far in this run.
    pub step: u64,
    /// Epochs completed so far in this run.
    pub epoch: u64,
    /// Running training accuracy of the epoch (training mode).
    pub train_acc: f64,
    /// Validation accuracy (eval mode); `None` on random labels and between evaluations.
    pub val_acc: Option<f64>,
}

impl Event {
    /// A grokking milestone of `run`.
    pub fn detected(run: RunId, event: GrokEvent, step: u64, epoch: u64) -> Self {
        Event::Lab {
            run,
            payload: LabEvent::Grokking(GrokkingEvent::Detected { event, step, epoch }),
        }
    }
}

/// Worker -> UI (or CLI).
#[derive(Clone, Debug)]
pub enum Event {
    /// A run began with this config; `param_count` is the model's, `device` where it trains and why
    /// (`None` only for a study that ends at once because its device cannot be used).
    Started {
        run: RunId,
        config: Box<RunConfig>,
        param_count: u64,
        steps_per_epoch: u64,
        device: Option<Choice>,
    },
    /// A batch of metric rows, oldest first.
    Metrics { run: RunId, rows: Vec<MetricRow> },
    /// Optimiser steps and epochs completed so far (coalesced: only the latest is delivered).
    Progress { run: RunId, step: u64, epoch: u64 },
    /// What only one lab's runs send (a sink that ignores a lab handles it in one arm).
    Lab { run: RunId, payload: LabEvent },
    /// A hyper-parameter change took effect before this step.
    Changed {
        run: RunId,
        change: HyperChange,
        step: u64,
        epoch: u64,
    },
    /// The run is now paused (true) or running (false).
    Paused { run: RunId, paused: bool },
    /// A command was refused (bad value, nothing running); the message says why.
    Refused { message: String },
    /// Something to know about a run that goes on (checkpoints skipped on the way to it, its insight
    /// views off or stopped, its saving failed): said after its `Started`, never a refusal.
    Note { run: RunId, message: String },
    /// The run is recorded in this folder from now on (after `SaveRun`, or continued in a folder).
    Saved { run: RunId, dir: std::path::PathBuf },
    /// The run ended; exactly one per `Started`.
    Finished {
        run: RunId,
        outcome: Outcome,
        summary: Option<Summary>,
    },
}
