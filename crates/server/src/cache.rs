//! The answer cache: L1 in process (moka, bounded by size and TTL), L2 in
//! Redis (shared by replicas), L3 in an object store (`object_store`: a
//! local directory here, S3 or the like in deployment; it outlives
//! restarts and Redis flushes). Redis being down never fails a request:
//! the lookup falls through to the other levels, the outage is logged
//! once per retry window, and the next attempt to reconnect waits that
//! window.

use crate::metrics::Metrics;
use object_store::{local::LocalFileSystem, path::Path as StorePath, ObjectStore, PutPayload};
use redis::aio::ConnectionManager;
use redis::AsyncCommands;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

#[derive(Debug, Clone)]
pub struct CacheSettings {
    pub l1_entries: u64,
    pub ttl: Duration,
    pub redis_url: Option<String>,
    /// How long one Redis call may take before the cache gives up on it.
    pub redis_timeout: Duration,
    /// L3: a directory served through `object_store`; `None`: no L3.
    pub object_store_dir: Option<std::path::PathBuf>,
}

impl Default for CacheSettings {
    fn default() -> Self {
        CacheSettings {
            l1_entries: 10_000,
            ttl: Duration::from_secs(3600),
            redis_url: None,
            redis_timeout: Duration::from_millis(250),
            object_store_dir: None,
        }
    }
}

/// What a hit came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    L1,
    L2,
    L3,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::L1 => "l1",
            Level::L2 => "l2",
            Level::L3 => "l3",
        }
    }
}

struct Redis {
    client: redis::Client,
    conn: Option<ConnectionManager>,
    /// No reconnect attempt before this instant after a failure.
    retry_at: Option<Instant>,
}

const RETRY_WINDOW: Duration = Duration::from_secs(5);

pub struct AnswerCache {
    l1: moka::sync::Cache<String, Arc<Vec<u8>>>,
    redis: Option<Mutex<Redis>>,
    l3: Option<Arc<dyn ObjectStore>>,
    settings: CacheSettings,
}

/// The question as the cache sees it: white space collapsed, lower case
/// outside quotes (quoted values are case-sensitive in the data), closing
/// punctuation dropped. "Blocked suppliers?" and "  blocked suppliers"
/// share an entry; "named 'ABC'" and "named 'abc'" do not.
pub fn normalise_question(q: &str) -> String {
    let collapsed = q.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(collapsed.len());
    let mut quoted = false;
    for c in collapsed.chars() {
        if c == '\'' || c == '"' {
            quoted = !quoted;
        }
        if quoted {
            out.push(c);
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out.trim_end_matches(['?', '.', '!', ' ']).to_string()
}

/// The cache key: a digest of every input the answer depends on.
pub fn key(question: &str, fingerprint: &str, tenant: &str, candidates: usize) -> String {
    let mut h = Sha256::new();
    for part in [question, fingerprint, tenant, &candidates.to_string()] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    format!("glrl:answer:{}", hex::encode(h.finalize()))
}

impl AnswerCache {
    pub fn new(settings: CacheSettings) -> Result<AnswerCache, String> {
        let l1 = moka::sync::Cache::builder()
            .max_capacity(settings.l1_entries)
            .time_to_live(settings.ttl)
            .build();
        let redis = match &settings.redis_url {
            Some(url) => Some(Mutex::new(Redis {
                client: redis::Client::open(url.as_str())
                    .map_err(|e| format!("redis URL {url}: {e}"))?,
                conn: None,
                retry_at: None,
            })),
            None => None,
        };
        let l3: Option<Arc<dyn ObjectStore>> = match &settings.object_store_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cache directory {}: {e}", dir.display()))?;
                let fs = LocalFileSystem::new_with_prefix(dir)
                    .map_err(|e| format!("cache directory {}: {e}", dir.display()))?;
                Some(Arc::new(fs))
            }
            None => None,
        };
        Ok(AnswerCache {
            l1,
            redis,
            l3,
            settings,
        })
    }

    async fn connection(&self) -> Option<ConnectionManager> {
        let mut r = self.redis.as_ref()?.lock().await;
        if let Some(c) = &r.conn {
            return Some(c.clone());
        }
        if r.retry_at.is_some_and(|t| Instant::now() < t) {
            return None;
        }
        let attempt = tokio::time::timeout(
            self.settings.redis_timeout * 4,
            ConnectionManager::new(r.client.clone()),
        )
        .await;
        match attempt {
            Ok(Ok(c)) => {
                r.conn = Some(c.clone());
                r.retry_at = None;
                Some(c)
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "redis unavailable; answer cache runs on L1 only");
                r.retry_at = Some(Instant::now() + RETRY_WINDOW);
                None
            }
            Err(_) => {
                tracing::warn!("redis connect timed out; answer cache runs on L1 only");
                r.retry_at = Some(Instant::now() + RETRY_WINDOW);
                None
            }
        }
    }

    /// A failed call drops the connection so the next lookup goes through
    /// the retry window instead of waiting on a dead server every time.
    async fn forget_connection(&self) {
        if let Some(r) = &self.redis {
            let mut r = r.lock().await;
            r.conn = None;
            r.retry_at = Some(Instant::now() + RETRY_WINDOW);
        }
    }

    pub async fn get(&self, key: &str, metrics: &Metrics) -> Option<(Arc<Vec<u8>>, Level)> {
        if let Some(v) = self.l1.get(key) {
            metrics.cache.with_label_values(&["l1", "hit"]).inc();
            return Some((v, Level::L1));
        }
        metrics.cache.with_label_values(&["l1", "miss"]).inc();
        let (v, level) = match self.get_l2(key, metrics).await {
            Some(v) => (v, Level::L2),
            None => (self.get_l3(key, metrics).await?, Level::L3),
        };
        let v = Arc::new(v);
        self.l1.insert(key.to_string(), v.clone());
        Some((v, level))
    }

    async fn get_l2(&self, key: &str, metrics: &Metrics) -> Option<Vec<u8>> {
        let mut conn = self.connection().await?;
        let got = tokio::time::timeout(
            self.settings.redis_timeout,
            conn.get::<_, Option<Vec<u8>>>(key),
        )
        .await;
        match got {
            Ok(Ok(Some(v))) => {
                metrics.cache.with_label_values(&["l2", "hit"]).inc();
                Some(v)
            }
            Ok(Ok(None)) => {
                metrics.cache.with_label_values(&["l2", "miss"]).inc();
                None
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "redis read failed");
                metrics.cache.with_label_values(&["l2", "error"]).inc();
                self.forget_connection().await;
                None
            }
            Err(_) => {
                tracing::warn!("redis read timed out");
                metrics.cache.with_label_values(&["l2", "error"]).inc();
                self.forget_connection().await;
                None
            }
        }
    }

    fn store_path(key: &str) -> StorePath {
        StorePath::from(format!("answers/{}", key.rsplit(':').next().unwrap_or(key)))
    }

    /// An object older than the TTL is a miss (object stores keep no TTL).
    async fn get_l3(&self, key: &str, metrics: &Metrics) -> Option<Vec<u8>> {
        let store = self.l3.as_ref()?;
        let result = match store.get(&Self::store_path(key)).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => {
                metrics.cache.with_label_values(&["l3", "miss"]).inc();
                return None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "object store read failed");
                metrics.cache.with_label_values(&["l3", "error"]).inc();
                return None;
            }
        };
        let age = std::time::SystemTime::now()
            .duration_since(std::time::SystemTime::from(result.meta.last_modified))
            .unwrap_or_default();
        if age > self.settings.ttl {
            metrics.cache.with_label_values(&["l3", "miss"]).inc();
            return None;
        }
        match result.bytes().await {
            Ok(b) => {
                metrics.cache.with_label_values(&["l3", "hit"]).inc();
                Some(b.to_vec())
            }
            Err(e) => {
                tracing::warn!(error = %e, "object store read failed");
                metrics.cache.with_label_values(&["l3", "error"]).inc();
                None
            }
        }
    }

    pub async fn put(&self, key: &str, value: Vec<u8>) {
        let value = Arc::new(value);
        self.l1.insert(key.to_string(), value.clone());
        if let Some(store) = &self.l3 {
            let payload = PutPayload::from(value.as_ref().clone());
            if let Err(e) = store.put(&Self::store_path(key), payload).await {
                tracing::warn!(error = %e, "object store write failed");
            }
        }
        let Some(mut conn) = self.connection().await else {
            return;
        };
        let ttl = self.settings.ttl.as_secs().max(1);
        let put = tokio::time::timeout(
            self.settings.redis_timeout,
            conn.set_ex::<_, _, ()>(key, value.as_slice(), ttl),
        )
        .await;
        if !matches!(put, Ok(Ok(()))) {
            tracing::warn!("redis write failed; the answer stays in L1 only");
            self.forget_connection().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_differing_only_in_case_spacing_or_final_mark_share_a_key() {
        let k = |q: &str| key(&normalise_question(q), "fp", "t", 5);
        assert_eq!(k("Blocked suppliers?"), k("  blocked   suppliers "));
        assert_ne!(k("named 'ABC'"), k("named 'abc'"));
        assert_ne!(
            k("blocked suppliers"),
            key("blocked suppliers", "fp", "other", 5)
        );
        assert_ne!(
            k("blocked suppliers"),
            key("blocked suppliers", "fp2", "t", 5)
        );
    }

    #[tokio::test]
    async fn l3_outlives_the_process_and_expires_by_age() {
        let dir = tempfile::tempdir().unwrap();
        let settings = CacheSettings {
            object_store_dir: Some(dir.path().to_path_buf()),
            ..CacheSettings::default()
        };
        let m = Metrics::new().unwrap();
        let k = key("q", "fp", "t", 1);
        AnswerCache::new(settings.clone())
            .unwrap()
            .put(&k, b"answer".to_vec())
            .await;
        // A new cache (a restarted replica): L1 is empty, L3 answers, and
        // the answer is promoted to L1.
        let c = AnswerCache::new(settings.clone()).unwrap();
        let (v, level) = c.get(&k, &m).await.unwrap();
        assert_eq!((v.as_slice(), level), (&b"answer"[..], Level::L3));
        assert_eq!(c.get(&k, &m).await.unwrap().1, Level::L1);
        assert!(c.get(&key("other", "fp", "t", 1), &m).await.is_none());
        let stale = AnswerCache::new(CacheSettings {
            ttl: Duration::ZERO,
            ..settings
        })
        .unwrap();
        assert!(stale.get(&k, &m).await.is_none(), "older than the TTL");
    }
}
