//! UI tests of runs on disk in the window: save and open, damaged folders, resume, fork, compare.
//! The real app with real workers, driven headless by egui_kittest; folder dialogs answered from a
//! queue.

use super::ui::{Labs, harness_with, step_until};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use grokscope::app::labs::grokking::run_files::{BandKind, RunRef, RunsAction, RunsSettings};
use grokscope::app::{FileDialog, GrokscopeApp, LabSlot, Persisted, Phase, Unattached};
use grokscope::cli::export::compare_folder_figures;
use grokscope::config::{GrokkingConfig, Operation, preset};
use grokscope::export::figure::{Figure, SeriesKind};
use grokscope::protocol::{Metric, MetricRow};
use grokscope::store::compare::{folder_markers, history_rows};
use grokscope::store::run_dir::RunFolder;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Answers each dialog with the next queued path (`None` once the queue is empty).
#[derive(Default)]
struct QueueDialog(Mutex<VecDeque<PathBuf>>);

impl QueueDialog {
    fn new(paths: &[&Path]) -> Arc<Self> {
        Arc::new(Self(Mutex::new(
            paths.iter().map(|p| p.to_path_buf()).collect(),
        )))
    }
}

impl FileDialog for QueueDialog {
    fn save(&self, _title: &str, _default_name: &str, _ext: &str) -> Option<PathBuf> {
        self.0.lock().unwrap().pop_front()
    }
    fn pick_folder(&self, _title: &str) -> Option<PathBuf> {
        self.0.lock().unwrap().pop_front()
    }
    fn pick_file(&self, _title: &str, _ext: &str) -> Option<PathBuf> {
        self.0.lock().unwrap().pop_front()
    }
}

/// A small MLP run (a few seconds at most), minibatches so the generators' state matters.
fn small(max_epochs: u64) -> GrokkingConfig {
    let mut c = preset("fast-mlp").unwrap().config;
    c.op = Operation::Add;
    c.p = 23;
    c.train_fraction = 0.6;
    c.full_batch = false;
    c.batch_size = 64;
    c.max_epochs = max_epochs;
    c.early_stop = false;
    c
}

/// A run recorded headless into `dir` (checkpoints every `every` epochs), stopped at `stop_at`.
fn headless(cfg: &GrokkingConfig, dir: &Path, stop_at: Option<u64>, every: u64) {
    super::runs::fresh(cfg, dir, stop_at, every);
}

fn app(dialog: Arc<QueueDialog>) -> Harness<'static, GrokscopeApp> {
    let mut h = harness_with(move |cc| GrokscopeApp::new(cc, dialog).expect("the workers start"));
    h.step();
    open_runs_panel(&mut h);
    h
}

/// Open the Runs panel, which starts folded to a strip in the window's default 1280 x 800 (see
/// `layout::runs_open_by_default`), by clicking the strip as a user would.
fn open_runs_panel(h: &mut Harness<'_, GrokscopeApp>) {
    assert!(
        h.query_by_label("Save run…").is_none(),
        "the Runs panel starts folded at 1280 px"
    );
    h.get_by_label("Open Runs").click();
    // the panel slides open over a few frames
    let opened = step_until(h, Duration::from_secs(5), |h| {
        h.query_by_label("Save run…").is_some()
    });
    assert!(opened, "the strip opens it");
}

fn wait(
    h: &mut Harness<'_, GrokscopeApp>,
    what: &str,
    done: impl FnMut(&Harness<'_, GrokscopeApp>) -> bool,
) {
    let ok = step_until(h, Duration::from_secs(60), done);
    assert!(
        ok,
        "{what} did not happen; status: {}",
        h.state().status().text
    );
}

/// Ask for `act` (Resume, Fork) on the first listed run, as its button in the Runs panel would;
/// the run's key.
fn act_on_first_listed(h: &mut Harness<'_, GrokscopeApp>, act: fn(RunRef) -> RunsAction) -> u64 {
    let key = h.state().runs().listed[0].key;
    h.state_mut()
        .grokking_mut()
        .apply_runs(act(RunRef::Listed(key)));
    key
}

/// Every file under `dir` with its bytes (to show a folder was left as it was).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p.clone());
                out.insert(p, b"<dir>".to_vec());
            } else {
                let bytes = std::fs::read(&p).unwrap();
                out.insert(p, bytes);
            }
        }
    }
    out
}

fn rows_of(dir: &Path) -> Vec<MetricRow> {
    RunFolder::open(dir).unwrap().rows
}

/// Open `dir` through the Open run… button and wait until the status says how it went.
fn open(h: &mut Harness<'_, GrokscopeApp>, listed_before: usize) {
    h.get_by_label("Open run…").click();
    wait(h, "the folder read", |h| {
        h.state().runs().listed.len() > listed_before
            || h.state().status().text.starts_with("cannot open")
    });
    h.step();
}

#[test]
fn a_run_saved_from_the_window_opens_back_with_the_same_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("saved");
    let mut h = app(QueueDialog::new(&[&dir, &dir]));
    *h.state_mut().config_mut() = small(12);
    h.get_by_label("▶ Start").click();
    wait(&mut h, "the run's end", |h| {
        h.state().phase() == Phase::Finished
    });
    let live = history_rows(h.state().history());
    assert_eq!(live.len(), 12, "one row an epoch");

    h.get_by_label("TensorBoard event files").click();
    h.step();
    assert!(h.state().runs().settings.tensorboard);
    h.get_by_label("Save run…").click();
    // (recorded under the temporary folder until then, as every run not autosaved is)
    wait(&mut h, "the save", |h| {
        h.state().runs().current.dir.as_deref() == Some(dir.as_path())
    });
    // what the window showed is what the folder holds (metrics.csv keeps every bit: shortest
    // round-trip floats), with checkpoints of the run (copied from the temporary folder)
    let folder = RunFolder::open(&dir).unwrap();
    assert!(folder.problems.is_empty(), "{:?}", folder.problems);
    assert_eq!(folder.rows, live);
    assert!(!folder.checkpoints.is_empty());
    assert_eq!(folder.checkpoints.last().unwrap().epoch, 12);
    // the box was ticked: the saved folder has TensorBoard event files with every row's step
    let logged = grokscope::store::tensorboard::logged_steps(&dir.join("tensorboard"));
    let steps: std::collections::BTreeSet<i64> = live.iter().map(|r| r.step as i64).collect();
    assert_eq!(logged, steps);

    open(&mut h, 0);
    let listed = &h.state().runs().listed;
    // the run that was current is now... still current; the opened copy is the one listed
    let opened = listed
        .iter()
        .find(|r| r.dir.as_deref() == Some(dir.as_path()))
        .unwrap();
    assert_eq!(history_rows(&opened.history), live);
    assert!(opened.problems.is_empty());
    assert!(!h.state().status().is_error, "{}", h.state().status().text);

    // its views, recomputed from its saved weights (frames and checkpoints), bring the ablation with
    // the final checkpoint's keys too, one point a saved step, as the live run's (one a kept epoch)
    // ended with; the frames were held with the run until the save, and written by it
    let frame_epochs: Vec<u64> = folder.frames.iter().map(|f| f.epoch).collect();
    assert_eq!(
        frame_epochs,
        (1..=12).collect::<Vec<u64>>(),
        "a frame an epoch"
    );
    let key = opened.key;
    let saved = folder.weights().len();
    h.state_mut().grokking_mut().show_views_of(Some(key));
    wait(&mut h, "the recomputed views", |h| {
        h.state()
            .runs()
            .listed
            .iter()
            .find(|r| r.key == key)
            .is_some_and(|r| r.insight.source.starts_with("from "))
    });
    let opened = h
        .state()
        .runs()
        .listed
        .iter()
        .find(|r| r.key == key)
        .unwrap();
    let final_steps: Vec<u64> = opened
        .history
        .series(grokscope::protocol::Metric::RestrictedLossFinal)
        .iter()
        .map(|p| p.step)
        .collect();
    let saved_steps: Vec<u64> = folder.weights().iter().map(|w| w.file.step).collect();
    assert_eq!(final_steps.len(), saved);
    assert_eq!(final_steps, saved_steps);
    assert_eq!(
        opened.insight.steps(),
        saved_steps,
        "a view at every saved step"
    );
    let opened_final = opened.insight.final_keys.clone();
    wait(&mut h, "the live run's final keys", |h| {
        !h.state().grokking().insight().final_keys.is_empty()
    });
    let live_final = h.state().grokking().insight().final_keys.clone();
    assert_eq!(opened_final, live_final, "the same final model");
}

#[test]
fn damaged_and_foreign_folders_say_what_is_wrong_show_what_they_can_and_stay_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = small(20);
    let truncated = tmp.path().join("truncated");
    headless(&cfg, &truncated, None, 5);
    let whole = rows_of(&truncated);
    // metrics.csv cut in the middle of its 11th row: rows 1-10 can be read
    let text = std::fs::read_to_string(truncated.join("metrics.csv")).unwrap();
    let cut: usize = text.lines().take(11).map(|l| l.len() + 1).sum::<usize>() + 5;
    std::fs::write(truncated.join("metrics.csv"), &text[..cut]).unwrap();

    let corrupt = tmp.path().join("corrupt");
    headless(&cfg, &corrupt, None, 5);
    std::fs::write(corrupt.join("run.json"), b"{ this is not json").unwrap();
    let mut events = std::fs::read_to_string(corrupt.join("events.jsonl")).unwrap();
    events.push_str("garbage line\n");
    std::fs::write(corrupt.join("events.jsonl"), events).unwrap();

    let newer = tmp.path().join("newer");
    headless(&cfg, &newer, None, 5);
    let info = std::fs::read_to_string(newer.join("run.json")).unwrap();
    std::fs::write(
        newer.join("run.json"),
        info.replace("\"format_version\": 1", "\"format_version\": 7"),
    )
    .unwrap();

    let foreign = tmp.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "not a run").unwrap();

    let before: Vec<_> = [&truncated, &corrupt, &newer, &foreign]
        .iter()
        .map(|d| snapshot(d))
        .collect();
    let mut h = app(QueueDialog::new(&[&truncated, &corrupt, &newer, &foreign]));

    open(&mut h, 0);
    let st = h.state().status().clone();
    assert!(
        st.is_error && st.text.contains("metrics.csv line 12"),
        "{}",
        st.text
    );
    let r = &h.state().runs().listed[0];
    // the ten whole rows before the cut are shown, exactly as written
    assert_eq!(history_rows(&r.history), whole[..10].to_vec());

    open(&mut h, 1);
    let st = h.state().status().clone();
    assert!(
        st.is_error && st.text.contains("run.json is not valid JSON"),
        "{}",
        st.text
    );
    let r = &h.state().runs().listed[1];
    assert!(
        r.problems.iter().any(|p| p.contains("events.jsonl line")),
        "{:?}",
        r.problems
    );
    assert_eq!(
        history_rows(&r.history),
        whole,
        "its metrics are intact and shown"
    );

    open(&mut h, 2);
    let st = h.state().status().clone();
    assert!(st.is_error && st.text.contains("version 7"), "{}", st.text);
    assert_eq!(history_rows(&h.state().runs().listed[2].history), whole);

    open(&mut h, 3);
    let st = h.state().status().clone();
    assert!(
        st.is_error && st.text.contains("not a grokscope run folder"),
        "{}",
        st.text
    );
    assert_eq!(
        h.state().runs().listed.len(),
        3,
        "nothing listed for a foreign folder"
    );
    // the problems are on screen too, under the run's name
    assert!(h.query_by_label_contains("metrics.csv line 12").is_some());

    let after: Vec<_> = [&truncated, &corrupt, &newer, &foreign]
        .iter()
        .map(|d| snapshot(d))
        .collect();
    assert_eq!(before, after, "opening wrote nothing");
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        4,
        "nothing new beside the folders"
    );
}

/// A 16-epoch run trained whole into `tmp/whole` (the expected rows) and the same config stopped after
/// epoch 7 into `tmp/part` (checkpoints every 4 epochs and at the stop).
fn whole_and_stopped(tmp: &Path) -> (PathBuf, PathBuf) {
    let cfg = small(16);
    let (whole, part) = (tmp.join("whole"), tmp.join("part"));
    headless(&cfg, &whole, None, 4);
    headless(&cfg, &part, Some(7), 4);
    assert_eq!(rows_of(&part).len(), 7);
    (whole, part)
}

/// Open `part` in the window and resume it to its end; `each` sees every frame on the way.
fn resume_opened(
    part: &Path,
    mut each: impl FnMut(&Harness<'_, GrokscopeApp>),
) -> Harness<'static, GrokscopeApp> {
    let mut h = app(QueueDialog::new(&[part]));
    open(&mut h, 0);
    act_on_first_listed(&mut h, RunsAction::Resume);
    wait(&mut h, "the resumed run's end", |h| {
        each(h);
        h.state().phase() == Phase::Finished && h.state().history().latest().is_some()
    });
    h
}

#[test]
fn resuming_an_opened_stopped_run_continues_it_in_its_folder_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let (whole, part) = whole_and_stopped(tmp.path());
    let h = resume_opened(&part, |_| {});
    // the window shows the whole run (rows before the checkpoint, then the live ones), and the
    // folder holds the uninterrupted run's rows bit for bit
    let expected = rows_of(&whole);
    assert_eq!(history_rows(h.state().history()), expected);
    assert_eq!(rows_of(&part), expected);
    assert_eq!(
        h.state().runs().current.dir.as_deref(),
        Some(part.as_path())
    );
    assert!(
        h.state().runs().listed.is_empty(),
        "the opened run became the current one"
    );
}

/// A completed run has nothing to resume: its Continue run is off (the hover says to fork), and a
/// resume asked for anyway (a lesson, a stale click) is refused with its folder as it was. Resuming it
/// once rewrote its summary with no final numbers (a helper's audit, 2026-12-06).
#[test]
fn a_completed_run_is_not_resumed_and_its_folder_stays_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let (whole, _) = whole_and_stopped(tmp.path());
    let before = snapshot(&whole);
    let mut h = app(QueueDialog::new(&[&whole]));
    open(&mut h, 0);
    let listed = &h.state().runs().listed[0];
    assert!(listed.completed, "run.json says completed");
    let key = listed.key;
    // the current row (no run yet) and the listed run each have one
    let off = h
        .get_all_by_label("Continue run")
        .all(|b| b.accesskit_node().is_disabled());
    assert!(off, "Continue run is off for a completed run");
    h.state_mut()
        .grokking_mut()
        .apply_runs(RunsAction::Resume(RunRef::Listed(key)));
    h.step();
    let status = h.state().status().text.clone();
    assert!(status.contains("nothing to resume"), "{status}");
    assert_eq!(h.state().phase(), Phase::Idle, "nothing started");
    assert_eq!(h.state().runs().listed.len(), 1, "the run is still listed");
    assert!(snapshot(&whole) == before, "the folder is as it was");
}

/// A resume the worker refuses leaves the Runs panel as it was: the opened run stays listed with its
/// rows and problems (it once vanished: the panel took it out to resume it and the refusal never put
/// it back, a helper's audit of the window, 2026-12-06). A folder with a damaged table has Continue
/// run off, its hover saying why; a refused fork (a damaged checkpoint) ungreys its parent and opens
/// the fork's draft again. Expected: the panel's state before each click.
#[test]
fn a_refused_resume_or_fork_leaves_the_runs_panel_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, part) = whole_and_stopped(tmp.path());
    // valid JSON that records p = 29 while the checkpoints trained p = 23: opens (the recorded
    // config is used) and is refused by the runner's check when resumed
    let edited = tmp.path().join("edited");
    super::runs::copy_dir(&part, &edited);
    let run_json = edited.join("run.json");
    let mut info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&run_json).unwrap()).unwrap();
    info["config"]["p"] = serde_json::json!(29);
    std::fs::write(&run_json, serde_json::to_string_pretty(&info).unwrap()).unwrap();
    // a damaged events.jsonl: a resume in place would rewrite it
    let damaged = tmp.path().join("damaged");
    super::runs::copy_dir(&part, &damaged);
    let mut events = std::fs::read_to_string(damaged.join("events.jsonl")).unwrap();
    events.push_str("garbage line\n");
    std::fs::write(damaged.join("events.jsonl"), events).unwrap();
    let before = (snapshot(&edited), snapshot(&damaged));

    let mut h = app(QueueDialog::new(&[&edited, &damaged]));
    open(&mut h, 0);
    open(&mut h, 1);
    let listed = |h: &Harness<'_, GrokscopeApp>| -> Vec<(String, usize, usize, bool)> {
        h.state()
            .runs()
            .listed
            .iter()
            .map(|r| {
                let rows = r.history.row_count();
                (r.name.clone(), rows, r.problems.len(), r.greyed)
            })
            .collect()
    };
    let shown = listed(&h);
    assert_eq!(shown.len(), 2);
    assert!(!h.state().runs().listed[0].damaged);
    assert!(h.state().runs().listed[1].damaged);
    // the current row (no run yet) and the damaged run have theirs off; the edited run's is on
    let on: Vec<bool> = h
        .get_all_by_label("Continue run")
        .map(|b| !b.accesskit_node().is_disabled())
        .collect();
    assert_eq!(on, vec![false, true, false]);

    let key = act_on_first_listed(&mut h, RunsAction::Resume);
    wait(&mut h, "the refusal", |h| {
        h.state()
            .status()
            .text
            .contains("another config than the run records")
    });
    h.step();
    assert_eq!(listed(&h), shown, "both runs listed as they were");
    assert_eq!(h.state().runs().listed[0].key, key, "in its place");
    assert!(h.state().history().latest().is_none(), "no current run");
    assert_eq!(h.state().runs().current.dir, None);

    // the damaged folder's resume, asked anyway (a stale click), is refused in the panel
    let key = h.state().runs().listed[1].key;
    h.state_mut()
        .grokking_mut()
        .apply_runs(RunsAction::Resume(RunRef::Listed(key)));
    h.step();
    assert!(
        h.state()
            .status()
            .text
            .contains("could not be read in full"),
        "{}",
        h.state().status().text
    );
    assert_eq!(listed(&h), shown);

    // a fork from a damaged checkpoint (the newest of the damaged-table folder, cut short)
    let newest = RunFolder::open(&damaged)
        .unwrap()
        .checkpoints
        .last()
        .unwrap()
        .clone();
    let bytes = std::fs::read(&newest.path).unwrap();
    std::fs::write(&newest.path, &bytes[..bytes.len() / 2]).unwrap();
    let key = h.state().runs().listed[1].key;
    h.state_mut()
        .grokking_mut()
        .apply_runs(RunsAction::Fork(RunRef::Listed(key)));
    wait(&mut h, "the fork's draft", |h| {
        h.state().runs().fork.is_some()
    });
    // the draft starts at the newest checkpoint found whole, the one before, and says what is wrong
    // with the newest when it is picked (a helper's audit, 2026-12-06: it picked the damaged one)
    let n = RunFolder::open(&damaged).unwrap().checkpoints.len();
    let draft = h.state_mut().runs_mut().fork.as_mut().unwrap();
    assert_eq!(draft.checkpoint, n - 2);
    draft.select(n - 1);
    let why = draft.problem_of(n - 1).unwrap_or_default().to_string();
    assert!(why.starts_with("is cut short"), "{why}");
    h.step();
    assert!(
        h.query_by_label_contains("a fork from it will be refused")
            .is_some()
    );
    h.state_mut()
        .grokking_mut()
        .apply_runs(RunsAction::StartFork);
    wait(&mut h, "the fork's refusal", |h| {
        h.state().status().text.contains("checkpoint")
            && h.state().status().is_error
            && h.state().phase() != Phase::Starting
    });
    h.step();
    assert_eq!(listed(&h), shown, "the parent is not greyed any more");
    assert!(h.state().runs().current.parent.is_none());
    assert!(h.state().runs().fork.is_some(), "the draft is open again");
    std::fs::write(&newest.path, &bytes).unwrap();
    assert!(
        (snapshot(&edited), snapshot(&damaged)) == before,
        "nothing written"
    );
}

/// A resume that skips a damaged checkpoint still starts in the window: the note that names the skipped
/// file comes after the run's start (it once came before it, and the window took it for a refused
/// start and never followed the run). Expected rows: the uninterrupted run's, as resuming from the older
/// checkpoint trains the epochs after it again.
#[test]
fn a_resume_past_a_damaged_checkpoint_runs_in_the_window_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let (whole, part) = whole_and_stopped(tmp.path());
    // one flipped bit in the newest checkpoint's data (epoch 7): caught by its checksum
    let newest = RunFolder::open(&part)
        .unwrap()
        .checkpoints
        .last()
        .unwrap()
        .clone();
    assert_eq!(newest.epoch, 7);
    let mut bytes = std::fs::read(&newest.path).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 0x01;
    std::fs::write(&newest.path, &bytes).unwrap();
    let mut noted = false;
    resume_opened(&part, |h| {
        noted |= h.state().status().text.contains("older checkpoint")
    });
    assert!(noted, "the status bar named the checkpoint used instead");
    assert_eq!(rows_of(&part), rows_of(&whole));
}

#[test]
fn a_fork_with_another_weight_decay_names_its_parent_and_step_and_is_drawn_over_it() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = small(15);
    let parent = tmp.path().join("parent");
    headless(&cfg, &parent, None, 5);
    let runs = tmp.path().join("runs");
    let mut h = app(QueueDialog::new(&[&parent]));
    open(&mut h, 0);
    {
        let files = h.state_mut().runs_mut();
        files.settings.autosave = true;
        files.settings.runs_folder = runs.display().to_string();
        files.settings.tensorboard = true;
    }
    act_on_first_listed(&mut h, RunsAction::Fork);
    wait(&mut h, "the fork panel", |h| {
        h.state().runs().fork.is_some()
    });
    let spe = cfg.steps_per_epoch();
    {
        let draft = h.state_mut().runs_mut().fork.as_mut().unwrap();
        let i = draft
            .folder
            .checkpoints
            .iter()
            .position(|c| c.epoch == 5)
            .expect("a checkpoint at epoch 5");
        draft.select(i);
        assert_eq!(
            draft.config.optim.weight_decay, 1.0,
            "the preset's weight decay"
        );
        draft.config.optim.weight_decay = 0.1;
    }
    h.step();
    h.get_by_label("Start fork").click();
    wait(&mut h, "the fork's end", |h| {
        h.state().phase() == Phase::Finished && h.state().runs().current.dir.is_some()
    });
    let fork_dir = h.state().runs().current.dir.clone().unwrap();
    assert!(fork_dir.starts_with(&runs), "autosaved in the runs folder");
    let f = RunFolder::open(&fork_dir).unwrap();
    // TensorBoard was on: the fork's own rows are in its own event files
    let logged = grokscope::store::tensorboard::logged_steps(&fork_dir.join("tensorboard"));
    assert!(
        f.rows.iter().all(|r| logged.contains(&(r.step as i64))),
        "every fork row in its event files"
    );
    assert!(!f.rows.is_empty());
    let p = f.info.unwrap().parent.expect("the fork names its parent");
    // the parent lies in the system's temporary folder (the test's own folder): the autosaved fork
    // started from a copy of it made beside the fork, which it names (see ui_lessons for why)
    let copy = fork_dir.with_file_name(format!(
        "{}-parent",
        fork_dir.file_name().unwrap().to_string_lossy()
    ));
    assert_eq!(
        (p.dir.as_path(), p.step, p.epoch),
        (copy.as_path(), 5 * spe, 5)
    );
    assert_eq!(
        RunFolder::open(&copy).unwrap().rows,
        RunFolder::open(&parent).unwrap().rows
    );
    assert_eq!(
        p.changes,
        vec!["optim.weight_decay: 1.0 -> 0.1".to_string()]
    );
    assert_eq!(f.config.unwrap().optim.weight_decay, 0.1);
    // the config panel shows the fork's settings (its live weight decay included)
    assert_eq!(h.state().config().optim.weight_decay, 0.1);
    // the fork's rows start after the fork step; its weight-decay column says 0.1
    assert_eq!(f.rows.first().unwrap().epoch, 6);
    assert_eq!(f.rows[0].get(Metric::WeightDecay), Some(0.1));
    // both drawn: the parent (greyed) under the fork in the current run's colour
    let greyed = h.state().runs().listed[0].greyed;
    assert!(greyed);
    let cmp = h.state_mut().compared();
    assert!(!cmp.main_hidden && cmp.main_color.is_some());
    assert_eq!(cmp.overlays.len(), 1);
    assert_eq!(
        cmp.overlays[0].name,
        copy.file_name().unwrap().to_string_lossy(),
        "the parent, shown from its copy"
    );
    // thinner than the fork (1.8), as wide as any listed run: its grey tells it apart (1.0 was lost
    // at half size in a presenter view)
    assert_eq!(cmp.overlays[0].width, 1.5);
}

#[test]
fn two_seeds_overlay_then_group_into_their_mean_with_a_band() {
    let tmp = tempfile::tempdir().unwrap();
    let a_cfg = small(10);
    let mut b_cfg = small(10);
    b_cfg.seed = a_cfg.seed + 1;
    let (a, b) = (tmp.path().join("seed-a"), tmp.path().join("seed-b"));
    headless(&a_cfg, &a, None, 5);
    headless(&b_cfg, &b, None, 5);
    let mut h = app(QueueDialog::new(&[&a, &b]));
    open(&mut h, 0);
    open(&mut h, 1);
    let cmp = h.state_mut().compared();
    let names: Vec<&str> = cmp.overlays.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        ["seed-a", "seed-b"],
        "each run drawn in its own colour"
    );
    assert_ne!(cmp.overlays[0].color, cmp.overlays[1].color);
    // Export figure… has the comparison too (a helper's audit: it wrote the current run alone):
    // each run's weight norm as it logged it, named by its folder
    let (ra, rb) = (rows_of(&a), rows_of(&b));
    let norms = |rows: &[MetricRow]| -> Vec<[f64; 2]> {
        rows.iter()
            .map(|r| [r.step as f64, r.get(Metric::WeightNorm).unwrap()])
            .collect()
    };
    let compared = |h: &Harness<'_, GrokscopeApp>| {
        h.state()
            .grokking()
            .figure_set()
            .figures
            .into_iter()
            .find(|f| f.name == "compare_weight_norm")
            .expect("a figure of the runs compared")
    };
    let fig = compared(&h);
    // (the legend's key lines, a run's colour and a metric's style, hold no points)
    let lines: Vec<(&str, &Vec<[f64; 2]>)> = fig
        .series
        .iter()
        .filter(|s| !s.points.is_empty())
        .map(|s| (s.name.as_str(), &s.points))
        .collect();
    assert_eq!(
        lines,
        [
            ("seed-a: squared weight norm (Σw²)", &norms(&ra)),
            ("seed-b: squared weight norm (Σw²)", &norms(&rb))
        ]
    );

    // `grokscope export A B` draws the same figures from the same folders: the one function both
    // call, given the runs the window lists (colours, names and order included)
    let window_figures = |h: &Harness<'_, GrokscopeApp>| -> Vec<Figure> {
        h.state()
            .grokking()
            .figure_set()
            .figures
            .into_iter()
            .filter(|f| f.name.starts_with("compare_"))
            .collect()
    };
    let folders = [a.clone(), b.clone()];
    let cli = compare_folder_figures(&folders, false, BandKind::MinMax).unwrap();
    assert_eq!(cli.figures.len(), 4);
    assert_eq!(cli.figures, window_figures(&h));

    h.get_by_label("group by seed").click();
    h.step();
    let fig = compared(&h);
    let cli = compare_folder_figures(&folders, true, BandKind::MinMax).unwrap();
    assert_eq!(cli.figures, window_figures(&h), "grouped by seed alike");
    let cmp = h.state_mut().compared();
    assert_eq!(cmp.overlays.len(), 1);
    let g = &cmp.overlays[0];
    assert!(g.name.starts_with("mean of 2"), "{}", g.name);
    // hand computation: the mean of the two runs' weight norms at each epoch (a linear axis, so
    // plot y is the value itself); the band's edges are their min and max
    let (_, mean) = g
        .series
        .iter()
        .find(|(m, _)| *m == Metric::WeightNorm)
        .unwrap();
    let band = g
        .bands
        .iter()
        .find(|b| b.metric == Metric::WeightNorm)
        .unwrap();
    let (xs, lo, hi) = (&band.xs, &band.lower, &band.upper);
    assert_eq!(mean.len(), 10);
    for (i, (x, y)) in ra.iter().zip(&rb).enumerate() {
        let (wa, wb) = (
            x.get(Metric::WeightNorm).unwrap(),
            y.get(Metric::WeightNorm).unwrap(),
        );
        assert_eq!(mean[i].x, x.step as f64);
        assert_eq!(mean[i].y, (wa + wb) / 2.0);
        assert_eq!(
            (xs[i], lo[i], hi[i]),
            (x.step as f64, wa.min(wb), wa.max(wb))
        );
    }
    assert_eq!(g.name, "mean of 2 (seeds 0, 1)");
    // the exported comparison draws the group as the plot does: the mean (by hand, as above) and
    // a min-max band, with both runs' configs in the sidecar's data
    let band = fig
        .series
        .iter()
        .find(|s| s.kind == SeriesKind::Band)
        .unwrap();
    let mean = fig
        .series
        .iter()
        .find(|s| s.kind == SeriesKind::Line && !s.points.is_empty())
        .unwrap();
    assert_eq!(
        mean.name,
        "mean of 2 (seeds 0, 1): squared weight norm (Σw²)"
    );
    for (i, (x, y)) in ra.iter().zip(&rb).enumerate() {
        let (wa, wb) = (
            x.get(Metric::WeightNorm).unwrap(),
            y.get(Metric::WeightNorm).unwrap(),
        );
        assert_eq!(mean.points[i], [x.step as f64, (wa + wb) / 2.0]);
        assert_eq!(
            (band.points[i], band.upper[i]),
            ([x.step as f64, wa.min(wb)], wa.max(wb))
        );
    }
    let runs = &fig.data["runs"][0]["runs"];
    assert_eq!(runs.as_array().unwrap().len(), 2);
    assert_eq!(runs[1]["config"]["seed"], 1);
    assert!(
        fig.caption
            .iter()
            .any(|n| n == "mean of 2 (seeds 0, 1): none generalised."),
        "{:?}",
        fig.caption
    );
    // its note in the Runs panel: neither generalises in 10 epochs; no early end (both log to 10)
    assert_eq!(g.note, "none generalised");
    h.step();
    assert!(
        h.query_by_label_contains("mean of 2 (seeds 0, 1): none generalised")
            .is_some()
    );
}

/// A seed band is one treatment's spread (a helper's audit: a run whose weight decay changed at step
/// 90 was averaged with plain runs, and a seed counted twice). Beside two plain seeds: a third seed
/// whose weight decay changed mid-run (its recorded change, as events.jsonl holds it), a fork of a
/// fourth seed with the same settings, and the first seed again. Expected: the two plain seeds are
/// one mean; each of the others is drawn on its own, by its folder's name.
#[test]
fn a_seed_group_leaves_out_runs_changed_mid_run_forks_and_a_repeated_seed() {
    use grokscope::store::run_dir::RunEvent;
    let tmp = tempfile::tempdir().unwrap();
    let seeded = |seed| {
        let mut c = small(10);
        c.seed = seed;
        c
    };
    let folders = ["seed-a", "seed-b", "seed-c-wd3", "seed-d", "seed-a-again"];
    let dirs: Vec<PathBuf> = folders.iter().map(|f| tmp.path().join(f)).collect();
    for (dir, seed) in dirs.iter().zip([0, 1, 2, 3, 0]) {
        headless(&seeded(seed), dir, None, 5);
    }
    // seed c: weight decay 3 from step 5, as the window records a change made while it trains
    let change = RunEvent::Changed {
        change: grokscope::protocol::HyperChange::WeightDecay(3.0),
        step: 5,
        epoch: 5,
    };
    let events = dirs[2].join("events.jsonl");
    let mut text = std::fs::read_to_string(&events).unwrap();
    text.push_str(&format!("{}\n", serde_json::to_string(&change).unwrap()));
    std::fs::write(&events, text).unwrap();
    // seed d forked at epoch 5 with its own weight decay: the same config as the plain seeds
    let fork = tmp.path().join("seed-d-fork");
    super::runs::fork_at(&dirs[3], &fork, 5, small(10).optim.weight_decay);
    let opened: [&Path; 5] = [&dirs[0], &dirs[1], &dirs[2], &fork, &dirs[4]];
    let mut h = app(QueueDialog::new(&opened));
    for i in 0..opened.len() {
        open(&mut h, i);
    }
    h.get_by_label("group by seed").click();
    h.step();
    let cmp = h.state_mut().compared();
    let names: Vec<&str> = cmp.overlays.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "mean of 2 (seeds 0, 1)",
            "seed-c-wd3",
            "seed-d-fork",
            "seed-a-again"
        ]
    );
}

#[test]
fn a_run_stopped_in_the_window_continues_to_the_same_rows_as_an_uninterrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = small(40);
    let whole = tmp.path().join("whole");
    // the expected rows: the same config trained headless without a stop
    headless(&cfg, &whole, None, 0);
    let runs = tmp.path().join("runs");
    let mut h = app(QueueDialog::new(&[]));
    *h.state_mut().config_mut() = cfg;
    {
        let files = h.state_mut().runs_mut();
        files.settings.autosave = true;
        files.settings.runs_folder = runs.display().to_string();
    }
    // held to 50 steps a second (200 steps in all): the Stop comes long before the end, however
    // busy the machine (flat out the run could end before the click was seen)
    h.get_by_label("limit").click();
    h.step();
    h.get_by_role_and_label(eframe::egui::accesskit::Role::Slider, "speed")
        .set_value_accesskit(50.0);
    h.step();
    assert_eq!(h.state().speed_limit(), Some(50.0));
    h.get_by_label("▶ Start").click();
    wait(&mut h, "some epochs", |h| {
        h.state().history().row_count() >= 6 && h.state().runs().current.dir.is_some()
    });
    h.get_by_label("■ Stop").click();
    wait(&mut h, "the stop", |h| h.state().phase() == Phase::Finished);
    let stopped_at = h.state().history().row_count();
    assert!(stopped_at < 40, "stopped early (at {stopped_at} rows)");
    let dir = h.state().runs().current.dir.clone().unwrap();
    assert!(dir.starts_with(&runs), "autosaved in the runs folder");
    h.step();
    h.get_by_label("Continue run").click();
    wait(&mut h, "the continued run's end", |h| {
        h.state().phase() == Phase::Finished && h.state().history().row_count() == 40
    });
    let expected = rows_of(&whole);
    assert_eq!(history_rows(h.state().history()), expected);
    assert_eq!(rows_of(&dir), expected, "its folder holds the whole run");
}

/// After Stop and Continue run the window still shows what it showed before the stop (a
/// researcher's audit: the views, the View step slider and the restricted and excluded loss began at
/// the stop step, though the circuit forms in the part before). Expected: while the continued run
/// trains, every snapshot and restricted-loss point the window held at the stop, unchanged; once it
/// has ended, the restricted loss with the final keys reaches back before the stop too (the worker
/// fills it in from the weights the run saved before its checkpoint).
#[test]
fn a_continued_run_keeps_its_views_and_restricted_loss_from_before_the_stop() {
    let mut h = app(QueueDialog::new(&[]));
    *h.state_mut().config_mut() = small(40);
    // 20 steps a second: the continued run trains for seconds, long enough to be seen training
    h.get_by_label("limit").click();
    h.step();
    h.get_by_role_and_label(eframe::egui::accesskit::Role::Slider, "speed")
        .set_value_accesskit(20.0);
    h.step();
    h.get_by_label("▶ Start").click();
    wait(&mut h, "some epochs", |h| {
        h.state().history().row_count() >= 6 && h.state().grokking().insight().len() >= 3
    });
    h.get_by_label("■ Stop").click();
    wait(&mut h, "the stop", |h| h.state().phase() == Phase::Finished);
    h.step();
    let (stop, _) = h.state().history().latest().unwrap();
    let stopped_rows = h.state().history().row_count();
    let views: Vec<_> = h.state().grokking().insight().all().to_vec();
    let restricted = h.state().history().series(Metric::RestrictedLoss).to_vec();
    assert!(
        views.iter().filter(|s| s.step < stop).count() >= 2
            && restricted.iter().any(|p| p.step < stop),
        "precondition: views and restricted loss before the stop at step {stop}"
    );
    // a step pinned before: the views follow the continued run from its start
    let early = views[1].step;
    h.state_mut().grokking_mut().show_step(Some(early));
    h.step();
    h.get_by_label("Continue run").click();
    wait(&mut h, "the continued run's rows", |h| {
        h.state().history().row_count() > stopped_rows + 1
    });
    assert_eq!(h.state().phase(), Phase::Running, "still training");
    assert_eq!(h.state().grokking().insight_view().pinned, None);
    let held = h.state().grokking().insight();
    for snap in views.iter().filter(|s| s.step <= stop) {
        let now = held.all().iter().find(|s| s.step == snap.step);
        assert!(
            now == Some(snap),
            "the view at step {} is {}",
            snap.step,
            if now.is_none() { "gone" } else { "changed" }
        );
    }
    let now = h.state().history().series(Metric::RestrictedLoss);
    for p in restricted.iter().filter(|p| p.step <= stop) {
        assert!(
            now.contains(p),
            "restricted loss at step {}: {now:?}",
            p.step
        );
    }
    wait(
        &mut h,
        "the restricted loss with the final keys before the stop",
        |h| {
            h.state().phase() == Phase::Finished
                && h.state()
                    .history()
                    .series(Metric::RestrictedLossFinal)
                    .iter()
                    .any(|p| p.step < stop)
        },
    );
}

#[test]
fn an_opened_runs_markers_are_labelled_in_its_colour_while_it_is_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("marked");
    headless(&small(40), &dir, None, 0);
    let markers = folder_markers(&RunFolder::open(&dir).unwrap().events);
    assert!(
        !markers.is_empty(),
        "precondition: the run reached a milestone"
    );
    let mut h = app(QueueDialog::new(&[&dir]));
    open(&mut h, 0);
    h.step();
    let color = h.state().runs().listed[0].color;
    // expected: one label a marker of events.jsonl, named after the folder, in the run's colour
    let ours = |h: &Harness<'_, GrokscopeApp>| -> Vec<(u64, eframe::egui::Color32)> {
        h.state()
            .marker_labels()
            .iter()
            .filter(|l| l.text.starts_with("marked: "))
            .map(|l| (l.step, l.color))
            .collect()
    };
    let expected: Vec<_> = markers.iter().map(|m| (m.step, color)).collect();
    assert_eq!(ours(&h), expected, "{:?}", h.state().marker_labels());
    // hidden runs are not labelled
    h.state_mut().runs_mut().listed[0].visible = false;
    h.step();
    assert!(ours(&h).is_empty(), "{:?}", h.state().marker_labels());
}

/// A run that a later Start replaced is not lost with it: every run of the window is recorded (with
/// autosave off, under the temporary folder, as a lesson's are), so the earlier run stays listed and
/// can still be saved into a folder of the user's. Before, only the latest run could be saved: a
/// second Start dropped the first run's recording and checkpoints. Expected: the saved folder holds
/// the rows the window showed of the first run (from the window's own history, bit for bit), and
/// its checkpoints up to its last epoch.
#[test]
fn a_run_replaced_by_a_later_start_can_still_be_saved() {
    let tmp = tempfile::tempdir().unwrap();
    let kept = tmp.path().join("first");
    let mut h = app(QueueDialog::new(&[&kept]));
    *h.state_mut().config_mut() = small(3);
    let mut first = None;
    for round in 0..2 {
        h.get_by_label("▶ Start").click();
        wait(&mut h, "the run's end", |h| {
            h.state().phase() == Phase::Finished && h.state().history().row_count() == 3
        });
        h.step();
        let earlier = h.state().runs().listed.len();
        assert_eq!(earlier, round, "each new run lists the one before");
        if round == 0 {
            first = Some(history_rows(h.state().history()));
            // the second run differs, so that the saved rows can only be the first's
            h.state_mut().config_mut().seed += 1;
        }
    }
    let listed = &h.state().runs().listed[0];
    // named by the seed and weight decay the runs differ by (fast-mlp's seed 0, then 1; wd 1)
    assert!(listed.name.ends_with("-run_seed_0_wd_1"), "{}", listed.name);
    let current = h.state().runs().current_name();
    assert!(current.ends_with("-run_seed_1_wd_1"), "{current}");
    let recorded = listed.dir.clone().expect("the earlier run is recorded");
    assert!(
        grokscope::app::labs::grokking::run_files::in_temporary_folder(&recorded),
        "{}",
        recorded.display()
    );
    let (enabled, tip) = h.state().runs().save_hint(h.state().history());
    assert!(enabled, "the current run can be saved: {tip}");
    assert!(!tip.contains("cannot be saved any more"), "{tip}");
    // the listed run's own Save… (the only one: the current run's button is "Save run…")
    h.get_by_label("Save…").click();
    wait(&mut h, "the earlier run's save", |h| {
        kept.join("metrics.csv").is_file()
            && h.state().runs().listed[0].dir.as_deref() == Some(kept.as_path())
    });
    let folder = RunFolder::open(&kept).unwrap();
    assert!(folder.problems.is_empty(), "{:?}", folder.problems);
    let first = first.unwrap();
    assert_eq!(folder.rows, first);
    assert_ne!(
        folder.rows,
        history_rows(h.state().history()),
        "not the second run's"
    );
    assert_eq!(folder.checkpoints.last().unwrap().epoch, 3);
}

/// With no folder dialog (or a cancelled one), the typed folder asked for is news, not a problem: the
/// status line is not an error and no "earlier problem" stays in red once the typed folder is saved
/// into (a helper's audit). Expected: the prompt, no error, then the run saved where typed.
#[test]
fn a_typed_folder_asked_for_is_not_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let mut h = app(QueueDialog::new(&[]));
    *h.state_mut().config_mut() = small(3);
    h.get_by_label("▶ Start").click();
    wait(&mut h, "the run's end", |h| {
        h.state().phase() == Phase::Finished
    });
    h.get_by_label("Save run…").click();
    wait(&mut h, "the typed folder's prompt", |h| {
        h.state().runs().prompt.is_some()
    });
    let status = h.state().status();
    assert!(
        status.text.starts_with("no folder chosen") && !status.is_error,
        "{status:?}"
    );
    let to = tmp.path().join("typed");
    h.state_mut().grokking_mut().apply_runs(RunsAction::Typed(
        grokscope::app::labs::grokking::run_files::FolderUse::Save,
        to.clone(),
    ));
    wait(&mut h, "the save", |h| {
        h.state().runs().current.dir.as_deref() == Some(to.as_path())
    });
    assert!(h.state().grokking().link().earlier().is_none());
}

/// eframe storage in memory (the tests never touch the user's real one).
#[derive(Default)]
pub(crate) struct MemStorage(pub(crate) HashMap<String, String>);

impl eframe::Storage for MemStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.into(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

/// The app as eframe would start it with `storage` (no training workers: nothing here trains).
pub(crate) fn app_with_storage(storage: MemStorage) -> Harness<'static, GrokscopeApp> {
    let mut h = harness_with(move |cc| {
        let mut with = eframe::CreationContext::_new_kittest(cc.egui_ctx.clone());
        with.storage = Some(&storage);
        GrokscopeApp::with_backend(
            &with,
            QueueDialog::new(&[]),
            Box::new(Unattached::default()),
        )
    });
    h.step();
    h
}

#[test]
fn the_runs_panel_settings_survive_a_restart_and_a_bad_stored_value_gives_defaults() {
    let mut h = app_with_storage(MemStorage::default());
    assert_eq!(
        h.state().runs().settings,
        RunsSettings::default(),
        "no stored value: defaults"
    );
    // set everything through the panel, as a user would
    open_runs_panel(&mut h);
    for label in [
        "autosave new runs",
        "TensorBoard event files",
        "group by seed",
    ] {
        h.get_by_label(label).click();
        h.step();
    }
    h.get_by_label("±1 std").click();
    h.step();
    h.state_mut().runs_mut().settings.runs_folder = "/somewhere/else".into();
    // the checkpoint cadence: automatic off, every 25 epochs typed
    h.get_by_label("auto").click();
    h.step();
    h.state_mut().runs_mut().settings.checkpoint_every_epochs = 25;
    let set = h.state().runs().settings.clone();
    assert_eq!(
        set,
        RunsSettings {
            autosave: true,
            runs_folder: "/somewhere/else".into(),
            tensorboard: true,
            group_by_seed: true,
            band: BandKind::Std,
            runs_open: Some(true),
            checkpoint_auto: false,
            checkpoint_every_epochs: 25,
        }
    );
    let mut storage = MemStorage::default();
    eframe::App::save(h.state_mut(), &mut storage);
    assert!(storage.0.contains_key(eframe::APP_KEY));
    let restarted = app_with_storage(storage);
    assert_eq!(restarted.state().runs().settings, set, "save then load");
    assert!(
        restarted.query_by_label("Save run…").is_some(),
        "the panel opened by the user is open after the restart"
    );

    // a value that is not RON, or of the wrong shape: all defaults, no panic
    for bad in ["not ron {", "(runs: (autosave: \"yes\"))", ""] {
        let mut storage = MemStorage::default();
        storage.0.insert(eframe::APP_KEY.into(), bad.into());
        let h = app_with_storage(storage);
        assert_eq!(
            h.state().runs().settings,
            RunsSettings::default(),
            "{bad:?}"
        );
    }
    // a field missing from the stored value takes its default; the others are kept
    let mut storage = MemStorage::default();
    storage
        .0
        .insert(eframe::APP_KEY.into(), "(runs: (tensorboard: true))".into());
    let h = app_with_storage(storage);
    assert_eq!(
        h.state().runs().settings,
        RunsSettings {
            tensorboard: true,
            ..RunsSettings::default()
        }
    );
    // a stored cadence out of range is kept as typed and named; runs meanwhile take the automatic one
    let mut storage = MemStorage::default();
    storage.0.insert(
        eframe::APP_KEY.into(),
        "(runs: (checkpoint_auto: false, checkpoint_every_epochs: -3))".into(),
    );
    let h = app_with_storage(storage);
    let s = &h.state().runs().settings;
    let why = s.checkpoints().unwrap_err();
    assert!(
        why.contains("-3 epochs is outside the allowed range"),
        "{why}"
    );
    assert_eq!(
        s.checkpoint_cadence(),
        grokscope::config::checkpoints::CheckpointEvery::Auto
    );
    assert_eq!(Persisted::load(None), Persisted::default());
}

/// An autosave that fails (the runs folder is a file) is an error a moment later replaced by the
/// run's own messages ("completed after …"): it stays in sight as "! earlier problem" in the status
/// bar, its text on hover, until clicked away or the next run (it once showed for under a second: a
/// helper's audit of the window, 2026-12-06). Expected: the worker's refusal to save, named.
#[test]
fn a_failed_autosave_stays_in_sight_after_later_messages() {
    use grokscope::app::LabSlot;
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let mut h = app(QueueDialog::new(&[]));
    *h.state_mut().config_mut() = small(12);
    {
        let files = h.state_mut().runs_mut();
        files.settings.autosave = true;
        files.settings.runs_folder = file.display().to_string();
    }
    h.get_by_label("▶ Start").click();
    wait(&mut h, "the run's end", |h| {
        h.state().phase() == Phase::Finished
    });
    h.step();
    let st = h.state().status().clone();
    assert!(!st.is_error, "the run's end is said last: {}", st.text);
    let earlier = h.state().grokking().link().earlier().map(str::to_string);
    let earlier = earlier.expect("the failed save is kept");
    assert!(earlier.contains("a-file"), "{earlier}");
    let marker = h.get_by_label_contains("earlier problem");
    marker.click();
    h.step();
    h.step();
    assert!(h.state().grokking().link().earlier().is_none(), "dismissed");
    assert!(h.query_by_label_contains("earlier problem").is_none());
    assert_eq!(std::fs::read(&file).unwrap(), b"not a folder");
}

/// Autosave into a mistyped runs folder (`…/typo/deeper/runs`, whose `typo` is not there) makes no
/// folder: the window makes at most the runs folder and the run's own, so the typo is named and the
/// run is recorded under the temporary folder instead, as with autosave off (a helper's audit of the window, 2026-12-06: any missing path was made).
/// Expected: the test's folder as it was, and the first missing folder named.
#[test]
fn autosave_into_a_mistyped_folder_makes_nothing_and_names_the_typo() {
    use grokscope::app::LabSlot;
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("typo").join("deeper").join("runs");
    let mut h = app(QueueDialog::new(&[]));
    *h.state_mut().config_mut() = small(12);
    {
        let files = h.state_mut().runs_mut();
        files.settings.autosave = true;
        files.settings.runs_folder = runs.display().to_string();
    }
    h.get_by_label("▶ Start").click();
    wait(&mut h, "the run's end", |h| {
        h.state().phase() == Phase::Finished
    });
    h.step();
    assert_eq!(h.state().history().row_count(), 12, "the run trained");
    // not in the runs folder: where every run not autosaved is recorded, to be saved later
    let recorded = h.state().runs().current.dir.clone().expect("recorded");
    assert!(
        !recorded.starts_with(tmp.path())
            && grokscope::app::labs::grokking::run_files::in_temporary_folder(&recorded),
        "{}",
        recorded.display()
    );
    let earlier = h.state().grokking().link().earlier().map(str::to_string);
    let said = earlier.unwrap_or_else(|| h.state().status().text.clone());
    let typo = tmp.path().join("typo");
    assert!(
        said.contains(&format!("{} does not exist", typo.display()))
            && said.contains("4 new folders")
            && said.contains("temporary folder instead"),
        "{said}"
    );
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "nothing made"
    );
}

/// The views of an opened run none of whose saved weights can be read say so, with the reason, as an
/// error: the status once said "insight views recomputed at 0 saved steps" beside the panel's
/// reason (a helper's audit, 2026-12-06). Expected: each file emptied here named as empty.
#[test]
fn views_of_a_run_with_no_readable_weights_say_why_not_zero_steps() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("emptied");
    headless(&small(8), &dir, None, 4);
    let folder = RunFolder::open(&dir).unwrap();
    let files = folder.weights();
    assert!(!files.is_empty());
    for w in &files {
        std::fs::write(&w.file.path, b"").unwrap();
    }
    let mut h = app(QueueDialog::new(&[&dir]));
    open(&mut h, 0);
    let key = h.state().runs().listed[0].key;
    h.state_mut().grokking_mut().show_views_of(Some(key));
    wait(&mut h, "the views' end", |h| {
        let text = &h.state().status().text;
        text.contains("insight views") && !text.starts_with("recomputing")
    });
    let st = h.state().status().clone();
    assert!(st.is_error, "{}", st.text);
    assert!(
        st.text.contains("emptied: no insight views:") && st.text.contains("is empty (0 bytes)"),
        "{}",
        st.text
    );
}

/// Compared runs draw their train and validation curves alone: the restricted and excluded losses of
/// each run, in its colour with no style of their own, tangled the loss plot and no key named them
/// (a helper's audit, 2026-12-06). Expected: a run that has ablation curves, compared, overlays none
/// of them, and its validation loss still.
#[test]
fn compared_runs_leave_out_the_ablation_curves() {
    use grokscope::app::labs::grokking::ABLATION_CURVES;
    let mut h = app(QueueDialog::new(&[]));
    *h.state_mut().config_mut() = small(30);
    h.get_by_label("▶ Start").click();
    wait(&mut h, "the first run's end", |h| {
        h.state().phase() == Phase::Finished && h.state().history().row_count() == 30
    });
    let first = h.state().history().run();
    assert!(
        ABLATION_CURVES
            .iter()
            .any(|m| !h.state().history().series(*m).is_empty()),
        "precondition: the run has ablation curves"
    );
    h.step();
    h.get_by_label("▶ Start").click();
    wait(&mut h, "the second run's end", |h| {
        h.state().history().run() != first
            && h.state().phase() == Phase::Finished
            && h.state().history().row_count() == 30
    });
    // the first run, kept in the list, shown beside the second
    h.state_mut().runs_mut().listed[0].visible = true;
    h.step();
    let cmp = h.state_mut().compared();
    assert_eq!(cmp.overlays.len(), 1);
    let drawn: Vec<Metric> = cmp.overlays[0].series.iter().map(|(m, _)| *m).collect();
    assert!(drawn.contains(&Metric::ValLoss), "{drawn:?}");
    assert!(
        drawn.iter().all(|m| !ABLATION_CURVES.contains(m)),
        "{drawn:?}"
    );
}

/// Run the command line's fork of `parent` at `step` with `sets` into `out` (the real binary).
fn cli_fork(parent: &Path, step: u64, sets: &[&str], out: &Path) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_grokscope"));
    cmd.arg("fork")
        .arg(parent)
        .args(["--step", &step.to_string()]);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let o = cmd.arg("--out").arg(out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// M3 and L4: the Runs panel's checkpoint cadence reaches the worker. A window run at "every 4
/// epochs" checkpoints at step 0, every 4 epochs, at its milestone and its end (before, every
/// max_epochs / 10 = 3 epochs); a fork there, past memorisation, with weight decay 0.1 equals the
/// command line's fork of the same checkpoint bit for bit, rows and events alike; and its
/// events.jsonl says where it started and what changed, with the milestone it inherited (before, it
/// began with "started" at step 0 and named neither).
#[test]
fn a_window_run_checkpoints_at_the_panels_cadence_and_its_fork_equals_the_command_lines() {
    use grokscope::analysis::events::GrokEvent;
    use grokscope::protocol::HyperChange;
    use grokscope::store::run_dir::RunEvent;
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let mut h = app(QueueDialog::new(&[]));
    {
        let s = &mut h.state_mut().runs_mut().settings;
        s.autosave = true;
        s.runs_folder = runs.display().to_string();
        s.checkpoint_auto = false;
        s.checkpoint_every_epochs = 4;
    }
    let cfg = small(30);
    let spe = cfg.steps_per_epoch();
    *h.state_mut().config_mut() = cfg.clone();
    h.step();
    h.get_by_label("▶ Start").click();
    wait(&mut h, "the run's end", |h| {
        h.state().phase() == Phase::Finished && h.state().runs().current.dir.is_some()
    });
    let dir = h.state().runs().current.dir.clone().unwrap();
    let parent = RunFolder::open(&dir).unwrap();
    // the milestone this seed reaches (memorised at epoch 16 when this was written: see the run's
    // events), which the fork below starts after
    let memorised = parent
        .events
        .iter()
        .find_map(|e| match e {
            RunEvent::Detected {
                what: GrokEvent::Memorised,
                step,
                epoch,
                ..
            } => Some((*step, *epoch)),
            _ => None,
        })
        .expect("the small run memorises within 30 epochs");
    // step 0, every 4 epochs, each milestone and the end (epoch 30), by the rule; and epoch 1, where
    // the autosave folder was attached (a save takes a checkpoint at the next epoch's end)
    let mut want: Vec<u64> = (0..=30).filter(|e| e % 4 == 0).collect();
    want.push(1);
    want.extend(parent.events.iter().filter_map(|e| match e {
        RunEvent::Detected { epoch, .. } => Some(*epoch),
        _ => None,
    }));
    want.push(30);
    want.sort_unstable();
    want.dedup();
    let got: Vec<u64> = parent.checkpoints.iter().map(|c| c.epoch).collect();
    assert_eq!(got, want);
    // fork at the first periodic checkpoint after memorisation
    let at_epoch = (memorised.1 / 4 + 1) * 4;
    assert!(at_epoch < 30);
    h.state_mut()
        .grokking_mut()
        .apply_runs(RunsAction::Fork(RunRef::Current));
    wait(&mut h, "the fork panel", |h| {
        h.state().runs().fork.is_some()
    });
    {
        let draft = h.state_mut().runs_mut().fork.as_mut().unwrap();
        let i = draft.nearest(at_epoch * spe);
        draft.select(i);
        assert_eq!(draft.at(), Some((at_epoch * spe, at_epoch)));
        draft.config.optim.weight_decay = 0.1;
    }
    h.step();
    h.get_by_label("Start fork").click();
    wait(&mut h, "the fork's end", |h| {
        h.state().phase() == Phase::Finished
            && h.state()
                .runs()
                .current
                .dir
                .as_ref()
                .is_some_and(|d| *d != dir)
    });
    let window_fork = h.state().runs().current.dir.clone().unwrap();
    let cli = tmp.path().join("cli-fork");
    cli_fork(&dir, at_epoch * spe, &["optim.weight_decay=0.1"], &cli);
    let (w, c) = (
        RunFolder::open(&window_fork).unwrap(),
        RunFolder::open(&cli).unwrap(),
    );
    assert!(!w.rows.is_empty());
    assert_eq!(
        w.rows, c.rows,
        "the window's fork and the command line's, bit for bit"
    );
    // the events alike but for the parent's folder: the window forked a copy of it made beside the
    // fork (the runs folder lies in the system's temporary folder here; see the fork test above)
    assert_eq!(w.events[1..], c.events[1..]);
    let copy = window_fork.with_file_name(format!(
        "{}-parent",
        window_fork.file_name().unwrap().to_string_lossy()
    ));
    let forked_from = |e: &RunEvent| match e {
        RunEvent::Forked { parent, .. } => parent.clone(),
        other => panic!("a fork's first line is where it came from: {other:?}"),
    };
    assert_eq!(forked_from(&w.events[0]), copy);
    assert_eq!(forked_from(&c.events[0]), dir);
    // where it started and what changed, then its own start: by the fork's settings above
    let at = at_epoch * spe;
    assert_eq!(
        c.events[..4],
        [
            RunEvent::Forked {
                parent: dir.clone(),
                step: at,
                epoch: at_epoch,
                changes: vec!["optim.weight_decay: 1.0 -> 0.1".into()],
            },
            RunEvent::Detected {
                what: GrokEvent::Memorised,
                step: memorised.0,
                epoch: memorised.1,
                inherited: true,
            },
            RunEvent::Started {
                param_count: w.info.as_ref().unwrap().param_count,
                step: at,
                epoch: at_epoch,
            },
            RunEvent::Changed {
                change: HyperChange::WeightDecay(0.1),
                step: at,
                epoch: at_epoch,
            },
        ]
    );
    // the inherited milestone is drawn with the parent, not again in the fork's colour; the change is
    let markers = folder_markers(&w.events);
    assert!(markers.iter().all(|m| m.step >= at), "{markers:?}");
    assert!(markers.iter().any(|m| m.step == at));
}

/// M3: the cadence typed in the Runs panel is checked: 0, a negative number or one past the largest
/// epoch cap is named in red, with what runs do meanwhile (the automatic cadence), never a panic;
/// a good one says how often and the size of one checkpoint for the config a Start would run.
#[test]
fn a_bad_checkpoint_cadence_is_named_and_a_good_one_says_its_disk_cost() {
    let mut h = app(QueueDialog::new(&[]));
    *h.state_mut().config_mut() = preset("fast-mlp").unwrap().config;
    // the default: automatic; the fast preset's cadence and checkpoint size come from
    // config::checkpoints (worked out by hand there: every 12 epochs, 0.3 MiB each)
    h.step();
    assert!(h.state().runs().settings.checkpoint_auto);
    h.get_by_label_contains("auto: every 12 epochs here · 0.3 MiB each");
    // untick auto: the typed 10 is used
    h.get_by_label("auto").click();
    h.run_steps(2);
    assert!(!h.state().runs().settings.checkpoint_auto);
    h.get_by_label_contains("every 10 epochs here");
    for bad in [0, -5, 100_000_001] {
        h.state_mut().runs_mut().settings.checkpoint_every_epochs = bad;
        h.run_steps(2);
        let said = crate::ui_support::labels_with(&h, "outside the allowed range");
        assert_eq!(said.len(), 1, "{bad}: {said:?}");
        assert!(
            said[0].contains(&format!("{bad} epochs"))
                && said[0].contains("the automatic cadence until it is fixed"),
            "{}",
            said[0]
        );
    }
}

/// L8: the fork panel's checkpoint slider answers a click on its track (the nearest checkpoint to
/// the step clicked) and, once it has focus, ← and → (one checkpoint back or on); before, only a
/// drag moved it.
#[test]
fn the_fork_checkpoint_slider_moves_by_a_click_and_the_arrow_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let parent = tmp.path().join("parent");
    let cfg = small(30);
    headless(&cfg, &parent, None, 3);
    let mut h = app(QueueDialog::new(&[&parent]));
    open(&mut h, 0);
    act_on_first_listed(&mut h, RunsAction::Fork);
    wait(&mut h, "the fork panel", |h| {
        h.state().runs().fork.is_some()
    });
    h.run_steps(2);
    let steps: Vec<u64> = h
        .state()
        .runs()
        .fork
        .as_ref()
        .unwrap()
        .folder
        .checkpoints
        .iter()
        .map(|c| c.step)
        .collect();
    let chosen = |h: &Harness<'_, GrokscopeApp>| h.state().runs().fork.as_ref().unwrap().checkpoint;
    // the fork panel opens at the newest checkpoint
    assert_eq!(chosen(&h), steps.len() - 1);
    // a click at the middle of the track: half the last step, 75 of 150 (epoch 15, a multiple of 3)
    let last = *steps.last().unwrap();
    let half = last / 2;
    let nearest = (0..steps.len())
        .min_by_key(|&i| steps[i].abs_diff(half))
        .unwrap();
    h.get_by_role_and_label(eframe::egui::accesskit::Role::Slider, "checkpoint")
        .click();
    h.run_steps(2);
    assert_eq!(chosen(&h), nearest, "clicked at step {half} of {steps:?}");
    // and the keys: one back, then two on
    h.key_press(eframe::egui::Key::ArrowLeft);
    h.run_steps(2);
    assert_eq!(chosen(&h), nearest - 1);
    h.key_press(eframe::egui::Key::ArrowRight);
    h.key_press(eframe::egui::Key::ArrowRight);
    h.run_steps(2);
    assert_eq!(chosen(&h), nearest + 1);
}
