//! The console log as a file: where it lives, what every read gives once it is there, a torn
//! tail after a crash, logs from before logs were files, and removal with the process.

use md5::{Digest, Md5};
use process_core::{OutputLine, ProcessId, Stream};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, BACKENDS};

fn pid(id: &str) -> ProcessId {
    ProcessId::new(id.parse().unwrap()).unwrap()
}

fn log_path(app: &TestApp, id: &str) -> std::path::PathBuf {
    app.app.store.layout().console_log_path(pid(id))
}

async fn json(app: &TestApp, path: &str, token: Option<&str>) -> Value {
    let res = app
        .get(path, token)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

/// Every line as `/output/lines` pages of `size` give it, from `after`.
async fn lines_after(app: &TestApp, id: &str, after: i64, size: u32) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after = after;
    loop {
        let path = format!("/api/system/processes/{id}/output/lines?after={after}&size={size}");
        let page = json(app, &path, Some(&app.admin)).await;
        let lines = page["_embedded"]["lines"].as_array().unwrap().clone();
        let Some(last) = lines.last() else {
            return all;
        };
        after = last["seq"].as_i64().unwrap();
        all.extend(lines);
    }
}

/// The text, lines, tail and bitstream of a finished `lines` process agree with what it
/// printed, read from a file outside its run directory.
#[actix_web::test]
async fn a_finished_log_is_read_from_its_file() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let admin = Some(app.admin.as_str());
        let id = app
            .launch_ok("lines", admin, json!([{"name": "-c", "value": "5000"}]))
            .await;
        let p = app.wait_done(&id, admin).await;
        assert_eq!(p["processStatus"], "COMPLETED", "{backend}: {p}");
        let log = log_path(&app, &id);
        assert!(log.is_file(), "{backend}: {}", log.display());
        assert!(log.with_extension("idx").is_file());
        assert!(!log.starts_with(app.app.store.layout().run_dir(pid(&id))));

        let text = app.output(&id, admin).await;
        let stdout: Vec<&str> = text.lines().filter(|l| l.starts_with("line ")).collect();
        assert_eq!(stdout.len(), 5000, "{backend}");
        assert_eq!(text.lines().count(), 5005, "five stderr lines too");

        let lines = lines_after(&app, &id, 0, 1000).await;
        assert_eq!(lines.len(), 5005);
        for (l, seq) in lines.iter().zip(1..) {
            assert_eq!(l["seq"], seq, "{l}");
        }
        // The tail: the last ten lines by seq.
        let tail = lines_after(&app, &id, 4995, 10).await;
        let want: Vec<Value> = lines[4995..].to_vec();
        assert_eq!(tail, want);
        // stdout and stderr are read apart (and awk buffers only stdout), so the two streams
        // are in the order they arrived in.
        let last = lines.iter().rfind(|l| l["stream"] == "stdout").unwrap();
        assert_eq!(last["line"], "line 5000");

        // fromTime and toTime over the stored times (seeking by time through the index).
        let t = lines[2500]["time"].as_str().unwrap().replace('+', "%2B");
        let from = format!("/api/system/processes/{id}/output/lines?fromTime={t}&size=5");
        let from = json(&app, &from, admin).await;
        let from = from["_embedded"]["lines"].as_array().unwrap().clone();
        assert!(!from.is_empty(), "{backend}");
        assert!(from[0]["seq"].as_i64().unwrap() <= 2501, "{:?}", from[0]);
        let to = format!("/api/system/processes/{id}/output/lines?toTime={t}&size=5");
        let to = json(&app, &to, admin).await;
        assert_eq!(to["_embedded"]["lines"][0]["seq"], 1);

        let bitstream = json(&app, &format!("/api/system/processes/{id}/output"), admin).await;
        assert_eq!(bitstream["sizeBytes"], text.len());
        assert_eq!(
            bitstream["checkSum"]["value"],
            hex::encode(Md5::digest(text.as_bytes()))
        );
    }
}

/// Garbage after the last record (a write torn by a kill -9) is not shown; the log reads as
/// before.
#[actix_web::test]
async fn a_torn_tail_is_dropped() {
    use std::io::Write;
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let admin = Some(app.admin.as_str());
        let id = app
            .launch_ok("lines", admin, json!([{"name": "-c", "value": "300"}]))
            .await;
        app.wait_done(&id, admin).await;
        let text = app.output(&id, admin).await;
        let lines = lines_after(&app, &id, 0, 100).await;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(log_path(&app, &id))
            .unwrap();
        // A plausible header announcing more than is there, then bytes that are no record.
        f.write_all(&[40, 0, 0, 0, 1, 2, 3, 4, b'l', b'i', b'n'])
            .unwrap();
        drop(f);
        assert_eq!(app.output(&id, admin).await, text, "{backend}");
        assert_eq!(lines_after(&app, &id, 0, 100).await, lines);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(log_path(&app, &id))
            .unwrap();
        f.write_all(b"\xff\xff\xff\xff not a record at all\n")
            .unwrap();
        drop(f);
        assert_eq!(app.output(&id, admin).await, text);
        assert_eq!(
            lines_after(&app, &id, 250, 100).await,
            lines[250..].to_vec()
        );
    }
}

/// A log stored as database rows (before logs were files) reads the same through every path.
#[actix_web::test]
async fn a_log_stored_as_rows_stays_readable() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let admin = Some(app.admin.as_str());
        let id = app
            .launch_ok("echo", admin, json!([{"name": "-s", "value": "x"}]))
            .await;
        app.wait_done(&id, admin).await;
        let log = log_path(&app, &id);
        std::fs::remove_file(&log).unwrap();
        std::fs::remove_file(log.with_extension("idx")).unwrap();
        let at = time::OffsetDateTime::now_utc();
        let old: Vec<OutputLine> = (1..=3)
            .map(|seq| OutputLine {
                seq,
                time: at,
                stream: Stream::Stdout,
                line: format!("old line {seq}"),
            })
            .collect();
        let store = app.app.store.clone();
        let p = pid(&id);
        tokio::task::spawn_blocking(move || store.append_output_rows(p, &old).unwrap())
            .await
            .unwrap();
        assert_eq!(
            app.output(&id, admin).await,
            "old line 1\nold line 2\nold line 3\n",
            "{backend}"
        );
        let lines = lines_after(&app, &id, 1, 10).await;
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["line"], "old line 2");
    }
}

/// Deleting a process removes its log file and index.
#[actix_web::test]
async fn delete_removes_the_log_file() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let admin = Some(app.admin.as_str());
        let id = app
            .launch_ok("echo", admin, json!([{"name": "-s", "value": "x"}]))
            .await;
        app.wait_done(&id, admin).await;
        let log = log_path(&app, &id);
        assert!(log.is_file());
        let res = app
            .delete(&format!("/api/system/processes/{id}"), admin)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204, "{backend}");
        assert!(!log.exists(), "{backend}");
        assert!(!log.with_extension("idx").exists());
    }
}
