//! Backups and restore (issue 12): round trip while uploads run, nothing readable at
//! the target, purge and retention reach old backups.
use casevault::backup::ledger;
use casevault::backup::target::DirTarget;
use casevault::crypto::BackupIdentity;
use casevault::store::ShredKind;
use reqwest::StatusCode;
use serde_json::json;

use crate::backupkit::*;
use crate::helpers::*;
use crate::lifecycle_helpers::*;

#[tokio::test]
async fn round_trip_while_uploads_run_restores_every_acknowledged_document() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Marisol Backupmarker", Some("A123456789"))
        .await;
    let mut before = vec![
        bytes(300_000, 1),
        b"plainmarker-in-a-document".to_vec(),
        // The smallest document (an empty one is refused at upload).
        bytes(1, 0),
    ];
    for (i, b) in before.iter().enumerate() {
        app.upload_ok(&alice, &case, &format!("doc{i}.pdf"), b.clone())
            .await;
    }
    let scratch = tempfile::tempdir().unwrap();
    let (_, idf) = identity_file(scratch.path(), "backup.key");
    let recipient = BackupIdentity::from_file_text(&std::fs::read_to_string(&idf).unwrap())
        .unwrap()
        .recipient();
    let target = scratch.path().join("target");

    // Uploads keep running while the backup is made by another process.
    let uploads = {
        let (app_url, c, case) = (
            app.url(&format!("/cases/{case}/documents?filename=late.pdf")),
            alice.clone(),
            case.clone(),
        );
        tokio::spawn(async move {
            let mut ok = 0;
            for i in 0..15u64 {
                let r = c
                    .post(&app_url)
                    .body(bytes(50_000, 100 + i))
                    .send()
                    .await
                    .unwrap();
                if r.status() == StatusCode::CREATED {
                    ok += 1;
                }
            }
            let _ = case;
            ok
        })
    };
    let (data, t2, r2) = (app.data().to_path_buf(), target.clone(), recipient.clone());
    let id = tokio::task::spawn_blocking(move || backup(&data, &t2, &r2))
        .await
        .unwrap();
    assert!(uploads.await.unwrap() > 0);
    // The live vault's audit chain holds with the backup's entry written by another
    // process beside the server's own.
    let o = cli(&["audit", "verify", "--data", s(app.data())], &[]);
    assert!(o.status.success(), "live audit verify: {}", stdout(&o));
    assert!(
        audit_rows(&app)
            .iter()
            .any(|r| r.action == "backup" && r.outcome.starts_with("ok id="))
    );

    let o = cli(&["backup", "list", "--from", s(&target)], &[]);
    assert!(stdout(&o).starts_with(&id), "{}", stdout(&o));
    let o = cli(&["backup", "verify", "--from", s(&target), "--quiet"], &[]);
    assert!(o.status.success(), "verify: {}", stdout(&o));

    // Nothing readable at the target.
    let found = scan_for(
        &target,
        &[
            b"Marisol",
            b"Backupmarker",
            b"A123456789",
            b"plainmarker",
            b"doc1.pdf",
        ],
    );
    assert!(found.is_empty(), "plaintext at the target: {found:?}");

    // Restore (with the old auth key: second factors survive) and read it back.
    let restored = scratch.path().join("restored");
    let auth = app.data().join("auth.key");
    let o = cli(
        &[
            "restore",
            "--from",
            s(&target),
            "--identity",
            s(&idf),
            "--data",
            s(&restored),
            "--auth-key",
            s(&auth),
            "--quiet",
        ],
        &[],
    );
    assert!(
        o.status.success(),
        "restore: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = cli(&["audit", "verify", "--data", s(&restored)], &[]);
    assert!(o.status.success(), "audit verify: {}", stdout(&o));
    let ok: String = raw_db(&restored)
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let mut docs = exported(
        &restored,
        &case,
        app.creds.offices["bronx"].passphrase.as_str(),
        scratch.path(),
    );
    // Every document acknowledged before the backup began is there, byte for byte.
    before.sort();
    for b in &before {
        assert!(docs.contains(b), "a document is missing after restore");
    }
    docs.retain(|d| !before.contains(d));
    assert!(
        docs.iter().all(|d| d.len() == 50_000),
        "only whole late uploads besides"
    );
    // The restore refuses a directory that holds anything.
    let o = restore(&target, &idf, None, &restored);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not empty"));
    // A wrong identity restores nothing and leaves nothing.
    let (_, wrong) = identity_file(scratch.path(), "wrong.key");
    let nowhere = scratch.path().join("nowhere");
    let o = restore(&target, &wrong, None, &nowhere);
    assert!(!o.status.success());
    assert!(!nowhere.exists());
}

#[tokio::test]
async fn purge_and_retention_reach_every_earlier_backup() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let purged = app
        .create_case(&alice, "bronx", "Purged Person", None)
        .await;
    let expired = app
        .create_case(&alice, "bronx", "Expired Person", None)
        .await;
    let kept = app.create_case(&alice, "bronx", "Kept Person", None).await;
    for c in [&purged, &expired, &kept] {
        app.upload_ok(&alice, c, "x.pdf", bytes(20_000, 7)).await;
    }
    let scratch = tempfile::tempdir().unwrap();
    let (ident, idf) = identity_file(scratch.path(), "backup.key");
    let target = scratch.path().join("target");
    let first = backup(app.data(), &target, &ident.recipient());

    // Purge one case; close another and let retention take it.
    let admin = app.login("admin").await;
    let r = post_json(
        &app,
        &admin,
        &format!("/cases/{purged}/purge"),
        json!({"totp": app.code("admin")}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    app.app
        .vault
        .db()
        .write(|tx| tx.close_case(&expired, "2020-01-01T00:00:00Z"))
        .unwrap();
    let report = app.app.vault.run_retention(false).await.unwrap();
    assert_eq!(report.purged.len(), 1);

    // The target's ledger is rewritten without waiting for the next backup.
    let t = DirTarget::open(&target).unwrap();
    let mut waited = 0;
    loop {
        let l = ledger::read(&t, &ident).unwrap();
        if l.key(ShredKind::Case, &purged).is_none() && l.key(ShredKind::Case, &expired).is_none() {
            assert!(l.key(ShredKind::Case, &kept).is_some());
            break;
        }
        waited += 1;
        assert!(waited < 100, "the ledger still holds a purged case's key");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let second = backup(app.data(), &target, &ident.recipient());
    assert_ne!(first, second);

    // The old backup's rows, tried directly with the office key and the case key
    // material the snapshot holds: nothing of the purged cases opens.
    let db = snapshot_db(&target, &ident, &first, &scratch.path().join("old.db"));
    let l = ledger::read(&t, &ident).unwrap();
    let office_sealed: Vec<u8> = db
        .query_row(
            "SELECT wrapped_identity FROM offices WHERE slug='bronx'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let file = l
        .key(ShredKind::Office, "bronx")
        .unwrap()
        .open(b"offices.wrapped_identity:bronx", &office_sealed)
        .unwrap();
    let (holder, holder_sealed): (String, Vec<u8>) = db
        .query_row(
            "SELECT id, wrapped_identity FROM office_holders WHERE office='bronx' AND kind = 'office'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let wrapped = l
        .key(ShredKind::Holder, &holder)
        .unwrap()
        .open(
            format!("office_holders.wrapped_identity:{holder}").as_bytes(),
            &holder_sealed,
        )
        .unwrap();
    let office = open_office(&file, &wrapped, &app.creds.offices["bronx"].passphrase);
    for c in [&purged, &expired] {
        let (wi, meta): (Vec<u8>, Vec<u8>) = db
            .query_row(
                "SELECT wrapped_identity, metadata FROM cases WHERE id = ?1",
                [c],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert!(
            office.unwrap_case(&wi).is_err(),
            "a purged case's identity opened"
        );
        assert!(l.key(ShredKind::Case, c).is_none());
        // Not even the raw value is an age file any more.
        assert!(!wi.starts_with(b"age-encryption.org"));
        assert!(!meta.starts_with(b"age-encryption.org"));
        let headers: Vec<Vec<u8>> = {
            let mut st = db
                .prepare("SELECT header FROM documents WHERE case_id = ?1")
                .unwrap();
            st.query_map([c], |r| r.get(0))
                .unwrap()
                .map(|r| r.unwrap())
                .collect()
        };
        assert_eq!(headers.len(), 1);
        assert!(
            headers
                .iter()
                .all(|h| !h.starts_with(b"age-encryption.org"))
        );
    }
    // The kept case opens the same way, so the test above can fail.
    let wi: Vec<u8> = db
        .query_row(
            "SELECT wrapped_identity FROM cases WHERE id = ?1",
            [&kept],
            |r| r.get(0),
        )
        .unwrap();
    let opened = l
        .key(ShredKind::Case, &kept)
        .unwrap()
        .open(format!("cases.wrapped_identity:{kept}").as_bytes(), &wi)
        .unwrap();
    assert!(office.unwrap_case(&opened).is_ok());
    // No blind index rides along to confirm a guess.
    let idx: i64 = db.query_row("SELECT COUNT(*) FROM cases WHERE a_number_index IS NOT NULL OR client_name_index IS NOT NULL", [], |r| r.get(0)).unwrap();
    assert_eq!(idx, 0);
    let words: i64 = db
        .query_row("SELECT COUNT(*) FROM case_name_tokens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(words, 0, "nor any name word's");
    let keys: i64 = db
        .query_row("SELECT COUNT(*) FROM shred_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(keys, 0, "a snapshot never carries the shred keys");

    // Restoring the first backup yields every case but those two.
    let restored = scratch.path().join("restored");
    let o = restore(&target, &idf, Some(&first), &restored);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ids: Vec<String> = {
        let c = raw_db(&restored);
        let mut st = c.prepare("SELECT id FROM cases").unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    assert!(ids.contains(&kept));
    assert!(!ids.contains(&purged) && !ids.contains(&expired));
    assert_eq!(count(&restored, "documents", "1"), 1);
    assert_eq!(blob_files(&restored).len(), 1);
}
