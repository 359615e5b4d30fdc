//! Runs on disk: exact resume, forks, and folders that are truncated, corrupt or foreign.

use grokscope::config::{GrokkingConfig, ModelConfig, Operation, preset};
use grokscope::config::{ValidGrokkingConfig, ValidRunConfig};
use grokscope::experiment::grokking::{self, ContinueSpec, ForkSpec, RunOptions, Start};
use grokscope::experiment::{EventSink, Unattended};
use grokscope::protocol::{Event, Outcome};
use grokscope::store::run_dir::{CheckpointRef, RunFolder, RunStatus, RunWriter};
use std::path::Path;

/// A small MLP run with minibatches (so the minibatch generator's state matters).
pub(crate) fn mlp() -> GrokkingConfig {
    let mut c = preset("fast-mlp").unwrap().config;
    c.op = Operation::Add;
    c.p = 23;
    c.train_fraction = 0.9;
    c.full_batch = false;
    c.batch_size = 64;
    c.max_epochs = 30;
    c.early_stop = false;
    c
}

/// A tiny transformer with dropout (so the dropout generator's state matters), minibatches of 128.
fn transformer() -> GrokkingConfig {
    let mut c = preset("paper-transformer-cpu").unwrap().config;
    c.op = Operation::Add;
    c.p = 13;
    c.train_fraction = 0.8;
    c.batch_size = 32;
    c.max_epochs = 12;
    c.early_stop = false;
    if let ModelConfig::Transformer(t) = &mut c.model {
        t.d_model = 8;
        assert!(t.dropout > 0.0, "the preset trains with dropout");
    }
    c
}

/// A config the tests know to be valid, parsed as every edge parses one.
pub(crate) fn valid(cfg: &GrokkingConfig) -> ValidGrokkingConfig {
    ValidGrokkingConfig::try_from(cfg.clone()).unwrap()
}

fn finished(evs: &[Event]) -> Outcome {
    match evs.last() {
        Some(Event::Finished { outcome, .. }) => outcome.clone(),
        other => panic!("no Finished event last: {other:?}"),
    }
}

pub(crate) fn fresh(cfg: &GrokkingConfig, dir: &Path, stop_at: Option<u64>, every: u64) -> Outcome {
    let mut evs: Vec<Event> = vec![];
    let opts = RunOptions {
        writer: Some(RunWriter::create(dir, cfg, None).unwrap()),
        stop_at_epoch: stop_at,
        checkpoint_every: grokscope::config::checkpoints::CheckpointEvery::from(every),
        ..Default::default()
    };
    grokking::run(Start::New(valid(cfg)), 1, &mut evs, &mut Unattended, opts);
    finished(&evs)
}

/// Continue the run in `dir` in place through the runner every front end calls, as run `run` with
/// `opts`; the events it sent.
pub(crate) fn resume_with(dir: &Path, run: u64, opts: RunOptions) -> Vec<Event> {
    let mut evs: Vec<Event> = vec![];
    let spec = ContinueSpec {
        from: dir.to_path_buf(),
        step: None,
        fork: None,
    };
    grokking::run(Start::Continue(spec), run, &mut evs, &mut Unattended, opts);
    evs
}

fn resume(dir: &Path, stop_at: Option<u64>) -> Vec<Event> {
    let opts = RunOptions {
        stop_at_epoch: stop_at,
        checkpoint_every: grokscope::config::checkpoints::CheckpointEvery::from(4),
        ..Default::default()
    };
    resume_with(dir, 1, opts)
}

/// Epochs of the grokking milestones a run folder recorded: each has its checkpoint (besides the
/// cadence), so that a fork at a milestone starts right there.
pub(crate) fn milestone_epochs(folder: &RunFolder) -> Vec<u64> {
    folder
        .events
        .iter()
        .filter_map(|e| match e {
            grokscope::store::run_dir::RunEvent::Detected { epoch, .. } => Some(*epoch),
            _ => None,
        })
        .collect()
}

/// `cadence` with the milestone epochs added, sorted and without repeats.
pub(crate) fn with_milestones(mut cadence: Vec<u64>, folder: &RunFolder) -> Vec<u64> {
    cadence.extend(milestone_epochs(folder));
    cadence.sort_unstable();
    cadence.dedup();
    cadence
}

/// The MLP config run to epoch 12 without early stop (checkpoints every 4 epochs in the tests).
fn twelve_epochs() -> GrokkingConfig {
    let mut cfg = mlp();
    cfg.max_epochs = 12;
    cfg.early_stop = false;
    cfg
}

fn metrics(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("metrics.csv")).unwrap()
}

/// The expected value is the uninterrupted run itself: every metric of every epoch, as text written
/// with Rust's shortest round-trip float format, so equal text means equal bits.
fn resume_equals_uninterrupted(cfg: &GrokkingConfig) {
    let tmp = tempfile::tempdir().unwrap();
    let (whole, parts) = (tmp.path().join("whole"), tmp.path().join("parts"));
    assert_eq!(fresh(cfg, &whole, None, 4), Outcome::Completed);
    // stop twice (one stop off the checkpoint grid), resume to the end
    assert_eq!(fresh(cfg, &parts, Some(5), 4), Outcome::Stopped);
    let folder = RunFolder::open(&parts).unwrap();
    assert_eq!(folder.info.as_ref().unwrap().status, RunStatus::Stopped);
    assert_eq!(folder.rows.len(), 5);
    assert_eq!(finished(&resume(&parts, Some(9))), Outcome::Stopped);
    assert_eq!(finished(&resume(&parts, None)), Outcome::Completed);
    let (a, b) = (metrics(&whole), metrics(&parts));
    assert_eq!(a.lines().count(), cfg.max_epochs as usize + 1);
    assert_eq!(a, b, "resumed metrics differ from the uninterrupted run's");
    let info = RunFolder::open(&parts).unwrap().info.unwrap();
    assert_eq!(info.status, RunStatus::Completed);
    assert_eq!(info.epochs, cfg.max_epochs);
}

#[test]
fn resume_equals_uninterrupted_mlp() {
    resume_equals_uninterrupted(&mlp());
}

#[test]
fn resume_equals_uninterrupted_transformer_with_dropout() {
    resume_equals_uninterrupted(&transformer());
}

/// Fork the run in `parent` at its checkpoint of epoch `epoch` with weight decay `wd` into `child`,
/// and run the fork to its end; the checkpoint it started from and the fork's config.
pub(crate) fn fork_at(
    parent: &Path,
    child: &Path,
    epoch: u64,
    wd: f64,
) -> (CheckpointRef, GrokkingConfig) {
    let folder = RunFolder::open(parent).unwrap();
    let at = folder
        .checkpoints
        .iter()
        .find(|c| c.epoch == epoch)
        .unwrap()
        .clone();
    let mut forked = GrokkingConfig::from(folder.load(&at).unwrap().config);
    forked.optim.weight_decay = wd;
    let mut evs: Vec<Event> = vec![];
    let spec = ContinueSpec {
        from: parent.to_path_buf(),
        step: Some(at.step),
        fork: Some(ForkSpec {
            config: forked.clone(),
            out: Some(child.to_path_buf()),
        }),
    };
    grokking::run(
        Start::Continue(spec),
        2,
        &mut evs,
        &mut Unattended,
        RunOptions::default(),
    );
    assert_eq!(finished(&evs), Outcome::Completed);
    (at, forked)
}

#[test]
fn a_fork_records_its_parent_and_step_and_refuses_shape_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let (parent, child) = (tmp.path().join("parent"), tmp.path().join("child"));
    let cfg = mlp();
    assert_eq!(fresh(&cfg, &parent, None, 10), Outcome::Completed);
    let folder = RunFolder::open(&parent).unwrap();
    let steps: Vec<u64> = folder.checkpoints.iter().map(|c| c.step).collect();
    let spe = cfg.steps_per_epoch();
    // step 0 (the initial state), every 10 epochs, the end (30 epochs) and each milestone
    let epochs = with_milestones(vec![0, 10, 20, 30], &folder);
    assert_eq!(steps, epochs.iter().map(|e| e * spe).collect::<Vec<_>>());
    let (at, forked) = fork_at(&parent, &child, 10, 0.25);
    let f = RunFolder::open(&child).unwrap();
    assert!(f.problems.is_empty(), "{:?}", f.problems);
    let p = f.info.unwrap().parent.expect("the fork names its parent");
    assert_eq!((p.dir, p.step, p.epoch), (parent.clone(), at.step, 10));
    assert_eq!(
        p.changes,
        vec!["optim.weight_decay: 1.0 -> 0.25".to_string()]
    );
    assert_eq!(f.config.unwrap().optim.weight_decay, 0.25);
    // the fork goes on from the checkpoint: its first row is epoch 11, its last the cap
    assert_eq!(f.rows.first().unwrap().epoch, 11);
    assert_eq!(f.rows.last().unwrap().epoch, 30);
    // the same step as the parent's after the fork point, with a different weight decay in force
    let parent_row = folder.rows.iter().find(|r| r.epoch == 11).unwrap();
    assert_eq!(parent_row.step, f.rows[0].step);
    // a fork may not change the task or the model's shape
    let mut bad = forked.clone();
    bad.p = 29;
    let mut evs: Vec<Event> = vec![];
    let spec = ContinueSpec {
        from: parent,
        step: Some(at.step),
        fork: Some(ForkSpec {
            config: bad,
            out: Some(tmp.path().join("bad")),
        }),
    };
    grokking::run(
        Start::Continue(spec),
        3,
        &mut evs,
        &mut Unattended,
        RunOptions::default(),
    );
    match finished(&evs) {
        Outcome::Failed { message } => assert!(message.contains("it changed p"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(
        !tmp.path().join("bad").exists(),
        "nothing written for a refused fork"
    );
}

#[test]
fn truncated_corrupt_and_foreign_folders_say_what_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    assert_eq!(fresh(&mlp(), &run, Some(20), 10), Outcome::Stopped);
    // a foreign folder, and a file instead of a folder
    let foreign = tmp.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "hello").unwrap();
    let e = RunFolder::open(&foreign).unwrap_err().to_string();
    assert!(e.contains("not a grokscope run folder"), "{e}");
    let e = RunFolder::open(&foreign.join("notes.txt"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a folder"), "{e}");
    // metrics.csv cut in the middle of row 15: rows 1-14 still shown, the problem named
    let text = metrics(&run);
    let cut: usize = text.lines().take(15).map(|l| l.len() + 1).sum::<usize>() + 7;
    std::fs::write(run.join("metrics.csv"), &text[..cut]).unwrap();
    let f = RunFolder::open(&run).unwrap();
    assert_eq!(f.rows.len(), 14);
    assert!(
        f.problems.iter().any(|p| p.contains("metrics.csv line 16")),
        "{:?}",
        f.problems
    );
    // a newer run-folder version is named, and what can be read is still shown
    let info = std::fs::read_to_string(run.join("run.json")).unwrap();
    std::fs::write(
        run.join("run.json"),
        info.replace("\"format_version\": 1", "\"format_version\": 99"),
    )
    .unwrap();
    let f = RunFolder::open(&run).unwrap();
    assert!(
        f.problems.iter().any(|p| p.contains("version 99")),
        "{:?}",
        f.problems
    );
    assert!(f.config.is_some() && !f.rows.is_empty());
    // the newest checkpoint corrupted: resume falls back to the one before and says nothing false
    let newest = f.checkpoints.last().unwrap().clone();
    let mut bytes = std::fs::read(&newest.path).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 0xff; // inside the last tensor's data: still parses, unless the value is odd
    bytes.truncate(n - 3); // and cut short: the header's offsets no longer fit
    std::fs::write(&newest.path, &bytes).unwrap();
    let e = f.load(&newest).unwrap_err().to_string();
    assert!(e.contains("checkpoint") && e.contains("safetensors"), "{e}");
    let (used, _, _, skipped) = f.latest_usable(|_| Ok(())).unwrap();
    assert_eq!(
        skipped.len(),
        1,
        "the damaged newest one is named: {skipped:?}"
    );
    // the one before the newest (epoch 10 on the cadence, or a later milestone's)
    let before = f.checkpoints[f.checkpoints.len() - 2].epoch;
    let last = with_milestones(vec![10], &f)
        .into_iter()
        .filter(|e| *e < 20)
        .max();
    assert_eq!(Some(before), last);
    assert_eq!(used.epoch, before);
    // a safetensors file that is not ours
    let foreign_ckpt = safetensors::serialize(
        [(
            "w",
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![1], &[0u8; 4])
                .unwrap(),
        )],
        None,
    )
    .unwrap();
    std::fs::write(&newest.path, foreign_ckpt).unwrap();
    let e = f.load(&newest).unwrap_err().to_string();
    assert!(e.contains("not a grokscope checkpoint"), "{e}");
    // a run folder with no usable checkpoint cannot be resumed, and says so
    for c in &f.checkpoints {
        std::fs::write(&c.path, b"garbage").unwrap();
    }
    let e = f.latest_usable(|_| Ok(())).unwrap_err().to_string();
    assert!(e.contains("no checkpoint"), "{e}");
    // and the resume, refused first for the tables it cannot read whole (issue 13), names them
    let evs = resume(&run, None);
    match finished(&evs) {
        Outcome::Failed { message } => assert!(
            message.contains("metrics.csv line 16") && message.contains("Nothing was changed"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    // a new run is refused in a folder that holds one, and the old one is untouched
    let before = metrics(&run);
    let e = RunWriter::create(&run, &mlp(), None)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("already holds a run"), "{e}");
    assert_eq!(metrics(&run), before);
}

/// Counts events, to check a run with no recorder keeps working.
struct Count(usize);
impl EventSink for Count {
    fn emit(&mut self, _ev: Event) {
        self.0 += 1;
    }
}

#[test]
fn saving_mid_run_writes_everything_so_far_and_checkpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("saved");
    struct SaveAt(u64, std::path::PathBuf);
    impl grokscope::experiment::RunControl for SaveAt {
        fn poll(&mut self, next_step: u64) -> grokscope::experiment::Control {
            grokscope::experiment::Control {
                save_to: (next_step == self.0).then(|| grokscope::experiment::SaveTo {
                    dir: self.1.clone(),
                    tensorboard: true,
                    parent: None,
                }),
                ..Default::default()
            }
        }
    }
    let cfg = mlp();
    let spe = cfg.steps_per_epoch();
    let opts = RunOptions {
        writer: Some(RunWriter::in_memory(&cfg, None)),
        checkpoint_every: grokscope::config::checkpoints::CheckpointEvery::from(1000),
        ..Default::default()
    };
    let mut sink = Count(0);
    // ask to save in the middle of epoch 4
    grokking::run(
        Start::New(valid(&cfg)),
        1,
        &mut sink,
        &mut SaveAt(3 * spe + 2, dir.clone()),
        opts,
    );
    let f = RunFolder::open(&dir).unwrap();
    assert!(f.problems.is_empty(), "{:?}", f.problems);
    assert_eq!(
        f.rows.len(),
        30,
        "the rows from before the save are there too"
    );
    // the initial state, held in memory until the save, is written with it; then a checkpoint at
    // the end of the epoch in which the save was asked, then the end
    // (and one at each milestone)
    let epochs: Vec<u64> = f.checkpoints.iter().map(|c| c.epoch).collect();
    assert_eq!(epochs, with_milestones(vec![0, 4, 30], &f));
    assert!(sink.0 > 30);
    // asked with the save, TensorBoard files hold every row's step, those from before the save too
    let logged = grokscope::store::tensorboard::logged_steps(&dir.join("tensorboard"));
    for r in &f.rows {
        assert!(
            logged.contains(&(r.step as i64)),
            "step {} not in the event files",
            r.step
        );
    }
}

#[test]
fn a_resume_refused_for_a_bad_checkpoint_leaves_the_folder_as_it_was() {
    // a run to epoch 12 with checkpoints at 0, 4, 8, 12; the newest checkpoint's generator key is
    // made non-ASCII (64 bytes, so only a character check catches it): the resume must be refused
    // before anything in the folder is rewritten (it would otherwise cut the tables back to the
    // checkpoint and mark the run as running)
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let cfg = twelve_epochs();
    fresh(&cfg, &dir, None, 4);
    // every checkpoint so damaged (with one, the resume falls back to the one before: issue 13)
    let folder = RunFolder::open(&dir).unwrap();
    for c in &folder.checkpoints {
        let mut state = folder.load(c).unwrap();
        state.scalars.batch_rng.seed = format!("é{}", "a".repeat(62));
        assert_eq!(state.scalars.batch_rng.seed.len(), 64);
        std::fs::write(&c.path, state.to_bytes().unwrap()).unwrap();
    }
    let before: Vec<(String, Vec<u8>)> = ["metrics.csv", "events.jsonl", "run.json"]
        .iter()
        .map(|n| (n.to_string(), std::fs::read(dir.join(n)).unwrap()))
        .collect();
    let evs = resume(&dir, None);
    match finished(&evs) {
        Outcome::Failed { message } => assert!(message.contains("seed"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    for (name, bytes) in before {
        assert_eq!(
            std::fs::read(dir.join(&name)).unwrap(),
            bytes,
            "{name} changed"
        );
    }
}

/// A resume with nothing to train is refused with the folder as it was: a completed run (resuming it
/// once rewrote its summary with no final numbers: a helper's audit, 2026-12-06), and a stop at or
/// before the newest checkpoint. The expected folder is the one before the resume, byte for byte.
#[test]
fn a_resume_with_nothing_to_train_is_refused_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (done, part) = (tmp.path().join("done"), tmp.path().join("part"));
    let cfg = twelve_epochs();
    assert_eq!(fresh(&cfg, &done, None, 4), Outcome::Completed);
    assert_eq!(fresh(&cfg, &part, Some(8), 4), Outcome::Stopped);
    for (dir, stop_at, says) in [
        (&done, None, "has completed (epoch 12 of at most 12)"),
        (&part, Some(8), "--max-epochs 8 is not past"),
        (&part, Some(5), "--max-epochs 5 is not past"),
    ] {
        let before = tree(dir);
        match finished(&resume(dir, stop_at)) {
            Outcome::Failed { message } => assert!(message.contains(says), "{message}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(tree(dir) == before, "{} changed", dir.display());
    }
    // with epochs left, it goes on
    assert_eq!(finished(&resume(&part, Some(10))), Outcome::Stopped);
}

/// The checkpoint's own config is checked against the config the folder records at its step: a run
/// whose weight decay changed mid-run resumes (the change is recorded, so the configs agree), while a
/// run.json edited to another p is refused with the folder as it was (it once recorded p = 29 and
/// trained p = 23: a helper's audit, 2026-12-06).
#[test]
fn a_resume_checks_the_checkpoints_config_against_the_recorded_one() {
    struct ChangeAt(u64);
    impl grokscope::experiment::RunControl for ChangeAt {
        fn poll(&mut self, next_step: u64) -> grokscope::experiment::Control {
            grokscope::experiment::Control {
                changes: if next_step == self.0 {
                    vec![grokscope::protocol::HyperChange::WeightDecay(0.25)]
                } else {
                    vec![]
                },
                ..Default::default()
            }
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let cfg = twelve_epochs();
    let spe = cfg.steps_per_epoch();
    let opts = RunOptions {
        writer: Some(RunWriter::create(&dir, &cfg, None).unwrap()),
        stop_at_epoch: Some(8),
        checkpoint_every: grokscope::config::checkpoints::CheckpointEvery::from(4),
        ..Default::default()
    };
    let mut evs: Vec<Event> = vec![];
    grokking::run(
        Start::New(valid(&cfg)),
        1,
        &mut evs,
        &mut ChangeAt(2 * spe + 1),
        opts,
    );
    assert_eq!(finished(&evs), Outcome::Stopped);
    let edited = tmp.path().join("edited");
    copy_dir(&dir, &edited);
    // the weight decay changed at epoch 3: the checkpoint at 8 holds 0.25, config.toml 1.0
    let changed = RunFolder::open(&dir)
        .unwrap()
        .events
        .iter()
        .any(|e| matches!(e, grokscope::store::run_dir::RunEvent::Changed { .. }));
    assert!(changed, "the change was recorded");
    assert_eq!(finished(&resume(&dir, Some(10))), Outcome::Stopped);

    let run_json = edited.join("run.json");
    let mut info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&run_json).unwrap()).unwrap();
    info["config"]["p"] = serde_json::json!(29);
    std::fs::write(&run_json, serde_json::to_string_pretty(&info).unwrap()).unwrap();
    let before = tree(&edited);
    match finished(&resume(&edited, None)) {
        Outcome::Failed { message } => {
            assert!(
                message.contains("another config than the run records (p: 29 -> 23)"),
                "{message}"
            )
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(tree(&edited) == before, "the folder is as it was");
}

/// Copy the folder `from` (files and folders, not links) to `to`.
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// A resume past a damaged newest checkpoint trains from the one before it, and moves the damaged
/// file into set-aside/ first instead of writing the retrained checkpoint over it (the standard: a
/// file that could not be read is never rewritten). Expected: the damaged bytes, unchanged, there.
#[test]
fn a_resume_past_a_damaged_checkpoint_sets_it_aside_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let cfg = twelve_epochs();
    fresh(&cfg, &dir, Some(8), 4);
    let newest = RunFolder::open(&dir)
        .unwrap()
        .checkpoints
        .last()
        .unwrap()
        .clone();
    assert_eq!(newest.epoch, 8);
    let garbage = vec![0xA5u8; 1000];
    std::fs::write(&newest.path, &garbage).unwrap();
    let name = newest.path.file_name().unwrap();
    let evs = resume(&dir, None);
    assert_eq!(finished(&evs), Outcome::Completed);
    let kept = dir.join("set-aside/checkpoints").join(name);
    assert_eq!(std::fs::read(&kept).unwrap(), garbage);
    let said = evs
        .iter()
        .any(|e| format!("{e:?}").contains("moved into set-aside/"));
    assert!(said, "the move is said: {evs:?}");
    // the retrained checkpoint at epoch 8 is a good one, and the folder opens without a problem
    let folder = RunFolder::open(&dir).unwrap();
    assert!(folder.problems.is_empty(), "{:?}", folder.problems);
    let again = folder.checkpoints.iter().find(|c| c.epoch == 8).unwrap();
    folder.load(again).unwrap();
}

/// A run whose folder cannot be written (here `checkpoints` is a file, so no checkpoint can be saved)
/// ends failed on the command line, which keeps nothing else (it once said "training goes on in
/// memory", completed, and exited 0 with no checkpoint past the failure: a helper's audit,
/// 2026-12-06); the window's runs train on in memory and say so once.
#[test]
fn a_run_that_cannot_be_saved_fails_on_the_command_line_and_goes_on_in_the_window() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = mlp();
    cfg.max_epochs = 6;
    cfg.early_stop = false;
    for stop_when_unsaved in [true, false] {
        let dir = tmp.path().join(format!("run-{stop_when_unsaved}"));
        let writer = RunWriter::create(&dir, &cfg, None).unwrap();
        let _ = std::fs::remove_dir_all(dir.join("checkpoints"));
        std::fs::write(dir.join("checkpoints"), "in the way").unwrap();
        let mut evs: Vec<Event> = vec![];
        let opts = RunOptions {
            writer: Some(writer),
            checkpoint_every: grokscope::config::checkpoints::CheckpointEvery::from(2),
            stop_when_unsaved,
            ..Default::default()
        };
        grokking::run(Start::New(valid(&cfg)), 1, &mut evs, &mut Unattended, opts);
        let notes: Vec<String> = evs
            .iter()
            .filter_map(|e| match e {
                Event::Note { message, .. } => Some(message.clone()),
                _ => None,
            })
            .collect();
        if stop_when_unsaved {
            match finished(&evs) {
                Outcome::Failed { message } => {
                    assert!(
                        message.contains("saving the run failed at step 0"),
                        "{message}"
                    )
                }
                other => panic!("expected a failure, got {other:?}"),
            }
            assert!(
                notes.is_empty(),
                "the failure says it, not a note: {notes:?}"
            );
            let info = RunFolder::open(&dir).unwrap().info.unwrap();
            assert_eq!(info.status, RunStatus::Failed);
        } else {
            assert_eq!(finished(&evs), Outcome::Completed);
            assert_eq!(notes.len(), 1, "said once: {notes:?}");
            assert!(notes[0].contains("training goes on in memory"), "{notes:?}");
        }
    }
}

#[test]
fn saving_into_a_folder_that_holds_anything_is_refused_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.toml"), "mine = true\n").unwrap();
    let Err(err) = RunWriter::create(&dir, &mlp(), None) else {
        panic!("a folder holding a file was accepted");
    };
    let err = err.to_string();
    assert!(
        err.contains("not empty") && err.contains("config.toml"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("config.toml")).unwrap(),
        "mine = true\n"
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn any_one_of_a_runs_three_files_makes_a_run_folder_for_open_and_export() {
    use grokscope::cli::export::{FolderKind, folder_kind};
    use grokscope::store::run_dir::looks_like_run;
    let tmp = tempfile::tempdir().unwrap();
    // an empty folder and one holding a stranger's file are no run folders
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), "hello").unwrap();
    assert!(!looks_like_run(&empty));
    assert!(RunFolder::open(&empty).is_err());
    assert!(folder_kind(&empty).is_err());
    // each of run.json, config.toml, metrics.csv alone makes one (run_dir's module doc names them as
    // the run's files), for RunFolder::open and `grokscope export` alike
    for name in ["run.json", "config.toml", "metrics.csv"] {
        let dir = tmp.path().join(name.replace('.', "_"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join(name), "").unwrap();
        assert!(looks_like_run(&dir), "{name}");
        assert!(RunFolder::open(&dir).is_ok(), "{name}");
        assert_eq!(folder_kind(&dir).unwrap(), FolderKind::Run, "{name}");
    }
}

#[test]
fn a_run_saved_from_the_window_has_the_summary_json_of_a_cli_run() {
    use grokscope::protocol::{Command, SaveTo, Summary};
    use grokscope::worker::Worker;
    use std::time::{Duration, Instant};
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = mlp();
    cfg.max_epochs = 6;
    // the window's path: a run recorded in memory by the worker, saved after it finished
    let w = Worker::spawn(None).unwrap();
    w.send(Command::Start(Box::new(ValidRunConfig::Grokking(
        cfg.clone().try_into().unwrap(),
    ))));
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut finished = None;
    while finished.is_none() && Instant::now() < deadline {
        if let Some(Event::Finished { summary, .. }) = w.recv_timeout(Duration::from_millis(100)) {
            finished = Some(summary.expect("a run that started has a summary"));
        }
    }
    let finished = finished.expect("the run finished");
    let window_dir = tmp.path().join("window");
    w.send(Command::SaveRun(SaveTo {
        dir: window_dir.clone(),
        tensorboard: false,
        parent: None,
    }));
    let mut saved = false;
    while !saved && Instant::now() < deadline {
        saved = matches!(
            w.recv_timeout(Duration::from_millis(100)),
            Some(Event::Saved { .. })
        );
    }
    assert!(saved, "the save was answered");
    // the CLI's path (`grokscope run`): the same runner recording into a new folder
    let cli_dir = tmp.path().join("cli");
    assert_eq!(fresh(&cfg, &cli_dir, None, 0), Outcome::Completed);
    let read = |dir: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
    };
    let (window, cli) = (read(&window_dir), read(&cli_dir));
    let keys =
        |v: &serde_json::Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&window), keys(&cli), "one shape of summary.json");
    let back: Summary = serde_json::from_value(window).unwrap();
    assert_eq!(
        back, finished,
        "the window's summary.json is the run's summary"
    );
    // same config and seed: the same numbers (wall time aside)
    assert_eq!(
        (back.steps, back.epochs, back.t_train_epoch),
        (
            cli["steps"].as_u64().unwrap(),
            cli["epochs"].as_u64().unwrap(),
            cli["t_train_epoch"].as_u64()
        )
    );
}

/// Weight frames on disk: a damaged one is named when its views are recomputed and the others still
/// give theirs; a foreign name is named and left out; a frame file already there is never replaced
/// (a run continued in its folder writes the same steps again).
#[test]
fn damaged_and_foreign_frames_are_named_and_existing_ones_are_never_replaced() {
    use grokscope::experiment::grokking::insight_from_saved;
    use grokscope::store::run_dir::FRAMES;
    use grokscope::train::insight::InsightEvery;
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let mut cfg = mlp();
    cfg.max_epochs = 6;
    let opts = RunOptions {
        writer: Some(RunWriter::create(&run, &cfg, None).unwrap()),
        checkpoint_every: grokscope::config::checkpoints::CheckpointEvery::from(1000),
        insight: InsightEvery::Budget(0.0),
        ..RunOptions::default()
    };
    let mut events = vec![];
    let end = grokking::run(
        Start::New(ValidGrokkingConfig::try_from(cfg.clone()).unwrap()),
        1,
        &mut events,
        &mut Unattended,
        opts,
    );
    let folder = RunFolder::open(&run).unwrap();
    assert_eq!(folder.frames.len(), 6, "epochs 1-6");
    let frames = run.join(FRAMES);
    // one frame cut short, one foreign file
    let cut = &folder.frames[2].path;
    let bytes = std::fs::read(cut).unwrap();
    std::fs::write(cut, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::write(frames.join("notes.txt"), "hello").unwrap();
    let folder = RunFolder::open(&run).unwrap();
    assert!(
        folder
            .problems
            .iter()
            .any(|p| p.contains("frames/notes.txt is not a frame name")),
        "{:?}",
        folder.problems
    );
    let (mut ok, mut bad) = (0, vec![]);
    insight_from_saved(&folder, &mut |r| {
        match r {
            Ok(_) => ok += 1,
            Err(e) => bad.push(e),
        }
        true
    });
    let name = cut.file_name().unwrap().to_string_lossy().to_string();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].contains(&name), "the file is named: {}", bad[0]);
    // the other frames and the checkpoints (epoch 0, the end) still give their views
    let steps = folder.weights().len();
    assert_eq!(ok, steps - 1);
    // writing the frames again (as a resume in place would) leaves every file there as it is
    let before: Vec<Vec<u8>> = folder
        .frames
        .iter()
        .map(|f| std::fs::read(&f.path).unwrap())
        .collect();
    let mut writer = end.writer.expect("the recorder");
    let views = end.views.expect("the views");
    writer.keep_frames(views.frames()).unwrap();
    let after: Vec<Vec<u8>> = folder
        .frames
        .iter()
        .map(|f| std::fs::read(&f.path).unwrap())
        .collect();
    assert!(before == after, "no frame file was rewritten");
    assert_eq!(
        std::fs::read_to_string(frames.join("notes.txt")).unwrap(),
        "hello"
    );
    // a run continued in a new folder takes the frames up to its checkpoint along (as it takes the
    // checkpoints), so its views there are as dense as they were
    let folder = RunFolder::open(&run).unwrap();
    let from = folder.checkpoints.last().unwrap().clone();
    let out = tmp.path().join("repaired");
    RunWriter::repair_into(&folder, &from, &out).unwrap();
    let repaired = RunFolder::open(&out).unwrap();
    let steps = |f: &RunFolder| f.frames.iter().map(|c| c.step).collect::<Vec<u64>>();
    assert_eq!(steps(&repaired), steps(&folder));
    for (a, b) in repaired.frames.iter().zip(&folder.frames) {
        assert_eq!(
            std::fs::read(&a.path).unwrap(),
            std::fs::read(&b.path).unwrap()
        );
    }
}

/// Every file under `dir` (path relative to it, bytes), in path order.
fn tree(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    crate::hardening::snapshot(dir)
        .into_iter()
        .map(|(p, b)| (p.strip_prefix(dir).unwrap().to_path_buf(), b))
        // a folder's lock is its writer's, not the run's: a copy has none of its own
        .filter(|(p, _)| p.as_os_str() != grokscope::store::run_dir::LOCK_FILE)
        .collect()
}

/// A lesson's runs live under the temporary folder; Save keeps a fork and its parent in folders of the
/// user's. The copies must stand alone once the originals are gone, and the fork's copy must name the
/// parent's copy (the fork's own rows start at the fork step: the parent holds the curve before it).
#[test]
fn a_copied_fork_and_parent_stand_alone_once_the_originals_are_gone() {
    use grokscope::store::run_dir::copy_run;
    let tmp = tempfile::tempdir().unwrap();
    let (parent, child) = (
        tmp.path().join("lesson/parent"),
        tmp.path().join("lesson/child"),
    );
    let cfg = mlp();
    assert_eq!(fresh(&cfg, &parent, None, 10), Outcome::Completed);
    let folder = RunFolder::open(&parent).unwrap();
    let (at, _) = fork_at(&parent, &child, 10, 0.25);

    let kept = tmp.path().join("mine");
    let (kept_parent, kept_child) = (kept.join("demo-parent"), kept.join("demo"));
    let (parent_tree, child_tree) = (tree(&parent), tree(&child));
    let copied = copy_run(&parent, &kept_parent, None).unwrap();
    assert_eq!(copied.files, parent_tree.len());
    // an empty folder is taken, as Save takes one
    std::fs::create_dir_all(&kept_child).unwrap();
    copy_run(&child, &kept_child, Some(&kept_parent)).unwrap();
    // the sources are untouched, the parent's copy is byte for byte the same
    assert_eq!(tree(&parent), parent_tree);
    assert_eq!(tree(&child), child_tree);
    assert_eq!(tree(&kept_parent), parent_tree);
    // the fork's copy differs in run.json's parent folder alone
    let json = |t: &[(std::path::PathBuf, Vec<u8>)]| -> serde_json::Value {
        let (_, b) = t.iter().find(|(p, _)| p == Path::new("run.json")).unwrap();
        serde_json::from_slice(b).unwrap()
    };
    let kept_tree = tree(&kept_child);
    let (mut was, now) = (json(&child_tree), json(&kept_tree));
    assert_eq!(
        was["parent"]["dir"],
        serde_json::json!(parent.to_str().unwrap())
    );
    was["parent"]["dir"] = serde_json::json!(kept_parent.to_str().unwrap());
    assert_eq!(was, now);
    let others = |t: &[(std::path::PathBuf, Vec<u8>)]| -> Vec<(std::path::PathBuf, Vec<u8>)> {
        t.iter()
            .filter(|(p, _)| p != Path::new("run.json"))
            .cloned()
            .collect()
    };
    assert_eq!(others(&kept_tree), others(&child_tree));
    // nothing else was left beside the copies (the hidden staging folders are gone)
    let mut names: Vec<String> = std::fs::read_dir(&kept)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["demo", "demo-parent"]);

    // the system clears its temporary folder: the copies still open, load and name each other
    std::fs::remove_dir_all(tmp.path().join("lesson")).unwrap();
    let f = RunFolder::open(&kept_child).unwrap();
    assert!(f.problems.is_empty(), "{:?}", f.problems);
    let p = f.info.as_ref().unwrap().parent.clone().unwrap();
    assert_eq!((p.dir.as_path(), p.step), (kept_parent.as_path(), at.step));
    f.load(f.checkpoints.last().unwrap()).unwrap();
    let pf = RunFolder::open(&p.dir).unwrap();
    assert!(pf.problems.is_empty(), "{:?}", pf.problems);
    assert_eq!(pf.rows, folder.rows);
    pf.load(pf.checkpoints.iter().find(|c| c.step == p.step).unwrap())
        .unwrap();
}

/// A copy into a folder holding anything, of a folder that is not a run, or of a run holding a file
/// that cannot be read safely (a link) is refused, and leaves every folder as it was.
#[test]
fn a_refused_copy_leaves_every_folder_as_it_was() {
    use grokscope::store::run_dir::copy_run;
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    assert_eq!(fresh(&mlp(), &run, Some(3), 10), Outcome::Stopped);
    let before = tree(&run);

    let full = tmp.path().join("full");
    std::fs::create_dir_all(&full).unwrap();
    std::fs::write(full.join("notes.txt"), "mine").unwrap();
    let err = copy_run(&run, &full, None).unwrap_err().to_string();
    assert!(
        err.contains("not empty") && err.contains("notes.txt"),
        "{err}"
    );
    assert_eq!(tree(&full), vec![("notes.txt".into(), b"mine".to_vec())]);

    let err = copy_run(&full, &tmp.path().join("x"), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a grokscope run folder"), "{err}");
    // a run without a parent cannot be pointed at one
    let err = copy_run(&run, &tmp.path().join("y"), Some(&full))
        .unwrap_err()
        .to_string();
    assert!(err.contains("names no parent"), "{err}");
    let err = copy_run(&run, &run.join("inside"), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("inside the run folder"), "{err}");

    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(full.join("notes.txt"), run.join("checkpoints/link")).unwrap();
        let err = copy_run(&run, &tmp.path().join("z"), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("link"), "{err}");
        std::fs::remove_file(run.join("checkpoints/link")).unwrap();
    }
    // a copy refused once it began (a folder two levels down, which a run has none of) into folders
    // that did not exist: the folders made for it are gone again
    std::fs::create_dir(run.join("checkpoints/deeper")).unwrap();
    let err = copy_run(&run, &tmp.path().join("made/for/it/copy"), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("two levels down"), "{err}");
    std::fs::remove_dir(run.join("checkpoints/deeper")).unwrap();
    assert_eq!(tree(&run), before);
    let mut names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["full", "run"],
        "no copy and no staging folder left behind"
    );
}

/// A step whose checkpoint could not be used is named with why, where the folder knows: a linked
/// checkpoint (not followed) when a fork asks for its step, and the other saved steps when the newest
/// checkpoint is damaged and an insight figure asks for it (a helper's audit, 2026-12-06: "has no
/// checkpoint at step 100" without a word of the link, and no hint of --step).
#[cfg(unix)]
#[test]
fn an_unusable_checkpoint_is_named_with_why_and_what_else_there_is() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let cfg = twelve_epochs();
    fresh(&cfg, &dir, None, 4);
    let folder = RunFolder::open(&dir).unwrap();
    let at = |epoch: u64| {
        folder
            .checkpoints
            .iter()
            .find(|c| c.epoch == epoch)
            .unwrap()
            .clone()
    };
    let (four, eight, twelve) = (at(4), at(8), at(12));
    std::fs::remove_file(&eight.path).unwrap();
    std::os::unix::fs::symlink(&four.path, &eight.path).unwrap();
    let e = RunFolder::open(&dir)
        .unwrap()
        .checkpoint_at(eight.step)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("no checkpoint at step {}", eight.step)) && e.contains("symbolic link"),
        "{e}"
    );
    // an empty file is said to be empty (not "header too small": a helper's audit, 2026-12-06)
    std::fs::write(&twelve.path, b"").unwrap();
    let e = folder.load(&twelve).unwrap_err().to_string();
    assert!(e.ends_with("is empty (0 bytes)"), "{e}");
    std::fs::write(&twelve.path, b"not a checkpoint").unwrap();
    let args = grokscope::cli::export::ExportArgs {
        dir: dir.clone(),
        list: false,
        figure: Some("spectrum".into()),
        format: None,
        dpi: None,
        width_in: None,
        height_in: None,
        out: Some(tmp.path().join("s.svg")),
        step: None,
        own_keys: false,
        ..Default::default()
    };
    let e = format!(
        "{:#}",
        grokscope::cli::export::export_main(&args).unwrap_err()
    );
    assert!(
        e.contains(&format!(
            "step {} (give --step with another saved step: 0,",
            twelve.step
        )),
        "{e}"
    );
}

/// A resume of a folder whose events.jsonl and config.toml went missing ("missing files lose
/// nothing": they are written afresh) restores the milestones from the checkpoint's detector, says
/// what the new events.jsonl cannot know (earlier starts, mid-run changes), and writes config.toml
/// again. Expected: the same run's milestones as recorded before the file was removed (it once
/// rewrote events.jsonl without them and without a word: a helper's audit, 2026-12-06).
#[test]
fn a_resume_with_missing_files_restores_the_milestones_and_says_what_is_lost() {
    use grokscope::store::run_dir::RunEvent;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let cfg = mlp();
    assert_eq!(fresh(&cfg, &dir, Some(20), 5), Outcome::Stopped);
    let detected = |f: &RunFolder| -> Vec<RunEvent> {
        f.events
            .iter()
            .filter(|e| matches!(e, RunEvent::Detected { .. }))
            .cloned()
            .collect()
    };
    let before = detected(&RunFolder::open(&dir).unwrap());
    assert!(!before.is_empty(), "the run memorised by epoch 20");
    std::fs::remove_file(dir.join("events.jsonl")).unwrap();
    std::fs::remove_file(dir.join("config.toml")).unwrap();
    let evs = resume(&dir, None);
    assert_eq!(finished(&evs), Outcome::Completed);
    let said = format!("{evs:?}");
    for part in [
        "had no events.jsonl",
        "change of learning rate or weight decay before step",
        "its milestones were restored from the checkpoint: memorised",
        "had no config.toml; it is written again",
    ] {
        assert!(said.contains(part), "{part:?} is said: {said}");
    }
    let after = RunFolder::open(&dir).unwrap();
    assert!(after.problems.is_empty(), "{:?}", after.problems);
    assert_eq!(detected(&after)[..before.len()], before[..]);
    assert_eq!(after.config.as_ref(), Some(&cfg));
}

/// A checkpoint that is not whole is named when its folder is read, by its header and size alone:
/// cut short, longer than its header says, empty or not safetensors at all (a damaged checkpoint
/// was found only when a fork or the views read it: a helper's audit, 2026-12-06). Whole ones
/// are not named. Expected: the sizes written here.
#[test]
fn a_checkpoint_that_is_not_whole_is_named_when_the_folder_is_read() {
    use grokscope::store::run_dir::not_whole;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    fresh(&twelve_epochs(), &dir, None, 4);
    let folder = RunFolder::open(&dir).unwrap();
    assert!(folder.problems.is_empty(), "{:?}", folder.problems);
    let c = folder.checkpoints.last().unwrap();
    let bytes = std::fs::read(&c.path).unwrap();
    let len = bytes.len();
    for (damaged, says) in [
        (
            bytes[..len - 1].to_vec(),
            format!(
                "is cut short: {} bytes of the {len} its header gives",
                len - 1
            ),
        ),
        (
            [&bytes[..], b"x"].concat(),
            format!("is {} bytes, more than the {len} its header gives", len + 1),
        ),
        (vec![], "is empty (0 bytes)".to_string()),
        (
            b"not a checkpoint at all".to_vec(),
            "does not start with a safetensors header".into(),
        ),
        // offsets at the end of u64's range: named, not an overflow (a debug build panicked)
        (
            {
                let head =
                    br#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551615]}}"#;
                [&(head.len() as u64).to_le_bytes()[..], &head[..]].concat()
            },
            format!(
                "is cut short: {} bytes of the {} its header gives",
                8 + 73,
                u64::MAX
            ),
        ),
    ] {
        std::fs::write(&c.path, &damaged).unwrap();
        assert_eq!(not_whole(&c.path).as_deref(), Some(says.as_str()));
        let name = c.path.file_name().unwrap().to_string_lossy();
        let problems = RunFolder::open(&dir).unwrap().problems;
        assert_eq!(problems, vec![format!("checkpoints/{name} {says}")]);
    }
    std::fs::write(&c.path, &bytes).unwrap();
    assert_eq!(not_whole(&c.path), None);
}

/// Two writers of one run folder at once are refused (noticed in session 28: nothing stopped two
/// resumes of one folder, or a `resume` of a run still training, from writing the same tables and
/// checkpoints): while a recorder holds the folder (as a run training in a window or a `grokscope
/// run` does), the runner in this process and `grokscope resume` in another refuse it, naming why,
/// and the folder is byte for byte as it was; once the recorder lets go the resume goes on.
#[test]
fn a_folder_being_written_is_not_resumed_by_another_writer() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let cfg = twelve_epochs();
    assert_eq!(fresh(&cfg, &dir, Some(4), 4), Outcome::Stopped);
    // a recorder that holds the folder: one resuming it, not yet training
    let folder = RunFolder::open(&dir).unwrap();
    let from = folder.checkpoints.last().unwrap().clone();
    let (mut held, _) = RunWriter::resume(&folder, &from).unwrap();
    let before = crate::hardening::snapshot(&dir);
    let busy = "is being written by another grokscope process";
    match finished(&resume(&dir, None)) {
        Outcome::Failed { message } => assert!(message.contains(busy), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(
        crate::hardening::snapshot(&dir) == before,
        "the runner changed the folder"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_grokscope"))
        .arg("resume")
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains(busy), "{stderr}");
    assert!(
        crate::hardening::snapshot(&dir) == before,
        "the command changed the folder"
    );
    // a recorder that lets go (a window keeps its ended run's, to save it elsewhere) no longer
    // holds the folder
    held.release_lock();
    assert_eq!(finished(&resume(&dir, None)), Outcome::Completed);
    drop(held);
}

/// The size `config::checkpoints` says a checkpoint takes (the Runs panel's disk cost) lies above
/// the file a run writes, and within 10 % of it: its floats (parameters and two moments) are the file.
#[test]
fn a_checkpoints_size_is_what_the_panel_says() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let cfg = mlp();
    assert_eq!(fresh(&cfg, &run, Some(2), 1), Outcome::Stopped);
    let said = grokscope::config::checkpoints::checkpoint_bytes(&cfg);
    for c in RunFolder::open(&run).unwrap().checkpoints {
        let len = std::fs::metadata(&c.path).unwrap().len();
        assert!(
            len <= said && said * 10 <= len * 11,
            "{len} bytes, said {said}"
        );
    }
}
