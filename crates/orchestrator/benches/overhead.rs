//! Orchestration overhead: [`Orchestrator::ask`] on ERP dev questions,
//! the real pipeline around the model (session, schema linking, prompt,
//! the five validator layers, the plan, read-only execution, selection,
//! formatting, explanation, the session file), with the model's part
//! replayed: each question's candidates are the texts the embedded model
//! and adapter wrote for it in a real run (`replay.jsonl`, recorded by
//! `scripts/record-replay.py` from `glrl eval --generate --save-answers`).
//! - `orchestration/ask`: wall time per question, database included;
//! - `orchestration/overhead`: the pipeline's own count of everything but
//!   model and database time, which `glrl bench ask` reports with the real
//!   model (target < 0.5 ms).
//!
//! Run: `cargo bench -p glrl-orchestrator --bench overhead`

use criterion::{criterion_group, criterion_main, Criterion};
use glrl_dataset::{parse_jsonl, Pair};
use glrl_erp::{DemoConfig, GLOSSARY_TOML, RULES_TOML};
use glrl_model::backend::{Completion, Generator, Request};
use glrl_model::generate::{FinishReason, LogitsProcessor};
use glrl_model::ModelError;
use glrl_orchestrator::{Orchestrator, Question, SessionStore, Settings, Status};
use glrl_query_generator::{
    GeneratorSettings, PromptBuilder, PromptOptions, QueryGenerator, Retriever,
};
use glrl_reward_evaluator::RewardEvaluator;
use glrl_schema_analyzer::{Glossary, SchemaAnalyzer};
use glrl_validator::{Rules, Validator};
use serde::Deserialize;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

// The allocator the `glrl` binary uses for blocks under 32 KiB
// (crates/cli/src/alloc.rs; it gives larger ones, tensors, to the
// system's malloc), so the bench measures the binary's code path.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Deserialize)]
struct Recorded {
    question: String,
    /// One batch per generation round.
    batches: Vec<Vec<RecordedCandidate>>,
}

#[derive(Deserialize)]
struct RecordedCandidate {
    text: String,
    mean_logprob: f32,
    tokens: usize,
}

/// Hands out the recorded batches of the question being asked.
struct Replay {
    batches: Mutex<VecDeque<Vec<Completion>>>,
}

impl Replay {
    fn load(&self, r: &Recorded) {
        let batches = r
            .batches
            .iter()
            .map(|b| {
                b.iter()
                    .map(|c| Completion {
                        text: c.text.clone(),
                        logprobs: vec![c.mean_logprob; c.tokens.max(1)],
                        finish: FinishReason::Stop,
                    })
                    .collect()
            })
            .collect();
        *self.batches.lock().expect("replay lock") = batches;
    }
}

impl Generator for Replay {
    fn describe(&self) -> String {
        "replay of recorded candidates".into()
    }

    fn complete(
        &self,
        _: &Request,
        _: Option<&mut dyn LogitsProcessor>,
    ) -> Result<Vec<Completion>, ModelError> {
        self.batches
            .lock()
            .expect("replay lock")
            .pop_front()
            .ok_or_else(|| ModelError::Generation("no recorded batch left".into()))
    }
}

fn bench(c: &mut Criterion) {
    let recorded: Vec<Recorded> = include_str!("replay.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("replay line"))
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("erp.db");
    glrl_erp::write_demo_sqlite(&path, &DemoConfig::default()).expect("demo db");
    let db = glrl_db::connect(path.to_str().expect("utf-8")).expect("open");
    let glossary = Glossary::from_toml(GLOSSARY_TOML, "erp").expect("glossary");
    let analyzer = SchemaAnalyzer::from_database(db.as_ref(), glossary, 200).expect("analyzer");
    let validator = Validator::new(&analyzer, db.dialect())
        .with_rules(Rules::from_toml(RULES_TOML).expect("rules"))
        .with_database(db.as_ref());
    let evaluator = RewardEvaluator::new(&validator, db.as_ref(), analyzer.schema());
    let train: Vec<Pair> = parse_jsonl(glrl_erp::TRAIN_JSONL, "train").expect("train split");
    // As `glrl ask` builds it with the default configuration.
    let defaults = glrl_config::Config::default().generator;
    let builder = PromptBuilder::new(
        &analyzer,
        Retriever::new(train),
        PromptOptions {
            examples: defaults.examples,
            ..PromptOptions::default()
        },
    );
    let replay = Replay {
        batches: Mutex::new(VecDeque::new()),
    };
    let generator = QueryGenerator::new(builder, &replay, &analyzer, GeneratorSettings::default());
    // Written to a file, as `glrl ask` keeps its sessions.
    let sessions =
        SessionStore::persistent(&dir.path().join("sessions.db"), Duration::from_secs(3600))
            .expect("session file");
    let o = Orchestrator {
        analyzer: &analyzer,
        evaluator: &evaluator,
        generator: &generator,
        db: db.as_ref(),
        sessions: &sessions,
        settings: Settings::default(),
    };
    let ask = |r: &Recorded| {
        replay.load(r);
        o.ask(&Question {
            text: r.question.clone(),
            ..Question::default()
        })
    };
    // Validated SQL ran, whether or not its confidence reached the
    // threshold (the calibrated confidence puts some below it).
    let answered = recorded
        .iter()
        .filter(|r| matches!(ask(r).status, Status::Answered | Status::Unsure))
        .count();
    assert!(
        answered * 2 > recorded.len(),
        "only {answered} of {} replayed questions answered",
        recorded.len()
    );
    print_stages(&recorded, &ask);

    let mut g = c.benchmark_group("orchestration");
    let mut i = 0;
    g.bench_function("ask", |b| {
        b.iter(|| {
            i = (i + 1) % recorded.len();
            ask(&recorded[i])
        })
    });
    let mut i = 0;
    g.bench_function("overhead", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                i = (i + 1) % recorded.len();
                total += Duration::from_secs_f64(ask(&recorded[i]).overhead_ms / 1e3);
            }
            total
        })
    });
    g.finish();
}

/// Where the time goes: each stage's mean over ten passes of the
/// questions, database time apart (criterion only sees the totals).
fn print_stages(recorded: &[Recorded], ask: &dyn Fn(&Recorded) -> glrl_orchestrator::Answer) {
    let mut stages: Vec<(&'static str, f64)> = Vec::new();
    let (mut database, mut overhead, mut n) = (0.0, 0.0, 0.0);
    for _ in 0..10 {
        for r in recorded {
            let a = ask(r);
            for t in &a.timings {
                match stages.iter_mut().find(|(s, _)| *s == t.stage) {
                    Some((_, ms)) => *ms += t.ms,
                    None => stages.push((t.stage, t.ms)),
                }
            }
            database += a.database_ms;
            overhead += a.overhead_ms;
            n += 1.0;
        }
    }
    let line: Vec<String> = stages
        .iter()
        .map(|(s, ms)| format!("{s} {:.3}", ms / n))
        .collect();
    eprintln!(
        "stages, mean ms: {}; database {:.3}; overhead {:.3}",
        line.join(", "),
        database / n,
        overhead / n
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
