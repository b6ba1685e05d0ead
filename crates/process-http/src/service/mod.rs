//! The application services behind the handlers: each combines authorization, the store and
//! the runner for one operation, so handlers stay thin.

pub mod archive;
pub mod authn;
pub mod body;
pub mod conditional;
pub mod console;
pub mod download;
pub mod events;
pub mod files;
pub mod launch;
pub mod log_sums;
pub mod output;
pub mod processes;
pub mod scripts;
pub mod uploads;
pub mod watch;
pub mod webhooks;
