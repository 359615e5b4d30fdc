//! `grokscope export RUN --figure NAME --step N` for the insight figures: recomputed from the run
//! folder's checkpoint at N, with the config the run trained with there.

use grokscope::cli::export::{ExportArgs, FromSaved, export_main, insight_folder_figures};
use grokscope::config::{GrokkingConfig, Operation, ValidGrokkingConfig, preset};
use grokscope::experiment::Unattended;
use grokscope::experiment::grokking::{self, RunOptions, Start};
use grokscope::export::render::FigureFormat;
use grokscope::protocol::Event;
use grokscope::store::run_dir::RunWriter;
use std::path::{Path, PathBuf};

/// A tiny MLP on a + b mod 23 for 30 epochs, checkpointed every 10: checkpoints at steps 0, 10, 20
/// and 30 (full batch: a step an epoch).
fn tiny_run(dir: &Path) -> GrokkingConfig {
    let mut c = preset("fast-mlp").unwrap().config;
    c.op = Operation::Add;
    c.p = 23;
    c.max_epochs = 30;
    c.early_stop = false;
    let mut evs: Vec<Event> = vec![];
    let opts = RunOptions {
        writer: Some(RunWriter::create(dir, &c, None).unwrap()),
        checkpoint_every: grokscope::config::checkpoints::CheckpointEvery::from(10),
        ..Default::default()
    };
    let valid = ValidGrokkingConfig::try_from(c.clone()).unwrap();
    grokking::run(Start::New(valid), 1, &mut evs, &mut Unattended, opts);
    c
}

fn args(dir: &Path, figure: &str, step: Option<u64>, out: PathBuf) -> ExportArgs {
    ExportArgs {
        dir: dir.to_path_buf(),
        list: false,
        figure: Some(figure.to_string()),
        format: Some(FigureFormat::Svg),
        dpi: None,
        width_in: None,
        height_in: None,
        out: Some(out),
        step,
        own_keys: false,
        ..Default::default()
    }
}

fn csv_rows(path: &Path) -> Vec<csv::StringRecord> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records().map(Result::unwrap).collect()
}

#[test]
fn insight_figures_export_at_a_checkpoint_step() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let cfg = tiny_run(&run);
    // an edit of config.toml after the run: the sidecar must keep the config of the checkpoint
    let toml = run.join("config.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, text.replace("seed = 0", "seed = 77")).unwrap();

    // a step without a checkpoint is refused, naming the steps there are (0, 10, 20, 30: see tiny_run)
    let out = tmp.path().join("figs");
    std::fs::create_dir(&out).unwrap();
    let err = export_main(&args(&run, "grid", Some(15), out.join("g.svg"))).unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("step 15") && msg.contains("0, 10, 20, 30"),
        "{msg}"
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);

    // every insight figure at step 20, into the folder
    export_main(&args(&run, "insight", Some(20), out.clone())).unwrap();
    let ins = insight_folder_figures(&run, Some(20), FromSaved::Step).unwrap();
    let names: Vec<&str> = ins.figures.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(ins.step, 20);
    // the MLP has neurons and an ablation; one clock per key frequency, at most three
    for want in [
        "spectrum",
        "spectrum-history",
        "pca",
        "grid",
        "neurons",
        "ablation",
    ] {
        assert!(names.contains(&want), "{want} not in {names:?}");
    }
    let clocks = names.iter().filter(|n| n.starts_with("clock-k")).count();
    assert!((1..=3).contains(&clocks), "{names:?}");
    for name in &names {
        for ext in ["svg", "csv", "json"] {
            let f = out.join(format!("{name}.{ext}"));
            assert!(f.is_file(), "{} missing", f.display());
        }
        assert!(
            !csv_rows(&out.join(format!("{name}.csv"))).is_empty(),
            "{name}"
        );
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join(format!("{name}.json"))).unwrap())
                .unwrap();
        // the config the run trained with (seed 0), not the edited config.toml (seed 77)
        assert_eq!(
            json["config"],
            serde_json::to_value(&cfg).unwrap(),
            "{name}"
        );
        // (the ablation figure's title names the step; its shown step's line the epoch too)
        let shown = if *name == "ablation" {
            json["markers"].to_string()
        } else {
            json["title"].to_string()
        };
        assert!(shown.contains("step 20 (epoch 20)"), "{name}: {shown}");
    }
    // the spectrum's history holds a column per checkpoint: 23 / 2 = 11 frequencies x 4 steps
    assert_eq!(csv_rows(&out.join("spectrum-history.csv")).len(), 11 * 4);
    // the grid has a cell per pair, each in one of the four classes
    let grid = csv_rows(&out.join("grid.csv"));
    assert_eq!(grid.len(), 23 * 23);
    assert!(
        grid.iter()
            .all(|r| r[4].starts_with("train, ") || r[4].starts_with("validation, "))
    );
}

#[test]
fn one_figure_to_a_file_and_the_clock_group_beside_a_stem() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    tiny_run(&run);
    // no --step: the newest checkpoint (30)
    let file = tmp.path().join("spec.png");
    let mut a = args(&run, "spectrum", None, file.clone());
    a.format = None;
    export_main(&a).unwrap();
    assert!(file.is_file() && tmp.path().join("spec.csv").is_file());
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("spec.json")).unwrap()).unwrap();
    assert!(
        json["title"].as_str().unwrap().contains("step 30"),
        "{json}"
    );

    // `--out DIR/` names a folder (created): the figure goes in it under its own name
    let folder = tmp.path().join("figs/");
    export_main(&args(&run, "spectrum", None, folder.clone())).unwrap();
    assert!(folder.join("spectrum.svg").is_file(), "{:?}", folder);

    // several figures into `--out DIR/` that does not exist yet: it is made, and each goes in it
    let several = tmp.path().join("new-figs/");
    export_main(&args(&run, "clock", None, several.clone())).unwrap();
    assert!(several.join("pca.svg").is_file(), "{:?}", several);
    assert!(!tmp.path().join("new-figs-pca.svg").exists());
    // ... but one folder only: a mistyped chain is refused, nothing made (it made them all)
    let chain = tmp.path().join("typo/deeper/figs/");
    let e = export_main(&args(&run, "clock", None, chain)).unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
    assert!(!tmp.path().join("typo").exists());

    // the clocks and the principal components, each beside the stem c.svg
    let mut a = args(&run, "clock", Some(10), tmp.path().join("c.svg"));
    a.format = None;
    export_main(&a).unwrap();
    assert!(tmp.path().join("c-pca.svg").is_file());
    let clock = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with("c-clock-k") && n.ends_with(".csv")
        })
        .expect("a clock's CSV");
    // a row per residue for the points and one for the path, each labelled with its residue
    let rows = csv_rows(&clock.path());
    assert_eq!(rows.len(), 2 * 23);
    let mut residues: Vec<u32> = rows
        .iter()
        .filter(|r| r[0].starts_with("residue"))
        .map(|r| r[5].parse().unwrap())
        .collect();
    residues.sort_unstable();
    assert_eq!(residues, (0..23).collect::<Vec<_>>());

    // a figure the run cannot draw is named with those it can
    let err = export_main(&args(&run, "clock-k99", Some(10), tmp.path().join("x.svg")))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("clock-k99") && err.contains("spectrum"),
        "{err}"
    );
}

/// The insight views hold every pair's hidden layer and logits; where the memory limit cannot hold them
/// (here set to a kibibyte through the environment, as a user would) the export is refused, naming the
/// limit, and writes nothing.
#[test]
fn insight_figures_beyond_the_memory_limit_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    tiny_run(&run);
    let out = tmp.path().join("g.svg");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_grokscope"))
        .arg("export")
        .arg(&run)
        .args(["--figure", "grid", "--step", "20", "--out"])
        .arg(&out)
        .env("GROKSCOPE_MAX_MEMORY_GB", "0.000001")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("the insight views of this run need about")
            && err.contains("GROKSCOPE_MAX_MEMORY_GB"),
        "{err}"
    );
    assert!(!out.exists());
}

/// A name that is no figure, in a run folder, is refused naming every figure the folder can draw: the
/// history's and the insight figures its weights give (each of `export::insight`'s names), nothing
/// written.
#[test]
fn an_unknown_figure_names_the_insight_figures_too() {
    use grokscope::export::insight::{
        ABLATION, CLOCK_PREFIX, GRID, GROUP_ALL, GROUP_CLOCK, NEURONS, PCA, SPECTRUM,
        SPECTRUM_HISTORY,
    };
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    tiny_run(&run);
    let out = tmp.path().join("x.svg");
    let e = export_main(&args(&run, "answer-grid", Some(10), out.clone()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no figure \"answer-grid\""), "{e}");
    for name in [
        "accuracy",
        SPECTRUM,
        SPECTRUM_HISTORY,
        CLOCK_PREFIX,
        PCA,
        GRID,
        NEURONS,
        ABLATION,
        GROUP_CLOCK,
        GROUP_ALL,
    ] {
        assert!(e.contains(name), "{name} in: {e}");
    }
    assert!(!out.exists());
}

/// The ablation figure of a run folder ablates every saved step with the final model's key
/// frequencies by default (as Nanda et al., and as the window's loss plot once a run has ended), or
/// each step with its own given `--own-keys`. At the newest checkpoint the two are the same
/// computation (the final keys are that step's own), so their values there agree exactly; each
/// curve has a point a checkpoint (0, 10, 20, 30: see `tiny_run`), marked, as four points are few.
#[test]
fn the_ablation_figure_uses_the_final_keys_unless_asked_for_each_steps_own() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    tiny_run(&run);
    let curve = |rows: &[csv::StringRecord], name: &str| -> Vec<(f64, f64)> {
        rows.iter()
            .filter(|r| &r[0] == name)
            .map(|r| (r[1].parse().unwrap(), r[2].parse().unwrap()))
            .collect()
    };
    let final_file = tmp.path().join("final.svg");
    export_main(&args(&run, "ablation", Some(10), final_file.clone())).unwrap();
    let finals = csv_rows(&tmp.path().join("final.csv"));
    let mut a = args(&run, "ablation", Some(10), tmp.path().join("own.svg"));
    a.own_keys = true;
    export_main(&a).unwrap();
    let owns = csv_rows(&tmp.path().join("own.csv"));

    let steps = |c: &[(f64, f64)]| c.iter().map(|p| p.0).collect::<Vec<_>>();
    // (the series' names: grokscope::export::labs::series_name)
    for (kind, what, part) in [
        ("restricted", "val", "only"),
        ("excluded", "train", "removed"),
    ] {
        let fin = curve(&finals, &format!("{kind} ({what}, final keys {part})"));
        let own = curve(&owns, &format!("{kind} ({what}, key k {part})"));
        assert_eq!(steps(&fin), [0.0, 10.0, 20.0, 30.0], "{kind}: {finals:?}");
        assert_eq!(steps(&own), [0.0, 10.0, 20.0, 30.0], "{kind}: {owns:?}");
        assert_eq!(fin[3].1, own[3].1, "{kind} at the newest checkpoint");
    }
    let has_dots =
        |rows: &[csv::StringRecord]| rows.iter().any(|r| r[0].ends_with("(saved steps)"));
    assert!(has_dots(&finals) && has_dots(&owns));
    // the caption says which keys (in the JSON sidecar: drawn under the plot, such notes took
    // its height at a column's width)
    let caption = |name: &str| {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(tmp.path().join(name)).unwrap()).unwrap();
        v["caption"].to_string()
    };
    assert!(caption("final.json").contains("final model"));
    assert!(caption("own.json").contains("its own snapshot"));
}

/// The ablation figure draws the validation accuracy on a right-hand axis in percent, so the fall of
/// the restricted loss can be read against the moment validation accuracy jumps (a researcher's
/// audit: the renderer had no second y axis, and the figure could not show it). Expected: the
/// series' points are the run's logged validation accuracy times 100 (read back from its
/// metrics.csv); each vertex of its path stands where the right-hand axis' own tick marks put its
/// value (interpolated between the ticks labelled 0 and 100); the axis is titled, its ticks
/// labelled, the legend names the curve, and the JSON sidecar says which series the axis carries.
#[test]
fn the_ablation_figure_draws_validation_accuracy_on_a_right_hand_percent_axis() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    tiny_run(&run);
    let out = tmp.path().join("ablation.svg");
    export_main(&args(&run, "ablation", Some(30), out.clone())).unwrap();
    let name = grokscope::export::insight::VAL_ACC_NAME;
    // the CSV's points: the logged validation accuracy, in percent
    let logged: Vec<(f64, f64)> = grokscope::store::run_dir::RunFolder::open(&run)
        .unwrap()
        .rows
        .iter()
        .filter_map(|r| {
            Some((
                r.step as f64,
                r.get(grokscope::protocol::Metric::ValAcc)? * 100.0,
            ))
        })
        .collect();
    let drawn: Vec<(f64, f64)> = csv_rows(&tmp.path().join("ablation.csv"))
        .iter()
        .filter(|r| &r[0] == name)
        .map(|r| (r[1].parse().unwrap(), r[2].parse().unwrap()))
        .collect();
    assert!(logged.len() >= 2, "{logged:?}");
    assert_eq!(drawn.len(), logged.len());
    for (d, l) in drawn.iter().zip(&logged) {
        assert!(d.0 == l.0 && (d.1 - l.1).abs() < 1e-9, "{d:?} vs {l:?}");
    }

    let svg = std::fs::read_to_string(&out).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let class = |c: &'static str| {
        doc.descendants()
            .filter(move |n| n.attribute("class") == Some(c))
    };
    let title = class("y2-label").next().expect("a right-hand axis title");
    assert_eq!(title.text(), Some(grokscope::export::insight::VAL_ACC_AXIS));
    // the ticks' labels, and where their tick stands (a label's baseline is 0.35 of its 7-point
    // size below its tick: grokscope::export::svg)
    let ticks: Vec<(String, f64)> = class("y2-ticks")
        .flat_map(|g| g.children().filter(|n| n.has_tag_name("text")))
        .map(|t| {
            let y: f64 = t.attribute("y").unwrap().parse().unwrap();
            (t.text().unwrap().to_string(), y - 7.0 * 0.35)
        })
        .collect();
    let at = |label: &str| {
        ticks
            .iter()
            .find(|(l, _)| l == label)
            .unwrap_or_else(|| panic!("a tick labelled {label} in {ticks:?}"))
            .1
    };
    let (y0, y100) = (at("0"), at("100"));
    assert!(y100 < y0, "100 % above 0 %");
    let path = class("y2-series").next().expect("the accuracy curve");
    let d = path.attribute("d").unwrap();
    let ys: Vec<f64> = d
        .split(['M', 'L'])
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.split_whitespace().nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(ys.len(), drawn.len());
    for (y, (_, v)) in ys.iter().zip(&drawn) {
        let want = y0 + (y100 - y0) * v / 100.0;
        // (coordinates are written to 0.01 pt)
        assert!(
            (y - want).abs() < 0.03,
            "{v} % at y {y}, the axis puts it at {want}"
        );
    }
    let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    assert!(texts.contains(&"val. acc."), "{texts:?}");

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("ablation.json")).unwrap()).unwrap();
    assert_eq!(json["y_right"]["series"], serde_json::json!([name]));
    assert!(json["caption"].to_string().contains("right-hand axis"));
}
