//! Q8_0 projections at SmolLM2-135M's shapes: candle's `QMatMul` against
//! this crate's packed tiles (`glrl_model::q8`), in one run.
//! - `q8/{candle,packed}/{m}x{n}x{k}`: `m` input rows (1: greedy decode;
//!   5: the pipeline's five candidates; 64: a prompt's chunk) by an
//!   `n × k` weight (q/o 576×576, gate/up 1536×576, down 576×1536, the
//!   output head 49152×576).
//! - `q8/{candle,packed}-qkv/5`: q, k and v of one input, candle one by one
//!   against the packed kernel's single pass.
//!
//! The packed path is what `glrl` serves on CPUs with AVX2 but no AVX-512
//! VNNI or AVX-VNNI; elsewhere candle repacks Q8_0 itself and this bench
//! compares against whichever kernel candle picks there.

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};
use criterion::{criterion_group, criterion_main, Criterion};
use glrl_model::q8::{project, PackedQ8};
use std::hint::black_box;
use std::sync::Arc;

fn weight(n: usize, k: usize) -> QTensor {
    let w = Tensor::randn(0f32, 0.05, (n, k), &Device::Cpu).expect("weight");
    QTensor::quantize(&w, GgmlDType::Q8_0).expect("quantise")
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("q8");
    for (m, n, k) in [
        (1, 576, 576),
        (5, 576, 576),
        (5, 1536, 576),
        (5, 576, 1536),
        (5, 49152, 576),
        (64, 1536, 576),
    ] {
        let q = weight(n, k);
        let packed = PackedQ8::from_qtensor(&q).expect("pack");
        let mm = QMatMul::from_arc(Arc::new(q)).expect("qmatmul");
        let x = Tensor::randn(0f32, 1.0, (m, k), &Device::Cpu).expect("input");
        let id = format!("{m}x{n}x{k}");
        g.bench_function(format!("candle/{id}"), |b| {
            b.iter(|| mm.forward(black_box(&x)).expect("candle"))
        });
        g.bench_function(format!("packed/{id}"), |b| {
            b.iter(|| project(&[&packed], black_box(&x)).expect("packed"))
        });
    }
    let shapes = [(576, 576), (192, 576), (192, 576)];
    let qs: Vec<QTensor> = shapes.iter().map(|&(n, k)| weight(n, k)).collect();
    let packed: Vec<PackedQ8> = qs
        .iter()
        .map(|q| PackedQ8::from_qtensor(q).expect("pack"))
        .collect();
    let mms: Vec<QMatMul> = qs
        .into_iter()
        .map(|q| QMatMul::from_arc(Arc::new(q)).expect("qmatmul"))
        .collect();
    let x = Tensor::randn(0f32, 1.0, (5, 576), &Device::Cpu).expect("input");
    g.bench_function("candle-qkv/5", |b| {
        b.iter(|| {
            mms.iter()
                .map(|mm| mm.forward(black_box(&x)).expect("candle"))
                .collect::<Vec<_>>()
        })
    });
    let refs: Vec<&PackedQ8> = packed.iter().collect();
    g.bench_function("packed-qkv/5", |b| {
        b.iter(|| project(black_box(&refs), black_box(&x)).expect("packed"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
