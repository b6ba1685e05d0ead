//! The `process-client` crate against a real processd, on SQLite and PostgreSQL: scripts,
//! launches with files, waiting, output and lines, files and downloads, stop, delete, errors,
//! anonymous processes and password logins.

use futures_util::StreamExt;
use process_client::{Client, Error, Event, Launch, Status};

use crate::helpers::{spawn_app, BACKENDS};

#[actix_web::test]
async fn the_client_launches_waits_and_reads_everything_back() {
    for backend in BACKENDS {
        let Some(app) = spawn_app(backend).await else {
            continue;
        };
        let client = Client::new(&app.base).with_token(&app.alice);

        let names: Vec<String> = client
            .scripts()
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert!(names.iter().any(|n| n == "lab-only"), "{names:?}");
        assert!(!names.iter().any(|n| n == "admin-only"), "{names:?}");
        let cat = client.script("cat").await.unwrap();
        assert_eq!(cat.parameters[0].name, "-f");
        assert_eq!(cat.parameters[0].kind, "InputStream");
        assert!(cat.parameters[0].mandatory);

        let items = app.dir.path().join("items.csv");
        std::fs::write(&items, "id,title\n1,a\n").unwrap();
        let launched = client
            .launch("cat", &Launch::new().file("-f", &items))
            .await
            .unwrap();
        assert_eq!(launched.script_name, "cat");
        assert!(
            launched.access_token.is_none(),
            "a user's launch has no capability"
        );
        let done = client.wait(&launched).await.unwrap();
        assert_eq!(done.process_status, Status::Completed, "{backend:?}");
        assert_eq!(done.exit_code, Some(0));
        let output = client.output(&done).await.unwrap();
        assert!(output.ends_with("id,title\n1,a\n"), "{output}");

        // Lines page by sequence number until `complete`.
        let first = client.lines(&done, 0, 1).await.unwrap();
        assert_eq!(first.lines.len(), 1);
        assert!(first.lines[0].line.starts_with("path="));
        assert!(!first.complete);
        let rest = client.lines(&done, first.last, 1000).await.unwrap();
        assert_eq!(rest.lines.len(), 2);
        assert_eq!(rest.lines[0].seq, first.last + 1);
        assert!(rest.complete);

        // Files: the uploaded input, then the console log; downloads are MD5-checked.
        let files = client.files(&done).await.unwrap();
        let input = files
            .iter()
            .find(|f| f.name == "items.csv")
            .unwrap_or_else(|| panic!("{files:?}"));
        assert_eq!(input.size_bytes, 13);
        assert_eq!(files.last().unwrap().file_type, "script_output");
        let dest = app.dir.path().join("copy.csv");
        let mut seen = 0;
        let n = client
            .download_with(&done, input, &dest, |n| seen = n)
            .await
            .unwrap();
        assert_eq!((n, seen), (13, 13));
        assert_eq!(std::fs::read(&dest).unwrap(), b"id,title\n1,a\n");
        let zip = app.dir.path().join("all.zip");
        assert!(client.archive(&done, &zip).await.unwrap() > 0);
        assert!(std::fs::read(&zip).unwrap().starts_with(b"PK"));

        let page = client
            .processes(&[("scriptName", "cat")], 0, 10)
            .await
            .unwrap();
        assert_eq!(page.total_elements, 1);
        assert_eq!(page.items[0].process_id, done.process_id);

        // Stop a running process, then delete it.
        let sleeper = client
            .launch("sleep", &Launch::new().param("-t", "30"))
            .await
            .unwrap();
        while client.process(&sleeper).await.unwrap().process_status != Status::Running {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        client.stop(&sleeper).await.unwrap();
        let stopped = client.wait(&sleeper).await.unwrap();
        assert_eq!(stopped.process_status, Status::Failed);
        assert_eq!(stopped.status_reason.as_deref(), Some("stopped"));
        client.delete(&stopped).await.unwrap();

        // Errors carry the service's status and code.
        let gone = client.process(&stopped).await.unwrap_err();
        assert!(
            matches!(&gone, Error::Api { status: 404, code, .. } if code == "not_found"),
            "{gone:?}"
        );
        let bad = client
            .launch("echo", &Launch::new().param("-n", "many"))
            .await
            .unwrap_err();
        assert!(
            matches!(&bad, Error::Api { status: 400, code, .. } if code == "validation_failed"),
            "{bad:?}"
        );
        let missing = client
            .launch(
                "cat",
                &Launch::new().file("-f", app.dir.path().join("nope.csv")),
            )
            .await
            .unwrap_err();
        assert!(matches!(missing, Error::File { .. }), "{missing:?}");
        let unknown = Client::new(&app.base).with_token("pd_unknown");
        assert_eq!(unknown.scripts().await.unwrap_err().status(), Some(401));
    }
}

#[actix_web::test]
async fn anonymous_processes_are_followed_with_their_capability() {
    let Some(app) = spawn_app(crate::helpers::Backend::Sqlite).await else {
        return;
    };
    let anonymous = Client::new(&app.base);
    assert!(anonymous.whoami().await.unwrap().is_none());
    let p = anonymous
        .launch("echo", &Launch::new().param("-s", "hi").flag("-b"))
        .await
        .unwrap();
    assert!(p.access_token.is_some());
    let done = anonymous.wait(&p).await.unwrap();
    assert_eq!(done.process_status, Status::Completed);
    assert_eq!(anonymous.output(&done).await.unwrap(), "-s\nhi\n-b\n");
    // By id alone, without the capability, it is not there.
    let err = anonymous.process(p.process_id.as_str()).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
}

#[actix_web::test]
async fn a_password_login_gives_a_token_that_works() {
    let Some(app) = spawn_app(crate::helpers::Backend::Sqlite).await else {
        return;
    };
    app.set_password("bob", "correct horse").await;
    let anonymous = Client::new(&app.base);
    let wrong = anonymous.login("bob", "wrong").await.unwrap_err();
    assert_eq!(wrong.status(), Some(401));
    let jwt = anonymous.login("bob", "correct horse").await.unwrap();
    let me = Client::new(&app.base)
        .with_token(jwt)
        .whoami()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(me.name, "bob");
    assert!(!me.admin);
}

#[actix_web::test]
async fn the_live_console_streams_every_line_once_and_resumes() {
    let Some(app) = spawn_app(crate::helpers::Backend::Sqlite).await else {
        return;
    };
    let client = Client::new(&app.base).with_token(&app.alice);
    let p = client
        .launch("lines", &Launch::new().param("-c", "50"))
        .await
        .unwrap();
    let collect = |after: u64| {
        let client = client.clone();
        let p = p.clone();
        async move {
            let mut seqs = Vec::new();
            let mut events = Box::pin(client.follow(&p, after).await.unwrap());
            while let Some(event) = events.next().await {
                match event.unwrap() {
                    Event::Line(line) => {
                        assert_eq!(line.line, format!("line {}", line.seq));
                        seqs.push(line.seq);
                    }
                    Event::End {
                        status, exit_code, ..
                    } => {
                        assert_eq!((status, exit_code), (Status::Completed, Some(0)));
                        return seqs;
                    }
                }
            }
            panic!("the stream ended without an end event");
        }
    };
    assert_eq!(collect(0).await, (1..=50).collect::<Vec<u64>>());
    assert_eq!(collect(40).await, (41..=50).collect::<Vec<u64>>());
}

#[actix_web::test]
async fn files_uploaded_ahead_are_taken_by_a_launch() {
    let Some(app) = spawn_app(crate::helpers::Backend::Sqlite).await else {
        return;
    };
    let client = Client::new(&app.base).with_token(&app.alice);
    let session = client.create_upload(&["items.csv"]).await.unwrap();
    assert_eq!(session.file_definitions[0].status, "NEW");
    let items = app.dir.path().join("items.csv");
    std::fs::write(&items, "id\n7\n").unwrap();
    let file_id = session.file_definitions[0].id.clone();
    let session = client
        .upload_file(&session, &file_id, &items)
        .await
        .unwrap();
    assert_eq!(session.status, "LOADED");
    let p = client
        .launch(
            "cat",
            &Launch::new().upload(&session.id).param("-f", "items.csv"),
        )
        .await
        .unwrap();
    let done = client.wait(&p).await.unwrap();
    assert_eq!(done.process_status, Status::Completed);
    assert!(client.output(&done).await.unwrap().ends_with("id\n7\n"));
}
