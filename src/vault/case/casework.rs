//! A case's notes (events are `events.rs`), and what both share: the text checks, the
//! sealed read's audit, the authors' usernames.
//!
//! Invariants: a note's text is sealed to the case key before it reaches the database;
//! a note is never changed, only corrected by a newer note that names it, and only
//! once (a second correction of the same note is a 409); adding works
//! while the office is sealed (only the case's public key is needed), reading does
//! not; who reads them is rule 21 (a partner only through a share with `notes`).
use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::crypto;
use crate::policy::Action;
use crate::store::{CaseRow, NoteRow, ReadTx, StoreError, WriteTx};
use crate::vault::case::cases::bad;
use crate::vault::guard::target::{Target, Word};
use crate::vault::office::plain_cache::Part;
use crate::vault::{Actor, Allowed, PageQuery, Vault, VaultError, new_id, parse_id};

/// The longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 20_000;
/// The longest note, in bytes of UTF-8 (20,000 characters of most Latin, Cyrillic or
/// Arabic text fit; a note of wider characters ends sooner).
pub const MAX_NOTE_BYTES: usize = 40_000;

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
    /// The note that corrects this one (then this one is out of date).
    pub corrected_by: Option<String>,
}

/// A page of a case's notes, newest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NoteList {
    /// Newest first.
    pub notes: Vec<NoteView>,
    /// Pass as `after` for the next (older) page; null on the last page.
    pub next_after: Option<String>,
}

/// A free-text field: at most `max` characters, no control characters but line
/// breaks and tabs, no invisible formatting characters ([`crate::text`]), and not
/// blank when `required`.
pub(in crate::vault) fn check_text(
    field: &str,
    v: &str,
    max: usize,
    required: bool,
) -> Result<(), VaultError> {
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
    if crate::text::has_invisible_format(v) {
        return Err(VaultError::bad(
            "invalid_field",
            format!("{field} contains {}", crate::text::INVISIBLE_FORMAT),
        ));
    }
    Ok(())
}

/// A one-line free-text field (a name, a place): [`check_text`], and no line break or
/// tab either (they would split a row of a list or a terminal's output).
pub(in crate::vault) fn check_line(
    field: &str,
    v: &str,
    max: usize,
    required: bool,
) -> Result<(), VaultError> {
    check_text(field, v, max, required)?;
    if v.contains(['\n', '\r', '\t']) {
        return Err(VaultError::bad(
            "invalid_field",
            format!("{field} is one line: no line breaks or tabs"),
        ));
    }
    Ok(())
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

    pub(in crate::vault) fn add_note_blocking(
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
            if input.text.len() > MAX_NOTE_BYTES {
                return Err(VaultError::bad(
                    "invalid_field",
                    format!(
                        "a note may have at most {MAX_NOTE_CHARS} characters and {MAX_NOTE_BYTES} bytes; split a longer one into several notes"
                    ),
                ));
            }
            self.linked_id(
                input.corrects.as_deref(),
                |tx, id| tx.note_exists(&case.id, id),
                "unknown_note",
                "corrects must name a note of this case",
            )
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
        self.store_linked(
            &allowed,
            |tx| tx.insert_note(&case.id, &row),
            "already_corrected",
            "someone has already corrected that note; nothing was saved: reload the case and correct their correction if needed",
        )?;
        Ok(id)
    }

    /// A page of a case's notes, newest first (`limit` default 50, at most 500, and at
    /// most `PAGE_BYTES` of text: a page of long notes ends early).
    pub async fn list_notes(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
        page: &PageQuery,
    ) -> Result<NoteList, VaultError> {
        let (actor, case_id, page) = (actor.clone(), case_id.to_owned(), page.clone());
        self.run_heavy(move |v| v.list_notes_blocking(&actor, &case_id, &page))
            .await
    }

    pub(in crate::vault) fn list_notes_blocking(
        &self,
        actor: &Actor,
        case_id: &str,
        page: &PageQuery,
    ) -> Result<NoteList, VaultError> {
        let limit = page.size()?;
        let cursor = page.cursor()?;
        let (case, allowed) = self.case_for(
            actor,
            Action::ReadNotes,
            case_id,
            Some(Target::word(Word::Notes)),
        )?;
        if !self.is_unsealed(&case.office) {
            self.record_now(&allowed, "sealed")?;
            return Err(VaultError::OfficeSealed(case.office.clone()));
        }
        let read = self.db.read(|tx| -> Result<_, VaultError> {
            let before = match &cursor {
                None => None,
                Some(id) => match tx.note_position(&case.id, id)? {
                    Some(p) => Some(p),
                    None => return Ok(None),
                },
            };
            let rows = tx.note_page(&case.id, before, limit + 1)?;
            let names = usernames(tx, rows.iter().map(|(_, r)| r.created_by.as_str()))?;
            // A note is corrected at most once (a unique index); ids only.
            let corrected_by: HashMap<String, String> =
                tx.note_corrections(&case.id)?.into_iter().collect();
            Ok(Some((rows, names, corrected_by)))
        })?;
        let Some((rows, names, corrected_by)) = read else {
            self.record_now(&allowed, "invalid_cursor")?;
            return Err(crate::vault::case::case_list::invalid_cursor());
        };
        self.record_now(&allowed, "ok")?;
        let more = rows.len() > limit;
        let mut notes = Vec::with_capacity(rows.len().min(limit));
        let mut bytes = 0usize;
        let mut cut = false;
        for (_, r) in rows.into_iter().take(limit) {
            if bytes >= page.byte_budget() {
                cut = true;
                break;
            }
            let plain = self.open_sealed(&case, Part::Item(&r.id), &r.body)?;
            let text = String::from_utf8(plain.to_vec())
                .map_err(|_| VaultError::Internal("a note is not UTF-8".into()))?;
            bytes += text.len();
            notes.push(NoteView {
                corrected_by: corrected_by.get(&r.id).cloned(),
                author_name: names.get(&r.created_by).cloned().unwrap_or_default(),
                id: r.id,
                text,
                author: r.created_by,
                created_at: r.created_at,
                corrects: r.corrects,
            });
        }
        let next_after = (more || cut)
            .then(|| notes.last().map(|n: &NoteView| n.id.clone()))
            .flatten();
        Ok(NoteList { notes, next_after })
    }

    /// A read of sealed casework: audited, and 423 while the office is sealed.
    pub(in crate::vault) fn readable(
        &self,
        case: &CaseRow,
        allowed: &Allowed,
    ) -> Result<(), VaultError> {
        if !self.is_unsealed(&case.office) {
            self.record_now(allowed, "sealed")?;
            return Err(VaultError::OfficeSealed(case.office.clone()));
        }
        self.record_now(allowed, "ok")
    }

    /// The id a new note or event links to (`corrects`, `replaces`), checked to be
    /// one of the case's; a storage failure is a failure, never "no such note".
    pub(in crate::vault) fn linked_id(
        &self,
        raw: Option<&str>,
        exists: impl FnOnce(&ReadTx<'_>, &str) -> Result<bool, StoreError>,
        code: &'static str,
        message: &'static str,
    ) -> Result<Option<String>, VaultError> {
        let Some(raw) = raw else { return Ok(None) };
        let found = match parse_id(raw) {
            Some(id) => self.db.read(|tx| exists(tx, &id))?.then_some(id),
            None => None,
        };
        found.map(Some).ok_or_else(|| bad(code, message))
    }

    /// Stores a new note or event with its audit entry. A second link to the same
    /// note or event (the unique index) is a 409 with `code`, audited as a conflict.
    pub(in crate::vault) fn store_linked(
        &self,
        allowed: &Allowed,
        insert: impl FnOnce(&WriteTx<'_>) -> Result<(), StoreError>,
        code: &'static str,
        message: &'static str,
    ) -> Result<(), VaultError> {
        let stored = self.db.write(|tx| {
            insert(tx)?;
            self.record(tx, allowed, "ok")
        });
        match stored {
            Err(VaultError::Conflict { .. }) => {
                self.record_now(allowed, "conflict")?;
                Err(VaultError::conflict(code, message))
            }
            other => other,
        }
    }

    /// The checked value, or the error after its decision is audited as refused input.
    pub(in crate::vault) fn or_record<T>(
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
pub(in crate::vault) fn usernames<'a>(
    tx: &ReadTx<'_>,
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
