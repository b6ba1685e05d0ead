//! One module per scenario; each measures processd and its baseline in the same run and adds
//! rows to the table and keys to the JSON line.

pub mod capture;
pub mod download;
pub mod launch;
pub mod list;
pub mod memory;

/// A number for the table: no decimals from 100 up, two below.
pub fn fmt(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}
