//! `POST /v1/query`: the pipeline behind the answer cache.

use super::{
    audit, blocking, check_question_length, request_id, ApiJson, Caller, St, MAX_CANDIDATES,
};
use crate::audit::{now_ms, AuditEntry};
use crate::auth::Principal;
use crate::auth::Scope;
use crate::cache;
use crate::problem::Problem;
use crate::{AppState, Recent};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use glrl_orchestrator::{Answer, Progress, Question};
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct QueryRequest {
    /// The question in plain language.
    pub question: String,
    /// Continue this session (follow-ups); omit to start one.
    #[serde(default)]
    pub session: Option<String>,
    /// Must name the database this server answers on, if given.
    #[serde(default)]
    pub database: Option<String>,
    /// Candidates to generate (1–20).
    #[serde(default)]
    pub candidates: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueryResponse {
    /// Refer to this answer in `/v1/feedback`.
    pub query_id: String,
    /// `miss`, `l1` or `l2`.
    pub cache: String,
    /// The pipeline's answer: status, SQL, rows, explanation, confidence, timings.
    #[schema(value_type = Object)]
    pub answer: serde_json::Value,
}

/// HTTP status for an answer that carries an error.
fn error_status(code: &str) -> StatusCode {
    match code {
        "SESSION_NOT_FOUND" => StatusCode::NOT_FOUND,
        "EMPTY_QUESTION" => StatusCode::BAD_REQUEST,
        "MODEL_ERROR" | "DATABASE_ERROR" => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn status_name(a: &Answer) -> String {
    serde_json::to_value(a.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn record_answer(s: &AppState, a: &Answer) {
    let m = &s.metrics;
    m.answers.with_label_values(&[&status_name(a)]).inc();
    if !a.candidates.is_empty() {
        m.candidates.observe(a.candidates.len() as f64);
        for c in &a.candidates {
            m.validation(c.valid);
        }
    }
    if let Some(c) = a.confidence {
        m.confidence.observe(c);
    }
    for t in &a.timings {
        m.stage_seconds
            .with_label_values(&[t.stage])
            .observe(t.ms / 1000.0);
    }
    let tokens: usize = a.candidates.iter().map(|c| c.tokens).sum();
    if tokens > 0 && a.model_ms > 0.0 {
        m.model_tokens_per_second
            .set(tokens as f64 / (a.model_ms / 1000.0));
    }
}

#[utoipa::path(post, path = "/v1/query", tag = "query", request_body = QueryRequest,
    responses((status = 200, body = QueryResponse), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 404, body = Problem), (status = 429, body = Problem)),
    security(("api_key" = []), ("bearer" = [])))]
pub(super) async fn query(
    State(s): St,
    Caller(p): Caller,
    headers: HeaderMap,
    ApiJson(req): ApiJson<QueryRequest>,
) -> Result<Response, Problem> {
    p.require(Scope::Query)?;
    let r = run_query(s, p, request_id(&headers), req, None).await?;
    Ok(Json(r).into_response())
}

/// `POST /v1/query/stream`: the same answer as Server-Sent Events: a
/// `token` event for each piece of text the model writes
/// (`{"round", "candidate", "text"}`; round 0 is the first generation,
/// later rounds are repairs; a candidate's pieces of a round concatenate
/// to its text), a `stage` event as each pipeline stage ends
/// (`{"stage", "ms"}`), then one `answer` event (the `/v1/query` body) or
/// one `error` event (a problem document). A cached answer comes as the
/// `answer` event alone.
#[utoipa::path(post, path = "/v1/query/stream", tag = "query", request_body = QueryRequest,
    responses((status = 200, description = "text/event-stream: token and stage events, then answer or error",
        content_type = "text/event-stream", body = String),
        (status = 401, body = Problem), (status = 429, body = Problem)),
    security(("api_key" = []), ("bearer" = [])))]
pub(super) async fn query_stream(
    State(s): St,
    Caller(p): Caller,
    headers: HeaderMap,
    ApiJson(req): ApiJson<QueryRequest>,
) -> Result<Response, Problem> {
    p.require(Scope::Query)?;
    // Unbounded so that a slow reader never stalls the model thread, which
    // answers everyone's questions in turn; a question's events are
    // bounded by its candidates × max new tokens.
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let rid = request_id(&headers);
    let events = tx.clone();
    tokio::spawn(async move {
        let last = match run_query(s, p, rid, req, Some(events)).await {
            Ok(r) => Event::default().event("answer").json_data(&r),
            Err(problem) => Event::default().event("error").json_data(&problem),
        };
        if let Ok(ev) = last {
            let _ = tx.send(ev);
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// The audit record of one question. Only validated SQL that ran is ever
/// an answer's SQL, so "valid" is whether there is SQL.
fn query_entry(
    p: &Principal,
    request_id: String,
    question: &str,
    sql: Option<String>,
    row_count: Option<usize>,
    outcome: &str,
    cache: &str,
) -> AuditEntry {
    AuditEntry {
        ts_ms: now_ms(),
        request_id,
        principal: p.id.clone(),
        tenant: p.tenant.clone(),
        action: "query".into(),
        question: Some(question.to_string()),
        valid: Some(sql.is_some()),
        sql,
        row_count,
        outcome: outcome.to_string(),
        cache: Some(cache.to_string()),
    }
}

/// The question through the cache and the pipeline, audited; `stream`
/// hears of the generated text and of each stage as it ends.
async fn run_query(
    s: Arc<AppState>,
    p: Principal,
    rid: String,
    req: QueryRequest,
    stream: Option<tokio::sync::mpsc::UnboundedSender<Event>>,
) -> Result<QueryResponse, Problem> {
    let question = req.question.trim().to_string();
    if question.is_empty() {
        return Err(Problem::bad_request(
            "EMPTY_QUESTION",
            "the question is empty",
        ));
    }
    check_question_length(&question)?;
    if let Some(db) = &req.database {
        if *db != s.settings.database {
            return Err(Problem::bad_request(
                "UNKNOWN_DATABASE",
                format!("this server answers on database '{}'", s.settings.database),
            ));
        }
    }
    let candidates = req.candidates.unwrap_or(s.settings.default_candidates);
    if !(1..=MAX_CANDIDATES).contains(&candidates) {
        return Err(Problem::bad_request(
            "BAD_CANDIDATES",
            format!("candidates must be between 1 and {MAX_CANDIDATES}"),
        ));
    }
    let query_id = uuid::Uuid::new_v4().to_string();
    // Follow-ups depend on their session, so only fresh questions are
    // cached. A cached answer names the session it was first asked in (of
    // the same tenant); a follow-up there continues that conversation.
    let key = req.session.is_none().then(|| {
        cache::key(
            &cache::normalise_question(&question),
            &s.engine.fingerprint(),
            &p.tenant,
            candidates,
        )
    });
    if let Some(k) = &key {
        if let Some((bytes, level)) = s.cache.get(k, &s.metrics).await {
            if let Ok(answer) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                let sql = answer["raw_sql"].as_str().map(str::to_string);
                let entry = query_entry(
                    &p,
                    rid,
                    &question,
                    sql.clone(),
                    answer["row_count"].as_u64().map(|n| n as usize),
                    answer["status"].as_str().unwrap_or(""),
                    level.name(),
                );
                audit(&s, entry).await?;
                s.recent.insert(
                    query_id.clone(),
                    Recent {
                        tenant: p.tenant.clone(),
                        question,
                        sql,
                    },
                );
                return Ok(QueryResponse {
                    query_id,
                    cache: level.name().into(),
                    answer,
                });
            }
        }
    }
    let q = Question {
        text: question.clone(),
        session: req.session.clone(),
        tenant: Some(p.tenant.clone()),
        candidates: Some(candidates),
    };
    let answer = match stream {
        Some(tx) => {
            let observer = Box::new(move |p: Progress<'_>| {
                let ev = match p {
                    Progress::Stage(t) => Event::default().event("stage").json_data(t),
                    Progress::Text {
                        round,
                        candidate,
                        text,
                    } => Event::default()
                        .event("token")
                        .json_data(serde_json::json!({
                            "round": round, "candidate": candidate, "text": text,
                        })),
                };
                if let Ok(ev) = ev {
                    let _ = tx.send(ev);
                }
            });
            blocking(&s, move |e| e.ask_observed(q, observer)).await?
        }
        None => blocking(&s, move |e| e.ask(q)).await?,
    };
    record_answer(&s, &answer);
    let entry = query_entry(
        &p,
        rid.clone(),
        &question,
        answer.raw_sql.clone(),
        Some(answer.row_count),
        &status_name(&answer),
        "miss",
    );
    audit(&s, entry).await?;
    if let Some(err) = &answer.error {
        let mut problem = Problem::new(error_status(err.code), err.code, err.message.clone());
        problem.request_id = Some(rid);
        return Err(problem);
    }
    let value = serde_json::to_value(&answer).map_err(|e| Problem::internal(e.to_string()))?;
    if let Some(k) = &key {
        if let Ok(bytes) = serde_json::to_vec(&value) {
            s.cache.put(k, bytes).await;
        }
    }
    s.recent.insert(
        query_id.clone(),
        Recent {
            tenant: p.tenant.clone(),
            question,
            sql: answer.raw_sql.clone(),
        },
    );
    Ok(QueryResponse {
        query_id,
        cache: "miss".into(),
        answer: value,
    })
}
