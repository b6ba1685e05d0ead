//! Authentication: `Authorization: Bearer <token>` names a user, by an API token (`pd_…`,
//! from `processd user add`) or by a JWT from `POST /api/authn/login`; no header is
//! anonymous; a header that is malformed or names no user is a 401 (never silently anonymous).

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use process_core::Caller;

use crate::error::ApiError;
use crate::jwt;
use crate::state::AppState;
use process_store::TOKEN_PREFIX;

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
            // API tokens carry a prefix; anything else may be a login JWT.
            let user = if token.starts_with(TOKEN_PREFIX) {
                state.db(move |s| s.user_by_token(&token)).await?
            } else if let Some(id) = jwt::verify(&state.jwt, &token) {
                state.db(move |s| s.get_user(id)).await?
            } else {
                None
            };
            user.map(|u| Auth(Caller::User(u)))
                .ok_or_else(|| ApiError::Unauthorized("invalid or revoked token".into()))
        })
    }
}
