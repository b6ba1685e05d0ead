//! The typed configuration: loaded once (TOML file or the embedded default, then
//! `PROCESSD_<KEY>` environment overrides) and passed down.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use process_core::script::parse_duration;
use process_core::{
    AnonymousAccess, Catalog, ParamType, ParameterSpec, Principal, Script, ScriptName,
};
use process_runner::{ConfineMode, ContainConfig};
use serde::Deserialize;

use crate::forwarded::{parse_origin, PublicUrl, TrustedProxies};
use crate::webhook::target::TargetPolicy;

/// The configuration used when no file is given: the example scripts of the repository.
pub const EMBEDDED_DEFAULT: &str = include_str!("../../../examples/processd.toml");

/// The folder the embedded default was read from. Relative script paths resolve against the
/// folder of the config they are written in, the embedded one included, so
/// `processd serve --config examples/processd.toml` and `processd serve` run the same scripts.
const EMBEDDED_DEFAULT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid config: {0}")]
    Invalid(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    bind: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    max_concurrent: Option<usize>,
    max_upload_bytes: Option<u64>,
    max_output_bytes: Option<u64>,
    retention_days: Option<u32>,
    executor: Option<String>,
    kill_grace: Option<String>,
    shutdown_grace: Option<String>,
    jwt_key_file: Option<PathBuf>,
    max_depends_on: Option<usize>,
    max_parameter_filters: Option<usize>,
    login_attempts: Option<u32>,
    login_window: Option<String>,
    login_max_concurrent_hashes: Option<usize>,
    login_hash_wait: Option<String>,
    max_archives: Option<usize>,
    max_archives_per_caller: Option<usize>,
    archive_stall_timeout: Option<String>,
    max_followers_per_process: Option<usize>,
    max_followers_per_caller: Option<usize>,
    sse_heartbeat: Option<String>,
    body_idle_timeout: Option<String>,
    body_min_bytes_per_second: Option<u64>,
    metrics_allowed: Option<String>,
    trusted_origins: Option<Vec<String>>,
    public_url: Option<String>,
    trusted_proxies: Option<Vec<String>>,
    cors_allowed_origins: Option<Vec<String>>,
    name: Option<String>,
    ui_url: Option<String>,
    confine_scripts: Option<String>,
    script_read_paths: Option<Vec<PathBuf>>,
    script_write_paths: Option<Vec<PathBuf>>,
    run_as: Option<String>,
    anonymous_process_access: Option<String>,
    webhook_allowed_hosts: Option<Vec<String>>,
    oidc: Option<RawOidc>,
    #[serde(default)]
    script: Vec<RawScript>,
}

/// `[oidc]`: accept JWTs of an OpenID Connect provider.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOidc {
    issuer: String,
    audience: String,
    jwks_url: Option<String>,
    jwks_file: Option<PathBuf>,
    user_claim: Option<String>,
    groups_claim: Option<String>,
    admin_group: Option<String>,
    leeway: Option<String>,
    jwks_min_refresh: Option<String>,
}

/// Top-level keys that `PROCESSD_<KEY>` may override.
const KEYS: &[&str] = &[
    "bind",
    "data_dir",
    "database_url",
    "max_concurrent",
    "max_upload_bytes",
    "max_output_bytes",
    "retention_days",
    "executor",
    "kill_grace",
    "shutdown_grace",
    "jwt_key_file",
    "max_depends_on",
    "max_parameter_filters",
    "login_attempts",
    "login_window",
    "login_max_concurrent_hashes",
    "login_hash_wait",
    "max_archives",
    "max_archives_per_caller",
    "archive_stall_timeout",
    "max_followers_per_process",
    "max_followers_per_caller",
    "sse_heartbeat",
    "body_idle_timeout",
    "body_min_bytes_per_second",
    "metrics_allowed",
    "trusted_origins",
    "public_url",
    "trusted_proxies",
    "cors_allowed_origins",
    "name",
    "ui_url",
    "confine_scripts",
    "script_read_paths",
    "script_write_paths",
    "run_as",
    "anonymous_process_access",
    "webhook_allowed_hosts",
    "oidc",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScript {
    name: String,
    #[serde(default)]
    description: String,
    command: Vec<String>,
    #[serde(default)]
    allowed: Vec<String>,
    max_clock_time: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// `local` or `slurm`; the top-level `executor` when absent.
    executor: Option<String>,
    #[serde(default)]
    parameter: Vec<RawParameter>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParameter {
    name: String,
    long: Option<String>,
    #[serde(rename = "type", default = "default_type")]
    ty: String,
    #[serde(default)]
    mandatory: bool,
    #[serde(default)]
    description: String,
    #[serde(default)]
    allow_leading_dash: bool,
}

fn default_type() -> String {
    "string".to_owned()
}

/// Which executor runs processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutorKind {
    Local,
    Slurm,
}

impl ExecutorKind {
    fn parse(name: &str) -> Result<Self, String> {
        match name {
            "local" => Ok(Self::Local),
            "slurm" => Ok(Self::Slurm),
            other => Err(format!("executor must be local or slurm, not {other:?}")),
        }
    }

    /// The name scripts use to choose it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Slurm => "slurm",
        }
    }
}

/// Where the provider's signing keys (a JWKS) come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// Fetched over HTTP(S), again when a token names a key it does not hold.
    Url(String),
    /// Read from a local file (absolute), again when a token names a key it does not hold.
    File(PathBuf),
}

/// An OpenID Connect provider whose JWTs are accepted as Bearer tokens.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The `iss` its tokens must carry, exactly.
    pub issuer: String,
    /// A value their `aud` must hold.
    pub audience: String,
    pub jwks: JwksSource,
    /// The claim naming the user (dots reach into objects: `ext.login`).
    pub user_claim: String,
    /// The claim listing the user's groups (an array of strings, or one string); dots reach
    /// into objects (`realm_access.roles`).
    pub groups_claim: String,
    /// Members of this group are administrators.
    pub admin_group: Option<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
    /// Shortest time between two reads of the JWKS prompted by tokens naming a key it lacks.
    pub jwks_min_refresh: Duration,
}

impl OidcConfig {
    fn from_raw(raw: RawOidc, base: &Path) -> Result<Self, ConfigError> {
        let invalid = |m: &str| ConfigError::Invalid(format!("[oidc]: {m}"));
        if raw.issuer.trim().is_empty() || raw.audience.trim().is_empty() {
            return Err(invalid("issuer and audience must not be empty"));
        }
        let jwks = match (raw.jwks_url, raw.jwks_file) {
            (Some(url), None) if url.starts_with("https://") || url.starts_with("http://") => {
                JwksSource::Url(url)
            }
            (Some(_), None) => return Err(invalid("jwks_url must be an http(s) URL")),
            (None, Some(file)) => JwksSource::File(if file.is_absolute() {
                file
            } else {
                base.join(file)
            }),
            _ => return Err(invalid("set exactly one of jwks_url and jwks_file")),
        };
        let claim = |value: Option<String>, default: &str| {
            value
                .filter(|c| !c.trim().is_empty())
                .unwrap_or_else(|| default.to_owned())
        };
        let duration = |value: Option<String>, default: u64| match value {
            Some(s) => parse_duration(&s).map_err(|e| invalid(&e.to_string())),
            None => Ok(Duration::from_secs(default)),
        };
        Ok(Self {
            issuer: raw.issuer,
            audience: raw.audience,
            jwks,
            user_claim: claim(raw.user_claim, "preferred_username"),
            groups_claim: claim(raw.groups_claim, "groups"),
            admin_group: raw.admin_group.filter(|g| !g.is_empty()),
            leeway: duration(raw.leeway, 30)?,
            // 0s (read again on every unknown key) suits a provider on the same machine.
            jwks_min_refresh: match raw.jwks_min_refresh.as_deref().map(str::trim) {
                Some("0s" | "0") => Duration::ZERO,
                other => duration(other.map(str::to_owned), 10)?,
            },
        })
    }
}

/// Who may read `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsAllowed {
    Anyone,
    Admin,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: String,
    /// Absolute.
    pub data_dir: PathBuf,
    pub database_url: String,
    pub max_concurrent: usize,
    pub max_upload_bytes: u64,
    pub max_output_bytes: u64,
    pub retention_days: Option<u32>,
    pub executor: ExecutorKind,
    /// Time between SIGTERM and SIGKILL when a process is stopped.
    pub kill_grace: Duration,
    /// How long running processes may go on after processd is asked to stop.
    pub shutdown_grace: Duration,
    /// A file holding the JWT signing key; `None` keeps one in the data directory.
    pub jwt_key_file: Option<PathBuf>,
    /// Most process ids one launch's `dependsOn` may name.
    pub max_depends_on: usize,
    /// Most `parameter.<name>` filters one listing may carry.
    pub max_parameter_filters: usize,
    /// Who sees a process started anonymously: whoever presents the capability its launch
    /// answered with (the default), or everyone (`public`).
    pub anonymous_process_access: AnonymousAccess,
    /// Where webhooks may point: any public address (the default), or only these hosts and
    /// networks (`webhook_allowed_hosts`).
    pub webhook_targets: TargetPolicy,
    /// Login attempts a client address, and an account, may make per `login_window`.
    pub login_attempts: u32,
    pub login_window: Duration,
    /// Password hashes computed at once (each takes about 19 MiB).
    pub login_max_concurrent_hashes: usize,
    /// How long a login waits for a hash slot before a 503.
    pub login_hash_wait: Duration,
    /// Archives written at once, overall and per caller.
    pub max_archives: usize,
    pub max_archives_per_caller: usize,
    /// An archive whose client takes nothing for this long is dropped.
    pub archive_stall_timeout: Duration,
    /// Live output feeds (event streams) at once, per process and per caller.
    pub max_followers_per_process: usize,
    pub max_followers_per_caller: usize,
    /// A quiet event stream gets a comment this often (which is also how a gone client is
    /// noticed).
    pub sse_heartbeat: Duration,
    /// A request body that sends nothing for this long is cut off (408); after that much
    /// grace it must also average `body_min_bytes_per_second` (0: no minimum).
    pub body_idle_timeout: Duration,
    pub body_min_bytes_per_second: u64,
    /// Who may read `/metrics`.
    pub metrics_allowed: MetricsAllowed,
    /// Origins (`https://ui.example.org`) whose pages may send state-changing requests,
    /// besides the service's own.
    pub trusted_origins: Vec<String>,
    /// Where clients reach this service (`https://repo.example.org/server`): every link and
    /// `Location` is made under it. `None`: derived from each request.
    pub public_url: Option<PublicUrl>,
    /// Reverse proxies whose `X-Forwarded-*` headers are believed.
    pub trusted_proxies: TrustedProxies,
    /// Origins whose pages may call the API from a browser (CORS); lower case, no trailing
    /// slash. They may also change things, as if they were in `trusted_origins`.
    pub cors_allowed_origins: Vec<String>,
    /// The service's name, as `GET /api` shows it (`dspaceName`).
    pub name: String,
    /// The web UI's URL, as `GET /api` shows it (`dspaceUI`).
    pub ui_url: Option<String>,
    /// An OpenID Connect provider whose JWTs authenticate users; `None`: only processd's own
    /// tokens do.
    pub oidc: Option<OidcConfig>,
    /// How local runs are contained (`confine_scripts`, `script_read_paths`,
    /// `script_write_paths`, `run_as`).
    pub contain: ContainConfig,
    pub catalog: Catalog,
}

impl Config {
    /// Loads `path`, or the embedded default when `None`, then applies environment overrides.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.display().to_string(),
                    source,
                })?;
                let base = p
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                Self::parse(&text, base, &env)
            }
            None => Self::parse(EMBEDDED_DEFAULT, Path::new(EMBEDDED_DEFAULT_DIR), &env),
        }
    }

    /// Parses TOML `text`; relative script paths resolve against `base`; `env` holds the
    /// environment to take `PROCESSD_*` overrides from.
    pub fn parse(text: &str, base: &Path, env: &[(String, String)]) -> Result<Self, ConfigError> {
        let mut table: toml::Table =
            toml::from_str(text).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        apply_env(&mut table, env)?;
        let raw: RawConfig = table
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
        Self::from_raw(raw, base)
    }

    fn from_raw(raw: RawConfig, base: &Path) -> Result<Self, ConfigError> {
        let invalid = |m: String| ConfigError::Invalid(m);
        let data_dir = absolute(
            raw.data_dir
                .unwrap_or_else(|| PathBuf::from("processd-data")),
        );
        let database_url = raw
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("processd.db").display()));
        let executor =
            ExecutorKind::parse(raw.executor.as_deref().unwrap_or("local")).map_err(invalid)?;
        let max_concurrent = raw.max_concurrent.unwrap_or(4);
        if max_concurrent == 0 {
            return Err(invalid("max_concurrent must be at least 1".to_owned()));
        }
        let kill_grace = match raw.kill_grace {
            Some(s) => parse_duration(&s).map_err(|e| invalid(e.to_string()))?,
            None => Duration::from_secs(5),
        };
        if raw
            .retention_days
            .is_some_and(|d| !(1..=36_500).contains(&d))
        {
            return Err(invalid("retention_days must be from 1 to 36500".to_owned()));
        }
        let shutdown_grace = match raw.shutdown_grace {
            Some(s) => parse_duration(&s).map_err(|e| invalid(e.to_string()))?,
            None => Duration::from_secs(10),
        };
        let duration = |value: Option<String>, default: u64| -> Result<Duration, ConfigError> {
            match value {
                Some(s) => parse_duration(&s).map_err(|e| invalid(e.to_string())),
                None => Ok(Duration::from_secs(default)),
            }
        };
        let login_attempts = raw.login_attempts.unwrap_or(10);
        let login_max_concurrent_hashes = raw.login_max_concurrent_hashes.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        });
        if login_attempts == 0 || login_max_concurrent_hashes == 0 {
            return Err(invalid(
                "login_attempts and login_max_concurrent_hashes must be at least 1".to_owned(),
            ));
        }
        let contain = ContainConfig {
            mode: match raw.confine_scripts.as_deref() {
                Some(mode) => mode.parse::<ConfineMode>().map_err(invalid)?,
                None => ConfineMode::default(),
            },
            read_paths: absolute_paths("script_read_paths", raw.script_read_paths)?,
            write_paths: absolute_paths("script_write_paths", raw.script_write_paths)?,
            run_as: raw.run_as.filter(|u| !u.is_empty()),
            // Set by the processd binary: only it can be started as the launcher.
            launcher: None,
        };
        let scripts = raw
            .script
            .into_iter()
            .map(|s| script(s, base))
            .collect::<Result<Vec<_>, _>>()?;
        let catalog = Catalog::new(scripts).map_err(|e| invalid(e.to_string()))?;
        Ok(Config {
            bind: raw.bind.unwrap_or_else(|| "127.0.0.1:8080".to_owned()),
            data_dir,
            database_url,
            max_concurrent,
            max_upload_bytes: raw.max_upload_bytes.unwrap_or(1024 * 1024 * 1024),
            max_output_bytes: raw.max_output_bytes.unwrap_or(64 * 1024 * 1024),
            retention_days: raw.retention_days,
            executor,
            kill_grace,
            shutdown_grace,
            jwt_key_file: raw.jwt_key_file.map(absolute),
            max_depends_on: raw.max_depends_on.unwrap_or(100),
            max_parameter_filters: raw.max_parameter_filters.unwrap_or(20),
            webhook_targets: TargetPolicy::parse(&raw.webhook_allowed_hosts.unwrap_or_default())
                .map_err(invalid)?,
            anonymous_process_access: match raw.anonymous_process_access.as_deref() {
                Some(s) => s
                    .parse()
                    .map_err(|e: process_core::ParseError| invalid(e.to_string()))?,
                None => AnonymousAccess::default(),
            },
            login_attempts,
            login_window: duration(raw.login_window, 60)?,
            login_max_concurrent_hashes,
            login_hash_wait: duration(raw.login_hash_wait, 2)?,
            max_archives: raw.max_archives.unwrap_or(32),
            max_archives_per_caller: raw.max_archives_per_caller.unwrap_or(4),
            archive_stall_timeout: duration(raw.archive_stall_timeout, 60)?,
            max_followers_per_process: raw.max_followers_per_process.unwrap_or(64),
            max_followers_per_caller: raw.max_followers_per_caller.unwrap_or(16),
            sse_heartbeat: duration(raw.sse_heartbeat, 15)?,
            body_idle_timeout: duration(raw.body_idle_timeout, 30)?,
            body_min_bytes_per_second: raw.body_min_bytes_per_second.unwrap_or(1024),
            metrics_allowed: match raw.metrics_allowed.as_deref().unwrap_or("anyone") {
                "anyone" => MetricsAllowed::Anyone,
                "admin" => MetricsAllowed::Admin,
                other => {
                    return Err(invalid(format!(
                        "metrics_allowed must be anyone or admin, not {other:?}"
                    )))
                }
            },
            trusted_origins: raw.trusted_origins.unwrap_or_default(),
            public_url: raw
                .public_url
                .filter(|u| !u.is_empty())
                .map(|u| PublicUrl::parse(&u))
                .transpose()
                .map_err(invalid)?,
            trusted_proxies: TrustedProxies::parse(&raw.trusted_proxies.unwrap_or_default())
                .map_err(invalid)?,
            cors_allowed_origins: raw
                .cors_allowed_origins
                .unwrap_or_default()
                .iter()
                .map(|o| parse_origin("cors_allowed_origins", o))
                .collect::<Result<_, _>>()
                .map_err(invalid)?,
            name: raw.name.unwrap_or_else(|| "processd".to_owned()),
            ui_url: raw.ui_url.filter(|u| !u.is_empty()),
            oidc: raw
                .oidc
                .map(|o| OidcConfig::from_raw(o, base))
                .transpose()?,
            contain,
            catalog,
        })
    }
}

/// Paths a script may reach must be absolute: they are granted to scripts whose working
/// directory is their own.
fn absolute_paths(key: &str, paths: Option<Vec<PathBuf>>) -> Result<Vec<PathBuf>, ConfigError> {
    let paths = paths.unwrap_or_default();
    match paths.iter().find(|p| !p.is_absolute()) {
        Some(p) => Err(ConfigError::Invalid(format!(
            "{key}: {} is not an absolute path",
            p.display()
        ))),
        None => Ok(paths),
    }
}

fn absolute(p: PathBuf) -> PathBuf {
    if p.is_absolute() {
        p
    } else {
        std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)
    }
}

/// `PROCESSD_<KEY>=value` sets `key` (upper case in the variable; `__` stands for `.`). Values
/// that parse as TOML (numbers, booleans) keep their type; anything else is a string.
fn apply_env(table: &mut toml::Table, env: &[(String, String)]) -> Result<(), ConfigError> {
    for (name, value) in env {
        let Some(key) = name.strip_prefix("PROCESSD_") else {
            continue;
        };
        let path: Vec<String> = key.split("__").map(str::to_ascii_lowercase).collect();
        if !KEYS.contains(&path[0].as_str()) {
            continue;
        }
        let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(value.clone()));
        let mut cursor = &mut *table;
        for segment in &path[..path.len() - 1] {
            cursor = cursor
                .entry(segment.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .ok_or_else(|| ConfigError::Invalid(format!("{name} does not name a table")))?;
        }
        if let Some(last) = path.last() {
            cursor.insert(last.clone(), parsed);
        }
    }
    Ok(())
}

fn script(raw: RawScript, base: &Path) -> Result<Script, ConfigError> {
    let invalid = |m: String| ConfigError::Invalid(format!("script {:?}: {m}", raw.name));
    let name = ScriptName::parse(&raw.name).map_err(|e| invalid(e.to_string()))?;
    if raw.command.is_empty() {
        return Err(invalid("command must not be empty".to_owned()));
    }
    // A relative path that names a file next to the config becomes absolute: scripts run in
    // their own working directory, where the relative path would not resolve.
    let command = raw
        .command
        .iter()
        .map(|arg| {
            let candidate = base.join(arg);
            if !Path::new(arg).is_absolute() && arg.contains('/') && candidate.is_file() {
                std::fs::canonicalize(&candidate)
                    .unwrap_or(candidate)
                    .display()
                    .to_string()
            } else {
                arg.clone()
            }
        })
        .collect();
    let max_clock_time = raw
        .max_clock_time
        .as_deref()
        .map(parse_duration)
        .transpose()
        .map_err(|e| invalid(e.to_string()))?;
    let mut parameters = Vec::new();
    for p in &raw.parameter {
        let ty: ParamType =
            p.ty.parse()
                .map_err(|e: process_core::ParseError| invalid(e.to_string()))?;
        if !p.name.starts_with('-') || p.long.as_deref().is_some_and(|l| !l.starts_with("--")) {
            return Err(invalid(format!(
                "parameter {:?}: name must start with - and long with --",
                p.name
            )));
        }
        if parameters
            .iter()
            .any(|q: &ParameterSpec| q.matches(&p.name))
        {
            return Err(invalid(format!("parameter {:?} is defined twice", p.name)));
        }
        parameters.push(ParameterSpec {
            name: p.name.clone(),
            long: p.long.clone(),
            ty,
            mandatory: p.mandatory,
            description: p.description.clone(),
            allow_leading_dash: p.allow_leading_dash,
        });
    }
    if let Some(e) = raw.executor.as_deref() {
        ExecutorKind::parse(e).map_err(invalid)?;
    }
    Ok(Script {
        name,
        description: raw.description,
        command,
        allowed: raw.allowed.iter().map(|a| Principal::parse(a)).collect(),
        max_clock_time,
        env: raw.env,
        parameters,
        executor: raw.executor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
bind = "127.0.0.1:9000"
data_dir = "/tmp/pd"
max_concurrent = 2

[[script]]
name = "echo"
command = ["/bin/echo"]
allowed = ["admin", "lab"]
max_clock_time = "1m"
[[script.parameter]]
name = "-m"
long = "--message"
type = "string"
mandatory = true
"#;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn parses_a_config_with_defaults() {
        let c = Config::parse(SAMPLE, Path::new("."), &[]).unwrap();
        assert_eq!(c.bind, "127.0.0.1:9000");
        assert_eq!(c.database_url, "sqlite:///tmp/pd/processd.db");
        assert_eq!(c.max_concurrent, 2);
        let s = c.catalog.get("echo").unwrap();
        assert_eq!(s.max_clock_time, Some(Duration::from_secs(60)));
        assert_eq!(s.parameters[0].ty, ParamType::String);
    }

    #[test]
    fn environment_overrides_keys() {
        let c = Config::parse(
            SAMPLE,
            Path::new("."),
            &env(&[
                ("PROCESSD_BIND", "0.0.0.0:1"),
                ("PROCESSD_MAX_CONCURRENT", "7"),
                ("PROCESSD_DATABASE_URL", "postgres://x@y/z"),
                ("PROCESSD_TEST_SOMETHING", "ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(c.bind, "0.0.0.0:1");
        assert_eq!(c.max_concurrent, 7);
        assert_eq!(c.database_url, "postgres://x@y/z");
    }

    #[test]
    fn containment_keys_parse_and_override() {
        let c = Config::parse(SAMPLE, Path::new("."), &[]).unwrap();
        assert_eq!(c.contain.mode, ConfineMode::Auto);
        assert!(c.contain.read_paths.is_empty() && c.contain.write_paths.is_empty());
        let text =
            format!("confine_scripts = \"required\"\nscript_read_paths = [\"/srv/ref\"]\n{SAMPLE}");
        let c = Config::parse(
            &text,
            Path::new("."),
            &env(&[
                ("PROCESSD_CONFINE_SCRIPTS", "off"),
                (
                    "PROCESSD_SCRIPT_WRITE_PATHS",
                    "[\"/srv/scratch\", \"/srv/b\"]",
                ),
                ("PROCESSD_RUN_AS", "processd-scripts"),
            ]),
        )
        .unwrap();
        assert_eq!(c.contain.mode, ConfineMode::Off);
        assert_eq!(c.contain.read_paths, [PathBuf::from("/srv/ref")]);
        assert_eq!(
            c.contain.write_paths,
            [PathBuf::from("/srv/scratch"), PathBuf::from("/srv/b")]
        );
        assert_eq!(c.contain.run_as.as_deref(), Some("processd-scripts"));
    }

    #[test]
    fn rejects_bad_configs() {
        for (bad, why) in [
            ("unknown = 1", "unknown key"),
            ("[[script]]\nname = \"Bad Name\"\ncommand = [\"/bin/true\"]", "name"),
            ("[[script]]\nname = \"x\"\ncommand = []", "empty command"),
            ("[[script]]\nname = \"x\"\ncommand = [\"/bin/true\"]\nmax_clock_time = \"soon\"", "duration"),
            ("executor = \"k8s\"", "executor"),
            ("metrics_allowed = \"everyone\"", "metrics_allowed"),
            ("login_attempts = 0", "no login attempts"),
            ("archive_stall_timeout = \"soon\"", "stall duration"),
            ("confine_scripts = \"maybe\"", "confine mode"),
            ("anonymous_process_access = \"open\"", "anonymous access"),
            ("script_read_paths = [\"relative/dir\"]", "relative path"),
            ("[oidc]\nissuer = \"https://id.example.org\"\naudience = \"processd\"", "no jwks"),
            ("[oidc]\nissuer = \"https://id.example.org\"\naudience = \"processd\"\njwks_url = \"ftp://x\"", "jwks scheme"),
            ("[oidc]\nissuer = \"\"\naudience = \"processd\"\njwks_file = \"k.json\"", "empty issuer"),
            ("[oidc]\nissuer = \"i\"\naudience = \"a\"\njwks_file = \"k\"\nclient_secret = \"x\"", "unknown oidc key"),
            ("[[script]]\nname = \"x\"\ncommand = [\"a\"]\n[[script.parameter]]\nname = \"-f\"\ntype = \"blob\"", "type"),
            ("[[script]]\nname = \"x\"\ncommand = [\"a\"]\n[[script]]\nname = \"x\"\ncommand = [\"a\"]", "duplicate"),
        ] {
            assert!(Config::parse(bad, Path::new("."), &[]).is_err(), "{why}");
        }
    }

    #[test]
    fn limits_have_defaults_and_can_be_overridden() {
        let c = Config::parse(SAMPLE, Path::new("."), &[]).unwrap();
        assert_eq!(c.max_depends_on, 100);
        assert_eq!(c.login_window, Duration::from_secs(60));
        assert_eq!(c.metrics_allowed, MetricsAllowed::Anyone);
        assert!(c.trusted_origins.is_empty());
        assert_eq!(c.anonymous_process_access, AnonymousAccess::Capability);
        let c = Config::parse(
            SAMPLE,
            Path::new("."),
            &env(&[
                ("PROCESSD_MAX_ARCHIVES", "3"),
                ("PROCESSD_BODY_IDLE_TIMEOUT", "5s"),
                ("PROCESSD_METRICS_ALLOWED", "admin"),
                ("PROCESSD_TRUSTED_ORIGINS", r#"["https://ui.example.org"]"#),
                ("PROCESSD_ANONYMOUS_PROCESS_ACCESS", "public"),
            ]),
        )
        .unwrap();
        assert_eq!(c.anonymous_process_access, AnonymousAccess::Public);
        assert_eq!(c.max_archives, 3);
        assert_eq!(c.body_idle_timeout, Duration::from_secs(5));
        assert_eq!(c.metrics_allowed, MetricsAllowed::Admin);
        assert_eq!(c.trusted_origins, ["https://ui.example.org"]);
    }

    #[test]
    fn oidc_has_defaults_and_env_overrides() {
        let text = format!(
            "{SAMPLE}\n[oidc]\nissuer = \"https://id.example.org/realms/r\"\naudience = \"processd\"\njwks_file = \"keys/jwks.json\"\n"
        );
        let c = Config::parse(&text, Path::new("/etc/processd"), &[]).unwrap();
        let o = c.oidc.unwrap();
        assert_eq!(
            o.jwks,
            JwksSource::File(PathBuf::from("/etc/processd/keys/jwks.json"))
        );
        assert_eq!(o.user_claim, "preferred_username");
        assert_eq!(o.groups_claim, "groups");
        assert_eq!(o.admin_group, None);
        assert_eq!(o.leeway, Duration::from_secs(30));
        let c = Config::parse(
            &text,
            Path::new("/etc/processd"),
            &env(&[
                ("PROCESSD_OIDC__ADMIN_GROUP", "processd-admins"),
                ("PROCESSD_OIDC__GROUPS_CLAIM", "realm_access.roles"),
            ]),
        )
        .unwrap();
        let o = c.oidc.unwrap();
        assert_eq!(o.admin_group.as_deref(), Some("processd-admins"));
        assert_eq!(o.groups_claim, "realm_access.roles");
        assert!(Config::parse(SAMPLE, Path::new("."), &[])
            .unwrap()
            .oidc
            .is_none());
    }

    #[test]
    fn the_embedded_default_loads() {
        let c = Config::parse(EMBEDDED_DEFAULT, Path::new(EMBEDDED_DEFAULT_DIR), &[]).unwrap();
        assert!(c.catalog.iter().count() >= 2);
        assert_eq!(c.bind, "127.0.0.1:8080");
    }

    /// One rule for the file and the embedded copy: script paths resolve against the folder
    /// the config was written in.
    #[test]
    fn example_scripts_resolve_from_the_file_and_the_embedded_default() {
        let example = Path::new(EMBEDDED_DEFAULT_DIR).join("processd.toml");
        let from_file = Config::load(Some(&example)).unwrap();
        let embedded = Config::load(None).unwrap();
        for c in [&from_file, &embedded] {
            let script = &c.catalog.get("row-count").unwrap().command[2];
            assert!(Path::new(script).is_absolute(), "{script}");
            assert!(Path::new(script).is_file(), "{script}");
            assert!(
                script.ends_with("examples/scripts/row_count.py"),
                "{script}"
            );
        }
    }

    #[test]
    fn link_and_cors_keys() {
        let c = Config::parse(SAMPLE, Path::new("."), &[]).unwrap();
        assert!(c.public_url.is_none() && c.cors_allowed_origins.is_empty());
        assert_eq!((c.name.as_str(), c.ui_url.as_deref()), ("processd", None));
        let text = format!(
            "public_url = \"https://repo.example.org/server/\"\n\
             trusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n\
             cors_allowed_origins = [\"https://UI.example.org/\"]\n\
             name = \"Lab\"\nui_url = \"https://ui.example.org\"\n{SAMPLE}"
        );
        let c = Config::parse(&text, Path::new("."), &[]).unwrap();
        assert_eq!(
            c.public_url.as_ref().unwrap().origin(),
            "https://repo.example.org"
        );
        assert!(c.trusted_proxies.trusts("10.9.8.7".parse().unwrap()));
        assert_eq!(c.cors_allowed_origins, ["https://ui.example.org"]);
        assert_eq!(
            (c.name.as_str(), c.ui_url.as_deref()),
            ("Lab", Some("https://ui.example.org"))
        );
        let c = Config::parse(
            SAMPLE,
            Path::new("."),
            &env(&[
                ("PROCESSD_PUBLIC_URL", "http://localhost:9000"),
                (
                    "PROCESSD_CORS_ALLOWED_ORIGINS",
                    r#"["http://localhost:4000"]"#,
                ),
            ]),
        )
        .unwrap();
        assert_eq!(c.public_url.unwrap().origin(), "http://localhost:9000");
        assert_eq!(c.cors_allowed_origins, ["http://localhost:4000"]);
        for bad in [
            "public_url = \"repo.example.org\"",
            "trusted_proxies = [\"proxy\"]",
            "cors_allowed_origins = [\"*\"]",
        ] {
            assert!(Config::parse(bad, Path::new("."), &[]).is_err(), "{bad}");
        }
    }
}
