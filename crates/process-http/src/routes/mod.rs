//! HTTP routes, one resource per module, each with its `configure`.

pub mod authn;
pub mod bitstreams;
pub mod epersons;
pub mod events;
pub mod files;
pub mod output;
pub mod processes;
pub mod root;
pub mod scripts;
pub mod ui;
pub mod uploads;
pub mod webhooks;
