//! The client commands: `scripts`, `ps`, `run`, `logs`, `show`, `stop`, `rm`, `fetch`, each a
//! call or two of processd's API through `process-client`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use process_client::{Client, Error, Launch, Process, ProcessRef, Status};
use process_core::file::{is_valid_filetype, OUTPUT_FILETYPE};
use process_http::service::console::FILETYPE as CONSOLE_FILETYPE;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// An API error as a person should read it: what to do about a 401, which process a 404 is.
fn explain(e: Error, id: Option<&str>) -> anyhow::Error {
    match (e.status(), id) {
        (Some(401), _) => anyhow::anyhow!("{e} (run `processd login URL`)"),
        (Some(404), Some(id)) => anyhow::anyhow!("no process {id} visible to you"),
        _ => anyhow::Error::new(e),
    }
}

fn time(t: Option<OffsetDateTime>) -> String {
    t.and_then(|t| t.replace_nanosecond(0).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "-".to_owned())
}

/// Rows padded into columns, the last one unpadded.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == columns {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  ", width = widths[c]));
            }
        }
        out.push('\n');
    }
    out
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub async fn scripts(client: &Client, json: bool) -> anyhow::Result<()> {
    let scripts = client.scripts().await.map_err(|e| explain(e, None))?;
    if json {
        return print_json(&scripts);
    }
    let mut rows = vec![vec!["SCRIPT".to_owned(), "DESCRIPTION".to_owned()]];
    rows.extend(
        scripts
            .iter()
            .map(|s| vec![s.name.clone(), s.description.clone().unwrap_or_default()]),
    );
    print!("{}", table(&rows));
    Ok(())
}

pub struct PsFilter {
    pub status: Option<String>,
    pub script: Option<String>,
    pub mine: bool,
    pub limit: u32,
}

pub async fn ps(client: &Client, filter: PsFilter, json: bool) -> anyhow::Result<()> {
    let me = if filter.mine {
        let me = client.whoami().await.map_err(|e| explain(e, None))?;
        Some(me.context("--mine needs a login")?.uuid)
    } else {
        None
    };
    let status = filter.status.map(|s| s.to_ascii_uppercase());
    let mut filters = Vec::new();
    if let Some(status) = &status {
        filters.push(("processStatus", status.as_str()));
    }
    if let Some(script) = &filter.script {
        filters.push(("scriptName", script.as_str()));
    }
    if let Some(me) = &me {
        filters.push(("userId", me.as_str()));
    }
    let page = client
        .processes(&filters, 0, filter.limit)
        .await
        .map_err(|e| explain(e, None))?;
    if json {
        return print_json(&page.items);
    }
    let mut rows = vec![["ID", "STATUS", "SCRIPT", "PROGRESS", "CREATED", "ENDED"]
        .map(str::to_owned)
        .to_vec()];
    rows.extend(page.items.iter().map(|p| {
        vec![
            p.process_id.clone(),
            status_text(p),
            p.script_name.clone(),
            p.percent_complete
                .map_or_else(|| "-".to_owned(), |n| format!("{n}%")),
            time(Some(p.creation_time)),
            time(p.end_time),
        ]
    }));
    print!("{}", table(&rows));
    if page.total_elements > page.items.len() as u64 {
        eprintln!(
            "{} of {} shown (--limit)",
            page.items.len(),
            page.total_elements
        );
    }
    Ok(())
}

/// `FAILED (exit 3)`, `FAILED (stopped)`, `RUNNING`...
fn status_text(p: &Process) -> String {
    match (&p.status_reason, p.exit_code) {
        (Some(reason), Some(code)) if reason == "exit" => {
            format!("{} (exit {code})", p.process_status.as_str())
        }
        (Some(reason), _) => format!("{} ({reason})", p.process_status.as_str()),
        (None, _) => p.process_status.as_str().to_owned(),
    }
}

pub struct RunArgs {
    pub script: String,
    pub params: Vec<String>,
    pub files: Vec<String>,
    pub after: Vec<String>,
    pub at: Option<String>,
}

/// `NAME=VALUE` → (NAME, VALUE); a bare `NAME` is a boolean that is set.
fn split_assignment(s: &str) -> (&str, Option<&str>) {
    match s.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (s, None),
    }
}

pub async fn run(
    client: &Client,
    args: RunArgs,
    follow: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let mut launch = Launch::new();
    for p in &args.params {
        launch = match split_assignment(p) {
            (name, Some(value)) => launch.param(name, value),
            (name, None) => launch.flag(name),
        };
    }
    for f in &args.files {
        let (name, Some(path)) = split_assignment(f) else {
            anyhow::bail!("-f takes NAME=PATH, not {f:?}");
        };
        anyhow::ensure!(Path::new(path).is_file(), "{path}: no such file");
        launch = launch.file(name, path);
    }
    for id in args.after {
        launch = launch.after(id);
    }
    if let Some(at) = &args.at {
        let at = OffsetDateTime::parse(at, &Rfc3339)
            .with_context(|| format!("--at {at:?} is not an RFC 3339 time"))?;
        launch = launch.at(at);
    }
    let process = client
        .launch(&args.script, &launch)
        .await
        .map_err(|e| match e.status() {
            Some(404) => anyhow::anyhow!("no script {:?} you may start", args.script),
            _ => explain(e, None),
        })?;
    if json {
        print_json(&process)?;
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "process {} ({}) is {}",
        process.process_id,
        process.script_name,
        process.process_status.as_str()
    );
    if let Some(access) = &process.access_token {
        // Shown once: without it (or an admin) nobody sees an anonymous process again.
        eprintln!("anonymous process: its capability is {access} (header X-Process-Access)");
    }
    if !follow {
        println!("{}", process.process_id);
        return Ok(ExitCode::SUCCESS);
    }
    follow_process(client, ProcessRef::from(&process), true).await
}

pub async fn logs(client: &Client, id: &str, follow: bool) -> anyhow::Result<ExitCode> {
    if follow {
        return follow_process(client, ProcessRef::from(id), false).await;
    }
    let text = client.output(id).await.map_err(|e| explain(e, Some(id)))?;
    print!(
        "{}",
        shown(&text, std::io::IsTerminal::is_terminal(&std::io::stdout()))
    );
    Ok(ExitCode::SUCCESS)
}

/// What a script printed, for a terminal: control characters other than tab and newline
/// shown as `�`, so a script cannot drive the terminal (escape sequences). Unchanged for a
/// file or a pipe.
fn shown(text: &str, terminal: bool) -> std::borrow::Cow<'_, str> {
    let control = |c: char| c.is_control() && c != '\t' && c != '\n';
    if terminal && text.contains(control) {
        text.replace(control, "\u{FFFD}").into()
    } else {
        text.into()
    }
}

/// Prints the console lines as they come (with a progress bar on a terminal when `bar`),
/// until the process ends; answers the exit code the command should have. Connection
/// failures (a restarting server) are retried; Ctrl-C asks whether to stop the process.
async fn follow_process(client: &Client, p: ProcessRef, bar: bool) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal;
    let id = p.id.clone();
    let id = id.as_str();
    // The bar prints the lines above itself, on the terminal: only when the lines would go
    // there anyway, never when stdout is a file or a pipe.
    let on_terminal = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
    let progress = if bar && on_terminal {
        let bar = ProgressBar::new(100);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}%")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Some(bar)
    } else {
        None
    };
    let mut after = 0;
    let mut down_since: Option<std::time::Instant> = None;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let step = async {
            let lines = client.lines(p.clone(), after, 1000).await?;
            let process = client.process(p.clone()).await?;
            Ok::<_, Error>((lines, process))
        };
        let (lines, process) = tokio::select! {
            _ = &mut ctrl_c => {
                if let Some(bar) = &progress {
                    bar.abandon();
                }
                return interrupted(client, p.clone()).await;
            }
            step = step => match step {
                Ok(step) => {
                    down_since = None;
                    step
                }
                // The server is restarting or unreachable for a while: keep trying.
                Err(Error::Transport(e)) if e.is_connect() || e.is_timeout() || e.is_request() => {
                    if down_since.is_none() {
                        eprintln!("processd does not answer ({e}); trying again");
                    }
                    let since = *down_since.get_or_insert_with(std::time::Instant::now);
                    if since.elapsed() > Duration::from_secs(300) {
                        return Err(anyhow::anyhow!("processd has not answered for 5 minutes: {e}"));
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
                Err(e) => return Err(explain(e, Some(id))),
            },
        };
        for line in &lines.lines {
            let line = shown(&line.line, on_terminal);
            match &progress {
                Some(bar) => bar.println(line),
                None => println!("{line}"),
            }
        }
        after = lines.last;
        if let Some(bar) = &progress {
            bar.set_position(u64::from(process.percent_complete.unwrap_or(0)));
            bar.set_message(format!(
                "{} {}",
                process.process_id,
                process.process_status.as_str()
            ));
        }
        if lines.complete && process.process_status.is_final() {
            if let Some(bar) = &progress {
                bar.finish_and_clear();
            }
            eprintln!("process {id}: {}", status_text(&process));
            return Ok(exit_code(&process));
        }
        if lines.lines.is_empty() {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// The script's own exit code; 1 for a failure without one.
fn exit_code(p: &Process) -> ExitCode {
    match (p.process_status, p.exit_code) {
        (Status::Completed, _) => ExitCode::SUCCESS,
        (_, Some(code)) => ExitCode::from(u8::try_from(code).ok().filter(|c| *c != 0).unwrap_or(1)),
        _ => ExitCode::from(1),
    }
}

/// Ctrl-C while following: on a terminal, asks whether to stop the process too.
async fn interrupted(client: &Client, p: ProcessRef) -> anyhow::Result<ExitCode> {
    let id = p.id.clone();
    use std::io::{BufRead, IsTerminal, Write};
    if std::io::stdin().is_terminal() {
        eprint!("\nstop process {id} too? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if answer.trim().eq_ignore_ascii_case("y") {
            client.stop(p).await.map_err(|e| explain(e, Some(&id)))?;
            eprintln!("process {id} is stopping");
        }
    }
    Ok(ExitCode::from(130))
}

/// Prints events as they come: `TIME ID TYPE PROCESS SCRIPT STATUS [PERCENT]`, or JSON lines.
pub async fn events(client: &Client, after: Option<u64>, json: bool) -> anyhow::Result<()> {
    use futures_util::StreamExt;
    let stream = client.events(after).await.map_err(|e| explain(e, None))?;
    tokio::pin!(stream);
    while let Some(event) = stream.next().await {
        let event = event?;
        if json {
            println!("{}", serde_json::to_string(&event)?);
            continue;
        }
        let p = &event.process;
        let progress = p
            .percent_complete
            .filter(|_| event.kind == "process.progress")
            .map(|n| format!(" {n}%"))
            .unwrap_or_default();
        println!(
            "{} {} {} {} {} {}{progress}",
            time(Some(event.time)),
            event.id,
            event.kind,
            p.process_id,
            p.script_name,
            status_text(p)
        );
    }
    Ok(())
}

pub async fn show(client: &Client, id: &str, json: bool) -> anyhow::Result<()> {
    let p = client.process(id).await.map_err(|e| explain(e, Some(id)))?;
    if json {
        return print_json(&p);
    }
    let params = p
        .parameters
        .iter()
        .map(|p| format!("{} {}", p.name, p.value))
        .collect::<Vec<_>>()
        .join(" ");
    let rows = [
        ("process", p.process_id.clone()),
        ("script", p.script_name.clone()),
        ("status", status_text(&p)),
        (
            "progress",
            p.percent_complete
                .map_or_else(|| "-".to_owned(), |n| format!("{n}%")),
        ),
        ("parameters", params),
        ("created", time(Some(p.creation_time))),
        ("started", time(p.start_time)),
        ("ended", time(p.end_time)),
        ("depends on", p.depends_on.join(", ")),
        ("job", p.executor_job_id.clone().unwrap_or_default()),
    ];
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(k, v)| vec![format!("{k}:"), v])
        .collect();
    print!("{}", table(&rows));
    Ok(())
}

pub async fn stop(client: &Client, id: &str) -> anyhow::Result<()> {
    client.stop(id).await.map_err(|e| explain(e, Some(id)))?;
    eprintln!("process {id} is stopping");
    Ok(())
}

pub async fn rm(client: &Client, id: &str) -> anyhow::Result<()> {
    client.delete(id).await.map_err(|e| explain(e, Some(id)))?;
    eprintln!("process {id} deleted");
    Ok(())
}

/// Downloads each stored file (checking its MD5), or the zip of all of them, into `dir`.
/// The console log stays behind: `processd logs` shows it.
pub async fn fetch(client: &Client, id: &str, dir: Option<&Path>, zip: bool) -> anyhow::Result<()> {
    if zip {
        let dir = dir.unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let dest = fresh(dir.join(format!("process-{id}.zip")))?;
        let n = client
            .archive(id, &dest)
            .await
            .map_err(|e| explain(e, Some(id)))?;
        eprintln!("{} ({n} bytes)", dest.display());
        return Ok(());
    }
    let default = std::path::PathBuf::from(format!("process-{id}"));
    let dir = dir.unwrap_or(&default);
    let files = client.files(id).await.map_err(|e| explain(e, Some(id)))?;
    for file in files.iter().filter(|f| f.file_type != CONSOLE_FILETYPE) {
        // As the script left them: its output files at the top, files of another type in
        // the folder of that type (`exportCSV/export.csv`, `inputFile/items.csv`).
        let name = relative_path(&file.name)
            .with_context(|| format!("{:?} is not a relative path: not written", file.name))?;
        let dest = match file.file_type.as_str() {
            OUTPUT_FILETYPE => dir.join(name),
            other if is_valid_filetype(other) => dir.join(other).join(name),
            other => anyhow::bail!("{other:?} is not a file type: {:?} not written", file.name),
        };
        let dest = fresh(dest)?;
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let bar = ProgressBar::new(file.size_bytes);
        if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let n = client
            .download_with(id, file, &dest, |n| bar.set_position(n))
            .await
            .map_err(|e| explain(e, Some(id)))?;
        bar.finish_and_clear();
        eprintln!("{} ({n} bytes, MD5 {})", dest.display(), file.md5);
    }
    Ok(())
}

/// `path`, when nothing is there yet: a download never replaces a file of the user's.
fn fresh(path: std::path::PathBuf) -> anyhow::Result<std::path::PathBuf> {
    anyhow::ensure!(
        std::fs::symlink_metadata(&path).is_err(),
        "{} already exists: not overwritten (choose another folder with -o)",
        path.display()
    );
    Ok(path)
}

/// A file name from the service (`result.txt`, `exportCSV/export.csv`) as a path that stays
/// inside the folder it is joined to: plain components only, no `..`, no root.
fn relative_path(name: &str) -> Option<std::path::PathBuf> {
    use std::path::Component;
    let path = Path::new(name);
    let plain = path.components().all(|c| matches!(c, Component::Normal(_)));
    (plain && path.components().next().is_some()).then(|| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::relative_path;

    #[test]
    fn only_plain_relative_names_are_written() {
        assert!(relative_path("result.txt").is_some());
        assert!(relative_path("exportCSV/nested/deep.txt").is_some());
        for bad in ["", "/etc/passwd", "../up.txt", "a/../../b", "."] {
            assert!(relative_path(bad).is_none(), "{bad:?}");
        }
    }
}
