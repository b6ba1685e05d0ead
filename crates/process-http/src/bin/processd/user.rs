//! `processd user ...`: users, their profiles and API tokens, straight in the database.

use anyhow::Context;
use process_http::app::open_store;
use process_http::hal::timestamp;
use process_http::service::authn::hash_password;
use process_http::Config;
use process_store::{Store, TokenInfo, UserChange};
use time::OffsetDateTime;

use crate::cli::{TokenCommand, UserCommand};

/// Runs a `user` command. Tokens go to stdout, one a line, so scripts can capture them;
/// everything else a person reads goes to stderr.
pub async fn user_command(config: &Config, command: UserCommand) -> anyhow::Result<()> {
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
