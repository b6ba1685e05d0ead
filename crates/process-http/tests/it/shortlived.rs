//! Short-lived tokens: what the DSpace UI does to let a browser download a file through a
//! plain link (`POST /api/authn/shortlivedtokens`, then the content URL with
//! `?authentication-token=`), and everything such a token must not open.

use std::io::{Cursor, Read};

use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, BACKENDS};

pub async fn login(app: &TestApp, user: &str, password: &str) -> String {
    let res = app
        .post("/api/authn/login", None)
        .form(&[("user", user), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let header = res.headers()["authorization"].to_str().unwrap();
    header.strip_prefix("Bearer ").unwrap().to_owned()
}

/// `POST /api/authn/shortlivedtokens` as `token`; the status and body.
async fn short_lived(app: &TestApp, token: Option<&str>) -> (u16, Value) {
    let res = app
        .post("/api/authn/shortlivedtokens", token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A GET of `href` (a path, with or without a query) with no Authorization header, carrying
/// `token` as `authentication-token`.
async fn get_with(app: &TestApp, href: &str, token: &str) -> reqwest::Response {
    let url = if href.starts_with("http") {
        href.to_owned()
    } else {
        app.url(href)
    };
    app.client
        .get(url)
        .query(&[("authentication-token", token)])
        .send()
        .await
        .unwrap()
}

/// Runs "outputs" as bob; returns the process id and the content href of `result.txt`.
async fn bobs_file(app: &TestApp) -> (String, String) {
    let id = app
        .launch_ok(
            "outputs",
            Some(&app.bob),
            json!([{"name": "-z", "value": "3"}]),
        )
        .await;
    let p = app.wait_done(&id, Some(&app.bob)).await;
    assert_eq!(p["processStatus"], "COMPLETED", "{p}");
    let files: Value = app
        .get(&format!("/api/system/processes/{id}/files"), Some(&app.bob))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let file = files["_embedded"]["bitstreams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "result.txt")
        .unwrap()
        .clone();
    let href = file["_links"]["content"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    (id, href)
}

#[actix_web::test]
async fn the_ui_downloads_files_and_archives_with_a_short_lived_token() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        app.set_password("bob", "battery staple").await;
        let jwt = login(&app, "bob", "battery staple").await;
        let (id, href) = bobs_file(&app).await;

        // The UI asks for a token with its login JWT, then opens the link in the browser.
        let (status, body) = short_lived(&app, Some(&jwt)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["type"], "shortlivedtoken");
        let self_href = body["_links"]["self"]["href"].as_str().unwrap();
        assert!(
            self_href.ends_with("/api/authn/shortlivedtokens"),
            "{self_href}"
        );
        let token = body["token"].as_str().unwrap().to_owned();

        let res = get_with(&app, &href, &token).await;
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
        assert_eq!(res.text().await.unwrap(), "hello\n");

        // Ranges work the same way.
        let res = app
            .client
            .get(app.url(&href))
            .query(&[("authentication-token", &token)])
            .header("Range", "bytes=1-2")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 206);
        assert_eq!(res.text().await.unwrap(), "el");

        // And the zip of all files of the process.
        let res = get_with(&app, &format!("/api/system/processes/{id}/archive"), &token).await;
        assert_eq!(res.status(), 200);
        let zip = res.bytes().await.unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(zip.to_vec())).unwrap();
        let mut text = String::new();
        archive
            .by_name("outputFile/result.txt")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "hello\n");

        // A token got with an API token works too.
        let (status, body) = short_lived(&app, Some(&app.bob)).await;
        assert_eq!(status, 200);
        let res = get_with(&app, &href, body["token"].as_str().unwrap()).await;
        assert_eq!(res.status(), 200);
    }
}

#[actix_web::test]
async fn short_lived_tokens_open_nothing_but_downloads_of_what_their_user_may_see() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let (id, href) = bobs_file(&app).await;
        let (_, body) = short_lived(&app, Some(&app.bob)).await;
        let token = body["token"].as_str().unwrap().to_owned();

        // Anonymous callers get none.
        let (status, body) = short_lived(&app, None).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["code"], "unauthorized");

        // In the Authorization header it opens downloads only: with `Bearer`, and bare, as
        // DSpace's Python client sends it; anywhere else it is no token at all.
        let bare = |path: &str| {
            app.client
                .get(app.url(path))
                .header("Authorization", token.as_str())
                .send()
        };
        assert_eq!(
            app.get(&href, Some(&token)).send().await.unwrap().status(),
            200
        );
        assert_eq!(bare(&href).await.unwrap().status(), 200);
        for path in ["/api/authn/status", "/api/system/processes"] {
            let res = app.get(path, Some(&token)).send().await.unwrap();
            assert_eq!(res.status(), 401, "{path}");
            assert_eq!(bare(path).await.unwrap().status(), 401, "{path}");
        }
        // In the query of any other route it is ignored: the request is anonymous.
        let status: Value = get_with(&app, "/api/authn/status", &token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(status["authenticated"], false, "{status}");
        let res = get_with(&app, &format!("/api/system/processes/{id}"), &token).await;
        assert_eq!(res.status(), 401);
        let res = get_with(&app, &format!("/api/system/processes/{id}/files"), &token).await;
        assert_eq!(res.status(), 401);
        // A short-lived token cannot get another.
        let (status, _) = short_lived(&app, Some(&token)).await;
        assert_eq!(status, 401);

        // A login JWT, an API token or garbage in the query is refused, never anonymous.
        let store = app.app.store.clone();
        let bob = tokio::task::spawn_blocking(move || store.user_by_name("bob").unwrap().unwrap())
            .await
            .unwrap();
        let now = time::OffsetDateTime::now_utc();
        let login_jwt = process_http::jwt::issue(
            &app.app.jwt,
            &bob,
            0,
            process_http::jwt::Began::Password,
            now,
        )
        .unwrap();
        let expired = process_http::jwt::issue_short_lived(
            &app.app.jwt,
            bob.id,
            0,
            now - time::Duration::minutes(3),
        )
        .unwrap();
        for bad in [
            login_jwt.as_str(),
            &app.bob,
            "garbage",
            "",
            expired.as_str(),
        ] {
            let res = get_with(&app, &href, bad).await;
            assert_eq!(res.status(), 401, "{bad}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["message"], "invalid or expired short-lived token");
        }

        // Someone else's token opens bob's file no more than their login does.
        let (_, body) = short_lived(&app, Some(&app.alice)).await;
        let alices = body["token"].as_str().unwrap().to_owned();
        assert_eq!(get_with(&app, &href, &alices).await.status(), 404);
        let archive = format!("/api/system/processes/{id}/archive");
        assert_eq!(get_with(&app, &archive, &alices).await.status(), 404);
        // An admin's opens it.
        let (_, body) = short_lived(&app, Some(&app.admin)).await;
        let admins = body["token"].as_str().unwrap().to_owned();
        assert_eq!(get_with(&app, &href, &admins).await.status(), 200);

        // An Authorization header wins over the query.
        let res = app
            .client
            .get(app.url(&href))
            .query(&[("authentication-token", &token)])
            .bearer_auth(&app.alice)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
    }
}

#[actix_web::test]
async fn a_short_lived_token_ends_with_the_session_it_came_from() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        app.set_password("bob", "battery staple").await;
        let jwt = login(&app, "bob", "battery staple").await;
        let (_, href) = bobs_file(&app).await;
        let (_, body) = short_lived(&app, Some(&jwt)).await;
        let from_jwt = body["token"].as_str().unwrap().to_owned();
        let (_, body) = short_lived(&app, Some(&app.bob)).await;
        let from_api_token = body["token"].as_str().unwrap().to_owned();
        assert_eq!(get_with(&app, &href, &from_jwt).await.status(), 200);

        let res = app
            .post("/api/authn/logout", Some(&jwt))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        for token in [&from_jwt, &from_api_token] {
            assert_eq!(get_with(&app, &href, token).await.status(), 401);
        }
        // The API token itself is no session and still works, and gets new ones.
        let (status, body) = short_lived(&app, Some(&app.bob)).await;
        assert_eq!(status, 200);
        let fresh = body["token"].as_str().unwrap();
        assert_eq!(get_with(&app, &href, fresh).await.status(), 200);
    }
}
