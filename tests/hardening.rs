//! Issue 13: nothing lost, nothing silent. One regression test per defect the issue measured on main
//! (its numbering), each naming where its expected value comes from.

use grokscope::analysis::capacity_study::TaskResult;
use grokscope::cli::capacity::sweep_main;
use grokscope::cli::ordering::{StudyArgs, study_main};
use grokscope::config::capacity::sweep_presets;
use grokscope::config::ordering::{OrderingTask, StudyKind, default_study};
use grokscope::config::{GrokkingConfig, ModelConfig};
use grokscope::experiment::Unattended;
use grokscope::experiment::grokking::{self, ContinueSpec, RunOptions, Start};
use grokscope::protocol::{Event, Outcome};
use grokscope::store::run_dir::RunFolder;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn grokscope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_grokscope"))
}

/// Every file under `dir` (links as their target's name) with its bytes: a folder "left as it was"
/// compares equal before and after.
pub(crate) fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let ft = e.file_type().unwrap();
            if ft.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                out.insert(path, target.to_string_lossy().as_bytes().to_vec());
            } else if ft.is_dir() {
                todo.push(path);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap_or_default());
            }
        }
    }
    out
}

/// The small MLP run of the runs tests (p = 23, minibatches, 30 epochs).
fn small() -> GrokkingConfig {
    crate::runs::mlp()
}

fn trained(dir: &Path, cfg: &GrokkingConfig, epochs: u64) {
    assert_eq!(
        crate::runs::fresh(cfg, dir, Some(epochs), 10),
        Outcome::Stopped
    );
}

/// Resume `dir` in place through the runner every front end calls; the events it sent.
fn resume(dir: &Path) -> Vec<Event> {
    let opts = RunOptions {
        stop_at_epoch: Some(30),
        ..Default::default()
    };
    crate::runs::resume_with(dir, 2, opts)
}

/// `grokscope resume DIR --repair NEW --max-epochs 30`, which must succeed; what it said on stderr.
fn repair(dir: &Path, new: &Path) -> String {
    let out = grokscope()
        .args(["resume", dir.to_str().unwrap(), "--repair"])
        .arg(new)
        .args(["--max-epochs", "30"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    err
}

fn failure(evs: &[Event]) -> String {
    match evs.last() {
        Some(Event::Finished {
            outcome: Outcome::Failed { message },
            ..
        }) => message.clone(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

#[test]
fn defect_1_resume_refuses_tables_it_cannot_read_whole_and_repair_writes_a_new_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    trained(&base, &small(), 20);
    let metrics = std::fs::read(base.join("metrics.csv")).unwrap();
    // each damage the issue reproduced, and the (file, line) the refusal must name: line numbers
    // counted from the file as written here (header = line 1)
    let bom = [b"\xef\xbb\xbf".as_slice(), &metrics].concat();
    let mut bad_byte = metrics.clone();
    let at = metrics.iter().position(|&b| b == b'\n').unwrap() + 3; // inside line 2
    bad_byte[at] = 0xff;
    let garbage = {
        let text = String::from_utf8(metrics.clone()).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines.insert(5, "this is not a row");
        lines.join("\n") + "\n"
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("bom", bom, "metrics.csv line 1"),
        ("byte", bad_byte, "metrics.csv line 2"),
        ("garbage", garbage.into_bytes(), "metrics.csv line 6"),
    ];
    for (name, bytes, expect) in cases {
        let dir = tmp.path().join(name);
        copy_dir(&base, &dir);
        std::fs::write(dir.join("metrics.csv"), &bytes).unwrap();
        let before = snapshot(&dir);
        let message = failure(&resume(&dir));
        assert!(
            message.contains(expect) && message.contains("Nothing was changed"),
            "{name}: {message}"
        );
        assert_eq!(
            snapshot(&dir),
            before,
            "{name}: the folder is left byte for byte"
        );
    }
    // a fork's run.json with one bad byte: refused, so `parent` is never dropped
    let fork = tmp.path().join("fork");
    let spec = ContinueSpec {
        from: base.clone(),
        step: Some(RunFolder::open(&base).unwrap().checkpoints[1].step),
        fork: Some(grokscope::protocol::ForkSpec {
            config: {
                let mut c = small();
                c.optim.weight_decay = 0.1;
                c
            },
            out: Some(fork.clone()),
        }),
    };
    let mut evs: Vec<Event> = vec![];
    let opts = RunOptions {
        stop_at_epoch: Some(20),
        ..Default::default()
    };
    grokking::run(Start::Continue(spec), 3, &mut evs, &mut Unattended, opts);
    let mut info = std::fs::read(fork.join("run.json")).unwrap();
    assert!(String::from_utf8_lossy(&info).contains("\"parent\": {"));
    let i = info.len() / 2;
    info[i] = 0xfe;
    std::fs::write(fork.join("run.json"), &info).unwrap();
    let before = snapshot(&fork);
    let message = failure(&resume(&fork));
    assert!(message.contains("run.json line"), "{message}");
    assert_eq!(snapshot(&fork), before);
    // an unreadable metrics.csv (mode 000) is refused too, where permissions bind (not as root)
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = tmp.path().join("mode000");
        copy_dir(&base, &dir);
        let m = dir.join("metrics.csv");
        std::fs::set_permissions(&m, std::fs::Permissions::from_mode(0o000)).unwrap();
        if std::fs::read(&m).is_err() {
            let message = failure(&resume(&dir));
            assert!(message.contains("metrics.csv"), "{message}");
        }
        std::fs::set_permissions(&m, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    // --repair: the readable part continued in a new folder, the damaged one untouched
    let dir = tmp.path().join("garbage");
    let before = snapshot(&dir);
    let new = tmp.path().join("repaired");
    let err = repair(&dir, &new);
    assert!(
        err.contains("not carried over") && err.contains("line 6"),
        "{err}"
    );
    assert_eq!(snapshot(&dir), before, "the original is kept as it was");
    let repaired = RunFolder::open(&new).unwrap();
    assert!(repaired.damaged.is_empty(), "{:?}", repaired.damaged);
    // rows 1-4 were readable before the garbage line, so the run went on from the newest checkpoint
    // they reach (epoch 0) rather than leave epochs 5-20 without rows: every epoch 1-30 has its row
    let epochs: Vec<u64> = repaired.rows.iter().map(|r| r.epoch).collect();
    assert_eq!(epochs, (1..=30).collect::<Vec<u64>>());
}

#[test]
fn defect_2_sweep_and_ordering_refuse_a_folder_of_another_config() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sweep");
    std::fs::create_dir(&out).unwrap();
    let a = sweep_presets()[0].config.clone();
    std::fs::write(out.join("sweep.toml"), a.to_toml()).unwrap();
    std::fs::write(out.join("sweep.csv"), "finished results\n").unwrap();
    let mut b = a.clone();
    b.seeds = vec![1234];
    let before = snapshot(&out);
    let b = b.try_into().unwrap();
    let e = format!("{:#}", sweep_main(&b, &out, None, false).err().unwrap());
    // the field that differs, as `differences` flattens the config: seeds
    assert!(e.contains("seeds") && e.contains("1234"), "{e}");
    assert_eq!(snapshot(&out), before);

    let study = tmp.path().join("study");
    std::fs::create_dir(&study).unwrap();
    let mut old = default_study(OrderingTask::Xor, StudyKind::Sparsity);
    old.runs = 5;
    std::fs::write(
        study.join("config.json"),
        serde_json::to_string_pretty(&old).unwrap(),
    )
    .unwrap();
    let before = snapshot(&study);
    let args = StudyArgs {
        task: OrderingTask::Xor,
        kind: StudyKind::Sparsity,
        runs: 3,
        threads: 1,
        epochs: Some(1),
    };
    let e = format!("{:#}", study_main(&args, &study, false).err().unwrap());
    assert!(e.contains("runs: 5 -> 3"), "{e}");
    assert_eq!(snapshot(&study), before);
}

/// A sweep or an Ordering study into a folder of something else (a Grokking run folder here, as
/// `grokscope run` writes it; or a user's files) is refused, naming what is there, and the folder is
/// left as it was: both once wrote their files among the run's. A folder of a sweep's own task files
/// alone (copied from a cluster's nodes) is a sweep's to finish, and a hidden file is no objection.
#[test]
fn defect_2b_sweep_and_ordering_refuse_a_folder_of_something_else() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    trained(&run, &small(), 2);
    let before = snapshot(&run);
    let sweep = sweep_presets()[0].config.clone().try_into().unwrap();
    let e = format!("{:#}", sweep_main(&sweep, &run, None, false).err().unwrap());
    assert!(
        e.contains("holds no sweep.toml")
            && e.contains("a sweep needs an empty folder or its own")
            && e.contains("metrics.csv"),
        "{e}"
    );
    assert_eq!(snapshot(&run), before);
    let args = StudyArgs {
        task: OrderingTask::Xor,
        kind: StudyKind::Sparsity,
        runs: 1,
        threads: 1,
        epochs: Some(1),
    };
    let e = format!("{:#}", study_main(&args, &run, false).err().unwrap());
    assert!(
        e.contains("holds no config.json")
            && e.contains("an Ordering study needs an empty folder or its own")
            && e.contains("run.json"),
        "{e}"
    );
    assert_eq!(snapshot(&run), before);

    // a user's folder with a file in it: refused the same way, from the command line
    let mine = tmp.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "mine").unwrap();
    let before = snapshot(&mine);
    let out = grokscope()
        .args(["sweep", "--preset", "tiny", "--out"])
        .arg(&mine)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("notes.txt"), "{stderr}");
    assert_eq!(snapshot(&mine), before);

    // an Ordering study into a folder holding only a hidden file goes ahead
    let hidden = tmp.path().join("hidden");
    std::fs::create_dir(&hidden).unwrap();
    std::fs::write(hidden.join(".DS_Store"), "").unwrap();
    study_main(&args, &hidden, false).unwrap();
    assert!(hidden.join("study.csv").is_file());
}

#[test]
fn defect_3_and_6_a_config_that_cannot_fit_or_compute_leaves_no_folder() {
    let tmp = tempfile::tempdir().unwrap();
    // the config: p = 2003, train fraction 0.99, full batch, hidden 8192 (its logits alone
    // are 31.8 GB; see config::memory's tests)
    let mut big = small();
    big.p = 2003;
    big.train_fraction = 0.99;
    big.full_batch = true;
    if let ModelConfig::Mlp(m) = &mut big.model {
        m.hidden = 8192;
    }
    let mut tiny_lr = small();
    tiny_lr.optim.lr = 5e-324; // the smallest subnormal
    for (name, cfg, expect, env) in [
        ("big", &big, "activations of training", None),
        ("tiny_lr", &tiny_lr, "optim.lr", None),
        // the limit from the environment: 0.001 GiB is less than the small run's parameters need
        (
            "limit",
            &small(),
            "GROKSCOPE_MAX_MEMORY_GB",
            Some("0.000001"),
        ),
    ] {
        let file = tmp.path().join(format!("{name}.toml"));
        std::fs::write(&file, cfg.to_toml()).unwrap();
        let out = tmp.path().join(name);
        let mut cmd = grokscope();
        cmd.args(["run", "--config"])
            .arg(&file)
            .arg("--out")
            .arg(&out);
        if let Some(v) = env {
            cmd.env("GROKSCOPE_MAX_MEMORY_GB", v);
        }
        let o = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{name}");
        assert!(err.contains(expect), "{name}: {err}");
        assert!(!out.exists(), "{name}: no folder for a refused config");
    }
    // the flag wins over the environment; nonsense is refused by name
    use grokscope::cli::memory_limit_from;
    assert_eq!(
        memory_limit_from(Some(2.0), Some("1".into()), None).unwrap(),
        2 << 30
    );
    assert_eq!(
        memory_limit_from(None, Some("1".into()), None).unwrap(),
        1 << 30
    );
    assert_eq!(
        memory_limit_from(None, None, Some(64 << 30)).unwrap(),
        32 << 30
    );
    assert!(memory_limit_from(Some(5e-324), None, None).is_err());
    assert!(memory_limit_from(None, Some("lots".into()), None).is_err());
}

/// The window's runs are held to the same limit (the worker sets `memory_limit`): a run the limit
/// cannot hold is refused before it trains, one that fits only without its insight views trains without
/// them and says so, and a continued run is checked once its config is read, leaving its folder as it
/// was. The limits are taken from the config's own estimate, so the test holds on any machine.
#[test]
fn window_runs_are_held_to_the_memory_limit() {
    use grokscope::config::ValidGrokkingConfig;
    use grokscope::config::memory::Setting;
    use grokscope::protocol::{GrokkingEvent, LabEvent};
    use grokscope::train::insight::InsightEvery;
    let cfg = small();
    // the runs below checkpoint as RunOptions' default does, about ten a run
    let est = cfg.memory_estimate_in(
        Setting::Window(grokscope::config::checkpoints::CheckpointEvery::Tenth),
        grokscope::perf::cores(),
    );
    assert!(est.insight > 0, "{est}");
    let window = |limit: u64| RunOptions {
        stop_at_epoch: Some(3),
        insight: InsightEvery::Epochs(1),
        memory_limit: Some(limit),
        ..Default::default()
    };
    let start = || Start::New(ValidGrokkingConfig::try_from(cfg.clone()).unwrap());

    // one byte short of what it needs without its views: refused, nothing started
    let mut evs: Vec<Event> = vec![];
    let short = est.without_insight().total() - 1;
    grokking::run(start(), 1, &mut evs, &mut Unattended, window(short));
    let why = failure(&evs);
    assert!(why.contains("more than the limit of"), "{why}");
    assert!(!evs.iter().any(|e| matches!(e, Event::Started { .. })));

    // enough for the run but not for its views: trains to its stop without a snapshot, and says why
    let mut evs: Vec<Event> = vec![];
    grokking::run(start(), 2, &mut evs, &mut Unattended, window(short + 1));
    let said: Vec<&String> = evs
        .iter()
        .filter_map(|e| match e {
            Event::Lab {
                payload: LabEvent::Grokking(GrokkingEvent::InsightOff { why }),
                ..
            } => Some(why),
            _ => None,
        })
        .collect();
    assert!(
        said.iter().any(|m| m.contains("the insight views are off")),
        "{said:?}"
    );
    let snapshots = |evs: &[Event]| {
        evs.iter()
            .filter(|e| {
                matches!(
                    e,
                    Event::Lab {
                        payload: LabEvent::Grokking(GrokkingEvent::Insight(_)),
                        ..
                    }
                )
            })
            .count()
    };
    assert_eq!(snapshots(&evs), 0);
    assert!(matches!(
        evs.last(),
        Some(Event::Finished {
            outcome: Outcome::Stopped,
            ..
        })
    ));

    // with room for everything: the views are taken (the same check, the other side of the line)
    let mut evs: Vec<Event> = vec![];
    grokking::run(start(), 3, &mut evs, &mut Unattended, window(est.total()));
    assert!(snapshots(&evs) > 0);

    // a saved run continued under a limit it does not fit: refused once its config is read, the
    // folder byte for byte as it was
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    trained(&dir, &cfg, 2);
    let before = snapshot(&dir);
    let spec = ContinueSpec {
        from: dir.clone(),
        step: None,
        fork: None,
    };
    let mut evs: Vec<Event> = vec![];
    grokking::run(
        Start::Continue(spec),
        4,
        &mut evs,
        &mut Unattended,
        window(short),
    );
    let why = failure(&evs);
    assert!(why.contains("more than the limit of"), "{why}");
    let after = snapshot(&dir);
    let changed: Vec<&PathBuf> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(changed.is_empty(), "a refused resume changed {changed:?}");
}

/// A sweep or a phase study is refused when its largest training, once per thread, exceeds the limit
/// (the window's worker and the command line call the same checks).
#[test]
fn sweeps_and_studies_are_held_to_the_memory_limit() {
    use grokscope::config::memory::Setting;
    use grokscope::config::phase::{ValidPhaseStudyConfig, phase_presets};
    let sweep = sweep_presets()[0].config.clone();
    let one = sweep
        .largest_task()
        .memory_estimate_in(Setting::Headless, 2)
        .total();
    let threads =
        grokscope::experiment::capacity::sweep_threads(sweep.threads, sweep.task_count()) as u64;
    let check = grokscope::experiment::capacity::check_memory;
    assert!(check(&sweep, one * threads).is_ok());
    let why = check(&sweep, one * threads - 1).unwrap_err();
    assert!(why.contains("train at once"), "{why}");

    let study = ValidPhaseStudyConfig::try_from(phase_presets()[0].config.clone()).unwrap();
    let check = grokscope::experiment::phase::check_memory;
    assert!(check(&study, u64::MAX).is_ok());
    let why = check(&study, 1 << 20).unwrap_err();
    assert!(
        why.contains("more than the memory limit of 1.0 MiB"),
        "{why}"
    );
}

#[test]
fn defect_4_checkpoints_are_checked_named_and_never_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    trained(&dir, &small(), 20);
    let f = RunFolder::open(&dir).unwrap();
    let newest = f.checkpoints.last().unwrap().clone();
    assert_eq!(newest.epoch, 20);
    // one flipped bit in the middle of the newest file's tensor data: a finite value still, caught
    // only by the checksum
    let mut bytes = std::fs::read(&newest.path).unwrap();
    let n = bytes.len();
    bytes[n - 4 * 7 - 2] ^= 0x01; // a low mantissa bit of a value near the end
    std::fs::write(&newest.path, &bytes).unwrap();
    let e = f.load(&newest).unwrap_err().to_string();
    assert!(e.contains("checksum mismatch"), "{e}");
    let evs = resume(&dir);
    let said: Vec<&String> = evs
        .iter()
        .filter_map(|e| match e {
            Event::Note { message, .. } => Some(message),
            _ => None,
        })
        .collect();
    let name = newest
        .path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(
        said.iter()
            .any(|m| m.contains(&name) && m.contains("checksum")),
        "{said:?}"
    );
    // the one before the newest: on the cadence (epoch 10) or at a milestone after it
    let older = format!("epoch {}", f.checkpoints[f.checkpoints.len() - 2].epoch);
    assert!(
        said.iter()
            .any(|m| m.contains("older checkpoint") && m.contains(&older)),
        "{said:?}"
    );
    // wrong shapes: the newest checkpoint rewritten (with a valid checksum) with its first parameter
    // one value short of what its config makes; the resume falls back the same way
    let dir2 = tmp.path().join("shapes");
    trained(&dir2, &small(), 20);
    let f2 = RunFolder::open(&dir2).unwrap();
    let target = f2.checkpoints.last().unwrap().clone();
    let mut state = f2.load(&target).unwrap();
    let (_, shape, values) = &mut state.model[0];
    values.pop();
    *shape = vec![values.len()];
    state.opt_m[0].pop();
    state.opt_v[0].pop();
    std::fs::write(&target.path, state.to_bytes().unwrap()).unwrap();
    let evs = resume(&dir2);
    assert!(
        matches!(
            evs.last(),
            Some(Event::Finished {
                outcome: Outcome::Completed,
                ..
            })
        ),
        "{:?}",
        evs.last()
    );
    assert!(
        evs.iter().any(
            |e| matches!(e, Event::Note { message, .. } if message.contains("older checkpoint"))
        )
    );
    // a checkpoint that is a link to /dev/zero is not followed (it would be read until memory ran out)
    #[cfg(unix)]
    {
        let dir3 = tmp.path().join("link");
        trained(&dir3, &small(), 20);
        let before = RunFolder::open(&dir3).unwrap();
        let newest = before.checkpoints.last().unwrap().path.clone();
        // the link is not followed: the one before the newest is the last one listed
        let second = before.checkpoints[before.checkpoints.len() - 2].epoch;
        std::fs::remove_file(&newest).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &newest).unwrap();
        let f = RunFolder::open(&dir3).unwrap();
        assert!(
            f.problems.iter().any(|p| p.contains("symbolic link")),
            "{:?}",
            f.problems
        );
        assert_eq!(f.checkpoints.last().unwrap().epoch, second);
        // and a checkpoints/ folder that is a link elsewhere is named, not read
        let dir4 = tmp.path().join("linked_folder");
        std::fs::create_dir(&dir4).unwrap();
        std::fs::copy(dir3.join("config.toml"), dir4.join("config.toml")).unwrap();
        std::os::unix::fs::symlink(dir3.join("checkpoints"), dir4.join("checkpoints")).unwrap();
        let e = failure(&resume(&dir4));
        assert!(e.contains("checkpoints is not a folder"), "{e}");
    }
}

#[test]
fn defect_5_the_recorded_config_wins_over_an_edited_config_toml() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    trained(&dir, &small(), 10);
    let text = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    std::fs::write(dir.join("config.toml"), text.replace("p = 23", "p = 101")).unwrap();
    let f = RunFolder::open(&dir).unwrap();
    // trained at p = 23 (small()), whatever the edit says
    assert_eq!(f.config.as_ref().unwrap().p, 23);
    assert!(
        f.problems.iter().any(|p| p.contains("p: 23 -> 101")),
        "{:?}",
        f.problems
    );
    // resume agrees with export: it trains the recorded config and says config.toml was edited
    let evs = resume(&dir);
    let trained_p = evs.iter().find_map(|e| {
        if let Event::Started { config, .. } = e
            && let grokscope::config::RunConfig::Grokking(c) = config.as_ref()
        {
            Some(c.p)
        } else {
            None
        }
    });
    assert_eq!(trained_p, Some(23));
    assert!(
        evs.iter().any(|e| matches!(e, Event::Note { message, .. }
            if message.contains("config.toml") && message.contains("p: 23 -> 101"))),
        "{evs:?}"
    );
}

#[test]
fn defect_6_subnormal_and_huge_values_are_refused_at_parse() {
    for (field, value) in [
        ("lr", "5e-324"),
        ("eps", "4e-320"),
        ("weight_decay", "1e-310"),
        ("lr", "1e308"),
    ] {
        let mut text = small().to_toml();
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{field} = ")))
            .unwrap()
            .to_string();
        text = text.replace(&line, &format!("{field} = {value}"));
        let e = GrokkingConfig::from_toml(&text).unwrap_err().to_string();
        assert!(
            e.contains(&format!("optim.{field}")),
            "{field} = {value}: {e}"
        );
    }
}

#[test]
fn defect_7_bench_refuses_absurd_seconds_and_unknown_names() {
    for args in [
        vec!["bench", "--secs", "1e20"],
        vec!["bench", "--secs", "5e-324"],
        vec!["bench", "--only", "mlp_97"],
    ] {
        let o = grokscope().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(
            err.contains("--secs") || err.contains("mlp97, transformer97"),
            "{err}"
        );
    }
}

#[test]
fn defect_8_orderedness_scales_huge_weights_and_reads_other_separators() {
    use grokscope::cli::ordering::orderedness_json;
    // D is unchanged by scaling: the same matrix at 1 and at 1.5e308 (whose sum overflows)
    let small_rows = "0,1,0.5\n0.25,0,1\n0.5,0.75,0\n";
    let huge_rows: String = small_rows
        .lines()
        .map(|l| {
            l.split(',')
                .map(|v| format!("{:e}", v.parse::<f64>().unwrap() * 1.5e308))
                .collect::<Vec<_>>()
                .join(",")
                + "\n"
        })
        .collect();
    let d = |text: &str| orderedness_json(text).unwrap()["d"].as_f64().unwrap();
    let expected = d(small_rows);
    assert!(
        (d(&huge_rows) - expected).abs() < 1e-12,
        "{}",
        d(&huge_rows)
    );
    // a BOM, tabs and semicolons read as commas do
    assert_eq!(d(&format!("\u{feff}{small_rows}")), expected);
    assert_eq!(d(&small_rows.replace(',', "\t")), expected);
    assert_eq!(d(&small_rows.replace(',', ";")), expected);
}

#[test]
fn defect_9_refusals_are_quick_and_short() {
    // 10^6 seeds: the duplicate check sorts (a pairwise check took minutes); refused by the task cap
    let mut cfg = sweep_presets()[0].config.clone();
    cfg.seeds = (0..1_000_000).collect();
    let e = cfg.validate().unwrap_err().to_string();
    assert!(e.contains("tasks"), "{e}");
    // a 5 MB number is not echoed back whole (the 50 MB one gave 100 MB of text)
    let text = small()
        .to_toml()
        .replace("p = 23", &format!("p = {}", "9".repeat(5 << 20)));
    let e = GrokkingConfig::from_toml(&text).unwrap_err().to_string();
    assert!(e.len() < 10_000, "{} bytes of error", e.len());
}

#[test]
fn defect_9c_a_figure_too_large_to_draw_is_refused_before_d_is_computed() {
    use grokscope::store::ordering::MAX_NEURONS;
    let tmp = tempfile::tempdir().unwrap();
    // one neuron over the figures' limit (store::ordering::MAX_NEURONS)
    let n = MAX_NEURONS + 1;
    let row = vec!["0.5"; n].join(",");
    let file = tmp.path().join("w.csv");
    std::fs::write(&file, format!("{row}\n").repeat(n)).unwrap();
    let svg = tmp.path().join("w.svg");
    let o = grokscope()
        .args(["orderedness", "--weights"])
        .arg(&file)
        .args(["--figure", "heatmap", "--out"])
        .arg(&svg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains(&format!("{n} x {n}")) && err.contains(&MAX_NEURONS.to_string()),
        "{err}"
    );
    // refused before D was computed: no JSON printed, no figure
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(!svg.exists());
}

#[test]
fn defect_10b_messages_name_the_field_the_line_and_the_path_once() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |cfg: &str, out: &Path| {
        let file = tmp.path().join("c.toml");
        std::fs::write(&file, cfg).unwrap();
        let o = grokscope()
            .args(["run", "--config"])
            .arg(&file)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap();
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    let text = small().to_toml();
    // the line of `hidden = ` in the file as written (counted from 1)
    let (i, hidden) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.starts_with("hidden = "))
        .unwrap();
    let line = i + 1;
    let err = run(
        &text.replace(hidden, "hidden = \"big\""),
        &tmp.path().join("a"),
    );
    assert!(
        err.contains("model.hidden") && err.contains(&format!("line {line}")),
        "{err}"
    );
    assert_eq!(err.matches("invalid type").count(), 1, "said once: {err}");
    // 10,000 nested arrays on the file's last line: where, and what, in a short message
    let last = text.lines().count() + 1;
    let deep = format!(
        "{text}deep = {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let err = run(&deep, &tmp.path().join("b"));
    assert!(
        err.contains(&format!("line {last}")) && err.contains("nested"),
        "{err}"
    );
    assert!(err.len() < 1000, "{} bytes", err.len());
    // --out naming a file: one sentence naming it
    let file = tmp.path().join("afile");
    std::fs::write(&file, "x").unwrap();
    let err = run(&text, &file);
    assert_eq!(err.matches("afile").count(), 1, "{err}");
    assert!(err.contains("is a file"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn defect_10c_impossible_sweep_results_are_refused_and_merge_keeps_sweep_csv() {
    use grokscope::cli::capacity::{analyse_main, merge_main};
    use grokscope::store::sweep_dir::collect_results;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sweep");
    std::fs::create_dir(&dir).unwrap();
    // one good result (seed 0) and one impossible value each (seeds 1..): the field it must name
    let mut cases: Vec<(TaskResult, &str)> = vec![];
    let mut bad = |seed: u64, field: &'static str, edit: &dyn Fn(&mut TaskResult)| {
        let mut r = grokscope::store::sweep_dir::example_result();
        r.seed = seed;
        edit(&mut r);
        cases.push((r, field));
    };
    bad(1, "params", &|r| r.params = 0);
    bad(2, "t_mem", &|r| r.t_mem = Some(u64::MAX));
    bad(3, "final_val_acc", &|r| r.final_val_acc = Some(-0.5));
    bad(4, "wall_secs", &|r| r.wall_secs = -1.0);
    bad(5, "complexity_bits", &|r| r.complexity_bits = -400.0);
    bad(6, "t_gen", &|r| r.t_gen = Some(21)); // after the run's 20 epochs
    bad(7, "width", &|r| r.width = 0);
    // values each fine alone that no run makes together (a helper's audit: all were merged)
    bad(8, "complexity_bits", &|r| r.complexity_bits = 1.0); // not n_equiv log2(p + 2)
    bad(9, "delay", &|r| {
        // validation at 99 % by epoch 5, before the training set's 99 % at 15: no delay
        (r.t_gen, r.t_train, r.delay) = (Some(5), Some(15), Some(7));
    });
    bad(10, "delay", &|r| (r.t_train, r.delay) = (None, Some(7)));
    bad(11, "delay", &|r| {
        // never generalised: the delay is at most the 20 epochs run − t_train
        (r.t_gen, r.delay) = (None, Some(15));
    });
    bad(12, "delay", &|r| r.delay = None); // it generalised
    let good = grokscope::store::sweep_dir::example_result();
    for r in std::iter::once(&good).chain(cases.iter().map(|(r, _)| r)) {
        grokscope::store::sweep_dir::write_result(&dir, r).unwrap();
    }
    let c = collect_results(&dir).unwrap();
    assert_eq!(c.results, vec![good.clone()]);
    for (r, field) in &cases {
        assert_left_out_naming(&c.unusable, &r.task().file_name(), field);
    }
    let v = analyse_main(&dir).unwrap();
    assert_eq!(v["files"]["found"], 1);
    // merge with no usable task file: refused, sweep.csv left as it was
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("sweep.csv"), "an earlier merge\n").unwrap();
    let before = snapshot(&empty);
    // with neither sweep.toml nor a task file it is no sweep folder at all (said before reading)
    let e = format!("{:#}", merge_main(&empty).unwrap_err());
    assert!(e.contains("is not a sweep folder"), "{e}");
    assert_eq!(snapshot(&empty), before);
    // with a sweep.toml (unreadable here) but no task file: nothing to merge
    std::fs::write(empty.join("sweep.toml"), "not a sweep config").unwrap();
    let before = snapshot(&empty);
    let e = format!("{:#}", merge_main(&empty).unwrap_err());
    assert!(e.contains("no task result"), "{e}");
    assert_eq!(snapshot(&empty), before);
}

/// A result file edited by hand keeps its config key; the folder's `sweep.toml` still says what its
/// runs make: the model's parameter count, the task's example count and the epoch cap (a helper's
/// audit merged `params = 1`, and the exponential fit's R² fell from 0.996 to 0.288). Expected: the
/// closed forms `ModelConfig::param_count` and `random_labels::equivalent_size`, the config's
/// max_epochs.
#[test]
fn results_that_no_run_of_the_folders_config_makes_are_refused() {
    use grokscope::data::random_labels;
    use grokscope::store::sweep_dir::{CONFIG_FILE, collect_results, config_key, write_result};
    let mut cfg = grokscope::config::capacity::sweep_preset("tiny")
        .unwrap()
        .config;
    cfg.widths = vec![8];
    cfg.seeds = vec![0, 1, 2, 3];
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join(CONFIG_FILE), cfg.to_toml()).unwrap();
    let of_config = |seed: u64| {
        let mut r = grokscope::store::sweep_dir::example_result();
        r.seed = seed;
        let run = cfg.task_config(r.p, r.width, r.seed);
        r.params = run.model.param_count(r.p as usize);
        r.n_equiv = random_labels::equivalent_size(run.op, run.p, run.train_fraction);
        r.complexity_bits = random_labels::complexity_bits(r.n_equiv, r.p);
        r.key = config_key(&cfg, &r.task());
        r
    };
    let good = of_config(0);
    write_result(dir, &good).unwrap();
    let mut cases = vec![];
    type Edit = dyn Fn(&mut TaskResult);
    let edits: [(u64, &str, &Edit); 3] = [
        (1, "params", &|r| r.params = 1),
        (2, "n_equiv", &|r| {
            r.n_equiv = 5;
            r.complexity_bits = random_labels::complexity_bits(5, r.p);
        }),
        (3, "mem_epochs", &|r| r.mem_epochs = 99_999),
    ];
    for (seed, field, edit) in edits {
        let mut r = of_config(seed);
        edit(&mut r);
        write_result(dir, &r).unwrap();
        cases.push((r.task().file_name(), field));
    }
    let c = collect_results(dir).unwrap();
    assert_eq!(c.results, vec![good]);
    for (name, field) in cases {
        assert_left_out_naming(&c.unusable, &name, field);
    }
}

/// `name` is among the `unusable` (file, why) pairs a folder's collection gives, and its why names
/// `field`.
pub fn assert_left_out_naming(unusable: &[(String, String)], name: &str, field: &str) {
    let why = unusable
        .iter()
        .find(|(f, _)| f == name)
        .map(|(_, why)| why.as_str())
        .unwrap_or_else(|| panic!("{name} accepted ({field})"));
    assert!(why.contains(field), "{name}: {why}");
}

/// A sweep folder whose task files are empty, or hold a task of another grid, says so file by file:
/// `export` once said only "no usable sweep results", and a stray task file was left out without a
/// word (a helper's audit, 2026-12-06). Expected: the file names written here.
#[test]
fn empty_and_stray_task_files_of_a_sweep_are_named() {
    use grokscope::config::capacity::tasks;
    use grokscope::store::sweep_dir::{CONFIG_FILE, collect_results};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sweep");
    std::fs::create_dir(&dir).unwrap();
    let cfg = sweep_presets()[0].config.clone();
    std::fs::write(dir.join(CONFIG_FILE), cfg.to_toml()).unwrap();
    let grid: Vec<String> = tasks(&cfg).iter().map(|t| t.file_name()).collect();
    for name in &grid {
        std::fs::write(dir.join(name), "").unwrap();
    }
    let stray = "task-p1009-w512-s99.json";
    assert!(!grid.iter().any(|n| n == stray));
    std::fs::write(dir.join(stray), "{}").unwrap();
    let c = collect_results(&dir).unwrap();
    assert!(c.results.is_empty());
    assert_eq!(c.unusable.len(), grid.len());
    assert!(
        c.unusable.iter().all(|(_, why)| why == "is empty"),
        "{:?}",
        c.unusable
    );
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("grid has no such task: task-p1009-w512-s99.json")),
        "{:?}",
        c.notes
    );
    let before = snapshot(&dir);
    let out = grokscope()
        .args(["export", dir.to_str().unwrap(), "--list"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("holds no usable sweep results: left out")
            && err.contains(&format!("skipped {}: is empty", grid[0])),
        "{err}"
    );
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn defect_10c_metrics_cut_short_are_trained_again_on_resume_leaving_no_gap() {
    let tmp = tempfile::tempdir().unwrap();
    // the expected rows: the same run never interrupted, to epoch 30
    let whole = tmp.path().join("whole");
    assert_eq!(
        crate::runs::fresh(&small(), &whole, None, 10),
        Outcome::Completed
    );
    let dir = tmp.path().join("cut");
    trained(&dir, &small(), 20);
    // metrics.csv loses its rows after epoch 15 at a line boundary (a lost flush); the newest
    // checkpoint (epoch 20) is ahead of it
    let text = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let kept: String = text.lines().take(16).map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join("metrics.csv"), kept).unwrap();
    let evs = resume(&dir);
    assert!(
        evs.iter().any(|e| matches!(e, Event::Note { message, .. }
            if message.contains("metrics.csv") && message.contains("epoch 15"))),
        "{evs:?}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("metrics.csv")).unwrap(),
        std::fs::read_to_string(whole.join("metrics.csv")).unwrap()
    );
}

#[test]
fn defect_3_resume_and_fork_check_the_memory_of_the_config_they_train() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    trained(&dir, &small(), 20);
    let before = snapshot(&dir);
    let fork = tmp.path().join("fork");
    // 0.000001 GiB (1 KiB) is less than the small run's parameters need
    for args in [
        vec!["resume", dir.to_str().unwrap()],
        vec![
            "fork",
            dir.to_str().unwrap(),
            "--step",
            "0",
            "--set",
            "full_batch=true",
            "--out",
            fork.to_str().unwrap(),
        ],
    ] {
        let o = grokscope()
            .args(&args)
            .args(["--max-memory-gb", "0.000001"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?}: {err}");
        assert!(err.contains("more than the limit"), "{args:?}: {err}");
    }
    assert_eq!(snapshot(&dir), before);
    assert!(!fork.exists());
}

/// A `fork --set` value of the wrong kind is named with its own `--set` on one line (it once came as
/// "the changed config: invalid type ..." with the field on a line of its own), and nothing is written.
#[test]
fn a_fork_set_of_the_wrong_kind_names_its_set() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    trained(&dir, &small(), 10);
    let fork = tmp.path().join("fork");
    let o = grokscope()
        .arg("fork")
        .arg(&dir)
        .args([
            "--step",
            "0",
            "--set",
            "optim.lr=0.02",
            "--set",
            "max_epochs=x",
        ])
        .arg("--out")
        .arg(&fork)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert_eq!(
        err.trim(),
        "error: --set max_epochs=x: invalid type: string \"x\", expected u64"
    );
    assert!(!fork.exists());
}

/// The milestones a run folder records.
fn detected(f: &RunFolder) -> Vec<grokscope::store::run_dir::RunEvent> {
    f.events
        .iter()
        .filter(|e| matches!(e, grokscope::store::run_dir::RunEvent::Detected { .. }))
        .cloned()
        .collect()
}

/// The hidden entries of `dir` (a staging folder left behind would be one).
fn hidden(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

/// Replace the file at `path` by a folder of that name: a file that cannot be read, also as root
/// (where a mode of 000 does not bind).
fn unreadable(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap();
    std::fs::remove_file(path).unwrap();
    std::fs::create_dir(path).unwrap();
    bytes
}

/// `resume DIR --repair NEW` leaves out an older checkpoint that cannot be read, saying so, and goes on
/// from the newest one (it failed on it, leaving a half-made NEW that blocked a retry and that a
/// resume "continued" from step 0: a helper's audit). A repair that fails part-way (the newest
/// checkpoint unreadable after it was read) leaves no NEW, no hidden folder beside it, and an empty
/// NEW given empty; once the file is back the same repair succeeds there. Expected: the original's
/// checkpoints less the one left out, and rows for epochs 1-30 (20 trained, 10 more by the repair).
#[test]
fn repair_leaves_out_an_unreadable_older_checkpoint_and_a_failed_one_leaves_nothing() {
    use grokscope::store::run_dir::RunWriter;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    trained(&dir, &small(), 20);
    let folder = RunFolder::open(&dir).unwrap();
    let bad = folder.checkpoints[1].clone();
    unreadable(&bad.path);
    let new = tmp.path().join("new");
    let err = repair(&dir, &new);
    let name = bad.path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        err.contains(&format!("{name} was left out of")),
        "the checkpoint left out is said: {err}"
    );
    let repaired = RunFolder::open(&new).unwrap();
    assert!(repaired.problems.is_empty(), "{:?}", repaired.problems);
    let steps = |f: &RunFolder| -> Vec<u64> { f.checkpoints.iter().map(|c| c.step).collect() };
    let kept: Vec<u64> = steps(&folder)
        .into_iter()
        .filter(|s| *s != bad.step)
        .collect();
    assert_eq!(steps(&repaired)[..kept.len()], kept[..]);
    let epochs: Vec<u64> = repaired.rows.iter().map(|r| r.epoch).collect();
    assert_eq!(epochs, (1..=30).collect::<Vec<u64>>());

    let folder = RunFolder::open(&dir).unwrap();
    let newest = folder.checkpoints.last().unwrap().clone();
    let bytes = unreadable(&newest.path);
    let failed = tmp.path().join("failed");
    let e = RunWriter::repair_into(&folder, &newest, &failed)
        .err()
        .expect("the checkpoint the run stands at cannot be left out")
        .to_string();
    assert!(e.contains("is not a regular file"), "{e}");
    assert!(!failed.exists(), "no half-made folder");
    assert_eq!(hidden(tmp.path()), Vec::<String>::new(), "no staging left");
    std::fs::create_dir(&failed).unwrap();
    assert!(RunWriter::repair_into(&folder, &newest, &failed).is_err());
    assert_eq!(std::fs::read_dir(&failed).unwrap().count(), 0, "left empty");
    std::fs::remove_dir(&newest.path).unwrap();
    std::fs::write(&newest.path, bytes).unwrap();
    let (_, left_out) = RunWriter::repair_into(&folder, &newest, &failed).unwrap();
    assert_eq!(
        left_out.len(),
        1,
        "the older one, still a folder: {left_out:?}"
    );
    let f = RunFolder::open(&failed).unwrap();
    assert!(f.problems.is_empty(), "{:?}", f.problems);
    assert_eq!(hidden(tmp.path()), Vec::<String>::new());
}

/// An empty events.jsonl in a run that has rows is named when the folder is read, and a resume
/// restores the milestones the checkpoint's detector keeps, saying so, as for a missing file (it was
/// accepted without a word and the resumed run lost its milestones: a helper's audit). Expected: the
/// milestones the same run recorded before the file was emptied.
#[test]
fn an_empty_events_jsonl_is_named_and_a_resume_restores_its_milestones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    trained(&dir, &small(), 20);
    let before = detected(&RunFolder::open(&dir).unwrap());
    assert!(!before.is_empty(), "the run memorised by epoch 20");
    std::fs::write(dir.join("events.jsonl"), "").unwrap();
    let problems = RunFolder::open(&dir).unwrap().problems;
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("events.jsonl is empty")),
        "{problems:?}"
    );
    let evs = resume(&dir);
    let said = format!("{evs:?}");
    assert!(!said.contains("Failed"), "{said}");
    for part in [
        "had an empty events.jsonl",
        "its milestones were restored from the checkpoint: memorised",
    ] {
        assert!(said.contains(part), "{part:?} is said: {said}");
    }
    let after = RunFolder::open(&dir).unwrap();
    assert!(after.problems.is_empty(), "{:?}", after.problems);
    assert_eq!(detected(&after)[..before.len()], before[..]);
}

/// A save that fails at the run's very end (summary.json, here a folder in the way) fails the command
/// (it exited 0 saying "wrote", a helper's audit), and run.json records the failure; in the window
/// the run completes in memory and a note says its end was not saved. Expected: the outcome each
/// front end's rule gives (the command line keeps only the folder, the window keeps the run).
#[test]
fn a_run_whose_end_cannot_be_saved_fails_on_the_command_line_and_says_so_in_the_window() {
    use grokscope::store::run_dir::RunStatus;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    trained(&dir, &small(), 20);
    let window = tmp.path().join("window");
    copy_dir(&dir, &window);
    for d in [&dir, &window] {
        std::fs::remove_file(d.join("summary.json")).unwrap();
        std::fs::create_dir(d.join("summary.json")).unwrap();
    }
    let out = grokscope()
        .args(["resume", dir.to_str().unwrap(), "--max-epochs", "25"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("saving the run failed at its end") && err.contains("summary.json"),
        "{err}"
    );
    assert!(!err.contains("wrote"), "{err}");
    let info = RunFolder::open(&dir).unwrap().info.unwrap();
    assert_eq!(info.status, RunStatus::Failed);
    let opts = RunOptions {
        stop_at_epoch: Some(25),
        ..Default::default()
    };
    let evs = crate::runs::resume_with(&window, 2, opts);
    let notes: Vec<&String> = evs
        .iter()
        .filter_map(|e| match e {
            Event::Note { message, .. } => Some(message),
            _ => None,
        })
        .collect();
    assert!(
        matches!(
            evs.last(),
            Some(Event::Finished {
                outcome: Outcome::Stopped,
                ..
            })
        ),
        "{evs:?}"
    );
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("saving its end failed") && notes[0].contains("summary.json"),
        "{notes:?}"
    );
}

/// `merge`, `analyse` and `export` read sweep.toml bounded and through no link, and an unreadable one
/// is named as that, not as missing (a folder named sweep.toml was "no sweep.toml in DIR", and a link
/// to /dev/zero was read until memory ran out: a helper's audit). The link here points at a valid
/// config, which was read through it.
#[cfg(unix)]
#[test]
fn an_unreadable_or_linked_sweep_toml_is_named_not_called_missing() {
    use grokscope::store::sweep_dir::collect_results;
    let tmp = tempfile::tempdir().unwrap();
    let elsewhere = tmp.path().join("elsewhere.toml");
    std::fs::write(&elsewhere, sweep_presets()[0].config.to_toml()).unwrap();
    let folder = tmp.path().join("folder");
    std::fs::create_dir_all(folder.join("sweep.toml")).unwrap();
    let link = tmp.path().join("link");
    std::fs::create_dir(&link).unwrap();
    std::os::unix::fs::symlink(&elsewhere, link.join("sweep.toml")).unwrap();
    for (dir, says) in [
        (&folder, "is not a regular file"),
        (&link, "is a symbolic link; links are not followed"),
    ] {
        let c = collect_results(dir).unwrap();
        let notes = c.notes.join("\n");
        assert!(
            notes.contains("sweep.toml is unusable (it cannot be read: ") && notes.contains(says),
            "{notes}"
        );
        assert!(!notes.contains("no sweep.toml"), "{notes}");
        assert_eq!(c.config, None);
    }
}

/// A fork names why the checkpoints could not be listed (here `checkpoints` is a file), as a resume
/// does (it said only "it has: none": a helper's audit). Expected: the problem sentence
/// `RunFolder::open` gives for this folder.
#[test]
fn a_fork_names_why_the_checkpoints_cannot_be_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    trained(&dir, &small(), 20);
    let step = RunFolder::open(&dir).unwrap().checkpoints[1].step;
    let unlisted = tmp.path().join("unlisted");
    copy_dir(&dir, &unlisted);
    std::fs::remove_dir_all(unlisted.join("checkpoints")).unwrap();
    std::fs::write(unlisted.join("checkpoints"), "in the way").unwrap();
    let out = grokscope()
        .args(["fork", unlisted.to_str().unwrap(), "--step"])
        .arg(step.to_string())
        .args(["--set", "optim.weight_decay=0.5", "--out"])
        .arg(tmp.path().join("f1"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("(it has: none); checkpoints is not a folder (a link or a file)"),
        "{err}"
    );
}

/// Forking a damaged parent (a line of metrics.csv that does not parse) names the parent's problems
/// before it trains (it trained without a word while `export` named them: a helper's audit); the fork
/// takes only the checkpoint, so it trains. Expected: the line `RunFolder::open` names (the line
/// inserted here, counted with the header as line 1).
#[test]
fn a_fork_names_a_damaged_parents_problems() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    trained(&dir, &small(), 20);
    let step = RunFolder::open(&dir).unwrap().checkpoints[1].step;
    let damaged = tmp.path().join("damaged");
    copy_dir(&dir, &damaged);
    let text = std::fs::read_to_string(damaged.join("metrics.csv")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(5, "this is not a row");
    std::fs::write(damaged.join("metrics.csv"), lines.join("\n") + "\n").unwrap();
    let out = grokscope()
        .args(["fork", damaged.to_str().unwrap(), "--step"])
        .arg(step.to_string())
        .args([
            "--set",
            "optim.weight_decay=0.5",
            "--max-epochs",
            "22",
            "--out",
        ])
        .arg(tmp.path().join("f2"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "the parent {} has problems (the fork takes only its checkpoint at step {step}): \
             metrics.csv line 6",
            damaged.display()
        )),
        "{err}"
    );
}

/// A resume removes the temporary files a killed process left (`.NAME.PID-N.partial`, its process
/// gone) and says so; one whose process runs (this one's) is left, and said. They stayed for good
/// before (a helper's audit). Expected: the PIDs written here, one past the kernel's largest
/// (`pid_max` is at most 2^22) and this process's own.
#[cfg(target_os = "linux")]
#[test]
fn a_resume_removes_partial_files_of_killed_writes_and_leaves_live_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    trained(&dir, &small(), 20);
    let gone = 1u32 << 23;
    let stale = format!(".run.json.{gone}-5.partial");
    let stale_ckpt =
        format!("checkpoints/.step-0000000001-epoch-00000001.safetensors.{gone}-0.partial");
    let live = format!(".metrics.csv.{}-9.partial", std::process::id());
    for name in [&stale, &stale_ckpt, &live] {
        std::fs::write(dir.join(name), "half").unwrap();
    }
    let said = format!("{:?}", resume(&dir));
    assert!(!said.contains("Failed"), "{said}");
    for part in [
        format!("removed {stale}: a write that process {gone} left unfinished"),
        format!("removed {stale_ckpt}"),
        format!("{live} is being written by process"),
    ] {
        assert!(said.contains(&part), "{part:?} is said: {said}");
    }
    assert!(!dir.join(&stale).exists() && !dir.join(&stale_ckpt).exists());
    assert!(
        dir.join(&live).exists(),
        "a live process's file is never removed"
    );
}

/// `run --out` into a folder holding nothing but the temporary files a killed earlier run left
/// (`.NAME.PID-N.partial`, their process gone) removes them, says so as a resume does, and trains; it
/// refused the folder before ("is not empty"). Such a folder with one of a process that still runs
/// (this test's own) is refused naming it, and one holding anything else is refused as before; both
/// are left exactly as they were. Expected: the PIDs written here, one past the kernel's largest
/// (`pid_max` is at most 2^22), which no process can have, and this process's own.
#[cfg(target_os = "linux")]
#[test]
fn run_out_clears_a_killed_runs_partial_files_and_refuses_a_live_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("c.toml");
    std::fs::write(&file, small().to_toml()).unwrap();
    let run = |out: &Path| {
        grokscope()
            .args(["run", "--max-epochs", "2", "--config"])
            .arg(&file)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap()
    };
    let gone = 1u32 << 23;
    let stale = format!(".run.json.{gone}-5.partial");
    let stale_csv = format!(".metrics.csv.{gone}-2.partial");
    let live = format!(".metrics.csv.{}-9.partial", std::process::id());
    let folder = |name: &str, files: &[&str]| {
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        for f in files {
            std::fs::write(dir.join(f), "half").unwrap();
        }
        dir
    };

    let killed = folder("killed", &[&stale, &stale_csv]);
    let o = run(&killed);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    for name in [&stale, &stale_csv] {
        let said = format!(
            "{}: removed {name}: a write that process {gone} left unfinished",
            killed.display()
        );
        assert!(err.contains(&said), "{said:?} is said: {err}");
        assert!(!killed.join(name).exists());
    }
    assert!(killed.join("run.json").exists());

    let writing = folder("writing", &[&stale, &live]);
    let mixed = folder("mixed", &[&stale, "notes.txt"]);
    let before = snapshot(tmp.path());
    for (dir, words) in [
        (
            &writing,
            format!("it holds {live}, being written by process"),
        ),
        (&mixed, "is not empty".to_string()),
    ] {
        let o = run(dir);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{}: {err}", dir.display());
        assert!(err.contains(&words), "{words:?} is said: {err}");
    }
    assert_eq!(
        snapshot(tmp.path()),
        before,
        "refused folders are left as they were"
    );
}

/// A phase study's `phase.toml` and an Ordering study's `study.csv` and `config.json` are read as a
/// sweep's files are: bounded, and never through a link (they were read with `read_to_string`,
/// through links, so a link to /dev/zero read until memory ran out). Each link here points at a
/// valid file, which was read through it before; now each is refused, naming the link.
#[cfg(unix)]
#[test]
fn study_files_are_not_read_through_links() {
    use grokscope::config::phase::phase_presets;
    use grokscope::store::phase::read_config;
    use grokscope::store::study_dir::StudyFolder;
    let tmp = tempfile::tempdir().unwrap();
    let link = |dir: &std::path::Path, name: &str, text: &str| {
        std::fs::create_dir_all(dir).unwrap();
        let real = tmp.path().join(format!("real-{name}"));
        std::fs::write(&real, text).unwrap();
        std::os::unix::fs::symlink(&real, dir.join(name)).unwrap();
    };
    let phase = tmp.path().join("phase");
    link(&phase, "phase.toml", &phase_presets()[0].config.to_toml());
    let why = read_config(&phase).unwrap_err().to_string();
    assert!(why.contains("is a symbolic link"), "{why}");
    let study = tmp.path().join("study");
    link(
        &study,
        "study.csv",
        "scheme,param,sparsity,hidden,its,seed,d,final_loss,method\nnone,0,0,8,3,0,0.7,0.01,exact\n",
    );
    let why = match StudyFolder::read(&study) {
        Ok(_) => panic!("a study.csv through a link was read"),
        Err(e) => e.to_string(),
    };
    assert!(why.contains("is a symbolic link"), "{why}");
    // the study's rows as a file, its config through a link: the rows are read, the config is not
    let rows = std::fs::read(study.join("study.csv")).unwrap();
    std::fs::remove_file(study.join("study.csv")).unwrap();
    std::fs::write(study.join("study.csv"), rows).unwrap();
    link(&study, "config.json", "{}");
    let f = StudyFolder::read(&study).unwrap();
    assert_eq!(f.rows.len(), 1);
    assert!(
        f.problems.iter().any(|p| p.contains("is a symbolic link")),
        "{:?}",
        f.problems
    );
}
