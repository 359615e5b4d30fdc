//! The Capacity lab's headless commands: `grokscope sweep` (one result file per task, resumable and
//! shardable), `grokscope merge` (the results as `sweep.csv`) and `grokscope analyse` (capacity, onset and
//! the memorisation-speed fit as one JSON object).
//!
//! A sweep folder holds `sweep.toml` (the config, written by `sweep`) and one `task-p{p}-w{w}-s{seed}.json`
//! per finished task, each written atomically. A task whose file parses, names the task and carries the
//! config's key is done and skipped; a missing, half-written, corrupt or stale one is (re)done.
//!
//! Sharding as [`super::study`] says (`--shard I/N`, or an array index from the environment). When all
//! shards are done, run `merge` and `analyse` on the folder.

use super::study::{self, ResultFiles, ResultFormat};
use super::{refuse_other_config, write_atomic};
use crate::analysis::capacity_study::{CChoice, GivenC, TaskResult, analysis_json, capacity_of};
use crate::config::capacity::{Task, sweep_preset, sweep_presets, tasks};
use crate::config::{CapacitySweepConfig, ValidCapacitySweepConfig};
use crate::experiment::{Unattended, capacity};
use crate::protocol::{CapacityEvent, CapacityRuns, LabEvent, Outcome};
use crate::store::sweep_dir::{
    CAPACITY_CSV_FILE, CONFIG_FILE, CSV_FILE, Collected, begin_folder, capacity_csv,
    collect_results, is_sweep_file, load_result, sweep_csv, write_result,
};
use anyhow::{Context, Result, bail};
use std::path::Path;

/// What one `grokscope sweep` did.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepReport {
    /// Tasks of this shard (or of the whole sweep).
    pub tasks: usize,
    /// Tasks already done, skipped.
    pub skipped: usize,
    /// Tasks run and written now.
    pub written: usize,
    pub outcome: Outcome,
}

/// An epoch count with its unit, or "never within N epochs" (N: the epochs the run trained, its cap).
fn epochs(v: Option<u64>, trained: u64) -> String {
    v.map_or_else(
        || format!("never within {trained} epochs"),
        |e| format!("{e} epochs"),
    )
}

/// One finished task as `sweep` reports it, every number with its unit: "task-p23-w32-s0: P = 12345,
/// T_mem 183 epochs, T_gen never within 1000 epochs, delay ≥ 798 epochs (never generalised), 7.0 s".
fn describe(result: &TaskResult) -> String {
    let delay = match result.delay {
        Some(d) if result.delay_is_lower_bound() => format!("≥ {d} epochs (never generalised)"),
        Some(d) => format!("{d} epochs"),
        None => format!(
            "none (neither learned the task nor generalised within {} epochs)",
            result.gen_epochs
        ),
    };
    // the most bits its capacity runs memorised (C is the fit over every task's, from `analyse`)
    let bits = result
        .capacity
        .iter()
        .max_by(|a, b| a.bits.total_cmp(&b.bits))
        .map_or(String::new(), |c| {
            format!(
                ", most bits memorised {:.1} (n = {}; {} of capacity runs)",
                c.bits,
                c.n,
                super::count(result.capacity.len(), "set")
            )
        });
    format!(
        "{}: P = {}, T_mem {}, T_gen {}, delay {delay}{bits}, {:.1} s",
        result.task().name(),
        result.params,
        epochs(result.t_mem, result.mem_epochs),
        epochs(result.t_gen, result.gen_epochs),
        result.wall_secs
    )
}

/// A sweep's result files: `SweepResult` events, `task-p{p}-w{w}-s{seed}.json`.
fn result_format() -> ResultFormat<TaskResult> {
    ResultFormat {
        take: |payload| match payload {
            LabEvent::Capacity(CapacityEvent::SweepResult { result, .. }) => Some(*result),
            // the window draws the tasks in flight; a headless sweep writes finished tasks only
            LabEvent::Capacity(
                CapacityEvent::TaskProgress { .. } | CapacityEvent::CapacityRun(_),
            )
            | LabEvent::Grokking(_)
            | LabEvent::Ordering(_) => None,
        },
        write: |dir, result| Ok(write_result(dir, result)?),
        describe,
        progress: capacity_progress,
    }
}

/// A line for a task's capacity runs as they begin and as each set ends (they can take most of a
/// task's time, a minute and more, with nothing else said): "task-p23-w4-s0: capacity runs begin: 5
/// random-label sets, at most 2000 epochs each", then "task-p23-w4-s0: capacity set 2/5: n = 400,
/// 580.3 bits memorised (the loss saturated after 312 epochs)". `None` for other events.
pub fn capacity_progress(payload: &LabEvent) -> Option<String> {
    let LabEvent::Capacity(CapacityEvent::CapacityRun(CapacityRuns {
        task,
        set,
        sets,
        max_epochs,
        finished,
        ..
    })) = payload
    else {
        return None;
    };
    let name = task.name();
    match finished.get(*set) {
        None if *set == 0 && finished.is_empty() => Some(format!(
            "{name}: capacity runs begin: {}, at most {max_epochs} epochs each",
            super::count(*sets, "random-label set")
        )),
        None => None,
        Some(point) => {
            let ended = if point.saturated {
                format!("the loss saturated after {} epochs", point.epochs)
            } else {
                format!("the {}-epoch cap ended it", point.epochs)
            };
            Some(format!(
                "{name}: capacity set {}/{sets}: n = {}, {:.1} bits memorised ({ended})",
                set + 1,
                point.n,
                point.bits
            ))
        }
    }
}

/// Run the tasks of `cfg` (or of one shard) that `out` still lacks, writing `out/sweep.toml` and one
/// result file per task as each finishes. Says on stderr which stored files it redoes and why.
pub fn sweep_main(
    cfg: &ValidCapacitySweepConfig,
    out: &Path,
    shard_of: Option<(usize, usize)>,
    bar: bool,
) -> Result<SweepReport> {
    let config_path = out.join(CONFIG_FILE);
    // a folder of another sweep is never overwritten (as `run` refuses a folder holding a run)
    let same_threads = |c: &CapacitySweepConfig| CapacitySweepConfig {
        threads: 0,
        ..c.clone()
    };
    // (task files alone, copied from a cluster's nodes, are a sweep's to finish)
    let own = |name: &str| is_sweep_file(name) || name == crate::store::files::SET_ASIDE;
    // an unreadable sweep.toml (emptied, cut short) blocks the folder; the way out, said with it,
    // loses nothing: without it each task file is checked against this config by its key
    let damaged = ", or, if it is this sweep's own sweep.toml damaged, move it out of the folder and \
                   run again (each task file is checked against the config by itself, and one of \
                   another config is set aside, not used)";
    refuse_other_config(&config_path, "a sweep", damaged, own, |old| {
        let old: CapacitySweepConfig = toml::from_str(old).map_err(|e| e.to_string())?;
        Ok(crate::config::differences(
            &same_threads(&old),
            &same_threads(cfg),
        ))
    })?;
    // (a `sweep.toml` already there is this sweep's, checked above; `--threads` is each machine's own)
    begin_folder(out, cfg)?;
    let todo = study::pending(
        out,
        tasks(cfg),
        shard_of,
        "task",
        |t| load_result(out, t, Some(cfg)),
        Task::file_name,
    )?;
    let mut sink = ResultFiles::new(out, &todo, result_format(), bar);
    capacity::run(
        cfg,
        capacity::Tasks::Only(&todo.pending),
        1,
        &mut sink,
        &mut Unattended,
    );
    let done = sink.finish("sweep", "the sweep")?;
    // A table an earlier `merge` wrote no longer holds every task (a researcher's audit, L11: it kept
    // the old rows until the next merge): merged again, as `merge` would. Its failure is said, not
    // the sweep's (the task files are written).
    // Quietly: the tasks other shards have still to write are not named missing one by one.
    if done.written > 0 && out.join(CSV_FILE).exists() {
        match collect_results(out)
            .map_err(anyhow::Error::from)
            .and_then(|c| write_tables(out, &c))
        {
            Ok(merged) => eprintln!(
                "{} merged again: {merged} (it was there from an earlier merge)",
                out.join(CSV_FILE).display()
            ),
            Err(e) => eprintln!(
                "warning: {} is out of date (it was not merged again: {e:#}); run `grokscope merge \
                 {}`",
                out.join(CSV_FILE).display(),
                out.display()
            ),
        }
    }
    Ok(SweepReport {
        tasks: todo.mine,
        skipped: todo.skipped(),
        written: done.written,
        outcome: done.outcome,
    })
}

/// `grokscope sweep`: the config from `--config` or `--preset`, `--threads` over its own.
pub fn sweep_cmd(
    config: Option<&Path>,
    preset: Option<&str>,
    out: &Path,
    shard_of: Option<(usize, usize)>,
    threads: Option<usize>,
    bar: bool,
) -> Result<SweepReport> {
    let cfg = match (config, preset) {
        (Some(path), _) => {
            let cfg = super::read_config(path, CapacitySweepConfig::from_toml)?;
            for note in cfg.overridden() {
                eprintln!("warning: {}: {note}", path.display());
            }
            cfg
        }
        (None, Some(name)) => sweep_preset(name)
            .with_context(|| {
                let names: Vec<_> = sweep_presets().iter().map(|p| p.name).collect();
                format!(
                    "no sweep preset named {name:?}; known: {}",
                    names.join(", ")
                )
            })?
            .config
            .try_into()?,
        (None, None) => bail!("give the sweep with --config FILE.toml or --preset NAME"),
    };
    let cfg = match threads {
        Some(t) => cfg.with_threads(t)?,
        None => cfg,
    };
    // each thread trains one training of a task at a time: the largest task, once per thread, must fit
    crate::experiment::capacity::check_memory(&cfg, super::memory_limit(None)?)
        .map_err(anyhow::Error::msg)
        .context("the sweep")?;
    sweep_main(&cfg, out, shard_of, bar)
}

/// Report a folder's missing and unusable files on stderr, by name.
pub fn report(c: &Collected) {
    for n in &c.notes {
        eprintln!("{n}");
    }
    for m in &c.missing {
        eprintln!("missing: {m}");
    }
    for (f, why) in &c.unusable {
        eprintln!("skipped {f}: {why}");
    }
}

/// Refuse, before reading its files, a folder that is not a sweep: a phase study, an Ordering study
/// or a run folder (their result files were each named "corrupt" before), or one with neither
/// `sweep.toml` nor `task-*.json` (`analyse` printed a JSON of nulls for it); `command` names the
/// command for the message.
fn refuse_other_kinds(dir: &Path, command: &str) -> Result<()> {
    use super::export::{FolderKind, folder_kind};
    let other = match folder_kind(dir) {
        Ok(FolderKind::Sweep) => return Ok(()),
        Ok(FolderKind::Phase) => {
            "a phase study folder (draw it with `grokscope export DIR --figure phase`)"
        }
        Ok(FolderKind::Study) => "an Ordering study folder",
        Ok(FolderKind::Run) => "a Grokking run folder",
        Err(e) if !dir.is_dir() => return Err(e),
        Err(_) => "not a sweep folder: it has no sweep.toml and no task-*.json",
    };
    bail!(
        "{} is {other}; `{command}` reads a Capacity sweep folder",
        dir.display()
    )
}

/// `grokscope merge DIR`: write `DIR/sweep.csv` (and `DIR/capacity.csv` when there are capacity runs);
/// missing and unusable files are named on stderr and left out. Refused, writing nothing, when no
/// file is usable.
pub fn merge_main(dir: &Path) -> Result<Collected> {
    refuse_other_kinds(dir, "merge")?;
    let c = collect_results(dir)?;
    report(&c);
    let merged = write_tables(dir, &c)?;
    eprintln!("merged {merged} into {}", dir.join(CSV_FILE).display());
    Ok(c)
}

/// Write `dir`'s tables from the results collected there; returns how many were merged, in words
/// ("3 of 8 tasks"). Refused when there is none.
fn write_tables(dir: &Path, c: &Collected) -> Result<String> {
    if c.results.is_empty() {
        // a table of no rows would replace what an earlier merge wrote
        bail!(
            "{} holds no task result file that can be used, so {CSV_FILE} was not written",
            dir.display()
        );
    }
    write_atomic(&dir.join(CSV_FILE), sweep_csv(&c.results)?.as_bytes())?;
    if c.results.iter().any(|r| !r.capacity.is_empty()) {
        write_atomic(
            &dir.join(CAPACITY_CSV_FILE),
            capacity_csv(&c.results)?.as_bytes(),
        )?;
    }
    Ok(match c.expected {
        Some(n) => format!("{} of {}", c.results.len(), super::count(n, "task")),
        None => super::count(c.results.len(), "task"),
    })
}

/// `--c BITS` or `--c-from DIR` (of `analyse` and `export`): the capacity C that the capacity fraction
/// f = S / (C P), and so the memorisation-speed fit T_mem = a exp(b f), uses instead of the sweep's
/// own capacity fit (or, without one, the paper's 2.16).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CArgs {
    /// C in bits per parameter for f = S / (C P) and the fit T_mem = a·exp(b·f), e.g. a C measured
    /// by a capacity sweep (the capacity-cpu preset's C ≈ 1.83); finite and > 0. Default: the
    /// sweep's own capacity fit, else the paper's 2.16.
    #[arg(
        long = "c",
        value_name = "BITS",
        allow_negative_numbers = true,
        conflicts_with = "c_from"
    )]
    pub c: Option<f64>,
    /// Take C from another sweep folder's capacity runs: the slope of its capacity fit (said as a
    /// lower bound, "C ≥", where its points are).
    #[arg(long, value_name = "DIR")]
    pub c_from: Option<std::path::PathBuf>,
}

impl CArgs {
    /// The C these options ask for, checked: `--c` finite and > 0, `--c-from` a sweep folder whose
    /// capacity fit has a positive slope.
    pub fn choice(&self) -> Result<CChoice> {
        if let Some(bits) = self.c {
            let given = GivenC::new(bits, "--c on the command line", false).context("--c")?;
            return Ok(CChoice::Given(given));
        }
        match &self.c_from {
            Some(dir) => Ok(CChoice::Given(measured_c(dir).context("--c-from")?)),
            None => Ok(CChoice::Auto),
        }
    }
}

/// The C a sweep folder's capacity runs measured (the slope of its capacity fit), a lower bound
/// where some size's most bits are; refused, saying why, when it has no fit with a positive slope.
pub fn measured_c(dir: &Path) -> Result<GivenC> {
    refuse_other_kinds(dir, "--c-from")?;
    let c = collect_results(dir)?;
    report(&c);
    let (fit, points) = capacity_of(&c.results);
    let Some(fit) = fit else {
        bail!(
            "{} has no capacity fit to take C from: it needs capacity runs at two or more model \
             sizes ({} size(s) have them)",
            dir.display(),
            points.len()
        );
    };
    let (lower_bound, uncertain) = crate::analysis::capacity_study::bound_of_slope(true, &points);
    let source = format!(
        "the capacity fit of {} ({} sizes, R² = {:.3}{})",
        dir.display(),
        points.len(),
        fit.r2,
        crate::analysis::capacity_study::slope_why(lower_bound, uncertain)
            .map_or(String::new(), |w| format!(", {w}"))
    );
    GivenC::new(fit.slope, source, lower_bound)
        .with_context(|| format!("the capacity fit of {}", dir.display()))
}

/// `grokscope analyse DIR`: the analysis JSON with a `files` section (found, expected, missing,
/// unusable); missing and unusable files are also named on stderr.
pub fn analyse_main(dir: &Path) -> Result<serde_json::Value> {
    analyse_main_with(dir, &CChoice::Auto)
}

/// [`analyse_main`] with the capacity C of `choice` (`--c`, `--c-from`).
pub fn analyse_main_with(dir: &Path, choice: &CChoice) -> Result<serde_json::Value> {
    refuse_other_kinds(dir, "analyse")?;
    let c = collect_results(dir)?;
    report(&c);
    let mut v = analysis_json(&c.results, choice);
    v["files"] = serde_json::json!({
        "found": c.results.len(),
        "expected": c.expected,
        "missing": c.missing,
        "unusable": c
            .unusable
            .iter()
            .map(|(f, why)| serde_json::json!({"file": f, "reason": why}))
            .collect::<Vec<_>>(),
    });
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::capacity_study::{PAPER_BITS_PER_PARAM, capacity_of};
    use crate::store::sweep_dir::CSV_COLUMNS;

    fn result(p: u32, width: usize, seed: u64, params: u64) -> TaskResult {
        TaskResult {
            p,
            width,
            seed,
            params,
            ..crate::store::sweep_dir::example_result()
        }
    }

    #[test]
    fn analysis_by_hand() {
        // One prime, sizes P = 100, 200, 400 (two seeds each). T_mem falls 400 -> 100 and T_gen rises
        // 200 -> 500 linearly in P between 100 and 400 (the analysis module's exact-crossing case, whose
        // crossing is at P = 200, where 500 - P = P + 100). Delays: P = 100 -> 0, 0; 200 -> 0, 5; 400 ->
        // 10, never memorised (None): the last P with zero minimum delay is 200, so the observed onset is 400
        let mut rs = vec![];
        for (params, width, t_mem, t_gen, delays) in [
            (100, 4, 400, 200, [Some(0), Some(0)]),
            (200, 8, 300, 300, [Some(0), Some(5)]),
            (400, 16, 100, 500, [Some(10), None]),
        ] {
            for (seed, d) in delays.iter().enumerate() {
                let mut r = result(31, width, seed as u64, params);
                r.t_mem = Some(t_mem);
                r.t_gen = Some(t_gen);
                r.delay = *d;
                rs.push(r);
            }
        }
        // the second seed of P = 400 never memorised the random labels either: left out of the mean
        rs[5].t_mem = None;
        // the first seed of P = 400 never generalised: its delay, 10, is the 20 epochs run − t_train
        // (10), a lower bound (T_gen's mean is the other seed's, 500, as before)
        rs[4].t_gen = None;
        let v = analysis_json(&rs, &CChoice::Auto);
        let p_star = v["p_star"].as_f64().unwrap();
        assert!((p_star - 200.0).abs() < 1.0, "{v}");
        assert_eq!(v["observed_onset"], 400.0);
        assert_eq!(v["capacity_bits_per_param"], serde_json::Value::Null);
        assert_eq!(v["c_used"], PAPER_BITS_PER_PARAM);
        let sizes = &v["primes"][0]["sizes"];
        assert_eq!(sizes[2]["t_mem"]["runs"], 1);
        assert_eq!(sizes[2]["t_mem"]["never"], 1);
        assert_eq!(sizes[2]["delay"]["never"], 1);
        assert_eq!(sizes[2]["delay_lower_bounds"], 1);
        assert_eq!(sizes[1]["delay_lower_bounds"], 0);
        assert_eq!(sizes[1]["delay"]["mean"], 2.5);
        assert_eq!(sizes[1]["min_delay"], 0);
        assert_eq!(sizes[0]["width"], 4);
        // f = S / (C P) = 100 log2(25) / (2.16 * 100) (the example result's S)
        let f = sizes[0]["capacity_fraction"].as_f64().unwrap();
        assert!((f - 100.0 * 25f64.log2() / 216.0).abs() < 1e-12);
        // exp fit over the 5 runs that memorised: the smallest model (largest f) memorises slowest, so
        // ln T_mem rises with f: b > 0, as the spec's model expects
        assert!(v["exp_fit"]["b"].as_f64().unwrap() > 0.0, "{v}");
        // the sixth run (P = 400, seed 1) never memorised: the fit says it left it out, with its f =
        // 100 log2(25) / (2.16 * 400)
        assert_eq!(v["exp_fit"]["left_out"]["count"], 1, "{v}");
        let f_out = v["exp_fit"]["left_out"]["f"][0].as_f64().unwrap();
        assert!((f_out - 100.0 * 25f64.log2() / 864.0).abs() < 1e-12, "{v}");
        // one crossing: nothing more to say of it
        assert_eq!(v["p_star_all"].as_array().unwrap().len(), 1, "{v}");
        assert_eq!(v["p_star_note"], serde_json::Value::Null);
    }

    /// The folder a helper's audit made by removing d = 20 and 24 from `assets/sweeps/cpu`
    /// (/tmp/audit_cap/nocross), as task results with the bundled files' values (see
    /// `no_crossing_results`). `analyse` printed "p_star": 27076, the range's end. At d = 16 (P 9328)
    /// no run memorised in 3000 epochs while T_gen = 1203 <= 3000, so T_mem > T_gen there: the curves
    /// cross between 9328 and 27076, which is all the data say.
    fn nocross() -> Vec<TaskResult> {
        crate::store::sweep_dir::no_crossing_results()
    }

    #[test]
    fn no_crossing_gives_no_p_star_and_says_why() {
        let v = analysis_json(&nocross(), &CChoice::Auto);
        assert_eq!(v["p_star"], serde_json::Value::Null, "{v}");
        assert_eq!(v["p_star_all"], serde_json::json!([]));
        assert_eq!(v["p_star_between"], serde_json::json!([[9328.0, 27076.0]]));
        let note = v["p_star_note"].as_str().unwrap();
        assert!(
            note.starts_with("no crossing in [27076, 77136]: T_mem below T_gen throughout"),
            "{note}"
        );
        assert!(
            note.contains(
                "at P = 9328 no run memorised the random labels in 3000 epochs while T_gen = 1203, \
                 so T_mem > T_gen there: they cross between 9328 and 27076 (a bracket, not a point)"
            ),
            "{note}"
        );
        // with a cap below T_gen (1000 < 1203 at d = 16, 1742 at d = 12) nothing follows: no bound
        let mut short = nocross();
        for r in &mut short {
            r.mem_epochs = 1000;
        }
        let v = analysis_json(&short, &CChoice::Auto);
        assert_eq!(v["p_star_between"], serde_json::json!([]));
        assert_eq!(
            v["p_star_note"],
            "no crossing in [27076, 77136]: T_mem below T_gen throughout"
        );
        // a live sweep fills in the largest models first: with d = 48 alone there is nothing to cross
        let v = analysis_json(&nocross()[..1], &CChoice::Auto);
        assert_eq!(v["p_star"], serde_json::Value::Null);
        assert_eq!(
            v["p_star_note"],
            "no crossing: T_mem is below T_gen at P = 77136, the one size where both are measured"
        );
    }

    /// One seed's (T_mem, T_gen) at a size: `None` never reached 99 %.
    type Seed = (Option<u64>, Option<u64>);

    /// One prime's runs: per size (P, [(T_mem, T_gen)] one pair a seed), every run trained 3000
    /// epochs on each (`None`: never reached 99 % in them) unless `caps` says otherwise.
    fn sizes(rows: &[(u64, &[Seed])], caps: (u64, u64)) -> Vec<TaskResult> {
        rows.iter()
            .flat_map(|&(params, seeds)| {
                seeds
                    .iter()
                    .enumerate()
                    .map(move |(seed, &(t_mem, t_gen))| {
                        let mut r = result(31, params as usize / 100, seed as u64, params);
                        (r.t_mem, r.mem_epochs) = (t_mem, caps.0);
                        (r.t_gen, r.gen_epochs) = (t_gen, caps.1);
                        r
                    })
            })
            .collect()
    }

    /// A size where some seeds never memorised has a censored mean T_mem: the spec's mean leaves
    /// them out, but each trained 3000 epochs without reaching 99 %, so the mean over all runs is
    /// more than the mean with them counted at 3000. P = 1000: T_mem 500, 600 and never, T_gen 800
    /// thrice; the spec's mean is 550 < 800, while counted at the cap (500 + 600 + 3000) / 3 =
    /// 1366.7 > 800, so T_mem > T_gen there. P = 2000: T_mem 200 < T_gen 700 for every seed. The
    /// means do not cross (below throughout), but the curves over all runs must, between 1000 and
    /// 2000: a bracket, not a point (by hand).
    #[test]
    fn a_size_where_some_seeds_never_memorised_brackets_p_star() {
        let n = None;
        let m = |t| Some(t);
        let rs = sizes(
            &[
                (1000, &[(m(500), m(800)), (m(600), m(800)), (n, m(800))]),
                (2000, &[(m(200), m(700)); 3]),
            ],
            (3000, 3000),
        );
        let v = analysis_json(&rs, &CChoice::Auto);
        assert_eq!(v["p_star"], serde_json::Value::Null, "{v}");
        assert_eq!(
            v["p_star_between"],
            serde_json::json!([[1000.0, 2000.0]]),
            "{v}"
        );
        assert_eq!(
            v["p_star_note"],
            "no crossing in [1000, 2000]: T_mem below T_gen throughout; at P = 1000 1 of 3 runs \
             never memorised the random labels (in 3000 epochs), so the mean T_mem over all 3 is \
             more than 1367 (the spec's mean, 550, leaves it out) while T_gen = 800, so T_mem > \
             T_gen there: they cross between 1000 and 2000 (a bracket, not a point)"
        );
        // with a cap of 500 the censored run counts at 500: (500 + 600 + 500) / 3 = 533.3 < 800
        // says nothing of the order there, so there is no bracket
        let rs = sizes(
            &[
                (1000, &[(m(500), m(800)), (m(600), m(800)), (n, m(800))]),
                (2000, &[(m(200), m(700)); 3]),
            ],
            (500, 3000),
        );
        let v = analysis_json(&rs, &CChoice::Auto);
        assert_eq!(v["p_star_between"], serde_json::json!([]), "{v}");
        assert_eq!(
            v["p_star_note"],
            "no crossing in [1000, 2000]: T_mem below T_gen throughout"
        );
    }

    /// The same with T_gen censored. P = 1000: T_mem 300 > T_gen 200 (both seeds). P = 2000: T_mem
    /// 100 (both); T_gen 90 and never in 1000 epochs: the spec's mean T_gen is 90 < 100, so the
    /// means do not cross (T_mem above throughout), but counted at the cap the mean T_gen over both
    /// runs is more than (90 + 1000) / 2 = 545 > 100, so T_mem < T_gen at 2000: they cross between
    /// 1000 and 2000 (by hand).
    #[test]
    fn a_size_where_some_seeds_never_generalised_brackets_p_star() {
        let m = |t| Some(t);
        let rs = sizes(
            &[
                (1000, &[(m(300), m(200)); 2]),
                (2000, &[(m(100), m(90)), (m(100), None)]),
            ],
            (3000, 1000),
        );
        let v = analysis_json(&rs, &CChoice::Auto);
        assert_eq!(v["p_star"], serde_json::Value::Null, "{v}");
        assert_eq!(
            v["p_star_between"],
            serde_json::json!([[1000.0, 2000.0]]),
            "{v}"
        );
        let note = v["p_star_note"].as_str().unwrap();
        assert!(
            note.ends_with(
                "at P = 2000 1 of 2 runs never generalised (in 1000 epochs), so the mean T_gen over \
                 all 2 is more than 545 (the spec's mean, 90, leaves it out) while T_mem = 100, so \
                 T_mem < T_gen there: they cross between 1000 and 2000 (a bracket, not a point)"
            ),
            "{note}"
        );
    }

    /// A crossing of the spec's means beside a censored size is reported, and said to be an
    /// estimate. P = 1000: T_mem 400 and never (cap 500), T_gen 200 twice; P = 2000: T_mem 100,
    /// T_gen 300. The means 400 -> 100 and 200 -> 300, linear in P, meet where 400 - 0.3 (P - 1000)
    /// = 200 + 0.1 (P - 1000), at P = 1500 (by hand; the grid's nearest point is within 0.07 %).
    /// Counted at the cap, the mean T_mem at 1000 is more than (400 + 500) / 2 = 450 > 200: the same
    /// side as the spec's mean, so no bracket beside the crossing.
    #[test]
    fn a_crossing_beside_a_censored_mean_is_said_to_be_an_estimate() {
        let m = |t| Some(t);
        let rs = sizes(
            &[
                (1000, &[(m(400), m(200)), (None, m(200))]),
                (2000, &[(m(100), m(300)); 2]),
            ],
            (500, 3000),
        );
        let v = analysis_json(&rs, &CChoice::Auto);
        let p_star = v["p_star"].as_f64().unwrap();
        assert!((p_star - 1500.0).abs() < 1.1, "{v}");
        assert_eq!(v["p_star_between"], serde_json::json!([]), "{v}");
        let note = v["p_star_note"].as_str().unwrap();
        assert!(note.starts_with("the crossing at 1"), "{note}");
        assert!(
            note.ends_with(
                "is of means that leave out runs that never reached 99 % (1 of 2 runs never \
                 memorised at P = 1000): an estimate, not a bound"
            ),
            "{note}"
        );
        // every run measured: one crossing, nothing more to say
        let rs = sizes(
            &[
                (1000, &[(m(400), m(200)); 2]),
                (2000, &[(m(100), m(300)); 2]),
            ],
            (500, 3000),
        );
        let v = analysis_json(&rs, &CChoice::Auto);
        assert_eq!(v["p_star_note"], serde_json::Value::Null, "{v}");
    }

    #[test]
    fn several_crossings_are_all_reported() {
        // T_mem zigzags 400, 100, 400 at P = 100, 200, 400 around T_gen = 200: two crossings, at
        // 100 + 100 * 2/3 and 200 + 200 * 1/3 (linear in P), each within a grid step (0.14 %)
        let rs: Vec<TaskResult> = [(100, 400), (200, 100), (400, 400)]
            .into_iter()
            .map(|(params, t_mem)| {
                let mut r = result(31, params as usize / 10, 0, params);
                (r.t_mem, r.t_gen) = (Some(t_mem), Some(200));
                r
            })
            .collect();
        let v = analysis_json(&rs, &CChoice::Auto);
        let all: Vec<f64> = v["p_star_all"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(all.len(), 2, "{v}");
        for (got, want) in all.iter().zip([500.0 / 3.0, 800.0 / 3.0]) {
            assert!((got - want).abs() < 0.0015 * want, "{got} vs {want}");
        }
        assert_eq!(v["p_star"], all[0]);
        let note = v["p_star_note"].as_str().unwrap();
        assert!(
            note.starts_with("T_mem and T_gen cross 2 times, at 167, 267; P* is the first"),
            "{note}"
        );
    }

    /// The capacity runs of a helper's `capacity-cpu` sweep (/tmp/audit_cap/capsweep, p = 23, a
    /// 1500-epoch cap): d = 4's best (841 bits) is at its largest n, 1262, still rising; d = 6's best
    /// (2311 at n = 1277) and d = 8's (4070 at n = 2144) were cut by the cap while improving. All
    /// three are lower bounds, so C = 1.834 (the least-squares slope through the three, as `analyse`
    /// printed for that folder) is only approximate: not "at least", as d = 4 lies below the sizes'
    /// mean P.
    #[test]
    fn capacity_from_unsaturated_runs_is_uncertain() {
        use crate::experiment::capacity::CapacityPoint;
        let run = |params: u64, width, pts: &[(usize, f64, bool)]| {
            let mut r = result(23, width, 0, params);
            r.capacity = pts
                .iter()
                .map(|&(n, bits, saturated)| CapacityPoint {
                    n,
                    bits,
                    epochs: 1500,
                    saturated,
                    train_acc_eval: 1.0,
                })
                .collect();
            r
        };
        let rs = vec![
            run(
                732,
                4,
                &[
                    (79, 366.2, true),
                    (158, 725.7, false),
                    (316, 793.5, false),
                    (631, 798.1, false),
                    (1262, 840.985_266_891_739_2, true),
                ],
            ),
            run(
                1482,
                6,
                &[
                    (160, 743.0, true),
                    (320, 1483.0, true),
                    (639, 2048.4, false),
                    (1277, 2_310.747_865_122_282, false),
                    (2554, 2240.8, true),
                ],
            ),
            run(
                2488,
                8,
                &[
                    (268, 1244.5, true),
                    (536, 2383.7, true),
                    (1072, 3519.6, false),
                    (2144, 4_070.016_673_437_91, false),
                    (4287, 3806.8, true),
                ],
            ),
        ];
        let v = analysis_json(&rs, &CChoice::Auto);
        // d = 4 (P = 732, below the sizes' mean P) is at the top of its grid: more bits there would
        // lower the slope, so C is uncertain either way, not a lower bound (a spec audit: given a
        // larger n, d = 4 memorised 861.5 bits and C fell to 1.823)
        assert_eq!(v["c_lower_bound"], false, "{v}");
        assert_eq!(v["c_uncertain"], true, "{v}");
        let c = v["capacity_bits_per_param"].as_f64().unwrap();
        assert!((c - 1.833_875_800_917_956).abs() < 1e-9, "{c}");
        let flags: Vec<(bool, bool, bool)> = v["capacity_points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let b = |k: &str| p[k].as_bool().unwrap();
                (b("lower_bound"), b("unsaturated"), b("top_of_grid"))
            })
            .collect();
        assert_eq!(
            flags,
            [
                (true, false, true),
                (true, true, false),
                (true, true, false)
            ]
        );
        // a maximum inside the grid from a saturated run is a measurement: drop d = 4's last two
        // points (its best is then 793.5 at n = 316, unsaturated) and mark the others saturated
        let mut measured = rs.clone();
        for r in &mut measured {
            r.capacity.truncate(3);
            r.capacity.push(CapacityPoint {
                n: 5000,
                bits: 0.0,
                epochs: 10,
                saturated: true,
                train_acc_eval: 0.0,
            });
            for c in &mut r.capacity {
                c.saturated = true;
            }
        }
        let v = analysis_json(&measured, &CChoice::Auto);
        assert_eq!(v["c_lower_bound"], false, "{v}");
        assert_eq!(v["c_uncertain"], false, "{v}");
    }

    #[test]
    fn a_task_line_gives_its_units_and_caps() {
        // the tiny preset's d = 32 (its description): memorised at 183, never generalised in 1000
        // epochs, so its delay is 1000 - t_train (202 here), a lower bound
        let mut r = result(23, 32, 0, 12000);
        (r.t_mem, r.mem_epochs) = (Some(183), 183);
        (r.t_train, r.t_gen, r.delay, r.gen_epochs) = (Some(202), None, Some(798), 1000);
        r.wall_secs = 7.04;
        assert_eq!(
            describe(&r),
            "task-p23-w32-s0: P = 12000, T_mem 183 epochs, T_gen never within 1000 epochs, \
             delay ≥ 798 epochs (never generalised), 7.0 s"
        );
        // nothing learned: neither time, and no delay
        (r.t_mem, r.mem_epochs) = (None, 1000);
        (r.t_train, r.delay) = (None, None);
        assert_eq!(
            describe(&r),
            "task-p23-w32-s0: P = 12000, T_mem never within 1000 epochs, T_gen never within 1000 \
             epochs, delay none (neither learned the task nor generalised within 1000 epochs), 7.0 s"
        );
        // the example result's exact delay of 0
        let e = result(23, 8, 0, 1000);
        assert!(describe(&e).contains("T_gen 20 epochs, delay 0 epochs, 1.0 s"));
    }

    #[test]
    fn capacity_from_max_bits() {
        // two sizes, two seeds: max over n per task (150 and 170 at P = 100; 310 and 290 at P = 200), mean
        // over seeds 160 and 300: the line through (100, 160) and (200, 300) has slope 1.4
        use crate::experiment::capacity::CapacityPoint;
        let point = |n, bits| CapacityPoint {
            n,
            bits,
            epochs: 10,
            saturated: true,
            train_acc_eval: 1.0,
        };
        let mut rs = vec![];
        for (params, seed, bits) in [
            (100, 0, [120.0, 150.0]),
            (100, 1, [170.0, 90.0]),
            (200, 0, [310.0, 200.0]),
            (200, 1, [-5.0, 290.0]),
        ] {
            let mut r = result(11, params as usize / 10, seed, params);
            r.capacity = vec![point(10, bits[0]), point(20, bits[1])];
            rs.push(r);
        }
        let (fit, points) = capacity_of(&rs);
        let xy: Vec<(f64, f64)> = points.iter().map(|c| (c.params, c.max_bits)).collect();
        assert_eq!(xy, vec![(100.0, 160.0), (200.0, 300.0)]);
        // P = 100 seed 0's best (150) and P = 200 seed 1's (290) are at the largest n tried, 20
        assert!(
            points
                .iter()
                .all(|c| c.lower_bound && c.top_of_grid && !c.unsaturated)
        );
        assert!((fit.unwrap().slope - 1.4).abs() < 1e-12);
        let v = analysis_json(&rs, &CChoice::Auto);
        assert!((v["capacity_bits_per_param"].as_f64().unwrap() - 1.4).abs() < 1e-12);
        assert!((v["c_used"].as_f64().unwrap() - 1.4).abs() < 1e-12);
        assert_eq!(v["c_source"], "measured");
    }

    /// Two sizes whose speed-model fit is worked out by hand: P = 100 and 200, S = 100 log2(25) =
    /// 464.386 bits (the example result's), T_mem 400 and 100 epochs. f = S / (C P) is S/(100 C) and
    /// S/(200 C), so the two-point fit of ln T_mem on f is exact: b = ln(400/100) / (f1 - f2) =
    /// 200 C ln 4 / S and a = 400 exp(-b f1) = 400 / 4^2 = 25 whatever C.
    fn two_sizes() -> Vec<TaskResult> {
        [(100, 400), (200, 100)]
            .into_iter()
            .map(|(params, t_mem)| {
                let mut r = result(31, params as usize / 25, 0, params);
                r.t_mem = Some(t_mem);
                r
            })
            .collect()
    }

    /// `--c 1.83` (the C the capacity-cpu preset measured, a lower bound) replaces the paper's 2.16
    /// in f and the fit, and the JSON says which C and from where. By hand (see `two_sizes`): C =
    /// 1.83 gives f = 2.5376 and 1.2688, b = 366 ln 4 / 464.386 = 1.09259; the paper's 2.16 gives b =
    /// 432 ln 4 / 464.386 = 1.28962; a = 25 both ways.
    #[test]
    fn a_given_c_is_used_in_f_and_the_fit_and_said() {
        let rs = two_sizes();
        let v = analysis_json(&rs, &CChoice::Auto);
        assert_eq!(v["c_used"], PAPER_BITS_PER_PARAM);
        assert!(
            (v["exp_fit"]["b"].as_f64().unwrap() - 1.289_616).abs() < 1e-6,
            "{v}"
        );
        let given = CArgs {
            c: Some(1.83),
            c_from: None,
        }
        .choice()
        .unwrap();
        let v = analysis_json(&rs, &given);
        assert_eq!(v["c_used"], 1.83);
        assert_eq!(v["c_used_lower_bound"], false);
        assert_eq!(v["c_source"], "given: --c on the command line");
        let fit = &v["exp_fit"];
        assert!((fit["b"].as_f64().unwrap() - 1.092_591).abs() < 1e-6, "{v}");
        assert!((fit["a"].as_f64().unwrap() - 25.0).abs() < 1e-9, "{v}");
        let f: Vec<f64> = v["primes"][0]["sizes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["capacity_fraction"].as_f64().unwrap())
            .collect();
        assert!(
            (f[0] - 2.537_626).abs() < 1e-6 && (f[1] - 1.268_813).abs() < 1e-6,
            "{f:?}"
        );
    }

    /// A C that is not a finite positive number is refused with a message naming the problem, not
    /// used (nor a panic): NaN, infinities, 0 and negatives.
    #[test]
    fn a_bad_c_is_refused_naming_the_problem() {
        for (bits, says) in [
            (f64::NAN, "C = NaN is not a finite number"),
            (f64::INFINITY, "C = inf is not a finite number"),
            (f64::NEG_INFINITY, "C = -inf is not a finite number"),
            (0.0, "C = 0 bits per parameter must be greater than 0"),
            (-1.83, "C = -1.83 bits per parameter must be greater than 0"),
        ] {
            let args = CArgs {
                c: Some(bits),
                c_from: None,
            };
            let e = format!("{:#}", args.choice().unwrap_err());
            assert!(e.starts_with("--c: "), "{e}");
            assert!(e.contains(says), "{bits}: {e}");
        }
        // the command line: a word is clap's to refuse, and --c with --c-from is one C too many
        use clap::Parser;
        let parse = |args: &[&str]| crate::cli::Cli::try_parse_from(args).map(|_| ());
        let e = parse(&["grokscope", "analyse", "d", "--c", "two"]).unwrap_err();
        assert!(
            e.to_string()
                .contains("invalid value 'two' for '--c <BITS>'"),
            "{e}"
        );
        let e = parse(&["grokscope", "analyse", "d", "--c", "2", "--c-from", "x"]).unwrap_err();
        assert!(e.to_string().contains("cannot be used with"), "{e}");
        assert!(
            parse(&["grokscope", "analyse", "d", "--c", "-1"]).is_ok(),
            "refused by choice()"
        );
    }

    /// `--c-from DIR` takes the slope of DIR's capacity fit, "C ≥" where its points are lower
    /// bounds, and refuses a folder without a fit. Two sizes, P = 100 and 200, whose best runs
    /// memorised 200 and 400 bits: slope (400 - 200) / (200 - 100) = 2 bits per parameter (by
    /// hand); their best runs are saturated and inside the grid (n = 20 of 10, 20, 40), so exact.
    #[test]
    fn c_from_a_folder_takes_its_capacity_fit() {
        use crate::experiment::capacity::CapacityPoint;
        let point = |n, bits, saturated| CapacityPoint {
            n,
            bits,
            epochs: 100,
            saturated,
            train_acc_eval: 1.0,
        };
        let dir = tempfile::tempdir().unwrap();
        let mut rs = vec![];
        for (params, best) in [(100, 200.0), (200, 400.0)] {
            let mut r = result(23, params as usize / 25, 0, params);
            r.capacity = vec![
                point(10, best / 2.0, true),
                point(20, best, true),
                point(40, best - 1.0, true),
            ];
            write_result(dir.path(), &r).unwrap();
            rs.push(r);
        }
        let args = CArgs {
            c: None,
            c_from: Some(dir.path().to_path_buf()),
        };
        let CChoice::Given(g) = args.choice().unwrap() else {
            panic!("a given C");
        };
        assert!((g.bits_per_param() - 2.0).abs() < 1e-12, "{g:?}");
        assert!(!g.lower_bound());
        assert!(
            g.source().starts_with("the capacity fit of "),
            "{}",
            g.source()
        );
        // d = 8's best cut by the epoch cap while improving: a lower bound, said as one
        rs[1].capacity[1].saturated = false;
        write_result(dir.path(), &rs[1]).unwrap();
        let CChoice::Given(g) = args.choice().unwrap() else {
            panic!("a given C");
        };
        assert!(g.lower_bound(), "{g:?}");
        let v = analysis_json(&two_sizes(), &CChoice::Given(g));
        assert_eq!(v["c_used_lower_bound"], true);
        // no capacity runs: no fit to take C from
        let empty = tempfile::tempdir().unwrap();
        write_result(empty.path(), &result(23, 4, 0, 100)).unwrap();
        let e = format!(
            "{:#}",
            CArgs {
                c: None,
                c_from: Some(empty.path().to_path_buf()),
            }
            .choice()
            .unwrap_err()
        );
        assert!(e.contains("has no capacity fit to take C from"), "{e}");
    }

    #[test]
    fn several_primes_are_keyed() {
        let rs = vec![result(11, 4, 0, 100), result(13, 4, 0, 120)];
        let v = analysis_json(&rs, &CChoice::Auto);
        assert!(v["p_star"].is_object(), "{v}");
        assert!(v["p_star"].get("11").is_some() && v["p_star"].get("13").is_some());
        assert_eq!(v["primes"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn no_results_give_nulls() {
        let v = analysis_json(&[], &CChoice::Auto);
        for key in [
            "p_star",
            "observed_onset",
            "exp_fit",
            "capacity_bits_per_param",
        ] {
            assert_eq!(v[key], serde_json::Value::Null, "{key}");
        }
        assert_eq!(v["results"], 0);
    }

    #[test]
    fn csv_rows_leave_never_empty() {
        let mut r = result(11, 4, 0, 100);
        r.t_gen = None;
        let text = sweep_csv(&[r]).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), CSV_COLUMNS.join(","));
        let row: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(row.len(), CSV_COLUMNS.len());
        assert_eq!(row[7], "", "t_gen never reached");
        assert_eq!(row[6], "10");
        // example_result's delay 0 is not epochs run (20) - t_train (10): a run that reached 98 % at
        // epoch 10 and then fell back, exact
        assert_eq!(row[19], "false");
        // memorised at 10, 20 epochs run, never 98 %: the detector's delay is 20 - 10, a lower bound
        let mut open = result(11, 4, 0, 100);
        (open.t_gen, open.delay) = (None, Some(10));
        let text = sweep_csv(&[open]).unwrap();
        let row: Vec<&str> = text.lines().nth(1).unwrap().split(',').collect();
        assert_eq!((row[8], row[19]), ("10", "true"));
    }
}
