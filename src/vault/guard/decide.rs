//! The one decision point and the audit entries it writes. Every operation asks
//! [`Vault::authorize`] first: a deny is audited here and becomes the error the client
//! sees (a case the actor may not see answers exactly like a missing one); an allow
//! returns an [`Allowed`] token whose entry the operation writes with its outcome, in
//! the same transaction as the change where there is one.
//!
//! Invariant: an action whose audit entry cannot be written does not happen; only
//! users are decided by the policy (the operator is allowed and audited, the vault's
//! own pseudo-actors are refused); every entry's target is a [`Target`], built from
//! validated ids and slugs only.
use crate::audit;
use crate::policy::{Action, Ctx, Resource, Role};
use crate::store::WriteTx;
use crate::vault::guard::audit_group::Pending;
use crate::vault::guard::target::Target;
use crate::vault::{Actor, Vault, VaultError, Who};

/// A decision that allowed the action; its audit entry is written with the outcome.
#[must_use]
#[derive(Clone)]
pub(crate) struct Allowed {
    pub(in crate::vault) action: &'static str,
    pub(in crate::vault) target: Target,
    pub(in crate::vault) actor: String,
    pub(in crate::vault) role: &'static str,
}

impl Allowed {
    /// Who the decision's entries name.
    pub(in crate::vault) fn by(&self) -> By<'_> {
        By {
            id: &self.actor,
            role: self.role,
        }
    }

    /// The same decision, its entry naming more (the id the action just created, the
    /// share or account it reached).
    pub(in crate::vault) fn and(self, more: Target) -> Allowed {
        Allowed {
            target: self.target.and(more),
            ..self
        }
    }
}

/// Who an entry is by: an actor id and the role column (both ours, never a client's).
pub(in crate::vault) struct By<'a> {
    pub(in crate::vault) id: &'a str,
    pub(in crate::vault) role: &'a str,
}

impl<'a> From<&'a Actor> for By<'a> {
    fn from(a: &'a Actor) -> Self {
        By {
            id: &a.id,
            role: a.who.audit_name(),
        }
    }
}

impl Vault {
    /// Appends one entry in the caller's transaction: the one way `vault` writes the
    /// log, so that every target is a [`Target`].
    pub(in crate::vault) fn write_entry(
        &self,
        tx: &WriteTx<'_>,
        by: By<'_>,
        action: &str,
        target: &Target,
        decision: &str,
        outcome: &str,
    ) -> Result<(), VaultError> {
        audit::append(
            tx,
            &self.now_str(),
            &audit::Entry {
                actor: by.id,
                role: by.role,
                action,
                target: target.as_str(),
                decision,
                outcome,
            },
        )?;
        Ok(())
    }

    /// Writes one audit entry on its own, group-committed with the entries of
    /// concurrent requests; returns once it is durable (fail closed: an error here
    /// stops the caller).
    pub(in crate::vault) fn audit_now(
        &self,
        actor: &Actor,
        action: &str,
        target: &Target,
        decision: &str,
        outcome: &str,
    ) -> Result<(), VaultError> {
        self.append_alone(actor.into(), action, target, decision, outcome)
    }

    fn append_alone(
        &self,
        by: By<'_>,
        action: &str,
        target: &Target,
        decision: &str,
        outcome: &str,
    ) -> Result<(), VaultError> {
        let entry = Pending {
            time: self.now_str(),
            actor: by.id.to_owned(),
            role: by.role.to_owned(),
            action: action.to_owned(),
            target: target.as_str().to_owned(),
            decision: decision.to_owned(),
            outcome: outcome.to_owned(),
        };
        self.audit_group
            .append(&self.db, entry)
            .map_err(|e| VaultError::Internal(format!("audit entry not written: {e}")))
    }

    /// The one decision point. A deny is audited here and turned into the error the
    /// client sees; an allow returns a token whose entry the caller writes with the
    /// outcome (in the same transaction as the change, where there is one).
    pub(in crate::vault) fn authorize(
        &self,
        actor: &Actor,
        action: Action,
        resource: &Resource<'_>,
        target: Target,
    ) -> Result<Allowed, VaultError> {
        self.authorize_ctx(actor, action, resource, target, None)
    }

    pub(in crate::vault) fn authorize_ctx(
        &self,
        actor: &Actor,
        action: Action,
        resource: &Resource<'_>,
        target: Target,
        target_role: Option<Role>,
    ) -> Result<Allowed, VaultError> {
        let base = Ctx {
            target_role,
            ..Ctx::default()
        };
        self.authorize_in(actor, action, resource, target, base)
    }

    /// [`Self::authorize`] with a context of the caller's (the `fresh` field is the
    /// actor's own and is set here).
    pub(in crate::vault) fn authorize_in(
        &self,
        actor: &Actor,
        action: Action,
        resource: &Resource<'_>,
        target: Target,
        base: Ctx,
    ) -> Result<Allowed, VaultError> {
        let ctx = |fresh: bool| Ctx {
            fresh,
            ..base.clone()
        };
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
    pub(in crate::vault) fn audit_missing(
        &self,
        actor: &Actor,
        action: Action,
        target: &Target,
    ) -> Result<VaultError, VaultError> {
        self.audit_now(actor, action.name(), target, "deny", "denied")?;
        Ok(VaultError::NotFound)
    }

    pub(in crate::vault) fn record(
        &self,
        tx: &WriteTx<'_>,
        a: &Allowed,
        outcome: &str,
    ) -> Result<(), VaultError> {
        self.write_entry(tx, a.by(), a.action, &a.target, "allow", outcome)
    }

    /// Records that an action first allowed was refused after all, in `tx` (a client's
    /// upload through a link that was used up, or empty, by the time it finished).
    pub(in crate::vault) fn record_refusal(
        &self,
        tx: &WriteTx<'_>,
        a: &Allowed,
        outcome: &str,
    ) -> Result<(), VaultError> {
        self.write_entry(tx, a.by(), a.action, &a.target, "deny", outcome)
    }

    /// [`Self::record_refusal`] on its own, group-committed.
    pub(in crate::vault) fn record_refusal_now(
        &self,
        a: &Allowed,
        outcome: &str,
    ) -> Result<(), VaultError> {
        self.append_alone(a.by(), a.action, &a.target, "deny", outcome)
    }

    /// Records an allowed action that changed nothing (a read), group-committed.
    pub(in crate::vault) fn record_now(
        &self,
        a: &Allowed,
        outcome: &str,
    ) -> Result<(), VaultError> {
        self.append_alone(a.by(), a.action, &a.target, "allow", outcome)
    }

    /// Decides an allowed action again, on facts read now in `tx`, for an operation
    /// that takes long enough for them to change (an upload streaming while its share
    /// is revoked or its account disabled): the actor's account is read afresh, then
    /// the same policy question is asked. A refusal is audited in `tx` under the
    /// original entry's target, so it commits exactly when the caller's change would
    /// have; the caller then makes no change and answers as if the case were missing.
    pub(in crate::vault) fn decide_again(
        &self,
        tx: &WriteTx<'_>,
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
                        ..Ctx::default()
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
                    target: a.target.as_str(),
                    decision: "deny",
                    outcome: "no_longer_allowed",
                },
            )?;
        }
        Ok(permitted)
    }
}
