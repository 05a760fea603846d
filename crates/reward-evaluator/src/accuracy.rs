//! Execution accuracy: the candidate's result against the gold query's, as
//! multisets of rows with column order free (sequences when the gold query
//! orders), with partial credit for the right rows under extra or missing
//! columns.

use glrl_db::{ResultSet, Value};

/// A value in comparable form: numbers to 2 decimals (money is DECIMAL
/// in one engine and REAL in another), text as is.
fn norm(v: &Value) -> String {
    match v {
        Value::Null => "\u{0}NULL".into(),
        Value::Bool(b) => {
            if *b {
                "1.00".into()
            } else {
                "0.00".into()
            }
        }
        Value::Text(s) => match s.parse::<f64>() {
            Ok(x)
                if s.chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == '-') =>
            {
                format!("{x:.2}")
            }
            _ => s.clone(),
        },
        other => match other.as_f64() {
            Some(x) => format!("{x:.2}"),
            None => other.to_string(),
        },
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub score: f64,
    pub note: String,
}

pub fn compare(gold: &ResultSet, cand: &ResultSet, ordered: bool) -> Comparison {
    let g_cols = columns(gold);
    let c_cols = columns(cand);
    if gold.rows.len() != cand.rows.len() {
        return Comparison {
            score: 0.0,
            note: format!(
                "{} rows where {} were expected",
                cand.rows.len(),
                gold.rows.len()
            ),
        };
    }
    if gold.rows.is_empty() {
        return Comparison {
            score: 1.0,
            note: "both results are empty".into(),
        };
    }
    // Match each gold column to an unused candidate column with the same
    // multiset of values.
    let sorted = |c: &Vec<String>| {
        let mut s = c.clone();
        s.sort();
        s
    };
    let c_sorted: Vec<Vec<String>> = c_cols.iter().map(sorted).collect();
    let mut used = vec![false; c_cols.len()];
    let mut mapping: Vec<Option<usize>> = Vec::new();
    for g in &g_cols {
        let gs = sorted(g);
        let hit = (0..c_cols.len()).find(|&j| !used[j] && c_sorted[j] == gs);
        if let Some(j) = hit {
            used[j] = true;
        }
        mapping.push(hit);
    }
    let matched: Vec<(usize, usize)> = mapping
        .iter()
        .enumerate()
        .filter_map(|(i, m)| m.map(|j| (i, j)))
        .collect();
    if matched.is_empty() {
        return Comparison {
            score: 0.0,
            note: "no column of the result matches the expected values".into(),
        };
    }
    let project = |cols: &[Vec<String>], idx: &[usize]| -> Vec<Vec<String>> {
        (0..cols.first().map_or(0, Vec::len))
            .map(|r| idx.iter().map(|&c| cols[c][r].clone()).collect())
            .collect()
    };
    let g_rows = project(&g_cols, &matched.iter().map(|m| m.0).collect::<Vec<_>>());
    let c_rows = project(&c_cols, &matched.iter().map(|m| m.1).collect::<Vec<_>>());
    let same_sequence = g_rows == c_rows;
    let same_multiset = same_sequence || {
        let (mut a, mut b) = (g_rows.clone(), c_rows.clone());
        a.sort();
        b.sort();
        a == b
    };
    if !same_multiset {
        return Comparison {
            score: 0.0,
            note: "the columns hold the right values but not in the right rows".into(),
        };
    }
    let order_factor = if ordered && !same_sequence { 0.7 } else { 1.0 };
    let all = matched.len() == g_cols.len();
    let extra = c_cols.len() - matched.len();
    let (score, what) = match (all, extra) {
        (true, 0) => (1.0, "same result".to_string()),
        (true, n) => (0.8, format!("right rows, {n} extra column(s)")),
        (false, _) => (
            0.5 * matched.len() as f64 / g_cols.len() as f64,
            format!(
                "right rows, {} of {} expected columns",
                matched.len(),
                g_cols.len()
            ),
        ),
    };
    let note = if order_factor < 1.0 {
        format!("{what}, wrong order")
    } else {
        what
    };
    Comparison {
        score: score * order_factor,
        note,
    }
}

fn columns(rs: &ResultSet) -> Vec<Vec<String>> {
    (0..rs.columns.len())
        .map(|c| {
            rs.rows
                .iter()
                .map(|r| r.get(c).map(norm).unwrap_or_default())
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use glrl_db::ColumnMeta;
    use std::time::Duration;

    fn rs(cols: &[&str], rows: Vec<Vec<Value>>) -> ResultSet {
        ResultSet {
            columns: cols
                .iter()
                .map(|c| ColumnMeta {
                    name: c.to_string(),
                    type_name: None,
                })
                .collect(),
            rows,
            truncated: false,
            elapsed: Duration::ZERO,
        }
    }
    fn t(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn column_order_free_row_multisets() {
        let gold = rs(
            &["a", "b"],
            vec![vec![t("x"), Value::Int(1)], vec![t("y"), Value::Int(2)]],
        );
        let swapped = rs(
            &["b", "a"],
            vec![vec![Value::Float(2.0), t("y")], vec![Value::Int(1), t("x")]],
        );
        assert_eq!(compare(&gold, &swapped, false).score, 1.0);
        assert_eq!(compare(&gold, &swapped, true).score, 0.7);
        let extra = rs(
            &["a", "b", "c"],
            vec![
                vec![t("x"), Value::Int(1), t("q")],
                vec![t("y"), Value::Int(2), t("r")],
            ],
        );
        assert_eq!(compare(&gold, &extra, false).score, 0.8);
        let missing = rs(&["a"], vec![vec![t("x")], vec![t("y")]]);
        assert_eq!(compare(&gold, &missing, false).score, 0.25);
        let crossed = rs(
            &["a", "b"],
            vec![vec![t("x"), Value::Int(2)], vec![t("y"), Value::Int(1)]],
        );
        assert_eq!(compare(&gold, &crossed, false).score, 0.0);
        let fewer = rs(&["a", "b"], vec![vec![t("x"), Value::Int(1)]]);
        assert_eq!(compare(&gold, &fewer, false).score, 0.0);
    }
}
