//! The business glossary: terms users say, mapped to tables, columns and
//! SQL. Data, not code: loaded from TOML files the user can extend.

use crate::text::{phrase, Word};
use glrl_catalog::Schema;
use serde::{Deserialize, Serialize};
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum GlossaryError {
    #[error("cannot read glossary {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("glossary {origin} is not valid: {message}")]
    Parse { origin: String, message: String },
}

/// Nouns that name a table ("supplier" → SRM_COMPANIES).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    pub table: String,
    pub terms: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TermKind {
    /// A filter: `Actual_Cost > Budget_Amount`.
    Predicate,
    /// A computed value: `Budget_Amount - Actual_Cost`.
    Expression,
    /// How two tables relate in the user's words ("project manager").
    Join,
}

/// A business concept ("over budget") and what it means in SQL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Term {
    pub name: String,
    #[serde(default)]
    pub synonyms: Vec<String>,
    /// Every table the SQL needs.
    pub tables: Vec<String>,
    pub kind: TermKind,
    pub sql: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Glossary {
    #[serde(default, rename = "entity")]
    pub entities: Vec<Entity>,
    #[serde(default, rename = "term")]
    pub terms: Vec<Term>,
}

/// What a glossary match points at.
#[derive(Debug, Clone, PartialEq)]
pub enum Meaning<'g> {
    Entity(&'g Entity),
    Term(&'g Term),
}

/// One phrase of the glossary found in a question.
#[derive(Debug, Clone)]
pub struct Match<'g> {
    pub meaning: Meaning<'g>,
    /// Word positions [start, end) in the question.
    pub words: (usize, usize),
    /// Byte span in the question.
    pub span: (usize, usize),
}

impl Glossary {
    pub fn from_toml(text: &str, origin: &str) -> Result<Glossary, GlossaryError> {
        toml::from_str(text).map_err(|e| GlossaryError::Parse {
            origin: origin.to_string(),
            message: e.to_string(),
        })
    }

    pub fn from_file(path: &Path) -> Result<Glossary, GlossaryError> {
        let text = std::fs::read_to_string(path).map_err(|source| GlossaryError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Glossary::from_toml(&text, &path.display().to_string())
    }

    /// Adds another glossary's entries (a user's file on top of the default).
    pub fn extend(&mut self, other: Glossary) {
        self.entities.extend(other.entities);
        self.terms.extend(other.terms);
    }

    /// Keeps only entries whose tables exist in `schema`, so that a glossary
    /// written for one database cannot point into another. Returns the
    /// names of the entries dropped.
    pub fn restrict_to(&mut self, schema: &Schema) -> Vec<String> {
        let mut dropped = Vec::new();
        self.entities.retain(|e| {
            let keep = schema.table(&e.table).is_some();
            if !keep {
                dropped.push(format!("entity {}", e.table));
            }
            keep
        });
        self.terms.retain(|t| {
            let keep = t.tables.iter().all(|tb| schema.table(tb).is_some());
            if !keep {
                dropped.push(format!("term '{}'", t.name));
            }
            keep
        });
        // Spell tables as the schema does (PostgreSQL folds them).
        for e in &mut self.entities {
            if let Some(t) = schema.table(&e.table) {
                e.table = t.name.clone();
            }
        }
        for term in &mut self.terms {
            for tb in &mut term.tables {
                if let Some(t) = schema.table(tb) {
                    *tb = t.name.clone();
                }
            }
        }
        dropped
    }
}

/// Compiled phrases for fast matching.
#[derive(Debug, Clone, Default)]
pub(crate) struct Matcher {
    /// (stems, index into entities or terms, is_term)
    phrases: Vec<(Vec<String>, usize, bool)>,
}

impl Matcher {
    pub fn new(g: &Glossary) -> Matcher {
        let mut phrases = Vec::new();
        for (i, e) in g.entities.iter().enumerate() {
            for t in &e.terms {
                phrases.push((phrase(t), i, false));
            }
        }
        for (i, t) in g.terms.iter().enumerate() {
            for p in std::iter::once(&t.name).chain(&t.synonyms) {
                phrases.push((phrase(p), i, true));
            }
        }
        phrases.retain(|(p, _, _)| !p.is_empty());
        // Longest phrases first, so "active contract" wins over "contract".
        phrases.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
        Matcher { phrases }
    }

    /// All glossary phrases found in the question. Terms do not overlap
    /// each other (the longest wins); entities may sit inside terms.
    pub fn find<'g>(&self, g: &'g Glossary, words: &[Word]) -> Vec<Match<'g>> {
        let mut out: Vec<Match<'g>> = Vec::new();
        let mut term_taken = vec![false; words.len()];
        let mut seen = std::collections::HashSet::new();
        for (stems, idx, is_term) in &self.phrases {
            let n = stems.len();
            if n > words.len() {
                continue;
            }
            for s in 0..=words.len() - n {
                if !words[s..s + n].iter().zip(stems).all(|(w, p)| &w.stem == p) {
                    continue;
                }
                if *is_term {
                    if term_taken[s..s + n].iter().any(|&t| t) {
                        continue;
                    }
                    term_taken[s..s + n].iter_mut().for_each(|t| *t = true);
                }
                if !seen.insert((*is_term, *idx, s)) {
                    continue;
                }
                let meaning = if *is_term {
                    Meaning::Term(&g.terms[*idx])
                } else {
                    Meaning::Entity(&g.entities[*idx])
                };
                out.push(Match {
                    meaning,
                    words: (s, s + n),
                    span: (words[s].start, words[s + n - 1].end),
                });
            }
        }
        out.sort_by_key(|m| m.words);
        out
    }
}
