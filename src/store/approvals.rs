//! Two-person approval requests (`approvals`, issue 26).
//!
//! Invariant: a request leaves `pending` exactly once: every change of status is a
//! conditional update on the status it expects, so two approvers racing for the last
//! approval cannot both run the action.
use rusqlite::{OptionalExtension, params};

use super::{R, ReadTx, WriteTx, exec};

/// One request.
#[derive(Debug, Clone)]
pub struct ApprovalRow {
    /// Request id.
    pub id: String,
    /// `purge_office` or `lift_hold`.
    pub action: String,
    /// Office slug.
    pub office: String,
    /// The office's `audit_from` when asked (which creation of the slug).
    pub office_from: i64,
    /// The case, for a case's hold.
    pub case_id: Option<String>,
    /// Requester's user id.
    pub requester: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub expires_at: String,
    /// Unix seconds of `expires_at`.
    pub expires_unix: i64,
    /// Approvals needed.
    pub needed: u32,
    /// User ids of the approvers so far.
    pub approvers: Vec<String>,
    /// `pending`, `approved`, `denied`, `expired`, `withdrawn`, `done` or `failed`.
    pub status: String,
    /// Who denied or withdrew it.
    pub decided_by: Option<String>,
    /// What running it gave (`ok cases=… documents=…`, `legal_hold`, …).
    pub outcome: Option<String>,
}

/// A new request.
pub struct NewApprovalRow<'a> {
    /// Request id.
    pub id: &'a str,
    /// Action name.
    pub action: &'a str,
    /// Office slug.
    pub office: &'a str,
    /// The office's `audit_from` now.
    pub office_from: i64,
    /// The case, for a case's hold.
    pub case_id: Option<&'a str>,
    /// Requester's user id.
    pub requester: &'a str,
    /// The keyed hash of the requester's session.
    pub requester_session: Option<&'a [u8]>,
    /// RFC 3339.
    pub created_at: &'a str,
    /// RFC 3339.
    pub expires_at: &'a str,
    /// Unix seconds.
    pub expires_unix: i64,
    /// Approvals needed.
    pub needed: u32,
}

const COLS: &str = "id, action, office, case_id, requester, created_at, expires_at, \
                    expires_unix, needed, approvers, status, decided_by, outcome, office_from";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApprovalRow> {
    let approvers: String = r.get(9)?;
    Ok(ApprovalRow {
        id: r.get(0)?,
        action: r.get(1)?,
        office: r.get(2)?,
        case_id: r.get(3)?,
        requester: r.get(4)?,
        created_at: r.get(5)?,
        expires_at: r.get(6)?,
        expires_unix: r.get(7)?,
        needed: r.get(8)?,
        approvers: approvers.split_whitespace().map(str::to_owned).collect(),
        status: r.get(10)?,
        decided_by: r.get(11)?,
        outcome: r.get(12)?,
        office_from: r.get(13)?,
    })
}

impl ReadTx<'_> {
    /// One request.
    pub fn approval(&self, id: &str) -> R<Option<ApprovalRow>> {
        Ok(self
            .q_row(
                &format!("SELECT {COLS} FROM approvals WHERE id = ?1"),
                [id],
                row,
            )
            .optional()?)
    }

    /// Requests, newest first (at most `limit`).
    pub fn approvals(&self, limit: usize) -> R<Vec<ApprovalRow>> {
        let mut st = self.0.prepare_cached(&format!(
            "SELECT {COLS} FROM approvals ORDER BY created_at DESC, rowid DESC LIMIT ?1"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = st.query_map([limit], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many cases and documents an office holds (the words of a request).
    pub fn office_size(&self, office: &str) -> R<(u64, u64)> {
        let cases: i64 = self.q_row(
            "SELECT COUNT(*) FROM cases WHERE office = ?1",
            [office],
            |r| r.get(0),
        )?;
        let docs: i64 = self.q_row(
            "SELECT COUNT(*) FROM documents d JOIN cases c ON c.id = d.case_id \
             WHERE c.office = ?1",
            [office],
            |r| r.get(0),
        )?;
        Ok((
            u64::try_from(cases).unwrap_or(0),
            u64::try_from(docs).unwrap_or(0),
        ))
    }
}

impl WriteTx<'_> {
    /// Records a new pending request.
    pub fn insert_approval(&self, a: &NewApprovalRow<'_>) -> R<()> {
        exec(
            self,
            "INSERT INTO approvals (id, action, office, case_id, requester, requester_session, \
             created_at, expires_at, expires_unix, needed, office_from) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                a.id,
                a.action,
                a.office,
                a.case_id,
                a.requester,
                a.requester_session,
                a.created_at,
                a.expires_at,
                a.expires_unix,
                a.needed,
                a.office_from
            ],
        )?;
        Ok(())
    }

    /// Sets the approvers of a pending request (and its status, `pending` or
    /// `approved`); false when it was no longer pending.
    pub fn approval_vote(&self, id: &str, approvers: &[String], status: &str) -> R<bool> {
        let n = exec(
            self,
            "UPDATE approvals SET approvers = ?2, status = ?3 WHERE id = ?1 AND status = 'pending'",
            params![id, approvers.join(" "), status],
        )?;
        Ok(n == 1)
    }

    /// Moves a request from `from` to `to`; false when it was not in `from`.
    pub fn approval_status(
        &self,
        id: &str,
        from: &str,
        to: &str,
        by: Option<&str>,
        outcome: Option<&str>,
    ) -> R<bool> {
        let n = exec(
            self,
            "UPDATE approvals SET status = ?3, decided_by = COALESCE(?4, decided_by), \
             outcome = COALESCE(?5, outcome) WHERE id = ?1 AND status = ?2",
            params![id, from, to, by, outcome],
        )?;
        Ok(n == 1)
    }
}
