//! Keeping every backup target's shred ledger in step with the live vault.
//!
//! Invariant: a ledger is written under the target's lock, from the live state read
//! under that lock, and written again when a purge committed while it was being
//! written; so the last ledger at a reachable target always reflects every purge. A
//! target that is unreachable or busy is tried again (the purge worker's wake-ups).
use std::collections::HashMap;
use std::sync::atomic::Ordering;

use crate::backup::BackupError;
use crate::backup::ledger::{self, Ledger, LedgerBackup, LedgerKey};
use crate::backup::target::{self, Target};
use crate::crypto::ShredKey;
use crate::store::{BackupTargetRow, ShredKind};
use crate::vault::Vault;
use crate::vault::lifecycle::backup::{shred_context, snapshot_context};

impl Vault {
    pub(in crate::vault) fn live_shred_keys(
        &self,
    ) -> Result<HashMap<(ShredKind, String), ShredKey>, BackupError> {
        let rows = self.db.read(|tx| tx.shred_keys())?;
        let mut out = HashMap::with_capacity(rows.len());
        for r in rows {
            let plain = self
                .auth_key
                .open(&shred_context(r.kind, &r.owner), &r.sealed)
                .map_err(|_| {
                    BackupError::failed(
                        "a shred key does not open with this vault's auth key (--auth-key)",
                    )
                })?;
            let key = ShredKey::from_bytes(&plain)
                .map_err(|_| BackupError::failed("a shred key is malformed"))?;
            out.insert((r.kind, r.owner), key);
        }
        Ok(out)
    }

    /// Writes the target's ledger from the live state, again as long as a purge
    /// committed meanwhile (the caller holds the target's lock).
    pub(in crate::vault) fn write_ledger(
        &self,
        target: &dyn Target,
        t: &BackupTargetRow,
    ) -> Result<(), BackupError> {
        loop {
            let before = self.db.read(|tx| tx.shred_epoch())?;
            let mut l = self.ledger_now(&t.id)?;
            ledger::write(target, &mut l, &t.recipient)?;
            if self.db.read(|tx| tx.shred_epoch())? == before {
                return Ok(());
            }
        }
    }

    /// The ledger as the live vault stands now.
    fn ledger_now(&self, target: &str) -> Result<Ledger, BackupError> {
        let runs = self.db.read(|tx| tx.backup_runs_with_keys(target))?;
        let mut backups = Vec::with_capacity(runs.len());
        for r in runs {
            let (Some(sealed), Some(sha)) = (r.sealed, r.manifest_sha256) else {
                continue;
            };
            let plain = self
                .auth_key
                .open(&snapshot_context(&r.id), &sealed)
                .map_err(|_| {
                    BackupError::failed("a snapshot key does not open with this vault's auth key")
                })?;
            let text = String::from_utf8(plain.to_vec())
                .map_err(|_| BackupError::failed("a snapshot key is malformed"))?;
            let mut digest = [0u8; 32];
            if sha.len() == 32 {
                digest.copy_from_slice(&sha);
            }
            backups.push(LedgerBackup {
                id: r.id,
                identity: text.into(),
                manifest_sha256: digest,
            });
        }
        let keys = self
            .live_shred_keys()?
            .into_iter()
            .map(|((kind, owner), key)| LedgerKey { kind, owner, key })
            .collect();
        Ok(Ledger {
            vault: self.db.read(|tx| tx.vault_id())?,
            generation: 0,
            backups,
            keys,
        })
    }

    /// Forgets the snapshot keys of runs that are not (or no longer) complete at the
    /// target: pruned backups and interrupted runs. The caller holds the lock.
    pub(in crate::vault) fn reconcile_runs(
        &self,
        target: &dyn Target,
        target_id: &str,
    ) -> Result<(), BackupError> {
        let (complete, partial) = target.backup_ids()?;
        for id in &partial {
            target.remove_backup(id)?;
        }
        let runs = self.db.read(|tx| tx.backup_runs_with_keys(target_id))?;
        for r in runs {
            if !complete.contains(&r.id) {
                self.db.write(|tx| {
                    if r.outcome == "running" {
                        tx.finish_backup_run(
                            &r.id,
                            "failed: interrupted",
                            None,
                            None,
                            None,
                            &self.now_str(),
                        )?;
                    }
                    tx.forget_backup_run_key(&r.id)
                })?;
            }
        }
        Ok(())
    }

    /// Rewrites the ledger of every reachable target if a purge committed since the
    /// last rewrite; a target that is not mounted, or busy with a backup that will
    /// rewrite it itself, is tried again later. Called after purges and periodically.
    pub(in crate::vault) fn refresh_ledgers(&self) {
        let epoch = match self.db.read(|tx| tx.shred_epoch()) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "reading the shred epoch failed");
                return;
            }
        };
        if self.shred_epoch.load(Ordering::Acquire) == epoch {
            return;
        }
        let targets = match self.db.read(|tx| tx.backup_targets()) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "reading the backup targets failed");
                return;
            }
        };
        let mut all = true;
        for t in targets {
            match self.refresh_one(&t) {
                Ok(true) => {}
                Ok(false) => all = false,
                Err(e) => {
                    all = false;
                    tracing::warn!(target = %t.location, error = %e, "rewriting the shred ledger failed; retried later");
                }
            }
        }
        if all {
            self.shred_epoch.store(epoch, Ordering::Release);
        }
    }

    /// One target: false when it is unreachable or busy.
    fn refresh_one(&self, t: &BackupTargetRow) -> Result<bool, BackupError> {
        let access = target::S3Access {
            endpoint: t.s3_endpoint.clone(),
            credentials: t.s3_credentials.as_ref().map(std::path::PathBuf::from),
        };
        let Ok(target) = target::open(&t.location, &access) else {
            tracing::warn!(target = %t.location, "backup target not reachable: a purge is not yet in its shred ledger; rewritten as soon as it is reachable");
            return Ok(false);
        };
        if target.vault_id()?.as_deref() != Some(self.db.read(|tx| tx.vault_id())?.as_str()) {
            return Ok(false);
        }
        let Some(_lock) = target.lock(false)? else {
            // A backup holds it, and writes the ledger again before it lets go.
            return Ok(false);
        };
        let mut l = self.ledger_now(&t.id)?;
        ledger::write(&*target, &mut l, &t.recipient)?;
        Ok(true)
    }
}
