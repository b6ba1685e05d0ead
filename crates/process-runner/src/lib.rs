#![doc = include_str!("../README.md")]

mod blocking;
mod capture;
pub mod executor;
pub mod local;
mod prepare;
pub mod procinfo;
mod runner;

pub use executor::{Executor, Job, Outcome};
pub use local::LocalExecutor;
pub use prepare::BaseEnv;
pub use runner::{Runner, RunnerConfig, StopResult};
