//! Upload/download throughput through the HTTPS API against the age library (and the
//! Go `age` CLI when installed), measured in one run on the same disk, plus the
//! server's peak RSS. Run: `cargo bench --bench transfer` (CASEVAULT_BENCH_MIB=1024
//! by default; CASEVAULT_BENCH_DIR to choose the disk, default target/bench-tmp).
//!
//! The server runs as a separate `casevault demo` process so that its peak RSS
//! (VmHWM) is its own. No thresholds: this prints figures and ratios only.
// Benchmark harness code: a failed unwrap, expect or panic is a failed run, as it should be.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;
use common::free_port;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use age::secrecy::ExposeSecret;

const BLOCK: usize = 4 << 20;

fn block() -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..BLOCK)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn mbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e6
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU seconds (user + system) the process has used so far.
fn cpu_secs(pid: u32) -> f64 {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn vm_rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// (a) baseline: the age library encrypting the same bytes straight to a file.
fn age_lib_encrypt(
    dir: &Path,
    total: u64,
    data: &[u8],
    recipient: &age::x25519::Recipient,
) -> (Duration, PathBuf) {
    let path = dir.join("baseline.age");
    let start = Instant::now();
    let f = std::fs::File::create(&path).unwrap();
    let enc =
        age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient)).unwrap();
    let mut w = enc
        .wrap_output(std::io::BufWriter::with_capacity(256 * 1024, f))
        .unwrap();
    let mut left = total;
    while left > 0 {
        let n = left.min(data.len() as u64) as usize;
        w.write_all(&data[..n]).unwrap();
        left -= n as u64;
    }
    let f = w.finish().unwrap().into_inner().unwrap();
    f.sync_all().unwrap();
    (start.elapsed(), path)
}

fn age_lib_decrypt(path: &Path, identity: &age::x25519::Identity) -> (Duration, u64) {
    let start = Instant::now();
    let f = std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(path).unwrap());
    let d = age::Decryptor::new_buffered(f).unwrap();
    let mut r = d
        .decrypt(std::iter::once(identity as &dyn age::Identity))
        .unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    let mut n = 0u64;
    loop {
        let k = r.read(&mut buf).unwrap();
        if k == 0 {
            break;
        }
        n += k as u64;
    }
    (start.elapsed(), n)
}

fn go_age(
    dir: &Path,
    total: u64,
    data: &[u8],
    identity: &age::x25519::Identity,
) -> Option<(Duration, Duration)> {
    if Command::new("age")
        .arg("--version")
        .output()
        .ok()?
        .status
        .code()
        != Some(0)
    {
        return None;
    }
    let key = dir.join("go-age-key.txt");
    std::fs::write(&key, identity.to_string().expose_secret()).ok()?;
    let out = dir.join("go.age");
    let start = Instant::now();
    let mut child = Command::new("age")
        .args(["-r", &identity.to_public().to_string(), "-o"])
        .arg(&out)
        .stdin(Stdio::piped())
        .spawn()
        .ok()?;
    {
        let mut stdin = child.stdin.take()?;
        let mut left = total;
        while left > 0 {
            let n = left.min(data.len() as u64) as usize;
            stdin.write_all(&data[..n]).ok()?;
            left -= n as u64;
        }
    }
    child.wait().ok()?;
    std::fs::File::open(&out).ok()?.sync_all().ok()?;
    let enc = start.elapsed();
    let start = Instant::now();
    let st = Command::new("age")
        .args(["-d", "-i"])
        .arg(&key)
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .ok()?;
    let dec = start.elapsed();
    let _ = std::fs::remove_file(&out);
    st.success().then_some((enc, dec))
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mib: u64 = std::env::var("CASEVAULT_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let total = mib << 20;
    let dir = std::env::var("CASEVAULT_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-tmp"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let data = block();
    println!(
        "casevault transfer benchmark: {mib} MiB, disk {}",
        dir.display()
    );

    // Baselines.
    let identity = age::x25519::Identity::generate();
    let (enc_t, base_file) = age_lib_encrypt(&dir, total, &data, &identity.to_public());
    let (dec_t, n) = age_lib_decrypt(&base_file, &identity);
    assert_eq!(n, total);
    let _ = std::fs::remove_file(&base_file);
    let go = go_age(&dir, total, &data, &identity);

    // The server, as its own process.
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
    let creds_path = vault_dir.join("credentials.json");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let result = rt.block_on(async {
        let base = format!("https://localhost:{port}/api/v1");
        // Wait for the server (scrypt unseal of two offices happens first).
        let mut creds: Option<serde_json::Value> = None;
        for _ in 0..600 {
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
        let client = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&cert).unwrap())
            .cookie_store(true)
            .build()
            .unwrap();
        let alice = &creds["users"]["alice"];
        let secret = casevault::auth::TotpSecret::from_base32(alice["totp_secret"].as_str().unwrap()).unwrap();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let r = client
            .post(format!("{base}/login"))
            .json(&serde_json::json!({"username": "alice", "password": alice["password"], "totp": secret.code_at(casevault::auth::current_step(now))}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "login: {}", r.text().await.unwrap());
        let case: serde_json::Value = client
            .post(format!("{base}/cases"))
            .json(&serde_json::json!({"office": "bronx", "client_name": "Benchmark"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let case = case["id"].as_str().unwrap().to_string();
        let rss_idle = vm_rss_kib(pid).unwrap_or(0);
        // Reset the peak so that it reflects the transfers, not start-up (the demo's
        // scrypt unseal alone touches 256 MiB).
        let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");

        // (a) upload
        let data2 = bytes::Bytes::from(data.clone());
        let chunks = (total as usize).div_ceil(BLOCK);
        let stream = futures_util::stream::iter((0..chunks).map(move |i| {
            let n = (total as usize - i * BLOCK).min(BLOCK);
            Ok::<_, std::io::Error>(data2.slice(..n))
        }));
        let cpu0 = cpu_secs(pid);
        let start = Instant::now();
        let r = client
            .post(format!("{base}/cases/{case}/documents"))
            .query(&[("filename", "bench.bin")])
            .header("content-length", total.to_string())
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
            .unwrap();
        let up_t = start.elapsed();
        let up_cpu = cpu_secs(pid) - cpu0;
        assert_eq!(r.status(), 201, "upload: {}", r.text().await.unwrap());
        let doc: serde_json::Value = r.json().await.unwrap();
        let rss_after_up = vm_hwm_kib(pid).unwrap_or(0);

        // (b) download
        let cpu0 = cpu_secs(pid);
        let start = Instant::now();
        let mut resp = client
            .get(format!("{base}/cases/{case}/documents/{}", doc["id"].as_str().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let mut got = 0u64;
        while let Some(c) = resp.chunk().await.unwrap() {
            got += c.len() as u64;
        }
        let down_t = start.elapsed();
        let down_cpu = cpu_secs(pid) - cpu0;
        assert_eq!(got, total);
        let rss_peak = vm_hwm_kib(pid).unwrap_or(0);
        (up_t, down_t, up_cpu, down_cpu, rss_idle, rss_after_up, rss_peak)
    });
    let _ = server.kill();
    let _ = server.wait();
    let (up_t, down_t, up_cpu, down_cpu, rss_idle, rss_after_up, rss_peak) = result;

    println!();
    println!("{:<46} {:>10} {:>10}", "measurement", "MB/s", "ratio");
    println!(
        "{:<46} {:>10.0} {:>10}",
        "age library: encrypt to file (+fsync)",
        mbps(total, enc_t),
        "1.00"
    );
    println!(
        "{:<46} {:>10.0} {:>10.2}",
        "casevault HTTPS upload (encrypt+pad+fsync)",
        mbps(total, up_t),
        enc_t.as_secs_f64() / up_t.as_secs_f64()
    );
    println!(
        "{:<46} {:>10.0} {:>10}",
        "age library: decrypt to sink",
        mbps(total, dec_t),
        "1.00"
    );
    println!(
        "{:<46} {:>10.0} {:>10.2}",
        "casevault HTTPS download (decrypt)",
        mbps(total, down_t),
        dec_t.as_secs_f64() / down_t.as_secs_f64()
    );
    if let Some((ge, gd)) = go {
        println!(
            "{:<46} {:>10.0} {:>10.2}",
            "Go age CLI: encrypt (upload vs it)",
            mbps(total, ge),
            ge.as_secs_f64() / up_t.as_secs_f64()
        );
        println!(
            "{:<46} {:>10.0} {:>10.2}",
            "Go age CLI: decrypt (download vs it)",
            mbps(total, gd),
            gd.as_secs_f64() / down_t.as_secs_f64()
        );
    } else {
        println!("Go age CLI not installed: skipped (apt-get install age)");
    }
    println!();
    println!(
        "server CPU time: upload {up_cpu:.2} s ({:.0} MB per CPU-second, {:.2}x the age library's wall time), \
         download {down_cpu:.2} s ({:.0} MB per CPU-second, {:.2}x)",
        total as f64 / up_cpu.max(1e-9) / 1e6,
        enc_t.as_secs_f64() / up_cpu.max(1e-9),
        total as f64 / down_cpu.max(1e-9) / 1e6,
        dec_t.as_secs_f64() / down_cpu.max(1e-9),
    );
    println!("(the client runs on the same two cores: wall-clock ratios include its TLS work)");
    println!(
        "server RSS idle: {} KiB; peak (VmHWM) after upload: {} KiB; after download: {} KiB",
        rss_idle, rss_after_up, rss_peak
    );
    let _ = std::fs::remove_dir_all(&dir);
}
