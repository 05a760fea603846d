//! The key/value cache: per layer `[batch, kv_heads, positions, head_dim]`.
//!
//! For inference the buffers are preallocated and filled in place (no
//! copy of the whole cache per token, which concatenation costs); a
//! differentiable cache concatenates instead, so gradients flow through a
//! shared prefix during training. The candidates of one prompt share its
//! positions (`expand`): held once, `[1, kv_heads, prompt, head_dim]`, not
//! copied per candidate, so decoding reads the prompt's keys and values
//! once per step for all of them (`attention::decode_attention`).

use candle_core::{Result, Tensor};

#[derive(Clone, Default)]
pub struct KvCache {
    /// Each sequence's own positions, after the shared ones.
    layers: Vec<Option<(Tensor, Tensor)>>,
    /// Per layer, the positions every sequence shares (`[1, …]`); empty
    /// when there are none.
    shared: Vec<(Tensor, Tensor)>,
    /// Per layer, the shared positions as the CPU decode kernel reads
    /// them: the keys in transposed tiles (`attention::decode_keys`),
    /// which it scores many positions per vector instruction along
    /// instead of reducing one dot product per position, and the values
    /// (`attention::decode_values`); f16 on CPUs whose copy of the kernel
    /// reads them so. Empty off the CPU.
    shared_decode: Vec<(Tensor, Tensor)>,
    shared_len: usize,
    /// All positions: shared then own.
    len: usize,
    differentiable: bool,
}

impl KvCache {
    /// A cache that keeps the autograd graph (training).
    pub fn differentiable() -> KvCache {
        KvCache {
            differentiable: true,
            ..KvCache::default()
        }
    }

    /// Positions held.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn ensure_layers(&mut self, n: usize) {
        if self.layers.len() != n {
            self.layers = vec![None; n];
            self.shared.clear();
            self.shared_decode.clear();
            self.shared_len = 0;
            self.len = 0;
        }
    }

    /// The keys and values of `layer` that every sequence shares, if any.
    pub(crate) fn shared(&self, layer: usize) -> Option<(&Tensor, &Tensor)> {
        self.shared.get(layer).map(|(k, v)| (k, v))
    }

    /// What the CPU decode kernel reads of `layer`'s shared positions:
    /// the transposed keys and the values. Shared positions without
    /// their decode form are an error, not a silent `None` (which would
    /// attend to the sequences' own positions alone).
    pub(crate) fn shared_for_decode(&self, layer: usize) -> Result<Option<(&Tensor, &Tensor)>> {
        if self.shared.get(layer).is_none() {
            return Ok(None);
        }
        match self.shared_decode.get(layer) {
            Some((kt, v)) => Ok(Some((kt, v))),
            None => candle_core::bail!("kv cache: shared positions without their decode form"),
        }
    }

    pub(crate) fn advance(&mut self, t: usize) {
        self.len += t;
    }

    /// Stores `k, v` `[b, kvh, t, d]` after the held positions and returns
    /// the keys and values of all positions.
    pub(crate) fn append(
        &mut self,
        layer: usize,
        k: &Tensor,
        v: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let (ok, ov) = self.append_own(layer, k, v)?;
        match self.shared(layer) {
            Some((sk, sv)) => {
                let b = ok.dim(0)?;
                let wide = |s: &Tensor| -> Result<Tensor> {
                    let (_, h, p, d) = s.dims4()?;
                    s.broadcast_as((b, h, p, d))
                };
                // cat along positions can leave a transposed layout,
                // which the matmul of the composed attention refuses.
                Ok((
                    Tensor::cat(&[&wide(sk)?, &ok], 2)?.contiguous()?,
                    Tensor::cat(&[&wide(sv)?, &ov], 2)?.contiguous()?,
                ))
            }
            None => Ok((ok, ov)),
        }
    }

    /// Stores `k, v` `[b, kvh, t, d]` after the held positions and returns
    /// the keys and values of the sequences' own positions (all of them
    /// when nothing is shared).
    pub(crate) fn append_own(
        &mut self,
        layer: usize,
        k: &Tensor,
        v: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let start = self.len - self.shared_len;
        let t = k.dim(2)?;
        let slot = &mut self.layers[layer];
        if self.differentiable {
            // Contiguous parts keep candle's cat on its fast path and its
            // result contiguous; a strided part would give a position-major
            // result, which the composed attention's batched matmul refuses.
            let (k, v) = (k.contiguous()?, v.contiguous()?);
            let kv = match slot.as_ref() {
                Some((pk, pv)) => (Tensor::cat(&[pk, &k], 2)?, Tensor::cat(&[pv, &v], 2)?),
                None => (k, v),
            };
            *slot = Some(kv.clone());
            return Ok(kv);
        }
        let cap = slot.as_ref().map_or(0, |(pk, _)| pk.dim(2).unwrap_or(0));
        if start + t > cap {
            let (b, h, _, d) = k.dims4()?;
            let new_cap = (start + t).max(cap * 2).max(64);
            let nk = Tensor::zeros((b, h, new_cap, d), k.dtype(), k.device())?;
            let nv = Tensor::zeros((b, h, new_cap, d), v.dtype(), v.device())?;
            if let Some((pk, pv)) = slot.as_ref() {
                nk.slice_set(&pk.narrow(2, 0, start)?.contiguous()?, 2, 0)?;
                nv.slice_set(&pv.narrow(2, 0, start)?.contiguous()?, 2, 0)?;
            }
            *slot = Some((nk, nv));
        }
        let Some((bk, bv)) = slot.as_ref() else {
            candle_core::bail!("kv cache slot missing");
        };
        bk.slice_set(&k.contiguous()?, 2, start)?;
        bv.slice_set(&v.contiguous()?, 2, start)?;
        Ok((bk.narrow(2, 0, start + t)?, bv.narrow(2, 0, start + t)?))
    }

    /// The positions of a single-sequence cache, continued independently
    /// by `n` sequences (the candidates of one prompt). On the CPU nothing
    /// is copied: the new cache holds views of this one's positions, which
    /// no later write touches (each sequence appends to its own buffers),
    /// and the CPU decode kernel reads them once for all sequences. Other
    /// devices decode with composed ops that need every row's positions in
    /// one tensor, so there the positions are copied per sequence once,
    /// here, rather than concatenated at every step.
    pub fn expand(&self, n: usize) -> Result<KvCache> {
        let mut shared = self.expanded(n)?;
        if shared.layers_on_cpu() {
            // Once per prompt, read at every step of every candidate.
            shared.shared_decode = shared
                .shared
                .iter()
                .map(|(k, v)| {
                    Ok((
                        crate::attention::decode_keys(k)?,
                        crate::attention::decode_values(v)?,
                    ))
                })
                .collect::<Result<_>>()?;
            return Ok(shared);
        }
        shared.copied_rows(n)
    }

    /// As `expand`, but every sequence gets its own copy of the positions
    /// whatever the device (what non-CPU devices use).
    pub fn expand_copied(&self, n: usize) -> Result<KvCache> {
        self.expanded(n)?.copied_rows(n)
    }

    fn layers_on_cpu(&self) -> bool {
        self.shared.first().is_none_or(|(k, _)| k.device().is_cpu())
    }

    /// The shared form of `expand`.
    fn expanded(&self, n: usize) -> Result<KvCache> {
        if self.differentiable {
            candle_core::bail!("expand needs an inference cache");
        }
        if n == 0 {
            candle_core::bail!("expand to no sequences");
        }
        let mut shared = Vec::with_capacity(self.layers.len());
        for (li, l) in self.layers.iter().enumerate() {
            let Some((k, v)) = l else {
                // Layers fill together; an empty one means an empty cache.
                return Ok(KvCache {
                    layers: vec![None; self.layers.len()],
                    ..KvCache::default()
                });
            };
            let b = k.dim(0)?;
            if b != 1 {
                candle_core::bail!("expand needs a single-sequence cache, got {b}");
            }
            let own = self.len - self.shared_len;
            let (ok, ov) = (k.narrow(2, 0, own)?, v.narrow(2, 0, own)?);
            shared.push(match self.shared(li) {
                Some((sk, sv)) => (Tensor::cat(&[sk, &ok], 2)?, Tensor::cat(&[sv, &ov], 2)?),
                None => (ok, ov),
            });
        }
        Ok(KvCache {
            layers: vec![None; self.layers.len()],
            shared,
            shared_decode: Vec::new(),
            shared_len: self.len,
            len: self.len,
            differentiable: false,
        })
    }

    /// A shared-positions cache (fresh from `expanded`) turned into one
    /// where each of `n` sequences holds its own copy.
    fn copied_rows(self, n: usize) -> Result<KvCache> {
        if self.shared.is_empty() {
            return Ok(self);
        }
        let mut layers = Vec::with_capacity(self.shared.len());
        for (k, v) in &self.shared {
            layers.push(Some((Self::rows(k, n)?, Self::rows(v, n)?)));
        }
        Ok(KvCache {
            layers,
            len: self.len,
            differentiable: false,
            ..KvCache::default()
        })
    }

    /// `n` copies of a `[1, h, p, d]` tensor's rows in a buffer with room
    /// for growth, so the first decode steps do not reallocate.
    fn rows(t: &Tensor, n: usize) -> Result<Tensor> {
        let (_, h, p, d) = t.dims4()?;
        let buf = Tensor::zeros((n, h, p + 64, d), t.dtype(), t.device())?;
        buf.slice_set(&t.broadcast_as((n, h, p, d))?.contiguous()?, 2, 0)?;
        Ok(buf)
    }

    /// Keeps only the sequences at `rows` (finished candidates leave the batch).
    pub fn select(&mut self, rows: &[u32]) -> Result<()> {
        for (k, v) in self.layers.iter_mut().flatten() {
            let idx = Tensor::new(rows, k.device())?;
            *k = k.index_select(&idx, 0)?;
            *v = v.index_select(&idx, 0)?;
        }
        Ok(())
    }

    /// This cache's positions as constants at the start of a
    /// differentiable cache: a prompt prefix computed once without a
    /// graph, continued by passes that need gradients.
    pub fn to_differentiable(&self) -> Result<KvCache> {
        if self.shared_len > 0 {
            candle_core::bail!("to_differentiable needs a cache without shared positions");
        }
        let mut layers = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            layers.push(match l {
                Some((k, v)) => Some((
                    k.narrow(2, 0, self.len)?.contiguous()?.detach(),
                    v.narrow(2, 0, self.len)?.contiguous()?.detach(),
                )),
                None => None,
            });
        }
        Ok(KvCache {
            layers,
            len: self.len,
            differentiable: true,
            ..KvCache::default()
        })
    }

    /// A differentiable cache of one sequence continued by `n` rows (a
    /// training batch sharing a prefix). The positions are copied per row,
    /// so that appending to them stays a contiguous concatenation.
    pub fn broadcast_rows(&self, n: usize) -> Result<KvCache> {
        if !self.differentiable {
            candle_core::bail!("broadcast_rows needs a differentiable cache");
        }
        let mut c = self.clone();
        for (k, v) in c.layers.iter_mut().flatten() {
            let (b, h, p, d) = k.dims4()?;
            if b != 1 {
                candle_core::bail!("broadcast_rows needs a cache of one sequence, not {b}");
            }
            if n > 1 {
                *k = k.broadcast_as((n, h, p, d))?.contiguous()?;
                *v = v.broadcast_as((n, h, p, d))?.contiguous()?;
            }
        }
        Ok(c)
    }

    /// An independent copy (in-place writes to one do not reach the other).
    pub fn deep_clone(&self) -> Result<KvCache> {
        let mut c = self.clone();
        for (k, v) in c.layers.iter_mut().flatten() {
            *k = k.copy()?;
            *v = v.copy()?;
        }
        // Shared positions are never written in place; views may stay.
        Ok(c)
    }
}
