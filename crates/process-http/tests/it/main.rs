//! processd's end-to-end tests: the real app, real scripts, real HTTP, on SQLite and
//! PostgreSQL.
#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod angular_ui;
mod anonymous;
mod api;
mod authn;
mod browser;
mod cli;
mod client;
mod client_cli;
mod console_log;
mod containment;
mod cors;
mod downloads;
mod epersons;
mod examples;
mod faults;
mod hardening;
mod helpers;
mod launch;
mod lifecycle;
mod limits;
mod links;
mod methods;
mod metrics;
mod oidc;
mod openapi;
mod output;
mod postgres_tls;
mod retention;
mod runs;
mod secrets;
mod shortlived;
mod smoke;
mod storage;
mod uploads;
