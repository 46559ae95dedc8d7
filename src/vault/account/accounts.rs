//! Accounts: creating users, disabling and enabling them, resetting passwords and
//! authenticators, listing them, and the operator's direct set-up paths (CLI, demo).
//!
//! Invariants: every change is one `ManageUsers` decision that sees the target's role
//! (an admin manages only the caseworkers of their office) and is audited with its
//! outcome; an unknown user id is audited and answered as not found; a new password
//! meets the password rules before it is hashed; disabling an account or resetting its
//! password or authenticator ends all its sessions in the same transaction.
use std::sync::Arc;

use age::secrecy::ExposeSecret;
use serde::Serialize;
use zeroize::Zeroizing;

use super::confirm::needs_confirmation;
use crate::auth::{self, Username};
use crate::policy::{Action, Resource, Role};
use crate::store::UserRow;
use crate::vault::guard::target::{Target, Word};
use crate::vault::{Actor, StepUp, Vault, VaultError, new_id, parse_id};

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
    /// Waiting for a supervisor's (or the office passphrase's) confirmation before it
    /// may read client data.
    pub access_pending: bool,
}

impl From<&UserRow> for UserView {
    fn from(u: &UserRow) -> Self {
        UserView {
            id: u.id.clone(),
            username: u.username.clone(),
            role: u.role.to_string(),
            office: u.office.clone(),
            org: u.org.clone(),
            supervisor: u.supervisor,
            totp_enrolled: u.totp_confirmed,
            disabled: u.disabled,
            access_pending: u.access_pending,
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

impl Vault {
    /// Creates an account (admins: caseworkers of their office; superadmin: anyone).
    pub async fn create_user(
        self: &Arc<Self>,
        actor: &Actor,
        nu: NewUser,
        step: StepUp,
    ) -> Result<UserView, VaultError> {
        let actor = &self.prove(actor.clone(), step).await?;
        let username = Username::parse(&nu.username).ok_or_else(|| {
            VaultError::bad(
                "invalid_username",
                "a username has 3 to 64 of a-z, 0-9, '.', '_' or '-', starting with a letter",
            )
        })?;
        let Some(new_role) = Role::parse(&nu.role) else {
            return Err(VaultError::bad(
                "invalid_role",
                "role is superadmin, admin, caseworker, partner or auditor",
            ));
        };
        if new_role.has_office() != nu.office.is_some() {
            return Err(VaultError::bad(
                "invalid_office",
                "admins and caseworkers belong to an office; other roles do not",
            ));
        }
        auth::check_new_password(&nu.password)
            .map_err(|e| VaultError::bad("weak_password", e.to_string()))?;
        if let Some(org) = &nu.org {
            crate::vault::case::casework::check_line("org", org, 200, false)?;
        }
        let id = new_id();
        let (a, role, office, target) = (
            actor.clone(),
            new_role,
            nu.office.clone(),
            Target::user(&id),
        );
        let allowed = self
            .run(move |v| {
                let resource = match &office {
                    Some(o) => Resource::Office(o),
                    None => Resource::System,
                };
                let ctx = crate::policy::Ctx {
                    target_role: Some(role),
                    grants_access: needs_confirmation(&a, role),
                    ..Default::default()
                };
                let allowed = v.authorize_in(&a, Action::ManageUsers, &resource, target, ctx)?;
                if let Some(o) = &office
                    && v.db.read(|tx| tx.office(o))?.is_none()
                {
                    v.record_now(&allowed, "invalid_input")?;
                    return Err(VaultError::bad("invalid_office", "no such office"));
                }
                Ok(allowed)
            })
            .await?;
        let hash = self.hash_new_password(actor, nu.password.clone()).await?;
        let a2 = actor.clone();
        self.run(move |v| {
            let now = v.now_str();
            let row_org = if new_role.has_org() {
                nu.org.clone()
            } else {
                None
            };
            let created = v.db.write(|tx| {
                tx.insert_user(&crate::store::NewUserRow {
                    id: &id,
                    username: username.as_str(),
                    role: new_role,
                    office: nu.office.as_deref(),
                    org: row_org.as_deref(),
                    supervisor: nu.supervisor && new_role == Role::Caseworker,
                    password_hash: &hash,
                    created_at: &now,
                    access_pending: needs_confirmation(&a2, new_role),
                })?;
                v.record(tx, &allowed, "ok")
            });
            if let Err(e) = created {
                // The username is taken (or storage failed): the decision is still audited.
                v.record_now(&allowed, "failed")?;
                return Err(match e {
                    VaultError::Conflict { code: "exists", .. } => VaultError::conflict(
                        "exists",
                        format!(
                            "an account named {} already exists; choose another username",
                            username.as_str()
                        ),
                    ),
                    e => e,
                });
            }
            let row = v.db.read(|tx| tx.user(&id))?.ok_or(VaultError::NotFound)?;
            Ok(UserView::from(&row))
        })
        .await
    }

    fn managed_user(
        &self,
        actor: &Actor,
        user_id: &str,
        what: Word,
    ) -> Result<(UserRow, crate::vault::Allowed), VaultError> {
        let user = match parse_id(user_id) {
            Some(id) => self.db.read(|tx| tx.user(&id))?,
            None => None,
        };
        let Some(user) = user else {
            self.audit_now(
                actor,
                "manage_users",
                &Target::unknown_user(),
                "deny",
                "not_found",
            )?;
            return Err(VaultError::NotFound);
        };
        let resource = match &user.office {
            Some(o) => Resource::Office(o),
            None => Resource::System,
        };
        // Enabling an account or setting its password or authenticator gives it a way
        // in: for an account that can read, that needs a fresh code (rule 19).
        let grants = matches!(what, Word::Enable | Word::ResetPassword | Word::ResetTotp)
            && needs_confirmation(actor, user.role);
        let ctx = crate::policy::Ctx {
            target_role: Some(user.role),
            grants_access: grants,
            ..Default::default()
        };
        let allowed = self.authorize_in(
            actor,
            Action::ManageUsers,
            &resource,
            Target::user(&user.id).with(what),
            ctx,
        )?;
        Ok((user, allowed))
    }

    /// Disables (or re-enables) an account; its sessions end at once.
    pub async fn set_user_disabled(
        self: &Arc<Self>,
        actor: &Actor,
        user_id: &str,
        disabled: bool,
        step: StepUp,
    ) -> Result<(), VaultError> {
        let actor = &self.prove(actor.clone(), step).await?;
        let (actor, user_id) = (actor.clone(), user_id.to_owned());
        self.run(move |v| v.set_user_disabled_blocking(&actor, &user_id, disabled))
            .await
    }

    pub(in crate::vault) fn set_user_disabled_blocking(
        &self,
        actor: &Actor,
        user_id: &str,
        disabled: bool,
    ) -> Result<(), VaultError> {
        let (user, allowed) = self.managed_user(
            actor,
            user_id,
            if disabled {
                Word::Disable
            } else {
                Word::Enable
            },
        )?;
        self.db.write(|tx| {
            tx.set_disabled(&user.id, disabled)?;
            tx.delete_user_sessions(&user.id)?;
            if disabled {
                tx.revoke_links_by(&user.id, None, self.clock.unix())?;
            } else {
                self.withhold_reading(tx, actor, &user)?;
            }
            self.record(tx, &allowed, "ok")
        })
    }

    /// Resets a password (and ends the user's sessions).
    pub async fn reset_password(
        self: &Arc<Self>,
        actor: &Actor,
        user_id: &str,
        password: Zeroizing<String>,
        step: StepUp,
    ) -> Result<(), VaultError> {
        let actor = &self.prove(actor.clone(), step).await?;
        auth::check_new_password(&password)
            .map_err(|e| VaultError::bad("weak_password", e.to_string()))?;
        let (a, uid) = (actor.clone(), user_id.to_string());
        let (user, allowed) = self
            .run(move |v| v.managed_user(&a, &uid, Word::ResetPassword))
            .await?;
        let hash = self.hash_new_password(actor, password).await?;
        let a = actor.clone();
        self.run(move |v| {
            v.db.write(|tx| {
                tx.set_password(&user.id, &hash)?;
                // An administrator's reset takes every passkey of the account with it.
                tx.delete_user_passkeys(&user.id)?;
                tx.delete_user_sessions(&user.id)?;
                v.withhold_reading(tx, &a, &user)?;
                v.record(tx, &allowed, "ok")
            })
        })
        .await
    }

    /// Resets a user's TOTP: they must enrol again at next sign-in.
    pub async fn reset_totp(
        self: &Arc<Self>,
        actor: &Actor,
        user_id: &str,
        step: StepUp,
    ) -> Result<(), VaultError> {
        let actor = &self.prove(actor.clone(), step).await?;
        let (actor, user_id) = (actor.clone(), user_id.to_owned());
        self.run(move |v| v.reset_totp_blocking(&actor, &user_id))
            .await
    }

    pub(in crate::vault) fn reset_totp_blocking(
        &self,
        actor: &Actor,
        user_id: &str,
    ) -> Result<(), VaultError> {
        let (user, allowed) = self.managed_user(actor, user_id, Word::ResetTotp)?;
        self.db.write(|tx| {
            tx.set_totp(&user.id, None, false)?;
            tx.delete_user_passkeys(&user.id)?;
            tx.set_recovery_codes(&user.id, &[])?;
            tx.delete_user_sessions(&user.id)?;
            self.withhold_reading(tx, actor, &user)?;
            self.record(tx, &allowed, "ok")
        })
    }

    /// Lists accounts: an admin sees their office, the superadmin everyone.
    pub async fn list_users(self: &Arc<Self>, actor: &Actor) -> Result<Vec<UserView>, VaultError> {
        let actor = actor.clone();
        self.run(move |v| v.list_users_blocking(&actor)).await
    }

    pub(in crate::vault) fn list_users_blocking(
        &self,
        actor: &Actor,
    ) -> Result<Vec<UserView>, VaultError> {
        let (resource, office) = match (actor.is(Role::Admin), &actor.office) {
            (true, Some(o)) => (Resource::Office(o), Some(o.as_str())),
            _ => (Resource::System, None),
        };
        let allowed = self.authorize_ctx(
            actor,
            Action::ManageUsers,
            &resource,
            Target::word(Word::Users),
            Some(Role::Caseworker),
        )?;
        self.record_now(&allowed, "ok")?;
        let rows = self.db.read(|tx| tx.users(office))?;
        Ok(rows.iter().map(UserView::from).collect())
    }

    /// Finds an account by username, without a decision: for the audit page's
    /// "person" filter (whose listing is decided) and the operator.
    pub(crate) fn user_by_name(&self, name: &str) -> Result<Option<UserView>, VaultError> {
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
