//! The SQL Validator agent: five layers — syntax, schema compliance,
//! business logic, performance, security — each reporting findings with a
//! stable code, a severity, a message a finance user understands, a span
//! and, where possible, a fix. It never runs anything that could write:
//! the database is consulted (for the plan) only after the security layer
//! found nothing, and then only through the read-only connection.

mod finding;
pub mod fix;
pub mod layers;
mod rules;
mod scope;

pub use finding::{nearest, Finding, LayerName, LayerReport, Report, Severity, Span};
pub use rules::{MoneyRule, Rules, SeverityOverride};

use glrl_catalog::{Dialect, Schema};
use glrl_db::Database;
use glrl_schema_analyzer::{Relationship, SchemaAnalyzer, ValueIndex};
use layers::{Business, Context, Layer, Performance, SchemaCompliance, Security, Syntax};
use sqlparser::ast::Statement;
use sqlparser::tokenizer::{Token, Tokenizer};
use std::time::Duration;

/// A validator for one schema.
pub struct Validator<'a> {
    schema: &'a Schema,
    relationships: &'a [Relationship],
    values: &'a ValueIndex,
    dialect: Dialect,
    rules: Rules,
    allowed_tables: Vec<String>,
    db: Option<&'a dyn Database>,
}

impl<'a> Validator<'a> {
    /// Validates SQL for the analyzer's schema; every table of the schema
    /// is allowed unless [`Self::allow_tables`] narrows it.
    pub fn new(analyzer: &'a SchemaAnalyzer, dialect: Dialect) -> Validator<'a> {
        Validator {
            schema: analyzer.schema(),
            relationships: analyzer.relationships(),
            values: analyzer.values(),
            dialect,
            rules: Rules::default(),
            allowed_tables: analyzer
                .schema()
                .table_names()
                .map(str::to_string)
                .collect(),
            db: None,
        }
    }

    pub fn with_rules(mut self, rules: Rules) -> Self {
        self.rules = rules;
        self
    }

    /// Narrows the allow-list (a tenant may see only some tables).
    pub fn allow_tables(mut self, tables: Vec<String>) -> Self {
        self.allowed_tables = tables;
        self
    }

    /// Adds the performance layer's real plan (EXPLAIN, read-only).
    pub fn with_database(mut self, db: &'a dyn Database) -> Self {
        self.db = Some(db);
        self
    }

    /// The static layers only: no database is consulted.
    pub fn validate_static(&self, sql: &str) -> Report {
        self.run(sql, false).0
    }

    /// All five layers (the plan included when a database was given).
    pub fn validate(&self, sql: &str) -> Report {
        self.run(sql, true).0
    }

    /// [`Validator::validate`] and the wall time of its database calls
    /// (the plan), which callers account as database time, not their own.
    pub fn validate_timed(&self, sql: &str) -> (Report, Duration) {
        self.run(sql, true)
    }

    fn run(&self, sql: &str, use_db: bool) -> (Report, Duration) {
        // One tokenization serves the parser, the security layer's token
        // checks and the report's words: it was a third of a validation.
        let tokens = Tokenizer::new(self.dialect.parser_dialect().as_ref(), sql)
            .tokenize_with_location()
            .ok();
        let words: Vec<String> = tokens
            .iter()
            .flatten()
            .filter_map(|t| match &t.token {
                Token::Word(w) => Some(w.value.clone()),
                _ => None,
            })
            .collect();
        let (parsed, tokens): (Result<Vec<Statement>, Finding>, _) =
            layers::syntax_parse_tokens(sql, tokens, self.dialect);
        let statements = parsed.as_ref().ok().map(Vec::as_slice);
        let analysis = match statements {
            Some([Statement::Query(q)]) => {
                Some(scope::Resolver::analyze(self.schema, self.dialect, q))
            }
            _ => None,
        };
        let mut cx = Context {
            sql,
            tokens: tokens.as_deref(),
            dialect: self.dialect,
            schema: self.schema,
            relationships: self.relationships,
            values: self.values,
            rules: &self.rules,
            allowed_tables: &self.allowed_tables,
            statements,
            parse_error: parsed.as_ref().err(),
            analysis: analysis.as_ref(),
            db: None,
        };
        // Security first: its verdict decides whether the database may see the text.
        let security = self.finish(LayerName::Security, Security.check(&cx).findings, false);
        // The plan adds nothing when names do not resolve: the database
        // would only repeat the schema layer's error.
        let resolved = analysis
            .as_ref()
            .is_some_and(|a| !a.findings.iter().any(|f| f.severity == Severity::Error));
        if use_db && security.passed && resolved {
            cx.db = self.db;
        }
        let mut layers_out = Vec::with_capacity(5);
        let mut cost = None;
        let mut database_time = Duration::ZERO;
        let syntax = self.finish(LayerName::Syntax, Syntax.check(&cx).findings, false);
        let syntax_ok = syntax.passed;
        layers_out.push(syntax);
        let ast_layers: [&dyn Layer; 3] = [&SchemaCompliance, &Business, &Performance];
        for layer in ast_layers {
            if !syntax_ok || analysis.is_none() {
                layers_out.push(self.finish(layer.name(), Vec::new(), true));
                continue;
            }
            let out = layer.check(&cx);
            cost = cost.or(out.estimated_cost);
            database_time += out.database_time;
            layers_out.push(self.finish(layer.name(), out.findings, false));
        }
        layers_out.push(security);
        let query = match parsed {
            Ok(mut s) if s.len() == 1 => match s.pop() {
                Some(Statement::Query(q)) => Some(std::sync::Arc::from(q)),
                _ => None,
            },
            _ => None,
        };
        let report = Report {
            valid: layers_out.iter().all(|l| l.passed),
            layers: layers_out,
            estimated_cost: cost,
            words,
            query,
        };
        (report, database_time)
    }

    fn finish(&self, name: LayerName, findings: Vec<Finding>, skipped: bool) -> LayerReport {
        let findings: Vec<Finding> = findings
            .into_iter()
            .filter_map(|mut f| {
                f.severity = self.rules.apply(&f.code, f.severity)?;
                Some(f)
            })
            .collect();
        // A skipped layer has not passed: its checks did not run.
        let passed = !skipped && !findings.iter().any(|f| f.severity == Severity::Error);
        LayerReport {
            name,
            passed,
            skipped,
            findings,
        }
    }
}
