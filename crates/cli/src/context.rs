//! What several commands share: logging, opening the configured database
//! (creating the embedded demo one on first use) and building the analyzer.

use anyhow::Context;
use glrl_config::Config;
use glrl_db::Database;
use glrl_schema_analyzer::{Glossary, SchemaAnalyzer};

pub fn init_logging(config: &Config, verbose: u8) {
    let level = match verbose {
        0 => config.log.level.clone(),
        1 => "info".into(),
        _ => "debug".into(),
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (tests) is harmless; ignore it.
    let _ = if config.log.json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
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
