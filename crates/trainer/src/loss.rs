//! The SFT loss: negative log-likelihood of the target tokens only, with
//! the shared prefix computed once per micro-batch and its (differentiable)
//! KV cache reused by every example.

use crate::data::Example;
use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use glrl_model::{KvCache, Llama, Logits, Pass};

/// Σ over rows of `logsumexp(logits) - logits[label]`, as one op: a
/// pass per row forward and `softmax - onehot` backward, instead of six
/// vocabulary-wide tensors kept for the graph.
pub fn cross_entropy_sum(logits: &Tensor, labels: &[u32]) -> Result<Tensor> {
    cross_entropy_rows(logits, labels)?.sum_all()
}

/// Per row `logsumexp(logits) - logits[label]` (the token's negative
/// log-probability), differentiable.
pub fn cross_entropy_rows(logits: &Tensor, labels: &[u32]) -> Result<Tensor> {
    let (n, v) = logits.dims2()?;
    if labels.len() != n || labels.iter().any(|&l| l as usize >= v) {
        candle_core::bail!(
            "cross-entropy: {} labels for {n} rows of {v} logits",
            labels.len()
        );
    }
    logits.contiguous()?.apply_op1(CrossEntropy {
        labels: labels.to_vec(),
    })
}

struct CrossEntropy {
    labels: Vec<u32>,
}

/// `(max, Σ exp(x - max))` of a row.
fn row_stats(row: &[f32]) -> (f32, f32) {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    (m, row.iter().map(|x| (x - m).exp()).sum())
}

impl CustomOp1 for CrossEntropy {
    fn name(&self) -> &'static str {
        "cross-entropy"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (CpuStorage::F32(data), Some((a, b))) = (s, l.contiguous_offsets()) else {
            candle_core::bail!("cross-entropy needs contiguous f32 logits");
        };
        let v = l.shape().dims()[1];
        let out: Vec<f32> = data[a..b]
            .chunks(v)
            .zip(&self.labels)
            .map(|(row, &y)| {
                let (m, sum) = row_stats(row);
                m + sum.ln() - row[y as usize]
            })
            .collect();
        Ok((CpuStorage::F32(out), Shape::from(self.labels.len())))
    }

    fn bwd(&self, logits: &Tensor, _res: &Tensor, g: &Tensor) -> Result<Option<Tensor>> {
        let (n, v) = logits.dims2()?;
        let x: Vec<f32> = logits.detach().flatten_all()?.to_vec1()?;
        let g: Vec<f32> = g.to_vec1()?;
        let mut d = vec![0f32; n * v];
        for (i, (row, out)) in x.chunks(v).zip(d.chunks_mut(v)).enumerate() {
            let (m, sum) = row_stats(row);
            for (o, xi) in out.iter_mut().zip(row) {
                *o = (xi - m).exp() / sum * g[i];
            }
            out[self.labels[i] as usize] -= g[i];
        }
        Ok(Some(Tensor::from_vec(d, (n, v), logits.device())?))
    }
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
    let rows: Vec<(&[u32], &[u32])> = batch
        .iter()
        .map(|e| (e.prompt.as_slice(), e.target.as_slice()))
        .collect();
    let logits = completion_logits(model, adapter, train, true, prefix, &rows)?;
    let labels: Vec<u32> = batch
        .iter()
        .flat_map(|e| e.target.iter().copied())
        .collect();
    Ok((cross_entropy_sum(&logits, &labels)?, labels.len()))
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
        logits: Logits::Spans(&spans),
        adapter,
        train,
        grad,
    };
    // The differentiable cache concatenates, never writes in place: the
    // prefix itself is not changed.
    let mut cache = prefix.broadcast_rows(rows.len())?;
    model.forward_batch(&input, &mut cache, pass)?.squeeze(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var, D};

    #[test]
    fn fused_cross_entropy_matches_the_composition_and_its_gradient() {
        let x =
            Var::from_tensor(&Tensor::randn(0f32, 3.0, (4, 50), &Device::Cpu).unwrap()).unwrap();
        let labels = [3u32, 0, 49, 17];
        let ours = cross_entropy_sum(x.as_tensor(), &labels).unwrap();
        let t = x.as_tensor();
        let m = t.max_keepdim(D::Minus1).unwrap().detach();
        let lse = (t
            .broadcast_sub(&m)
            .unwrap()
            .exp()
            .unwrap()
            .sum_keepdim(D::Minus1)
            .unwrap()
            .log()
            .unwrap()
            + m)
            .unwrap();
        let idx = Tensor::new(&labels[..], &Device::Cpu)
            .unwrap()
            .unsqueeze(1)
            .unwrap();
        let reference = (lse - t.gather(&idx, 1).unwrap())
            .unwrap()
            .sum_all()
            .unwrap();
        let (a, b) = (
            ours.to_scalar::<f32>().unwrap(),
            reference.to_scalar::<f32>().unwrap(),
        );
        assert!((a - b).abs() < 1e-4 * b.abs(), "{a} vs {b}");
        let ga = ours.backward().unwrap();
        let gb = reference.backward().unwrap();
        let d = (ga.get(t).unwrap() - gb.get(t).unwrap())
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap();
        assert!(d.to_scalar::<f32>().unwrap() < 1e-5);
        assert!(cross_entropy_sum(t, &[1, 2]).is_err());
        assert!(cross_entropy_sum(t, &[1, 2, 3, 50]).is_err());
    }
}
