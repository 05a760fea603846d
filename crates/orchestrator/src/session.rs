//! Sessions: the questions, SQL and result shapes of a conversation, so
//! a follow-up reuses its context. In memory, expiring after a TTL of
//! inactivity, optionally written through to a SQLite file so sessions
//! survive a restart.

use crate::OrchestratorError;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TurnRecord {
    pub question: String,
    pub sql: String,
    pub row_count: usize,
    pub columns: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Session {
    pub id: String,
    /// Who owns it (the gateway's tenant); `None` for local use.
    pub tenant: Option<String>,
    /// Seconds since the Unix epoch.
    pub created: u64,
    pub updated: u64,
    pub turns: Vec<TurnRecord>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn db_err(e: rusqlite::Error) -> OrchestratorError {
    OrchestratorError::Session(e.to_string())
}

pub struct SessionStore {
    sessions: Mutex<HashMap<String, Session>>,
    ttl: Duration,
    persist: Option<Mutex<rusqlite::Connection>>,
}

impl SessionStore {
    pub fn in_memory(ttl: Duration) -> SessionStore {
        SessionStore {
            sessions: Mutex::new(HashMap::new()),
            ttl,
            persist: None,
        }
    }

    /// Sessions kept in memory and written through to `path` (created if
    /// missing); unexpired sessions already there are loaded.
    pub fn persistent(path: &Path, ttl: Duration) -> Result<SessionStore, OrchestratorError> {
        let conn = rusqlite::Connection::open(path).map_err(db_err)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, data TEXT NOT NULL);",
        )
        .map_err(db_err)?;
        let mut map = HashMap::new();
        {
            let mut stmt = conn.prepare("SELECT data FROM sessions").map_err(db_err)?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(db_err)?;
            for data in rows {
                let data = data.map_err(db_err)?;
                // A row this version cannot read is skipped, not fatal.
                if let Ok(s) = serde_json::from_str::<Session>(&data) {
                    map.insert(s.id.clone(), s);
                }
            }
        }
        let store = SessionStore {
            sessions: Mutex::new(map),
            ttl,
            persist: Some(Mutex::new(conn)),
        };
        store.expire()?;
        Ok(store)
    }

    fn lock(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, HashMap<String, Session>>, OrchestratorError> {
        self.sessions
            .lock()
            .map_err(|_| OrchestratorError::Session("session store poisoned".into()))
    }

    fn write(&self, s: &Session) -> Result<(), OrchestratorError> {
        if let Some(conn) = &self.persist {
            let conn = conn
                .lock()
                .map_err(|_| OrchestratorError::Session("session file poisoned".into()))?;
            let data =
                serde_json::to_string(s).map_err(|e| OrchestratorError::Session(e.to_string()))?;
            conn.execute(
                "INSERT INTO sessions (id, data) VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE SET data = excluded.data",
                rusqlite::params![s.id, data],
            )
            .map_err(db_err)?;
        }
        Ok(())
    }

    fn expired(&self, s: &Session, at: u64) -> bool {
        at.saturating_sub(s.updated) > self.ttl.as_secs()
    }

    pub fn create(&self, tenant: Option<&str>) -> Result<Session, OrchestratorError> {
        let t = now();
        let s = Session {
            id: new_id(),
            tenant: tenant.map(str::to_string),
            created: t,
            updated: t,
            turns: Vec::new(),
        };
        self.write(&s)?;
        self.lock()?.insert(s.id.clone(), s.clone());
        Ok(s)
    }

    /// The session, if it exists, has not expired and belongs to `tenant`.
    pub fn get(
        &self,
        id: &str,
        tenant: Option<&str>,
    ) -> Result<Option<Session>, OrchestratorError> {
        let t = now();
        Ok(self
            .lock()?
            .get(id)
            .filter(|s| !self.expired(s, t) && s.tenant.as_deref() == tenant)
            .cloned())
    }

    pub fn append(&self, id: &str, turn: TurnRecord) -> Result<(), OrchestratorError> {
        let updated = {
            let mut map = self.lock()?;
            let s = map
                .get_mut(id)
                .ok_or_else(|| OrchestratorError::Session(format!("no session {id}")))?;
            s.turns.push(turn);
            s.updated = now();
            s.clone()
        };
        self.write(&updated)
    }

    /// The tenant's live sessions, most recent first.
    pub fn list(&self, tenant: Option<&str>) -> Result<Vec<Session>, OrchestratorError> {
        let t = now();
        let mut v: Vec<Session> = self
            .lock()?
            .values()
            .filter(|s| s.tenant.as_deref() == tenant && !self.expired(s, t))
            .cloned()
            .collect();
        v.sort_by(|a, b| b.updated.cmp(&a.updated).then(a.id.cmp(&b.id)));
        Ok(v)
    }

    /// Drops expired sessions (memory and file); returns how many.
    pub fn expire(&self) -> Result<usize, OrchestratorError> {
        let t = now();
        let gone: Vec<String> = {
            let mut map = self.lock()?;
            let gone: Vec<String> = map
                .values()
                .filter(|s| self.expired(s, t))
                .map(|s| s.id.clone())
                .collect();
            for id in &gone {
                map.remove(id);
            }
            gone
        };
        if let Some(conn) = &self.persist {
            let conn = conn
                .lock()
                .map_err(|_| OrchestratorError::Session("session file poisoned".into()))?;
            for id in &gone {
                conn.execute("DELETE FROM sessions WHERE id = ?1", [id])
                    .map_err(db_err)?;
            }
        }
        Ok(gone.len())
    }

    pub fn delete(&self, id: &str, tenant: Option<&str>) -> Result<bool, OrchestratorError> {
        let removed = {
            let mut map = self.lock()?;
            match map.get(id) {
                Some(s) if s.tenant.as_deref() == tenant => map.remove(id).is_some(),
                _ => false,
            }
        };
        if removed {
            if let Some(conn) = &self.persist {
                let conn = conn
                    .lock()
                    .map_err(|_| OrchestratorError::Session("session file poisoned".into()))?;
                conn.execute("DELETE FROM sessions WHERE id = ?1", [id])
                    .map_err(db_err)?;
            }
        }
        Ok(removed)
    }
}

/// 128 random bits as hex.
fn new_id() -> String {
    let a: u64 = rand::random();
    let b: u64 = rand::random();
    format!("{a:016x}{b:016x}")
}
