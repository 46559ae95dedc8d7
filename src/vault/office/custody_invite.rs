//! Becoming a key holder (issue 23): an invitation, proved by a holder secret (or by
//! recovery shares just given), and the invited administrator's own key.
//!
//! Invariant: nobody becomes a holder without someone proving a holder secret in the
//! request that invites them, or having just given recovery shares.
use std::sync::Arc;

use age::secrecy::SecretString;

use crate::crypto::{self, HolderKey};
use crate::policy::{Action, Role};
use crate::store::NewHolderRow;
use crate::vault::guard::target::Target;
use crate::vault::office::custody::{Candidates, HolderKeyIssued};
use crate::vault::{Actor, StepUp, Vault, VaultError};

impl Vault {
    /// Invites an administrator of the office to hold the office key. The inviter
    /// proves a holder secret in the same request (their own holder passphrase, or
    /// the office passphrase) and a fresh second factor.
    pub async fn invite_holder(
        self: &Arc<Self>,
        actor: &Actor,
        office: &str,
        username: &str,
        proof: Option<SecretString>,
        step: StepUp,
    ) -> Result<String, VaultError> {
        let (actor, office, username) = (actor.clone(), office.to_owned(), username.to_owned());
        let actor = self.prove(actor, step).await?;
        self.run(move |v| v.invite_holder_blocking(&actor, &office, &username, proof.as_ref()))
            .await
    }

    fn invite_holder_blocking(
        &self,
        actor: &Actor,
        office: &str,
        username: &str,
        proof: Option<&SecretString>,
    ) -> Result<String, VaultError> {
        let allowed = self.office_decision(actor, Action::ManageHolders, office)?;
        let row = self.custody_office(&allowed, office)?;
        let invitee = self
            .db
            .read(|tx| tx.user_by_name(username.trim()))?
            .filter(|u| {
                !u.disabled && u.role == Role::Admin && u.office.as_deref() == Some(office)
            });
        let Some(invitee) = invitee else {
            self.record_now(&allowed, "invalid_holder")?;
            return Err(VaultError::bad(
                "invalid_holder",
                "only an administrator of this office can hold its key; check the username",
            ));
        };
        if self
            .db
            .read(|tx| tx.holder_of(office, &invitee.id))?
            .is_some()
        {
            self.record_now(&allowed, "exists")?;
            return Err(VaultError::Conflict {
                code: "already_holder",
                message: "that administrator is already a key holder (or invited)".into(),
            });
        }
        let _guard = self.unseal_lock.lock().unwrap_or_else(|p| p.into_inner());
        // The proof: a holder secret; or none while the office is unsealed by
        // recovery shares (the way back when every holder is gone).
        let opened = match proof {
            Some(proof) => match self.open_by_secret(&row, Candidates::of(actor), proof) {
                Ok(o) => Some(o),
                Err(VaultError::Conflict { .. } | VaultError::WrongPassphrase) => {
                    self.record_now(&allowed, "wrong_secret")?;
                    return Err(VaultError::WrongPassphrase);
                }
                Err(e) => return Err(e),
            },
            // Only the administrators who gave the shares, and only for as long as
            // shares wait for each other: the shares proved the secret, not the role.
            None if self.keys_in_memory(office).is_some_and(|u| {
                u.recovered.as_ref().is_some_and(|r| {
                    r.by.contains(&actor.id)
                        && self.clock.unix() - r.at <= crate::vault::office::recovery::COLLECT_SECS
                })
            }) =>
            {
                None
            }
            None => {
                self.record_now(&allowed, "no_secret")?;
                return Err(VaultError::bad(
                    "passphrase_required",
                    "inviting a key holder needs your own holder passphrase (or the office passphrase) in \"passphrase\"",
                ));
            }
        };
        let id = crate::vault::new_id();
        let now = self.now_str();
        self.db.write(|tx| {
            let (by, joined) = match (&opened, proof) {
                (Some(o), Some(p)) => self.after_opening(tx, office, o, Some(p))?,
                _ => (None, Vec::new()),
            };
            tx.insert_holder(&NewHolderRow {
                id: &id,
                office,
                user_id: Some(&invitee.id),
                kind: "passphrase",
                state: "invited",
                recipient: None,
                wrapped_identity: None,
                invited_by: Some(&actor.id),
                created_at: &now,
                threshold: None,
                share_check: None,
            })?;
            let allowed = allowed
                .clone()
                .and(Target::holder(&id))
                .and(Target::user(&invitee.id));
            let proved = match by {
                Some(h) => format!(" by={h}"),
                None => " by=recovery".to_string(),
            };
            self.record(tx, &allowed, &format!("ok invited{proved}"))?;
            self.record_joined(tx, &allowed, office, &joined)
        })?;
        Ok(id)
    }

    /// The signed-in administrator, invited, sets up their own holder key: a fresh
    /// passphrase (shown once) wraps a fresh identity, whose recipient joins the
    /// office key at once if the office is unsealed, else at its next unseal.
    pub async fn set_up_holder_key(
        self: &Arc<Self>,
        actor: &Actor,
        office: &str,
        step: StepUp,
    ) -> Result<HolderKeyIssued, VaultError> {
        let (actor, office) = (actor.clone(), office.to_owned());
        let actor = self.prove(actor, step).await?;
        self.run(move |v| v.set_up_holder_key_blocking(&actor, &office))
            .await
    }

    fn set_up_holder_key_blocking(
        &self,
        actor: &Actor,
        office: &str,
    ) -> Result<HolderKeyIssued, VaultError> {
        let allowed = self.office_decision(actor, Action::HoldOfficeKey, office)?;
        let invited = self
            .db
            .read(|tx| tx.holder_of(office, &actor.id))?
            .filter(|h| h.state == "invited");
        let Some(holder) = invited else {
            self.record_now(&allowed, "not_invited")?;
            return Err(VaultError::Conflict {
                code: "not_invited",
                message: "a key holder of this office must invite you first (Office page, Key holders), or your key is set up already".into(),
            });
        };
        let passphrase = crypto::generate_passphrase();
        let hk = HolderKey::generate();
        let wrapped = hk.wrap_with_passphrase(&passphrase, self.settings.kdf.passphrase_log_n)?;
        let keys = self.use_keys(office);
        let state = self.db.write(|tx| {
            if !tx.set_holder_key(&holder.id, &hk.recipient(), &wrapped)? {
                return Err(VaultError::Conflict {
                    code: "not_invited",
                    message: "your invitation was withdrawn, or your holder key is set up already"
                        .into(),
                });
            }
            let allowed = allowed.clone().and(Target::holder(&holder.id));
            // Joined now only with the office key of this very moment: a rotation
            // that committed meanwhile leaves the holder waiting (and joins them).
            let joined = match &keys {
                Some(u) if tx.office_recipient(office)?.as_deref() == Some(&u.recipient) => {
                    self.seal_identity_file(tx, office, &u.office)?
                }
                _ => Vec::new(),
            };
            let state = if joined.contains(&holder.id) {
                "active"
            } else {
                "waiting"
            };
            self.record(tx, &allowed, &format!("ok {state}"))?;
            // The entry above says this holder joined; others waiting joined with them.
            let others: Vec<String> = joined
                .iter()
                .filter(|j| **j != holder.id)
                .cloned()
                .collect();
            self.record_joined(tx, &allowed, office, &others)?;
            Ok(state)
        })?;
        Ok(HolderKeyIssued {
            id: holder.id,
            passphrase,
            state,
        })
    }
}
