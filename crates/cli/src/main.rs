//! `glrl`: the command line over GL-RL's agents. A thin layer: it parses
//! flags, loads the configuration, calls the library crates and prints.

mod adapter;
mod alloc;
mod commands;
mod context;
mod engine;
mod output;
mod pipeline;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

// mimalloc for the pipeline's small blocks, glibc for tensors (alloc.rs;
// docs/BENCHMARKS.md, twenty-first session).
#[global_allocator]
static GLOBAL: alloc::Split = alloc::Split;

#[derive(Parser)]
#[command(
    name = "glrl",
    version,
    about = "Ask questions of a financial ERP database in plain language; get safe, validated, read-only SQL and answers."
)]
struct Cli {
    /// Configuration file (TOML). Default: $GLRL_CONFIG, ./glrl.toml, then $GLRL_HOME/config.toml when present.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database: a SQLite file or postgres://user@host/db[?schema=NAME]. Default: the embedded demo database.
    #[arg(long, global = true, value_name = "PATH|URL")]
    db: Option<String>,
    /// More logging (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Ask a question: SQL generated, validated and run read-only, with the answer explained.
    Ask(commands::ask::AskArgs),
    /// An interactive session: questions and follow-ups in the terminal.
    Chat(commands::ask::ChatArgs),
    /// Batch questions (JSONL in) to predictions (JSONL out) through the pipeline.
    Generate(commands::generate::Args),
    /// Show the effective configuration.
    Config {
        #[command(subcommand)]
        action: commands::config::Action,
    },
    /// Create the ERP demo database (deterministic: the same seed gives the same rows).
    DemoDb(commands::demo::Args),
    /// Run one SQL query read-only and print the result.
    Sql(commands::sql::Args),
    /// Show the schema model, or link a question to it (Schema Analyzer).
    Schema(commands::schema::Args),
    /// Check SQL through the five validator layers: syntax, schema, business, performance, security.
    Validate(commands::validate::Args),
    /// Score predictions (or, with --generate, the whole pipeline) against a data set.
    Eval(commands::eval::Args),
    /// The language model: fetch the embedded one, show what a model file holds.
    Model {
        #[command(subcommand)]
        action: commands::model::Action,
    },
    /// Train the model: LoRA supervised fine-tuning, GRPO, checkpoint selection, TRL export.
    Train {
        #[command(subcommand)]
        action: commands::train::Action,
    },
    /// Benchmarks on the real code paths, with the peer in the same run.
    Bench {
        #[command(subcommand)]
        action: commands::bench::Action,
    },
    /// The HTTP gateway: API (OpenAPI at /openapi.json, Swagger UI at /docs), auth, rate
    /// limits, answer cache, metrics, audit log.
    Serve(commands::serve::Args),
    /// Search the gateway's audit log.
    Audit(commands::audit::AuditArgs),
    /// Users' feedback from the gateway.
    Feedback {
        #[command(subcommand)]
        action: commands::audit::FeedbackAction,
    },
    /// Training data tools.
    Data {
        #[command(subcommand)]
        action: commands::data::Action,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = glrl_config::Config::load(cli.config.as_deref())?;
    // Before any thread pool starts: its threads inherit the setting.
    if config.model.flush_denormals {
        glrl_model::flush_denormals();
    }
    if let Some(db) = &cli.db {
        config.database.url = db.clone();
    }
    let _telemetry = context::init_logging(&config, cli.verbose);
    match cli.command {
        Command::Ask(args) => commands::ask::ask(&config, args),
        Command::Chat(args) => commands::ask::chat(&config, args),
        Command::Generate(args) => commands::generate::run(&config, args),
        Command::Config { action } => commands::config::run(&config, action),
        Command::DemoDb(args) => commands::demo::run(&config, args),
        Command::Sql(args) => commands::sql::run(&config, args),
        Command::Schema(args) => commands::schema::run(&config, args),
        Command::Validate(args) => commands::validate::run(&config, args),
        Command::Eval(args) => commands::eval::run(&config, args),
        Command::Data { action } => commands::data::run(&config, action),
        Command::Model { action } => commands::model::run(&config, action),
        Command::Bench { action } => commands::bench::run(&config, action),
        Command::Train { action } => commands::train::run(&config, action),
        Command::Serve(args) => commands::serve::run(&config, args),
        Command::Audit(args) => commands::audit::audit(&config, args),
        Command::Feedback { action } => commands::audit::feedback(&config, action),
    }
}
