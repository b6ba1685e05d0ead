//! Process files as DSpace bitstreams: metadata, content with ranges and ETags, the per-type
//! listings, and the zip archive of a process.

use std::io::{Cursor, Read};

use md5::{Digest, Md5};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, BACKENDS};

/// Runs "outputs" with `-z size` as bob and returns its id once COMPLETED.
async fn run_outputs(app: &TestApp, size: u64) -> String {
    let id = app
        .launch_ok(
            "outputs",
            Some(&app.bob),
            json!([{"name": "-z", "value": size.to_string()}]),
        )
        .await;
    let p = app.wait_done(&id, Some(&app.bob)).await;
    assert_eq!(p["processStatus"], "COMPLETED", "{p}");
    id
}

/// Runs "cat" as bob on an uploaded file and returns its id once COMPLETED.
async fn run_cat(app: &TestApp, name: &str, content: &[u8]) -> String {
    let res = app
        .launch(
            "cat",
            Some(&app.bob),
            json!([{"name": "-f", "value": name}]),
            vec![(name, content.to_vec())],
        )
        .await;
    assert_eq!(
        res.status(),
        202,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let id = res.json::<Value>().await.unwrap()["processId"]
        .as_str()
        .unwrap()
        .to_owned();
    let p = app.wait_done(&id, Some(&app.bob)).await;
    assert_eq!(p["processStatus"], "COMPLETED", "{p}");
    id
}

/// The bitstreams of a process (`files` or `files/{type}`), by name.
async fn bitstreams(app: &TestApp, path: &str) -> Vec<Value> {
    let (status, body) = app.get_json(path, Some(&app.bob)).await;
    assert_eq!(status, 200, "{path}: {body}");
    let mut list = body["_embedded"]["bitstreams"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .clone();
    list.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    list
}

fn names(list: &[Value]) -> Vec<&str> {
    list.iter().map(|b| b["name"].as_str().unwrap()).collect()
}

fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

async fn file_uuid(app: &TestApp, id: &str, name: &str) -> String {
    bitstreams(app, &format!("/api/system/processes/{id}/files"))
        .await
        .into_iter()
        .find(|b| b["name"] == name)
        .unwrap_or_else(|| panic!("no file {name}"))["uuid"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .map(|v| v.to_str().expect("ASCII header").to_owned())
}

#[actix_web::test]
async fn a_bitstream_is_described_as_in_dspace() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let id = run_outputs(&app, 1000).await;
        let files = bitstreams(&app, &format!("/api/system/processes/{id}/files")).await;
        // Symlinks and the fifo are not registered; the console log is listed too.
        let log = format!("{id}-outputs.log");
        assert_eq!(
            names(&files),
            [
                log.as_str(),
                "export.csv",
                "nested/deep.txt",
                "result.txt",
                "zeros.bin"
            ],
            "{backend:?}"
        );
        let zeros = files.iter().find(|b| b["name"] == "zeros.bin").unwrap();
        let uuid = zeros["uuid"].as_str().unwrap();
        assert!(uuid::Uuid::parse_str(uuid).is_ok());

        let (status, b) = app
            .get_json(&format!("/api/core/bitstreams/{uuid}"), Some(&app.bob))
            .await;
        assert_eq!(status, 200, "{b}");
        assert_eq!(&b, zeros, "the listing and the bitstream agree");
        assert_eq!(b["id"], uuid);
        assert_eq!(b["uuid"], uuid);
        assert_eq!(b["name"], "zeros.bin");
        assert_eq!(b["type"], "bitstream");
        assert_eq!(
            b["metadata"]["dc.title"],
            json!([{"value": "zeros.bin", "language": null, "authority": null, "confidence": -1, "place": 0}])
        );
        assert_eq!(
            b["metadata"]["dspace.process.filetype"][0]["value"],
            "outputFile"
        );
        assert_eq!(b["sizeBytes"], 1000);
        assert_eq!(
            b["checkSum"],
            json!({"checkSumAlgorithm": "MD5", "value": md5_hex(&[0u8; 1000])})
        );
        assert_eq!(
            b["_links"]["content"]["href"],
            app.url(&format!("/api/core/bitstreams/{uuid}/content"))
        );
        assert_eq!(
            b["_links"]["self"]["href"],
            app.url(&format!("/api/core/bitstreams/{uuid}"))
        );
        let deep = files
            .iter()
            .find(|b| b["name"] == "nested/deep.txt")
            .unwrap();
        assert_eq!(
            deep["metadata"]["dspace.process.filetype"][0]["value"],
            "exportCSV"
        );
        assert_eq!(deep["sizeBytes"], 5);
        assert_eq!(deep["checkSum"]["value"], md5_hex(b"deep\n"));

        // Paging of the files listing.
        let (status, page) = app
            .get_json(
                &format!("/api/system/processes/{id}/files?size=3&page=1"),
                Some(&app.bob),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            page["page"],
            json!({"size": 3, "totalElements": 5, "totalPages": 2, "number": 1})
        );
        // The last stored file, then the console log, which comes after the stored files.
        let second = page["_embedded"]["bitstreams"].as_array().unwrap();
        assert_eq!(second.len(), 2, "{page}");
        assert_eq!(second[1]["name"], log.as_str());
        let (_, first) = app
            .get_json(
                &format!("/api/system/processes/{id}/files?size=4"),
                Some(&app.bob),
            )
            .await;
        let first = first["_embedded"]["bitstreams"].as_array().unwrap().clone();
        assert_eq!(first.len(), 4);
        assert!(first.iter().all(|b| b["name"] != log.as_str()));
        let (_, past) = app
            .get_json(
                &format!("/api/system/processes/{id}/files?size=4&page=1"),
                Some(&app.bob),
            )
            .await;
        assert_eq!(
            past["_embedded"]["bitstreams"][0]["name"],
            log.as_str(),
            "{past}"
        );
        let (status, _) = app
            .get_json(
                &format!("/api/system/processes/{id}/files?size=x"),
                Some(&app.bob),
            )
            .await;
        assert_eq!(status, 400);

        // Unknown or malformed bitstream ids.
        for bad in ["0b2c3d4e-5f60-4a1b-8c2d-3e4f5a6b7c8d", "nope"] {
            let (status, body) = app
                .get_json(&format!("/api/core/bitstreams/{bad}"), Some(&app.bob))
                .await;
            assert_eq!(status, 404, "{body}");
            assert_eq!(body["status"], 404);
            let (status, _) = app
                .get_json(
                    &format!("/api/core/bitstreams/{bad}/content"),
                    Some(&app.bob),
                )
                .await;
            assert_eq!(status, 404);
        }
    }
}

#[actix_web::test]
async fn files_are_listed_by_type() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let id = run_outputs(&app, 4).await;
        let (status, types) = app
            .get_json(
                &format!("/api/system/processes/{id}/filetypes"),
                Some(&app.bob),
            )
            .await;
        assert_eq!(status, 200, "{backend:?}: {types}");
        let mut values: Vec<&str> = types["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        values.sort_unstable();
        assert_eq!(values, ["exportCSV", "outputFile", "script_output"]);
        assert_eq!(types["id"], "filetypes");
        assert_eq!(types["type"], "filetypes");
        assert_eq!(
            types["_links"]["self"]["href"],
            app.url(&format!("/api/system/processes/{id}/filetypes"))
        );

        let csv = bitstreams(&app, &format!("/api/system/processes/{id}/files/exportCSV")).await;
        assert_eq!(names(&csv), ["export.csv", "nested/deep.txt"]);
        let out = bitstreams(
            &app,
            &format!("/api/system/processes/{id}/files/outputFile"),
        )
        .await;
        assert_eq!(names(&out), ["result.txt", "zeros.bin"]);
        assert!(out
            .iter()
            .all(|b| b["metadata"]["dspace.process.filetype"][0]["value"] == "outputFile"));

        // The seed: 404 when the file type does not exist for this process.
        let (status, body) = app
            .get_json(
                &format!("/api/system/processes/{id}/files/inputFile"),
                Some(&app.bob),
            )
            .await;
        assert_eq!(status, 404, "unknown filetype: {body}");
        assert_eq!(body["status"], 404);

        // A process with an uploaded input: inputFile only (and its log).
        let cat = run_cat(&app, "in.txt", b"abc").await;
        let (_, types) = app
            .get_json(
                &format!("/api/system/processes/{cat}/filetypes"),
                Some(&app.bob),
            )
            .await;
        assert_eq!(types["values"], json!(["inputFile", "script_output"]));
        let inputs = bitstreams(
            &app,
            &format!("/api/system/processes/{cat}/files/inputFile"),
        )
        .await;
        assert_eq!(names(&inputs), ["in.txt"]);
        assert_eq!(inputs[0]["sizeBytes"], 3);
        assert_eq!(inputs[0]["checkSum"]["value"], md5_hex(b"abc"));
        let out = app.output(&cat, Some(&app.bob)).await;
        assert!(out.starts_with("path=") && out.contains("\nabc"), "{out:?}");

        // A process without files: its console log only.
        let echo = app.launch_ok("echo", Some(&app.bob), json!([])).await;
        app.wait_done(&echo, Some(&app.bob)).await;
        let (_, types) = app
            .get_json(
                &format!("/api/system/processes/{echo}/filetypes"),
                Some(&app.bob),
            )
            .await;
        assert_eq!(types["values"], json!(["script_output"]));
        let none = bitstreams(&app, &format!("/api/system/processes/{echo}/files")).await;
        assert_eq!(names(&none), [format!("{echo}-echo.log")]);
    }
}

#[actix_web::test]
async fn content_is_served_whole_and_in_ranges() {
    let content: Vec<u8> = (0..100u8).map(|i| b'a' + i % 26).collect();
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let id = run_cat(&app, "letters.txt", &content).await;
        let uuid = file_uuid(&app, &id, "letters.txt").await;
        let url = format!("/api/core/bitstreams/{uuid}/content");

        let res = app.get(&url, Some(&app.bob)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{backend:?}");
        let disposition = header(&res, "content-disposition").unwrap();
        assert!(disposition.starts_with("attachment"), "{disposition}");
        assert!(
            disposition.contains("filename=\"letters.txt\""),
            "{disposition}"
        );
        assert_eq!(
            header(&res, "x-content-type-options").as_deref(),
            Some("nosniff")
        );
        assert_eq!(header(&res, "content-length").as_deref(), Some("100"));
        let etag = header(&res, "etag").expect("an ETag");
        assert_eq!(res.bytes().await.unwrap().as_ref(), &content[..]);

        // Conditional request.
        let res = app
            .get(&url, Some(&app.bob))
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 304);
        assert!(res.bytes().await.unwrap().is_empty());
        let res = app
            .get(&url, Some(&app.bob))
            .header("If-None-Match", "\"something-else\"")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);

        // Satisfiable ranges.
        for (range, start, end) in [
            ("bytes=0-9", 0usize, 9usize),
            ("bytes=10-19", 10, 19),
            ("bytes=-5", 95, 99),
            ("bytes=90-", 90, 99),
            ("bytes=95-500", 95, 99),
        ] {
            let res = app
                .get(&url, Some(&app.bob))
                .header("Range", range)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 206, "{range}");
            assert_eq!(
                header(&res, "content-range").as_deref(),
                Some(format!("bytes {start}-{end}/100").as_str()),
                "{range}"
            );
            assert!(header(&res, "content-disposition")
                .unwrap()
                .starts_with("attachment"));
            assert_eq!(
                res.bytes().await.unwrap().as_ref(),
                &content[start..=end],
                "{range}"
            );
        }

        // A range covering the whole file (as download managers send `bytes=0-`): either
        // 206 with its Content-Range or a plain 200, but never 200 with a Content-Range.
        for range in ["bytes=0-", "bytes=0-99", "bytes=-100", "bytes=-500"] {
            let res = app
                .get(&url, Some(&app.bob))
                .header("Range", range)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let content_range = header(&res, "content-range");
            match status {
                206 => assert_eq!(content_range.as_deref(), Some("bytes 0-99/100"), "{range}"),
                200 => assert_eq!(content_range, None, "{range}: 200 with a Content-Range"),
                other => panic!("{range}: {other}"),
            }
            assert_eq!(res.bytes().await.unwrap().as_ref(), &content[..], "{range}");
        }

        // Unsatisfiable ranges: 416 with the size and a JSON error.
        for range in ["bytes=100-", "bytes=105-109"] {
            let res = app
                .get(&url, Some(&app.bob))
                .header("Range", range)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 416, "{range}");
            assert_eq!(
                header(&res, "content-range").as_deref(),
                Some("bytes */100"),
                "{range}"
            );
            let body: Value = res.json().await.expect("a JSON error body");
            assert_eq!(body["status"], 416);
            assert_eq!(body["path"], url.as_str());
            assert_eq!(body["code"], "range_not_satisfiable", "{body}");
        }

        // Several ranges: this server answers the first one only (206). Whole file (200)
        // would also be allowed; either way the headers must match the body.
        let res = app
            .get(&url, Some(&app.bob))
            .header("Range", "bytes=0-1,5-6")
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let range = header(&res, "content-range");
        let body = res.bytes().await.unwrap();
        match status {
            206 => {
                assert_eq!(range.as_deref(), Some("bytes 0-1/100"));
                assert_eq!(body.as_ref(), &content[0..2]);
            }
            200 => {
                assert_eq!(range, None);
                assert_eq!(body.as_ref(), &content[..]);
            }
            other => panic!("multi-range answered {other}"),
        }
    }
}

#[actix_web::test]
async fn large_and_empty_outputs_are_served() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let n = 300_000u64;
        let id = run_outputs(&app, n).await;
        let uuid = file_uuid(&app, &id, "zeros.bin").await;
        let url = format!("/api/core/bitstreams/{uuid}/content");
        let res = app.get(&url, Some(&app.bob)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{backend:?}");
        assert_eq!(
            header(&res, "content-length").as_deref(),
            Some(n.to_string().as_str())
        );
        let body = res.bytes().await.unwrap();
        assert_eq!(body.len() as u64, n);
        assert!(body.iter().all(|b| *b == 0));
        let res = app
            .get(&url, Some(&app.bob))
            .header("Range", format!("bytes={}-", n - 10))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 206);
        assert_eq!(
            header(&res, "content-range"),
            Some(format!("bytes {}-{}/{n}", n - 10, n - 1))
        );
        assert_eq!(res.bytes().await.unwrap().len(), 10);
        let res = app
            .get(&url, Some(&app.bob))
            .header("Range", format!("bytes={}-{}", n + 5, n + 9))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 416);
        assert_eq!(header(&res, "content-range"), Some(format!("bytes */{n}")));

        // An empty file: whole it is 200 and empty; any range of it is unsatisfiable.
        let id = run_outputs(&app, 0).await;
        let uuid = file_uuid(&app, &id, "zeros.bin").await;
        let (_, b) = app
            .get_json(&format!("/api/core/bitstreams/{uuid}"), Some(&app.bob))
            .await;
        assert_eq!(b["sizeBytes"], 0);
        assert_eq!(b["checkSum"]["value"], md5_hex(b""));
        let url = format!("/api/core/bitstreams/{uuid}/content");
        let res = app.get(&url, Some(&app.bob)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "content-length").as_deref(), Some("0"));
        assert!(res.bytes().await.unwrap().is_empty());
        let res = app
            .get(&url, Some(&app.bob))
            .header("Range", "bytes=0-9")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 416);
        assert_eq!(header(&res, "content-range").as_deref(), Some("bytes */0"));
        let body: Value = res.json().await.expect("JSON error");
        assert_eq!(body["status"], 416);
    }
}

/// The `filename="..."` parameter of a Content-Disposition header.
fn quoted_filename(disposition: &str) -> String {
    let start = disposition
        .find("filename=\"")
        .unwrap_or_else(|| panic!("no filename: {disposition}"))
        + "filename=\"".len();
    let rest = &disposition[start..];
    let end = rest.find('"').expect("closing quote");
    rest[..end].to_owned()
}

#[actix_web::test]
async fn a_hostile_upload_name_downloads_under_a_safe_name() {
    let evil = "../../evil \"name\".txt";
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let id = run_cat(&app, evil, b"payload").await;
        let uuid = file_uuid(&app, &id, evil).await;
        let res = app
            .get(
                &format!("/api/core/bitstreams/{uuid}/content"),
                Some(&app.bob),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{backend:?}");
        let disposition = header(&res, "content-disposition").unwrap();
        assert!(disposition.starts_with("attachment;"), "{disposition}");
        assert!(!disposition.contains(".."), "{disposition}");
        assert!(!disposition.contains('/'), "{disposition}");
        assert!(!disposition.contains('\\'), "{disposition}");
        assert!(!disposition.contains('\r') && !disposition.contains('\n'));
        let name = quoted_filename(&disposition);
        assert!(name.contains("evil"), "{disposition}");
        assert!(name.ends_with(".txt"), "{disposition}");
        assert!(!name.starts_with('.'), "{disposition}");
        assert_eq!(res.bytes().await.unwrap().as_ref(), b"payload");
    }
}

/// Downloads and opens the archive of process `id`; returns (entry name, content) pairs.
async fn archive(app: &TestApp, id: &str) -> Vec<(String, Vec<u8>)> {
    let res = app
        .get(
            &format!("/api/system/processes/{id}/archive"),
            Some(&app.bob),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        header(&res, "content-type").as_deref(),
        Some("application/zip")
    );
    let disposition = header(&res, "content-disposition").unwrap();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert_eq!(quoted_filename(&disposition), format!("process-{id}.zip"));
    let bytes = res.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes.to_vec())).expect("a valid zip");
    let mut entries = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let name = entry.name().expect("UTF-8 entry name").into_owned();
        assert!(!name.starts_with('/'), "{name}");
        assert!(!name.split(['/', '\\']).any(|s| s == ".."), "{name}");
        assert!(entry.enclosed_name().is_some(), "{name}");
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        entries.push((name, content));
    }
    entries.sort();
    entries
}

#[actix_web::test]
async fn the_archive_holds_every_file_of_a_process() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let id = run_outputs(&app, 2000).await;
        let entries = archive(&app, &id).await;
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "exportCSV/export.csv",
                "exportCSV/nested/deep.txt",
                "outputFile/result.txt",
                "outputFile/zeros.bin",
            ],
            "{backend:?}"
        );
        assert_eq!(entries[0].1, b"a,b\n1,2\n");
        assert_eq!(entries[1].1, b"deep\n");
        assert_eq!(entries[2].1, b"hello\n");
        assert_eq!(entries[3].1, vec![0u8; 2000]);

        // Uploaded inputs, including one whose name tries to climb out.
        let id = run_cat(&app, "data.csv", b"x,y\n").await;
        let entries = archive(&app, &id).await;
        assert_eq!(
            entries,
            [("inputFile/data.csv".to_owned(), b"x,y\n".to_vec())]
        );
        let id = run_cat(&app, "../../evil \"name\".txt", b"payload").await;
        let entries = archive(&app, &id).await;
        assert_eq!(entries.len(), 1);
        assert!(entries[0].0.starts_with("inputFile/"), "{}", entries[0].0);
        assert!(entries[0].0.contains("evil"), "{}", entries[0].0);
        assert_eq!(entries[0].1, b"payload");

        // A process without files: an empty but valid archive.
        let echo = app.launch_ok("echo", Some(&app.bob), json!([])).await;
        app.wait_done(&echo, Some(&app.bob)).await;
        assert!(archive(&app, &echo).await.is_empty());
    }
}

/// GETs `url` as bob with `headers`: (status, Content-Range, Content-Disposition, body).
async fn download(
    app: &TestApp,
    url: &str,
    headers: &[(&str, &str)],
) -> (u16, Option<String>, Option<String>, Vec<u8>) {
    let mut req = app.get(url, Some(&app.bob));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let range = header(&res, "content-range");
    let disposition = header(&res, "content-disposition");
    (
        status,
        range,
        disposition,
        res.bytes().await.unwrap().to_vec(),
    )
}

/// RFC 9110 §14.2: "An origin server MUST ignore a Range header field that contains a range
/// unit it does not understand"; the answer is still the file's, with its validators, and
/// `If-None-Match` still applies.
#[actix_web::test]
async fn a_range_in_an_unknown_unit_is_ignored() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let content = b"0123456789".to_vec();
        let id = run_cat(&app, "digits.txt", &content).await;
        let uuid = file_uuid(&app, &id, "digits.txt").await;
        let url = format!("/api/core/bitstreams/{uuid}/content");
        let plain = app.get(&url, Some(&app.bob)).send().await.unwrap();
        let etag = header(&plain, "etag").expect("an ETag");
        let modified = header(&plain, "last-modified").expect("a Last-Modified");
        for range in ["items=0-5", "lines=1-2"] {
            let res = app
                .get(&url, Some(&app.bob))
                .header("Range", range)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{backend:?}: {range}");
            assert_eq!(header(&res, "content-range"), None, "{range}");
            assert_eq!(header(&res, "etag").as_ref(), Some(&etag), "{range}");
            assert_eq!(header(&res, "last-modified").as_ref(), Some(&modified));
            assert_eq!(res.bytes().await.unwrap().as_ref(), &content[..]);

            let (status, _, _, body) =
                download(&app, &url, &[("Range", range), ("If-None-Match", &etag)]).await;
            assert_eq!(status, 304, "{backend:?}: {range} with a matching ETag");
            assert!(body.is_empty());
        }
    }
}

/// `If-Range` (RFC 9110 §13.1.5): a range is served only while the validator still names the
/// file; a stale ETag or date gets the whole file (200), never a part of a newer version.
#[actix_web::test]
async fn a_stale_if_range_gets_the_whole_file() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let content = b"abcdefghijklmnopqrstuvwxyz".to_vec();
        let id = run_cat(&app, "letters.txt", &content).await;
        let uuid = file_uuid(&app, &id, "letters.txt").await;
        let url = format!("/api/core/bitstreams/{uuid}/content");
        let plain = app.get(&url, Some(&app.bob)).send().await.unwrap();
        let etag = header(&plain, "etag").expect("an ETag");
        let modified = header(&plain, "last-modified").expect("a Last-Modified");

        for fresh in [etag.as_str(), modified.as_str()] {
            let got = download(&app, &url, &[("Range", "bytes=2-4"), ("If-Range", fresh)]).await;
            assert_eq!(got.0, 206, "{backend:?}: If-Range {fresh}");
            assert_eq!(got.1.as_deref(), Some("bytes 2-4/26"));
            assert_eq!(got.3, b"cde");
        }
        let weak = format!("W/{etag}");
        for stale in [
            "\"an-older-version\"",
            weak.as_str(),
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "not a validator",
        ] {
            let got = download(&app, &url, &[("Range", "bytes=2-4"), ("If-Range", stale)]).await;
            assert_eq!(got.0, 200, "{backend:?}: If-Range {stale}");
            assert_eq!(got.1, None, "{stale}: a 200 has no Content-Range");
            assert_eq!(got.3, content, "{stale}");
        }
    }
}

/// An invalid range (last before first, RFC 9110 §14.1.1) or a malformed one is ignored (200);
/// an unsatisfiable one is a 416 that says the size and is no attachment.
#[actix_web::test]
async fn invalid_ranges_are_ignored_and_unsatisfiable_ones_refused() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let content = b"0123456789".to_vec();
        let id = run_cat(&app, "digits.txt", &content).await;
        let uuid = file_uuid(&app, &id, "digits.txt").await;
        let url = format!("/api/core/bitstreams/{uuid}/content");

        for ignored in [
            "bytes=5-2",
            "bytes=0-1,7-3",
            "bytes=x-3",
            "bytes=1-2-3",
            "bytes",
        ] {
            let (status, range, disposition, body) =
                download(&app, &url, &[("Range", ignored)]).await;
            assert_eq!(status, 200, "{backend:?}: {ignored}");
            assert_eq!(range, None, "{ignored}");
            assert!(disposition.unwrap().starts_with("attachment"));
            assert_eq!(body, content, "{ignored}");
        }

        for unsatisfiable in ["bytes=10-", "bytes=20-30", "bytes=10-12,15-"] {
            let res = app
                .get(&url, Some(&app.bob))
                .header("Range", unsatisfiable)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 416, "{backend:?}: {unsatisfiable}");
            assert_eq!(header(&res, "content-range").as_deref(), Some("bytes */10"));
            assert_eq!(header(&res, "content-disposition"), None, "{unsatisfiable}");
            let body: Value = res.json().await.expect("a JSON error");
            assert_eq!(body["code"], "range_not_satisfiable", "{body}");
        }

        // Preconditions come before the range: a matching If-None-Match is a 304 even with
        // an unsatisfiable range; a failed If-Match is a 412.
        let plain = app.get(&url, Some(&app.bob)).send().await.unwrap();
        let etag = header(&plain, "etag").expect("an ETag");
        let got = download(
            &app,
            &url,
            &[("Range", "bytes=50-"), ("If-None-Match", &etag)],
        )
        .await;
        assert_eq!(got.0, 304, "{backend:?}");
        let got = download(&app, &url, &[("If-Match", "\"another\"")]).await;
        assert_eq!(got.0, 412, "{backend:?}");
        let got = download(&app, &url, &[("If-Match", &etag), ("Range", "bytes=0-0")]).await;
        assert_eq!((got.0, got.3), (206, b"0".to_vec()), "{backend:?}");
    }
}
