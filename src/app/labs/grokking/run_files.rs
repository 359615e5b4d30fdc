//! The Grokking lab's runs on disk and the runs it compares: save, open, autosave, resume, fork, and
//! the runs list (visibility, colour, group by seed) whose runs the plots overlay.
//!
//! Design: the worker owns each run's recorder ([`crate::store::run_dir::RunWriter`], checkpoints
//! included, in memory until the run has a folder), because the checkpoints are the trainer's
//! tensors and no candle type may enter the app. The window only sends it commands: `SaveRun(to)`
//! (the worker writes the folder and keeps it up to date; `Saved` answers) and `Continue { spec, .. }`
//! (resume or fork a folder). Dialogs and folder reads run on the [`Jobs`] threads; opening a run
//! only reads.

use super::jobs::{self, AfterCopy, CopyPlan, LabJobs, RunCopy};
use crate::analysis::smooth::Weight;
use crate::app::dialog::FileDialog;
use crate::app::link::LabLink;
use crate::app::widgets::plots::{Compare, Overlay};
use crate::config::checkpoints::CheckpointEvery;
use crate::config::{GrokkingConfig, ModelConfig, ValidGrokkingConfig, ValidRunConfig};
use crate::experiment::SaveTo;
use crate::experiment::grokking::{ContinueSpec, ForkSpec};
use crate::protocol::{Command, Metric, MetricRow, RunId};
use crate::store::RunHistory;
use crate::store::compare;
use crate::store::insight::InsightStore;
use crate::store::run_dir::{
    RunFolder, RunStatus, cannot_make_in, refuse_unless_empty, too_many_new_folders,
};
use eframe::egui::Color32;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::overlays::{Member, color_key, greyed, group_overlay, name_key, overlay_of};
use crate::export::figure::Figure;

/// Distinct colours handed to runs in turn (the user can change each): the export's
/// [`crate::export::compare::RUN_PALETTE`], so `grokscope export` with several runs colours them
/// as the window colours runs opened beside its current one.
const PALETTE: [Color32; 8] = {
    let p = crate::export::compare::RUN_PALETTE;
    let mut out = [Color32::BLACK; 8];
    let mut i = 0;
    while i < 8 {
        out[i] = Color32::from_rgb(p[i][0], p[i][1], p[i][2]);
        i += 1;
    }
    out
};

/// Which run of the lab a request is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunRef {
    /// The run the plots follow (training, or the last one).
    Current,
    /// A run of the list, by its key.
    Listed(u64),
}

/// What a chosen folder is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FolderUse {
    /// Save the current run into it.
    Save,
    /// Save (copy) the listed run `key`, recorded in the temporary folder, into it.
    SaveListed(u64),
    /// Open the run in it.
    Open,
    /// Read this run's checkpoints to fork it.
    Fork(RunRef),
}

impl FolderUse {
    /// The dialog's title.
    pub fn title(self) -> &'static str {
        match self {
            FolderUse::Save | FolderUse::SaveListed(_) => "Save the run into a folder",
            FolderUse::Open => "Open a run or phase study folder",
            FolderUse::Fork(_) => "Open a run folder",
        }
    }
}

pub use crate::export::compare::BandKind;

/// A run of the list (opened from disk, or an earlier run of this window).
#[derive(Clone, Debug)]
pub struct ListedRun {
    pub key: u64,
    pub name: String,
    /// Its folder, when it has one.
    pub dir: Option<PathBuf>,
    pub history: RunHistory,
    pub color: Color32,
    pub visible: bool,
    /// (step, epoch) of the checkpoints found when it was opened.
    pub checkpoints: Vec<(u64, u64)>,
    /// What could not be read when it was opened.
    pub problems: Vec<String>,
    /// Its parent's folder and step, when it is a fork.
    pub parent: Option<(PathBuf, u64)>,
    /// It ran to its end (its epoch cap or early stop): nothing is left to resume, a fork trains on.
    pub completed: bool,
    /// Files of its folder that a resume in place rewrites and that could not be read in full
    /// ([`RunFolder::damaged`]): Continue run is refused for it (a fork trains on in a new folder).
    pub damaged: bool,
    /// A fork was started from it: drawn greyed under the fork.
    pub greyed: bool,
    /// Its insight snapshots (kept from the live run, or recomputed from its saved weights).
    pub insight: InsightStore,
}

/// Why Continue run is refused for a run that completed (the runner refuses it too, for any front end).
pub const NOTHING_TO_RESUME: &str =
    "this run has completed: there is nothing to resume (Fork… trains it further)";

/// Why Continue run is refused for a run whose folder has files that could not be read in full (the
/// runner refuses it too, naming them).
pub const DAMAGED_FOLDER: &str = "its folder has files that could not be read in full (the \
     problems above): continuing in place would rewrite them, so it is refused; Fork… trains on from \
     a checkpoint in a new folder, and `grokscope resume DIR --repair NEW` copies what can be read";

/// What a start the worker may still refuse changed in the Runs panel, undone if it is refused (a
/// `Finished` with no `Started`): the listed run a resume took out (with its place), the runs a fork
/// greyed (key, and their greyed and visible flags before), and the fork's draft.
#[derive(Debug, Default)]
struct Undo {
    listed: Option<(usize, ListedRun)>,
    greyed: Vec<(u64, bool, bool)>,
    fork: Option<ForkDraft>,
    /// What the folder said of the current run a resume took on, when it had been opened.
    opened: Option<Opened>,
}

/// Whether the run `h` holds ran to its end (its epoch cap or early stop).
pub fn completed(h: &RunHistory) -> bool {
    h.outcome() == Some(&crate::protocol::Outcome::Completed)
}

/// Where the runs this window starts unsaved are recorded: a lesson's (so that a later step can fork
/// them), and a plain Start's or a fork's with autosave off (so that the run a later Start replaces
/// is not lost with it: it stays listed, to be saved or forked). By default one folder per window
/// under the system's temporary folder; the runs list and the plots' legends show each run's name.
///
/// What the window made there goes when the window closes (a temporary folder may be memory, and a
/// window of many runs would leave hundreds of megabytes for the system to clear), except the runs a
/// scene saved in this window points at ([`keep_temporary_run`]): a scene reopens from its run's
/// folder. Save in the Runs panel keeps any run in a folder of the user's.
#[derive(Debug, Default)]
pub struct TempRuns {
    /// A folder given instead of the temporary one, removed whole with the lab.
    pub(super) owned: Option<PathBuf>,
    /// The folders [`TempRuns::run_dir`] gave (whether or not a run was recorded in them yet).
    made: std::sync::Mutex<Vec<PathBuf>>,
}

/// The runs under the temporary folder that a saved scene points at: left there when the window
/// that recorded them closes.
static KEPT: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Keep the run recorded in `dir` when its window closes (a scene saved now points at it).
pub fn keep_temporary_run(dir: &Path) {
    let mut kept = KEPT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !kept.iter().any(|d| d == dir) {
        kept.push(dir.to_path_buf());
    }
}

impl TempRuns {
    /// The window's folder under the system's temporary folder (named by process and start time).
    fn session() -> &'static Path {
        static SESSION: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
        SESSION.get_or_init(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            std::env::temp_dir()
                .join("grokscope-unsaved")
                .join(format!("{}-{nanos}", std::process::id()))
        })
    }

    /// A fresh folder named `name` for a run this window records there (numbered in the process, so
    /// two windows never share one).
    pub fn run_dir(&self, name: &str) -> PathBuf {
        static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let k = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = crate::store::files::safe_file_part(name, "run");
        let root = self.owned.as_deref().unwrap_or_else(|| Self::session());
        let dir = root.join(format!("{k}-{name}"));
        self.made
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(dir.clone());
        dir
    }
}

impl Drop for TempRuns {
    /// An owned folder goes with the lab, whole; otherwise the run folders this window made, but
    /// those a saved scene points at, and the window's folder once empty. The lab's worker and its
    /// jobs (a Save copying a run from here included) are declared before this field: they have
    /// been shut down and joined by now, so nothing reads or writes there any more.
    fn drop(&mut self) {
        if let Some(dir) = &self.owned {
            let _ = std::fs::remove_dir_all(dir);
            return;
        }
        let made = std::mem::take(
            &mut *self
                .made
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let kept = KEPT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for dir in made.iter().filter(|d| !kept.contains(d)) {
            let _ = std::fs::remove_dir_all(dir);
        }
        // only when empty (another window of this process, or a kept run, may still be there)
        let _ = std::fs::remove_dir(Self::session());
    }
}

/// Whether `dir` lies under the system's temporary folder (where a lesson records its runs), which
/// the system may clear: a run there can be saved again into a folder of the user's.
///
/// Asked every frame (the Save button's state), so it touches the disk once a process: `dir` is
/// compared as it is written with the temporary folder as the system names it and as it resolves
/// (a lesson's folders are made from the former).
pub fn in_temporary_folder(dir: &Path) -> bool {
    static TEMP: std::sync::OnceLock<(PathBuf, Option<PathBuf>)> = std::sync::OnceLock::new();
    let (temp, resolved) = TEMP.get_or_init(|| {
        let temp = std::env::temp_dir();
        let resolved = std::fs::canonicalize(&temp).ok();
        (temp, resolved)
    });
    dir.starts_with(temp) || resolved.as_ref().is_some_and(|r| dir.starts_with(r))
}

/// `dir` when it is a run folder under the temporary folder (one a Save copies into a folder of the
/// user's), else `None`.
fn temporary_run(dir: &Path) -> Option<PathBuf> {
    (in_temporary_folder(dir) && dir.is_dir()).then(|| dir.to_path_buf())
}

/// The name of a fork's folder under the temporary folder, as the runs list and the legends show
/// it: its step and what it changed, short ("fork 1200 wd 0" for `optim.weight_decay: 1 -> 0`).
/// `changes` are [`crate::config::fork_changes`]'s lines (`key: before -> after`).
fn fork_folder_name(step: u64, changes: &[String]) -> String {
    let mut name = format!("fork {step}");
    for change in changes.iter().take(2) {
        let Some((key, values)) = change.split_once(": ") else {
            continue;
        };
        let after = values.rsplit_once(" -> ").map_or(values, |(_, a)| a);
        let short = match key.rsplit('.').next().unwrap_or(key) {
            "weight_decay" => "wd",
            other => other,
        };
        name.push_str(&format!(" {short} {after}"));
    }
    name
}

/// Where the copy of a fork's parent goes when the fork is saved into `dir`: beside it, named
/// `NAME-parent` (`NAME-parent-2`, … when that is taken).
fn parent_copy_dir(dir: &Path) -> PathBuf {
    let name = dir
        .file_name()
        .map_or_else(|| "run".to_string(), |n| n.to_string_lossy().into_owned());
    crate::store::files::first_free(dir.with_file_name(format!("{name}-parent")), |k| {
        dir.with_file_name(format!("{name}-parent-{k}"))
    })
}

/// The run the plots follow, as the runs list shows it.
#[derive(Clone, Debug)]
pub struct CurrentRun {
    pub color: Color32,
    pub visible: bool,
    /// The folder it is recorded in (after a save, an autosave, or a resume in place).
    pub dir: Option<PathBuf>,
    /// Its parent's folder and step, when it is a fork.
    pub parent: Option<(PathBuf, u64)>,
    /// It was opened from its folder (a scene's run), not trained by this window's worker: what the
    /// folder said of it. A Save copies its folder (the worker holds another run, or none).
    pub opened: Option<Opened>,
}

impl CurrentRun {
    /// A current run with no folder (yet) in `color`.
    fn new(color: Color32) -> Self {
        Self {
            color,
            visible: true,
            dir: None,
            parent: None,
            opened: None,
        }
    }
}

/// What an opened folder said of the run made current from it ([`RunFiles::make_current`]), kept
/// for when it goes back to the list.
#[derive(Clone, Debug)]
pub struct Opened {
    /// Its key in the list: the views recomputed from its saved weights arrive under it.
    pub key: u64,
    pub checkpoints: Vec<(u64, u64)>,
    pub problems: Vec<String>,
    pub damaged: bool,
}

/// The fork being set up: the source, its checkpoints, and the edited settings.
#[derive(Clone, Debug)]
pub struct ForkDraft {
    pub source: RunRef,
    pub folder: Box<RunFolder>,
    /// Index into `folder.checkpoints`.
    pub checkpoint: usize,
    /// The checkpoint's config in force, with the user's changes.
    pub config: GrokkingConfig,
}

impl ForkDraft {
    /// The chosen checkpoint's (step, epoch).
    pub fn at(&self) -> Option<(u64, u64)> {
        self.folder
            .checkpoints
            .get(self.checkpoint)
            .map(|c| (c.step, c.epoch))
    }

    /// The checkpoint nearest to `step` (the earlier of two as near).
    pub fn nearest(&self, step: u64) -> usize {
        self.folder
            .checkpoints
            .iter()
            .enumerate()
            .min_by_key(|(_, c)| c.step.abs_diff(step))
            .map_or(0, |(i, _)| i)
    }

    /// What was found wrong with checkpoint `i` when the folder was read (cut short, empty,
    /// unreadable: [`crate::store::run_dir::not_whole`]), if anything.
    pub fn problem_of(&self, i: usize) -> Option<&str> {
        let c = self.folder.checkpoints.get(i)?;
        let name = c.path.file_name()?.to_str()?;
        let prefix = format!("{}/{name} ", crate::store::run_dir::CHECKPOINTS);
        self.folder
            .problems
            .iter()
            .find_map(|p| p.strip_prefix(&prefix))
    }

    /// Pick the newest checkpoint with no problem found (else the newest): where a fork starts
    /// unless the user picks another.
    pub fn select_newest_usable(&mut self) {
        let n = self.folder.checkpoints.len();
        let i = (0..n)
            .rev()
            .find(|&i| self.problem_of(i).is_none())
            .unwrap_or(n.saturating_sub(1));
        self.select(i);
    }

    /// The config in force at the chosen checkpoint (what the changes are measured against).
    pub fn base(&self) -> Option<GrokkingConfig> {
        self.folder.config_at(self.at()?.0)
    }

    /// Pick checkpoint `i`. Settings the user changed are kept; the learning rate and weight decay
    /// the user left alone follow the new checkpoint's (they may have changed live in the run).
    pub fn select(&mut self, i: usize) {
        let old = self.base();
        self.checkpoint = i.min(self.folder.checkpoints.len().saturating_sub(1));
        let Some(new) = self.base() else { return };
        match old {
            Some(old) => {
                let o = &mut self.config.optim;
                if o.lr == old.optim.lr {
                    o.lr = new.optim.lr;
                }
                if o.weight_decay == old.optim.weight_decay {
                    o.weight_decay = new.optim.weight_decay;
                }
            }
            None => self.config = new,
        }
    }

    /// The fork's changes (`field: old -> new`), or why it cannot be started.
    pub fn changes(&self) -> Result<Vec<String>, String> {
        let base = self
            .base()
            .ok_or("the run's config.toml is unreadable, so it cannot be forked")?;
        self.config.validate().map_err(|e| e.to_string())?;
        crate::config::fork_changes(&base, &self.config).map_err(|e| e.to_string())
    }
}

/// A typed folder, offered when no dialog could be shown.
#[derive(Clone, Debug, PartialEq)]
pub struct FolderPrompt {
    pub purpose: FolderUse,
    pub text: String,
}

/// What the runs panel asks for; applied after the frame.
#[must_use]
#[derive(Clone, Debug, PartialEq)]
pub enum RunsAction {
    /// Nothing.
    None,
    /// Choose a folder and save the current run there.
    Save,
    /// Choose a run folder and open it.
    Open,
    /// A folder typed into the fallback prompt.
    Typed(FolderUse, PathBuf),
    /// Hide the typed-folder prompt.
    CancelPrompt,
    /// Resume this run from its newest usable checkpoint, in its folder.
    Resume(RunRef),
    /// Read this run's checkpoints and set up a fork.
    Fork(RunRef),
    /// Start the fork set up in the panel.
    StartFork,
    /// Close the fork panel.
    CancelFork,
    /// The checkpoint cadence changed: runs from now on (the running one too) take it.
    Checkpoints,
    /// Drop this run from the list (its folder stays as it is).
    Remove(u64),
    /// Choose a folder and copy this listed run (recorded in the temporary folder) into it.
    SaveListed(u64),
}

/// Folders the window may make for one run: the runs folder and the run's own
/// ([`too_many_new_folders`]).
const NEW_FOLDERS: usize = 2;

/// The Runs panel's settings, kept across restarts in the app's eframe storage. A field missing
/// from a stored value takes its default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunsSettings {
    /// Each new run gets a folder of its own under `runs_folder` at start.
    pub autosave: bool,
    /// Where autosave puts new runs' folders (and where a typed folder starts).
    pub runs_folder: String,
    /// Saved, resumed and forked runs also write TensorBoard event files in their folder.
    pub tensorboard: bool,
    /// Runs equal but for the seed are drawn as one mean with a band.
    pub group_by_seed: bool,
    /// How a group's spread is shown.
    pub band: BandKind,
    /// Whether the Runs panel is open, once the user (or a lesson's highlight) chose; until then
    /// (`None`) it follows the window's width ([`crate::app::widgets::layout::runs_open_by_default`]).
    pub runs_open: Option<bool>,
    /// Runs checkpoint at the automatic cadence ([`CheckpointEvery::Auto`]), not every
    /// `checkpoint_every_epochs`.
    pub checkpoint_auto: bool,
    /// The typed cadence in epochs, as typed (checked by [`RunsSettings::checkpoints`]).
    pub checkpoint_every_epochs: i64,
}

impl RunsSettings {
    /// The checkpoint cadence the settings ask for, or why the typed one cannot be used.
    pub fn checkpoints(&self) -> Result<CheckpointEvery, String> {
        if self.checkpoint_auto {
            Ok(CheckpointEvery::Auto)
        } else {
            CheckpointEvery::epochs(self.checkpoint_every_epochs)
        }
    }

    /// The cadence runs get: the one asked for, or the automatic one while the typed one cannot be
    /// used (the panel says so in red).
    pub fn checkpoint_cadence(&self) -> CheckpointEvery {
        self.checkpoints().unwrap_or(CheckpointEvery::Auto)
    }
}

impl Default for RunsSettings {
    /// Autosave off, into `runs/` under the working directory; no TensorBoard files; no grouping;
    /// checkpoints at the automatic cadence.
    fn default() -> Self {
        let runs_folder = std::env::current_dir()
            .map(|d| d.join("runs"))
            .unwrap_or_else(|_| PathBuf::from("runs"));
        Self {
            autosave: false,
            runs_folder: runs_folder.display().to_string(),
            tensorboard: false,
            group_by_seed: false,
            band: BandKind::MinMax,
            runs_open: None,
            checkpoint_auto: true,
            // what a researcher types first: one fork point every ten epochs
            checkpoint_every_epochs: 10,
        }
    }
}

/// The lab's runs: the current run's folder, the listed runs and the compare settings.
#[derive(Debug)]
pub struct RunFiles {
    pub current: CurrentRun,
    pub listed: Vec<ListedRun>,
    /// What the user set in the panel (persisted; everything else here is runtime state).
    pub settings: RunsSettings,
    pub fork: Option<ForkDraft>,
    pub prompt: Option<FolderPrompt>,
    /// The rows and views of a resumed run from before its checkpoint, added when its first live rows
    /// come.
    prefix: Option<Prefix>,
    /// What the last resume or fork changed here, until it starts or is refused.
    undo: Option<Undo>,
    /// What the copy of a fork's parent said (and whether it failed), told with the save's answer.
    save_note: Option<(String, bool)>,
    next_key: u64,
    next_color: usize,
    /// What the plots drew last besides the current run, and what it was built from.
    cache: Option<CompareCache>,
    /// Overlays built so far (not taken from the cache): lets a test see what a rebuild redid.
    overlay_builds: u64,
}

/// What a resumed run showed before it was resumed: its curves, markers and insight snapshots (a
/// researcher's audit: after Stop and Continue the views and the restricted loss began at the stop
/// step, the part where the circuit forms gone from the window until it closed).
#[derive(Debug)]
struct Prefix {
    history: RunHistory,
    insight: InsightStore,
}

/// The last [`Compare`], its key ([`RunFiles::compare_key`]) and each overlay's own key
/// ([`Member::key`] of its runs), so that a rebuild redoes only the overlays whose runs changed.
#[derive(Debug)]
struct CompareCache {
    key: Vec<u64>,
    compare: Compare,
    /// One per `compare.overlays`, in order.
    overlay_keys: Vec<Vec<u64>>,
}

impl Default for RunFiles {
    fn default() -> Self {
        Self {
            current: CurrentRun::new(PALETTE[0]),
            listed: Vec::new(),
            settings: RunsSettings::default(),
            fork: None,
            prompt: None,
            prefix: None,
            undo: None,
            save_note: None,
            next_key: 1,
            next_color: 1,
            cache: None,
            overlay_builds: 0,
        }
    }
}

/// What the runs code needs of the app to act.
pub struct RunsCtx<'a> {
    pub link: &'a mut LabLink,
    pub jobs: &'a mut LabJobs,
    pub dialog: &'a Arc<dyn FileDialog>,
    pub history: &'a mut RunHistory,
    /// The current run's insight snapshots (they go to the list with its history).
    pub insight: &'a mut InsightStore,
    pub speed: Option<f64>,
    /// Where a run is recorded when autosave does not record it.
    pub temp: &'a TempRuns,
}

/// A folder's last component, for names in the list.
fn folder_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| dir.display().to_string())
}

/// Seconds since the Unix epoch, for autosave folder names.
fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl RunFiles {
    /// No runs yet, with the panel set as `settings` says (e.g. restored from storage).
    pub fn with_settings(settings: RunsSettings) -> Self {
        Self {
            settings,
            ..Self::default()
        }
    }

    fn take_color(&mut self) -> Color32 {
        let c = PALETTE[self.next_color % PALETTE.len()];
        self.next_color += 1;
        c
    }

    fn take_key(&mut self) -> u64 {
        let k = self.next_key;
        self.next_key += 1;
        k
    }

    /// The current run's name in the list and legends.
    pub fn current_name(&self) -> String {
        self.run_names().0
    }

    /// The names of the listed runs in the list, the legends and the views' run menu, in order.
    pub fn listed_names(&self) -> Vec<String> {
        self.run_names().1
    }

    /// The names the list and the legends give the current run and each listed run: a folder's
    /// name, or where two folders end alike (runs/a/seed1 and runs/b/seed1 were both "seed1": a
    /// researcher's audit) the shortest end of their paths that tells them apart, as
    /// `grokscope export` names them ([`crate::store::files::distinct_folder_names`]); a run with
    /// no folder keeps its own name.
    fn run_names(&self) -> (String, Vec<String>) {
        let dirs: Vec<&Path> = std::iter::once(self.current.dir.as_deref())
            .chain(self.listed.iter().map(|r| r.dir.as_deref()))
            .flatten()
            .collect();
        let mut named = crate::store::files::distinct_folder_names(&dirs).into_iter();
        let mut name = |dir: Option<&PathBuf>, own: &str| match dir {
            Some(_) => named.next().unwrap_or_else(|| own.to_string()),
            None => own.to_string(),
        };
        let current = name(self.current.dir.as_ref(), "current run");
        let listed = self
            .listed
            .iter()
            .map(|r| name(r.dir.as_ref(), &r.name))
            .collect();
        (current, listed)
    }

    /// Save into `dir` as the settings say, naming the parent where it is now (a fork's parent that
    /// was in the temporary folder has been copied into a folder of the user's).
    fn save_to(&self, dir: PathBuf) -> SaveTo {
        SaveTo {
            dir,
            tensorboard: self.settings.tensorboard,
            parent: self.current.parent.as_ref().map(|(d, _)| d.clone()),
        }
    }

    /// Resume or fork as the settings say (their TensorBoard files and checkpoint cadence).
    fn launch_continue(&self, ctx: &mut RunsCtx<'_>, spec: ContinueSpec) {
        ctx.link
            .send(Command::SetCheckpoints(self.settings.checkpoint_cadence()));
        let cmd = Command::Continue {
            spec: Box::new(spec),
            tensorboard: self.settings.tensorboard,
        };
        ctx.link.launch_command(cmd, ctx.speed);
    }

    fn listed_index(&self, key: u64) -> Option<usize> {
        self.listed.iter().position(|r| r.key == key)
    }

    /// A new autosave folder for a run (`kind`: run or fork), when autosave is on; an error when the
    /// runs folder cannot be used (the run then goes unsaved, and can be saved later).
    fn autosave_dir(&self, kind: &str, run_hint: u64) -> Result<Option<PathBuf>, String> {
        if !self.settings.autosave || self.settings.runs_folder.trim().is_empty() {
            return Ok(None);
        }
        let base = PathBuf::from(self.settings.runs_folder.trim());
        let dir = base.join(format!("{kind}-{}-{run_hint}", unix_secs()));
        // a folder that cannot be written is found here, before the current run is retired: a
        // fork into it started, failed, and took the unsaved run it replaced with it (a helper's
        // audit); now the run goes unsaved and says so, and the one before is kept as ever
        match too_many_new_folders(&dir, NEW_FOLDERS).or_else(|| cannot_make_in(&dir)) {
            None => Ok(Some(dir)),
            Some(why) => Err(format!(
                "autosave: the runs folder cannot be made: {why}. This {kind} is recorded under \
                 the system's temporary folder instead (Save run… keeps it)"
            )),
        }
    }

    /// Before a new run replaces the current one: keep the old one in the list (hidden) so it can
    /// be compared, and forget the current run's folder.
    fn retire_current(
        &mut self,
        history: &mut RunHistory,
        insight: &mut InsightStore,
        greyed: bool,
    ) -> Option<u64> {
        let had = history.latest().is_some();
        let old = history.clone();
        let mut insight = std::mem::take(insight);
        if insight.source == "live" {
            insight.source = "kept from the live run".into();
        }
        // clear (not take): the plots' caches key on the generation, which clear() moves on
        history.clear();
        let current = std::mem::replace(&mut self.current, CurrentRun::new(PALETTE[0]));
        self.current.color = self.take_color();
        if !had {
            return None;
        }
        // a run opened from its folder goes back under its key (its views may still be arriving),
        // with what the folder said of it
        let opened = current.opened;
        let key = opened.as_ref().map_or_else(|| self.take_key(), |o| o.key);
        let (checkpoints, problems, damaged) = opened
            .map(|o| (o.checkpoints, o.problems, o.damaged))
            .unwrap_or_default();
        self.listed.push(ListedRun {
            key,
            name: current
                .dir
                .as_deref()
                .map_or(format!("run {}", old.run().unwrap_or(0)), folder_name),
            dir: current.dir,
            completed: completed(&old),
            damaged,
            history: old,
            color: current.color,
            visible: greyed,
            checkpoints,
            problems,
            parent: current.parent,
            greyed,
            insight,
        });
        Some(key)
    }

    /// The plots were reset: the current run is forgotten (its folder, if any, stays as it is).
    pub fn forget_current(&mut self) {
        self.current.dir = None;
        self.current.parent = None;
        self.current.opened = None;
        self.prefix = None;
    }

    /// Make the listed run `key` (opened from its folder) the current run, as it would be had this
    /// window trained it and the run ended: its curves in the current run's colours and with its
    /// restricted and excluded loss, its views, the step counter at its last step. The current run
    /// goes to the list, as at a start. The worker is not told: it holds its own latest run (or
    /// none), so a Save of this one copies its folder. False when `key` is not listed or has no
    /// folder.
    pub fn make_current(&mut self, ctx: &mut RunsCtx<'_>, key: u64) -> bool {
        let Some(i) = self
            .listed_index(key)
            .filter(|&i| self.listed[i].dir.is_some())
        else {
            return false;
        };
        let r = self.listed.remove(i);
        self.retire_current(ctx.history, ctx.insight, false);
        self.fork = None;
        self.prefix = None;
        self.undo = None;
        let mut history = r.history;
        if r.completed {
            history.finish(crate::protocol::Outcome::Completed, None);
        }
        *ctx.history = history;
        *ctx.insight = r.insight;
        self.current = CurrentRun {
            color: r.color,
            visible: true,
            dir: r.dir,
            parent: r.parent,
            opened: Some(Opened {
                key,
                checkpoints: r.checkpoints,
                problems: r.problems,
                damaged: r.damaged,
            }),
        };
        true
    }

    /// A plain Start of `config` is about to be sent: autosave asks the worker to record it.
    ///
    /// With autosave off (or its folder unusable) the run is recorded under the system's temporary
    /// folder ([`TempRuns`]), as a lesson's are: so the run a later Start or fork
    /// replaces is never lost with it, and stays listed, to be saved or forked from its checkpoints.
    pub fn start(&mut self, ctx: &mut RunsCtx<'_>, config: ValidGrokkingConfig) {
        // named by what a researcher compares runs by: the seed and the weight decay (a helper's
        // audit: three seeds were "4-run_wd_1", "5-run_wd_1" and "6-run_wd_1"); made only when
        // autosave does not record the run
        let temporary = |ctx: &RunsCtx<'_>| {
            ctx.temp.run_dir(&format!(
                "run seed {} wd {}",
                config.seed, config.optim.weight_decay
            ))
        };
        match self.autosave_dir("run", self.next_key) {
            Ok(Some(dir)) => self.start_in(ctx, config, Some(dir)),
            Ok(None) => {
                let dir = temporary(ctx);
                self.start_in(ctx, config, Some(dir));
            }
            Err(why) => {
                let dir = temporary(ctx);
                self.start_in(ctx, config, Some(dir));
                // after the start, whose "starting…" would otherwise replace it at once
                ctx.link.error(why);
            }
        }
    }

    /// A Start of `config` recorded in `dir` (when given) from its first step.
    pub fn start_in(
        &mut self,
        ctx: &mut RunsCtx<'_>,
        config: ValidGrokkingConfig,
        dir: Option<PathBuf>,
    ) {
        self.retire_current(ctx.history, ctx.insight, false);
        self.prefix = None;
        self.undo = None;
        ctx.link
            .send(Command::SetCheckpoints(self.settings.checkpoint_cadence()));
        ctx.link.launch(ValidRunConfig::Grokking(config), ctx.speed);
        if let Some(dir) = dir {
            // handled before the new run's first step (the channel keeps order)
            ctx.link.send(Command::SaveRun(self.save_to(dir)));
        }
    }

    /// Apply a request of the runs panel.
    pub fn apply(&mut self, action: RunsAction, ctx: &mut RunsCtx<'_>) {
        match action {
            RunsAction::None => {}
            RunsAction::Save => {
                if let Some(why) = self.cannot_save(ctx.history) {
                    ctx.link.error(why);
                } else {
                    self.choose(ctx, FolderUse::Save);
                }
            }
            RunsAction::SaveListed(key) => self.choose(ctx, FolderUse::SaveListed(key)),
            RunsAction::Open => self.choose(ctx, FolderUse::Open),
            RunsAction::Typed(purpose, path) => {
                if path.as_os_str().is_empty() {
                    ctx.link.error("type a folder first");
                } else {
                    self.prompt = None;
                    self.folder_chosen(ctx, purpose, path);
                }
            }
            RunsAction::CancelPrompt => self.prompt = None,
            RunsAction::Checkpoints => ctx
                .link
                .send(Command::SetCheckpoints(self.settings.checkpoint_cadence())),
            RunsAction::Resume(which) => self.resume(ctx, which),
            RunsAction::Fork(which) => {
                let dir = match which {
                    RunRef::Current => self.current.dir.clone(),
                    RunRef::Listed(k) => self
                        .listed_index(k)
                        .and_then(|i| self.listed[i].dir.clone()),
                };
                match dir {
                    Some(dir) => self.read(ctx, dir, FolderUse::Fork(which)),
                    None => ctx
                        .link
                        .error("this run has no folder yet: save it first, then fork it"),
                }
            }
            RunsAction::StartFork => {
                self.start_fork(ctx, None);
            }
            RunsAction::CancelFork => self.fork = None,
            RunsAction::Remove(key) => {
                if let Some(i) = self.listed_index(key) {
                    let r = self.listed.remove(i);
                    ctx.link.info(format!("{} removed from the list", r.name));
                }
            }
        }
    }

    /// Why the current run cannot be saved now, if it cannot.
    pub fn cannot_save(&self, history: &RunHistory) -> Option<String> {
        if let Some(dir) = &self.current.dir
            && !in_temporary_folder(dir)
        {
            return Some(format!("this run is already saved in {}", dir.display()));
        }
        if history.run().is_none() {
            return Some("no run to save: start one first".into());
        }
        None
    }

    /// Whether the Save button is enabled, and its hover text. Only the current run can be saved:
    /// the worker keeps the recording (rows, events, checkpoints) of its latest run alone, so an
    /// earlier run of this window listed without a folder says why it cannot be saved any more.
    pub fn save_hint(&self, history: &RunHistory) -> (bool, String) {
        let why_not = self.cannot_save(history);
        let enabled = why_not.is_none();
        let mut tip = why_not.unwrap_or_else(|| match &self.current.dir {
            Some(dir) => format!(
                "Keep this run in a folder of your own: it is recorded in {}, under the system's \
                 temporary folder (as every run not autosaved is), removed when the window closes \
                 unless a saved scene points at it. The new folder gets everything (checkpoints and \
                 weight frames copied) and the run {} there.",
                dir.display(),
                if self.current.opened.is_some() {
                    "is shown from"
                } else {
                    "goes on"
                }
            ),
            None => "Write the current run (with its checkpoints) into a folder and keep it up to date"
                .into(),
        });
        if enabled
            && let Some((parent, _)) = &self.current.parent
            && in_temporary_folder(parent)
        {
            tip.push_str(
                "\n\nIts parent run is recorded in the temporary folder too: it is copied beside \
                 the fork (into NAME-parent), so the fork keeps the curve before its fork step.",
            );
        }
        let unsaved = self.listed.iter().filter(|r| r.dir.is_none()).count();
        if unsaved > 0 {
            tip.push_str(&format!(
                "\n\nOnly the current run can be saved: the worker keeps the recording and \
                 checkpoints of its latest run alone, so {} listed without a folder cannot be \
                 saved any more.",
                if unsaved == 1 {
                    "the earlier run".to_owned()
                } else {
                    format!("the {unsaved} earlier runs")
                }
            ));
        }
        (enabled, tip)
    }

    fn choose(&mut self, ctx: &mut RunsCtx<'_>, purpose: FolderUse) {
        match jobs::choose_folder(ctx.jobs, Arc::clone(ctx.dialog), purpose) {
            Ok(()) => ctx.link.info(format!("{}…", purpose.title())),
            Err(e) => ctx.link.error(format!("cannot open a folder dialog: {e}")),
        }
    }

    fn read(&mut self, ctx: &mut RunsCtx<'_>, dir: PathBuf, purpose: FolderUse) {
        let shown = dir.display().to_string();
        match jobs::open_run(ctx.jobs, dir, purpose) {
            Ok(()) => ctx.link.info(format!("reading {shown}…")),
            Err(e) => ctx.link.error(format!("cannot start reading {shown}: {e}")),
        }
    }

    /// The folder dialog answered (or the prompt was filled in).
    pub fn folder_chosen(&mut self, ctx: &mut RunsCtx<'_>, purpose: FolderUse, path: PathBuf) {
        match purpose {
            FolderUse::Save => self.save_current(ctx, path),
            FolderUse::SaveListed(key) => self.save_listed(ctx, key, path),
            FolderUse::Open | FolderUse::Fork(_) => self.read(ctx, path, purpose),
        }
    }

    /// Save the current run into `dir`. A fork whose parent lies in the temporary folder (a lesson's
    /// fork) has its parent copied beside it first, so that the saved fork still has the curve before
    /// its fork step (its own rows start there) once the system clears the temporary folder.
    fn save_current(&mut self, ctx: &mut RunsCtx<'_>, dir: PathBuf) {
        // refused here already, so that no parent is copied for a save the worker would refuse
        if let Err(e) = refuse_unless_empty(&dir) {
            ctx.link.error(format!("cannot save: {e}"));
            return;
        }
        if let Some(why) = too_many_new_folders(&dir, NEW_FOLDERS) {
            ctx.link.error(format!("cannot save: {why}"));
            return;
        }
        // a run opened from its folder is not the worker's to save: its folder is copied
        if self.current.opened.is_some()
            && let Some(from) = self.current.dir.clone()
        {
            let named = self.current.parent.as_ref().map(|(d, _)| d.clone());
            let name = self.current_name();
            self.copy_run(ctx, &name, from, named, dir, AfterCopy::Opened);
            return;
        }
        let Some(parent) = self
            .current
            .parent
            .as_ref()
            .and_then(|(d, _)| temporary_run(d))
        else {
            self.send_save(ctx, dir);
            return;
        };
        let to = parent_copy_dir(&dir);
        let plan = CopyPlan {
            parent: Some((parent, to.clone())),
            run: None,
        };
        match jobs::copy_runs(ctx.jobs, plan, AfterCopy::SaveCurrent(dir.clone())) {
            Ok(()) => ctx.link.info(format!(
                "copying the fork's parent (in the temporary folder) into {} first…",
                to.display()
            )),
            Err(e) => {
                ctx.link.error(format!(
                    "cannot start copying the fork's parent: {e}; saving the fork alone"
                ));
                self.send_save(ctx, dir);
            }
        }
    }

    fn send_save(&mut self, ctx: &mut RunsCtx<'_>, dir: PathBuf) {
        ctx.link.send(Command::SaveRun(self.save_to(dir.clone())));
        ctx.link.info(format!("saving into {}…", dir.display()));
    }

    /// Copy the listed run `key` (recorded in the temporary folder) into `dir`; a fork's parent in
    /// the temporary folder is copied beside it first, as for the current run.
    fn save_listed(&mut self, ctx: &mut RunsCtx<'_>, key: u64, dir: PathBuf) {
        let Some(r) = self.listed_index(key).map(|i| &self.listed[i]) else {
            ctx.link.error("that run is no longer in the list");
            return;
        };
        let Some(from) = r.dir.clone() else {
            ctx.link
                .error(format!("{} has no folder, so it cannot be copied", r.name));
            return;
        };
        if let Err(e) = refuse_unless_empty(&dir) {
            ctx.link.error(format!("cannot save {}: {e}", r.name));
            return;
        }
        if let Some(why) = too_many_new_folders(&dir, NEW_FOLDERS) {
            ctx.link.error(format!("cannot save {}: {why}", r.name));
            return;
        }
        let named = r.parent.as_ref().map(|(d, _)| d.clone());
        let name = r.name.clone();
        self.copy_run(ctx, &name, from, named, dir, AfterCopy::Listed(key));
    }

    /// Copy the run `name` in `from` into `dir`, its parent `named` (a fork's) first, beside it, when
    /// that lies in the temporary folder.
    fn copy_run(
        &mut self,
        ctx: &mut RunsCtx<'_>,
        name: &str,
        from: PathBuf,
        named: Option<PathBuf>,
        dir: PathBuf,
        then: AfterCopy,
    ) {
        let plan = CopyPlan {
            parent: named
                .as_deref()
                .and_then(temporary_run)
                .map(|p| (p, parent_copy_dir(&dir))),
            run: Some((from, dir.clone(), named)),
        };
        match jobs::copy_runs(ctx.jobs, plan, then) {
            Ok(()) => ctx
                .link
                .info(format!("copying {name} into {}…", dir.display())),
            Err(e) => ctx.link.error(format!("cannot start copying {name}: {e}")),
        }
    }

    /// A [`CopyPlan`] was carried out: every run shown from a copied folder is shown from the copy
    /// now, and a save waiting on its parent's copy goes on (with or without it).
    pub fn copied(
        &mut self,
        ctx: &mut RunsCtx<'_>,
        parent: Option<RunCopy>,
        run: Option<RunCopy>,
        then: AfterCopy,
    ) {
        let mut said = Vec::new();
        let mut failed = false;
        for c in parent.iter().chain(run.iter()) {
            match &c.result {
                Ok(n) => {
                    said.push(format!(
                        "copied {} into {} ({} files, {})",
                        folder_name(&c.from),
                        c.to.display(),
                        n.files,
                        crate::config::memory::size_text(n.bytes)
                    ));
                    self.moved(&c.from, &c.to);
                }
                Err(e) => {
                    failed = true;
                    said.push(format!("could not copy {}: {e}", c.from.display()));
                }
            }
        }
        let text = said.join("; ");
        match then {
            AfterCopy::StartFork(out) => {
                if let Some(c) = parent.filter(|c| c.result.is_ok())
                    && self.current.dir.as_deref() == Some(c.from.as_path())
                {
                    // the stopped current run was the one copied: it is listed from the copy
                    self.current.dir = Some(c.to);
                }
                if self.fork.is_none() {
                    ctx.link
                        .info(format!("{text}; the fork was cancelled meanwhile"));
                } else if self.start_fork(ctx, Some(out)) {
                    if failed {
                        ctx.link.error(format!(
                            "{text}; the fork names the temporary run as its parent"
                        ));
                    } else {
                        ctx.link.info(format!("{text}; forking the copy…"));
                    }
                }
            }
            AfterCopy::SaveCurrent(dir) => {
                // said with the save's own answer, which replaces the status line
                self.save_note = Some((text, failed));
                self.send_save(ctx, dir);
            }
            AfterCopy::Listed(_) | AfterCopy::Opened if failed => ctx.link.error(text),
            AfterCopy::Listed(_) | AfterCopy::Opened => ctx.link.info(text),
        }
    }

    /// The run in folder `from` is kept in `to` now: the list, the current run's parent and the
    /// listed forks' parents name the copy (the temporary original is left for the system to clear).
    fn moved(&mut self, from: &Path, to: &Path) {
        for r in &mut self.listed {
            if r.dir.as_deref() == Some(from) {
                r.dir = Some(to.to_path_buf());
                r.name = folder_name(to);
            }
            if let Some((d, _)) = &mut r.parent
                && d == from
            {
                *d = to.to_path_buf();
            }
        }
        if let Some((d, _)) = &mut self.current.parent
            && d == from
        {
            *d = to.to_path_buf();
        }
        // a current run opened from its folder is shown from the copy (one the worker records
        // goes on in its own folder: it is saved by the worker)
        if self.current.opened.is_some() && self.current.dir.as_deref() == Some(from) {
            self.current.dir = Some(to.to_path_buf());
        }
        // a fork being set up of that run starts from the copy
        if let Some(draft) = &mut self.fork
            && draft.folder.dir == from
        {
            let f = &mut draft.folder;
            f.dir = to.to_path_buf();
            for c in f.checkpoints.iter_mut().chain(f.frames.iter_mut()) {
                if let Ok(rel) = c.path.strip_prefix(from) {
                    c.path = to.join(rel);
                }
            }
        }
    }

    /// The folder dialog closed without a folder: offer the typed fallback.
    pub fn no_folder(&mut self, ctx: &mut RunsCtx<'_>, purpose: FolderUse) {
        // asked for, not a failure: said as news, so no "earlier problem" stays in red after the
        // typed folder is saved into (a helper's audit)
        ctx.link
            .info("no folder chosen (or no folder dialog available): type one in the Runs panel");
        let text = match purpose {
            FolderUse::Save => PathBuf::from(self.settings.runs_folder.trim())
                .join(format!("run-{}", unix_secs()))
                .display()
                .to_string(),
            FolderUse::SaveListed(key) => {
                let name = self.listed_index(key).map_or_else(
                    || format!("run-{}", unix_secs()),
                    |i| self.listed[i].name.clone(),
                );
                PathBuf::from(self.settings.runs_folder.trim())
                    .join(name)
                    .display()
                    .to_string()
            }
            FolderUse::Open | FolderUse::Fork(_) => self.settings.runs_folder.clone(),
        };
        self.prompt = Some(FolderPrompt { purpose, text });
    }

    /// A run folder was read for `purpose`.
    pub fn opened(
        &mut self,
        ctx: &mut RunsCtx<'_>,
        purpose: FolderUse,
        path: &Path,
        result: Result<Box<RunFolder>, String>,
    ) {
        let folder = match result {
            Ok(f) => f,
            Err(e) => {
                ctx.link
                    .error(format!("cannot open {}: {e}", path.display()));
                return;
            }
        };
        match purpose {
            FolderUse::Open => {
                let key = self.take_key();
                let color = self.take_color();
                let history = compare::folder_history(&folder, 0, None);
                let rows = history.row_count();
                let name = folder_name(&folder.dir);
                let problems = folder.problems.clone();
                self.listed.push(ListedRun {
                    key,
                    name: name.clone(),
                    dir: Some(folder.dir.clone()),
                    history,
                    color,
                    visible: true,
                    checkpoints: folder
                        .checkpoints
                        .iter()
                        .map(|c| (c.step, c.epoch))
                        .collect(),
                    problems: problems.clone(),
                    parent: folder
                        .info
                        .as_ref()
                        .and_then(|i| i.parent.as_ref())
                        .map(|p| (p.dir.clone(), p.step)),
                    completed: folder
                        .info
                        .as_ref()
                        .is_some_and(|i| i.status == RunStatus::Completed),
                    damaged: !folder.damaged.is_empty(),
                    greyed: false,
                    insight: InsightStore::default(),
                });
                match problems.first() {
                    None => ctx.link.info(format!(
                        "opened {name}: {rows} rows, {} checkpoints",
                        folder.checkpoints.len()
                    )),
                    Some(first) => ctx.link.error(format!(
                        "opened {name} with {} problem{}: {first}; showing what could be read \
                         ({rows} rows)",
                        problems.len(),
                        if problems.len() == 1 { "" } else { "s" }
                    )),
                }
            }
            FolderUse::Save | FolderUse::SaveListed(_) => {}
            FolderUse::Fork(source) => {
                if folder.checkpoints.is_empty() {
                    ctx.link.error(format!(
                        "{} has no checkpoints to fork from",
                        path.display()
                    ));
                    return;
                }
                let Some(config) = folder.config.clone() else {
                    ctx.link.error(format!(
                        "{}: config.toml is missing or unreadable, so the run cannot be forked",
                        path.display()
                    ));
                    return;
                };
                let mut draft = ForkDraft {
                    source,
                    checkpoint: 0,
                    folder,
                    config,
                };
                draft.select_newest_usable();
                self.fork = Some(draft);
                ctx.link
                    .info("fork: pick a checkpoint, change settings, then Start fork");
            }
        }
    }

    fn resume(&mut self, ctx: &mut RunsCtx<'_>, which: RunRef) {
        if ctx.link.phase().active() {
            ctx.link.error("stop the run in progress first");
            return;
        }
        let ended = match which {
            RunRef::Current => completed(ctx.history),
            RunRef::Listed(k) => self
                .listed_index(k)
                .is_some_and(|i| self.listed[i].completed),
        };
        if ended {
            ctx.link.error(NOTHING_TO_RESUME);
            return;
        }
        let damaged = match which {
            RunRef::Current => self.current.opened.as_ref().is_some_and(|o| o.damaged),
            RunRef::Listed(k) => self.listed_index(k).is_some_and(|i| self.listed[i].damaged),
        };
        if damaged {
            ctx.link.error(DAMAGED_FOLDER);
            return;
        }
        let mut undo = Undo::default();
        let (dir, history, insight, color) = match which {
            RunRef::Current => {
                let Some(dir) = self.current.dir.clone() else {
                    ctx.link.error(
                        "this run has no folder: save it first (resume continues in its folder)",
                    );
                    return;
                };
                (
                    dir,
                    ctx.history.clone(),
                    std::mem::take(ctx.insight),
                    self.current.color,
                )
            }
            RunRef::Listed(k) => {
                let Some(i) = self.listed_index(k) else {
                    return;
                };
                let Some(dir) = self.listed[i].dir.clone() else {
                    ctx.link.error("this run has no folder to resume from");
                    return;
                };
                self.retire_current(ctx.history, ctx.insight, false);
                let mut r = self.listed.remove(i);
                let taken = (
                    dir,
                    r.history.clone(),
                    std::mem::take(&mut r.insight),
                    r.color,
                );
                undo.listed = Some((i, r));
                taken
            }
        };
        undo.opened = self.current.opened.take();
        self.undo = Some(undo);
        ctx.history.clear();
        self.current = CurrentRun {
            dir: Some(dir.clone()),
            ..CurrentRun::new(color)
        };
        self.prefix = Some(Prefix { history, insight });
        let spec = ContinueSpec {
            from: dir.clone(),
            step: None,
            fork: None,
        };
        self.launch_continue(ctx, spec);
        ctx.link.info(format!(
            "resuming {} from its newest usable checkpoint…",
            dir.display()
        ));
    }

    /// Fork the current run now (a lesson's fork): from its checkpoint at `step` in its folder, with
    /// `config`, recorded in `out`. The parent stays drawn, greyed, beside the fork.
    pub fn fork_current(
        &mut self,
        ctx: &mut RunsCtx<'_>,
        step: u64,
        config: GrokkingConfig,
        out: Option<PathBuf>,
    ) -> Result<(), String> {
        let from = self
            .current
            .dir
            .clone()
            .ok_or("the current run has no folder, so it cannot be forked")?;
        let greyed = self.retire_current(ctx.history, ctx.insight, true);
        self.current.parent = Some((from.clone(), step));
        self.prefix = None;
        self.undo = Some(Undo {
            greyed: greyed.map(|k| (k, false, true)).into_iter().collect(),
            ..Undo::default()
        });
        let spec = ContinueSpec {
            from,
            step: Some(step),
            fork: Some(ForkSpec { config, out }),
        };
        self.launch_continue(ctx, spec);
        Ok(())
    }

    /// Start the fork set up in the panel, from the folder it shows. `copied_into`: the fork's folder,
    /// when the run to fork was just copied beside it (the draft follows the copy, see `moved`);
    /// otherwise an autosaved fork of a run in the temporary folder (a lesson's) has that run copied
    /// first and starts once the copy is made, so that the kept fork's parent, with the curve before
    /// the fork step, stays. Whether the fork started.
    fn start_fork(&mut self, ctx: &mut RunsCtx<'_>, copied_into: Option<PathBuf>) -> bool {
        let Some(draft) = self.fork.clone() else {
            return false;
        };
        if ctx.link.phase().active() {
            ctx.link.error("stop the run in progress first");
            return false;
        }
        let changes = match draft.changes() {
            Ok(c) => c,
            Err(e) => {
                ctx.link.error(format!("fork refused: {e}"));
                return false;
            }
        };
        let Some((step, _)) = draft.at() else {
            return false;
        };
        let from = draft.folder.dir.clone();
        let mut not_copied = None;
        let mut unsaved = None;
        let out = match copied_into {
            Some(out) => out,
            None => {
                let autosaved = self
                    .autosave_dir("fork", self.next_key)
                    .unwrap_or_else(|why| {
                        unsaved = Some(why);
                        None
                    });
                match autosaved {
                    Some(out) => {
                        if let Some(parent) = temporary_run(&from) {
                            let to = parent_copy_dir(&out);
                            let plan = CopyPlan {
                                parent: Some((parent, to.clone())),
                                run: None,
                            };
                            match jobs::copy_runs(ctx.jobs, plan, AfterCopy::StartFork(out.clone()))
                            {
                                Ok(()) => {
                                    ctx.link.info(format!(
                                        "copying the run to fork (in the temporary folder) into {} \
                                         first…",
                                        to.display()
                                    ));
                                    return false;
                                }
                                Err(e) => not_copied = Some(e),
                            }
                        }
                        out
                    }
                    // not autosaved: recorded beside the window's other unsaved runs, so that a
                    // later Start does not lose it (its parent stays where it is)
                    None => ctx.temp.run_dir(&fork_folder_name(step, &changes)),
                }
            }
        };
        let mut undo = Undo {
            fork: Some(draft.clone()),
            ..Undo::default()
        };
        match draft.source {
            RunRef::Current => {
                let greyed = self.retire_current(ctx.history, ctx.insight, true);
                undo.greyed.extend(greyed.map(|k| (k, false, true)));
            }
            RunRef::Listed(k) => {
                self.retire_current(ctx.history, ctx.insight, false);
                if let Some(i) = self.listed_index(k) {
                    let r = &mut self.listed[i];
                    undo.greyed.push((k, r.greyed, r.visible));
                    r.greyed = true;
                    r.visible = true;
                }
            }
        }
        self.current.parent = Some((from.clone(), step));
        self.prefix = None;
        self.undo = Some(undo);
        let spec = ContinueSpec {
            from,
            step: Some(step),
            fork: Some(ForkSpec {
                config: draft.config.clone(),
                out: Some(out),
            }),
        };
        self.launch_continue(ctx, spec);
        self.fork = None;
        let what = if changes.is_empty() {
            "no changes".to_string()
        } else {
            changes.join(", ")
        };
        ctx.link.info(format!("forking at step {step}: {what}…"));
        if let Some(e) = not_copied {
            ctx.link.error(format!(
                "cannot start copying the run to fork: {e}; forking the temporary one"
            ));
        }
        if let Some(why) = unsaved {
            ctx.link.error(why);
        }
        true
    }

    /// The worker says the run `run` is recorded in `dir` now.
    pub fn saved(&mut self, ctx: &mut RunsCtx<'_>, run: RunId, dir: PathBuf) {
        if ctx.history.run() == Some(run) || ctx.link.runs.is_current(run) {
            // a lesson's folder (a long temporary path) by its name: the path says nothing to a room
            let mut text = if in_temporary_folder(&dir) {
                format!(
                    "recording into {} in the temporary folder (Save run… keeps it)",
                    folder_name(&dir)
                )
            } else {
                format!(
                    "recording into {} (kept up to date while the run goes on)",
                    dir.display()
                )
            };
            match self.save_note.take() {
                Some((note, true)) => ctx.link.error(format!(
                    "{text}; {note}: the fork names its parent where it was"
                )),
                Some((note, false)) => {
                    text.push_str(&format!("; {note}"));
                    ctx.link.info(text);
                }
                None => ctx.link.info(text),
            }
            self.current.dir = Some(dir);
        }
    }

    /// Live rows of the current run arrived: a resumed run first gets its rows, markers, insight
    /// snapshots and restricted loss from before them (the restricted loss with the final keys is
    /// the resumed run's to compute, with its own final model's keys, once it ends).
    pub fn before_rows(
        &mut self,
        history: &mut RunHistory,
        insight: &mut InsightStore,
        rows: &[MetricRow],
    ) {
        let Some(first) = rows.first().map(|r| r.step) else {
            return;
        };
        self.undo = None;
        self.add_prefix(history, insight, |step| step < first, false);
    }

    /// The current run ended: a resumed run that took no step still shows what it had.
    pub fn at_finish(&mut self, history: &mut RunHistory, insight: &mut InsightStore) {
        self.undo = None;
        self.add_prefix(history, insight, |_| true, false);
    }

    /// The worker refused the start just asked (a resume or fork whose folder or checkpoint it could
    /// not use): the Runs panel is put back as it was before it (the listed run a resume took out, in
    /// its place with its problems and views; a fork's parent no longer greyed, its draft open again
    /// to choose another checkpoint); a resume of the current run gets its rows back.
    pub fn refused(&mut self, history: &mut RunHistory, insight: &mut InsightStore) {
        let Some(undo) = self.undo.take() else {
            return;
        };
        self.current.parent = None;
        match undo.listed {
            Some((i, mut r)) => {
                if let Some(prefix) = self.prefix.take() {
                    r.insight = prefix.insight;
                }
                self.current.dir = None;
                let i = i.min(self.listed.len());
                self.listed.insert(i, r);
            }
            None => {
                self.add_prefix(history, insight, |_| true, true);
                self.current.opened = undo.opened;
            }
        }
        for (k, greyed, visible) in undo.greyed {
            if let Some(i) = self.listed_index(k) {
                self.listed[i].greyed = greyed;
                self.listed[i].visible = visible;
            }
        }
        if self.fork.is_none() {
            self.fork = undo.fork;
        }
    }

    /// Add what the resumed run showed before (see [`Prefix`]) at the steps `keep` keeps; `finals`:
    /// also its restricted and excluded loss with its final keys (a resume refused: as it was).
    fn add_prefix(
        &mut self,
        history: &mut RunHistory,
        insight: &mut InsightStore,
        keep: impl Fn(u64) -> bool,
        finals: bool,
    ) {
        let Some(Prefix {
            history: prefix,
            insight: snaps,
        }) = self.prefix.take()
        else {
            return;
        };
        let rows: Vec<MetricRow> = compare::history_rows(&prefix)
            .into_iter()
            .filter(|r| keep(r.step))
            .collect();
        history.push_rows(&rows);
        for m in prefix.markers() {
            if keep(m.step) {
                history.add_marker(*m);
            }
        }
        let mut points = vec![Metric::RestrictedLoss, Metric::ExcludedLoss];
        if finals {
            points.extend([Metric::RestrictedLossFinal, Metric::ExcludedLossFinal]);
        }
        for m in points {
            for p in prefix.series(m).iter().filter(|p| keep(p.step)) {
                history.insert_point(m, *p);
            }
        }
        if finals {
            // nothing of another run came meanwhile: the views as they were
            *insight = snaps;
        } else {
            for snap in snaps.all().iter().filter(|s| keep(s.step)) {
                insight.push(snap.clone());
            }
        }
    }

    /// What the plots draw besides the current run, rebuilt only when it changed; a rebuild redoes
    /// only the overlays whose runs, colour or settings changed and moves the others over.
    /// `smoothing`: the plots' display smoothing, which the compared runs' curves get too.
    pub fn compare(&mut self, history: &RunHistory, log_x: bool, smoothing: Weight) -> &Compare {
        let key = self.compare_key(history, log_x, smoothing);
        if self.cache.as_ref().is_none_or(|c| c.key != key) {
            let mut kept: HashMap<Vec<u64>, Overlay> = self
                .cache
                .take()
                .map(|c| c.overlay_keys.into_iter().zip(c.compare.overlays).collect())
                .unwrap_or_default();
            let (compare, overlay_keys, built) =
                self.build_compare(history, (log_x, smoothing), &mut kept);
            self.overlay_builds += built;
            self.cache = Some(CompareCache {
                key,
                compare,
                overlay_keys,
            });
        }
        // Invariant: filled just above.
        &self
            .cache
            .as_ref()
            .expect("the compare cache was just filled")
            .compare
    }

    /// The seed groups of the comparison last drawn: each one's colour, legend name and note.
    pub fn group_notes(&self) -> Vec<(Color32, String, String)> {
        self.cache.as_ref().map_or_else(Vec::new, |c| {
            c.compare
                .overlays
                .iter()
                .filter(|o| !o.note.is_empty())
                .map(|o| (o.color, o.name.clone(), o.note.clone()))
                .collect()
        })
    }

    fn compare_key(&self, history: &RunHistory, log_x: bool, smoothing: Weight) -> Vec<u64> {
        let mut key = vec![
            u64::from(log_x),
            smoothing.get().to_bits(),
            u64::from(self.settings.group_by_seed),
            u64::from(self.settings.band == BandKind::Std),
            u64::from(self.current.visible),
            color_key(self.current.color),
            history.generation(),
            u64::from(self.current.dir.is_some()),
            name_key(&self.current_name()),
        ];
        if self.settings.group_by_seed {
            // the current run may be part of a mean, which then changes with every row
            key.push(history.row_count() as u64);
        }
        for (r, name) in self.listed.iter().zip(self.listed_names()) {
            key.extend([
                r.key,
                u64::from(r.visible),
                u64::from(r.greyed),
                color_key(r.color),
                r.history.generation(),
                name_key(&name),
            ]);
        }
        key
    }

    /// The runs the plots draw: the current one (when shown) and the visible listed ones.
    fn members<'a>(&'a self, history: &'a RunHistory) -> Vec<Member<'a>> {
        let (current_name, names) = self.run_names();
        let mut members: Vec<Member<'_>> = Vec::new();
        if self.current.visible && (history.latest().is_some() || history.run().is_some()) {
            members.push(Member {
                name: current_name.clone(),
                history,
                color: self.current.color,
                width: 1.8,
                is_current: true,
                id: 0,
                fork_step: self.current.parent.as_ref().map(|(_, step)| *step),
            });
        }
        for (r, name) in self.listed.iter().zip(names).filter(|(r, _)| r.visible) {
            // a fork's parent is told apart by its grey, not by a thinner line: it is what a class
            // compares the fork with (1.0 points was lost at half size: a helper's audit)
            let (color, width) = if r.greyed {
                (greyed(r.color), 1.5)
            } else {
                (r.color, 1.5)
            };
            members.push(Member {
                name,
                history: &r.history,
                color,
                width,
                is_current: false,
                id: r.key,
                fork_step: r.parent.as_ref().map(|(_, step)| *step),
            });
        }
        members
    }

    /// How `members` are drawn: one group a run, or (group by seed) one a treatment's seeds.
    fn groups(&self, members: &[Member<'_>]) -> Vec<Vec<usize>> {
        let runs: Vec<_> = members.iter().map(Member::run).collect();
        crate::export::compare::groups(&runs, self.settings.group_by_seed)
    }

    /// Figures of the runs compared, as the plots draw them (each run in its colour, a seed group as
    /// its mean with its band), for Export figure…: empty unless a listed run is shown beside the
    /// current one. See [`crate::export::compare::compare_figures`].
    pub fn compare_figures(&self, history: &RunHistory, log_x: bool) -> Vec<Figure> {
        let members = self.members(history);
        if members.iter().all(|m| m.is_current) {
            return Vec::new();
        }
        let groups = self.groups(&members);
        let runs: Vec<_> = members.iter().map(Member::run).collect();
        crate::export::compare::compare_figures(&runs, &groups, self.settings.band, log_x)
    }

    /// The comparison, each overlay's key, and how many overlays were built rather than taken from
    /// `kept` (the last build's overlays by key).
    fn build_compare(
        &self,
        history: &RunHistory,
        (log_x, smoothing): (bool, Weight),
        kept: &mut HashMap<Vec<u64>, Overlay>,
    ) -> (Compare, Vec<Vec<u64>>, u64) {
        let current_name = self.current_name();
        let members = self.members(history);
        let others = members.iter().filter(|m| !m.is_current).count();
        let mut out = Compare {
            overlays: Vec::new(),
            main_color: (others > 0).then_some(self.current.color),
            main_name: current_name,
            main_hidden: !self.current.visible,
        };
        let mut keys = Vec::new();
        let mut built = 0;
        if others == 0 {
            return (out, keys, built);
        }
        let groups = self.groups(&members);
        let band = self.settings.band;
        for g in groups {
            let group: Vec<&Member<'_>> = g.iter().map(|&i| &members[i]).collect();
            // what the overlay is drawn from: single or group, the axis, the band, its runs
            let mut key = vec![
                u64::from(group.len() > 1),
                u64::from(log_x),
                smoothing.get().to_bits(),
                u64::from(band == BandKind::Std),
            ];
            for m in &group {
                key.extend(m.key());
            }
            let overlay = match group.as_slice() {
                [only] if only.is_current => continue,
                [only] => kept.remove(&key).unwrap_or_else(|| {
                    built += 1;
                    overlay_of(only, log_x, smoothing)
                }),
                _ => {
                    if group.iter().any(|m| m.is_current) {
                        out.main_hidden = true;
                    }
                    kept.remove(&key).unwrap_or_else(|| {
                        built += 1;
                        group_overlay(&group, band, log_x, smoothing)
                    })
                }
            };
            out.overlays.push(overlay);
            keys.push(key);
        }
        (out, keys, built)
    }
}

/// Whether the model has dropout to change in a fork.
pub fn has_dropout(cfg: &GrokkingConfig) -> bool {
    match cfg.model {
        ModelConfig::Transformer(_) => true,
        ModelConfig::Mlp(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::HyperChange;
    use crate::store::run_dir::{CheckpointRef, RunEvent};

    /// A window's runs under the temporary folder go with it, but one a saved scene points at; a
    /// folder given but never made is no trouble, and the window's own folder stays while a kept run
    /// is in it. Expected: from [`TempRuns`]'s drop as documented.
    #[test]
    fn a_windows_unsaved_runs_go_with_it_but_a_scenes() {
        let runs = TempRuns::default();
        let gone = runs.run_dir("gone");
        let kept = runs.run_dir("kept");
        let _never_made = runs.run_dir("never made");
        for dir in [&gone, &kept] {
            std::fs::create_dir_all(dir.join("checkpoints")).unwrap();
            std::fs::write(dir.join("metrics.csv"), "step\n").unwrap();
        }
        assert!(in_temporary_folder(&gone));
        keep_temporary_run(&kept);
        drop(runs);
        assert!(!gone.exists());
        assert!(kept.join("metrics.csv").is_file());
        let session = kept.parent().unwrap().to_path_buf();
        assert!(session.is_dir());
        std::fs::remove_dir_all(&kept).unwrap();
        // (other tests of this process may have runs there still)
        let _ = std::fs::remove_dir(&session);
    }

    /// A fork's folder under the temporary folder is named by its step and what it changed (the
    /// lines are `fork_changes`'s). Expected: written out by hand from those lines.
    #[test]
    fn a_forks_temporary_folder_says_its_step_and_changes() {
        let changes = [
            "optim.weight_decay: 1.0 -> 0".to_string(),
            "optim.lr: 0.001 -> 0.003".to_string(),
            "train_fraction: 0.3 -> 0.5".to_string(),
        ];
        assert_eq!(fork_folder_name(1200, &changes[..1]), "fork 1200 wd 0");
        assert_eq!(
            fork_folder_name(7, &changes),
            "fork 7 wd 0 lr 0.003",
            "two changes at most"
        );
        assert_eq!(fork_folder_name(5, &[]), "fork 5");
    }

    fn ckpt(step: u64) -> CheckpointRef {
        CheckpointRef {
            step,
            epoch: step,
            path: PathBuf::from(format!("c{step}")),
        }
    }

    #[test]
    fn a_fork_starts_from_the_config_in_force_and_keeps_the_users_edits() {
        let cfg = crate::config::presets()[0].config.clone();
        assert_eq!((cfg.optim.lr, cfg.optim.weight_decay), (0.01, 1.0));
        // weight decay changed live to 0.5 before step 11 (logged at step 10)
        let folder = RunFolder {
            dir: PathBuf::from("parent"),
            config: Some(cfg.clone()),
            info: None,
            rows: vec![],
            events: vec![RunEvent::Changed {
                change: HyperChange::WeightDecay(0.5),
                step: 10,
                epoch: 10,
            }],
            checkpoints: vec![ckpt(5), ckpt(20)],
            frames: vec![],
            problems: vec![],
            damaged: vec![],
        };
        let mut d = ForkDraft {
            source: RunRef::Current,
            folder: Box::new(folder),
            checkpoint: 0,
            config: cfg,
        };
        d.select(0);
        assert_eq!(
            d.config.optim.weight_decay, 1.0,
            "the change came after step 5"
        );
        d.select(1);
        assert_eq!(d.config.optim.weight_decay, 0.5, "in force at step 20");
        assert_eq!(d.changes(), Ok(vec![]));
        d.config.optim.lr = 0.02;
        d.select(0);
        assert_eq!(
            (d.config.optim.lr, d.config.optim.weight_decay),
            (0.02, 1.0)
        );
        assert_eq!(d.changes(), Ok(vec!["optim.lr: 0.01 -> 0.02".to_string()]));
        // a field a fork may not change is named
        d.config.p = 31;
        assert!(d.changes().unwrap_err().contains("it changed p"));
    }

    /// A run recorded under the system's temporary folder (a lesson's) can be saved into a folder of
    /// the user's; one recorded anywhere else is already kept, and Save says where.
    #[test]
    fn only_a_run_in_the_temporary_folder_is_saved_again() {
        let h = history(1, &crate::config::presets()[0].config, 3);
        let mut files = RunFiles::default();
        assert_eq!(files.cannot_save(&h), None, "no folder yet");
        files.current.dir = Some(std::env::temp_dir().join("grokscope-unsaved/1-2/3-run"));
        assert_eq!(files.cannot_save(&h), None, "a lesson's run");
        assert!(files.save_hint(&h).1.contains("temporary folder"));
        // (the temporary folder is never the filesystem's root)
        files.current.dir = Some(PathBuf::from("/grokscope-runs-here/run-1"));
        let why = files.cannot_save(&h).unwrap();
        assert!(
            why.contains("already saved in /grokscope-runs-here/run-1"),
            "{why}"
        );
        assert!(!files.save_hint(&h).0);
    }

    /// A history of `cfg` with `rows` rows of train accuracy (step i, value i / rows).
    fn history(run: RunId, cfg: &GrokkingConfig, rows: u64) -> RunHistory {
        let mut h = RunHistory::new();
        h.begin(run, cfg.clone(), 0, 1);
        let rows: Vec<MetricRow> = (0..rows)
            .map(|i| MetricRow {
                step: i,
                epoch: i,
                values: vec![(crate::protocol::Metric::TrainAcc, i as f64 / rows as f64)],
            })
            .collect();
        h.push_rows(&rows);
        h
    }

    fn listed(key: u64, history: RunHistory, color: Color32) -> ListedRun {
        ListedRun {
            key,
            name: format!("run {key}"),
            dir: None,
            history,
            color,
            visible: true,
            checkpoints: vec![],
            problems: vec![],
            parent: None,
            completed: false,
            damaged: false,
            greyed: false,
            insight: InsightStore::default(),
        }
    }

    /// Two listed runs from folders of the same name (runs/a/seed1, runs/b/seed1) were both
    /// "seed1" in the runs list and the plots' legends (a researcher's audit): they are named by the
    /// shortest end of their paths that tells them apart, the current run's folder taking part, as
    /// `grokscope export` names them; a run with no folder keeps its own name. Expected: the names
    /// by that rule (`crate::store::files::distinct_folder_names`).
    #[test]
    fn runs_from_folders_of_one_name_are_told_apart_in_the_list_and_legends() {
        let cfg = crate::config::presets()[0].config.clone();
        let mut files = RunFiles::default();
        let in_folder = |key: u64, dir: &str| {
            let mut r = listed(key, history(10 + key, &cfg, 5), PALETTE[key as usize]);
            r.dir = Some(PathBuf::from(dir));
            r.name = folder_name(Path::new(dir));
            r
        };
        files.listed = vec![
            in_folder(1, "/runs/a/seed1"),
            in_folder(2, "/runs/b/seed1"),
            listed(3, history(13, &cfg, 5), PALETTE[3]),
        ];
        files.current.dir = Some(PathBuf::from("/runs/a/seed2"));
        assert_eq!(files.current_name(), "seed2");
        assert_eq!(files.listed_names(), ["a/seed1", "b/seed1", "run 3"]);
        let live = history(10, &cfg, 5);
        let legends: Vec<String> = files
            .compare(&live, false, Weight::OFF)
            .overlays
            .iter()
            .map(|o| o.name.clone())
            .collect();
        assert_eq!(legends, ["a/seed1", "b/seed1", "run 3"]);
        // the current run's folder ends alike too: it is told apart as well
        files.current.dir = Some(PathBuf::from("/old/a/seed1"));
        assert_eq!(files.current_name(), "old/a/seed1");
        assert_eq!(files.listed_names()[..2], ["runs/a/seed1", "b/seed1"]);
    }

    #[test]
    fn a_rebuild_redoes_only_the_overlays_whose_runs_changed() {
        let cfg = crate::config::presets()[0].config.clone();
        let mut other_seed = cfg.clone();
        other_seed.seed += 1;
        let mut other_wd = cfg.clone();
        other_wd.optim.weight_decay += 0.5;
        let mut files = RunFiles::default();
        files.settings.group_by_seed = true;
        // listed run 1 differs from the current run only by the seed (one group with it); run 2
        // has another weight decay (an overlay of its own)
        files.listed = vec![
            listed(1, history(11, &other_seed, 20), PALETTE[1]),
            listed(2, history(12, &other_wd, 20), PALETTE[2]),
        ];
        let mut live = history(10, &cfg, 10);
        let names = |c: &Compare| {
            c.overlays
                .iter()
                .map(|o| o.name.clone())
                .collect::<Vec<_>>()
        };
        let first = names(files.compare(&live, false, Weight::OFF));
        assert_eq!(first.len(), 2, "the group and run 2: {first:?}");
        assert_eq!(files.overlay_builds, 2);
        let lone_points = files.compare(&live, false, Weight::OFF).overlays[1]
            .series
            .clone();
        assert_eq!(
            files.compare(&live, false, Weight::OFF).overlays[0].series[0]
                .1
                .len(),
            10
        );
        // nothing changed: nothing built
        files.compare(&live, false, Weight::OFF);
        assert_eq!(files.overlay_builds, 2);
        // the live run logs a row: only the group holding it is built again, run 2's is moved over
        live.push_rows(&[MetricRow {
            step: 10,
            epoch: 10,
            values: vec![(crate::protocol::Metric::TrainAcc, 1.0)],
        }]);
        let c = files.compare(&live, false, Weight::OFF);
        assert_eq!(names(c), first);
        // the group's note says where its mean ends: the live run's newest step
        assert!(
            c.overlays[0]
                .note
                .ends_with("drawn to step 10, where seed 0 ends"),
            "{}",
            c.overlays[0].note
        );
        assert_eq!(c.overlays[1].series, lone_points);
        assert_eq!(files.overlay_builds, 3);
        // the group's mean is over the steps both runs logged (compare::mean_band): 0-9 before,
        // 0-10 with the live run's new row
        let mean = &files.compare(&live, false, Weight::OFF).overlays[0].series[0].1;
        assert_eq!(mean.len(), 11, "one mean point per step 0-10");
        // run 2's colour changes: only its overlay is built again
        files.listed[1].color = PALETTE[3];
        assert_eq!(
            files.compare(&live, false, Weight::OFF).overlays[1].color,
            PALETTE[3]
        );
        assert_eq!(files.overlay_builds, 4);
        // the step axis goes to log: every overlay is built again
        files.compare(&live, true, Weight::OFF);
        assert_eq!(files.overlay_builds, 6);
    }

    /// A compared run is smoothed as the current one is: its line through the debiased average, its
    /// raw points kept to be drawn faint, each overlay built again when the weight changes. Run 1's
    /// train accuracy is i/20 at step i: at w = 0.5 the line starts at 0 (the first value) and goes
    /// on at (0.5·0 + 0.05) / 1.5 = 1/30, by hand from the definition (`analysis::smooth`).
    #[test]
    fn compared_runs_are_smoothed_with_their_raw_points_behind() {
        let cfg = crate::config::presets()[0].config.clone();
        let mut other = cfg.clone();
        other.optim.weight_decay += 0.5;
        let mut files = RunFiles {
            listed: vec![listed(1, history(11, &other, 20), PALETTE[1])],
            ..RunFiles::default()
        };
        let live = history(10, &cfg, 10);
        let off = files.compare(&live, false, Weight::OFF).overlays[0].clone();
        assert!(off.raw.is_empty());
        assert_eq!(files.overlay_builds, 1);
        let on = files.compare(&live, false, Weight::new(0.5)).overlays[0].clone();
        assert_eq!(files.overlay_builds, 2, "built again for the new weight");
        assert_eq!(on.raw, off.series, "the raw points, to draw faint");
        let line = &on.series[0].1;
        assert_eq!(line.len(), 20);
        assert_eq!(line[0].y, 0.0);
        assert!((line[1].y - 1.0 / 30.0).abs() < 1e-12, "{line:?}");
        assert_eq!(on.markers, off.markers);
    }
}
