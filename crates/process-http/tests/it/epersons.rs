//! The authentication status as the DSpace UI reads it (`authenticationMethod`,
//! `_links.eperson`, the embedded eperson) and `GET /api/eperson/epersons/{uuid}`.

use serde_json::Value;

use crate::helpers::{spawn_app, BACKENDS};

#[actix_web::test]
async fn the_status_links_and_embeds_the_callers_eperson() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let store = app.app.store.clone();
        tokio::task::spawn_blocking(move || {
            let change = process_store::ProfileChange {
                email: Some("alice@example.org".into()),
                first_name: Some("Alice".into()),
                last_name: None,
            };
            assert!(store.set_profile("alice", &change).unwrap());
        })
        .await
        .unwrap();

        let (status, body) = app.get_json("/api/authn/status", Some(&app.alice)).await;
        assert_eq!(status, 200);
        assert_eq!(body["authenticated"], true);
        assert_eq!(body["authenticationMethod"], "token");
        let eperson = &body["_embedded"]["eperson"];
        let id = eperson["id"].as_str().unwrap().to_owned();
        let href = format!("/api/eperson/epersons/{id}");
        assert!(
            body["_links"]["eperson"]["href"]
                .as_str()
                .unwrap()
                .ends_with(&href),
            "{body}"
        );
        assert_eq!(eperson["_links"]["self"], body["_links"]["eperson"]);
        assert_eq!(eperson["name"], "alice");
        assert_eq!(eperson["email"], "alice@example.org");
        assert_eq!(eperson["netid"], Value::Null);
        assert_eq!(
            eperson["metadata"]["eperson.firstname"][0]["value"],
            "Alice"
        );
        assert!(
            eperson["metadata"].get("eperson.lastname").is_none(),
            "{eperson}"
        );
        assert_eq!(eperson["groups"], serde_json::json!(["lab"]));
        assert_eq!(eperson["canLogIn"], false, "no password yet");
        assert_eq!(eperson["type"], "eperson");

        // The eperson resource is the same, for itself and for admins.
        let (status, own) = app.get_json(&href, Some(&app.alice)).await;
        assert_eq!(status, 200);
        assert_eq!(&own, eperson);
        let (status, seen) = app.get_json(&href, Some(&app.admin)).await;
        assert_eq!(status, 200);
        assert_eq!(&seen, eperson);

        // To anyone else it answers like a missing user, as processes do.
        let (status, body) = app.get_json(&href, Some(&app.bob)).await;
        assert_eq!(status, 404, "{body}");
        let (status, _) = app.get_json(&href, None).await;
        assert_eq!(status, 401);
        for missing in [
            "/api/eperson/epersons/00000000-0000-0000-0000-000000000000",
            "/api/eperson/epersons/not-a-uuid",
        ] {
            let (status, body) = app.get_json(missing, Some(&app.admin)).await;
            assert_eq!(status, 404, "{missing}: {body}");
            assert_eq!(body["code"], "not_found");
        }

        // Anonymous: no method, no eperson link.
        let (_, body) = app.get_json("/api/authn/status", None).await;
        assert_eq!(body["authenticated"], false);
        assert!(body.get("authenticationMethod").is_none(), "{body}");
        assert!(body["_links"].get("eperson").is_none(), "{body}");
        assert!(body["_links"]["self"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/api/authn/status"));
    }
}
