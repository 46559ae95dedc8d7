//! One integration-test binary: every test runs a real server on 127.0.0.1:0 over
//! HTTPS against a fresh vault in a temporary directory.
// Test harness code: a failed unwrap, expect or panic in a helper is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod access;
mod admin_matrix;
mod audit_log;
mod auditin;
mod auth;
mod authkit;
mod backup;
mod backup_faults;
mod backupkit;
mod browser;
mod casekit;
mod casework;
mod casework_guards;
mod casework_input;
mod casework_pages;
mod casework_purge;
mod casework_reach;
mod childkit;
mod crosssite;
mod custody;
mod dos;
mod findings;
mod findings_ops;
mod grant;
mod helpers;
mod lifecycle_helpers;
mod openapi;
mod pagekit;
mod pages;
mod paging;
mod passkeys;
mod policy_secrets;
mod purge;
mod race;
mod retention;
mod s3;
mod s3_backup;
mod s3kit;
mod seaweed;
mod signin;
mod small;
mod upcoming_pages;
mod vault_core;
mod webdriver;
