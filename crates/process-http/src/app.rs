//! Building the application: store, runner and HTTP server, bound before it runs so tests
//! (and embedders) can ask for port 0 and learn the port.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_cors::Cors;
use actix_web::dev::{Server, Service, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{Condition, DefaultHeaders};
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use futures_util::future::{ready, Either};
use futures_util::TryFutureExt;
use process_core::NodeName;
use process_datadir::Layout;
use process_runner::confine::command_dirs;
use process_runner::{BaseEnv, Containment, Executors, LocalExecutor, Runner, RunnerConfig};
use process_store::Store;

use crate::config::{Config, ExecutorKind};
use crate::error::{json_errors, ApiError};
use crate::jwt;
use crate::limits::{self, Caps, LoginLimits};
use crate::metrics::{method_label, Metrics, RequestLabels};
use crate::state::{AppState, Followers};
use crate::{guards, housekeeping, methods};
use crate::{oidc, openapi, routes, service, webhook};

pub struct Application {
    addr: SocketAddr,
    server: Server,
    state: web::Data<AppState>,
}

/// Opens the store and applies pending migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let url = config.database_url.clone();
    let layout = Layout::new(&config.data_dir);
    tokio::task::spawn_blocking(move || -> anyhow::Result<Store> {
        let store = Store::open(&url, layout).context("opening the database")?;
        let applied = store.migrate().context("migrating the database")?;
        for m in applied {
            tracing::info!(migration = %m, "applied migration");
        }
        Ok(store)
    })
    .await?
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let store = open_store(&config).await?;
        let executors = executors(&config)?;
        let jwt = {
            let (store, key_file) = (store.clone(), config.jwt_key_file.clone());
            tokio::task::spawn_blocking(move || {
                jwt::load_keys(key_file.as_deref(), store.layout(), &store)
            })
            .await??
        };
        let oidc = config
            .oidc
            .clone()
            .map(oidc::Provider::new)
            .transpose()?
            .map(Arc::new);
        let catalog = Arc::new(config.catalog.clone());
        let console = Arc::new(store.clone());
        let runner = Runner::new(
            Arc::new(store.clone()),
            Arc::clone(&console),
            store.layout().clone(),
            Arc::clone(&catalog),
            executors,
            RunnerConfig {
                node: NodeName::new("local"),
                max_concurrent: config.max_concurrent,
                max_output_bytes: config.max_output_bytes,
                poll_interval: Duration::from_secs(5),
                base_env: BaseEnv::from_service(),
            },
        );
        let reset_store = store.clone();
        let reset = tokio::task::spawn_blocking(move || reset_store.reset_interrupted_uploads())
            .await?
            .context("resetting interrupted uploads")?;
        if reset > 0 {
            tracing::warn!(
                files = reset,
                "uploads interrupted by the previous shutdown are marked ERROR"
            );
        }
        let recovered = runner
            .recover()
            .await
            .context("recovering interrupted processes")?;
        if !recovered.is_empty() {
            tracing::warn!(
                count = recovered.len(),
                "processes interrupted by the previous shutdown were marked FAILED"
            );
        }
        runner.spawn();
        housekeeping::spawn(store.clone(), config.retention_days);
        let events = service::events::spawn_hub(store.clone());
        let webhook_targets = Arc::new(config.webhook_targets.clone());
        Arc::new(webhook::deliver::Sender::new(
            store.clone(),
            Arc::clone(&webhook_targets),
            config.retention_days,
        )?)
        .spawn(events.clone());
        let listener =
            TcpListener::bind(&config.bind).with_context(|| format!("binding {}", config.bind))?;
        let addr = listener.local_addr()?;
        let metrics = Metrics::default();
        let login_limits = Arc::new(LoginLimits::new(&config, &metrics));
        limits::spawn_cleanup(Arc::downgrade(&login_limits));
        let archives = Caps::new(config.max_archives, config.max_archives_per_caller);
        let followers = Followers {
            per_process: Caps::new(usize::MAX, config.max_followers_per_process),
            per_caller: Caps::new(usize::MAX, config.max_followers_per_caller),
        };
        let state = web::Data::new(AppState {
            store,
            console,
            runner,
            catalog,
            config: Arc::new(config),
            metrics,
            jwt,
            oidc,
            login_limits,
            archives,
            followers,
            watchers: Default::default(),
            console_sums: Default::default(),
            events,
            webhook_targets,
        });
        let app_state = state.clone();
        let server = HttpServer::new(move || {
            let origins = &app_state.config.cors_allowed_origins;
            App::new()
                .app_data(app_state.clone())
                .app_data(web::QueryConfig::default().error_handler(|e, _| ApiError::BadRequest(e.to_string()).into()))
                .app_data(web::FormConfig::default().limit(64 * 1024).error_handler(|e, _| ApiError::BadRequest(e.to_string()).into()))
                .app_data(web::PathConfig::default().error_handler(|e, _| ApiError::BadRequest(e.to_string()).into()))
                .configure(configure)
                .default_service(web::to(methods::fallback))
                .wrap_fn(|mut req, srv| {
                    let head = methods::head_as_get(&mut req);
                    srv.call(req).map_ok(move |res| {
                        if head {
                            methods::without_body(res)
                        } else {
                            res.map_into_boxed_body()
                        }
                    })
                })
                .wrap_fn(|req, srv| {
                    let refused = req
                        .app_data::<web::Data<AppState>>()
                        .and_then(|s| guards::foreign_origin(&req, &s.config));
                    match refused {
                        Some(refused) => Either::Left(ready(Ok(req.error_response(refused).map_into_right_body()))),
                        None => Either::Right(srv.call(req).map_ok(ServiceResponse::map_into_left_body)),
                    }
                })
                .wrap(DefaultHeaders::new().add(("X-Content-Type-Options", "nosniff")))
                // No origin listed: no CORS header at all.
                .wrap(Condition::new(!origins.is_empty(), cors(origins)))
                .wrap_fn(|req, srv| {
                    let started = Instant::now();
                    let method = req.method().clone();
                    let path = req.path().to_owned();
                    let state = req.app_data::<web::Data<AppState>>().cloned();
                    let fut = srv.call(req);
                    async move {
                        let mut res = json_errors(fut.await?);
                        guards::no_store(&mut res);
                        let elapsed = started.elapsed();
                        let status = res.status().as_u16();
                        if let Some(state) = state {
                            let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
                            state
                                .metrics
                                .requests
                                .get_or_create(&RequestLabels { method: method_label(&method), route, status })
                                .observe(elapsed.as_secs_f64());
                        }
                        tracing::info!(%method, %path, status, ms = elapsed.as_millis() as u64, "request");
                        Ok(res)
                    }
                })
        })
        .client_request_timeout(Duration::from_secs(10))
        .client_disconnect_timeout(Duration::from_secs(5))
        .shutdown_timeout(10)
        .disable_signals()
        .listen(listener)?
        .run();
        Ok(Self {
            addr,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The address the listener is bound to, with the port the system chose when the
    /// configuration asked for port 0.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until SIGINT or SIGTERM, then shuts down gracefully: launches are refused with
    /// 503, in-flight requests finish, running processes get `shutdown_grace` and are then
    /// stopped and recorded FAILED `interrupted`.
    pub async fn run(self) -> std::io::Result<()> {
        use tokio::signal::unix::{signal, SignalKind};
        let handle = self.server.handle();
        let mut server = actix_web::rt::spawn(self.server);
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            res = &mut server => return res.unwrap_or_else(|e| Err(std::io::Error::other(e))),
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        }
        self.state.runner.drain();
        handle.stop(true).await;
        let grace = self.state.config.shutdown_grace;
        self.state.runner.shutdown(grace).await;
        tracing::info!("processd stopped");
        Ok(())
    }
}

/// The executors of this node. Every script's executor must be one of them.
fn executors(config: &Config) -> anyhow::Result<Executors> {
    let local = Arc::new(LocalExecutor {
        kill_grace: config.kill_grace,
        containment: Arc::new(containment(config)?),
    });
    let executors = Executors::new(ExecutorKind::Local.as_str(), local);
    let wanted = std::iter::once(config.executor.as_str())
        .chain(config.catalog.iter().filter_map(|s| s.executor.as_deref()));
    for name in wanted {
        if !executors.has(name) {
            anyhow::bail!("the {name} executor is not available in this build yet");
        }
    }
    Ok(executors.default_to(config.executor.as_str())?)
}

/// What local runs are contained with (logged), or an error when `confine_scripts =
/// "required"` or `run_as` cannot be met. Scripts must not reach the data directory nor the
/// database.
fn containment(config: &Config) -> anyhow::Result<Containment> {
    let database = config
        .database_url
        .strip_prefix("sqlite://")
        .map(std::path::absolute)
        .transpose()?;
    let script_dirs: Vec<_> = config
        .catalog
        .iter()
        .flat_map(|s| command_dirs(&s.command))
        .collect();
    Ok(Containment::setup(
        &config.contain,
        &Layout::new(&config.data_dir),
        database.as_deref(),
        &script_dirs,
    )?)
}

/// CORS for the pages of `origins`, as the DSpace UI needs it: credentials, the headers it
/// sends (`X-XSRF-TOKEN` and `X-Requested-With` included) and the ones it reads (the JWT in
/// `Authorization`, `Location`, download names and ranges). Another origin gets no CORS
/// headers (and `guards::foreign_origin` refuses its changes); a preflight from it is a 400.
fn cors(origins: &[String]) -> Cors {
    let cors = Cors::default()
        .allowed_methods(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::ACCEPT,
            header::CONTENT_TYPE,
            header::RANGE,
            header::IF_NONE_MATCH,
            header::IF_RANGE,
            header::IF_MODIFIED_SINCE,
            header::HeaderName::from_static("last-event-id"),
            header::HeaderName::from_static("x-requested-with"),
            header::HeaderName::from_static("x-xsrf-token"),
            // The capability of an anonymous process (`capability::HEADER`).
            header::HeaderName::from_static("x-process-access"),
        ])
        .expose_headers([
            header::AUTHORIZATION,
            header::LOCATION,
            header::CONTENT_DISPOSITION,
            header::CONTENT_RANGE,
            header::ACCEPT_RANGES,
            header::ETAG,
            header::RETRY_AFTER,
            header::WWW_AUTHENTICATE,
        ])
        .supports_credentials()
        .max_age(3600);
    origins.iter().fold(cors, |cors, o| cors.allowed_origin(o))
}

/// Every route of the API.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(routes::root::configure)
        .configure(openapi::configure)
        .configure(routes::authn::configure)
        .configure(routes::epersons::configure)
        .configure(routes::scripts::configure)
        .configure(routes::processes::configure)
        .configure(routes::output::configure)
        .configure(routes::files::configure)
        .configure(routes::bitstreams::configure)
        .configure(routes::uploads::configure)
        .configure(routes::events::configure)
        .configure(routes::webhooks::configure)
        .configure(routes::ui::configure);
}
