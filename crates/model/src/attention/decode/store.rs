//! The shared positions as stored for the decode kernel: f32, or f16
//! where `decode_keys` and `decode_values` halve them (the AVX2 copy),
//! and their conversion for the loops that read only f32.

use super::lanes::Rows;
use super::{best_isa, Isa};
use candle_core::{CpuStorage, Result};
use half::f16;

/// The shared positions' data: f32, or f16 where `decode_keys` and
/// `decode_values` halve them.
#[derive(Clone, Copy)]
pub(super) enum Store<'a> {
    F32(&'a [f32]),
    F16(&'a [f16]),
}

pub(super) fn cpu_store<'a>(guard: &'a candle_core::StorageRef<'_>) -> Result<Store<'a>> {
    match &**guard {
        candle_core::Storage::Cpu(CpuStorage::F32(x)) => Ok(Store::F32(x)),
        candle_core::Storage::Cpu(CpuStorage::F16(x)) => Ok(Store::F16(x)),
        _ => candle_core::bail!("decode-attention needs f32 or f16 tensors on the CPU"),
    }
}

/// Rows of shared keys or values in their stored type.
#[derive(Clone, Copy)]
pub(super) enum Tile<'a> {
    F32(Rows<'a>),
    F16(Rows<'a, f16>),
}

impl<'a> Store<'a> {
    pub(super) fn rows(self, start: usize, stride: usize, count: usize, width: usize) -> Tile<'a> {
        match self {
            Store::F32(x) => Tile::F32(Rows::new(x, start, stride, count, width)),
            Store::F16(x) => Tile::F16(Rows::new(x, start, stride, count, width)),
        }
    }
}

impl<'a> Tile<'a> {
    /// As f32 rows: f16 converted into `scratch` (the layout kept).
    pub(super) fn as_f32<'s>(self, scratch: &'s mut Vec<f32>) -> Rows<'s>
    where
        'a: 's,
    {
        match self {
            Tile::F32(r) => r,
            Tile::F16(r) => widened(r, scratch),
        }
    }
}

/// f16 rows converted into `scratch`, the layout kept.
fn widened<'s>(r: Rows<'_, f16>, scratch: &'s mut Vec<f32>) -> Rows<'s> {
    let len = r.data.len();
    if scratch.len() < len {
        scratch.resize(len, 0.0);
    }
    let out = &mut scratch[..len];
    match best_isa() {
        // SAFETY: the CPU has AVX2, FMA and F16C.
        #[cfg(target_arch = "x86_64")]
        Isa::Fma => unsafe { super::narrow::widen(r.data, out) },
        _ => out
            .iter_mut()
            .zip(r.data)
            .for_each(|(o, h)| *o = h.to_f32()),
    }
    Rows {
        data: out,
        stride: r.stride,
    }
}
