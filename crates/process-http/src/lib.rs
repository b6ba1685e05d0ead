#![doc = include_str!("../README.md")]

pub mod app;
pub mod auth;
pub mod capability;
pub mod config;
pub mod error;
pub mod extract;
pub mod forwarded;
pub mod guards;
pub mod hal;
pub mod housekeeping;
pub mod jwt;
pub mod limits;
pub mod methods;
pub mod metrics;
pub mod names;
pub mod oidc;
pub mod openapi;
pub mod resources;
pub mod routes;
pub mod service;
pub mod state;
pub mod webhook;

pub use app::Application;
pub use config::Config;
