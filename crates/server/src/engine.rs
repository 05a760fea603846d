//! What the gateway needs from the agents. The binary implements it over
//! the real Orchestrator, Validator and database (worker threads that own
//! them); the gateway only sees these blocking calls and runs them off the
//! async runtime.

use glrl_db::ResultSet;
use glrl_orchestrator::{Answer, Progress, Question, Session};
use glrl_validator::Report;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The SQL did not pass validation; nothing ran.
    #[error("the SQL did not validate")]
    Invalid(Box<Report>),
    #[error("database: {0}")]
    Database(String),
    #[error("model: {0}")]
    Model(String),
    #[error("{0}")]
    Unavailable(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct Executed {
    pub report: Report,
    pub result: ResultSet,
}

#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    pub model_loaded: bool,
    pub database: bool,
}

pub trait Engine: Send + Sync + 'static {
    /// The full pipeline for one question.
    fn ask(&self, q: Question) -> Result<Answer, EngineError>;
    /// [`Engine::ask`], telling `observer` of each stage as it ends and of
    /// the candidates' text as the model writes it.
    fn ask_observed(
        &self,
        q: Question,
        observer: Box<dyn FnMut(Progress<'_>) + Send>,
    ) -> Result<Answer, EngineError>;
    /// All five validation layers.
    fn validate(&self, sql: &str) -> Result<Report, EngineError>;
    /// Validates, then runs read-only under the configured limits.
    fn execute(&self, sql: &str) -> Result<Executed, EngineError>;
    /// The schema as the Schema Analyzer sees it (JSON).
    fn schema(&self) -> Result<serde_json::Value, EngineError>;
    /// Schema linking of a question (JSON).
    fn link(&self, question: &str) -> Result<serde_json::Value, EngineError>;
    fn sessions(&self, tenant: &str) -> Result<Vec<Session>, EngineError>;
    fn session(&self, id: &str, tenant: &str) -> Result<Option<Session>, EngineError>;
    fn delete_session(&self, id: &str, tenant: &str) -> Result<bool, EngineError>;
    fn ready(&self) -> Readiness;
    /// Identifies what an answer depends on besides the question: schema
    /// fingerprint, model and adapter. Part of every cache key.
    fn fingerprint(&self) -> String;
}
