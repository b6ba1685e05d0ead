//! Upload sessions, `/api/system/uploadDefinitions`: the FOLIO-shaped lifecycle (NEW →
//! IN_PROGRESS → LOADED → COMPLETED), streamed uploads with the size limit, privacy, and a
//! launch that consumes a session.

use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, TestApp, BACKENDS};

const UPLOADS: &str = "/api/system/uploadDefinitions";

fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// Asserts the status and the JSON error shape; returns the message.
async fn expect_error(res: reqwest::Response, status: u16, what: &str) -> String {
    let got = res.status().as_u16();
    let text = res.text().await.expect("body");
    assert_eq!(got, status, "{what}: {text}");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}: {text}"));
    assert_eq!(body["status"], status, "{what}: {body}");
    body["message"].as_str().unwrap_or_default().to_owned()
}

async fn expect_json(res: reqwest::Response, status: u16, what: &str) -> Value {
    let got = res.status().as_u16();
    let text = res.text().await.expect("body");
    assert_eq!(got, status, "{what}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}: {text}"))
}

/// Creates a session with files `names` as `token`; returns its JSON.
async fn create(app: &TestApp, token: &str, names: &[&str]) -> Value {
    let files: Vec<Value> = names.iter().map(|n| json!({"name": n})).collect();
    let res = app
        .post(UPLOADS, Some(token))
        .json(&json!({"fileDefinitions": files}))
        .send()
        .await
        .unwrap();
    expect_json(res, 201, "create").await
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

/// The id of the file definition named `name`.
fn file_id(def: &Value, name: &str) -> String {
    def["fileDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no file {name} in {def}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn file<'a>(def: &'a Value, name: &str) -> &'a Value {
    def["fileDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no file {name} in {def}"))
}

async fn send_bytes(
    app: &TestApp,
    token: Option<&str>,
    def: &str,
    file: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    app.post(&format!("{UPLOADS}/{def}/files/{file}"), token)
        .header("Content-Type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn upload_ok(app: &TestApp, token: &str, def: &str, file: &str, bytes: &[u8]) -> Value {
    let res = send_bytes(app, Some(token), def, file, bytes.to_vec()).await;
    expect_json(res, 200, "upload").await
}

async fn get(app: &TestApp, token: Option<&str>, def: &str) -> reqwest::Response {
    app.get(&format!("{UPLOADS}/{def}"), token)
        .send()
        .await
        .unwrap()
}

/// Launches `script` with `properties`, naming session `upload`.
async fn launch_with(
    app: &TestApp,
    token: &str,
    script: &str,
    properties: Value,
    upload: &str,
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .text("properties", properties.to_string())
        .text("uploadDefinitionId", upload.to_owned());
    app.post(
        &format!("/api/system/scripts/{script}/processes"),
        Some(token),
    )
    .multipart(form)
    .send()
    .await
    .unwrap()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

fn data(app: &TestApp, sub: &str) -> PathBuf {
    app.dir.path().join("data").join(sub)
}

#[actix_web::test]
async fn a_loaded_session_feeds_a_launch_and_completes() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let alice = app.alice.clone();
        let res = app
            .post(UPLOADS, Some(&alice))
            .json(
                &json!({"fileDefinitions": [{"name": "a.csv"}, {"name": "b.csv", "uiKey": "k-b"}]}),
            )
            .send()
            .await
            .unwrap();
        let location = res
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let def = expect_json(res, 201, "create").await;
        let uid = id(&def);
        assert_eq!(location, Some(app.url(&format!("{UPLOADS}/{uid}"))));
        assert_eq!(def["status"], "NEW", "{def}");
        assert_eq!(def["type"], "uploadDefinition");
        assert!(uuid::Uuid::parse_str(&uid).is_ok());
        assert!(def["createDate"].as_str().unwrap().ends_with('Z'), "{def}");
        assert!(def["metadata"]["createdByUserId"].is_string(), "{def}");
        assert_eq!(
            def["_links"]["self"]["href"],
            app.url(&format!("{UPLOADS}/{uid}"))
        );
        let files = def["fileDefinitions"].as_array().unwrap();
        assert_eq!(files.len(), 2);
        for (f, name) in files.iter().zip(["a.csv", "b.csv"]) {
            assert_eq!(f["name"], name);
            assert_eq!(f["status"], "NEW");
            assert_eq!(f["uploadDefinitionId"], uid.as_str());
            assert!(uuid::Uuid::parse_str(f["id"].as_str().unwrap()).is_ok());
            assert!(f["createDate"].is_string());
            assert!(f.get("uploadedDate").is_none(), "{f}");
        }
        assert_eq!(files[1]["uiKey"], "k-b");
        let (a, b) = (file_id(&def, "a.csv"), file_id(&def, "b.csv"));

        let a_bytes = b"id,title\n1,first\n".to_vec();
        let b_bytes = b"id,title\n2,second line from b\n".to_vec();
        let after_a = upload_ok(&app, &alice, &uid, &a, &a_bytes).await;
        assert_eq!(after_a["status"], "IN_PROGRESS", "{after_a}");
        let fa = file(&after_a, "a.csv");
        assert_eq!(fa["status"], "UPLOADED");
        assert!(fa["uploadedDate"].is_string());
        assert_eq!(fa["sizeBytes"], a_bytes.len());
        assert_eq!(fa["size"], 1);
        assert_eq!(fa["checkSum"]["checkSumAlgorithm"], "MD5");
        assert_eq!(fa["checkSum"]["value"], md5_hex(&a_bytes));
        assert_eq!(file(&after_a, "b.csv")["status"], "NEW");

        let loaded = upload_ok(&app, &alice, &uid, &b, &b_bytes).await;
        assert_eq!(loaded["status"], "LOADED", "{loaded}");
        let got = expect_json(get(&app, Some(&alice), &uid).await, 200, "get").await;
        assert_eq!(got["status"], "LOADED");

        let list = expect_json(
            app.get(UPLOADS, Some(&alice)).send().await.unwrap(),
            200,
            "list",
        )
        .await;
        assert_eq!(list["page"]["totalElements"], 1, "{list}");
        assert_eq!(
            list["_embedded"]["uploadDefinitions"][0]["id"],
            uid.as_str()
        );

        // Launch "cat -f b.csv" with the session: both files become inputs.
        let res = launch_with(
            &app,
            &alice,
            "cat",
            json!([{"name": "-f", "value": "b.csv"}]),
            &uid,
        )
        .await;
        let process = expect_json(res, 202, "launch").await;
        let pid = process["processId"].as_str().unwrap().to_owned();
        let done = app.wait_done(&pid, Some(&alice)).await;
        assert_eq!(done["processStatus"], "COMPLETED", "{done}");
        let output = app.output(&pid, Some(&alice)).await;
        assert!(output.contains("2,second line from b"), "{output}");

        let listing = expect_json(
            app.get(
                &format!("/api/system/processes/{pid}/files/inputFile"),
                Some(&alice),
            )
            .send()
            .await
            .unwrap(),
            200,
            "files",
        )
        .await;
        let inputs = listing["_embedded"]["bitstreams"].as_array().unwrap();
        assert_eq!(inputs.len(), 2, "{listing}");
        for (name, bytes) in [("a.csv", &a_bytes), ("b.csv", &b_bytes)] {
            let f = inputs
                .iter()
                .find(|f| f["name"] == name)
                .unwrap_or_else(|| panic!("{name} in {listing}"));
            assert_eq!(f["checkSum"]["value"], md5_hex(bytes), "{f}");
            assert_eq!(f["sizeBytes"], bytes.len());
            let content = app
                .get(
                    f["_links"]["content"]["href"].as_str().unwrap(),
                    Some(&alice),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(content.status(), 200);
            assert_eq!(content.bytes().await.unwrap().as_ref(), bytes.as_slice());
        }

        let completed = expect_json(get(&app, Some(&alice), &uid).await, 200, "get").await;
        assert_eq!(completed["status"], "COMPLETED", "{completed}");
        assert_eq!(completed["processId"], pid.as_str());
        assert_eq!(
            completed["_links"]["process"]["href"],
            app.url(&format!("/api/system/processes/{pid}"))
        );
        // The session's own copies are gone: the process owns the bytes now.
        assert!(files_in(&data(&app, "uploads")).is_empty());

        // Used once only; and no longer editable.
        let again = launch_with(
            &app,
            &alice,
            "cat",
            json!([{"name": "-f", "value": "b.csv"}]),
            &uid,
        )
        .await;
        let message = expect_error(again, 422, "reuse").await;
        assert!(message.contains("COMPLETED"), "{message}");
        let res = app
            .post(&format!("{UPLOADS}/{uid}/files"), Some(&alice))
            .json(&json!({"name": "c.csv"}))
            .send()
            .await
            .unwrap();
        expect_error(res, 422, "add to a COMPLETED session").await;

        // Deleting the session leaves the process's inputs.
        let res = app
            .delete(&format!("{UPLOADS}/{uid}"), Some(&alice))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        expect_error(get(&app, Some(&alice), &uid).await, 404, "deleted").await;
        let listing = expect_json(
            app.get(&format!("/api/system/processes/{pid}/files"), Some(&alice))
                .send()
                .await
                .unwrap(),
            200,
            "files after",
        )
        .await;
        // Two files and the console log.
        assert_eq!(listing["page"]["totalElements"], 3, "{listing}");
    }
}

#[actix_web::test]
async fn uploads_over_the_limit_are_refused_and_leave_nothing() {
    for backend in BACKENDS {
        let Some(app) = spawn_app_with(backend, "max_upload_bytes = 1000").await else {
            continue;
        };
        let alice = app.alice.clone();
        let def = create(&app, &alice, &["big.bin"]).await;
        let (uid, fid) = (id(&def), file_id(&def, "big.bin"));

        // Announced too large: refused before a byte is read.
        let res = send_bytes(&app, Some(&alice), &uid, &fid, vec![7u8; 2000]).await;
        let message = expect_error(res, 413, "content-length").await;
        assert!(message.contains("1000"), "{message}");

        // Streamed without a length: cut off as the bytes arrive.
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            (0..4).map(|_| Ok(vec![7u8; 500])).collect();
        let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
        let res = send_bytes(&app, Some(&alice), &uid, &fid, body).await;
        expect_error(res, 413, "streamed").await;
        let after = expect_json(get(&app, Some(&alice), &uid).await, 200, "get").await;
        assert_eq!(file(&after, "big.bin")["status"], "ERROR", "{after}");
        assert_eq!(after["status"], "IN_PROGRESS", "{after}");
        assert!(
            files_in(&data(&app, "tmp")).is_empty(),
            "no partial upload left"
        );
        assert!(
            files_in(&data(&app, "uploads")).is_empty(),
            "no partial upload left"
        );

        // An upload the client aborts midway ends ERROR too, with nothing left behind.
        let res = send_bytes(&app, Some(&alice), &uid, &fid, vec![1u8; 10]).await;
        expect_json(res, 200, "upload").await;
        let res = app
            .delete(&format!("{UPLOADS}/{uid}/files/{fid}"), Some(&alice))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        let res = app
            .post(&format!("{UPLOADS}/{uid}/files"), Some(&alice))
            .json(&json!({"name": "big.bin"}))
            .send()
            .await
            .unwrap();
        let def = expect_json(res, 201, "add again").await;
        let fid = file_id(&def, "big.bin");
        // The body sends some bytes, waits until the server is receiving them, then fails.
        let (client, url, token) = (
            app.client.clone(),
            app.url(&format!("{UPLOADS}/{uid}")),
            alice.clone(),
        );
        let body = reqwest::Body::wrap_stream(futures_util::stream::unfold(0, move |step| {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            async move {
                match step {
                    0 => Some((Ok(vec![7u8; 300]), 1)),
                    1 => {
                        for _ in 0..400 {
                            let def: Value = client
                                .get(&url)
                                .bearer_auth(&token)
                                .send()
                                .await
                                .ok()?
                                .json()
                                .await
                                .ok()?;
                            if def["fileDefinitions"][0]["status"] == "UPLOADING" {
                                break;
                            }
                            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        }
                        Some((Err(std::io::Error::other("client gives up")), 2))
                    }
                    _ => None,
                }
            }
        }));
        let aborted = app
            .post(&format!("{UPLOADS}/{uid}/files/{fid}"), Some(&alice))
            .header("Content-Type", "application/octet-stream")
            .body(body)
            .send()
            .await;
        assert!(aborted.is_err() || aborted.unwrap().status() == 400);
        let mut status = Value::Null;
        for _ in 0..400 {
            let now = expect_json(get(&app, Some(&alice), &uid).await, 200, "get").await;
            status = file(&now, "big.bin")["status"].clone();
            if status == "ERROR" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert_eq!(status, "ERROR");
        assert!(
            files_in(&data(&app, "tmp")).is_empty(),
            "no partial upload left"
        );
        assert!(files_in(&data(&app, "uploads")).is_empty());

        // A failed file may be retried.
        let exactly = vec![1u8; 1000];
        let loaded = upload_ok(&app, &alice, &uid, &fid, &exactly).await;
        assert_eq!(loaded["status"], "LOADED", "{loaded}");
        assert_eq!(
            file(&loaded, "big.bin")["checkSum"]["value"],
            md5_hex(&exactly)
        );
        assert_eq!(files_in(&data(&app, "uploads")).len(), 1);
        assert!(files_in(&data(&app, "tmp")).is_empty());
    }
}

#[actix_web::test]
async fn sessions_are_private_to_their_owner() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let (alice, bob) = (app.alice.clone(), app.bob.clone());
        let def = create(&app, &alice, &["a.csv"]).await;
        let (uid, fid) = (id(&def), file_id(&def, "a.csv"));
        let missing = uuid::Uuid::new_v4().to_string();

        // Someone else's session answers exactly like a missing one.
        for target in [uid.as_str(), missing.as_str(), "not-a-uuid"] {
            let theirs = expect_error(get(&app, Some(&bob), target).await, 404, "get").await;
            let res = app
                .delete(&format!("{UPLOADS}/{target}"), Some(&bob))
                .send()
                .await
                .unwrap();
            assert_eq!(expect_error(res, 404, "delete").await, theirs);
            let res = send_bytes(&app, Some(&bob), target, &fid, b"x".to_vec()).await;
            assert_eq!(expect_error(res, 404, "upload").await, theirs);
            let res = app
                .post(&format!("{UPLOADS}/{target}/files"), Some(&bob))
                .json(&json!({"name": "evil"}))
                .send()
                .await
                .unwrap();
            assert_eq!(expect_error(res, 404, "add").await, theirs);
            let res = app
                .client
                .put(app.url(&format!("{UPLOADS}/{target}")))
                .bearer_auth(&bob)
                .json(&json!({"fileDefinitions": []}))
                .send()
                .await
                .unwrap();
            assert_eq!(expect_error(res, 404, "put").await, theirs);
        }
        let bobs = expect_json(
            app.get(UPLOADS, Some(&bob)).send().await.unwrap(),
            200,
            "list",
        )
        .await;
        assert_eq!(bobs["page"]["totalElements"], 0, "{bobs}");

        // Anonymous callers are asked to log in.
        expect_error(get(&app, None, &uid).await, 401, "anonymous get").await;
        expect_error(get(&app, None, &missing).await, 401, "anonymous missing").await;
        expect_error(
            app.get(UPLOADS, None).send().await.unwrap(),
            401,
            "anonymous list",
        )
        .await;
        let res = app
            .post(UPLOADS, None)
            .json(&json!({"fileDefinitions": [{"name": "a"}]}))
            .send()
            .await
            .unwrap();
        expect_error(res, 401, "anonymous create").await;
        let res = send_bytes(&app, None, &uid, &fid, b"x".to_vec()).await;
        expect_error(res, 401, "anonymous upload").await;

        // Admins see everyone's.
        let seen = expect_json(get(&app, Some(&app.admin), &uid).await, 200, "admin").await;
        assert_eq!(seen["id"], uid.as_str());
        let all = expect_json(
            app.get(UPLOADS, Some(&app.admin)).send().await.unwrap(),
            200,
            "admin list",
        )
        .await;
        assert_eq!(all["page"]["totalElements"], 1);

        // Bob cannot launch with alice's session, even once it is LOADED.
        upload_ok(&app, &alice, &uid, &fid, b"secret").await;
        let res = launch_with(
            &app,
            &bob,
            "cat",
            json!([{"name": "-f", "value": "a.csv"}]),
            &uid,
        )
        .await;
        let message = expect_error(res, 400, "someone else's session").await;
        assert!(message.contains("uploadDefinitionId"), "{message}");
        let still = expect_json(get(&app, Some(&alice), &uid).await, 200, "get").await;
        assert_eq!(still["status"], "LOADED");
    }
}

#[actix_web::test]
async fn a_launch_needs_a_loaded_session_and_uploads_need_octet_streams() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let alice = app.alice.clone();
        let def = create(&app, &alice, &["a.csv", "b.csv"]).await;
        let uid = id(&def);
        let a = file_id(&def, "a.csv");

        // Only application/octet-stream is accepted for file data.
        let res = app
            .post(&format!("{UPLOADS}/{uid}/files/{a}"), Some(&alice))
            .header("Content-Type", "text/csv")
            .body("1,2\n")
            .send()
            .await
            .unwrap();
        expect_error(res, 415, "wrong content type").await;
        let res = app
            .post(&format!("{UPLOADS}/{uid}/files/{a}"), Some(&alice))
            .multipart(reqwest::multipart::Form::new().text("file", "x"))
            .send()
            .await
            .unwrap();
        expect_error(res, 415, "multipart").await;
        let unknown = uuid::Uuid::new_v4().to_string();
        let res = send_bytes(&app, Some(&alice), &uid, &unknown, b"x".to_vec()).await;
        expect_error(res, 404, "unknown file").await;
        let res = app
            .post(UPLOADS, Some(&alice))
            .body(r#"{"fileDefinitions":[]}"#)
            .send()
            .await
            .unwrap();
        expect_error(res, 415, "create without JSON content type").await;
        let res = app
            .post(UPLOADS, Some(&alice))
            .header("Content-Type", "application/json")
            .body("{")
            .send()
            .await
            .unwrap();
        expect_error(res, 400, "bad JSON").await;
        let res = app
            .post(UPLOADS, Some(&alice))
            .json(&json!({"fileDefinitions": [{"name": "x"}, {"name": "x"}]}))
            .send()
            .await
            .unwrap();
        expect_error(res, 422, "duplicate names").await;

        // IN_PROGRESS is not enough to launch.
        let partial = upload_ok(&app, &alice, &uid, &a, b"1\n").await;
        assert_eq!(partial["status"], "IN_PROGRESS");
        let again = send_bytes(&app, Some(&alice), &uid, &a, b"2\n".to_vec()).await;
        expect_error(again, 422, "upload an UPLOADED file again").await;
        let res = launch_with(
            &app,
            &alice,
            "cat",
            json!([{"name": "-f", "value": "a.csv"}]),
            &uid,
        )
        .await;
        let message = expect_error(res, 422, "launch with IN_PROGRESS").await;
        assert!(message.contains("IN_PROGRESS"), "{message}");
        let res = launch_with(
            &app,
            &alice,
            "cat",
            json!([{"name": "-f", "value": "a.csv"}]),
            "nope",
        )
        .await;
        expect_error(res, 400, "malformed uploadDefinitionId").await;
        let res = launch_with(
            &app,
            &alice,
            "cat",
            json!([{"name": "-f", "value": "a.csv"}]),
            &unknown,
        )
        .await;
        expect_error(res, 400, "unknown uploadDefinitionId").await;

        // A file parameter naming a file in neither the session nor the request is a 422.
        let b = file_id(&def, "b.csv");
        upload_ok(&app, &alice, &uid, &b, b"2\n").await;
        let res = launch_with(
            &app,
            &alice,
            "cat",
            json!([{"name": "-f", "value": "c.csv"}]),
            &uid,
        )
        .await;
        expect_error(res, 422, "file not in the session").await;
        // Nothing of the refused launches was consumed or left behind.
        let still = expect_json(get(&app, Some(&alice), &uid).await, 200, "get").await;
        assert_eq!(still["status"], "LOADED");
        assert!(files_in(&data(&app, "files")).is_empty());
        assert_eq!(files_in(&data(&app, "uploads")).len(), 2);
    }
}

#[actix_web::test]
async fn file_definitions_are_added_replaced_and_deleted() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let alice = app.alice.clone();
        let def = create(&app, &alice, &["marc.mrc"]).await;
        let uid = id(&def);
        let marc = file_id(&def, "marc.mrc");
        let loaded = upload_ok(&app, &alice, &uid, &marc, b"MARC").await;
        assert_eq!(loaded["status"], "LOADED");

        // Adding a file (FOLIO's body carries the definition id) reopens the session.
        let res = app
            .post(&format!("{UPLOADS}/{uid}/files"), Some(&alice))
            .json(&json!({"name": "marc3.mrc", "uploadDefinitionId": uid}))
            .send()
            .await
            .unwrap();
        let location = res
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap();
        let added = expect_json(res, 201, "add").await;
        let marc3 = file_id(&added, "marc3.mrc");
        assert_eq!(location, app.url(&format!("{UPLOADS}/{uid}/files/{marc3}")));
        assert_eq!(added["status"], "IN_PROGRESS", "{added}");
        assert_eq!(file(&added, "marc3.mrc")["status"], "NEW");
        let res = app
            .post(&format!("{UPLOADS}/{uid}/files"), Some(&alice))
            .json(&json!({"name": "marc.mrc"}))
            .send()
            .await
            .unwrap();
        expect_error(res, 422, "duplicate name").await;

        // Deleting the file not yet uploaded makes it LOADED again.
        let res = app
            .delete(&format!("{UPLOADS}/{uid}/files/{marc3}"), Some(&alice))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        let res = app
            .delete(&format!("{UPLOADS}/{uid}/files/{marc3}"), Some(&alice))
            .send()
            .await
            .unwrap();
        expect_error(res, 404, "deleted twice").await;
        let now = expect_json(get(&app, Some(&alice), &uid).await, 200, "get").await;
        assert_eq!(now["status"], "LOADED", "{now}");

        // PUT: keep and rename the uploaded file, add a new one; status is read-only.
        let put = |body: Value| {
            app.client
                .put(app.url(&format!("{UPLOADS}/{uid}")))
                .bearer_auth(&alice)
                .json(&body)
                .send()
        };
        let res = put(json!({"id": uid, "status": "COMPLETED", "fileDefinitions": []}))
            .await
            .unwrap();
        expect_error(res, 422, "status is read-only").await;
        let res = put(json!({"id": uuid::Uuid::new_v4().to_string(), "fileDefinitions": []}))
            .await
            .unwrap();
        expect_error(res, 400, "id mismatch").await;
        let mut body = now.clone();
        body["fileDefinitions"] =
            json!([{"id": marc, "name": "renamed.mrc"}, {"name": "extra.mrc", "uiKey": "x"}]);
        let updated = expect_json(put(body).await.unwrap(), 200, "put").await;
        assert_eq!(updated["status"], "IN_PROGRESS", "{updated}");
        assert_eq!(file(&updated, "renamed.mrc")["id"], marc.as_str());
        assert_eq!(file(&updated, "renamed.mrc")["status"], "UPLOADED");
        assert_eq!(file(&updated, "extra.mrc")["status"], "NEW");
        assert_eq!(file(&updated, "extra.mrc")["uiKey"], "x");

        // PUT without the uploaded file deletes it with its bytes.
        assert_eq!(files_in(&data(&app, "uploads")).len(), 1);
        let extra = file_id(&updated, "extra.mrc");
        let trimmed = expect_json(
            put(json!({"fileDefinitions": [{"id": extra, "name": "extra.mrc"}]}))
                .await
                .unwrap(),
            200,
            "put trimmed",
        )
        .await;
        assert_eq!(trimmed["status"], "NEW", "{trimmed}");
        assert!(files_in(&data(&app, "uploads")).is_empty());

        // DELETE removes the session and its bytes.
        upload_ok(&app, &alice, &uid, &extra, b"EXTRA").await;
        assert_eq!(files_in(&data(&app, "uploads")).len(), 1);
        let res = app
            .delete(&format!("{UPLOADS}/{uid}"), Some(&alice))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        assert!(files_in(&data(&app, "uploads")).is_empty());
        expect_error(get(&app, Some(&alice), &uid).await, 404, "after delete").await;
    }
}

/// The document describes definition bodies as JSON objects; serde alone would also read a
/// struct from an array (`[null, null]` as an empty definition).
#[actix_web::test]
async fn definition_bodies_must_be_objects() {
    let Some(app) = spawn_app(crate::helpers::Backend::Sqlite).await else {
        return;
    };
    let t = app.alice.clone();
    for body in [
        json!([null, null]),
        json!("a.csv"),
        json!({"fileDefinitions": [["id", "a.csv"]]}),
    ] {
        let res = app
            .post(UPLOADS, Some(&t))
            .json(&body)
            .send()
            .await
            .unwrap();
        let message = expect_error(res, 400, &body.to_string()).await;
        assert!(message.contains("object"), "{body}: {message}");
    }
    let def = create(&app, &t, &["a.csv"]).await;
    let id = def["id"].as_str().unwrap();
    let url = format!("{UPLOADS}/{id}");
    let put = app.client.put(app.url(&url)).bearer_auth(&t);
    let res = put.json(&json!([null, null])).send().await;
    expect_error(res.unwrap(), 400, "PUT [null, null]").await;
    let res = app
        .post(&format!("{url}/files"), Some(&t))
        .json(&json!([null, "b.csv"]));
    expect_error(res.send().await.unwrap(), 400, "POST files [null, ...]").await;
}
