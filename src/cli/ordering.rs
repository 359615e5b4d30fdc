//! The Ordering lab's headless commands: `grokscope orderedness` (D of a weight matrix from a CSV file)
//! and `grokscope ordering` (a sparsity or grid study written to `study.csv`).

use super::write_atomic;
use crate::analysis::orderedness;
use crate::config::OrderingStudyConfig;
use crate::config::ordering::{OrderingTask, StudyKind, default_study};
use crate::experiment::ordering::sort_rows;
use crate::experiment::{EventSink, Unattended, ordering};
use crate::protocol::{
    Event, LabEvent, LayerSnapshot, OrderMethod, OrderingEvent, Outcome, StudyRow,
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

/// `grokscope ordering`: run the spec's study of a task, write `out/study.csv` (and the study's config as
/// `out/config.json`), print the mean D per setting. Returns the settings' statistics.
pub fn study_main(args: &StudyArgs, out: &Path, bar: bool) -> Result<Vec<SettingStats>> {
    let mut cfg = default_study(args.task, args.kind);
    cfg.runs = args.runs;
    cfg.threads = args.threads;
    if let Some(e) = args.epochs {
        cfg.base.epochs = e;
    }
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
