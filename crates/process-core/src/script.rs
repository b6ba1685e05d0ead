//! Script definitions: what may be run, with which parameters, by whom.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::error::ParseError;

/// A script's name: `[a-z0-9][a-z0-9._-]*`, at most 64 characters. It appears in URLs, so
/// nothing else is accepted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "String", into = "String")
)]
pub struct ScriptName(String);

impl ScriptName {
    pub const MAX_LEN: usize = 64;

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let mut chars = s.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let rest_ok =
            chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
        if first_ok && rest_ok && s.len() <= Self::MAX_LEN {
            Ok(Self(s.to_owned()))
        } else {
            Err(ParseError::new(
                "script name",
                s,
                "[a-z0-9][a-z0-9._-]*, at most 64 characters",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ScriptName {
    type Error = ParseError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<ScriptName> for String {
    fn from(name: ScriptName) -> String {
        name.0
    }
}

impl fmt::Display for ScriptName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The type of a script parameter, as written in the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParamType {
    String,
    Integer,
    Boolean,
    Date,
    File,
}

impl ParamType {
    /// The name used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Integer => "integer",
            ParamType::Boolean => "boolean",
            ParamType::Date => "date",
            ParamType::File => "file",
        }
    }

    /// The name the DSpace server sends on the wire and its UI relies on.
    pub fn dspace_name(self) -> &'static str {
        match self {
            ParamType::String => "String",
            ParamType::Integer => "Integer",
            ParamType::Boolean => "boolean",
            ParamType::Date => "date",
            ParamType::File => "InputStream",
        }
    }
}

impl FromStr for ParamType {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "string" => Ok(ParamType::String),
            "integer" => Ok(ParamType::Integer),
            "boolean" => Ok(ParamType::Boolean),
            "date" => Ok(ParamType::Date),
            "file" => Ok(ParamType::File),
            _ => Err(ParseError::new(
                "parameter type",
                s,
                "one of string, integer, boolean, date, file",
            )),
        }
    }
}

/// One parameter a script accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterSpec {
    /// DSpace style short name (`-f`), as clients send it.
    pub name: String,
    /// Optional long name (`--file`); clients may send either.
    pub long: Option<String>,
    pub ty: ParamType,
    pub mandatory: bool,
    pub description: String,
    /// Whether a string value may start with `-`. Off by default: an argparse-style script
    /// would take such a value for one of its options.
    pub allow_leading_dash: bool,
}

impl ParameterSpec {
    pub fn matches(&self, sent: &str) -> bool {
        self.name == sent || self.long.as_deref() == Some(sent)
    }
}

/// Who may start a script.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Principal {
    Anonymous,
    Authenticated,
    Admin,
    Group(String),
}

impl Principal {
    pub fn parse(s: &str) -> Self {
        match s {
            "anonymous" => Principal::Anonymous,
            "authenticated" => Principal::Authenticated,
            "admin" => Principal::Admin,
            group => Principal::Group(group.to_owned()),
        }
    }
}

/// A registered script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub name: ScriptName,
    pub description: String,
    /// The argv prefix. Never passed through a shell.
    pub command: Vec<String>,
    pub allowed: Vec<Principal>,
    pub max_clock_time: Option<Duration>,
    pub env: BTreeMap<String, String>,
    pub parameters: Vec<ParameterSpec>,
    /// The executor that runs it, by name; `None` for the node's default.
    pub executor: Option<String>,
}

impl Script {
    pub fn parameter(&self, sent: &str) -> Option<&ParameterSpec> {
        self.parameters.iter().find(|p| p.matches(sent))
    }
}

/// The registered scripts, by name, in configuration order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    scripts: Vec<Script>,
}

impl Catalog {
    /// Builds a catalog; names must be unique.
    pub fn new(scripts: Vec<Script>) -> Result<Self, ParseError> {
        for (i, s) in scripts.iter().enumerate() {
            if scripts[..i].iter().any(|o| o.name == s.name) {
                return Err(ParseError::new(
                    "script name",
                    s.name.as_str(),
                    "a unique name",
                ));
            }
        }
        Ok(Self { scripts })
    }

    pub fn get(&self, name: &str) -> Option<&Script> {
        self.scripts.iter().find(|s| s.name.as_str() == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Script> {
        self.scripts.iter()
    }
}

/// Parses durations such as `90s`, `15m`, `2h`, `1d` or `1h30m`.
pub fn parse_duration(s: &str) -> Result<Duration, ParseError> {
    let err = || ParseError::new("duration", s, "a duration like 90s, 15m, 2h or 1h30m");
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut seen_unit = false;
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(err()),
        };
        let n: u64 = digits.parse().map_err(|_| err())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(err)?;
        digits.clear();
        seen_unit = true;
    }
    if !digits.is_empty() || !seen_unit || total == 0 {
        return Err(err());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_name(input: &str, ok: bool) {
        assert_eq!(ScriptName::parse(input).is_ok(), ok, "{input:?}");
    }

    #[test]
    fn script_names() {
        check_name("metadata-import", true);
        check_name("a", true);
        check_name("v1.2_x", true);
        check_name("", false);
        check_name("-x", false);
        check_name("Upper", false);
        check_name("../etc", false);
        check_name("a b", false);
        check_name(&"a".repeat(65), false);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5w").is_err());
    }

    #[test]
    fn wire_type_names_follow_dspace() {
        assert_eq!(ParamType::File.dspace_name(), "InputStream");
        assert_eq!(ParamType::String.dspace_name(), "String");
        assert_eq!("integer".parse::<ParamType>(), Ok(ParamType::Integer));
    }
}
