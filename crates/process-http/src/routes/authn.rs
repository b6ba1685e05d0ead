//! `/api/authn`: DSpace-style password login returning a JWT, the session status, and logout.

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use process_core::Caller;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::hal::BaseUrl;
use crate::limits::ClientAddr;
use crate::resources::pages::{AuthnStatusResource, ErrorResource};
use crate::resources::requests::LoginForm;
use crate::resources::root::AuthnResource;
use crate::service::authn;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_authn)
        .service(login)
        .service(status)
        .service(logout);
}

#[utoipa::path(get, path = "/api/authn", tag = "authn",
    responses((status = 200, description = "Links to login, logout and status", body = AuthnResource)))]
#[get("/api/authn")]
async fn get_authn(base: BaseUrl) -> HttpResponse {
    HttpResponse::Ok().json(AuthnResource::of(&base))
}

/// `user` and `password` as form fields; answers 200 with `Authorization: Bearer <JWT>`.
#[utoipa::path(post, path = "/api/authn/login", tag = "authn",
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Logged in; the JWT is in the Authorization response header",
            headers(("Authorization" = String, description = "Bearer <JWT>, valid for 30 minutes"))),
        (status = 400, description = "Missing user or password", body = ErrorResource),
        (status = 401, description = "Wrong user name or password", body = ErrorResource),
        (status = 429, description = "Too many attempts from this address or for this account; see Retry-After", body = ErrorResource,
            headers(("Retry-After" = u64, description = "Seconds until the next attempt is allowed"))),
        (status = 503, description = "Too many logins being checked at once; see Retry-After", body = ErrorResource),
    ))]
#[post("/api/authn/login")]
async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, ApiError> {
    let LoginForm { user, password } = form.into_inner();
    let jwt = authn::login(&state, ClientAddr::of_request(&req), user, password).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::AUTHORIZATION, format!("Bearer {jwt}")))
        .finish())
}

#[utoipa::path(get, path = "/api/authn/status", tag = "authn",
    responses(
        (status = 200, description = "Who the caller is", body = AuthnStatusResource),
        (status = 401, description = "An invalid or expired token was sent", body = ErrorResource),
    ),
    security((), ("bearer" = [])))]
#[get("/api/authn/status")]
async fn status(Auth(caller): Auth, base: BaseUrl) -> HttpResponse {
    HttpResponse::Ok().json(AuthnStatusResource::of(&base, caller))
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
