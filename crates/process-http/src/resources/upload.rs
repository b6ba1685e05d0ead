//! An upload session in the shape of FOLIO's UploadDefinition and FileDefinition, with
//! processd's HAL links. Fields FOLIO keeps for its own job engine (`metaJobExecutionId`,
//! `jobExecutionId`) have processd's counterpart, `processId`; `sourcePath` is left out, as
//! where the bytes are kept is the service's business.

use process_core::{UploadDefinition, UploadFile};
use serde::Serialize;

use crate::hal::{timestamp, BaseUrl, Link};
use crate::resources::bitstream::CheckSum;

pub const UPLOADS_PATH: &str = "/api/system/uploadDefinitions";

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FileDefinitionLinks {
    /// Where the file's bytes are sent (`POST`, `application/octet-stream`).
    pub upload: Link,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileDefinitionResource {
    pub id: String,
    pub name: String,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ui_key: Option<String>,
    pub upload_definition_id: String,
    pub create_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploaded_date: Option<String>,
    /// In kilobytes (rounded up), as FOLIO has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_sum: Option<CheckSum>,
    #[serde(rename = "_links")]
    pub links: FileDefinitionLinks,
}

impl FileDefinitionResource {
    pub fn from_file(base: &BaseUrl, f: &UploadFile) -> Self {
        Self {
            id: f.id.to_string(),
            name: crate::names::shown(&f.name).into_owned(),
            status: f.status.as_str(),
            ui_key: f.ui_key.clone(),
            upload_definition_id: f.upload_id.to_string(),
            create_date: timestamp(f.create_date),
            uploaded_date: f.uploaded_date.map(timestamp),
            size: f.size_bytes.map(|b| b.div_ceil(1024)),
            size_bytes: f.size_bytes,
            check_sum: f.md5.as_ref().map(|md5| CheckSum {
                check_sum_algorithm: "MD5",
                value: md5.clone(),
            }),
            links: FileDefinitionLinks {
                upload: base.link(&format!("{UPLOADS_PATH}/{}/files/{}", f.upload_id, f.id)),
            },
        }
    }
}

/// FOLIO's standard `metadata` block.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub created_date: String,
    pub created_by_user_id: String,
    pub updated_date: String,
    pub updated_by_user_id: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UploadDefinitionLinks {
    #[serde(rename = "self")]
    pub this: Link,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<Link>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadDefinitionResource {
    pub id: String,
    pub status: &'static str,
    /// The process that consumed it (COMPLETED).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_id: Option<String>,
    pub create_date: String,
    pub file_definitions: Vec<FileDefinitionResource>,
    pub metadata: Metadata,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(rename = "_links")]
    pub links: UploadDefinitionLinks,
}

impl UploadDefinitionResource {
    /// The path of `d` (under a `BaseUrl`).
    pub fn path(d: &UploadDefinition) -> String {
        format!("{UPLOADS_PATH}/{}", d.id)
    }

    pub fn from_definition(base: &BaseUrl, d: &UploadDefinition) -> Self {
        let this = Self::path(d);
        Self {
            id: d.id.to_string(),
            status: d.status.as_str(),
            process_id: d.process_id.map(|p| p.to_string()),
            create_date: timestamp(d.create_date),
            file_definitions: d
                .files
                .iter()
                .map(|f| FileDefinitionResource::from_file(base, f))
                .collect(),
            metadata: Metadata {
                created_date: timestamp(d.create_date),
                created_by_user_id: d.owner.to_string(),
                updated_date: timestamp(d.updated_date),
                updated_by_user_id: d.updated_by.to_string(),
            },
            kind: "uploadDefinition",
            links: UploadDefinitionLinks {
                process: d
                    .process_id
                    .map(|p| base.link(&format!("/api/system/processes/{p}"))),
                this: base.link(&this),
            },
        }
    }
}
