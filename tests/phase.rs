//! The Grokking lab's phase study end to end: a tiny real study through the CLI's entry (result files,
//! cells, run folders), resuming without redoing finished runs, a folder of another study refused and
//! left unchanged, same config -> same results, and the figure export.

use grokscope::analysis::phase::Outcome;
use grokscope::cli::export::{ExportArgs, export_main};
use grokscope::cli::phase::phase_main;
use grokscope::config::ValidPhaseStudyConfig;
use grokscope::config::phase::{PhaseStudyConfig, phase_preset, phase_tasks};
use grokscope::protocol::Outcome as RunOutcome;
use grokscope::store::phase::{CELLS_CSV, CELLS_JSON, CONFIG_FILE, collect};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

/// A study of a few seconds: a / b mod 7 (42 pairs), the fast MLP narrowed, two weight decays x two
/// train fractions, one seed, at most 60 epochs.
fn quick() -> ValidPhaseStudyConfig {
    let mut c = phase_preset("tiny").unwrap().config;
    c.base.p = 7;
    if let grokscope::config::ModelConfig::Mlp(m) = &mut c.base.model {
        m.hidden = 32;
        m.embed_dim = 8;
    }
    c.weight_decays = vec![0.0, 1.0];
    c.train_fractions = vec![0.5, 0.8];
    c.max_epochs = 60;
    c.threads = 2;
    ValidPhaseStudyConfig::try_from(c).unwrap()
}

/// Every file of a folder (recursively) with its modification time and bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, (SystemTime, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                let m = std::fs::metadata(&p).unwrap().modified().unwrap();
                out.insert(rel, (m, std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

#[test]
fn a_tiny_study_runs_resumes_and_refuses_another() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("study");
    let cfg = quick();
    let all = phase_tasks(&cfg);
    assert_eq!(all.len(), 4);

    // shard 0 of 2 first (tasks 0 and 2), keeping run folders
    let first = phase_main(&cfg, &out, Some((0, 2)), true, false).unwrap();
    assert_eq!(first.outcome, RunOutcome::Completed);
    assert_eq!((first.tasks, first.skipped, first.written), (2, 0, 2));
    assert!(out.join(CONFIG_FILE).is_file() && out.join(CELLS_CSV).is_file());
    let done_before = snapshot(&out);

    // the rest: the two finished runs are skipped, their files untouched (same bytes, same mtime)
    let second = phase_main(&cfg, &out, None, true, false).unwrap();
    assert_eq!((second.tasks, second.skipped, second.written), (4, 2, 2));
    let after = snapshot(&out);
    for t in [all[0], all[2]] {
        let name = t.file_name();
        assert_eq!(after[&name], done_before[&name], "{name} was rewritten");
    }
    // a third session has nothing to do
    let third = phase_main(&cfg, &out, None, true, false).unwrap();
    assert_eq!((third.skipped, third.written), (4, 0));

    // every run is recorded with its class, consistent with its own events and the cap
    let c = collect(&out).unwrap();
    assert_eq!(c.runs.len(), 4);
    assert!(c.missing.is_empty() && c.unusable.is_empty());
    for r in &c.runs {
        let want = grokscope::analysis::phase::classify_run(r.t_train, r.t_val98, 60);
        assert_eq!(r.class, want, "{}", r.task);
        assert!(r.epochs <= 60);
        // its run folder was kept and holds its config
        let dir = out.join(r.run_dir.as_deref().unwrap());
        assert!(dir.join("config.toml").is_file(), "{}", dir.display());
    }
    // the cells: one row per cell in cells.csv, the majority (one seed: the run's class)
    let csv = std::fs::read_to_string(out.join(CELLS_CSV)).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4, "{csv}");
    assert_eq!(third.cells.len(), 4);
    for cell in &third.cells {
        assert_eq!(cell.runs.len(), 1);
        assert_eq!(cell.summary.outcome, Some(cell.runs[0].1));
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join(CELLS_JSON)).unwrap()).unwrap();
    assert_eq!(json["cells"].as_array().unwrap().len(), 4);

    // same config and seed -> the same results (bit for bit, apart from the wall time)
    let again = tmp.path().join("again");
    phase_main(&cfg, &again, None, false, false).unwrap();
    let c2 = collect(&again).unwrap();
    for (a, b) in c.runs.iter().zip(&c2.runs) {
        let strip = |r: &grokscope::analysis::phase::PhaseRun| {
            let mut r = r.clone();
            r.wall_secs = 0.0;
            r.run_dir = None;
            r
        };
        assert_eq!(strip(a), strip(b));
    }

    // another study's config: refused naming the fields, nothing in the folder changed
    let before = snapshot(&out);
    let mut other: PhaseStudyConfig = (*cfg).clone();
    other.max_epochs = 61;
    other.weight_decays = vec![0.0, 2.0];
    let other = ValidPhaseStudyConfig::try_from(other).unwrap();
    let e = format!(
        "{:#}",
        phase_main(&other, &out, None, false, false).unwrap_err()
    );
    assert!(e.contains("max_epochs: 60 -> 61"), "{e}");
    assert!(e.contains("weight_decays"), "{e}");
    assert_eq!(snapshot(&out), before, "the refused folder changed");
    // only the thread count differs: the same study
    let threads = cfg.clone().with_threads(1).unwrap();
    assert_eq!(
        phase_main(&threads, &out, None, false, false)
            .unwrap()
            .written,
        0
    );

    // a phase.toml that cannot be read as a study is refused and kept as it is
    let broken = tmp.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(broken.join(CONFIG_FILE), "max_epochs = [").unwrap();
    let e = format!(
        "{:#}",
        phase_main(&cfg, &broken, None, false, false).unwrap_err()
    );
    assert!(e.contains("phase.toml"), "{e}");
    assert_eq!(
        std::fs::read_to_string(broken.join(CONFIG_FILE)).unwrap(),
        "max_epochs = ["
    );
    // a folder holding something else is refused
    let busy = tmp.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), "mine").unwrap();
    let e = format!(
        "{:#}",
        phase_main(&cfg, &busy, None, false, false).unwrap_err()
    );
    assert!(e.contains("notes.txt"), "{e}");
    assert_eq!(std::fs::read_dir(&busy).unwrap().count(), 1);

    // a corrupt result file is redone, and only it
    let victim = out.join(all[1].file_name());
    std::fs::write(&victim, "{ half").unwrap();
    let redo = phase_main(&cfg, &out, None, true, false).unwrap();
    assert_eq!((redo.skipped, redo.written), (3, 1));
    // the file itself was moved into set-aside/, not written over
    let aside = out.join("set-aside").join(all[1].file_name());
    assert_eq!(std::fs::read_to_string(aside).unwrap(), "{ half");
    // its old run folder was moved aside, not deleted
    assert!(
        out.join("runs")
            .join(format!("{}.set-aside-1", all[1].name()))
            .is_dir()
    );

    // the figure: PNG, SVG and PDF, each with the CSV of the drawn cells and the config
    let figs = tmp.path().join("figs");
    std::fs::create_dir(&figs).unwrap();
    for ext in ["png", "svg", "pdf"] {
        let file = figs.join(format!("phase.{ext}"));
        export_main(&ExportArgs {
            dir: out.clone(),
            list: false,
            figure: Some("phase".into()),
            format: None,
            dpi: None,
            width_in: None,
            height_in: None,
            out: Some(file.clone()),
            step: None,
            own_keys: false,
            ..Default::default()
        })
        .unwrap();
        assert!(std::fs::metadata(&file).unwrap().len() > 100, "{ext}");
    }
    let csv = std::fs::read_to_string(figs.join("phase.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "row,column,row_label,column_label,class,text"
    );
    // 2 x 2 cells; the top row is the larger train fraction (0.8), columns weight decay 0 then 1
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 4);
    assert!(rows[0].starts_with("0,0,0.8,0,"), "{csv}");
    assert!(rows[3].starts_with("1,1,0.5,1,"), "{csv}");
    let classes: Vec<String> = Outcome::ALL.iter().map(|o| o.to_string()).collect();
    for r in &rows {
        let class = r.split(',').nth(4).unwrap();
        assert!(classes.iter().any(|c| c == class), "{r}");
    }
    let svg = std::fs::read_to_string(figs.join("phase.svg")).unwrap();
    assert_eq!(svg.matches("class=\"cell\"").count(), 4);
    for text in [
        "weight decay",
        "train fraction",
        "grokking",
        "memorisation only",
    ] {
        assert!(svg.contains(text), "{text}");
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(figs.join("phase.json")).unwrap()).unwrap();
    assert_eq!(meta["config"]["max_epochs"], 60);
}

/// A result file edited by hand keeps its run config; what that config and the run's own events
/// give is checked too (a helper's audit: an accuracy of 1.5, a t_train after the run's last epoch,
/// a weight decay off the grid and a "comprehension" at 4 % validation were all drawn). Expected:
/// each field is refused by name, and the untouched files are still used.
#[test]
fn a_phase_result_with_a_value_its_run_does_not_make_is_left_out() {
    use grokscope::analysis::phase::{PhaseRun, RunClass};
    use grokscope::store::phase::write_result;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("study");
    let cfg = quick();
    phase_main(&cfg, &out, None, false, false).unwrap();
    let good = collect(&out).unwrap().runs;
    assert_eq!(good.len(), 4);
    type Edit = dyn Fn(&mut PhaseRun);
    let edits: [(&str, &Edit); 8] = [
        ("final_val_acc", &|r| r.final_val_acc = Some(1.5)),
        ("t_train", &|r| r.t_train = Some(r.epochs + 1)),
        ("epochs", &|r| r.epochs = 99_999),
        ("params", &|r| r.params = 0),
        ("wall_secs", &|r| r.wall_secs = -3.0),
        ("weight_decay", &|r| r.weight_decay = 0.5),
        ("class", &|r| {
            r.class = RunClass {
                outcome: Outcome::Comprehension,
                delay: Some(0),
            };
            (r.t_train, r.t_val98, r.t_val) = (None, None, None);
        }),
        ("t_val98", &|r| (r.t_val98, r.t_val) = (None, Some(3))),
    ];
    for (field, edit) in edits {
        let mut r = good[1].clone();
        edit(&mut r);
        write_result(&out, &r).unwrap();
        let c = collect(&out).unwrap();
        crate::hardening::assert_left_out_naming(&c.unusable, &r.task.file_name(), field);
        assert_eq!(c.runs.len(), 3);
    }
    write_result(&out, &good[1]).unwrap();
    assert_eq!(collect(&out).unwrap().runs, good);
}

/// Shards run into separate folders on a cluster's nodes, then their result files copied together
/// (as a sweep's may be): the study takes them in and runs nothing again; a sweep is not handed them
/// (it took the folder for its own: a helper's audit). Expected: the 4 runs of `quick`, 2 a shard.
#[test]
fn a_phase_studys_result_files_copied_together_are_its_to_finish() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = quick();
    let together = tmp.path().join("together");
    std::fs::create_dir(&together).unwrap();
    for i in 0..2 {
        let node = tmp.path().join(format!("node{i}"));
        phase_main(&cfg, &node, Some((i, 2)), false, false).unwrap();
        for e in std::fs::read_dir(&node).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("task-") {
                std::fs::copy(e.path(), together.join(&name)).unwrap();
            }
        }
    }
    // a sweep refuses the folder, naming a file, and leaves it as it was
    let before = snapshot(&together);
    let sweep = grokscope::config::ValidCapacitySweepConfig::try_from(
        grokscope::config::capacity::sweep_preset("tiny")
            .unwrap()
            .config,
    )
    .unwrap();
    let e = format!(
        "{:#}",
        grokscope::cli::capacity::sweep_main(&sweep, &together, None, false).unwrap_err()
    );
    assert!(e.contains("task-wd"), "{e}");
    assert_eq!(snapshot(&together), before);
    // the study finishes it: every run already done
    let r = phase_main(&cfg, &together, None, false, false).unwrap();
    assert_eq!((r.tasks, r.skipped, r.written), (4, 4, 0));
    assert_eq!(collect(&together).unwrap().runs.len(), 4);
}
