//! The test harness: a real processd app, in-process on a random port, over a fresh SQLite
//! file or a fresh PostgreSQL database, with the fixture scripts of `tests/fixtures`; and the
//! real binary, started on port 0, for the tests that need a process of its own.

use std::fmt;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use process_http::{Application, Config};
use process_store::testing::TestDatabase;
use serde_json::Value;

pub fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name);
    path.canonicalize()
        .unwrap_or_else(|e| panic!("fixture {name}: {e}"))
        .display()
        .to_string()
}

/// The scripts every test app has. `extra_top` holds top-level keys; they replace the
/// defaults (`max_concurrent = 4`, `kill_grace = "1s"`).
pub fn test_config(extra_top: &str) -> String {
    format!(
        r#"
bind = "127.0.0.1:0"
{defaults}
{extra_top}

[[script]]
name = "echo"
description = "prints its arguments"
command = ["{echo}"]
allowed = ["anonymous"]
[[script.parameter]]
name = "-s"
long = "--string"
type = "string"
[[script.parameter]]
name = "-n"
type = "integer"
[[script.parameter]]
name = "-b"
type = "boolean"
[[script.parameter]]
name = "-d"
type = "date"

[[script]]
name = "env"
command = ["{env}"]
allowed = ["authenticated"]
env = {{ CUSTOM_VAR = "custom" }}

[[script]]
name = "lines"
command = ["{lines}"]
allowed = ["authenticated"]
[[script.parameter]]
name = "-c"
type = "integer"
mandatory = true

[[script]]
name = "sleep"
command = ["{sleep}"]
allowed = ["authenticated"]
[[script.parameter]]
name = "-t"
type = "integer"

[[script]]
name = "timeout"
command = ["{sleep}", "-t", "30"]
allowed = ["authenticated"]
max_clock_time = "1s"

[[script]]
name = "outputs"
command = ["{outputs}"]
allowed = ["authenticated"]
[[script.parameter]]
name = "-z"
type = "integer"

[[script]]
name = "exit"
command = ["{exit}"]
allowed = ["authenticated"]
[[script.parameter]]
name = "-c"
type = "integer"
mandatory = true

[[script]]
name = "killself"
command = ["{killself}"]
allowed = ["authenticated"]

[[script]]
name = "cat"
command = ["{cat}"]
allowed = ["authenticated"]
[[script.parameter]]
name = "-f"
long = "--file"
type = "file"
mandatory = true

[[script]]
name = "admin-only"
command = ["{echo}"]
allowed = ["admin"]

[[script]]
name = "lab-only"
command = ["{echo}"]
allowed = ["lab"]

[[script]]
name = "missing"
command = ["/nonexistent/processd-test-binary"]
allowed = ["authenticated"]
"#,
        defaults = [
            ("max_concurrent", "max_concurrent = 4"),
            ("kill_grace", "kill_grace = \"1s\"")
        ]
        .iter()
        .filter(|(key, _)| !extra_top.contains(key))
        .map(|(_, line)| *line)
        .collect::<Vec<_>>()
        .join("\n"),
        echo = fixture("echo_args.sh"),
        env = fixture("print_env.sh"),
        lines = fixture("lines.sh"),
        sleep = fixture("sleep.sh"),
        outputs = fixture("outputs.sh"),
        exit = fixture("exit_code.sh"),
        killself = fixture("kill_self.sh"),
        cat = fixture("cat_file.sh"),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub app: actix_web::web::Data<process_http::state::AppState>,
    pub admin: String,
    pub alice: String,
    pub bob: String,
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    /// The capabilities anonymous `launch_ok`s were answered with, by process id.
    capabilities: Mutex<std::collections::HashMap<String, String>>,
    _db: TestDatabase,
}

impl TestApp {
    /// The URL of `path`; an absolute URL (a link the service gave) is taken as it is, as a
    /// client follows links literally.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    /// GET `path` as `token`: the status and the JSON body (`Null` when it is not JSON).
    pub async fn get_json(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let res = self.get(path, token).send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Gives `name` the password `password` (as `processd user set --password-stdin` does).
    pub async fn set_password(&self, name: &'static str, password: &'static str) {
        let store = self.app.store.clone();
        tokio::task::spawn_blocking(move || {
            let hash = process_http::service::authn::hash_password(password).unwrap();
            assert!(store.set_password_hash(name, &hash).unwrap());
        })
        .await
        .unwrap();
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        auth(self.client.get(self.url(path)), token)
    }

    pub fn post(&self, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        auth(self.client.post(self.url(path)), token)
    }

    pub fn delete(&self, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        auth(self.client.delete(self.url(path)), token)
    }

    /// Launches `script` with `properties` (JSON array) and files `(name, bytes)`; returns
    /// the response.
    pub async fn launch(
        &self,
        script: &str,
        token: Option<&str>,
        properties: Value,
        files: Vec<(&str, Vec<u8>)>,
    ) -> reqwest::Response {
        let mut form = reqwest::multipart::Form::new().text("properties", properties.to_string());
        for (name, bytes) in files {
            form = form.part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
            );
        }
        self.post(&format!("/api/system/scripts/{script}/processes"), token)
            .multipart(form)
            .send()
            .await
            .expect("launch request")
    }

    /// The capability an anonymous `launch_ok` of process `id` was answered with.
    pub fn capability(&self, id: &str) -> Option<String> {
        self.capabilities.lock().unwrap().get(id).cloned()
    }

    /// A request as the launcher of `id` makes it: with the token, or, for a process this
    /// app launched anonymously, presenting its capability in the `X-Process-Access` header.
    pub fn as_launcher(
        &self,
        req: reqwest::RequestBuilder,
        id: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        match (token, self.capability(id)) {
            (None, Some(c)) => req.header("X-Process-Access", c),
            _ => auth(req, token),
        }
    }

    /// Launches and asserts 202; returns the process id. Anonymous launches keep the
    /// capability they were answered with: `process`, `output` and the waits present it when
    /// called without a token, as the launcher would.
    pub async fn launch_ok(&self, script: &str, token: Option<&str>, properties: Value) -> String {
        let res = self.launch(script, token, properties, vec![]).await;
        assert_eq!(
            res.status(),
            202,
            "{}",
            res.text().await.unwrap_or_default()
        );
        let body: Value = res.json().await.expect("json");
        self.remember(&body)
    }

    /// Keeps the capability of an anonymous launch's answer `body` for the helpers that act
    /// as its launcher; returns the process id.
    pub fn remember(&self, body: &Value) -> String {
        let id = body["processId"].as_str().expect("processId").to_owned();
        if let Some(c) = body["accessToken"].as_str() {
            self.capabilities
                .lock()
                .unwrap()
                .insert(id.clone(), c.to_owned());
        }
        id
    }

    pub async fn process(&self, id: &str, token: Option<&str>) -> Value {
        let url = self.url(&format!("/api/system/processes/{id}"));
        let res = self
            .as_launcher(self.client.get(url), id, token)
            .send()
            .await
            .expect("get");
        assert_eq!(res.status(), 200);
        res.json().await.expect("json")
    }

    /// Polls a process until `done` holds for it (at most 60 s) and returns it.
    async fn wait_for(
        &self,
        id: &str,
        token: Option<&str>,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        for _ in 0..1200 {
            let p = self.process(id, token).await;
            if done(&p) {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{}: process {id} did not {what}", self.backend);
    }

    /// Polls a process until it is COMPLETED or FAILED and returns it.
    pub async fn wait_done(&self, id: &str, token: Option<&str>) -> Value {
        self.wait_for(id, token, "finish", |p| {
            matches!(p["processStatus"].as_str(), Some("COMPLETED" | "FAILED"))
        })
        .await
    }

    /// Polls until the process is RUNNING.
    pub async fn wait_running(&self, id: &str, token: Option<&str>) -> Value {
        self.wait_for(id, token, "start", |p| p["processStatus"] == "RUNNING")
            .await
    }

    pub async fn output(&self, id: &str, token: Option<&str>) -> String {
        let url = self.url(&format!("/api/system/processes/{id}/output"));
        let res = self
            .as_launcher(self.client.get(url), id, token)
            .send()
            .await
            .expect("output");
        assert_eq!(res.status(), 200);
        res.text().await.expect("text")
    }
}

/// Tests run their body once per backend, each with its own `TestApp`: one that fails while
/// its app is alive says which backend it was running on, right under the panic message.
impl Drop for TestApp {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "note: the failure above happened on the {} backend",
                self.backend
            );
        }
    }
}

fn auth(req: reqwest::RequestBuilder, token: Option<&str>) -> reqwest::RequestBuilder {
    match token {
        Some(t) => req.bearer_auth(t),
        None => req,
    }
}

/// Starts an app on `backend` with the test scripts (plus `extra_top` config lines), and
/// three users: an admin, alice (group lab) and bob. `None` when the backend is unavailable.
pub async fn spawn_app_with(backend: Backend, extra_top: &str) -> Option<TestApp> {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    spawn(backend, dir, data_dir, extra_top).await
}

/// Like `spawn_app_with`, with the data directory (and the SQLite file) at `data_dir`.
pub async fn spawn_app_in(
    backend: Backend,
    data_dir: &std::path::Path,
    extra_top: &str,
) -> Option<TestApp> {
    let dir = tempfile::tempdir().expect("tempdir");
    spawn(backend, dir, data_dir.to_owned(), extra_top).await
}

async fn spawn(
    backend: Backend,
    dir: tempfile::TempDir,
    data_dir: PathBuf,
    extra_top: &str,
) -> Option<TestApp> {
    std::fs::create_dir_all(&data_dir).expect("data dir");
    let db = match backend {
        Backend::Sqlite => TestDatabase::sqlite(&data_dir),
        Backend::Postgres => TestDatabase::postgres()?,
    };
    let text = format!(
        "data_dir = \"{}\"\ndatabase_url = \"{}\"\n{}",
        data_dir.display(),
        db.url,
        test_config(extra_top)
    );
    // Failures before the app exists name the backend themselves.
    let mut config = Config::parse(&text, dir.path(), &[])
        .unwrap_or_else(|e| panic!("{backend}: test config: {e}"));
    // Runs are launched as the binary launches them: through the confining launcher.
    config.contain.launcher = Some(env!("CARGO_BIN_EXE_processd-launch").into());
    let app = Application::build(config)
        .await
        .unwrap_or_else(|e| panic!("{backend}: build app: {e:#}"));
    let port = app.port();
    let state = app.state();
    actix_web::rt::spawn(app.run());
    let store = state.store.clone();
    let (admin, alice, bob) = tokio::task::spawn_blocking(move || {
        let now = time::OffsetDateTime::now_utc();
        let mut tokens = Vec::new();
        for (name, admin, groups) in [
            ("admin", true, vec![]),
            ("alice", false, vec!["lab".to_owned()]),
            ("bob", false, vec![]),
        ] {
            let user = store
                .upsert_user(name, admin, &groups, now)
                .unwrap_or_else(|e| panic!("{backend}: user {name}: {e}"));
            let token = store.create_token(user.id, now, None);
            tokens.push(token.unwrap_or_else(|e| panic!("{backend}: token: {e}")));
        }
        (tokens[0].clone(), tokens[1].clone(), tokens[2].clone())
    })
    .await
    .unwrap_or_else(|e| panic!("{backend}: users: {e}"));
    Some(TestApp {
        base: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::new(),
        app: state,
        admin,
        alice,
        bob,
        backend,
        dir,
        capabilities: Mutex::default(),
        _db: db,
    })
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, "").await
}

/// The backends to run a test on: SQLite always, PostgreSQL when a server is reachable.
pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];

/// A `processd serve` child, killed when dropped (also when a test panics), with the address
/// it reported it listens on.
pub struct ServeProcess {
    pub child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
}

/// What processd writes on stderr once its listener is bound.
const LISTENING: &str = "processd listening on ";

impl ServeProcess {
    /// Starts `cmd` (a `processd serve` that binds port 0) and waits until processd says where
    /// it listens. There is no port to pick beforehand, so none can be taken by someone else
    /// between the pick and the bind.
    pub fn start(mut cmd: Command) -> Self {
        // The listening line is an info line: let it through whatever filter the test's
        // environment gives processd, unless the caller chose one.
        if !cmd.get_envs().any(|(key, _)| key == "RUST_LOG") {
            let filter = match std::env::var("RUST_LOG") {
                Ok(f) if !f.trim().is_empty() => format!("{f},processd=info"),
                _ => "info".to_owned(),
            };
            cmd.env("RUST_LOG", filter);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn processd serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = Arc::clone(&log);
        // Reads stderr to its end, so processd never blocks on a full pipe; the sender drops
        // at the end, which wakes the wait below if processd exits before listening.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(at) = line.find(LISTENING) {
                    let addr = line[at + LISTENING.len()..].split_whitespace().next();
                    if let Some(addr) = addr.and_then(|a| a.parse::<SocketAddr>().ok()) {
                        let _ = tx.send(addr);
                    }
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut server = Self {
            child,
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            log,
        };
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => server.addr = addr,
            // Its stderr closed: processd is exiting, so waiting for it is short.
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = server.child.wait();
                panic!(
                    "processd exited ({status:?}) before listening:\n{}",
                    server.log()
                );
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("processd did not say where it listens:\n{}", server.log());
            }
        }
        server
    }

    /// `http://ADDR` of the server.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// What processd wrote on stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
