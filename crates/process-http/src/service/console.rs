//! The console log of a process as a DSpace bitstream: filetype `script_output`, named
//! `{processId}-{scriptName}.log`, listed with the process's files from the moment the
//! process exists and readable while it runs. Its content is the text form of the output
//! log; nothing is copied to a file.
//!
//! Its id is derived, not stored: a version 8 UUID that carries the process id and the
//! second the process was created, so `/api/core/bitstreams/{id}` finds the process again,
//! links stay valid for the life of the process, and a process that reuses a deleted one's id
//! (or a new database) never answers an old link.

use md5::Digest;
use process_core::{FileId, OutputRange, Process, ProcessFile, ProcessId};
use uuid::{Builder, Uuid};

use crate::error::ApiError;
use crate::service::output;
use crate::state::AppState;

/// The filetype DSpace gives a process's log.
pub const FILETYPE: &str = "script_output";

/// Marks a console log's id (with the UUID version 8, which no stored file's id has).
const TAG: [u8; 2] = *b"lg";
/// The process id takes the low 62 bits of the UUID (above them are the variant bits).
const PROCESS_BITS: u64 = (1 << 62) - 1;

/// The seconds of the creation time that an id carries.
fn created(p: &Process) -> u32 {
    // Truncation is meant: the id only tells two processes with one id apart.
    p.creation_time.unix_timestamp() as u32
}

/// The bitstream id of `process`'s console log.
pub fn id_of(process: &Process) -> FileId {
    let mut bytes = [0u8; 16];
    bytes[0..2].copy_from_slice(&TAG);
    bytes[2..6].copy_from_slice(&created(process).to_be_bytes());
    bytes[8..16].copy_from_slice(&(process.id.get() as u64 & PROCESS_BITS).to_be_bytes());
    FileId::from_uuid(Builder::from_custom_bytes(bytes).into_uuid())
}

/// The process whose console log `id` names, with the creation second it carries; `None`
/// for any other id.
fn decode(id: FileId) -> Option<(ProcessId, u32)> {
    let uuid: &Uuid = id.as_uuid();
    let b = uuid.as_bytes();
    if uuid.get_version_num() != 8 || b[0..2] != TAG || b[6] & 0x0f != 0 || b[7] != 0 {
        return None;
    }
    let created = u32::from_be_bytes([b[2], b[3], b[4], b[5]]);
    let mut low = [0u8; 8];
    low.copy_from_slice(&b[8..16]);
    let process = i64::try_from(u64::from_be_bytes(low) & PROCESS_BITS).ok()?;
    Some((ProcessId::new(process).ok()?, created))
}

/// The process of console log `id`, when `id` names one (its visibility is the caller's to
/// check).
pub fn process_of(id: FileId) -> Option<ProcessId> {
    decode(id).map(|(p, _)| p)
}

/// Whether `id` is the console log of `process` itself (not of a former process that had
/// its id).
pub fn belongs(id: FileId, process: &Process) -> bool {
    decode(id) == Some((process.id, created(process)))
}

/// The log's file name, as DSpace names it.
pub fn name(process: &Process) -> String {
    format!("{}-{}.log", process.id, process.script)
}

/// Lines read per step while summing.
const SUM_PAGE: u32 = 5_000;

/// The console log of `process` as a file: its size and MD5 are those of the text stored
/// so far (final once the process has ended).
pub async fn describe(state: &AppState, process: &Process) -> Result<ProcessFile, ApiError> {
    let id = id_of(process);
    let mut sum = state.console_sums.get(id);
    let pid = process.id;
    loop {
        let range = OutputRange::after(sum.last_seq);
        let lines = state
            .log(move |o| o.read_output(pid, &range, SUM_PAGE))
            .await?;
        let text = output::text(&lines);
        sum.md5.update(text.as_bytes());
        sum.bytes += text.len() as u64;
        if let Some(last) = lines.last() {
            sum.last_seq = last.seq;
        }
        if lines.len() < SUM_PAGE as usize {
            break;
        }
    }
    state.console_sums.keep(id, sum.clone());
    Ok(ProcessFile {
        id,
        process_id: process.id,
        name: name(process),
        filetype: FILETYPE.to_owned(),
        size_bytes: sum.bytes,
        md5: hex::encode(sum.md5.finalize()),
        // Never opened: the content is read from the output log.
        storage_path: String::new(),
        creation_time: process.creation_time,
    })
}

#[cfg(test)]
mod tests {
    use process_core::{ProcessStatus, ScriptName};
    use time::macros::datetime;

    use super::*;

    fn process(id: i64, at: time::OffsetDateTime) -> Process {
        let script = ScriptName::parse("row-count").unwrap();
        let id = ProcessId::new(id).unwrap();
        Process::stored(id, None, script, ProcessStatus::Running, at)
    }

    #[test]
    fn ids_lead_back_to_their_process() {
        let at = datetime!(2026-01-02 03:04:05 UTC);
        for n in [1, 42, i64::from(u32::MAX) + 7, (1 << 62) - 1] {
            let p = process(n, at);
            let id = id_of(&p);
            assert_eq!(id.as_uuid().get_version_num(), 8);
            assert_eq!(process_of(id), Some(p.id), "{n}");
            assert!(belongs(id, &p));
            assert_eq!(id.to_string().parse::<FileId>().ok(), Some(id));
        }
        let p = process(7, at);
        let later = process(7, datetime!(2026-01-02 03:04:06 UTC));
        assert!(!belongs(id_of(&p), &later), "a former process 7's log");
        assert_eq!(name(&p), "7-row-count.log");
        let random: FileId = "e78d68c9-f07e-4a5e-891f-061bb25246eb".parse().unwrap();
        assert_eq!(process_of(random), None);
    }
}
