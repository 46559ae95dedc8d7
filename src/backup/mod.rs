//! Encrypted backups that honour purge.
//!
//! A backup is a consistent snapshot of the database, age-encrypted to an identity of
//! its own, plus the document payloads it needs (copied once: they are immutable
//! ciphertext under random names). Inside the snapshot every key-bearing value is
//! sealed again under its case's, document's or office's *shred key*; those keys live
//! only in the live vault and in the target's *shred ledger*, which is encrypted to
//! the operator's backup recipient. Purge deletes the live key at once and the ledger
//! entry at the next ledger write, and from then on no backup, however old, can give
//! that case back: restore drops whatever has no key.
//!
//! This module holds the target's file formats and the commands that need no vault:
//! `list`, `verify`, `prune` and `restore`. Making a backup needs the live vault and
//! is in `vault::backup`.
mod dir_target;
pub mod hashing;
pub mod ledger;
pub mod manifest;
pub mod progress;
pub mod restore;
pub mod s3target;
pub mod target;

use std::collections::{BTreeSet, HashMap};

use manifest::Manifest;
use progress::Progress;
use target::Target;

use crate::crypto::hex;
use crate::store::{BlobName, ShredKind, StoreError, WriteTx};

/// Why a backup command failed. The messages name paths and ids, never content.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// It could not be done (the target, the recipient, the disk, …).
    #[error("{0}")]
    Failed(String),
    /// A backup file does not match its manifest, or the manifest is damaged.
    #[error("{0}")]
    Damaged(String),
}

impl BackupError {
    /// A failure with its message.
    pub fn failed(m: impl Into<String>) -> Self {
        BackupError::Failed(m.into())
    }

    /// Damage found, with what.
    pub fn damaged(m: impl Into<String>) -> Self {
        BackupError::Damaged(m.into())
    }
}

impl From<StoreError> for BackupError {
    fn from(e: StoreError) -> Self {
        BackupError::Failed(e.to_string())
    }
}

/// One complete backup as `list` shows it.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Its id.
    pub id: String,
    /// Its manifest, or None when the manifest is damaged.
    pub manifest: Option<Manifest>,
}

/// The complete backups at a target, oldest first.
pub fn list(target: &dyn Target) -> Result<Vec<Listed>, BackupError> {
    let (ids, _) = target.backup_ids()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let manifest = target
            .manifest(&id)?
            .and_then(|b| Manifest::parse(&b).ok())
            .filter(|m| m.id == id);
        out.push(Listed { id, manifest });
    }
    Ok(out)
}

/// What `verify` found.
#[derive(Debug, Default)]
pub struct VerifyReport {
    /// Backups checked.
    pub backups: u64,
    /// Files checked (each shared blob once).
    pub files: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Every problem, one line each.
    pub problems: Vec<String>,
}

/// Checks every file of one backup (`only`) or of all of them against the manifests,
/// and that the ledger copies are well-formed. Reads everything; changes nothing.
pub fn verify(
    target: &dyn Target,
    only: Option<&str>,
    progress: &mut Progress,
) -> Result<VerifyReport, BackupError> {
    let mut report = VerifyReport::default();
    let listed = list(target)?;
    if let Some(id) = only
        && !listed.iter().any(|l| l.id == id)
    {
        return Err(BackupError::failed(format!(
            "{} holds no complete backup {id}",
            target.location()
        )));
    }
    if listed.is_empty() {
        report
            .problems
            .push("the target holds no complete backup".into());
    }
    let wanted: Vec<&Listed> = listed
        .iter()
        .filter(|l| only.is_none_or(|id| l.id == id))
        .collect();
    let well_formed = ledger::slots_well_formed(target)?;
    if !well_formed.iter().any(|ok| *ok) {
        report.problems.push(
            "the shred ledger: no intact copy (ledger.0, ledger.1): no backup here can be restored"
                .into(),
        );
    } else if !well_formed.iter().all(|ok| *ok) {
        report.problems.push(
            "the shred ledger: one of its two copies is damaged (the next backup rewrites it)"
                .into(),
        );
    }
    let total: u64 = wanted
        .iter()
        .filter_map(|l| l.manifest.as_ref())
        .map(Manifest::total_bytes)
        .sum();
    progress.phase("verifying", 0, total);
    let mut seen: HashMap<String, bool> = HashMap::new();
    for l in wanted {
        report.backups += 1;
        let Some(m) = &l.manifest else {
            report
                .problems
                .push(format!("{}: the manifest is damaged", l.id));
            continue;
        };
        let snap = target.open_snapshot(&l.id).and_then(|f| {
            hashing::hash_reader(f, &mut |n| progress.bytes(n))
                .map_err(|e| BackupError::failed(e.to_string()))
        });
        report.files += 1;
        match snap {
            Ok((size, sha)) if size == m.snapshot.size && hex(&sha) == m.snapshot.sha256 => {
                report.bytes += size;
            }
            Ok(_) => report.problems.push(format!(
                "{}: the database snapshot does not match its manifest",
                l.id
            )),
            Err(e) => report.problems.push(format!("{}: {e}", l.id)),
        }
        for b in &m.blobs {
            let ok = match seen.get(&b.name) {
                Some(ok) => *ok,
                None => {
                    let found = BlobName::parse(&b.name)
                        .ok_or_else(|| BackupError::damaged("bad blob name"))
                        .and_then(|n| target.open_blob(&n))
                        .and_then(|f| {
                            hashing::hash_reader(f, &mut |n| progress.bytes(n))
                                .map_err(|e| BackupError::failed(e.to_string()))
                        });
                    report.files += 1;
                    progress.file();
                    let ok = matches!(&found, Ok((size, sha)) if *size == b.size && hex(sha) == b.sha256);
                    if let Ok((size, _)) = found {
                        report.bytes += size;
                    }
                    seen.insert(b.name.clone(), ok);
                    ok
                }
            };
            if !ok {
                report.problems.push(format!(
                    "{}: document file {} is missing or does not match its manifest",
                    l.id, b.name
                ));
            }
        }
    }
    progress.finish();
    Ok(report)
}

/// What `prune` removed.
#[derive(Debug, Default)]
pub struct PruneReport {
    /// Backups removed.
    pub removed: Vec<String>,
    /// Backups kept.
    pub kept: u64,
    /// Blob files removed (no kept backup lists them).
    pub blobs: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// Keeps the `keep` newest complete backups and removes the others, the leftovers
/// of interrupted runs, and every blob no kept backup lists. The removed backups'
/// snapshot keys leave the ledger at the vault's next ledger write.
pub fn prune(target: &dyn Target, keep: usize) -> Result<PruneReport, BackupError> {
    if keep == 0 {
        return Err(BackupError::failed(
            "--keep must be at least 1: prune never removes the newest backup",
        ));
    }
    let _lock = target.lock(false)?.ok_or_else(|| {
        BackupError::failed(format!(
            "a backup to {} is running; prune again when it has finished",
            target.location()
        ))
    })?;
    target.sweep_temporary()?;
    let (complete, partial) = target.backup_ids()?;
    for id in &partial {
        target.remove_backup(id)?;
    }
    let cut = complete.len().saturating_sub(keep);
    let (old, kept) = complete.split_at(cut);
    // Read every kept manifest before anything is removed: a damaged one means we
    // cannot know which blobs it needs, so no blob is removed.
    let mut referenced = BTreeSet::new();
    let mut blobs_known = true;
    for id in kept {
        match target.manifest(id)?.map(|b| Manifest::parse(&b)) {
            Some(Ok(m)) => referenced.extend(m.blobs.into_iter().map(|b| b.name)),
            _ => blobs_known = false,
        }
    }
    let mut report = PruneReport {
        kept: kept.len() as u64,
        ..Default::default()
    };
    for id in old {
        target.remove_backup(id)?;
        report.removed.push(id.clone());
    }
    if !blobs_known {
        return Err(BackupError::damaged(format!(
            "removed {} old backup(s), but a kept backup's manifest is damaged, so no document file was removed; run `casevault backup verify --from {}`",
            report.removed.len(),
            target.location()
        )));
    }
    for name in target.blob_names()? {
        if !referenced.contains(name.as_str()) {
            report.bytes += target.blob_size(&name).unwrap_or(0);
            target.remove_blob(&name)?;
            report.blobs += 1;
        }
    }
    Ok(report)
}

/// What [`drop_unkeyed`] removed.
#[derive(Debug, Default, Clone, Copy)]
pub struct Dropped {
    /// Offices.
    pub offices: u64,
    /// Cases (besides those of dropped offices).
    pub cases: u64,
    /// Documents (besides those of dropped cases).
    pub documents: u64,
}

/// Removes from a snapshot every office, case and document that `has_key` says has
/// no shred key: purged (or past retention) after the snapshot was taken. The same
/// crypto-shredding deletes as a live purge.
pub fn drop_unkeyed(
    tx: &WriteTx<'_>,
    has_key: impl Fn(ShredKind, &str) -> bool,
) -> Result<Dropped, BackupError> {
    let mut d = Dropped::default();
    for o in tx.all_owners()? {
        if o.kind == ShredKind::Office && !has_key(o.kind, &o.id) {
            tx.purge_office(&o.id)?;
            d.offices += 1;
        }
    }
    for o in tx.all_owners()? {
        if has_key(o.kind, &o.id) {
            continue;
        }
        match (o.kind, o.case_id) {
            (ShredKind::Case, _) => {
                tx.purge_case(&o.id)?;
                d.cases += 1;
            }
            (ShredKind::Document, Some(case)) if tx.purge_document(&case, &o.id)?.is_some() => {
                d.documents += 1;
            }
            // A removed key holder: their wrapped identity goes, so their secret opens
            // nothing in what is restored.
            (ShredKind::Holder, _) => tx.forget_holder(&o.id)?,
            _ => {}
        }
    }
    Ok(d)
}
