//! The `processd` binary: help and version, `user add`, `migrate`, config errors, and `serve`
//! answering real HTTP (with the `PROCESSD_BIND` override).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{fixture, ServeProcess};

const BIN: &str = env!("CARGO_BIN_EXE_processd");

/// `processd` run in `cwd`, with no `PROCESSD_*` variable inherited from the test's
/// environment.
pub fn processd(cwd: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(cwd);
    for (key, _) in std::env::vars() {
        if key.starts_with("PROCESSD_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("RUST_LOG", "warn");
    cmd
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("run processd")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A config in `dir` (relative `data_dir`, so the data lands in `dir/data` when run from
/// `dir`) with one anonymous echo script; returns its path.
fn write_config(dir: &Path, bind: &str) -> PathBuf {
    let path = dir.join("processd.toml");
    std::fs::write(
        &path,
        format!(
            r#"
bind = "{bind}"
data_dir = "data"
max_concurrent = 2

[[script]]
name = "echo"
description = "prints its arguments"
command = ["{echo}"]
allowed = ["anonymous"]
[[script.parameter]]
name = "-s"
type = "string"

[[script]]
name = "admin-only"
command = ["{echo}"]
allowed = ["admin"]

[[script]]
name = "lab-only"
command = ["{echo}"]
allowed = ["lab"]
"#,
            echo = fixture("echo_args.sh"),
        ),
    )
    .expect("write config");
    path
}

/// `processd user add NAME args... --config FILE`; asserts success and the one-line output
/// and returns the token.
fn user_add(dir: &Path, config: &Path, name: &str, args: &[&str]) -> String {
    let out = run(processd(dir)
        .args(["user", "add", name])
        .args(args)
        .arg("--config")
        .arg(config));
    assert!(
        out.status.success(),
        "user add {name}: {}",
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert!(stdout.ends_with('\n'), "{stdout:?}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line on stdout: {stdout:?}");
    let token = lines[0];
    assert!(token.starts_with("pd_"), "{token}");
    assert_eq!(token.trim(), token);
    assert!(token.len() > 20, "{token}");
    token.to_owned()
}

/// `processd serve --config FILE` in `dir`, once it has said where it listens.
fn serve(dir: &Path, config: &Path, env: &[(&str, &str)]) -> ServeProcess {
    let mut cmd = processd(dir);
    // Let the listening line through (`processd` sets warn for the other commands).
    cmd.env("RUST_LOG", "warn,processd=info")
        .arg("serve")
        .arg("--config")
        .arg(config)
        .envs(env.iter().copied());
    ServeProcess::start(cmd)
}

/// `/healthz` of a server that is listening (its listener is bound before it says so, so
/// the first request is answered); panics with the server's log when it is not healthy.
pub async fn wait_healthy(client: &reqwest::Client, server: &mut ServeProcess) -> Value {
    if let Some(status) = server.child.try_wait().unwrap() {
        panic!("serve exited with {status}: {}", server.log());
    }
    let res = client
        .get(format!("{}/healthz", server.base()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("healthz: {e}: {}", server.log()));
    assert_eq!(res.status(), 200, "serve is not healthy: {}", server.log());
    res.json().await.unwrap()
}

#[test]
fn help_and_version_work_and_unknown_commands_fail() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(processd(dir.path()).arg("--help"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let help = text(&out.stdout);
    assert!(help.contains("Usage"), "{help}");
    for sub in ["serve", "migrate", "user"] {
        assert!(help.contains(sub), "help lists {sub}: {help}");
    }
    let out = run(processd(dir.path()).args(["user", "add", "--help"]));
    assert!(out.status.success());
    let help = text(&out.stdout);
    assert!(
        help.contains("--admin") && help.contains("--group"),
        "{help}"
    );

    let out = run(processd(dir.path()).arg("--version"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    // `processd 0.1.0 (0123abc)`: the commit it was built from, `-dirty` with changes.
    let version = text(&out.stdout);
    let commit = version
        .trim()
        .strip_prefix(&format!("processd {} (", env!("CARGO_PKG_VERSION")))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{version:?}"));
    let sha = commit.strip_suffix("-dirty").unwrap_or(commit);
    assert!(
        sha.len() >= 7 && sha.chars().all(|c| c.is_ascii_hexdigit()),
        "built in a git checkout, so the commit is known: {version:?}"
    );

    for args in [
        &["frobnicate"][..],
        &[],
        &["user", "add"],
        &["serve", "--bogus"],
    ] {
        let out = run(processd(dir.path()).args(args));
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(
            !text(&out.stderr).is_empty(),
            "{args:?}: a message on stderr"
        );
        assert!(!text(&out.stderr).contains("panicked"), "{args:?}");
    }
    let out = run(processd(dir.path()).arg("frobnicate"));
    assert!(
        text(&out.stderr).contains("frobnicate"),
        "{}",
        text(&out.stderr)
    );
    // Nothing was created by failed invocations.
    assert!(!dir.path().join("processd-data").exists());
}

/// The bash completion script, loaded into a real bash, completes subcommands and flags.
#[test]
fn bash_completion_completes_commands_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let complete = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        let script = format!(
            "source <('{bin}' completions bash) || exit 9\n\
             COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{line}'; COMP_POINT={point}\n\
             _processd processd '{last}' '{prev}'\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            bin = BIN,
            words = words.join(" "),
            cword = words.len() - 1,
            point = line.len(),
            last = words[words.len() - 1],
            prev = words[words.len().saturating_sub(2)],
        );
        let out = run(Command::new("bash")
            .arg("-c")
            .arg(script)
            .current_dir(dir.path()));
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(complete("processd us"), ["user"]);
    assert_eq!(complete("processd completions z"), ["zsh"]);
    let flags = complete("processd user add alice --");
    for flag in ["--admin", "--group", "--password-stdin", "--config"] {
        assert!(flags.iter().any(|f| f == flag), "{flag} in {flags:?}");
    }
    // The other shells get a script too; nothing is read or created to print one.
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = run(processd(dir.path()).args(["completions", shell]));
        assert!(out.status.success(), "{shell}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("processd"), "{shell}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// `processd man` prints processd(1); `processd man DIR` writes a page for every command.
#[test]
fn man_pages_cover_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(processd(dir.path()).arg("man"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let page = text(&out.stdout);
    assert!(page.contains(".TH processd 1"), "{page}");
    for sub in [
        "serve",
        "migrate",
        "user",
        "completions",
        "man",
        "run",
        "fetch",
    ] {
        // Each command is listed with its own page: processd-NAME(1).
        let entry = format!("processd\\-{sub}(1)");
        assert!(page.contains(&entry), "processd(1) lists {entry}");
    }
    let pages = dir.path().join("man1");
    let out = run(processd(dir.path()).arg("man").arg(&pages));
    assert!(out.status.success(), "{}", text(&out.stderr));
    for name in [
        "processd",
        "processd-serve",
        "processd-user-add",
        "processd-user-token-revoke",
    ] {
        let page = std::fs::read_to_string(pages.join(format!("{name}.1")))
            .unwrap_or_else(|e| panic!("{name}.1: {e}"));
        assert!(page.contains(".TH"), "{name}.1");
    }
    let add = std::fs::read_to_string(pages.join("processd-user-add.1")).unwrap();
    assert!(add.contains("password\\-stdin"), "{add}");
}

#[test]
fn migrate_works_on_a_fresh_data_dir_and_again() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "127.0.0.1:0");
    for _ in 0..2 {
        let out = run(processd(dir.path())
            .arg("migrate")
            .arg("--config")
            .arg(&config));
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    }
    // The relative data_dir resolved against the working directory.
    assert!(dir.path().join("data/processd.db").is_file());
}

#[test]
fn user_add_prints_one_fresh_token_each_time() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "127.0.0.1:0");
    let first = user_add(dir.path(), &config, "carol", &[]);
    let second = user_add(dir.path(), &config, "carol", &[]);
    assert_ne!(first, second);
    let admin = user_add(dir.path(), &config, "root", &["--admin"]);
    let lab = user_add(
        dir.path(),
        &config,
        "dave",
        &["--group", "lab", "--group", "other"],
    );
    assert_ne!(admin, lab);
    assert_ne!(first, admin);

    for bad in ["", "   "] {
        let out = run(processd(dir.path())
            .args(["user", "add", bad, "--config"])
            .arg(&config));
        assert!(!out.status.success(), "user name {bad:?}");
        assert!(out.stdout.is_empty());
        assert!(!text(&out.stderr).is_empty());
    }
}

#[test]
fn a_bad_config_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let echo = fixture("echo_args.sh");
    for (name, body, expected) in [
        ("unknown-key.toml", "frobnicate = 1\n".to_owned(), "frobnicate"),
        (
            "bad-name.toml",
            format!("[[script]]\nname = \"Bad Name\"\ncommand = [\"{echo}\"]\n"),
            "Bad Name",
        ),
        (
            "bad-type.toml",
            format!(
                "[[script]]\nname = \"x\"\ncommand = [\"{echo}\"]\n[[script.parameter]]\nname = \"-f\"\ntype = \"blob\"\n"
            ),
            "blob",
        ),
        ("bad-toml.toml", "bind = \n".to_owned(), "invalid config"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        for sub in [&["migrate"][..], &["user", "add", "eve"], &["serve"]] {
            let out = run(processd(dir.path()).args(sub).arg("--config").arg(&path));
            let stderr = text(&out.stderr);
            assert!(!out.status.success(), "{name} {sub:?} should fail");
            assert!(out.stdout.is_empty(), "{name} {sub:?}: {}", text(&out.stdout));
            assert!(stderr.contains(expected), "{name} {sub:?}: {stderr}");
            assert!(!stderr.contains("panicked"), "{name} {sub:?}: {stderr}");
        }
    }
    let out = run(processd(dir.path())
        .args(["migrate", "--config"])
        .arg(dir.path().join("absent.toml")));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("absent.toml"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("data").exists(), "nothing created");
}

#[actix_web::test]
async fn serve_answers_http_and_runs_a_script() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "127.0.0.1:0");
    let user = user_add(dir.path(), &config, "carol", &[]);
    let again = user_add(dir.path(), &config, "carol", &[]);
    let admin = user_add(dir.path(), &config, "root", &["--admin"]);
    let lab = user_add(dir.path(), &config, "dave", &["--group", "lab"]);
    let mut server = serve(dir.path(), &config, &[]);
    let client = reqwest::Client::new();
    let health = wait_healthy(&client, &mut server).await;
    assert_eq!(health["status"], "UP");
    let base = server.base();

    // Both tokens of carol work; a made-up one does not.
    let mut carol_ids = Vec::new();
    for token in [&user, &again] {
        let res = client
            .get(format!("{base}/api/system/processes/search/own"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let form = reqwest::multipart::Form::new().text(
            "properties",
            json!([{"name": "-s", "value": "from the cli test"}]).to_string(),
        );
        let res = client
            .post(format!("{base}/api/system/scripts/echo/processes"))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
        let p: Value = res.json().await.unwrap();
        carol_ids.push((
            p["processId"].as_str().unwrap().to_owned(),
            p["userId"].clone(),
        ));
    }
    assert_eq!(carol_ids[0].1, carol_ids[1].1, "one user, two tokens");
    let res = client
        .get(format!("{base}/api/system/processes/search/own"))
        .bearer_auth("pd_not-a-real-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // The processes run to completion.
    for (id, _) in &carol_ids {
        let mut done = None;
        for _ in 0..600 {
            let p: Value = client
                .get(format!("{base}/api/system/processes/{id}"))
                .bearer_auth(&user)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if matches!(p["processStatus"].as_str(), Some("COMPLETED" | "FAILED")) {
                done = Some(p);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let p = done.expect("the process finished");
        assert_eq!(p["processStatus"], "COMPLETED", "{p}");
        let output = client
            .get(format!("{base}/api/system/processes/{id}/output"))
            .bearer_auth(&again)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(output, "-s\nfrom the cli test\n");
    }

    // --admin and --group took effect.
    let scripts = |token: String| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let list: Value = client
                .get(format!("{base}/api/system/scripts"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let mut names: Vec<String> = list["_embedded"]["scripts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["name"].as_str().unwrap().to_owned())
                .collect();
            names.sort();
            names
        }
    };
    assert_eq!(scripts(user.clone()).await, ["echo"]);
    assert_eq!(scripts(lab.clone()).await, ["echo", "lab-only"]);
    assert_eq!(
        scripts(admin.clone()).await,
        ["admin-only", "echo", "lab-only"]
    );
    let all: Value = client
        .get(format!("{base}/api/system/processes"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["page"]["totalElements"], 2);
    drop(server);
    assert!(dir.path().join("data/processd.db").is_file());
}

#[actix_web::test]
async fn processd_bind_overrides_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    // The config file names a port this test holds: were it used, binding would fail.
    let held = TcpListener::bind("127.0.0.1:0").expect("bind");
    let config_port = held.local_addr().unwrap().port();
    let config = write_config(dir.path(), &format!("127.0.0.1:{config_port}"));
    let mut server = serve(dir.path(), &config, &[("PROCESSD_BIND", "127.0.0.1:0")]);
    let env_port = server.port();
    assert_ne!(config_port, env_port);
    let client = reqwest::Client::new();
    let health = wait_healthy(&client, &mut server).await;
    assert_eq!(health["status"], "UP");
    drop(held);
    assert!(
        client
            .get(format!("http://127.0.0.1:{config_port}/healthz"))
            .send()
            .await
            .is_err(),
        "nothing listens on the config file's port"
    );
}

/// `processd user ARGS... --config FILE`; asserts success and returns stdout.
fn user_cmd(dir: &Path, config: &Path, args: &[&str]) -> String {
    let out = run(processd(dir)
        .arg("user")
        .args(args)
        .arg("--config")
        .arg(config));
    assert!(out.status.success(), "user {args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

/// `processd user ARGS... --config FILE`, expected to fail; returns stderr.
fn user_cmd_fails(dir: &Path, config: &Path, args: &[&str]) -> String {
    let out = run(processd(dir)
        .arg("user")
        .args(args)
        .arg("--config")
        .arg(config));
    assert!(!out.status.success(), "user {args:?} should fail");
    assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
    text(&out.stderr)
}

/// The fields of a `user token list` line: the id, then `key=value` pairs.
fn token_fields(line: &str) -> (i64, std::collections::HashMap<String, String>) {
    let mut parts = line.split(' ');
    let id = parts.next().unwrap().parse().unwrap();
    let fields = parts
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or_else(|| panic!("{line}"));
            (k.to_owned(), v.to_owned())
        })
        .collect();
    (id, fields)
}

#[actix_web::test]
async fn tokens_are_listed_revoked_and_expire_and_admins_can_be_demoted() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "127.0.0.1:0");
    let d = dir.path();
    let first = user_add(d, &config, "root", &["--admin"]);
    let expiring = user_add(d, &config, "root", &["--expires-in", "30d"]);
    let added = user_cmd(d, &config, &["token", "add", "root", "--expires-in", "1h"]);
    let lines: Vec<&str> = added.lines().collect();
    assert_eq!(lines.len(), 1, "{added:?}");
    let third = lines[0].to_owned();
    assert!(third.starts_with("pd_"), "{third}");
    let carol = user_add(d, &config, "carol", &[]);
    let carol_too = user_cmd(d, &config, &["token", "add", "carol"])
        .trim_end()
        .to_owned();

    // One line per token, oldest first, with no secret in it.
    let listed = user_cmd(d, &config, &["token", "list", "root"]);
    let rows: Vec<_> = listed.lines().map(token_fields).collect();
    assert_eq!(rows.len(), 3, "{listed}");
    for token in [&first, &expiring, &third, &carol] {
        assert!(!listed.contains(&token[3..]), "{listed}");
    }
    assert!(rows[0].0 < rows[1].0 && rows[1].0 < rows[2].0, "{listed}");
    for (_, fields) in &rows {
        let created = &fields["created"];
        assert!(created.ends_with('Z') && created.len() == 20, "{listed}");
        assert_eq!(fields["last_used"], "never", "{listed}");
    }
    assert_eq!(rows[0].1["expires"], "never");
    let in_30d = time::OffsetDateTime::now_utc() + time::Duration::days(30);
    assert!(
        rows[1].1["expires"].starts_with(&in_30d.date().to_string()),
        "{listed}"
    );
    assert_ne!(rows[2].1["expires"], "never");

    // Mistakes fail with a message and change nothing.
    for args in [
        &["token", "list", "nobody"][..],
        &["token", "add", "nobody"],
        &["token", "revoke", "root"],
        &["token", "revoke", "root", "1", "--all"],
        &["token", "revoke", "carol", &rows[0].0.to_string()],
        &["token", "add", "root", "--expires-in", "soon"],
        &["set", "root"],
        &["set", "nobody", "--no-admin"],
        &["set", "root", "--admin", "--no-admin"],
    ] {
        let stderr = user_cmd_fails(d, &config, args);
        assert!(
            !stderr.is_empty() && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(user_cmd(d, &config, &["token", "list", "root"]), listed);

    let mut server = serve(d, &config, &[]);
    let client = reqwest::Client::new();
    wait_healthy(&client, &mut server).await;
    let base = server.base();
    let get = |path: &str, token: &str| {
        client
            .get(format!("{base}{path}"))
            .bearer_auth(token)
            .send()
    };
    let by_property = "/api/system/processes/search/byProperty";
    for token in [&first, &expiring, &third] {
        assert_eq!(get(by_property, token).await.unwrap().status(), 200);
    }
    // The use shows in the list.
    let used = user_cmd(d, &config, &["token", "list", "root"]);
    assert!(
        used.lines()
            .all(|l| token_fields(l).1["last_used"].ends_with('Z')),
        "{used}"
    );

    // Revoking one token cuts it off at once, the running server included.
    user_cmd(
        d,
        &config,
        &["token", "revoke", "root", &rows[0].0.to_string()],
    );
    assert_eq!(get(by_property, &first).await.unwrap().status(), 401);
    assert_eq!(get(by_property, &expiring).await.unwrap().status(), 200);
    let left = user_cmd(d, &config, &["token", "list", "root"]);
    assert_eq!(left.lines().count(), 2, "{left}");

    // Demoted, root keeps its tokens but not the admin-only calls; promoted again, it has them.
    assert!(user_cmd(d, &config, &["set", "root", "--no-admin"]).is_empty());
    assert_eq!(get(by_property, &expiring).await.unwrap().status(), 403);
    assert_eq!(
        get("/api/authn/status", &expiring).await.unwrap().status(),
        200
    );
    user_cmd(d, &config, &["set", "root", "--admin"]);
    assert_eq!(get(by_property, &third).await.unwrap().status(), 200);

    // Groups come and go.
    let lab_scripts = "/api/system/scripts/lab-only";
    assert_eq!(get(lab_scripts, &carol).await.unwrap().status(), 403);
    user_cmd(d, &config, &["set", "carol", "--group", "lab"]);
    assert_eq!(get(lab_scripts, &carol).await.unwrap().status(), 200);
    user_cmd(d, &config, &["set", "carol", "--no-group", "lab"]);
    assert_eq!(get(lab_scripts, &carol).await.unwrap().status(), 403);

    // --all revokes every token of that user and no one else's.
    user_cmd(d, &config, &["token", "revoke", "carol", "--all"]);
    for token in [&carol, &carol_too] {
        assert_eq!(get("/api/authn/status", token).await.unwrap().status(), 401);
    }
    assert!(user_cmd(d, &config, &["token", "list", "carol"]).is_empty());
    assert_eq!(get(by_property, &third).await.unwrap().status(), 200);
}

/// `processd user add NAME --password-stdin` with `password` on standard input.
fn set_password(dir: &Path, config: &Path, name: &str, password: &str) {
    use std::io::Write;
    let mut child = processd(dir)
        .args(["user", "add", name, "--password-stdin", "--config"])
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[actix_web::test]
async fn a_new_password_from_the_cli_ends_older_login_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "127.0.0.1:0");
    set_password(dir.path(), &config, "editor", "first secret");
    let mut server = serve(dir.path(), &config, &[]);
    let client = reqwest::Client::new();
    wait_healthy(&client, &mut server).await;
    let base = server.base();
    let login = |password: &'static str| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let res = client
                .post(format!("{base}/api/authn/login"))
                .form(&[("user", "editor"), ("password", password)])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            res.headers()["authorization"].to_str().unwrap().to_owned()
        }
    };
    let status = |authorization: String| {
        let client = client.clone();
        let base = base.clone();
        async move {
            client
                .get(format!("{base}/api/authn/status"))
                .header("Authorization", authorization)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let old = login("first secret").await;
    assert_eq!(status(old.clone()).await, 200);
    set_password(dir.path(), &config, "editor", "second secret");
    assert_eq!(status(old).await, 401);
    let fresh = login("second secret").await;
    assert_eq!(status(fresh).await, 200);
}

#[actix_web::test]
async fn user_add_and_set_fill_the_eperson_profile() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "127.0.0.1:0");
    let d = dir.path();
    let token = user_add(
        d,
        &config,
        "carol",
        &["--email", "carol@example.org", "--first-name", "Carol"],
    );
    user_cmd(d, &config, &["set", "carol", "--last-name", "Lab"]);
    user_cmd(d, &config, &["set", "carol", "--email", ""]);
    let mut server = serve(d, &config, &[]);
    let client = reqwest::Client::new();
    wait_healthy(&client, &mut server).await;
    let status: Value = client
        .get(format!("{}/api/authn/status", server.base()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let eperson = &status["_embedded"]["eperson"];
    assert_eq!(eperson["email"], Value::Null, "cleared: {eperson}");
    assert_eq!(
        eperson["metadata"]["eperson.firstname"][0]["value"],
        "Carol"
    );
    assert_eq!(eperson["metadata"]["eperson.lastname"][0]["value"], "Lab");
}
