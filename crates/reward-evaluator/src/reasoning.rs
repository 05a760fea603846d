//! Reasoning quality: the `<think>` text is present, is not degenerate
//! (repetition, filler), and names the tables and columns the SQL uses.

use glrl_catalog::Schema;
use sqlparser::tokenizer::{Token, Tokenizer};
use std::collections::HashMap;

/// Tables and columns of `schema` that the SQL names.
pub fn used_names(
    sql: &str,
    schema: &Schema,
    dialect: glrl_catalog::Dialect,
) -> (Vec<String>, Vec<String>) {
    let d = dialect.parser_dialect();
    let words: Vec<String> = Tokenizer::new(d.as_ref(), sql)
        .tokenize()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| match t {
            Token::Word(w) => Some(w.value),
            _ => None,
        })
        .collect();
    Names::new(schema).used(&words)
}

/// The schema's table and column names by their lower-case spelling, so
/// that naming the words of a query is one lookup per word (a table wins
/// over a column of the same name; of equal column names the first).
pub struct Names {
    by_lower: HashMap<String, (bool, String)>,
}

impl Names {
    pub fn new(schema: &Schema) -> Names {
        let mut by_lower = HashMap::new();
        for c in schema.tables.iter().flat_map(|t| &t.columns) {
            by_lower
                .entry(c.name.to_ascii_lowercase())
                .or_insert((false, c.name.clone()));
        }
        for t in &schema.tables {
            by_lower.insert(t.name.to_ascii_lowercase(), (true, t.name.clone()));
        }
        Names { by_lower }
    }

    /// (tables, columns) among `words`, each once, in order of first use.
    pub fn used(&self, words: &[String]) -> (Vec<String>, Vec<String>) {
        let (mut tables, mut columns) = (Vec::new(), Vec::new());
        for w in words {
            let Some((is_table, name)) = self.by_lower.get(&w.to_ascii_lowercase()) else {
                continue;
            };
            let into = if *is_table { &mut tables } else { &mut columns };
            if !into.contains(name) {
                into.push(name.clone());
            }
        }
        (tables, columns)
    }
}

/// `lower` is the reasoning in lower case, made once for all the names.
fn mentions(lower: &str, name: &str) -> bool {
    let n = name.to_lowercase();
    lower.contains(&n) || (n.contains('_') && lower.contains(&n.replace('_', " ")))
}

/// (score in [0,1], note)
pub fn score(reasoning: Option<&str>, tables: &[String], columns: &[String]) -> (f64, String) {
    let Some(text) = reasoning.map(str::trim).filter(|t| t.chars().count() >= 15) else {
        return (0.0, "no reasoning given".into());
    };
    let lower = text.to_lowercase();
    let mut words: Vec<&str> = lower.split_whitespace().collect();
    let total = words.len();
    words.sort_unstable();
    words.dedup();
    if total >= 6 && (words.len() as f64) / (total as f64) < 0.35 {
        return (0.1, "the reasoning repeats itself".into());
    }
    let cover = |names: &[String]| {
        if names.is_empty() {
            1.0
        } else {
            names.iter().filter(|n| mentions(&lower, n)).count() as f64 / names.len() as f64
        }
    };
    let (tc, cc) = (cover(tables), cover(columns));
    let score = (0.2 + 0.5 * tc + 0.3 * cc).min(1.0);
    (
        score,
        format!(
            "names {:.0}% of the tables and {:.0}% of the columns used",
            tc * 100.0,
            cc * 100.0
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::score;
    use super::Names;
    #[test]
    fn names_are_found_by_word_in_any_case_each_once() {
        let schema = glrl_catalog::parse_ddl(
            "CREATE TABLE ORDERS (Order_Id INT, Status TEXT, Lines INT);
             CREATE TABLE LINES (Order_Id INT, Amount NUMERIC);",
            glrl_catalog::Dialect::Sqlite,
        )
        .expect("the test's DDL parses");
        let words: Vec<String> = "SELECT o.order_id , STATUS , Amount FROM orders o JOIN lines ON x WHERE status = 'Status'"
            .split_whitespace()
            .map(String::from)
            .collect();
        let (tables, columns) = Names::new(&schema).used(&words);
        // A table wins over a column of the same name (LINES); each name once,
        // in the schema's spelling, in order of first use.
        assert_eq!(tables, vec!["ORDERS".to_string(), "LINES".to_string()]);
        assert_eq!(columns, vec!["Status".to_string(), "Amount".to_string()]);
        // The tokenizing entry point agrees.
        let (t2, c2) = super::used_names(
            "SELECT o.order_id, STATUS, Amount FROM orders o JOIN lines ON x WHERE status = 'Status'",
            &schema,
            glrl_catalog::Dialect::Sqlite,
        );
        assert_eq!(t2, tables);
        assert_eq!(
            c2,
            vec![
                "Order_Id".to_string(),
                "Status".to_string(),
                "Amount".to_string()
            ]
        );
    }

    #[test]
    fn reasoning_scores() {
        let t = vec!["SRM_COMPANIES".to_string()];
        let c = vec!["Country".to_string(), "Company_Type".to_string()];
        assert_eq!(score(None, &t, &c).0, 0.0);
        assert_eq!(score(Some("   "), &t, &c).0, 0.0);
        assert_eq!(
            score(Some("table table table table table table table"), &t, &c).0,
            0.1
        );
        let good = score(
            Some("Suppliers live in SRM_COMPANIES; filter Country and company type = Supplier."),
            &t,
            &c,
        )
        .0;
        let vague = score(
            Some("I will write a query that answers the question."),
            &t,
            &c,
        )
        .0;
        assert!(good > 0.9 && vague < 0.3, "{good} {vague}");
    }
}
