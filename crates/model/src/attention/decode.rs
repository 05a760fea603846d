//! Decode attention: one new token per sequence over its KV cache.
//! Through tensor ops this is two batched matmuls of tiny matrices
//! (b × kv_heads of them) plus a softmax, and candle dispatches every tiny
//! GEMM to its thread pool; measured at 5 candidates × 576 positions that
//! cost ~0.8 ms per layer, most of a decoding step. One kernel does it
//! instead (no backward: training never decodes), over the prompt's
//! positions shared by all candidates and each candidate's own.

mod lanes;
#[cfg(target_arch = "x86_64")]
mod narrow;
mod rows;
mod split;
mod store;
#[cfg(target_arch = "x86_64")]
mod wide;

use candle_core::{Layout, Result, Tensor};
use lanes::{dot, score_along, softmax, weigh, Rows};
pub use rows::softmax_last;
pub(crate) use rows::softmax_row;
#[cfg(test)]
use split::tiled_keys;
use split::RowGroups;
pub use split::{decode_keys, decode_values};
use store::{cpu_store, Store, Tile};

/// Element offset of `[i0, i1, i2, 0]` in a rank-4 layout.
fn at(l: &Layout, i0: usize, i1: usize, i2: usize) -> usize {
    let s = l.stride();
    l.start_offset() + i0 * s[0] + i1 * s[1] + i2 * s[2]
}

/// The keys or values of the sequences' own positions: f32 data and
/// layout.
struct Kv<'a> {
    data: &'a [f32],
    layout: &'a Layout,
    positions: usize,
}

impl Kv<'_> {
    /// The `d` values of position `p` of KV head `g` for batch row `bi`.
    fn row(&self, bi: usize, g: usize, p: usize, d: usize) -> &[f32] {
        let o = at(self.layout, bi, g, p);
        &self.data[o..o + d]
    }

    /// Positions `from .. from + count` of KV head `g` for batch row `bi`:
    /// `d` values each, one every `stride` of the returned slice, from its
    /// start.
    fn rows(&self, bi: usize, g: usize, d: usize, (from, count): (usize, usize)) -> Rows<'_> {
        let o = at(self.layout, bi, g, from);
        Rows::new(self.data, o, self.layout.stride()[2], count, d)
    }
}

/// The f32 slice behind a CPU tensor.
fn cpu_f32<'a>(guard: &'a candle_core::StorageRef<'_>) -> Result<&'a [f32]> {
    match cpu_store(guard)? {
        Store::F32(x) => Ok(x),
        Store::F16(_) => candle_core::bail!("decode-attention: own positions must be f32"),
    }
}

/// Element offset checks: unit stride on the head dimension and the
/// expected `[b, kv_heads, _, d]` shape.
fn check(l: &Layout, b: usize, kvh: usize, d: usize) -> Result<usize> {
    let (lb, lh, t, ld) = l.shape().dims4()?;
    if (lb != b && lb != 1) || lh != kvh || ld != d || l.stride()[3] != 1 {
        candle_core::bail!("decode-attention: k/v of shape {:?}", l.shape());
    }
    Ok(t)
}

/// The shared positions as the kernel reads them: keys in transposed
/// tiles ([`decode_keys`]) and values (`[1, kv_heads, p, d]`,
/// [`decode_values`]).
struct SharedKv<'a> {
    keys_t: Store<'a>,
    keys_t_layout: &'a Layout,
    /// Positions per tile of the keys.
    tile: usize,
    values: Store<'a>,
    values_layout: &'a Layout,
    positions: usize,
}

impl SharedKv<'_> {
    /// KV head `g`'s keys transposed, positions `from .. from + count`
    /// (one tile, or part of one, from its start): row `i` is dimension
    /// `i` of each of those positions.
    fn keys(&self, g: usize, d: usize, (from, count): (usize, usize)) -> Tile<'_> {
        let o = at(self.keys_t_layout, 0, g, from / self.tile * d);
        let stride = self.keys_t_layout.stride()[2];
        self.keys_t.rows(o, stride, d, count)
    }

    /// KV head `g`'s values of positions `from .. from + count`.
    fn values(&self, g: usize, d: usize, (from, count): (usize, usize)) -> Tile<'_> {
        let o = at(self.values_layout, 0, g, from);
        let stride = self.values_layout.stride()[2];
        self.values.rows(o, stride, count, d)
    }
}

/// Which copy of the kernel runs: the same code compiled for the x86-64
/// baseline, for AVX2 and FMA, or for AVX-512 (twice the lanes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    Baseline,
    Fma,
    Avx512,
}

/// `q: [b, heads, 1, d]` over the keys and values of the positions every
/// row shares (keys in [`decode_keys`]' layout of transposed tiles, and
/// values `[1, kv_heads, p, d]`; optional) then of each row's own
/// (`[b, kv_heads, t, d]`); strided views are fine. → `[b, heads, 1, d]`.
///
/// One work item is a KV head and a group of batch rows ([`RowGroups`]):
/// it scores that head's `rep` query heads of every row in the group.
/// The shared positions, most of them (the prompt), are scored along the
/// transposed keys: one vector instruction advances many positions' dot
/// products, where a dot product per position ended in a horizontal sum
/// each (`perf`: the kernel was a quarter of a decoding step).
pub fn decode_attention(
    q: &Tensor,
    shared: Option<(&Tensor, &Tensor)>,
    k: &Tensor,
    v: &Tensor,
    scale: f64,
) -> Result<Tensor> {
    decode_attention_on(q, shared, k, v, scale, best_isa())
}

/// [`decode_attention`] with the code path chosen by the caller (tests
/// run each one this CPU has).
fn decode_attention_on(
    q: &Tensor,
    shared: Option<(&Tensor, &Tensor)>,
    k: &Tensor,
    v: &Tensor,
    scale: f64,
    isa: Isa,
) -> Result<Tensor> {
    let scale = scale as f32;
    let (b, h, one, d) = q.dims4()?;
    let kvh = k.dim(1)?;
    if one != 1 || h % kvh != 0 || k.shape() != v.shape() {
        candle_core::bail!(
            "decode-attention shapes: q {:?}, k {:?}, v {:?}",
            q.shape(),
            k.shape(),
            v.shape()
        );
    }
    let rep = h / kvh;
    let q = q.contiguous()?;
    let (qg, ql) = q.storage_and_layout();
    let qd = cpu_f32(&qg)?;
    let (kg, kl) = k.storage_and_layout();
    let (vg, vl) = v.storage_and_layout();
    let own_t = check(kl, b, kvh, d)?;
    check(vl, b, kvh, d)?;
    if kl.dims()[0] != b {
        candle_core::bail!("decode-attention: own keys need one row per query row");
    }
    let shared_guards = shared.map(|(kt, sv)| (kt.storage_and_layout(), sv.storage_and_layout()));
    let shared = match &shared_guards {
        Some(((ktg, ktl), (svg, svl))) => {
            let p = check(svl, 1, kvh, d)?;
            // Any tile width works (a plain transpose is one tile);
            // `decode_keys` picks the one this CPU's copy is fastest with.
            let (tb, th, rows, tile) = ktl.shape().dims4()?;
            if (tb, th, rows) != (1, kvh, p.div_ceil(tile.max(1)) * d)
                || tile == 0
                || ktl.stride()[3] != 1
            {
                candle_core::bail!(
                    "decode-attention: shared keys {:?} are not the values {:?} in `decode_keys`' layout",
                    ktl.shape(),
                    svl.shape()
                );
            }
            Some(SharedKv {
                keys_t: cpu_store(ktg)?,
                keys_t_layout: ktl,
                tile,
                values: cpu_store(svg)?,
                values_layout: svl,
                positions: p,
            })
        }
        None => None,
    };
    let own = (
        Kv {
            data: cpu_f32(&kg)?,
            layout: kl,
            positions: own_t,
        },
        Kv {
            data: cpu_f32(&vg)?,
            layout: vl,
            positions: own_t,
        },
    );
    let job = Job {
        q: qd,
        ql,
        shared: shared.as_ref(),
        own: &own,
        rep,
        d,
        scale,
    };
    let mut out = vec![0f32; b * h * d];
    let groups = RowGroups::new(b, kvh, isa);
    // Split across candle's own CPU pool (the one its quantised matmul
    // uses): a second pool such as rayon's would spin against it on few
    // cores. Item (g, rows) writes, for each of its rows bi, the `rep · d`
    // outputs of heads g·rep … g·rep+rep−1, which are contiguous and
    // disjoint from every other item's.
    let base = out.as_mut_ptr() as usize;
    candle_core::utils::barrier_pool().execute_chunked(kvh * groups.count, |range| {
        for item in range {
            let (g, rows) = groups.item(item);
            let outs: Vec<&mut [f32]> = rows
                .clone()
                .map(|bi| {
                    // SAFETY: see above; `out` outlives the pool call.
                    unsafe {
                        std::slice::from_raw_parts_mut(
                            (base as *mut f32).add((bi * h + g * rep) * d),
                            rep * d,
                        )
                    }
                })
                .collect();
            job.run(g, rows, outs, isa);
        }
    });
    drop((qg, kg, vg, shared_guards));
    Tensor::from_vec(out, (b, h, 1, d), q.device())
}

/// What every work item of one decode-attention call reads.
struct Job<'a> {
    q: &'a [f32],
    ql: &'a Layout,
    shared: Option<&'a SharedKv<'a>>,
    own: &'a (Kv<'a>, Kv<'a>),
    rep: usize,
    d: usize,
    scale: f32,
}

impl Job<'_> {
    fn run(&self, g: usize, rows: std::ops::Range<usize>, o: Vec<&mut [f32]>, isa: Isa) {
        #[cfg(target_arch = "x86_64")]
        match isa {
            // SAFETY: the CPU has these features (checked at run time).
            Isa::Avx512 => return unsafe { self.run_avx512(g, rows, o) },
            Isa::Fma => return unsafe { self.run_fma(g, rows, o) },
            Isa::Baseline => {}
        }
        let _ = isa;
        self.item::<false, false>(g, rows, o);
    }

    /// The same code compiled for AVX2 and FMA: the build targets the
    /// x86-64 baseline (SSE2, no FMA), four lanes without fused
    /// multiply-adds.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_fma(&self, g: usize, rows: std::ops::Range<usize>, o: Vec<&mut [f32]>) {
        self.item::<true, false>(g, rows, o);
    }

    /// And for AVX-512: sixteen lanes, and for SmolLM2's shape the inner
    /// loops in intrinsics (`wide.rs`).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn run_avx512(&self, g: usize, rows: std::ops::Range<usize>, o: Vec<&mut [f32]>) {
        self.item::<true, true>(g, rows, o);
    }

    /// KV head `g`'s query heads for batch `rows`, into `outs` (one slice
    /// of `rep · d` a row). `WIDE`: only in the AVX-512 copy.
    #[inline(always)]
    fn item<const FMA: bool, const WIDE: bool>(
        &self,
        g: usize,
        rows: std::ops::Range<usize>,
        mut outs: Vec<&mut [f32]>,
    ) {
        let Job {
            q,
            ql,
            shared,
            own: (own_k, own_v),
            rep,
            d,
            scale,
        } = *self;
        // The scale is folded into the queries once; query j·rep + r is
        // head g·rep + r of the group's row j.
        let qs: Vec<f32> = rows
            .clone()
            .flat_map(|bi| (0..rep).map(move |r| at(ql, bi, g * rep + r, 0)))
            .flat_map(|qo| q[qo..qo + d].iter().map(|x| x * scale))
            .collect();
        let p0 = shared.map_or(0, |s| s.positions);
        let total = p0 + own_k.positions;
        // scores[(j·rep + r)·total + p]
        let mut scores = vec![0f32; rows.len() * rep * total];
        // One row's scores: `rep` query heads over all positions.
        let span = (rep * total).max(1);
        // SmolLM2's 9 query heads share 3 KV heads, 64 wide: the inner
        // loops in intrinsics, AVX-512 over all shared positions at once,
        // AVX2 a tile at a time.
        let three = cfg!(target_arch = "x86_64") && FMA && rep == 3 && d == 64;
        // The AVX2 copy's loops read f16 as it is stored, one row a tile;
        // for more rows the tile is converted once, not once per row.
        let direct = three && !WIDE && rows.len() == 1;
        let mut scratch = Vec::new();
        let tile = shared.map_or(1, |sh| sh.tile);
        let tiles = (0..p0).step_by(tile).map(|t0| (t0, tile.min(p0 - t0)));
        if let Some(sh) = shared {
            for (t0, n) in tiles.clone() {
                let rows_s = qs.chunks(rep * d).zip(scores.chunks_mut(span));
                match sh.keys(g, d, (t0, n)) {
                    // SAFETY: `direct` needs `FMA`, set only in the copies
                    // that `best_isa` picks on CPUs with AVX2, FMA and F16C.
                    #[cfg(target_arch = "x86_64")]
                    Tile::F16(keys) if direct => rows_s.for_each(|(qrow, s)| unsafe {
                        narrow::score3(qrow, keys, n, &mut s[t0..], total)
                    }),
                    tile => {
                        let keys = tile.as_f32(&mut scratch);
                        for (qrow, s) in rows_s {
                            score_heads::<FMA, WIDE>(three, qrow, s, (d, total), (t0, n), keys);
                        }
                    }
                }
            }
        }
        for ((bi, qrow), s) in rows
            .clone()
            .zip(qs.chunks(rep * d))
            .zip(scores.chunks_mut(span))
        {
            for (qv, sr) in qrow.chunks(d).zip(s.chunks_mut(total.max(1))) {
                for (p, x) in sr[p0..].iter_mut().enumerate() {
                    *x = dot::<FMA>(qv, own_k.row(bi, g, p, d));
                }
            }
        }
        for s in scores.chunks_mut(total.max(1)) {
            if three && WIDE {
                // SAFETY: as above.
                #[cfg(target_arch = "x86_64")]
                unsafe {
                    wide::softmax(s)
                };
                continue;
            }
            softmax::<FMA>(s);
        }
        // The shared positions' values tile by tile, then each row's own.
        if let Some(sh) = shared {
            for t in tiles {
                let rows_w = outs.iter_mut().zip(scores.chunks(span));
                match sh.values(g, d, t) {
                    // SAFETY: as for the keys.
                    #[cfg(target_arch = "x86_64")]
                    Tile::F16(vrows) if direct => rows_w.for_each(|(o, w)| unsafe {
                        narrow::weigh3(o, w, (t.0, total), vrows, t.1)
                    }),
                    tile => {
                        let vrows = tile.as_f32(&mut scratch);
                        for (o, w) in rows_w {
                            weigh_heads::<FMA, WIDE>(three, o, w, (d, total), t, vrows);
                        }
                    }
                }
            }
        }
        let own = (p0, own_v.positions);
        for ((bi, o), w) in rows.zip(outs.iter_mut()).zip(scores.chunks(span)) {
            let vrows = own_v.rows(bi, g, d, (0, own_v.positions));
            weigh_heads::<FMA, WIDE>(three, o, w, (d, total), own, vrows);
        }
    }
}

/// `s[r·total + t0 + p] = q_r · keys[p]` for `p < n`, for each of one
/// row's query heads r (`q` holds their `rep · d` values); `three`
/// (SmolLM2's shape in the copies with FMA) does the three at once.
#[inline(always)]
fn score_heads<const FMA: bool, const WIDE: bool>(
    three: bool,
    q: &[f32],
    s: &mut [f32],
    (d, total): (usize, usize),
    (t0, n): (usize, usize),
    keys: Rows<'_>,
) {
    if three {
        // SAFETY: `FMA` only in the copies that `best_isa` picks on CPUs
        // with AVX2, FMA and F16C, `WIDE` only in the AVX-512 one.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            match WIDE {
                true => wide::score3(q, keys, n, &mut s[t0..], total),
                false => narrow::score3(q, keys, n, &mut s[t0..], total),
            }
        };
        return;
    }
    for (qv, sr) in q.chunks(d.max(1)).zip(s.chunks_mut(total.max(1))) {
        score_along::<FMA>(qv, keys, &mut sr[t0..t0 + n]);
    }
}

/// `o[r·d ..] += Σₚ w[r·total + w0 + p]·vrows[p]` for `p < n`, for each
/// of one row's query heads r; `three` (SmolLM2's shape in the copies
/// with FMA) does the three at once.
#[inline(always)]
fn weigh_heads<const FMA: bool, const WIDE: bool>(
    three: bool,
    o: &mut [f32],
    w: &[f32],
    (d, total): (usize, usize),
    (w0, n): (usize, usize),
    vrows: Rows<'_>,
) {
    if three {
        // SAFETY: as for the scores.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            match WIDE {
                true => wide::weigh3(o, w, (w0, total), vrows, n),
                false => narrow::weigh3(o, w, (w0, total), vrows, n),
            }
        };
        return;
    }
    for (or, wr) in o.chunks_mut(d.max(1)).zip(w.chunks(total.max(1))) {
        weigh::<FMA>(or, &wr[w0..w0 + n], vrows);
    }
}

fn best_isa() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        static ISA: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
        *ISA.get_or_init(|| {
            use std::arch::is_x86_feature_detected as has;
            match (has!("avx512f"), has!("avx2") && has!("fma") && has!("f16c")) {
                (true, true) => Isa::Avx512,
                (false, true) => Isa::Fma,
                _ => Isa::Baseline,
            }
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    Isa::Baseline
}

/// The paths this CPU can run, slowest first.
#[cfg(test)]
fn available_isas() -> Vec<Isa> {
    match best_isa() {
        Isa::Avx512 => vec![Isa::Baseline, Isa::Fma, Isa::Avx512],
        Isa::Fma => vec![Isa::Baseline, Isa::Fma],
        Isa::Baseline => vec![Isa::Baseline],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::max_diff;
    use candle_core::{DType, Device, D};

    /// Softmax(q·kᵀ·scale)·v per query head, K/V head `h / rep`, by
    /// composed ops over K/V `[b, kvh, t, d]`.
    fn reference(q: &Tensor, k: &Tensor, v: &Tensor, scale: f64) -> Tensor {
        let (b, h, _, d) = q.dims4().unwrap();
        let kvh = k.dim(1).unwrap();
        let q = q.reshape((b, kvh, h / kvh, d)).unwrap();
        let (k, v) = (&k.contiguous().unwrap(), &v.contiguous().unwrap());
        let s = (q.matmul(&k.t().unwrap()).unwrap() * scale).unwrap();
        let m = s.max_keepdim(D::Minus1).unwrap();
        let e = s.broadcast_sub(&m).unwrap().exp().unwrap();
        let p = e.broadcast_div(&e.sum_keepdim(D::Minus1).unwrap()).unwrap();
        p.matmul(v).unwrap().reshape((b, h, 1, d)).unwrap()
    }

    /// `t` rounded to f16 and back.
    fn round_f16(t: &Tensor) -> Tensor {
        t.to_dtype(DType::F16)
            .and_then(|h| h.to_dtype(DType::F32))
            .unwrap()
    }

    #[test]
    fn shared_positions_are_halved_only_where_the_avx2_copy_reads_them() {
        let k = Tensor::randn(0f32, 1.0, (1, 3, 100, 64), &Device::Cpu).unwrap();
        let (kt, v) = (decode_keys(&k).unwrap(), decode_values(&k).unwrap());
        let want = match best_isa() {
            Isa::Fma => DType::F16,
            _ => DType::F32,
        };
        assert_eq!((kt.dtype(), v.dtype()), (want, want));
        // The values keep their layout and round to the nearest f16, or
        // stay exactly as they were where they stay f32.
        assert_eq!(v.dims(), k.dims());
        let back = v.to_dtype(DType::F32).unwrap();
        let expected = if want == DType::F16 { round_f16(&k) } else { k };
        assert_eq!(max_diff(&back, &expected), 0.0);
    }

    #[test]
    fn decode_attention_over_shared_and_own_positions_matches_composed_ops() {
        // SmolLM2's grouping (3 query heads a KV head) and head width
        // (64), the register-held paths, and others; position counts on
        // either side of a vector's width.
        for (shared, own, d, rep) in [
            (7, 4, 16, 3),
            (37, 5, 64, 3),
            (150, 6, 64, 3),
            (11, 3, 18, 3),
            (21, 2, 64, 2),
            (16, 1, 24, 1),
        ] {
            check_against_composed_ops(shared, own, d, rep);
        }
    }

    fn check_against_composed_ops(shared: usize, own: usize, d: usize, rep: usize) {
        let dev = Device::Cpu;
        let (b, kvh) = (3, 2);
        let randn = |s: (usize, usize, usize, usize)| Tensor::randn(0f32, 1.0, s, &dev).unwrap();
        let q = randn((b, kvh * rep, 1, d));
        // Views into larger buffers, as the cache hands them over.
        let (sk, sv) = (
            randn((1, kvh, shared + 5, d)),
            randn((1, kvh, shared + 5, d)),
        );
        let (ok, ov) = (randn((b, kvh, own + 9, d)), randn((b, kvh, own + 9, d)));
        let (sk, sv) = (
            sk.narrow(2, 0, shared).unwrap(),
            sv.narrow(2, 0, shared).unwrap(),
        );
        let (ok, ov) = (ok.narrow(2, 0, own).unwrap(), ov.narrow(2, 0, own).unwrap());
        let scale = 1.0 / (d as f64).sqrt();
        let wide = |s: &Tensor| s.broadcast_as((b, kvh, shared, d)).unwrap();
        let (okc, ovc) = (ok.contiguous().unwrap(), ov.contiguous().unwrap());
        for half in [false, true] {
            // Stored in f16, the shared positions are rounded: the
            // reference attends over the same rounded values.
            let (sk, sv) = match half {
                true => (round_f16(&sk), round_f16(&sv)),
                false => (sk.clone(), sv.clone()),
            };
            let k = Tensor::cat(&[&wide(&sk), &ok], 2).unwrap();
            let v = Tensor::cat(&[&wide(&sv), &ov], 2).unwrap();
            let store = |t: Tensor| match half {
                true => t.to_dtype(DType::F16).unwrap(),
                false => t,
            };
            // This CPU's layout, one tile (a plain transpose), small tiles.
            let layouts = [
                store(tiled_keys(&sk, decode_keys(&sk).unwrap().dim(3).unwrap()).unwrap()),
                store(sk.transpose(2, 3).unwrap().contiguous().unwrap()),
                store(tiled_keys(&sk, 5).unwrap()),
            ];
            let svs = store(sv.clone());
            for isa in available_isas() {
                for skt in &layouts {
                    let ours =
                        decode_attention_on(&q, Some((skt, &svs)), &ok, &ov, scale, isa).unwrap();
                    let diff = max_diff(&ours, &reference(&q, &k, &v, scale));
                    assert!(
                        diff < 1e-5,
                        "{isa:?}, d {d}, f16 {half}, keys {:?}: {diff}",
                        skt.shape()
                    );
                }
            }
        }
        for isa in available_isas() {
            // Without shared positions, over the own ones alone.
            let alone = decode_attention_on(&q, None, &ok, &ov, scale, isa).unwrap();
            assert!(max_diff(&alone, &reference(&q, &okc, &ovc, scale)) < 1e-5);
        }
        // Keys not in that layout are refused.
        assert!(decode_attention(&q, Some((&sk, &sv)), &ok, &ov, scale).is_err());
        // Shapes that do not fit are errors, not panics.
        let wrong = randn((b, kvh, own, d + 1));
        assert!(decode_attention(&q, None, &wrong, &wrong, scale).is_err());
    }
}
