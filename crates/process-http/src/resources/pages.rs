//! Typed HAL pages and the small resources, so the OpenAPI document is generated from the
//! very types the handlers serialize.

use process_core::{Page, Process, ProcessFile, Script, UploadDefinition};
use serde::Serialize;

use crate::hal::{access_query, BaseUrl, Link, PageInfo, PageLinks};
use crate::resources::process::expiry;
use crate::resources::upload::{UploadDefinitionResource, UPLOADS_PATH};
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

impl ProcessPage {
    /// A page of a listing at `path`; `pairs` is the query string it was asked with, kept in
    /// the page links (without `page` and `size`, which each link sets).
    pub fn of(
        base: &BaseUrl,
        page: &Page<Process>,
        retention_days: Option<u32>,
        path: &str,
        pairs: &[(String, String)],
    ) -> Self {
        let rest: Vec<&(String, String)> = pairs
            .iter()
            .filter(|(k, _)| k != "page" && k != "size")
            .collect();
        let query = serde_urlencoded::to_string(&rest).unwrap_or_default();
        Self::new(
            page.items
                .iter()
                .map(|p| ProcessResource::from_process(base, p, retention_days, None))
                .collect(),
            PageInfo::of(page),
            PageLinks::of(base, page, path, &query),
        )
    }
}

impl ScriptPage {
    pub fn of(base: &BaseUrl, page: &Page<&Script>) -> Self {
        Self::new(
            page.items
                .iter()
                .map(|s| ScriptResource::from_script(base, s))
                .collect(),
            PageInfo::of(page),
            PageLinks::of(base, page, "/api/system/scripts", ""),
        )
    }
}

impl BitstreamPage {
    /// A page of the files of `process`, of `filetype` when given; every link carries
    /// `access`, the process's capability, when the caller opened it with one.
    pub fn of(
        base: &BaseUrl,
        process: &Process,
        filetype: Option<&str>,
        page: &Page<ProcessFile>,
        retention_days: Option<u32>,
        access: Option<&str>,
    ) -> Self {
        let path = match filetype {
            Some(t) => format!("{}/files/{t}", ProcessResource::path(process)),
            None => format!("{}/files", ProcessResource::path(process)),
        };
        let expiry = expiry(process, retention_days);
        Self::new(
            page.items
                .iter()
                .map(|f| BitstreamResource::from_file(base, f, expiry, access))
                .collect(),
            PageInfo::of(page),
            PageLinks::of(base, page, &path, &access_query(access)),
        )
    }
}

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

impl FiletypesResource {
    pub fn of(
        base: &BaseUrl,
        process: &Process,
        values: Vec<String>,
        access: Option<&str>,
    ) -> Self {
        let this = format!("{}/filetypes", ProcessResource::path(process));
        Self {
            id: "filetypes",
            values,
            kind: "filetypes",
            links: SelfLink {
                this: base.link_with(&this, access),
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
    pub upload_definitions: Vec<UploadDefinitionResource>,
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

impl UploadDefinitionPage {
    pub fn of(base: &BaseUrl, page: &Page<UploadDefinition>) -> Self {
        Self {
            embedded: UploadDefinitionList {
                upload_definitions: page
                    .items
                    .iter()
                    .map(|d| UploadDefinitionResource::from_definition(base, d))
                    .collect(),
            },
            page: PageInfo::of(page),
            links: PageLinks::of(base, page, UPLOADS_PATH, ""),
        }
    }
}
