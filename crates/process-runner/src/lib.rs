#![doc = include_str!("../README.md")]

mod blocking;
mod capture;
pub mod cgroup;
pub mod confine;
mod contain;
pub mod error;
pub mod executor;
pub mod launcher;
pub mod local;
mod prepare;
pub mod procinfo;
pub mod pump;
mod runner;

pub use confine::{ConfineMode, ContainConfig, ContainError, Containment};
pub use error::{RunnerError, SpawnError};
pub use executor::{Executor, Executors, Job, Lines, Outcome, RawLines, Recovered, RunningJob};
pub use local::LocalExecutor;
pub use prepare::BaseEnv;
pub use runner::{Runner, RunnerConfig, StopResult};
