//! `glrl generate`: batch questions through the pipeline, one JSON line
//! out per line in, same order; a failing question yields `"sql": null`
//! and an `error`, never a crash.

use crate::pipeline::{with_orchestrator, PipelineFlags};
use anyhow::Context;
use glrl_config::Config;
use glrl_orchestrator::{Answer, Orchestrator, Question, Status};
use serde::Deserialize;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Questions, one JSON object per line: {"id": …, "question": "…"}.
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// Predictions: {"id", "sql", "confidence", "abstained", "latency_ms"} per line.
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
    #[command(flatten)]
    flags: PipelineFlags,
}

#[derive(Deserialize)]
struct Input {
    id: serde_json::Value,
    question: String,
}

/// A progress bar with the running mean latency.
pub fn progress(len: usize, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{what} {{bar:30}} {{pos}}/{{len}} {{msg}} [{{elapsed_precise}} < {{eta_precise}}]"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// One question through the pipeline in a session of its own.
pub fn ask_alone(o: &Orchestrator, question: &str) -> Answer {
    o.ask(&Question {
        text: question.to_string(),
        ..Question::default()
    })
}

pub fn run(config: &Config, args: Args) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.input)
        .with_context(|| format!("reading {}", args.input.display()))?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut config = config.clone();
    // Batch questions are independent: no session file.
    config.orchestrator.sessions_db = "-".into();
    let tmp = args.output.with_extension("partial");
    with_orchestrator(&config, &args.flags, |o| {
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?,
        );
        let bar = progress(lines.len(), "generating");
        for (n, line) in lines.iter().enumerate() {
            let record = match serde_json::from_str::<Input>(line) {
                Err(e) => json!({
                    "id": serde_json::from_str::<serde_json::Value>(line)
                        .ok()
                        .and_then(|v| v.get("id").cloned()),
                    "sql": null,
                    "confidence": null,
                    "abstained": true,
                    "latency_ms": 0.0,
                    "error": format!("line {}: {e}", n + 1),
                }),
                Ok(input) => {
                    let a = ask_alone(o, &input.question);
                    let mut r = json!({
                        "id": input.id,
                        "sql": a.raw_sql,
                        "confidence": a.confidence,
                        "abstained": a.raw_sql.is_none(),
                        "latency_ms": a.total_ms,
                        "status": a.status,
                    });
                    if let Some(e) = &a.error {
                        r["error"] = json!(format!("{}: {}", e.code, e.message));
                    } else if a.status != Status::Answered && a.status != Status::Unsure {
                        r["error"] = json!(a.message);
                    }
                    r
                }
            };
            writeln!(out, "{record}")?;
            bar.inc(1);
        }
        out.flush()?;
        bar.finish();
        Ok(())
    })?;
    std::fs::rename(&tmp, &args.output)
        .with_context(|| format!("writing {}", args.output.display()))?;
    eprintln!(
        "{} predictions written to {}",
        lines.len(),
        args.output.display()
    );
    Ok(())
}
