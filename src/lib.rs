//! casevault: a privacy-hardened encrypted case vault for legal-services offices.
//!
//! Every client record is encrypted with age to keys the office holds; every access is
//! decided by the Cedar policy in `policy/` and written to a hash-chained audit log.
//! The crate is a library so that the integration tests and benchmarks drive the very
//! same server the binary runs.
// Cargo.toml's `[lints]` forbids `unsafe` and denies unwrap, expect and panic outside
// tests, for every target. `missing_docs` is set here instead: the table would demand
// docs of the binary, the tests and the benchmarks too.
#![deny(missing_docs)]

pub mod app;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod demo;
pub mod edge;
pub mod hardening;
pub mod http;
pub mod i18n;
pub mod ics;
pub mod policy;
pub mod remote;
pub mod store;
pub mod text;
pub mod vault;
pub mod web;

pub use app::{App, ServerHandle};
pub use clock::Clock;
pub use config::Settings;
pub use vault::VaultOptions;
