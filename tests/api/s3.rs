//! Documents on a real SeaweedFS cluster (issue 13): byte-identical round trips of
//! every size that crosses a part boundary, a bucket that holds nothing readable, a
//! volume server killed mid-run, the whole store down and back, a vault killed
//! mid-upload, purge, and two vaults on one bucket.
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::childkit::{self, Server};
use super::helpers::{TestApp, assert_error, scan_for, spawn_app_with};
use super::lifecycle_helpers::post_json;
use super::s3kit::{bucket, doc, keys, s3_settings, s3_toml, scan_bucket};
use super::seaweed::Cluster;

const MIB: usize = 1024 * 1024;

async fn app_on(c: &Cluster, prefix: &str) -> TestApp {
    spawn_app_with(s3_settings(c, prefix)).await
}

async fn download(app: &TestApp, c: &reqwest::Client, case: &str, doc: &str) -> Vec<u8> {
    let r = c
        .get(app.url(&format!("/cases/{case}/documents/{doc}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.bytes().await.unwrap().to_vec()
}

/// Sizes 0, 1, 64 KiB ± 1, 5 MiB (one part exactly) and one of several parts come
/// back byte for byte; the bucket then holds only random names, and no object in it
/// holds a filename, a client's name or a document's plaintext; nor does the data
/// directory, which holds no blob at all.
#[tokio::test]
async fn documents_round_trip_through_the_cluster_and_the_bucket_holds_nothing_readable() {
    let cluster = Cluster::start();
    let app = app_on(&cluster, "roundtrip").await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(
            &alice,
            "bronx",
            "Marisol Quintanilla-Reyes",
            Some("A123456789"),
        )
        .await;
    // From one byte: an empty document is refused (day_office.rs).
    let sizes = [1, 2, 65_535, 65_536, 65_537, 5 * MIB, 3 * 5 * MIB + 12_345];
    let mut stored = Vec::new();
    for (i, n) in sizes.iter().enumerate() {
        let body = doc(&format!("PLAINTEXT-MARKER-{i}-"), *n);
        let name = format!("asylum-declaration-{i}.pdf");
        let id = app.upload_ok(&alice, &case, &name, body.clone()).await;
        stored.push((id, body));
    }
    for (id, body) in &stored {
        let got = download(&app, &alice, &case, id).await;
        assert_eq!(got.len(), body.len());
        assert!(got == *body, "document {id} changed on the way");
    }

    // The store's client blocks on a runtime of its own: fine on the test's thread.
    let b = bucket(&cluster, "roundtrip");
    let blobs = keys(&b, "blobs");
    assert_eq!(blobs.len(), sizes.len(), "{blobs:?}");
    for k in &blobs {
        let name = k.rsplit('/').next().unwrap();
        assert!(
            k.starts_with("roundtrip/blobs/")
                && name.len() == 32
                && name.bytes().all(|c| c.is_ascii_hexdigit()),
            "{k}"
        );
    }
    let uploads = keys(&b, "uploads");
    assert!(uploads.is_empty(), "upload markers left: {uploads:?}");

    let markers: Vec<Vec<u8>> = (0..sizes.len())
        .map(|i| format!("PLAINTEXT-MARKER-{i}-").into_bytes())
        .chain((0..sizes.len()).map(|i| format!("asylum-declaration-{i}").into_bytes()))
        .chain(["Marisol", "Quintanilla", "A123456789"].map(|m| m.as_bytes().to_vec()))
        .collect();
    let refs: Vec<&[u8]> = markers.iter().map(Vec::as_slice).collect();
    let (hits, objects, bytes) = scan_bucket(&cluster, &refs);
    assert!(objects > sizes.len(), "the scan read {objects} objects");
    assert!(bytes as usize > sizes.iter().sum::<usize>());
    assert!(hits.is_empty(), "plaintext in the bucket: {hits:?}");
    let local = scan_for(app.data(), &refs);
    assert!(
        local.is_empty(),
        "plaintext in the data directory: {local:?}"
    );
    assert!(
        !app.data().join("blobs").exists(),
        "blobs on the local disk"
    );
}

/// Polls `f` until it is true (a failure after `secs`; a pass never waits for it).
async fn eventually(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn document_ids(app: &TestApp, c: &reqwest::Client, case: &str) -> Vec<String> {
    let r = c
        .get(app.url(&format!("/cases/{case}/documents")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    v["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect()
}

/// With the gateway gone, an upload and a download answer 503 with a JSON error that
/// says so (never 500), nothing is stored, and once the gateway is back the same vault
/// serves again without a restart.
#[tokio::test]
async fn a_store_that_is_down_answers_503_and_the_vault_recovers_by_itself() {
    let mut cluster = Cluster::start();
    let app = app_on(&cluster, "outage").await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Outage Client", None)
        .await;
    let kept = app
        .upload_ok(&alice, &case, "before.pdf", doc("BEFORE-", 70_000))
        .await;

    cluster.kill_filer();
    for body in [doc("SMALL-", 1000), doc("LARGE-", 7 * MIB)] {
        let r = app.upload(&alice, &case, "during.pdf", body).await;
        let v = assert_error(r, StatusCode::SERVICE_UNAVAILABLE, "store_unavailable").await;
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains("nothing was stored"), "{msg}");
    }
    let r = alice
        .get(app.url(&format!("/cases/{case}/documents/{kept}")))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::SERVICE_UNAVAILABLE, "store_unavailable").await;
    assert_eq!(document_ids(&app, &alice, &case).await, vec![kept.clone()]);

    cluster.restart_filer();
    let deadline = Instant::now() + Duration::from_secs(60);
    let again = loop {
        let r = app
            .upload(&alice, &case, "after.pdf", doc("AFTER-", 6 * MIB))
            .await;
        match r.status() {
            StatusCode::CREATED => break r.json::<Value>().await.unwrap()["id"].to_string(),
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(Instant::now() < deadline, "the vault did not recover");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            other => panic!("answered {other} while the store came back"),
        }
    };
    assert!(!again.is_empty());
    assert!(download(&app, &alice, &case, &kept).await == doc("BEFORE-", 70_000));
    assert_eq!(document_ids(&app, &alice, &case).await.len(), 2);
    let b = bucket(&cluster, "outage");
    assert_eq!(
        keys(&b, "blobs").len(),
        2,
        "an object of a refused upload stayed"
    );
}

/// Purge makes the case unreadable at once and removes its objects afterwards; a
/// second vault on another prefix of the same bucket keeps every object and reads
/// its documents; and no vault may take a prefix another vault owns.
#[tokio::test]
async fn purge_removes_the_objects_and_a_vault_on_another_prefix_is_untouched() {
    let cluster = Cluster::start();
    let a = app_on(&cluster, "shard-a").await;
    let b = app_on(&cluster, "shard-b").await;
    let (alice_a, alice_b) = (a.login("alice").await, b.login("alice").await);
    let case_a = a
        .create_case(&alice_a, "bronx", "Shard A Client", None)
        .await;
    let case_b = b
        .create_case(&alice_b, "bronx", "Shard B Client", None)
        .await;
    let mut docs_b = Vec::new();
    for (i, n) in [10, 6 * MIB].iter().enumerate() {
        a.upload_ok(&alice_a, &case_a, "a.pdf", doc(&format!("A{i}-"), *n))
            .await;
        let body = doc(&format!("B{i}-"), *n);
        docs_b.push((
            b.upload_ok(&alice_b, &case_b, "b.pdf", body.clone()).await,
            body,
        ));
    }
    let (store_a, store_b) = (bucket(&cluster, "shard-a"), bucket(&cluster, "shard-b"));
    assert_eq!(keys(&store_a, "blobs").len(), 2);
    let before_b = keys(&store_b, "blobs");
    assert_eq!(before_b.len(), 2);

    let admin = a.login("admin").await;
    let r = post_json(
        &a,
        &admin,
        &format!("/cases/{case_a}/purge"),
        json!({"totp": a.code("admin")}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = alice_a
        .get(a.url(&format!("/cases/{case_a}")))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    eventually(30, "the purged case's objects are deleted", || {
        keys(&store_a, "blobs").is_empty()
    })
    .await;
    assert_eq!(keys(&store_b, "blobs"), before_b);
    for (id, body) in &docs_b {
        assert!(download(&b, &alice_b, &case_b, id).await == *body);
    }

    // A third vault pointed at shard-a is refused: its sweep would delete a's objects.
    let dir = tempfile::tempdir().unwrap();
    let refused = casevault::app::App::open(
        casevault::VaultOptions {
            data_dir: dir.path().to_path_buf(),
            settings: s3_settings(&cluster, "shard-a"),
            clock: casevault::Clock::system(),
            auth_key_file: None,
        },
        casevault::policy::Policy::builtin().unwrap(),
    );
    let e = refused
        .err()
        .expect("a second vault on one prefix")
        .for_operator();
    assert!(e.contains("belongs to another vault"), "{e}");
}

fn s3_args(c: &Cluster, prefix: &str) -> Vec<String> {
    vec![
        "--blobs".into(),
        format!("s3://{}/{prefix}", super::seaweed::BUCKET),
        "--s3-endpoint".into(),
        c.endpoint(),
        "--s3-credentials".into(),
        c.credentials_file().display().to_string(),
    ]
}

async fn child_case(s: &Server, c: &reqwest::Client) -> String {
    let r = c
        .post(s.url("/cases"))
        .json(&json!({"office": "bronx", "client_name": "Node Loss Client"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A volume server killed (SIGKILL, by its pid) in the middle of concurrent uploads
/// and downloads: no request answers 500 (or anything but success), uploads keep
/// succeeding after the loss, every acknowledged upload reads back byte for byte, and
/// the degraded store shows in the server's log, not in any answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn losing_a_volume_server_mid_run_loses_no_acknowledged_upload() {
    let mut cluster = Cluster::start();
    let watch = format!(
        "\n[blobs]\nseaweedfs_master = \"{}\"\n",
        cluster.master_url()
    );
    let s = childkit::start_with(&[], &watch, &s3_args(&cluster, "nodeloss"));
    let alice = s.login("alice").await;
    let case = child_case(&s, &alice).await;
    let acked = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::<(String, Vec<u8>)>::new()));
    let statuses = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::<(Instant, u16)>::new()));
    let started = Instant::now();
    let run_for = Duration::from_secs(16);
    let mut workers = Vec::new();
    for w in 0..4usize {
        let (alice, acked, statuses) = (alice.clone(), acked.clone(), statuses.clone());
        let upload_url = s.url(&format!("/cases/{case}/documents"));
        let doc_url = s.url(&format!("/cases/{case}/documents/"));
        workers.push(tokio::spawn(async move {
            let mut i = 0usize;
            while started.elapsed() < run_for {
                let size = if (w + i).is_multiple_of(3) {
                    6 * MIB + w
                } else {
                    200_000 + i
                };
                let body = doc(&format!("NODELOSS-{w}-{i}-"), size);
                let r = alice
                    .post(&upload_url)
                    .query(&[("filename", "n.pdf")])
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                let st = r.status().as_u16();
                statuses.lock().await.push((Instant::now(), st));
                if st == 201 {
                    let id = r.json::<Value>().await.unwrap()["id"]
                        .as_str()
                        .unwrap()
                        .to_string();
                    acked.lock().await.push((id, body));
                }
                let pick = acked.lock().await.get(i * 7 % (i + 1)).cloned();
                if let Some((id, want)) = pick {
                    let r = alice.get(format!("{doc_url}{id}")).send().await.unwrap();
                    let st = r.status().as_u16();
                    statuses.lock().await.push((Instant::now(), st));
                    if st == 200 {
                        assert!(r.bytes().await.unwrap() == want, "a download changed");
                    }
                }
                i += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    let pid = cluster.volume_pid(0).unwrap();
    let killed_at = Instant::now();
    cluster.kill_volume(0);
    for w in workers {
        w.await.unwrap();
    }
    let statuses = statuses.lock().await.clone();
    let bad: Vec<_> = statuses
        .iter()
        .filter(|(_, st)| *st != 200 && *st != 201)
        .collect();
    assert!(
        bad.is_empty(),
        "answers other than 200/201 after killing pid {pid}: {bad:?}"
    );
    let after = statuses
        .iter()
        .filter(|(t, st)| *t > killed_at + Duration::from_secs(2) && *st == 201)
        .count();
    assert!(
        after >= 4,
        "only {after} uploads succeeded after the volume server died"
    );
    let acked = acked.lock().await.clone();
    assert!(acked.len() >= 10, "only {} uploads in all", acked.len());
    for (id, want) in &acked {
        let r = alice
            .get(s.url(&format!("/cases/{case}/documents/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "document {id} after the loss");
        assert!(r.bytes().await.unwrap() == *want, "document {id} changed");
    }
    let log = std::fs::read_to_string(s.dir.path().join("server.log")).unwrap();
    assert!(
        log.contains("blob store degraded"),
        "the log says nothing of the degraded store:\n{log}"
    );
    assert!(!log.contains("NODELOSS"), "document bytes in the log");
    eprintln!(
        "node loss: {} requests, {} uploads acknowledged, {after} after the loss",
        statuses.len(),
        acked.len()
    );
}

/// `kill -9` of the vault while a document streams in (its first parts already in the
/// store): no row names it, and the vault started again aborts the upload and
/// removes its marker once the grace period has passed, leaving the bucket as before.
#[tokio::test]
async fn a_vault_killed_mid_upload_leaves_no_row_and_the_sweep_removes_the_orphan() {
    let cluster = Cluster::start();
    let args = s3_args(&cluster, "killed");
    let mut s = childkit::start_with(&[], &s3_toml(&cluster, "killed", 3), &args);
    let alice = s.login("alice").await;
    let case = child_case(&s, &alice).await;
    let store = bucket(&cluster, "killed");
    let blobs_before = keys(&store, "blobs");

    // 12 MiB at once (two parts on their way), then a body that never ends.
    let first = bytes::Bytes::from(doc("KILLED-UPLOAD-", 12 * MIB));
    let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(first)])
        .chain(futures_util::stream::pending());
    let url = s.url(&format!("/cases/{case}/documents"));
    let sender = alice.clone();
    let upload = tokio::spawn(async move {
        sender
            .post(url)
            .query(&[("filename", "killed.pdf")])
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
    });
    eventually(30, "the upload's marker appears", || {
        !keys(&store, "uploads").is_empty()
    })
    .await;
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    let _ = upload.await;
    let markers = keys(&store, "uploads");
    assert_eq!(markers.len(), 1, "{markers:?}");
    let db = super::lifecycle_helpers::count;
    assert_eq!(db(&s.data, "documents", "1"), 0, "a row after kill -9");

    let dir = s.dir.clone();
    drop(s);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let s2 = childkit::launch(dir, &args);
    eventually(30, "the sweep removes the stalled upload", || {
        keys(&store, "uploads").is_empty()
    })
    .await;
    assert_eq!(keys(&store, "blobs"), blobs_before);
    assert_eq!(db(&s2.data, "documents", "1"), 0);
    let log = std::fs::read_to_string(s2.dir.path().join("server.log")).unwrap();
    assert!(
        log.contains("orphan"),
        "the sweep is not in the log:\n{log}"
    );
}
