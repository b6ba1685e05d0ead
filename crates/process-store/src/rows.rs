//! Row structs and their conversion to core types.

use diesel::prelude::*;
use process_core::{
    FileId, OutputLine, Param, Process, ProcessFile, ProcessId, ProcessStatus, ScriptName,
    StatusReason, Stream, UserId,
};

use crate::error::StoreError;
use crate::schema::{output_lines, process_files, processes};
use crate::timestamp::{from_micros, to_micros};

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = processes)]
pub struct ProcessRow {
    pub id: i64,
    pub user_id: Option<String>,
    pub script_name: String,
    pub status: String,
    pub creation_time: i64,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub not_before: Option<i64>,
    pub percent_complete: Option<i32>,
    pub status_reason: Option<String>,
    pub exit_code: Option<i32>,
    pub dependency_type: String,
    pub executor_job_id: Option<String>,
    pub output_truncated: bool,
    pub access_hash: Option<String>,
}

impl ProcessRow {
    /// The process, without its parameters and dependencies (loaded separately).
    pub fn into_process(self) -> Result<Process, StoreError> {
        let mut p = Process::stored(
            ProcessId::new(self.id)?,
            self.user_id
                .as_deref()
                .map(str::parse::<UserId>)
                .transpose()?,
            ScriptName::parse(&self.script_name)?,
            self.status.parse::<ProcessStatus>()?,
            from_micros(self.creation_time),
        );
        p.start_time = self.start_time.map(from_micros);
        p.end_time = self.end_time.map(from_micros);
        p.not_before = self.not_before.map(from_micros);
        p.percent_complete = self.percent_complete.and_then(|n| u8::try_from(n).ok());
        p.status_reason = self
            .status_reason
            .as_deref()
            .map(str::parse::<StatusReason>)
            .transpose()?;
        p.exit_code = self.exit_code;
        p.dependency_type = self.dependency_type.parse()?;
        p.executor_job_id = self.executor_job_id;
        p.output_truncated = self.output_truncated;
        p.access_hash = self.access_hash;
        Ok(p)
    }
}

#[derive(Debug, Queryable)]
pub struct ParamRow {
    pub process_id: i64,
    pub name: String,
    pub value: String,
}

impl ParamRow {
    pub fn into_param(self) -> Param {
        Param {
            name: self.name,
            value: self.value,
        }
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = process_files)]
pub struct FileRow {
    pub id: String,
    pub process_id: i64,
    pub name: String,
    pub filetype: String,
    pub size_bytes: i64,
    pub md5: String,
    pub storage_path: String,
    pub creation_time: i64,
}

impl FileRow {
    pub fn from_file(f: &ProcessFile) -> Self {
        Self {
            id: f.id.to_string(),
            process_id: f.process_id.get(),
            name: f.name.clone(),
            filetype: f.filetype.clone(),
            size_bytes: i64::try_from(f.size_bytes).unwrap_or(i64::MAX),
            md5: f.md5.clone(),
            storage_path: f.storage_path.clone(),
            creation_time: to_micros(f.creation_time),
        }
    }

    pub fn into_file(self) -> Result<ProcessFile, StoreError> {
        Ok(ProcessFile {
            id: self.id.parse::<FileId>()?,
            process_id: ProcessId::new(self.process_id)?,
            name: self.name,
            filetype: self.filetype,
            size_bytes: u64::try_from(self.size_bytes).unwrap_or(0),
            md5: self.md5,
            storage_path: self.storage_path,
            creation_time: from_micros(self.creation_time),
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = output_lines)]
pub struct OutputRow {
    pub process_id: i64,
    pub seq: i64,
    pub time: i64,
    pub stream: String,
    pub line: String,
}

impl OutputRow {
    pub fn from_line(process: ProcessId, l: &OutputLine) -> Self {
        Self {
            process_id: process.get(),
            seq: l.seq,
            time: to_micros(l.time),
            stream: l.stream.as_str().to_owned(),
            line: l.line.clone(),
        }
    }

    pub fn into_line(self) -> Result<OutputLine, StoreError> {
        Ok(OutputLine {
            seq: self.seq,
            time: from_micros(self.time),
            stream: self.stream.parse::<Stream>()?,
            line: self.line,
        })
    }
}
