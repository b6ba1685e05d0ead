//! capture: a script printing a million 80-byte lines, from launch until COMPLETED with every
//! line stored, against the same script writing to a file.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::fmt;
use crate::report::{Report, Row};
use crate::server::{ScriptDef, Server, ServerOptions};
use crate::stats::{rate, ratio, round};
use crate::workload::LINE_BYTES;
use crate::{db, Ctx};

const TARGET: f64 = 0.8;

pub async fn run(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let lines: u64 = if ctx.quick { 100_000 } else { 1_000_000 };
    let n = lines.to_string();

    // Baseline: the same script, stdout to a file; the best of three.
    let dir = tempfile::tempdir()?;
    let mut to_file = Duration::MAX;
    for _ in 0..3 {
        let file = std::fs::File::create(dir.path().join("lines.txt"))?;
        let t = Instant::now();
        let status = Command::new(&ctx.me)
            .args(["emit-lines", &n])
            .stdin(Stdio::null())
            .stdout(file)
            .status()?;
        to_file = to_file.min(t.elapsed());
        if !status.success() {
            bail!("emit-lines failed: {status}");
        }
    }
    let written = std::fs::metadata(dir.path().join("lines.txt"))?.len();
    if written != lines * LINE_BYTES as u64 {
        bail!("emit-lines wrote {written} bytes");
    }

    let me = ctx.me.display().to_string();
    let server = Server::start(
        &ctx.processd,
        ServerOptions {
            max_output_bytes: lines * LINE_BYTES as u64 * 2,
            scripts: vec![ScriptDef {
                name: "lines",
                command: vec![me, "emit-lines".to_owned(), n],
            }],
            ..ServerOptions::default()
        },
    )
    .await?;
    let cpu = server.cpu_seconds()?;
    let t = Instant::now();
    let launched = server.launch("lines").await?;
    server
        .wait_completed(
            &launched,
            Duration::from_millis(5),
            Duration::from_millis(20),
        )
        .await?;
    let id = launched.id;
    let captured = t.elapsed();
    let cpu = server.cpu_seconds()? - cpu;
    let stored = db::stdout_lines(&server.db_path(), id).context("counting stored lines")?;
    server.stop(Duration::from_secs(10));
    if stored != i64::try_from(lines)? {
        bail!("{stored} lines stored, {lines} printed");
    }

    let per_s = rate(usize::try_from(lines)?, captured);
    let r = ratio(to_file.as_secs_f64(), captured.as_secs_f64());
    report.row(Row {
        scenario: "capture",
        metric: format!("{lines} lines of 80 B: seconds (lines/s)"),
        processd: format!("{:.2} ({}/s)", captured.as_secs_f64(), fmt(per_s)),
        baseline: format!("{:.2} to a file", to_file.as_secs_f64()),
        ratio: format!("{r:.2}"),
        target: Some(("≥ 0.8", r >= TARGET)),
    });
    report.row(Row::info(
        "capture",
        "processd CPU seconds (µs per line)",
        format!("{cpu:.2} ({:.2})", cpu * 1e6 / lines as f64),
    ));
    report.set("capture_lines", lines);
    report.set("capture_cpu_s", round(cpu, 2));
    report.set("capture_s", round(captured.as_secs_f64(), 3));
    report.set("capture_file_s", round(to_file.as_secs_f64(), 3));
    report.set("capture_lines_per_s", round(per_s, 0));
    report.set("capture_ratio", round(r, 3));
    Ok(())
}
