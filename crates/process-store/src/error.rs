//! The store's error type.

use process_core::{ParseError, TransitionError, UploadError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid database configuration: {0}")]
    Config(String),
    #[error("database unavailable: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("could not connect to the database: {0}")]
    Connection(#[from] diesel::ConnectionError),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(#[from] ParseError),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Upload(#[from] UploadError),
    #[error("process {0} is still RUNNING")]
    Running(i64),
    #[error("process {0} is a dependency of process {1}")]
    Depended(i64, i64),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    /// Errors that mean "try again later" (pool exhausted, database locked or unreachable,
    /// disk full) rather than a bug.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Pool(_) | StoreError::Connection(_) => true,
            StoreError::Query(diesel::result::Error::DatabaseError(_, info)) => {
                let m = info.message();
                m.contains("locked") || m.contains("full") || m.contains("busy")
            }
            StoreError::Io { source, .. } => source.raw_os_error() == Some(28),
            _ => false,
        }
    }
}
