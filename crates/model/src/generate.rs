//! Generation: the prompt processed in one chunk, its KV cache shared by
//! the N candidates, then sampling with temperature, top-k, top-p and a
//! repetition penalty from a seeded RNG; stop tokens and stop sequences;
//! per-token log-probabilities and finish reasons; a logits-processor hook
//! (for constrained decoding) and a streaming callback.

use crate::llama::{KvCache, Llama};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub max_new_tokens: usize,
    /// 0 means greedy.
    pub temperature: f32,
    /// 0 disables.
    pub top_k: usize,
    /// 1.0 disables.
    pub top_p: f32,
    /// 1.0 disables; >1 discourages tokens already generated.
    pub repetition_penalty: f32,
    pub stop_tokens: Vec<u32>,
    /// Token sequences that end a candidate (not included in its output).
    pub stop_sequences: Vec<Vec<u32>>,
    pub seed: u64,
    /// Candidates for the one prompt.
    pub n: usize,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            max_new_tokens: 128,
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            repetition_penalty: 1.0,
            stop_tokens: Vec::new(),
            stop_sequences: Vec::new(),
            seed: 0,
            n: 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    Stop,
    Length,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub tokens: Vec<u32>,
    /// Log-probability of each generated token under the distribution it
    /// was sampled from (after processors and temperature).
    pub logprobs: Vec<f32>,
    pub finish: FinishReason,
}

/// Called at every step with the candidate index, the tokens generated so
/// far and the logits; may mask tokens by setting them to -inf.
pub trait LogitsProcessor {
    fn process(&mut self, candidate: usize, generated: &[u32], logits: &mut [f32]);
}

/// No constraint.
pub struct NoProcessor;

impl LogitsProcessor for NoProcessor {
    fn process(&mut self, _: usize, _: &[u32], _: &mut [f32]) {}
}

fn log_softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = logits.iter().map(|l| (l - max).exp()).sum();
    let lse = max + sum.ln();
    logits.iter().map(|l| l - lse).collect()
}

fn sample(logits: &mut [f32], opts: &GenerateOptions, rng: &mut ChaCha8Rng) -> (u32, f32) {
    if opts.temperature <= 0.0 {
        let (i, _) = logits
            .iter()
            .enumerate()
            .fold(
                (0, f32::NEG_INFINITY),
                |b, (i, &l)| if l > b.1 { (i, l) } else { b },
            );
        let lp = log_softmax(logits)[i];
        return (i as u32, lp);
    }
    for l in logits.iter_mut() {
        *l /= opts.temperature;
    }
    let mut order: Vec<usize> = (0..logits.len())
        .filter(|&i| logits[i].is_finite())
        .collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    if opts.top_k > 0 {
        order.truncate(opts.top_k);
    }
    let lp = log_softmax(logits);
    if opts.top_p < 1.0 {
        let mut acc = 0.0;
        let mut keep = 0;
        for &i in &order {
            acc += lp[i].exp();
            keep += 1;
            if acc >= opts.top_p {
                break;
            }
        }
        order.truncate(keep.max(1));
    }
    // Renormalise over the kept tokens.
    let kept: Vec<f32> = order.iter().map(|&i| logits[i]).collect();
    let klp = log_softmax(&kept);
    let r: f32 = rng.random::<f32>();
    let mut acc = 0.0;
    for (j, &i) in order.iter().enumerate() {
        acc += klp[j].exp();
        if r < acc {
            return (i as u32, klp[j]);
        }
    }
    let j = order.len() - 1;
    (order[j] as u32, klp[j])
}

/// Generates `opts.n` candidates for `prompt`. The prompt runs once; each
/// candidate continues from a copy of its KV cache. `on_token(candidate,
/// token)` streams tokens as they are chosen.
pub fn generate(
    model: &Llama,
    prompt: &[u32],
    opts: &GenerateOptions,
    processor: &mut dyn LogitsProcessor,
    on_token: &mut dyn FnMut(usize, u32),
) -> candle_core::Result<Vec<Candidate>> {
    let mut prompt_cache = KvCache::default();
    let logits = model.forward(prompt, &mut prompt_cache)?;
    let first: Vec<f32> = logits.get(prompt.len() - 1)?.to_vec1()?;
    let mut out = Vec::with_capacity(opts.n);
    for c in 0..opts.n.max(1) {
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed.wrapping_add(c as u64));
        let mut cache = prompt_cache.clone();
        let mut logits = first.clone();
        let (mut tokens, mut logprobs) = (Vec::new(), Vec::new());
        let mut finish = FinishReason::Length;
        for _ in 0..opts.max_new_tokens {
            if opts.repetition_penalty != 1.0 {
                for &t in tokens.iter() {
                    let l = &mut logits[t as usize];
                    *l = if *l > 0.0 {
                        *l / opts.repetition_penalty
                    } else {
                        *l * opts.repetition_penalty
                    };
                }
            }
            processor.process(c, &tokens, &mut logits);
            let (next, lp) = sample(&mut logits, opts, &mut rng);
            if opts.stop_tokens.contains(&next) {
                finish = FinishReason::Stop;
                break;
            }
            tokens.push(next);
            logprobs.push(lp);
            on_token(c, next);
            if let Some(s) = opts
                .stop_sequences
                .iter()
                .find(|s| !s.is_empty() && tokens.ends_with(s))
            {
                tokens.truncate(tokens.len() - s.len());
                logprobs.truncate(tokens.len());
                finish = FinishReason::Stop;
                break;
            }
            logits = model.forward(&[next], &mut cache)?.get(0)?.to_vec1()?;
        }
        out.push(Candidate {
            tokens,
            logprobs,
            finish,
        });
    }
    Ok(out)
}
