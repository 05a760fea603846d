//! The decoder, LoRA and batched generation on a tiny randomly initialised
//! Qwen2-shaped model (no download): batching, the KV cache and the prefix
//! cache change nothing but speed; LoRA starts as the identity, merges
//! exactly, round-trips through PEFT's format and trains only A and B.

mod common;

use candle_core::{DType, Device, Tensor, Var};
use common::max_diff;
use glrl_model::generate::{
    generate, generate_cached, AdapterChoice, Candidate, GenerateOptions, LogitsProcessor,
    NoProcessor, PrefixCache,
};
use glrl_model::{Config, KvCache, Llama, LoraAdapter, LoraConfig, Pass, Target};

const VOCAB: usize = 300;

fn tiny() -> Llama {
    Llama::random(Config::tiny(VOCAB), 7, &Device::Cpu).unwrap()
}

fn ids(rows: &[&[u32]]) -> Tensor {
    let t = rows[0].len();
    let flat: Vec<u32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_vec(flat, (rows.len(), t), &Device::Cpu).unwrap()
}

#[test]
fn batch_rows_and_cached_decoding_equal_single_full_passes() {
    let m = tiny();
    let a: &[u32] = &[1, 5, 9, 33, 120, 7];
    let b: &[u32] = &[250, 4, 4, 18, 2, 99];
    let both = m
        .forward_batch(&ids(&[a, b]), &mut KvCache::default(), Pass::all())
        .unwrap();
    for (row, seq) in [a, b].iter().enumerate() {
        let single = m.forward(seq, &mut KvCache::default()).unwrap();
        assert!(max_diff(&both.get(row).unwrap(), &single) < 1e-5);
    }
    // Prompt in one chunk then token by token = one full pass.
    let full = m.forward(a, &mut KvCache::default()).unwrap();
    let mut cache = KvCache::default();
    m.forward(&a[..3], &mut cache).unwrap();
    for (i, &t) in a[3..].iter().enumerate() {
        let step = m.forward(&[t], &mut cache).unwrap();
        assert!(max_diff(&step.get(0).unwrap(), &full.get(3 + i).unwrap()) < 1e-5);
    }
    assert_eq!(cache.len(), a.len());
    // Last-position logits are the last row of the full ones.
    let last = m
        .forward_batch(&ids(&[a]), &mut KvCache::default(), Pass::last())
        .unwrap();
    assert_eq!(last.dims(), &[1, 1, VOCAB]);
    assert!(max_diff(&last.flatten_all().unwrap(), &full.get(5).unwrap()) < 1e-5);
}

#[test]
fn chunked_fused_inference_equals_the_differentiable_pass() {
    // 700 positions: inference runs two prefill chunks with the fused
    // kernels; the gradient pass runs one chunk with composed ops.
    let m = tiny();
    let seq: Vec<u32> = (0..700).map(|i| (i * 37 % VOCAB) as u32).collect();
    let t = ids(&[&seq]);
    let fast = m
        .forward_batch(&t, &mut KvCache::default(), Pass::all())
        .unwrap();
    let grad = Pass {
        grad: true,
        ..Pass::all()
    };
    let slow = m
        .forward_batch(&t, &mut KvCache::differentiable(), grad)
        .unwrap();
    assert_eq!(fast.dims(), &[1, 700, VOCAB]);
    assert!(max_diff(&fast, &slow) < 1e-4, "{}", max_diff(&fast, &slow));
    let last = m
        .forward_batch(&t, &mut KvCache::default(), Pass::last())
        .unwrap();
    assert!(
        max_diff(
            &last.squeeze(0).unwrap(),
            &fast.get(0).unwrap().narrow(0, 699, 1).unwrap()
        ) < 1e-5
    );
}

#[test]
fn context_overflow_is_an_error() {
    let m = tiny();
    let long = vec![1u32; Config::tiny(VOCAB).context + 1];
    let err = m.forward(&long, &mut KvCache::default()).unwrap_err();
    assert!(err.to_string().contains("context"), "{err}");
}

#[test]
fn q8_weights_stay_close_to_f32() {
    let mut m = tiny();
    let seq: &[u32] = &[3, 17, 42, 8];
    let dense = m.forward(seq, &mut KvCache::default()).unwrap();
    m.requantize_q8().unwrap();
    let q = m.forward(seq, &mut KvCache::default()).unwrap();
    let d = max_diff(&dense, &q);
    assert!(d > 0.0 && d < 1e-2, "{d}");
}

/// B is zero at init; give it values so the adapter does something.
fn randomise_b(a: &LoraAdapter) {
    for p in a.pairs.values() {
        let t = Tensor::randn(0f32, 0.05, p.b.dims(), &Device::Cpu).unwrap();
        p.b.set(&t).unwrap();
    }
}

#[test]
fn lora_starts_as_identity_merges_exactly_and_can_be_disabled() {
    let mut m = tiny();
    let seq: &[u32] = &[11, 12, 13, 14, 15];
    let base = m.forward(seq, &mut KvCache::default()).unwrap();
    let ad = LoraAdapter::new(&m.config, LoraConfig::default(), 1, &Device::Cpu).unwrap();
    assert_eq!(ad.trainable_parameters(), lora_params(&m.config, 32));
    assert_eq!(
        ad.trainable_parameters(),
        LoraConfig::default().parameters(&m.config)
    );
    m.add_adapter("sql", ad).unwrap();
    m.set_default_adapter(Some("sql")).unwrap();
    let fresh = m.forward(seq, &mut KvCache::default()).unwrap();
    assert_eq!(max_diff(&base, &fresh), 0.0, "B = 0 at init");
    randomise_b(m.adapter("sql").unwrap());
    let adapted = m.forward(seq, &mut KvCache::default()).unwrap();
    assert!(
        max_diff(&base, &adapted) > 1e-3,
        "the adapter changes the output"
    );
    // Disabled: the base model again (GRPO's reference policy).
    let t = ids(&[seq]);
    let disabled = m
        .forward_batch(&t, &mut KvCache::default(), Pass::all())
        .unwrap();
    assert_eq!(max_diff(&base, &disabled.squeeze(0).unwrap()), 0.0);
    m.merge_adapter("sql").unwrap();
    assert!(m.adapter_names().is_empty() && m.default_adapter().is_none());
    let merged = m.forward(seq, &mut KvCache::default()).unwrap();
    assert!(max_diff(&adapted, &merged) < 1e-4);
}

fn lora_params(c: &Config, r: usize) -> u64 {
    Target::ALL
        .iter()
        .map(|t| {
            let (o, i) = t.shape(c);
            (r * (o + i)) as u64
        })
        .sum::<u64>()
        * c.layers as u64
}

#[test]
fn several_adapters_one_per_request() {
    let mut m = tiny();
    for name in ["a", "b"] {
        let ad = LoraAdapter::new(&m.config, LoraConfig::default(), 2, &Device::Cpu).unwrap();
        m.add_adapter(name, ad).unwrap();
    }
    randomise_b(m.adapter("a").unwrap());
    let seq = ids(&[&[1, 2, 3]]);
    let run = |name: Option<&str>| {
        let pass = Pass {
            adapter: name,
            ..Pass::all()
        };
        m.forward_batch(&seq, &mut KvCache::default(), pass)
            .unwrap()
    };
    assert!(max_diff(&run(Some("a")), &run(Some("b"))) > 1e-3);
    assert_eq!(max_diff(&run(Some("b")), &run(None)), 0.0);
    assert!(m.set_default_adapter(Some("zzz")).is_err());
    let pass = Pass {
        adapter: Some("zzz"),
        ..Pass::all()
    };
    assert!(m
        .forward_batch(&seq, &mut KvCache::default(), pass)
        .is_err());
}

#[test]
fn peft_format_round_trip() {
    let mut m = tiny();
    let cfg = LoraConfig {
        r: 8,
        alpha: 16.0,
        dropout: 0.05,
        targets: vec![Target::Q, Target::V, Target::Down],
    };
    let ad = LoraAdapter::new(&m.config, cfg.clone(), 4, &Device::Cpu).unwrap();
    randomise_b(&ad);
    let dir = tempfile::tempdir().unwrap();
    ad.save_peft(dir.path(), "tiny", DType::F32).unwrap();
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("adapter_config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["peft_type"], "LORA");
    assert_eq!(
        json["target_modules"],
        serde_json::json!(["q_proj", "v_proj", "down_proj"])
    );
    let names =
        candle_core::safetensors::load(dir.path().join("adapter_model.safetensors"), &Device::Cpu)
            .unwrap();
    assert!(names.contains_key("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"));
    assert_eq!(names.len(), 2 * 3 * m.config.layers);
    let back = LoraAdapter::load_peft(dir.path(), &m.config, &Device::Cpu).unwrap();
    assert_eq!(back.config, cfg);
    for (k, p) in &ad.pairs {
        let q = &back.pairs[k];
        assert_eq!(max_diff(p.a.as_tensor(), q.a.as_tensor()), 0.0);
        assert_eq!(max_diff(p.b.as_tensor(), q.b.as_tensor()), 0.0);
    }
    m.add_adapter("x", back).unwrap();
    // An adapter for another shape is refused with a message, not a panic.
    let other = Config {
        hidden: 32,
        heads: 2,
        kv_heads: 1,
        ..Config::tiny(VOCAB)
    };
    let err = LoraAdapter::load_peft(dir.path(), &other, &Device::Cpu)
        .err()
        .unwrap();
    assert!(err.to_string().contains("shape"), "{err}");
    let err = LoraAdapter::load_peft(&dir.path().join("nope"), &m.config, &Device::Cpu)
        .err()
        .unwrap();
    assert!(err.to_string().contains("adapter_config.json"), "{err}");
}

#[test]
fn gradients_reach_lora_only() {
    let mut m = tiny();
    let ad = LoraAdapter::new(&m.config, LoraConfig::default(), 9, &Device::Cpu).unwrap();
    randomise_b(&ad);
    let vars: Vec<Var> = ad.vars();
    m.add_adapter("t", ad).unwrap();
    m.seed_dropout(1);
    let seq = ids(&[&[5, 6, 7, 8]]);
    let pass = Pass {
        adapter: Some("t"),
        train: true,
        grad: true,
        ..Pass::all()
    };
    let logits = m
        .forward_batch(&seq, &mut KvCache::differentiable(), pass)
        .unwrap();
    let loss = logits.sqr().unwrap().mean_all().unwrap();
    let grads = loss.backward().unwrap();
    for v in &vars {
        let g = grads
            .get(v.as_tensor())
            .expect("a gradient for every LoRA matrix");
        assert!(
            g.abs()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
                > 0.0
        );
    }
    // Dropout is on in training and off otherwise.
    let a = m
        .forward_batch(&seq, &mut KvCache::default(), pass)
        .unwrap();
    let b = m
        .forward_batch(&seq, &mut KvCache::default(), pass)
        .unwrap();
    assert!(max_diff(&a, &b) > 0.0);
    let eval = Pass {
        train: false,
        ..pass
    };
    let c = m
        .forward_batch(&seq, &mut KvCache::default(), eval)
        .unwrap();
    let d = m
        .forward_batch(&seq, &mut KvCache::default(), eval)
        .unwrap();
    assert_eq!(max_diff(&c, &d), 0.0);
}

#[test]
fn batched_candidates_equal_sequential_ones() {
    let m = tiny();
    let prompt: Vec<u32> = (1..40).collect();
    let opts = GenerateOptions {
        max_new_tokens: 12,
        temperature: 0.9,
        top_k: 40,
        seed: 11,
        n: 4,
        stop_tokens: vec![7],
        ..GenerateOptions::default()
    };
    let batched = each_candidate_as_if_alone(&m, &prompt, &opts, &|| Box::new(NoProcessor));
    assert_eq!(batched.len(), 4);
}

/// Generates `opts.n` candidates in one batch and checks that each is the
/// candidate generated alone with its own seed (`seed + index`).
fn each_candidate_as_if_alone(
    m: &Llama,
    prompt: &[u32],
    opts: &GenerateOptions,
    processor: &dyn Fn() -> Box<dyn LogitsProcessor>,
) -> Vec<Candidate> {
    let batched = generate(m, prompt, opts, &mut *processor(), &mut |_, _| {}).unwrap();
    for (c, cand) in batched.iter().enumerate() {
        let one = GenerateOptions {
            n: 1,
            seed: opts.seed + c as u64,
            ..opts.clone()
        };
        let alone = generate(m, prompt, &one, &mut *processor(), &mut |_, _| {}).unwrap();
        assert_eq!(alone[0].tokens, cand.tokens, "candidate {c}");
        assert_eq!(alone[0].finish, cand.finish);
        for (x, y) in alone[0].logprobs.iter().zip(&cand.logprobs) {
            assert!((x - y).abs() < 1e-4);
        }
    }
    batched
}

/// All candidates write the same four tokens, then choose between two
/// equally likely ones twice, then go free: candidates share batch rows
/// and split them.
struct Funnel;

impl LogitsProcessor for Funnel {
    fn process(&mut self, _: usize, generated: &[u32], logits: &mut [f32]) {
        let only: &[u32] = match generated.len() {
            0..4 => &[50 + generated.len() as u32],
            4..6 => &[100, 101],
            _ => return,
        };
        for (i, l) in logits.iter_mut().enumerate() {
            *l = if only.contains(&(i as u32)) {
                0.0
            } else {
                f32::NEG_INFINITY
            };
        }
    }
}

#[test]
fn candidates_sharing_rows_equal_candidates_alone() {
    let m = tiny();
    let prompt: Vec<u32> = (1..30).collect();
    let opts = GenerateOptions {
        max_new_tokens: 14,
        temperature: 0.9,
        seed: 21,
        n: 5,
        stop_tokens: vec![7],
        ..GenerateOptions::default()
    };
    let batched = each_candidate_as_if_alone(&m, &prompt, &opts, &|| Box::new(Funnel));
    let forks: std::collections::BTreeSet<&[u32]> =
        batched.iter().map(|c| &c.tokens[..6]).collect();
    assert!(
        forks.len() > 1 && forks.len() < 5,
        "rows both shared and split: {forks:?}"
    );
    assert!(batched.iter().all(|c| c.tokens[..4] == [50, 51, 52, 53]));
}

#[test]
fn shared_and_copied_prompt_positions_decode_alike() {
    // The CPU shares the prompt's positions among candidates; other
    // devices copy them per candidate. Both must continue the same way,
    // token by token, several tokens at once, and after rows leave.
    let m = tiny();
    let prompt: Vec<u32> = (1..25).collect();
    let mut single = KvCache::default();
    m.forward(&prompt, &mut single).unwrap();
    let mut shared = single.expand(3).unwrap();
    let mut copied = single.expand_copied(3).unwrap();
    assert_eq!(shared.len(), prompt.len());
    assert_eq!(copied.len(), prompt.len());
    let steps: [&[&[u32]]; 3] = [
        &[&[4], &[90], &[201]],
        &[&[8], &[9], &[10]],
        &[&[3, 5], &[6, 7], &[11, 12]],
    ];
    // Where the CPU kernel reads the shared positions in f16 (its AVX2
    // copy) they are rounded, and the logits differ by that much more.
    let probe = Tensor::zeros((1, 1, 1, 1), DType::F32, &Device::Cpu).unwrap();
    let halved = glrl_model::attention::decode_values(&probe)
        .unwrap()
        .dtype()
        == DType::F16;
    let tolerance = if halved { 2e-4 } else { 1e-5 };
    // Runs one pass over both caches and holds their logits together.
    let step = |shared: &mut KvCache, copied: &mut KvCache, rows: &[&[u32]]| {
        let a = m.forward_batch(&ids(rows), shared, Pass::all()).unwrap();
        let b = m.forward_batch(&ids(rows), copied, Pass::all()).unwrap();
        assert!(max_diff(&a, &b) < tolerance, "{}", max_diff(&a, &b));
        a
    };
    for rows in steps {
        step(&mut shared, &mut copied, rows);
    }
    shared.select(&[0, 2]).unwrap();
    copied.select(&[0, 2]).unwrap();
    let a = step(&mut shared, &mut copied, &[&[77], &[78]]);
    // The first row still continues the prompt as a lone sequence does.
    let mut again = single.deep_clone().unwrap();
    let full = m.forward(&[4, 8, 3, 5, 77], &mut again).unwrap();
    assert!(
        max_diff(
            &a.get(0).unwrap().squeeze(0).unwrap(),
            &full.get(4).unwrap()
        ) < tolerance
    );
    assert!(single.expand(0).is_err());
    assert!(
        shared.expand(2).is_err(),
        "a two-row cache cannot be expanded"
    );
}

#[test]
fn greedy_first_makes_candidate_zero_the_greedy_decode() {
    let m = tiny();
    let prompt: Vec<u32> = (1..30).collect();
    let sampled = GenerateOptions {
        max_new_tokens: 10,
        temperature: 1.5,
        seed: 5,
        n: 3,
        greedy_first: true,
        ..GenerateOptions::default()
    };
    let out = generate(&m, &prompt, &sampled, &mut NoProcessor, &mut |_, _| {}).unwrap();
    let greedy = GenerateOptions {
        temperature: 0.0,
        n: 1,
        greedy_first: false,
        ..sampled.clone()
    };
    let g = generate(&m, &prompt, &greedy, &mut NoProcessor, &mut |_, _| {}).unwrap();
    assert_eq!(out[0].tokens, g[0].tokens);
    // The others still sample (at this temperature they leave the greedy path).
    assert!(out[1..].iter().any(|c| c.tokens != g[0].tokens));
}

#[test]
fn prefix_cache_reuses_the_shared_prefix() {
    let m = tiny();
    let pc = PrefixCache::new(4);
    let opts = GenerateOptions {
        max_new_tokens: 6,
        n: 2,
        temperature: 0.7,
        seed: 3,
        adapter: AdapterChoice::Base,
        ..GenerateOptions::default()
    };
    let prefix: Vec<u32> = (10..60).collect();
    for question in [[61u32, 62, 63], [70, 71, 72]] {
        let prompt: Vec<u32> = prefix.iter().chain(question.iter()).copied().collect();
        let plain = generate(&m, &prompt, &opts, &mut NoProcessor, &mut |_, _| {}).unwrap();
        let cached = generate_cached(
            &m,
            &prompt,
            &opts,
            Some((&pc, prefix.len())),
            &mut NoProcessor,
            &mut |_, _| {},
        )
        .unwrap();
        for (p, c) in plain.iter().zip(&cached) {
            assert_eq!(p.tokens, c.tokens);
            for (x, y) in p.logprobs.iter().zip(&c.logprobs) {
                assert!((x - y).abs() < 1e-4);
            }
        }
    }
    assert_eq!(pc.len(), 1, "one prefix, stored once, hit the second time");
}
