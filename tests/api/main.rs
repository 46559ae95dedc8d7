//! One integration-test binary: every test runs a real server on 127.0.0.1:0 over
//! HTTPS against a fresh vault in a temporary directory.
mod access;
mod auth;
mod authkit;
mod browser;
mod helpers;
mod pages;
mod policy_secrets;
mod vault_core;
mod webdriver;
