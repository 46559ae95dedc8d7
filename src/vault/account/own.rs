//! A person looking after their own account: a new password, new recovery codes.
//!
//! Invariants: both need a fresh second factor; a new password also needs the current
//! one (so a session left open on a shared computer cannot lock its owner out), ends
//! every other session of the account and, because device tokens are bound to the
//! password hash (`auth/device.rs`), forgets every remembered browser; new recovery
//! codes replace the old ones in the same transaction, so the old ones stop working.
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::auth;
use crate::vault::guard::decide::By;
use crate::vault::guard::target::Target;
use crate::vault::{SessionInfo, StepUp, Vault, VaultError};

impl Vault {
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
        let attempt = self
            .throttle
            .reserve(&[format!("c:{}", user.id)], self.clock.unix())
            .map_err(VaultError::Throttled)?;
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
        let by_id = user.id.clone();
        let role = user.role;
        if !ok {
            attempt.failed();
            self.run(move |v| {
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
                        "allow",
                        "wrong_password",
                    )
                })
            })
            .await?;
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
