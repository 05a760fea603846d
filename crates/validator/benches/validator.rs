//! Validator speed on the ERP demo database, over the 200 queries of
//! `corpus/legit.sql` (one query per iteration, round robin):
//! - `validate/static`: syntax, schema, business, security (target < 0.2 ms);
//! - `validate/full`: all five layers with the SQLite plan (target < 2 ms).
//!
//! `scripts/bench-validator.sh` runs this and sqlglot's parse + qualify on
//! the same queries in one go and prints the ratio.

use criterion::{criterion_group, criterion_main, Criterion};
use glrl_catalog::Dialect;
use glrl_erp::{DemoConfig, GLOSSARY_TOML, RULES_TOML};
use glrl_schema_analyzer::{Glossary, SchemaAnalyzer};
use glrl_validator::{Rules, Validator};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("erp.db");
    glrl_erp::write_demo_sqlite(&path, &DemoConfig::default()).expect("demo db");
    let db = glrl_db::connect(path.to_str().expect("utf-8")).expect("open");
    let glossary = Glossary::from_toml(GLOSSARY_TOML, "erp").expect("glossary");
    let analyzer = SchemaAnalyzer::from_database(db.as_ref(), glossary, 200).expect("analyzer");
    let rules = Rules::from_toml(RULES_TOML).expect("rules");
    let v = Validator::new(&analyzer, Dialect::Sqlite)
        .with_rules(rules)
        .with_database(db.as_ref());
    let queries: Vec<&str> = include_str!("../corpus/legit.sql")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("-- "))
        .collect();
    assert!(queries.iter().all(|q| v.validate(q).valid));

    let mut g = c.benchmark_group("validate");
    let mut i = 0;
    g.bench_function("static", |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            v.validate_static(black_box(queries[i]))
        })
    });
    let mut i = 0;
    g.bench_function("full", |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            v.validate(black_box(queries[i]))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
