//! Housekeeping queries: stale upload sessions for retention, uploads a crash interrupted,
//! and input files no process refers to.

use std::time::Duration;

use diesel::prelude::*;
use process_core::{FileStatus, UploadId};
use time::OffsetDateTime;

use crate::error::StoreError;
use crate::schema::{
    process_files as pf, processes as p, upload_definitions as d, upload_files as uf,
};
use crate::timestamp::to_micros;
use crate::Store;

impl Store {
    /// Upload sessions not changed since `cutoff` (any status: abandoned ones and the records
    /// of consumed ones), with ids above `after`, in id order.
    pub fn uploads_untouched_since(
        &self,
        cutoff: OffsetDateTime,
        after: &str,
        limit: u32,
    ) -> Result<Vec<UploadId>, StoreError> {
        let ids: Vec<String> = d::table
            .filter(d::updated_date.lt(to_micros(cutoff)))
            .filter(d::id.gt(after))
            .order(d::id)
            .limit(i64::from(limit))
            .select(d::id)
            .load(&mut *self.conn()?)?;
        ids.iter()
            .map(|i| i.parse::<UploadId>().map_err(Into::into))
            .collect()
    }

    /// Marks files left UPLOADING by a previous run of the service as ERROR (their partial
    /// bytes never left `tmp/`), so they can be uploaded again. Returns how many.
    pub fn reset_interrupted_uploads(&self) -> Result<usize, StoreError> {
        Ok(
            diesel::update(uf::table.filter(uf::status.eq(FileStatus::Uploading.as_str())))
                .set(uf::status.eq(FileStatus::Error.as_str()))
                .execute(&mut *self.conn()?)?,
        )
    }

    /// Removes input files under `files/` that no process refers to and that are older than
    /// `age` (a crash between storing an upload and committing its process leaves them).
    /// Returns how many.
    pub fn clean_orphan_inputs(&self, age: Duration) -> Result<usize, StoreError> {
        let old = self.layout().inputs_older_than(age);
        let mut conn = self.conn()?;
        let mut removed = 0;
        for chunk in old.chunks(500) {
            let paths: Vec<&str> = chunk.iter().map(|(p, _)| p.as_str()).collect();
            let referenced: Vec<String> = pf::table
                .filter(pf::storage_path.eq_any(&paths))
                .select(pf::storage_path)
                .load(&mut *conn)?;
            for (storage_path, path) in chunk {
                if !referenced.contains(storage_path) && self.layout().remove_leftover(path) {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// Removes run directories whose process no longer exists (a crash between deleting a
    /// process's rows and its directory leaves them). A run directory is made only after its
    /// process is stored, so none in use can lack a row. Returns how many.
    pub fn clean_orphan_runs(&self) -> Result<usize, StoreError> {
        let dirs = self.layout().run_dirs();
        let mut conn = self.conn()?;
        let mut removed = 0;
        for chunk in dirs.chunks(500) {
            let ids: Vec<i64> = chunk.iter().map(|id| id.get()).collect();
            let existing: Vec<i64> = p::table
                .filter(p::id.eq_any(&ids))
                .select(p::id)
                .load(&mut *conn)?;
            for id in chunk.iter().filter(|id| !existing.contains(&id.get())) {
                let dir = self.layout().run_dir(*id);
                match std::fs::remove_dir_all(&dir) {
                    Ok(()) => removed += 1,
                    Err(e) => {
                        tracing::warn!(path = %dir.display(), error = %e, "could not remove a run directory")
                    }
                }
            }
        }
        Ok(removed)
    }
}
