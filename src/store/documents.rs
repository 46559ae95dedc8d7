//! Documents and the blob names they point to.
//!
//! Invariant: only ciphertext and ids — a row holds the document's age header (its
//! wrapped file key), its encrypted metadata and a random blob name; the bytes live in
//! the blob store, never here.
use rusqlite::{OptionalExtension, Row, params};

use super::{R, ReadTx, WriteTx, exec};

/// A document row.
#[derive(Debug, Clone)]
pub struct DocRow {
    /// Opaque id.
    pub id: String,
    /// Case id.
    pub case_id: String,
    /// age header.
    pub header: Vec<u8>,
    /// Blob name.
    pub blob: String,
    /// Encrypted metadata.
    pub meta: Vec<u8>,
    /// Padded size.
    pub stored_size: i64,
    /// RFC 3339.
    pub created_at: String,
    /// Uploader's user id (for a client's file: the account that made the link).
    pub created_by: String,
    /// The upload link a client sent it through (`None`: added by an account).
    pub via_link: Option<String>,
}

fn doc_from(r: &Row<'_>) -> rusqlite::Result<DocRow> {
    Ok(DocRow {
        id: r.get(0)?,
        case_id: r.get(1)?,
        header: r.get(2)?,
        blob: r.get(3)?,
        meta: r.get(4)?,
        stored_size: r.get(5)?,
        created_at: r.get(6)?,
        created_by: r.get(7)?,
        via_link: r.get(8)?,
    })
}

/// A new document, as [`WriteTx::insert_document`] stores it.
pub struct NewDocRow<'a> {
    /// Opaque id.
    pub id: &'a str,
    /// Case id.
    pub case_id: &'a str,
    /// age header.
    pub header: &'a [u8],
    /// Blob name.
    pub blob: &'a str,
    /// Encrypted metadata.
    pub meta: &'a [u8],
    /// Padded size.
    pub stored_size: i64,
    /// Uploader's user id.
    pub created_by: &'a str,
    /// RFC 3339.
    pub created_at: &'a str,
    /// The upload link it came through, if a client sent it.
    pub via_link: Option<&'a str>,
}

impl ReadTx<'_> {
    /// Documents of a case, oldest first.
    pub fn documents(&self, case: &str) -> R<Vec<DocRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT id, case_id, header, blob, meta, stored_size, created_at, created_by, via_link FROM documents
             WHERE case_id = ?1 ORDER BY rowid",
        )?;
        let rows = st.query_map([case], doc_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A page of a case's documents, oldest first: at most `limit` of those after the
    /// document at rowid `after` (from the first, when `None`).
    pub fn document_page(&self, case: &str, after: Option<i64>, limit: usize) -> R<Vec<DocRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT id, case_id, header, blob, meta, stored_size, created_at, created_by, via_link FROM documents
             WHERE case_id = ?1 AND rowid > ?2 ORDER BY rowid LIMIT ?3",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = st.query_map(params![case, after.unwrap_or(0), limit], doc_from)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Where document `id` sits among its case's documents (its rowid), if it is one.
    pub fn document_position(&self, case: &str, id: &str) -> R<Option<i64>> {
        Ok(self
            .q_row(
                "SELECT rowid FROM documents WHERE case_id = ?1 AND id = ?2",
                [case, id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// One document of a case.
    pub fn document(&self, case: &str, id: &str) -> R<Option<DocRow>> {
        Ok(self
            .q_row(
                "SELECT id, case_id, header, blob, meta, stored_size, created_at, created_by, via_link FROM documents
                 WHERE case_id = ?1 AND id = ?2",
                [case, id],
                doc_from,
            )
            .optional()?)
    }

    /// The case a document belongs to (the command line names documents alone).
    pub fn document_case(&self, doc: &str) -> R<Option<String>> {
        Ok(self
            .q_row("SELECT case_id FROM documents WHERE id = ?1", [doc], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Every blob name in use.
    pub fn blob_names(&self) -> R<Vec<String>> {
        let mut st = self.0.prepare_cached("SELECT blob FROM documents")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether a document row names `blob` (the sweep asks again, live, before it
    /// deletes anything).
    pub fn blob_in_use(&self, blob: &str) -> R<bool> {
        Ok(self.q_row(
            "SELECT EXISTS(SELECT 1 FROM documents WHERE blob = ?1)",
            [blob],
            |r| r.get(0),
        )?)
    }
}

impl WriteTx<'_> {
    /// Inserts a document.
    pub fn insert_document(&self, d: &NewDocRow<'_>) -> R<()> {
        exec(
            self,
            "INSERT INTO documents (id, case_id, header, blob, meta, stored_size, created_by, created_at, via_link)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
            params![
                d.id,
                d.case_id,
                d.header,
                d.blob,
                d.meta,
                d.stored_size,
                d.created_by,
                d.created_at,
                d.via_link
            ],
        )?;
        Ok(())
    }

    /// Replaces a document's sealed metadata (a rename); false if there is no such
    /// document of the case.
    pub fn set_document_meta(&self, case: &str, id: &str, meta: &[u8]) -> R<bool> {
        Ok(exec(
            self,
            "UPDATE documents SET meta = ?3 WHERE case_id = ?1 AND id = ?2",
            params![case, id, meta],
        )? == 1)
    }
}
