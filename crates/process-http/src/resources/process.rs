//! The process resource, in the shape of DSpace's processes endpoint plus processd's fields.

use process_core::{Param, Process};
use serde::Serialize;

use crate::hal::{timestamp, BaseUrl, Link};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ParameterResource {
    pub name: String,
    pub value: String,
}

impl From<&Param> for ParameterResource {
    fn from(p: &Param) -> Self {
        Self {
            name: p.name.clone(),
            value: p.value.clone(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProcessLinks {
    #[serde(rename = "self")]
    pub this: Link,
    pub script: Link,
    pub output: Link,
    pub files: Link,
    pub filetypes: Link,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProcessResource {
    pub process_id: String,
    pub user_id: Option<String>,
    pub script_name: String,
    pub process_status: &'static str,
    pub creation_time: String,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    /// The requested earliest start (launch `startTime`), if any.
    pub scheduled_start_time: Option<String>,
    pub parameters: Vec<ParameterResource>,
    pub percent_complete: Option<u8>,
    pub status_reason: Option<&'static str>,
    pub exit_code: Option<i32>,
    pub depends_on: Vec<String>,
    pub dependency_type: &'static str,
    pub executor_job_id: Option<String>,
    pub output_truncated: bool,
    /// When retention will delete this finished process with its output and files
    /// (`retention_days` after it ended); null when it is kept for good or still going.
    pub expiry_date: Option<String>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Only in the answer to an anonymous launch: the capability that lets whoever presents it
    /// (`X-Process-Access` header or `access` query parameter) see this process. Shown once;
    /// the service keeps only its digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    #[serde(rename = "_links")]
    pub links: ProcessLinks,
}

/// When retention deletes a finished process: `retention_days` after its end.
pub fn expiry(p: &Process, retention_days: Option<u32>) -> Option<time::OffsetDateTime> {
    p.end_time
        .zip(retention_days)
        .map(|(end, days)| process_core::retention::expiry(end, days))
}

impl ProcessResource {
    /// The path of `p` (under a `BaseUrl`).
    pub fn path(p: &Process) -> String {
        format!("/api/system/processes/{}", p.id)
    }

    /// The resource; `access` is the capability its links carry (see `hal::with_access`).
    pub fn from_process(
        base: &BaseUrl,
        p: &Process,
        retention_days: Option<u32>,
        access: Option<&str>,
    ) -> Self {
        let this = Self::path(p);
        let link = |path: String| base.link_with(&path, access);
        Self {
            process_id: p.id.to_string(),
            user_id: p.owner.map(|u| u.to_string()),
            script_name: p.script.to_string(),
            process_status: p.status().as_str(),
            creation_time: timestamp(p.creation_time),
            start_time: p.start_time.map(timestamp),
            end_time: p.end_time.map(timestamp),
            scheduled_start_time: p.not_before.map(timestamp),
            parameters: p.parameters.iter().map(ParameterResource::from).collect(),
            percent_complete: p.percent_complete,
            status_reason: p.status_reason.map(|r| r.as_str()),
            exit_code: p.exit_code,
            depends_on: p.depends_on.iter().map(ToString::to_string).collect(),
            dependency_type: p.dependency_type.as_str(),
            executor_job_id: p.executor_job_id.clone(),
            output_truncated: p.output_truncated,
            expiry_date: expiry(p, retention_days).map(timestamp),
            kind: "process",
            access_token: None,
            links: ProcessLinks {
                script: base.link(&format!("/api/system/scripts/{}", p.script)),
                output: link(format!("{this}/output")),
                files: link(format!("{this}/files")),
                filetypes: link(format!("{this}/filetypes")),
                this: link(this),
            },
        }
    }
}
