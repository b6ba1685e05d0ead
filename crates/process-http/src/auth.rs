//! Authentication: `Authorization: Bearer <token>` names a user, by an API token (`pd_…`,
//! from `processd user add`) or by a JWT from `POST /api/authn/login`; no header is
//! anonymous; a header that is malformed or names no user is a 401 (never silently anonymous),
//! and so is an expired or revoked token and a JWT of a session that was ended.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use process_core::Caller;
use process_store::TOKEN_PREFIX;
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::jwt;
use crate::state::AppState;

/// The authenticated caller of a request.
pub struct Auth(pub Caller);

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let header = req.headers().get(header::AUTHORIZATION).cloned();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let Some(value) = header else {
                return Ok(Auth(Caller::Anonymous));
            };
            // The scheme is case-insensitive (RFC 9110 §11.1): `bearer` and `BEARER` too.
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.trim_start().split_once([' ', '\t']))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token.trim())
                .filter(|t| !t.is_empty() && t.len() <= 512)
                .map(str::to_owned)
                .ok_or_else(|| {
                    ApiError::Unauthorized(
                        "the Authorization header must be 'Bearer <token>'".into(),
                    )
                })?;
            let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no app state")))?;
            // API tokens carry a prefix; anything else may be a login JWT, which holds only
            // while its session version is the user's current one.
            let user = if token.starts_with(TOKEN_PREFIX) {
                let now = OffsetDateTime::now_utc();
                state.db(move |s| s.user_by_token(&token, now)).await?
            } else if let Some(session) = jwt::verify(&state.jwt, &token) {
                state
                    .db(move |s| s.session_user(session.user, session.version))
                    .await?
            } else {
                None
            };
            user.map(|u| Auth(Caller::User(u)))
                .ok_or_else(|| ApiError::Unauthorized("invalid, expired or revoked token".into()))
        })
    }
}
