//! The HTTP API: handlers, their request/response types, the OpenAPI
//! document built from them, and the authentication extractor.

use crate::audit::{now_ms, search, AuditEntry, AuditFilter};
use crate::auth::{Principal, Scope};
use crate::cache;
use crate::problem::Problem;
use crate::{AppState, Recent};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::{header, request::Parts, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use glrl_orchestrator::{Answer, Question};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

type St = State<Arc<AppState>>;

const MAX_QUESTION: usize = 2_000;
const MAX_SQL: usize = 20_000;
const MAX_CANDIDATES: usize = 20;

/// The authenticated, rate-limited caller.
pub struct Caller(pub Principal);

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, s: &Arc<AppState>) -> Result<Self, Problem> {
        let text = |name: header::HeaderName| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let auth = text(header::AUTHORIZATION);
        let bearer = auth.as_deref().and_then(|a| {
            a.strip_prefix("Bearer ")
                .or_else(|| a.strip_prefix("bearer "))
        });
        let key = text(header::HeaderName::from_static("x-api-key"));
        let mut p = s.auth.authenticate(bearer, key.as_deref());
        if let (Err(e), Some(id)) = (
            &mut p,
            text(header::HeaderName::from_static("x-request-id")),
        ) {
            e.request_id = Some(id);
        }
        let p = p?;
        if let Some(l) = &s.limiter {
            l.check(&p.id)?;
        }
        Ok(Caller(p))
    }
}

/// JSON bodies whose errors come back as problem+json.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rej) => Err(Problem::new(
                rej.status(),
                "BAD_REQUEST_BODY",
                rej.body_text(),
            )),
        }
    }
}

fn request_id(h: &HeaderMap) -> String {
    h.get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::EngineError> + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Problem::internal(format!("worker failed: {e}")))?
        .map_err(Problem::from)
}

async fn audit(s: &AppState, e: AuditEntry) -> Result<(), Problem> {
    s.audit.append(&e).await.map_err(|err| {
        tracing::error!(error = %err, "audit log write failed; request not acknowledged");
        Problem::internal("the audit log could not be written; the request was not acknowledged")
    })
}

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
            let outcome = if c.valid { "valid" } else { "invalid" };
            m.validations.with_label_values(&[outcome]).inc();
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
async fn query(
    State(s): St,
    Caller(p): Caller,
    headers: HeaderMap,
    ApiJson(req): ApiJson<QueryRequest>,
) -> Result<Response, Problem> {
    p.require(Scope::Query)?;
    let question = req.question.trim().to_string();
    if question.is_empty() {
        return Err(Problem::bad_request(
            "EMPTY_QUESTION",
            "the question is empty",
        ));
    }
    if question.chars().count() > MAX_QUESTION {
        return Err(Problem::bad_request(
            "QUESTION_TOO_LONG",
            format!("questions are limited to {MAX_QUESTION} characters"),
        ));
    }
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
    let rid = request_id(&headers);
    let query_id = uuid::Uuid::new_v4().to_string();
    // Follow-ups depend on their session, so only fresh questions are cached.
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
                audit(
                    &s,
                    AuditEntry {
                        ts_ms: now_ms(),
                        request_id: rid,
                        principal: p.id.clone(),
                        tenant: p.tenant.clone(),
                        action: "query".into(),
                        question: Some(question.clone()),
                        sql: sql.clone(),
                        valid: Some(sql.is_some()),
                        row_count: answer["row_count"].as_u64().map(|n| n as usize),
                        outcome: answer["status"].as_str().unwrap_or("").to_string(),
                        cache: Some(level.name().into()),
                    },
                )
                .await?;
                s.recent.insert(
                    query_id.clone(),
                    Recent {
                        tenant: p.tenant.clone(),
                        question,
                        sql,
                    },
                );
                return Ok(Json(QueryResponse {
                    query_id,
                    cache: level.name().into(),
                    answer,
                })
                .into_response());
            }
        }
    }
    let engine = s.engine.clone();
    let q = Question {
        text: question.clone(),
        session: req.session.clone(),
        tenant: Some(p.tenant.clone()),
        candidates: Some(candidates),
    };
    let answer = blocking(move || engine.ask(q)).await?;
    record_answer(&s, &answer);
    audit(
        &s,
        AuditEntry {
            ts_ms: now_ms(),
            request_id: rid.clone(),
            principal: p.id.clone(),
            tenant: p.tenant.clone(),
            action: "query".into(),
            question: Some(question.clone()),
            sql: answer.raw_sql.clone(),
            valid: Some(answer.raw_sql.is_some()),
            row_count: Some(answer.row_count),
            outcome: status_name(&answer),
            cache: Some("miss".into()),
        },
    )
    .await?;
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
    Ok(Json(QueryResponse {
        query_id,
        cache: "miss".into(),
        answer: value,
    })
    .into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SqlRequest {
    pub sql: String,
}

fn check_sql(sql: &str) -> Result<(), Problem> {
    if sql.trim().is_empty() {
        return Err(Problem::bad_request("EMPTY_SQL", "the SQL is empty"));
    }
    if sql.len() > MAX_SQL {
        return Err(Problem::bad_request(
            "SQL_TOO_LONG",
            format!("SQL is limited to {MAX_SQL} bytes"),
        ));
    }
    Ok(())
}

/// All five validation layers; nothing runs.
#[utoipa::path(post, path = "/v1/sql/validate", tag = "sql", request_body = SqlRequest,
    responses((status = 200, description = "The validator's report (valid, layers, findings)", body = Object),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 429, body = Problem)),
    security(("api_key" = []), ("bearer" = [])))]
async fn validate(
    State(s): St,
    Caller(p): Caller,
    ApiJson(req): ApiJson<SqlRequest>,
) -> Result<Response, Problem> {
    p.require(Scope::Sql)?;
    check_sql(&req.sql)?;
    let engine = s.engine.clone();
    let report = blocking(move || engine.validate(&req.sql)).await?;
    let outcome = if report.valid { "valid" } else { "invalid" };
    s.metrics.validations.with_label_values(&[outcome]).inc();
    Ok(Json(report).into_response())
}

/// Validates, then runs read-only with the server's time and row limits.
#[utoipa::path(post, path = "/v1/sql/execute", tag = "sql", request_body = SqlRequest,
    responses((status = 200, description = "The report and the result set", body = Object),
        (status = 422, description = "Did not validate; the report is in `report`", body = Problem),
        (status = 401, body = Problem), (status = 429, body = Problem)),
    security(("api_key" = []), ("bearer" = [])))]
async fn execute(
    State(s): St,
    Caller(p): Caller,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SqlRequest>,
) -> Result<Response, Problem> {
    p.require(Scope::Sql)?;
    check_sql(&req.sql)?;
    let engine = s.engine.clone();
    let sql = req.sql.clone();
    let out = blocking(move || engine.execute(&sql)).await;
    let (valid, rows, outcome) = match &out {
        Ok(e) => (Some(true), Some(e.result.rows.len()), "ok".to_string()),
        Err(p) if p.code == "SQL_INVALID" => (Some(false), None, "invalid".into()),
        Err(p) => (None, None, p.code.to_lowercase()),
    };
    if let Some(v) = valid {
        let outcome = if v { "valid" } else { "invalid" };
        s.metrics.validations.with_label_values(&[outcome]).inc();
    }
    audit(
        &s,
        AuditEntry {
            ts_ms: now_ms(),
            request_id: request_id(&headers),
            principal: p.id.clone(),
            tenant: p.tenant.clone(),
            action: "execute".into(),
            question: None,
            sql: Some(req.sql),
            valid,
            row_count: rows,
            outcome,
            cache: None,
        },
    )
    .await?;
    Ok(Json(out?).into_response())
}

#[utoipa::path(get, path = "/v1/schema", tag = "schema",
    responses((status = 200, description = "Tables, columns, keys and relationships", body = Object),
        (status = 401, body = Problem)),
    security(("api_key" = []), ("bearer" = [])))]
async fn schema(State(s): St, Caller(p): Caller) -> Result<Response, Problem> {
    p.require(Scope::Query)?;
    let engine = s.engine.clone();
    Ok(Json(blocking(move || engine.schema()).await?).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LinkRequest {
    pub question: String,
}

/// Schema linking: the tables, columns, values and glossary terms a question names.
#[utoipa::path(post, path = "/v1/schema/link", tag = "schema", request_body = LinkRequest,
    responses((status = 200, body = Object), (status = 401, body = Problem)),
    security(("api_key" = []), ("bearer" = [])))]
async fn link(
    State(s): St,
    Caller(p): Caller,
    ApiJson(req): ApiJson<LinkRequest>,
) -> Result<Response, Problem> {
    p.require(Scope::Query)?;
    if req.question.chars().count() > MAX_QUESTION {
        return Err(Problem::bad_request(
            "QUESTION_TOO_LONG",
            "question too long",
        ));
    }
    let engine = s.engine.clone();
    Ok(Json(blocking(move || engine.link(&req.question)).await?).into_response())
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Rating {
    Up,
    Down,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct FeedbackRequest {
    /// The `query_id` of a `/v1/query` response.
    pub query_id: String,
    pub rating: Rating,
    /// The SQL that would have been right (validated before it is kept as a training pair).
    #[serde(default)]
    pub corrected_sql: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FeedbackEntry {
    pub id: String,
    pub ts_ms: u64,
    pub tenant: String,
    pub principal: String,
    pub query_id: String,
    pub question: String,
    /// The SQL the answer gave.
    pub sql: Option<String>,
    pub rating: Rating,
    pub corrected_sql: Option<String>,
    /// Did the corrected SQL pass all five validation layers?
    pub corrected_valid: Option<bool>,
    pub comment: Option<String>,
}

#[utoipa::path(post, path = "/v1/feedback", tag = "feedback", request_body = FeedbackRequest,
    responses((status = 201, body = FeedbackEntry), (status = 404, body = Problem),
        (status = 401, body = Problem)),
    security(("api_key" = []), ("bearer" = [])))]
async fn feedback(
    State(s): St,
    Caller(p): Caller,
    ApiJson(req): ApiJson<FeedbackRequest>,
) -> Result<Response, Problem> {
    p.require(Scope::Query)?;
    let recent = s
        .recent
        .get(&req.query_id)
        .filter(|r| r.tenant == p.tenant)
        .ok_or_else(|| Problem::not_found(format!("no query {} for this tenant", req.query_id)))?;
    let corrected_valid = match req.corrected_sql.clone() {
        Some(sql) => {
            check_sql(&sql)?;
            let engine = s.engine.clone();
            Some(blocking(move || engine.validate(&sql)).await?.valid)
        }
        None => None,
    };
    let entry = FeedbackEntry {
        id: uuid::Uuid::new_v4().to_string(),
        ts_ms: now_ms(),
        tenant: p.tenant.clone(),
        principal: p.id.clone(),
        query_id: req.query_id,
        question: recent.question,
        sql: recent.sql,
        rating: req.rating,
        corrected_sql: req.corrected_sql,
        corrected_valid,
        comment: req.comment,
    };
    s.feedback
        .append(&entry)
        .await
        .map_err(|e| Problem::internal(format!("feedback log: {e}")))?;
    Ok((StatusCode::CREATED, Json(entry)).into_response())
}

#[utoipa::path(get, path = "/v1/feedback", tag = "feedback",
    responses((status = 200, body = [FeedbackEntry]), (status = 401, body = Problem)),
    security(("api_key" = []), ("bearer" = [])))]
async fn list_feedback(State(s): St, Caller(p): Caller) -> Result<Response, Problem> {
    p.require(Scope::Query)?;
    let all: Vec<FeedbackEntry> =
        crate::audit::read_all(s.feedback.path()).map_err(|e| Problem::internal(e.to_string()))?;
    let mine: Vec<FeedbackEntry> = all.into_iter().filter(|f| f.tenant == p.tenant).collect();
    Ok(Json(mine).into_response())
}

#[utoipa::path(get, path = "/v1/sessions", tag = "sessions",
    responses((status = 200, description = "The tenant's sessions", body = Object), (status = 401, body = Problem)),
    security(("api_key" = []), ("bearer" = [])))]
async fn sessions(State(s): St, Caller(p): Caller) -> Result<Response, Problem> {
    p.require(Scope::Query)?;
    let engine = s.engine.clone();
    let tenant = p.tenant.clone();
    Ok(Json(blocking(move || engine.sessions(&tenant)).await?).into_response())
}

#[utoipa::path(get, path = "/v1/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    responses((status = 200, body = Object), (status = 404, body = Problem)),
    security(("api_key" = []), ("bearer" = [])))]
async fn session(
    State(s): St,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    p.require(Scope::Query)?;
    let engine = s.engine.clone();
    let tenant = p.tenant.clone();
    let found = blocking(move || engine.session(&id, &tenant)).await?;
    match found {
        Some(sess) => Ok(Json(sess).into_response()),
        None => Err(Problem::not_found("no such session for this tenant")),
    }
}

#[utoipa::path(delete, path = "/v1/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    responses((status = 204), (status = 404, body = Problem)),
    security(("api_key" = []), ("bearer" = [])))]
async fn delete_session(
    State(s): St,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    p.require(Scope::Query)?;
    let engine = s.engine.clone();
    let tenant = p.tenant.clone();
    if blocking(move || engine.delete_session(&id, &tenant)).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(Problem::not_found("no such session for this tenant"))
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Substring of the question or SQL (case-insensitive).
    pub contains: Option<String>,
    /// `query` or `execute`.
    pub action: Option<String>,
    /// Only entries at or after this time (ms since the epoch).
    pub since_ms: Option<u64>,
    /// The newest N entries (default 100).
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = [AuditEntry]), (status = 403, body = Problem)),
    security(("api_key" = []), ("bearer" = [])))]
async fn audit_log(
    State(s): St,
    Caller(p): Caller,
    Query(q): Query<AuditQuery>,
) -> Result<Response, Problem> {
    p.require(Scope::Audit)?;
    let filter = AuditFilter {
        tenant: Some(p.tenant.clone()),
        contains: q.contains,
        action: q.action,
        since_ms: q.since_ms,
        limit: Some(q.limit.unwrap_or(100)),
    };
    let path = s.audit.path().to_path_buf();
    let entries = tokio::task::spawn_blocking(move || search(&path, &filter))
        .await
        .map_err(|e| Problem::internal(e.to_string()))?
        .map_err(|e| Problem::internal(e.to_string()))?;
    Ok(Json(entries).into_response())
}

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Object)))]
async fn healthz() -> Response {
    Json(serde_json::json!({"status": "ok"})).into_response()
}

/// Ready when the model is loaded and the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Object), (status = 503, body = Object)))]
async fn readyz(State(s): St) -> Response {
    let engine = s.engine.clone();
    let r = tokio::task::spawn_blocking(move || engine.ready()).await;
    match r {
        Ok(r) if r.model_loaded && r.database => (StatusCode::OK, Json(r)).into_response(),
        Ok(r) => (StatusCode::SERVICE_UNAVAILABLE, Json(r)).into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition", body = String)))]
async fn metrics(State(s): St) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response()
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "GL-RL", description = "Questions about an ERP database answered with validated, read-only SQL."),
    paths(query, validate, execute, schema, link, feedback, list_feedback, sessions, session,
        delete_session, audit_log, healthz, readyz, metrics),
    components(schemas(Problem, QueryRequest, QueryResponse, SqlRequest, LinkRequest,
        FeedbackRequest, FeedbackEntry, Rating, AuditEntry)),
    modifiers(&Security)
)]
pub struct ApiDoc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/query", post(query))
        .route("/v1/sql/validate", post(validate))
        .route("/v1/sql/execute", post(execute))
        .route("/v1/schema", get(schema))
        .route("/v1/schema/link", post(link))
        .route("/v1/feedback", post(feedback).get(list_feedback))
        .route("/v1/sessions", get(sessions))
        .route("/v1/sessions/{id}", get(session).delete(delete_session))
        .route("/v1/audit", get(audit_log))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()))
}
