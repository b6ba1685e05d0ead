#![doc = include_str!("../README.md")]

mod beneath;
mod checksum;
mod console;
mod layout;
mod ops;
mod outputs;
mod secret;
mod staged;

pub use beneath::{open_beneath, StoredFileError};
pub use checksum::{describe, describe_file, Checksum};
pub use console::FileLog;
pub use layout::Layout;
pub use ops::{is_disk_full, link_or_copy, private_dir, read_only_copy, remove_quietly};
pub use outputs::{collect_outputs, MAX_OUTPUT_FILES};
pub use secret::read_secret;
pub use staged::{Placed, Staged};
