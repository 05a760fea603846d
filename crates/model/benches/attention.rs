//! Decode attention at SmolLM2-135M's shape (9 query heads over 3 KV
//! heads, 64 wide): one new token per sequence over a prompt every
//! sequence shares and each sequence's own positions.
//! - `decode/kernel/{b}x{p}+{t}`: `glrl_model::attention::decode_attention`
//!   for `b` sequences (1: greedy; 5: the pipeline's candidates) over `p`
//!   shared positions (the ERP prompt is ~2,000 tokens) and `t` own ones.
//! - `decode/composed/{b}x{p}+{t}`: the same attention through candle's
//!   tensor ops (matmul, softmax) over keys and values broadcast to every
//!   sequence, which is what the kernel replaces.
//! - `decode/kernel-30-layers/{b}x2000+64[-f32]`: the kernel once for
//!   each of 30 layers' own keys and values, too many to stay in cache;
//!   in the form `decode_keys` and `decode_values` store them on this CPU
//!   (f16 where the AVX2 copy of the kernel runs), and with `-f32` in f32
//!   whatever the CPU.
//! - `softmax/{ours,candle}/{rows}x{positions}`: the softmax of one
//!   layer's scores outside decoding, `glrl_model::attention::softmax_last`
//!   against candle's `softmax_last_dim`: a GRPO candidate (9 heads × 265
//!   rows over a 1,060-token prompt and its own 265) and a question's
//!   prefill over the cached ERP prefix (9 × 150 over 2,030).

use candle_core::DType;
use candle_core::{Device, Tensor, D};
use criterion::{criterion_group, criterion_main, Criterion};
use glrl_model::attention::{decode_attention, decode_keys, decode_values, softmax_last};
use std::hint::black_box;

const HEADS: usize = 9;
const KV_HEADS: usize = 3;
const WIDTH: usize = 64;

fn randn(shape: (usize, usize, usize, usize)) -> Tensor {
    Tensor::randn(0f32, 1.0, shape, &Device::Cpu).expect("randn")
}

/// Softmax(q·kᵀ·scale)·v with the query heads grouped by KV head.
fn composed(q: &Tensor, k: &Tensor, v: &Tensor, scale: f64) -> candle_core::Result<Tensor> {
    let (b, h, _, d) = q.dims4()?;
    let q = q.reshape((b, KV_HEADS, h / KV_HEADS, d))?;
    let s = (q.matmul(&k.t()?)? * scale)?;
    let p = candle_nn::ops::softmax_last_dim(&s)?;
    p.matmul(v)?.reshape((b, h, 1, d))
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    let scale = 1.0 / (WIDTH as f64).sqrt();
    for (b, p, t) in [(1, 2000, 64), (5, 2000, 64), (5, 500, 16)] {
        let id = format!("{b}x{p}+{t}");
        let q = randn((b, HEADS, 1, WIDTH));
        let (sk, sv) = (
            randn((1, KV_HEADS, p, WIDTH)),
            randn((1, KV_HEADS, p, WIDTH)),
        );
        let skt = decode_keys(&sk).expect("keys in the kernel's layout");
        let sv = decode_values(&sv).expect("values as the kernel reads them");
        let (ok, ov) = (
            randn((b, KV_HEADS, t, WIDTH)),
            randn((b, KV_HEADS, t, WIDTH)),
        );
        g.bench_function(format!("kernel/{id}"), |bn| {
            bn.iter(|| {
                black_box(decode_attention(&q, Some((&skt, &sv)), &ok, &ov, scale).expect("kernel"))
            })
        });
        let wide = |s: &Tensor| {
            s.to_dtype(DType::F32)
                .and_then(|s| s.broadcast_as((b, KV_HEADS, p, WIDTH)))
                .expect("broadcast")
        };
        // Contiguous: candle's matmul refuses the broadcast layout.
        let k = Tensor::cat(&[&wide(&sk), &ok], 2)
            .and_then(|x| x.contiguous())
            .expect("keys");
        let v = Tensor::cat(&[&wide(&sv), &ov], 2)
            .and_then(|x| x.contiguous())
            .expect("values");
        g.bench_function(format!("composed/{id}"), |bn| {
            bn.iter(|| black_box(composed(&q, &k, &v, scale).expect("composed")))
        });
        // The kernel and the composition agree, or the timing means nothing.
        let diff = (decode_attention(&q, Some((&skt, &sv)), &ok, &ov, scale).expect("kernel")
            - composed(&q, &k, &v, scale).expect("composed"))
        .and_then(|x| x.abs()?.flatten_all()?.max(D::Minus1)?.to_scalar::<f32>())
        .expect("difference");
        // f16 storage rounds the keys: the composition has the unrounded.
        let tolerance = if skt.dtype() == DType::F16 {
            1e-2
        } else {
            1e-4
        };
        assert!(diff < tolerance, "kernel and composition differ by {diff}");
    }
    // A decoding step's worth: one call per layer, each over its own keys
    // and values (SmolLM2 has 30 layers). The 30 layers' shared positions
    // (~92 MB at 2,000 positions) do not fit in a cache, as between the
    // steps of a real generation; the cases above reuse theirs.
    for (b, p, t) in [(5, 2000, 64), (1, 2000, 64)] {
        for f32_always in [false, true] {
            // The f32 case keeps the tiles of this CPU's layout.
            let form = |x: Tensor| match f32_always {
                true => x.to_dtype(DType::F32).expect("f32"),
                false => x,
            };
            let layers: Vec<_> = (0..30)
                .map(|_| {
                    let sk = randn((1, KV_HEADS, p, WIDTH));
                    let sv = randn((1, KV_HEADS, p, WIDTH));
                    (
                        form(decode_keys(&sk).expect("keys in the kernel's layout")),
                        form(decode_values(&sv).expect("values")),
                        randn((b, KV_HEADS, t, WIDTH)),
                        randn((b, KV_HEADS, t, WIDTH)),
                    )
                })
                .collect();
            let q = randn((b, HEADS, 1, WIDTH));
            let suffix = if f32_always { "-f32" } else { "" };
            g.bench_function(format!("kernel-30-layers/{b}x{p}+{t}{suffix}"), |bn| {
                bn.iter(|| {
                    for (skt, sv, ok, ov) in &layers {
                        black_box(
                            decode_attention(&q, Some((skt, sv)), ok, ov, scale).expect("kernel"),
                        );
                    }
                })
            });
        }
    }
    g.finish();
}

fn softmax(c: &mut Criterion) {
    let mut g = c.benchmark_group("softmax");
    for (rows, positions) in [(265, 1325), (150, 2030)] {
        let s = randn((1, KV_HEADS, HEADS / KV_HEADS * rows, positions));
        let id = format!("{}x{positions}", HEADS * rows);
        g.bench_function(format!("ours/{id}"), |bn| {
            bn.iter(|| black_box(softmax_last(&s).expect("softmax")))
        });
        g.bench_function(format!("candle/{id}"), |bn| {
            bn.iter(|| black_box(candle_nn::ops::softmax_last_dim(&s).expect("softmax")))
        });
    }
    g.finish();
}

criterion_group!(benches, bench, softmax);
criterion_main!(benches);
