//! The pipeline: input → context → schema → generation → validation and
//! execution (with the validator's own fixes as extra candidates) →
//! repair → selection → answer, each stage timed and traced.

use crate::explain::{present, present_query};
use crate::intent::{classify, normalise, Intent};
use crate::select::{select, Judge, Scored};
use crate::session::{SessionStore, TurnRecord};
use crate::OrchestratorError;
use glrl_db::{Database, ExecOptions, ResultSet};
use glrl_query_generator::{Feedback, QueryGenerator, Turn};
use glrl_reward_evaluator::RewardEvaluator;
use glrl_schema_analyzer::{LinkResult, SchemaAnalyzer};
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Settings {
    /// Candidates per question (overridden per request).
    pub candidates: usize,
    /// Generation rounds after the first when no candidate validates.
    pub repair_rounds: usize,
    /// Below this confidence the answer says it is unsure.
    pub confidence_threshold: f64,
    /// Platt scaling of the raw confidence, fitted on the dev set:
    /// `1 / (1 + exp(-(a · raw + b)))`; `None` reports the raw score.
    pub calibration: Option<(f64, f64)>,
    pub exec: ExecOptions,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            candidates: 5,
            repair_rounds: 1,
            confidence_threshold: 0.5,
            calibration: None,
            exec: ExecOptions::default(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Question {
    pub text: String,
    /// Continue this session; `None` starts one.
    pub session: Option<String>,
    pub tenant: Option<String>,
    /// Candidates for this question (default: the settings').
    pub candidates: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Validated SQL ran; confidence at or above the threshold.
    Answered,
    /// Validated SQL ran, but confidence is below the threshold.
    Unsure,
    /// No candidate validated and ran, repairs included: no answer.
    Abstained,
    /// An unsafe request: no SQL was generated.
    Refused,
    /// A question about the schema, answered from the catalog.
    SchemaInfo,
    OutOfScope,
    Error,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageTiming {
    pub stage: &'static str,
    pub ms: f64,
}

/// What the pipeline tells an observer while it runs (the gateway
/// streams it).
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// A stage ended.
    Stage(&'a StageTiming),
    /// A piece of a candidate's text as the model writes it. Round 0 is
    /// the first generation, later rounds are repairs; a candidate's
    /// pieces of one round concatenate to its raw text.
    Text {
        round: usize,
        candidate: usize,
        text: &'a str,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorInfo {
    /// Stable: MODEL_ERROR, DATABASE_ERROR, SESSION_NOT_FOUND, EMPTY_QUESTION, SESSION_ERROR.
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    pub question: String,
    pub intent: Intent,
    pub status: Status,
    /// One line for the person who asked.
    pub message: String,
    pub session: Option<String>,
    /// The chosen SQL, formatted one clause per line.
    pub sql: Option<String>,
    /// The chosen SQL as generated (one line).
    pub raw_sql: Option<String>,
    pub result: Option<ResultSet>,
    pub row_count: usize,
    pub explanation: Option<String>,
    pub tables: Vec<String>,
    pub warnings: Vec<String>,
    pub confidence: Option<f64>,
    /// Before calibration (what calibration is fitted on).
    pub raw_confidence: Option<f64>,
    pub candidates: Vec<Scored>,
    /// Repair rounds that ran.
    pub repairs: usize,
    pub timings: Vec<StageTiming>,
    pub model_ms: f64,
    pub database_ms: f64,
    /// Everything but model and database time.
    pub overhead_ms: f64,
    pub total_ms: f64,
    pub error: Option<ErrorInfo>,
}

impl Answer {
    fn new(question: &str, intent: Intent, status: Status, message: String) -> Answer {
        Answer {
            question: question.to_string(),
            intent,
            status,
            message,
            session: None,
            sql: None,
            raw_sql: None,
            result: None,
            row_count: 0,
            explanation: None,
            tables: Vec::new(),
            warnings: Vec::new(),
            confidence: None,
            raw_confidence: None,
            candidates: Vec::new(),
            repairs: 0,
            timings: Vec::new(),
            model_ms: 0.0,
            database_ms: 0.0,
            overhead_ms: 0.0,
            total_ms: 0.0,
            error: None,
        }
    }

    fn fail(question: &str, intent: Intent, code: &'static str, message: String) -> Answer {
        let mut a = Answer::new(question, intent, Status::Error, message.clone());
        a.error = Some(ErrorInfo { code, message });
        a
    }
}

/// Times stages and keeps model and database time apart.
struct Clock<'o> {
    start: Instant,
    mark: Instant,
    timings: Vec<StageTiming>,
    model: Duration,
    db: Duration,
    /// Told of each stage as it ends and of the text as it is generated
    /// (the gateway streams them); without one, tokens are not decoded
    /// until a candidate is complete.
    observer: Option<&'o mut dyn FnMut(Progress<'_>)>,
    /// The span of the stage under way; named when the stage ends (the
    /// pipeline knows which stage ran only then). Exported as one trace
    /// span per stage.
    span: Option<tracing::span::EnteredSpan>,
}

fn stage_span() -> tracing::span::EnteredSpan {
    tracing::info_span!(
        "stage",
        otel.name = tracing::field::Empty,
        stage = tracing::field::Empty
    )
    .entered()
}

impl<'o> Clock<'o> {
    fn new(observer: Option<&'o mut dyn FnMut(Progress<'_>)>) -> Clock<'o> {
        let now = Instant::now();
        Clock {
            start: now,
            mark: now,
            timings: Vec::new(),
            model: Duration::ZERO,
            db: Duration::ZERO,
            observer,
            span: Some(stage_span()),
        }
    }

    fn close_span(&mut self, name: &str) {
        if let Some(span) = self.span.take() {
            span.record("otel.name", name);
            span.record("stage", name);
        }
    }

    fn stage(&mut self, stage: &'static str) {
        let now = Instant::now();
        let ms = (now - self.mark).as_secs_f64() * 1e3;
        tracing::debug!(stage, ms, "stage done");
        let t = StageTiming { stage, ms };
        if let Some(o) = self.observer.as_mut() {
            o(Progress::Stage(&t));
        }
        self.timings.push(t);
        self.mark = now;
        self.close_span(stage);
        self.span = Some(stage_span());
    }

    fn finish(mut self, mut a: Answer) -> Answer {
        self.close_span("respond");
        let total = self.start.elapsed();
        a.timings = self.timings;
        a.model_ms = self.model.as_secs_f64() * 1e3;
        a.database_ms = self.db.as_secs_f64() * 1e3;
        a.total_ms = total.as_secs_f64() * 1e3;
        a.overhead_ms = (a.total_ms - a.model_ms - a.database_ms).max(0.0);
        a
    }
}

/// The Orchestrator agent: wires the Schema Analyzer, Query Generator,
/// Validator (through the Reward Evaluator) and the read-only database.
pub struct Orchestrator<'a> {
    pub analyzer: &'a SchemaAnalyzer,
    pub evaluator: &'a RewardEvaluator<'a>,
    pub generator: &'a QueryGenerator<'a>,
    pub db: &'a dyn Database,
    pub sessions: &'a SessionStore,
    pub settings: Settings,
}

impl Orchestrator<'_> {
    /// Answers one question. Never panics on bad input and never returns
    /// a partial result as an answer: failures are an [`Answer`] with
    /// status `error` and a stable code.
    pub fn ask(&self, q: &Question) -> Answer {
        self.guarded(q, None)
    }

    /// [`Orchestrator::ask`], telling `observer` of each stage as it ends
    /// and of the candidates' text as the model writes it.
    pub fn ask_observed(&self, q: &Question, observer: &mut dyn FnMut(Progress<'_>)) -> Answer {
        self.guarded(q, Some(observer))
    }

    /// A panic in any agent (a bug: a GRPO-trained adapter's reasoning
    /// once sliced a string inside a character) ends this question with
    /// a structured error instead of ending the batch, the chat or the
    /// evaluation around it.
    fn guarded(&self, q: &Question, observer: Option<&mut dyn FnMut(Progress<'_>)>) -> Answer {
        let started = Instant::now();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run(q, observer))) {
            Ok(a) => a,
            Err(payload) => {
                let what = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                tracing::error!(question = %q.text, "the pipeline panicked: {what}");
                let mut a = Answer::fail(
                    &q.text,
                    Intent::Data,
                    "INTERNAL_ERROR",
                    format!("an internal error stopped this question (a bug in glrl: {what})"),
                );
                a.total_ms = started.elapsed().as_secs_f64() * 1e3;
                a
            }
        }
    }

    fn run(&self, q: &Question, observer: Option<&mut dyn FnMut(Progress<'_>)>) -> Answer {
        let span = tracing::info_span!("ask", question = %q.text);
        let _enter = span.enter();
        let mut clock = Clock::new(observer);
        let text = normalise(&q.text);
        if text.is_empty() {
            return clock.finish(Answer::fail(
                &q.text,
                Intent::Data,
                "EMPTY_QUESTION",
                "the question is empty".into(),
            ));
        }
        clock.stage("input");
        // Context: the session and its history.
        let session = match &q.session {
            Some(id) => match self.sessions.get(id, q.tenant.as_deref()) {
                Ok(Some(s)) => s,
                Ok(None) => {
                    return clock.finish(Answer::fail(
                        &text,
                        Intent::Data,
                        "SESSION_NOT_FOUND",
                        format!("no live session {id} (it may have expired)"),
                    ))
                }
                Err(e) => return clock.finish(session_error(&text, e)),
            },
            None => match self.sessions.create(q.tenant.as_deref()) {
                Ok(s) => s,
                Err(e) => return clock.finish(session_error(&text, e)),
            },
        };
        clock.stage("context");
        let link = self.analyzer.link(&text);
        let intent = classify(&text, &link, !session.turns.is_empty());
        clock.stage("schema");
        let mut answer = match intent {
            Intent::Unsafe => Answer::new(
                &text,
                intent,
                Status::Refused,
                "This asks to change the database. I only read data, so I will not write SQL for it."
                    .into(),
            ),
            Intent::OutOfScope => Answer::new(
                &text,
                intent,
                Status::OutOfScope,
                format!(
                    "I can only answer questions about this database ({}).",
                    self.analyzer
                        .schema()
                        .tables
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Intent::Schema => self.schema_answer(&text),
            Intent::Data | Intent::FollowUp => {
                let history: Vec<Turn> = if intent == Intent::FollowUp {
                    session
                        .turns
                        .iter()
                        .map(|t| Turn {
                            question: t.question.clone(),
                            sql: t.sql.clone(),
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                self.answer_data(&text, &link, intent, &history, q.candidates, &mut clock)
            }
        };
        answer.session = Some(session.id.clone());
        if let (Some(sql), Some(rs)) = (&answer.raw_sql, &answer.result) {
            let turn = TurnRecord {
                question: text.clone(),
                sql: sql.clone(),
                row_count: rs.rows.len(),
                columns: rs.columns.iter().map(|c| c.name.clone()).collect(),
            };
            if let Err(e) = self.sessions.append(&session.id, turn) {
                tracing::warn!("session {} not updated: {e}", session.id);
            }
        }
        clock.stage("answer");
        clock.finish(answer)
    }

    fn schema_answer(&self, text: &str) -> Answer {
        let schema = self.analyzer.schema();
        let lines: Vec<String> = schema
            .tables
            .iter()
            .map(|t| {
                format!(
                    "{} ({} columns: {})",
                    t.name,
                    t.columns.len(),
                    t.columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        Answer::new(
            text,
            Intent::Schema,
            Status::SchemaInfo,
            format!(
                "The database has {} tables:\n{}",
                schema.tables.len(),
                lines.join("\n")
            ),
        )
    }

    fn answer_data(
        &self,
        text: &str,
        link: &LinkResult,
        intent: Intent,
        history: &[Turn],
        n: Option<usize>,
        clock: &mut Clock<'_>,
    ) -> Answer {
        let n = n.unwrap_or(self.settings.candidates).max(1);
        let mut scored: Vec<Scored> = Vec::new();
        let mut feedback: Option<Feedback> = None;
        let mut repairs = 0;
        for round in 0..=self.settings.repair_rounds {
            let t0 = Instant::now();
            let generated = match clock.observer.as_mut() {
                Some(o) => self.generator.generate_streaming(
                    text,
                    Some(link),
                    history,
                    feedback.as_ref(),
                    n,
                    &mut |candidate, piece| {
                        o(Progress::Text {
                            round,
                            candidate,
                            text: piece,
                        })
                    },
                ),
                None => self
                    .generator
                    .generate(text, Some(link), history, feedback.as_ref(), n),
            };
            let generation = match generated {
                Ok(g) => g,
                Err(e) => {
                    clock.model += t0.elapsed();
                    return Answer::fail(text, intent, "MODEL_ERROR", e.to_string());
                }
            };
            // Only the backend's call is the model's: building the prompt
            // around it is overhead like any other stage.
            clock.model += generation.model_time;
            clock.stage(if round == 0 { "generation" } else { "repair" });
            let offset = scored.len();
            let judge = Judge {
                evaluator: self.evaluator,
                db: self.db,
                exec: &self.settings.exec,
            };
            for (i, c) in generation.candidates.iter().enumerate() {
                let mut s =
                    judge.score(offset + i, &c.text, c.mean_logprob, &scored, &mut clock.db);
                s.tokens = c.tokens;
                scored.push(s);
            }
            judge.add_group_by_fixes(offset, &mut scored, self.db.dialect(), &mut clock.db);
            clock.stage("validation");
            if scored.iter().any(|s| s.valid) {
                break;
            }
            if round < self.settings.repair_rounds {
                repairs += 1;
                // The best-scoring failure and its findings go back to the model.
                if let Some(best) = scored[offset..]
                    .iter()
                    .filter(|s| !s.sql.is_empty())
                    .max_by(|a, b| a.reward.total_cmp(&b.reward))
                {
                    feedback = Some(Feedback {
                        sql: best.sql.clone(),
                        findings: best.errors.clone(),
                    });
                }
            }
        }
        // The validator's rewrites are no more votes than their originals.
        let total = scored.iter().filter(|s| s.fixed_from.is_none()).count();
        let chosen = select(&mut scored, total);
        clock.stage("selection");
        let Some((winner, raw)) = chosen else {
            let mut a = Answer::new(
                text,
                intent,
                Status::Abstained,
                "I could not write a query for this that passes validation, so I am not answering."
                    .into(),
            );
            a.candidates = scored;
            a.repairs = repairs;
            return a;
        };
        let confidence = match self.settings.calibration {
            Some((a, b)) => 1.0 / (1.0 + (-(a * raw + b)).exp()),
            None => raw,
        };
        let w = &scored[winner];
        let dialect = self.db.dialect();
        let (tables, _) = match &w.report {
            Some(r) => self.evaluator.names_in(&r.words),
            None => glrl_reward_evaluator::used_names(&w.sql, self.analyzer.schema(), dialect),
        };
        // The winner's rows go into the answer; the candidates keep none
        // (they are not shown), so the rows move instead of being copied.
        for s in scored.iter_mut().filter(|s| s.index != winner) {
            s.result = None;
        }
        let result = scored[winner].result.take().map(Arc::unwrap_or_clone);
        let w = &scored[winner];
        let row_count = result.as_ref().map_or(0, |r| r.rows.len());
        let unsure = confidence < self.settings.confidence_threshold;
        let mut a = Answer::new(
            text,
            intent,
            if unsure {
                Status::Unsure
            } else {
                Status::Answered
            },
            if unsure {
                format!("I am not sure of this answer (confidence {confidence:.2}); please check the SQL.")
            } else {
                format!("{row_count} row(s).")
            },
        );
        let (formatted, explanation) = match w.report.as_ref().and_then(|r| r.query.as_deref()) {
            Some(q) => present_query(q),
            None => present(&w.sql, dialect),
        };
        a.sql = Some(formatted);
        a.raw_sql = Some(w.sql.clone());
        a.explanation = explanation;
        a.tables = tables.into_iter().collect();
        a.warnings = w.warnings.clone();
        if let Some(origin) = w.fixed_from {
            a.warnings.push(format!(
                "GROUP_BY_ADDED: candidate {origin} showed columns next to totals without grouping by them; the validator added the GROUP BY"
            ));
        }
        if result.as_ref().is_some_and(|r| r.truncated) {
            a.warnings.push(format!(
                "ROW_LIMIT: only the first {} rows are shown",
                self.settings.exec.max_rows
            ));
        }
        a.result = result;
        a.row_count = row_count;
        a.confidence = Some(confidence);
        a.raw_confidence = Some(raw);
        a.candidates = scored;
        a.repairs = repairs;
        a
    }
}

fn session_error(text: &str, e: OrchestratorError) -> Answer {
    Answer::fail(text, Intent::Data, "SESSION_ERROR", e.to_string())
}
