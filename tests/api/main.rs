//! One integration-test binary: every test runs a real server on 127.0.0.1:0 over
//! HTTPS against a fresh vault in a temporary directory.
mod helpers;
mod vault_core;
