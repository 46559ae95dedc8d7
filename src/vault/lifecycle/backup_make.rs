//! Making one backup: the snapshot rewritten under shred keys, the blobs copied that
//! the target lacks, the manifest written last.
//!
//! Invariant: a backup is listed only once its manifest exists, and a snapshot holds
//! nothing whose shred key is gone.
use super::backup::sweep_stale_work;
use crate::backup::hashing::hash_reader;
use crate::backup::manifest::{FORMAT, FileEntry, Manifest};
use crate::backup::progress::Progress;
use crate::backup::target::Target as BackupTarget;
use crate::backup::{self as bk, BackupError};
use crate::crypto::{self, BackupIdentity, hex};
use crate::store::{BackupTargetRow, BlobName, ShredKind};
use crate::vault::{Actor, BackupReport, Vault, VaultError};
use std::collections::HashMap;

impl Vault {
    /// The backup itself, once its run is recorded.
    pub(super) fn make_backup(
        &self,
        target: &dyn BackupTarget,
        target_row: &BackupTargetRow,
        id: &str,
        snapshot_key: &BackupIdentity,
        actor: &Actor,
        progress: &mut Progress,
    ) -> Result<BackupReport, BackupError> {
        // 1. A consistent copy of the database, beside it (it is no more readable
        // than the database itself).
        let work_root = self.data_dir.join("backup-work");
        sweep_stale_work(&work_root);
        let work = work_root.join(id);
        std::fs::create_dir_all(&work)
            .map_err(|e| BackupError::failed(format!("creating {}: {e}", work.display())))?;
        let _cleanup = RemoveOnDrop(work.clone());
        let created_at = self.now_str();
        let mut snap = self.db.snapshot_to(&work.join(format!("{id}.db")))?;

        // 2. Shred keys for everything new, then the live keys of what the snapshot holds.
        let keys = self.shred_keys_for_backup()?;

        // 3. The snapshot's rewrite: drop what is gone live, seal the rest.
        let facts = snap.write(|tx| -> Result<SnapshotFacts, BackupError> {
            bk::drop_unkeyed(tx, |k, o| keys.contains_key(&(k, o.to_string())))?;
            tx.rewrite_key_bearing(|kb| {
                let key = keys.get(&(kb.kind, kb.owner.to_string())).ok_or_else(|| {
                    BackupError::failed("a value of the snapshot has no shred key")
                })?;
                key.seal(kb.context.as_bytes(), kb.value)
                    .map_err(|_| BackupError::failed("sealing a value failed"))
            })?;
            tx.strip_for_backup()?;
            let owners = tx.all_owners()?;
            let count = |k| owners.iter().filter(|o| o.kind == k).count() as u64;
            Ok(SnapshotFacts {
                schema_version: tx.schema_version()?,
                audit_head: match tx.audit_head()? {
                    Some((seq, h)) => crate::audit::format_head(seq, &h),
                    None => crate::audit::format_head(0, &crate::audit::GENESIS),
                },
                offices: count(ShredKind::Office),
                cases: count(ShredKind::Case),
                documents: count(ShredKind::Document),
                blobs: tx.blob_names()?,
            })
        })?;
        let snap_path = snap.finish()?;

        // 4. The snapshot, encrypted to its own identity.
        let snap_len = std::fs::metadata(&snap_path).map(|m| m.len()).unwrap_or(0);
        progress.phase("database snapshot", 1, snap_len);
        let (snap_size, snap_sha) = target.put_snapshot(id, &mut |out| {
            let mut w = crypto::encrypt_stream(&snapshot_key.recipient(), out)
                .map_err(|_| BackupError::failed("cannot encrypt the snapshot"))?;
            let f = std::fs::File::open(&snap_path)
                .map_err(|e| BackupError::failed(format!("reading the snapshot: {e}")))?;
            copy_counting(f, &mut w, progress)?;
            w.finish()
                .map_err(|e| BackupError::failed(format!("writing the snapshot: {e}")))?;
            Ok(())
        })?;
        progress.file();
        let mut report = BackupReport {
            id: id.to_string(),
            copied: snap_size,
            cases: facts.cases,
            documents: facts.documents,
            ..Default::default()
        };

        // 5. The blobs the target lacks (their hashes from earlier manifests).
        let known = known_blobs(target)?;
        let wanted: Vec<BlobName> = facts
            .blobs
            .iter()
            .filter_map(|b| BlobName::parse(b))
            .collect();
        let new_bytes: u64 = wanted
            .iter()
            .filter(|b| !known.contains_key(b.as_str()))
            .filter_map(|b| self.blobs.size(b).ok())
            .sum();
        progress.phase("documents", wanted.len() as u64, new_bytes);
        let mut entries = Vec::with_capacity(wanted.len());
        for b in wanted {
            let entry = match (known.get(b.as_str()), target.blob_size(&b)) {
                (Some(e), Some(size)) if e.size == size => e.clone(),
                (_, Some(_)) => {
                    let (size, sha) = hash_reader(target.open_blob(&b)?, &mut |_| {})
                        .map_err(|e| BackupError::failed(e.to_string()))?;
                    FileEntry {
                        name: b.as_str().into(),
                        size,
                        sha256: hex(&sha),
                    }
                }
                (_, None) => match self.blobs.open_blob(&b) {
                    Ok(f) => {
                        let mut f = f;
                        let (size, sha) =
                            target.put_blob(&b, &mut f, &mut |n| progress.bytes(n))?;
                        report.copied += size;
                        report.blobs_copied += 1;
                        FileEntry {
                            name: b.as_str().into(),
                            size,
                            sha256: hex(&sha),
                        }
                    }
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(BackupError::failed(format!(
                            "reading the blob store ({}): {e}",
                            self.blobs.describe()
                        )));
                    }
                    // A missing object in a store that does not answer for its own
                    // marker is a store fault (a wrong endpoint, a lost bucket), not a
                    // purged document.
                    Err(_) if self.blob_probe().is_err() => {
                        return Err(BackupError::failed(format!(
                            "the blob store ({}) does not answer for this vault; nothing was left out, the backup stopped",
                            self.blobs.describe()
                        )));
                    }
                    Err(e) => {
                        // Purged since the snapshot (its key is gone too, so a restore
                        // drops it), or lost from the live store: either way not here.
                        tracing::warn!(blob = %b.as_str(), error = %e, "a document file is missing from the blob store; left out of the backup");
                        report.missing += 1;
                        progress.file();
                        continue;
                    }
                },
            };
            entries.push(entry);
            progress.file();
        }
        progress.finish();
        report.blobs = entries.len() as u64;

        // 6. The manifest's bytes, the run and its audit entry, the ledger, and only
        // then the manifest itself: the backup is listed last.
        let manifest = Manifest {
            format: FORMAT.into(),
            id: id.into(),
            vault: self.db.read(|tx| tx.vault_id())?,
            created_at,
            schema_version: facts.schema_version,
            audit_head: facts.audit_head,
            offices: facts.offices,
            cases: facts.cases,
            documents: facts.documents - report.missing.min(facts.documents),
            snapshot: FileEntry {
                name: "vault.db.age".into(),
                size: snap_size,
                sha256: hex(&snap_sha),
            },
            blobs: entries,
        };
        report.bytes = manifest.total_bytes();
        let bytes = manifest.to_bytes()?;
        let digest = crypto::sha256(&bytes);
        let outcome = format!(
            "ok id={id} bytes={} copied={} cases={} documents={}",
            report.bytes, report.copied, report.cases, report.documents
        );
        self.db.write(|tx| -> Result<(), VaultError> {
            tx.finish_backup_run(
                id,
                "ok",
                Some(&digest),
                Some(report.bytes),
                Some(report.copied),
                &self.now_str(),
            )?;
            self.backup_entry(tx, actor, &outcome)
        })?;
        self.write_ledger(target, target_row)?;
        target.put_manifest(id, &bytes)?;
        Ok(report)
    }
}

/// What the snapshot holds, read while it is rewritten.
struct SnapshotFacts {
    schema_version: i64,
    audit_head: String,
    offices: u64,
    cases: u64,
    documents: u64,
    blobs: Vec<String>,
}

/// The hashes of the blobs earlier backups list.
fn known_blobs(target: &dyn BackupTarget) -> Result<HashMap<String, FileEntry>, BackupError> {
    let mut out = HashMap::new();
    for l in bk::list(target)? {
        if let Some(m) = l.manifest {
            for b in m.blobs {
                out.insert(b.name.clone(), b);
            }
        }
    }
    Ok(out)
}

fn copy_counting(
    mut from: impl std::io::Read,
    to: &mut impl std::io::Write,
    progress: &mut Progress,
) -> Result<(), BackupError> {
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = from
            .read(&mut buf)
            .map_err(|e| BackupError::failed(format!("reading the snapshot: {e}")))?;
        if n == 0 {
            return Ok(());
        }
        to.write_all(&buf[..n])
            .map_err(|e| BackupError::failed(format!("writing the snapshot: {e}")))?;
        progress.bytes(n as u64);
    }
}

struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
