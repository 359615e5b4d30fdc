//! The Ordering study folder, as read back: `study.csv` (one row a run, written by `grokscope
//! ordering --study`) and `config.json` (the study's config). Rows and a config that cannot be read are
//! named in `problems`; what can be read is used.

use crate::config::ordering::{OrderingStudyConfig, Scheme, StudyKind};
use crate::protocol::StudyRow;
use std::path::Path;

/// The Ordering study's rows file.
pub const STUDY_CSV: &str = "study.csv";
/// The Ordering study's config file.
pub const STUDY_CONFIG: &str = "config.json";

/// An Ordering study folder as read.
#[derive(Clone, Debug)]
pub struct StudyFolder {
    pub rows: Vec<StudyRow>,
    /// The study's config, when `config.json` was readable.
    pub config: Option<OrderingStudyConfig>,
    /// The study's kind: the config's, or guessed from the rows without one (a grid study has only
    /// unpruned runs, a sparsity study pruned ones too).
    pub kind: StudyKind,
    /// What could not be read, one sentence each.
    pub problems: Vec<String>,
}

/// The rows of a `study.csv`; rows that cannot be read are named in `problems` and left out.
pub fn read_study_csv(text: &str, problems: &mut Vec<String>) -> Vec<StudyRow> {
    let mut rows = vec![];
    let mut r = ::csv::Reader::from_reader(text.as_bytes());
    for (i, rec) in r.deserialize::<StudyRow>().enumerate() {
        match rec {
            Ok(row) => rows.push(row),
            // line i + 2: the header is line 1
            Err(e) => problems.push(format!("{STUDY_CSV} line {}: {e}; left out", i + 2)),
        }
    }
    rows
}

impl StudyFolder {
    /// Read the study folder `dir`; fails only when its `study.csv` cannot be read at all.
    pub fn read(dir: &Path) -> std::io::Result<StudyFolder> {
        let text = std::fs::read_to_string(dir.join(STUDY_CSV))?;
        let mut problems = vec![];
        let rows = read_study_csv(&text, &mut problems);
        let config: Option<OrderingStudyConfig> =
            match std::fs::read_to_string(dir.join(STUDY_CONFIG)) {
                Ok(t) => match serde_json::from_str(&t) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        problems.push(format!(
                        "{STUDY_CONFIG} is unusable ({e}); the study kind is guessed from the rows"
                    ));
                        None
                    }
                },
                Err(e) => {
                    problems.push(format!(
                        "{STUDY_CONFIG}: {e}; the study kind is guessed from the rows"
                    ));
                    None
                }
            };
        let kind = config.as_ref().map_or_else(
            || {
                if rows.iter().any(|r| r.scheme != Scheme::None) {
                    StudyKind::Sparsity
                } else {
                    StudyKind::Grid
                }
            },
            |c| c.kind,
        );
        Ok(StudyFolder {
            rows,
            config,
            kind,
            problems,
        })
    }
}
