//! list: latency of the admin's "recent failures" page and of a deep page, with 1,000 and
//! with 1,000,000 processes stored (inserted in bulk, not over HTTP), as the ratio 1M/1k.

use std::time::{Duration, Instant};

use anyhow::bail;

use crate::report::{Report, Row};
use crate::server::{ScriptDef, Server, ServerOptions};
use crate::stats::{ratio, round, Summary};
use crate::{db, Ctx};

const TARGET: f64 = 2.0;
const SMALL: i64 = 1_000;
const PAGE: &str = "/api/system/processes?processStatus=FAILED&sort=creationTime,desc&size=20";

pub async fn run(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let large: i64 = if ctx.quick { 100_000 } else { 1_000_000 };
    let samples = if ctx.quick { 50 } else { 300 };
    let server = Server::start(
        &ctx.processd,
        ServerOptions {
            admin: true,
            scripts: vec![ScriptDef {
                name: "noop",
                command: vec!["/bin/true".to_owned()],
            }],
            ..ServerOptions::default()
        },
    )
    .await?;
    let db = server.db_path();

    db::insert_finished(&db, 1, SMALL)?;
    let (first_small, deep_small) = measure(&server, SMALL, samples).await?;
    let t = Instant::now();
    db::insert_finished(&db, SMALL + 1, large)?;
    let inserted = t.elapsed();
    let (first_large, deep_large) = measure(&server, large, samples).await?;
    server.stop(Duration::from_secs(10));

    let label = |n: i64| {
        if n >= 1_000_000 {
            format!("{}M", n / 1_000_000)
        } else {
            format!("{}k", n / 1_000)
        }
    };
    let scaling = ratio(first_large.p99_ms, first_small.p99_ms);
    let deep_scaling = ratio(deep_large.p99_ms, deep_small.p99_ms);
    report.row(Row {
        scenario: "list",
        metric: format!("FAILED page 1 p99 ms, {} vs {}", label(large), label(SMALL)),
        processd: format!("{:.2}", first_large.p99_ms),
        baseline: format!("{:.2}", first_small.p99_ms),
        ratio: format!("{scaling:.2}"),
        target: Some(("≤ 2", scaling <= TARGET)),
    });
    report.row(Row {
        scenario: "list",
        metric: format!(
            "FAILED deep page p99 ms, {} vs {}",
            label(large),
            label(SMALL)
        ),
        processd: format!("{:.2}", deep_large.p99_ms),
        baseline: format!("{:.2}", deep_small.p99_ms),
        ratio: format!("{deep_scaling:.2}"),
        target: None,
    });
    report.row(Row::info(
        "list",
        "page 1 p50 ms (1k / large)",
        format!("{:.2} / {:.2}", first_small.p50_ms, first_large.p50_ms),
    ));
    report.row(Row::info(
        "list",
        format!("bulk insert of {} rows", large - SMALL),
        format!("{:.1} s", inserted.as_secs_f64()),
    ));
    report.set("list_rows_large", large);
    report.set("list_p50_ms_1k", round(first_small.p50_ms, 2));
    report.set("list_p99_ms_1k", round(first_small.p99_ms, 2));
    report.set("list_p50_ms_1m", round(first_large.p50_ms, 2));
    report.set("list_p99_ms_1m", round(first_large.p99_ms, 2));
    report.set("list_scaling", round(scaling, 2));
    report.set("list_deep_p99_ms_1k", round(deep_small.p99_ms, 2));
    report.set("list_deep_p99_ms_1m", round(deep_large.p99_ms, 2));
    report.set("list_deep_scaling", round(deep_scaling, 2));
    Ok(())
}

/// Latencies of the first page and of a page 90% of the way through the FAILED processes,
/// with `stored` processes in the store (one in ten FAILED).
async fn measure(
    server: &Server,
    stored: i64,
    samples: usize,
) -> anyhow::Result<(Summary, Summary)> {
    let failed = stored / 10;
    let deep = format!("{PAGE}&page={}", failed * 9 / 10 / 20);
    let mut out = Vec::new();
    for path in [PAGE.to_owned(), deep] {
        for _ in 0..10 {
            get(server, &path, failed).await?;
        }
        let mut lat = Vec::with_capacity(samples);
        for _ in 0..samples {
            let t = Instant::now();
            get(server, &path, failed).await?;
            lat.push(t.elapsed());
        }
        out.push(Summary::of(&lat));
    }
    Ok((out[0], out[1]))
}

async fn get(server: &Server, path: &str, failed: i64) -> anyhow::Result<()> {
    let (status, body) = server.get_admin(path).await?;
    if status != 200 {
        bail!("{path} answered {status}: {body}");
    }
    let total = body["page"]["totalElements"].as_i64();
    let items = body["_embedded"]["processes"]
        .as_array()
        .map_or(0, Vec::len);
    if total.is_some_and(|t| t != failed) || items != 20 {
        bail!("{path}: {items} items, totalElements {total:?}, expected 20 of {failed}");
    }
    Ok(())
}
