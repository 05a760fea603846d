//! The Schema Analyzer agent: turns a schema (from DDL text or a live
//! database) into what the rest of GL-RL needs to write SQL for it —
//! relationships (declared and inferred, with cardinality), join paths,
//! the business glossary, a value index, question linking (which tables,
//! columns and values a question needs) and a compact rendering of the
//! linked schema for prompts.
//!
//! It knows nothing of any particular domain: the ERP's vocabulary arrives
//! as a glossary file like any user's.

mod glossary;
mod joins;
mod linking;
mod relationships;
mod render;
pub mod text;
mod values;

pub use glossary::{Entity, Glossary, GlossaryError, Term, TermKind};
pub use joins::{JoinError, JoinPath, JoinStep};
pub use linking::{ColumnScore, GlossaryHit, LinkResult, TableScore, LINK_THRESHOLD};
pub use relationships::{Origin, Relationship};
pub use render::{approx_tokens, RenderOptions, Rendered};
pub use values::{CodePattern, ValueHit, ValueIndex};

use glrl_catalog::{parse_ddl, DdlError, Dialect, Schema};
use glrl_db::{Database, DbError};

/// Everything known about one schema, ready to answer questions about it.
pub struct SchemaAnalyzer {
    schema: Schema,
    relationships: Vec<Relationship>,
    glossary: Glossary,
    dropped_glossary: Vec<String>,
    matcher: glossary::Matcher,
    values: ValueIndex,
    graph: joins::JoinGraph,
    table_words: Vec<Vec<String>>,
    column_words: linking::ColumnWords,
}

impl SchemaAnalyzer {
    /// Builds the analyzer; the value index starts with the CHECK
    /// vocabularies (add a database's values with [`Self::with_values`]).
    pub fn new(schema: Schema, mut glossary: Glossary) -> SchemaAnalyzer {
        let dropped_glossary = glossary.restrict_to(&schema);
        let relationships = relationships::discover(&schema);
        let graph = joins::JoinGraph::new(&schema, &relationships);
        let matcher = glossary::Matcher::new(&glossary);
        let values = ValueIndex::from_schema(&schema);
        let (table_words, column_words) = linking::name_words(&schema);
        SchemaAnalyzer {
            schema,
            relationships,
            glossary,
            dropped_glossary,
            matcher,
            values,
            graph,
            table_words,
            column_words,
        }
    }

    pub fn from_ddl(
        ddl: &str,
        dialect: Dialect,
        glossary: Glossary,
    ) -> Result<SchemaAnalyzer, DdlError> {
        Ok(SchemaAnalyzer::new(parse_ddl(ddl, dialect)?, glossary))
    }

    /// Introspects a live database and indexes the values of its text
    /// columns with at most `max_distinct` distinct values.
    pub fn from_database(
        db: &dyn Database,
        glossary: Glossary,
        max_distinct: usize,
    ) -> Result<SchemaAnalyzer, DbError> {
        let schema = db.introspect()?;
        let values = ValueIndex::from_database(db, &schema, max_distinct)?;
        Ok(SchemaAnalyzer::new(schema, glossary).with_values(values))
    }

    pub fn with_values(mut self, values: ValueIndex) -> SchemaAnalyzer {
        self.values = values;
        self
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    pub fn relationships(&self) -> &[Relationship] {
        &self.relationships
    }

    pub fn glossary(&self) -> &Glossary {
        &self.glossary
    }

    /// Glossary entries that named tables this schema lacks.
    pub fn dropped_glossary_entries(&self) -> &[String] {
        &self.dropped_glossary
    }

    pub fn values(&self) -> &ValueIndex {
        &self.values
    }

    /// The cheapest join tree connecting `tables`, rooted at the first.
    pub fn join_path(&self, tables: &[&str]) -> Result<JoinPath, JoinError> {
        self.graph.path(tables)
    }
}
