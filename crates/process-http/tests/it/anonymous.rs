//! Processes started anonymously: seen only by whoever presents the capability their launch
//! answered with (and admins); to everyone else exactly like a missing process.

use serde_json::{json, Value};

use crate::helpers::{fixture, spawn_app_with, TestApp, BACKENDS};

/// An anonymous script that leaves files of two types.
fn config(extra: &str) -> String {
    format!(
        "{extra}\n[[script]]\nname = \"anon-outputs\"\ncommand = [\"{}\"]\nallowed = [\"anonymous\"]\n",
        fixture("outputs.sh")
    )
}

/// GET `path` with `headers`; the status and the body (JSON when it is JSON, else a string).
async fn fetch(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut req = app.get(path, token);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// An error body without its `path`, which names the request.
fn without_path(mut body: Value) -> Value {
    if let Some(o) = body.as_object_mut() {
        o.remove("path");
    }
    body
}

/// Every read of a process, as `(path, Accept)`, with `{id}` and `{file}` to fill in.
const READS: &[(&str, &str)] = &[
    ("/api/system/processes/{id}", "*/*"),
    ("/api/system/processes/{id}/output", "text/plain"),
    ("/api/system/processes/{id}/output", "application/json"),
    ("/api/system/processes/{id}/output", "text/event-stream"),
    ("/api/system/processes/{id}/files", "*/*"),
    ("/api/system/processes/{id}/files/exportCSV", "*/*"),
    ("/api/system/processes/{id}/filetypes", "*/*"),
    ("/api/system/processes/{id}/archive", "*/*"),
    ("/api/core/bitstreams/{file}", "*/*"),
    ("/api/core/bitstreams/{file}/content", "*/*"),
];

fn fill(path: &str, id: &str, file: &str) -> String {
    path.replace("{id}", id).replace("{file}", file)
}

#[actix_web::test]
async fn an_anonymous_process_is_seen_only_with_its_capability() {
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, &config("")).await else {
            continue;
        };
        let res = app.launch("anon-outputs", None, json!([]), vec![]).await;
        assert_eq!(res.status(), 202);
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        let body: Value = res.json().await.unwrap();
        let id = app.remember(&body);
        let access = body["accessToken"].as_str().unwrap().to_owned();
        assert!(
            access.len() >= 32 && access.chars().all(|c| c.is_ascii_hexdigit()),
            "{access}"
        );
        assert_eq!(
            location,
            format!("/api/system/processes/{id}?access={access}")
        );
        let done = app.wait_done(&id, None).await;
        assert_eq!(done["processStatus"], "COMPLETED", "{backend}: {done}");
        // Shown once: later answers about the process never repeat it.
        assert!(done.get("accessToken").is_none(), "{done}");

        let with = [("X-Process-Access", access.as_str())];
        let (_, files) = fetch(
            &app,
            &format!("/api/system/processes/{id}/files"),
            None,
            &with,
        )
        .await;
        let file = files["_embedded"]["bitstreams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == "result.txt")
            .unwrap_or_else(|| panic!("{files}"));
        let file_id = file["id"].as_str().unwrap().to_owned();

        // With the capability, in the header or the query, everything is readable, and the
        // links of the answers carry it, so following them keeps working without the header.
        for (path, accept) in READS {
            if *accept == "text/event-stream" {
                continue; // Checked below: a feed of a finished process ends at once.
            }
            let path = fill(path, &id, &file_id);
            let (status, _) = fetch(&app, &path, None, &[("Accept", accept), with[0]]).await;
            assert_eq!(status, 200, "{backend}: {path} {accept}");
            let sep = if path.contains('?') { '&' } else { '?' };
            let query = format!("{path}{sep}access={access}");
            let (status, _) = fetch(&app, &query, None, &[("Accept", accept)]).await;
            assert_eq!(status, 200, "{backend}: {query} {accept}");
        }
        let content = file["_links"]["content"]["href"].as_str().unwrap();
        assert!(content.ends_with(&format!("?access={access}")), "{content}");
        let (status, text) = fetch(&app, content, None, &[]).await;
        assert_eq!((status, text), (200, Value::String("hello\n".into())));
        let (_, p) = fetch(&app, &location, None, &[]).await;
        let output = p["_links"]["output"]["href"].as_str().unwrap();
        assert_eq!(fetch(&app, output, None, &[]).await.0, 200, "{p}");
        let next = files["_links"]["self"]["href"].as_str().unwrap();
        assert!(next.contains(&format!("access={access}")), "{files}");

        // Without it, or with a wrong one, each read answers exactly like a missing process
        // (for an anonymous caller and for a user alike); so do stop and delete.
        let wrong = "0".repeat(access.len());
        let missing_file = uuid::Uuid::new_v4().to_string();
        for token in [None, Some(app.bob.as_str())] {
            for presented in [None, Some(wrong.as_str())] {
                let mut headers = vec![];
                if let Some(p) = presented {
                    headers.push(("X-Process-Access", p));
                }
                for (path, accept) in READS {
                    let mut h = headers.clone();
                    h.push(("Accept", accept));
                    let hidden = fetch(&app, &fill(path, &id, &file_id), token, &h).await;
                    let missing =
                        fetch(&app, &fill(path, "999999", &missing_file), token, &h).await;
                    assert!(
                        matches!(hidden.0, 401 | 404),
                        "{backend}: {path} {hidden:?}"
                    );
                    assert_eq!(hidden.0, missing.0, "{backend}: {path} {token:?}");
                    assert_eq!(without_path(hidden.1), without_path(missing.1), "{path}");
                }
                for (method, path) in [
                    ("POST", format!("/api/system/processes/{id}/stop")),
                    ("DELETE", format!("/api/system/processes/{id}")),
                ] {
                    let req = |path: &str| {
                        let url = app.url(path);
                        let req = if method == "POST" {
                            app.client.post(url)
                        } else {
                            app.client.delete(url)
                        };
                        let req = match token {
                            Some(t) => req.bearer_auth(t),
                            None => req,
                        };
                        match presented {
                            Some(p) => req.header("X-Process-Access", p),
                            None => req,
                        }
                    };
                    let hidden = req(&path).send().await.unwrap();
                    let missing = req(&path.replace(&format!("/{id}"), "/999999"))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(hidden.status(), missing.status(), "{method} {path}");
                    let (h, m): (Value, Value) =
                        (hidden.json().await.unwrap(), missing.json().await.unwrap());
                    assert_eq!(without_path(h), without_path(m), "{method} {path}");
                }
            }
        }
        // Still there, untouched.
        assert_eq!(app.process(&id, None).await["processStatus"], "COMPLETED");

        // The event stream with the capability ends with the process.
        let (status, feed) = fetch(
            &app,
            &format!("/api/system/processes/{id}/output"),
            None,
            &[("Accept", "text/event-stream"), with[0]],
        )
        .await;
        assert_eq!(status, 200);
        assert!(feed.as_str().unwrap().contains("event: end"), "{feed}");

        // An admin sees it without the capability, and in the listing; nobody else lists it.
        let (status, _) = fetch(
            &app,
            &format!("/api/system/processes/{id}/files"),
            Some(&app.admin),
            &[],
        )
        .await;
        assert_eq!(status, 200);
        let (_, all) = fetch(&app, "/api/system/processes", Some(&app.admin), &[]).await;
        assert_eq!(all["page"]["totalElements"], 1, "{all}");
        let (_, bobs) = fetch(&app, "/api/system/processes", Some(&app.bob), &[]).await;
        assert_eq!(bobs["page"]["totalElements"], 0, "{bobs}");
        let (status, _) = fetch(&app, "/api/system/processes", None, &[with[0]]).await;
        assert_eq!(status, 401, "anonymous callers list nothing");
    }
}

#[actix_web::test]
async fn walking_the_ids_anonymously_finds_nothing() {
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, &config("")).await else {
            continue;
        };
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(
                app.launch_ok("echo", None, json!([{"name": "-s", "value": "secret"}]))
                    .await,
            );
        }
        // Someone else's capability opens only its own process.
        let other = app.capability(&ids[0]).unwrap();
        let last: u64 = ids.last().unwrap().parse().unwrap();
        let missing = fetch(&app, "/api/system/processes/999999/output", None, &[]).await;
        for n in 1..=last + 3 {
            for headers in [vec![], vec![("X-Process-Access", other.as_str())]] {
                if n.to_string() == ids[0] && !headers.is_empty() {
                    continue;
                }
                let res = fetch(
                    &app,
                    &format!("/api/system/processes/{n}/output"),
                    None,
                    &headers,
                )
                .await;
                assert_eq!(res.0, missing.0, "{backend}: process {n}: {res:?}");
                assert_eq!(without_path(res.1), without_path(missing.1.clone()));
            }
        }
        for id in &ids {
            // Read once it has run: under load the walk above can outpace the runner.
            app.wait_done(id, None).await;
            assert_eq!(app.output(id, None).await, "-s\nsecret\n");
        }
    }
}

#[actix_web::test]
async fn depending_on_an_anonymous_process_takes_its_capability() {
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, &config("")).await else {
            continue;
        };
        let target = app.launch_ok("echo", None, json!([])).await;
        let launch = |access: Option<String>| {
            let form = reqwest::multipart::Form::new()
                .text("properties", "[]")
                .text("dependsOn", target.clone());
            let req = app.post("/api/system/scripts/echo/processes", None);
            let req = match access {
                Some(a) => req.header("X-Process-Access", a),
                None => req,
            };
            req.multipart(form).send()
        };
        let res = launch(None).await.unwrap();
        assert_eq!(res.status(), 400, "{backend}");
        let body: Value = res.json().await.unwrap();
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("unknown process"),
            "{body}"
        );
        let res = launch(app.capability(&target)).await.unwrap();
        assert_eq!(res.status(), 202, "{backend}");
        let waiter = app.remember(&res.json().await.unwrap());
        assert_eq!(
            app.wait_done(&waiter, None).await["processStatus"],
            "COMPLETED"
        );
    }
}

#[actix_web::test]
async fn public_access_shows_anonymous_processes_to_everyone() {
    for backend in BACKENDS {
        let public = config("anonymous_process_access = \"public\"");
        let Some(app) = spawn_app_with(backend, &public).await else {
            continue;
        };
        let id = app.launch_ok("anon-outputs", None, json!([])).await;
        app.wait_done(&id, None).await;
        let (_, files) = fetch(
            &app,
            &format!("/api/system/processes/{id}/files"),
            None,
            &[],
        )
        .await;
        let file_id = files["_embedded"]["bitstreams"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for token in [None, Some(app.bob.as_str())] {
            for (path, accept) in READS {
                let path = fill(path, &id, &file_id);
                let (status, _) = fetch(&app, &path, token, &[("Accept", accept)]).await;
                assert_eq!(status, 200, "{backend}: {path} {accept}");
            }
        }
    }
}
