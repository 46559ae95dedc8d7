//! Making a backup of the live vault (the ledger's upkeep is in `backup_ledger.rs`).
//!
//! Invariants: a shred key is made only for what still exists in the live vault (in
//! the same statement that checks it), so a purge that commits first is never undone;
//! whatever the snapshot holds without a live key (purged while the backup ran) is
//! dropped from the snapshot before a byte of it leaves; a backup is listed only once
//! its files, its ledger entry and its audit entry are all written; a ledger is
//! written under the target's lock and written again when a purge committed while it
//! was being written, so the last ledger at a reachable target always reflects every
//! purge.
use std::collections::HashMap;
use std::path::Path;

use age::secrecy::ExposeSecret;

use super::decide::By;
use super::target::{Target, Word};
use super::{Actor, Vault, VaultError};
use crate::backup::hashing::hash_reader;
use crate::backup::manifest::{FORMAT, FileEntry, Manifest};
use crate::backup::progress::Progress;
use crate::backup::target::{self, Target as BackupTarget};
use crate::backup::{self as bk, BackupError};
use crate::crypto::{self, BackupIdentity, ShredKey, hex, random_bytes};
use crate::store::{BackupTargetRow, BlobName, ShredKind, Tx};

/// What `backup create` is asked.
#[derive(Debug, Clone)]
pub struct BackupRequest {
    /// The target: a directory or `s3://BUCKET/PREFIX`.
    pub to: std::path::PathBuf,
    /// How to reach an S3 target.
    pub s3: target::S3Access,
    /// The backup recipient (`age1…`); the ledger is sealed to it.
    pub recipient: String,
    /// Seal this target's ledger to a new recipient from now on.
    pub rotate: bool,
    /// Started by the server's schedule (for the status page).
    pub scheduled: bool,
}

/// What a backup did.
#[derive(Debug, Clone, Default)]
pub struct BackupReport {
    /// Its id.
    pub id: String,
    /// Bytes it occupies at the target (snapshot and every blob it lists).
    pub bytes: u64,
    /// Bytes this run wrote (the snapshot and the new blobs).
    pub copied: u64,
    /// Blobs copied by this run.
    pub blobs_copied: u64,
    /// Blobs the backup lists.
    pub blobs: u64,
    /// Cases in it.
    pub cases: u64,
    /// Documents in it.
    pub documents: u64,
    /// Documents left out because their file was missing from the live store.
    pub missing: u64,
    /// The ledger was sealed to a new recipient.
    pub rotated: bool,
}

pub(super) fn shred_context(kind: ShredKind, owner: &str) -> Vec<u8> {
    format!("shred {}:{owner}", kind.as_str()).into_bytes()
}

pub(super) fn snapshot_context(id: &str) -> Vec<u8> {
    format!("backup snapshot:{id}").into_bytes()
}

/// A new backup id: the time, then a counter within that second, so ids sort in the
/// order the backups were made (also when two start in one second, or the clock went
/// back: never below the newest id the target has).
fn new_backup_id(now: time::OffsetDateTime, existing: &[String]) -> String {
    let f = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let t = now
        .to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_else(|_| "19700101T000000Z".into());
    let newest = existing.iter().max();
    match newest.and_then(|n| n.split_once('-')) {
        Some((nt, seq)) if nt >= t.as_str() => {
            let next = u32::from_str_radix(seq, 16).unwrap_or(0).saturating_add(1);
            format!("{nt}-{next:06x}")
        }
        _ => format!("{t}-000000"),
    }
}

impl Vault {
    /// Makes a backup (see [`BackupRequest`]), as `actor` (the operator, or the
    /// server's schedule). Audited, allowed or failed.
    pub async fn backup_create(
        self: &std::sync::Arc<Self>,
        actor: &Actor,
        req: BackupRequest,
        mut progress: Progress,
    ) -> Result<BackupReport, BackupError> {
        let actor = actor.clone();
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.backup_create_blocking(&actor, &req, &mut progress))
            .await
            .map_err(|e| BackupError::failed(format!("the backup task failed: {e}")))?
    }

    /// [`Vault::backup_create`] on the calling thread.
    pub fn backup_create_blocking(
        &self,
        actor: &Actor,
        req: &BackupRequest,
        progress: &mut Progress,
    ) -> Result<BackupReport, BackupError> {
        let mut started = false;
        let out = self.backup_run(actor, req, progress, &mut started);
        if let Err(e) = &out
            && !started
        {
            // It failed before a run was recorded: record one, so the failure shows
            // (a target that is not mounted is the usual case), and audit it.
            let newest: Vec<String> = self
                .db
                .read(|tx| tx.recent_backup_runs(1))
                .unwrap_or_default()
                .into_iter()
                .map(|r| r.id)
                .collect();
            let id = new_backup_id(self.clock.now(), &newest);
            let outcome = format!("failed: {}", failure_word(e));
            let location = req.to.display().to_string();
            let _ = self.db.write(|tx| -> Result<(), VaultError> {
                tx.insert_failed_run(&id, &location, &outcome, &self.now_str(), req.scheduled)?;
                self.backup_entry(tx, actor, &outcome)
            });
            tracing::error!(target = %location, error = %e, "backup failed");
        }
        out
    }

    fn backup_run(
        &self,
        actor: &Actor,
        req: &BackupRequest,
        progress: &mut Progress,
        started: &mut bool,
    ) -> Result<BackupReport, BackupError> {
        crypto::parse_recipient(&req.recipient).map_err(|_| {
            BackupError::failed(
                "--recipient must be an age X25519 recipient (age1…), as age-keygen prints it",
            )
        })?;
        let to = req
            .to
            .to_str()
            .ok_or_else(|| BackupError::failed("the target's name is not UTF-8"))?;
        let target = target::create(to, &req.s3)?;
        let _lock = target.lock(false)?.ok_or_else(|| {
            BackupError::failed(format!(
                "another backup to {} is running; this one was not started",
                target.location()
            ))
        })?;
        let vault_id = self.db.read(|tx| tx.vault_id())?;
        target.claim(&vault_id)?;
        let location = target.location();
        let known = self.db.read(|tx| tx.backup_target(&location))?;
        let rotated = match &known {
            Some(t) if t.recipient != req.recipient.trim() && !req.rotate => {
                return Err(BackupError::failed(format!(
                    "the backups at {location} are sealed to another recipient ({}); to change it, pass --rotate-recipient (then destroy the old identity once a restore with the new one has worked)",
                    t.recipient
                )));
            }
            Some(t) => t.recipient != req.recipient.trim(),
            None => false,
        };
        let target_row = BackupTargetRow {
            id: known.map_or_else(|| hex(&random_bytes::<16>()), |t| t.id),
            location: location.clone(),
            recipient: req.recipient.trim().to_string(),
            s3_endpoint: req
                .s3
                .endpoint
                .clone()
                .filter(|_| location.starts_with("s3://")),
            s3_credentials: req
                .s3
                .credentials
                .as_ref()
                .filter(|_| location.starts_with("s3://"))
                .map(|p| p.display().to_string()),
        };
        target.sweep_temporary()?;
        self.reconcile_runs(&*target, &target_row.id)?;

        let (complete, partial) = target.backup_ids()?;
        let runs: Vec<String> = self
            .db
            .read(|tx| tx.recent_backup_runs(1))?
            .into_iter()
            .map(|r| r.id)
            .collect();
        let id = new_backup_id(self.clock.now(), &[complete, partial, runs].concat());
        let snapshot_key = BackupIdentity::generate();
        let sealed = self
            .auth_key
            .seal(
                &snapshot_context(&id),
                snapshot_key.to_secret_string().expose_secret().as_bytes(),
            )
            .map_err(|_| BackupError::failed("cannot seal the snapshot key"))?;
        let now = self.now_str();
        self.db.write(|tx| -> Result<(), BackupError> {
            tx.upsert_backup_target(&target_row, &now)?;
            tx.insert_backup_run(&id, &target_row.id, &sealed, &now, req.scheduled)?;
            Ok(())
        })?;
        *started = true;
        let made = self.make_backup(&*target, &target_row, &id, &snapshot_key, actor, progress);
        let report = match made {
            Ok(mut r) => {
                r.rotated = rotated;
                r
            }
            Err(e) => {
                let outcome = format!("failed: {}", failure_word(&e));
                let _ = self.db.write(|tx| -> Result<(), VaultError> {
                    tx.finish_backup_run(&id, &outcome, None, None, None, &self.now_str())?;
                    self.backup_entry(tx, actor, &format!("{outcome} id={id}"))
                });
                let _ = target.remove_backup(&id);
                tracing::error!(target = %location, error = %e, "backup failed");
                return Err(e);
            }
        };
        Ok(report)
    }

    /// The backup itself, once its run is recorded.
    fn make_backup(
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

    /// Makes the missing shred keys (only for what still exists), then returns every
    /// live key, opened.
    fn shred_keys_for_backup(&self) -> Result<HashMap<(ShredKind, String), ShredKey>, BackupError> {
        let now = self.now_str();
        self.db.write(|tx| -> Result<(), BackupError> {
            for o in tx.owners_without_shred_key()? {
                let key = ShredKey::generate();
                let sealed = self
                    .auth_key
                    .seal(&shred_context(o.kind, &o.id), key.as_bytes())
                    .map_err(|_| BackupError::failed("cannot seal a shred key"))?;
                tx.insert_shred_key(&o, &sealed, &now)?;
            }
            Ok(())
        })?;
        self.live_shred_keys()
    }

    fn backup_entry(&self, tx: &Tx<'_>, actor: &Actor, outcome: &str) -> Result<(), VaultError> {
        self.write_entry(
            tx,
            By::from(actor),
            "backup",
            &Target::word(Word::Backup),
            "allow",
            outcome,
        )
    }

    /// The newest backup runs, for the superadmin's page.
    pub fn backup_runs(&self, limit: u32) -> Result<Vec<crate::store::BackupRunRow>, VaultError> {
        Ok(self.db.read(|tx| tx.recent_backup_runs(limit))?)
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

/// A short word for an audit outcome (never a path or a message).
fn failure_word(e: &BackupError) -> &'static str {
    match e {
        BackupError::Damaged(_) => "damaged",
        BackupError::Failed(_) => "error",
    }
}

/// Removes the work directories of runs that were killed (older than a day: a
/// backup to another target may be running beside this one).
fn sweep_stale_work(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        let stale = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > std::time::Duration::from_secs(24 * 3600));
        if stale {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_ids_sort_in_the_order_made_even_within_a_second_or_a_clock_going_back() {
        let t = time::OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
        let a = new_backup_id(t, &[]);
        let b = new_backup_id(t, std::slice::from_ref(&a));
        let c = new_backup_id(t - time::Duration::hours(1), &[a.clone(), b.clone()]);
        assert!(a < b && b < c, "{a} {b} {c}");
        assert!(crate::backup::target::valid_backup_id(&a));
        assert!(crate::backup::target::valid_backup_id(&c));
        let later = new_backup_id(t + time::Duration::seconds(1), std::slice::from_ref(&c));
        assert!(later > c && later.ends_with("-000000"));
    }
}
