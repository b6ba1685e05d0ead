//! The small shared parse error: every string the API and the database share goes through a
//! `FromStr` that says which values would have been valid.

use std::fmt;

/// A value that could not be parsed, with what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub what: &'static str,
    pub value: String,
    pub expected: String,
}

impl ParseError {
    pub fn new(what: &'static str, value: impl Into<String>, expected: impl Into<String>) -> Self {
        Self {
            what,
            value: value.into(),
            expected: expected.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} {:?}: expected {}",
            self.what, self.value, self.expected
        )
    }
}

impl std::error::Error for ParseError {}
