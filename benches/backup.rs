//! Backup benchmark (issue 12), one run, a table at the end:
//! - a full backup of a vault holding 1 GiB in 200 documents, against `cp -r` of the
//!   same data directory (the ratio, measured in this run);
//! - an incremental backup after adding 1% (2 more documents);
//! - a restore of the newest backup, against `cp -r` of the target;
//! - the peak RSS of the `casevault` process during each.
//!
//! Run: `cargo bench --bench backup`. About 4 GiB of disk under `$TMPDIR`.
// Benchmark harness code: a failed unwrap, expect or panic is a failed run, as it should be.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use common::noise;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use age::secrecy::ExposeSecret;
use casevault::crypto::BackupIdentity;
use casevault::vault::{CaseInput, UploadMeta, Vault};

const DOCS: usize = 200;
const DOC_BYTES: usize = (1 << 30) / DOCS;

async fn add_docs(v: &Arc<Vault>, case: &str, n: usize, seed: u64) {
    let op = casevault::vault::operator::actor();
    for i in 0..n {
        let body = bytes::Bytes::from(noise(DOC_BYTES, seed + i as u64));
        let meta = UploadMeta {
            filename: format!("doc-{seed}-{i}.bin"),
            ..UploadMeta::default()
        };
        let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(body)]);
        v.store_document(&op, case, meta, stream)
            .await
            .expect("store");
    }
}

/// Runs the command; its wall time and its peak RSS (MiB, sampled from /proc).
fn timed(cmd: &mut Command) -> (Duration, f64) {
    let t = Instant::now();
    let mut child = cmd.spawn().expect("spawn");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    loop {
        if let Ok(s) = std::fs::read_to_string(&status_path)
            && let Some(v) = s
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        {
            peak_kib = peak_kib.max(v);
        }
        if let Some(st) = child.try_wait().expect("wait") {
            assert!(st.success(), "{cmd:?} failed");
            return (t.elapsed(), peak_kib as f64 / 1024.0);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn cp_r(from: &Path, to: &Path) -> Duration {
    let t = Instant::now();
    let st = Command::new("cp")
        .arg("-r")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp");
    assert!(st.success());
    t.elapsed()
}

fn main() {
    common::run(bench());
}

async fn bench() {
    let bin = env!("CARGO_BIN_EXE_casevault");
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("vault");
    let app = common::open_vault(&data);
    let v = app.vault.clone();
    casevault::demo::populate(&v).await.expect("populate");
    let op = casevault::vault::operator::actor();
    let input: CaseInput =
        serde_json::from_value(serde_json::json!({"office": "bronx", "client_name": "Bench"}))
            .expect("case");
    let case = v.create_case(&op, &input).await.expect("case");
    eprintln!("writing {DOCS} documents of {} MiB…", DOC_BYTES >> 20);
    add_docs(&v, &case, DOCS, 1).await;

    let ident = BackupIdentity::generate();
    let idf = tmp.path().join("backup.key");
    std::fs::write(&idf, ident.to_secret_string().expose_secret()).expect("key");
    let target = tmp.path().join("target");
    let backup = || {
        let mut c = Command::new(bin);
        c.args([
            "backup",
            "create",
            "--quiet",
            "--recipient",
            &ident.recipient(),
        ])
        .arg("--data")
        .arg(&data)
        .arg("--to")
        .arg(&target)
        .env("CASEVAULT_LOG", "error")
        .stdout(std::process::Stdio::null());
        c
    };
    let cp_full = cp_r(&data, &tmp.path().join("cp-copy"));
    let (full, full_rss) = timed(&mut backup());

    add_docs(&v, &case, DOCS / 100, 10_000).await;
    let cp_incr = cp_r(&data, &tmp.path().join("cp-copy-2"));
    let (incr, incr_rss) = timed(&mut backup());

    let cp_target = cp_r(&target, &tmp.path().join("cp-target"));
    let restored = tmp.path().join("restored");
    let (rest, rest_rss) = timed(
        Command::new(bin)
            .args(["restore", "--quiet"])
            .arg("--from")
            .arg(&target)
            .arg("--identity")
            .arg(&idf)
            .arg("--data")
            .arg(&restored)
            .env("CASEVAULT_LOG", "error")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    );

    let s = |d: Duration| d.as_secs_f64();
    println!("\n| 1 GiB in {DOCS} documents | casevault | cp -r | ratio | peak RSS |");
    println!("|---|---|---|---|---|");
    println!(
        "| full backup | {:.2} s | {:.2} s | {:.2}× | {:.0} MiB |",
        s(full),
        s(cp_full),
        s(full) / s(cp_full),
        full_rss
    );
    println!(
        "| incremental after +1% ({} documents) | {:.2} s | {:.2} s (whole directory) | {:.2}× | {:.0} MiB |",
        DOCS / 100,
        s(incr),
        s(cp_incr),
        s(incr) / s(cp_incr),
        incr_rss
    );
    println!(
        "| restore (checks every hash) | {:.2} s | {:.2} s (cp -r of the target) | {:.2}× | {:.0} MiB |",
        s(rest),
        s(cp_target),
        s(rest) / s(cp_target),
        rest_rss
    );
}
