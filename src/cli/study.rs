//! What `grokscope sweep` and `grokscope phase` share: a study folder holding one result file per task,
//! resumable (a task whose file is usable is skipped) and shardable.
//!
//! Sharding (a cluster array job, every shard writing into the same folder on a shared file system):
//! `--shard I/N` runs the tasks k with k mod N = I. Without it the index comes from the environment:
//! `SLURM_ARRAY_TASK_ID`'s place in its array ((ID − MIN) / STEP: `--array=0-7` or `--array=0-30:2`;
//! a list such as `--array=3,7` is refused, naming `--shard`) with N from `--shard-count` or
//! `SLURM_ARRAY_TASK_COUNT`, or `JOB_COMPLETION_INDEX`
//! (Kubernetes indexed jobs) with N from `--shard-count`.

use crate::config::capacity::shard;
use crate::experiment::EventSink;
use crate::protocol::{Event, LabEvent, Outcome};
use crate::store::files::Stored;
use anyhow::{Context, Result, bail};
use std::path::Path;

/// `--shard` and `--shard-count` of a sharded command.
#[derive(clap::Args, Debug, Clone)]
pub struct ShardArgs {
    /// Run only shard I of N, written I/N (0 <= I < N).
    #[arg(long)]
    pub shard: Option<String>,
    /// Number of shards N when the index comes from the environment.
    #[arg(long, allow_negative_numbers = true)]
    pub shard_count: Option<usize>,
}

impl ShardArgs {
    /// The shard these flags and the process's environment name (see [`resolve_shard`]).
    pub fn resolve(&self) -> Result<Option<(usize, usize)>> {
        resolve_shard(self.shard.as_deref(), self.shard_count, &|name| {
            std::env::var(name).ok()
        })
    }
}

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
        // the flag wins; a scheduler's index beside it is said, not silently dropped (a helper's audit)
        for var in ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"] {
            if let Some(v) = env(var) {
                eprintln!("--shard {a} is used; {var} = {v} is not");
            }
        }
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
        if env("JOB_COMPLETION_INDEX").is_some() {
            eprintln!(
                "SLURM_ARRAY_TASK_ID and JOB_COMPLETION_INDEX are both set: the shard is SLURM's \
                 (give --shard I/N to choose)"
            );
        }
        slurm_shard(num("SLURM_ARRAY_TASK_ID", &id)?, count, env, &num)?
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

/// The shard (index, count) of a SLURM array task `id`: its place in the array, (id − MIN) / STEP,
/// of the array's COUNT tasks (or `count`, `--shard-count`, when SLURM does not say). An array whose
/// indices are not evenly spaced (a list such as `--array=3,7`, re-running two failed shards) or whose
/// size is not `--shard-count` cannot name the sweep's shards by place: refused, with the flag that
/// does (`--array=3,7` ran shard 0 of 2, half the sweep, without a word: a helper's audit).
fn slurm_shard(
    id: usize,
    count: Option<usize>,
    env: &dyn Fn(&str) -> Option<String>,
    num: &dyn Fn(&str, &str) -> Result<usize>,
) -> Result<(usize, usize)> {
    let var = |name: &str| env(name).map(|v| num(name, &v)).transpose();
    let min = var("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
    let step = var("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
    let max = var("SLURM_ARRAY_TASK_MAX")?;
    let tasks = var("SLURM_ARRAY_TASK_COUNT")?;
    let by_flag = |n: usize| {
        format!(
            "give the shard itself: --shard $SLURM_ARRAY_TASK_ID/{n}, with an array of the shard numbers \
             to run"
        )
    };
    let n = match (count, tasks) {
        (Some(c), Some(t)) if c != t => bail!(
            "--shard-count {c}, but this SLURM array has {t} tasks (SLURM_ARRAY_TASK_COUNT): its \
             task numbers are not the sweep's shards; {}",
            by_flag(c)
        ),
        (Some(c), _) => c,
        (None, Some(t)) => t,
        (None, None) => {
            bail!("SLURM_ARRAY_TASK_ID is set: give the number of shards with --shard-count")
        }
    };
    if let (Some(max), Some(t)) = (max, tasks)
        && max.checked_sub(min) != t.checked_sub(1).and_then(|k| k.checked_mul(step))
    {
        bail!(
            "this SLURM array's tasks are not evenly spaced (SLURM_ARRAY_TASK_MIN {min}, MAX {max}, \
             STEP {step}, COUNT {t}: a list such as --array=3,7?), so task {id} has no place among \
             the shards; {}",
            by_flag(n)
        );
    }
    let offset = id
        .checked_sub(min)
        .with_context(|| format!("SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}"))?;
    if offset % step != 0 {
        bail!(
            "SLURM_ARRAY_TASK_ID {id} is not MIN {min} plus a multiple of STEP {step}; {}",
            by_flag(n)
        );
    }
    Ok((offset / step, n))
}

/// The tasks of one shard (or of the whole study) and those of them the folder still lacks.
pub struct Todo<T> {
    /// Tasks of this shard.
    pub mine: usize,
    /// Tasks to run now, in task order.
    pub pending: Vec<T>,
}

impl<T> Todo<T> {
    /// Tasks already done, skipped.
    pub fn skipped(&self) -> usize {
        self.mine - self.pending.len()
    }
}

/// The tasks of `all` in shard `shard_of` whose result `load` does not find usable; a stored file it
/// cannot use (corrupt, half-written, another config's, a newer version's, impossible) is moved into
/// `dir/set-aside/` first, so that running its task again writes over nothing (a newer grokscope's
/// result, say, is kept), and said on stderr; then `[shard I/N: ]M {noun}s, S already done, P to run`.
pub fn pending<T: Copy, R>(
    dir: &Path,
    all: Vec<T>,
    shard_of: Option<(usize, usize)>,
    noun: &str,
    load: impl Fn(&T) -> Stored<R>,
    file_name: impl Fn(&T) -> String,
) -> Result<Todo<T>> {
    let mine = match shard_of {
        Some((i, n)) => shard(&all, i, n),
        None => all,
    };
    let mut pending = vec![];
    for t in &mine {
        match load(t) {
            Stored::Done(_) => {}
            Stored::Missing => pending.push(*t),
            Stored::Unusable(why) => {
                let name = file_name(t);
                let to = crate::store::files::set_aside(dir, "", &name).with_context(|| {
                    format!("{name} ({why}) cannot be set aside, so its task was not run again")
                })?;
                eprintln!("set aside {name} as {to} ({why}); its task runs again");
                pending.push(*t);
            }
        }
    }
    let todo = Todo {
        mine: mine.len(),
        pending,
    };
    if let Some((i, n)) = shard_of {
        eprint!("shard {i}/{n}: ");
    }
    eprintln!(
        "{}, {} already done, {} to run",
        super::count(todo.mine, noun),
        todo.skipped(),
        todo.pending.len()
    );
    Ok(todo)
}

/// How a study's results reach its folder: `take` finds a result in a lab event, `write` writes its
/// file, `describe` is its progress line (after `done/tasks `), `progress` a line for a lab event
/// that is no result (a running task's stage), when it says one.
pub struct ResultFormat<R> {
    pub take: fn(LabEvent) -> Option<R>,
    pub write: fn(&Path, &R) -> Result<()>,
    pub describe: fn(&R) -> String,
    pub progress: fn(&LabEvent) -> Option<String>,
}

/// An event sink that writes each finished task's result file into the folder and shows progress (a
/// bar, or a line a task on stderr); remembers the first write error (later results are not written)
/// and the outcome.
pub struct ResultFiles<'a, R> {
    dir: &'a Path,
    format: ResultFormat<R>,
    bar: Option<indicatif::ProgressBar>,
    skipped: usize,
    tasks: usize,
    written: usize,
    outcome: Option<Outcome>,
    error: Option<anyhow::Error>,
}

/// What a study session did.
pub struct Written {
    /// Task results written now.
    pub written: usize,
    pub outcome: Outcome,
}

impl<'a, R> ResultFiles<'a, R> {
    /// A sink for the pending tasks of `todo`, writing into `dir`; with `bar`, a progress bar.
    pub fn new<T>(dir: &'a Path, todo: &Todo<T>, format: ResultFormat<R>, bar: bool) -> Self {
        let skipped = todo.skipped();
        ResultFiles {
            dir,
            format,
            bar: bar.then(|| super::task_bar(todo.mine, skipped)),
            skipped,
            tasks: todo.mine,
            written: 0,
            outcome: None,
            error: None,
        }
    }

    fn line(&self, text: String) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    /// After the run: clear the bar; the first write error, or the outcome (a failure also said on
    /// stderr as `{kind} failed: ..`). `ended` names the study in "`ended` ended without a result".
    pub fn finish(self, kind: &str, ended: &str) -> Result<Written> {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
        if let Some(e) = self.error {
            return Err(e.context(format!("writing into {}", self.dir.display())));
        }
        let outcome = self
            .outcome
            .with_context(|| format!("{ended} ended without a result"))?;
        if let Outcome::Failed { message } = &outcome {
            eprintln!("{kind} failed: {message}");
        }
        Ok(Written {
            written: self.written,
            outcome,
        })
    }
}

impl<R> EventSink for ResultFiles<'_, R> {
    fn emit(&mut self, ev: Event) {
        match ev {
            Event::Lab { payload, .. } => {
                if let Some(line) = (self.format.progress)(&payload) {
                    self.line(line);
                }
                let Some(result) = (self.format.take)(payload) else {
                    return;
                };
                if self.error.is_some() {
                    return;
                }
                if let Err(e) = (self.format.write)(self.dir, &result) {
                    self.error = Some(e);
                    return;
                }
                self.written += 1;
                let done = self.skipped + self.written;
                if let Some(bar) = &self.bar {
                    bar.set_position(done as u64);
                }
                self.line(format!(
                    "{done}/{} {}",
                    self.tasks,
                    (self.format.describe)(&result)
                ));
            }
            Event::Finished { outcome, .. } => self.outcome = Some(outcome),
            Event::Refused { message } | Event::Note { message, .. } => self.line(message),
            Event::Started { .. }
            | Event::Metrics { .. }
            | Event::Progress { .. }
            | Event::Saved { .. }
            | Event::Changed { .. }
            | Event::Paused { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
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
        // a stepped array, --array=0-30:2: task 30 is the 16th, shard 15 of 16
        let stepped = env_of(&[
            ("SLURM_ARRAY_TASK_ID", "30"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "30"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "16"),
        ]);
        assert_eq!(resolve_shard(None, None, &stepped).unwrap(), Some((15, 16)));
        // a list re-running shards 3 and 7 (--array=3,7): no place of its tasks is a shard; and an
        // array of 2 tasks with --shard-count 8 likewise (it ran shard 0 of 2, half the sweep)
        let list = |id: &'static str| {
            env_of(&[
                ("SLURM_ARRAY_TASK_ID", id),
                ("SLURM_ARRAY_TASK_MIN", "3"),
                ("SLURM_ARRAY_TASK_MAX", "7"),
                ("SLURM_ARRAY_TASK_COUNT", "2"),
            ])
        };
        for id in ["3", "7"] {
            let e = resolve_shard(None, None, &list(id))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("not evenly spaced") && e.contains("--shard $SLURM_ARRAY_TASK_ID/2"),
                "{e}"
            );
            let e = resolve_shard(None, Some(8), &list(id))
                .unwrap_err()
                .to_string();
            assert!(e.contains("--shard $SLURM_ARRAY_TASK_ID/8"), "{e}");
        }
        // the flag still chooses for such an array
        assert_eq!(
            resolve_shard(Some("7/8"), None, &list("7")).unwrap(),
            Some((7, 8))
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
}
