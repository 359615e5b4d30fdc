//! TensorBoard event files written next to a run's metrics: decoded with the crate's checked reader and
//! compared with metrics.csv and events.jsonl of the same run.

use crate::runs::valid;
use grokscope::config::{GrokkingConfig, Operation, preset};
use grokscope::experiment::Unattended;
use grokscope::experiment::grokking::{self, ContinueSpec, RunOptions, Start};
use grokscope::protocol::{Event, Metric};
use grokscope::store::run_dir::{RunEvent, RunFolder, RunWriter};
use grokscope::store::tensorboard::{self, FILE_VERSION, TbEvent, What};
use std::collections::BTreeMap;
use std::path::Path;

/// A small MLP run that evaluates every third epoch, so validation accuracy is on some rows only, with
/// minibatches, so the optimiser step differs from the epoch.
fn tiny() -> GrokkingConfig {
    let mut c = preset("fast-mlp").unwrap().config;
    c.op = Operation::Add;
    c.p = 23;
    c.train_fraction = 0.9;
    c.full_batch = false;
    c.batch_size = 64;
    c.max_epochs = 24;
    c.eval_every_epochs = 3;
    c.early_stop = false;
    c
}

/// Every event file of the run's tensorboard/ folder, in reading order, decoded without a problem.
fn event_files(run: &Path) -> Vec<Vec<TbEvent>> {
    let files = tensorboard::event_files(&run.join(tensorboard::FOLDER)).unwrap();
    files
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            assert!(name.starts_with("events.out.tfevents."), "{name}");
            let f = tensorboard::read_events(&std::fs::read(p).unwrap());
            assert_eq!(f.problem, None, "{name}");
            assert_eq!(
                f.events.first().map(|e| &e.what),
                Some(&What::FileVersion(FILE_VERSION.into())),
                "{name} does not start with its file version"
            );
            f.events
        })
        .collect()
}

/// The scalars as TensorBoard shows them: files read in order, and a session start dropping what
/// earlier records logged at its step or later (TensorBoard's event accumulators do the same on a
/// SessionLog START after the first). Tag -> step -> value.
fn replay(files: &[Vec<TbEvent>]) -> BTreeMap<String, BTreeMap<i64, f32>> {
    let mut out: BTreeMap<String, BTreeMap<i64, f32>> = BTreeMap::new();
    for ev in files.iter().flatten() {
        match &ev.what {
            What::Scalars(values) => {
                for (tag, v) in values {
                    let series = out.entry(tag.clone()).or_default();
                    // within a tag, steps only increase (TensorBoard would purge otherwise)
                    if let Some((&last, _)) = series.last_key_value() {
                        assert!(ev.step > last, "{tag}: step {} after {last}", ev.step);
                    }
                    series.insert(ev.step, *v);
                }
            }
            What::SessionStart => {
                for series in out.values_mut() {
                    series.retain(|&s, _| s < ev.step);
                }
            }
            What::FileVersion(_) | What::Other => {}
        }
    }
    out
}

/// The expected series come from the run's own metrics.csv and events.jsonl (values as f32, the
/// precision of TensorBoard's simple_value).
fn assert_matches_run_folder(run: &Path, scalars: &BTreeMap<String, BTreeMap<i64, f32>>) {
    let folder = RunFolder::open(run).unwrap();
    assert!(folder.problems.is_empty(), "{:?}", folder.problems);
    assert!(!folder.rows.is_empty());
    let mut logged = 0;
    for m in Metric::GROKKING {
        let want: BTreeMap<i64, f32> = folder
            .rows
            .iter()
            .filter_map(|r| r.get(m).map(|v| (r.step as i64, v as f32)))
            .collect();
        logged += usize::from(!want.is_empty());
        let got = scalars
            .get(tensorboard::tag(m))
            .cloned()
            .unwrap_or_default();
        assert_eq!(got, want, "{}", tensorboard::tag(m));
    }
    let mut want_events: BTreeMap<String, BTreeMap<i64, f32>> = BTreeMap::new();
    for e in &folder.events {
        if let RunEvent::Detected {
            what, step, epoch, ..
        } = e
        {
            want_events
                .entry(tensorboard::event_tag(*what).into())
                .or_default()
                .insert(*step as i64, *epoch as f32);
        }
    }
    let got_events: BTreeMap<String, BTreeMap<i64, f32>> = scalars
        .iter()
        .filter(|(t, _)| t.starts_with("events/"))
        .map(|(t, s)| (t.clone(), s.clone()))
        .collect();
    assert_eq!(got_events, want_events);
    // nothing but the metrics' and the milestones' tags
    let known = logged + want_events.len();
    assert_eq!(scalars.len(), known, "{:?}", scalars.keys());
}

#[test]
fn run_with_tensorboard_writes_an_event_file_matching_metrics_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg_path = tmp.path().join("c.toml");
    std::fs::write(&cfg_path, tiny().to_toml()).unwrap();
    let run = tmp.path().join("run");
    // through the command line, so the --tensorboard flag reaches the runner
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_grokscope"))
        .args(["run", "--tensorboard", "--config"])
        .arg(&cfg_path)
        .arg("--out")
        .arg(&run)
        .status()
        .unwrap();
    assert!(st.success());
    let files = event_files(&run);
    assert_eq!(files.len(), 1, "one session, one file");
    // a session start at step 0 follows the file version (TensorBoard takes it as the run's beginning)
    assert_eq!(files[0][1].what, What::SessionStart);
    assert_eq!(files[0][1].step, 0);
    let scalars = replay(&files);
    // validation accuracy only where the run evaluated: as many values as metrics.csv has
    let rows = RunFolder::open(&run).unwrap().rows;
    let with_val = rows
        .iter()
        .filter(|r| r.get(Metric::ValAcc).is_some())
        .count();
    // the trainer evaluates at epoch 1 and every third epoch (3, 6, ..., 24): 1 + 8
    assert_eq!(with_val, 9);
    assert_eq!(scalars["val/acc"].len(), with_val);
    assert_eq!(scalars["train/loss"].len(), rows.len());
    assert_matches_run_folder(&run, &scalars);
    // this run memorises (running train accuracy >= 99 %) within its 24 epochs (epoch 17 when this
    // test was written), so the milestone's tag is checked against events.jsonl above
    assert!(scalars.contains_key("events/memorised"));
    // the step is the optimiser step, not the epoch
    let last = rows.last().unwrap();
    assert!(last.step > last.epoch);
    assert_eq!(
        scalars["train/loss"].last_key_value().map(|(s, _)| *s),
        Some(last.step as i64)
    );
}

/// A new run of [`tiny`] in `run`, checkpointed every 6 epochs, stopped after `stop_at` epochs.
fn fresh(run: &Path, stop_at: u64) {
    let cfg = tiny();
    let opts = RunOptions {
        writer: Some(RunWriter::create(run, &cfg, None).unwrap()),
        checkpoint_every: grokscope::config::checkpoints::CheckpointEvery::from(6),
        stop_at_epoch: Some(stop_at),
        tensorboard: true,
        ..RunOptions::default()
    };
    let mut evs: Vec<Event> = vec![];
    grokking::run(Start::New(valid(&cfg)), 1, &mut evs, &mut Unattended, opts);
}

/// Resume the run in `run` from the checkpoint at `step` (`None`: the newest), to `stop_at` epochs or
/// the end.
fn resume(run: &Path, step: Option<u64>, stop_at: Option<u64>, tensorboard: bool) {
    let spec = ContinueSpec {
        from: run.to_path_buf(),
        step,
        fork: None,
    };
    let opts = RunOptions {
        tensorboard,
        stop_at_epoch: stop_at,
        checkpoint_every: grokscope::config::checkpoints::CheckpointEvery::from(6),
        ..Default::default()
    };
    let mut evs: Vec<Event> = vec![];
    grokking::run(Start::Continue(spec), 1, &mut evs, &mut Unattended, opts);
}

#[test]
fn resume_from_an_earlier_checkpoint_appends_a_file_that_replaces_the_dropped_part() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    fresh(&run, 15);
    // go on from the checkpoint at epoch 6: the first session's epochs 7..15 are dropped
    let folder = RunFolder::open(&run).unwrap();
    let ckpt = folder.checkpoints.iter().find(|c| c.epoch == 6).unwrap();
    resume(&run, Some(ckpt.step), None, true);
    let files = event_files(&run);
    assert_eq!(files.len(), 2, "a file per session");
    // the second file marks its start just after the checkpoint, then logs only later steps
    let second = &files[1];
    assert_eq!(second[1].what, What::SessionStart);
    assert_eq!(second[1].step, ckpt.step as i64 + 1);
    assert!(second[2..].iter().all(|e| e.step > ckpt.step as i64));
    // the first file still holds epochs up to 15, which TensorBoard drops at the session start
    let first_last = files[0].iter().map(|e| e.step).max().unwrap();
    assert!(first_last > ckpt.step as i64);
    let scalars = replay(&files);
    assert_matches_run_folder(&run, &scalars);
}

#[test]
fn a_session_after_one_without_the_option_rewrites_the_whole_history() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    fresh(&run, 9);
    // epochs 10..15 are recorded in metrics.csv but in no event file
    resume(&run, None, Some(15), false);
    assert_eq!(event_files(&run).len(), 1);
    resume(&run, None, None, true);
    let files = event_files(&run);
    assert_eq!(files.len(), 2);
    // the first file lacks epochs 10..15, so the new one starts over: its session start at step 0
    // drops everything earlier, and the whole history follows
    assert_eq!(files[1][1].what, What::SessionStart);
    assert_eq!(files[1][1].step, 0);
    let scalars = replay(&files);
    assert_matches_run_folder(&run, &scalars);
    assert_eq!(scalars["train/loss"].len(), 24);
}

#[test]
fn a_run_without_the_option_writes_no_event_files() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let mut cfg = tiny();
    cfg.max_epochs = 3;
    let mut evs: Vec<Event> = vec![];
    let opts = RunOptions {
        writer: Some(RunWriter::create(&run, &cfg, None).unwrap()),
        ..Default::default()
    };
    grokking::run(Start::New(valid(&cfg)), 1, &mut evs, &mut Unattended, opts);
    assert!(run.join("metrics.csv").exists());
    assert!(!run.join(tensorboard::FOLDER).exists());
}
