//! `/api/authn`: DSpace-style password login returning a JWT (and its refresh), the session
//! status, short-lived download tokens, and logout.

use actix_web::http::header;
use actix_web::{get, post, web, FromRequest, HttpRequest, HttpResponse};
use process_core::Caller;

use crate::auth::{Auth, Authn};
use crate::error::ApiError;
use crate::hal::BaseUrl;
use crate::limits::ClientAddr;
use crate::resources::authn::{AuthnStatusResource, ShortLivedTokenResource};
use crate::resources::pages::ErrorResource;
use crate::resources::requests::LoginForm;
use crate::resources::root::AuthnResource;
use crate::service::authn;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_authn)
        .service(login)
        .service(status)
        .service(logout)
        .service(short_lived_token);
}

#[utoipa::path(get, path = "/api/authn", tag = "authn",
    responses((status = 200, description = "Links to login, logout and status", body = AuthnResource)))]
#[get("/api/authn")]
async fn get_authn(base: BaseUrl) -> HttpResponse {
    HttpResponse::Ok().json(AuthnResource::of(&base))
}

/// `user` and `password` as form fields; answers 200 with `Authorization: Bearer <JWT>`.
/// Without them, a request with `Authorization: Bearer <login JWT>` is a refresh (as the
/// DSpace UI does it): a fresh JWT of the same session. A JWT of the configured identity
/// provider is exchanged for a login JWT the same way.
#[utoipa::path(post, path = "/api/authn/login", tag = "authn",
    request_body(content = Option<LoginForm>, content_type = "application/x-www-form-urlencoded",
        description = "user and password; empty to refresh the Bearer login JWT"),
    responses(
        (status = 200, description = "Logged in or refreshed; the JWT is in the Authorization response header",
            headers(("Authorization" = String, description = "Bearer <JWT>, valid for 30 minutes"))),
        (status = 400, description = "Missing user or password and no login JWT to refresh (an API token cannot be refreshed)", body = ErrorResource),
        (status = 401, description = "Wrong user name or password, or an invalid or ended JWT to refresh", body = ErrorResource),
        (status = 429, description = "Too many attempts from this address or for this account; see Retry-After", body = ErrorResource,
            headers(("Retry-After" = u64, description = "Seconds until the next attempt is allowed"))),
        (status = 503, description = "Too many logins being checked at once; see Retry-After", body = ErrorResource),
    ),
    security((), ("bearer" = [])))]
#[post("/api/authn/login")]
async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Result<web::Form<LoginForm>, actix_web::Error>,
) -> Result<HttpResponse, ApiError> {
    let jwt = match form {
        Ok(form) => {
            let LoginForm { user, password } = form.into_inner();
            authn::login(&state, ClientAddr::of_request(&req), user, password).await?
        }
        Err(_) if req.headers().contains_key(header::AUTHORIZATION) => {
            let authn = Authn::extract(&req).await?;
            authn::refresh(&state, authn).await?
        }
        Err(e) => return Err(ApiError::BadRequest(e.to_string())),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::AUTHORIZATION, format!("Bearer {jwt}")))
        .finish())
}

#[utoipa::path(get, path = "/api/authn/status", tag = "authn",
    responses(
        (status = 200, description = "Who the caller is and how they authenticated", body = AuthnStatusResource),
        (status = 401, description = "An invalid or expired token was sent", body = ErrorResource),
    ),
    security((), ("bearer" = [])))]
#[get("/api/authn/status")]
async fn status(
    state: web::Data<AppState>,
    authn: Authn,
    base: BaseUrl,
) -> Result<HttpResponse, ApiError> {
    let profile = authn::own_profile(&state, &authn.caller).await?;
    let who = profile.zip(authn.method.as_str());
    Ok(HttpResponse::Ok().json(AuthnStatusResource::of(&base, who)))
}

/// A token valid two minutes, only as `?authentication-token=` of a file download
/// (`/api/core/bitstreams/{uuid}/content`, `/api/system/processes/{id}/archive`), so a
/// browser can fetch a file through a plain link. It ends with the caller's session.
#[utoipa::path(post, path = "/api/authn/shortlivedtokens", tag = "authn",
    responses(
        (status = 200, description = "A short-lived download token", body = ShortLivedTokenResource),
        (status = 401, description = "No valid token was sent", body = ErrorResource),
    ),
    security(("bearer" = [])))]
#[post("/api/authn/shortlivedtokens")]
async fn short_lived_token(
    state: web::Data<AppState>,
    authn: Authn,
    base: BaseUrl,
) -> Result<HttpResponse, ApiError> {
    let token = authn::short_lived(&state, authn).await?;
    Ok(HttpResponse::Ok().json(ShortLivedTokenResource::new(&base, token)))
}

/// Ends every login session of the caller. A token that no longer authenticates (a JWT of
/// a session already ended, say) has nothing left to end: 204, as DSpace answers.
#[utoipa::path(post, path = "/api/authn/logout", tag = "authn",
    responses((status = 204, description = "Every JWT issued to the caller so far stops working; API tokens stay valid")),
    security((), ("bearer" = [])))]
#[post("/api/authn/logout")]
async fn logout(
    state: web::Data<AppState>,
    auth: Result<Auth, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let caller = match auth {
        Ok(Auth(caller)) => caller,
        Err(ApiError::Unauthorized(_)) => Caller::Anonymous,
        Err(other) => return Err(other),
    };
    authn::logout(&state, caller).await?;
    Ok(HttpResponse::NoContent().finish())
}
