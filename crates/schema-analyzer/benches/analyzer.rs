//! Schema Analyzer speed on the ERP demo database:
//! - `analyze_question/*`: link a question and render its prompt schema
//!   (target: < 1 ms median);
//! - `introspect_and_build/*`: open + introspect the SQLite database and
//!   build the analyzer (target: < 20 ms), with and without the value index.
//!
//! Run: `cargo bench -p glrl-schema-analyzer --bench analyzer`

use criterion::{criterion_group, criterion_main, Criterion};
use glrl_erp::{DemoConfig, GLOSSARY_TOML, LINKING_QUESTIONS_JSONL};
use glrl_schema_analyzer::{approx_tokens, Glossary, RenderOptions, SchemaAnalyzer};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("erp.db");
    glrl_erp::write_demo_sqlite(&path, &DemoConfig::default()).expect("demo db");
    let spec = path.to_str().expect("utf-8 path").to_string();
    let glossary = Glossary::from_toml(GLOSSARY_TOML, "erp").expect("glossary");
    let db = glrl_db::connect(&spec).expect("open");
    let analyzer =
        SchemaAnalyzer::from_database(db.as_ref(), glossary.clone(), 200).expect("analyzer");
    let opts = RenderOptions::default();

    let mut g = c.benchmark_group("analyze_question");
    for (name, q) in [
        ("simple", "List blocked vendors"),
        (
            "medium",
            "Which suppliers in Germany have live contracts over budget?",
        ),
        (
            "complex",
            "Which consultants work on consulting projects for clients in the United States?",
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let link = analyzer.link(black_box(q));
                analyzer.render(&link, &opts, &approx_tokens)
            })
        });
    }
    let questions: Vec<String> = LINKING_QUESTIONS_JSONL
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["question"].as_str().map(str::to_string))
        .collect();
    let mut i = 0;
    g.bench_function("question_set_round_robin", |b| {
        b.iter(|| {
            i = (i + 1) % questions.len();
            let link = analyzer.link(black_box(&questions[i]));
            analyzer.render(&link, &opts, &approx_tokens)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("introspect_and_build");
    g.bench_function("schema_only", |b| {
        b.iter(|| {
            let db = glrl_db::connect(&spec).expect("open");
            let schema = db.introspect().expect("introspect");
            SchemaAnalyzer::new(schema, glossary.clone())
        })
    });
    g.bench_function("with_value_index", |b| {
        b.iter(|| {
            let db = glrl_db::connect(&spec).expect("open");
            SchemaAnalyzer::from_database(db.as_ref(), glossary.clone(), 200).expect("analyzer")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
