//! Vaults on the SeaweedFS cluster of `seaweed.rs`: settings that put a vault's blobs
//! under a prefix of the test bucket, and a reader of the bucket itself (listing and
//! whole objects) for the forensic scans.
#![allow(dead_code)]
use std::sync::Arc;

use casevault::Settings;
use casevault::store::s3::{S3Blobs, S3Location};

use super::helpers::test_settings;
use super::seaweed::{BUCKET, Cluster};

/// Test settings with the vault's documents under `s3://BUCKET/prefix`: a short
/// grace period and retry window so the sweep and a 503 come within seconds.
pub fn s3_settings(c: &Cluster, prefix: &str) -> Settings {
    let mut s = test_settings();
    s.blobs.location = format!("s3://{BUCKET}/{prefix}");
    s.blobs.s3_endpoint = c.endpoint();
    s.blobs.s3_credentials = Some(c.credentials_file());
    s.blobs.orphan_grace_seconds = 3;
    s.blobs.s3_retry_seconds = 4;
    s
}

/// The `[blobs]` section of a child server's `settings.toml` for `prefix`.
pub fn s3_toml(c: &Cluster, prefix: &str, grace: u64) -> String {
    format!(
        "\n[blobs]\nlocation = \"s3://{BUCKET}/{prefix}\"\ns3_endpoint = \"{}\"\ns3_credentials = \"{}\"\norphan_grace_seconds = {grace}\ns3_retry_seconds = 20\n",
        c.endpoint(),
        c.credentials_file().display()
    )
}

/// A client of the test bucket under `prefix` ("" for the whole bucket).
pub fn bucket(c: &Cluster, prefix: &str) -> Arc<S3Blobs> {
    let loc = S3Location::parse(
        &format!("s3://{BUCKET}/{prefix}"),
        &c.endpoint(),
        "us-east-1",
    )
    .unwrap();
    casevault::store::s3::connect(loc, Some(&c.credentials_file()), &test_settings().blobs).unwrap()
}

/// Every object key under `prefix/rest` (blocking; call from `spawn_blocking` or a
/// plain thread).
pub fn keys(b: &S3Blobs, rest: &str) -> Vec<String> {
    let mut k: Vec<String> = b
        .list(rest)
        .unwrap()
        .into_iter()
        .map(|(k, _, _)| k)
        .collect();
    k.sort();
    k
}

/// Every object of the bucket that contains one of `markers`, with the marker; and
/// how many objects and bytes were read.
pub fn scan_bucket(c: &Cluster, markers: &[&[u8]]) -> (Vec<(String, String)>, usize, u64) {
    let b = bucket(c, "");
    let mut hits = Vec::new();
    let (mut objects, mut bytes) = (0, 0);
    for (key, _, _) in b.list("").unwrap() {
        let data = b
            .get_whole(object_store::path::Path::from(key.as_str()))
            .unwrap();
        objects += 1;
        bytes += data.len() as u64;
        for m in markers {
            if data.windows(m.len()).any(|w| w == *m) {
                hits.push((key.clone(), String::from_utf8_lossy(m).into_owned()));
            }
        }
    }
    (hits, objects, bytes)
}

/// `n` bytes that begin with `marker` and then count, so that any two documents (and
/// any shifted copy) differ.
pub fn doc(marker: &str, n: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(n);
    v.extend(marker.bytes().take(n));
    let mut i: u32 = 0;
    while v.len() < n {
        v.extend_from_slice(&i.to_le_bytes());
        i = i.wrapping_add(1);
    }
    v.truncate(n);
    v
}
