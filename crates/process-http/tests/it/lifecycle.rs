//! Scheduled starts, dependencies and the live output feed.

use std::time::Duration;

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::helpers::{spawn_app, TestApp, BACKENDS};

async fn launch_form(
    app: &TestApp,
    script: &str,
    token: &str,
    parts: &[(&str, String)],
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in parts {
        form = form.text((*name).to_owned(), value.clone());
    }
    app.post(
        &format!("/api/system/scripts/{script}/processes"),
        Some(token),
    )
    .multipart(form)
    .send()
    .await
    .unwrap()
}

async fn launched(res: reqwest::Response) -> Value {
    assert_eq!(res.status(), 202);
    res.json().await.unwrap()
}

#[actix_web::test]
async fn start_time_defers_a_process() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let t = &app.alice;
        let at = OffsetDateTime::now_utc() + time::Duration::seconds(2);
        let p = launched(
            launch_form(
                &app,
                "sleep",
                t,
                &[
                    (
                        "properties",
                        json!([{"name": "-t", "value": "0"}]).to_string(),
                    ),
                    ("startTime", at.format(&Rfc3339).unwrap()),
                ],
            )
            .await,
        )
        .await;
        let id = p["processId"].as_str().unwrap();
        assert_eq!(p["processStatus"], "SCHEDULED");
        let scheduled =
            OffsetDateTime::parse(p["scheduledStartTime"].as_str().unwrap(), &Rfc3339).unwrap();
        assert!((scheduled - at).abs() < time::Duration::milliseconds(1));
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(app.process(id, Some(t)).await["processStatus"], "SCHEDULED");
        let done = app.wait_done(id, Some(t)).await;
        assert_eq!(done["processStatus"], "COMPLETED");
        let started = OffsetDateTime::parse(done["startTime"].as_str().unwrap(), &Rfc3339).unwrap();
        assert!(started >= at, "started {started} before {at}");

        // A past start time means now; a malformed one is refused.
        let past = launched(
            launch_form(
                &app,
                "echo",
                t,
                &[("startTime", "2001-01-01T00:00:00Z".into())],
            )
            .await,
        )
        .await;
        let done = app
            .wait_done(past["processId"].as_str().unwrap(), Some(t))
            .await;
        assert_eq!(done["processStatus"], "COMPLETED");
        let bad = launch_form(&app, "echo", t, &[("startTime", "tomorrow".into())]).await;
        assert_eq!(bad.status(), 400);
        let body: Value = bad.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().contains("startTime"),
            "{body}"
        );
    }
}

#[actix_web::test]
async fn dependencies_order_and_fail_processes() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let t = &app.alice;
        let first = app
            .launch_ok("sleep", Some(t), json!([{"name": "-t", "value": "1"}]))
            .await;
        let after =
            launched(launch_form(&app, "echo", t, &[("dependsOn", first.clone())]).await).await;
        let after_id = after["processId"].as_str().unwrap().to_owned();
        assert_eq!(after["dependsOn"], json!([first.clone()]));
        assert_eq!(after["dependencyType"], "afterok");

        // While the dependency runs, the dependent waits and the dependency cannot be deleted.
        app.wait_running(&first, Some(t)).await;
        assert_eq!(
            app.process(&after_id, Some(t)).await["processStatus"],
            "SCHEDULED"
        );
        let del = app
            .delete(&format!("/api/system/processes/{first}"), Some(t))
            .send()
            .await
            .unwrap();
        assert_eq!(del.status(), 422);
        let first_done = app.wait_done(&first, Some(t)).await;
        let after_done = app.wait_done(&after_id, Some(t)).await;
        assert_eq!(after_done["processStatus"], "COMPLETED");
        assert!(
            after_done["startTime"].as_str().unwrap() >= first_done["endTime"].as_str().unwrap()
        );

        // afterok on a failure: FAILED `dependency`, never run; afterany: runs.
        let failing = app
            .launch_ok("exit", Some(t), json!([{"name": "-c", "value": "2"}]))
            .await;
        let ok_dep =
            launched(launch_form(&app, "echo", t, &[("dependsOn", failing.clone())]).await).await;
        let any_dep = launched(
            launch_form(
                &app,
                "echo",
                t,
                &[
                    ("dependsOn", failing.clone()),
                    ("dependencyType", "afterany".into()),
                ],
            )
            .await,
        )
        .await;
        let ok_done = app
            .wait_done(ok_dep["processId"].as_str().unwrap(), Some(t))
            .await;
        assert_eq!(ok_done["processStatus"], "FAILED");
        assert_eq!(ok_done["statusReason"], "dependency");
        assert_eq!(ok_done["startTime"], Value::Null);
        let out = app
            .output(ok_dep["processId"].as_str().unwrap(), Some(t))
            .await;
        assert!(out.contains(&format!("dependency {failing}")), "{out}");
        let any_done = app
            .wait_done(any_dep["processId"].as_str().unwrap(), Some(t))
            .await;
        assert_eq!(any_done["processStatus"], "COMPLETED");

        // Unknown ids, someone else's process and bad values are refused.
        for (deps, kind) in [
            ("99999", "afterok"),
            ("abc", "afterok"),
            (first.as_str(), "whenever"),
        ] {
            let res = launch_form(
                &app,
                "echo",
                t,
                &[
                    ("dependsOn", deps.to_owned()),
                    ("dependencyType", kind.to_owned()),
                ],
            )
            .await;
            assert_eq!(res.status(), 400, "{deps} {kind}");
        }
        let res = launch_form(&app, "echo", &app.bob, &[("dependsOn", first.clone())]).await;
        assert_eq!(res.status(), 400);
    }
}

/// Reads an SSE response to its end and returns (event, id, data) triples.
async fn read_events(res: reqwest::Response) -> Vec<(String, Option<i64>, Value)> {
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let text = tokio::time::timeout(Duration::from_secs(60), res.text())
        .await
        .unwrap()
        .unwrap();
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut event = String::from("message");
            let mut id = None;
            let mut data = Value::Null;
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    event = v.to_owned();
                } else if let Some(v) = line.strip_prefix("id: ") {
                    id = Some(v.parse().unwrap());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(v).unwrap();
                }
            }
            (event, id, data)
        })
        .collect()
}

#[actix_web::test]
async fn live_output_follows_and_resumes() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let t = &app.alice;
        let id = app
            .launch_ok("lines", Some(t), json!([{"name": "-c", "value": "3000"}]))
            .await;
        let path = format!("/api/system/processes/{id}/output");
        // Follow from the start, while it runs.
        let res = app
            .get(&path, Some(t))
            .header("Accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        let events = read_events(res).await;
        let (end, lines) = events.split_last().unwrap();
        assert_eq!(end.0, "end");
        assert_eq!(end.2["processStatus"], "COMPLETED");
        let ids: Vec<i64> = lines.iter().map(|e| e.1.unwrap()).collect();
        assert_eq!(ids, (1..=3003).collect::<Vec<_>>(), "no gap, no duplicate");
        assert!(lines.iter().all(|e| e.0 == "line"));
        let stdout: Vec<&str> = lines
            .iter()
            .filter(|e| e.2["stream"] == "stdout")
            .map(|e| e.2["line"].as_str().unwrap())
            .collect();
        assert_eq!(stdout.len(), 3000);
        assert_eq!(stdout[2999], "line 3000");

        // Resume after event 2990: only the rest, then the end.
        let res = app
            .get(&path, Some(t))
            .header("Accept", "text/event-stream")
            .header("Last-Event-ID", "2990")
            .send()
            .await
            .unwrap();
        let events = read_events(res).await;
        let ids: Vec<i64> = events.iter().filter_map(|e| e.1).collect();
        assert_eq!(ids, (2991..=3003).collect::<Vec<_>>());
        assert_eq!(events.last().unwrap().0, "end");

        // Others cannot follow it.
        let res = app
            .get(&path, Some(&app.bob))
            .header("Accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
    }
}

#[actix_web::test]
async fn many_followers_see_the_same_complete_feed() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let t = app.alice.clone();
        let id = app
            .launch_ok("lines", Some(&t), json!([{"name": "-c", "value": "20000"}]))
            .await;
        let path = format!("/api/system/processes/{id}/output");
        let followers: Vec<_> = (0..5)
            .map(|_| {
                let req = app
                    .get(&path, Some(&t))
                    .header("Accept", "text/event-stream")
                    .send();
                tokio::spawn(async move { read_events(req.await.unwrap()).await })
            })
            .collect();
        for f in followers {
            let events = f.await.unwrap();
            let (end, lines) = events.split_last().unwrap();
            assert_eq!(end.0, "end");
            assert_eq!(end.2["processStatus"], "COMPLETED");
            let ids: Vec<i64> = lines.iter().map(|e| e.1.unwrap()).collect();
            assert_eq!(
                ids,
                (1..=20_020).collect::<Vec<_>>(),
                "{backend:?}: a follower saw a gap or a duplicate"
            );
        }
    }
}

/// A waiter with a far start time cannot pin what it waits on: an administrator's delete wins
/// and the waiter fails `dependency`, saying why. Other callers still may not delete what
/// someone waits on.
#[actix_web::test]
async fn administrators_win_over_waiters() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let far = "2999-01-01T00:00:00Z".to_owned();
        for (owner, deleter, expected) in [
            (None, Some(app.admin.as_str()), 204),
            (Some(app.alice.as_str()), Some(app.alice.as_str()), 422),
            (Some(app.alice.as_str()), Some(app.admin.as_str()), 204),
        ] {
            let target = app.launch_ok("echo", owner, json!([])).await;
            app.wait_done(&target, owner).await;
            let form = reqwest::multipart::Form::new()
                .text("properties", "[]")
                .text("dependsOn", target.clone())
                .text("startTime", far.clone());
            // Depending on an anonymous process takes its capability.
            let post = app
                .client
                .post(app.url("/api/system/scripts/echo/processes"));
            let res = app
                .as_launcher(post, &target, owner)
                .multipart(form)
                .send()
                .await
                .unwrap();
            let waiter = app.remember(&launched(res).await);
            let del = app
                .delete(&format!("/api/system/processes/{target}"), deleter)
                .send()
                .await
                .unwrap();
            assert_eq!(
                del.status(),
                expected,
                "{backend}: {owner:?} by {deleter:?}"
            );
            let w = app.process(&waiter, owner).await;
            if expected == 204 {
                assert_eq!(w["processStatus"], "FAILED", "{w}");
                assert_eq!(w["statusReason"], "dependency", "{w}");
                let out = app.output(&waiter, owner).await;
                assert!(
                    out.contains(&format!("not run: dependency {target} was deleted")),
                    "{out}"
                );
            } else {
                let body: Value = del.json().await.unwrap();
                assert_eq!(body["code"], "dependency_waiting", "{body}");
                assert_eq!(w["processStatus"], "SCHEDULED", "{w}");
            }
        }
    }
}

/// Feeds of a process that does not run here share one poller of the database, which stops
/// once nobody follows; a stop before the start ends every feed.
#[actix_web::test]
async fn followers_of_a_waiting_process_share_one_poller() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let t = &app.alice;
        let res = launch_form(
            &app,
            "echo",
            t,
            &[("startTime", "2999-01-01T00:00:00Z".to_owned())],
        )
        .await;
        let waiting = launched(res).await;
        let id = waiting["processId"].as_str().unwrap().to_owned();
        let path = format!("/api/system/processes/{id}/output");
        let mut feeds = Vec::new();
        for _ in 0..10 {
            let res = app
                .get(&path, Some(t))
                .header("Accept", "text/event-stream")
                .send()
                .await
                .unwrap();
            feeds.push(res);
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while app.app.watchers.count() != 1 {
            assert!(
                std::time::Instant::now() < deadline,
                "{backend}: one poller"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let stop = app
            .post(&format!("/api/system/processes/{id}/stop"), Some(t))
            .send()
            .await
            .unwrap();
        assert_eq!(stop.status(), 202, "{backend}");
        for feed in feeds {
            let events = read_events(feed).await;
            let (end, lines) = events.split_last().unwrap();
            assert_eq!(end.0, "end", "{backend}: {events:?}");
            assert_eq!(end.2["statusReason"], "stopped");
            assert!(lines[0].2["line"]
                .as_str()
                .unwrap()
                .contains("stopped before it started"));
        }
        while app.app.watchers.count() != 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "{backend}: the poller stops"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
