//! launch: end-to-end processes per second — C concurrent clients each launching /bin/true
//! and polling until COMPLETED — against raw spawn+wait of /bin/true with the same
//! concurrency.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::fmt;
use crate::report::{Report, Row};
use crate::server::{ScriptDef, Server, ServerOptions};
use crate::stats::{rate, ratio, round, Summary};
use crate::Ctx;

const TRUE: &str = "/bin/true";
const TARGET: f64 = 0.4;

/// The PostgreSQL server of `launch-pg` (trust auth); `PROCESSD_BENCH_POSTGRES` overrides it.
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// What one pass of the scenario measured.
struct Pass {
    elapsed: Duration,
    cpu_s: f64,
    latencies: Vec<Duration>,
    /// Launch→COMPLETED with a single client.
    one_client: Vec<Duration>,
}

/// Starts processd (on `database_url`, else SQLite), warms it up, then measures `n` launches
/// from `c` clients and a tenth as many from one client.
async fn pass(ctx: &Ctx, database_url: Option<String>) -> anyhow::Result<Pass> {
    let (n, c) = (ctx.processes, ctx.concurrency);
    let server = Server::start(
        &ctx.processd,
        ServerOptions {
            max_concurrent: c.max(16),
            scripts: vec![ScriptDef {
                name: "noop",
                command: vec![TRUE.to_owned()],
            }],
            database_url,
            ..ServerOptions::default()
        },
    )
    .await?;
    let server = Arc::new(server);
    // Warm up: connections, database pages, the scheduler.
    drive(&server, (n / 20).max(c), c).await?;
    let cpu = server.cpu_seconds()?;
    let started = Instant::now();
    let latencies = drive(&server, n, c).await?;
    let elapsed = started.elapsed();
    let cpu_s = server.cpu_seconds()? - cpu;
    // One client polls every millisecond: its figure is the latency, not the poll's backoff.
    let one_client = drive_polling(&server, (n / 10).max(10), 1, Duration::from_millis(1)).await?;
    if let Ok(s) = Arc::try_unwrap(server) {
        s.stop(Duration::from_secs(10));
    }
    Ok(Pass {
        elapsed,
        cpu_s,
        latencies,
        one_client,
    })
}

/// The launch scenario on PostgreSQL, in a database created for the run: its figures go
/// beside SQLite's under `launch_pg_*`.
pub async fn run_pg(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let (n, c) = (ctx.processes, ctx.concurrency);
    let server = std::env::var("PROCESSD_BENCH_POSTGRES").unwrap_or_else(|_| POSTGRES.to_owned());
    let db = crate::db::PgDatabase::create(&server)?;
    let p = pass(ctx, Some(db.url.clone())).await?;
    drop(db);
    let launch_per_s = rate(n, p.elapsed);
    let lat = Summary::of(&p.latencies);
    let one = Summary::of(&p.one_client);
    let cpu_ms = p.cpu_s * 1e3 / n as f64;
    report.row(Row::info(
        "launch-pg",
        format!("PostgreSQL: processes/s, {c} clients"),
        fmt(launch_per_s),
    ));
    report.row(Row::info(
        "launch-pg",
        "PostgreSQL: p50 / p99 ms; p50 1 client",
        format!("{:.1} / {:.1}; {:.1}", lat.p50_ms, lat.p99_ms, one.p50_ms),
    ));
    report.row(Row::info(
        "launch-pg",
        "PostgreSQL: processd CPU ms per launch",
        format!("{cpu_ms:.2}"),
    ));
    report.set("launch_pg_per_s", round(launch_per_s, 1));
    report.set("launch_pg_cpu_ms", round(cpu_ms, 3));
    report.set("launch_pg_p50_ms", round(lat.p50_ms, 2));
    report.set("launch_pg_p99_ms", round(lat.p99_ms, 2));
    report.set("launch_pg_p50_ms_1client", round(one.p50_ms, 2));
    Ok(())
}

pub async fn run(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let (n, c) = (ctx.processes, ctx.concurrency);
    // The baseline is measured before and after processd and averaged, so that a change in
    // background load during the run is shared by both sides.
    let before = spawn_rate(n, c)?;
    let p = pass(ctx, None).await?;
    let (cpu, latencies) = (p.cpu_s, p.latencies);
    let after = spawn_rate(n, c)?;
    let spawn_per_s = (before + after) / 2.0;
    let launch_per_s = rate(n, p.elapsed);
    let r = ratio(launch_per_s, spawn_per_s);
    let lat = Summary::of(&latencies);
    let one = Summary::of(&p.one_client);
    report.row(Row {
        scenario: "launch",
        metric: format!("processes/s, {n} × /bin/true, {c} clients"),
        processd: fmt(launch_per_s),
        baseline: format!("{} spawn+wait/s", fmt(spawn_per_s)),
        ratio: format!("{r:.2}"),
        target: Some(("≥ 0.4", r >= TARGET)),
    });
    report.row(Row::info(
        "launch",
        "launch→COMPLETED p50 / p99 (ms)",
        format!("{:.1} / {:.1}", lat.p50_ms, lat.p99_ms),
    ));
    report.row(Row::info(
        "launch",
        "launch→COMPLETED p50 / p99, 1 client (ms)",
        format!("{:.1} / {:.1}", one.p50_ms, one.p99_ms),
    ));
    report.row(Row::info(
        "launch",
        "processd CPU ms per launch (incl. polls)",
        format!("{:.2}", cpu * 1e3 / n as f64),
    ));
    report.set("launch_cpu_ms", round(cpu * 1e3 / n as f64, 3));
    report.set("launch_processes", n);
    report.set("launch_concurrency", c);
    report.set("launch_per_s", round(launch_per_s, 1));
    report.set("spawn_per_s", round(spawn_per_s, 1));
    report.set("launch_ratio", round(r, 3));
    report.set("launch_p50_ms", round(lat.p50_ms, 2));
    report.set("launch_p99_ms", round(lat.p99_ms, 2));
    report.set("launch_p50_ms_1client", round(one.p50_ms, 2));
    Ok(())
}

/// Launches `n` processes from `c` concurrent clients, each waiting for its process to
/// complete before launching the next; returns every launch→COMPLETED latency.
async fn drive(server: &Arc<Server>, n: usize, c: usize) -> anyhow::Result<Vec<Duration>> {
    drive_polling(server, n, c, Duration::from_millis(8)).await
}

/// `drive` with polls from 1 ms doubling up to `max_poll`.
async fn drive_polling(
    server: &Arc<Server>,
    n: usize,
    c: usize,
    max_poll: Duration,
) -> anyhow::Result<Vec<Duration>> {
    let next = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let mut clients = Vec::new();
    for _ in 0..c {
        let (server, next, latencies) = (server.clone(), next.clone(), latencies.clone());
        clients.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < n {
                let t = Instant::now();
                let launched = server.launch("noop").await?;
                server
                    .wait_completed(&launched, Duration::from_millis(1), max_poll)
                    .await?;
                let d = t.elapsed();
                latencies
                    .lock()
                    .map_err(|_| anyhow::anyhow!("poisoned"))?
                    .push(d);
            }
            anyhow::Ok(())
        }));
    }
    for client in clients {
        client.await??;
    }
    let out = std::mem::take(&mut *latencies.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    Ok(out)
}

/// Raw spawn+wait of /bin/true from `c` threads, `n` in all; per second.
fn spawn_rate(n: usize, c: usize) -> anyhow::Result<f64> {
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..c)
            .map(|_| {
                s.spawn(|| -> std::io::Result<()> {
                    while next.fetch_add(1, Ordering::Relaxed) < n {
                        Command::new(TRUE)
                            .stdin(Stdio::null())
                            .stdout(Stdio::null())
                            .stderr(Stdio::null())
                            .status()?;
                    }
                    Ok(())
                })
            })
            .collect();
        for w in workers {
            w.join()
                .map_err(|_| anyhow::anyhow!("a spawn thread panicked"))??;
        }
        anyhow::Ok(())
    })?;
    Ok(rate(n, started.elapsed()))
}
