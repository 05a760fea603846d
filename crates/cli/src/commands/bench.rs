//! `glrl bench model`: the model runtime's speed and memory, measured on
//! the real code path (`forward_batch`, `generate`, the local backend with
//! its prefix cache) and, in the same run, llama.cpp on the same GGUF,
//! prompt ids and thread count (scripts/bench_llama_cpp.py through the
//! llama-cpp-python built by scripts/fetch-llama-cpp.sh).

use crate::commands::model::model_path;
use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};
use glrl_config::Config;
use glrl_model::backend::{Generator, Local, Request};
use glrl_model::generate::{generate, GenerateOptions, NoProcessor};
use glrl_model::tokenizer::{ChatMessage, Tokenizer};
use glrl_model::{KvCache, Llama, Pass, WeightFormat};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Subcommand)]
pub enum Action {
    /// Prompt and decode tokens/s versus llama.cpp, batched candidates versus sequential, prefix caching, peak memory.
    Model(ModelArgs),
    /// One LoRA SFT optimizer step (forward, backward, AdamW) versus PyTorch + PEFT on the same model, batch and threads.
    Sft(SftArgs),
    /// `glrl ask` end to end on ERP dev questions: latency percentiles, questions per minute,
    /// orchestration overhead (everything but model and database time), execution accuracy.
    Ask(super::bench_ask::Args),
}

#[derive(ClapArgs)]
pub struct SftArgs {
    /// A GGUF file [default: the embedded model].
    #[arg(long, value_name = "PATH")]
    model: Option<PathBuf>,
    /// Threads for both glrl and PyTorch [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Timed optimizer steps after one warm-up step (the median is reported).
    #[arg(long, default_value_t = 3)]
    steps: usize,
    /// Sequences per optimizer step.
    #[arg(long, default_value_t = 2)]
    batch: usize,
    /// Sequences per forward pass (as `train sft --rows`) [default: the whole batch, as the peer].
    #[arg(long)]
    rows: Option<usize>,
    /// Tokens per sequence.
    #[arg(long, default_value_t = 256)]
    seq: usize,
    /// LoRA rank (alpha twice the rank, as `train sft`'s defaults).
    #[arg(long, default_value_t = 32)]
    rank: usize,
    /// Python with torch, transformers, peft and gguf [default: target/peer/hf/bin/python].
    #[arg(long, value_name = "PYTHON")]
    peer_python: Option<PathBuf>,
    /// Skip the PyTorch + PEFT comparison.
    #[arg(long)]
    no_peer: bool,
    /// Peak FP32 GFLOP/s of the machine, for model-FLOPs utilisation [default: from /proc/cpuinfo:
    /// cores × 2 FMA pipes × 16 lanes (8 without AVX-512) × 2 × MHz].
    #[arg(long)]
    peak_gflops: Option<f64>,
    /// Also write the results as JSON here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

#[derive(ClapArgs)]
pub struct ModelArgs {
    /// A GGUF file [default: the embedded model].
    #[arg(long, value_name = "PATH")]
    model: Option<PathBuf>,
    /// Weights in memory: q8_0, gguf (as stored) or f32.
    #[arg(long, default_value = "q8_0")]
    weights: WeightFormat,
    /// Threads for both glrl and llama.cpp [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Repetitions per measurement (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Python of a llama-cpp-python environment [default: the one scripts/fetch-llama-cpp.sh builds].
    #[arg(long, value_name = "PYTHON")]
    peer_python: Option<PathBuf>,
    /// Skip the llama.cpp comparison.
    #[arg(long)]
    no_peer: bool,
    /// Also write the results as JSON here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

pub fn run(config: &Config, action: Action) -> anyhow::Result<()> {
    match action {
        Action::Model(args) => model(config, args),
        Action::Sft(args) => sft(config, args),
        Action::Ask(args) => super::bench_ask::run(config, args),
    }
}

/// cores × 2 FMA pipes × FP32 lanes (16 with AVX-512, else 8) × 2 FLOP ×
/// MHz.
fn estimated_peak_gflops() -> Option<f64> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let mhz: f64 = info
        .lines()
        .find(|l| l.starts_with("cpu MHz"))?
        .split(':')
        .nth(1)?
        .trim()
        .parse()
        .ok()?;
    let cores = std::thread::available_parallelism().ok()?.get() as f64;
    #[cfg(target_arch = "x86_64")]
    let lanes = if std::arch::is_x86_feature_detected!("avx512f") {
        16.0
    } else {
        8.0
    };
    #[cfg(not(target_arch = "x86_64"))]
    let lanes = 4.0;
    Some(cores * 2.0 * lanes * 2.0 * mhz / 1000.0)
}

fn sft(config: &Config, args: SftArgs) -> anyhow::Result<()> {
    use glrl_model::{LoraAdapter, LoraConfig};
    use glrl_trainer::data::Example;
    use glrl_trainer::optim::AdamW;
    use glrl_trainer::sft::{sft_step, ADAPTER};
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    super::train::serial_elementwise();
    let path = model_path(config, args.model)?;
    let device = candle_core::Device::Cpu;
    let mut llama = Llama::from_gguf_file_with(&path, &device, WeightFormat::F32)?;
    let tok = Tokenizer::from_gguf_file(&path)?;
    let lora = LoraConfig {
        r: args.rank,
        alpha: 2.0 * args.rank as f64,
        ..LoraConfig::default()
    };
    let adapter = LoraAdapter::new(&llama.config, lora, 0, &device)?;
    let vars = adapter.vars();
    let trainable = adapter.trainable_parameters();
    llama.add_adapter(ADAPTER, adapter)?;
    let mut opt = AdamW::new(vars.clone(), 0.0)?;
    // The same ids for both sides; loss on every next token, as the peer's
    // `labels = input_ids`.
    let base = prompt_ids(&tok, args.seq * args.batch)?;
    let batch_ids: Vec<Vec<u32>> = base.chunks(args.seq).map(<[u32]>::to_vec).collect();
    let examples: Vec<Example> = batch_ids
        .iter()
        .map(|ids| Example {
            id: String::new(),
            prompt: ids[..1].to_vec(),
            target: ids[1..].to_vec(),
        })
        .collect();
    let refs: Vec<&Example> = examples.iter().collect();
    let rows = args.rows.unwrap_or(args.batch);
    let mut times = Vec::new();
    for i in 0..=args.steps.max(1) {
        let start = Instant::now();
        sft_step(
            &llama,
            Some(ADAPTER),
            &vars,
            &mut opt,
            &[],
            &refs,
            rows,
            2e-4,
            1.0,
            0.0,
        )?;
        if i > 0 {
            times.push(start.elapsed().as_secs_f64());
        }
    }
    let step_s = median(times);
    let tokens = (args.seq * args.batch) as f64;
    let params = llama.parameters() as f64;
    let peak = args.peak_gflops.or_else(estimated_peak_gflops);
    let mfu = |s: f64| peak.map(|p| 6.0 * params * tokens / s / (p * 1e9));
    eprintln!(
        "glrl: {} × {} tokens ({rows} per pass), LoRA r={} ({trainable} trainable): {step_s:.2} s/step, {:.0} tokens/s",
        args.batch,
        args.seq,
        args.rank,
        tokens / step_s
    );
    let mut result = json!({
        "machine": machine(),
        "threads": threads,
        "rows_per_pass": rows,
        "peak_gflops": peak,
        "glrl": {"step_s": step_s, "tokens_per_s": tokens / step_s, "trainable": trainable,
                 "mfu": mfu(step_s), "peak_rss_mib": peak_rss_mib()},
    });
    if !args.no_peer {
        let py = args.peer_python.unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/peer/hf/bin/python")
        });
        let peer_args = [
            Some(path.display().to_string()),
            Some(threads.to_string()),
            Some(args.steps.max(1).to_string()),
            None,
            Some(args.rank.to_string()),
            Some((2 * args.rank).to_string()),
        ];
        let spec = json!({"batch": batch_ids});
        match run_peer("PEFT", &py, "bench_peft_sft.py", &spec, &peer_args) {
            Ok(mut p) => {
                if let Some(s) = p["step_s"].as_f64() {
                    p["mfu"] = json!(mfu(s));
                    result["ratio_tokens_per_s"] = json!(s / step_s);
                }
                eprintln!("PEFT: {p}");
                result["peft"] = p;
            }
            Err(e) => eprintln!("PEFT comparison skipped: {e:#}"),
        }
    }
    emit(&result, args.json)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Peak resident memory of this process so far (Linux `VmHWM`), MiB.
fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Exactly `n` token ids of realistic text (the ERP DDL, repeated).
fn prompt_ids(tok: &Tokenizer, n: usize) -> anyhow::Result<Vec<u32>> {
    let base = tok.encode(glrl_erp::SCHEMA_SQL)?;
    anyhow::ensure!(!base.is_empty(), "the tokenizer produced no tokens");
    Ok(base.iter().copied().cycle().take(n).collect())
}

fn model(config: &Config, args: ModelArgs) -> anyhow::Result<()> {
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    // candle's CPU pool reads this once, before its first use.
    std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    let runs = args.runs.max(1);
    let path = model_path(config, args.model)?;
    let device = candle_core::Device::Cpu;
    let t = Instant::now();
    let llama = Llama::from_gguf_file_with(&path, &device, args.weights)?;
    let load_s = t.elapsed().as_secs_f64();
    let tok = Tokenizer::from_gguf_file(&path)?;
    eprintln!(
        "glrl: {} ({:?} weights, {threads} threads), loaded in {load_s:.2} s",
        path.display(),
        args.weights
    );

    let mut prompts = serde_json::Map::new();
    let mut glrl_prompt = serde_json::Map::new();
    for n in [64usize, 512] {
        let ids = prompt_ids(&tok, n)?;
        let t = candle_core::Tensor::new(ids.as_slice(), &device)?.unsqueeze(0)?;
        let mut tps = Vec::new();
        for _ in 0..runs {
            let start = Instant::now();
            llama.forward_batch(&t, &mut KvCache::default(), Pass::last())?;
            tps.push(n as f64 / start.elapsed().as_secs_f64());
        }
        let m = median(tps);
        eprintln!("glrl: prompt {n} tokens: {m:.1} tokens/s");
        glrl_prompt.insert(n.to_string(), json!({"tokens": n, "tokens_per_s": m}));
        prompts.insert(n.to_string(), json!(ids));
    }

    // Decode: greedy, 128 tokens after the 64-token prompt, no stop token;
    // timed from the first generated token to the last.
    let decode_tokens = 128;
    let ids64 = prompt_ids(&tok, 64)?;
    let mut dec = Vec::new();
    for _ in 0..runs {
        let opts = GenerateOptions {
            max_new_tokens: decode_tokens,
            ..GenerateOptions::default()
        };
        let mut first: Option<Instant> = None;
        generate(&llama, &ids64, &opts, &mut NoProcessor, &mut |_, _| {
            first.get_or_insert_with(Instant::now);
        })?;
        let first = first.context("no token was generated")?;
        dec.push((decode_tokens - 1) as f64 / first.elapsed().as_secs_f64());
    }
    let decode = median(dec);
    eprintln!("glrl: decode {decode:.1} tokens/s");

    // Batched candidates: N=5 × 128 tokens on a 512-token prompt, versus 5
    // sequential generations of one candidate each.
    let ids512 = prompt_ids(&tok, 512)?;
    let (n, new) = (5usize, 128usize);
    let sampled = GenerateOptions {
        max_new_tokens: new,
        temperature: 0.8,
        top_p: 0.95,
        seed: 1,
        n,
        ..GenerateOptions::default()
    };
    let start = Instant::now();
    let out = generate(&llama, &ids512, &sampled, &mut NoProcessor, &mut |_, _| {})?;
    let batched_s = start.elapsed().as_secs_f64();
    let batched_tokens: usize = out.iter().map(|c| c.tokens.len()).sum();
    let start = Instant::now();
    let mut seq_tokens = 0;
    for c in 0..n {
        let one = GenerateOptions {
            n: 1,
            seed: 1 + c as u64,
            ..sampled.clone()
        };
        seq_tokens += generate(&llama, &ids512, &one, &mut NoProcessor, &mut |_, _| {})?[0]
            .tokens
            .len();
    }
    let sequential_s = start.elapsed().as_secs_f64();
    let speedup = (batched_tokens as f64 / batched_s) / (seq_tokens as f64 / sequential_s);
    eprintln!(
        "glrl: {n}×{new} candidates on a 512-token prompt: batched {:.1} tokens/s ({batched_s:.2} s), sequential {:.1} tokens/s ({sequential_s:.2} s): {speedup:.2}×",
        batched_tokens as f64 / batched_s,
        seq_tokens as f64 / sequential_s
    );

    // Prefix caching: system prompt + full ERP schema shared; two
    // different questions; time to the first token.
    let local = Local::new(llama, tok, "bench");
    let system = format!(
        "You translate questions into SQLite SQL over this schema.\n{}",
        glrl_erp::SCHEMA_SQL
    );
    // Seconds to answer `q` over the shared prefix, and the tokens made.
    let ask = |q: &str, req: Request| -> anyhow::Result<(f64, usize)> {
        let req = Request {
            messages: vec![
                ChatMessage::new("system", &system),
                ChatMessage::new("user", q),
            ],
            shared_messages: 1,
            ..req
        };
        let start = Instant::now();
        let out = local.complete(&req, None)?;
        let made = out.iter().map(|c| c.logprobs.len()).sum();
        Ok((start.elapsed().as_secs_f64(), made))
    };
    let first_token = || Request {
        max_new_tokens: 1,
        ..Request::default()
    };
    let (prefix_ids, _) = local.prompt(&Request {
        messages: vec![ChatMessage::new("system", &system)],
        ..Request::default()
    })?;
    let (cold, _) = ask(
        "Which suppliers in Germany have live contracts over budget?",
        first_token(),
    )?;
    let (warm, _) = ask("How many projects are active?", first_token())?;
    eprintln!(
        "glrl: prefix of {} tokens: first question {:.0} ms, second question {:.0} ms ({:.1}× faster)",
        prefix_ids.len(),
        cold * 1e3,
        warm * 1e3,
        cold / warm
    );
    // The pipeline's shape: five sampled candidates after the prefix and a
    // question, every step attending to ~1,900 positions (the 512-token
    // prompt above leaves attention a small share of a step).
    let (mut long, mut long_made) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let (s, made) = ask(
            "Which projects have more than three staff?",
            Request {
                n,
                max_new_tokens: 64,
                temperature: 0.8,
                top_p: 0.95,
                seed: 1 + run as u64,
                ..Request::default()
            },
        )?;
        long.push(made as f64 / s);
        long_made.push(made);
    }
    let long_tps = median(long);
    eprintln!(
        "glrl: {n}×64 candidates after the {}-token prefix: {long_tps:.1} tokens/s (tokens made: {long_made:?})",
        prefix_ids.len()
    );
    let glrl_rss = peak_rss_mib();

    let mut result = json!({
        "machine": machine(),
        "model": path.display().to_string(),
        "threads": threads,
        "glrl": {
            "weights": format!("{:?}", args.weights),
            "load_s": load_s,
            "prompt": glrl_prompt,
            "decode": {"tokens": decode_tokens, "tokens_per_s": decode},
            "batched": {"n": n, "new_tokens": new, "prompt_tokens": 512,
                        "batched_s": batched_s, "sequential_s": sequential_s,
                        "batched_tokens_per_s": batched_tokens as f64 / batched_s,
                        "sequential_tokens_per_s": seq_tokens as f64 / sequential_s,
                        "speedup": speedup},
            "prefix_cache": {"prefix_tokens": prefix_ids.len(), "first_s": cold, "second_s": warm},
            "after_prefix": {"n": n, "max_new_tokens": 64, "tokens": long_made,
                             "tokens_per_s": long_tps},
            "peak_rss_mib": glrl_rss,
        },
    });
    if !args.no_peer {
        let py = args
            .peer_python
            .clone()
            .unwrap_or_else(|| config.home.join("peers/llama-cpp-python-0.3.36/bin/python"));
        let spec = json!({"prompts": prompts, "decode_prompt": "64", "decode_tokens": 128});
        let peer_args = [
            Some(path.display().to_string()),
            Some(threads.to_string()),
            Some(runs.to_string()),
            None,
        ];
        match run_peer("llama.cpp", &py, "bench_llama_cpp.py", &spec, &peer_args) {
            Ok(p) => {
                let ratio = |a: &Value, b: &Value| match (a.as_f64(), b.as_f64()) {
                    (Some(a), Some(b)) if b > 0.0 => json!(a / b),
                    _ => Value::Null,
                };
                let g = &result["glrl"];
                let ratios = json!({
                    "prompt_64": ratio(&g["prompt"]["64"]["tokens_per_s"], &p["prompt"]["64"]["tokens_per_s"]),
                    "prompt_512": ratio(&g["prompt"]["512"]["tokens_per_s"], &p["prompt"]["512"]["tokens_per_s"]),
                    "decode": ratio(&g["decode"]["tokens_per_s"], &p["decode"]["tokens_per_s"]),
                });
                eprintln!("llama.cpp: {p}");
                eprintln!("glrl / llama.cpp: {ratios}");
                result["llama_cpp"] = p;
                result["ratio"] = ratios;
            }
            Err(e) => eprintln!(
                "llama.cpp comparison skipped: {e:#}; build it with scripts/fetch-llama-cpp.sh"
            ),
        }
    }
    emit(&result, args.json)
}

/// Runs a peer benchmark script (`scripts/NAME`) with `py`: writes `spec`
/// to a temporary JSON file, passes its path where `args` holds `None`,
/// and parses the JSON object the script prints last.
fn run_peer(
    label: &str,
    py: &Path,
    script: &str,
    spec: &Value,
    args: &[Option<String>],
) -> anyhow::Result<Value> {
    anyhow::ensure!(py.exists(), "{} not found", py.display());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts")
        .join(script);
    anyhow::ensure!(
        script.exists(),
        "{} not found (run from the source tree)",
        script.display()
    );
    let spec_path = tempfile_path(&format!("glrl-bench-{label}.json"));
    std::fs::write(&spec_path, serde_json::to_string(spec)?)?;
    eprintln!("{label}: running {} …", script.display());
    let mut cmd = std::process::Command::new(py);
    cmd.arg(&script);
    for a in args {
        match a {
            Some(a) => cmd.arg(a),
            None => cmd.arg(&spec_path),
        };
    }
    let out = cmd
        .output()
        .with_context(|| format!("running {}", py.display()));
    let _ = std::fs::remove_file(&spec_path);
    let out = out?;
    anyhow::ensure!(
        out.status.success(),
        "the {label} benchmark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).with_context(|| format!("parsing the {label} result {line:?}"))
}

/// Prints the result and writes it to `--json` when asked.
fn emit(result: &Value, json: Option<PathBuf>) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(result)?;
    println!("{text}");
    if let Some(p) = json {
        std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

fn tempfile_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{}-{name}", std::process::id()))
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores")
}
