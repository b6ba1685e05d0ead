//! The shipped example configuration works both ways a new user meets it: as the embedded
//! default (`processd serve`) and as a file (`processd serve --config examples/processd.toml`),
//! run from a folder that is not the repository. Both run the row-count example script.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::cli::{processd, run, text, wait_healthy};
use crate::helpers::ServeProcess;

fn example_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/processd.toml")
}

/// `processd ARGS` in `cwd`, on a port of its own (the example binds 8080).
fn command(cwd: &Path, config: Option<&Path>, args: &[&str]) -> std::process::Command {
    let mut cmd = processd(cwd);
    cmd.env("PROCESSD_BIND", "127.0.0.1:0").args(args);
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    cmd
}

/// Starts processd with `config` (or the embedded default) in a fresh folder, adds a user and
/// counts the rows of a CSV with the row-count example.
async fn row_count_runs(config: Option<&Path>) {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&mut command(dir.path(), config, &["user", "add", "carol"]));
    assert!(out.status.success(), "user add: {}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_owned();
    let mut serve = command(dir.path(), config, &["serve"]);
    serve.env("RUST_LOG", "warn,processd=info");
    let mut server = ServeProcess::start(serve);
    let client = reqwest::Client::new();
    wait_healthy(&client, &mut server).await;
    let base = server.base();

    let form = reqwest::multipart::Form::new()
        .text(
            "properties",
            json!([{"name": "-f", "value": "data.csv"}, {"name": "-H", "value": "true"}])
                .to_string(),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"id,name\n1,a\n2,b\n3,c\n".to_vec())
                .file_name("data.csv"),
        );
    let res = client
        .post(format!("{base}/api/system/scripts/row-count/processes"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202, "{}", server.log());
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let mut done = Value::Null;
    for _ in 0..600 {
        done = client
            .get(&location)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if matches!(done["processStatus"].as_str(), Some("COMPLETED" | "FAILED")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let output = client
        .get(format!("{location}/output"))
        .bearer_auth(&token)
        .header("Accept", "text/plain")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(done["processStatus"], "COMPLETED", "{done}\n{output}");
    assert!(output.contains("3 rows"), "{output}");
}

#[actix_web::test]
async fn the_example_config_file_runs_its_scripts() {
    row_count_runs(Some(&example_config())).await;
}

#[actix_web::test]
async fn the_embedded_default_runs_the_same_scripts() {
    row_count_runs(None).await;
}
