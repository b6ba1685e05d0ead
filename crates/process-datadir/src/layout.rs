//! Where processd keeps things on disk, all under one data directory:
//!
//! ```text
//! <data_dir>/tmp/<uuid>            bytes being received
//! <data_dir>/files/<uuid>          uploaded input files
//! <data_dir>/uploads/<uuid>        files of upload sessions, by file definition id
//! <data_dir>/runs/<id>/work/       a process's working directory (mode 0700)
//! <data_dir>/runs/<id>/output/     its $PROCESS_OUTPUT_DIR; output files stay here
//! <data_dir>/runs/<id>/tmp/        its $TMPDIR
//! <data_dir>/logs/<id>.log, .idx   its console log and the log's index (outside the run
//!                                  directory: a script cannot rewrite its own log)
//! ```
//!
//! Every path is built from ids the service chose; client text never becomes a path. Stored
//! files are opened with [`Layout::open_stored`], which follows no symlink below the data
//! directory.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use process_core::{FileId, ProcessFile, ProcessId};

use crate::beneath::{open_registered, StoredFileError};
use crate::ops::{private_dir, remove_quietly};

/// Where processd keeps things. Clones share the set of files in flight.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
    /// Files being received or placed whose rows are not committed yet: housekeeping never
    /// removes them, however old their bytes (a rename or a link keeps the old mtime).
    in_flight: Arc<Mutex<HashSet<PathBuf>>>,
}

/// A file marked in flight; the mark goes when this is dropped.
#[derive(Debug)]
pub(crate) struct InFlight {
    set: Arc<Mutex<HashSet<PathBuf>>>,
    path: PathBuf,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        lock(&self.set).remove(&self.path);
    }
}

/// The set stays consistent through a panic (single inserts and removes).
fn lock(set: &Mutex<HashSet<PathBuf>>) -> std::sync::MutexGuard<'_, HashSet<PathBuf>> {
    set.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            in_flight: Arc::default(),
        }
    }

    /// Marks `path` in flight before the file appears there.
    pub(crate) fn in_flight(&self, path: &Path) -> InFlight {
        lock(&self.in_flight).insert(path.to_owned());
        InFlight {
            set: Arc::clone(&self.in_flight),
            path: path.to_owned(),
        }
    }

    /// Removes a leftover file unless it is in flight; the check and the removal are one step
    /// for everyone who marks files through this layout. Returns whether it was removed.
    pub fn remove_leftover(&self, path: &Path) -> bool {
        let flying = lock(&self.in_flight);
        !flying.contains(path) && fs::remove_file(path).is_ok()
    }

    /// Creates the data directory and its fixed subdirectories.
    pub fn ensure(&self) -> io::Result<()> {
        // An existing data directory keeps the mode it was made with: tighten it, since it
        // holds the database, secrets and every process's files.
        if let Ok(meta) = fs::metadata(&self.root) {
            if meta.is_dir() && meta.permissions().mode() & 0o077 != 0 {
                fs::set_permissions(&self.root, fs::Permissions::from_mode(0o700))?;
            }
        }
        for dir in [
            self.root.clone(),
            self.tmp_dir(),
            self.files_dir(),
            self.runs_dir(),
            self.uploads_dir(),
            self.console_logs_dir(),
        ] {
            private_dir(&dir)?;
        }
        Ok(())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub fn files_dir(&self) -> PathBuf {
        self.root.join("files")
    }

    pub fn uploads_dir(&self) -> PathBuf {
        self.root.join("uploads")
    }

    /// Where the bytes of an upload session's file are kept until a process takes them.
    pub fn upload_path(&self, id: FileId) -> PathBuf {
        self.uploads_dir().join(id.to_string())
    }

    pub fn console_logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// A process's console log (its index sits beside it as `<id>.idx`).
    pub fn console_log_path(&self, id: ProcessId) -> PathBuf {
        self.console_logs_dir().join(format!("{}.log", id.get()))
    }

    fn runs_dir(&self) -> PathBuf {
        self.root.join("runs")
    }

    pub fn run_dir(&self, id: ProcessId) -> PathBuf {
        self.runs_dir().join(id.get().to_string())
    }

    /// The processes that have a run directory under `runs/` (whatever its age).
    pub fn run_dirs(&self) -> Vec<ProcessId> {
        let Ok(entries) = fs::read_dir(self.runs_dir()) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i64>().ok())
            .filter_map(|id| ProcessId::new(id).ok())
            .collect()
    }

    pub fn work_dir(&self, id: ProcessId) -> PathBuf {
        self.run_dir(id).join("work")
    }

    pub fn output_dir(&self, id: ProcessId) -> PathBuf {
        self.run_dir(id).join("output")
    }

    /// The run's `$TMPDIR`.
    pub fn run_tmp_dir(&self, id: ProcessId) -> PathBuf {
        self.run_dir(id).join("tmp")
    }

    /// A fresh temporary path for an upload in progress.
    pub fn tmp_path(&self, id: FileId) -> PathBuf {
        self.tmp_dir().join(id.to_string())
    }

    /// The storage path (relative to the data directory) of an uploaded input file.
    pub fn input_storage_path(id: FileId) -> String {
        format!("files/{id}")
    }

    /// The absolute path of an uploaded input file (`input_storage_path`, resolved).
    pub fn input_path(&self, id: FileId) -> PathBuf {
        self.files_dir().join(id.to_string())
    }

    /// The absolute path of a stored file. Refuses anything but a plain relative path, so a
    /// damaged row cannot point outside the data directory.
    pub fn resolve(&self, storage_path: &str) -> Option<PathBuf> {
        let rel = Path::new(storage_path);
        let plain = rel.components().all(|c| matches!(c, Component::Normal(_)));
        (plain && !storage_path.is_empty()).then(|| self.root.join(rel))
    }

    /// Opens a registered file to serve or copy it: no symlink anywhere on its path below the
    /// data directory, a regular file, and the size that was registered; anything else is
    /// refused (see `beneath`).
    pub fn open_stored(&self, file: &ProcessFile) -> Result<fs::File, StoredFileError> {
        open_registered(&self.root, file)
    }

    /// The storage path of a file under the data directory.
    pub fn relative(&self, abs: &Path) -> Option<String> {
        abs.strip_prefix(&self.root)
            .ok()
            .and_then(|p| p.to_str())
            .map(str::to_owned)
    }

    /// Removes a deleted process's run directory and input files. Failures are logged, not
    /// returned: the rows are already gone and a leftover file harms nobody.
    pub fn remove_process_files(&self, id: ProcessId, files: &[ProcessFile]) {
        let run = self.run_dir(id);
        if let Err(e) = fs::remove_dir_all(&run) {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!(path = %run.display(), error = %e, "could not remove run directory");
            }
        }
        let log = self.console_log_path(id);
        for path in [log.with_extension("idx"), log] {
            if let Err(e) = fs::remove_file(&path) {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(path = %path.display(), error = %e, "could not remove console log");
                }
            }
        }
        for f in files {
            if let Some(path) = self.resolve(&f.storage_path) {
                if path.starts_with(self.files_dir()) {
                    remove_quietly(&path);
                }
            }
        }
    }

    /// Removes files in `tmp/` older than `age`: bytes a crash or a dropped connection left
    /// behind. Returns how many.
    pub fn clear_tmp(&self, age: Duration) -> usize {
        older_than(&self.tmp_dir(), age)
            .into_iter()
            .filter(|e| self.remove_leftover(&e.path()))
            .count()
    }

    /// Input files under `files/` older than `age`, as (storage path, absolute path): the
    /// candidates for removal when no process refers to them (a crash between storing an
    /// upload and committing its process leaves them).
    pub fn inputs_older_than(&self, age: Duration) -> Vec<(String, PathBuf)> {
        older_than(&self.files_dir(), age)
            .into_iter()
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_owned();
                Some((format!("files/{name}"), e.path()))
            })
            .collect()
    }
}

/// Regular files directly in `dir` last modified at least `age` ago; none when `dir` cannot
/// be read.
fn older_than(dir: &Path, age: Duration) -> Vec<fs::DirEntry> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let now = SystemTime::now();
    entries
        .flatten()
        .filter(|e| {
            e.metadata()
                .ok()
                .filter(fs::Metadata::is_file)
                .and_then(|m| m.modified().ok())
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|d| d >= age)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_refuses_escapes() {
        let l = Layout::new("/data");
        assert_eq!(l.resolve("files/x"), Some(PathBuf::from("/data/files/x")));
        assert_eq!(l.resolve("../etc/passwd"), None);
        assert_eq!(l.resolve("/etc/passwd"), None);
        assert_eq!(l.resolve("runs/1/../../x"), None);
        assert_eq!(l.resolve(""), None);
    }
}
