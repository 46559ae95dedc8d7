//! Backups and restore (issue 12), continued: incremental copies, pruning and key
//! rotation; tampering, torn ledgers, symbolic links and killed runs; the
//! superadmin's view; a document file lost from the vault.
use std::path::{Path, PathBuf};

use casevault::backup::ledger;
use casevault::backup::target::DirTarget;

use crate::backupkit::*;
use crate::helpers::*;
use crate::lifecycle_helpers::*;

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
    let req = || request(scratch.path().join("t"), ident.recipient());
    let op = casevault::vault::operator::actor();
    let silent = casevault::backup::progress::Progress::silent;
    let v = &app.app.vault;
    let first = v.backup_create(&op, req(), silent()).await.unwrap();
    assert_eq!(first.blobs_copied, 3);
    let second = v.backup_create(&op, req(), silent()).await.unwrap();
    assert_eq!(
        second.blobs_copied, 0,
        "nothing new: no document bytes copied"
    );
    assert_eq!(second.blobs, 3);
    let snapshot_only = second.copied;
    app.upload_ok(&alice, &case, "big.pdf", bytes(1 << 20, 9))
        .await;
    let third = v.backup_create(&op, req(), silent()).await.unwrap();
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
    let mut other = req();
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
        scheduled: true,
        ..request(scratch.path().join("t"), ident.recipient())
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
    let req = request(scratch.path().join("t"), ident.recipient());
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
