//! Cases, their blind indexes, legal holds on a case and assignments to caseworkers.
//!
//! Invariant: only ciphertext, ids and public facts — metadata is encrypted to the
//! case, the case identity is wrapped to the office, and an A-number or client name
//! is only ever matched through its keyed blind index, never stored in the clear.
use rusqlite::{OptionalExtension, Row, params};

use super::{R, Tx, exec};

/// A case row (everything but the metadata is opaque or public).
#[derive(Debug, Clone)]
pub struct CaseRow {
    /// Opaque id.
    pub id: String,
    /// Office slug.
    pub office: String,
    /// Creator's user id.
    pub created_by: String,
    /// Case age recipient.
    pub recipient: String,
    /// Case identity wrapped to the office.
    pub wrapped_identity: Vec<u8>,
    /// Encrypted metadata.
    pub metadata: Vec<u8>,
    /// `open` / `closed`.
    pub status: String,
    /// Legal hold on the case itself.
    pub held: bool,
    /// RFC 3339.
    pub created_at: String,
    /// The A-number still needs indexing (created while sealed).
    pub a_number_pending: bool,
    /// RFC 3339 time it was closed (None while open).
    pub closed_at: Option<String>,
}

const CASE_COLS: &str = "c.id, c.office, c.created_by, c.recipient, c.wrapped_identity, c.metadata, \
     c.status, c.held, c.created_at, c.a_number_pending, c.closed_at";

fn case_from(r: &Row<'_>) -> rusqlite::Result<CaseRow> {
    Ok(CaseRow {
        id: r.get(0)?,
        office: r.get(1)?,
        created_by: r.get(2)?,
        recipient: r.get(3)?,
        wrapped_identity: r.get(4)?,
        metadata: r.get(5)?,
        status: r.get(6)?,
        held: r.get(7)?,
        created_at: r.get(8)?,
        a_number_pending: r.get(9)?,
        closed_at: r.get(10)?,
    })
}

/// A new case, as [`Tx::insert_case`] stores it.
pub struct NewCaseRow<'a> {
    /// Opaque id.
    pub id: &'a str,
    /// Office slug.
    pub office: &'a str,
    /// Creator's user id.
    pub created_by: &'a str,
    /// Case age recipient.
    pub recipient: &'a str,
    /// Case identity wrapped to the office.
    pub wrapped_identity: &'a [u8],
    /// Encrypted metadata.
    pub metadata: &'a [u8],
    /// Blind index of the A-number, when the office was unsealed.
    pub a_number_index: Option<&'a [u8]>,
    /// The indexes still need computing (created while sealed).
    pub a_number_pending: bool,
    /// RFC 3339.
    pub created_at: &'a str,
}

impl Tx<'_> {
    /// Inserts a case.
    pub fn insert_case(&self, c: &NewCaseRow<'_>) -> R<()> {
        exec(
            self,
            "INSERT INTO cases (id, office, created_by, recipient, wrapped_identity, metadata, a_number_index, a_number_pending, created_at)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
            params![
                c.id,
                c.office,
                c.created_by,
                c.recipient,
                c.wrapped_identity,
                c.metadata,
                c.a_number_index,
                c.a_number_pending,
                c.created_at
            ],
        )?;
        Ok(())
    }

    /// One case.
    pub fn case(&self, id: &str) -> R<Option<CaseRow>> {
        Ok(self
            .0
            .query_row(
                &format!("SELECT {CASE_COLS} FROM cases c WHERE c.id = ?1"),
                [id],
                case_from,
            )
            .optional()?)
    }

    /// Every case of an office, newest first.
    pub fn office_cases(&self, office: &str) -> R<Vec<CaseRow>> {
        let mut st = self.0.prepare(&format!(
            "SELECT {CASE_COLS} FROM cases c WHERE c.office = ?1 ORDER BY c.created_at DESC, c.id"
        ))?;
        let rows = st.query_map([office], case_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Cases with a share (of any state) for a user; the policy decides which count.
    pub fn shared_cases(&self, user: &str) -> R<Vec<CaseRow>> {
        let mut st = self.0.prepare(&format!(
            "SELECT DISTINCT {CASE_COLS} FROM cases c JOIN shares s ON s.case_id = c.id
             WHERE s.user_id = ?1 ORDER BY c.created_at DESC, c.id"
        ))?;
        let rows = st.query_map([user], case_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Cases of an office whose blind index matches.
    pub fn cases_by_a_number(&self, office: &str, index: &[u8]) -> R<Vec<CaseRow>> {
        let mut st = self.0.prepare(&format!(
            "SELECT {CASE_COLS} FROM cases c WHERE c.office = ?1 AND c.a_number_index = ?2 ORDER BY c.created_at DESC"
        ))?;
        let rows = st.query_map(params![office, index], case_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Cases of an office created while it was sealed, whose index is still missing.
    pub fn cases_pending_index(&self, office: &str) -> R<Vec<CaseRow>> {
        let mut st = self.0.prepare(&format!(
            "SELECT {CASE_COLS} FROM cases c WHERE c.office = ?1 AND c.a_number_pending = 1"
        ))?;
        let rows = st.query_map([office], case_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Stores a case's computed blind indexes and clears its pending flag.
    pub fn set_case_indexes(
        &self,
        id: &str,
        a_number: Option<&[u8]>,
        client_name: Option<&[u8]>,
    ) -> R<()> {
        exec(
            self,
            "UPDATE cases SET a_number_index = ?2, client_name_index = ?3, a_number_pending = 0 WHERE id = ?1",
            params![id, a_number, client_name],
        )?;
        Ok(())
    }

    /// Cases of an office whose client-name blind index matches.
    pub fn cases_by_client_name(&self, office: &str, index: &[u8]) -> R<Vec<CaseRow>> {
        let mut st = self.0.prepare(&format!(
            "SELECT {CASE_COLS} FROM cases c WHERE c.office = ?1 AND c.client_name_index = ?2 ORDER BY c.created_at DESC"
        ))?;
        let rows = st.query_map(params![office, index], case_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Sets the legal-hold flag of a case.
    pub fn set_case_hold(&self, id: &str, held: bool) -> R<()> {
        exec(
            self,
            "UPDATE cases SET held = ?2 WHERE id = ?1",
            params![id, held],
        )?;
        Ok(())
    }

    /// User ids assigned to a case.
    pub fn assignees(&self, case: &str) -> R<Vec<String>> {
        let mut st = self
            .0
            .prepare("SELECT user_id FROM case_assignments WHERE case_id = ?1")?;
        let rows = st.query_map([case], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Assigns a user to a case.
    pub fn assign(&self, case: &str, user: &str) -> R<()> {
        exec(
            self,
            "INSERT OR IGNORE INTO case_assignments (case_id, user_id) VALUES (?1, ?2)",
            params![case, user],
        )?;
        Ok(())
    }
}
