//! `glrl serve`: the HTTP gateway over the agents.

use crate::engine::PipelineEngine;
use crate::pipeline;
use anyhow::Context;
use glrl_config::Config;
use glrl_server::audit::JsonlLog;
use glrl_server::auth::{hash_key, ApiKey, Authenticator, JwtKey, Scope};
use glrl_server::cache::{AnswerCache, CacheSettings};
use glrl_server::limit::Limiter;
use glrl_server::{AppState, Settings};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on [default: server.bind, 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    bind: Option<String>,
    /// Print the SHA-256 digest of KEY (for server.api_keys in the config) and exit.
    #[arg(long, value_name = "KEY")]
    hash_key: Option<String>,
}

/// `home/NAME` unless the configuration names a path.
pub fn log_path(config: &Config, configured: &str, name: &str) -> PathBuf {
    if configured.is_empty() {
        config.home.join(name)
    } else {
        PathBuf::from(configured)
    }
}

fn authenticator(config: &Config) -> anyhow::Result<Authenticator> {
    let s = &config.server;
    let mut auth = Authenticator::new();
    for k in &s.api_keys {
        let scopes: Option<Vec<Scope>> = k.scopes.iter().map(|x| Scope::parse(x)).collect();
        let scopes = scopes.with_context(|| {
            format!("server.api_keys '{}': scopes are query, sql, audit", k.name)
        })?;
        auth.add_hashed(
            &k.sha256,
            ApiKey {
                name: k.name.clone(),
                tenant: k.tenant.clone(),
                scopes,
            },
        );
    }
    if let Ok(spec) = std::env::var("GLRL_API_KEYS") {
        let n = auth
            .add_bootstrap(&spec)
            .map_err(|e| anyhow::anyhow!("GLRL_API_KEYS: {e}"))?;
        tracing::info!(keys = n, "API keys bootstrapped from GLRL_API_KEYS");
    }
    let audience = (!s.jwt_audience.is_empty()).then_some(s.jwt_audience.as_str());
    if !s.jwt_public_key.is_empty() {
        let pem = std::fs::read(&s.jwt_public_key)
            .with_context(|| format!("server.jwt_public_key {}", s.jwt_public_key))?;
        auth = auth
            .with_jwt(JwtKey::Rs256(pem), audience)
            .map_err(anyhow::Error::msg)?;
    } else if !s.jwt_secret.is_empty() {
        anyhow::ensure!(
            s.jwt_secret.len() >= 32,
            "server.jwt_secret must be at least 32 bytes"
        );
        auth = auth
            .with_jwt(JwtKey::Hs256(s.jwt_secret.clone().into_bytes()), audience)
            .map_err(anyhow::Error::msg)?;
    }
    anyhow::ensure!(
        !auth.is_empty(),
        "no credentials configured: every API route needs one. Set GLRL_API_KEYS=TENANT:KEY \
         (keys of 16+ characters) for a first start, server.api_keys (digests from \
         `glrl serve --hash-key KEY`), or server.jwt_secret"
    );
    Ok(auth)
}

/// The name requests may use for the served database: `demo`, or the
/// file stem / database name of the configured URL (never its
/// credentials).
pub fn database_name(config: &Config) -> String {
    let url = &config.database.url;
    if url.is_empty() {
        return "demo".into();
    }
    let path = url.split('?').next().unwrap_or(url);
    let last = path.rsplit('/').next().unwrap_or(path);
    std::path::Path::new(last)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| last.to_string())
}

pub fn run(config: &Config, args: Args) -> anyhow::Result<()> {
    if let Some(k) = args.hash_key {
        println!("{}", hash_key(&k));
        return Ok(());
    }
    let s = &config.server;
    let bind = args.bind.unwrap_or_else(|| s.bind.clone());
    let auth = authenticator(config)?;
    let engine = PipelineEngine::start(config, pipeline::sessions(config)?)?;
    let cache = AnswerCache::new(CacheSettings {
        l1_entries: s.cache_entries,
        ttl: Duration::from_secs(s.cache_ttl_s),
        redis_url: (!s.redis_url.is_empty()).then(|| s.redis_url.clone()),
        object_store_dir: (!s.object_store_dir.is_empty())
            .then(|| s.object_store_dir.clone().into()),
        ..CacheSettings::default()
    })
    .map_err(anyhow::Error::msg)?;
    let audit = log_path(config, &s.audit_log, "audit.jsonl");
    let feedback = log_path(config, &s.feedback_log, "feedback.jsonl");
    let state = AppState::new(
        Arc::new(engine),
        auth,
        Limiter::new(s.rate_limit_rps, s.rate_limit_burst),
        cache,
        JsonlLog::open(&audit).with_context(|| format!("audit log {}", audit.display()))?,
        JsonlLog::open(&feedback)
            .with_context(|| format!("feedback log {}", feedback.display()))?,
        Settings {
            database: database_name(config),
            default_candidates: config.generator.candidates,
            request_timeout: Duration::from_secs(s.request_timeout_s),
            max_body_bytes: s.max_body_bytes,
            cors_origins: s.cors_origins.clone(),
        },
    )
    .map_err(anyhow::Error::msg)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&bind)
            .await
            .with_context(|| format!("cannot listen on {bind}"))?;
        let addr = listener.local_addr()?;
        // Scripts and tests wait for this line (the port may have been 0).
        println!("listening on http://{addr}");
        eprintln!(
            "glrl serve: http://{addr} (API docs at /docs; audit log {})",
            audit.display()
        );
        glrl_server::serve(listener, Arc::new(state), glrl_server::shutdown_signal()).await?;
        anyhow::Ok(())
    })
}
