//! The runner's errors: why a job could not start, and why the runner could not do what it
//! was asked.

use std::io;

use process_core::ScriptName;

/// Any error of the repository or the output log, kept whole so the caller can look inside.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a process could not be started. Recorded as the closing line of a FAILED `spawn`.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("script {0} is no longer configured")]
    ScriptGone(ScriptName),
    #[error("no executor named {0:?} is configured")]
    NoExecutor(String),
    #[error("cannot read input files: {0}")]
    Inputs(#[source] BoxError),
    #[error("cannot prepare the run: {0}")]
    Prepare(#[source] io::Error),
    #[error("cannot contain the run: {0}")]
    Contain(String),
    #[error("the script's command is empty")]
    EmptyCommand,
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },
    #[error("lost the child: {0}")]
    Lost(#[source] io::Error),
    /// The run's task panicked; the message is the panic's.
    #[error("internal error: {0}")]
    Internal(String),
}

/// A runner operation failed because the repository or the output log did.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("process repository: {0}")]
    Repository(#[source] BoxError),
    #[error("output log: {0}")]
    Output(#[source] BoxError),
}

impl RunnerError {
    /// The error of the port that failed, for whoever knows its type to map it.
    pub fn into_cause(self) -> BoxError {
        match self {
            RunnerError::Repository(e) | RunnerError::Output(e) => e,
        }
    }
}
