//! The REST contract: the HAL root, scripts, process listings and searches, authorization
//! probing (no existence oracle) and the process JSON shape.

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::helpers::{spawn_app, spawn_app_with, TestApp, BACKENDS};

/// Asserts the JSON error shape `{status, error, message, path}`.
fn assert_error(body: &Value, status: u16, path: &str) {
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|s| !s.is_empty()),
        "{body}"
    );
    assert!(body["message"].is_string(), "{body}");
    assert_eq!(body["path"], path, "{body}");
    assert!(
        body["code"]
            .as_str()
            .is_some_and(|c| !c.is_empty() && c.chars().all(|c| c.is_ascii_lowercase() || c == '_')),
        "a snake_case code: {body}"
    );
}

fn names(list: &Value, key: &str) -> Vec<String> {
    let mut v: Vec<String> = list["_embedded"][key]
        .as_array()
        .unwrap_or_else(|| panic!("no _embedded.{key}: {list}"))
        .iter()
        .map(|s| s["name"].as_str().expect("name").to_owned())
        .collect();
    v.sort();
    v
}

fn process_ids(list: &Value) -> Vec<u64> {
    list["_embedded"]["processes"]
        .as_array()
        .unwrap_or_else(|| panic!("no _embedded.processes: {list}"))
        .iter()
        .map(|p| {
            p["processId"]
                .as_str()
                .expect("processId is a string")
                .parse()
                .expect("numeric")
        })
        .collect()
}

fn rfc3339(v: &Value) -> OffsetDateTime {
    let s = v.as_str().unwrap_or_else(|| panic!("not a timestamp: {v}"));
    assert!(s.ends_with('Z'), "not UTC with Z: {s}");
    OffsetDateTime::parse(s, &Rfc3339).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[actix_web::test]
async fn root_health_and_unknown_routes() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let (status, root) = app.get_json("/api", None).await;
        assert_eq!(status, 200, "{backend:?}");
        assert_eq!(
            root["_links"]["scripts"]["href"],
            app.url("/api/system/scripts")
        );
        assert_eq!(
            root["_links"]["processes"]["href"],
            app.url("/api/system/processes")
        );

        let (status, health) = app.get_json("/healthz", None).await;
        assert_eq!(status, 200);
        assert_eq!(health["status"], "UP");

        let res = app.get("/api/no/such/thing", None).send().await.unwrap();
        assert_eq!(res.status(), 404);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let body: Value = res.json().await.unwrap();
        assert_error(&body, 404, "/api/no/such/thing");
        assert_eq!(body["error"], "Not Found");
        // A path no route serves is told apart from a missing object.
        assert_eq!(body["code"], "no_route");
    }
}

#[actix_web::test]
async fn scripts_are_listed_per_caller() {
    let authenticated = [
        "cat", "echo", "env", "exit", "killself", "lines", "missing", "outputs", "sleep", "timeout",
    ];
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let (status, anon) = app.get_json("/api/system/scripts", None).await;
        assert_eq!(status, 200, "{backend:?}");
        assert_eq!(names(&anon, "scripts"), ["echo"]);
        assert_eq!(anon["page"]["totalElements"], 1);

        let (_, bob) = app.get_json("/api/system/scripts", Some(&app.bob)).await;
        assert_eq!(names(&bob, "scripts"), authenticated);

        let (_, alice) = app.get_json("/api/system/scripts", Some(&app.alice)).await;
        let mut expected: Vec<&str> = authenticated.to_vec();
        expected.push("lab-only");
        expected.sort_unstable();
        assert_eq!(names(&alice, "scripts"), expected);

        let (_, admin) = app.get_json("/api/system/scripts", Some(&app.admin)).await;
        expected.push("admin-only");
        expected.sort_unstable();
        assert_eq!(names(&admin, "scripts"), expected);
        assert_eq!(
            admin["page"],
            json!({"size": 20, "totalElements": 12, "totalPages": 1, "number": 0})
        );

        // Paging: 12 scripts, 5 a page.
        let mut seen = Vec::new();
        for page in 0..3 {
            let (status, p) = app
                .get_json(
                    &format!("/api/system/scripts?page={page}&size=5"),
                    Some(&app.admin),
                )
                .await;
            assert_eq!(status, 200);
            assert_eq!(
                p["page"],
                json!({"size": 5, "totalElements": 12, "totalPages": 3, "number": page})
            );
            let n = p["_embedded"]["scripts"].as_array().unwrap().len();
            assert_eq!(n, if page < 2 { 5 } else { 2 });
            seen.extend(names(&p, "scripts"));
        }
        seen.sort();
        assert_eq!(seen, expected, "pages overlap or miss scripts");

        for bad in ["size=-1", "size=abc", "page=-1"] {
            let (status, body) = app
                .get_json(&format!("/api/system/scripts?{bad}"), None)
                .await;
            assert_eq!(status, 400, "{bad}: {body}");
            assert_error(&body, 400, "/api/system/scripts");
        }
    }
}

#[actix_web::test]
async fn a_script_describes_its_parameters_with_dspace_types() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let (status, echo) = app.get_json("/api/system/scripts/echo", None).await;
        assert_eq!(status, 200, "{backend:?}");
        assert_eq!(echo["id"], "echo");
        assert_eq!(echo["name"], "echo");
        assert_eq!(echo["type"], "script");
        assert_eq!(echo["description"], "prints its arguments");
        assert_eq!(
            echo["_links"]["self"]["href"],
            app.url("/api/system/scripts/echo")
        );
        let params = echo["parameters"].as_array().unwrap();
        let brief: Vec<Value> = params
            .iter()
            .map(|p| json!([p["name"], p["nameLong"], p["type"], p["mandatory"]]))
            .collect();
        assert_eq!(
            brief,
            [
                json!(["-s", "--string", "String", false]),
                json!(["-n", null, "Integer", false]),
                json!(["-b", null, "boolean", false]),
                json!(["-d", null, "date", false]),
            ]
        );
        assert!(params.iter().all(|p| p["description"].is_string()));

        let (status, cat) = app
            .get_json("/api/system/scripts/cat", Some(&app.bob))
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            cat["parameters"],
            json!([{"name": "-f", "nameLong": "--file", "description": "", "type": "InputStream", "mandatory": true}])
        );

        let (status, body) = app
            .get_json("/api/system/scripts/nope", Some(&app.admin))
            .await;
        assert_eq!(status, 404);
        assert_error(&body, 404, "/api/system/scripts/nope");

        // Scripts the caller may not start: 401 anonymous, 403 a known user.
        for (path, token, expected) in [
            ("/api/system/scripts/cat", None, 401),
            ("/api/system/scripts/admin-only", None, 401),
            ("/api/system/scripts/admin-only", Some(&app.bob), 403),
            ("/api/system/scripts/admin-only", Some(&app.alice), 403),
            ("/api/system/scripts/lab-only", Some(&app.bob), 403),
            ("/api/system/scripts/lab-only", Some(&app.alice), 200),
            ("/api/system/scripts/admin-only", Some(&app.admin), 200),
        ] {
            let (status, body) = app.get_json(path, token.map(String::as_str)).await;
            assert_eq!(status, expected, "{path}: {body}");
            if expected != 200 {
                assert_error(&body, expected, path);
            }
        }
    }
}

/// Six finished processes: alice 2 echo, bob 3 echo (one with `-s x`), admin 1 env. Returns
/// (alice's ids, bob's ids, admin's id, alice's user id, bob's user id).
async fn populate(app: &TestApp) -> (Vec<String>, Vec<String>, String, String, String) {
    let mut alice = Vec::new();
    let mut bob = Vec::new();
    for i in 0..2 {
        alice.push(
            app.launch_ok(
                "echo",
                Some(&app.alice),
                json!([{"name": "-s", "value": format!("a{i}")}]),
            )
            .await,
        );
    }
    for value in ["x", "y", "z"] {
        bob.push(
            app.launch_ok(
                "echo",
                Some(&app.bob),
                json!([{"name": "-s", "value": value}]),
            )
            .await,
        );
    }
    let admin = app.launch_ok("env", Some(&app.admin), json!([])).await;
    for id in alice.iter().chain(&bob).chain([&admin]) {
        let p = app.wait_done(id, Some(&app.admin)).await;
        assert_eq!(p["processStatus"], "COMPLETED", "{p}");
    }
    let alice_id = app.process(&alice[0], Some(&app.alice)).await["userId"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob_id = app.process(&bob[0], Some(&app.bob)).await["userId"]
        .as_str()
        .unwrap()
        .to_owned();
    (alice, bob, admin, alice_id, bob_id)
}

fn as_numbers(ids: &[String]) -> Vec<u64> {
    ids.iter().map(|i| i.parse().unwrap()).collect()
}

#[actix_web::test]
async fn process_listings_are_scoped_paged_sorted_and_filtered() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let (alice, bob, admin_pid, alice_id, bob_id) = populate(&app).await;
        let path = "/api/system/processes";

        // Scope.
        let (status, all) = app.get_json(path, Some(&app.admin)).await;
        assert_eq!(status, 200, "{backend:?}: {all}");
        assert_eq!(
            all["page"],
            json!({"size": 20, "totalElements": 6, "totalPages": 1, "number": 0})
        );
        assert_eq!(process_ids(&all).len(), 6);
        let (_, mine) = app.get_json(path, Some(&app.alice)).await;
        let mut got = process_ids(&mine);
        got.sort_unstable();
        assert_eq!(got, as_numbers(&alice));
        assert!(mine["_embedded"]["processes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["userId"] == alice_id.as_str()));
        let (_, mine) = app.get_json(path, Some(&app.bob)).await;
        let mut got = process_ids(&mine);
        got.sort_unstable();
        assert_eq!(got, as_numbers(&bob));
        let (status, body) = app.get_json(path, None).await;
        assert_eq!(status, 401);
        assert_error(&body, 401, path);

        // A user filtering on someone else's id learns nothing.
        let (status, none) = app
            .get_json(&format!("{path}?userId={alice_id}"), Some(&app.bob))
            .await;
        assert_eq!(status, 200);
        assert_eq!(none["page"]["totalElements"], 0, "{none}");

        // Paging with links: bob has 3, 2 a page.
        let (_, p0) = app
            .get_json(&format!("{path}?size=2"), Some(&app.bob))
            .await;
        assert_eq!(
            p0["page"],
            json!({"size": 2, "totalElements": 3, "totalPages": 2, "number": 0})
        );
        assert_eq!(process_ids(&p0).len(), 2);
        assert!(p0["_links"]["prev"].is_null(), "{p0}");
        let next = p0["_links"]["next"]["href"].as_str().expect("next link");
        assert!(
            next.starts_with(&app.url(path)) && next.contains("page=1"),
            "{next}"
        );
        let (status, p1) = app.get_json(next, Some(&app.bob)).await;
        assert_eq!(status, 200);
        assert_eq!(p1["page"]["number"], 1);
        assert_eq!(process_ids(&p1).len(), 1);
        assert!(p1["_links"]["next"].is_null(), "{p1}");
        assert!(p1["_links"]["prev"]["href"]
            .as_str()
            .expect("prev link")
            .contains("page=0"));
        let mut both: Vec<u64> = process_ids(&p0)
            .into_iter()
            .chain(process_ids(&p1))
            .collect();
        both.sort_unstable();
        assert_eq!(both, as_numbers(&bob));
        // Past the end: empty page, same totals.
        let (status, p9) = app
            .get_json(&format!("{path}?size=2&page=9"), Some(&app.bob))
            .await;
        assert_eq!(status, 200);
        assert_eq!(process_ids(&p9).len(), 0);
        assert_eq!(p9["page"]["totalElements"], 3);
        let (status, p100) = app
            .get_json(&format!("{path}?size=100"), Some(&app.admin))
            .await;
        assert_eq!(status, 200);
        assert_eq!(p100["page"]["size"], 100);
        for bad in ["size=-5", "size=abc", "page=x"] {
            let (status, body) = app
                .get_json(&format!("{path}?{bad}"), Some(&app.admin))
                .await;
            assert_eq!(status, 400, "{bad}: {body}");
            assert_error(&body, 400, path);
        }

        // Sorting.
        let mut every: Vec<u64> = as_numbers(&alice)
            .into_iter()
            .chain(as_numbers(&bob))
            .chain(as_numbers(std::slice::from_ref(&admin_pid)))
            .collect();
        every.sort_unstable();
        let (_, asc) = app
            .get_json(&format!("{path}?sort=creationTime,asc"), Some(&app.admin))
            .await;
        assert_eq!(process_ids(&asc), every);
        let (_, desc) = app
            .get_json(&format!("{path}?sort=creationTime,desc"), Some(&app.admin))
            .await;
        let mut reversed = every.clone();
        reversed.reverse();
        assert_eq!(process_ids(&desc), reversed);
        // Default: newest first.
        assert_eq!(process_ids(&all), reversed);
        let (_, by_name) = app
            .get_json(&format!("{path}?sort=scriptName,desc"), Some(&app.admin))
            .await;
        let scripts: Vec<&str> = by_name["_embedded"]["processes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["scriptName"].as_str().unwrap())
            .collect();
        assert_eq!(scripts, ["env", "echo", "echo", "echo", "echo", "echo"]);
        for sort in ["startTime", "endTime,asc", "endTime,DESC", "scriptName,ASC"] {
            let (status, body) = app
                .get_json(&format!("{path}?sort={sort}"), Some(&app.admin))
                .await;
            assert_eq!(status, 200, "{sort}: {body}");
            assert_eq!(process_ids(&body).len(), 6);
        }
        for sort in ["userId", "userId,asc", "creationTime,up", "processId"] {
            let (status, body) = app
                .get_json(&format!("{path}?sort={sort}"), Some(&app.admin))
                .await;
            assert_eq!(status, 400, "{sort}: {body}");
            assert_error(&body, 400, path);
        }

        // Filters.
        let (_, env) = app
            .get_json(&format!("{path}?scriptName=env"), Some(&app.admin))
            .await;
        assert_eq!(
            process_ids(&env),
            as_numbers(std::slice::from_ref(&admin_pid))
        );
        let (_, bobs) = app
            .get_json(&format!("{path}?userId={bob_id}"), Some(&app.admin))
            .await;
        let mut got = process_ids(&bobs);
        got.sort_unstable();
        assert_eq!(got, as_numbers(&bob));
        let (_, done) = app
            .get_json(&format!("{path}?processStatus=COMPLETED"), Some(&app.admin))
            .await;
        assert_eq!(done["page"]["totalElements"], 6);
        let (_, running) = app
            .get_json(&format!("{path}?processStatus=RUNNING"), Some(&app.admin))
            .await;
        assert_eq!(running["page"]["totalElements"], 0);
        assert_eq!(process_ids(&running), Vec::<u64>::new());
        let (status, body) = app
            .get_json(&format!("{path}?processStatus=DONE"), Some(&app.admin))
            .await;
        assert_eq!(status, 400, "{body}");
        assert_error(&body, 400, path);
        let message = body["message"].as_str().unwrap();
        for valid in ["SCHEDULED", "RUNNING", "COMPLETED", "FAILED"] {
            assert!(message.contains(valid), "{message}");
        }
        let (_, x) = app
            .get_json(&format!("{path}?parameter.-s=x"), Some(&app.admin))
            .await;
        assert_eq!(process_ids(&x), as_numbers(&bob[..1]));
        let (_, x) = app
            .get_json(&format!("{path}?parameter.-s=x"), Some(&app.alice))
            .await;
        assert_eq!(process_ids(&x), Vec::<u64>::new());
        let (_, combined) = app
            .get_json(
                &format!("{path}?scriptName=echo&userId={alice_id}&processStatus=COMPLETED"),
                Some(&app.admin),
            )
            .await;
        let mut got = process_ids(&combined);
        got.sort_unstable();
        assert_eq!(got, as_numbers(&alice));
        let (status, body) = app
            .get_json(&format!("{path}?userId=not-a-uuid"), Some(&app.admin))
            .await;
        assert_eq!(status, 400, "{body}");
        // Filters are kept in the page links.
        let (_, linked) = app
            .get_json(&format!("{path}?scriptName=echo&size=2"), Some(&app.admin))
            .await;
        assert_eq!(linked["page"]["totalElements"], 5);
        assert_eq!(linked["page"]["totalPages"], 3);
        let next = linked["_links"]["next"]["href"].as_str().unwrap();
        assert!(next.contains("scriptName=echo"), "{next}");
    }
}

#[actix_web::test]
async fn search_by_property_is_for_admins_and_own_for_everyone_logged_in() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let (alice, bob, admin_pid, _, _) = populate(&app).await;

        // The DSpace admin UI's call.
        let path = "/api/system/processes/search/byProperty";
        let query = format!("{path}?processStatus=COMPLETED&size=5&sort=creationTime,DESC");
        let (status, page) = app.get_json(&query, Some(&app.admin)).await;
        assert_eq!(status, 200, "{backend:?}: {page}");
        assert_eq!(
            page["page"],
            json!({"size": 5, "totalElements": 6, "totalPages": 2, "number": 0})
        );
        let ids = process_ids(&page);
        assert_eq!(ids.len(), 5);
        assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
        assert!(page["_embedded"]["processes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["processStatus"] == "COMPLETED"));
        let next = page["_links"]["next"]["href"].as_str().unwrap();
        assert!(next.starts_with(&app.url(path)), "{next}");
        let (status, body) = app.get_json(&query, Some(&app.bob)).await;
        assert_eq!(status, 403, "{body}");
        assert_error(&body, 403, path);
        let (status, body) = app.get_json(&query, None).await;
        assert_eq!(status, 401, "{body}");
        assert_error(&body, 401, path);
        let (_, failed) = app
            .get_json(&format!("{path}?processStatus=FAILED"), Some(&app.admin))
            .await;
        assert_eq!(failed["page"]["totalElements"], 0);

        let own = "/api/system/processes/search/own";
        for (token, expected) in [
            (&app.bob, as_numbers(&bob)),
            (&app.alice, as_numbers(&alice)),
            (&app.admin, as_numbers(std::slice::from_ref(&admin_pid))),
        ] {
            let (status, page) = app.get_json(own, Some(token)).await;
            assert_eq!(status, 200, "{page}");
            let mut got = process_ids(&page);
            got.sort_unstable();
            assert_eq!(got, expected);
            assert_eq!(page["page"]["totalElements"], expected.len());
        }
        let (status, page) = app
            .get_json(&format!("{own}?size=1&page=1"), Some(&app.bob))
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            page["page"],
            json!({"size": 1, "totalElements": 3, "totalPages": 3, "number": 1})
        );
        let (status, body) = app.get_json(own, None).await;
        assert_eq!(status, 401);
        assert_error(&body, 401, own);
    }
}

/// (method, path) of every per-process endpoint of process `id`, with file `file`.
fn endpoints(id: &str, file: &str) -> Vec<(&'static str, String)> {
    vec![
        ("GET", format!("/api/system/processes/{id}")),
        ("GET", format!("/api/system/processes/{id}/output")),
        ("GET", format!("/api/system/processes/{id}/files")),
        ("GET", format!("/api/system/processes/{id}/filetypes")),
        (
            "GET",
            format!("/api/system/processes/{id}/files/outputFile"),
        ),
        ("GET", format!("/api/system/processes/{id}/archive")),
        ("GET", format!("/api/core/bitstreams/{file}")),
        ("GET", format!("/api/core/bitstreams/{file}/content")),
        ("POST", format!("/api/system/processes/{id}/stop")),
        ("DELETE", format!("/api/system/processes/{id}")),
    ]
}

async fn call(app: &TestApp, method: &str, path: &str, token: Option<&str>) -> (u16, Value) {
    let req = match method {
        "GET" => app.get(path, token),
        "POST" => app.post(path, token),
        "DELETE" => app.delete(path, token),
        other => panic!("{other}"),
    };
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let bytes = res.bytes().await.expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The error body without its path, to compare answers for different ids.
fn without_path(body: &Value) -> Value {
    let mut b = body.clone();
    if let Some(o) = b.as_object_mut() {
        o.remove("path");
    }
    b
}

#[actix_web::test]
async fn other_users_processes_are_indistinguishable_from_missing_ones() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let id = app
            .launch_ok(
                "outputs",
                Some(&app.alice),
                json!([{"name": "-z", "value": "3"}]),
            )
            .await;
        let p = app.wait_done(&id, Some(&app.alice)).await;
        assert_eq!(p["processStatus"], "COMPLETED", "{p}");
        let (_, files) = app
            .get_json(
                &format!("/api/system/processes/{id}/files"),
                Some(&app.alice),
            )
            .await;
        let file = files["_embedded"]["bitstreams"][0]["uuid"]
            .as_str()
            .expect("a file")
            .to_owned();
        let missing_file = "0b2c3d4e-5f60-4a1b-8c2d-3e4f5a6b7c8d";

        let real = endpoints(&id, &file);
        let mut absent: Vec<Vec<(&str, String)>> = vec![endpoints("987654", missing_file)];
        for bad in ["abc", "0", "-1", "1.5", "%20", "99999999999999999999"] {
            absent.push(endpoints(bad, missing_file));
        }
        absent.push(endpoints(&id, "not-a-uuid"));
        for (i, (method, path)) in real.iter().enumerate() {
            // bob: 404, the same body as for a missing process or file.
            let (status, body) = call(&app, method, path, Some(&app.bob)).await;
            assert_eq!(status, 404, "{backend:?} bob {method} {path}: {body}");
            assert_error(&body, 404, path);
            assert_eq!(body["code"], "not_found", "{body}");
            for other in &absent {
                let (m, p) = &other[i];
                // The process endpoints keep the real file id; the bitstream ones the real id.
                let (status, missing) = call(&app, m, p, Some(&app.bob)).await;
                assert_eq!(status, 404, "bob {m} {p}: {missing}");
                assert_eq!(
                    without_path(&missing),
                    without_path(&body),
                    "{m} {p} vs {path}"
                );
            }
            // anonymous: 401 for both.
            let (status, body) = call(&app, method, path, None).await;
            assert_eq!(status, 401, "anonymous {method} {path}: {body}");
            assert_error(&body, 401, path);
            assert_eq!(body["code"], "unauthorized", "{body}");
            for other in &absent {
                let (m, p) = &other[i];
                let (status, missing) = call(&app, m, p, None).await;
                assert_eq!(status, 401, "anonymous {m} {p}: {missing}");
                assert_eq!(without_path(&missing), without_path(&body));
            }
        }
        // Nothing was stopped or deleted by the probing.
        let p = app.process(&id, Some(&app.alice)).await;
        assert_eq!(p["processStatus"], "COMPLETED");

        // Admin and the owner see everything.
        for token in [&app.admin, &app.alice] {
            for (method, path) in &real {
                if *method != "GET" {
                    continue;
                }
                let res = app.get(path, Some(token)).send().await.unwrap();
                assert_eq!(res.status(), 200, "{path}");
            }
        }
        // Stopping a finished process is refused (422), not hidden.
        let (status, body) = call(
            &app,
            "POST",
            &format!("/api/system/processes/{id}/stop"),
            Some(&app.admin),
        )
        .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["code"], "process_finished", "{body}");
        let (status, _) = call(
            &app,
            "DELETE",
            &format!("/api/system/processes/{id}"),
            Some(&app.admin),
        )
        .await;
        assert_eq!(status, 204);
        let (status, _) = app
            .get_json(&format!("/api/system/processes/{id}"), Some(&app.alice))
            .await;
        assert_eq!(status, 404);
        let (status, _) = app
            .get_json(&format!("/api/core/bitstreams/{file}"), Some(&app.admin))
            .await;
        assert_eq!(status, 404);
    }
}

#[actix_web::test]
async fn with_public_access_a_process_started_anonymously_is_visible_to_anyone() {
    for backend in BACKENDS {
        let public = "anonymous_process_access = \"public\"";
        let Some(app) = spawn_app_with(backend, public).await else {
            continue;
        };
        let id = app
            .launch_ok("echo", None, json!([{"name": "-s", "value": "public"}]))
            .await;
        let p = app.wait_done(&id, None).await;
        assert_eq!(p["processStatus"], "COMPLETED", "{backend:?}: {p}");
        assert!(p["userId"].is_null(), "{p}");
        // No capability presented: the site made anonymous processes public.
        for token in [None, Some(&app.bob), Some(&app.alice), Some(&app.admin)] {
            let token = token.map(String::as_str);
            let (_, p) = app
                .get_json(&format!("/api/system/processes/{id}"), token)
                .await;
            assert_eq!(p["processId"], id.as_str());
            let res = app.get(&format!("/api/system/processes/{id}/output"), token);
            let text = res.send().await.unwrap().text().await.unwrap();
            assert_eq!(text, "-s\npublic\n");
            let (status, _) = app
                .get_json(&format!("/api/system/processes/{id}/files"), token)
                .await;
            assert_eq!(status, 200);
        }
        // It belongs to nobody's listing but the admin's.
        let (_, bobs) = app.get_json("/api/system/processes", Some(&app.bob)).await;
        assert_eq!(bobs["page"]["totalElements"], 0);
        let (_, all) = app
            .get_json("/api/system/processes", Some(&app.admin))
            .await;
        assert_eq!(all["page"]["totalElements"], 1);
    }
}

#[actix_web::test]
async fn a_bad_token_is_401_never_anonymous() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        for header in ["Bearer pd_nope", "Basic YWxpY2U6eA==", "Bearer "] {
            let res = app
                .client
                .get(app.url("/api/system/scripts"))
                .header("Authorization", header)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 401, "{backend:?} {header}");
            let body: Value = res.json().await.unwrap();
            assert_error(&body, 401, "/api/system/scripts");
        }
    }
}

#[actix_web::test]
async fn the_process_json_has_every_field() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let res = app
            .launch(
                "echo",
                Some(&app.bob),
                json!([{"name": "-s", "value": "hi"}, {"name": "-n", "value": "3"}]),
                vec![],
            )
            .await;
        assert_eq!(res.status(), 202, "{backend:?}");
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        let created: Value = res.json().await.unwrap();
        let id = created["processId"].as_str().expect("string id").to_owned();
        assert!(id.parse::<u64>().is_ok(), "{id}");
        assert_eq!(location, app.url(&format!("/api/system/processes/{id}")));
        rfc3339(&created["creationTime"]);

        let p = app.wait_done(&id, Some(&app.bob)).await;
        let obj = p.as_object().unwrap();
        for key in [
            "processId",
            "userId",
            "scriptName",
            "processStatus",
            "creationTime",
            "startTime",
            "endTime",
            "parameters",
            "percentComplete",
            "statusReason",
            "exitCode",
            "dependsOn",
            "executorJobId",
            "type",
            "_links",
        ] {
            assert!(obj.contains_key(key), "missing {key}: {p}");
        }
        assert_eq!(p["processId"], id.as_str());
        let user = p["userId"].as_str().expect("userId");
        assert!(uuid::Uuid::parse_str(user).is_ok(), "{user}");
        assert_eq!(p["scriptName"], "echo");
        assert_eq!(p["processStatus"], "COMPLETED");
        assert_eq!(
            p["parameters"],
            json!([{"name": "-s", "value": "hi"}, {"name": "-n", "value": "3"}])
        );
        assert!(p["statusReason"].is_null(), "{p}");
        assert_eq!(p["exitCode"], 0);
        assert_eq!(p["dependsOn"], json!([]));
        assert_eq!(p["type"], "process");
        let created_at = rfc3339(&p["creationTime"]);
        let started = rfc3339(&p["startTime"]);
        let ended = rfc3339(&p["endTime"]);
        assert!(created_at <= started && started <= ended, "{p}");
        let now = OffsetDateTime::now_utc();
        assert!((now - created_at).whole_seconds().abs() < 120, "{p}");
        let base = app.url(&format!("/api/system/processes/{id}"));
        assert_eq!(
            p["_links"],
            json!({
                "self": {"href": base},
                "script": {"href": app.url("/api/system/scripts/echo")},
                "output": {"href": format!("{base}/output")},
                "files": {"href": format!("{base}/files")},
                "filetypes": {"href": format!("{base}/filetypes")},
            })
        );
        // The same object in listings.
        let (_, list) = app.get_json("/api/system/processes", Some(&app.bob)).await;
        assert_eq!(list["_embedded"]["processes"][0], p);

        // A script reporting progress: percentComplete; a failing one: exit code and reason.
        let id = app.launch_ok("outputs", Some(&app.bob), json!([])).await;
        let p = app.wait_done(&id, Some(&app.bob)).await;
        assert_eq!(p["percentComplete"], 100, "{p}");
        let id = app
            .launch_ok(
                "exit",
                Some(&app.bob),
                json!([{"name": "-c", "value": "3"}]),
            )
            .await;
        let p = app.wait_done(&id, Some(&app.bob)).await;
        assert_eq!(p["processStatus"], "FAILED");
        assert_eq!(p["exitCode"], 3);
        assert_eq!(p["statusReason"], "exit");
        rfc3339(&p["endTime"]);

        // A scheduled process has no start or end time yet.
        let form = reqwest::multipart::Form::new()
            .text("properties", "[]")
            .text("startTime", "2999-01-01T00:00:00Z");
        let res = app
            .post("/api/system/scripts/echo/processes", Some(&app.bob))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
        let s: Value = res.json().await.unwrap();
        assert_eq!(s["processStatus"], "SCHEDULED", "{s}");
        assert!(s["startTime"].is_null() && s["endTime"].is_null(), "{s}");
        assert!(s["exitCode"].is_null(), "{s}");
    }
}
