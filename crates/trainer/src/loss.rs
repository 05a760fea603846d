//! The SFT loss: negative log-likelihood of the target tokens only, with
//! the shared prefix computed once per micro-batch and its (differentiable)
//! KV cache reused by every example.

use crate::data::Example;
use candle_core::{Result, Tensor, D};
use glrl_model::{KvCache, Llama, Logits, Pass};

/// Σ over rows of `logsumexp(logits) - logits[label]`.
pub fn cross_entropy_sum(logits: &Tensor, labels: &[u32]) -> Result<Tensor> {
    let m = logits.max_keepdim(D::Minus1)?.detach();
    let lse = (logits
        .broadcast_sub(&m)?
        .exp()?
        .sum_keepdim(D::Minus1)?
        .log()?
        + m)?;
    let idx = Tensor::new(labels, logits.device())?.unsqueeze(1)?;
    let picked = logits.gather(&idx, 1)?;
    (lse - picked)?.sum_all()
}

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
    let n = ex.target.len();
    let seq: Vec<u32> = ex.prompt.iter().chain(&ex.target).copied().collect();
    let input = Tensor::new(&seq[..seq.len() - 1], model.device())?.unsqueeze(0)?;
    let pass = Pass {
        logits: Logits::Tail(n),
        adapter,
        train,
        grad: true,
    };
    // A cheap copy: the differentiable cache concatenates, never writes in place.
    let mut cache = prefix.clone();
    let logits = model.forward_batch(&input, &mut cache, pass)?.squeeze(0)?;
    Ok((cross_entropy_sum(&logits, &ex.target)?, n))
}
