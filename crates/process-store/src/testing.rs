//! Test databases for this workspace's tests: a SQLite file in a temporary directory, and a
//! fresh PostgreSQL database per test on the server named by `PROCESSD_TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`), dropped afterwards.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::Connection;

/// A database URL for one test; drops its PostgreSQL database when dropped.
pub struct TestDatabase {
    pub url: String,
    pub backend: &'static str,
    drop_pg: Option<(String, String)>,
}

impl TestDatabase {
    /// A SQLite database file inside `dir`.
    pub fn sqlite(dir: &std::path::Path) -> Self {
        Self {
            url: format!("sqlite://{}", dir.join("processd.db").display()),
            backend: "sqlite",
            drop_pg: None,
        }
    }

    /// A new, empty PostgreSQL database, or `None` (with the reason printed) when no server is
    /// reachable. With `PROCESSD_REQUIRE_POSTGRES=1` (as CI sets it) an unreachable server
    /// fails the test instead.
    pub fn postgres() -> Option<Self> {
        // Local test connections go without TLS: libpq's OpenSSL state is torn down by an
        // exit handler while pooled connections on other threads may still be closing, which
        // can crash a test binary as it exits.
        Self::postgres_with_sslmode("disable")
    }

    /// Like [`TestDatabase::postgres`], with a URL that requires TLS (`sslmode=require`).
    /// For tests that hand the URL to another process, which exits on its own terms.
    pub fn postgres_tls() -> Option<Self> {
        Self::postgres_with_sslmode("require")
    }

    fn postgres_with_sslmode(sslmode: &str) -> Option<Self> {
        let admin_url = std::env::var("PROCESSD_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let admin_url = if admin_url.contains("sslmode=") {
            admin_url
        } else if admin_url.contains('?') {
            format!("{admin_url}&sslmode=disable")
        } else {
            format!("{admin_url}?sslmode=disable")
        };
        let mut admin = match PgConnection::establish(&admin_url) {
            Ok(c) => c,
            Err(e) => {
                if std::env::var("PROCESSD_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                    panic!("PostgreSQL required but unreachable at {admin_url}: {e}");
                }
                eprintln!("skipping PostgreSQL test: no server at {admin_url}: {e}");
                return None;
            }
        };
        let name = format!("processd_test_{}", uuid::Uuid::new_v4().simple());
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let (path, query) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
        let query = query.replace("sslmode=disable", &format!("sslmode={sslmode}"));
        let url = match path.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}?{query}"),
            None => panic!("PROCESSD_TEST_POSTGRES_URL has no database part: {admin_url}"),
        };
        Some(Self {
            url,
            backend: "postgres",
            drop_pg: Some((admin_url, name)),
        })
    }

    /// How many sessions are connected to this PostgreSQL database, and how many of them
    /// over TLS (the server's own view, `pg_stat_ssl`).
    pub fn postgres_sessions(&self) -> (i64, i64) {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Sessions {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            total: i64,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            tls: i64,
        }
        let (admin_url, name) = self.drop_pg.as_ref().expect("a PostgreSQL test database");
        let mut admin = PgConnection::establish(admin_url).expect("connect to PostgreSQL");
        let counts: Sessions = diesel::sql_query(
            "SELECT count(*) AS total, count(*) FILTER (WHERE s.ssl) AS tls \
             FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.datname = $1",
        )
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result(&mut admin)
        .expect("count sessions");
        (counts.total, counts.tls)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.drop_pg {
            if let Ok(mut admin) = PgConnection::establish(admin_url) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}
