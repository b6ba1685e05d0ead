//! Validation of a launch request's parameters against a script's schema, and the argv that
//! the validated parameters produce.

use std::collections::HashSet;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use crate::script::{ParamType, Script};

/// Longest accepted parameter value, in bytes.
pub const MAX_VALUE_LEN: usize = 8 * 1024;
/// Most parameters accepted in one launch.
pub const MAX_PARAMS: usize = 256;

/// A parameter as a client sent it (`{"name": "-f", "value": "data.csv"}`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RawParam {
    pub name: String,
    pub value: Option<String>,
}

/// A validated parameter, as stored and shown. Booleans are `"true"`/`"false"`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Param {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    #[error("missing mandatory parameter {name}")]
    Missing { name: String },
    #[error("unknown parameter {name}")]
    Unknown { name: String },
    #[error("parameter {name} was given more than once")]
    Duplicate { name: String },
    #[error("parameter {name} must be {expected}, got {value:?}")]
    WrongType {
        name: String,
        expected: &'static str,
        value: String,
    },
    #[error("parameter {name} contains a NUL byte")]
    NulByte { name: String },
    #[error("parameter {name} is longer than {max} bytes")]
    TooLong { name: String, max: usize },
    #[error("too many parameters: at most {max}")]
    TooMany { max: usize },
    #[error("parameter {name} names file {file:?}, which was not uploaded")]
    FileNotSent { name: String, file: String },
    #[error("two uploaded files are named {file:?}")]
    DuplicateFile { file: String },
    #[error("uploaded file {file:?} is not the value of any file parameter")]
    FileNotUsed { file: String },
    #[error("parameter {name}: value {value:?} starts with - and would be taken for an option")]
    OptionLike { name: String, value: String },
}

/// Checks `raw` against `script`'s parameters. `sent` are the names of the files sent with
/// the request, each of which a file parameter must name (an unused upload would only fill the
/// disk); `session` those of an upload session the launch takes, which may hold more. Returns
/// the parameters in the order sent, normalized.
pub fn validate(
    script: &Script,
    raw: &[RawParam],
    sent: &[&str],
    session: &[&str],
) -> Result<Vec<Param>, ValidationError> {
    if raw.len() > MAX_PARAMS {
        return Err(ValidationError::TooMany { max: MAX_PARAMS });
    }
    let mut files = HashSet::new();
    for name in sent.iter().chain(session) {
        if !files.insert(*name) {
            return Err(ValidationError::DuplicateFile {
                file: (*name).to_owned(),
            });
        }
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for p in raw {
        let Some(spec) = script.parameter(&p.name) else {
            return Err(ValidationError::Unknown {
                name: p.name.clone(),
            });
        };
        if !seen.insert(spec.name.as_str()) {
            return Err(ValidationError::Duplicate {
                name: p.name.clone(),
            });
        }
        let value = p.value.as_deref().unwrap_or("");
        if value.contains('\0') {
            return Err(ValidationError::NulByte {
                name: p.name.clone(),
            });
        }
        if value.len() > MAX_VALUE_LEN {
            return Err(ValidationError::TooLong {
                name: p.name.clone(),
                max: MAX_VALUE_LEN,
            });
        }
        if spec.ty == ParamType::String && value.starts_with('-') && !spec.allow_leading_dash {
            return Err(ValidationError::OptionLike {
                name: p.name.clone(),
                value: value.to_owned(),
            });
        }
        let value = normalize(&p.name, spec.ty, value)?;
        if spec.ty == ParamType::File && !files.contains(value.as_str()) {
            return Err(ValidationError::FileNotSent {
                name: p.name.clone(),
                file: value,
            });
        }
        out.push(Param {
            name: p.name.clone(),
            value,
        });
    }
    if let Some(missing) = script
        .parameters
        .iter()
        .find(|spec| spec.mandatory && !seen.contains(spec.name.as_str()))
    {
        return Err(ValidationError::Missing {
            name: missing.name.clone(),
        });
    }
    let named = |file: &str| {
        out.iter().any(|p| {
            p.value == file && script.parameter(&p.name).map(|s| s.ty) == Some(ParamType::File)
        })
    };
    if let Some(unused) = sent.iter().find(|f| !named(f)) {
        return Err(ValidationError::FileNotUsed {
            file: (*unused).to_owned(),
        });
    }
    Ok(out)
}

fn normalize(name: &str, ty: ParamType, value: &str) -> Result<String, ValidationError> {
    let wrong = |expected: &'static str| ValidationError::WrongType {
        name: name.to_owned(),
        expected,
        value: value.to_owned(),
    };
    match ty {
        ParamType::String => Ok(value.to_owned()),
        ParamType::Integer => value
            .trim()
            .parse::<i64>()
            .map(|n| n.to_string())
            .map_err(|_| wrong("an integer")),
        ParamType::Boolean => match value {
            "" | "true" => Ok("true".to_owned()),
            "false" => Ok("false".to_owned()),
            _ => Err(wrong("true or false")),
        },
        ParamType::Date => {
            let ymd = format_description!("[year]-[month]-[day]");
            if Date::parse(value, ymd).is_ok() || OffsetDateTime::parse(value, &Rfc3339).is_ok() {
                Ok(value.to_owned())
            } else {
                Err(wrong("a date (YYYY-MM-DD or RFC 3339)"))
            }
        }
        ParamType::File if value.is_empty() => Err(wrong("the name of an uploaded file")),
        ParamType::File => Ok(value.to_owned()),
    }
}

/// The argv of a run: the script's command, then each parameter's name and value in the order
/// sent. A true boolean is the flag alone, a false one is left out. `file_path` maps an
/// uploaded file's name to the path the script sees.
pub fn argv(script: &Script, params: &[Param], file_path: impl Fn(&str) -> String) -> Vec<String> {
    let mut argv = script.command.clone();
    for p in params {
        match script.parameter(&p.name).map(|s| s.ty) {
            Some(ParamType::Boolean) => {
                if p.value == "true" {
                    argv.push(p.name.clone());
                }
            }
            Some(ParamType::File) => {
                argv.push(p.name.clone());
                argv.push(file_path(&p.value));
            }
            _ => {
                argv.push(p.name.clone());
                argv.push(p.value.clone());
            }
        }
    }
    argv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::{ParameterSpec, Principal, ScriptName};

    fn spec(name: &str, long: &str, ty: ParamType, mandatory: bool) -> ParameterSpec {
        ParameterSpec {
            name: name.into(),
            long: Some(long.into()),
            ty,
            mandatory,
            description: String::new(),
            allow_leading_dash: false,
        }
    }

    fn script() -> Script {
        Script {
            name: ScriptName::parse("import").unwrap(),
            description: String::new(),
            command: vec!["/bin/echo".into()],
            allowed: vec![Principal::Admin],
            max_clock_time: None,
            env: Default::default(),
            executor: None,
            parameters: vec![
                spec("-f", "--file", ParamType::File, true),
                spec("-n", "--count", ParamType::Integer, false),
                spec("-v", "--verbose", ParamType::Boolean, false),
                spec("-d", "--date", ParamType::Date, false),
                spec("-s", "--say", ParamType::String, false),
            ],
        }
    }

    fn raw(pairs: &[(&str, &str)]) -> Vec<RawParam> {
        pairs
            .iter()
            .map(|(n, v)| RawParam {
                name: (*n).into(),
                value: Some((*v).into()),
            })
            .collect()
    }

    fn check(pairs: &[(&str, &str)], files: &[&str], expected: Result<Vec<(&str, &str)>, &str>) {
        let got = validate(&script(), &raw(pairs), files, &[])
            .map(|ps| {
                ps.into_iter()
                    .map(|p| (p.name, p.value))
                    .collect::<Vec<_>>()
            })
            .map_err(|e| e.to_string());
        let expected = expected
            .map(|v| {
                v.into_iter()
                    .map(|(n, v)| (n.to_owned(), v.to_owned()))
                    .collect()
            })
            .map_err(str::to_owned);
        assert_eq!(got, expected, "{pairs:?} {files:?}");
    }

    #[test]
    fn validation_table() {
        check(&[("-f", "a.csv")], &["a.csv"], Ok(vec![("-f", "a.csv")]));
        check(
            &[("--file", "a.csv"), ("-n", " 42"), ("-v", "")],
            &["a.csv"],
            Ok(vec![("--file", "a.csv"), ("-n", "42"), ("-v", "true")]),
        );
        check(&[], &[], Err("missing mandatory parameter -f"));
        check(&[("-x", "1")], &[], Err("unknown parameter -x"));
        check(
            &[("-f", "a"), ("-n", "ten")],
            &["a"],
            Err("parameter -n must be an integer, got \"ten\""),
        );
        check(
            &[("-f", "a"), ("-v", "yes")],
            &["a"],
            Err("parameter -v must be true or false, got \"yes\""),
        );
        check(
            &[("-f", "a"), ("-d", "2024-02-30")],
            &["a"],
            Err("parameter -d must be a date (YYYY-MM-DD or RFC 3339), got \"2024-02-30\""),
        );
        check(
            &[("-f", "a"), ("-d", "2024-02-03T10:00:00Z")],
            &["a"],
            Ok(vec![("-f", "a"), ("-d", "2024-02-03T10:00:00Z")]),
        );
        check(
            &[("-f", "a"), ("-s", "--output=/etc/passwd")],
            &["a"],
            Err("parameter -s: value \"--output=/etc/passwd\" starts with - and would be taken for an option"),
        );
        // Numbers may be negative: they are checked and rewritten as numbers.
        check(
            &[("-f", "a"), ("-n", "-5")],
            &["a"],
            Ok(vec![("-f", "a"), ("-n", "-5")]),
        );
        check(
            &[("-f", "a"), ("-s", "x\0y")],
            &["a"],
            Err("parameter -s contains a NUL byte"),
        );
        check(
            &[("-f", "a"), ("--file", "a")],
            &["a"],
            Err("parameter --file was given more than once"),
        );
        check(
            &[("-f", "b.csv")],
            &["a.csv"],
            Err("parameter -f names file \"b.csv\", which was not uploaded"),
        );
        check(
            &[("-f", "a")],
            &["a", "a"],
            Err("two uploaded files are named \"a\""),
        );
        check(
            &[("-f", "a")],
            &["a", "extra.bin"],
            Err("uploaded file \"extra.bin\" is not the value of any file parameter"),
        );
        // A string parameter that happens to name the file does not use it.
        check(
            &[("-f", "a"), ("-s", "extra.bin")],
            &["a", "extra.bin"],
            Err("uploaded file \"extra.bin\" is not the value of any file parameter"),
        );
    }

    #[test]
    fn upload_session_files_may_go_unused_and_be_named() {
        let session = ["a", "unused"];
        let got = validate(&script(), &raw(&[("-f", "a")]), &[], &session).unwrap();
        assert_eq!(got.len(), 1);
        let err = validate(&script(), &raw(&[("-f", "a")]), &["a"], &["a"]).unwrap_err();
        assert!(matches!(err, ValidationError::DuplicateFile { .. }));
    }

    #[test]
    fn over_long_values_are_refused() {
        let long = "x".repeat(MAX_VALUE_LEN + 1);
        let err =
            validate(&script(), &raw(&[("-f", "a"), ("-s", &long)]), &["a"], &[]).unwrap_err();
        assert!(matches!(err, ValidationError::TooLong { .. }));
    }

    #[test]
    fn argv_follows_the_protocol() {
        let params = validate(
            &script(),
            &raw(&[("-s", "a; rm -rf /"), ("-v", "true"), ("-f", "in.csv")]),
            &["in.csv"],
            &[],
        )
        .unwrap();
        let argv = argv(&script(), &params, |name| format!("/work/{name}"));
        assert_eq!(
            argv,
            ["/bin/echo", "-s", "a; rm -rf /", "-v", "-f", "/work/in.csv"]
        );
        let off = vec![Param {
            name: "-v".into(),
            value: "false".into(),
        }];
        assert_eq!(argv_of(&off), ["/bin/echo"]);
    }

    fn argv_of(params: &[Param]) -> Vec<String> {
        argv(&script(), params, |n| n.to_owned())
    }
}
