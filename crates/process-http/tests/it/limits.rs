//! Bounds on what one request or one script can make processd hold.

use serde_json::{json, Value};

use crate::helpers::{fixture, spawn_app_with, BACKENDS};

#[actix_web::test]
async fn too_many_parts_or_files_are_refused() {
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, "").await else {
            continue;
        };
        let path = "/api/system/scripts/echo/processes";
        let mut form = reqwest::multipart::Form::new().text("properties", "[]");
        for _ in 0..70 {
            form = form.text("startTime", "");
        }
        let res = app.post(path, None).multipart(form).send().await.unwrap();
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().contains("parts"),
            "{body}"
        );

        let files: Vec<(String, Vec<u8>)> =
            (0..40).map(|i| (format!("f{i}.txt"), vec![b'x'])).collect();
        let res = app
            .launch(
                "echo",
                None,
                json!([]),
                files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect(),
            )
            .await;
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().contains("files"),
            "{body}"
        );
        // Nothing was kept of them.
        let data = app.dir.path().join("data");
        assert_eq!(std::fs::read_dir(data.join("files")).unwrap().count(), 0);
        assert_eq!(std::fs::read_dir(data.join("tmp")).unwrap().count(), 0);
    }
}

#[actix_web::test]
async fn over_long_lines_are_cut_and_capture_goes_on() {
    let extra = format!(
        "[[script]]\nname = \"long-line\"\ncommand = [\"{}\"]\nallowed = [\"anonymous\"]\n",
        fixture("long_line.sh")
    );
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, &extra).await else {
            continue;
        };
        let id = app.launch_ok("long-line", None, json!([])).await;
        assert_eq!(app.wait_done(&id, None).await["processStatus"], "COMPLETED");
        let out = app.output(&id, None).await;
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines.len(),
            2,
            "{:?}",
            lines.iter().map(|l| l.len()).collect::<Vec<_>>()
        );
        assert!(lines[0].starts_with(&"x".repeat(16 * 1024)));
        assert!(lines[0].len() < 16 * 1024 + 100, "{}", lines[0].len());
        assert!(lines[0].ends_with("[processd: line cut at 16384 bytes]"));
        assert_eq!(lines[1], "after");
    }
}

#[actix_web::test]
async fn invalid_utf8_nul_and_crlf_are_stored_safely() {
    let extra = format!(
        "[[script]]\nname = \"bad-bytes\"\ncommand = [\"{}\"]\nallowed = [\"anonymous\"]\n",
        fixture("bad_bytes.sh")
    );
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, &extra).await else {
            continue;
        };
        let id = app.launch_ok("bad-bytes", None, json!([])).await;
        assert_eq!(app.wait_done(&id, None).await["processStatus"], "COMPLETED");
        let out = app.output(&id, None).await;
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                "caf\u{FFFD} \u{FFFD}\u{FFFD} end",
                "nul\u{FFFD}inside",
                "crlf",
                "fine"
            ],
            "{backend:?}"
        );
    }
}
