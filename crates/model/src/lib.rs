//! The language model runtime: fetching the embedded model, the tokenizer
//! (from GGUF metadata or `tokenizer.json`) with the ChatML template, and
//! — as the runtime issue lands — the decoder, generation and LoRA. It
//! knows nothing of SQL.

pub mod fetch;
pub mod generate;
pub mod info;
pub mod llama;
pub mod tokenizer;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ModelError {
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot fetch the embedded model: {0}")]
    Fetch(String),
    #[error("checksum mismatch for the model from {path}: expected {expected}, got {actual}")]
    Checksum {
        path: String,
        expected: String,
        actual: String,
    },
    #[error("model not found: {0}")]
    NotFound(String),
    #[error("cannot read GGUF {path}: {message}")]
    Gguf { path: String, message: String },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
}
