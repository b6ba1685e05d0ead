//! Upload sessions: definitions and their files, the bytes under `uploads/<file id>`, and the
//! launch that consumes a session in the same transaction as the process it creates.
//!
//! Every change starts by touching the definition row under a status condition (`lock`):
//! that takes the row lock on PostgreSQL and the write lock on SQLite (`BEGIN IMMEDIATE`), so
//! a change and a launch consuming the same session are serialized, and a COMPLETED session
//! can never change again. The definition's status is then re-derived from its files
//! (`settle`).

use std::collections::HashMap;

use diesel::prelude::*;
use process_core::file::INPUT_FILETYPE;
use process_core::upload::{check_names, DefinitionEvent, FileEvent};
use process_core::{
    FileId, FileStatus, ListScope, NewProcess, NewUploadFile, Page, PageRequest, Process,
    ProcessId, UploadDefinition, UploadError, UploadFile, UploadId, UploadStatus, UserId,
};
use process_datadir::{remove_quietly, Layout, Placed, Staged};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::connection::{dispatch, write_transaction, AnyConnection};
use crate::error::StoreError;
use crate::files::NewFile;
use crate::processes::{insert_process, load as load_process};
use crate::schema::{upload_definitions as d, upload_files as uf};
use crate::timestamp::{from_micros, to_micros};
use crate::Store;

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = d)]
struct DefinitionRow {
    id: String,
    user_id: String,
    status: String,
    process_id: Option<i64>,
    create_date: i64,
    updated_date: i64,
    updated_by: String,
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = uf)]
struct UploadFileRow {
    id: String,
    upload_id: String,
    position: i32,
    name: String,
    ui_key: Option<String>,
    status: String,
    create_date: i64,
    uploaded_date: Option<i64>,
    size_bytes: Option<i64>,
    md5: Option<String>,
}

impl UploadFileRow {
    fn new(upload: &str, position: i32, file: &NewUploadFile, now: OffsetDateTime) -> Self {
        Self {
            id: Uuid::new_v4().to_string(),
            upload_id: upload.to_owned(),
            position,
            name: file.name.clone(),
            ui_key: file.ui_key.clone(),
            status: FileStatus::New.as_str().to_owned(),
            create_date: to_micros(now),
            uploaded_date: None,
            size_bytes: None,
            md5: None,
        }
    }

    fn into_file(self) -> Result<UploadFile, StoreError> {
        Ok(UploadFile {
            id: self.id.parse()?,
            upload_id: self.upload_id.parse()?,
            name: self.name,
            ui_key: self.ui_key,
            status: self.status.parse()?,
            create_date: from_micros(self.create_date),
            uploaded_date: self.uploaded_date.map(from_micros),
            size_bytes: self.size_bytes.and_then(|n| u64::try_from(n).ok()),
            md5: self.md5,
        })
    }
}

/// One file of a definition as a `PUT` lists it: an existing file (by id) to keep, possibly
/// renamed, or a new one (no id). Files left out are deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub id: Option<FileId>,
    pub file: NewUploadFile,
}

/// Loads definitions with their files, keeping the rows' order.
fn hydrate(
    conn: &mut AnyConnection,
    rows: Vec<DefinitionRow>,
) -> Result<Vec<UploadDefinition>, StoreError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut files: HashMap<String, Vec<UploadFile>> = HashMap::new();
    for row in uf::table
        .filter(uf::upload_id.eq_any(&ids))
        .order((uf::upload_id, uf::position))
        .select(UploadFileRow::as_select())
        .load(conn)?
    {
        files
            .entry(row.upload_id.clone())
            .or_default()
            .push(row.into_file()?);
    }
    rows.into_iter()
        .map(|row| {
            Ok(UploadDefinition {
                id: row.id.parse()?,
                owner: row.user_id.parse()?,
                status: row.status.parse()?,
                process_id: row.process_id.map(ProcessId::new).transpose()?,
                create_date: from_micros(row.create_date),
                updated_date: from_micros(row.updated_date),
                updated_by: row.updated_by.parse()?,
                files: files.remove(&row.id).unwrap_or_default(),
            })
        })
        .collect()
}

fn load(conn: &mut AnyConnection, id: UploadId) -> Result<Option<UploadDefinition>, StoreError> {
    let rows = d::table
        .filter(d::id.eq(id.to_string()))
        .select(DefinitionRow::as_select())
        .load(conn)?;
    Ok(hydrate(conn, rows)?.pop())
}

fn statuses(event: DefinitionEvent) -> Vec<&'static str> {
    event.sources().iter().map(|s| s.as_str()).collect()
}

/// Starts a change of definition `id` inside a transaction: records who changed it and when,
/// on condition that its status allows `Edit`. `None` when it does not exist.
fn lock(
    conn: &mut AnyConnection,
    id: UploadId,
    by: UserId,
    now: OffsetDateTime,
) -> Result<Option<UploadDefinition>, StoreError> {
    let changed = diesel::update(
        d::table
            .filter(d::id.eq(id.to_string()))
            .filter(d::status.eq_any(statuses(DefinitionEvent::Edit))),
    )
    .set((
        d::updated_date.eq(to_micros(now)),
        d::updated_by.eq(by.to_string()),
    ))
    .execute(conn)?;
    let current = load(conn, id)?;
    if changed == 0 {
        if let Some(def) = &current {
            DefinitionEvent::Edit.check(def.status)?;
            return Err(UploadError::Changed.into());
        }
    }
    Ok(current)
}

/// Re-derives the definition's status from its files after a change, and returns it.
fn settle(conn: &mut AnyConnection, id: UploadId) -> Result<UploadDefinition, StoreError> {
    let mut def = load(conn, id)?.ok_or(StoreError::Query(diesel::result::Error::NotFound))?;
    let status = UploadStatus::derive(def.files.iter().map(|f| f.status));
    if status != def.status {
        diesel::update(d::table.filter(d::id.eq(id.to_string())))
            .set(d::status.eq(status.as_str()))
            .execute(conn)?;
        def.status = status;
    }
    Ok(def)
}

/// Inserts file definitions after the ones `def` has.
fn insert_files(
    conn: &mut AnyConnection,
    def: &UploadDefinition,
    files: &[NewUploadFile],
    now: OffsetDateTime,
) -> Result<Vec<FileId>, StoreError> {
    let next: Option<i32> = uf::table
        .filter(uf::upload_id.eq(def.id.to_string()))
        .select(diesel::dsl::max(uf::position))
        .first(conn)?;
    let first = next.map_or(0, |n| n + 1);
    let upload = def.id.to_string();
    let rows: Vec<UploadFileRow> = files
        .iter()
        .zip(first..)
        .map(|(f, position)| UploadFileRow::new(&upload, position, f, now))
        .collect();
    if !rows.is_empty() {
        dispatch!(conn, |c| diesel::insert_into(uf::table)
            .values(&rows)
            .execute(c)?);
    }
    rows.iter()
        .map(|r| r.id.parse().map_err(StoreError::from))
        .collect()
}

fn check_new(files: &[NewUploadFile]) -> Result<(), UploadError> {
    files.iter().try_for_each(NewUploadFile::check)
}

impl Store {
    /// Creates a NEW upload definition owned by `owner` with the files it declares.
    pub fn create_upload(
        &self,
        owner: UserId,
        files: &[NewUploadFile],
        now: OffsetDateTime,
    ) -> Result<UploadDefinition, StoreError> {
        check_new(files)?;
        check_names(files.iter().map(|f| f.name.as_str()))?;
        let id = UploadId::from_uuid(Uuid::new_v4());
        let mut conn = self.conn()?;
        write_transaction(&mut conn, |conn| {
            let row = DefinitionRow {
                id: id.to_string(),
                user_id: owner.to_string(),
                status: UploadStatus::New.as_str().to_owned(),
                process_id: None,
                create_date: to_micros(now),
                updated_date: to_micros(now),
                updated_by: owner.to_string(),
            };
            diesel::insert_into(d::table).values(&row).execute(conn)?;
            let def = load(conn, id)?.ok_or(StoreError::Query(diesel::result::Error::NotFound))?;
            insert_files(conn, &def, files, now)?;
            settle(conn, id)
        })
    }

    pub fn get_upload(&self, id: UploadId) -> Result<Option<UploadDefinition>, StoreError> {
        load(&mut *self.conn()?, id)
    }

    /// A page of upload definitions, newest first.
    pub fn list_uploads(
        &self,
        scope: ListScope,
        page: PageRequest,
    ) -> Result<Page<UploadDefinition>, StoreError> {
        let mut conn = self.conn()?;
        let base = || {
            let mut q = d::table.into_boxed();
            if let ListScope::OwnedBy(owner) = scope {
                q = q.filter(d::user_id.eq(owner.to_string()));
            }
            q
        };
        let total: i64 = base().count().get_result(&mut *conn)?;
        let rows = base()
            .order((d::create_date.desc(), d::id.desc()))
            .limit(i64::from(page.size()))
            .offset(i64::try_from(page.offset()).unwrap_or(i64::MAX))
            .select(DefinitionRow::as_select())
            .load(&mut *conn)?;
        Ok(Page {
            items: hydrate(&mut conn, rows)?,
            total: u64::try_from(total).unwrap_or(0),
            request: page,
        })
    }

    /// Adds file definitions; returns the definition and the new files' ids, or `None` when
    /// it does not exist.
    pub fn add_upload_files(
        &self,
        id: UploadId,
        files: &[NewUploadFile],
        by: UserId,
        now: OffsetDateTime,
    ) -> Result<Option<(UploadDefinition, Vec<FileId>)>, StoreError> {
        check_new(files)?;
        let mut conn = self.conn()?;
        write_transaction(&mut conn, |conn| {
            let Some(def) = lock(conn, id, by, now)? else {
                return Ok(None);
            };
            check_names(
                def.files
                    .iter()
                    .map(|f| f.name.as_str())
                    .chain(files.iter().map(|f| f.name.as_str())),
            )?;
            let ids = insert_files(conn, &def, files, now)?;
            Ok(Some((settle(conn, id)?, ids)))
        })
    }

    /// Makes the definition's files the ones listed: listed ids are kept (and renamed or
    /// re-keyed), entries without an id are added, every other file is deleted with its bytes.
    pub fn update_upload_files(
        &self,
        id: UploadId,
        changes: &[FileChange],
        by: UserId,
        now: OffsetDateTime,
    ) -> Result<Option<UploadDefinition>, StoreError> {
        changes.iter().try_for_each(|c| c.file.check())?;
        check_names(changes.iter().map(|c| c.file.name.as_str()))?;
        let mut conn = self.conn()?;
        let result = write_transaction(&mut conn, |conn| {
            let Some(def) = lock(conn, id, by, now)? else {
                return Ok(None);
            };
            let mut kept = Vec::new();
            for change in changes {
                if let Some(fid) = change.id {
                    if def.file(fid).is_none() || kept.contains(&fid) {
                        return Err(UploadError::UnknownFile { id: fid }.into());
                    }
                    kept.push(fid);
                }
            }
            let removed: Vec<FileId> = def
                .files
                .iter()
                .map(|f| f.id)
                .filter(|f| !kept.contains(f))
                .collect();
            let removed_text: Vec<String> = removed.iter().map(ToString::to_string).collect();
            diesel::delete(uf::table.filter(uf::id.eq_any(&removed_text))).execute(conn)?;
            // Renames go through a placeholder first (a control character, which no real
            // name has), so that swapping two names does not trip the unique (upload_id,
            // name) index halfway.
            for (step, change) in changes.iter().enumerate() {
                if let Some(fid) = change.id {
                    diesel::update(uf::table.filter(uf::id.eq(fid.to_string())))
                        .set(uf::name.eq(format!("\u{1}{step}")))
                        .execute(conn)?;
                }
            }
            for change in changes {
                if let Some(fid) = change.id {
                    diesel::update(uf::table.filter(uf::id.eq(fid.to_string())))
                        .set((
                            uf::name.eq(&change.file.name),
                            uf::ui_key.eq(&change.file.ui_key),
                        ))
                        .execute(conn)?;
                }
            }
            let added: Vec<NewUploadFile> = changes
                .iter()
                .filter(|c| c.id.is_none())
                .map(|c| c.file.clone())
                .collect();
            insert_files(conn, &def, &added, now)?;
            Ok(Some((settle(conn, id)?, removed)))
        })?;
        Ok(result.map(|(def, removed)| {
            for fid in removed {
                remove_quietly(&self.layout().upload_path(fid));
            }
            def
        }))
    }

    /// Deletes one file definition and its bytes. `None` when the definition or the file does
    /// not exist.
    pub fn delete_upload_file(
        &self,
        id: UploadId,
        file: FileId,
        by: UserId,
        now: OffsetDateTime,
    ) -> Result<Option<UploadDefinition>, StoreError> {
        let mut conn = self.conn()?;
        let def = write_transaction(&mut conn, |conn| {
            let Some(def) = lock(conn, id, by, now)? else {
                return Ok(None);
            };
            if def.file(file).is_none() {
                return Ok(None);
            }
            diesel::delete(uf::table.filter(uf::id.eq(file.to_string()))).execute(conn)?;
            Ok(Some(settle(conn, id)?))
        })?;
        if def.is_some() {
            remove_quietly(&self.layout().upload_path(file));
        }
        Ok(def)
    }

    /// Deletes a definition (in any status) with its files and their bytes. `None` when it
    /// does not exist.
    pub fn delete_upload(&self, id: UploadId) -> Result<Option<UploadDefinition>, StoreError> {
        let mut conn = self.conn()?;
        let def = write_transaction(&mut conn, |conn| {
            let Some(def) = load(conn, id)? else {
                return Ok(None);
            };
            diesel::delete(uf::table.filter(uf::upload_id.eq(id.to_string()))).execute(conn)?;
            diesel::delete(d::table.filter(d::id.eq(id.to_string()))).execute(conn)?;
            Ok(Some(def))
        })?;
        if let Some(def) = &def {
            for f in &def.files {
                remove_quietly(&self.layout().upload_path(f.id));
            }
        }
        Ok(def)
    }

    /// Applies a file event as a compare-and-set inside a change of its definition. `None`
    /// when the definition or the file does not exist. `finish` holds the bytes of a Finish;
    /// when they are not committed they are removed on the way out.
    fn file_event(
        &self,
        id: UploadId,
        file: FileId,
        event: FileEvent,
        by: UserId,
        now: OffsetDateTime,
        finish: Option<Staged>,
    ) -> Result<Option<UploadDefinition>, StoreError> {
        let received = finish.as_ref().map(Staged::checksum);
        let mut conn = self.conn()?;
        write_transaction(&mut conn, |conn| {
            let Some(def) = lock(conn, id, by, now)? else {
                return Ok(None);
            };
            let Some(current) = def.file(file) else {
                return Ok(None);
            };
            let target = event.check(&current.name, current.status)?;
            let sources: Vec<&str> = event.sources().iter().map(|s| s.as_str()).collect();
            let row = uf::table
                .filter(uf::id.eq(file.to_string()))
                .filter(uf::status.eq_any(sources));
            let changed = match &received {
                Some((size, md5)) => diesel::update(row)
                    .set((
                        uf::status.eq(target.as_str()),
                        uf::uploaded_date.eq(Some(to_micros(now))),
                        uf::size_bytes.eq(Some(i64::try_from(*size).unwrap_or(i64::MAX))),
                        uf::md5.eq(Some(md5)),
                    ))
                    .execute(conn)?,
                None => diesel::update(row)
                    .set((
                        uf::status.eq(target.as_str()),
                        uf::uploaded_date.eq(None::<i64>),
                        uf::size_bytes.eq(None::<i64>),
                        uf::md5.eq(None::<String>),
                    ))
                    .execute(conn)?,
            };
            if changed == 0 {
                return Err(UploadError::Changed.into());
            }
            if let Some(staged) = finish {
                // Inside the transaction: if the bytes cannot be put in place, the file does
                // not become UPLOADED. Once in place they stay even if the commit fails: only
                // `fail_file_upload`, which goes by the row, removes them.
                let target = self.layout().upload_path(file);
                staged
                    .commit(&target)
                    .map_err(|e| StoreError::io(&target, e))?
                    .keep();
            }
            Ok(Some(settle(conn, id)?))
        })
    }

    /// NEW | ERROR → UPLOADING: an upload of the file's bytes begins.
    pub fn start_file_upload(
        &self,
        id: UploadId,
        file: FileId,
        by: UserId,
        now: OffsetDateTime,
    ) -> Result<Option<UploadDefinition>, StoreError> {
        self.file_event(id, file, FileEvent::Start, by, now, None)
    }

    /// UPLOADING → UPLOADED: commits the received, synced bytes to the file's place and
    /// records their size and MD5. When the file does not become UPLOADED the bytes are
    /// removed.
    pub fn finish_file_upload(
        &self,
        id: UploadId,
        file: FileId,
        received: Staged,
        by: UserId,
        now: OffsetDateTime,
    ) -> Result<Option<UploadDefinition>, StoreError> {
        self.file_event(id, file, FileEvent::Finish, by, now, Some(received))
    }

    /// UPLOADING → ERROR: the upload failed or was aborted. The caller removes what it
    /// received; nothing of the file stays in place.
    pub fn fail_file_upload(
        &self,
        id: UploadId,
        file: FileId,
        by: UserId,
        now: OffsetDateTime,
    ) -> Result<Option<UploadDefinition>, StoreError> {
        let def = self.file_event(id, file, FileEvent::Fail, by, now, None)?;
        remove_quietly(&self.layout().upload_path(file));
        Ok(def)
    }

    /// Creates a process that takes every file of the LOADED session `upload` (as read by the
    /// caller, who validated the launch against its file names) as an input besides `inputs`,
    /// and marks the session COMPLETED, in one transaction. Inside it the session's bytes are
    /// hard-linked into `files/<uuid>`; the session's own links go after the commit, so a
    /// failed launch leaves the session as it was and no link behind.
    pub fn create_process_from_upload(
        &self,
        new: &NewProcess,
        inputs: &[NewFile],
        upload: &UploadDefinition,
    ) -> Result<Process, StoreError> {
        DefinitionEvent::Consume.check(upload.status)?;
        let mut linked: Vec<Placed> = Vec::with_capacity(upload.files.len());
        let mut conn = self.conn()?;
        let result = write_transaction(&mut conn, |conn| {
            let now = to_micros(new.creation_time);
            let by = new.owner.unwrap_or(upload.owner).to_string();
            let target = || d::table.filter(d::id.eq(upload.id.to_string()));
            let changed = diesel::update(
                target().filter(d::status.eq_any(statuses(DefinitionEvent::Consume))),
            )
            .set((
                d::status.eq(UploadStatus::Completed.as_str()),
                d::updated_date.eq(now),
                d::updated_by.eq(&by),
            ))
            .execute(conn)?;
            let current = load(conn, upload.id)?.ok_or(UploadError::Changed)?;
            if changed == 0 {
                DefinitionEvent::Consume.check(current.status)?;
                return Err(UploadError::Changed.into());
            }
            // The files must be the ones the launch was validated against.
            let same = current.files.len() == upload.files.len()
                && current
                    .files
                    .iter()
                    .zip(&upload.files)
                    .all(|(a, b)| a.id == b.id && a.name == b.name && a.md5 == b.md5);
            if !same {
                return Err(UploadError::Changed.into());
            }
            let mut all: Vec<NewFile> = inputs.to_vec();
            for f in &current.files {
                let (file, placed) = link_input(self.layout(), f, new.creation_time)?;
                linked.push(placed);
                all.push(file);
            }
            let pid = insert_process(conn, new, &all)?.id;
            diesel::update(target())
                .set(d::process_id.eq(Some(pid.get())))
                .execute(conn)?;
            Ok(pid)
        });
        // A failed launch returns here, and dropping `linked` removes the links.
        let pid = result?;
        for placed in linked {
            placed.keep();
        }
        for f in &upload.files {
            remove_quietly(&self.layout().upload_path(f.id));
        }
        load_process(&mut conn, pid)?.ok_or(StoreError::Query(diesel::result::Error::NotFound))
    }
}

/// Links an UPLOADED session file to a new `files/<uuid>`, as a process's input file; the
/// link goes away unless kept.
fn link_input(
    layout: &Layout,
    f: &UploadFile,
    now: OffsetDateTime,
) -> Result<(NewFile, Placed), StoreError> {
    let (FileStatus::Uploaded, Some(size), Some(md5)) = (f.status, f.size_bytes, f.md5.clone())
    else {
        return Err(UploadError::File {
            name: f.name.clone(),
            from: f.status,
            event: DefinitionEvent::Consume.name(),
        }
        .into());
    };
    let id = FileId::from_uuid(Uuid::new_v4());
    let storage_path = Layout::input_storage_path(id);
    let source = layout.upload_path(f.id);
    let placed = Placed::link(layout, &source, layout.input_path(id))
        .map_err(|e| StoreError::io(&source, e))?;
    Ok((
        NewFile {
            id,
            name: f.name.clone(),
            filetype: INPUT_FILETYPE.to_owned(),
            size_bytes: size,
            md5,
            storage_path,
            creation_time: now,
        },
        placed,
    ))
}
