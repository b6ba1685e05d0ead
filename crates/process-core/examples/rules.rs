//! processd's rules without processd: a service with its own storage checks who may start a
//! script, validates a launch against the script's parameters, builds the argv, and walks the
//! process through its lifecycle. Nothing here does I/O or reads a clock.
//!
//! Run with `cargo run -p process-core --example rules`.

use process_core::auth::may_start;
use process_core::params::{argv, validate};
use process_core::{
    Caller, ParamType, ParameterSpec, Principal, Process, ProcessId, ProcessStatus, RawParam,
    Script, ScriptName, StatusReason, Transition, User, UserId,
};
use time::macros::datetime;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let script = Script {
        name: ScriptName::parse("row-count")?,
        description: "Count the rows of a CSV file".to_owned(),
        command: vec!["/usr/bin/python3".to_owned(), "row_count.py".to_owned()],
        allowed: vec![Principal::Group("lab".to_owned())],
        max_clock_time: None,
        env: Default::default(),
        parameters: vec![
            spec("-f", Some("--file"), ParamType::File, true),
            spec("-H", Some("--header"), ParamType::Boolean, false),
        ],
        executor: None,
    };

    // Who may start it: the lab group (and admins), not someone outside it.
    let alice = Caller::User(User {
        id: "00000000-0000-4000-8000-000000000001".parse::<UserId>()?,
        name: "alice".to_owned(),
        admin: false,
        groups: vec!["lab".to_owned()],
    });
    let bob = Caller::User(User {
        id: "00000000-0000-4000-8000-000000000002".parse::<UserId>()?,
        name: "bob".to_owned(),
        admin: false,
        groups: vec![],
    });
    may_start(&alice, &script)?;
    assert!(may_start(&bob, &script).is_err());

    // A launch as a client sends it: the file parameter names an uploaded file.
    let raw = vec![
        RawParam {
            name: "--file".to_owned(),
            value: Some("items.csv".to_owned()),
        },
        RawParam {
            name: "-H".to_owned(),
            value: None,
        },
    ];
    let params = validate(&script, &raw, &["items.csv"], &[])?;
    let args = argv(&script, &params, |name| format!("/runs/7/inputs/{name}"));
    println!("argv: {args:?}");
    // Each parameter under the name the client used, a file as the path it was stored at.
    assert_eq!(
        args,
        [
            "/usr/bin/python3",
            "row_count.py",
            "--file",
            "/runs/7/inputs/items.csv",
            "-H"
        ]
    );
    // A file that was not uploaded, or a missing mandatory parameter, is refused.
    assert!(validate(&script, &raw, &[], &[]).is_err());
    assert!(validate(&script, &[], &[], &[]).is_err());

    // The lifecycle: SCHEDULED → RUNNING → COMPLETED; a finished process stays finished.
    let t0 = datetime!(2026-12-02 12:00 UTC);
    let mut process = Process::stored(
        ProcessId::new(7)?,
        None,
        script.name.clone(),
        ProcessStatus::Scheduled,
        t0,
    );
    process.apply(&Transition::Start {
        at: t0,
        executor_job_id: Some("local:4242".to_owned()),
    })?;
    process.apply(&Transition::Complete { at: t0 })?;
    assert_eq!(process.status(), ProcessStatus::Completed);
    let late_failure = Transition::Fail {
        at: t0,
        reason: StatusReason::Timeout,
        exit_code: None,
    };
    assert!(process.apply(&late_failure).is_err());
    println!("process 7: {}", process.status().as_str());
    Ok(())
}

fn spec(name: &str, long: Option<&str>, ty: ParamType, mandatory: bool) -> ParameterSpec {
    ParameterSpec {
        name: name.to_owned(),
        long: long.map(str::to_owned),
        ty,
        mandatory,
        description: String::new(),
        allow_leading_dash: false,
    }
}
