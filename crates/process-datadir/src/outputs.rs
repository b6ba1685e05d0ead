//! Registering what a script left in `$PROCESS_OUTPUT_DIR`: regular files at the top are
//! `outputFile`s, files under `<type>/` get filetype `<type>`. Entries are examined with
//! `lstat`: symlinks are never followed or registered.

use std::fs;
use std::io;
use std::path::Path;

use process_core::file::{is_valid_filetype, OUTPUT_FILETYPE};
use process_core::{FileId, ProcessFile, ProcessId};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::checksum::describe;
use crate::layout::Layout;

/// At most this many output files are registered per process.
pub const MAX_OUTPUT_FILES: usize = 10_000;

/// The files in `process`'s output directory, as rows to register (new ids, size and MD5).
/// A missing directory has none.
pub fn collect_outputs(
    layout: &Layout,
    process: ProcessId,
    now: OffsetDateTime,
) -> io::Result<Vec<ProcessFile>> {
    let root = layout.output_dir(process);
    let mut found = Vec::new();
    for entry in read_sorted(&root)? {
        let path = entry.path();
        let Some(meta) = readable(&path) else {
            continue;
        };
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if meta.file_type().is_file() {
            found.push((path, name, OUTPUT_FILETYPE.to_owned()));
        } else if meta.file_type().is_dir() && is_valid_filetype(&name) {
            if let Err(e) = walk(&path, "", &name, &mut found) {
                tracing::warn!(path = %path.display(), error = %e, "output directory partly skipped");
            }
        }
        if found.len() >= MAX_OUTPUT_FILES {
            break;
        }
    }
    found.truncate(MAX_OUTPUT_FILES);
    Ok(found
        .into_iter()
        .filter_map(|(path, name, filetype)| {
            let storage_path = layout.relative(&path)?;
            // One unreadable file (vanished, no permission) costs only itself.
            let (size_bytes, md5) = describe(&path)
                .map_err(|e| tracing::warn!(path = %path.display(), error = %e, "output file not registered"))
                .ok()?;
            Some(ProcessFile {
                id: FileId::from_uuid(Uuid::new_v4()),
                process_id: process,
                name,
                filetype,
                size_bytes,
                md5,
                storage_path,
                creation_time: now,
            })
        })
        .collect())
}

/// `lstat` of an entry, or None (logged) when it cannot be read.
fn readable(path: &Path) -> Option<fs::Metadata> {
    fs::symlink_metadata(path)
        .map_err(|e| tracing::warn!(path = %path.display(), error = %e, "output entry skipped"))
        .ok()
}

fn read_sorted(dir: &Path) -> io::Result<Vec<fs::DirEntry>> {
    let mut entries = match fs::read_dir(dir) {
        Ok(rd) => rd.collect::<io::Result<Vec<_>>>()?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    entries.sort_by_key(fs::DirEntry::file_name);
    Ok(entries)
}

/// Files below a filetype directory, named by their path relative to it.
fn walk(
    dir: &Path,
    prefix: &str,
    filetype: &str,
    found: &mut Vec<(std::path::PathBuf, String, String)>,
) -> io::Result<()> {
    for entry in read_sorted(dir)? {
        if found.len() >= MAX_OUTPUT_FILES {
            return Ok(());
        }
        let path = entry.path();
        let Some(meta) = readable(&path) else {
            continue;
        };
        let Some(name) = entry.file_name().to_str().map(|n| format!("{prefix}{n}")) else {
            continue;
        };
        if meta.file_type().is_file() {
            found.push((path, name, filetype.to_owned()));
        } else if meta.file_type().is_dir() {
            walk(&path, &format!("{name}/"), filetype, found)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
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
