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

use crate::backup::BackupError;
use crate::backup::progress::Progress;
use crate::backup::target;
use crate::crypto::{self, BackupIdentity, ShredKey, hex, random_bytes};
use crate::store::{BackupTargetRow, ShredKind, WriteTx};
use crate::vault::guard::decide::By;
use crate::vault::guard::target::{Target, Word};
use crate::vault::{Actor, Vault, VaultError};

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

pub(in crate::vault) fn shred_context(kind: ShredKind, owner: &str) -> Vec<u8> {
    format!("shred {}:{owner}", kind.as_str()).into_bytes()
}

pub(in crate::vault) fn snapshot_context(id: &str) -> Vec<u8> {
    format!("backup snapshot:{id}").into_bytes()
}

/// A new backup id: the time, then a counter within that second, so ids sort in the
/// order the backups were made (also when two start in one second, or the clock went
/// back: never below the newest id the target has).
/// How often a backup tries the target's lock, 100 ms apart, before it gives up.
const LOCK_TRIES: u32 = 50;

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
            // Not logged here: the caller reports the error once (the command line's
            // one `casevault: …` line, the schedule's log entry).
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
        // The server's own ledger rewrite (after a purge, or at start) holds the lock
        // for a moment: wait that out; another backup holds it far longer.
        let mut lock = None;
        for _ in 0..LOCK_TRIES {
            lock = target.lock(false)?;
            if lock.is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _lock = lock.ok_or_else(|| {
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
                return Err(e);
            }
        };
        Ok(report)
    }

    /// Makes the missing shred keys (only for what still exists), then returns every
    /// live key, opened.
    pub(super) fn shred_keys_for_backup(
        &self,
    ) -> Result<HashMap<(ShredKind, String), ShredKey>, BackupError> {
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

    pub(super) fn backup_entry(
        &self,
        tx: &WriteTx<'_>,
        actor: &Actor,
        outcome: &str,
    ) -> Result<(), VaultError> {
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

/// A short word for an audit outcome (never a path or a message).
/// One word for why a backup failed, stored with the run (the pages put it in a
/// sentence; the detail, which may name paths, goes to the server log only).
fn failure_word(e: &BackupError) -> &'static str {
    let m = match e {
        BackupError::Damaged(_) => return "damaged",
        BackupError::Failed(m) => m.to_ascii_lowercase(),
    };
    if m.contains("no space") || m.contains("disk full") || m.contains("quota") {
        "full"
    } else if m.contains("permission denied")
        || m.contains("access denied")
        || m.contains("forbidden")
    {
        "permission"
    } else if m.contains("another backup") {
        "busy"
    } else if [
        "connect",
        "timed out",
        "timeout",
        "dns",
        "unreachable",
        "no such host",
    ]
    .iter()
    .any(|w| m.contains(w))
    {
        "unreachable"
    } else if m.contains("no such file") || m.contains("not found") {
        "missing"
    } else {
        "error"
    }
}

/// Removes the work directories of runs that were killed (older than a day: a
/// backup to another target may be running beside this one).
pub(super) fn sweep_stale_work(root: &Path) {
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
