//! HEAD answers every GET route with the GET's status and headers and no body (download
//! managers, `curl -I`, link checkers); a method a path does not have is a 405 with `Allow`;
//! an unknown path stays a 404. The routes are read from the OpenAPI document, so a new route
//! is covered without touching this test.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, BACKENDS};

async fn doc(app: &TestApp) -> Value {
    let res = app.get("/api/openapi.json", None).send().await.unwrap();
    res.json().await.unwrap()
}

/// Ids to fill path templates with: of a finished process with files, one of its files, an
/// upload session, the admin user.
struct Ids {
    process: String,
    file: String,
    upload: String,
    user: String,
    webhook: String,
}

impl Ids {
    async fn make(app: &TestApp) -> Self {
        let t = Some(app.admin.as_str());
        let process = app
            .launch_ok("outputs", t, json!([{"name": "-z", "value": "2"}]))
            .await;
        app.wait_done(&process, t).await;
        let files: Value = app
            .get(&format!("/api/system/processes/{process}/files"), t)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let file = files["_embedded"]["bitstreams"][0]["uuid"]
            .as_str()
            .unwrap()
            .to_owned();
        let def: Value = app
            .post("/api/system/uploadDefinitions", t)
            .json(&json!({"fileDefinitions": [{"name": "a.csv"}]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let upload = def["id"].as_str().unwrap().to_owned();
        let status: Value = app
            .get("/api/authn/status", t)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let user = status["_embedded"]["eperson"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let hook: Value = app
            .post("/api/system/webhooks", t)
            .json(&json!({"url": "https://hooks.example.org/x", "events": ["process.failed"], "secret": "0123456789abcdef"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let webhook = hook["id"].as_str().unwrap().to_owned();
        Self {
            process,
            file,
            upload,
            user,
            webhook,
        }
    }

    fn fill(&self, template: &str) -> String {
        let process_id = if template.starts_with("/api/system/uploadDefinitions") {
            &self.upload
        } else if template.starts_with("/api/system/webhooks") {
            &self.webhook
        } else {
            &self.process
        };
        let uuid = if template.starts_with("/api/eperson/") {
            &self.user
        } else {
            &self.file
        };
        template
            .replace("{id}", process_id)
            .replace("{uuid}", uuid)
            .replace("{name}", "echo")
            .replace("{filetype}", "outputFile")
            .replace("{file}", "0b2c3d4e-5f60-4a1b-8c2d-3e4f5a6b7c8d")
            .replace("{deliveryId}", "1")
    }
}

#[actix_web::test]
async fn every_get_route_answers_head_with_its_headers_and_no_body() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let ids = Ids::make(&app).await;
        let doc = doc(&app).await;
        let mut checked = 0;
        for (template, item) in doc["paths"].as_object().unwrap() {
            if item.get("get").is_none() {
                continue;
            }
            let path = ids.fill(template);
            let url = app.url(&path);
            let get = app
                .client
                .get(&url)
                .bearer_auth(&app.admin)
                .send()
                .await
                .unwrap();
            let head = app
                .client
                .head(&url)
                .bearer_auth(&app.admin)
                .send()
                .await
                .unwrap();
            assert_eq!(head.status(), get.status(), "{backend:?}: HEAD {path}");
            assert!(get.status().is_success(), "GET {path}: {}", get.status());
            for name in [
                "content-type",
                "content-disposition",
                "etag",
                "accept-ranges",
            ] {
                assert_eq!(
                    head.headers().get(name),
                    get.headers().get(name),
                    "{name} of HEAD {path}"
                );
            }
            let (get_len, head_len) = (
                get.headers().get("content-length").cloned(),
                head.headers().get("content-length").cloned(),
            );
            // A live stream never ends: its headers are compared, its body is not read.
            if get.headers()["content-type"] == "text/event-stream" {
                assert!(
                    head.bytes().await.unwrap().is_empty(),
                    "HEAD {path} has a body"
                );
                checked += 1;
                continue;
            }
            let body = get.bytes().await.unwrap();
            // Answers that do not change between two calls report the GET's length.
            if !matches!(template.as_str(), "/healthz" | "/metrics") {
                assert_eq!(head_len, get_len, "content-length of HEAD {path}");
            }
            assert!(!body.is_empty(), "GET {path} had a body");
            assert!(
                head.bytes().await.unwrap().is_empty(),
                "HEAD {path} has a body"
            );
            checked += 1;
        }
        assert!(checked >= 15, "only {checked} GET routes");
    }
}

#[actix_web::test]
async fn head_of_downloads_archives_and_live_feeds_sends_no_body() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let ids = Ids::make(&app).await;
        let t = Some(app.admin.as_str());
        let content = format!("/api/core/bitstreams/{}/content", ids.file);
        let res = app
            .client
            .head(app.url(&content))
            .bearer_auth(&app.admin)
            .header("Range", "bytes=0-3")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 206, "{backend:?}");
        assert_eq!(res.headers()["content-length"], "4");
        assert!(res.headers()["content-range"]
            .to_str()
            .unwrap()
            .starts_with("bytes 0-3/"));
        assert!(res.bytes().await.unwrap().is_empty());

        let res = app
            .client
            .head(app.url(&format!("/api/system/processes/{}/archive", ids.process)))
            .bearer_auth(&app.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/zip");
        assert!(res.bytes().await.unwrap().is_empty());

        // The live feed of a process that runs on: HEAD answers at once and ends.
        let running = app
            .launch_ok("sleep", t, json!([{"name": "-t", "value": "30"}]))
            .await;
        app.wait_running(&running, t).await;
        let res = app
            .client
            .head(app.url(&format!("/api/system/processes/{running}/output")))
            .bearer_auth(&app.admin)
            .header("Accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        assert!(res.bytes().await.unwrap().is_empty());
        let stop = app
            .post(&format!("/api/system/processes/{running}/stop"), t)
            .send()
            .await
            .unwrap();
        assert_eq!(stop.status(), 202);
    }
}

#[actix_web::test]
async fn a_method_a_path_does_not_have_is_405_with_allow() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        for (method, path, allow) in [
            (Method::POST, "/api/system/processes", "GET, HEAD, OPTIONS"),
            (
                Method::DELETE,
                "/api/system/scripts/echo",
                "GET, HEAD, OPTIONS",
            ),
            (Method::PUT, "/api/system/processes/1/stop", "POST, OPTIONS"),
            (
                Method::HEAD,
                "/api/system/processes/1/stop",
                "POST, OPTIONS",
            ),
            (
                Method::GET,
                "/api/system/scripts/echo/processes",
                "POST, OPTIONS",
            ),
            (
                Method::PATCH,
                "/api/system/processes/1",
                "GET, HEAD, DELETE, OPTIONS",
            ),
            (Method::GET, "/api/authn/login", "POST, OPTIONS"),
        ] {
            let res = app
                .client
                .request(method.clone(), app.url(path))
                .bearer_auth(&app.alice)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 405, "{backend:?}: {method} {path}");
            assert_eq!(res.headers()["allow"], allow, "{method} {path}");
            if method != Method::HEAD {
                let body: Value = res.json().await.unwrap();
                assert_eq!(body["status"], 405);
                assert_eq!(body["code"], "method_not_allowed");
                assert_eq!(body["path"], path);
                assert!(
                    body["message"].as_str().unwrap().contains(method.as_str()),
                    "{body}"
                );
            }
        }
        // OPTIONS says what a path allows; an unknown path is still a 404, whatever the method.
        let res = app
            .client
            .request(Method::OPTIONS, app.url("/api/system/processes/1"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        assert_eq!(res.headers()["allow"], "GET, HEAD, DELETE, OPTIONS");
        for method in [Method::GET, Method::POST, Method::HEAD, Method::DELETE] {
            let res = app
                .client
                .request(method.clone(), app.url("/api/nothing/here"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 404, "{method}");
            if method != Method::HEAD {
                let body: Value = res.json().await.unwrap();
                assert_eq!(body["code"], "no_route");
            }
        }
    }
}

/// The method table is read from the document: every documented operation must reach its
/// handler (no 405, no `no_route`), or the table and the routes disagree.
#[actix_web::test]
async fn every_documented_operation_is_routed() {
    let Some(app) = spawn_app(BACKENDS[0]).await else {
        return;
    };
    let doc = doc(&app).await;
    let ids = Ids {
        process: "999999".into(),
        file: "0b2c3d4e-5f60-4a1b-8c2d-3e4f5a6b7c8d".into(),
        user: "0b2c3d4e-5f60-4a1b-8c2d-3e4f5a6b7c8f".into(),
        upload: "0b2c3d4e-5f60-4a1b-8c2d-3e4f5a6b7c8e".into(),
        webhook: "999999".into(),
    };
    for (template, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let path = ids.fill(template);
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let res = app
                .client
                .request(method.clone(), app.url(&path))
                .header("Accept", "application/json")
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let body = res.text().await.unwrap();
            assert_ne!(status, 405, "{method} {path}: {body}");
            assert!(!body.contains("\"no_route\""), "{method} {path}: {body}");
        }
    }
}
