//! Opening files below the data directory without following symlinks.
//!
//! A script can leave symlinks in its output directory, and a process of a script that
//! outlived its run (where the kernel offers no cgroup to kill it with) could swap a
//! registered file, or a whole subdirectory, for a symlink to something only processd may
//! read. Paths below the data directory are therefore walked one component at a time with
//! `openat(…, O_NOFOLLOW)`: a symlink anywhere on the way is refused, never followed. This is
//! simpler than moving outputs elsewhere and covers every stored path, old rows included.
//! Only the data directory itself (the operator's path) is resolved normally.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path};

use process_core::ProcessFile;
use rustix::fs::{openat, Mode, OFlags, CWD};
use rustix::io::Errno;

/// Why a registered file is not served.
#[derive(Debug, thiserror::Error)]
pub enum StoredFileError {
    #[error("its content is gone")]
    Missing,
    /// Something other than what was registered is in its place.
    #[error("refused: {0}")]
    Refused(String),
    #[error(transparent)]
    Io(io::Error),
}

fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

/// Opens the directory `rel` below `root`, refusing symlinks on the way.
pub(crate) fn open_dir(root: &Path, rel: &Path) -> io::Result<OwnedFd> {
    let mut dir = openat(
        CWD,
        root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    for component in rel.components() {
        let Component::Normal(name) = component else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a plain relative path",
            ));
        };
        dir = openat(&dir, name, dir_flags(), Mode::empty())?;
    }
    Ok(dir)
}

/// Opens the entry `name` of `dir` for reading if it is not a symlink. `O_NONBLOCK` keeps a
/// fifo put in a file's place from blocking the open; it changes nothing for regular files.
pub(crate) fn open_file_in(dir: impl AsFd, name: &OsStr) -> io::Result<File> {
    let fd = openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(File::from(fd))
}

/// Opens the file `rel` (a plain relative path) below `root` without following any symlink.
pub fn open_beneath(root: &Path, rel: &Path) -> io::Result<File> {
    let name = rel
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let parent = rel.parent().unwrap_or(Path::new(""));
    let dir = open_dir(root, parent)?;
    open_file_in(&dir, name)
}

/// Opens a registered file for serving: no symlink on its path, a regular file, and the size
/// that was registered. Anything else is refused.
pub(crate) fn open_registered(root: &Path, file: &ProcessFile) -> Result<File, StoredFileError> {
    let rel = Path::new(&file.storage_path);
    let plain = !file.storage_path.is_empty()
        && rel.components().all(|c| matches!(c, Component::Normal(_)));
    if !plain {
        return Err(StoredFileError::Refused(format!(
            "invalid storage path {:?}",
            file.storage_path
        )));
    }
    let opened = open_beneath(root, rel).map_err(|e| {
        let errno = Errno::from_io_error(&e);
        if e.kind() == io::ErrorKind::NotFound {
            StoredFileError::Missing
        } else if errno == Some(Errno::LOOP) || errno == Some(Errno::NOTDIR) {
            // O_NOFOLLOW met a symlink (ELOOP), or a symlink stands where a directory was
            // (ENOTDIR).
            StoredFileError::Refused("a symlink is on its path".to_owned())
        } else {
            StoredFileError::Io(e)
        }
    })?;
    let meta = opened.metadata().map_err(StoredFileError::Io)?;
    if !meta.is_file() {
        return Err(StoredFileError::Refused("not a regular file".to_owned()));
    }
    if meta.len() != file.size_bytes {
        return Err(StoredFileError::Refused(format!(
            "{} bytes where {} were registered",
            meta.len(),
            file.size_bytes
        )));
    }
    Ok(opened)
}

#[cfg(test)]
mod tests {
    use super::*;
    use process_core::{FileId, ProcessId};
    use std::fs;
    use std::os::unix::fs::symlink;

    fn registered(storage_path: &str, size_bytes: u64) -> ProcessFile {
        ProcessFile {
            id: FileId::from_uuid(uuid::Uuid::nil()),
            process_id: ProcessId::new(1).unwrap(),
            name: "x".into(),
            filetype: "outputFile".into(),
            size_bytes,
            md5: String::new(),
            storage_path: storage_path.into(),
            creation_time: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn refused(r: Result<File, StoredFileError>) -> String {
        match r {
            Err(StoredFileError::Refused(why)) => why,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn registered_files_open_and_swaps_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("data");
        let out = root.join("runs/1/output");
        fs::create_dir_all(out.join("sub")).unwrap();
        fs::write(out.join("a.txt"), b"hello").unwrap();
        fs::write(out.join("sub/b.txt"), b"hello").unwrap();
        let secret = dir.path().join("secret");
        fs::create_dir(&secret).unwrap();
        fs::write(secret.join("b.txt"), b"SECRET").unwrap();
        fs::write(secret.join("db"), b"SECRET").unwrap();

        let a = registered("runs/1/output/a.txt", 5);
        let b = registered("runs/1/output/sub/b.txt", 5);
        assert!(open_registered(&root, &a).is_ok());
        assert!(open_registered(&root, &b).is_ok());
        assert!(matches!(
            open_registered(&root, &registered("runs/1/output/none", 5)),
            Err(StoredFileError::Missing)
        ));
        assert!(refused(open_registered(
            &root,
            &registered("runs/1/output/a.txt", 6)
        ))
        .contains("bytes"));
        assert!(
            refused(open_registered(&root, &registered("../secret/db", 6))).contains("invalid")
        );

        // The file swapped for a symlink of the same size.
        fs::remove_file(out.join("a.txt")).unwrap();
        fs::write(secret.join("five"), b"12345").unwrap();
        symlink(secret.join("five"), out.join("a.txt")).unwrap();
        assert!(refused(open_registered(&root, &a)).contains("symlink"));

        // A parent directory swapped for a symlink to one holding a file of that name.
        fs::rename(out.join("sub"), out.join("old")).unwrap();
        fs::write(secret.join("b.txt"), b"12345").unwrap();
        symlink(&secret, out.join("sub")).unwrap();
        assert!(refused(open_registered(&root, &b)).contains("symlink"));
    }
}
