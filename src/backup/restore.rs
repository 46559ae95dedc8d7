//! `casevault restore`: a new vault from a backup.
//!
//! Invariants: it never writes into a directory that holds anything; every file it
//! uses is checked against the manifest, and the manifest against the ledger, before
//! it is trusted; whatever has no shred key in the ledger (purged, or past retention,
//! after the backup was made) is dropped before anything else is opened; the result
//! is checked (`integrity_check`, the audit chain up to the manifest's head) before it
//! is reported restored. The restored vault is a new vault (an id of its own, no
//! backup targets), opens sealed, and unseals with the old office passphrases.
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::hashing::{HashingWriter, hash_reader};
use super::manifest::{FileEntry, Manifest};
use super::progress::Progress;
use super::target;
use super::{BackupError, ledger};
use crate::audit;
use crate::crypto::{AuthKey, BackupIdentity, hex, random_bytes, sha256};
use crate::store::{BlobName, DB_FILE, Db, RESTORE_MARKER, ShredKind, Snapshot};

/// What to restore.
pub struct RestoreRequest<'a> {
    /// The target: a directory or `s3://BUCKET/PREFIX`.
    pub from: &'a Path,
    /// How to reach an S3 target.
    pub s3: &'a target::S3Access,
    /// The backup identity (its recipient is the one `create` was given).
    pub identity: &'a BackupIdentity,
    /// One backup's id; default: the newest.
    pub backup: Option<&'a str>,
    /// The new data directory (absent or empty).
    pub data: &'a Path,
    /// The old vault's auth key file, if kept: second factors then survive.
    pub auth_key_file: Option<&'a Path>,
    /// When the restore happens (RFC 3339), for its audit entry.
    pub now: String,
}

/// What a restore did.
#[derive(Debug, Default)]
pub struct RestoreReport {
    /// The backup restored.
    pub backup: String,
    /// When it was made.
    pub created_at: String,
    /// Offices, cases and documents restored.
    pub offices: u64,
    /// Cases restored.
    pub cases: u64,
    /// Documents restored.
    pub documents: u64,
    /// Offices, cases and documents dropped: purged since (no key in the ledger).
    pub dropped_offices: u64,
    /// Cases dropped.
    pub dropped_cases: u64,
    /// Documents dropped.
    pub dropped_documents: u64,
    /// Documents left out because their file was missing from the vault when the
    /// backup was made.
    pub missing_documents: u64,
    /// Accounts whose authenticator must be enrolled again (no auth key given).
    pub second_factors_reset: u64,
    /// Audit entries verified.
    pub audit_entries: u64,
}

fn refuse_existing(data: &Path) -> Result<(), BackupError> {
    if data.join(RESTORE_MARKER).exists() {
        return Err(BackupError::failed(format!(
            "{} holds an interrupted restore: delete the directory and restore again",
            data.display()
        )));
    }
    match fs::read_dir(data) {
        Ok(mut d) => {
            if d.next().is_some() {
                return Err(BackupError::failed(format!(
                    "{} is not empty: restore writes only into a new directory, never over a vault",
                    data.display()
                )));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(BackupError::failed(format!("{}: {e}", data.display()))),
    }
}

fn private_dir(p: &Path) -> Result<(), BackupError> {
    fs::create_dir_all(p)
        .map_err(|e| BackupError::failed(format!("creating {}: {e}", p.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(p, fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

fn check(entry: &FileEntry, got: (u64, [u8; 32]), what: &str) -> Result<(), BackupError> {
    if got.0 != entry.size || hex(&got.1) != entry.sha256 {
        return Err(BackupError::damaged(format!(
            "{what} does not match the manifest (changed or damaged): nothing was restored"
        )));
    }
    Ok(())
}

/// Restores; on any error the new directory is removed again.
pub fn restore(
    req: &RestoreRequest<'_>,
    progress: &mut Progress,
) -> Result<RestoreReport, BackupError> {
    refuse_existing(req.data)?;
    let created = !req.data.exists();
    let out = restore_into(req, progress);
    if out.is_err() {
        if created {
            let _ = fs::remove_dir_all(req.data);
        } else if let Ok(d) = fs::read_dir(req.data) {
            for e in d.flatten() {
                let p = e.path();
                let _ = if p.is_dir() {
                    fs::remove_dir_all(&p)
                } else {
                    fs::remove_file(&p)
                };
            }
        }
    }
    out
}

fn restore_into(
    req: &RestoreRequest<'_>,
    progress: &mut Progress,
) -> Result<RestoreReport, BackupError> {
    let target = target::open(&req.from.to_string_lossy(), req.s3)?;
    // A backup writing the ledger meanwhile would leave us a half-new view; a
    // read-only medium (the usual way to carry a backup to another machine) cannot
    // be locked, and nothing writes to it then.
    let _lock = target.lock(true).ok().flatten();
    let ledger = ledger::read(&*target, req.identity)?;
    if target.vault_id()?.as_deref() != Some(ledger.vault.as_str()) {
        return Err(BackupError::damaged(
            "the shred ledger belongs to another vault",
        ));
    }
    let (complete, _) = target.backup_ids()?;
    let in_ledger = |id: &str| ledger.backups.iter().find(|b| b.id == id);
    let id = match req.backup {
        Some(id) => {
            if !complete.iter().any(|c| c == id) {
                return Err(BackupError::failed(format!(
                    "{} holds no complete backup {id} (`casevault backup list --from {}`)",
                    target.location(),
                    target.location()
                )));
            }
            id.to_string()
        }
        None => complete
            .iter()
            .rev()
            .find(|id| in_ledger(id).is_some())
            .cloned()
            .ok_or_else(|| {
                BackupError::failed(format!("{} holds no backup to restore", target.location()))
            })?,
    };
    let entry = in_ledger(&id).ok_or_else(|| {
        BackupError::failed(format!(
            "backup {id} has no key in the shred ledger: it was pruned, or made after the ledger was last written"
        ))
    })?;
    let manifest_bytes = target
        .manifest(&id)?
        .ok_or_else(|| BackupError::failed(format!("backup {id} is not complete")))?;
    if sha256(&manifest_bytes) != entry.manifest_sha256 {
        return Err(BackupError::damaged(format!(
            "the manifest of backup {id} is not the one the ledger recorded (changed or damaged): nothing was restored"
        )));
    }
    let manifest = Manifest::parse(&manifest_bytes)?;
    let snapshot_identity =
        BackupIdentity::from_file_text(age::secrecy::ExposeSecret::expose_secret(&entry.identity))
            .map_err(|_| BackupError::damaged("the shred ledger holds a malformed snapshot key"))?;

    // 1. The snapshot: its hash, then decrypted into the new directory.
    progress.phase("checking the database snapshot", 1, manifest.snapshot.size);
    let got = hash_reader(target.open_snapshot(&id)?, &mut |n| progress.bytes(n))
        .map_err(|e| BackupError::failed(format!("reading the snapshot: {e}")))?;
    check(&manifest.snapshot, got, "the database snapshot")?;
    private_dir(req.data)?;
    // Until the very end, the directory says it is not a vault yet: a restore killed
    // half-way is refused by `serve`, never served with documents missing.
    let marker = req.data.join(RESTORE_MARKER);
    fs::write(&marker, b"casevault restore in progress (or interrupted): delete this directory and restore again\n")
        .map_err(|e| BackupError::failed(format!("writing {}: {e}", marker.display())))?;
    let db_path = req.data.join(DB_FILE);
    {
        let mut plain = snapshot_identity
            .decrypt_stream(io::BufReader::new(target.open_snapshot(&id)?))
            .map_err(|_| BackupError::damaged("the database snapshot does not decrypt"))?;
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&db_path)
            .map_err(|e| BackupError::failed(format!("creating {}: {e}", db_path.display())))?;
        io::copy(&mut plain, &mut f)
            .map_err(|_| BackupError::damaged("the database snapshot does not decrypt"))?;
        f.sync_all()
            .map_err(|e| BackupError::failed(e.to_string()))?;
    }

    // 2. Drop what has no key, open the rest, make it a new vault.
    let in_manifest: HashMap<&str, &FileEntry> = manifest
        .blobs
        .iter()
        .map(|b| (b.name.as_str(), b))
        .collect();
    let auth = match req.auth_key_file {
        Some(p) => Some(
            fs::read(p)
                .ok()
                .and_then(|b| AuthKey::from_bytes(&b).ok())
                .ok_or_else(|| {
                    BackupError::failed(format!("{} is not a casevault auth key", p.display()))
                })?,
        ),
        None => None,
    };
    let mut report = RestoreReport {
        backup: id.clone(),
        created_at: manifest.created_at.clone(),
        ..Default::default()
    };
    let keys: HashMap<(ShredKind, &str), &crate::crypto::ShredKey> = ledger
        .keys
        .iter()
        .map(|k| ((k.kind, k.owner.as_str()), &k.key))
        .collect();
    let mut snap = Snapshot::open(&db_path)?;
    let keep_blobs: Vec<String> = snap.write(|tx| -> Result<Vec<String>, BackupError> {
        let d = super::drop_unkeyed(tx, |k, o| keys.contains_key(&(k, o)))?;
        report.dropped_offices = d.offices;
        report.dropped_cases = d.cases;
        report.dropped_documents = d.documents;
        // A document whose file was already missing from the vault when the backup
        // was made (the manifest, checked against the ledger, does not list it).
        for (case, doc, blob) in tx.document_blobs()? {
            if !in_manifest.contains_key(blob.as_str()) && tx.purge_document(&case, &doc)?.is_some() {
                report.missing_documents += 1;
            }
        }
        tx.rewrite_key_bearing(|kb| {
            let key = keys
                .get(&(kb.kind, kb.owner))
                .ok_or_else(|| BackupError::damaged("a sealed value has no key"))?;
            key.open(kb.context.as_bytes(), kb.value)
                .map(|v| v.to_vec())
                .map_err(|_| BackupError::damaged("a sealed value of the snapshot does not open (changed or damaged)"))
        })?;
        let left = tx.all_owners()?;
        report.offices = left.iter().filter(|o| o.kind == ShredKind::Office).count() as u64;
        report.cases = left.iter().filter(|o| o.kind == ShredKind::Case).count() as u64;
        report.documents = left.iter().filter(|o| o.kind == ShredKind::Document).count() as u64;
        tx.set_vault_id(&hex(&random_bytes::<16>()))?;
        match &auth {
            Some(k) => {
                if let Some((user, sealed)) = tx.any_sealed_totp()?
                    && k.open(user.as_bytes(), &sealed).is_err()
                {
                    return Err(BackupError::failed(
                        "the auth key given is not the one this vault used (its authenticator secrets do not open)",
                    ));
                }
            }
            None => report.second_factors_reset = tx.reset_second_factors()?,
        }
        Ok(tx.blob_names()?)
    })?;
    snap.finish()?;

    // 3. The document files: every hash of the manifest is checked; only those of
    // what was kept are copied.
    let keep: HashSet<&str> = keep_blobs.iter().map(String::as_str).collect();
    let blob_dir = req.data.join("blobs");
    private_dir(&blob_dir)?;
    let total: u64 = manifest.blobs.iter().map(|b| b.size).sum();
    progress.phase(
        "checking and copying documents",
        manifest.blobs.len() as u64,
        total,
    );
    for b in &manifest.blobs {
        let name = BlobName::parse(&b.name)
            .ok_or_else(|| BackupError::damaged("the manifest names a bad file"))?;
        let src = target.open_blob(&name)?;
        let got = if keep.contains(b.name.as_str()) {
            copy_checked(src, &blob_dir, &name, progress)?
        } else {
            hash_reader(src, &mut |n| progress.bytes(n))
                .map_err(|e| BackupError::failed(e.to_string()))?
        };
        check(b, got, &format!("document file {}", b.name))?;
        if keep.contains(b.name.as_str()) {
            fs::rename(
                blob_dir.join(format!(".tmp-{}", b.name)),
                blob_dir.join(&b.name),
            )
            .map_err(|e| BackupError::failed(e.to_string()))?;
        }
        progress.file();
    }
    progress.finish();

    // 4. The vault as `serve` will open it: migrations, the audit chain up to the
    // manifest's head, and the restore's own entry.
    let db = Db::open(req.data)?;
    let expect = audit::parse_head(&manifest.audit_head).filter(|(seq, _)| *seq > 0);
    match audit::verify(&db, expect)? {
        audit::Verdict::Intact { entries, .. } => report.audit_entries = entries,
        audit::Verdict::Broken { seq, reason } => {
            return Err(BackupError::damaged(format!(
                "the restored audit log does not hold at entry {seq} ({reason}): nothing was restored"
            )));
        }
    }
    if !db.integrity_ok()? {
        return Err(BackupError::damaged(
            "the restored database fails its integrity check",
        ));
    }
    let outcome = format!(
        "ok backup={id} cases={} documents={} dropped_cases={} dropped_documents={} dropped_offices={}",
        report.cases,
        report.documents,
        report.dropped_cases,
        report.dropped_documents,
        report.dropped_offices
    );
    db.write(|tx| {
        audit::append(
            tx,
            &req.now,
            &audit::Entry {
                actor: "operator",
                role: "operator",
                action: "restore",
                target: "backup",
                decision: "allow",
                outcome: &outcome,
            },
        )
    })?;
    db.checkpoint_truncate()?;
    if req.auth_key_file.is_none() {
        write_new_auth_key(&req.data.join("auth.key"))?;
    }
    drop(db);
    fs::remove_file(&marker)
        .map_err(|e| BackupError::failed(format!("removing {}: {e}", marker.display())))?;
    Ok(report)
}

/// Copies a blob to `dir/.tmp-NAME`, hashing it; the caller renames it once the
/// hash matched.
fn copy_checked(
    mut src: impl Read,
    dir: &Path,
    name: &BlobName,
    progress: &mut Progress,
) -> Result<(u64, [u8; 32]), BackupError> {
    let tmp: PathBuf = dir.join(format!(".tmp-{}", name.as_str()));
    let f = fs::File::create(&tmp).map_err(|e| BackupError::failed(e.to_string()))?;
    let mut w = HashingWriter::new(io::BufWriter::with_capacity(256 * 1024, f));
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = src
            .read(&mut buf)
            .map_err(|e| BackupError::failed(e.to_string()))?;
        if n == 0 {
            break;
        }
        w.write_all(&buf[..n])
            .map_err(|e| BackupError::failed(e.to_string()))?;
        progress.bytes(n as u64);
    }
    w.flush().map_err(|e| BackupError::failed(e.to_string()))?;
    w.get_ref()
        .get_ref()
        .sync_all()
        .map_err(|e| BackupError::failed(e.to_string()))?;
    Ok((w.size(), w.digest()))
}

fn write_new_auth_key(path: &Path) -> Result<(), BackupError> {
    crate::store::write_private_file(path, AuthKey::generate().as_bytes())
        .map_err(|e| BackupError::failed(format!("writing {}: {e}", path.display())))
}
