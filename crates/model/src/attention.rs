//! Attention of one new token per sequence over its KV cache (decoding),
//! as one CPU kernel: `softmax(q·kᵀ·scale)·v` per query head.
//!
//! Why: through tensor ops this is two batched matmuls of tiny matrices
//! (b × kv_heads of them) plus a softmax, and candle dispatches every tiny
//! GEMM to its thread pool; measured at 5 candidates × 576 positions that
//! cost ~0.8 ms per layer, most of a decoding step. Inference only: no
//! backward (training never decodes).

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

struct DecodeAttention {
    scale: f32,
}

/// Element offset of `[i0, i1, i2, 0]` in a rank-4 layout.
fn at(l: &Layout, i0: usize, i1: usize, i2: usize) -> usize {
    let s = l.stride();
    l.start_offset() + i0 * s[0] + i1 * s[1] + i2 * s[2]
}

impl CustomOp3 for DecodeAttention {
    fn name(&self) -> &'static str {
        "decode-attention"
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
        let (CpuStorage::F32(q), CpuStorage::F32(k), CpuStorage::F32(v)) = (qs, ks, vs) else {
            candle_core::bail!("decode-attention needs f32 tensors");
        };
        let (b, h, one, d) = ql.shape().dims4()?;
        let (kb, kvh, t, kd) = kl.shape().dims4()?;
        if one != 1 || kb != b || kd != d || vl.shape() != kl.shape() || h % kvh != 0 {
            candle_core::bail!(
                "decode-attention shapes: q {:?}, k {:?}, v {:?}",
                ql.shape(),
                kl.shape(),
                vl.shape()
            );
        }
        if ql.stride()[3] != 1 || kl.stride()[3] != 1 || vl.stride()[3] != 1 {
            candle_core::bail!("decode-attention needs unit stride on the head dimension");
        }
        let rep = h / kvh;
        let mut out = vec![0f32; b * h * d];
        let work = |(bh, o): (usize, &mut [f32])| {
            let (bi, hi) = (bh / h, bh % h);
            let qo = at(ql, bi, hi, 0);
            let qv = &q[qo..qo + d];
            let kv = hi / rep;
            let mut scores: Vec<f32> = (0..t)
                .map(|p| {
                    let ko = at(kl, bi, kv, p);
                    dot(qv, &k[ko..ko + d]) * self.scale
                })
                .collect();
            let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0.0;
            for s in scores.iter_mut() {
                *s = (*s - max).exp();
                sum += *s;
            }
            for (p, s) in scores.iter().enumerate() {
                let w = s / sum;
                let vo = at(vl, bi, kv, p);
                for (o, x) in o.iter_mut().zip(&v[vo..vo + d]) {
                    *o += w * x;
                }
            }
        };
        // Split across candle's own CPU pool (the one its quantised matmul
        // uses): a second pool such as rayon's would spin against it on
        // few cores. Each item writes its own d outputs.
        let base = out.as_mut_ptr() as usize;
        candle_core::utils::barrier_pool().execute_chunked(b * h, |range| {
            for bh in range {
                // SAFETY: items are disjoint `d`-long slices of `out`, which
                // outlives the pool call.
                let o =
                    unsafe { std::slice::from_raw_parts_mut((base as *mut f32).add(bh * d), d) };
                work((bh, o));
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((b, h, 1, d))))
    }
}

/// Eight independent partial sums, so the compiler vectorises the loop
/// (a plain `sum()` is a strict sequential FP chain).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `q: [b, heads, 1, d]`, `k, v: [b, kv_heads, positions, d]` (strided
/// views of the cache are fine) → `[b, heads, 1, d]`.
pub(crate) fn decode_attention(q: &Tensor, k: &Tensor, v: &Tensor, scale: f64) -> Result<Tensor> {
    q.apply_op3_no_bwd(
        k,
        v,
        &DecodeAttention {
            scale: scale as f32,
        },
    )
}
