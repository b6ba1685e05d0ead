//! The real binary on PostgreSQL over TLS (`sslmode=require`): the PostgreSQL client and its
//! OpenSSL are built into processd, and every session the server sees from it is encrypted.

use std::process::Command;
use std::time::Duration;

use process_store::testing::TestDatabase;
use serde_json::{json, Value};

use crate::cli::{processd, run, text};
use crate::helpers::{fixture, ServeProcess};

#[actix_web::test]
async fn processd_runs_a_script_on_postgresql_over_tls_and_exits_cleanly() {
    let Some(db) = TestDatabase::postgres_tls() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("processd.toml");
    std::fs::write(
        &config,
        format!(
            r#"
bind = "127.0.0.1:0"
data_dir = "data"
database_url = "{url}"

[[script]]
name = "echo"
command = ["{echo}"]
allowed = ["anonymous"]
[[script.parameter]]
name = "-s"
type = "string"
"#,
            url = db.url,
            echo = fixture("echo_args.sh"),
        ),
    )
    .unwrap();

    // A short-lived command connects, migrates and exits without a fault.
    let out = run(processd(dir.path())
        .arg("migrate")
        .arg("--config")
        .arg(&config));
    assert!(out.status.success(), "migrate: {}", text(&out.stderr));

    let mut cmd: Command = processd(dir.path());
    cmd.env_remove("RUST_LOG")
        .args(["serve", "--config"])
        .arg(&config);
    let mut server = ServeProcess::start(cmd);
    let base = server.base();
    let client = reqwest::Client::new();
    let form = reqwest::multipart::Form::new().text(
        "properties",
        json!([{"name": "-s", "value": "over TLS"}]).to_string(),
    );
    let res = client
        .post(format!("{base}/api/system/scripts/echo/processes"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202, "{}", server.log());
    let launched: Value = res.json().await.unwrap();
    let url = format!(
        "{base}/api/system/processes/{}",
        launched["processId"].as_str().unwrap()
    );
    let access = launched["accessToken"].as_str().unwrap();
    let mut status = Value::Null;
    for _ in 0..600 {
        let p: Value = client
            .get(&url)
            .header("X-Process-Access", access)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        status = p["processStatus"].clone();
        if status == "COMPLETED" || status == "FAILED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "COMPLETED", "{}", server.log());
    let output = client
        .get(format!("{url}/output"))
        .header("X-Process-Access", access)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(output, "-s\nover TLS\n");

    // The server's own view: processd is connected, and only over TLS.
    let (total, tls) = db.postgres_sessions();
    assert!(total >= 1, "processd holds no session");
    assert_eq!(tls, total, "{total} sessions, {tls} of them over TLS");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(server.child.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "processd did not exit"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        exit.success(),
        "processd exited with {exit}: {}",
        server.log()
    );
}
