//! The resources of `/api/authn`: the authentication status and short-lived tokens.

use process_store::Profile;
use serde::Serialize;

use crate::hal::{BaseUrl, Link};
use crate::resources::eperson::EpersonResource;
use crate::resources::pages::SelfLink;

pub const STATUS_PATH: &str = "/api/authn/status";
pub const SHORT_LIVED_PATH: &str = "/api/authn/shortlivedtokens";

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EmbeddedEperson {
    pub eperson: EpersonResource,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatusLinks {
    #[serde(rename = "self")]
    pub this: Link,
    /// The caller's eperson; absent for anonymous callers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eperson: Option<Link>,
}

/// `GET /api/authn/status`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthnStatusResource {
    pub okay: bool,
    pub authenticated: bool,
    /// How the caller authenticated: `password` (a login JWT), `token` (an API token) or
    /// `oidc` (the identity provider's JWT, or a session begun with one); absent for
    /// anonymous callers.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "password")]
    pub authentication_method: Option<&'static str>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(rename = "_embedded", skip_serializing_if = "Option::is_none")]
    pub embedded: Option<EmbeddedEperson>,
    #[serde(rename = "_links")]
    pub links: StatusLinks,
}

impl AuthnStatusResource {
    /// Anonymous (`None`), or the user with their profile, authenticated by `method`.
    pub fn of(base: &BaseUrl, who: Option<(Profile, &'static str)>) -> Self {
        let (eperson, method) = match who {
            Some((profile, method)) => (Some(EpersonResource::of(base, profile)), Some(method)),
            None => (None, None),
        };
        Self {
            okay: true,
            authenticated: eperson.is_some(),
            authentication_method: method,
            kind: "status",
            links: StatusLinks {
                this: base.link(STATUS_PATH),
                eperson: eperson.as_ref().map(|e| e.links.this.clone()),
            },
            embedded: eperson.map(|eperson| EmbeddedEperson { eperson }),
        }
    }
}

/// `POST /api/authn/shortlivedtokens`: a token for downloads, as DSpace answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShortLivedTokenResource {
    /// Valid two minutes, only as `?authentication-token=` of a file download.
    pub token: String,
    #[serde(rename = "type")]
    #[schema(example = "shortlivedtoken")]
    pub kind: &'static str,
    #[serde(rename = "_links")]
    pub links: SelfLink,
}

impl ShortLivedTokenResource {
    pub fn new(base: &BaseUrl, token: String) -> Self {
        Self {
            token,
            kind: "shortlivedtoken",
            links: SelfLink {
                this: base.link(SHORT_LIVED_PATH),
            },
        }
    }
}
