//! Office key holders (issue 23) and the rows a rotation of the office key rewrites.
//!
//! Invariant: a holder's identity rests only wrapped under their own secret; removing
//! a holder deletes their row and their shred key in the same transaction (so their
//! wrapped identity leaves every backup once the ledger is rewritten).
use rusqlite::{OptionalExtension, params};

use super::{CaseIndexes, R, ReadTx, ShredKind, WriteTx, exec};

/// One key holder of an office.
#[derive(Debug, Clone)]
pub struct HolderRow {
    /// Holder id.
    pub id: String,
    /// Office slug.
    pub office: String,
    /// The account; `None` for the office passphrase.
    pub user_id: Option<String>,
    /// The account's username (`None` for the office passphrase).
    pub username: Option<String>,
    /// `office` (the office passphrase), `passphrase` or `recovery`.
    pub kind: String,
    /// `invited`, `waiting` (key set up, not yet in the office identity file) or `active`.
    pub state: String,
    /// The holder's age recipient once their key is set up.
    pub recipient: Option<String>,
    /// Their identity, wrapped under their secret.
    pub wrapped_identity: Option<Vec<u8>>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339: the last unseal or proof with this holder's secret.
    pub last_used_at: Option<String>,
    /// Recovery: how many shares rebuild its secret.
    pub threshold: Option<u8>,
    /// Their identity under a passkey's PRF output, and which passkey.
    pub prf: Option<(Vec<u8>, String)>,
    /// Their account is disabled (they cannot sign in to unseal).
    pub disabled: bool,
    /// Recovery: SHA-256 commitments of its shares, 32 bytes each, in share order.
    pub share_check: Option<Vec<u8>>,
}

/// A new holder row.
pub struct NewHolderRow<'a> {
    /// Holder id.
    pub id: &'a str,
    /// Office slug.
    pub office: &'a str,
    /// The account, or `None` for the office passphrase.
    pub user_id: Option<&'a str>,
    /// `office`, `passphrase` or `recovery`.
    pub kind: &'a str,
    /// Initial state.
    pub state: &'a str,
    /// Recipient, when the key exists already.
    pub recipient: Option<&'a str>,
    /// Wrapped identity, when the key exists already.
    pub wrapped_identity: Option<&'a [u8]>,
    /// Who invited (user id), if anyone.
    pub invited_by: Option<&'a str>,
    /// Recovery: how many shares rebuild its secret.
    pub threshold: Option<u8>,
    /// Recovery: the shares' commitments.
    pub share_check: Option<&'a [u8]>,
    /// RFC 3339.
    pub created_at: &'a str,
}

/// A case as a rotation rewrites it.
#[derive(Debug, Clone)]
pub struct RekeyRow {
    /// Case id (the rotation's cursor).
    pub id: String,
    /// Its identity wrapped to the office.
    pub wrapped_identity: Vec<u8>,
    /// Its details, encrypted to the case.
    pub metadata: Vec<u8>,
    /// Its details' version (an edit raises it).
    pub version: i64,
}

const HOLDER_COLS: &str = "h.id, h.office, h.user_id, u.username, h.kind, h.state, h.recipient,
    h.wrapped_identity, h.created_at, h.last_used_at, h.threshold, h.prf_wrapped, h.prf_passkey,
    COALESCE(u.disabled, 0), h.share_check";

fn holder_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<HolderRow> {
    Ok(HolderRow {
        id: r.get(0)?,
        office: r.get(1)?,
        user_id: r.get(2)?,
        username: r.get(3)?,
        kind: r.get(4)?,
        state: r.get(5)?,
        recipient: r.get(6)?,
        wrapped_identity: r.get(7)?,
        created_at: r.get(8)?,
        last_used_at: r.get(9)?,
        threshold: r.get(10)?,
        prf: match (
            r.get::<_, Option<Vec<u8>>>(11)?,
            r.get::<_, Option<String>>(12)?,
        ) {
            (Some(w), Some(p)) => Some((w, p)),
            _ => None,
        },
        disabled: r.get(13)?,
        share_check: r.get(14)?,
    })
}

impl ReadTx<'_> {
    /// The holders of an office, the office passphrase first, then by creation.
    pub fn holders(&self, office: &str) -> R<Vec<HolderRow>> {
        let mut st = self.0.prepare_cached(&format!(
            "SELECT {HOLDER_COLS} FROM office_holders h LEFT JOIN users u ON u.id = h.user_id
             WHERE h.office = ?1
             ORDER BY CASE h.kind WHEN 'office' THEN 0 WHEN 'passphrase' THEN 1 ELSE 2 END, h.created_at, h.id"
        ))?;
        let rows = st.query_map([office], holder_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One holder of an office.
    pub fn holder(&self, office: &str, id: &str) -> R<Option<HolderRow>> {
        Ok(self
            .q_row(
                &format!(
                    "SELECT {HOLDER_COLS} FROM office_holders h LEFT JOIN users u ON u.id = h.user_id
                     WHERE h.office = ?1 AND h.id = ?2"
                ),
                params![office, id],
                holder_row,
            )
            .optional()?)
    }

    /// The holder row of an account in an office.
    pub fn holder_of(&self, office: &str, user: &str) -> R<Option<HolderRow>> {
        Ok(self
            .q_row(
                &format!(
                    "SELECT {HOLDER_COLS} FROM office_holders h LEFT JOIN users u ON u.id = h.user_id
                     WHERE h.office = ?1 AND h.user_id = ?2"
                ),
                params![office, user],
                holder_row,
            )
            .optional()?)
    }

    /// The office passphrase's holder row.
    pub fn office_passphrase_holder(&self, office: &str) -> R<Option<HolderRow>> {
        Ok(self
            .q_row(
                &format!(
                    "SELECT {HOLDER_COLS} FROM office_holders h LEFT JOIN users u ON u.id = h.user_id
                     WHERE h.office = ?1 AND h.kind = 'office'"
                ),
                [office],
                holder_row,
            )
            .optional()?)
    }

    /// Cases of an office after `after` (by id), `limit` at a time, for a rotation.
    pub fn cases_to_rekey(&self, office: &str, after: &str, limit: u32) -> R<Vec<RekeyRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT id, wrapped_identity, metadata, version FROM cases
             WHERE office = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
        )?;
        let rows = st.query_map(params![office, after, limit], |r| {
            Ok(RekeyRow {
                id: r.get(0)?,
                wrapped_identity: r.get(1)?,
                metadata: r.get(2)?,
                version: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The office-wide hold reasons (sealed to the office) as (id, reason).
    pub fn office_hold_reasons(&self, office: &str) -> R<Vec<(String, Vec<u8>)>> {
        let mut st = self.0.prepare_cached(
            "SELECT id, reason FROM hold_events
             WHERE office = ?1 AND case_id IS NULL AND reason IS NOT NULL",
        )?;
        let rows = st.query_map([office], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The office's recipient now (a write that sealed something to the office checks
    /// it in its own transaction: a rotation may have committed since it read it).
    pub fn office_recipient(&self, office: &str) -> R<Option<String>> {
        Ok(self
            .q_row(
                "SELECT recipient FROM offices WHERE slug = ?1",
                [office],
                |r| r.get(0),
            )
            .optional()?)
    }
}

impl WriteTx<'_> {
    /// Adds a holder.
    pub fn insert_holder(&self, h: &NewHolderRow<'_>) -> R<()> {
        exec(
            self,
            "INSERT INTO office_holders (id, office, user_id, kind, state, recipient, wrapped_identity, invited_by, created_at, threshold, share_check)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
            params![
                h.id,
                h.office,
                h.user_id,
                h.kind,
                h.state,
                h.recipient,
                h.wrapped_identity,
                h.invited_by,
                h.created_at,
                h.threshold,
                h.share_check
            ],
        )?;
        Ok(())
    }

    /// Sets an invited holder's key (state `waiting`); false if the row is gone or
    /// its key is set already.
    pub fn set_holder_key(&self, id: &str, recipient: &str, wrapped: &[u8]) -> R<bool> {
        Ok(exec(
            self,
            "UPDATE office_holders SET recipient = ?2, wrapped_identity = ?3, state = 'waiting'
             WHERE id = ?1 AND state = 'invited'",
            params![id, recipient, wrapped],
        )? == 1)
    }

    /// Marks the holders whose recipients are now in the identity file as active;
    /// returns their ids.
    pub fn activate_waiting_holders(&self, office: &str) -> R<Vec<String>> {
        let ids: Vec<String> = {
            let mut st = self.0.prepare_cached(
                "SELECT id FROM office_holders WHERE office = ?1 AND state = 'waiting' ORDER BY id",
            )?;
            let rows = st.query_map([office], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        exec(
            self,
            "UPDATE office_holders SET state = 'active' WHERE office = ?1 AND state = 'waiting'",
            [office],
        )?;
        Ok(ids)
    }

    /// A holder's identity wrapped under a passkey's PRF output (unseal by passkey).
    pub fn set_holder_prf(&self, id: &str, passkey: &str, wrapped: &[u8]) -> R<()> {
        exec(
            self,
            "UPDATE office_holders SET prf_wrapped = ?3, prf_passkey = ?2 WHERE id = ?1",
            params![id, passkey, wrapped],
        )?;
        Ok(())
    }

    /// Records a use of a holder's secret.
    pub fn touch_holder(&self, id: &str, now: &str) -> R<()> {
        exec(
            self,
            "UPDATE office_holders SET last_used_at = ?2 WHERE id = ?1",
            params![id, now],
        )?;
        Ok(())
    }

    /// Removes a holder and their shred key (a removal, or a restore dropping a
    /// holder whose key the ledger no longer has).
    pub fn forget_holder(&self, id: &str) -> R<()> {
        self.forget_shred_keys(ShredKind::Holder, "= ?2", id)?;
        exec(self, "DELETE FROM office_holders WHERE id = ?1", [id])?;
        Ok(())
    }

    /// The office's identity file and recipient (custody by holders from now on).
    pub fn set_office_identity(&self, slug: &str, recipient: &str, file: &[u8]) -> R<()> {
        exec(
            self,
            "UPDATE offices SET recipient = ?2, wrapped_identity = ?3, custody = 'holders' WHERE slug = ?1",
            params![slug, recipient, file],
        )?;
        Ok(())
    }

    /// A case re-wrapped to a new office key, with its indexes under the new index key.
    pub fn rekey_case(&self, id: &str, wrapped: &[u8], ix: &CaseIndexes<'_>) -> R<()> {
        exec(
            self,
            "UPDATE cases SET wrapped_identity = ?2, a_number_index = ?3, client_name_index = ?4,
                a_number_pending = 0 WHERE id = ?1",
            params![id, wrapped, ix.a_number, ix.client_name],
        )?;
        self.set_name_tokens(id, ix.name_tokens)
    }

    /// An office-wide hold reason sealed again (to a new office key).
    pub fn set_hold_reason(&self, id: &str, reason: &[u8]) -> R<()> {
        exec(
            self,
            "UPDATE hold_events SET reason = ?2 WHERE id = ?1",
            params![id, reason],
        )?;
        Ok(())
    }
}
