//! A person looking after their own account: a new password, new recovery codes, the
//! language of the pages.
//!
//! Invariants: both need a fresh second factor; a new password also needs the current
//! one (so a session left open on a shared computer cannot lock its owner out), ends
//! every other session of the account and, because device tokens are bound to the
//! password hash (`auth/device.rs`), forgets every remembered browser; new recovery
//! codes replace the old ones in the same transaction, so the old ones stop working.
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::auth;
use crate::i18n::Lang;
use crate::vault::guard::decide::By;
use crate::vault::guard::target::Target;
use crate::vault::{SessionInfo, StepUp, Vault, VaultError};

impl Vault {
    /// The language a person chose for the pages, if any.
    pub async fn user_language(self: &Arc<Self>, user: &str) -> Option<Lang> {
        let user = user.to_owned();
        self.run(move |v| Ok(v.db.read(|tx| tx.user_language(&user))?))
            .await
            .ok()
            .flatten()
            .as_deref()
            .and_then(Lang::parse)
    }

    /// Remembers the language a person chose for the pages (audited like any change
    /// to their account).
    pub async fn set_user_language(
        self: &Arc<Self>,
        session: &SessionInfo,
        lang: Lang,
    ) -> Result<(), VaultError> {
        let id = session.actor.id().to_owned();
        self.run(move |v| {
            let user =
                v.db.read(|tx| tx.user(&id))?
                    .ok_or(VaultError::Unauthenticated)?;
            v.db.write(|tx| {
                tx.set_user_language(&user.id, lang.as_str())?;
                let by = By {
                    id: &user.id,
                    role: user.role.as_str(),
                };
                v.write_entry(
                    tx,
                    by,
                    "set_language",
                    &Target::user(&user.id),
                    "allow",
                    "ok",
                )
            })
        })
        .await
    }

    /// Changes the signed-in person's own password.
    pub async fn change_own_password(
        self: &Arc<Self>,
        session: &SessionInfo,
        current: Zeroizing<String>,
        new: Zeroizing<String>,
        step: StepUp,
    ) -> Result<(), VaultError> {
        let actor = self.prove(session.actor.clone(), step).await?;
        if !actor.fresh() {
            return Err(VaultError::StepUpRequired);
        }
        auth::check_new_password(&new)
            .map_err(|e| VaultError::bad("weak_password", e.to_string()))?;
        let id = actor.id().to_owned();
        let user = self
            .run(move |v| v.db.read(|tx| tx.user(&id)).map_err(VaultError::from))
            .await?
            .filter(|u| !u.disabled)
            .ok_or(VaultError::Unauthenticated)?;
        // Wrong current passwords are counted per account, like sign-ins.
        let (by_id, role) = (user.id.clone(), user.role);
        let refuse = move |outcome: &'static str| {
            let by_id = by_id.clone();
            move |v: &Vault| {
                v.db.write(|tx| {
                    let by = By {
                        id: &by_id,
                        role: role.as_str(),
                    };
                    v.write_entry(
                        tx,
                        by,
                        "password_change",
                        &Target::user(&by_id),
                        "deny",
                        outcome,
                    )
                })
            }
        };
        let attempt = match self
            .throttle
            .reserve(&[format!("c:{}", user.id)], self.clock.unix())
        {
            Ok(a) => a,
            Err(secs) => {
                self.run(refuse("throttled")).await?;
                return Err(VaultError::Throttled(secs));
            }
        };
        let lane = format!("p:{}", user.id);
        let ok = match self
            .hasher
            .verify(&lane, current, Some(user.password_hash.clone()))
            .await
        {
            Ok(ok) => ok,
            Err(auth::Busy) => {
                attempt.passed();
                return Err(VaultError::Throttled(1));
            }
        };
        let (by_id, role) = (user.id.clone(), user.role);
        if !ok {
            attempt.failed();
            self.run(refuse("wrong_password")).await?;
            return Err(VaultError::bad(
                "wrong_password",
                "the current password is not right; nothing was changed",
            ));
        }
        attempt.passed();
        let hash = self.hash_new_password(&actor, new).await?;
        let keep = session.token_hash.clone();
        self.run(move |v| {
            v.db.write(|tx| {
                tx.set_password(&by_id, &hash)?;
                tx.delete_other_sessions(&by_id, &keep)?;
                let by = By {
                    id: &by_id,
                    role: role.as_str(),
                };
                v.write_entry(
                    tx,
                    by,
                    "password_change",
                    &Target::user(&by_id),
                    "allow",
                    "ok",
                )
            })
        })
        .await
    }

    /// Makes new recovery codes for the signed-in person (shown once); the old ones
    /// stop working.
    pub async fn new_recovery_codes(
        self: &Arc<Self>,
        session: &SessionInfo,
        step: StepUp,
    ) -> Result<Vec<Zeroizing<String>>, VaultError> {
        let actor = self.prove(session.actor.clone(), step).await?;
        if !actor.fresh() {
            return Err(VaultError::StepUpRequired);
        }
        let id = actor.id().to_owned();
        self.run(move |v| {
            let user =
                v.db.read(|tx| tx.user(&id))?
                    .filter(|u| !u.disabled)
                    .ok_or(VaultError::Unauthenticated)?;
            if !user.totp_confirmed {
                return Err(VaultError::conflict(
                    "not_enrolled",
                    "recovery codes come with an authenticator app; set one up first",
                ));
            }
            let codes = auth::generate_recovery_codes();
            let hashes: Vec<Vec<u8>> = codes
                .iter()
                .map(|c| v.auth_key.token_hash(c.as_bytes()))
                .collect();
            v.db.write(|tx| {
                tx.set_recovery_codes(&user.id, &hashes)?;
                let by = By {
                    id: &user.id,
                    role: user.role.as_str(),
                };
                v.write_entry(
                    tx,
                    by,
                    "recovery_codes",
                    &Target::user(&user.id),
                    "allow",
                    "ok",
                )
            })?;
            Ok(codes)
        })
        .await
    }
}
