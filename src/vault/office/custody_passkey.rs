//! Unseal with a passkey (issue 23): a key holder wraps their holder identity under
//! the PRF output of one of their passkeys (WebAuthn `prf`, evaluated with a salt per
//! office and holder), so that unsealing is "sign in, touch the key".
//!
//! Invariants: the PRF output is a key: it arrives with the request that uses it, is
//! held in a wiped buffer, and is never stored, logged or sent back. Setting it up
//! takes the holder's passphrase and a passkey step-up; unsealing takes a passkey
//! step-up with that very passkey. Removing the passkey removes the wrapping.
use std::sync::Arc;

use age::secrecy::SecretString;
use zeroize::Zeroizing;

use crate::crypto::{HolderKey, prf_salt};
use crate::policy::Action;
use crate::store::HolderRow;
use crate::vault::guard::target::Target;
use crate::vault::office::custody::Opened;
use crate::vault::{Actor, PasskeyChallenge, Vault, VaultError};

/// A passkey ceremony for the office key, with the salt to evaluate the PRF with.
pub struct HolderPasskeyChallenge {
    /// The WebAuthn request.
    pub challenge: PasskeyChallenge,
    /// `extensions.prf.eval.first` of the request (32 bytes).
    pub prf_salt: [u8; 32],
}

fn context(office: &str, holder: &str) -> Vec<u8> {
    format!("casevault holder prf:{office}:{holder}").into_bytes()
}

fn check_prf(prf: &[u8]) -> Result<(), VaultError> {
    if prf.len() == 32 {
        Ok(())
    } else {
        Err(VaultError::bad(
            "invalid_prf",
            "\"prf\" is the passkey's PRF result: 32 bytes, base64url",
        ))
    }
}

fn not_a_holder() -> VaultError {
    VaultError::Conflict {
        code: "not_a_holder",
        message: "you hold no key of this office yet: set up your holder key first".into(),
    }
}

fn no_passkey_key() -> VaultError {
    VaultError::Conflict {
        code: "no_passkey_key",
        message: "your holder key is not set up for a passkey: on the Office page choose \"Use my passkey for the office key\"".into(),
    }
}

impl Vault {
    /// The caller's holder row with a key of theirs.
    fn own_holder(&self, actor: &Actor, office: &str) -> Result<Option<HolderRow>, VaultError> {
        Ok(self
            .db
            .read(|tx| tx.holder_of(office, &actor.id))?
            .filter(|h| h.wrapped_identity.is_some()))
    }

    /// Starts setting up unseal by passkey: a step-up request whose PRF is evaluated
    /// with this holder's salt.
    pub async fn holder_passkey_start(
        self: &Arc<Self>,
        actor: &Actor,
        office: &str,
    ) -> Result<HolderPasskeyChallenge, VaultError> {
        self.prf_start(actor, office, Action::HoldOfficeKey).await
    }

    /// A passkey step-up for the office key: the caller's holder row (with a passkey
    /// wrapping, for an unseal), one audited decision, the request and the salt.
    async fn prf_start(
        self: &Arc<Self>,
        actor: &Actor,
        office: &str,
        action: Action,
    ) -> Result<HolderPasskeyChallenge, VaultError> {
        let (a, o) = (actor.clone(), office.to_owned());
        let holder = self
            .run(move |v| {
                let allowed = v.office_decision(&a, action, &o)?;
                let unseal = action == Action::UnsealOffice;
                let h = v.own_holder(&a, &o)?.filter(|h| !unseal || h.prf.is_some());
                match h {
                    Some(h) => {
                        v.record_now(&allowed, "ok passkey_start")?;
                        Ok(h)
                    }
                    None if unseal => {
                        v.record_now(&allowed, "no_passkey_key")?;
                        Err(no_passkey_key())
                    }
                    None => {
                        v.record_now(&allowed, "not_a_holder")?;
                        Err(not_a_holder())
                    }
                }
            })
            .await?;
        let challenge = self.passkey_reauth_start(actor).await?;
        Ok(HolderPasskeyChallenge {
            challenge,
            prf_salt: prf_salt(office, &holder.id),
        })
    }

    /// Finishes it: the passkey step-up, the holder's passphrase, and the PRF output.
    pub async fn holder_passkey_finish(
        self: &Arc<Self>,
        actor: &Actor,
        office: &str,
        challenge_id: &str,
        credential: serde_json::Value,
        prf: Zeroizing<Vec<u8>>,
        passphrase: SecretString,
    ) -> Result<(), VaultError> {
        let (actor, office, challenge_id) =
            (actor.clone(), office.to_owned(), challenge_id.to_owned());
        self.run(move |v| {
            let allowed = v.office_decision(&actor, Action::HoldOfficeKey, &office)?;
            check_prf(&prf)?;
            let Some(holder) = v.own_holder(&actor, &office)? else {
                v.record_now(&allowed, "not_a_holder")?;
                return Err(not_a_holder());
            };
            let passkey = v.passkey_reauth_blocking(&actor, &challenge_id, credential)?;
            let allowed = allowed
                .and(Target::holder(&holder.id))
                .and(Target::passkey(&passkey));
            let hk = {
                let _guard = v.unseal_lock.lock().unwrap_or_else(|p| p.into_inner());
                HolderKey::unwrap_with_passphrase(
                    holder.wrapped_identity.as_deref().unwrap_or_default(),
                    &passphrase,
                    v.settings.kdf.max_log_n,
                )
            };
            let Ok(hk) = hk else {
                v.record_now(&allowed, "wrong_secret")?;
                return Err(VaultError::WrongPassphrase);
            };
            let wrapped = hk.wrap_with_prf(&prf, &context(&office, &holder.id))?;
            v.db.write(|tx| {
                tx.set_holder_prf(&holder.id, &passkey, &wrapped)?;
                v.record(tx, &allowed, "ok passkey")
            })
        })
        .await
    }

    /// Starts an unseal by passkey (the caller's holder key set up for one).
    pub async fn unseal_passkey_start(
        self: &Arc<Self>,
        actor: &Actor,
        office: &str,
    ) -> Result<HolderPasskeyChallenge, VaultError> {
        self.prf_start(actor, office, Action::UnsealOffice).await
    }

    /// Finishes an unseal by passkey: the step-up with the holder's passkey, whose
    /// PRF output opens their holder identity, which opens the office.
    pub async fn unseal_passkey_finish(
        self: &Arc<Self>,
        actor: &Actor,
        office: &str,
        challenge_id: &str,
        credential: serde_json::Value,
        prf: Zeroizing<Vec<u8>>,
    ) -> Result<(), VaultError> {
        let (actor, office, challenge_id) =
            (actor.clone(), office.to_owned(), challenge_id.to_owned());
        self.run(move |v| {
            let allowed = v.office_decision(&actor, Action::UnsealOffice, &office)?;
            check_prf(&prf)?;
            let row = v.custody_office(&allowed, &office)?;
            let Some(holder) = v.own_holder(&actor, &office)?.filter(|h| h.prf.is_some()) else {
                v.record_now(&allowed, "no_passkey_key")?;
                return Err(no_passkey_key());
            };
            let passkey = v.passkey_reauth_blocking(&actor, &challenge_id, credential)?;
            let Some((wrapped, with)) = &holder.prf else {
                return Err(no_passkey_key());
            };
            let epoch = v.seal_epoch();
            let _guard = v.unseal_lock.lock().unwrap_or_else(|p| p.into_inner());
            let key = (passkey == *with)
                .then(|| HolderKey::unwrap_with_prf(wrapped, &prf, &context(&office, &holder.id)))
                .and_then(Result::ok)
                .and_then(|hk| {
                    hk.open_office(row.wrapped_identity.as_deref().unwrap_or_default())
                        .ok()
                })
                .filter(|k| k.recipient() == row.recipient);
            let Some(key) = key else {
                v.record_now(&allowed, "wrong_secret")?;
                return Err(VaultError::WrongPassphrase);
            };
            let opened = Opened {
                key,
                holder: Some(holder.id.clone()),
                legacy: false,
            };
            v.db.write(|tx| {
                let (_, joined) = v.after_opening(tx, &office, &opened, None)?;
                v.record(tx, &allowed, &format!("ok holder={} by=passkey", holder.id))?;
                v.record_joined(tx, &allowed, &office, &joined)
            })?;
            v.install_keys(&office, opened.key, None, epoch)
        })
        .await
    }
}
