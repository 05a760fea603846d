//! The Llama/Qwen2 decoder written with candle tensors and the project's
//! own layers, so LoRA can wrap any projection: RMSNorm, rotary
//! embeddings (Hugging Face half-split layout, scaling from the config),
//! grouped-query attention, SwiGLU MLP, tied or separate output embedding,
//! optional q/k/v bias. Batched over sequences of equal length with a KV
//! cache. Every op here is differentiable (the fused candle ops that drop
//! gradients are avoided, see shared/notes/candle.md).

use crate::config::Config;
use crate::kv::KvCache;
use crate::linear::Linear;
use crate::lora::{LoraAdapter, Target};
use crate::ModelError;
use candle_core::{DType, Device, Result, Tensor, D};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Clone)]
pub(crate) struct Layer {
    pub attn_norm: Tensor,
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub o: Linear,
    pub ffn_norm: Tensor,
    pub gate: Linear,
    pub up: Linear,
    pub down: Linear,
}

impl Layer {
    pub(crate) fn proj(&self, t: Target) -> &Linear {
        match t {
            Target::Q => &self.q,
            Target::K => &self.k,
            Target::V => &self.v,
            Target::O => &self.o,
            Target::Gate => &self.gate,
            Target::Up => &self.up,
            Target::Down => &self.down,
        }
    }

    pub(crate) fn proj_mut(&mut self, t: Target) -> &mut Linear {
        match t {
            Target::Q => &mut self.q,
            Target::K => &mut self.k,
            Target::V => &mut self.v,
            Target::O => &mut self.o,
            Target::Gate => &mut self.gate,
            Target::Up => &mut self.up,
            Target::Down => &mut self.down,
        }
    }
}

pub struct Llama {
    pub config: Config,
    pub(crate) embed: Tensor,
    pub(crate) layers: Vec<Layer>,
    pub(crate) norm: Tensor,
    pub(crate) output: Linear,
    cos: Tensor,
    sin: Tensor,
    device: Device,
    adapters: BTreeMap<String, LoraAdapter>,
    default_adapter: Option<String>,
    dropout_rng: Mutex<ChaCha8Rng>,
    /// Every weight is a trainable variable (full fine-tuning, see
    /// `weights.rs`): passes with gradients differentiate them too.
    pub(crate) trainable: bool,
}

/// Which logits a forward pass returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logits<'a> {
    /// Every position (training, scoring).
    All,
    /// Only the last position of each sequence (generation): skips the
    /// vocabulary projection of the other positions.
    Last,
    /// Per sequence of the batch, `(start, len)`: positions
    /// `start..start + len` of that row, all rows' spans one after another
    /// in one sequence of the result (`[1, Σ len, vocab]`). Training on
    /// right-padded rows of different lengths: only the labelled positions
    /// reach the vocabulary projection.
    Spans(&'a [(usize, usize)]),
    /// As `Spans`, but the final normalised hidden states
    /// (`[1, Σ len, hidden]`), not projected to the vocabulary: a trainer
    /// projects them itself, fused with its loss, with [`Llama::frozen_head`].
    States(&'a [(usize, usize)]),
}

/// Options of one forward pass.
#[derive(Debug, Clone, Copy)]
pub struct Pass<'a> {
    pub logits: Logits<'a>,
    /// LoRA adapter to apply; `None` runs the base model (GRPO's
    /// reference policy).
    pub adapter: Option<&'a str>,
    /// Training mode: LoRA dropout on.
    pub train: bool,
    /// Gradients are wanted: use only differentiable ops. Otherwise the
    /// fused candle kernels (RMSNorm, RoPE, softmax) run, which are faster
    /// but silently drop gradients.
    pub grad: bool,
}

impl Pass<'_> {
    pub fn last() -> Pass<'static> {
        Pass {
            logits: Logits::Last,
            adapter: None,
            train: false,
            grad: false,
        }
    }
    pub fn all() -> Pass<'static> {
        Pass {
            logits: Logits::All,
            adapter: None,
            train: false,
            grad: false,
        }
    }
}

/// Prompt positions processed per forward pass at inference.
const PREFILL_CHUNK: usize = 512;

/// `x: [b, t, h]` → `[1, Σ len, h]`: row i's positions `start..start + len`
/// for each `(start, len)` of `spans`, in order.
fn gather_spans(x: &Tensor, spans: &[(usize, usize)]) -> Result<Tensor> {
    let (b, t, _) = x.dims3()?;
    if spans.len() != b {
        candle_core::bail!("{} spans for a batch of {b}", spans.len());
    }
    let mut parts = Vec::with_capacity(b);
    for (row, &(start, len)) in spans.iter().enumerate() {
        if start + len > t {
            candle_core::bail!("span {start}+{len} past the {t} positions of row {row}");
        }
        parts.push(x.narrow(0, row, 1)?.narrow(1, start, len)?);
    }
    Tensor::cat(&parts, 1)
}

pub(crate) fn rms_norm(x: &Tensor, w: &Tensor, eps: f64, grad: bool) -> Result<Tensor> {
    if !grad {
        return candle_nn::ops::rms_norm(&x.contiguous()?, &w.detach(), eps as f32);
    }
    // The custom op differentiates `x` only; a trainable weight takes the
    // composed path, which differentiates both.
    if x.device().is_cpu() && !w.is_variable() {
        return crate::ops::rms_norm(x, w, eps);
    }
    let ms = x.sqr()?.mean_keepdim(D::Minus1)?;
    x.broadcast_div(&(ms + eps)?.sqrt()?)?.broadcast_mul(w)
}

fn softmax_last(x: &Tensor, grad: bool) -> Result<Tensor> {
    if !grad {
        return crate::attention::softmax_last(x);
    }
    let m = x.max_keepdim(D::Minus1)?.detach();
    let e = x.broadcast_sub(&m)?.exp()?;
    e.broadcast_div(&e.sum_keepdim(D::Minus1)?)
}

impl Llama {
    pub(crate) fn assemble(
        config: Config,
        embed: Tensor,
        layers: Vec<Layer>,
        norm: Tensor,
        output: Linear,
        device: &Device,
    ) -> Result<Llama> {
        let (cos, sin) = rope_tables(&config, device)?;
        Ok(Llama {
            config,
            embed,
            layers,
            norm,
            output,
            cos,
            sin,
            device: device.clone(),
            adapters: BTreeMap::new(),
            default_adapter: None,
            dropout_rng: Mutex::new(ChaCha8Rng::seed_from_u64(0)),
            trainable: false,
        })
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Logits `[seq, vocab]` of every position of `ids` appended after what
    /// `cache` holds, with the default adapter.
    pub fn forward(&self, ids: &[u32], cache: &mut KvCache) -> Result<Tensor> {
        let ids = Tensor::new(ids, &self.device)?.unsqueeze(0)?;
        let pass = Pass {
            adapter: self.default_adapter.as_deref(),
            ..Pass::all()
        };
        self.forward_batch(&ids, cache, pass)?.squeeze(0)
    }

    /// `ids: [batch, t]` (u32), appended after the cache's positions (all
    /// sequences in the cache have the same length). Returns logits
    /// `[batch, t or 1, vocab]`.
    pub fn forward_batch(&self, ids: &Tensor, cache: &mut KvCache, pass: Pass) -> Result<Tensor> {
        let c = &self.config;
        let (b, t) = ids.dims2()?;
        if t > PREFILL_CHUNK && !pass.grad && matches!(pass.logits, Logits::All | Logits::Last) {
            // Long prompts in chunks: attention scores stay
            // chunk × positions instead of positions², and each chunk skips
            // the causal half it cannot see.
            let mut outs = Vec::new();
            for s in (0..t).step_by(PREFILL_CHUNK) {
                let n = PREFILL_CHUNK.min(t - s);
                let o = self.forward_batch(&ids.narrow(1, s, n)?, cache, pass)?;
                if pass.logits == Logits::All || s + n == t {
                    outs.push(o);
                }
            }
            return Tensor::cat(&outs, 1);
        }
        cache.ensure_layers(c.layers);
        let start = cache.len();
        if start + t > c.context {
            candle_core::bail!(
                "sequence of {} tokens exceeds the model's context of {}",
                start + t,
                c.context
            );
        }
        let adapter =
            match pass.adapter {
                Some(name) => Some(self.adapters.get(name).ok_or_else(|| {
                    candle_core::Error::msg(format!("no adapter named '{name}'"))
                })?),
                None => None,
            };
        let mut rng_guard = if pass.train {
            Some(
                self.dropout_rng
                    .lock()
                    .map_err(|_| candle_core::Error::msg("dropout rng poisoned"))?,
            )
        } else {
            None
        };
        let (hd, kvh) = (c.head_dim(), c.kv_heads);
        let rep = c.heads / kvh;
        // Full fine-tuning differentiates the weights themselves; without
        // gradients they are used detached (no graph of the whole pass).
        let full = pass.grad && self.trainable;
        let embed = if pass.grad {
            self.embed.clone()
        } else {
            self.embed.detach()
        };
        let mut x = embed
            .embedding(&ids.flatten_all()?)?
            .reshape((b, t, c.hidden))?;
        let cos = self.cos.narrow(0, start, t)?;
        let sin = self.sin.narrow(0, start, t)?;
        let total = start + t;
        let mask = if t > 1 {
            Some(crate::attention::causal_mask(t, total, &self.device)?)
        } else {
            None
        };
        let scale = 1.0 / (hd as f64).sqrt();
        for (li, l) in self.layers.iter().enumerate() {
            // `hp` is `h` prepared for the projection (padding shared by
            // the projections of one input); `given` its product from the
            // one-pass kernels where they applied (inference).
            let mut project = |tg: Target,
                               lin: &Linear,
                               h: &Tensor,
                               hp: &Tensor,
                               given: Option<&Tensor>|
             -> Result<Tensor> {
                // Training an adapter over frozen weights: the projection
                // and its delta as one node where it applies (fused_lora).
                if let (Some(a), true, false) = (adapter, pass.grad, full) {
                    if let Some(y) = a.project_frozen(li, tg, lin, h, rng_guard.as_deref_mut())? {
                        return Ok(y);
                    }
                }
                let d = match adapter {
                    Some(a) => a.delta(li, tg, h, rng_guard.as_deref_mut(), pass.grad)?,
                    None => None,
                };
                match (given, d, pass.grad) {
                    (Some(y), Some(d), _) => y + d,
                    (Some(y), None, _) => Ok(y.clone()),
                    (None, Some(d), true) if full => lin.forward_trainable(h)? + d,
                    (None, None, true) if full => lin.forward_trainable(h),
                    (None, Some(d), true) => lin.forward_frozen_plus(h, &d),
                    (None, None, true) => lin.forward_frozen(h),
                    (None, Some(d), false) => lin.forward_prepared(hp)? + d,
                    (None, None, false) => lin.forward_prepared(hp),
                }
            };
            // Projections of one input in one pass where the weights allow
            // it (inference: packed tiles or candle's fused kernel), an
            // adapter's deltas added after.
            let shared = |lins: &[&Linear], hp: &Tensor| -> Result<Option<Vec<Tensor>>> {
                if pass.grad {
                    return Ok(None);
                }
                Linear::forward_shared(lins, hp)
            };
            let h = rms_norm(&x, &l.attn_norm, c.rms_eps, pass.grad)?;
            let hp = l.q.prepare(&h)?;
            let given = shared(&[&l.q, &l.k, &l.v], &hp)?;
            let given = |i: usize| given.as_ref().and_then(|ys| ys.get(i));
            let q = project(Target::Q, &l.q, &h, &hp, given(0))?;
            let k = project(Target::K, &l.k, &h, &hp, given(1))?;
            let v = project(Target::V, &l.v, &h, &hp, given(2))?;
            let q = q.reshape((b, t, c.heads, hd))?.transpose(1, 2)?;
            let k = k.reshape((b, t, kvh, hd))?.transpose(1, 2)?;
            let v = v.reshape((b, t, kvh, hd))?.transpose(1, 2)?;
            let q = rope(&q, &cos, &sin, pass.grad)?;
            let k = rope(&k, &cos, &sin, pass.grad)?;
            let decode = t == 1 && !pass.grad && self.device.is_cpu();
            let (k, v) = if decode {
                cache.append_own(li, &k, &v)?
            } else {
                cache.append(li, &k, &v)?
            };
            let att = if decode {
                crate::attention::decode_attention(&q, cache.shared_for_decode(li)?, &k, &v, scale)?
            } else if pass.grad && self.device.is_cpu() {
                let q = q.contiguous()?.reshape((b, kvh, rep * t, hd))?;
                crate::attention::train_attention(&q, &k, &v, t, scale)?
            } else {
                // Query heads grouped by the KV head they share, so K and V
                // are used as they are instead of being repeated per head.
                let q = q.contiguous()?.reshape((b, kvh, rep * t, hd))?;
                let mut scores = (q.matmul(&k.t()?)? * scale)?;
                if let Some(m) = &mask {
                    scores = scores
                        .reshape((b, kvh, rep, t, total))?
                        .broadcast_add(m)?
                        .reshape((b, kvh, rep * t, total))?;
                }
                softmax_last(&scores, pass.grad)?.matmul(&v)?
            };
            let att = att
                .reshape((b, c.heads, t, hd))?
                .transpose(1, 2)?
                .reshape((b, t, c.hidden))?;
            x = (x + project(Target::O, &l.o, &att, &l.o.prepare(&att)?, None)?)?;
            let h = rms_norm(&x, &l.ffn_norm, c.rms_eps, pass.grad)?;
            let hp = l.gate.prepare(&h)?;
            let given = shared(&[&l.gate, &l.up], &hp)?;
            let given = |i: usize| given.as_ref().and_then(|ys| ys.get(i));
            let gate = project(Target::Gate, &l.gate, &h, &hp, given(0))?;
            let up = project(Target::Up, &l.up, &h, &hp, given(1))?;
            let ff = if pass.grad && self.device.is_cpu() {
                crate::ops::swiglu(&gate, &up)?
            } else {
                (gate.silu()? * up)?
            };
            x = (x + project(Target::Down, &l.down, &ff, &l.down.prepare(&ff)?, None)?)?;
        }
        cache.advance(t);
        match pass.logits {
            Logits::Last => x = x.narrow(1, t - 1, 1)?,
            Logits::Spans(spans) | Logits::States(spans) => x = gather_spans(&x, spans)?,
            Logits::All => {}
        }
        let x = rms_norm(&x, &self.norm, c.rms_eps, pass.grad)?;
        if matches!(pass.logits, Logits::States(_)) {
            Ok(x)
        } else if full {
            self.output.forward_trainable(&x)
        } else if pass.grad {
            self.output.forward_frozen(&x)
        } else {
            self.output.forward(&x)
        }
    }

    // ---- adapters ----

    /// Registers an adapter under `name` (replacing one of that name).
    pub fn add_adapter(
        &mut self,
        name: &str,
        adapter: LoraAdapter,
    ) -> std::result::Result<(), ModelError> {
        for &(layer, t) in adapter.pairs.keys() {
            if layer >= self.config.layers {
                return Err(ModelError::Adapter(format!(
                    "adapter '{name}' has layer {layer}, the model has {}",
                    self.config.layers
                )));
            }
            let (out, inp) = t.shape(&self.config);
            let p = &adapter.pairs[&(layer, t)];
            if p.a.dims() != [adapter.config.r, inp] || p.b.dims() != [out, adapter.config.r] {
                return Err(ModelError::Adapter(format!(
                    "adapter '{name}' does not fit {:?} of layer {layer}",
                    t
                )));
            }
        }
        self.adapters.insert(name.to_string(), adapter);
        Ok(())
    }

    pub fn adapter(&self, name: &str) -> Option<&LoraAdapter> {
        self.adapters.get(name)
    }

    pub fn adapter_names(&self) -> Vec<String> {
        self.adapters.keys().cloned().collect()
    }

    pub fn remove_adapter(&mut self, name: &str) -> Option<LoraAdapter> {
        if self.default_adapter.as_deref() == Some(name) {
            self.default_adapter = None;
        }
        self.adapters.remove(name)
    }

    /// The adapter `forward` (and callers that do not choose) use; `None`
    /// disables adapters.
    pub fn set_default_adapter(
        &mut self,
        name: Option<&str>,
    ) -> std::result::Result<(), ModelError> {
        if let Some(n) = name {
            if !self.adapters.contains_key(n) {
                return Err(ModelError::Adapter(format!("no adapter named '{n}'")));
            }
        }
        self.default_adapter = name.map(str::to_string);
        Ok(())
    }

    pub fn default_adapter(&self) -> Option<&str> {
        self.default_adapter.as_deref()
    }

    /// Folds the adapter into the base weights (`W += scale·B·A`) and drops
    /// it: inference then costs nothing extra. Quantised weights it touches
    /// become dense f32.
    pub fn merge_adapter(&mut self, name: &str) -> std::result::Result<(), ModelError> {
        let adapter = self
            .remove_adapter(name)
            .ok_or_else(|| ModelError::Adapter(format!("no adapter named '{name}'")))?;
        let e = |e: candle_core::Error| ModelError::Adapter(e.to_string());
        for &(layer, t) in adapter.pairs.keys() {
            if let Some(d) = adapter.weight_delta(layer, t).map_err(e)? {
                let lin = self.layers[layer].proj_mut(t);
                let w = (lin.dense_weight().map_err(e)? + d).map_err(e)?;
                lin.set_dense(w);
            }
        }
        Ok(())
    }

    /// Requantises every projection (and the output head) to Q8_0 for
    /// faster inference; training needs the dense weights.
    pub fn requantize_q8(&mut self) -> std::result::Result<(), ModelError> {
        let e = |e: candle_core::Error| ModelError::Weights {
            path: "<requantize>".into(),
            message: e.to_string(),
        };
        let fmt = crate::WeightFormat::Q8_0;
        for l in &mut self.layers {
            for t in Target::ALL {
                let lin = l.proj_mut(t);
                *lin = Linear::from_dense(lin.dense_weight().map_err(e)?, lin.bias().cloned(), fmt)
                    .map_err(e)?;
            }
        }
        self.output =
            Linear::from_dense(self.output.dense_weight().map_err(e)?, None, fmt).map_err(e)?;
        Ok(())
    }

    /// The vocabulary projection's weight `[vocab, hidden]` where it is
    /// dense, on the CPU and not trained (LoRA): a loss may then project
    /// [`Logits::States`] itself. `None` under full fine-tuning, whose
    /// head takes gradients, and for quantised or GPU weights.
    pub fn frozen_head(&self) -> Option<Tensor> {
        if self.trainable || !self.device.is_cpu() || self.output.bias().is_some() {
            return None;
        }
        self.output
            .dense_only()
            .filter(|w| w.dtype() == candle_core::DType::F32)
            .cloned()
    }

    /// Seeds LoRA dropout (training reproducibility).
    pub fn seed_dropout(&self, seed: u64) {
        if let Ok(mut r) = self.dropout_rng.lock() {
            *r = ChaCha8Rng::seed_from_u64(seed);
        }
    }

    /// Parameters of the base model.
    pub fn parameters(&self) -> u64 {
        self.config.parameters()
    }
}

/// Rotates halves `(i, i + d/2)` together (Hugging Face layout; GGUF
/// weights of llama are un-permuted to it when loaded).
fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor, grad: bool) -> Result<Tensor> {
    if !grad {
        return candle_nn::rotary_emb::rope(&x.contiguous()?, cos, sin);
    }
    if x.device().is_cpu() {
        return crate::ops::rope(x, cos, sin);
    }
    let d = x.dim(D::Minus1)?;
    let x0 = x.narrow(D::Minus1, 0, d / 2)?;
    let x1 = x.narrow(D::Minus1, d / 2, d / 2)?;
    let r0 = (x0.broadcast_mul(cos)? - x1.broadcast_mul(sin)?)?;
    let r1 = (x0.broadcast_mul(sin)? + x1.broadcast_mul(cos)?)?;
    Tensor::cat(&[r0, r1], D::Minus1)
}

/// cos/sin tables `[context, head_dim / 2]`.
fn rope_tables(c: &Config, device: &Device) -> Result<(Tensor, Tensor)> {
    let inv = c.rope_inv_freq();
    let half = inv.len();
    let inv = Tensor::from_vec(inv, (1, half), device)?;
    let pos = Tensor::arange(0u32, c.context as u32, device)?
        .to_dtype(DType::F32)?
        .reshape((c.context, 1))?;
    let freqs = pos.broadcast_mul(&inv)?;
    Ok((freqs.cos()?, freqs.sin()?))
}

/// Greedy continuation: the prompt in one chunk, then one token at a time.
pub fn greedy(
    model: &Llama,
    prompt: &[u32],
    max_new: usize,
    stop: Option<u32>,
) -> Result<Vec<u32>> {
    let mut cache = KvCache::default();
    let ids = Tensor::new(prompt, model.device())?.unsqueeze(0)?;
    let pass = Pass {
        adapter: model.default_adapter(),
        ..Pass::last()
    };
    let mut logits = model.forward_batch(&ids, &mut cache, pass)?;
    let mut out = Vec::new();
    for _ in 0..max_new {
        let next = logits.flatten_all()?.argmax(0)?.to_scalar::<u32>()?;
        if Some(next) == stop {
            break;
        }
        out.push(next);
        let ids = Tensor::new(&[[next]], model.device())?;
        logits = model.forward_batch(&ids, &mut cache, pass)?;
    }
    Ok(out)
}
