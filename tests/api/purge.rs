//! Purge (crypto-shredding) and legal holds (issue 4): step-up, 404 afterwards,
//! holds block, forensic checks on the files, crash safety.
use std::io::Read;

use age::secrecy::SecretString;
use casevault::crypto::open_document;
use casevault::vault::{PurgeFault, VaultError};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::lifecycle_helpers::*;

const NEVER: &str = "00000000-0000-4000-8000-000000000000";

#[tokio::test]
async fn purge_case_needs_step_up_then_the_case_answers_like_one_that_never_existed() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Purge Me", None).await;
    let d1 = app
        .upload_ok(&alice, &case, "one.pdf", bytes(70_000, 1))
        .await;
    app.upload_ok(&alice, &case, "two.pdf", bytes(10, 2)).await;
    assert_eq!(blob_files(app.data()).len(), 2);

    let admin = app.login("admin").await;
    // The sign-in code is older than the step-up window: a fresh code is needed.
    app.clock.advance(11 * 60);
    let r = post_json(&app, &admin, &format!("/cases/{case}/purge"), json!({})).await;
    assert_error(r, StatusCode::UNAUTHORIZED, "step_up_required").await;
    let r = alice
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "nothing purged without step-up");

    // A caseworker may not purge, even with a fresh code: 404 like a missing case.
    let r = post_json(
        &app,
        &alice,
        &format!("/cases/{case}/purge"),
        json!({"totp": app.code("alice")}),
    )
    .await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;

    let r = post_json(
        &app,
        &admin,
        &format!("/cases/{case}/purge"),
        json!({"totp": app.code("admin")}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["cases"], 1);
    assert_eq!(v["documents"], 2);
    assert!(v["bytes"].as_u64().unwrap() >= 70_000);

    // Afterwards: byte-for-byte the answers of a case that never existed.
    for path in [
        format!("/cases/{case}"),
        format!("/cases/{case}/documents"),
        format!("/cases/{case}/documents/{d1}"),
    ] {
        let gone = alice.get(app.url(&path)).send().await.unwrap();
        let never = alice
            .get(app.url(&path.replace(&case, NEVER)))
            .send()
            .await
            .unwrap();
        assert_eq!(gone.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(never.status(), StatusCode::NOT_FOUND);
        assert_eq!(gone.text().await.unwrap(), never.text().await.unwrap());
    }
    let list: Value = alice
        .get(app.url("/cases"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(list["cases"].as_array().unwrap().is_empty());
    // Purging again is answered like purging a case that never existed.
    let again = post_json(&app, &admin, &format!("/cases/{case}/purge"), json!({})).await;
    let never = post_json(&app, &admin, &format!("/cases/{NEVER}/purge"), json!({})).await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert_eq!(again.text().await.unwrap(), never.text().await.unwrap());

    assert!(blob_files(app.data()).is_empty(), "blobs unlinked");
    assert_eq!(count(app.data(), "cases", "1"), 0);
    assert_eq!(count(app.data(), "documents", "1"), 0);
    let rows = audit_rows(&app);
    let purge: Vec<_> = rows
        .iter()
        .filter(|r| r.action == "purge_case" && r.decision == "allow")
        .collect();
    assert_eq!(purge.len(), 1, "the 404s after it are denials");
    assert_eq!(purge[0].target, format!("office:bronx case:{case}"));
    assert!(
        purge[0]
            .outcome
            .starts_with("ok cases=1 documents=2 bytes="),
        "{}",
        purge[0].outcome
    );
    assert!(rows.iter().any(|r| r.action == "purge_case"
        && r.decision == "deny"
        && r.outcome == "step_up_required"));
}

#[tokio::test]
async fn purging_one_document_leaves_the_rest_of_the_case() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Half", None).await;
    let keep = bytes(5000, 7);
    let d_keep = app.upload_ok(&alice, &case, "keep.pdf", keep.clone()).await;
    let d_gone = app
        .upload_ok(&alice, &case, "gone.pdf", bytes(5000, 8))
        .await;
    let admin = app.login("admin").await;
    let r = post_json(
        &app,
        &admin,
        &format!("/cases/{case}/documents/{d_gone}/purge"),
        json!({}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["cases"].as_u64(), v["documents"].as_u64()),
        (Some(0), Some(1))
    );
    let r = alice
        .get(app.url(&format!("/cases/{case}/documents/{d_gone}")))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let got = alice
        .get(app.url(&format!("/cases/{case}/documents/{d_keep}")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&got[..], &keep[..]);
    assert_eq!(blob_files(app.data()).len(), 1);
    // Again: 404, and a document id of another case is not found in this one.
    let r = post_json(
        &app,
        &admin,
        &format!("/cases/{case}/documents/{d_gone}/purge"),
        json!({}),
    )
    .await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn legal_hold_blocks_purge_until_lifted_and_its_reason_is_stored_encrypted() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Held Client", None).await;
    app.upload_ok(&alice, &case, "a.pdf", bytes(100, 3)).await;
    let admin = app.login("admin").await;
    let reason = "REASON-marker-subpoena-77 from the district court";

    // Only the office admin holds, and only with a fresh code.
    let r = alice
        .put(app.url(&format!("/cases/{case}/hold")))
        .json(&json!({"reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    app.clock.advance(11 * 60);
    let r = admin
        .put(app.url(&format!("/cases/{case}/hold")))
        .json(&json!({"reason": reason}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::UNAUTHORIZED, "step_up_required").await;
    let r = admin
        .put(app.url(&format!("/cases/{case}/hold")))
        .json(&json!({"reason": reason, "totp": app.code("admin")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let v: Value = alice
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["held"], true);

    let r = post_json(&app, &admin, &format!("/cases/{case}/purge"), json!({})).await;
    assert_error(r, StatusCode::CONFLICT, "legal_hold").await;
    let doc = alice
        .get(app.url(&format!("/cases/{case}/documents")))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["documents"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = post_json(
        &app,
        &admin,
        &format!("/cases/{case}/documents/{doc}/purge"),
        json!({}),
    )
    .await;
    assert_error(r, StatusCode::CONFLICT, "legal_hold").await;
    // The office purge is refused too while any case of it is held.
    let r = post_json(&app, &admin, "/offices/bronx/purge", json!({})).await;
    assert_error(r, StatusCode::CONFLICT, "legal_hold").await;

    // The reason is stored, but only as ciphertext.
    assert_eq!(
        count(
            app.data(),
            "hold_events",
            "reason IS NOT NULL AND placed = 1"
        ),
        1
    );
    app.app.vault.db().checkpoint_truncate().unwrap();
    assert!(scan_for(app.data(), &[b"REASON-marker-subpoena-77"]).is_empty());

    let r = admin
        .delete(app.url(&format!("/cases/{case}/hold")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = post_json(&app, &admin, &format!("/cases/{case}/purge"), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);

    // An office hold covers every case of the office.
    let case2 = app.create_case(&alice, "bronx", "Second", None).await;
    let r = admin
        .put(app.url("/offices/bronx/hold"))
        .json(&json!({"reason": reason}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = post_json(&app, &admin, &format!("/cases/{case2}/purge"), json!({})).await;
    assert_error(r, StatusCode::CONFLICT, "legal_hold").await;
    let r = post_json(&app, &admin, "/offices/bronx/purge", json!({})).await;
    assert_error(r, StatusCode::CONFLICT, "legal_hold").await;
    // Another office's admin powers stop at their office.
    let r = admin
        .put(app.url("/offices/queens/hold"))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::FORBIDDEN, "forbidden").await;
    let r = admin
        .delete(app.url("/offices/bronx/hold"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = post_json(&app, &admin, &format!("/cases/{case2}/purge"), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);

    let holds: Vec<_> = audit_rows(&app)
        .into_iter()
        .filter(|r| r.action.starts_with("hold_") && r.decision == "allow")
        .map(|r| r.outcome)
        .collect();
    assert_eq!(holds, ["placed", "lifted", "placed", "lifted"]);
}

#[tokio::test]
async fn office_purge_removes_every_case_user_and_key_of_the_office() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let bob = app.login("bob").await;
    let mut cases = Vec::new();
    for i in 0..3 {
        let c = app
            .create_case(&alice, "bronx", &format!("Office Client {i}"), None)
            .await;
        app.upload_ok(&alice, &c, "x.pdf", bytes(3000, i)).await;
        cases.push(c);
    }
    let queens = app.create_case(&bob, "queens", "Queens Client", None).await;
    let qdoc = bytes(4000, 99);
    let qd = app.upload_ok(&bob, &queens, "q.pdf", qdoc.clone()).await;

    let admin = app.login("admin").await;
    // Not another office.
    let r = post_json(&app, &admin, "/offices/queens/purge", json!({})).await;
    assert_error(r, StatusCode::FORBIDDEN, "forbidden").await;
    // It waits for a second person (issue 26); root approves.
    let v = crate::approvals::purge_office_approved(&app, &admin, "bronx").await;
    assert_eq!(v["status"], "done");
    assert!(
        v["outcome"]
            .as_str()
            .unwrap()
            .starts_with("ok cases=3 documents=3 "),
        "{v}"
    );
    assert!(
        !app.app.vault.is_unsealed("bronx"),
        "office key left memory"
    );

    // Its users are gone with it; their sessions end.
    let r = alice.get(app.url("/cases")).send().await.unwrap();
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let root = app.login("root").await;
    let offices: Value = root
        .get(app.url("/offices"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(offices["offices"].as_array().unwrap().len(), 1);
    assert_eq!(offices["offices"][0]["slug"], "queens");
    assert_eq!(count(app.data(), "cases", "office = 'bronx'"), 0);
    assert_eq!(count(app.data(), "users", "office = 'bronx'"), 0);
    assert_eq!(count(app.data(), "offices", "slug = 'bronx'"), 0);
    assert_eq!(blob_files(app.data()).len(), 1, "only queens' blob is left");
    // The other office is untouched.
    let got = bob
        .get(app.url(&format!("/cases/{queens}/documents/{qd}")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&got[..], &qdoc[..]);
    // The audit log survives the purge and still verifies.
    assert!(matches!(
        casevault::audit::verify(app.app.vault.db(), None).unwrap(),
        casevault::audit::Verdict::Intact { .. }
    ));
    // A reopened vault still opens (no dangling references).
    assert!(app.app.vault.db().integrity_ok().unwrap());
}

/// Reads (wrapped case identity, document headers) straight from the database.
fn key_rows(app: &TestApp, case: &str) -> (Vec<u8>, Vec<Vec<u8>>) {
    let db = raw_db(app.data());
    let wrapped: Vec<u8> = db
        .query_row(
            "SELECT wrapped_identity FROM cases WHERE id = ?1",
            [case],
            |r| r.get(0),
        )
        .unwrap();
    let mut st = db
        .prepare("SELECT header FROM documents WHERE case_id = ?1")
        .unwrap();
    let headers = st
        .query_map([case], |r| r.get(0))
        .unwrap()
        .collect::<Result<Vec<Vec<u8>>, _>>()
        .unwrap();
    (wrapped, headers)
}

/// The attack: with the database as it is now, the office passphrase and a copy of
/// blob files, try every remaining (case key, header) pair on every blob. Returns the
/// plaintexts that decrypt (first `len` bytes each).
fn attack(app: &TestApp, backup: &std::path::Path, len: usize) -> Vec<Vec<u8>> {
    let db = raw_db(app.data());
    let office = office_key_from_db(app.data(), "bronx", &app.creds.offices["bronx"].passphrase);
    let mut st = db
        .prepare("SELECT wrapped_identity FROM cases WHERE office = 'bronx'")
        .unwrap();
    let case_keys: Vec<_> = st
        .query_map([], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(|w| office.unwrap_case(&w.unwrap()).unwrap())
        .collect();
    let mut st = db.prepare("SELECT header FROM documents").unwrap();
    let headers: Vec<Vec<u8>> = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = Vec::new();
    for blob in std::fs::read_dir(backup).unwrap() {
        let path = blob.unwrap().path();
        for key in &case_keys {
            for h in &headers {
                let file = std::fs::File::open(&path).unwrap();
                if let Ok(mut r) = open_document(key, h, file, len as u64) {
                    let mut buf = vec![0u8; len];
                    if r.read_exact(&mut buf).is_ok() {
                        out.push(buf);
                    }
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn forensic_purge_leaves_no_key_bytes_and_a_blob_backup_decrypts_to_nothing() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app
        .create_case(&alice, "bronx", "Zyxw Purged Marker", Some("A-555-666-777"))
        .await;
    let mut bodies = Vec::new();
    for i in 0..3u64 {
        let b = bytes(100_000 + i as usize * 1000, 40 + i);
        app.upload_ok(&alice, &case, &format!("secret-{i}.pdf"), b.clone())
            .await;
        bodies.push(b);
    }
    // A control case, not purged: proves the attack below really decrypts what it can.
    let control = app.create_case(&alice, "bronx", "Control", None).await;
    let control_body = bytes(50_000, 77);
    app.upload_ok(&alice, &control, "control.pdf", control_body.clone())
        .await;

    let (wrapped, headers) = key_rows(&app, &case);
    assert_eq!(headers.len(), 3);
    let backup = tempfile::tempdir().unwrap();
    for f in blob_files(app.data()) {
        std::fs::copy(&f, backup.path().join(f.file_name().unwrap())).unwrap();
    }
    let before = attack(&app, backup.path(), 64);
    assert_eq!(before.len(), 4, "before the purge every document decrypts");

    let admin = app.login("admin").await;
    let r = post_json(&app, &admin, &format!("/cases/{case}/purge"), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);

    let after = attack(&app, backup.path(), 64);
    assert_eq!(after.len(), 1, "only the control case still decrypts");
    assert_eq!(&after[0][..], &control_body[..64]);
    for b in &bodies {
        assert!(!after.iter().any(|a| a[..] == b[..64]));
    }

    // No copy of the key material is left in any file of the data directory. The
    // purge's files go in the background, which checkpoints again when done.
    let wal = app.data().join("casevault.db-wal");
    let wal_len = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while (app.app.vault.trash_pending().unwrap() > 0 || wal_len() > 0)
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        app.app.vault.trash_pending().unwrap(),
        0,
        "purged files removed"
    );
    assert_eq!(wal_len(), 0, "WAL truncated");
    let mut needles: Vec<&[u8]> = vec![&wrapped[..]];
    needles.extend(headers.iter().map(|h| &h[..]));
    let hits = scan_for(app.data(), &needles);
    assert!(hits.is_empty(), "key bytes survive in {hits:?}");
    // Also a distinctive slice (the header MAC line and the wrapped key's body).
    let tails: Vec<&[u8]> = headers
        .iter()
        .map(|h| &h[h.len() - 40..])
        .chain(std::iter::once(
            &wrapped[wrapped.len() / 2..wrapped.len() / 2 + 40],
        ))
        .collect();
    assert!(scan_for(app.data(), &tails).is_empty());
}

#[tokio::test]
async fn a_purge_interrupted_at_any_step_leaves_the_case_intact_or_unreadable() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let pass = app.creds.offices["bronx"].passphrase.clone();
    let op = casevault::vault::operator::actor();
    for fault in [
        PurgeFault::InTransaction,
        PurgeFault::BeforeCheckpoint,
        PurgeFault::BeforeUnlink,
    ] {
        let case = app
            .create_case(&alice, "bronx", &format!("Crash {fault:?}"), None)
            .await;
        let body = bytes(80_000, 5);
        let doc = app.upload_ok(&alice, &case, "c.pdf", body.clone()).await;
        let (wrapped, headers) = key_rows(&app, &case);

        let r = app
            .app
            .vault
            .purge_case_faulty(&op, &case, Some(fault))
            .await;
        assert!(matches!(r, Err(VaultError::Internal(_))), "{fault:?}");

        // The crash image: the files exactly as they are now, opened by a new process.
        let image = tempfile::tempdir().unwrap();
        copy_tree(app.data(), image.path());
        {
            let reopened = open_app(image.path(), &app.settings, &app.clock);
            let v = &reopened.vault;
            assert!(v.db().integrity_ok().unwrap(), "{fault:?}");
            casevault::vault::operator::unseal(v, "bronx", SecretString::from(pass.clone()))
                .await
                .unwrap();
            if fault == PurgeFault::InTransaction {
                // Rolled back: the whole case is there and reads back.
                let view = v.get_case(&op, &case).await.unwrap();
                assert_eq!(view.metadata.client_name, format!("Crash {fault:?}"));
                let mut d = v.open_document(&op, &case, &doc).await.unwrap();
                let mut got = Vec::new();
                d.reader.read_to_end(&mut got).unwrap();
                assert_eq!(got, body);
            } else {
                assert!(matches!(
                    v.get_case(&op, &case).await,
                    Err(VaultError::NotFound)
                ));
                assert!(matches!(
                    v.open_document(&op, &case, &doc).await,
                    Err(VaultError::NotFound)
                ));
                // Reopening finished the checkpoint; the purge's file survived the
                // crash on the durable queue, and the start removes it from there.
                assert_eq!(v.trash_pending().unwrap(), 1, "{fault:?}");
                assert_eq!(v.empty_trash().unwrap(), 1, "{fault:?}");
                assert_eq!(v.trash_pending().unwrap(), 0, "{fault:?}");
                assert_eq!(v.sweep_orphan_blobs().unwrap(), 0, "{fault:?}");
                let referenced = count(image.path(), "documents", "1") as usize;
                assert_eq!(blob_files(image.path()).len(), referenced, "{fault:?}");
                let mut needles: Vec<&[u8]> = vec![&wrapped[..]];
                needles.extend(headers.iter().map(|h| &h[..]));
                let hits = scan_for(image.path(), &needles);
                assert!(hits.is_empty(), "{fault:?}: key bytes in {hits:?}");
            }
        }
        // Finish the purge in the live vault: idempotent end state.
        match app
            .app
            .vault
            .purge_case(&op, &case, casevault::vault::StepUp::none())
            .await
        {
            Ok(_) | Err(VaultError::NotFound) => {}
            Err(e) => panic!("{fault:?}: {e}"),
        }
        assert_eq!(count(app.data(), "cases", &format!("id = '{case}'")), 0);
        app.app.vault.empty_trash().unwrap();
        assert_eq!(app.app.vault.trash_pending().unwrap(), 0);
        app.app.vault.sweep_orphan_blobs().unwrap();
        assert!(blob_files(app.data()).is_empty());
    }
}

#[tokio::test]
async fn cli_hold_and_purge_are_idempotent_and_respect_holds() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Cli Client", None).await;
    let doc = app.upload_ok(&alice, &case, "d.pdf", bytes(1000, 1)).await;
    let data = app.data().to_str().unwrap();

    let o = cli(
        &[
            "hold",
            "--data",
            data,
            "--case",
            &case,
            "--reason",
            "CLI-REASON-marker",
        ],
        &[],
    );
    assert!(o.status.success(), "{o:?}");
    // Without a terminal and without --yes, nothing happens.
    let o = cli(&["purge", "--data", data, "--case", &case], &[]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--yes"),
        "{o:?}"
    );
    let o = cli(&["purge", "--yes", "--data", data, "--case", &case], &[]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("legal hold"),
        "{o:?}"
    );
    let o = cli(&["hold", "--data", data, "--case", &case, "--lift"], &[]);
    assert!(o.status.success(), "{o:?}");
    let o = cli(&["purge", "--yes", "--data", data, "--document", &doc], &[]);
    assert!(o.status.success(), "{o:?}");
    assert!(stdout(&o).contains("1 documents"), "{}", stdout(&o));
    let o = cli(&["purge", "--yes", "--data", data, "--case", &case], &[]);
    assert!(o.status.success(), "{o:?}");
    assert!(stdout(&o).starts_with("Purged case"), "{}", stdout(&o));
    let o = cli(&["purge", "--yes", "--data", data, "--case", &case], &[]);
    assert!(o.status.success(), "{o:?}");
    assert!(stdout(&o).starts_with("Nothing to purge"), "{}", stdout(&o));
    let o = cli(&["purge", "--yes", "--data", data], &[]);
    assert!(
        !o.status.success(),
        "one of --case/--document/--office is required"
    );

    let r = alice
        .get(app.url(&format!("/cases/{case}")))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::NOT_FOUND, "not_found").await;
    let rows = audit_rows(&app);
    assert!(rows.iter().any(|r| r.actor == "operator"
        && r.action == "purge_case"
        && r.outcome.starts_with("ok cases=1")));
}
