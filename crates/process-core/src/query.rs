//! What a process listing asks for.

use crate::auth::ListScope;
use crate::ids::UserId;
use crate::page::{PageRequest, Sort};
use crate::params::Param;
use crate::script::ScriptName;
use crate::status::ProcessStatus;

/// `parameter.<name>=<value>`: a process matches when it was run with one of `names` (a
/// parameter's short and long form) set to `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamFilter {
    pub names: Vec<String>,
    pub value: String,
}

impl From<Param> for ParamFilter {
    fn from(p: Param) -> Self {
        Self {
            names: vec![p.name],
            value: p.value,
        }
    }
}

/// A filtered, sorted, paged listing of processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessQuery {
    pub scope: ListScope,
    pub script: Option<ScriptName>,
    pub user: Option<UserId>,
    pub status: Option<ProcessStatus>,
    /// `parameter.<name>=<value>` filters; all must match.
    pub parameters: Vec<ParamFilter>,
    pub sort: Sort,
    pub page: PageRequest,
}

impl ProcessQuery {
    pub fn new(scope: ListScope) -> Self {
        Self {
            scope,
            script: None,
            user: None,
            status: None,
            parameters: Vec::new(),
            sort: Sort::default(),
            page: PageRequest::default(),
        }
    }
}
