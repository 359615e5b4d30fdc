//! Grokking runs on disk: a run folder, written while the run trains and read back to show, resume
//! or fork it.
//!
//! ```text
//! RUN/config.toml        the config the run started with
//! RUN/metrics.csv        step, epoch, then one column per metric (empty where not logged that epoch)
//! RUN/events.jsonl       one JSON object a line: forked (a fork's first: its parent, step and
//!                        changes), detected, started, changed, finished
//! RUN/run.json           format and program versions, status, wall time, parent run when forked
//! RUN/checkpoints/step-SSSSSSSSSS-epoch-EEEEEEEE.safetensors
//! RUN/frames/step-SSSSSSSSSS-epoch-EEEEEEEE.safetensors   the weights alone, at up to 128 evenly
//!                        spaced steps of a window run (its insight views' frames), written when it ends
//! RUN/tensorboard/events.out.tfevents.*   only with RunWriter::tensorboard; one file per session
//! ```
//!
//! Every file is written whole under a temporary name and then renamed, so a crash leaves the previous
//! version in place: it loses at most what came after the last flush. Reading trusts nothing: a
//! truncated table, a corrupt line, a newer format or a broken checkpoint is reported as a problem, and
//! what can be read is still shown.

use crate::config::GrokkingConfig;
use crate::model::NamedTensor;
use crate::protocol::{
    Event, GrokEvent, GrokkingEvent, HyperChange, LabEvent, Metric, MetricRow, Outcome, Summary,
};
use crate::store::tensorboard;
use crate::train::checkpoint::{CheckpointError, Frame, TrainerState};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `run.json`'s `format`.
pub const RUN_FORMAT: &str = "grokscope-run";
/// The newest run-folder version this build reads, and the one it writes.
pub const RUN_VERSION: u32 = 1;
/// The columns of metrics.csv after `step,epoch`.
pub const COLUMNS: [Metric; 11] = Metric::GROKKING;
/// The checkpoints' sub-folder.
pub const CHECKPOINTS: &str = "checkpoints";
/// The weight frames' sub-folder.
pub const FRAMES: &str = "frames";

/// Why a run folder could not be written or opened at all.
#[derive(Debug, thiserror::Error)]
pub enum RunDirError {
    /// Reading or writing `path` failed (said once: the cause is in the message, not a source).
    #[error("{}: {error}", path.display())]
    Io { path: PathBuf, error: io::Error },
    /// Not a run folder (nothing of one in it), or one this build must not touch.
    #[error("{0}")]
    NotARun(String),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A file the command would rewrite could not be read in full: refused, nothing changed.
    #[error(
        "{} cannot be continued in place: {}. Nothing was changed; `grokscope resume {} --repair NEW_FOLDER` \
         writes what can be read into a new folder and continues there",
        dir.display(),
        problems.join("; "),
        dir.display()
    )]
    Damaged { dir: PathBuf, problems: Vec<String> },
    /// Another process writes the run folder (it holds its [`LOCK_FILE`]): refused, nothing changed.
    #[error(
        "{} is being written by another grokscope process (a run, resume or window recording it \
         still going on, here or on another machine sharing the folder): nothing was changed; let \
         it finish or stop it first",
        dir.display()
    )]
    Busy { dir: PathBuf },
}

/// The file in a run folder whose lock its writer holds while it writes the folder, so that no two
/// processes write one run at once (two resumes of one folder, a `resume` of a run still training).
/// The lock is the kernel's (`flock`), released when the writer ends, however it ends (a killed
/// process too), and seen across machines where the file system passes it on (Linux's NFS client
/// sends it to an NFS v4 server as a whole-file lock; not tried across machines here);
/// the empty file stays. Hidden, so listings and copies pass it by.
pub const LOCK_FILE: &str = ".lock";

/// A run folder's write lock, held while it lives ([`LOCK_FILE`]).
#[derive(Debug)]
struct FolderLock {
    _file: fs::File,
}

impl FolderLock {
    /// Take the lock of the run folder `dir` (its lock file made if missing), or say who has it.
    fn take(dir: &Path) -> Result<Self, RunDirError> {
        let path = dir.join(LOCK_FILE);
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(fs::TryLockError::WouldBlock) => Err(RunDirError::Busy {
                dir: dir.to_path_buf(),
            }),
            Err(fs::TryLockError::Error(e)) => Err(io_err(&path)(e)),
        }
    }
}

/// Largest run-folder table read (metrics.csv, events.jsonl, run.json, config.toml).
pub const MAX_TABLE_BYTES: u64 = 1 << 30;
/// Largest checkpoint read: three f32 tensors (parameters and two moments) of the largest model
/// accepted, plus room for the header.
pub const MAX_CHECKPOINT_BYTES: u64 = 3 * 4 * crate::config::MAX_PARAMS + (64 << 20);
/// Largest frame read: one f32 tensor set of the largest model accepted, plus room for the header.
pub const MAX_FRAME_BYTES: u64 = 4 * crate::config::MAX_PARAMS + (64 << 20);

/// A run's weights at one step, shared with the views that were filled in from them.
pub type SharedFrame = (u64, u64, Arc<Vec<NamedTensor>>);

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> RunDirError + '_ {
    move |error| RunDirError::Io {
        path: path.to_path_buf(),
        error,
    }
}

use super::files::{Partial, clear_stale_partials, read_bounded, set_aside, write_atomic};

/// How [`RunFolder::problems`] begins the sentence saying `config.toml` was edited after the run
/// recorded the config it trains with.
pub const CONFIG_EDITED: &str = "config.toml differs from the config the run was trained with";

/// How the run stands (or ended).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Completed,
    Stopped,
    Failed,
}

/// Where a fork came from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ParentRef {
    /// The parent's run folder (as it was given when forking).
    pub dir: PathBuf,
    /// The parent's checkpoint the fork started from.
    pub step: u64,
    pub epoch: u64,
    /// What the fork changed, e.g. `optim.weight_decay: 1 -> 0.1`.
    pub changes: Vec<String>,
}

/// `run.json`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RunInfo {
    pub format: String,
    pub format_version: u32,
    pub grokscope_version: String,
    pub status: RunStatus,
    /// Why it failed, when it did.
    #[serde(default)]
    pub message: Option<String>,
    /// Training time over all sessions of this run.
    pub wall_secs: f64,
    pub param_count: u64,
    pub steps: u64,
    pub epochs: u64,
    #[serde(default)]
    pub parent: Option<ParentRef>,
    #[serde(default)]
    pub summary: Option<Summary>,
    /// The config the run was started with, as recorded when it was written: what every command
    /// reports, whatever later edits to config.toml say. Missing in folders of older builds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<GrokkingConfig>,
}

impl RunInfo {
    fn new(parent: Option<ParentRef>) -> Self {
        RunInfo {
            format: RUN_FORMAT.into(),
            format_version: RUN_VERSION,
            grokscope_version: env!("CARGO_PKG_VERSION").into(),
            status: RunStatus::Running,
            message: None,
            wall_secs: 0.0,
            param_count: 0,
            steps: 0,
            epochs: 0,
            parent,
            summary: None,
            config: None,
        }
    }
}

/// One line of events.jsonl. (Files written before `forked` and `inherited` read as they did.)
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RunEvent {
    /// The run is a fork: it starts at its parent's checkpoint at this step, with these changes
    /// (`key: before -> after`, as run.json's `parent.changes`). A fork's first line.
    Forked {
        parent: PathBuf,
        step: u64,
        epoch: u64,
        changes: Vec<String>,
    },
    /// Training began (or began again after a resume) at this step.
    Started {
        param_count: u64,
        step: u64,
        epoch: u64,
    },
    /// A grokking milestone. `inherited`: a fork's parent reached it before the fork step (the
    /// fork's detector carries it over, so the fork does not detect it again).
    Detected {
        what: GrokEvent,
        step: u64,
        epoch: u64,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        inherited: bool,
    },
    /// A hyper-parameter changed before this step.
    Changed {
        change: HyperChange,
        step: u64,
        epoch: u64,
    },
    /// The run ended (for now).
    Finished {
        outcome: Outcome,
        step: u64,
        epoch: u64,
    },
}

impl RunEvent {
    pub fn step(&self) -> u64 {
        match self {
            RunEvent::Forked { step, .. }
            | RunEvent::Started { step, .. }
            | RunEvent::Detected { step, .. }
            | RunEvent::Changed { step, .. }
            | RunEvent::Finished { step, .. } => *step,
        }
    }
}

/// A checkpoint file of a run folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointRef {
    pub step: u64,
    pub epoch: u64,
    pub path: PathBuf,
}

/// A file of a run folder holding the weights at one step: a checkpoint, or a frame (weights only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedWeights {
    pub file: CheckpointRef,
    pub frame: bool,
}

/// The file name of the checkpoint (or frame) at this step and epoch.
pub fn checkpoint_name(step: u64, epoch: u64) -> String {
    format!("step-{step:010}-epoch-{epoch:08}.safetensors")
}

fn parse_checkpoint_name(name: &str) -> Option<(u64, u64)> {
    let rest = name.strip_prefix("step-")?.strip_suffix(".safetensors")?;
    let (s, e) = rest.split_once("-epoch-")?;
    Some((s.parse().ok()?, e.parse().ok()?))
}

/// metrics.csv as text.
pub fn metrics_csv(rows: &[MetricRow]) -> String {
    let mut out = String::from("step,epoch");
    for m in COLUMNS {
        out.push(',');
        out.push_str(m.key());
    }
    out.push('\n');
    for r in rows {
        out.push_str(&format!("{},{}", r.step, r.epoch));
        for m in COLUMNS {
            out.push(',');
            if let Some(v) = r.get(m) {
                // Rust's shortest round-trip form: parsing it back gives the same f64
                out.push_str(&v.to_string());
            }
        }
        out.push('\n');
    }
    out
}

/// Parse metrics.csv; rows from the first unreadable line on are dropped and named in `problems`.
pub fn parse_metrics_csv(text: &str, problems: &mut Vec<String>) -> Vec<MetricRow> {
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => {
            problems.push(
                "metrics.csv line 1: starts with a byte-order mark (what a spreadsheet's \"CSV UTF-8\" \
                 save adds); read without it"
                    .into(),
            );
            rest
        }
        None => text,
    };
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        problems.push("metrics.csv is empty".into());
        return vec![];
    };
    let cols: Vec<&str> = header.split(',').collect();
    if cols.len() < 2 || cols[0] != "step" || cols[1] != "epoch" {
        problems
            .push("metrics.csv: the header does not start with step,epoch; no rows read".into());
        return vec![];
    }
    let metrics: Vec<Option<Metric>> = cols[2..]
        .iter()
        .map(|c| {
            let m = Metric::from_key(c);
            if m.is_none() {
                problems.push(format!("metrics.csv: unknown column {c:?} ignored"));
            }
            m
        })
        .collect();
    let mut rows: Vec<MetricRow> = vec![];
    for (i, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        let parsed = (|| {
            if fields.len() != cols.len() {
                return Err(format!(
                    "{} fields, the header has {}",
                    fields.len(),
                    cols.len()
                ));
            }
            let step: u64 = fields[0].parse().map_err(|_| "bad step".to_string())?;
            let epoch: u64 = fields[1].parse().map_err(|_| "bad epoch".to_string())?;
            if epoch > crate::config::MAX_EPOCHS {
                return Err(format!(
                    "epoch {epoch} is more than a run may train ({})",
                    crate::config::MAX_EPOCHS
                ));
            }
            if step < epoch {
                return Err(format!(
                    "step {step} is below its epoch {epoch}, but every epoch takes a step at least"
                ));
            }
            if let Some(last) = rows.last() {
                if step <= last.step {
                    return Err(format!(
                        "step {step} does not follow step {} on the line before",
                        last.step
                    ));
                }
                if epoch < last.epoch {
                    return Err(format!(
                        "epoch {epoch} is below epoch {} on the line before",
                        last.epoch
                    ));
                }
            }
            let mut values = vec![];
            for (f, m) in fields[2..].iter().zip(&metrics) {
                if let (Some(m), false) = (m, f.is_empty()) {
                    let v: f64 = f.parse().map_err(|_| format!("bad value {f:?}"))?;
                    if !m.admits(v) {
                        let (lo, hi) = m.range();
                        let range = if hi == f64::MAX {
                            format!("at least {lo}")
                        } else {
                            format!("between {lo} and {hi}")
                        };
                        return Err(format!("{} is {f}, but it is a value {range}", m.key()));
                    }
                    values.push((*m, v));
                }
            }
            Ok(MetricRow {
                step,
                epoch,
                values,
            })
        })();
        match parsed {
            Ok(r) => rows.push(r),
            Err(why) => {
                problems.push(format!(
                    "metrics.csv line {}: {why}; the rows from there on are not shown",
                    i + 2
                ));
                break;
            }
        }
    }
    rows
}

/// A finished run's [`Summary`](crate::protocol::Summary), written when the run ends.
pub const SUMMARY_FILE: &str = "summary.json";

/// What [`RunWriter::resume`] did to the folder before writing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resumed {
    /// The checkpoints set aside, `FROM -> TO` each, relative to the folder.
    pub moved: Vec<String>,
    /// The temporary files of killed writes removed, or named and left ([`clear_stale_partials`]).
    pub partials: Vec<String>,
}

/// Records a run as it trains, in memory and (once it has a folder) on disk.
pub struct RunWriter {
    dir: Option<PathBuf>,
    config: GrokkingConfig,
    rows: Vec<MetricRow>,
    events: Vec<RunEvent>,
    info: RunInfo,
    /// Wall time of earlier sessions (before a resume).
    prior_wall: f64,
    t0: Instant,
    last_flush: Instant,
    /// How often rows reach the disk while training.
    pub flush_every: Duration,
    checkpoints: Vec<CheckpointRef>,
    /// Also write TensorBoard event files into `RUN/tensorboard/` (see [`tensorboard`]): each flush
    /// appends the rows and milestones recorded since the last one. Off by default; may be switched on
    /// at any time (the first file then holds everything recorded so far) and takes effect once the run
    /// has a folder. Each session (a new run, a resume, a save into a new folder) writes a new file.
    pub tensorboard: bool,
    /// The open event file of this session.
    tb_file: Option<tensorboard::EventWriter>,
    /// How many of `rows` and `events` are already in event files.
    tb_rows: usize,
    tb_events: usize,
    /// The checkpoint step a resume continued from.
    resumed_at: Option<u64>,
    /// Checkpoints taken while the run had no folder, as file bytes (step, epoch, bytes); written
    /// out by [`RunWriter::attach`], so a run recorded in memory can be saved whole later.
    held: Vec<(u64, u64, Vec<u8>)>,
    /// The run's weight frames while it has no folder (written out by [`RunWriter::attach`]).
    frames: Vec<SharedFrame>,
    /// The frame files of the run's folder (copied, as the checkpoints are, when it is saved into
    /// another).
    frame_files: Vec<CheckpointRef>,
    /// The lock of the folder it writes ([`LOCK_FILE`]), held from the moment it has one.
    lock: Option<FolderLock>,
}

impl RunWriter {
    /// A run recorded in memory only (until [`RunWriter::attach`]). A fork (`parent`) stands at its
    /// parent's step from the start, and its events begin with where it came from
    /// ([`RunEvent::Forked`]).
    pub fn in_memory(config: &GrokkingConfig, parent: Option<ParentRef>) -> Self {
        let mut events = vec![];
        if let Some(p) = &parent {
            events.push(RunEvent::Forked {
                parent: p.dir.clone(),
                step: p.step,
                epoch: p.epoch,
                changes: p.changes.clone(),
            });
        }
        let mut info = RunInfo::new(parent);
        info.config = Some(config.clone());
        if let Some(p) = &info.parent {
            // what its `started` says, and run.json until its first row
            (info.steps, info.epochs) = (p.step, p.epoch);
        }
        RunWriter {
            dir: None,
            config: config.clone(),
            rows: vec![],
            events,
            info,
            prior_wall: 0.0,
            t0: Instant::now(),
            last_flush: Instant::now(),
            flush_every: Duration::from_secs(2),
            checkpoints: vec![],
            tensorboard: false,
            tb_file: None,
            tb_rows: 0,
            tb_events: 0,
            resumed_at: None,
            held: vec![],
            frames: vec![],
            frame_files: vec![],
            lock: None,
        }
    }

    /// A new run in folder `dir` (created if missing). Refuses a folder that already holds a run.
    pub fn create(
        dir: &Path,
        config: &GrokkingConfig,
        parent: Option<ParentRef>,
    ) -> Result<Self, RunDirError> {
        let mut w = Self::in_memory(config, parent);
        // a new run has nothing of another folder to leave out
        w.attach(dir)?;
        Ok(w)
    }

    /// Continue a run read from disk in its own folder, dropping what it recorded after the checkpoint
    /// `from`. Refused, with nothing written, when any file it rewrites could not be read in full
    /// ([`RunFolder::damaged`]): rewriting it would lose what could not be read. The checkpoints after
    /// `from` (each skipped as unreadable or unusable, or a link not followed) are moved into
    /// `set-aside/checkpoints/` first, so that training again writes none over them (a frame already
    /// there is never replaced, so frames stay); what was moved is returned, one `FROM -> TO` each.
    /// Temporary files a killed process left (`.NAME.PID-N.partial`) are removed first where their
    /// process no longer runs ([`clear_stale_partials`]); what was done with each is returned too.
    pub fn resume(
        folder: &RunFolder,
        from: &CheckpointRef,
    ) -> Result<(Self, Resumed), RunDirError> {
        if !folder.damaged.is_empty() {
            return Err(RunDirError::Damaged {
                dir: folder.dir.clone(),
                problems: folder.damaged.clone(),
            });
        }
        let mut w = Self::continued(folder, from)?;
        // before anything in it changes: another writer of the folder is left to its work
        w.lock = Some(FolderLock::take(&folder.dir)?);
        let partials = clear_stale_partials(&folder.dir, &[CHECKPOINTS, FRAMES]);
        let moved = set_aside_after(&folder.dir, from.step)?;
        w.dir = Some(folder.dir.clone());
        w.flush()?;
        // a missing config.toml is written again (the recorded config; never over a file there)
        let cfg = folder.dir.join("config.toml");
        if fs::symlink_metadata(&cfg).is_err_and(|e| e.kind() == io::ErrorKind::NotFound) {
            write_atomic(&cfg, w.config.to_toml().as_bytes()).map_err(io_err(&cfg))?;
        }
        Ok((w, Resumed { moved, partials }))
    }

    /// Continue a run read from disk in a new folder `out` (refused unless empty), keeping the
    /// original as it is: what could be read of it, up to the checkpoint `from`, is written into `out`
    /// (checkpoints and frames copied; an older one that cannot be read is left out, and said in what
    /// is returned). The caller names what could not be read of the tables ([`RunFolder::damaged`]).
    /// Failed, no `out` is left behind ([`Self::attach`]).
    pub fn repair_into(
        folder: &RunFolder,
        from: &CheckpointRef,
        out: &Path,
    ) -> Result<(Self, Vec<String>), RunDirError> {
        let mut w = Self::continued(folder, from)?;
        w.resumed_at = None;
        let left_out = w.attach(out)?;
        Ok((w, left_out))
    }

    /// The recorder of `folder` as it stood at the checkpoint `from`, in memory.
    fn continued(folder: &RunFolder, from: &CheckpointRef) -> Result<Self, RunDirError> {
        let config = folder.config.clone().ok_or_else(|| {
            RunDirError::NotARun(format!(
                "{}: config.toml is missing or unreadable, so the run cannot go on",
                folder.dir.display()
            ))
        })?;
        let mut w = Self::in_memory(&config, None);
        if let Some(info) = &folder.info {
            w.info = info.clone();
            w.info.config = Some(config);
            w.info.status = RunStatus::Running;
            w.info.message = None;
            w.info.summary = None;
            w.prior_wall = info.wall_secs;
        }
        w.rows = folder
            .rows
            .iter()
            .filter(|r| r.step <= from.step)
            .cloned()
            .collect();
        w.events = folder
            .events
            .iter()
            .filter(|e| e.step() <= from.step && !matches!(e, RunEvent::Finished { .. }))
            .cloned()
            .collect();
        let upto = |files: &[CheckpointRef]| -> Vec<CheckpointRef> {
            files
                .iter()
                .filter(|c| c.step <= from.step)
                .cloned()
                .collect()
        };
        w.checkpoints = upto(&folder.checkpoints);
        w.frame_files = upto(&folder.frames);
        // earlier sessions' event files (if any) hold what was recorded up to the checkpoint
        w.tb_rows = w.rows.len();
        w.tb_events = w.events.len();
        w.resumed_at = Some(from.step);
        Ok(w)
    }

    /// Start writing into `dir` (created if missing; refused unless empty, so nothing already there
    /// is ever overwritten), with everything recorded so far, checkpoints held in memory included.
    /// The folder is made beside `dir` and moved into place once whole ([`build_beside`]): refused or
    /// failed, `dir` is as it was and so is the recorder. Checkpoints and frames of another folder are
    /// copied, so the new one stands alone; an older checkpoint or a frame that cannot be read is left
    /// out (the run stands at its newest checkpoint, which must come along), and each left out is
    /// returned, one sentence each.
    pub fn attach(&mut self, dir: &Path) -> Result<Vec<String>, RunDirError> {
        if self.dir.as_deref() == Some(dir) {
            return Ok(vec![]);
        }
        refuse_unless_empty(dir)?;
        self.last_flush = Instant::now();
        self.info.wall_secs = self.prior_wall + self.t0.elapsed().as_secs_f64();
        // the lock is taken in the hidden folder, before anything is written there: it moves into
        // place with it (a lock holds the file, whatever its name), so no other process ever finds
        // the new folder unlocked; the lock of a folder left behind is let go
        let (checkpoints, frame_files, mut notes, lock) = build_beside(dir, "new", |staging| {
            let lock = FolderLock::take(staging)?;
            let (c, f, n) = self.write_whole(staging, dir)?;
            Ok((c, f, n, lock))
        })?;
        self.lock = Some(lock);
        self.dir = Some(dir.to_path_buf());
        self.checkpoints = checkpoints;
        self.frame_files = frame_files;
        self.held.clear();
        self.frames.clear();
        // event files start afresh: the new folder's first file gets everything
        self.tb_file = None;
        self.resumed_at = None;
        // the folder is whole and in place; its event files come after (the next flush tries again)
        if self.tensorboard
            && let Err(e) = self.flush()
        {
            notes.push(format!(
                "{} was saved, but its TensorBoard event files could not be written: {e}",
                dir.display()
            ));
        }
        Ok(notes)
    }

    /// Everything recorded so far written into the new folder `into`, which becomes `dir`: config.toml,
    /// the checkpoints and frames (held in memory, or copied from another folder), the tables. The
    /// checkpoints and frames as they will be in `dir`, and what was left out.
    #[allow(clippy::type_complexity)]
    fn write_whole(
        &self,
        into: &Path,
        dir: &Path,
    ) -> Result<(Vec<CheckpointRef>, Vec<CheckpointRef>, Vec<String>), RunDirError> {
        let cfg = into.join("config.toml");
        write_atomic(&cfg, self.config.to_toml().as_bytes()).map_err(io_err(&cfg))?;
        let mut notes = vec![];
        let left_out = |what: &str, c: &CheckpointRef, e: io::Error| {
            format!(
                "{what} {} was left out of {}: it cannot be read ({e})",
                c.path.display(),
                dir.display()
            )
        };
        let mut checkpoints = vec![];
        if !self.held.is_empty() || !self.checkpoints.is_empty() {
            let folder = into.join(CHECKPOINTS);
            fs::create_dir(&folder).map_err(io_err(&folder))?;
            // the newest checkpoint is where the run stands: without it the new folder would go on
            // from an older one; an older one is one a fork could start from, and no more
            let newest = self.checkpoints.last().map(|c| c.step);
            for c in &self.checkpoints {
                let name = checkpoint_name(c.step, c.epoch);
                let bytes = match read_bounded(&c.path, MAX_CHECKPOINT_BYTES) {
                    Ok(bytes) => bytes,
                    Err(e) if Some(c.step) != newest || !self.held.is_empty() => {
                        notes.push(left_out("checkpoint", c, e));
                        continue;
                    }
                    Err(e) => return Err(io_err(&c.path)(e)),
                };
                let path = folder.join(&name);
                write_atomic(&path, &bytes).map_err(io_err(&path))?;
                checkpoints.push(CheckpointRef {
                    path: dir.join(CHECKPOINTS).join(name),
                    ..c.clone()
                });
            }
            for (step, epoch, bytes) in &self.held {
                let name = checkpoint_name(*step, *epoch);
                let path = folder.join(&name);
                write_atomic(&path, bytes).map_err(io_err(&path))?;
                checkpoints.push(CheckpointRef {
                    step: *step,
                    epoch: *epoch,
                    path: dir.join(CHECKPOINTS).join(name),
                });
            }
        }
        let mut frame_files = vec![];
        if !self.frame_files.is_empty() || !self.frames.is_empty() {
            // frames only add views: one that cannot be read is left out, and the new folder's views
            // come from the others
            let folder = into.join(FRAMES);
            fs::create_dir(&folder).map_err(io_err(&folder))?;
            for c in &self.frame_files {
                let bytes = match read_bounded(&c.path, MAX_FRAME_BYTES) {
                    Ok(bytes) => bytes,
                    Err(e) => {
                        notes.push(left_out("frame", c, e));
                        continue;
                    }
                };
                let name = checkpoint_name(c.step, c.epoch);
                let path = folder.join(&name);
                write_atomic(&path, &bytes).map_err(io_err(&path))?;
                frame_files.push(CheckpointRef {
                    path: dir.join(FRAMES).join(name),
                    ..c.clone()
                });
            }
            for (step, epoch, model) in &self.frames {
                if frame_files.iter().any(|c| c.step == *step) {
                    continue;
                }
                let name = checkpoint_name(*step, *epoch);
                let path = folder.join(&name);
                write_atomic(&path, &Frame::encode(*step, *epoch, model)?)
                    .map_err(io_err(&path))?;
                frame_files.push(CheckpointRef {
                    step: *step,
                    epoch: *epoch,
                    path: dir.join(FRAMES).join(name),
                });
            }
            frame_files.sort_by_key(|c| c.step);
        }
        self.write_tables(into)?;
        Ok((checkpoints, frame_files, notes))
    }

    /// The run's weight frames (the views' frames, once the run has ended): written into `RUN/frames/`
    /// when the run has a folder, else held until [`RunWriter::attach`]. A frame file already there
    /// is left as it is: in a run continued in its folder it holds the same step's weights (a resume
    /// is exact), and a file this run did not write is never replaced.
    pub fn keep_frames(&mut self, frames: Vec<SharedFrame>) -> Result<(), RunDirError> {
        let Some(dir) = &self.dir else {
            self.frames = frames;
            return Ok(());
        };
        if frames.is_empty() {
            return Ok(());
        }
        let folder = dir.join(FRAMES);
        fs::create_dir_all(&folder).map_err(io_err(&folder))?;
        for (step, epoch, model) in frames {
            let path = folder.join(checkpoint_name(step, epoch));
            if fs::symlink_metadata(&path).is_err() {
                let bytes = Frame::encode(step, epoch, &model)?;
                write_atomic(&path, &bytes).map_err(io_err(&path))?;
            }
            if !self.frame_files.iter().any(|c| c.step == step) {
                self.frame_files.push(CheckpointRef { step, epoch, path });
            }
        }
        self.frame_files.sort_by_key(|c| c.step);
        Ok(())
    }

    /// Frames held until the run has a folder: (step, epoch) of each.
    pub fn held_frames(&self) -> Vec<(u64, u64)> {
        self.frames.iter().map(|(s, e, _)| (*s, *e)).collect()
    }

    /// [`Self::attach`] to `to.dir`, also writing TensorBoard event files from now on when asked,
    /// and naming the parent's new folder when a fork's parent was copied there. Refused, the
    /// recorder is as it was. What was left out, as [`Self::attach`] says it.
    pub fn attach_to(&mut self, to: &crate::protocol::SaveTo) -> Result<Vec<String>, RunDirError> {
        let (tensorboard, parent) = (self.tensorboard, self.info.parent.clone());
        self.tensorboard |= to.tensorboard;
        if let (Some(dir), Some(p)) = (&to.parent, &mut self.info.parent) {
            p.dir = dir.clone();
        }
        let r = self.attach(&to.dir);
        if r.is_err() {
            self.tensorboard = tensorboard;
            self.info.parent = parent;
        }
        r
    }

    /// Let go of the folder's lock: the run has ended and nothing more is written there (a window
    /// keeps its ended run's recorder, to save it into another folder, which it locks while it writes
    /// it), so another process may resume or repair it.
    pub fn release_lock(&mut self) {
        self.lock = None;
    }

    /// Checkpoints kept in memory until the run has a folder: (step, epoch) of each.
    pub fn held_checkpoints(&self) -> Vec<(u64, u64)> {
        self.held.iter().map(|(s, e, _)| (*s, *e)).collect()
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }
    pub fn rows(&self) -> &[MetricRow] {
        &self.rows
    }
    pub fn events(&self) -> &[RunEvent] {
        &self.events
    }
    pub fn info(&self) -> &RunInfo {
        &self.info
    }
    pub fn checkpoints(&self) -> &[CheckpointRef] {
        &self.checkpoints
    }

    /// Record a fork's inherited milestones ([`RunEvent::Detected`] with `inherited`), after the line
    /// that says where it came from: they are written with its next flush (its start's).
    pub fn inherit(&mut self, milestones: Vec<RunEvent>) {
        self.events.extend(milestones);
    }

    /// Record what a runner reported; flushes to disk when due (rows every `flush_every`, events
    /// and the end at once).
    pub fn observe(&mut self, ev: &Event) -> Result<(), RunDirError> {
        let mut now = false;
        match ev {
            Event::Started { param_count, .. } => {
                self.info.param_count = *param_count;
                let (step, epoch) = self.position();
                self.events.push(RunEvent::Started {
                    param_count: *param_count,
                    step,
                    epoch,
                });
                now = true;
            }
            Event::Metrics { rows, .. } => {
                self.rows.extend(rows.iter().cloned());
                let (step, epoch) = self.position();
                self.info.steps = step;
                self.info.epochs = epoch;
            }
            Event::Lab {
                payload: LabEvent::Grokking(GrokkingEvent::Detected { event, step, epoch }),
                ..
            } => {
                self.events.push(RunEvent::Detected {
                    what: *event,
                    step: *step,
                    epoch: *epoch,
                    inherited: false,
                });
                now = true;
            }
            Event::Changed {
                change,
                step,
                epoch,
                ..
            } => {
                self.events.push(RunEvent::Changed {
                    change: *change,
                    step: *step,
                    epoch: *epoch,
                });
                now = true;
            }
            Event::Finished {
                outcome, summary, ..
            } => {
                let (step, epoch) = self.position();
                self.events.push(RunEvent::Finished {
                    outcome: outcome.clone(),
                    step,
                    epoch,
                });
                self.set_status(outcome);
                self.info.summary = summary.clone();
                now = true;
            }
            Event::Progress { .. }
            | Event::Paused { .. }
            | Event::Saved { .. }
            | Event::Refused { .. }
            | Event::Note { .. }
            | Event::Lab { .. } => {}
        }
        if now || self.last_flush.elapsed() >= self.flush_every {
            self.flush()?;
        }
        Ok(())
    }

    /// run.json's status and message for a run that ended so.
    fn set_status(&mut self, outcome: &Outcome) {
        self.info.status = match outcome {
            Outcome::Completed => RunStatus::Completed,
            Outcome::Stopped => RunStatus::Stopped,
            Outcome::Failed { .. } => RunStatus::Failed,
        };
        self.info.message = match outcome {
            Outcome::Failed { message } => Some(message.clone()),
            Outcome::Completed | Outcome::Stopped => None,
        };
    }

    /// The end already recorded is `outcome` after all (a failure found while saving it): the last
    /// `finished` event and run.json say so, and are written again.
    pub fn amend_end(&mut self, outcome: &Outcome) -> Result<(), RunDirError> {
        if let Some(RunEvent::Finished { outcome: o, .. }) = self.events.last_mut() {
            *o = outcome.clone();
        }
        self.set_status(outcome);
        self.flush()
    }

    fn position(&self) -> (u64, u64) {
        self.rows
            .last()
            .map(|r| (r.step, r.epoch))
            .unwrap_or_else(|| {
                self.checkpoints
                    .last()
                    .map(|c| (c.step, c.epoch))
                    .unwrap_or((self.info.steps, self.info.epochs))
            })
    }

    /// Write metrics.csv, events.jsonl and run.json (each atomically), and append to the TensorBoard
    /// event file when [`RunWriter::tensorboard`] is on. Nothing happens in memory mode.
    pub fn flush(&mut self) -> Result<(), RunDirError> {
        self.last_flush = Instant::now();
        self.info.wall_secs = self.prior_wall + self.t0.elapsed().as_secs_f64();
        let Some(dir) = self.dir.clone() else {
            return Ok(());
        };
        self.write_tables(&dir)?;
        if self.tensorboard {
            let tb_dir = dir.join(tensorboard::FOLDER);
            self.write_tensorboard(&tb_dir).map_err(io_err(&tb_dir))?;
        }
        Ok(())
    }

    /// metrics.csv, events.jsonl, run.json and, once the run has ended, summary.json, into `dir`.
    /// summary.json is derived: the run's [`Summary`], which run.json also holds, recomputed whenever
    /// a run ends; no command reads it, so it is written whatever was there (read or not), as run.json
    /// is rewritten from what was read of it.
    fn write_tables(&self, dir: &Path) -> Result<(), RunDirError> {
        let mut events = String::new();
        for e in &self.events {
            // a plain enum of numbers and strings always serialises
            events.push_str(&serde_json::to_string(e).unwrap_or_default());
            events.push('\n');
        }
        let info = serde_json::to_string_pretty(&self.info).unwrap_or_default();
        // a finished run's numbers, in every run folder however it was written (window or CLI)
        let summary = self.info.summary.as_ref().map(|s| {
            (
                SUMMARY_FILE,
                serde_json::to_string_pretty(s).unwrap_or_default(),
            )
        });
        for (name, text) in [
            ("metrics.csv", metrics_csv(&self.rows)),
            ("events.jsonl", events),
            ("run.json", info),
        ]
        .into_iter()
        .chain(summary)
        {
            let path = dir.join(name);
            write_atomic(&path, text.as_bytes()).map_err(io_err(&path))?;
        }
        Ok(())
    }

    /// Append what is new since the last call to this session's event file in `dir` (opened on first
    /// use). Each file begins with a session start: TensorBoard drops what earlier files logged at its
    /// step or later (it takes the first start it sees as the run's beginning). A resume whose folder's
    /// earlier event files hold every row up to its checkpoint starts just after the checkpoint, dropping
    /// the part the resume replaces, and writes only what is new. Any other session starts at step 0 and
    /// writes the run's whole history (earlier files may be partial: written by a session that had the
    /// option off, cut short, or from elsewhere).
    fn write_tensorboard(&mut self, dir: &Path) -> io::Result<()> {
        let w = match &mut self.tb_file {
            Some(w) => w,
            None => {
                let earlier = tensorboard::event_files(dir).is_ok_and(|f| !f.is_empty());
                let covered = earlier && self.resumed_at.is_some() && {
                    let logged = tensorboard::logged_steps(dir);
                    let upto = self.tb_rows.min(self.rows.len());
                    self.rows[..upto]
                        .iter()
                        .all(|r| logged.contains(&(r.step as i64)))
                };
                let mut w = tensorboard::EventWriter::create(dir)?;
                match (covered, self.resumed_at) {
                    (true, Some(step)) => w.session_start(step + 1)?,
                    (true, None) | (false, _) => {
                        w.session_start(0)?;
                        (self.tb_rows, self.tb_events) = (0, 0);
                    }
                }
                self.tb_file.insert(w)
            }
        };
        for r in &self.rows[self.tb_rows.min(self.rows.len())..] {
            let values = r
                .values
                .iter()
                .map(|&(m, v)| (tensorboard::tag(m).to_string(), v as f32))
                .collect();
            w.scalars(r.step, values)?;
        }
        for e in &self.events[self.tb_events.min(self.events.len())..] {
            match e {
                RunEvent::Detected {
                    what,
                    step,
                    epoch,
                    inherited: false,
                } => {
                    w.scalars(
                        *step,
                        vec![(tensorboard::event_tag(*what).into(), *epoch as f32)],
                    )?;
                }
                // starts and ends are not measurements; hyper-parameter changes show in hparams/*;
                // a fork's inherited milestones are its parent's (in the parent's files)
                RunEvent::Detected {
                    inherited: true, ..
                }
                | RunEvent::Forked { .. }
                | RunEvent::Started { .. }
                | RunEvent::Changed { .. }
                | RunEvent::Finished { .. } => {}
            }
        }
        w.flush()?;
        self.tb_rows = self.rows.len();
        self.tb_events = self.events.len();
        Ok(())
    }

    /// Save a checkpoint and flush; without a folder it is held in memory until
    /// [`RunWriter::attach`] (and `None` is returned).
    pub fn checkpoint(&mut self, state: &TrainerState) -> Result<Option<PathBuf>, RunDirError> {
        let (step, epoch) = (state.scalars.step, state.scalars.epoch);
        let Some(dir) = &self.dir else {
            if self.held.last().is_none_or(|(s, _, _)| *s != step) {
                self.held.push((step, epoch, state.to_bytes()?));
            }
            return Ok(None);
        };
        if self.checkpoints.last().is_some_and(|c| c.step == step) {
            return Ok(None);
        }
        let folder = dir.join(CHECKPOINTS);
        fs::create_dir_all(&folder).map_err(io_err(&folder))?;
        let path = folder.join(checkpoint_name(step, epoch));
        write_atomic(&path, &state.to_bytes()?).map_err(io_err(&path))?;
        self.checkpoints.push(CheckpointRef {
            step,
            epoch,
            path: path.clone(),
        });
        self.flush()?;
        Ok(Some(path))
    }
}

/// Whether `dir` holds any of a run folder's own files (run.json, config.toml or metrics.csv): what
/// [`RunFolder::open`] and `grokscope export` take as "this is a run folder".
pub fn looks_like_run(dir: &Path) -> bool {
    ["run.json", "config.toml", "metrics.csv"]
        .iter()
        .any(|n| dir.join(n).exists())
}

/// Whether `inner` (which may not exist yet) lies inside the folder `outer` or is it, as the paths
/// resolve (links, `..`): a new run folder there would put one run's files inside another's.
pub fn inside(outer: &Path, inner: &Path) -> bool {
    let Ok(outer) = fs::canonicalize(outer) else {
        return false;
    };
    // the deepest part of `inner` that exists, resolved, with the rest appended
    let mut existing = inner.to_path_buf();
    let mut rest = vec![];
    while fs::symlink_metadata(&existing).is_err() {
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                existing = if parent.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    parent.to_path_buf()
                };
            }
            _ => return false,
        }
    }
    let Ok(mut resolved) = fs::canonicalize(&existing) else {
        return false;
    };
    resolved.extend(rest.iter().rev());
    resolved.starts_with(&outer)
}

/// Why making `dir` would make more than `allowed` new folders, if it would: the window makes at
/// most a runs folder and a run's own folder, so a mistyped path (`/hom/me/runs`) is named instead of
/// made wherever permissions allow. The first missing folder is named, under the nearest one that is
/// there.
/// Why folder `dir` could not be made, read from the nearest part of its path that is there: not a
/// folder, or one this process may not write into (on Unix, `access(W_OK | X_OK)`, which answers
/// for this user as the kernel would); `None` when it looks possible. Asked before anything is
/// changed for a run that would be recorded there (the window's autosave), so that a folder that
/// cannot take it is said before the run starts, not by a run that fails after it.
pub fn cannot_make_in(dir: &Path) -> Option<String> {
    let mut at = dir;
    while !at.as_os_str().is_empty() && fs::symlink_metadata(at).is_err() {
        match at.parent() {
            Some(p) => at = p,
            None => break,
        }
    }
    let at = if at.as_os_str().is_empty() {
        Path::new(".")
    } else {
        at
    };
    match fs::metadata(at) {
        Ok(m) if !m.is_dir() => return Some(format!("{} is not a folder", at.display())),
        Ok(_) => {}
        Err(e) => return Some(format!("{}: {e}", at.display())),
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt as _;
        let c = std::ffi::CString::new(at.as_os_str().as_bytes()).ok()?;
        // SAFETY: a NUL-terminated path that lives across the call; access reads it only
        if unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } != 0 {
            let e = std::io::Error::last_os_error();
            return Some(format!("cannot write into {}: {e}", at.display()));
        }
    }
    None
}

pub fn too_many_new_folders(dir: &Path, allowed: usize) -> Option<String> {
    let mut missing: Vec<&Path> = vec![];
    let mut at = dir;
    loop {
        // an empty path (the parent of a relative name) is the working directory, which is there
        let there = at.as_os_str().is_empty() || fs::symlink_metadata(at).is_ok();
        if there {
            break;
        }
        missing.push(at);
        match at.parent() {
            Some(p) => at = p,
            None => break,
        }
    }
    if missing.len() <= allowed {
        return None;
    }
    let first = missing.last().copied().unwrap_or(dir);
    let under = match first.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.display().to_string(),
        _ => "the working folder".to_string(),
    };
    Some(format!(
        "{} does not exist (in {under}), so {} new folders would be made for {}: is the path          mistyped? Make the folder first, or choose one that is there",
        first.display(),
        missing.len(),
        dir.display()
    ))
}

/// Make way for a new run in `dir` when all it holds is temporary files of writes that killed
/// processes left unfinished (`.NAME.PID-N.partial`, [`Partial::Stale`]): they are removed
/// ([`clear_stale_partials`]), and what was done with each is returned, one sentence each, as a resume
/// says it. A folder holding anything else (or nothing, or missing) is left as it is, for
/// [`refuse_unless_empty`] to judge. One of such files alone, one of them a write that may be under
/// way (its process still runs, or cannot be looked up), is refused naming those, left as it was.
pub fn clear_killed_writes(dir: &Path) -> Result<Vec<String>, RunDirError> {
    if !fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        return Ok(vec![]);
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(vec![]);
    };
    let mut in_use = vec![];
    let mut any = false;
    for e in entries {
        let Ok(e) = e else {
            return Ok(vec![]);
        };
        let name = e.file_name().to_string_lossy().into_owned();
        // (a name that is not UTF-8 is no such file: `clear_stale_partials` passes it by too)
        let partial = e
            .file_name()
            .to_str()
            .and_then(Partial::of)
            .filter(|_| e.file_type().is_ok_and(|t| t.is_file()));
        match partial {
            None => return Ok(vec![]),
            Some(Partial::Stale(_)) => {}
            Some(p @ (Partial::Live(_) | Partial::Unknown(_))) => {
                in_use.push(format!("{name}, {}", p.writer_text()));
            }
        }
        any = true;
    }
    if !in_use.is_empty() {
        in_use.sort();
        return Err(RunDirError::NotARun(format!(
            "{} is not empty: it holds {}; nothing was changed: let that write end, or choose an \
             empty or new folder",
            dir.display(),
            in_use.join("; ")
        )));
    }
    Ok(if any {
        clear_stale_partials(dir, &[])
    } else {
        vec![]
    })
}

/// Refuse `dir` unless it is missing or an empty folder: nothing already there is ever overwritten.
pub fn refuse_unless_empty(dir: &Path) -> Result<(), RunDirError> {
    let meta = match fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(dir)(e)),
    };
    if !meta.is_dir() {
        let what = if meta.file_type().is_symlink() {
            "a symbolic link (not followed: give the folder itself)"
        } else {
            "a file, not a folder"
        };
        return Err(RunDirError::NotARun(format!(
            "{} is {what}; choose an empty or new folder",
            dir.display()
        )));
    }
    let mut entries = fs::read_dir(dir).map_err(io_err(dir))?;
    if let Some(first) = entries.next() {
        let what = if dir.join("run.json").exists() || dir.join("metrics.csv").exists() {
            "already holds a run".to_string()
        } else {
            let name = first.map_or_else(
                |_| "something".to_string(),
                |e| e.file_name().to_string_lossy().to_string(),
            );
            format!("is not empty (it holds {name})")
        };
        return Err(RunDirError::NotARun(format!(
            "{} {what}; choose an empty or new folder",
            dir.display()
        )));
    }
    Ok(())
}

/// What [`copy_run`] copied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopiedRun {
    pub files: usize,
    pub bytes: u64,
}

/// Copy the run folder `from`, whole, into `to` (missing or an empty folder; refused otherwise): every
/// file in it and in its sub-folders (`checkpoints/`, `frames/`, `tensorboard/`, and any other one
/// level down), so the copy stands alone. `parent`: the fork's parent now lies there, and the copy's
/// run.json names it (the rest of run.json is kept as it is).
///
/// Nothing in `from` is written. The copy is made in a hidden folder beside `to` and moved into
/// place at the end ([`build_beside`]), so a failure (a file that cannot be read in full, a link, a full disk) leaves no
/// half copy under `to`: the hidden folder, ours alone, is removed and `to` is as it was.
///
/// Hand-written, not a directory-copy crate: each file is read with [`read_bounded`] (links refused,
/// sizes bounded), and run.json is edited on the way.
pub fn copy_run(from: &Path, to: &Path, parent: Option<&Path>) -> Result<CopiedRun, RunDirError> {
    let meta = fs::symlink_metadata(from).map_err(io_err(from))?;
    if !meta.is_dir() || !looks_like_run(from) {
        return Err(RunDirError::NotARun(format!(
            "{} is not a grokscope run folder",
            from.display()
        )));
    }
    if to.starts_with(from) {
        return Err(RunDirError::NotARun(format!(
            "{} lies inside the run folder {}; choose a folder outside it",
            to.display(),
            from.display()
        )));
    }
    refuse_unless_empty(to)?;
    build_beside(to, "copy", |staging| copy_tree(from, staging, parent))
}

/// Make the new folder `to` holding exactly `files` (name, bytes), whole or not at all
/// ([`build_beside`]); a folder that exists and is not empty is refused and left as it was
/// ([`refuse_unless_empty`]). `label` names the hidden folder it is built in.
pub fn create_folder_of(
    to: &Path,
    label: &str,
    files: &[(&str, &[u8])],
) -> Result<(), RunDirError> {
    refuse_unless_empty(to)?;
    build_beside(to, label, |staging| {
        for (name, bytes) in files {
            let path = staging.join(name);
            write_atomic(&path, bytes).map_err(io_err(&path))?;
        }
        Ok(())
    })
}

/// Make the new folder `to` (missing or an empty folder: [`refuse_unless_empty`] checks it first) by
/// `fill`ing a hidden folder beside it (`.NAME.LABEL-PID-NANOS`), moved into place once `fill` has
/// succeeded. A failure (a file that cannot be read in full, a link, a full disk) leaves no half-made
/// `to`: the hidden folder, ours alone and holding only what `fill` wrote, is removed, with the folders
/// made above `to` for it, and `to` is as it was. A process killed meanwhile leaves the hidden folder,
/// never a `to` that blocks a retry ("not empty") or that reads as a run of nothing.
fn build_beside<T>(
    to: &Path,
    label: &str,
    fill: impl FnOnce(&Path) -> Result<T, RunDirError>,
) -> Result<T, RunDirError> {
    // `.` or `runs/..` names its folder only once resolved (it is there: checked by the caller)
    let resolved;
    let to = if to.file_name().is_some() {
        to
    } else {
        resolved = fs::canonicalize(to).map_err(io_err(to))?;
        resolved.as_path()
    };
    let name = to
        .file_name()
        .ok_or_else(|| RunDirError::NotARun(format!("{} names no folder", to.display())))?;
    let above = match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // the folders made for it, removed again (emptied of nothing else) if it fails
    let made = create_dirs(above)?;
    let undo = |made: &[PathBuf]| {
        for dir in made.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut hidden = std::ffi::OsString::from(".");
    hidden.push(name);
    hidden.push(format!(".{label}-{}-{nanos}", std::process::id()));
    let staging = above.join(hidden);
    if let Err(e) = fs::create_dir(&staging) {
        undo(&made);
        return Err(io_err(&staging)(e));
    }
    let result = fill(&staging).and_then(|made| {
        place(&staging, to)?;
        Ok(made)
    });
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
        undo(&made);
    }
    result
}

/// Move the finished folder `staging` to `to`: renamed when `to` is missing; when `to` is an empty
/// folder (kept: it may be the working folder, or one a file dialog made), what `staging` holds is
/// moved into it, and moved back if one move fails.
fn place(staging: &Path, to: &Path) -> Result<(), RunDirError> {
    if fs::symlink_metadata(to).is_err() {
        return fs::rename(staging, to).map_err(io_err(to));
    }
    let names: Vec<std::ffi::OsString> = fs::read_dir(staging)
        .map_err(io_err(staging))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<io::Result<_>>()
        .map_err(io_err(staging))?;
    for (i, name) in names.iter().enumerate() {
        if let Err(e) = fs::rename(staging.join(name), to.join(name)) {
            for back in &names[..i] {
                let _ = fs::rename(to.join(back), staging.join(back));
            }
            return Err(io_err(&to.join(name))(e));
        }
    }
    // empty now; one left behind would be an empty hidden folder, harmless
    let _ = fs::remove_dir(staging);
    Ok(())
}

/// `dir` and the folders above it that are missing, made from the top down; returns those it made,
/// top first. One it could not make undoes those made before it.
fn create_dirs(dir: &Path) -> Result<Vec<PathBuf>, RunDirError> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(d) = at.filter(|d| !d.as_os_str().is_empty()) {
        if fs::symlink_metadata(d).is_ok() {
            break;
        }
        missing.push(d.to_path_buf());
        at = d.parent();
    }
    let mut made = Vec::new();
    for d in missing.into_iter().rev() {
        match fs::create_dir(&d) {
            Ok(()) => made.push(d),
            // made meanwhile by someone else: theirs, not ours to remove
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => {
                for m in made.iter().rev() {
                    let _ = fs::remove_dir(m);
                }
                return Err(io_err(&d)(e));
            }
        }
    }
    Ok(made)
}

/// The files of `from` and of its sub-folders (one level down) into the new folder `to`.
fn copy_tree(from: &Path, to: &Path, parent: Option<&Path>) -> Result<CopiedRun, RunDirError> {
    let mut copied = CopiedRun { files: 0, bytes: 0 };
    let mut named_parent = parent.is_none();
    let mut folders = vec![(from.to_path_buf(), to.to_path_buf(), true)];
    while let Some((src, dst, top)) = folders.pop() {
        let listing = fs::read_dir(&src).map_err(io_err(&src))?;
        for entry in listing {
            let entry = entry.map_err(io_err(&src))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(io_err(&path))?;
            let target = dst.join(entry.file_name());
            // a folder's lock is its own writer's, not part of the run
            if top && entry.file_name() == LOCK_FILE {
                continue;
            }
            if kind.is_dir() {
                if !top {
                    return Err(RunDirError::NotARun(format!(
                        "{} is a folder two levels down; a run folder has none, so it was not copied",
                        path.display()
                    )));
                }
                fs::create_dir(&target).map_err(io_err(&target))?;
                folders.push((path, target, false));
                continue;
            }
            let mut bytes = read_bounded(&path, MAX_CHECKPOINT_BYTES).map_err(io_err(&path))?;
            if top
                && entry.file_name() == "run.json"
                && let Some(parent) = parent
            {
                bytes = renamed_parent(&bytes, parent).map_err(|why| {
                    RunDirError::NotARun(format!(
                        "{}: {why}, so the copy could not be pointed at its parent's copy",
                        path.display()
                    ))
                })?;
                named_parent = true;
            }
            write_atomic(&target, &bytes).map_err(io_err(&target))?;
            copied.files += 1;
            copied.bytes += bytes.len() as u64;
        }
    }
    if !named_parent {
        return Err(RunDirError::NotARun(format!(
            "{} has no run.json, so the copy could not name its parent's copy",
            from.display()
        )));
    }
    Ok(copied)
}

/// run.json (`bytes`) with its parent's folder set to `dir`; every other field kept as it is.
fn renamed_parent(bytes: &[u8], dir: &Path) -> Result<Vec<u8>, String> {
    let mut info: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON ({e})"))?;
    let slot = info
        .get_mut("parent")
        .and_then(|p| p.get_mut("dir"))
        .ok_or("it names no parent run")?;
    let dir = dir
        .to_str()
        .ok_or("the parent's new folder is not valid UTF-8")?;
    *slot = serde_json::Value::String(dir.into());
    serde_json::to_vec_pretty(&info).map_err(|e| e.to_string())
}

/// The listing of `dir`'s sub-folder `sub` (`checkpoints/`, `frames/`): `None` when there is none, or
/// when it is not a plain folder or cannot be listed (named in `problems`; a link is never followed).
fn checkpoint_listing(dir: &Path, sub: &str, problems: &mut Vec<String>) -> Option<fs::ReadDir> {
    let cdir = dir.join(sub);
    match fs::symlink_metadata(&cdir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => {
            problems.push(format!("{sub}/ cannot be read: {e}"));
            None
        }
        Ok(m) if !m.is_dir() => {
            problems.push(format!(
                "{sub} is not a folder (a link or a file); not followed"
            ));
            None
        }
        Ok(_) => match fs::read_dir(&cdir) {
            Ok(entries) => Some(entries),
            Err(e) => {
                problems.push(format!("{sub}/ cannot be listed: {e}"));
                None
            }
        },
    }
}

/// Move every checkpoint of `dir` after `step` (by its name; links too, not followed) into
/// `set-aside/checkpoints/` ([`super::files::set_aside`]). What was moved, `FROM -> TO` each,
/// relative to `dir`.
fn set_aside_after(dir: &Path, step: u64) -> Result<Vec<String>, RunDirError> {
    let Ok(entries) = fs::read_dir(dir.join(CHECKPOINTS)) else {
        return Ok(vec![]); // none, or not a folder (named by RunFolder::open)
    };
    let mut after: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let (s, _) = parse_checkpoint_name(&name)?;
            (s > step && !name.starts_with('.')).then_some(name)
        })
        .collect();
    after.sort();
    after
        .into_iter()
        .map(|name| {
            let from = dir.join(CHECKPOINTS).join(&name);
            let to = set_aside(dir, CHECKPOINTS, &name).map_err(io_err(&from))?;
            Ok(format!("{CHECKPOINTS}/{name} -> {to}"))
        })
        .collect()
}

/// The files of a `checkpoints/` or `frames/` (`sub`) listing in step order; links and foreign names
/// are named in `problems` and left out.
fn checkpoint_entries(
    entries: fs::ReadDir,
    sub: &str,
    problems: &mut Vec<String>,
) -> Vec<CheckpointRef> {
    let mut checkpoints = vec![];
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue; // a write that never finished
        }
        if entry.file_type().is_ok_and(|t| t.is_symlink()) {
            problems.push(format!("{sub}/{name} is a symbolic link; not followed"));
            continue;
        }
        match parse_checkpoint_name(&name) {
            Some((step, epoch)) => checkpoints.push(CheckpointRef {
                step,
                epoch,
                path: entry.path(),
            }),
            None => problems.push(format!(
                "{sub}/{name} is not a {} name; ignored",
                if sub == FRAMES { "frame" } else { "checkpoint" }
            )),
        }
    }
    checkpoints.sort_by_key(|c| c.step);
    checkpoints
}

/// Why the safetensors file at `path` is not whole, judged by its header and size alone (a few
/// kilobytes read, not the tensors): empty, unreadable, cut short or longer than its header says.
/// `None` when it looks whole; its checksums are checked only when it is loaded.
///
/// Written by hand: the `safetensors` crate checks a header only against the whole file in memory.
pub fn not_whole(path: &Path) -> Option<String> {
    use std::io::Read;
    let len = match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => return Some("is a folder, not a file".into()),
        Ok(m) => m.len(),
        Err(e) => return Some(format!("cannot be read: {e}")),
    };
    if len == 0 {
        return Some("is empty (0 bytes)".into());
    }
    let mut f = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return Some(format!("cannot be read: {e}")),
    };
    let mut n8 = [0u8; 8];
    if f.read_exact(&mut n8).is_err() {
        return Some(format!("is cut short ({len} bytes)"));
    }
    let n = u64::from_le_bytes(n8);
    // safetensors caps a header at 100 MB
    if n > 100_000_000 {
        return Some("does not start with a safetensors header".into());
    }
    if 8 + n > len {
        return Some(format!(
            "is cut short: {len} bytes, less than its header's {}",
            8 + n
        ));
    }
    let mut head = vec![0u8; n as usize];
    if let Err(e) = f.read_exact(&mut head) {
        return Some(format!("cannot be read: {e}"));
    }
    let Ok(serde_json::Value::Object(tensors)) = serde_json::from_slice(&head) else {
        return Some("has a header that is not a safetensors header".into());
    };
    let end = tensors
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .filter_map(|(_, t)| t.get("data_offsets")?.get(1)?.as_u64())
        .max()
        .unwrap_or(0);
    // (a damaged header's offsets may be anything: the sum saturates rather than overflows)
    let want = (8 + n).saturating_add(end);
    match len.cmp(&want) {
        std::cmp::Ordering::Less => Some(format!(
            "is cut short: {len} bytes of the {want} its header gives"
        )),
        std::cmp::Ordering::Greater => Some(format!(
            "is {len} bytes, more than the {want} its header gives"
        )),
        std::cmp::Ordering::Equal => None,
    }
}

/// The checkpoints of the run folder `dir` by their file names alone (a directory listing: nothing
/// else of the folder is read), in step order.
pub fn list_checkpoints(dir: &Path) -> Result<Vec<CheckpointRef>, RunDirError> {
    let mut problems = vec![];
    match checkpoint_listing(dir, CHECKPOINTS, &mut problems) {
        Some(entries) => Ok(checkpoint_entries(entries, CHECKPOINTS, &mut problems)),
        None if problems.is_empty() => Ok(vec![]),
        None => Err(RunDirError::NotARun(format!(
            "{}: {}",
            dir.display(),
            problems.join("; ")
        ))),
    }
}

/// The problem said of a run folder's file `name` that is not there ([`RunFolder::is_missing`]).
fn missing_text(name: &str) -> String {
    format!("{name} is missing")
}

/// The problem said of a started run's `events.jsonl` that holds nothing ([`RunFolder::events_empty`]).
fn empty_events_text() -> String {
    "events.jsonl is empty, though the run has started (metrics.csv has rows, or run.json records \
     its start): the starts, milestones and changes it recorded are lost"
        .into()
}

/// A run folder as read back: what could be read, and what could not.
#[derive(Clone, Debug)]
pub struct RunFolder {
    pub dir: PathBuf,
    pub config: Option<GrokkingConfig>,
    pub info: Option<RunInfo>,
    pub rows: Vec<MetricRow>,
    pub events: Vec<RunEvent>,
    /// In step order.
    pub checkpoints: Vec<CheckpointRef>,
    /// The weight frames (`frames/`), in step order.
    pub frames: Vec<CheckpointRef>,
    /// Everything that was missing, unreadable or suspicious, one sentence each.
    pub problems: Vec<String>,
    /// The problems of files a resume rewrites (run.json, metrics.csv, events.jsonl) or relies on
    /// (config.toml) that are present but could not be read in full: a resume in place is refused
    /// while any is left. Missing files are not among them (nothing is lost by writing them).
    pub damaged: Vec<String>,
}

impl RunFolder {
    /// Read a run folder. Fails only when `dir` is not a folder or holds nothing of a run; otherwise
    /// every part that cannot be read is named in `problems` and the rest is returned.
    pub fn open(dir: &Path) -> Result<Self, RunDirError> {
        let meta = fs::metadata(dir).map_err(io_err(dir))?;
        if !meta.is_dir() {
            return Err(RunDirError::NotARun(format!(
                "{} is not a folder",
                dir.display()
            )));
        }
        if !looks_like_run(dir) {
            // a folder that cannot be listed (no permission) is said to be that, not to be empty
            fs::read_dir(dir).map_err(io_err(dir))?;
            return Err(RunDirError::NotARun(format!(
                "{} is not a grokscope run folder: it has no run.json, config.toml or metrics.csv",
                dir.display()
            )));
        }
        let mut problems = vec![];
        let read = |name: &str, problems: &mut Vec<String>| -> Option<String> {
            match read_bounded(&dir.join(name), MAX_TABLE_BYTES) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        let at = e.utf8_error().valid_up_to();
                        let bytes = e.as_bytes();
                        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
                        problems.push(format!(
                            "{name} line {line}: byte {at} (0x{:02x}) is not text (UTF-8); the file is ignored",
                            bytes[at]
                        ));
                        None
                    }
                },
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    problems.push(missing_text(name));
                    None
                }
                Err(e) => {
                    problems.push(format!("{name}: {e}"));
                    None
                }
            }
        };
        let info = read("run.json", &mut problems).and_then(|t| {
            let v: serde_json::Value = match serde_json::from_str(&t) {
                Ok(v) => v,
                Err(e) => {
                    problems.push(format!("run.json is not valid JSON ({e}); ignored"));
                    return None;
                }
            };
            if v.get("format").and_then(|f| f.as_str()) != Some(RUN_FORMAT) {
                problems.push("run.json was not written by grokscope; ignored".into());
                return None;
            }
            let version = v.get("format_version").and_then(|f| f.as_u64());
            if version.is_none_or(|n| n > RUN_VERSION as u64) {
                problems.push(format!(
                    "run.json has run-folder version {}, newer than this build reads ({RUN_VERSION}); \
                     showing only what this version understands",
                    version.map_or("?".to_string(), |n| n.to_string())
                ));
            }
            match serde_json::from_value::<RunInfo>(v) {
                Ok(i) => Some(i),
                Err(e) => {
                    problems.push(format!("run.json: {e}; ignored"));
                    None
                }
            }
        });
        let config = read("config.toml", &mut problems).and_then(|t| {
            GrokkingConfig::from_toml(&t)
                .map(GrokkingConfig::from)
                .map_err(|e| problems.push(format!("config.toml: {e:#}")))
                .ok()
        });
        let rows = read("metrics.csv", &mut problems)
            .map(|t| parse_metrics_csv(&t, &mut problems))
            .unwrap_or_default();
        let mut events = vec![];
        let events_text = read("events.jsonl", &mut problems);
        // everything above is about a file a resume rewrites or relies on
        let mut damaged: Vec<String> = problems
            .iter()
            .filter(|p| !p.ends_with(" is missing"))
            .cloned()
            .collect();
        // a run records a row every epoch: a gap is rows lost (lines deleted by hand), which the
        // plots draw as a straight line; said, but not damage (a resume rewrites what is there)
        let gaps: Vec<String> = rows
            .windows(2)
            .filter(|w| w[1].epoch > w[0].epoch + 1)
            .map(|w| match w[1].epoch - w[0].epoch - 1 {
                1 => format!("epoch {}", w[0].epoch + 1),
                _ => format!("epochs {}-{}", w[0].epoch + 1, w[1].epoch - 1),
            })
            .collect();
        if !gaps.is_empty() {
            problems.push(format!(
                "metrics.csv has no row for {} (a run records one every epoch; the plots join \
                 the rows either side with a straight line)",
                crate::config::list_some(&gaps, 5, ", ")
            ));
        }
        let config = match info.as_ref().and_then(|i| i.config.clone()) {
            None => config,
            Some(recorded) => match GrokkingConfig::validate(&recorded) {
                Err(e) => {
                    problems.push(format!("run.json's recorded config: {e}; config.toml used"));
                    config
                }
                Ok(()) => {
                    let edited = config
                        .as_ref()
                        .map(|c| crate::config::differences(&recorded, c))
                        .unwrap_or_default();
                    if !edited.is_empty() {
                        problems.push(format!(
                            "{CONFIG_EDITED} ({}); the recorded one (run.json) is used",
                            edited.join(", ")
                        ));
                    }
                    Some(recorded)
                }
            },
        };
        // a run that has started records its start in events.jsonl at once (a new folder's file is
        // empty only until then): an empty one lost what it held; named, and not damage, since
        // nothing is lost by writing it again (a resume restores the milestones, as for a missing one)
        let started = !rows.is_empty() || info.as_ref().is_some_and(|i| i.param_count > 0);
        if started && events_text.as_deref().is_some_and(|t| t.trim().is_empty()) {
            problems.push(empty_events_text());
        }
        if let Some(text) = events_text {
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<RunEvent>(line) {
                    Ok(e) => events.push(e),
                    Err(e) => {
                        let why = format!("events.jsonl line {}: {e}; skipped", i + 1);
                        damaged.push(why.clone());
                        problems.push(why);
                    }
                }
            }
        }
        let checkpoints = checkpoint_listing(dir, CHECKPOINTS, &mut problems)
            .map(|entries| checkpoint_entries(entries, CHECKPOINTS, &mut problems))
            .unwrap_or_default();
        // a checkpoint cut short is named now, by its header and size alone (it is read whole only
        // when used); it stays listed: a resume skips it, saying so, and a fork is offered the others
        for c in &checkpoints {
            if let Some(why) = not_whole(&c.path) {
                let name = c.path.file_name().unwrap_or_default().to_string_lossy();
                problems.push(format!("{CHECKPOINTS}/{name} {why}"));
            }
        }
        let frames = checkpoint_listing(dir, FRAMES, &mut problems)
            .map(|entries| checkpoint_entries(entries, FRAMES, &mut problems))
            .unwrap_or_default();
        Ok(RunFolder {
            dir: dir.to_path_buf(),
            config,
            info,
            rows,
            events,
            checkpoints,
            frames,
            problems,
            damaged,
        })
    }

    /// Whether the folder's file `name` (`events.jsonl`, `run.json`, ...) was missing when it was read.
    pub fn is_missing(&self, name: &str) -> bool {
        self.problems.iter().any(|p| *p == missing_text(name))
    }

    /// Whether the folder's `events.jsonl` was empty though the run had started.
    pub fn events_empty(&self) -> bool {
        self.problems.contains(&empty_events_text())
    }

    /// Why `checkpoints/` itself could not be listed (not a folder, a link, no permission), if so.
    fn listing_problem(&self) -> Option<&String> {
        let folder = |p: &&String| {
            p.strip_prefix(CHECKPOINTS)
                .is_some_and(|rest| rest.starts_with("/ ") || rest.starts_with(" is not a folder"))
        };
        self.problems.iter().find(folder)
    }

    /// The checkpoint taken at `step`.
    pub fn checkpoint_at(&self, step: u64) -> Result<&CheckpointRef, RunDirError> {
        self.checkpoints
            .iter()
            .find(|c| c.step == step)
            .ok_or_else(|| {
                let have: Vec<String> = self
                    .checkpoints
                    .iter()
                    .map(|c| c.step.to_string())
                    .collect();
                // a file of that step left out when the folder was read (a link not followed) is named
                let of_step = |p: &&String| {
                    p.strip_prefix(&format!("{CHECKPOINTS}/"))
                        .and_then(|rest| rest.split_whitespace().next())
                        .and_then(parse_checkpoint_name)
                        .is_some_and(|(s, _)| s == step)
                };
                // and so is a `checkpoints/` that could not be listed
                let why: Vec<&str> = self
                    .problems
                    .iter()
                    .filter(of_step)
                    .chain(self.listing_problem())
                    .map(String::as_str)
                    .collect();
                let why = if why.is_empty() {
                    String::new()
                } else {
                    format!("; {}", why.join("; "))
                };
                RunDirError::NotARun(format!(
                    "{} has no checkpoint at step {step} (it has: {}){why}",
                    self.dir.display(),
                    if have.is_empty() {
                        "none".into()
                    } else {
                        have.join(", ")
                    }
                ))
            })
    }

    /// Read and check one checkpoint.
    pub fn load(&self, c: &CheckpointRef) -> Result<TrainerState, RunDirError> {
        let bytes = read_bounded(&c.path, MAX_CHECKPOINT_BYTES).map_err(io_err(&c.path))?;
        if bytes.is_empty() {
            return Err(RunDirError::NotARun(format!(
                "checkpoint {} is empty (0 bytes)",
                c.path.display()
            )));
        }
        let state = TrainerState::from_bytes(&bytes)
            .map_err(|e| RunDirError::NotARun(format!("checkpoint {}: {e}", c.path.display())))?;
        if (state.scalars.step, state.scalars.epoch) != (c.step, c.epoch) {
            return Err(RunDirError::NotARun(format!(
                "checkpoint {} holds step {} (epoch {}), not what its name says",
                c.path.display(),
                state.scalars.step,
                state.scalars.epoch
            )));
        }
        Ok(state)
    }

    /// Every step with saved weights, frames and checkpoints together in step order (a step with both
    /// is read from its frame, the smaller file): where the insight views of a saved run are
    /// recomputed.
    pub fn weights(&self) -> Vec<SavedWeights> {
        let mut all: Vec<SavedWeights> = self
            .frames
            .iter()
            .map(|c| SavedWeights {
                file: c.clone(),
                frame: true,
            })
            .collect();
        for c in &self.checkpoints {
            if !self.frames.iter().any(|f| f.step == c.step) {
                all.push(SavedWeights {
                    file: c.clone(),
                    frame: false,
                });
            }
        }
        all.sort_by_key(|w| w.file.step);
        all
    }

    /// The weights `w` and the config in force there (a checkpoint's own; for a frame, the run's at
    /// that step, which has the same task and model).
    pub fn load_weights(
        &self,
        w: &SavedWeights,
    ) -> Result<(crate::config::ValidGrokkingConfig, Vec<NamedTensor>), RunDirError> {
        if !w.frame {
            let state = self.load(&w.file)?;
            return Ok((state.config, state.model));
        }
        let c = &w.file;
        let config = self.config_at(c.step).ok_or_else(|| {
            RunDirError::NotARun(format!(
                "frame {}: the run's config.toml is missing or unreadable, so its model is unknown",
                c.path.display()
            ))
        })?;
        let config = crate::config::ValidGrokkingConfig::try_from(config)
            .map_err(|e| RunDirError::NotARun(format!("frame {}: {e}", c.path.display())))?;
        let bytes = read_bounded(&c.path, MAX_FRAME_BYTES).map_err(io_err(&c.path))?;
        if bytes.is_empty() {
            return Err(RunDirError::NotARun(format!(
                "frame {} is empty (0 bytes)",
                c.path.display()
            )));
        }
        let frame = Frame::from_bytes(&bytes)
            .map_err(|e| RunDirError::NotARun(format!("frame {}: {e}", c.path.display())))?;
        if (frame.step, frame.epoch) != (c.step, c.epoch) {
            return Err(RunDirError::NotARun(format!(
                "frame {} holds step {} (epoch {}), not what its name says",
                c.path.display(),
                frame.step,
                frame.epoch
            )));
        }
        Ok((config, frame.model))
    }

    /// The newest checkpoint that loads and that `usable` accepts, with why each newer one was
    /// skipped (one sentence each, naming the file).
    pub fn latest_usable<T>(
        &self,
        usable: impl Fn(&TrainerState) -> Result<T, String>,
    ) -> Result<(CheckpointRef, TrainerState, T, Vec<String>), RunDirError> {
        let mut why = vec![];
        for c in self.checkpoints.iter().rev() {
            match self.load(c) {
                Ok(s) => match usable(&s) {
                    Ok(t) => return Ok((c.clone(), s, t, why)),
                    Err(e) => why.push(format!("checkpoint {}: {e}", c.path.display())),
                },
                Err(e) => why.push(e.to_string()),
            }
        }
        let unlisted = self
            .problems
            .iter()
            .find(|p| p.starts_with(CHECKPOINTS))
            .map_or(String::new(), |p| format!(" ({p})"));
        Err(RunDirError::NotARun(if why.is_empty() {
            format!(
                "{} has no checkpoints to continue from{unlisted}",
                self.dir.display()
            )
        } else {
            format!(
                "no checkpoint of {} can be used: {}",
                self.dir.display(),
                why.join("; ")
            )
        }))
    }

    /// The config in force in the checkpoint at `step`: config.toml with the hyper-parameter changes
    /// recorded before that step (a change logged at step `s` acts from step `s + 1`, after the
    /// checkpoint at `s` was taken). `None` without a readable config.toml.
    pub fn config_at(&self, step: u64) -> Option<GrokkingConfig> {
        let mut cfg = self.config.clone()?;
        for e in &self.events {
            if let RunEvent::Changed {
                change, step: s, ..
            } = e
                && *s < step
            {
                match *change {
                    HyperChange::Lr(v) => cfg.optim.lr = v,
                    HyperChange::WeightDecay(v) => cfg.optim.weight_decay = v,
                }
            }
        }
        Some(cfg)
    }

    /// The grokking markers (memorised, generalised, changes) as (epoch, label): this run's own (a
    /// fork's inherited milestones are its parent's markers).
    pub fn markers(&self) -> Vec<(u64, String)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                RunEvent::Detected {
                    what,
                    epoch,
                    inherited: false,
                    ..
                } => Some((*epoch, what.to_string())),
                RunEvent::Changed { change, epoch, .. } => Some((*epoch, change.to_string())),
                RunEvent::Detected {
                    inherited: true, ..
                }
                | RunEvent::Forked { .. }
                | RunEvent::Started { .. }
                | RunEvent::Finished { .. } => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines of an events.jsonl written before forks said where they started (no `forked`, no
    /// `inherited`) read as they did; a fork's lines read back as written.
    #[test]
    fn old_and_new_event_lines_read() {
        let old = r#"{"event":"started","param_count":5,"step":0,"epoch":0}
{"event":"detected","what":"memorised","step":111,"epoch":111}
{"event":"changed","change":{"param":"weight_decay","value":0.3},"step":150,"epoch":150}
{"event":"finished","outcome":{"outcome":"completed"},"step":312,"epoch":312}"#;
        let read: Vec<RunEvent> = old
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            read[1],
            RunEvent::Detected {
                what: GrokEvent::Memorised,
                step: 111,
                epoch: 111,
                inherited: false
            }
        );
        // and a run's own milestone is written as before, without `inherited`
        assert_eq!(
            serde_json::to_string(&read[1]).unwrap(),
            old.lines().nth(1).unwrap()
        );
        let fork = vec![
            RunEvent::Forked {
                parent: PathBuf::from("runs/a"),
                step: 150,
                epoch: 150,
                changes: vec!["optim.weight_decay: 1.0 -> 0.3".into()],
            },
            RunEvent::Detected {
                what: GrokEvent::Memorised,
                step: 111,
                epoch: 111,
                inherited: true,
            },
        ];
        for e in &fork {
            let line = serde_json::to_string(e).unwrap();
            assert_eq!(
                &serde_json::from_str::<RunEvent>(&line).unwrap(),
                e,
                "{line}"
            );
        }
        // the fork's step for sorting and resuming
        assert_eq!(fork[0].step(), 150);
    }

    /// A fork's recorder stands at its parent's step from the start: its `started` says the fork
    /// step (it said step 0), after the line saying where it came from.
    #[test]
    fn a_forks_recorder_starts_at_its_fork_step() {
        let cfg = crate::config::preset("fast-mlp").unwrap().config;
        let parent = ParentRef {
            dir: PathBuf::from("runs/a"),
            step: 190,
            epoch: 190,
            changes: vec!["optim.weight_decay: 3.0 -> 0.3".into()],
        };
        let mut w = RunWriter::in_memory(&cfg, Some(parent));
        w.observe(&Event::Started {
            run: 1,
            config: Box::new(crate::config::RunConfig::Grokking(cfg.clone())),
            param_count: 7,
            steps_per_epoch: 1,
            device: None,
        })
        .unwrap();
        assert!(matches!(w.events()[0], RunEvent::Forked { step: 190, .. }));
        assert_eq!(
            w.events()[1],
            RunEvent::Started {
                param_count: 7,
                step: 190,
                epoch: 190
            }
        );
    }

    /// Counted by hand: the folders below the nearest one that is there, up to `dir` itself.
    #[test]
    fn new_folders_are_counted_below_the_nearest_existing_one() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        assert_eq!(too_many_new_folders(t, 0), None, "there already");
        assert_eq!(too_many_new_folders(&t.join("runs/run-1"), 2), None);
        let deep = t.join("typo/runs/run-1");
        let why = too_many_new_folders(&deep, 2).expect("three to make");
        assert!(
            why.starts_with(&format!(
                "{} does not exist (in {}), so 3 new folders",
                t.join("typo").display(),
                t.display()
            )),
            "{why}"
        );
        // a relative path's missing first folder lies in the working folder
        let why = too_many_new_folders(Path::new("no-such-grokscope-dir/a/b"), 2).unwrap();
        assert!(why.contains("(in the working folder), so 3"), "{why}");
        assert!(!t.join("typo").exists(), "nothing is made");
    }

    /// A folder can be made under a writable folder, not under a file; under a read-only folder
    /// only where this process is not root (root may write anywhere, as access() then says).
    #[test]
    fn a_folder_that_cannot_be_made_is_said_before() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        assert_eq!(cannot_make_in(&t.join("runs/run-1")), None);
        std::fs::write(t.join("file"), b"x").unwrap();
        let why = cannot_make_in(&t.join("file/run-1")).expect("a file is no folder");
        assert!(why.ends_with("file is not a folder"), "{why}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let ro = t.join("ro");
            std::fs::create_dir(&ro).unwrap();
            std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
            // SAFETY: geteuid reads the process's user id
            if unsafe { libc::geteuid() } != 0 {
                let why = cannot_make_in(&ro.join("run-1")).expect("read-only");
                assert!(why.starts_with("cannot write into"), "{why}");
            }
            std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        assert!(!t.join("runs").exists(), "nothing is made");
    }

    /// A value outside what its metric can take (an accuracy of 7.5, a negative loss, an infinite
    /// norm: what a hand edit or a damaged file gives, never a run), a step below its epoch or an
    /// epoch past the cap, is named with its line like any other damage, and the rows before it are
    /// kept. Expected ranges from [`Metric::range`]: the accuracy is a fraction, the loss and norm at
    /// least 0.
    #[test]
    fn a_value_a_metric_cannot_take_is_named_with_its_line() {
        let header = "step,epoch,train_loss,train_acc,weight_norm";
        for (bad, says) in [
            (
                "3,3,0.5,7.5,1",
                "line 4: train_acc is 7.5, but it is a value between 0 and 1",
            ),
            (
                "3,3,-0.5,0.5,1",
                "line 4: train_loss is -0.5, but it is a value at least 0",
            ),
            ("3,3,0.5,0.5,inf", "line 4: weight_norm is inf"),
            ("3,3,NaN,0.5,1", "line 4: train_loss is NaN"),
            ("2,3,0.5,0.5,1", "line 4: step 2 is below its epoch 3"),
            (
                "18446744073709551615,18446744073709551615,0.5,0.5,1",
                "line 4: epoch 18446744073709551615 is more than a run may train",
            ),
        ] {
            let text = format!("{header}\n1,1,0.9,0.1,1\n2,2,0.8,1,2\n{bad}\n4,4,0.5,0.5,1\n");
            let mut problems = vec![];
            let rows = parse_metrics_csv(&text, &mut problems);
            assert_eq!(rows.len(), 2, "{bad}");
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert!(
                problems[0].contains(says),
                "{:?} says {says:?}",
                problems[0]
            );
        }
    }

    /// Epochs without a row (lines deleted) are named when the folder is read, not counted as damage:
    /// a resume in place goes on (it rewrites the rows there are). Expected: the epochs missing from
    /// the table written here, 3 and 6-7.
    #[test]
    fn epochs_without_a_row_are_named_but_do_not_stop_a_resume() {
        let tmp = tempfile::tempdir().unwrap();
        let text = "step,epoch,train_loss\n1,1,1\n2,2,1\n4,4,1\n5,5,1\n8,8,1\n";
        fs::write(tmp.path().join("metrics.csv"), text).unwrap();
        let f = RunFolder::open(tmp.path()).unwrap();
        assert_eq!(f.rows.len(), 5);
        let gap = f
            .problems
            .iter()
            .find(|p| p.contains("no row for"))
            .unwrap();
        assert!(gap.contains("no row for epoch 3, epochs 6-7 ("), "{gap}");
        assert!(
            !f.damaged.iter().any(|d| d.contains("no row")),
            "{:?}",
            f.damaged
        );
    }
}
