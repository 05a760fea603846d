//! One generation interface with two implementations: the local candle
//! model and a remote OpenAI-compatible server (see [`crate::remote`]).
//! Callers (the Query Generator, GRPO) ask for N candidates of a chat and
//! get text, per-token log-probabilities and finish reasons back, whichever
//! backend configuration chose.

use crate::generate::{
    generate_cached, AdapterChoice, FinishReason, GenerateOptions, LogitsProcessor, NoProcessor,
    PrefixCache,
};
use crate::llama::Llama;
use crate::tokenizer::{chatml, ChatMessage, TextStream, Tokenizer};
use crate::ModelError;

/// Hears `(candidate, piece)` of generated text as it comes.
pub type OnText<'a> = &'a mut dyn FnMut(usize, &str);

/// What to generate.
#[derive(Debug, Clone)]
pub struct Request {
    pub messages: Vec<ChatMessage>,
    /// Text the assistant turn starts with (e.g. "SELECT"); part of the
    /// returned text.
    pub assistant_prefix: String,
    /// Number of leading messages that repeat across requests (system
    /// prompt + schema): their KV cache is reused by the local backend.
    pub shared_messages: usize,
    pub n: usize,
    pub max_new_tokens: usize,
    pub temperature: f32,
    pub top_p: f32,
    pub top_k: usize,
    pub seed: u64,
    pub stop: Vec<String>,
    /// A GBNF grammar, passed to servers that support one (llama.cpp
    /// `grammar`, vLLM guided decoding). The local backend constrains
    /// through a [`LogitsProcessor`] instead.
    pub grammar: Option<String>,
    /// Candidate 0 is the greedy decode (see `GenerateOptions::greedy_first`).
    pub greedy_first: bool,
    pub adapter: AdapterChoice,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            messages: Vec::new(),
            assistant_prefix: String::new(),
            shared_messages: 0,
            n: 1,
            max_new_tokens: 256,
            temperature: 0.0,
            top_p: 1.0,
            top_k: 0,
            seed: 0,
            stop: Vec::new(),
            grammar: None,
            greedy_first: false,
            adapter: AdapterChoice::Default,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// Includes the request's assistant prefix.
    pub text: String,
    /// Log-probability of each generated token (may be empty when a
    /// server does not return them).
    pub logprobs: Vec<f32>,
    pub finish: FinishReason,
}

pub trait Generator: Send + Sync {
    /// A short description for logs ("local SmolLM2 …", "remote http://…").
    fn describe(&self) -> String;

    fn complete(
        &self,
        req: &Request,
        processor: Option<&mut dyn LogitsProcessor>,
    ) -> Result<Vec<Completion>, ModelError>;

    /// [`Generator::complete`], telling `on_text(candidate, piece)` of the
    /// text as it is generated: a candidate's pieces concatenate to its
    /// [`Completion::text`] (assistant prefix first), except that a stop
    /// sequence may show before it is cut. The default, for backends that
    /// cannot stream, tells each candidate's whole text once it is done.
    fn complete_streaming(
        &self,
        req: &Request,
        processor: Option<&mut dyn LogitsProcessor>,
        on_text: OnText<'_>,
    ) -> Result<Vec<Completion>, ModelError> {
        let out = self.complete(req, processor)?;
        for (i, c) in out.iter().enumerate() {
            on_text(i, &c.text);
        }
        Ok(out)
    }

    /// The text of each token id, when generation runs here and can take
    /// a local logits processor; `None` for remote servers (they take a
    /// grammar instead).
    fn token_texts(&self) -> Option<Vec<Option<String>>> {
        None
    }

    /// Token ids that end a completion (for logits processors).
    fn end_tokens(&self) -> Vec<u32> {
        Vec::new()
    }
}

/// The candle model in this process.
pub struct Local {
    pub model: Llama,
    pub tokenizer: Tokenizer,
    pub prefix_cache: PrefixCache,
    pub name: String,
}

impl Local {
    pub fn new(model: Llama, tokenizer: Tokenizer, name: &str) -> Local {
        Local {
            model,
            tokenizer,
            prefix_cache: PrefixCache::new(8),
            name: name.to_string(),
        }
    }

    /// The prompt ids and how many of them the shared messages cover.
    pub fn prompt(&self, req: &Request) -> Result<(Vec<u32>, usize), ModelError> {
        // The assistant prefix is tokenized on its own, as training
        // tokenizes the prompt and the target separately.
        let mut ids = self.tokenizer.encode(&chatml(&req.messages, true))?;
        ids.extend(self.tokenizer.encode(&req.assistant_prefix)?);
        let shared = if req.shared_messages > 0 {
            let n = req.shared_messages.min(req.messages.len());
            let prefix = chatml(&req.messages[..n], false);
            // Only a true token prefix can be reused.
            let p = self.tokenizer.encode(&prefix)?;
            if ids.starts_with(&p) {
                p.len()
            } else {
                0
            }
        } else {
            0
        };
        Ok((ids, shared))
    }
}

impl Generator for Local {
    fn describe(&self) -> String {
        format!("local {}", self.name)
    }

    fn token_texts(&self) -> Option<Vec<Option<String>>> {
        Some(self.tokenizer.token_texts())
    }

    fn end_tokens(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = ["<|im_end|>", "<|endoftext|>"]
            .iter()
            .filter_map(|t| self.tokenizer.token_id(t))
            .collect();
        ids.extend(self.tokenizer.eos_id());
        ids
    }

    fn complete(
        &self,
        req: &Request,
        processor: Option<&mut dyn LogitsProcessor>,
    ) -> Result<Vec<Completion>, ModelError> {
        self.run(req, processor, None)
    }

    fn complete_streaming(
        &self,
        req: &Request,
        processor: Option<&mut dyn LogitsProcessor>,
        on_text: OnText<'_>,
    ) -> Result<Vec<Completion>, ModelError> {
        self.run(req, processor, Some(on_text))
    }
}

impl Local {
    /// Generation, decoding tokens to text as they come only when someone
    /// listens (`on_text`).
    fn run(
        &self,
        req: &Request,
        processor: Option<&mut dyn LogitsProcessor>,
        mut on_text: Option<OnText<'_>>,
    ) -> Result<Vec<Completion>, ModelError> {
        let (ids, shared) = self.prompt(req)?;
        let stop_tokens = self.end_tokens();
        let stop_sequences = req
            .stop
            .iter()
            .map(|s| self.tokenizer.encode(s))
            .collect::<Result<Vec<_>, _>>()?;
        let opts = GenerateOptions {
            max_new_tokens: req.max_new_tokens,
            temperature: req.temperature,
            top_k: req.top_k,
            top_p: req.top_p,
            repetition_penalty: 1.0,
            stop_tokens,
            stop_sequences,
            seed: req.seed,
            n: req.n,
            greedy_first: req.greedy_first,
            adapter: req.adapter.clone(),
        };
        let mut none = NoProcessor;
        let processor: &mut dyn LogitsProcessor = match processor {
            Some(p) => p,
            None => &mut none,
        };
        let prefix = (shared > 0).then_some((&self.prefix_cache, shared));
        let mut streams: Vec<Option<TextStream>> = (0..opts.n.max(1)).map(|_| None).collect();
        let mut on_token = |c: usize, tok: u32| {
            let (Some(f), Some(slot)) = (on_text.as_mut(), streams.get_mut(c)) else {
                return;
            };
            let stream = slot.get_or_insert_with(|| {
                if !req.assistant_prefix.is_empty() {
                    f(c, &req.assistant_prefix);
                }
                self.tokenizer.text_stream()
            });
            // A piece that fails to decode is only missing from the preview;
            // the completion is decoded whole below.
            if let Ok(Some(piece)) = stream.step(tok) {
                if !piece.is_empty() {
                    f(c, &piece);
                }
            }
        };
        let out = generate_cached(&self.model, &ids, &opts, prefix, processor, &mut on_token)
            .map_err(|e| ModelError::Generation(e.to_string()))?;
        out.into_iter()
            .map(|c| {
                Ok(Completion {
                    text: format!(
                        "{}{}",
                        req.assistant_prefix,
                        self.tokenizer.decode(&c.tokens, true)?
                    ),
                    logprobs: c.logprobs,
                    finish: c.finish,
                })
            })
            .collect()
    }
}
