//! Backups to a prefix of the cluster's bucket (issue 13, item 3), from a vault whose
//! own documents are in the cluster too: made and listed with the same commands as a
//! directory target, restored byte for byte, reached by a purge (the ledger copy in
//! the bucket is rewritten without the purged case's key), and refused on a bucket
//! that keeps old versions.
use std::path::Path;
use std::time::Duration;

use casevault::backup::ledger;
use casevault::backup::target::{self, S3Access};
use casevault::store::ShredKind;
use reqwest::StatusCode;
use serde_json::json;

use super::backupkit::{exported, identity_file, s};
use super::helpers::spawn_app_with;
use super::lifecycle_helpers::{cli, count, post_json, stdout};
use super::s3kit::{doc, s3_settings, scan_bucket};
use super::seaweed::{BUCKET, Cluster};

fn s3_flags(c: &Cluster) -> Vec<String> {
    vec![
        "--s3-endpoint".into(),
        c.endpoint(),
        "--s3-credentials".into(),
        c.credentials_file().display().to_string(),
    ]
}

fn run(args: &[String]) -> std::process::Output {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    cli(&refs, &[])
}

fn create(c: &Cluster, data: &Path, to: &str, recipient: &str) -> std::process::Output {
    let mut a: Vec<String> = ["backup", "create", "--data", s(data), "--to", to]
        .map(String::from)
        .to_vec();
    a.extend(["--recipient".into(), recipient.into(), "--quiet".into()]);
    a.extend(s3_flags(c));
    run(&a)
}

#[tokio::test]
async fn backups_to_the_bucket_restore_and_a_purge_reaches_them() {
    let cluster = Cluster::start();
    let app = spawn_app_with(s3_settings(&cluster, "live")).await;
    let alice = app.login("alice").await;
    let purged = app
        .create_case(&alice, "bronx", "Purged Person", None)
        .await;
    let kept = app.create_case(&alice, "bronx", "Kept Person", None).await;
    let kept_docs = [
        doc("KEPT-DOC-0-", 6 * 1024 * 1024 + 3),
        doc("KEPT-DOC-1-", 10),
    ];
    for d in &kept_docs {
        app.upload_ok(&alice, &kept, "kept.pdf", d.clone()).await;
    }
    app.upload_ok(&alice, &purged, "gone.pdf", doc("PURGED-DOC-", 70_000))
        .await;

    let scratch = tempfile::tempdir().unwrap();
    let (ident, idf) = identity_file(scratch.path(), "backup.key");
    let to = format!("s3://{BUCKET}/backups");
    let o = create(&cluster, app.data(), &to, &ident.recipient());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let first = stdout(&o).trim().to_string();

    let mut list: Vec<String> = ["backup", "list", "--from", &to].map(String::from).to_vec();
    list.extend(s3_flags(&cluster));
    let o = run(&list);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).starts_with(&first), "{}", stdout(&o));
    let mut verify: Vec<String> = ["backup", "verify", "--from", &to, "--quiet"]
        .map(String::from)
        .to_vec();
    verify.extend(s3_flags(&cluster));
    let o = run(&verify);
    assert!(
        o.status.success(),
        "verify: {} {}",
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );

    // Nothing readable anywhere in the bucket: live documents and backups alike.
    let markers: [&[u8]; 5] = [
        b"KEPT-DOC-",
        b"PURGED-DOC-",
        b"Purged Person",
        b"Kept Person",
        b"kept.pdf",
    ];
    let (hits, objects, _) = scan_bucket(&cluster, &markers);
    assert!(objects >= 8, "{objects} objects");
    assert!(hits.is_empty(), "plaintext in the bucket: {hits:?}");

    // A purge rewrites the bucket's ledger copies without waiting for a backup.
    let admin = app.login("admin").await;
    let r = post_json(
        &app,
        &admin,
        &format!("/cases/{purged}/purge"),
        json!({"totp": app.code("admin")}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let access = S3Access {
        endpoint: Some(cluster.endpoint()),
        credentials: Some(cluster.credentials_file()),
    };
    let t = target::open(&to, &access).unwrap();
    let mut waited = 0;
    loop {
        let l = ledger::read(&*t, &ident).unwrap();
        if l.key(ShredKind::Case, &purged).is_none() {
            assert!(l.key(ShredKind::Case, &kept).is_some());
            break;
        }
        waited += 1;
        assert!(
            waited < 200,
            "the bucket's ledger still holds the purged case's key"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The backup made before the purge restores without the purged case.
    let restored = scratch.path().join("restored");
    let mut r: Vec<String> = ["restore", "--from", &to, "--identity", s(&idf), "--data"]
        .map(String::from)
        .to_vec();
    r.extend([
        s(&restored).to_string(),
        "--backup".into(),
        first.clone(),
        "--quiet".into(),
    ]);
    r.extend(s3_flags(&cluster));
    let o = run(&r);
    assert!(
        o.status.success(),
        "restore: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(count(&restored, "cases", &format!("id = '{purged}'")), 0);
    assert_eq!(
        count(&restored, "documents", &format!("case_id = '{kept}'")),
        2
    );
    let pass = &app.creds.offices["bronx"].passphrase;
    let mut want = kept_docs.to_vec();
    want.sort();
    assert!(exported(&restored, &kept, pass, scratch.path()) == want);
}

/// A bucket that keeps old versions would keep every overwritten ledger (and with it
/// the keys of purged cases): `backup create` refuses it and says why.
#[tokio::test]
async fn a_bucket_with_versioning_is_refused_as_a_backup_target() {
    let cluster = Cluster::start();
    let versioned = "casevault-versioned";
    let b = casevault::store::s3::connect(
        casevault::store::s3::S3Location::parse(
            &format!("s3://{versioned}/x"),
            &cluster.endpoint(),
            "us-east-1",
        )
        .unwrap(),
        Some(&cluster.credentials_file()),
        &casevault::Settings::defaults().blobs,
    )
    .unwrap();
    // A new cluster may take a moment before it makes buckets.
    let mut tries = 0;
    loop {
        let answer = b.bucket_request("PUT", "", Vec::new());
        match &answer {
            Ok((st, _)) if (200..300).contains(st) => break,
            _ if tries < 40 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            _ => panic!("creating the bucket: {answer:?}"),
        }
    }
    let config = br#"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#;
    let (st, body) = b
        .bucket_request("PUT", "versioning", config.to_vec())
        .unwrap();
    assert!((200..300).contains(&st), "enabling versioning: {st} {body}");
    assert_eq!(b.versioning().unwrap().as_deref(), Some("Enabled"));

    let app = spawn_app_with(s3_settings(&cluster, "live")).await;
    let scratch = tempfile::tempdir().unwrap();
    let (ident, _) = identity_file(scratch.path(), "backup.key");
    let o = create(
        &cluster,
        app.data(),
        &format!("s3://{versioned}/b"),
        &ident.recipient(),
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("versioning Enabled"), "{err}");
}
