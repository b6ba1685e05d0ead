//! The JWT signing key and the data directory are readable by the service alone: the key is a
//! 0600 file (moved out of the database where earlier versions kept it), the data directory is
//! 0700 and the SQLite files 0600, whatever modes they had before.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use process_datadir::Layout;
use process_http::jwt::JWT_KEY_NAME;
use process_store::testing::TestDatabase;
use process_store::Store;
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_in, Backend, TestApp, BACKENDS};

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

async fn login(app: &TestApp) -> String {
    let store = app.app.store.clone();
    tokio::task::spawn_blocking(move || {
        let hash = process_http::service::authn::hash_password("pw").unwrap();
        assert!(store.set_password_hash("alice", &hash).unwrap());
    })
    .await
    .unwrap();
    let res = app
        .post("/api/authn/login", None)
        .form(&[("user", "alice"), ("password", "pw")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.headers()["authorization"].to_str().unwrap().to_owned()
}

async fn authenticated(app: &TestApp, authorization: &str) -> bool {
    let status: Value = app
        .client
        .get(app.url("/api/authn/status"))
        .header("Authorization", authorization)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    status["authenticated"] == true
}

#[actix_web::test]
async fn the_signing_key_is_a_private_file_and_never_in_the_database() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let key = app.dir.path().join("data/secrets").join(JWT_KEY_NAME);
        assert_eq!(mode(&key), 0o600, "{backend}");
        assert_eq!(mode(&app.dir.path().join("data/secrets")), 0o700);
        assert!(fs::read_to_string(&key).unwrap().trim().len() >= 32);
        let store = app.app.store.clone();
        let in_db = tokio::task::spawn_blocking(move || store.take_secret(JWT_KEY_NAME))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            in_db, None,
            "{backend}: the key must not be in the database"
        );
        let jwt = login(&app).await;
        assert!(authenticated(&app, &jwt).await);
    }
}

#[actix_web::test]
async fn an_upgrade_moves_the_key_out_of_the_database_and_tightens_modes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fs::create_dir_all(&data).unwrap();
    fs::set_permissions(&data, fs::Permissions::from_mode(0o755)).unwrap();
    // An earlier version: the key in the database, a world-readable database file.
    let legacy = "legacy-key-0123456789abcdef0123456789abcdef";
    {
        let db = TestDatabase::sqlite(&data);
        let store = Store::open(&db.url, Layout::new(&data)).unwrap();
        store.migrate().unwrap();
        store.put_legacy_secret(JWT_KEY_NAME, legacy).unwrap();
    }
    fs::set_permissions(&data, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(data.join("processd.db"), fs::Permissions::from_mode(0o644)).unwrap();

    let app = spawn_app_in(Backend::Sqlite, &data, "").await.unwrap();
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("processd.db")), 0o600);
    for extra in ["processd.db-wal", "processd.db-shm"] {
        if data.join(extra).exists() {
            assert_eq!(mode(&data.join(extra)), 0o600, "{extra}");
        }
    }
    let key = data.join("secrets").join(JWT_KEY_NAME);
    assert_eq!(
        fs::read_to_string(&key).unwrap(),
        legacy,
        "sessions survive"
    );
    assert_eq!(mode(&key), 0o600);
    let store = app.app.store.clone();
    let left = tokio::task::spawn_blocking(move || store.take_secret(JWT_KEY_NAME))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(left, None);

    // A login outlives a restart: the next start reads the same key.
    let jwt = login(&app).await;
    let again = spawn_app_in(Backend::Sqlite, &data, "").await.unwrap();
    assert!(authenticated(&again, &jwt).await);
    assert_eq!(fs::read_to_string(&key).unwrap(), legacy);
}

#[actix_web::test]
async fn an_operator_key_file_is_used_and_a_short_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("jwt.key");
    fs::write(&key, "operator-key-0123456789abcdef0123456789").unwrap();
    let line = format!("jwt_key_file = \"{}\"", key.display());
    let app = crate::helpers::spawn_app_with(Backend::Sqlite, &line)
        .await
        .unwrap();
    let jwt = login(&app).await;
    assert!(authenticated(&app, &jwt).await);
    assert!(
        !app.dir
            .path()
            .join("data/secrets")
            .join(JWT_KEY_NAME)
            .exists(),
        "no key of its own when the operator names one"
    );

    fs::write(&key, "short").unwrap();
    let text = format!(
        "data_dir = \"{}\"\n{line}\n",
        dir.path().join("other").display()
    );
    let config = process_http::Config::parse(&text, dir.path(), &[]).unwrap();
    let err = process_http::Application::build(config)
        .await
        .err()
        .expect("a short key is refused");
    assert!(
        format!("{err:#}").contains("fewer than 32 bytes"),
        "{err:#}"
    );
}
