//! Assembling the five agents over the configured database and model:
//! `glrl ask`, `chat`, `generate` and `eval --generate` all run through
//! [`with_orchestrator`], so they answer exactly alike.

use crate::commands::model;
use crate::context;
use glrl_config::Config;
use glrl_dataset::{parse_jsonl, Pair};
use glrl_orchestrator::{Orchestrator, SessionStore, Settings};
use glrl_query_generator::{
    GeneratorSettings, PromptBuilder, PromptOptions, QueryGenerator, Retriever,
};
use glrl_reward_evaluator::RewardEvaluator;
use glrl_schema_analyzer::SchemaAnalyzer;
use std::time::Duration;

/// Per-command overrides of the configuration.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PipelineFlags {
    /// Candidates per question [default: generator.candidates].
    #[arg(short = 'n', long = "candidates", value_name = "N")]
    pub candidates: Option<usize>,
    /// Decode without the schema constraint.
    #[arg(long)]
    pub no_constrain: bool,
    /// Repair rounds when nothing validates [default: orchestrator.repair_rounds].
    #[arg(long, value_name = "N")]
    pub repair_rounds: Option<usize>,
}

/// The ERP train split serves as retrieved examples when the database
/// has the ERP's tables; another schema gets no examples rather than
/// misleading ones.
fn examples_for(analyzer: &SchemaAnalyzer) -> anyhow::Result<Vec<Pair>> {
    let names: Vec<String> = analyzer
        .schema()
        .tables
        .iter()
        .map(|t| t.name.to_uppercase())
        .collect();
    if glrl_erp::TABLES
        .iter()
        .all(|t| names.contains(&t.to_string()))
    {
        Ok(parse_jsonl(glrl_erp::TRAIN_JSONL, "the ERP train split")?)
    } else {
        Ok(Vec::new())
    }
}

pub fn sessions(config: &Config) -> anyhow::Result<SessionStore> {
    let ttl = Duration::from_secs(config.orchestrator.session_ttl_s);
    Ok(match config.orchestrator.sessions_db.as_str() {
        "-" => SessionStore::in_memory(ttl),
        "" => {
            std::fs::create_dir_all(&config.home)?;
            SessionStore::persistent(&config.home.join("sessions.db"), ttl)?
        }
        path => SessionStore::persistent(std::path::Path::new(path), ttl)?,
    })
}

pub fn with_orchestrator<T>(
    config: &Config,
    flags: &PipelineFlags,
    f: impl FnOnce(&Orchestrator) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    with_orchestrator_on(config, flags, &sessions(config)?, f)
}

/// As [`with_orchestrator`], with a session store the caller shares
/// (the gateway reads sessions while the pipeline writes them).
pub fn with_orchestrator_on<T>(
    config: &Config,
    flags: &PipelineFlags,
    sessions: &SessionStore,
    f: impl FnOnce(&Orchestrator) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let db = context::open_db(config)?;
    let analyzer = context::analyzer(config, db.as_ref())?;
    let validator = context::validator(config, &analyzer, db.as_ref())?;
    let exec = context::exec_options(config);
    let evaluator = RewardEvaluator::new(&validator, db.as_ref(), analyzer.schema());
    let backend = model::generator(config, None)?;
    let g = &config.generator;
    let builder = PromptBuilder::new(
        &analyzer,
        Retriever::new(examples_for(&analyzer)?),
        PromptOptions {
            examples: g.examples,
            dialect: db.dialect(),
        },
    );
    let generator = QueryGenerator::new(
        builder,
        backend.as_ref(),
        &analyzer,
        GeneratorSettings {
            candidates: flags.candidates.unwrap_or(g.candidates),
            temperature: g.temperature,
            top_p: g.top_p,
            top_k: g.top_k,
            max_new_tokens: g.max_new_tokens,
            seed: g.seed,
            constrained: g.constrained && !flags.no_constrain,
            grammar: g.grammar,
            ..GeneratorSettings::default()
        },
    );
    let o = &config.orchestrator;
    let calibration = match o.calibration.as_slice() {
        [] if o.adapter_calibration => match model::served_adapter(config)? {
            Some(dir) => crate::adapter::calibration(&dir)?,
            None => None,
        },
        [] => None,
        [a, b] => Some((*a, *b)),
        other => anyhow::bail!(
            "orchestrator.calibration takes two numbers [a, b], not {}",
            other.len()
        ),
    };
    let orchestrator = Orchestrator {
        analyzer: &analyzer,
        evaluator: &evaluator,
        generator: &generator,
        db: db.as_ref(),
        sessions,
        settings: Settings {
            candidates: flags.candidates.unwrap_or(g.candidates),
            repair_rounds: flags.repair_rounds.unwrap_or(o.repair_rounds),
            confidence_threshold: o.confidence_threshold,
            calibration,
            exec,
        },
    };
    f(&orchestrator)
}
