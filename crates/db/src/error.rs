use thiserror::Error;

#[derive(Debug, Error)]
pub enum DbError {
    #[error("invalid database location: {0}")]
    BadTarget(String),
    #[error("database file {path} does not exist (create the demo one with `glrl demo-db --out {path}`)")]
    NotFound { path: String },
    #[error("cannot connect to {target}: {message}")]
    Connect { target: String, message: String },
    #[error("query failed: {0}")]
    Query(String),
    #[error("the database refused to write: the connection is read-only ({0})")]
    ReadOnly(String),
    #[error("query exceeded the {0} ms statement timeout")]
    Timeout(u64),
    #[error("introspection failed: {0}")]
    Introspect(String),
    #[error("loading data failed: {0}")]
    Load(String),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}
