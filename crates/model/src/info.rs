//! What a GGUF file holds: architecture, size, quantisation, context.

use crate::ModelError;
use candle_core::quantized::gguf_file;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub name: Option<String>,
    pub architecture: String,
    pub parameters: u64,
    /// Tensor count per GGML type, e.g. {"Q4_1": 210, "Q8_0": 1, "F32": 61}.
    pub tensor_types: BTreeMap<String, usize>,
    pub context_length: Option<u32>,
    pub layers: Option<u32>,
    pub hidden_size: Option<u32>,
    pub heads: Option<u32>,
    pub kv_heads: Option<u32>,
    pub vocab_size: usize,
}

impl ModelInfo {
    pub fn from_gguf_file(path: &Path) -> Result<ModelInfo, ModelError> {
        let (_, ct) = crate::read_gguf(path)?;
        Ok(ModelInfo::from_gguf(&ct))
    }

    /// A GGUF file or a Hugging Face checkpoint directory.
    pub fn from_path(path: &Path) -> Result<ModelInfo, ModelError> {
        if !path.is_dir() {
            return ModelInfo::from_gguf_file(path);
        }
        let c = crate::config::Config::from_hf_json(&path.join("config.json"))?;
        let dtype = std::fs::read_to_string(path.join("config.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| {
                v.get("torch_dtype")
                    .or_else(|| v.get("dtype"))
                    .and_then(|d| d.as_str().map(str::to_string))
            })
            .unwrap_or_else(|| "safetensors".into());
        Ok(ModelInfo {
            name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
            architecture: c.architecture.clone(),
            parameters: c.parameters(),
            tensor_types: BTreeMap::from([(dtype, 0)]),
            context_length: Some(c.context as u32),
            layers: Some(c.layers as u32),
            hidden_size: Some(c.hidden as u32),
            heads: Some(c.heads as u32),
            kv_heads: Some(c.kv_heads as u32),
            vocab_size: c.vocab,
        })
    }

    pub fn from_gguf(ct: &gguf_file::Content) -> ModelInfo {
        let s = |k: &str| ct.metadata.get(k).and_then(|v| v.to_string().ok().cloned());
        let arch = s("general.architecture").unwrap_or_else(|| "unknown".into());
        let u = |k: &str| {
            ct.metadata
                .get(&format!("{arch}.{k}"))
                .and_then(|v| v.to_u32().ok())
        };
        let mut tensor_types = BTreeMap::new();
        let mut parameters = 0u64;
        for t in ct.tensor_infos.values() {
            parameters += t.shape.elem_count() as u64;
            *tensor_types
                .entry(format!("{:?}", t.ggml_dtype))
                .or_insert(0) += 1;
        }
        ModelInfo {
            name: s("general.name"),
            context_length: u("context_length"),
            layers: u("block_count"),
            hidden_size: u("embedding_length"),
            heads: u("attention.head_count"),
            kv_heads: u("attention.head_count_kv"),
            vocab_size: ct
                .metadata
                .get("tokenizer.ggml.tokens")
                .and_then(|v| v.to_vec().ok())
                .map_or(0, Vec::len),
            architecture: arch,
            parameters,
            tensor_types,
        }
    }
}
