//! Logit parity of the decoder with Hugging Face `transformers` on the
//! embedded model (both dequantise the same GGUF to f32): the last
//! position's logits and the greedy continuation of fixed prompts
//! (fixtures from scripts/reference/logits.py).

use candle_core::Device;
mod common;

use glrl_model::llama::{greedy, Llama};
use glrl_model::KvCache;
use std::path::PathBuf;

#[derive(serde::Deserialize)]
struct Case {
    ids: Vec<u32>,
    logits_file: String,
    greedy: Vec<u32>,
}

#[derive(serde::Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[test]
fn logits_and_greedy_continuation_match_transformers() {
    let Some(path) = common::embedded() else {
        return;
    };
    let model = Llama::from_gguf_file(&path, &Device::Cpu).unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let fx: Fixture =
        serde_json::from_str(&std::fs::read_to_string(dir.join("logits.json")).unwrap()).unwrap();
    for (i, c) in fx.cases.iter().enumerate() {
        let reference = common::read_f32(&dir.join(&c.logits_file));
        let mut cache = KvCache::default();
        let logits = model.forward(&c.ids, &mut cache).unwrap();
        let last: Vec<f32> = logits.get(c.ids.len() - 1).unwrap().to_vec1().unwrap();
        assert_eq!(last.len(), reference.len());
        let max_delta = common::max_abs_delta(&last, &reference);
        println!(
            "case {i}: max |Δlogit| = {max_delta:.5} over {} logits",
            last.len()
        );
        assert!(max_delta < 1e-2, "case {i}: max |Δlogit| {max_delta}");
        let ours = greedy(&model, &c.ids, c.greedy.len(), None).unwrap();
        assert_eq!(ours, c.greedy, "case {i}: greedy continuation differs");
    }
}
