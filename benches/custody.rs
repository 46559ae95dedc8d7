//! Rotating an office key (issue 23): an office of 10,000 cases, each with details and
//! two documents. Printed: the rotation's duration beside the time to unseal the same
//! office and list every case of it, measured in the same run; and a supervisor's case
//! reads while the rotation runs beside the same reads on a quiet server (p50, p99),
//! with how many failed (none may).
//!
//! Run: `cargo bench --bench custody`. Knobs: `CASEVAULT_BENCH_CASES` (default 10000),
//! `CASEVAULT_BENCH_READS` (quiet reads, default 300).
// Benchmark harness code: a failed unwrap, expect or panic is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use casevault::app::{Tls, self_signed};
use casevault::auth::{TotpSecret, current_step};
use casevault::vault::{CaseInput, StepUp, UploadMeta, operator};
use futures_util::StreamExt;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

fn env_n(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn percentiles(mut ms: Vec<f64>) -> (f64, f64, f64) {
    ms.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99), at(1.0))
}

fn main() {
    common::run(bench());
}

async fn bench() {
    let n = env_n("CASEVAULT_BENCH_CASES", 10_000);
    let reads = env_n("CASEVAULT_BENCH_READS", 300);
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("vault");
    let app = common::open_vault(&data);
    let v = app.vault.clone();
    let creds = casevault::demo::populate(&v).await.expect("populate");
    let op = operator::actor();

    eprintln!("making {n} cases with two documents each…");
    let t = Instant::now();
    let ids: Vec<String> = futures_util::stream::iter(0..n)
        .map(|i| {
            let v = v.clone();
            let op = op.clone();
            async move {
                let input: CaseInput = serde_json::from_value(json!({
                    "office": "bronx",
                    "client_name": format!("Rotation Client {i}"),
                    "a_number": format!("A{:09}", 200_000_000 + i),
                    "notes": "details to carry through the rotation",
                }))
                .unwrap();
                let case = v.create_case(&op, &input).await.expect("case");
                for d in 0..2u64 {
                    let body = bytes::Bytes::from(common::noise(4096, (i as u64) * 2 + d));
                    let meta = UploadMeta {
                        filename: format!("doc-{d}.pdf"),
                        ..UploadMeta::default()
                    };
                    let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(body)]);
                    v.store_document(&op, &case, meta, stream)
                        .await
                        .expect("store");
                }
                case
            }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    eprintln!("made in {:.1} s", t.elapsed().as_secs_f64());

    let (cert, key) = self_signed(tmp.path()).expect("cert");
    let server = app
        .serve(
            "127.0.0.1:0".parse().unwrap(),
            &Tls::Files {
                cert: cert.clone(),
                key,
            },
        )
        .await
        .expect("serve");
    let base = format!("https://localhost:{}/api/v1", server.addr.port());
    let pem = std::fs::read(&cert).unwrap();
    let alice = Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .cookie_store(true)
        .build()
        .unwrap();
    let u = &creds.users["alice"];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let code = TotpSecret::from_base32(&u.totp_secret)
        .unwrap()
        .code_at(current_step(now));
    let r = alice
        .post(format!("{base}/login"))
        .json(&json!({"username": "alice", "password": u.password, "totp": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // The baseline: unseal the office and list every case of it (500 a page).
    let pass = creds.offices["bronx"].passphrase.clone();
    v.seal(&op, "bronx").await.expect("seal");
    let t = Instant::now();
    operator::unseal(&v, "bronx", age::secrecy::SecretString::from(pass))
        .await
        .expect("unseal");
    let mut listed = 0usize;
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{base}/cases?limit=500");
        if let Some(a) = &after {
            url.push_str(&format!("&after={a}"));
        }
        let page: Value = alice.get(url).send().await.unwrap().json().await.unwrap();
        listed += page["cases"].as_array().unwrap().len();
        match page["next_after"].as_str() {
            Some(a) => after = Some(a.to_string()),
            None => break,
        }
    }
    let unseal_list = t.elapsed();
    assert!(listed >= n, "listed {listed} of {n}");

    // Reads by the supervisor, quiet.
    let read = {
        let base = base.clone();
        move |c: Client, id: String| {
            let url = format!("{base}/cases/{id}");
            async move {
                let t = Instant::now();
                let r = c.get(url).send().await.unwrap();
                let ok = r.status() == StatusCode::OK;
                let _ = r.bytes().await;
                (t.elapsed().as_secs_f64() * 1000.0, ok)
            }
        }
    };
    let mut quiet = Vec::with_capacity(reads);
    for i in 0..reads {
        let (ms, ok) = read(alice.clone(), ids[(i * 7919) % ids.len()].clone()).await;
        assert!(ok);
        quiet.push(ms);
    }

    // The rotation, with the same reads running all along.
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (stop, alice, ids) = (stop.clone(), alice.clone(), ids.clone());
        let read = read.clone();
        tokio::spawn(async move {
            let (mut ms, mut failed, mut i) = (Vec::new(), 0usize, 0usize);
            while !stop.load(Ordering::Relaxed) {
                let (t, ok) = read(alice.clone(), ids[(i * 104_729) % ids.len()].clone()).await;
                ms.push(t);
                failed += usize::from(!ok);
                i += 1;
            }
            (ms, failed)
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = Instant::now();
    let rotation = v
        .rotate_office(&op, "bronx", StepUp::none())
        .await
        .expect("rotate");
    let rotated = t.elapsed();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let (during, failed) = reader.await.unwrap();
    let (q50, q99, qmax) = percentiles(quiet);
    let reads_during = during.len();
    let (d50, d99, dmax) = percentiles(during);

    // Every search still finds its case.
    let probe = 1234 % n;
    let found: Value = alice
        .get(format!("{base}/cases?a_number={:09}", 200_000_000 + probe))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["cases"].as_array().map(Vec::len), Some(1));

    let s = |d: Duration| d.as_secs_f64();
    println!(
        "\nrotating the key of an office with {} cases (two documents each)",
        rotation.cases
    );
    println!("| figure | value | baseline (same run) | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| rotation | {:.2} s | unseal + list every case: {:.2} s | {:.1}× |",
        s(rotated),
        s(unseal_list),
        s(rotated) / s(unseal_list)
    );
    println!(
        "| supervisor's case read, p50 | {d50:.1} ms during | {q50:.1} ms quiet | {:.1}× |",
        d50 / q50
    );
    println!(
        "| supervisor's case read, p99 | {d99:.1} ms during | {q99:.1} ms quiet | {:.1}× |",
        d99 / q99
    );
    println!(
        "| supervisor's case read, max | {dmax:.1} ms during | {qmax:.1} ms quiet | {:.1}× |",
        dmax / qmax
    );
    println!("| reads during the rotation | {reads_during}, {failed} failed | | |");
    assert_eq!(failed, 0, "reads failed during the rotation");
    server.shutdown().await;
}
