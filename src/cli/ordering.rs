//! The Ordering lab's headless commands: `grokscope orderedness` (D of a weight matrix from a CSV file)
//! and `grokscope ordering` (a sparsity or grid study written to `study.csv`).

use super::write_atomic;
use crate::analysis::orderedness;
use crate::config::ordering::{OrderingTask, StudyKind, default_study, preset_of};
use crate::config::{OrderingConfig, OrderingStudyConfig, ValidOrderingConfig};
use crate::experiment::ordering::sort_rows;
use crate::experiment::{EventSink, Unattended, ordering};
use crate::protocol::{
    Event, LabEvent, LayerSnapshot, Metric, MetricRow, OrderMethod, OrderingEvent, Outcome,
    StudyRow,
};
use crate::store::ordering::{SettingStats, aggregate};
use crate::store::study_dir::{STUDY_CONFIG, STUDY_CSV};
use anyhow::{Context, Result, bail};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

/// `--task` of `grokscope ordering`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskArg {
    /// Sine regression (H = 8, 40 epochs).
    Sine,
    /// XOR (H = 5, 1000 epochs).
    Xor,
}

impl From<TaskArg> for OrderingTask {
    fn from(t: TaskArg) -> Self {
        match t {
            TaskArg::Sine => OrderingTask::Sine,
            TaskArg::Xor => OrderingTask::Xor,
        }
    }
}

/// `--study` of `grokscope ordering`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StudyArg {
    /// D against nominal sparsity (p, 1 - k or f) for the five pruning schemes plus the unpruned
    /// baseline.
    Sparsity,
    /// Mean D over H in {1, 3, 5, 7, 9} x its in 1..=10, unpruned.
    Grid,
}

impl From<StudyArg> for StudyKind {
    fn from(s: StudyArg) -> Self {
        match s {
            StudyArg::Sparsity => StudyKind::Sparsity,
            StudyArg::Grid => StudyKind::Grid,
        }
    }
}

/// D of the square matrix in CSV `text` (one row a line, comma separated, row = receiver, column =
/// sender), on |w|, as the JSON object `{"d", "order", "method", "n"}`.
pub fn orderedness_json(text: &str) -> Result<serde_json::Value> {
    let (a, n) = orderedness::parse_matrix_csv(text)?;
    matrix_json(&a, n)
}

/// [`orderedness_json`] of the parsed matrix `a` (`n` x `n`).
fn matrix_json(a: &[f64], n: usize) -> Result<serde_json::Value> {
    let abs: Vec<f64> = a.iter().map(|v| v.abs()).collect();
    let o = orderedness::orderedness(&abs, n)?;
    let method = match o.method {
        orderedness::Method::Exact => OrderMethod::Exact,
        orderedness::Method::Heuristic => OrderMethod::Heuristic,
    };
    Ok(serde_json::json!({
        "d": o.d,
        "order": o.order,
        "method": method.to_string(),
        "n": n,
    }))
}

/// `--figure` of `grokscope orderedness`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerFigureArg {
    /// The weight matrix permuted by the best order.
    Heatmap,
    /// The neurons on a line in the best order, edges as arcs (backward ones below).
    Graph,
}

/// The layer of a square weight matrix (no inputs, no outputs: n neurons named h0..) in the best
/// order `json` (from [`orderedness_json`]) reports, as the Ordering lab's figures take it.
pub fn matrix_snapshot(a: &[f64], n: usize, json: &serde_json::Value) -> Result<LayerSnapshot> {
    let order: Vec<usize> = serde_json::from_value(json["order"].clone())
        .context("the order of the orderedness result")?;
    let method = match json["method"].as_str() {
        Some("exact") => OrderMethod::Exact,
        Some(_) | None => OrderMethod::Heuristic,
    };
    let weights: Vec<f32> = a.iter().map(|&v| v as f32).collect();
    let zeros = weights.iter().filter(|w| **w == 0.0).count();
    let s = LayerSnapshot {
        step: 0,
        epoch: 0,
        inputs: 0,
        hidden: n,
        outputs: 0,
        pruned: vec![false; weights.len()],
        sparsity: zeros as f64 / weights.len().max(1) as f64,
        weights,
        order,
        d: json["d"].as_f64().unwrap_or(f64::NAN),
        method,
    };
    crate::store::ordering::check_snapshot(&s).map_err(|e| anyhow::anyhow!(e))?;
    Ok(s)
}

/// `grokscope orderedness --weights FILE`: prints the JSON object on one line; with `figure`, also
/// draws the matrix's heatmap or graph in its best order to `out` (with CSV and JSON sidecars).
pub fn orderedness_main(
    weights: &Path,
    figure: Option<(LayerFigureArg, &Path, super::export::FigureChoice)>,
) -> Result<()> {
    let text = std::fs::read_to_string(weights)
        .with_context(|| format!("reading {}", weights.display()))?;
    let (a, n) = orderedness::parse_matrix_csv(&text)
        .with_context(|| format!("in {}", weights.display()))?;
    // a figure too large to draw is refused before D is computed (seconds to minutes for large n)
    let max = crate::store::ordering::MAX_NEURONS;
    if figure.is_some() && n > max {
        bail!(
            "{} holds a {n} x {n} matrix; a figure draws at most {max} x {max}, so nothing was computed",
            weights.display()
        );
    }
    // and so is a figure that could not be written (its format, size, DPI, folder)
    if let Some((_, out, choice)) = &figure {
        super::export::figure_options(out, choice)?;
    }
    let json = matrix_json(&a, n).with_context(|| format!("in {}", weights.display()))?;
    if a.iter().all(|v| *v == 0.0) {
        eprintln!(
            "warning: every weight in {} is 0: nothing flows, so D = 1 by convention, which says \
             nothing about an order",
            weights.display()
        );
    }
    outln!("{json}")?;
    if let Some((kind, out, choice)) = figure {
        let s = matrix_snapshot(&a, n, &json)?;
        let mut fig = match kind {
            LayerFigureArg::Heatmap => crate::export::layer::heatmap_figure(&s, false),
            LayerFigureArg::Graph => crate::export::layer::graph_figure(&s, false),
        };
        // a matrix file has no steps: name the file instead
        let file = weights
            .file_name()
            .map_or(String::new(), |f| f.to_string_lossy().into_owned());
        fig.title = match kind {
            LayerFigureArg::Heatmap => format!("Permuted weight matrix of {file}"),
            LayerFigureArg::Graph => format!("Neuron ordering of {file}"),
        };
        // nor a step in the sidecar's data
        fig.data.remove("step");
        fig.data.remove("epoch");
        let config = serde_json::json!({
            "weights": weights.display().to_string(),
            "orderedness": json,
        });
        super::export::write_one(&fig, out, &choice, &config)?;
    }
    Ok(())
}

/// Collects a study's rows and shows its progress.
struct StudySink {
    rows: Vec<StudyRow>,
    bar: Option<indicatif::ProgressBar>,
    last_line: Instant,
    outcome: Option<Outcome>,
}

impl EventSink for StudySink {
    fn emit(&mut self, ev: Event) {
        match ev {
            Event::Lab {
                payload: LabEvent::Ordering(OrderingEvent::StudyPoint { row, done, total }),
                ..
            } => {
                match &self.bar {
                    Some(bar) => {
                        bar.set_length(total as u64);
                        bar.set_position(done as u64);
                    }
                    None => {
                        if done == total || self.last_line.elapsed() >= Duration::from_secs(2) {
                            eprintln!("{done}/{total} runs");
                            self.last_line = Instant::now();
                        }
                    }
                }
                self.rows.push(*row);
            }
            Event::Finished { outcome, .. } => self.outcome = Some(outcome),
            Event::Refused { message } | Event::Note { message, .. } => eprintln!("{message}"),
            Event::Started { .. }
            | Event::Metrics { .. }
            | Event::Progress { .. }
            | Event::Saved { .. }
            | Event::Changed { .. }
            | Event::Paused { .. }
            | Event::Lab { .. } => {}
        }
    }
}

/// A number as the CSV writes it: rounded to 12 decimals so that 1 - 0.7 shows as 0.3.
fn tidy(v: f64) -> String {
    let r = (v * 1e12).round() / 1e12;
    format!("{r}")
}

/// Header of `study.csv`.
pub const STUDY_COLUMNS: [&str; 10] = [
    "scheme",
    "param",
    "nominal_sparsity",
    "hidden",
    "its",
    "seed",
    "d",
    "final_loss",
    "method",
    "d_shuffled",
];

/// The rows as `study.csv` text, in setting order.
pub fn study_csv(rows: &[StudyRow]) -> Result<String> {
    let mut rows = rows.to_vec();
    sort_rows(&mut rows);
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record(STUDY_COLUMNS)?;
    for r in &rows {
        w.write_record([
            r.scheme.key().to_string(),
            tidy(r.param),
            tidy(r.sparsity),
            r.hidden.to_string(),
            r.its.to_string(),
            r.seed.to_string(),
            r.d.to_string(),
            r.final_loss.to_string(),
            r.method.to_string(),
            r.d_null.map_or_else(String::new, |v| v.to_string()),
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// The mean D of each setting as a text table: per scheme and nominal sparsity, or H x its for the
/// grid.
pub fn summary_table(kind: StudyKind, stats: &[SettingStats]) -> String {
    let mut s = String::new();
    match kind {
        StudyKind::Sparsity => {
            let _ = writeln!(
                s,
                "{:<18} {:>16} {:>4} {:>7} {:>7} {:>7} {:>10} {:>10}",
                "scheme",
                "nominal sparsity",
                "runs",
                "mean D",
                "min D",
                "max D",
                "mean loss",
                "shuffled D"
            );
            for st in stats {
                let _ = writeln!(
                    s,
                    "{:<18} {:>16} {:>4} {:>7.4} {:>7.4} {:>7.4} {:>10.5} {:>10}",
                    st.setting.scheme.to_string(),
                    tidy(st.setting.sparsity),
                    st.runs,
                    st.mean,
                    st.min,
                    st.max,
                    st.mean_loss,
                    st.null_mean
                        .map_or_else(|| "-".to_string(), |m| format!("{m:.4}"))
                );
            }
            let _ = writeln!(
                s,
                "shuffled D: the mean D of the same final weights placed at random (what the \
                 sparsity alone gives); pruning orders a layer where its D rises above this"
            );
        }
        StudyKind::Grid => {
            let mut its: Vec<usize> = stats.iter().map(|st| st.setting.its).collect();
            its.sort_unstable();
            its.dedup();
            let mut hidden: Vec<usize> = stats.iter().map(|st| st.setting.hidden).collect();
            hidden.sort_unstable();
            hidden.dedup();
            let _ = write!(s, "mean D   its:");
            for i in &its {
                let _ = write!(s, " {i:>6}");
            }
            s.push('\n');
            for h in &hidden {
                let _ = write!(s, "H = {h:<9}");
                for i in &its {
                    match stats
                        .iter()
                        .find(|st| st.setting.hidden == *h && st.setting.its == *i)
                    {
                        Some(st) => {
                            let _ = write!(s, " {:>6.3}", st.mean);
                        }
                        None => s.push_str("      -"),
                    }
                }
                s.push('\n');
            }
        }
    }
    s
}

/// Options of `grokscope ordering`.
#[derive(Clone, Debug)]
pub struct StudyArgs {
    pub task: OrderingTask,
    pub kind: StudyKind,
    pub runs: usize,
    pub threads: usize,
    /// Overrides the task's epochs (quick checks).
    pub epochs: Option<u64>,
}

/// Changes `grokscope ordering --config FILE` makes to the file's study (each flag given).
#[derive(Clone, Debug, Default)]
pub struct StudyChanges {
    pub runs: Option<usize>,
    pub threads: Option<usize>,
    pub epochs: Option<u64>,
}

/// `grokscope ordering`: run the spec's study of a task, write `out/study.csv` (and the study's config as
/// `out/config.json`), print the mean D per setting. Returns the settings' statistics.
pub fn study_main(args: &StudyArgs, out: &Path, bar: bool) -> Result<Vec<SettingStats>> {
    let mut cfg = default_study(args.task, args.kind);
    cfg.runs = args.runs;
    cfg.threads = args.threads;
    if let Some(e) = args.epochs {
        cfg.base.epochs = e;
    }
    study_config_main(cfg, out, bar)
}

/// `grokscope ordering --config FILE`: the study in the TOML file `path`, with `changes`, as
/// [`study_main`] runs the spec's.
pub fn study_file_main(
    path: &Path,
    changes: &StudyChanges,
    out: &Path,
    bar: bool,
) -> Result<Vec<SettingStats>> {
    let mut cfg = OrderingStudyConfig::from(read_ordering(
        path,
        OrderingStudyConfig::from_toml,
        |text| OrderingConfig::from_toml(text).is_ok(),
        "an Ordering run config: train it with `grokscope ordering-run --config",
    )?);
    if let Some(r) = changes.runs {
        cfg.runs = r;
    }
    if let Some(t) = changes.threads {
        cfg.threads = t;
    }
    if let Some(e) = changes.epochs {
        cfg.base.epochs = e;
    }
    study_config_main(cfg, out, bar)
}

/// The Ordering config in the TOML file `path`, parsed by `parse`; a file that is the other kind of
/// Ordering config (`is_other`) is said to be one, `use_it` ending the sentence with the command that
/// takes it (`{use_it} FILE --out DIR`).
fn read_ordering<T>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, crate::config::ConfigParseError>,
    is_other: impl FnOnce(&str) -> bool,
    use_it: &str,
) -> Result<T> {
    super::read_config(path, parse).map_err(|e| {
        // a whole file, read again only to say what it is: a file that cannot be read gets no hint
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if is_other(&text) {
            let name = path.display();
            e.context(format!("{name} is {use_it} {name} --out DIR`"))
        } else {
            e
        }
    })
}

/// Run the study `cfg` into `out` (refusing a folder of another study, untouched): `study.csv`,
/// `config.json`, the mean D per setting printed.
fn study_config_main(cfg: OrderingStudyConfig, out: &Path, bar: bool) -> Result<Vec<SettingStats>> {
    let cfg = crate::config::ValidOrderingStudyConfig::try_from(cfg)?;
    let same_threads = |c: &OrderingStudyConfig| OrderingStudyConfig {
        threads: 0,
        ..c.clone()
    };
    let own = |name: &str| name == STUDY_CONFIG || name == STUDY_CSV;
    super::refuse_other_config(
        &out.join(STUDY_CONFIG),
        "an Ordering study",
        "",
        own,
        |old| {
            let old: OrderingStudyConfig = serde_json::from_str(old).map_err(|e| e.to_string())?;
            Ok(crate::config::differences(
                &same_threads(&old),
                &same_threads(&cfg),
            ))
        },
    )?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    write_atomic(
        &out.join(STUDY_CONFIG),
        serde_json::to_string_pretty(&cfg)?.as_bytes(),
    )?;
    let total = cfg.total_runs();
    let threads = ordering::study_threads(cfg.threads, total);
    eprintln!(
        "{} {:?} study: {total} runs on {threads} threads",
        cfg.base.task, cfg.kind
    );
    let bar = bar.then(|| {
        let b = indicatif::ProgressBar::new(total as u64);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} runs")
        {
            b.set_style(style.progress_chars("=> "));
        }
        b
    });
    let mut sink = StudySink {
        rows: vec![],
        bar,
        last_line: Instant::now(),
        outcome: None,
    };
    let t0 = Instant::now();
    let kind = cfg.kind;
    ordering::run(&ordering::Start::Study(cfg), 1, &mut sink, &mut Unattended);
    if let Some(b) = &sink.bar {
        b.finish_and_clear();
    }
    write_atomic(&out.join(STUDY_CSV), study_csv(&sink.rows)?.as_bytes())?;
    match sink.outcome {
        Some(Outcome::Completed) => {}
        Some(Outcome::Stopped) => bail!("the study was stopped"),
        Some(Outcome::Failed { message }) => bail!("the study failed: {message}"),
        None => bail!("the study ended without a result"),
    }
    let stats = aggregate(&sink.rows);
    out!("{}", summary_table(kind, &stats))?;
    eprintln!(
        "{total} runs in {:.1}s; wrote {}",
        t0.elapsed().as_secs_f64(),
        out.join(STUDY_CSV).display()
    );
    Ok(stats)
}

/// Where `grokscope ordering-run` takes its run from.
#[derive(Clone, Debug)]
pub enum RunSource {
    /// The built-in run of a task, the window's preset ([`preset_of`]).
    Task(OrderingTask),
    /// A TOML run config.
    File(std::path::PathBuf),
}

/// Files of an Ordering run folder.
pub const RUN_CONFIG: &str = "config.toml";
pub const RUN_METRICS: &str = "metrics.csv";
pub const RUN_WEIGHTS: &str = "weights.csv";
pub const RUN_SUMMARY: &str = "summary.json";

/// Whether `dir` is an Ordering run's folder: its `config.toml` is an Ordering run config (read as
/// written, in range or not).
pub fn is_run_folder(dir: &Path) -> bool {
    crate::store::files::read_text_bounded(&dir.join(RUN_CONFIG), 1 << 20)
        .is_ok_and(|text| toml::from_str::<OrderingConfig>(&text).is_ok())
}

/// The metrics of `metrics.csv` after `step,epoch`, by their [`Metric::key`]s; a `method` column
/// follows them.
const RUN_METRIC_COLUMNS: [Metric; 4] = [
    Metric::Mse,
    Metric::Sparsity,
    Metric::Orderedness,
    Metric::OrderednessNull,
];

/// An Ordering run's `metrics.csv`: `step,epoch,mse,measured_sparsity,d,d_shuffled,method`, one row
/// per row the run logged; a value the row lacks is an empty field, and `method` (how D was found
/// for the layer's `n` neurons) is given where D is.
pub fn run_metrics_csv(rows: &[MetricRow], n: usize) -> String {
    let mut out = String::from("step,epoch");
    for m in RUN_METRIC_COLUMNS {
        out.push(',');
        out.push_str(m.key());
    }
    out.push_str(",method\n");
    let method = orderedness::method_for(n);
    for r in rows {
        let _ = write!(out, "{},{}", r.step, r.epoch);
        for m in RUN_METRIC_COLUMNS {
            out.push(',');
            if let Some(v) = r.get(m) {
                // the shortest text that reads back as the same f64
                let _ = write!(out, "{v}");
            }
        }
        out.push(',');
        if r.get(Metric::Orderedness).is_some() {
            let _ = write!(out, "{method}");
        }
        out.push('\n');
    }
    out
}

/// The square block `W[:, :n]` of the row-major `weights` (`cols` columns a row) as the CSV `grokscope
/// orderedness --weights` reads: one row a line, row = receiver, column = sender, signs kept. Each
/// f32 weight is written as the f64 it widens to, in the shortest text that reads back as that f64,
/// so the file holds exactly the numbers D was computed from.
pub fn square_block_csv(weights: &[f32], n: usize, cols: usize) -> String {
    let mut out = String::new();
    for row in weights.chunks_exact(cols.max(1)).take(n) {
        let line: Vec<String> = row[..n.min(row.len())]
            .iter()
            .map(|w| f64::from(*w).to_string())
            .collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// The fields of the JSON object `more` added to the object `into`.
fn merge(into: &mut serde_json::Value, more: serde_json::Value) {
    if let (Some(into), serde_json::Value::Object(more)) = (into.as_object_mut(), more) {
        into.extend(more);
    }
}

/// Keeps an Ordering run's metric rows and shows its progress on stderr.
struct RunSink {
    rows: Vec<MetricRow>,
    epochs: u64,
    last_line: Instant,
}

impl EventSink for RunSink {
    fn emit(&mut self, ev: Event) {
        match ev {
            Event::Metrics { rows, .. } => {
                if let Some(r) = rows.last()
                    && self.last_line.elapsed() >= Duration::from_secs(2)
                {
                    let d = r
                        .get(Metric::Orderedness)
                        .map_or_else(String::new, |d| format!(" D {d:.4}"));
                    eprintln!(
                        "epoch {}/{} step {} MSE {:.5}{d}",
                        r.epoch,
                        self.epochs,
                        r.step,
                        r.get(Metric::Mse).unwrap_or(f64::NAN)
                    );
                    self.last_line = Instant::now();
                }
                self.rows.extend(rows);
            }
            Event::Refused { message } | Event::Note { message, .. } => {
                eprintln!("warning: {message}")
            }
            Event::Started { .. }
            | Event::Progress { .. }
            | Event::Saved { .. }
            | Event::Changed { .. }
            | Event::Paused { .. }
            | Event::Lab { .. }
            | Event::Finished { .. } => {}
        }
    }
}

/// `grokscope ordering-run`: train the run of `source` with the `--set` changes `set`, then write the
/// new folder `out` (refused, untouched, unless new or empty): config.toml, metrics.csv, weights.csv
/// and summary.json. Fails when the run failed (its folder then holds no weights.csv).
pub fn run_main(source: &RunSource, set: &[String], out: &Path) -> Result<std::process::ExitCode> {
    let cfg = match source {
        RunSource::Task(task) => preset_of(*task),
        RunSource::File(path) => OrderingConfig::from(read_ordering(
            path,
            OrderingConfig::from_toml,
            |text| OrderingStudyConfig::from_toml(text).is_ok(),
            "an Ordering study config: run it with `grokscope ordering --config",
        )?),
    };
    let mut value = toml::Value::try_from(&cfg)?;
    for kv in set {
        super::run::apply_set::<OrderingConfig>(&mut value, kv, "epochs=200")?;
    }
    let cfg: OrderingConfig = value.try_into().context("the changed config")?;
    let cfg = ValidOrderingConfig::try_from(cfg)?;
    // refused before training, and again when written (whole or not at all)
    crate::store::run_dir::refuse_unless_empty(out)?;
    let mut sink = RunSink {
        rows: vec![],
        epochs: cfg.epochs,
        last_line: Instant::now(),
    };
    let (outcome, mut trainer) = ordering::run_one(&cfg, 1, &mut sink, &mut Unattended);
    let dims = trainer.layer().dims;
    let n = dims.neurons();
    let mut summary = serde_json::json!({
        "lab": "ordering",
        "task": cfg.task,
        "inputs": dims.inputs,
        "hidden": dims.hidden,
        "outputs": dims.outputs,
        "neurons": n,
        "epochs": trainer.epochs(),
        "steps": trainer.steps(),
        "param_count": trainer.param_count(),
    });
    let mut files = vec![(RUN_CONFIG, cfg.to_toml().into_bytes())];
    files.push((RUN_METRICS, run_metrics_csv(&sink.rows, n).into_bytes()));
    let measured = match &outcome {
        Outcome::Completed | Outcome::Stopped => Some(trainer.measure()?),
        Outcome::Failed { .. } => None,
    };
    if let Some(m) = &measured {
        let final_mse = trainer.full_mse();
        let extra = serde_json::json!({
            "final_mse": final_mse,
            "d": m.d,
            "d_shuffled": m.null,
            "order": m.order,
            "method": m.method,
            "measured_sparsity": trainer.sparsity(),
        });
        merge(&mut summary, extra);
        let w = square_block_csv(&trainer.layer().w, n, dims.cols());
        files.push((RUN_WEIGHTS, w.into_bytes()));
    }
    merge(&mut summary, serde_json::to_value(&outcome)?);
    let text = serde_json::to_string_pretty(&summary)? + "\n";
    files.push((RUN_SUMMARY, text.into_bytes()));
    let named: Vec<(&str, &[u8])> = files.iter().map(|(f, b)| (*f, b.as_slice())).collect();
    crate::store::run_dir::create_folder_of(out, "ordering-run", &named)
        .with_context(|| format!("writing {}; nothing was written", out.display()))?;
    let Some(m) = measured else {
        let why = match &outcome {
            Outcome::Failed { message } => message.as_str(),
            // measured above
            Outcome::Completed | Outcome::Stopped => "it ended without a measurement",
        };
        eprintln!(
            "the run failed: {why}; what it logged is in {} (no {RUN_WEIGHTS})",
            out.display()
        );
        return Ok(std::process::ExitCode::FAILURE);
    };
    let null = m
        .null
        .map_or_else(String::new, |v| format!("; weights shuffled {v:.4}"));
    eprintln!(
        "{} epochs ({} steps); final MSE {:.6}, D {:.4} ({}{null}), measured sparsity {:.3}; wrote {}",
        trainer.epochs(),
        trainer.steps(),
        summary["final_mse"].as_f64().unwrap_or(f64::NAN),
        m.d,
        m.method,
        trainer.sparsity(),
        out.display()
    );
    Ok(std::process::ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ordering::Scheme;

    #[test]
    fn json_for_a_dag() {
        // 1 <- 0 with weight -2 (|w| = 2) and a self-loop on 0: a DAG up to self-loops, D = 1
        let j = orderedness_json("0.5, 0\n-2, 0\n").unwrap();
        assert_eq!(j["d"], 1.0);
        assert_eq!(j["order"], serde_json::json!([0, 1]));
        assert_eq!(j["method"], "exact");
        assert_eq!(j["n"], 2);
    }

    #[test]
    fn csv_rows_are_sorted_and_tidy() {
        let r = |scheme, k: f64, s: f64, seed| StudyRow {
            scheme,
            param: k,
            sparsity: s,
            hidden: 8,
            its: 3,
            seed,
            d: 0.75,
            method: OrderMethod::Exact,
            final_loss: 0.01,
            d_null: None,
        };
        let text = study_csv(&[
            r(Scheme::TopK, 1.0 - 0.7, 0.7, 1),
            r(Scheme::None, 0.0, 0.0, 0),
            r(Scheme::TopK, 1.0 - 0.7, 0.7, 0),
        ])
        .unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "scheme,param,nominal_sparsity,hidden,its,seed,d,final_loss,method,d_shuffled"
        );
        // no null: an empty last field
        assert_eq!(lines[1], "none,0,0,8,3,0,0.75,0.01,exact,");
        assert_eq!(lines[2], "top_k,0.3,0.7,8,3,0,0.75,0.01,exact,");
        assert_eq!(lines[3], "top_k,0.3,0.7,8,3,1,0.75,0.01,exact,");
    }
}
