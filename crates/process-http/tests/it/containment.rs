//! Scripts are contained: everything a run started dies with it (even children that left the
//! process group), a script reaches its own files but not the data directory, what is
//! served is only what was registered, and a script cannot change a stored input.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use md5::{Digest, Md5};
use process_runner::confine::{detect_cgroups, detect_landlock};
use serde_json::{json, Value};

use crate::helpers::{fixture, spawn_app_in, spawn_app_with, Backend, TestApp, BACKENDS};

fn scripts() -> String {
    format!(
        r#"
[[script]]
name = "setsid"
command = ["{setsid}"]
allowed = ["authenticated"]
[[script.parameter]]
name = "-t"
type = "integer"

[[script]]
name = "setsid-timeout"
command = ["{setsid}", "-t", "30"]
allowed = ["authenticated"]
max_clock_time = "1s"

[[script]]
name = "snoop"
command = ["{snoop}"]
allowed = ["authenticated"]
[[script.parameter]]
name = "-f"
type = "file"
mandatory = true
[[script.parameter]]
name = "-s"
type = "string"
[[script.parameter]]
name = "-o"
type = "string"

[[script]]
name = "tamper"
command = ["{tamper}"]
allowed = ["authenticated"]
[[script.parameter]]
name = "-f"
type = "file"
mandatory = true
"#,
        setsid = fixture("setsid_child.sh"),
        snoop = fixture("snoop.sh"),
        tamper = fixture("tamper_input.sh"),
    )
}

/// Why runs cannot be contained on this kernel, detected the way processd detects it; `None`
/// when they can.
fn unsupported(what: &str) -> Option<String> {
    let probe_dir = std::env::temp_dir().join("processd-containment-probe");
    let missing = match what {
        "cgroup" => detect_cgroups(&probe_dir).err(),
        _ => detect_landlock().err(),
    };
    if let Some(why) = &missing {
        eprintln!("skipped: no {what} containment on this kernel: {why}");
    }
    missing
}

fn data_dir(app: &TestApp) -> PathBuf {
    app.dir.path().join("data")
}

/// Whether a process runs (a zombie has already died).
fn alive(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rfind(')')
        .is_some_and(|i| !stat[i + 1..].trim_start().starts_with('Z'))
}

fn child_pid(out: &str) -> i32 {
    out.lines()
        .find_map(|l| l.strip_prefix("child="))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no child pid in {out:?}"))
}

/// Polls the output until it contains `needle`.
async fn wait_output(app: &TestApp, id: &str, needle: &str) -> String {
    for _ in 0..400 {
        let out = app.output(id, Some(&app.alice)).await;
        if out.contains(needle) {
            return out;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("process {id} never printed {needle:?}");
}

async fn launch_with_file(
    app: &TestApp,
    script: &str,
    props: Value,
    name: &str,
    bytes: &[u8],
) -> String {
    let res = app
        .launch(
            script,
            Some(&app.alice),
            props,
            vec![(name, bytes.to_vec())],
        )
        .await;
    assert_eq!(
        res.status(),
        202,
        "{}",
        res.text().await.unwrap_or_default()
    );
    res.json::<Value>().await.unwrap()["processId"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[actix_web::test]
async fn children_that_leave_the_process_group_die_when_the_run_ends() {
    if unsupported("cgroup").is_some() {
        return;
    }
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, &scripts()).await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        let t0 = Instant::now();
        let id = app.launch_ok("setsid", alice, json!([])).await;
        let p = app.wait_done(&id, alice).await;
        assert_eq!(p["processStatus"], "COMPLETED", "{backend:?}: {p}");
        // The child held the output pipes: only killing it ends the run this soon.
        assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
        let out = app.output(&id, alice).await;
        assert!(out.contains("done"), "{out}");
        let child = child_pid(&out);
        assert!(!alive(child), "{backend:?}: child {child} outlived its run");
    }
}

#[actix_web::test]
async fn children_that_leave_the_process_group_die_on_stop_and_timeout() {
    if unsupported("cgroup").is_some() {
        return;
    }
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, &scripts()).await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        let id = app
            .launch_ok("setsid", alice, json!([{"name": "-t", "value": 30}]))
            .await;
        let out = wait_output(&app, &id, "started").await;
        let child = child_pid(&out);
        assert!(alive(child), "the child runs while the script does");
        let res = app
            .post(&format!("/api/system/processes/{id}/stop"), alice)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
        let p = app.wait_done(&id, alice).await;
        assert_eq!(p["statusReason"], "stopped", "{backend:?}: {p}");
        assert!(
            !alive(child),
            "{backend:?}: child {child} outlived the stop"
        );

        let id = app.launch_ok("setsid-timeout", alice, json!([])).await;
        let p = app.wait_done(&id, alice).await;
        assert_eq!(p["statusReason"], "timeout", "{backend:?}: {p}");
        let child = child_pid(&app.output(&id, alice).await);
        assert!(
            !alive(child),
            "{backend:?}: child {child} outlived the timeout"
        );
    }
}

/// Something a script of another run must not read: the SQLite database, or (on PostgreSQL)
/// a stored input file.
fn secret_of(data: &Path, backend: Backend) -> PathBuf {
    match backend {
        Backend::Sqlite => data.join("processd.db"),
        Backend::Postgres => std::fs::read_dir(data.join("files"))
            .unwrap()
            .flatten()
            .next()
            .expect("a stored input")
            .path(),
    }
}

#[actix_web::test]
async fn a_script_reaches_its_own_files_but_not_the_data_directory() {
    if unsupported("landlock").is_some() {
        return;
    }
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, &scripts()).await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        // Another run, with an input stored and an output left behind.
        let other = launch_with_file(
            &app,
            "tamper",
            json!([{"name": "-f", "value": "o.txt"}]),
            "o.txt",
            b"other\n",
        )
        .await;
        app.wait_done(&other, alice).await;
        let other_dir = data_dir(&app).join("runs").join(&other);
        let secret = secret_of(&data_dir(&app), backend);
        assert!(secret.is_file() && other_dir.is_dir());

        let id = launch_with_file(
            &app,
            "snoop",
            json!([
                {"name": "-s", "value": secret.display().to_string()},
                {"name": "-o", "value": other_dir.display().to_string()},
                {"name": "-f", "value": "in.txt"},
            ]),
            "in.txt",
            b"my input",
        )
        .await;
        let p = app.wait_done(&id, alice).await;
        let out = app.output(&id, alice).await;
        assert_eq!(p["processStatus"], "COMPLETED", "{backend:?}: {p}\n{out}");
        assert!(out.contains("Permission denied"), "{backend:?}: {out}");
        assert!(out.contains("secret denied"), "{backend:?}: {out}");
        assert!(out.contains("other run denied"), "{backend:?}: {out}");
        assert!(out.contains("input: my input"), "{backend:?}: {out}");
        assert!(out.contains("wrote output"), "{backend:?}: {out}");
        let files: Value = app
            .get(
                &format!("/api/system/processes/{id}/files/outputFile"),
                alice,
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            files["_embedded"]["bitstreams"][0]["name"], "mine.txt",
            "{files}"
        );

        // Console logs live outside the run directories: no script reads or lists them.
        let logs = data_dir(&app).join("logs");
        let other_log = logs.join(format!("{other}.log"));
        assert!(other_log.is_file());
        let id = launch_with_file(
            &app,
            "snoop",
            json!([
                {"name": "-s", "value": other_log.display().to_string()},
                {"name": "-o", "value": logs.display().to_string()},
                {"name": "-f", "value": "in.txt"},
            ]),
            "in.txt",
            b"again",
        )
        .await;
        app.wait_done(&id, alice).await;
        let out = app.output(&id, alice).await;
        assert!(out.contains("secret denied"), "{backend:?}: {out}");
        assert!(out.contains("other run denied"), "{backend:?}: {out}");
    }
}

async fn files_of(app: &TestApp, id: &str) -> Vec<Value> {
    let body: Value = app
        .get(&format!("/api/system/processes/{id}/files"), Some(&app.bob))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["_embedded"]["bitstreams"].as_array().unwrap().clone()
}

fn uuid_of(files: &[Value], name: &str) -> String {
    files
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {files:?}"))["uuid"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn download(app: &TestApp, uuid: &str) -> (u16, Vec<u8>) {
    let res = app
        .get(
            &format!("/api/core/bitstreams/{uuid}/content"),
            Some(&app.bob),
        )
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.bytes().await.unwrap().to_vec())
}

fn replace_with_symlink(path: &Path, target: &Path) {
    if path.is_dir() {
        std::fs::rename(path, path.with_extension("moved")).unwrap();
    } else {
        std::fs::remove_file(path).unwrap();
    }
    std::os::unix::fs::symlink(target, path).unwrap();
}

/// What a process left behind after registration (or anyone with write access to its run
/// directory) swaps registered files for symlinks: downloads and archives refuse them.
#[actix_web::test]
async fn files_swapped_for_symlinks_after_registration_are_never_served() {
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, "").await else {
            continue;
        };
        let bob = Some(app.bob.as_str());
        let id = app
            .launch_ok("outputs", bob, json!([{"name": "-z", "value": 10}]))
            .await;
        let p = app.wait_done(&id, bob).await;
        assert_eq!(p["processStatus"], "COMPLETED", "{p}");
        let files = files_of(&app, &id).await;
        let output = data_dir(&app).join("runs").join(&id).join("output");

        // Secrets of exactly the registered sizes, so only the symlink gives them away.
        let outside = app.dir.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("result.txt"), b"SECRT\n").unwrap();
        std::fs::write(outside.join("deep.txt"), b"SECR\n").unwrap();
        replace_with_symlink(&output.join("result.txt"), &outside.join("result.txt"));
        // A parent directory swapped for a symlink to a directory with the same names.
        replace_with_symlink(&output.join("exportCSV/nested"), &outside);
        // A symlink to the database (SQLite) or to something else only processd reads.
        let db = match backend {
            Backend::Sqlite => data_dir(&app).join("processd.db"),
            Backend::Postgres => outside.join("result.txt"),
        };
        replace_with_symlink(&output.join("zeros.bin"), &db);

        for name in ["result.txt", "nested/deep.txt", "zeros.bin"] {
            let (status, body) = download(&app, &uuid_of(&files, name)).await;
            assert_eq!(status, 404, "{backend:?}: {name} was served");
            let body: Value = serde_json::from_slice(&body).expect("a JSON error");
            assert_eq!(body["status"], 404, "{body}");
        }
        // A file left alone is still served.
        let (status, body) = download(&app, &uuid_of(&files, "export.csv")).await;
        assert_eq!((status, body.as_slice()), (200, &b"a,b\n1,2\n"[..]));

        let res = app
            .get(&format!("/api/system/processes/{id}/archive"), bob)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let bytes = res.bytes().await.unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
        let names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
        assert_eq!(names, ["exportCSV/export.csv"], "{backend:?}");
        let mut kept = String::new();
        std::io::Read::read_to_string(&mut zip.by_index(0).unwrap(), &mut kept).unwrap();
        assert_eq!(kept, "a,b\n1,2\n");
    }
}

#[actix_web::test]
async fn an_input_rewritten_by_the_script_stays_intact_in_storage() {
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, &scripts()).await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        let original = b"original content\n";
        let id = launch_with_file(
            &app,
            "tamper",
            json!([{"name": "-f", "value": "data.txt"}]),
            "data.txt",
            original,
        )
        .await;
        let p = app.wait_done(&id, alice).await;
        let out = app.output(&id, alice).await;
        assert_eq!(p["processStatus"], "COMPLETED", "{backend:?}: {p}\n{out}");
        // The script changed its copy...
        assert!(out.contains("overwrote the input\ntampered\n"), "{out}");
        // ...and the stored bitstream is what was uploaded, with the MD5 recorded then.
        let body: Value = app
            .get(
                &format!("/api/system/processes/{id}/files/inputFile"),
                alice,
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let input = &body["_embedded"]["bitstreams"][0];
        let md5 = hex::encode(Md5::digest(original));
        assert_eq!(input["checkSum"]["value"], md5.as_str(), "{body}");
        let uuid = input["uuid"].as_str().unwrap();
        let res = app
            .get(&format!("/api/core/bitstreams/{uuid}/content"), alice)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let content = res.bytes().await.unwrap();
        assert_eq!(content.as_ref(), original, "{backend:?}");
        assert_eq!(hex::encode(Md5::digest(&content)), md5);
    }
}

/// With `run_as`, scripts run as that user and reach their own run directory, but not the
/// database, the stored files or other runs — with no other confinement, and with it.
#[actix_web::test]
async fn scripts_run_as_the_configured_user() {
    use std::os::unix::fs::PermissionsExt;
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: run_as needs processd to run as root");
        return;
    }
    let Some(nobody) = nix::unistd::User::from_name("nobody").ok().flatten() else {
        eprintln!("skipped: there is no user nobody to run scripts as");
        return;
    };
    for (backend, confine) in BACKENDS.into_iter().flat_map(|b| [(b, "off"), (b, "auto")]) {
        let dir = tempfile::tempdir().unwrap();
        // The user passes through the directories above the data directory, as in a real
        // deployment (processd prepares the data directory itself).
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
        let data = dir.path().join("data");
        let extra = format!(
            "run_as = \"nobody\"\nconfine_scripts = \"{confine}\"\n{}",
            scripts()
        );
        let Some(app) = spawn_app_in(backend, &data, &extra).await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        let other = launch_with_file(
            &app,
            "tamper",
            json!([{"name": "-f", "value": "o.txt"}]),
            "o.txt",
            b"other\n",
        )
        .await;
        let p = app.wait_done(&other, alice).await;
        assert_eq!(p["processStatus"], "COMPLETED", "{backend:?}: {p}");
        let secret = secret_of(&data, backend);
        let id = launch_with_file(
            &app,
            "snoop",
            json!([
                {"name": "-s", "value": secret.display().to_string()},
                {"name": "-o", "value": data.join("runs").join(&other).display().to_string()},
                {"name": "-f", "value": "in.txt"},
            ]),
            "in.txt",
            b"my input",
        )
        .await;
        let p = app.wait_done(&id, alice).await;
        let out = app.output(&id, alice).await;
        assert_eq!(p["processStatus"], "COMPLETED", "{backend:?}: {p}\n{out}");
        assert!(
            out.contains(&format!("uid={}\n", nobody.uid)),
            "{backend:?}: {out}"
        );
        assert!(out.contains("secret denied"), "{backend:?}: {out}");
        assert!(out.contains("other run denied"), "{backend:?}: {out}");
        assert!(out.contains("input: my input"), "{backend:?}: {out}");
        assert!(out.contains("wrote output"), "{backend:?}: {out}");
        let files: Value = app
            .get(
                &format!("/api/system/processes/{id}/files/outputFile"),
                alice,
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let uuid = files["_embedded"]["bitstreams"][0]["uuid"]
            .as_str()
            .unwrap();
        let (status, body) = download(&app, uuid).await;
        // Downloads are bob's in `download`; alice owns this one.
        assert_eq!(status, 404, "{body:?}");
        let res = app
            .get(&format!("/api/core/bitstreams/{uuid}/content"), alice)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.bytes().await.unwrap().as_ref(), b"mine\n");
    }
}
