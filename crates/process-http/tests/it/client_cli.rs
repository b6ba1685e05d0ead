//! The client commands of the `processd` binary against the real service: `login`/`logout`,
//! `scripts`, `ps`, `run` (with files, `--follow` and its exit codes), `logs`, `show`, `stop`,
//! `rm`, `fetch`, and the messages a person gets for a bad login or a missing process.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::cli::{processd, text};
use crate::helpers::{fixture, ServeProcess};

/// A running processd with an admin and a user, and a home folder for the client's login.
struct Site {
    dir: tempfile::TempDir,
    config: PathBuf,
    server: ServeProcess,
    admin: String,
    user: String,
}

impl Site {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("processd.toml");
        std::fs::write(
            &config,
            format!(
                r#"
bind = "127.0.0.1:0"
data_dir = "data"
kill_grace = "1s"

[[script]]
name = "echo"
description = "prints its arguments"
command = ["{echo}"]
allowed = ["authenticated"]
[[script.parameter]]
name = "-s"
type = "string"

[[script]]
name = "anon-echo"
command = ["{echo}"]
allowed = ["anonymous"]
[[script.parameter]]
name = "-s"
type = "string"

[[script]]
name = "exit"
command = ["{exit}"]
allowed = ["authenticated"]
[[script.parameter]]
name = "-c"
type = "integer"

[[script]]
name = "cat"
command = ["{cat}"]
allowed = ["authenticated"]
[[script.parameter]]
name = "-f"
type = "file"

[[script]]
name = "ticker"
command = ["{ticker}"]
allowed = ["authenticated"]

[[script]]
name = "outputs"
command = ["{outputs}"]
allowed = ["authenticated"]

[[script]]
name = "sleep"
command = ["{sleep}"]
allowed = ["authenticated"]
[[script.parameter]]
name = "-t"
type = "integer"
"#,
                echo = fixture("echo_args.sh"),
                exit = fixture("exit_code.sh"),
                cat = fixture("cat_file.sh"),
                ticker = fixture("ticker.sh"),
                outputs = fixture("outputs.sh"),
                sleep = fixture("sleep.sh"),
            ),
        )
        .unwrap();
        let token = |args: &[&str]| {
            let out = processd(dir.path())
                .args(["user", "add"])
                .args(args)
                .arg("--config")
                .arg(&config)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", text(&out.stderr));
            text(&out.stdout).trim().to_owned()
        };
        let admin = token(&["root", "--admin"]);
        let user = token(&["carol"]);
        let server = serve(dir.path(), &config, "127.0.0.1:0");
        Self {
            dir,
            config,
            server,
            admin,
            user,
        }
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// `processd ARGS` as a client, with its own config folder; `input` on stdin.
    fn client(&self, args: &[&str], input: &str) -> Output {
        let mut cmd = self.client_command(args);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn client_command(&self, args: &[&str]) -> Command {
        let mut cmd = processd(self.dir.path());
        cmd.env("XDG_CONFIG_HOME", self.home()).args(args);
        cmd
    }

    /// A client command that must succeed; answers its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.client(args, "");
        assert!(
            out.status.success(),
            "processd {args:?}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    fn login(&self, token: &str) {
        let out = self.client(&["login", &self.server.base()], &format!("{token}\n"));
        assert!(out.status.success(), "login: {}", text(&out.stderr));
    }
}

fn serve(dir: &std::path::Path, config: &std::path::Path, bind: &str) -> ServeProcess {
    let mut cmd = processd(dir);
    cmd.env_remove("RUST_LOG")
        .env("PROCESSD_BIND", bind)
        .args(["serve", "--config"])
        .arg(config);
    ServeProcess::start(cmd)
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

fn wait_status(site: &Site, id: &str, want: &str) -> Value {
    for _ in 0..400 {
        let p = json(&site.ok(&["show", id, "--json"]));
        if p["processStatus"] == want {
            return p;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("process {id} never became {want}");
}

#[test]
fn login_is_stored_privately_and_logout_forgets_it() {
    let site = Site::start();
    let out = site.client(&["scripts"], "");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("processd login"),
        "{}",
        text(&out.stderr)
    );

    // A token the service does not know is refused, and nothing is stored.
    let out = site.client(&["login", &site.server.base()], "pd_not-a-token\n");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("did not accept"),
        "{}",
        text(&out.stderr)
    );
    let stored = site.home().join("processd/login.json");
    assert!(!stored.exists());

    site.login(&site.user);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&stored).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let scripts = site.ok(&["scripts"]);
    assert!(scripts.starts_with("SCRIPT"), "{scripts}");
    assert!(scripts.contains("echo") && scripts.contains("prints its arguments"));
    let listed = json(&site.ok(&["scripts", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 7, "{listed}");

    // PROCESSD_TOKEN wins over the stored login; a bad one says what to do.
    let out = site
        .client_command(&["ps"])
        .env("PROCESSD_TOKEN", "pd_bogus")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("processd login"),
        "{}",
        text(&out.stderr)
    );

    // PROCESSD_URL naming another service does not take the stored token there.
    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let other_url = format!("http://{}", other.local_addr().unwrap());
    let seen = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut conn, _) = other.accept().unwrap();
        let mut request = vec![0; 8192];
        let n = conn.read(&mut request).unwrap();
        let body = r#"{"status":401,"message":"who are you","code":"unauthorized"}"#;
        let answer = format!(
            "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        conn.write_all(answer.as_bytes()).unwrap();
        String::from_utf8_lossy(&request[..n]).to_lowercase()
    });
    let out = site
        .client_command(&["scripts"])
        .env("PROCESSD_URL", &other_url)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let request = seen.join().unwrap();
    assert!(request.starts_with("get /api/system/scripts"), "{request}");
    assert!(!request.contains("authorization"), "{request}");

    site.ok(&["logout"]);
    assert!(!stored.exists());
    let out = site.client(&["ps"], "");
    assert!(!out.status.success());

    // A password login: asked on the terminal, or read from standard input as here.
    let config = site.config.to_str().unwrap().to_owned();
    let out = site.client(
        &[
            "user",
            "add",
            "carol",
            "--password-stdin",
            "--config",
            &config,
        ],
        "correct horse\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let base = site.server.base();
    let out = site.client(&["login", &base, "--user", "carol"], "wrong\n");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("failed"),
        "{}",
        text(&out.stderr)
    );
    let out = site.client(&["login", &base, "--user", "carol"], "correct horse\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("as carol"),
        "{}",
        text(&out.stderr)
    );
    assert!(site.ok(&["scripts"]).contains("echo"));
}

#[test]
fn run_follow_exits_with_the_scripts_exit_code() {
    let site = Site::start();
    // Without a login (PROCESSD_URL only) an anonymous process is followed with the
    // capability its launch answered.
    let out = site
        .client_command(&["run", "anon-echo", "-p", "-s=anonymous", "--follow"])
        .env("PROCESSD_URL", site.server.base())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "-s\nanonymous\n");
    assert!(
        text(&out.stderr).contains("capability"),
        "{}",
        text(&out.stderr)
    );

    site.login(&site.user);
    let out = site.client(&["run", "echo", "-p", "-s=hello there", "--follow"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "-s\nhello there\n");
    assert!(
        text(&out.stderr).contains("COMPLETED"),
        "{}",
        text(&out.stderr)
    );

    let out = site.client(&["run", "exit", "-p", "-c=3", "--follow"], "");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("about to exit 3"));
    assert!(
        text(&out.stderr).contains("FAILED (exit 3)"),
        "{}",
        text(&out.stderr)
    );

    // A file parameter uploads the file.
    let items = site.dir.path().join("items.csv");
    std::fs::write(&items, "id,title\n1,a\n").unwrap();
    let file = format!("-f={}", items.display());
    let out = site.client(&["run", "cat", "-f", &file, "--follow"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).ends_with("id,title\n1,a\n"),
        "{}",
        text(&out.stdout)
    );

    // A start time and a dependency travel with the launch.
    let later = json(&site.ok(&["run", "echo", "--at", "2099-01-01T00:00:00Z", "--json"]));
    assert_eq!(later["processStatus"], "SCHEDULED");
    assert_eq!(later["scheduledStartTime"], "2099-01-01T00:00:00Z");
    let later_id = later["processId"].as_str().unwrap();
    let after = json(&site.ok(&["run", "echo", "--after", later_id, "--json"]));
    assert_eq!(after["dependsOn"], serde_json::json!([later_id]));
    site.ok(&["stop", later_id]);
    let after_id = after["processId"].as_str().unwrap().to_owned();
    assert_eq!(
        wait_status(&site, &after_id, "FAILED")["statusReason"],
        "dependency"
    );

    // Bad input is explained, not sent.
    for (args, says) in [
        (&["run", "nope"][..], "no script \"nope\""),
        (&["run", "echo", "-p", "-x=1"], "400"),
        (&["run", "cat", "-f", "-f=/no/such/file"], "no such file"),
        (&["run", "echo", "--at", "tomorrow"], "RFC 3339"),
    ] {
        let out = site.client(args, "");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn ps_logs_stop_fetch_and_rm() {
    let site = Site::start();
    site.login(&site.user);
    let id = site.ok(&["run", "ticker"]).trim().to_owned();
    wait_status(&site, &id, "RUNNING");
    let running = json(&site.ok(&["ps", "--status", "running", "--json"]));
    assert_eq!(running[0]["processId"], id.as_str(), "{running}");
    let table = site.ok(&["ps"]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with(&id) && l.contains("RUNNING")),
        "{table}"
    );

    site.ok(&["stop", &id]);
    let p = wait_status(&site, &id, "FAILED");
    assert_eq!(p["statusReason"], "stopped");
    assert!(site.ok(&["logs", &id]).starts_with("tick 1\n"));
    // `logs -f` of an ended process prints it all and exits with its outcome.
    let out = site.client(&["logs", &id, "-f"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).starts_with("tick 1\n"));

    let out_id = site.ok(&["run", "outputs"]).trim().to_owned();
    wait_status(&site, &out_id, "COMPLETED");
    let dir = site.dir.path().join("fetched");
    site.ok(&["fetch", &out_id, "-o", dir.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(dir.join("result.txt")).unwrap(),
        "hello\n"
    );
    // Files of another type are in the folder of their type.
    assert_eq!(
        std::fs::read_to_string(dir.join("exportCSV/nested/deep.txt")).unwrap(),
        "deep\n"
    );
    // A file already there is never overwritten.
    let again = site.client(&["fetch", &out_id, "-o", dir.to_str().unwrap()], "");
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("already exists"),
        "{}",
        text(&again.stderr)
    );
    site.ok(&["fetch", &out_id, "-o", dir.to_str().unwrap(), "--zip"]);
    let zip = std::fs::read(dir.join(format!("process-{out_id}.zip"))).unwrap();
    assert!(zip.starts_with(b"PK"));

    // Another user's process is not there for carol; the admin sees everything, or only
    // their own with --mine.
    site.login(&site.admin);
    let all = json(&site.ok(&["ps", "--json"]));
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(json(&site.ok(&["ps", "--mine", "--json"])), json("[]"));
    let mine = site.ok(&["run", "echo"]).trim().to_owned();
    site.login(&site.user);
    let out = site.client(&["show", &mine], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(&format!("no process {mine} visible to you")),
        "{}",
        text(&out.stderr)
    );

    site.ok(&["rm", &id]);
    let out = site.client(&["logs", &id], "");
    assert!(
        text(&out.stderr).contains("visible to you"),
        "{}",
        text(&out.stderr)
    );
}

/// `run --follow` rides out a restart of the service: it keeps asking while nobody answers
/// and prints every line once when the service is back on the same address.
#[test]
fn run_follow_reconnects_after_a_restart() {
    let mut site = Site::start();
    // The same address across the restart, as a real deployment has.
    let addr = site.server.addr;
    site.login(&site.user);
    let follow = site
        .client_command(&["run", "sleep", "-p", "-t=3", "--follow"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // SIGTERM: processd stops answering at once and lets the running script finish within
    // `shutdown_grace` before it exits.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(site.server.child.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let _ = site.server.child.wait();
    site.server = serve(site.dir.path(), &site.config, &addr.to_string());
    let out = follow.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "started\nwoke\n");
}

#[test]
fn events_prints_each_change_as_it_happens() {
    use std::io::{BufRead, BufReader};
    let site = Site::start();
    site.login(&site.user);
    // From the first event kept (the site is new), so the launch cannot come too early.
    let mut child = site
        .client_command(&["events", "--after", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let id = site.ok(&["run", "echo"]).trim().to_owned();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    while let Some(Ok(line)) = lines.next() {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields[3], id, "{line}");
        seen.push(fields[2].to_owned());
        if fields[2] == "process.completed" {
            assert!(line.ends_with(" echo COMPLETED"), "{line}");
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        seen,
        ["process.created", "process.running", "process.completed"]
    );

    // As JSON lines.
    let mut child = site
        .client_command(&["events", "--after", "0", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = json(&lines.next().unwrap().unwrap());
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(first["type"], "process.created");
    assert_eq!(first["process"]["processId"], id.as_str());
}
