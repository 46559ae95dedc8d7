//! User accounts with their second factors: TOTP seeds and recovery codes.
//!
//! Invariant: no secret is stored in the clear — passwords as argon2id hashes, TOTP
//! seeds sealed under the auth key, recovery codes as hashes deleted as they are used;
//! a TOTP time step is accepted at most once (the stored step only moves forward).
//! [`UserRow`]'s `Debug` prints the id and role only, never the login name or a hash.
use rusqlite::{OptionalExtension, Row, params};

use super::{R, ReadTx, WriteTx, exec};
use crate::policy::Role;

/// A user account.
#[derive(Clone)]
pub struct UserRow {
    /// Opaque id.
    pub id: String,
    /// Login name.
    pub username: String,
    /// Role name.
    pub role: Role,
    /// Office slug (admin, caseworker).
    pub office: Option<String>,
    /// Partner organisation.
    pub org: Option<String>,
    /// Caseworker supervisor flag.
    pub supervisor: bool,
    /// argon2id PHC string.
    pub password_hash: String,
    /// TOTP seed sealed under the auth key.
    pub totp_sealed: Option<Vec<u8>>,
    /// Whether enrolment was confirmed by a first valid code.
    pub totp_confirmed: bool,
    /// Last accepted TOTP time step.
    pub totp_last_step: Option<i64>,
    /// Disabled accounts cannot sign in.
    pub disabled: bool,
    /// Made, enabled or reset by someone who cannot read client data: reads nothing
    /// until a supervisor of the office or the office passphrase confirms it.
    pub access_pending: bool,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// The user columns, `u.`-qualified so that a join (sessions) can select them too.
pub(super) const USER_COLS: &str = "u.id, u.username, u.role, u.office, u.org, u.supervisor, u.password_hash, \
     u.totp_sealed, u.totp_confirmed, u.totp_last_step, u.disabled, u.access_pending";

/// Maps the [`USER_COLS`] that start at column `o`.
pub(super) fn user_from(r: &Row<'_>, o: usize) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        id: r.get(o)?,
        username: r.get(o + 1)?,
        role: {
            // The role is parsed as the row is loaded: a value no policy knows is a
            // damaged row, not an account with unknown powers.
            let text: String = r.get(o + 2)?;
            Role::parse(&text).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    o + 2,
                    rusqlite::types::Type::Text,
                    "unknown role".into(),
                )
            })?
        },
        office: r.get(o + 3)?,
        org: r.get(o + 4)?,
        supervisor: r.get(o + 5)?,
        password_hash: r.get(o + 6)?,
        totp_sealed: r.get(o + 7)?,
        totp_confirmed: r.get(o + 8)?,
        totp_last_step: r.get(o + 9)?,
        disabled: r.get(o + 10)?,
        access_pending: r.get(o + 11)?,
    })
}

/// A new user account, as [`WriteTx::insert_user`] stores it. No `Debug`: it holds the
/// login name and the password hash.
pub struct NewUserRow<'a> {
    /// Opaque id.
    pub id: &'a str,
    /// Login name.
    pub username: &'a str,
    /// Role name.
    pub role: Role,
    /// Office slug (admin, caseworker).
    pub office: Option<&'a str>,
    /// Partner organisation.
    pub org: Option<&'a str>,
    /// Caseworker supervisor flag.
    pub supervisor: bool,
    /// argon2id PHC string.
    pub password_hash: &'a str,
    /// RFC 3339.
    pub created_at: &'a str,
    /// Reads nothing until confirmed (see [`UserRow::access_pending`]).
    pub access_pending: bool,
}

impl ReadTx<'_> {
    /// The language a person chose for the pages, if any.
    pub fn user_language(&self, user: &str) -> R<Option<String>> {
        Ok(self
            .q_row(
                "SELECT language FROM user_prefs WHERE user_id = ?1",
                [user],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The session an unconfirmed authenticator secret was shown to.
    pub fn totp_enrol_session(&self, user: &str) -> R<Option<Vec<u8>>> {
        Ok(self
            .q_row(
                "SELECT totp_enrol_session FROM users WHERE id = ?1",
                [user],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// The office's accounts waiting for confirmation.
    pub fn pending_access(&self, office: &str) -> R<Vec<UserRow>> {
        Ok(self
            .users(Some(office))?
            .into_iter()
            .filter(|u| u.access_pending && !u.disabled)
            .collect())
    }

    /// A user by login name.
    pub fn user_by_name(&self, username: &str) -> R<Option<UserRow>> {
        Ok(self
            .q_row(
                &format!("SELECT {USER_COLS} FROM users u WHERE u.username = ?1"),
                [username],
                |r| user_from(r, 0),
            )
            .optional()?)
    }

    /// A user by id.
    pub fn user(&self, id: &str) -> R<Option<UserRow>> {
        Ok(self
            .q_row(
                &format!("SELECT {USER_COLS} FROM users u WHERE u.id = ?1"),
                [id],
                |r| user_from(r, 0),
            )
            .optional()?)
    }

    /// Users, optionally only of one office.
    pub fn users(&self, office: Option<&str>) -> R<Vec<UserRow>> {
        let mut st = self.0.prepare_cached(&format!(
            "SELECT {USER_COLS} FROM users u WHERE (?1 IS NULL OR u.office = ?1) ORDER BY u.username"
        ))?;
        let rows = st.query_map([office], |r| user_from(r, 0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl WriteTx<'_> {
    /// Records the session an unconfirmed authenticator secret is shown to (`None`
    /// once confirmed or reset).
    pub fn set_totp_enrol_session(&self, user: &str, session: Option<&[u8]>) -> R<()> {
        exec(
            self,
            "UPDATE users SET totp_enrol_session = ?2 WHERE id = ?1",
            params![user, session],
        )?;
        Ok(())
    }

    /// Records the language a person chose for the pages (`en` or `es`).
    pub fn set_user_language(&self, user: &str, language: &str) -> R<()> {
        exec(
            self,
            "INSERT INTO user_prefs (user_id, language) VALUES (?1, ?2)
             ON CONFLICT(user_id) DO UPDATE SET language = excluded.language",
            params![user, language],
        )?;
        Ok(())
    }

    /// Inserts a user.
    pub fn insert_user(&self, u: &NewUserRow<'_>) -> R<()> {
        exec(
            self,
            "INSERT INTO users (id, username, role, office, org, supervisor, password_hash, created_at, access_pending)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
            params![
                u.id,
                u.username,
                u.role.as_str(),
                u.office,
                u.org,
                u.supervisor,
                u.password_hash,
                u.created_at,
                u.access_pending
            ],
        )?;
        Ok(())
    }

    /// Marks an account's power to read client data as waiting for confirmation, or
    /// confirmed.
    pub fn set_access_pending(&self, id: &str, pending: bool) -> R<()> {
        exec(
            self,
            "UPDATE users SET access_pending = ?2 WHERE id = ?1",
            params![id, pending],
        )?;
        Ok(())
    }

    /// Replaces a password hash.
    pub fn set_password(&self, id: &str, hash: &str) -> R<()> {
        exec(
            self,
            "UPDATE users SET password_hash = ?2 WHERE id = ?1",
            params![id, hash],
        )?;
        Ok(())
    }

    /// Enables or disables an account.
    pub fn set_disabled(&self, id: &str, disabled: bool) -> R<()> {
        exec(
            self,
            "UPDATE users SET disabled = ?2 WHERE id = ?1",
            params![id, disabled],
        )?;
        Ok(())
    }

    /// Stores a (new) TOTP seed, sealed; `confirmed` says whether it counts yet.
    pub fn set_totp(&self, id: &str, sealed: Option<&[u8]>, confirmed: bool) -> R<()> {
        exec(
            self,
            "UPDATE users SET totp_sealed = ?2, totp_confirmed = ?3, totp_last_step = NULL WHERE id = ?1",
            params![id, sealed, confirmed],
        )?;
        Ok(())
    }

    /// Records the accepted time step, only if it is newer than the stored one.
    /// Returns false when the step was already used (a replay).
    pub fn use_totp_step(&self, id: &str, step: i64) -> R<bool> {
        let n = exec(
            self,
            "UPDATE users SET totp_last_step = ?2 WHERE id = ?1 AND (totp_last_step IS NULL OR totp_last_step < ?2)",
            params![id, step],
        )?;
        Ok(n == 1)
    }

    /// Marks TOTP enrolment confirmed.
    pub fn confirm_totp(&self, id: &str) -> R<()> {
        exec(
            self,
            "UPDATE users SET totp_confirmed = 1 WHERE id = ?1",
            [id],
        )?;
        Ok(())
    }

    /// Replaces a user's recovery codes.
    pub fn set_recovery_codes(&self, id: &str, hashes: &[Vec<u8>]) -> R<()> {
        exec(self, "DELETE FROM recovery_codes WHERE user_id = ?1", [id])?;
        for h in hashes {
            exec(
                self,
                "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?1, ?2)",
                params![id, h],
            )?;
        }
        Ok(())
    }

    /// Consumes a recovery code; true if it existed.
    pub fn use_recovery_code(&self, id: &str, hash: &[u8]) -> R<bool> {
        Ok(exec(
            self,
            "DELETE FROM recovery_codes WHERE user_id = ?1 AND code_hash = ?2",
            params![id, hash],
        )? == 1)
    }
}
