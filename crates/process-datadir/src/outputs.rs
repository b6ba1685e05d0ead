//! Registering what a script left in `$PROCESS_OUTPUT_DIR`: regular files at the top are
//! `outputFile`s, files under `<type>/` get filetype `<type>`. The directory is walked through
//! file descriptors (`openat` with `O_NOFOLLOW`, see `beneath`): symlinks are never followed
//! or registered, even if one is swapped in while the walk runs.

use std::ffi::OsStr;
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;

use process_core::file::{is_valid_filetype, OUTPUT_FILETYPE};
use process_core::{FileId, ProcessFile, ProcessId};
use rustix::fs::{statat, AtFlags, Dir, FileType, Mode, OFlags};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::beneath::{open_dir, open_file_in};
use crate::checksum::describe_file;
use crate::layout::Layout;

/// At most this many output files are registered per process.
pub const MAX_OUTPUT_FILES: usize = 10_000;

/// Subdirectories deeper than this are not walked (each level holds a descriptor).
const MAX_DEPTH: usize = 32;

/// The files in `process`'s output directory, as rows to register (new ids, size and MD5).
/// A missing directory has none.
pub fn collect_outputs(
    layout: &Layout,
    process: ProcessId,
    now: OffsetDateTime,
) -> io::Result<Vec<ProcessFile>> {
    let Some(base) = layout.relative(&layout.output_dir(process)) else {
        return Ok(Vec::new());
    };
    let root = match open_dir(layout.root(), Path::new(&base)) {
        Ok(fd) => fd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut walk = Walk {
        process,
        now,
        found: Vec::new(),
    };
    for (name, kind) in entries(&root)? {
        if walk.found.len() >= MAX_OUTPUT_FILES {
            break;
        }
        let storage_path = format!("{base}/{name}");
        match kind {
            FileType::RegularFile => {
                walk.file(&root, &name, storage_path, name.clone(), OUTPUT_FILETYPE);
            }
            FileType::Directory if is_valid_filetype(&name) => {
                if let Err(e) = walk.dir(&root, &name, &storage_path, "", &name, 1) {
                    tracing::warn!(path = %storage_path, error = %e, "output directory partly skipped");
                }
            }
            _ => {}
        }
    }
    Ok(walk.found)
}

struct Walk {
    process: ProcessId,
    now: OffsetDateTime,
    found: Vec<ProcessFile>,
}

impl Walk {
    /// Registers the entry `name` of `dir` if it is (still) a regular file.
    fn file(
        &mut self,
        dir: &OwnedFd,
        name: &str,
        storage_path: String,
        shown: String,
        filetype: &str,
    ) {
        let described = open_file_in(dir, OsStr::new(name)).and_then(|mut f| {
            if !f.metadata()?.is_file() {
                return Err(io::Error::other("no longer a regular file"));
            }
            describe_file(&mut f)
        });
        // One unreadable file (vanished, swapped, no permission) costs only itself.
        let (size_bytes, md5) = match described {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(path = %storage_path, error = %e, "output file not registered");
                return;
            }
        };
        self.found.push(ProcessFile {
            id: FileId::from_uuid(Uuid::new_v4()),
            process_id: self.process,
            name: shown,
            filetype: filetype.to_owned(),
            size_bytes,
            md5,
            storage_path,
            creation_time: self.now,
        });
    }

    /// Files below a filetype directory, named by their path relative to it.
    fn dir(
        &mut self,
        parent: &OwnedFd,
        name: &str,
        storage_path: &str,
        prefix: &str,
        filetype: &str,
        depth: usize,
    ) -> io::Result<()> {
        if depth > MAX_DEPTH {
            return Ok(());
        }
        let dir = rustix::fs::openat(
            parent,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        for (entry, kind) in entries(&dir)? {
            if self.found.len() >= MAX_OUTPUT_FILES {
                return Ok(());
            }
            let path = format!("{storage_path}/{entry}");
            let shown = format!("{prefix}{entry}");
            match kind {
                FileType::RegularFile => self.file(&dir, &entry, path, shown, filetype),
                FileType::Directory => {
                    self.dir(
                        &dir,
                        &entry,
                        &path,
                        &format!("{shown}/"),
                        filetype,
                        depth + 1,
                    )?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// The entries of `dir` with their types as `lstat` sees them, sorted by name. Names that
/// are not UTF-8 are skipped (a storage path is text).
fn entries(dir: &OwnedFd) -> io::Result<Vec<(String, FileType)>> {
    let mut list = Vec::new();
    let mut read = Dir::read_from(dir)?;
    while let Some(entry) = read.read() {
        let entry = entry?;
        let Ok(name) = entry.file_name().to_str() else {
            continue;
        };
        if name == "." || name == ".." {
            continue;
        }
        match statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => list.push((name.to_owned(), FileType::from_raw_mode(st.st_mode))),
            Err(e) => tracing::warn!(name, error = %e, "output entry skipped"),
        }
    }
    list.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    #[test]
    fn registers_regular_files_with_types_and_skips_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let id = ProcessId::new(3).unwrap();
        let out = layout.output_dir(id);
        fs::create_dir_all(out.join("report/deep")).unwrap();
        fs::create_dir_all(out.join(".hidden")).unwrap();
        fs::write(out.join("a.txt"), b"hello").unwrap();
        fs::write(out.join("report/r.csv"), b"x,y\n").unwrap();
        fs::write(out.join("report/deep/d.txt"), b"").unwrap();
        fs::write(out.join(".hidden/h"), b"").unwrap();
        symlink("/etc/passwd", out.join("passwd")).unwrap();
        symlink("/etc", out.join("etc")).unwrap();
        let files = collect_outputs(&layout, id, OffsetDateTime::UNIX_EPOCH).unwrap();
        let got: Vec<(&str, &str, u64)> = files
            .iter()
            .map(|f| (f.name.as_str(), f.filetype.as_str(), f.size_bytes))
            .collect();
        assert_eq!(
            got,
            [
                ("a.txt", "outputFile", 5),
                ("deep/d.txt", "report", 0),
                ("r.csv", "report", 4),
            ]
        );
        assert_eq!(files[0].md5, "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(files[0].storage_path, "runs/3/output/a.txt");
    }
}
