//! Relevant-table identification ("schema linking"): which tables and
//! columns a question needs, from four kinds of evidence — glossary
//! entities and terms, values named in the question, key codes, and words
//! of table and column names — then expanded along relationships so the
//! tables needed to join are included.

use crate::glossary::{Meaning, TermKind};
use crate::joins::JoinPath;
use crate::text::{identifier_words, is_stopword, words};
use crate::values::ValueHit;
use crate::SchemaAnalyzer;
use glrl_catalog::ident_eq;
use serde::Serialize;
use std::collections::BTreeMap;

/// Evidence weights. A table is linked at [`LINK_THRESHOLD`]: one glossary
/// hit, one unambiguous value, one code or two column words suffice.
const W_ENTITY: f64 = 2.0;
const W_TERM: f64 = 2.0;
const W_VALUE: f64 = 1.5;
const W_CODE: f64 = 3.0;
const W_TABLE_WORD: f64 = 1.5;
const W_COLUMN_WORD: f64 = 1.2;
/// A table with some evidence that joins directly to a linked table.
const W_NEIGHBOUR: f64 = 0.5;
pub const LINK_THRESHOLD: f64 = 1.0;

#[derive(Debug, Clone, Serialize)]
pub struct TableScore {
    pub table: String,
    pub score: f64,
    pub linked: bool,
    /// Added only to connect linked tables.
    pub bridge: bool,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ColumnScore {
    pub table: String,
    pub column: String,
    pub score: f64,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GlossaryHit {
    /// The canonical term or the entity's table.
    pub term: String,
    /// "entity", "predicate", "expression" or "join".
    pub kind: String,
    pub matched: String,
    pub tables: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
}

/// The Schema Analyzer's answer for one question.
#[derive(Debug, Clone, Serialize)]
pub struct LinkResult {
    pub question: String,
    /// Linked table names, strongest first, join bridges last.
    pub tables: Vec<String>,
    pub table_scores: Vec<TableScore>,
    pub columns: Vec<ColumnScore>,
    pub values: Vec<ValueHit>,
    pub glossary_hits: Vec<GlossaryHit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join_path: Option<JoinPath>,
}

impl LinkResult {
    pub fn column_score(&self, table: &str, column: &str) -> f64 {
        self.columns
            .iter()
            .find(|c| ident_eq(&c.table, table) && ident_eq(&c.column, column))
            .map_or(0.0, |c| c.score)
    }
}

#[derive(Default)]
struct Scores {
    tables: BTreeMap<usize, (f64, Vec<String>)>,
    columns: BTreeMap<(usize, usize), (f64, Vec<String>)>,
}

impl Scores {
    fn table(&mut self, t: usize, w: f64, why: String) {
        let e = self.tables.entry(t).or_default();
        e.0 += w;
        if !e.1.contains(&why) {
            e.1.push(why);
        }
    }
    fn column(&mut self, t: usize, c: usize, w: f64, why: String) {
        let e = self.columns.entry((t, c)).or_default();
        e.0 += w;
        if !e.1.contains(&why) {
            e.1.push(why);
        }
    }
    fn of(&self, t: usize) -> f64 {
        self.tables.get(&t).map_or(0.0, |e| e.0)
    }
}

impl SchemaAnalyzer {
    /// Links a question to the schema.
    pub fn link(&self, question: &str) -> LinkResult {
        let schema = &self.schema;
        let qwords = words(question);
        let mut s = Scores::default();
        let tix = |name: &str| schema.tables.iter().position(|t| ident_eq(&t.name, name));
        let cix = |t: usize, name: &str| {
            schema.tables[t]
                .columns
                .iter()
                .position(|c| ident_eq(&c.name, name))
        };

        // Glossary entities and terms.
        let mut glossary_hits = Vec::new();
        for m in self.matcher.find(&self.glossary, &qwords) {
            let matched = question[m.span.0..m.span.1].to_string();
            match m.meaning {
                Meaning::Entity(e) => {
                    if let Some(t) = tix(&e.table) {
                        s.table(t, W_ENTITY, format!("names '{matched}'"));
                    }
                    glossary_hits.push(GlossaryHit {
                        term: e.table.clone(),
                        kind: "entity".into(),
                        matched,
                        tables: vec![e.table.clone()],
                        sql: None,
                    });
                }
                Meaning::Term(term) => {
                    for tb in &term.tables {
                        let Some(t) = tix(tb) else { continue };
                        s.table(t, W_TERM, format!("glossary '{}'", term.name));
                        let sql_words: Vec<String> = identifier_words_of_sql(&term.sql);
                        for (ci, col) in schema.tables[t].columns.iter().enumerate() {
                            if sql_words.iter().any(|w| w.eq_ignore_ascii_case(&col.name)) {
                                s.column(t, ci, W_TERM, format!("glossary '{}'", term.name));
                            }
                        }
                    }
                    glossary_hits.push(GlossaryHit {
                        term: term.name.clone(),
                        kind: match term.kind {
                            TermKind::Predicate => "predicate",
                            TermKind::Expression => "expression",
                            TermKind::Join => "join",
                        }
                        .into(),
                        matched,
                        tables: term.tables.clone(),
                        sql: Some(term.sql.clone()),
                    });
                }
            }
        }

        // Values named in the question; a value found in k tables counts 1/k in each.
        let mut values = self.values.find(question, &qwords);
        let mut by_span: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
        for (i, v) in values.iter().enumerate() {
            by_span.entry(v.words).or_default().push(i);
        }
        for hits in by_span.values() {
            let mut tables: Vec<usize> =
                hits.iter().filter_map(|&i| tix(&values[i].table)).collect();
            tables.dedup();
            let k = tables.len().max(1) as f64;
            for &i in hits {
                let v = &values[i];
                let Some(t) = tix(&v.table) else { continue };
                let why = format!("value '{}' in {}", v.value, v.column);
                s.table(t, W_VALUE / k, why.clone());
                if let Some(c) = cix(t, &v.column) {
                    s.column(t, c, 2.0 / k, why);
                }
            }
        }
        for v in self.values.find_codes(question) {
            let Some(t) = tix(&v.table) else { continue };
            let why = format!("code {}", v.value);
            s.table(t, W_CODE, why.clone());
            if let Some(c) = cix(t, &v.column) {
                s.column(t, c, 2.0, why);
            }
            values.push(v);
        }

        // Words of table and column names, weighted by how many tables share them.
        let mut seen = std::collections::HashSet::new();
        for w in qwords
            .iter()
            .filter(|w| !is_stopword(&w.stem) && w.stem.len() >= 3)
        {
            if !seen.insert(w.stem.clone()) {
                continue;
            }
            for t in 0..schema.tables.len() {
                if self.table_words[t].contains(&w.stem) {
                    s.table(t, W_TABLE_WORD, format!("table name has '{}'", w.stem));
                }
            }
            let owners: Vec<(usize, usize)> =
                self.column_words.get(&w.stem).cloned().unwrap_or_default();
            let mut owner_tables: Vec<usize> = owners.iter().map(|&(t, _)| t).collect();
            owner_tables.dedup();
            if owner_tables.is_empty() {
                continue;
            }
            let idf = 1.0 / owner_tables.len() as f64;
            for &(t, c) in &owners {
                s.column(t, c, idf, format!("column name has '{}'", w.stem));
            }
            for t in owner_tables {
                s.table(t, W_COLUMN_WORD * idf, format!("column word '{}'", w.stem));
            }
        }

        // Relationship expansion, step 1: a table with some evidence that
        // joins directly to a linked one is probably needed too.
        let linked: Vec<usize> = (0..schema.tables.len())
            .filter(|&t| s.of(t) >= LINK_THRESHOLD)
            .collect();
        for t in 0..schema.tables.len() {
            let score = s.of(t);
            if score > 0.0 && score < LINK_THRESHOLD {
                let name = &schema.tables[t].name;
                if let Some(n) = linked.iter().find(|&&l| {
                    self.relationships.iter().any(|r| {
                        r.involves(name)
                            && r.involves(&schema.tables[l].name)
                            && !ident_eq(&r.parent_table, &r.child_table)
                    })
                }) {
                    s.table(t, W_NEIGHBOUR, format!("joins {}", schema.tables[*n].name));
                }
            }
        }

        let mut ranked: Vec<(usize, f64)> = s.tables.iter().map(|(&t, e)| (t, e.0)).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut linked: Vec<usize> = ranked
            .iter()
            .filter(|(_, sc)| *sc >= LINK_THRESHOLD)
            .map(|&(t, _)| t)
            .collect();
        if linked.is_empty() {
            // Weak evidence only: take the best guess; no evidence at all on
            // a small schema: show it whole rather than nothing.
            match ranked.first() {
                Some(&(t, _)) => linked.push(t),
                None if schema.tables.len() <= 8 => linked.extend(0..schema.tables.len()),
                None => {}
            }
        }

        // Step 2: join bridges, from the Steiner tree over linked tables.
        let names: Vec<&str> = linked
            .iter()
            .map(|&t| schema.tables[t].name.as_str())
            .collect();
        let join_path = if names.len() > 1 {
            self.graph.path(&names).ok()
        } else {
            None
        };
        let mut bridges = Vec::new();
        if let Some(jp) = &join_path {
            for t in jp.tables() {
                if let Some(i) = tix(t) {
                    if !linked.contains(&i) {
                        bridges.push(i);
                    }
                }
            }
        }

        let mut table_scores: Vec<TableScore> = ranked
            .iter()
            .map(|&(t, score)| TableScore {
                table: schema.tables[t].name.clone(),
                score: round3(score),
                linked: linked.contains(&t) || bridges.contains(&t),
                bridge: bridges.contains(&t),
                reasons: s.tables.get(&t).map(|e| e.1.clone()).unwrap_or_default(),
            })
            .collect();
        for &b in &bridges {
            if !table_scores
                .iter()
                .any(|ts| ident_eq(&ts.table, &schema.tables[b].name))
            {
                table_scores.push(TableScore {
                    table: schema.tables[b].name.clone(),
                    score: 0.0,
                    linked: true,
                    bridge: true,
                    reasons: vec!["connects the linked tables".into()],
                });
            }
        }
        let mut columns: Vec<ColumnScore> = s
            .columns
            .iter()
            .filter(|((t, _), _)| linked.contains(t) || bridges.contains(t))
            .map(|(&(t, c), e)| ColumnScore {
                table: schema.tables[t].name.clone(),
                column: schema.tables[t].columns[c].name.clone(),
                score: round3(e.0),
                reasons: e.1.clone(),
            })
            .collect();
        columns.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| (&a.table, &a.column).cmp(&(&b.table, &b.column)))
        });

        LinkResult {
            question: question.to_string(),
            tables: linked
                .iter()
                .chain(&bridges)
                .map(|&t| schema.tables[t].name.clone())
                .collect(),
            table_scores,
            columns,
            values,
            glossary_hits,
            join_path,
        }
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Identifier-like words of a SQL fragment (`PROJSTAFF.Hours_Worked` →
/// PROJSTAFF, Hours_Worked).
fn identifier_words_of_sql(sql: &str) -> Vec<String> {
    sql.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Word → the (table, column) indices whose names contain it.
pub(crate) type ColumnWords = BTreeMap<String, Vec<(usize, usize)>>;

/// Precomputed name words: per table, and word → (table, column) owners.
pub(crate) fn name_words(schema: &glrl_catalog::Schema) -> (Vec<Vec<String>>, ColumnWords) {
    let table_words = schema
        .tables
        .iter()
        .map(|t| identifier_words(&t.name))
        .collect();
    let mut column_words = ColumnWords::new();
    for (t, table) in schema.tables.iter().enumerate() {
        for (c, col) in table.columns.iter().enumerate() {
            for w in identifier_words(&col.name) {
                if w.len() >= 3 && !is_stopword(&w) {
                    column_words.entry(w).or_default().push((t, c));
                }
            }
        }
    }
    (table_words, column_words)
}
