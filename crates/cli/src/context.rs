//! What several commands share: logging, opening the configured database
//! (creating the embedded demo one on first use) and building the analyzer.

use anyhow::Context;
use glrl_config::Config;
use glrl_db::{Database, ExecOptions};
use glrl_schema_analyzer::{Glossary, SchemaAnalyzer};
use glrl_validator::Validator;

/// Keeps the trace exporter alive; dropping it flushes the spans not yet
/// sent.
pub struct Telemetry(Option<opentelemetry_sdk::trace::SdkTracerProvider>);

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = p.shutdown();
        }
    }
}

/// Logs to stderr (text or JSON lines, at `log.level`) and, when
/// `log.otlp_endpoint` is set, traces over OTLP/HTTP: the request, the
/// question and one span per pipeline stage, at info level whatever the
/// log level.
pub fn init_logging(config: &Config, verbose: u8) -> Telemetry {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let level = match verbose {
        0 => config.log.level.clone(),
        1 => "info".into(),
        _ => "debug".into(),
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let fmt = if config.log.json {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed()
    };
    let (otel, provider) = match otlp(&config.log.otlp_endpoint) {
        Ok(Some(provider)) => {
            use opentelemetry::trace::TracerProvider as _;
            let layer = tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("glrl"))
                .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
            (Some(layer), Some(provider))
        }
        Ok(None) => (None, None),
        Err(e) => {
            eprintln!("warning: traces are not exported: {e:#}");
            (None, None)
        }
    };
    // A second initialisation (tests) is harmless; ignore it.
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(otel)
        .try_init();
    Telemetry(provider)
}

fn otlp(endpoint: &str) -> anyhow::Result<Option<opentelemetry_sdk::trace::SdkTracerProvider>> {
    use opentelemetry_otlp::WithExportConfig;
    if endpoint.is_empty() {
        return Ok(None);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .build()
        .with_context(|| format!("OTLP exporter for {endpoint}"))?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("glrl")
        .build();
    Ok(Some(
        opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build(),
    ))
}

/// The database location to use: the configured one, or the demo database.
pub fn db_spec(config: &Config) -> anyhow::Result<String> {
    if !config.database.url.is_empty() {
        return Ok(config.database.url.clone());
    }
    let path = config.demo_db_path();
    if !path.exists() {
        eprintln!(
            "creating the demo database at {} (first use)",
            path.display()
        );
        crate::commands::demo::write_demo(&path, config.demo.seed)?;
    }
    Ok(path.display().to_string())
}

pub fn open_db(config: &Config) -> anyhow::Result<Box<dyn Database>> {
    let spec = db_spec(config)?;
    glrl_db::connect(&spec).with_context(|| format!("opening {spec}"))
}

pub fn glossary(config: &Config) -> anyhow::Result<Glossary> {
    let mut g = if config.schema.erp_glossary {
        Glossary::from_toml(glrl_erp::GLOSSARY_TOML, "the ERP glossary")?
    } else {
        Glossary::default()
    };
    for path in &config.schema.glossary {
        g.extend(Glossary::from_file(path)?);
    }
    Ok(g)
}

pub fn analyzer(config: &Config, db: &dyn Database) -> anyhow::Result<SchemaAnalyzer> {
    let a = SchemaAnalyzer::from_database(db, glossary(config)?, config.schema.max_distinct_values)
        .with_context(|| format!("analysing the schema of {}", db.describe()))?;
    for dropped in a.dropped_glossary_entries() {
        tracing::info!("glossary {dropped} does not apply to this schema");
    }
    Ok(a)
}

/// The full five-layer Validator with the configured business rules,
/// planning against `db`.
pub fn validator<'a>(
    config: &Config,
    analyzer: &'a SchemaAnalyzer,
    db: &'a dyn Database,
) -> anyhow::Result<Validator<'a>> {
    Ok(Validator::new(analyzer, db.dialect())
        .with_rules(crate::commands::validate::rules(config)?)
        .with_database(db))
}

/// The configured limits of a read-only query.
pub fn exec_options(config: &Config) -> ExecOptions {
    ExecOptions {
        timeout: std::time::Duration::from_millis(config.database.statement_timeout_ms),
        max_rows: config.database.max_rows,
    }
}
