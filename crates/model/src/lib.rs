//! The language model runtime: fetching the embedded model, the tokenizer
//! (from GGUF metadata or `tokenizer.json`) with the ChatML template, and
//! — as the runtime issue lands — the decoder, generation and LoRA. It
//! knows nothing of SQL.

pub mod fetch;
pub mod generate;
pub mod info;
pub mod llama;
pub mod tokenizer;

use candle_core::quantized::gguf_file;
use std::path::Path;
use thiserror::Error;

/// Opens a GGUF file and reads its header (metadata and tensor index, not
/// the tensor data), keeping the file open for reading tensors.
pub fn read_gguf(path: &Path) -> Result<(std::fs::File, gguf_file::Content), ModelError> {
    let mut f = std::fs::File::open(path).map_err(|e| ModelError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    let ct = gguf_file::Content::read(&mut f).map_err(|e| ModelError::Gguf {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    Ok((f, ct))
}

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
