//! `glrl train sft`: supervised fine-tuning (LoRA or full) on the ERP train split
//! (and any further pair files), prompts built by the Query Generator's
//! prompt builder against the configured database.

use crate::commands::model::model_path;
use crate::context;
use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};
use glrl_config::Config;
use glrl_dataset::{parse_jsonl, read_jsonl, Pair};
use glrl_model::tokenizer::Tokenizer;
use glrl_model::{Llama, LoraConfig, Target, WeightFormat};
use glrl_query_generator::{PromptBuilder, PromptOptions, Retriever};
use glrl_schema_analyzer::SchemaAnalyzer;
use glrl_trainer::sft::{train_sft, Full, SftConfig};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum Action {
    /// Supervised fine-tuning of a LoRA adapter, or of every weight with --full (settings:
    /// [train.sft] in the config, overridden by flags).
    Sft(SftArgs),
    /// Reinforcement learning (GRPO) of a LoRA adapter against the Reward Evaluator on the ERP
    /// train split and any further pairs (settings: [train.grpo], overridden by flags).
    Grpo(GrpoArgs),
    /// Evaluate the checkpoints of a run on the dev set (greedy, through the pipeline), keep the
    /// best as OUT/best (bf16 PEFT adapter, or bf16 model directory after full fine-tuning) and
    /// plot dev accuracy (OUT/dev_accuracy.png).
    Select(SelectArgs),
    /// Plot a run's training loss (OUT/loss.png) from OUT/metrics.jsonl.
    Plot {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Write the training prompts as JSONL for Hugging Face TRL (sft.jsonl: prompt-completion; grpo.jsonl: prompt + gold_sql).
    Export(ExportArgs),
}

#[derive(ClapArgs)]
pub struct GrpoArgs {
    /// Output directory: checkpoints, metrics.jsonl, reward.png, the final adapter in OUT/adapter.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Start from this adapter (PEFT directory, e.g. SFT's); it is also the frozen reference.
    /// Default: the served adapter (model.adapter; the built-in one on the embedded model);
    /// with model.adapter = "none" a fresh LoRA starts against the base model.
    #[arg(long, value_name = "DIR")]
    from: Option<PathBuf>,
    /// Continue from the latest checkpoint in --out (its adapter, optimizer state and step).
    #[arg(long)]
    resume: bool,
    /// Further question/gold pairs (JSONL, the data set format), e.g. from `glrl data generate`.
    #[arg(long = "data", value_name = "FILE")]
    data: Vec<PathBuf>,
    /// Leave out the built-in ERP train split.
    #[arg(long)]
    no_erp_train: bool,
    /// Stop after this many steps (continue later with --resume).
    #[arg(long)]
    max_steps: Option<usize>,
    /// Steps of the schedule: the learning rate decays (cosine) from --lr to zero over them
    /// [default: train.grpo.steps, 500].
    #[arg(long)]
    steps: Option<usize>,
    /// Peak learning rate [default: train.grpo.lr, 5e-6].
    #[arg(long)]
    lr: Option<f64>,
    /// KL coefficient β (to the frozen reference) [default: train.grpo.kl_coef, 0.1].
    #[arg(long)]
    kl: Option<f64>,
    /// Candidates sampled per question [default: train.grpo.group_size, 5].
    #[arg(long)]
    group_size: Option<usize>,
    /// Questions per step [default: train.grpo.questions_per_step, 1].
    #[arg(long)]
    questions_per_step: Option<usize>,
    /// Sampling temperature [default: train.grpo.temperature, 0.9].
    #[arg(long)]
    temperature: Option<f32>,
    /// Longest candidate, in tokens [default: train.grpo.max_new_tokens, 200].
    #[arg(long)]
    max_new_tokens: Option<usize>,
    /// Write OUT/checkpoint-N every this many steps [default: train.grpo.checkpoint_every, 25].
    #[arg(long)]
    checkpoint_every: Option<usize>,
    /// Seed of the question order and the sampling [default: train.grpo.seed, 42].
    #[arg(long)]
    seed: Option<u64>,
    /// Weight of the accuracy dimension (execution against gold) in the reward; the other
    /// five keep theirs and all are normalised [default: train.grpo.reward.accuracy, 0.10].
    #[arg(long, value_name = "W")]
    accuracy_weight: Option<f64>,
    /// Centre each group's rewards without dividing by their standard deviation (Dr. GRPO),
    /// so that a group whose candidates barely differ barely moves the policy
    /// [default: train.grpo.scale_advantages = true, GRPO's scaling].
    #[arg(long)]
    centred_advantages: bool,
}

#[derive(ClapArgs)]
pub struct SelectArgs {
    /// The training run's output directory (with checkpoint-N directories).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Pairs to evaluate on [default: the ERP dev split].
    #[arg(long, value_name = "FILE")]
    dataset: Option<PathBuf>,
    /// Only the first N pairs (faster selection).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Candidates per question [default: 1, greedy].
    #[arg(short = 'n', long, default_value_t = 1)]
    candidates: usize,
}

#[derive(ClapArgs)]
pub struct ExportArgs {
    /// Directory for sft.jsonl and grpo.jsonl.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Further pairs (JSONL), added to the ERP train split.
    #[arg(long = "data", value_name = "FILE")]
    data: Vec<PathBuf>,
}

#[derive(ClapArgs)]
pub struct SftArgs {
    /// Output directory: checkpoints, metrics.jsonl, and the final adapter in OUT/adapter.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Further training pairs (JSONL, the data set format), e.g. from `glrl data generate`.
    #[arg(long = "data", value_name = "FILE")]
    data: Vec<PathBuf>,
    /// Leave out the built-in ERP train split.
    #[arg(long)]
    no_erp_train: bool,
    /// Continue from the latest checkpoint in --out.
    #[arg(long)]
    resume: bool,
    /// Stop after this many optimizer steps (continue later with --resume).
    #[arg(long)]
    max_steps: Option<usize>,
    /// Passes over the training pairs [default: train.sft.epochs, 5].
    #[arg(long)]
    epochs: Option<usize>,
    /// Peak learning rate, after a linear warmup and before cosine decay
    /// [default: train.sft.lr, 2e-4; train.sft.full_lr with --full].
    #[arg(long)]
    lr: Option<f64>,
    /// Examples per micro-batch [default: train.sft.batch, 2].
    #[arg(long)]
    batch: Option<usize>,
    /// Micro-batches per optimizer step [default: train.sft.grad_accum, 4].
    #[arg(long)]
    grad_accum: Option<usize>,
    /// Examples per forward pass (rows padded to one length) [default: train.sft.rows].
    #[arg(long)]
    rows: Option<usize>,
    /// Seed of the pair order, dropout and a fresh adapter's weights [default: train.sft.seed, 42].
    #[arg(long)]
    seed: Option<u64>,
    /// Write OUT/checkpoint-N every this many optimizer steps [default: train.sft.checkpoint_every, 50].
    #[arg(long)]
    checkpoint_every: Option<usize>,
    /// LoRA rank (of a fresh adapter).
    #[arg(long, conflicts_with_all = ["from", "full"])]
    rank: Option<usize>,
    /// Full fine-tuning: train every weight of the model instead of a LoRA adapter (small
    /// models; lr defaults to train.sft.full_lr). Writes OUT/model, a Hugging Face model
    /// directory served with model.path = OUT/model.
    #[arg(long, conflicts_with = "from")]
    full: bool,
    /// Continue training this adapter (PEFT directory, e.g. the built-in one) with a new
    /// warmup and decay, instead of starting a fresh LoRA; its rank and targets apply.
    #[arg(long, value_name = "DIR")]
    from: Option<PathBuf>,
    /// Focal weighting of the target tokens' loss: each token's NLL weighs (1 − p)^GAMMA, p
    /// its probability, so the few tokens the model gets wrong outweigh the many it copies;
    /// 0 is the plain mean [default: train.sft.focal_gamma, 0].
    #[arg(long, value_name = "GAMMA")]
    focal_gamma: Option<f64>,
    /// A GGUF file or Hugging Face directory [default: the configured or embedded model].
    #[arg(long, value_name = "PATH")]
    model: Option<PathBuf>,
}

pub fn run(config: &Config, action: Action) -> anyhow::Result<()> {
    match action {
        Action::Sft(args) => sft(config, args),
        Action::Export(args) => export(config, args),
        Action::Select(args) => select(config, args),
        Action::Grpo(args) => grpo(config, args),
        Action::Plot { out } => {
            let png = glrl_trainer::sft::plot_metrics(&out)?;
            println!("{}", png.display());
            Ok(())
        }
    }
}

/// The ERP train split (unless left out) and further pair files.
fn training_pairs(erp: bool, data: &[PathBuf]) -> anyhow::Result<Vec<Pair>> {
    let mut pairs: Vec<Pair> = Vec::new();
    if erp {
        pairs.extend(parse_jsonl::<Pair>(
            glrl_erp::TRAIN_JSONL,
            "the ERP train split",
        )?);
    }
    for f in data {
        pairs.extend(read_jsonl::<Pair>(f)?);
    }
    anyhow::ensure!(
        !pairs.is_empty(),
        "no training pairs (the ERP split is off and no --data given)"
    );
    Ok(pairs)
}

/// Gives every pair an id of its own: rewards look the gold query up by
/// id, and `glrl data generate` numbers each file from `gen-00001`.
fn unique_ids(pairs: &mut [Pair]) {
    let mut seen = std::collections::HashSet::new();
    for p in pairs.iter_mut() {
        let mut id = p.id.clone();
        let mut k = 2;
        while !seen.insert(id.clone()) {
            id = format!("{}#{k}", p.id);
            k += 1;
        }
        p.id = id;
    }
}

fn analyzer(config: &Config) -> anyhow::Result<SchemaAnalyzer> {
    let db = context::open_db(config)?;
    context::analyzer(config, db.as_ref())
}

/// The Query Generator's prompt builder over the configured database,
/// retrieving examples from `pairs`.
fn prompt_builder<'a>(
    config: &Config,
    analyzer: &'a SchemaAnalyzer,
    pairs: &[Pair],
) -> PromptBuilder<'a> {
    PromptBuilder::new(
        analyzer,
        Retriever::new(pairs.to_vec()),
        PromptOptions {
            examples: config.generator.examples,
            ..PromptOptions::default()
        },
    )
}

fn export(config: &Config, args: ExportArgs) -> anyhow::Result<()> {
    use glrl_trainer::export::{grpo_record, sft_record};
    use std::io::Write;
    let pairs = training_pairs(true, &args.data)?;
    let analyzer = analyzer(config)?;
    let builder = prompt_builder(config, &analyzer, &pairs);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    for (name, record) in [
        (
            "sft.jsonl",
            sft_record as fn(&PromptBuilder, &Pair) -> serde_json::Value,
        ),
        ("grpo.jsonl", grpo_record),
    ] {
        let path = args.out.join(name);
        let tmp = args.out.join(format!("{name}.tmp-export"));
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?,
        );
        for p in &pairs {
            writeln!(f, "{}", record(&builder, p))?;
        }
        f.flush()?;
        drop(f);
        std::fs::rename(&tmp, &path)?;
        println!("{}: {} records", path.display(), pairs.len());
    }
    Ok(())
}

/// SFT's element-wise ops run serially, its matrix products on every
/// core. candle runs element-wise ops on a pool of its own beside the one
/// its matrix products use, and after each op that pool's worker spins:
/// on a 2-core machine it took a core from the next product (14 % of a
/// step's CPU time under `perf`). With one thread (`CANDLE_NUM_THREADS`,
/// read once, when candle first uses the pool) a `glrl bench sft` step
/// took less time in 9 of 9 alternating pairs of runs (docs/BENCHMARKS.md). A
/// value the user set is kept. Call before the model loads.
pub(crate) fn serial_elementwise() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
}

fn sft(config: &Config, args: SftArgs) -> anyhow::Result<()> {
    serial_elementwise();
    let s = &config.train.sft;
    let targets = s
        .lora_targets
        .iter()
        .map(|t| t.parse::<Target>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let full = args.full || s.full;
    let mut cfg = SftConfig {
        lr: args.lr.unwrap_or(if full { s.full_lr } else { s.lr }),
        epochs: args.epochs.unwrap_or(s.epochs),
        batch: args.batch.unwrap_or(s.batch),
        grad_accum: args.grad_accum.unwrap_or(s.grad_accum),
        rows: args.rows.unwrap_or(s.rows),
        warmup_ratio: s.warmup_ratio,
        max_grad_norm: s.max_grad_norm,
        weight_decay: s.weight_decay,
        seed: args.seed.unwrap_or(s.seed),
        checkpoint_every: args.checkpoint_every.unwrap_or(s.checkpoint_every),
        max_steps: args.max_steps,
        lora: LoraConfig {
            r: args.rank.unwrap_or(s.lora_r),
            alpha: s.lora_alpha,
            dropout: s.lora_dropout,
            targets,
        },
        init: args.from.clone(),
        full: None,
        focal_gamma: args.focal_gamma.unwrap_or(s.focal_gamma),
    };
    anyhow::ensure!(
        cfg.focal_gamma.is_finite() && cfg.focal_gamma >= 0.0,
        "--focal-gamma must be a number ≥ 0, got {}",
        cfg.focal_gamma
    );
    let pairs = training_pairs(!args.no_erp_train, &args.data)?;
    let analyzer = analyzer(config)?;
    let builder = prompt_builder(config, &analyzer, &pairs);
    let path = model_path(config, args.model)?;
    let device = candle_core::Device::Cpu;
    let (mut model, tok): (Llama, Tokenizer) =
        glrl_model::load_model(&path, &device, WeightFormat::F32)?;
    if full {
        cfg.full = Some(Full {
            tokenizer_json: tok.to_json()?,
        });
    }
    let data = glrl_trainer::data::tokenize(&builder, &tok, &pairs)?;
    let target_tokens: usize = data.examples.iter().map(|e| e.target.len()).sum();
    let prompt_tokens: usize = data.examples.iter().map(|e| e.prompt.len()).sum();
    eprintln!(
        "{} pairs: shared prefix {} tokens, per example {:.0} prompt + {:.0} target tokens on average",
        data.examples.len(),
        data.prefix.len(),
        prompt_tokens as f64 / data.examples.len() as f64,
        target_tokens as f64 / data.examples.len() as f64
    );
    match &cfg.init {
        _ if full => eprintln!(
            "full fine-tuning: all {} parameters trainable, lr {:.1e}",
            model.parameters(),
            cfg.lr
        ),
        Some(dir) => eprintln!("continuing the adapter in {}", dir.display()),
        None => {
            let lora_params = cfg.lora.parameters(&model.config);
            eprintln!(
                "LoRA r={} alpha={} on {:?}: {} trainable parameters ({:.2}% of {})",
                cfg.lora.r,
                cfg.lora.alpha,
                cfg.lora.targets,
                lora_params,
                100.0 * lora_params as f64 / model.parameters() as f64,
                model.parameters()
            );
        }
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} step {pos}/{len} {msg} [{elapsed_precise} < {eta_precise}]",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let base = path.display().to_string();
    let last = train_sft(
        &mut model,
        &data,
        &cfg,
        &args.out,
        args.resume,
        &base,
        &mut |l| {
            bar.set_length(l.total_steps as u64);
            bar.set_position(l.step as u64);
            bar.set_message(format!(
                "epoch {} loss {:.4} lr {:.2e} {:.0} tok/s",
                l.epoch + 1,
                l.loss,
                l.lr,
                l.tokens_per_s
            ));
        },
    )
    .with_context(|| format!("training into {}", args.out.display()))?;
    bar.finish();
    let written = if full {
        format!(
            "model written to {} (serve it with model.path = that directory)",
            args.out.join("model").display()
        )
    } else {
        format!("adapter written to {}", args.out.join("adapter").display())
    };
    eprintln!(
        "step {}/{}: loss {:.4}; {written}",
        last.step, last.total_steps, last.loss
    );
    match glrl_trainer::sft::plot_metrics(&args.out) {
        Ok(png) => eprintln!("loss curve: {}", png.display()),
        Err(e) => eprintln!("warning: no loss plot: {e}"),
    }
    Ok(())
}

/// A checkpoint of full fine-tuning (a model directory), not an adapter.
fn is_full_model(dir: &std::path::Path) -> bool {
    dir.join("model.safetensors").exists()
}

#[derive(serde::Serialize, serde::Deserialize)]
struct DevPoint {
    step: usize,
    pairs: usize,
    execution_accuracy: f64,
}

/// Evaluates each checkpoint not yet in OUT/dev.jsonl, then keeps the best.
fn select(config: &Config, args: SelectArgs) -> anyhow::Result<()> {
    use std::io::Write;
    let mut pairs: Vec<Pair> = match &args.dataset {
        Some(f) => read_jsonl(f)?,
        None => parse_jsonl(glrl_erp::DEV_JSONL, "the ERP dev split")?,
    };
    if let Some(n) = args.limit {
        pairs.truncate(n);
    }
    let mut checkpoints: Vec<(usize, PathBuf)> = std::fs::read_dir(&args.out)
        .with_context(|| format!("reading {}", args.out.display()))?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let n: usize = e
                .file_name()
                .to_str()?
                .strip_prefix("checkpoint-")?
                .parse()
                .ok()?;
            Some((n, e.path()))
        })
        .collect();
    checkpoints.sort();
    anyhow::ensure!(
        !checkpoints.is_empty(),
        "no checkpoint-N directories in {}",
        args.out.display()
    );
    let log = args.out.join("dev.jsonl");
    let mut points: Vec<DevPoint> = if log.exists() {
        read_jsonl(&log)?
    } else {
        Vec::new()
    };
    points.retain(|p| p.pairs == pairs.len());
    let flags = crate::pipeline::PipelineFlags {
        candidates: Some(args.candidates),
        repair_rounds: Some(0),
        ..Default::default()
    };
    for (step, dir) in &checkpoints {
        if points.iter().any(|p| p.step == *step) {
            continue;
        }
        let mut c = config.clone();
        if is_full_model(dir) {
            // A full fine-tuning checkpoint is a model directory of its own.
            c.model.path = dir.display().to_string();
            c.model.adapter = "none".into();
        } else {
            c.model.adapter = dir.display().to_string();
        }
        let c = super::eval::sessions_in_memory(&c);
        let (preds, _) = super::eval::generate(&c, &flags, &pairs, &Default::default())?;
        let report = super::eval::score(&c, &pairs, &preds)?;
        eprintln!(
            "checkpoint {step}: dev execution accuracy {:.3} on {} pairs",
            report.execution_accuracy,
            pairs.len()
        );
        let p = DevPoint {
            step: *step,
            pairs: pairs.len(),
            execution_accuracy: report.execution_accuracy,
        };
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)?;
        writeln!(f, "{}", serde_json::to_string(&p)?)?;
        points.push(p);
    }
    points.sort_by_key(|p| p.step);
    // Best accuracy; the later checkpoint on a tie (it has seen more data).
    let best = points
        .iter()
        .filter(|p| checkpoints.iter().any(|(s, _)| *s == p.step))
        .max_by(|a, b| {
            a.execution_accuracy
                .total_cmp(&b.execution_accuracy)
                .then(a.step.cmp(&b.step))
        })
        .ok_or_else(|| anyhow::anyhow!("no checkpoint was evaluated"))?;
    let (_, dir) = checkpoints
        .iter()
        .find(|(s, _)| *s == best.step)
        .ok_or_else(|| anyhow::anyhow!("checkpoint vanished"))?;
    let device = candle_core::Device::Cpu;
    let best_dir = args.out.join("best");
    if is_full_model(dir) {
        let weights: Vec<(String, candle_core::Tensor)> =
            candle_core::safetensors::load(dir.join("model.safetensors"), &device)?
                .into_iter()
                .collect();
        let model_config = glrl_model::Config::from_hf_json(&dir.join("config.json"))?;
        glrl_model::weights::save_hf_checkpoint(
            &best_dir,
            &model_config,
            &weights,
            candle_core::DType::BF16,
        )?;
        std::fs::copy(dir.join("tokenizer.json"), best_dir.join("tokenizer.json"))?;
    } else {
        let path = model_path(config, None)?;
        let model_config = glrl_model::Config::from_model_path(&path)?;
        let adapter = glrl_model::LoraAdapter::load_peft(dir, &model_config, &device)?;
        adapter.save_peft(
            &best_dir,
            &path.display().to_string(),
            candle_core::DType::BF16,
        )?;
    }
    let series: Vec<(f64, f64)> = points
        .iter()
        .map(|p| (p.step as f64, p.execution_accuracy))
        .collect();
    let png = args.out.join("dev_accuracy.png");
    glrl_trainer::plot::line_chart(
        &png,
        "Dev execution accuracy (greedy)",
        "optimizer step",
        "execution accuracy",
        &[("dev", series)],
    )?;
    println!(
        "best: checkpoint {} with dev execution accuracy {:.3} on {} pairs -> {} (plot {})",
        best.step,
        best.execution_accuracy,
        best.pairs,
        best_dir.display(),
        png.display()
    );
    Ok(())
}

fn grpo(config: &Config, args: GrpoArgs) -> anyhow::Result<()> {
    use glrl_reward_evaluator::RewardEvaluator;
    use glrl_trainer::grpo::{train_grpo, Constraint, GrpoConfig, GrpoData, Scored};
    let g = &config.train.grpo;
    let cfg = GrpoConfig {
        lr: args.lr.unwrap_or(g.lr),
        kl_coef: args.kl.unwrap_or(g.kl_coef),
        group_size: args.group_size.unwrap_or(g.group_size),
        steps: args.steps.unwrap_or(g.steps),
        questions_per_step: args.questions_per_step.unwrap_or(g.questions_per_step),
        temperature: args.temperature.unwrap_or(g.temperature),
        top_p: g.top_p,
        clip_eps: g.clip_eps,
        max_new_tokens: args.max_new_tokens.unwrap_or(g.max_new_tokens),
        updates_per_batch: g.updates_per_batch,
        max_grad_norm: g.max_grad_norm,
        seed: args.seed.unwrap_or(g.seed),
        checkpoint_every: args.checkpoint_every.unwrap_or(g.checkpoint_every),
        max_steps: args.max_steps,
        rows_per_pass: g.rows,
        fold_sampler: g.fold_sampler,
        scale_advantages: g.scale_advantages && !args.centred_advantages,
        ..GrpoConfig::default()
    };
    let weights = reward_weights(&g.reward, args.accuracy_weight)?;
    let path = model_path(config, None)?;
    let start = match args.from.clone() {
        Some(dir) => Some(dir),
        None => crate::adapter::resolve(config, &path)?,
    };
    let mut pairs = training_pairs(!args.no_erp_train, &args.data)?;
    unique_ids(&mut pairs);
    let db = context::open_db(config)?;
    let analyzer = context::analyzer(config, db.as_ref())?;
    let validator = crate::context::validator(config, &analyzer, db.as_ref())?;
    let evaluator =
        RewardEvaluator::new(&validator, db.as_ref(), analyzer.schema()).with_weights(weights);
    let builder = prompt_builder(config, &analyzer, &pairs);
    let device = candle_core::Device::Cpu;
    let (mut model, tok): (Llama, Tokenizer) =
        glrl_model::load_model(&path, &device, WeightFormat::F32)?;
    let data = glrl_trainer::data::tokenize(&builder, &tok, &pairs)?;
    let vocab = glrl_query_generator::SqlVocabulary::from_analyzer(&analyzer);
    let texts = tok.token_texts();
    let mut stop_tokens: Vec<u32> = ["<|im_end|>", "<|endoftext|>"]
        .iter()
        .filter_map(|t| tok.token_id(t))
        .collect();
    stop_tokens.extend(tok.eos_id());
    let decode = |t: &[u32]| tok.decode(t, true).unwrap_or_default();
    let gd = GrpoData {
        data: &data,
        think: tok.encode("<think>")?,
        constraint: config.generator.constrained.then(|| Constraint {
            vocab: &vocab,
            texts: &texts,
            end_tokens: stop_tokens.clone(),
        }),
        stop_tokens: stop_tokens.clone(),
        decode: &decode,
    };
    let gold_sql: std::collections::HashMap<&str, &str> = pairs
        .iter()
        .map(|p| (p.id.as_str(), p.sql.as_str()))
        .collect();
    let mut golds = std::collections::HashMap::new();
    let mut reward = |id: &str, text: &str| -> Scored {
        let gold = golds
            .entry(id.to_string())
            .or_insert_with(|| evaluator.gold(gold_sql.get(id).copied().unwrap_or("")));
        let r = evaluator.score(text, Some(gold));
        Scored {
            total: r.total,
            components: r
                .dimensions
                .iter()
                .map(|d| (d.name.to_string(), d.score))
                .collect(),
            correct: r.dimension("accuracy").is_some_and(|d| d.score >= 1.0),
        }
    };
    eprintln!(
        "GRPO from {} ({} questions, group {}, {} steps, lr {:.1e}, KL {}, accuracy weight {:.2} \
         of {:.2}, advantages {}; sampling from {})",
        start
            .as_ref()
            .map_or("a fresh LoRA".into(), |p| p.display().to_string()),
        data.examples.len(),
        cfg.group_size,
        cfg.steps,
        cfg.lr,
        cfg.kl_coef,
        weights.accuracy,
        weights.values().iter().sum::<f64>(),
        if cfg.scale_advantages {
            "scaled"
        } else {
            "centred"
        },
        if cfg.fold_sampler {
            "a Q8_0 copy with the policy folded in"
        } else {
            "the training model"
        }
    );
    let bar = indicatif::ProgressBar::new(cfg.steps as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} step {pos}/{len} {msg} [{elapsed_precise} < {eta_precise}]",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let last = train_grpo(
        &mut model,
        &gd,
        start.as_deref(),
        &cfg,
        &args.out,
        args.resume,
        &path.display().to_string(),
        &mut reward,
        &mut |l| {
            bar.set_position(l.step as u64);
            bar.set_message(format!(
                "reward {:.3} acc {:.2} KL {:.4} len {:.0}",
                l.reward_mean, l.accuracy, l.kl, l.length
            ));
        },
    )
    .with_context(|| format!("training into {}", args.out.display()))?;
    bar.finish();
    eprintln!(
        "step {}/{}: mean reward {:.3}; adapter written to {}",
        last.step,
        last.total_steps,
        last.reward_mean,
        args.out.join("adapter").display()
    );
    match glrl_trainer::grpo::plot_metrics(&args.out) {
        Ok(png) => eprintln!("reward curve: {}", png.display()),
        Err(e) => eprintln!("warning: no reward plot: {e}"),
    }
    Ok(())
}

/// GRPO's reward weights from the configuration, the accuracy weight
/// overridden by the flag when given.
fn reward_weights(
    w: &glrl_config::RewardWeights,
    accuracy: Option<f64>,
) -> anyhow::Result<glrl_reward_evaluator::Weights> {
    let weights = glrl_reward_evaluator::Weights {
        accuracy: accuracy.unwrap_or(w.accuracy),
        ..*w
    };
    let all = weights.values();
    if all.iter().any(|x| !x.is_finite() || *x < 0.0) || all.iter().sum::<f64>() <= 0.0 {
        anyhow::bail!(
            "reward weights must be finite, not negative and not all zero (got {weights:?})"
        );
    }
    Ok(weights)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpo_reward_weights_take_the_flag_and_refuse_negatives() {
        let cfg = glrl_config::RewardWeights::default();
        assert_eq!(reward_weights(&cfg, None).unwrap(), cfg);
        assert_eq!(reward_weights(&cfg, Some(0.9)).unwrap().accuracy, 0.9);
        assert!(reward_weights(&cfg, Some(-0.1)).is_err());
        assert!(reward_weights(&cfg, Some(f64::NAN)).is_err());
        let zero = glrl_config::RewardWeights {
            syntax: 0.0,
            schema: 0.0,
            business: 0.0,
            performance: 0.0,
            reasoning: 0.0,
            accuracy: 0.0,
        };
        assert!(reward_weights(&zero, None).is_err());
    }

    fn pair(id: &str, sql: &str) -> Pair {
        Pair {
            id: id.into(),
            sql: sql.into(),
            ..Pair::default()
        }
    }

    #[test]
    fn pairs_from_several_generated_files_keep_ids_of_their_own() {
        let mut pairs = vec![
            pair("gen-00001", "SELECT 1"),
            pair("gen-00002", "SELECT 2"),
            pair("gen-00001", "SELECT 3"),
            pair("gen-00001", "SELECT 4"),
        ];
        unique_ids(&mut pairs);
        let ids: Vec<&str> = pairs.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(
            ids,
            ["gen-00001", "gen-00002", "gen-00001#2", "gen-00001#3"]
        );
    }
}
