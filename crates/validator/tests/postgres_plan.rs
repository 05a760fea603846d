//! The validator against the real PostgreSQL server: the performance layer
//! reads `EXPLAIN (FORMAT JSON)` through the read-only connection, and a
//! write never reaches the database. Skipped, saying so, without
//! GLRL_TEST_POSTGRES_URL (`.ci/run` sets it).

use glrl_catalog::Dialect;
use glrl_db::{Database, PgDatabase};
use glrl_erp::{generate, DemoConfig, GLOSSARY_TOML, RULES_TOML, SCHEMA_SQL};
use glrl_schema_analyzer::{Glossary, SchemaAnalyzer};
use glrl_validator::{LayerName, Rules, Validator};

#[test]
fn postgres_plan_and_gate() {
    let Ok(url) = std::env::var("GLRL_TEST_POSTGRES_URL") else {
        eprintln!(
            "SKIPPED: the PostgreSQL plan test needs GLRL_TEST_POSTGRES_URL (bash .ci/run sets it)"
        );
        return;
    };
    let schema = format!("glrl_test_plan_{}", std::process::id());
    glrl_db::load::load_postgres(&url, &schema, SCHEMA_SQL, &generate(&DemoConfig::default()))
        .unwrap();
    let db = PgDatabase::connect(&url, &schema).unwrap();
    let analyzer =
        SchemaAnalyzer::from_database(&db, Glossary::from_toml(GLOSSARY_TOML, "erp").unwrap(), 200)
            .unwrap();
    let v = Validator::new(&analyzer, Dialect::Postgres)
        .with_rules(Rules::from_toml(RULES_TOML).unwrap())
        .with_database(&db);

    let r = v.validate("SELECT c.Company_Code, COUNT(*) FROM SRM_COMPANIES c JOIN PROJCNTRTS t ON t.Company_Code = c.Company_Code WHERE c.Country = 'Germany' GROUP BY c.Company_Code");
    assert!(r.valid, "{:#?}", r.errors().collect::<Vec<_>>());
    assert!(
        r.estimated_cost.is_some_and(|c| c > 0.0),
        "{:?}",
        r.estimated_cost
    );
    assert!(r.has_code("PERF_COST"));
    // Names are folded to lower case in PostgreSQL; the vocabulary still applies.
    assert!(v
        .validate("SELECT Company_Code FROM SRM_COMPANIES WHERE Status = 'blocked'")
        .has_code("BUSINESS_UNKNOWN_VALUE"));
    let w = v.validate("DELETE FROM PROJSTAFF");
    assert!(!w.valid && !w.layer(LayerName::Security).unwrap().passed);
    assert_eq!(
        w.estimated_cost, None,
        "a write never reaches the database, not even as EXPLAIN"
    );
    let n = db
        .query("SELECT COUNT(*) FROM PROJSTAFF", &Default::default())
        .unwrap();
    assert!(n.rows[0][0].as_f64().unwrap() > 1000.0);

    if let Ok(mut c) = postgres::Client::connect(&url, postgres::NoTls) {
        let _ = c.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
    }
}
