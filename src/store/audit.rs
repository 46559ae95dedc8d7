//! The audit table: head, append, scan and filtered pages.
//!
//! Invariant: the audit table is append-only here — no UPDATE or DELETE of it exists
//! in the store; the caller (`crate::audit`) computes each entry's chain hash.
use rusqlite::{OptionalExtension, Row, params};

use super::{R, ReadTx, WriteTx, exec};

/// An audit entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Sequence number.
    pub seq: i64,
    /// RFC 3339.
    pub time: String,
    /// Actor id.
    pub actor: String,
    /// Actor role.
    pub role: String,
    /// Action name.
    pub action: String,
    /// Target ids.
    pub target: String,
    /// allow / deny.
    pub decision: String,
    /// Outcome.
    pub outcome: String,
    /// Chain hash.
    pub hash: Vec<u8>,
}

/// Filters for reading the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only entries after this sequence number.
    pub after: i64,
    /// At most this many.
    pub limit: i64,
    /// Only this actor id.
    pub actor: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only entries whose target contains this id.
    pub target: Option<String>,
    /// Only entries whose target has the token `office:SLUG` (office admins). In SQL
    /// this is only a first cut: the reader decides the rest with the `keep` of
    /// [`ReadTx::audit_page_where`] (`Vault::read_audit` parses the whole target).
    pub office: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Only entries before this time (RFC 3339).
    pub until: Option<String>,
    /// Only entries before this sequence number.
    pub before: Option<i64>,
    /// Newest first (the pages); oldest first otherwise (the API, exports).
    pub newest_first: bool,
}

fn audit_from(r: &Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        seq: r.get(0)?,
        time: r.get(1)?,
        actor: r.get(2)?,
        role: r.get(3)?,
        action: r.get(4)?,
        target: r.get(5)?,
        decision: r.get(6)?,
        outcome: r.get(7)?,
        hash: r.get(8)?,
    })
}

impl ReadTx<'_> {
    /// The newest entry's sequence number and hash.
    pub fn audit_head(&self) -> R<Option<(i64, Vec<u8>)>> {
        Ok(self
            .q_row(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Streams every audit entry in `seq` order to `f` (flat memory).
    pub fn audit_scan(&self, after: i64, mut f: impl FnMut(AuditRow) -> bool) -> R<()> {
        let mut st = self.0.prepare_cached(
            "SELECT seq, time, actor, role, action, target, decision, outcome, hash FROM audit WHERE seq > ?1 ORDER BY seq",
        )?;
        let mut rows = st.query([after])?;
        while let Some(r) = rows.next()? {
            if !f(audit_from(r)?) {
                break;
            }
        }
        Ok(())
    }

    /// A filtered page of audit entries.
    pub fn audit_page(&self, q: &AuditFilter) -> R<Vec<AuditRow>> {
        self.audit_page_where(q, |_| true)
    }

    /// A filtered page of the entries that `keep` also accepts, at most `q.limit` of
    /// them, streaming: `keep` sees each candidate row once, in `seq` order.
    pub fn audit_page_where(
        &self,
        q: &AuditFilter,
        mut keep: impl FnMut(&AuditRow) -> bool,
    ) -> R<Vec<AuditRow>> {
        // The limit is applied while streaming (after `keep`); `?2 > 0` only keeps the
        // parameter numbering of the filter.
        const WHERE: &str =
            "SELECT seq, time, actor, role, action, target, decision, outcome, hash FROM audit
             WHERE seq > ?1 AND seq < ?9
               AND (?3 IS NULL OR actor = ?3)
               AND (?4 IS NULL OR action = ?4)
               AND (?5 IS NULL OR instr(target, ?5) > 0)
               AND (?6 IS NULL OR instr(' ' || target || ' ', ' office:' || ?6 || ' ') > 0)
               AND (?7 IS NULL OR time >= ?7)
               AND (?8 IS NULL OR time < ?8)
               AND ?2 > 0
             ORDER BY seq";
        let sql = if q.newest_first {
            format!("{WHERE} DESC")
        } else {
            WHERE.to_string()
        };
        let mut st = self.0.prepare_cached(&sql)?;
        let before = q.before.unwrap_or(i64::MAX);
        let mut rows = st.query(params![
            q.after, q.limit, q.actor, q.action, q.target, q.office, q.since, q.until, before
        ])?;
        let limit = usize::try_from(q.limit).unwrap_or(0);
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(r) = rows.next()? else { break };
            let row = audit_from(r)?;
            if keep(&row) {
                out.push(row);
            }
        }
        Ok(out)
    }
}

impl WriteTx<'_> {
    /// Appends an audit entry (the caller computed its hash).
    pub fn audit_insert(&self, e: &AuditRow) -> R<()> {
        exec(
            self,
            "INSERT INTO audit (seq, time, actor, role, action, target, decision, outcome, hash)
             VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
            params![
                e.seq, e.time, e.actor, e.role, e.action, e.target, e.decision, e.outcome, e.hash
            ],
        )?;
        Ok(())
    }
}
