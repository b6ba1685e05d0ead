//! DSpace-style login: password → JWT in the Authorization header, used like an API token;
//! logout and new passwords ending sessions; expired and revoked API tokens refused.

use serde_json::Value;

use crate::helpers::{spawn_app, TestApp, BACKENDS};

#[actix_web::test]
async fn password_login_issues_a_working_jwt() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let store = app.app.store.clone();
        tokio::task::spawn_blocking(move || {
            let hash = process_http::service::authn::hash_password("correct horse").unwrap();
            assert!(store.set_password_hash("alice", &hash).unwrap());
        })
        .await
        .unwrap();

        let login = |user: &str, password: &str| {
            app.post("/api/authn/login", None)
                .form(&[("user", user), ("password", password)])
                .send()
        };
        let res = login("alice", "correct horse").await.unwrap();
        assert_eq!(res.status(), 200);
        let header = res.headers()["authorization"].to_str().unwrap().to_owned();
        let jwt = header.strip_prefix("Bearer ").unwrap().to_owned();
        assert_eq!(jwt.split('.').count(), 3, "{jwt}");

        // The JWT authenticates like a token.
        let status: Value = app
            .get("/api/authn/status", Some(&jwt))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(status["authenticated"], true);
        assert_eq!(status["_embedded"]["eperson"]["name"], "alice");
        let res = app
            .get("/api/system/processes/search/own", Some(&jwt))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);

        // Wrong password, unknown user, user without a password: the same 401.
        for (user, password) in [("alice", "wrong"), ("nobody", "correct horse"), ("bob", "")] {
            let res = login(user, password).await.unwrap();
            assert_eq!(res.status(), 401, "{user}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["message"], "invalid user name or password");
        }
        // Missing fields are a bad request.
        let res = app
            .post("/api/authn/login", None)
            .form(&[("user", "alice")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);

        // Anonymous status; forged and garbage tokens are refused.
        let status: Value = app
            .get("/api/authn/status", None)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(status["authenticated"], false);
        let mut forged = jwt.clone();
        forged.pop();
        forged.push(if jwt.ends_with('A') { 'B' } else { 'A' });
        for bad in [forged.as_str(), "garbage", "pd_0000"] {
            let res = app
                .get("/api/authn/status", Some(bad))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 401, "{bad}");
        }
        let res = app
            .post("/api/authn/logout", Some(&jwt))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
    }
}

/// Logs in and returns the JWT, or the status when the login is refused.
async fn login(app: &TestApp, user: &str, password: &str) -> Result<String, u16> {
    let res = app
        .post("/api/authn/login", None)
        .form(&[("user", user), ("password", password)])
        .send()
        .await
        .unwrap();
    if res.status() != 200 {
        return Err(res.status().as_u16());
    }
    let header = res.headers()["authorization"].to_str().unwrap();
    Ok(header.strip_prefix("Bearer ").unwrap().to_owned())
}

async fn status_of(app: &TestApp, token: &str) -> u16 {
    app.get("/api/authn/status", Some(token))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[actix_web::test]
async fn logout_ends_every_session_of_the_user_and_only_theirs() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        app.set_password("alice", "correct horse").await;
        app.set_password("bob", "battery staple").await;
        let older = login(&app, "alice", "correct horse").await.unwrap();
        let current = login(&app, "alice", "correct horse").await.unwrap();
        let bobs = login(&app, "bob", "battery staple").await.unwrap();
        for jwt in [&older, &current, &bobs] {
            assert_eq!(status_of(&app, jwt).await, 200);
        }

        let res = app
            .post("/api/authn/logout", Some(&current))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        // The JWT it was called with and the older one are both cut off.
        for jwt in [&current, &older] {
            assert_eq!(status_of(&app, jwt).await, 401);
            let res = app
                .get("/api/system/processes/search/own", Some(jwt))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 401);
        }
        // Bob's session and alice's API token are not sessions of hers.
        assert_eq!(status_of(&app, &bobs).await, 200);
        assert_eq!(status_of(&app, &app.alice).await, 200);

        // Logging out again, or anonymously, has nothing left to end.
        for token in [Some(current.as_str()), None] {
            let res = app.post("/api/authn/logout", token).send().await.unwrap();
            assert_eq!(res.status(), 204);
        }
        assert_eq!(status_of(&app, &bobs).await, 200);

        // A fresh login works.
        let fresh = login(&app, "alice", "correct horse").await.unwrap();
        let status: Value = app
            .get("/api/authn/status", Some(&fresh))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(status["_embedded"]["eperson"]["name"], "alice");
    }
}

#[actix_web::test]
async fn a_new_password_ends_sessions_begun_with_the_old_one() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        app.set_password("alice", "old password").await;
        let jwt = login(&app, "alice", "old password").await.unwrap();
        assert_eq!(status_of(&app, &jwt).await, 200);

        app.set_password("alice", "new password").await;
        assert_eq!(status_of(&app, &jwt).await, 401);
        assert_eq!(login(&app, "alice", "old password").await, Err(401));
        let fresh = login(&app, "alice", "new password").await.unwrap();
        assert_eq!(status_of(&app, &fresh).await, 200);
    }
}

#[actix_web::test]
async fn expired_and_revoked_tokens_are_refused_and_demoted_admins_lose_admin_calls() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let store = app.app.store.clone();
        let (expired, lasting, listed) = tokio::task::spawn_blocking(move || {
            let now = time::OffsetDateTime::now_utc();
            let alice = store.user_by_name("alice").unwrap().unwrap();
            let expired = store
                .create_token(alice.id, now, Some(now - time::Duration::seconds(1)))
                .unwrap();
            let lasting = store
                .create_token(alice.id, now, Some(now + time::Duration::hours(1)))
                .unwrap();
            (
                expired,
                lasting,
                store.list_tokens("alice").unwrap().unwrap(),
            )
        })
        .await
        .unwrap();
        assert_eq!(listed.len(), 3, "{listed:?}");

        let res = app
            .get("/api/system/processes/search/own", Some(&expired))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "like an unknown token");
        assert!(res.headers().contains_key("www-authenticate"));
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "unauthorized", "{body}");
        assert_eq!(status_of(&app, &lasting).await, 200);
        assert_eq!(status_of(&app, &app.alice).await, 200);

        // Revoking the first token (the one the harness issued) cuts it off, and only it.
        let store = app.app.store.clone();
        let first = listed[0].id;
        let revoked =
            tokio::task::spawn_blocking(move || store.revoke_token("alice", first).unwrap())
                .await
                .unwrap();
        assert!(revoked);
        assert_eq!(status_of(&app, &app.alice).await, 401);
        assert_eq!(status_of(&app, &lasting).await, 200);

        // An admin demoted keeps the account but loses admin-only calls.
        let by_property = "/api/system/processes/search/byProperty";
        let res = app.get(by_property, Some(&app.admin)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let store = app.app.store.clone();
        tokio::task::spawn_blocking(move || {
            let change = process_store::UserChange {
                admin: Some(false),
                ..Default::default()
            };
            store.update_user("admin", &change).unwrap().unwrap()
        })
        .await
        .unwrap();
        let res = app.get(by_property, Some(&app.admin)).send().await.unwrap();
        assert_eq!(res.status(), 403);
        assert_eq!(status_of(&app, &app.admin).await, 200);
    }
}

/// `POST /api/authn/login` with only a Bearer header, as the DSpace UI refreshes: the JWT
/// or the status when refused.
async fn refresh(
    app: &TestApp,
    token: Option<&str>,
    form_type: bool,
) -> Result<String, (u16, Value)> {
    let mut req = app.post("/api/authn/login", token);
    if form_type {
        req = req.header("Content-Type", "application/x-www-form-urlencoded");
    }
    let res = req.send().await.unwrap();
    if res.status() != 200 {
        let status = res.status().as_u16();
        return Err((status, res.json().await.unwrap_or(Value::Null)));
    }
    let header = res.headers()["authorization"].to_str().unwrap();
    Ok(header.strip_prefix("Bearer ").unwrap().to_owned())
}

#[actix_web::test]
async fn the_ui_refreshes_its_jwt_and_logout_ends_the_refreshed_one_too() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        app.set_password("alice", "correct horse").await;
        let first = login(&app, "alice", "correct horse").await.unwrap();
        // With and without a form content type, as clients send an empty body.
        let second = refresh(&app, Some(&first), true).await.unwrap();
        let third = refresh(&app, Some(&second), false).await.unwrap();
        for jwt in [&first, &second, &third] {
            let status: Value = app
                .get("/api/authn/status", Some(jwt))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(status["_embedded"]["eperson"]["name"], "alice");
            assert_eq!(status["authenticationMethod"], "password");
        }

        // An API token is no session, and no token is no session either: 400, said why.
        let (status, body) = refresh(&app, Some(&app.alice), true).await.unwrap_err();
        assert_eq!(status, 400, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("API token"),
            "{body}"
        );
        let (status, body) = refresh(&app, None, true).await.unwrap_err();
        assert_eq!(status, 400, "{body}");
        // A bad one is a 401.
        let (status, _) = refresh(&app, Some("garbage"), false).await.unwrap_err();
        assert_eq!(status, 401);

        // Logout with the latest ends all three, and they refresh no more.
        let res = app
            .post("/api/authn/logout", Some(&third))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        for jwt in [&first, &second, &third] {
            assert_eq!(status_of(&app, jwt).await, 401);
            let (status, _) = refresh(&app, Some(jwt), false).await.unwrap_err();
            assert_eq!(status, 401);
        }
        // A password login with a stale Bearer header is a login.
        let res = app
            .post("/api/authn/login", Some(&first))
            .form(&[("user", "alice"), ("password", "correct horse")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
}
