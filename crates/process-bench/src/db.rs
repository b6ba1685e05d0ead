//! Direct database access for what the API must not be used for: inserting a million
//! processes in bulk. The schema is the one processd's migrations created when it started;
//! only this statement is written here.

use std::path::Path;

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel::sqlite::SqliteConnection;

fn connect(db: &Path) -> anyhow::Result<SqliteConnection> {
    let mut conn = SqliteConnection::establish(&db.display().to_string())
        .with_context(|| format!("opening {}", db.display()))?;
    conn.batch_execute("PRAGMA busy_timeout = 30000;")?;
    Ok(conn)
}

/// Inserts finished processes `from..=to` of script `noop` (one in ten FAILED, the others
/// COMPLETED), one second apart in creation order, in one statement.
pub fn insert_finished(db: &Path, from: i64, to: i64) -> anyhow::Result<()> {
    let mut conn = connect(db)?;
    diesel::sql_query(
        "WITH RECURSIVE n(x) AS (SELECT ? UNION ALL SELECT x + 1 FROM n WHERE x < ?) \
         INSERT INTO processes (id, user_id, script_name, status, creation_time, start_time, \
                                end_time, status_reason, exit_code, dependency_type, \
                                output_truncated) \
         SELECT x, NULL, 'noop', \
                CASE WHEN x % 10 = 0 THEN 'FAILED' ELSE 'COMPLETED' END, \
                1700000000000000 + x * 1000000, 1700000000000000 + x * 1000000 + 1000, \
                1700000000000000 + x * 1000000 + 5000, \
                CASE WHEN x % 10 = 0 THEN 'exit' ELSE NULL END, \
                CASE WHEN x % 10 = 0 THEN 1 ELSE 0 END, 'afterok', FALSE \
         FROM n",
    )
    .bind::<BigInt, _>(from)
    .bind::<BigInt, _>(to)
    .execute(&mut conn)?;
    conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(())
}

/// A fresh PostgreSQL database for one run, dropped when this is.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    /// Creates `process_bench_<pid>_<n>` on `server` (a URL of its `postgres` database).
    pub fn create(server: &str) -> anyhow::Result<Self> {
        let name = format!(
            "process_bench_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        );
        let mut conn = diesel::PgConnection::establish(server)
            .with_context(|| format!("connecting to PostgreSQL at {server}"))?;
        conn.batch_execute(&format!("CREATE DATABASE {name}"))?;
        let base = server.rsplit_once('/').map_or(server, |(b, _)| b);
        Ok(Self {
            admin_url: server.to_owned(),
            url: format!("{base}/{name}"),
            name,
        })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
