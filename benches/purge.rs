//! Purge benchmark (issue 4), one run, a small table at the end:
//! - crypto-shredding purge of a case of 50 × 64 KiB and of 50 × 8 MiB documents
//!   (the time must not grow with bytes), against `shred -u` of the same blob bytes;
//! - purge of an office with 1,000 cases;
//! - panic seal: `Vault::seal_all` in process, and `POST /api/v1/seal-all` over HTTPS;
//! - `audit verify` of 1,000,000 entries (entries/s, peak memory while verifying).
//!
//! Run: `cargo bench --bench purge`. Everything lives in a temporary directory under
//! `$TMPDIR`; about 1 GiB of disk is written in total (400 MiB of documents, their
//! copies for `shred`, and shred's passes).
// Benchmark harness code: a failed unwrap, expect or panic is a failed run, as it should be.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use common::noise;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use age::secrecy::SecretString;
use casevault::Clock;
use casevault::app::{Tls, self_signed};
use casevault::audit;
use casevault::auth::{TotpSecret, current_step};
use casevault::remote::Target;
use casevault::store::{Db, StoreError};
use casevault::vault::{CaseInput, OfficeMode, PurgeFault, StepUp, UploadMeta, Vault};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn case_input(office: &str, name: &str) -> CaseInput {
    serde_json::from_value(serde_json::json!({"office": office, "client_name": name}))
        .expect("case input")
}

/// A case with `n` documents of `size` bytes; returns (case id, its blob paths).
async fn make_case(
    v: &Arc<Vault>,
    office: &str,
    n: usize,
    size: usize,
    body: &[u8],
) -> (String, Vec<PathBuf>) {
    let op = casevault::vault::operator::actor();
    let case = v
        .create_case(&op, &case_input(office, "Bench Client"))
        .await
        .expect("case");
    for i in 0..n {
        let meta = UploadMeta {
            filename: format!("doc-{i}.bin"),
            ..UploadMeta::default()
        };
        let chunk = bytes::Bytes::copy_from_slice(&body[..size]);
        let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(chunk)]);
        v.store_document(&op, &case, meta, stream)
            .await
            .expect("store");
    }
    let blobs = blob_paths(v, &case);
    (case, blobs)
}

fn blob_paths(v: &Vault, case: &str) -> Vec<PathBuf> {
    let rows = v.db().read(|tx| tx.documents(case)).expect("docs");
    rows.iter()
        .map(|d| v.data_dir().join("blobs").join(&d.blob))
        .collect()
}

fn copy_all(files: &[PathBuf], to: &Path) -> (Vec<PathBuf>, u64) {
    std::fs::create_dir_all(to).expect("mkdir");
    let mut out = Vec::new();
    let mut bytes = 0;
    for f in files {
        let dest = to.join(f.file_name().expect("name"));
        bytes += std::fs::copy(f, &dest).expect("copy");
        out.push(dest);
    }
    (out, bytes)
}

fn shred(files: &[PathBuf]) -> Option<Duration> {
    let t = Instant::now();
    let status = std::process::Command::new("shred")
        .arg("-u")
        .args(files)
        .status()
        .ok()?;
    status.success().then(|| t.elapsed())
}

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

struct Row(String, String);

fn main() {
    common::run(bench());
}

async fn bench() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("vault");
    let app = common::open_vault(&data);
    let v = app.vault.clone();
    let creds = casevault::demo::populate(&v).await.expect("populate");
    let op = casevault::vault::operator::actor();
    let body = noise(8 << 20, 1);
    let mut rows = Vec::new();

    // 1. Case purge: small and large documents, against shred -u of the same bytes.
    // The purge is timed in its two parts: until the documents are unreadable (one
    // transaction deleting the key rows, then the WAL checkpoint) and the best-effort
    // unlink of the blob files after it. The fault hook stops the purge between them.
    let mut shred_ms = Vec::new();
    for (label, size, reps) in [("50 x 64 KiB", 64 << 10, 3), ("50 x 8 MiB", 8 << 20, 2)] {
        let mut keys = Vec::new();
        let mut unlinks = Vec::new();
        let mut shredded = None;
        let mut stored = 0;
        for rep in 0..reps {
            let (case, blobs) = make_case(&v, "bronx", 50, size, &body).await;
            let copies = if rep == 0 {
                let (c, bytes) = copy_all(&blobs, &tmp.path().join(format!("copy-{size}")));
                stored = bytes;
                Some(c)
            } else {
                None
            };
            let t = Instant::now();
            let r = v
                .purge_case_faulty(&op, &case, Some(PurgeFault::BeforeUnlink))
                .await;
            keys.push(t.elapsed());
            assert!(r.is_err(), "stopped before unlink, as asked");
            assert!(v.db().read(|tx| tx.case(&case)).expect("read").is_none());
            let t = Instant::now();
            for b in &blobs {
                std::fs::remove_file(b).expect("unlink");
            }
            unlinks.push(t.elapsed());
            if let Some(c) = copies {
                shredded = shred(&c);
            }
        }
        keys.sort();
        unlinks.sort();
        let (k, u) = (keys[keys.len() / 2], unlinks[unlinks.len() / 2]);
        let ratio = |d: Duration| {
            shredded
                .map(|s| format!("{:.0}x", s.as_secs_f64() / d.as_secs_f64()))
                .unwrap_or_else(|| "-".into())
        };
        rows.push(Row(
            format!(
                "purge case {label} ({} MiB stored), {reps} runs",
                stored >> 20
            ),
            format!(
                "unreadable after {:.2} ms (+ unlink {:.2} ms = {:.2} ms)",
                ms(k),
                ms(u),
                ms(k + u)
            ),
        ));
        rows.push(Row(
            format!("  shred -u of the same {} MiB", stored >> 20),
            format!(
                "{} ms; ratio {} (to unreadable), {} (with unlink)",
                shredded
                    .map(|d| format!("{:.0}", ms(d)))
                    .unwrap_or("n/a".into()),
                ratio(k),
                ratio(k + u)
            ),
        ));
        shred_ms.push((k, u));
    }
    if let [(k1, u1), (k2, u2)] = shred_ms[..] {
        rows.push(Row(
            "  8 MiB docs vs 64 KiB docs (128x the bytes)".into(),
            format!(
                "to unreadable {:.2}x, unlink {:.2}x",
                k2.as_secs_f64() / k1.as_secs_f64(),
                u2.as_secs_f64() / u1.as_secs_f64()
            ),
        ));
    }

    // 2. Office purge with 1,000 cases (one 16 KiB document each).
    let creds_bulk = v
        .create_office(&op, "bulk", OfficeMode::Passphrase, None)
        .await
        .expect("office");
    let t = Instant::now();
    for _ in 0..1000 {
        make_case(&v, "bulk", 1, 16 << 10, &body).await;
    }
    eprintln!("1,000 cases made in {:.1} s", t.elapsed().as_secs_f64());
    drop(creds_bulk);
    let t = Instant::now();
    let r = v
        .purge_office(&op, "bulk", StepUp::none())
        .await
        .expect("office purge");
    let office = t.elapsed();
    let casevault::vault::Decided::Done(r) = r else {
        panic!("the operator's purge never waits for approval")
    };
    assert_eq!(r.cases, 1000);
    rows.push(Row(
        "purge office of 1,000 cases (1,000 docs)".into(),
        format!("{:.1} ms", ms(office)),
    ));

    // 3. Panic seal. In process, with 10 offices unsealed and 200 case keys cached.
    let mut offices = Vec::new();
    for i in 0..8 {
        let slug = format!("seal{i}");
        let c = v
            .create_office(&op, &slug, OfficeMode::Passphrase, None)
            .await
            .expect("office");
        offices.push((slug, c.passphrase.expect("passphrase")));
    }
    let bronx_pass = SecretString::from(creds.offices["bronx"].passphrase.clone());
    let queens_pass = SecretString::from(creds.offices["queens"].passphrase.clone());
    let mut cases = Vec::new();
    for _ in 0..200 {
        cases.push(
            v.create_case(&op, &case_input("bronx", "Cached Key"))
                .await
                .expect("case"),
        );
    }
    let mut seal_times = Vec::new();
    for _ in 0..20 {
        casevault::vault::operator::unseal(&v, "bronx", bronx_pass.clone())
            .await
            .expect("unseal");
        casevault::vault::operator::unseal(&v, "queens", queens_pass.clone())
            .await
            .expect("unseal");
        for (slug, p) in &offices {
            casevault::vault::operator::unseal(&v, slug, p.clone())
                .await
                .expect("unseal");
        }
        for c in &cases {
            v.get_case(&op, c).await.expect("read");
        }
        let t = Instant::now();
        let sealed = v.seal_all(&op).await.expect("seal");
        seal_times.push(t.elapsed());
        assert_eq!(sealed.len(), 10);
    }
    seal_times.sort();
    rows.push(Row(
        "panic seal in process (10 offices, 200 case keys)".into(),
        format!(
            "median {:.2} ms, max {:.2} ms (20 runs)",
            ms(seal_times[10]),
            ms(seal_times[19])
        ),
    ));

    // Over HTTPS, as `casevault seal-all` does it: sign-in, then the seal call.
    let (cert, key) = self_signed(tmp.path()).expect("cert");
    let server = app
        .serve(
            "127.0.0.1:0".parse().expect("addr"),
            &Tls::Files {
                cert: cert.clone(),
                key,
            },
        )
        .await
        .expect("serve");
    let target = Target::new(
        &format!("https://localhost:{}", server.addr.port()),
        Some(&cert),
    )
    .expect("target");
    let admin = &creds.users["admin"];
    let secret = TotpSecret::from_base32(&admin.totp_secret).expect("totp");
    let mut http_times = Vec::new();
    let mut login_times = Vec::new();
    let now_step = current_step(Clock::system().unix());
    for i in 0..3 {
        casevault::vault::operator::unseal(&v, "bronx", bronx_pass.clone())
            .await
            .expect("unseal");
        // A used step is refused and codes count for one step either side of now:
        // sign in with the codes of the previous, current and next steps in turn.
        let code = secret.code_at(now_step - 1 + i);
        let t = Instant::now();
        let s = match target.login("admin", &admin.password, &code).await {
            Ok(s) => s,
            Err(_) => continue,
        };
        login_times.push(t.elapsed());
        let t = Instant::now();
        let sealed = target.seal_all(&s).await.expect("seal-all");
        http_times.push(t.elapsed());
        assert_eq!(sealed, ["bronx"]);
        target.logout(s).await;
    }
    http_times.sort();
    if let (Some(first), Some(last)) = (http_times.first(), http_times.last()) {
        rows.push(Row(
            "panic seal over HTTPS (POST /seal-all, new TLS conn)".into(),
            format!(
                "min {:.2} ms, max {:.2} ms ({} runs; sign-in before it ~{:.0} ms)",
                ms(*first),
                ms(*last),
                http_times.len(),
                login_times.iter().map(|d| ms(*d)).sum::<f64>() / login_times.len().max(1) as f64
            ),
        ));
    }
    server.shutdown().await;

    // 4. Audit verify of 1,000,000 entries, generated through the audit API.
    let adir = tmp.path().join("audit");
    std::fs::create_dir_all(&adir).expect("mkdir");
    let db = Db::open(&adir).expect("db");
    let n: i64 = 1_000_000;
    let t = Instant::now();
    for batch in 0..(n / 50_000) {
        db.write(|tx| {
            for i in 0..50_000 {
                let k = batch * 50_000 + i;
                audit::append(
                    tx,
                    "2026-11-24T12:00:00Z",
                    &audit::Entry {
                        actor: "5f0c2a9e-1d7b-4c59-9a7e-3f2b8c1d0e4a",
                        role: "caseworker",
                        action: "read_case",
                        target: &format!("office:bronx case:{k:08x}-0000-4000-8000-000000000000"),
                        decision: "allow",
                        outcome: "ok",
                    },
                )?;
            }
            Ok::<_, StoreError>(())
        })
        .expect("append");
    }
    let generated = t.elapsed();
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = peak_rss_kib();
    let t = Instant::now();
    let verdict = audit::verify(&db, None).expect("verify");
    let verify = t.elapsed();
    let after = peak_rss_kib();
    assert!(matches!(verdict, audit::Verdict::Intact { entries, .. } if entries == n as u64));
    rows.push(Row(
        "audit verify, 1,000,000 entries".into(),
        format!(
            "{:.2} s = {:.0} entries/s; peak RSS {} (appended in {:.1} s)",
            verify.as_secs_f64(),
            n as f64 / verify.as_secs_f64(),
            match (before, after) {
                (Some(b), Some(a)) => format!("{} MiB before, {} MiB during", b >> 10, a >> 10),
                _ => "n/a".into(),
            },
            generated.as_secs_f64()
        ),
    ));

    println!();
    println!("{:<52} result", "casevault purge benchmark");
    println!("{}", "-".repeat(110));
    for Row(k, val) in rows {
        println!("{k:<52} {val}");
    }
}
