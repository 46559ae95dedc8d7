//! The second factor: checking TOTP and recovery codes, and a user's own enrolment.
//!
//! Invariants: a TOTP step or recovery code is accepted at most once; seeds are stored
//! only sealed under the auth key (bound to the user id) and recovery codes only as
//! keyed hashes, shown once; a confirmed authenticator cannot be replaced by its user
//! (only reset by an administrator); a user who must have TOTP but has none is marked
//! `must_enrol`, and the extractors then allow such a session nothing but enrolment.
use std::sync::Arc;

use serde::Serialize;
use zeroize::Zeroizing;

use crate::auth::{self, TotpSecret};
use crate::store::UserRow;
use crate::vault::guard::decide::By;
use crate::vault::guard::target::Target;
use crate::vault::{SessionInfo, Vault, VaultError};

/// Which codes a check accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(in crate::vault) enum Accept {
    /// A code from the authenticator only (step-up, enrolment).
    Totp,
    /// Also a recovery code (sign-in, for a user who lost the authenticator).
    TotpOrRecovery,
}

/// The factor a code proved.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(in crate::vault) enum Proved {
    /// A TOTP code of the current window: the user holds the authenticator now.
    Totp,
    /// A single-use recovery code: it opens a session but proves nothing fresh, since
    /// it may have been written down, photographed or stolen long ago.
    RecoveryCode,
}

impl Proved {
    /// Whether this factor counts as a fresh second factor (step-up). Only the
    /// authenticator does: a recovery-code session steps up with a TOTP code like a
    /// stale one.
    pub(in crate::vault) fn is_fresh(self) -> bool {
        self == Proved::Totp
    }
}

/// What TOTP enrolment hands the user once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Enrolment {
    /// Base32 secret for manual entry.
    pub secret: String,
    /// `otpauth://` URI.
    pub otpauth_uri: String,
    /// QR code of the URI, as SVG.
    pub qr_svg: String,
}

impl Vault {
    /// Whether the role requires TOTP and none is confirmed yet: such a session may
    /// only enrol.
    pub(in crate::vault) fn must_enrol(&self, u: &UserRow) -> bool {
        u.role
            .totp_required(self.settings.totp.required_for_caseworkers)
            && !u.totp_confirmed
    }

    /// Checks a second-factor code for a user and consumes it: a TOTP code always, a
    /// recovery code only where `accept` allows one. Answers which factor it proved,
    /// or `None` when it proved nothing.
    pub(in crate::vault) fn check_second_factor(
        &self,
        u: &UserRow,
        code: &str,
        accept: Accept,
    ) -> Result<Option<Proved>, VaultError> {
        let Some(sealed) = &u.totp_sealed else {
            return Ok(None);
        };
        let seed = self.auth_key.open(u.id.as_bytes(), sealed)?;
        let secret = TotpSecret::from_bytes(&seed);
        let now = self.clock.unix();
        if let Some(step) = auth::verify_code(&secret, code, now, u.totp_last_step) {
            let used = self.db.write(|tx| tx.use_totp_step(&u.id, step))?;
            return Ok(used.then_some(Proved::Totp));
        }
        if accept == Accept::TotpOrRecovery && code.trim().len() == 11 {
            let h = self
                .auth_key
                .token_hash(auth::normalise_recovery_code(code).as_bytes());
            let used = self.db.write(|tx| tx.use_recovery_code(&u.id, &h))?;
            return Ok(used.then_some(Proved::RecoveryCode));
        }
        Ok(None)
    }

    /// Starts TOTP enrolment for the signed-in user. The secret stays the same until it
    /// is confirmed or the person asks for a new one (`new`): a reload or a wrong code
    /// shows the same key again, so nobody collects dead entries in their app.
    pub async fn enrol_totp(
        self: &Arc<Self>,
        session: &SessionInfo,
        new: bool,
    ) -> Result<Enrolment, VaultError> {
        let session = session.clone();
        self.run(move |v| v.enrol_totp_blocking(&session, new))
            .await
    }

    pub(in crate::vault) fn enrol_totp_blocking(
        &self,
        session: &SessionInfo,
        new: bool,
    ) -> Result<Enrolment, VaultError> {
        let user = self
            .db
            .read(|tx| tx.user(&session.actor.id))?
            .ok_or(VaultError::Unauthenticated)?;
        if user.totp_confirmed {
            return Err(VaultError::conflict(
                "already_enrolled",
                "this account already has an authenticator; ask an administrator to reset it",
            ));
        }
        // The same secret again only to the session it was shown to: another session
        // that knows the password (whoever set it, say) gets a new one, never the one
        // the person is scanning.
        let shown_to = self.db.read(|tx| tx.totp_enrol_session(&user.id))?;
        let mine = shown_to.as_deref() == Some(session.token_hash.as_slice());
        let pending = match (&user.totp_sealed, new, mine) {
            (Some(sealed), false, true) => self
                .auth_key
                .open(user.id.as_bytes(), sealed)
                .ok()
                .map(|seed| TotpSecret::from_bytes(&seed)),
            _ => None,
        };
        let secret = match pending {
            Some(s) => s,
            None => {
                let secret = TotpSecret::generate();
                let sealed = self.auth_key.seal(user.id.as_bytes(), secret.as_bytes())?;
                self.db.write(|tx| {
                    tx.set_totp(&user.id, Some(&sealed), false)?;
                    tx.set_totp_enrol_session(&user.id, Some(&session.token_hash))
                })?;
                secret
            }
        };
        Ok(Enrolment {
            secret: secret.to_base32().to_string(),
            otpauth_uri: secret.otpauth_uri(&user.username).to_string(),
            qr_svg: secret.qr_svg(&user.username).to_string(),
        })
    }

    /// Confirms enrolment with a first valid code; returns the recovery codes (once).
    pub async fn confirm_totp(
        self: &Arc<Self>,
        session: &SessionInfo,
        code: &str,
    ) -> Result<Vec<Zeroizing<String>>, VaultError> {
        let (session, code) = (session.clone(), Zeroizing::new(code.to_owned()));
        self.run(move |v| v.confirm_totp_blocking(&session, &code))
            .await
    }

    fn confirm_totp_blocking(
        &self,
        session: &SessionInfo,
        code: &str,
    ) -> Result<Vec<Zeroizing<String>>, VaultError> {
        let user = self
            .db
            .read(|tx| tx.user(&session.actor.id))?
            .ok_or(VaultError::Unauthenticated)?;
        if user.totp_confirmed || user.totp_sealed.is_none() {
            return Err(VaultError::conflict(
                "not_enrolling",
                "start enrolment first",
            ));
        }
        if self
            .check_second_factor(&user, code, Accept::Totp)?
            .is_none()
        {
            return Err(VaultError::InvalidCode);
        }
        let codes = auth::generate_recovery_codes();
        let hashes: Vec<Vec<u8>> = codes
            .iter()
            .map(|c| self.auth_key.token_hash(c.as_bytes()))
            .collect();
        let now = self.clock.unix();
        let target = Target::user(&user.id);
        self.db.write(|tx| -> Result<(), VaultError> {
            tx.confirm_totp(&user.id)?;
            tx.set_recovery_codes(&user.id, &hashes)?;
            tx.set_totp_enrol_session(&user.id, None)?;
            // Sessions opened with the password alone, before the account had a
            // second factor, end here: only this one proved the new code.
            tx.delete_other_sessions(&user.id, &session.token_hash)?;
            tx.touch_session(&session.token_hash, now, Some(now))?;
            self.write_entry(
                tx,
                By {
                    id: &user.id,
                    role: user.role.as_str(),
                },
                "totp_enrol",
                &target,
                "allow",
                "ok",
            )
        })?;
        Ok(codes)
    }
}
