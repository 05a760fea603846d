//! Health, readiness and metrics (unauthenticated, for probes and
//! scrapers) and the web UI's page (which asks for a key itself).

use super::St;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Object)))]
pub(super) async fn healthz() -> Response {
    Json(serde_json::json!({"status": "ok"})).into_response()
}

/// Ready when the model is loaded and the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Object), (status = 503, body = Object)))]
pub(super) async fn readyz(State(s): St) -> Response {
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
pub(super) async fn metrics(State(s): St) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
        .into_response()
}

/// The web UI: one self-contained page; it calls the API with the key the
/// user enters.
pub(super) async fn ui() -> Html<&'static str> {
    Html(include_str!("../../ui/index.html"))
}
