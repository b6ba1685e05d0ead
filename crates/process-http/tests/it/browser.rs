//! The web UI in a real browser: headless Chromium driven over WebDriver (chromedriver), against
//! the real service. Log in, launch with a file from the generated form, watch progress and
//! live lines, download a file, see a validation error on its field, see a script's markup as
//! text, stop a running process. Screenshots of each page go to `target/ui-screenshots/`.
//!
//! Skipped, with the reason printed, when chromium or chromedriver is missing, unless
//! `PROCESSD_REQUIRE_BROWSER=1` (as CI sets it).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::{fixture, spawn_app_with, Backend, TestApp};

/// chromedriver on a free port; killed when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn found(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

async fn browser(downloads: &Path) -> Option<(Driver, Client)> {
    if !found("chromedriver") || !found("chromium") {
        if std::env::var("PROCESSD_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("browser tests required, but chromium or chromedriver is missing");
        }
        eprintln!("skipping browser test: chromium and chromedriver are not installed");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Driver(
        Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", "--window-size=1200,900"],
            "prefs": {"download.default_directory": downloads, "download.prompt_for_download": false},
        }),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match ClientBuilder::native()
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => return Some((driver, client)),
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("no WebDriver session: {e}"),
        }
    }
}

fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

/// Waits until `css` matches an element whose text satisfies `ok`; answers that text.
async fn text_of(c: &Client, css: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            if let Ok(text) = e.text().await {
                if ok(&text) {
                    return text;
                }
                last = text;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css}: never as expected; last {last:?}");
}

/// The element `css` names, once the page has it.
async fn element(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
}

async fn click(c: &Client, css: &str) {
    element(c, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn type_into(c: &Client, css: &str, text: &str) {
    element(c, css).await.send_keys(text).await.unwrap();
}

/// Opens a script's launch form, lets `fill` fill it, starts it, and answers the new id.
async fn launch(c: &Client, app: &TestApp, script: &str, fill: &[(&str, &str)]) -> String {
    c.goto(&format!("{}/ui/#/scripts/{script}", app.base))
        .await
        .unwrap();
    text_of(c, "h1", |t| t == format!("Start {script}")).await;
    for (css, value) in fill {
        type_into(c, css, value).await;
    }
    click(c, "form.launch button[type=submit]").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let url = c.current_url().await.unwrap();
        if let Some(id) = url.fragment().and_then(|f| f.strip_prefix("/processes/")) {
            return id.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no process page after the launch: {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn the_web_ui_works_in_a_real_browser() {
    let downloads = tempfile::tempdir().unwrap();
    let Some((_driver, c)) = browser(downloads.path()).await else {
        return;
    };
    let extra = format!(
        r#"
[[script]]
name = "progress"
description = "ten steps with progress"
command = ["{progress}"]
allowed = ["authenticated"]
"#,
        progress = fixture("progress.sh")
    );
    let app = spawn_app_with(Backend::Sqlite, &extra).await.unwrap();
    app.set_password("admin", "s3cret pass").await;

    // `/` leads to the UI; an anonymous visitor is asked to log in.
    c.goto(&format!("{}/", app.base)).await.unwrap();
    text_of(&c, "main", |t| t.contains("log in")).await;
    assert!(c.current_url().await.unwrap().path().starts_with("/ui/"));

    // Log in with the password.
    c.goto(&format!("{}/ui/#/login", app.base)).await.unwrap();
    type_into(&c, "#user", "admin").await;
    type_into(&c, "#password", "wrong").await;
    click(&c, "form.login button[type=submit]").await;
    text_of(&c, "main .error", |t| {
        t.contains("Wrong user name or password")
    })
    .await;
    shot(&c, "login").await;
    c.find(Locator::Css("#password"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    type_into(&c, "#password", "s3cret pass").await;
    click(&c, "form.login button[type=submit]").await;
    text_of(&c, "#who", |t| t == "Logged in as admin").await;

    // Scripts, and a launch with a file from the generated form.
    c.goto(&format!("{}/ui/#/scripts", app.base)).await.unwrap();
    text_of(&c, "main table", |t| t.contains("prints its arguments")).await;
    shot(&c, "scripts").await;
    let items = app.dir.path().join("items.csv");
    std::fs::write(&items, "id,title\n1,a\n").unwrap();
    launch(&c, &app, "cat", &[("#param-0", items.to_str().unwrap())]).await;
    text_of(&c, "#console", |t| t.ends_with("id,title\n1,a")).await;
    // Its status and end time follow without a reload ("–" is a time not known yet).
    text_of(&c, "main dl.facts", |t| {
        t.contains("COMPLETED") && !t.contains("Ended\n–")
    })
    .await;
    shot(&c, "process").await;
    // Its input file downloads through a short-lived token.
    click(&c, "a.download[data-name='items.csv']").await;
    let saved = downloads.path().join("items.csv");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read(&saved).ok().as_deref() != Some(b"id,title\n1,a\n".as_slice()) {
        assert!(Instant::now() < deadline, "the download never arrived");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A validation error is shown on its field, not as a page error.
    launch_refused(&c, &app).await;

    // A script's markup is shown as text: nothing it prints becomes an element.
    let markup = "<script>alert(1)</script><img src=x id=injected>";
    launch(&c, &app, "echo", &[("#param-0", markup)]).await;
    let console = text_of(&c, "#console", |t| t.contains("<img")).await;
    assert!(console.contains(markup), "{console}");
    assert!(c.find(Locator::Css("#injected")).await.is_err());
    assert!(c.find(Locator::Css("#console script")).await.is_err());

    // Progress and live lines while it runs.
    launch(&c, &app, "progress", &[]).await;
    text_of(&c, "#console", |t| t.contains("step 2")).await;
    let value = progress(&c).await;
    assert!(value > 0.0, "progress {value}");
    shot(&c, "process-live").await;
    text_of(&c, "main dl.facts", |t| t.contains("COMPLETED")).await;
    text_of(&c, "#console", |t| t.contains("step 10")).await;
    assert_eq!(progress(&c).await, 100.0);

    // Stop a running process, with confirmation.
    launch(&c, &app, "sleep", &[("#param-0", "30")]).await;
    text_of(&c, "#console", |t| t.contains("started")).await;
    click(&c, ".actions button.danger").await;
    shot(&c, "confirm-stop").await;
    click(&c, "#confirm-ok").await;
    text_of(&c, "main dl.facts", |t| t.contains("FAILED (stopped)")).await;

    // The list, filtered; and at phone width. An admin sees whose each process is and can
    // pick one user's.
    app.launch_ok("env", Some(&app.alice), json!([])).await;
    c.goto(&format!("{}/ui/#/processes", app.base))
        .await
        .unwrap();
    text_of(&c, "main table", |t| {
        t.contains("progress") && t.contains("alice")
    })
    .await;
    shot(&c, "processes").await;
    click(&c, "main table tbody tr:first-child td:nth-child(3) a").await;
    let alices = text_of(&c, "main table", |t| !t.contains("progress")).await;
    assert!(
        alices.contains("env") && alices.contains("alice"),
        "{alices}"
    );
    c.goto(&format!("{}/ui/#/processes?status=FAILED", app.base))
        .await
        .unwrap();
    let failed = text_of(&c, "main table", |t| t.contains("FAILED (stopped)")).await;
    assert!(!failed.contains("COMPLETED"), "{failed}");
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&format!("{}/ui/#/processes", app.base))
        .await
        .unwrap();
    text_of(&c, "main table", |t| t.contains("progress")).await;
    shot(&c, "processes-phone").await;
    c.close().await.unwrap();
}

/// The progress bar's value.
async fn progress(c: &Client) -> f64 {
    let value = c
        .execute("return document.getElementById('progress').value", vec![])
        .await
        .unwrap();
    value.as_f64().unwrap_or_else(|| panic!("progress {value}"))
}

/// `lines` needs `-c`: left empty, the service's message appears next to that field.
async fn launch_refused(c: &Client, app: &TestApp) {
    c.goto(&format!("{}/ui/#/scripts/lines", app.base))
        .await
        .unwrap();
    text_of(c, "h1", |t| t == "Start lines").await;
    click(c, "form.launch button[type=submit]").await;
    let message = text_of(c, "#param-0-error", |t| !t.is_empty()).await;
    assert!(message.contains("-c"), "{message}");
    let invalid = c
        .find(Locator::Css("#param-0"))
        .await
        .unwrap()
        .attr("aria-invalid")
        .await
        .unwrap();
    assert_eq!(invalid.as_deref(), Some("true"));
    shot(c, "launch-error").await;
}
