//! What the API answers, as typed values (the fields clients use; unknown ones are ignored).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A script the caller may start.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Script {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub parameters: Vec<ParameterSpec>,
}

/// One parameter a script takes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterSpec {
    pub name: String,
    #[serde(default)]
    pub name_long: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// `String`, `Integer`, `boolean`, `date` or `InputStream` (a file), as DSpace names them.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub mandatory: bool,
}

/// Where a process is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Scheduled,
    Running,
    Completed,
    Failed,
}

impl Status {
    /// COMPLETED or FAILED: nothing about the process changes any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "SCHEDULED",
            Self::Running => "RUNNING",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
        }
    }
}

/// A parameter as a process was started with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub value: String,
}

/// A process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Process {
    /// The process id (an integer sent as a string).
    pub process_id: String,
    pub user_id: Option<String>,
    pub script_name: String,
    pub process_status: Status,
    #[serde(with = "time::serde::rfc3339")]
    pub creation_time: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub start_time: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub end_time: Option<OffsetDateTime>,
    /// Not started before this time (the launch's `startTime`).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub scheduled_start_time: Option<OffsetDateTime>,
    #[serde(default)]
    pub parameters: Vec<Param>,
    pub percent_complete: Option<u8>,
    /// Why a FAILED process failed: `exit`, `signal`, `timeout`, `stopped`, `spawn`,
    /// `dependency` or `interrupted`.
    pub status_reason: Option<String>,
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// `afterok` or `afterany`.
    #[serde(default)]
    pub dependency_type: Option<String>,
    pub executor_job_id: Option<String>,
    #[serde(default)]
    pub output_truncated: bool,
    /// The capability of an anonymous launch, shown only in the launch's answer. The client
    /// sends it with every request about this process (see [`crate::ProcessRef`]).
    pub access_token: Option<String>,
}

/// One console line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Line {
    pub seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    pub line: String,
    /// `stdout` or `stderr`.
    pub stream: String,
}

/// A page of console lines after a sequence number.
#[derive(Debug, Clone)]
pub struct Lines {
    pub lines: Vec<Line>,
    /// The sequence number to ask for the next page after.
    pub last: u64,
    /// The process has ended and no line follows.
    pub complete: bool,
}

/// A file of a process (a DSpace bitstream).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bitstream {
    pub uuid: String,
    pub name: String,
    pub size_bytes: u64,
    /// `script_output` for the console log, else what the file is to the script
    /// (`inputfile`, `outputfile`...).
    pub file_type: String,
    /// The MD5 of the content, in hex.
    pub md5: String,
    /// Where the content is (an absolute URL).
    pub content_url: String,
}

/// One page of a listing and where it stands in the whole.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub number: u32,
    pub total_pages: u32,
    pub total_elements: u64,
}

/// The user a token belongs to.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub name: String,
    pub uuid: String,
    pub admin: bool,
}

/// What the live console of a process says ([`crate::Client::follow`]).
#[derive(Debug, Clone)]
pub enum Event {
    /// A console line, as it is stored.
    Line(Line),
    /// The process has ended and every line was sent.
    End {
        status: Status,
        status_reason: Option<String>,
        exit_code: Option<i32>,
    },
}

/// A change of a process ([`crate::Client::events`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessEvent {
    /// Orders all events (an integer sent as a string); resume after it.
    pub id: String,
    /// `process.created`, `process.running`, `process.progress`, `process.completed`,
    /// `process.failed` or `process.deleted`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// The process right after the change (right before it, for `process.deleted`).
    pub process: Process,
}

/// An upload session: files uploaded ahead of a launch, which then names the session.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadSession {
    pub id: String,
    /// `NEW`, `IN_PROGRESS`, `LOADED` (every file is there) or `COMPLETED` (a launch took it).
    pub status: String,
    pub file_definitions: Vec<UploadFile>,
}

/// One file of an upload session.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadFile {
    pub id: String,
    pub name: String,
    /// `NEW`, `UPLOADING`, `UPLOADED` or `ERROR`.
    pub status: String,
}
