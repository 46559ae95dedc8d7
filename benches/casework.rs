//! Casework under a heavy case (issue 21 item 2): one case with 2,000 notes of 20,000
//! characters, read by 32 note lists and 8 case pages at once, while another user of
//! another office reads their own case. Printed beside the same read measured on a
//! quiet server in the same run, with the ratio, and the server's resident memory
//! sampled while the load runs (the unseal's scrypt at start is not counted).
//!
//! Run: `cargo bench --bench casework`. Knobs: `CASEVAULT_BENCH_NOTES` (default 2000),
//! `CASEVAULT_BENCH_READS` (reads of the other user's case per phase, default 300).
// Benchmark harness code: a failed unwrap, expect or panic is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use common::free_port;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use casevault::auth::{TotpSecret, current_step};
use casevault::demo::{Credentials, read_credentials};
use futures_util::StreamExt;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

fn env_n(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

struct Server {
    child: Child,
    port: u16,
    creds: Credentials,
    cert: Vec<u8>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(dir: &std::path::Path) -> Server {
        let port = free_port();
        let data = dir.join("vault");
        let child = Command::new(env!("CARGO_BIN_EXE_casevault"))
            .args(["demo", "--data"])
            .arg(&data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start casevault demo");
        let deadline = Instant::now() + Duration::from_secs(180);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let creds = read_credentials(&data.join("credentials.json")).unwrap();
        let cert = std::fs::read(data.join("tls-cert.pem")).unwrap();
        Server {
            child,
            port,
            creds,
            cert,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}/api/v1{path}", self.port)
    }

    fn rss_mib(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|st| {
                st.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<f64>().ok())
            })
            .unwrap_or(0.0)
            / 1024.0
    }

    async fn login(&self, name: &str) -> Client {
        let c = Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&self.cert).unwrap())
            .cookie_store(true)
            .build()
            .unwrap();
        let u = &self.creds.users[name];
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let code = TotpSecret::from_base32(&u.totp_secret)
            .unwrap()
            .code_at(current_step(now));
        let r = c
            .post(self.url("/login"))
            .json(&json!({"username": name, "password": u.password, "totp": code}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "login {name}");
        c
    }
}

async fn new_case(s: &Server, c: &Client, office: &str) -> String {
    let r = c
        .post(s.url("/cases"))
        .json(&json!({"office": office, "client_name": "Bench Client"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `n` sequential reads of `url`: (p50, p99) in milliseconds.
async fn latencies(c: &Client, url: &str, n: usize) -> (f64, f64) {
    let mut ms = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = c.get(url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let _ = r.bytes().await.unwrap();
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

fn main() {
    common::run(async {
        let notes = env_n("CASEVAULT_BENCH_NOTES", 2000);
        let reads = env_n("CASEVAULT_BENCH_READS", 300);
        let dir = tempfile::tempdir().unwrap();
        let s = Server::start(dir.path());
        let alice = s.login("alice").await;
        let bob = s.login("bob").await;
        let heavy = new_case(&s, &alice, "bronx").await;
        let own = new_case(&s, &bob, "queens").await;
        let text = "x".repeat(20_000);
        let t = Instant::now();
        let posted: Vec<StatusCode> = futures_util::stream::iter(0..notes)
            .map(|_| {
                let (c, url, text) = (
                    alice.clone(),
                    s.url(&format!("/cases/{heavy}/notes")),
                    text.clone(),
                );
                async move {
                    c.post(url)
                        .json(&json!({"text": text}))
                        .send()
                        .await
                        .unwrap()
                        .status()
                }
            })
            .buffer_unordered(8)
            .collect()
            .await;
        assert!(posted.iter().all(|s| *s == StatusCode::CREATED));
        eprintln!(
            "{notes} notes of 20,000 characters added in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let bob_url = s.url(&format!("/cases/{own}"));
        let quiet = latencies(&bob, &bob_url, reads).await;
        let rss_quiet = s.rss_mib();

        let stop = Arc::new(AtomicBool::new(false));
        let mut load = Vec::new();
        for i in 0..40 {
            let (c, stop) = (alice.clone(), stop.clone());
            let url = if i < 32 {
                s.url(&format!("/cases/{heavy}/notes"))
            } else {
                format!("https://localhost:{}/cases/{heavy}", s.port)
            };
            load.push(tokio::spawn(async move {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let r = c.get(&url).send().await.unwrap();
                    assert_eq!(r.status(), StatusCode::OK);
                    let _ = r.bytes().await.unwrap();
                    n += 1;
                }
                n
            }));
        }
        let peak = Arc::new(std::sync::Mutex::new(0.0f64));
        let sampler = {
            let (stop, peak, pid) = (stop.clone(), peak.clone(), s.child.id());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let kb = std::fs::read_to_string(format!("/proc/{pid}/status"))
                        .ok()
                        .and_then(|st| {
                            st.lines()
                                .find(|l| l.starts_with("VmRSS:"))
                                .and_then(|l| l.split_whitespace().nth(1))
                                .and_then(|v| v.parse::<f64>().ok())
                        })
                        .unwrap_or(0.0);
                    let mut p = peak.lock().unwrap();
                    *p = p.max(kb / 1024.0);
                    drop(p);
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        };
        tokio::time::sleep(Duration::from_secs(2)).await;
        let t = Instant::now();
        let loaded = latencies(&bob, &bob_url, reads).await;
        let secs = t.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        let mut served = 0;
        for h in load {
            served += h.await.unwrap();
        }
        sampler.join().unwrap();
        let peak = *peak.lock().unwrap();
        println!(
            "casework under a heavy case ({notes} notes of 20,000 characters; 32 note lists and 8 case pages in flight, {served} answered in {secs:.1} s)"
        );
        println!("| figure | loaded | quiet (same run) | ratio |");
        println!("|---|---|---|---|");
        println!(
            "| another office's case read, p50 | {:.1} ms | {:.1} ms | {:.1}× |",
            loaded.0,
            quiet.0,
            loaded.0 / quiet.0
        );
        println!(
            "| another office's case read, p99 | {:.1} ms | {:.1} ms | {:.1}× |",
            loaded.1,
            quiet.1,
            loaded.1 / quiet.1
        );
        println!(
            "| server RSS (sampled every 50 ms) | {peak:.0} MiB peak | {rss_quiet:.0} MiB | {:.1}× |",
            peak / rss_quiet
        );
    });
}
