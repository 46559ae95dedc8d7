//! "Coming up": the hearings, deadlines and appointments of the next days across the
//! cases a person works on (a supervisor: the office; a partner: cases shared with
//! them with notes), computed in memory from the sealed events on each request and
//! never stored.
//!
//! Invariants: a case counts only if rule 21 lets the caller read its events (the
//! SQL scope only narrows, as for the case list); an office that is sealed is named as
//! sealed, never guessed at; an event another one replaced is left out.
use std::sync::Arc;

use serde::Serialize;

use crate::ics::Detail;
use crate::policy::{Action, Resource, Role};
use crate::store::CaseScope;
use crate::vault::case::cases::CaseMeta;
use crate::vault::case::events::EventView;
use crate::vault::guard::target::{Target, Word};
use crate::vault::office::plain_cache::Part;
use crate::vault::{Actor, Cancel, Vault, VaultError};

/// Days shown when the caller does not say.
pub const UPCOMING_DAYS_DEFAULT: u32 = 30;
/// The most days one list covers.
pub const UPCOMING_DAYS_MAX: u32 = 366;
/// Cases with events looked at, at most (newest first).
const MAX_CASES: usize = 5_000;
/// Items listed at most (the earliest): the answer stays bounded however many events
/// the cases hold.
pub const MAX_ITEMS: usize = 500;

/// One event on the list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UpcomingItem {
    /// Case id.
    pub case_id: String,
    /// Office slug.
    pub office: String,
    /// The client's name.
    pub client_name: String,
    /// The event.
    pub event: EventView,
}

/// The list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Upcoming {
    /// First day covered, `YYYY-MM-DD`.
    pub from: String,
    /// Last day covered, `YYYY-MM-DD`.
    pub to: String,
    /// By date and time, earliest first.
    pub events: Vec<UpcomingItem>,
    /// Offices whose cases could not be read because they are sealed.
    pub sealed_offices: Vec<String>,
    /// Not everything is listed: only the newest cases were looked at, or only the
    /// earliest [`MAX_ITEMS`] events are shown (narrow the days to see the rest).
    pub truncated: bool,
}

/// What the caller asked for.
#[derive(Debug, Clone, Default)]
pub struct UpcomingQuery {
    /// `YYYY-MM-DD`; today (UTC) when absent.
    pub from: Option<String>,
    /// 1 to [`UPCOMING_DAYS_MAX`]; [`UPCOMING_DAYS_DEFAULT`] when absent.
    pub days: Option<u32>,
}

fn invalid(msg: &str) -> VaultError {
    VaultError::bad("invalid_query", msg.to_owned())
}

impl Vault {
    /// The caller's "Coming up" list. `ics` says, for the audit entry, that it is for
    /// a calendar download and how much of each event that carries.
    pub async fn upcoming(
        self: &Arc<Self>,
        actor: &Actor,
        q: &UpcomingQuery,
        ics: Option<Detail>,
    ) -> Result<Upcoming, VaultError> {
        let (actor, q) = (actor.clone(), q.clone());
        self.run_cancellable(move |v, cancel| v.upcoming_blocking(&actor, &q, ics, cancel))
            .await
    }

    pub(in crate::vault) fn upcoming_blocking(
        &self,
        actor: &Actor,
        q: &UpcomingQuery,
        ics: Option<Detail>,
        cancel: &Cancel,
    ) -> Result<Upcoming, VaultError> {
        let days = q.days.unwrap_or(UPCOMING_DAYS_DEFAULT);
        if !(1..=UPCOMING_DAYS_MAX).contains(&days) {
            return Err(invalid("days is a whole number from 1 to 366"));
        }
        let from = match &q.from {
            None => self.clock.now().date(),
            Some(d) => crate::clock::parse_day(d)
                .ok_or_else(|| invalid("from must be a date, YYYY-MM-DD"))?,
        };
        let to = from
            .checked_add(time::Duration::days(i64::from(days) - 1))
            .ok_or_else(|| invalid("from is too far in the future"))?;
        let target = match ics {
            None => Target::word(Word::Upcoming),
            Some(Detail::Minimal) => Target::word(Word::Upcoming).with(Word::Ics),
            Some(Detail::Full) => Target::word(Word::Upcoming)
                .with(Word::Ics)
                .with(Word::Full),
        };
        let allowed = self.authorize(actor, Action::ListUpcoming, &Resource::System, target)?;
        let day =
            |d: time::Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
        let mut out = Upcoming {
            from: day(from),
            to: day(to),
            events: Vec::new(),
            sealed_offices: Vec::new(),
            truncated: false,
        };
        let Some(role) = actor.role() else {
            self.record_now(&allowed, "ok events=0")?;
            return Ok(out);
        };
        let scope = match (role, &actor.office) {
            (Role::Partner, _) => CaseScope::SharedWith {
                user: &actor.id,
                now: self.clock.unix(),
            },
            (Role::Caseworker, Some(o)) if actor.supervisor => CaseScope::Office(o),
            (Role::Caseworker, Some(o)) => CaseScope::OwnInOffice {
                office: o,
                user: &actor.id,
            },
            _ => {
                self.record_now(&allowed, "ok events=0")?;
                return Ok(out);
            }
        };
        // The cases, their facts and their sealed events in one snapshot.
        let (cases, truncated) = self.db.read(|tx| -> Result<_, VaultError> {
            let cases = tx.cases_with_events(&scope, MAX_CASES + 1)?;
            let truncated = cases.len() > MAX_CASES;
            let mut v = Vec::with_capacity(cases.len());
            for c in cases.into_iter().take(MAX_CASES) {
                let facts = self.case_facts(tx, &c)?;
                let events = tx.events(&c.id)?;
                v.push((c, facts, events));
            }
            Ok((v, truncated))
        })?;
        out.truncated = truncated;
        let principal = actor.principal(role);
        let ctx = crate::policy::Ctx {
            fresh: actor.fresh,
            ..Default::default()
        };
        let (from_s, to_s) = (out.from.clone(), out.to.clone());
        let mut sealed = std::collections::BTreeSet::new();
        let mut names = std::collections::HashMap::new();
        for (case, facts, rows) in cases {
            if cancel.gone() {
                self.record_now(&allowed, "client_gone")?;
                return Err(VaultError::Internal("the client went away".into()));
            }
            if !self.policy.decide(
                &principal,
                Action::ReadEvents,
                &Resource::Case(&facts),
                &ctx,
            ) {
                continue;
            }
            if !self.is_unsealed(&case.office) {
                sealed.insert(case.office.clone());
                continue;
            }
            let read = (|| {
                let meta =
                    CaseMeta::parse(&self.open_sealed(&case, Part::Meta, &case.metadata)?)?;
                Ok::<_, VaultError>((meta, self.event_views(&case, &rows, &mut names)?))
            })();
            let (meta, events) = match read {
                Ok(v) => v,
                // Sealed or purged meanwhile.
                Err(VaultError::OfficeSealed(o)) => {
                    sealed.insert(o);
                    continue;
                }
                Err(VaultError::NotFound) => continue,
                Err(e) => return Err(e),
            };
            for e in events {
                if e.replaced_by.is_none() && e.date >= from_s && e.date <= to_s {
                    out.events.push(UpcomingItem {
                        case_id: case.id.clone(),
                        office: case.office.clone(),
                        client_name: meta.client_name.clone(),
                        event: e,
                    });
                }
            }
            // Keep only the earliest MAX_ITEMS as the list grows, so memory is bounded
            // by the answer's size, not by what the cases hold.
            if out.events.len() > 2 * MAX_ITEMS {
                sort_items(&mut out.events);
                out.events.truncate(MAX_ITEMS);
                out.truncated = true;
            }
        }
        sort_items(&mut out.events);
        if out.events.len() > MAX_ITEMS {
            out.events.truncate(MAX_ITEMS);
            out.truncated = true;
        }
        out.sealed_offices = sealed.into_iter().collect();
        self.record_now(&allowed, &format!("ok events={}", out.events.len()))?;
        Ok(out)
    }
}

/// By date and time, then case: earliest first.
fn sort_items(items: &mut [UpcomingItem]) {
    items.sort_by(|a, b| {
        (&a.event.date, &a.event.time, &a.case_id).cmp(&(&b.event.date, &b.event.time, &b.case_id))
    });
}
