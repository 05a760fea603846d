//! SQLite through rusqlite (bundled), opened read-only with `query_only`.

use crate::{quote_ident, ColumnMeta, Database, DbError, ExecOptions, ResultSet, Value};
use glrl_catalog::{parse_ddl, Column, Dialect, ForeignKey, Index, Schema, SqlType, Table};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

pub struct SqliteDatabase {
    path: PathBuf,
    conn: Mutex<Connection>,
}

/// SQLite calls the progress handler every this many VM instructions; small
/// enough that a timeout fires within a millisecond or so.
const PROGRESS_OPS: i32 = 10_000;

impl SqliteDatabase {
    pub fn open(path: &Path) -> Result<SqliteDatabase, DbError> {
        if !path.exists() {
            return Err(DbError::NotFound {
                path: path.display().to_string(),
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| DbError::Connect {
            target: path.display().to_string(),
            message: e.to_string(),
        })?;
        // Belt and braces: even a connection reopened read-write by mistake
        // refuses writes while query_only is on.
        conn.pragma_update(None, "query_only", true)
            .map_err(|e| DbError::Connect {
                target: path.display().to_string(),
                message: e.to_string(),
            })?;
        Ok(SqliteDatabase {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave the connection in a
        // half-written state (it never writes), so a poisoned lock is usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn classify(e: rusqlite::Error, timeout_ms: u64) -> DbError {
    let msg = e.to_string();
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::OperationInterrupted) => DbError::Timeout(timeout_ms),
        Some(rusqlite::ErrorCode::ReadOnly) => DbError::ReadOnly(msg),
        _ if msg.contains("readonly") || msg.contains("query_only") => DbError::ReadOnly(msg),
        _ => DbError::Query(msg),
    }
}

fn to_value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Float(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    }
}

impl Database for SqliteDatabase {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn describe(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    fn query(&self, sql: &str, opts: &ExecOptions) -> Result<ResultSet, DbError> {
        let timeout_ms = opts.timeout.as_millis() as u64;
        let mut conn = self.lock();
        let start = Instant::now();
        let deadline = start + opts.timeout;
        conn.progress_handler(PROGRESS_OPS, Some(move || Instant::now() >= deadline))
            .map_err(|e| DbError::Query(e.to_string()))?;
        let result = run_query(&conn, sql, opts.max_rows, timeout_ms);
        conn.progress_handler(PROGRESS_OPS, None::<fn() -> bool>)
            .map_err(|e| DbError::Query(e.to_string()))?;
        let (columns, rows, truncated) = result?;
        Ok(ResultSet {
            columns,
            rows,
            truncated,
            elapsed: start.elapsed(),
        })
    }

    fn introspect(&self) -> Result<Schema, DbError> {
        let conn = self.lock();
        introspect(&conn).map_err(|e| DbError::Introspect(e.to_string()))
    }
}

type Rows = (Vec<ColumnMeta>, Vec<Vec<Value>>, bool);

fn run_query(
    conn: &Connection,
    sql: &str,
    max_rows: usize,
    timeout_ms: u64,
) -> Result<Rows, DbError> {
    let mut stmt = conn.prepare(sql).map_err(|e| classify(e, timeout_ms))?;
    let columns: Vec<ColumnMeta> = stmt
        .columns()
        .map(|c| ColumnMeta {
            name: c.name().to_string(),
            type_name: c.decl_type().map(str::to_string),
        })
        .collect();
    let n = columns.len();
    let mut rows_out = Vec::new();
    let mut truncated = false;
    let mut rows = stmt.query([]).map_err(|e| classify(e, timeout_ms))?;
    while let Some(row) = rows.next().map_err(|e| classify(e, timeout_ms))? {
        if rows_out.len() == max_rows {
            truncated = true;
            break;
        }
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            out.push(to_value(
                row.get_ref(i).map_err(|e| classify(e, timeout_ms))?,
            ));
        }
        rows_out.push(out);
    }
    Ok((columns, rows_out, truncated))
}

fn introspect(conn: &Connection) -> rusqlite::Result<Schema> {
    let mut stmt = conn.prepare(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid",
    )?;
    let tables: Vec<(String, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut schema = Schema::default();
    for (name, sql) in tables {
        schema
            .tables
            .push(introspect_table(conn, &name, sql.as_deref())?);
    }
    Ok(schema)
}

fn introspect_table(
    conn: &Connection,
    name: &str,
    create_sql: Option<&str>,
) -> rusqlite::Result<Table> {
    let q = quote_ident(name);
    let mut pk: Vec<(i64, String)> = Vec::new();
    let mut columns = Vec::new();
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({q})"))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let col: String = r.get(1)?;
        let decl: String = r.get(2)?;
        let notnull: bool = r.get(3)?;
        let default: Option<String> = r.get(4)?;
        let pk_pos: i64 = r.get(5)?;
        if pk_pos > 0 {
            pk.push((pk_pos, col.clone()));
        }
        columns.push(Column {
            name: col,
            data_type: SqlType::from_declared(&decl),
            nullable: !notnull && pk_pos == 0,
            unique: false,
            default,
            allowed_values: None,
        });
    }
    pk.sort();

    let mut foreign_keys: Vec<ForeignKey> = Vec::new();
    let mut stmt = conn.prepare(&format!("PRAGMA foreign_key_list({q})"))?;
    let mut rows = stmt.query([])?;
    let mut last_id = -1;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let ref_table: String = r.get(2)?;
        let from: String = r.get(3)?;
        let to: Option<String> = r.get(4)?;
        if id != last_id {
            foreign_keys.push(ForeignKey {
                columns: Vec::new(),
                ref_table,
                ref_columns: Vec::new(),
            });
            last_id = id;
        }
        if let Some(fk) = foreign_keys.last_mut() {
            fk.columns.push(from);
            fk.ref_columns.extend(to);
        }
    }
    // PRAGMA lists foreign keys last-declared first.
    foreign_keys.reverse();

    let mut indexes = Vec::new();
    let mut stmt = conn.prepare(&format!("PRAGMA index_list({q})"))?;
    let list: Vec<(String, bool, String)> = stmt
        .query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    for (index_name, unique, origin) in list.into_iter().rev() {
        let mut stmt = conn.prepare(&format!("PRAGMA index_info({})", quote_ident(&index_name)))?;
        let cols: Vec<String> = stmt
            .query_map([], |r| r.get(2))?
            .collect::<Result<_, _>>()?;
        match origin.as_str() {
            "c" => indexes.push(Index {
                name: index_name,
                columns: cols,
                unique,
            }),
            "u" if cols.len() == 1 => {
                if let Some(c) = columns
                    .iter_mut()
                    .find(|c| c.name.eq_ignore_ascii_case(&cols[0]))
                {
                    c.unique = true;
                }
            }
            _ => {}
        }
    }

    // SQLite keeps CHECK constraints only in the CREATE TABLE text; read
    // the vocabularies and table checks from there.
    let mut checks = Vec::new();
    if let Some(parsed) = create_sql.and_then(|s| parse_ddl(s, Dialect::Sqlite).ok()) {
        if let Some(t) = parsed.tables.first() {
            checks = t.checks.clone();
            for c in &mut columns {
                c.allowed_values = t.column(&c.name).and_then(|pc| pc.allowed_values.clone());
            }
        }
    }

    let row_count: i64 = conn.query_row(&format!("SELECT COUNT(*) FROM {q}"), [], |r| r.get(0))?;
    Ok(Table {
        name: name.to_string(),
        columns,
        primary_key: pk.into_iter().map(|(_, c)| c).collect(),
        foreign_keys,
        indexes,
        checks,
        row_count: Some(row_count.max(0) as u64),
    })
}
