//! The language model runtime: fetching the embedded model, the tokenizer
//! (from GGUF metadata or `tokenizer.json`) with the ChatML template, the
//! Llama/Qwen2 decoder (GGUF or safetensors, dense or quantised), LoRA
//! adapters in PEFT's format, batched generation, and the remote
//! OpenAI-compatible backend. It knows nothing of SQL.

pub mod attention;
pub mod backend;
pub mod config;
pub mod fetch;
mod fold;
pub mod fpu;
mod fused_lora;
pub mod generate;
pub mod info;
pub mod kv;
pub mod linear;
pub mod llama;
mod load;
pub mod lora;
mod ops;
pub mod par;
pub mod q8;
pub mod remote;
pub mod tokenizer;
pub mod weights;

pub use config::Config;
pub use fpu::flush_denormals;
pub use kv::KvCache;
pub use linear::WeightFormat;
pub use llama::{Llama, Logits, Pass};
pub use load::load_model;
pub use lora::{LoraAdapter, LoraConfig, Target};

use candle_core::quantized::gguf_file;
use std::path::Path;
use thiserror::Error;

/// Opens a GGUF file and reads its header (metadata and tensor index, not
/// the tensor data), keeping the file open for reading tensors.
pub fn read_gguf(path: &Path) -> Result<(std::fs::File, gguf_file::Content), ModelError> {
    let mut f = std::fs::File::open(path).map_err(|e| ModelError::Io {
        path: path.display().to_string(),
        cause: e,
    })?;
    let ct = gguf_file::Content::read(&mut f).map_err(|e| ModelError::Gguf {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    Ok((f, ct))
}

#[derive(Debug, Error)]
pub enum ModelError {
    #[error("I/O error on {path}: {cause}")]
    Io { path: String, cause: std::io::Error },
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
    #[error("bad model config {path}: {message}")]
    Config { path: String, message: String },
    #[error("cannot load weights from {path}: {message}")]
    Weights { path: String, message: String },
    #[error("LoRA adapter: {0}")]
    Adapter(String),
    #[error("generation failed: {0}")]
    Generation(String),
    #[error("remote model server: {0}")]
    Remote(String),
}
