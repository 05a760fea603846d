//! GRPO on a tiny random model with a reward it can learn (even token
//! ids): the reward rises, metrics and checkpoints are written, and a run
//! resumed from a checkpoint ends exactly where an uninterrupted one does.

use candle_core::Device;
use glrl_model::{Config, Llama, LoraConfig};
use glrl_trainer::data::{Example, Tokenized};
use glrl_trainer::grpo::{train_grpo, GrpoConfig, GrpoData, GrpoLog, Scored, POLICY};

fn model() -> Llama {
    Llama::random(Config::tiny(128), 5, &Device::Cpu).unwrap()
}

fn data() -> Tokenized {
    Tokenized {
        prefix: (70..80).collect(),
        examples: (0..4u32)
            .map(|i| Example {
                id: format!("q{i}"),
                prompt: vec![10 + i, 20 + i],
                target: Vec::new(),
            })
            .collect(),
    }
}

/// Token ids as characters, so the reward can read them back.
fn decode(t: &[u32]) -> String {
    t.iter()
        .filter_map(|&x| char::from_u32(0x100 + x))
        .collect()
}

fn even_share(_: &str, text: &str) -> Scored {
    let ids: Vec<u32> = text
        .trim_start_matches("<think>")
        .chars()
        .map(|c| c as u32 - 0x100)
        .collect();
    let share = ids.iter().filter(|&&x| x % 2 == 0).count() as f64 / ids.len().max(1) as f64;
    Scored {
        total: share,
        components: vec![("even".into(), share)],
        correct: share > 0.99,
    }
}

fn cfg(steps: usize, max_steps: Option<usize>, fold_sampler: bool) -> GrpoConfig {
    GrpoConfig {
        max_steps,
        fold_sampler,
        lr: 2e-2,
        kl_coef: 0.01,
        group_size: 6,
        steps,
        questions_per_step: 2,
        temperature: 1.0,
        max_new_tokens: 6,
        checkpoint_every: 2,
        // Groups of 6 scored 4 and 2 rows at a time: padded rows of
        // different lengths in one pass.
        rows_per_pass: 4,
        lora: LoraConfig {
            r: 8,
            alpha: 16.0,
            dropout: 0.0,
            ..LoraConfig::default()
        },
        ..GrpoConfig::default()
    }
}

fn run(
    steps: usize,
    max_steps: Option<usize>,
    out: &std::path::Path,
    resume: bool,
    fold_sampler: bool,
) -> (Llama, Vec<GrpoLog>) {
    run_with(&cfg(steps, max_steps, fold_sampler), out, resume)
}

fn run_with(cfg: &GrpoConfig, out: &std::path::Path, resume: bool) -> (Llama, Vec<GrpoLog>) {
    let mut m = model();
    let d = data();
    let gd = GrpoData {
        data: &d,
        think: vec![3],
        constraint: None,
        stop_tokens: vec![1],
        decode: &decode,
    };
    let mut logs = Vec::new();
    train_grpo(
        &mut m,
        &gd,
        None,
        cfg,
        out,
        resume,
        "tiny",
        &mut even_share,
        &mut |l| logs.push(l.clone()),
    )
    .unwrap();
    (m, logs)
}

fn assert_reward_rises(logs: &[GrpoLog]) {
    assert_eq!(logs.len(), 16);
    let early: f64 = logs[..4].iter().map(|l| l.reward_mean).sum::<f64>() / 4.0;
    let late: f64 = logs[12..].iter().map(|l| l.reward_mean).sum::<f64>() / 4.0;
    assert!(late > early + 0.1, "reward {early:.3} -> {late:.3}");
}

/// The default samples from a Q8_0 copy with the policy folded in,
/// refreshed each step (the tiny model's projections are whole Q8_0
/// blocks, so the copy is quantised).
#[test]
fn reward_rises_and_resume_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let (m, logs) = run(16, None, dir.path(), false, true);
    assert_reward_rises(&logs);
    assert!(logs.iter().all(|l| l.kl >= 0.0 && l.length > 0.0));
    assert!(dir
        .path()
        .join("checkpoint-16/adapter_model.safetensors")
        .exists());
    assert!(dir
        .path()
        .join("adapter/adapter_model.safetensors")
        .exists());
    let lines = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 16);

    // 4 steps straight versus 2, stop, resume to 4.
    let a = tempfile::tempdir().unwrap();
    let (straight, _) = run(4, None, a.path(), false, true);
    let b = tempfile::tempdir().unwrap();
    run(4, Some(2), b.path(), false, true);
    let (resumed, logs) = run(4, None, b.path(), true, true);
    assert_eq!(logs.first().map(|l| l.step), Some(3));
    let wa = straight.adapter(POLICY).unwrap().vars();
    let wb = resumed.adapter(POLICY).unwrap().vars();
    for (x, y) in wa.iter().zip(&wb) {
        let d: f32 = (x.as_tensor() - y.as_tensor())
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar()
            .unwrap();
        assert!(d < 1e-6, "resumed weights differ by {d}");
    }
    drop(m);
}

/// The training model sampling itself (dense, adapter applied per token)
/// learns the same reward.
#[test]
fn reward_rises_sampling_from_the_training_model() {
    let dir = tempfile::tempdir().unwrap();
    let (_, logs) = run(16, None, dir.path(), false, false);
    assert_reward_rises(&logs);
}

/// Advantages centred only (Dr. GRPO): the reward still rises.
#[test]
fn reward_rises_with_centred_advantages() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = GrpoConfig {
        scale_advantages: false,
        ..cfg(16, None, true)
    };
    let (_, logs) = run_with(&cfg, dir.path(), false);
    assert_reward_rises(&logs);
}
