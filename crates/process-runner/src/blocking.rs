//! The one place where the runner's async code calls its blocking ports.

use std::sync::Arc;

/// Runs `f` against `port` on tokio's blocking pool. A panic inside `f` resumes here.
pub async fn blocking<P, T, E, F>(port: &Arc<P>, f: F) -> Result<T, E>
where
    P: Send + Sync + ?Sized + 'static,
    T: Send + 'static,
    E: Send + 'static,
    F: FnOnce(&P) -> Result<T, E> + Send + 'static,
{
    let port = Arc::clone(port);
    match tokio::task::spawn_blocking(move || f(&port)).await {
        Ok(result) => result,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}
