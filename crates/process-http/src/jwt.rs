//! Login sessions as HS256 JWTs (and the two-minute download tokens of
//! `POST /api/authn/shortlivedtokens`), signed with a key kept in a 0600 file of the data
//! directory (shared by every node that shares it) or in a file the operator names. A JWT
//! carries its user's session version; the store bumps that on logout or a new password, which
//! ends every session issued before (as DSpace's per-user session salt does).
//! Kept apart from the login service so that `AppState`, which holds the keys, depends on
//! nothing that depends on it.

use std::path::Path;

use anyhow::Context;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use process_core::{User, UserId};
use process_datadir::{read_secret, Layout};
use process_store::Store;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How long a login lasts (DSpace's default session length).
pub const JWT_LIFETIME: time::Duration = time::Duration::minutes(30);
/// The name under which the signing key is kept (a file in the data directory's `secrets/`;
/// earlier versions kept it in the database under the same name).
pub const JWT_KEY_NAME: &str = "jwt_hs256_key";
/// Shortest key accepted from an operator's key file (HS256 wants 256 bits).
const MIN_KEY_BYTES: usize = 32;

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl JwtKeys {
    pub fn from_secret(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }
}

/// The signing key: from `key_file` when the operator names one, else from the data
/// directory, created on first start. A key an earlier version kept in the database moves to
/// the data directory (and out of the database), so logins survive the upgrade. Blocking.
pub fn load_keys(
    key_file: Option<&Path>,
    layout: &Layout,
    store: &Store,
) -> anyhow::Result<JwtKeys> {
    let legacy = store
        .take_secret(JWT_KEY_NAME)
        .context("reading the database for an old signing key")?;
    let secret = match key_file {
        Some(path) => {
            let key = read_secret(path)
                .with_context(|| format!("reading jwt_key_file {}", path.display()))?;
            anyhow::ensure!(
                key.len() >= MIN_KEY_BYTES,
                "jwt_key_file {} holds fewer than {MIN_KEY_BYTES} bytes",
                path.display()
            );
            key
        }
        None => layout
            .secret(JWT_KEY_NAME, || legacy.unwrap_or_else(generate_key))
            .context("reading the JWT signing key")?,
    };
    Ok(JwtKeys::from_secret(secret.as_bytes()))
}

/// A new random signing key, hex encoded.
pub fn generate_key() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// How long a short-lived download token lasts (as DSpace's).
pub const SHORT_LIVED_LIFETIME: time::Duration = time::Duration::minutes(2);
/// The audience of short-lived tokens. Login JWTs carry none, and a JWT with an audience is
/// never taken for a login (`verify` sets none), so neither kind passes for the other.
const DOWNLOAD_AUDIENCE: &str = "processd:download";

/// How a login session began: with a password, or with an identity provider's token
/// exchanged at `POST /api/authn/login`. A refresh keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Began {
    Password,
    Oidc,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    exp: i64,
    /// The user's session version when it was issued. Required: a JWT from before versions
    /// existed is refused, and its holder logs in again.
    sv: i64,
    /// How the session began; absent in JWTs of password logins issued before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    began: Option<Began>,
}

#[derive(Debug, Serialize, Deserialize)]
struct DownloadClaims {
    sub: String,
    iat: i64,
    exp: i64,
    sv: i64,
    aud: String,
}

/// What a valid JWT says: whose session it is, under which session version it began, and
/// how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    pub user: UserId,
    pub version: i64,
    pub began: Began,
}

/// A JWT naming `user` at `session_version`, valid for `JWT_LIFETIME` from `now`.
pub fn issue(
    keys: &JwtKeys,
    user: &User,
    session_version: i64,
    began: Began,
    now: OffsetDateTime,
) -> jsonwebtoken::errors::Result<String> {
    let claims = Claims {
        sub: user.id.to_string(),
        iat: now.unix_timestamp(),
        exp: (now + JWT_LIFETIME).unix_timestamp(),
        sv: session_version,
        began: Some(began),
    };
    encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding)
}

/// The session a validly signed, unexpired JWT names; the caller checks its version against
/// the store.
pub fn verify(keys: &JwtKeys, token: &str) -> Option<Session> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 5;
    let data = decode::<Claims>(token, &keys.decoding, &validation).ok()?;
    Some(Session {
        user: data.claims.sub.parse().ok()?,
        version: data.claims.sv,
        began: data.claims.began.unwrap_or(Began::Password),
    })
}

/// A short-lived token for `user` at `session_version`, valid for `SHORT_LIVED_LIFETIME`
/// from `now`, only for downloads (`verify_short_lived`): it ends with the session.
pub fn issue_short_lived(
    keys: &JwtKeys,
    user: UserId,
    session_version: i64,
    now: OffsetDateTime,
) -> jsonwebtoken::errors::Result<String> {
    let claims = DownloadClaims {
        sub: user.to_string(),
        iat: now.unix_timestamp(),
        exp: (now + SHORT_LIVED_LIFETIME).unix_timestamp(),
        sv: session_version,
        aud: DOWNLOAD_AUDIENCE.to_owned(),
    };
    encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding)
}

/// The user and session version a valid, unexpired short-lived token names; `None` for
/// anything else, a login JWT included.
pub fn verify_short_lived(keys: &JwtKeys, token: &str) -> Option<(UserId, i64)> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 5;
    validation.set_audience(&[DOWNLOAD_AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "aud", "sub"]);
    let data = decode::<DownloadClaims>(token, &keys.decoding, &validation).ok()?;
    Some((data.claims.sub.parse().ok()?, data.claims.sv))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            id: UserId::from_uuid(uuid::Uuid::new_v4()),
            name: "u".into(),
            admin: false,
            groups: vec![],
        }
    }

    #[test]
    fn jwts_round_trip_and_expire() {
        let keys = JwtKeys::from_secret(b"0123456789abcdef0123456789abcdef");
        let u = user();
        let now = OffsetDateTime::now_utc();
        let token = issue(&keys, &u, 7, Began::Oidc, now).unwrap();
        let session = Session {
            user: u.id,
            version: 7,
            began: Began::Oidc,
        };
        assert_eq!(verify(&keys, &token), Some(session));
        let old = issue(
            &keys,
            &u,
            7,
            Began::Password,
            now - time::Duration::hours(2),
        )
        .unwrap();
        assert_eq!(verify(&keys, &old), None);
        let other = JwtKeys::from_secret(b"another key another key another!");
        assert_eq!(verify(&other, &token), None);
        assert_eq!(verify(&keys, "not.a.jwt"), None);
    }

    #[test]
    fn short_lived_tokens_and_login_jwts_never_pass_for_each_other() {
        let keys = JwtKeys::from_secret(b"0123456789abcdef0123456789abcdef");
        let u = user();
        let now = OffsetDateTime::now_utc();
        let short = issue_short_lived(&keys, u.id, 3, now).unwrap();
        let login = issue(&keys, &u, 3, Began::Password, now).unwrap();
        assert_eq!(verify_short_lived(&keys, &short), Some((u.id, 3)));
        assert_eq!(verify(&keys, &short), None, "not a login");
        assert_eq!(
            verify_short_lived(&keys, &login),
            None,
            "not a download token"
        );
        let stale = issue_short_lived(&keys, u.id, 3, now - time::Duration::minutes(3)).unwrap();
        assert_eq!(
            verify_short_lived(&keys, &stale),
            None,
            "two minutes, not more"
        );
    }

    #[test]
    fn jwts_without_a_session_version_are_refused() {
        #[derive(Serialize)]
        struct Unversioned {
            sub: String,
            iat: i64,
            exp: i64,
        }
        let keys = JwtKeys::from_secret(b"0123456789abcdef0123456789abcdef");
        let now = OffsetDateTime::now_utc();
        let claims = Unversioned {
            sub: user().id.to_string(),
            iat: now.unix_timestamp(),
            exp: (now + JWT_LIFETIME).unix_timestamp(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding).unwrap();
        assert_eq!(verify(&keys, &token), None);
    }
}
