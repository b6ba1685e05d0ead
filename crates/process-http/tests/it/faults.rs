//! Faults on the real binary: `kill -9` of processd with processes running, SIGTERM, and a
//! restart. Nothing may stay RUNNING, no OS process of a run may survive, and no line
//! captured before the crash may be lost.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{fixture, ServeProcess};

/// A running processd and its base URL (a new port at each start).
struct Server {
    process: ServeProcess,
    base: String,
}

struct Node {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Node {
    fn new(extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("processd.toml");
        let text = format!(
            r#"
bind = "127.0.0.1:0"
data_dir = "{data}"
max_concurrent = 8
kill_grace = "1s"
{extra}

[[script]]
name = "ticker"
command = ["{ticker}"]
allowed = ["anonymous"]

[[script]]
name = "sleeper"
command = ["{sleep}", "-t", "300"]
allowed = ["anonymous"]

[[script]]
name = "writer"
command = ["{writer}"]
allowed = ["anonymous"]
"#,
            data = dir.path().join("data").display(),
            ticker = fixture("ticker.sh"),
            sleep = fixture("sleep.sh"),
            writer = fixture("file_writer.sh"),
        );
        std::fs::write(&config, text).unwrap();
        Self { dir, config }
    }

    /// Starts processd and checks that it answers.
    async fn start(&self) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_processd"));
        cmd.args(["serve", "--config"])
            .arg(&self.config)
            .current_dir(self.dir.path());
        let process = ServeProcess::start(cmd);
        let base = process.base();
        let res = reqwest::get(format!("{base}/healthz"))
            .await
            .unwrap_or_else(|e| panic!("healthz: {e}: {}", process.log()));
        assert_eq!(
            res.status(),
            200,
            "processd is not healthy: {}",
            process.log()
        );
        Server { process, base }
    }
}

/// An anonymous process: its id and the capability its launch answered with.
struct Launched {
    id: String,
    access: String,
}

async fn launch(base: &str, script: &str) -> Launched {
    let form = reqwest::multipart::Form::new().text("properties", "[]");
    let res = reqwest::Client::new()
        .post(format!("{base}/api/system/scripts/{script}/processes"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    Launched {
        id: body["processId"].as_str().unwrap().to_owned(),
        access: body["accessToken"].as_str().unwrap().to_owned(),
    }
}

/// `GET .../processes/{id}{rest}` as its anonymous launcher.
async fn get(base: &str, p: &Launched, rest: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{base}/api/system/processes/{}{rest}", p.id))
        .header("X-Process-Access", &p.access)
        .send()
        .await
        .unwrap()
}

async fn process(base: &str, p: &Launched) -> Value {
    get(base, p, "").await.json().await.unwrap()
}

async fn output_lines(base: &str, p: &Launched) -> Vec<String> {
    let text = get(base, p, "/output").await.text().await.unwrap();
    text.lines().map(str::to_owned).collect()
}

/// The pid recorded in `executorJobId` (`local:<pid>:<start time>:<boot id>`).
fn pid_of(p: &Value) -> i32 {
    p["executorJobId"]
        .as_str()
        .unwrap()
        .split(':')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

/// Is any process of the group `pgid` alive?
fn group_alive(pgid: i32) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            return false;
        };
        // Zombies (state Z) are dead; they only wait for whoever adopted them to reap them.
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .is_some_and(|s| {
                let fields: Vec<&str> = s[s.rfind(')').unwrap() + 1..].split_whitespace().collect();
                fields[0] != "Z" && fields[2].parse::<i32>().ok() == Some(pgid)
            })
    })
}

async fn wait_until(mut f: impl AsyncFnMut() -> bool, what: &str) {
    for _ in 0..600 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

fn count_ticks(lines: &[String]) -> usize {
    lines.iter().filter(|l| l.starts_with("tick ")).count()
}

#[actix_web::test]
async fn kill_9_then_restart_resolves_every_running_process() {
    let node = Node::new("");
    let mut server = node.start().await;
    let base = server.base.clone();
    let ids = [
        launch(&base, "ticker").await,
        launch(&base, "sleeper").await,
        launch(&base, "writer").await,
    ];
    for id in &ids {
        wait_until(
            async || process(&base, id).await["processStatus"] == "RUNNING",
            "RUNNING",
        )
        .await;
    }
    // Some ticks stored, and the job ids known.
    wait_until(
        async || count_ticks(&output_lines(&base, &ids[0]).await) >= 20,
        "ticks",
    )
    .await;
    wait_until(
        async || process(&base, &ids[2]).await["executorJobId"].is_string(),
        "job id",
    )
    .await;
    let pids: Vec<i32> = {
        let mut v = Vec::new();
        for id in &ids {
            v.push(pid_of(&process(&base, id).await));
        }
        v
    };
    let ticks_before = count_ticks(&output_lines(&base, &ids[0]).await);

    server.process.child.kill().unwrap(); // SIGKILL
    server.process.child.wait().unwrap();
    // The sleeper and the writer are re-parented and keep running unobserved.
    assert!(
        group_alive(pids[1]) && group_alive(pids[2]),
        "orphans expected before restart"
    );

    let server = node.start().await;
    let base = server.base.clone();
    for id in &ids {
        let p = process(&base, id).await;
        assert_eq!(p["processStatus"], "FAILED", "{p}");
        assert_eq!(p["statusReason"], "interrupted", "{p}");
        let lines = output_lines(&base, id).await;
        assert!(lines.last().unwrap().contains("interrupted"), "{lines:?}");
    }
    for pgid in &pids {
        assert!(
            !group_alive(*pgid),
            "process group {pgid} survived the restart"
        );
    }
    assert!(count_ticks(&output_lines(&base, &ids[0]).await) >= ticks_before);
    // The ticks are in order and without gaps up to where capture stopped.
    let ticks: Vec<String> = output_lines(&base, &ids[0])
        .await
        .into_iter()
        .filter(|l| l.starts_with("tick "))
        .collect();
    for (i, t) in ticks.iter().enumerate() {
        assert_eq!(t, &format!("tick {}", i + 1));
    }
    // New work still runs after the restart.
    let again = launch(&base, "ticker").await;
    wait_until(
        async || process(&base, &again).await["processStatus"] == "RUNNING",
        "restart runs work",
    )
    .await;
}

#[actix_web::test]
async fn sigterm_interrupts_running_processes_and_exits_cleanly() {
    let node = Node::new(r#"shutdown_grace = "1s""#);
    let mut server = node.start().await;
    let base = server.base.clone();
    let ticker = launch(&base, "ticker").await;
    let sleeper = launch(&base, "sleeper").await;
    for id in [&ticker, &sleeper] {
        wait_until(
            async || process(&base, id).await["processStatus"] == "RUNNING",
            "RUNNING",
        )
        .await;
    }
    wait_until(
        async || process(&base, &sleeper).await["executorJobId"].is_string(),
        "job id",
    )
    .await;
    let sleeper_pid = pid_of(&process(&base, &sleeper).await);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(server.process.child.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = wait_exit(&mut server.process.child, Duration::from_secs(20));
    assert!(status.success(), "processd exited with {status}");
    assert!(!group_alive(sleeper_pid));

    // Read the outcome through a fresh start: nothing is left to recover.
    let server = node.start().await;
    for id in [&ticker, &sleeper] {
        let p = process(&server.base, id).await;
        assert_eq!(p["processStatus"], "FAILED");
        assert_eq!(p["statusReason"], "interrupted");
        let lines = output_lines(&server.base, id).await;
        assert!(lines.last().unwrap().contains("shut down"), "{lines:?}");
    }
}

pub fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "processd did not exit"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
