//! SQL and schema routes: validate, execute (read-only), the schema and
//! linking of a question to it.

use super::{audit, blocking, check_question_length, request_id, ApiJson, Caller, St, MAX_SQL};
use crate::audit::{now_ms, AuditEntry};
use crate::auth::Scope;
use crate::problem::Problem;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct SqlRequest {
    pub sql: String,
}

pub(super) fn check_sql(sql: &str) -> Result<(), Problem> {
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
pub(super) async fn validate(
    State(s): St,
    Caller(p): Caller,
    ApiJson(req): ApiJson<SqlRequest>,
) -> Result<Response, Problem> {
    p.require(Scope::Sql)?;
    check_sql(&req.sql)?;
    let report = blocking(&s, move |e| e.validate(&req.sql)).await?;
    s.metrics.validation(report.valid);
    Ok(Json(report).into_response())
}

/// Validates, then runs read-only with the server's time and row limits.
#[utoipa::path(post, path = "/v1/sql/execute", tag = "sql", request_body = SqlRequest,
    responses((status = 200, description = "The report and the result set", body = Object),
        (status = 422, description = "Did not validate; the report is in `report`", body = Problem),
        (status = 401, body = Problem), (status = 429, body = Problem)),
    security(("api_key" = []), ("bearer" = [])))]
pub(super) async fn execute(
    State(s): St,
    Caller(p): Caller,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SqlRequest>,
) -> Result<Response, Problem> {
    p.require(Scope::Sql)?;
    check_sql(&req.sql)?;
    let sql = req.sql.clone();
    let out = blocking(&s, move |e| e.execute(&sql)).await;
    let (valid, rows, outcome) = match &out {
        Ok(e) => (Some(true), Some(e.result.rows.len()), "ok".to_string()),
        Err(p) if p.code == "SQL_INVALID" => (Some(false), None, "invalid".into()),
        Err(p) => (None, None, p.code.to_lowercase()),
    };
    if let Some(v) = valid {
        s.metrics.validation(v);
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
pub(super) async fn schema(State(s): St, Caller(p): Caller) -> Result<Response, Problem> {
    p.require(Scope::Query)?;
    Ok(Json(blocking(&s, move |e| e.schema()).await?).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LinkRequest {
    pub question: String,
}

/// Schema linking: the tables, columns, values and glossary terms a question names.
#[utoipa::path(post, path = "/v1/schema/link", tag = "schema", request_body = LinkRequest,
    responses((status = 200, body = Object), (status = 401, body = Problem)),
    security(("api_key" = []), ("bearer" = [])))]
pub(super) async fn link(
    State(s): St,
    Caller(p): Caller,
    ApiJson(req): ApiJson<LinkRequest>,
) -> Result<Response, Problem> {
    p.require(Scope::Query)?;
    check_question_length(&req.question)?;
    Ok(Json(blocking(&s, move |e| e.link(&req.question)).await?).into_response())
}
