//! Bearer JWTs issued by a configured OpenID Connect provider (`[oidc]`): verified by
//! signature (RS256 or ES256, with a key of the provider's JWKS), `iss`, `aud` and `exp`;
//! the user and their groups are read from claims the operator names. The JWKS is read when
//! first needed and again when a token names a key it does not hold (a rotation), at most
//! once per `jwks_min_refresh`, so tokens with made-up key ids cannot make processd hammer
//! the provider.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Header, Validation};
use serde_json::{Map, Value};

use crate::config::{JwksSource, OidcConfig};

/// Largest JWKS document read (a provider's holds a handful of keys, a few KiB).
const MAX_JWKS_BYTES: usize = 1024 * 1024;
/// How long a JWKS fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Bounds on what is taken from a token: a name, and the groups (more are ignored).
const MAX_NAME_CHARS: usize = 256;
const MAX_GROUPS: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The token is not one of the provider's, or not valid now; the reason is for logs.
    #[error("{0}")]
    Invalid(String),
    /// The provider's keys could not be had.
    #[error("the identity provider's signing keys cannot be read: {0}")]
    Keys(String),
}

/// Who a valid token says the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub groups: Vec<String>,
    pub admin: bool,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

struct Keys {
    set: JwkSet,
    /// When the set was last read (`None`: never).
    read_at: Option<Instant>,
}

pub struct Provider {
    config: OidcConfig,
    keys: RwLock<Keys>,
    /// One reload at a time; the others wait for it and use what it read.
    reloading: tokio::sync::Mutex<()>,
    client: reqwest::Client,
}

impl Provider {
    /// A provider; a `jwks_file` is read now, so a missing or broken one stops the start.
    pub fn new(config: OidcConfig) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder().timeout(FETCH_TIMEOUT).build()?;
        let mut keys = Keys {
            set: JwkSet { keys: Vec::new() },
            read_at: None,
        };
        if let JwksSource::File(path) = &config.jwks {
            keys.set = read_file(path).map_err(|e| anyhow::anyhow!("[oidc] jwks_file: {e}"))?;
            keys.read_at = Some(Instant::now());
        }
        Ok(Self {
            config,
            keys: RwLock::new(keys),
            reloading: tokio::sync::Mutex::new(()),
            client,
        })
    }

    /// Does `token` look like one of the provider's (signed with a public-key algorithm)?
    /// processd's own JWTs are HS256.
    pub fn claims_token(token: &str) -> bool {
        decode_header(token).is_ok_and(|h| matches!(h.alg, Algorithm::RS256 | Algorithm::ES256))
    }

    /// Who `token` names, if the provider issued it for us and it is valid now.
    pub async fn verify(&self, token: &str) -> Result<Identity, OidcError> {
        let header = decode_header(token).map_err(|e| OidcError::Invalid(e.to_string()))?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(OidcError::Invalid(format!(
                "{:?} is not accepted",
                header.alg
            )));
        }
        let key = match self.key_for(&header) {
            Some(key) => key,
            None => {
                self.reload().await?;
                self.key_for(&header)
                    .ok_or_else(|| OidcError::Invalid("signed with an unknown key".into()))?
            }
        };
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = self.config.leeway.as_secs();
        let data = decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| OidcError::Invalid(e.to_string()))?;
        identity(&self.config, &data.claims)
    }

    /// The key a token's header names: by `kid`, or the only key of the set when it has no
    /// `kid`.
    fn key_for(&self, header: &Header) -> Option<DecodingKey> {
        let keys = self.keys.read().ok()?;
        let jwk = match &header.kid {
            Some(kid) => keys.set.find(kid)?,
            None if keys.set.keys.len() == 1 => &keys.set.keys[0],
            None => return None,
        };
        DecodingKey::from_jwk(jwk).ok()
    }

    /// Reads the JWKS again, unless it was read less than `jwks_min_refresh` ago (then a
    /// token with a key it lacks is refused). A failed read keeps the keys held.
    async fn reload(&self) -> Result<(), OidcError> {
        let _one = self.reloading.lock().await;
        let (due, none_held) = self
            .keys
            .read()
            .map(|k| {
                let due = k
                    .read_at
                    .is_none_or(|at| at.elapsed() >= self.config.jwks_min_refresh);
                (due, k.set.keys.is_empty())
            })
            .unwrap_or((true, true));
        match (due, none_held) {
            (true, _) => {}
            (false, true) => {
                return Err(OidcError::Keys(
                    "they could not be read a moment ago; try again later".into(),
                ))
            }
            (false, false) => return Ok(()),
        }
        let fetched = match &self.config.jwks {
            JwksSource::Url(url) => self.fetch(url).await,
            JwksSource::File(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || read_file(&path))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r)
            }
        };
        let mut keys = self
            .keys
            .write()
            .map_err(|_| OidcError::Keys("poisoned".into()))?;
        // A failure counts as a read too: the provider is asked again only after the interval.
        keys.read_at = Some(Instant::now());
        match fetched {
            Ok(set) => {
                tracing::info!(keys = set.keys.len(), "read the identity provider's keys");
                keys.set = set;
                Ok(())
            }
            Err(e) if keys.set.keys.is_empty() => Err(OidcError::Keys(e)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the identity provider's keys again");
                Ok(())
            }
        }
    }

    async fn fetch(&self, url: &str) -> Result<JwkSet, String> {
        let mut res = self
            .client
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| e.to_string())?;
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(|e| e.to_string())? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(format!("{url} sent more than {MAX_JWKS_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| format!("{url}: not a JWKS: {e}"))
    }
}

fn read_file(path: &std::path::Path) -> Result<JwkSet, String> {
    let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if text.len() > MAX_JWKS_BYTES {
        return Err(format!(
            "{} is larger than {MAX_JWKS_BYTES} bytes",
            path.display()
        ));
    }
    serde_json::from_slice(&text).map_err(|e| format!("{}: not a JWKS: {e}", path.display()))
}

/// A claim by name, or by a dotted path into objects (`realm_access.roles`) when no claim has
/// the whole name.
fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(name) {
        return Some(v);
    }
    let mut parts = name.split('.');
    let mut v = claims.get(parts.next()?)?;
    for part in parts {
        v = v.as_object()?.get(part)?;
    }
    Some(v)
}

fn text(claims: &Map<String, Value>, name: &str) -> Option<String> {
    claim(claims, name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.chars().count() <= MAX_NAME_CHARS)
        .filter(|s| !s.chars().any(char::is_control))
        .map(str::to_owned)
}

fn identity(config: &OidcConfig, claims: &Map<String, Value>) -> Result<Identity, OidcError> {
    let name = text(claims, &config.user_claim)
        .ok_or_else(|| OidcError::Invalid(format!("no usable {} claim", config.user_claim)))?;
    let valid = |g: &str| !g.is_empty() && g.len() <= MAX_NAME_CHARS;
    let mut groups: Vec<String> = match claim(claims, &config.groups_claim) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .filter(|g| valid(g))
            .take(MAX_GROUPS)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(g)) if valid(g) => vec![g.clone()],
        _ => Vec::new(),
    };
    groups.sort();
    groups.dedup();
    let admin = config
        .admin_group
        .as_ref()
        .is_some_and(|a| groups.contains(a));
    Ok(Identity {
        name,
        admin,
        groups,
        email: text(claims, "email"),
        first_name: text(claims, "given_name"),
        last_name: text(claims, "family_name"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> OidcConfig {
        OidcConfig {
            issuer: "https://id.example.org".into(),
            audience: "processd".into(),
            jwks: JwksSource::File("/nonexistent".into()),
            user_claim: "preferred_username".into(),
            groups_claim: "realm_access.roles".into(),
            admin_group: Some("processd-admin".into()),
            leeway: Duration::from_secs(30),
            jwks_min_refresh: Duration::from_secs(10),
        }
    }

    fn check(claims: Value, expected: Option<(&str, &[&str], bool)>) {
        let claims = claims.as_object().unwrap().clone();
        let got = identity(&config(), &claims).ok();
        let got = got.as_ref().map(|i| {
            (
                i.name.as_str(),
                i.groups.iter().map(String::as_str).collect::<Vec<_>>(),
                i.admin,
            )
        });
        let expected = expected.map(|(n, g, a)| (n, g.to_vec(), a));
        assert_eq!(got, expected);
    }

    #[test]
    fn identities_come_from_the_named_claims() {
        check(
            json!({"preferred_username": "ann", "realm_access": {"roles": ["lab", "processd-admin", "lab"]}}),
            Some(("ann", &["lab", "processd-admin"], true)),
        );
        check(
            json!({"preferred_username": "ann", "realm_access": {"roles": "lab"}}),
            Some(("ann", &["lab"], false)),
        );
        check(
            json!({"preferred_username": " ann "}),
            Some(("ann", &[], false)),
        );
        check(
            json!({"preferred_username": "ann", "realm_access.roles": [1, "x"]}),
            Some(("ann", &["x"], false)),
        );
        check(json!({"sub": "ann"}), None);
        check(json!({"preferred_username": ""}), None);
        check(json!({"preferred_username": "a\nb"}), None);
        check(json!({"preferred_username": 7}), None);
    }
}
