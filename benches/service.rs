//! Service benchmark (issue 10): the vault as offices meet it, a real server (the release
//! binary, `casevault demo`) driven from outside by `wrk` and by our own clients, every
//! figure beside a baseline measured in the same run and the ratio between them:
//!
//! | figure | baseline |
//! |---|---|
//! | `GET /api/v1/cases/{case}`, 64 connections | `GET /healthz` (the stack's floor) |
//! | `GET /api/v1/cases` (a page of 50) at 1,000 and at 100,000 cases | the same page at 1,000 |
//! | `GET /api/v1/cases/{case}` while 4 connections list cases | the same, idle |
//! | purge of a 3 MiB and of a 400 MiB case | `shred -u` of the same bytes; each other |
//! | a correct password during a sign-in flood (64 connections, 127.0.0.2–17) | the same, quiet |
//! | the server's peak RSS | — |
//!
//! Run: `cargo bench --bench service` (needs `wrk`: `apt-get install wrk`). Knobs:
//! `CASEVAULT_BENCH_SECS` (seconds per load run, default 10) and
//! `CASEVAULT_BENCH_CASES` (the two office sizes, default `1000,100000`). About 1 GiB
//! of disk is used under `$TMPDIR`. The machine's cores are shared by the load
//! generator and the server, as they were when the figures were taken.
// Benchmark harness code: a failed unwrap, expect or panic is a failed run, as it should be.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use common::{free_port, noise};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use casevault::auth::{TotpSecret, current_step};
use casevault::crypto::{CaseKey, seal_to};
use casevault::demo::{Credentials, read_credentials};
use casevault::store::{Db, NewCaseRow, StoreError};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

const SESSION: &str = "__Host-casevault_session";

fn env_secs() -> u64 {
    std::env::var("CASEVAULT_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10)
}

fn env_sizes() -> (usize, usize) {
    let s = std::env::var("CASEVAULT_BENCH_CASES").unwrap_or_else(|_| "1000,100000".into());
    let v: Vec<usize> = s.split(',').filter_map(|x| x.trim().parse().ok()).collect();
    match v[..] {
        [a, b] if a > 0 && b >= a => (a, b),
        _ => panic!("CASEVAULT_BENCH_CASES is two sizes, small first: 1000,100000"),
    }
}

/// The server under test: `casevault demo` on a data directory, as a child process.
struct Server {
    child: Child,
    port: u16,
    data: PathBuf,
}

impl Server {
    fn start(data: &Path, port: u16) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_casevault"))
            .args(["demo", "--data"])
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(data.with_extension("log"))
                    .expect("server log"),
            )
            .spawn()
            .expect("start casevault demo");
        let s = Server {
            child,
            port,
            data: data.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        s
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }

    fn base(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base())
    }

    /// (current, peak) resident memory in MiB.
    fn rss_mib(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .map(|kb| kb / 1024.0)
                .unwrap_or(f64::NAN)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// Samples the resident memory every 50 ms until `stop`; returns the highest, in
    /// MiB (the peak *under load*: `VmHWM` also counts the unseal's scrypt at start,
    /// 256 MiB by design of the passphrase KDF, freed before serving).
    fn rss_sampler(&self, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<f64> {
        let path = format!("/proc/{}/status", self.child.id());
        std::thread::spawn(move || {
            let mut max = 0.0f64;
            while !stop.load(Ordering::Relaxed) {
                let kb = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|st| {
                        st.lines()
                            .find(|l| l.starts_with("VmRSS:"))
                            .and_then(|l| l.split_whitespace().nth(1))
                            .and_then(|v| v.parse::<f64>().ok())
                    })
                    .unwrap_or(0.0);
                max = max.max(kb / 1024.0);
                std::thread::sleep(Duration::from_millis(50));
            }
            max
        })
    }

    fn creds(&self) -> Credentials {
        read_credentials(&self.data.join("credentials.json")).unwrap()
    }

    fn client(&self, local: Option<IpAddr>) -> Client {
        let pem = std::fs::read(self.data.join("tls-cert.pem")).unwrap();
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            reqwest::header::CONTENT_TYPE,
            reqwest::header::HeaderValue::from_static("application/json"),
        );
        let mut b = Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .resolve("localhost", ([127, 0, 0, 1], self.port).into())
            .cookie_store(true)
            .default_headers(h)
            .pool_max_idle_per_host(8);
        if let Some(ip) = local {
            b = b.local_address(ip);
        }
        b.build().unwrap()
    }
}

fn code(creds: &Credentials, user: &str, step_offset: i64) -> String {
    let secret = TotpSecret::from_base32(&creds.users[user].totp_secret).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    secret.code_at(current_step(now) + step_offset)
}

/// Signs `user` in (a fresh TOTP step each time: the server refuses replays) and
/// returns the client and its session cookie's value.
async fn login(
    s: &Server,
    user: &str,
    used: &mut Vec<(String, String)>,
    with: Option<&Client>,
) -> (Client, String) {
    let creds = s.creds();
    let c = with.cloned().unwrap_or_else(|| s.client(None));
    loop {
        let totp = code(&creds, user, 0);
        if used.contains(&(user.to_string(), totp.clone())) {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        used.push((user.to_string(), totp.clone()));
        let r = c
            .post(s.url("/login"))
            .json(&json!({"username": user, "password": creds.users[user].password, "totp": totp}))
            .send()
            .await
            .unwrap();
        if r.status() != StatusCode::OK {
            let status = r.status();
            panic!(
                "login {user}: {status} {}",
                r.text().await.unwrap_or_default()
            );
        }
        let cookie = r
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| {
                v.strip_prefix(&format!("{SESSION}="))
                    .map(|rest| rest.split(';').next().unwrap_or("").to_string())
            })
            .expect("session cookie");
        return (c, cookie);
    }
}

/// Adds `n` cases to bronx directly in the database (the server is stopped): real
/// case keys wrapped to the office and real sealed metadata, many rows a transaction.
fn seed(data: &Path, creator: &str, n: usize) {
    if n == 0 {
        return;
    }
    let db = Db::open(data).unwrap();
    let office = db
        .read(|tx| tx.office("bronx"))
        .unwrap()
        .expect("bronx office");
    let now = "2026-12-01T00:00:00Z";
    let mut left = n;
    while left > 0 {
        let batch = left.min(5_000);
        db.write(|tx| -> Result<(), StoreError> {
            for i in 0..batch {
                let k = CaseKey::create(&office.recipient).unwrap();
                let meta = json!({"client_name": format!("Seeded Client {left}-{i}"),
                    "a_number": null, "date_of_birth": null, "country_of_birth": null, "notes": null});
                let ct = seal_to(&k.recipient, meta.to_string().as_bytes()).unwrap();
                let id = uuid::Uuid::new_v4().hyphenated().to_string();
                tx.insert_case(&NewCaseRow {
                    id: &id,
                    office: "bronx",
                    created_by: creator,
                    recipient: &k.recipient,
                    wrapped_identity: &k.wrapped_identity,
                    metadata: &ct,
                    a_number_index: None,
                    a_number_pending: false,
                    created_at: now,
                })?;
            }
            Ok(())
        })
        .unwrap();
        left -= batch;
    }
}

/// One wrk run.
#[derive(Debug, Clone, Copy)]
struct Load {
    rps: f64,
    p50: f64,
    p99: f64,
    bad: u64,
}

fn to_ms(s: &str) -> f64 {
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len()));
    let v: f64 = num.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => v / 1000.0,
        "ms" => v,
        "s" => v * 1000.0,
        "m" => v * 60_000.0,
        _ => f64::NAN,
    }
}

fn wrk(url: &str, conns: u32, secs: u64, cookie: Option<&str>) -> Load {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t2",
        &format!("-c{conns}"),
        &format!("-d{secs}s"),
        "--timeout",
        "10s",
        "--latency",
    ]);
    if let Some(c) = cookie {
        cmd.args(["-H", &format!("Cookie: {SESSION}={c}")]);
    }
    let out = cmd.arg(url).output().expect("wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout);
    let pct = |p: &str| {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(p))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(to_ms)
            .unwrap_or(f64::NAN)
    };
    let rps = text
        .lines()
        .find(|l| l.starts_with("Requests/sec:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    let bad = text
        .lines()
        .find(|l| l.trim().starts_with("Non-2xx"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Load {
        rps,
        p50: pct("50%"),
        p99: pct("99%"),
        bad,
    }
}

/// Purge answer time of a case holding one document of `size` bytes, and the time of
/// `shred -u` on a file of the same size.
async fn purge_pair(
    s: &Server,
    alice: &Client,
    admin: &Client,
    size: usize,
    scratch: &Path,
) -> (f64, f64) {
    let r = alice
        .post(s.url("/cases"))
        .json(&json!({"office": "bronx", "client_name": "Purge Bench"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let case = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = noise(size, size as u64);
    let r = alice
        .post(s.url(&format!("/cases/{case}/documents")))
        .query(&[("filename", "bench.pdf")])
        .header("content-type", "application/pdf")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let t = Instant::now();
    let r = admin
        .post(s.url(&format!("/cases/{case}/purge")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let purge = t.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let f = scratch.join(format!("shred-{size}"));
    std::fs::write(&f, &body).unwrap();
    let _ = Command::new("sync").status();
    let t = Instant::now();
    let ok = Command::new("shred").arg("-u").arg(&f).status().unwrap();
    let shred = t.elapsed().as_secs_f64() * 1000.0;
    assert!(ok.success());
    (purge, shred)
}

/// Sequential attempts with the right password and no code (the server answers
/// "code required" only after verifying the password): each answer's time in ms.
async fn password_checks(s: &Server, c: &Client, n: usize) -> Vec<f64> {
    let creds = s.creds();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = c
            .post(s.url("/login"))
            .json(&json!({"username": "alice", "password": creds.users["alice"].password}))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let _ = r.bytes().await;
        out.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "a correct password must be checked, not refused"
        );
    }
    out
}

fn pctl(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or(f64::NAN)
}

/// 64 connections from 16 addresses sending wrong passwords for alice until `stop`.
fn flood(
    s: &Server,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    for a in 2..18u8 {
        let c = s.client(Some(IpAddr::from([127, 0, 0, a])));
        for _ in 0..4 {
            let (c, stop, sent, url) = (c.clone(), stop.clone(), sent.clone(), s.url("/login"));
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let r = c
                        .post(&url)
                        .json(&json!({"username": "alice", "password": "wrong password 123", "totp": "000000"}))
                        .send()
                        .await;
                    if let Ok(r) = r {
                        let _ = r.bytes().await;
                    }
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
    }
    tasks
}

struct Row(String, String, String, String);

fn print(rows: &[Row]) {
    println!();
    println!("| figure | value | baseline | ratio |");
    println!("|---|---|---|---|");
    for Row(a, b, c, d) in rows {
        println!("| {a} | {b} | {c} | {d} |");
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("the service benchmark drives the server with wrk: apt-get install wrk");
        std::process::exit(2);
    }
    let secs = env_secs();
    let (small, large) = env_sizes();
    let dir = tempfile::Builder::new()
        .prefix("casevault-bench")
        .tempdir()
        .unwrap();
    let root = dir.path().to_path_buf();
    // CASEVAULT_BENCH_KEEP=1 keeps the directory (and the server's log beside the vault).
    let _dir = if std::env::var_os("CASEVAULT_BENCH_KEEP").is_some() {
        eprintln!("keeping {}", dir.keep().display());
        None
    } else {
        Some(dir)
    };
    let data = root.join("vault");
    let port = free_port();
    let mut rows = Vec::new();
    let mut used = Vec::new();

    // A demo vault, then `small` cases in bronx (alice, a supervisor, sees them all).
    let s = Server::start(&data, port);
    let alice_id = s.creds().users["alice"].id.clone();
    s.stop();
    let t = Instant::now();
    seed(&data, &alice_id, small);
    eprintln!("seeded {small} cases in {:.1} s", t.elapsed().as_secs_f64());
    let s = Server::start(&data, port);
    let (alice, cookie) = login(&s, "alice", &mut used, None).await;
    let sampling = Arc::new(AtomicBool::new(false));
    let sampler = s.rss_sampler(sampling.clone());
    let list = s.url("/cases?limit=50");
    let first: Value = alice.get(&list).send().await.unwrap().json().await.unwrap();
    let case = first["cases"][0]["id"].as_str().unwrap().to_string();
    let one = s.url(&format!("/cases/{case}"));

    // Warm-up (the runtime's blocking threads, TLS sessions, caches), then the floor.
    let _ = wrk(&format!("{}/healthz", s.base()), 64, 2, None);
    let _ = wrk(&one, 64, 3, Some(&cookie));
    let floor = wrk(&format!("{}/healthz", s.base()), 64, secs, None);
    eprintln!("rss after start: {:?}", s.rss_mib());
    let read = wrk(&one, 64, secs, Some(&cookie));
    eprintln!("rss after case reads: {:?}", s.rss_mib());
    rows.push(Row(
        "`GET /healthz`, 64 connections".into(),
        format!("{:.0} req/s, p99 {:.1} ms", floor.rps, floor.p99),
        "—".into(),
        "—".into(),
    ));
    rows.push(Row(
        "`GET /api/v1/cases/{case}`, 64 connections".into(),
        format!(
            "{:.0} req/s, p50 {:.1} ms, p99 {:.1} ms{}",
            read.rps,
            read.p50,
            read.p99,
            bad(read)
        ),
        format!("{:.0} req/s (`/healthz`)", floor.rps),
        format!(
            "{:.2}× (goal ≥ 0.25×; p99 goal ≤ 20 ms)",
            read.rps / floor.rps
        ),
    ));
    // Warm the office's metadata cache as any first visit would, then the list.
    let _ = wrk(&list, 4, 2, Some(&cookie));
    let list_small = wrk(&list, 64, secs, Some(&cookie));
    eprintln!("rss after lists: {:?}", s.rss_mib());

    // Head of line: one case read while four connections list cases.
    let idle = wrk(&one, 60, secs, Some(&cookie));
    let (l2, c2, secs2) = (list.clone(), cookie.clone(), secs + 2);
    let lister = std::thread::spawn(move || wrk(&l2, 4, secs2, Some(&c2)));
    std::thread::sleep(Duration::from_millis(500));
    let busy = wrk(&one, 60, secs, Some(&cookie));
    let _ = lister.join();
    rows.push(Row(
        "`GET /api/v1/cases/{case}` p99 while 4 connections list (60 connections)".into(),
        format!("{:.1} ms ({:.0} req/s)", busy.p99, busy.rps),
        format!("{:.1} ms idle ({:.0} req/s)", idle.p99, idle.rps),
        format!("{:.2}× (goal ≤ 2×)", busy.p99 / idle.p99),
    ));

    // Purge: answer time against shred -u, small and large.
    let (admin, _) = login(&s, "admin", &mut used, None).await;
    let scratch = root.join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let (p3, s3) = purge_pair(&s, &alice, &admin, 3 << 20, &scratch).await;
    let (p400, s400) = purge_pair(&s, &alice, &admin, 400 << 20, &scratch).await;
    eprintln!("rss after purges: {:?}", s.rss_mib());
    rows.push(Row(
        "purge answer, 3 MiB case".into(),
        format!("{p3:.1} ms"),
        format!("{s3:.1} ms (`shred -u`)"),
        format!("{:.0}× faster", s3 / p3),
    ));
    rows.push(Row(
        "purge answer, 400 MiB case".into(),
        format!("{p400:.1} ms"),
        format!("{s400:.1} ms (`shred -u`); {p3:.1} ms (3 MiB)"),
        format!(
            "{:.0}× faster than shred (goal ≥ 100×); {:.2}× the 3 MiB purge (goal ≤ 1.5×)",
            s400 / p400,
            p400 / p3
        ),
    ));

    // Sign-in: a correct password, quiet and during a flood; then a full sign-in.
    let quiet = password_checks(&s, &alice, 10).await;
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let tasks = flood(&s, stop.clone(), sent.clone());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let flooded = password_checks(&s, &alice, 20).await;
    let stranger = s.client(None);
    let creds = s.creds();
    let r = stranger
        .post(s.url("/login"))
        .json(&json!({"username": "alice", "password": creds.users["alice"].password}))
        .send()
        .await
        .unwrap();
    let new_browser = r.status();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    eprintln!("rss after the flood: {:?}", s.rss_mib());
    // The browser that signed in before the flood signs in fully after it.
    let (_, _) = login(&s, "alice", &mut used, Some(&alice)).await;
    rows.push(Row(
        "correct password during a flood (64 connections from 127.0.0.2–17), p95".into(),
        format!(
            "{:.0} ms (max {:.0} ms; {} flood attempts; a new browser got {})",
            pctl(&flooded, 0.95),
            pctl(&flooded, 1.0),
            sent.load(Ordering::Relaxed),
            new_browser.as_u16()
        ),
        format!("{:.0} ms quiet", pctl(&quiet, 0.95)),
        format!(
            "{:.1}× (goal p95 ≤ 2 s); signed in fully afterwards: yes",
            pctl(&flooded, 0.95) / pctl(&quiet, 0.95)
        ),
    ));

    // The same list page at the large size.
    let (_, hwm_small) = s.rss_mib();
    sampling.store(true, Ordering::Relaxed);
    let load_small = sampler.join().unwrap();
    s.stop();
    let t = Instant::now();
    seed(&data, &alice_id, large - small);
    eprintln!(
        "seeded {} more cases in {:.1} s",
        large - small,
        t.elapsed().as_secs_f64()
    );
    let s = Server::start(&data, port);
    let (_, cookie) = login(&s, "alice", &mut used, None).await;
    let sampling = Arc::new(AtomicBool::new(false));
    let sampler = s.rss_sampler(sampling.clone());
    let _ = wrk(&list, 4, 2, Some(&cookie));
    let list_large = wrk(&list, 64, secs, Some(&cookie));
    rows.push(Row(
        format!("`GET /api/v1/cases` (page of 50), {small} cases, 64 connections"),
        format!(
            "p99 {:.1} ms, {:.0} req/s{}",
            list_small.p99,
            list_small.rps,
            bad(list_small)
        ),
        format!("{:.0} req/s (`/healthz`)", floor.rps),
        format!(
            "{:.3}× of the floor (p99 goal ≤ 50 ms)",
            list_small.rps / floor.rps
        ),
    ));
    rows.push(Row(
        format!("`GET /api/v1/cases` (page of 50), {large} cases, 64 connections"),
        format!(
            "p99 {:.1} ms, {:.0} req/s{}",
            list_large.p99,
            list_large.rps,
            bad(list_large)
        ),
        format!("p99 {:.1} ms at {small}", list_small.p99),
        format!("{:.2}× (goal: flat)", list_large.p99 / list_small.p99),
    ));
    sampling.store(true, Ordering::Relaxed);
    let load_large = sampler.join().unwrap();
    let (_, hwm_large) = s.rss_mib();
    rows.push(Row(
        "server RSS under load (highest sample, every 50 ms)".into(),
        format!(
            "{load_small:.0} MiB ({small} cases, every run above); {load_large:.0} MiB ({large} cases, the list run)"
        ),
        format!(
            "VmHWM {hwm_small:.0} / {hwm_large:.0} MiB: the unseal's scrypt at start (N = 2^18, r = 8: 256 MiB, freed)"
        ),
        "goal ≤ 100 MiB".into(),
    ));
    s.stop();
    print(&rows);
}

fn bad(l: Load) -> String {
    if l.bad > 0 {
        format!(" ({} non-2xx)", l.bad)
    } else {
        String::new()
    }
}
