//! `/api/authn`: DSpace-style password login returning a JWT, and the session status.

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use process_core::Caller;
use serde::Deserialize;
use serde_json::json;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::service::authn;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(login).service(status).service(logout);
}

#[derive(Deserialize)]
struct LoginForm {
    user: String,
    password: String,
}

/// `user` and `password` as form fields; answers 200 with `Authorization: Bearer <JWT>`.
#[post("/api/authn/login")]
async fn login(
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, ApiError> {
    let LoginForm { user, password } = form.into_inner();
    let jwt = authn::login(&state, user, password).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::AUTHORIZATION, format!("Bearer {jwt}")))
        .insert_header((header::ACCESS_CONTROL_EXPOSE_HEADERS, "Authorization"))
        .finish())
}

#[get("/api/authn/status")]
async fn status(Auth(caller): Auth) -> HttpResponse {
    let body = match caller {
        Caller::Anonymous => json!({
            "okay": true,
            "authenticated": false,
            "type": "status",
            "_links": {"self": {"href": "/api/authn/status"}},
        }),
        Caller::User(u) => json!({
            "okay": true,
            "authenticated": true,
            "type": "status",
            "_embedded": {"eperson": {
                "id": u.id.to_string(),
                "uuid": u.id.to_string(),
                "name": u.name,
                "admin": u.admin,
                "groups": u.groups,
                "type": "eperson",
            }},
            "_links": {"self": {"href": "/api/authn/status"}},
        }),
    };
    HttpResponse::Ok().json(body)
}

/// JWTs are stateless and expire on their own; logout exists for clients that call it.
#[post("/api/authn/logout")]
async fn logout() -> HttpResponse {
    HttpResponse::NoContent().finish()
}
