//! Removing the blob files of purged documents, after the purge has answered.
//!
//! A purge makes its documents unreadable by deleting their keys in one transaction
//! and queues their files in that same transaction (`blob_trash`); the files (noise
//! without those keys) are removed here: by a background worker in a running server,
//! at once in the command line, and at every start for what a crash left queued.
//! So a purge's answer time does not grow with the size of what it purged, and no
//! queued file is ever forgotten.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

use crate::store::BlobName;
use crate::vault::{Vault, VaultError};

/// How many queued names one pass takes at a time.
const BATCH: usize = 256;

/// The worker's doorbell.
#[derive(Default)]
pub(in crate::vault) struct Trash {
    rung: Mutex<bool>,
    bell: Condvar,
    /// A background worker is running (a server); otherwise purges empty the queue
    /// themselves before they return.
    worker: AtomicBool,
}

impl Vault {
    /// After a purge's commit: hand its files to the worker, or remove them now.
    pub(in crate::vault) fn after_purge(&self) {
        if self.trash.worker.load(Ordering::Acquire) {
            *self.trash.rung.lock().unwrap_or_else(|p| p.into_inner()) = true;
            self.trash.bell.notify_one();
        } else {
            if let Err(e) = self.empty_trash() {
                tracing::warn!(error = %e, "removing purged files failed; retried at next start");
            }
            self.refresh_ledgers();
        }
    }

    /// Removes every queued file and takes it off the queue; returns how many. A file
    /// that cannot be removed stays queued (logged) and is tried again next time.
    pub fn empty_trash(&self) -> Result<usize, VaultError> {
        let mut removed = 0;
        loop {
            let names = self.db.read(|tx| tx.trash_list(BATCH))?;
            if names.is_empty() {
                if removed > 0 {
                    // The queue's own deletes are the last writes of a purge: leave
                    // the WAL empty again, as the purge itself did.
                    self.db.checkpoint_truncate()?;
                }
                return Ok(removed);
            }
            let mut gone = Vec::with_capacity(names.len());
            for n in names {
                match BlobName::parse(&n) {
                    Some(b) => match self.blobs.delete(&b) {
                        Ok(()) => gone.push(n),
                        Err(e) => {
                            tracing::warn!(error = %e, "a purged file could not be removed yet");
                        }
                    },
                    // Not a name of ours: nothing to remove.
                    None => gone.push(n),
                }
            }
            if gone.is_empty() {
                return Ok(removed);
            }
            removed += gone.len();
            self.db.write(|tx| tx.trash_done(&gone))?;
        }
    }

    /// How many purged files still wait for removal.
    pub fn trash_pending(&self) -> Result<u64, VaultError> {
        Ok(self.db.read(|tx| tx.trash_len())?)
    }

    /// Starts the background worker (a server does, once): it empties the queue now
    /// (what a crash left) and after every purge, and ends with the vault.
    pub fn start_trash_worker(self: &Arc<Self>) -> std::io::Result<()> {
        if self.trash.worker.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // The worker holds the vault only while it works, so a dropped vault ends it
        // (within one wait).
        let weak: Weak<Vault> = Arc::downgrade(self);
        let t = self.trash.clone();
        std::thread::Builder::new()
            .name("casevault-trash".into())
            .spawn(move || {
                loop {
                    {
                        let Some(v) = weak.upgrade() else { return };
                        match v.empty_trash() {
                            Ok(n) if n > 0 => tracing::debug!(files = n, "purged files removed"),
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "removing purged files failed; retrying")
                            }
                        }
                        // The backup targets' ledgers follow the purge (and an
                        // unmounted target is tried again at every wake-up).
                        v.refresh_ledgers();
                    }
                    let rung = t.rung.lock().unwrap_or_else(|p| p.into_inner());
                    let (mut rung, _) = t
                        .bell
                        .wait_timeout_while(rung, Duration::from_secs(30), |r| !*r)
                        .unwrap_or_else(|p| p.into_inner());
                    *rung = false;
                }
            })?;
        Ok(())
    }
}
