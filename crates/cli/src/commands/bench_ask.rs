//! `glrl bench ask`: the whole pipeline, as `glrl ask` runs it, on the
//! first N ERP dev questions (each in a session of its own).

use super::eval::{generate, pipeline_report, score};
use crate::pipeline::PipelineFlags;
use glrl_config::Config;
use glrl_dataset::{parse_jsonl, Pair};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Dev questions to ask.
    #[arg(long, default_value_t = 40)]
    limit: usize,
    #[command(flatten)]
    flags: PipelineFlags,
    /// Also write the results as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

pub fn run(config: &Config, args: Args) -> anyhow::Result<()> {
    let mut pairs: Vec<Pair> = parse_jsonl(glrl_erp::DEV_JSONL, "the ERP dev split")?;
    pairs.truncate(args.limit);
    // Sessions are written to a file as `glrl ask` writes them (the
    // writing is part of what a question costs), but not to the user's.
    let dir = tempfile::tempdir()?;
    let mut config = config.clone();
    config.orchestrator.sessions_db = dir.path().join("sessions.db").display().to_string();
    let (preds, run) = generate(&config, &args.flags, &pairs, &Default::default())?;
    let report = score(&config, &pairs, &preds)?;
    let p = pipeline_report(&run, &report.correct);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "glrl ask on {} dev questions ({} threads, candidates {}):",
        pairs.len(),
        threads,
        args.flags.candidates.unwrap_or(config.generator.candidates)
    );
    println!(
        "  latency p50 / p95 / mean   {:.0} / {:.0} / {:.0} ms",
        p.latency_p50_ms, p.latency_p95_ms, p.latency_mean_ms
    );
    println!(
        "  throughput                 {:.1} questions/min",
        p.questions_per_minute
    );
    println!(
        "  orchestration overhead     p50 {:.3} ms, mean {:.3} ms",
        p.p50_overhead_ms, p.mean_overhead_ms
    );
    let stages: Vec<String> = p
        .stage_mean_ms
        .iter()
        .map(|(s, ms)| format!("{s} {ms:.3}"))
        .collect();
    println!("    stages, mean ms          {}", stages.join(", "));
    println!(
        "    of which database        {:.3} ms mean",
        p.mean_database_ms
    );
    println!(
        "  execution accuracy         {:.3}",
        report.execution_accuracy
    );
    println!("  abstention rate            {:.3}", p.abstention_rate);
    if let Some(path) = &args.json {
        std::fs::write(
            path,
            serde_json::to_string_pretty(&serde_json::json!({
                "questions": pairs.len(),
                "threads": threads,
                "pipeline": p,
                "execution_accuracy": report.execution_accuracy,
            }))?,
        )?;
    }
    Ok(())
}
