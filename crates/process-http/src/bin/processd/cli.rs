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
    /// Log in to a processd and remember it: its URL and a token, in your config folder
    /// (mode 0600). `PROCESSD_URL` and `PROCESSD_TOKEN` override what is stored.
    Login {
        /// The service's base URL, e.g. http://127.0.0.1:8080.
        url: String,
        /// Log in with this user's password (asked for, or the first line of standard input
        /// when that is not a terminal). A password login lasts 30 minutes.
        #[arg(long, value_name = "NAME", conflicts_with = "token")]
        user: Option<String>,
        /// Log in with an API token (`processd user add` prints one; asked for, or read from
        /// standard input). Without `--user` this is the default.
        #[arg(long)]
        token: bool,
    },
    /// Forget the stored login.
    Logout,
    /// List the scripts you may start.
    Scripts {
        #[arg(long)]
        json: bool,
    },
    /// List processes, newest first: yours, or everyone's for an administrator.
    Ps {
        /// Only processes with this status (SCHEDULED, RUNNING, COMPLETED, FAILED).
        #[arg(long, value_name = "S")]
        status: Option<String>,
        /// Only processes of this script.
        #[arg(long, value_name = "NAME")]
        script: Option<String>,
        /// Only your own processes (what an administrator sees otherwise is everyone's).
        #[arg(long)]
        mine: bool,
        /// How many to show.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100))]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Start a script; with `--follow`, show its progress and console until it ends and exit
    /// with its exit code.
    Run {
        script: String,
        /// A parameter with a value, or a boolean one without (`-p --header`).
        #[arg(
            short = 'p',
            long = "param",
            value_name = "NAME=VALUE",
            allow_hyphen_values = true
        )]
        params: Vec<String>,
        /// A file parameter: the file is uploaded and the parameter names it.
        #[arg(
            short = 'f',
            long = "file",
            value_name = "NAME=PATH",
            allow_hyphen_values = true
        )]
        files: Vec<String>,
        /// Start only after this process has completed (repeatable).
        #[arg(long, value_name = "ID")]
        after: Vec<String>,
        /// Do not start before this time (RFC 3339, e.g. 2026-12-24T18:00:00Z).
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// Follow the process until it ends; the exit code is the script's (1 for a failure
        /// without one, 130 after Ctrl-C).
        #[arg(long)]
        follow: bool,
        #[arg(long, conflicts_with = "follow")]
        json: bool,
    },
    /// Show a process's console output; `-f` follows it until the process ends.
    Logs {
        id: String,
        #[arg(short = 'f', long)]
        follow: bool,
    },
    /// Show one process.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Print each change of your processes (an administrator's: all) as it happens, one line
    /// each, until interrupted.
    Events {
        /// Start right after this event id (0: every event kept) instead of with the next one.
        #[arg(long, value_name = "ID")]
        after: Option<u64>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Stop a scheduled or running process.
    Stop { id: String },
    /// Delete a finished process with its output and files.
    Rm { id: String },
    /// Download a process's files (checking their MD5) into a folder, or all as one zip.
    Fetch {
        id: String,
        /// Where to put them (made if missing; default `process-ID`, for the zip `.`). An
        /// existing file is never overwritten.
        #[arg(short = 'o', long = "output", value_name = "DIR")]
        dir: Option<PathBuf>,
        /// One zip of every stored file (`process-ID.zip`).
        #[arg(long)]
        zip: bool,
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
