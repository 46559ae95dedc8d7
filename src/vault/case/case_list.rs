//! The case list: the cases an actor may see, optionally only those whose A-number
//! matches or whose client name holds every word searched, found by blind index
//! (equality of whole A-numbers and of whole folded words only; no plaintext column,
//! no prefix index).
//!
//! Lists come in pages (`limit`, `after`; newest first by rowid, a stable order), so a
//! request costs the same in an office of 1,000 cases as in one of 100,000.
//!
//! Invariants: every candidate is decided by the policy before it is listed; the SQL
//! scope a page is drawn from only narrows (a supervisor's office, another
//! caseworker's own and assigned cases, a partner's shares), it never grants; a page
//! cursor is resolved only among the cases the caller may read (their reach, then the
//! policy), never inside a search's blind-index scope, and one outside that reach
//! answers byte for byte like a made-up id, so a cursor confirms nothing about a case
//! the caller may not read; `next_after` is always a case on the page; an account
//! waiting for confirmation (rule 16) lists and searches nothing; no decision or decryption runs while a connection is held, and
//! a case's metadata is decrypted only while its office is unsealed (from the office's
//! cache when seen before). A list whose client has gone stops between chunks.
use std::sync::Arc;

use serde::Serialize;

use crate::crypto::{self, ANumber};
use crate::policy::CaseFacts;
use crate::policy::{Action, Resource, Role};
use crate::store::{CaseRow, CaseScope};
use crate::vault::case::cases::{CaseMeta, bad};
use crate::vault::guard::target::{Target, Word};
use crate::vault::office::plain_cache::Part;
use crate::vault::{Actor, Cancel, Vault, VaultError};

/// Page size when the caller names none.
pub const PAGE_DEFAULT: u64 = 50;
/// The largest page.
pub const PAGE_MAX: u64 = 500;
/// A page of long texts (notes, earlier versions of a case's details) ends early once
/// it holds this many bytes of text, so no answer grows with what a case holds.
pub const PAGE_BYTES: usize = 2 << 20;

/// Which page of a list.
#[derive(Debug, Clone, Default)]
pub struct PageQuery {
    /// How many (default [`PAGE_DEFAULT`], at most [`PAGE_MAX`]).
    pub limit: Option<u64>,
    /// The id of the last item of the previous page (its `next_after`).
    pub after: Option<String>,
    /// A smaller byte budget for a page of long texts than [`PAGE_BYTES`] (a web page
    /// that shows each text more than once asks for less).
    pub bytes: Option<usize>,
}

impl PageQuery {
    /// The byte budget of a page of long texts.
    pub(in crate::vault) fn byte_budget(&self) -> usize {
        self.bytes.map_or(PAGE_BYTES, |b| b.clamp(1, PAGE_BYTES))
    }

    pub(in crate::vault) fn size(&self) -> Result<usize, VaultError> {
        match self.limit.unwrap_or(PAGE_DEFAULT) {
            n @ 1..=PAGE_MAX => Ok(usize::try_from(n).unwrap_or(50)),
            _ => Err(bad(
                "invalid_query",
                &format!("limit is a number from 1 to {PAGE_MAX}"),
            )),
        }
    }

    /// The cursor as a positive number (a version): anything else names no page.
    pub(in crate::vault) fn number_cursor(&self) -> Result<Option<i64>, VaultError> {
        match self.after.as_deref() {
            None | Some("") => Ok(None),
            Some(a) => a
                .parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .map(Some)
                .ok_or_else(invalid_cursor),
        }
    }

    /// The cursor as an id: anything that is not one names no page.
    pub(in crate::vault) fn cursor(&self) -> Result<Option<String>, VaultError> {
        match self.after.as_deref() {
            None | Some("") => Ok(None),
            Some(a) => crate::vault::parse_id(a)
                .map(Some)
                .ok_or_else(invalid_cursor),
        }
    }
}

pub(in crate::vault) fn invalid_cursor() -> VaultError {
    bad(
        "invalid_cursor",
        "that page no longer exists (its first item is gone or was never yours); start again from the first page",
    )
}

/// A page of cases.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CasePage {
    /// The cases, newest first.
    pub cases: Vec<CaseSummary>,
    /// Pass as `after` for the next page; null on the last page.
    pub next_after: Option<String>,
}

/// What a search looks for.
enum Wanted {
    ANumber(ANumber),
    /// The name as searched, and its words (folded, distinct).
    Name {
        query: String,
        words: Vec<String>,
    },
}

/// The blind index of what is searched.
enum Index {
    ANumber(Vec<u8>),
    NameTokens(Vec<Vec<u8>>),
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
    /// A page of the cases the actor may see, optionally only those with an A-number
    /// or whose client name holds every word of `client_name` (words as
    /// [`crypto::name_tokens`] folds them, in any order; both searches go through
    /// blind indexes, so no plaintext column exists to search).
    pub async fn search_cases(
        self: &Arc<Self>,
        actor: &Actor,
        a_number: Option<&str>,
        client_name: Option<&str>,
        page: &PageQuery,
    ) -> Result<CasePage, VaultError> {
        let (actor, a_number, client_name, page) = (
            actor.clone(),
            a_number.map(str::to_owned),
            client_name.map(str::to_owned),
            page.clone(),
        );
        self.run_cancellable(move |v, cancel| {
            v.search_cases_blocking(
                &actor,
                a_number.as_deref(),
                client_name.as_deref(),
                &page,
                cancel,
            )
        })
        .await
    }

    pub(in crate::vault) fn search_cases_blocking(
        &self,
        actor: &Actor,
        a_number: Option<&str>,
        client_name: Option<&str>,
        page: &PageQuery,
        cancel: &Cancel,
    ) -> Result<CasePage, VaultError> {
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
            (None, Some(n)) if crypto::count_name_tokens(n) > crypto::MAX_NAME_TOKENS => {
                return Err(bad(
                    "invalid_field",
                    &format!(
                        "search by at most {} words of a name",
                        crypto::MAX_NAME_TOKENS
                    ),
                ));
            }
            (None, Some(n)) => match crypto::name_tokens(n) {
                words if words.is_empty() => {
                    return Err(bad(
                        "invalid_field",
                        "client_name is empty (it has no letter or digit)",
                    ));
                }
                words => Some(Wanted::Name {
                    query: n.to_owned(),
                    words,
                }),
            },
            (None, None) => None,
        };
        let limit = page.size()?;
        let cursor = page.cursor()?;
        let allowed = self.authorize(
            actor,
            Action::ListCases,
            &Resource::System,
            Target::word(Word::Cases),
        )?;
        // ListCases was allowed, so the actor is a user (the operator lists nothing here).
        let Some(role) = actor.role() else {
            self.record_now(&allowed, "ok")?;
            return Ok(CasePage {
                cases: Vec::new(),
                next_after: None,
            });
        };
        // The cases the caller may read at all, search or no search. A cursor is
        // resolved here and only here: a search scope (the whole office's blind index)
        // would let a cursor confirm a guessed A-number or name on a case the caller
        // may not read.
        let reach = match (role, &actor.office) {
            // Rule 16: an account waiting for confirmation reads nothing, so it lists
            // and searches nothing (and computes no blind index: its searches are no
            // use of the office's keys and hold off no idle seal).
            _ if !actor.access_confirmed => None,
            // Only live shares: a case whose share was revoked or has expired is no
            // more in a partner's reach than one never shared.
            (Role::Partner, _) => Some(CaseScope::SharedWith {
                user: &actor.id,
                now: self.clock.unix(),
            }),
            // Rule 3: a supervisor may read every case of the office.
            (Role::Caseworker, Some(o)) if actor.supervisor => Some(CaseScope::Office(o)),
            // Rule 4: any other caseworker, what they created or are assigned to.
            (Role::Caseworker, Some(o)) => Some(CaseScope::OwnInOffice {
                office: o,
                user: &actor.id,
            }),
            _ => None,
        };
        let Some(reach) = reach else {
            // No case is ever in this list, so no cursor names a page of it.
            if let Some(id) = &cursor {
                self.record_now(&allowed.and(Target::case(id)), "invalid_cursor")?;
                return Err(invalid_cursor());
            }
            let outcome = if actor.access_confirmed {
                "ok"
            } else {
                "access_pending"
            };
            self.record_now(&allowed, outcome)?;
            return Ok(CasePage {
                cases: Vec::new(),
                next_after: None,
            });
        };
        let principal = actor.principal(role);
        // The cursor: a case in the caller's reach that the policy lets them read.
        // Anything else answers exactly like a made-up id, and the audit names it.
        let mut before = match &cursor {
            None => None,
            Some(id) => {
                let found = self.db.read(|tx| -> Result<_, VaultError> {
                    let Some(rowid) = tx.case_position(&reach, id)? else {
                        return Ok(None);
                    };
                    let Some(c) = tx.case(id)? else {
                        return Ok(None);
                    };
                    Ok(Some((rowid, self.case_facts(tx, &c)?)))
                })?;
                let ctx = crate::policy::Ctx {
                    fresh: actor.fresh,
                    ..Default::default()
                };
                match found {
                    Some((rowid, facts))
                        if self.policy.decide(
                            &principal,
                            Action::ReadCase,
                            &Resource::Case(&facts),
                            &ctx,
                        ) =>
                    {
                        Some(rowid)
                    }
                    _ => {
                        self.record_now(&allowed.and(Target::case(id)), "invalid_cursor")?;
                        return Err(invalid_cursor());
                    }
                }
            }
        };
        // The blind index of what is searched, while the office is unsealed.
        let index = match (&wanted, role, &actor.office) {
            (Some(w), Role::Caseworker, Some(o)) => match (self.use_keys(o), w) {
                (Some(u), Wanted::ANumber(a)) => Some(Index::ANumber(u.index.a_number(a))),
                (Some(u), Wanted::Name { query, .. }) => {
                    Some(Index::NameTokens(u.index.name_tokens(query)))
                }
                (None, _) => return Err(VaultError::OfficeSealed(o.clone())),
            },
            _ => None,
        };
        // What is scanned: the caller's reach, or an office's blind-index matches
        // (every candidate is still decided below).
        let scope = match (role, &actor.office, &index) {
            (Role::Caseworker, Some(o), Some(Index::ANumber(i))) => CaseScope::ANumber {
                office: o,
                index: i,
            },
            (Role::Caseworker, Some(o), Some(Index::NameTokens(t))) => {
                CaseScope::NameTokens { office: o, tags: t }
            }
            _ => reach,
        };
        let mut out: Vec<CaseSummary> = Vec::with_capacity(limit + 1);
        let mut office_held = std::collections::HashMap::<String, bool>::new();
        // Chunks of the scope until the page is full (one more than asked, to know
        // whether another page follows) or the scope ends.
        'scan: loop {
            if cancel.gone() {
                self.record_now(&allowed, "client_gone")?;
                return Err(VaultError::Internal("the client went away".into()));
            }
            let want = limit + 1 - out.len();
            let chunk = self.db.read(|tx| -> Result<_, VaultError> {
                let mut v: Vec<(i64, CaseRow, CaseFacts)> = Vec::new();
                for (rowid, c) in tx.case_page(&scope, before, want)? {
                    let facts = self.case_facts(tx, &c)?;
                    v.push((rowid, c, facts));
                }
                for (_, c, _) in &v {
                    if !office_held.contains_key(&c.office) {
                        let held = tx.office(&c.office)?.is_some_and(|o| o.held);
                        office_held.insert(c.office.clone(), held);
                    }
                }
                Ok(v)
            })?;
            let ended = chunk.len() < want;
            for (rowid, c, facts) in chunk {
                before = Some(rowid);
                let ctx = crate::policy::Ctx {
                    fresh: actor.fresh,
                    ..Default::default()
                };
                if !self
                    .policy
                    .decide(&principal, Action::ReadCase, &Resource::Case(&facts), &ctx)
                {
                    continue;
                }
                let held = office_held.get(&c.office).copied().unwrap_or(false);
                if let Some(s) = self.summary(&c, held, wanted.as_ref())? {
                    out.push(s);
                    if out.len() > limit {
                        break 'scan;
                    }
                }
            }
            if ended {
                break;
            }
        }
        let next_after = if out.len() > limit {
            out.truncate(limit);
            out.last().map(|c| c.id.clone())
        } else {
            None
        };
        self.record_now(&allowed, "ok")?;
        Ok(CasePage {
            cases: out,
            next_after,
        })
    }

    /// A listed case, or `None` when a search does not match it (partners' candidates
    /// are not pre-filtered by index; a sealed case cannot be matched at all).
    fn summary(
        &self,
        c: &CaseRow,
        office_held: bool,
        wanted: Option<&Wanted>,
    ) -> Result<Option<CaseSummary>, VaultError> {
        let sealed = !self.is_unsealed(&c.office);
        let meta = if sealed {
            None
        } else {
            match self.open_sealed(c, Part::Meta, &c.metadata) {
                Ok(p) => Some(CaseMeta::parse(&p)?),
                // Sealed or purged between the chunk and now: list it as sealed / skip.
                Err(VaultError::OfficeSealed(_)) => None,
                Err(VaultError::NotFound) => return Ok(None),
                Err(e) => return Err(e),
            }
        };
        match (wanted, &meta) {
            (Some(Wanted::ANumber(a)), Some(m)) if m.a_number.as_deref() != Some(a.as_str()) => {
                return Ok(None);
            }
            (Some(Wanted::Name { words, .. }), Some(m)) => {
                let has = crypto::name_tokens(&m.client_name);
                if !words.iter().all(|w| has.contains(w)) {
                    return Ok(None);
                }
            }
            (Some(_), None) => return Ok(None),
            _ => {}
        }
        Ok(Some(CaseSummary {
            id: c.id.clone(),
            office: c.office.clone(),
            status: c.status.clone(),
            created_at: c.created_at.clone(),
            held: c.held || office_held,
            sealed: meta.is_none(),
            client_name: meta.as_ref().map(|m| m.client_name.clone()),
        }))
    }
}
