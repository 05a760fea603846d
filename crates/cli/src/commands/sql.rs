use crate::output::{self, Format};
use glrl_config::Config;
use glrl_db::ExecOptions;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// One SQL statement. It runs read-only: writes are refused by the connection itself.
    sql: String,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Stop after this many rows [default: from config, 1000].
    #[arg(long)]
    max_rows: Option<usize>,
    /// Statement timeout in milliseconds [default: from config, 10000].
    #[arg(long)]
    timeout_ms: Option<u64>,
}

pub fn run(config: &Config, args: Args) -> anyhow::Result<()> {
    let db = crate::context::open_db(config)?;
    let opts = ExecOptions {
        timeout: Duration::from_millis(
            args.timeout_ms
                .unwrap_or(config.database.statement_timeout_ms),
        ),
        max_rows: args.max_rows.unwrap_or(config.database.max_rows),
    };
    let rs = db.query(&args.sql, &opts)?;
    match args.format {
        Format::Table => print!("{}", output::table(&rs)),
        Format::Json => println!("{}", output::json(&rs)?),
        Format::Csv => print!("{}", output::csv(&rs)?),
    }
    Ok(())
}
