//! Question → SQL data sets: the JSONL pair format, loading and saving,
//! the template-driven generator of further verified training pairs, and
//! `glrl eval`'s metrics over a model's predictions.

mod advanced;
mod eval;
mod generate;
mod joins;
mod reasoning;
mod shapes;
pub mod spider;

pub use eval::{evaluate, EvalReport, Prediction, Slice};
pub use generate::{generate, Family, GenerateOptions};
pub use shapes::shape_key;

use serde::{Deserialize, Serialize};
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DatasetError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}, line {line}: {message}")]
    Parse {
        path: String,
        line: usize,
        message: String,
    },
    #[error(transparent)]
    Db(#[from] glrl_db::DbError),
}

/// One question → SQL pair, as stored one JSON object a line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pair {
    pub id: String,
    pub question: String,
    pub sql: String,
    /// "simple", "medium" or "complex".
    pub difficulty: String,
    pub tables: Vec<String>,
    pub constructs: Vec<String>,
    /// The `<think>` content: which tables, joins and filters, and why.
    pub reasoning: String,
    /// The id of the pair this question refines (a follow-up).
    pub follows: Option<String>,
}

impl Pair {
    /// The target a model learns to write: reasoning, then the SQL.
    pub fn target(&self) -> String {
        format!("<think>{}</think>\n{}", self.reasoning, self.sql)
    }
}

/// Reads JSON lines of `T`, reporting the line of any malformed one.
pub fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, DatasetError> {
    let text = std::fs::read_to_string(path).map_err(|source| DatasetError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_jsonl(&text, &path.display().to_string())
}

pub fn parse_jsonl<T: serde::de::DeserializeOwned>(
    text: &str,
    origin: &str,
) -> Result<Vec<T>, DatasetError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| DatasetError::Parse {
                path: origin.to_string(),
                line: i + 1,
                message: e.to_string(),
            })
        })
        .collect()
}

pub fn write_jsonl<T: Serialize>(path: &Path, items: &[T]) -> Result<(), DatasetError> {
    let io = |source| DatasetError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut out = String::new();
    for item in items {
        out.push_str(
            &serde_json::to_string(item).map_err(|e| DatasetError::Parse {
                path: path.display().to_string(),
                line: 0,
                message: e.to_string(),
            })?,
        );
        out.push('\n');
    }
    // Write beside, then rename: an interrupted run never leaves half a file.
    let tmp = path.with_extension("jsonl.tmp");
    std::fs::write(&tmp, out).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// The SQL shape without its literals, to tell paraphrases of one query
/// from different queries (dev skeletons must not occur in train).
pub fn skeleton(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut prev_word = false;
    while let Some(c) = chars.next() {
        if c == '\'' {
            for d in chars.by_ref() {
                if d == '\'' {
                    break;
                }
            }
            out.push('?');
            prev_word = false;
        } else if c.is_ascii_digit() && !prev_word {
            while chars
                .peek()
                .is_some_and(|d| d.is_ascii_digit() || *d == '.')
            {
                chars.next();
            }
            out.push('#');
        } else {
            prev_word = c.is_alphanumeric() || c == '_';
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn skeletons() {
        assert_eq!(
            super::skeleton("SELECT a1 FROM t WHERE x = 'Germany' AND y > 2.5 LIMIT 10"),
            "SELECT a1 FROM t WHERE x = ? AND y > # LIMIT #"
        );
    }
}
