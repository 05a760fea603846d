//! PostgreSQL through the `postgres` crate (the blocking face of
//! tokio-postgres): every query runs in a `READ ONLY` transaction with a
//! `statement_timeout`, and is rolled back.

use crate::{quote_ident, ColumnMeta, Database, DbError, ExecOptions, ResultSet, Value};
use glrl_catalog::{Column, Dialect, ForeignKey, Index, Schema, SqlType, Table};
use postgres::error::SqlState;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::Type;
use postgres::{Client, NoTls, Row};
use std::sync::Mutex;
use std::time::Instant;

pub struct PgDatabase {
    url: String,
    schema: String,
    client: Mutex<Client>,
}

/// A readable message: tokio-postgres' `Display` for server errors is just
/// "db error", the detail is in the `DbError`.
pub(crate) fn pg_msg(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => e.to_string(),
    }
}

/// The URL with any password removed, for messages and logs.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub(crate) fn connect_client(url: &str) -> Result<Client, DbError> {
    Client::connect(url, NoTls).map_err(|e| DbError::Connect {
        target: redact(url),
        message: pg_msg(&e),
    })
}

impl PgDatabase {
    pub fn connect(url: &str, schema: &str) -> Result<PgDatabase, DbError> {
        let mut client = connect_client(url)?;
        client
            .batch_execute(&format!(
                "SET search_path TO {}; SET default_transaction_read_only = on",
                quote_ident(schema)
            ))
            .map_err(|e| DbError::Connect {
                target: redact(url),
                message: pg_msg(&e),
            })?;
        Ok(PgDatabase {
            url: url.to_string(),
            schema: schema.to_string(),
            client: Mutex::new(client),
        })
    }

    pub fn schema_name(&self) -> &str {
        &self.schema
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Client> {
        self.client.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn classify(e: postgres::Error, timeout_ms: u64) -> DbError {
    match e.code() {
        Some(c) if *c == SqlState::QUERY_CANCELED => DbError::Timeout(timeout_ms),
        Some(c) if *c == SqlState::READ_ONLY_SQL_TRANSACTION => DbError::ReadOnly(pg_msg(&e)),
        _ => DbError::Query(pg_msg(&e)),
    }
}

fn cell(row: &Row, i: usize, ty: &Type) -> Result<Value, postgres::Error> {
    fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Value) -> Value {
        v.map(f).unwrap_or(Value::Null)
    }
    Ok(match *ty {
        Type::BOOL => opt(row.try_get::<_, Option<bool>>(i)?, Value::Bool),
        Type::INT2 => opt(row.try_get::<_, Option<i16>>(i)?, |v| Value::Int(v.into())),
        Type::INT4 => opt(row.try_get::<_, Option<i32>>(i)?, |v| Value::Int(v.into())),
        Type::INT8 => opt(row.try_get::<_, Option<i64>>(i)?, Value::Int),
        Type::OID => opt(row.try_get::<_, Option<u32>>(i)?, |v| Value::Int(v.into())),
        Type::FLOAT4 => opt(row.try_get::<_, Option<f32>>(i)?, |v| {
            Value::Float(v.into())
        }),
        Type::FLOAT8 => opt(row.try_get::<_, Option<f64>>(i)?, Value::Float),
        Type::NUMERIC => opt(
            row.try_get::<_, Option<rust_decimal::Decimal>>(i)?,
            Value::Decimal,
        ),
        Type::DATE => opt(row.try_get::<_, Option<chrono::NaiveDate>>(i)?, |d| {
            Value::Text(d.to_string())
        }),
        Type::TIMESTAMP => opt(row.try_get::<_, Option<chrono::NaiveDateTime>>(i)?, |d| {
            Value::Text(d.format("%Y-%m-%d %H:%M:%S").to_string())
        }),
        Type::TIMESTAMPTZ => opt(
            row.try_get::<_, Option<chrono::DateTime<chrono::Utc>>>(i)?,
            |d| Value::Text(d.to_rfc3339()),
        ),
        Type::BYTEA => opt(row.try_get::<_, Option<Vec<u8>>>(i)?, Value::Bytes),
        // JSON (EXPLAIN (FORMAT JSON) among others) arrives as its text.
        Type::JSON | Type::JSONB => opt(row.try_get::<_, Option<serde_json::Value>>(i)?, |v| {
            Value::Text(v.to_string())
        }),
        _ => match row.try_get::<_, Option<String>>(i) {
            Ok(v) => opt(v, Value::Text),
            // A type with no text mapping (arrays, ranges, …): say what it is
            // rather than fail the whole query.
            Err(_) => Value::Text(format!("<{}>", ty.name())),
        },
    })
}

impl Database for PgDatabase {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn describe(&self) -> String {
        format!("{} (schema {})", redact(&self.url), self.schema)
    }

    fn query(&self, sql: &str, opts: &ExecOptions) -> Result<ResultSet, DbError> {
        let timeout_ms = opts.timeout.as_millis() as u64;
        let mut client = self.lock();
        let start = Instant::now();
        let mut tx = client
            .build_transaction()
            .read_only(true)
            .start()
            .map_err(|e| classify(e, timeout_ms))?;
        tx.batch_execute(&format!(
            "SET LOCAL statement_timeout = {}",
            timeout_ms.max(1)
        ))
        .map_err(|e| classify(e, timeout_ms))?;
        let stmt = tx.prepare(sql).map_err(|e| classify(e, timeout_ms))?;
        let columns: Vec<ColumnMeta> = stmt
            .columns()
            .iter()
            .map(|c| ColumnMeta {
                name: c.name().to_string(),
                type_name: Some(c.type_().name().to_string()),
            })
            .collect();
        let types: Vec<Type> = stmt.columns().iter().map(|c| c.type_().clone()).collect();
        let mut rows_out = Vec::new();
        let mut truncated = false;
        {
            let mut it = tx
                .query_raw(&stmt, std::iter::empty::<i32>())
                .map_err(|e| classify(e, timeout_ms))?;
            while let Some(row) = it.next().map_err(|e| classify(e, timeout_ms))? {
                if rows_out.len() == opts.max_rows {
                    truncated = true;
                    break;
                }
                let mut out = Vec::with_capacity(types.len());
                for (i, ty) in types.iter().enumerate() {
                    out.push(cell(&row, i, ty).map_err(|e| classify(e, timeout_ms))?);
                }
                rows_out.push(out);
            }
        }
        // Nothing to keep: a read-only transaction is always rolled back.
        tx.rollback().map_err(|e| classify(e, timeout_ms))?;
        Ok(ResultSet {
            columns,
            rows: rows_out,
            truncated,
            elapsed: start.elapsed(),
        })
    }

    fn introspect(&self) -> Result<Schema, DbError> {
        let mut client = self.lock();
        introspect(&mut client, &self.schema).map_err(|e| DbError::Introspect(pg_msg(&e)))
    }
}

const TABLES: &str =
    "SELECT c.oid, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.oid";
const COLUMNS: &str =
    "SELECT a.attnum::int4, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
     pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a \
     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
     WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum";
const CONSTRAINTS: &str = "SELECT con.contype::text, pg_get_constraintdef(con.oid), \
     (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY k(n, ord) \
        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n), \
     fc.relname::text, \
     (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY k(n, ord) \
        JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n) \
     FROM pg_constraint con LEFT JOIN pg_class fc ON fc.oid = con.confrelid \
     WHERE con.conrelid = $1 ORDER BY con.oid";
const INDEXES: &str = "SELECT i.relname::text, ix.indisunique, \
     (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(n, ord) \
        JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.n) \
     FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid \
     WHERE ix.indrelid = $1 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid) \
     ORDER BY i.oid";

fn introspect(client: &mut Client, schema: &str) -> Result<Schema, postgres::Error> {
    let mut tx = client.build_transaction().read_only(true).start()?;
    let tables: Vec<(u32, String)> = tx
        .query(TABLES, &[&schema])?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut out = Schema::default();
    for (oid, name) in tables {
        let mut columns: Vec<Column> = tx
            .query(COLUMNS, &[&oid])?
            .iter()
            .map(|r| Column {
                name: r.get(1),
                data_type: SqlType::from_declared(r.get::<_, String>(2).as_str()),
                nullable: !r.get::<_, bool>(3),
                unique: false,
                default: r.get::<_, Option<String>>(4).map(|d| strip_cast(&d)),
                allowed_values: None,
            })
            .collect();
        let mut table = Table {
            name: name.clone(),
            columns: Vec::new(),
            primary_key: Vec::new(),
            foreign_keys: Vec::new(),
            indexes: Vec::new(),
            checks: Vec::new(),
            row_count: None,
        };
        for r in tx.query(CONSTRAINTS, &[&oid])? {
            let kind: String = r.get(0);
            let def: String = r.get(1);
            let cols: Vec<String> = r.get::<_, Option<Vec<String>>>(2).unwrap_or_default();
            match kind.as_str() {
                "p" => table.primary_key = cols,
                "u" if cols.len() == 1 => {
                    if let Some(c) = columns.iter_mut().find(|c| c.name == cols[0]) {
                        c.unique = true;
                    }
                }
                "f" => table.foreign_keys.push(ForeignKey {
                    columns: cols,
                    ref_table: r.get::<_, Option<String>>(3).unwrap_or_default(),
                    ref_columns: r.get::<_, Option<Vec<String>>>(4).unwrap_or_default(),
                }),
                "c" => match (cols.as_slice(), any_array_literals(&def)) {
                    ([col], Some(values)) => {
                        if let Some(c) = columns.iter_mut().find(|c| &c.name == col) {
                            c.allowed_values = Some(values);
                        }
                    }
                    _ => table
                        .checks
                        .push(def.trim_start_matches("CHECK ").to_string()),
                },
                _ => {}
            }
        }
        for r in tx.query(INDEXES, &[&oid])? {
            table.indexes.push(Index {
                name: r.get(0),
                unique: r.get(1),
                columns: r.get::<_, Option<Vec<String>>>(2).unwrap_or_default(),
            });
        }
        let count: i64 = tx
            .query_one(
                &format!(
                    "SELECT COUNT(*) FROM {}.{}",
                    quote_ident(schema),
                    quote_ident(&name)
                ),
                &[],
            )?
            .get(0);
        table.row_count = Some(count.max(0) as u64);
        table.columns = columns;
        out.tables.push(table);
    }
    tx.rollback()?;
    Ok(out)
}

/// `'Y'::bpchar` → `'Y'`: PostgreSQL prints defaults with their cast.
fn strip_cast(default: &str) -> String {
    if default.starts_with('\'') {
        if let Some(end) = default.rfind("'::") {
            return default[..=end].to_string();
        }
    }
    default.to_string()
}

/// PostgreSQL prints `CHECK (x IN ('a','b'))` as
/// `CHECK (((x)::text = ANY ((ARRAY['a'::character varying, …])::text[])))`;
/// the vocabulary is the list of string literals inside `ARRAY[...]`.
fn any_array_literals(def: &str) -> Option<Vec<String>> {
    let start = def.find("= ANY (")?;
    let rest = &def[start..];
    let open = rest.find("ARRAY[")? + "ARRAY[".len();
    let close = rest[open..].find(']')? + open;
    let mut values = Vec::new();
    let mut chars = rest[open..close].chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut lit = String::new();
        loop {
            match chars.next()? {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    lit.push('\'');
                }
                '\'' => break,
                ch => lit.push(ch),
            }
        }
        values.push(lit);
        // Skip the `::type` cast that follows each literal.
        while chars.peek().is_some_and(|&ch| ch != ',') {
            chars.next();
        }
    }
    (!values.is_empty()).then_some(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_vocabulary_from_pg_definition() {
        let def = "CHECK (((status)::text = ANY ((ARRAY['On Hold'::character varying, 'O''Brien'::character varying])::text[])))";
        assert_eq!(any_array_literals(def).unwrap(), vec!["On Hold", "O'Brien"]);
        assert_eq!(any_array_literals("CHECK ((rating >= 1))"), None);
        assert_eq!(strip_cast("'Y'::bpchar"), "'Y'");
        assert_eq!(strip_cast("0"), "0");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
