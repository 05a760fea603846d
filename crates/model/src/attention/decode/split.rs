//! How one decode-attention call is cut up: the shared keys into tiles
//! of positions (their layout in the KV cache), and the batch rows into
//! work items for candle's pool.

use super::{best_isa, Isa};
use candle_core::{Result, Tensor};

/// Positions per tile of the shared keys, for `p` of them.
///
/// AVX-512 scores all positions in one pass (one tile): its registers
/// hold three queries' sums across a row of keys. The others walk tiles
/// of 72 positions, three of the AVX2 kernel's blocks of 24 (a tail
/// block is slower): a tile's keys and values are 18 KiB each, and every
/// query of a work item is scored against a tile while it is in L1.
fn keys_tile(isa: Isa, p: usize) -> usize {
    match isa {
        Isa::Avx512 => p.max(1),
        _ => 72,
    }
}

/// The shared keys `[1, kv_heads, p, d]` in the layout the CPU decode
/// kernel reads: positions cut into tiles (the last padded with zeros),
/// each tile transposed, `[1, kv_heads, tiles · d, tile]`; row `t·d + i`
/// is dimension `i` of tile `t`'s positions. A tile's keys are then one
/// contiguous block. As one transposed matrix (`[1, kv_heads, d, p]`),
/// every tile read 64 short runs 8 KB apart: in `glrl eval`, where the
/// other layers' weights have pushed the keys out of the caches, the
/// AVX2 scoring was 15 % of the samples that way and 6.7 % in tiles
/// (`perf`, AMD EPYC Zen 3).
///
/// On CPUs whose copy of the kernel is the AVX2 one the tiles are f16
/// ([`stored`]).
pub fn decode_keys(k: &Tensor) -> Result<Tensor> {
    let isa = best_isa();
    stored(&tiled_keys(k, keys_tile(isa, k.dim(2)?))?, isa)
}

/// The shared values `[1, kv_heads, p, d]` as the CPU decode kernel
/// reads them: as they are, or f16 ([`stored`]).
pub fn decode_values(v: &Tensor) -> Result<Tensor> {
    stored(v, best_isa())
}

/// f16 for the AVX2 copy of the kernel, which converts on load (F16C):
/// out of cache it waits on memory, and the prompt's keys and values
/// are read at every step (~92 MB in f32 over SmolLM2's 30 layers at
/// 2,000 positions, more than the caches hold). Criterion's
/// `decode/kernel-30-layers` on an AMD EPYC Zen 2: 15.5 ms a step in f32
/// at 2,000 positions, 8.4 ms at 1,000. The AVX-512 copy keeps f32 (its
/// machines met the latency targets without it), as does the portable
/// one.
pub(super) fn stored(t: &Tensor, isa: Isa) -> Result<Tensor> {
    match isa {
        Isa::Fma => to_f16(t),
        _ => Ok(t.clone()),
    }
}

/// A CPU f32 tensor in f16, converted with F16C where the CPU has it
/// (candle's `to_dtype` converts one value at a time).
fn to_f16(t: &Tensor) -> Result<Tensor> {
    use half::slice::HalfFloatSliceExt;
    let t = t.contiguous()?;
    let halves = crate::par::with_f32(&t, |x| {
        let mut h = vec![half::f16::ZERO; x.len()];
        h.convert_from_f32_slice(x);
        Ok(h)
    })?;
    Tensor::from_vec(halves, t.shape(), t.device())
}

/// [`decode_keys`] with tiles of `tile` positions.
pub(super) fn tiled_keys(k: &Tensor, tile: usize) -> Result<Tensor> {
    let (one, kvh, p, d) = k.dims4()?;
    let tile = tile.max(1);
    let tiles = p.div_ceil(tile);
    let padded = match tiles * tile - p {
        0 => k.clone(),
        pad => k.pad_with_zeros(2, 0, pad)?,
    };
    padded
        .reshape((one, kvh, tiles, tile, d))?
        .transpose(3, 4)?
        .contiguous()?
        .reshape((one, kvh, tiles * d, tile))
}

/// How the batch rows are grouped into work items, per KV head.
///
/// The AVX-512 copy takes one row an item (its registers hold three
/// queries' sums across all positions). The others take several rows an
/// item and walk the shared positions in tiles, scoring every query of
/// the group against a tile while it is in L1: one row an item read the
/// prompt's keys and values (~1 MB a KV head at 2,000 positions, more
/// than a Zen 3 core's L2) from L3 once per row and query head.
pub(super) struct RowGroups {
    /// Items per KV head.
    pub(super) count: usize,
    /// Rows per item (the last may have fewer).
    per: usize,
    rows: usize,
}

impl RowGroups {
    pub(super) fn new(b: usize, kvh: usize, isa: Isa) -> RowGroups {
        let per = match isa {
            Isa::Avx512 => 1,
            // At least two items a thread, so a thread that finishes
            // early takes another instead of waiting at the barrier.
            _ => {
                // The pool's own count: `get_num_threads` may read
                // /proc/cpuinfo on every call.
                let threads = candle_core::utils::barrier_pool().n_workers() + 1;
                let want = (2 * threads).div_ceil(kvh.max(1)).clamp(1, b.max(1));
                b.div_ceil(want).max(1)
            }
        };
        RowGroups {
            count: b.div_ceil(per),
            per,
            rows: b,
        }
    }

    /// Item `i`: its KV head and its batch rows.
    pub(super) fn item(&self, i: usize) -> (usize, std::ops::Range<usize>) {
        let (g, k) = (i / self.count, i % self.count);
        (g, k * self.per..(k * self.per + self.per).min(self.rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_groups_cover_every_row_of_every_kv_head_once() {
        for isa in [Isa::Baseline, Isa::Fma, Isa::Avx512] {
            for b in 0..9 {
                for kvh in 1..5 {
                    let g = RowGroups::new(b, kvh, isa);
                    let mut seen = vec![0; b * kvh];
                    for item in 0..kvh * g.count {
                        let (head, rows) = g.item(item);
                        assert!(head < kvh && !rows.is_empty(), "{isa:?} b {b} kvh {kvh}");
                        rows.for_each(|bi| seen[head * b + bi] += 1);
                    }
                    assert!(
                        seen.iter().all(|&n| n == 1),
                        "{isa:?} b {b} kvh {kvh}: {seen:?}"
                    );
                }
            }
        }
    }
}
