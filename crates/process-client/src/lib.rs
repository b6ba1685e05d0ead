//! A typed async client of processd's REST API.
//!
//! ```no_run
//! use process_client::{Client, Launch};
//!
//! # async fn example() -> process_client::Result<()> {
//! let client = Client::new("http://127.0.0.1:8080").with_token("pd_...");
//! let process = client
//!     .launch("row-count", &Launch::new().file("-f", "items.csv").flag("--header"))
//!     .await?;
//! let done = client.wait(&process).await?;
//! println!("{:?}: {}", done.process_status, client.output(&done).await?);
//! # Ok(())
//! # }
//! ```
//!
//! It is what processd's command line uses, and what another service's integration tests can
//! use to drive a processd they start: `crates/process-http/examples/harness.rs` starts one
//! in-process on a free port, launches a script and waits for its outcome.

mod client;
mod error;
mod events;
mod files;
mod launch;
mod output;
mod processes;
mod types;

pub use client::{Client, ProcessRef};
pub use error::{Error, Result};
pub use launch::Launch;
pub use types::{
    Bitstream, Event, Line, Lines, Page, Param, ParameterSpec, Process, ProcessEvent, Script,
    Status, UploadFile, UploadSession, User,
};
