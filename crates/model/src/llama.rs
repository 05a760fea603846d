//! The Llama/Qwen2 decoder written with candle tensors and the project's
//! own layers (so that LoRA can later wrap any projection): RMSNorm,
//! rotary embeddings, grouped-query attention, SwiGLU MLP, tied or separate
//! output embedding, optional q/k/v bias. This first version loads GGUF
//! weights dequantised to f32 and runs on the CPU with a KV cache.

use crate::ModelError;
use candle_core::{DType, Device, Tensor, D};
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub hidden: usize,
    pub intermediate: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub vocab: usize,
    pub rope_theta: f32,
    pub rms_eps: f64,
    pub context: usize,
    /// GGUF from llama.cpp stores q/k permuted for interleaved rotary pairs.
    pub rope_interleaved: bool,
}

impl Config {
    pub fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }
}

fn gerr(path: &str) -> impl Fn(candle_core::Error) -> ModelError + '_ {
    move |e| ModelError::Gguf {
        path: path.to_string(),
        message: e.to_string(),
    }
}

struct Layer {
    attn_norm: Tensor,
    wq: Tensor,
    wk: Tensor,
    wv: Tensor,
    bq: Option<Tensor>,
    bk: Option<Tensor>,
    bv: Option<Tensor>,
    wo: Tensor,
    ffn_norm: Tensor,
    gate: Tensor,
    up: Tensor,
    down: Tensor,
}

pub struct Llama {
    pub config: Config,
    embed: Tensor,
    layers: Vec<Layer>,
    norm: Tensor,
    output: Tensor,
    cos: Tensor,
    sin: Tensor,
    device: Device,
}

/// Keys and values of the positions seen so far, one pair per layer.
#[derive(Default, Clone)]
pub struct KvCache {
    kv: Vec<Option<(Tensor, Tensor)>>,
}

impl KvCache {
    pub fn len(&self) -> usize {
        self.kv
            .first()
            .and_then(|x| x.as_ref())
            .map_or(0, |(k, _)| k.dims()[2])
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn linear(x: &Tensor, w: &Tensor, b: Option<&Tensor>) -> candle_core::Result<Tensor> {
    let y = x.broadcast_matmul(&w.t()?)?;
    match b {
        Some(b) => y.broadcast_add(b),
        None => Ok(y),
    }
}

fn rms_norm(x: &Tensor, w: &Tensor, eps: f64) -> candle_core::Result<Tensor> {
    let ms = x.sqr()?.mean_keepdim(D::Minus1)?;
    x.broadcast_div(&(ms + eps)?.sqrt()?)?.broadcast_mul(w)
}

fn softmax_last(x: &Tensor) -> candle_core::Result<Tensor> {
    let m = x.max_keepdim(D::Minus1)?;
    let e = x.broadcast_sub(&m)?.exp()?;
    e.broadcast_div(&e.sum_keepdim(D::Minus1)?)
}

impl Llama {
    pub fn from_gguf_file(path: &Path, device: &Device) -> Result<Llama, ModelError> {
        let p = path.display().to_string();
        let (mut f, ct) = crate::read_gguf(path)?;
        let arch = ct
            .metadata
            .get("general.architecture")
            .and_then(|v| v.to_string().ok().cloned())
            .unwrap_or_default();
        if arch != "llama" && arch != "qwen2" {
            return Err(ModelError::Gguf {
                path: p,
                message: format!("architecture '{arch}' is not a Llama/Qwen2 decoder"),
            });
        }
        let u = |k: &str| -> Result<usize, ModelError> {
            ct.metadata
                .get(&format!("{arch}.{k}"))
                .and_then(|v| v.to_u32().ok())
                .map(|v| v as usize)
                .ok_or_else(|| ModelError::Gguf {
                    path: p.clone(),
                    message: format!("missing {arch}.{k}"),
                })
        };
        let fl = |k: &str, d: f32| {
            ct.metadata
                .get(&format!("{arch}.{k}"))
                .and_then(|v| v.to_f32().ok())
                .unwrap_or(d)
        };
        let mut tensors: HashMap<String, Tensor> = HashMap::new();
        let names: Vec<String> = ct.tensor_infos.keys().cloned().collect();
        for name in names {
            let q = ct.tensor(&mut f, &name, device).map_err(gerr(&p))?;
            tensors.insert(name, q.dequantize(device).map_err(gerr(&p))?);
        }
        let mut take = |n: &str| {
            tensors.remove(n).ok_or_else(|| ModelError::Gguf {
                path: p.clone(),
                message: format!("missing tensor {n}"),
            })
        };
        let embed = take("token_embd.weight")?;
        let config = Config {
            hidden: u("embedding_length")?,
            intermediate: u("feed_forward_length")?,
            layers: u("block_count")?,
            heads: u("attention.head_count")?,
            kv_heads: u("attention.head_count_kv")?,
            vocab: embed.dims()[0],
            rope_theta: fl("rope.freq_base", 10_000.0),
            rms_eps: fl("attention.layer_norm_rms_epsilon", 1e-5) as f64,
            context: u("context_length").unwrap_or(2048),
            rope_interleaved: arch == "llama",
        };
        let mut layers = Vec::with_capacity(config.layers);
        for i in 0..config.layers {
            let mut t = |s: &str| take(&format!("blk.{i}.{s}"));
            layers.push(Layer {
                attn_norm: t("attn_norm.weight")?,
                wq: t("attn_q.weight")?,
                wk: t("attn_k.weight")?,
                wv: t("attn_v.weight")?,
                bq: t("attn_q.bias").ok(),
                bk: t("attn_k.bias").ok(),
                bv: t("attn_v.bias").ok(),
                wo: t("attn_output.weight")?,
                ffn_norm: t("ffn_norm.weight")?,
                gate: t("ffn_gate.weight")?,
                up: t("ffn_up.weight")?,
                down: t("ffn_down.weight")?,
            });
        }
        let norm = take("output_norm.weight")?;
        let output = take("output.weight").unwrap_or_else(|_| embed.clone());
        let (cos, sin) = rope_tables(&config, device).map_err(gerr(&p))?;
        Ok(Llama {
            config,
            embed,
            layers,
            norm,
            output,
            cos,
            sin,
            device: device.clone(),
        })
    }

    /// Logits `[seq, vocab]` for `ids` appended after what `cache` holds;
    /// the whole chunk is processed at once.
    pub fn forward(&self, ids: &[u32], cache: &mut KvCache) -> candle_core::Result<Tensor> {
        let c = &self.config;
        let (t, start, hd) = (ids.len(), cache.len(), c.head_dim());
        if cache.kv.len() != c.layers {
            cache.kv = vec![None; c.layers];
        }
        let ids_t = Tensor::new(ids, &self.device)?;
        let mut x = self.embed.embedding(&ids_t)?.unsqueeze(0)?; // [1, t, hidden]
        let cos = self.cos.narrow(0, start, t)?;
        let sin = self.sin.narrow(0, start, t)?;
        let total = start + t;
        // Causal mask over the new rows: position start+i sees 0..=start+i.
        let mask: Vec<f32> = (0..t)
            .flat_map(|i| {
                (0..total).map(move |j| {
                    if j <= start + i {
                        0.0
                    } else {
                        f32::NEG_INFINITY
                    }
                })
            })
            .collect();
        let mask = Tensor::from_vec(mask, (t, total), &self.device)?;
        for (li, l) in self.layers.iter().enumerate() {
            let h = rms_norm(&x, &l.attn_norm, c.rms_eps)?;
            let q = linear(&h, &l.wq, l.bq.as_ref())?
                .reshape((1, t, c.heads, hd))?
                .transpose(1, 2)?;
            let k = linear(&h, &l.wk, l.bk.as_ref())?
                .reshape((1, t, c.kv_heads, hd))?
                .transpose(1, 2)?;
            let v = linear(&h, &l.wv, l.bv.as_ref())?
                .reshape((1, t, c.kv_heads, hd))?
                .transpose(1, 2)?;
            let q = self.rope(&q, &cos, &sin)?;
            let k = self.rope(&k, &cos, &sin)?;
            let (k, v) = match &cache.kv[li] {
                Some((pk, pv)) => (Tensor::cat(&[pk, &k], 2)?, Tensor::cat(&[pv, &v], 2)?),
                None => (k, v.contiguous()?),
            };
            cache.kv[li] = Some((k.clone(), v.clone()));
            let rep = c.heads / c.kv_heads;
            let k = repeat_kv(&k, rep)?;
            let v = repeat_kv(&v, rep)?;
            let scores = (q.contiguous()?.matmul(&k.t()?.contiguous()?)? / (hd as f64).sqrt())?
                .broadcast_add(&mask)?;
            let att = softmax_last(&scores)?.matmul(&v.contiguous()?)?; // [1, heads, t, hd]
            let att = att.transpose(1, 2)?.reshape((1, t, c.hidden))?;
            x = (x + linear(&att, &l.wo, None)?)?;
            let h = rms_norm(&x, &l.ffn_norm, c.rms_eps)?;
            let ff = (linear(&h, &l.gate, None)?.silu()? * linear(&h, &l.up, None)?)?;
            x = (x + linear(&ff, &l.down, None)?)?;
        }
        let x = rms_norm(&x, &self.norm, c.rms_eps)?;
        linear(&x, &self.output, None)?.squeeze(0)
    }

    fn rope(&self, x: &Tensor, cos: &Tensor, sin: &Tensor) -> candle_core::Result<Tensor> {
        let (b, h, t, d) = x.dims4()?;
        if self.config.rope_interleaved {
            // Pairs (2i, 2i+1) rotate together.
            let x = x.reshape((b, h, t, d / 2, 2))?;
            let x0 = x.narrow(D::Minus1, 0, 1)?.squeeze(D::Minus1)?;
            let x1 = x.narrow(D::Minus1, 1, 1)?.squeeze(D::Minus1)?;
            let r0 = (x0.broadcast_mul(cos)? - x1.broadcast_mul(sin)?)?;
            let r1 = (x0.broadcast_mul(sin)? + x1.broadcast_mul(cos)?)?;
            Tensor::stack(&[r0, r1], D::Minus1)?.reshape((b, h, t, d))
        } else {
            // Halves (i, i + d/2) rotate together (Hugging Face layout).
            let x0 = x.narrow(D::Minus1, 0, d / 2)?;
            let x1 = x.narrow(D::Minus1, d / 2, d / 2)?;
            let r0 = (x0.broadcast_mul(cos)? - x1.broadcast_mul(sin)?)?;
            let r1 = (x0.broadcast_mul(sin)? + x1.broadcast_mul(cos)?)?;
            Tensor::cat(&[r0, r1], D::Minus1)
        }
    }
}

fn repeat_kv(x: &Tensor, n: usize) -> candle_core::Result<Tensor> {
    if n == 1 {
        return Ok(x.clone());
    }
    let (b, h, t, d) = x.dims4()?;
    x.unsqueeze(2)?
        .broadcast_as((b, h, n, t, d))?
        .reshape((b, h * n, t, d))
}

/// cos/sin tables `[context, head_dim / 2]`.
fn rope_tables(c: &Config, device: &Device) -> candle_core::Result<(Tensor, Tensor)> {
    let half = c.head_dim() / 2;
    let inv: Vec<f32> = (0..half)
        .map(|i| 1.0 / c.rope_theta.powf(2.0 * i as f32 / c.head_dim() as f32))
        .collect();
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
) -> candle_core::Result<Vec<u32>> {
    let mut cache = KvCache::default();
    let mut logits = model.forward(prompt, &mut cache)?;
    let mut out = Vec::new();
    for _ in 0..max_new {
        let last = logits.get(logits.dims()[0] - 1)?;
        let next = last.argmax(0)?.to_scalar::<u32>()?;
        if Some(next) == stop {
            break;
        }
        out.push(next);
        logits = model.forward(&[next], &mut cache)?;
    }
    Ok(out)
}
