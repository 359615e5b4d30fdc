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

/// A row whose numbers can be what they say: an orderedness D and a nominal sparsity are fractions (0 to 1),
/// and D is a number (a NaN was dropped from the plotted means without a word).
fn check_row(row: StudyRow) -> Result<StudyRow, String> {
    let fraction = |v: f64| (0.0..=1.0).contains(&v);
    if !fraction(row.d) {
        return Err(format!("d = {} is not an orderedness (0 to 1)", row.d));
    }
    if let Some(v) = row.d_null
        && !fraction(v)
    {
        return Err(format!("d_shuffled = {v} is not an orderedness (0 to 1)"));
    }
    if !fraction(row.sparsity) {
        return Err(format!(
            "nominal_sparsity = {} is not a fraction (0 to 1)",
            row.sparsity
        ));
    }
    Ok(row)
}

/// The rows of a `study.csv`; rows that cannot be read are named in `problems` and left out.
pub fn read_study_csv(text: &str, problems: &mut Vec<String>) -> Vec<StudyRow> {
    let mut rows = vec![];
    let mut r = ::csv::Reader::from_reader(text.as_bytes());
    for (i, rec) in r.deserialize::<StudyRow>().enumerate() {
        // line i + 2: the header is line 1
        match rec.map_err(|e| e.to_string()).and_then(check_row) {
            Ok(row) => rows.push(row),
            Err(e) => problems.push(format!("{STUDY_CSV} line {}: {e}; left out", i + 2)),
        }
    }
    rows
}

/// Largest `study.csv` read: a million rows of a study.
pub const MAX_STUDY_BYTES: u64 = 256 << 20;

impl StudyFolder {
    /// Read the study folder `dir`; fails only when its `study.csv` cannot be read at all.
    pub fn read(dir: &Path) -> std::io::Result<StudyFolder> {
        // bounded, links not followed, as the other folders' files (a row is under a hundred bytes)
        let text = super::files::read_text_bounded(&dir.join(STUDY_CSV), MAX_STUDY_BYTES)?;
        let mut problems = vec![];
        let rows = read_study_csv(&text, &mut problems);
        let config: Option<OrderingStudyConfig> = match super::files::read_text_bounded(
            &dir.join(STUDY_CONFIG),
            super::sweep_dir::MAX_CONFIG_BYTES,
        ) {
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
