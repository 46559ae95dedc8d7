//! Passkeys: adding one to one's own account, listing and removing them, signing in
//! with one (no username, no password), and proving one again for step-up.
//!
//! Invariants: adding or removing a passkey needs a fresh second factor; a passkey
//! signs in only the account it was registered to, only while that account is enabled,
//! and only with user verification, so a passkey sign-in stands for both factors and
//! makes the session fresh; a step-up passkey must be one of the signed-in account's
//! own; every failure answers the same generic refusal and counts as a failed sign-in
//! (per account and per address); the audit log holds ids only (account and passkey),
//! never a passkey's name or credential data.
use std::sync::Arc;

use serde::Serialize;
use webauthn_rs::prelude::{RegisterPublicKeyCredential, Uuid};

use crate::auth::passkey::{
    Ceremony, PasskeyError, creation_options, parse_credential, store_credential,
};
use crate::store::{PasskeyRow, UserRow};
use crate::vault::guard::target::Target;
use crate::vault::{Actor, StepUp, Vault, VaultError, new_id, parse_id};

/// A passkey as its owner sees it (never its credential).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PasskeyView {
    /// Passkey id.
    pub id: String,
    /// The name its owner gave it.
    pub name: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339 of its last sign-in or step-up.
    pub last_used_at: Option<String>,
}

/// A ceremony started: its id and the options for the browser (the JSON form of
/// `PublicKeyCredentialCreationOptions` or `…RequestOptions`).
#[derive(Debug, Clone, Serialize)]
pub struct PasskeyChallenge {
    /// Send it back with the answer.
    pub challenge_id: String,
    /// For `PublicKeyCredential.parseCreationOptionsFromJSON` /
    /// `parseRequestOptionsFromJSON`.
    #[serde(rename = "publicKey")]
    pub public_key: serde_json::Value,
}

/// The longest passkey name, in characters.
pub const MAX_PASSKEY_NAME: usize = 64;

pub(super) fn refused() -> VaultError {
    VaultError::InvalidCredentials
}

impl From<PasskeyError> for VaultError {
    fn from(e: PasskeyError) -> Self {
        match e {
            // A server with no public URL (or an IP address as one): the client asked
            // for something this server does not offer, never a 500.
            PasskeyError::Unavailable(_) => VaultError::bad(
                "passkeys_unavailable",
                "passkeys are not available on this server: it needs a public URL with a name (ask the administrator to set [server] public_url)",
            ),
            PasskeyError::Busy => VaultError::Busy(60),
            PasskeyError::Refused => VaultError::InvalidCredentials,
        }
    }
}

impl Vault {
    /// Sets the public URL passkeys are bound to (`https://HOST[:PORT]`).
    pub fn configure_passkeys(&self, public_url: &str) -> Result<(), VaultError> {
        Ok(self.passkeys.configure(public_url)?)
    }

    /// The public URL people's browsers use (`https://HOST[:PORT]`), once the server
    /// knows it (see [`Vault::configure_passkeys`]).
    pub fn public_url(&self) -> Option<String> {
        self.passkeys.public_url()
    }

    /// Whether `u`'s role must sign in with a passkey and `u` has none yet (then its
    /// sessions can only add one).
    pub(in crate::vault) fn passkey_missing(&self, u: &UserRow) -> Result<bool, VaultError> {
        if !self.settings.passkey_required(u.role) {
            return Ok(false);
        }
        Ok(self.db.read(|tx| tx.passkeys_of(&u.id))?.is_empty())
    }

    /// Whether passkeys can be used (a public URL with a domain name is set).
    pub fn passkeys_available(&self) -> bool {
        self.passkeys.rp().is_ok()
    }

    /// The account's user handle for WebAuthn: its id, a UUID.
    fn handle(actor_id: &str) -> Result<Uuid, VaultError> {
        Uuid::parse_str(actor_id).map_err(|_| VaultError::Forbidden)
    }

    /// Starts adding a passkey to the actor's own account (a fresh second factor).
    pub async fn passkey_register_start(
        self: &Arc<Self>,
        actor: &Actor,
        step: StepUp,
    ) -> Result<PasskeyChallenge, VaultError> {
        let actor = self.prove(actor.clone(), step).await?;
        self.run(move |v| {
            if actor.role().is_none() {
                return Err(VaultError::Forbidden);
            }
            if !actor.fresh {
                v.audit_now(
                    &actor,
                    "passkey_add",
                    &Target::user(&actor.id),
                    "deny",
                    "step_up_required",
                )?;
                return Err(VaultError::StepUpRequired);
            }
            let existing = v.db.read(|tx| tx.passkeys_of(&actor.id))?;
            let exclude: Vec<_> = existing
                .iter()
                .filter_map(|p| parse_credential(&p.credential).ok())
                .map(|p| p.cred_id().clone())
                .collect();
            let (ccr, state) = v
                .passkeys
                .rp()?
                .start_passkey_registration(
                    Self::handle(&actor.id)?,
                    &actor.username,
                    &actor.username,
                    Some(exclude),
                )
                .map_err(|_| VaultError::Internal("passkey registration options".into()))?;
            let challenge_id = v.passkeys.hold(
                Ceremony::Register {
                    user: actor.id.clone(),
                    state,
                },
                &actor.id,
                v.clock.unix(),
            )?;
            Ok(PasskeyChallenge {
                challenge_id,
                public_key: creation_options(ccr),
            })
        })
        .await
    }

    /// Finishes adding a passkey: answers its id.
    pub async fn passkey_register_finish(
        self: &Arc<Self>,
        actor: &Actor,
        challenge_id: &str,
        name: &str,
        credential: serde_json::Value,
    ) -> Result<String, VaultError> {
        let (actor, challenge_id, name) = (
            actor.clone(),
            challenge_id.to_owned(),
            name.trim().to_owned(),
        );
        self.run(move |v| {
            let target = Target::user(&actor.id);
            if name.is_empty() || name.chars().count() > MAX_PASSKEY_NAME {
                return Err(VaultError::bad(
                    "invalid_field",
                    format!("name the passkey (1 to {MAX_PASSKEY_NAME} characters, e.g. \"work laptop\")"),
                ));
            }
            crate::vault::case::casework::check_line("name", &name, MAX_PASSKEY_NAME, true)?;
            let now = v.clock.unix();
            let refuse = |outcome: &str| -> Result<String, VaultError> {
                v.audit_now(&actor, "passkey_add", &target, "deny", outcome)?;
                Err(VaultError::bad(
                    "passkey_refused",
                    "the passkey was not added (the request expired or did not verify); start again",
                ))
            };
            let state = match v.passkeys.take(&challenge_id, now) {
                Ok(Ceremony::Register { user, state }) if user == actor.id => state,
                _ => return refuse("unknown_challenge"),
            };
            let Ok(reg) = serde_json::from_value::<RegisterPublicKeyCredential>(credential) else {
                return refuse("invalid_credential");
            };
            let Ok(passkey) = v.passkeys.rp()?.finish_passkey_registration(&reg, &state) else {
                return refuse("invalid_credential");
            };
            let id = new_id();
            let row = PasskeyRow {
                id: id.clone(),
                user_id: actor.id.clone(),
                cred_id: passkey.cred_id().to_vec(),
                name,
                credential: store_credential(&passkey),
                created_at: v.now_str(),
                last_used_at: None,
            };
            let stored = v.db.write(|tx| -> Result<(), VaultError> {
                tx.insert_passkey(&row)?;
                v.write_entry(
                    tx,
                    (&actor).into(),
                    "passkey_add",
                    &target.clone().and(Target::passkey(&id)),
                    "allow",
                    "ok",
                )
            });
            match stored {
                Ok(()) => Ok(id),
                // The same credential registered before (to this or another account).
                Err(VaultError::Conflict { .. }) => refuse("duplicate"),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// The actor's own passkeys.
    pub async fn list_passkeys(
        self: &Arc<Self>,
        actor: &Actor,
    ) -> Result<Vec<PasskeyView>, VaultError> {
        let actor = actor.clone();
        self.run(move |v| {
            let rows = v.db.read(|tx| tx.passkeys_of(&actor.id))?;
            Ok(rows
                .into_iter()
                .map(|p| PasskeyView {
                    id: p.id,
                    name: p.name,
                    created_at: p.created_at,
                    last_used_at: p.last_used_at,
                })
                .collect())
        })
        .await
    }

    /// Removes one of the actor's own passkeys (a fresh second factor).
    pub async fn delete_passkey(
        self: &Arc<Self>,
        actor: &Actor,
        passkey_id: &str,
        step: StepUp,
    ) -> Result<(), VaultError> {
        let actor = self.prove(actor.clone(), step).await?;
        let passkey_id = passkey_id.to_owned();
        self.run(move |v| {
            let target = Target::user(&actor.id).and(Target::passkey(&passkey_id));
            if !actor.fresh {
                v.audit_now(
                    &actor,
                    "passkey_remove",
                    &target,
                    "deny",
                    "step_up_required",
                )?;
                return Err(VaultError::StepUpRequired);
            }
            let Some(id) = parse_id(&passkey_id) else {
                v.audit_now(&actor, "passkey_remove", &target, "deny", "not_found")?;
                return Err(VaultError::NotFound);
            };
            let removed = v.db.write(|tx| -> Result<bool, VaultError> {
                let removed = tx.delete_passkey(&actor.id, &id)?;
                if removed {
                    v.write_entry(
                        tx,
                        (&actor).into(),
                        "passkey_remove",
                        &target,
                        "allow",
                        "ok",
                    )?;
                }
                Ok(removed)
            })?;
            if !removed {
                v.audit_now(&actor, "passkey_remove", &target, "deny", "not_found")?;
                return Err(VaultError::NotFound);
            }
            Ok(())
        })
        .await
    }
}
