//! Passkeys of accounts.
//!
//! Invariant: a passkey row holds its credential id, public key, counter and name, and
//! nothing else; it goes with its account (`ON DELETE CASCADE`) and with an
//! administrator's reset of the account.
use rusqlite::{OptionalExtension, Row, params};

use super::{R, ReadTx, WriteTx, exec};

/// A stored passkey.
#[derive(Debug, Clone)]
pub struct PasskeyRow {
    /// Opaque id.
    pub id: String,
    /// The account's id.
    pub user_id: String,
    /// The credential id the authenticator gave it.
    pub cred_id: Vec<u8>,
    /// The name the person gave it.
    pub name: String,
    /// The serialised credential (public key, counter).
    pub credential: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339 of the last sign-in or step-up with it.
    pub last_used_at: Option<String>,
}

const COLS: &str = "id, user_id, cred_id, name, credential, created_at, last_used_at";

fn passkey_from(r: &Row<'_>) -> rusqlite::Result<PasskeyRow> {
    Ok(PasskeyRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        cred_id: r.get(2)?,
        name: r.get(3)?,
        credential: r.get(4)?,
        created_at: r.get(5)?,
        last_used_at: r.get(6)?,
    })
}

impl ReadTx<'_> {
    /// An account's passkeys, oldest first.
    pub fn passkeys_of(&self, user: &str) -> R<Vec<PasskeyRow>> {
        let mut st = self.0.prepare_cached(&format!(
            "SELECT {COLS} FROM passkeys WHERE user_id = ?1 ORDER BY created_at, id"
        ))?;
        let rows = st.query_map([user], passkey_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The passkey with this credential id, if any.
    pub fn passkey_by_cred(&self, cred_id: &[u8]) -> R<Option<PasskeyRow>> {
        Ok(self
            .q_row(
                &format!("SELECT {COLS} FROM passkeys WHERE cred_id = ?1"),
                [cred_id],
                passkey_from,
            )
            .optional()?)
    }
}

impl WriteTx<'_> {
    /// Stores a new passkey.
    pub fn insert_passkey(&self, p: &PasskeyRow) -> R<()> {
        exec(
            self,
            "INSERT INTO passkeys (id, user_id, cred_id, name, credential, created_at, last_used_at)
             VALUES (?1,?2,?3,?4,?5,?6,?7)",
            params![
                p.id,
                p.user_id,
                p.cred_id,
                p.name,
                p.credential,
                p.created_at,
                p.last_used_at
            ],
        )?;
        Ok(())
    }

    /// Records a use: the credential (its counter moved) and the time.
    pub fn use_passkey(&self, id: &str, credential: &str, now: &str) -> R<()> {
        exec(
            self,
            "UPDATE passkeys SET credential = ?2, last_used_at = ?3 WHERE id = ?1",
            params![id, credential, now],
        )?;
        Ok(())
    }

    /// Removes one of an account's passkeys; true if it was there.
    pub fn delete_passkey(&self, user: &str, id: &str) -> R<bool> {
        // The office keys it unsealed go with it (its PRF is gone for the server).
        exec(
            self,
            "UPDATE office_holders SET prf_wrapped = NULL, prf_passkey = NULL
             WHERE user_id = ?1 AND prf_passkey = ?2",
            params![user, id],
        )?;
        Ok(exec(
            self,
            "DELETE FROM passkeys WHERE user_id = ?1 AND id = ?2",
            params![user, id],
        )? == 1)
    }

    /// Removes every passkey of an account (an administrator's reset).
    pub fn delete_user_passkeys(&self, user: &str) -> R<usize> {
        exec(
            self,
            "UPDATE office_holders SET prf_wrapped = NULL, prf_passkey = NULL WHERE user_id = ?1",
            [user],
        )?;
        exec(self, "DELETE FROM passkeys WHERE user_id = ?1", [user])
    }
}
