//! Decode attention: one new token per sequence over its KV cache.
//! Through tensor ops this is two batched matmuls of tiny matrices
//! (b × kv_heads of them) plus a softmax, and candle dispatches every tiny
//! GEMM to its thread pool; measured at 5 candidates × 576 positions that
//! cost ~0.8 ms per layer, most of a decoding step. One kernel does it
//! instead (no backward: training never decodes), over the prompt's
//! positions shared by all candidates and each candidate's own.

use candle_core::{CpuStorage, Layout, Result, Tensor};

/// Element offset of `[i0, i1, i2, 0]` in a rank-4 layout.
fn at(l: &Layout, i0: usize, i1: usize, i2: usize) -> usize {
    let s = l.stride();
    l.start_offset() + i0 * s[0] + i1 * s[1] + i2 * s[2]
}

/// One K or V input of the decode kernel: its f32 data and layout, and
/// whether its batch dimension is 1 for every query row (shared positions).
struct Kv<'a> {
    data: &'a [f32],
    layout: &'a Layout,
    positions: usize,
    shared: bool,
}

impl Kv<'_> {
    /// The `d` values of position `p` of KV head `g` for batch row `bi`.
    fn row(&self, bi: usize, g: usize, p: usize, d: usize) -> &[f32] {
        let o = at(self.layout, if self.shared { 0 } else { bi }, g, p);
        &self.data[o..o + d]
    }
}

/// The f32 slice behind a CPU tensor.
fn cpu_f32<'a>(guard: &'a candle_core::StorageRef<'_>) -> Result<&'a [f32]> {
    match &**guard {
        candle_core::Storage::Cpu(CpuStorage::F32(x)) => Ok(x),
        _ => candle_core::bail!("decode-attention needs f32 tensors on the CPU"),
    }
}

/// Element offset checks: unit stride on the head dimension and the
/// expected `[b, kv_heads, _, d]` shape.
fn check(l: &Layout, b: usize, kvh: usize, d: usize) -> Result<usize> {
    let (lb, lh, t, ld) = l.shape().dims4()?;
    if (lb != b && lb != 1) || lh != kvh || ld != d || l.stride()[3] != 1 {
        candle_core::bail!("decode-attention: k/v of shape {:?}", l.shape());
    }
    Ok(t)
}

/// `q: [b, heads, 1, d]` over the keys and values of the positions every
/// row shares (`[1, kv_heads, p, d]`, optional) then of each row's own
/// (`[b, kv_heads, t, d]`); strided views are fine. → `[b, heads, 1, d]`.
///
/// One work item is a (KV head, batch row): it scores that head's `rep`
/// query heads together, so each key and value row is read once for them
/// rather than once per query head, and the items of one KV head run one
/// after another on a thread, so the shared rows they all read stay in
/// cache. What remains is arithmetic (`perf`: the kernel's share did not
/// fall with the reads), hence the AVX2+FMA copy of the work ([`Job`]).
pub(crate) fn decode_attention(
    q: &Tensor,
    shared: Option<(&Tensor, &Tensor)>,
    k: &Tensor,
    v: &Tensor,
    scale: f64,
) -> Result<Tensor> {
    decode_attention_on(q, shared, k, v, scale, fma_available())
}

/// [`decode_attention`] with the FMA code path chosen by the caller
/// (tests run both).
fn decode_attention_on(
    q: &Tensor,
    shared: Option<(&Tensor, &Tensor)>,
    k: &Tensor,
    v: &Tensor,
    scale: f64,
    fma: bool,
) -> Result<Tensor> {
    let scale = scale as f32;
    let (b, h, one, d) = q.dims4()?;
    let kvh = k.dim(1)?;
    if one != 1 || h % kvh != 0 || k.shape() != v.shape() {
        candle_core::bail!(
            "decode-attention shapes: q {:?}, k {:?}, v {:?}",
            q.shape(),
            k.shape(),
            v.shape()
        );
    }
    let rep = h / kvh;
    let q = q.contiguous()?;
    let (qg, ql) = q.storage_and_layout();
    let qd = cpu_f32(&qg)?;
    let (kg, kl) = k.storage_and_layout();
    let (vg, vl) = v.storage_and_layout();
    let own_t = check(kl, b, kvh, d)?;
    check(vl, b, kvh, d)?;
    if kl.dims()[0] != b {
        candle_core::bail!("decode-attention: own keys need one row per query row");
    }
    let mut parts = Vec::with_capacity(2);
    let shared_guards = shared.map(|(sk, sv)| (sk.storage_and_layout(), sv.storage_and_layout()));
    if let Some(((skg, skl), (svg, svl))) = &shared_guards {
        let p = check(skl, 1, kvh, d)?;
        if skl.shape() != svl.shape() {
            candle_core::bail!("decode-attention: shared k and v differ in shape");
        }
        parts.push((
            Kv {
                data: cpu_f32(skg)?,
                layout: skl,
                positions: p,
                shared: true,
            },
            Kv {
                data: cpu_f32(svg)?,
                layout: svl,
                positions: p,
                shared: true,
            },
        ));
    }
    parts.push((
        Kv {
            data: cpu_f32(&kg)?,
            layout: kl,
            positions: own_t,
            shared: false,
        },
        Kv {
            data: cpu_f32(&vg)?,
            layout: vl,
            positions: own_t,
            shared: false,
        },
    ));
    let job = Job {
        q: qd,
        ql,
        total: parts.iter().map(|(k, _)| k.positions).sum(),
        parts: &parts,
        b,
        rep,
        d,
        scale,
    };
    let mut out = vec![0f32; b * h * d];
    // Split across candle's own CPU pool (the one its quantised matmul
    // uses): a second pool such as rayon's would spin against it on few
    // cores. Item (g, bi) writes the `rep · d` outputs of heads
    // g·rep … g·rep+rep−1 of row bi, which are contiguous and disjoint.
    let base = out.as_mut_ptr() as usize;
    candle_core::utils::barrier_pool().execute_chunked(b * kvh, |range| {
        for item in range {
            let (g, bi) = (item / b, item % b);
            // SAFETY: see above; `out` outlives the pool call.
            let o = unsafe {
                std::slice::from_raw_parts_mut(
                    (base as *mut f32).add((bi * h + g * rep) * d),
                    rep * d,
                )
            };
            job.run(item, o, fma);
        }
    });
    drop((qg, kg, vg, shared_guards));
    Tensor::from_vec(out, (b, h, 1, d), q.device())
}

/// What every work item of one decode-attention call reads.
struct Job<'a> {
    q: &'a [f32],
    ql: &'a Layout,
    parts: &'a [(Kv<'a>, Kv<'a>)],
    total: usize,
    b: usize,
    rep: usize,
    d: usize,
    scale: f32,
}

impl Job<'_> {
    fn run(&self, item: usize, o: &mut [f32], fma: bool) {
        #[cfg(target_arch = "x86_64")]
        if fma {
            // SAFETY: the CPU has AVX2 and FMA (checked at run time).
            unsafe { self.run_fma(item, o) };
            return;
        }
        let _ = fma;
        self.item::<false>(item, o);
    }

    /// The same code compiled for AVX2 and FMA: the build targets the
    /// x86-64 baseline (SSE2, no FMA), which left this kernel a quarter
    /// of a decoding step's cycles (`perf`).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_fma(&self, item: usize, o: &mut [f32]) {
        self.item::<true>(item, o);
    }

    #[inline(always)]
    fn item<const FMA: bool>(&self, item: usize, o: &mut [f32]) {
        let Job {
            q,
            ql,
            parts,
            total,
            b,
            rep,
            d,
            scale,
        } = *self;
        let (g, bi) = (item / b, item % b);
        let qs: Vec<&[f32]> = (0..rep)
            .map(|r| {
                let qo = at(ql, bi, g * rep + r, 0);
                &q[qo..qo + d]
            })
            .collect();
        // scores[r * total + p]
        let mut scores = vec![0f32; rep * total];
        let mut p0 = 0;
        for (kp, _) in parts {
            for p in 0..kp.positions {
                let kr = kp.row(bi, g, p, d);
                for (r, qv) in qs.iter().enumerate() {
                    scores[r * total + p0 + p] = dot::<FMA>(qv, kr) * scale;
                }
            }
            p0 += kp.positions;
        }
        for s in scores.chunks_mut(total.max(1)) {
            let max = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0.0;
            for x in s.iter_mut() {
                *x = (*x - max).exp();
                sum += *x;
            }
            for x in s.iter_mut() {
                *x /= sum;
            }
        }
        let mut p0 = 0;
        for (_, vp) in parts {
            for p in 0..vp.positions {
                let vr = vp.row(bi, g, p, d);
                for (r, or) in o.chunks_mut(d).enumerate() {
                    let w = scores[r * total + p0 + p];
                    for (x, y) in or.iter_mut().zip(vr) {
                        *x = madd::<FMA>(w, *y, *x);
                    }
                }
            }
            p0 += vp.positions;
        }
    }
}

fn fma_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static FMA: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *FMA.get_or_init(|| {
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// `a·b + c`, fused where the caller is compiled with FMA (without it
/// `mul_add` would be a slow library call).
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// Eight independent partial sums, so the compiler vectorises the loop
/// (a plain `sum()` is a strict sequential FP chain).
#[inline(always)]
fn dot<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
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
            acc[i] = madd::<FMA>(x[i], y[i], acc[i]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::max_diff;
    use candle_core::{Device, D};

    /// Softmax(q·kᵀ·scale)·v per query head, K/V head `h / rep`, by
    /// composed ops over K/V `[b, kvh, t, d]`.
    fn reference(q: &Tensor, k: &Tensor, v: &Tensor, scale: f64) -> Tensor {
        let (b, h, _, d) = q.dims4().unwrap();
        let kvh = k.dim(1).unwrap();
        let q = q.reshape((b, kvh, h / kvh, d)).unwrap();
        let (k, v) = (&k.contiguous().unwrap(), &v.contiguous().unwrap());
        let s = (q.matmul(&k.t().unwrap()).unwrap() * scale).unwrap();
        let m = s.max_keepdim(D::Minus1).unwrap();
        let e = s.broadcast_sub(&m).unwrap().exp().unwrap();
        let p = e.broadcast_div(&e.sum_keepdim(D::Minus1).unwrap()).unwrap();
        p.matmul(v).unwrap().reshape((b, h, 1, d)).unwrap()
    }

    #[test]
    fn decode_attention_over_shared_and_own_positions_matches_composed_ops() {
        let dev = Device::Cpu;
        let (b, kvh, rep, shared, own, d) = (3, 2, 3, 7, 4, 16);
        let randn = |s: (usize, usize, usize, usize)| Tensor::randn(0f32, 1.0, s, &dev).unwrap();
        let q = randn((b, kvh * rep, 1, d));
        // Views into larger buffers, as the cache hands them over.
        let (sk, sv) = (
            randn((1, kvh, shared + 5, d)),
            randn((1, kvh, shared + 5, d)),
        );
        let (ok, ov) = (randn((b, kvh, own + 9, d)), randn((b, kvh, own + 9, d)));
        let (sk, sv) = (
            sk.narrow(2, 0, shared).unwrap(),
            sv.narrow(2, 0, shared).unwrap(),
        );
        let (ok, ov) = (ok.narrow(2, 0, own).unwrap(), ov.narrow(2, 0, own).unwrap());
        let scale = 1.0 / (d as f64).sqrt();
        let wide = |s: &Tensor| s.broadcast_as((b, kvh, shared, d)).unwrap();
        let k = Tensor::cat(&[&wide(&sk), &ok], 2).unwrap();
        let v = Tensor::cat(&[&wide(&sv), &ov], 2).unwrap();
        let (okc, ovc) = (ok.contiguous().unwrap(), ov.contiguous().unwrap());
        for fma in [false, fma_available()] {
            let ours = decode_attention_on(&q, Some((&sk, &sv)), &ok, &ov, scale, fma).unwrap();
            assert!(max_diff(&ours, &reference(&q, &k, &v, scale)) < 1e-5);
            // Without shared positions, over the own ones alone.
            let alone = decode_attention_on(&q, None, &ok, &ov, scale, fma).unwrap();
            assert!(max_diff(&alone, &reference(&q, &okc, &ovc, scale)) < 1e-5);
        }
        // Shapes that do not fit are errors, not panics.
        let wrong = randn((b, kvh, own, d + 1));
        assert!(decode_attention(&q, None, &wrong, &wrong, scale).is_err());
    }
}
