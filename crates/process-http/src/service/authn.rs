//! DSpace-compatible login: passwords hashed with Argon2id, sessions as short-lived HS256 JWTs
//! signed with a key the store keeps for every node.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use process_core::{User, UserId};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::state::AppState;

/// How long a login lasts (DSpace's default session length).
pub const JWT_LIFETIME: time::Duration = time::Duration::minutes(30);
/// The name under which the signing key is stored.
pub const JWT_KEY_NAME: &str = "jwt_hs256_key";

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

/// A new random signing key, hex encoded.
pub fn generate_key() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    exp: i64,
}

pub fn issue(keys: &JwtKeys, user: &User, now: OffsetDateTime) -> Result<String, ApiError> {
    let claims = Claims {
        sub: user.id.to_string(),
        iat: now.unix_timestamp(),
        exp: (now + JWT_LIFETIME).unix_timestamp(),
    };
    encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding).map_err(ApiError::internal)
}

/// The user a valid, unexpired JWT names.
pub fn verify(keys: &JwtKeys, token: &str) -> Option<UserId> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 5;
    let data = decode::<Claims>(token, &keys.decoding, &validation).ok()?;
    data.claims.sub.parse().ok()
}

/// An Argon2id PHC string for `password`.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// A hash of nothing anyone knows, verified when the user does not exist so that unknown
/// names take as long as wrong passwords.
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$1nKqyFoa6h7SSEqVNhBZX8lUxSYKJ8JrRfMr2OYPGrs";

fn password_matches(hash: Option<&str>, password: &str) -> bool {
    let known = hash.is_some();
    let parsed = PasswordHash::new(hash.unwrap_or(DECOY_HASH));
    let ok = parsed.is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    });
    ok && known
}

/// Checks a user name and password; returns a fresh JWT.
pub async fn login(state: &AppState, name: String, password: String) -> Result<String, ApiError> {
    let found = state.db(move |s| s.user_with_password(&name)).await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, None),
    };
    let matches =
        actix_web::web::block(move || password_matches(hash.as_deref(), &password)).await?;
    match user {
        Some(user) if matches => issue(&state.jwt, &user, OffsetDateTime::now_utc()),
        _ => Err(ApiError::Unauthorized(
            "invalid user name or password".into(),
        )),
    }
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
        let token = issue(&keys, &u, now).unwrap();
        assert_eq!(verify(&keys, &token), Some(u.id));
        let old = issue(&keys, &u, now - time::Duration::hours(2)).unwrap();
        assert_eq!(verify(&keys, &old), None);
        let other = JwtKeys::from_secret(b"another key another key another!");
        assert_eq!(verify(&other, &token), None);
        assert_eq!(verify(&keys, "not.a.jwt"), None);
    }

    #[test]
    fn passwords_verify() {
        let hash = hash_password("s3cret pass").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(password_matches(Some(&hash), "s3cret pass"));
        assert!(!password_matches(Some(&hash), "wrong"));
        assert!(!password_matches(None, "anything"));
        assert!(!password_matches(Some("garbage"), "anything"));
    }
}
