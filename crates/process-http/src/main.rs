//! The `processd` binary.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use process_http::app::open_store;
use process_http::service::authn::hash_password;
use process_http::{Application, Config};
use tracing_subscriber::EnvFilter;

/// Run registered scripts as tracked processes behind a REST API.
#[derive(Parser)]
#[command(
    name = "processd",
    version,
    about = "Run registered scripts as tracked processes behind a REST API"
)]
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
        /// The user's name (created if new).
        name: String,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
        /// Add the user to this group (repeatable).
        #[arg(long = "group", value_name = "G")]
        groups: Vec<String>,
        /// Read a password for `POST /api/authn/login` from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
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
            // The address is in the message itself so that whoever started processd with
            // port 0 (the tests do) can read the port from this line.
            tracing::info!("processd listening on {}", app.local_addr());
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
                    password_stdin,
                },
        } => {
            if name.trim().is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
                anyhow::bail!("a user name must be 1 to 128 printable characters");
            }
            let password_hash = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .context("reading the password")?;
                let password = line.trim_end_matches(['\n', '\r']);
                if password.is_empty() {
                    anyhow::bail!("the password on standard input is empty");
                }
                Some(
                    hash_password(password)
                        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?,
                )
            } else {
                None
            };
            let store = open_store(&config).await?;
            let token = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
                let now = time::OffsetDateTime::now_utc();
                let user = store.upsert_user(&name, admin, &groups, now)?;
                if let Some(hash) = password_hash {
                    store.set_password_hash(&name, &hash)?;
                }
                Ok(store.create_token(user.id, now, None)?)
            })
            .await??;
            println!("{token}");
        }
    }
    Ok(())
}
