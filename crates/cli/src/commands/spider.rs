//! `glrl eval --spider DIR`: the bring-your-own-schema path on Spider's
//! dev set. Each database's schema is built empty from `tables.json`, the
//! pipeline answers its questions against it, and the predictions (the
//! chosen SQL, or the greedy candidate's when the pipeline abstained) are
//! checked for syntax validity and schema compliance.

use super::eval::{percentile, Args};
use crate::pipeline::with_orchestrator;
use anyhow::Context;
use glrl_config::Config;
use glrl_dataset::spider::{read_spider, SpiderQuestion};
use glrl_validator::LayerName;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(serde::Serialize, Default)]
struct SpiderReport {
    questions: usize,
    databases: usize,
    /// Of the predictions: the validator's syntax layer passed.
    syntax_validity: f64,
    /// Of the predictions: every table and column exists.
    schema_compliance: f64,
    /// The pipeline returned validated SQL (did not abstain).
    answered: f64,
    /// The same checks on the gold queries, as a reference for the validator.
    gold_syntax_validity: f64,
    gold_schema_compliance: f64,
    latency_p50_ms: f64,
    latency_p95_ms: f64,
}

pub fn run(config: &Config, dir: &Path, args: &Args) -> anyhow::Result<()> {
    let (mut questions, schemas) =
        read_spider(dir).with_context(|| format!("reading Spider data in {}", dir.display()))?;
    if let Some(n) = args.limit {
        questions.truncate(n);
    }
    // Questions grouped by database, in order of first appearance.
    let mut by_db: Vec<(String, Vec<&SpiderQuestion>)> = Vec::new();
    for q in &questions {
        match by_db.iter_mut().find(|(d, _)| *d == q.db_id) {
            Some((_, v)) => v.push(q),
            None => by_db.push((q.db_id.clone(), vec![q])),
        }
    }
    let schemas: BTreeMap<&str, _> = schemas.iter().map(|s| (s.db_id.as_str(), s)).collect();
    let tmp = tempfile::tempdir()?;
    let bar = super::generate::progress(questions.len(), "spider");
    let (mut syntax, mut schema, mut answered, mut gsyntax, mut gschema) = (0, 0, 0, 0, 0);
    let mut latencies = Vec::new();
    for (db_id, qs) in &by_db {
        let s = schemas
            .get(db_id.as_str())
            .ok_or_else(|| anyhow::anyhow!("{db_id} is not in tables.json"))?;
        let path = tmp.path().join(format!("{db_id}.sqlite"));
        glrl_db::load::write_sqlite(&path, &s.ddl(), &[])
            .with_context(|| format!("building the empty {db_id} database"))?;
        let mut config = config.clone();
        config.database.url = path.display().to_string();
        config.orchestrator.sessions_db = "-".into();
        // The ERP glossary and rules do not apply to another schema.
        config.schema.erp_glossary = false;
        config.validator.erp_rules = false;
        with_orchestrator(&config, &args.flags, |o| {
            let passes = |sql: &str| {
                let r = o.evaluator.score_static(sql);
                let ok = |l| r.report.layer(l).is_some_and(|x| x.passed);
                (ok(LayerName::Syntax), ok(LayerName::Schema))
            };
            for q in qs {
                let a = super::generate::ask_alone(o, &q.question);
                latencies.push(a.total_ms);
                let prediction = a
                    .raw_sql
                    .clone()
                    .or_else(|| a.candidates.first().map(|c| c.sql.clone()))
                    .unwrap_or_default();
                answered += usize::from(a.raw_sql.is_some());
                let (sy, sc) = passes(&prediction);
                syntax += usize::from(sy);
                schema += usize::from(sc);
                let (gy, gc) = passes(&q.query);
                gsyntax += usize::from(gy);
                gschema += usize::from(gc);
                bar.inc(1);
            }
            Ok(())
        })?;
    }
    bar.finish_and_clear();
    latencies.sort_by(f64::total_cmp);
    let n = questions.len().max(1) as f64;
    let report = SpiderReport {
        questions: questions.len(),
        databases: by_db.len(),
        syntax_validity: syntax as f64 / n,
        schema_compliance: schema as f64 / n,
        answered: answered as f64 / n,
        gold_syntax_validity: gsyntax as f64 / n,
        gold_schema_compliance: gschema as f64 / n,
        latency_p50_ms: percentile(&latencies, 0.5),
        latency_p95_ms: percentile(&latencies, 0.95),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} Spider questions over {} databases",
            report.questions, report.databases
        );
        for (name, v) in [
            ("syntax validity", report.syntax_validity),
            ("schema compliance", report.schema_compliance),
            ("answered (validated)", report.answered),
            ("gold syntax validity", report.gold_syntax_validity),
            ("gold schema compliance", report.gold_schema_compliance),
        ] {
            println!("  {name:<24} {v:.3}");
        }
        println!(
            "  latency p50 / p95        {:.0} / {:.0} ms",
            report.latency_p50_ms, report.latency_p95_ms
        );
    }
    Ok(())
}
