//! The Ordering lab's headless commands beyond the spec's fixed studies: `grokscope ordering --config`
//! (a study from a TOML file), `grokscope ordering-run` (one run into a folder: config.toml,
//! metrics.csv, weights.csv, summary.json) and the presets both start from, run through the binary.

use crate::hardening::snapshot as files;
use grokscope::config::ordering::{
    OrderingConfig, OrderingStudyConfig, OrderingTask, Pruning, Scheme, StudyKind, default_study,
    xor_preset,
};
use std::path::Path;
use std::process::{Command, Output};

fn grokscope(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_grokscope"));
    c.args(args);
    c
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `grokscope ordering-run ARGS --out OUT`.
fn ordering_run(args: &[&str], out: &Path) -> Output {
    grokscope(&["ordering-run"])
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// What `grokscope presets --show` prints reads back as the preset it printed (the expected study is
/// the spec's, as `default_study` builds it; the expected run is the Ordering tab's preset "xor",
/// which is the spec's XOR run `xor_preset` pruned by dynamic top-k to half), and `grokscope presets`
/// lists the Ordering names.
#[test]
fn ordering_presets_print_as_toml_that_reads_back() {
    let list = String::from_utf8(ok(grokscope(&["presets"]).output().unwrap()).stdout).unwrap();
    for name in [
        "ordering-xor",
        "ordering-sine",
        "ordering-xor-sparsity",
        "ordering-sine-grid",
    ] {
        assert!(list.contains(name), "{name} not listed:\n{list}");
    }
    let show = |name: &str| {
        String::from_utf8(ok(grokscope(&["presets", "--show", name]).output().unwrap()).stdout)
            .unwrap()
    };
    let study = OrderingStudyConfig::from_toml(&show("ordering-sine-sparsity")).unwrap();
    assert_eq!(
        OrderingStudyConfig::from(study),
        default_study(OrderingTask::Sine, StudyKind::Sparsity)
    );
    let run = OrderingConfig::from(OrderingConfig::from_toml(&show("ordering-xor")).unwrap());
    let window = grokscope::app::labs::ordering::ordering_presets();
    assert_eq!(window[0].name, "xor");
    assert_eq!(run, window[0].config);
    assert_eq!(
        run,
        OrderingConfig {
            pruning: Pruning::DynamicTopK { k: 0.5 },
            ..xor_preset()
        }
    );
}

/// `grokscope ordering-run --task T` trains the Ordering tab's preset of that task, so a run seen in
/// the window can be had headless: the folder's config.toml is the window's sine preset (with the
/// one `--set` change), and `--set 'pruning={scheme = "none"}'` gives the unpruned baseline (its
/// measured sparsity 0).
#[test]
fn ordering_run_task_trains_the_windows_preset() {
    let tmp = tempfile::tempdir().unwrap();
    let window = grokscope::app::labs::ordering::ordering_presets();
    let sine = window.iter().find(|p| p.name == "sine").unwrap();
    let out = tmp.path().join("pruned");
    ok(ordering_run(&["--task", "sine", "--set", "epochs=2"], &out));
    let text = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert_eq!(
        OrderingConfig::from(OrderingConfig::from_toml(&text).unwrap()),
        OrderingConfig {
            epochs: 2,
            ..sine.config.clone()
        }
    );
    let base = tmp.path().join("base");
    ok(ordering_run(
        &["--task", "sine", "--set", "pruning={scheme = \"none\"}"],
        &base,
    ));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(base.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["measured_sparsity"], 0.0);
}

/// A study from a TOML file runs and writes study.csv (1 baseline + 2 schemes x 1 sparsity = 3
/// settings of 1 run: 3 rows, counted by hand) and its config; the same folder is refused, untouched,
/// to a file of another study (the field that differs named); a bad value names its field.
#[test]
fn cli_ordering_runs_a_study_from_a_config_file() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cfg = default_study(OrderingTask::Sine, StudyKind::Sparsity);
    cfg.runs = 1;
    cfg.base.epochs = 1;
    cfg.sparsities = vec![0.5];
    cfg.schemes = vec![Scheme::Random, Scheme::TopK];
    let file = tmp.path().join("study.toml");
    std::fs::write(&file, cfg.to_toml()).unwrap();
    let out = tmp.path().join("out");
    let run = |file: &Path| {
        grokscope(&["ordering", "--threads", "1", "--config"])
            .arg(file)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
    };
    ok(run(&file));
    let csv = std::fs::read_to_string(out.join("study.csv")).unwrap();
    let mut problems = vec![];
    let rows = grokscope::store::study_dir::read_study_csv(&csv, &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    let schemes: Vec<Scheme> = rows.iter().map(|r| r.scheme).collect();
    assert_eq!(schemes, [Scheme::None, Scheme::Random, Scheme::TopK]);
    let stored: OrderingStudyConfig =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    // --threads is how it ran, not what it is
    assert_eq!(stored, OrderingStudyConfig { threads: 1, ..cfg });

    // another study into the same folder: refused, the folder as it was
    let before = files(&out);
    let mut other = stored.clone();
    other.runs = 2;
    std::fs::write(&file, other.to_toml()).unwrap();
    let refused = run(&file);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("runs: 1 -> 2"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(files(&out), before);

    // a bad value is named by its field, and nothing is made
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, stored.to_toml().replace("lr = 0.01", "lr = -1.0")).unwrap();
    let fresh = tmp.path().join("fresh");
    let e = grokscope(&["ordering", "--config"])
        .arg(&bad)
        .arg("--out")
        .arg(&fresh)
        .output()
        .unwrap();
    assert!(!e.status.success());
    assert!(
        stderr(&e).contains("lr: -1") && stderr(&e).contains("bad.toml"),
        "{}",
        stderr(&e)
    );
    assert!(!fresh.exists());
    // one source only
    let both = grokscope(&["ordering", "--task", "sine", "--study", "grid", "--config"])
        .arg(&file)
        .arg("--out")
        .arg(&fresh)
        .output()
        .unwrap();
    assert!(!both.status.success());
    assert!(stderr(&both).contains("--config"), "{}", stderr(&both));
}

/// One run into its folder: the four files; metrics.csv has the initial row and one per epoch (XOR: 6
/// neurons, within the 12 measured every epoch); `grokscope orderedness` on weights.csv prints the D
/// and order of summary.json and of the last row. Equal to the last bit, not to a tolerance: the file
/// holds each f32 weight as the f64 it widens to, exactly, so |w| and the same exact search on them
/// give the same f64. Its config.toml trains again to byte-identical files (same config and seed).
#[test]
fn cli_ordering_run_writes_its_folder_and_its_weights_give_its_d() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let out = ok(ordering_run(
        &[
            "--task",
            "xor",
            "--set",
            "epochs=60",
            "--set",
            "pruning={scheme = \"top_k\", k = 0.5}",
        ],
        &a,
    ));
    assert!(stderr(&out).contains("D "), "{}", stderr(&out));
    let names: Vec<String> = std::fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        names,
        ["config.toml", "metrics.csv", "summary.json", "weights.csv"]
    );
    let cfg = OrderingConfig::from(
        OrderingConfig::from_toml(&std::fs::read_to_string(a.join("config.toml")).unwrap())
            .unwrap(),
    );
    assert_eq!(
        cfg,
        OrderingConfig {
            epochs: 60,
            pruning: Pruning::TopK { k: 0.5 },
            ..xor_preset()
        }
    );

    let metrics = std::fs::read_to_string(a.join("metrics.csv")).unwrap();
    let mut lines = metrics.lines();
    assert_eq!(
        lines.next(),
        Some("step,epoch,mse,measured_sparsity,d,d_shuffled,method")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 61, "the initial row and one per epoch");
    let last = rows.last().unwrap();
    // XOR: one step an epoch; top-k with k = 0.5 keeps floor(0.5 * 48) = 24 of W's 6 x 8 weights
    assert_eq!((last[0], last[1]), ("60", "60"));
    assert_eq!(last[3], "0.5");
    assert_eq!(last[6], "exact");
    let last_d: f64 = last[4].parse().unwrap();

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["outcome"], "completed");
    // W is 6 x 8 and v0 has 6: 54 parameters
    assert_eq!(summary["param_count"], 54);
    assert_eq!(
        (summary["neurons"].as_u64(), summary["method"].as_str()),
        (Some(6), Some("exact"))
    );
    let d = summary["d"].as_f64().unwrap();
    assert_eq!(
        d.to_bits(),
        last_d.to_bits(),
        "summary {d}, last row {last_d}"
    );
    assert!(summary["final_mse"].as_f64().unwrap() >= 0.0);

    let weights = a.join("weights.csv");
    let o = ok(grokscope(&["orderedness", "--weights"])
        .arg(&weights)
        .output()
        .unwrap());
    let printed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(printed["n"], 6);
    assert_eq!(printed["d"].as_f64().unwrap().to_bits(), d.to_bits());
    assert_eq!(printed["order"], summary["order"]);

    // `export` says what the folder is rather than reading it as a broken Grokking run
    let e = grokscope(&["export", "--list"]).arg(&a).output().unwrap();
    assert!(!e.status.success());
    assert!(
        stderr(&e).contains("is an Ordering run folder"),
        "{}",
        stderr(&e)
    );

    // the written config trains again to the same bytes
    let b = tmp.path().join("b");
    let file = a.join("config.toml");
    ok(ordering_run(&["--config", file.to_str().unwrap()], &b));
    for f in ["config.toml", "metrics.csv", "weights.csv"] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
}

/// A folder that is not empty (a user's file, or a run already) is refused and left as it was; a bad
/// value, from --set or from a file, is named by its field and makes no folder.
#[test]
fn cli_ordering_run_refuses_a_full_folder_and_bad_values() {
    let tmp = tempfile::tempdir().unwrap();
    let full = tmp.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("notes.txt"), "mine").unwrap();
    let before = files(&full);
    let e = ordering_run(&["--task", "xor", "--set", "epochs=2"], &full);
    assert!(!e.status.success());
    assert!(stderr(&e).contains("not empty"), "{}", stderr(&e));
    assert_eq!(files(&full), before);

    let run = tmp.path().join("run");
    ok(ordering_run(&["--task", "sine", "--set", "epochs=1"], &run));
    let before = files(&run);
    let e = ordering_run(&["--task", "sine", "--set", "epochs=1"], &run);
    assert!(!e.status.success());
    assert!(stderr(&e).contains("already holds a run"), "{}", stderr(&e));
    assert_eq!(files(&run), before);

    let none = tmp.path().join("none");
    let e = ordering_run(&["--task", "xor", "--set", "hidden=0"], &none);
    assert!(!e.status.success());
    assert!(
        stderr(&e).contains("hidden: 0 is outside the allowed range"),
        "{}",
        stderr(&e)
    );
    let e = ordering_run(&["--task", "xor", "--set", "colour=1"], &none);
    assert!(!e.status.success());
    assert!(stderr(&e).contains("no field colour"), "{}", stderr(&e));
    let bad = tmp.path().join("bad.toml");
    std::fs::write(
        &bad,
        xor_preset().to_toml().replace("lr = 0.01", "lr = -1.0"),
    )
    .unwrap();
    let e = ordering_run(&["--config", bad.to_str().unwrap()], &none);
    assert!(!e.status.success());
    assert!(stderr(&e).contains("lr: -1"), "{}", stderr(&e));
    // a study's config is said to be one
    let study = tmp.path().join("study.toml");
    std::fs::write(
        &study,
        default_study(OrderingTask::Xor, StudyKind::Grid).to_toml(),
    )
    .unwrap();
    let e = ordering_run(&["--config", study.to_str().unwrap()], &none);
    assert!(!e.status.success());
    assert!(
        stderr(&e).contains("grokscope ordering --config"),
        "{}",
        stderr(&e)
    );
    assert!(!none.exists());
}
