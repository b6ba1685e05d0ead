//! What clients send: the query strings, forms and JSON bodies the handlers read, beside the
//! resources they get back. Some exist only to document a request the handler reads as a
//! stream (`LaunchForm`) or as raw pairs (`ListParams`).

use actix_web::web;
use process_core::OutputRange;
use process_core::{NewUploadFile, PageRequest, ParseError};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{Object, ObjectBuilder, Required, Type};

use crate::capability;
use crate::error::ApiError;

/// `page` and `size` query parameters, checked by `PageRequest::new`. Read as text so a bad
/// value gets the parser's message; documented as the integers they must be.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Zero-based page number (at most 100000).
    #[param(value_type = Option<u32>, minimum = 0, maximum = 100_000)]
    pub page: Option<String>,
    /// Page size: 0 or none is 20, more than 100 is 100 (the `page` object says which).
    #[param(schema_with = page_size)]
    pub size: Option<String>,
}

/// Any natural number: sizes over the maximum are clamped, not refused, however large, so no
/// integer `format` (which would bound it) applies.
fn page_size() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(0))
        .build()
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
    /// Zero-based page number (at most 100000).
    #[param(minimum = 0, maximum = 100_000)]
    page: Option<u32>,
    /// Page size: 0 or none is 20, more than 100 is 100 (the `page` object says which).
    #[param(schema_with = page_size)]
    size: Option<u32>,
    /// creationTime|startTime|endTime|scriptName, then ,asc or ,desc (default creationTime,desc).
    #[param(
        pattern = r"^(creationTime|startTime|endTime|scriptName)(,([aA][sS][cC]|[dD][eE][sS][cC]))?$"
    )]
    sort: Option<String>,
    /// Only this script.
    #[param(
        rename = "scriptName",
        pattern = r"^[a-z0-9][a-z0-9._-]*$",
        max_length = 64
    )]
    script_name: Option<String>,
    /// Only this user's processes.
    #[param(rename = "userId", format = "uuid")]
    user_id: Option<String>,
    /// Only processes in this state.
    #[param(rename = "processStatus", inline)]
    process_status: Option<StatusParam>,
    /// `parameter.<name>=<value>`: only processes run with this parameter value.
    #[param(rename = "parameter.<name>")]
    parameter: Option<String>,
}

/// A process status, as the listings filter on it (documentation; the listing parses it
/// with the core's `ProcessStatus`).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum StatusParam {
    Scheduled,
    Running,
    Completed,
    Failed,
}

/// `fromTime` and `toTime` of `GET .../output`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct OutputQuery {
    /// RFC 3339: lines read at or after this time.
    #[param(rename = "fromTime", format = DateTime)]
    pub from_time: Option<String>,
    /// RFC 3339: lines read at or before this time.
    #[param(rename = "toTime", format = DateTime)]
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

/// The multipart form of a launch (documentation only; the handler streams the parts). Every
/// part is optional, but none may be null, so no field is an `Option`.
#[derive(utoipa::ToSchema)]
#[expect(
    dead_code,
    reason = "only documents the form; the launch streams the parts"
)]
pub struct LaunchForm {
    /// JSON array of `{"name": "-f", "value": "data.csv"}` (at most 1 MiB); values may be
    /// strings, numbers or booleans. Which names and values are valid is the script's
    /// `parameters` list (`GET /api/system/scripts/{name}`).
    #[schema(content_media_type = "application/json", required = false)]
    properties: String,
    /// Uploaded files (at most 32, names of at most 255 bytes, together at most
    /// `max_upload_bytes`); a file parameter's value names one of them.
    #[schema(value_type = Vec<String>, format = Binary, max_items = 32, required = false)]
    file: Vec<Vec<u8>>,
    /// RFC 3339: do not start before this time.
    #[schema(rename = "startTime", format = DateTime, required = false)]
    start_time: String,
    /// Comma-separated processIds this process waits for (at most `max_depends_on`).
    #[schema(
        rename = "dependsOn",
        pattern = r"^ *([1-9][0-9]{0,17})? *(, *([1-9][0-9]{0,17})? *)*$",
        required = false
    )]
    depends_on: String,
    /// `afterok` (the default): run only if every dependency COMPLETED; `afterany`: run
    /// once they have all ended.
    #[schema(rename = "dependencyType", inline, required = false)]
    dependency_type: DependencyTypeParam,
    /// Take files from this (LOADED) upload session.
    #[schema(rename = "uploadDefinitionId", format = "uuid", required = false)]
    upload_definition_id: String,
}

/// How a launch waits for its `dependsOn` (documentation; parsed by the core's
/// `DependencyType`).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DependencyTypeParam {
    Afterok,
    Afterany,
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
    /// The file's name (unique in its definition; no control characters).
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
    /// A key of the client's own, kept with the file.
    #[serde(default)]
    #[schema(max_length = 255, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
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

/// The capability of a process started anonymously (`capability.rs`), as every process and
/// bitstream route reads it: `?access=` or `X-Process-Access` (documentation; the handlers
/// read it with `extract::ProcessAccess`). Written out by hand because one derive cannot put
/// one field in the query and another in a header.
pub struct AccessParams;

impl utoipa::IntoParams for AccessParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        // No length limit is documented: a value that cannot be a capability is not refused,
        // it opens nothing.
        let capability = || ObjectBuilder::new().schema_type(Type::String).build();
        let describe = |what: &str| {
            format!(
                "The `accessToken` of the launch answer of a process started anonymously{what}; \
                 it opens that process only"
            )
        };
        vec![
            ParameterBuilder::new()
                .name(capability::QUERY)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(describe(" (or send it as X-Process-Access)")))
                .schema(Some(capability()))
                .build(),
            ParameterBuilder::new()
                .name(capability::HEADER)
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(describe("")))
                .schema(Some(capability()))
                .build(),
        ]
    }
}
