//! Sessions: the questions, SQL and result shapes of a conversation, so
//! a follow-up reuses its context. In memory, expiring after a TTL of
//! inactivity, optionally written behind to a SQLite file so sessions
//! survive a restart.

use crate::OrchestratorError;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;
use std::thread::JoinHandle;
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

fn writer_stopped() -> OrchestratorError {
    OrchestratorError::Session("the session writer has stopped".into())
}

fn db_err(e: rusqlite::Error) -> OrchestratorError {
    OrchestratorError::Session(e.to_string())
}

pub struct SessionStore {
    sessions: Mutex<HashMap<String, Session>>,
    ttl: Duration,
    persist: Option<Writer>,
}

/// What the writer thread is asked to do to the file.
enum Write {
    Put(Session),
    Delete(String),
    /// Answered once everything sent before it is on disk.
    Flush(Sender<()>),
}

/// The session file's own thread. A question used to wait for its
/// session's row to reach the disk twice (created, then appended: 3.5
/// and 1.9 ms in `glrl ask`, ten times the rest of the orchestration);
/// now it only hands the row over. Dropping the store waits for every
/// write, so a process that exits normally loses nothing; what a crash
/// can lose is the last few milliseconds' turns, not the file. A write
/// that fails (a full disk) is logged: the answer no longer waits for
/// the disk, so it cannot fail on it.
struct Writer {
    tx: Option<Sender<Write>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    fn spawn(conn: rusqlite::Connection) -> Result<Writer, OrchestratorError> {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("glrl-sessions".into())
            .spawn(move || write_loop(conn, rx))
            .map_err(|e| OrchestratorError::Session(format!("session writer: {e}")))?;
        Ok(Writer {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    fn send(&self, w: Write) -> Result<(), OrchestratorError> {
        self.tx
            .as_ref()
            .and_then(|tx| tx.send(w).ok())
            .ok_or_else(writer_stopped)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the channel ends the loop once it has written the rest.
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                tracing::warn!("the session writer panicked; recent session turns may be lost");
            }
        }
    }
}

/// Writes what arrives, each burst in one transaction (one sync to disk
/// for all the sessions a busy gateway touched meanwhile).
fn write_loop(mut conn: rusqlite::Connection, rx: Receiver<Write>) {
    while let Ok(first) = rx.recv() {
        let mut burst = vec![first];
        burst.extend(rx.try_iter());
        let mut flushed = Vec::new();
        let result = (|| -> rusqlite::Result<()> {
            let tx = conn.transaction()?;
            for w in burst {
                match w {
                    Write::Put(s) => match serde_json::to_string(&s) {
                        Ok(data) => {
                            tx.execute(
                                "INSERT INTO sessions (id, data) VALUES (?1, ?2) \
                                 ON CONFLICT(id) DO UPDATE SET data = excluded.data",
                                rusqlite::params![s.id, data],
                            )?;
                        }
                        // The row on disk stays as it was rather than
                        // being overwritten with something unreadable.
                        Err(e) => tracing::warn!("session {} not written: {e}", s.id),
                    },
                    Write::Delete(id) => {
                        tx.execute("DELETE FROM sessions WHERE id = ?1", [id])?;
                    }
                    Write::Flush(done) => flushed.push(done),
                }
            }
            tx.commit()
        })();
        if let Err(e) = result {
            tracing::warn!("session file not updated: {e}");
        }
        for done in flushed {
            let _ = done.send(());
        }
    }
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
            persist: Some(Writer::spawn(conn)?),
        };
        store.expire()?;
        Ok(store)
    }

    /// Returns once every change made so far is in the file (a no-op in
    /// memory).
    pub fn flush(&self) -> Result<(), OrchestratorError> {
        if let Some(w) = &self.persist {
            let (done, wait) = mpsc::channel();
            w.send(Write::Flush(done))?;
            wait.recv().map_err(|_| writer_stopped())?;
        }
        Ok(())
    }

    fn lock(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, HashMap<String, Session>>, OrchestratorError> {
        self.sessions
            .lock()
            .map_err(|_| OrchestratorError::Session("session store poisoned".into()))
    }

    fn write(&self, s: &Session) -> Result<(), OrchestratorError> {
        match &self.persist {
            Some(w) => w.send(Write::Put(s.clone())),
            None => Ok(()),
        }
    }

    fn remove_from_file(&self, id: String) -> Result<(), OrchestratorError> {
        match &self.persist {
            Some(w) => w.send(Write::Delete(id)),
            None => Ok(()),
        }
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
        let n = gone.len();
        for id in gone {
            self.remove_from_file(id)?;
        }
        Ok(n)
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
            self.remove_from_file(id.to_string())?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(path: &Path) -> i64 {
        rusqlite::Connection::open(path)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn writes_reach_the_file_by_flush_and_by_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.db");
        let store = SessionStore::persistent(&path, Duration::from_secs(600)).unwrap();
        let a = store.create(None).unwrap();
        let b = store.create(Some("t")).unwrap();
        store.flush().unwrap();
        assert_eq!(rows(&path), 2);
        assert!(store.delete(&b.id, Some("t")).unwrap());
        store
            .append(
                &a.id,
                TurnRecord {
                    question: "q".into(),
                    sql: "SELECT 1".into(),
                    row_count: 1,
                    columns: vec!["1".into()],
                },
            )
            .unwrap();
        // Dropping the store waits for the writer: nothing is lost.
        drop(store);
        assert_eq!(rows(&path), 1);
        let again = SessionStore::persistent(&path, Duration::from_secs(600)).unwrap();
        assert_eq!(again.get(&a.id, None).unwrap().unwrap().turns.len(), 1);
        assert!(again.get(&b.id, Some("t")).unwrap().is_none());
        // In memory, flushing has nothing to wait for.
        SessionStore::in_memory(Duration::from_secs(1))
            .flush()
            .unwrap();
    }
}
