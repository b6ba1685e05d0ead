//! Launching a process from a multipart request: checks the caller before reading the body,
//! streams every uploaded file to disk under a service-chosen name (with the size limit
//! applied as bytes arrive), validates the parameters through process-core, and stores the
//! process with its inputs in one transaction. A failed launch leaves no row and no file.

use std::collections::HashSet;

use actix_multipart::{Field, Multipart};
use actix_web::HttpRequest;
use futures_util::StreamExt;
use process_core::auth::{may_access, may_start};
use process_core::file::INPUT_FILETYPE;
use process_core::params::{validate, RawParam};
use process_core::{Caller, DependencyType, NewProcess, Process, ProcessId, UploadId};
use process_datadir::{Layout, Placed, Staged};
use process_store::NewFile;
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::capability::Capability;
use crate::error::ApiError;
use crate::extract::ProcessAccess;
use crate::service::body::{content_length, content_type, io_error, receive, too_large, Pace};
use crate::service::uploads;
use crate::state::AppState;

/// Most parts one launch may carry, and most files.
const MAX_PARTS: usize = 64;
const MAX_FILES: usize = 32;
/// Largest non-file part (the `properties` JSON, ids, times).
const MAX_FIELD_BYTES: usize = 1024 * 1024;
/// Longest accepted uploaded file name.
const MAX_FILENAME_BYTES: usize = 255;

#[derive(Default)]
struct Form {
    properties: Vec<RawParam>,
    /// Uploaded files in `files/`, not yet owned by a process: removed when dropped.
    uploads: Vec<(NewFile, Placed)>,
    start_time: Option<OffsetDateTime>,
    depends_on: Vec<ProcessId>,
    dependency_type: DependencyType,
    /// An upload session whose files the process takes as inputs.
    upload_definition: Option<UploadId>,
}

#[derive(Deserialize)]
struct PropertyJson {
    name: String,
    #[serde(default)]
    value: Option<serde_json::Value>,
}

/// A stored process, with the capability to see it when it was started anonymously (shown
/// to the launcher once; only its digest is stored).
pub struct Launched {
    pub process: Process,
    pub capability: Option<String>,
}

/// Launches `script_name` for `caller`; `access` is the capability the request presented,
/// which `dependsOn` may need (see `check_dependencies`).
pub async fn launch(
    state: &AppState,
    caller: &Caller,
    access: &ProcessAccess,
    script_name: &str,
    req: &HttpRequest,
    payload: Multipart,
) -> Result<Launched, ApiError> {
    if state.runner.is_draining() {
        return Err(ApiError::Unavailable("processd is shutting down".into()));
    }
    let script = state
        .catalog
        .get(script_name)
        .ok_or_else(|| ApiError::not_found(format!("script {script_name}")))?;
    may_start(caller, script)?;
    let is_multipart = content_type(req) == "multipart/form-data";
    if !is_multipart {
        return Err(ApiError::UnsupportedMediaType(
            "a launch must be sent as multipart/form-data".into(),
        ));
    }
    let limit = state.config.max_upload_bytes;
    // Multipart framing adds a little; anything far beyond the limit is refused unread.
    if content_length(req).is_some_and(|len| len > limit.saturating_add(MAX_FIELD_BYTES as u64 * 4))
    {
        return Err(too_large(limit));
    }
    let form = read_form(
        state.store.layout(),
        payload,
        limit,
        state.config.max_depends_on,
        Pace::new(&state.config),
    )
    .await?;
    let session = match form.upload_definition {
        Some(id) => Some(uploads::for_launch(state, caller, id).await?),
        None => None,
    };
    let sent: Vec<&str> = form.uploads.iter().map(|(f, _)| f.name.as_str()).collect();
    let in_session: Vec<&str> = session
        .iter()
        .flat_map(|u| u.files.iter().map(|f| f.name.as_str()))
        .collect();
    let parameters = validate(script, &form.properties, &sent, &in_session)?;
    check_dependencies(state, caller, access, &form.depends_on).await?;
    // Nobody owns an anonymous process: its capability is what lets its launcher see it again.
    let capability = caller.user_id().is_none().then(Capability::generate);
    let new = NewProcess {
        owner: caller.user_id(),
        script: script.name.clone(),
        creation_time: OffsetDateTime::now_utc(),
        parameters,
        not_before: form.start_time,
        depends_on: form.depends_on.clone(),
        dependency_type: form.dependency_type,
        access_hash: capability.as_ref().map(|c| c.digest.clone()),
    };
    let (inputs, uploaded): (Vec<NewFile>, Vec<Placed>) = form.uploads.into_iter().unzip();
    // From here the blocking task owns the uploaded files: it runs to its end even if the
    // client goes away meanwhile, and removes them (by dropping them) only if the process
    // was not stored.
    let process = state
        .db(move |s| {
            let created = match session {
                Some(upload) => s.create_process_from_upload(&new, &inputs, &upload),
                None => s.create_process(&new, &inputs),
            };
            if created.is_ok() {
                for placed in uploaded {
                    placed.keep();
                }
            }
            created
        })
        .await?;
    state.metrics.launches.inc();
    state.runner.wake();
    Ok(Launched {
        process,
        capability: capability.map(|c| c.value),
    })
}

/// Every process in `dependsOn` must be one the caller may see, by the same rule as a `GET`:
/// an anonymous one needs its capability on this launch request (header or `?access=`), so
/// an anonymous caller may name at most one anonymous process, the one whose capability it
/// presents (unless anonymous processes are public). Others answer like a missing id.
async fn check_dependencies(
    state: &AppState,
    caller: &Caller,
    access: &ProcessAccess,
    ids: &[ProcessId],
) -> Result<(), ApiError> {
    if ids.is_empty() {
        return Ok(());
    }
    let wanted = ids.to_vec();
    let found = state.db(move |s| s.get_processes(&wanted)).await?;
    let policy = state.config.anonymous_process_access;
    for id in ids {
        let visible = found
            .iter()
            .find(|p| p.id == *id)
            .is_some_and(|p| may_access(caller, p.owner, policy, access.opens(p)).is_ok());
        if !visible {
            return Err(ApiError::BadRequest(format!(
                "dependsOn: unknown process {id}"
            )));
        }
    }
    Ok(())
}

async fn read_form(
    layout: &Layout,
    mut payload: Multipart,
    limit: u64,
    max_depends_on: usize,
    mut pace: Pace,
) -> Result<Form, ApiError> {
    let mut form = Form::default();
    let mut seen_depends_on = false;
    let mut total: u64 = 0;
    let mut parts = 0;
    while let Some(field) = pace.next(payload.next()).await? {
        let field =
            field.map_err(|e| ApiError::BadRequest(format!("malformed multipart body: {e}")))?;
        parts += 1;
        if parts > MAX_PARTS {
            return Err(ApiError::BadRequest(format!(
                "at most {MAX_PARTS} parts per launch"
            )));
        }
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" => {
                if form.uploads.len() >= MAX_FILES {
                    return Err(ApiError::BadRequest(format!("at most {MAX_FILES} files per launch")));
                }
                form.uploads
                    .push(receive_file(layout, field, limit, &mut total, &mut pace).await?);
            }
            "properties" => {
                let text = read_text(field, &name, &mut pace).await?;
                form.properties = parse_properties(&text)?;
            }
            "startTime" => {
                let text = read_text(field, &name, &mut pace).await?;
                let t = text.trim();
                if !t.is_empty() {
                    form.start_time = Some(OffsetDateTime::parse(t, &Rfc3339).map_err(|_| {
                        ApiError::BadRequest(format!(
                            "startTime must be an RFC 3339 time such as 2026-01-31T09:00:00Z, got {t:?}"
                        ))
                    })?);
                }
            }
            "dependsOn" => {
                // One part only: ids spread over many parts would dodge the cap below.
                if std::mem::replace(&mut seen_depends_on, true) {
                    return Err(ApiError::BadRequest(
                        "dependsOn may be sent once; list the ids in it separated by commas"
                            .into(),
                    ));
                }
                let text = read_text(field, &name, &mut pace).await?;
                form.depends_on = parse_depends_on(&text, max_depends_on)?;
            }
            "dependencyType" => {
                let text = read_text(field, &name, &mut pace).await?;
                form.dependency_type = text.trim().parse()?;
            }
            "uploadDefinitionId" => {
                let text = read_text(field, &name, &mut pace).await?;
                form.upload_definition = Some(text.trim().parse()?);
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unexpected part {other:?}; expected properties, file, startTime, dependsOn, dependencyType or uploadDefinitionId"
                )))
            }
        }
    }
    Ok(form)
}

/// The distinct ids of a `dependsOn` part, in the order given. At most `max` ids are read
/// (duplicates count: the cap bounds the work, and every id becomes a SQL variable).
fn parse_depends_on(text: &str, max: usize) -> Result<Vec<ProcessId>, ApiError> {
    let mut ids = Vec::new();
    let mut seen = HashSet::new();
    for (n, id) in text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
    {
        if n >= max {
            return Err(ApiError::LimitExceeded(format!(
                "dependsOn: at most {max} process ids"
            )));
        }
        let id: ProcessId = id
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("dependsOn: {id:?} is not a process id")))?;
        if seen.insert(id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

async fn read_text(mut field: Field, name: &str, pace: &mut Pace) -> Result<String, ApiError> {
    let mut buf = Vec::new();
    while let Some(chunk) = pace.next(field.next()).await? {
        let chunk =
            chunk.map_err(|e| ApiError::BadRequest(format!("malformed multipart body: {e}")))?;
        pace.add(chunk.len());
        if buf.len() + chunk.len() > MAX_FIELD_BYTES {
            return Err(ApiError::PayloadTooLarge(format!(
                "part {name} is larger than {MAX_FIELD_BYTES} bytes"
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).map_err(|_| ApiError::BadRequest(format!("part {name} is not UTF-8")))
}

/// `[{"name": "-f", "value": "data.csv"}, ...]`; values may be strings, numbers or booleans.
fn parse_properties(text: &str) -> Result<Vec<RawParam>, ApiError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let raw: Vec<PropertyJson> = serde_json::from_str(text).map_err(|e| {
        ApiError::BadRequest(format!(
            "properties must be a JSON array of {{\"name\", \"value\"}} objects: {e}"
        ))
    })?;
    raw.into_iter()
        .map(|p| {
            let value = match p.value {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(s)) => Some(s),
                Some(v @ (serde_json::Value::Bool(_) | serde_json::Value::Number(_))) => {
                    Some(v.to_string())
                }
                Some(_) => {
                    return Err(ApiError::BadRequest(format!(
                        "parameter {}: value must be a string, number or boolean",
                        p.name
                    )))
                }
            };
            Ok(RawParam {
                name: p.name,
                value,
            })
        })
        .collect()
}

/// Streams one file part to a staged file in `tmp/`, then commits it to `files/<uuid>`. On
/// error nothing of it is left.
async fn receive_file(
    layout: &Layout,
    mut field: Field,
    limit: u64,
    total: &mut u64,
    pace: &mut Pace,
) -> Result<(NewFile, Placed), ApiError> {
    let name = field
        .content_disposition()
        .and_then(|cd| cd.get_filename())
        .map(str::to_owned)
        .ok_or(ApiError::BadRequest("a file part has no filename".into()))?;
    if name.is_empty() || name.len() > MAX_FILENAME_BYTES || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "file name {name:?} must be 1 to {MAX_FILENAME_BYTES} bytes without control characters"
        )));
    }
    let mut staged = Staged::new(layout);
    receive(&mut field, &mut staged, limit, total, pace).await?;
    let (size, md5) = staged.checksum();
    let id = staged.id();
    let target = layout.input_path(id);
    // The rename runs on the blocking pool; if this request goes away meanwhile, the
    // result is dropped there, and with it the file.
    let placed = tokio::task::spawn_blocking(move || staged.commit(&target))
        .await
        .map_err(ApiError::internal)?
        .map_err(io_error)?;
    Ok((
        NewFile {
            id,
            name,
            filetype: INPUT_FILETYPE.to_owned(),
            size_bytes: size,
            md5,
            storage_path: Layout::input_storage_path(id),
            creation_time: OffsetDateTime::now_utc(),
        },
        placed,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_accept_dspace_shapes() {
        let p = parse_properties(r#"[{"name":"-f","value":"a.csv"},{"name":"-v"},{"name":"-n","value":3},{"name":"-b","value":true}]"#)
            .unwrap();
        let got: Vec<(&str, Option<&str>)> = p
            .iter()
            .map(|r| (r.name.as_str(), r.value.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("-f", Some("a.csv")),
                ("-v", None),
                ("-n", Some("3")),
                ("-b", Some("true"))
            ]
        );
        assert!(parse_properties("{").is_err());
        assert!(parse_properties(r#"[{"name":"-x","value":[1]}]"#).is_err());
        assert!(parse_properties("").unwrap().is_empty());
    }

    #[test]
    fn depends_on_is_deduplicated_and_capped() {
        let ids = |v: &[i64]| -> Vec<ProcessId> {
            v.iter().map(|i| ProcessId::new(*i).unwrap()).collect()
        };
        assert_eq!(parse_depends_on(" 3, 1,3 ,,2", 5).unwrap(), ids(&[3, 1, 2]));
        assert_eq!(parse_depends_on("", 5).unwrap(), ids(&[]));
        assert_eq!(parse_depends_on("1,2,3", 3).unwrap(), ids(&[1, 2, 3]));
        let over = parse_depends_on("1,2,3,4", 3).unwrap_err();
        assert_eq!(over.code(), "limit_exceeded");
        assert!(over.to_string().contains("at most 3"), "{over}");
        assert_eq!(
            parse_depends_on("1,x", 3).unwrap_err().code(),
            "bad_request"
        );
    }
}
