//! Client upload links (issue 25): 200 files of 1 MiB sent through upload links (the
//! client's multipart form, `POST /u/TOKEN`) against the same 200 files through the
//! signed-in upload route (`POST /api/v1/cases/{case}/documents`, raw body), in one
//! run against one `casevault demo` process, with the ratio and the server's peak RSS
//! (VmHWM, reset before each phase) for each.
//!
//! A link takes at most 50 files, so the 200 go through 4 links, one form of 50 files
//! each (as a phone sends a multi-file pick); the signed-in route takes one request per
//! file. Run: `cargo bench --bench upload_links` (`CASEVAULT_BENCH_FILES`, default 200;
//! `CASEVAULT_BENCH_DIR`, default `target/bench-tmp-links`). No thresholds: figures only.
// Benchmark harness code: a failed unwrap, expect or panic is a failed run, as it should be.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use common::{free_port, noise};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const MIB: usize = 1 << 20;
const PER_LINK: usize = 50;
const BOUNDARY: &str = "----casevaultbenchboundary";

fn vm_hwm_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let l = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_owned();
            l.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

fn reset_peak(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// A form of `files` 1 MiB files, as the client's browser sends it, built as a stream
/// of parts so the benchmark itself does not hold 50 MiB.
fn form(csrf: &str, files: usize, data: bytes::Bytes) -> reqwest::Body {
    let mut parts: Vec<bytes::Bytes> = vec![bytes::Bytes::from(format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n"
    ))];
    for i in 0..files {
        parts.push(bytes::Bytes::from(format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"scan-{i}.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
        )));
        parts.push(data.clone());
        parts.push(bytes::Bytes::from_static(b"\r\n"));
    }
    parts.push(bytes::Bytes::from(format!("--{BOUNDARY}--\r\n")));
    reqwest::Body::wrap_stream(futures_util::stream::iter(
        parts.into_iter().map(Ok::<_, std::io::Error>),
    ))
}

fn hidden_csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

fn main() {
    let files: usize = std::env::var("CASEVAULT_BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let dir = std::env::var("CASEVAULT_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-tmp-links")
        });
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let vault_dir = dir.join("vault");
    let mut server = Command::new(env!("CARGO_BIN_EXE_casevault"))
        .args(["demo", "--data"])
        .arg(&vault_dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("CASEVAULT_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start casevault demo");
    let pid = server.id();
    let data = bytes::Bytes::from(noise(MIB, 7));
    let (link_t, link_rss, api_t, api_rss) = common::run_value(async move {
        let base = format!("https://localhost:{port}");
        let creds_path = vault_dir.join("credentials.json");
        let mut creds: Option<Value> = None;
        for _ in 0..1200 {
            if let Ok(b) = std::fs::read(&creds_path)
                && let Ok(v) = serde_json::from_slice(&b)
                && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            {
                creds = Some(v);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let creds = creds.expect("server did not come up");
        let cert = std::fs::read(vault_dir.join("tls-cert.pem")).unwrap();
        let client = || {
            reqwest::Client::builder()
                .add_root_certificate(reqwest::Certificate::from_pem(&cert).unwrap())
                .cookie_store(true)
                .build()
                .unwrap()
        };
        let alice = client();
        let a = &creds["users"]["alice"];
        let secret =
            casevault::auth::TotpSecret::from_base32(a["totp_secret"].as_str().unwrap()).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let r = alice
            .post(format!("{base}/api/v1/login"))
            .json(&json!({"username": "alice", "password": a["password"],
                "totp": secret.code_at(casevault::auth::current_step(now))}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "login");
        let new_case = |name: &'static str| {
            let alice = alice.clone();
            let base = base.clone();
            async move {
                let v: Value = alice
                    .post(format!("{base}/api/v1/cases"))
                    .json(&json!({"office": "bronx", "client_name": name}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                v["id"].as_str().unwrap().to_string()
            }
        };
        let case = new_case("Through links").await;
        let links = files.div_ceil(PER_LINK);
        let mut urls = Vec::new();
        for _ in 0..links {
            let v: Value = alice
                .post(format!("{base}/api/v1/cases/{case}/upload-links"))
                .json(&json!({"max_files": PER_LINK}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            urls.push(v["url"].as_str().unwrap().to_string());
        }

        // (a) through the links: each link's page, then one form of its files.
        reset_peak(pid);
        let visitor = client();
        let start = Instant::now();
        for (i, url) in urls.iter().enumerate() {
            let n = (files - i * PER_LINK).min(PER_LINK);
            let html = visitor.get(url).send().await.unwrap().text().await.unwrap();
            let r = visitor
                .post(url)
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                )
                .body(form(&hidden_csrf(&html), n, data.clone()))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "link upload");
        }
        let link_t = start.elapsed();
        let link_rss = vm_hwm_kib(pid);

        // (b) the same files, signed in, one request each.
        let case2 = new_case("Signed in").await;
        reset_peak(pid);
        let start = Instant::now();
        for i in 0..files {
            let r = alice
                .post(format!("{base}/api/v1/cases/{case2}/documents"))
                .query(&[("filename", format!("scan-{i}.pdf"))])
                .header("content-type", "application/pdf")
                .body(data.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201, "signed-in upload");
        }
        let api_t = start.elapsed();
        let api_rss = vm_hwm_kib(pid);
        (link_t, link_rss, api_t, api_rss)
    });
    let _ = server.kill();
    let _ = server.wait();
    let mb = (files * MIB) as f64 / 1e6;
    println!("casevault upload links: {files} files of 1 MiB, one run, one server");
    println!(
        "{:<44} {:>9} {:>9} {:>7} {:>14}",
        "path", "seconds", "MB/s", "ratio", "peak RSS KiB"
    );
    let row = |name: &str, t: Duration, rss: u64| {
        println!(
            "{name:<44} {:>9.2} {:>9.1} {:>7.2} {rss:>14}",
            t.as_secs_f64(),
            mb / t.as_secs_f64(),
            t.as_secs_f64() / api_t.as_secs_f64()
        );
    };
    row("signed-in route (1 request per file)", api_t, api_rss);
    row("upload links (1 form of 50 per link)", link_t, link_rss);
    let _ = std::fs::remove_dir_all(&dir);
}
