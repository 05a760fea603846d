//! The decoder's shape and hyper-parameters, from GGUF metadata, a Hugging
//! Face `config.json`, or a tiny preset for unit tests.

use crate::ModelError;
use candle_core::quantized::gguf_file;
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub enum RopeScaling {
    None,
    /// Positions divided by `factor` (Hugging Face `"linear"`).
    Linear {
        factor: f32,
    },
    /// Llama 3's frequency-dependent scaling (`"llama3"`).
    Llama3 {
        factor: f32,
        low_freq_factor: f32,
        high_freq_factor: f32,
        original_context: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `llama` or `qwen2`.
    pub architecture: String,
    pub hidden: usize,
    pub intermediate: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub vocab: usize,
    pub rope_theta: f32,
    pub rope_scaling: RopeScaling,
    pub rms_eps: f64,
    pub context: usize,
    /// q/k/v projections carry a bias (Qwen2).
    pub qkv_bias: bool,
    pub tie_embeddings: bool,
}

impl Config {
    pub fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }

    /// A Qwen2-shaped model small enough to initialise randomly in unit
    /// tests (GQA, biases, untied output) with a given vocabulary.
    pub fn tiny(vocab: usize) -> Config {
        Config {
            architecture: "qwen2".into(),
            hidden: 64,
            intermediate: 128,
            layers: 2,
            heads: 4,
            kv_heads: 2,
            vocab,
            rope_theta: 10_000.0,
            rope_scaling: RopeScaling::None,
            rms_eps: 1e-6,
            // Above the 512-token prefill chunk, so chunking is testable.
            context: 1024,
            qkv_bias: true,
            tie_embeddings: false,
        }
    }

    /// Parameter count of the weights this config implies.
    pub fn parameters(&self) -> u64 {
        let (h, i, kv) = (
            self.hidden as u64,
            self.intermediate as u64,
            (self.kv_heads * self.head_dim()) as u64,
        );
        let attn = h * h * 2 + h * kv * 2 + if self.qkv_bias { h + 2 * kv } else { 0 };
        let layer = attn + 3 * h * i + 2 * h;
        let embed = self.vocab as u64 * h;
        let out = if self.tie_embeddings { 0 } else { embed };
        embed + out + h + layer * self.layers as u64
    }

    pub fn from_gguf(ct: &gguf_file::Content, path: &str) -> Result<Config, ModelError> {
        let err = |message: String| ModelError::Gguf {
            path: path.to_string(),
            message,
        };
        let arch = ct
            .metadata
            .get("general.architecture")
            .and_then(|v| v.to_string().ok().cloned())
            .unwrap_or_default();
        if arch != "llama" && arch != "qwen2" {
            return Err(err(format!(
                "architecture '{arch}' is not a Llama/Qwen2 decoder"
            )));
        }
        let u = |k: &str| -> Result<usize, ModelError> {
            ct.metadata
                .get(&format!("{arch}.{k}"))
                .and_then(|v| v.to_u32().ok())
                .map(|v| v as usize)
                .ok_or_else(|| err(format!("missing {arch}.{k}")))
        };
        let fl = |k: &str| {
            ct.metadata
                .get(&format!("{arch}.{k}"))
                .and_then(|v| v.to_f32().ok())
        };
        let embed = ct
            .tensor_infos
            .get("token_embd.weight")
            .ok_or_else(|| err("missing tensor token_embd.weight".into()))?;
        let rope_scaling = match (
            ct.metadata
                .get(&format!("{arch}.rope.scaling.type"))
                .and_then(|v| v.to_string().ok().cloned()),
            fl("rope.scaling.factor"),
        ) {
            (Some(t), Some(factor)) if t == "linear" => RopeScaling::Linear { factor },
            (Some(t), _) if t != "none" => {
                return Err(err(format!("unsupported rope scaling '{t}'")));
            }
            _ => RopeScaling::None,
        };
        Ok(Config {
            hidden: u("embedding_length")?,
            intermediate: u("feed_forward_length")?,
            layers: u("block_count")?,
            heads: u("attention.head_count")?,
            kv_heads: u("attention.head_count_kv")?,
            vocab: embed.shape.dims()[0],
            rope_theta: fl("rope.freq_base").unwrap_or(10_000.0),
            rope_scaling,
            rms_eps: fl("attention.layer_norm_rms_epsilon").unwrap_or(1e-5) as f64,
            context: u("context_length").unwrap_or(2048),
            qkv_bias: ct.tensor_infos.contains_key("blk.0.attn_q.bias"),
            tie_embeddings: !ct.tensor_infos.contains_key("output.weight"),
            architecture: arch,
        })
    }

    /// A Hugging Face `config.json` of a `LlamaForCausalLM` or
    /// `Qwen2ForCausalLM` checkpoint.
    /// The configuration of a GGUF file or a Hugging Face directory
    /// (its config.json), without loading weights.
    pub fn from_model_path(path: &Path) -> Result<Config, ModelError> {
        if path.is_dir() {
            Config::from_hf_json(&path.join("config.json"))
        } else {
            let (_, ct) = crate::read_gguf(path)?;
            Config::from_gguf(&ct, &path.display().to_string())
        }
    }

    pub fn from_hf_json(path: &Path) -> Result<Config, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::Io {
            path: path.display().to_string(),
            cause: e,
        })?;
        let bad = |message: String| ModelError::Config {
            path: path.display().to_string(),
            message,
        };
        let c: HfConfig = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if c.model_type != "llama" && c.model_type != "qwen2" {
            return Err(bad(format!(
                "model_type '{}' is not llama or qwen2",
                c.model_type
            )));
        }
        if c.num_attention_heads == 0 || !c.hidden_size.is_multiple_of(c.num_attention_heads) {
            return Err(bad(
                "hidden_size is not a multiple of num_attention_heads".into()
            ));
        }
        if c.use_sliding_window == Some(true) {
            return Err(bad("sliding-window attention is not supported".into()));
        }
        let rope_theta = c
            .rope_theta
            .or(c.rope_parameters.as_ref().and_then(|p| p.rope_theta))
            .unwrap_or(10_000.0);
        let rope_scaling = match c.rope_scaling.or(c.rope_parameters) {
            None => RopeScaling::None,
            Some(s) => match s.kind.as_deref().or(s.type_.as_deref()) {
                Some("linear") => RopeScaling::Linear { factor: s.factor },
                Some("llama3") => RopeScaling::Llama3 {
                    factor: s.factor,
                    low_freq_factor: s.low_freq_factor.unwrap_or(1.0),
                    high_freq_factor: s.high_freq_factor.unwrap_or(4.0),
                    original_context: s.original_max_position_embeddings.unwrap_or(8192),
                },
                Some("default") | None => RopeScaling::None,
                Some(other) => return Err(bad(format!("unsupported rope_scaling '{other}'"))),
            },
        };
        Ok(Config {
            hidden: c.hidden_size,
            intermediate: c.intermediate_size,
            layers: c.num_hidden_layers,
            heads: c.num_attention_heads,
            kv_heads: c.num_key_value_heads.unwrap_or(c.num_attention_heads),
            vocab: c.vocab_size,
            rope_theta,
            rope_scaling,
            rms_eps: c.rms_norm_eps.unwrap_or(1e-6),
            context: c.max_position_embeddings.unwrap_or(4096),
            qkv_bias: c.attention_bias.unwrap_or(c.model_type == "qwen2"),
            tie_embeddings: c.tie_word_embeddings.unwrap_or(false),
            architecture: c.model_type,
        })
    }

    /// Inverse frequencies of the rotary embedding, scaling applied.
    pub fn rope_inv_freq(&self) -> Vec<f32> {
        let d = self.head_dim();
        let base: Vec<f32> = (0..d / 2)
            .map(|i| 1.0 / self.rope_theta.powf(2.0 * i as f32 / d as f32))
            .collect();
        match &self.rope_scaling {
            RopeScaling::None => base,
            RopeScaling::Linear { factor } => base.iter().map(|f| f / factor).collect(),
            RopeScaling::Llama3 {
                factor,
                low_freq_factor,
                high_freq_factor,
                original_context,
            } => {
                let old = *original_context as f32;
                let (low_wl, high_wl) = (old / low_freq_factor, old / high_freq_factor);
                base.iter()
                    .map(|&f| {
                        let wl = 2.0 * std::f32::consts::PI / f;
                        if wl < high_wl {
                            f
                        } else if wl > low_wl {
                            f / factor
                        } else {
                            let s =
                                (old / wl - low_freq_factor) / (high_freq_factor - low_freq_factor);
                            (1.0 - s) * f / factor + s * f
                        }
                    })
                    .collect()
            }
        }
    }
}

#[derive(Deserialize)]
struct HfConfig {
    model_type: String,
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    num_key_value_heads: Option<usize>,
    vocab_size: usize,
    rope_theta: Option<f32>,
    rms_norm_eps: Option<f64>,
    max_position_embeddings: Option<usize>,
    tie_word_embeddings: Option<bool>,
    attention_bias: Option<bool>,
    rope_scaling: Option<HfRopeScaling>,
    /// transformers ≥ 5 writes theta and scaling here instead.
    rope_parameters: Option<HfRopeScaling>,
    use_sliding_window: Option<bool>,
}

#[derive(Deserialize)]
struct HfRopeScaling {
    #[serde(rename = "rope_type")]
    kind: Option<String>,
    #[serde(rename = "type")]
    type_: Option<String>,
    #[serde(default = "one")]
    factor: f32,
    rope_theta: Option<f32>,
    low_freq_factor: Option<f32>,
    high_freq_factor: Option<f32>,
    original_max_position_embeddings: Option<usize>,
}

fn one() -> f32 {
    1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hf_config_of_qwen2_defaults_to_biases() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.json");
        std::fs::write(
            &p,
            r#"{"model_type":"qwen2","hidden_size":896,"intermediate_size":4864,
            "num_hidden_layers":24,"num_attention_heads":14,"num_key_value_heads":2,
            "vocab_size":151936,"rope_theta":1000000.0,"rms_norm_eps":1e-6,
            "max_position_embeddings":32768,"tie_word_embeddings":true}"#,
        )
        .unwrap();
        let c = Config::from_hf_json(&p).unwrap();
        assert!(c.qkv_bias && c.tie_embeddings);
        assert_eq!((c.head_dim(), c.kv_heads), (64, 2));
        // Qwen2.5-0.5B has 494,032,768 parameters.
        assert_eq!(c.parameters(), 494_032_768);
    }

    #[test]
    fn unsupported_model_and_scaling_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.json");
        std::fs::write(&p, r#"{"model_type":"gemma3","hidden_size":64,"intermediate_size":1,"num_hidden_layers":1,"num_attention_heads":1,"vocab_size":1}"#).unwrap();
        assert!(Config::from_hf_json(&p)
            .unwrap_err()
            .to_string()
            .contains("gemma3"));
        std::fs::write(&p, r#"{"model_type":"llama","hidden_size":64,"intermediate_size":1,"num_hidden_layers":1,"num_attention_heads":1,"vocab_size":1,"rope_scaling":{"rope_type":"yarn","factor":4.0}}"#).unwrap();
        assert!(Config::from_hf_json(&p)
            .unwrap_err()
            .to_string()
            .contains("yarn"));
    }

    #[test]
    fn llama3_scaling_keeps_high_frequencies_and_divides_low_ones() {
        let mut c = Config::tiny(10);
        c.rope_theta = 500_000.0;
        c.hidden = 128 * 4;
        let plain = c.rope_inv_freq();
        c.rope_scaling = RopeScaling::Llama3 {
            factor: 8.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_context: 8192,
        };
        let scaled = c.rope_inv_freq();
        assert_eq!(scaled[0], plain[0]);
        let last = plain.len() - 1;
        assert!((scaled[last] - plain[last] / 8.0).abs() < 1e-12);
    }
}
