//! File operations every crate that touches the data directory shares.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// Creates `path` (and missing parents) as directories only the service may enter.
pub fn private_dir(path: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

/// Hard-links `source` to `target`, or copies it where a link is impossible (another
/// filesystem, one without hard links). Either way removing one name leaves the other.
pub fn link_or_copy(source: &Path, target: &Path) -> io::Result<()> {
    if fs::hard_link(source, target).is_err() {
        fs::copy(source, target)?;
    }
    Ok(())
}

/// Copies the rest of `source` to the new file `target`, created read-only (0400). A script
/// gets such a copy of each input: whatever it does to it, the stored bytes (and their MD5)
/// stay as they were received, which a hard link would not guarantee.
pub fn read_only_copy(source: &mut File, target: &Path) -> io::Result<u64> {
    let mut out = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o400)
        .open(target)?;
    io::copy(source, &mut out)
}

/// Removes a file, ignoring one that is already gone. Other failures are logged, not
/// returned: the rows are already settled, and a leftover file harms nobody.
pub fn remove_quietly(path: &Path) {
    if let Err(e) = fs::remove_file(path) {
        if e.kind() != io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "could not remove file");
        }
    }
}

/// The disk holding the data directory is full (ENOSPC): a reason to answer 507 or retry
/// later, not a bug.
pub fn is_disk_full(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::StorageFull
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_is_disk_full() {
        assert!(is_disk_full(&io::Error::from_raw_os_error(28)));
        assert!(!is_disk_full(&io::Error::from_raw_os_error(2)));
        assert!(!is_disk_full(&io::Error::other("x")));
    }

    #[test]
    fn links_and_removes() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, b"bytes").unwrap();
        link_or_copy(&a, &b).unwrap();
        remove_quietly(&a);
        remove_quietly(&a);
        assert_eq!(fs::read(&b).unwrap(), b"bytes");
    }

    #[test]
    fn read_only_copies_are_separate_and_read_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, b"bytes").unwrap();
        assert_eq!(read_only_copy(&mut File::open(&a).unwrap(), &b).unwrap(), 5);
        let meta = fs::metadata(&b).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o400);
        assert_ne!(
            std::os::unix::fs::MetadataExt::ino(&meta),
            std::os::unix::fs::MetadataExt::ino(&fs::metadata(&a).unwrap())
        );
        assert!(
            read_only_copy(&mut File::open(&a).unwrap(), &b).is_err(),
            "never overwrites"
        );
    }
}
