//! Retention: finished processes show when they expire, and the sweep deletes them (and stale
//! upload sessions) with everything they own.

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::helpers::{spawn_app_with, BACKENDS};

#[actix_web::test]
async fn expired_processes_and_uploads_are_swept() {
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, "retention_days = 3").await else {
            continue;
        };
        let t = Some(app.alice.as_str());
        let id = app
            .launch_ok("outputs", t, json!([{"name": "-z", "value": "10"}]))
            .await;
        let p = app.wait_done(&id, t).await;
        let end = OffsetDateTime::parse(p["endTime"].as_str().unwrap(), &Rfc3339).unwrap();
        let expiry = OffsetDateTime::parse(p["expiryDate"].as_str().unwrap(), &Rfc3339).unwrap();
        assert_eq!(expiry - end, time::Duration::days(3));
        let files: Value = app
            .get(&format!("/api/system/processes/{id}/files"), t)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let first = &files["_embedded"]["bitstreams"][0];
        assert_eq!(first["expiryDate"], p["expiryDate"]);
        let content = first["_links"]["content"]["href"]
            .as_str()
            .unwrap()
            .to_owned();

        let res = app
            .post("/api/system/uploadDefinitions", t)
            .json(&json!({"fileDefinitions": [{"name": "a.csv"}]}))
            .send()
            .await
            .unwrap();
        let upload: Value = res.json().await.unwrap();
        let upload_path = format!(
            "/api/system/uploadDefinitions/{}",
            upload["id"].as_str().unwrap()
        );

        // Not yet expired: the sweep keeps everything.
        let store = app.app.store.clone();
        let now = OffsetDateTime::now_utc();
        let kept = tokio::task::spawn_blocking(move || {
            store.sweep_processes(3, now).unwrap() + store.sweep_uploads(3, now).unwrap()
        })
        .await
        .unwrap();
        assert_eq!(kept, 0);

        // Four days later both are gone, with the process's files and run directory.
        let store = app.app.store.clone();
        let later = now + time::Duration::days(4);
        let (processes, uploads) = tokio::task::spawn_blocking(move || {
            (
                store.sweep_processes(3, later).unwrap(),
                store.sweep_uploads(3, later).unwrap(),
            )
        })
        .await
        .unwrap();
        assert_eq!((processes, uploads), (1, 1));
        for path in [format!("/api/system/processes/{id}"), content, upload_path] {
            let res = app.get(&path, t).send().await.unwrap();
            assert_eq!(res.status(), 404, "{path}");
        }
        assert!(!app.dir.path().join(format!("data/runs/{id}")).exists());
    }
}

#[actix_web::test]
async fn without_retention_nothing_expires() {
    let Some(app) = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await else {
        return;
    };
    let id = app.launch_ok("echo", None, json!([])).await;
    let p = app.wait_done(&id, None).await;
    assert_eq!(p["expiryDate"], Value::Null);
}
