//! Database access for GL-RL: one [`Database`] trait over SQLite (rusqlite,
//! bundled) and PostgreSQL, for live schema introspection and read-only
//! query execution with a statement timeout and a row cap.
//!
//! Read-only is a property of the connection, not of checks in front of it:
//! SQLite databases are opened read-only with `query_only` on, and every
//! PostgreSQL query runs in a `READ ONLY` transaction that is rolled back.
//! The only write path is [`load`], used to create the demo database.

mod error;
pub mod load;
mod postgres;
mod sqlite;
mod value;

pub use error::DbError;
pub use glrl_catalog::Dialect;
pub use postgres::PgDatabase;
pub use sqlite::SqliteDatabase;
pub use value::{ColumnMeta, ResultSet, Value};

use glrl_catalog::Schema;
use std::time::Duration;

/// Limits applied to every query run on behalf of a user or the model.
#[derive(Debug, Clone, Copy)]
pub struct ExecOptions {
    pub timeout: Duration,
    /// Rows beyond this are not fetched; the result says it was truncated.
    pub max_rows: usize,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            timeout: Duration::from_secs(10),
            max_rows: 1000,
        }
    }
}

/// A live database GL-RL can read.
pub trait Database: Send + Sync {
    fn dialect(&self) -> Dialect;

    /// A printable description (path or URL without credentials).
    fn describe(&self) -> String;

    /// Tables, columns, types, keys, indexes, CHECK vocabularies and row counts.
    fn introspect(&self) -> Result<Schema, DbError>;

    /// Runs one statement read-only within `opts`' limits.
    fn query(&self, sql: &str, opts: &ExecOptions) -> Result<ResultSet, DbError>;

    /// Up to `limit` distinct non-NULL values of a column, as text, or
    /// `None` when the column has more than `limit` (not a vocabulary).
    fn distinct_values(
        &self,
        table: &str,
        column: &str,
        limit: usize,
    ) -> Result<Option<Vec<String>>, DbError> {
        let sql = format!(
            "SELECT DISTINCT {c} FROM {t} WHERE {c} IS NOT NULL ORDER BY 1 LIMIT {}",
            limit + 1,
            c = quote_ident(column),
            t = quote_ident(table)
        );
        let rs = self.query(
            &sql,
            &ExecOptions {
                max_rows: limit + 1,
                ..ExecOptions::default()
            },
        )?;
        if rs.rows.len() > limit {
            return Ok(None);
        }
        Ok(Some(
            rs.rows
                .iter()
                .filter_map(|r| r.first().map(Value::to_plain_string))
                .collect(),
        ))
    }
}

/// Double-quotes an identifier for either dialect.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Where a database lives, parsed from `--db`: a SQLite file path (or
/// `sqlite:PATH`) or a `postgres://` / `postgresql://` URL, optionally
/// with `?schema=NAME` choosing the PostgreSQL schema (default `public`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbTarget {
    Sqlite { path: std::path::PathBuf },
    Postgres { url: String, schema: String },
}

impl DbTarget {
    pub fn parse(spec: &str) -> Result<DbTarget, DbError> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(DbError::BadTarget("empty database location".into()));
        }
        if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
            let (base, query) = spec.split_once('?').unwrap_or((spec, ""));
            let mut schema = "public".to_string();
            let mut rest = Vec::new();
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                match pair.split_once('=') {
                    Some(("schema", v)) if !v.is_empty() => schema = v.to_string(),
                    _ => rest.push(pair),
                }
            }
            let url = if rest.is_empty() {
                base.to_string()
            } else {
                format!("{base}?{}", rest.join("&"))
            };
            return Ok(DbTarget::Postgres { url, schema });
        }
        let path = spec
            .strip_prefix("sqlite://")
            .or_else(|| spec.strip_prefix("sqlite:"))
            .unwrap_or(spec);
        Ok(DbTarget::Sqlite { path: path.into() })
    }
}

/// Opens a database for reading.
pub fn connect(spec: &str) -> Result<Box<dyn Database>, DbError> {
    match DbTarget::parse(spec)? {
        DbTarget::Sqlite { path } => Ok(Box::new(SqliteDatabase::open(&path)?)),
        DbTarget::Postgres { url, schema } => Ok(Box::new(PgDatabase::connect(&url, &schema)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!(
            DbTarget::parse("erp.db").unwrap(),
            DbTarget::Sqlite {
                path: "erp.db".into()
            }
        );
        assert_eq!(
            DbTarget::parse("sqlite:/x/erp.db").unwrap(),
            DbTarget::Sqlite {
                path: "/x/erp.db".into()
            }
        );
        assert_eq!(
            DbTarget::parse("postgres://u@h:5432/test?schema=glrl_demo&sslmode=disable").unwrap(),
            DbTarget::Postgres {
                url: "postgres://u@h:5432/test?sslmode=disable".into(),
                schema: "glrl_demo".into()
            }
        );
        assert!(DbTarget::parse(" ").is_err());
    }
}
