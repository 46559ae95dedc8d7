//! A case's notes and dated events (hearings, deadlines, appointments).
//!
//! Invariants: a note's text and everything of an event but its id are sealed to the
//! case key before they reach the database; a note is never changed, only corrected
//! by a newer note that names it (an event likewise is replaced by a newer one); adding
//! works while the office is sealed (only the case's public key is needed), reading
//! does not; who reads them is rule 21 (a partner only through a share with `notes`).
use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::cases::bad;
use super::plain_cache::Part;
use super::target::{Target, Word};
use super::{Actor, Allowed, Vault, VaultError, new_id, parse_id};
use crate::crypto;
use crate::policy::Action;
use crate::store::{CaseRow, EventRow, NoteRow, Tx};

/// The longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 20_000;

/// A new note.
#[derive(Debug, Clone, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    /// The note.
    pub text: String,
    /// The id of an earlier note of the case this one corrects.
    #[serde(default)]
    pub corrects: Option<String>,
}

/// A note as read.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NoteView {
    /// Note id.
    pub id: String,
    /// The text.
    pub text: String,
    /// Author's account id.
    pub author: String,
    /// Author's username (empty if the account is gone).
    pub author_name: String,
    /// RFC 3339.
    pub created_at: String,
    /// The earlier note this one corrects.
    pub corrects: Option<String>,
    /// The newest note that corrects this one (then this one is out of date).
    pub corrected_by: Option<String>,
}

/// A case's notes, newest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NoteList {
    /// Newest first.
    pub notes: Vec<NoteView>,
}

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
pub(super) struct EventBody {
    pub(super) kind: String,
    pub(super) date: String,
    pub(super) time: Option<String>,
    pub(super) place: Option<String>,
    pub(super) description: Option<String>,
    pub(super) replaces: Option<String>,
    pub(super) created_by: String,
    pub(super) created_at: String,
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
    /// The newest event that replaces this one (then this one no longer holds).
    pub replaced_by: Option<String>,
    /// Author's account id.
    pub author: String,
    /// Author's username.
    pub author_name: String,
    /// RFC 3339 time it was recorded.
    pub created_at: String,
}

/// A case's events, by date (earliest first).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventList {
    /// Earliest first.
    pub events: Vec<EventView>,
}

fn check_text(field: &str, v: &str, max: usize, required: bool) -> Result<(), VaultError> {
    if required && v.trim().is_empty() {
        return Err(VaultError::bad(
            "invalid_field",
            format!("{field} is required"),
        ));
    }
    if v.chars().count() > max {
        return Err(VaultError::bad(
            "invalid_field",
            format!("{field} may have at most {max} characters"),
        ));
    }
    if v.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(VaultError::bad(
            "invalid_field",
            format!("{field} contains control characters"),
        ));
    }
    Ok(())
}

/// `HH:MM`, 00:00 to 23:59.
pub(super) fn valid_time(t: &str) -> bool {
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
        if crate::clock::parse_day(&self.date).is_none() {
            return Err(bad("invalid_field", "date must be YYYY-MM-DD"));
        }
        if let Some(t) = opt(&self.time)
            && !valid_time(&t)
        {
            return Err(bad("invalid_field", "time must be HH:MM (24-hour)"));
        }
        if let Some(p) = &self.place {
            check_text("place", p, 300, false)?;
        }
        if let Some(d) = &self.description {
            check_text("description", d, 2_000, false)?;
        }
        Ok(())
    }
}

impl Vault {
    /// Adds a note to a case; answers its id.
    pub async fn add_note(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
        input: &NoteInput,
    ) -> Result<String, VaultError> {
        let (actor, case_id, input) = (actor.clone(), case_id.to_owned(), input.clone());
        self.run(move |v| v.add_note_blocking(&actor, &case_id, &input))
            .await
    }

    pub(super) fn add_note_blocking(
        &self,
        actor: &Actor,
        case_id: &str,
        input: &NoteInput,
    ) -> Result<String, VaultError> {
        let (case, allowed) = self.case_for(
            actor,
            Action::AddNote,
            case_id,
            Some(Target::word(Word::Notes)),
        )?;
        let checked = (|| {
            check_text("text", &input.text, MAX_NOTE_CHARS, true)?;
            match &input.corrects {
                None => Ok(None),
                Some(raw) => {
                    // A storage failure is a failure, never "no such note".
                    let found = match parse_id(raw) {
                        Some(id) => self
                            .db
                            .read(|tx| tx.note_exists(&case.id, &id))?
                            .then_some(id),
                        None => None,
                    };
                    found.map(Some).ok_or_else(|| {
                        bad("unknown_note", "corrects must name a note of this case")
                    })
                }
            }
        })();
        let corrects = self.or_record(&allowed, checked)?;
        let id = new_id();
        let text = Zeroizing::new(input.text.as_bytes().to_vec());
        let body = crypto::seal_to(&case.recipient, &text)?;
        let row = NoteRow {
            id: id.clone(),
            body,
            corrects,
            created_by: actor.id.clone(),
            created_at: self.now_str(),
        };
        let allowed = allowed.and(Target::note(&id));
        self.db.write(|tx| {
            tx.insert_note(&case.id, &row)?;
            self.record(tx, &allowed, "ok")
        })?;
        Ok(id)
    }

    /// A case's notes, newest first.
    pub async fn list_notes(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
    ) -> Result<NoteList, VaultError> {
        let (actor, case_id) = (actor.clone(), case_id.to_owned());
        self.run(move |v| v.list_notes_blocking(&actor, &case_id))
            .await
    }

    pub(super) fn list_notes_blocking(
        &self,
        actor: &Actor,
        case_id: &str,
    ) -> Result<NoteList, VaultError> {
        let (case, allowed) = self.case_for(
            actor,
            Action::ReadNotes,
            case_id,
            Some(Target::word(Word::Notes)),
        )?;
        self.readable(&case, &allowed)?;
        let (rows, names) = self.db.read(|tx| -> Result<_, VaultError> {
            let rows = tx.notes(&case.id)?;
            let names = usernames(tx, rows.iter().map(|r| r.created_by.as_str()))?;
            Ok((rows, names))
        })?;
        // Newest first, so the first correction met for a note is its newest one.
        let mut corrected_by: HashMap<String, String> = HashMap::new();
        for r in &rows {
            if let Some(c) = &r.corrects {
                corrected_by
                    .entry(c.clone())
                    .or_insert_with(|| r.id.clone());
            }
        }
        let notes = rows
            .into_iter()
            .map(|r| {
                let plain = self.open_sealed(&case, Part::Item(&r.id), &r.body)?;
                let text = String::from_utf8(plain.to_vec())
                    .map_err(|_| VaultError::Internal("a note is not UTF-8".into()))?;
                Ok(NoteView {
                    corrected_by: corrected_by.get(&r.id).cloned(),
                    author_name: names.get(&r.created_by).cloned().unwrap_or_default(),
                    id: r.id,
                    text,
                    author: r.created_by,
                    created_at: r.created_at,
                    corrects: r.corrects,
                })
            })
            .collect::<Result<_, VaultError>>()?;
        Ok(NoteList { notes })
    }

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

    pub(super) fn add_event_blocking(
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
            match &input.replaces {
                None => Ok(None),
                Some(raw) => {
                    // A storage failure is a failure, never "no such event".
                    let found = match parse_id(raw) {
                        Some(id) => self
                            .db
                            .read(|tx| tx.event_exists(&case.id, &id))?
                            .then_some(id),
                        None => None,
                    };
                    found.map(Some).ok_or_else(|| {
                        bad("unknown_event", "replaces must name an event of this case")
                    })
                }
            }
        })();
        let replaces = self.or_record(&allowed, checked)?;
        let id = new_id();
        let body = EventBody {
            kind: input.kind.clone(),
            date: input.date.clone(),
            time: opt(&input.time),
            place: opt(&input.place),
            description: opt(&input.description),
            replaces,
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
        };
        let allowed = allowed.and(Target::event(&id));
        self.db.write(|tx| {
            tx.insert_event(&row)?;
            self.record(tx, &allowed, "ok")
        })?;
        Ok(id)
    }

    /// A case's events, earliest first.
    pub async fn list_events(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
    ) -> Result<EventList, VaultError> {
        let (actor, case_id) = (actor.clone(), case_id.to_owned());
        self.run(move |v| v.list_events_blocking(&actor, &case_id))
            .await
    }

    pub(super) fn list_events_blocking(
        &self,
        actor: &Actor,
        case_id: &str,
    ) -> Result<EventList, VaultError> {
        let (case, allowed) = self.case_for(
            actor,
            Action::ReadEvents,
            case_id,
            Some(Target::word(Word::Events)),
        )?;
        self.readable(&case, &allowed)?;
        let rows = self.db.read(|tx| tx.events(&case.id))?;
        let events = self.event_views(&case, &rows)?;
        Ok(EventList { events })
    }

    /// Decrypts a case's events into views, earliest first, with who replaced which.
    pub(super) fn event_views(
        &self,
        case: &CaseRow,
        rows: &[EventRow],
    ) -> Result<Vec<EventView>, VaultError> {
        let mut bodies = Vec::with_capacity(rows.len());
        for r in rows {
            let plain = self.open_sealed(case, Part::Item(&r.id), &r.body)?;
            let b: EventBody = serde_json::from_slice(&plain)
                .map_err(|_| VaultError::Internal("an event does not parse".into()))?;
            bodies.push((r.id.clone(), b));
        }
        // Rows are oldest first: the last replacement seen for an event is its newest.
        let mut replaced_by: HashMap<String, String> = HashMap::new();
        for (id, b) in &bodies {
            if let Some(r) = &b.replaces {
                replaced_by.insert(r.clone(), id.clone());
            }
        }
        let names = self
            .db
            .read(|tx| usernames(tx, bodies.iter().map(|(_, b)| b.created_by.as_str())))?;
        let mut out: Vec<EventView> = bodies
            .into_iter()
            .map(|(id, b)| EventView {
                replaced_by: replaced_by.get(&id).cloned(),
                author_name: names.get(&b.created_by).cloned().unwrap_or_default(),
                id,
                kind: b.kind.clone(),
                date: b.date.clone(),
                time: b.time.clone(),
                place: b.place.clone(),
                description: b.description.clone(),
                replaces: b.replaces.clone(),
                author: b.created_by.clone(),
                created_at: b.created_at.clone(),
            })
            .collect();
        out.sort_by(|a, b| (&a.date, &a.time).cmp(&(&b.date, &b.time)));
        Ok(out)
    }

    /// A read of sealed casework: audited, and 423 while the office is sealed.
    fn readable(&self, case: &CaseRow, allowed: &Allowed) -> Result<(), VaultError> {
        if !self.is_unsealed(&case.office) {
            self.record_now(allowed, "sealed")?;
            return Err(VaultError::OfficeSealed(case.office.clone()));
        }
        self.record_now(allowed, "ok")
    }

    /// The checked value, or the error after its decision is audited as refused input.
    pub(super) fn or_record<T>(
        &self,
        allowed: &Allowed,
        checked: Result<T, VaultError>,
    ) -> Result<T, VaultError> {
        match checked {
            Ok(v) => Ok(v),
            Err(e) => {
                let outcome = match &e {
                    VaultError::BadInput { .. } => "invalid_input",
                    _ => "failed",
                };
                self.record_now(allowed, outcome)?;
                Err(e)
            }
        }
    }
}

/// Usernames of the given account ids (an id with no account maps to nothing).
pub(super) fn usernames<'a>(
    tx: &Tx<'_>,
    ids: impl Iterator<Item = &'a str>,
) -> Result<HashMap<String, String>, VaultError> {
    let mut names = HashMap::new();
    for id in ids {
        if !names.contains_key(id)
            && let Some(u) = tx.user(id)?
        {
            names.insert(id.to_owned(), u.username);
        }
    }
    Ok(names)
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
