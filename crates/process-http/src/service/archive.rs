//! All files of a process as one zip, written on a blocking thread into a bounded channel
//! that the response streams from: memory stays small whatever the total size.

use std::collections::HashSet;
use std::io::{self, Write};

use actix_web::web::Bytes;
use process_core::ProcessFile;
use process_datadir::Layout;
use tokio::sync::mpsc;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

const CHUNK: usize = 256 * 1024;

struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

/// A zip entry name that cannot escape the extraction directory: `<filetype>/<name>` with
/// `.`, `..` and empty segments dropped, made unique.
pub fn entry_name(file: &ProcessFile, used: &mut HashSet<String>) -> String {
    let clean: Vec<&str> = file
        .name
        .split(['/', '\\'])
        .filter(|s| !s.is_empty() && *s != "." && *s != "..")
        .collect();
    let base = if clean.is_empty() {
        format!("{}/{}", file.filetype, file.id)
    } else {
        format!("{}/{}", file.filetype, clean.join("/"))
    };
    let mut name = base.clone();
    let mut n = 2;
    while !used.insert(name.clone()) {
        name = format!("{base} ({n})");
        n += 1;
    }
    name
}

/// Starts writing the archive; the receiver yields its bytes.
pub fn stream(layout: Layout, files: Vec<ProcessFile>) -> mpsc::Receiver<io::Result<Bytes>> {
    let (tx, rx) = mpsc::channel(8);
    let err_tx = tx.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = write_zip(&layout, &files, tx) {
            if e.kind() != io::ErrorKind::BrokenPipe {
                tracing::error!(error = %e, "writing an archive failed");
                let _ = err_tx.blocking_send(Err(e));
            }
        }
    });
    rx
}

fn write_zip(
    layout: &Layout,
    files: &[ProcessFile],
    tx: mpsc::Sender<io::Result<Bytes>>,
) -> io::Result<()> {
    let mut zip = ZipWriter::new_stream(ChannelWriter {
        tx,
        buf: Vec::with_capacity(CHUNK),
    });
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .large_file(true);
    let mut used = HashSet::new();
    for f in files {
        // Only what was registered goes in: a symlink or a file of another size in its
        // place is left out like a missing one.
        let mut source = match layout.open_stored(f) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(file = %f.id, path = %f.storage_path, error = %e, "file left out of the archive");
                continue;
            }
        };
        zip.start_file(entry_name(f, &mut used), options)
            .map_err(io::Error::other)?;
        io::copy(&mut source, &mut zip)?;
    }
    let mut writer = zip.finish().map_err(io::Error::other)?;
    writer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use process_core::{FileId, ProcessId};

    fn file(name: &str, filetype: &str) -> ProcessFile {
        ProcessFile {
            id: FileId::from_uuid(uuid::Uuid::nil()),
            process_id: ProcessId::new(1).unwrap(),
            name: name.into(),
            filetype: filetype.into(),
            size_bytes: 0,
            md5: String::new(),
            storage_path: String::new(),
            creation_time: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn entry_names_stay_inside() {
        let mut used = HashSet::new();
        assert_eq!(
            entry_name(&file("../../etc/passwd", "inputFile"), &mut used),
            "inputFile/etc/passwd"
        );
        assert_eq!(
            entry_name(&file("/abs/x", "outputFile"), &mut used),
            "outputFile/abs/x"
        );
        assert_eq!(
            entry_name(&file("a.csv", "inputFile"), &mut used),
            "inputFile/a.csv"
        );
        assert_eq!(
            entry_name(&file("a.csv", "inputFile"), &mut used),
            "inputFile/a.csv (2)"
        );
        assert_eq!(
            entry_name(&file("..", "inputFile"), &mut used),
            "inputFile/00000000-0000-0000-0000-000000000000"
        );
    }
}
