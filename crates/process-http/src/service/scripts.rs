//! The scripts a caller may start: the catalog, filtered by each script's `allowed` list.

use process_core::auth::may_start;
use process_core::{Caller, Catalog, Page, PageRequest, Script};

use crate::error::ApiError;

/// One page of the scripts `caller` may start, in catalog order.
pub fn startable<'a>(
    catalog: &'a Catalog,
    caller: &Caller,
    request: PageRequest,
) -> Page<&'a Script> {
    let startable: Vec<&Script> = catalog
        .iter()
        .filter(|s| may_start(caller, s).is_ok())
        .collect();
    Page {
        total: startable.len() as u64,
        items: startable
            .into_iter()
            .skip(usize::try_from(request.offset()).unwrap_or(usize::MAX))
            .take(request.size() as usize)
            .collect(),
        request,
    }
}

/// The script `name`, if `caller` may start it (401/403 otherwise, 404 if there is none).
pub fn get<'a>(catalog: &'a Catalog, caller: &Caller, name: &str) -> Result<&'a Script, ApiError> {
    let script = catalog
        .get(name)
        .ok_or_else(|| ApiError::not_found(format!("script {name}")))?;
    may_start(caller, script)?;
    Ok(script)
}
