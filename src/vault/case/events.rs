//! A case's dated events: hearings, deadlines, appointments.
//!
//! Invariants: everything of an event but its ids (its own and that of the event it
//! replaces) — kind, date, time, place, description, author — is sealed to the case
//! key before it reaches the database; an event is never changed, only replaced by a
//! newer one that names it, and only once (a second replacement is a 409); adding works while the office is sealed, reading does not; who reads them
//! is rule 21 (a partner only through a share with `notes`).
use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::crypto;
use crate::policy::Action;
use crate::store::{CaseRow, EventRow};
use crate::vault::case::cases::bad;
use crate::vault::case::casework::{check_line, check_text, usernames};
use crate::vault::guard::target::{Target, Word};
use crate::vault::office::plain_cache::Part;
use crate::vault::{Actor, PageQuery, Vault, VaultError, new_id};

/// The kinds of event.
pub const EVENT_KINDS: [&str; 4] = ["hearing", "deadline", "appointment", "other"];

/// A new event.
#[derive(Debug, Clone, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// `hearing`, `deadline`, `appointment` or `other`.
    pub kind: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `HH:MM` (24-hour), local to wherever it happens.
    #[serde(default)]
    pub time: Option<String>,
    /// Where (a court, an address, a video link).
    #[serde(default)]
    pub place: Option<String>,
    /// What it is about.
    #[serde(default)]
    pub description: Option<String>,
    /// The id of an earlier event of the case this one replaces (a hearing moved).
    #[serde(default)]
    pub replaces: Option<String>,
}

/// What an event's sealed body holds.
#[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub(in crate::vault) struct EventBody {
    pub(in crate::vault) kind: String,
    pub(in crate::vault) date: String,
    pub(in crate::vault) time: Option<String>,
    pub(in crate::vault) place: Option<String>,
    pub(in crate::vault) description: Option<String>,
    pub(in crate::vault) created_by: String,
    pub(in crate::vault) created_at: String,
}

/// An event as read.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventView {
    /// Event id.
    pub id: String,
    /// `hearing`, `deadline`, `appointment` or `other`.
    pub kind: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `HH:MM`, if given.
    pub time: Option<String>,
    /// Where, if given.
    pub place: Option<String>,
    /// What, if given.
    pub description: Option<String>,
    /// The earlier event this one replaces.
    pub replaces: Option<String>,
    /// The event that replaces this one (then this one no longer holds).
    pub replaced_by: Option<String>,
    /// Author's account id.
    pub author: String,
    /// Author's username.
    pub author_name: String,
    /// RFC 3339 time it was recorded.
    pub created_at: String,
}

/// A page of a case's events, by date (earliest first) within the page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventList {
    /// Earliest first.
    pub events: Vec<EventView>,
    /// Pass as `after` for the next page (events added later); null on the last page.
    pub next_after: Option<String>,
}

/// `HH:MM`, 00:00 to 23:59.
pub(in crate::vault) fn valid_time(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 5
        && b[2] == b':'
        && t.get(..2)
            .and_then(|h| h.parse::<u8>().ok())
            .is_some_and(|h| h < 24)
        && t.get(3..)
            .and_then(|m| m.parse::<u8>().ok())
            .is_some_and(|m| m < 60)
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 2 || c.is_ascii_digit())
}

fn opt(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl EventInput {
    fn validate(&self) -> Result<(), VaultError> {
        if !EVENT_KINDS.contains(&self.kind.as_str()) {
            return Err(bad(
                "invalid_field",
                "kind is hearing, deadline, appointment or other",
            ));
        }
        if !crate::clock::parse_day(&self.date).is_some_and(|d| (1900..=2200).contains(&d.year())) {
            return Err(bad(
                "invalid_field",
                "date must be YYYY-MM-DD, in the years 1900 to 2200",
            ));
        }
        if let Some(t) = opt(&self.time)
            && !valid_time(&t)
        {
            return Err(bad("invalid_field", "time must be HH:MM (24-hour)"));
        }
        if let Some(p) = &self.place {
            check_line("place", p, 300, false)?;
        }
        if let Some(d) = &self.description {
            check_text("description", d, 2_000, false)?;
        }
        Ok(())
    }
}

impl Vault {
    /// Adds an event to a case; answers its id.
    pub async fn add_event(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
        input: &EventInput,
    ) -> Result<String, VaultError> {
        let (actor, case_id, input) = (actor.clone(), case_id.to_owned(), input.clone());
        self.run(move |v| v.add_event_blocking(&actor, &case_id, &input))
            .await
    }

    pub(in crate::vault) fn add_event_blocking(
        &self,
        actor: &Actor,
        case_id: &str,
        input: &EventInput,
    ) -> Result<String, VaultError> {
        let (case, allowed) = self.case_for(
            actor,
            Action::AddEvent,
            case_id,
            Some(Target::word(Word::Events)),
        )?;
        let checked = (|| {
            input.validate()?;
            self.linked_id(
                input.replaces.as_deref(),
                |tx, id| tx.event_exists(&case.id, id),
                "unknown_event",
                "replaces must name an event of this case",
            )
        })();
        let replaces = self.or_record(&allowed, checked)?;
        let id = new_id();
        let body = EventBody {
            kind: input.kind.clone(),
            date: input.date.clone(),
            time: opt(&input.time),
            place: opt(&input.place),
            description: opt(&input.description),
            created_by: actor.id.clone(),
            created_at: self.now_str(),
        };
        let json = Zeroizing::new(
            serde_json::to_vec(&body).map_err(|e| VaultError::Internal(e.to_string()))?,
        );
        let row = EventRow {
            id: id.clone(),
            case_id: case.id.clone(),
            body: crypto::seal_to(&case.recipient, &json)?,
            replaces,
        };
        let allowed = allowed.and(Target::event(&id));
        self.store_linked(
            &allowed,
            |tx| tx.insert_event(&row),
            "already_replaced",
            "someone has already changed that event; nothing was saved: reload the case to see the new one",
        )?;
        Ok(id)
    }

    /// A page of a case's events. Pages follow the order the events were added
    /// (`limit` default 50, at most 500); each page is sorted by date, earliest first,
    /// so a case with no more events than one page lists them all by date.
    pub async fn list_events(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
        page: &PageQuery,
    ) -> Result<EventList, VaultError> {
        let (actor, case_id, page) = (actor.clone(), case_id.to_owned(), page.clone());
        self.run_heavy(move |v| v.list_events_blocking(&actor, &case_id, &page))
            .await
    }

    pub(in crate::vault) fn list_events_blocking(
        &self,
        actor: &Actor,
        case_id: &str,
        page: &PageQuery,
    ) -> Result<EventList, VaultError> {
        let limit = page.size()?;
        let cursor = page.cursor()?;
        let (case, allowed) = self.case_for(
            actor,
            Action::ReadEvents,
            case_id,
            Some(Target::word(Word::Events)),
        )?;
        if !self.is_unsealed(&case.office) {
            self.record_now(&allowed, "sealed")?;
            return Err(VaultError::OfficeSealed(case.office.clone()));
        }
        let read = self.db.read(|tx| -> Result<_, VaultError> {
            let after = match &cursor {
                None => None,
                Some(id) => match tx.event_position(&case.id, id)? {
                    Some(p) => Some(p),
                    None => return Ok(None),
                },
            };
            let rows = tx.event_page(&case.id, after, limit + 1)?;
            let replaced: HashMap<String, String> =
                tx.event_replacements(&case.id)?.into_iter().collect();
            Ok(Some((rows, replaced)))
        })?;
        let Some((mut rows, replaced)) = read else {
            self.record_now(&allowed, "invalid_cursor")?;
            return Err(crate::vault::case::case_list::invalid_cursor());
        };
        self.record_now(&allowed, "ok")?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_after = more
            .then(|| rows.last().map(|(_, r)| r.id.clone()))
            .flatten();
        let rows: Vec<EventRow> = rows.into_iter().map(|(_, r)| r).collect();
        let mut events = self.event_views(&case, &rows, &mut HashMap::new())?;
        // Replacements made on other pages count too.
        for e in &mut events {
            e.replaced_by = replaced.get(&e.id).cloned();
        }
        Ok(EventList { events, next_after })
    }

    /// Decrypts a case's events into views, earliest first, with who replaced which.
    /// `names` holds the authors' usernames known so far (a list over many cases
    /// shares it); only the ones missing are read.
    pub(in crate::vault) fn event_views(
        &self,
        case: &CaseRow,
        rows: &[EventRow],
        names: &mut HashMap<String, String>,
    ) -> Result<Vec<EventView>, VaultError> {
        let mut bodies = Vec::with_capacity(rows.len());
        for r in rows {
            let plain = self.open_sealed(case, Part::Item(&r.id), &r.body)?;
            let b: EventBody = serde_json::from_slice(&plain)
                .map_err(|_| VaultError::Internal("an event does not parse".into()))?;
            bodies.push((r.id.clone(), r.replaces.clone(), b));
        }
        // An event is replaced at most once (a unique index).
        let replaced_by: HashMap<String, String> = rows
            .iter()
            .filter_map(|r| Some((r.replaces.clone()?, r.id.clone())))
            .collect();
        let missing: Vec<&str> = bodies
            .iter()
            .map(|(_, _, b)| b.created_by.as_str())
            .filter(|id| !names.contains_key(*id))
            .collect();
        if !missing.is_empty() {
            let found = self.db.read(|tx| usernames(tx, missing.into_iter()))?;
            names.extend(found);
        }
        let mut out: Vec<EventView> = bodies
            .into_iter()
            .map(|(id, replaces, b)| EventView {
                replaced_by: replaced_by.get(&id).cloned(),
                author_name: names.get(&b.created_by).cloned().unwrap_or_default(),
                id,
                kind: b.kind.clone(),
                date: b.date.clone(),
                time: b.time.clone(),
                place: b.place.clone(),
                description: b.description.clone(),
                replaces,
                author: b.created_by.clone(),
                created_at: b.created_at.clone(),
            })
            .collect();
        out.sort_by(|a, b| (&a.date, &a.time).cmp(&(&b.date, &b.time)));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_hh_mm() {
        for ok in ["00:00", "09:30", "23:59"] {
            assert!(valid_time(ok), "{ok}");
        }
        for bad in [
            "24:00", "9:30", "09:60", "0930", "09:3a", "+9:30", "09:30 ", "", "é9:30",
        ] {
            assert!(!valid_time(bad), "{bad}");
        }
    }
}
