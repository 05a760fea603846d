//! The cross-entropy ops of training: the negative log-likelihood of
//! each labelled row, forward and backward in single nodes that run over
//! the vocabulary in parallel, and fused with the vocabulary projection
//! where the model's head is frozen.

use candle_core::{CpuStorage, CustomOp1, Device, InplaceOp1, Layout, Result, Shape, Tensor};
use glrl_model::par::{par_chunks, slice, with_f32};
use std::sync::Mutex;

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
    check_labels(labels, n, v)?;
    logits.contiguous()?.apply_op1(CrossEntropy {
        labels: labels.to_vec(),
    })
}

struct CrossEntropy {
    labels: Vec<u32>,
}

/// One label per row, each a token of the vocabulary of `v`.
fn check_labels(labels: &[u32], n: usize, v: usize) -> Result<()> {
    if labels.len() != n || labels.iter().any(|&l| l as usize >= v) {
        candle_core::bail!(
            "cross-entropy: {} labels for {n} rows of {v} logits",
            labels.len()
        );
    }
    Ok(())
}

/// `(max, Σ exp(x - max))` of a row.
fn row_stats(row: &[f32]) -> (f32, f32) {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    (m, row.iter().map(|x| (x - m).exp()).sum())
}

/// Per row of `logits` (`labels.len()` rows of `v`), `lse - x[label]`.
fn nll_rows(logits: &[f32], v: usize, labels: &[u32]) -> Result<Vec<f32>> {
    let mut out = vec![0f32; labels.len()];
    par_chunks([&mut out], 1, |first, [part]| {
        for (i, o) in (first..).zip(part.iter_mut()) {
            let row = &logits[i * v..(i + 1) * v];
            let (m, sum) = row_stats(row);
            *o = m + sum.ln() - row[labels[i] as usize];
        }
    })?;
    Ok(out)
}

/// Turns logits into the NLL's gradient in place, `(softmax − onehot)·g`
/// per row. The forward's per-row result is `lse − x[label]`, so each
/// row's log-sum-exp comes back without another pass over the row.
struct NllGrad<'a> {
    labels: &'a [u32],
    nll: &'a [f32],
    g: &'a [f32],
}

impl InplaceOp1 for NllGrad<'_> {
    fn name(&self) -> &'static str {
        "cross-entropy-grad"
    }

    fn cpu_fwd(&self, s: &mut CpuStorage, l: &Layout) -> Result<()> {
        let (CpuStorage::F32(data), Some((a, b))) = (s, l.contiguous_offsets()) else {
            candle_core::bail!("cross-entropy needs contiguous f32 logits");
        };
        let v = l.shape().dims()[1];
        par_chunks([&mut data[a..b]], v, |first, [part]| {
            for (i, row) in (first..).zip(part.chunks_mut(v)) {
                let y = self.labels[i] as usize;
                let (lse, g) = (self.nll[i] + row[y], self.g[i]);
                for x in row.iter_mut() {
                    *x = (*x - lse).exp() * g;
                }
                row[y] -= g;
            }
        })
    }
}

/// `logits`, owned, made into their gradient (see [`NllGrad`]).
fn nll_grad(logits: Tensor, labels: &[u32], nll: &Tensor, g: &Tensor) -> Result<Tensor> {
    let (nll, g): (Vec<f32>, Vec<f32>) = (nll.to_vec1()?, g.to_vec1()?);
    logits.inplace_op1(&NllGrad {
        labels,
        nll: &nll,
        g: &g,
    })?;
    Ok(logits)
}

impl CustomOp1 for CrossEntropy {
    fn name(&self) -> &'static str {
        "cross-entropy"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let out = nll_rows(slice(s, l)?, l.shape().dims()[1], &self.labels)?;
        Ok((CpuStorage::F32(out), Shape::from(self.labels.len())))
    }

    fn bwd(&self, logits: &Tensor, res: &Tensor, g: &Tensor) -> Result<Option<Tensor>> {
        let d = nll_grad(logits.detach().copy()?, &self.labels, res, g)?;
        Ok(Some(d))
    }
}

/// Per row the NLL of `labels` under `states · headᵀ`: the vocabulary
/// projection and the cross-entropy in one op, differentiable in
/// `states` (`[n, hidden]`; `head` `[vocab, hidden]` is frozen). The
/// logits live inside the op from the forward to the backward, which
/// turns them into their own gradient in place: the graph never holds a
/// vocabulary-wide tensor, and the backward allocates none (separately,
/// the logits, a copy of them, their gradient and its zero-initialised
/// accumulator were four of them, 100 MB each in a 512-token step).
pub fn head_cross_entropy_rows(states: &Tensor, head: &Tensor, labels: &[u32]) -> Result<Tensor> {
    check_labels(labels, states.dims2()?.0, head.dim(0)?)?;
    states.contiguous()?.apply_op1(HeadCrossEntropy {
        head: head.clone(),
        labels: labels.to_vec(),
        logits: Mutex::new(None),
    })
}

struct HeadCrossEntropy {
    head: Tensor,
    labels: Vec<u32>,
    logits: Mutex<Option<Tensor>>,
}

impl CustomOp1 for HeadCrossEntropy {
    fn name(&self) -> &'static str {
        "head-cross-entropy"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = Tensor::from_slice(slice(s, l)?, l.shape(), &Device::Cpu)?;
        let logits = x.matmul(&self.head.t()?)?;
        let out = with_f32(&logits, |z| nll_rows(z, self.head.dim(0)?, &self.labels))?;
        if let Ok(mut kept) = self.logits.lock() {
            *kept = Some(logits);
        }
        Ok((CpuStorage::F32(out), Shape::from(self.labels.len())))
    }

    fn bwd(&self, x: &Tensor, res: &Tensor, g: &Tensor) -> Result<Option<Tensor>> {
        // A second backward through the same graph finds the logits
        // taken: it recomputes them.
        let kept = self.logits.lock().ok().and_then(|mut k| k.take());
        let logits = match kept {
            Some(z) => z,
            None => x.detach().matmul(&self.head.t()?)?,
        };
        nll_grad(logits, &self.labels, res, g)?
            .matmul(&self.head)
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Var, D};

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

    #[test]
    fn the_head_fused_with_the_loss_matches_logits_then_loss() {
        // Rows enough that both threads take some, and a row weighting
        // (as GRPO's per-token advantages give) to carry through.
        let dev = &Device::Cpu;
        let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (37, 16), dev).unwrap()).unwrap();
        let head = Tensor::randn(0f32, 1.0, (300, 16), dev).unwrap();
        let labels: Vec<u32> = (0..37u32).map(|i| (i * 53) % 300).collect();
        let weights = Tensor::arange(1f32, 38.0, dev).unwrap();
        let fused = head_cross_entropy_rows(x.as_tensor(), &head, &labels).unwrap();
        let logits = x.as_tensor().matmul(&head.t().unwrap()).unwrap();
        let plain = cross_entropy_rows(&logits, &labels).unwrap();
        let gap = (&fused - &plain)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(gap < 1e-4, "losses differ by {gap}");
        let ga = (fused * &weights)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let gb = (plain * &weights)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let (ga, gb) = (
            ga.get(x.as_tensor()).unwrap(),
            gb.get(x.as_tensor()).unwrap(),
        );
        let scale = gb
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let d = (ga - gb)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(
            scale > 0.1 && d < 1e-4 * scale,
            "gradients differ by {d} of {scale}"
        );
        assert!(head_cross_entropy_rows(x.as_tensor(), &head, &labels[1..]).is_err());
        assert!(head_cross_entropy_rows(x.as_tensor(), &head, &[300; 37]).is_err());
    }
}
