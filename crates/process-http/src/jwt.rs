//! Login sessions as short-lived HS256 JWTs, signed with a key the store keeps for every node.
//! Kept apart from the login service so that `AppState`, which holds the keys, depends on
//! nothing that depends on it.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use process_core::{User, UserId};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

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

/// A JWT naming `user`, valid for `JWT_LIFETIME` from `now`.
pub fn issue(
    keys: &JwtKeys,
    user: &User,
    now: OffsetDateTime,
) -> jsonwebtoken::errors::Result<String> {
    let claims = Claims {
        sub: user.id.to_string(),
        iat: now.unix_timestamp(),
        exp: (now + JWT_LIFETIME).unix_timestamp(),
    };
    encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding)
}

/// The user a valid, unexpired JWT names.
pub fn verify(keys: &JwtKeys, token: &str) -> Option<UserId> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 5;
    let data = decode::<Claims>(token, &keys.decoding, &validation).ok()?;
    data.claims.sub.parse().ok()
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
}
