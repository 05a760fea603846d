//! The SFT loss: negative log-likelihood of the target tokens only, with
//! the shared prefix computed once per micro-batch and its (differentiable)
//! KV cache reused by every example.

use crate::data::Example;
use candle_core::{Result, Tensor};
use glrl_model::{KvCache, Llama, Logits, Pass};

pub use crate::xent::{cross_entropy_rows, cross_entropy_sum, head_cross_entropy_rows};

/// The shared prefix's KV cache, computed once without a graph (fast
/// inference kernels, no activation memory) and handed to every example
/// as constants. The loss equals the full forward's exactly; the gradient
/// leaves out the path through the prefix's keys and values (the LoRA
/// change of a prefix all examples share). Keeping that path costs the
/// prefix's whole attention graph per micro-batch: ~4.5 GB at 919 tokens.
pub fn prefix_cache(model: &Llama, adapter: Option<&str>, prefix: &[u32]) -> Result<KvCache> {
    let mut cache = KvCache::default();
    if !prefix.is_empty() {
        let pass = Pass {
            logits: Logits::Last,
            adapter,
            train: false,
            grad: false,
        };
        model.forward_batch(
            &Tensor::new(prefix, model.device())?.unsqueeze(0)?,
            &mut cache,
            pass,
        )?;
    }
    cache.to_differentiable()
}

/// The summed NLL of one example's target tokens after the prefix, with
/// a graph for backward, and the number of target tokens.
pub fn example_loss(
    model: &Llama,
    adapter: Option<&str>,
    prefix: &KvCache,
    ex: &Example,
    train: bool,
) -> Result<(Tensor, usize)> {
    batch_loss(model, adapter, prefix, &[ex], train)
}

/// The summed NLL of several examples' target tokens after the prefix, in
/// one forward pass over their rows (with a graph for backward), and the
/// number of target tokens. Equals the sum of [`example_loss`] over the
/// examples: rows are padded on the right, which causal attention keeps
/// from every real position.
pub fn batch_loss(
    model: &Llama,
    adapter: Option<&str>,
    prefix: &KvCache,
    batch: &[&Example],
    train: bool,
) -> Result<(Tensor, usize)> {
    let nll = batch_nll(model, adapter, prefix, batch, train)?;
    let tokens = nll.elem_count();
    Ok((nll.sum_all()?, tokens))
}

/// Each target token's NLL over the examples' rows in one forward pass,
/// with a graph for backward.
fn batch_nll(
    model: &Llama,
    adapter: Option<&str>,
    prefix: &KvCache,
    batch: &[&Example],
    train: bool,
) -> Result<Tensor> {
    let rows: Vec<(&[u32], &[u32])> = batch
        .iter()
        .map(|e| (e.prompt.as_slice(), e.target.as_slice()))
        .collect();
    completion_nll(model, adapter, train, true, prefix, &rows)
}

/// [`batch_loss`] with each target token's NLL weighted by `(1 − p)^γ`,
/// `p` the token's probability under the model (held constant), the
/// weights rescaled to sum to the token count: the focal loss (Lin et
/// al., 2017). Most target tokens are copies the model already predicts
/// (table names from the hints, SQL restating the reasoning) and carry
/// the mean loss, while the few that decide the query (a filter or none,
/// a list or a minimum) are the ones it gets wrong (TRAINING.md, "A
/// second epoch on top of it did not help"). Returns the weighted sum
/// (for backward), the plain NLL sum (for the log) and the token count.
/// `gamma` 0 is [`batch_loss`] itself.
pub fn focal_batch_loss(
    model: &Llama,
    adapter: Option<&str>,
    prefix: &KvCache,
    batch: &[&Example],
    train: bool,
    gamma: f64,
) -> Result<(Tensor, f64, usize)> {
    if gamma == 0.0 {
        let (loss, n) = batch_loss(model, adapter, prefix, batch, train)?;
        let plain = f64::from(loss.to_scalar::<f32>()?);
        return Ok((loss, plain, n));
    }
    let nll = batch_nll(model, adapter, prefix, batch, train)?;
    let values: Vec<f32> = nll.to_vec1()?;
    let weights = focal_weights(&values, gamma);
    let plain = values.iter().map(|&v| f64::from(v)).sum();
    let w = Tensor::from_vec(weights, nll.shape(), nll.device())?;
    Ok(((nll * w)?.sum_all()?, plain, values.len()))
}

/// `(1 − e^{−nll})^γ` per token, scaled to sum to the token count (all 1
/// where every token is certain).
pub fn focal_weights(nll: &[f32], gamma: f64) -> Vec<f32> {
    let raw: Vec<f64> = nll
        .iter()
        .map(|&l| (1.0 - (-f64::from(l)).exp()).max(0.0).powf(gamma))
        .collect();
    let total: f64 = raw.iter().sum();
    if total <= f64::MIN_POSITIVE {
        return vec![1.0; nll.len()];
    }
    let scale = nll.len() as f64 / total;
    raw.iter().map(|&w| (w * scale) as f32).collect()
}

/// Logits `[Σ completion tokens, vocab]` predicting each row's completion
/// after the prefix and the row's context, all rows in one forward pass
/// (with LoRA dropout when `train`, differentiable ops when `grad`). Row
/// i's tokens come before row i+1's.
pub fn completion_logits(
    model: &Llama,
    adapter: Option<&str>,
    train: bool,
    grad: bool,
    prefix: &KvCache,
    rows: &[(&[u32], &[u32])],
) -> Result<Tensor> {
    completion_pass(model, adapter, train, grad, prefix, rows, false)
}

/// Per completion token of every row (in `completion_logits`' order), its
/// negative log-likelihood, with a graph when `grad`. Where the model's
/// head is frozen on the CPU, the vocabulary projection runs fused with
/// the loss ([`head_cross_entropy_rows`]); otherwise through the logits.
pub fn completion_nll(
    model: &Llama,
    adapter: Option<&str>,
    train: bool,
    grad: bool,
    prefix: &KvCache,
    rows: &[(&[u32], &[u32])],
) -> Result<Tensor> {
    let labels: Vec<u32> = rows.iter().flat_map(|(_, t)| t.iter().copied()).collect();
    let fused = model.frozen_head();
    let out = completion_pass(model, adapter, train, grad, prefix, rows, fused.is_some())?;
    let out = if grad { out } else { out.detach() };
    match fused {
        Some(head) => head_cross_entropy_rows(&out, &head, &labels),
        None => cross_entropy_rows(&out, &labels),
    }
}

/// `completion_logits`, or with `states` the final hidden states
/// `[Σ completion tokens, hidden]` those logits would project.
fn completion_pass(
    model: &Llama,
    adapter: Option<&str>,
    train: bool,
    grad: bool,
    prefix: &KvCache,
    rows: &[(&[u32], &[u32])],
    states: bool,
) -> Result<Tensor> {
    if rows.is_empty() || rows.iter().any(|(c, t)| c.is_empty() || t.is_empty()) {
        candle_core::bail!("every row needs a context and a completion");
    }
    let width = rows
        .iter()
        .map(|(c, t)| c.len() + t.len() - 1)
        .max()
        .unwrap_or(0);
    let mut ids = Vec::with_capacity(rows.len() * width);
    let mut spans = Vec::with_capacity(rows.len());
    for (context, completion) in rows {
        let real = context.len() + completion.len() - 1;
        ids.extend(context.iter().chain(completion.iter()).take(real));
        // Any id will do: padding sits after every real position.
        ids.extend(std::iter::repeat_n(0, width - real));
        spans.push((context.len() - 1, completion.len()));
    }
    let input = Tensor::from_vec(ids, (rows.len(), width), model.device())?;
    let pass = Pass {
        logits: if states {
            Logits::States(&spans)
        } else {
            Logits::Spans(&spans)
        },
        adapter,
        train,
        grad,
    };
    // The differentiable cache concatenates, never writes in place: the
    // prefix itself is not changed.
    let mut cache = prefix.broadcast_rows(rows.len())?;
    model.forward_batch(&input, &mut cache, pass)?.squeeze(0)
}
