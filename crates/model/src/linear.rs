//! A projection `y = x·Wᵀ (+ b)` whose weight is either a dense tensor
//! (training, merging, exact parity) or a quantised GGML tensor multiplied
//! by candle's quantised kernels, or by this crate's packed Q8_0 tiles on
//! CPUs where candle has no fast Q8_0 kernel (inference). LoRA deltas are added by the
//! decoder on top of either.

use crate::q8::PackedQ8;
use candle_core::quantized::{GgmlDType, QMatMul, QStorage, QTensor};
use candle_core::{DType, Module, Result, Tensor};
use std::borrow::Cow;
use std::sync::Arc;

/// How decoder weights are held in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WeightFormat {
    /// Dequantised f32: what training and the parity tests use.
    #[default]
    F32,
    /// Kept as stored in the GGUF (quantised types stay quantised);
    /// dense sources stay f32.
    AsStored,
    /// Every matrix requantised to Q8_0, which has SIMD kernels in candle
    /// on x86 (Q4_1 does not); near-lossless for 4-bit sources.
    Q8_0,
}

impl std::str::FromStr for WeightFormat {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "f32" => Ok(WeightFormat::F32),
            "gguf" | "as-stored" => Ok(WeightFormat::AsStored),
            "q8_0" | "q8" => Ok(WeightFormat::Q8_0),
            _ => Err(format!("unknown weight format '{s}' (f32, gguf, q8_0)")),
        }
    }
}

#[derive(Clone)]
pub enum Weight {
    Dense(Tensor),
    /// `[out, in + pad]`: where candle repacks Q8_0 (AVX-512 VNNI or
    /// AVX-VNNI), rows are zero-padded to a multiple of 256 values so its
    /// repacked kernels apply (they need whole 256-value super-blocks;
    /// 576-wide rows would fall back to a path 3–8× slower, measured by
    /// `examples/qmm`-style timing in docs/BENCHMARKS.md). Elsewhere
    /// `pad` is 0: the fallback gains nothing from it.
    Quantized {
        q: Arc<QTensor>,
        mm: QMatMul,
        in_features: usize,
    },
    /// Q8_0 in this crate's own tiles, on CPUs with AVX2 but without the
    /// VNNI instructions candle's repacked kernels need ([`crate::q8`]).
    Packed(Arc<PackedQ8>),
}

/// Candle's x86 repacked kernels work on 256-value super-blocks.
const SUPER_BLOCK: usize = 256;

#[derive(Clone)]
pub struct Linear {
    weight: Weight,
    bias: Option<Tensor>,
}

impl Linear {
    pub fn dense(w: Tensor, bias: Option<Tensor>) -> Linear {
        Linear {
            weight: Weight::Dense(w),
            bias,
        }
    }

    /// Builds from a GGML tensor in the requested format.
    pub fn from_qtensor(q: QTensor, bias: Option<Tensor>, fmt: WeightFormat) -> Result<Linear> {
        let dense_source = matches!(q.dtype(), GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16);
        let weight = match fmt {
            WeightFormat::F32 => Weight::Dense(q.dequantize(&q.device())?),
            WeightFormat::AsStored if dense_source => {
                Weight::Dense(q.dequantize(&q.device())?.to_dtype(DType::F32)?)
            }
            WeightFormat::AsStored => quantized(q)?,
            WeightFormat::Q8_0 if q.dtype() == GgmlDType::Q8_0 && crate::q8::packs(&q.device()) => {
                Weight::Packed(Arc::new(PackedQ8::from_qtensor(&q)?))
            }
            WeightFormat::Q8_0 if q.dtype() == GgmlDType::Q8_0 => pad_q8_0(q, repacks_q8_0())?,
            WeightFormat::Q8_0 => Linear::to_q8_0(&q.dequantize(&q.device())?)?,
        };
        Ok(Linear { weight, bias })
    }

    /// A dense weight in the requested format (safetensors, random init).
    pub fn from_dense(w: Tensor, bias: Option<Tensor>, fmt: WeightFormat) -> Result<Linear> {
        let weight = match fmt {
            WeightFormat::Q8_0 => Linear::to_q8_0(&w)?,
            _ => Weight::Dense(w.to_dtype(DType::F32)?),
        };
        Ok(Linear { weight, bias })
    }

    /// A dense weight quantised to Q8_0 in the form this CPU multiplies
    /// fastest: packed tiles ([`crate::q8`]) or candle's blocks.
    fn to_q8_0(w: &Tensor) -> Result<Weight> {
        let k = w.dims2()?.1;
        if crate::q8::packs(w.device()) && k.is_multiple_of(32) {
            let q = QTensor::quantize(&w.to_dtype(DType::F32)?, GgmlDType::Q8_0)?;
            return Ok(Weight::Packed(Arc::new(PackedQ8::from_qtensor(&q)?)));
        }
        Linear::quantize_dense(w, repacks_q8_0())
    }

    /// `repack`: whether candle repacks Q8_0 here ([`repacks_q8_0`]); an
    /// argument so that tests run the padded and the unpadded form on any
    /// CPU.
    fn quantize_dense(w: &Tensor, repack: bool) -> Result<Weight> {
        let (n, k) = w.dims2()?;
        // Q8_0 needs rows that are whole 32-value blocks; keep others dense.
        if !k.is_multiple_of(32) {
            return Ok(Weight::Dense(w.to_dtype(DType::F32)?));
        }
        let pad = padding(n, k, repack);
        let w = if pad > 0 {
            Tensor::cat(
                &[
                    w.to_dtype(DType::F32)?,
                    Tensor::zeros((n, pad), DType::F32, w.device())?,
                ],
                1,
            )?
        } else {
            w.clone()
        };
        let mut q = quantized(QTensor::quantize(&w, GgmlDType::Q8_0)?)?;
        if let Weight::Quantized { in_features, .. } = &mut q {
            *in_features = k;
        }
        Ok(q)
    }

    pub fn bias(&self) -> Option<&Tensor> {
        self.bias.as_ref()
    }

    /// The weight where it is dense (not quantised).
    pub fn dense_only(&self) -> Option<&Tensor> {
        match &self.weight {
            Weight::Dense(w) => Some(w),
            Weight::Quantized { .. } | Weight::Packed(_) => None,
        }
    }

    /// The weight as a dense f32 tensor (dequantised when needed).
    pub fn dense_weight(&self) -> Result<Tensor> {
        match &self.weight {
            Weight::Dense(w) => Ok(w.clone()),
            Weight::Quantized { q, in_features, .. } => {
                q.dequantize(&q.device())?.narrow(1, 0, *in_features)
            }
            Weight::Packed(p) => p.dequantize(),
        }
    }

    /// Replaces the weight by a dense one (LoRA merge).
    pub fn set_dense(&mut self, w: Tensor) {
        self.weight = Weight::Dense(w);
    }

    /// Zero columns the quantised weight expects after the input's own.
    fn pad(&self) -> usize {
        match &self.weight {
            Weight::Quantized { q, in_features, .. } => q.shape().dims()[1] - in_features,
            Weight::Dense(_) | Weight::Packed(_) => 0,
        }
    }

    /// The input as [`Linear::forward_prepared`] wants it; projections of
    /// the same input (q, k, v; gate, up) share one preparation.
    pub fn prepare(&self, x: &Tensor) -> Result<Tensor> {
        let pad = self.pad();
        if pad == 0 {
            return x.contiguous();
        }
        let mut zd = x.dims().to_vec();
        let last = zd.len() - 1;
        zd[last] = pad;
        Tensor::cat(&[x, &Tensor::zeros(zd, x.dtype(), x.device())?], last)
    }

    /// `x: [.., in]` → `[.., out]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_prepared(&self.prepare(x)?)
    }

    /// The differentiable forward for training: the gradient reaches `x`
    /// but is never computed for the frozen weight. Quantised weights have
    /// no backward at all in candle, so they are refused here.
    pub fn forward_frozen(&self, x: &Tensor) -> Result<Tensor> {
        let Weight::Dense(w) = &self.weight else {
            candle_core::bail!(
                "training needs dense weights: load the model with WeightFormat::F32"
            );
        };
        if !x.device().is_cpu() {
            return self.forward_prepared(x);
        }
        let y = on_rows(x, |x2| x2.apply_op1(FrozenMatmul { w: w.clone() }))?;
        match &self.bias {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
    }

    /// `forward_frozen(x) + d` in one node (training with an adapter: `d`
    /// is the LoRA delta). The sum's graph keeps `d` and the result only,
    /// not the frozen projection beside them: activation memory, which
    /// grows with every token of a training example.
    pub fn forward_frozen_plus(&self, x: &Tensor, d: &Tensor) -> Result<Tensor> {
        let Weight::Dense(w) = &self.weight else {
            candle_core::bail!(
                "training needs dense weights: load the model with WeightFormat::F32"
            );
        };
        if !x.device().is_cpu() || self.bias.is_some() {
            return self.forward_frozen(x)? + d;
        }
        let out = d.dims().last().copied().unwrap_or(0);
        let rows = d.elem_count() / out.max(1);
        let d2 = d.contiguous()?.reshape((rows, out))?;
        on_rows(x, |x2| x2.apply_op2(&d2, FrozenMatmulAdd { w: w.clone() }))
    }

    /// The projections of one prepared input by several quantised weights
    /// (q, k, v; gate, up) in one pass: the packed tiles' where the
    /// weights are packed ([`crate::q8`], AVX2 without VNNI), else
    /// candle's fused kernel where this CPU has it (AVX-512 VNNI). The
    /// input is quantised once and candle's thread pool is entered once
    /// for all of them. `None` where neither applies (dense weights, other
    /// CPUs); the caller then projects one by one.
    pub fn forward_shared(parts: &[&Linear], prepared: &Tensor) -> Result<Option<Vec<Tensor>>> {
        let packed: Option<Vec<&PackedQ8>> = parts
            .iter()
            .map(|p| match &p.weight {
                Weight::Packed(w) => Some(w.as_ref()),
                _ => None,
            })
            .collect();
        let ys = match packed {
            Some(ws) => crate::q8::project(&ws, prepared)?,
            None => {
                let mut qs = Vec::with_capacity(parts.len());
                for p in parts {
                    let Weight::Quantized { q, .. } = &p.weight else {
                        return Ok(None);
                    };
                    qs.push(q.as_ref());
                }
                match QTensor::gemv_fused_shared_lhs(&qs, prepared)? {
                    Some(ys) => ys,
                    None => return Ok(None),
                }
            }
        };
        ys.into_iter()
            .zip(parts)
            .map(|(y, p)| match &p.bias {
                Some(b) => y.broadcast_add(&b.detach()),
                None => Ok(y),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// Like [`Linear::forward`] on an input from [`Linear::prepare`] of a
    /// projection with the same input width. The weight is used detached:
    /// a trainable (variable) weight would otherwise record a graph of a
    /// pass that wants no gradient.
    pub fn forward_prepared(&self, x: &Tensor) -> Result<Tensor> {
        let y = match &self.weight {
            Weight::Dense(w) => on_rows(x, |x2| x2.matmul(&w.detach().t()?))?,
            Weight::Quantized { mm, .. } => mm.forward(x)?,
            Weight::Packed(p) => crate::q8::project(&[p], x)?.remove(0),
        };
        match &self.bias {
            Some(b) => y.broadcast_add(&b.detach()),
            None => Ok(y),
        }
    }

    /// The differentiable forward of full fine-tuning: gradients reach
    /// the input, the weight and the bias.
    pub fn forward_trainable(&self, x: &Tensor) -> Result<Tensor> {
        let Weight::Dense(w) = &self.weight else {
            candle_core::bail!(
                "training needs dense weights: load the model with WeightFormat::F32"
            );
        };
        let y = on_rows(x, |x2| x2.matmul(&w.t()?))?;
        match &self.bias {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
    }

    /// The weight and bias for full fine-tuning, made dense f32 first (a
    /// quantised weight is dequantised).
    pub(crate) fn tensors_mut(&mut self) -> Result<(&mut Tensor, Option<&mut Tensor>)> {
        if !matches!(self.weight, Weight::Dense(_)) {
            self.weight = Weight::Dense(self.dense_weight()?);
        }
        match &mut self.weight {
            Weight::Dense(w) => Ok((w, self.bias.as_mut())),
            Weight::Quantized { .. } | Weight::Packed(_) => {
                candle_core::bail!("the weight could not be made dense")
            }
        }
    }
}

/// `x·Wᵀ` for a frozen `W` whose backward returns only the input's
/// gradient `g·W`: candle's matmul backward would also compute `xᵀ·g` for
/// the weight, work and memory thrown away for a frozen base model
/// (shared/notes/candle.md measured ~40% of backward time).
struct FrozenMatmul {
    w: Tensor,
}

impl candle_core::CustomOp1 for FrozenMatmul {
    fn name(&self) -> &'static str {
        "frozen-matmul"
    }

    fn cpu_fwd(
        &self,
        s: &candle_core::CpuStorage,
        l: &candle_core::Layout,
    ) -> Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let (y, shape) = frozen_product(s, l, &self.w)?;
        Ok((candle_core::CpuStorage::F32(y), shape))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(grad.matmul(&self.w)?))
    }
}

/// `x·Wᵀ` of a contiguous f32 input, as a flat vector and its shape.
fn frozen_product(
    s: &candle_core::CpuStorage,
    l: &candle_core::Layout,
    w: &Tensor,
) -> Result<(Vec<f32>, candle_core::Shape)> {
    let y = crate::ops::input(s, l)?.matmul(&w.t()?)?;
    let shape = y.shape().clone();
    Ok((y.flatten_all()?.to_vec1()?, shape))
}

/// `x·Wᵀ + d` for a frozen `W`: the gradient is `g·W` for `x` and `g`
/// for `d`.
struct FrozenMatmulAdd {
    w: Tensor,
}

impl candle_core::CustomOp2 for FrozenMatmulAdd {
    fn name(&self) -> &'static str {
        "frozen-matmul-add"
    }

    fn cpu_fwd(
        &self,
        s1: &candle_core::CpuStorage,
        l1: &candle_core::Layout,
        s2: &candle_core::CpuStorage,
        l2: &candle_core::Layout,
    ) -> Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let (candle_core::CpuStorage::F32(d), Some((ds, de))) = (s2, l2.contiguous_offsets())
        else {
            candle_core::bail!("frozen-matmul-add needs a contiguous f32 addend");
        };
        let (mut out, shape) = frozen_product(s1, l1, &self.w)?;
        if &shape != l2.shape() {
            candle_core::bail!(
                "frozen-matmul-add: the product is {:?} but the addend {:?}",
                shape,
                l2.shape()
            );
        }
        for (o, a) in out.iter_mut().zip(&d[ds..de]) {
            *o += a;
        }
        Ok((candle_core::CpuStorage::F32(out), shape))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        _d: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        Ok((Some(grad.matmul(&self.w)?), Some(grad.clone())))
    }
}

/// Applies `f` to `x: [.., in]` seen as a `[rows, in]` matrix and gives
/// the result back its leading dimensions: one 2-D GEMM over all rows
/// beats a broadcast batched one.
pub(crate) fn on_rows(x: &Tensor, f: impl FnOnce(&Tensor) -> Result<Tensor>) -> Result<Tensor> {
    let mut dims = x.dims().to_vec();
    let last = dims.len() - 1;
    let rows: usize = dims[..last].iter().product();
    let y = f(&x.contiguous()?.reshape((rows, dims[last]))?)?;
    dims[last] = y.dim(1)?;
    y.reshape(dims)
}

fn quantized(q: QTensor) -> Result<Weight> {
    let in_features = q.shape().dims()[1];
    let q = Arc::new(q);
    let mm = QMatMul::from_arc(q.clone())?;
    Ok(Weight::Quantized { q, mm, in_features })
}

/// Whether candle 0.11 repacks Q8_0 weights on this CPU: with AVX-512
/// VNNI or AVX-VNNI only. On plain AVX2 it keeps the row-by-row dot
/// product, for which padding is only more work (576 → 768: a third).
pub(crate) fn repacks_q8_0() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        (is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vnni"))
            || (is_x86_feature_detected!("avxvnni") && is_x86_feature_detected!("avx2"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        true
    }
}

/// Zero columns that bring `k` to a whole number of super-blocks, when
/// the repacked kernels could then apply (`n` a multiple of 16).
fn padding(n: usize, k: usize, repack: bool) -> usize {
    if n.is_multiple_of(16) && !k.is_multiple_of(SUPER_BLOCK) && repack {
        k.div_ceil(SUPER_BLOCK) * SUPER_BLOCK - k
    } else {
        0
    }
}

/// Pads a Q8_0 tensor's rows with zero blocks (scale 0, values 0), byte
/// for byte: exact, no requantisation.
fn pad_q8_0(q: QTensor, repack: bool) -> Result<Weight> {
    let (n, k) = q.shape().dims2()?;
    let pad = padding(n, k, repack);
    if pad == 0 {
        return quantized(q);
    }
    let block = GgmlDType::Q8_0.type_size();
    let (row, extra) = (k / 32 * block, pad / 32 * block);
    let data = q.data()?;
    let mut out = Vec::with_capacity(n * (row + extra));
    for r in 0..n {
        out.extend_from_slice(&data[r * row..(r + 1) * row]);
        out.resize(out.len() + extra, 0);
    }
    let device = q.device();
    let storage = QStorage::from_data(Cow::Owned(out), &device, GgmlDType::Q8_0)?;
    let mut w = quantized(QTensor::new(storage, (n, k + pad))?)?;
    if let Weight::Quantized { in_features, .. } = &mut w {
        *in_features = k;
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn frozen_matmul_matches_matmul_and_its_input_gradient() {
        let dev = Device::Cpu;
        let w = Tensor::randn(0f32, 1.0, (6, 4), &dev).unwrap();
        let b = Tensor::randn(0f32, 1.0, 6, &dev).unwrap();
        let lin = Linear::dense(w.clone(), Some(b.clone()));
        let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (2, 3, 4), &dev).unwrap()).unwrap();
        let ours = lin.forward_frozen(x.as_tensor()).unwrap();
        let plain = x
            .as_tensor()
            .broadcast_matmul(&w.t().unwrap())
            .unwrap()
            .broadcast_add(&b)
            .unwrap();
        let d = (&ours - &plain)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(d < 1e-5);
        let g1 = ours.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        let g2 = plain.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        let (g1, g2) = (
            g1.get(x.as_tensor()).unwrap(),
            g2.get(x.as_tensor()).unwrap(),
        );
        let d = (g1 - g2)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(d < 1e-4, "{d}");
        // Quantised weights have no backward: refused with a message.
        let q = Linear::from_dense(
            Tensor::randn(0f32, 1.0, (32, 64), &dev).unwrap(),
            None,
            WeightFormat::Q8_0,
        )
        .unwrap();
        assert!(q
            .forward_frozen(&Tensor::zeros((1, 64), DType::F32, &dev).unwrap())
            .is_err());
    }

    #[test]
    fn frozen_matmul_plus_delta_matches_the_sum_and_both_gradients() {
        let dev = Device::Cpu;
        let w = Tensor::randn(0f32, 1.0, (6, 4), &dev).unwrap();
        let lin = Linear::dense(w.clone(), None);
        let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (2, 3, 4), &dev).unwrap()).unwrap();
        let d = Var::from_tensor(&Tensor::randn(0f32, 1.0, (2, 3, 6), &dev).unwrap()).unwrap();
        let ours = lin
            .forward_frozen_plus(x.as_tensor(), d.as_tensor())
            .unwrap();
        let plain =
            (x.as_tensor().broadcast_matmul(&w.t().unwrap()).unwrap() + d.as_tensor()).unwrap();
        assert_eq!(ours.dims(), &[2, 3, 6]);
        assert!(crate::ops::tests::max_diff(&ours, &plain) < 1e-5);
        let g1 = ours.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        let g2 = plain.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        for v in [&x, &d] {
            let (a, b) = (
                g1.get(v.as_tensor()).unwrap(),
                g2.get(v.as_tensor()).unwrap(),
            );
            assert!(crate::ops::tests::max_diff(a, b) < 1e-4);
        }
        // An addend of the wrong width is an error, not a panic.
        let bad = Tensor::zeros((2, 3, 5), DType::F32, &dev).unwrap();
        assert!(lin.forward_frozen_plus(x.as_tensor(), &bad).is_err());
    }

    /// Both forms run on every CPU, whichever one this CPU would choose:
    /// the padded one is the serving path only where candle repacks Q8_0.
    #[test]
    fn padded_and_unpadded_q8_0_weights_project_alike() {
        let dev = Device::Cpu;
        // SmolLM2's width: 576 is not a whole number of super-blocks.
        let w = Tensor::randn(0f32, 1.0, (32, 576), &dev).unwrap();
        let x = Tensor::randn(0f32, 1.0, (2, 3, 576), &dev).unwrap();
        let exact = Linear::dense(w.clone(), None).forward(&x).unwrap();
        let scale = exact.abs().unwrap().max_all().unwrap();
        let scale = scale.to_scalar::<f32>().unwrap();
        let from_gguf = || QTensor::quantize(&w, GgmlDType::Q8_0).unwrap();
        let forms = [
            (Linear::quantize_dense(&w, true).unwrap(), 192),
            (Linear::quantize_dense(&w, false).unwrap(), 0),
            (pad_q8_0(from_gguf(), true).unwrap(), 192),
            (pad_q8_0(from_gguf(), false).unwrap(), 0),
        ];
        let mut outputs = Vec::new();
        for (weight, pad) in forms {
            let lin = Linear { weight, bias: None };
            assert_eq!(lin.pad(), pad);
            let y = lin.forward(&x).unwrap();
            assert_eq!(y.dims(), &[2, 3, 32]);
            // Q8_0 keeps ~2 decimal digits of each weight and activation.
            assert!(crate::ops::tests::max_diff(&y, &exact) < 0.02 * scale);
            // Dequantised, the padding is invisible.
            let lin_w = lin.dense_weight().unwrap();
            assert_eq!(lin_w.dims(), &[32, 576]);
            outputs.push(y);
        }
        // Padding the GGUF's bytes and quantising the padded matrix give
        // the same weight, so the same projection, bit for bit.
        assert_eq!(crate::ops::tests::max_diff(&outputs[0], &outputs[2]), 0.0);
        assert_eq!(crate::ops::tests::max_diff(&outputs[1], &outputs[3]), 0.0);
        // Between the padded and the unpadded form, zero blocks add
        // exactly zero; but where candle repacks the padded form, its
        // kernel quantises the input in 256-value blocks (Q8_K) instead of
        // 32-value ones, a rounding of its own, which the bound on each
        // form's distance from the exact product above covers.
    }

    /// Where candle's fused kernel applies (AVX-512 VNNI), q, k, v of
    /// SmolLM2's shapes, with a bias on one of them, project as they do one
    /// by one, for a decode step (5 rows) and a prompt chunk (40 rows).
    #[test]
    fn shared_input_projections_match_separate_ones() {
        let dev = Device::Cpu;
        let lin = |n: usize, bias: bool| {
            let w = Tensor::randn(0f32, 1.0, (n, 576), &dev).unwrap();
            let b = bias.then(|| Tensor::randn(0f32, 1.0, n, &dev).unwrap());
            Linear::from_dense(w, b, WeightFormat::Q8_0).unwrap()
        };
        let parts = [lin(576, true), lin(192, false), lin(192, false)];
        let refs: Vec<&Linear> = parts.iter().collect();
        for rows in [5, 40] {
            let x = Tensor::randn(0f32, 1.0, (rows, 1, 576), &dev).unwrap();
            let xp = parts[0].prepare(&x).unwrap();
            let Some(ys) = Linear::forward_shared(&refs, &xp).unwrap() else {
                eprintln!("no fused kernel on this CPU: the model projects one by one");
                return;
            };
            for (y, p) in ys.iter().zip(&parts) {
                let one = p.forward_prepared(&xp).unwrap();
                assert_eq!(y.dims(), one.dims());
                let d = crate::ops::tests::max_diff(y, &one);
                assert!(d < 1e-3, "{rows} rows: fused and separate differ by {d}");
            }
        }
        // Dense weights have no fused kernel.
        let dense = Linear::dense(Tensor::zeros((8, 576), DType::F32, &dev).unwrap(), None);
        let x = Tensor::zeros((1, 576), DType::F32, &dev).unwrap();
        assert!(Linear::forward_shared(&[&dense], &x).unwrap().is_none());
    }
}
