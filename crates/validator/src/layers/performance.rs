use super::{Context, Layer, LayerOutput};
use crate::finding::{Finding, LayerName, Severity};
use glrl_catalog::{ident_eq, Dialect};
use glrl_db::ExecOptions;
use std::time::{Duration, Instant};

/// Layer 4: what the query will cost — `SELECT *`, unbounded results over
/// large tables, correlated subqueries, and the database's own plan (SQLite
/// `EXPLAIN QUERY PLAN`, PostgreSQL `EXPLAIN (FORMAT JSON)`; never ANALYZE,
/// which would run the query) with full scans of large indexed tables and
/// an estimated cost.
pub struct Performance;

fn f(sev: Severity, code: &str, msg: String) -> Finding {
    Finding::new(LayerName::Performance, sev, code, msg)
}

impl Layer for Performance {
    fn name(&self) -> LayerName {
        LayerName::Performance
    }

    fn check(&self, cx: &Context) -> LayerOutput {
        let Some(a) = cx.analysis else {
            return LayerOutput::default();
        };
        let mut out = Vec::new();
        let rows = |t: &str| cx.schema.table(t).and_then(|t| t.row_count).unwrap_or(0);
        for span in &a.star_spans {
            out.push(
                f(
                    Severity::Warning,
                    "PERF_SELECT_STAR",
                    "SELECT * reads every column; name the columns the answer needs".into(),
                )
                .at(*span),
            );
        }
        if !a.top_aggregated && !a.top_limited {
            let mut large: Vec<&String> = a
                .tables
                .iter()
                .filter(|t| rows(t) > cx.rules.large_table_rows)
                .collect();
            large.dedup();
            if let Some(t) = large.first() {
                out.push(
                    f(
                        Severity::Warning,
                        "PERF_UNBOUNDED_RESULT",
                        format!("the result is not limited and {t} has {} rows", rows(t)),
                    )
                    .suggest(Some("add LIMIT, or aggregate".into())),
                );
            }
        }
        for span in &a.correlated_in_projection {
            out.push(
                f(
                    Severity::Info,
                    "PERF_CORRELATED_SUBQUERY",
                    "a subquery in the select list runs once per row".into(),
                )
                .at(*span)
                .suggest(Some("a JOIN with GROUP BY computes it once".into())),
            );
        }
        let mut cost = None;
        let mut database_time = Duration::ZERO;
        if let Some(db) = cx.db {
            match plan(cx, db, a, &mut database_time) {
                Ok((findings, c)) => {
                    out.extend(findings);
                    cost = Some(c);
                }
                Err(msg) => out.push(f(
                    Severity::Error,
                    "PERF_PLAN_FAILED",
                    format!("the database cannot plan this query: {msg}"),
                )),
            }
        }
        LayerOutput {
            findings: out,
            estimated_cost: cost,
            database_time,
        }
    }
}

fn plan(
    cx: &Context,
    db: &dyn glrl_db::Database,
    a: &crate::scope::Analysis,
    database_time: &mut Duration,
) -> Result<(Vec<Finding>, f64), String> {
    let opts = ExecOptions {
        timeout: Duration::from_secs(2),
        max_rows: 500,
    };
    let sql = cx.sql.trim().trim_end_matches(';');
    // The whole call, a failed plan included, as the Orchestrator counts
    // a candidate's execution.
    let mut explain = |text: String| {
        let t0 = Instant::now();
        let rs = db.query(&text, &opts);
        *database_time += t0.elapsed();
        rs.map_err(|e| e.to_string())
    };
    match cx.dialect {
        Dialect::Sqlite => {
            let rs = explain(format!("EXPLAIN QUERY PLAN {sql}"))?;
            let details: Vec<String> = rs
                .rows
                .iter()
                .filter_map(|r| r.get(3).map(|v| v.to_plain_string()))
                .collect();
            Ok(sqlite_plan(cx, a, &details))
        }
        Dialect::Postgres => {
            let rs = explain(format!("EXPLAIN (FORMAT JSON) {sql}"))?;
            let text = rs
                .rows
                .first()
                .and_then(|r| r.first())
                .map(|v| v.to_plain_string())
                .unwrap_or_default();
            let json: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| format!("unreadable plan: {e}"))?;
            Ok(pg_plan(cx, a, &json))
        }
    }
}

/// The base table a plan line names (by table name or alias).
fn plan_table(a: &crate::scope::Analysis, name: &str) -> Option<String> {
    a.aliases
        .iter()
        .find(|(al, _)| ident_eq(al, name))
        .map(|(_, t)| t.clone())
}

/// Whether the query filters or joins `table` on a column some index covers.
fn indexed_use(cx: &Context, a: &crate::scope::Analysis, table: &str) -> Option<String> {
    let t = cx.schema.table(table)?;
    let used: Vec<&str> = a
        .joins
        .iter()
        .flat_map(|j| j.pairs.iter().flat_map(|(x, y)| [x, y]))
        .chain(a.comparisons.iter().map(|c| &c.column))
        .filter(|k| ident_eq(&k.0, table))
        .map(|k| k.1.as_str())
        .collect();
    t.indexes
        .iter()
        .find(|i| {
            i.columns
                .first()
                .is_some_and(|c| used.iter().any(|u| ident_eq(u, c)))
        })
        .map(|i| i.name.clone())
}

fn sqlite_plan(
    cx: &Context,
    a: &crate::scope::Analysis,
    details: &[String],
) -> (Vec<Finding>, f64) {
    let mut out = Vec::new();
    let rows = |t: &str| cx.schema.table(t).and_then(|t| t.row_count).unwrap_or(1000) as f64;
    // SQLite gives no costs: estimate rows touched by the nested loops.
    let (mut loops, mut cost) = (1.0f64, 0.0f64);
    for d in details {
        let mut words = d.split_whitespace();
        let op = words.next().unwrap_or("");
        let name = words.next().unwrap_or("");
        let name = if name == "TABLE" {
            words.next().unwrap_or("")
        } else {
            name
        };
        let Some(table) = plan_table(a, name) else {
            continue;
        };
        let n = rows(&table);
        match op {
            "SCAN" => {
                loops *= n;
                cost += loops;
                if !d.contains("USING") && n > cx.rules.large_table_rows as f64 {
                    if let Some(index) = indexed_use(cx, a, &table) {
                        out.push(
                            f(Severity::Warning, "PERF_FULL_SCAN", format!("{table} ({n} rows) is read in full although index {index} could narrow it"))
                                .suggest(Some("filter or join on the indexed column directly (no function around it)".into())),
                        );
                    }
                }
            }
            "SEARCH" => {
                loops *= n.log2().max(1.0);
                cost += loops;
            }
            _ => {}
        }
    }
    out.push(f(
        Severity::Info,
        "PERF_COST",
        format!(
            "estimated cost: about {cost:.0} row visits (SQLite plan: {})",
            details.join("; ")
        ),
    ));
    (out, cost)
}

fn pg_plan(
    cx: &Context,
    a: &crate::scope::Analysis,
    json: &serde_json::Value,
) -> (Vec<Finding>, f64) {
    let plan = &json[0]["Plan"];
    let cost = plan["Total Cost"].as_f64().unwrap_or(0.0);
    let mut out = Vec::new();
    let mut stack = vec![plan];
    while let Some(node) = stack.pop() {
        if node["Node Type"] == "Seq Scan" {
            if let Some(rel) = node["Relation Name"].as_str() {
                let table = cx
                    .schema
                    .table(rel)
                    .map(|t| t.name.clone())
                    .unwrap_or_else(|| rel.to_string());
                let n = cx
                    .schema
                    .table(&table)
                    .and_then(|t| t.row_count)
                    .unwrap_or(0);
                if n > cx.rules.large_table_rows {
                    if let Some(index) = indexed_use(cx, a, &table) {
                        out.push(f(Severity::Warning, "PERF_FULL_SCAN", format!("{table} ({n} rows) is read in full although index {index} could narrow it")));
                    }
                }
            }
        }
        if let Some(children) = node["Plans"].as_array() {
            stack.extend(children.iter());
        }
    }
    out.push(f(
        Severity::Info,
        "PERF_COST",
        format!("estimated cost: {cost:.1} (PostgreSQL planner units)"),
    ));
    (out, cost)
}
