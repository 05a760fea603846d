//! LoRA adapters: low-rank deltas `scale · B·A` on chosen projections, A
//! random and B zero at initialisation, saved and loaded in Hugging Face
//! PEFT's format (`adapter_config.json` + `adapter_model.safetensors`
//! with PEFT's key names) so adapters move between glrl and Python.

use crate::config::Config;
use crate::ModelError;
use candle_core::{DType, Device, Tensor, Var};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// A projection LoRA can wrap, named as PEFT names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Q,
    K,
    V,
    O,
    Gate,
    Up,
    Down,
}

impl Target {
    pub const ALL: [Target; 7] = [
        Target::Q,
        Target::K,
        Target::V,
        Target::O,
        Target::Gate,
        Target::Up,
        Target::Down,
    ];

    pub fn peft_name(self) -> &'static str {
        match self {
            Target::Q => "q_proj",
            Target::K => "k_proj",
            Target::V => "v_proj",
            Target::O => "o_proj",
            Target::Gate => "gate_proj",
            Target::Up => "up_proj",
            Target::Down => "down_proj",
        }
    }

    /// Module path inside a decoder layer.
    pub(crate) fn module(self) -> String {
        let block = match self {
            Target::Gate | Target::Up | Target::Down => "mlp",
            _ => "self_attn",
        };
        format!("{block}.{}", self.peft_name())
    }

    /// `[out, in]` of the projection.
    pub fn shape(self, c: &Config) -> (usize, usize) {
        let kv = c.kv_heads * c.head_dim();
        match self {
            Target::Q | Target::O => (c.hidden, c.hidden),
            Target::K | Target::V => (kv, c.hidden),
            Target::Gate | Target::Up => (c.intermediate, c.hidden),
            Target::Down => (c.hidden, c.intermediate),
        }
    }
}

impl std::str::FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Target, String> {
        let s = s.trim().to_ascii_lowercase();
        let s = s.strip_suffix("_proj").unwrap_or(&s);
        Ok(match s {
            "q" => Target::Q,
            "k" => Target::K,
            "v" => Target::V,
            "o" => Target::O,
            "gate" => Target::Gate,
            "up" => Target::Up,
            "down" => Target::Down,
            _ => {
                return Err(format!(
                    "unknown LoRA target '{s}' (q, k, v, o, gate, up, down)"
                ))
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoraConfig {
    pub r: usize,
    pub alpha: f64,
    pub dropout: f32,
    pub targets: Vec<Target>,
}

impl Default for LoraConfig {
    fn default() -> Self {
        LoraConfig {
            r: 32,
            alpha: 64.0,
            dropout: 0.1,
            targets: Target::ALL.to_vec(),
        }
    }
}

impl LoraConfig {
    /// Trainable parameters of such an adapter on a model of shape `model`.
    pub fn parameters(&self, model: &Config) -> u64 {
        let per_layer: usize = self
            .targets
            .iter()
            .map(|t| {
                let (o, i) = t.shape(model);
                self.r * (o + i)
            })
            .sum();
        (per_layer * model.layers) as u64
    }
}

/// The A `[r, in]` and B `[out, r]` of one wrapped projection.
pub struct LoraPair {
    pub a: Var,
    pub b: Var,
}

pub struct LoraAdapter {
    pub config: LoraConfig,
    pub pairs: BTreeMap<(usize, Target), LoraPair>,
}

/// PEFT's `adapter_config.json`, the fields that matter here.
#[derive(Serialize, Deserialize)]
struct PeftConfig {
    peft_type: String,
    r: usize,
    lora_alpha: f64,
    #[serde(default)]
    lora_dropout: f32,
    target_modules: TargetModules,
    #[serde(default)]
    bias: Option<String>,
    #[serde(default)]
    task_type: Option<String>,
    #[serde(default)]
    base_model_name_or_path: Option<String>,
    #[serde(default)]
    fan_in_fan_out: bool,
    #[serde(default)]
    use_rslora: bool,
    #[serde(default)]
    use_dora: bool,
    #[serde(default)]
    inference_mode: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum TargetModules {
    List(Vec<String>),
    One(String),
}

fn peft_key(layer: usize, t: Target, ab: &str) -> String {
    format!(
        "base_model.model.model.layers.{layer}.{}.lora_{ab}.weight",
        t.module()
    )
}

fn cerr(e: candle_core::Error) -> ModelError {
    ModelError::Adapter(e.to_string())
}

impl LoraAdapter {
    /// A fresh adapter: A uniform in ±1/√in (PEFT's Kaiming-uniform bound
    /// with a = √5), B zero, so the adapted model starts equal to the base.
    pub fn new(
        model: &Config,
        config: LoraConfig,
        seed: u64,
        device: &Device,
    ) -> Result<LoraAdapter, ModelError> {
        if config.r == 0 {
            return Err(ModelError::Adapter("LoRA rank must be at least 1".into()));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut pairs = BTreeMap::new();
        for layer in 0..model.layers {
            for &t in &config.targets {
                let (out, inp) = t.shape(model);
                let bound = 1.0 / (inp as f32).sqrt();
                let a: Vec<f32> = (0..config.r * inp)
                    .map(|_| (rng.random::<f32>() * 2.0 - 1.0) * bound)
                    .collect();
                let a =
                    Var::from_tensor(&Tensor::from_vec(a, (config.r, inp), device).map_err(cerr)?)
                        .map_err(cerr)?;
                let b = Var::zeros((out, config.r), DType::F32, device).map_err(cerr)?;
                pairs.insert((layer, t), LoraPair { a, b });
            }
        }
        Ok(LoraAdapter { config, pairs })
    }

    pub fn scale(&self) -> f64 {
        self.config.alpha / self.config.r as f64
    }

    pub fn vars(&self) -> Vec<Var> {
        self.pairs
            .values()
            .flat_map(|p| [p.a.clone(), p.b.clone()])
            .collect()
    }

    pub fn trainable_parameters(&self) -> u64 {
        self.pairs
            .values()
            .map(|p| (p.a.elem_count() + p.b.elem_count()) as u64)
            .sum()
    }

    /// `scale · dropout(x)·Aᵀ·Bᵀ` for the projection, if it is wrapped.
    /// Without `grad` the factors are used detached, so a pass that wants
    /// no gradient (a shared prefix, generation) records no graph.
    pub fn delta(
        &self,
        layer: usize,
        t: Target,
        x: &Tensor,
        dropout: Option<&mut ChaCha8Rng>,
        grad: bool,
    ) -> candle_core::Result<Option<Tensor>> {
        let Some(p) = self.pairs.get(&(layer, t)) else {
            return Ok(None);
        };
        let x = match self.draw_dropout(dropout, x.elem_count()) {
            Some(d) if x.device().is_cpu() => crate::ops::dropout(x, d.keep, d.scale)?,
            Some(d) => {
                let mask: Vec<f32> = d
                    .keep
                    .iter()
                    .map(|&k| if k == 1 { d.scale } else { 0.0 })
                    .collect();
                (x * Tensor::from_vec(mask, x.shape(), x.device())?)?
            }
            None => x.clone(),
        };
        // Scaled at rank width, before B: one [tokens, r] product instead
        // of another [tokens, out] one kept for the backward.
        let scale = self.scale();
        let (a, b) = if grad {
            (p.a.as_tensor().clone(), p.b.as_tensor().clone())
        } else {
            (p.a.as_tensor().detach(), p.b.as_tensor().detach())
        };
        let y = crate::linear::on_rows(&x, |x2| (x2.matmul(&a.t()?)? * scale)?.matmul(&b.t()?))?;
        Ok(Some(y))
    }

    /// The dropout mask of `n` inputs, drawn where training asks for one.
    fn draw_dropout(&self, rng: Option<&mut ChaCha8Rng>, n: usize) -> Option<crate::ops::Dropout> {
        let rng = rng.filter(|_| self.config.dropout > 0.0)?;
        let keep = 1.0 - self.config.dropout;
        let threshold = (keep as f64 * u32::MAX as f64) as u32;
        Some(crate::ops::Dropout {
            keep: crate::ops::keep_mask(rng, n, threshold),
            scale: 1.0 / keep,
        })
    }

    /// `lin(x) + delta(x)` as one autograd node where the projection is
    /// wrapped, frozen, dense, without bias and on the CPU (training with
    /// an adapter; see `fused_lora`); `None` elsewhere, before any mask
    /// is drawn. The same mask as [`LoraAdapter::delta`] would draw.
    pub fn project_frozen(
        &self,
        layer: usize,
        t: Target,
        lin: &crate::linear::Linear,
        x: &Tensor,
        dropout: Option<&mut ChaCha8Rng>,
    ) -> candle_core::Result<Option<Tensor>> {
        let Some(p) = self.pairs.get(&(layer, t)) else {
            return Ok(None);
        };
        let Some(w) = lin.dense_only() else {
            return Ok(None);
        };
        if !x.device().is_cpu() || lin.bias().is_some() {
            return Ok(None);
        }
        let op = crate::fused_lora::FrozenLora {
            w: w.clone(),
            dropout: self.draw_dropout(dropout, x.elem_count()),
            scale: self.scale(),
            h: std::sync::Mutex::new(None),
        };
        let y = crate::linear::on_rows(x, |x2| x2.apply_op3(p.a.as_tensor(), p.b.as_tensor(), op))?;
        Ok(Some(y))
    }

    /// `scale · B·A`, the delta of the weight `[out, in]`.
    pub fn weight_delta(&self, layer: usize, t: Target) -> candle_core::Result<Option<Tensor>> {
        match self.pairs.get(&(layer, t)) {
            Some(p) => Ok(Some((p.b.matmul(&p.a)? * self.scale())?)),
            None => Ok(None),
        }
    }

    /// Writes `adapter_config.json` and `adapter_model.safetensors` into
    /// `dir` with PEFT's key names; `dtype` is F32, F16 or BF16.
    pub fn save_peft(&self, dir: &Path, base_model: &str, dtype: DType) -> Result<(), ModelError> {
        std::fs::create_dir_all(dir).map_err(|e| ModelError::Io {
            path: dir.display().to_string(),
            cause: e,
        })?;
        let cfg = PeftConfig {
            peft_type: "LORA".into(),
            r: self.config.r,
            lora_alpha: self.config.alpha,
            lora_dropout: self.config.dropout,
            target_modules: TargetModules::List(
                self.config
                    .targets
                    .iter()
                    .map(|t| t.peft_name().to_string())
                    .collect(),
            ),
            bias: Some("none".into()),
            task_type: Some("CAUSAL_LM".into()),
            base_model_name_or_path: Some(base_model.into()),
            fan_in_fan_out: false,
            use_rslora: false,
            use_dora: false,
            inference_mode: true,
        };
        let mut tensors = HashMap::new();
        for (&(layer, t), p) in &self.pairs {
            tensors.insert(
                peft_key(layer, t, "A"),
                p.a.as_tensor().to_dtype(dtype).map_err(cerr)?,
            );
            tensors.insert(
                peft_key(layer, t, "B"),
                p.b.as_tensor().to_dtype(dtype).map_err(cerr)?,
            );
        }
        let json =
            serde_json::to_string_pretty(&cfg).map_err(|e| ModelError::Adapter(e.to_string()))?;
        write_atomic(&dir.join("adapter_config.json"), json.as_bytes())?;
        // Written beside the target then renamed: a crash never leaves a
        // truncated adapter under the real name.
        let tmp = dir.join("adapter_model.safetensors.tmp-save");
        candle_core::safetensors::save(&tensors, &tmp).map_err(cerr)?;
        std::fs::rename(&tmp, dir.join("adapter_model.safetensors")).map_err(|e| ModelError::Io {
            path: dir.display().to_string(),
            cause: e,
        })
    }

    /// Reads a PEFT LoRA adapter for a model of shape `model`.
    pub fn load_peft(
        dir: &Path,
        model: &Config,
        device: &Device,
    ) -> Result<LoraAdapter, ModelError> {
        let cfg_path = dir.join("adapter_config.json");
        let text = std::fs::read_to_string(&cfg_path).map_err(|e| ModelError::Io {
            path: cfg_path.display().to_string(),
            cause: e,
        })?;
        let cfg: PeftConfig = serde_json::from_str(&text)
            .map_err(|e| ModelError::Adapter(format!("{}: {e}", cfg_path.display())))?;
        if cfg.peft_type != "LORA" {
            return Err(ModelError::Adapter(format!(
                "{} is a {} adapter, not LORA",
                cfg_path.display(),
                cfg.peft_type
            )));
        }
        if cfg.use_dora || cfg.use_rslora || cfg.fan_in_fan_out {
            return Err(ModelError::Adapter(
                "DoRA, rsLoRA and fan_in_fan_out adapters are not supported".into(),
            ));
        }
        let names: Vec<&str> = match &cfg.target_modules {
            TargetModules::List(v) => v.iter().map(String::as_str).collect(),
            TargetModules::One(s) => s.split(',').collect(),
        };
        let targets = names
            .iter()
            .map(|s| s.parse::<Target>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(ModelError::Adapter)?;
        let st_path = dir.join("adapter_model.safetensors");
        let tensors = candle_core::safetensors::load(&st_path, device)
            .map_err(|e| ModelError::Adapter(format!("{}: {e}", st_path.display())))?;
        // PEFT may insert the adapter name (".default") before ".weight".
        let tensors: HashMap<String, Tensor> = tensors
            .into_iter()
            .map(|(k, v)| (k.replace(".default.weight", ".weight"), v))
            .collect();
        let mut pairs = BTreeMap::new();
        for layer in 0..model.layers {
            for &t in &targets {
                let get = |ab: &str, shape: (usize, usize)| -> Result<Var, ModelError> {
                    let k = peft_key(layer, t, ab);
                    let v = tensors.get(&k).ok_or_else(|| {
                        ModelError::Adapter(format!("{} lacks {k}", st_path.display()))
                    })?;
                    if v.dims() != [shape.0, shape.1] {
                        return Err(ModelError::Adapter(format!(
                            "{k} has shape {:?}, the model needs {shape:?}",
                            v.dims()
                        )));
                    }
                    Var::from_tensor(&v.to_dtype(DType::F32).map_err(cerr)?).map_err(cerr)
                };
                let (out, inp) = t.shape(model);
                let a = get("A", (cfg.r, inp))?;
                let b = get("B", (out, cfg.r))?;
                pairs.insert((layer, t), LoraPair { a, b });
            }
        }
        Ok(LoraAdapter {
            config: LoraConfig {
                r: cfg.r,
                alpha: cfg.lora_alpha,
                dropout: cfg.lora_dropout,
                targets,
            },
            pairs,
        })
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    let tmp = path.with_extension("tmp-save");
    let io = |e| ModelError::Io {
        path: path.display().to_string(),
        cause: e,
    };
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}
