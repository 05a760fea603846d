//! The schema model every other GL-RL crate speaks: tables, columns, SQL
//! types, keys, indexes and CHECK vocabularies, plus the SQL dialects the
//! system targets and a DDL reader (sqlparser) that builds the model from
//! `CREATE TABLE` / `CREATE INDEX` text.
//!
//! Live introspection lives in `glrl-db`; relationship discovery, join paths
//! and question linking live in the Schema Analyzer. This crate is plain
//! data so that all of them agree on one shape.

mod ddl;
mod dialect;
mod model;
mod types;

pub use ddl::{last_ident, parse_ddl, DdlError};
pub use dialect::Dialect;
pub use model::{Column, ForeignKey, Index, Schema, Table};
pub use types::{SqlType, TypeFamily};

/// Compares identifiers the way SQL treats unquoted names: case-insensitively.
pub fn ident_eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}
