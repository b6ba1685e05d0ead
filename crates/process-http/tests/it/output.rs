//! The console log as DSpace clients read it: `GET .../output` negotiated by Accept (text,
//! the `script_output` bitstream, or events), the log among the process's files and as a
//! bitstream with content, and `/output/lines` followed page by page to the end.

use std::time::Duration;

use md5::{Digest, Md5};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, BACKENDS};

/// What the DSpace 7 UI (Angular's HttpClient) sends by default.
const UI_ACCEPT: &str = "application/json, text/plain, */*";

/// The path of an href, whether the service writes links relative or absolute.
fn path_of(href: &str) -> &str {
    href.find("/api/").map_or(href, |i| &href[i..])
}

async fn get(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    accept: Option<&str>,
) -> reqwest::Response {
    let mut req = app.get(path, token);
    if let Some(a) = accept {
        req = req.header("Accept", a);
    }
    req.send().await.unwrap()
}

async fn json(app: &TestApp, path: &str, token: Option<&str>, accept: Option<&str>) -> Value {
    let res = get(app, path, token, accept).await;
    assert_eq!(res.status(), 200, "{path}");
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("application/json"), "{path}: {ct}");
    res.json().await.unwrap()
}

/// The text of the content link of a bitstream resource.
async fn content(app: &TestApp, bitstream: &Value, token: Option<&str>) -> String {
    let href = bitstream["_links"]["content"]["href"].as_str().unwrap();
    let res = get(app, path_of(href), token, Some(UI_ACCEPT)).await;
    assert_eq!(res.status(), 200, "{href}");
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/plain"), "{ct}");
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    res.text().await.unwrap()
}

/// Polls the text output until it contains `needle`.
async fn wait_output(app: &TestApp, id: &str, token: Option<&str>, needle: &str) -> String {
    for _ in 0..200 {
        let text = app.output(id, token).await;
        if text.contains(needle) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("process {id} never wrote {needle:?}");
}

fn the_log(files: &Value, id: &str) -> Value {
    let all = files["_embedded"]["bitstreams"].as_array().unwrap();
    let logs: Vec<&Value> = all
        .iter()
        .filter(|b| b["metadata"]["dspace.process.filetype"][0]["value"] == "script_output")
        .collect();
    assert_eq!(logs.len(), 1, "{files}");
    assert_eq!(logs[0]["name"], format!("{id}-sleep.log"));
    logs[0].clone()
}

/// The DSpace UI's process page: the output read as a bitstream (while the process runs and
/// after), its content downloaded, and the same log among the files and filetypes.
#[actix_web::test]
async fn the_console_log_is_a_script_output_bitstream() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        let id = app
            .launch_ok("sleep", alice, json!([{"name": "-t", "value": "30"}]))
            .await;
        app.wait_running(&id, alice).await;
        let text = wait_output(&app, &id, alice, "started\n").await;
        let output = format!("/api/system/processes/{id}/output");

        // Running: the bitstream resource, its content is the log so far.
        let log = json(&app, &output, alice, Some(UI_ACCEPT)).await;
        assert_eq!(log["type"], "bitstream", "{backend:?}: {log}");
        assert_eq!(log["name"], format!("{id}-sleep.log"));
        assert_eq!(
            log["metadata"]["dc.title"][0]["value"],
            format!("{id}-sleep.log")
        );
        assert_eq!(
            log["metadata"]["dspace.process.filetype"][0]["value"],
            "script_output"
        );
        let uuid = log["uuid"].as_str().unwrap().to_owned();
        assert_eq!(log["id"], uuid.as_str());
        assert_eq!(
            path_of(log["_links"]["self"]["href"].as_str().unwrap()),
            format!("/api/core/bitstreams/{uuid}")
        );
        assert_eq!(content(&app, &log, alice).await, text);
        assert_eq!(log["sizeBytes"], text.len());
        assert_eq!(log["checkSum"]["checkSumAlgorithm"], "MD5");

        // Listed with the files and filetypes, under its own type too.
        let files = json(
            &app,
            &format!("/api/system/processes/{id}/files"),
            alice,
            None,
        )
        .await;
        assert_eq!(the_log(&files, &id)["uuid"], uuid.as_str());
        let types = json(
            &app,
            &format!("/api/system/processes/{id}/filetypes"),
            alice,
            None,
        )
        .await;
        assert!(
            types["values"]
                .as_array()
                .unwrap()
                .contains(&json!("script_output")),
            "{types}"
        );
        let of_type = format!("/api/system/processes/{id}/files/script_output");
        let of_type = json(&app, &of_type, alice, None).await;
        assert_eq!(of_type["page"]["totalElements"], 1, "{of_type}");
        assert_eq!(the_log(&of_type, &id)["uuid"], uuid.as_str());

        // Ended: size and checksum are those of the whole log, which the content gives.
        let res = app
            .post(&format!("/api/system/processes/{id}/stop"), alice)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
        app.wait_done(&id, alice).await;
        let text = app.output(&id, alice).await;
        let bitstream = format!("/api/core/bitstreams/{uuid}");
        let log = json(&app, &bitstream, alice, None).await;
        assert_eq!(log["name"], format!("{id}-sleep.log"));
        assert_eq!(log["sizeBytes"], text.len(), "{backend:?}");
        assert_eq!(
            log["checkSum"]["value"],
            hex::encode(Md5::digest(text.as_bytes()))
        );
        assert_eq!(content(&app, &log, alice).await, text);
        assert_eq!(
            json(&app, &output, alice, Some(UI_ACCEPT)).await["uuid"],
            uuid.as_str()
        );
        // A Range is ignored on the log: it may grow, so it is always sent whole.
        let res = app
            .get(&format!("{bitstream}/content"), alice)
            .header("Range", "bytes=0-3")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.text().await.unwrap(), text);

        // As visible as its process: someone else gets a 404, like for a missing one.
        for path in [bitstream.clone(), format!("{bitstream}/content")] {
            let res = get(&app, &path, Some(&app.bob), None).await;
            assert_eq!(res.status(), 404, "{path}");
            let res = get(&app, &path, None, None).await;
            assert_eq!(res.status(), 401, "{path}");
        }
        // Deleted with its process.
        let res = app
            .delete(&format!("/api/system/processes/{id}"), alice)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        let res = get(&app, &bitstream, alice, None).await;
        assert_eq!(res.status(), 404);
    }
}

/// `GET .../output` by Accept, with q-values: JSON-preferring clients get the bitstream,
/// text and no preference get the text, `text/event-stream` the live feed.
#[actix_web::test]
async fn output_is_negotiated_by_accept() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        let id = app
            .launch_ok("echo", alice, json!([{"name": "-s", "value": "hello"}]))
            .await;
        app.wait_done(&id, alice).await;
        let text = app.output(&id, alice).await;
        assert!(text.contains("hello"), "{text}");
        let path = format!("/api/system/processes/{id}/output");
        for accept in [
            UI_ACCEPT,
            "application/json",
            "application/hal+json",
            "text/plain;q=0.5, application/json",
            "*/*;q=0.1, application/*",
        ] {
            let log = json(&app, &path, alice, Some(accept)).await;
            assert_eq!(log["type"], "bitstream", "{backend:?}: {accept}");
        }
        for accept in [
            None,
            Some("*/*"),
            Some("text/plain"),
            Some("text/*"),
            Some("application/json;q=0, text/plain"),
            Some("text/plain, application/json;q=0.9"),
            Some("image/png"),
        ] {
            let res = get(&app, &path, alice, accept).await;
            assert_eq!(res.status(), 200, "{accept:?}");
            let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
            assert!(ct.starts_with("text/plain"), "{accept:?}: {ct}");
            assert_eq!(res.text().await.unwrap(), text, "{accept:?}");
        }
        let res = get(&app, &path, alice, Some("text/event-stream")).await;
        assert_eq!(res.status(), 200);
        let feed = res.text().await.unwrap();
        assert!(
            feed.contains("event: line") && feed.contains("event: end"),
            "{feed}"
        );
        // The text keeps its time filters; a bad one is a 400 in every form.
        let res = app
            .get(&path, alice)
            .query(&[("fromTime", "2999-01-01T00:00:00Z")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.text().await.unwrap(), "");
        for accept in ["text/plain", UI_ACCEPT] {
            let res = app
                .get(&path, alice)
                .header("Accept", accept)
                .query(&[("toTime", "soon")])
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 400, "{accept}");
        }
    }
}

/// `/output/lines` of a running process: a client that follows `_links.next` gets every line
/// once, in order, and stops at `complete` once the process has ended.
#[actix_web::test]
async fn output_lines_are_followed_to_the_end() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let alice = Some(app.alice.as_str());
        let id = app
            .launch_ok("sleep", alice, json!([{"name": "-t", "value": "30"}]))
            .await;
        app.wait_running(&id, alice).await;
        wait_output(&app, &id, alice, "started\n").await;

        let first = format!("/api/system/processes/{id}/output/lines?size=1");
        let page = json(&app, &first, alice, None).await;
        assert_eq!(page["type"], "outputlines", "{backend:?}: {page}");
        assert_eq!(
            (page["after"].clone(), page["last"].clone()),
            (json!(0), json!(1))
        );
        assert_eq!(page["size"], 1);
        let line = &page["_embedded"]["lines"][0];
        assert_eq!(line["seq"], 1);
        assert_eq!(line["line"], "started");
        assert_eq!(line["stream"], "stdout");
        assert!(line["time"].as_str().unwrap().ends_with('Z'), "{line}");
        // Running: nothing more yet, but a next link to poll.
        assert_eq!(page["complete"], false);
        let next = path_of(page["_links"]["next"]["href"].as_str().unwrap()).to_owned();
        assert!(
            next.contains("after=1") && next.contains("size=1"),
            "{next}"
        );
        let page = json(&app, &next, alice, None).await;
        assert_eq!(page["_embedded"]["lines"], json!([]));
        assert_eq!(
            (page["last"].clone(), page["complete"].clone()),
            (json!(1), json!(false))
        );

        let res = app
            .post(&format!("/api/system/processes/{id}/stop"), alice)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
        app.wait_done(&id, alice).await;
        let text = app.output(&id, alice).await;

        // Follow from the start: every line once, the last page says complete.
        let mut seen = Vec::new();
        let mut next = Some(format!("/api/system/processes/{id}/output/lines?size=1"));
        let mut pages = 0;
        while let Some(path) = next {
            pages += 1;
            assert!(pages < 100, "never complete");
            let page = json(&app, &path, alice, None).await;
            for l in page["_embedded"]["lines"].as_array().unwrap() {
                assert_eq!(l["seq"], seen.len() + 1, "{l}");
                seen.push(l["line"].as_str().unwrap().to_owned());
            }
            next = page["_links"]["next"]["href"]
                .as_str()
                .map(|h| path_of(h).to_owned());
            assert_eq!(next.is_none(), page["complete"] == true, "{page}");
        }
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(seen, lines, "{backend:?}");
        assert!(lines.len() >= 2, "a closing line after `started`: {text}");

        // Sizes: 0 or none is the default (100), larger ones are capped at 1000.
        let base = format!("/api/system/processes/{id}/output/lines");
        for (size, used) in [("0", 100), ("5000", 1000), ("7", 7)] {
            let page = json(&app, &format!("{base}?size={size}"), alice, None).await;
            assert_eq!(page["size"], used, "{size}");
        }
        assert_eq!(json(&app, &base, alice, None).await["size"], 100);
        // Bad values: a JSON 400.
        for query in [
            "after=-1",
            "after=x",
            "size=-2",
            "fromTime=yesterday",
            "toTime=1",
        ] {
            let res = get(&app, &format!("{base}?{query}"), alice, None).await;
            assert_eq!(res.status(), 400, "{query}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["status"], 400, "{query}: {body}");
        }
        // Someone else's process: 404.
        let res = get(&app, &base, Some(&app.bob), None).await;
        assert_eq!(res.status(), 404);
    }
}
