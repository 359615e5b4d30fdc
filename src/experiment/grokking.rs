//! The Grokking runner: trains one config to its end and reports typed events; optionally records the
//! run in a folder with checkpoints, resumes one, or forks one from a checkpoint.

use super::{EventSink, RunControl};
use crate::analysis::ablation::AblationLosses;
use crate::config::checkpoints::CheckpointEvery;
use crate::config::memory::{Setting, size_text};
use crate::config::{ConfigError, GrokkingConfig, ValidGrokkingConfig};
use crate::protocol::{Event, GrokkingEvent, LabEvent, Metric, Outcome, RunId, Summary};
use crate::store::run_dir::{
    CONFIG_EDITED, CheckpointRef, ParentRef, RunDirError, RunFolder, RunWriter,
};
use crate::train::checkpoint::TrainerState;
use crate::train::insight::{Frames, InsightEvery, Prober, Schedule};
use crate::train::trainer::{TrainError, Trainer};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

/// How a run is recorded and where it ends.
pub struct RunOptions {
    /// Records the run (in memory, and in its folder once it has one). `None`: nothing is kept.
    pub writer: Option<RunWriter>,
    /// End (as `Stopped`, with a checkpoint) after this many epochs, before the config's cap.
    pub stop_at_epoch: Option<u64>,
    /// How often to checkpoint besides the first step, the milestones and the end (a window run's
    /// cadence may change while it trains: [`super::Control::checkpoint_every`]).
    pub checkpoint_every: CheckpointEvery,
    /// Also write TensorBoard event files into the run folder's `tensorboard/` as the run trains
    /// (switches on [`RunWriter::tensorboard`] of `writer`; nothing is written without a writer, or
    /// until an in-memory writer gets a folder).
    pub tensorboard: bool,
    /// When to send the insight views' snapshots ([`GrokkingEvent::Insight`]); off by default.
    pub insight: InsightEvery,
    /// The window's memory limit in bytes: a run whose estimate (as the window runs it, with its
    /// checkpoints held in memory and its insight views: [`crate::config::memory`]) exceeds it is
    /// refused before it trains; one that fits only without its views trains without them, saying so.
    /// `None`: not checked here (the command line checks at its edge).
    pub memory_limit: Option<u64>,
    /// End the run (failed, naming the error) when its folder cannot be written: the command line keeps
    /// nothing else. Otherwise (the window) training goes on in memory, saying so once.
    pub stop_when_unsaved: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            writer: None,
            stop_at_epoch: None,
            checkpoint_every: CheckpointEvery::Tenth,
            tensorboard: false,
            insight: InsightEvery::Off,
            memory_limit: None,
            stop_when_unsaved: false,
        }
    }
}

impl RunOptions {
    /// Record into a new run folder.
    pub fn to_folder(dir: &Path, cfg: &GrokkingConfig) -> Result<Self, RunDirError> {
        Ok(RunOptions {
            writer: Some(RunWriter::create(dir, cfg, None)?),
            ..Default::default()
        })
    }
}

/// Where a run starts.
pub enum Start {
    /// A new run of this config.
    New(ValidGrokkingConfig),
    /// A saved run resumed in its folder or forked from one of its checkpoints (see [`ContinueSpec`]).
    Continue(ContinueSpec),
    /// A trainer the caller built (e.g. around a model of its own).
    Trainer(Box<Trainer>),
}

/// How a run ended, its recorder (so the run can still be saved after it ended), and its views with
/// the frames still to fill in ([`Views::fill_one`]; `None` without views).
pub struct RunEnd {
    pub outcome: Outcome,
    pub writer: Option<RunWriter>,
    pub views: Option<Views>,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A new run's model could not be built.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// The folder or the checkpoint cannot be read, or the new folder cannot be written.
    #[error(transparent)]
    Folder(#[from] RunDirError),
    /// The fork changes what a checkpoint cannot carry over (the model's shape, the task).
    #[error(transparent)]
    Fork(#[from] crate::config::ForkError),
    /// The fork's config is out of range.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The run needs more memory than the limit allows.
    #[error("{0}")]
    Memory(String),
    /// A resume of a run with nothing left to train (it completed, or is stopped no later than its
    /// checkpoint): refused before anything is written, since a resume rewrites the run's summary.
    #[error("{0}")]
    NothingToResume(String),
    /// The checkpoint's state does not make a trainer.
    #[error("checkpoint at step {step}: {error}")]
    Checkpoint {
        step: u64,
        /// (in the message, not a `source`: `{:#}` would print it twice)
        error: TrainError,
    },
}

/// Train from `start` to the end: the one entry of the Grokking lab (the worker, the CLI and the
/// tests call it). Emits `Started`, `Progress`/`Metrics`/`Detected`/`Changed` while training, and exactly
/// one `Finished` (also for a start that is refused, which emits no `Started`). For a new run,
/// `opts.writer` records it; a continued run gets its recorder from its folder (or, for a fork, a new
/// folder or memory).
pub fn run(
    start: Start,
    run: RunId,
    sink: &mut dyn EventSink,
    control: &mut dyn RunControl,
    mut opts: RunOptions,
) -> RunEnd {
    match prepare(start, &mut opts) {
        Ok((trainer, said)) => train(trainer, run, sink, control, opts, said),
        // the one place a refused start is handled: reported as the run's `Finished(Failed)`
        Err(e) => RunEnd {
            outcome: super::refuse(run, sink, e.to_string()),
            writer: None,
            views: None,
        },
    }
}

/// Refuses `cfg` when its run needs more than `opts.memory_limit`; switches the insight views off when
/// only they do not fit, returning the sentence that says so.
fn fit_memory(cfg: &GrokkingConfig, opts: &mut RunOptions) -> Result<Option<String>, StartError> {
    let Some(limit) = opts.memory_limit else {
        return Ok(None);
    };
    let cores = crate::perf::cores();
    let with_views = cfg
        .check_window_memory(limit, cores, opts.checkpoint_every)
        .map_err(StartError::Memory)?;
    if with_views || opts.insight == InsightEvery::Off {
        return Ok(None);
    }
    opts.insight = InsightEvery::Off;
    let est = cfg.memory_estimate_in(Setting::Window(opts.checkpoint_every), cores);
    Ok(Some(format!(
        "the insight views are off for this run: they would need about {} more (they compute \
         over all p^2 pairs at p = {}), over the memory limit of {} ({} raises it)",
        size_text(est.insight),
        cfg.p,
        size_text(limit),
        crate::config::memory::MAX_MEMORY_ENV
    )))
}

/// What a run says once it has started.
#[derive(Default)]
struct Said {
    /// Checkpoints skipped on the way to it, a config edited since.
    notes: Vec<String>,
    /// Why its insight views are off, when only they did not fit the memory limit.
    insight_off: Option<String>,
    /// A run resumed in its folder with views: the weights it saved before its checkpoint, so its
    /// views and its restricted loss with the final keys are filled in from its start, not from
    /// where it was resumed.
    earlier: Option<Frames>,
    /// A fork's changes of learning rate or weight decay, said (and recorded) as changes at its
    /// first step, as a change made there mid-run would be.
    changes: Vec<crate::protocol::HyperChange>,
}

/// The trainer, and what to say once it has started.
fn prepare(start: Start, opts: &mut RunOptions) -> Result<(Trainer, Said), StartError> {
    match start {
        Start::New(cfg) => {
            // checked before anything is allocated
            let insight_off = fit_memory(&cfg, opts)?;
            let said = Said {
                notes: vec![],
                insight_off,
                earlier: None,
                changes: vec![],
            };
            Ok((Trainer::new(&cfg)?, said))
        }
        Start::Continue(spec) => prepare_continue(&spec, opts),
        Start::Trainer(trainer) => Ok((*trainer, Said::default())),
    }
}

/// The trainer of the newest checkpoint of `folder` that loads (checksum, format, values), makes a
/// trainer (shapes that fit its config) and that `metrics.csv` reaches, with that checkpoint, its
/// state, and one sentence for each newer checkpoint skipped (naming the file and why) and the one
/// used instead.
pub fn newest_trainer(
    folder: &RunFolder,
) -> Result<(CheckpointRef, TrainerState, Trainer, Vec<String>), StartError> {
    // a row a trained epoch: continuing from a checkpoint after the last row (a lost flush, a table
    // cut short) would leave the epochs between without rows for good, so they are trained again
    let recorded = folder.rows.last().map_or(0, |r| r.epoch);
    let (ckpt, state, trainer, skipped) = folder.latest_usable(|s| {
        let epoch = s.scalars.epoch;
        if epoch > recorded {
            let table = if folder.rows.is_empty() {
                "metrics.csv has no rows (it is missing, empty or unreadable from its first line)"
                    .to_string()
            } else {
                format!("metrics.csv ends at epoch {recorded}")
            };
            return Err(format!(
                "{table}, before its epoch {epoch}, so the epochs between are trained again"
            ));
        }
        Trainer::from_state(s).map_err(|e| e.to_string())
    })?;
    let mut notes: Vec<String> = skipped
        .into_iter()
        .map(|why| format!("skipped {why}"))
        .collect();
    if !notes.is_empty() {
        notes.push(format!(
            "continuing from the older checkpoint {} (step {}, epoch {})",
            ckpt.path.display(),
            ckpt.step,
            ckpt.epoch
        ));
    }
    Ok((ckpt, state, trainer, notes))
}

pub use crate::protocol::{ContinueSpec, ForkSpec};

fn prepare_continue(
    spec: &ContinueSpec,
    opts: &mut RunOptions,
) -> Result<(Trainer, Said), StartError> {
    let mut folder = RunFolder::open(&spec.from)?;
    let (ckpt, mut state, mut notes) = match spec.step {
        None => {
            // a resume in place is refused before any checkpoint is read, naming the damaged table
            if spec.fork.is_none() && !folder.damaged.is_empty() {
                return Err(RunDirError::Damaged {
                    dir: folder.dir.clone(),
                    problems: folder.damaged.clone(),
                }
                .into());
            }
            let (c, s, _, mut notes) = newest_trainer(&folder)?;
            if let Some(why) =
                nothing_to_resume(&folder, &c, s.config.max_epochs, opts.stop_at_epoch)
            {
                return Err(StartError::NothingToResume(why));
            }
            // the folder records one config and the checkpoint trained another (an edited
            // run.json): a resume would record the one and train the other
            if let Some(recorded) = folder.config_at(c.step) {
                let differ = crate::config::differences(&recorded, &*s.config);
                if !differ.is_empty() {
                    // without events.jsonl a change made mid-run is not known
                    let why = if folder.is_missing("events.jsonl") {
                        " (its events.jsonl, which records changes made mid-run, is missing)"
                    } else if folder.events_empty() {
                        " (its events.jsonl, which records changes made mid-run, is empty)"
                    } else {
                        ""
                    };
                    return Err(RunDirError::NotARun(format!(
                        "{}: its checkpoint at step {} was trained with another config than the \
                         run records ({}){why}; resuming would record the one and train the other, \
                         so nothing was written (fork the checkpoint into a new folder instead)",
                        folder.dir.display(),
                        c.step,
                        differ.join("; ")
                    ))
                    .into());
                }
            }
            // the run goes on with the config it trained with: an edit of config.toml is said
            notes.extend(
                folder
                    .problems
                    .iter()
                    .filter(|p| p.starts_with(CONFIG_EDITED))
                    .map(|p| format!("{}: {p}", folder.dir.display())),
            );
            (c, s, notes)
        }
        Some(step) => {
            let c = folder.checkpoint_at(step)?.clone();
            let s = folder.load(&c)?;
            (c, s, vec![])
        }
    };
    let fork = match &spec.fork {
        None => None,
        Some(fork) => {
            let changes = crate::config::fork_changes(&state.config, &fork.config)?;
            if fork.config.max_epochs <= ckpt.epoch {
                return Err(StartError::NothingToResume(format!(
                    "the fork's max_epochs {} is not past its checkpoint's epoch {}: it would train \
                     nothing, so nothing was written",
                    fork.config.max_epochs, ckpt.epoch
                )));
            }
            // so does a session cap at or before the checkpoint (a fork of 0 epochs was written, and
            // the command succeeded: a helper's audit)
            if let Some(e) = opts.stop_at_epoch
                && e <= ckpt.epoch
            {
                return Err(StartError::NothingToResume(format!(
                    "--max-epochs {e} is not past the fork's checkpoint (epoch {}): it would train \
                     nothing, so nothing was written",
                    ckpt.epoch
                )));
            }
            if let Some(out) = &fork.out
                && crate::store::run_dir::inside(&spec.from, out)
            {
                return Err(RunDirError::NotARun(format!(
                    "{} is inside the run folder {}: a run folder holds one run's files, so the \
                     fork needs a folder outside it; nothing was written",
                    out.display(),
                    spec.from.display()
                ))
                .into());
            }
            // a fork takes the checkpoint alone, but what is wrong with its parent is said (a damaged
            // parent was forked without a word, while `export` named its problems)
            notes.clear();
            if !folder.problems.is_empty() {
                notes.push(format!(
                    "the parent {} has problems (the fork takes only its checkpoint at step {}): {}",
                    folder.dir.display(),
                    ckpt.step,
                    folder.problems.join("; ")
                ));
            }
            // the edge for a fork's config: parsed once, here
            let valid = ValidGrokkingConfig::try_from(fork.config.clone())?;
            let milestones = inherited_milestones(&folder, &state, &ckpt);
            let hyper = hyper_changes(&state.config, &valid);
            state.config = valid;
            let parent = ParentRef {
                dir: spec.from.clone(),
                step: ckpt.step,
                epoch: ckpt.epoch,
                changes,
            };
            Some((fork, parent, milestones, hyper))
        }
    };
    // the config it trains with, before the trainer is built or anything written
    let insight_off = fit_memory(&state.config, opts)?;
    // Everything in the checkpoint is checked before anything is written: a resume rewrites the
    // folder's tables up to the checkpoint, which must not happen for a state that cannot train.
    let trainer = Trainer::from_state(&state).map_err(|source| StartError::Checkpoint {
        step: ckpt.step,
        error: source,
    })?;
    let resumed_in_place = fork.is_none();
    let mut changes = vec![];
    opts.writer = Some(match fork {
        None => {
            let dir = folder.dir.clone();
            notes.extend(refill_missing(&mut folder, &ckpt, &state, &dir));
            // a folder that cannot be written (read-only, a full disk): a new folder can be
            let (writer, resumed) = RunWriter::resume(&folder, &ckpt).map_err(|e| match e {
                RunDirError::Io { .. } => RunDirError::NotARun(format!(
                    "{e}: {} cannot be written, so the run cannot go on in it; `grokscope resume \
                     {} --repair NEW_FOLDER` continues it in a new folder",
                    folder.dir.display(),
                    folder.dir.display()
                )),
                other => other,
            })?;
            let dir = folder.dir.display();
            notes.extend(resumed.partials.iter().map(|p| format!("{dir}: {p}")));
            if !resumed.moved.is_empty() {
                notes.push(format!(
                    "{dir}: the files after step {} were moved into {}/, so that training again \
                     writes over none of them: {}",
                    ckpt.step,
                    crate::store::files::SET_ASIDE,
                    resumed.moved.join(", ")
                ));
            }
            writer
        }
        Some((fork, parent, milestones, hyper)) => {
            let mut writer = match &fork.out {
                Some(out) => RunWriter::create(out, &fork.config, Some(parent))?,
                None => RunWriter::in_memory(&fork.config, Some(parent)),
            };
            writer.inherit(milestones);
            changes = hyper;
            writer
        }
    });
    let earlier = (resumed_in_place
        && insight_off.is_none()
        && matches!(opts.insight, InsightEvery::Budget(_)))
    .then(|| {
        let max = crate::config::memory::view_frames(trainer.param_count());
        earlier_frames(&folder, ckpt.step, max, &mut notes)
    });
    Ok((
        trainer,
        Said {
            notes,
            insight_off,
            earlier,
            changes,
        },
    ))
}

/// The weights `folder` saved (frames and checkpoints) up to `step`, where a run resumed in it goes
/// on, kept at most `max` evenly spaced ([`Frames`]), for its views to be filled in from its start.
/// Weights that cannot be read are left out, said in one sentence in `notes` (the views go without
/// them; the run is not refused for them).
fn earlier_frames(folder: &RunFolder, step: u64, max: usize, notes: &mut Vec<String>) -> Frames {
    let mut frames = Frames::new(max);
    if max == 0 {
        return frames;
    }
    let mut unread: Vec<String> = Vec::new();
    for w in folder.weights().into_iter().filter(|w| w.file.step <= step) {
        match folder.load_weights(&w) {
            Ok((_, model)) => frames.keep(w.file.step, w.file.epoch, model),
            Err(e) => unread.push(e.to_string()),
        }
    }
    if let Some(first) = unread.first() {
        notes.push(format!(
            "the insight views up to step {step} leave out {} saved weight file{} that cannot be \
             read ({first})",
            unread.len(),
            if unread.len() == 1 { "" } else { "s" }
        ));
    }
    frames
}

/// The milestones a fork carries over from its parent's checkpoint `at` (whose state is `state`):
/// those its detector holds (the fork does not detect them again), at the steps the parent recorded
/// them (its events, else its row of that epoch), as inherited [`RunEvent::Detected`] lines. One
/// whose step the parent's files do not give is left out.
fn inherited_milestones(
    folder: &RunFolder,
    state: &TrainerState,
    at: &CheckpointRef,
) -> Vec<crate::store::run_dir::RunEvent> {
    use crate::analysis::events::GrokEvent;
    use crate::store::run_dir::RunEvent;
    let d = &state.scalars.detector;
    [
        (GrokEvent::Memorised, d.t_train),
        (GrokEvent::Val98, d.t_val98),
        (GrokEvent::Generalised, d.t_val),
    ]
    .into_iter()
    .filter_map(|(what, epoch)| {
        let epoch = epoch?;
        let recorded = folder.events.iter().find_map(|e| match e {
            RunEvent::Detected { what: w, step, .. } if *w == what && *step <= at.step => {
                Some(*step)
            }
            _ => None,
        });
        let step = recorded.or_else(|| {
            folder
                .rows
                .iter()
                .rfind(|r| r.epoch == epoch && r.step <= at.step)
                .map(|r| r.step)
        })?;
        Some(RunEvent::Detected {
            what,
            step,
            epoch,
            inherited: true,
        })
    })
    .collect()
}

/// A fork's changes of learning rate and weight decay from `before` (its checkpoint's config in
/// force) to `after`.
fn hyper_changes(
    before: &GrokkingConfig,
    after: &GrokkingConfig,
) -> Vec<crate::protocol::HyperChange> {
    use crate::protocol::HyperChange;
    let mut out = vec![];
    if before.optim.lr != after.optim.lr {
        out.push(HyperChange::Lr(after.optim.lr));
    }
    if before.optim.weight_decay != after.optim.weight_decay {
        out.push(HyperChange::WeightDecay(after.optim.weight_decay));
    }
    out
}

/// What a resume or repair from `ckpt` (whose state is `state`) into `into` (the folder itself for a
/// resume in place) cannot carry over because a file of `folder` was missing or damaged, one
/// sentence each, with the milestones it restores. `events.jsonl` missing, empty though the run had
/// started, or with lines that could not be read: the milestones the checkpoint's detector holds (the
/// epoch each threshold was first crossed) and `folder.events` lacks are restored at the step
/// `metrics.csv` gives that epoch (where a live run records them), and what cannot be restored is
/// said (mid-run changes, earlier starts).
/// `run.json` missing: what the new one cannot know. `config.toml` missing in place: that it is
/// written again.
pub fn refill_missing(
    folder: &mut RunFolder,
    ckpt: &CheckpointRef,
    state: &TrainerState,
    into: &Path,
) -> Vec<String> {
    use crate::analysis::events::GrokEvent;
    use crate::store::run_dir::RunEvent;
    let dir = folder.dir.display().to_string();
    let in_place = into == folder.dir;
    let new_one = if in_place {
        "the new one".to_string()
    } else {
        format!("the one written in {}", into.display())
    };
    let mut notes = vec![];
    let events_missing = folder.is_missing("events.jsonl");
    // empty though the run had started: as good as missing (an empty file was resumed without its
    // milestones and without a word: a helper's audit)
    let events_empty = folder.events_empty();
    let events_damaged = folder
        .problems
        .iter()
        .any(|p| p.starts_with("events.jsonl"));
    if events_missing || events_damaged {
        let d = &state.scalars.detector;
        let mut restored = vec![];
        let mut unplaced = vec![];
        for (what, epoch) in [
            (GrokEvent::Memorised, d.t_train),
            (GrokEvent::Val98, d.t_val98),
            (GrokEvent::Generalised, d.t_val),
        ] {
            let Some(epoch) = epoch else { continue };
            let known = folder
                .events
                .iter()
                .any(|e| matches!(e, RunEvent::Detected { what: w, .. } if *w == what));
            if known {
                continue;
            }
            match folder.rows.iter().rfind(|r| r.epoch == epoch) {
                Some(row) => {
                    folder.events.push(RunEvent::Detected {
                        what,
                        step: row.step,
                        epoch,
                        // a fork's rows start after its fork step, so this is its own
                        inherited: false,
                    });
                    restored.push(format!("{what} at epoch {epoch}"));
                }
                None => unplaced.push(format!("{what} at epoch {epoch}")),
            }
        }
        folder.events.sort_by_key(RunEvent::step);
        let mut said = if events_missing || events_empty {
            format!(
                "{dir} had {}, so the run's earlier starts and any change of learning rate or \
                 weight decay before step {} are not known to {new_one}",
                if events_missing {
                    "no events.jsonl"
                } else {
                    "an empty events.jsonl"
                },
                ckpt.step,
            )
        } else {
            format!("{dir}'s events.jsonl has lines that could not be read")
        };
        if !restored.is_empty() {
            said.push_str(&format!(
                "; its milestones were restored from the checkpoint: {}",
                restored.join(", ")
            ));
        }
        if !unplaced.is_empty() {
            said.push_str(&format!(
                "; not restored, as metrics.csv has no row for their epoch: {}",
                unplaced.join(", ")
            ));
        }
        if events_missing || events_empty || restored.len() + unplaced.len() > 0 {
            notes.push(said);
        }
    }
    if folder.is_missing("run.json") {
        notes.push(format!(
            "{dir} had no run.json, so the training time before step {} and, if the run was a \
             fork, its parent are not known to {new_one}",
            ckpt.step,
        ));
    }
    if in_place && folder.is_missing("config.toml") && folder.config.is_some() {
        notes.push(format!(
            "{dir} had no config.toml; it is written again from the config run.json records"
        ));
    }
    notes
}

/// Why the run in `folder` has nothing to train from its checkpoint `ckpt` (`max_epochs`: its config's),
/// when it has not: it completed (by its epoch cap or its early stop), or `stop_at` (an epoch cap of
/// this session) is not past the checkpoint. Resuming it would train no epoch and only rewrite its
/// summary, losing the final numbers, so it is refused; a fork trains on.
pub fn nothing_to_resume(
    folder: &RunFolder,
    ckpt: &CheckpointRef,
    max_epochs: u64,
    stop_at: Option<u64>,
) -> Option<String> {
    let dir = folder.dir.display();
    let fork = format!(
        "to train it further, fork it (`grokscope fork {dir} --step {} --set max_epochs=N --out NEW`, \
         or Fork… in the Runs panel)",
        ckpt.step
    );
    let completed = folder
        .info
        .as_ref()
        .is_some_and(|i| i.status == crate::store::run_dir::RunStatus::Completed);
    if completed || ckpt.epoch >= max_epochs {
        return Some(format!(
            "{dir} has completed (epoch {} of at most {max_epochs}): there is nothing to resume, \
             and it was left as it was; {fork}",
            ckpt.epoch
        ));
    }
    match stop_at {
        Some(e) if e <= ckpt.epoch => Some(format!(
            "--max-epochs {e} is not past {dir}'s newest usable checkpoint (epoch {}): there is \
             nothing to train, and it was left as it was",
            ckpt.epoch
        )),
        _ => None,
    }
}

/// Passes events to the sink, recording them first; a recording failure is reported once.
struct Recorder<'a> {
    sink: &'a mut dyn EventSink,
    writer: Option<RunWriter>,
    run: RunId,
    /// The first recording failure.
    save_error: Option<String>,
    /// See [`RunOptions::stop_when_unsaved`]: the run ends at the failure, which its end says.
    stop_when_unsaved: bool,
}

impl Recorder<'_> {
    fn emit(&mut self, ev: Event) {
        if let Some(w) = &mut self.writer {
            let r = w.observe(&ev);
            self.check(r.map(|_| ()));
        }
        self.sink.emit(ev);
    }

    fn check(&mut self, r: Result<(), RunDirError>) {
        if let Err(e) = r
            && self.save_error.is_none()
        {
            self.save_error = Some(e.to_string());
            if self.stop_when_unsaved {
                return;
            }
            self.sink.emit(Event::Note {
                run: self.run,
                message: format!(
                    "run {}: saving failed, training goes on in memory: {e}",
                    self.run
                ),
            });
        }
    }

    /// `outcome`, or, when a save has failed and the run ends at such a failure (the command line), a
    /// failure saying so; `step` is where the run ended.
    fn failed_end(&self, outcome: Outcome, step: u64) -> Outcome {
        match (&self.save_error, outcome) {
            (Some(e), Outcome::Completed | Outcome::Stopped) if self.stop_when_unsaved => {
                Outcome::Failed {
                    message: format!(
                        "saving the run failed at its end (step {step}), so its folder holds it \
                         only up to its last good save: {e}"
                    ),
                }
            }
            (_, outcome) => outcome,
        }
    }

    /// Record the run's end, then send it (the one `Finished`). Its recording is the run's last save
    /// (the tables, run.json, summary.json): one that fails there fails a command-line run as one
    /// before it does, and the folder records the failure as far as it can be written (the end once
    /// said "completed" and the command exited 0 with a summary.json that could not be written: a
    /// helper's audit); the window's run is whole in memory, and a note says so. The outcome sent.
    fn finish(&mut self, mut outcome: Outcome, summary: Summary, step: u64) -> Outcome {
        if let Some(w) = &mut self.writer {
            let r = w.observe(&Event::Finished {
                run: self.run,
                outcome: outcome.clone(),
                summary: Some(summary.clone()),
            });
            if let Err(e) = r
                && self.save_error.is_none()
            {
                self.save_error = Some(e.to_string());
                if self.stop_when_unsaved {
                    outcome = self.failed_end(outcome, step);
                    if let (Outcome::Failed { .. }, Some(w)) = (&outcome, &mut self.writer) {
                        // best effort: the save is failing, and the failure is said anyway
                        let _ = w.amend_end(&outcome);
                    }
                } else {
                    self.sink.emit(Event::Note {
                        run: self.run,
                        message: format!(
                            "run {}: saving its end failed: {e}; the run is whole in memory, and \
                             Save run… writes it into a new folder",
                            self.run
                        ),
                    });
                }
            }
        }
        self.sink.emit(Event::Finished {
            run: self.run,
            outcome: outcome.clone(),
            summary: Some(summary),
        });
        outcome
    }

    /// Send the insight snapshot of the trainer's weights now (never recorded: a saved run's views come
    /// from its saved weights). A failure is said once and ends the snapshots, not the run.
    fn insight(&mut self, insight: &mut Option<Views>, trainer: &Trainer) {
        let Some(ins) = insight else { return };
        if ins.last == Some(trainer.steps()) {
            return;
        }
        let t = Instant::now();
        let snap = trainer.model().export().and_then(|tensors| {
            ins.prober
                .snapshot(&tensors, trainer.steps(), trainer.epochs())
        });
        ins.schedule.took(t.elapsed());
        ins.last = Some(trainer.steps());
        ins.shown.insert(trainer.steps());
        match snap {
            Ok(s) => {
                // the window keeps a run's snapshots under a cap: fill in no more than half of it
                // holds (a snapshot at p = 1009 holds 4.2 MB: then 5 frames, not 128)
                let fit = crate::store::insight::DEFAULT_CAP_BYTES / s.bytes().max(1) / 2;
                ins.frames.cap(fit);
                ins.latest = s.ablation.clone().map(|a| (s.step, s.epoch, a));
                self.sink.emit(Event::Lab {
                    run: self.run,
                    payload: LabEvent::Grokking(GrokkingEvent::Insight(Box::new(s))),
                })
            }
            Err(e) => {
                *insight = None;
                self.sink.emit(Event::Lab {
                    run: self.run,
                    payload: LabEvent::Grokking(GrokkingEvent::InsightOff {
                        why: format!("run {}: the insight views stop: {e}", self.run),
                    }),
                });
            }
        }
    }

    /// Hand the views' frames to the run's recorder (written with the run, or when it is saved).
    fn keep_frames(&mut self, views: &Views) {
        let Some(w) = &mut self.writer else { return };
        let r = w.keep_frames(views.frames());
        self.check(r);
    }

    fn checkpoint(&mut self, trainer: &Trainer) {
        let Some(w) = &mut self.writer else { return };
        let r = match trainer.state() {
            Ok(state) => w.checkpoint(&state).map(|_| ()),
            Err(e) => Err(e.into()),
        };
        self.check(r);
    }
}

/// Filling in a run's views may take as long as the run trained, and at least this long.
pub const FILL_MIN: Duration = Duration::from_secs(30);

/// The insight views of a run: the measures, when to take them live, and the weight frames kept to
/// fill them in between the live snapshots once there is time: while the run is paused, and after it
/// ends ([`RunEnd::views`], which the window's worker fills in between commands).
pub struct Views {
    run: RunId,
    prober: Prober,
    schedule: Schedule,
    frames: Frames,
    /// Step of the last live snapshot sent.
    last: Option<u64>,
    /// Steps whose snapshot was sent (live or filled in).
    shown: BTreeSet<u64>,
    /// Time spent filling in.
    filled: Duration,
    /// Filling in failed (said once).
    failed: bool,
    /// The newest live snapshot's ablation, at its step and epoch: once the run has ended, the final
    /// model's, whose key frequencies the frames are ablated with too.
    latest: Option<(u64, u64, AblationLosses)>,
    /// The run has ended: the final keys' ablation can be computed.
    ended: bool,
    /// Steps whose final keys' ablation was sent.
    final_sent: BTreeSet<u64>,
}

impl Views {
    /// `earlier`: the weights a resumed run saved before its checkpoint ([`earlier_frames`]).
    fn new(
        run: RunId,
        trainer: &Trainer,
        every: InsightEvery,
        earlier: Option<Frames>,
    ) -> Option<Views> {
        let schedule = Schedule::new(every);
        let frames = match every {
            // the window's runs (a budget) keep frames; a fixed schedule (tests, exports) needs none
            InsightEvery::Budget(_) => crate::config::memory::view_frames(trainer.param_count()),
            InsightEvery::Off | InsightEvery::Epochs(_) => 0,
        };
        let frames = match earlier {
            Some(earlier) if frames > 0 => earlier,
            _ => Frames::new(frames),
        };
        schedule.on().then(|| Views {
            run,
            prober: Prober::new(trainer.valid_config()),
            schedule,
            frames,
            last: None,
            shown: BTreeSet::new(),
            filled: Duration::ZERO,
            failed: false,
            latest: None,
            ended: false,
            final_sent: BTreeSet::new(),
        })
    }

    /// Send the final keys' ablation of one more step (see [`Views::fill_one`]).
    fn final_keys_one(&mut self, sink: &mut dyn EventSink) -> bool {
        let Some((last_step, last_epoch, last)) = self.latest.clone() else {
            return false;
        };
        let (step, epoch, ablation) = if self.final_sent.contains(&last_step) {
            let Some((step, epoch, tensors)) = self
                .frames
                .farthest_from(&self.final_sent)
                .and_then(|i| self.frames.get(i))
            else {
                return false;
            };
            let t = Instant::now();
            let ab = self.prober.ablation_with_keys(tensors, &last.keys);
            self.filled += t.elapsed();
            match ab {
                Ok(ab) => (step, epoch, ab),
                Err(e) => {
                    return self.give_up(sink, "the restricted loss with the final keys", e);
                }
            }
        } else {
            (last_step, last_epoch, last)
        };
        self.final_sent.insert(step);
        sink.emit(Event::Lab {
            run: self.run,
            payload: LabEvent::Grokking(GrokkingEvent::FinalKeys {
                step,
                epoch,
                ablation,
            }),
        });
        true
    }

    /// Keep the trainer's weights as a frame when the frames want this epoch.
    fn keep_frame(&mut self, trainer: &Trainer) {
        if self.frames.wants(trainer.epochs()) {
            // a model that cannot export its weights fails its live snapshot too, which says so
            if let Ok(tensors) = trainer.model().export() {
                self.frames.keep(trainer.steps(), trainer.epochs(), tensors);
            }
        }
    }

    /// The run's weight frames, shared (what [`RunWriter::keep_frames`] saves).
    pub fn frames(&self) -> Vec<crate::store::run_dir::SharedFrame> {
        self.frames.shared()
    }

    /// Whether [`Views::fill_one`] has more to do.
    pub fn can_fill(&self) -> bool {
        !self.failed
            && self.filled < FILL_MIN.max(self.schedule.training())
            && (self.frames.farthest_from(&self.shown).is_some() || self.final_keys_left())
    }

    /// Whether the final keys' ablation has steps left (once the run has ended).
    fn final_keys_left(&self) -> bool {
        self.ended
            && self.latest.as_ref().is_some_and(|(step, ..)| {
                !self.final_sent.contains(step)
                    || self.frames.farthest_from(&self.final_sent).is_some()
            })
    }

    /// The run has ended: the views it sent last are the final model's.
    fn end(&mut self) {
        self.ended = true;
    }

    /// Send the snapshot of one kept frame not yet shown (the one farthest from those shown); false when
    /// there is nothing more to fill in: every frame shown, the time for it spent, or a failure (said).
    /// Once every frame is shown and the run has ended, each sends the restricted and excluded loss of
    /// one frame with the final model's key frequencies instead ([`GrokkingEvent::FinalKeys`]; the
    /// final step's first, from its own snapshot).
    pub fn fill_one(&mut self, sink: &mut dyn EventSink) -> bool {
        if !self.can_fill() {
            return false;
        }
        let Some((step, epoch, tensors)) = self
            .frames
            .farthest_from(&self.shown)
            .and_then(|i| self.frames.get(i))
        else {
            return self.final_keys_one(sink);
        };
        let t = Instant::now();
        let snap = self.prober.snapshot(tensors, step, epoch);
        self.filled += t.elapsed();
        self.shown.insert(step);
        match snap {
            Ok(s) => {
                sink.emit(Event::Lab {
                    run: self.run,
                    payload: LabEvent::Grokking(GrokkingEvent::Insight(Box::new(s))),
                });
                true
            }
            Err(e) => self.give_up(sink, "the insight views between the live snapshots", e),
        }
    }

    /// Filling in failed: said once, and nothing more is filled in (false, for [`Views::fill_one`]).
    fn give_up(
        &mut self,
        sink: &mut dyn EventSink,
        what: &str,
        e: crate::model::ModelError,
    ) -> bool {
        self.failed = true;
        sink.emit(Event::Note {
            run: self.run,
            message: format!("run {}: {what} cannot be computed: {e}", self.run),
        });
        false
    }
}

/// Train a prepared trainer to its end (see [`run`]), saying `said` once it has started.
fn train(
    mut trainer: Trainer,
    run: RunId,
    sink: &mut dyn EventSink,
    control: &mut dyn RunControl,
    opts: RunOptions,
    said: Said,
) -> RunEnd {
    let t0 = Instant::now();
    let cfg = trainer.config().clone();
    let mut every = opts.checkpoint_every.epochs_for(&cfg);
    let mut writer = opts.writer;
    if let Some(w) = &mut writer {
        w.tensorboard |= opts.tensorboard;
    }
    let mut rec = Recorder {
        sink,
        writer,
        run,
        save_error: None,
        stop_when_unsaved: opts.stop_when_unsaved,
    };
    rec.emit(Event::Started {
        run,
        config: Box::new(crate::config::RunConfig::Grokking(cfg.clone())),
        param_count: trainer.param_count(),
        steps_per_epoch: cfg.steps_per_epoch(),
        device: Some(trainer.model().device_choice()),
    });
    if let Some(dir) = rec.writer.as_ref().and_then(|w| w.dir()) {
        let dir = dir.to_path_buf();
        rec.sink.emit(Event::Saved { run, dir });
    }
    // which checkpoints were skipped on the way here, and whether the insight views are off
    for message in said.notes {
        rec.sink.emit(Event::Note { run, message });
    }
    if let Some(why) = said.insight_off {
        rec.sink.emit(Event::Lab {
            run,
            payload: LabEvent::Grokking(GrokkingEvent::InsightOff { why }),
        });
    }
    // a fork's new learning rate or weight decay, in force from its first step
    for change in said.changes {
        rec.emit(Event::Changed {
            run,
            change,
            step: trainer.steps(),
            epoch: trainer.epochs(),
        });
    }
    // a fresh run's initial state, so a fork can start from step 0
    if trainer.steps() == 0 {
        rec.checkpoint(&trainer);
    }
    let mut insight = Views::new(run, &trainer, opts.insight, said.earlier);
    rec.insight(&mut insight, &trainer);
    let mut checkpoint_due = false;
    // latest value of each metric (eval metrics are not on every row)
    let mut latest = std::collections::BTreeMap::new();
    let outcome = loop {
        if rec.stop_when_unsaved
            && let Some(e) = &rec.save_error
        {
            break Outcome::Failed {
                message: format!(
                    "saving the run failed at step {}, so it was stopped (its folder holds it up to \
                     its last good save): {e}",
                    trainer.steps()
                ),
            };
        }
        if trainer.finished() {
            break Outcome::Completed;
        }
        if opts.stop_at_epoch.is_some_and(|e| trainer.epochs() >= e) {
            break Outcome::Stopped;
        }
        let ctl = control.poll(trainer.steps() + 1);
        if let Some(views) = &mut insight {
            views.schedule.idled(ctl.idle);
        }
        if let Some(cadence) = ctl.checkpoint_every {
            every = cadence.epochs_for(&cfg);
        }
        for change in ctl.changes {
            trainer.apply_change(change);
            rec.emit(Event::Changed {
                run,
                change,
                step: trainer.steps(),
                epoch: trainer.epochs(),
            });
        }
        if let Some(to) = ctl.save_to {
            let dir = to.dir.clone();
            let r = match &mut rec.writer {
                Some(w) => w.attach_to(&to),
                None => Err(RunDirError::NotARun(
                    "this run is not being recorded, so it cannot be saved".into(),
                )),
            };
            match r {
                Ok(left_out) => {
                    checkpoint_due = true;
                    for message in left_out {
                        rec.sink.emit(Event::Note { run, message });
                    }
                    rec.sink.emit(Event::Saved { run, dir });
                }
                Err(e) => rec.sink.emit(Event::Refused {
                    message: format!("cannot save into {}: {e}", dir.display()),
                }),
            }
        }
        if ctl.stop {
            break Outcome::Stopped;
        }
        if ctl.hold {
            // a run just paused shows its views of the held step; a paused run was saved (its held
            // checkpoints with it): wait again without stepping
            rec.insight(&mut insight, &trainer);
            // and fills in its views between the live snapshots until a command comes
            if let Some(views) = &mut insight {
                while !control.waiting() && views.fill_one(rec.sink) {}
            }
            continue;
        }
        let t_step = Instant::now();
        let stepped = trainer.step();
        if let Some(ins) = &mut insight {
            ins.schedule.trained(t_step.elapsed());
        }
        match stepped {
            Ok(report) => {
                rec.emit(Event::Progress {
                    run,
                    step: trainer.steps(),
                    epoch: trainer.epochs(),
                });
                if let Some(row) = report.row {
                    // a milestone gets its checkpoint (a fork "at memorisation" starts right there)
                    checkpoint_due |= !report.events.is_empty();
                    for event in report.events {
                        rec.emit(Event::detected(run, event, row.step, row.epoch));
                    }
                    latest.extend(row.values.iter().copied());
                    let epoch = row.epoch;
                    rec.emit(Event::Metrics {
                        run,
                        rows: vec![row],
                    });
                    if checkpoint_due || epoch.is_multiple_of(every) {
                        rec.checkpoint(&trainer);
                        checkpoint_due = false;
                    }
                    if insight.as_ref().is_some_and(|i| i.schedule.due(epoch)) {
                        rec.insight(&mut insight, &trainer);
                    }
                    if let Some(views) = &mut insight {
                        views.keep_frame(&trainer);
                    }
                }
            }
            Err(e) => {
                break Outcome::Failed {
                    message: e.to_string(),
                };
            }
        }
    };
    // the end of a run is an epoch boundary unless it stopped mid-epoch or failed
    if !matches!(outcome, Outcome::Failed { .. }) && trainer.state().is_ok() {
        rec.checkpoint(&trainer);
        // the final state (where the views stay after the run)
        rec.insight(&mut insight, &trainer);
        if let Some(views) = &mut insight {
            views.end();
        }
    }
    // a stopped or failed run's frames are its weights all the same (a frame that holds a value that
    // is not finite is refused, and said, when read)
    if let Some(views) = &insight {
        rec.keep_frames(views);
    }
    // a save that failed at the end (the last checkpoint, the frames) fails the run all the same
    let outcome = rec.failed_end(outcome, trainer.steps());
    let d = trainer.detector();
    let summary = Summary {
        param_count: trainer.param_count(),
        steps: trainer.steps(),
        epochs: trainer.epochs(),
        t_train_epoch: d.t_train,
        t_val_epoch: d.t_val,
        delay_epochs: d.delay(trainer.epochs()),
        final_train_acc: latest.get(&Metric::TrainAcc).copied(),
        final_val_acc: latest.get(&Metric::ValAcc).copied(),
        wall_secs: t0.elapsed().as_secs_f64(),
    };
    let outcome = rec.finish(outcome, summary, trainer.steps());
    RunEnd {
        outcome,
        writer: rec.writer,
        views: insight,
    }
}

/// Whether the insight views of a run of `cfg` fit under the memory limit (`GROKSCOPE_MAX_MEMORY_GB`,
/// else half the machine): they hold every pair's hidden layer (and the transformer's, and a small
/// MLP's, every pair's logits).
pub fn insight_fits(cfg: &GrokkingConfig) -> Result<(), String> {
    // the views' part alone (with the parameters): the checkpoints held do not count here
    let est = cfg.memory_estimate_in(Setting::Window(CheckpointEvery::Auto), crate::perf::cores());
    let need = est.insight.saturating_add(est.params);
    let limit = crate::config::memory::memory_limit(None)?;
    if need <= limit {
        return Ok(());
    }
    Err(format!(
        "the insight views of this run need about {} (they compute over all p^2 pairs at p = {}), \
         more than the memory limit of {} ({} raises it)",
        size_text(need),
        cfg.p,
        size_text(limit),
        crate::config::memory::MAX_MEMORY_ENV
    ))
}

/// The insight snapshots of a saved run, recomputed from its saved weights (frames and checkpoints,
/// oldest first; [`RunFolder::weights`]): `each` gets one result a step (a file that cannot be read is
/// named and skipped) and returns false to stop. Every snapshot equals the one the live run showed at
/// that step (the same weights, the same functions).
pub fn insight_from_saved(
    folder: &RunFolder,
    each: &mut dyn FnMut(Result<crate::protocol::InsightSnapshot, String>) -> bool,
) {
    let mut prober: Option<Prober> = None;
    for w in folder.weights() {
        let (config, model) = match folder.load_weights(&w) {
            Ok(loaded) => loaded,
            Err(e) => {
                if !each(Err(e.to_string())) {
                    return;
                }
                continue;
            }
        };
        // the first file read decides (the task and model are the run's): refused, once, where the
        // memory limit cannot hold the views
        if prober.is_none()
            && let Err(why) = insight_fits(&config)
        {
            each(Err(why));
            return;
        }
        let prober = prober.get_or_insert_with(|| Prober::new(&config));
        let c = &w.file;
        let result = prober
            .snapshot(&model, c.step, c.epoch)
            .map_err(|e| format!("weights at step {}: {e}", c.step));
        if !each(result) {
            return;
        }
    }
}

/// The restricted and excluded loss at every step of a saved run with saved weights, with the key
/// frequencies `keys` (the final model's, as the live run computes them once it has ended: the keys of
/// the last snapshot [`insight_from_saved`] gave): `each` gets (step, epoch, losses) a step, or why not,
/// and returns false to stop.
pub fn final_keys_from_saved(
    folder: &RunFolder,
    keys: &[usize],
    each: &mut dyn FnMut(Result<(u64, u64, AblationLosses), String>) -> bool,
) {
    let mut prober: Option<Prober> = None;
    for w in folder.weights() {
        // what cannot be read was said by insight_from_saved: skipped here
        let Ok((config, model)) = folder.load_weights(&w) else {
            continue;
        };
        let prober = prober.get_or_insert_with(|| Prober::new(&config));
        let c = &w.file;
        let result = prober
            .ablation_with_keys(&model, keys)
            .map(|ab| (c.step, c.epoch, ab))
            .map_err(|e| format!("weights at step {}: {e}", c.step));
        if !each(result) {
            return;
        }
    }
}
