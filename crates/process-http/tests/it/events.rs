//! Events and webhooks: the live stream sees each change of the processes its caller may see,
//! in order and resumable; webhooks get them signed, retried, in order per process, and none
//! is lost across a restart.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse, HttpServer};
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::helpers::{fixture, spawn_app_with, ServeProcess, TestApp, BACKENDS};

const SECRET: &str = "a-secret-of-24-bytes-xyz";

/// A progress script and webhooks allowed to reach this machine (the receiver below).
fn config() -> String {
    format!(
        "webhook_allowed_hosts = [\"127.0.0.1\"]\n\n[[script]]\nname = \"progress\"\ncommand = [\"{}\", \"-\", \"0.05\"]\nallowed = [\"authenticated\"]\n",
        fixture("progress.sh")
    )
}

/// One event of an event stream.
#[derive(Debug)]
struct Sse {
    id: String,
    kind: String,
    data: Value,
}

/// A `GET /api/system/events` being read.
struct Stream {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<web::Bytes>>>>,
    buf: String,
}

impl Stream {
    async fn open(app: &TestApp, token: &str, last_event_id: Option<&str>) -> Self {
        let mut req = app.get("/api/system/events", Some(token));
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        Self {
            body: Box::pin(res.bytes_stream()),
            buf: String::new(),
        }
    }

    /// The next event (comments skipped); panics after 60 s without one.
    async fn next(&mut self) -> Sse {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(|v| v.trim_start().to_owned())
                };
                let (Some(id), Some(kind), Some(data)) =
                    (field("id:"), field("event:"), field("data:"))
                else {
                    continue;
                };
                return Sse {
                    id,
                    kind,
                    data: serde_json::from_str(&data).unwrap(),
                };
            }
            let chunk = tokio::time::timeout(Duration::from_secs(60), self.body.next())
                .await
                .expect("an event within 60 s")
                .expect("the stream goes on")
                .unwrap();
            self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// The next events until (and with) `kind` of process `id`, those of `id` only.
    async fn until(&mut self, id: &str, kind: &str) -> Vec<Sse> {
        let mut got = Vec::new();
        loop {
            let e = self.next().await;
            if e.data["process"]["processId"] != id {
                continue;
            }
            let last = e.kind == kind;
            got.push(e);
            if last {
                return got;
            }
        }
    }
}

fn kinds(events: &[Sse]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

#[actix_web::test]
async fn the_event_stream_follows_changes_in_order_and_resumes() {
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, &config()).await else {
            continue;
        };
        let (alice, bob, admin) = (app.alice.as_str(), app.bob.as_str(), app.admin.as_str());
        let mut alice_feed = Stream::open(&app, alice, None).await;
        let mut admin_feed = Stream::open(&app, admin, None).await;

        let id = app
            .launch_ok("echo", Some(alice), json!([{"name": "-s", "value": "hi"}]))
            .await;
        let events = alice_feed.until(&id, "process.completed").await;
        assert_eq!(
            kinds(&events),
            ["process.created", "process.running", "process.completed"],
            "{backend}"
        );
        let statuses: Vec<&Value> = events
            .iter()
            .map(|e| &e.data["process"]["processStatus"])
            .collect();
        assert_eq!(statuses, ["SCHEDULED", "RUNNING", "COMPLETED"], "{backend}");
        for e in &events {
            assert_eq!(e.data["id"], e.id.as_str(), "{backend}");
            assert_eq!(e.data["type"], e.kind.as_str(), "{backend}");
            assert!(e.data["time"].is_string(), "{backend}");
        }
        let created_id = events[0].id.clone();
        let ids: Vec<i64> = events.iter().map(|e| e.id.parse().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{backend}: {ids:?}");
        assert_eq!(
            kinds(&admin_feed.until(&id, "process.completed").await),
            ["process.created", "process.running", "process.completed"],
            "{backend}: administrators see every process"
        );

        // Progress, each percent once, then the end.
        let progress = app.launch_ok("progress", Some(alice), json!([])).await;
        let events = alice_feed.until(&progress, "process.completed").await;
        let percents: Vec<i64> = events
            .iter()
            .filter(|e| e.kind == "process.progress")
            .map(|e| e.data["process"]["percentComplete"].as_i64().unwrap())
            .collect();
        assert!(!percents.is_empty(), "{backend}: progress events");
        assert!(
            percents.windows(2).all(|w| w[0] < w[1]),
            "{backend}: {percents:?}"
        );

        // Bob sees none of Alice's: his first event is his own process.
        let mut bob_feed = Stream::open(&app, bob, None).await;
        let _ = app.launch_ok("echo", Some(alice), json!([])).await;
        let his = app
            .launch_ok("exit", Some(bob), json!([{"name": "-c", "value": "3"}]))
            .await;
        let first = bob_feed.next().await;
        assert_eq!(
            first.data["process"]["processId"],
            his.as_str(),
            "{backend}"
        );
        let rest = bob_feed.until(&his, "process.failed").await;
        assert_eq!(
            rest.last().unwrap().data["process"]["statusReason"],
            "exit",
            "{backend}"
        );

        // A deletion is an event too, with the process as it was.
        let res = app
            .delete(&format!("/api/system/processes/{id}"), Some(alice))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204, "{backend}");
        let deleted = alice_feed.until(&id, "process.deleted").await;
        assert_eq!(
            deleted.last().unwrap().data["process"]["processStatus"],
            "COMPLETED",
            "{backend}"
        );

        // Resuming after the first event of the first process gives the next ones again.
        let mut resumed = Stream::open(&app, alice, Some(&created_id)).await;
        let next = resumed.next().await;
        assert_eq!(next.kind, "process.running", "{backend}");
        assert_eq!(next.data["process"]["processId"], id.as_str(), "{backend}");
        let again = resumed.until(&id, "process.deleted").await;
        assert_eq!(
            kinds(&again),
            ["process.completed", "process.deleted"],
            "{backend}"
        );

        // Bad requests.
        let res = app.get("/api/system/events", None).send().await.unwrap();
        assert_eq!(res.status(), 401, "{backend}");
        let res = app
            .get("/api/system/events", Some(alice))
            .header("Last-Event-ID", "abc")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{backend}");
    }
}

/// A webhook receiver: answers 500 to the first `fail` requests, then 200, and keeps what it
/// was sent.
#[derive(Clone, Default)]
struct Receiver {
    fail: Arc<AtomicUsize>,
    got: Arc<Mutex<Vec<Received>>>,
}

#[derive(Debug, Clone)]
struct Received {
    ok: bool,
    signature: String,
    timestamp: String,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

async fn receive(r: web::Data<Receiver>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let ok = r
        .fail
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_err();
    r.got.lock().unwrap().push(Received {
        ok,
        signature: header("X-Processd-Signature"),
        timestamp: header("X-Processd-Timestamp"),
        body: body.to_vec(),
    });
    if ok {
        HttpResponse::NoContent().finish()
    } else {
        HttpResponse::InternalServerError().body("not now")
    }
}

impl Receiver {
    /// Listens on a free port of 127.0.0.1; returns the URL to subscribe.
    fn start(&self) -> String {
        let data = web::Data::new(self.clone());
        let server = HttpServer::new(move || {
            actix_web::App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let addr = server.addrs()[0];
        actix_web::rt::spawn(server.run());
        format!("http://{addr}/hook")
    }

    fn accepted(&self) -> Vec<Received> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.ok)
            .cloned()
            .collect()
    }

    /// Waits up to three minutes (a shared, loaded machine) for `n` accepted deliveries.
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..1800 {
            let got = self.accepted();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{} of {n} deliveries arrived", self.accepted().len());
    }
}

fn verify(r: &Received) {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&r.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(
        r.signature, expected,
        "the signature is the HMAC of the body"
    );
    let body = r.json();
    let sent = time::OffsetDateTime::parse(
        body["sentAt"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(sent.unix_timestamp().to_string(), r.timestamp);
}

/// The kinds each process's deliveries carried, in the order they arrived.
fn per_process(got: &[Received]) -> HashMap<String, Vec<String>> {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for r in got {
        let body = r.json();
        map.entry(body["process"]["processId"].as_str().unwrap().to_owned())
            .or_default()
            .push(body["type"].as_str().unwrap().to_owned());
    }
    map
}

async fn subscribe(app: &TestApp, token: &str, url: &str, events: Value) -> Value {
    let res = app
        .post("/api/system/webhooks", Some(token))
        .json(&json!({"url": url, "events": events, "secret": SECRET}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

#[actix_web::test]
async fn webhooks_deliver_signed_events_in_order_with_retries() {
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, &config()).await else {
            continue;
        };
        let alice = app.alice.as_str();
        let receiver = Receiver::default();
        // The first five attempts fail: the first events are retried.
        receiver.fail.store(5, Ordering::SeqCst);
        let url = receiver.start();
        let hook = subscribe(
            &app,
            alice,
            &url,
            json!([
                "process.created",
                "process.running",
                "process.completed",
                "process.failed"
            ]),
        )
        .await;
        assert!(
            hook.get("secret").is_none(),
            "{backend}: the secret is never shown"
        );
        let hook_id = hook["id"].as_str().unwrap().to_owned();

        let mut ids = Vec::new();
        for _ in 0..5 {
            ids.push(app.launch_ok("echo", Some(alice), json!([])).await);
        }
        // Bob's processes are not Alice's webhook's business.
        let _ = app
            .launch_ok("echo", Some(app.bob.as_str()), json!([]))
            .await;
        let got = receiver.wait_for(15).await;
        for r in &got {
            verify(r);
        }
        let map = per_process(&got);
        assert_eq!(map.len(), 5, "{backend}: {map:?}");
        for id in &ids {
            assert_eq!(
                map[id],
                ["process.created", "process.running", "process.completed"],
                "{backend}: process {id}"
            );
        }

        // The log shows the retries; a redelivery sends an event again.
        let (status, log) = app
            .get_json(
                &format!("/api/system/webhooks/{hook_id}/deliveries?size=100"),
                Some(alice),
            )
            .await;
        assert_eq!(status, 200, "{backend}");
        let deliveries = log["_embedded"]["deliveries"].as_array().unwrap();
        assert_eq!(deliveries.len(), 15, "{backend}");
        assert!(
            deliveries.iter().all(|d| d["state"] == "delivered"),
            "{backend}"
        );
        let retried: Vec<&Value> = deliveries
            .iter()
            .filter(|d| d["attempts"].as_u64().unwrap() > 1)
            .collect();
        assert!(!retried.is_empty(), "{backend}: {log}");
        let redeliver = deliveries[0]["_links"]["redeliver"]["href"]
            .as_str()
            .unwrap();
        let res = app.post(redeliver, Some(alice)).send().await.unwrap();
        assert_eq!(res.status(), 202, "{backend}");
        let again = receiver.wait_for(16).await;
        assert_eq!(
            again.last().unwrap().json()["id"],
            got.iter()
                .find(|r| r.json()["deliveryId"] == deliveries[0]["id"])
                .unwrap()
                .json()["id"],
            "{backend}: the same event"
        );

        // Others cannot see it; its owner can delete it.
        let path = format!("/api/system/webhooks/{hook_id}");
        let (status, _) = app.get_json(&path, Some(app.bob.as_str())).await;
        assert_eq!(status, 404, "{backend}");
        let (status, list) = app
            .get_json("/api/system/webhooks", Some(app.admin.as_str()))
            .await;
        assert_eq!(status, 200, "{backend}");
        assert_eq!(list["_embedded"]["webhooks"].as_array().unwrap().len(), 1);
        let res = app.delete(&path, Some(alice)).send().await.unwrap();
        assert_eq!(res.status(), 204, "{backend}");
        let (status, _) = app.get_json(&path, Some(alice)).await;
        assert_eq!(status, 404, "{backend}");
    }
}

#[actix_web::test]
async fn webhook_requests_are_checked() {
    for backend in BACKENDS {
        // No allow list: only public addresses.
        let Some(app) = spawn_app_with(backend, "").await else {
            continue;
        };
        let alice = app.alice.as_str();
        let post = |token: Option<&str>, body: Value| {
            app.post("/api/system/webhooks", token).json(&body).send()
        };
        let good = json!({"url": "https://hooks.example.org/x", "events": ["process.failed"], "secret": SECRET});
        let cases = [
            (
                json!({"url": "http://127.0.0.1:9/x", "events": ["process.failed"], "secret": SECRET}),
                422,
                "loopback",
            ),
            (
                json!({"url": "http://169.254.169.254/latest", "events": ["process.failed"], "secret": SECRET}),
                422,
                "link-local",
            ),
            (
                json!({"url": "http://[::1]/", "events": ["process.failed"], "secret": SECRET}),
                422,
                "IPv6 loopback",
            ),
            (
                json!({"url": "file:///etc/passwd", "events": ["process.failed"], "secret": SECRET}),
                422,
                "scheme",
            ),
            (
                json!({"url": "https://hooks.example.org/x", "events": ["process.exploded"], "secret": SECRET}),
                422,
                "event type",
            ),
            (
                json!({"url": "https://hooks.example.org/x", "events": [], "secret": SECRET}),
                422,
                "no events",
            ),
            (
                json!({"url": "https://hooks.example.org/x", "events": ["process.failed"], "secret": "short"}),
                422,
                "secret",
            ),
            (
                json!({"url": "https://hooks.example.org/x", "events": ["process.failed"], "secret": SECRET, "allProcesses": true}),
                403,
                "allProcesses",
            ),
            (
                json!({"url": "https://hooks.example.org/x", "events": ["process.failed"], "secret": SECRET, "extra": 1}),
                400,
                "unknown field",
            ),
            (json!(["not", "an", "object"]), 400, "array"),
        ];
        for (body, status, what) in cases {
            let res = post(Some(alice), body).await.unwrap();
            assert_eq!(res.status(), status, "{backend}: {what}");
            let err: Value = res.json().await.unwrap();
            assert!(err["message"].is_string(), "{backend}: {what}: {err}");
        }
        let res = post(None, good.clone()).await.unwrap();
        assert_eq!(res.status(), 401, "{backend}");
        let res = post(Some(alice), good).await.unwrap();
        assert_eq!(res.status(), 201, "{backend}");

        // A name that resolves to loopback is refused when it is reached.
        let local = subscribe(
            &app,
            alice,
            "http://localhost:9/x",
            json!(["process.created"]),
        )
        .await;
        let _ = app.launch_ok("echo", Some(alice), json!([])).await;
        let path = format!(
            "/api/system/webhooks/{}/deliveries",
            local["id"].as_str().unwrap()
        );
        let mut error = String::new();
        for _ in 0..100 {
            let (_, log) = app.get_json(&path, Some(alice)).await;
            if let Some(e) = log["_embedded"]["deliveries"][0]["lastError"].as_str() {
                error = e.to_owned();
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            error.contains("webhook_allowed_hosts"),
            "{backend}: {error}"
        );
    }
}

/// The outbox survives processd being killed: events recorded while the receiver refused are
/// delivered by the next processd.
#[actix_web::test]
async fn no_event_is_lost_across_a_kill_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("processd.toml");
    std::fs::write(
        &config,
        format!(
            "bind = \"127.0.0.1:0\"\ndata_dir = \"{}\"\nwebhook_allowed_hosts = [\"127.0.0.1\"]\n\n[[script]]\nname = \"echo\"\ncommand = [\"{}\"]\nallowed = [\"authenticated\"]\n",
            dir.path().join("data").display(),
            fixture("echo_args.sh")
        ),
    )
    .unwrap();
    let processd = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_processd"));
        cmd.args(args)
            .arg("--config")
            .arg(&config)
            .current_dir(dir.path());
        cmd
    };
    let out = processd(&["user", "add", "alice"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();

    let receiver = Receiver::default();
    receiver.fail.store(usize::MAX, Ordering::SeqCst);
    let url = receiver.start();
    let client = reqwest::Client::new();
    let start = || ServeProcess::start(processd(&["serve"]));
    let mut first = start();
    let base = first.base();
    let res = client
        .post(format!("{base}/api/system/webhooks"))
        .bearer_auth(&token)
        .json(&json!({"url": url, "events": ["process.created", "process.completed"], "secret": SECRET}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", first.log());
    // Three runs to their end, through the client crate.
    let processd_client = process_client::Client::new(base.clone()).with_token(token.clone());
    let mut ids = Vec::new();
    for _ in 0..3 {
        let p = processd_client
            .launch("echo", &process_client::Launch::new())
            .await
            .unwrap();
        let done = processd_client.wait(&p).await.unwrap();
        assert_eq!(done.process_status, process_client::Status::Completed);
        ids.push(p.process_id);
    }
    // The receiver has refused deliveries.
    for _ in 0..100 {
        if !receiver.got.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    first.child.kill().unwrap(); // SIGKILL
    first.child.wait().unwrap();
    assert!(receiver.accepted().is_empty());

    receiver.fail.store(0, Ordering::SeqCst);
    let second = start();
    let got = receiver.wait_for(6).await;
    let map = per_process(&got);
    for id in &ids {
        assert_eq!(
            map[id],
            ["process.created", "process.completed"],
            "process {id}: {}",
            second.log()
        );
    }
}

/// A thousand processes: every one of their events reaches the stream and the webhook once,
/// in order per process.
#[actix_web::test]
async fn a_thousand_processes_make_every_event_in_order() {
    const N: usize = 1000;
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, &config()).await else {
            continue;
        };
        let alice = app.alice.as_str();
        let receiver = Receiver::default();
        let url = receiver.start();
        let kinds = ["process.created", "process.running", "process.completed"];
        subscribe(&app, alice, &url, json!(kinds)).await;
        let mut feed = Stream::open(&app, alice, None).await;

        let ids: Vec<String> = futures_util::stream::iter(0..N)
            .map(|_| app.launch_ok("echo", Some(alice), json!([])))
            .buffered(8)
            .collect()
            .await;

        let mut streamed: HashMap<String, Vec<String>> = HashMap::new();
        let mut last_id = 0i64;
        for _ in 0..N * kinds.len() {
            let e = feed.next().await;
            let id: i64 = e.id.parse().unwrap();
            assert!(id > last_id, "{backend}: ids grow");
            last_id = id;
            streamed
                .entry(e.data["process"]["processId"].as_str().unwrap().to_owned())
                .or_default()
                .push(e.kind);
        }
        let delivered = per_process(&receiver.wait_for(N * kinds.len()).await);
        for id in &ids {
            assert_eq!(streamed[id], kinds, "{backend}: stream, process {id}");
            assert_eq!(delivered[id], kinds, "{backend}: webhook, process {id}");
        }
        assert_eq!(
            receiver.accepted().len(),
            N * kinds.len(),
            "{backend}: once each"
        );
    }
}
