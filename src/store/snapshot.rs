//! A consistent snapshot of the database (SQLite's online backup API) and the rewrite
//! of its key-bearing values, for backups and restores.
//!
//! Invariants: a snapshot is taken in one backup step, so it is one consistent read of
//! the database however long it takes; every value that can lead to client data (a
//! wrapped identity, a document header, metadata, notes, events, hold reasons) is
//! listed once, in [`KEY_BEARING`], and a backup rewrites exactly those; a snapshot
//! never carries a shred key, a session or a blind index.
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, params};

use super::{Db, R, ShredKind, StoreError, WriteTx, exec};

/// One key-bearing column: which rows, which value, whose shred key seals it.
struct Column {
    table: &'static str,
    column: &'static str,
    /// SQL for the row's stable key (what the seal is bound to).
    key: &'static str,
    /// SQL for the owner the shred key belongs to.
    owner: &'static str,
    kind: ShredKind,
    /// Which rows of the table (NULL values are skipped everywhere).
    rows: &'static str,
}

/// Every value in the database from which client data can be reached with the
/// office's passphrase. A backup seals each under its owner's shred key; a restore
/// opens each again. A new key-bearing column must be added here.
const KEY_BEARING: &[Column] = &[
    Column {
        table: "office_holders",
        column: "wrapped_identity",
        key: "id",
        owner: "id",
        kind: ShredKind::Holder,
        rows: "1",
    },
    Column {
        table: "office_holders",
        column: "prf_wrapped",
        key: "id",
        owner: "id",
        kind: ShredKind::Holder,
        rows: "1",
    },
    Column {
        table: "offices",
        column: "wrapped_identity",
        key: "slug",
        owner: "slug",
        kind: ShredKind::Office,
        rows: "1",
    },
    Column {
        table: "hold_events",
        column: "reason",
        key: "id",
        owner: "office",
        kind: ShredKind::Office,
        rows: "case_id IS NULL",
    },
    Column {
        table: "hold_events",
        column: "reason",
        key: "id",
        owner: "case_id",
        kind: ShredKind::Case,
        rows: "case_id IS NOT NULL",
    },
    Column {
        table: "cases",
        column: "wrapped_identity",
        key: "id",
        owner: "id",
        kind: ShredKind::Case,
        rows: "1",
    },
    Column {
        table: "cases",
        column: "metadata",
        key: "id",
        owner: "id",
        kind: ShredKind::Case,
        rows: "1",
    },
    Column {
        table: "case_versions",
        column: "metadata",
        key: "case_id || ':' || version",
        owner: "case_id",
        kind: ShredKind::Case,
        rows: "1",
    },
    Column {
        table: "case_notes",
        column: "body",
        key: "id",
        owner: "case_id",
        kind: ShredKind::Case,
        rows: "1",
    },
    Column {
        table: "case_events",
        column: "body",
        key: "id",
        owner: "case_id",
        kind: ShredKind::Case,
        rows: "1",
    },
    Column {
        table: "documents",
        column: "header",
        key: "id",
        owner: "id",
        kind: ShredKind::Document,
        rows: "1",
    },
    Column {
        table: "documents",
        column: "meta",
        key: "id",
        owner: "id",
        kind: ShredKind::Document,
        rows: "1",
    },
];

/// One key-bearing value handed to [`WriteTx::rewrite_key_bearing`].
pub struct KeyBearing<'a> {
    /// Whose shred key.
    pub kind: ShredKind,
    /// The office slug, case id or document id.
    pub owner: &'a str,
    /// What the seal is bound to: `table.column:rowkey`.
    pub context: &'a str,
    /// The stored value.
    pub value: &'a [u8],
}

impl WriteTx<'_> {
    /// Takes out of a snapshot what must never be in a backup: the live shred keys,
    /// the backup bookkeeping (snapshot keys), sessions, and the blind indexes (with
    /// a shred key gone they would still confirm a guessed A-number or name, so
    /// a restored vault recomputes them at unseal). Client upload links stay listed
    /// but revoked: a restore brings back no way in.
    pub fn strip_for_backup(&self) -> R<()> {
        self.0.execute_batch(
            "DELETE FROM shred_keys;
             DELETE FROM backup_runs;
             DELETE FROM backup_targets;
             DELETE FROM sessions;
             DELETE FROM blob_trash;
             DELETE FROM case_name_tokens;
             UPDATE upload_links SET revoked_at = CAST(strftime('%s','now') AS INTEGER)
                 WHERE revoked_at IS NULL;
             UPDATE cases SET a_number_index = NULL, client_name_index = NULL, a_number_pending = 1;",
        )?;
        Ok(())
    }

    /// Rewrites every key-bearing value through `f` (seal for a backup, open for a
    /// restore), in rowid batches so memory stays bounded.
    pub fn rewrite_key_bearing<E: From<StoreError>>(
        &self,
        mut f: impl FnMut(&KeyBearing<'_>) -> Result<Vec<u8>, E>,
    ) -> Result<u64, E> {
        let mut done = 0u64;
        for c in KEY_BEARING {
            let select = format!(
                "SELECT rowid, {key}, {owner}, {col} FROM {table}
                 WHERE rowid > ?1 AND {col} IS NOT NULL AND ({rows}) ORDER BY rowid LIMIT 512",
                key = c.key,
                owner = c.owner,
                col = c.column,
                table = c.table,
                rows = c.rows,
            );
            let update = format!("UPDATE {} SET {} = ?2 WHERE rowid = ?1", c.table, c.column);
            let mut after = 0i64;
            loop {
                let batch: Vec<(i64, String, String, Vec<u8>)> = {
                    let mut st = self.0.prepare_cached(&select).map_err(StoreError::from)?;
                    let rows = st
                        .query_map([after], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                        })
                        .map_err(StoreError::from)?;
                    rows.collect::<Result<_, _>>().map_err(StoreError::from)?
                };
                let Some(last) = batch.last() else { break };
                after = last.0;
                for (rowid, key, owner, value) in &batch {
                    let context = format!("{}.{}:{key}", c.table, c.column);
                    let new = f(&KeyBearing {
                        kind: c.kind,
                        owner,
                        context: &context,
                        value,
                    })?;
                    exec(self, &update, params![rowid, new])?;
                    done += 1;
                }
            }
        }
        Ok(done)
    }
}

/// A database file outside the live vault: the copy a backup rewrites, or the one a
/// restore rebuilds. Its own connection, rollback journal in memory (so no journal
/// file sits beside it), `secure_delete` on.
pub struct Snapshot {
    conn: Connection,
    path: PathBuf,
}

impl Db {
    /// Copies the whole database to `dest` (which must not exist) with SQLite's
    /// online backup API in a single step: one consistent read, while writers go on.
    pub fn snapshot_to(&self, dest: &Path) -> R<Snapshot> {
        let src = Connection::open_with_flags(
            self.path(),
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        src.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut dst = Connection::open_with_flags(
            dest,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        {
            let b = rusqlite::backup::Backup::new(&src, &mut dst)?;
            // -1: every page in one step, so the copy is one read transaction.
            loop {
                match b.step(-1)? {
                    rusqlite::backup::StepResult::Done => break,
                    rusqlite::backup::StepResult::More => {}
                    _ => std::thread::sleep(std::time::Duration::from_millis(20)),
                }
            }
        }
        drop(dst);
        Snapshot::open(dest)
    }
}

impl Snapshot {
    /// Opens a database file as a snapshot.
    pub fn open(path: &Path) -> R<Snapshot> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // The copy of a WAL database is in WAL mode too: back to a single file.
        conn.pragma_update(None, "journal_mode", "DELETE")?;
        conn.pragma_update(None, "journal_mode", "MEMORY")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        Ok(Snapshot {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Runs `f` in one transaction on the snapshot.
    pub fn write<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&WriteTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = self.conn.transaction().map_err(StoreError::from)?;
        let out = f(&WriteTx::new(&tx))?;
        tx.commit().map_err(StoreError::from_sqlite)?;
        Ok(out)
    }

    /// Rebuilds the file without free pages and closes it.
    pub fn finish(self) -> R<PathBuf> {
        self.conn.execute_batch("VACUUM")?;
        let ok: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if ok != "ok" {
            return Err(StoreError::Io(std::io::Error::other(
                "the snapshot failed its integrity check",
            )));
        }
        self.conn.close().map_err(|(_, e)| StoreError::Sqlite(e))?;
        Ok(self.path)
    }
}
