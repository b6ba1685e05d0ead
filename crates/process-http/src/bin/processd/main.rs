//! The `processd` binary: the service and its administration (`serve`, `migrate`, `user`),
//! and a client of a running service (`login`, `scripts`, `ps`, `run`, `logs`...).

mod cli;
mod login;
mod remote;
mod user;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser};
use process_http::app::open_store;
use process_http::{Application, Config};
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = cli.config;
    let done = |result: anyhow::Result<()>| result.map(|()| ExitCode::SUCCESS);
    match cli.command {
        // Documentation needs neither a configuration nor a database.
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "processd", &mut script);
            done(print_bytes(&script))
        }
        Command::Man { dir } => done(man_pages(dir.as_deref())),
        Command::Serve => {
            let app = Application::build(load_config(config.as_deref())?).await?;
            // The address is in the message itself so that whoever started processd with
            // port 0 (the tests do) can read the port from this line.
            tracing::info!("processd listening on {}", app.local_addr());
            done(app.run().await.context("serving"))
        }
        Command::Migrate => {
            open_store(&load_config(config.as_deref())?).await?;
            eprintln!("database is up to date");
            Ok(ExitCode::SUCCESS)
        }
        Command::User { command } => {
            done(user::user_command(&load_config(config.as_deref())?, command).await)
        }
        Command::Login { url, user, .. } => done(login::login(url, user).await),
        Command::Logout => done(login::logout()),
        Command::Scripts { json } => done(remote::scripts(&login::client()?, json).await),
        Command::Ps {
            status,
            script,
            mine,
            limit,
            json,
        } => {
            let filter = remote::PsFilter {
                status,
                script,
                mine,
                limit,
            };
            done(remote::ps(&login::client()?, filter, json).await)
        }
        Command::Run {
            script,
            params,
            files,
            after,
            at,
            follow,
            json,
        } => {
            let args = remote::RunArgs {
                script,
                params,
                files,
                after,
                at,
            };
            remote::run(&login::client()?, args, follow, json).await
        }
        Command::Logs { id, follow } => remote::logs(&login::client()?, &id, follow).await,
        Command::Show { id, json } => done(remote::show(&login::client()?, &id, json).await),
        Command::Events { after, json } => {
            done(remote::events(&login::client()?, after, json).await)
        }
        Command::Stop { id } => done(remote::stop(&login::client()?, &id).await),
        Command::Rm { id } => done(remote::rm(&login::client()?, &id).await),
        Command::Fetch { id, dir, zip } => {
            done(remote::fetch(&login::client()?, &id, dir.as_deref(), zip).await)
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
