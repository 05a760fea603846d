//! The one write path: creating a database from DDL and rows (the demo
//! database). Never used on behalf of a question.

use crate::postgres::{connect_client, pg_msg};
use crate::{quote_ident, DbError, Value};
use rusqlite::types::ToSqlOutput;
use std::io::Write;
use std::path::Path;

/// Rows for one table, in column order.
#[derive(Debug, Clone, PartialEq)]
pub struct TableData {
    pub table: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        use rusqlite::types::Value as V;
        Ok(ToSqlOutput::Owned(match self {
            Value::Null => V::Null,
            Value::Bool(b) => V::Integer((*b).into()),
            Value::Int(i) => V::Integer(*i),
            Value::Float(f) => V::Real(*f),
            // DECIMAL columns have NUMERIC affinity in SQLite and would
            // store the text as REAL anyway; do it explicitly.
            Value::Decimal(d) => V::Real(d.to_string().parse().unwrap_or(0.0)),
            Value::Text(s) => V::Text(s.clone()),
            Value::Bytes(b) => V::Blob(b.clone()),
        }))
    }
}

/// Writes a new SQLite database at `path`: into a temporary file first,
/// renamed over `path` only when complete, so an interrupted run never
/// leaves a half-filled database behind.
pub fn write_sqlite(path: &Path, ddl: &str, data: &[TableData]) -> Result<(), DbError> {
    let io = |e: std::io::Error| DbError::Io {
        path: path.display().to_string(),
        source: e,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let result = fill_sqlite(&tmp, ddl, data);
    match result {
        Ok(()) => std::fs::rename(&tmp, path).map_err(io),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn fill_sqlite(path: &Path, ddl: &str, data: &[TableData]) -> Result<(), DbError> {
    let err = |e: rusqlite::Error| DbError::Load(e.to_string());
    let mut conn = rusqlite::Connection::open(path).map_err(err)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(err)?;
    // Deterministic bytes: no journal left behind, and a fixed page layout.
    conn.pragma_update(None, "journal_mode", "DELETE")
        .map_err(err)?;
    let tx = conn.transaction().map_err(err)?;
    tx.execute_batch(ddl).map_err(err)?;
    for t in data {
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            quote_ident(&t.table),
            t.columns
                .iter()
                .map(|c| quote_ident(c))
                .collect::<Vec<_>>()
                .join(", "),
            vec!["?"; t.columns.len()].join(", ")
        );
        let mut stmt = tx.prepare(&sql).map_err(err)?;
        for row in &t.rows {
            stmt.execute(rusqlite::params_from_iter(row.iter()))
                .map_err(err)?;
        }
    }
    tx.commit().map_err(err)?;
    conn.execute_batch("ANALYZE").map_err(err)?;
    Ok(())
}

/// Loads the tables into PostgreSQL schema `schema`, replacing whatever was
/// there, in one transaction: run it twice and the result is the same, and
/// a failure leaves the previous contents untouched.
///
/// A load that loses a deadlock against another session's DDL is rolled
/// back whole by the server, so running it again is safe; it is retried a
/// few times before the deadlock becomes the error.
pub fn load_postgres(
    url: &str,
    schema: &str,
    ddl: &str,
    data: &[TableData],
) -> Result<(), DbError> {
    let mut client = connect_client(url)?;
    let mut attempt = 0;
    loop {
        match load_postgres_once(&mut client, schema, ddl, data) {
            Err(LoadFailure::Retryable(_)) if attempt < 3 => attempt += 1,
            Err(LoadFailure::Retryable(e)) | Err(LoadFailure::Fatal(e)) => return Err(e),
            Ok(()) => return Ok(()),
        }
    }
}

enum LoadFailure {
    /// A deadlock or serialization failure: the transaction was rolled back.
    Retryable(DbError),
    Fatal(DbError),
}

fn load_postgres_once(
    client: &mut postgres::Client,
    schema: &str,
    ddl: &str,
    data: &[TableData],
) -> Result<(), LoadFailure> {
    let err = |e: postgres::Error| {
        let retry = e.code().is_some_and(|c| {
            *c == postgres::error::SqlState::T_R_DEADLOCK_DETECTED
                || *c == postgres::error::SqlState::T_R_SERIALIZATION_FAILURE
        });
        let e = DbError::Load(pg_msg(&e));
        if retry {
            LoadFailure::Retryable(e)
        } else {
            LoadFailure::Fatal(e)
        }
    };
    let mut tx = client.transaction().map_err(err)?;
    let s = quote_ident(schema);
    tx.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {s} CASCADE; CREATE SCHEMA {s}; SET LOCAL search_path TO {s};"
    ))
    .map_err(err)?;
    tx.batch_execute(ddl).map_err(err)?;
    for t in data {
        let cols = t.columns.join(", ");
        let mut writer = tx
            .copy_in(&format!(
                "COPY {} ({cols}) FROM STDIN (FORMAT csv)",
                t.table
            ))
            .map_err(err)?;
        let mut buf = String::new();
        for row in &t.rows {
            buf.clear();
            for (i, v) in row.iter().enumerate() {
                if i > 0 {
                    buf.push(',');
                }
                csv_field(&mut buf, v);
            }
            buf.push('\n');
            writer
                .write_all(buf.as_bytes())
                .map_err(|e| LoadFailure::Fatal(DbError::Load(e.to_string())))?;
        }
        writer.finish().map_err(err)?;
    }
    // A bare ANALYZE would lock every table of the database, other schemas'
    // included, and deadlock against their concurrent DROP SCHEMA; only
    // the tables just loaded need statistics.
    for t in data {
        tx.batch_execute(&format!("ANALYZE {}", t.table))
            .map_err(err)?;
    }
    tx.commit().map_err(err)
}

/// CSV for COPY: an empty unquoted field is NULL, so text is always quoted.
fn csv_field(buf: &mut String, v: &Value) {
    match v {
        Value::Null => {}
        Value::Text(s) => {
            buf.push('"');
            buf.push_str(&s.replace('"', "\"\""));
            buf.push('"');
        }
        other => buf.push_str(&other.to_string()),
    }
}
