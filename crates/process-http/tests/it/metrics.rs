//! `/metrics` speaks Prometheus text and counts what happened.

use serde_json::json;

use crate::helpers::{spawn_app, BACKENDS};

fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no series {series} in\n{text}"))
}

#[actix_web::test]
async fn metrics_count_processes_launches_lines_and_requests() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let t = Some(app.alice.as_str());
        let ok = app
            .launch_ok("lines", t, json!([{"name": "-c", "value": "50"}]))
            .await;
        let bad = app
            .launch_ok("exit", t, json!([{"name": "-c", "value": "1"}]))
            .await;
        app.wait_done(&ok, t).await;
        app.wait_done(&bad, t).await;
        let res = app.get("/metrics", None).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        let text = res.text().await.unwrap();
        assert_eq!(
            value(&text, "processd_processes{status=\"COMPLETED\"}"),
            1.0
        );
        assert_eq!(value(&text, "processd_processes{status=\"FAILED\"}"), 1.0);
        assert_eq!(value(&text, "processd_processes{status=\"RUNNING\"}"), 0.0);
        assert_eq!(value(&text, "processd_launches_total"), 2.0);
        // Lines the scripts wrote: 50, plus the exit script's two (processd's own closing note
        // is not captured output).
        assert_eq!(value(&text, "processd_output_lines_total"), 52.0);
        let launches = "processd_http_request_duration_seconds_count{method=\"POST\",route=\"/api/system/scripts/{name}/processes\",status=\"202\"}";
        assert_eq!(value(&text, launches), 2.0);
        assert!(text.contains("# TYPE processd_http_request_duration_seconds histogram"));
    }
}
