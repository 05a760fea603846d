use glrl_config::Config;
use glrl_dataset::{evaluate, read_jsonl, EvalReport, Pair, Prediction};
use glrl_reward_evaluator::RewardEvaluator;
use glrl_validator::Validator;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Data set (JSONL pairs: id, question, sql, difficulty, tables, constructs, reasoning, follows).
    #[arg(long, value_name = "FILE")]
    dataset: PathBuf,
    /// Predictions (JSONL: {"id": …, "prediction": "<think>…</think> SELECT …"}).
    #[arg(long, value_name = "FILE")]
    predictions: PathBuf,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

pub fn run(config: &Config, args: Args) -> anyhow::Result<()> {
    let pairs: Vec<Pair> = read_jsonl(&args.dataset)?;
    let predictions: Vec<Prediction> = read_jsonl(&args.predictions)?;
    let db = crate::context::open_db(config)?;
    let analyzer = crate::context::analyzer(config, db.as_ref())?;
    let validator = Validator::new(&analyzer, db.dialect())
        .with_rules(super::validate::rules(config)?)
        .with_database(db.as_ref());
    let evaluator = RewardEvaluator::new(&validator, db.as_ref(), analyzer.schema());
    let report = evaluate(
        &pairs,
        &predictions,
        &evaluator,
        analyzer.schema(),
        db.dialect(),
    );
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print(&report);
    }
    Ok(())
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
