//! The case list: the cases an actor may see, optionally only those whose A-number or
//! client name matches, found by blind index (equality only; no plaintext column).
//!
//! Invariant: every candidate is decided by the policy before it is listed, and a
//! case's metadata is decrypted only while its office is unsealed.
use std::sync::Arc;

use serde::Serialize;

use super::cases::{CaseMeta, bad};
use super::target::{Target, Word};
use super::{Actor, Vault, VaultError};
use crate::crypto::{self, ANumber};
use crate::policy::{Action, Resource, Role};
use crate::store::CaseRow;

/// What a search looks for.
enum Wanted {
    ANumber(ANumber),
    Name(String),
}

/// A case as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseSummary {
    /// Case id.
    pub id: String,
    /// Office slug.
    pub office: String,
    /// `open` / `closed`.
    pub status: String,
    /// RFC 3339.
    pub created_at: String,
    /// Under legal hold.
    pub held: bool,
    /// Whether the office is sealed (then no metadata is shown).
    pub sealed: bool,
    /// Client's name, when the office is unsealed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
}

impl Vault {
    /// The cases the actor may see, optionally only those with an A-number.
    pub async fn list_cases(
        self: &Arc<Self>,
        actor: &Actor,
        a_number: Option<&str>,
    ) -> Result<Vec<CaseSummary>, VaultError> {
        let (actor, a_number) = (actor.clone(), a_number.map(str::to_owned));
        self.run(move |v| v.list_cases_blocking(&actor, a_number.as_deref()))
            .await
    }

    pub(super) fn list_cases_blocking(
        &self,
        actor: &Actor,
        a_number: Option<&str>,
    ) -> Result<Vec<CaseSummary>, VaultError> {
        self.search_cases_blocking(actor, a_number, None)
    }

    /// The cases the actor may see, optionally only those with an A-number or a client
    /// name (equality after [`crypto::normalise_name`]; both searches go through blind
    /// indexes, so no plaintext column exists to search).
    pub async fn search_cases(
        self: &Arc<Self>,
        actor: &Actor,
        a_number: Option<&str>,
        client_name: Option<&str>,
    ) -> Result<Vec<CaseSummary>, VaultError> {
        let (actor, a_number, client_name) = (
            actor.clone(),
            a_number.map(str::to_owned),
            client_name.map(str::to_owned),
        );
        self.run(move |v| {
            v.search_cases_blocking(&actor, a_number.as_deref(), client_name.as_deref())
        })
        .await
    }

    pub(super) fn search_cases_blocking(
        &self,
        actor: &Actor,
        a_number: Option<&str>,
        client_name: Option<&str>,
    ) -> Result<Vec<CaseSummary>, VaultError> {
        let wanted = match (a_number, client_name) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "invalid_query",
                    "search by a_number or by client_name, not both",
                ));
            }
            (Some(a), None) => Some(Wanted::ANumber(ANumber::parse(a).ok_or_else(|| {
                bad(
                    "invalid_a_number",
                    "an A-number has 8 or 9 digits, optionally after an A",
                )
            })?)),
            (None, Some(n)) if crypto::normalise_name(n).is_empty() => {
                return Err(bad("invalid_field", "client_name is empty"));
            }
            (None, Some(n)) => Some(Wanted::Name(crypto::normalise_name(n))),
            (None, None) => None,
        };
        let allowed = self.authorize(
            actor,
            Action::ListCases,
            &Resource::System,
            Target::word(Word::Cases),
        )?;
        // ListCases was allowed, so the actor is a user (the operator lists nothing here).
        let Some(role) = actor.role() else {
            return Ok(Vec::new());
        };
        let principal = actor.principal(role);
        let candidates = self.db.read(|tx| -> Result<Vec<CaseRow>, VaultError> {
            let rows = match (role, &actor.office) {
                (Role::Partner, _) => tx.shared_cases(&actor.id)?,
                (Role::Caseworker, Some(o)) => match &wanted {
                    Some(w) => match (self.use_keys(o), w) {
                        (Some(u), Wanted::ANumber(a)) => {
                            tx.cases_by_a_number(o, &u.index.a_number(a))?
                        }
                        (Some(u), Wanted::Name(n)) => {
                            tx.cases_by_client_name(o, &u.index.client_name(n))?
                        }
                        (None, _) => return Err(VaultError::OfficeSealed(o.clone())),
                    },
                    None => tx.office_cases(o)?,
                },
                _ => Vec::new(),
            };
            let mut visible = Vec::new();
            for c in rows {
                let facts = self.case_facts(tx, &c)?;
                if self.policy.decide(
                    &principal,
                    Action::ReadCase,
                    &Resource::Case(&facts),
                    &crate::policy::Ctx {
                        fresh: actor.fresh,
                        ..Default::default()
                    },
                ) {
                    visible.push(c);
                }
            }
            Ok(visible)
        })?;
        self.record_now(&allowed, "ok")?;
        let mut out = Vec::with_capacity(candidates.len());
        for c in candidates {
            let sealed = !self.is_unsealed(&c.office);
            let meta = if sealed {
                None
            } else {
                Some(CaseMeta::decrypt(&*self.case_key(&c)?, &c.metadata)?)
            };
            if let (Some(w), Some(m)) = (&wanted, &meta) {
                // Partners' candidates were not pre-filtered by index.
                let hit = match w {
                    Wanted::ANumber(a) => m.a_number.as_deref() == Some(a.as_str()),
                    Wanted::Name(n) => crypto::normalise_name(&m.client_name) == *n,
                };
                if !hit {
                    continue;
                }
            } else if wanted.is_some() && sealed {
                continue;
            }
            let held = c.held
                || self
                    .db
                    .read(|tx| tx.office(&c.office))?
                    .is_some_and(|o| o.held);
            out.push(CaseSummary {
                id: c.id.clone(),
                office: c.office.clone(),
                status: c.status.clone(),
                created_at: c.created_at.clone(),
                held,
                sealed,
                client_name: meta.as_ref().map(|m| m.client_name.clone()),
            });
        }
        Ok(out)
    }
}
