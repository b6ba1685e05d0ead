//! Connections: one diesel `MultiConnection` over SQLite and PostgreSQL, the backend chosen
//! from the URL scheme, and an r2d2 manager that prepares every SQLite connection the same way.

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;

use crate::error::StoreError;

#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// Runs the same diesel expression on whichever concrete connection is inside, for the few
/// statements (RETURNING, multi-row INSERT) that the multi-backend does not express.
macro_rules! dispatch {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::connection::AnyConnection::Sqlite($c) => $body,
            $crate::connection::AnyConnection::Postgres($c) => $body,
        }
    };
}
pub(crate) use dispatch;

/// Which database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A file path (or `:memory:`).
    Sqlite(String),
    Postgres(String),
}

impl Backend {
    /// `sqlite://PATH` (or `sqlite:PATH`) and `postgres://...` / `postgresql://...`.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(StoreError::Config(format!("no file path in {url:?}")));
            }
            Ok(Backend::Sqlite(path.to_owned()))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres(url.to_owned()))
        } else {
            Err(StoreError::Config(
                "database_url must start with sqlite:// or postgres://".to_owned(),
            ))
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// SQLite waits this long for a lock before giving up with SQLITE_BUSY.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The r2d2 manager: connects to the backend the URL names and, for SQLite, turns on WAL,
/// a busy timeout and foreign keys on every new connection.
#[derive(Debug, Clone)]
pub struct Manager {
    backend: Backend,
}

impl Manager {
    pub fn new(backend: Backend) -> Self {
        Self { backend }
    }

    /// Opens one SQLite connection before the pool opens the others. Switching a new file to
    /// WAL takes the write lock, which SQLite does not wait for (busy timeout or not) while
    /// other new connections hold read locks: a new pool's connections would fail with
    /// "database is locked" and be retried after a back-off, slowing or failing the open.
    pub fn prepare(&self) -> Result<(), StoreError> {
        if let Backend::Sqlite(path) = &self.backend {
            self.connect().map_err(|e| match e {
                diesel::r2d2::Error::ConnectionError(e) => StoreError::Connection(e),
                diesel::r2d2::Error::QueryError(e) => StoreError::Query(e),
            })?;
            private_files(path)?;
        }
        Ok(())
    }
}

/// Makes the SQLite database and its WAL and shared-memory files readable by the service
/// alone. SQLite gives the files it creates later the mode of the database file.
fn private_files(path: &str) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    if path == ":memory:" {
        return Ok(());
    }
    for file in [
        path.to_owned(),
        format!("{path}-wal"),
        format!("{path}-shm"),
    ] {
        match std::fs::metadata(&file) {
            Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| StoreError::io(&file, e))?;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io(&file, e)),
        }
    }
    Ok(())
}

impl ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<AnyConnection, Self::Error> {
        match &self.backend {
            Backend::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                // The busy timeout comes first, so that the other pragmas wait for locks too.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                    SQLITE_BUSY_TIMEOUT.as_millis()
                ))
                .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(AnyConnection::Sqlite(conn))
            }
            Backend::Postgres(url) => PgConnection::establish(url)
                .map(AnyConnection::Postgres)
                .map_err(diesel::r2d2::Error::ConnectionError),
        }
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        // A connection returned mid-transaction (a panic inside one) is not reused.
        conn.is_broken()
            || !matches!(
                <AnyConnection as Connection>::TransactionManager::transaction_manager_status_mut(
                    conn
                )
                .transaction_depth(),
                Ok(None)
            )
    }
}

/// Runs `f` in a write transaction. On SQLite it is `BEGIN IMMEDIATE`, which takes the write
/// lock up front: a deferred transaction that reads first fails with SQLITE_BUSY instead of
/// waiting when another writer got there in between.
pub fn write_transaction<T>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    match conn {
        AnyConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        AnyConnection::Postgres(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match f(conn) {
        Ok(value) => {
            <AnyConnection as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(err) => {
            // The original error matters more than a failed rollback; a connection left in a
            // transaction is discarded by `has_broken`.
            let _ = <AnyConnection as Connection>::TransactionManager::rollback_transaction(conn);
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_backend() {
        assert_eq!(
            Backend::from_url("sqlite:///tmp/x.db").unwrap(),
            Backend::Sqlite("/tmp/x.db".into())
        );
        assert_eq!(
            Backend::from_url("sqlite://data/x.db").unwrap(),
            Backend::Sqlite("data/x.db".into())
        );
        assert!(matches!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres(_)
        ));
        assert!(Backend::from_url("mysql://x").is_err());
        assert!(Backend::from_url("sqlite://").is_err());
    }
}
