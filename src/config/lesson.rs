//! Lessons: a teacher's script for the window, as data (TOML). A lesson is a list of steps; a step has a
//! title, a few sentences of text, optional notes for the teacher alone (the speaker notes' window)
//! and the actions the window takes when the step is shown (choose a
//! lab and a preset, change a setting, start, run until an event, fork and compare, show, hide or
//! highlight panels, move the step cursor, open a bundled folder, limit the speed, turn a view option
//! such as the log step axis on or off).
//!
//! [`Lesson::parse`] checks a file once, at the edge, into a [`ValidLesson`]: its shape (unknown fields
//! and actions are refused), then what the actions name, by playing the lesson through in order: the
//! lab chosen, its presets and panels, each setting against the lab's config (the value must give a
//! config that validates), the events a lab can reach. A problem is refused with its line and field.
//!
//! The engine does not know the window: what the labs declare (their panel keys and presets) is the
//! table [`LessonLab::panel_keys`] / [`LessonLab::preset_names`] here, and a test in `tests/` holds the
//! app's labs to it, both ways.

use super::capacity::{CapacitySweepConfig, sweep_presets};
use super::ordering::{OrderingConfig, ordering_presets};
use super::parse::line_of;
use super::phase::{PhaseStudyConfig, phase_presets};
use super::{ConfigError, FORKABLE, GrokkingConfig, SPEED_LIMITS, presets, truncate_echo};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Range;
use std::str::FromStr;
use toml::de::{DeTable, DeValue};

/// A lesson as written: plain data. Only [`Lesson::parse`] makes a [`ValidLesson`] of it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    /// The lesson's name, as `grokscope lesson list` and the window show it.
    pub title: String,
    /// One sentence on what the lesson shows (optional).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// The steps in order (`[[step]]` tables in the file).
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
}

/// One step: the text shown, then the actions taken, in order.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub title: String,
    /// A few sentences in plain words.
    pub text: String,
    /// For the teacher alone, in the speaker-notes window: what to say or ask, what the room will
    /// see and when (optional; the class never sees it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
}

/// What a step does to the window. In the file, an inline table whose `do` names the action.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Switch to `lab` and load a preset (by name) or an inline config (a table, as in a config file)
    /// into its panel; exactly one of the two.
    Choose {
        lab: LessonLab,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        preset: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config: Option<toml::Table>,
    },
    /// Change one setting of the chosen config, by its dotted name (`optim.weight_decay`). Once a run
    /// is going only the live settings (`optim.lr`, `optim.weight_decay`) may change.
    Set { field: String, value: toml::Value },
    /// Start the chosen config (a run, a sweep or a phase study).
    Start {},
    /// Hold the running run.
    Pause {},
    /// Let the run go on (resuming it if paused) until `event`; the step waits, and can be skipped.
    RunUntil { event: Milestone },
    /// Let the run go on (resuming it if paused) for `secs` seconds of wall time.
    RunFor { secs: f64 },
    /// Fork the current run with one setting changed, at the checkpoint nearest before `at` (an event
    /// the run reached; default: its latest step); the fork trains, becomes the current run and is drawn
    /// over its parent (Grokking lab; the fields a fork may change are [`FORKABLE`]).
    Fork {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<Milestone>,
        field: String,
        value: toml::Value,
    },
    /// Show these panels (by key).
    Show { panels: Vec<String> },
    /// Hide these panels (by key).
    Hide { panels: Vec<String> },
    /// Draw attention to one panel for the rest of the step.
    Highlight { panel: String },
    /// Move the step cursor (the step the views show) to a step, or back to following the latest.
    Cursor { at: CursorAt },
    /// Open a folder bundled with grokscope (a path under `assets/`), e.g. a finished sweep.
    Open { folder: String },
    /// Hold the runs to `limit` steps a second, as the top bar's speed limit does: a pace a room can
    /// watch (the run's views then come live, paid for by the time the limit holds it). Without
    /// `limit`, flat out again.
    Speed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<f64>,
    },
    /// Turn one of the lab's view options on or off (by key, [`LessonLab::view_options`]): how the
    /// panels draw, e.g. the plots' logarithmic step axis.
    View { option: String, on: bool },
    /// Show one of the lab's sweep figures (by name, [`LessonLab::figure_names`]: the Capacity
    /// tab's), for the sweep's prime `prime` (absent: its first) with the speed model's C `c` in bits
    /// per parameter (absent: the sweep's own capacity fit, else the paper's 2.16), as a scene's
    /// `[sweep]` sets them.
    Figure {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prime: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        c: Option<f64>,
    },
}

/// Where a C a lesson's `figure` gives came from (the figures' notes say it).
pub const LESSON_C: &str = "given by the lesson";

/// Which lab a lesson drives: the window's tabs, lower-cased.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum LessonLab {
    /// Modular arithmetic: memorisation, then generalisation.
    Grokking,
    /// Memorisation speed against generalisation speed across model sizes.
    Capacity,
    /// Orderedness of a complete layer under pruning.
    Ordering,
}

/// The Grokking lab's view option: the plots' step axis on a log scale, as the grokking papers draw
/// it.
pub const LOG_STEPS: &str = "log_steps";

/// Why `option` is not a view option of `lab`, which has `options`: "the ordering lab has no view
/// option `log_steps` (it has outputs_last)" (a lesson's `view` step, a scene's `[views]`).
pub fn no_view_option(lab: impl std::fmt::Display, options: &[&str], option: &str) -> String {
    let has = if options.is_empty() {
        "it has none".to_string()
    } else {
        format!("it has {}", options.join(", "))
    };
    format!(
        "the {lab} lab has no view option `{}` ({has})",
        truncate_echo(option, 40)
    )
}
/// The Ordering lab's view option: the graph draws the outputs at the end of the line (the paper's
/// picture), or where the best order puts them (then the arcs below the line are the weight D
/// counts).
pub const OUTPUTS_LAST: &str = "outputs_last";

impl LessonLab {
    pub const ALL: [LessonLab; 3] = [
        LessonLab::Grokking,
        LessonLab::Capacity,
        LessonLab::Ordering,
    ];

    /// The name a lesson uses (the tab's title, lower-cased).
    pub fn name(self) -> &'static str {
        match self {
            LessonLab::Grokking => "grokking",
            LessonLab::Capacity => "capacity",
            LessonLab::Ordering => "ordering",
        }
    }

    /// The keys of the panels the lab's window declares (`LabSlot::panels`; a test holds them equal).
    pub fn panel_keys(self) -> &'static [&'static str] {
        match self {
            LessonLab::Grokking => &[
                "config",
                "plots",
                "accuracy",
                "loss",
                "weight_norm",
                "fourier",
                "runs",
                "runs_list",
                "spectrum",
                "clock",
                "grid",
                "neurons",
                "ablation",
                "phase",
            ],
            LessonLab::Capacity => &["config", "crossing", "figures"],
            LessonLab::Ordering => &[
                "config",
                "plots",
                "mse",
                "orderedness",
                "sparsity",
                "graph",
                "heatmap",
            ],
        }
    }

    /// The view options the lab's window declares (`LabSlot::view_options`; a test holds them equal):
    /// what a `view` action may turn on or off.
    pub fn view_options(self) -> &'static [&'static str] {
        match self {
            LessonLab::Grokking => &[LOG_STEPS],
            LessonLab::Capacity => &[],
            LessonLab::Ordering => &[OUTPUTS_LAST],
        }
    }

    /// The sweep figures a `figure` step shows by name (the Capacity tab's figure tabs; a test holds
    /// them equal).
    pub fn figure_names(self) -> &'static [&'static str] {
        match self {
            LessonLab::Capacity => &["crossing", "bits", "capacity", "speed", "onsets"],
            LessonLab::Grokking | LessonLab::Ordering => &[],
        }
    }

    /// The presets of the lab's config panel (`LabSlot::preset_names`; a test holds them equal).
    pub fn preset_names(self) -> Vec<&'static str> {
        match self {
            LessonLab::Grokking => presets().iter().map(|p| p.name).collect(),
            LessonLab::Capacity => sweep_presets().iter().map(|p| p.name).collect(),
            LessonLab::Ordering => ordering_presets().iter().map(|p| p.name).collect(),
        }
    }

    /// The studies the lab runs beside its presets (the Grokking lab's phase diagrams), which a lesson
    /// chooses like a preset.
    pub fn study_names(self) -> Vec<&'static str> {
        match self {
            LessonLab::Grokking => phase_presets().iter().map(|p| p.name).collect(),
            LessonLab::Capacity | LessonLab::Ordering => vec![],
        }
    }

    /// Whether the lab's views have a step cursor (a run to scrub through).
    fn has_cursor(self) -> bool {
        match self {
            LessonLab::Grokking | LessonLab::Ordering => true,
            LessonLab::Capacity => false,
        }
    }
}

impl fmt::Display for LessonLab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An event a step waits for. Written `memorised`, `generalised`, `finished`, `step N` or `tasks N`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(try_from = "String", into = "String")]
pub enum Milestone {
    /// The run memorised its training set (train accuracy >= 99 %; Grokking runs).
    Memorised,
    /// The run generalised (validation accuracy >= 99 %; Grokking runs).
    Generalised,
    /// The run, sweep or study finished, however it ended.
    Finished,
    /// The run reached this many optimiser steps.
    Step(u64),
    /// This many tasks of the sweep or study are done.
    Tasks(usize),
}

impl FromStr for Milestone {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let words: Vec<&str> = s.split_whitespace().collect();
        let count = |n: &str| {
            n.parse::<u64>()
                .map_err(|_| format!("`{n}` is not a count"))
        };
        match words.as_slice() {
            ["memorised"] => Ok(Milestone::Memorised),
            ["generalised"] => Ok(Milestone::Generalised),
            ["finished"] => Ok(Milestone::Finished),
            ["step", n] => Ok(Milestone::Step(count(n)?)),
            ["tasks", n] => Ok(Milestone::Tasks(
                usize::try_from(count(n)?).map_err(|_| format!("{n} tasks is too many"))?,
            )),
            _ => Err(format!(
                "unknown event `{}`: expected memorised, generalised, finished, step N or tasks N",
                truncate_echo(s, 40)
            )),
        }
    }
}

impl TryFrom<String> for Milestone {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Milestone> for String {
    fn from(m: Milestone) -> String {
        m.to_string()
    }
}

impl fmt::Display for Milestone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Milestone::Memorised => f.write_str("memorised"),
            Milestone::Generalised => f.write_str("generalised"),
            Milestone::Finished => f.write_str("finished"),
            Milestone::Step(n) => write!(f, "step {n}"),
            Milestone::Tasks(n) => write!(f, "tasks {n}"),
        }
    }
}

/// Where a `cursor` action moves the step cursor: a step (an integer) or `"latest"`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(try_from = "toml::Value", into = "toml::Value")]
pub enum CursorAt {
    /// This optimiser step (the nearest one recorded).
    Step(u64),
    /// Follow the latest step again.
    Latest,
}

impl TryFrom<toml::Value> for CursorAt {
    type Error = String;

    fn try_from(v: toml::Value) -> Result<Self, String> {
        match &v {
            toml::Value::Integer(n) if *n >= 0 => Ok(CursorAt::Step(n.unsigned_abs())),
            toml::Value::String(s) if s == "latest" => Ok(CursorAt::Latest),
            other => Err(format!(
                "`{}` is not a step: expected a step number (0 or more) or \"latest\"",
                truncate_echo(&other.to_string(), 40)
            )),
        }
    }
}

impl From<CursorAt> for toml::Value {
    fn from(c: CursorAt) -> toml::Value {
        match c {
            // steps beyond i64 do not occur (a run of 2^63 steps)
            CursorAt::Step(n) => toml::Value::Integer(i64::try_from(n).unwrap_or(i64::MAX)),
            CursorAt::Latest => toml::Value::String("latest".into()),
        }
    }
}

/// Why a lesson was refused: where (line, 1-based, when known) and which field, and what is wrong.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}{field}: {message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct LessonError {
    pub line: Option<usize>,
    /// Where in the lesson, e.g. `step[2].actions[1].preset` (steps and actions counted from 1).
    pub field: String,
    pub message: String,
}

impl LessonError {
    /// The refusal as one line naming the file: `FILE:LINE: field: message` (`FILE: ..` when the
    /// line is not known).
    pub fn located(&self, file: &str) -> String {
        match self.line {
            Some(line) => format!("{file}:{line}: {}: {}", self.field, self.message),
            None => format!("{file}: {}: {}", self.field, self.message),
        }
    }
}

/// A lesson that [`Lesson::parse`] accepted: the only kind the window plays. Read through `Deref`.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidLesson(Lesson);

impl std::ops::Deref for ValidLesson {
    type Target = Lesson;

    fn deref(&self) -> &Lesson {
        &self.0
    }
}

impl From<ValidLesson> for Lesson {
    fn from(valid: ValidLesson) -> Lesson {
        valid.0
    }
}

/// The lessons built into the binary (`assets/lessons/`), as (file stem, text), in teaching order.
pub const BUNDLED: [(&str, &str); 6] = [
    (
        "memorise-then-understand",
        include_str!("../../assets/lessons/memorise-then-understand.toml"),
    ),
    (
        "weight-decay",
        include_str!("../../assets/lessons/weight-decay.toml"),
    ),
    (
        "clock-inside",
        include_str!("../../assets/lessons/clock-inside.toml"),
    ),
    (
        "when-grokking-happens",
        include_str!("../../assets/lessons/when-grokking-happens.toml"),
    ),
    (
        "small-models",
        include_str!("../../assets/lessons/small-models.toml"),
    ),
    (
        "pruning-makes-order",
        include_str!("../../assets/lessons/pruning-makes-order.toml"),
    ),
];

/// The longest lesson or step title, in characters: a title is read at a glance (the bundled
/// lessons' longest is 44; a 200,000-character one once covered the whole window).
pub const MAX_TITLE_CHARS: usize = 120;
/// The longest lesson summary (the bundled lessons' longest: 113).
pub const MAX_SUMMARY_CHARS: usize = 400;
/// The longest step text, shown whole in the lesson bar and the presenter view (the bundled
/// lessons' longest: 481).
pub const MAX_TEXT_CHARS: usize = 1500;
/// The longest speaker notes (their window scrolls; the bundled lessons' longest: 383).
pub const MAX_NOTES_CHARS: usize = 6000;

/// The bundled lesson named `name` (its file stem), parsed.
pub fn bundled(name: &str) -> Option<Result<ValidLesson, LessonError>> {
    BUNDLED
        .iter()
        .find(|(stem, _)| *stem == name)
        .map(|(_, text)| Lesson::parse(text))
}

impl Lesson {
    /// Check a lesson file: its shape, then everything its actions name (see the module's doc).
    pub fn parse(text: &str) -> Result<ValidLesson, LessonError> {
        let lesson: Lesson = toml::from_str(text).map_err(|e| shape_error(text, &e))?;
        // the text parsed above, so it parses here too; the spans only place the messages
        let doc = DeTable::parse(text).ok();
        let at = |path: &[Seg<'_>]| -> Option<usize> {
            let doc = doc.as_ref()?;
            span_of(doc.get_ref(), path).map(|s| line_of(text, s.start))
        };
        Checker::default().lesson(&lesson, &at)?;
        Ok(ValidLesson(lesson))
    }

    /// The lesson as a TOML file that [`Lesson::parse`] reads back equal.
    pub fn to_toml(&self) -> String {
        // plain strings, numbers, tables and enums always serialise
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

/// A step in a path into the file: a key or an index into an array (0-based).
#[derive(Clone, Copy, Debug)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// A refusal of the file's shape (syntax, unknown or missing fields, unknown actions), placed at the
/// innermost field that holds the parser's position. An error inside an action (whose position the
/// parser gives as the whole `actions` list) is placed by reading each action of that list alone.
fn shape_error(text: &str, e: &toml::de::Error) -> LessonError {
    let message = truncate_echo(e.message().trim(), 400);
    let Some(span) = e.span() else {
        return LessonError {
            line: None,
            field: "lesson".into(),
            message,
        };
    };
    let message = crate::config::parse::name_duplicate(message, text, &span);
    let Ok(doc) = DeTable::parse(text) else {
        // a syntax error: the parser's position is all there is
        return LessonError {
            line: Some(line_of(text, span.start)),
            field: "lesson".into(),
            message,
        };
    };
    let mut path = vec![];
    let mut value_span = None;
    let mut table = doc.get_ref();
    let at = span.start;
    // whether the walk ended at a value that is no table (a key, not a table, holds `at`)
    let mut leaf = false;
    // the innermost key whose text (key to the end of its value, children included) holds `at`
    'walk: loop {
        for (k, v) in table {
            let whole = k.span().start.min(extent(v).start)..extent(v).end.max(k.span().end);
            if !(whole.start <= at && at < whole.end.max(whole.start + 1)) {
                continue;
            }
            path.push(k.get_ref().to_string());
            value_span = Some(v.span());
            let mut v = v;
            loop {
                match v.get_ref() {
                    DeValue::Table(t) => {
                        table = t;
                        continue 'walk;
                    }
                    DeValue::Array(a) => {
                        let inner = a.iter().enumerate().find(|(_, x)| {
                            let r = extent(x);
                            r.start <= at && at < r.end
                        });
                        match inner {
                            Some((i, x))
                                if x.span() != span || matches!(x.get_ref(), DeValue::Table(_)) =>
                            {
                                path.push(format!("[{}]", i + 1));
                                value_span = Some(x.span());
                                v = x;
                            }
                            _ => {
                                leaf = true;
                                break 'walk;
                            }
                        }
                    }
                    _ => {
                        leaf = true;
                        break 'walk;
                    }
                }
            }
        }
        break;
    }
    // an error the parser placed on a whole list of actions: find the action it is about
    if path.last().is_some_and(|k| k == "actions")
        && let Some(list) = value_span.and_then(|s| action_list(&doc, s))
    {
        #[derive(Deserialize)]
        struct One {
            #[allow(dead_code)]
            a: Action,
        }
        for (j, item) in list.iter().enumerate() {
            let one = text
                .get(item.clone())
                .map(|t| toml::from_str::<One>(&format!("a = {t}")));
            if let Some(Err(inner)) = one {
                path.push(format!("[{}]", j + 1));
                return LessonError {
                    line: Some(line_of(text, item.start)),
                    field: join_path(&path),
                    message: truncate_echo(inner.message().trim(), 400),
                };
            }
        }
    }
    // a missing field is placed at the table that lacks it, not at the table's first key (which
    // starts where the table does): for the top level, the whole file (no line)
    let mut line = Some(line_of(text, span.start));
    if message.starts_with("missing field") && leaf {
        path.pop();
        if path.is_empty() {
            line = None;
        }
    }
    LessonError {
        line,
        field: if path.is_empty() {
            "lesson".into()
        } else {
            join_path(&path)
        },
        message,
    }
}

/// Where a value's text lies, its children's keys and values included (a `[[step]]` table's own span
/// is only its header).
fn extent(v: &toml::Spanned<DeValue<'_>>) -> Range<usize> {
    let mut r = v.span();
    match v.get_ref() {
        DeValue::Table(t) => {
            for (k, x) in t {
                let e = extent(x);
                r.start = r.start.min(k.span().start).min(e.start);
                r.end = r.end.max(k.span().end).max(e.end);
            }
        }
        DeValue::Array(a) => {
            for x in a.iter() {
                let e = extent(x);
                r.start = r.start.min(e.start);
                r.end = r.end.max(e.end);
            }
        }
        _ => {}
    }
    r
}

/// The spans of the items of the array whose span is `span`, wherever it is in the document.
fn action_list(doc: &toml::Spanned<DeTable<'_>>, span: Range<usize>) -> Option<Vec<Range<usize>>> {
    fn find(v: &toml::Spanned<DeValue<'_>>, span: &Range<usize>) -> Option<Vec<Range<usize>>> {
        match v.get_ref() {
            DeValue::Array(a) if v.span() == *span => Some(a.iter().map(|x| x.span()).collect()),
            DeValue::Array(a) => a.iter().find_map(|x| find(x, span)),
            DeValue::Table(t) => t.iter().find_map(|(_, x)| find(x, span)),
            _ => None,
        }
    }
    doc.get_ref().iter().find_map(|(_, v)| find(v, &span))
}

/// `step`, `[2]`, `actions`, `[1]` as `step[2].actions[1]`.
fn join_path(parts: &[String]) -> String {
    let mut out = String::new();
    for p in parts {
        if !p.starts_with('[') && !out.is_empty() {
            out.push('.');
        }
        out.push_str(p);
    }
    out
}

fn span_of(table: &DeTable<'_>, path: &[Seg<'_>]) -> Option<Range<usize>> {
    let (first, rest) = path.split_first()?;
    let Seg::Key(key) = first else { return None };
    let (k, v) = table.iter().find(|(k, _)| k.get_ref() == key)?;
    if rest.is_empty() {
        return Some(k.span());
    }
    let mut value = v;
    let mut rest = rest;
    while let Some((seg, tail)) = rest.split_first() {
        match (seg, value.get_ref()) {
            (Seg::Index(i), DeValue::Array(a)) => value = a.get(*i)?,
            (Seg::Key(_), DeValue::Table(t)) => return span_of(t, rest).or(Some(value.span())),
            _ => return Some(value.span()),
        }
        rest = tail;
    }
    Some(value.span())
}

/// The config a lesson has chosen, as it would be in the panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A Grokking run.
    Run,
    /// A Grokking phase study.
    Phase,
    /// A Capacity sweep.
    Sweep,
    /// An Ordering run.
    Ordering,
}

impl Kind {
    /// Refuse `value` unless it reads as this kind's config and validates.
    fn check(self, value: &toml::Value) -> Result<(), String> {
        fn read<T: DeserializeOwned>(
            value: &toml::Value,
            validate: fn(&T) -> Result<(), ConfigError>,
        ) -> Result<(), String> {
            let cfg: T = value
                .clone()
                .try_into()
                .map_err(|e: toml::de::Error| e.message().trim().to_string())?;
            validate(&cfg).map_err(|e| e.to_string())
        }
        match self {
            Kind::Run => read(value, GrokkingConfig::validate),
            Kind::Phase => read(value, PhaseStudyConfig::validate),
            Kind::Sweep => read(value, CapacitySweepConfig::validate),
            Kind::Ordering => read(value, OrderingConfig::validate),
        }
    }

    fn of(lab: LessonLab) -> Kind {
        match lab {
            LessonLab::Grokking => Kind::Run,
            LessonLab::Capacity => Kind::Sweep,
            LessonLab::Ordering => Kind::Ordering,
        }
    }

    /// The named preset of `lab` as a config value, and its kind.
    fn preset(lab: LessonLab, name: &str) -> Option<(Kind, toml::Value)> {
        match lab {
            LessonLab::Grokking => presets()
                .into_iter()
                .find(|p| p.name == name)
                .map(|p| (Kind::Run, value_of(&p.config)))
                .or_else(|| {
                    phase_presets()
                        .into_iter()
                        .find(|p| p.name == name)
                        .map(|p| (Kind::Phase, value_of(&p.config)))
                }),
            LessonLab::Capacity => sweep_presets()
                .into_iter()
                .find(|p| p.name == name)
                .map(|p| (Kind::Sweep, value_of(&p.config))),
            LessonLab::Ordering => ordering_presets()
                .into_iter()
                .find(|p| p.name == name)
                .map(|p| (Kind::Ordering, value_of(&p.config))),
        }
    }

    /// Whether a run of this kind reaches `m` (and has a single run to follow).
    fn reaches(self, m: Milestone) -> bool {
        match (self, m) {
            (_, Milestone::Finished) => true,
            (Kind::Run, Milestone::Memorised | Milestone::Generalised | Milestone::Step(_)) => true,
            (Kind::Ordering, Milestone::Step(_)) => true,
            (Kind::Phase | Kind::Sweep, Milestone::Tasks(_)) => true,
            (Kind::Phase | Kind::Sweep, Milestone::Memorised | Milestone::Generalised)
            | (Kind::Phase | Kind::Sweep, Milestone::Step(_))
            | (Kind::Run | Kind::Ordering, Milestone::Tasks(_))
            | (Kind::Ordering, Milestone::Memorised | Milestone::Generalised) => false,
        }
    }

    /// The last step a run of this kind with config `value` trains (its epoch cap in steps), with
    /// the setting that caps it in words; `None` for a study or sweep (they count tasks).
    fn last_step(self, value: &toml::Value) -> Option<(u64, String)> {
        let cap = |epochs: u64, per_epoch: u64, name: &str| {
            let steps = epochs.saturating_mul(per_epoch);
            let per = if per_epoch == 1 {
                "1 step an epoch".to_string()
            } else {
                format!("{per_epoch} steps an epoch")
            };
            (steps, format!("{name} = {epochs}, at {per}"))
        };
        match self {
            Kind::Run => {
                let c: GrokkingConfig = value.clone().try_into().ok()?;
                Some(cap(c.max_epochs, c.steps_per_epoch(), "max_epochs"))
            }
            Kind::Ordering => {
                let c: OrderingConfig = value.clone().try_into().ok()?;
                Some(cap(c.epochs, c.steps_per_epoch(), "epochs"))
            }
            Kind::Phase | Kind::Sweep => None,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Kind::Run => "a Grokking run",
            Kind::Phase => "a phase study",
            Kind::Sweep => "a Capacity sweep",
            Kind::Ordering => "an Ordering run",
        }
    }
}

/// A config as a TOML value.
fn value_of<T: Serialize>(config: &T) -> toml::Value {
    // a config of numbers, strings, lists and enums always converts
    toml::Value::try_from(config).unwrap_or_else(|_| toml::Value::Table(toml::Table::new()))
}

/// The settings a running run takes live (the rest need a new run or a fork).
const LIVE: [&str; 2] = ["optim.lr", "optim.weight_decay"];

/// The window's state as the lesson leaves it, step by step.
#[derive(Default)]
struct Checker {
    /// The lab chosen, the kind and value of its config.
    chosen: Option<(LessonLab, Kind, toml::Value)>,
    /// Whether the chosen config was started.
    started: bool,
}

type At<'a> = dyn Fn(&[Seg<'_>]) -> Option<usize> + 'a;

impl Checker {
    fn lesson(&mut self, lesson: &Lesson, at: &At<'_>) -> Result<(), LessonError> {
        let fail = |path: &[Seg<'_>], message: String| LessonError {
            line: at(path),
            field: field_name(path),
            message,
        };
        if lesson.title.trim().is_empty() {
            return Err(fail(
                &[Seg::Key("title")],
                "the lesson needs a title".into(),
            ));
        }
        if lesson.steps.is_empty() {
            return Err(fail(
                &[Seg::Key("title")],
                "the lesson has no steps (add [[step]] tables)".into(),
            ));
        }
        let too_long = |what: &str, v: &str, max: usize| {
            let n = v.chars().count();
            (n > max).then(|| {
                format!(
                    "{what} has {n} characters, more than the {max} the lesson bar and presenter \
                     view have room for"
                )
            })
        };
        for (key, v, max) in [
            ("title", &lesson.title, MAX_TITLE_CHARS),
            ("summary", &lesson.summary, MAX_SUMMARY_CHARS),
        ] {
            if let Some(why) = too_long(&format!("the lesson's {key}"), v, max) {
                return Err(fail(&[Seg::Key(key)], why));
            }
        }
        for (i, step) in lesson.steps.iter().enumerate() {
            let here = [Seg::Key("step"), Seg::Index(i)];
            for (key, v) in [("title", &step.title), ("text", &step.text)] {
                if v.trim().is_empty() {
                    let path = [here[0], here[1], Seg::Key(key)];
                    return Err(fail(&path, format!("the step's {key} is empty")));
                }
            }
            for (key, v, max) in [
                ("title", &step.title, MAX_TITLE_CHARS),
                ("text", &step.text, MAX_TEXT_CHARS),
                ("notes", &step.notes, MAX_NOTES_CHARS),
            ] {
                if let Some(why) = too_long(&format!("the step's {key}"), v, max) {
                    return Err(fail(&[here[0], here[1], Seg::Key(key)], why));
                }
            }
            for (j, action) in step.actions.iter().enumerate() {
                let path = [here[0], here[1], Seg::Key("actions"), Seg::Index(j)];
                self.action(action, &|key: Option<&str>, message: String| {
                    let mut p = path.to_vec();
                    p.extend(key.map(Seg::Key));
                    fail(&p, message)
                })?;
            }
        }
        Ok(())
    }

    /// The chosen lab, kind and config, or the refusal of an action that needs one.
    fn chosen(
        &mut self,
        what: &str,
        fail: &dyn Fn(Option<&str>, String) -> LessonError,
    ) -> Result<&mut (LessonLab, Kind, toml::Value), LessonError> {
        self.chosen.as_mut().ok_or_else(|| {
            fail(
                None,
                format!("`{what}` needs a lab: choose one first ({{ do = \"choose\", lab = .. }})"),
            )
        })
    }

    fn action(
        &mut self,
        action: &Action,
        fail: &dyn Fn(Option<&str>, String) -> LessonError,
    ) -> Result<(), LessonError> {
        match action {
            Action::Choose {
                lab,
                preset,
                config,
            } => {
                let (kind, value) = match (preset, config) {
                    (Some(name), None) => Kind::preset(*lab, name).ok_or_else(|| {
                        let mut known = lab.preset_names();
                        known.extend(lab.study_names());
                        fail(
                            Some("preset"),
                            format!(
                                "the {lab} lab has no preset `{}` (it has {})",
                                truncate_echo(name, 40),
                                known.join(", ")
                            ),
                        )
                    })?,
                    (None, Some(table)) => {
                        let value = toml::Value::Table(table.clone());
                        let kind = Kind::of(*lab);
                        kind.check(&value).map_err(|m| {
                            fail(Some("config"), format!("not a {lab} config: {m}"))
                        })?;
                        (kind, value)
                    }
                    (Some(_), Some(_)) | (None, None) => {
                        return Err(fail(
                            None,
                            "`choose` takes a preset or a config (one of the two)".into(),
                        ));
                    }
                };
                self.chosen = Some((*lab, kind, value));
                self.started = false;
            }
            Action::Set { field, value } => {
                let started = self.started;
                let (_, kind, config) = self.chosen("set", fail)?;
                // a setting the config does not have is named so, before or after `start`
                let changed = changed(config, field, value, *kind, fail)?;
                if started && (*kind != Kind::Run || !LIVE.contains(&field.as_str())) {
                    return Err(fail(
                        Some("field"),
                        format!(
                            "`{field}` cannot change while {} is going (only {} can); set it before \
                             `start`, or fork",
                            kind.describe(),
                            LIVE.join(" and ")
                        ),
                    ));
                }
                *config = changed;
            }
            Action::Start {} => {
                self.chosen("start", fail)?;
                self.started = true;
            }
            Action::Pause {} | Action::RunFor { .. } => {
                let (name, secs) = match action {
                    Action::RunFor { secs } => ("run_for", Some(*secs)),
                    _ => ("pause", None),
                };
                self.need_start(name, fail)?;
                if let (None, Some((_, kind @ (Kind::Phase | Kind::Sweep), _))) =
                    (secs, &self.chosen)
                {
                    // its threads run whole tasks: the window cannot hold them (`Controls::Tasks`)
                    return Err(fail(
                        None,
                        format!(
                            "`pause` cannot hold {}: it runs whole tasks on several threads and goes \
                             on (let a step wait with run_until or run_for instead)",
                            kind.describe()
                        ),
                    ));
                }
                if let Some(s) = secs
                    && !(s.is_finite() && s > 0.0 && s <= 3600.0)
                {
                    return Err(fail(
                        Some("secs"),
                        format!("{s} is outside the allowed range (0, 3600]"),
                    ));
                }
            }
            Action::RunUntil { event } => {
                self.need_start("run_until", fail)?;
                let (_, kind, config) = self.chosen("run_until", fail)?;
                if !kind.reaches(*event) {
                    return Err(fail(
                        Some("event"),
                        format!("{} never reports `{event}`", kind.describe()),
                    ));
                }
                // a step past the run's end never comes: the wait ended at once, at the run's end
                if let Milestone::Step(n) = *event
                    && let Some((last, why)) = kind.last_step(config)
                    && n > last
                {
                    return Err(fail(
                        Some("event"),
                        format!(
                            "`{event}` is past the run's end: it trains {last} steps at most \
                             ({why}); wait for `finished`, or raise the cap before `start`"
                        ),
                    ));
                }
            }
            Action::Fork { at, field, value } => {
                self.need_start("fork", fail)?;
                let (_, kind, config) = self.chosen("fork", fail)?;
                if *kind != Kind::Run {
                    return Err(fail(
                        None,
                        format!("only a Grokking run can fork, not {}", kind.describe()),
                    ));
                }
                if !FORKABLE.contains(&field.as_str()) {
                    return Err(fail(
                        Some("field"),
                        format!(
                            "a fork may change only {}, not `{}`",
                            FORKABLE.join(", "),
                            truncate_echo(field, 40)
                        ),
                    ));
                }
                if let Some(m @ Milestone::Tasks(_)) = at {
                    return Err(fail(Some("at"), format!("a run has no `{m}` to fork at")));
                }
                // the fork is checked against the run it forks; it becomes the current run
                *config = changed(config, field, value, *kind, fail)?;
            }
            Action::Show { panels } | Action::Hide { panels } => {
                let (lab, ..) = self.chosen("show", fail)?;
                let lab = *lab;
                for p in panels {
                    panel(lab, p, "panels", fail)?;
                }
            }
            Action::Highlight { panel: p } => {
                let (lab, ..) = self.chosen("highlight", fail)?;
                panel(*lab, p, "panel", fail)?;
            }
            Action::Cursor { .. } => {
                let (lab, ..) = self.chosen("cursor", fail)?;
                if !lab.has_cursor() {
                    return Err(fail(None, format!("the {lab} lab has no step cursor")));
                }
            }
            Action::Speed { limit } => {
                self.chosen("speed", fail)?;
                if let Some(l) = *limit
                    && !SPEED_LIMITS.contains(&l)
                {
                    return Err(fail(
                        Some("limit"),
                        format!(
                            "{l} is outside the allowed range [{}, {}] steps a second",
                            SPEED_LIMITS.start(),
                            SPEED_LIMITS.end()
                        ),
                    ));
                }
            }
            Action::View { option, .. } => {
                let (lab, ..) = self.chosen("view", fail)?;
                let options = lab.view_options();
                if !options.contains(&option.as_str()) {
                    return Err(fail(Some("option"), no_view_option(lab, options, option)));
                }
            }
            Action::Figure { name, prime, c } => {
                let (lab, ..) = self.chosen("figure", fail)?;
                let names = lab.figure_names();
                if names.is_empty() {
                    return Err(fail(None, format!("the {lab} lab shows no sweep figures")));
                }
                if !names.contains(&name.as_str()) {
                    return Err(fail(
                        Some("name"),
                        format!(
                            "no figure `{}` (there are {})",
                            truncate_echo(name, 40),
                            names.join(", ")
                        ),
                    ));
                }
                if let Some(p) = *prime
                    && !crate::config::is_prime(p)
                {
                    return Err(fail(Some("prime"), format!("{p} is not a prime")));
                }
                if let Some(c) = *c
                    && !(c.is_finite() && c > 0.0)
                {
                    return Err(fail(
                        Some("c"),
                        format!(
                            "C = {c} must be a finite number of bits per parameter greater than 0 \
                             (e.g. 2.16, the paper's value)"
                        ),
                    ));
                }
            }
            Action::Open { folder } => {
                self.chosen("open", fail)?;
                let parts: Vec<&str> = folder.split('/').filter(|p| !p.is_empty()).collect();
                let bundled = parts.first() == Some(&"assets")
                    && parts.len() > 1
                    && !parts.iter().any(|p| *p == ".." || *p == ".")
                    && !folder.starts_with('/')
                    && !folder.contains('\\');
                if !bundled {
                    return Err(fail(
                        Some("folder"),
                        format!(
                            "`{}` is not a bundled folder: give a path under assets/, without ..",
                            truncate_echo(folder, 80)
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn need_start(
        &self,
        what: &str,
        fail: &dyn Fn(Option<&str>, String) -> LessonError,
    ) -> Result<(), LessonError> {
        if self.started {
            Ok(())
        } else {
            Err(fail(
                None,
                format!("`{what}` needs a run: add {{ do = \"start\" }} before it"),
            ))
        }
    }
}

/// `config` with the dotted `field` set to `value`, refused unless the field exists and the result is
/// a valid config of `kind`.
fn changed(
    config: &toml::Value,
    field: &str,
    value: &toml::Value,
    kind: Kind,
    fail: &dyn Fn(Option<&str>, String) -> LessonError,
) -> Result<toml::Value, LessonError> {
    let mut out = config.clone();
    let shown = truncate_echo(field, 60);
    let unknown = || {
        fail(
            Some("field"),
            format!("{} has no setting `{shown}`", kind.describe()),
        )
    };
    let table = out.as_table_mut().ok_or_else(unknown)?;
    if !set_dotted(table, field, value) {
        return Err(unknown());
    }
    kind.check(&out).map_err(|m| {
        let is_unknown = m.contains("unknown field");
        fail(
            Some(if is_unknown { "field" } else { "value" }),
            if is_unknown {
                format!("{} has no setting `{shown}`", kind.describe())
            } else {
                format!("`{shown} = {value}` is refused: {m}")
            },
        )
    })?;
    Ok(out)
}

/// Set the dotted `field` (`optim.weight_decay`) of a config's table to `value`; false (nothing
/// changed) when a parent table is missing or the name is empty. A table of settings (e.g. `model`) is
/// set field by field, so replacing it by a plain value is refused too; a tagged choice (the Ordering
/// lab's `pruning = { scheme = .., k = .. }`) is set whole. Whether the leaf exists is for the config's
/// own reading to say (unknown fields are refused there).
pub fn set_dotted(root: &mut toml::Table, field: &str, value: &toml::Value) -> bool {
    let parts: Vec<&str> = field.split('.').collect();
    let Some((last, parents)) = parts.split_last() else {
        return false;
    };
    let mut table = root;
    for p in parents {
        match table.get_mut(*p).and_then(toml::Value::as_table_mut) {
            Some(t) => table = t,
            None => return false,
        }
    }
    let whole_table = matches!(value, toml::Value::Table(_));
    if last.is_empty() || (matches!(table.get(*last), Some(toml::Value::Table(_))) && !whole_table)
    {
        return false;
    }
    table.insert((*last).to_string(), value.clone());
    true
}

/// Refuse a panel key the lab does not declare.
fn panel(
    lab: LessonLab,
    key: &str,
    field: &str,
    fail: &dyn Fn(Option<&str>, String) -> LessonError,
) -> Result<(), LessonError> {
    if lab.panel_keys().contains(&key) {
        Ok(())
    } else {
        Err(fail(
            Some(field),
            format!(
                "the {lab} lab has no panel `{}` (it has {})",
                truncate_echo(key, 40),
                lab.panel_keys().join(", ")
            ),
        ))
    }
}

/// A path as a field name: `step[2].actions[1].preset` (indices from 1, as a reader counts).
fn field_name(path: &[Seg<'_>]) -> String {
    let parts: Vec<String> = path
        .iter()
        .map(|seg| match seg {
            Seg::Key(k) => (*k).to_string(),
            Seg::Index(i) => format!("[{}]", i + 1),
        })
        .collect();
    join_path(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small valid lesson to break in the tests below (line numbers: see the text).
    const GOOD: &str = r#"title = "T"

[[step]]
title = "one"
text = "Choose."
actions = [
    { do = "choose", lab = "grokking", preset = "fast-mlp" },
    { do = "set", field = "optim.weight_decay", value = 0.5 },
    { do = "start" },
    { do = "run_until", event = "memorised" },
]

[[step]]
title = "two"
text = "Look."
actions = [
    { do = "highlight", panel = "plots" },
    { do = "fork", at = "memorised", field = "optim.weight_decay", value = 0.0 },
    { do = "cursor", at = "latest" },
]
"#;

    #[test]
    fn every_bundled_lesson_parses() {
        for (name, text) in BUNDLED {
            let l = Lesson::parse(text).unwrap_or_else(|e| panic!("{}", e.located(name)));
            assert!(l.steps.len() >= 3, "{name}");
        }
    }

    /// Every step of a bundled lesson has speaker notes for the teacher; a file without them still
    /// reads (they are optional), with none.
    #[test]
    fn bundled_steps_have_notes_and_notes_are_optional() {
        for (name, text) in BUNDLED {
            let l = Lesson::parse(text).unwrap();
            for (i, step) in l.steps.iter().enumerate() {
                assert!(
                    !step.notes.trim().is_empty(),
                    "{name}: step {} ({}) has no notes",
                    i + 1,
                    step.title
                );
                assert_ne!(
                    step.notes.trim(),
                    step.text.trim(),
                    "{name}: step {}",
                    i + 1
                );
            }
        }
        let l = Lesson::parse(GOOD).unwrap();
        assert!(l.steps.iter().all(|s| s.notes.is_empty()));
        assert!(!l.to_toml().contains("notes"));
    }

    #[test]
    fn a_lesson_round_trips() {
        for text in BUNDLED.iter().map(|(_, t)| *t).chain([GOOD]) {
            let l = Lesson::parse(text).unwrap();
            let back = Lesson::parse(&l.to_toml()).unwrap();
            assert_eq!(back, l);
        }
    }

    #[test]
    fn milestones_read_and_print() {
        for s in [
            "memorised",
            "generalised",
            "finished",
            "step 250",
            "tasks 3",
        ] {
            let m: Milestone = s.parse().unwrap();
            assert_eq!(m.to_string(), s);
        }
        assert!("step".parse::<Milestone>().is_err());
        assert!("step -1".parse::<Milestone>().is_err());
        assert!("grokked".parse::<Milestone>().is_err());
    }

    /// Each break of GOOD is refused at the line and field named (lines counted in GOOD's text).
    #[test]
    fn malformed_lessons_are_refused_with_line_and_field() {
        let cases = [
            // (from, to, line, field, words in the message)
            (
                r#"preset = "fast-mlp""#,
                r#"preset = "fast-mpl""#,
                7,
                "step[1].actions[1].preset",
                "no preset `fast-mpl`",
            ),
            (
                r#"value = 0.5"#,
                r#"value = -3.0"#,
                8,
                "step[1].actions[2].value",
                "refused",
            ),
            (
                r#"field = "optim.weight_decay", value = 0.5"#,
                r#"field = "optim.weight_dekay", value = 0.5"#,
                8,
                "step[1].actions[2].field",
                "no setting",
            ),
            (
                r#"event = "memorised""#,
                r#"event = "grokked""#,
                10,
                "step[1].actions[4]",
                "unknown event",
            ),
            (
                r#"{ do = "start" },"#,
                r#"{ do = "begin" },"#,
                9,
                "step[1].actions[3]",
                "begin",
            ),
            (
                r#"panel = "plots""#,
                r#"panel = "plot""#,
                17,
                "step[2].actions[1].panel",
                "no panel `plot`",
            ),
            (
                r#"text = "Look.""#,
                r#"txet = "Look.""#,
                15,
                "step[2]",
                "txet",
            ),
            (
                r#"field = "optim.weight_decay", value = 0.0"#,
                r#"field = "model.hidden", value = 3"#,
                18,
                "step[2].actions[2].field",
                "a fork may change only",
            ),
            (r#"title = "two""#, r#"title = "two"#, 14, "lesson", ""),
        ];
        for (from, to, line, field, words) in cases {
            assert!(GOOD.contains(from), "{from}");
            let text = GOOD.replacen(from, to, 1);
            let e = Lesson::parse(&text).unwrap_err();
            assert_eq!(e.line, Some(line), "{to}: {e}");
            assert!(e.field.starts_with(field), "{to}: {e}");
            assert!(e.message.contains(words), "{to}: {e}");
        }
    }

    /// A field left out is named at the table that lacks it: the lesson (no line) for its own,
    /// the step's header for a step's ("1: title" once blamed the file's first key).
    #[test]
    fn a_missing_field_is_placed_at_the_table_that_lacks_it() {
        let e = Lesson::parse("title = \"T\"\n").unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (None, "lesson"), "{e}");
        assert!(e.message.contains("missing field `step`"), "{e}");
        assert_eq!(e.located("f.toml"), "f.toml: lesson: missing field `step`");
        let text = GOOD.replacen(r#"title = "two""#, "", 1);
        let e = Lesson::parse(&text).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (Some(13), "step[2]"), "{e}");
        assert!(e.message.contains("missing field `title`"), "{e}");
    }

    #[test]
    fn actions_in_the_wrong_order_are_refused() {
        let no_start = GOOD.replacen(r#"    { do = "start" },"#, "", 1);
        let e = Lesson::parse(&no_start).unwrap_err();
        assert!(e.message.contains("needs a run"), "{e}");
        assert_eq!(e.field, "step[1].actions[3]");
        let no_lab = GOOD.replacen(
            r#"{ do = "choose", lab = "grokking", preset = "fast-mlp" },"#,
            "",
            1,
        );
        let e = Lesson::parse(&no_lab).unwrap_err();
        assert!(e.message.contains("choose one first"), "{e}");
        // a phase study reports tasks, not memorisation
        let study = GOOD.replacen(r#"preset = "fast-mlp""#, r#"preset = "phase-tiny""#, 1);
        let e = Lesson::parse(&study).unwrap_err();
        assert!(e.field.starts_with("step[1].actions[2]"), "{e}");
    }

    /// A step past the run's epoch cap never comes, so `run_until` of it is refused naming the cap
    /// (the fast-mlp preset's, read from the preset itself: its `max_epochs` epochs of its
    /// `steps_per_epoch()` steps); the cap's own step is accepted. A misspelt setting after `start` is
    /// named as one the config does not have, not as one that cannot change while the run goes (a
    /// teacher's audit, L7).
    #[test]
    fn a_step_past_the_cap_and_a_misspelt_live_setting_are_named_so() {
        let fast = presets()
            .into_iter()
            .find(|p| p.name == "fast-mlp")
            .unwrap()
            .config;
        let last = fast.max_epochs * fast.steps_per_epoch();
        let until = |n: u64| {
            GOOD.replacen(
                r#"event = "memorised" },"#,
                &format!(r#"event = "step {n}" }},"#),
                1,
            )
        };
        Lesson::parse(&until(last)).unwrap();
        let e = Lesson::parse(&until(last + 1)).unwrap_err();
        assert_eq!(e.field, "step[1].actions[4].event", "{e}");
        assert!(e.message.contains("past the run's end"), "{e}");
        assert!(
            e.message
                .contains(&format!("max_epochs = {}", fast.max_epochs)),
            "{e}"
        );
        let after_start = GOOD.replacen(
            r#"    { do = "run_until", event = "memorised" },"#,
            r#"    { do = "set", field = "optim.weight_decy", value = 0.0 },"#,
            1,
        );
        let e = Lesson::parse(&after_start).unwrap_err();
        assert_eq!(e.field, "step[1].actions[4].field", "{e}");
        assert!(
            e.message.contains("has no setting `optim.weight_decy`"),
            "{e}"
        );
        // a setting that exists still cannot change while the run goes
        let fixed = after_start.replacen(
            r#"field = "optim.weight_decy", value = 0.0"#,
            r#"field = "seed", value = 3"#,
            1,
        );
        let e = Lesson::parse(&fixed).unwrap_err();
        assert!(e.message.contains("cannot change while"), "{e}");
    }

    /// A study's or sweep's threads run whole tasks, so the window refuses a `pause` of one
    /// (`Controls::Tasks`, the lesson player's "cannot pause"); the check says so before class. A run
    /// pauses, and `run_for` only waits.
    #[test]
    fn a_pause_of_a_study_or_sweep_is_refused() {
        let with =
            |choose: &str, wait: &str| {
                GOOD.replacen(
                r#"{ do = "choose", lab = "grokking", preset = "fast-mlp" },"#,
                choose,
                1,
            )
            .replacen(r#"{ do = "set", field = "optim.weight_decay", value = 0.5 },"#, "", 1)
            .replacen(r#"{ do = "run_until", event = "memorised" },"#, wait, 1)
            // the second step's fork and cursor are a run's; keep only its highlight (of a panel
            // every lab has)
            .replacen(
                r#"{ do = "fork", at = "memorised", field = "optim.weight_decay", value = 0.0 },"#,
                "",
                1,
            )
            .replacen(r#"{ do = "cursor", at = "latest" },"#, "", 1)
            .replacen(r#"panel = "plots""#, r#"panel = "config""#, 1)
            };
        let run = r#"{ do = "choose", lab = "grokking", preset = "fast-mlp" },"#;
        let study = r#"{ do = "choose", lab = "grokking", preset = "phase-tiny" },"#;
        let sweep = r#"{ do = "choose", lab = "capacity", preset = "tiny" },"#;
        let pause = r#"{ do = "pause" },"#;
        let run_for = r#"{ do = "run_for", secs = 2 },"#;
        Lesson::parse(&with(run, pause)).unwrap();
        for chosen in [study, sweep] {
            Lesson::parse(&with(chosen, run_for)).unwrap();
            let e = Lesson::parse(&with(chosen, pause)).unwrap_err();
            assert_eq!(e.field, "step[1].actions[3]", "{e}");
            assert!(e.message.contains("cannot hold"), "{e}");
        }
    }

    /// `speed` takes a limit in the window's range (SPEED_LIMITS, the top bar's slider) or none (flat
    /// out), and needs a chosen lab like every action that acts on one.
    #[test]
    fn a_speed_limit_in_the_window_range() {
        let with = |speed: &str| {
            GOOD.replacen(
                r#"    { do = "start" },"#,
                &format!(
                    "    {speed}
    {{ do = \"start\" }},"
                ),
                1,
            )
        };
        let l = Lesson::parse(&with(r#"{ do = "speed", limit = 40 },"#)).unwrap();
        assert_eq!(l.steps[0].actions[2], Action::Speed { limit: Some(40.0) });
        let l = Lesson::parse(&with(r#"{ do = "speed" },"#)).unwrap();
        assert_eq!(l.steps[0].actions[2], Action::Speed { limit: None });
        for bad in ["0.5", "20000", "nan", "-inf"] {
            let text = with(&format!("{{ do = \"speed\", limit = {bad} }},"));
            let e = Lesson::parse(&text).unwrap_err();
            assert_eq!(e.field, "step[1].actions[3].limit", "{bad}: {e}");
            assert!(
                e.message.contains("outside the allowed range"),
                "{bad}: {e}"
            );
        }
        let e = Lesson::parse(&with(r#"{ do = "speed", limt = 40 },"#)).unwrap_err();
        assert!(e.message.contains("limt"), "{e}");
        let first = r#"title = "T"

[[step]]
title = "one"
text = "Fast."
actions = [{ do = "speed", limit = 40 }]
"#;
        let e = Lesson::parse(first).unwrap_err();
        assert!(e.message.contains("choose one first"), "{e}");
    }

    /// `view` names one of the chosen lab's view options ([`LessonLab::view_options`]) and says on or
    /// off; an option of another lab, or a lab with none, is refused with the field, naming what the
    /// lab has.
    #[test]
    fn a_view_option_is_one_the_chosen_lab_has() {
        let with = |choose: &str, view: &str| {
            format!(
                "title = \"T\"\n\n[[step]]\ntitle = \"one\"\ntext = \"Fast.\"\nactions = [{choose}, {view}]\n"
            )
        };
        let grokking = r#"{ do = "choose", lab = "grokking", preset = "fast-mlp" }"#;
        let ordering = r#"{ do = "choose", lab = "ordering", preset = "sine" }"#;
        let capacity = r#"{ do = "choose", lab = "capacity", preset = "tiny" }"#;
        let log = r#"{ do = "view", option = "log_steps", on = true }"#;
        let last = r#"{ do = "view", option = "outputs_last", on = false }"#;
        let l = Lesson::parse(&with(grokking, log)).unwrap();
        assert_eq!(
            l.steps[0].actions[1],
            Action::View {
                option: "log_steps".into(),
                on: true
            }
        );
        Lesson::parse(&with(ordering, last)).unwrap();
        let e = Lesson::parse(&with(ordering, log)).unwrap_err();
        assert_eq!(e.field, "step[1].actions[2].option", "{e}");
        assert!(
            e.message
                .contains("the ordering lab has no view option `log_steps` (it has outputs_last)"),
            "{e}"
        );
        let e = Lesson::parse(&with(capacity, log)).unwrap_err();
        assert!(e.message.contains("(it has none)"), "{e}");
        // `on` is required: a bare option would leave a reader guessing
        let e =
            Lesson::parse(&with(grokking, r#"{ do = "view", option = "log_steps" }"#)).unwrap_err();
        assert!(e.message.contains("on"), "{e}");
    }

    /// `figure` names one of the chosen lab's sweep figures ([`LessonLab::figure_names`]), with a
    /// prime that is one and a C > 0 when given; a lab without sweep figures, an unknown name, a
    /// composite prime and a C of 0 are refused with their fields.
    #[test]
    fn a_figure_step_names_one_of_the_labs_figures() {
        let with = |choose: &str, figure: &str| {
            format!(
                "title = \"T\"\n\n[[step]]\ntitle = \"one\"\ntext = \"Fast.\"\nactions = [{choose}, {figure}]\n"
            )
        };
        let capacity = r#"{ do = "choose", lab = "capacity", preset = "tiny" }"#;
        let grokking = r#"{ do = "choose", lab = "grokking", preset = "fast-mlp" }"#;
        let l = Lesson::parse(&with(
            capacity,
            r#"{ do = "figure", name = "speed", prime = 31, c = 1.83 }"#,
        ))
        .unwrap();
        assert_eq!(
            l.steps[0].actions[1],
            Action::Figure {
                name: "speed".into(),
                prime: Some(31),
                c: Some(1.83)
            }
        );
        Lesson::parse(&with(capacity, r#"{ do = "figure", name = "crossing" }"#)).unwrap();
        let bad = |figure: &str| Lesson::parse(&with(capacity, figure)).unwrap_err();
        let e = bad(r#"{ do = "figure", name = "pie" }"#);
        assert_eq!(e.field, "step[1].actions[2].name", "{e}");
        assert!(
            e.message
                .contains("no figure `pie` (there are crossing, bits, capacity, speed, onsets)"),
            "{e}"
        );
        let e = bad(r#"{ do = "figure", name = "speed", prime = 33 }"#);
        assert_eq!(e.field, "step[1].actions[2].prime", "{e}");
        let e = bad(r#"{ do = "figure", name = "speed", c = 0.0 }"#);
        assert_eq!(e.field, "step[1].actions[2].c", "{e}");
        assert!(e.message.contains("greater than 0"), "{e}");
        let e = Lesson::parse(&with(grokking, r#"{ do = "figure", name = "speed" }"#)).unwrap_err();
        assert!(
            e.message
                .contains("the grokking lab shows no sweep figures"),
            "{e}"
        );
    }

    /// Titles, summary, text and notes longer than the window has room for are refused with their
    /// line and length (a 200,000-character title once covered the whole window: a helper's audit,
    /// 2026-12-06); the bundled lessons are well inside the limits (checked by parsing them above).
    #[test]
    fn text_longer_than_the_window_has_room_for_is_refused() {
        let ok = "title = \"T\"\n\n[[step]]\ntitle = \"one\"\ntext = \"Fast.\"\n";
        assert!(Lesson::parse(ok).is_ok());
        let long = |n: usize| "x".repeat(n);
        for (from, to, field, line, max) in [
            (
                "title = \"T\"",
                format!("title = \"{}\"", long(121)),
                "title",
                1,
                120,
            ),
            (
                "title = \"one\"",
                format!("title = \"{}\"", long(121)),
                "step[1].title",
                4,
                120,
            ),
            (
                "text = \"Fast.\"",
                format!("text = \"{}\"", long(MAX_TEXT_CHARS + 1)),
                "step[1].text",
                5,
                MAX_TEXT_CHARS,
            ),
        ] {
            let text = ok.replacen(from, &to, 1);
            let e = Lesson::parse(&text).unwrap_err();
            assert_eq!((e.field.as_str(), e.line), (field, Some(line)), "{e:?}");
            assert!(
                e.message.contains(&format!("more than the {max}")),
                "{}",
                e.message
            );
        }
        // at the limit is fine
        let at = ok.replacen("title = \"T\"", &format!("title = \"{}\"", long(120)), 1);
        assert!(Lesson::parse(&at).is_ok());
    }
}
