//! `/api/eperson/epersons/{uuid}`: a user as a DSpace eperson, for itself and admins.

use actix_web::{get, web, HttpResponse};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::EpersonPath;
use crate::hal::BaseUrl;
use crate::resources::eperson::EpersonResource;
use crate::resources::pages::ErrorResource;
use crate::service::authn;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_eperson);
}

/// Another user's eperson answers like a missing one (404; 401 without a login).
#[utoipa::path(get, path = "/api/eperson/epersons/{uuid}", tag = "authn",
    params(("uuid" = String, Path, description = "The user's UUID")),
    responses(
        (status = 200, description = "The user", body = EpersonResource),
        (status = 401, description = "No valid token was sent", body = ErrorResource),
        (status = 404, description = "No such user, or not the caller and the caller is no admin", body = ErrorResource),
    ),
    security((), ("bearer" = [])))]
#[get("/api/eperson/epersons/{uuid}")]
async fn get_eperson(
    state: web::Data<AppState>,
    Auth(caller): Auth,
    id: EpersonPath,
    base: BaseUrl,
) -> Result<HttpResponse, ApiError> {
    let profile = authn::eperson(&state, &caller, id.id(&caller)?).await?;
    Ok(HttpResponse::Ok().json(EpersonResource::of(&base, profile)))
}
