//! The decode kernel's inner loops in AVX-512 intrinsics, for SmolLM2's
//! shape (3 query heads a KV head, heads 64 wide): the scores, the
//! softmax and the weighted sum of the values. Written portably, the
//! compiler ran the three queries' sums as one chain of dependent fused
//! multiply-adds and kept the value sums on the stack (`perf annotate`);
//! here every sum has a register of its own.

use super::lanes::{Rows, EXP_FLOOR, EXP_POLY, LN2_HI, LN2_LO};
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

/// `s ← softmax(s)` in place, sixteen at a time with [`exp`]: the scalar
/// `expf` library call per score was ~4 % of a decoding step (`perf`).
///
/// # Safety
/// The CPU must have AVX-512F.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn softmax(s: &mut [f32]) {
    let (n, sp) = (s.len(), s.as_mut_ptr());
    let mask = |p: usize| -> __mmask16 {
        match n - p {
            left if left >= 16 => u16::MAX,
            left => (1 << left) - 1,
        }
    };
    let neg = _mm512_set1_ps(f32::NEG_INFINITY);
    let mut m = neg;
    for p in (0..n).step_by(16) {
        m = _mm512_max_ps(m, _mm512_mask_loadu_ps(neg, mask(p), sp.add(p)));
    }
    let max = _mm512_set1_ps(_mm512_reduce_max_ps(m));
    let mut sum = _mm512_setzero_ps();
    for p in (0..n).step_by(16) {
        let k = mask(p);
        let e = exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, sp.add(p)), max));
        let e = _mm512_maskz_mov_ps(k, e);
        sum = _mm512_add_ps(sum, e);
        _mm512_mask_storeu_ps(sp.add(p), k, e);
    }
    let inv = _mm512_set1_ps(1.0 / _mm512_reduce_add_ps(sum));
    for p in (0..n).step_by(16) {
        let k = mask(p);
        let x = _mm512_maskz_loadu_ps(k, sp.add(p));
        _mm512_mask_storeu_ps(sp.add(p), k, _mm512_mul_ps(x, inv));
    }
}

/// `eˣ` for `x ≤ 0` (scores less their maximum), Cephes' `expf`: `x =
/// n·ln 2 + r` with `|r| ≤ ln 2 / 2`, a degree-6 polynomial in `r`, then
/// `· 2ⁿ` by `vscalefps`. Relative error ~1e-7; below −87.3 (a masked
/// score's −∞ among them) exactly zero: the floor's own value is a
/// subnormal once the softmax divides by its sum, and on Intel cores
/// every matrix product over such probabilities slowed several-fold.
#[target_feature(enable = "avx512f")]
unsafe fn exp(x: __m512) -> __m512 {
    let floor = _mm512_set1_ps(EXP_FLOOR);
    let normal = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(x, floor);
    let x = _mm512_max_ps(x, floor);
    // Round to nearest, exceptions suppressed.
    let n =
        _mm512_roundscale_ps::<0x08>(_mm512_mul_ps(x, _mm512_set1_ps(std::f32::consts::LOG2_E)));
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HI), x);
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), r);
    let mut y = _mm512_set1_ps(EXP_POLY[0]);
    for &c in &EXP_POLY[1..] {
        y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(c));
    }
    let one = _mm512_set1_ps(1.0);
    let y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), _mm512_add_ps(r, one));
    _mm512_maskz_mov_ps(normal, _mm512_scalef_ps(y, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_exp_and_softmax_match_the_scalar_ones() {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            eprintln!("skipped: this CPU has no AVX-512F");
            return;
        }
        let xs: Vec<f32> = (0..=16 * 1000)
            .map(|i| -87.0 * i as f32 / 16000.0)
            .collect();
        for x in xs.chunks(16) {
            let mut out = [0f32; 16];
            // SAFETY: AVX-512F checked above.
            unsafe { _mm512_storeu_ps(out.as_mut_ptr(), exp(_mm512_loadu_ps(x.as_ptr()))) };
            for (&x, &y) in x.iter().zip(&out) {
                let e = x.exp();
                assert!(
                    (y - e).abs() <= 2e-7 * e + f32::MIN_POSITIVE,
                    "exp({x}): {y} vs {e}"
                );
            }
        }
        let below = [-87.5, -1000.0, f32::NEG_INFINITY, -90.0].repeat(4);
        let mut out = [1f32; 16];
        // SAFETY: as above.
        unsafe { _mm512_storeu_ps(out.as_mut_ptr(), exp(_mm512_loadu_ps(below.as_ptr()))) };
        assert_eq!(out, [0.0; 16]);
        // Masked scores: exact zeros, no subnormal probability.
        let mut masked = [0.5, f32::NEG_INFINITY, -1.0, 2.0, -90.0].repeat(4);
        // SAFETY: as above.
        unsafe { softmax(&mut masked) };
        assert!(
            masked.iter().all(|p| *p == 0.0 || p.is_normal()),
            "{masked:?}"
        );
        assert_eq!((masked[1], masked[4], masked[19]), (0.0, 0.0, 0.0));
        // Lengths on either side of a vector's width.
        for n in [1, 15, 16, 17, 40] {
            let s: Vec<f32> = (0..n).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
            let mut ours = s.clone();
            // SAFETY: as above.
            unsafe { softmax(&mut ours) };
            let max = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let sum: f32 = s.iter().map(|x| (x - max).exp()).sum();
            for (o, x) in ours.iter().zip(&s) {
                assert!((o - (x - max).exp() / sum).abs() < 1e-6);
            }
        }
    }
}
