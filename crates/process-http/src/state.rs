//! What every handler shares, and the async facade over the blocking store.

use std::sync::Arc;

use actix_web::web;
use process_core::{Catalog, OutputLog};
use process_runner::Runner;
use process_store::{Store, StoreError};

use crate::config::Config;
use crate::error::ApiError;
use crate::jwt::JwtKeys;
use crate::limits::{Caps, LoginLimits};
use crate::metrics::Metrics;
use crate::oidc::Provider;
use crate::service::log_sums::Sums;
use crate::service::watch::Watchers;
use crate::webhook::target::TargetPolicy;

/// The implementation behind the output-log port.
pub type ConsoleLog = Store;

pub struct AppState {
    pub store: Store,
    /// Console logs, reached only through the output-log port (`AppState::log`).
    pub console: Arc<ConsoleLog>,
    pub runner: Runner<Store, ConsoleLog>,
    pub catalog: Arc<Catalog>,
    pub config: Arc<Config>,
    pub metrics: Metrics,
    pub jwt: JwtKeys,
    /// The OpenID Connect provider whose JWTs are accepted, when one is configured.
    pub oidc: Option<Arc<Provider>>,
    pub login_limits: Arc<LoginLimits>,
    /// Archives being written, overall and per caller.
    pub archives: Caps,
    pub followers: Followers,
    /// One poller per process for the live feeds that cannot be fed from memory.
    pub watchers: Watchers,
    /// Size and MD5 of console logs described as bitstreams.
    pub console_sums: Sums,
    /// The newest event id, as the event poller last read it (`service::events`).
    pub events: tokio::sync::watch::Receiver<i64>,
    /// Where webhooks may point.
    pub webhook_targets: Arc<TargetPolicy>,
}

/// Live output feeds held at once, per process and per caller.
pub struct Followers {
    pub per_process: Caps,
    pub per_caller: Caps,
}

impl AppState {
    /// Runs a store call on the blocking pool (the one way handlers reach the database).
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.store.clone();
        Ok(web::block(move || f(&store)).await??)
    }

    /// Runs an output-log call on the blocking pool.
    pub async fn log<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn OutputLog<Error = StoreError>) -> Result<T, StoreError> + Send + 'static,
    {
        let log = Arc::clone(&self.console);
        Ok(web::block(move || f(log.as_ref())).await??)
    }
}
