#![doc = include_str!("../README.md")]

mod db;
mod report;
mod scenarios;
mod server;
mod stats;
mod workload;

use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, ValueEnum};

use crate::report::Report;

/// Benchmark processd against baselines measured in the same run; prints a table, then one
/// line of JSON.
#[derive(Parser)]
#[command(name = "process-bench")]
struct Cli {
    /// Scale every scenario down to finish in under a minute (a smoke test, not a benchmark).
    #[arg(long)]
    quick: bool,
    /// Concurrent clients of the launch scenario (and threads of its spawn baseline).
    #[arg(long, value_name = "C", default_value_t = 8)]
    concurrency: usize,
    /// Processes launched by the launch scenario (default 2000, 200 with --quick).
    #[arg(long, value_name = "N")]
    processes: Option<usize>,
    /// Require the nginx baseline of the download scenario: fail, rather than skip it, when
    /// nginx is not installed (`just bench-deps` installs it).
    #[arg(long)]
    nginx: bool,
    /// The processd binary (default: next to this one, else target/release, else built).
    #[arg(long, value_name = "FILE")]
    processd: Option<PathBuf>,
    /// Scenarios to run, in this order.
    #[arg(value_enum, required = true)]
    scenarios: Vec<Scenario>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    All,
    Launch,
    /// The launch scenario on PostgreSQL (127.0.0.1:5432, a database created for the run).
    LaunchPg,
    Capture,
    /// Ten million lines: memory, database growth, lines lost, the tail.
    CaptureLarge,
    Download,
    List,
    Memory,
}

/// What every scenario needs to know.
pub struct Ctx {
    pub processd: PathBuf,
    /// This executable: the scripts of the capture and download scenarios.
    pub me: PathBuf,
    pub quick: bool,
    pub concurrency: usize,
    pub processes: usize,
    /// The nginx baseline was asked for: its absence is a failure, not a skip.
    pub nginx: bool,
}

fn main() -> anyhow::Result<()> {
    // The same binary is the script of some scenarios.
    let args: Vec<String> = std::env::args().collect();
    if let Some(code) = workload::dispatch(&args) {
        std::process::exit(code);
    }
    let cli = Cli::parse();
    let ctx = Ctx {
        processd: server::locate_processd(cli.processd.as_deref())?,
        me: std::env::current_exe()?,
        quick: cli.quick,
        concurrency: cli.concurrency.max(1),
        processes: cli.processes.unwrap_or(if cli.quick { 200 } else { 2_000 }),
        nginx: cli.nginx,
    };
    let mut order = Vec::new();
    for s in cli.scenarios {
        let add: &[Scenario] = match s {
            Scenario::All => &[
                Scenario::Launch,
                Scenario::LaunchPg,
                Scenario::Capture,
                Scenario::CaptureLarge,
                Scenario::Download,
                Scenario::List,
                Scenario::Memory,
            ],
            one => &[one][..],
        };
        for s in add {
            if !order.contains(s) {
                order.push(*s);
            }
        }
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut report = Report::default();
    report.set("quick", ctx.quick);
    report.set(
        "cores",
        std::thread::available_parallelism().map_or(0, usize::from),
    );
    let started = Instant::now();
    let mut failures = Vec::new();
    for s in order {
        eprintln!("process-bench: {s:?} …");
        let t = Instant::now();
        let result = runtime.block_on(async {
            match s {
                Scenario::Launch => scenarios::launch::run(&ctx, &mut report).await,
                Scenario::LaunchPg => scenarios::launch::run_pg(&ctx, &mut report).await,
                Scenario::Capture => scenarios::capture::run(&ctx, &mut report).await,
                Scenario::CaptureLarge => scenarios::capture::run_large(&ctx, &mut report).await,
                Scenario::Download => scenarios::download::run(&ctx, &mut report).await,
                Scenario::List => scenarios::list::run(&ctx, &mut report).await,
                Scenario::Memory => scenarios::memory::run(&ctx, &mut report).await,
                Scenario::All => Ok(()),
            }
        });
        match result {
            Ok(()) => eprintln!(
                "process-bench: {s:?} done in {:.1}s",
                t.elapsed().as_secs_f64()
            ),
            Err(e) => {
                eprintln!("process-bench: {s:?} failed: {e:#}");
                let mut msg = format!("{s:?}: {e:#}");
                msg.truncate(300);
                failures.push(msg);
            }
        }
    }
    report.set("seconds", stats::round(started.elapsed().as_secs_f64(), 1));
    if !failures.is_empty() {
        report.set("failures", failures.clone());
    }
    print!("{}", report.table());
    println!("{}", report.json_line());
    if failures.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{} scenario(s) failed", failures.len())
    }
}
