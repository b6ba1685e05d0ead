#![doc = include_str!("../README.md")]

mod blocking;
mod capture;
pub mod error;
pub mod executor;
pub mod local;
mod outputs;
mod prepare;
pub mod procinfo;
pub mod pump;
pub mod retention;
mod runner;

pub use error::{RunnerError, SpawnError};
pub use executor::{Executor, Executors, Job, Lines, Outcome, RawLine, Recovered, RunningJob};
pub use local::LocalExecutor;
pub use outputs::describe;
pub use prepare::BaseEnv;
pub use runner::{Runner, RunnerConfig, StopResult};
