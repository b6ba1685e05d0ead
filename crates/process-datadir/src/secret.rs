//! Secrets the service keeps on disk, such as the JWT signing key: one file each under
//! `secrets/`, mode 0600 in a 0700 directory, never in the database (whose rows a backup, a
//! replica or a script reading the database would carry along).

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::layout::Layout;
use crate::ops::private_dir;

/// Reads the secret at `path`, tightening its mode to 0600 if someone loosened it.
pub fn read_secret(path: &Path) -> io::Result<String> {
    let mut text = String::new();
    fs::File::open(path)?.read_to_string(&mut text)?;
    let mode = fs::metadata(path)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "secret file was readable by others; made 0600");
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    }
    let secret = text.trim().to_owned();
    if secret.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("secret file {} is empty", path.display()),
        ));
    }
    Ok(secret)
}

impl Layout {
    /// The secret `name` from `secrets/<name>`, created from `initial` (called only when there
    /// is none yet) with mode 0600. Two nodes racing to create it both end up with the one
    /// written first: the file is created exclusively and synced before anyone reads it.
    pub fn secret(&self, name: &str, initial: impl FnOnce() -> String) -> io::Result<String> {
        let dir = self.root().join("secrets");
        private_dir(&dir)?;
        let path = dir.join(name);
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path);
        match created {
            Ok(mut file) => {
                let value = initial();
                let written = file
                    .write_all(value.as_bytes())
                    .and_then(|()| file.sync_all());
                if let Err(e) = written {
                    // A half-written key must not be read by the next start.
                    let _ = fs::remove_file(&path);
                    return Err(e);
                }
                Ok(value)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => read_secret(&path),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_created_once_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        layout.ensure().unwrap();
        let first = layout.secret("k", || "s3cret".to_owned()).unwrap();
        assert_eq!(first, "s3cret");
        let again = layout
            .secret("k", || unreachable!("the key exists"))
            .unwrap();
        assert_eq!(again, "s3cret");
        let path = dir.path().join("secrets/k");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(dir.path().join("secrets"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(read_secret(&path).unwrap(), "s3cret");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
