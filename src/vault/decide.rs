//! The one decision point and the audit entries it writes. Every operation asks
//! [`Vault::authorize`] first: a deny is audited here and becomes the error the client
//! sees (a case the actor may not see answers exactly like a missing one); an allow
//! returns an [`Allowed`] token whose entry the operation writes with its outcome, in
//! the same transaction as the change where there is one.
//!
//! Invariant: an action whose audit entry cannot be written does not happen; only
//! users are decided by the policy (the operator is allowed and audited, the vault's
//! own pseudo-actors are refused).
use super::{Actor, Vault, VaultError, Who};
use crate::audit;
use crate::policy::{Action, Ctx, Resource, Role};
use crate::store::Tx;

/// A decision that allowed the action; its audit entry is written with the outcome.
#[must_use]
pub(crate) struct Allowed {
    pub(super) action: &'static str,
    pub(super) target: String,
    pub(super) actor: String,
    pub(super) role: &'static str,
}

impl Vault {
    /// Writes one audit entry in its own transaction (fail closed: an error here
    /// stops the caller).
    pub(super) fn audit_now(
        &self,
        actor: &Actor,
        action: &str,
        target: &str,
        decision: &str,
        outcome: &str,
    ) -> Result<(), VaultError> {
        let time = self.now_str();
        self.db.write(|tx| {
            audit::append(
                tx,
                &time,
                &audit::Entry {
                    actor: &actor.id,
                    role: actor.who.audit_name(),
                    action,
                    target,
                    decision,
                    outcome,
                },
            )
            .map_err(VaultError::from)
        })?;
        Ok(())
    }

    /// The one decision point. A deny is audited here and turned into the error the
    /// client sees; an allow returns a token whose entry the caller writes with the
    /// outcome (in the same transaction as the change, where there is one).
    pub(super) fn authorize(
        &self,
        actor: &Actor,
        action: Action,
        resource: &Resource<'_>,
        target: String,
    ) -> Result<Allowed, VaultError> {
        self.authorize_ctx(actor, action, resource, target, None)
    }

    pub(super) fn authorize_ctx(
        &self,
        actor: &Actor,
        action: Action,
        resource: &Resource<'_>,
        target: String,
        target_role: Option<Role>,
    ) -> Result<Allowed, VaultError> {
        let ctx = |fresh: bool| Ctx { fresh, target_role };
        let allowed = |actor: &Actor| Allowed {
            action: action.name(),
            target: target.clone(),
            actor: actor.id.clone(),
            role: actor.who.audit_name(),
        };
        let role = match actor.who {
            Who::User(role) => role,
            // The machine operator (command line, demo set-up) holds the data directory
            // and the passphrases; no policy can stop it, but it is still audited.
            Who::Operator => return Ok(allowed(actor)),
            // The vault's own pseudo-actors are never granted anything by a decision.
            Who::System | Who::Anonymous => {
                self.audit_now(actor, action.name(), &target, "deny", "denied")?;
                return Err(VaultError::Forbidden);
            }
        };
        let principal = actor.principal(role);
        if self
            .policy
            .decide(&principal, action, resource, &ctx(actor.fresh))
        {
            return Ok(allowed(actor));
        }
        let step_up = !actor.fresh && self.policy.decide(&principal, action, resource, &ctx(true));
        let outcome = if step_up {
            "step_up_required"
        } else {
            "denied"
        };
        self.audit_now(actor, action.name(), &target, "deny", outcome)?;
        Err(if step_up {
            VaultError::StepUpRequired
        } else if matches!(resource, Resource::Case(_)) {
            VaultError::NotFound
        } else {
            VaultError::Forbidden
        })
    }

    /// Records a "not found" for a case id that does not exist, exactly as a denial
    /// of an existing one is recorded.
    pub(super) fn audit_missing(
        &self,
        actor: &Actor,
        action: Action,
        target: &str,
    ) -> Result<VaultError, VaultError> {
        self.audit_now(actor, action.name(), target, "deny", "denied")?;
        Ok(VaultError::NotFound)
    }

    pub(super) fn record(&self, tx: &Tx<'_>, a: &Allowed, outcome: &str) -> Result<(), VaultError> {
        let time = self.now_str();
        audit::append(
            tx,
            &time,
            &audit::Entry {
                actor: &a.actor,
                role: a.role,
                action: a.action,
                target: &a.target,
                decision: "allow",
                outcome,
            },
        )?;
        Ok(())
    }

    pub(super) fn record_now(&self, a: &Allowed, outcome: &str) -> Result<(), VaultError> {
        self.db.write(|tx| self.record(tx, a, outcome))
    }

    /// Decides an allowed action again, on facts read now in `tx`, for an operation
    /// that takes long enough for them to change (an upload streaming while its share
    /// is revoked or its account disabled): the actor's account is read afresh, then
    /// the same policy question is asked. A refusal is audited in `tx` under the
    /// original entry's target, so it commits exactly when the caller's change would
    /// have; the caller then makes no change and answers as if the case were missing.
    pub(super) fn decide_again(
        &self,
        tx: &Tx<'_>,
        a: &Allowed,
        actor: &Actor,
        action: Action,
        resource: Option<&Resource<'_>>,
    ) -> Result<bool, VaultError> {
        let permitted = match (actor.who, resource) {
            // The resource is gone (a case purged meanwhile).
            (_, None) => false,
            (Who::Operator, Some(_)) => true,
            (Who::System | Who::Anonymous, Some(_)) => false,
            (Who::User(_), Some(resource)) => match tx.user(&actor.id)? {
                Some(row) if !row.disabled => {
                    let now = Actor::from_user(&row, actor.fresh);
                    let role = match now.who {
                        Who::User(r) => r,
                        _ => return Ok(false),
                    };
                    let ctx = Ctx {
                        fresh: now.fresh,
                        target_role: None,
                    };
                    self.policy
                        .decide(&now.principal(role), action, resource, &ctx)
                }
                _ => false,
            },
        };
        if !permitted {
            let time = self.now_str();
            audit::append(
                tx,
                &time,
                &audit::Entry {
                    actor: &a.actor,
                    role: a.role,
                    action: a.action,
                    target: &a.target,
                    decision: "deny",
                    outcome: "no_longer_allowed",
                },
            )?;
        }
        Ok(permitted)
    }
}
