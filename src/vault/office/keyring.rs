//! The keyring: which offices are unsealed, and the case keys unwrapped under them.
//!
//! Invariant: a key is taken from here only where it is about to be used, which is
//! what holds off the idle auto-seal; no case key stays cached for a case whose row
//! is gone (see [`Vault::case_key`]).
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::crypto::{BlindIndexKey, CaseKey, OfficeKey};
use crate::policy::CaseFacts;
use crate::store::ReadTx;
use crate::vault::office::plain_cache::PlainCache;
use crate::vault::{Vault, VaultError};

/// Who unsealed an office by recovery shares, and when (unix seconds).
#[derive(Debug, Clone)]
pub(in crate::vault) struct Recovered {
    pub(in crate::vault) by: Vec<String>,
    pub(in crate::vault) at: i64,
}

/// An office whose keys are in memory.
pub(in crate::vault) struct Unsealed {
    /// The office's recipient for these keys (a write that sealed something to it
    /// checks, in its transaction, that no rotation replaced it meanwhile).
    pub(in crate::vault) recipient: String,
    pub(in crate::vault) office: OfficeKey,
    pub(in crate::vault) index: BlindIndexKey,
    pub(in crate::vault) cases: Mutex<HashMap<String, Arc<CaseKey>>>,
    /// Decrypted metadata of its cases and documents (see `plain_cache.rs`).
    pub(in crate::vault) plain: Mutex<PlainCache>,
    /// Unsealed by recovery shares: for a short while, the administrators who gave
    /// them may invite key holders without proving a holder secret (the shares did).
    pub(in crate::vault) recovered: Option<Recovered>,
    /// The keys a rotation is about to commit: between its commit and its swap of
    /// the keyring, a row may already be wrapped to them.
    pub(in crate::vault) next: std::sync::RwLock<Option<Arc<Unsealed>>>,
    /// Unix time of the last use of this office's keys (for the idle auto-seal).
    pub(in crate::vault) last_used: std::sync::atomic::AtomicI64,
}

impl Vault {
    /// The office's keys, to use them now: this is what keeps the office from the idle
    /// auto-seal. Call it only where a key is about to be used (unwrapping or reading a
    /// case key, computing a blind index); anything that only asks whether the office
    /// is unsealed, or tidies the cache, uses [`Vault::keys_in_memory`].
    pub(in crate::vault) fn use_keys(&self, office: &str) -> Option<Arc<Unsealed>> {
        let u = self.keys_in_memory(office)?;
        u.last_used
            .store(self.clock.unix(), std::sync::atomic::Ordering::Relaxed);
        Some(u)
    }

    /// The office's keys if it is unsealed, without counting as a use: a page or a
    /// poller that shows the seal state must not keep an idle office unsealed.
    pub(in crate::vault) fn keys_in_memory(&self, office: &str) -> Option<Arc<Unsealed>> {
        self.keyring
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(office)
            .cloned()
    }

    /// The seal epoch now: take it before a long unseal, hand it to `install_keys`.
    pub(in crate::vault) fn seal_epoch(&self) -> u64 {
        self.seal_epoch.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Removes offices' keys (every office: `None`) and raises the seal epoch, under
    /// one write lock of the keyring. Returns the offices that were unsealed.
    pub(in crate::vault) fn drop_keys(&self, which: impl Fn(&str) -> bool) -> Vec<String> {
        let mut ring = self.keyring.write().unwrap_or_else(|p| p.into_inner());
        self.seal_epoch
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        let gone: Vec<String> = ring.keys().filter(|k| which(k)).cloned().collect();
        for o in &gone {
            ring.remove(o);
        }
        gone
    }

    /// Whether an office's keys are in memory. Not a use of them: asking does not
    /// hold off the idle auto-seal.
    pub fn is_unsealed(&self, office: &str) -> bool {
        self.keys_in_memory(office).is_some()
    }

    /// Facts about a case for the policy, with shares live at `now`.
    pub(in crate::vault) fn case_facts(
        &self,
        tx: &ReadTx<'_>,
        case: &crate::store::CaseRow,
    ) -> Result<CaseFacts, VaultError> {
        let now = self.clock.unix();
        let shares = tx.shares(&case.id)?;
        let live = shares
            .iter()
            .filter(|s| s.revoked_at.is_none() && s.expires_at > now);
        Ok(CaseFacts {
            id: case.id.clone(),
            office: case.office.clone(),
            creator: case.created_by.clone(),
            assignees: tx.assignees(&case.id)?,
            readers: live.clone().map(|s| s.user_id.clone()).collect(),
            uploaders: live
                .clone()
                .filter(|s| s.permission == "upload")
                .map(|s| s.user_id.clone())
                .collect(),
            note_readers: live
                .filter(|s| s.notes)
                .map(|s| s.user_id.clone())
                .collect(),
        })
    }

    /// The case key, from the cache or unwrapped with the office identity.
    ///
    /// A key is cached only for a case whose row still exists: `case` may have been
    /// read just before a purge committed, and the purge drops the cached key only
    /// after its commit. So the row is looked up again *after* the key is cached: if
    /// the purge committed first, this sees the row gone and removes the key; if not,
    /// the purge's own removal comes after this insert. Either way no key of a purged
    /// case stays in memory.
    pub(in crate::vault) fn case_key(
        &self,
        case: &crate::store::CaseRow,
    ) -> Result<Arc<CaseKey>, VaultError> {
        let office = self
            .use_keys(&case.office)
            .ok_or_else(|| VaultError::OfficeSealed(case.office.clone()))?;
        let lock = || office.cases.lock().unwrap_or_else(|p| p.into_inner());
        {
            let mut cache = lock();
            if let Some(k) = cache.get(&case.id) {
                return Ok(k.clone());
            }
            let next = office
                .next
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            let opened =
                office
                    .office
                    .unwrap_case(&case.wrapped_identity)
                    .or_else(|e| match &next {
                        Some(n) => n.office.unwrap_case(&case.wrapped_identity),
                        None => Err(e),
                    });
            let key = match opened {
                Ok(k) => k,
                Err(e) => {
                    // A rotation may have committed between reading this row and
                    // taking the keys (or the other way round): the office's keys of
                    // now are tried once.
                    drop(cache);
                    let now = self
                        .use_keys(&case.office)
                        .ok_or_else(|| VaultError::OfficeSealed(case.office.clone()))?;
                    let row = self
                        .db
                        .read(|tx| tx.case(&case.id))?
                        .ok_or(VaultError::NotFound)?;
                    if Arc::ptr_eq(&now, &office) && row.wrapped_identity == case.wrapped_identity {
                        return Err(e.into());
                    }
                    let key = Arc::new(now.office.unwrap_case(&row.wrapped_identity)?);
                    let lock_now = || now.cases.lock().unwrap_or_else(|p| p.into_inner());
                    lock_now().insert(case.id.clone(), key.clone());
                    // As below: no key stays cached for a case a purge just removed.
                    if !matches!(self.db.read(|tx| tx.case(&case.id)), Ok(Some(_))) {
                        lock_now().remove(&case.id);
                        return Err(VaultError::NotFound);
                    }
                    return Ok(key);
                }
            };
            cache.insert(case.id.clone(), Arc::new(key));
        }
        let still_there = self.db.read(|tx| tx.case(&case.id)).map(|c| c.is_some());
        let mut cache = lock();
        match still_there {
            Ok(true) => cache.get(&case.id).cloned().ok_or(VaultError::NotFound),
            Ok(false) => {
                cache.remove(&case.id);
                Err(VaultError::NotFound)
            }
            Err(e) => {
                cache.remove(&case.id);
                Err(e.into())
            }
        }
    }
}
