//! Helpers for the backup tests: a backup identity file, the commands, a snapshot
//! opened the way an adversary holding every key would.
// A toolbox shared by the test modules: a helper that no test calls yet is no error.
#![allow(dead_code)]
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use casevault::backup::ledger;
use casevault::backup::target::{DirTarget, Target};
use casevault::crypto::BackupIdentity;

use crate::lifecycle_helpers::*;

/// A backup identity in a file, as `age-keygen -o` writes it.
pub fn identity_file(dir: &Path, name: &str) -> (BackupIdentity, PathBuf) {
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

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `casevault backup create`; the backup's id.
pub fn backup(data: &Path, to: &Path, recipient: &str) -> String {
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

pub fn restore(
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
pub fn exported(data: &Path, case: &str, passphrase: &str, scratch: &Path) -> Vec<Vec<u8>> {
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

/// Opens a backup's snapshot with the ledger's key (as someone holding every file,
/// the current ledger, the backup identity and the office passphrase would).
pub fn snapshot_db(
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

/// A backup of the operator's to `to`, sealed to `recipient`.
pub fn request(to: PathBuf, recipient: String) -> casevault::vault::BackupRequest {
    casevault::vault::BackupRequest {
        to,
        s3: Default::default(),
        recipient,
        rotate: false,
        scheduled: false,
    }
}
