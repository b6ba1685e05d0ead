//! Authentication: `Authorization: Bearer <token>` names a user, by an API token (`pd_…`,
//! from `processd user add`), by a JWT from `POST /api/authn/login`, or by a JWT of the
//! configured OpenID Connect provider (`crate::oidc`); no header is anonymous; downloads
//! also take a short-lived token in `?authentication-token=` (`DownloadAuth`); a header that is malformed or names no user is a 401 (never silently anonymous),
//! and so is an expired or revoked token and a JWT of a session that was ended.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use process_core::Caller;
use process_store::{ExternalUser, TOKEN_PREFIX};
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::jwt::{self, Began};
use crate::oidc::{OidcError, Provider};
use crate::state::AppState;

/// The query parameter that carries a short-lived token on downloads.
pub const SHORT_LIVED_QUERY: &str = "authentication-token";
/// Longest bearer token read (a provider's access tokens carry claims and run to a few KiB).
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// How the caller of a request proved who they are (`authenticationMethod` of the status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Anonymous,
    /// A login JWT of a session begun with a password.
    Password,
    /// An API token (`pd_…`).
    Token,
    /// The identity provider's JWT, or a login JWT of a session begun with one.
    Oidc,
}

impl Method {
    /// The name `GET /api/authn/status` gives it; `None` for anonymous callers.
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            Method::Anonymous => None,
            Method::Password => Some("password"),
            Method::Token => Some("token"),
            Method::Oidc => Some("oidc"),
        }
    }
}

/// The authenticated caller of a request.
pub struct Auth(pub Caller);

/// The caller and how they authenticated.
pub struct Authn {
    pub caller: Caller,
    pub method: Method,
    /// The session version a login JWT carried (what a refresh or a short-lived token
    /// keeps, so a logout racing them still ends them); `None` for other callers.
    pub session: Option<i64>,
}

/// The caller of a request for a file's content: like `Auth`, and also a short-lived token,
/// in the `Authorization` header (with or without `Bearer`) or, when the request has no such
/// header, in its `authentication-token` query parameter (what a browser can put in a link). Every handler that serves bitstream content
/// takes this extractor; no other accepts a short-lived token, and it accepts nothing else in
/// the query.
pub struct DownloadAuth(pub Caller);

fn bearer(value: &header::HeaderValue) -> Result<String, ApiError> {
    // The scheme is case-insensitive (RFC 9110 §11.1): `bearer` and `BEARER` too.
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim_start().split_once([' ', '\t']))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN_BYTES)
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be 'Bearer <token>'".into())
        })
}

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no app state")))
}

fn refused() -> ApiError {
    ApiError::Unauthorized("invalid, expired or revoked token".into())
}

/// Who the `Authorization` header names (anonymous without one).
async fn authenticate(
    header: Option<header::HeaderValue>,
    state: Result<web::Data<AppState>, ApiError>,
) -> Result<Authn, ApiError> {
    let Some(value) = header else {
        return Ok(Authn {
            caller: Caller::Anonymous,
            method: Method::Anonymous,
            session: None,
        });
    };
    let token = bearer(&value)?;
    let state = state?;
    // API tokens carry a prefix; a JWT signed with a public key may be the identity
    // provider's; anything else may be a login JWT, which holds only while its session
    // version is the user's current one.
    let (user, method, session) = if token.starts_with(TOKEN_PREFIX) {
        let now = OffsetDateTime::now_utc();
        let user = state.db(move |s| s.user_by_token(&token, now)).await?;
        (user, Method::Token, None)
    } else if let (Some(provider), true) = (&state.oidc, Provider::claims_token(&token)) {
        let user = provider_user(&state, provider, &token).await?;
        (Some(user), Method::Oidc, None)
    } else if let Some(session) = jwt::verify(&state.jwt, &token) {
        let user = state
            .db(move |s| s.session_user(session.user, session.version))
            .await?;
        let method = match session.began {
            Began::Password => Method::Password,
            Began::Oidc => Method::Oidc,
        };
        (user, method, Some(session.version))
    } else {
        (None, Method::Anonymous, None)
    };
    let user = user.ok_or_else(refused)?;
    Ok(Authn {
        caller: Caller::User(user),
        method,
        session,
    })
}

/// The user an identity provider's token names: created on first sight, their groups and
/// admin right as the token says.
async fn provider_user(
    state: &AppState,
    provider: &Provider,
    token: &str,
) -> Result<process_core::User, ApiError> {
    let identity = provider.verify(token).await.map_err(|e| match e {
        OidcError::Invalid(why) => {
            tracing::debug!(%why, "identity provider token refused");
            refused()
        }
        OidcError::Keys(why) => ApiError::Unavailable(why),
    })?;
    let external = ExternalUser {
        name: identity.name,
        admin: identity.admin,
        groups: identity.groups,
        email: identity.email,
        first_name: identity.first_name,
        last_name: identity.last_name,
    };
    let now = OffsetDateTime::now_utc();
    state
        .db(move |s| s.sync_external_user(&external, now))
        .await?
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "the identity provider names a user who logs in here with a password".into(),
            )
        })
}

/// A header's token: its value without a leading `Bearer ` (any case).
fn without_bearer(value: &str) -> String {
    let value = value.trim();
    match value.split_once([' ', '\t']) {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim().to_owned(),
        _ => value.to_owned(),
    }
}

/// The short-lived token of a download request, if it has one.
fn short_lived_of(req: &HttpRequest) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .ok()?
        .into_iter()
        .find(|(k, _)| k == SHORT_LIVED_QUERY)
        .map(|(_, v)| v)
}

impl FromRequest for Authn {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let header = req.headers().get(header::AUTHORIZATION).cloned();
        let state = state_of(req);
        Box::pin(authenticate(header, state))
    }
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let header = req.headers().get(header::AUTHORIZATION).cloned();
        let state = state_of(req);
        Box::pin(async move { Ok(Auth(authenticate(header, state).await?.caller)) })
    }
}

impl FromRequest for DownloadAuth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let header = req.headers().get(header::AUTHORIZATION).cloned();
        let state = state_of(req);
        let short_lived = short_lived_of(req);
        Box::pin(async move {
            let state = state?;
            let from_query = header.is_none() && short_lived.is_some();
            // Where a short-lived token may be: the query of a browser's link, or the whole
            // `Authorization` header, with or without `Bearer`, as DSpace's Python client
            // sends it.
            let candidate = match &header {
                Some(value) => value.to_str().ok().map(without_bearer),
                None => short_lived,
            };
            let expired = || ApiError::Unauthorized("invalid or expired short-lived token".into());
            match candidate
                .as_deref()
                .and_then(|token| jwt::verify_short_lived(&state.jwt, token))
            {
                Some((id, version)) => {
                    let user = state.db(move |s| s.session_user(id, version)).await?;
                    user.map(|u| DownloadAuth(Caller::User(u)))
                        .ok_or_else(expired)
                }
                // A query token is only ever a short-lived one: never anonymous instead.
                None if from_query => Err(expired()),
                None => Ok(DownloadAuth(authenticate(header, Ok(state)).await?.caller)),
            }
        })
    }
}
