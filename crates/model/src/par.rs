//! Element-wise CPU kernels across the machine's threads. candle runs
//! its own element-wise ops on a thread pool, but a custom op's loop is
//! serial, and on a 2-core machine the other core waited for it (the
//! vocabulary-wide cross-entropy was a tenth of an SFT step).

use candle_core::{CpuStorage, Layout, Result, Storage, Tensor};

/// `f(first_row, parts)` over `bufs` (equal lengths, rows of `width`)
/// cut into one run of whole rows per thread; `parts` are the runs of
/// each buffer at the same rows.
pub fn par_chunks<const N: usize>(
    bufs: [&mut [f32]; N],
    width: usize,
    f: impl Fn(usize, [&mut [f32]; N]) + Sync,
) -> Result<()> {
    let (len, width) = (bufs.first().map_or(0, |b| b.len()), width.max(1));
    if bufs.iter().any(|b| b.len() != len) || len % width != 0 {
        candle_core::bail!("parallel chunks: buffers of unequal lengths or partial rows");
    }
    let rows = len / width;
    let threads = candle_core::utils::get_num_threads().clamp(1, rows.max(1));
    let per = rows.div_ceil(threads).max(1) * width;
    let mut rest = bufs;
    let mut jobs = Vec::with_capacity(threads);
    let mut start = 0;
    while start < len {
        let n = per.min(len - start);
        let mut heads: [&mut [f32]; N] = std::array::from_fn(|_| <&mut [f32]>::default());
        for (h, r) in heads.iter_mut().zip(rest.iter_mut()) {
            let (a, b) = std::mem::take(r).split_at_mut(n);
            (*h, *r) = (a, b);
        }
        jobs.push((start / width, heads));
        start += n;
    }
    std::thread::scope(|s| {
        let mut jobs = jobs.into_iter();
        let first = jobs.next();
        for (row, parts) in jobs {
            let f = &f;
            s.spawn(move || f(row, parts));
        }
        if let Some((row, parts)) = first {
            f(row, parts);
        }
    });
    Ok(())
}

/// A custom op's contiguous f32 input, borrowed.
pub fn slice<'a>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::F32(data), Some((a, b))) => Ok(&data[a..b]),
        _ => candle_core::bail!("custom CPU ops here need contiguous f32 tensors"),
    }
}

/// `f` on the contiguous f32 data of a CPU tensor, borrowed (not copied).
pub fn with_f32<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> Result<R>) -> Result<R> {
    let (storage, layout) = t.storage_and_layout();
    match (&*storage, layout.contiguous_offsets()) {
        (Storage::Cpu(CpuStorage::F32(data)), Some((a, b))) => f(&data[a..b]),
        _ => candle_core::bail!("this kernel needs a contiguous f32 CPU tensor"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_visited_once_with_its_own_index() {
        for rows in [0usize, 1, 2, 7] {
            let (mut a, mut b) = (vec![0f32; rows * 3], vec![0f32; rows * 3]);
            par_chunks([&mut a, &mut b], 3, |first, [a, b]| {
                for (i, (ra, rb)) in (first..).zip(a.chunks_mut(3).zip(b.chunks_mut(3))) {
                    ra.iter_mut().for_each(|x| *x += i as f32);
                    rb.iter_mut().for_each(|x| *x += 1.0);
                }
            })
            .unwrap();
            let want: Vec<f32> = (0..rows * 3).map(|k| (k / 3) as f32).collect();
            assert_eq!(a, want);
            assert!(b.iter().all(|&x| x == 1.0));
        }
        let (mut a, mut b) = (vec![0f32; 6], vec![0f32; 3]);
        assert!(par_chunks([&mut a, &mut b], 3, |_, _| {}).is_err());
        assert!(par_chunks([&mut a], 4, |_, _| {}).is_err());
    }
}
