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
