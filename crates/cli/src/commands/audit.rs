//! `glrl audit` (search the gateway's audit log) and `glrl feedback
//! export` (feedback as new training pairs).

use crate::commands::serve::log_path;
use glrl_config::Config;
use glrl_server::audit::{now_ms, read_all, search, AuditFilter};
use glrl_server::{FeedbackEntry, Rating};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct AuditArgs {
    #[arg(long)]
    tenant: Option<String>,
    /// Case-insensitive substring of the question or SQL.
    #[arg(long)]
    contains: Option<String>,
    /// `query` or `execute`.
    #[arg(long)]
    action: Option<String>,
    /// Only the last N minutes.
    #[arg(long, value_name = "MINUTES")]
    since: Option<u64>,
    /// The newest N entries.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn audit(config: &Config, a: AuditArgs) -> anyhow::Result<()> {
    let path = log_path(config, &config.server.audit_log, "audit.jsonl");
    let entries = search(
        &path,
        &AuditFilter {
            tenant: a.tenant,
            contains: a.contains,
            action: a.action,
            since_ms: a.since.map(|m| now_ms().saturating_sub(m * 60_000)),
            limit: Some(a.limit),
        },
    )?;
    let mut out = std::io::stdout().lock();
    if a.json {
        for e in &entries {
            writeln!(out, "{}", serde_json::to_string(e)?)?;
        }
        return Ok(());
    }
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_header([
        "time (UTC)",
        "tenant",
        "who",
        "action",
        "outcome",
        "rows",
        "question / SQL",
    ]);
    for e in &entries {
        let secs = (e.ts_ms / 1000) as i64;
        let when = chrono::DateTime::from_timestamp(secs, 0)
            .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        let what = e
            .question
            .clone()
            .or_else(|| e.sql.clone())
            .unwrap_or_default();
        t.add_row([
            when,
            e.tenant.clone(),
            e.principal.clone(),
            e.action.clone(),
            e.outcome.clone(),
            e.row_count.map(|n| n.to_string()).unwrap_or_default(),
            what,
        ]);
    }
    writeln!(out, "{t}\n{} entries ({})", entries.len(), path.display())?;
    Ok(())
}

#[derive(clap::Subcommand)]
pub enum FeedbackAction {
    /// Write feedback as training pairs (JSONL, the data set format): corrected SQL that
    /// validated, and answers rated up. Train on them with `glrl train sft --data FILE`.
    Export {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[arg(long)]
        tenant: Option<String>,
    },
}

pub fn feedback(config: &Config, action: FeedbackAction) -> anyhow::Result<()> {
    let FeedbackAction::Export { out, tenant } = action;
    let path = log_path(config, &config.server.feedback_log, "feedback.jsonl");
    let all: Vec<FeedbackEntry> = read_all(&path)?;
    let mut w = std::io::BufWriter::new(std::fs::File::create(&out)?);
    let (mut n, mut skipped) = (0usize, 0usize);
    for f in all
        .iter()
        .filter(|f| tenant.as_ref().is_none_or(|t| *t == f.tenant))
    {
        let sql = match (&f.corrected_sql, f.corrected_valid, f.rating, &f.sql) {
            (Some(c), Some(true), _, _) => c.clone(),
            (None, _, Rating::Up, Some(s)) => s.clone(),
            _ => {
                skipped += 1;
                continue;
            }
        };
        n += 1;
        let pair = glrl_dataset::Pair {
            id: format!("feedback-{}", f.id),
            question: f.question.clone(),
            sql,
            difficulty: "medium".into(),
            tables: Vec::new(),
            constructs: Vec::new(),
            reasoning: String::new(),
            follows: None,
        };
        writeln!(w, "{}", serde_json::to_string(&pair)?)?;
    }
    w.flush()?;
    eprintln!(
        "{n} pairs written to {} ({skipped} feedback entries without usable SQL skipped)",
        out.display()
    );
    Ok(())
}
