//! The project's own trained adapter for the embedded model, built into
//! the binary (adapters/erp-sft, produced by `glrl train`; its README
//! records the command, data and seed). It is written once into
//! `$GLRL_HOME/adapters/erp-sft-<digest>` and served by default on the
//! embedded model.

use anyhow::Context;
use glrl_config::Config;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

const WEIGHTS: &[u8] = include_bytes!("../../../adapters/erp-sft/adapter_model.safetensors");
const CONFIG: &str = include_str!("../../../adapters/erp-sft/adapter_config.json");

/// Writes the built-in adapter under `home` (once per content) and
/// returns its directory.
pub fn builtin(home: &Path) -> anyhow::Result<PathBuf> {
    let digest = Sha256::digest(WEIGHTS);
    let short: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let dir = home.join("adapters").join(format!("erp-sft-{short}"));
    if dir.join("adapter_model.safetensors").exists() {
        return Ok(dir);
    }
    let parent = home.join("adapters");
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let tmp = parent.join(format!(".erp-sft-{short}.{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    std::fs::write(tmp.join("adapter_model.safetensors"), WEIGHTS)?;
    std::fs::write(tmp.join("adapter_config.json"), CONFIG)?;
    // Another process may have finished first: its copy is as good.
    if std::fs::rename(&tmp, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    Ok(dir)
}

/// The adapter to serve on `model`: `model.adapter` as a path; `none`
/// for the bare model; empty for the built-in adapter when the model is
/// the embedded GGUF (another model gets none).
pub fn resolve(config: &Config, model: &Path) -> anyhow::Result<Option<PathBuf>> {
    let embedded =
        model.file_name().and_then(|n| n.to_str()) == Some(glrl_model::fetch::SMOLLM2.file_name);
    match config.model.adapter.as_str() {
        "none" => Ok(None),
        "" if embedded => Ok(Some(builtin(&config.home)?)),
        "" => Ok(None),
        path => Ok(Some(PathBuf::from(path))),
    }
}
