//! Sign-in: the password, then the second factor, then a new session.
//!
//! Invariants: an unknown user, a disabled account, a wrong password and a wrong code
//! give the same error after the same work (argon2 runs on a dummy hash when there is
//! no password to check); failures count against both the account and the client
//! address, and every attempt is admitted and counted by the throttle in one step
//! before any check (a throttled one is refused there, and audited through the bounded
//! path of `refusals.rs`, which counts a flood rather than writing each), so parallel
//! guesses are bounded like sequential ones; every attempt is audited without the
//! username; only a keyed hash of the new session token is stored; a recovery code
//! opens a session but never makes it fresh (step-up needs a TOTP code).
use std::sync::Arc;

use zeroize::Zeroizing;

use super::decide::By;
use super::refusals::Refusal;
use super::target::Target;
use super::totp::{Accept, Proved};
use super::{Actor, UserView, Vault, VaultError};
use crate::auth::{Attempt, Username};
use crate::crypto::{self, random_token};
use crate::store::UserRow;

/// A sign-in attempt.
pub struct LoginInput {
    /// Username as typed.
    pub username: String,
    /// Password.
    pub password: Zeroizing<String>,
    /// TOTP code or recovery code.
    pub totp: Option<Zeroizing<String>>,
    /// Client address (throttling only; never stored).
    pub client: String,
}

/// A successful sign-in.
pub struct LoginOutcome {
    /// The session token (to the cookie; never stored).
    pub token: Zeroizing<String>,
    /// The user.
    pub user: UserView,
    /// The session can only enrol TOTP.
    pub must_enrol: bool,
}

impl Vault {
    fn audit_login(
        &self,
        user: Option<&UserRow>,
        decision: &str,
        outcome: &str,
    ) -> Result<(), VaultError> {
        let (actor, target) = match user {
            Some(u) => (
                Actor::internal(&u.id, super::Who::User(u.role)),
                Target::user(&u.id),
            ),
            None => (
                Actor::internal("-", super::Who::Anonymous),
                Target::no_user(),
            ),
        };
        self.audit_now(&actor, "login", &target, decision, outcome)
    }

    /// Signs a user in. Every failure looks the same from outside.
    pub async fn login(self: &Arc<Self>, input: LoginInput) -> Result<LoginOutcome, VaultError> {
        let now = self.clock.unix();
        let name = Username::parse(&input.username);
        let account_key = format!(
            "u:{}",
            name.as_ref().map(|n| n.as_str()).unwrap_or("-invalid-")
        );
        let addr_key = format!(
            "a:{}",
            crypto::hex(&crypto::sha256(input.client.as_bytes())[..8])
        );
        let keys = [account_key.clone(), addr_key];
        let client = input.client;
        let (user, attempt) = self
            .run(move |v| {
                // Admitted and counted in one step, before any check: guesses sent all
                // at once cannot all slip in under a throttle that has not counted them.
                let attempt = match v.throttle.reserve(&keys, now) {
                    Ok(a) => a,
                    Err(secs) => {
                        // Costs the sender nothing: bounded per address (refusals.rs).
                        v.audit_refusal_blocking(&client, Refusal::SignInThrottled)?;
                        return Err(VaultError::Throttled(secs));
                    }
                };
                let user = match &name {
                    Some(n) => v.db.read(|tx| tx.user_by_name(n.as_str()))?,
                    None => None,
                };
                Ok((user, attempt))
            })
            .await?;
        let stored = user
            .as_ref()
            .filter(|u| !u.disabled)
            .map(|u| u.password_hash.clone());
        let password_ok = self.hasher.verify(input.password.clone(), stored).await;
        let totp = input.totp;
        self.run(move |v| v.finish_login(password_ok, user, totp, attempt, &account_key, now))
            .await
    }

    fn finish_login(
        &self,
        password_ok: bool,
        user: Option<UserRow>,
        totp: Option<Zeroizing<String>>,
        attempt: Attempt,
        account_key: &str,
        now: i64,
    ) -> Result<LoginOutcome, VaultError> {
        let user = match (password_ok, user) {
            (true, Some(u)) => u,
            (_, u) => {
                attempt.failed();
                self.audit_login(u.as_ref(), "deny", "invalid_credentials")?;
                return Err(VaultError::InvalidCredentials);
            }
        };
        let mut factor = None;
        if user.totp_confirmed {
            // An empty code field (a form submitted without one) means "no code".
            let code = totp.as_ref().filter(|c| !c.trim().is_empty());
            let Some(code) = code else {
                // The right password and no code yet: not a failure, as before.
                attempt.passed();
                self.audit_login(Some(&user), "deny", "totp_required")?;
                return Err(VaultError::TotpRequired);
            };
            let Some(proved) = self.check_second_factor(&user, code, Accept::TotpOrRecovery)?
            else {
                attempt.failed();
                self.audit_login(Some(&user), "deny", "invalid_credentials")?;
                return Err(VaultError::InvalidCredentials);
            };
            factor = Some(proved);
        }
        // Only an authenticator code makes the new session fresh (step-up): a recovery
        // code signs in, and the session then steps up with a TOTP code like any other.
        let totp_at = factor.filter(|f| f.is_fresh()).map(|_| now);
        let token = Zeroizing::new(random_token());
        let hash = self.auth_key.token_hash(token.as_bytes());
        let csrf = random_token();
        let must_enrol = self.must_enrol(&user);
        self.db.write(|tx| -> Result<(), VaultError> {
            tx.insert_session(&crate::store::NewSessionRow {
                token_hash: &hash,
                user_id: &user.id,
                created_at: now,
                totp_at,
                csrf: &csrf,
            })?;
            self.write_entry(
                tx,
                By {
                    id: &user.id,
                    role: user.role.as_str(),
                },
                "login",
                &Target::user(&user.id),
                "allow",
                match (must_enrol, factor) {
                    (true, _) => "must_enrol",
                    (false, Some(Proved::RecoveryCode)) => "recovery_code",
                    (false, _) => "ok",
                },
            )
        })?;
        attempt.signed_in(account_key);
        Ok(LoginOutcome {
            token,
            user: UserView::from(&user),
            must_enrol,
        })
    }
}
