//! Compact schema rendering for prompts: only the linked tables, DDL-like,
//! with comments for vocabularies, matched values, joins and glossary
//! hints, shrunk to a token budget by dropping the least relevant columns.

use crate::linking::LinkResult;
use crate::SchemaAnalyzer;
use glrl_catalog::{ident_eq, Table};
use serde::Serialize;

#[derive(Debug, Clone)]
pub struct RenderOptions {
    pub token_budget: usize,
    /// A vocabulary longer than this is shown by example only.
    pub max_listed_values: usize,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            token_budget: 1024,
            max_listed_values: 8,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Rendered {
    pub text: String,
    pub tokens: usize,
    /// Columns left out to meet the budget, as `TABLE.Column`.
    pub dropped_columns: Vec<String>,
    /// Even the smallest rendering exceeds the budget.
    pub over_budget: bool,
}

/// A rough token count for BPE vocabularies on SQL-like text (about three
/// characters a token), for when no tokenizer is at hand.
pub fn approx_tokens(text: &str) -> usize {
    text.len().div_ceil(3)
}

struct Shown {
    table: usize,
    /// Column indices, in table order.
    columns: Vec<usize>,
}

impl SchemaAnalyzer {
    /// Renders the linked part of the schema within `opts.token_budget`,
    /// counting tokens with `count` (the model's tokenizer, or [`approx_tokens`]).
    pub fn render(
        &self,
        link: &LinkResult,
        opts: &RenderOptions,
        count: &dyn Fn(&str) -> usize,
    ) -> Rendered {
        let tables: Vec<usize> = link
            .tables
            .iter()
            .filter_map(|n| self.schema.tables.iter().position(|t| ident_eq(&t.name, n)))
            .collect();
        // Columns the question does not need (no score, not a key), in the
        // order they are given up: the weakest table's last columns first,
        // since DDL puts the essentials early.
        let mut drop_order: Vec<(usize, usize)> = Vec::new();
        for &t in &tables {
            let table = &self.schema.tables[t];
            for (c, col) in table.columns.iter().enumerate() {
                if !is_key(table, &col.name) && link.column_score(&table.name, &col.name) <= 0.0 {
                    drop_order.push((t, c));
                }
            }
        }
        drop_order.reverse();
        let attempt = |k: usize, with_values: bool| {
            let shown: Vec<Shown> = tables
                .iter()
                .map(|&t| Shown {
                    table: t,
                    columns: (0..self.schema.tables[t].columns.len())
                        .filter(|&c| !drop_order[..k].contains(&(t, c)))
                        .collect(),
                })
                .collect();
            let text = self.render_text(link, &shown, opts, with_values);
            let tokens = count(&text);
            (text, tokens)
        };
        let dropped = |k: usize| -> Vec<String> {
            drop_order[..k]
                .iter()
                .map(|&(t, c)| {
                    format!(
                        "{}.{}",
                        self.schema.tables[t].name, self.schema.tables[t].columns[c].name
                    )
                })
                .collect()
        };
        // Fewer columns never means more tokens, so the smallest number of
        // columns to drop is found by bisection: O(log n) renderings.
        for with_values in [true, false] {
            let (text, tokens) = attempt(0, with_values);
            if tokens <= opts.token_budget {
                return Rendered {
                    text,
                    tokens,
                    dropped_columns: Vec::new(),
                    over_budget: false,
                };
            }
            let (mut lo, mut hi) = (0, drop_order.len());
            let mut best = None;
            while lo < hi {
                let mid = (lo + hi).div_ceil(2).max(lo + 1);
                let (text, tokens) = attempt(mid, with_values);
                if tokens <= opts.token_budget {
                    best = Some((mid, text, tokens));
                    hi = mid - 1;
                } else {
                    lo = mid;
                }
            }
            if let Some((k, text, tokens)) = best {
                return Rendered {
                    text,
                    tokens,
                    dropped_columns: dropped(k),
                    over_budget: false,
                };
            }
        }
        let (text, tokens) = attempt(drop_order.len(), false);
        Rendered {
            text,
            tokens,
            dropped_columns: dropped(drop_order.len()),
            over_budget: true,
        }
    }

    fn render_text(
        &self,
        link: &LinkResult,
        shown: &[Shown],
        opts: &RenderOptions,
        with_values: bool,
    ) -> String {
        let mut out = String::new();
        for s in shown {
            let table = &self.schema.tables[s.table];
            let rows = table
                .row_count
                .map(|n| format!(" -- {n} rows"))
                .unwrap_or_default();
            out.push_str(&format!("CREATE TABLE {} ({rows}\n", table.name));
            let n = s.columns.len();
            for (i, &c) in s.columns.iter().enumerate() {
                let col = &table.columns[c];
                let mut line = format!("  {} {}", col.name, col.data_type);
                if table.is_primary_key(&col.name) {
                    line.push_str(" PRIMARY KEY");
                }
                if let Some(fk) = table
                    .foreign_keys
                    .iter()
                    .find(|fk| fk.columns.len() == 1 && ident_eq(&fk.columns[0], &col.name))
                {
                    line.push_str(&format!(
                        " REFERENCES {}({})",
                        fk.ref_table,
                        fk.ref_columns.join(", ")
                    ));
                }
                if i + 1 < n {
                    line.push(',');
                }
                if with_values {
                    if let Some(comment) = self.value_comment(link, table, &col.name, opts) {
                        line.push_str(&format!(" -- {comment}"));
                    }
                }
                out.push_str(&line);
                out.push('\n');
            }
            out.push_str(");\n");
        }
        if let Some(jp) = &link.join_path {
            out.push_str("-- joins:\n");
            for step in &jp.steps {
                out.push_str(&format!("--   {}\n", step.on));
            }
        }
        if !link.values.is_empty() {
            out.push_str("-- values in the question:\n");
            for v in &link.values {
                out.push_str(&format!(
                    "--   '{}' -> {}.{} = '{}'\n",
                    v.matched,
                    v.table,
                    v.column,
                    v.value.replace('\'', "''")
                ));
            }
        }
        let terms: Vec<_> = link
            .glossary_hits
            .iter()
            .filter(|h| h.sql.is_some())
            .collect();
        if !terms.is_empty() {
            out.push_str("-- business terms:\n");
            for h in terms {
                let tables = h.tables.join(", ");
                out.push_str(&format!(
                    "--   \"{}\" ({}): {}\n",
                    h.matched,
                    tables,
                    h.sql.as_deref().unwrap_or("")
                ));
            }
        }
        out
    }

    fn value_comment(
        &self,
        link: &LinkResult,
        table: &Table,
        column: &str,
        opts: &RenderOptions,
    ) -> Option<String> {
        let matched: Vec<&str> = link
            .values
            .iter()
            .filter(|v| ident_eq(&v.table, &table.name) && ident_eq(&v.column, column))
            .map(|v| v.value.as_str())
            .collect();
        let quote = |v: &str| format!("'{}'", v.replace('\'', "''"));
        match self.values.values_of(&table.name, column) {
            Some(all) if all.len() <= opts.max_listed_values => {
                Some(all.iter().map(|v| quote(v)).collect::<Vec<_>>().join(" | "))
            }
            Some(all) => {
                let mut ex: Vec<&str> = matched.clone();
                for v in all {
                    if ex.len() >= 3 {
                        break;
                    }
                    if !ex.contains(&v.as_str()) {
                        ex.push(v);
                    }
                }
                Some(format!(
                    "e.g. {}, … ({} values)",
                    ex.iter().map(|v| quote(v)).collect::<Vec<_>>().join(", "),
                    all.len()
                ))
            }
            None if !matched.is_empty() => Some(format!(
                "e.g. {}",
                matched
                    .iter()
                    .map(|v| quote(v))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            None => None,
        }
    }
}

fn is_key(table: &Table, column: &str) -> bool {
    table.primary_key.iter().any(|k| ident_eq(k, column))
        || table
            .foreign_keys
            .iter()
            .any(|fk| fk.columns.iter().any(|k| ident_eq(k, column)))
}
