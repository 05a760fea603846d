//! `glrl train sft`: LoRA supervised fine-tuning on the ERP train split
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
use glrl_trainer::sft::{train_sft, SftConfig};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum Action {
    /// Supervised fine-tuning of a LoRA adapter (settings: [train.sft] in the config, overridden by flags).
    Sft(SftArgs),
    /// Write the training prompts as JSONL for Hugging Face TRL (sft.jsonl: prompt-completion; grpo.jsonl: prompt + gold_sql).
    Export(ExportArgs),
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
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    lr: Option<f64>,
    #[arg(long)]
    batch: Option<usize>,
    #[arg(long)]
    grad_accum: Option<usize>,
    #[arg(long)]
    seed: Option<u64>,
    #[arg(long)]
    checkpoint_every: Option<usize>,
    /// LoRA rank.
    #[arg(long)]
    rank: Option<usize>,
    /// A GGUF file or Hugging Face directory [default: the configured or embedded model].
    #[arg(long, value_name = "PATH")]
    model: Option<PathBuf>,
}

pub fn run(config: &Config, action: Action) -> anyhow::Result<()> {
    match action {
        Action::Sft(args) => sft(config, args),
        Action::Export(args) => export(config, args),
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

fn sft(config: &Config, args: SftArgs) -> anyhow::Result<()> {
    let s = &config.train.sft;
    let targets = s
        .lora_targets
        .iter()
        .map(|t| t.parse::<Target>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let cfg = SftConfig {
        lr: args.lr.unwrap_or(s.lr),
        epochs: args.epochs.unwrap_or(s.epochs),
        batch: args.batch.unwrap_or(s.batch),
        grad_accum: args.grad_accum.unwrap_or(s.grad_accum),
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
    };
    let pairs = training_pairs(!args.no_erp_train, &args.data)?;
    let analyzer = analyzer(config)?;
    let builder = prompt_builder(config, &analyzer, &pairs);
    let path = model_path(config, args.model)?;
    let device = candle_core::Device::Cpu;
    let (mut model, tok): (Llama, Tokenizer) =
        glrl_model::load_model(&path, &device, WeightFormat::F32)?;
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
    eprintln!(
        "step {}/{}: loss {:.4}; adapter written to {}",
        last.step,
        last.total_steps,
        last.loss,
        args.out.join("adapter").display()
    );
    Ok(())
}
