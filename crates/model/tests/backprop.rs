//! The workspace's patched candle-core (vendor/candle-core/PATCHED.md)
//! stores a node's first gradient as it arrives instead of adding it into
//! zeros. These check the gradients that patch touches against their
//! closed forms: a single consumer, fan-in, a subtraction's negated first
//! term, a gradient that arrives as a transposed (strided) view, and a
//! product whose output buffer is no longer zero-filled.

use candle_core::{Device, Tensor, Var};

fn close(a: &Tensor, b: &Tensor) -> bool {
    let d: f32 = (a - b)
        .and_then(|d| d.abs())
        .and_then(|d| d.max_all())
        .and_then(|d| d.to_scalar())
        .unwrap_or(f32::INFINITY);
    d < 1e-5
}

#[test]
fn gradients_with_and_without_fan_in_match_their_closed_forms() -> candle_core::Result<()> {
    let dev = Device::Cpu;
    let x = Var::from_tensor(&Tensor::randn(0f32, 1.0, (3, 4), &dev)?)?;
    let w = Var::from_tensor(&Tensor::randn(0f32, 1.0, (4, 4), &dev)?)?;
    let c = Tensor::randn(0f32, 1.0, (3, 4), &dev)?;
    let (xt, wt) = (x.as_tensor(), w.as_tensor());
    // Σ (c − x)  +  Σ x⊙x  +  Σ (x·W)ᵀ: x reaches the sum through a
    // subtraction's right side (its first gradient is −1), a product with
    // itself (fan-in) and a transposed matrix product.
    let loss = ((&c - xt)?.sum_all()? + (xt * xt)?.sum_all()?)?;
    let loss = (loss + xt.matmul(wt)?.t()?.sum_all()?)?;
    let grads = loss.backward()?;
    let ones = Tensor::ones((3, 4), candle_core::DType::F32, &dev)?;
    // d/dx = −1 + 2x + 1·Wᵀ (each row of ones times Wᵀ).
    let want_x = ((xt * 2.0)? - 1.0)?.add(&ones.matmul(&wt.t()?)?)?;
    // d/dW = xᵀ·1.
    let want_w = xt
        .t()?
        .matmul(&Tensor::ones((3, 4), candle_core::DType::F32, &dev)?)?;
    let (gx, gw) = (
        grads.get(xt).expect("x's gradient"),
        grads.get(wt).expect("W's gradient"),
    );
    assert!(close(gx, &want_x));
    assert!(close(gw, &want_w));
    assert!(gx.is_contiguous() && gw.is_contiguous());
    Ok(())
}

#[test]
fn a_product_fills_every_element_of_its_output() -> candle_core::Result<()> {
    let dev = Device::Cpu;
    // Allocate and drop buffers of the product's size with a known
    // pattern first, so an element the product failed to write would show.
    for _ in 0..4 {
        let junk = Tensor::full(f32::NAN, (64, 48), &dev)?;
        drop(junk.to_vec2::<f32>()?);
    }
    let a = Tensor::randn(0f32, 1.0, (64, 32), &dev)?;
    let b = Tensor::randn(0f32, 1.0, (32, 48), &dev)?;
    let p = a.matmul(&b)?;
    let by_hand: Vec<f32> = {
        let (a, b) = (a.to_vec2::<f32>()?, b.to_vec2::<f32>()?);
        (0..64)
            .flat_map(|i| {
                let (a, b) = (&a, &b);
                (0..48).map(move |j| (0..32).map(|k| a[i][k] * b[k][j]).sum::<f32>())
            })
            .collect()
    };
    let want = Tensor::from_vec(by_hand, (64, 48), &dev)?;
    assert!(close(&p, &want));
    // With nothing to sum over, the product is zeros.
    let e = Tensor::zeros((5, 0), candle_core::DType::F32, &dev)?.matmul(&Tensor::zeros(
        (0, 3),
        candle_core::DType::F32,
        &dev,
    )?)?;
    assert_eq!(e.sum_all()?.to_scalar::<f32>()?, 0.0);
    assert_eq!(e.dims(), &[5, 3]);
    Ok(())
}
