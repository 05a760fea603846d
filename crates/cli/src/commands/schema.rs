use anyhow::Context;
use glrl_catalog::{Dialect, Schema};
use glrl_config::Config;
use glrl_schema_analyzer::{approx_tokens, RenderOptions, SchemaAnalyzer};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Link this question to the schema: tables, columns, values, join path and glossary hits, with scores.
    #[arg(long, short)]
    question: Option<String>,
    /// Read the schema from a DDL file instead of a live database.
    #[arg(long, value_name = "FILE")]
    ddl: Option<PathBuf>,
    /// Dialect of the DDL file.
    #[arg(long, default_value = "sqlite", requires = "ddl")]
    dialect: Dialect,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// With --question: token budget of the rendered prompt schema [default: from config, 1024].
    #[arg(long)]
    budget: Option<usize>,
}

pub fn run(config: &Config, args: Args) -> anyhow::Result<()> {
    let analyzer = match &args.ddl {
        Some(path) => {
            let ddl = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            SchemaAnalyzer::from_ddl(&ddl, args.dialect, crate::context::glossary(config)?)?
        }
        None => {
            let db = crate::context::open_db(config)?;
            crate::context::analyzer(config, db.as_ref())?
        }
    };
    match &args.question {
        Some(q) => {
            let link = analyzer.link(q);
            let opts = RenderOptions {
                token_budget: args.budget.unwrap_or(config.schema.prompt_token_budget),
                ..RenderOptions::default()
            };
            let rendered = analyzer.render(&link, &opts, &approx_tokens);
            if args.json {
                let mut v = serde_json::to_value(&link)?;
                v["prompt_schema"] = serde_json::to_value(&rendered)?;
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print_link(&link);
                println!(
                    "\nprompt schema ({} tokens, approx.):\n{}",
                    rendered.tokens, rendered.text
                );
            }
        }
        None if args.json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "tables": analyzer.schema().tables,
                "relationships": analyzer.relationships(),
            }))?
        ),
        None => print_schema(analyzer.schema(), &analyzer),
    }
    Ok(())
}

fn print_link(link: &glrl_schema_analyzer::LinkResult) {
    println!("question: {}", link.question);
    println!("linked tables: {}", link.tables.join(", "));
    for t in &link.table_scores {
        let mark = if t.bridge {
            "bridge"
        } else if t.linked {
            "linked"
        } else {
            "-"
        };
        println!(
            "  {:<20} {:>6.2}  {:<6}  {}",
            t.table,
            t.score,
            mark,
            t.reasons.join("; ")
        );
    }
    if !link.columns.is_empty() {
        println!("columns:");
        for c in &link.columns {
            println!(
                "  {:<38} {:>6.2}  {}",
                format!("{}.{}", c.table, c.column),
                c.score,
                c.reasons.join("; ")
            );
        }
    }
    for v in &link.values {
        println!(
            "value: '{}' -> {}.{} = '{}'",
            v.matched, v.table, v.column, v.value
        );
    }
    for h in &link.glossary_hits {
        match &h.sql {
            Some(sql) => println!(
                "glossary: \"{}\" = {} ({}): {}",
                h.matched, h.term, h.kind, sql
            ),
            None => println!("glossary: \"{}\" names {}", h.matched, h.term),
        }
    }
    if let Some(jp) = &link.join_path {
        println!("join path:\n  {}", jp.from_clause().replace('\n', "\n  "));
    }
}

fn print_schema(schema: &Schema, analyzer: &SchemaAnalyzer) {
    for t in &schema.tables {
        let rows = t
            .row_count
            .map(|n| format!(" ({n} rows)"))
            .unwrap_or_default();
        println!("{}{rows}", t.name);
        for c in &t.columns {
            let mut notes = Vec::new();
            if t.is_primary_key(&c.name) {
                notes.push("PK".to_string());
            }
            if let Some(fk) = t
                .foreign_keys
                .iter()
                .find(|fk| fk.columns.iter().any(|k| k.eq_ignore_ascii_case(&c.name)))
            {
                notes.push(format!("-> {}", fk.ref_table));
            }
            if !c.nullable && !t.is_primary_key(&c.name) {
                notes.push("NOT NULL".into());
            }
            if let Some(v) = &c.allowed_values {
                notes.push(format!("in ({})", v.join(", ")));
            }
            println!(
                "  {:<18} {:<16} {}",
                c.name,
                c.data_type.to_string(),
                notes.join("  ")
            );
        }
        for i in &t.indexes {
            println!("  index {} ({})", i.name, i.columns.join(", "));
        }
    }
    println!("relationships:");
    for r in analyzer.relationships() {
        println!("  {}  ({:?}, {})", r.on_clause(), r.origin, r.cardinality);
    }
}
