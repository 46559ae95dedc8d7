//! The end of a record's life: closing cases, legal-hold history, and the deletes
//! that crypto-shred a document, a case or an office.
//!
//! Invariant: a purge deletes the key rows (document headers, case identities, the
//! office identity) and every metadata row that belongs to them, inside the caller's
//! transaction, and returns the blob names so the caller can unlink them only after
//! the transaction committed. Nothing here touches the audit table.
use rusqlite::{OptionalExtension, params};

use super::{R, ReadTx, ShredKind, WriteTx, exec};

/// What a purge removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgeCounts {
    /// Cases removed.
    pub cases: u64,
    /// Documents removed.
    pub documents: u64,
    /// Stored (padded ciphertext) bytes those documents occupied.
    pub bytes: u64,
    /// Blob names to unlink once the transaction has committed.
    pub blobs: Vec<String>,
}

/// A closed case, as retention sees it.
#[derive(Debug, Clone)]
pub struct ClosedCase {
    /// Case id.
    pub id: String,
    /// Office slug.
    pub office: String,
    /// RFC 3339 time it was closed (None for rows closed before closing was recorded).
    pub closed_at: Option<String>,
    /// Held itself, or its office is held.
    pub held: bool,
}

/// A case as an office administrator's list shows it: public facts and counts only
/// (no metadata, no keys).
#[derive(Debug, Clone)]
pub struct CaseFactsRow {
    /// Case id.
    pub id: String,
    /// `open` / `closed`.
    pub status: String,
    /// Legal hold on the case itself.
    pub held: bool,
    /// RFC 3339 time it was opened.
    pub created_at: String,
    /// RFC 3339 time it was closed.
    pub closed_at: Option<String>,
    /// Documents stored.
    pub documents: u64,
    /// Stored (padded ciphertext) bytes of those documents.
    pub bytes: u64,
}

/// A hold placed or lifted, as [`WriteTx::insert_hold_event`] records it.
pub struct NewHoldEventRow<'a> {
    /// Opaque id.
    pub id: &'a str,
    /// Office slug.
    pub office: &'a str,
    /// The case; `None` for an office-wide hold.
    pub case_id: Option<&'a str>,
    /// Placed (true) or lifted (false).
    pub placed: bool,
    /// The reason, encrypted to the case or the office.
    pub reason: Option<&'a [u8]>,
    /// Acting user's id.
    pub actor: &'a str,
    /// RFC 3339.
    pub at: &'a str,
}

impl ReadTx<'_> {
    /// Every closed case with its hold state (its own or its office's).
    pub fn closed_cases(&self) -> R<Vec<ClosedCase>> {
        let mut st = self.0.prepare_cached(
            "SELECT c.id, c.office, c.closed_at,
                    c.held OR EXISTS(SELECT 1 FROM office_holds h WHERE h.office = c.office)
             FROM cases c WHERE c.status = 'closed' ORDER BY c.closed_at, c.id",
        )?;
        let rows = st.query_map([], |r| {
            Ok(ClosedCase {
                id: r.get(0)?,
                office: r.get(1)?,
                closed_at: r.get(2)?,
                held: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every case of an office with its document count, newest first (`case` set:
    /// only that case).
    pub fn case_facts(&self, office: &str, case: Option<&str>) -> R<Vec<CaseFactsRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT c.id, c.status, c.held, c.created_at, c.closed_at,
                    (SELECT COUNT(*) FROM documents d WHERE d.case_id = c.id),
                    (SELECT COALESCE(SUM(d.stored_size), 0) FROM documents d WHERE d.case_id = c.id)
             FROM cases c WHERE c.office = ?1 AND (?2 IS NULL OR c.id = ?2)
             ORDER BY c.created_at DESC, c.id",
        )?;
        let rows = st.query_map(params![office, case], |r| {
            Ok(CaseFactsRow {
                id: r.get(0)?,
                status: r.get(1)?,
                held: r.get(2)?,
                created_at: r.get(3)?,
                closed_at: r.get(4)?,
                documents: u64::try_from(r.get::<_, i64>(5)?).unwrap_or(0),
                bytes: u64::try_from(r.get::<_, i64>(6)?).unwrap_or(0),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether any case of the office is under its own legal hold.
    pub fn office_has_held_case(&self, office: &str) -> R<bool> {
        Ok(self.q_row(
            "SELECT EXISTS(SELECT 1 FROM cases WHERE office = ?1 AND held = 1)",
            [office],
            |r| r.get(0),
        )?)
    }

    fn doc_counts(&self, filter: &str, arg: &str) -> R<PurgeCounts> {
        let mut st = self
            .0
            .prepare_cached(&format!("SELECT blob, stored_size FROM documents {filter}"))?;
        let mut rows = st.query([arg])?;
        let mut c = PurgeCounts::default();
        while let Some(r) = rows.next()? {
            c.blobs.push(r.get(0)?);
            c.bytes += u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0);
            c.documents += 1;
        }
        Ok(c)
    }
}

impl WriteTx<'_> {
    /// Marks a case closed at `now`; false when it was already closed (or missing).
    pub fn close_case(&self, id: &str, now: &str) -> R<bool> {
        Ok(exec(
            self,
            "UPDATE cases SET status = 'closed', closed_at = ?2 WHERE id = ?1 AND status = 'open'",
            params![id, now],
        )? == 1)
    }

    /// Records that a hold was placed or lifted, with its encrypted reason.
    pub fn insert_hold_event(&self, h: &NewHoldEventRow<'_>) -> R<()> {
        exec(
            self,
            "INSERT INTO hold_events (id, office, case_id, placed, reason, actor, at)
             VALUES (?1,?2,?3,?4,?5,?6,?7)",
            params![h.id, h.office, h.case_id, h.placed, h.reason, h.actor, h.at],
        )?;
        Ok(())
    }

    /// Deletes one document's row (its header is the only wrapped file key). `None`
    /// when there was no such document in that case.
    pub fn purge_document(&self, case: &str, doc: &str) -> R<Option<PurgeCounts>> {
        let found: Option<(String, i64)> = self
            .q_row(
                "SELECT blob, stored_size FROM documents WHERE case_id = ?1 AND id = ?2",
                [case, doc],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((blob, size)) = found else {
            return Ok(None);
        };
        self.forget_shred_keys(ShredKind::Document, "= ?2", doc)?;
        exec(
            self,
            "DELETE FROM documents WHERE case_id = ?1 AND id = ?2",
            [case, doc],
        )?;
        Ok(Some(PurgeCounts {
            cases: 0,
            documents: 1,
            bytes: u64::try_from(size).unwrap_or(0),
            blobs: vec![blob],
        }))
    }

    /// Deletes the casework of the cases `case_id {cond}` selects (bound to `arg`):
    /// every earlier version of their details, every note and every event, and the
    /// blind indexes of the words of their client names.
    fn purge_casework(&self, cond: &str, arg: &str) -> R<()> {
        for table in [
            "case_versions",
            "case_notes",
            "case_events",
            "case_name_tokens",
        ] {
            exec(
                self,
                &format!("DELETE FROM {table} WHERE case_id {cond}"),
                [arg],
            )?;
        }
        Ok(())
    }

    /// Deletes a case: its documents (headers), shares, upload links, assignments, hold history,
    /// earlier versions, notes and events, and the case row with its wrapped identity
    /// and metadata.
    pub fn purge_case(&self, id: &str) -> R<PurgeCounts> {
        let mut c = self.doc_counts("WHERE case_id = ?1", id)?;
        // The backup copies' keys go in the same transaction (issue 12).
        self.forget_shred_keys(
            ShredKind::Document,
            "IN (SELECT id FROM documents WHERE case_id = ?2)",
            id,
        )?;
        self.forget_shred_keys(ShredKind::Case, "= ?2", id)?;
        exec(self, "DELETE FROM documents WHERE case_id = ?1", [id])?;
        exec(self, "DELETE FROM shares WHERE case_id = ?1", [id])?;
        exec(self, "DELETE FROM upload_links WHERE case_id = ?1", [id])?;
        exec(
            self,
            "DELETE FROM case_assignments WHERE case_id = ?1",
            [id],
        )?;
        exec(self, "DELETE FROM hold_events WHERE case_id = ?1", [id])?;
        self.purge_casework("= ?1", id)?;
        c.cases = exec(self, "DELETE FROM cases WHERE id = ?1", [id])? as u64;
        Ok(c)
    }

    /// Deletes an office and everything of it: every case (as [`WriteTx::purge_case`]),
    /// its users and their sessions, its hold history, and the office row with its
    /// wrapped identity. Returns `None` when there is no such office.
    pub fn purge_office(&self, slug: &str) -> R<Option<PurgeCounts>> {
        let exists: bool = self.q_row(
            "SELECT EXISTS(SELECT 1 FROM offices WHERE slug = ?1)",
            [slug],
            |r| r.get(0),
        )?;
        if !exists {
            return Ok(None);
        }
        let mut c = self.doc_counts(
            "WHERE case_id IN (SELECT id FROM cases WHERE office = ?1)",
            slug,
        )?;
        let in_office = "IN (SELECT id FROM cases WHERE office = ?1)";
        self.forget_shred_keys(
            ShredKind::Document,
            "IN (SELECT d.id FROM documents d JOIN cases c ON c.id = d.case_id WHERE c.office = ?2)",
            slug,
        )?;
        self.forget_shred_keys(
            ShredKind::Case,
            "IN (SELECT id FROM cases WHERE office = ?2)",
            slug,
        )?;
        self.forget_shred_keys(ShredKind::Office, "= ?2", slug)?;
        self.forget_shred_keys(
            ShredKind::Holder,
            "IN (SELECT id FROM office_holders WHERE office = ?2)",
            slug,
        )?;
        exec(self, "DELETE FROM office_holders WHERE office = ?1", [slug])?;
        exec(
            self,
            &format!("DELETE FROM documents WHERE case_id {in_office}"),
            [slug],
        )?;
        exec(
            self,
            &format!("DELETE FROM shares WHERE case_id {in_office}"),
            [slug],
        )?;
        exec(
            self,
            &format!("DELETE FROM upload_links WHERE case_id {in_office}"),
            [slug],
        )?;
        exec(
            self,
            &format!("DELETE FROM case_assignments WHERE case_id {in_office}"),
            [slug],
        )?;
        self.purge_casework(in_office, slug)?;
        c.cases = exec(self, "DELETE FROM cases WHERE office = ?1", [slug])? as u64;
        exec(self, "DELETE FROM hold_events WHERE office = ?1", [slug])?;
        exec(self, "DELETE FROM office_holds WHERE office = ?1", [slug])?;
        // Sessions and recovery codes go with their users (ON DELETE CASCADE).
        exec(self, "DELETE FROM users WHERE office = ?1", [slug])?;
        exec(self, "DELETE FROM offices WHERE slug = ?1", [slug])?;
        Ok(Some(c))
    }
}
