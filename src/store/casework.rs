//! A case's casework: earlier versions of its details, notes and dated events.
//!
//! Invariant: only ciphertext, ids and times — each version, note text and event is
//! age ciphertext sealed to the case key; a version changes only when its editor named
//! the version they saw, so two edits never silently overwrite each other.
use rusqlite::{OptionalExtension, params};

use super::{R, ReadTx, WriteTx, exec};

/// An earlier version of a case's details.
#[derive(Debug, Clone)]
pub struct VersionRow {
    /// Version number (1 = as opened).
    pub version: i64,
    /// Sealed metadata of that version.
    pub metadata: Vec<u8>,
    /// Who wrote it.
    pub changed_by: String,
    /// RFC 3339.
    pub changed_at: String,
}

/// A note.
#[derive(Debug, Clone)]
pub struct NoteRow {
    /// Opaque id.
    pub id: String,
    /// Sealed text.
    pub body: Vec<u8>,
    /// The note this one corrects.
    pub corrects: Option<String>,
    /// Author's user id.
    pub created_by: String,
    /// RFC 3339.
    pub created_at: String,
}

/// An event: all but its id is sealed.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// Opaque id.
    pub id: String,
    /// Case id.
    pub case_id: String,
    /// Sealed JSON.
    pub body: Vec<u8>,
    /// The event this one replaces.
    pub replaces: Option<String>,
}

/// What an edit of a case's details found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditOutcome {
    /// Stored as this version.
    Stored(i64),
    /// The case is at another version than the editor saw.
    Conflict(i64),
    /// No such case.
    Missing,
}

impl ReadTx<'_> {
    /// The earlier versions of a case's details, newest first.
    pub fn case_versions(&self, case: &str) -> R<Vec<VersionRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT version, metadata, changed_by, changed_at FROM case_versions
             WHERE case_id = ?1 ORDER BY version DESC",
        )?;
        let rows = st.query_map([case], |r| {
            Ok(VersionRow {
                version: r.get(0)?,
                metadata: r.get(1)?,
                changed_by: r.get(2)?,
                changed_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A case's notes, newest first.
    pub fn notes(&self, case: &str) -> R<Vec<NoteRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT id, body, corrects, created_by, created_at FROM case_notes
             WHERE case_id = ?1 ORDER BY rowid DESC",
        )?;
        let rows = st.query_map([case], |r| {
            Ok(NoteRow {
                id: r.get(0)?,
                body: r.get(1)?,
                corrects: r.get(2)?,
                created_by: r.get(3)?,
                created_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether `id` is a note of the case.
    pub fn note_exists(&self, case: &str, id: &str) -> R<bool> {
        Ok(self.q_row(
            "SELECT EXISTS(SELECT 1 FROM case_notes WHERE case_id = ?1 AND id = ?2)",
            [case, id],
            |r| r.get(0),
        )?)
    }

    /// A case's events, in the order they were added.
    pub fn events(&self, case: &str) -> R<Vec<EventRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT id, case_id, body, replaces FROM case_events WHERE case_id = ?1 ORDER BY rowid",
        )?;
        let rows = st.query_map([case], |r| {
            Ok(EventRow {
                id: r.get(0)?,
                case_id: r.get(1)?,
                body: r.get(2)?,
                replaces: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether `id` is an event of the case.
    pub fn event_exists(&self, case: &str, id: &str) -> R<bool> {
        Ok(self.q_row(
            "SELECT EXISTS(SELECT 1 FROM case_events WHERE case_id = ?1 AND id = ?2)",
            [case, id],
            |r| r.get(0),
        )?)
    }

    /// A page of a case's notes, newest first: at most `limit` of those added before
    /// the note at rowid `before` (from the newest, when `None`), with their rowids.
    pub fn note_page(
        &self,
        case: &str,
        before: Option<i64>,
        limit: usize,
    ) -> R<Vec<(i64, NoteRow)>> {
        let mut st = self.0.prepare_cached(
            "SELECT rowid, id, body, corrects, created_by, created_at FROM case_notes
             WHERE case_id = ?1 AND rowid < ?2 ORDER BY rowid DESC LIMIT ?3",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = st.query_map(params![case, before.unwrap_or(i64::MAX), limit], |r| {
            Ok((
                r.get(0)?,
                NoteRow {
                    id: r.get(1)?,
                    body: r.get(2)?,
                    corrects: r.get(3)?,
                    created_by: r.get(4)?,
                    created_at: r.get(5)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Where note `id` sits among its case's notes (its rowid), if it is one.
    pub fn note_position(&self, case: &str, id: &str) -> R<Option<i64>> {
        Ok(self
            .q_row(
                "SELECT rowid FROM case_notes WHERE case_id = ?1 AND id = ?2",
                [case, id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// `(corrected, correcting)` note ids of a case: ids only, however long the notes.
    pub fn note_corrections(&self, case: &str) -> R<Vec<(String, String)>> {
        let mut st = self.0.prepare_cached(
            "SELECT corrects, id FROM case_notes WHERE case_id = ?1 AND corrects IS NOT NULL",
        )?;
        let rows = st.query_map([case], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A page of a case's events in the order they were added: at most `limit` of
    /// those after the event at rowid `after`, with their rowids.
    pub fn event_page(
        &self,
        case: &str,
        after: Option<i64>,
        limit: usize,
    ) -> R<Vec<(i64, EventRow)>> {
        let mut st = self.0.prepare_cached(
            "SELECT rowid, id, case_id, body, replaces FROM case_events
             WHERE case_id = ?1 AND rowid > ?2 ORDER BY rowid LIMIT ?3",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = st.query_map(params![case, after.unwrap_or(0), limit], |r| {
            Ok((
                r.get(0)?,
                EventRow {
                    id: r.get(1)?,
                    case_id: r.get(2)?,
                    body: r.get(3)?,
                    replaces: r.get(4)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Where event `id` sits among its case's events (its rowid), if it is one.
    pub fn event_position(&self, case: &str, id: &str) -> R<Option<i64>> {
        Ok(self
            .q_row(
                "SELECT rowid FROM case_events WHERE case_id = ?1 AND id = ?2",
                [case, id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// `(replaced, replacing)` event ids of a case.
    pub fn event_replacements(&self, case: &str) -> R<Vec<(String, String)>> {
        let mut st = self.0.prepare_cached(
            "SELECT replaces, id FROM case_events WHERE case_id = ?1 AND replaces IS NOT NULL",
        )?;
        let rows = st.query_map([case], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A page of a case's earlier versions, newest first: at most `limit` of those
    /// numbered below `before`.
    pub fn version_page(
        &self,
        case: &str,
        before: Option<i64>,
        limit: usize,
    ) -> R<Vec<VersionRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT version, metadata, changed_by, changed_at FROM case_versions
             WHERE case_id = ?1 AND version < ?2 ORDER BY version DESC LIMIT ?3",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = st.query_map(params![case, before.unwrap_or(i64::MAX), limit], |r| {
            Ok(VersionRow {
                version: r.get(0)?,
                metadata: r.get(1)?,
                changed_by: r.get(2)?,
                changed_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl WriteTx<'_> {
    /// Replaces a case's details with `metadata` if it is still at `expected`; the
    /// details it had are kept as a version.
    pub fn edit_case_meta(
        &self,
        case: &str,
        expected: i64,
        metadata: &[u8],
        by: &str,
        at: &str,
    ) -> R<EditOutcome> {
        let current: Option<(i64, Vec<u8>, String, String)> = self
            .q_row(
                "SELECT version, metadata, COALESCE(updated_by, created_by),
                        COALESCE(updated_at, created_at) FROM cases WHERE id = ?1",
                [case],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((version, old, old_by, old_at)) = current else {
            return Ok(EditOutcome::Missing);
        };
        if version != expected {
            return Ok(EditOutcome::Conflict(version));
        }
        exec(
            self,
            "INSERT INTO case_versions (case_id, version, metadata, changed_by, changed_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![case, version, old, old_by, old_at],
        )?;
        exec(
            self,
            "UPDATE cases SET metadata = ?2, version = ?3, updated_by = ?4, updated_at = ?5
             WHERE id = ?1",
            params![case, metadata, version + 1, by, at],
        )?;
        Ok(EditOutcome::Stored(version + 1))
    }

    /// Adds a note. [`StoreError::Conflict`](super::StoreError::Conflict) when the note
    /// it corrects already has a correction.
    pub fn insert_note(&self, case: &str, n: &NoteRow) -> R<()> {
        exec(
            self,
            "INSERT INTO case_notes (id, case_id, body, corrects, created_by, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![n.id, case, n.body, n.corrects, n.created_by, n.created_at],
        )?;
        Ok(())
    }

    /// Adds an event. [`StoreError::Conflict`](super::StoreError::Conflict) when the
    /// event it replaces was already replaced.
    pub fn insert_event(&self, e: &EventRow) -> R<()> {
        exec(
            self,
            "INSERT INTO case_events (id, case_id, body, replaces) VALUES (?1, ?2, ?3, ?4)",
            params![e.id, e.case_id, e.body, e.replaces],
        )?;
        Ok(())
    }
}
