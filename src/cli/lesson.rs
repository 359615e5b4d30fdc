//! `grokscope lesson`: check lesson files (authors and CI) and list the bundled lessons.

use crate::config::lesson::{BUNDLED, Lesson};
use anyhow::Result;
use std::path::Path;
use std::process::ExitCode;

/// The largest lesson file read (a lesson is a few kilobytes of text).
const MAX_LESSON_BYTES: u64 = 1 << 20;

/// Check each file; a refused one is named on stderr as `FILE:LINE: field: problem`. Failure when
/// any file is refused or unreadable.
pub fn check_cmd(files: &[impl AsRef<Path>]) -> Result<ExitCode> {
    let mut ok = true;
    for file in files {
        let file = file.as_ref();
        match check_file(file) {
            Ok(steps) => outln!("{}: ok ({})", file.display(), super::count(steps, "step"))?,
            Err(problem) => {
                ok = false;
                eprintln!("{problem}");
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The number of steps of a lesson file, or its refusal as one line (`FILE:LINE: ..`).
pub fn check_file(file: &Path) -> std::result::Result<usize, String> {
    let name = file.display();
    let bytes = crate::store::files::read_bounded(file, MAX_LESSON_BYTES)
        .map_err(|e| format!("{name}: cannot be read: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|e| format!("{name}: not UTF-8 text: {e}"))?;
    Lesson::parse(&text)
        .map(|l| l.steps.len())
        .map_err(|e| e.located(&name.to_string()))
}

/// Print the bundled lessons, one a line: name, step count, title. Failure if one does not parse (a
/// broken build: every bundled lesson is tested).
pub fn list_cmd() -> Result<ExitCode> {
    let mut ok = true;
    for (name, text) in BUNDLED {
        match Lesson::parse(text) {
            Ok(l) => outln!("{name:<28} {:>2} steps  {}", l.steps.len(), l.title)?,
            Err(e) => {
                ok = false;
                eprintln!("{}", e.located(&format!("assets/lessons/{name}.toml")));
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
