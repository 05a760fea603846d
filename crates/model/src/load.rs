//! Building a [`Llama`] from GGUF, from a Hugging Face safetensors
//! checkpoint (single file or sharded with an index, memory-mapped), or
//! from random weights for tests.

use crate::config::Config;
use crate::linear::{Linear, WeightFormat};
use crate::llama::{Layer, Llama};
use crate::ModelError;
use candle_core::quantized::{QStorage, QTensor};
use candle_core::{DType, Device, Tensor};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn gerr(path: &Path) -> impl Fn(candle_core::Error) -> ModelError + '_ {
    move |e| ModelError::Gguf {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// llama.cpp stores llama's q/k rows permuted for interleaved rotary
/// pairs; this is the source row of each Hugging Face row.
fn unpermute_rows(rows: usize, heads: usize) -> Vec<u32> {
    let d = rows / heads;
    (0..rows)
        .map(|r| {
            let (h, j) = (r / d, r % d);
            let (s, i) = (j / (d / 2), j % (d / 2));
            (h * d + 2 * i + s) as u32
        })
        .collect()
}

/// Reorders whole rows of a GGML tensor; blocks never straddle rows, so
/// quantised data moves byte for byte without requantisation.
fn permute_qtensor(q: QTensor, order: &[u32], device: &Device) -> candle_core::Result<QTensor> {
    let shape = q.shape().clone();
    let rows = shape.dims()[0];
    let data = q.data()?;
    let row_bytes = data.len() / rows;
    let mut out = Vec::with_capacity(data.len());
    for &src in order {
        let s = src as usize * row_bytes;
        out.extend_from_slice(&data[s..s + row_bytes]);
    }
    let storage = QStorage::from_data(Cow::Owned(out), device, q.dtype())?;
    QTensor::new(storage, shape)
}

impl Llama {
    /// Loads a GGUF file, dequantised to f32 (training, parity).
    pub fn from_gguf_file(path: &Path, device: &Device) -> Result<Llama, ModelError> {
        Llama::from_gguf_file_with(path, device, WeightFormat::F32)
    }

    pub fn from_gguf_file_with(
        path: &Path,
        device: &Device,
        fmt: WeightFormat,
    ) -> Result<Llama, ModelError> {
        let (mut f, ct) = crate::read_gguf(path)?;
        let config = Config::from_gguf(&ct, &path.display().to_string())?;
        let e = gerr(path);
        let mut read = |name: &str| -> Result<QTensor, ModelError> {
            if !ct.tensor_infos.contains_key(name) {
                return Err(ModelError::Gguf {
                    path: path.display().to_string(),
                    message: format!("missing tensor {name}"),
                });
            }
            ct.tensor(&mut f, name, device).map_err(gerr(path))
        };
        let dense = |q: QTensor| q.dequantize(device);
        let llama_layout = config.architecture == "llama";
        let mut layers = Vec::with_capacity(config.layers);
        for i in 0..config.layers {
            let mut lin = |n: &str, heads: Option<usize>| -> Result<Linear, ModelError> {
                let mut q = read(&format!("blk.{i}.{n}.weight"))?;
                let bias_name = format!("blk.{i}.{n}.bias");
                let mut bias = if ct.tensor_infos.contains_key(&bias_name) {
                    Some(dense(read(&bias_name)?).map_err(&e)?)
                } else {
                    None
                };
                if let (Some(h), true) = (heads, llama_layout) {
                    let order = unpermute_rows(q.shape().dims()[0], h);
                    q = permute_qtensor(q, &order, device).map_err(&e)?;
                    if let Some(b) = bias.take() {
                        let idx = Tensor::new(order.as_slice(), device).map_err(&e)?;
                        bias = Some(b.index_select(&idx, 0).map_err(&e)?);
                    }
                }
                Linear::from_qtensor(q, bias, fmt).map_err(&e)
            };
            let q = lin("attn_q", Some(config.heads))?;
            let k = lin("attn_k", Some(config.kv_heads))?;
            let v = lin("attn_v", None)?;
            let o = lin("attn_output", None)?;
            let gate = lin("ffn_gate", None)?;
            let up = lin("ffn_up", None)?;
            let down = lin("ffn_down", None)?;
            layers.push(Layer {
                attn_norm: dense(read(&format!("blk.{i}.attn_norm.weight"))?).map_err(&e)?,
                ffn_norm: dense(read(&format!("blk.{i}.ffn_norm.weight"))?).map_err(&e)?,
                q,
                k,
                v,
                o,
                gate,
                up,
                down,
            });
        }
        let embed_q = read("token_embd.weight")?;
        let embed = embed_q.dequantize(device).map_err(&e)?;
        let output = if config.tie_embeddings && matches!(fmt, WeightFormat::F32) {
            // Dense weights (training): the output projection shares the
            // embedding's storage instead of a second 113 MB copy.
            Linear::from_dense(embed.clone(), None, fmt).map_err(&e)?
        } else if config.tie_embeddings {
            Linear::from_qtensor(embed_q, None, fmt).map_err(&e)?
        } else {
            Linear::from_qtensor(read("output.weight")?, None, fmt).map_err(&e)?
        };
        let norm = dense(read("output_norm.weight")?).map_err(&e)?;
        Llama::assemble(config, embed, layers, norm, output, device).map_err(&e)
    }

    /// Loads a Hugging Face checkpoint directory: `config.json` and
    /// `model.safetensors`, or shards listed in
    /// `model.safetensors.index.json`.
    pub fn from_safetensors_dir(
        dir: &Path,
        device: &Device,
        fmt: WeightFormat,
    ) -> Result<Llama, ModelError> {
        let config = Config::from_hf_json(&dir.join("config.json"))?;
        let files = safetensors_files(dir)?;
        let shown = dir.display().to_string();
        let e = |err: candle_core::Error| ModelError::Weights {
            path: shown.clone(),
            message: err.to_string(),
        };
        // SAFETY: the files are mapped read-only for the duration of the
        // load; a checkpoint being rewritten underneath would be a user
        // error that at worst yields wrong weights, not memory unsafety in
        // practice on Linux, which is the same contract candle documents.
        let st =
            unsafe { candle_core::safetensors::MmapedSafetensors::multi(&files) }.map_err(&e)?;
        let get = |name: &str| -> Result<Tensor, ModelError> {
            st.load(name, device)
                .and_then(|t| t.to_dtype(DType::F32))
                .map_err(|err| ModelError::Weights {
                    path: shown.clone(),
                    message: format!("{name}: {err}"),
                })
        };
        let opt = |name: &str| -> Option<Tensor> { st.get(name).ok().and_then(|_| get(name).ok()) };
        let mut layers = Vec::with_capacity(config.layers);
        for i in 0..config.layers {
            let p = format!("model.layers.{i}");
            let lin = |n: &str| -> Result<Linear, ModelError> {
                let w = get(&format!("{p}.{n}.weight"))?;
                Linear::from_dense(w, opt(&format!("{p}.{n}.bias")), fmt).map_err(&e)
            };
            layers.push(Layer {
                attn_norm: get(&format!("{p}.input_layernorm.weight"))?,
                ffn_norm: get(&format!("{p}.post_attention_layernorm.weight"))?,
                q: lin("self_attn.q_proj")?,
                k: lin("self_attn.k_proj")?,
                v: lin("self_attn.v_proj")?,
                o: lin("self_attn.o_proj")?,
                gate: lin("mlp.gate_proj")?,
                up: lin("mlp.up_proj")?,
                down: lin("mlp.down_proj")?,
            });
        }
        let embed = get("model.embed_tokens.weight")?;
        let out_w = match opt("lm_head.weight") {
            Some(w) if !config.tie_embeddings => w,
            _ => embed.clone(),
        };
        let output = Linear::from_dense(out_w, None, fmt).map_err(&e)?;
        let norm = get("model.norm.weight")?;
        Llama::assemble(config, embed, layers, norm, output, device).map_err(&e)
    }

    /// Random weights (normal, σ 0.02, as Hugging Face initialises; biases
    /// small and non-zero so they are exercised) for unit tests.
    pub fn random(config: Config, seed: u64, device: &Device) -> Result<Llama, ModelError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let e = |err: candle_core::Error| ModelError::Weights {
            path: "<random>".into(),
            message: err.to_string(),
        };
        let mut normal = |shape: (usize, usize), std: f32| -> Result<Tensor, ModelError> {
            let v: Vec<f32> = (0..shape.0 * shape.1)
                .map(|_| {
                    // Box–Muller from the seeded stream.
                    let (u1, u2) = (rng.random::<f32>().max(1e-7), rng.random::<f32>());
                    std * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
                })
                .collect();
            Tensor::from_vec(v, shape, device).map_err(e)
        };
        let c = &config;
        let kv = c.kv_heads * c.head_dim();
        let ones = |n: usize| Tensor::ones(n, DType::F32, device).map_err(e);
        let mut layers = Vec::with_capacity(c.layers);
        for _ in 0..c.layers {
            let mut lin = |out: usize, inp: usize, bias: bool| -> Result<Linear, ModelError> {
                let w = normal((out, inp), 0.02)?;
                let b = if bias {
                    Some(normal((1, out), 0.02)?.squeeze(0).map_err(e)?)
                } else {
                    None
                };
                Ok(Linear::dense(w, b))
            };
            layers.push(Layer {
                attn_norm: ones(c.hidden)?,
                ffn_norm: ones(c.hidden)?,
                q: lin(c.hidden, c.hidden, c.qkv_bias)?,
                k: lin(kv, c.hidden, c.qkv_bias)?,
                v: lin(kv, c.hidden, c.qkv_bias)?,
                o: lin(c.hidden, c.hidden, false)?,
                gate: lin(c.intermediate, c.hidden, false)?,
                up: lin(c.intermediate, c.hidden, false)?,
                down: lin(c.hidden, c.intermediate, false)?,
            });
        }
        let embed = normal((c.vocab, c.hidden), 0.02)?;
        let output = if c.tie_embeddings {
            Linear::dense(embed.clone(), None)
        } else {
            Linear::dense(normal((c.vocab, c.hidden), 0.02)?, None)
        };
        let norm = ones(c.hidden)?;
        Llama::assemble(config, embed, layers, norm, output, device).map_err(e)
    }
}

/// The safetensors files of a checkpoint directory.
fn safetensors_files(dir: &Path) -> Result<Vec<PathBuf>, ModelError> {
    let index = dir.join("model.safetensors.index.json");
    if index.exists() {
        let text = std::fs::read_to_string(&index).map_err(|e| ModelError::Io {
            path: index.display().to_string(),
            cause: e,
        })?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| ModelError::Weights {
                path: index.display().to_string(),
                message: e.to_string(),
            })?;
        let files: BTreeSet<String> = v["weight_map"]
            .as_object()
            .ok_or_else(|| ModelError::Weights {
                path: index.display().to_string(),
                message: "no weight_map".into(),
            })?
            .values()
            .filter_map(|f| f.as_str().map(str::to_string))
            .collect();
        let files: Vec<PathBuf> = files.into_iter().map(|f| dir.join(f)).collect();
        if let Some(missing) = files.iter().find(|f| !f.exists()) {
            return Err(ModelError::NotFound(format!(
                "shard {} listed in {}",
                missing.display(),
                index.display()
            )));
        }
        return Ok(files);
    }
    let single = dir.join("model.safetensors");
    if single.exists() {
        return Ok(vec![single]);
    }
    Err(ModelError::NotFound(format!(
        "{} has neither model.safetensors nor model.safetensors.index.json",
        dir.display()
    )))
}

/// A model and its tokenizer from what [`crate::fetch::resolve`] returns:
/// a GGUF file (tokenizer from its metadata) or a Hugging Face directory
/// (`config.json`, safetensors, `tokenizer.json`).
pub fn load_model(
    path: &Path,
    device: &Device,
    fmt: WeightFormat,
) -> Result<(Llama, crate::tokenizer::Tokenizer), ModelError> {
    if path.is_dir() {
        let tok = crate::tokenizer::Tokenizer::from_json_file(&path.join("tokenizer.json"))?;
        Ok((Llama::from_safetensors_dir(path, device, fmt)?, tok))
    } else {
        let tok = crate::tokenizer::Tokenizer::from_gguf_file(path)?;
        Ok((Llama::from_gguf_file_with(path, device, fmt)?, tok))
    }
}

#[cfg(test)]
mod tests {
    use super::unpermute_rows;

    #[test]
    fn unpermutation_reverses_llama_cpp_permute() {
        // llama.cpp: w.reshape(h, 2, d/2).swapaxes(1, 2): GGUF row
        // (h, i, s) holds HF row (h, s, i).
        let (heads, d) = (3, 8);
        let mut gguf_holds = vec![0u32; heads * d];
        for h in 0..heads {
            for i in 0..d / 2 {
                for s in 0..2 {
                    gguf_holds[h * d + 2 * i + s] = (h * d + s * d / 2 + i) as u32;
                }
            }
        }
        let order = unpermute_rows(heads * d, heads);
        let hf: Vec<u32> = order.iter().map(|&g| gguf_holds[g as usize]).collect();
        assert_eq!(hf, (0..(heads * d) as u32).collect::<Vec<_>>());
    }
}
