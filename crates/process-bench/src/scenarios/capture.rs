//! capture: a script printing a million 80-byte lines, from launch until COMPLETED with every
//! line stored, against the same script writing to a file; and ten million lines, for what
//! grows with a log (memory, database) and how fast its tail reads.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::bail;

use super::fmt;
use crate::report::{Report, Row};
use crate::server::{ScriptDef, Server, ServerOptions};
use crate::stats::{rate, ratio, round};
use crate::workload::LINE_BYTES;
use crate::Ctx;

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

    let run = capture(ctx, lines).await?;
    let (captured, cpu) = (run.captured, run.cpu);
    report.row(Row::info(
        "capture",
        "database bytes per stored line",
        format!("{:.3}", run.db_bytes_per_line),
    ));
    report.set("capture_db_bytes_per_line", round(run.db_bytes_per_line, 3));

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

/// What one capture run measured.
struct Captured {
    captured: Duration,
    cpu: f64,
    /// Growth of the database files over the run, per line.
    db_bytes_per_line: f64,
    /// Peak resident set during the run above the one before it, in bytes.
    rss_growth: u64,
    /// The best time of reading the last 10 lines through `/output/lines`.
    tail: Duration,
}

/// Runs `emit-lines lines` under processd until COMPLETED and checks, through the API, that
/// every line was stored.
async fn capture(ctx: &Ctx, lines: u64) -> anyhow::Result<Captured> {
    let me = ctx.me.display().to_string();
    let server = Server::start(
        &ctx.processd,
        ServerOptions {
            admin: true,
            max_output_bytes: lines * LINE_BYTES as u64 * 2,
            scripts: vec![ScriptDef {
                name: "lines",
                command: vec![me, "emit-lines".to_owned(), lines.to_string()],
            }],
            ..ServerOptions::default()
        },
    )
    .await?;
    let db_before = server.db_bytes();
    let (rss_before, _) = server.rss()?;
    let cpu = server.cpu_seconds()?;
    let t = Instant::now();
    let launched = server.launch("lines").await?;
    let mut peak = rss_before;
    let mut delay = Duration::from_millis(5);
    loop {
        match server.status(&launched).await?.as_str() {
            "COMPLETED" => break,
            "FAILED" => bail!("process {} FAILED", launched.id),
            _ => {}
        }
        peak = peak.max(server.rss()?.0);
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(20));
    }
    let captured = t.elapsed();
    let cpu = server.cpu_seconds()? - cpu;
    let peak = peak.max(server.rss()?.0);
    let id = launched.id;
    let (last, stdout) = server.count_lines(id).await?;
    if stdout != lines || last != i64::try_from(lines)? {
        bail!("{stdout} stdout lines of {last} read back, {lines} printed");
    }
    let mut tail = Duration::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let (status, page) = server
            .get_admin(&format!(
                "/api/system/processes/{id}/output/lines?after={}&size=10",
                last - 10
            ))
            .await?;
        tail = tail.min(t.elapsed());
        let got = page["_embedded"]["lines"].as_array().map_or(0, Vec::len);
        if status != 200 || got != 10 {
            bail!("the tail of process {id} answered {status} with {got} lines");
        }
    }
    // The database and its write-ahead log: what the run added, whatever was checkpointed.
    let db_growth = server.db_bytes().saturating_sub(db_before);
    server.stop(Duration::from_secs(10));
    Ok(Captured {
        captured,
        cpu,
        db_bytes_per_line: db_growth as f64 / lines as f64,
        rss_growth: peak.saturating_sub(rss_before),
        tail,
    })
}

/// capture-large: ten million lines (one million with --quick): memory stays flat, the
/// database does not grow with the lines, none is lost, and the tail reads at once.
pub async fn run_large(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let lines: u64 = if ctx.quick { 1_000_000 } else { 10_000_000 };
    let run = capture(ctx, lines).await?;
    let rss_mb = run.rss_growth as f64 / (1024.0 * 1024.0);
    let tail_ms = run.tail.as_secs_f64() * 1e3;
    report.row(Row::info(
        "capture",
        format!("{lines} lines: seconds, CPU µs per line"),
        format!(
            "{:.2}, {:.2}",
            run.captured.as_secs_f64(),
            run.cpu * 1e6 / lines as f64
        ),
    ));
    report.row(Row {
        scenario: "capture",
        metric: format!("{lines} lines: RSS growth MiB"),
        processd: format!("{rss_mb:.1}"),
        baseline: String::new(),
        ratio: String::new(),
        target: Some(("≤ 20", rss_mb <= 20.0)),
    });
    report.row(Row {
        scenario: "capture",
        metric: format!("{lines} lines: last 10 via /output/lines, ms"),
        processd: format!("{tail_ms:.2}"),
        baseline: String::new(),
        ratio: String::new(),
        target: Some(("≤ 10", tail_ms <= 10.0)),
    });
    report.row(Row::info(
        "capture",
        format!("{lines} lines: database bytes per line"),
        format!("{:.4}", run.db_bytes_per_line),
    ));
    report.set("capture_lines_10m", lines);
    report.set("capture_rss_growth_mb_10m", round(rss_mb, 1));
    report.set("output_tail_ms_10m", round(tail_ms, 2));
    report.set(
        "capture_db_bytes_per_line_10m",
        round(run.db_bytes_per_line, 4),
    );
    report.set(
        "capture_cpu_us_per_line_10m",
        round(run.cpu * 1e6 / lines as f64, 3),
    );
    Ok(())
}
