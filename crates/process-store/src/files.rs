//! Process files: inputs registered at launch, outputs registered after a run.

use diesel::prelude::*;
use process_core::{FileId, Page, PageRequest, ProcessFile, ProcessId};
use time::OffsetDateTime;

use crate::connection::dispatch;
use crate::error::StoreError;
use crate::rows::FileRow;
use crate::schema::process_files as f;
use crate::Store;

/// An uploaded file before its process exists.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub id: FileId,
    pub name: String,
    pub filetype: String,
    pub size_bytes: u64,
    pub md5: String,
    pub storage_path: String,
    pub creation_time: OffsetDateTime,
}

impl NewFile {
    pub fn for_process(&self, process_id: ProcessId) -> ProcessFile {
        ProcessFile {
            id: self.id,
            process_id,
            name: self.name.clone(),
            filetype: self.filetype.clone(),
            size_bytes: self.size_bytes,
            md5: self.md5.clone(),
            storage_path: self.storage_path.clone(),
            creation_time: self.creation_time,
        }
    }
}

impl Store {
    pub fn add_files(&self, files: &[ProcessFile]) -> Result<(), StoreError> {
        if files.is_empty() {
            return Ok(());
        }
        let rows: Vec<FileRow> = files.iter().map(FileRow::from_file).collect();
        let mut conn = self.conn()?;
        for chunk in rows.chunks(500) {
            dispatch!(&mut *conn, |c| diesel::insert_into(f::table)
                .values(chunk)
                .execute(c)?);
        }
        Ok(())
    }

    /// A page of a process's files, optionally of one filetype, inputs first then by name.
    pub fn list_files(
        &self,
        process: ProcessId,
        filetype: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<ProcessFile>, StoreError> {
        let mut conn = self.conn()?;
        let base = || {
            let mut q = f::table
                .filter(f::process_id.eq(process.get()))
                .into_boxed();
            if let Some(t) = filetype {
                q = q.filter(f::filetype.eq(t.to_owned()));
            }
            q
        };
        let total: i64 = base().count().get_result(&mut *conn)?;
        let items = base()
            .order((f::creation_time, f::name, f::id))
            .limit(i64::from(page.size()))
            .offset(i64::try_from(page.offset()).unwrap_or(i64::MAX))
            .select(FileRow::as_select())
            .load(&mut *conn)?
            .into_iter()
            .map(FileRow::into_file)
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            total: u64::try_from(total).unwrap_or(0),
            request: page,
        })
    }

    /// Every file of a process (for archives), in listing order.
    pub fn files(&self, process: ProcessId) -> Result<Vec<ProcessFile>, StoreError> {
        f::table
            .filter(f::process_id.eq(process.get()))
            .order((f::creation_time, f::name, f::id))
            .select(FileRow::as_select())
            .load(&mut *self.conn()?)?
            .into_iter()
            .map(FileRow::into_file)
            .collect()
    }

    pub fn filetypes(&self, process: ProcessId) -> Result<Vec<String>, StoreError> {
        Ok(f::table
            .filter(f::process_id.eq(process.get()))
            .select(f::filetype)
            .distinct()
            .order(f::filetype)
            .load(&mut *self.conn()?)?)
    }

    pub fn get_file(&self, id: FileId) -> Result<Option<ProcessFile>, StoreError> {
        f::table
            .filter(f::id.eq(id.to_string()))
            .select(FileRow::as_select())
            .first(&mut *self.conn()?)
            .optional()?
            .map(FileRow::into_file)
            .transpose()
    }
}
