//! Files that belong to a process: the inputs it was given and the outputs it produced.

use time::OffsetDateTime;

use crate::ids::{FileId, ProcessId};

/// Filetype of an uploaded input.
pub const INPUT_FILETYPE: &str = "inputFile";
/// Filetype of a file left at the top of the output directory.
pub const OUTPUT_FILETYPE: &str = "outputFile";

/// A stored file of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessFile {
    pub id: FileId,
    pub process_id: ProcessId,
    /// The display name (client's file name for inputs, relative name for outputs). Data,
    /// never a path.
    pub name: String,
    pub filetype: String,
    pub size_bytes: u64,
    /// Lower-case hex MD5 of the content.
    pub md5: String,
    /// Where the bytes are, relative to the data directory; chosen by the service.
    pub storage_path: String,
    pub creation_time: OffsetDateTime,
}

/// Is `s` usable as a filetype taken from an output subdirectory's name?
pub fn is_valid_filetype(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filetypes() {
        for ok in ["outputFile", "exportCSV", "a.b-c_d"] {
            assert!(is_valid_filetype(ok), "{ok}");
        }
        for bad in ["", ".hidden", "a b", "a/b", &"x".repeat(65)] {
            assert!(!is_valid_filetype(bad), "{bad}");
        }
    }
}
