//! Answering a two-person approval request: approve, deny, withdraw, and running the
//! action once enough people approved (see `approvals.rs` for the invariants).
use std::sync::Arc;

use crate::store::ApprovalRow;
use crate::vault::guard::target::Target;
use crate::vault::lifecycle::approvals::{ApprovalList, ApprovalView};
use crate::vault::{Actor, StepUp, Vault, VaultError};

/// Which answer an approver gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Approve,
    Deny,
}

impl Answer {
    fn step(self) -> &'static str {
        match self {
            Answer::Approve => "approval_approve",
            Answer::Deny => "approval_deny",
        }
    }
}

fn target(r: &ApprovalRow) -> Target {
    Target::stored_office(&r.office).and(Target::approval(&r.id))
}

fn not_pending(status: &str) -> VaultError {
    VaultError::conflict(
        "not_pending",
        format!("this request is {status}, no longer pending"),
    )
}

impl Vault {
    /// `GET /approvals`: the requests the caller made or may approve.
    pub async fn list_approvals(
        self: &Arc<Self>,
        actor: &Actor,
    ) -> Result<ApprovalList, VaultError> {
        let actor = actor.clone();
        self.run(move |v| v.list_approvals_blocking(&actor)).await
    }

    /// Approves a request (fresh second factor); runs the action when the count is
    /// reached, and answers the request as it then stands.
    pub async fn approve_request(
        self: &Arc<Self>,
        actor: &Actor,
        id: &str,
        step: StepUp,
    ) -> Result<ApprovalView, VaultError> {
        self.answer(actor, id, step, Answer::Approve).await
    }

    /// Denies a request (fresh second factor): it ends, nothing is done.
    pub async fn deny_request(
        self: &Arc<Self>,
        actor: &Actor,
        id: &str,
        step: StepUp,
    ) -> Result<ApprovalView, VaultError> {
        self.answer(actor, id, step, Answer::Deny).await
    }

    async fn answer(
        self: &Arc<Self>,
        actor: &Actor,
        id: &str,
        step: StepUp,
        answer: Answer,
    ) -> Result<ApprovalView, VaultError> {
        let (actor, id) = (actor.clone(), id.to_owned());
        // Whether the caller may see the request is settled before a code is checked,
        // so that a stranger learns nothing from the code's answer.
        let who = actor.clone();
        let idc = id.clone();
        self.run(move |v| v.visible_request(&who, &idc, answer.step()).map(|_| ()))
            .await?;
        let actor = self.prove(actor, step).await?;
        self.run(move |v| v.answer_blocking(&actor, &id, answer))
            .await
    }

    fn answer_blocking(
        &self,
        actor: &Actor,
        id: &str,
        answer: Answer,
    ) -> Result<ApprovalView, VaultError> {
        let step = answer.step();
        let r = self.visible_request(actor, id, step)?;
        let t = target(&r);
        let refuse = |outcome: &str, e: VaultError| -> Result<ApprovalView, VaultError> {
            self.audit_now(actor, step, &t, "deny", outcome)?;
            Err(e)
        };
        if r.requester == actor.id {
            return refuse("own_request", VaultError::Forbidden);
        }
        // The account as it is now: a disabled or unconfirmed one does not answer.
        let Some(me) = self.db.read(|tx| tx.user(&actor.id))? else {
            return refuse("denied", VaultError::Forbidden);
        };
        let now_actor = Actor::from_user(&me, actor.fresh);
        if me.disabled || now_actor.waiting() || !self.may_approve(&now_actor, &r)? {
            return refuse("denied", VaultError::Forbidden);
        }
        if !actor.fresh() {
            return refuse("step_up_required", VaultError::StepUpRequired);
        }
        if self.status_now(&r) == "expired" {
            self.expire(&r)?;
            return refuse("expired", not_pending("expired"));
        }
        if r.status != "pending" {
            return refuse("not_pending", not_pending(&r.status));
        }
        if r.approvers.iter().any(|a| a == &actor.id) {
            return refuse(
                "already_approved",
                VaultError::conflict("already_approved", "you have approved this request already"),
            );
        }
        if answer == Answer::Deny {
            let ok = self.db.write(|tx| {
                let ok = tx.approval_status(&r.id, "pending", "denied", Some(&actor.id), None)?;
                if ok {
                    self.write_entry(tx, actor.into(), step, &t, "allow", "denied")?;
                }
                Ok::<bool, VaultError>(ok)
            })?;
            return self.after_change(actor, &r.id, ok, step, &t);
        }
        let mut approvers = r.approvers.clone();
        approvers.push(actor.id.clone());
        let reached = approvers.len() >= usize::try_from(r.needed).unwrap_or(usize::MAX);
        let status = if reached { "approved" } else { "pending" };
        let ok = self.db.write(|tx| {
            let ok = tx.approval_vote(&r.id, &approvers, status)?;
            if ok {
                let outcome = format!("approved {}/{}", approvers.len(), r.needed);
                self.write_entry(tx, actor.into(), step, &t, "allow", &outcome)?;
            }
            Ok::<bool, VaultError>(ok)
        })?;
        if !ok {
            return self.after_change(actor, &r.id, ok, step, &t);
        }
        if reached {
            self.run_approved(&r)?;
        }
        self.after_change(actor, &r.id, true, step, &t)
    }

    /// The request as it stands after a change, or the conflict when another answer
    /// won the race.
    fn after_change(
        &self,
        actor: &Actor,
        id: &str,
        changed: bool,
        step: &str,
        t: &Target,
    ) -> Result<ApprovalView, VaultError> {
        let r = self
            .db
            .read(|tx| tx.approval(id))?
            .ok_or(VaultError::NotFound)?;
        if !changed {
            self.audit_now(actor, step, t, "deny", "not_pending")?;
            return Err(not_pending(self.status_now(&r)));
        }
        self.approval_view(actor, &r)
    }

    /// Writes a pending request that has passed its expiry as `expired`.
    fn expire(&self, r: &ApprovalRow) -> Result<(), VaultError> {
        let t = target(r);
        self.db.write(|tx| {
            if tx.approval_status(&r.id, "pending", "expired", None, Some("expired"))? {
                let by = crate::vault::guard::decide::By {
                    id: "system",
                    role: "system",
                };
                self.write_entry(tx, by, "approval_expire", &t, "allow", "expired")?;
            }
            Ok(())
        })
    }

    /// Runs an approved request as its requester, decided again now; records the
    /// outcome on the request. A refusal now (a hold placed meanwhile, the requester
    /// disabled or no longer allowed, the office gone) is the answer's error.
    fn run_approved(&self, r: &ApprovalRow) -> Result<(), VaultError> {
        let requester = self.db.read(|tx| tx.user(&r.requester))?;
        let result = match requester {
            // The requester proved a fresh factor when asking; the approvers' fresh
            // factors are the rest of the decision.
            Some(u) if !u.disabled => {
                let who = Actor::from_user(&u, true);
                match (r.action.as_str(), r.case_id.as_deref()) {
                    ("purge_office", _) => self.purge_office_blocking(&who, &r.office).map(|p| {
                        format!(
                            "ok cases={} documents={} bytes={}",
                            p.cases, p.documents, p.bytes
                        )
                    }),
                    ("lift_hold", Some(c)) => self
                        .set_case_hold_blocking(&who, c, false, None)
                        .map(|()| "ok lifted".to_owned()),
                    ("lift_hold", None) => self
                        .set_office_hold_blocking(&who, &r.office, false, None)
                        .map(|()| "ok lifted".to_owned()),
                    _ => Err(VaultError::Forbidden),
                }
            }
            _ => Err(VaultError::Forbidden),
        };
        let (status, outcome, err) = match result {
            Ok(o) => ("done", o, None),
            Err(VaultError::LegalHold) => {
                ("failed", "legal_hold".into(), Some(VaultError::LegalHold))
            }
            Err(VaultError::NotFound) => (
                "failed",
                "not_found".into(),
                Some(VaultError::conflict(
                    "target_gone",
                    "what this request names is gone",
                )),
            ),
            Err(VaultError::Forbidden | VaultError::StepUpRequired) => (
                "failed",
                "no_longer_allowed".into(),
                Some(VaultError::conflict(
                    "no_longer_allowed",
                    "the requester may no longer do this; nothing was done",
                )),
            ),
            Err(e) => ("failed", "error".into(), Some(e)),
        };
        let t = target(r);
        self.db.write(|tx| {
            tx.approval_status(&r.id, "approved", status, None, Some(&outcome))?;
            let by = crate::vault::guard::decide::By {
                id: "system",
                role: "system",
            };
            let decision = if status == "done" { "allow" } else { "deny" };
            self.write_entry(tx, by, "approval_run", &t, decision, &outcome)
        })?;
        match err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Withdraws one's own pending request.
    pub async fn withdraw_request(
        self: &Arc<Self>,
        actor: &Actor,
        id: &str,
    ) -> Result<ApprovalView, VaultError> {
        let (actor, id) = (actor.clone(), id.to_owned());
        self.run(move |v| {
            let step = "approval_withdraw";
            let r = v.visible_request(&actor, &id, step)?;
            let t = target(&r);
            if r.requester != actor.id {
                v.audit_now(&actor, step, &t, "deny", "not_requester")?;
                return Err(VaultError::Forbidden);
            }
            if v.status_now(&r) != "pending" {
                v.audit_now(&actor, step, &t, "deny", "not_pending")?;
                return Err(not_pending(v.status_now(&r)));
            }
            let ok = v.db.write(|tx| {
                let ok =
                    tx.approval_status(&r.id, "pending", "withdrawn", Some(&actor.id), None)?;
                if ok {
                    v.write_entry(tx, (&actor).into(), step, &t, "allow", "withdrawn")?;
                }
                Ok::<bool, VaultError>(ok)
            })?;
            v.after_change(&actor, &r.id, ok, step, &t)
        })
        .await
    }
}
