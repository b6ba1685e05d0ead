//! What clients send: the query strings, forms and JSON bodies the handlers read, beside the
//! resources they get back. Some exist only to document a request the handler reads as a
//! stream (`LaunchForm`) or as raw pairs (`ListParams`).

use actix_web::web;
use process_core::OutputRange;
use process_core::{NewUploadFile, PageRequest, ParseError};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::ApiError;

/// `page` and `size` query parameters, checked by `PageRequest::new`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Zero-based page number.
    pub page: Option<String>,
    /// Page size: 0 or none is 20, more than 100 is 100 (the `page` object says which).
    pub size: Option<String>,
}

impl Paging {
    pub fn request(&self) -> Result<PageRequest, ParseError> {
        PageRequest::new(self.page.as_deref(), self.size.as_deref())
    }
}

/// The short-lived token a download may carry instead of an `Authorization` header
/// (documentation; `auth::DownloadAuth` reads it).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "only documents the query string; read by DownloadAuth"
)]
pub struct ShortLivedTokenParam {
    /// A token from `POST /api/authn/shortlivedtokens` (valid two minutes, only for
    /// downloads); ignored when an `Authorization` header is sent.
    #[param(rename = "authentication-token")]
    authentication_token: Option<String>,
}

/// The query string of a process listing as sent: `parameter.<name>` filters have open names,
/// so the listing reads the pairs rather than a struct.
pub type ListQuery = web::Query<Vec<(String, String)>>;

/// The query parameters of the listings (documentation; the handler reads `ListQuery`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "only documents the query string; read as ListQuery"
)]
pub struct ListParams {
    /// Zero-based page number.
    page: Option<u32>,
    /// Page size: 0 or none is 20, more than 100 is 100 (the `page` object says which).
    size: Option<u32>,
    /// creationTime|startTime|endTime|scriptName, then ,asc or ,desc (default creationTime,desc).
    sort: Option<String>,
    /// Only this script.
    #[param(rename = "scriptName")]
    script_name: Option<String>,
    /// Only this user's processes.
    #[param(rename = "userId")]
    user_id: Option<String>,
    /// SCHEDULED, RUNNING, COMPLETED or FAILED.
    #[param(rename = "processStatus")]
    process_status: Option<String>,
    /// `parameter.<name>=<value>`: only processes run with this parameter value.
    #[param(rename = "parameter.<name>")]
    parameter: Option<String>,
}

/// `fromTime` and `toTime` of `GET .../output`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputQuery {
    pub from_time: Option<String>,
    pub to_time: Option<String>,
}

impl OutputQuery {
    /// The lines asked for, from the start of the log.
    pub fn range(&self) -> Result<OutputRange, ApiError> {
        Ok(OutputRange {
            after_seq: 0,
            from_time: parse_time("fromTime", self.from_time.as_deref())?,
            to_time: parse_time("toTime", self.to_time.as_deref())?,
        })
    }
}

/// Lines of `/output/lines` per page: by default, and at most.
const LINES_DEFAULT: u32 = 100;
const LINES_MAX: u32 = 1_000;

/// The query of `GET .../output/lines`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct OutputLinesQuery {
    /// Only lines after this `seq` (default 0: from the first); a page's `last` is the next
    /// page's `after`.
    #[param(minimum = 0)]
    pub after: Option<u64>,
    /// Lines per page: 1 to 1000 (default 100; 0 means the default, more means 1000).
    #[param(minimum = 0)]
    pub size: Option<u32>,
    /// RFC 3339: only lines read at or after this time.
    #[param(format = DateTime)]
    pub from_time: Option<String>,
    /// RFC 3339: only lines read at or before this time.
    #[param(format = DateTime)]
    pub to_time: Option<String>,
}

impl OutputLinesQuery {
    /// The lines asked for and the page size.
    pub fn range(&self) -> Result<(OutputRange, u32), ApiError> {
        let after = i64::try_from(self.after.unwrap_or(0)).unwrap_or(i64::MAX);
        let size = match self.size.unwrap_or(0) {
            0 => LINES_DEFAULT,
            n => n.min(LINES_MAX),
        };
        let range = OutputRange {
            after_seq: after,
            from_time: parse_time("fromTime", self.from_time.as_deref())?,
            to_time: parse_time("toTime", self.to_time.as_deref())?,
        };
        Ok((range, size))
    }
}

fn parse_time(name: &str, value: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    value
        .map(|v| {
            OffsetDateTime::parse(v, &Rfc3339).map_err(|_| {
                ApiError::BadRequest(format!("{name} must be an RFC 3339 time, got {v:?}"))
            })
        })
        .transpose()
}

/// The `{filetype}` of `GET .../files/{filetype}` (the `{id}` is a `ProcessPath`).
#[derive(Debug, Deserialize)]
pub struct FiletypePath {
    pub filetype: String,
}

/// The multipart form of a launch (documentation only; the handler streams the parts).
#[derive(utoipa::ToSchema)]
#[expect(
    dead_code,
    reason = "only documents the form; the launch streams the parts"
)]
pub struct LaunchForm {
    /// JSON array of `{"name": "-f", "value": "data.csv"}`.
    properties: Option<String>,
    /// Uploaded files; a file parameter's value names one of them.
    #[schema(value_type = Option<Vec<String>>, format = Binary)]
    file: Option<Vec<Vec<u8>>>,
    /// RFC 3339: do not start before this time.
    #[schema(rename = "startTime")]
    start_time: Option<String>,
    /// Comma-separated process ids this process waits for.
    #[schema(rename = "dependsOn")]
    depends_on: Option<String>,
    /// `afterok` (default) or `afterany`.
    #[schema(rename = "dependencyType")]
    dependency_type: Option<String>,
    /// Take files from this (LOADED) upload session.
    #[schema(rename = "uploadDefinitionId")]
    upload_definition_id: Option<String>,
}

/// `POST /api/authn/login`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginForm {
    pub user: String,
    pub password: String,
}

/// A file definition as clients send it (`{"name": "marc.mrc"}`; `id` in a `PUT`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileDefinitionBody {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub ui_key: Option<String>,
    #[serde(default)]
    pub upload_definition_id: Option<String>,
}

impl FileDefinitionBody {
    pub fn new_file(&self) -> NewUploadFile {
        NewUploadFile {
            name: self.name.clone(),
            ui_key: self.ui_key.clone(),
        }
    }
}

/// An upload definition as clients send it (`{"fileDefinitions": [...]}`). Read-only fields
/// (`createDate`, `metadata`, ...) may be sent back and are ignored.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionBody {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub file_definitions: Vec<FileDefinitionBody>,
}
