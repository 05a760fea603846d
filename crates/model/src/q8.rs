//! Q8_0 projections for x86 CPUs with AVX2 but none of the VNNI
//! instructions candle 0.11's repacked Q8_0 kernels need (AMD EPYC Zen 3,
//! for one). There candle multiplies one weight row by one input row at a
//! time, converting both blocks' f16 scales for every pair, and enters its
//! thread pool once per projection: on such a machine its dot product held
//! 56 % of `glrl eval`'s samples, the scale conversion 4 %, the pool's
//! workers waiting 9 % (docs/BENCHMARKS.md).
//!
//! Here the weight is packed four rows to a tile with f32 scales, every
//! weight block is read once for up to three input rows, and the
//! projections of one input (q, k, v; gate, up) share one quantisation and
//! one pool call. The integer products, the f32 operations and their order
//! are those of candle's AVX2 dot product, so the results are the same to
//! the bit (tested against it). A portable copy of the same arithmetic
//! runs where AVX2 is missing: the tests' reference on any CPU (weights
//! are packed only where AVX2 is there, see [`packs`]).

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Result, Tensor};
use half::f16;

/// Values per Q8_0 block.
const QK: usize = 32;
/// Bytes of one GGML Q8_0 block: an f16 scale, then 32 values.
const BLOCK_BYTES: usize = 2 + QK;
/// Weight rows per tile.
const TILE: usize = 4;
/// Input rows per kernel call: 3 × 4 accumulators and the operands fit
/// AVX2's sixteen registers.
const ROWS: usize = 3;

/// A Q8_0 weight `[n, k]` in tiles of four rows: for each tile and block,
/// the four rows' scales, then their 32 values each.
pub struct PackedQ8 {
    n: usize,
    k: usize,
    /// `[tile][block][row in tile]`.
    scales: Vec<f32>,
    /// `[tile][block][row in tile][value]`.
    qs: Vec<i8>,
}

impl PackedQ8 {
    /// Packs a GGML Q8_0 tensor (rows past `n` in the last tile are zero).
    pub fn from_qtensor(q: &QTensor) -> Result<PackedQ8> {
        if q.dtype() != GgmlDType::Q8_0 {
            candle_core::bail!("packing wants a Q8_0 tensor, not {:?}", q.dtype());
        }
        let (n, k) = q.shape().dims2()?;
        let kb = k / QK;
        let data = q.data()?;
        if k % QK != 0 || data.len() != n * kb * BLOCK_BYTES {
            candle_core::bail!("a Q8_0 tensor of {n}×{k} with {} bytes", data.len());
        }
        let tiles = n.div_ceil(TILE);
        let mut scales = vec![0f32; tiles * kb * TILE];
        let mut qs = vec![0i8; tiles * kb * TILE * QK];
        for r in 0..n {
            let (t, j) = (r / TILE, r % TILE);
            for b in 0..kb {
                let src = &data[(r * kb + b) * BLOCK_BYTES..][..BLOCK_BYTES];
                let at = (t * kb + b) * TILE + j;
                scales[at] = f16::from_le_bytes([src[0], src[1]]).to_f32();
                for (d, s) in qs[at * QK..][..QK].iter_mut().zip(&src[2..]) {
                    *d = *s as i8;
                }
            }
        }
        Ok(PackedQ8 { n, k, scales, qs })
    }

    /// `(n, k)`: output and input features.
    pub fn dims(&self) -> (usize, usize) {
        (self.n, self.k)
    }

    /// The weight as f32 `[n, k]`, value for value as candle dequantises.
    pub fn dequantize(&self) -> Result<Tensor> {
        let kb = self.k / QK;
        let mut w = vec![0f32; self.n * self.k];
        for (r, row) in w.chunks_mut(self.k.max(1)).enumerate() {
            let (t, j) = (r / TILE, r % TILE);
            for (b, out) in row.chunks_mut(QK).enumerate() {
                let at = (t * kb + b) * TILE + j;
                let d = self.scales[at];
                for (o, q) in out.iter_mut().zip(&self.qs[at * QK..][..QK]) {
                    *o = *q as f32 * d;
                }
            }
        }
        Tensor::from_vec(w, (self.n, self.k), &candle_core::Device::Cpu)
    }

    fn tiles(&self) -> usize {
        self.n.div_ceil(TILE)
    }

    /// Rows `first..first + R` of `x` by tile `t`: `[row][column in tile]`.
    fn tile<const R: usize>(&self, t: usize, x: &Rows, first: usize, isa: Isa) -> [[f32; TILE]; R] {
        let kb = self.k / QK;
        let w = Operand {
            qs: &self.qs[t * kb * TILE * QK..][..kb * TILE * QK],
            scales: &self.scales[t * kb * TILE..][..kb * TILE],
        };
        let xs: [Operand; R] = std::array::from_fn(|i| Operand {
            qs: &x.qs[(first + i) * kb * QK..][..kb * QK],
            scales: &x.scales[(first + i) * kb..][..kb],
        });
        match isa {
            // SAFETY: the CPU has AVX2 and FMA (checked at run time).
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { avx2::tile::<R>(&w, &xs, kb) },
            Isa::Portable => portable_tile::<R>(&w, &xs, kb),
        }
    }
}

/// One side of the product: packed weight tile or one quantised input row.
struct Operand<'a> {
    qs: &'a [i8],
    scales: &'a [f32],
}

/// Input rows quantised as candle's `BlockQ8_0::from_float` does, scales
/// kept as the f32 value of their f16.
struct Rows {
    scales: Vec<f32>,
    qs: Vec<i8>,
}

fn quantize(x: &[f32]) -> Rows {
    let blocks = x.len() / QK;
    let mut rows = Rows {
        scales: Vec::with_capacity(blocks),
        qs: vec![0; blocks * QK],
    };
    for (xs, qs) in x.chunks_exact(QK).zip(rows.qs.chunks_exact_mut(QK)) {
        let amax = xs.iter().fold(0f32, |a, v| a.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        rows.scales.push(f16::from_f32(d).to_f32());
        for (q, v) in qs.iter_mut().zip(xs) {
            *q = (v * id).round() as i8;
        }
    }
    rows
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Isa {
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Portable,
}

impl Isa {
    pub(crate) fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return Isa::Avx2;
        }
        Isa::Portable
    }
}

/// Whether weights on `device` should be packed: on the CPU, with AVX2 and
/// FMA but without the VNNI instructions for which candle repacks Q8_0
/// itself.
pub fn packs(device: &candle_core::Device) -> bool {
    device.is_cpu()
        && cfg!(target_arch = "x86_64")
        && Isa::detect() != Isa::Portable
        && !crate::linear::repacks_q8_0()
}

/// `x: [.., k]` by each weight (all `k` wide): `[.., n]` for each. One
/// quantisation of `x`, one pass of candle's thread pool for all parts.
pub fn project(parts: &[&PackedQ8], x: &Tensor) -> Result<Vec<Tensor>> {
    project_with(parts, x, Isa::detect())
}

pub(crate) fn project_with(parts: &[&PackedQ8], x: &Tensor, isa: Isa) -> Result<Vec<Tensor>> {
    let Some(k) = parts.first().map(|p| p.k) else {
        return Ok(Vec::new());
    };
    let dims = x.dims();
    if dims.last() != Some(&k) || parts.iter().any(|p| p.k != k) {
        candle_core::bail!("Q8_0 projection: input {dims:?} against weights {k} wide");
    }
    let m = x.elem_count() / k.max(1);
    let rows = crate::par::with_f32(&x.contiguous()?, |data| Ok(quantize(data)))?;
    let mut outs: Vec<Vec<f32>> = parts.iter().map(|p| vec![0f32; m * p.n]).collect();
    // Work items: every tile of every part, in order.
    let mut starts = Vec::with_capacity(parts.len() + 1);
    starts.push(0usize);
    for p in parts {
        starts.push(starts[starts.len() - 1] + p.tiles());
    }
    let bases: Vec<usize> = outs.iter_mut().map(|o| o.as_mut_ptr() as usize).collect();
    let work = |item: usize| {
        let p = starts.partition_point(|&s| s <= item) - 1;
        let (part, t) = (parts[p], item - starts[p]);
        let cols = (part.n - t * TILE).min(TILE);
        let write = |first: usize, sums: &[[f32; TILE]]| {
            for (i, row) in sums.iter().enumerate() {
                // SAFETY: item `t` of part `p` alone writes columns
                // t·4 .. t·4 + cols of every row; `outs` outlives the pool.
                let out = unsafe {
                    std::slice::from_raw_parts_mut(
                        (bases[p] as *mut f32).add((first + i) * part.n + t * TILE),
                        cols,
                    )
                };
                out.copy_from_slice(&row[..cols]);
            }
        };
        let mut first = 0;
        while first < m {
            match m - first {
                1 => write(first, &part.tile::<1>(t, &rows, first, isa)),
                2 => write(first, &part.tile::<2>(t, &rows, first, isa)),
                _ => write(first, &part.tile::<ROWS>(t, &rows, first, isa)),
            }
            first += (m - first).min(ROWS);
        }
    };
    candle_core::utils::barrier_pool()
        .execute_chunked(starts[parts.len()], |range| range.for_each(work));
    outs.into_iter()
        .zip(parts)
        .map(|(o, p)| {
            let mut shape = dims.to_vec();
            if let Some(last) = shape.last_mut() {
                *last = p.n;
            }
            Tensor::from_vec(o, shape, x.device())
        })
        .collect()
}

/// The AVX2 kernel's arithmetic without it: per block, eight lanes of four
/// products each (what `maddubs` then `madd` sum), each lane's fused
/// multiply-add, and candle's horizontal sum.
fn portable_tile<const R: usize>(w: &Operand, xs: &[Operand; R], kb: usize) -> [[f32; TILE]; R] {
    let mut out = [[0f32; TILE]; R];
    for (x, out) in xs.iter().zip(out.iter_mut()) {
        for (j, o) in out.iter_mut().enumerate() {
            let mut acc = [0f32; 8];
            for b in 0..kb {
                let wq = &w.qs[(b * TILE + j) * QK..][..QK];
                let xq = &x.qs[b * QK..][..QK];
                let d = w.scales[b * TILE + j] * x.scales[b];
                for (l, a) in acc.iter_mut().enumerate() {
                    let lane: i32 = (4 * l..4 * l + 4)
                        .map(|i| wq[i] as i32 * xq[i] as i32)
                        .sum();
                    *a = d.mul_add(lane as f32, *a);
                }
            }
            *o = ((acc[4] + acc[0]) + (acc[6] + acc[2])) + ((acc[5] + acc[1]) + (acc[7] + acc[3]));
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Operand, QK, TILE};
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must have AVX2 and FMA; the operands hold `kb` blocks.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn tile<const R: usize>(
        w: &Operand,
        xs: &[Operand; R],
        kb: usize,
    ) -> [[f32; TILE]; R] {
        let ones = _mm256_set1_epi16(1);
        let mut acc = [[_mm256_setzero_ps(); TILE]; R];
        for b in 0..kb {
            let wq = w.qs[b * TILE * QK..][..TILE * QK].as_ptr();
            let ws = &w.scales[b * TILE..][..TILE];
            for (j, dw) in ws.iter().enumerate() {
                // SAFETY: 32 values of row j of this block.
                let wv = unsafe { _mm256_loadu_si256(wq.add(j * QK) as *const __m256i) };
                let aw = _mm256_sign_epi8(wv, wv);
                for (x, acc) in xs.iter().zip(acc.iter_mut()) {
                    let xq = x.qs[b * QK..][..QK].as_ptr();
                    // SAFETY: 32 values of this row's block b.
                    let xv = unsafe { _mm256_loadu_si256(xq as *const __m256i) };
                    let dot = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(xv, wv));
                    let sum = _mm256_cvtepi32_ps(_mm256_madd_epi16(ones, dot));
                    let d = _mm256_set1_ps(dw * x.scales[b]);
                    acc[j] = _mm256_fmadd_ps(d, sum, acc[j]);
                }
            }
        }
        let mut out = [[0f32; TILE]; R];
        for (o, a) in out.iter_mut().zip(acc.iter()) {
            for (o, a) in o.iter_mut().zip(a.iter()) {
                *o = hsum(*a);
            }
        }
        out
    }

    /// candle's `hsum_float_8`, operation for operation.
    #[target_feature(enable = "avx2,fma")]
    fn hsum(x: __m256) -> f32 {
        let res = _mm256_extractf128_ps(x, 1);
        let res = _mm_add_ps(res, _mm256_castps256_ps128(x));
        let res = _mm_add_ps(res, _mm_movehl_ps(res, res));
        let res = _mm_add_ss(res, _mm_movehdup_ps(res));
        _mm_cvtss_f32(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::QMatMul;
    use candle_core::{Device, Module};

    fn weight(n: usize, k: usize, seed: u64) -> QTensor {
        let w = Tensor::randn(0f32, 1.0, (n, k), &Device::Cpu)
            .unwrap()
            .affine(1.0, seed as f64 * 1e-3)
            .unwrap();
        QTensor::quantize(&w, GgmlDType::Q8_0).unwrap()
    }

    /// candle's own Q8_0 matmul of `x [m, k]` by `q [n, k]`: its row-by-row
    /// dot product (k is not a multiple of 256, so never its repacked
    /// kernels).
    fn candle(q: &QTensor, x: &Tensor) -> Vec<f32> {
        let data = q.data().unwrap().into_owned();
        let storage = candle_core::quantized::QStorage::from_data(
            std::borrow::Cow::Owned(data),
            &Device::Cpu,
            GgmlDType::Q8_0,
        )
        .unwrap();
        let q = QTensor::new(storage, q.shape().clone()).unwrap();
        let mm = QMatMul::from_arc(std::sync::Arc::new(q)).unwrap();
        mm.forward(x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    }

    #[test]
    fn packed_projection_equals_candles_to_the_bit() {
        // Rows 1 to 7 exercise the three-, two- and one-row kernels; 13
        // columns a partial last tile; two parts share one input.
        for (m, n, k) in [(1, 13, 96), (2, 8, 64), (5, 13, 96), (7, 4, 160)] {
            let q1 = weight(n, k, 1);
            let q2 = weight(n + 3, k, 2);
            let x = Tensor::randn(0f32, 1.0, (m, k), &Device::Cpu).unwrap();
            let p1 = PackedQ8::from_qtensor(&q1).unwrap();
            let p2 = PackedQ8::from_qtensor(&q2).unwrap();
            let mut isas = vec![Isa::Portable];
            if Isa::detect() != Isa::Portable {
                isas.push(Isa::detect());
            }
            for isa in isas {
                let ys = project_with(&[&p1, &p2], &x, isa).unwrap();
                for (y, q) in ys.iter().zip([&q1, &q2]) {
                    let got: Vec<f32> = y.flatten_all().unwrap().to_vec1().unwrap();
                    let want = candle(q, &x);
                    // The portable copy is the reference where candle's
                    // AVX2 path is not what `candle()` runs.
                    if Isa::detect() != Isa::Portable {
                        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                        assert_eq!(bits(&got), bits(&want), "{isa:?} m {m} n {n} k {k}");
                    } else {
                        for (a, b) in got.iter().zip(&want) {
                            assert!((a - b).abs() <= 1e-4 * b.abs().max(1.0), "{a} vs {b}");
                        }
                    }
                }
                assert_eq!(ys[1].dims(), &[m, n + 3]);
            }
        }
    }

    #[test]
    fn packing_keeps_every_value_and_scale() {
        let q = weight(6, 64, 3);
        let p = PackedQ8::from_qtensor(&q).unwrap();
        assert_eq!(p.dims(), (6, 64));
        let a: Vec<f32> = p
            .dequantize()
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let b: Vec<f32> = q
            .dequantize(&Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn inputs_of_the_wrong_width_are_refused() {
        let q = weight(4, 64, 4);
        let p = PackedQ8::from_qtensor(&q).unwrap();
        let x = Tensor::zeros((2, 32), candle_core::DType::F32, &Device::Cpu).unwrap();
        assert!(project(&[&p], &x).is_err());
        let x = Tensor::zeros((2, 64), candle_core::DType::F32, &Device::Cpu).unwrap();
        let y = project(&[&p], &x).unwrap();
        assert_eq!(y[0].dims(), &[2, 4]);
        assert_eq!(y[0].sum_all().unwrap().to_scalar::<f32>().unwrap(), 0.0);
    }
}
