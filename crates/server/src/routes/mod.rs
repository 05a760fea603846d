//! The HTTP API: the authentication extractor, problem-document bodies,
//! the router, and the OpenAPI document built from the handlers in the
//! submodules.

mod ops;
mod query;
mod records;
mod sql;

pub use records::{FeedbackEntry, Rating};

use crate::audit::AuditEntry;
use crate::auth::Principal;
use crate::problem::Problem;
use crate::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::{header, request::Parts, HeaderMap};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

type St = State<Arc<AppState>>;

const MAX_QUESTION: usize = 2_000;
pub(crate) const MAX_SQL: usize = 20_000;
pub(crate) const MAX_CANDIDATES: usize = 20;

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

/// Questions (to answer or to link) are bounded in length.
pub(crate) fn check_question_length(q: &str) -> Result<(), Problem> {
    if q.chars().count() > MAX_QUESTION {
        return Err(Problem::bad_request(
            "QUESTION_TOO_LONG",
            format!("questions are limited to {MAX_QUESTION} characters"),
        ));
    }
    Ok(())
}

pub(crate) fn request_id(h: &HeaderMap) -> String {
    h.get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// Runs an engine call on the blocking pool (the agents are synchronous
/// and CPU-bound).
pub(crate) async fn blocking<T: Send + 'static>(
    s: &AppState,
    f: impl FnOnce(&dyn crate::Engine) -> Result<T, crate::EngineError> + Send + 'static,
) -> Result<T, Problem> {
    let engine = s.engine.clone();
    tokio::task::spawn_blocking(move || f(engine.as_ref()))
        .await
        .map_err(|e| Problem::internal(format!("worker failed: {e}")))?
        .map_err(Problem::from)
}

pub(crate) async fn audit(s: &AppState, e: AuditEntry) -> Result<(), Problem> {
    s.audit.append(&e).await.map_err(|err| {
        tracing::error!(error = %err, "audit log write failed; request not acknowledged");
        Problem::internal("the audit log could not be written; the request was not acknowledged")
    })
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
    paths(query::query, query::query_stream, sql::validate, sql::execute, sql::schema, sql::link, records::feedback,
        records::list_feedback, records::sessions, records::session, records::delete_session,
        records::audit_log, ops::healthz, ops::readyz, ops::metrics),
    components(schemas(Problem, query::QueryRequest, query::QueryResponse, sql::SqlRequest,
        sql::LinkRequest, records::FeedbackRequest, FeedbackEntry, Rating, AuditEntry)),
    modifiers(&Security)
)]
pub struct ApiDoc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/query", post(query::query))
        .route("/v1/query/stream", post(query::query_stream))
        .route("/v1/sql/validate", post(sql::validate))
        .route("/v1/sql/execute", post(sql::execute))
        .route("/v1/schema", get(sql::schema))
        .route("/v1/schema/link", post(sql::link))
        .route(
            "/v1/feedback",
            post(records::feedback).get(records::list_feedback),
        )
        .route("/v1/sessions", get(records::sessions))
        .route(
            "/v1/sessions/{id}",
            get(records::session).delete(records::delete_session),
        )
        .route("/v1/audit", get(records::audit_log))
        .route("/", get(ops::ui))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .merge(SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()))
}
