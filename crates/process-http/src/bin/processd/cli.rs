//! The command line: what `processd --help` shows.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand};
use clap_complete::Shell;
use process_store::ProfileChange;

/// The version and the commit it was built from (`unknown` outside a git checkout), with
/// `-dirty` when the work tree had changes.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("PROCESSD_GIT_COMMIT"),
    ")"
);

/// Run registered scripts as tracked processes behind a REST API.
#[derive(Parser)]
#[command(
    name = "processd",
    version = VERSION,
    about = "Run registered scripts as tracked processes behind a REST API"
)]
pub struct Cli {
    /// TOML configuration file (default: the example configuration embedded in the binary).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Start the service.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Print a completion script for a shell, e.g. `source <(processd completions bash)`.
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the manual page processd(1); with a folder, write a page for every command
    /// there (processd.1, processd-user.1, processd-user-add.1, ...).
    Man {
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
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
pub struct ProfileArgs {
    /// The user's email address.
    #[arg(long, value_name = "ADDRESS")]
    pub email: Option<String>,
    /// The user's first name (eperson.firstname).
    #[arg(long, value_name = "NAME")]
    pub first_name: Option<String>,
    /// The user's last name (eperson.lastname).
    #[arg(long, value_name = "NAME")]
    pub last_name: Option<String>,
}

impl ProfileArgs {
    pub fn change(self) -> Option<ProfileChange> {
        let change = ProfileChange {
            email: self.email,
            first_name: self.first_name,
            last_name: self.last_name,
        };
        (change != ProfileChange::default()).then_some(change)
    }
}

#[derive(Subcommand)]
pub enum TokenCommand {
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
