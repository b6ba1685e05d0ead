//! The HAL root (`GET /api`) in the shape DSpace's has, and the `authn` resource it links to.

use serde::Serialize;

use crate::hal::{BaseUrl, Link};

/// What the root says of this service (from the configuration).
pub struct Site<'a> {
    pub name: &'a str,
    pub ui_url: Option<&'a str>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RootLinks {
    #[serde(rename = "self")]
    pub this: Link,
    pub authn: Link,
    pub bitstreams: Link,
    pub scripts: Link,
    pub processes: Link,
    #[serde(rename = "uploadDefinitions")]
    pub upload_definitions: Link,
    pub openapi: Link,
    pub login: Link,
    pub status: Link,
}

/// `GET /api`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RootResource {
    /// The web UI's URL (`ui_url`); null when none is configured.
    #[serde(rename = "dspaceUI")]
    pub dspace_ui: Option<String>,
    /// `name` from the configuration.
    pub dspace_name: String,
    /// Where this service is reached: the base of every link (without `/api`).
    pub dspace_server: String,
    #[schema(example = "processd 0.1.0 (DSpace 7 REST compatible)")]
    pub dspace_version: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(rename = "_links")]
    pub links: RootLinks,
}

impl RootResource {
    pub fn of(base: &BaseUrl, site: &Site<'_>) -> Self {
        Self {
            dspace_ui: site.ui_url.map(str::to_owned),
            dspace_name: site.name.to_owned(),
            dspace_server: base.as_str().to_owned(),
            dspace_version: format!(
                "processd {} (DSpace 7 REST compatible)",
                env!("CARGO_PKG_VERSION")
            ),
            kind: "root",
            links: RootLinks {
                this: base.link("/api"),
                authn: base.link("/api/authn"),
                // DSpace clients append `/{uuid}` to this one.
                bitstreams: base.link("/api/core/bitstreams"),
                scripts: base.link("/api/system/scripts"),
                processes: base.link("/api/system/processes"),
                upload_definitions: base.link("/api/system/uploadDefinitions"),
                openapi: base.link("/api/openapi.json"),
                login: base.link("/api/authn/login"),
                status: base.link("/api/authn/status"),
            },
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuthnLinks {
    #[serde(rename = "self")]
    pub this: Link,
    pub login: Link,
    pub logout: Link,
    pub status: Link,
    pub shortlivedtokens: Link,
}

/// `GET /api/authn`: where DSpace clients find the login endpoints.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuthnResource {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(rename = "_links")]
    pub links: AuthnLinks,
}

impl AuthnResource {
    pub fn of(base: &BaseUrl) -> Self {
        Self {
            kind: "authn",
            links: AuthnLinks {
                this: base.link("/api/authn"),
                login: base.link("/api/authn/login"),
                logout: base.link("/api/authn/logout"),
                status: base.link("/api/authn/status"),
                shortlivedtokens: base.link("/api/authn/shortlivedtokens"),
            },
        }
    }
}
