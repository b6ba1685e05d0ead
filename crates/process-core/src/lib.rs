#![doc = include_str!("../README.md")]

pub mod auth;
pub mod dependency;
pub mod error;
pub mod file;
pub mod ids;
pub mod lifecycle;
pub mod output;
pub mod page;
pub mod params;
pub mod ports;
pub mod process;
pub mod query;
pub mod retention;
pub mod script;
// `string_enum!` is shared with `upload`, declared after it.
#[macro_use]
pub mod status;
pub mod event;
pub mod upload;

pub use auth::{AnonymousAccess, Caller, Denied, ListScope, User};
pub use error::ParseError;
pub use event::{Event, EventKind};
pub use file::ProcessFile;
pub use ids::{FileId, ProcessId, UploadId, UserId};
pub use lifecycle::{Transition, TransitionError};
pub use output::{LineRef, OutputBatch, OutputLine, OutputRange};
pub use page::{Page, PageRequest, Sort, SortDir, SortField};
pub use params::{Param, RawParam, ValidationError};
pub use ports::{Claim, NodeName, OutputLog, ProcessRepository, Unmet};
pub use process::{NewProcess, Process};
pub use query::{ParamFilter, ProcessQuery};
pub use script::{Catalog, ParamType, ParameterSpec, Principal, Script, ScriptName};
pub use status::{DependencyType, ProcessStatus, StatusReason, Stream};
pub use upload::{
    FileStatus, NewUploadFile, UploadDefinition, UploadError, UploadFile, UploadStatus,
};
