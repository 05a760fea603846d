//! The Orchestrator agent: the end-to-end question → SQL → answer
//! pipeline. It owns input processing and intent classification
//! (`intent`), sessions and follow-up context (`session`), candidate
//! validation, read-only execution and selection (`select`), the
//! plain-language explanation of the chosen SQL (`explain`) and the
//! staged, timed pipeline that wires the other agents (`pipeline`).

pub mod explain;
pub mod intent;
mod pipeline;
pub mod select;
pub mod session;

pub use intent::Intent;
pub use pipeline::{
    Answer, ErrorInfo, Orchestrator, Progress, Question, Settings, StageTiming, Status,
};
pub use session::{Session, SessionStore, TurnRecord};

#[derive(Debug, thiserror::Error)]
pub enum OrchestratorError {
    #[error("session store: {0}")]
    Session(String),
}
