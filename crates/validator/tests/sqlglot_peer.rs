//! Peer test against sqlglot's own fixtures (identity.sql and TPC-H from its
//! PyPI source distribution, fetched by `scripts/fetch-sqlglot.sh`): the
//! parser and the validator never panic on them, and the constructs
//! sqlparser cannot parse are listed. Skipped, saying so, when the
//! fixtures are absent; `.ci/run` fetches them.

mod common;
use glrl_catalog::Dialect;
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

fn fixtures() -> Option<PathBuf> {
    let dir = std::env::var("GLRL_SQLGLOT_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/peer/sqlglot-30.30.0/tests/fixtures")
        });
    if dir.join("identity.sql").exists() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: sqlglot fixtures not found at {} (run scripts/fetch-sqlglot.sh)",
            dir.display()
        );
        None
    }
}

/// Parses a fixture line as a statement, or else as an expression.
fn parses(sql: &str) -> Result<(), String> {
    let d = GenericDialect {};
    if Parser::parse_sql(&d, sql).is_ok() {
        return Ok(());
    }
    Parser::new(&d)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A short name for what failed: the first word of the line.
fn construct(sql: &str) -> String {
    sql.split(|c: char| !c.is_alphanumeric() && c != '_')
        .find(|w| !w.is_empty())
        .unwrap_or("?")
        .to_uppercase()
}

#[test]
fn sqlglot_identity_and_tpch_fixtures() {
    let Some(dir) = fixtures() else { return };
    let identity = std::fs::read_to_string(dir.join("identity.sql")).unwrap();
    let tpch = std::fs::read_to_string(dir.join("optimizer/tpc-h/tpc-h.sql")).unwrap();
    let mut cases: Vec<(String, String)> = identity
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| ("identity".into(), l.to_string()))
        .collect();
    for block in tpch
        .split("--------------------------------------\n-- TPC-H")
        .skip(1)
    {
        let body: String = block.lines().skip(2).collect::<Vec<_>>().join("\n");
        for stmt in body.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
            cases.push(("tpc-h".into(), stmt.to_string()));
        }
    }
    let v = common::validator();
    let (mut panics, mut failed) = (Vec::new(), BTreeMap::<String, Vec<String>>::new());
    let mut ok = BTreeMap::<String, (usize, usize)>::new();
    for (set, sql) in &cases {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let parsed = parses(sql);
            let _ = v.validate_static(sql);
            let _ = glrl_validator::Validator::new(&common::erp().analyzer, Dialect::Postgres)
                .validate_static(sql);
            parsed
        }));
        let e = ok.entry(set.clone()).or_default();
        e.1 += 1;
        match outcome {
            Err(_) => panics.push(sql.clone()),
            Ok(Ok(())) => e.0 += 1,
            Ok(Err(_)) => failed.entry(construct(sql)).or_default().push(sql.clone()),
        }
    }
    println!(
        "sqlglot 30.30.0 fixtures through sqlparser 0.64 (generic dialect) and the validator:"
    );
    for (set, (n_ok, n)) in &ok {
        println!("  {set}: {n_ok}/{n} parsed");
    }
    println!("  constructs sqlparser cannot parse (by leading word, count, example):");
    let mut by_count: Vec<_> = failed.iter().collect();
    by_count.sort_by_key(|(k, v)| (std::cmp::Reverse(v.len()), (*k).clone()));
    for (k, examples) in by_count {
        println!(
            "    {k:<14} {:>3}  {}",
            examples.len(),
            examples[0].chars().take(90).collect::<String>()
        );
    }
    assert!(panics.is_empty(), "panicked on:\n{}", panics.join("\n"));
    let (tpch_ok, tpch_n) = ok.get("tpc-h").copied().unwrap_or_default();
    assert_eq!(tpch_ok, tpch_n, "every TPC-H query parses");
}
