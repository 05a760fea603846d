//! The decode kernel's inner loops, written so that the compiler keeps
//! them in vector registers: compiled once per instruction set through
//! the `#[target_feature]` copies of the kernel that inline them.

/// Rows of one KV head laid out at a fixed stride (no call per row in
/// the hot loop, which kept the compiler from holding sums in registers).
/// `T`: f32, or f16 where the shared positions are stored halved.
#[derive(Clone, Copy)]
pub(super) struct Rows<'a, T = f32> {
    pub(super) data: &'a [T],
    pub(super) stride: usize,
}

impl<'a, T> Rows<'a, T> {
    /// `count` rows of `width` values, the first at `data[start]`, one
    /// every `stride`.
    pub(super) fn new(
        data: &'a [T],
        start: usize,
        stride: usize,
        count: usize,
        width: usize,
    ) -> Rows<'a, T> {
        let len = match count {
            0 => 0,
            n => (n - 1) * stride + width,
        };
        Rows {
            data: &data[start..start + len],
            stride,
        }
    }

    /// Row `i`, its first `width` values.
    #[inline(always)]
    fn row(&self, i: usize, width: usize) -> &'a [T] {
        &self.data[i * self.stride..i * self.stride + width]
    }
}

/// What the shared positions are stored as: f32, or f16 (half the bytes
/// a decoding step reads) where the kernel's copy converts on load.
pub(super) trait Elem: Copy {
    const HALF: bool;
}

impl Elem for f32 {
    const HALF: bool = false;
}

impl Elem for half::f16 {
    const HALF: bool = true;
}

/// `s[p] = Σᵢ q[i]·kᵢ[p]` where `kᵢ`, row `i` of `keys` (the keys
/// transposed), is dimension `i` of every position's key. Four dimensions
/// per pass over `s`: one load and store of each score per four fused
/// multiply-adds.
#[inline(always)]
pub(super) fn score_along<const FMA: bool>(q: &[f32], keys: Rows<'_>, s: &mut [f32]) {
    let n = s.len();
    s.fill(0.0);
    let mut quads = q.chunks_exact(4);
    let mut i = 0;
    for c in &mut quads {
        let (k0, k1, k2, k3) = (
            keys.row(i, n),
            keys.row(i + 1, n),
            keys.row(i + 2, n),
            keys.row(i + 3, n),
        );
        for p in 0..n {
            let mut x = madd::<FMA>(c[0], k0[p], s[p]);
            x = madd::<FMA>(c[1], k1[p], x);
            x = madd::<FMA>(c[2], k2[p], x);
            s[p] = madd::<FMA>(c[3], k3[p], x);
        }
        i += 4;
    }
    for &c in quads.remainder() {
        for (x, k) in s.iter_mut().zip(keys.row(i, n)) {
            *x = madd::<FMA>(c, *k, *x);
        }
        i += 1;
    }
}

/// `o += Σₚ w[p]·row(p)`. For SmolLM2's head width (64) the sum is kept
/// in registers across positions instead of being loaded and stored for
/// every one.
#[inline(always)]
pub(super) fn weigh<const FMA: bool>(o: &mut [f32], w: &[f32], rows: Rows<'_>) {
    const D: usize = 64;
    if let Ok(o) = <&mut [f32; D]>::try_from(&mut *o) {
        // Two sums, even and odd positions: each fused multiply-add waits
        // for the previous one into the same register, and one chain
        // left the units idle half the time (`perf annotate`).
        let (mut even, mut odd) = (*o, [0f32; D]);
        let mut pairs = w.chunks_exact(2);
        let mut p = 0;
        for pair in &mut pairs {
            let (r0, r1) = (rows.row(p, D), rows.row(p + 1, D));
            for i in 0..D {
                even[i] = madd::<FMA>(pair[0], r0[i], even[i]);
                odd[i] = madd::<FMA>(pair[1], r1[i], odd[i]);
            }
            p += 2;
        }
        if let [wp] = pairs.remainder() {
            let r = rows.row(p, D);
            for i in 0..D {
                even[i] = madd::<FMA>(*wp, r[i], even[i]);
            }
        }
        for i in 0..D {
            o[i] = even[i] + odd[i];
        }
        return;
    }
    let d = o.len();
    for (p, &wp) in w.iter().enumerate() {
        for (x, y) in o.iter_mut().zip(rows.row(p, d)) {
            *x = madd::<FMA>(wp, *y, *x);
        }
    }
}

/// `a·b + c`, fused where the caller is compiled with FMA (without it
/// `mul_add` would be a slow library call).
#[inline(always)]
pub(super) fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// Eight independent partial sums, so the compiler vectorises the loop
/// (a plain `sum()` is a strict sequential FP chain).
#[inline(always)]
pub(super) fn dot<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] = madd::<FMA>(x[i], y[i], acc[i]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `s ← softmax(s)` in place, with [`exp`] instead of the `expf` library
/// call per score (~4 % of a decoding step on an AVX2-only CPU, `perf`);
/// eight partial maxima and sums, so the compiler vectorises both loops.
#[inline(always)]
pub(super) fn softmax<const FMA: bool>(s: &mut [f32]) {
    let mut maxes = [f32::NEG_INFINITY; 8];
    let chunks = s.chunks_exact(8);
    let tail = chunks.remainder().iter().copied();
    for c in chunks {
        for (m, &x) in maxes.iter_mut().zip(c) {
            *m = m.max(x);
        }
    }
    let max = maxes
        .into_iter()
        .chain(tail)
        .fold(f32::NEG_INFINITY, f32::max);
    let mut sums = [0f32; 8];
    for c in s.chunks_mut(8) {
        for (acc, x) in sums.iter_mut().zip(c) {
            *x = exp::<FMA>(*x - max);
            *acc += *x;
        }
    }
    let inv = 1.0 / sums.iter().sum::<f32>();
    for x in s.iter_mut() {
        *x *= inv;
    }
}

/// Cephes' `expf`: below this the result is no longer a normal float.
pub(super) const EXP_FLOOR: f32 = -87.336_55;
/// ln 2 in two parts, so that `x − n·ln 2` keeps its low bits.
pub(super) const LN2_HI: f32 = 0.693_359_4;
pub(super) const LN2_LO: f32 = -2.121_944_4e-4;
/// Cephes' `expf` polynomial in `r`, highest degree first, without its
/// last two terms (`1 + r`).
pub(super) const EXP_POLY: [f32; 6] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    0.166_666_65,
    0.5,
];

/// `eˣ` for `x ≤ 0` (scores less their maximum), Cephes' `expf` as in
/// the AVX-512 kernel (`wide.rs`), in plain arithmetic the compiler
/// vectorises: `x = n·ln 2 + r` with `|r| ≤ ln 2 / 2`, a degree-6
/// polynomial in `r`, then `· 2ⁿ` built in the exponent bits. Below
/// −87.3 (a masked score's −∞ among them) exactly zero, as in `wide.rs`:
/// the floor's value would be a subnormal probability.
#[inline(always)]
pub(super) fn exp<const FMA: bool>(x: f32) -> f32 {
    // 1.5 · 2²³: adding it rounds to an integer, held in the low bits.
    const ROUND: f32 = 12_582_912.0;
    let normal = x >= EXP_FLOOR;
    let x = if normal { x } else { EXP_FLOOR };
    let t = madd::<FMA>(x, std::f32::consts::LOG2_E, ROUND);
    let n = t - ROUND;
    let r = madd::<FMA>(-n, LN2_HI, x);
    let r = madd::<FMA>(-n, LN2_LO, r);
    let mut y = EXP_POLY[0];
    for &c in &EXP_POLY[1..] {
        y = madd::<FMA>(y, r, c);
    }
    let y = madd::<FMA>(y, r * r, r + 1.0);
    // n ≥ −126 here, so n + 127 is a normal exponent.
    let two_n = f32::from_bits(((t.to_bits() as i32 - ROUND.to_bits() as i32 + 127) << 23) as u32);
    if normal {
        y * two_n
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polynomial_exp_and_softmax_match_the_library_ones() {
        for x in (0..=16_000).map(|i| -87.0 * i as f32 / 16_000.0) {
            let e = x.exp();
            for y in [exp::<false>(x), exp::<true>(x)] {
                assert!(
                    (y - e).abs() <= 4e-7 * e + f32::MIN_POSITIVE,
                    "exp({x}): {y} vs {e}"
                );
            }
        }
        for x in [-87.5, -1000.0, f32::NEG_INFINITY] {
            assert_eq!((exp::<false>(x), exp::<true>(x)), (0.0, 0.0), "exp({x})");
        }
        // Masked scores: exact zeros, no subnormal probability.
        let masked = [
            0.5,
            f32::NEG_INFINITY,
            -1.0,
            f32::NEG_INFINITY,
            2.0,
            -90.0,
            0.0,
            1.0,
            -3.0,
        ];
        for ours in [softmax_of::<false>(&masked), softmax_of::<true>(&masked)] {
            assert!(ours.iter().all(|p| *p == 0.0 || p.is_normal()), "{ours:?}");
            assert_eq!((ours[1], ours[3], ours[5]), (0.0, 0.0, 0.0));
        }
        // Lengths on either side of the eight partial sums.
        for n in [1, 7, 8, 9, 40] {
            let s: Vec<f32> = (0..n).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
            let max = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let sum: f32 = s.iter().map(|x| (x - max).exp()).sum();
            for ours in [softmax_of::<false>(&s), softmax_of::<true>(&s)] {
                for (o, x) in ours.iter().zip(&s) {
                    assert!((o - (x - max).exp() / sum).abs() < 1e-6);
                }
            }
        }
    }

    fn softmax_of<const FMA: bool>(s: &[f32]) -> Vec<f32> {
        let mut s = s.to_vec();
        softmax::<FMA>(&mut s);
        s
    }
}
