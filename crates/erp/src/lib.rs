//! The ERP domain, GL-RL's first: the project's copy of the reference
//! schema (six tables, fixed names and CHECK vocabularies), the business
//! glossary users speak, the deterministic demo-data generator, and the
//! hand-written question sets used to measure schema linking.
//!
//! Everything here is data about one domain; the agents that use it
//! (Schema Analyzer, Validator, …) know nothing of the ERP in particular.

mod demo;
mod names;

pub use demo::{generate, DemoConfig, DEFAULT_SEED};

use glrl_catalog::{parse_ddl, Dialect, Schema};

/// The reference schema, byte for byte as `shared/erp/schema.sql`; it runs
/// unchanged on SQLite and PostgreSQL.
pub const SCHEMA_SQL: &str = include_str!("../sql/schema.sql");

/// The business vocabulary of the ERP as a glossary file (the Schema
/// Analyzer's TOML format); users extend it with files of their own.
pub const GLOSSARY_TOML: &str = include_str!("../data/glossary.toml");

/// Hand-written questions with their gold tables, one JSON object a line:
/// `{"question": "...", "tables": ["..."]}`.
pub const LINKING_QUESTIONS_JSONL: &str = include_str!("../data/linking_questions.jsonl");

/// The six table names, in dependency order (masters first).
pub const TABLES: [&str; 6] = [
    "PAC_MNT_RESOURCES",
    "PAC_MNT_PROJECTS",
    "SRM_COMPANIES",
    "SRM_CONTACTS",
    "PROJSTAFF",
    "PROJCNTRTS",
];

/// The reference schema as a model.
pub fn reference_schema() -> Schema {
    // The DDL is a compile-time constant checked by this crate's tests, so
    // failing here is a build defect, not an input error.
    parse_ddl(SCHEMA_SQL, Dialect::Sqlite).expect("the embedded ERP schema parses")
}

/// The ERP's business rules for the SQL Validator (money columns and their
/// currency, large-table threshold, severity overrides).
pub const RULES_TOML: &str = include_str!("../data/rules.toml");

/// The hand-written training pairs (JSONL, see docs/DATA.md).
pub const TRAIN_JSONL: &str = include_str!("../data/dataset/train.jsonl");

/// The hand-written evaluation pairs: questions and SQL skeletons disjoint
/// from training, never mixed with generated pairs.
pub const DEV_JSONL: &str = include_str!("../data/dataset/dev.jsonl");

/// Generates the demo data and writes it as a SQLite database at `path`
/// (atomically); returns the rows written, for summaries.
pub fn write_demo_sqlite(
    path: &std::path::Path,
    cfg: &DemoConfig,
) -> Result<Vec<glrl_db::load::TableData>, glrl_db::DbError> {
    let data = generate(cfg);
    glrl_db::load::write_sqlite(path, SCHEMA_SQL, &data)?;
    Ok(data)
}
