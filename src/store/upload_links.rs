//! Client upload links, and the per-case count of files from clients not yet seen.
//!
//! Invariant: a link is found only by the keyed hash of its token, never by the token;
//! its counters grow only in the transaction that writes the document they count, so
//! a link can never have let in more files or bytes than it says.
use rusqlite::{OptionalExtension, Row, params};

use super::{R, ReadTx, WriteTx, exec};

/// An upload link, with the office of its case.
#[derive(Debug, Clone)]
pub struct LinkRow {
    /// Opaque id.
    pub id: String,
    /// Case id.
    pub case_id: String,
    /// The case's office slug.
    pub office: String,
    /// The account that made it.
    pub created_by: String,
    /// RFC 3339.
    pub created_at: String,
    /// Unix time it stops working.
    pub expires_at: i64,
    /// Files it may bring in all.
    pub max_files: i64,
    /// Plaintext bytes it may bring in all.
    pub max_bytes: i64,
    /// Files it brought so far.
    pub files_received: i64,
    /// Plaintext bytes it brought so far.
    pub bytes_received: i64,
    /// `en` or `es`: the language of the client's page.
    pub language: String,
    /// Unix time revoked.
    pub revoked_at: Option<i64>,
}

const LINK_COLS: &str = "l.id, l.case_id, c.office, l.created_by, l.created_at, l.expires_at, \
     l.max_files, l.max_bytes, l.files_received, l.bytes_received, l.language, l.revoked_at";

fn link_from(r: &Row<'_>) -> rusqlite::Result<LinkRow> {
    Ok(LinkRow {
        id: r.get(0)?,
        case_id: r.get(1)?,
        office: r.get(2)?,
        created_by: r.get(3)?,
        created_at: r.get(4)?,
        expires_at: r.get(5)?,
        max_files: r.get(6)?,
        max_bytes: r.get(7)?,
        files_received: r.get(8)?,
        bytes_received: r.get(9)?,
        language: r.get(10)?,
        revoked_at: r.get(11)?,
    })
}

/// A new link, as [`WriteTx::insert_link`] stores it. No `Debug`: it holds the
/// token's hash.
pub struct NewLinkRow<'a> {
    /// Opaque id.
    pub id: &'a str,
    /// Case id.
    pub case_id: &'a str,
    /// Keyed hash of the token.
    pub token_hash: &'a [u8],
    /// The account that made it.
    pub created_by: &'a str,
    /// RFC 3339.
    pub created_at: &'a str,
    /// Unix time it stops working.
    pub expires_at: i64,
    /// Files it may bring.
    pub max_files: i64,
    /// Plaintext bytes it may bring.
    pub max_bytes: i64,
    /// `en` or `es`.
    pub language: &'a str,
}

impl ReadTx<'_> {
    /// The link whose token has this keyed hash (the one way a client's request finds
    /// a link).
    pub fn link_by_hash(&self, hash: &[u8]) -> R<Option<LinkRow>> {
        Ok(self
            .q_row(
                &format!(
                    "SELECT {LINK_COLS} FROM upload_links l JOIN cases c ON c.id = l.case_id
                     WHERE l.token_hash = ?1"
                ),
                [hash],
                link_from,
            )
            .optional()?)
    }

    /// One link of a case.
    pub fn link(&self, case: &str, id: &str) -> R<Option<LinkRow>> {
        Ok(self
            .q_row(
                &format!(
                    "SELECT {LINK_COLS} FROM upload_links l JOIN cases c ON c.id = l.case_id
                     WHERE l.case_id = ?1 AND l.id = ?2"
                ),
                [case, id],
                link_from,
            )
            .optional()?)
    }

    /// The links of a case, newest first.
    pub fn links(&self, case: &str) -> R<Vec<LinkRow>> {
        let mut st = self.0.prepare_cached(&format!(
            "SELECT {LINK_COLS} FROM upload_links l JOIN cases c ON c.id = l.case_id
             WHERE l.case_id = ?1 ORDER BY l.rowid DESC"
        ))?;
        let rows = st.query_map([case], link_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Cases with files from clients not yet seen, and how many.
    pub fn client_file_news(&self) -> R<Vec<(String, i64)>> {
        let mut st = self
            .0
            .prepare_cached("SELECT id, client_files_new FROM cases WHERE client_files_new > 0")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl WriteTx<'_> {
    /// Inserts a link.
    pub fn insert_link(&self, l: &NewLinkRow<'_>) -> R<()> {
        exec(
            self,
            "INSERT INTO upload_links (id, case_id, token_hash, created_by, created_at, expires_at,
                 max_files, max_bytes, language)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
            params![
                l.id,
                l.case_id,
                l.token_hash,
                l.created_by,
                l.created_at,
                l.expires_at,
                l.max_files,
                l.max_bytes,
                l.language
            ],
        )?;
        Ok(())
    }

    /// Revokes a link of a case; true if it existed and was not revoked yet.
    pub fn revoke_link(&self, case: &str, id: &str, now: i64) -> R<bool> {
        Ok(exec(
            self,
            "UPDATE upload_links SET revoked_at = ?3
             WHERE case_id = ?1 AND id = ?2 AND revoked_at IS NULL",
            params![case, id, now],
        )? == 1)
    }

    /// Revokes for good every live link `user` made (on `case` only, when given): a
    /// disabled account's links, a partner's whose share ended, do not come back when
    /// the account or the share does.
    pub fn revoke_links_by(&self, user: &str, case: Option<&str>, now: i64) -> R<usize> {
        exec(
            self,
            "UPDATE upload_links SET revoked_at = ?3
             WHERE created_by = ?1 AND (?2 IS NULL OR case_id = ?2) AND revoked_at IS NULL",
            params![user, case, now],
        )
    }

    /// Counts a file a link brought (and one more new file on its case).
    pub fn count_link_file(&self, link: &str, case: &str, bytes: i64) -> R<()> {
        exec(
            self,
            "UPDATE upload_links SET files_received = files_received + 1,
                 bytes_received = bytes_received + ?2 WHERE id = ?1",
            params![link, bytes],
        )?;
        exec(
            self,
            "UPDATE cases SET client_files_new = client_files_new + 1 WHERE id = ?1",
            [case],
        )?;
        Ok(())
    }

    /// The case's files from clients count as seen; true if there were any.
    pub fn clear_client_file_news(&self, case: &str) -> R<bool> {
        Ok(exec(
            self,
            "UPDATE cases SET client_files_new = 0 WHERE id = ?1 AND client_files_new > 0",
            [case],
        )? == 1)
    }
}
