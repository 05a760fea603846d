//! The SQLite target: read-only enforced by the connection, timeouts, row
//! caps, typed rows and introspection.

use glrl_db::load::{write_sqlite, TableData};
use glrl_db::{connect, Database, DbError, ExecOptions, Value};
use std::time::Duration;

const DDL: &str = "CREATE TABLE parent (code VARCHAR(10) PRIMARY KEY, kind VARCHAR(5) NOT NULL CHECK (kind IN ('a','b')), \
     amount DECIMAL(10,2) DEFAULT 0, email VARCHAR(50) UNIQUE);
     CREATE TABLE child (id INTEGER PRIMARY KEY, code VARCHAR(10) NOT NULL REFERENCES parent (code), note TEXT);
     CREATE INDEX idx_child_code ON child (code);";

fn db() -> (tempfile::TempDir, Box<dyn Database>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let rows: Vec<Vec<Value>> = (0..50)
        .map(|i| {
            vec![
                Value::Text(format!("P{i:02}")),
                Value::Text(if i % 2 == 0 { "a" } else { "b" }.into()),
                Value::Float(i as f64 * 1.5),
                Value::Text(format!("p{i}@x")),
            ]
        })
        .collect();
    let children: Vec<Vec<Value>> = (1..=20)
        .map(|i| {
            vec![
                Value::Int(i),
                Value::Text(format!("P{:02}", i % 5)),
                Value::Null,
            ]
        })
        .collect();
    write_sqlite(
        &path,
        DDL,
        &[
            TableData {
                table: "parent".into(),
                columns: vec![
                    "code".into(),
                    "kind".into(),
                    "amount".into(),
                    "email".into(),
                ],
                rows,
            },
            TableData {
                table: "child".into(),
                columns: vec!["id".into(), "code".into(), "note".into()],
                rows: children,
            },
        ],
    )
    .unwrap();
    let db = connect(path.to_str().unwrap()).unwrap();
    (dir, db)
}

#[test]
fn writes_fail_at_the_connection() {
    let (_d, db) = db();
    for sql in [
        "INSERT INTO parent (code, kind) VALUES ('Z', 'a')",
        "UPDATE parent SET amount = 0",
        "DELETE FROM child",
        "DROP TABLE child",
        "CREATE TABLE x (y INT)",
        "CREATE TEMP TABLE x (y INT)",
    ] {
        match db.query(sql, &ExecOptions::default()) {
            Err(DbError::ReadOnly(_)) => {}
            other => panic!("{sql}: expected a read-only refusal, got {other:?}"),
        }
    }
    let n = db
        .query("SELECT COUNT(*) FROM child", &ExecOptions::default())
        .unwrap();
    assert_eq!(n.rows[0][0], Value::Int(20));
}

#[test]
fn timeout_and_row_cap() {
    let (_d, db) = db();
    let slow =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c";
    let opts = ExecOptions {
        timeout: Duration::from_millis(100),
        max_rows: 10,
    };
    assert!(matches!(db.query(slow, &opts), Err(DbError::Timeout(100))));
    let rs = db
        .query("SELECT code, amount FROM parent ORDER BY code", &opts)
        .unwrap();
    assert_eq!(rs.rows.len(), 10);
    assert!(rs.truncated);
    assert_eq!(
        rs.rows[1],
        vec![Value::Text("P01".into()), Value::Float(1.5)]
    );
    assert_eq!(rs.columns[0].type_name.as_deref(), Some("VARCHAR(10)"));
    let rs = db.query("SELECT COUNT(*) FROM parent", &opts).unwrap();
    assert!(!rs.truncated);
    // The connection still works after a timeout.
    assert!(db.query("SELECT 1", &ExecOptions::default()).is_ok());
}

#[test]
fn bad_sql_and_missing_files_are_errors() {
    let (_d, db) = db();
    assert!(matches!(
        db.query("SELEC 1", &ExecOptions::default()),
        Err(DbError::Query(_))
    ));
    assert!(matches!(
        db.query("SELECT nope FROM parent", &ExecOptions::default()),
        Err(DbError::Query(_))
    ));
    assert!(matches!(
        connect("/nonexistent/dir/x.db"),
        Err(DbError::NotFound { .. })
    ));
}

#[test]
fn introspection() {
    let (_d, db) = db();
    let s = db.introspect().unwrap();
    let parent = s.table("parent").unwrap();
    assert_eq!(parent.primary_key, vec!["code"]);
    assert_eq!(parent.row_count, Some(50));
    assert_eq!(
        parent.column("kind").unwrap().allowed_values.as_deref(),
        Some(&["a".to_string(), "b".to_string()][..])
    );
    assert!(parent.column("email").unwrap().unique);
    assert_eq!(
        parent.column("amount").unwrap().default.as_deref(),
        Some("0")
    );
    let child = s.table("child").unwrap();
    assert_eq!(child.foreign_keys[0].ref_table, "parent");
    assert_eq!(child.indexes.len(), 1);
    assert_eq!(child.indexes[0].columns, vec!["code"]);
    let ddl = glrl_catalog::parse_ddl(DDL, glrl_catalog::Dialect::Sqlite).unwrap();
    assert!(
        s.same_structure(&ddl),
        "introspected {s:#?}\nvs DDL {ddl:#?}"
    );
    assert_eq!(
        db.distinct_values("parent", "kind", 5).unwrap(),
        Some(vec!["a".into(), "b".into()])
    );
    assert_eq!(db.distinct_values("parent", "code", 5).unwrap(), None);
}
