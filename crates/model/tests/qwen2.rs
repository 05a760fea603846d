//! The Qwen2 path proven without a 7B download: a small randomly
//! initialised Qwen2 checkpoint made by `transformers`
//! (scripts/reference/tiny_qwen2.py: config.json, tokenizer.json, three
//! safetensors shards with an index) loads here and matches the reference
//! ids, every position's logits and the greedy continuation; a LoRA
//! adapter saved by Python PEFT loads and matches the adapted logits.

mod common;

use candle_core::Device;
use glrl_model::llama::greedy;
use glrl_model::tokenizer::Tokenizer;
use glrl_model::{KvCache, Llama, LoraAdapter, WeightFormat};
use std::path::PathBuf;

#[derive(serde::Deserialize)]
struct Case {
    text: String,
    ids: Vec<u32>,
    logits_file: String,
    greedy: Vec<u32>,
}

#[derive(serde::Deserialize)]
struct Reference {
    base: Vec<Case>,
    lora: Vec<Case>,
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/qwen2-tiny")
}

fn reference() -> Reference {
    serde_json::from_str(&std::fs::read_to_string(dir().join("reference.json")).unwrap()).unwrap()
}

fn read_f32(name: &str) -> Vec<f32> {
    common::read_f32(&dir().join(name))
}

/// Max |Δ| over every position's logits, and the greedy continuation.
fn compare(model: &Llama, cases: &[Case]) -> f32 {
    let mut worst = 0f32;
    for c in cases {
        let logits = model.forward(&c.ids, &mut KvCache::default()).unwrap();
        let ours: Vec<f32> = logits.flatten_all().unwrap().to_vec1().unwrap();
        let d = common::max_abs_delta(&ours, &read_f32(&c.logits_file));
        worst = worst.max(d);
        assert_eq!(
            greedy(model, &c.ids, c.greedy.len(), None).unwrap(),
            c.greedy,
            "{:?}",
            c.text
        );
    }
    worst
}

#[test]
fn tokenizer_json_gives_the_reference_ids() {
    let tok = Tokenizer::from_json_file(&dir().join("tokenizer.json")).unwrap();
    for c in reference().base {
        assert_eq!(tok.encode(&c.text).unwrap(), c.ids, "{:?}", c.text);
    }
    assert_eq!(tok.eos_id(), tok.token_id("<|im_end|>"));
}

#[test]
fn sharded_safetensors_qwen2_matches_transformers() {
    let model = Llama::from_safetensors_dir(&dir(), &Device::Cpu, WeightFormat::F32).unwrap();
    assert_eq!(model.config.architecture, "qwen2");
    assert!(model.config.qkv_bias && !model.config.tie_embeddings);
    let d = compare(&model, &reference().base);
    eprintln!("qwen2-tiny max |Δlogit| = {d:e}");
    assert!(d < 1e-4, "max |Δlogit| {d}");
}

#[test]
fn a_peft_adapter_made_in_python_gives_the_same_logits() {
    let mut model = Llama::from_safetensors_dir(&dir(), &Device::Cpu, WeightFormat::F32).unwrap();
    let adapter =
        LoraAdapter::load_peft(&dir().join("peft_adapter"), &model.config, &Device::Cpu).unwrap();
    assert_eq!((adapter.config.r, adapter.config.alpha), (4, 8.0));
    assert_eq!(adapter.config.targets.len(), 7);
    model.add_adapter("peft", adapter).unwrap();
    model.set_default_adapter(Some("peft")).unwrap();
    let d = compare(&model, &reference().lora);
    eprintln!("qwen2-tiny + PEFT LoRA max |Δlogit| = {d:e}");
    assert!(d < 1e-4, "max |Δlogit| {d}");
}

#[test]
fn broken_checkpoints_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let err = Llama::from_safetensors_dir(tmp.path(), &Device::Cpu, WeightFormat::F32)
        .err()
        .unwrap();
    assert!(err.to_string().contains("config.json"), "{err}");
    std::fs::copy(dir().join("config.json"), tmp.path().join("config.json")).unwrap();
    std::fs::copy(
        dir().join("model.safetensors.index.json"),
        tmp.path().join("model.safetensors.index.json"),
    )
    .unwrap();
    let err = Llama::from_safetensors_dir(tmp.path(), &Device::Cpu, WeightFormat::F32)
        .err()
        .unwrap();
    assert!(err.to_string().contains("shard"), "{err}");
}

/// An adapter written here reloads to the same logits. With
/// `GLRL_PEFT_EXPORT=DIR` the adapter and its logits are also written to DIR
/// for scripts/reference/peft_check.py, which loads them in Python PEFT.
#[test]
fn a_glrl_adapter_round_trips_and_exports_for_peft() {
    use candle_core::{DType, Tensor};
    let mut model = Llama::from_safetensors_dir(&dir(), &Device::Cpu, WeightFormat::F32).unwrap();
    let cfg = glrl_model::LoraConfig {
        r: 8,
        alpha: 16.0,
        dropout: 0.0,
        ..Default::default()
    };
    let adapter = LoraAdapter::new(&model.config, cfg, 42, &Device::Cpu).unwrap();
    for p in adapter.pairs.values() {
        p.b.set(&Tensor::randn(0f32, 0.05, p.b.dims(), &Device::Cpu).unwrap())
            .unwrap();
    }
    let out = std::env::var_os("GLRL_PEFT_EXPORT").map(PathBuf::from);
    let tmp = tempfile::tempdir().unwrap();
    let save_dir = out.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    adapter
        .save_peft(&save_dir, "qwen2-tiny", DType::F32)
        .unwrap();
    model.add_adapter("glrl", adapter).unwrap();
    model.set_default_adapter(Some("glrl")).unwrap();
    let ids = &reference().base[0].ids;
    let before = model.forward(ids, &mut KvCache::default()).unwrap();
    let reloaded = LoraAdapter::load_peft(&save_dir, &model.config, &Device::Cpu).unwrap();
    model.add_adapter("glrl", reloaded).unwrap();
    let after = model.forward(ids, &mut KvCache::default()).unwrap();
    let d = common::max_diff(&before, &after);
    assert_eq!(d, 0.0);
    if let Some(out) = out {
        let v: Vec<f32> = before.flatten_all().unwrap().to_vec1().unwrap();
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        std::fs::write(out.join("glrl_logits.f32"), bytes).unwrap();
        std::fs::write(
            out.join("glrl_ids.json"),
            serde_json::to_string(ids).unwrap(),
        )
        .unwrap();
    }
}
