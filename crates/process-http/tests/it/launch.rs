//! The launch endpoint, `POST /api/system/scripts/{name}/processes`: what it accepts, what it
//! refuses (and that a refusal leaves nothing behind), and what reaches the script.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, TestApp, BACKENDS};

/// Checks that `res` is an error response with `status`, the JSON error shape, and a message
/// containing every one of `needles`; returns the body.
async fn expect_error(res: reqwest::Response, status: u16, needles: &[&str], what: &str) -> Value {
    let got = res.status().as_u16();
    let text = res.text().await.expect("body");
    assert_eq!(got, status, "{what}: {text}");
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
    assert_eq!(body["status"], status, "{what}: {body}");
    assert!(body["error"].is_string(), "{what}: {body}");
    assert!(
        body["path"]
            .as_str()
            .is_some_and(|p| p.starts_with("/api/")),
        "{what}: {body}"
    );
    let message = body["message"].as_str().unwrap_or_default();
    for needle in needles {
        assert!(
            message.contains(needle),
            "{what}: message {message:?} should mention {needle:?}"
        );
    }
    body
}

/// Every regular file below `dir` (recursively); an absent directory has none.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).expect("lstat");
        if meta.is_dir() {
            out.extend(files_below(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn data_dir(app: &TestApp) -> PathBuf {
    app.dir.path().join("data")
}

/// No upload left in `data/tmp` or `data/files`.
fn assert_no_uploads_left(app: &TestApp, what: &str) {
    for sub in ["tmp", "files"] {
        let left = files_below(&data_dir(app).join(sub));
        assert!(
            left.is_empty(),
            "{what}: files left in data/{sub}: {left:?}"
        );
    }
}

/// How many processes exist (as the admin sees them).
async fn process_count(app: &TestApp) -> u64 {
    let res = app
        .get("/api/system/processes", Some(&app.admin))
        .send()
        .await
        .expect("list");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    body["page"]["totalElements"]
        .as_u64()
        .unwrap_or_else(|| panic!("no totalElements: {body}"))
}

fn path_of(script: &str) -> String {
    format!("/api/system/scripts/{script}/processes")
}

#[actix_web::test]
async fn an_accepted_launch_answers_202_with_location_and_the_process() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let res = app
            .launch(
                "echo",
                None,
                json!([
                    {"name": "-s", "value": "hello world"},
                    {"name": "-n", "value": 42},
                    {"name": "-b", "value": true},
                    {"name": "-d", "value": "2024-02-29"}
                ]),
                vec![],
            )
            .await;
        assert_eq!(res.status(), 202, "{backend:?}");
        let location = res
            .headers()
            .get("location")
            .expect("Location header")
            .to_str()
            .unwrap()
            .to_owned();
        let body: Value = res.json().await.expect("json");
        let id = body["processId"].as_str().expect("processId is a string");
        assert!(id.parse::<u64>().is_ok_and(|n| n > 0), "{body}");
        app.remember(&body);
        // Started anonymously: the capability to see it again, in the body and the Location.
        let access = body["accessToken"].as_str().expect("accessToken");
        assert!(
            location.ends_with(&format!("/api/system/processes/{id}?access={access}")),
            "{location}"
        );
        assert!(
            matches!(
                body["processStatus"].as_str(),
                Some("SCHEDULED" | "RUNNING" | "COMPLETED")
            ),
            "{body}"
        );
        assert_eq!(body["scriptName"], "echo");
        assert_eq!(body["type"], "process");
        assert_eq!(body["userId"], Value::Null, "anonymous launch: {body}");
        assert_eq!(
            body["parameters"],
            json!([
                {"name": "-s", "value": "hello world"},
                {"name": "-n", "value": "42"},
                {"name": "-b", "value": "true"},
                {"name": "-d", "value": "2024-02-29"}
            ])
        );
        assert!(body["creationTime"].is_string(), "{body}");
        let links = &body["_links"];
        for (rel, suffix) in [
            (
                "self",
                format!("/api/system/processes/{id}?access={access}"),
            ),
            (
                "output",
                format!("/api/system/processes/{id}/output?access={access}"),
            ),
            (
                "files",
                format!("/api/system/processes/{id}/files?access={access}"),
            ),
            (
                "filetypes",
                format!("/api/system/processes/{id}/filetypes?access={access}"),
            ),
            ("script", "/api/system/scripts/echo".to_owned()),
        ] {
            assert!(
                links[rel]["href"]
                    .as_str()
                    .is_some_and(|h| h.ends_with(&suffix)),
                "{backend:?}: _links.{rel}: {links}"
            );
        }
        // The Location answers with the same process.
        let url = if location.starts_with("http") {
            location.clone()
        } else {
            app.url(&location)
        };
        let again: Value = app
            .client
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(again["processId"], id);
        let done = app.wait_done(id, None).await;
        assert_eq!(done["processStatus"], "COMPLETED", "{done}");
        assert_eq!(
            app.output(id, None).await,
            "-s\nhello world\n-n\n42\n-b\n-d\n2024-02-29\n"
        );

        // A logged-in launch belongs to its caller.
        let res = app
            .launch(
                "lines",
                Some(&app.alice),
                json!([{"name": "-c", "value": "1"}]),
                vec![],
            )
            .await;
        assert_eq!(res.status(), 202);
        let body: Value = res.json().await.unwrap();
        assert!(body["userId"].is_string(), "{body}");
        app.wait_done(body["processId"].as_str().unwrap(), Some(&app.alice))
            .await;
    }
}

#[actix_web::test]
async fn invalid_parameters_are_400_naming_the_parameter_and_create_nothing() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        let cases: Vec<(&str, Value, Vec<&str>)> = vec![
            ("lines", json!([]), vec!["missing mandatory parameter -c"]),
            (
                "echo",
                json!([{"name": "-x", "value": "1"}]),
                vec!["unknown parameter -x"],
            ),
            (
                "echo",
                json!([{"name": "-n", "value": "ten"}]),
                vec!["-n", "integer", "ten"],
            ),
            (
                "echo",
                json!([{"name": "-b", "value": "yes"}]),
                vec!["-b", "yes"],
            ),
            (
                "echo",
                json!([{"name": "-d", "value": "2024-02-30"}]),
                vec!["-d", "date", "2024-02-30"],
            ),
            (
                "echo",
                json!([{"name": "-s", "value": "a"}, {"name": "-s", "value": "b"}]),
                vec!["-s", "more than once"],
            ),
            (
                "echo",
                json!([{"name": "-s", "value": "a"}, {"name": "--string", "value": "b"}]),
                vec!["--string", "more than once"],
            ),
            (
                "echo",
                json!([{"name": "-s", "value": ["not", "a", "scalar"]}]),
                vec!["-s"],
            ),
        ];
        for (script, props, needles) in cases {
            let what = format!("{backend:?} {script} {props}");
            let res = app.launch(script, alice, props, vec![]).await;
            expect_error(res, 400, &needles, &what).await;
        }
        // A failed validation with an uploaded file leaves the file nowhere.
        let res = app
            .launch(
                "cat",
                alice,
                json!([{"name": "-f", "value": "a.csv"}, {"name": "-z", "value": "1"}]),
                vec![("a.csv", b"x,y\n".to_vec())],
            )
            .await;
        let body = expect_error(res, 400, &["unknown parameter -z"], "cat -z").await;
        assert_eq!(body["code"], "validation_failed", "{body}");
        assert_eq!(process_count(&app).await, 0, "{backend:?}");
        assert_no_uploads_left(&app, &format!("{backend:?} after 400s"));
    }
}

#[actix_web::test]
async fn malformed_requests_are_refused() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        // properties that are not a JSON array of objects.
        for bad in ["not json", "[{", "{\"name\": \"-s\"}"] {
            let form = reqwest::multipart::Form::new().text("properties", bad);
            let res = app
                .post(&path_of("echo"), alice)
                .multipart(form)
                .send()
                .await
                .unwrap();
            expect_error(res, 400, &["properties"], &format!("properties {bad:?}")).await;
        }
        // A part the endpoint does not know.
        let form = reqwest::multipart::Form::new()
            .text("properties", "[]")
            .text("bogusPart", "1");
        let res = app
            .post(&path_of("echo"), alice)
            .multipart(form)
            .send()
            .await
            .unwrap();
        expect_error(res, 400, &["bogusPart"], "unknown part").await;
        // An unknown part after an uploaded file: the file is removed too.
        let form = reqwest::multipart::Form::new()
            .text("properties", r#"[{"name":"-f","value":"a.txt"}]"#)
            .part(
                "file",
                reqwest::multipart::Part::bytes(b"abc".to_vec()).file_name("a.txt"),
            )
            .text("surprise", "1");
        let res = app
            .post(&path_of("cat"), alice)
            .multipart(form)
            .send()
            .await
            .unwrap();
        expect_error(res, 400, &["surprise"], "unknown part after a file").await;
        // A file part without a file name, and multipart bodies that do not parse.
        let form = reqwest::multipart::Form::new()
            .text("properties", r#"[{"name":"-f","value":"a"}]"#)
            .part("file", reqwest::multipart::Part::bytes(b"abc".to_vec()));
        let res = app
            .post(&path_of("cat"), alice)
            .multipart(form)
            .send()
            .await
            .unwrap();
        expect_error(res, 400, &["filename"], "file part without a name").await;
        // File names that are too long or carry control characters.
        let long = "n".repeat(256);
        for name in [long.as_str(), "tab\there"] {
            let res = app
                .launch(
                    "cat",
                    alice,
                    json!([{"name": "-f", "value": name}]),
                    vec![(name, b"abc".to_vec())],
                )
                .await;
            expect_error(res, 400, &["file name"], &format!("file name {name:?}")).await;
        }
        for (content_type, body) in [
            ("multipart/form-data", "xx"),
            ("multipart/form-data; boundary=abc", "garbage"),
        ] {
            let res = app
                .post(&path_of("echo"), alice)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            expect_error(res, 400, &["multipart"], content_type).await;
        }
        // Not multipart at all.
        let res = app
            .post(&path_of("echo"), alice)
            .json(&json!([{"name": "-s", "value": "x"}]))
            .send()
            .await
            .unwrap();
        expect_error(res, 415, &["multipart"], "JSON body").await;
        let res = app
            .post(&path_of("echo"), alice)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("properties=%5B%5D")
            .send()
            .await
            .unwrap();
        expect_error(res, 415, &[], "form-urlencoded body").await;
        // A bad startTime names the part.
        let form = reqwest::multipart::Form::new()
            .text("properties", "[]")
            .text("startTime", "tomorrow");
        let res = app
            .post(&path_of("echo"), alice)
            .multipart(form)
            .send()
            .await
            .unwrap();
        expect_error(res, 400, &["startTime"], "bad startTime").await;
        assert_eq!(process_count(&app).await, 0, "{backend:?}");
        assert_no_uploads_left(&app, &format!("{backend:?} after malformed requests"));
    }
}

#[actix_web::test]
async fn files_that_do_not_match_the_parameters_are_422() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        let res = app
            .launch(
                "cat",
                alice,
                json!([{"name": "-f", "value": "b.csv"}]),
                vec![("a.csv", b"1,2\n".to_vec())],
            )
            .await;
        let body = expect_error(res, 422, &["-f", "b.csv"], "file not sent").await;
        assert_eq!(body["code"], "file_not_sent", "{body}");
        let res = app
            .launch(
                "cat",
                alice,
                json!([{"name": "-f", "value": "b.csv"}]),
                vec![],
            )
            .await;
        let body = expect_error(res, 422, &["b.csv"], "no file at all").await;
        assert_eq!(body["code"], "file_not_sent", "{body}");
        let res = app
            .launch(
                "cat",
                alice,
                json!([{"name": "-f", "value": "a.csv"}]),
                vec![("a.csv", b"one\n".to_vec()), ("a.csv", b"two\n".to_vec())],
            )
            .await;
        let body = expect_error(res, 422, &["a.csv"], "two files with one name").await;
        assert_eq!(body["code"], "duplicate_file", "{body}");
        // A file no parameter names would only fill the disk, even for an anonymous script.
        let res = app
            .launch(
                "cat",
                alice,
                json!([{"name": "-f", "value": "a.csv"}]),
                vec![("a.csv", b"1\n".to_vec()), ("filler.bin", vec![0; 4096])],
            )
            .await;
        let body = expect_error(res, 422, &["filler.bin"], "a file no parameter uses").await;
        assert_eq!(body["code"], "file_not_used", "{body}");
        let res = app
            .launch("echo", None, json!([]), vec![("filler.bin", vec![0; 4096])])
            .await;
        let body = expect_error(res, 422, &["filler.bin"], "anonymous filler").await;
        assert_eq!(body["code"], "file_not_used", "{body}");
        // A value an argparse-style script would take for an option is refused.
        let res = app
            .launch(
                "echo",
                None,
                json!([{"name": "-s", "value": "--output=/etc/passwd"}]),
                vec![],
            )
            .await;
        let body = expect_error(res, 400, &["-s", "--output"], "option-like value").await;
        assert_eq!(body["code"], "option_like_value", "{body}");
        assert_eq!(process_count(&app).await, 0, "{backend:?}");
        assert_no_uploads_left(&app, &format!("{backend:?} after 422s"));

        // The matching launch works, and its input is listed as an inputFile.
        let res = app
            .launch(
                "cat",
                alice,
                json!([{"name": "--file", "value": "a.csv"}]),
                vec![("a.csv", b"one\n".to_vec())],
            )
            .await;
        assert_eq!(res.status(), 202);
        let body: Value = res.json().await.unwrap();
        let id = body["processId"].as_str().unwrap();
        let p = app.wait_done(id, alice).await;
        assert_eq!(p["processStatus"], "COMPLETED", "{p}");
        let out = app.output(id, alice).await;
        assert!(out.ends_with("\none\n"), "{out}");
        let files: Value = app
            .get(&format!("/api/system/processes/{id}/files"), alice)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let list = files["_embedded"]["bitstreams"]
            .as_array()
            .expect("bitstreams");
        // The input, then the console log.
        assert_eq!(list.len(), 2, "{files}");
        assert_eq!(list[0]["name"], "a.csv");
        assert_eq!(
            list[0]["metadata"]["dspace.process.filetype"][0]["value"],
            "inputFile"
        );
        assert_eq!(list[0]["sizeBytes"], 4);
        // MD5 of "one\n".
        assert_eq!(
            list[0]["checkSum"]["value"],
            "5bbf5a52328e7439ae6e719dfe712200"
        );
    }
}

#[actix_web::test]
async fn unknown_scripts_and_callers_who_may_not_start_are_refused() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let res = app
            .launch("no-such-script", Some(&app.admin), json!([]), vec![])
            .await;
        expect_error(res, 404, &["no-such-script"], "unknown script").await;
        let res = app
            .launch("lines", None, json!([{"name": "-c", "value": "1"}]), vec![])
            .await;
        let res_headers = res.headers().clone();
        expect_error(res, 401, &[], "anonymous on an authenticated script").await;
        assert!(res_headers.contains_key("www-authenticate"));
        let res = app
            .launch(
                "lines",
                Some("not-a-real-token"),
                json!([{"name": "-c", "value": "1"}]),
                vec![],
            )
            .await;
        assert_eq!(res.status(), 401, "bad token");
        for script in ["admin-only", "lab-only"] {
            let res = app.launch(script, Some(&app.bob), json!([]), vec![]).await;
            expect_error(res, 403, &[], &format!("bob on {script}")).await;
            let res = app.launch(script, None, json!([]), vec![]).await;
            expect_error(res, 401, &[], &format!("anonymous on {script}")).await;
        }
        let res = app
            .launch("admin-only", Some(&app.alice), json!([]), vec![])
            .await;
        expect_error(res, 403, &[], "alice on admin-only").await;
        // Nothing was created by the refusals.
        assert_eq!(process_count(&app).await, 0, "{backend:?}");

        let mut ids = Vec::new();
        for (script, token) in [
            ("lab-only", app.alice.as_str()),
            ("admin-only", app.admin.as_str()),
            ("lab-only", app.admin.as_str()),
        ] {
            ids.push((app.launch_ok(script, Some(token), json!([])).await, token));
        }
        for (id, token) in ids {
            let p = app.wait_done(&id, Some(token)).await;
            assert_eq!(p["processStatus"], "COMPLETED", "{backend:?}: {p}");
        }
        assert_eq!(process_count(&app).await, 3);
    }
}

#[actix_web::test]
async fn uploads_over_the_limit_are_413_and_leave_nothing_behind() {
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, "max_upload_bytes = 1000").await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        // One file over the limit.
        let res = app
            .launch(
                "cat",
                alice,
                json!([{"name": "-f", "value": "big.bin"}]),
                vec![("big.bin", vec![b'a'; 2000])],
            )
            .await;
        expect_error(res, 413, &["1000"], "one big file").await;
        // Two files, each under the limit, together over it: the first, already stored, is
        // removed too.
        let res = app
            .launch(
                "cat",
                alice,
                json!([{"name": "-f", "value": "one.bin"}]),
                vec![("one.bin", vec![b'a'; 600]), ("two.bin", vec![b'b'; 600])],
            )
            .await;
        expect_error(res, 413, &[], "two files over the limit together").await;
        // Far over the limit: refused from its Content-Length, still with a JSON 413.
        let res = app
            .launch(
                "cat",
                alice,
                json!([{"name": "-f", "value": "huge.bin"}]),
                vec![("huge.bin", vec![b'a'; 6 * 1024 * 1024])],
            )
            .await;
        expect_error(res, 413, &["1000"], "a huge file").await;
        // The caller is checked before the body is read.
        let res = app
            .launch(
                "cat",
                None,
                json!([{"name": "-f", "value": "huge.bin"}]),
                vec![("huge.bin", vec![b'a'; 6 * 1024 * 1024])],
            )
            .await;
        expect_error(res, 401, &[], "anonymous huge upload").await;
        assert_eq!(process_count(&app).await, 0, "{backend:?}");
        assert_no_uploads_left(&app, &format!("{backend:?} after 413"));

        // Right at the limit is fine.
        let res = app
            .launch(
                "cat",
                alice,
                json!([{"name": "-f", "value": "ok.bin"}]),
                vec![("ok.bin", vec![b'c'; 1000])],
            )
            .await;
        assert_eq!(
            res.status(),
            202,
            "{}",
            res.text().await.unwrap_or_default()
        );
        let body: Value = res.json().await.unwrap();
        let p = app
            .wait_done(body["processId"].as_str().unwrap(), alice)
            .await;
        assert_eq!(p["processStatus"], "COMPLETED", "{p}");
        assert_eq!(process_count(&app).await, 1);
    }
}

#[actix_web::test]
async fn hostile_upload_names_stay_inside_the_data_dir() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        let parent_x = app.dir.path().parent().map(|p| p.join("x"));
        let parent_x_existed = parent_x.as_ref().is_some_and(|p| p.exists());
        let passwd_before = std::fs::read("/etc/passwd").ok();
        let data = data_dir(&app)
            .canonicalize()
            .expect("data dir exists after start");
        for (name, content) in [
            ("../../x", "relative escape\n"),
            ("..", "dot dot\n"),
            ("/etc/passwd", "absolute escape\n"),
            ("../../../../../../../../tmp/x.csv", "deep escape\n"),
        ] {
            let res = app
                .launch(
                    "cat",
                    alice,
                    json!([{"name": "-f", "value": name}]),
                    vec![(name, content.as_bytes().to_vec())],
                )
                .await;
            assert_eq!(
                res.status(),
                202,
                "{name}: {}",
                res.text().await.unwrap_or_default()
            );
            let body: Value = res.json().await.unwrap();
            let id = body["processId"].as_str().unwrap().to_owned();
            assert_eq!(body["parameters"], json!([{"name": "-f", "value": name}]));
            let p = app.wait_done(&id, alice).await;
            assert_eq!(p["processStatus"], "COMPLETED", "{backend:?} {name}: {p}");
            let out = app.output(&id, alice).await;
            let (first, rest) = out.split_once('\n').expect("two lines");
            assert_eq!(rest, content, "{name}: the script read the upload");
            let path = first.strip_prefix("path=").expect("path= line");
            let path = Path::new(path);
            assert!(path.is_absolute(), "{path:?}");
            assert!(
                !path
                    .components()
                    .any(|c| matches!(c, std::path::Component::ParentDir)),
                "{name}: {path:?}"
            );
            let real = path.canonicalize().expect("input still exists");
            assert!(
                real.starts_with(&data),
                "{name}: the script got {path:?}, outside {data:?}"
            );
            assert!(
                !path.to_string_lossy().contains("passwd"),
                "the client's name is not used on disk: {path:?}"
            );
        }
        // Nothing written outside the data dir.
        let outside: Vec<PathBuf> = files_below(app.dir.path())
            .into_iter()
            .filter(|p| !p.starts_with(app.dir.path().join("data")))
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('x'))
            })
            .collect();
        assert!(outside.is_empty(), "{outside:?}");
        let named_x: Vec<PathBuf> = files_below(app.dir.path())
            .into_iter()
            .filter(|p| p.file_name().is_some_and(|n| n == "x" || n == "x.csv"))
            .collect();
        assert!(named_x.is_empty(), "{named_x:?}");
        if !parent_x_existed {
            assert!(
                !parent_x.as_ref().is_some_and(|p| p.exists()),
                "{parent_x:?} was written"
            );
        }
        assert_eq!(std::fs::read("/etc/passwd").ok(), passwd_before);
    }
}

#[actix_web::test]
async fn shell_metacharacters_reach_the_script_as_one_argument() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let marker = std::env::temp_dir().join(format!("pwned-{}", uuid::Uuid::new_v4().simple()));
        let value = format!(
            "$(touch {m}); rm -rf / | & ; `touch {m}` > out * ~ \\ \"quoted\" 'single' {{a,b}} $HOME",
            m = marker.display()
        );
        let id = app
            .launch_ok("echo", None, json!([{"name": "-s", "value": value}]))
            .await;
        let p = app.wait_done(&id, None).await;
        assert_eq!(p["processStatus"], "COMPLETED", "{backend:?}: {p}");
        assert_eq!(app.output(&id, None).await, format!("-s\n{value}\n"));
        assert_eq!(p["parameters"], json!([{"name": "-s", "value": value}]));
        assert!(!marker.exists(), "{marker:?} was created: a shell ran");
        // No file named `out` was made in the run's working directory either.
        let out_files: Vec<PathBuf> = files_below(&data_dir(&app))
            .into_iter()
            .filter(|p| p.file_name().is_some_and(|n| n == "out"))
            .collect();
        assert!(out_files.is_empty(), "{out_files:?}");
    }
}

/// Sends a launch with extra text parts (`startTime`, `dependsOn`, `dependencyType`).
async fn launch_with(
    app: &TestApp,
    script: &str,
    token: Option<&str>,
    properties: Value,
    parts: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new().text("properties", properties.to_string());
    for (name, value) in parts {
        form = form.text((*name).to_owned(), (*value).to_owned());
    }
    app.post(&path_of(script), token)
        .multipart(form)
        .send()
        .await
        .expect("launch")
}

#[actix_web::test]
async fn start_time_and_dependencies_are_checked_at_launch() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        let one = json!([{"name": "-c", "value": 1}]);
        // A start in the future waits, and is echoed.
        let res = launch_with(
            &app,
            "lines",
            alice,
            one.clone(),
            &[("startTime", "2999-01-01T00:00:00Z")],
        )
        .await;
        assert_eq!(res.status(), 202);
        let later: Value = res.json().await.unwrap();
        assert_eq!(later["processStatus"], "SCHEDULED");
        assert!(
            later["scheduledStartTime"]
                .as_str()
                .is_some_and(|t| t.starts_with("2999-01-01T00:00:00")),
            "{later}"
        );
        let later_id = later["processId"].as_str().unwrap().to_owned();
        // A start in the past runs now.
        let res = launch_with(
            &app,
            "lines",
            alice,
            one.clone(),
            &[("startTime", "2000-01-01T00:00:00Z")],
        )
        .await;
        assert_eq!(res.status(), 202);
        let past: Value = res.json().await.unwrap();
        let p = app
            .wait_done(past["processId"].as_str().unwrap(), alice)
            .await;
        assert_eq!(p["processStatus"], "COMPLETED", "{p}");
        assert_eq!(
            app.process(&later_id, alice).await["processStatus"],
            "SCHEDULED"
        );

        // Dependencies must be processes the caller can see.
        let bobs = app.launch_ok("lines", Some(&app.bob), one.clone()).await;
        for (value, needle) in [
            ("999999", "999999"),
            ("abc", "abc"),
            (bobs.as_str(), bobs.as_str()),
        ] {
            let res = launch_with(&app, "lines", alice, one.clone(), &[("dependsOn", value)]).await;
            expect_error(
                res,
                400,
                &["dependsOn", needle],
                &format!("dependsOn {value}"),
            )
            .await;
        }
        let res = launch_with(
            &app,
            "lines",
            alice,
            one.clone(),
            &[("dependsOn", &later_id), ("dependencyType", "sometimes")],
        )
        .await;
        expect_error(res, 400, &["sometimes"], "bad dependencyType").await;

        // afterok: a failed dependency fails the dependent without running it; afterany runs.
        let failing = app
            .launch_ok("exit", alice, json!([{"name": "-c", "value": 1}]))
            .await;
        let res = launch_with(
            &app,
            "lines",
            alice,
            one.clone(),
            &[("dependsOn", &failing)],
        )
        .await;
        assert_eq!(res.status(), 202);
        let ok_dep: Value = res.json().await.unwrap();
        assert_eq!(ok_dep["dependsOn"], json!([failing.clone()]));
        assert_eq!(ok_dep["dependencyType"], "afterok");
        let res = launch_with(
            &app,
            "lines",
            alice,
            one.clone(),
            &[("dependsOn", &failing), ("dependencyType", "afterany")],
        )
        .await;
        assert_eq!(res.status(), 202);
        let any_dep: Value = res.json().await.unwrap();
        assert_eq!(any_dep["dependencyType"], "afterany");
        let p = app
            .wait_done(ok_dep["processId"].as_str().unwrap(), alice)
            .await;
        assert_eq!(p["processStatus"], "FAILED", "{p}");
        assert_eq!(p["statusReason"], "dependency");
        assert_eq!(p["startTime"], Value::Null, "{p}");
        let p = app
            .wait_done(any_dep["processId"].as_str().unwrap(), alice)
            .await;
        assert_eq!(p["processStatus"], "COMPLETED", "{p}");

        // The future one can be stopped without ever running.
        let res = app
            .post(&format!("/api/system/processes/{later_id}/stop"), alice)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
        let p = app.wait_done(&later_id, alice).await;
        assert_eq!(p["statusReason"], "stopped");
        assert_eq!(p["startTime"], Value::Null);
        app.wait_done(&bobs, Some(&app.bob)).await;
    }
}

/// Polls `cond` every 25 ms for at most 5 s.
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..200 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{what}: not after 5 s");
}

/// A client that goes away in the middle of an upload leaves no file and no process.
#[actix_web::test]
async fn an_upload_cut_off_midway_leaves_nothing() {
    use tokio::io::AsyncWriteExt;
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let addr = app.base.trim_start_matches("http://").to_owned();
        let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let boundary = "XBOUNDARYX";
        let head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"properties\"\r\n\r\n\
             [{{\"name\":\"-f\",\"value\":\"a.bin\"}}]\r\n--{boundary}\r\n\
             Content-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        );
        let request = format!(
            "POST {} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {}\r\n\
             Content-Type: multipart/form-data; boundary={boundary}\r\n\
             Content-Length: 100000\r\n\r\n{head}",
            path_of("cat"),
            app.alice
        );
        socket.write_all(request.as_bytes()).await.unwrap();
        socket.write_all(&[b'a'; 20_000]).await.unwrap();
        socket.flush().await.unwrap();
        let tmp = data_dir(&app).join("tmp");
        eventually("the upload is being written", || {
            !files_below(&tmp).is_empty()
        })
        .await;
        drop(socket);
        eventually("the partial upload is removed", || {
            files_below(&tmp).is_empty() && files_below(&data_dir(&app).join("files")).is_empty()
        })
        .await;
        assert_eq!(process_count(&app).await, 0, "{backend:?}");
    }
}
