//! Training examples as token ids: the shared prefix (system message), the
//! per-question rest of the prompt, and the target (reasoning + SQL + the
//! end-of-turn token) on which the loss is taken.

use crate::TrainError;
use glrl_dataset::Pair;
use glrl_model::tokenizer::{chatml, Tokenizer};
use glrl_query_generator::{PromptBuilder, Turn};

#[derive(Debug, Clone)]
pub struct Example {
    pub id: String,
    /// Prompt tokens after the shared prefix.
    pub prompt: Vec<u32>,
    pub target: Vec<u32>,
}

/// All examples share one prefix (the system message of the builder).
pub struct Tokenized {
    pub prefix: Vec<u32>,
    pub examples: Vec<Example>,
}

pub fn tokenize(
    builder: &PromptBuilder,
    tok: &Tokenizer,
    pairs: &[Pair],
) -> Result<Tokenized, TrainError> {
    let end = tok
        .token_id("<|im_end|>")
        .or(tok.eos_id())
        .ok_or_else(|| TrainError::Invalid("the tokenizer has no end-of-turn token".into()))?;
    let mut prefix: Option<Vec<u32>> = None;
    let mut examples = Vec::with_capacity(pairs.len());
    let by_id: std::collections::HashMap<&str, &Pair> =
        pairs.iter().map(|p| (p.id.as_str(), p)).collect();
    for p in pairs {
        let prompt = builder.build(&p.question, &history(p, &by_id), Some(&p.id));
        let shared = tok.encode(&chatml(&prompt.messages[..prompt.shared_messages], false))?;
        let full = tok.encode(&chatml(&prompt.messages, true))?;
        if !full.starts_with(&shared) {
            return Err(TrainError::Invalid(format!(
                "{}: the shared prefix does not tokenize as a prefix of the prompt",
                p.id
            )));
        }
        match &prefix {
            None => prefix = Some(shared.clone()),
            Some(x) if *x != shared => {
                return Err(TrainError::Invalid(
                    "examples do not share one prefix".into(),
                ))
            }
            _ => {}
        }
        let mut target = tok.encode(&PromptBuilder::target(&p.reasoning, &p.sql))?;
        target.push(end);
        examples.push(Example {
            id: p.id.clone(),
            prompt: full[shared.len()..].to_vec(),
            target,
        });
    }
    Ok(Tokenized {
        prefix: prefix.unwrap_or_default(),
        examples,
    })
}

/// A follow-up pair is trained with the exchange it follows in its prompt,
/// as the Orchestrator serves it.
pub fn history(p: &Pair, by_id: &std::collections::HashMap<&str, &Pair>) -> Vec<Turn> {
    p.follows
        .as_deref()
        .and_then(|f| by_id.get(f))
        .map(|prev| {
            vec![Turn {
                question: prev.question.clone(),
                sql: prev.sql.clone(),
            }]
        })
        .unwrap_or_default()
}
