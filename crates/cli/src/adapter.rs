//! The project's own trained adapter for the embedded model, built into
//! the binary (adapters/erp-sft, produced by `glrl train`; its README
//! records the command, data and seed). It is written once into
//! `$GLRL_HOME/adapters/erp-sft-<digest>` and served by default on the
//! embedded model. An adapter directory may hold `calibration.json`: the
//! Platt scaling of the pipeline's confidence fitted for that adapter.

use anyhow::Context;
use glrl_config::Config;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

const WEIGHTS: &[u8] = include_bytes!("../../../adapters/erp-sft/adapter_model.safetensors");
const CONFIG: &str = include_str!("../../../adapters/erp-sft/adapter_config.json");
const CALIBRATION: &str = include_str!("../../../adapters/erp-sft/calibration.json");
const CALIBRATION_FILE: &str = "calibration.json";

/// Writes the built-in adapter under `home` (once per content) and
/// returns its directory.
pub fn builtin(home: &Path) -> anyhow::Result<PathBuf> {
    let digest = Sha256::digest(WEIGHTS);
    let short: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let dir = home.join("adapters").join(format!("erp-sft-{short}"));
    if dir.join("adapter_model.safetensors").exists() {
        // The calibration can change without the weights (a binary older
        // than the file wrote the directory without it).
        let file = dir.join(CALIBRATION_FILE);
        if std::fs::read_to_string(&file).ok().as_deref() != Some(CALIBRATION) {
            std::fs::write(&file, CALIBRATION)
                .with_context(|| format!("writing {}", file.display()))?;
        }
        return Ok(dir);
    }
    let parent = home.join("adapters");
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let tmp = parent.join(format!(".erp-sft-{short}.{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    std::fs::write(tmp.join("adapter_model.safetensors"), WEIGHTS)?;
    std::fs::write(tmp.join("adapter_config.json"), CONFIG)?;
    std::fs::write(tmp.join(CALIBRATION_FILE), CALIBRATION)?;
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

#[derive(serde::Deserialize)]
struct CalibrationFile {
    platt: [f64; 2],
}

/// The Platt scaling `(a, b)` in `adapter/calibration.json`; `None` when
/// the adapter has no such file.
pub fn calibration(adapter: &Path) -> anyhow::Result<Option<(f64, f64)>> {
    let file = adapter.join(CALIBRATION_FILE);
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
    };
    let c: CalibrationFile = serde_json::from_str(&text)
        .with_context(|| format!("{}: expected {{\"platt\": [a, b]}}", file.display()))?;
    anyhow::ensure!(
        c.platt.iter().all(|x| x.is_finite()),
        "{}: the Platt scaling must be finite numbers",
        file.display()
    );
    Ok(Some((c.platt[0], c.platt[1])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_adapter_carries_its_calibration_and_bad_files_are_errors() {
        let home = tempfile::tempdir().unwrap();
        let dir = builtin(home.path()).unwrap();
        let (a, b) = calibration(&dir).unwrap().expect("a calibration");
        // Raw confidence 0.5 (a split vote) maps well below the threshold.
        assert!(a > 0.0 && 1.0 / (1.0 + (-(a * 0.5 + b)).exp()) < 0.5);
        // A directory written without the file gets it back.
        std::fs::remove_file(dir.join(CALIBRATION_FILE)).unwrap();
        assert_eq!(builtin(home.path()).unwrap(), dir);
        assert_eq!(calibration(&dir).unwrap(), Some((a, b)));
        let other = tempfile::tempdir().unwrap();
        assert_eq!(calibration(other.path()).unwrap(), None);
        std::fs::write(other.path().join(CALIBRATION_FILE), r#"{"platt": [1.0]}"#).unwrap();
        assert!(calibration(other.path()).is_err());
    }
}
