#![doc = include_str!("../README.md")]

mod checksum;
mod layout;
mod ops;
mod outputs;
mod staged;

pub use checksum::{describe, Checksum};
pub use layout::Layout;
pub use ops::{is_disk_full, link_or_copy, private_dir, remove_quietly};
pub use outputs::{collect_outputs, MAX_OUTPUT_FILES};
pub use staged::{Placed, Staged};
