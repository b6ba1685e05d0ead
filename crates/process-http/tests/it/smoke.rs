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
