//! Sign-in: the password, then the second factor, then a new session.
//!
//! Invariants: an unknown user, a disabled account, a wrong password and a wrong code
//! give the same error after the same work (argon2 runs on a dummy hash when there is
//! no password to check); failures count against both the account and the client
//! address — or, for a browser that presents a valid device cookie of the account it
//! names, against that device alone (see `auth/device.rs`), so a flood that locks the
//! account and the address does not lock out a browser that has signed in before —;
//! every attempt is admitted and counted by the throttle in one step before any
//! check (a throttled one is refused there, before argon2, and audited through the
//! bounded path of `refusals.rs`, which counts a flood rather than writing each), so
//! parallel guesses are bounded like sequential ones; argon2 slots go round-robin over
//! addresses and devices, one at a time each; every attempt is audited without the
//! username; only a keyed hash of the new session token is stored, and nothing of a
//! device token at all; a recovery code opens a session but never makes it fresh
//! (step-up needs a TOTP code).
use std::net::IpAddr;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::auth::{Attempt, Busy, DeviceBinding, HashError, TrustedDevice, Username};
use crate::crypto::{self, random_token};
use crate::store::UserRow;
use crate::vault::account::totp::{Accept, Proved};
use crate::vault::guard::decide::By;
use crate::vault::guard::refusals::Refusal;
use crate::vault::guard::target::Target;
use crate::vault::{Actor, UserView, Vault, VaultError};

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
    /// The device cookie the browser sent, if any (never stored or logged).
    pub device: Option<Zeroizing<String>>,
}

/// A successful sign-in.
pub struct LoginOutcome {
    /// The session token (to the cookie; never stored).
    pub token: Zeroizing<String>,
    /// The user.
    pub user: UserView,
    /// The session can only enrol TOTP.
    pub must_enrol: bool,
    /// The session can only add a passkey (the policy requires one of the role).
    pub must_add_passkey: bool,
    /// A new device cookie for this browser (not for a session that must enrol).
    pub device: Option<Zeroizing<String>>,
}

/// The throttle key of a client address: IPv4 as it is (also when mapped into IPv6),
/// IPv6 by its /64, which one subscriber is given whole (rotating addresses inside it
/// does not escape the count). Only a hash, in memory.
pub(super) fn address_key(client: &str) -> String {
    let grouped = match client.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0).to_string()
            }
        },
        _ => client.to_owned(),
    };
    format!(
        "a:{}",
        crypto::hex(&crypto::sha256(grouped.as_bytes())[..8])
    )
}

fn binding(u: &UserRow) -> DeviceBinding<'_> {
    DeviceBinding {
        user_id: &u.id,
        password_hash: &u.password_hash,
        totp_sealed: u.totp_sealed.as_deref(),
    }
}

/// What the throttle admitted: the attempt, the account row, the key a success
/// clears and the lane the password check queues in.
struct Admitted {
    user: Option<UserRow>,
    attempt: Attempt,
    clear: String,
    lane: String,
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
                Actor::internal(&u.id, crate::vault::Who::User(u.role)),
                Target::user(&u.id),
            ),
            None => (
                Actor::internal("-", crate::vault::Who::Anonymous),
                Target::no_user(),
            ),
        };
        self.audit_now(&actor, "login", &target, decision, outcome)
    }

    /// The device a device cookie stands for, when it is valid for this account now.
    fn trusted_device(&self, user: &UserRow, token: &str, now: i64) -> Option<TrustedDevice> {
        if user.disabled {
            return None;
        }
        let max_age = i64::from(self.settings.login.device_days) * 86_400;
        crate::auth::verify_device(&self.auth_key, token, &binding(user), now, max_age)
    }

    /// Signs a user in. Every failure looks the same from outside.
    pub async fn login(self: &Arc<Self>, input: LoginInput) -> Result<LoginOutcome, VaultError> {
        let now = self.clock.unix();
        let name = Username::parse(&input.username);
        let account_key = format!(
            "u:{}",
            name.as_ref().map(|n| n.as_str()).unwrap_or("-invalid-")
        );
        let addr_key = address_key(&input.client);
        let client = input.client.clone();
        let device = input.device;
        let admitted = self
            .run(move |v| {
                let read = |n: &Username| v.db.read(|tx| tx.user_by_name(n.as_str()));
                // Only a request with a device cookie reads the account before the
                // throttle: the cookie is checked against what the account is now.
                let mut user = None;
                let mut trusted = None;
                if let (Some(token), Some(n)) = (&device, &name) {
                    user = read(n)?;
                    trusted = user.as_ref().and_then(|u| v.trusted_device(u, token, now));
                }
                // A trusted device is counted on its own key: the account's and the
                // address's locks, which a flood can hold, do not apply to it, and its
                // failures lock the device, not the account.
                let (keys, clear) = match &trusted {
                    Some(d) => (vec![d.key().to_owned()], d.key().to_owned()),
                    None => (vec![account_key.clone(), addr_key.clone()], account_key),
                };
                // Admitted and counted in one step, before any check: guesses sent all
                // at once cannot all slip in under a throttle that has not counted them.
                let attempt = match v.throttle.reserve(&keys, now) {
                    Ok(a) => a,
                    Err(secs) => {
                        // Costs the sender nothing: bounded per address (refusals.rs).
                        v.audit_refusal_blocking(&client, Refusal::SignInThrottled)?;
                        // Say which lock it is: this account's, or the network's.
                        let account_waits = keys
                            .iter()
                            .any(|k| !k.starts_with("a:") && v.throttle.holds(k, now));
                        return Err(if account_waits {
                            VaultError::Throttled(secs)
                        } else {
                            VaultError::NetworkThrottled(secs)
                        });
                    }
                };
                if device.is_none()
                    && let Some(n) = &name
                {
                    user = read(n)?;
                }
                Ok(Admitted {
                    user,
                    attempt,
                    clear,
                    lane: trusted.map_or(addr_key, |d| d.key().to_owned()),
                })
            })
            .await?;
        let Admitted {
            user,
            attempt,
            clear,
            lane,
        } = admitted;
        let stored = user
            .as_ref()
            .filter(|u| !u.disabled)
            .map(|u| u.password_hash.clone());
        let password_ok = match self
            .hasher
            .verify(&lane, input.password.clone(), stored)
            .await
        {
            Ok(ok) => ok,
            Err(Busy) => {
                // Nothing was checked, so nothing is counted; refused like a throttled
                // attempt, before any hashing.
                attempt.passed();
                self.audit_refusal(&input.client, Refusal::SignInThrottled)
                    .await?;
                return Err(VaultError::Throttled(1));
            }
        };
        let totp = input.totp;
        self.run(move |v| v.finish_login(password_ok, user, totp, attempt, &clear, now))
            .await
    }

    fn finish_login(
        &self,
        password_ok: bool,
        user: Option<UserRow>,
        totp: Option<Zeroizing<String>>,
        attempt: Attempt,
        clear_key: &str,
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
        let fresh = factor.is_some_and(|f| f.is_fresh());
        // A role that must sign in with a passkey: a password and code only lead an
        // account without one to add one; an account with one uses it.
        let must_add_passkey = !self.must_enrol(&user) && self.passkey_missing(&user)?;
        if self.settings.passkey_required(user.role) && !must_add_passkey && !self.must_enrol(&user)
        {
            attempt.passed();
            self.audit_login(Some(&user), "deny", "passkey_required")?;
            return Err(VaultError::PasskeyRequired);
        }
        let outcome = match (self.must_enrol(&user), must_add_passkey, factor) {
            (true, _, _) => "must_enrol",
            (false, true, _) => "must_enrol_passkey",
            (false, false, Some(Proved::RecoveryCode)) => "recovery_code",
            (false, false, _) => "ok",
        };
        let out = self.open_session(&user, now, fresh, "login", outcome)?;
        attempt.signed_in(clear_key);
        Ok(out)
    }

    /// A new session for `user`, who has just proved who they are (fresh for step-up
    /// when `fresh`), audited as `action` with `outcome` in the same transaction; the
    /// answer a full sign-in gives, with a device cookie unless the session can only
    /// enrol.
    pub(in crate::vault) fn open_session(
        &self,
        user: &UserRow,
        now: i64,
        fresh: bool,
        action: &str,
        outcome: &str,
    ) -> Result<LoginOutcome, VaultError> {
        let token = Zeroizing::new(random_token());
        let hash = self.auth_key.token_hash(token.as_bytes());
        let csrf = random_token();
        let must_add_passkey = !self.must_enrol(user) && self.passkey_missing(user)?;
        let must_enrol = self.must_enrol(user) || must_add_passkey;
        self.db.write(|tx| -> Result<(), VaultError> {
            tx.insert_session(&crate::store::NewSessionRow {
                token_hash: &hash,
                user_id: &user.id,
                created_at: now,
                totp_at: fresh.then_some(now),
                csrf: &csrf,
            })?;
            self.write_entry(
                tx,
                By {
                    id: &user.id,
                    role: user.role.as_str(),
                },
                action,
                &Target::user(&user.id),
                "allow",
                outcome,
            )
        })?;
        // A session that can only enrol has not proved the account's second factor:
        // its browser is not trusted yet.
        let device =
            (!must_enrol).then(|| crate::auth::issue_device(&self.auth_key, &binding(user), now));
        Ok(LoginOutcome {
            token,
            user: UserView::from(user),
            must_enrol: must_enrol && !must_add_passkey,
            must_add_passkey,
            device,
        })
    }
}

impl Vault {
    /// Hashes a new password that `actor` sets, in the actor's own lane of the argon2
    /// slots (an administrator's hashes take turns with sign-ins like anyone's).
    pub(in crate::vault) async fn hash_new_password(
        &self,
        actor: &Actor,
        password: Zeroizing<String>,
    ) -> Result<String, VaultError> {
        let lane = format!("p:{}", actor.id());
        self.hasher
            .hash(&lane, password)
            .await
            .map_err(|e| match e {
                HashError::Busy => VaultError::Throttled(1),
                HashError::Failed(e) => VaultError::Internal(e),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::address_key;

    #[test]
    fn addresses_count_by_ipv4_address_or_ipv6_slash_64() {
        let k = address_key;
        assert_eq!(k("2001:db8:1:2::1"), k("2001:db8:1:2:ffff:1:2:3"));
        assert_ne!(k("2001:db8:1:2::1"), k("2001:db8:1:3::1"));
        assert_eq!(k("::ffff:192.0.2.7"), k("192.0.2.7"));
        assert_ne!(k("192.0.2.7"), k("192.0.2.8"));
        assert!(k("").starts_with("a:"));
    }
}
