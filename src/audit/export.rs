//! The audit log as JSON lines, for a SIEM (`casevault audit export`).
//!
//! One object per entry with exactly the stored fields — ids, never names — and the
//! entry's hash in hex, so the receiver can keep and check the chain. Rows are
//! streamed: memory stays flat however long the log is.
use std::io::Write;

use crate::store::{Db, StoreError};

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The log could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The output could not be written.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Writes every entry after sequence number `after` to `out`, one JSON object a line,
/// in sequence order, then flushes `out`. Stops at the first write error.
pub fn export_jsonl<W: Write>(db: &Db, after: i64, out: &mut W) -> Result<(), ExportError> {
    let mut err = None;
    db.read(|tx| {
        tx.audit_scan(after, |row| {
            let line = serde_json::json!({
                "seq": row.seq, "time": row.time, "actor": row.actor, "role": row.role,
                "action": row.action, "target": row.target, "decision": row.decision,
                "outcome": row.outcome, "hash": crate::crypto::hex(&row.hash),
            });
            if let Err(e) = writeln!(out, "{line}") {
                err = Some(e);
                return false;
            }
            true
        })
    })?;
    if let Some(e) = err {
        return Err(e.into());
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Entry, append};

    #[test]
    fn lines_follow_the_chain_after_the_given_seq() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        db.write(|tx| {
            for action in ["login", "case.read", "logout"] {
                let e = Entry {
                    actor: "u1",
                    role: crate::policy::Role::Caseworker.as_str(),
                    action,
                    target: "case:c1",
                    decision: "allow",
                    outcome: "ok",
                };
                append(tx, "2025-01-01T00:00:00Z", &e)?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
        let mut out = Vec::new();
        export_jsonl(&db, 1, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["seq"], 2);
        assert_eq!(lines[0]["action"], "case.read");
        assert_eq!(lines[1]["hash"].as_str().map(str::len), Some(64));
    }
}
