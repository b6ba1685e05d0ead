//! Storage under stress: a full disk, and many writers and readers at once.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::helpers::{spawn_app_in, spawn_app_with, Backend};

/// A small tmpfs mounted for one test; unmounted on drop.
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    fn mount(path: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(path).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            Some(Self {
                path: path.to_owned(),
            })
        } else {
            eprintln!("skipping disk-full test: cannot mount a tmpfs here (needs root)");
            None
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Fills the disk under `dir` with a file and returns its path.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=64k"])
        .arg(format!("of={}", path.display()))
        .stderr(std::process::Stdio::null())
        .status();
    path
}

async fn status_and_body(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[actix_web::test]
async fn a_full_disk_gives_clear_errors_and_recovers() {
    let outer = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(&outer.path().join("disk"), "8m") else {
        return;
    };
    let data = disk.path.join("data");
    let Some(app) = spawn_app_in(Backend::Sqlite, &data, "max_upload_bytes = 104857600").await
    else {
        return;
    };
    let t = app.alice.clone();

    let before = app
        .launch_ok("lines", Some(&t), json!([{"name": "-c", "value": "100"}]))
        .await;
    assert_eq!(
        app.wait_done(&before, Some(&t)).await["processStatus"],
        "COMPLETED"
    );

    // An upload bigger than the disk: 507, and nothing partial left behind.
    let big = vec![b'x'; 12 * 1024 * 1024];
    let res = app
        .launch(
            "cat",
            Some(&t),
            json!([{"name": "-f", "value": "big.bin"}]),
            vec![("big.bin", big)],
        )
        .await;
    let (status, body) = status_and_body(res).await;
    assert_eq!(status, 507, "{body}");
    assert_eq!(body["status"], 507);
    assert_eq!(std::fs::read_dir(data.join("tmp")).unwrap().count(), 0);

    // With the disk full, a launch fails clearly, or is taken when the database still has
    // room in pages it already holds (the console logs are files, so it often has); reads
    // keep working.
    let filler = fill(&disk.path);
    let res = app.launch("echo", Some(&t), json!([]), vec![]).await;
    let (status, body) = status_and_body(res).await;
    let taken = match status {
        202 => Some(app.remember(&body)),
        507 | 503 => {
            assert!(body["message"].is_string(), "{body}");
            None
        }
        _ => panic!("{status} {body}"),
    };
    assert_eq!(
        app.process(&before, Some(&t)).await["processStatus"],
        "COMPLETED"
    );
    assert_eq!(app.output(&before, Some(&t)).await.lines().count(), 100);
    let health = app.get("/healthz", None).send().await.unwrap();
    assert_eq!(health.status(), 200);

    // Space comes back: it recovers by itself, and a launch taken meanwhile ends.
    std::fs::remove_file(filler).unwrap();
    if let Some(id) = taken {
        let p = app.wait_done(&id, Some(&t)).await;
        assert!(
            p["processStatus"] == "COMPLETED" || p["processStatus"] == "FAILED",
            "{p}"
        );
    }
    let after = app
        .launch_ok("lines", Some(&t), json!([{"name": "-c", "value": "100"}]))
        .await;
    assert_eq!(
        app.wait_done(&after, Some(&t)).await["processStatus"],
        "COMPLETED"
    );
    assert_eq!(app.output(&before, Some(&t)).await.lines().count(), 100);
    drop(app);
}

#[actix_web::test]
async fn concurrent_launches_and_listings_lose_nothing() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = spawn_app_with(backend, "max_concurrent = 8").await else {
            continue;
        };
        let app = std::sync::Arc::new(app);
        let mut tasks = Vec::new();
        for client in 0..6 {
            let app = app.clone();
            tasks.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                for _ in 0..5 {
                    let res = app
                        .launch(
                            "lines",
                            Some(&app.alice),
                            json!([{"name": "-c", "value": "3000"}]),
                            vec![],
                        )
                        .await;
                    assert_eq!(res.status(), 202, "client {client}");
                    let body: Value = res.json().await.unwrap();
                    ids.push(body["processId"].as_str().unwrap().to_owned());
                    let list = app
                        .get("/api/system/processes?size=100", Some(&app.admin))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(list.status(), 200);
                }
                ids
            }));
        }
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let app = app.clone();
                tokio::spawn(async move {
                    for _ in 0..30 {
                        let res = app
                            .get("/api/system/processes/search/byProperty?processStatus=RUNNING&size=20", Some(&app.admin))
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
                    }
                })
            })
            .collect();
        let mut ids = Vec::new();
        for t in tasks {
            ids.extend(t.await.unwrap());
        }
        for r in readers {
            r.await.unwrap();
        }
        for id in &ids {
            let p = app.wait_done(id, Some(&app.alice)).await;
            assert_eq!(p["processStatus"], "COMPLETED", "{p}");
            let out = app.output(id, Some(&app.alice)).await;
            let stdout = out.lines().filter(|l| l.starts_with("line ")).count();
            assert_eq!(stdout, 3000, "process {id} lost lines");
        }
    }
}
