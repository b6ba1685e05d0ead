use serde_json::json;

use crate::helpers::{spawn_app, BACKENDS};

#[actix_web::test]
async fn a_launched_script_runs_to_completion() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let id = app
            .launch_ok(
                "echo",
                None,
                json!([{"name": "-s", "value": "hi there"}, {"name": "-b"}]),
            )
            .await;
        let p = app.wait_done(&id, None).await;
        assert_eq!(p["processStatus"], "COMPLETED", "{backend:?}: {p}");
        assert_eq!(p["exitCode"], 0);
        assert_eq!(app.output(&id, None).await, "-s\nhi there\n-b\n");
    }
}

#[actix_web::test]
async fn only_admins_end_or_remove_anonymous_processes() {
    let Some(app) = spawn_app(crate::helpers::Backend::Sqlite).await else {
        return;
    };
    let id = app.launch_ok("echo", None, json!([])).await;
    app.wait_done(&id, None).await;
    let path = format!("/api/system/processes/{id}");
    // Its capability lets a caller see it, not end or remove it.
    let access = app.capability(&id).unwrap();
    for (token, status) in [(None, 401), (Some(app.bob.as_str()), 403)] {
        let res = app.delete(&path, token).header("X-Process-Access", &access);
        assert_eq!(res.send().await.unwrap().status(), status);
        let res = app.post(&format!("{path}/stop"), token);
        let res = res
            .header("X-Process-Access", &access)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status);
    }
    // Whoever holds the capability may still read it; an admin may delete it.
    let res = app
        .get(&path, Some(&app.bob))
        .header("X-Process-Access", &access);
    let body: serde_json::Value = res.send().await.unwrap().json().await.unwrap();
    assert_eq!(body["processId"], id.as_str());
    let res = app.delete(&path, Some(&app.admin)).send().await.unwrap();
    assert_eq!(res.status(), 204);
}

#[actix_web::test]
async fn a_parameter_filter_matches_the_short_and_the_long_name() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let t = Some(app.alice.as_str());
        for name in ["-f", "--file"] {
            let res = app
                .launch(
                    "cat",
                    t,
                    json!([{"name": name, "value": "in.txt"}]),
                    vec![("in.txt", b"x".to_vec())],
                )
                .await;
            assert_eq!(res.status(), 202);
        }
        for filter in ["parameter.-f=in.txt", "parameter.--file=in.txt"] {
            let page: serde_json::Value = app
                .get(&format!("/api/system/processes?{filter}"), t)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(page["page"]["totalElements"], 2, "{filter}: {page}");
        }
        let page: serde_json::Value = app
            .get("/api/system/processes?parameter.-f=other.txt", t)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(page["page"]["totalElements"], 0);
    }
}
