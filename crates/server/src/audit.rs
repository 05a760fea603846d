//! Durable append-only logs: the audit trail (every query and SQL
//! execution: who, when, tenant, question, SQL, validation, row count) and
//! user feedback. One JSON object per line; each append is written and
//! fsync'd before the request is acknowledged, so a crash loses no
//! acknowledged entry (at most a torn last line, which readers skip).

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

type Ack = tokio::sync::oneshot::Sender<std::io::Result<()>>;

/// An append-only JSONL file with group commit: appends queue to one
/// writer thread, which writes everything queued, fsyncs once and then
/// acknowledges each append of the batch. Under load one fsync covers
/// many requests; no request is acknowledged before its entry is on disk.
pub struct JsonlLog {
    path: PathBuf,
    tx: Mutex<std::sync::mpsc::Sender<(Vec<u8>, Ack)>>,
}

impl JsonlLog {
    pub fn open(path: &Path) -> std::io::Result<JsonlLog> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)?;
        // A crash mid-append leaves a line without its newline: close it,
        // or the next entry would be glued to the torn one and lost too.
        let len = file.metadata()?.len();
        if len > 0 {
            use std::io::{Read, Seek, SeekFrom};
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(len - 1))?;
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                file.write_all(b"\n")?;
                file.sync_data()?;
            }
        }
        let (tx, rx) = std::sync::mpsc::channel::<(Vec<u8>, Ack)>();
        std::thread::Builder::new()
            .name("glrl-log-writer".into())
            .spawn(move || writer(file, rx))?;
        Ok(JsonlLog {
            path: path.to_path_buf(),
            tx: Mutex::new(tx),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry; resolves once it is on disk.
    pub async fn append<T: Serialize>(&self, entry: &T) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let (ack, done) = tokio::sync::oneshot::channel();
        self.tx
            .lock()
            .map_err(|_| std::io::Error::other("log writer poisoned"))?
            .send((line, ack))
            .map_err(|_| std::io::Error::other("log writer stopped"))?;
        done.await
            .map_err(|_| std::io::Error::other("log writer stopped"))?
    }
}

fn writer(mut file: File, rx: std::sync::mpsc::Receiver<(Vec<u8>, Ack)>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        let mut result = Ok(());
        for (line, _) in &batch {
            if let Err(e) = file.write_all(line) {
                result = Err(e);
                break;
            }
        }
        if result.is_ok() {
            result = file.sync_data();
        }
        for (_, ack) in batch {
            let r = match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
            };
            let _ = ack.send(r);
        }
    }
}

/// Every entry of a JSONL log that parses as `T` (a torn last line from a
/// crash is skipped).
pub fn read_all<T: for<'de> Deserialize<'de>>(path: &Path) -> std::io::Result<Vec<T>> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for line in BufReader::new(f).lines() {
        if let Ok(v) = serde_json::from_str(&line?) {
            out.push(v);
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Milliseconds since the Unix epoch.
    pub ts_ms: u64,
    pub request_id: String,
    pub principal: String,
    pub tenant: String,
    /// `query`, `validate` or `execute`.
    pub action: String,
    #[serde(default)]
    pub question: Option<String>,
    #[serde(default)]
    pub sql: Option<String>,
    /// Did the SQL pass validation (None: no SQL).
    #[serde(default)]
    pub valid: Option<bool>,
    #[serde(default)]
    pub row_count: Option<usize>,
    /// The answer's status or the HTTP outcome.
    pub outcome: String,
    #[serde(default)]
    pub cache: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub tenant: Option<String>,
    /// Case-insensitive substring of the question or SQL.
    pub contains: Option<String>,
    pub action: Option<String>,
    pub since_ms: Option<u64>,
    pub limit: Option<usize>,
}

impl AuditFilter {
    pub fn matches(&self, e: &AuditEntry) -> bool {
        if self.tenant.as_ref().is_some_and(|t| *t != e.tenant) {
            return false;
        }
        if self.action.as_ref().is_some_and(|a| *a != e.action) {
            return false;
        }
        if self.since_ms.is_some_and(|s| e.ts_ms < s) {
            return false;
        }
        if let Some(needle) = &self.contains {
            let n = needle.to_lowercase();
            let hit = [&e.question, &e.sql]
                .iter()
                .any(|f| f.as_deref().is_some_and(|s| s.to_lowercase().contains(&n)));
            if !hit {
                return false;
            }
        }
        true
    }
}

/// Entries matching `filter`, newest last, at most `filter.limit` (the
/// newest ones).
pub fn search(path: &Path, filter: &AuditFilter) -> std::io::Result<Vec<AuditEntry>> {
    let mut all: Vec<AuditEntry> = read_all(path)?;
    all.retain(|e| filter.matches(e));
    if let Some(n) = filter.limit {
        let skip = all.len().saturating_sub(n);
        all.drain(..skip);
    }
    Ok(all)
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(tenant: &str, q: &str) -> AuditEntry {
        AuditEntry {
            ts_ms: now_ms(),
            request_id: "r".into(),
            principal: "p".into(),
            tenant: tenant.into(),
            action: "query".into(),
            question: Some(q.into()),
            sql: None,
            valid: None,
            row_count: None,
            outcome: "answered".into(),
            cache: None,
        }
    }

    #[tokio::test]
    async fn appends_survive_reopen_and_a_torn_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = JsonlLog::open(&path).unwrap();
        log.append(&entry("a", "blocked suppliers")).await.unwrap();
        log.append(&entry("b", "projects")).await.unwrap();
        drop(log);
        // A crash mid-write leaves a partial line behind.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"ts_ms\": 1, \"requ")
            .unwrap();
        let log = JsonlLog::open(&path).unwrap();
        log.append(&entry("a", "contracts")).await.unwrap();
        let all = search(&path, &AuditFilter::default()).unwrap();
        assert_eq!(all.len(), 3, "only the torn line is lost");
        let a = search(
            &path,
            &AuditFilter {
                tenant: Some("a".into()),
                contains: Some("BLOCKED".into()),
                ..AuditFilter::default()
            },
        )
        .unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].question.as_deref(), Some("blocked suppliers"));
    }
}
