//! The purge's durable queue of blob files to remove (`blob_trash`).
//!
//! Invariant: a purge queues its files in its own transaction, so the queue holds
//! every file of every committed purge until the file is gone; a name leaves the queue
//! only after its file was removed (or found missing).
use rusqlite::params;

use super::{R, ReadTx, WriteTx, exec};

impl ReadTx<'_> {
    /// Up to `limit` queued names, oldest first.
    pub fn trash_list(&self, limit: usize) -> R<Vec<String>> {
        let mut st = self
            .0
            .prepare_cached("SELECT name FROM blob_trash ORDER BY rowid LIMIT ?1")?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = st.query_map([limit], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many files wait for removal.
    pub fn trash_len(&self) -> R<u64> {
        let n: i64 = self.q_row("SELECT COUNT(*) FROM blob_trash", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

impl WriteTx<'_> {
    /// Queues blob files for removal (a name queued twice is kept once).
    pub fn trash_blobs(&self, names: &[String], now: &str) -> R<()> {
        for n in names {
            exec(
                self,
                "INSERT OR IGNORE INTO blob_trash (name, queued_at) VALUES (?1, ?2)",
                params![n, now],
            )?;
        }
        Ok(())
    }

    /// Takes names whose files are gone off the queue.
    pub fn trash_done(&self, names: &[String]) -> R<()> {
        for n in names {
            exec(self, "DELETE FROM blob_trash WHERE name = ?1", [n])?;
        }
        Ok(())
    }
}
