//! Helpers for the audit, purge, hold and retention tests: direct database access
//! (what an attacker or an auditor with the files sees), the CLI binary, requests.
// A toolbox shared by the test modules: a helper that no test calls yet is no error.
#![allow(dead_code)]
use std::path::Path;
use std::process::Output;

use casevault::store::{AuditRow, StoreError};
use reqwest::{Client, Response};
use serde_json::Value;

use crate::helpers::TestApp;

/// A raw SQLite connection to the test vault's database file.
pub fn raw_db(dir: &Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(dir.join("casevault.db")).unwrap();
    c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    c
}

/// Every audit row, in order, read through the store.
pub fn audit_rows(app: &TestApp) -> Vec<AuditRow> {
    app.app
        .vault
        .db()
        .read(|tx| {
            let mut v = Vec::new();
            tx.audit_scan(0, |r| {
                v.push(r);
                true
            })?;
            Ok::<_, StoreError>(v)
        })
        .unwrap()
}

/// The newest sequence number.
pub fn head_seq(app: &TestApp) -> i64 {
    app.app
        .vault
        .db()
        .read(|tx| tx.audit_head())
        .unwrap()
        .map(|h| h.0)
        .unwrap_or(0)
}

/// Entries written after `seq`.
pub fn rows_after(app: &TestApp, seq: i64) -> Vec<AuditRow> {
    audit_rows(app)
        .into_iter()
        .filter(|r| r.seq > seq)
        .collect()
}

/// Runs the `casevault` binary.
pub fn cli(args: &[&str], env: &[(&str, &str)]) -> Output {
    // CASEVAULT_BIN lets a run on a shared build directory name its own binary.
    let bin =
        std::env::var("CASEVAULT_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_casevault").into());
    let mut cmd = std::process::Command::new(bin);
    cmd.args(args).env("CASEVAULT_LOG", "error");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// POST with a JSON body.
pub async fn post_json(app: &TestApp, c: &Client, path: &str, body: Value) -> Response {
    c.post(app.url(path)).json(&body).send().await.unwrap()
}

/// Counts rows of a table matching a WHERE clause.
pub fn count(dir: &Path, table: &str, cond: &str) -> i64 {
    raw_db(dir)
        .query_row(
            &format!("SELECT COUNT(*) FROM {table} WHERE {cond}"),
            [],
            |r| r.get(0),
        )
        .unwrap()
}

/// Blob files (not temporaries) in the blob directory.
pub fn blob_files(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir.join("blobs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.len() == 32 && !n.starts_with('.'))
        })
        .collect()
}

/// Copies a directory tree (a crash image when taken while the vault is idle).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy_tree(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}
