//! Links and `Location` are absolute, as DSpace's are, and clients follow them literally:
//! under `public_url`, under what a trusted proxy says, and never under what anyone else's
//! forwarding headers or a malformed `Host` say. Page sizes are clamped as Spring clamps them.

use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, TestApp, BACKENDS};

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = app.get(path, Some(&app.alice));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

/// Every `href` in `v`.
fn hrefs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                match (k.as_str(), x) {
                    ("href", Value::String(s)) => out.push(s.clone()),
                    _ => hrefs(x, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| hrefs(x, out)),
        _ => {}
    }
}

fn all_under(v: &Value, base: &str) {
    let mut found = Vec::new();
    hrefs(v, &mut found);
    assert!(!found.is_empty(), "no links in {v}");
    for href in found {
        assert!(
            href.starts_with(&format!("{base}/api")),
            "{href} not under {base}"
        );
    }
}

/// A finished `outputs` process of alice with files; returns its id.
async fn finished(app: &TestApp) -> String {
    let id = app
        .launch_ok(
            "outputs",
            Some(&app.alice),
            json!([{"name": "-z", "value": "3"}]),
        )
        .await;
    app.wait_done(&id, Some(&app.alice)).await;
    id
}

#[actix_web::test]
async fn every_link_and_location_is_under_public_url() {
    let public = "https://repo.example.org/server";
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, &format!("public_url = \"{public}/\"")).await
        else {
            continue;
        };
        let (_, root) = get(&app, "/api", &[]).await;
        assert_eq!(root["dspaceServer"], public, "{backend:?}: {root}");
        assert_eq!(root["_links"]["self"]["href"], format!("{public}/api"));
        all_under(&root, public);

        let res = app
            .launch(
                "outputs",
                Some(&app.alice),
                json!([{"name": "-z", "value": "2"}]),
                vec![],
            )
            .await;
        assert_eq!(res.status(), 202);
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        let p: Value = res.json().await.unwrap();
        let id = p["processId"].as_str().unwrap().to_owned();
        assert_eq!(location, format!("{public}/api/system/processes/{id}"));
        all_under(&p, public);
        app.wait_done(&id, Some(&app.alice)).await;

        // A forwarding header changes nothing: the configured URL wins.
        let forwarded = [
            ("X-Forwarded-Host", "evil.example"),
            ("Host", "other.example"),
        ];
        for path in [
            format!("/api/system/processes/{id}"),
            format!("/api/system/processes/{id}/files"),
            format!("/api/system/processes/{id}/filetypes"),
            "/api/system/processes?size=1".to_owned(),
            "/api/system/scripts?size=2".to_owned(),
            "/api/system/scripts/echo".to_owned(),
            "/api/authn/status".to_owned(),
            "/api/authn".to_owned(),
        ] {
            let (status, body) = get(&app, &path, &forwarded).await;
            assert_eq!(status, 200, "{path}: {body}");
            all_under(&body, public);
        }
        let (_, files) = get(&app, &format!("/api/system/processes/{id}/files"), &[]).await;
        let uuid = files["_embedded"]["bitstreams"][0]["uuid"]
            .as_str()
            .unwrap();
        let (_, bitstream) = get(&app, &format!("/api/core/bitstreams/{uuid}"), &[]).await;
        assert_eq!(
            bitstream["_links"]["content"]["href"],
            format!("{public}/api/core/bitstreams/{uuid}/content")
        );

        let res = app
            .post("/api/system/uploadDefinitions", Some(&app.alice))
            .json(&json!({"fileDefinitions": [{"name": "a.csv"}]}))
            .send()
            .await
            .unwrap();
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        let def: Value = res.json().await.unwrap();
        assert!(location.starts_with(&format!("{public}/api/system/uploadDefinitions/")));
        all_under(&def, public);
    }
}

#[actix_web::test]
async fn a_trusted_proxy_says_where_clients_reach_the_service() {
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, "trusted_proxies = [\"127.0.0.1/32\"]").await
        else {
            continue;
        };
        let proxy = [
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "repo.example.org"),
            ("X-Forwarded-Prefix", "/server"),
        ];
        let (_, root) = get(&app, "/api", &proxy).await;
        assert_eq!(
            root["dspaceServer"], "https://repo.example.org/server",
            "{backend:?}"
        );
        all_under(&root, "https://repo.example.org/server");
        let res = app
            .launch("echo", Some(&app.alice), json!([]), vec![])
            .await;
        assert_eq!(res.status(), 202);
        // (reqwest sent no forwarding headers here: the launch's links use its Host.)
        let location = res.headers()["location"].to_str().unwrap();
        assert!(
            location.starts_with(&app.url("/api/system/processes/")),
            "{location}"
        );

        // The first of a list is the outermost proxy's; a malformed value is ignored.
        let (_, root) = get(
            &app,
            "/api",
            &[
                ("X-Forwarded-Proto", "https, http"),
                ("X-Forwarded-Host", "a.example:8443, b.example"),
            ],
        )
        .await;
        assert_eq!(root["dspaceServer"], "https://a.example:8443");
        let (_, root) = get(
            &app,
            "/api",
            &[
                ("X-Forwarded-Proto", "gopher"),
                ("X-Forwarded-Host", "evil.example/phish"),
                ("X-Forwarded-Prefix", "/../x"),
            ],
        )
        .await;
        assert_eq!(root["dspaceServer"], app.base);
    }
}

#[actix_web::test]
async fn forwarding_headers_from_anyone_else_are_ignored() {
    for backend in BACKENDS {
        // The test client (127.0.0.1) is not the trusted proxy.
        let Some(app) = spawn_app_with(backend, "trusted_proxies = [\"10.0.0.0/8\"]").await else {
            continue;
        };
        let (_, root) = get(
            &app,
            "/api",
            &[
                ("X-Forwarded-Proto", "https"),
                ("X-Forwarded-Host", "evil.example"),
                ("X-Forwarded-Prefix", "/phish"),
            ],
        )
        .await;
        assert_eq!(root["dspaceServer"], app.base, "{backend:?}");
        all_under(&root, &app.base);

        // The Host the client addressed is used; one that is no host[:port] is not echoed.
        let (_, root) = get(&app, "/api", &[("Host", "repo.example.org:8080")]).await;
        assert_eq!(root["dspaceServer"], "http://repo.example.org:8080");
        for bad in [
            "evil.example/x",
            "a b",
            "\"><script>",
            "user@host",
            "host:99999",
        ] {
            let (status, root) = get(&app, "/api", &[("Host", bad)]).await;
            assert_eq!(status, 200, "{bad}");
            assert_eq!(root["dspaceServer"], app.base, "{bad}");
        }
    }
}

#[actix_web::test]
async fn only_a_trusted_proxy_names_the_client_for_rate_limits() {
    for backend in BACKENDS {
        for (trusted, separate) in [("[\"127.0.0.1\"]", true), ("[]", false)] {
            let extra = format!("login_attempts = 2\ntrusted_proxies = {trusted}");
            let Some(app) = spawn_app_with(backend, &extra).await else {
                continue;
            };
            let login = |client: &'static str, user: &'static str| {
                app.post("/api/authn/login", None)
                    .header("X-Forwarded-For", client)
                    .form(&[("user", user), ("password", "wrong")])
                    .send()
            };
            // Each attempt names another account, so only the per-address limit counts.
            assert_eq!(login("203.0.113.1", "u1").await.unwrap().status(), 401);
            assert_eq!(login("203.0.113.1", "u2").await.unwrap().status(), 401);
            assert_eq!(login("203.0.113.1", "u3").await.unwrap().status(), 429);
            let other = login("203.0.113.2", "u4").await.unwrap().status();
            // Behind a trusted proxy the second client has its own budget; otherwise
            // everything comes from the one peer and the header is the client's word.
            assert_eq!(
                other,
                if separate { 401 } else { 429 },
                "{backend:?} {trusted}"
            );
        }
    }
}

#[actix_web::test]
async fn a_client_pages_through_next_links_as_given() {
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, "").await else {
            continue;
        };
        let mut launched = Vec::new();
        for _ in 0..5 {
            launched.push(app.launch_ok("echo", Some(&app.bob), json!([])).await);
        }
        // As dspace-rest-client does: the first page by URL, then `_links.next.href`
        // requested exactly as it is.
        let mut url = app.url("/api/system/processes/search/own?size=2&sort=creationTime,ASC");
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let res = app
                .client
                .get(&url)
                .bearer_auth(&app.bob)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{backend:?}: {url}");
            let page: Value = res.json().await.unwrap();
            pages += 1;
            for p in page["_embedded"]["processes"].as_array().unwrap() {
                seen.push(p["processId"].as_str().unwrap().to_owned());
            }
            match page["_links"]["next"]["href"].as_str() {
                Some(next) => {
                    assert!(next.starts_with("http://"), "{next}");
                    assert!(next.contains("sort=creationTime"), "{next}");
                    url = next.to_owned();
                }
                None => break,
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(seen, launched);
    }
}

#[actix_web::test]
async fn page_sizes_are_clamped_and_zero_is_the_default() {
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, "").await else {
            continue;
        };
        // The DSpace UI's "New process" page.
        let (status, scripts) = get(&app, "/api/system/scripts?size=9999", &[]).await;
        assert_eq!(status, 200, "{backend:?}: {scripts}");
        assert_eq!(scripts["page"]["size"], 100);
        let self_link = scripts["_links"]["self"]["href"].as_str().unwrap();
        assert!(self_link.contains("size=100"), "{self_link}");
        for q in ["size=9999", "size=101", "size=99999999999999999999"] {
            let (status, page) = get(&app, &format!("/api/system/processes?{q}"), &[]).await;
            assert_eq!(status, 200, "{q}: {page}");
            assert_eq!(page["page"]["size"], 100, "{q}");
        }
        for q in ["size=0", ""] {
            let (status, page) = get(&app, &format!("/api/system/processes?{q}"), &[]).await;
            assert_eq!(status, 200, "{q}: {page}");
            assert_eq!(page["page"]["size"], 20, "{q}");
        }
        let id = finished(&app).await;
        let (status, files) = get(
            &app,
            &format!("/api/system/processes/{id}/files?size=500"),
            &[],
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(files["page"]["size"], 100);
        for q in ["size=-1", "size=ten", "size=1.5", "size=", "page="] {
            let (status, body) = get(&app, &format!("/api/system/scripts?{q}"), &[]).await;
            assert_eq!(status, 400, "{q}: {body}");
            assert_eq!(body["code"], "invalid_value");
        }
    }
}

#[actix_web::test]
async fn the_root_says_what_it_is_as_dspace_does() {
    for backend in BACKENDS {
        let extra = "name = \"Lab processes\"\nui_url = \"https://ui.example.org\"";
        let Some(app) = spawn_app_with(backend, extra).await else {
            continue;
        };
        let res = app.get("/api", None).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let root: Value = res.json().await.unwrap();
        assert_eq!(root["type"], "root", "{backend:?}: {root}");
        assert_eq!(root["dspaceName"], "Lab processes");
        assert_eq!(root["dspaceUI"], "https://ui.example.org");
        assert_eq!(root["dspaceServer"], app.base);
        assert_eq!(
            root["dspaceVersion"],
            format!(
                "processd {} (DSpace 7 REST compatible)",
                env!("CARGO_PKG_VERSION")
            )
        );
        for (rel, path) in [
            ("self", "/api"),
            ("authn", "/api/authn"),
            ("bitstreams", "/api/core/bitstreams"),
            ("scripts", "/api/system/scripts"),
            ("processes", "/api/system/processes"),
            ("uploadDefinitions", "/api/system/uploadDefinitions"),
            ("login", "/api/authn/login"),
            ("status", "/api/authn/status"),
        ] {
            assert_eq!(root["_links"][rel]["href"], app.url(path), "{rel}");
        }
        // The authn link leads to the login endpoints.
        let authn: Value = app
            .client
            .get(root["_links"]["authn"]["href"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(authn["type"], "authn");
        assert_eq!(
            authn["_links"]["login"]["href"],
            app.url("/api/authn/login")
        );
        assert_eq!(
            authn["_links"]["logout"]["href"],
            app.url("/api/authn/logout")
        );
    }
    // Without ui_url, dspaceUI is null and the name is processd's.
    let Some(app) = spawn_app_with(BACKENDS[0], "").await else {
        return;
    };
    let root: Value = app
        .get("/api", None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(root["dspaceUI"].is_null(), "{root}");
    assert_eq!(root["dspaceName"], "processd");
}
