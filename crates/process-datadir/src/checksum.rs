//! Size and MD5 of bytes, computed in the one pass that writes or reads them.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use md5::{Digest, Md5};

/// Counts and hashes bytes as they go by.
#[derive(Clone, Default)]
pub struct Checksum {
    size: u64,
    md5: Md5,
}

impl std::fmt::Debug for Checksum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checksum")
            .field("size", &self.size)
            .finish()
    }
}

impl Checksum {
    pub fn update(&mut self, bytes: &[u8]) {
        self.size += bytes.len() as u64;
        self.md5.update(bytes);
    }

    /// Bytes seen so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The size and the lower-case hex MD5 of the bytes seen so far.
    pub fn value(&self) -> (u64, String) {
        (self.size, hex::encode(self.md5.clone().finalize()))
    }
}

/// Size and MD5 of a file, read in one streaming pass.
pub fn describe(path: &Path) -> io::Result<(u64, String)> {
    describe_file(&mut File::open(path)?)
}

/// Size and MD5 of the rest of an open file.
pub fn describe_file(file: &mut File) -> io::Result<(u64, String)> {
    let mut sum = Checksum::default();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        sum.update(&buf[..n]);
    }
    Ok(sum.value())
}
