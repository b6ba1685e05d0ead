//! memory: processd's resident set size idle and with 1,000 processes RUNNING at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::report::{Report, Row};
use crate::server::{ScriptDef, Server, ServerOptions};
use crate::stats::round;
use crate::Ctx;

const TARGET_MB: f64 = 100.0;
const MIB: f64 = 1024.0 * 1024.0;

pub async fn run(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let running: usize = if ctx.quick { 100 } else { 1_000 };
    let server = Server::start(
        &ctx.processd,
        ServerOptions {
            admin: true,
            max_concurrent: running + 24,
            scripts: vec![ScriptDef {
                name: "sleeper",
                // Long enough to outlast the launches on a busy machine; processd stops them
                // when it shuts down.
                command: vec!["/bin/sleep".to_owned(), "300".to_owned()],
            }],
            ..ServerOptions::default()
        },
    )
    .await?;
    let server = Arc::new(server);
    // Let start-up settle (migrations, recovery, the first scheduler pass).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (idle, _) = server.rss()?;

    let next = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for _ in 0..16 {
        let (server, next) = (server.clone(), next.clone());
        clients.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < running {
                server.launch("sleeper").await?;
            }
            anyhow::Ok(())
        }));
    }
    for c in clients {
        c.await??;
    }
    let path = "/api/system/processes?processStatus=RUNNING&size=1";
    let started = Instant::now();
    loop {
        let (_, body) = server.get_admin(path).await?;
        if body["page"]["totalElements"].as_u64() == Some(running as u64) {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            bail!(
                "{running} processes did not all reach RUNNING: {}",
                body["page"]
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Sample while they run: RSS now and the high-water mark since start.
    let mut now_max = 0;
    let mut peak = 0;
    for _ in 0..10 {
        let (rss, hwm) = server.rss()?;
        now_max = now_max.max(rss);
        peak = peak.max(hwm);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if let Ok(s) = Arc::try_unwrap(server) {
        s.stop(Duration::from_secs(20));
    }

    let (idle_mb, peak_mb, now_mb) = (idle as f64 / MIB, peak as f64 / MIB, now_max as f64 / MIB);
    report.row(Row::info(
        "memory",
        "RSS idle (MiB)",
        format!("{idle_mb:.1}"),
    ));
    report.row(Row {
        scenario: "memory",
        metric: format!("peak RSS, {running} RUNNING (MiB)"),
        processd: format!("{peak_mb:.1} (now {now_mb:.1})"),
        baseline: String::new(),
        ratio: String::new(),
        target: Some(("≤ 100 MiB", peak_mb <= TARGET_MB)),
    });
    report.set("memory_running", running);
    report.set("rss_mb_idle", round(idle_mb, 1));
    report.set("rss_mb_1000_running", round(peak_mb, 1));
    Ok(())
}
