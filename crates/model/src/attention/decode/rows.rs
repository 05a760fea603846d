//! The decode kernel's softmax for the passes that are not decoding:
//! prefill, the reference policy's scoring and the training attention's
//! forward and backward. candle's `softmax_last_dim` calls the library's
//! `expf` per score on rayon's pool: 6–7 % of a GRPO step's samples
//! (`perf`), with rayon's threads spinning against candle's own pool on
//! two cores.

use super::{best_isa, lanes, Isa};
use candle_core::{Result, Tensor, D};

/// Softmax along the last dimension, on candle's CPU pool, with the
/// vectorised `exp` of the decode kernel (relative error ~1e-7). Other
/// devices and dtypes go to candle's.
pub fn softmax_last(x: &Tensor) -> Result<Tensor> {
    softmax_last_on(x, best_isa())
}

fn softmax_last_on(x: &Tensor, isa: Isa) -> Result<Tensor> {
    if !x.device().is_cpu() || x.dtype() != candle_core::DType::F32 || x.rank() == 0 {
        return candle_nn::ops::softmax_last_dim(x);
    }
    let width = x.dim(D::Minus1)?;
    let mut out: Vec<f32> = x.flatten_all()?.to_vec1()?;
    if let Some(n) = out.len().checked_div(width) {
        let base = out.as_mut_ptr() as usize;
        candle_core::utils::barrier_pool().execute_chunked(n, |rows| {
            // SAFETY: the chunks' rows are disjoint and `out` outlives the
            // pool call.
            let s = unsafe {
                std::slice::from_raw_parts_mut(
                    (base as *mut f32).add(rows.start * width),
                    rows.len() * width,
                )
            };
            softmax_rows(s, width, isa);
        });
    }
    Tensor::from_vec(out, x.shape(), x.device())
}

/// Softmax of one row in place, with the same kernel as [`softmax_last`].
pub(crate) fn softmax_row(row: &mut [f32]) {
    if !row.is_empty() {
        softmax_rows(row, row.len(), best_isa());
    }
}

fn softmax_rows(s: &mut [f32], width: usize, isa: Isa) {
    #[cfg(target_arch = "x86_64")]
    match isa {
        // SAFETY: the CPU has these features (checked at run time).
        Isa::Avx512 => {
            for r in s.chunks_mut(width) {
                unsafe { super::wide::softmax(r) };
            }
            return;
        }
        Isa::Fma => return unsafe { softmax_rows_fma(s, width) },
        Isa::Baseline => {}
    }
    let _ = isa;
    for r in s.chunks_mut(width) {
        lanes::softmax::<false>(r);
    }
}

/// Compiled for AVX2 and FMA (the build targets the x86-64 baseline).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn softmax_rows_fma(s: &mut [f32], width: usize) {
    for r in s.chunks_mut(width) {
        lanes::softmax::<true>(r);
    }
}

#[cfg(test)]
mod tests {
    use super::super::available_isas;
    use super::*;
    use crate::ops::tests::max_diff;
    use candle_core::Device;

    /// Every copy this CPU has against candle's softmax, with masked
    /// (−∞) scores as a causal mask leaves them, widths that are and are
    /// not whole vectors, and a strided input.
    #[test]
    fn softmax_last_matches_candles() {
        let dev = Device::Cpu;
        for width in [1usize, 7, 16, 37, 300] {
            let x = Tensor::randn(0f32, 3.0, (2, 3, 5, width), &dev).unwrap();
            let mask: Vec<f32> = (0..5 * width)
                .map(|i| {
                    if i % width > i / width + width / 2 {
                        f32::NEG_INFINITY
                    } else {
                        0.0
                    }
                })
                .collect();
            let mask = Tensor::from_vec(mask, (5, width), &dev).unwrap();
            let x = x.broadcast_add(&mask).unwrap();
            let want = candle_nn::ops::softmax_last_dim(&x).unwrap();
            for isa in available_isas() {
                let got = softmax_last_on(&x, isa).unwrap();
                assert_eq!(got.dims(), want.dims());
                let d = max_diff(&got, &want);
                assert!(d < 1e-6, "{isa:?} width {width}: {d}");
            }
        }
        let x = Tensor::randn(0f32, 1.0, (4, 6), &dev).unwrap().t().unwrap();
        let want = candle_nn::ops::softmax_last_dim(&x.contiguous().unwrap()).unwrap();
        assert!(max_diff(&softmax_last(&x).unwrap(), &want) < 1e-6);
    }
}
