//! Recovery, k of n (issue 23): the way back when every key holder is gone.
//!
//! A recovery identity joins the office identity file like a holder; it rests wrapped
//! under a random recovery secret, which exists nowhere but split into n shares that
//! are shown once. Unsealing by shares collects them from different signed-in
//! administrators (or the command line) in memory only; the k-th rebuilds the secret,
//! opens the recovery identity and with it the office.
//!
//! Invariants: no share and no recovery secret is stored or logged (audit entries
//! carry counts only); collected shares live in wiped buffers, expire after
//! [`COLLECT_SECS`] and go with any seal of the office; making shares again replaces
//! the old set and rotates the office key, so that old shares open nothing new.
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use age::secrecy::SecretString;

use crate::crypto::{HolderKey, MAX_SHARES, RecoverySecret, Share, ShareError, set_name};
use crate::policy::Action;
use crate::store::NewHolderRow;
use crate::vault::guard::target::Target;
use crate::vault::office::custody::Candidates;
use crate::vault::{Actor, StepUp, Vault, VaultError};

/// How long shares wait for the rest, in seconds.
pub const COLLECT_SECS: i64 = 15 * 60;

/// An unseal by shares under way.
pub(in crate::vault) struct Collecting {
    set: String,
    threshold: u8,
    started: i64,
    shares: BTreeMap<u8, Share>,
    by: HashSet<String>,
}

/// Where an unseal by shares stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareProgress {
    /// More shares are needed.
    Waiting {
        /// Shares given so far.
        have: u8,
        /// Shares needed.
        need: u8,
    },
    /// The office is unsealed.
    Unsealed,
}

fn context(office: &str, id: &str) -> Vec<u8> {
    format!("casevault recovery identity:{office}:{id}").into_bytes()
}

fn invalid_recovery() -> VaultError {
    VaultError::bad(
        "invalid_recovery",
        format!(
            "give \"threshold\" (at least 2) and \"shares\" (at least the threshold, at most {MAX_SHARES})"
        ),
    )
}

impl Vault {
    /// Makes recovery shares: a holder proves their secret (fresh second factor,
    /// office unsealed). Returns the share lines, shown once.
    pub async fn make_recovery(
        self: &Arc<Self>,
        actor: &Actor,
        office: &str,
        threshold: u8,
        shares: u8,
        proof: SecretString,
        step: StepUp,
    ) -> Result<Vec<zeroize::Zeroizing<String>>, VaultError> {
        let (actor, office) = (actor.clone(), office.to_owned());
        let actor = self.prove(actor, step).await?;
        self.run(move |v| v.make_recovery_blocking(&actor, &office, threshold, shares, &proof))
            .await
    }

    fn make_recovery_blocking(
        &self,
        actor: &Actor,
        office: &str,
        threshold: u8,
        n: u8,
        proof: &SecretString,
    ) -> Result<Vec<zeroize::Zeroizing<String>>, VaultError> {
        // One change of recovery shares at a time: two at once would each replace
        // the other's set.
        let _custody = self.custody_lock.lock().unwrap_or_else(|p| p.into_inner());
        let allowed = self
            .office_decision(actor, Action::ManageHolders, office)?
            .and(Target::word(crate::vault::guard::target::Word::Recovery));
        if !(2..=n).contains(&threshold) || n > MAX_SHARES {
            self.record_now(&allowed, "invalid")?;
            return Err(invalid_recovery());
        }
        let row = self.custody_office(&allowed, office)?;
        if self.keys_in_memory(office).is_none() {
            self.record_now(&allowed, "sealed")?;
            return Err(VaultError::OfficeSealed(office.to_string()));
        }
        let opened = {
            let _guard = self.unseal_lock.lock().unwrap_or_else(|p| p.into_inner());
            match self.open_by_secret(&row, Candidates::of(actor), proof) {
                Ok(o) => o,
                Err(VaultError::WrongPassphrase | VaultError::Conflict { .. }) => {
                    self.record_now(&allowed, "wrong_secret")?;
                    return Err(VaultError::WrongPassphrase);
                }
                Err(e) => return Err(e),
            }
        };
        if opened.legacy {
            // Turn the old office passphrase into the first holder before anything.
            self.db.write(|tx| {
                self.after_opening(tx, office, &opened, Some(proof))
                    .map(|_| ())
            })?;
        }
        // The new set, made before anything is stored.
        let id = crate::vault::new_id();
        let secret = RecoverySecret::generate();
        let identity = HolderKey::generate();
        let wrapped = secret.wrap(&identity, &context(office, &id))?;
        let lines = secret.split(threshold, n, &set_name(&id))?;
        let mut check = Vec::with_capacity(lines.len() * 32);
        for l in &lines {
            let s = Share::parse(l)
                .map_err(|_| VaultError::Internal("a share we made does not read".into()))?;
            check.extend_from_slice(&s.commitment());
        }
        let now = self.now_str();
        let recipient = identity.recipient();
        let with_id = allowed.clone().and(Target::holder(&id));
        // Stores the new set and its audit entry (in the caller's transaction).
        let store = |tx: &crate::store::WriteTx<'_>| -> Result<(), VaultError> {
            tx.insert_holder(&NewHolderRow {
                id: &id,
                office,
                user_id: None,
                kind: "recovery",
                state: "waiting",
                recipient: Some(&recipient),
                wrapped_identity: Some(&wrapped),
                invited_by: Some(&actor.id),
                created_at: &now,
                threshold: Some(threshold),
                share_check: Some(&check),
            })?;
            if let Some(h) = &opened.holder {
                tx.touch_holder(h, &now)?;
            }
            self.record(
                tx,
                &with_id,
                &format!("ok threshold={threshold} shares={n}"),
            )
        };
        // An earlier set goes, and the office key rotates with it, in the same
        // transaction that stores the new set: its shares (and any copy of the
        // identity file they open) lead to nothing made from now on, and a seal or a
        // failure part way leaves either the old set or the new one, never neither.
        let old: Vec<String> = self
            .db
            .read(|tx| tx.holders(office))?
            .into_iter()
            .filter(|h| h.kind == "recovery")
            .map(|h| h.id)
            .collect();
        if let Some((last, earlier)) = old.split_last() {
            for id in earlier {
                let replaced = allowed.clone().and(Target::holder(id));
                self.rotate_blocking(&replaced, office, Some(id))?;
            }
            let replaced = allowed.clone().and(Target::holder(last));
            self.rotate_with(&replaced, office, Some(last), Some(&store))?;
            return Ok(lines);
        }
        let keys = self
            .use_keys(office)
            .ok_or_else(|| VaultError::OfficeSealed(office.to_string()))?;
        self.db.write(|tx| {
            crate::vault::office::rotate::same_office_key(tx, office, &keys.recipient)?;
            store(tx)?;
            let joined = self.seal_identity_file(tx, office, &keys.office)?;
            let others: Vec<String> = joined.into_iter().filter(|j| *j != id).collect();
            self.record_joined(tx, &with_id, office, &others)
        })?;
        Ok(lines)
    }

    /// One recovery share towards unsealing the office (fresh second factor). Each
    /// administrator gives one share; the k-th unseals.
    pub async fn unseal_by_share(
        self: &Arc<Self>,
        actor: &Actor,
        office: &str,
        share: SecretString,
        step: StepUp,
    ) -> Result<ShareProgress, VaultError> {
        let (actor, office) = (actor.clone(), office.to_owned());
        let actor = self.prove(actor, step).await?;
        self.run(move |v| v.unseal_by_share_blocking(&actor, &office, &share))
            .await
    }

    fn unseal_by_share_blocking(
        &self,
        actor: &Actor,
        office: &str,
        line: &SecretString,
    ) -> Result<ShareProgress, VaultError> {
        let allowed = self.office_decision(actor, Action::UnsealOffice, office)?;
        let share = match Share::parse(crate::vault::expose(line)) {
            Ok(s) => s,
            Err(e) => {
                self.record_now(&allowed, "invalid_share")?;
                return Err(VaultError::bad(
                    "invalid_share",
                    match e {
                        ShareError::Checksum => {
                            "that share has a typo: its checksum does not match. Compare it letter by letter with the paper"
                        }
                        ShareError::Malformed => {
                            "that is not a recovery share: it looks like 'abcd-1of3-' followed by groups of five letters and digits"
                        }
                    },
                ));
            }
        };
        let row = self.custody_office(&allowed, office)?;
        let recovery = self
            .db
            .read(|tx| tx.holders(office))?
            .into_iter()
            .find(|h| h.kind == "recovery");
        let Some(recovery) = recovery.filter(|r| set_name(&r.id) == share.set) else {
            self.record_now(&allowed, "old_share")?;
            return Err(VaultError::bad(
                "invalid_share",
                "that share is not of this office's current recovery set (shares made again replace the old ones)",
            ));
        };
        let threshold = recovery.threshold.unwrap_or(MAX_SHARES);
        // A share with a fitting checksum that the vault never printed (made up by
        // someone who read the set's name) is refused before it counts.
        let printed = recovery.share_check.as_deref().and_then(|c| {
            let at = usize::from(share.number).checked_sub(1)? * 32;
            c.get(at..at + 32)
        });
        if printed != Some(&share.commitment()[..]) {
            self.record_now(&allowed, "unknown_share")?;
            return Err(VaultError::bad(
                "invalid_share",
                "that share is not one of the shares made for this office: check it against the paper",
            ));
        }
        if self.is_unsealed(office) {
            self.record_now(&allowed, "unsealed")?;
            return Ok(ShareProgress::Unsealed);
        }
        let now = self.clock.unix();
        let complete = {
            let mut all = self.shares.lock().unwrap_or_else(|p| p.into_inner());
            let fresh = || Collecting {
                set: share.set.clone(),
                threshold,
                started: now,
                shares: BTreeMap::new(),
                by: HashSet::new(),
            };
            let c = all.entry(office.to_string()).or_insert_with(fresh);
            if now - c.started > COLLECT_SECS || c.set != share.set {
                *c = fresh();
            }
            if c.by.contains(&actor.id) || c.shares.contains_key(&share.number) {
                let (have, need) = (c.shares.len(), c.threshold);
                drop(all);
                self.record_now(&allowed, "share_repeated")?;
                return Err(VaultError::Conflict {
                    code: "share_already_given",
                    message: format!(
                        "that share (or a share from you) is in already: {have} of {need}. Each share comes from a different administrator"
                    ),
                });
            }
            c.by.insert(actor.id.clone());
            c.shares.insert(share.number, share);
            if c.shares.len() < usize::from(c.threshold) {
                let have = u8::try_from(c.shares.len()).unwrap_or(u8::MAX);
                let need = c.threshold;
                drop(all);
                self.record_now(&allowed, &format!("share_accepted have={have} need={need}"))?;
                return Ok(ShareProgress::Waiting { have, need });
            }
            all.remove(office)
        };
        let Some(c) = complete else {
            return Err(VaultError::Internal("the collected shares vanished".into()));
        };
        let chosen: Vec<&Share> = c.shares.values().collect();
        let epoch = self.seal_epoch();
        let _guard = self.unseal_lock.lock().unwrap_or_else(|p| p.into_inner());
        let key = RecoverySecret::combine(&chosen)
            .and_then(|s| {
                s.open(
                    recovery.wrapped_identity.as_deref().unwrap_or_default(),
                    &context(office, &recovery.id),
                )
            })
            .and_then(|id| id.open_office(row.wrapped_identity.as_deref().unwrap_or_default()));
        let key = match key {
            Ok(k) if k.recipient() == row.recipient => k,
            _ => {
                self.record_now(&allowed, "wrong_secret")?;
                return Err(VaultError::WrongPassphrase);
            }
        };
        let now = self.now_str();
        self.db.write(|tx| {
            tx.touch_holder(&recovery.id, &now)?;
            self.record(
                tx,
                &allowed,
                &format!("ok holder={} shares={}", recovery.id, chosen.len()),
            )
        })?;
        let recovered = crate::vault::office::keyring::Recovered {
            by: c.by.iter().cloned().collect(),
            at: self.clock.unix(),
        };
        self.install_keys(office, key, Some(recovered), epoch)?;
        Ok(ShareProgress::Unsealed)
    }

    /// Forgets the shares collected for `office` (every office: `None`).
    pub(in crate::vault) fn cancel_shares(&self, office: Option<&str>) {
        let mut all = self.shares.lock().unwrap_or_else(|p| p.into_inner());
        match office {
            Some(o) => {
                all.remove(o);
            }
            None => all.clear(),
        }
    }
}
