//! The processd under test: the real release binary, started on a temporary data directory
//! and a loopback port, plus the few HTTP calls the scenarios make.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

/// The workspace this crate was built in.
const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// A script the server is configured with (always open to anonymous callers).
pub struct ScriptDef {
    pub name: &'static str,
    pub command: Vec<String>,
}

pub struct ServerOptions {
    pub max_concurrent: usize,
    pub max_output_bytes: u64,
    pub scripts: Vec<ScriptDef>,
    /// Create an admin user before serving and keep its token.
    pub admin: bool,
    /// A database other than the data directory's SQLite file (`database_url`).
    pub database_url: Option<String>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            max_concurrent: 16,
            max_output_bytes: 64 << 20,
            scripts: Vec::new(),
            admin: false,
            database_url: None,
        }
    }
}

/// Where the processd binary is: next to this one (both in target/release), else in the
/// workspace's target/release, else built there with cargo.
pub fn locate_processd(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_owned());
    }
    let me = std::env::current_exe().context("cannot find this executable")?;
    if let Some(dir) = me.parent() {
        let sibling = dir.join("processd");
        if dir.ends_with("release") && sibling.is_file() {
            return Ok(sibling);
        }
    }
    let release = Path::new(WORKSPACE).join("target/release/processd");
    if release.is_file() {
        return Ok(release);
    }
    eprintln!("process-bench: building processd (cargo build --release -p process-http)");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(["build", "--release", "-p", "process-http"])
        .current_dir(WORKSPACE)
        .status()
        .context("running cargo")?;
    if !status.success() || !release.is_file() {
        bail!("cargo build --release -p process-http failed");
    }
    Ok(release)
}

pub struct Server {
    child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    pub token: Option<String>,
    pub client: reqwest::Client,
    /// Holds the data directory until the server is gone.
    _dir: tempfile::TempDir,
}

/// A launched process as its launcher knows it.
pub struct Launched {
    pub id: i64,
    /// The capability of an anonymous launch (`accessToken`), presented when reading it.
    pub access: Option<String>,
}

impl Server {
    pub async fn start(processd: &Path, opts: ServerOptions) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("process-bench-")
            .tempdir()
            .context("creating the data directory")?;
        let data_dir = dir.path().join("data");
        let config = dir.path().join("processd.toml");
        std::fs::write(&config, config_text(&data_dir, &opts)).context("writing the config")?;

        let token = if opts.admin {
            let out = Command::new(processd)
                .args(["user", "add", "bench", "--admin", "--config"])
                .arg(&config)
                .env("RUST_LOG", "warn")
                .output()
                .context("running processd user add")?;
            if !out.status.success() {
                bail!(
                    "processd user add failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            None
        };

        let mut child = Command::new(processd)
            .args(["serve", "--config"])
            .arg(&config)
            // Request logs would cost the server time the baselines do not pay.
            .env("RUST_LOG", "warn,processd=info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", processd.display()))?;
        let stderr = child.stderr.take().context("no stderr")?;
        let log_path = dir.path().join("processd.log");
        let (tx, rx) = mpsc::channel::<u16>();
        std::thread::spawn(move || follow_log(stderr, &log_path, &tx));
        let port = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                let log =
                    std::fs::read_to_string(dir.path().join("processd.log")).unwrap_or_default();
                bail!("processd did not start listening; its log:\n{log}");
            }
        };
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()?;
        Ok(Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            data_dir,
            token,
            client,
            _dir: dir,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("processd.db")
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    fn authorized(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// Launches `script` without parameters; returns the process id and, for an anonymous
    /// launch, the capability that lets its launcher read it.
    pub async fn launch(&self, script: &str) -> anyhow::Result<Launched> {
        let form = reqwest::multipart::Form::new().text("properties", "[]");
        let resp = self
            .client
            .post(self.url(&format!("/api/system/scripts/{script}/processes")))
            .multipart(form)
            .send()
            .await?;
        let status = resp.status();
        let body: Value = resp.json().await?;
        if status.as_u16() != 202 {
            bail!("launch of {script} answered {status}: {body}");
        }
        // DSpace gives ids as strings; accept numbers too.
        let id = &body["processId"];
        let id = id
            .as_i64()
            .or_else(|| id.as_str().and_then(|s| s.parse().ok()))
            .with_context(|| format!("no processId in {body}"))?;
        let access = body["accessToken"].as_str().map(str::to_owned);
        Ok(Launched { id, access })
    }

    /// The process's status string.
    pub async fn status(&self, process: &Launched) -> anyhow::Result<String> {
        let mut req = self.authorized(
            self.client
                .get(self.url(&format!("/api/system/processes/{}", process.id))),
        );
        if let Some(access) = &process.access {
            req = req.header("X-Process-Access", access);
        }
        let resp = req.send().await?.error_for_status()?;
        let body: Value = resp.json().await?;
        Ok(body["processStatus"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// Polls until the process is COMPLETED, starting at `first` and doubling up to `max`.
    /// A process that ends otherwise is an error.
    pub async fn wait_completed(
        &self,
        process: &Launched,
        first: Duration,
        max: Duration,
    ) -> anyhow::Result<()> {
        let mut delay = first;
        loop {
            match self.status(process).await?.as_str() {
                "COMPLETED" => return Ok(()),
                "FAILED" => bail!("process {} FAILED", process.id),
                _ => {}
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(max);
        }
    }

    /// GET with the admin token; returns the status code and the body read to the end.
    pub async fn get_admin(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        let resp = self
            .authorized(self.client.get(self.url(path)))
            .send()
            .await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await?))
    }

    /// Bytes of the SQLite database and its write-ahead log.
    pub fn db_bytes(&self) -> u64 {
        let db = self.db_path();
        let wal = db.with_extension("db-wal");
        [db, wal]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }

    /// Reads a process's whole log through `/output/lines`, page by page; returns the last
    /// sequence number and how many lines were on stdout.
    pub async fn count_lines(&self, process: i64) -> anyhow::Result<(i64, u64)> {
        let (mut after, mut stdout) = (0i64, 0u64);
        loop {
            let path =
                format!("/api/system/processes/{process}/output/lines?after={after}&size=1000");
            let (status, page) = self.get_admin(&path).await?;
            if status != 200 {
                bail!("{path} answered {status}: {page}");
            }
            let lines = page["_embedded"]["lines"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let Some(last) = lines.last() else {
                return Ok((after, stdout));
            };
            for l in &lines {
                let seq = l["seq"].as_i64().unwrap_or_default();
                if seq != after + 1 {
                    bail!("line {seq} follows line {after}");
                }
                after = seq;
                stdout += u64::from(l["stream"] == "stdout");
            }
            after = last["seq"].as_i64().unwrap_or(after);
        }
    }

    /// processd's resident set size now and at its peak (VmRSS, VmHWM), in bytes.
    pub fn rss(&self) -> anyhow::Result<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let field = |name: &str| -> Option<u64> {
            let line = status.lines().find(|l| l.starts_with(name))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb * 1024)
        };
        match (field("VmRSS:"), field("VmHWM:")) {
            (Some(rss), Some(hwm)) => Ok((rss, hwm)),
            _ => bail!("no VmRSS/VmHWM in /proc/{}/status", self.pid()),
        }
    }

    /// CPU time processd has used so far (user + system, all threads), in seconds. Less
    /// sensitive to other load on the machine than wall time.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        // Fields after the command name (which may hold spaces) in parentheses; utime and
        // stime are fields 14 and 15, in clock ticks (100 per second on Linux).
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
        match (ticks(11), ticks(12)) {
            (Some(u), Some(s)) => Ok((u + s) as f64 / 100.0),
            _ => bail!("cannot parse /proc/{}/stat", self.pid()),
        }
    }

    /// Asks processd to stop (SIGTERM), then kills it if it takes longer than `grace`.
    pub fn stop(mut self, grace: Duration) {
        self.terminate(grace);
    }

    fn terminate(&mut self, grace: Duration) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let until = Instant::now() + grace;
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.terminate(Duration::from_secs(10));
    }
}

fn config_text(data_dir: &Path, opts: &ServerOptions) -> String {
    // JSON string literals are valid TOML basic strings.
    let q = |s: &str| serde_json::Value::from(s).to_string();
    let mut t = format!(
        "bind = \"127.0.0.1:0\"\n\
         data_dir = {}\n\
         max_concurrent = {}\n\
         max_output_bytes = {}\n\
         kill_grace = \"1s\"\n\
         shutdown_grace = \"1s\"\n",
        q(&data_dir.display().to_string()),
        opts.max_concurrent,
        opts.max_output_bytes,
    );
    if let Some(url) = &opts.database_url {
        t.push_str(&format!("database_url = {}\n", q(url)));
    }
    for s in &opts.scripts {
        let argv: Vec<String> = s.command.iter().map(|a| q(a)).collect();
        t.push_str(&format!(
            "\n[[script]]\nname = {}\ncommand = [{}]\nallowed = [\"anonymous\"]\nmax_clock_time = \"1h\"\n",
            q(s.name),
            argv.join(", ")
        ));
    }
    t
}

/// Copies processd's log to `path`, reporting the port of its "processd listening" line.
fn follow_log(stderr: impl std::io::Read, path: &Path, port: &mpsc::Sender<u16>) {
    let mut log = std::fs::File::create(path).ok();
    let mut sent = false;
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        if let Some(f) = log.as_mut() {
            let _ = writeln!(f, "{line}");
        }
        if !sent {
            if let Some(p) = listening_port(&line) {
                let _ = port.send(p);
                sent = true;
            }
        }
    }
}

/// The port of processd's `processd listening on ADDR:PORT` line (colour codes removed first).
fn listening_port(line: &str) -> Option<u16> {
    let plain = strip_ansi(line);
    let addr = plain
        .split("processd listening on ")
        .nth(1)?
        .split_whitespace()
        .next()?;
    addr.parse::<std::net::SocketAddr>().ok().map(|a| a.port())
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_port_in_plain_and_coloured_logs() {
        let plain = "2026-01-01T00:00:00Z  INFO processd: processd listening on 127.0.0.1:40123";
        assert_eq!(listening_port(plain), Some(40123));
        let coloured = "\u{1b}[2m2026\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m \u{1b}[2mprocessd\u{1b}[0m\u{1b}[2m:\u{1b}[0m processd listening on [::1]:8081";
        assert_eq!(listening_port(coloured), Some(8081));
        assert_eq!(listening_port("INFO processd: migrations applied"), None);
    }

    #[test]
    fn config_quotes_paths_and_argv() {
        let opts = ServerOptions {
            scripts: vec![ScriptDef {
                name: "noop",
                command: vec!["/bin/true".to_owned(), "a \"b\"".to_owned()],
            }],
            ..ServerOptions::default()
        };
        let text = config_text(Path::new("/tmp/x y"), &opts);
        assert!(text.contains("data_dir = \"/tmp/x y\""));
        assert!(text.contains(r#"command = ["/bin/true", "a \"b\""]"#));
    }
}
