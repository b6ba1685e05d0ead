//! The JSON resources of the API. Each is built from core types at the edge; core types
//! carry no serialization of their own.

pub mod authn;
pub mod bitstream;
pub mod eperson;
pub mod event;
pub mod output;
pub mod pages;
pub mod process;
pub mod requests;
pub mod responses;
pub mod root;
pub mod script;
pub mod upload;

pub use bitstream::BitstreamResource;
pub use process::ProcessResource;
pub use script::ScriptResource;
