//! What can go wrong talking to processd.

/// An error of a call: the service's own answer when it gave one.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// processd answered with an error status and its JSON error body.
    #[error("{status}: {message}")]
    Api {
        status: u16,
        /// The stable error code (`not_found`, `validation_failed`...).
        code: String,
        /// A message for people.
        message: String,
    },
    /// The request did not get an answer (connection refused, timeout...).
    #[error(transparent)]
    Transport(#[from] reqwest::Error),
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    /// A download's bytes do not have the MD5 the service announced.
    #[error("{name}: MD5 {actual} instead of {expected}")]
    Checksum {
        name: String,
        expected: String,
        actual: String,
    },
    /// An answer that is not what the API promises.
    #[error("unexpected answer: {0}")]
    Protocol(String),
}

impl Error {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
