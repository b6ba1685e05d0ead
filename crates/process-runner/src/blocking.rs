//! The one place where the runner's async code calls the blocking repository.

use std::sync::Arc;

use process_core::ProcessRepository;

/// Runs `f` against the repository on tokio's blocking pool.
pub async fn blocking<R, T, F>(repo: &Arc<R>, f: F) -> Result<T, R::Error>
where
    R: ProcessRepository,
    T: Send + 'static,
    F: FnOnce(&R) -> Result<T, R::Error> + Send + 'static,
{
    let repo = Arc::clone(repo);
    match tokio::task::spawn_blocking(move || f(&repo)).await {
        Ok(result) => result,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}
