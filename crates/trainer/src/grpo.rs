//! `glrl train grpo`: group-relative policy optimisation of a LoRA
//! adapter against the Reward Evaluator. Each step samples a group of
//! candidates per question (one batched generation from the prompt's
//! cache, constrained like serving, by default from a Q8_0 copy with the
//! policy folded in: `glrl_model`'s `Llama::folded_q8`), scores them,
//! turns rewards into group-relative advantages and takes a clipped
//! policy-gradient step with a per-token KL penalty (k3 estimator) to the
//! frozen reference policy.

use crate::data::{Example, Tokenized};
use crate::loss::{completion_nll, prefix_cache};
use crate::optim::{accumulate, clip, lr_at, AdamW};
use crate::sft::{checkpoint, io, latest_checkpoint, read_metrics, restore, save_adapter};
use crate::TrainError;
use candle_core::{DType, Tensor};
use glrl_model::generate::{
    generate_cached, AdapterChoice, FinishReason, GenerateOptions, NoProcessor, PrefixCache,
};
use glrl_model::{KvCache, Llama, LoraAdapter, LoraConfig};
use glrl_query_generator::{SqlConstraint, SqlVocabulary};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct GrpoConfig {
    pub lr: f64,
    /// β of the KL penalty to the reference policy.
    pub kl_coef: f64,
    /// Candidates sampled per question (the group).
    pub group_size: usize,
    pub steps: usize,
    pub questions_per_step: usize,
    pub temperature: f32,
    pub top_p: f32,
    /// ε of the clipped ratio.
    pub clip_eps: f64,
    pub max_new_tokens: usize,
    /// Gradient steps on each sampled batch (μ); above 1 the ratio moves
    /// away from 1 and clipping takes effect.
    pub updates_per_batch: usize,
    pub warmup_ratio: f64,
    pub max_grad_norm: f64,
    pub weight_decay: f64,
    pub seed: u64,
    pub checkpoint_every: usize,
    /// Stop after this many steps, keeping the schedule of `steps` (a
    /// later `--resume` continues exactly).
    pub max_steps: Option<usize>,
    /// LoRA shape when starting without an adapter.
    pub lora: LoraConfig,
    /// Candidates scored per forward pass (their rows padded to one
    /// length); the graph of that many is alive at a time.
    pub rows_per_pass: usize,
    /// Sample from a copy of the model with the policy folded in and its
    /// projections in Q8_0, refreshed every step: the policy as `glrl`
    /// serves it, sampled at serving's speed. Off, the training model
    /// samples itself (dense f32, the adapter applied at every token).
    pub fold_sampler: bool,
    /// Divide each group's centred rewards by their standard deviation
    /// (GRPO); false leaves them centred only (Dr. GRPO).
    pub scale_advantages: bool,
}

impl Default for GrpoConfig {
    fn default() -> Self {
        GrpoConfig {
            lr: 5e-6,
            kl_coef: 0.1,
            group_size: 5,
            steps: 500,
            questions_per_step: 1,
            temperature: 0.9,
            top_p: 1.0,
            clip_eps: 0.2,
            max_new_tokens: 200,
            updates_per_batch: 1,
            warmup_ratio: 0.0,
            max_grad_norm: 1.0,
            weight_decay: 0.0,
            seed: 42,
            checkpoint_every: 25,
            max_steps: None,
            lora: LoraConfig::default(),
            rows_per_pass: 1,
            fold_sampler: true,
            scale_advantages: true,
        }
    }
}

/// One candidate's reward as the Reward Evaluator gives it.
#[derive(Debug, Clone)]
pub struct Scored {
    pub total: f64,
    /// Dimension name → score in [0, 1].
    pub components: Vec<(String, f64)>,
    /// Execution accuracy 1 (the gold's rows).
    pub correct: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GrpoLog {
    pub step: usize,
    pub total_steps: usize,
    pub reward_mean: f64,
    pub reward_std: f64,
    pub components: BTreeMap<String, f64>,
    pub accuracy: f64,
    /// Mean per-token k3 estimate of KL(policy ‖ reference).
    pub kl: f64,
    /// Mean negative log-probability of the sampled tokens (a Monte Carlo
    /// estimate of the policy's entropy).
    pub entropy: f64,
    pub clip_fraction: f64,
    pub length: f64,
    pub loss: f64,
    pub grad_norm: f64,
    pub lr: f64,
    /// Groups whose rewards were all equal (no advantage signal, skipped).
    pub flat_groups: usize,
    /// Sampling, with the refresh of a folded sampler.
    pub generation_s: f64,
    pub reward_s: f64,
    pub backward_s: f64,
    pub elapsed_s: f64,
}

/// The adapter being optimised and the frozen reference.
pub const POLICY: &str = "grpo";
pub const REFERENCE: &str = "reference";

/// Constrained decoding as at serving time.
pub struct Constraint<'a> {
    pub vocab: &'a SqlVocabulary,
    pub texts: &'a [Option<String>],
    pub end_tokens: Vec<u32>,
}

/// Everything a GRPO run needs besides the model.
pub struct GrpoData<'a> {
    pub data: &'a Tokenized,
    /// Tokens of the assistant prefix ("<think>") the completions start after.
    pub think: Vec<u32>,
    pub constraint: Option<Constraint<'a>>,
    pub stop_tokens: Vec<u32>,
    pub decode: &'a dyn Fn(&[u32]) -> String,
}

/// Per candidate: the reference's token log-probabilities, and the
/// sampling policy's when several updates reuse the batch.
type Fixed = (Vec<f32>, Option<Vec<f32>>);

/// What one candidate's loss reports besides itself.
struct LossStats {
    /// Tokens whose policy ratio lies outside the clip range.
    clipped: usize,
    /// The KL estimate summed over the candidate's tokens.
    kl_sum: f64,
}

/// One candidate's GRPO loss: the negated mean over its tokens of the
/// clipped surrogate (ratio of the policy `new` to the sampling policy
/// `old`, times `advantage`) minus `kl_coef` times the KL estimate to the
/// reference, exp(ref − new) − (ref − new) − 1 (non-negative, zero where
/// they agree). Without `old` the sampling policy is `new` itself,
/// detached: ratio 1, and the gradient is the plain policy gradient.
fn candidate_loss(
    new: &Tensor,
    old: Option<&[f32]>,
    reference: &[f32],
    advantage: f64,
    cfg: &GrpoConfig,
) -> Result<(Tensor, LossStats), TrainError> {
    let dev = new.device();
    let old = match old {
        Some(o) => Tensor::new(o, dev)?,
        None => new.detach(),
    };
    let ratio = (new - &old)?.exp()?;
    let s1 = ratio.affine(advantage, 0.0)?;
    let s2 = ratio
        .clamp(1.0 - cfg.clip_eps, 1.0 + cfg.clip_eps)?
        .affine(advantage, 0.0)?;
    let surrogate = s1.minimum(&s2)?;
    let diff = (Tensor::new(reference, dev)? - new)?;
    let kl = ((diff.exp()? - &diff)? - 1.0)?;
    let per_token = (surrogate - kl.affine(cfg.kl_coef, 0.0)?)?;
    let clipped = ratio
        .to_vec1::<f32>()?
        .iter()
        .filter(|&&x| (x as f64 - 1.0).abs() > cfg.clip_eps)
        .count();
    let stats = LossStats {
        clipped,
        kl_sum: kl.sum_all()?.to_scalar::<f32>()? as f64,
    };
    Ok((per_token.mean_all()?.neg()?, stats))
}

struct Sampled {
    tokens: Vec<u32>,
    advantage: f64,
}

/// Runs GRPO from `start` (an SFT adapter; `None` starts a fresh LoRA and
/// uses the base model as reference), writing checkpoints, metrics.jsonl,
/// reward.png and the final adapter (`out/adapter`, bf16).
#[allow(clippy::too_many_arguments)]
pub fn train_grpo(
    model: &mut Llama,
    d: &GrpoData,
    start: Option<&Path>,
    cfg: &GrpoConfig,
    out: &Path,
    resume: bool,
    base_name: &str,
    reward: &mut dyn FnMut(&str, &str) -> Scored,
    on_step: &mut dyn FnMut(&GrpoLog),
) -> Result<GrpoLog, TrainError> {
    if d.data.examples.is_empty() || cfg.group_size < 2 || cfg.questions_per_step == 0 {
        return Err(TrainError::Invalid(
            "GRPO needs questions, a group of at least 2 and at least one question per step".into(),
        ));
    }
    std::fs::create_dir_all(out).map_err(io(out))?;
    let device = model.device().clone();
    let load = |dir: &Path| LoraAdapter::load_peft(dir, &model.config, &device);
    let reference = match start {
        Some(dir) => Some(load(dir)?),
        None => None,
    };
    let resumed = if resume { latest_checkpoint(out) } else { None };
    let policy = match (&resumed, start) {
        (Some((_, dir)), _) => load(dir)?,
        (None, Some(dir)) => load(dir)?,
        (None, None) => LoraAdapter::new(&model.config, cfg.lora.clone(), cfg.seed, &device)?,
    };
    let vars = policy.vars();
    model.add_adapter(POLICY, policy)?;
    let ref_name = match reference {
        Some(r) => {
            model.add_adapter(REFERENCE, r)?;
            Some(REFERENCE)
        }
        None => None,
    };
    let mut opt = AdamW::new(vars.clone(), cfg.weight_decay)?;
    let first = match &resumed {
        Some((_, dir)) => restore(&mut opt, dir)?,
        None => 0,
    };
    // Question order: seeded shuffles of the data, one after another.
    let need = cfg.steps * cfg.questions_per_step;
    let mut order = Vec::with_capacity(need);
    let mut round = 0u64;
    while order.len() < need {
        let mut o: Vec<usize> = (0..d.data.examples.len()).collect();
        o.shuffle(&mut ChaCha8Rng::seed_from_u64(cfg.seed.wrapping_add(round)));
        order.extend(o);
        round += 1;
    }
    let warmup = (cfg.steps as f64 * cfg.warmup_ratio).round() as usize;
    // The reference never changes: its prefix cache is computed once.
    let ref_prefix = prefix_cache(model, ref_name, &d.data.prefix)?;
    let metrics_path = out.join("metrics.jsonl");
    let mut metrics = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&metrics_path)
        .map_err(io(&metrics_path))?;
    let began = Instant::now();
    let mut last = None;
    let stop = cfg.max_steps.map_or(cfg.steps, |m| m.min(cfg.steps));
    let mut sampler: Option<Llama> = None;
    for step in first..stop {
        let t0 = Instant::now();
        if cfg.fold_sampler {
            match &mut sampler {
                Some(s) => model.refold_q8(POLICY, s)?,
                None => sampler = Some(model.folded_q8(POLICY)?),
            }
        }
        let fold_s = t0.elapsed().as_secs_f64();
        let questions: Vec<&Example> = order
            [step * cfg.questions_per_step..(step + 1) * cfg.questions_per_step]
            .iter()
            .map(|&i| &d.data.examples[i])
            .collect();
        let lr = lr_at(step, cfg.steps, warmup, cfg.lr);
        let log = grpo_step(
            model,
            sampler.as_ref(),
            d,
            cfg,
            &vars,
            &mut opt,
            &ref_prefix,
            ref_name,
            &questions,
            step,
            lr,
            reward,
        )?;
        let log = GrpoLog {
            step: step + 1,
            total_steps: cfg.steps,
            generation_s: log.generation_s + fold_s,
            elapsed_s: began.elapsed().as_secs_f64(),
            ..log
        };
        let line = serde_json::to_string(&log).map_err(|e| TrainError::Invalid(e.to_string()))?;
        writeln!(metrics, "{line}").map_err(io(&metrics_path))?;
        on_step(&log);
        if (cfg.checkpoint_every > 0 && (step + 1) % cfg.checkpoint_every == 0) || step + 1 == stop
        {
            let save = |dir: &Path| save_adapter(model, POLICY, dir, base_name, DType::F32);
            checkpoint(&save, &opt, out, step + 1, cfg.seed)?;
        }
        last = Some(log);
    }
    save_adapter(model, POLICY, &out.join("adapter"), base_name, DType::BF16)?;
    last.ok_or_else(|| TrainError::Invalid(format!("nothing to do: already at step {first}")))
}

#[allow(clippy::too_many_arguments)]
fn grpo_step(
    model: &Llama,
    sampler: Option<&Llama>,
    d: &GrpoData,
    cfg: &GrpoConfig,
    vars: &[candle_core::Var],
    opt: &mut AdamW,
    ref_prefix: &KvCache,
    ref_name: Option<&str>,
    questions: &[&Example],
    step: usize,
    lr: f64,
    reward: &mut dyn FnMut(&str, &str) -> Scored,
) -> Result<GrpoLog, TrainError> {
    let (mut gen_s, mut reward_s, mut back_s) = (0.0, 0.0, 0.0);
    let mut rewards_all = Vec::new();
    let mut components: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    let (mut correct, mut lengths, mut flat) = (0usize, 0usize, 0usize);
    // The policy's prefix (the shared system message) for generation.
    let generation_cache = PrefixCache::new(1);
    let mut groups: Vec<(&Example, Vec<u32>, Vec<Sampled>)> = Vec::new();
    for (qi, ex) in questions.iter().enumerate() {
        let t0 = Instant::now();
        let prompt: Vec<u32> = d
            .data
            .prefix
            .iter()
            .chain(&ex.prompt)
            .chain(&d.think)
            .copied()
            .collect();
        // A folded sampler has the policy in its weights.
        let (generator, adapter) = match sampler {
            Some(s) => (s, AdapterChoice::Base),
            None => (model, AdapterChoice::Named(POLICY.into())),
        };
        let opts = GenerateOptions {
            max_new_tokens: cfg.max_new_tokens,
            temperature: cfg.temperature,
            top_p: cfg.top_p,
            top_k: 40,
            stop_tokens: d.stop_tokens.clone(),
            seed: cfg
                .seed
                .wrapping_mul(7_919)
                .wrapping_add((step * 131 + qi) as u64 * 1_000),
            n: cfg.group_size,
            adapter,
            ..GenerateOptions::default()
        };
        let prefix = Some((&generation_cache, d.data.prefix.len()));
        let cands = match &d.constraint {
            Some(c) => {
                let mut p = SqlConstraint::new(c.vocab, c.texts, c.end_tokens.clone(), 40)
                    .sampled_at(cfg.temperature);
                generate_cached(generator, &prompt, &opts, prefix, &mut p, &mut |_, _| {})?
            }
            None => generate_cached(
                generator,
                &prompt,
                &opts,
                prefix,
                &mut NoProcessor,
                &mut |_, _| {},
            )?,
        };
        gen_s += t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let mut rewards = Vec::with_capacity(cands.len());
        let mut seqs = Vec::with_capacity(cands.len());
        for c in &cands {
            let text = format!("<think>{}", (d.decode)(&c.tokens));
            let s = reward(&ex.id, &text);
            for (name, v) in &s.components {
                let e = components.entry(name.clone()).or_default();
                e.0 += v;
                e.1 += 1;
            }
            correct += usize::from(s.correct);
            lengths += c.tokens.len();
            rewards.push(s.total);
            let mut tokens = c.tokens.clone();
            // A candidate that stopped learned to stop: the end token counts.
            if c.finish == FinishReason::Stop {
                if let Some(&end) = d.stop_tokens.first() {
                    tokens.push(end);
                }
            }
            seqs.push(tokens);
        }
        reward_s += t1.elapsed().as_secs_f64();
        let adv = if cfg.scale_advantages {
            glrl_reward_evaluator::group_advantages(&rewards, 1e-4)
        } else {
            glrl_reward_evaluator::centred_advantages(&rewards)
        };
        rewards_all.extend(&rewards);
        if adv.iter().all(|a| *a == 0.0) {
            flat += 1;
            continue;
        }
        let user: Vec<u32> = ex.prompt.iter().chain(&d.think).copied().collect();
        groups.push((
            ex,
            user,
            seqs.into_iter()
                .zip(adv)
                .filter(|(t, _)| !t.is_empty())
                .map(|(tokens, advantage)| Sampled { tokens, advantage })
                .collect(),
        ));
    }
    let t2 = Instant::now();
    let n_cands: usize = groups.iter().map(|g| g.2.len()).sum();
    let (mut kl_sum, mut ent_sum, mut clipped, mut toks, mut loss_sum, mut grad_norm) =
        (0.0, 0.0, 0usize, 0usize, 0.0, 0.0);
    if n_cands > 0 {
        let policy_prefix = prefix_cache(model, Some(POLICY), &d.data.prefix)?;
        // Reference log-probabilities, and with several updates per batch
        // the sampling policy's, fixed for the step. With one update the
        // old policy is the current one (its values, detached): ratio 1.
        let several = cfg.updates_per_batch > 1;
        let rows = cfg.rows_per_pass.max(1);
        let mut fixed: Vec<Vec<Fixed>> = Vec::new();
        for (_, user, cands) in &groups {
            let mut v = Vec::new();
            for chunk in cands.chunks(rows) {
                let r = token_logprobs(model, ref_name, ref_prefix, user, chunk, false)?;
                let old = if several {
                    let o =
                        token_logprobs(model, Some(POLICY), &policy_prefix, user, chunk, false)?;
                    split(&o, chunk)?.into_iter().map(Some).collect()
                } else {
                    vec![None; chunk.len()]
                };
                v.extend(split(&r, chunk)?.into_iter().zip(old));
            }
            fixed.push(v);
        }
        for iteration in 0..cfg.updates_per_batch.max(1) {
            model.seed_dropout(cfg.seed.wrapping_add((step * 17 + iteration) as u64));
            let prefix = if iteration == 0 {
                policy_prefix.clone()
            } else {
                prefix_cache(model, Some(POLICY), &d.data.prefix)?
            };
            let mut sums = Vec::new();
            for ((_, user, cands), fx) in groups.iter().zip(&fixed) {
                for (chunk, fx) in cands.chunks(rows).zip(fx.chunks(rows)) {
                    let all = token_logprobs(model, Some(POLICY), &prefix, user, chunk, true)?;
                    let mut chunk_loss: Option<Tensor> = None;
                    let mut offset = 0;
                    for (c, (ref_lp, old_lp)) in chunk.iter().zip(fx) {
                        let new = all.narrow(0, offset, c.tokens.len())?;
                        offset += c.tokens.len();
                        let (loss, stats) =
                            candidate_loss(&new, old_lp.as_deref(), ref_lp, c.advantage, cfg)?;
                        let loss = (loss / n_cands as f64)?;
                        if iteration == 0 {
                            clipped += stats.clipped;
                            kl_sum += stats.kl_sum;
                            ent_sum -= new.sum_all()?.to_scalar::<f32>()? as f64;
                            toks += c.tokens.len();
                            loss_sum += loss.to_scalar::<f32>()? as f64;
                        }
                        chunk_loss = Some(match chunk_loss {
                            Some(l) => (l + loss)?,
                            None => loss,
                        });
                    }
                    if let Some(loss) = chunk_loss {
                        let grads = loss.backward()?;
                        accumulate(&mut sums, vars, &grads)?;
                    }
                }
            }
            let g = clip(&mut sums, cfg.max_grad_norm)?;
            if iteration == 0 {
                grad_norm = g;
            }
            opt.update(&sums, lr)?;
        }
    }
    back_s += t2.elapsed().as_secs_f64();
    let n = rewards_all.len().max(1) as f64;
    let mean = rewards_all.iter().sum::<f64>() / n;
    let std = (rewards_all.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
    Ok(GrpoLog {
        step: 0,
        total_steps: 0,
        reward_mean: mean,
        reward_std: std,
        components: components
            .into_iter()
            .map(|(k, (s, c))| (k, s / c.max(1) as f64))
            .collect(),
        accuracy: correct as f64 / n,
        kl: kl_sum / toks.max(1) as f64,
        entropy: ent_sum / toks.max(1) as f64,
        clip_fraction: clipped as f64 / toks.max(1) as f64,
        length: lengths as f64 / n,
        loss: loss_sum,
        grad_norm,
        lr,
        flat_groups: flat,
        generation_s: gen_s,
        reward_s,
        backward_s: back_s,
        elapsed_s: 0.0,
    })
}

/// Log-probabilities of each candidate's tokens after the prefix and
/// `user`, all candidates in one forward pass, one after another
/// (`[Σ tokens]`); with a graph when `grad`.
fn token_logprobs(
    model: &Llama,
    adapter: Option<&str>,
    prefix: &KvCache,
    user: &[u32],
    cands: &[Sampled],
    grad: bool,
) -> Result<Tensor, TrainError> {
    let rows: Vec<(&[u32], &[u32])> = cands.iter().map(|c| (user, c.tokens.as_slice())).collect();
    Ok(completion_nll(model, adapter, grad, grad, prefix, &rows)?.neg()?)
}

/// `token_logprobs`' result cut back into one vector per candidate.
fn split(all: &Tensor, cands: &[Sampled]) -> Result<Vec<Vec<f32>>, TrainError> {
    let all: Vec<f32> = all.to_vec1()?;
    let mut out = Vec::with_capacity(cands.len());
    let mut offset = 0;
    for c in cands {
        out.push(all[offset..offset + c.tokens.len()].to_vec());
        offset += c.tokens.len();
    }
    Ok(out)
}

/// `reward.png` (mean reward and accuracy per step) from `out/metrics.jsonl`.
pub fn plot_metrics(out: &Path) -> Result<PathBuf, TrainError> {
    let logs: Vec<GrpoLog> = read_metrics(out, |l: &GrpoLog| l.step)?;
    let reward: Vec<(f64, f64)> = logs
        .iter()
        .map(|l| (l.step as f64, l.reward_mean))
        .collect();
    let acc: Vec<(f64, f64)> = logs.iter().map(|l| (l.step as f64, l.accuracy)).collect();
    let png = out.join("reward.png");
    crate::plot::line_chart(
        &png,
        "GRPO: mean reward and accuracy of the sampled candidates",
        "step",
        "",
        &[("mean reward", reward), ("execution accuracy", acc)],
    )?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn scalar(t: &Tensor) -> f32 {
        t.to_scalar::<f32>().unwrap()
    }

    /// With the reference equal to the policy and no sampling policy
    /// apart from it, the loss is −advantage and its gradient raises the
    /// log-probabilities of a candidate with a positive advantage.
    #[test]
    fn the_loss_is_the_policy_gradient_where_the_reference_agrees() {
        let cfg = GrpoConfig::default();
        let lp = [-0.5f32, -1.5];
        let new = Var::new(&lp, &Device::Cpu).unwrap();
        let (loss, stats) = candidate_loss(new.as_tensor(), None, &lp, 2.0, &cfg).unwrap();
        assert!((scalar(&loss) + 2.0).abs() < 1e-6);
        assert_eq!((stats.clipped, stats.kl_sum), (0, 0.0));
        let g = loss.backward().unwrap();
        let g: Vec<f32> = g.get(&new).unwrap().to_vec1().unwrap();
        assert!(g.iter().all(|&x| (x + 1.0).abs() < 1e-6), "{g:?}");
    }

    /// A policy away from its reference pays kl_coef times the KL
    /// estimate, and a ratio outside the clip range is counted and
    /// clipped.
    #[test]
    fn kl_and_clipping_enter_the_loss() {
        let cfg = GrpoConfig::default();
        let new = Tensor::new(&[-1.0f32], &Device::Cpu).unwrap();
        let (loss, stats) = candidate_loss(&new, None, &[-2.0], 0.0, &cfg).unwrap();
        let kl = (-1.0f64).exp() + 1.0 - 1.0;
        assert!((stats.kl_sum - kl).abs() < 1e-6);
        assert!((scalar(&loss) as f64 - cfg.kl_coef * kl).abs() < 1e-6);
        // ratio e^0.5 ≈ 1.65, clipped to 1 + ε for a positive advantage.
        let (loss, stats) = candidate_loss(&new, Some(&[-1.5]), &[-1.0], 1.0, &cfg).unwrap();
        assert_eq!(stats.clipped, 1);
        assert!((scalar(&loss) as f64 + 1.0 + cfg.clip_eps).abs() < 1e-6);
    }
}
