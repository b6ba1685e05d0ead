//! Attacks on the service's resources, each answered with a bounded refusal: oversized
//! lists, floods of logins, stalled downloads, invented methods, slow bodies, cross-origin
//! launches.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp, BACKENDS};

/// Asserts the JSON error shape and code of `res`; returns the body.
async fn refused(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status(), status, "{:?}", res.headers());
    let path = res.url().path().to_owned();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["path"], path, "{body}");
    assert!(
        body["error"].is_string() && body["message"].is_string(),
        "{body}"
    );
    body
}

/// A launch of `script` with the given text parts besides an empty `properties`.
async fn launch_parts(
    app: &TestApp,
    script: &str,
    token: Option<&str>,
    parts: &[(&str, String)],
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new().text("properties", "[]");
    for (name, value) in parts {
        form = form.text((*name).to_owned(), value.clone());
    }
    app.post(&format!("/api/system/scripts/{script}/processes"), token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn huge_depends_on_lists_and_filter_floods_are_refused_quickly() {
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, "").await else {
            continue;
        };
        let t = Some(app.alice.as_str());
        let first = app.launch_ok("echo", t, json!([])).await;

        // 100,000 ids (once 29 s of CPU and a 500): refused while parsing, naming the limit.
        let ids: Vec<String> = (1..=100_000).map(|i| i.to_string()).collect();
        let started = Instant::now();
        let res = launch_parts(&app, "echo", t, &[("dependsOn", ids.join(","))]).await;
        let body = refused(res, 400, "limit_exceeded").await;
        assert!(
            body["message"].as_str().unwrap().contains("at most 100"),
            "{body}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );

        // Up to the limit, repeats of one id are one dependency.
        let same = vec![first.clone(); 100].join(",");
        let res = launch_parts(&app, "echo", t, &[("dependsOn", same)]).await;
        assert_eq!(res.status(), 202);
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["dependsOn"], json!([first.clone()]));

        // Ids spread over several parts would dodge the cap.
        let res = launch_parts(
            &app,
            "echo",
            t,
            &[("dependsOn", first.clone()), ("dependsOn", first.clone())],
        )
        .await;
        let body = refused(res, 400, "bad_request").await;
        assert!(
            body["message"].as_str().unwrap().contains("dependsOn"),
            "{body}"
        );

        // 1,500 parameter filters (once a 500): refused; 20 still work.
        let filters = |n: usize| {
            (0..n)
                .map(|i| format!("parameter.-s=v{i}"))
                .collect::<Vec<_>>()
                .join("&")
        };
        let res = app
            .get(&format!("/api/system/processes?{}", filters(1_500)), t)
            .send()
            .await
            .unwrap();
        let body = refused(res, 400, "limit_exceeded").await;
        assert!(
            body["message"].as_str().unwrap().contains("at most 20"),
            "{body}"
        );
        let res = app
            .get(&format!("/api/system/processes?{}", filters(20)), t)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
}

#[actix_web::test]
async fn invented_methods_do_not_grow_metrics() {
    let Some(app) = spawn_app_with(crate::helpers::Backend::Sqlite, "").await else {
        return;
    };
    for i in 0..50 {
        let method = reqwest::Method::from_bytes(format!("FOOBAR{i}").as_bytes()).unwrap();
        let res = app
            .client
            .request(method, app.url("/api"))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{}", res.status());
    }
    let text = app
        .get("/metrics", None)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains("FOOBAR"), "{text}");
    let series: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("processd_http_request_duration_seconds_count{"))
        .collect();
    assert!(
        series.iter().any(|l| l.contains("method=\"other\"")),
        "{series:?}"
    );
    // 50 invented methods on one route are one series.
    assert!(series.len() <= 3, "{series:?}");
}

/// A client whose connections come from `ip` (any address of 127.0.0.0/8 reaches the app).
fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(ip))
        .build()
        .unwrap()
}

async fn login_from(
    app: &TestApp,
    client: &reqwest::Client,
    user: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(app.url("/api/authn/login"))
        .form(&[("user", user), ("password", password)])
        .send()
        .await
        .unwrap()
}

/// Seconds of a 429's `Retry-After`, after checking the JSON error.
async fn retry_after(res: reqwest::Response) -> u64 {
    let secs: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&secs), "{secs}");
    refused(res, 429, "rate_limited").await;
    secs
}

#[actix_web::test]
async fn login_guessing_is_rate_limited_per_address_and_per_account() {
    // Three attempts at once, then one a second.
    let config = "login_attempts = 3\nlogin_window = \"3s\"";
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, config).await else {
            continue;
        };
        app.set_password("alice", "correct horse").await;

        // One address guessing passwords of many accounts: the address runs out.
        let local = client_from([127, 0, 0, 1]);
        let names: Vec<String> = (0..8).map(|i| format!("ghost{i}")).collect();
        let tries = futures_util::future::join_all(
            names
                .iter()
                .map(|name| login_from(&app, &local, name, "guess")),
        )
        .await;
        let mut limited = 0;
        for res in tries {
            match res.status().as_u16() {
                401 => {}
                429 => {
                    retry_after(res).await;
                    limited += 1;
                }
                other => panic!("unexpected {other}"),
            }
        }
        assert!(limited >= 4, "{limited} of 8 limited");

        // Once the backoff has passed, the right password works from that address.
        let deadline = Instant::now() + Duration::from_secs(8);
        loop {
            let res = login_from(&app, &local, "alice", "correct horse").await;
            if res.status() == 200 {
                assert!(res.headers().contains_key("authorization"));
                break;
            }
            let wait = retry_after(res).await;
            assert!(Instant::now() < deadline, "still limited");
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }

        // Many addresses guessing one account: the account runs out, for every address,
        // while other accounts are untouched.
        let app = &app;
        let tries = futures_util::future::join_all((0..8u8).map(|i| async move {
            login_from(app, &client_from([127, 0, 1, 10 + i]), "bob", "guess").await
        }))
        .await;
        let limited = tries.iter().filter(|r| r.status() == 429).count();
        assert!(limited >= 4, "{limited} of 8 limited");
        let res = login_from(app, &client_from([127, 0, 1, 99]), "bob", "guess").await;
        retry_after(res).await;
        let res = login_from(app, &client_from([127, 0, 1, 98]), "admin", "guess").await;
        refused(res, 401, "unauthorized").await;
    }
}

#[actix_web::test]
async fn concurrent_password_hashes_stay_within_their_bound() {
    let config = "login_attempts = 1000\nlogin_max_concurrent_hashes = 1";
    let Some(app) = spawn_app_with(crate::helpers::Backend::Sqlite, config).await else {
        return;
    };
    app.set_password("alice", "correct horse").await;
    let local = client_from([127, 0, 0, 1]);
    let tries =
        futures_util::future::join_all((0..12).map(|_| login_from(&app, &local, "alice", "wrong")))
            .await;
    for res in tries {
        match res.status().as_u16() {
            401 => {}
            503 => {
                assert!(res.headers().contains_key("retry-after"));
                refused(res, 503, "busy").await;
            }
            other => panic!("unexpected {other}"),
        }
    }
    let text = app
        .get("/metrics", None)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let gauge = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    };
    assert_eq!(gauge("processd_login_hashes_peak"), 1.0);
    assert_eq!(gauge("processd_login_hashes"), 0.0);
}

/// A GET over a raw connection that reads the status line and headers, then nothing more:
/// a client that stopped reading. Returns the status and the open connection.
async fn get_and_stall(app: &TestApp, path: &str, token: &str) -> (u16, tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = app.base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(host).await.unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n");
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(conn.read(&mut byte).await.unwrap(), 1, "connection closed");
        head.push(byte[0]);
    }
    let status = String::from_utf8_lossy(&head)[9..12].parse().unwrap();
    (status, conn)
}

#[actix_web::test]
async fn stalled_archive_downloads_are_capped_and_dropped() {
    let config = format!(
        "max_archives = 3\nmax_archives_per_caller = 2\narchive_stall_timeout = \"2s\"\n\
         [[script]]\nname = \"random\"\ncommand = [\"{}\"]\nallowed = [\"anonymous\"]\n\
         [[script.parameter]]\nname = \"-z\"\ntype = \"integer\"\n",
        crate::helpers::fixture("random_file.sh")
    );
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, &config).await else {
            continue;
        };
        // 32 MiB that do not compress: far more than the socket buffers hold, so a client
        // that stops reading stalls the archive. Started anonymously, any user who presents
        // its capability may read it.
        let id = app
            .launch_ok("random", None, json!([{"name": "-z", "value": 32 << 20}]))
            .await;
        assert_eq!(app.wait_done(&id, None).await["processStatus"], "COMPLETED");
        let access = app.capability(&id).unwrap();
        let path = format!("/api/system/processes/{id}/archive?access={access}");

        let mut stalled = Vec::new();
        for token in [&app.alice, &app.alice] {
            let (status, conn) = get_and_stall(&app, &path, token).await;
            assert_eq!(status, 200);
            stalled.push(conn);
        }
        // Over the caller's cap; another caller may still start one, up to the overall cap.
        let res = app.get(&path, Some(&app.alice)).send().await.unwrap();
        assert!(res.headers().contains_key("retry-after"));
        let body = refused(res, 429, "too_many_concurrent").await;
        assert!(
            body["message"].as_str().unwrap().contains("per caller"),
            "{body}"
        );
        let (status, conn) = get_and_stall(&app, &path, &app.bob).await;
        assert_eq!(status, 200);
        stalled.push(conn);
        let res = app.get(&path, Some(&app.admin)).send().await.unwrap();
        let body = refused(res, 429, "too_many_concurrent").await;
        assert!(
            body["message"].as_str().unwrap().contains("at most 3"),
            "{body}"
        );

        // The stalled downloads hold no thread the database needs.
        let started = Instant::now();
        let health =
            futures_util::future::join_all((0..20).map(|_| app.get("/healthz", None).send())).await;
        for res in health {
            assert_eq!(res.unwrap().status(), 200);
        }
        let res = app
            .get("/api/system/processes", Some(&app.admin))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );

        // Past the stall timeout the stalled archives are dropped and their places freed,
        // though their clients still hold the connections.
        let deadline = Instant::now() + Duration::from_secs(8);
        loop {
            let (status, conn) = get_and_stall(&app, &path, &app.alice).await;
            if status == 200 {
                drop(conn);
                break;
            }
            assert_eq!(status, 429);
            assert!(
                Instant::now() < deadline,
                "stalled archives were never dropped"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        drop(stalled);
    }
}

#[actix_web::test]
async fn live_followers_are_capped_per_process_and_per_caller() {
    let config =
        "max_followers_per_process = 2\nmax_followers_per_caller = 3\nsse_heartbeat = \"1s\"";
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, config).await else {
            continue;
        };
        // Scheduled far ahead: every follower of these polls the database.
        let later = || [("startTime", "2999-01-01T00:00:00Z".to_owned())];
        let mut ids = Vec::new();
        for _ in 0..2 {
            let res = launch_parts(&app, "echo", None, &later()).await;
            assert_eq!(res.status(), 202);
            let p: Value = res.json().await.unwrap();
            // Anonymous: followed by users who present its capability.
            let access = p["accessToken"].as_str().unwrap().to_owned();
            ids.push((p["processId"].as_str().unwrap().to_owned(), access));
        }
        let follow = |(id, access): &(String, String), token: &str| {
            let path = format!("/api/system/processes/{id}/output?access={access}");
            app.get(&path, Some(token))
                .header("Accept", "text/event-stream")
                .send()
        };
        let mut feeds = Vec::new();
        for _ in 0..2 {
            let res = follow(&ids[0], &app.alice).await.unwrap();
            assert_eq!(res.status(), 200);
            feeds.push(res);
        }
        let res = follow(&ids[0], &app.bob).await.unwrap();
        let body = refused(res, 429, "too_many_concurrent").await;
        assert!(
            body["message"].as_str().unwrap().contains("followers"),
            "{body}"
        );

        let res = follow(&ids[1], &app.alice).await.unwrap();
        assert_eq!(res.status(), 200);
        feeds.push(res);
        let res = follow(&ids[1], &app.alice).await.unwrap();
        assert!(res.headers().contains_key("retry-after"));
        let body = refused(res, 429, "too_many_concurrent").await;
        assert!(
            body["message"].as_str().unwrap().contains("per caller"),
            "{body}"
        );
        let res = follow(&ids[1], &app.bob).await.unwrap();
        assert_eq!(res.status(), 200);

        // A follower that goes away gives its place back.
        drop(feeds);
        let deadline = Instant::now() + Duration::from_secs(8);
        loop {
            let res = follow(&ids[0], &app.alice).await.unwrap();
            if res.status() == 200 {
                break;
            }
            assert_eq!(res.status(), 429);
            assert!(Instant::now() < deadline, "places were never given back");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Reads an HTTP/1.1 response with a `Content-Length` body from a raw connection.
async fn read_response(conn: &mut tokio::net::tcp::OwnedReadHalf) -> (u16, String, Value) {
    use tokio::io::AsyncReadExt;
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&data).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let head = &text[..end];
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            if data.len() >= end + 4 + length {
                let body = serde_json::from_slice(&data[end + 4..end + 4 + length]).unwrap();
                return (head[9..12].parse().unwrap(), head.to_owned(), body);
            }
        }
        let n = conn.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed before a response");
        data.extend_from_slice(&buf[..n]);
    }
}

#[actix_web::test]
async fn a_trickling_request_body_is_cut_off() {
    use tokio::io::AsyncWriteExt;
    let config = "body_idle_timeout = \"1s\"\nbody_min_bytes_per_second = 100";
    let Some(app) = spawn_app_with(crate::helpers::Backend::Sqlite, config).await else {
        return;
    };
    let host = app.base.trim_start_matches("http://").to_owned();
    let conn = tokio::net::TcpStream::connect(&host).await.unwrap();
    let (mut read, mut write) = conn.into_split();
    // The part's headers at once, then its value a byte every 300 ms: each read of the
    // value gets a byte well within the 1 s idle timeout, and the whole stays far below
    // 100 bytes a second.
    let part = "--XyZ\r\nContent-Disposition: form-data; name=\"properties\"\r\n\r\n";
    let rest = format!("[{}]\r\n--XyZ--\r\n", " ".repeat(200));
    let head = format!(
        "POST /api/system/scripts/echo/processes HTTP/1.1\r\nHost: {host}\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {}\r\n\r\n{part}",
        part.len() + rest.len()
    );
    write.write_all(head.as_bytes()).await.unwrap();
    let trickle = tokio::spawn(async move {
        for b in rest.bytes() {
            if write.write_all(&[b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let started = Instant::now();
    let (status, _, error) = tokio::time::timeout(Duration::from_secs(8), read_response(&mut read))
        .await
        .expect("no answer to a trickling body");
    assert_eq!(status, 408, "{error}");
    assert_eq!(error["code"], "request_timeout", "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("100 bytes a second"),
        "{error}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    trickle.abort();
}

#[actix_web::test]
async fn http_hygiene_headers_names_schemes_metrics_and_origins() {
    let config = "metrics_allowed = \"admin\"\ntrusted_origins = [\"https://ui.example.org\"]";
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, config).await else {
            continue;
        };
        let t = Some(app.alice.as_str());

        // A file whose name hides its real extension behind a right-to-left override.
        let hostile = "report\u{202E}fdp.exe";
        let res = app
            .launch(
                "cat",
                t,
                json!([{"name": "-f", "value": hostile}]),
                vec![(hostile, b"x".to_vec())],
            )
            .await;
        assert_eq!(res.status(), 202);
        assert_eq!(res.headers()["cache-control"], "no-store");
        let id = res.json::<Value>().await.unwrap()["processId"]
            .as_str()
            .unwrap()
            .to_owned();
        app.wait_done(&id, t).await;
        let files: Value = app
            .get(&format!("/api/system/processes/{id}/files/inputFile"), t)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let file = &files["_embedded"]["bitstreams"][0];
        assert_eq!(file["name"], "reportfdp.exe", "{files}");
        assert_eq!(
            file["metadata"]["dc.title"][0]["value"], "reportfdp.exe",
            "{files}"
        );
        let content = file["_links"]["content"]["href"].as_str().unwrap();
        let res = app.get(content, t).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-security-policy"], "sandbox");
        let disposition = res.headers()["content-disposition"].to_str().unwrap();
        assert!(
            !disposition.to_ascii_uppercase().contains("%E2%80%AE"),
            "{disposition}"
        );
        assert!(disposition.contains("reportfdp.exe"), "{disposition}");

        // Authenticated JSON and every login answer are not to be cached.
        let res = app.get("/api/system/processes", t).send().await.unwrap();
        assert_eq!(res.headers()["cache-control"], "no-store");
        let res = login_from(&app, &app.client, "alice", "nope").await;
        assert_eq!(res.headers()["cache-control"], "no-store");
        refused(res, 401, "unauthorized").await;

        // The Bearer scheme in any case.
        for scheme in ["bearer", "BEARER", "Bearer"] {
            let status: Value = app
                .client
                .get(app.url("/api/authn/status"))
                .header("Authorization", format!("{scheme} {}", app.alice))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(status["authenticated"], true, "{scheme}");
        }

        // Metrics for admins only, as configured.
        refused(
            app.get("/metrics", None).send().await.unwrap(),
            401,
            "unauthorized",
        )
        .await;
        refused(
            app.get("/metrics", t).send().await.unwrap(),
            403,
            "forbidden",
        )
        .await;
        let res = app.get("/metrics", Some(&app.admin)).send().await.unwrap();
        assert_eq!(res.status(), 200);

        // A page of another origin cannot start an anonymous script (or log in); the
        // service's own pages and trusted origins can, and reading stays open.
        let launch_from = |origin: &str| {
            let form = reqwest::multipart::Form::new().text("properties", "[]");
            app.post("/api/system/scripts/echo/processes", None)
                .header("Origin", origin)
                .multipart(form)
                .send()
        };
        let before = app.app.store.clone();
        let count = move || {
            let s = before.clone();
            async move {
                tokio::task::spawn_blocking(move || s.count_by_status().unwrap())
                    .await
                    .unwrap()
                    .iter()
                    .map(|(_, n)| *n)
                    .sum::<i64>()
            }
        };
        let processes = count().await;
        for origin in ["http://evil.example", "null", "http://127.0.0.1:1"] {
            let res = launch_from(origin).await.unwrap();
            let body = refused(res, 403, "cross_origin").await;
            assert!(body["message"].as_str().unwrap().contains(origin), "{body}");
        }
        assert_eq!(
            count().await,
            processes,
            "a refused launch created a process"
        );
        let res = app
            .post("/api/authn/login", None)
            .header("Origin", "http://evil.example")
            .form(&[("user", "alice"), ("password", "x")])
            .send()
            .await
            .unwrap();
        refused(res, 403, "cross_origin").await;
        assert_eq!(launch_from(&app.base).await.unwrap().status(), 202);
        assert_eq!(
            launch_from("https://ui.example.org")
                .await
                .unwrap()
                .status(),
            202
        );
        let res = app
            .get("/api", None)
            .header("Origin", "http://evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
}
