//! The decode kernel's inner loops, written so that the compiler keeps
//! them in vector registers: compiled once per instruction set through
//! the `#[target_feature]` copies of the kernel that inline them.

/// Rows of one KV head laid out at a fixed stride (no call per row in
/// the hot loop, which kept the compiler from holding sums in registers).
#[derive(Clone, Copy)]
pub(super) struct Rows<'a> {
    pub(super) data: &'a [f32],
    pub(super) stride: usize,
}

impl<'a> Rows<'a> {
    /// `count` rows of `width` values, the first at `data[start]`, one
    /// every `stride`.
    pub(super) fn new(
        data: &'a [f32],
        start: usize,
        stride: usize,
        count: usize,
        width: usize,
    ) -> Rows<'a> {
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
    fn row(&self, i: usize, width: usize) -> &'a [f32] {
        &self.data[i * self.stride..i * self.stride + width]
    }
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
