//! The `processd` binary.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use process_http::app::open_store;
use process_http::{Application, Config};
use tracing_subscriber::EnvFilter;

/// Run registered scripts as tracked processes behind a REST API.
#[derive(Parser)]
#[command(name = "processd", version, about)]
struct Cli {
    /// TOML configuration file (default: the example configuration embedded in the binary).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the service.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user (or add groups to an existing one) and print a new API token.
    Add {
        name: String,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
        /// Add the user to this group (repeatable).
        #[arg(long = "group", value_name = "G")]
        groups: Vec<String>,
    },
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve => {
            let app = Application::build(config).await?;
            tracing::info!(port = app.port(), "processd listening");
            app.run().await.context("serving")?;
        }
        Command::Migrate => {
            open_store(&config).await?;
            eprintln!("database is up to date");
        }
        Command::User {
            command:
                UserCommand::Add {
                    name,
                    admin,
                    groups,
                },
        } => {
            if name.trim().is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
                anyhow::bail!("a user name must be 1 to 128 printable characters");
            }
            let store = open_store(&config).await?;
            let token = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
                let now = time::OffsetDateTime::now_utc();
                let user = store.upsert_user(&name, admin, &groups, now)?;
                Ok(store.create_token(user.id, now)?)
            })
            .await??;
            println!("{token}");
        }
    }
    Ok(())
}
