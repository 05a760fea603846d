use anyhow::{bail, Context};
use glrl_config::Config;
use glrl_erp::{generate, DemoConfig, SCHEMA_SQL};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// Write a SQLite database to this file. Default: the embedded demo database under $GLRL_HOME.
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
    /// Load the demo rows into PostgreSQL instead (replacing the target schema's contents).
    #[arg(long, value_name = "URL", conflicts_with = "out")]
    postgres: Option<String>,
    /// PostgreSQL schema to load into [default: from config, glrl_demo].
    #[arg(long, value_name = "NAME", requires = "postgres")]
    pg_schema: Option<String>,
    /// Random seed [default: from config, 42].
    #[arg(long)]
    seed: Option<u64>,
    /// Overwrite an existing SQLite file.
    #[arg(long)]
    force: bool,
}

/// Writes the demo SQLite database; returns a one-line summary of the rows.
pub fn write_demo(path: &Path, seed: u64) -> anyhow::Result<String> {
    let data = generate(&DemoConfig {
        seed,
        ..DemoConfig::default()
    });
    glrl_db::load::write_sqlite(path, SCHEMA_SQL, &data)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(summary(&data))
}

fn summary(data: &[glrl_db::load::TableData]) -> String {
    data.iter()
        .map(|t| format!("{} {}", t.table, t.rows.len()))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn run(config: &Config, args: Args) -> anyhow::Result<()> {
    let seed = args.seed.unwrap_or(config.demo.seed);
    if let Some(url) = &args.postgres {
        let schema = args
            .pg_schema
            .unwrap_or_else(|| config.demo.pg_schema.clone());
        let data = generate(&DemoConfig {
            seed,
            ..DemoConfig::default()
        });
        glrl_db::load::load_postgres(url, &schema, SCHEMA_SQL, &data)?;
        println!(
            "loaded the demo data (seed {seed}) into PostgreSQL schema {schema}: {}",
            summary(&data)
        );
        return Ok(());
    }
    let path = args.out.unwrap_or_else(|| config.demo_db_path());
    if path.exists() && !args.force {
        bail!(
            "{} already exists; pass --force to replace it",
            path.display()
        );
    }
    let summary = write_demo(&path, seed)?;
    println!("wrote {} (seed {seed}): {summary}", path.display());
    Ok(())
}
