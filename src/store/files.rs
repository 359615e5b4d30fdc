//! Writing folder files safely: atomic writes (a temporary name beside the target, then a rename) and
//! file-name parts made from free text. Every folder format in [`crate::store`] and every export uses
//! these.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Write a file by calling `fill` on a buffered writer to a temporary file beside `path`
/// (`.NAME.PID-N.partial`, its own to this call), then renaming it into place, so a failure never
/// leaves a half-written file under the final name and writers of one file never meet. `io_err` turns
/// the writer's own I/O failures into the caller's error type.
pub fn write_atomically<E>(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> Result<(), E>,
    io_err: impl Fn(io::Error) -> E,
) -> Result<(), E> {
    let file_name = path.file_name().ok_or_else(|| {
        io_err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path names no file",
        ))
    })?;
    // The temporary name is this process's and this write's own: shards of one sweep started together
    // write the same `sweep.toml`, and with one shared name one process's rename took the other's
    // temporary file away ("writing sweep.toml: No such file or directory": a helper's audit).
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".{}-{n}.partial", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let file = fs::File::create(&tmp).map_err(&io_err)?;
        let mut w = BufWriter::new(file);
        fill(&mut w)?;
        let file = w.into_inner().map_err(|e| io_err(e.into_error()))?;
        file.sync_all().map_err(&io_err)?;
        fs::rename(&tmp, path).map_err(&io_err)
    })();
    if result.is_err() {
        // Best effort: the temporary file is ours and useless now.
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The process and write that [`write_atomically`]'s temporary file `name` (`.NAME.PID-N.partial`)
/// belongs to, when `name` is one.
fn partial_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?.strip_suffix(".partial")?;
    let (_, owner) = rest.rsplit_once('.')?;
    let (pid, n) = owner.split_once('-')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// Whether the process `pid` still runs: `None` where that cannot be told (no `/proc`).
fn process_runs(pid: u32) -> Option<bool> {
    if pid == std::process::id() {
        return Some(true);
    }
    let proc = Path::new("/proc");
    (cfg!(target_os = "linux") && proc.join("self").exists())
        .then(|| proc.join(pid.to_string()).exists())
}

/// A temporary file of [`write_atomically`] (`.NAME.PID-N.partial`), by whether its writer is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Partial {
    /// Its process no longer runs: a write that a killed process left unfinished, safe to remove.
    Stale(u32),
    /// Its process still runs: a write under way.
    Live(u32),
    /// Whether its process runs cannot be told here (no `/proc`): it may be a write under way.
    Unknown(u32),
}

impl Partial {
    /// What the file named `name` is, when it is such a temporary file (its process looked up now).
    pub fn of(name: &str) -> Option<Self> {
        let pid = partial_owner(name)?;
        Some(match process_runs(pid) {
            Some(false) => Partial::Stale(pid),
            Some(true) => Partial::Live(pid),
            None => Partial::Unknown(pid),
        })
    }

    /// Whose write it is, in words, after the file's name and "is": "a write that process 12 left
    /// unfinished (it no longer runs)", "being written by process 12, which still runs", …
    pub fn writer_text(self) -> String {
        match self {
            Partial::Stale(pid) => {
                format!("a write that process {pid} left unfinished (it no longer runs)")
            }
            Partial::Live(pid) => format!("being written by process {pid}, which still runs"),
            Partial::Unknown(pid) => format!(
                "a write of process {pid}, which may still run (whether it runs cannot be told here)"
            ),
        }
    }
}

/// Remove the temporary files of [`write_atomically`] (`.NAME.PID-N.partial`) in `dir` and in its
/// sub-folders `subs` that a process left when it was killed mid-write: those whose process no longer
/// runs ([`Partial::Stale`]). One whose process still runs (a write under way) is never removed, and
/// where processes cannot be looked up (no `/proc`) none is; each such file is named instead. One
/// sentence per file, its path relative to `dir`. Called where a folder is opened for writing, before
/// anything is written, and (for a run folder) once its lock is held (`run_dir::LOCK_FILE`): a writer
/// on another machine sharing the folder, whose process this machine cannot see, holds the lock while
/// it writes, so the folder is refused before its files could be taken for a killed process's.
pub fn clear_stale_partials(dir: &Path, subs: &[&str]) -> Vec<String> {
    let mut said = vec![];
    for sub in std::iter::once("").chain(subs.iter().copied()) {
        let folder = dir.join(sub);
        // a sub-folder that is a link is not followed
        if !fs::symlink_metadata(&folder).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        let Ok(entries) = fs::read_dir(&folder) else {
            continue;
        };
        let mut found: Vec<(String, Partial)> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_string();
                let partial = Partial::of(&name)?;
                Some((name, partial))
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, partial) in found {
            let shown = Path::new(sub).join(&name).display().to_string();
            let whose = partial.writer_text();
            said.push(match partial {
                Partial::Stale(_) => match fs::remove_file(folder.join(&name)) {
                    Ok(()) => format!("removed {shown}: {whose}"),
                    Err(e) => format!("{shown}, {whose}, could not be removed: {e}"),
                },
                Partial::Live(_) => format!(
                    "{shown} is {whose} (is another command writing this folder?); left as it is"
                ),
                Partial::Unknown(_) => format!(
                    "{shown} is {whose}; left as it is: remove it once nothing writes this folder"
                ),
            });
        }
    }
    said
}

/// Why `dir`, asked for as a folder, is not one, in words: it does not exist, it is a file, or it
/// cannot be looked at (and why).
pub fn not_a_folder(dir: &Path) -> String {
    let name = dir.display();
    match fs::metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => format!("{name} does not exist"),
        Err(e) => format!("{name} cannot be read: {e}"),
        Ok(m) if m.is_dir() => format!("{name} is a folder"),
        Ok(_) => format!("{name} is a file, not a folder"),
    }
}

/// The folder, inside a run, sweep or study folder, where a command moves the files it cannot use
/// instead of writing over them.
pub const SET_ASIDE: &str = "set-aside";

/// Move `dir/sub/name` (`sub` empty: `dir/name`) into `dir/set-aside/sub/`, as `name.2`, `name.3`, …
/// when the name is taken there; where it went, relative to `dir`.
pub fn set_aside(dir: &Path, sub: &str, name: &str) -> io::Result<String> {
    let to_dir = dir.join(SET_ASIDE).join(sub);
    fs::create_dir_all(&to_dir)?;
    let mut to_name = name.to_string();
    let mut k = 2;
    while fs::symlink_metadata(to_dir.join(&to_name)).is_ok() {
        to_name = format!("{name}.{k}");
        k += 1;
    }
    fs::rename(dir.join(sub).join(name), to_dir.join(&to_name))?;
    Ok(Path::new(SET_ASIDE)
        .join(sub)
        .join(to_name)
        .display()
        .to_string())
}

/// Write `bytes` to `path` atomically (see [`write_atomically`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomically(path, |w| w.write_all(bytes), |e| e)
}

/// `text` as a part of a file name: letters, digits, `-` and `_` kept, anything else becomes `_`;
/// `empty` when nothing is left.
pub fn safe_file_part(text: &str, empty: &str) -> String {
    let s: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() { empty.into() } else { s }
}

/// Names that tell run folders apart, for lists and legends: each folder's own name, or, where
/// another folder ends alike (`runs/a/seed1`, `runs/b/seed1`), the shortest run of its path's last
/// components that no other folder's path ends with (`a/seed1`, `b/seed1`), joined by `/`. A path
/// that runs out of components first (the same folder twice, or `/seed1` beside `/a/seed1`) is
/// named whole. Distinct paths get distinct names: two names alike would be the same number of
/// last components, alike, which the search rules out.
pub fn distinct_folder_names(dirs: &[&Path]) -> Vec<String> {
    let parts: Vec<Vec<String>> = dirs
        .iter()
        .map(|d| {
            d.components()
                .filter_map(|c| match c {
                    std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                    std::path::Component::Prefix(_)
                    | std::path::Component::RootDir
                    | std::path::Component::CurDir
                    | std::path::Component::ParentDir => None,
                })
                .collect()
        })
        .collect();
    let tail = |p: &[String], k: usize| p[p.len().saturating_sub(k)..].to_vec();
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (1..=p.len())
                .find(|&k| {
                    let own = tail(p, k);
                    parts
                        .iter()
                        .enumerate()
                        .all(|(j, q)| j == i || tail(q, k) != own)
                })
                .map_or_else(|| dirs[i].display().to_string(), |k| tail(p, k).join("/"))
        })
        .collect()
}

/// The first of `first`, `numbered(2)`, `numbered(3)`, … that names nothing on disk (not even a
/// link): a new folder's path beside others of its name.
pub fn first_free(first: PathBuf, numbered: impl Fn(u64) -> PathBuf) -> PathBuf {
    let free = |p: &PathBuf| fs::symlink_metadata(p).is_err();
    if free(&first) {
        return first;
    }
    (2..).map(numbered).find(free).unwrap_or(first)
}

/// `secs` since the Unix epoch as a UTC date and time for a folder name, `2026-12-07_15-32-26`:
/// sorts as it reads, and has no `:` (not allowed in Windows names). humantime's RFC 3339 text
/// (`2026-12-07T15:32:26Z`) with `_` for `T` and `-` for `:`.
pub fn utc_stamp(secs: u64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    humantime::format_rfc3339_seconds(at)
        .to_string()
        .trim_end_matches('Z')
        .replace('T', "_")
        .replace(':', "-")
}

/// Read the regular file at `path` whole, refusing what could not be read safely: a symbolic link
/// (never followed, so nothing outside a folder is read through one, and `/dev/zero` is never read
/// until memory runs out), anything that is not a regular file, and a file larger than `max` bytes.
/// The read is bounded by the size the file system declares, so a file that grows meanwhile cannot
/// make it run on.
pub fn read_bounded(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let meta = fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "is a symbolic link; links are not followed",
        ));
    }
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "is not a regular file",
        ));
    }
    if meta.len() > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("is {} bytes, more than the {max} bytes allowed", meta.len()),
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    fs::File::open(path)?
        .take(meta.len())
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// [`read_bounded`] as text: bytes that are not UTF-8 are an `InvalidData` error saying so.
pub fn read_text_bounded(path: &Path, max: u64) -> io::Result<String> {
    String::from_utf8(read_bounded(path, max)?).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("is not text (UTF-8): {e}"),
        )
    })
}

/// The state of one task's result file in a sweep or study folder.
#[derive(Clone, Debug, PartialEq)]
pub enum Stored<R> {
    /// A result of this task under the folder's config.
    Done(Box<R>),
    /// No file.
    Missing,
    /// A file that cannot be used (half-written, not JSON, another task's, config's or version's), and
    /// why.
    Unusable(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two run folders with the same last name were both called "seed1" in a comparison's legend
    /// (a researcher's audit). Expected, by the rule (the shortest distinguishing suffix): a folder
    /// no other shares its name with is named alone; two that share it, by one more component each;
    /// those that share two, by three; the same folder twice, and one that is all of another's
    /// suffix, whole.
    #[test]
    fn folders_alike_at_the_end_are_named_by_the_shortest_suffix_that_tells_them_apart() {
        let names = |dirs: &[&str]| {
            let paths: Vec<&Path> = dirs.iter().map(Path::new).collect();
            distinct_folder_names(&paths)
        };
        assert_eq!(
            names(&["runs/a/seed1", "runs/b/seed1", "runs/b/seed2"]),
            ["a/seed1", "b/seed1", "seed2"]
        );
        assert_eq!(
            names(&["/x/a/lr/s0", "/y/a/lr/s0", "/y/b/lr/s0"]),
            ["x/a/lr/s0", "y/a/lr/s0", "b/lr/s0"]
        );
        assert_eq!(names(&["/seed1", "/a/seed1"]), ["/seed1", "a/seed1"]);
        assert_eq!(names(&["runs/s", "runs/s"]), ["runs/s", "runs/s"]);
        assert_eq!(names(&["only"]), ["only"]);
        assert!(names(&[]).is_empty());
    }

    /// Expected values from `date -u -d @SECS +%F_%H-%M-%S` (GNU date): the epoch, a leap day, the
    /// last second of a century year that is not a leap year, and a day in 2026.
    #[test]
    fn utc_stamps_read_as_dates() {
        assert_eq!(utc_stamp(0), "1970-01-01_00-00-00");
        assert_eq!(utc_stamp(951_782_400), "2000-02-29_00-00-00");
        assert_eq!(utc_stamp(4_107_542_399), "2100-02-28_23-59-59");
        assert_eq!(utc_stamp(1_796_657_546), "2026-12-07_15-32-26");
    }

    /// A temporary file whose process no longer runs is removed; one of a live process (this one) and
    /// anything not named as [`write_atomically`] names its files are left. Expected: the PIDs used
    /// here, this process's own and one past the kernel's largest (`pid_max` is at most 2^22), which
    /// no process can have.
    #[cfg(target_os = "linux")]
    #[test]
    fn only_partial_files_of_processes_that_are_gone_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("checkpoints");
        fs::create_dir(&sub).unwrap();
        let gone = 1 << 23;
        let live = std::process::id();
        let stale = format!(".run.json.{gone}-3.partial");
        let stale_sub = format!(".step-1.safetensors.{gone}-0.partial");
        let ours = format!(".metrics.csv.{live}-7.partial");
        for (at, name) in [
            (dir.path(), stale.as_str()),
            (sub.as_path(), stale_sub.as_str()),
            (dir.path(), ours.as_str()),
            (dir.path(), ".run.json.partial"),
            (dir.path(), ".hidden"),
        ] {
            fs::write(at.join(name), "x").unwrap();
        }
        let said = clear_stale_partials(dir.path(), &["checkpoints", "frames"]);
        assert_eq!(said.len(), 3, "{said:?}");
        assert!(
            said.iter()
                .any(|s| s.starts_with(&format!("removed {stale}"))),
            "{said:?}"
        );
        assert!(
            said.iter()
                .any(|s| s.starts_with(&format!("removed checkpoints/{stale_sub}"))),
            "{said:?}"
        );
        assert!(said.iter().any(|s| s.contains("still runs")), "{said:?}");
        assert!(!dir.path().join(&stale).exists());
        assert!(!sub.join(&stale_sub).exists());
        for kept in [ours.as_str(), ".run.json.partial", ".hidden"] {
            assert!(dir.path().join(kept).exists(), "{kept}");
        }
    }

    /// Writers of one file at once all succeed, and the file ends whole, one writer's bytes: shards of
    /// a sweep started together write `sweep.toml` so, and with one shared temporary name a rename
    /// took another writer's file away (10 failures in 40 starts in a helper's audit).
    #[test]
    fn writers_of_one_file_at_once_do_not_meet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sweep.toml");
        let failures: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8u8)
                .map(|i| {
                    let path = &path;
                    s.spawn(move || {
                        (0..200)
                            .filter(|_| write_atomic(path, &[i; 4096]).is_err())
                            .count()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(failures, 0);
        let bytes = fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 4096);
        assert!(bytes.iter().all(|&b| b == bytes[0]));
        // nothing temporary is left behind
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1);
    }
}
