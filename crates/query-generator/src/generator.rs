//! N candidates for one question: the shared prompt, one batched
//! generation (candidate 0 greedy, the rest sampled), constrained to the
//! schema's SQL when generation runs locally, or with the same constraint
//! as a GBNF grammar when a remote server takes one.

use crate::constrain::{SqlConstraint, SqlVocabulary};
use crate::prompt::{Prompt, PromptBuilder, Turn};
use glrl_model::backend::{Generator, OnText, Request};
use glrl_model::generate::{AdapterChoice, FinishReason};
use glrl_model::ModelError;
use glrl_schema_analyzer::{LinkResult, SchemaAnalyzer};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct GeneratorSettings {
    pub candidates: usize,
    pub temperature: f32,
    pub top_p: f32,
    /// Tokens the constraint keeps per sampled step (and the sampler's top-k).
    pub top_k: usize,
    pub max_new_tokens: usize,
    pub seed: u64,
    /// Constrained decoding (local logits processor, or a grammar for
    /// remote servers when `grammar` is set).
    pub constrained: bool,
    /// Send the GBNF grammar to remote servers.
    pub grammar: bool,
    pub adapter: AdapterChoice,
}

impl Default for GeneratorSettings {
    fn default() -> Self {
        GeneratorSettings {
            candidates: 5,
            temperature: 0.7,
            top_p: 0.95,
            top_k: 40,
            max_new_tokens: 256,
            seed: 0,
            constrained: true,
            grammar: false,
            adapter: AdapterChoice::Default,
        }
    }
}

/// One candidate as generated (the caller splits reasoning from SQL).
#[derive(Debug, Clone)]
pub struct Candidate {
    /// `<think>…</think>` then the SQL, as the model wrote it.
    pub text: String,
    /// Mean log-probability per generated token (0 when the backend gave
    /// none).
    pub mean_logprob: f64,
    pub tokens: usize,
    pub finish: FinishReason,
}

pub struct Generation {
    pub prompt: Prompt,
    pub candidates: Vec<Candidate>,
    /// From the prompt's building to the last candidate.
    pub elapsed: Duration,
    /// The model backend's call alone: tokenizing, prefill, decoding with
    /// the constraint's logits hook, detokenizing. Building the prompt
    /// (linking, retrieval) and setting up the constraint are the
    /// pipeline's own work, not the model's.
    pub model_time: Duration,
}

/// The Query Generator agent.
pub struct QueryGenerator<'a> {
    builder: PromptBuilder<'a>,
    backend: &'a dyn Generator,
    vocab: SqlVocabulary,
    texts: Option<Vec<Option<String>>>,
    settings: GeneratorSettings,
}

impl<'a> QueryGenerator<'a> {
    pub fn new(
        builder: PromptBuilder<'a>,
        backend: &'a dyn Generator,
        analyzer: &SchemaAnalyzer,
        settings: GeneratorSettings,
    ) -> QueryGenerator<'a> {
        // Token texts are only needed (and only available) for local
        // constrained decoding.
        let texts = if settings.constrained {
            backend.token_texts()
        } else {
            None
        };
        // The dialect named to the model is the one its SQL is parsed in.
        let dialect = builder.dialect();
        QueryGenerator {
            builder,
            backend,
            vocab: SqlVocabulary::from_analyzer(analyzer).with_dialect(dialect),
            texts,
            settings,
        }
    }

    pub fn settings(&self) -> &GeneratorSettings {
        &self.settings
    }

    pub fn builder(&self) -> &PromptBuilder<'a> {
        &self.builder
    }

    pub fn vocabulary(&self) -> &SqlVocabulary {
        &self.vocab
    }

    pub fn describe(&self) -> String {
        self.backend.describe()
    }

    /// `n` candidates for `question` (`n` 0 means the configured number).
    /// `feedback` carries a rejected attempt and the validator's findings
    /// for a repair round.
    /// `link` is the question's linking when the caller already has it.
    pub fn generate(
        &self,
        question: &str,
        link: Option<&LinkResult>,
        history: &[Turn],
        feedback: Option<&Feedback>,
        n: usize,
    ) -> Result<Generation, ModelError> {
        self.run(question, link, history, feedback, n, None)
    }

    /// [`QueryGenerator::generate`], telling `on_text(candidate, piece)` of
    /// each candidate's text as the model writes it (see
    /// [`Generator::complete_streaming`]).
    pub fn generate_streaming(
        &self,
        question: &str,
        link: Option<&LinkResult>,
        history: &[Turn],
        feedback: Option<&Feedback>,
        n: usize,
        on_text: OnText<'_>,
    ) -> Result<Generation, ModelError> {
        self.run(question, link, history, feedback, n, Some(on_text))
    }

    fn run(
        &self,
        question: &str,
        link: Option<&LinkResult>,
        history: &[Turn],
        feedback: Option<&Feedback>,
        n: usize,
        on_text: Option<OnText<'_>>,
    ) -> Result<Generation, ModelError> {
        let start = Instant::now();
        let mut prompt = match link {
            Some(l) => self
                .builder
                .build_linked(question, l.clone(), history, None),
            None => self.builder.build(question, history, None),
        };
        if let Some(f) = feedback {
            prompt.add_feedback(&f.sql, &f.findings);
        }
        let n = if n == 0 { self.settings.candidates } else { n }.max(1);
        let s = &self.settings;
        let req = Request {
            messages: prompt.messages.clone(),
            assistant_prefix: "<think>".into(),
            shared_messages: prompt.shared_messages,
            n,
            max_new_tokens: s.max_new_tokens,
            temperature: if n == 1 { 0.0 } else { s.temperature },
            top_p: s.top_p,
            top_k: s.top_k,
            seed: s.seed,
            stop: Vec::new(),
            grammar: (s.constrained && s.grammar).then(|| self.vocab.gbnf()),
            greedy_first: true,
            adapter: s.adapter.clone(),
        };
        let mut constraint = self.texts.as_ref().map(|texts| {
            let keep = if n == 1 { 1 } else { s.top_k.max(1) };
            SqlConstraint::new(&self.vocab, texts, self.backend.end_tokens(), keep)
                .sampled_at(req.temperature)
        });
        let processor = constraint
            .as_mut()
            .map(|c| c as &mut dyn glrl_model::generate::LogitsProcessor);
        let decoding = Instant::now();
        let completions = match on_text {
            Some(f) => self.backend.complete_streaming(&req, processor, f)?,
            None => self.backend.complete(&req, processor)?,
        };
        // Cutting a cornered candidate back to its last whole query is
        // the constraint's last step of decoding, timed with it.
        let completions: Vec<_> = completions
            .into_iter()
            .enumerate()
            .map(|(i, mut c)| {
                let stopped = c.finish == FinishReason::Length;
                if constraint
                    .as_ref()
                    .is_some_and(|k| stopped || k.cornered(i))
                {
                    c.text = whole_query(&self.vocab, c.text);
                }
                c
            })
            .collect();
        let model_time = decoding.elapsed();
        let candidates = completions
            .into_iter()
            .map(|c| Candidate {
                mean_logprob: if c.logprobs.is_empty() {
                    0.0
                } else {
                    c.logprobs.iter().map(|&l| l as f64).sum::<f64>() / c.logprobs.len() as f64
                },
                tokens: c.logprobs.len(),
                text: c.text,
                finish: c.finish,
            })
            .collect();
        Ok(Generation {
            prompt,
            candidates,
            elapsed: start.elapsed(),
            model_time,
        })
    }
}

/// A constrained candidate's text, its SQL cut back to the last whole
/// query when the candidate wrote itself into a corner (`… LIMIT 5000
/// D`, made to end there) or ran out of tokens: what it wrote after that
/// query was no part of one. Left whole when it never was a query; one
/// that is whole as it stands is its own last whole query.
fn whole_query(vocab: &SqlVocabulary, text: String) -> String {
    let Some(close) = text.find("</think>") else {
        return text;
    };
    let (reasoning, sql) = (&text[..close], &text[close + "</think>".len()..]);
    match vocab.whole_prefix(reasoning, sql) {
        Some(n) if !sql[..n].trim().is_empty() => text[..close + "</think>".len() + n].to_string(),
        _ => text,
    }
}

/// A rejected attempt, shown to the model in a repair round.
#[derive(Debug, Clone)]
pub struct Feedback {
    pub sql: String,
    pub findings: Vec<String>,
}
