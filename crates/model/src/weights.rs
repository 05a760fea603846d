//! Full fine-tuning: every weight of the decoder as a trainable variable
//! under its Hugging Face name, and a fine-tuned model written back as a
//! Hugging Face checkpoint directory that `glrl` (and `transformers`)
//! load like any other.

use crate::config::{Config, RopeScaling};
use crate::llama::Llama;
use crate::lora::Target;
use crate::ModelError;
use candle_core::{DType, Tensor, Var};
use std::collections::HashMap;
use std::path::Path;

fn werr(e: candle_core::Error) -> ModelError {
    ModelError::Weights {
        path: "<full fine-tuning>".into(),
        message: e.to_string(),
    }
}

impl Llama {
    /// Every weight, with its Hugging Face name, in a fixed order; a tied
    /// output head is the embedding and is not listed again.
    fn visit_weights(
        &mut self,
        f: &mut dyn FnMut(String, &mut Tensor) -> candle_core::Result<()>,
    ) -> candle_core::Result<()> {
        f("model.embed_tokens.weight".into(), &mut self.embed)?;
        for (i, l) in self.layers.iter_mut().enumerate() {
            let p = format!("model.layers.{i}");
            f(format!("{p}.input_layernorm.weight"), &mut l.attn_norm)?;
            f(
                format!("{p}.post_attention_layernorm.weight"),
                &mut l.ffn_norm,
            )?;
            for t in Target::ALL {
                let (w, b) = l.proj_mut(t).tensors_mut()?;
                f(format!("{p}.{}.weight", t.module()), w)?;
                if let Some(b) = b {
                    f(format!("{p}.{}.bias", t.module()), b)?;
                }
            }
        }
        f("model.norm.weight".into(), &mut self.norm)?;
        if !self.config.tie_embeddings {
            f("lm_head.weight".into(), self.output.tensors_mut()?.0)?;
        }
        Ok(())
    }

    /// Makes every weight a trainable f32 variable (full fine-tuning) and
    /// returns them with their Hugging Face names. A tied output head
    /// shares the embedding's variable, so both uses add to one gradient.
    /// Passes with `grad` then differentiate the weights as well.
    pub fn make_trainable(&mut self) -> Result<Vec<(String, Var)>, ModelError> {
        let mut vars = Vec::new();
        self.visit_weights(&mut |name, t| {
            let v = Var::from_tensor(&t.to_dtype(DType::F32)?)?;
            *t = v.as_tensor().clone();
            vars.push((name, v));
            Ok(())
        })
        .map_err(werr)?;
        if self.config.tie_embeddings {
            self.output = crate::linear::Linear::dense(self.embed.clone(), None);
        }
        self.trainable = true;
        Ok(vars)
    }
}

/// The Hugging Face `config.json` of a model of this shape.
pub fn hf_config_json(c: &Config) -> serde_json::Value {
    let arch = if c.architecture == "qwen2" {
        "Qwen2ForCausalLM"
    } else {
        "LlamaForCausalLM"
    };
    let rope_scaling = match &c.rope_scaling {
        RopeScaling::None => serde_json::Value::Null,
        RopeScaling::Linear { factor } => {
            serde_json::json!({"rope_type": "linear", "factor": factor})
        }
        RopeScaling::Llama3 {
            factor,
            low_freq_factor,
            high_freq_factor,
            original_context,
        } => serde_json::json!({
            "rope_type": "llama3",
            "factor": factor,
            "low_freq_factor": low_freq_factor,
            "high_freq_factor": high_freq_factor,
            "original_max_position_embeddings": original_context,
        }),
    };
    serde_json::json!({
        "architectures": [arch],
        "model_type": c.architecture,
        "hidden_size": c.hidden,
        "intermediate_size": c.intermediate,
        "num_hidden_layers": c.layers,
        "num_attention_heads": c.heads,
        "num_key_value_heads": c.kv_heads,
        "vocab_size": c.vocab,
        "rope_theta": c.rope_theta,
        "rope_scaling": rope_scaling,
        "rms_norm_eps": c.rms_eps,
        "max_position_embeddings": c.context,
        "attention_bias": c.qkv_bias,
        "tie_word_embeddings": c.tie_embeddings,
        "hidden_act": "silu",
        "torch_dtype": "bfloat16",
    })
}

/// Writes a Hugging Face checkpoint directory: `config.json` and
/// `model.safetensors` with `weights` in `dtype` (F32, F16 or BF16).
pub fn save_hf_checkpoint(
    dir: &Path,
    config: &Config,
    weights: &[(String, Tensor)],
    dtype: DType,
) -> Result<(), ModelError> {
    let io = |cause| ModelError::Io {
        path: dir.display().to_string(),
        cause,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut map = HashMap::new();
    for (name, t) in weights {
        map.insert(name.clone(), t.detach().to_dtype(dtype).map_err(werr)?);
    }
    candle_core::safetensors::save(&map, dir.join("model.safetensors")).map_err(werr)?;
    let json =
        serde_json::to_string_pretty(&hf_config_json(config)).map_err(|e| ModelError::Config {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
    std::fs::write(dir.join("config.json"), json).map_err(io)
}

/// Sets each variable from the tensor of its name in a `model.safetensors`
/// (resuming full fine-tuning from a checkpoint).
pub fn load_into(vars: &[(String, Var)], file: &Path) -> Result<(), ModelError> {
    let bad = |message: String| ModelError::Weights {
        path: file.display().to_string(),
        message,
    };
    let tensors = candle_core::safetensors::load(file, &candle_core::Device::Cpu)
        .map_err(|e| bad(e.to_string()))?;
    for (name, v) in vars {
        let t = tensors
            .get(name)
            .ok_or_else(|| bad(format!("no tensor {name}")))?;
        let t = t
            .to_dtype(DType::F32)
            .and_then(|t| t.to_device(v.device()))
            .map_err(|e| bad(format!("{name}: {e}")))?;
        if t.dims() != v.dims() {
            return Err(bad(format!(
                "{name} is {:?}, the model's {:?}",
                t.dims(),
                v.dims()
            )));
        }
        v.set(&t).map_err(|e| bad(format!("{name}: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::max_diff;
    use crate::{KvCache, Logits, Pass};
    use candle_core::Device;

    fn logits(m: &Llama, ids: &[u32], grad: bool) -> Tensor {
        let pass = Pass {
            logits: Logits::All,
            adapter: None,
            train: false,
            grad,
        };
        let ids = Tensor::new(ids, &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let mut cache = if grad {
            KvCache::differentiable()
        } else {
            KvCache::default()
        };
        m.forward_batch(&ids, &mut cache, pass).unwrap()
    }

    #[test]
    fn every_weight_gets_a_gradient_and_the_saved_model_reloads_exactly() {
        for tie in [false, true] {
            let config = Config {
                tie_embeddings: tie,
                ..Config::tiny(96)
            };
            let mut m = Llama::random(config.clone(), 5, &Device::Cpu).unwrap();
            let ids = [3u32, 17, 42, 8, 91, 5];
            let before = logits(&m, &ids, false);
            let vars = m.make_trainable().unwrap();
            let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names.contains(&"lm_head.weight"), !tie, "{names:?}");
            let count: usize = vars.iter().map(|(_, v)| v.elem_count()).sum();
            assert_eq!(count as u64, config.parameters());
            // Making the weights trainable changes no value, and the
            // differentiable pass computes what inference computes.
            let with_grad = logits(&m, &ids, true);
            assert!(max_diff(&before, &with_grad) < 1e-4);
            assert!(max_diff(&before, &logits(&m, &ids, false)) < 1e-4);

            let grads = with_grad
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            for (name, v) in &vars {
                let g = grads
                    .get(v.as_tensor())
                    .unwrap_or_else(|| panic!("no gradient for {name}"));
                let norm: f32 = g.sqr().unwrap().sum_all().unwrap().to_scalar().unwrap();
                assert!(norm > 0.0, "zero gradient for {name}");
            }

            // One step changes the model; the saved directory reloads it.
            for (_, v) in &vars {
                let g = grads.get(v.as_tensor()).unwrap();
                v.set(&(v.as_tensor() - (g * 1e-2).unwrap()).unwrap())
                    .unwrap();
            }
            let after = logits(&m, &ids, false);
            assert!(max_diff(&before, &after) > 1e-3);
            let dir = tempfile::tempdir().unwrap();
            let weights: Vec<(String, Tensor)> = vars
                .iter()
                .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
                .collect();
            save_hf_checkpoint(dir.path(), &config, &weights, DType::F32).unwrap();
            let back =
                Llama::from_safetensors_dir(dir.path(), &Device::Cpu, crate::WeightFormat::F32)
                    .unwrap();
            assert_eq!(back.config, config);
            assert!(max_diff(&after, &logits(&back, &ids, false)) < 1e-5);

            // Resuming sets the variables back from the file.
            let mut fresh = Llama::random(config.clone(), 6, &Device::Cpu).unwrap();
            let fresh_vars = fresh.make_trainable().unwrap();
            load_into(&fresh_vars, &dir.path().join("model.safetensors")).unwrap();
            assert!(max_diff(&after, &logits(&fresh, &ids, false)) < 1e-5);
        }
    }

    #[test]
    fn loading_refuses_a_file_of_another_shape() {
        let dir = tempfile::tempdir().unwrap();
        let mut small = Llama::random(Config::tiny(96), 1, &Device::Cpu).unwrap();
        let vars = small.make_trainable().unwrap();
        let weights: Vec<(String, Tensor)> = vars
            .iter()
            .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
            .collect();
        save_hf_checkpoint(dir.path(), &small.config, &weights, DType::BF16).unwrap();
        let mut other = Llama::random(Config::tiny(128), 1, &Device::Cpu).unwrap();
        let other_vars = other.make_trainable().unwrap();
        let err = load_into(&other_vars, &dir.path().join("model.safetensors")).unwrap_err();
        assert!(
            err.to_string().contains("model.embed_tokens.weight"),
            "{err}"
        );
        assert!(load_into(&other_vars, &dir.path().join("missing.safetensors")).is_err());
    }
}
