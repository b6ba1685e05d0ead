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
                // SQLite's busy database; PostgreSQL's deadlock and serialization failures,
                // which a retry resolves.
                m.contains("locked")
                    || m.contains("busy")
                    || m.contains("deadlock detected")
                    || m.contains("could not serialize")
            }
            _ => self.is_storage_full(),
        }
    }

    /// The disk (or the database's storage) is full: SQLite's SQLITE_FULL, PostgreSQL's
    /// `could not extend file` / disk-full errors, or ENOSPC on a data-directory file.
    pub fn is_storage_full(&self) -> bool {
        match self {
            StoreError::Query(diesel::result::Error::DatabaseError(_, info)) => {
                let m = info.message();
                m.contains("disk is full")
                    || m.contains("No space left")
                    || m.contains("could not extend file")
            }
            StoreError::Io { source, .. } => process_datadir::is_disk_full(source),
            _ => false,
        }
    }
}
