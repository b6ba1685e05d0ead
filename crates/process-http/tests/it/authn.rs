//! DSpace-style login: password → JWT in the Authorization header, used like an API token.

use serde_json::Value;

use crate::helpers::{spawn_app, BACKENDS};

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
