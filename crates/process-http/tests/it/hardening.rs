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

async fn set_password(app: &TestApp, user: &'static str, password: &'static str) {
    let store = app.app.store.clone();
    tokio::task::spawn_blocking(move || {
        let hash = process_http::service::authn::hash_password(password).unwrap();
        assert!(store.set_password_hash(user, &hash).unwrap());
    })
    .await
    .unwrap();
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
        set_password(&app, "alice", "correct horse").await;

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
    set_password(&app, "alice", "correct horse").await;
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
