//! Two attention kernels the tensor-op composition does badly on CPU.
//!
//! Decoding: one new token per sequence over its KV cache (`decode.rs`).
//!
//! Training: causal attention whose backward recomputes the probabilities
//! instead of keeping every score-sized intermediate in the graph.
//!
//! Both, and every pass with many rows of scores, take the softmax of
//! `decode/rows.rs`: the decode kernel's vectorised `exp` on candle's pool.

mod decode;

pub use decode::{decode_attention, decode_keys, decode_values, softmax_last};

use crate::par::{par_chunks, with_f32};
use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor, D};

/// Causal attention for training with a memory-light backward: the
/// forward keeps no scores or probabilities (the autograd graph holds only
/// q, k, v and the output), the backward recomputes the probabilities, as
/// flash attention does. Through composed tensor ops the graph held about
/// six score-sized tensors per layer: ~4 GB for one 472-token example over
/// a 919-token prefix on SmolLM2.
struct TrainAttention {
    scale: f64,
}

impl TrainAttention {
    /// Probabilities `[b, kvh, rows, positions]` for `q` rows grouped
    /// `(rep, t)`: row i of a group sits at position `positions - t + i`
    /// and sees the positions up to its own. Scaling, the causal mask and
    /// the softmax are one pass per row on every core, over the visible
    /// positions only (the rest stay 0): as separate candle ops they ran
    /// one after another on the main thread, and the exponentials of the
    /// masked half of a square block were computed to give 0.
    fn probs(&self, q: &Tensor, k: &Tensor, t: usize) -> Result<Tensor> {
        let s = q.matmul(&k.t()?)?;
        let total = k.dim(2)?;
        let start = total - t;
        let scale = self.scale as f32;
        let mut p = vec![0f32; s.elem_count()];
        with_f32(&s, |s| {
            par_chunks([&mut p], total, |first, [part]| {
                let rows = part.chunks_mut(total).zip(s[first * total..].chunks(total));
                for (r, (p, s)) in (first..).zip(rows) {
                    let seen = start + r % t + 1;
                    for (p, s) in p[..seen].iter_mut().zip(&s[..seen]) {
                        *p = s * scale;
                    }
                    decode::softmax_row(&mut p[..seen]);
                }
            })
        })?;
        Tensor::from_vec(p, s.shape(), s.device())
    }

    /// The scores' gradient, scaled for the products that give q's and
    /// k's: `scale · p ⊙ (dp − Σ_row dp ⊙ p)`, one pass per row on every
    /// core (five candle ops before, serial).
    fn score_grad(&self, p: &Tensor, dp: &Tensor) -> Result<Tensor> {
        let width = p.dim(D::Minus1)?;
        let scale = self.scale as f32;
        let mut ds = vec![0f32; p.elem_count()];
        with_f32(p, |p| {
            with_f32(dp, |dp| {
                par_chunks([&mut ds], width, |first, [part]| {
                    let at = first * width;
                    let rows = part
                        .chunks_mut(width)
                        .zip(p[at..].chunks(width).zip(dp[at..].chunks(width)));
                    for (ds, (p, dp)) in rows {
                        let dot: f32 = p.iter().zip(dp).map(|(p, d)| p * d).sum();
                        for ((ds, p), dp) in ds.iter_mut().zip(p).zip(dp) {
                            *ds = scale * p * (dp - dot);
                        }
                    }
                })
            })
        })?;
        Tensor::from_vec(ds, p.shape(), p.device())
    }
}

struct TrainAttentionOp {
    inner: TrainAttention,
    t: usize,
}

impl CustomOp3 for TrainAttentionOp {
    fn name(&self) -> &'static str {
        "train-attention"
    }

    fn cpu_fwd(
        &self,
        qs: &CpuStorage,
        ql: &Layout,
        ks: &CpuStorage,
        kl: &Layout,
        vs: &CpuStorage,
        vl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (q, k, v) = (
            crate::ops::input(qs, ql)?,
            crate::ops::input(ks, kl)?,
            crate::ops::input(vs, vl)?,
        );
        crate::ops::storage(self.inner.probs(&q, &k, self.t)?.matmul(&v)?)
    }

    fn bwd(
        &self,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        _out: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (q, k, v, g) = (q.detach(), k.detach(), v.detach(), g.detach());
        let p = self.inner.probs(&q, &k, self.t)?;
        let dv = p.t()?.matmul(&g)?;
        let dp = g.matmul(&v.t()?)?;
        let ds = self.inner.score_grad(&p, &dp)?;
        let dq = ds.matmul(&k)?;
        let dk = ds.t()?.matmul(&q)?;
        Ok((Some(dq), Some(dk), Some(dv)))
    }
}

/// `[t, total]`: 0 where query i (at position `total - t + i`) may see
/// position j, -inf after it.
pub(crate) fn causal_mask(t: usize, total: usize, device: &candle_core::Device) -> Result<Tensor> {
    let start = total - t;
    let m: Vec<f32> = (0..t)
        .flat_map(|i| {
            (0..total).map(move |j| {
                if j <= start + i {
                    0.0
                } else {
                    f32::NEG_INFINITY
                }
            })
        })
        .collect();
    Tensor::from_vec(m, (t, total), device)
}

/// `q: [b, kv_heads, rep·t, d]` (query heads grouped by their KV head),
/// `k, v: [b, kv_heads, positions, d]`, the last `t` positions being the
/// queries' own → `[b, kv_heads, rep·t, d]`, differentiable in q, k, v.
pub(crate) fn train_attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    t: usize,
    scale: f64,
) -> Result<Tensor> {
    let op = TrainAttentionOp {
        inner: TrainAttention { scale },
        t,
    };
    q.contiguous()?
        .apply_op3(&k.contiguous()?, &v.contiguous()?, op)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    use crate::ops::tests::max_diff;

    #[test]
    fn train_attention_matches_composed_ops_and_their_gradients() {
        let dev = Device::Cpu;
        let (b, kvh, rep, t, prefix, d) = (2, 2, 3, 5, 4, 8);
        let total = prefix + t;
        let var = |s: (usize, usize, usize, usize)| {
            Var::from_tensor(&Tensor::randn(0f32, 1.0, s, &dev).unwrap()).unwrap()
        };
        let (q, k, v) = (
            var((b, kvh, rep * t, d)),
            var((b, kvh, total, d)),
            var((b, kvh, total, d)),
        );
        let w = Tensor::randn(0f32, 1.0, (b, kvh, rep * t, d), &dev).unwrap();
        let scale = 1.0 / (d as f64).sqrt();
        let ours = train_attention(q.as_tensor(), k.as_tensor(), v.as_tensor(), t, scale).unwrap();
        // The composed reference.
        let mask: Vec<f32> = (0..t)
            .flat_map(|i| {
                (0..total).map(move |j| {
                    if j <= prefix + i {
                        0.0
                    } else {
                        f32::NEG_INFINITY
                    }
                })
            })
            .collect();
        let mask = Tensor::from_vec(mask, (t, total), &dev).unwrap();
        let s = (q.as_tensor().matmul(&k.as_tensor().t().unwrap()).unwrap() * scale)
            .unwrap()
            .reshape((b, kvh, rep, t, total))
            .unwrap()
            .broadcast_add(&mask)
            .unwrap()
            .reshape((b, kvh, rep * t, total))
            .unwrap();
        let m = s.max_keepdim(D::Minus1).unwrap().detach();
        let e = s.broadcast_sub(&m).unwrap().exp().unwrap();
        let p = e.broadcast_div(&e.sum_keepdim(D::Minus1).unwrap()).unwrap();
        let reference = p.matmul(v.as_tensor()).unwrap();
        assert!(max_diff(&ours, &reference) < 1e-5);
        let g1 = (&ours * &w).unwrap().sum_all().unwrap().backward().unwrap();
        let g2 = (&reference * &w)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        for x in [&q, &k, &v] {
            let d = max_diff(
                g1.get(x.as_tensor()).unwrap(),
                g2.get(x.as_tensor()).unwrap(),
            );
            assert!(d < 1e-4, "{d}");
        }
    }
}
