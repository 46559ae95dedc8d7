//! Sign-in sessions.
//!
//! Invariant: a session is found only by the keyed hash of its token; the token itself
//! is never stored, so a copy of the database cannot sign anyone in.
use rusqlite::{OptionalExtension, params};

use super::users::{USER_COLS, UserRow, user_from};
use super::{R, ReadTx, WriteTx, exec};

/// A session joined with its user.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// The user.
    pub user: UserRow,
    /// Unix time created.
    pub created_at: i64,
    /// Unix time of the last request.
    pub last_seen: i64,
    /// Unix time a second factor was last proved in this session.
    pub totp_at: Option<i64>,
    /// The session's CSRF token.
    pub csrf: String,
}

/// A new session, as [`WriteTx::insert_session`] stores it. No `Debug`: it holds the
/// CSRF token.
pub struct NewSessionRow<'a> {
    /// Keyed hash of the session token (the token itself is never stored).
    pub token_hash: &'a [u8],
    /// The user.
    pub user_id: &'a str,
    /// Unix time created; also its first last-seen time.
    pub created_at: i64,
    /// Unix time a second factor was proved at sign-in.
    pub totp_at: Option<i64>,
    /// The session's CSRF token.
    pub csrf: &'a str,
}

impl ReadTx<'_> {
    /// A session and its user.
    pub fn session(&self, hash: &[u8]) -> R<Option<SessionRow>> {
        Ok(self
            .q_row(
                &format!(
                    "SELECT s.created_at, s.last_seen, s.totp_at, s.csrf, {USER_COLS}
                     FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1"
                ),
                [hash],
                |r| {
                    Ok(SessionRow {
                        created_at: r.get(0)?,
                        last_seen: r.get(1)?,
                        totp_at: r.get(2)?,
                        csrf: r.get(3)?,
                        user: user_from(r, 4)?,
                    })
                },
            )
            .optional()?)
    }
}

impl WriteTx<'_> {
    /// Inserts a session.
    pub fn insert_session(&self, s: &NewSessionRow<'_>) -> R<()> {
        exec(
            self,
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen, totp_at, csrf) VALUES (?1,?2,?3,?3,?4,?5)",
            params![s.token_hash, s.user_id, s.created_at, s.totp_at, s.csrf],
        )?;
        Ok(())
    }

    /// Updates a session's last-seen time (and, when given, its second-factor time).
    pub fn touch_session(&self, hash: &[u8], now: i64, totp_at: Option<i64>) -> R<()> {
        exec(
            self,
            "UPDATE sessions SET last_seen = ?2, totp_at = COALESCE(?3, totp_at) WHERE token_hash = ?1",
            params![hash, now, totp_at],
        )?;
        Ok(())
    }

    /// Ends one session.
    pub fn delete_session(&self, hash: &[u8]) -> R<()> {
        exec(self, "DELETE FROM sessions WHERE token_hash = ?1", [hash])?;
        Ok(())
    }

    /// Ends every session of a user but one (the one changing the password).
    pub fn delete_other_sessions(&self, user: &str, keep: &[u8]) -> R<()> {
        exec(
            self,
            "DELETE FROM sessions WHERE user_id = ?1 AND token_hash <> ?2",
            params![user, keep],
        )?;
        Ok(())
    }

    /// Ends every session of a user.
    pub fn delete_user_sessions(&self, user: &str) -> R<()> {
        exec(self, "DELETE FROM sessions WHERE user_id = ?1", [user])?;
        Ok(())
    }
}
