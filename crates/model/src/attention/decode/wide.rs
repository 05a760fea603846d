//! The decode kernel's two inner loops in AVX-512 intrinsics, for
//! SmolLM2's shape (3 query heads a KV head, heads 64 wide). Written
//! portably, the compiler ran the three queries' sums as one chain of
//! dependent fused multiply-adds and kept the value sums on the stack
//! (`perf annotate`); here every sum has a register of its own.

use super::lanes::Rows;
use std::arch::x86_64::*;

/// Query heads per KV head.
const R: usize = 3;
/// Head width.
const D: usize = 64;
/// Blocks of 16 positions scored per pass over the keys: `R × BLOCKS`
/// independent sums, enough to keep both FMA units busy.
const BLOCKS: usize = 4;

/// As [`super::lanes::score_along`] for the 3 queries `q` (`3 × 64`
/// values) at once: `s[r·total + p] = Σᵢ q[r·64 + i]·keys[i][p]` for
/// `p < n`, each transposed key row read once for all three.
///
/// # Safety
/// The CPU must have AVX-512F.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn score3(q: &[f32], keys: Rows<'_>, n: usize, s: &mut [f32], total: usize) {
    let Rows { data, stride } = keys;
    // What the pointer arithmetic below relies on, checked once a call.
    assert!(q.len() == R * D && n <= total && s.len() >= (R - 1) * total + n);
    assert!(n == 0 || data.len() >= (D - 1) * stride + n);
    let (kp, sp) = (data.as_ptr(), s.as_mut_ptr());
    let mut p = 0;
    while p + 16 * BLOCKS <= n {
        let mut acc = [[_mm512_setzero_ps(); BLOCKS]; R];
        for i in 0..D {
            let row = kp.add(i * stride + p);
            let mut k = [_mm512_setzero_ps(); BLOCKS];
            for (j, kj) in k.iter_mut().enumerate() {
                *kj = _mm512_loadu_ps(row.add(16 * j));
            }
            for (r, a) in acc.iter_mut().enumerate() {
                let qv = _mm512_set1_ps(q[r * D + i]);
                for j in 0..BLOCKS {
                    a[j] = _mm512_fmadd_ps(qv, k[j], a[j]);
                }
            }
        }
        for (r, a) in acc.iter().enumerate() {
            for (j, aj) in a.iter().enumerate() {
                _mm512_storeu_ps(sp.add(r * total + p + 16 * j), *aj);
            }
        }
        p += 16 * BLOCKS;
    }
    // The last few blocks, the final one masked to the positions left.
    while p < n {
        let left = n - p;
        let m: __mmask16 = if left >= 16 {
            u16::MAX
        } else {
            (1 << left) - 1
        };
        let mut acc = [_mm512_setzero_ps(); R];
        for i in 0..D {
            let k = _mm512_maskz_loadu_ps(m, kp.add(i * stride + p));
            for (r, a) in acc.iter_mut().enumerate() {
                *a = _mm512_fmadd_ps(_mm512_set1_ps(q[r * D + i]), k, *a);
            }
        }
        for (r, a) in acc.iter().enumerate() {
            _mm512_mask_storeu_ps(sp.add(r * total + p), m, *a);
        }
        p += 16;
    }
}

/// As [`super::lanes::weigh`] for the 3 query heads at once: `o[r·64 ..]
/// += Σₚ w[r·total + w0 + p]·rows[p]` for `p < n`, each value row read
/// once for all three, the 3 × 64 sums in twelve registers.
///
/// # Safety
/// The CPU must have AVX-512F.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn weigh3(
    o: &mut [f32],
    w: &[f32],
    (w0, total): (usize, usize),
    rows: Rows<'_>,
    n: usize,
) {
    let Rows { data, stride } = rows;
    assert!(o.len() == R * D && w0 + n <= total && w.len() >= (R - 1) * total + w0 + n);
    assert!(n == 0 || data.len() >= (n - 1) * stride + D);
    let mut acc = [[_mm512_setzero_ps(); D / 16]; R];
    for (r, a) in acc.iter_mut().enumerate() {
        for (j, aj) in a.iter_mut().enumerate() {
            *aj = _mm512_loadu_ps(o.as_ptr().add(r * D + 16 * j));
        }
    }
    for p in 0..n {
        let v = data.as_ptr().add(p * stride);
        let mut vv = [_mm512_setzero_ps(); D / 16];
        for (j, vj) in vv.iter_mut().enumerate() {
            *vj = _mm512_loadu_ps(v.add(16 * j));
        }
        for (r, a) in acc.iter_mut().enumerate() {
            let wr = _mm512_set1_ps(w[r * total + w0 + p]);
            for j in 0..D / 16 {
                a[j] = _mm512_fmadd_ps(wr, vv[j], a[j]);
            }
        }
    }
    for (r, a) in acc.iter().enumerate() {
        for (j, aj) in a.iter().enumerate() {
            _mm512_storeu_ps(o.as_mut_ptr().add(r * D + 16 * j), *aj);
        }
    }
}
