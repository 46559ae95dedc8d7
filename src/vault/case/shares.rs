//! Who else reaches a case: shares to partner attorneys (with an expiry, revocable at
//! once) and assignment of a caseworker of the case's office.
//!
//! Invariant: a share names an enabled partner account and a future expiry; revoking
//! stamps the share, so the next request by that partner is decided without it.
use std::sync::Arc;

use serde::Serialize;

use crate::auth::Username;
use crate::clock::parse_rfc3339;
use crate::policy::{Action, Role};
use crate::vault::case::cases::bad;
use crate::vault::guard::target::Target;
use crate::vault::{Actor, StepUp, Vault, VaultError, new_id, parse_id};

/// A share as shown on a case.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShareView {
    /// Share id.
    pub id: String,
    /// Partner user id.
    pub user_id: String,
    /// Partner username.
    pub username: String,
    /// `read` / `upload`.
    pub permission: String,
    /// The partner also sees the case's notes and events.
    pub notes: bool,
    /// RFC 3339.
    pub expires_at: String,
    /// `live`, `expired` or `revoked`.
    pub state: String,
}

/// What a share says.
#[derive(Debug, Clone)]
pub struct ShareInput {
    /// The partner's username.
    pub username: String,
    /// `read` or `upload`.
    pub permission: String,
    /// RFC 3339, in the future.
    pub expires_at: String,
    /// The partner also sees the case's notes and events.
    pub notes: bool,
}

/// What sharing did.
#[derive(Debug, Clone)]
pub struct ShareOutcome {
    /// The share's id.
    pub id: String,
    /// The partner already had a live share of the case, and it was changed.
    pub changed: bool,
}

impl Vault {
    /// Shares a case with a partner until `share.expires_at` (RFC 3339, in the future,
    /// at most `[sharing] max_share_days` ahead). A partner with a live share of the
    /// case already has that share changed instead of a second one added.
    pub async fn share_case(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
        share: &ShareInput,
        step: StepUp,
    ) -> Result<ShareOutcome, VaultError> {
        let (actor, case_id, s) = (actor.clone(), case_id.to_owned(), share.clone());
        let actor = self.prove(actor, step).await?;
        self.run(move |v| {
            v.share_case_blocking(
                &actor,
                &case_id,
                &s.username,
                &s.permission,
                &s.expires_at,
                s.notes,
            )
        })
        .await
    }

    pub(in crate::vault) fn share_case_blocking(
        &self,
        actor: &Actor,
        case_id: &str,
        username: &str,
        permission: &str,
        expires_at: &str,
        notes: bool,
    ) -> Result<ShareOutcome, VaultError> {
        let (case, allowed) = self.case_for(actor, Action::ShareCase, case_id, None)?;
        let checked = (|| {
            if !matches!(permission, "read" | "upload") {
                return Err(bad(
                    "invalid_permission",
                    "permission is \"read\" or \"upload\"",
                ));
            }
            let expires = parse_rfc3339(expires_at)
                .ok_or_else(|| {
                    bad(
                        "invalid_time",
                        "expires_at must be an RFC 3339 time, e.g. 2026-12-31T23:59:59Z",
                    )
                })?
                .unix_timestamp();
            if expires <= self.clock.unix() {
                return Err(bad("invalid_time", "expires_at must be in the future"));
            }
            let max_days = self.settings.sharing.max_share_days;
            if expires > self.clock.unix() + i64::from(max_days) * 86_400 {
                return Err(bad(
                    "invalid_time",
                    &format!("expires_at may be at most {max_days} days from now"),
                ));
            }
            let partner = match Username::parse(username) {
                Some(u) => self.db.read(|tx| tx.user_by_name(u.as_str()))?,
                None => None,
            };
            let partner = partner
                .filter(|u| u.role == Role::Partner && !u.disabled)
                .ok_or_else(|| bad("unknown_partner", "no partner account has that username"))?;
            Ok((expires, partner))
        })();
        // An allowed decision is audited whatever becomes of the request.
        let (expires, partner) = match checked {
            Ok(v) => v,
            Err(e) => {
                self.record_now(&allowed, "invalid_input")?;
                return Err(e);
            }
        };
        let now = self.now_str();
        let unix_now = self.clock.unix();
        // One live share per partner per case: sharing again changes that share (what
        // it allows, notes, until when). Looked up inside the write, which is serial,
        // so two requests at once cannot both add one.
        self.db.write(|tx| {
            let live = tx.shares(&case.id)?.into_iter().find(|s| {
                s.user_id == partner.id && s.revoked_at.is_none() && s.expires_at > unix_now
            });
            let notes_word = if notes { " notes=yes" } else { "" };
            match live {
                Some(s) => {
                    tx.update_share(&s.id, permission, expires, notes)?;
                    let allowed = allowed.and(Target::share(&s.id).and(Target::user(&partner.id)));
                    self.record(tx, &allowed, &format!("changed{notes_word}"))?;
                    Ok(ShareOutcome {
                        id: s.id,
                        changed: true,
                    })
                }
                None => {
                    let id = new_id();
                    tx.insert_share(&crate::store::NewShareRow {
                        id: &id,
                        case_id: &case.id,
                        user_id: &partner.id,
                        permission,
                        expires_at: expires,
                        notes,
                        created_by: &actor.id,
                        created_at: &now,
                    })?;
                    let allowed = allowed.and(Target::share(&id).and(Target::user(&partner.id)));
                    self.record(tx, &allowed, &format!("ok{notes_word}"))?;
                    Ok(ShareOutcome { id, changed: false })
                }
            }
        })
    }

    /// Revokes a share at once.
    pub async fn revoke_share(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
        share_id: &str,
        step: StepUp,
    ) -> Result<(), VaultError> {
        let (actor, case_id, share_id) = (actor.clone(), case_id.to_owned(), share_id.to_owned());
        let actor = self.prove(actor, step).await?;
        self.run(move |v| v.revoke_share_blocking(&actor, &case_id, &share_id))
            .await
    }

    pub(in crate::vault) fn revoke_share_blocking(
        &self,
        actor: &Actor,
        case_id: &str,
        share_id: &str,
    ) -> Result<(), VaultError> {
        let (case, allowed) = self.case_for(actor, Action::ShareCase, case_id, None)?;
        let Some(share) = parse_id(share_id) else {
            self.record_now(&allowed, "not_found")?;
            return Err(VaultError::NotFound);
        };
        let now = self.clock.unix();
        let allowed = allowed.and(Target::share(&share));
        let revoked = self.db.write(|tx| {
            let partner = tx.share_user(&case.id, &share)?;
            let revoked = tx.revoke_share(&case.id, &share, now)?;
            if revoked {
                // The partner's upload links to this case end with the share.
                if let Some(p) = &partner {
                    tx.revoke_links_by(p, Some(&case.id), now)?;
                }
                self.record(tx, &allowed, "ok")?;
            }
            Ok::<_, VaultError>(revoked)
        })?;
        if !revoked {
            // Unknown, of another case, or already revoked: audited, then 404.
            self.record_now(&allowed, "not_found")?;
            return Err(VaultError::NotFound);
        }
        Ok(())
    }

    /// Assigns a caseworker of the case's office to the case.
    pub async fn assign_case(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
        user_id: &str,
    ) -> Result<(), VaultError> {
        let (actor, case_id, user_id) = (actor.clone(), case_id.to_owned(), user_id.to_owned());
        self.run(move |v| v.assign_case_blocking(&actor, &case_id, &user_id))
            .await
    }

    pub(in crate::vault) fn assign_case_blocking(
        &self,
        actor: &Actor,
        case_id: &str,
        user_id: &str,
    ) -> Result<(), VaultError> {
        let (case, allowed) = self.case_for(actor, Action::AssignCase, case_id, None)?;
        let user = match parse_id(user_id) {
            Some(u) => self.db.read(|tx| tx.user(&u))?,
            None => None,
        };
        let Some(user) = user.filter(|u| {
            u.role == Role::Caseworker && u.office.as_deref() == Some(case.office.as_str())
        }) else {
            self.record_now(&allowed, "invalid_input")?;
            return Err(bad(
                "unknown_user",
                "no caseworker of this office has that id",
            ));
        };
        let allowed = allowed.and(Target::user(&user.id));
        self.db.write(|tx| {
            tx.assign(&case.id, &user.id)?;
            self.record(tx, &allowed, "ok")
        })
    }
}
