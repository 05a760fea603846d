//! The Query Generator agent: candidates for a question (`QueryGenerator`),
//! constrained decoding over the schema (`constrain`, with the dialect's
//! parser as its grammar, `grammar`), and the prompt builder
//! that training and serving share (one builder, so what the model learns
//! is what it is asked): a shared system message (instructions + the whole
//! schema, identical for every question so its KV cache is reused), then
//! a user message with what the Schema Analyzer linked for this question
//! (tables, join path, matched values, glossary predicates), the most
//! similar training examples (BM25) and the question. The model answers
//! `<think>reasoning</think>` then the SQL.

pub mod constrain;
mod generator;
mod grammar;
mod plan;
mod prompt;
mod retrieve;

pub use constrain::{SqlConstraint, SqlVocabulary};
pub use generator::{Candidate, Feedback, Generation, GeneratorSettings, QueryGenerator};
pub use prompt::{Prompt, PromptBuilder, PromptOptions, Turn};
pub use retrieve::Retriever;
