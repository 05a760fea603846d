//! Fused RMSNorm and RoPE that keep their gradients. candle's fused
//! versions are inference-only (they silently drop gradients,
//! shared/notes/candle.md); composing them from tensor ops costs six to
//! nine ops each, each a pass over the activations and a graph node. These
//! run candle's fused kernel forward and a hand-written backward. The norm
//! weight is frozen (LoRA never trains it), so only the input's gradient
//! is computed. SwiGLU and LoRA's dropout are here for memory: as single
//! nodes they keep one activation where the composition kept two or three
//! (training memory grows with every token of an example).

use crate::par::{par_chunks, slice, with_f32};
use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor, D};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// The tensor a custom op's CPU input holds (a copy).
pub(crate) fn input(s: &CpuStorage, l: &Layout) -> Result<Tensor> {
    let CpuStorage::F32(data) = s else {
        candle_core::bail!("custom CPU ops here need f32 tensors");
    };
    let Some((a, b)) = l.contiguous_offsets() else {
        candle_core::bail!("custom CPU ops here need contiguous tensors");
    };
    Tensor::from_slice(&data[a..b], l.shape(), &candle_core::Device::Cpu)
}

/// A result tensor as a custom op's CPU output.
pub(crate) fn storage(t: Tensor) -> Result<(CpuStorage, Shape)> {
    let shape = t.shape().clone();
    Ok((CpuStorage::F32(t.flatten_all()?.to_vec1()?), shape))
}

struct RmsNorm {
    w: Tensor,
    eps: f64,
}

impl CustomOp1 for RmsNorm {
    fn name(&self) -> &'static str {
        "rms-norm-train"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        storage(candle_nn::ops::rms_norm(
            &input(s, l)?,
            &self.w,
            self.eps as f32,
        )?)
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, g: &Tensor) -> Result<Option<Tensor>> {
        // y = x·r·w with r = (mean(x²) + eps)^-½:
        // dx = r·u − x·r³·mean(u·x), u = g·w.
        let x = x.detach();
        let r = (x.sqr()?.mean_keepdim(D::Minus1)? + self.eps)?
            .sqrt()?
            .recip()?;
        let u = g.broadcast_mul(&self.w)?;
        let m = (&u * &x)?.mean_keepdim(D::Minus1)?;
        let dx = (u.broadcast_mul(&r)? - x.broadcast_mul(&(r.powf(3.0)? * m)?)?)?;
        Ok(Some(dx))
    }
}

/// RMSNorm with a frozen weight, differentiable in `x`.
pub(crate) fn rms_norm(x: &Tensor, w: &Tensor, eps: f64) -> Result<Tensor> {
    x.contiguous()?.apply_op1(RmsNorm { w: w.clone(), eps })
}

struct Rope {
    cos: Tensor,
    sin: Tensor,
}

impl CustomOp1 for Rope {
    fn name(&self) -> &'static str {
        "rope-train"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        storage(candle_nn::rotary_emb::rope(
            &input(s, l)?,
            &self.cos,
            &self.sin,
        )?)
    }

    fn bwd(&self, _x: &Tensor, _res: &Tensor, g: &Tensor) -> Result<Option<Tensor>> {
        // A rotation: its transpose rotates by the opposite angle.
        let g = g.contiguous()?;
        Ok(Some(candle_nn::rotary_emb::rope(
            &g,
            &self.cos,
            &self.sin.neg()?,
        )?))
    }
}

/// Half-split rotary embedding `[b, h, t, d]`, differentiable in `x`.
pub(crate) fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1(Rope {
        cos: cos.clone(),
        sin: sin.clone(),
    })
}

struct SwiGlu;

/// σ(a), as candle's `silu` computes it.
fn sigmoid(a: f32) -> f32 {
    1.0 / (1.0 + (-a).exp())
}

impl CustomOp2 for SwiGlu {
    fn name(&self) -> &'static str {
        "swiglu-train"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        // One pass over both inputs, on every thread; composed, silu and
        // the product were two serial passes and three copies.
        let (gate, up) = (slice(s1, l1)?, slice(s2, l2)?);
        if l1.shape() != l2.shape() {
            candle_core::bail!("swiglu: gate {:?} and up {:?}", l1.shape(), l2.shape());
        }
        let mut out = vec![0f32; gate.len()];
        par_chunks([&mut out], 1, |first, [o]| {
            let ins = gate[first..].iter().zip(&up[first..]);
            for (o, (&a, &u)) in o.iter_mut().zip(ins) {
                *o = a * sigmoid(a) * u;
            }
        })?;
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        gate: &Tensor,
        up: &Tensor,
        _res: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        // y = silu(a)·u, silu(a) = a·σ(a), silu'(a) = σ(a)·(1 + a·(1 − σ(a))).
        let g = g.contiguous()?;
        let n = g.elem_count();
        let (mut da, mut du) = (vec![0f32; n], vec![0f32; n]);
        with_f32(gate, |a| {
            with_f32(up, |u| {
                with_f32(&g, |g| {
                    if a.len() != n || u.len() != n {
                        candle_core::bail!("swiglu: gradient of {n} for {} inputs", a.len());
                    }
                    par_chunks([&mut da, &mut du], 1, |first, [da, du]| {
                        let ins = a[first..].iter().zip(&u[first..]).zip(&g[first..]);
                        for ((da, du), ((&a, &u), &g)) in da.iter_mut().zip(du).zip(ins) {
                            let sig = sigmoid(a);
                            *da = g * u * sig * (1.0 + a * (1.0 - sig));
                            *du = g * a * sig;
                        }
                    })
                })
            })
        })?;
        let (dev, shape) = (gate.device(), gate.shape());
        Ok((
            Some(Tensor::from_vec(da, shape, dev)?),
            Some(Tensor::from_vec(du, shape, dev)?),
        ))
    }
}

/// `silu(gate) · up` in one node: the MLP's largest activation is kept
/// once (the result) instead of twice (silu's output and the product).
pub(crate) fn swiglu(gate: &Tensor, up: &Tensor) -> Result<Tensor> {
    gate.contiguous()?.apply_op2(&up.contiguous()?, SwiGlu)
}

/// Inverted dropout whose mask is kept as one byte per element inside the
/// op, not as an f32 tensor in the graph (a quarter of the memory, for
/// every LoRA input of every layer).
pub(crate) struct Dropout {
    pub(crate) keep: Vec<u8>,
    pub(crate) scale: f32,
}

impl Dropout {
    /// The mask applied to a whole tensor of as many elements.
    pub(crate) fn tensor(&self, x: &Tensor) -> Result<Tensor> {
        Tensor::from_vec(self.masked(x)?, x.shape(), x.device())
    }

    /// `x`'s values with the mask applied, without a branch per element,
    /// so the loop vectorises (a branching, collecting version took 5 % of
    /// an SFT step's CPU samples on an Intel Xeon), in one pass on every
    /// core.
    fn masked(&self, x: &Tensor) -> Result<Vec<f32>> {
        let x = x.contiguous()?;
        let n = x.elem_count();
        if n != self.keep.len() {
            candle_core::bail!("dropout: {} mask bytes for {} values", self.keep.len(), n);
        }
        let (scale, keep) = (self.scale, &self.keep);
        let mut out = vec![0f32; n];
        with_f32(&x, |x| {
            par_chunks([&mut out], 1, |first, [part]| {
                let end = first + part.len();
                for ((o, &v), &k) in part.iter_mut().zip(&x[first..end]).zip(&keep[first..end]) {
                    *o = v * (f32::from(k) * scale);
                }
            })
        })?;
        Ok(out)
    }
}

impl CustomOp1 for Dropout {
    fn name(&self) -> &'static str {
        "dropout-train"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = input(s, l)?;
        Ok((CpuStorage::F32(self.masked(&x)?), x.shape().clone()))
    }

    fn bwd(&self, _x: &Tensor, _res: &Tensor, g: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(self.tensor(g)?))
    }
}

/// `n` mask bytes, 1 where the generator's next word (in stream order) is
/// below `threshold`, with the generator advanced past the `n` words, as
/// `rng.fill` of `n` words would leave it. Each thread draws its own run
/// of the stream (ChaCha's word position), so the mask is a serial draw's,
/// bit for bit: drawn serially, the masks of every LoRA input (with
/// their application) were a fifth of the main thread's samples in an
/// SFT step on an Intel Xeon, the other core idle.
pub(crate) fn keep_mask(rng: &mut ChaCha8Rng, n: usize, threshold: u32) -> Vec<u8> {
    // Below this a thread costs more than the words it would draw.
    const RUN: usize = 1 << 16;
    let start = rng.get_word_pos();
    let mut keep = vec![0u8; n];
    let threads = candle_core::utils::get_num_threads().clamp(1, n.div_ceil(RUN).max(1));
    let per = n.div_ceil(threads).max(1);
    let draw = |at: usize, run: &mut [u8]| {
        let mut rng = rng.clone();
        rng.set_word_pos(start + at as u128);
        let mut words = [0u32; 1024];
        for part in run.chunks_mut(words.len()) {
            let words = &mut words[..part.len()];
            rng.fill(words);
            for (k, &w) in part.iter_mut().zip(words.iter()) {
                *k = u8::from(w < threshold);
            }
        }
    };
    std::thread::scope(|s| {
        let mut runs = keep.chunks_mut(per).enumerate();
        let first = runs.next();
        for (i, run) in runs {
            let draw = &draw;
            s.spawn(move || draw(i * per, run));
        }
        if let Some((_, run)) = first {
            draw(0, run);
        }
    });
    rng.set_word_pos(start + n as u128);
    keep
}

/// `x` with the elements whose `keep` byte is 0 zeroed and the rest
/// scaled by `scale` (CPU; the caller composes it elsewhere).
pub(crate) fn dropout(x: &Tensor, keep: Vec<u8>, scale: f32) -> Result<Tensor> {
    x.contiguous()?.apply_op1(Dropout { keep, scale })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use candle_core::{Device, Var};

    pub(crate) fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar()
            .unwrap()
    }

    /// The same loss through the fused op and the composition: equal
    /// values and input gradients.
    fn check(
        fused: &dyn Fn(&Tensor) -> Tensor,
        composed: &dyn Fn(&Tensor) -> Tensor,
        shape: (usize, usize, usize, usize),
    ) {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, shape, &dev).unwrap()).unwrap();
        let w = Tensor::randn(0f32, 1.0, shape, &dev).unwrap();
        let (a, b) = (fused(x.as_tensor()), composed(x.as_tensor()));
        assert!(max_diff(&a, &b) < 1e-5);
        let ga = (&a * &w).unwrap().sum_all().unwrap().backward().unwrap();
        let gb = (&b * &w).unwrap().sum_all().unwrap().backward().unwrap();
        let d = max_diff(
            ga.get(x.as_tensor()).unwrap(),
            gb.get(x.as_tensor()).unwrap(),
        );
        assert!(d < 1e-4, "{d}");
    }

    #[test]
    fn fused_rms_norm_and_rope_match_their_compositions() {
        let dev = Device::Cpu;
        let nw = Tensor::randn(0f32, 1.0, 16, &dev).unwrap();
        check(
            &|x| rms_norm(x, &nw, 1e-5).unwrap(),
            &|x| {
                let ms = x.sqr().unwrap().mean_keepdim(D::Minus1).unwrap();
                x.broadcast_div(&(ms + 1e-5).unwrap().sqrt().unwrap())
                    .unwrap()
                    .broadcast_mul(&nw)
                    .unwrap()
            },
            (2, 3, 5, 16),
        );
        let (cos, sin) = (
            Tensor::randn(0f32, 1.0, (5, 8), &dev).unwrap(),
            Tensor::randn(0f32, 1.0, (5, 8), &dev).unwrap(),
        );
        check(
            &|x| rope(x, &cos, &sin).unwrap(),
            &|x| {
                let x0 = x.narrow(D::Minus1, 0, 8).unwrap();
                let x1 = x.narrow(D::Minus1, 8, 8).unwrap();
                let r0 =
                    (x0.broadcast_mul(&cos).unwrap() - x1.broadcast_mul(&sin).unwrap()).unwrap();
                let r1 =
                    (x0.broadcast_mul(&sin).unwrap() + x1.broadcast_mul(&cos).unwrap()).unwrap();
                Tensor::cat(&[r0, r1], D::Minus1).unwrap()
            },
            (2, 3, 5, 16),
        );
    }

    #[test]
    fn fused_swiglu_and_dropout_match_their_compositions() {
        let dev = Device::Cpu;
        let up = Tensor::randn(0f32, 1.0, (2, 3, 5, 16), &dev).unwrap();
        check(
            &|x| swiglu(x, &up).unwrap(),
            &|x| (x.silu().unwrap() * &up).unwrap(),
            (2, 3, 5, 16),
        );
        // The up input's gradient too.
        let gate = Tensor::randn(0f32, 1.0, (2, 3, 5, 16), &dev).unwrap();
        check(
            &|x| swiglu(&gate, x).unwrap(),
            &|x| (gate.silu().unwrap() * x).unwrap(),
            (2, 3, 5, 16),
        );
        let keep: Vec<u8> = (0..2 * 3 * 5 * 16).map(|i| u8::from(i % 3 != 0)).collect();
        let mask: Vec<f32> = keep.iter().map(|&k| f32::from(k) * 1.25).collect();
        let mask = Tensor::from_vec(mask, (2, 3, 5, 16), &dev).unwrap();
        check(
            &|x| dropout(x, keep.clone(), 1.25).unwrap(),
            &|x| (x * &mask).unwrap(),
            (2, 3, 5, 16),
        );
        // A mask of the wrong length is an error, not a panic.
        let x = Tensor::zeros((2, 3), candle_core::DType::F32, &dev).unwrap();
        assert!(dropout(&x, vec![1; 5], 1.0).is_err());
    }

    /// The mask drawn in runs across threads is the serial draw's, bit for
    /// bit, and leaves the generator where the serial draw would: from a
    /// position inside a ChaCha block, at sizes one thread draws alone and
    /// sizes split across threads, whole and partial.
    #[test]
    fn keep_mask_is_the_serial_draw() {
        use rand::SeedableRng;
        let threshold = (0.9f64 * u32::MAX as f64) as u32;
        for n in [0usize, 1, 17, 1000, (1 << 17) + 3, 3 << 16] {
            let mut serial = ChaCha8Rng::seed_from_u64(7);
            let mut skip = [0u32; 5];
            serial.fill(&mut skip[..]);
            let mut parallel = serial.clone();
            let mut words = vec![0u32; n];
            serial.fill(&mut words[..]);
            let want: Vec<u8> = words.iter().map(|&w| u8::from(w < threshold)).collect();
            assert_eq!(keep_mask(&mut parallel, n, threshold), want, "n = {n}");
            assert_eq!(parallel.get_word_pos(), serial.get_word_pos(), "n = {n}");
            assert_eq!(parallel.random::<u32>(), serial.random::<u32>(), "n = {n}");
        }
    }
}
