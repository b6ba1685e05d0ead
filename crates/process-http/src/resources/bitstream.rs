//! A process file as a DSpace bitstream.

use std::collections::BTreeMap;

use process_core::ProcessFile;
use serde::Serialize;

use crate::hal::{BaseUrl, Link};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MetadataValue {
    pub value: String,
    pub language: Option<String>,
    pub authority: Option<String>,
    pub confidence: i32,
    pub place: u32,
}

impl MetadataValue {
    pub fn single(value: &str) -> Vec<Self> {
        vec![Self {
            value: value.to_owned(),
            language: None,
            authority: None,
            confidence: -1,
            place: 0,
        }]
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckSum {
    pub check_sum_algorithm: &'static str,
    pub value: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BitstreamLinks {
    #[serde(rename = "self")]
    pub this: Link,
    pub content: Link,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BitstreamResource {
    pub id: String,
    pub uuid: String,
    pub name: String,
    pub handle: Option<String>,
    pub metadata: BTreeMap<String, Vec<MetadataValue>>,
    pub bundle_name: Option<String>,
    pub size_bytes: u64,
    pub check_sum: CheckSum,
    /// When retention deletes this file with its process (as RSpace's export results show).
    pub expiry_date: Option<String>,
    pub sequence_id: Option<i64>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(rename = "_links")]
    pub links: BitstreamLinks,
}

impl BitstreamResource {
    /// The resource; `access` is the capability of its process that its links carry.
    pub fn from_file(
        base: &BaseUrl,
        f: &ProcessFile,
        expiry: Option<time::OffsetDateTime>,
        access: Option<&str>,
    ) -> Self {
        let this = format!("/api/core/bitstreams/{}", f.id);
        let mut metadata = BTreeMap::new();
        let name = crate::names::shown(&f.name);
        metadata.insert("dc.title".to_owned(), MetadataValue::single(&name));
        metadata.insert(
            "dspace.process.filetype".to_owned(),
            MetadataValue::single(&f.filetype),
        );
        Self {
            id: f.id.to_string(),
            uuid: f.id.to_string(),
            name: name.into_owned(),
            handle: None,
            metadata,
            bundle_name: None,
            size_bytes: f.size_bytes,
            check_sum: CheckSum {
                check_sum_algorithm: "MD5",
                value: f.md5.clone(),
            },
            expiry_date: expiry.map(crate::hal::timestamp),
            sequence_id: None,
            kind: "bitstream",
            links: BitstreamLinks {
                content: base.link_with(&format!("{this}/content"), access),
                this: base.link_with(&this, access),
            },
        }
    }
}
