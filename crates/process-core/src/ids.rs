//! Identifiers. Processes have small integers (the DSpace contract sends them as strings);
//! users and files have UUIDs.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::error::ParseError;

/// A process's id: a positive integer assigned by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "i64", into = "i64")
)]
pub struct ProcessId(i64);

impl ProcessId {
    /// Accepts only positive ids, so a negative or zero id from a client is a parse error
    /// rather than a query that silently finds nothing.
    pub fn new(raw: i64) -> Result<Self, ParseError> {
        if raw > 0 {
            Ok(Self(raw))
        } else {
            Err(ParseError::new(
                "processId",
                raw.to_string(),
                "a positive integer",
            ))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for ProcessId {
    type Error = ParseError;

    fn try_from(raw: i64) -> Result<Self, Self::Error> {
        Self::new(raw)
    }
}

impl From<ProcessId> for i64 {
    fn from(id: ProcessId) -> i64 {
        id.0
    }
}

impl FromStr for ProcessId {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let raw: i64 = s
            .trim()
            .parse()
            .map_err(|_| ParseError::new("processId", s, "a positive integer"))?;
        Self::new(raw)
    }
}

impl fmt::Display for ProcessId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

macro_rules! uuid_id {
    ($name:ident, $what:literal) => {
        #[doc = concat!("The UUID of a ", $what, ".")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[cfg_attr(
            feature = "serde",
            derive(serde::Serialize, serde::Deserialize),
            serde(transparent)
        )]
        pub struct $name(Uuid);

        impl $name {
            pub fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = ParseError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|_| ParseError::new($what, s, "a UUID"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

uuid_id!(UserId, "userId");
uuid_id!(FileId, "fileId");
uuid_id!(UploadId, "uploadDefinitionId");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_ids_must_be_positive() {
        assert_eq!("7".parse::<ProcessId>().map(ProcessId::get), Ok(7));
        assert!("0".parse::<ProcessId>().is_err());
        assert!("-3".parse::<ProcessId>().is_err());
        assert!("abc".parse::<ProcessId>().is_err());
        assert!("99999999999999999999".parse::<ProcessId>().is_err());
    }

    #[test]
    fn uuid_ids_round_trip() {
        let id: UserId = "aa0263e2-b90a-4528-89fa-116ea4859de1".parse().unwrap();
        assert_eq!(id.to_string(), "aa0263e2-b90a-4528-89fa-116ea4859de1");
        assert!("nope".parse::<FileId>().is_err());
    }
}
