//! SFT on a tiny random Qwen2-shaped model: the shared-prefix loss equals
//! the full forward's, training (LoRA or full) lowers the loss, and a run
//! interrupted at a checkpoint and resumed ends exactly where an
//! uninterrupted one does.

use candle_core::{Device, Tensor};
use glrl_model::{Config, KvCache, Llama, Logits, LoraAdapter, LoraConfig, Pass};
use glrl_trainer::data::{Example, Tokenized};
use glrl_trainer::loss::{
    batch_loss, completion_nll, cross_entropy_sum, example_loss, focal_batch_loss, focal_weights,
    prefix_cache,
};
use glrl_trainer::sft::{train_sft, Full, SftConfig, ADAPTER};

fn model() -> Llama {
    Llama::random(Config::tiny(128), 3, &Device::Cpu).unwrap()
}

fn data() -> Tokenized {
    let examples = (0..6u32)
        .map(|i| Example {
            id: format!("e{i}"),
            prompt: vec![10 + i, 20 + i, 30],
            target: vec![40 + i, 50 + i, 60 + i, 2],
        })
        .collect();
    Tokenized {
        prefix: (70..90).collect(),
        examples,
    }
}

#[test]
fn shared_prefix_loss_equals_the_full_forward() {
    let (m, _) = model_with_adapter();
    let d = data();
    let batch: Vec<&Example> = d.examples.iter().take(3).collect();
    let prefix = prefix_cache(&m, Some("a"), &d.prefix).unwrap();
    let (mut shared, mut n) = (0f32, 0);
    for ex in &batch {
        let (l, k) = example_loss(&m, Some("a"), &prefix, ex, false).unwrap();
        shared += l.to_scalar::<f32>().unwrap();
        n += k;
    }
    let mut full = 0f32;
    for ex in &batch {
        let seq: Vec<u32> = d
            .prefix
            .iter()
            .chain(&ex.prompt)
            .chain(&ex.target)
            .copied()
            .collect();
        let input = Tensor::new(&seq[..seq.len() - 1], &Device::Cpu)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let pass = Pass {
            logits: Logits::All,
            adapter: Some("a"),
            train: false,
            grad: true,
        };
        let logits = m
            .forward_batch(&input, &mut KvCache::differentiable(), pass)
            .unwrap()
            .squeeze(0)
            .unwrap();
        let logits = logits
            .narrow(0, seq.len() - 1 - ex.target.len(), ex.target.len())
            .unwrap();
        full += cross_entropy_sum(&logits, &ex.target)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
    }
    assert_eq!(n, 12);
    assert!(
        (shared - full).abs() < 1e-4 * full.abs(),
        "{shared} vs {full}"
    );
}

/// A model with adapter "a" whose B matrices are non-zero (a fresh LoRA
/// changes nothing) and no dropout, so passes are comparable.
fn model_with_adapter() -> (Llama, Vec<candle_core::Var>) {
    let mut m = model();
    let ad = LoraAdapter::new(
        &m.config,
        LoraConfig {
            dropout: 0.0,
            ..Default::default()
        },
        1,
        &Device::Cpu,
    )
    .unwrap();
    for p in ad.pairs.values() {
        p.b.set(&Tensor::randn(0f32, 0.05, p.b.dims(), &Device::Cpu).unwrap())
            .unwrap();
    }
    let vars = ad.vars();
    m.add_adapter("a", ad).unwrap();
    (m, vars)
}

fn ex(prompt: &[u32], target: &[u32]) -> Example {
    Example {
        id: String::new(),
        prompt: prompt.to_vec(),
        target: target.to_vec(),
    }
}

#[test]
fn one_pass_over_padded_rows_gives_each_examples_loss_and_gradient() {
    let (m, vars) = model_with_adapter();
    // Lengths differ in both parts, so rows are padded by different amounts.
    let examples = [
        ex(&[10, 11], &[40, 41, 42, 2]),
        ex(&[12, 13, 14, 15, 16], &[43]),
        ex(&[17, 18, 19], &[44, 45, 46, 47, 48, 2]),
    ];
    let batch: Vec<&Example> = examples.iter().collect();
    let prefix = prefix_cache(&m, Some("a"), &data().prefix).unwrap();
    let grads_of = |loss: &Tensor| -> Vec<Vec<f32>> {
        let g = loss.backward().unwrap();
        vars.iter()
            .map(|v| {
                g.get(v.as_tensor())
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1()
                    .unwrap()
            })
            .collect()
    };
    let (mut one_by_one, mut n) = (0f32, 0);
    let mut expected: Vec<Vec<f32>> = Vec::new();
    for e in &batch {
        let (l, k) = example_loss(&m, Some("a"), &prefix, e, false).unwrap();
        one_by_one += l.to_scalar::<f32>().unwrap();
        n += k;
        let g = grads_of(&l);
        if expected.is_empty() {
            expected = g;
        } else {
            for (a, b) in expected.iter_mut().zip(g) {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
            }
        }
    }
    let (l, k) = batch_loss(&m, Some("a"), &prefix, &batch, false).unwrap();
    assert_eq!((k, n), (11, 11));
    let together = l.to_scalar::<f32>().unwrap();
    assert!(
        (together - one_by_one).abs() < 1e-4 * one_by_one.abs(),
        "{together} vs {one_by_one}"
    );
    let got = grads_of(&l);
    let scale = expected.iter().flatten().fold(0f32, |m, x| m.max(x.abs()));
    assert!(scale > 0.0);
    for (a, b) in expected.iter().zip(&got) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-4 * scale, "gradient {y} vs {x}");
        }
    }
}

/// The focal loss: γ = 0 is the plain loss itself; with γ > 0 the log
/// keeps the plain NLL while backward gets each token's NLL weighted by
/// (1 − p)^γ, the weights summing to the token count, a harder token
/// weighing more.
#[test]
fn focal_loss_weighs_uncertain_tokens_and_logs_the_plain_nll() {
    let w = focal_weights(&[0.0, 0.01, 0.7, 2.5], 2.0);
    assert!((w.iter().sum::<f32>() - 4.0).abs() < 1e-5, "{w:?}");
    assert!(w[0] == 0.0 && w[1] < w[2] && w[2] < w[3], "{w:?}");
    assert_eq!(focal_weights(&[0.3, 1.2], 0.0), vec![1.0, 1.0]);
    assert_eq!(focal_weights(&[0.0, 0.0], 2.0), vec![1.0, 1.0]);

    let (m, _) = model_with_adapter();
    let examples = [
        ex(&[10, 11], &[40, 41, 42, 2]),
        ex(&[12, 13, 14], &[43, 44]),
    ];
    let batch: Vec<&Example> = examples.iter().collect();
    let prefix = prefix_cache(&m, Some("a"), &data().prefix).unwrap();
    let (plain, n) = batch_loss(&m, Some("a"), &prefix, &batch, false).unwrap();
    let plain = f64::from(plain.to_scalar::<f32>().unwrap());
    let (l0, p0, n0) = focal_batch_loss(&m, Some("a"), &prefix, &batch, false, 0.0).unwrap();
    assert_eq!(
        (f64::from(l0.to_scalar::<f32>().unwrap()), p0, n0),
        (plain, plain, n)
    );

    let (l2, p2, n2) = focal_batch_loss(&m, Some("a"), &prefix, &batch, false, 2.0).unwrap();
    assert_eq!(n2, n);
    assert!((p2 - plain).abs() < 1e-4 * plain, "{p2} vs {plain}");
    let rows: Vec<(&[u32], &[u32])> = batch
        .iter()
        .map(|e| (&e.prompt[..], &e.target[..]))
        .collect();
    let nll: Vec<f32> = completion_nll(&m, Some("a"), false, true, &prefix, &rows)
        .unwrap()
        .to_vec1()
        .unwrap();
    let want: f32 = focal_weights(&nll, 2.0)
        .iter()
        .zip(&nll)
        .map(|(w, l)| w * l)
        .sum();
    let got = l2.to_scalar::<f32>().unwrap();
    assert!((got - want).abs() < 1e-5 * want, "{got} vs {want}");
}

fn cfg() -> SftConfig {
    SftConfig {
        lr: 3e-2,
        epochs: 10,
        batch: 2,
        grad_accum: 1,
        checkpoint_every: 5,
        lora: LoraConfig {
            r: 4,
            alpha: 8.0,
            ..Default::default()
        },
        ..SftConfig::default()
    }
}

/// A fresh model trained into `out`, and the loss of every step.
fn train(out: &std::path::Path, c: &SftConfig, resume: bool) -> (Llama, Vec<f64>) {
    let mut m = model();
    let mut losses = Vec::new();
    train_sft(&mut m, &data(), c, out, resume, "tiny", &mut |l| {
        losses.push(l.loss)
    })
    .unwrap();
    (m, losses)
}

fn run(out: &std::path::Path, c: &SftConfig, resume: bool) -> (Vec<f64>, Vec<f32>) {
    let (m, losses) = train(out, c, resume);
    let a = m.adapter(ADAPTER).unwrap();
    let w: Vec<f32> = a
        .pairs
        .values()
        .next()
        .unwrap()
        .b
        .as_tensor()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    (losses, w)
}

#[test]
fn training_lowers_the_loss_and_resume_is_exact() {
    let full_dir = tempfile::tempdir().unwrap();
    let (losses, w_full) = run(full_dir.path(), &cfg(), false);
    assert_eq!(losses.len(), 30);
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    // The random model's weak output head (σ 0.02) caps how far LoRA can
    // move its logits, so the drop is modest but must be there.
    assert!(
        mean(&losses[27..]) < 0.95 * mean(&losses[..3]),
        "{losses:?}"
    );
    assert!(full_dir
        .path()
        .join("adapter/adapter_model.safetensors")
        .exists());
    assert_eq!(
        std::fs::read_to_string(full_dir.path().join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count(),
        30
    );

    resume_is_exact(run, cfg(), &losses, &w_full, 1e-5);
}

type Run = fn(&std::path::Path, &SftConfig, bool) -> (Vec<f64>, Vec<f32>);

/// Stops a run after 5 steps (a checkpoint), resumes it to the end and
/// compares the losses and final values with an uninterrupted run's.
fn resume_is_exact(run: Run, c: SftConfig, losses: &[f64], values: &[f32], tol: f32) {
    let dir = tempfile::tempdir().unwrap();
    let first = SftConfig {
        max_steps: Some(5),
        ..c.clone()
    };
    let (l1, _) = run(dir.path(), &first, false);
    assert_eq!(l1, losses[..5].to_vec());
    let (l2, resumed) = run(dir.path(), &c, true);
    assert_eq!(l2.len(), losses.len() - 5);
    for (a, b) in l2.iter().zip(&losses[5..]) {
        assert!((a - b).abs() < 1e-5, "{l2:?} vs {losses:?}");
    }
    let d = values
        .iter()
        .zip(&resumed)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(d < tol, "{d}");
}

#[test]
fn training_can_continue_from_a_saved_adapter() {
    let first = tempfile::tempdir().unwrap();
    let (losses, w_trained) = run(first.path(), &cfg(), false);
    // With a zero learning rate the run leaves its starting point as it
    // found it: the saved (bf16) adapter, not a fresh one (whose B is 0).
    let again = SftConfig {
        lr: 0.0,
        epochs: 1,
        init: Some(first.path().join("adapter")),
        ..cfg()
    };
    let dir = tempfile::tempdir().unwrap();
    let (l, w) = run(dir.path(), &again, false);
    assert_eq!(l.len(), 3);
    assert!(w_trained.iter().any(|x| x.abs() > 1e-3));
    for (a, b) in w.iter().zip(&w_trained) {
        assert!((a - b).abs() <= 1e-2 * b.abs() + 1e-6, "{a} vs {b}");
    }
    // Same batch order and dropout as the first run's first step, but
    // starting trained: a lower loss.
    assert!(l[0] < losses[0], "{} vs {}", l[0], losses[0]);
}

fn run_full(out: &std::path::Path, c: &SftConfig, resume: bool) -> (Vec<f64>, Vec<f32>) {
    let (_, losses) = train(out, c, resume);
    let back = Llama::from_safetensors_dir(
        &out.join("model"),
        &Device::Cpu,
        glrl_model::WeightFormat::F32,
    )
    .unwrap();
    let mut cache = KvCache::default();
    let logits: Vec<f32> = back
        .forward(&[1, 2, 3], &mut cache)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    (losses, logits)
}

fn full_cfg() -> SftConfig {
    SftConfig {
        lr: 3e-3,
        full: Some(Full {
            tokenizer_json: "{}".into(),
        }),
        ..cfg()
    }
}

#[test]
fn full_fine_tuning_lowers_the_loss_saves_a_model_and_resumes_exactly() {
    let whole = tempfile::tempdir().unwrap();
    let (losses, logits) = run_full(whole.path(), &full_cfg(), false);
    assert_eq!(losses.len(), 30);
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    // Every weight moves, the output head too: far below LoRA's drop.
    assert!(mean(&losses[27..]) < 0.5 * mean(&losses[..3]), "{losses:?}");
    let model_dir = whole.path().join("model");
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        assert!(model_dir.join(f).exists(), "{f}");
    }
    assert!(!whole.path().join("adapter").exists());
    assert!(whole
        .path()
        .join("checkpoint-5/optimizer.safetensors")
        .exists());

    // The final model is saved in bf16: equal up to that rounding.
    resume_is_exact(run_full, full_cfg(), &losses, &logits, 1e-3);

    let from_adapter = SftConfig {
        init: Some(whole.path().join("model")),
        ..full_cfg()
    };
    let mut m = model();
    let err = train_sft(
        &mut m,
        &data(),
        &from_adapter,
        tempfile::tempdir().unwrap().path(),
        false,
        "tiny",
        &mut |_| {},
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.contains("full fine-tuning"), "{err}");
}
