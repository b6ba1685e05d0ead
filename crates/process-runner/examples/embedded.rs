//! processd's engine inside another tokio service, without HTTP: a store (SQLite here), a
//! runner with the local executor, one registered script; launch a process, await its
//! outcome, read its output.
//!
//! Run with `cargo run -p process-runner --example embedded`.

use std::sync::Arc;
use std::time::Duration;

use process_core::{
    Catalog, DependencyType, NewProcess, NodeName, OutputRange, Param, Principal, Script,
    ScriptName,
};
use process_datadir::Layout;
use process_runner::{BaseEnv, Containment, Executors, LocalExecutor, Runner, RunnerConfig};
use process_store::Store;
use time::OffsetDateTime;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let layout = Layout::new(dir.path());
    let url = format!("sqlite://{}", dir.path().join("processd.db").display());
    let store = tokio::task::spawn_blocking(move || {
        let store = Store::open(&url, layout)?;
        store.migrate()?;
        Ok::<_, process_store::StoreError>(store)
    })
    .await??;

    let greet = Script {
        name: ScriptName::parse("greet")?,
        description: "says hello".to_owned(),
        command: vec!["/bin/echo".to_owned(), "hello".to_owned()],
        allowed: vec![Principal::Anonymous],
        max_clock_time: Some(Duration::from_secs(60)),
        env: Default::default(),
        parameters: vec![],
        executor: None,
    };
    let local = LocalExecutor {
        kill_grace: Duration::from_secs(5),
        containment: Arc::new(Containment::none()),
    };
    let runner = Runner::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        store.layout().clone(),
        Arc::new(Catalog::new(vec![greet])?),
        Executors::new("local", Arc::new(local)),
        RunnerConfig {
            node: NodeName::new("embedded"),
            max_concurrent: 2,
            max_output_bytes: 1 << 20,
            poll_interval: Duration::from_secs(5),
            base_env: BaseEnv::from_service(),
        },
    );
    runner.spawn();

    // Launch: a SCHEDULED row, then a nudge so the runner claims it now.
    let new = NewProcess {
        owner: None,
        script: ScriptName::parse("greet")?,
        creation_time: OffsetDateTime::now_utc(),
        parameters: vec![Param {
            name: "--name".to_owned(),
            value: "world".to_owned(),
        }],
        not_before: None,
        depends_on: vec![],
        dependency_type: DependencyType::default(),
        access_hash: None,
    };
    let s = store.clone();
    let process = tokio::task::spawn_blocking(move || s.create_process(&new, &[])).await??;
    runner.wake();

    // Await the outcome (a service would rather react to its own events than poll).
    let id = process.id;
    let done = loop {
        let s = store.clone();
        let p = tokio::task::spawn_blocking(move || s.get_process(id)).await??;
        match p {
            Some(p) if p.status().is_terminal() => break p,
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let s = store.clone();
    let lines = tokio::task::spawn_blocking(move || s.read_output(id, OutputRange::after(0), 100))
        .await??;
    println!("process {id}: {}", done.status().as_str());
    for line in &lines {
        println!("  {}", line.line);
    }
    assert_eq!(lines[0].line, "hello --name world");
    Ok(())
}
