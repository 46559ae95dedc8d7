//! What an office administrator sees of the cases of their office: ids, dates,
//! open or closed, legal hold and document counts. Never a client's name or any
//! metadata: those are sealed to each case's key, which nothing here touches (it
//! works the same while the office is sealed).
//!
//! Invariants: one policy decision per call (`list_office_cases`, rule 15), itself
//! audited; a case outside the administrator's office is reported exactly like a
//! missing one, and both denials are audited.
use std::sync::Arc;

use crate::policy::{Action, Resource};
use crate::store::CaseFactsRow;
use crate::vault::guard::target::{Target, Word};
use crate::vault::{Actor, Vault, VaultError, parse_id};

/// One case as an office administrator sees it.
#[derive(Debug, Clone)]
pub struct AdminCaseView {
    /// Case id.
    pub id: String,
    /// Office slug.
    pub office: String,
    /// `open` / `closed`.
    pub status: String,
    /// RFC 3339 time it was opened.
    pub created_at: String,
    /// RFC 3339 time it was closed.
    pub closed_at: Option<String>,
    /// Legal hold on the case itself.
    pub held: bool,
    /// Legal hold on its whole office (also blocks deletion).
    pub office_held: bool,
    /// Documents stored.
    pub documents: u64,
    /// Stored (padded ciphertext) bytes.
    pub bytes: u64,
}

impl AdminCaseView {
    fn from_row(office: &str, office_held: bool, r: CaseFactsRow) -> Self {
        AdminCaseView {
            id: r.id,
            office: office.to_string(),
            status: r.status,
            created_at: r.created_at,
            closed_at: r.closed_at,
            held: r.held,
            office_held,
            documents: r.documents,
            bytes: r.bytes,
        }
    }
}

/// The cases of one office, for its administrator.
#[derive(Debug, Clone)]
pub struct OfficeCases {
    /// Office slug.
    pub office: String,
    /// Legal hold on the whole office.
    pub held: bool,
    /// Accounts of the office (a purge of the office deletes them).
    pub accounts: u64,
    /// Cases, newest first.
    pub cases: Vec<AdminCaseView>,
}

impl OfficeCases {
    /// Documents of every case.
    pub fn documents(&self) -> u64 {
        self.cases.iter().map(|c| c.documents).sum()
    }
}

impl Vault {
    /// The cases of an office with their public facts, for its administrator.
    pub async fn office_cases_for_admin(
        self: &Arc<Self>,
        actor: &Actor,
        office: &str,
    ) -> Result<OfficeCases, VaultError> {
        let (actor, office) = (actor.clone(), office.to_owned());
        self.run(move |v| v.office_cases_for_admin_blocking(&actor, &office))
            .await
    }

    pub(in crate::vault) fn office_cases_for_admin_blocking(
        &self,
        actor: &Actor,
        office: &str,
    ) -> Result<OfficeCases, VaultError> {
        let target = self.office_target(office)?.with(Word::Cases);
        let allowed = self.authorize(
            actor,
            Action::ListOfficeCases,
            &Resource::Office(office),
            target,
        )?;
        let found = self.db.read(|tx| -> Result<_, VaultError> {
            let Some(row) = tx.office(office)? else {
                return Ok(None);
            };
            let cases = tx.case_facts(office, None)?;
            let accounts = tx.users(Some(office))?.len() as u64;
            Ok(Some((row.held, cases, accounts)))
        })?;
        let Some((held, cases, accounts)) = found else {
            self.record_now(&allowed, "not_found")?;
            return Err(VaultError::NotFound);
        };
        self.record_now(&allowed, "ok")?;
        Ok(OfficeCases {
            office: office.to_string(),
            held,
            accounts,
            cases: cases
                .into_iter()
                .map(|r| AdminCaseView::from_row(office, held, r))
                .collect(),
        })
    }

    /// One case with its public facts, for the administrator of its office (the
    /// purge confirmation names exactly what will go). Missing, or of another
    /// office: [`VaultError::NotFound`] either way.
    pub async fn case_for_admin(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
    ) -> Result<AdminCaseView, VaultError> {
        let (actor, case_id) = (actor.clone(), case_id.to_owned());
        self.run(move |v| v.case_for_admin_blocking(&actor, &case_id))
            .await
    }

    pub(in crate::vault) fn case_for_admin_blocking(
        &self,
        actor: &Actor,
        case_id: &str,
    ) -> Result<AdminCaseView, VaultError> {
        let Some(id) = parse_id(case_id) else {
            return Err(self.audit_missing(
                actor,
                Action::ListOfficeCases,
                &Target::case(case_id),
            )?);
        };
        let found = self.db.read(|tx| -> Result<_, VaultError> {
            let Some(case) = tx.case(&id)? else {
                return Ok(None);
            };
            let office_held = tx.office(&case.office)?.is_some_and(|o| o.held);
            let facts = tx.case_facts(&case.office, Some(&id))?.into_iter().next();
            Ok(facts.map(|f| AdminCaseView::from_row(&case.office, office_held, f)))
        })?;
        let Some(view) = found else {
            return Err(self.audit_missing(actor, Action::ListOfficeCases, &Target::case(&id))?);
        };
        let allowed = match self.authorize(
            actor,
            Action::ListOfficeCases,
            &Resource::Office(&view.office),
            Target::stored_office(&view.office).and(Target::case(&id)),
        ) {
            Ok(a) => a,
            // Another office's case is not admitted to exist (the deny is audited).
            Err(VaultError::Forbidden) => return Err(VaultError::NotFound),
            Err(e) => return Err(e),
        };
        self.record_now(&allowed, "ok")?;
        Ok(view)
    }
}
