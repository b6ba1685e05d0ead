//! HTTP routes, one resource per module, each with its `configure`.

pub mod bitstreams;
pub mod processes;
pub mod root;
pub mod scripts;
