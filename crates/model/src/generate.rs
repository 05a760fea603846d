//! Generation: the prompt processed in one chunk (optionally after a
//! cached prefix), its KV cache shared by the N candidates which then
//! decode as one batch, sampling with temperature, top-k, top-p and a
//! repetition penalty from a seeded RNG; stop tokens and stop sequences;
//! per-token log-probabilities and finish reasons; a logits-processor hook
//! (for constrained decoding) and a streaming callback.

use crate::kv::KvCache;
use crate::llama::{Llama, Pass};
use candle_core::{Result, Tensor};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Mutex;

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
    /// Candidate 0 decodes greedily whatever the temperature, so a set of
    /// sampled candidates always contains the model's best guess.
    pub greedy_first: bool,
    pub adapter: AdapterChoice,
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
            greedy_first: false,
            adapter: AdapterChoice::Default,
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

    /// [`process`](Self::process) for a candidate with the same tokens,
    /// and so the same logits, as the candidate of the previous call (a
    /// batch lane's later members): a processor may repeat its last
    /// decision instead of making it again.
    fn process_same(&mut self, candidate: usize, generated: &[u32], logits: &mut [f32]) {
        self.process(candidate, generated, logits);
    }
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
    let lp = log_softmax(logits);
    let order = nucleus(logits, &lp, opts);
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

/// Which adapter generation runs with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AdapterChoice {
    /// The model's default adapter (none if it has none).
    #[default]
    Default,
    /// Adapters disabled: the base model.
    Base,
    Named(String),
}

impl AdapterChoice {
    pub fn resolve<'a>(&'a self, model: &'a Llama) -> Option<&'a str> {
        match self {
            AdapterChoice::Default => model.default_adapter(),
            AdapterChoice::Base => None,
            AdapterChoice::Named(n) => Some(n),
        }
    }
}

/// KV caches of prompt prefixes (system prompt + schema) kept across
/// requests, so a second question on the same schema skips the prefix.
/// (adapter, prefix tokens, its cache), least recently used first.
type PrefixEntry = (Option<String>, Vec<u32>, KvCache);

pub struct PrefixCache {
    entries: Mutex<Vec<PrefixEntry>>,
    capacity: usize,
}

impl PrefixCache {
    pub fn new(capacity: usize) -> PrefixCache {
        PrefixCache {
            entries: Mutex::new(Vec::new()),
            capacity: capacity.max(1),
        }
    }

    /// A private copy of the cache for exactly `prefix`, if held.
    fn get(&self, adapter: Option<&str>, prefix: &[u32]) -> Result<Option<KvCache>> {
        let mut entries = self
            .entries
            .lock()
            .map_err(|_| candle_core::Error::msg("prefix cache poisoned"))?;
        let Some(i) = entries
            .iter()
            .position(|(a, p, _)| a.as_deref() == adapter && p == prefix)
        else {
            return Ok(None);
        };
        // Most recently used last.
        let e = entries.remove(i);
        let copy = e.2.deep_clone()?;
        entries.push(e);
        Ok(Some(copy))
    }

    fn put(&self, adapter: Option<&str>, prefix: &[u32], cache: &KvCache) -> Result<()> {
        let mut entries = self
            .entries
            .lock()
            .map_err(|_| candle_core::Error::msg("prefix cache poisoned"))?;
        if entries.len() >= self.capacity {
            entries.remove(0);
        }
        entries.push((
            adapter.map(str::to_string),
            prefix.to_vec(),
            cache.deep_clone()?,
        ));
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Runs the prompt (reusing a cached prefix of `prefix_len` tokens when a
/// cache is given) and returns its cache and the last position's logits.
fn prefill(
    model: &Llama,
    prompt: &[u32],
    adapter: Option<&str>,
    prefix: Option<(&PrefixCache, usize)>,
) -> Result<(KvCache, Vec<f32>)> {
    if prompt.is_empty() {
        candle_core::bail!("empty prompt");
    }
    let pass = Pass {
        adapter,
        ..Pass::last()
    };
    let run = |ids: &[u32], cache: &mut KvCache| -> Result<Vec<f32>> {
        let t = Tensor::new(ids, model.device())?.unsqueeze(0)?;
        model
            .forward_batch(&t, cache, pass)?
            .flatten_all()?
            .to_vec1()
    };
    let mut cache = KvCache::default();
    let mut rest = prompt;
    if let Some((pc, n)) = prefix {
        // At least one token must remain to produce the next-token logits.
        let n = n.min(prompt.len() - 1);
        if n > 0 {
            let p = &prompt[..n];
            match pc.get(adapter, p)? {
                Some(c) => cache = c,
                None => {
                    run(p, &mut cache)?;
                    pc.put(adapter, p, &cache)?;
                }
            }
            rest = &prompt[n..];
        }
    }
    let logits = run(rest, &mut cache)?;
    Ok((cache, logits))
}

struct Slot {
    rng: ChaCha8Rng,
    tokens: Vec<u32>,
    logprobs: Vec<f32>,
    finish: Option<FinishReason>,
}

/// What chooses each candidate's tokens: the options (and their greedy
/// twin for a greedy first candidate), the processor, the listener.
struct Chooser<'a> {
    opts: &'a GenerateOptions,
    greedy: GenerateOptions,
    processor: &'a mut dyn LogitsProcessor,
    on_token: &'a mut dyn FnMut(usize, u32),
}

impl Chooser<'_> {
    /// Candidate `c`'s next token: repetition penalty, the processor
    /// (told whether `c` shares its tokens and logits with the previous
    /// candidate), sampling, stop tokens and sequences. `None` when the
    /// candidate has finished.
    fn next_token(
        &mut self,
        s: &mut Slot,
        c: usize,
        logits: &mut [f32],
        same_as_previous: bool,
    ) -> Option<u32> {
        let opts = self.opts;
        if opts.repetition_penalty != 1.0 {
            for &t in s.tokens.iter() {
                let l = &mut logits[t as usize];
                *l = if *l > 0.0 {
                    *l / opts.repetition_penalty
                } else {
                    *l * opts.repetition_penalty
                };
            }
        }
        if same_as_previous {
            self.processor.process_same(c, &s.tokens, logits);
        } else {
            self.processor.process(c, &s.tokens, logits);
        }
        let o = if c == 0 && opts.greedy_first {
            &self.greedy
        } else {
            opts
        };
        let (tok, lp) = sample(logits, o, &mut s.rng);
        if opts.stop_tokens.contains(&tok) {
            s.finish = Some(FinishReason::Stop);
            return None;
        }
        s.tokens.push(tok);
        s.logprobs.push(lp);
        (self.on_token)(c, tok);
        if let Some(q) = opts
            .stop_sequences
            .iter()
            .find(|q| !q.is_empty() && s.tokens.ends_with(q))
        {
            s.tokens.truncate(s.tokens.len() - q.len());
            s.logprobs.truncate(s.tokens.len());
            s.finish = Some(FinishReason::Stop);
            return None;
        }
        Some(tok)
    }
}

/// The tokens top-k and top-p keep, most probable first. A full sort of
/// the vocabulary per candidate per step (49k entries) would cost more
/// than the model's forward pass on small models, so only the head of the
/// distribution is selected and sorted, widening when top-p needs more.
fn nucleus(logits: &[f32], lp: &[f32], opts: &GenerateOptions) -> Vec<usize> {
    let mut all: Vec<usize> = (0..logits.len())
        .filter(|&i| logits[i].is_finite())
        .collect();
    if opts.top_k == 0 && opts.top_p >= 1.0 {
        return all;
    }
    let by_logit = |a: &usize, b: &usize| logits[*b].total_cmp(&logits[*a]);
    let mut head = if opts.top_k > 0 { opts.top_k } else { 64 };
    loop {
        let mut order = if head < all.len() {
            let (top, _, _) = all.select_nth_unstable_by(head, by_logit);
            top.to_vec()
        } else {
            all.clone()
        };
        order.sort_by(by_logit);
        let mut acc = 0.0;
        let mut keep = order.len();
        if opts.top_p < 1.0 {
            for (j, &i) in order.iter().enumerate() {
                acc += lp[i].exp();
                if acc >= opts.top_p {
                    keep = j + 1;
                    break;
                }
            }
        }
        let settled =
            opts.top_k > 0 || head >= all.len() || (opts.top_p < 1.0 && keep < order.len());
        if settled {
            order.truncate(keep.max(1));
            return order;
        }
        head = (head * 8).min(all.len());
        if head == all.len() {
            all.sort_by(by_logit);
        }
    }
}

/// Generates `opts.n` candidates for `prompt`. The prompt runs once; its
/// KV cache is shared by the candidates, and all unfinished ones advance
/// together, one batched forward pass per step (the weights are read once
/// per step, not once per candidate), candidates with the same tokens so
/// far in one row of the batch. Each candidate has its
/// own RNG stream (`seed + index`), so its tokens do not depend on the
/// others. `on_token(candidate, token)` streams tokens as they are chosen.
pub fn generate(
    model: &Llama,
    prompt: &[u32],
    opts: &GenerateOptions,
    processor: &mut dyn LogitsProcessor,
    on_token: &mut dyn FnMut(usize, u32),
) -> Result<Vec<Candidate>> {
    generate_cached(model, prompt, opts, None, processor, on_token)
}

/// [`generate`] with a prefix cache: the first `prefix_len` tokens of the
/// prompt are looked up in (or added to) `cache`.
pub fn generate_cached(
    model: &Llama,
    prompt: &[u32],
    opts: &GenerateOptions,
    prefix: Option<(&PrefixCache, usize)>,
    processor: &mut dyn LogitsProcessor,
    on_token: &mut dyn FnMut(usize, u32),
) -> Result<Vec<Candidate>> {
    let adapter = opts.adapter.resolve(model);
    let n = opts.n.max(1);
    let (cache, first) = prefill(model, prompt, adapter, prefix)?;
    // Candidates whose tokens so far are the same share one batch row (a
    // lane): their logits are the same, and sampling from a confident
    // model repeats a candidate's tokens often (the fine-tuned 135M model
    // wrote five identical candidates for 17 of the 147 ERP dev questions,
    // and shares long prefixes on most others). A lane splits, copying
    // its cache row, where its candidates sample different tokens. One
    // candidate decodes over shared positions too: the same path, in the
    // form the CPU kernel reads fastest (`KvCache::expand`), whatever `n`.
    let mut cache = cache.expand(1)?;
    let mut slots: Vec<Slot> = (0..n)
        .map(|c| Slot {
            rng: ChaCha8Rng::seed_from_u64(opts.seed.wrapping_add(c as u64)),
            tokens: Vec::new(),
            logprobs: Vec::new(),
            finish: None,
        })
        .collect();
    // Per batch row: its candidates (ascending) and their logits.
    let mut lanes: Vec<Vec<usize>> = vec![(0..n).collect()];
    let mut rows: Vec<Vec<f32>> = vec![first];
    let mut chooser = Chooser {
        opts,
        greedy: GenerateOptions {
            temperature: 0.0,
            ..opts.clone()
        },
        processor,
        on_token,
    };
    let pass = Pass {
        adapter,
        ..Pass::last()
    };
    for step in 0..opts.max_new_tokens {
        // The next step's lanes: the row each continues and its token.
        let mut next: Vec<(u32, u32, Vec<usize>)> = Vec::with_capacity(lanes.len());
        for (lane, (members, lane_logits)) in lanes.iter().zip(rows.iter_mut()).enumerate() {
            let first_split = next.len();
            for (i, &c) in members.iter().enumerate() {
                let mut logits = if i + 1 == members.len() {
                    std::mem::take(lane_logits)
                } else {
                    lane_logits.clone()
                };
                let Some(tok) = chooser.next_token(&mut slots[c], c, &mut logits, i > 0) else {
                    continue;
                };
                match next[first_split..].iter_mut().find(|(_, t, _)| *t == tok) {
                    Some((_, _, same)) => same.push(c),
                    None => next.push((lane as u32, tok, vec![c])),
                }
            }
        }
        if next.is_empty() || step + 1 == opts.max_new_tokens {
            break;
        }
        let from: Vec<u32> = next.iter().map(|(row, _, _)| *row).collect();
        if !from.iter().copied().eq(0..lanes.len() as u32) {
            cache.select(&from)?;
        }
        let ids: Vec<u32> = next.iter().map(|(_, t, _)| *t).collect();
        lanes = next.into_iter().map(|(_, _, members)| members).collect();
        let ids = Tensor::from_vec(ids, (lanes.len(), 1), model.device())?;
        rows = model
            .forward_batch(&ids, &mut cache, pass)?
            .squeeze(1)?
            .to_vec2()?;
    }
    Ok(slots
        .into_iter()
        .map(|s| Candidate {
            tokens: s.tokens,
            logprobs: s.logprobs,
            finish: s.finish.unwrap_or(FinishReason::Length),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The full-sort definition the partial selection must reproduce.
    fn naive(logits: &[f32], opts: &GenerateOptions) -> Vec<usize> {
        let lp = log_softmax(logits);
        let mut order: Vec<usize> = (0..logits.len()).collect();
        order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
        if opts.top_k > 0 {
            order.truncate(opts.top_k);
        }
        if opts.top_p < 1.0 {
            let mut acc = 0.0;
            let keep = order
                .iter()
                .position(|&i| {
                    acc += lp[i].exp();
                    acc >= opts.top_p
                })
                .map_or(order.len(), |j| j + 1);
            order.truncate(keep);
        }
        order
    }

    #[test]
    fn nucleus_matches_a_full_sort() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for (spread, top_k, top_p) in [
            (1.0, 0, 0.9),
            (0.1, 0, 0.99),
            (5.0, 40, 0.95),
            (0.01, 0, 0.5),
            (2.0, 10, 1.0),
        ] {
            let logits: Vec<f32> = (0..5000)
                .map(|_| rng.random::<f32>() * spread * 10.0)
                .collect();
            let opts = GenerateOptions {
                top_k,
                top_p,
                temperature: 1.0,
                ..GenerateOptions::default()
            };
            let lp = log_softmax(&logits);
            assert_eq!(
                nucleus(&logits, &lp, &opts),
                naive(&logits, &opts),
                "spread {spread} k {top_k} p {top_p}"
            );
        }
    }
}
