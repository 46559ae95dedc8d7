//! Shares of a case with a partner.
//!
//! Invariant: revoking stamps `revoked_at` instead of deleting the row, so a share's
//! history stays until its case is purged; reads return shares in every state, since
//! whether one still counts (live, unexpired) is the policy's decision, not a query's.
use rusqlite::{OptionalExtension, Row, params};

use super::{R, ReadTx, WriteTx, exec};

/// A share of a case with a partner.
#[derive(Debug, Clone)]
pub struct ShareRow {
    /// Opaque id.
    pub id: String,
    /// Case id.
    pub case_id: String,
    /// Partner user id.
    pub user_id: String,
    /// `read` / `upload`.
    pub permission: String,
    /// Unix time it expires.
    pub expires_at: i64,
    /// Unix time revoked.
    pub revoked_at: Option<i64>,
    /// The partner also sees the case's notes and events.
    pub notes: bool,
}

fn share_from(r: &Row<'_>) -> rusqlite::Result<ShareRow> {
    Ok(ShareRow {
        id: r.get(0)?,
        case_id: r.get(1)?,
        user_id: r.get(2)?,
        permission: r.get(3)?,
        expires_at: r.get(4)?,
        revoked_at: r.get(5)?,
        notes: r.get(6)?,
    })
}

/// A new share, as [`WriteTx::insert_share`] stores it.
pub struct NewShareRow<'a> {
    /// Opaque id.
    pub id: &'a str,
    /// Case id.
    pub case_id: &'a str,
    /// Partner user id.
    pub user_id: &'a str,
    /// `read` / `upload`.
    pub permission: &'a str,
    /// Unix time it expires.
    pub expires_at: i64,
    /// The partner also sees notes and events.
    pub notes: bool,
    /// Granting user's id.
    pub created_by: &'a str,
    /// RFC 3339.
    pub created_at: &'a str,
}

impl ReadTx<'_> {
    /// Shares of a case (all states).
    pub fn shares(&self, case: &str) -> R<Vec<ShareRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT id, case_id, user_id, permission, expires_at, revoked_at, notes FROM shares WHERE case_id = ?1 ORDER BY created_at",
        )?;
        let rows = st.query_map([case], share_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl WriteTx<'_> {
    /// Changes what a share allows and until when (the one live share of a partner on
    /// a case is changed, never doubled).
    pub fn update_share(&self, id: &str, permission: &str, expires_at: i64, notes: bool) -> R<()> {
        exec(
            self,
            "UPDATE shares SET permission = ?2, expires_at = ?3, notes = ?4 WHERE id = ?1",
            params![id, permission, expires_at, notes],
        )?;
        Ok(())
    }

    /// Inserts a share.
    pub fn insert_share(&self, s: &NewShareRow<'_>) -> R<()> {
        exec(
            self,
            "INSERT INTO shares (id, case_id, user_id, permission, expires_at, notes, created_by, created_at)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
            params![
                s.id,
                s.case_id,
                s.user_id,
                s.permission,
                s.expires_at,
                s.notes,
                s.created_by,
                s.created_at
            ],
        )?;
        Ok(())
    }

    /// The partner a share of a case is to.
    pub fn share_user(&self, case: &str, id: &str) -> R<Option<String>> {
        Ok(self
            .q_row(
                "SELECT user_id FROM shares WHERE case_id = ?1 AND id = ?2",
                params![case, id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Revokes a share of a case; true if it existed and was live.
    pub fn revoke_share(&self, case: &str, id: &str, now: i64) -> R<bool> {
        Ok(exec(
            self,
            "UPDATE shares SET revoked_at = ?3 WHERE case_id = ?1 AND id = ?2 AND revoked_at IS NULL",
            params![case, id, now],
        )? == 1)
    }

    /// Revokes every live share to a user; answers how many.
    pub fn revoke_user_shares(&self, user: &str, now: i64) -> R<usize> {
        exec(
            self,
            "UPDATE shares SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
            params![user, now],
        )
    }
}
