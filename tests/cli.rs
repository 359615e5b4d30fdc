//! The headless command line, through the real binary.

use std::process::Command;

fn grokscope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_grokscope"))
}

/// The fast-mlp preset as `presets --show` prints it, with `edit` applied.
fn fast_mlp_toml(edit: impl Fn(String) -> String) -> String {
    let shown = grokscope()
        .args(["presets", "--show", "fast-mlp"])
        .output()
        .unwrap();
    assert!(shown.status.success());
    edit(String::from_utf8(shown.stdout).unwrap())
}

#[test]
fn presets_show_prints_a_config_that_run_accepts_and_run_writes_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let list = grokscope().arg("presets").output().unwrap();
    assert!(list.status.success());
    let text = String::from_utf8(list.stdout).unwrap();
    for name in ["fast-mlp", "paper-transformer-cpu", "nanda-power"] {
        assert!(text.contains(name), "{text}");
    }
    let shown = grokscope()
        .args(["presets", "--show", "fast-mlp"])
        .output()
        .unwrap();
    assert!(shown.status.success());
    // shrink it so the test is quick: p = 23 with 90 % train groks in a few hundred epochs
    let toml = String::from_utf8(shown.stdout)
        .unwrap()
        .replace("p = 97", "p = 23")
        .replace("train_fraction = 0.5", "train_fraction = 0.9")
        .replace("op = \"/\"", "op = \"+\"");
    let cfg_path = dir.path().join("c.toml");
    std::fs::write(&cfg_path, toml).unwrap();
    let out = dir.path().join("run");
    let st = grokscope()
        .args(["run", "--config"])
        .arg(&cfg_path)
        .arg("--out")
        .arg(&out)
        .args(["--max-epochs", "40"])
        .status()
        .unwrap();
    assert!(st.success());
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    for key in [
        "param_count",
        "steps",
        "epochs",
        "t_train_epoch",
        "t_val_epoch",
        "delay_epochs",
        "final_train_acc",
        "final_val_acc",
        "wall_secs",
    ] {
        assert!(
            summary.get(key).is_some(),
            "summary.json lacks {key}: {summary}"
        );
    }
    assert_eq!(summary["epochs"], 40, "--max-epochs caps the run");
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("step,epoch,train_loss,train_acc,")
    );
    assert_eq!(lines.count(), 40, "one row per epoch");
    let cfg_back = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(
        cfg_back.contains("max_epochs = 5000") && cfg_back.contains("p = 23"),
        "the config as given: --max-epochs stops early, it does not change the run"
    );
    assert!(out.join("events.jsonl").exists());
    let info = std::fs::read_to_string(out.join("run.json")).unwrap();
    assert!(info.contains("\"status\": \"stopped\""), "{info}");
    // resume to the end (early stop: the fast preset generalises well before 1500 epochs)
    let st = grokscope().arg("resume").arg(&out).status().unwrap();
    assert!(st.success());
    let info = std::fs::read_to_string(out.join("run.json")).unwrap();
    assert!(info.contains("\"status\": \"completed\""), "{info}");
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(
        csv.lines().count() > 41,
        "the resumed run went on past epoch 40"
    );
}

#[test]
fn a_bad_config_file_is_refused_with_the_field_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = dir.path().join("bad.toml");
    let toml = fast_mlp_toml(|t| t.replace("train_fraction = 0.5", "train_fraction = 1.5"));
    std::fs::write(&cfg_path, toml).unwrap();
    // `run --config bad.toml --out run`: its status and stderr
    let run = || {
        let out = grokscope()
            .args(["run", "--config"])
            .arg(&cfg_path)
            .arg("--out")
            .arg(dir.path().join("run"))
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stderr).unwrap())
    };
    let (code, err) = run();
    assert_eq!(code, Some(1));
    assert!(
        err.contains("train_fraction") && err.contains("(0, 1)"),
        "{err}"
    );
    assert!(
        !dir.path().join("run").exists(),
        "nothing written for a refused config"
    );
    // a sweep's or a phase study's config given to `run` is named for what it is, with its command
    for (preset, command) in [
        ("tiny", "grokscope sweep"),
        ("phase-tiny", "grokscope phase"),
    ] {
        let shown = grokscope()
            .args(["presets", "--show", preset])
            .output()
            .unwrap();
        std::fs::write(&cfg_path, shown.stdout).unwrap();
        let (code, err) = run();
        assert_eq!(code, Some(1));
        assert!(err.contains(command), "{preset}: {err}");
        assert!(!dir.path().join("run").exists());
    }
    let missing = grokscope()
        .args(["presets", "--show", "nope"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(
        String::from_utf8(missing.stderr)
            .unwrap()
            .contains("no preset named \"nope\"")
    );
}

/// `grokscope lesson list` names every bundled lesson; `lesson check` accepts them and refuses a
/// malformed file with its line and field and a non-zero exit status (what CI and authors rely on).
#[test]
fn lesson_list_and_check() {
    let list = grokscope().args(["lesson", "list"]).output().unwrap();
    assert!(list.status.success());
    let text = String::from_utf8(list.stdout).unwrap();
    for (name, _) in grokscope::config::lesson::BUNDLED {
        assert!(text.contains(name), "{text}");
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let good = format!("{root}/assets/lessons/clock-inside.toml");
    let ok = grokscope()
        .args(["lesson", "check", &good])
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(&good).unwrap().replacen(
        "panel = \"spectrum\"",
        "panel = \"spectrun\"",
        1,
    );
    std::fs::write(&bad, &text).unwrap();
    let line = text.lines().position(|l| l.contains("spectrun")).unwrap() + 1;
    let out = grokscope()
        .args(["lesson", "check"])
        .arg(&good)
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    let want = format!("{}:{line}: step[", bad.display());
    assert!(err.contains(&want), "{err}");
    assert!(err.contains("no panel `spectrun`"), "{err}");

    // the window's --lesson and --scene, with no display: their files' problems are named with the
    // display's, not only the display's (a helper's audit, 2026-12-06); a mistyped bundled name
    // names the bundled lessons
    let no_window = |args: &[&str]| {
        let out = grokscope()
            .args(args)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8(out.stderr).unwrap()
    };
    let err = no_window(&["--lesson", bad.to_str().unwrap()]);
    assert!(
        err.contains(&want) && err.contains("no display found"),
        "{err}"
    );
    let err = no_window(&["--lesson", "weight-decy", "--scene", "no-such-scene.toml"]);
    assert!(
        err.contains("weight-decy: there is no bundled lesson of that name (they are: ")
            && err.contains("no-such-scene.toml: cannot be read"),
        "{err}"
    );
    let err = no_window(&["--lesson", "weight-decay"]);
    assert!(err.starts_with("error: no display found"), "{err}");
}

/// Output that cannot be written is an error, not a panic: a reader that went away (`| head`) ends
/// the command quietly, as other Unix tools do; a full disk (`/dev/full`, Linux) is said once.
/// (`println!` panicked with a backtrace in both: a helper's audit of the commands, 2026-12-06.)
#[cfg(unix)]
#[test]
fn output_that_cannot_be_written_ends_the_command_without_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    // a pipe whose reader is already gone: every write fails (EPIPE), deterministically
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = grokscope()
        .args(["presets", "--show", "fast-mlp"])
        .stdout(writer)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.is_empty(),
        "a closed pipe ends the command quietly: {err}"
    );
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{:?}", out.status);

    if let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") {
        let out = grokscope().arg("presets").stdout(full).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("cannot write to standard output") && !err.contains("panicked"),
            "{err}"
        );
    }
}

/// Messages that name the problem, found by a helper's audit of the commands (2026-12-06); each was
/// worded for another problem before (the expected words are the new messages').
#[test]
fn path_format_and_folder_kind_problems_are_named_before_anything_is_done() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let run = |args: &[&std::ffi::OsStr]| {
        let out = grokscope().args(args).current_dir(t).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        (String::from_utf8_lossy(&out.stdout).into_owned(), err)
    };
    let os = |s: &str| std::ffi::OsString::from(s);
    // a folder that does not exist is said to be missing, not "not a folder"
    let (_, err) = run(&[&os("merge"), &os("nosuch")]);
    assert!(err.contains("nosuch does not exist"), "{err}");
    // a run folder (any of its three files makes one) is not a sweep: merge and analyse say so
    std::fs::create_dir(t.join("arun")).unwrap();
    std::fs::write(t.join("arun/run.json"), "{}").unwrap();
    for cmd in ["merge", "analyse"] {
        let (out, err) = run(&[&os(cmd), &os("arun")]);
        assert!(err.contains("arun is a Grokking run folder"), "{err}");
        assert!(out.is_empty(), "{out}");
    }
    // a sweep folder whose one task file is corrupt: merge and analyse both fail (analyse exited 0:
    // a helper's audit), analyse still printing which file it could not use
    std::fs::create_dir(t.join("cor")).unwrap();
    std::fs::write(t.join("cor/task-p23-w8-s0.json"), "{ half").unwrap();
    run(&[&os("merge"), &os("cor")]);
    let (out, err) = run(&[&os("analyse"), &os("cor")]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["files"]["unusable"][0]["file"], "task-p23-w8-s0.json");
    assert!(err.contains("nothing was analysed"), "{err}");
    // a file given as a sweep's folder
    std::fs::write(t.join("afile"), "x").unwrap();
    let (_, err) = run(&[
        &os("sweep"),
        &os("--preset"),
        &os("tiny"),
        &os("--out"),
        &os("afile"),
    ]);
    assert!(err.contains("afile is a file, not a folder"), "{err}");
    assert_eq!(std::fs::read(t.join("afile")).unwrap(), b"x");
    // a figure's extension and --format must agree (SVG was written into a .png)
    std::fs::write(t.join("m.csv"), "0,1\n0,0\n").unwrap();
    let heatmap = |out: &str, format: &[&str]| {
        let args: Vec<std::ffi::OsString> = ["orderedness", "--weights", "m.csv"]
            .into_iter()
            .chain(["--figure", "heatmap", "--out", out])
            .chain(format.iter().copied())
            .map(os)
            .collect();
        run(&args.iter().map(|a| a.as_os_str()).collect::<Vec<_>>())
    };
    let (_, err) = heatmap("m.png", &["--format", "svg"]);
    assert!(err.contains("m.png ends in .png but --format svg"), "{err}");
    // and a figure that cannot be written is refused before D is computed and printed
    let (out, err) = heatmap("nope/m.png", &[]);
    assert!(err.contains("the folder nope does not exist"), "{err}");
    assert!(out.is_empty(), "nothing printed: {out}");
    assert!(!t.join("m.png").exists());
}

/// A fork or repair that would put a run inside another run's folder, a fork that would train
/// nothing, and a `--set` of a field this run's config lacks are refused with nothing written (a
/// helper's audit, 2026-12-06: each was accepted, or named the field without saying what there is).
#[test]
fn forks_and_repairs_that_would_nest_or_train_nothing_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let toml = fast_mlp_toml(|t| t.replace("p = 97", "p = 23"));
    std::fs::write(t.join("c.toml"), toml).unwrap();
    let ok = grokscope()
        .args(["run", "--config", "c.toml", "--out", "r"])
        .args(["--max-epochs", "20", "--checkpoint-every", "10"])
        .current_dir(t)
        .status()
        .unwrap();
    assert!(ok.success());
    let before = crate::hardening::snapshot(&t.join("r"));
    for (args, says) in [
        (
            vec![
                "fork",
                "r",
                "--step",
                "10",
                "--set",
                "max_epochs=5",
                "--out",
                "f",
            ],
            "the fork's max_epochs 5 is not past its checkpoint's epoch 10",
        ),
        (
            vec![
                "fork",
                "r",
                "--step",
                "10",
                "--max-epochs",
                "2",
                "--out",
                "f",
            ],
            "--max-epochs 2 is not past the fork's checkpoint (epoch 10)",
        ),
        (
            vec!["fork", "r", "--step", "10", "--out", "r/sub"],
            "r/sub is inside the run folder r",
        ),
        (
            vec!["resume", "r", "--repair", "r/../r/new"],
            "is inside the run folder r",
        ),
        (
            vec![
                "fork",
                "r",
                "--step",
                "10",
                "--set",
                "model.dropout=0.1",
                "--out",
                "f",
            ],
            "no field model.dropout (it has: model.activation",
        ),
        (
            // beyond f64: a number all the same, not the string TOML's parser falls back to
            vec![
                "fork",
                "r",
                "--step",
                "10",
                "--set",
                "optim.lr=1e400",
                "--out",
                "f",
            ],
            "optim.lr=1e400: 1e400 is too large to be a number",
        ),
    ] {
        let out = grokscope().args(&args).current_dir(t).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert!(!t.join("f").exists());
    assert!(
        crate::hardening::snapshot(&t.join("r")) == before,
        "the run is as it was"
    );
}

/// `--device` is listed and taken by the commands that train transformers (the README's list: run,
/// resume, fork, sweep, phase, bench, and the window), after the command or before it; the others
/// train nothing, so their help does not offer it and one given before them is said to be ignored.
#[test]
fn device_is_offered_by_the_commands_that_train_and_only_there() {
    use clap::Parser;
    use grokscope::cli::Cli;
    let help = |cmd: &str| {
        let o = grokscope().args([cmd, "--help"]).output().unwrap();
        assert!(o.status.success(), "{cmd} --help");
        String::from_utf8(o.stdout).unwrap()
    };
    for cmd in ["run", "resume", "fork", "sweep", "phase", "bench"] {
        assert!(help(cmd).contains("--device <DEVICE>"), "{cmd} --help");
    }
    for cmd in [
        "merge",
        "analyse",
        "export",
        "presets",
        "orderedness",
        "lesson",
    ] {
        assert!(!help(cmd).contains("--device"), "{cmd} --help");
    }
    let device = |args: &[&str]| {
        let cli = Cli::try_parse_from(args).unwrap();
        cli.command.as_ref().and_then(|c| c.device()).or(cli.device)
    };
    let cpu = Some(grokscope::model::device::DeviceRequest::Cpu);
    assert_eq!(
        device(&["g", "run", "--config", "c", "--out", "o", "--device", "cpu"]),
        cpu
    );
    assert_eq!(
        device(&[
            "g", "--device", "cpu", "sweep", "--preset", "tiny", "--out", "o"
        ]),
        cpu
    );
    assert_eq!(device(&["g", "--device", "cpu"]), cpu);
    assert!(Cli::try_parse_from(["g", "analyse", "d", "--device", "cpu"]).is_err());
    let o = grokscope()
        .args(["--device", "cpu", "presets"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("--device is ignored"), "{err}");
}
