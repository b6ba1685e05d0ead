//! The calls the DSpace 7 Angular UI makes on its process pages, replayed in its order from
//! another origin, with the `Accept` header it sends (`application/json, text/plain, */*`),
//! following the links it is given literally: root, login, status, "New process" (scripts with
//! `size=9999`, one script), launch, polling, the output as a bitstream whose content it
//! fetches with a short-lived token, the files and their download, token refresh, the
//! process list.

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;

use crate::helpers::{spawn_app_with, TestApp, BACKENDS};

const UI: &str = "http://ui.example.org:4000";
const ACCEPT: &str = "application/json, text/plain, */*";

/// A browser request from the UI's origin: `Origin`, the UI's `Accept`, and its JWT.
fn ui(app: &TestApp, method: Method, href: &str, jwt: Option<&str>) -> RequestBuilder {
    let req = app
        .client
        .request(method, app.url(href))
        .header("Origin", UI)
        .header("Accept", ACCEPT)
        .header("X-Requested-With", "XMLHttpRequest");
    match jwt {
        Some(jwt) => req.header("Authorization", format!("Bearer {jwt}")),
        None => req,
    }
}

/// Checks the CORS headers the browser needs to hand the answer to the UI.
fn readable(res: &Response) {
    let h = res.headers();
    assert_eq!(
        h.get("access-control-allow-origin").unwrap(),
        UI,
        "{}",
        res.url()
    );
    assert_eq!(h.get("access-control-allow-credentials").unwrap(), "true");
}

fn exposed(h: &HeaderMap) -> Vec<String> {
    h.get("access-control-expose-headers")
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_owned())
        .collect()
}

async fn json(res: Response) -> Value {
    readable(&res);
    assert!(res.status().is_success(), "{} {}", res.url(), res.status());
    res.json().await.unwrap()
}

fn href(v: &Value, rel: &str) -> String {
    let href = v["_links"][rel]["href"]
        .as_str()
        .unwrap_or_else(|| panic!("no {rel} link in {v}"));
    assert!(href.starts_with("http://"), "{rel}: {href}");
    href.to_owned()
}

#[actix_web::test]
async fn the_angular_ui_process_pages_work_from_another_origin() {
    for backend in BACKENDS {
        let extra = format!("cors_allowed_origins = [\"{UI}\"]");
        let Some(app) = spawn_app_with(backend, &extra).await else {
            continue;
        };
        app.set_password("alice", "correct horse").await;

        // Root, then the login link it names.
        let root = json(ui(&app, Method::GET, "/api", None).send().await.unwrap()).await;
        assert_eq!(root["type"], "root");
        assert!(root["dspaceVersion"].as_str().unwrap().contains("DSpace 7"));
        let authn = json(
            ui(&app, Method::GET, &href(&root, "authn"), None)
                .send()
                .await
                .unwrap(),
        )
        .await;
        let login_href = href(&authn, "login");
        let preflight = app
            .client
            .request(Method::OPTIONS, &login_href)
            .header("Origin", UI)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "content-type,x-requested-with,x-xsrf-token",
            )
            .send()
            .await
            .unwrap();
        assert!(preflight.status().is_success(), "{}", preflight.status());
        readable(&preflight);
        let res = ui(&app, Method::POST, &login_href, None)
            .form(&[("user", "alice"), ("password", "correct horse")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{backend:?}");
        readable(&res);
        assert!(exposed(res.headers()).contains(&"authorization".to_owned()));
        let jwt = res.headers()["authorization"]
            .to_str()
            .unwrap()
            .strip_prefix("Bearer ")
            .unwrap()
            .to_owned();
        let status = json(
            ui(&app, Method::GET, &href(&authn, "status"), Some(&jwt))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status["authenticated"], true);
        assert_eq!(status["authenticationMethod"], "password");
        let eperson = json(
            ui(&app, Method::GET, &href(&status, "eperson"), Some(&jwt))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(eperson["name"], "alice");

        // "New process": every script at once, then the one picked.
        let scripts_href = format!("{}?size=9999", href(&root, "scripts"));
        let scripts = json(
            ui(&app, Method::GET, &scripts_href, Some(&jwt))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(scripts["page"]["size"], 100);
        let echo = scripts["_embedded"]["scripts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "echo")
            .unwrap()
            .clone();
        let script = json(
            ui(&app, Method::GET, &href(&echo, "self"), Some(&jwt))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(script["parameters"].as_array().unwrap().len() >= 2);

        // Launch as the UI posts it: multipart with `properties`.
        let form = reqwest::multipart::Form::new().text(
            "properties",
            r#"[{"name":"-s","value":"from the ui"},{"name":"-b"}]"#,
        );
        let launch_href = format!("{}/processes", href(&script, "self"));
        let res = ui(&app, Method::POST, &launch_href, Some(&jwt))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202, "{backend:?}");
        readable(&res);
        assert!(exposed(res.headers()).contains(&"location".to_owned()));
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with("http://"), "{location}");

        // Poll the detail page until the process ends.
        let mut process = Value::Null;
        for _ in 0..200 {
            process = json(
                ui(&app, Method::GET, &location, Some(&jwt))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            if process["processStatus"] == "COMPLETED" || process["processStatus"] == "FAILED" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(process["processStatus"], "COMPLETED", "{process}");

        // The output link read as JSON is the log as a bitstream; its content is fetched
        // through a plain link carrying a short-lived token.
        let log = json(
            ui(&app, Method::GET, &href(&process, "output"), Some(&jwt))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(log["type"], "bitstream");
        assert_eq!(
            log["metadata"]["dspace.process.filetype"][0]["value"],
            "script_output"
        );
        let tokens_href = format!("{}/shortlivedtokens", href(&root, "authn"));
        let short = json(
            ui(&app, Method::POST, &tokens_href, Some(&jwt))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let token = short["token"].as_str().unwrap();
        let res = ui(&app, Method::GET, &href(&log, "content"), None)
            .query(&[("authentication-token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        readable(&res);
        let text = res.text().await.unwrap();
        assert!(text.contains("from the ui"), "{text}");

        // The files tab: the log is one of them; each downloads with a short-lived token.
        let files = json(
            ui(&app, Method::GET, &href(&process, "files"), Some(&jwt))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let bitstreams = files["_embedded"]["bitstreams"].as_array().unwrap();
        assert!(
            bitstreams.iter().any(|b| b["name"] == log["name"]),
            "{files}"
        );
        for b in bitstreams {
            let res = ui(&app, Method::GET, &href(b, "content"), None)
                .query(&[("authentication-token", token)])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{b}");
            assert!(exposed(res.headers()).contains(&"content-disposition".to_owned()));
        }

        // The UI refreshes its token before it expires: the Bearer header and an empty body.
        let res = ui(&app, Method::POST, &login_href, Some(&jwt))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        readable(&res);
        let refreshed = res.headers()["authorization"]
            .to_str()
            .unwrap()
            .strip_prefix("Bearer ")
            .unwrap()
            .to_owned();

        // The overview: newest first, then the next page as linked.
        let list_href = format!("{}?size=1&sort=creationTime,DESC", href(&root, "processes"));
        let list = json(
            ui(&app, Method::GET, &list_href, Some(&refreshed))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let listed = &list["_embedded"]["processes"][0];
        assert_eq!(listed["processId"], process["processId"]);
        assert_eq!(list["page"]["size"], 1);
    }
}
