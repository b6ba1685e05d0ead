//! The real binary on PostgreSQL over TLS (`sslmode=require`): the PostgreSQL client and its
//! OpenSSL are built into processd, and every session the server sees from it is encrypted.

use std::process::Command;
use std::time::Duration;

use process_client::{Launch, Status};
use process_store::testing::TestDatabase;

use crate::cli::{processd, run, text};
use crate::faults::wait_exit;
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
    // Launched and followed as any client does, through process-client.
    let client = process_client::Client::new(server.base());
    let launched = client
        .launch("echo", &Launch::new().param("-s", "over TLS"))
        .await
        .unwrap_or_else(|e| panic!("{e}: {}", server.log()));
    let done = client.wait(&launched).await.unwrap();
    assert_eq!(done.process_status, Status::Completed, "{}", server.log());
    let output = client.output(&done).await.unwrap();
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
    let exit = wait_exit(&mut server.child, Duration::from_secs(20));
    assert!(
        exit.success(),
        "processd exited with {exit}: {}",
        server.log()
    );
}
