//! CORS for a browser UI on another origin, as the DSpace Angular UI calls processd: a
//! preflight, then requests whose answers (and the headers it reads) it may see. Origins not
//! listed get no CORS header, and without `cors_allowed_origins` nobody does.

use reqwest::header::HeaderMap;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, BACKENDS};

const UI: &str = "http://ui.example.org:4000";

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

fn listed(headers: &HeaderMap, name: &str) -> Vec<String> {
    header(headers, name)
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

#[actix_web::test]
async fn a_ui_on_a_listed_origin_calls_the_api_from_a_browser() {
    for backend in BACKENDS {
        let extra = format!("cors_allowed_origins = [\"{UI}/\"]");
        let Some(app) = spawn_app_with(backend, &extra).await else {
            continue;
        };
        // The preflight of the UI's launch.
        let launch = "/api/system/scripts/echo/processes";
        let res = app
            .client
            .request(reqwest::Method::OPTIONS, app.url(launch))
            .header("Origin", UI)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization,content-type,x-xsrf-token,x-requested-with",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{backend:?}");
        let h = res.headers();
        assert_eq!(header(h, "access-control-allow-origin"), Some(UI));
        assert_eq!(header(h, "access-control-allow-credentials"), Some("true"));
        assert!(listed(h, "access-control-allow-methods").contains(&"post".to_owned()));
        let allowed = listed(h, "access-control-allow-headers");
        for name in [
            "authorization",
            "content-type",
            "range",
            "if-none-match",
            "if-range",
            "last-event-id",
            "x-requested-with",
            "x-xsrf-token",
        ] {
            assert!(allowed.contains(&name.to_owned()), "{name}: {allowed:?}");
        }

        // The launch itself: the UI's origin may change things, and reads Location.
        let form = reqwest::multipart::Form::new().text("properties", json!([]).to_string());
        let res = app
            .post(launch, Some(&app.alice))
            .header("Origin", UI)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
        let h = res.headers();
        assert_eq!(header(h, "access-control-allow-origin"), Some(UI));
        let exposed = listed(h, "access-control-expose-headers");
        for name in [
            "authorization",
            "location",
            "content-disposition",
            "content-range",
        ] {
            assert!(exposed.contains(&name.to_owned()), "{name}: {exposed:?}");
        }
        assert!(header(h, "location").unwrap().starts_with(&app.base));

        // Errors are readable too: the UI must see a 401 to send its user to the login.
        let res = app
            .get("/api/system/processes", None)
            .header("Origin", UI)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        assert_eq!(
            header(res.headers(), "access-control-allow-origin"),
            Some(UI)
        );
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "unauthorized");
    }
}

#[actix_web::test]
async fn other_origins_get_no_cors_and_may_not_change_anything() {
    for backend in BACKENDS {
        let extra = format!("cors_allowed_origins = [\"{UI}\"]");
        let Some(app) = spawn_app_with(backend, &extra).await else {
            continue;
        };
        let evil = "http://evil.example";
        let res = app
            .client
            .request(reqwest::Method::OPTIONS, app.url("/api/system/processes"))
            .header("Origin", evil)
            .header("Access-Control-Request-Method", "GET")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{backend:?}");
        assert!(header(res.headers(), "access-control-allow-origin").is_none());
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status"], 400, "{body}");

        let res = app
            .get("/api/system/scripts", None)
            .header("Origin", evil)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(header(res.headers(), "access-control-allow-origin").is_none());

        let form = reqwest::multipart::Form::new().text("properties", "[]");
        let res = app
            .post("/api/system/scripts/echo/processes", Some(&app.alice))
            .header("Origin", evil)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "cross_origin");
    }
}

#[actix_web::test]
async fn without_cors_allowed_origins_there_are_no_cors_headers() {
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, "").await else {
            continue;
        };
        let res = app
            .get("/api/system/scripts", None)
            .header("Origin", UI)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{backend:?}");
        let cors: Vec<_> = res
            .headers()
            .keys()
            .filter(|k| k.as_str().starts_with("access-control-"))
            .collect();
        assert!(cors.is_empty(), "{cors:?}");
        // A preflight is no CORS either: OPTIONS says what the path allows.
        let res = app
            .client
            .request(reqwest::Method::OPTIONS, app.url("/api/system/scripts"))
            .header("Origin", UI)
            .header("Access-Control-Request-Method", "GET")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        assert!(header(res.headers(), "access-control-allow-origin").is_none());
        assert_eq!(header(res.headers(), "allow"), Some("GET, HEAD, OPTIONS"));
    }
}
