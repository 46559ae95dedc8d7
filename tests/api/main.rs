//! One integration-test binary: every test runs a real server on 127.0.0.1:0 over
//! HTTPS against a fresh vault in a temporary directory.
mod audit_log;
mod helpers;
mod lifecycle_helpers;
mod purge;
mod retention;
mod vault_core;
