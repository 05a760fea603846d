//! The prompt builder shared by training and serving.

use crate::retrieve::Retriever;
use glrl_catalog::{Dialect, TypeFamily};
use glrl_model::tokenizer::ChatMessage;
use glrl_schema_analyzer::{LinkResult, SchemaAnalyzer};

#[derive(Debug, Clone)]
pub struct PromptOptions {
    /// Retrieved examples per question.
    pub examples: usize,
    /// The SQL dialect the model is asked for (and its SQL parsed in).
    pub dialect: Dialect,
}

impl Default for PromptOptions {
    fn default() -> Self {
        PromptOptions {
            examples: 2,
            dialect: Dialect::Sqlite,
        }
    }
}

/// An earlier exchange of the session (follow-ups refer to it).
#[derive(Debug, Clone)]
pub struct Turn {
    pub question: String,
    pub sql: String,
}

#[derive(Debug, Clone)]
pub struct Prompt {
    /// System (shared by every question on this schema), then user.
    pub messages: Vec<ChatMessage>,
    /// Leading messages identical across questions: their KV cache is
    /// reused (generation's prefix cache, SFT's shared-prefix batching).
    pub shared_messages: usize,
    pub link: LinkResult,
}

impl Prompt {
    /// Appends a rejected attempt and why it was rejected to the question
    /// (a repair round).
    pub fn add_feedback(&mut self, sql: &str, findings: &[String]) {
        if let Some(user) = self.messages.last_mut() {
            user.content.push_str(&format!(
                "\n\nA previous answer was rejected:\nSQL: {sql}\nProblems:\n"
            ));
            for f in findings {
                user.content.push_str(&format!("- {f}\n"));
            }
            user.content.push_str("Write a corrected query.");
        }
    }
}

pub struct PromptBuilder<'a> {
    analyzer: &'a SchemaAnalyzer,
    retriever: Retriever,
    opts: PromptOptions,
    system: String,
}

impl<'a> PromptBuilder<'a> {
    pub fn new(analyzer: &'a SchemaAnalyzer, retriever: Retriever, opts: PromptOptions) -> Self {
        let system = format!(
            "You translate questions about a database into one read-only {d} SELECT statement. \
             First reason briefly inside <think></think>: which tables, joins, filters and \
             columns the question needs. Then write only the SQL. Use only the tables, columns \
             and values below.\n\n{}",
            compact_schema(analyzer),
            d = dialect_name(opts.dialect)
        );
        PromptBuilder {
            analyzer,
            retriever,
            opts,
            system,
        }
    }

    /// The SQL dialect the prompt asks for.
    pub fn dialect(&self) -> Dialect {
        self.opts.dialect
    }

    pub fn system(&self) -> &str {
        &self.system
    }

    /// The prompt for `question`; `exclude` leaves a training pair out of
    /// its own retrieved examples.
    pub fn build(&self, question: &str, history: &[Turn], exclude: Option<&str>) -> Prompt {
        self.build_linked(question, self.analyzer.link(question), history, exclude)
    }

    /// As [`Self::build`] with the question's linking already done (the
    /// Orchestrator links once, for its intent and for this prompt).
    pub fn build_linked(
        &self,
        question: &str,
        link: LinkResult,
        history: &[Turn],
        exclude: Option<&str>,
    ) -> Prompt {
        let mut user = String::new();
        let examples = self.retriever.top(question, self.opts.examples, exclude);
        if !examples.is_empty() {
            user.push_str("Examples:\n");
            for e in examples {
                user.push_str(&format!("Q: {}\nSQL: {}\n", e.question, e.sql));
            }
            user.push('\n');
        }
        let hints = hints(&link);
        if !hints.is_empty() {
            user.push_str("Hints:\n");
            for h in hints {
                user.push_str(&format!("- {h}\n"));
            }
            user.push('\n');
        }
        if let Some(last) = history.last() {
            user.push_str(&format!(
                "Previous question: {}\nPrevious SQL: {}\n\n",
                last.question, last.sql
            ));
        }
        user.push_str(&format!("Question: {question}"));
        Prompt {
            messages: vec![
                ChatMessage::new("system", &self.system),
                ChatMessage::new("user", &user),
            ],
            shared_messages: 1,
            link,
        }
    }

    /// What the model is trained to write after the prompt.
    pub fn target(reasoning: &str, sql: &str) -> String {
        format!("<think>{reasoning}</think>\n{sql}")
    }
}

/// The linking result as short lines: tables, the join path, values the
/// question named, glossary predicates.
fn hints(link: &LinkResult) -> Vec<String> {
    let mut out = Vec::new();
    if !link.tables.is_empty() {
        out.push(format!("Tables: {}", link.tables.join(", ")));
    }
    if let Some(j) = &link.join_path {
        if !j.steps.is_empty() {
            out.push(format!("Join: {}", j.from_clause().replace('\n', " ")));
        }
    }
    for v in &link.values {
        out.push(format!(
            "'{}' means {}.{} = '{}'",
            v.matched, v.table, v.column, v.value
        ));
    }
    for g in &link.glossary_hits {
        if let Some(sql) = &g.sql {
            let on = g
                .tables
                .first()
                .map(|t| format!("{t}: "))
                .unwrap_or_default();
            out.push(format!("\"{}\" means {on}{sql}", g.matched));
        }
    }
    out.dedup();
    out
}

/// Vocabularies up to this size are listed in full.
const MAX_LISTED: usize = 12;

/// One line per table: columns with their kind, key marks and (small)
/// vocabularies; then the join keys. A 135M model reads this far better
/// than DDL, and it is a third of the tokens.
fn compact_schema(a: &SchemaAnalyzer) -> String {
    let schema = a.schema();
    let mut out = String::from("Tables:\n");
    for t in &schema.tables {
        let cols: Vec<String> = t
            .columns
            .iter()
            .map(|c| {
                let mut s = c.name.clone();
                if t.primary_key
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(&c.name))
                {
                    s.push_str(" key");
                }
                match c.data_type.family() {
                    TypeFamily::Integer | TypeFamily::Numeric => s.push_str(" number"),
                    TypeFamily::Temporal => s.push_str(" date"),
                    TypeFamily::Boolean => s.push_str(" bool"),
                    _ => {}
                }
                let vocab = c
                    .allowed_values
                    .as_deref()
                    .or_else(|| a.values().values_of(&t.name, &c.name));
                if let Some(v) = vocab.filter(|v| !v.is_empty() && v.len() <= MAX_LISTED) {
                    let listed: Vec<String> = v.iter().map(|x| format!("'{x}'")).collect();
                    s.push_str(&format!(" {}", listed.join("|")));
                }
                s
            })
            .collect();
        out.push_str(&format!("{}({})\n", t.name, cols.join(", ")));
    }
    let links: Vec<String> = a.relationships().iter().map(|r| r.on_clause()).collect();
    if !links.is_empty() {
        out.push_str(&format!("Joins: {}\n", links.join("; ")));
    }
    out
}

/// The dialect as the system message names it to the model (the text
/// the adapter was trained on).
fn dialect_name(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => "SQLite",
        Dialect::Postgres => "PostgreSQL",
    }
}
