//! Reading a config's TOML with refusals that say where: the line and the field (`model.hidden`), in
//! one sentence. The parser places an error inside the model table (read whole, as its `kind` picks
//! the model) at the table's header; that table is read again as the model its `kind` names, which
//! places the error at the field.

use super::{ConfigParseError, MlpConfig, TransformerConfig, truncate_echo};
use serde::Deserialize;
use serde::de::{DeserializeOwned, IntoDeserializer};
use std::fmt;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Why a TOML config could not be read, and where.
#[derive(Clone, Debug, PartialEq)]
pub struct TomlProblem {
    /// The line the parser stopped at, from 1.
    pub line: Option<usize>,
    /// The field there, dotted (`model.hidden`, `optim.lr`); `None` for a syntax error.
    pub field: Option<String>,
    /// What is wrong, with any echoed text cut short.
    pub message: String,
}

impl fmt::Display for TomlProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, &self.field) {
            (Some(l), Some(field)) => write!(f, "line {l}, field {field}: ")?,
            (Some(l), None) => write!(f, "line {l}: ")?,
            (None, Some(field)) => write!(f, "field {field}: ")?,
            (None, None) => {}
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for TomlProblem {}

/// Deserialize `text` as `T`, an error placed by [`TomlProblem::new`]. A text that sets nothing (empty,
/// or only comments) is said to, not reported as the first field it lacks.
pub fn from_toml<T: DeserializeOwned>(text: &str) -> Result<T, ConfigParseError> {
    toml::from_str(text).map_err(|e| {
        let blank = DeTable::parse(text).is_ok_and(|t| t.get_ref().is_empty());
        if blank && e.message().starts_with("missing field") {
            return ConfigParseError::Toml(TomlProblem {
                line: None,
                field: None,
                message: "it sets no field (it is empty, or holds only comments)".into(),
            });
        }
        ConfigParseError::Toml(TomlProblem::new(text, &e))
    })
}

/// The parser says "duplicate key" without the key: named from the text at its position (`p`, or
/// a table header's `[optim]`), when that is a short run of text on one line.
pub fn name_duplicate(message: String, text: &str, span: &std::ops::Range<usize>) -> String {
    let key = text.get(span.clone()).map(str::trim).unwrap_or_default();
    if message.starts_with("duplicate key")
        && !key.is_empty()
        && key.len() <= 60
        && !key.contains('\n')
    {
        format!("{message} `{key}`")
    } else {
        message
    }
}

impl TomlProblem {
    /// The parser's error `e` on `text`, placed at its line and the innermost field holding it.
    pub fn new(text: &str, e: &toml::de::Error) -> Self {
        let message = if e.message().contains("max recursion depth") {
            "arrays or inline tables are nested too deeply (the parser stops at a few hundred levels)"
                .to_string()
        } else {
            truncate_echo(e.message().trim(), 400)
        };
        let Some(span) = e.span() else {
            return Self {
                line: None,
                field: None,
                message,
            };
        };
        let message = name_duplicate(message, text, &span);
        let line = Some(line_of(text, span.start));
        // `p =` with nothing after it: the parser reads it as an unquoted string
        let before = text.get(..span.start).unwrap_or_default();
        let here = before.rfind('\n').map_or(0, |i| i + 1);
        let this_line = text
            .get(here..)
            .and_then(|t| t.lines().next())
            .unwrap_or_default();
        if let Some((key, rest)) = this_line.split_once('=') {
            let rest = rest.trim();
            if (rest.is_empty() || rest.starts_with('#')) && !key.trim().is_empty() {
                return Self {
                    line,
                    field: None,
                    message: format!(
                        "`{}` has no value after the =",
                        truncate_echo(key.trim(), 60)
                    ),
                };
            }
        }
        let Ok(doc) = DeTable::parse(text) else {
            // a syntax error: the position is all there is
            return Self {
                line,
                field: None,
                message,
            };
        };
        let (path, value) = locate(doc.get_ref(), span.start);
        if let Some(v) = value
            && let Some(inner) = read_model_alone(v)
            && inner.span().is_some_and(|s| s != span)
        {
            let (path, _) = locate(doc.get_ref(), inner.span().map_or(0, |s| s.start));
            return Self {
                line: inner.span().map(|s| line_of(text, s.start)),
                field: Some(path.join(".")),
                message: truncate_echo(inner.message().trim(), 400),
            };
        }
        let mut path = path;
        let mut line = line;
        // a missing field is placed at the table that lacks it: not at the table's first key (the
        // file's first line, for the top level), where the table starts too
        if e.message().starts_with("missing field")
            && !value.is_some_and(|v| matches!(v.get_ref(), DeValue::Table(_)))
        {
            path.pop();
            if path.is_empty() {
                line = None;
            }
        }
        Self {
            line,
            field: (!path.is_empty()).then(|| path.join(".")),
            message,
        }
    }
}

/// The line (from 1) of byte `at` of `text` (the last line for a byte past its end).
pub(super) fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Bytes from the first to the last of a value and everything inside it (a table's header span
/// leaves out its keys).
fn extent(v: &Spanned<DeValue<'_>>) -> Range<usize> {
    let inner: Vec<Range<usize>> = match v.get_ref() {
        DeValue::Table(t) => t.iter().flat_map(|(k, x)| [k.span(), extent(x)]).collect(),
        DeValue::Array(a) => a.iter().map(extent).collect(),
        _ => vec![],
    };
    inner
        .into_iter()
        .fold(v.span(), |r, s| r.start.min(s.start)..r.end.max(s.end))
}

/// The keys down to the innermost table entry whose text holds byte `at`, and that entry's value.
fn locate<'a, 'i>(
    mut table: &'a DeTable<'i>,
    at: usize,
) -> (Vec<String>, Option<&'a Spanned<DeValue<'i>>>) {
    let mut path = vec![];
    let mut found = None;
    'down: loop {
        for (k, v) in table {
            let e = extent(v);
            let whole = k.span().start.min(e.start)..k.span().end.max(e.end);
            if whole.contains(&at) || whole.start == at {
                path.push(k.get_ref().to_string());
                found = Some(v);
                if let DeValue::Table(t) = v.get_ref() {
                    table = t;
                    continue 'down;
                }
                break 'down;
            }
        }
        break;
    }
    (path, found)
}

/// The error of reading the table `v` as the model its `kind` names (`None` when `v` is not such a
/// table or reads fine), with spans into the whole text.
fn read_model_alone(v: &Spanned<DeValue<'_>>) -> Option<toml::de::Error> {
    let DeValue::Table(t) = v.get_ref() else {
        return None;
    };
    let kind = t.iter().find(|(k, _)| k.get_ref() == "kind")?.1;
    let DeValue::String(kind) = kind.get_ref() else {
        return None;
    };
    let mut fields = DeTable::new();
    for (k, x) in t.iter().filter(|(k, _)| k.get_ref() != "kind") {
        fields.insert(k.clone(), x.clone());
    }
    let table = Spanned::new(v.span(), DeValue::Table(fields));
    match kind.as_ref() {
        "mlp" => MlpConfig::deserialize(table.into_deserializer()).err(),
        "transformer" => TransformerConfig::deserialize(table.into_deserializer()).err(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{GrokkingConfig, preset};

    /// The fast-mlp preset's TOML with the line starting `key = ` replaced by `key = value`; the line
    /// number of that line (from 1).
    fn edited(key: &str, value: &str) -> (String, usize) {
        let text = preset("fast-mlp").unwrap().config.to_toml();
        let (i, old) = text
            .lines()
            .enumerate()
            .find(|(_, l)| l.starts_with(&format!("{key} = ")))
            .unwrap();
        (text.replace(old, &format!("{key} = {value}")), i + 1)
    }

    fn problem(text: &str) -> TomlProblem {
        match GrokkingConfig::from_toml(text).unwrap_err() {
            ConfigParseError::Toml(p) => p,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn a_wrong_type_is_placed_at_its_field_inside_and_outside_the_model() {
        for (key, value, field) in [
            ("hidden", "\"big\"", "model.hidden"),
            ("embed_dim", "-3", "model.embed_dim"),
            ("lr", "\"fast\"", "optim.lr"),
            ("p", "[1]", "p"),
        ] {
            let (text, line) = edited(key, value);
            let p = problem(&text);
            assert_eq!(p.line, Some(line), "{key}: {p}");
            assert_eq!(p.field.as_deref(), Some(field), "{key}: {p}");
        }
    }

    #[test]
    fn an_unknown_model_field_and_deep_nesting_are_placed() {
        let text = preset("fast-mlp").unwrap().config.to_toml();
        // an unknown key added as the model table's last line (the line before [optim])
        let model_end = text.find("[optim]").unwrap();
        let added = format!("{}colour = 3\n{}", &text[..model_end], &text[model_end..]);
        let at = text[..model_end].lines().count() + 1;
        let p = problem(&added);
        assert_eq!(p.line, Some(at), "{p}");
        assert_eq!(p.field.as_deref(), Some("model.colour"), "{p}");
        let deep = format!("{text}x = {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        let p = problem(&deep);
        assert_eq!(p.line, Some(text.lines().count() + 1));
        assert!(p.message.contains("nested too deeply"), "{p}");
    }

    /// A field left out is named, and placed at the table that lacks it: the whole file for a
    /// top-level field (no line; "line 1, field p" once blamed the first key), the `[optim]` table's
    /// header for one of its own.
    #[test]
    fn a_missing_field_is_placed_at_the_table_that_lacks_it() {
        let p = problem("p = 7\n");
        assert_eq!((p.line, p.field.as_deref()), (None, None), "{p}");
        assert!(p.message.contains("missing field `op`"), "{p}");
        assert_eq!(p.to_string(), p.message);

        let text = preset("fast-mlp").unwrap().config.to_toml();
        let lr = text.lines().find(|l| l.starts_with("lr =")).unwrap();
        let without = text.replace(&format!("{lr}\n"), "");
        let p = problem(&without);
        let header = text.lines().position(|l| l == "[optim]").unwrap() + 1;
        assert_eq!(p.field.as_deref(), Some("optim"), "{p}");
        assert_eq!(p.line, Some(header), "{p}");
        assert!(p.message.contains("missing field `lr`"), "{p}");
    }

    /// The parser says only "duplicate key"; the key (or table) is named from the text at its
    /// position (a helper's audit, 2026-12-06).
    #[test]
    fn a_duplicate_key_is_named() {
        for (text, line, key) in [
            ("p = 7\np = 8\n", 2, "`p`"),
            ("p = 7\n[optim]\nlr = 1\n[optim]\nlr = 2\n", 4, "`optim`"),
        ] {
            let e = toml::from_str::<toml::Table>(text).unwrap_err();
            let p = TomlProblem::new(text, &e);
            assert_eq!(p.line, Some(line), "{text}");
            assert_eq!(p.message, format!("duplicate key {key}"), "{text}");
        }
    }

    /// A key with nothing after its `=` is named as such (the parser reads it as an unquoted string
    /// and says "string values must be quoted"), comment or not; an empty file, or one of comments,
    /// says it sets nothing rather than naming the first field it lacks (a helper's audit,
    /// 2026-12-06).
    #[test]
    fn a_key_without_a_value_and_a_file_without_keys_are_named() {
        for (value, key) in [("", "p"), ("   # the prime", "p"), ("", "lr")] {
            let (text, line) = edited(key, value);
            let p = problem(&text);
            assert_eq!(p.line, Some(line), "{text}");
            assert_eq!(p.message, format!("`{key}` has no value after the ="));
        }
        for text in ["", "\n\n", "# nothing yet\n"] {
            assert_eq!(
                problem(text).message,
                "it sets no field (it is empty, or holds only comments)"
            );
        }
    }
}
