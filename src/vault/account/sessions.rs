//! Sessions: resolving a token, step-up (a fresh second factor), sign-out.
//!
//! Invariants: only a keyed hash of a session token is stored or looked up; a session
//! past its idle or absolute lifetime, or of a disabled account, ends when it is next
//! presented; a wrong step-up code counts against the account exactly like a failed
//! sign-in, and is admitted and counted by the throttle before it is checked.
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::store::SessionRow;
use crate::vault::account::totp::Accept;
use crate::vault::guard::target::Target;
use crate::vault::{Actor, Vault, VaultError};

/// A second-factor code offered with an action that needs a fresh one (unseal,
/// share, legal hold, purge). The operation proves it before its decision, so a handler
/// makes one call; a wrong code is audited and throttled like a failed sign-in.
pub struct StepUp {
    code: Option<Zeroizing<String>>,
    even_if_fresh: bool,
}

impl StepUp {
    /// No code offered.
    pub fn none() -> Self {
        StepUp {
            code: None,
            even_if_fresh: false,
        }
    }

    /// A code in an API body: checked only when the session's second factor is older
    /// than the step-up window (a fresh session needs none, so a resent code is
    /// ignored rather than refused as a replay). An empty code counts as none.
    pub fn if_stale(code: Option<Zeroizing<String>>) -> Self {
        StepUp {
            code: code.filter(|c| !c.trim().is_empty()),
            even_if_fresh: false,
        }
    }

    /// A code typed into a page form: checked whenever one is typed, so a confirmation
    /// page that asks for a code always proves it. An empty field counts as none.
    pub fn typed(code: &str) -> Self {
        let code = code.trim();
        StepUp {
            code: (!code.is_empty()).then(|| Zeroizing::new(code.to_owned())),
            even_if_fresh: true,
        }
    }
}

/// A live session.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// The actor.
    pub actor: Actor,
    /// CSRF token for forms.
    pub csrf: String,
    /// Only enrolment is allowed: the authenticator app, or (with `must_add_passkey`)
    /// a passkey that the policy requires of the account's role.
    pub must_enrol: bool,
    /// The enrolment due is a passkey (`[second_factor]` says `passkey` for the role,
    /// and the account has none).
    pub must_add_passkey: bool,
    /// The keyed hash of the token (the token itself is never kept). Visible to the
    /// rest of `vault` because TOTP confirmation refreshes the session it runs in.
    pub(in crate::vault) token_hash: Vec<u8>,
}

/// How stale a session's last-seen time may get before a request records it again
/// (seconds): idle time-outs are counted in minutes, so this is well inside them.
const TOUCH_EVERY: i64 = 30;

impl Vault {
    /// Resolves a session token; expired sessions (idle or absolute) are ended.
    pub async fn session(self: &Arc<Self>, token: &str) -> Result<SessionInfo, VaultError> {
        let token = token.to_owned();
        self.run(move |v| v.session_blocking(&token)).await
    }

    pub(in crate::vault) fn session_blocking(
        &self,
        token: &str,
    ) -> Result<SessionInfo, VaultError> {
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
        // The idle clock is kept to the half minute: a busy session writes (and syncs)
        // once per TOUCH_EVERY seconds, not once per request.
        if now - row.last_seen >= TOUCH_EVERY {
            self.db.write(|tx| tx.touch_session(&hash, now, None))?;
        }
        let fresh = row
            .totp_at
            .is_some_and(|t| now - t <= i64::from(s.step_up_minutes) * 60);
        let must_add_passkey = !self.must_enrol(&row.user) && self.passkey_missing(&row.user)?;
        Ok(SessionInfo {
            actor: Actor {
                session: Some(hash.clone()),
                ..Actor::from_user(&row.user, fresh)
            },
            csrf: row.csrf.clone(),
            must_enrol: self.must_enrol(&row.user) || must_add_passkey,
            must_add_passkey,
            token_hash: hash,
        })
    }

    /// Proves the step-up code offered with an action, if it must be checked, and
    /// answers the actor to decide the action for: fresh after a good code, as it was
    /// otherwise (the decision then asks for a code if the action needs one).
    pub(in crate::vault) async fn prove(
        self: &Arc<Self>,
        actor: Actor,
        step: StepUp,
    ) -> Result<Actor, VaultError> {
        let Some(code) = step.code else {
            return Ok(actor);
        };
        if actor.fresh && !step.even_if_fresh {
            return Ok(actor);
        }
        self.run(move |v| v.prove_blocking(actor, &code)).await
    }

    fn prove_blocking(&self, mut actor: Actor, code: &str) -> Result<Actor, VaultError> {
        // Only a signed-in user proves a code; the operator acts fresh by construction.
        let Some(token_hash) = actor.session.clone() else {
            return Ok(actor);
        };
        let user = self
            .db
            .read(|tx| tx.user(&actor.id))?
            .ok_or(VaultError::Unauthenticated)?;
        // Wrong step-up codes are throttled like failed sign-ins, per session: a stolen
        // session cookie gets no more guesses than one account's lock allows, and a
        // sign-in flood that locks the account does not stop its signed-in user from
        // stepping up (nor do step-up guesses lock the account's sign-in).
        let now = self.clock.unix();
        let keys = [format!(
            "s:{}",
            crate::crypto::hex(&token_hash[..token_hash.len().min(8)])
        )];
        let target = Target::user(&user.id);
        // Admitted and counted before the code is checked (see `crate::auth::Throttle`).
        let attempt = match self.throttle.reserve(&keys, now) {
            Ok(a) => a,
            Err(secs) => {
                self.audit_now(&actor, "step_up", &target, "deny", "throttled")?;
                return Err(VaultError::Throttled(secs));
            }
        };
        if self
            .check_second_factor(&user, code, Accept::Totp)?
            .is_none()
        {
            attempt.failed();
            self.audit_now(&actor, "step_up", &target, "deny", "invalid_code")?;
            return Err(VaultError::InvalidCode);
        }
        attempt.passed();
        self.db
            .write(|tx| tx.touch_session(&token_hash, now, Some(now)))?;
        actor.fresh = true;
        Ok(actor)
    }

    /// Ends a session.
    pub async fn logout(self: &Arc<Self>, session: &SessionInfo) -> Result<(), VaultError> {
        let session = session.clone();
        self.run(move |v| v.logout_blocking(&session)).await
    }

    pub(in crate::vault) fn logout_blocking(
        &self,
        session: &SessionInfo,
    ) -> Result<(), VaultError> {
        self.db.write(|tx| -> Result<(), VaultError> {
            tx.delete_session(&session.token_hash)?;
            self.write_entry(
                tx,
                (&session.actor).into(),
                "logout",
                &Target::user(&session.actor.id),
                "allow",
                "ok",
            )
        })
    }
}
