//! processd's end-to-end tests: the real app, real scripts, real HTTP, on SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used, dead_code)]

mod api;
mod authn;
mod cli;
mod containment;
mod downloads;
mod faults;
mod helpers;
mod launch;
mod lifecycle;
mod limits;
mod metrics;
mod openapi;
mod retention;
mod runs;
mod smoke;
mod storage;
mod uploads;
