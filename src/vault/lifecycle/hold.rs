//! Legal holds on a case or an office, and closing a case (which starts its retention).
//!
//!  Invariant: a hold's reason is stored only encrypted to the case (or office); a
//! held case or office refuses every purge and rename until the hold is lifted.
use super::purge::check_reason;
use crate::crypto;
use crate::policy::{Action, Resource};
use crate::vault::{Actor, Decided, StepUp, Vault, VaultError, new_id};
use std::sync::Arc;

impl Vault {
    /// Places (`place`) or lifts a legal hold on a case. The reason is stored only
    /// encrypted to the case.
    pub async fn set_case_hold(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
        place: bool,
        reason: Option<&str>,
        step: StepUp,
    ) -> Result<Decided<()>, VaultError> {
        let (actor, case_id, reason) =
            (actor.clone(), case_id.to_owned(), reason.map(str::to_owned));
        let actor = self.prove(actor, step).await?;
        self.run(move |v| {
            if let Some(rule) = v.approval_rule(&actor, "lift_hold").filter(|_| !place) {
                let (case, allowed) = v.case_for(&actor, Action::HoldCase, &case_id, None)?;
                if v.case_held_itself(&case.id)? {
                    let _decided = allowed;
                    return v
                        .open_request(&actor, "lift_hold", &case.office, Some(&case.id), rule)
                        .map(Decided::Pending);
                }
            }
            v.set_case_hold_blocking(&actor, &case_id, place, reason.as_deref())
                .map(Decided::Done)
        })
        .await
    }

    /// Whether the case carries a hold of its own.
    fn case_held_itself(&self, case_id: &str) -> Result<bool, VaultError> {
        Ok(self.db.read(|tx| tx.case(case_id))?.is_some_and(|c| c.held))
    }

    pub(in crate::vault) fn set_case_hold_blocking(
        &self,
        actor: &Actor,
        case_id: &str,
        place: bool,
        reason: Option<&str>,
    ) -> Result<(), VaultError> {
        let (case, allowed) = self.case_for(actor, Action::HoldCase, case_id, None)?;
        if let Err(e) = check_reason(reason) {
            self.record_now(&allowed, "invalid_reason")?;
            return Err(e);
        }
        let sealed = match reason {
            Some(r) => Some(crypto::seal_to(&case.recipient, r.as_bytes())?),
            None => None,
        };
        let now = self.now_str();
        self.db.write(|tx| {
            tx.set_case_hold(&case.id, place)?;
            tx.insert_hold_event(&crate::store::NewHoldEventRow {
                id: &new_id(),
                office: &case.office,
                case_id: Some(&case.id),
                placed: place,
                reason: sealed.as_deref(),
                actor: &actor.id,
                at: &now,
            })?;
            self.record(tx, &allowed, self.hold_outcome(actor, place))
        })
    }

    /// The audit outcome of a hold change; the operator's lift says it skipped the
    /// approval the policy asks of users.
    fn hold_outcome(&self, actor: &Actor, place: bool) -> &'static str {
        match (place, self.skips_approval(actor, "lift_hold")) {
            (true, _) => "placed",
            (false, false) => "lifted",
            (false, true) => "lifted skipped_approval",
        }
    }

    /// Places or lifts a legal hold on a whole office. The reason is stored only
    /// encrypted to the office.
    pub async fn set_office_hold(
        self: &Arc<Self>,
        actor: &Actor,
        office: &str,
        place: bool,
        reason: Option<&str>,
        step: StepUp,
    ) -> Result<Decided<()>, VaultError> {
        let (actor, office, reason) = (actor.clone(), office.to_owned(), reason.map(str::to_owned));
        let actor = self.prove(actor, step).await?;
        self.run(move |v| {
            if let Some(rule) = v.approval_rule(&actor, "lift_hold").filter(|_| !place) {
                let target = v.office_target(&office)?;
                let allowed = v.authorize(
                    &actor,
                    Action::HoldOffice,
                    &Resource::Office(&office),
                    target,
                )?;
                if let Some(row) = v.db.read(|tx| tx.office(&office))?.filter(|o| o.held) {
                    let _decided = allowed;
                    return v
                        .open_request(&actor, "lift_hold", &row.slug, None, rule)
                        .map(Decided::Pending);
                }
            }
            v.set_office_hold_blocking(&actor, &office, place, reason.as_deref())
                .map(Decided::Done)
        })
        .await
    }

    pub(in crate::vault) fn set_office_hold_blocking(
        &self,
        actor: &Actor,
        office: &str,
        place: bool,
        reason: Option<&str>,
    ) -> Result<(), VaultError> {
        let target = self.office_target(office)?;
        let allowed =
            self.authorize(actor, Action::HoldOffice, &Resource::Office(office), target)?;
        let Some(row) = self.db.read(|tx| tx.office(office))? else {
            self.record_now(&allowed, "not_found")?;
            return Err(VaultError::NotFound);
        };
        if let Err(e) = check_reason(reason) {
            self.record_now(&allowed, "invalid_reason")?;
            return Err(e);
        }
        let sealed = match reason {
            Some(r) => Some(crypto::seal_to(&row.recipient, r.as_bytes())?),
            None => None,
        };
        let now = self.now_str();
        self.db.write(|tx| {
            if sealed.is_some() {
                crate::vault::office::rotate::same_office_key(tx, office, &row.recipient)?;
            }
            tx.set_office_hold(office, place, &now)?;
            tx.insert_hold_event(&crate::store::NewHoldEventRow {
                id: &new_id(),
                office,
                case_id: None,
                placed: place,
                reason: sealed.as_deref(),
                actor: &actor.id,
                at: &now,
            })?;
            self.record(tx, &allowed, self.hold_outcome(actor, place))
        })
    }

    /// Closes a case (starts its retention clock).
    pub async fn close_case(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
    ) -> Result<(), VaultError> {
        let (actor, case_id) = (actor.clone(), case_id.to_owned());
        self.run(move |v| v.close_case_blocking(&actor, &case_id))
            .await
    }

    pub(in crate::vault) fn close_case_blocking(
        &self,
        actor: &Actor,
        case_id: &str,
    ) -> Result<(), VaultError> {
        let (case, allowed) = self.case_for(actor, Action::CloseCase, case_id, None)?;
        let now = self.now_str();
        self.db.write(|tx| {
            let changed = tx.close_case(&case.id, &now)?;
            self.record(tx, &allowed, if changed { "ok" } else { "already_closed" })
        })
    }
}
