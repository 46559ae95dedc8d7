//! Rotating the office key (issue 23): on demand, and whenever a key holder is removed.
//!
//! A new office identity; every case identity re-wrapped to it (the case keys
//! themselves do not change, so no document is touched); every blind index
//! recomputed under the new index key; office-wide hold reasons sealed again; the new
//! identity encrypted to the remaining holders; the old wrapped copies overwritten
//! (`secure_delete`) and the WAL truncated. All in one transaction: readers go on
//! reading the old state until it commits, writers wait for it.
//!
//! Invariant: after the commit no row in the database opens with the old office
//! identity, and a removed holder's wrapped identity and shred key are gone.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::crypto::{self, OfficeKey};
use crate::policy::Action;
use crate::store::WriteTx;
use crate::vault::case::cases::CaseMeta;
use crate::vault::case::indexes::Indexes;
use crate::vault::guard::target::Target;
use crate::vault::office::custody::last_way_in;
use crate::vault::{Actor, Allowed, StepUp, Unsealed, Vault, VaultError};

/// Cases re-wrapped per query of a rotation.
const BATCH: u32 = 256;

/// What a rotation did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rotation {
    /// Whether the office key was rotated (removing an invited holder, who never had
    /// a key, does not rotate it).
    pub rotated: bool,
    /// Cases re-wrapped.
    pub cases: u64,
}

impl Vault {
    /// Rotates the office key (office unsealed; fresh second factor).
    pub async fn rotate_office(
        self: &Arc<Self>,
        actor: &Actor,
        office: &str,
        step: StepUp,
    ) -> Result<Rotation, VaultError> {
        let (actor, office) = (actor.clone(), office.to_owned());
        let actor = self.prove(actor, step).await?;
        self.run(move |v| {
            let allowed = v.office_decision(&actor, Action::ManageHolders, &office)?;
            let allowed = allowed.and(Target::word(crate::vault::guard::target::Word::Rotate));
            v.custody_office(&allowed, &office)?;
            v.rotate_blocking(&allowed, &office, None)
        })
        .await
    }

    /// Removes a key holder and rotates the office key (office unsealed; fresh
    /// second factor). Refused when it would leave nobody able to unseal.
    pub async fn remove_holder(
        self: &Arc<Self>,
        actor: &Actor,
        office: &str,
        holder: &str,
        step: StepUp,
    ) -> Result<Rotation, VaultError> {
        let (actor, office, holder) = (actor.clone(), office.to_owned(), holder.to_owned());
        let actor = self.prove(actor, step).await?;
        self.run(move |v| v.remove_holder_blocking(&actor, &office, &holder))
            .await
    }

    fn remove_holder_blocking(
        &self,
        actor: &Actor,
        office: &str,
        holder: &str,
    ) -> Result<Rotation, VaultError> {
        let allowed = self
            .office_decision(actor, Action::ManageHolders, office)?
            .and(Target::holder(holder));
        self.custody_office(&allowed, office)?;
        let id = crate::vault::parse_id(holder);
        let row = match &id {
            Some(id) => self.db.read(|tx| tx.holder(office, id))?,
            None => None,
        };
        let Some(row) = row else {
            self.record_now(&allowed, "not_found")?;
            return Err(VaultError::NotFound);
        };
        if row.recipient.is_none() {
            // Invited only: no key of theirs rests anywhere — checked again in the
            // transaction that removes them, since they may set up a key meanwhile.
            let removed = self.db.write(|tx| match tx.holder(office, &row.id)? {
                Some(h) if h.recipient.is_none() => {
                    tx.forget_holder(&row.id)?;
                    self.record(tx, &allowed, "ok removed invited")?;
                    Ok::<_, VaultError>(true)
                }
                _ => Ok(false),
            })?;
            if removed {
                return Ok(Rotation::default());
            }
        }
        // Someone else must be able to unseal: a holder with a key whose account is
        // not disabled, the office passphrase, or recovery shares.
        let others = self.db.read(|tx| tx.holders(office))?;
        if !others
            .iter()
            .any(|h| h.id != row.id && h.recipient.is_some() && !h.disabled)
        {
            self.record_now(&allowed, "last_holder")?;
            return Err(last_way_in());
        }
        self.rotate_blocking(&allowed, office, Some(&row.id))
    }

    /// The rotation itself, in one transaction (see the module invariant).
    pub(in crate::vault) fn rotate_blocking(
        &self,
        allowed: &Allowed,
        office: &str,
        remove: Option<&str>,
    ) -> Result<Rotation, VaultError> {
        self.rotate_with(allowed, office, remove, None)
    }

    /// A rotation that also runs `also` in its transaction, before the new identity
    /// is encrypted to the holders (a new recovery set replacing the old one: both
    /// happen, or neither).
    pub(in crate::vault) fn rotate_with(
        &self,
        allowed: &Allowed,
        office: &str,
        remove: Option<&str>,
        also: Option<AlsoInTx<'_>>,
    ) -> Result<Rotation, VaultError> {
        // No unseal, invitation or other rotation of any office meanwhile.
        let _guard = self.unseal_lock.lock().unwrap_or_else(|p| p.into_inner());
        let Some(old) = self.use_keys(office) else {
            self.record_now(allowed, "sealed")?;
            return Err(VaultError::OfficeSealed(office.to_string()));
        };
        let new = OfficeKey::generate();
        // The expensive part (unwrap, decrypt, re-wrap, index every case) is done first
        // from a read snapshot, so that the write transaction — which every read's
        // audit entry waits for — only stores the results. A case created or edited
        // meanwhile is redone inside the transaction.
        let cases = self.prepare_rotation(&old, office, &new)?;
        self.commit_rotation(allowed, office, remove, Pending { old, new, cases }, also)
    }

    /// The rotation's one transaction, then the new keys in memory and the WAL
    /// truncated. Cases prepared from an earlier state than the one now stored are
    /// redone here.
    fn commit_rotation(
        &self,
        allowed: &Allowed,
        office: &str,
        remove: Option<&str>,
        pending: Pending,
        also: Option<AlsoInTx<'_>>,
    ) -> Result<Rotation, VaultError> {
        let Pending {
            old,
            new,
            cases: prepared,
        } = pending;
        let fresh = Arc::new(Unsealed {
            recipient: new.recipient(),
            index: new.index_key(),
            office: new,
            cases: Mutex::new(HashMap::new()),
            plain: Mutex::new(crate::vault::office::plain_cache::PlainCache::new(
                self.plain_bytes.clone(),
            )),
            recovered: old.recovered.clone(),
            next: std::sync::RwLock::new(None),
            last_used: std::sync::atomic::AtomicI64::new(self.clock.unix()),
        });
        let (recipient, index, new) = (&fresh.recipient, &fresh.index, &fresh.office);
        // A reader that meets a row already wrapped to the new key before the keyring
        // holds it finds the new key here.
        let set_next = |n: Option<Arc<Unsealed>>| {
            *old.next.write().unwrap_or_else(|p| p.into_inner()) = n;
        };
        set_next(Some(fresh.clone()));
        let committed = self.db.write(|tx| {
            if tx.office_recipient(office)?.as_deref() != Some(&old.recipient) {
                return Err(rotated_meanwhile());
            }
            let mut done = 0u64;
            let mut after = String::new();
            loop {
                let batch = tx.cases_to_rekey(office, &after, BATCH)?;
                let Some(last) = batch.last() else { break };
                after = last.id.clone();
                for c in &batch {
                    let redone;
                    let p = match prepared.get(&c.id) {
                        Some(p) if p.version == c.version && p.was == c.wrapped_identity => p,
                        _ => {
                            redone = rekey(&old, c, recipient, index)?;
                            &redone
                        }
                    };
                    tx.rekey_case(&c.id, &p.wrapped, &p.indexes.row())?;
                    done += 1;
                }
            }
            for (id, sealed) in tx.office_hold_reasons(office)? {
                let plain = old.office.open(&sealed)?;
                tx.set_hold_reason(&id, &crypto::seal_to(recipient, &plain)?)?;
            }
            if let Some(h) = remove {
                tx.forget_holder(h)?;
            }
            if let Some(f) = also {
                f(tx)?;
            }
            let joined = self.seal_identity_file(tx, office, new)?;
            if joined.is_empty() && tx.holders(office)?.iter().all(|h| h.recipient.is_none()) {
                return Err(last_way_in());
            }
            self.record(tx, allowed, &format!("ok cases={done}"))?;
            self.record_joined(tx, allowed, office, &joined)?;
            Ok::<_, VaultError>(done)
        });
        let cases = match committed {
            Ok(n) => n,
            Err(e) => {
                set_next(None);
                return Err(e);
            }
        };
        // The new keys replace the old in memory; the case keys are the same keys.
        let case_keys: HashMap<_, _> = old.cases.lock().unwrap_or_else(|p| p.into_inner()).clone();
        fresh
            .cases
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(case_keys);
        {
            // Only if these keys are still the office's: a seal meanwhile wins (the
            // new key rests in the database, to be unsealed like any other).
            let mut ring = self.keyring.write().unwrap_or_else(|p| p.into_inner());
            if ring.get(office).is_some_and(|u| Arc::ptr_eq(u, &old)) {
                ring.insert(office.to_string(), fresh);
            }
        }
        set_next(None);
        drop(old);
        // The old wrapped copies were overwritten in the database file; the WAL
        // still holds them until it is checkpointed and truncated.
        if let Err(e) = self.db.checkpoint_truncate() {
            tracing::warn!(error = %e, "truncating the WAL after a rotation failed; retried at the next purge or start");
        }
        if remove.is_some() {
            // The removed holder's shred key is gone: rewrite every backup's ledger
            // now, so their wrapped identity in earlier backups opens no more.
            self.refresh_ledgers();
        }
        Ok(Rotation {
            rotated: true,
            cases,
        })
    }
}

/// What a caller adds to a rotation's transaction.
pub(in crate::vault) type AlsoInTx<'a> = &'a dyn Fn(&WriteTx<'_>) -> Result<(), VaultError>;

/// A rotation prepared: the keys it replaces, the new key, every case redone.
struct Pending {
    old: Arc<Unsealed>,
    new: OfficeKey,
    cases: HashMap<String, Rekeyed>,
}

/// A case re-wrapped and re-indexed for the new office key.
struct Rekeyed {
    version: i64,
    was: Vec<u8>,
    wrapped: Vec<u8>,
    indexes: Indexes,
}

fn rekey(
    old: &Unsealed,
    c: &crate::store::RekeyRow,
    recipient: &str,
    index: &crate::crypto::BlindIndexKey,
) -> Result<Rekeyed, VaultError> {
    let key = old.office.unwrap_case(&c.wrapped_identity)?;
    let meta = CaseMeta::decrypt(&key, &c.metadata)?;
    Ok(Rekeyed {
        version: c.version,
        was: c.wrapped_identity.clone(),
        wrapped: key.wrap_to(recipient)?,
        indexes: Indexes::of(&meta, index),
    })
}

impl Vault {
    /// Every case of the office re-wrapped and re-indexed, from read snapshots.
    fn prepare_rotation(
        &self,
        old: &Unsealed,
        office: &str,
        new: &OfficeKey,
    ) -> Result<HashMap<String, Rekeyed>, VaultError> {
        let (recipient, index) = (new.recipient(), new.index_key());
        let (recipient, index) = (recipient.as_str(), &index);
        let mut out = HashMap::new();
        let mut after = String::new();
        loop {
            let batch = self
                .db
                .read(|tx| tx.cases_to_rekey(office, &after, BATCH))?;
            let Some(last) = batch.last() else { break };
            after = last.id.clone();
            for c in &batch {
                out.insert(c.id.clone(), rekey(old, c, recipient, index)?);
            }
        }
        Ok(out)
    }
}

/// Refuses, inside a write's transaction, when the office key the write used (to
/// seal to it or to compute an index under it) is no longer the office's key.
pub(in crate::vault) fn same_office_key(
    tx: &crate::store::WriteTx<'_>,
    office: &str,
    recipient: &str,
) -> Result<(), VaultError> {
    match tx.office_recipient(office)? {
        Some(r) if r == recipient => Ok(()),
        Some(_) => Err(rotated_meanwhile()),
        None => Err(VaultError::NotFound),
    }
}

/// A write sealed something to the office key while a rotation replaced it.
pub(in crate::vault) fn rotated_meanwhile() -> VaultError {
    VaultError::Conflict {
        code: "office_key_rotated",
        message:
            "the office key was rotated while this was being saved; nothing was saved, try again"
                .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::{CaseInput, CasePatch, OfficeMode, operator};
    use age::secrecy::ExposeSecret;

    /// A case edited after the rotation prepared it, before the rotation commits, is
    /// redone from what is stored: its A-number is found under the new index key.
    #[test]
    fn a_case_edited_while_the_rotation_prepared_is_redone_in_its_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let v = crate::vault::lifecycle::purge::tests::vault(dir.path());
        let op = operator::actor();
        let creds = v
            .create_office_blocking(&op, "bronx", OfficeMode::Passphrase, None)
            .unwrap();
        let pass = creds.passphrase.unwrap().expose_secret().to_string();
        v.unseal_blocking(&op, "bronx", pass.clone().into())
            .unwrap();
        let input: CaseInput = serde_json::from_value(serde_json::json!({
            "office": "bronx", "client_name": "Edited Meanwhile", "a_number": "A111111111"
        }))
        .unwrap();
        let id = v.create_case_blocking(&op, &input).unwrap();
        let old = v.keys_in_memory("bronx").unwrap();
        let new = OfficeKey::generate();
        let new_index = new.index_key();
        let prepared = v.prepare_rotation(&old, "bronx", &new).unwrap();
        let patch: CasePatch = serde_json::from_value(
            serde_json::json!({"a_number": "A222222222", "client_name": "Renamed Meanwhile"}),
        )
        .unwrap();
        v.edit_case_blocking(&op, &id, &patch, None).unwrap();
        let allowed = v
            .office_decision(&op, crate::policy::Action::ManageHolders, "bronx")
            .unwrap();
        v.commit_rotation(
            &allowed,
            "bronx",
            None,
            Pending {
                old,
                new,
                cases: prepared,
            },
            None,
        )
        .unwrap();
        let db = rusqlite::Connection::open(dir.path().join(crate::store::DB_FILE)).unwrap();
        let stored: Vec<u8> = db
            .query_row(
                "SELECT a_number_index FROM cases WHERE id = ?1",
                [&id],
                |r| r.get(0),
            )
            .unwrap();
        let want = new_index.a_number(&crate::crypto::ANumber::parse("A222222222").unwrap());
        assert_eq!(stored, want.to_vec());
        // So are the words of the name it was given meanwhile, and only those.
        let mut words: Vec<Vec<u8>> = db
            .prepare("SELECT tag FROM case_name_tokens WHERE case_id = ?1")
            .unwrap()
            .query_map([&id], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut want = new_index.name_tokens("Renamed Meanwhile");
        words.sort();
        want.sort();
        assert_eq!(words, want);

        // A seal while a rotation runs wins: the rotation commits, the office stays
        // sealed (and unseals again with its passphrase).
        let old = v.keys_in_memory("bronx").unwrap();
        let new = OfficeKey::generate();
        let prepared = v.prepare_rotation(&old, "bronx", &new).unwrap();
        v.seal_blocking(&op, "bronx").unwrap();
        let allowed = v
            .office_decision(&op, crate::policy::Action::ManageHolders, "bronx")
            .unwrap();
        v.commit_rotation(
            &allowed,
            "bronx",
            None,
            Pending {
                old,
                new,
                cases: prepared,
            },
            None,
        )
        .unwrap();
        assert!(!v.is_unsealed("bronx"), "a rotation undid a seal");
        v.unseal_blocking(&op, "bronx", pass.into()).unwrap();
        let case = v.db.read(|tx| tx.case(&id)).unwrap().unwrap();
        assert!(v.case_key(&case).is_ok(), "the rotated key opens the case");
    }
}
