//! Two-person approvals (issue 26): an irreversible action the approvals policy lists
//! (`policy/approvals.toml`) is not run when a user asks; it becomes a pending request
//! that another person (a relation the policy names) approves or denies.
//!
//! Invariants: the request is decided like the action itself first (a caller who may
//! not act gets the action's own refusal, never a request); nobody approves their own
//! request (compared by user id, so another session of theirs is refused too), nor an
//! account waiting for confirmation, nor a disabled one, nor without a fresh second
//! factor; when the count is reached the action runs as decided at that moment (the
//! requester's account, the policy, the hold and the target are checked again); every
//! step writes an audit entry (ids only) in the transaction that makes it.
use serde::Serialize;

use crate::clock::rfc3339;
use crate::config::{ApprovalRule, Approver};
use crate::policy::{Action, Resource, Role};
use crate::store::{ApprovalRow, NewApprovalRow};
use crate::vault::guard::target::Target;
use crate::vault::{Actor, Vault, VaultError, Who, new_id, parse_id};

/// What asking for an action gave: done at once, or waiting for approval.
#[derive(Debug)]
pub enum Decided<T> {
    /// The action ran.
    Done(T),
    /// The action waits for approval; nothing was done.
    Pending(ApprovalTicket),
}

/// The answer to an action that waits for approval (202).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApprovalTicket {
    /// The request's id.
    pub request_id: String,
    /// Always `pending`.
    pub status: String,
    /// RFC 3339: when it expires unanswered.
    pub expires_at: String,
}

/// One request as its requester or an approver sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApprovalView {
    /// Request id.
    pub id: String,
    /// `purge_office` or `lift_hold`.
    pub action: String,
    /// The office (slug).
    pub office: String,
    /// The case, for a case's hold.
    pub case_id: Option<String>,
    /// What it will do, in plain words.
    pub words: String,
    /// The requester's username.
    pub requester: String,
    /// The caller made it.
    pub mine: bool,
    /// The caller may approve or deny it now.
    pub may_approve: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub expires_at: String,
    /// Approvals so far.
    pub approvals: u32,
    /// Approvals needed.
    pub needed: u32,
    /// `pending`, `approved`, `denied`, `expired`, `withdrawn`, `done` or `failed`.
    pub status: String,
    /// What running it gave, once it ran (`ok cases=… documents=…`, `legal_hold`, …).
    pub outcome: Option<String>,
}

/// `GET /approvals`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ApprovalList {
    /// Newest first.
    pub approvals: Vec<ApprovalView>,
}

/// The most requests a list shows.
const LIST_MAX: usize = 200;

impl Vault {
    /// The rule that makes `action` wait, for a user (the operator and the vault's
    /// own jobs are outside the web's approvals).
    pub(in crate::vault) fn approval_rule(
        &self,
        actor: &Actor,
        action: &str,
    ) -> Option<&ApprovalRule> {
        match actor.who {
            Who::User(_) => self.settings.approvals.rule(action),
            _ => None,
        }
    }

    /// Whether the operator's action skips a rule the policy has for it (its audit
    /// outcome says so).
    pub(in crate::vault) fn skips_approval(&self, actor: &Actor, action: &str) -> bool {
        actor.who == Who::Operator && self.settings.approvals.rule(action).is_some()
    }

    /// Records a pending request for an action already allowed for `actor` (the
    /// caller decided it), with its audit entry in the same transaction.
    pub(in crate::vault) fn open_request(
        &self,
        actor: &Actor,
        action: &'static str,
        office: &str,
        case_id: Option<&str>,
        rule: &ApprovalRule,
    ) -> Result<ApprovalTicket, VaultError> {
        if !actor.fresh {
            // The policy asks for a fresh factor for every action that waits; this is
            // the second wall, should a policy file forget it.
            return Err(VaultError::StepUpRequired);
        }
        let id = new_id();
        let now = self.clock.unix();
        let expires_unix = now + i64::from(self.settings.approvals.expiry_hours) * 3600;
        let expires_at = rfc3339(
            time::OffsetDateTime::from_unix_timestamp(expires_unix)
                .map_err(|e| VaultError::Internal(format!("expiry time: {e}")))?,
        );
        let mut target = Target::stored_office(office).and(Target::approval(&id));
        if let Some(c) = case_id {
            target = target.and(Target::case(c));
        }
        self.db.write(|tx| {
            let office_from = tx.office_audit_from(office)?;
            tx.insert_approval(&NewApprovalRow {
                id: &id,
                action,
                office,
                office_from,
                case_id,
                requester: &actor.id,
                requester_session: actor.session.as_deref(),
                created_at: &self.now_str(),
                expires_at: &expires_at,
                expires_unix,
                needed: rule.approvals,
            })?;
            self.write_entry(
                tx,
                actor.into(),
                "approval_request",
                &target,
                "allow",
                &format!("pending {action}"),
            )
        })?;
        Ok(ApprovalTicket {
            request_id: id,
            status: "pending".into(),
            expires_at,
        })
    }

    /// Whether `actor` may approve or deny `row` (never its requester; an office's
    /// administrators only while it is the same office, not one created again under
    /// its slug).
    pub(in crate::vault) fn may_approve(
        &self,
        actor: &Actor,
        row: &ApprovalRow,
    ) -> Result<bool, VaultError> {
        let Some(rule) = self.settings.approvals.rule(&row.action) else {
            return Ok(false);
        };
        if actor.id == row.requester || actor.waiting() || !matches!(actor.who, Who::User(_)) {
            return Ok(false);
        }
        for a in &rule.approvers {
            let ok = match a {
                Approver::OfficeAdmin => {
                    actor.is(Role::Admin)
                        && actor.office() == Some(row.office.as_str())
                        && self.db.read(|tx| tx.office_audit_from(&row.office))? == row.office_from
                }
                Approver::Superadmin => actor.is(Role::Superadmin),
            };
            if ok {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The request `raw` names, when the caller made it or may approve it; a request
    /// they may neither see nor approve answers like a missing one (audited).
    pub(in crate::vault) fn visible_request(
        &self,
        actor: &Actor,
        raw: &str,
        step: &'static str,
    ) -> Result<ApprovalRow, VaultError> {
        let row = match parse_id(raw) {
            Some(id) => self.db.read(|tx| tx.approval(&id))?,
            None => None,
        };
        match row {
            Some(r) if r.requester == actor.id || self.may_approve(actor, &r)? => Ok(r),
            _ => {
                self.audit_now(actor, step, &Target::approval(raw), "deny", "not_found")?;
                Err(VaultError::NotFound)
            }
        }
    }

    /// The requests the caller made or may approve, newest first.
    pub(in crate::vault) fn list_approvals_blocking(
        &self,
        actor: &Actor,
    ) -> Result<ApprovalList, VaultError> {
        let rows = self.db.read(|tx| tx.approvals(LIST_MAX * 4))?;
        let mut out = Vec::new();
        for r in rows {
            if out.len() >= LIST_MAX {
                break;
            }
            if r.requester == actor.id || self.may_approve(actor, &r)? {
                out.push(self.approval_view(actor, &r)?);
            }
        }
        Ok(ApprovalList { approvals: out })
    }

    /// A request in words, its status as of now.
    pub(in crate::vault) fn approval_view(
        &self,
        actor: &Actor,
        r: &ApprovalRow,
    ) -> Result<ApprovalView, VaultError> {
        let status = self.status_now(r).to_owned();
        let requester = self
            .db
            .read(|tx| tx.user(&r.requester))?
            .map(|u| u.username)
            .unwrap_or_else(|| "(account removed)".into());
        let words = match (r.action.as_str(), &r.case_id) {
            ("purge_office", _) => {
                let (cases, docs) = self.db.read(|tx| tx.office_size(&r.office))?;
                format!(
                    "Purge office {}: {cases} cases and {docs} documents become unreadable forever.",
                    r.office
                )
            }
            ("lift_hold", Some(c)) => format!(
                "Lift the legal hold on case {c} of office {}: it can then be purged.",
                r.office
            ),
            ("lift_hold", None) => format!(
                "Lift the legal hold on office {}: its cases can then be purged.",
                r.office
            ),
            _ => r.action.clone(),
        };
        Ok(ApprovalView {
            id: r.id.clone(),
            action: r.action.clone(),
            office: r.office.clone(),
            case_id: r.case_id.clone(),
            words,
            requester,
            mine: r.requester == actor.id,
            may_approve: status == "pending" && self.may_approve(actor, r)?,
            created_at: r.created_at.clone(),
            expires_at: r.expires_at.clone(),
            approvals: u32::try_from(r.approvers.len()).unwrap_or(u32::MAX),
            needed: r.needed,
            status,
            outcome: r.outcome.clone(),
        })
    }

    /// `pending` past its expiry reads as `expired` (written so at the next step).
    pub(in crate::vault) fn status_now<'a>(&self, r: &'a ApprovalRow) -> &'a str {
        if r.status == "pending" && self.clock.unix() >= r.expires_unix {
            "expired"
        } else {
            &r.status
        }
    }

    /// Decides office purge for `actor` as the purge itself would, then opens the
    /// request (a refusal, a missing office or a hold answer as the purge would).
    pub(in crate::vault) fn ask_purge_office(
        &self,
        actor: &Actor,
        office: &str,
        rule: &ApprovalRule,
    ) -> Result<ApprovalTicket, VaultError> {
        let target = self.office_target(office)?;
        let allowed = self.authorize(
            actor,
            Action::PurgeOffice,
            &Resource::Office(office),
            target,
        )?;
        let Some(row) = self.db.read(|tx| tx.office(office))? else {
            self.record_now(&allowed, "not_found")?;
            return Err(VaultError::NotFound);
        };
        if row.held || self.db.read(|tx| tx.office_has_held_case(office))? {
            self.record_now(&allowed, "legal_hold")?;
            return Err(VaultError::LegalHold);
        }
        self.open_request(actor, "purge_office", &row.slug, None, rule)
    }
}
