//! How another Rust service's integration tests can use processd: start it in-process on a
//! free port with the scripts the test needs, launch one, wait for its outcome, read its
//! output. Run with `cargo run -p process-http --example harness`.

use process_client::{Client, Launch, Status};
use process_http::{Application, Config};

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // Port 0: the system picks a free port; `local_addr` says which.
    let config = Config::parse(
        r#"
bind = "127.0.0.1:0"
data_dir = "data"

[[script]]
name = "greet"
command = ["/bin/echo", "hello"]
allowed = ["anonymous"]
[[script.parameter]]
name = "--name"
type = "string"
"#,
        dir.path(),
        &[],
    )?;
    let app = Application::build(config).await?;
    let client = Client::new(format!("http://{}", app.local_addr()));
    actix_web::rt::spawn(app.run());

    let process = client
        .launch("greet", &Launch::new().param("--name", "world"))
        .await?;
    // An anonymous launch answers a capability; the client sends it with every later call
    // about this process.
    let done = client.wait(&process).await?;
    assert_eq!(done.process_status, Status::Completed);
    print!("{}", client.output(&done).await?);
    Ok(())
}
