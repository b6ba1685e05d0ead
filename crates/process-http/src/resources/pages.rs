//! Typed HAL pages and the small resources, so the OpenAPI document is generated from the
//! very types the handlers serialize.

use serde::Serialize;

use crate::hal::{Link, PageInfo, PageLinks};
use crate::resources::{BitstreamResource, ProcessResource, ScriptResource};

macro_rules! hal_page {
    ($page:ident, $list:ident, $field:ident, $item:ty) => {
        #[derive(Debug, Serialize, utoipa::ToSchema)]
        pub struct $list {
            pub $field: Vec<$item>,
        }

        #[derive(Debug, Serialize, utoipa::ToSchema)]
        pub struct $page {
            #[serde(rename = "_embedded")]
            pub embedded: $list,
            pub page: PageInfo,
            #[serde(rename = "_links")]
            pub links: PageLinks,
        }

        impl $page {
            pub fn new(items: Vec<$item>, page: PageInfo, links: PageLinks) -> Self {
                Self {
                    embedded: $list { $field: items },
                    page,
                    links,
                }
            }
        }
    };
}

hal_page!(ProcessPage, ProcessList, processes, ProcessResource);
hal_page!(ScriptPage, ScriptList, scripts, ScriptResource);
hal_page!(BitstreamPage, BitstreamList, bitstreams, BitstreamResource);

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SelfLink {
    #[serde(rename = "self")]
    pub this: Link,
}

/// `GET /api/system/processes/{id}/filetypes`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FiletypesResource {
    pub id: &'static str,
    pub values: Vec<String>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(rename = "_links")]
    pub links: SelfLink,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RootLinks {
    #[serde(rename = "self")]
    pub this: Link,
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
pub struct RootResource {
    #[serde(rename = "_links")]
    pub links: RootLinks,
}

impl Default for RootResource {
    fn default() -> Self {
        Self {
            links: RootLinks {
                this: Link::new("/api"),
                scripts: Link::new("/api/system/scripts"),
                processes: Link::new("/api/system/processes"),
                upload_definitions: Link::new("/api/system/uploadDefinitions"),
                openapi: Link::new("/api/openapi.json"),
                login: Link::new("/api/authn/login"),
                status: Link::new("/api/authn/status"),
            },
        }
    }
}

/// `GET /healthz`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HealthResource {
    pub status: &'static str,
    pub database: &'static str,
    pub running: usize,
}

/// The user behind a session, as `GET /api/authn/status` embeds it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EpersonResource {
    pub id: String,
    pub uuid: String,
    pub name: String,
    pub admin: bool,
    pub groups: Vec<String>,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EmbeddedEperson {
    pub eperson: EpersonResource,
}

/// `GET /api/authn/status`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuthnStatusResource {
    pub okay: bool,
    pub authenticated: bool,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(rename = "_embedded", skip_serializing_if = "Option::is_none")]
    pub embedded: Option<EmbeddedEperson>,
    #[serde(rename = "_links")]
    pub links: SelfLink,
}

/// Every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorResource {
    /// The HTTP status.
    pub status: u16,
    /// The status's reason phrase (`Not Found`).
    pub error: String,
    /// What went wrong, for people; wording may change.
    pub message: String,
    /// The request path.
    pub path: String,
    /// What went wrong, for programs: a stable snake_case code such as `not_found`,
    /// `no_route`, `validation_failed`, `file_not_sent`, `process_running`,
    /// `dependency_waiting`, `unauthorized`, `forbidden`, `payload_too_large`,
    /// `unavailable`, `insufficient_storage` or `internal` (docs/API.md lists them all).
    #[schema(example = "not_found")]
    pub code: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UploadDefinitionList {
    #[serde(rename = "uploadDefinitions")]
    pub upload_definitions: Vec<crate::resources::upload::UploadDefinitionResource>,
}

/// A page of upload sessions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UploadDefinitionPage {
    #[serde(rename = "_embedded")]
    pub embedded: UploadDefinitionList,
    pub page: PageInfo,
    #[serde(rename = "_links")]
    pub links: PageLinks,
}
