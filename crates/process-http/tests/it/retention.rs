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
        let log = app.dir.path().join(format!("data/logs/{id}.log"));
        assert!(log.is_file(), "{backend}: the console log is a file");
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
        assert!(
            !log.exists(),
            "{backend}: retention removes the console log"
        );
        assert!(!log.with_extension("idx").exists());
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

/// Housekeeping while a launch is still being received: its input, already in place under
/// `files/` but not yet referenced by a committed row, must survive the sweeps however old its
/// bytes look, and the launch must run with it.
#[actix_web::test]
async fn housekeeping_never_removes_the_inputs_of_a_launch_in_flight() {
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, "").await else {
            continue;
        };
        let boundary = "processd-test-boundary";
        let head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"properties\"\r\n\r\n\
             [{{\"name\":\"-f\",\"value\":\"in.csv\"}}]\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"in.csv\"\r\n\
             Content-Type: text/csv\r\n\r\nkept,while,in,flight\n\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"startTime\"\r\n\r\n"
        );
        // An empty start time, then the end of the body.
        let tail = format!("\r\n--{boundary}--\r\n");
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(2);
        tx.send(Ok(head.into_bytes())).await.unwrap();
        let body = reqwest::Body::wrap_stream(tokio_stream_of(rx));
        let send = app
            .post("/api/system/scripts/cat/processes", Some(&app.alice))
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send();
        let launch = tokio::spawn(send);
        // The file part is complete once it sits in files/; the request is not.
        let files = app.dir.path().join("data/files");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::fs::read_dir(&files).unwrap().count() == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "{backend}: file never placed"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let store = app.app.store.clone();
        let swept = tokio::task::spawn_blocking(move || {
            let tmp = store.layout().clear_tmp(std::time::Duration::ZERO);
            let inputs = store
                .clean_orphan_inputs(std::time::Duration::ZERO)
                .unwrap();
            tmp + inputs
        })
        .await
        .unwrap();
        assert_eq!(swept, 0, "{backend}: nothing in flight may be swept");
        tx.send(Ok(tail.into_bytes())).await.unwrap();
        drop(tx);
        let res = launch.await.unwrap().unwrap();
        assert_eq!(res.status(), 202, "{backend}");
        let body: Value = res.json().await.unwrap();
        let id = body["processId"].as_str().unwrap().to_owned();
        let t = Some(app.alice.as_str());
        let p = app.wait_done(&id, t).await;
        assert_eq!(p["processStatus"], "COMPLETED", "{backend}: {p}");
        assert!(app.output(&id, t).await.contains("kept,while,in,flight"));
        // Once committed the input is referenced, and a sweep leaves it too.
        let store = app.app.store.clone();
        let swept = tokio::task::spawn_blocking(move || {
            store
                .clean_orphan_inputs(std::time::Duration::ZERO)
                .unwrap()
        })
        .await
        .unwrap();
        assert_eq!(swept, 0, "{backend}");
    }
}

/// The receiving half of a channel as a body stream.
fn tokio_stream_of(
    rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|i| (i, rx)) })
}
