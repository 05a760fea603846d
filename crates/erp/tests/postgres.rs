//! The PostgreSQL target against the real local server: idempotent demo
//! load, introspection parity with SQLite and the DDL, the same answers,
//! and read-only enforcement by the connection. Skipped (with a message)
//! when GLRL_TEST_POSTGRES_URL is not set; `.ci/run` always sets it.

use glrl_catalog::{parse_ddl, Dialect};
use glrl_db::{Database, DbError, ExecOptions, PgDatabase, SqliteDatabase, Value};
use glrl_erp::{generate, DemoConfig, SCHEMA_SQL};
use std::time::Duration;

fn pg_url() -> Option<String> {
    match std::env::var("GLRL_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!(
                "SKIPPED: PostgreSQL tests need GLRL_TEST_POSTGRES_URL (bash .ci/run sets it)"
            );
            None
        }
    }
}

/// A schema of its own per test, dropped afterwards.
struct TestSchema {
    url: String,
    name: String,
}

impl TestSchema {
    fn load(url: &str, tag: &str) -> TestSchema {
        let name = format!("glrl_test_{tag}_{}", std::process::id());
        let data = generate(&DemoConfig::default());
        glrl_db::load::load_postgres(url, &name, SCHEMA_SQL, &data).unwrap();
        TestSchema {
            url: url.to_string(),
            name,
        }
    }
    fn db(&self) -> PgDatabase {
        PgDatabase::connect(&self.url, &self.name).unwrap()
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.url, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

fn sqlite_demo() -> (tempfile::TempDir, SqliteDatabase) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("erp.db");
    glrl_erp::write_demo_sqlite(&path, &DemoConfig::default()).unwrap();
    let db = SqliteDatabase::open(&path).unwrap();
    (dir, db)
}

#[test]
fn introspection_parity_with_sqlite_and_ddl() {
    let Some(url) = pg_url() else { return };
    let schema = TestSchema::load(&url, "parity");
    // Loading again gives the same state: the load is idempotent.
    let data = generate(&DemoConfig::default());
    glrl_db::load::load_postgres(&url, &schema.name, SCHEMA_SQL, &data).unwrap();
    let pg = schema.db().introspect().unwrap();
    let (_d, sqlite) = sqlite_demo();
    let lite = sqlite.introspect().unwrap();
    let ddl = parse_ddl(SCHEMA_SQL, Dialect::Postgres).unwrap();
    assert!(
        pg.same_structure(&lite),
        "PostgreSQL {:#?}\nSQLite {:#?}",
        pg.canonical(),
        lite.canonical()
    );
    assert!(pg.same_structure(&ddl));
    assert_eq!(pg.canonical(), lite.canonical(), "row counts differ");
    let expected: Vec<u64> = data.iter().map(|t| t.rows.len() as u64).collect();
    let counts: Vec<u64> = glrl_erp::TABLES
        .iter()
        .map(|t| pg.table(t).unwrap().row_count.unwrap())
        .collect();
    assert_eq!(counts, expected);
}

fn as_text(v: &Value) -> String {
    match v.as_f64() {
        Some(x) => format!("{x:.2}"),
        None => v.to_plain_string(),
    }
}

#[test]
fn same_answers_as_sqlite() {
    let Some(url) = pg_url() else { return };
    let schema = TestSchema::load(&url, "answers");
    let pg = schema.db();
    let (_d, lite) = sqlite_demo();
    for sql in [
        "SELECT Status, COUNT(*), SUM(Budget_Amount) FROM PAC_MNT_PROJECTS GROUP BY Status ORDER BY Status",
        "SELECT c.Country, COUNT(*) FROM SRM_COMPANIES c JOIN PROJCNTRTS t ON t.Company_Code = c.Company_Code \
         WHERE t.Status = 'Active' GROUP BY c.Country ORDER BY c.Country",
        "SELECT Project_Code, End_Date FROM PAC_MNT_PROJECTS ORDER BY Project_Code LIMIT 20",
    ] {
        let a = pg.query(sql, &ExecOptions::default()).unwrap();
        let b = lite.query(sql, &ExecOptions::default()).unwrap();
        let rows = |rs: &glrl_db::ResultSet| rs.rows.iter().map(|r| r.iter().map(as_text).collect::<Vec<_>>()).collect::<Vec<_>>();
        assert_eq!(rows(&a), rows(&b), "{sql}");
    }
    // Typed rows: NUMERIC arrives as a decimal, DATE as ISO text.
    let rs = pg.query("SELECT Budget_Amount, Start_Date FROM PAC_MNT_PROJECTS WHERE Project_Code = 'PRJ-0001'", &ExecOptions::default()).unwrap();
    assert!(matches!(rs.rows[0][0], Value::Decimal(_)));
    assert!(matches!(&rs.rows[0][1], Value::Text(d) if d.len() == 10 && d.starts_with("20")));
}

#[test]
fn read_only_timeout_and_row_cap_at_the_connection() {
    let Some(url) = pg_url() else { return };
    let schema = TestSchema::load(&url, "readonly");
    let db = schema.db();
    for sql in [
        "INSERT INTO SRM_COMPANIES (Company_Code, Company_Name, Company_Type, Industry, Country, City, Credit_Limit, Payment_Terms, Status) \
         VALUES ('CMP-999', 'X', 'Supplier', 'Retail', 'France', 'Paris', 1, 'NET30', 'Active')",
        "UPDATE PAC_MNT_PROJECTS SET Actual_Cost = 0",
        "DELETE FROM PROJSTAFF",
        "CREATE TABLE evil (x int)",
        "WITH d AS (DELETE FROM PROJSTAFF RETURNING 1) SELECT COUNT(*) FROM d",
    ] {
        match db.query(sql, &ExecOptions::default()) {
            Err(DbError::ReadOnly(_)) => {}
            other => panic!("{sql}: expected a read-only refusal, got {other:?}"),
        }
    }
    // A transaction-control smuggle cannot escape the read-only transaction.
    assert!(db
        .query("COMMIT; DELETE FROM PROJSTAFF", &ExecOptions::default())
        .is_err());
    let n = db
        .query("SELECT COUNT(*) FROM PROJSTAFF", &ExecOptions::default())
        .unwrap();
    assert_eq!(
        n.rows[0][0].as_f64(),
        Some(generate(&DemoConfig::default())[4].rows.len() as f64)
    );

    let opts = ExecOptions {
        timeout: Duration::from_millis(200),
        max_rows: 5,
    };
    assert!(matches!(
        db.query("SELECT pg_sleep(5)", &opts),
        Err(DbError::Timeout(200))
    ));
    let rs = db
        .query(
            "SELECT Resource_Code FROM PAC_MNT_RESOURCES ORDER BY 1",
            &opts,
        )
        .unwrap();
    assert_eq!(rs.rows.len(), 5);
    assert!(rs.truncated);
    assert_eq!(rs.rows[0][0], Value::Text("RES-0001".into()));
}
