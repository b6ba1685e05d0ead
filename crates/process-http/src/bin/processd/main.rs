//! The `processd` binary.

mod cli;
mod user;

use std::path::Path;

use anyhow::Context;
use clap::{CommandFactory, Parser};
use process_http::app::open_store;
use process_http::{Application, Config};
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        // Documentation needs neither a configuration nor a database.
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "processd", &mut script);
            print_bytes(&script)
        }
        Command::Man { dir } => man_pages(dir.as_deref()),
        Command::Serve => {
            let app = Application::build(load_config(cli.config.as_deref())?).await?;
            // The address is in the message itself so that whoever started processd with
            // port 0 (the tests do) can read the port from this line.
            tracing::info!("processd listening on {}", app.local_addr());
            app.run().await.context("serving")
        }
        Command::Migrate => {
            open_store(&load_config(cli.config.as_deref())?).await?;
            eprintln!("database is up to date");
            Ok(())
        }
        Command::User { command } => {
            user::user_command(&load_config(cli.config.as_deref())?, command).await
        }
    }
}

/// Starts logging to stderr and loads the configuration (the embedded default without a
/// path), with the launcher installed beside this executable.
fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut config = Config::load(path)?;
    // Runs are started through the confining launcher installed beside this executable.
    config.contain.launcher = std::env::current_exe()
        .ok()
        .and_then(|me| Some(me.parent()?.join("processd-launch")))
        .filter(|launcher| launcher.is_file());
    Ok(config)
}

/// processd(1) on stdout, or one page per command written into `dir`.
fn man_pages(dir: Option<&Path>) -> anyhow::Result<()> {
    match dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut page)?;
            print_bytes(&page)
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(Cli::command(), dir)
                .with_context(|| format!("writing manual pages into {}", dir.display()))
        }
    }
}

/// Writes to stdout; a reader that stops early (`| head`) is not an error.
fn print_bytes(bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("writing to standard output")
        }
        _ => Ok(()),
    }
}
