//! DSpace-compatible login: passwords hashed and checked with Argon2id; a successful login gets
//! a session JWT from `crate::jwt`; logout ends the user's sessions.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use process_core::Caller;
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::jwt;
use crate::limits::ClientAddr;
use crate::state::AppState;

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

/// Checks a user name and password from a client at `addr`; returns a fresh JWT. Attempts
/// are rate-limited per address and per account before anything is looked up, and the hash
/// waits for one of a few slots.
pub async fn login(
    state: &AppState,
    addr: ClientAddr,
    name: String,
    password: String,
) -> Result<String, ApiError> {
    state.login_limits.attempt(addr, &name)?;
    let found = state.db(move |s| s.user_with_password(&name)).await?;
    let (user, hash) = match found {
        Some(login) => (
            Some((login.user, login.session_version)),
            login.password_hash,
        ),
        None => (None, None),
    };
    let permit = state.login_limits.hash_permit().await?;
    // The permit moves with the hash: it is released when the hash ends, even if the
    // client went away meanwhile.
    let matches = actix_web::web::block(move || {
        let matches = password_matches(hash.as_deref(), &password);
        drop(permit);
        matches
    })
    .await?;
    match user {
        // The version read with the hash: if the password changed meanwhile, the JWT is
        // born ended.
        Some((user, version)) if matches => {
            jwt::issue(&state.jwt, &user, version, OffsetDateTime::now_utc())
                .map_err(ApiError::internal)
        }
        _ => Err(ApiError::Unauthorized(
            "invalid user name or password".into(),
        )),
    }
}

/// Ends every login session of `caller` (each JWT issued to them so far), not just the one
/// it was called with: a JWT cannot be recalled one by one, and a user who logs out on one
/// device expects a stolen session to end too. API tokens are not sessions and stay valid.
/// An anonymous caller has nothing to end.
pub async fn logout(state: &AppState, caller: Caller) -> Result<(), ApiError> {
    if let Caller::User(user) = caller {
        state.db(move |s| s.end_sessions(user.id)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
