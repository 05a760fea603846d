//! The key/value cache: per layer `[batch, kv_heads, positions, head_dim]`.
//!
//! For inference the buffers are preallocated and filled in place (no
//! copy of the whole cache per token, which concatenation costs); a
//! differentiable cache concatenates instead, so gradients flow through a
//! shared prefix during training.

use candle_core::{Result, Tensor};

#[derive(Clone, Default)]
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
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

    /// Sequences held (0 when empty).
    pub fn batch(&self) -> usize {
        self.layers
            .iter()
            .flatten()
            .next()
            .map_or(0, |(k, _)| k.dims()[0])
    }

    pub(crate) fn ensure_layers(&mut self, n: usize) {
        if self.layers.len() != n {
            self.layers = vec![None; n];
            self.len = 0;
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
        let start = self.len;
        let t = k.dim(2)?;
        let slot = &mut self.layers[layer];
        if self.differentiable {
            let kv = match slot.as_ref() {
                Some((pk, pv)) => (Tensor::cat(&[pk, k], 2)?, Tensor::cat(&[pv, v], 2)?),
                None => (k.clone(), v.clone()),
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

    /// The cache of a single sequence copied `n` times (the candidates of
    /// one prompt continue from it independently).
    pub fn expand(&self, n: usize) -> Result<KvCache> {
        let mut layers = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            layers.push(match l {
                Some((k, v)) => {
                    let (b, h, _, d) = k.dims4()?;
                    if b != 1 {
                        candle_core::bail!("expand needs a single-sequence cache, got {b}");
                    }
                    // Room for growth so the first decode steps do not reallocate.
                    let cap = self.len + 64;
                    let nk = Tensor::zeros((n, h, cap, d), k.dtype(), k.device())?;
                    let nv = Tensor::zeros((n, h, cap, d), v.dtype(), v.device())?;
                    let hk = k.narrow(2, 0, self.len)?;
                    let hv = v.narrow(2, 0, self.len)?;
                    nk.slice_set(&hk.broadcast_as((n, h, self.len, d))?.contiguous()?, 2, 0)?;
                    nv.slice_set(&hv.broadcast_as((n, h, self.len, d))?.contiguous()?, 2, 0)?;
                    Some((nk, nv))
                }
                None => None,
            });
        }
        Ok(KvCache {
            layers,
            len: self.len,
            differentiable: self.differentiable,
        })
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
        })
    }

    /// An independent copy (in-place writes to one do not reach the other).
    pub fn deep_clone(&self) -> Result<KvCache> {
        let mut c = self.clone();
        for (k, v) in c.layers.iter_mut().flatten() {
            *k = k.copy()?;
            *v = v.copy()?;
        }
        Ok(c)
    }
}
