//! The API gateway (`glrl serve`): the HTTP API in front of the agents —
//! authentication (API keys, JWT), per-credential rate limits, the answer
//! cache (L1 moka, L2 Redis), Prometheus metrics, request ids and traces,
//! the durable audit log, feedback, OpenAPI and Swagger UI. It knows the
//! agents only through [`Engine`], which the binary implements.

// Handlers return `Result<_, Problem>`; a problem document is built only on
// the error path of a request, where its size costs nothing measurable.
#![allow(clippy::result_large_err)]

pub mod audit;
pub mod auth;
pub mod cache;
pub mod engine;
pub mod limit;
pub mod metrics;
pub mod problem;
mod routes;

pub use engine::{Engine, EngineError, Executed, Readiness};
pub use routes::{ApiDoc, FeedbackEntry, Rating};

use audit::JsonlLog;
use auth::Authenticator;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use cache::AnswerCache;
use limit::Limiter;
use metrics::Metrics;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub struct Settings {
    /// Name of the database this server answers on (requests may name it).
    pub database: String,
    pub default_candidates: usize,
    pub request_timeout: Duration,
    pub max_body_bytes: usize,
    pub cors_origins: Vec<String>,
}

/// A query recently answered, for feedback that refers to it by id.
#[derive(Clone)]
pub struct Recent {
    pub tenant: String,
    pub question: String,
    pub sql: Option<String>,
}

pub struct AppState {
    pub engine: Arc<dyn Engine>,
    pub auth: Authenticator,
    pub limiter: Option<Limiter>,
    pub cache: AnswerCache,
    pub metrics: Metrics,
    pub audit: JsonlLog,
    pub feedback: JsonlLog,
    pub recent: moka::sync::Cache<String, Recent>,
    pub settings: Settings,
}

impl AppState {
    pub fn new(
        engine: Arc<dyn Engine>,
        auth: Authenticator,
        limiter: Option<Limiter>,
        cache: AnswerCache,
        audit: JsonlLog,
        feedback: JsonlLog,
        settings: Settings,
    ) -> Result<AppState, String> {
        Ok(AppState {
            engine,
            auth,
            limiter,
            cache,
            metrics: Metrics::new().map_err(|e| e.to_string())?,
            audit,
            feedback,
            recent: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(Duration::from_secs(7 * 24 * 3600))
                .build(),
            settings,
        })
    }
}

/// Counts and times every request by its route template and status.
async fn observe(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let start = Instant::now();
    let res = next.run(req).await;
    let m = &state.metrics;
    m.requests
        .with_label_values(&[&route, res.status().as_str()])
        .inc();
    m.request_seconds
        .with_label_values(&[&route])
        .observe(start.elapsed().as_secs_f64());
    res
}

pub fn router(state: Arc<AppState>) -> Router {
    let mut app = routes::routes()
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            state.settings.max_body_bytes,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            state.settings.max_body_bytes,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::GATEWAY_TIMEOUT,
            state.settings.request_timeout,
        ));
    if !state.settings.cors_origins.is_empty() {
        let origins: Vec<_> = state
            .settings
            .cors_origins
            .iter()
            .filter_map(|o| o.parse().ok())
            .collect();
        app = app.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods(tower_http::cors::Any)
                .allow_headers(tower_http::cors::Any),
        );
    }
    // 5xx are counted in metrics; the log gets them at WARN, so a
    // not-yet-ready probe (503) is not reported as an error.
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!("request", method = %req.method(), uri = %req.uri(), request_id = %id)
        })
        .on_failure(tower_http::trace::DefaultOnFailure::new().level(tracing::Level::WARN));
    app.layer(trace)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Serves until `shutdown` resolves, then stops accepting and lets the
/// requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Ctrl-C or SIGTERM (what Kubernetes sends before killing a pod).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
