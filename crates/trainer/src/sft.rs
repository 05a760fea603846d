//! `glrl train sft`: supervised fine-tuning of a LoRA adapter or, for
//! small models, of every weight (full fine-tuning). Deterministic under a
//! seed (data order, A's init, dropout), checkpoints every N optimizer
//! steps with the optimizer's moments, and `--resume` from the latest.

use crate::data::{Example, Tokenized};
use crate::loss::{focal_batch_loss, prefix_cache};
use crate::optim::{accumulate, clip, lr_at, AdamW};
use crate::TrainError;
use candle_core::DType;
use candle_core::Var;
use glrl_model::weights::{load_into, save_hf_checkpoint};
use glrl_model::{Llama, LoraAdapter, LoraConfig};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct SftConfig {
    /// Peak learning rate. The architecture's 2e-5 barely moves a 135M
    /// model's LoRA (shared/notes/sft-baseline.md: 2e-4 needed).
    pub lr: f64,
    pub epochs: usize,
    /// Examples per micro-batch (with grad_accum: examples per optimizer
    /// step = batch × grad_accum; all share the prefix's KV cache).
    pub batch: usize,
    pub grad_accum: usize,
    /// Examples per forward pass, their rows padded on the right to one
    /// length.
    pub rows: usize,
    pub warmup_ratio: f64,
    pub max_grad_norm: f64,
    pub weight_decay: f64,
    pub seed: u64,
    /// Optimizer steps between checkpoints (0: only at the end).
    pub checkpoint_every: usize,
    /// Stop after this many optimizer steps (time-boxed runs; resume later).
    pub max_steps: Option<usize>,
    /// LoRA settings of a fresh adapter (ignored with `init`).
    pub lora: LoraConfig,
    /// Start from this adapter (PEFT directory) instead of a fresh one:
    /// more epochs or new data on top of a trained adapter, with a new
    /// warmup and decay. Its own rank, alpha and targets apply.
    pub init: Option<PathBuf>,
    /// Full fine-tuning instead of LoRA (`lora` and `init` do not apply).
    pub full: Option<Full>,
    /// Focal weighting of the target tokens' loss (`loss::focal_batch_loss`);
    /// 0 is the plain token mean.
    pub focal_gamma: f64,
}

/// Full fine-tuning: every weight trained, the model saved as a Hugging
/// Face checkpoint directory (`OUT/model`, bf16; checkpoints in f32).
#[derive(Debug, Clone)]
pub struct Full {
    /// Written as `tokenizer.json` into every saved model directory, so
    /// each loads on its own.
    pub tokenizer_json: String,
}

impl Default for SftConfig {
    fn default() -> Self {
        SftConfig {
            lr: 2e-4,
            epochs: 5,
            batch: 2,
            grad_accum: 4,
            rows: 1,
            warmup_ratio: 0.1,
            max_grad_norm: 1.0,
            weight_decay: 0.0,
            seed: 42,
            checkpoint_every: 50,
            max_steps: None,
            lora: LoraConfig::default(),
            init: None,
            full: None,
            focal_gamma: 0.0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepLog {
    pub step: usize,
    pub total_steps: usize,
    pub epoch: usize,
    pub loss: f64,
    pub lr: f64,
    pub grad_norm: f64,
    pub tokens: usize,
    pub tokens_per_s: f64,
    pub elapsed_s: f64,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) step: usize,
    pub(crate) seed: u64,
}

/// The name the adapter is registered under in the model while training.
pub const ADAPTER: &str = "sft";

pub(crate) fn io(path: &Path) -> impl Fn(std::io::Error) -> TrainError + '_ {
    move |cause| TrainError::Io {
        path: path.display().to_string(),
        cause,
    }
}

pub struct StepOutcome {
    /// Summed NLL of the target tokens.
    pub nll: f64,
    pub tokens: usize,
    /// Before clipping.
    pub grad_norm: f64,
}

/// What a run trains.
enum Trained {
    /// The adapter registered as [`ADAPTER`].
    Lora,
    /// Every weight, by its Hugging Face name.
    Full(Vec<(String, Var)>, Full),
}

impl Trained {
    fn adapter(&self) -> Option<&'static str> {
        match self {
            Trained::Lora => Some(ADAPTER),
            Trained::Full(..) => None,
        }
    }

    /// Writes what is trained into `dir`: a PEFT adapter, or a Hugging
    /// Face model directory with its tokenizer.
    fn save(&self, model: &Llama, dir: &Path, base: &str, dtype: DType) -> Result<(), TrainError> {
        match self {
            Trained::Lora => save_adapter(model, ADAPTER, dir, base, dtype)?,
            Trained::Full(vars, full) => {
                let weights: Vec<(String, candle_core::Tensor)> = vars
                    .iter()
                    .map(|(n, v)| (n.clone(), v.as_tensor().clone()))
                    .collect();
                save_hf_checkpoint(dir, &model.config, &weights, dtype)?;
                let tok = dir.join("tokenizer.json");
                std::fs::write(&tok, &full.tokenizer_json).map_err(io(&tok))?;
            }
        }
        Ok(())
    }
}

/// Writes the adapter registered as `name` into `dir` (PEFT format).
pub(crate) fn save_adapter(
    model: &Llama,
    name: &str,
    dir: &Path,
    base: &str,
    dtype: DType,
) -> Result<(), TrainError> {
    model
        .adapter(name)
        .ok_or_else(|| TrainError::Invalid("adapter vanished".into()))?
        .save_peft(dir, base, dtype)?;
    Ok(())
}

/// One optimizer step of `adapter` (or, with `None`, of the model's own
/// trainable weights) on `batch`: the prefix once without a graph, then
/// one forward and backward per `rows` examples (only their graph alive at
/// a time), gradients of the token-mean loss (focal-weighted with
/// `focal_gamma` > 0) accumulated, clipped, applied.
#[allow(clippy::too_many_arguments)]
pub fn sft_step(
    model: &Llama,
    adapter: Option<&str>,
    vars: &[candle_core::Var],
    opt: &mut AdamW,
    prefix: &[u32],
    batch: &[&Example],
    rows: usize,
    lr: f64,
    max_grad_norm: f64,
    focal_gamma: f64,
) -> Result<StepOutcome, TrainError> {
    let step_tokens: usize = batch.iter().map(|e| e.target.len()).sum();
    let cache = prefix_cache(model, adapter, prefix)?;
    let mut sums = Vec::new();
    let (mut nll, mut tokens) = (0f64, 0);
    for micro in batch.chunks(rows.max(1)) {
        let (loss, plain, n) = focal_batch_loss(model, adapter, &cache, micro, true, focal_gamma)?;
        nll += plain;
        let grads = (loss / step_tokens.max(1) as f64)?.backward()?;
        accumulate(&mut sums, vars, &grads)?;
        tokens += n;
    }
    let grad_norm = clip(&mut sums, max_grad_norm)?;
    opt.update(&sums, lr)?;
    Ok(StepOutcome {
        nll,
        tokens,
        grad_norm,
    })
}

/// The latest `checkpoint-N` directory under `out`.
pub fn latest_checkpoint(out: &Path) -> Option<(usize, PathBuf)> {
    std::fs::read_dir(out)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n: usize = name.strip_prefix("checkpoint-")?.parse().ok()?;
            e.path().join("state.json").exists().then(|| (n, e.path()))
        })
        .max_by_key(|(n, _)| *n)
}

/// Trains a LoRA adapter (or every weight, with `cfg.full`) on `data`;
/// writes checkpoints, `metrics.jsonl` and the final adapter
/// (`out/adapter`, bf16, PEFT format) or model (`out/model`, bf16).
pub fn train_sft(
    model: &mut Llama,
    data: &Tokenized,
    cfg: &SftConfig,
    out: &Path,
    resume: bool,
    base_name: &str,
    on_step: &mut dyn FnMut(&StepLog),
) -> Result<StepLog, TrainError> {
    if data.examples.is_empty() {
        return Err(TrainError::Invalid("no training examples".into()));
    }
    if cfg.batch == 0 || cfg.grad_accum == 0 || cfg.epochs == 0 {
        return Err(TrainError::Invalid(
            "batch, grad_accum and epochs must be at least 1".into(),
        ));
    }
    std::fs::create_dir_all(out).map_err(io(out))?;
    let device = model.device().clone();
    let resumed = if resume { latest_checkpoint(out) } else { None };
    let (trained, vars) = match &cfg.full {
        Some(_) if cfg.init.is_some() => {
            return Err(TrainError::Invalid(
                "full fine-tuning starts from the model's own weights; init is for adapters".into(),
            ))
        }
        Some(full) => {
            let named = model.make_trainable()?;
            if let Some((_, dir)) = &resumed {
                load_into(&named, &dir.join("model.safetensors"))?;
            }
            let vars = named.iter().map(|(_, v)| v.clone()).collect();
            (Trained::Full(named, full.clone()), vars)
        }
        None => {
            let adapter = match (&resumed, &cfg.init) {
                (Some((_, dir)), _) | (None, Some(dir)) => {
                    LoraAdapter::load_peft(dir, &model.config, &device)?
                }
                (None, None) => {
                    LoraAdapter::new(&model.config, cfg.lora.clone(), cfg.seed, &device)?
                }
            };
            let vars = adapter.vars();
            model.add_adapter(ADAPTER, adapter)?;
            (Trained::Lora, vars)
        }
    };
    let mut opt = AdamW::new(vars.clone(), cfg.weight_decay)?;
    let start = match &resumed {
        Some((_, dir)) => restore(&mut opt, dir)?,
        None => 0,
    };

    // The micro-batches of every epoch, in a seeded order.
    let mut schedule: Vec<Vec<usize>> = Vec::new();
    for epoch in 0..cfg.epochs {
        let mut order: Vec<usize> = (0..data.examples.len()).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(
            cfg.seed.wrapping_add(epoch as u64),
        ));
        schedule.extend(order.chunks(cfg.batch).map(<[usize]>::to_vec));
    }
    let per_epoch = data.examples.len().div_ceil(cfg.batch);
    let total = schedule.len().div_ceil(cfg.grad_accum);
    // Stopping early keeps the schedule of the whole run, so a later
    // `--resume` continues exactly where an uninterrupted run would be.
    let stop = cfg.max_steps.map_or(total, |m| m.min(total));
    let warmup = (total as f64 * cfg.warmup_ratio).round() as usize;

    let metrics_path = out.join("metrics.jsonl");
    let mut metrics = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&metrics_path)
        .map_err(io(&metrics_path))?;
    let began = Instant::now();
    let mut last = None;
    for step in start..stop {
        let t0 = Instant::now();
        let micro =
            &schedule[step * cfg.grad_accum..((step + 1) * cfg.grad_accum).min(schedule.len())];
        model.seed_dropout(cfg.seed.wrapping_mul(1_000_003).wrapping_add(step as u64));
        let batch: Vec<&Example> = micro.iter().flatten().map(|&i| &data.examples[i]).collect();
        let lr = lr_at(step, total, warmup, cfg.lr);
        let o = sft_step(
            model,
            trained.adapter(),
            &vars,
            &mut opt,
            &data.prefix,
            &batch,
            cfg.rows,
            lr,
            cfg.max_grad_norm,
            cfg.focal_gamma,
        )?;
        let (nll, seen, grad_norm) = (o.nll, o.tokens, o.grad_norm);
        let log = StepLog {
            step: step + 1,
            total_steps: total,
            epoch: (step * cfg.grad_accum) / per_epoch,
            loss: nll / seen.max(1) as f64,
            lr,
            grad_norm,
            tokens: seen,
            tokens_per_s: seen as f64 / t0.elapsed().as_secs_f64(),
            elapsed_s: began.elapsed().as_secs_f64(),
        };
        let line = serde_json::to_string(&log).map_err(|e| TrainError::Invalid(e.to_string()))?;
        writeln!(metrics, "{line}").map_err(io(&metrics_path))?;
        on_step(&log);
        if (cfg.checkpoint_every > 0 && (step + 1) % cfg.checkpoint_every == 0) || step + 1 == stop
        {
            let save = |dir: &Path| trained.save(model, dir, base_name, DType::F32);
            checkpoint(&save, &opt, out, step + 1, cfg.seed)?;
        }
        last = Some(log);
    }
    let last = last.ok_or_else(|| {
        TrainError::Invalid(format!("nothing to do: already at step {start} of {stop}"))
    })?;
    let final_dir = match trained {
        Trained::Lora => out.join("adapter"),
        Trained::Full(..) => out.join("model"),
    };
    trained.save(model, &final_dir, base_name, DType::BF16)?;
    Ok(last)
}

/// `out/checkpoint-N`: what is trained (written by `save`, in f32), the
/// optimizer's moments and the step, written to a temporary name and
/// renamed whole.
pub(crate) fn checkpoint(
    save: &dyn Fn(&Path) -> Result<(), TrainError>,
    opt: &AdamW,
    out: &Path,
    step: usize,
    seed: u64,
) -> Result<(), TrainError> {
    let dir = out.join(format!("checkpoint-{step}"));
    let tmp = out.join(format!(".checkpoint-{step}.tmp"));
    let _ = std::fs::remove_dir_all(&tmp);
    save(&tmp)?;
    opt.save(&tmp.join("optimizer.safetensors"))?;
    let state = serde_json::to_string(&State { step, seed })
        .map_err(|e| TrainError::Invalid(e.to_string()))?;
    std::fs::write(tmp.join("state.json"), state).map_err(io(&tmp))?;
    // Complete or absent: a checkpoint appears under its name only whole.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&tmp, &dir).map_err(io(&dir))
}

/// `loss.png`: the training loss per step from `out/metrics.jsonl`.
pub fn plot_metrics(out: &Path) -> Result<PathBuf, TrainError> {
    let logs: Vec<StepLog> = read_metrics(out, |l: &StepLog| l.step)?;
    let loss: Vec<(f64, f64)> = logs.iter().map(|l| (l.step as f64, l.loss)).collect();
    let png = out.join("loss.png");
    crate::plot::line_chart(
        &png,
        "SFT training loss",
        "optimizer step",
        "loss (nats/token)",
        &[("loss", loss)],
    )?;
    Ok(png)
}

/// Restores AdamW's moments from a checkpoint and returns its step.
pub(crate) fn restore(opt: &mut AdamW, dir: &Path) -> Result<usize, TrainError> {
    opt.load(&dir.join("optimizer.safetensors"))?;
    let s: State =
        serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).map_err(io(dir))?)
            .map_err(|e| TrainError::Invalid(format!("{}: {e}", dir.display())))?;
    Ok(s.step)
}

/// The per-step logs of `out/metrics.jsonl` in step order; a resumed
/// run's repeated steps count once (the later line wins).
pub(crate) fn read_metrics<T: serde::de::DeserializeOwned>(
    out: &Path,
    step: fn(&T) -> usize,
) -> Result<Vec<T>, TrainError> {
    let path = out.join("metrics.jsonl");
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let mut by_step = std::collections::BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let l: T = serde_json::from_str(line)
            .map_err(|e| TrainError::Invalid(format!("{}: {e}", path.display())))?;
        by_step.insert(step(&l), l);
    }
    Ok(by_step.into_values().collect())
}
