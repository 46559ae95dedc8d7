//! Sessions: resolving a token, step-up (a fresh second factor), sign-out.
//!
//! Invariants: only a keyed hash of a session token is stored or looked up; a session
//! past its idle or absolute lifetime, or of a disabled account, ends when it is next
//! presented; a wrong step-up code counts against the account exactly like a failed
//! sign-in.
use super::{Actor, Vault, VaultError};
use crate::auth::ThrottleVerdict;
use crate::store::SessionRow;

/// A live session.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// The actor.
    pub actor: Actor,
    /// CSRF token for forms.
    pub csrf: String,
    /// Only TOTP enrolment is allowed.
    pub must_enrol: bool,
    /// The keyed hash of the token (the token itself is never kept). Visible to the
    /// rest of `vault` because TOTP confirmation refreshes the session it runs in.
    pub(super) token_hash: Vec<u8>,
}

impl Vault {
    /// Resolves a session token; expired sessions (idle or absolute) are ended.
    pub fn session(&self, token: &str) -> Result<SessionInfo, VaultError> {
        let hash = self.auth_key.token_hash(token.as_bytes());
        let row: Option<SessionRow> = self.db.read(|tx| tx.session(&hash))?;
        let Some(row) = row else {
            return Err(VaultError::Unauthenticated);
        };
        let now = self.clock.unix();
        let s = &self.settings.session;
        let idle = now - row.last_seen > i64::from(s.idle_timeout_minutes) * 60;
        let old = now - row.created_at > i64::from(s.absolute_lifetime_hours) * 3600;
        if idle || old || row.user.disabled {
            self.db.write(|tx| tx.delete_session(&hash))?;
            return Err(VaultError::Unauthenticated);
        }
        self.db.write(|tx| tx.touch_session(&hash, now, None))?;
        let fresh = row
            .totp_at
            .is_some_and(|t| now - t <= i64::from(s.step_up_minutes) * 60);
        Ok(SessionInfo {
            actor: Actor::from_user(&row.user, fresh),
            csrf: row.csrf.clone(),
            must_enrol: self.must_enrol(&row.user),
            token_hash: hash,
        })
    }

    /// Proves a fresh second factor within a session (step-up).
    pub fn step_up(&self, session: &mut SessionInfo, code: &str) -> Result<(), VaultError> {
        let user = self
            .db
            .read(|tx| tx.user(&session.actor.id))?
            .ok_or(VaultError::Unauthenticated)?;
        // Wrong step-up codes count against the account exactly like failed sign-ins:
        // a stolen session cookie must not become an unthrottled code-guessing oracle.
        let now = self.clock.unix();
        let keys = [format!("u:{}", user.username)];
        if let ThrottleVerdict::Wait(secs) = self.throttle.check(&keys, now) {
            self.audit_now(
                &session.actor,
                "step_up",
                &format!("user:{}", user.id),
                "deny",
                "throttled",
            )?;
            return Err(VaultError::Throttled(secs));
        }
        if !self.check_second_factor(&user, code, false)? {
            self.throttle.failure(&keys, now);
            self.audit_now(
                &session.actor,
                "step_up",
                &format!("user:{}", user.id),
                "deny",
                "invalid_code",
            )?;
            return Err(VaultError::InvalidCode);
        }
        self.db
            .write(|tx| tx.touch_session(&session.token_hash, now, Some(now)))?;
        session.actor.fresh = true;
        Ok(())
    }

    /// Ends a session.
    pub fn logout(&self, session: &SessionInfo) -> Result<(), VaultError> {
        self.db.write(|tx| -> Result<(), VaultError> {
            tx.delete_session(&session.token_hash)?;
            crate::audit::append(
                tx,
                &self.now_str(),
                &crate::audit::Entry {
                    actor: &session.actor.id,
                    role: session.actor.who.audit_name(),
                    action: "logout",
                    target: &format!("user:{}", session.actor.id),
                    decision: "allow",
                    outcome: "ok",
                },
            )?;
            Ok(())
        })
    }
}
