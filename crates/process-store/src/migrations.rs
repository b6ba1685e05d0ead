//! Embedded migrations, one set per backend with the same names.

use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::connection::AnyConnection;
use crate::error::StoreError;
use crate::Store;

const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

fn migrations_for(conn: &AnyConnection) -> EmbeddedMigrations {
    match conn {
        AnyConnection::Sqlite(_) => SQLITE,
        AnyConnection::Postgres(_) => POSTGRES,
    }
}

impl Store {
    /// Applies pending migrations; returns the names of those applied.
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn()?;
        let set = migrations_for(&conn);
        let applied = match &mut *conn {
            AnyConnection::Sqlite(c) => c.run_pending_migrations(set),
            AnyConnection::Postgres(c) => c.run_pending_migrations(set),
        }
        .map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(applied.iter().map(ToString::to_string).collect())
    }

    /// Reverts every migration (for up→down→up tests).
    pub fn revert_all_migrations(&self) -> Result<usize, StoreError> {
        let mut conn = self.conn()?;
        let set = migrations_for(&conn);
        let reverted = match &mut *conn {
            AnyConnection::Sqlite(c) => c.revert_all_migrations(set),
            AnyConnection::Postgres(c) => c.revert_all_migrations(set),
        }
        .map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(reverted.len())
    }

    /// Reverts the newest applied migration and returns its name (for tests of one
    /// migration's down and up over existing rows).
    pub fn revert_last_migration(&self) -> Result<String, StoreError> {
        let mut conn = self.conn()?;
        let set = migrations_for(&conn);
        let reverted = match &mut *conn {
            AnyConnection::Sqlite(c) => c.revert_last_migration(set),
            AnyConnection::Postgres(c) => c.revert_last_migration(set),
        }
        .map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(reverted.to_string())
    }
}
