//! The `processd` binary.

use std::path::PathBuf;

use anyhow::Context;
use clap::{ArgGroup, Args, Parser, Subcommand};
use process_http::app::open_store;
use process_http::hal::timestamp;
use process_http::service::authn::hash_password;
use process_http::{Application, Config};
use process_store::{ProfileChange, Store, TokenInfo, UserChange};
use time::OffsetDateTime;
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
        /// Read a password for `POST /api/authn/login` from the first line of standard input
        /// (a new password ends the user's login sessions).
        #[arg(long)]
        password_stdin: bool,
        /// The new token stops working after this long (like 90m, 12h or 30d); default never.
        #[arg(long, value_name = "D", value_parser = parse_lifetime)]
        expires_in: Option<time::Duration>,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Change an existing user's rights or profile.
    #[command(group(
        ArgGroup::new("change")
            .required(true)
            .multiple(true)
            .args(["admin", "no_admin", "groups", "no_groups", "email", "first_name", "last_name"])
    ))]
    Set {
        name: String,
        /// Make the user an administrator.
        #[arg(long, conflicts_with = "no_admin")]
        admin: bool,
        /// Take administrator rights away.
        #[arg(long)]
        no_admin: bool,
        /// Add the user to this group (repeatable).
        #[arg(long = "group", value_name = "G")]
        groups: Vec<String>,
        /// Remove the user from this group (repeatable).
        #[arg(long = "no-group", value_name = "G")]
        no_groups: Vec<String>,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Manage a user's API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

/// What the user's eperson shows (`GET /api/eperson/epersons/{uuid}`); an empty value clears
/// a field.
#[derive(Args)]
struct ProfileArgs {
    /// The user's email address.
    #[arg(long, value_name = "ADDRESS")]
    email: Option<String>,
    /// The user's first name (eperson.firstname).
    #[arg(long, value_name = "NAME")]
    first_name: Option<String>,
    /// The user's last name (eperson.lastname).
    #[arg(long, value_name = "NAME")]
    last_name: Option<String>,
}

impl ProfileArgs {
    fn change(self) -> Option<ProfileChange> {
        let change = ProfileChange {
            email: self.email,
            first_name: self.first_name,
            last_name: self.last_name,
        };
        (change != ProfileChange::default()).then_some(change)
    }
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Print a new API token for an existing user.
    Add {
        name: String,
        /// The token stops working after this long (like 90m, 12h or 30d); default never.
        #[arg(long, value_name = "D", value_parser = parse_lifetime)]
        expires_in: Option<time::Duration>,
    },
    /// List a user's tokens, one a line: id, creation, last use (to the minute) and expiry;
    /// never the token itself.
    List { name: String },
    /// Revoke one of a user's tokens by id, or all of them.
    Revoke {
        name: String,
        /// The id `user token list` shows.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        token_id: Option<i64>,
        /// Revoke every token of the user and end their login sessions too.
        #[arg(long)]
        all: bool,
    },
}

fn parse_lifetime(s: &str) -> Result<time::Duration, String> {
    let d = process_core::script::parse_duration(s).map_err(|e| e.to_string())?;
    time::Duration::try_from(d).map_err(|e| e.to_string())
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
    let mut config = Config::load(cli.config.as_deref())?;
    // Runs are started through the confining launcher installed beside this executable.
    config.contain.launcher = std::env::current_exe()
        .ok()
        .and_then(|me| Some(me.parent()?.join("processd-launch")))
        .filter(|launcher| launcher.is_file());
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
        Command::User { command } => user_command(&config, command).await?,
    }
    Ok(())
}

/// Runs a `user` command. Tokens go to stdout, one a line, so scripts can capture them;
/// everything else a person reads goes to stderr.
async fn user_command(config: &Config, command: UserCommand) -> anyhow::Result<()> {
    // Checked before the database is opened, so a bad invocation creates nothing.
    let password_hash = match &command {
        UserCommand::Add {
            name,
            password_stdin,
            ..
        } => {
            if name.trim().is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
                anyhow::bail!("a user name must be 1 to 128 printable characters");
            }
            if *password_stdin {
                Some(read_password_hash()?)
            } else {
                None
            }
        }
        _ => None,
    };
    let store = open_store(config).await?;
    tokio::task::spawn_blocking(move || run_user_command(&store, command, password_hash)).await?
}

/// The first line of standard input, hashed.
fn read_password_hash() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password")?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        anyhow::bail!("the password on standard input is empty");
    }
    hash_password(password).map_err(|e| anyhow::anyhow!("hashing the password: {e}"))
}

fn expiry(
    now: OffsetDateTime,
    lifetime: Option<time::Duration>,
) -> anyhow::Result<Option<OffsetDateTime>> {
    lifetime
        .map(|d| {
            now.checked_add(d)
                .context("--expires-in reaches past the end of time")
        })
        .transpose()
}

fn run_user_command(
    store: &Store,
    command: UserCommand,
    password_hash: Option<String>,
) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    let no_user = |name: &str| anyhow::anyhow!("there is no user named {name:?}");
    match command {
        UserCommand::Add {
            name,
            admin,
            groups,
            expires_in,
            profile,
            ..
        } => {
            let expires_at = expiry(now, expires_in)?;
            let user = store.upsert_user(&name, admin, &groups, now)?;
            if let Some(hash) = password_hash {
                store.set_password_hash(&name, &hash)?;
            }
            if let Some(change) = profile.change() {
                store.set_profile(&name, &change)?;
            }
            println!("{}", store.create_token(user.id, now, expires_at)?);
        }
        UserCommand::Set {
            name,
            admin,
            no_admin,
            groups,
            no_groups,
            profile,
        } => {
            let change = UserChange {
                admin: (admin || no_admin).then_some(admin),
                add_groups: groups,
                remove_groups: no_groups,
            };
            store
                .update_user(&name, &change)?
                .ok_or_else(|| no_user(&name))?;
            if let Some(change) = profile.change() {
                store.set_profile(&name, &change)?;
            }
        }
        UserCommand::Token { command } => match command {
            TokenCommand::Add { name, expires_in } => {
                let expires_at = expiry(now, expires_in)?;
                let user = store.user_by_name(&name)?.ok_or_else(|| no_user(&name))?;
                println!("{}", store.create_token(user.id, now, expires_at)?);
            }
            TokenCommand::List { name } => {
                for token in store.list_tokens(&name)?.ok_or_else(|| no_user(&name))? {
                    println!("{}", token_line(&token));
                }
            }
            TokenCommand::Revoke {
                name,
                token_id: Some(id),
                all: false,
            } => {
                if !store.revoke_token(&name, id)? {
                    anyhow::bail!("user {name:?} has no token {id}");
                }
            }
            TokenCommand::Revoke { name, .. } => {
                let n = store
                    .revoke_all_tokens(&name)?
                    .ok_or_else(|| no_user(&name))?;
                eprintln!("revoked {n} token(s) of {name:?} and ended their login sessions");
            }
        },
    }
    Ok(())
}

/// `ID created=TIME last_used=TIME|never expires=TIME|never`, times in RFC 3339 to the second.
fn token_line(token: &TokenInfo) -> String {
    let time = |t: Option<OffsetDateTime>| {
        t.map_or_else(
            || "never".to_owned(),
            |t| timestamp(t.replace_nanosecond(0).unwrap_or(t)),
        )
    };
    format!(
        "{} created={} last_used={} expires={}",
        token.id,
        time(Some(token.creation_time)),
        time(token.last_used),
        time(token.expires_at),
    )
}
