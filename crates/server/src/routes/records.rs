//! What the gateway keeps per tenant: feedback, sessions, the audit log.

use super::sql::check_sql;
use super::{blocking, ApiJson, Caller, St};
use crate::audit::{now_ms, search, AuditEntry, AuditFilter};
use crate::auth::Scope;
use crate::problem::Problem;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
pub(super) async fn feedback(
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
            Some(blocking(&s, move |e| e.validate(&sql)).await?.valid)
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
pub(super) async fn list_feedback(State(s): St, Caller(p): Caller) -> Result<Response, Problem> {
    p.require(Scope::Query)?;
    // A file read: off the async runtime, as the audit search is.
    let path = s.feedback.path().to_path_buf();
    let all: Vec<FeedbackEntry> =
        tokio::task::spawn_blocking(move || crate::audit::read_all(&path))
            .await
            .map_err(|e| Problem::internal(e.to_string()))?
            .map_err(|e| Problem::internal(e.to_string()))?;
    let mine: Vec<FeedbackEntry> = all.into_iter().filter(|f| f.tenant == p.tenant).collect();
    Ok(Json(mine).into_response())
}

#[utoipa::path(get, path = "/v1/sessions", tag = "sessions",
    responses((status = 200, description = "The tenant's sessions", body = Object), (status = 401, body = Problem)),
    security(("api_key" = []), ("bearer" = [])))]
pub(super) async fn sessions(State(s): St, Caller(p): Caller) -> Result<Response, Problem> {
    p.require(Scope::Query)?;
    let tenant = p.tenant.clone();
    Ok(Json(blocking(&s, move |e| e.sessions(&tenant)).await?).into_response())
}

#[utoipa::path(get, path = "/v1/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    responses((status = 200, body = Object), (status = 404, body = Problem)),
    security(("api_key" = []), ("bearer" = [])))]
pub(super) async fn session(
    State(s): St,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    p.require(Scope::Query)?;
    let tenant = p.tenant.clone();
    let found = blocking(&s, move |e| e.session(&id, &tenant)).await?;
    match found {
        Some(sess) => Ok(Json(sess).into_response()),
        None => Err(Problem::not_found("no such session for this tenant")),
    }
}

#[utoipa::path(delete, path = "/v1/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "Session id")),
    responses((status = 204), (status = 404, body = Problem)),
    security(("api_key" = []), ("bearer" = [])))]
pub(super) async fn delete_session(
    State(s): St,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    p.require(Scope::Query)?;
    let tenant = p.tenant.clone();
    if blocking(&s, move |e| e.delete_session(&id, &tenant)).await? {
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
pub(super) async fn audit_log(
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
