//! The gateway's [`Engine`] over the real agents. The model is one
//! CPU-bound resource, so one thread owns the Orchestrator and takes
//! questions in turn; a small pool of threads, each with its own database
//! connection and Validator, answers validation, execution and schema
//! calls without waiting behind the model.

use crate::context;
use crate::pipeline::{with_orchestrator_on, PipelineFlags};
use glrl_config::Config;
use glrl_db::{Database, ExecOptions};
use glrl_orchestrator::{Answer, Orchestrator, Progress, Question, Session, SessionStore};
use glrl_schema_analyzer::SchemaAnalyzer;
use glrl_server::{Engine, EngineError, Executed, Readiness};
use glrl_validator::{Report, Validator};
use sha2::{Digest, Sha256};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};

type ModelJob = Box<dyn FnOnce(&Orchestrator) + Send>;
type SqlJob = Box<dyn FnOnce(&SqlAgents) + Send>;

struct SqlAgents<'a> {
    analyzer: &'a SchemaAnalyzer,
    validator: Validator<'a>,
    db: &'a dyn Database,
    exec: ExecOptions,
}

pub struct PipelineEngine {
    model: Sender<ModelJob>,
    sql: Sender<SqlJob>,
    sessions: Arc<SessionStore>,
    model_loaded: Arc<AtomicBool>,
    /// Why the model worker stopped, when it did.
    model_failure: Arc<Mutex<Option<String>>>,
    fingerprint: String,
}

fn fingerprint(config: &Config, analyzer: &SchemaAnalyzer) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(analyzer.schema()).unwrap_or_default());
    let g = &config.generator;
    h.update(
        format!(
            "{}|{}|{}|{}|{}|{}|{}|{}|{}",
            env!("CARGO_PKG_VERSION"),
            config.model.path,
            config.model.adapter,
            config.model.backend,
            g.examples,
            g.temperature,
            g.seed,
            g.constrained,
            config.orchestrator.repair_rounds
        )
        .as_bytes(),
    );
    hex::encode(&h.finalize()[..12])
}

impl PipelineEngine {
    pub fn start(config: &Config, sessions: SessionStore) -> anyhow::Result<PipelineEngine> {
        // Fail at startup, not on the first request, when the database or
        // schema is unusable.
        let db = context::open_db(config)?;
        let analyzer = context::analyzer(config, db.as_ref())?;
        let fingerprint = fingerprint(config, &analyzer);
        drop(analyzer);
        drop(db);

        let sessions = Arc::new(sessions);
        let (model_tx, model_rx) = channel::<ModelJob>();
        let model_loaded = Arc::new(AtomicBool::new(false));
        let model_failure = Arc::new(Mutex::new(None));
        {
            let config = config.clone();
            let sessions = sessions.clone();
            let loaded = model_loaded.clone();
            let failure = model_failure.clone();
            std::thread::Builder::new()
                .name("glrl-model".into())
                .spawn(move || {
                    let r =
                        with_orchestrator_on(&config, &PipelineFlags::default(), &sessions, |o| {
                            loaded.store(true, Ordering::SeqCst);
                            tracing::info!("model loaded; answering questions");
                            serve_jobs(&model_rx, o);
                            Ok(())
                        });
                    loaded.store(false, Ordering::SeqCst);
                    if let Err(e) = r {
                        tracing::error!(error = %format!("{e:#}"), "the model worker stopped");
                        if let Ok(mut f) = failure.lock() {
                            *f = Some(format!("{e:#}"));
                        }
                    }
                })?;
        }

        let (sql_tx, sql_rx) = channel::<SqlJob>();
        let sql_rx = Arc::new(Mutex::new(sql_rx));
        for i in 0..config.server.sql_workers.max(1) {
            let config = config.clone();
            let rx = sql_rx.clone();
            std::thread::Builder::new()
                .name(format!("glrl-sql-{i}"))
                .spawn(move || {
                    if let Err(e) = sql_worker(&config, &rx) {
                        tracing::error!(error = %format!("{e:#}"), "an SQL worker stopped");
                    }
                })?;
        }
        Ok(PipelineEngine {
            model: model_tx,
            sql: sql_tx,
            sessions,
            model_loaded,
            model_failure,
            fingerprint,
        })
    }

    fn model_gone(&self) -> EngineError {
        let why = self
            .model_failure
            .lock()
            .ok()
            .and_then(|f| f.clone())
            .unwrap_or_else(|| "the model worker failed on this request".into());
        EngineError::Model(why)
    }

    /// Runs `job` on the model thread (questions in turn) and waits.
    fn on_model(
        &self,
        job: impl FnOnce(&Orchestrator) -> Answer + Send + 'static,
    ) -> Result<Answer, EngineError> {
        let (reply, rx) = channel();
        self.model
            .send(Box::new(move |o: &Orchestrator| {
                let _ = reply.send(job(o));
            }))
            .map_err(|_| self.model_gone())?;
        rx.recv().map_err(|_| self.model_gone())
    }

    fn sql_call<T: Send + 'static>(
        &self,
        job: impl FnOnce(&SqlAgents) -> T + Send + 'static,
    ) -> Result<T, EngineError> {
        let (reply, rx) = channel();
        self.sql
            .send(Box::new(move |a: &SqlAgents| {
                let _ = reply.send(job(a));
            }))
            .map_err(|_| EngineError::Unavailable("no SQL worker is running".into()))?;
        rx.recv()
            .map_err(|_| EngineError::Unavailable("the SQL worker failed on this request".into()))
    }
}

/// Takes questions until the engine is dropped; a panicking job loses
/// only its own reply.
fn serve_jobs(rx: &Receiver<ModelJob>, o: &Orchestrator) {
    while let Ok(job) = rx.recv() {
        if std::panic::catch_unwind(AssertUnwindSafe(|| job(o))).is_err() {
            tracing::error!("a question panicked the pipeline; the worker goes on");
        }
    }
}

fn sql_worker(config: &Config, rx: &Mutex<Receiver<SqlJob>>) -> anyhow::Result<()> {
    let db = context::open_db(config)?;
    let analyzer = context::analyzer(config, db.as_ref())?;
    let agents = SqlAgents {
        analyzer: &analyzer,
        validator: context::validator(config, &analyzer, db.as_ref())?,
        db: db.as_ref(),
        exec: context::exec_options(config),
    };
    loop {
        // The lock is held only to take one job, so workers run in parallel.
        let job = match rx.lock() {
            Ok(r) => r.recv(),
            Err(_) => return Ok(()),
        };
        let Ok(job) = job else { return Ok(()) };
        if std::panic::catch_unwind(AssertUnwindSafe(|| job(&agents))).is_err() {
            tracing::error!("an SQL job panicked; the worker goes on");
        }
    }
}

fn session_err(e: glrl_orchestrator::OrchestratorError) -> EngineError {
    EngineError::Unavailable(format!("sessions: {e}"))
}

impl Engine for PipelineEngine {
    fn ask(&self, q: Question) -> Result<Answer, EngineError> {
        self.on_model(move |o| o.ask(&q))
    }

    fn ask_observed(
        &self,
        q: Question,
        mut observer: Box<dyn FnMut(Progress<'_>) + Send>,
    ) -> Result<Answer, EngineError> {
        self.on_model(move |o| o.ask_observed(&q, &mut *observer))
    }

    fn validate(&self, sql: &str) -> Result<Report, EngineError> {
        let sql = sql.to_string();
        self.sql_call(move |a| a.validator.validate(&sql))
    }

    fn execute(&self, sql: &str) -> Result<Executed, EngineError> {
        let sql = sql.to_string();
        self.sql_call(move |a| {
            let report = a.validator.validate(&sql);
            if !report.valid {
                return Err(EngineError::Invalid(Box::new(report)));
            }
            match a.db.query(&sql, &a.exec) {
                Ok(result) => Ok(Executed { report, result }),
                Err(e) => Err(EngineError::Database(e.to_string())),
            }
        })?
    }

    fn schema(&self) -> Result<serde_json::Value, EngineError> {
        self.sql_call(|a| {
            serde_json::json!({
                "schema": a.analyzer.schema(),
                "relationships": a.analyzer.relationships().iter().map(|r| r.on_clause()).collect::<Vec<_>>(),
            })
        })
    }

    fn link(&self, question: &str) -> Result<serde_json::Value, EngineError> {
        let q = question.to_string();
        self.sql_call(move |a| serde_json::to_value(a.analyzer.link(&q)).unwrap_or_default())
    }

    fn sessions(&self, tenant: &str) -> Result<Vec<Session>, EngineError> {
        self.sessions.list(Some(tenant)).map_err(session_err)
    }

    fn session(&self, id: &str, tenant: &str) -> Result<Option<Session>, EngineError> {
        self.sessions.get(id, Some(tenant)).map_err(session_err)
    }

    fn delete_session(&self, id: &str, tenant: &str) -> Result<bool, EngineError> {
        self.sessions.delete(id, Some(tenant)).map_err(session_err)
    }

    fn ready(&self) -> Readiness {
        let database = self
            .sql_call(|a| {
                a.db.query(
                    "SELECT 1",
                    &ExecOptions {
                        max_rows: 1,
                        ..a.exec
                    },
                )
                .is_ok()
            })
            .unwrap_or(false);
        Readiness {
            model_loaded: self.model_loaded.load(Ordering::SeqCst),
            database,
        }
    }

    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }
}
