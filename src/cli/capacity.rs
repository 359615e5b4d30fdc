//! The Capacity lab's headless commands: `grokscope sweep` (one result file per task, resumable and
//! shardable), `grokscope merge` (the results as `sweep.csv`) and `grokscope analyse` (capacity, onset and
//! the memorisation-speed fit as one JSON object).
//!
//! A sweep folder holds `sweep.toml` (the config, written by `sweep`) and one `task-p{p}-w{w}-s{seed}.json`
//! per finished task, each written atomically. A task whose file parses, names the task and carries the
//! config's key is done and skipped; a missing, half-written, corrupt or stale one is (re)done.
//!
//! Sharding (a cluster array job, every shard writing into the same folder on a shared file system):
//! `--shard I/N` runs the tasks k with k mod N = I. Without it the index comes from the environment:
//! `SLURM_ARRAY_TASK_ID` (minus `SLURM_ARRAY_TASK_MIN` when set; use a contiguous array such as
//! `--array=0-7`) with N from `--shard-count` or `SLURM_ARRAY_TASK_COUNT`, or `JOB_COMPLETION_INDEX`
//! (Kubernetes indexed jobs) with N from `--shard-count`. When all shards are done, run `merge` and
//! `analyse` on the folder.

use super::{refuse_other_config, write_atomic};
use crate::analysis::capacity_study::analysis_json;
use crate::config::CapacitySweepConfig;
use crate::config::capacity::{shard, sweep_preset, sweep_presets, tasks};
use crate::experiment::capacity::sweep_tasks;
use crate::experiment::{EventSink, Unattended};
use crate::protocol::{CapacityEvent, Event, LabEvent, Outcome};
use crate::store::sweep_dir::{
    CAPACITY_CSV_FILE, CONFIG_FILE, CSV_FILE, Collected, Stored, capacity_csv, collect_results,
    config_key, load_result, sweep_csv, write_result,
};
use anyhow::{Context, Result, bail};
use std::path::Path;

/// Which shard to run: `--shard I/N`, else an array index from the environment (see the module docs).
/// `None`: the whole sweep. `env` reads a variable (`std::env::var(..).ok()` outside tests).
pub fn resolve_shard(
    arg: Option<&str>,
    count: Option<usize>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(usize, usize)>> {
    let num = |name: &str, text: &str| -> Result<usize> {
        text.trim()
            .parse::<usize>()
            .with_context(|| format!("{name} = {text:?} is not a whole number"))
    };
    let (index, n) = if let Some(a) = arg {
        let (i, n) = a
            .split_once('/')
            .with_context(|| format!("--shard {a:?} must look like I/N, e.g. 0/4"))?;
        let (i, n) = (num("--shard's I", i)?, num("--shard's N", n)?);
        if let Some(c) = count
            && c != n
        {
            bail!("--shard {a} and --shard-count {c} disagree");
        }
        (i, n)
    } else if let Some(id) = env("SLURM_ARRAY_TASK_ID") {
        let id = num("SLURM_ARRAY_TASK_ID", &id)?;
        let min = match env("SLURM_ARRAY_TASK_MIN") {
            Some(m) => num("SLURM_ARRAY_TASK_MIN", &m)?,
            None => 0,
        };
        let n = match (count, env("SLURM_ARRAY_TASK_COUNT")) {
            (Some(c), _) => c,
            (None, Some(c)) => num("SLURM_ARRAY_TASK_COUNT", &c)?,
            (None, None) => {
                bail!("SLURM_ARRAY_TASK_ID is set: give the number of shards with --shard-count")
            }
        };
        let i = id.checked_sub(min).with_context(|| {
            format!("SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}")
        })?;
        (i, n)
    } else if let Some(idx) = env("JOB_COMPLETION_INDEX") {
        let i = num("JOB_COMPLETION_INDEX", &idx)?;
        let n = count.context(
            "JOB_COMPLETION_INDEX is set: give the number of shards (the job's completions) with --shard-count",
        )?;
        (i, n)
    } else if let Some(c) = count {
        bail!(
            "--shard-count {c} needs a shard index: --shard I/{c}, SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX"
        );
    } else {
        return Ok(None);
    };
    if n == 0 || index >= n {
        bail!("shard {index} of {n} does not exist (shards are numbered 0 to N - 1, N at least 1)");
    }
    Ok(Some((index, n)))
}

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

/// Writes each finished task's file and shows progress.
struct FileSink<'a> {
    dir: &'a Path,
    bar: Option<indicatif::ProgressBar>,
    skipped: usize,
    tasks: usize,
    written: usize,
    outcome: Option<Outcome>,
    error: Option<anyhow::Error>,
}

impl FileSink<'_> {
    fn line(&self, text: String) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }
}

/// An epoch count or "never".
fn epochs(v: Option<u64>) -> String {
    v.map_or_else(|| "never".to_string(), |e| e.to_string())
}

impl EventSink for FileSink<'_> {
    fn emit(&mut self, ev: Event) {
        match ev {
            Event::Lab {
                payload: LabEvent::Capacity(CapacityEvent::SweepResult { result, .. }),
                ..
            } => {
                if self.error.is_some() {
                    return;
                }
                if let Err(e) = write_result(self.dir, &result) {
                    self.error = Some(e.into());
                    return;
                }
                self.written += 1;
                let done = self.skipped + self.written;
                if let Some(bar) = &self.bar {
                    bar.set_position(done as u64);
                }
                self.line(format!(
                    "{done}/{} {}: P = {}, T_mem {}, T_gen {}, delay {} ({:.1} s)",
                    self.tasks,
                    result.task().name(),
                    result.params,
                    epochs(result.t_mem),
                    epochs(result.t_gen),
                    epochs(result.delay),
                    result.wall_secs
                ));
            }
            Event::Finished { outcome, .. } => self.outcome = Some(outcome),
            Event::Refused { message } => self.line(message),
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

/// Run the tasks of `cfg` (or of one shard) that `out` still lacks, writing `out/sweep.toml` and one
/// result file per task as each finishes. Says on stderr which stored files it redoes and why.
pub fn sweep_main(
    cfg: &CapacitySweepConfig,
    out: &Path,
    shard_of: Option<(usize, usize)>,
    bar: bool,
) -> Result<SweepReport> {
    cfg.validate()?;
    let config_path = out.join(CONFIG_FILE);
    let text = cfg.to_toml();
    // a folder of another sweep is never overwritten (as `run` refuses a folder holding a run)
    let same_threads = |c: &CapacitySweepConfig| CapacitySweepConfig {
        threads: 0,
        ..c.clone()
    };
    refuse_other_config(&config_path, |old| {
        let old: CapacitySweepConfig = toml::from_str(old).map_err(|e| e.to_string())?;
        Ok(crate::config::differences(
            &same_threads(&old),
            &same_threads(cfg),
        ))
    })?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    write_atomic(&config_path, text.as_bytes())?;
    let all = tasks(cfg);
    let mine = match shard_of {
        Some((i, n)) => shard(&all, i, n),
        None => all,
    };
    let mut pending = vec![];
    for t in &mine {
        match load_result(out, t, Some(&config_key(cfg, t))) {
            Stored::Done(_) => {}
            Stored::Missing => pending.push(*t),
            Stored::Unusable(why) => {
                eprintln!("redoing {}: {why}", t.file_name());
                pending.push(*t);
            }
        }
    }
    let skipped = mine.len() - pending.len();
    if let Some((i, n)) = shard_of {
        eprint!("shard {i}/{n}: ");
    }
    eprintln!(
        "{} tasks, {skipped} already done, {} to run",
        mine.len(),
        pending.len()
    );
    let bar = bar.then(|| super::task_bar(mine.len(), skipped));
    let mut sink = FileSink {
        dir: out,
        bar,
        skipped,
        tasks: mine.len(),
        written: 0,
        outcome: None,
        error: None,
    };
    sweep_tasks(cfg, &pending, 1, &mut sink, &mut Unattended);
    if let Some(b) = &sink.bar {
        b.finish_and_clear();
    }
    if let Some(e) = sink.error {
        return Err(e.context(format!("writing into {}", out.display())));
    }
    let outcome = sink.outcome.context("the sweep ended without a result")?;
    if let Outcome::Failed { message } = &outcome {
        eprintln!("sweep failed: {message}");
    }
    Ok(SweepReport {
        tasks: mine.len(),
        skipped,
        written: sink.written,
        outcome,
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
    let mut cfg = match (config, preset) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            CapacitySweepConfig::from_toml(&text)
                .with_context(|| format!("in {}", path.display()))?
        }
        (None, Some(name)) => {
            sweep_preset(name)
                .with_context(|| {
                    let names: Vec<_> = sweep_presets().iter().map(|p| p.name).collect();
                    format!(
                        "no sweep preset named {name:?}; known: {}",
                        names.join(", ")
                    )
                })?
                .config
        }
        (None, None) => bail!("give the sweep with --config FILE.toml or --preset NAME"),
    };
    if let Some(t) = threads {
        cfg.threads = t;
    }
    // each thread trains one task at a time: the largest task, once per thread, must fit
    cfg.validate()?;
    let threads = crate::experiment::pool::threads_for(cfg.threads, cfg.task_count());
    let limit = super::memory_limit(None)? / threads.max(1) as u64;
    cfg.largest_task()
        .check_memory(limit)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("the sweep's largest task, on each of {threads} threads"))?;
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

/// `grokscope merge DIR`: write `DIR/sweep.csv` (and `DIR/capacity.csv` when there are capacity runs);
/// missing and unusable files are named on stderr and left out.
pub fn merge_main(dir: &Path) -> Result<Collected> {
    let c = collect_results(dir)?;
    report(&c);
    write_atomic(&dir.join(CSV_FILE), sweep_csv(&c.results)?.as_bytes())?;
    if c.results.iter().any(|r| !r.capacity.is_empty()) {
        write_atomic(
            &dir.join(CAPACITY_CSV_FILE),
            capacity_csv(&c.results)?.as_bytes(),
        )?;
    }
    let of = c.expected.map(|n| format!(" of {n}")).unwrap_or_default();
    eprintln!(
        "merged {}{of} tasks into {}",
        c.results.len(),
        dir.join(CSV_FILE).display()
    );
    Ok(c)
}

/// `grokscope analyse DIR`: the analysis JSON with a `files` section (found, expected, missing,
/// unusable); missing and unusable files are also named on stderr.
pub fn analyse_main(dir: &Path) -> Result<serde_json::Value> {
    let c = collect_results(dir)?;
    report(&c);
    let mut v = analysis_json(&c.results);
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
    use crate::analysis::capacity_study::{PAPER_BITS_PER_PARAM, TaskResult, capacity_of};
    use crate::store::sweep_dir::{CSV_COLUMNS, RESULT_VERSION};

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn shard_from_flag_and_environment() {
        let none = env_of(&[]);
        assert_eq!(resolve_shard(None, None, &none).unwrap(), None);
        assert_eq!(
            resolve_shard(Some("2/4"), None, &none).unwrap(),
            Some((2, 4))
        );
        assert_eq!(
            resolve_shard(Some("2/4"), Some(4), &none).unwrap(),
            Some((2, 4))
        );
        for bad in ["4/4", "1/0", "x/2", "3", "-1/2"] {
            assert!(resolve_shard(Some(bad), None, &none).is_err(), "{bad}");
        }
        assert!(
            resolve_shard(Some("1/4"), Some(3), &none).is_err(),
            "disagree"
        );
        assert!(resolve_shard(None, Some(3), &none).is_err(), "count alone");
        // SLURM: array 1-4 (min 1), task id 3 is the third task, shard 2 of 4
        let slurm = env_of(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(resolve_shard(None, None, &slurm).unwrap(), Some((2, 4)));
        // the flag wins over the environment
        assert_eq!(
            resolve_shard(Some("0/2"), None, &slurm).unwrap(),
            Some((0, 2))
        );
        let slurm_no_count = env_of(&[("SLURM_ARRAY_TASK_ID", "5")]);
        assert!(resolve_shard(None, None, &slurm_no_count).is_err());
        assert_eq!(
            resolve_shard(None, Some(8), &slurm_no_count).unwrap(),
            Some((5, 8))
        );
        // Kubernetes indexed job: the count must be given
        let k8s = env_of(&[("JOB_COMPLETION_INDEX", "7")]);
        assert!(resolve_shard(None, None, &k8s).is_err());
        assert_eq!(resolve_shard(None, Some(10), &k8s).unwrap(), Some((7, 10)));
        assert!(resolve_shard(None, Some(7), &k8s).is_err(), "index 7 of 7");
    }

    fn result(p: u32, width: usize, seed: u64, params: u64) -> TaskResult {
        TaskResult {
            version: RESULT_VERSION,
            key: "k".into(),
            width,
            p,
            seed,
            params,
            n_equiv: 100,
            complexity_bits: 400.0,
            t_train: Some(10),
            t_gen: Some(20),
            delay: Some(0),
            gen_epochs: 20,
            final_train_acc: Some(1.0),
            final_val_acc: Some(1.0),
            t_mem: Some(30),
            mem_epochs: 30,
            mem_final_train_acc: Some(1.0),
            capacity: vec![],
            wall_secs: 1.0,
            curves: Default::default(),
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
        let v = analysis_json(&rs);
        let p_star = v["p_star"].as_f64().unwrap();
        assert!((p_star - 200.0).abs() < 1.0, "{v}");
        assert_eq!(v["observed_onset"], 400.0);
        assert_eq!(v["capacity_bits_per_param"], serde_json::Value::Null);
        assert_eq!(v["c_used"], PAPER_BITS_PER_PARAM);
        let sizes = &v["primes"][0]["sizes"];
        assert_eq!(sizes[2]["t_mem"]["runs"], 1);
        assert_eq!(sizes[2]["t_mem"]["never"], 1);
        assert_eq!(sizes[2]["delay"]["never"], 1);
        assert_eq!(sizes[1]["delay"]["mean"], 2.5);
        assert_eq!(sizes[1]["min_delay"], 0);
        assert_eq!(sizes[0]["width"], 4);
        // f = S / (C P) = 400 / (2.16 * 100)
        let f = sizes[0]["capacity_fraction"].as_f64().unwrap();
        assert!((f - 400.0 / 216.0).abs() < 1e-12);
        // exp fit over the 5 runs that memorised: the smallest model (largest f) memorises slowest, so
        // ln T_mem rises with f: b > 0, as the spec's model expects
        assert!(v["exp_fit"]["b"].as_f64().unwrap() > 0.0, "{v}");
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
        assert_eq!(points, vec![(100.0, 160.0), (200.0, 300.0)]);
        assert!((fit.unwrap().slope - 1.4).abs() < 1e-12);
        let v = analysis_json(&rs);
        assert!((v["capacity_bits_per_param"].as_f64().unwrap() - 1.4).abs() < 1e-12);
        assert!((v["c_used"].as_f64().unwrap() - 1.4).abs() < 1e-12);
        assert_eq!(v["c_source"], "measured");
    }

    #[test]
    fn several_primes_are_keyed() {
        let rs = vec![result(11, 4, 0, 100), result(13, 4, 0, 120)];
        let v = analysis_json(&rs);
        assert!(v["p_star"].is_object(), "{v}");
        assert!(v["p_star"].get("11").is_some() && v["p_star"].get("13").is_some());
        assert_eq!(v["primes"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn no_results_give_nulls() {
        let v = analysis_json(&[]);
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
    }
}
