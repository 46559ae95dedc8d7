//! Users, sign-in, sessions, TOTP enrolment and step-up.
//!
//! Invariants: wrong user, wrong password and wrong code give the same error after the
//! same work; a used TOTP step is refused; only a keyed hash of a session token is
//! stored; a user who must have TOTP but has none can do nothing but enrol.
use std::sync::Arc;

use age::secrecy::ExposeSecret;
use serde::Serialize;
use zeroize::Zeroizing;

use super::{Actor, Vault, VaultError, new_id, parse_id};
use crate::auth::{self, ThrottleVerdict, TotpSecret, Username};
use crate::crypto::{self, random_token};
use crate::policy::{Action, Resource};
use crate::store::{SessionRow, UserRow};

/// A user as shown to administrators and to themselves.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserView {
    /// User id.
    pub id: String,
    /// Username.
    pub username: String,
    /// Role.
    pub role: String,
    /// Office slug.
    pub office: Option<String>,
    /// Partner organisation.
    pub org: Option<String>,
    /// Caseworker supervisor.
    pub supervisor: bool,
    /// TOTP enrolled.
    pub totp_enrolled: bool,
    /// Disabled.
    pub disabled: bool,
}

impl From<&UserRow> for UserView {
    fn from(u: &UserRow) -> Self {
        UserView {
            id: u.id.clone(),
            username: u.username.clone(),
            role: u.role.clone(),
            office: u.office.clone(),
            org: u.org.clone(),
            supervisor: u.supervisor,
            totp_enrolled: u.totp_confirmed,
            disabled: u.disabled,
        }
    }
}

/// A new account.
pub struct NewUser {
    /// Username.
    pub username: String,
    /// Role.
    pub role: String,
    /// Office slug (admin, caseworker).
    pub office: Option<String>,
    /// Partner organisation.
    pub org: Option<String>,
    /// Supervisor flag.
    pub supervisor: bool,
    /// Initial password.
    pub password: Zeroizing<String>,
}

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

/// A live session.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// The actor.
    pub actor: Actor,
    /// CSRF token for forms.
    pub csrf: String,
    /// Only TOTP enrolment is allowed.
    pub must_enrol: bool,
    token_hash: Vec<u8>,
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
    fn must_enrol(&self, u: &UserRow) -> bool {
        auth::totp_required(&u.role, self.settings.totp.required_for_caseworkers)
            && !u.totp_confirmed
    }

    fn audit_login(
        &self,
        user: Option<&UserRow>,
        decision: &str,
        outcome: &str,
    ) -> Result<(), VaultError> {
        let actor = Actor {
            id: user.map(|u| u.id.clone()).unwrap_or_else(|| "-".into()),
            username: String::new(),
            role: user.map(|u| u.role.clone()).unwrap_or_else(|| "-".into()),
            office: None,
            org: None,
            supervisor: false,
            second_factor: false,
            fresh: false,
        };
        let target = format!("user:{}", actor.id);
        self.audit_now(&actor, "login", &target, decision, outcome)
    }

    /// Checks a TOTP code (or, if `allow_recovery`, a recovery code) for a user and
    /// consumes it. Returns whether it was accepted.
    fn check_second_factor(
        &self,
        u: &UserRow,
        code: &str,
        allow_recovery: bool,
    ) -> Result<bool, VaultError> {
        let Some(sealed) = &u.totp_sealed else {
            return Ok(false);
        };
        let seed = self.auth_key.open(u.id.as_bytes(), sealed)?;
        let secret = TotpSecret::from_bytes(&seed);
        let now = self.clock.unix();
        if let Some(step) = auth::verify_code(&secret, code, now, u.totp_last_step) {
            return Ok(self.db.write(|tx| tx.use_totp_step(&u.id, step))?);
        }
        if allow_recovery && code.trim().len() == 11 {
            let h = self
                .auth_key
                .token_hash(auth::normalise_recovery_code(code).as_bytes());
            return Ok(self.db.write(|tx| tx.use_recovery_code(&u.id, &h))?);
        }
        Ok(false)
    }

    /// Runs blocking work (SQLite, files) off the async executor.
    async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Vault) -> Result<T, VaultError> + Send + 'static,
    ) -> Result<T, VaultError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || f(&me))
            .await
            .map_err(|e| VaultError::Internal(format!("task failed: {e}")))?
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
        let lookup_keys = keys.clone();
        let user = self
            .run(move |v| {
                if let ThrottleVerdict::Wait(secs) = v.throttle.check(&lookup_keys, now) {
                    v.audit_login(None, "deny", "throttled")?;
                    return Err(VaultError::Throttled(secs));
                }
                match &name {
                    Some(n) => Ok(v.db.read(|tx| tx.user_by_name(n.as_str()))?),
                    None => Ok(None),
                }
            })
            .await?;
        let stored = user
            .as_ref()
            .filter(|u| !u.disabled)
            .map(|u| u.password_hash.clone());
        let password_ok = self.hasher.verify(input.password.clone(), stored).await;
        let totp = input.totp;
        self.run(move |v| v.finish_login(password_ok, user, totp, &keys, &account_key, now))
            .await
    }

    fn finish_login(
        &self,
        password_ok: bool,
        user: Option<UserRow>,
        totp: Option<Zeroizing<String>>,
        keys: &[String],
        account_key: &str,
        now: i64,
    ) -> Result<LoginOutcome, VaultError> {
        let user = match (password_ok, user) {
            (true, Some(u)) => u,
            (_, u) => {
                self.throttle.failure(keys, now);
                self.audit_login(u.as_ref(), "deny", "invalid_credentials")?;
                return Err(VaultError::InvalidCredentials);
            }
        };
        let mut totp_at = None;
        if user.totp_confirmed {
            // An empty code field (a form submitted without one) means "no code".
            let code = totp.as_ref().filter(|c| !c.trim().is_empty());
            let Some(code) = code else {
                self.audit_login(Some(&user), "deny", "totp_required")?;
                return Err(VaultError::TotpRequired);
            };
            if !self.check_second_factor(&user, code, true)? {
                self.throttle.failure(keys, now);
                self.audit_login(Some(&user), "deny", "invalid_credentials")?;
                return Err(VaultError::InvalidCredentials);
            }
            totp_at = Some(now);
        }
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
            crate::audit::append(
                tx,
                &self.now_str(),
                &crate::audit::Entry {
                    actor: &user.id,
                    role: &user.role,
                    action: "login",
                    target: &format!("user:{}", user.id),
                    decision: "allow",
                    outcome: if must_enrol { "must_enrol" } else { "ok" },
                },
            )?;
            Ok(())
        })?;
        self.throttle.success(account_key);
        Ok(LoginOutcome {
            token,
            user: UserView::from(&user),
            must_enrol,
        })
    }

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
            return Err(VaultError::BadRequest(
                "invalid_code",
                "that code is not valid (or was already used)".into(),
            ));
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
                    role: &session.actor.role,
                    action: "logout",
                    target: &format!("user:{}", session.actor.id),
                    decision: "allow",
                    outcome: "ok",
                },
            )?;
            Ok(())
        })
    }

    /// Starts TOTP enrolment for the signed-in user (replacing an unconfirmed one).
    pub fn enrol_totp(&self, session: &SessionInfo) -> Result<Enrolment, VaultError> {
        let user = self
            .db
            .read(|tx| tx.user(&session.actor.id))?
            .ok_or(VaultError::Unauthenticated)?;
        if user.totp_confirmed {
            return Err(VaultError::Conflict(
                "already_enrolled",
                "this account already has an authenticator; ask an administrator to reset it"
                    .into(),
            ));
        }
        let secret = TotpSecret::generate();
        let sealed = self.auth_key.seal(user.id.as_bytes(), secret.as_bytes())?;
        self.db
            .write(|tx| tx.set_totp(&user.id, Some(&sealed), false))?;
        Ok(Enrolment {
            secret: secret.to_base32().to_string(),
            otpauth_uri: secret.otpauth_uri(&user.username).to_string(),
            qr_svg: secret.qr_svg(&user.username).to_string(),
        })
    }

    /// Confirms enrolment with a first valid code; returns the recovery codes (once).
    pub fn confirm_totp(
        &self,
        session: &mut SessionInfo,
        code: &str,
    ) -> Result<Vec<Zeroizing<String>>, VaultError> {
        let user = self
            .db
            .read(|tx| tx.user(&session.actor.id))?
            .ok_or(VaultError::Unauthenticated)?;
        if user.totp_confirmed || user.totp_sealed.is_none() {
            return Err(VaultError::Conflict(
                "not_enrolling",
                "start enrolment first".into(),
            ));
        }
        if !self.check_second_factor(&user, code, false)? {
            return Err(VaultError::BadRequest(
                "invalid_code",
                "that code is not valid; check the time on your phone".into(),
            ));
        }
        let codes = auth::generate_recovery_codes();
        let hashes: Vec<Vec<u8>> = codes
            .iter()
            .map(|c| self.auth_key.token_hash(c.as_bytes()))
            .collect();
        let now = self.clock.unix();
        let target = format!("user:{}", user.id);
        self.db.write(|tx| -> Result<(), VaultError> {
            tx.confirm_totp(&user.id)?;
            tx.set_recovery_codes(&user.id, &hashes)?;
            tx.touch_session(&session.token_hash, now, Some(now))?;
            crate::audit::append(
                tx,
                &self.now_str(),
                &crate::audit::Entry {
                    actor: &user.id,
                    role: &user.role,
                    action: "totp_enrol",
                    target: &target,
                    decision: "allow",
                    outcome: "ok",
                },
            )?;
            Ok(())
        })?;
        session.must_enrol = false;
        session.actor.second_factor = true;
        session.actor.fresh = true;
        Ok(codes)
    }

    /// Creates an account (admins: caseworkers of their office; superadmin: anyone).
    pub async fn create_user(
        self: &Arc<Self>,
        actor: &Actor,
        nu: NewUser,
    ) -> Result<UserView, VaultError> {
        let username = Username::parse(&nu.username).ok_or_else(|| {
            VaultError::BadRequest(
                "invalid_username",
                "a username has 3 to 64 of a-z, 0-9, '.', '_' or '-', starting with a letter"
                    .into(),
            )
        })?;
        if !auth::ROLES.contains(&nu.role.as_str()) {
            return Err(VaultError::BadRequest(
                "invalid_role",
                "role is superadmin, admin, caseworker, partner or auditor".into(),
            ));
        }
        let needs_office = matches!(nu.role.as_str(), "admin" | "caseworker");
        if needs_office != nu.office.is_some() {
            return Err(VaultError::BadRequest(
                "invalid_office",
                "admins and caseworkers belong to an office; other roles do not".into(),
            ));
        }
        auth::check_new_password(&nu.password)
            .map_err(|e| VaultError::BadRequest("weak_password", e.to_string()))?;
        let id = new_id();
        let (a, role, office, target) = (
            actor.clone(),
            nu.role.clone(),
            nu.office.clone(),
            format!("user:{id}"),
        );
        let allowed = self
            .run(move |v| {
                let resource = match &office {
                    Some(o) => Resource::Office(o),
                    None => Resource::System,
                };
                let allowed =
                    v.authorize_ctx(&a, Action::ManageUsers, &resource, target, Some(&role))?;
                if let Some(o) = &office
                    && v.db.read(|tx| tx.office(o))?.is_none()
                {
                    v.record_now(&allowed, "invalid_input")?;
                    return Err(VaultError::BadRequest(
                        "invalid_office",
                        "no such office".into(),
                    ));
                }
                Ok(allowed)
            })
            .await?;
        let hash = self
            .hasher
            .hash(nu.password.clone())
            .await
            .map_err(VaultError::Internal)?;
        self.run(move |v| {
            let now = v.now_str();
            let row_org = if nu.role == "partner" {
                nu.org.clone()
            } else {
                None
            };
            let created = v.db.write(|tx| {
                tx.insert_user(&crate::store::NewUserRow {
                    id: &id,
                    username: username.as_str(),
                    role: &nu.role,
                    office: nu.office.as_deref(),
                    org: row_org.as_deref(),
                    supervisor: nu.supervisor && nu.role == "caseworker",
                    password_hash: &hash,
                    created_at: &now,
                })?;
                v.record(tx, &allowed, "ok")
            });
            if let Err(e) = created {
                // The username is taken (or storage failed): the decision is still audited.
                v.record_now(&allowed, "failed")?;
                return Err(e);
            }
            let row = v.db.read(|tx| tx.user(&id))?.ok_or(VaultError::NotFound)?;
            Ok(UserView::from(&row))
        })
        .await
    }

    /// Sets a user's TOTP seed directly, already confirmed (demo set-up, CLI).
    pub fn set_totp_secret_as_operator(
        &self,
        user_id: &str,
        secret: &TotpSecret,
    ) -> Result<(), VaultError> {
        let sealed = self.auth_key.seal(user_id.as_bytes(), secret.as_bytes())?;
        self.db
            .write(|tx| tx.set_totp(user_id, Some(&sealed), true))?;
        Ok(())
    }

    fn managed_user(
        &self,
        actor: &Actor,
        user_id: &str,
        what: &str,
    ) -> Result<(UserRow, super::Allowed), VaultError> {
        let user = match parse_id(user_id) {
            Some(id) => self.db.read(|tx| tx.user(&id))?,
            None => None,
        };
        let Some(user) = user else {
            self.audit_now(actor, "manage_users", "user:unknown", "deny", "not_found")?;
            return Err(VaultError::NotFound);
        };
        let resource = match &user.office {
            Some(o) => Resource::Office(o),
            None => Resource::System,
        };
        let allowed = self.authorize_ctx(
            actor,
            Action::ManageUsers,
            &resource,
            format!("user:{} {what}", user.id),
            Some(&user.role),
        )?;
        Ok((user, allowed))
    }

    /// Disables (or re-enables) an account; its sessions end at once.
    pub fn set_user_disabled(
        &self,
        actor: &Actor,
        user_id: &str,
        disabled: bool,
    ) -> Result<(), VaultError> {
        let (user, allowed) =
            self.managed_user(actor, user_id, if disabled { "disable" } else { "enable" })?;
        self.db.write(|tx| {
            tx.set_disabled(&user.id, disabled)?;
            tx.delete_user_sessions(&user.id)?;
            self.record(tx, &allowed, "ok")
        })
    }

    /// Resets a password (and ends the user's sessions).
    pub async fn reset_password(
        self: &Arc<Self>,
        actor: &Actor,
        user_id: &str,
        password: Zeroizing<String>,
    ) -> Result<(), VaultError> {
        auth::check_new_password(&password)
            .map_err(|e| VaultError::BadRequest("weak_password", e.to_string()))?;
        let (a, uid) = (actor.clone(), user_id.to_string());
        let (user, allowed) = self
            .run(move |v| v.managed_user(&a, &uid, "reset_password"))
            .await?;
        let hash = self
            .hasher
            .hash(password)
            .await
            .map_err(VaultError::Internal)?;
        self.run(move |v| {
            v.db.write(|tx| {
                tx.set_password(&user.id, &hash)?;
                tx.delete_user_sessions(&user.id)?;
                v.record(tx, &allowed, "ok")
            })
        })
        .await
    }

    /// Resets a user's TOTP: they must enrol again at next sign-in.
    pub fn reset_totp(&self, actor: &Actor, user_id: &str) -> Result<(), VaultError> {
        let (user, allowed) = self.managed_user(actor, user_id, "reset_totp")?;
        self.db.write(|tx| {
            tx.set_totp(&user.id, None, false)?;
            tx.set_recovery_codes(&user.id, &[])?;
            tx.delete_user_sessions(&user.id)?;
            self.record(tx, &allowed, "ok")
        })
    }

    /// Lists accounts: an admin sees their office, the superadmin everyone.
    pub fn list_users(&self, actor: &Actor) -> Result<Vec<UserView>, VaultError> {
        let (resource, office) = match (&actor.role[..], &actor.office) {
            ("admin", Some(o)) => (Resource::Office(o), Some(o.as_str())),
            _ => (Resource::System, None),
        };
        let allowed = self.authorize_ctx(
            actor,
            Action::ManageUsers,
            &resource,
            "users".into(),
            Some("caseworker"),
        )?;
        self.record_now(&allowed, "ok")?;
        let rows = self.db.read(|tx| tx.users(office))?;
        Ok(rows.iter().map(UserView::from).collect())
    }

    /// Finds a user by name (CLI).
    pub fn user_by_name(&self, name: &str) -> Result<Option<UserView>, VaultError> {
        Ok(self
            .db
            .read(|tx| tx.user_by_name(name))?
            .as_ref()
            .map(UserView::from))
    }
}

/// Exposes a secret string (for the few places that must hand one out).
pub fn expose(s: &age::secrecy::SecretString) -> &str {
    s.expose_secret()
}
