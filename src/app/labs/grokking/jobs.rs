//! The Grokking lab's own background jobs, beside the shared ones ([`JobDone`]): the folder dialog of
//! the Runs panel, reading a run folder, and recomputing a listed run's insight views from its
//! checkpoints, which only read; and copying a run folder (with its parent's) into a folder of the
//! user's, which writes only into that new folder.

use super::run_files::FolderUse;
use crate::app::dialog::FileDialog;
use crate::app::jobs::{JobDone, Jobs};
use crate::experiment::grokking::{final_keys_from_saved, insight_from_saved};
use crate::protocol::InsightSnapshot;
use crate::store::run_dir::{CopiedRun, RunFolder, copy_run};
use std::path::PathBuf;
use std::sync::Arc;

/// What comes back to the Grokking lab.
#[derive(Debug)]
pub enum GrokJob {
    /// A shared job's answer (export dialogs, writes, screenshots).
    Shared(JobDone),
    /// The folder dialog closed with a folder, or `None` (cancelled, or no dialog available).
    Folder {
        purpose: FolderUse,
        path: Option<PathBuf>,
    },
    /// A run folder was read (never written): what could be read, or why nothing.
    Opened {
        purpose: FolderUse,
        path: PathBuf,
        result: Result<Box<RunFolder>, String>,
    },
    /// A phase study's folder was read (never written), where a run folder was to be opened:
    /// its config and usable results, or why not.
    StudyOpened {
        path: PathBuf,
        result: Result<Box<crate::store::phase::PhaseCollected>, String>,
    },
    /// One checkpoint's insight snapshot of the listed run `key` was recomputed (or why not).
    Insight {
        key: u64,
        snap: Result<Box<InsightSnapshot>, String>,
    },
    /// The restricted and excluded loss at one checkpoint of the listed run `key` with its final
    /// checkpoint's key frequencies (sent after every `Insight`).
    FinalKeys {
        key: u64,
        step: u64,
        epoch: u64,
        ablation: crate::analysis::ablation::AblationLosses,
    },
    /// The listed run `key`'s checkpoints have all been read (or its folder could not be).
    InsightDone { key: u64, error: Option<String> },
    /// A [`CopyPlan`] was carried out: each copy asked for, and how it went.
    Copied {
        parent: Option<RunCopy>,
        run: Option<RunCopy>,
        then: AfterCopy,
    },
}

/// One run folder copied (or not) by [`copy_runs`].
#[derive(Debug)]
pub struct RunCopy {
    pub from: PathBuf,
    pub to: PathBuf,
    pub result: Result<CopiedRun, String>,
}

/// What to copy: a fork's parent (from, to), then the run itself (from, to, and the parent folder its
/// copy names).
#[derive(Clone, Debug, Default)]
pub struct CopyPlan {
    pub parent: Option<(PathBuf, PathBuf)>,
    pub run: Option<(PathBuf, PathBuf, Option<PathBuf>)>,
}

/// What the lab does once the copies are made.
#[derive(Clone, Debug, PartialEq)]
pub enum AfterCopy {
    /// Ask the worker to save the current run into this folder (its parent was copied first).
    SaveCurrent(PathBuf),
    /// The listed run `key` was the one copied.
    Listed(u64),
    /// The current run, opened from its folder (not the worker's), was the one copied.
    Opened,
    /// Start the fork set up in the panel, recorded in this folder, from the copy of the run to fork.
    StartFork(PathBuf),
}

impl From<JobDone> for GrokJob {
    fn from(done: JobDone) -> Self {
        GrokJob::Shared(done)
    }
}

/// The lab's jobs.
pub type LabJobs = Jobs<GrokJob>;

/// Ask `dialog` for a folder on a new thread.
pub fn choose_folder(
    jobs: &mut LabJobs,
    dialog: Arc<dyn FileDialog>,
    purpose: FolderUse,
) -> std::io::Result<()> {
    jobs.spawn_dialog("folder-dialog", move |out| {
        let path = dialog.pick_folder(purpose.title());
        out.send(GrokJob::Folder { purpose, path });
    })
}

/// Read the run folder `path` on a new thread (reading only: nothing in it is written). A folder to
/// open that holds a phase study (`grokscope phase --out`, or a bundled one) is read as that study.
pub fn open_run(jobs: &mut LabJobs, path: PathBuf, purpose: FolderUse) -> std::io::Result<()> {
    jobs.spawn_worker("open-run", move |out| {
        if purpose == FolderUse::Open && path.join(crate::store::phase::CONFIG_FILE).is_file() {
            let result = crate::store::phase::collect(&path)
                .map(Box::new)
                .map_err(|e| e.to_string());
            out.send(GrokJob::StudyOpened { path, result });
            return;
        }
        let result = RunFolder::open(&path)
            .map(Box::new)
            .map_err(|e| e.to_string());
        out.send(GrokJob::Opened {
            purpose,
            path,
            result,
        });
    })
}

/// Recompute the insight snapshots of the run folder `dir` from its saved weights (frames and checkpoints) on a new thread
/// (reading only), one [`GrokJob::Insight`] a saved step, then [`GrokJob::InsightDone`].
pub fn recompute_insight(jobs: &mut LabJobs, dir: PathBuf, key: u64) -> std::io::Result<()> {
    jobs.spawn_worker("insight-from-saved", move |out| {
        let error = match RunFolder::open(&dir) {
            Ok(folder) => {
                // the last snapshot's keys: the final model's, for the ablation curves as a live
                // run draws them once it has ended
                let mut last_keys = None;
                insight_from_saved(&folder, &mut |snap| {
                    if let Ok(s) = &snap {
                        last_keys = Some(s.keys.clone());
                    }
                    out.send(GrokJob::Insight {
                        key,
                        snap: snap.map(Box::new),
                    });
                    true
                });
                if let Some(keys) = last_keys {
                    final_keys_from_saved(&folder, &keys, &mut |r| {
                        // a checkpoint that fails here failed above too, where it was said
                        if let Ok((step, epoch, ablation)) = r {
                            out.send(GrokJob::FinalKeys {
                                key,
                                step,
                                epoch,
                                ablation,
                            });
                        }
                        true
                    });
                }
                None
            }
            Err(e) => Some(e.to_string()),
        };
        out.send(GrokJob::InsightDone { key, error });
    })
}

/// Carry out `plan` on a new thread: the parent first, then the run, whose copy names the parent's
/// copy when that was made (and the parent folder the plan gives when it was not). Each copy writes
/// only into its new folder ([`copy_run`]).
pub fn copy_runs(jobs: &mut LabJobs, plan: CopyPlan, then: AfterCopy) -> std::io::Result<()> {
    jobs.spawn_worker("copy-run", move |out| {
        let parent = plan.parent.map(|(from, to)| {
            let result = copy_run(&from, &to, None).map_err(|e| e.to_string());
            RunCopy { from, to, result }
        });
        let run = plan.run.map(|(from, to, named)| {
            let named = match &parent {
                Some(RunCopy {
                    to, result: Ok(_), ..
                }) => Some(to.clone()),
                _ => named,
            };
            let result = copy_run(&from, &to, named.as_deref()).map_err(|e| e.to_string());
            RunCopy { from, to, result }
        });
        out.send(GrokJob::Copied { parent, run, then });
    })
}
