//! `glrl ask` and `glrl chat`: questions through the whole pipeline.

use crate::output;
use crate::pipeline::{with_orchestrator, PipelineFlags};
use glrl_config::Config;
use glrl_orchestrator::{Answer, Orchestrator, Question, Status};
use std::io::{BufRead, Write};

#[derive(clap::Args)]
pub struct AskArgs {
    /// The question, in plain language.
    question: String,
    /// Continue a session (its id is printed with every answer).
    #[arg(long, value_name = "ID")]
    session: Option<String>,
    /// Print the answer as JSON.
    #[arg(long)]
    json: bool,
    /// Also show every candidate, its reasoning and why it won or lost.
    #[arg(long)]
    explain: bool,
    #[command(flatten)]
    flags: PipelineFlags,
}

#[derive(clap::Args)]
pub struct ChatArgs {
    /// Continue a session instead of starting one.
    #[arg(long, value_name = "ID")]
    session: Option<String>,
    #[arg(long)]
    explain: bool,
    #[command(flatten)]
    flags: PipelineFlags,
}

pub fn ask(config: &Config, args: AskArgs) -> anyhow::Result<()> {
    with_orchestrator(config, &args.flags, |o| {
        let a = o.ask(&Question {
            text: args.question.clone(),
            session: args.session.clone(),
            ..Question::default()
        });
        if args.json {
            println!("{}", serde_json::to_string_pretty(&a)?);
        } else {
            print!("{}", render(&a, args.explain));
        }
        if a.status == Status::Error {
            anyhow::bail!("{}", a.error.as_ref().map_or("failed", |e| e.code));
        }
        Ok(())
    })
}

pub fn chat(config: &Config, args: ChatArgs) -> anyhow::Result<()> {
    with_orchestrator(config, &args.flags, |o| {
        chat_loop(o, args.session, args.explain)
    })
}

fn chat_loop(o: &Orchestrator, mut session: Option<String>, explain: bool) -> anyhow::Result<()> {
    eprintln!("Ask about the data; follow-ups refine the last answer. /new starts over, /history lists this session, /quit ends.");
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        eprint!("> ");
        std::io::stderr().flush()?;
        let Some(line) = lines.next() else {
            break;
        };
        let line = line?;
        let q = line.trim();
        match q {
            "" => continue,
            "/quit" | "/exit" => break,
            "/new" => {
                session = None;
                eprintln!("new session");
                continue;
            }
            "/history" => {
                if let Some(id) = &session {
                    if let Some(s) = o.sessions.get(id, None)? {
                        for (i, t) in s.turns.iter().enumerate() {
                            println!("{}. {}\n   {}", i + 1, t.question, t.sql);
                        }
                    }
                }
                continue;
            }
            _ => {}
        }
        let a = o.ask(&Question {
            text: q.to_string(),
            session: session.clone(),
            ..Question::default()
        });
        if a.session.is_some() && a.status != Status::Error {
            session = a.session.clone();
        }
        print!("{}", render(&a, explain));
    }
    Ok(())
}

/// The answer for a terminal.
pub fn render(a: &Answer, explain: bool) -> String {
    let mut s = String::new();
    match a.status {
        Status::Answered | Status::Unsure => {
            if let Some(sql) = &a.sql {
                s.push_str(&format!("SQL:\n{}\n\n", indent(sql)));
            }
            if let Some(e) = &a.explanation {
                s.push_str(&format!("{e}\n\n"));
            }
            if let Some(rs) = &a.result {
                s.push_str(&output::table(rs));
            }
            if a.status == Status::Unsure {
                s.push_str(&format!("{}\n", a.message));
            }
            s.push_str(&format!(
                "confidence {:.2} · tables {} · {} repair round(s)\n",
                a.confidence.unwrap_or(0.0),
                a.tables.join(", "),
                a.repairs
            ));
            for w in &a.warnings {
                s.push_str(&format!("warning: {w}\n"));
            }
        }
        _ => s.push_str(&format!("{}\n", a.message)),
    }
    if explain {
        for c in &a.candidates {
            s.push_str(&format!(
                "\ncandidate {} — {} · reward {:.2} · mean log-prob {:.2}{}\n",
                c.index + 1,
                if c.valid { "valid" } else { "rejected" },
                c.reward,
                c.mean_logprob,
                c.group
                    .map(|g| format!(" · result group {}", g + 1))
                    .unwrap_or_default()
            ));
            if let Some(r) = &c.reasoning {
                s.push_str(&format!("  reasoning: {r}\n"));
            }
            s.push_str(&format!("  sql: {}\n", c.sql));
            for e in &c.errors {
                s.push_str(&format!("  error: {e}\n"));
            }
        }
    }
    let stages: Vec<String> = a
        .timings
        .iter()
        .map(|t| format!("{} {:.1} ms", t.stage, t.ms))
        .collect();
    s.push_str(&format!(
        "session {} · {} · total {:.2} s (model {:.2} s, database {:.1} ms, other {:.1} ms)\n",
        a.session.as_deref().unwrap_or("-"),
        stages.join(" · "),
        a.total_ms / 1e3,
        a.model_ms / 1e3,
        a.database_ms,
        a.overhead_ms
    ));
    s
}

fn indent(sql: &str) -> String {
    sql.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
