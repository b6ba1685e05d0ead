//! The OpenAPI document describes the API that answers: every endpoint of the contract is in
//! it, and real responses validate against the schemas it gives for them.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, BACKENDS};

struct Doc(Value);

impl Doc {
    async fn fetch(app: &TestApp) -> Self {
        let res = app.get("/api/openapi.json", None).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let doc: Value = res.json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        Doc(doc)
    }

    /// The JSON schema of the `status` response of `method path`, made self-contained by
    /// moving the components under `$defs`.
    fn schema(&self, method: &str, path: &str, status: u16) -> Value {
        let op = &self.0["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        let response = &op["responses"][status.to_string()];
        assert!(
            response.is_object(),
            "{method} {path} does not document {status}"
        );
        let schema = response["content"]["application/json"]["schema"].clone();
        assert!(
            !schema.is_null(),
            "{method} {path} {status} has no JSON schema"
        );
        let text = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$defs": self.0["components"]["schemas"],
            "allOf": [schema],
        })
        .to_string()
        .replace("#/components/schemas/", "#/$defs/");
        serde_json::from_str(&text).unwrap()
    }

    fn check(&self, method: &str, path: &str, status: u16, body: &Value) {
        let schema = self.schema(method, path, status);
        let validator = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{method} {path} {status}: {errors:?}\n{body}"
        );
    }
}

#[actix_web::test]
async fn every_endpoint_is_documented() {
    let Some(app) = spawn_app(crate::helpers::Backend::Sqlite).await else {
        return;
    };
    let doc = Doc::fetch(&app).await;
    let expected = [
        ("get", "/api"),
        ("get", "/api/authn"),
        ("get", "/api/openapi.json"),
        ("get", "/healthz"),
        ("get", "/metrics"),
        ("post", "/api/authn/login"),
        ("get", "/api/authn/status"),
        ("post", "/api/authn/shortlivedtokens"),
        ("get", "/api/eperson/epersons/{uuid}"),
        ("get", "/api/system/scripts"),
        ("get", "/api/system/scripts/{name}"),
        ("post", "/api/system/scripts/{name}/processes"),
        ("get", "/api/system/processes"),
        ("get", "/api/system/processes/search/byProperty"),
        ("get", "/api/system/processes/search/own"),
        ("get", "/api/system/processes/{id}"),
        ("delete", "/api/system/processes/{id}"),
        ("post", "/api/system/processes/{id}/stop"),
        ("get", "/api/system/processes/{id}/output"),
        ("get", "/api/system/processes/{id}/output/lines"),
        ("get", "/api/system/processes/{id}/files"),
        ("get", "/api/system/processes/{id}/filetypes"),
        ("get", "/api/system/processes/{id}/files/{filetype}"),
        ("get", "/api/system/processes/{id}/archive"),
        ("get", "/api/core/bitstreams/{uuid}"),
        ("get", "/api/core/bitstreams/{uuid}/content"),
        ("post", "/api/system/uploadDefinitions"),
        ("get", "/api/system/uploadDefinitions"),
        ("get", "/api/system/uploadDefinitions/{id}"),
        ("delete", "/api/system/uploadDefinitions/{id}"),
    ];
    let mut missing = Vec::new();
    for (method, path) in expected {
        if !doc.0["paths"][path][method].is_object() {
            missing.push(format!("{method} {path}"));
        }
    }
    assert!(missing.is_empty(), "undocumented: {missing:?}");
    // Self-contained: no reference leaves the document.
    let text = doc.0.to_string();
    assert!(
        !text.contains("\"$ref\":\"http"),
        "remote $ref in the document"
    );
}

#[actix_web::test]
async fn real_responses_match_the_document() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let doc = Doc::fetch(&app).await;
        let t = Some(app.alice.as_str());

        for (path, template) in [
            ("/api", "/api"),
            ("/api/authn", "/api/authn"),
            ("/healthz", "/healthz"),
            ("/api/authn/status", "/api/authn/status"),
        ] {
            let (status, body) = app.get_json(path, t).await;
            doc.check("get", template, status, &body);
        }
        let (status, body) = app.get_json("/api/system/scripts", t).await;
        doc.check("get", "/api/system/scripts", status, &body);
        let (status, body) = app.get_json("/api/system/scripts/cat", t).await;
        doc.check("get", "/api/system/scripts/{name}", status, &body);

        let res = app
            .launch(
                "cat",
                t,
                json!([{"name": "-f", "value": "in.txt"}]),
                vec![("in.txt", b"hello\n".to_vec())],
            )
            .await;
        assert_eq!(res.status(), 202);
        let launched: Value = res.json().await.unwrap();
        doc.check(
            "post",
            "/api/system/scripts/{name}/processes",
            202,
            &launched,
        );
        let id = launched["processId"].as_str().unwrap().to_owned();
        app.wait_done(&id, t).await;

        let (status, body) = app
            .get_json(&format!("/api/system/processes/{id}"), t)
            .await;
        doc.check("get", "/api/system/processes/{id}", status, &body);
        let (status, body) = app.get_json("/api/system/processes", t).await;
        doc.check("get", "/api/system/processes", status, &body);
        let (status, body) = app.get_json("/api/system/processes/search/own", t).await;
        doc.check("get", "/api/system/processes/search/own", status, &body);
        let (status, body) = app
            .get_json(
                "/api/system/processes/search/byProperty?processStatus=COMPLETED",
                Some(&app.admin),
            )
            .await;
        doc.check(
            "get",
            "/api/system/processes/search/byProperty",
            status,
            &body,
        );
        let (status, files) = app
            .get_json(&format!("/api/system/processes/{id}/files"), t)
            .await;
        doc.check("get", "/api/system/processes/{id}/files", status, &files);
        let (status, body) = app
            .get_json(&format!("/api/system/processes/{id}/filetypes"), t)
            .await;
        doc.check("get", "/api/system/processes/{id}/filetypes", status, &body);
        let (status, body) = app
            .get_json(&format!("/api/system/processes/{id}/files/inputFile"), t)
            .await;
        doc.check(
            "get",
            "/api/system/processes/{id}/files/{filetype}",
            status,
            &body,
        );
        let uuid = files["_embedded"]["bitstreams"][0]["uuid"]
            .as_str()
            .unwrap();
        let (status, body) = app
            .get_json(&format!("/api/core/bitstreams/{uuid}"), t)
            .await;
        doc.check("get", "/api/core/bitstreams/{uuid}", status, &body);
        let res = app
            .get(&format!("/api/system/processes/{id}/output"), t)
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        doc.check(
            "get",
            "/api/system/processes/{id}/output",
            status,
            &res.json().await.unwrap(),
        );
        let lines = format!("/api/system/processes/{id}/output/lines?size=1");
        let (status, body) = app.get_json(&lines, t).await;
        doc.check(
            "get",
            "/api/system/processes/{id}/output/lines",
            status,
            &body,
        );
        // The console log as a bitstream, as /files lists it.
        let (_, log) = app
            .get_json(
                &format!("/api/system/processes/{id}/files/script_output"),
                t,
            )
            .await;
        let uuid = log["_embedded"]["bitstreams"][0]["uuid"].as_str().unwrap();
        let (status, body) = app
            .get_json(&format!("/api/core/bitstreams/{uuid}"), t)
            .await;
        doc.check("get", "/api/core/bitstreams/{uuid}", status, &body);

        // Upload sessions.
        let res = app
            .post("/api/system/uploadDefinitions", t)
            .json(&json!({"fileDefinitions": [{"name": "a.csv"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let def: Value = res.json().await.unwrap();
        doc.check("post", "/api/system/uploadDefinitions", 201, &def);
        let def_id = def["id"].as_str().unwrap();
        let (status, body) = app
            .get_json(&format!("/api/system/uploadDefinitions/{def_id}"), t)
            .await;
        doc.check("get", "/api/system/uploadDefinitions/{id}", status, &body);
        let (status, body) = app.get_json("/api/system/uploadDefinitions", t).await;
        doc.check("get", "/api/system/uploadDefinitions", status, &body);

        // Authentication: the status (anonymous too), short-lived tokens, epersons.
        let (status, body) = app.get_json("/api/authn/status", None).await;
        doc.check("get", "/api/authn/status", status, &body);
        for token in [t, None] {
            let res = app
                .post("/api/authn/shortlivedtokens", token)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let body = res.json().await.unwrap();
            doc.check("post", "/api/authn/shortlivedtokens", status, &body);
        }
        let (_, me) = app.get_json("/api/authn/status", t).await;
        let own = me["_links"]["eperson"]["href"].as_str().unwrap();
        let own = &own[own.find("/api/").unwrap()..];
        for (path, token) in [(own, t), (own, Some(app.bob.as_str())), (own, None)] {
            let (status, body) = app.get_json(path, token).await;
            doc.check("get", "/api/eperson/epersons/{uuid}", status, &body);
        }

        // Errors have the documented shape too.
        let (status, body) = app.get_json("/api/system/processes/999999", t).await;
        assert_eq!(status, 404);
        doc.check("get", "/api/system/processes/{id}", status, &body);
        let (status, body) = app.get_json("/api/system/processes?size=-1", t).await;
        assert_eq!(status, 400);
        doc.check("get", "/api/system/processes", status, &body);
        let (status, body) = app.get_json("/api/system/processes", None).await;
        assert_eq!(status, 401);
        doc.check("get", "/api/system/processes", status, &body);
    }
}

/// The parameter `name` (in `location`) of `method path`.
fn param<'a>(doc: &'a Doc, method: &str, path: &str, name: &str, location: &str) -> &'a Value {
    let params = doc.0["paths"][path][method]["parameters"]
        .as_array()
        .unwrap_or_else(|| panic!("{method} {path} has no parameters"));
    params
        .iter()
        .find(|p| p["name"] == name && p["in"] == location)
        .unwrap_or_else(|| panic!("{method} {path} does not document {location} {name}"))
}

/// What a client generating requests from the document needs to send valid ones: the same
/// types everywhere, the real bounds, formats and enums.
#[actix_web::test]
async fn parameters_are_typed_exactly() {
    let Some(app) = spawn_app(crate::helpers::Backend::Sqlite).await else {
        return;
    };
    let doc = Doc::fetch(&app).await;
    let paths = doc.0["paths"].as_object().unwrap();

    // page and size: integers wherever they appear; size has no maximum (it is clamped).
    let mut paged = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let schema = &p["schema"];
                match p["name"].as_str().unwrap() {
                    "page" => {
                        paged += 1;
                        assert_eq!(schema["type"], "integer", "{method} {path} page");
                        assert_eq!(schema["minimum"], 0, "{method} {path} page");
                        assert_eq!(
                            schema["maximum"],
                            process_core::PageRequest::MAX_PAGE,
                            "{method} {path} page"
                        );
                    }
                    "size" => {
                        assert_eq!(schema["type"], "integer", "{method} {path} size");
                        assert_eq!(schema["minimum"], 0, "{method} {path} size");
                        assert!(schema["maximum"].is_null(), "{method} {path} size");
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(paged >= 6, "paged operations: {paged}");

    // Every process and bitstream route takes the capability of an anonymous process.
    for (method, path) in [
        ("get", "/api/system/processes/{id}"),
        ("delete", "/api/system/processes/{id}"),
        ("post", "/api/system/processes/{id}/stop"),
        ("get", "/api/system/processes/{id}/output"),
        ("get", "/api/system/processes/{id}/files"),
        ("get", "/api/system/processes/{id}/files/{filetype}"),
        ("get", "/api/system/processes/{id}/filetypes"),
        ("get", "/api/system/processes/{id}/archive"),
        ("get", "/api/core/bitstreams/{uuid}"),
        ("get", "/api/core/bitstreams/{uuid}/content"),
    ] {
        param(&doc, method, path, "access", "query");
        param(&doc, method, path, "X-Process-Access", "header");
    }

    let output = "/api/system/processes/{id}/output";
    for name in ["fromTime", "toTime"] {
        let schema = &param(&doc, "get", output, name, "query")["schema"];
        assert_eq!(schema["format"], "date-time", "{name}");
    }
    let status = &param(
        &doc,
        "get",
        "/api/system/processes",
        "processStatus",
        "query",
    );
    assert_eq!(
        status["schema"]["enum"],
        json!(["SCHEDULED", "RUNNING", "COMPLETED", "FAILED"])
    );
    let sort = &param(&doc, "get", "/api/system/processes", "sort", "query");
    assert!(sort["schema"]["pattern"].is_string());

    // A file's content is whatever its script wrote: octet-stream, or any type at all.
    let content = "/api/core/bitstreams/{uuid}/content";
    for status in ["200", "206"] {
        let types = &doc.0["paths"][content]["get"]["responses"][status]["content"];
        for media in ["application/octet-stream", "*/*"] {
            assert!(types[media].is_object(), "{status} lacks {media}: {types}");
        }
    }

    // The launch form: formats and enums where the server has them.
    let form = &doc.0["paths"]["/api/system/scripts/{name}/processes"]["post"]["requestBody"]
        ["content"]["multipart/form-data"]["schema"];
    let form = match form["$ref"].as_str() {
        Some(r) => &doc.0["components"]["schemas"][r.rsplit('/').next().unwrap()],
        None => form,
    };
    let props = &form["properties"];
    assert_eq!(props["startTime"]["format"], "date-time");
    assert_eq!(props["uploadDefinitionId"]["format"], "uuid");
    let dependency = &props["dependencyType"];
    let dependency = dependency["oneOf"].get(0).unwrap_or(dependency);
    assert_eq!(dependency["enum"], json!(["afterok", "afterany"]));
    assert!(props["dependsOn"]["pattern"].is_string());
    assert_eq!(props["file"]["maxItems"], 32);
}
