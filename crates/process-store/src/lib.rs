#![doc = include_str!("../README.md")]

mod claims;
mod connection;
mod error;
mod events;
mod files;
mod maintenance;
mod migrations;
mod output;
mod processes;
mod profiles;
mod repository;
mod retention;
mod rows;
mod schema;
mod secrets;
mod timestamp;
mod uploads;
mod users;
mod webhooks;

#[cfg(feature = "testing")]
pub mod testing;

use std::time::Duration;

use diesel::r2d2::{Pool, PooledConnection};
use process_datadir::{FileLog, Layout};

pub use connection::Backend;
pub use error::StoreError;
pub use events::EVENT_RETENTION;
pub use files::NewFile;
pub use processes::{Deleted, Waiters};
pub use profiles::{ExternalUser, Profile, ProfileChange};
pub use uploads::FileChange;
pub use users::{Login, TokenInfo, UserChange, TOKEN_PREFIX};
pub use webhooks::{
    Attempt, AttemptOutcome, Delivery, DeliveryState, DueDelivery, NewWebhook, Webhook,
};

use connection::Manager;

/// The store: a connection pool over SQLite or PostgreSQL plus the on-disk layout of the data
/// directory. Cheap to clone. Every method blocks; async callers run them on a blocking pool.
#[derive(Clone)]
pub struct Store {
    pool: Pool<Manager>,
    backend: &'static str,
    layout: Layout,
    /// Console logs, as files under the layout.
    console: FileLog,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("data_dir", &self.layout.root())
            .finish()
    }
}

impl Store {
    /// Opens the database named by `url` (`sqlite://PATH` or `postgres://...`) with files kept
    /// under `layout`. Does not migrate; call [`Store::migrate`].
    pub fn open(url: &str, layout: Layout) -> Result<Self, StoreError> {
        let backend = Backend::from_url(url)?;
        layout
            .ensure()
            .map_err(|e| StoreError::io(layout.root(), e))?;
        let name = backend.name();
        let max_size = match backend {
            Backend::Sqlite(_) => 8,
            Backend::Postgres(_) => 10,
        };
        let manager = Manager::new(backend);
        manager.prepare()?;
        let pool = Pool::builder()
            .max_size(max_size)
            .connection_timeout(Duration::from_secs(10))
            .build(manager)?;
        Ok(Self {
            pool,
            backend: name,
            console: FileLog::new(layout.clone()),
            layout,
        })
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Checks that the database answers.
    pub fn ping(&self) -> Result<(), StoreError> {
        use diesel::connection::SimpleConnection;
        self.conn()?.batch_execute("SELECT 1")?;
        Ok(())
    }

    fn conn(&self) -> Result<PooledConnection<Manager>, StoreError> {
        Ok(self.pool.get()?)
    }
}
