//! The one protocol for received bytes: staged in `tmp/` under a fresh id, committed to their
//! place by a rename, removed by whoever drops them first if they never get there.
//!
//! A launch commits its files to `files/<uuid>` before the transaction that stores the process
//! (the [`Placed`] files are removed if that transaction fails); an upload session commits
//! inside the transaction that marks its file UPLOADED, so the bytes are in place exactly when
//! the row says so. A crash between the steps leaves files no row refers to, which
//! housekeeping removes ([`Layout::clear_tmp`], [`Layout::inputs_older_than`]).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use process_core::FileId;
use uuid::Uuid;

use crate::checksum::Checksum;
use crate::layout::{InFlight, Layout};
use crate::ops::{link_or_copy, remove_quietly};

/// Bytes being received into `tmp/<fresh uuid>`, not yet in their place. Removed on drop
/// unless committed.
///
/// The receiver creates the file at [`Staged::path`], passes each piece it writes to
/// [`Staged::record`] and syncs the file before [`Staged::commit`]; [`Staged::write_from`]
/// does all of that for a blocking reader. (processd's HTTP layer writes asynchronously.)
#[derive(Debug)]
pub struct Staged {
    id: FileId,
    path: PathBuf,
    sum: Checksum,
    committed: bool,
    layout: Layout,
    _in_flight: InFlight,
}

impl Staged {
    /// Names a new file in `tmp/`; nothing is created yet.
    pub fn new(layout: &Layout) -> Self {
        let id = FileId::from_uuid(Uuid::new_v4());
        let path = layout.tmp_path(id);
        Self {
            id,
            _in_flight: layout.in_flight(&path),
            path,
            sum: Checksum::default(),
            committed: false,
            layout: layout.clone(),
        }
    }

    /// The fresh id the file is staged under; a launch keeps it for the input file.
    pub fn id(&self) -> FileId {
        self.id
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Counts and hashes bytes just written to the file.
    pub fn record(&mut self, bytes: &[u8]) {
        self.sum.update(bytes);
    }

    /// Bytes recorded so far.
    pub fn size(&self) -> u64 {
        self.sum.size()
    }

    /// Size and lower-case hex MD5 of the bytes recorded.
    pub fn checksum(&self) -> (u64, String) {
        self.sum.value()
    }

    /// Creates the file and writes everything `reader` gives, then syncs it.
    pub fn write_from(&mut self, mut reader: impl Read) -> io::Result<()> {
        let mut out = File::create(&self.path)?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n])?;
            self.record(&buf[..n]);
        }
        out.sync_all()
    }

    /// Moves the synced bytes to `target` (under the same data directory, so a rename). On
    /// failure the staged file is removed.
    pub fn commit(mut self, target: &Path) -> io::Result<Placed> {
        // Marked at its new place before it gets there, so no sweep sees it unmarked.
        let in_flight = self.layout.in_flight(target);
        fs::rename(&self.path, target)?;
        self.committed = true;
        Ok(Placed::new(target.to_owned(), in_flight))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            remove_quietly(&self.path);
        }
    }
}

/// A file in its final place that no committed row refers to yet. Removed on drop unless
/// kept, so a failed transaction leaves no file behind.
#[derive(Debug)]
pub struct Placed {
    path: PathBuf,
    kept: bool,
    /// Held, never read: dropped after the file is kept or removed.
    _in_flight: InFlight,
}

impl Placed {
    fn new(path: PathBuf, in_flight: InFlight) -> Self {
        Self {
            path,
            kept: false,
            _in_flight: in_flight,
        }
    }

    /// Hard-links (or copies) `source` to the new file `target`.
    pub fn link(layout: &Layout, source: &Path, target: PathBuf) -> io::Result<Self> {
        let in_flight = layout.in_flight(&target);
        link_or_copy(source, &target)?;
        Ok(Self::new(target, in_flight))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A committed row refers to the file now: it stays.
    pub fn keep(mut self) -> PathBuf {
        self.kept = true;
        std::mem::take(&mut self.path)
    }
}

impl Drop for Placed {
    fn drop(&mut self) {
        // While unwinding nobody knows whether the row was committed: the file stays, and
        // housekeeping removes it later if no row refers to it.
        if !self.kept && !std::thread::panicking() {
            remove_quietly(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> (tempfile::TempDir, Layout) {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        layout.ensure().unwrap();
        (dir, layout)
    }

    #[test]
    fn committed_bytes_move_and_stay_when_kept() {
        let (_dir, layout) = layout();
        let mut staged = Staged::new(&layout);
        staged.write_from(&b"hello"[..]).unwrap();
        assert_eq!(
            staged.checksum(),
            (5, "5d41402abc4b2a76b9719d911017c592".to_owned())
        );
        let tmp = staged.path().to_owned();
        let id = staged.id();
        assert_eq!(tmp, layout.tmp_path(id));
        let placed = staged.commit(&layout.input_path(id)).unwrap();
        assert!(!tmp.exists());
        let path = placed.keep();
        assert_eq!(fs::read(path).unwrap(), b"hello");
    }

    #[test]
    fn dropped_files_are_removed() {
        let (_dir, layout) = layout();
        let mut staged = Staged::new(&layout);
        staged.write_from(&b"x"[..]).unwrap();
        let tmp = staged.path().to_owned();
        drop(staged);
        assert!(!tmp.exists());

        let mut staged = Staged::new(&layout);
        staged.write_from(&b"x"[..]).unwrap();
        let target = layout.input_path(FileId::from_uuid(Uuid::new_v4()));
        let placed = staged.commit(&target).unwrap();
        let link = Placed::link(
            &layout,
            &target,
            layout.input_path(FileId::from_uuid(Uuid::new_v4())),
        );
        let link = link.unwrap();
        let linked = link.path().to_owned();
        drop((placed, link));
        assert!(!target.exists() && !linked.exists());
        assert_eq!(fs::read_dir(layout.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn a_failed_commit_removes_the_staged_file() {
        let (_dir, layout) = layout();
        let mut staged = Staged::new(&layout);
        staged.write_from(&b"x"[..]).unwrap();
        let target = layout.root().join("missing/dir/file");
        assert!(staged.commit(&target).is_err());
        assert_eq!(fs::read_dir(layout.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn files_in_flight_are_never_swept_however_old() {
        use std::time::Duration;
        let (_dir, layout) = layout();
        let mut staged = Staged::new(&layout);
        staged.write_from(&b"x"[..]).unwrap();
        // A zero age makes every file a candidate: only the in-flight mark protects it.
        assert_eq!(layout.clear_tmp(Duration::ZERO), 0);
        assert!(staged.path().exists());
        let target = layout.input_path(staged.id());
        let placed = staged.commit(&target).unwrap();
        assert!(
            !layout.remove_leftover(&target),
            "placed, row not committed yet"
        );
        assert!(target.exists());
        let kept = placed.keep();
        // Once kept, the row owns it; housekeeping asks the database before removing it.
        assert!(layout.remove_leftover(&kept));

        let source = layout.root().join("source");
        fs::write(&source, b"y").unwrap();
        let link_target = layout.input_path(FileId::from_uuid(Uuid::new_v4()));
        let link = Placed::link(&layout, &source, link_target.clone()).unwrap();
        assert!(!layout.remove_leftover(&link_target));
        drop(link);
        assert!(!link_target.exists());
    }
}
