//! Training: supervised fine-tuning of LoRA adapters (this part) and, as
//! the training issue lands, GRPO. Examples are built by the Query
//! Generator's prompt builder, the same code that prompts at serving time.

pub mod data;
pub mod export;
pub mod grpo;
pub mod loss;
pub mod optim;
pub mod plot;
pub mod sft;
mod xent;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum TrainError {
    #[error(transparent)]
    Model(#[from] glrl_model::ModelError),
    #[error("tensor: {0}")]
    Tensor(#[from] candle_core::Error),
    #[error("I/O error on {path}: {cause}")]
    Io { path: String, cause: std::io::Error },
    #[error("{0}")]
    Invalid(String),
}
