//! Using a passkey: signing in with one (no username, no password) and proving one
//! again for step-up.
//!
//! Invariant: every failure answers the one generic refusal and counts as a failed
//! sign-in (per account and address) or a wrong step-up code (per session); a step-up
//! passkey must be one of the signed-in account's own.
use super::passkeys::{PasskeyChallenge, refused};
use super::signin::{LoginOutcome, address_key};
use crate::auth::passkey::{Ceremony, parse_credential, request_options, store_credential};
use crate::store::{PasskeyRow, UserRow};
use crate::vault::guard::target::Target;
use crate::vault::{Actor, Vault, VaultError};
use std::sync::Arc;
use webauthn_rs::prelude::{Passkey, PublicKeyCredential};

impl Vault {
    /// Starts a sign-in with a passkey: no username, any discoverable credential.
    /// `client` is the caller's address: each address has only a few challenges
    /// waiting at once.
    pub async fn passkey_login_start(
        self: &Arc<Self>,
        client: &str,
    ) -> Result<PasskeyChallenge, VaultError> {
        let owner = address_key(client);
        self.run(move |v| {
            let (rcr, state) = v
                .passkeys
                .rp()?
                .start_discoverable_authentication()
                .map_err(|_| VaultError::Internal("passkey request options".into()))?;
            let challenge_id = v
                .passkeys
                .hold(Ceremony::Login(state), &owner, v.clock.unix())?;
            Ok(PasskeyChallenge {
                challenge_id,
                public_key: request_options(rcr),
            })
        })
        .await
    }

    /// Finishes a sign-in with a passkey: the same answer as a full sign-in, the
    /// session fresh for step-up. Every failure is the one generic 401.
    pub async fn passkey_login_finish(
        self: &Arc<Self>,
        challenge_id: &str,
        credential: serde_json::Value,
        client: &str,
    ) -> Result<LoginOutcome, VaultError> {
        let (challenge_id, client) = (challenge_id.to_owned(), client.to_owned());
        self.run(move |v| v.passkey_login_blocking(&challenge_id, credential, &client))
            .await
    }

    fn passkey_login_blocking(
        &self,
        challenge_id: &str,
        credential: serde_json::Value,
        client: &str,
    ) -> Result<LoginOutcome, VaultError> {
        let now = self.clock.unix();
        let cred: Option<PublicKeyCredential> = serde_json::from_value(credential).ok();
        // Whose passkey it says it is (the user handle), before anything is checked.
        let user: Option<UserRow> = match cred.as_ref().and_then(|c| {
            self.passkeys
                .rp()
                .ok()?
                .identify_discoverable_authentication(c)
                .ok()
        }) {
            Some((uuid, _)) => self.db.read(|tx| tx.user(&uuid.hyphenated().to_string()))?,
            None => None,
        };
        let mut keys = vec![address_key(client)];
        if let Some(u) = &user {
            keys.insert(0, format!("u:{}", u.username));
        }
        let attempt = match self.throttle.reserve(&keys, now) {
            Ok(a) => a,
            Err(secs) => {
                self.audit_refusal_blocking(client, crate::vault::Refusal::SignInThrottled)?;
                // Say which lock it is: this account's, or the network's.
                let account_waits = keys
                    .iter()
                    .any(|k| !k.starts_with("a:") && self.throttle.holds(k, now));
                return Err(if account_waits {
                    VaultError::Throttled(secs)
                } else {
                    VaultError::NetworkThrottled(secs)
                });
            }
        };
        let verified = (|| -> Option<(UserRow, PasskeyRow, Passkey, webauthn_rs::prelude::AuthenticationResult)> {
            let ceremony = self.passkeys.take(challenge_id, now).ok()?;
            let Ceremony::Login(state) = ceremony else {
                return None;
            };
            let (cred, user) = (cred.as_ref()?, user.clone()?);
            if user.disabled {
                return None;
            }
            let row = self
                .db
                .read(|tx| tx.passkey_by_cred(cred.get_credential_id()))
                .ok()??;
            if row.user_id != user.id {
                return None;
            }
            let passkey = parse_credential(&row.credential).ok()?;
            let result = self
                .passkeys
                .rp()
                .ok()?
                .finish_discoverable_authentication_v2(cred, state, &passkey)
                .ok()?;
            Some((user, row, passkey, result))
        })();
        let Some((user, row, mut passkey, result)) = verified else {
            attempt.failed();
            let target = match &user {
                Some(u) => Target::user(&u.id),
                None => Target::no_user(),
            };
            let actor = match &user {
                Some(u) => Actor::internal(&u.id, crate::vault::Who::User(u.role)),
                None => Actor::internal("-", crate::vault::Who::Anonymous),
            };
            self.audit_now(&actor, "login", &target, "deny", "passkey_refused")?;
            return Err(refused());
        };
        passkey.update_credential(&result);
        self.db
            .write(|tx| tx.use_passkey(&row.id, &store_credential(&passkey), &self.now_str()))?;
        let out = self.open_session(&user, now, true, "login", &format!("passkey:{}", row.id));
        attempt.signed_in(&format!("u:{}", user.username));
        out
    }

    /// Starts a step-up with one of the signed-in actor's own passkeys.
    pub async fn passkey_reauth_start(
        self: &Arc<Self>,
        actor: &Actor,
    ) -> Result<PasskeyChallenge, VaultError> {
        let actor = actor.clone();
        self.run(move |v| {
            if actor.session.is_none() {
                return Err(VaultError::Forbidden);
            }
            let rows = v.db.read(|tx| tx.passkeys_of(&actor.id))?;
            let keys: Vec<Passkey> = rows
                .iter()
                .filter_map(|p| parse_credential(&p.credential).ok())
                .collect();
            if keys.is_empty() {
                return Err(VaultError::bad(
                    "no_passkey",
                    "this account has no passkey: add one on your account page, or use the code from your authenticator app",
                ));
            }
            let (rcr, state) = v
                .passkeys
                .rp()?
                .start_passkey_authentication(&keys)
                .map_err(|_| VaultError::Internal("passkey request options".into()))?;
            let challenge_id = v.passkeys.hold(
                Ceremony::Reauth {
                    user: actor.id.clone(),
                    state,
                },
                &actor.id,
                v.clock.unix(),
            )?;
            Ok(PasskeyChallenge {
                challenge_id,
                public_key: request_options(rcr),
            })
        })
        .await
    }

    /// Finishes a step-up with a passkey: the session is fresh for the step-up window.
    pub async fn passkey_reauth_finish(
        self: &Arc<Self>,
        actor: &Actor,
        challenge_id: &str,
        credential: serde_json::Value,
    ) -> Result<(), VaultError> {
        let (actor, challenge_id) = (actor.clone(), challenge_id.to_owned());
        self.run(move |v| {
            v.passkey_reauth_blocking(&actor, &challenge_id, credential)
                .map(|_| ())
        })
        .await
    }

    /// A step-up with one of the actor's passkeys, verified; answers the id of the
    /// passkey used (an unseal by passkey also needs to know which).
    pub(in crate::vault) fn passkey_reauth_blocking(
        &self,
        actor: &Actor,
        challenge_id: &str,
        credential: serde_json::Value,
    ) -> Result<String, VaultError> {
        let v = self;
        let actor = actor.clone();
        let challenge_id = challenge_id.to_owned();
        let Some(token_hash) = actor.session.clone() else {
            return Err(VaultError::Forbidden);
        };
        let now = v.clock.unix();
        let target = Target::user(&actor.id);
        // Counted like a wrong step-up code, per session.
        let keys = [format!(
            "s:{}",
            crate::crypto::hex(&token_hash[..token_hash.len().min(8)])
        )];
        let attempt = match v.throttle.reserve(&keys, now) {
            Ok(a) => a,
            Err(secs) => {
                v.audit_now(&actor, "step_up", &target, "deny", "throttled")?;
                return Err(VaultError::Throttled(secs));
            }
        };
        let verified = (|| {
            let Ok(Ceremony::Reauth { user, state }) = v.passkeys.take(&challenge_id, now) else {
                return None;
            };
            if user != actor.id {
                return None;
            }
            let cred: PublicKeyCredential = serde_json::from_value(credential).ok()?;
            let row =
                v.db.read(|tx| tx.passkey_by_cred(cred.get_credential_id()))
                    .ok()??;
            if row.user_id != actor.id {
                return None;
            }
            let result = v
                .passkeys
                .rp()
                .ok()?
                .finish_passkey_authentication(&cred, &state)
                .ok()?;
            let mut passkey = parse_credential(&row.credential).ok()?;
            passkey.update_credential(&result);
            Some((row, passkey))
        })();
        let Some((row, passkey)) = verified else {
            attempt.failed();
            v.audit_now(&actor, "step_up", &target, "deny", "passkey_refused")?;
            return Err(refused());
        };
        attempt.passed();
        let id = row.id.clone();
        v.db.write(|tx| -> Result<(), VaultError> {
            tx.use_passkey(&row.id, &store_credential(&passkey), &v.now_str())?;
            tx.touch_session(&token_hash, now, Some(now))?;
            v.write_entry(
                tx,
                (&actor).into(),
                "step_up",
                &target.clone().and(Target::passkey(&row.id)),
                "allow",
                "passkey",
            )
        })?;
        Ok(id)
    }
}
