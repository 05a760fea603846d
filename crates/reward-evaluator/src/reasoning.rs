//! Reasoning quality: the `<think>` text is present, is not degenerate
//! (repetition, filler), and names the tables and columns the SQL uses.

use glrl_catalog::Schema;
use sqlparser::tokenizer::{Token, Tokenizer};

/// Tables and columns of `schema` that the SQL names.
pub fn used_names(
    sql: &str,
    schema: &Schema,
    dialect: glrl_catalog::Dialect,
) -> (Vec<String>, Vec<String>) {
    let d = dialect.parser_dialect();
    let tokens = Tokenizer::new(d.as_ref(), sql)
        .tokenize()
        .unwrap_or_default();
    let (mut tables, mut columns) = (Vec::new(), Vec::new());
    for t in tokens {
        let Token::Word(w) = t else { continue };
        if let Some(table) = schema.table(&w.value) {
            if !tables.contains(&table.name) {
                tables.push(table.name.clone());
            }
        } else if let Some(c) = schema
            .tables
            .iter()
            .flat_map(|t| &t.columns)
            .find(|c| c.name.eq_ignore_ascii_case(&w.value))
        {
            if !columns.contains(&c.name) {
                columns.push(c.name.clone());
            }
        }
    }
    (tables, columns)
}

fn mentions(text: &str, name: &str) -> bool {
    let t = text.to_lowercase();
    let n = name.to_lowercase();
    t.contains(&n) || t.contains(&n.replace('_', " "))
}

/// (score in [0,1], note)
pub fn score(reasoning: Option<&str>, tables: &[String], columns: &[String]) -> (f64, String) {
    let Some(text) = reasoning.map(str::trim).filter(|t| t.chars().count() >= 15) else {
        return (0.0, "no reasoning given".into());
    };
    let words: Vec<String> = text.split_whitespace().map(|w| w.to_lowercase()).collect();
    let mut unique = words.clone();
    unique.sort();
    unique.dedup();
    if words.len() >= 6 && (unique.len() as f64) / (words.len() as f64) < 0.35 {
        return (0.1, "the reasoning repeats itself".into());
    }
    let cover = |names: &[String]| {
        if names.is_empty() {
            1.0
        } else {
            names.iter().filter(|n| mentions(text, n)).count() as f64 / names.len() as f64
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
