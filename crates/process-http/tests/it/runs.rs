//! What happens when scripts run: output capture, environment, exit statuses, timeouts, stop,
//! the concurrency limit, delete, output files and the output cap.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use md5::Digest;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::helpers::{fixture, spawn_app, spawn_app_with, TestApp, BACKENDS};

fn parse_time(s: &str) -> OffsetDateTime {
    OffsetDateTime::parse(s, &Rfc3339).unwrap_or_else(|e| panic!("time {s:?}: {e}"))
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

/// Every timestamped line of a finished process, with optional query pairs: the pages of
/// `/output/lines` followed through `_links.next` until `complete`, checked for gaps.
async fn output_json(
    app: &TestApp,
    id: &str,
    token: Option<&str>,
    query: &[(&str, &str)],
) -> Value {
    let res = app
        .get(&format!("/api/system/processes/{id}/output/lines"), token)
        .query(query)
        .query(&[("size", "1000")])
        .send()
        .await
        .expect("output lines");
    assert_eq!(res.status(), 200, "{query:?}");
    let mut page: Value = res.json().await.unwrap();
    let mut lines = Vec::new();
    loop {
        assert_eq!(page["type"], "outputlines", "{page}");
        let items = page["_embedded"]["lines"].as_array().expect("lines");
        let mut last = page["after"].as_i64().expect("after");
        for l in items {
            let seq = l["seq"].as_i64().expect("seq");
            assert!(seq > last, "{seq} after {last}");
            if query.is_empty() {
                assert_eq!(seq, last + 1, "no gap between pages");
            }
            last = seq;
            let mut l = l.clone();
            l.as_object_mut().unwrap().remove("seq");
            lines.push(l);
        }
        assert_eq!(page["last"], last, "{page}");
        if page["complete"] == true {
            assert!(page["_links"].get("next").is_none(), "{page}");
            return Value::Array(lines);
        }
        let next = page["_links"]["next"]["href"]
            .as_str()
            .expect("next")
            .to_owned();
        let res = app.get(&next, token).send().await.expect("next page");
        assert_eq!(res.status(), 200, "{next}");
        page = res.json().await.unwrap();
    }
}

/// Checks an error response's status and JSON body; returns the message.
async fn expect_error(res: reqwest::Response, status: u16, what: &str) -> String {
    let got = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "{what}: {text}");
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
    assert_eq!(body["status"], status, "{what}: {body}");
    let message = body["message"].as_str().unwrap_or_default().to_owned();
    assert!(!message.is_empty(), "{what}: {body}");
    message
}

async fn stop(app: &TestApp, id: &str, token: Option<&str>) -> reqwest::Response {
    app.post(&format!("/api/system/processes/{id}/stop"), token)
        .send()
        .await
        .expect("stop")
}

/// Polls the output until it contains `needle` (the script has got that far).
async fn wait_output(app: &TestApp, id: &str, token: Option<&str>, needle: &str) -> String {
    for _ in 0..400 {
        let out = app.output(id, token).await;
        if out.contains(needle) {
            return out;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("process {id} never printed {needle:?}");
}

/// The process group id of a local job (`local:<pid>:<start>:<boot id>`).
fn job_pgid(p: &Value) -> i32 {
    let job = p["executorJobId"]
        .as_str()
        .unwrap_or_else(|| panic!("no executorJobId: {p}"));
    job.strip_prefix("local:")
        .and_then(|r| r.split(':').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("executorJobId {job:?}"))
}

/// Live (non-zombie) processes in process group `pgid`.
fn group_members(pgid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        // state, ppid, pgrp
        if fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string() {
            found.push(pid);
        }
    }
    found
}

fn run_dir(app: &TestApp, id: &str) -> PathBuf {
    app.dir.path().join("data").join("runs").join(id)
}

#[actix_web::test]
async fn twenty_thousand_lines_are_captured_in_order() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        let id = app
            .launch_ok("lines", alice, json!([{"name": "-c", "value": 20000}]))
            .await;
        let p = app.wait_done(&id, alice).await;
        assert_eq!(p["processStatus"], "COMPLETED", "{backend:?}: {p}");
        assert_eq!(p["exitCode"], 0);
        assert_eq!(p["outputTruncated"], false);

        let expected_out: Vec<String> = (1..=20_000).map(|i| format!("line {i}")).collect();
        let expected_err: Vec<String> = (1..=20).map(|i| format!("err {}", i * 1000)).collect();

        let text = app.output(&id, alice).await;
        assert!(text.ends_with('\n'));
        let all: Vec<&str> = text.lines().collect();
        assert_eq!(all.len(), 20_020, "{backend:?}");
        let out: Vec<&str> = all
            .iter()
            .copied()
            .filter(|l| l.starts_with("line "))
            .collect();
        assert_eq!(out, expected_out, "{backend:?}: stdout in order");
        let err: Vec<&str> = all
            .iter()
            .copied()
            .filter(|l| l.starts_with("err "))
            .collect();
        assert_eq!(err, expected_err, "{backend:?}: stderr lines");

        let lines = output_json(&app, &id, alice, &[]).await;
        let lines = lines.as_array().expect("array");
        assert_eq!(lines.len(), 20_020);
        let mut by_stream: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let mut last_time: BTreeMap<&str, OffsetDateTime> = BTreeMap::new();
        for l in lines {
            let obj = l.as_object().expect("object");
            assert_eq!(obj.len(), 3, "{l}");
            let stream = l["stream"].as_str().expect("stream");
            assert!(matches!(stream, "stdout" | "stderr"), "{l}");
            let t = parse_time(l["time"].as_str().expect("time"));
            if let Some(prev) = last_time.insert(stream, t) {
                assert!(prev <= t, "times go back in {stream}: {l}");
            }
            by_stream
                .entry(stream)
                .or_default()
                .push(l["line"].as_str().expect("line"));
        }
        assert_eq!(by_stream["stdout"], expected_out);
        assert_eq!(by_stream["stderr"], expected_err);
        // Same lines, same order as the text form.
        let json_lines: Vec<&str> = lines.iter().map(|l| l["line"].as_str().unwrap()).collect();
        assert_eq!(json_lines, all);

        // fromTime / toTime narrow the lines to those in the interval (both ends included).
        let middle = lines
            .iter()
            .find(|l| l["line"] == "line 10000")
            .expect("line 10000");
        let t_mid = parse_time(middle["time"].as_str().unwrap());
        let t_mid_s = rfc3339(t_mid);
        let texts = |v: &Value| -> Vec<String> {
            v.as_array()
                .expect("array")
                .iter()
                .map(|l| l["line"].as_str().unwrap().to_owned())
                .collect()
        };
        let select = |keep: &dyn Fn(OffsetDateTime) -> bool| -> Vec<String> {
            lines
                .iter()
                .filter(|l| keep(parse_time(l["time"].as_str().unwrap())))
                .map(|l| l["line"].as_str().unwrap().to_owned())
                .collect()
        };
        let from = output_json(&app, &id, alice, &[("fromTime", &t_mid_s)]).await;
        let from = texts(&from);
        assert_eq!(from, select(&|t| t >= t_mid));
        assert!(from.contains(&"line 10000".to_owned()));
        assert!(from.len() < 20_020 && from.contains(&"line 20000".to_owned()));
        let to = output_json(&app, &id, alice, &[("toTime", &t_mid_s)]).await;
        let to = texts(&to);
        assert_eq!(to, select(&|t| t <= t_mid));
        assert!(to.contains(&"line 1".to_owned()) && to.contains(&"line 10000".to_owned()));
        let both = output_json(
            &app,
            &id,
            alice,
            &[("fromTime", &t_mid_s), ("toTime", &t_mid_s)],
        )
        .await;
        assert_eq!(texts(&both), select(&|t| t == t_mid));
        // Before the process existed: nothing.
        let created = parse_time(p["creationTime"].as_str().unwrap());
        let before = rfc3339(created - time::Duration::seconds(1));
        let none = output_json(&app, &id, alice, &[("toTime", &before)]).await;
        assert_eq!(none, json!([]), "{backend:?}");
        let after = rfc3339(OffsetDateTime::now_utc() + time::Duration::hours(1));
        let none = output_json(&app, &id, alice, &[("fromTime", &after)]).await;
        assert_eq!(none, json!([]));
        for (key, value) in [
            ("fromTime", "yesterday"),
            ("toTime", "2024-13-01T00:00:00Z"),
        ] {
            let res = app
                .get(&format!("/api/system/processes/{id}/output/lines"), alice)
                .query(&[(key, value)])
                .send()
                .await
                .unwrap();
            let msg = expect_error(res, 400, key).await;
            assert!(msg.contains(key), "{msg}");
        }
    }
}

#[actix_web::test]
async fn a_script_gets_a_clean_environment() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        let id = app.launch_ok("env", alice, json!([])).await;
        let p = app.wait_done(&id, alice).await;
        assert_eq!(p["processStatus"], "COMPLETED", "{backend:?}: {p}");
        let out = app.output(&id, alice).await;
        let mut env: BTreeMap<&str, &str> = BTreeMap::new();
        let mut cwd = None;
        for line in out.lines() {
            if let Some(dir) = line.strip_prefix("cwd=") {
                cwd = Some(dir);
            } else if let Some((k, v)) = line.split_once('=') {
                env.insert(k, v);
            }
        }
        let data = app.dir.path().join("data");
        let run = run_dir(&app, &id);
        assert_eq!(env.get("PROCESS_ID").copied(), Some(id.as_str()), "{out}");
        assert_eq!(env.get("CUSTOM_VAR").copied(), Some("custom"), "{out}");
        let output_dir = Path::new(env["PROCESS_OUTPUT_DIR"]);
        assert!(output_dir.starts_with(&run), "{output_dir:?}");
        for key in ["HOME", "TMPDIR"] {
            let dir = Path::new(
                env.get(key)
                    .unwrap_or_else(|| panic!("{key} missing: {out}")),
            );
            assert!(dir.starts_with(&data), "{key}={dir:?} outside {data:?}");
        }
        assert!(
            cwd.is_some_and(|c| Path::new(c).starts_with(&run)),
            "cwd {cwd:?} is not in {run:?}"
        );
        assert!(
            env.contains_key("PATH") && env.contains_key("LANG"),
            "{out}"
        );
        // Only the protocol's variables (and the few sh sets itself) are there.
        let allowed: BTreeSet<&str> = [
            "PATH",
            "LANG",
            "HOME",
            "TMPDIR",
            "CUSTOM_VAR",
            "PROCESS_ID",
            "PROCESS_OUTPUT_DIR",
            "PWD",
            "OLDPWD",
            "SHLVL",
            "_",
        ]
        .into_iter()
        .collect();
        let extra: Vec<&&str> = env.keys().filter(|k| !allowed.contains(**k)).collect();
        assert!(
            extra.is_empty(),
            "{backend:?}: unexpected variables {extra:?}"
        );
        // Nothing of the service's own environment or secrets.
        for (key, _) in std::env::vars() {
            if !allowed.contains(key.as_str()) {
                assert!(!env.contains_key(key.as_str()), "{key} leaked");
            }
        }
        assert!(std::env::var("CARGO_PKG_NAME").is_ok() || std::env::var("PATH").is_ok());
        assert!(!env.contains_key("CARGO_PKG_NAME"));
        assert!(!env.contains_key("CARGO_MANIFEST_DIR"));
        for needle in [
            "DATABASE",
            "PROCESSD_",
            "postgres://",
            "sqlite://",
            app.admin.as_str(),
            app.alice.as_str(),
            app.bob.as_str(),
        ] {
            assert!(
                !out.contains(needle),
                "{backend:?}: {needle:?} reached the script"
            );
        }
    }
}

#[actix_web::test]
async fn exits_and_signals_end_failed_with_a_reason() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        let exit = app
            .launch_ok("exit", alice, json!([{"name": "-c", "value": 3}]))
            .await;
        let killed = app.launch_ok("killself", alice, json!([])).await;
        let zero = app
            .launch_ok("exit", alice, json!([{"name": "-c", "value": 0}]))
            .await;
        let missing = app.launch_ok("missing", alice, json!([])).await;

        let p = app.wait_done(&exit, alice).await;
        assert_eq!(p["processStatus"], "FAILED", "{backend:?}: {p}");
        assert_eq!(p["statusReason"], "exit");
        assert_eq!(p["exitCode"], 3);
        assert!(
            p["startTime"].is_string() && p["endTime"].is_string(),
            "{p}"
        );
        let out = app.output(&exit, alice).await;
        assert!(out.contains("about to exit 3\n"), "{out}");
        assert!(out.contains("oops\n"), "{out}");
        assert!(out.contains("exited with code 3"), "{out}");
        let json_out = output_json(&app, &exit, alice, &[]).await;
        let oops = json_out
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["line"] == "oops")
            .expect("oops line");
        assert_eq!(oops["stream"], "stderr");

        let p = app.wait_done(&killed, alice).await;
        assert_eq!(p["processStatus"], "FAILED", "{backend:?}: {p}");
        assert_eq!(p["statusReason"], "signal");
        assert_eq!(p["exitCode"], Value::Null, "{p}");
        let out = app.output(&killed, alice).await;
        assert!(out.starts_with("goodbye\n"), "{out}");
        assert!(out.contains("signal 9"), "{out}");

        let p = app.wait_done(&zero, alice).await;
        assert_eq!(p["processStatus"], "COMPLETED", "{p}");
        assert_eq!(p["statusReason"], Value::Null, "{p}");
        assert_eq!(p["exitCode"], 0);

        let p = app.wait_done(&missing, alice).await;
        assert_eq!(p["processStatus"], "FAILED", "{backend:?}: {p}");
        assert_eq!(p["statusReason"], "spawn");
        assert_eq!(p["exitCode"], Value::Null);
        let out = app.output(&missing, alice).await;
        assert!(out.contains("No such file"), "{out}");
        assert!(out.contains("/nonexistent/processd-test-binary"), "{out}");
    }
}

#[actix_web::test]
async fn a_script_over_its_clock_time_is_killed_with_its_children() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        let started = Instant::now();
        let id = app.launch_ok("timeout", alice, json!([])).await;
        let p = app.wait_done(&id, alice).await;
        let took = started.elapsed();
        assert_eq!(p["processStatus"], "FAILED", "{backend:?}: {p}");
        assert_eq!(p["statusReason"], "timeout");
        assert_eq!(p["exitCode"], Value::Null);
        assert!(took < Duration::from_secs(8), "took {took:?}");
        let out = app.output(&id, alice).await;
        assert!(out.starts_with("started\n"), "{out}");
        assert!(!out.contains("woke"), "{out}");
        assert!(out.contains("timed out"), "{out}");
        let members = group_members(job_pgid(&p));
        assert!(members.is_empty(), "the sleep is still alive: {members:?}");
    }
}

#[actix_web::test]
async fn stopping_a_running_process_fails_it_as_stopped() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        let id = app
            .launch_ok("sleep", alice, json!([{"name": "-t", "value": 30}]))
            .await;
        app.wait_running(&id, alice).await;
        wait_output(&app, &id, alice, "started").await;
        let running = app.process(&id, alice).await;
        let pgid = job_pgid(&running);
        assert!(!group_members(pgid).is_empty(), "the script runs");

        // Someone else cannot stop it, nor learn that it exists.
        let res = stop(&app, &id, Some(&app.bob)).await;
        expect_error(res, 404, "bob stops alice's process").await;
        assert_eq!(app.process(&id, alice).await["processStatus"], "RUNNING");

        let t0 = Instant::now();
        let res = stop(&app, &id, alice).await;
        assert_eq!(res.status(), 202);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["processId"], id.as_str());
        assert_eq!(body["type"], "process");
        let p = app.wait_done(&id, alice).await;
        assert!(t0.elapsed() < Duration::from_secs(8), "{:?}", t0.elapsed());
        assert_eq!(p["processStatus"], "FAILED", "{backend:?}: {p}");
        assert_eq!(p["statusReason"], "stopped");
        assert!(p["endTime"].is_string());
        let out = app.output(&id, alice).await;
        assert!(out.starts_with("started\n"), "{out}");
        assert!(!out.contains("woke"), "{out}");
        assert!(out.contains("stopped"), "{out}");
        let members = group_members(pgid);
        assert!(members.is_empty(), "still alive: {members:?}");

        // A finished process cannot be stopped again.
        let res = stop(&app, &id, alice).await;
        let msg = expect_error(res, 422, "stop a finished process").await;
        assert!(msg.contains(&id), "{msg}");
        let done = app
            .launch_ok("lines", alice, json!([{"name": "-c", "value": 1}]))
            .await;
        app.wait_done(&done, alice).await;
        let res = stop(&app, &done, alice).await;
        expect_error(res, 422, "stop a completed process").await;
        let res = stop(&app, "999999", alice).await;
        expect_error(res, 404, "stop a process that does not exist").await;
    }
}

/// Samples how many processes are RUNNING (as the admin sees them).
async fn running_now(app: &TestApp) -> Vec<String> {
    let body: Value = app
        .get(
            "/api/system/processes?processStatus=RUNNING&size=100",
            Some(&app.admin),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["_embedded"]["processes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| p["processId"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// With the harness default (`max_concurrent = 4`), a full node queues the rest in creation
/// order, and a queued process that is stopped never runs.
#[actix_web::test]
async fn a_full_node_queues_in_creation_order_and_a_stopped_queued_process_never_runs() {
    const SLOTS: usize = 4;
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        let long = json!([{"name": "-t", "value": 30}]);
        let mut first = Vec::new();
        for _ in 0..SLOTS {
            first.push(app.launch_ok("sleep", alice, long.clone()).await);
        }
        for id in &first {
            app.wait_running(id, alice).await;
        }
        let queued_a = app.launch_ok("sleep", alice, long.clone()).await;
        let cancelled = app.launch_ok("sleep", alice, long.clone()).await;
        let queued_b = app.launch_ok("sleep", alice, long.clone()).await;
        // The scheduler has been woken by these launches; give it a few rounds to (wrongly)
        // start one, watching that the node never runs more than its slots.
        for _ in 0..10 {
            let running = running_now(&app).await;
            assert!(running.len() <= SLOTS, "{backend:?}: {running:?}");
            assert!(app.app.runner.running_count() <= SLOTS);
            for id in [&queued_a, &cancelled, &queued_b] {
                assert_eq!(app.process(id, alice).await["processStatus"], "SCHEDULED");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        // Stopping a queued process fails it without running it.
        let res = stop(&app, &cancelled, alice).await;
        assert_eq!(res.status(), 202);
        let p = app.wait_done(&cancelled, alice).await;
        assert_eq!(p["processStatus"], "FAILED", "{backend:?}: {p}");
        assert_eq!(p["statusReason"], "stopped");
        assert_eq!(p["startTime"], Value::Null, "{p}");
        let out = app.output(&cancelled, alice).await;
        assert!(!out.lines().any(|l| l == "started"), "{out}");
        assert!(out.contains("stopped before it started"), "{out}");

        // One slot frees: the oldest queued process takes it, the next keeps waiting.
        let res = stop(&app, &first[0], alice).await;
        assert_eq!(res.status(), 202);
        let freed = app.wait_done(&first[0], alice).await;
        let a = app.wait_running(&queued_a, alice).await;
        assert!(
            parse_time(a["startTime"].as_str().unwrap())
                >= parse_time(freed["endTime"].as_str().unwrap()),
            "{a} started before {freed} ended"
        );
        assert_eq!(
            app.process(&queued_b, alice).await["processStatus"],
            "SCHEDULED"
        );
        assert!(running_now(&app).await.len() <= SLOTS);
        // The cancelled one was skipped for good.
        let p = app.process(&cancelled, alice).await;
        assert_eq!(p["startTime"], Value::Null, "{p}");

        let res = stop(&app, &first[1], alice).await;
        assert_eq!(res.status(), 202);
        app.wait_done(&first[1], alice).await;
        app.wait_running(&queued_b, alice).await;
        assert!(running_now(&app).await.len() <= SLOTS);

        // Clean up: nothing keeps sleeping after the test.
        let rest: Vec<&String> = first[2..].iter().chain([&queued_a, &queued_b]).collect();
        for id in &rest {
            assert_eq!(stop(&app, id, alice).await.status(), 202);
        }
        for id in rest {
            let p = app.wait_done(id, alice).await;
            assert_eq!(p["statusReason"], "stopped", "{p}");
        }
        let out = app.output(&cancelled, alice).await;
        assert!(!out.lines().any(|l| l == "started"), "it never ran: {out}");
    }
}

/// `max_concurrent = 1`: a second process waits (and can be stopped without running), a
/// third starts only after the first has ended; never two RUNNING at once.
#[actix_web::test]
async fn one_slot_runs_processes_one_at_a_time() {
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, "max_concurrent = 1").await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        let first = app
            .launch_ok("sleep", alice, json!([{"name": "-t", "value": 30}]))
            .await;
        app.wait_running(&first, alice).await;
        wait_output(&app, &first, alice, "started").await;
        let queued = app
            .launch_ok("sleep", alice, json!([{"name": "-t", "value": 30}]))
            .await;
        let third = app
            .launch_ok("lines", alice, json!([{"name": "-c", "value": 3}]))
            .await;
        for _ in 0..10 {
            let running = running_now(&app).await;
            assert_eq!(running, std::slice::from_ref(&first), "{backend:?}");
            for id in [&queued, &third] {
                assert_eq!(app.process(id, alice).await["processStatus"], "SCHEDULED");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        // The queued one is stopped: FAILED without having run.
        let res = stop(&app, &queued, alice).await;
        assert_eq!(res.status(), 202);
        let p = app.wait_done(&queued, alice).await;
        assert_eq!(p["processStatus"], "FAILED", "{backend:?}: {p}");
        assert_eq!(p["statusReason"], "stopped");
        assert_eq!(p["startTime"], Value::Null, "{p}");
        let out = app.output(&queued, alice).await;
        assert!(!out.lines().any(|l| l == "started"), "it ran: {out}");

        // The first ends; only then does the third run.
        assert_eq!(stop(&app, &first, alice).await.status(), 202);
        let mut max_running = 0;
        loop {
            max_running = max_running.max(running_now(&app).await.len());
            let p = app.process(&third, alice).await;
            if matches!(p["processStatus"].as_str(), Some("COMPLETED" | "FAILED")) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(
            max_running <= 1,
            "{backend:?}: {max_running} running at once"
        );
        let pa = app.wait_done(&first, alice).await;
        let pc = app.wait_done(&third, alice).await;
        assert_eq!(pc["processStatus"], "COMPLETED", "{pc}");
        assert!(
            parse_time(pc["startTime"].as_str().unwrap())
                >= parse_time(pa["endTime"].as_str().unwrap()),
            "{pc} started before {pa} ended"
        );
        let p = app.process(&queued, alice).await;
        assert_eq!(
            p["startTime"],
            Value::Null,
            "the stopped one never ran: {p}"
        );
    }
}

#[actix_web::test]
async fn delete_refuses_a_running_process_then_removes_everything() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        let id = app
            .launch_ok("sleep", alice, json!([{"name": "-t", "value": 30}]))
            .await;
        app.wait_running(&id, alice).await;
        let path = format!("/api/system/processes/{id}");
        let res = app.delete(&path, alice).send().await.unwrap();
        let msg = expect_error(res, 422, "delete while RUNNING").await;
        assert!(msg.contains("RUNNING"), "{msg}");
        let res = app.delete(&path, alice).send().await.unwrap();
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "process_running", "{body}");
        assert_eq!(app.process(&id, alice).await["processStatus"], "RUNNING");
        // Bob may not delete it, and learns nothing.
        let res = app.delete(&path, Some(&app.bob)).send().await.unwrap();
        expect_error(res, 404, "bob deletes alice's process").await;

        assert_eq!(stop(&app, &id, alice).await.status(), 202);
        app.wait_done(&id, alice).await;
        assert!(run_dir(&app, &id).exists());
        let res = app.delete(&path, alice).send().await.unwrap();
        assert_eq!(res.status(), 204);
        assert!(res.text().await.unwrap().is_empty());
        for sub in ["", "/output", "/files", "/filetypes"] {
            let res = app
                .get(&format!("{path}{sub}"), alice)
                .send()
                .await
                .unwrap();
            expect_error(res, 404, &format!("GET after delete: {sub}")).await;
        }
        assert!(!run_dir(&app, &id).exists(), "the run directory is gone");
        let res = app.delete(&path, alice).send().await.unwrap();
        expect_error(res, 404, "delete twice").await;

        // A finished process with output files and an input: all of it goes.
        let res = app
            .launch(
                "cat",
                alice,
                json!([{"name": "-f", "value": "in.txt"}]),
                vec![("in.txt", b"input\n".to_vec())],
            )
            .await;
        assert_eq!(res.status(), 202);
        let body: Value = res.json().await.unwrap();
        let with_input = body["processId"].as_str().unwrap().to_owned();
        let outputs = app
            .launch_ok("outputs", alice, json!([{"name": "-z", "value": 10}]))
            .await;
        let mut contents = Vec::new();
        for pid in [&with_input, &outputs] {
            let p = app.wait_done(pid, alice).await;
            assert_eq!(p["processStatus"], "COMPLETED", "{p}");
            let files: Value = app
                .get(&format!("/api/system/processes/{pid}/files"), alice)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            for f in files["_embedded"]["bitstreams"].as_array().unwrap() {
                contents.push(f["_links"]["content"]["href"].as_str().unwrap().to_owned());
            }
        }
        // Five files and two console logs.
        assert_eq!(contents.len(), 7, "{contents:?}");
        let files_dir = app.dir.path().join("data").join("files");
        assert_eq!(std::fs::read_dir(&files_dir).unwrap().count(), 1);
        for pid in [&with_input, &outputs] {
            let res = app
                .delete(&format!("/api/system/processes/{pid}"), alice)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 204);
            assert!(!run_dir(&app, pid).exists());
        }
        for href in contents {
            let url = if href.starts_with("http") {
                href.clone()
            } else {
                app.url(&href)
            };
            let res = app
                .client
                .get(url)
                .bearer_auth(&app.alice)
                .send()
                .await
                .unwrap();
            expect_error(res, 404, &format!("{href} after delete")).await;
        }
        assert_eq!(
            std::fs::read_dir(&files_dir).unwrap().count(),
            0,
            "the stored input is gone"
        );
    }
}

#[actix_web::test]
async fn output_files_are_registered_by_type_without_symlinks_or_fifos() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        let id = app
            .launch_ok("outputs", alice, json!([{"name": "-z", "value": 1000}]))
            .await;
        let p = app.wait_done(&id, alice).await;
        assert_eq!(p["processStatus"], "COMPLETED", "{backend:?}: {p}");
        assert_eq!(p["percentComplete"], 100);
        let out = app.output(&id, alice).await;
        assert!(out.contains("::progress::100"), "{out}");

        let files: Value = app
            .get(&format!("/api/system/processes/{id}/files"), alice)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        // The four files the script left, and its console log.
        assert_eq!(files["page"]["totalElements"], 5, "{files}");
        let list = files["_embedded"]["bitstreams"].as_array().unwrap();
        let mut got: Vec<(String, String, u64, String)> = list
            .iter()
            .map(|f| {
                assert_eq!(f["type"], "bitstream");
                assert_eq!(f["checkSum"]["checkSumAlgorithm"], "MD5");
                assert_eq!(f["metadata"]["dc.title"][0]["value"], f["name"]);
                assert_eq!(f["id"], f["uuid"]);
                assert!(f["_links"]["content"]["href"].is_string());
                (
                    f["name"].as_str().unwrap().to_owned(),
                    f["metadata"]["dspace.process.filetype"][0]["value"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    f["sizeBytes"].as_u64().unwrap(),
                    f["checkSum"]["value"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        got.sort();
        let expected: Vec<(String, String, u64, String)> = [
            (
                format!("{id}-outputs.log").as_str(),
                "script_output",
                out.len() as u64,
                hex::encode(md5::Md5::digest(out.as_bytes())).as_str(),
            ),
            (
                "export.csv",
                "exportCSV",
                8,
                "e5ebd4c02cefbe7955977c67ada242b7",
            ),
            (
                "nested/deep.txt",
                "exportCSV",
                5,
                "1b385affd7adb5a6283fef292b5df0f7",
            ),
            (
                "result.txt",
                "outputFile",
                6,
                "b1946ac92492d2347c6235b4d2611184",
            ),
            (
                "zeros.bin",
                "outputFile",
                1000,
                "ede3d3b685b4e137ba4cb2521329a75e",
            ),
        ]
        .into_iter()
        .map(|(n, t, s, m)| (n.to_owned(), t.to_owned(), s, m.to_owned()))
        .collect();
        assert_eq!(got, expected, "{backend:?}");
        for f in list {
            let name = f["name"].as_str().unwrap();
            assert!(
                !["passwd-link", "etc-link", "a-fifo"].contains(&name),
                "{name} registered"
            );
        }

        let types: Value = app
            .get(&format!("/api/system/processes/{id}/filetypes"), alice)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut values: Vec<&str> = types["values"]
            .as_array()
            .expect("values")
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        values.sort_unstable();
        assert_eq!(
            values,
            ["exportCSV", "outputFile", "script_output"],
            "{types}"
        );

        let csv: Value = app
            .get(
                &format!("/api/system/processes/{id}/files/exportCSV"),
                alice,
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mut names: Vec<&str> = csv["_embedded"]["bitstreams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        names.sort_unstable();
        assert_eq!(names, ["export.csv", "nested/deep.txt"]);

        // The content is the file the script wrote.
        let result = list.iter().find(|f| f["name"] == "result.txt").unwrap();
        let href = result["_links"]["content"]["href"].as_str().unwrap();
        let url = if href.starts_with("http") {
            href.to_owned()
        } else {
            app.url(href)
        };
        let res = app
            .client
            .get(url)
            .bearer_auth(&app.alice)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.text().await.unwrap(), "hello\n");

        // Bob sees none of it.
        let res = app
            .get(&format!("/api/system/processes/{id}/files"), Some(&app.bob))
            .send()
            .await
            .unwrap();
        expect_error(res, 404, "bob lists alice's files").await;
    }
}

#[actix_web::test]
async fn output_over_the_cap_is_truncated_while_the_script_completes() {
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, "max_output_bytes = 2000").await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        let id = app
            .launch_ok("lines", alice, json!([{"name": "-c", "value": 5000}]))
            .await;
        let p = app.wait_done(&id, alice).await;
        assert_eq!(p["processStatus"], "COMPLETED", "{backend:?}: {p}");
        assert_eq!(p["exitCode"], 0);
        assert_eq!(p["outputTruncated"], true, "{p}");
        let out = app.output(&id, alice).await;
        let lines: Vec<&str> = out.lines().collect();
        let last = lines.last().unwrap();
        assert!(last.contains("output truncated"), "{last}");
        // Short lines count as 48 bytes each (every line is a stored record): 2000 / 48.
        assert_eq!(lines.len() - 1, 41, "lines kept under a cap of 2000");
        // What was kept is the start of the output, in order.
        let kept: Vec<&str> = lines[..lines.len() - 1]
            .iter()
            .copied()
            .filter(|l| l.starts_with("line "))
            .collect();
        let expected: Vec<String> = (1..=kept.len()).map(|i| format!("line {i}")).collect();
        assert_eq!(kept, expected);
        assert!(!out.contains("line 5000\n"));

        // Under the cap nothing is cut.
        let small = app
            .launch_ok("lines", alice, json!([{"name": "-c", "value": 10}]))
            .await;
        let p = app.wait_done(&small, alice).await;
        assert_eq!(p["outputTruncated"], false, "{p}");
        assert!(!app.output(&small, alice).await.contains("truncated"));
    }
}

/// Two scripts that ignore SIGTERM (fixture `ignore_term.sh`), added through `extra_top`.
fn stubborn_scripts() -> String {
    format!(
        r#"
[[script]]
name = "stubborn"
command = ["{cmd}"]
allowed = ["authenticated"]
[[script.parameter]]
name = "-t"
type = "integer"

[[script]]
name = "stubborn-timeout"
command = ["{cmd}", "-t", "30"]
allowed = ["authenticated"]
max_clock_time = "1s"

[[script]]
name = "background"
command = ["{background}"]
allowed = ["authenticated"]
"#,
        cmd = fixture("ignore_term.sh"),
        background = fixture("background_child.sh"),
    )
}

/// A script that ignores SIGTERM is killed (SIGKILL) after `kill_grace` (1 s in the tests),
/// on stop and on timeout, with everything it started.
#[actix_web::test]
async fn scripts_that_ignore_sigterm_are_killed_after_the_grace_period() {
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, &stubborn_scripts()).await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        let id = app
            .launch_ok("stubborn", alice, json!([{"name": "-t", "value": 30}]))
            .await;
        app.wait_running(&id, alice).await;
        wait_output(&app, &id, alice, "started").await;
        let pgid = job_pgid(&app.process(&id, alice).await);
        let t0 = Instant::now();
        assert_eq!(stop(&app, &id, alice).await.status(), 202);
        let p = app.wait_done(&id, alice).await;
        let took = t0.elapsed();
        assert_eq!(p["processStatus"], "FAILED", "{backend:?}: {p}");
        assert_eq!(p["statusReason"], "stopped");
        assert!(took < Duration::from_secs(6), "stop took {took:?}");
        assert!(!app.output(&id, alice).await.contains("woke"));
        let members = group_members(pgid);
        assert!(members.is_empty(), "still alive after stop: {members:?}");

        let t0 = Instant::now();
        let id = app.launch_ok("stubborn-timeout", alice, json!([])).await;
        let p = app.wait_done(&id, alice).await;
        let took = t0.elapsed();
        assert_eq!(p["processStatus"], "FAILED", "{backend:?}: {p}");
        assert_eq!(p["statusReason"], "timeout");
        assert!(took < Duration::from_secs(8), "timeout took {took:?}");
        let out = app.output(&id, alice).await;
        assert!(
            out.starts_with("started\n") && !out.contains("woke"),
            "{out}"
        );
        let members = group_members(job_pgid(&p));
        assert!(members.is_empty(), "still alive after timeout: {members:?}");
    }
}

/// A script that exits while a child it started still runs (and holds its stdout): the run
/// ends at once and the child is killed with the script's process group.
#[actix_web::test]
async fn children_left_behind_are_killed_when_the_script_exits() {
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, &stubborn_scripts()).await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        let t0 = Instant::now();
        let id = app.launch_ok("background", alice, json!([])).await;
        let p = app.wait_done(&id, alice).await;
        assert!(t0.elapsed() < Duration::from_secs(8), "{:?}", t0.elapsed());
        assert_eq!(p["processStatus"], "COMPLETED", "{backend:?}: {p}");
        let out = app.output(&id, alice).await;
        assert!(out.ends_with("done\n"), "{out}");
        let child: i32 = out
            .lines()
            .find_map(|l| l.strip_prefix("child="))
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("{out}"));
        let members = group_members(job_pgid(&p));
        assert!(members.is_empty(), "left behind: {members:?}");
        let state = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
        let alive = state
            .rfind(')')
            .is_some_and(|i| !state[i + 1..].trim_start().starts_with('Z'));
        assert!(!alive, "child {child} still runs: {state}");
    }
}
