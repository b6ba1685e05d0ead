//! The stored login of the client commands: a URL and a token in the user's config folder
//! (`$XDG_CONFIG_HOME/processd/login.json`, mode 0600), overridden by `PROCESSD_URL` and
//! `PROCESSD_TOKEN`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use process_client::Client;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Stored {
    url: String,
    token: String,
}

fn path() -> anyhow::Result<PathBuf> {
    let dir = dirs::config_dir().context("no config folder (set HOME or XDG_CONFIG_HOME)")?;
    Ok(dir.join("processd").join("login.json"))
}

fn load() -> anyhow::Result<Option<Stored>> {
    let path = path()?;
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .with_context(|| format!("{} is not a processd login", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The client of the stored login, with the environment's overrides.
pub fn client() -> anyhow::Result<Client> {
    let stored = load()?;
    let url = std::env::var("PROCESSD_URL")
        .ok()
        .or_else(|| stored.as_ref().map(|s| s.url.clone()))
        .context("not logged in: run `processd login URL` (or set PROCESSD_URL)")?;
    // The stored token goes only to the service it was stored for: PROCESSD_URL naming
    // another one is anonymous there unless PROCESSD_TOKEN says otherwise.
    let token = std::env::var("PROCESSD_TOKEN").ok().or_else(|| {
        stored
            .filter(|s| s.url.trim_end_matches('/') == url.trim_end_matches('/'))
            .map(|s| s.token)
    });
    let client = Client::new(url);
    Ok(match token {
        Some(token) => client.with_token(token),
        None => client,
    })
}

/// `processd login URL [--user NAME | --token]`: checks the credentials, then stores them.
pub async fn login(url: String, user: Option<String>) -> anyhow::Result<()> {
    let anonymous = Client::new(url.clone());
    let token = match &user {
        Some(user) => {
            let password = secret(&format!("password for {user}: "))?;
            anonymous
                .login(user, &password)
                .await
                .with_context(|| format!("login as {user} at {url} failed"))?
        }
        None => secret("API token: ")?,
    };
    let client = Client::new(url.clone()).with_token(token.clone());
    let user = client
        .whoami()
        .await
        .with_context(|| format!("{url} did not accept the token"))?
        .context("the token names no user")?;
    save(&Stored {
        url: url.clone(),
        token,
    })?;
    eprintln!("logged in to {url} as {}", user.name);
    Ok(())
}

pub fn logout() -> anyhow::Result<()> {
    let path = path()?;
    match std::fs::remove_file(&path) {
        Ok(()) => eprintln!("logged out"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => eprintln!("not logged in"),
        Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
    }
    Ok(())
}

fn save(stored: &Stored) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = path()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // Written whole into a new file readable by its owner only, then moved in place.
    let tmp = path.with_extension("json.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(&serde_json::to_vec_pretty(stored)?)?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// A secret asked for on the terminal without echo, or the first line of standard input.
fn secret(prompt: &str) -> anyhow::Result<String> {
    let value = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt).context("reading from the terminal")?
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    };
    anyhow::ensure!(!value.is_empty(), "nothing was entered");
    Ok(value)
}
