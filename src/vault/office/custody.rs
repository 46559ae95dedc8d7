//! Office key custody (issue 23): key holders, each with their own secret.
//!
//! The office identity rests as one age file encrypted to every holder's recipient;
//! each holder's identity rests wrapped under their own passphrase (age scrypt). So
//! adding a holder needs only their public recipient and a moment when the office
//! identity is in memory, and a rotation (`rotate.rs`) needs no holder's secret.
//!
//! Invariants: nobody becomes a holder without someone proving a holder secret in the
//! request that invites them (an administrator alone never gives themselves the key);
//! a secret is tried against at most the caller's own holder row and the office
//! passphrase (two scrypt runs), except by the operator on the command line.
use std::sync::Arc;

use age::secrecy::SecretString;

use crate::crypto::{HolderKey, OfficeKey};
use crate::policy::{Action, Resource};
use crate::store::{HolderRow, NewHolderRow, OfficeRow, WriteTx};
use crate::vault::guard::decide::By;
use crate::vault::guard::target::Target;
use crate::vault::{Actor, Allowed, Vault, VaultError};

/// A key holder as the holders list shows it (no key material, no recipient).
#[derive(Debug, Clone)]
pub struct HolderView {
    /// Holder id.
    pub id: String,
    /// The account, or `None` for the office passphrase.
    pub username: Option<String>,
    /// `office` (the office passphrase) or `passphrase`.
    pub kind: String,
    /// `invited`, `waiting` or `active`.
    pub state: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub last_used_at: Option<String>,
    /// Their key also opens with one of their passkeys.
    pub passkey: bool,
}

impl From<HolderRow> for HolderView {
    fn from(h: HolderRow) -> Self {
        HolderView {
            id: h.id,
            username: h.username,
            kind: h.kind,
            state: h.state,
            created_at: h.created_at,
            last_used_at: h.last_used_at,
            passkey: h.prf.is_some(),
        }
    }
}

/// A holder key just set up: its passphrase is shown once.
pub struct HolderKeyIssued {
    /// Holder id.
    pub id: String,
    /// The holder's own passphrase (shown once, never stored).
    pub passphrase: SecretString,
    /// `active` (joined at once: the office was unsealed) or `waiting`.
    pub state: &'static str,
}

/// Whose secrets a passphrase is tried against.
#[derive(Clone, Copy)]
pub(in crate::vault) enum Candidates<'a> {
    /// The account's own holder key, then the office passphrase.
    Own(&'a str),
    /// Every holder (the operator on the command line, who names no account).
    Any,
}

impl<'a> Candidates<'a> {
    /// The caller's own: the operator (command line) names no account, so any
    /// holder's passphrase; a signed-in user, their own and the office passphrase.
    pub(in crate::vault) fn of(actor: &'a Actor) -> Self {
        match actor.who {
            crate::vault::Who::Operator => Candidates::Any,
            _ => Candidates::Own(&actor.id),
        }
    }
}

/// The office identity, opened with a secret.
pub(in crate::vault) struct Opened {
    pub(in crate::vault) key: OfficeKey,
    /// The holder whose secret opened it (`None`: office-held, or the scrypt-wrapped
    /// identity of an office from before holders).
    pub(in crate::vault) holder: Option<String>,
    /// The secret was the passphrase of an office from before holders: the caller
    /// makes it the office's first holder.
    pub(in crate::vault) legacy: bool,
}

impl Vault {
    /// Opens an office's identity with a secret: the office-held identity, a holder's
    /// passphrase, or an old office's passphrase. Call under `unseal_lock` (scrypt
    /// holds hundreds of MiB while it runs).
    pub(in crate::vault) fn open_by_secret(
        &self,
        row: &OfficeRow,
        who: Candidates<'_>,
        secret: &SecretString,
    ) -> Result<Opened, VaultError> {
        // Wrong holder secrets are counted per account like failed sign-ins (each
        // costs scrypt under the one unseal lock): guessing slows, then waits.
        let Candidates::Own(user) = who else {
            return self.open_by_secret_now(row, who, secret);
        };
        let attempt = self
            .throttle
            .reserve(&[format!("k:{user}")], self.clock.unix())
            .map_err(VaultError::Throttled)?;
        let out = self.open_by_secret_now(row, who, secret);
        match &out {
            Err(VaultError::WrongPassphrase) => attempt.failed(),
            _ => attempt.passed(),
        }
        out
    }

    fn open_by_secret_now(
        &self,
        row: &OfficeRow,
        who: Candidates<'_>,
        secret: &SecretString,
    ) -> Result<Opened, VaultError> {
        let max = self.settings.kdf.max_log_n;
        let Some(file) = &row.wrapped_identity else {
            let key = OfficeKey::parse(secret)
                .ok()
                .filter(|k| k.recipient() == row.recipient)
                .ok_or(VaultError::WrongPassphrase)?;
            return Ok(Opened {
                key,
                holder: None,
                legacy: false,
            });
        };
        if !row.by_holders {
            let key = OfficeKey::unwrap_with_passphrase(file, secret, max)
                .map_err(|_| VaultError::WrongPassphrase)?;
            return Ok(Opened {
                key,
                holder: None,
                legacy: true,
            });
        }
        let mut holders = self.db.read(|tx| tx.holders(&row.slug))?;
        // Recovery shares are not a passphrase (see `recovery.rs`).
        holders.retain(|h| h.kind != "recovery");
        if let Candidates::Own(user) = who {
            holders.retain(|h| h.user_id.is_none() || h.user_id.as_deref() == Some(user));
            // The caller's own key first: it is the one they most likely typed.
            holders.sort_by_key(|h| h.user_id.is_none());
        }
        let mut waiting = false;
        for h in holders {
            let Some(wrapped) = &h.wrapped_identity else {
                continue;
            };
            let Ok(hk) = HolderKey::unwrap_with_passphrase(wrapped, secret, max) else {
                continue;
            };
            match hk.open_office(file) {
                Ok(key) if key.recipient() == row.recipient => {
                    return Ok(Opened {
                        key,
                        holder: Some(h.id),
                        legacy: false,
                    });
                }
                _ => waiting = true,
            }
        }
        if waiting {
            return Err(VaultError::Conflict {
                code: "holder_key_waiting",
                message: "your holder key is set up but joins the office key only when the office is next unsealed by another holder".into(),
            });
        }
        Err(VaultError::WrongPassphrase)
    }

    /// After a secret opened the office: an old office's passphrase becomes its first
    /// holder ("office passphrase"), the use is recorded, and holders waiting for the
    /// office key join it. Returns the holder id and the holders that joined.
    pub(in crate::vault) fn after_opening(
        &self,
        tx: &WriteTx<'_>,
        office: &str,
        opened: &Opened,
        secret: Option<&SecretString>,
    ) -> Result<(Option<String>, Vec<String>), VaultError> {
        let now = self.now_str();
        let holder = if opened.legacy {
            let secret = secret.ok_or_else(|| {
                VaultError::Internal("an old office opened without its passphrase".into())
            })?;
            let hk = HolderKey::generate();
            let wrapped = hk.wrap_with_passphrase(secret, self.settings.kdf.passphrase_log_n)?;
            let id = crate::vault::new_id();
            tx.insert_holder(&NewHolderRow {
                id: &id,
                office,
                user_id: None,
                kind: "office",
                state: "waiting",
                recipient: Some(&hk.recipient()),
                wrapped_identity: Some(&wrapped),
                invited_by: None,
                created_at: &now,
                threshold: None,
                share_check: None,
            })?;
            Some(id)
        } else {
            opened.holder.clone()
        };
        let Some(h) = holder else {
            return Ok((None, Vec::new()));
        };
        tx.touch_holder(&h, &now)?;
        let waiting = tx.holders(office)?.iter().any(|r| r.state == "waiting");
        let joined = if waiting {
            self.seal_identity_file(tx, office, &opened.key)?
        } else {
            Vec::new()
        };
        Ok((Some(h), joined))
    }

    /// Encrypts the office identity to every holder with a key and marks the waiting
    /// ones active; returns those.
    pub(in crate::vault) fn seal_identity_file(
        &self,
        tx: &WriteTx<'_>,
        office: &str,
        key: &OfficeKey,
    ) -> Result<Vec<String>, VaultError> {
        let recipients: Vec<String> = tx
            .holders(office)?
            .into_iter()
            .filter_map(|h| h.recipient)
            .collect();
        if recipients.is_empty() {
            return Err(last_way_in());
        }
        let file = key.seal_to_holders(&recipients)?;
        tx.set_office_identity(office, &key.recipient(), &file)?;
        Ok(tx.activate_waiting_holders(office)?)
    }

    /// Audits the holders that joined the office key.
    pub(in crate::vault) fn record_joined(
        &self,
        tx: &WriteTx<'_>,
        a: &Allowed,
        office: &str,
        joined: &[String],
    ) -> Result<(), VaultError> {
        for j in joined {
            let target = Target::stored_office(office).and(Target::holder(j));
            let by = By {
                id: &a.actor,
                role: a.role,
            };
            self.write_entry(tx, by, "holder_joined", &target, "allow", "ok")?;
        }
        Ok(())
    }

    /// The holders of an office (its administrators; the operator).
    pub async fn list_holders(
        self: &Arc<Self>,
        actor: &Actor,
        office: &str,
    ) -> Result<Vec<HolderView>, VaultError> {
        let (actor, office) = (actor.clone(), office.to_owned());
        self.run(move |v| {
            let allowed = v.office_decision(&actor, Action::ListHolders, &office)?;
            let rows = v.db.read(|tx| tx.holders(&office))?;
            v.record_now(&allowed, "ok")?;
            Ok(rows.into_iter().map(HolderView::from).collect())
        })
        .await
    }

    /// One decision on an office from a client's slug.
    pub(in crate::vault) fn office_decision(
        &self,
        actor: &Actor,
        action: Action,
        office: &str,
    ) -> Result<Allowed, VaultError> {
        let target = self.office_target(office)?;
        self.authorize(actor, action, &Resource::Office(office), target)
    }

    /// The office row for a custody change: it exists and keeps its key by
    /// passphrase (an office-held office keeps its identity itself).
    pub(in crate::vault) fn custody_office(
        &self,
        allowed: &Allowed,
        office: &str,
    ) -> Result<OfficeRow, VaultError> {
        let Some(row) = self.db.read(|tx| tx.office(office))? else {
            self.record_now(allowed, "not_found")?;
            return Err(VaultError::NotFound);
        };
        if row.wrapped_identity.is_none() {
            self.record_now(allowed, "office_held")?;
            return Err(office_held());
        }
        Ok(row)
    }
}

pub(in crate::vault) fn last_way_in() -> VaultError {
    VaultError::Conflict {
        code: "last_holder",
        message: "that would leave nobody able to unseal the office: invite another key holder (or make recovery shares) first".into(),
    }
}

fn office_held() -> VaultError {
    VaultError::Conflict {
        code: "office_held",
        message: "this office keeps its identity itself (office-held mode): it has no key holders"
            .into(),
    }
}
