//! Backups and restore (issue 12): round trip while uploads run, nothing readable at
//! the target, purge and retention reach old backups, incremental copies, crashes and
//! tampering.
use std::path::{Path, PathBuf};

use age::secrecy::{ExposeSecret, SecretString};
use casevault::backup::ledger;
use casevault::backup::target::DirTarget;
use casevault::crypto::{BackupIdentity, OfficeKey};
use casevault::store::ShredKind;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::lifecycle_helpers::*;

/// A backup identity in a file, as `age-keygen -o` writes it.
fn identity_file(dir: &Path, name: &str) -> (BackupIdentity, PathBuf) {
    let id = BackupIdentity::generate();
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!(
            "# created: test\n# public key: {}\n{}\n",
            id.recipient(),
            id.to_secret_string().expose_secret()
        ),
    )
    .unwrap();
    let again = BackupIdentity::from_file_text(&std::fs::read_to_string(&p).unwrap()).unwrap();
    (again, p)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `casevault backup create`; the backup's id.
fn backup(data: &Path, to: &Path, recipient: &str) -> String {
    let o = cli(
        &[
            "backup",
            "create",
            "--data",
            s(data),
            "--to",
            s(to),
            "--recipient",
            recipient,
            "--quiet",
        ],
        &[],
    );
    assert!(
        o.status.success(),
        "backup failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    stdout(&o).trim().to_string()
}

fn restore(
    from: &Path,
    identity: &Path,
    backup: Option<&str>,
    data: &Path,
) -> std::process::Output {
    let mut args = vec![
        "restore",
        "--from",
        s(from),
        "--identity",
        s(identity),
        "--data",
        s(data),
        "--quiet",
    ];
    if let Some(b) = backup {
        args.extend(["--backup", b]);
    }
    cli(&args, &[])
}

/// The restored documents of `case`, through `casevault export` (which unseals with
/// the office passphrase) and `age -d` done by the library: filename → bytes.
fn exported(data: &Path, case: &str, passphrase: &str, scratch: &Path) -> Vec<Vec<u8>> {
    let ident = BackupIdentity::generate();
    let pf = scratch.join(format!("pass-{case}"));
    std::fs::write(&pf, passphrase).unwrap();
    let out = scratch.join(format!("export-{case}"));
    let o = cli(
        &[
            "export",
            "--data",
            s(data),
            "--case",
            case,
            "--to",
            &ident.recipient(),
            "--out",
            s(&out),
            "--passphrase-file",
            s(&pf),
        ],
        &[],
    );
    assert!(
        o.status.success(),
        "export failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut docs = Vec::new();
    for e in std::fs::read_dir(&out).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap().to_str().unwrap() == "case.json.age" {
            continue;
        }
        let mut plain = Vec::new();
        std::io::Read::read_to_end(
            &mut ident
                .decrypt_stream(std::fs::File::open(&p).unwrap())
                .unwrap(),
            &mut plain,
        )
        .unwrap();
        docs.push(plain);
    }
    docs.sort();
    docs
}

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
        bytes(0, 0),
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

/// Opens a backup's snapshot with the ledger's key (as someone holding every file,
/// the current ledger, the backup identity and the office passphrase would).
fn snapshot_db(
    target: &Path,
    id: &BackupIdentity,
    backup: &str,
    out: &Path,
) -> rusqlite::Connection {
    let t = DirTarget::open(target).unwrap();
    let l = ledger::read(&t, id).unwrap();
    let e = l
        .backups
        .iter()
        .find(|b| b.id == backup)
        .expect("backup in ledger");
    let snap_id = BackupIdentity::from_file_text(e.identity.expose_secret()).unwrap();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(
        &mut snap_id
            .decrypt_stream(t.open_snapshot(backup).unwrap())
            .unwrap(),
        &mut plain,
    )
    .unwrap();
    std::fs::write(out, plain).unwrap();
    rusqlite::Connection::open(out).unwrap()
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
    let wrapped = l
        .key(ShredKind::Office, "bronx")
        .unwrap()
        .open(b"offices.wrapped_identity:bronx", &office_sealed)
        .unwrap();
    let office = OfficeKey::unwrap_with_passphrase(
        &wrapped,
        &SecretString::from(app.creds.offices["bronx"].passphrase.clone()),
        12,
    )
    .unwrap();
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

#[tokio::test]
async fn incremental_backups_copy_only_new_files() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Inc Case", None).await;
    for i in 0..3 {
        app.upload_ok(&alice, &case, "a.pdf", bytes(200_000, i))
            .await;
    }
    let scratch = tempfile::tempdir().unwrap();
    let (ident, _) = identity_file(scratch.path(), "k");
    let req = |scheduled| casevault::vault::BackupRequest {
        to: scratch.path().join("t"),
        recipient: ident.recipient(),
        rotate: false,
        scheduled,
    };
    let op = casevault::vault::operator::actor();
    let silent = casevault::backup::progress::Progress::silent;
    let v = &app.app.vault;
    let first = v.backup_create(&op, req(false), silent()).await.unwrap();
    assert_eq!(first.blobs_copied, 3);
    let second = v.backup_create(&op, req(false), silent()).await.unwrap();
    assert_eq!(
        second.blobs_copied, 0,
        "nothing new: no document bytes copied"
    );
    assert_eq!(second.blobs, 3);
    let snapshot_only = second.copied;
    app.upload_ok(&alice, &case, "big.pdf", bytes(1 << 20, 9))
        .await;
    let third = v.backup_create(&op, req(false), silent()).await.unwrap();
    assert_eq!(third.blobs_copied, 1);
    let doc_bytes = third.copied - snapshot_only.min(third.copied);
    assert!(
        (1 << 20) <= doc_bytes + 8192 && doc_bytes < (1 << 20) + (1 << 20) / 10,
        "copied {doc_bytes} bytes for one 1 MiB document"
    );
    // Prune keeps the newest and the files they need.
    let t = DirTarget::open(&scratch.path().join("t")).unwrap();
    let r = casevault::backup::prune(&t, 1).unwrap();
    assert_eq!(r.removed.len(), 2);
    assert_eq!(r.blobs, 0);
    let r = casevault::backup::verify(&t, None, &mut silent()).unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    // Another recipient is refused without --rotate-recipient; with it, the new
    // identity reads the ledger and the old one no longer does.
    let (new_ident, _) = identity_file(scratch.path(), "k2");
    let mut other = req(false);
    other.recipient = new_ident.recipient();
    assert!(v.backup_create(&op, other.clone(), silent()).await.is_err());
    other.rotate = true;
    let rotated = v.backup_create(&op, other, silent()).await.unwrap();
    assert!(rotated.rotated);
    assert!(ledger::read(&t, &new_ident).is_ok());
    assert!(
        ledger::read(&t, &ident).is_err(),
        "the old identity still reads the ledger"
    );
}

/// A copy of the target with one byte of `file` changed.
fn tampered(target: &Path, dir: &Path, file: &Path) -> PathBuf {
    let copy = dir.join(format!("t-{}", file.file_name().unwrap().to_str().unwrap()));
    copy_tree(target, &copy);
    let f = copy.join(file.strip_prefix(target).unwrap());
    let mut b = std::fs::read(&f).unwrap();
    let at = b.len() / 2;
    b[at] ^= 0x01;
    std::fs::write(&f, b).unwrap();
    copy
}

#[tokio::test]
async fn a_changed_byte_is_caught_by_verify_and_restore_and_crashes_leave_earlier_backups() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Tamper Case", None).await;
    app.upload_ok(&alice, &case, "a.pdf", bytes(100_000, 3))
        .await;
    let scratch = tempfile::tempdir().unwrap();
    let (ident, idf) = identity_file(scratch.path(), "k");
    let target = scratch.path().join("t");
    let id = backup(app.data(), &target, &ident.recipient());
    let blob = std::fs::read_dir(target.join("blobs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let backup_dir = target.join("backups").join(&id);
    for file in [
        blob,
        backup_dir.join("vault.db.age"),
        backup_dir.join("manifest"),
    ] {
        let t = tampered(&target, scratch.path(), &file);
        let o = cli(&["backup", "verify", "--from", s(&t), "--quiet"], &[]);
        assert_eq!(
            o.status.code(),
            Some(1),
            "verify missed a change in {}",
            file.display()
        );
        let dest = scratch
            .path()
            .join(format!("r-{}", file.file_name().unwrap().to_str().unwrap()));
        let o = restore(&t, &idf, None, &dest);
        assert!(
            !o.status.success(),
            "restore took a changed {}",
            file.display()
        );
        assert!(!dest.exists());
    }

    // A changed byte inside both ledger copies: verify sees it without the identity.
    let t = scratch.path().join("ledger-flip");
    copy_tree(&target, &t);
    for slot in ["ledger.0", "ledger.1"] {
        let p = t.join(slot);
        let mut b = std::fs::read(&p).unwrap();
        let at = b.len() - 40;
        b[at] ^= 0x01;
        std::fs::write(&p, b).unwrap();
    }
    let o = cli(&["backup", "verify", "--from", s(&t), "--quiet"], &[]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "verify missed a damaged ledger: {}",
        stdout(&o)
    );

    // A ledger copy that is a symbolic link is refused, and the file it points at
    // is left alone.
    let t = scratch.path().join("ledger-link");
    copy_tree(&target, &t);
    let decoy = scratch.path().join("decoy.txt");
    std::fs::write(&decoy, b"not yours").unwrap();
    std::fs::remove_file(t.join("ledger.0")).unwrap();
    std::os::unix::fs::symlink(&decoy, t.join("ledger.0")).unwrap();
    let o = cli(
        &[
            "backup",
            "create",
            "--data",
            s(app.data()),
            "--to",
            s(&t),
            "--recipient",
            &ident.recipient(),
            "--quiet",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(std::fs::read(&decoy).unwrap(), b"not yours");
    // A directory that holds other files never becomes a target.
    let foreign = scratch.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("important.conf"), b"x").unwrap();
    let o = cli(
        &[
            "backup",
            "create",
            "--data",
            s(app.data()),
            "--to",
            s(&foreign),
            "--recipient",
            &ident.recipient(),
            "--quiet",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(!foreign.join("blobs").exists());

    // A restore that did not finish is never served.
    let half = scratch.path().join("half");
    let o = restore(&target, &idf, None, &half);
    assert!(o.status.success());
    std::fs::write(half.join(casevault::store::RESTORE_MARKER), b"").unwrap();
    let opened = casevault::app::App::open(
        casevault::VaultOptions {
            data_dir: half.clone(),
            settings: test_settings(),
            clock: casevault::Clock::system(),
            auth_key_file: None,
        },
        casevault::policy::Policy::builtin().unwrap(),
    );
    assert!(opened.is_err(), "a half-restored vault was opened");

    // One torn ledger copy: the other still restores.
    let t = scratch.path().join("torn");
    copy_tree(&target, &t);
    let l0 = t.join("ledger.0");
    let len = std::fs::metadata(&l0).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&l0)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let o = restore(&t, &idf, None, &scratch.path().join("r-torn"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // Kill backups at different moments: the earlier backup stays listed and
    // verifies; an interrupted one is never listed.
    let bin =
        std::env::var("CASEVAULT_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_casevault").into());
    for (i, ms) in [5u64, 30, 80, 150, 300].into_iter().enumerate() {
        app.upload_ok(&alice, &case, "more.pdf", bytes(2 << 20, 50 + i as u64))
            .await;
        let mut child = std::process::Command::new(&bin)
            .args([
                "backup",
                "create",
                "--data",
                s(app.data()),
                "--to",
                s(&target),
                "--recipient",
                &ident.recipient(),
                "--quiet",
            ])
            .env("CASEVAULT_LOG", "error")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(ms));
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        let finished = out.status.success();
        let listed = stdout(&cli(&["backup", "list", "--from", s(&target)], &[]));
        assert!(listed.contains(&id), "an earlier backup vanished");
        let new_id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        // An id is printed only once the backup is complete (the kill may land
        // just after that): then it is listed.
        if finished || !new_id.is_empty() {
            assert!(listed.contains(&new_id), "a finished backup is not listed");
        }
        let o = cli(&["backup", "verify", "--from", s(&target), "--quiet"], &[]);
        assert!(
            o.status.success(),
            "after a kill at {ms} ms: {}",
            stdout(&o)
        );
    }
    let o = restore(
        &target,
        &idf,
        Some(&id),
        &scratch.path().join("r-after-kills"),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[tokio::test]
async fn the_superadmin_page_shows_the_last_backup_and_a_failure_stands_out() {
    use crate::pagekit::{get_page, page_sign_in};
    let app = spawn_app().await;
    let scratch = tempfile::tempdir().unwrap();
    let (ident, _) = identity_file(scratch.path(), "k");
    let op = casevault::vault::operator::actor();
    let silent = casevault::backup::progress::Progress::silent;
    let v = &app.app.vault;
    let root = page_sign_in(&app, "root").await;
    let (_, _, html) = get_page(&root, &format!("{}/admin", app.base)).await;
    assert!(html.contains("No backup yet"), "{html}");

    let req = casevault::vault::BackupRequest {
        to: scratch.path().join("t"),
        recipient: ident.recipient(),
        rotate: false,
        scheduled: true,
    };
    let r = v.backup_create(&op, req.clone(), silent()).await.unwrap();
    let (_, _, html) = get_page(&root, &format!("{}/admin", app.base)).await;
    assert!(
        html.contains("Last backup") && html.contains(&r.id),
        "{html}"
    );
    assert!(html.contains("(scheduled)"));
    // An office administrator does not see it.
    let admin = page_sign_in(&app, "admin").await;
    let (_, _, html) = get_page(&admin, &format!("{}/admin", app.base)).await;
    assert!(!html.contains(&r.id));

    // A target that cannot be written: the run fails, is audited, and the page says so.
    let blocked = scratch.path().join("blocked");
    std::fs::write(&blocked, b"a file, not a directory").unwrap();
    let bad = casevault::vault::BackupRequest { to: blocked, ..req };
    assert!(v.backup_create(&op, bad, silent()).await.is_err());
    let (_, _, html) = get_page(&root, &format!("{}/admin", app.base)).await;
    assert!(html.contains("The last backup failed"), "{html}");
    let rows = audit_rows(&app);
    let backups: Vec<_> = rows.iter().filter(|r| r.action == "backup").collect();
    assert!(backups.iter().any(|r| r.outcome.starts_with("ok id=")));
    assert!(backups.iter().any(|r| r.outcome == "failed: error"));
}

#[tokio::test]
async fn a_document_file_lost_from_the_vault_is_left_out_and_the_rest_restores() {
    let app = spawn_app().await;
    let alice = app.login("alice").await;
    let case = app.create_case(&alice, "bronx", "Lost File", None).await;
    app.upload_ok(&alice, &case, "kept.pdf", bytes(10_000, 1))
        .await;
    let lost = app
        .upload_ok(&alice, &case, "lost.pdf", bytes(10_000, 2))
        .await;
    let blob: String = raw_db(app.data())
        .query_row("SELECT blob FROM documents WHERE id = ?1", [&lost], |r| {
            r.get(0)
        })
        .unwrap();
    std::fs::remove_file(app.data().join("blobs").join(&blob)).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let (ident, idf) = identity_file(scratch.path(), "k");
    let req = casevault::vault::BackupRequest {
        to: scratch.path().join("t"),
        recipient: ident.recipient(),
        rotate: false,
        scheduled: false,
    };
    let op = casevault::vault::operator::actor();
    let r = app
        .app
        .vault
        .backup_create(&op, req, casevault::backup::progress::Progress::silent())
        .await
        .unwrap();
    assert_eq!(r.missing, 1);
    let restored = scratch.path().join("r");
    let o = restore(&scratch.path().join("t"), &idf, None, &restored);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("1 document(s) left out"));
    assert_eq!(count(&restored, "documents", "1"), 1);
    assert_eq!(count(&restored, "documents", &format!("id = '{lost}'")), 0);
}
