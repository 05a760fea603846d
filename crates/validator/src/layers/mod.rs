//! The five layers, one file each, behind one trait.

mod business;
mod performance;
mod schema;
mod security;
mod syntax;

pub use business::Business;
pub use performance::Performance;
pub use schema::SchemaCompliance;
pub use security::Security;
pub use syntax::{parse as syntax_parse, parse_tokens as syntax_parse_tokens, Syntax};

use crate::finding::{Finding, LayerName};
use crate::rules::Rules;
use crate::scope::Analysis;
use glrl_catalog::{Dialect, Schema};
use glrl_db::Database;
use glrl_schema_analyzer::{Relationship, ValueIndex};
use sqlparser::ast::Statement;
use sqlparser::tokenizer::TokenWithSpan;

/// Everything a layer may look at; built once per validation.
pub struct Context<'a> {
    pub sql: &'a str,
    /// The text's tokens with their positions; `None` when it cannot be
    /// split into tokens.
    pub tokens: Option<&'a [TokenWithSpan]>,
    pub dialect: Dialect,
    pub schema: &'a Schema,
    pub relationships: &'a [Relationship],
    pub values: &'a ValueIndex,
    pub rules: &'a Rules,
    pub allowed_tables: &'a [String],
    pub statements: Option<&'a [Statement]>,
    /// Why the text did not parse, when it did not.
    pub parse_error: Option<&'a Finding>,
    pub analysis: Option<&'a Analysis>,
    /// Present only when the security layer found nothing that could
    /// write: the database sees nothing else.
    pub db: Option<&'a dyn Database>,
}

pub trait Layer {
    fn name(&self) -> LayerName;
    /// Whether the layer needs a parsed statement (skipped on syntax errors).
    fn needs_ast(&self) -> bool {
        true
    }
    fn check(&self, cx: &Context) -> LayerOutput;
}

#[derive(Default)]
pub struct LayerOutput {
    pub findings: Vec<Finding>,
    pub estimated_cost: Option<f64>,
    /// Wall time of the layer's database calls (the plan).
    pub database_time: std::time::Duration,
}

impl From<Vec<Finding>> for LayerOutput {
    fn from(findings: Vec<Finding>) -> Self {
        LayerOutput {
            findings,
            ..LayerOutput::default()
        }
    }
}
