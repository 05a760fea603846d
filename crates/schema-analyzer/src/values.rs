//! The value index: distinct values of low-cardinality text columns (and
//! CHECK vocabularies), so a question saying "blocked" or "Germany" links
//! to `SRM_COMPANIES.Status = 'Blocked'` / `Country = 'Germany'`; plus code
//! shapes (`PRJ-0007`) that identify a table's key.

use crate::text::{is_stopword, phrase, Word};
use glrl_catalog::{Schema, TypeFamily};
use glrl_db::{Database, DbError, ExecOptions};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone)]
struct Entry {
    table: String,
    column: String,
    value: String,
    stems: Vec<String>,
    /// Very short upper-case values ("IT") match only as written, or every
    /// "it" in a question would link the Department column.
    exact_case: bool,
}

/// A key column whose values share a prefix: `PRJ-` → PAC_MNT_PROJECTS.Project_Code.
#[derive(Debug, Clone, Serialize)]
pub struct CodePattern {
    pub table: String,
    pub column: String,
    pub prefix: String,
}

/// A value of the database named in the question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValueHit {
    pub table: String,
    pub column: String,
    pub value: String,
    /// The question text that matched.
    pub matched: String,
    /// Words [start, end) of the question.
    #[serde(skip)]
    pub words: (usize, usize),
}

#[derive(Debug, Clone, Default)]
pub struct ValueIndex {
    entries: Vec<Entry>,
    /// First stem → the entries that start with it: a question is matched
    /// against the few entries its words can begin, not all of them
    /// (scanning every entry was a tenth of the orchestration's time).
    by_first: HashMap<String, Vec<usize>>,
    codes: Vec<CodePattern>,
    /// (table, column) → all its values, for rendering vocabularies.
    vocab: BTreeMap<(String, String), Vec<String>>,
}

impl ValueIndex {
    /// CHECK vocabularies only: what DDL alone tells.
    pub fn from_schema(schema: &Schema) -> ValueIndex {
        let mut idx = ValueIndex::default();
        for t in &schema.tables {
            for c in &t.columns {
                if let Some(values) = &c.allowed_values {
                    idx.add_column(&t.name, &c.name, values.clone());
                }
            }
        }
        idx
    }

    /// CHECK vocabularies plus the distinct values of every text column
    /// with at most `max_distinct` of them, and code prefixes of text keys.
    pub fn from_database(
        db: &dyn Database,
        schema: &Schema,
        max_distinct: usize,
    ) -> Result<ValueIndex, DbError> {
        let mut idx = ValueIndex::from_schema(schema);
        for t in &schema.tables {
            if t.row_count == Some(0) {
                continue;
            }
            for c in &t.columns {
                if c.data_type.family() != TypeFamily::Text || c.allowed_values.is_some() {
                    continue;
                }
                // Keys are codes, not words: a key names its own table, and
                // a foreign key repeats its parent's values.
                if t.is_primary_key(&c.name) {
                    idx.add_code_pattern(db, &t.name, &c.name)?;
                } else if t
                    .foreign_keys
                    .iter()
                    .any(|fk| fk.columns.iter().any(|k| k.eq_ignore_ascii_case(&c.name)))
                {
                    continue;
                } else if let Some(values) = db.distinct_values(&t.name, &c.name, max_distinct)? {
                    idx.add_column(&t.name, &c.name, values);
                }
            }
        }
        Ok(idx)
    }

    fn add_column(&mut self, table: &str, column: &str, values: Vec<String>) {
        for v in &values {
            let stems = phrase(v);
            let exact_case = v.chars().count() <= 2 && v.chars().all(|c| c.is_uppercase());
            // An upper-case "IT" is a name even though "it" is a stopword.
            if v.chars().count() < 2
                || stems.is_empty()
                || (!exact_case && stems.iter().all(|s| is_stopword(s)))
            {
                continue;
            }
            self.by_first
                .entry(stems[0].clone())
                .or_default()
                .push(self.entries.len());
            self.entries.push(Entry {
                table: table.to_string(),
                column: column.to_string(),
                value: v.clone(),
                stems,
                exact_case,
            });
        }
        self.vocab
            .insert((table.to_string(), column.to_string()), values);
    }

    fn add_code_pattern(
        &mut self,
        db: &dyn Database,
        table: &str,
        column: &str,
    ) -> Result<(), DbError> {
        let sql = format!(
            "SELECT {c} FROM {t} WHERE {c} IS NOT NULL LIMIT 50",
            c = glrl_db::quote_ident(column),
            t = glrl_db::quote_ident(table)
        );
        let rs = db.query(
            &sql,
            &ExecOptions {
                max_rows: 50,
                ..ExecOptions::default()
            },
        )?;
        let prefixes: Vec<String> = rs
            .rows
            .iter()
            .filter_map(|r| r.first())
            .map(|v| code_prefix(&v.to_plain_string()))
            .collect();
        if let Some(first) = prefixes.first() {
            if first.len() >= 2 && prefixes.iter().all(|p| p == first) {
                self.codes.push(CodePattern {
                    table: table.into(),
                    column: column.into(),
                    prefix: first.clone(),
                });
            }
        }
        Ok(())
    }

    /// The known values of a column, if it is a vocabulary.
    pub fn values_of(&self, table: &str, column: &str) -> Option<&[String]> {
        self.vocab
            .iter()
            .find(|((t, c), _)| t.eq_ignore_ascii_case(table) && c.eq_ignore_ascii_case(column))
            .map(|(_, v)| v.as_slice())
    }

    pub fn code_patterns(&self) -> &[CodePattern] {
        &self.codes
    }

    /// Every indexed value named in the question, in index order (then
    /// by position).
    pub fn find(&self, question: &str, words: &[Word]) -> Vec<ValueHit> {
        // (entry, first word, matched text)
        let mut found: Vec<(usize, usize, &str)> = Vec::new();
        for (s, w) in words.iter().enumerate() {
            for &i in self.by_first.get(&w.stem).into_iter().flatten() {
                let e = &self.entries[i];
                let n = e.stems.len();
                if s + n > words.len()
                    || !words[s..s + n]
                        .iter()
                        .zip(&e.stems)
                        .all(|(w, p)| &w.stem == p)
                {
                    continue;
                }
                let matched = &question[words[s].start..words[s + n - 1].end];
                if e.exact_case && matched != e.value {
                    continue;
                }
                found.push((i, s, matched));
            }
        }
        found.sort_unstable_by_key(|&(i, s, _)| (i, s));
        found
            .into_iter()
            .map(|(i, s, matched)| {
                let e = &self.entries[i];
                ValueHit {
                    table: e.table.clone(),
                    column: e.column.clone(),
                    value: e.value.clone(),
                    matched: matched.to_string(),
                    words: (s, s + e.stems.len()),
                }
            })
            .collect()
    }

    /// Codes such as `PRJ-0007` in the question, with the key they belong to.
    pub fn find_codes(&self, question: &str) -> Vec<ValueHit> {
        let mut out = Vec::new();
        for token in question.split(|c: char| !(c.is_alphanumeric() || c == '-')) {
            let token = token.trim_matches('-');
            if !token.chars().any(|c| c.is_ascii_digit()) {
                continue;
            }
            let prefix = code_prefix(token);
            for p in &self.codes {
                if prefix.eq_ignore_ascii_case(&p.prefix) {
                    out.push(ValueHit {
                        table: p.table.clone(),
                        column: p.column.clone(),
                        value: token.to_uppercase(),
                        matched: token.to_string(),
                        words: (0, 0),
                    });
                }
            }
        }
        out
    }
}

/// `PRJ-0007` → `PRJ-`; `CTR-2024-0001` → `CTR-`: the letters and
/// separators before the first digit.
fn code_prefix(code: &str) -> String {
    code.chars().take_while(|c| !c.is_ascii_digit()).collect()
}
