//! Figure export (`grokscope export`, `grokscope::export::render`): the files it writes, their
//! contents, and that nothing is written outside the chosen folder.

use grokscope::cli::export::{ExportArgs, export_main, folder_figures};
use grokscope::export::figure::{Axis, Figure, FigureSize};
use grokscope::export::render::{ExportOptions, FigureFormat, write_figure};
use grokscope::protocol::{GrokEvent, Metric, MetricRow};
use grokscope::store::run_dir::{RunEvent, metrics_csv};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A small run folder: metrics.csv with 40 rows (a log curve, accuracies rising, validation every
/// other step, one loss of 0 that a log axis cannot draw), and events.jsonl with a milestone. It has
/// no config.toml or run.json, so it also stands for a damaged folder that still exports.
fn run_folder(dir: &Path) -> Vec<MetricRow> {
    let rows: Vec<MetricRow> = (1..=40u64)
        .map(|s| {
            let mut values = vec![
                (Metric::TrainAcc, s as f64 / 40.0),
                (Metric::TrainAccEval, s as f64 / 40.0),
                (
                    Metric::TrainLoss,
                    if s == 20 { 0.0 } else { 4.0 / s as f64 },
                ),
                (Metric::WeightNorm, 100.0 - s as f64),
            ];
            if s % 2 == 0 {
                values.push((Metric::ValAcc, (s as f64 / 40.0).powi(3)));
                values.push((Metric::ValLoss, 5.0 / (s as f64).sqrt()));
            }
            MetricRow {
                step: s,
                epoch: s,
                values,
            }
        })
        .collect();
    std::fs::write(dir.join("metrics.csv"), metrics_csv(&rows)).unwrap();
    let ev = RunEvent::Detected {
        what: GrokEvent::Memorised,
        step: 30,
        epoch: 30,
        inherited: false,
    };
    std::fs::write(
        dir.join("events.jsonl"),
        format!("{}\n", serde_json::to_string(&ev).unwrap()),
    )
    .unwrap();
    rows
}

fn args(dir: &Path, figure: &str, format: FigureFormat, out: PathBuf) -> ExportArgs {
    ExportArgs {
        dir: dir.to_path_buf(),
        list: false,
        figure: Some(figure.to_string()),
        format: Some(format),
        dpi: None,
        width_in: None,
        height_in: None,
        out: Some(out),
        step: None,
        own_keys: false,
        ..Default::default()
    }
}

/// Every path under `dir`, relative to it.
fn listing(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            out.insert(p.strip_prefix(dir).unwrap().to_path_buf());
        }
    }
    out
}

#[test]
fn a_run_folder_lists_the_four_grokking_figures() {
    let tmp = tempfile::tempdir().unwrap();
    run_folder(tmp.path());
    let ff = folder_figures(tmp.path()).unwrap();
    let names: Vec<&str> = ff.figures.iter().map(|f| f.name.as_str()).collect();
    // the Grokking lab's four plots (export::labs::GROKKING_PLOTS)
    assert_eq!(names, ["accuracy", "loss", "weight_norm", "fourier"]);
    // no config.toml / run.json: named as problems, the figures still come
    assert!(
        ff.problems.iter().any(|p| p.contains("config.toml")),
        "{:?}",
        ff.problems
    );
}

#[test]
fn exported_svg_is_xml_with_the_legend_axes_and_marker_texts() {
    let tmp = tempfile::tempdir().unwrap();
    run_folder(tmp.path());
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    export_main(&args(
        tmp.path(),
        "accuracy",
        FigureFormat::Svg,
        out.join("acc.svg"),
    ))
    .unwrap();
    let svg = std::fs::read_to_string(out.join("acc.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("the SVG is valid XML");
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect();
    // legend entries (labs::series_name), axis labels (GROKKING_PLOTS[0]), the milestone's label
    for want in [
        "train (running, train mode)",
        "train (eval)",
        "validation",
        "step",
        "accuracy (%)",
        "memorised · step 30",
    ] {
        assert!(texts.contains(&want), "{want:?} not in {texts:?}");
    }
}

#[test]
fn exported_pdf_embeds_the_font_as_truetype() {
    let tmp = tempfile::tempdir().unwrap();
    run_folder(tmp.path());
    let file = tmp.path().join("loss.pdf");
    export_main(&args(tmp.path(), "loss", FigureFormat::Pdf, file.clone())).unwrap();
    let pdf = std::fs::read(&file).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let has = |needle: &[u8]| pdf.windows(needle.len()).any(|w| w == needle);
    // an embedded TrueType font program (FontFile2) of a CIDFontType2 font named after DejaVu Sans
    // (PDF 1.7, 9.9: FontFile2 holds TrueType; subset names are XXXXXX+Name)
    assert!(has(b"/FontFile2"), "no embedded TrueType font program");
    assert!(has(b"/CIDFontType2"));
    assert!(
        has(b"+DejaVuSans"),
        "the font is not the bundled DejaVu Sans"
    );
}

#[test]
fn png_at_300_dpi_has_inches_times_300_pixels() {
    let tmp = tempfile::tempdir().unwrap();
    run_folder(tmp.path());
    let file = tmp.path().join("acc.png");
    let mut a = args(tmp.path(), "accuracy", FigureFormat::Png, file.clone());
    a.dpi = Some(300.0);
    a.width_in = Some(4.0);
    a.height_in = Some(2.5);
    export_main(&a).unwrap();
    let img = image::open(&file).unwrap();
    // 4 in x 300 = 1200, 2.5 in x 300 = 750
    assert_eq!((img.width(), img.height()), (1200, 750));
    // and it says so (pHYs): 300 / 0.0254 m = 11 811.02 pixels per metre, rounded
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&file).unwrap()));
    let reader = decoder.read_info().unwrap();
    let dims = reader.info().pixel_dims.expect("a pHYs chunk");
    assert_eq!(
        (dims.xppu, dims.yppu, dims.unit),
        (11811, 11811, png::Unit::Meter)
    );
    // screen resolution: the default 3.5 x 2.8 in at 96 DPI = 336 x 268.8, rounded to 269
    let file96 = tmp.path().join("acc96.png");
    export_main(&args(
        tmp.path(),
        "accuracy",
        FigureFormat::Png,
        file96.clone(),
    ))
    .unwrap();
    let img = image::open(&file96).unwrap();
    assert_eq!((img.width(), img.height()), (336, 269));
}

#[test]
fn the_csv_beside_holds_exactly_the_plotted_points() {
    let tmp = tempfile::tempdir().unwrap();
    let rows = run_folder(tmp.path());
    let file = tmp.path().join("loss.svg");
    export_main(&args(tmp.path(), "loss", FigureFormat::Svg, file)).unwrap();
    let mut r = csv::Reader::from_path(tmp.path().join("loss.csv")).unwrap();
    let got: Vec<(String, f64, f64)> = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            (
                rec[0].to_string(),
                rec[1].parse().unwrap(),
                rec[2].parse().unwrap(),
            )
        })
        .collect();
    // expected from the rows themselves: train loss at every step but step 20 (a loss of 0 has no
    // place on the log axis), validation loss at even steps
    let mut want = vec![];
    for r in &rows {
        if let Some(v) = r.get(Metric::TrainLoss).filter(|v| *v > 0.0) {
            want.push(("train (running)".to_string(), r.step as f64, v));
        }
    }
    for r in &rows {
        if let Some(v) = r.get(Metric::ValLoss) {
            want.push(("validation".to_string(), r.step as f64, v));
        }
    }
    assert_eq!(got, want);
    assert_eq!(got.len(), 39 + 20);
}

#[test]
fn the_json_beside_names_the_figure_and_holds_the_config() {
    let tmp = tempfile::tempdir().unwrap();
    let mut fig = Figure::new("f", "T", Axis::linear("x"), Axis::linear("y"));
    // its words too: a value the CSV's points do not hold (a marker), and why one is missing (a note)
    fig.markers.push(grokscope::export::figure::Marker {
        x: 20635.7,
        label: "P* = 20636".into(),
        color: [0, 0, 0],
    });
    fig.notes.push("P*: none (no crossing)".into());
    let cfg = serde_json::json!({"lr": 0.001});
    let files = write_figure(
        &tmp.path().join("f.svg"),
        &fig,
        &ExportOptions {
            format: FigureFormat::Svg,
            size: FigureSize::default(),
            dpi: 96.0,
        },
        &cfg,
    )
    .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(files.json).unwrap()).unwrap();
    assert_eq!(v["figure"], "f");
    assert_eq!(v["config"], cfg);
    assert_eq!(v["format"], "svg");
    assert_eq!(v["notes"], serde_json::json!(["P*: none (no crossing)"]));
    assert_eq!(
        v["markers"],
        serde_json::json!([{"x": 20635.7, "label": "P* = 20636"}])
    );
}

#[test]
fn out_in_a_folder_that_does_not_exist_is_refused_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    run_folder(tmp.path());
    let before = listing(tmp.path());
    let e = export_main(&args(
        tmp.path(),
        "loss",
        FigureFormat::Svg,
        tmp.path().join("no/such/dir/loss.svg"),
    ))
    .unwrap_err();
    assert!(format!("{e:#}").contains("does not exist"), "{e:#}");
    assert_eq!(listing(tmp.path()), before);
}

#[test]
fn nothing_is_written_outside_the_chosen_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let chosen = tmp.path().join("figs");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::create_dir_all(&chosen).unwrap();
    run_folder(&run);
    // (run_folder writes no run.json: one like a real run's, to be kept)
    std::fs::write(run.join("run.json"), r#"{"format": "grokscope-run"}"#).unwrap();
    let before = listing(tmp.path());
    // a figure name with .. is no figure: refused, nothing written
    let e = export_main(&args(
        &run,
        "../accuracy",
        FigureFormat::Svg,
        chosen.join("x.svg"),
    ))
    .unwrap_err();
    assert!(e.to_string().contains("no figure"), "{e}");
    assert_eq!(listing(tmp.path()), before);
    // a sidecar name that would overwrite the figure: refused
    assert!(
        export_main(&args(
            &run,
            "loss",
            FigureFormat::Svg,
            chosen.join("loss.csv")
        ))
        .is_err()
    );
    assert_eq!(listing(tmp.path()), before);
    // a figure named after the run's own files would overwrite metrics.csv or run.json with its
    // sidecars: refused, and the run's files keep every byte
    let kept: Vec<Vec<u8>> = ["metrics.csv", "run.json"]
        .iter()
        .map(|n| std::fs::read(run.join(n)).unwrap())
        .collect();
    for (name, format) in [
        ("metrics.png", FigureFormat::Png),
        ("run.pdf", FigureFormat::Pdf),
    ] {
        let e = export_main(&args(&run, "loss", format, run.join(name))).unwrap_err();
        assert!(e.to_string().contains("already exists"), "{e}");
    }
    assert_eq!(listing(tmp.path()), before);
    for (n, bytes) in ["metrics.csv", "run.json"].iter().zip(kept) {
        assert_eq!(std::fs::read(run.join(n)).unwrap(), bytes, "{n} changed");
    }
    // every format: exactly the figure and its two sidecars appear, all in the chosen folder
    for f in FigureFormat::ALL {
        let out = chosen.join(format!("loss.{}", f.extension()));
        export_main(&args(&run, "loss", f, out)).unwrap();
    }
    // an earlier export is replaced ...
    export_main(&args(
        &run,
        "accuracy",
        FigureFormat::Svg,
        chosen.join("loss.svg"),
    ))
    .unwrap();
    // ... the user's own file at the figure's path is not (it was overwritten: a helper's audit), and
    // nothing is written beside it
    std::fs::write(chosen.join("paper.pdf"), "my precious figure").unwrap();
    let with_paper = listing(tmp.path());
    let e = export_main(&args(
        &run,
        "loss",
        FigureFormat::Pdf,
        chosen.join("paper.pdf"),
    ))
    .unwrap_err();
    assert!(e.to_string().contains("paper.pdf already exists"), "{e}");
    assert_eq!(
        std::fs::read_to_string(chosen.join("paper.pdf")).unwrap(),
        "my precious figure"
    );
    assert_eq!(listing(tmp.path()), with_paper);
    std::fs::remove_file(chosen.join("paper.pdf")).unwrap();
    let added: BTreeSet<PathBuf> = listing(tmp.path()).difference(&before).cloned().collect();
    let want: BTreeSet<PathBuf> = ["loss.png", "loss.svg", "loss.pdf", "loss.csv", "loss.json"]
        .iter()
        .map(|n| Path::new("figs").join(n))
        .collect();
    assert_eq!(added, want);
}

#[test]
fn a_folder_of_nothing_gets_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let e = folder_figures(tmp.path()).unwrap_err().to_string();
    assert!(
        e.contains("not a Grokking run folder") && e.contains("study.csv"),
        "{e}"
    );
}

#[test]
fn an_ordering_study_folder_draws_d_against_sparsity() {
    let tmp = tempfile::tempdir().unwrap();
    // study.csv as `grokscope ordering` writes it (cli::ordering::STUDY_COLUMNS), no config.json: the
    // kind is guessed (pruned rows: a sparsity study); one corrupt line is named and left out
    let text = "scheme,param,sparsity,hidden,its,seed,d,final_loss,method\n\
                none,0,0,8,1,0,0.7,0.01,exact\n\
                none,0,0,8,1,1,0.9,0.01,exact\n\
                top_k,0.5,0.5,8,1,0,0.8,0.02,exact\n\
                top_k,0.5,0.5,8,1,1,1,0.02,heuristic\n\
                bogus,x,0.5,8,1,1,1,0.02,exact\n\
                top_k,0.5,0.5,8,1,2,7.5,0.02,exact\n\
                top_k,0.5,0.5,8,1,3,NaN,0.02,exact\n\
                top_k,0.5,1.5,8,1,4,0.9,0.02,exact\n";
    std::fs::write(tmp.path().join("study.csv"), text).unwrap();
    let ff = folder_figures(tmp.path()).unwrap();
    assert_eq!(ff.figures.len(), 1);
    assert_eq!(ff.figures[0].name, "d_vs_sparsity");
    // and the rows whose numbers cannot be what they say (a D of 7.5 was plotted, a NaN dropped
    // from the mean without a word)
    for (line, says) in [
        (6, ""),
        (7, "d = 7.5 is not an orderedness"),
        (8, "d = NaN is not an orderedness"),
        (9, "sparsity = 1.5 is not a fraction"),
    ] {
        assert!(
            ff.problems
                .iter()
                .any(|p| p.contains(&format!("line {line}:")) && p.contains(says)),
            "line {line}: {:?}",
            ff.problems
        );
    }
    let topk = ff.figures[0]
        .series
        .iter()
        .find(|s| s.name == "top-k")
        .unwrap();
    // mean of 0.8 and 1 (by hand)
    assert_eq!(topk.points, vec![[0.5, 0.9]]);
}

/// A study.csv with no usable row draws nothing: refused, naming why (an empty one wrote an empty
/// figure and exited 0: a helper's audit, 2026-12-06).
#[test]
fn an_ordering_study_with_no_usable_row_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let header = "scheme,param,sparsity,hidden,its,seed,d,final_loss,method\n";
    for text in [
        header.to_string(),
        format!("{header}none,0,0,8,1,0,7,0.01,exact\n"),
    ] {
        std::fs::write(tmp.path().join("study.csv"), &text).unwrap();
        let e = format!("{:#}", folder_figures(tmp.path()).unwrap_err());
        assert!(e.contains("holds no usable row"), "{e}");
    }
}

/// A layer of 30 neurons (1 output) and 2 inputs: W is 30 x 32, entry i holds ±(i + 1) / 100 (signs
/// alternating), except entries 0..10, pruned (held at zero). 950 live edges, so the graph draws the
/// strongest 600: |w| from 3.61 to 9.60.
fn big_layer() -> grokscope::protocol::LayerSnapshot {
    let n = 30;
    let cells = n * (n + 2);
    let weights: Vec<f32> = (0..cells)
        .map(|i| match i {
            i if i < 10 => 0.0,
            i if i % 2 == 0 => (i + 1) as f32 / 100.0,
            i => -((i + 1) as f32) / 100.0,
        })
        .collect();
    grokscope::protocol::LayerSnapshot {
        step: 42,
        epoch: 42,
        inputs: 2,
        hidden: n - 1,
        outputs: 1,
        pruned: (0..cells).map(|i| i < 10).collect(),
        weights,
        order: (0..n).collect(),
        d: 0.5,
        method: grokscope::protocol::OrderMethod::Heuristic,
        sparsity: 10.0 / cells as f64,
    }
}

#[test]
fn the_heatmap_svg_has_a_cell_per_entry_and_a_labelled_colour_bar() {
    use grokscope::export::layer::heatmap_figure;
    let dir = tempfile::tempdir().unwrap();
    let fig = heatmap_figure(&big_layer(), true);
    let opts = ExportOptions {
        format: FigureFormat::Svg,
        size: FigureSize::default(),
        dpi: 96.0,
    };
    let files = write_figure(
        &dir.path().join("h.svg"),
        &fig,
        &opts,
        &serde_json::json!({}),
    )
    .unwrap();
    let svg = std::fs::read_to_string(&files.figure).unwrap();
    // 30 receivers x (30 senders + 2 inputs)
    assert_eq!(svg.matches(r#"class="cell""#).count(), 30 * 32);
    // the scale runs to the largest |w|, 960 / 100, labelled at both ends and the middle
    assert_eq!(svg.matches(r#"class="bar""#).count(), 48);
    for label in ["9.60", ">0<", "-9.60"] {
        let tag = r#"class="bar-label""#;
        assert!(
            svg.split(tag).skip(1).any(|t| t.contains(label)),
            "bar label {label} missing"
        );
    }
    // the CSV: exactly the drawn cells, the 10 pruned ones empty
    let mut r = csv::Reader::from_path(&files.csv).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(rows.len(), 30 * 32);
    assert_eq!(rows.iter().filter(|x| x[4].is_empty()).count(), 10);
    // PNG and PDF go through the same SVG
    for (name, format, magic) in [
        ("h.png", FigureFormat::Png, &b"\x89PNG"[..]),
        ("h.pdf", FigureFormat::Pdf, &b"%PDF-"[..]),
    ] {
        let o = ExportOptions { format, ..opts };
        let f = write_figure(&dir.path().join(name), &fig, &o, &serde_json::json!({})).unwrap();
        assert!(
            std::fs::read(&f.figure).unwrap().starts_with(magic),
            "{name}"
        );
    }
}

#[test]
fn the_graph_svg_draws_one_path_per_edge_and_marks_the_backward_ones() {
    use grokscope::export::layer::graph_figure;
    let dir = tempfile::tempdir().unwrap();
    let fig = graph_figure(&big_layer(), true);
    let opts = ExportOptions {
        format: FigureFormat::Svg,
        size: FigureSize {
            width_in: 7.0,
            height_in: 3.5,
        },
        dpi: 96.0,
    };
    let files = write_figure(
        &dir.path().join("g.svg"),
        &fig,
        &opts,
        &serde_json::json!({}),
    )
    .unwrap();
    let svg = std::fs::read_to_string(&files.figure).unwrap();
    // the strongest 600 of 950 live edges (grokscope::store::ordering_layout::MAX_EDGES)
    assert_eq!(svg.matches(r#"<path class="edge "#).count(), 600);
    let backward_paths = svg.matches(r#"class="edge backward""#).count();
    assert!(backward_paths > 0, "this layer has backward edges");
    assert_eq!(svg.matches(r#"class="halo""#).count(), backward_paths);
    assert_eq!(svg.matches(r#"class="node""#).count(), 32);
    assert!(svg.contains("The 600 strongest of 950 edges shown."));

    // the CSV: the 32 nodes left to right, then exactly the drawn edges
    let mut r = csv::Reader::from_path(&files.csv).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    let pos: std::collections::HashMap<String, f64> = rows
        .iter()
        .filter(|x| &x[0] == "node")
        .map(|x| (x[1].to_string(), x[5].parse().unwrap()))
        .collect();
    assert_eq!(pos.len(), 32);
    let edges: Vec<_> = rows.iter().filter(|x| &x[0] == "edge").collect();
    assert_eq!(edges.len(), 600);
    let mut backward = 0;
    for e in &edges {
        let w: f32 = e[3].parse().unwrap();
        // 3.61 is the 600th largest |w|
        assert!(w.abs() >= 3.61 - 1e-6, "{e:?}");
        // marked backward exactly when the sender sits right of the receiver
        let is_back = pos[&e[1]] > pos[&e[2]];
        assert_eq!(&e[4] == "true", is_back, "{e:?}");
        backward += usize::from(is_back);
    }
    assert_eq!(backward, backward_paths);
}

/// A run whose metrics.csv has no rows (cut to its header) has no loss curve to draw: refused with
/// nothing written (it wrote an empty frame and exited 0: a helper's audit, 2026-12-06).
#[test]
fn a_plot_with_no_data_is_refused_and_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    std::fs::create_dir(&run).unwrap();
    std::fs::write(run.join("metrics.csv"), "step,epoch,train_loss\n").unwrap();
    let out = tmp.path().join("loss.png");
    let e = format!(
        "{:#}",
        export_main(&args(&run, "loss", FigureFormat::Png, out.clone())).unwrap_err()
    );
    assert!(e.contains("has no data for the figure loss"), "{e}");
    assert!(!out.exists());
}

/// The first cell's (width, height) in a heatmap SVG.
fn first_cell(svg: &str) -> (f64, f64) {
    let tag = svg.split(r#"class="cell""#).nth(1).expect("a cell");
    let attr = |name: &str| -> f64 {
        let at = tag.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
        tag[at..].split('"').next().unwrap().parse().unwrap()
    };
    (attr("width"), attr("height"))
}

/// A heatmap of other things down and across (48 frequencies by 4 snapshots) fills the page with
/// stretched cells (at most 4:1), where square cells made a strip a tenth of the page wide (a helper's
/// audit, 2026-12-06); a matrix (a layer's weights) keeps square cells. Expected from the default
/// 3.5 x 2.8 in page: 4 columns have far more width than 48 rows have height.
#[test]
fn a_heatmap_stretches_its_cells_unless_it_is_a_matrix() {
    use grokscope::export::figure::{Body, HeatScale, HeatmapBody};
    use grokscope::export::svg::to_svg;
    let (rows, cols) = (48, 4);
    let body = HeatmapBody {
        row_labels: (1..=rows).map(|k| k.to_string()).collect(),
        col_labels: (0..cols).map(|c| (100 * c).to_string()).collect(),
        values: (0..rows * cols).map(|i| Some(i as f64 / 192.0)).collect(),
        texts: vec![],
        scale: HeatScale::Sequential { lo: 0.0, hi: 1.0 },
        csv_labels: ["k".into(), "step".into()],
        gap_before_col: None,
        diagonal: false,
        row_title: "frequency k".into(),
        col_title: "step".into(),
    };
    let fig = Figure::with_body("spectrum-history", "t", Body::Heatmap(body));
    let (w, h) = first_cell(&to_svg(&fig, FigureSize::default()));
    assert!(w > 1.5 * h && w <= 4.0 * h + 1e-6, "{w} x {h}");
    let matrix = grokscope::export::layer::heatmap_figure(&big_layer(), true);
    let (w, h) = first_cell(&to_svg(&matrix, FigureSize::default()));
    assert!((w - h).abs() < 1e-6, "{w} x {h}");
}

/// Marker labels stand above the plot, where no curve runs: inside it they ran down from the top
/// over the accuracy curves at 100 % (a researcher's audit). Expected: the milestone's label (the
/// folder's memorised event, step 30) has its baseline above the plot's frame, whose top is the
/// frame rectangle's y.
#[test]
fn marker_labels_stand_above_the_plot_clear_of_the_curves() {
    let dir = tempfile::tempdir().unwrap();
    let rows = run_folder(dir.path());
    assert!(!rows.is_empty());
    let ff = folder_figures(dir.path()).unwrap();
    let acc = ff
        .figures
        .iter()
        .find(|f| f.name == "accuracy")
        .expect("accuracy");
    let svg = grokscope::export::svg::to_svg(acc, FigureSize::default());
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let frame_top: f64 = doc
        .descendants()
        .find(|n| n.has_tag_name("rect") && n.attribute("stroke-width") == Some("0.7"))
        .and_then(|n| n.attribute("y")?.parse().ok())
        .expect("the plot's frame");
    let label = doc
        .descendants()
        .find(|n| n.has_tag_name("text") && n.text() == Some("memorised · step 30"))
        .expect("the milestone's label, drawn");
    let y: f64 = label.attribute("y").unwrap().parse().unwrap();
    assert!(y < frame_top, "label baseline {y}, plot top {frame_top}");
    assert!(
        label.attribute("transform").is_none(),
        "horizontal, not run up the line"
    );
}

/// A few Grokking runs of `small` configs (a + b mod 23, 6 epochs), seeds `seeds`, in `root`.
fn small_runs(root: &Path, seeds: &[u64]) -> Vec<PathBuf> {
    seeds
        .iter()
        .map(|&seed| {
            let mut c = grokscope::config::preset("fast-mlp").unwrap().config;
            c.op = grokscope::config::Operation::Add;
            c.p = 23;
            c.max_epochs = 6;
            c.early_stop = false;
            c.seed = seed;
            let dir = root.join(format!("seed-{seed}"));
            super::runs::fresh(&c, &dir, None, 3);
            dir
        })
        .collect()
}

fn compare_args(dirs: &[PathBuf], figure: &str, out: PathBuf) -> ExportArgs {
    ExportArgs {
        dir: dirs[0].clone(),
        also: dirs[1..].to_vec(),
        figure: Some(figure.into()),
        out: Some(out),
        ..Default::default()
    }
}

/// `grokscope export A B C --group-by-seed --band std` writes the comparison with its sidecars: the
/// CSV's mean and band are the three runs' mean and mean ± sample std at each step, worked out here
/// from their metrics.csv (validation accuracy in percent, as the axis).
#[test]
fn several_run_folders_export_their_comparison_grouped_by_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = small_runs(tmp.path(), &[0, 1, 2]);
    let out = tmp.path().join("acc.svg");
    let mut a = compare_args(&dirs, "compare_accuracy", out.clone());
    a.group_by_seed = true;
    a.band = Some(grokscope::export::compare::BandKind::Std);
    export_main(&a).unwrap();
    let rows: Vec<Vec<MetricRow>> = dirs
        .iter()
        .map(|d| grokscope::store::run_dir::RunFolder::open(d).unwrap().rows)
        .collect();
    let mut r = csv::Reader::from_path(tmp.path().join("acc.csv")).unwrap();
    let recs: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    let name = "mean of 3 (seeds 0, 1, 2): validation";
    let mean: Vec<&csv::StringRecord> = recs.iter().filter(|x| &x[0] == name).collect();
    let band: Vec<&csv::StringRecord> = recs
        .iter()
        .filter(|x| x[0].starts_with(name) && x[0].contains("standard deviation"))
        .collect();
    assert_eq!(mean.len(), rows[0].len());
    assert_eq!(band.len(), rows[0].len());
    for (i, row) in rows[0].iter().enumerate() {
        let v: Vec<f64> = rows
            .iter()
            .map(|rs| rs[i].get(Metric::ValAcc).unwrap() * 100.0)
            .collect();
        let m = v.iter().sum::<f64>() / 3.0;
        let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 2.0).sqrt();
        let num = |rec: &csv::StringRecord, k: usize| rec[k].parse::<f64>().unwrap();
        assert_eq!(num(mean[i], 1), row.step as f64);
        assert!((num(mean[i], 2) - m).abs() < 1e-9, "step {}", row.step);
        assert!((num(band[i], 3) - (m - sd)).abs() < 1e-9);
        assert!((num(band[i], 4) - (m + sd)).abs() < 1e-9);
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("acc.json")).unwrap())
            .unwrap();
    assert_eq!(json["config"].as_array().unwrap().len(), 3);
    assert_eq!(json["data"]["runs"][0]["runs"][2]["config"]["seed"], 2);
}

/// Two run folders with the same last name (runs/a/seed-1 and runs/b/seed-1) were both called
/// "seed-1" in a comparison (a researcher's audit): each is named by the shortest end of its path
/// that tells it apart, in the legend and the CSV alike, and a third whose name is its own keeps it.
/// Expected: the names by that rule ([`grokscope::store::files::distinct_folder_names`]).
#[test]
fn runs_with_the_same_folder_name_are_told_apart_in_a_comparison() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dirs = vec![];
    for (sub, seed) in [("a", 1), ("b", 1), ("b", 2)] {
        let root = tmp.path().join("runs").join(sub);
        std::fs::create_dir_all(&root).unwrap();
        dirs.extend(small_runs(&root, &[seed]));
    }
    let out = tmp.path().join("acc.svg");
    export_main(&compare_args(&dirs, "compare_accuracy", out.clone())).unwrap();
    let svg = std::fs::read_to_string(&out).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    for want in ["a/seed-1", "b/seed-1", "seed-2"] {
        assert!(texts.contains(&want), "{want} in {texts:?}");
    }
    let mut r = csv::Reader::from_path(tmp.path().join("acc.csv")).unwrap();
    let series: BTreeSet<String> = r.records().map(|x| x.unwrap()[0].to_string()).collect();
    for want in [
        "a/seed-1: validation",
        "b/seed-1: validation",
        "seed-2: validation",
    ] {
        assert!(series.contains(want), "{want} in {series:?}");
    }
}

/// What cannot be compared is refused, naming the folder and why, and nothing is written: another
/// lab's folder, the same run twice, a folder that is no run; a compare figure from one folder; an
/// `--out` whose sidecar would overwrite a run's own metrics.csv. The run folders are left as they
/// were (their files listed before and after).
#[test]
fn what_cannot_be_compared_is_refused_and_the_runs_are_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = small_runs(tmp.path(), &[0, 1]);
    let before: Vec<_> = dirs
        .iter()
        .map(|d| (listing(d), std::fs::read(d.join("metrics.csv")).unwrap()))
        .collect();
    let figs = tmp.path().join("figs");
    std::fs::create_dir(&figs).unwrap();
    let out = figs.join("acc.svg");
    let err = |a: &ExportArgs| format!("{:#}", export_main(a).unwrap_err());

    let sweep = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sweeps/cpu");
    let e = err(&compare_args(
        &[dirs[0].clone(), sweep.clone()],
        "compare_accuracy",
        out.clone(),
    ));
    assert!(
        e.contains(&sweep.display().to_string()) && e.contains("is a Capacity sweep folder"),
        "{e}"
    );
    let again = dirs[0].join(".");
    let e = err(&compare_args(
        &[dirs[0].clone(), again],
        "compare_accuracy",
        out.clone(),
    ));
    assert!(e.contains("are the same run folder"), "{e}");
    let e = err(&compare_args(
        &[dirs[0].clone(), figs.clone()],
        "compare_accuracy",
        out.clone(),
    ));
    assert!(e.contains("is not a Grokking run folder"), "{e}");
    let e = err(&compare_args(&dirs, "accuracy", out.clone()));
    assert!(e.contains("compare_accuracy, compare_loss"), "{e}");
    let e = err(&args(
        &dirs[0],
        "compare_loss",
        FigureFormat::Svg,
        out.clone(),
    ));
    assert!(e.contains("give two or more run folders"), "{e}");
    let mut one = args(&dirs[0], "loss", FigureFormat::Svg, out.clone());
    one.group_by_seed = true;
    assert!(err(&one).contains("--group-by-seed groups runs compared"));
    assert!(listing(&figs).is_empty(), "nothing written");
    // FILE.csv beside FILE.svg would be the run's metrics.csv: refused, the run's file kept
    let e = err(&compare_args(
        &dirs,
        "compare_loss",
        dirs[1].join("metrics.svg"),
    ));
    assert!(e.contains("metrics.csv"), "{e}");
    for (d, (files, metrics)) in dirs.iter().zip(&before) {
        assert_eq!(&listing(d), files);
        assert_eq!(&std::fs::read(d.join("metrics.csv")).unwrap(), metrics);
    }
}

/// `--list` marks a figure the folder has no data for: the bundled cpu sweep has no capacity runs, so
/// `memorised_bits` and `capacity` were listed and then refused (a helper's audit, 2026-12-06).
/// Expected: those two marked, the crossing not, and the mark's promise kept by the refusal.
#[test]
fn list_marks_the_figures_a_folder_has_no_data_for() {
    let bin = env!("CARGO_BIN_EXE_grokscope");
    let sweep = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sweeps/cpu");
    let out = std::process::Command::new(bin)
        .args(["export", sweep.to_str().unwrap(), "--list"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{name}\t")))
            .unwrap_or_else(|| panic!("{name} listed: {text}"))
            .to_string()
    };
    for empty in ["memorised_bits", "capacity"] {
        assert!(
            line(empty).ends_with("(no data in this folder: refused)"),
            "{text}"
        );
    }
    assert!(!line("crossing_p31").contains("no data"), "{text}");
    let tmp = tempfile::tempdir().unwrap();
    let refused = std::process::Command::new(bin)
        .args([
            "export",
            sweep.to_str().unwrap(),
            "--figure",
            "capacity",
            "--out",
        ])
        .arg(tmp.path().join("c.png"))
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

/// `--smoothing 0.9` smooths a run folder's line figures as the window's slider does: the CSV keeps
/// every raw value in `y` and adds `smoothed` (the first point's equal to its raw value, the debias;
/// the second the debiased average (0.9·y1 + y2) / 1.9, by hand from the definition), the JSON
/// sidecar's notes and data say so, and the milestone line is the raw run's (step 30). Out of range
/// it is refused and nothing is written.
#[test]
fn smoothing_keeps_raw_values_beside_the_smoothed_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let rows = run_folder(tmp.path());
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let file = out.join("acc.svg");
    let mut a = args(tmp.path(), "accuracy", FigureFormat::Svg, file.clone());
    a.smoothing = Some(0.9);
    export_main(&a).unwrap();
    let mut reader = csv::Reader::from_path(out.join("acc.csv")).unwrap();
    assert_eq!(
        reader.headers().unwrap(),
        vec!["series", "x", "y", "lower", "upper", "smoothed"]
    );
    let name = grokscope::export::labs::series_name(Metric::TrainAcc);
    let train: Vec<Vec<f64>> = reader
        .records()
        .map(|r| r.unwrap())
        .filter(|r| r[0] == name)
        .map(|r| {
            r.iter()
                .skip(1)
                .map(|v| v.parse().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    assert_eq!(train.len(), rows.len(), "every raw point is written");
    // train accuracy s/40 in percent: 2.5 at step 1, 5 at step 2
    assert_eq!((train[0][0], train[0][1], train[0][4]), (1.0, 2.5, 2.5));
    assert_eq!(train[1][1], 5.0);
    assert!(
        (train[1][4] - (0.9 * 2.5 + 5.0) / 1.9).abs() < 1e-9,
        "{:?}",
        train[1]
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("acc.json")).unwrap()).unwrap();
    assert_eq!(json["data"]["smoothing"], serde_json::json!(0.9));
    assert!(
        json["notes"].to_string().contains("Smoothing 0.90"),
        "{json}"
    );
    assert_eq!(json["markers"][0]["x"], serde_json::json!(30.0));
    let svg = std::fs::read_to_string(&file).unwrap();
    assert!(svg.contains(r#"class="raw""#) && svg.contains(r#"class="smoothed""#));

    let bad_out = tmp.path().join("bad");
    std::fs::create_dir(&bad_out).unwrap();
    let mut bad = args(
        tmp.path(),
        "accuracy",
        FigureFormat::Svg,
        bad_out.join("x.svg"),
    );
    bad.smoothing = Some(1.5);
    let err = export_main(&bad).unwrap_err().to_string();
    assert!(
        err.contains("--smoothing 1.5") && err.contains("0 to 0.99"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&bad_out).unwrap().count(), 0);
}
