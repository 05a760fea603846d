//! The decode kernel's inner loops in AVX2 and FMA intrinsics, for
//! SmolLM2's shape (3 query heads a KV head, heads 64 wide), on one tile
//! of positions at a time: the AVX-512 kernel's register layout
//! (`wide.rs`) at eight lanes and with sixteen registers. Written
//! portably, the scores ran as chains of four dependent fused
//! multiply-adds through memory and the value sums spilled to the stack
//! (`perf annotate`, criterion's `decode/kernel/5x2000+64`).
//!
//! The shared positions come as f32 or, where `decode_keys` and
//! `decode_values` halve them, as f16 converted on load (F16C): out of
//! cache the kernel waits on memory, and f16 halves what it reads.

use super::lanes::{Elem, Rows};
use std::arch::x86_64::*;

/// Query heads per KV head.
const R: usize = 3;
/// Head width.
const D: usize = 64;
/// Blocks of 8 positions scored per pass over the keys: `R × BLOCKS`
/// independent sums (enough to cover the fused multiply-add's latency),
/// the keys and a broadcast query in the remaining registers.
const BLOCKS: usize = 3;

/// Mask of the first `n` (≤ 8) lanes.
#[target_feature(enable = "avx2")]
unsafe fn first(n: usize) -> __m256i {
    let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), lanes)
}

/// Eight values from `p` as f32.
#[inline(always)]
unsafe fn load8<T: Elem>(p: *const T) -> __m256 {
    match T::HALF {
        true => _mm256_cvtph_ps(_mm_loadu_si128(p.cast())),
        false => _mm256_loadu_ps(p.cast()),
    }
}

/// The first `n` (< 8) values from `p` as f32, the other lanes zero,
/// reading nothing past them (masked loads are slow here: only for the
/// last block).
#[inline(always)]
unsafe fn load_first<T: Elem>(p: *const T, n: usize) -> __m256 {
    match T::HALF {
        true => {
            let mut buf = [0u16; 8];
            std::ptr::copy_nonoverlapping(p.cast::<u16>(), buf.as_mut_ptr(), n.min(8));
            _mm256_cvtph_ps(_mm_loadu_si128(buf.as_ptr().cast()))
        }
        false => _mm256_maskload_ps(p.cast(), first(n)),
    }
}

/// As [`super::lanes::score_along`] for the 3 queries `q` (`3 × 64`
/// values) at once: `s[r·total + p] = Σᵢ q[r·64 + i]·keys[i][p]` for
/// `p < n`, each transposed key row read once for all three.
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn score3<T: Elem>(
    q: &[f32],
    keys: Rows<'_, T>,
    n: usize,
    s: &mut [f32],
    total: usize,
) {
    let Rows { data, stride } = keys;
    // What the pointer arithmetic below relies on, checked once a call.
    assert!(q.len() == R * D && n <= total && s.len() >= (R - 1) * total + n);
    assert!(n == 0 || data.len() >= (D - 1) * stride + n);
    let (kp, sp) = (data.as_ptr(), s.as_mut_ptr());
    let mut p = 0;
    while p + 8 * BLOCKS <= n {
        let mut acc = [[_mm256_setzero_ps(); BLOCKS]; R];
        for i in 0..D {
            let row = kp.add(i * stride + p);
            let mut k = [_mm256_setzero_ps(); BLOCKS];
            for (j, kj) in k.iter_mut().enumerate() {
                *kj = load8(row.add(8 * j));
            }
            for (r, a) in acc.iter_mut().enumerate() {
                let qv = _mm256_broadcast_ss(&q[r * D + i]);
                for j in 0..BLOCKS {
                    a[j] = _mm256_fmadd_ps(qv, k[j], a[j]);
                }
            }
        }
        for (r, a) in acc.iter().enumerate() {
            for (j, aj) in a.iter().enumerate() {
                _mm256_storeu_ps(sp.add(r * total + p + 8 * j), *aj);
            }
        }
        p += 8 * BLOCKS;
    }
    // The last few blocks, the final one masked to the positions left
    // (masked stores are slow here: only for that one).
    while p < n {
        let left = n - p;
        let m = first(left.min(8));
        let mut acc = [_mm256_setzero_ps(); R];
        for i in 0..D {
            let row = kp.add(i * stride + p);
            let k = match left >= 8 {
                true => load8(row),
                false => load_first(row, left),
            };
            for (r, a) in acc.iter_mut().enumerate() {
                *a = _mm256_fmadd_ps(_mm256_broadcast_ss(&q[r * D + i]), k, *a);
            }
        }
        for (r, a) in acc.iter().enumerate() {
            match left >= 8 {
                true => _mm256_storeu_ps(sp.add(r * total + p), *a),
                false => _mm256_maskstore_ps(sp.add(r * total + p), m, *a),
            }
        }
        p += 8;
    }
}

/// As [`super::lanes::weigh`] for the 3 query heads at once: `o[r·64 ..]
/// += Σₚ w[r·total + w0 + p]·rows[p]` for `p < n`, each value row read
/// once for all three. Half a head (32 values) a pass: 3 × 4 sums in
/// registers, which with the values and a weight fill the sixteen.
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn weigh3<T: Elem>(
    o: &mut [f32],
    w: &[f32],
    (w0, total): (usize, usize),
    rows: Rows<'_, T>,
    n: usize,
) {
    const HALF: usize = D / 2;
    let Rows { data, stride } = rows;
    assert!(o.len() == R * D && w0 + n <= total && w.len() >= (R - 1) * total + w0 + n);
    assert!(n == 0 || data.len() >= (n - 1) * stride + D);
    for half in [0, HALF] {
        let mut acc = [[_mm256_setzero_ps(); HALF / 8]; R];
        for (r, a) in acc.iter_mut().enumerate() {
            for (j, aj) in a.iter_mut().enumerate() {
                *aj = _mm256_loadu_ps(o.as_ptr().add(r * D + half + 8 * j));
            }
        }
        let wp = w.as_ptr().add(w0);
        for p in 0..n {
            let v = data.as_ptr().add(p * stride + half);
            let mut wr = [_mm256_setzero_ps(); R];
            for (r, x) in wr.iter_mut().enumerate() {
                *x = _mm256_broadcast_ss(&*wp.add(r * total + p));
            }
            // One value vector live at a time: twelve sums, three
            // weights and it are the sixteen registers (holding all four
            // spilled a sum to the stack).
            for j in 0..HALF / 8 {
                let vj = load8(v.add(8 * j));
                for (a, x) in acc.iter_mut().zip(wr) {
                    a[j] = _mm256_fmadd_ps(x, vj, a[j]);
                }
            }
        }
        for (r, a) in acc.iter().enumerate() {
            for (j, aj) in a.iter().enumerate() {
                _mm256_storeu_ps(o.as_mut_ptr().add(r * D + half + 8 * j), *aj);
            }
        }
    }
}

/// `dst[i] = src[i]` widened from f16, eight at a time. Not `half`'s
/// slice routine (which `split.rs` uses for the one-time f32 → f16
/// conversion): it converts through a function pointer per eight values,
/// and this runs per tile inside the kernel.
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn widen(src: &[half::f16], dst: &mut [f32]) {
    assert!(dst.len() == src.len());
    let whole = src.len() / 8 * 8;
    for i in (0..whole).step_by(8) {
        let h = _mm_loadu_si128(src.as_ptr().add(i).cast());
        _mm256_storeu_ps(dst.as_mut_ptr().add(i), _mm256_cvtph_ps(h));
    }
    for (o, h) in dst[whole..].iter_mut().zip(&src[whole..]) {
        *o = h.to_f32();
    }
}
