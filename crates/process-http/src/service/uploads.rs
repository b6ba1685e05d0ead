//! Upload sessions: creating, reading, changing and deleting them, streaming a file's bytes
//! to disk, and handing a LOADED session to a launch. Who may see a session is decided by
//! `auth::may_access_owned` with its owner, as for a process: someone else's session looks
//! like a missing one.

use actix_web::{web, HttpRequest};
use process_core::auth::{list_scope, may_access_owned, missing, require_user};
use process_core::upload::DefinitionEvent;
use process_core::{Caller, FileId, NewUploadFile, Page, UploadDefinition, UploadId, UserId};
use process_datadir::Staged;
use process_store::{FileChange, Store};
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::resources::requests::{DefinitionBody, FileDefinitionBody, Paging};
use crate::service::body::{
    content_length, content_type, read_json_object, receive, too_large, Pace,
};
use crate::state::AppState;

/// Reads a definition request: a JSON object whose `fileDefinitions`, if any, are objects.
async fn read_json<T: DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
    pace: Pace,
) -> Result<T, ApiError> {
    let value = read_json_object(req, payload, pace).await?;
    // serde reads a struct from a JSON array as well; the API documents objects.
    let files = value.get("fileDefinitions").and_then(|f| f.as_array());
    if files.is_some_and(|files| files.iter().any(|f| !f.is_object())) {
        return Err(ApiError::BadRequest(
            "fileDefinitions must be a list of objects".into(),
        ));
    }
    serde_json::from_value(value)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
}

/// The definition `id` if `caller` may see it; a missing one and someone else's get the same
/// answer (401 for anonymous callers, 404 for users).
pub async fn visible(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<UploadDefinition, ApiError> {
    let Ok(id) = id.parse::<UploadId>() else {
        return Err(missing(caller).into());
    };
    match state.db(move |s| s.get_upload(id)).await? {
        Some(def) => {
            may_access_owned(caller, def.owner)?;
            Ok(def)
        }
        None => Err(missing(caller).into()),
    }
}

/// The definition and the caller's id, for a change: the caller must see it.
async fn editable(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(UploadDefinition, UserId), ApiError> {
    let def = visible(state, caller, id).await?;
    Ok((def, require_user(caller)?))
}

fn gone(caller: &Caller) -> ApiError {
    missing(caller).into()
}

fn file_not_found(file: &str) -> ApiError {
    ApiError::not_found(format!("file definition {file}"))
}

fn parse_file_id(file: &str) -> Result<FileId, ApiError> {
    file.parse().map_err(|_| file_not_found(file))
}

/// `POST /api/system/uploadDefinitions`: a NEW definition owned by the caller.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<UploadDefinition, ApiError> {
    let owner = require_user(caller)?;
    let body: DefinitionBody = read_json(req, payload, Pace::new(&state.config)).await?;
    let files: Vec<NewUploadFile> = body
        .file_definitions
        .iter()
        .map(FileDefinitionBody::new_file)
        .collect();
    state
        .db(move |s| s.create_upload(owner, &files, OffsetDateTime::now_utc()))
        .await
}

/// The caller's definitions (admins: everyone's), newest first.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    paging: &Paging,
) -> Result<Page<UploadDefinition>, ApiError> {
    let scope = list_scope(caller)?;
    let request = paging.request()?;
    state.db(move |s| s.list_uploads(scope, request)).await
}

/// `PUT`: the body's `fileDefinitions` become the definition's files (by `id` to keep or
/// rename, without one to add; the others are deleted). `status` is the service's to change.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: &str,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<UploadDefinition, ApiError> {
    let (def, by) = editable(state, caller, id).await?;
    let body: DefinitionBody = read_json(req, payload, Pace::new(&state.config)).await?;
    if body.id.as_deref().is_some_and(|b| b.parse() != Ok(def.id)) {
        return Err(ApiError::BadRequest(
            "id in the body does not match the URL".into(),
        ));
    }
    if let Some(status) = body.status.as_deref() {
        if status != def.status.as_str() {
            return Err(ApiError::StatusReadOnly(def.status));
        }
    }
    let changes = body
        .file_definitions
        .iter()
        .map(|f| {
            Ok(FileChange {
                id: f.id.as_deref().map(str::parse::<FileId>).transpose()?,
                file: f.new_file(),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let uid = def.id;
    state
        .db(move |s| s.update_upload_files(uid, &changes, by, OffsetDateTime::now_utc()))
        .await?
        .ok_or_else(|| gone(caller))
}

/// Deletes a definition the caller may see, with its files' bytes.
pub async fn delete(state: &AppState, caller: &Caller, id: &str) -> Result<(), ApiError> {
    let def = visible(state, caller, id).await?;
    let uid = def.id;
    match state.db(move |s| s.delete_upload(uid)).await? {
        Some(_) => Ok(()),
        None => Err(gone(caller)),
    }
}

/// `POST .../{id}/files` (`{"name": ...}`): adds a NEW file definition; returns the
/// definition and the new file's id.
pub async fn add_file(
    state: &AppState,
    caller: &Caller,
    id: &str,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<(UploadDefinition, FileId), ApiError> {
    let (def, by) = editable(state, caller, id).await?;
    let body: FileDefinitionBody = read_json(req, payload, Pace::new(&state.config)).await?;
    if body
        .upload_definition_id
        .as_deref()
        .is_some_and(|b| b.parse() != Ok(def.id))
    {
        return Err(ApiError::BadRequest(
            "uploadDefinitionId in the body does not match the URL".into(),
        ));
    }
    let file = body.new_file();
    let uid = def.id;
    let (def, ids) = state
        .db(move |s| s.add_upload_files(uid, &[file], by, OffsetDateTime::now_utc()))
        .await?
        .ok_or_else(|| gone(caller))?;
    let fid = ids
        .first()
        .copied()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no file was added")))?;
    Ok((def, fid))
}

/// Deletes one file definition and its bytes.
pub async fn delete_file(
    state: &AppState,
    caller: &Caller,
    id: &str,
    file: &str,
) -> Result<UploadDefinition, ApiError> {
    let (def, by) = editable(state, caller, id).await?;
    let fid = parse_file_id(file)?;
    let uid = def.id;
    state
        .db(move |s| s.delete_upload_file(uid, fid, by, OffsetDateTime::now_utc()))
        .await?
        .ok_or_else(|| file_not_found(file))
}

/// An upload being received: if the request goes away before it finishes (the client
/// disconnects and the handler is dropped), the file is marked ERROR. (Its bytes go with the
/// `Staged` file that holds them.)
struct InFlight {
    store: Option<Store>,
    upload: UploadId,
    file: FileId,
    by: UserId,
}

impl InFlight {
    /// Records the failure (the request is still there).
    async fn fail(mut self, state: &AppState) {
        self.store = None;
        let (upload, file, by) = (self.upload, self.file, self.by);
        let failed = state
            .db(move |s| s.fail_file_upload(upload, file, by, OffsetDateTime::now_utc()))
            .await;
        if let Err(e) = failed {
            tracing::warn!(%upload, %file, error = %e, "could not mark a failed upload");
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let Some(store) = self.store.take() else {
            return;
        };
        let (upload, file, by) = (self.upload, self.file, self.by);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn_blocking(move || {
                if let Err(e) = store.fail_file_upload(upload, file, by, OffsetDateTime::now_utc())
                {
                    tracing::warn!(%upload, %file, error = %e, "could not mark an aborted upload");
                }
            });
        }
    }
}

/// `POST .../{id}/files/{fileId}` with `application/octet-stream`: streams the bytes to a
/// staged file in `tmp/` (never held in memory whole), with `max_upload_bytes` applied as
/// they arrive and their MD5 computed; the store commits them to their place with the row.
/// A failed upload leaves the file ERROR and no bytes behind; it may be retried.
pub async fn upload_file(
    state: &AppState,
    caller: &Caller,
    id: &str,
    file: &str,
    req: &HttpRequest,
    mut payload: web::Payload,
) -> Result<UploadDefinition, ApiError> {
    let (def, by) = editable(state, caller, id).await?;
    if content_type(req) != "application/octet-stream" {
        return Err(ApiError::UnsupportedMediaType(
            "file data must be sent as application/octet-stream".into(),
        ));
    }
    let fid = parse_file_id(file)?;
    if def.file(fid).is_none() {
        return Err(file_not_found(file));
    }
    let limit = state.config.max_upload_bytes;
    if content_length(req).is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let uid = def.id;
    state
        .db(move |s| s.start_file_upload(uid, fid, by, OffsetDateTime::now_utc()))
        .await?
        .ok_or_else(|| file_not_found(file))?;
    let flight = InFlight {
        store: Some(state.store.clone()),
        upload: uid,
        file: fid,
        by,
    };
    let mut staged = Staged::new(state.store.layout());
    let mut pace = Pace::new(&state.config);
    if let Err(e) = receive(&mut payload, &mut staged, limit, &mut 0, &mut pace).await {
        drop(staged);
        flight.fail(state).await;
        return Err(e);
    }
    // The blocking task owns the bytes now: committed with the row, or removed.
    let finished = state
        .db(move |s| s.finish_file_upload(uid, fid, staged, by, OffsetDateTime::now_utc()))
        .await;
    match finished {
        Ok(Some(def)) => {
            let mut flight = flight;
            flight.store = None;
            Ok(def)
        }
        // The definition or the file was deleted meanwhile: nothing to mark.
        Ok(None) => {
            let mut flight = flight;
            flight.store = None;
            Err(file_not_found(file))
        }
        Err(e) => {
            flight.fail(state).await;
            Err(e)
        }
    }
}

/// The session a launch names in `uploadDefinitionId`: visible to the caller (400 otherwise,
/// like an unknown `dependsOn`) and LOADED (422 otherwise).
pub async fn for_launch(
    state: &AppState,
    caller: &Caller,
    id: UploadId,
) -> Result<UploadDefinition, ApiError> {
    let def = state.db(move |s| s.get_upload(id)).await?;
    let def = def
        .filter(|d| may_access_owned(caller, d.owner).is_ok())
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "uploadDefinitionId: unknown upload definition {id}"
            ))
        })?;
    DefinitionEvent::Consume.check(def.status)?;
    Ok(def)
}
