//! Process statuses and failure reasons, with the one string form shared by the database and
//! the API.

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(
            feature = "serde",
            derive(serde::Serialize, serde::Deserialize),
            serde(try_from = "String", into = "&'static str")
        )]
        pub enum $name { $($variant),+ }

        impl From<$name> for &'static str {
            fn from(v: $name) -> &'static str {
                v.as_str()
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::error::ParseError;

            fn try_from(s: String) -> Result<Self, $crate::error::ParseError> {
                s.parse()
            }
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::error::ParseError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::error::ParseError::new(
                        $what,
                        s,
                        format!("one of {}", [$($text),+].join(", ")),
                    )),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// Where a process is in its life. SCHEDULED → RUNNING → COMPLETED | FAILED, and
    /// SCHEDULED → FAILED for a process that never ran.
    ProcessStatus, "processStatus" {
        Scheduled => "SCHEDULED",
        Running => "RUNNING",
        Completed => "COMPLETED",
        Failed => "FAILED",
    }
);

impl ProcessStatus {
    /// Terminal statuses never change again.
    pub fn is_terminal(self) -> bool {
        matches!(self, ProcessStatus::Completed | ProcessStatus::Failed)
    }
}

string_enum!(
    /// Why a process is FAILED (executors to come will add reasons).
    #[non_exhaustive]
    StatusReason, "statusReason" {
        Exit => "exit",
        Signal => "signal",
        Timeout => "timeout",
        Stopped => "stopped",
        Spawn => "spawn",
        Dependency => "dependency",
        Interrupted => "interrupted",
    }
);

string_enum!(
    /// Which stream a captured line came from.
    Stream, "stream" {
        Stdout => "stdout",
        Stderr => "stderr",
    }
);

string_enum!(
    /// When a process with dependencies may start: `afterok` needs every dependency
    /// COMPLETED; `afterany` only needs them finished.
    DependencyType, "dependencyType" {
        AfterOk => "afterok",
        AfterAny => "afterany",
    }
);

// The variants come from a macro that cannot carry `#[default]`.
#[expect(
    clippy::derivable_impls,
    reason = "string_enum! variants cannot carry #[default]"
)]
impl Default for DependencyType {
    fn default() -> Self {
        DependencyType::AfterOk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_string() {
        for s in ProcessStatus::ALL {
            assert_eq!(s.as_str().parse::<ProcessStatus>(), Ok(*s));
        }
        for r in StatusReason::ALL {
            assert_eq!(r.as_str().parse::<StatusReason>(), Ok(*r));
        }
    }

    #[test]
    fn parse_errors_list_the_valid_values() {
        let err = "DONE".parse::<ProcessStatus>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid processStatus \"DONE\": expected one of SCHEDULED, RUNNING, COMPLETED, FAILED"
        );
    }
}
