//! A process's files: listed (all, or of one filetype), their filetypes, one file by id, and
//! all of them as a zip. Each goes through `processes::visible` first, so a file is exactly as
//! visible as its process. The console log (`service::console`) is listed after the stored
//! files, as one more of filetype `script_output`.

use std::io;

use actix_web::web::Bytes;
use futures_util::Stream;
use process_core::auth::missing;
use process_core::{Caller, FileId, Page, Process, ProcessFile, ProcessId};

use crate::error::ApiError;
use crate::extract::ProcessAccess;
use crate::limits::{CallerKey, CapKey, ClientAddr, Full};
use crate::resources::requests::Paging;
use crate::service::{archive, console, processes};
use crate::state::AppState;

/// One page of the files of process `id`, with the process; only those of `filetype` when
/// given. Paging is checked after visibility, so a bad page of a hidden process is still a 404.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    access: &ProcessAccess,
    id: ProcessId,
    filetype: Option<String>,
    paging: &Paging,
) -> Result<(Process, Page<ProcessFile>), ApiError> {
    let process = processes::visible(state, caller, access, id).await?;
    let request = paging.request()?;
    let of_type = filetype.clone();
    let with_log = filetype.as_deref().is_none_or(|t| t == console::FILETYPE);
    let mut page = state
        .db(move |s| s.list_files(id, filetype.as_deref(), request))
        .await?;
    if with_log {
        // The log's place is right after the stored files.
        let place = page.total;
        let first = page.request.offset();
        if (first..first + u64::from(page.request.size())).contains(&place) {
            page.items.push(console::describe(state, &process).await?);
        }
        page.total += 1;
    }
    // As in DSpace: 404 when the process has no file of the type asked for.
    if let (Some(t), 0) = (of_type, page.total) {
        return Err(ApiError::NotFound(format!(
            "process {id} has no files of type {t}"
        )));
    }
    Ok((process, page))
}

/// The filetypes of the files of process `id`, with the process.
pub async fn filetypes(
    state: &AppState,
    caller: &Caller,
    access: &ProcessAccess,
    id: ProcessId,
) -> Result<(Process, Vec<String>), ApiError> {
    let process = processes::visible(state, caller, access, id).await?;
    let mut values = state.db(move |s| s.filetypes(id)).await?;
    if !values.iter().any(|t| t == console::FILETYPE) {
        values.push(console::FILETYPE.to_owned());
    }
    Ok((process, values))
}

/// A bitstream: a stored file, or its process's console log (described by
/// `console::describe`, its content read from the output log).
pub enum Bitstream {
    Stored(ProcessFile),
    Console,
}

/// The bitstream `id` and its process, if the caller may see the process.
pub async fn visible(
    state: &AppState,
    caller: &Caller,
    access: &ProcessAccess,
    id: FileId,
) -> Result<(Bitstream, Process), ApiError> {
    if let Some(pid) = console::process_of(id) {
        let process = processes::visible(state, caller, access, pid).await?;
        if !console::belongs(id, &process) {
            return Err(missing(caller).into());
        }
        return Ok((Bitstream::Console, process));
    }
    let file = state
        .db(move |s| s.get_file(id))
        .await?
        .ok_or_else(|| ApiError::from(missing(caller)))?;
    let process = processes::visible(state, caller, access, file.process_id).await?;
    Ok((Bitstream::Stored(file), process))
}

/// Every file of process `id` as a zip, streamed as it is written. Archives are capped at
/// once, overall and per caller (`addr` names an anonymous one): beyond, 429.
pub async fn archive(
    state: &AppState,
    caller: &Caller,
    access: &ProcessAccess,
    addr: ClientAddr,
    id: ProcessId,
) -> Result<impl Stream<Item = io::Result<Bytes>> + use<>, ApiError> {
    processes::visible(state, caller, access, id).await?;
    let slot = state
        .archives
        .try_acquire(CapKey::Caller(CallerKey::of(caller, addr)))
        .map_err(|full| {
            let message = match full {
                Full::PerKey(n) => format!("at most {n} archives per caller at once"),
                Full::Total(n) => format!("at most {n} archives are written at once"),
            };
            ApiError::TooManyConcurrent {
                message,
                retry_after: ARCHIVE_RETRY,
            }
        })?;
    let files = state.db(move |s| s.files(id)).await?;
    let stall = state.config.archive_stall_timeout;
    Ok(archive::stream(
        state.store.layout().clone(),
        files,
        slot,
        stall,
    ))
}

/// When a refused archive may be asked for again: archives take seconds.
const ARCHIVE_RETRY: std::time::Duration = std::time::Duration::from_secs(5);
