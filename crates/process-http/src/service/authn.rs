//! DSpace-compatible login: passwords hashed and checked with Argon2id; a successful login gets
//! a session JWT from `crate::jwt`, which a refresh renews; short-lived download tokens;
//! the caller's eperson; logout ends the user's sessions.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use process_core::auth::{may_access_owned, missing};
use process_core::{Caller, Denied, User, UserId};
use process_store::Profile;
use time::OffsetDateTime;

use crate::auth::{Authn, Method};
use crate::error::ApiError;
use crate::jwt::{self, Began};
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
        Some((user, version)) if matches => jwt::issue(
            &state.jwt,
            &user,
            version,
            Began::Password,
            OffsetDateTime::now_utc(),
        )
        .map_err(ApiError::internal),
        _ => Err(ApiError::Unauthorized(
            "invalid user name or password".into(),
        )),
    }
}

/// The session version a token issued for `caller` carries: the one of the login JWT it
/// came with, else the user's current one.
async fn session_version(
    state: &AppState,
    user: &User,
    session: Option<i64>,
) -> Result<i64, ApiError> {
    if let Some(version) = session {
        return Ok(version);
    }
    let id = user.id;
    state
        .db(move |s| s.profile(id))
        .await?
        .map(|p| p.session_version)
        .ok_or_else(|| ApiError::Unauthorized("invalid, expired or revoked token".into()))
}

/// A fresh login JWT for the session of `authn` (DSpace's refresh: `POST /api/authn/login`
/// with only the Bearer header), under the same session version, so a logout ends it too.
/// A JWT of the identity provider is exchanged for a login JWT of a session begun with it.
/// An API token is not a session: there is nothing to refresh.
pub async fn refresh(state: &AppState, authn: Authn) -> Result<String, ApiError> {
    let (user, began) = match (authn.caller, authn.method) {
        (Caller::User(user), Method::Password) => (user, Began::Password),
        (Caller::User(user), Method::Oidc) => (user, Began::Oidc),
        (Caller::User(_), _) => {
            return Err(ApiError::BadRequest(
                "an API token is not a login session and cannot be refreshed; send user and password to log in".into(),
            ))
        }
        (Caller::Anonymous, _) => {
            return Err(ApiError::BadRequest(
                "send user and password to log in, or a login JWT as Bearer token to refresh it".into(),
            ))
        }
    };
    let version = session_version(state, &user, authn.session).await?;
    jwt::issue(&state.jwt, &user, version, began, OffsetDateTime::now_utc())
        .map_err(ApiError::internal)
}

/// A short-lived token for downloads, for any authenticated caller; it ends with the
/// caller's session (the current one for API tokens and provider JWTs).
pub async fn short_lived(state: &AppState, authn: Authn) -> Result<String, ApiError> {
    let Caller::User(user) = &authn.caller else {
        return Err(Denied::Unauthenticated.into());
    };
    let version = session_version(state, user, authn.session).await?;
    jwt::issue_short_lived(&state.jwt, user.id, version, OffsetDateTime::now_utc())
        .map_err(ApiError::internal)
}

/// The caller's own profile; `None` for anonymous callers.
pub async fn own_profile(state: &AppState, caller: &Caller) -> Result<Option<Profile>, ApiError> {
    let Caller::User(user) = caller else {
        return Ok(None);
    };
    let id = user.id;
    state.db(move |s| s.profile(id)).await
}

/// The eperson `id`, for itself or an admin; to anyone else exactly like a missing one.
pub async fn eperson(state: &AppState, caller: &Caller, id: UserId) -> Result<Profile, ApiError> {
    may_access_owned(caller, id)?;
    state
        .db(move |s| s.profile(id))
        .await?
        .ok_or_else(|| missing(caller).into())
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
