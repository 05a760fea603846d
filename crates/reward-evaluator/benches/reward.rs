//! Reward for one candidate on the ERP demo database:
//! - `reward/static`: validator static layers + reasoning, no database (target < 1 ms);
//! - `reward/with_execution`: all layers with the plan, and the candidate
//!   executed and compared with the (precomputed) gold result (target < 5 ms).
//!
//! Run: `cargo bench -p glrl-reward-evaluator --bench reward`

use criterion::{criterion_group, criterion_main, Criterion};
use glrl_catalog::Dialect;
use glrl_erp::{DemoConfig, GLOSSARY_TOML, RULES_TOML};
use glrl_reward_evaluator::RewardEvaluator;
use glrl_schema_analyzer::{Glossary, SchemaAnalyzer};
use glrl_validator::{Rules, Validator};
use std::hint::black_box;

const CANDIDATE: &str = "<think>Suppliers are SRM_COMPANIES rows with Company_Type 'Supplier'; live contracts are PROJCNTRTS \
    with Status 'Active'; over budget compares PAC_MNT_PROJECTS Actual_Cost with Budget_Amount.</think>\n\
    SELECT DISTINCT c.Company_Code, c.Company_Name FROM SRM_COMPANIES c \
    JOIN PROJCNTRTS t ON t.Company_Code = c.Company_Code JOIN PAC_MNT_PROJECTS p ON p.Project_Code = t.Project_Code \
    WHERE c.Country = 'Germany' AND c.Company_Type = 'Supplier' AND t.Status = 'Active' AND p.Actual_Cost > p.Budget_Amount";

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("erp.db");
    glrl_erp::write_demo_sqlite(&path, &DemoConfig::default()).expect("demo db");
    let db = glrl_db::connect(path.to_str().expect("utf-8")).expect("open");
    let analyzer = SchemaAnalyzer::from_database(
        db.as_ref(),
        Glossary::from_toml(GLOSSARY_TOML, "erp").expect("glossary"),
        200,
    )
    .expect("analyzer");
    let v = Validator::new(&analyzer, Dialect::Sqlite)
        .with_rules(Rules::from_toml(RULES_TOML).expect("rules"))
        .with_database(db.as_ref());
    let r = RewardEvaluator::new(&v, db.as_ref(), analyzer.schema());
    let gold = r.gold(CANDIDATE.split("</think>").nth(1).expect("sql"));
    assert_eq!(
        r.score(CANDIDATE, Some(&gold))
            .dimension("accuracy")
            .map(|d| d.score),
        Some(1.0)
    );

    let mut g = c.benchmark_group("reward");
    g.bench_function("static", |b| {
        b.iter(|| r.score_static(black_box(CANDIDATE)))
    });
    g.bench_function("with_execution", |b| {
        b.iter(|| r.score(black_box(CANDIDATE), Some(&gold)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
