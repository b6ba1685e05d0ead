//! Reading, listing, stopping and deleting processes, always through the one authorization
//! rule of process-core.

use process_core::auth::{
    list_scope, may_access, may_modify, missing, require_admin, require_user,
};
use process_core::{
    Caller, Catalog, ListScope, Page, PageRequest, ParamFilter, Process, ProcessId, ProcessQuery,
    ProcessStatus, ScriptName, Sort, UserId,
};
use process_runner::StopResult;
use process_store::Waiters;
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::extract::ProcessAccess;
use crate::state::AppState;

/// The process `id` if `caller`, presenting `access`, may see it. A missing process and
/// someone else's get the same answer.
pub async fn visible(
    state: &AppState,
    caller: &Caller,
    access: &ProcessAccess,
    id: ProcessId,
) -> Result<Process, ApiError> {
    let process = state.db(move |s| s.get_process(id)).await?;
    match process {
        Some(p) => {
            let policy = state.config.anonymous_process_access;
            may_access(caller, p.owner, policy, access.opens(&p))?;
            Ok(p)
        }
        None => Err(missing(caller).into()),
    }
}

/// Which listing is asked for.
#[derive(Debug, Clone, Copy)]
pub enum Listing {
    /// `GET /api/system/processes`: admins all, users their own.
    All,
    /// `search/byProperty`: admins only.
    ByProperty,
    /// `search/own`: the caller's own.
    Own,
}

/// Builds the query of a listing from its query-string pairs and runs it.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    listing: Listing,
    pairs: &[(String, String)],
) -> Result<Page<Process>, ApiError> {
    let scope = match listing {
        Listing::All => list_scope(caller)?,
        Listing::ByProperty => {
            require_admin(caller)?;
            ListScope::All
        }
        Listing::Own => ListScope::OwnedBy(require_user(caller)?),
    };
    let query = parse_query(
        scope,
        pairs,
        &state.catalog,
        state.config.max_parameter_filters,
    )?;
    state.db(move |s| s.list_processes(&query)).await
}

fn parse_query(
    scope: ListScope,
    pairs: &[(String, String)],
    catalog: &Catalog,
    max_filters: usize,
) -> Result<ProcessQuery, ApiError> {
    // Each filter is a join in the query: checked before any work is done for them.
    let filters = pairs
        .iter()
        .filter(|(k, _)| k.starts_with("parameter."))
        .count();
    if filters > max_filters {
        return Err(ApiError::LimitExceeded(format!(
            "at most {max_filters} parameter.<name> filters per listing"
        )));
    }
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let mut q = ProcessQuery::new(scope);
    q.page = PageRequest::new(get("page"), get("size"))?;
    if let Some(sort) = get("sort") {
        q.sort = sort.parse::<Sort>()?;
    }
    if let Some(name) = get("scriptName").or_else(|| get("script")) {
        q.script = Some(ScriptName::parse(name)?);
    }
    if let Some(user) = get("userId") {
        q.user = Some(user.parse::<UserId>()?);
    }
    if let Some(status) = get("processStatus").or_else(|| get("status")) {
        q.status = Some(status.parse::<ProcessStatus>()?);
    }
    // A parameter may have been sent by its short or its long name: match both forms that
    // any script gives it.
    q.parameters = pairs
        .iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix("parameter.")?;
            let mut names = vec![name.to_owned()];
            for spec in catalog
                .iter()
                .flat_map(|s| s.parameters.iter())
                .filter(|p| p.matches(name))
            {
                for alias in std::iter::once(&spec.name).chain(spec.long.as_ref()) {
                    if !names.contains(alias) {
                        names.push(alias.clone());
                    }
                }
            }
            Some(ParamFilter {
                names,
                value: v.clone(),
            })
        })
        .collect();
    Ok(q)
}

/// Stops a process the caller may see; answers with its state afterwards.
pub async fn stop(
    state: &AppState,
    caller: &Caller,
    access: &ProcessAccess,
    id: ProcessId,
) -> Result<Process, ApiError> {
    let process = visible(state, caller, access, id).await?;
    may_modify(caller, process.owner)?;
    if process.status().is_terminal() {
        return Err(ApiError::ProcessFinished {
            id: process.id,
            status: process.status(),
        });
    }
    let result = state
        .runner
        .stop(process.id)
        .await
        .map_err(ApiError::from)?;
    if result == StopResult::AlreadyFinished {
        tracing::info!(process = %process.id, "stop arrived after the process finished");
    }
    state
        .db(move |s| s.get_process(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("process {id}")))
}

/// Deletes a process the caller may see, with its output and files.
pub async fn delete(
    state: &AppState,
    caller: &Caller,
    access: &ProcessAccess,
    id: ProcessId,
) -> Result<(), ApiError> {
    let process = visible(state, caller, access, id).await?;
    may_modify(caller, process.owner)?;
    // Administrators win over waiters (they fail `dependency`); others may not delete what
    // someone waits on.
    let at = OffsetDateTime::now_utc();
    let waiters = if caller.is_admin() {
        Waiters::Fail(at)
    } else {
        Waiters::Refuse
    };
    let Some(deleted) = state.db(move |s| s.delete_process(id, waiters)).await? else {
        return Err(missing(caller).into());
    };
    state.log(move |o| deleted.settle(o, at)).await
}
