//! Storage: SQLite (the only module that imports rusqlite) and the blob directory.
//!
//! Invariants: the database runs in WAL mode with `foreign_keys` and `secure_delete`
//! on, so freed pages are zeroed; migrations are applied in order inside a transaction
//! and recorded; a database newer than this binary is refused. Every write goes
//! through [`Db::write`], one transaction on the one writer connection, so a domain
//! change and its audit entry commit together or not at all; reads run on a small pool
//! of query-only connections beside it (WAL lets readers and the writer work at once),
//! so a long read never holds up a write or another read. Lookups return `Result<Option<T>>`: a storage
//! failure is never turned into "not found".
//!
//! One file per table group holds its row types, their mappers and its `impl ReadTx` and `impl WriteTx`
//! block; every table's SQL lives in exactly one of them.
mod approvals;
mod audit;
mod backup;
mod blob;
mod cases;
mod casework;
mod data_dir;
mod documents;
mod holders;
mod lifecycle;
mod name_tokens;
mod offices;
mod passkeys;
mod private_file;
pub mod s3;
mod sessions;
mod shares;
mod snapshot;
mod trash;
mod upload_links;
mod users;

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};

use rusqlite::{Connection, OpenFlags};

pub use approvals::{ApprovalRow, NewApprovalRow};
pub use audit::{AuditFilter, AuditRow};
pub use backup::{BackupRunRow, BackupTargetRow, Owner, ShredKeyRow, ShredKind};
pub use blob::{BlobName, BlobReader, BlobStore, BlobWriter, is_unavailable};
pub use cases::{CaseIndexes, CaseRow, CaseScope, NewCaseRow};
pub use casework::{EditOutcome, EventRow, NoteRow, VersionRow};
pub use data_dir::{DirState, SERVE_LOCK, ServeLock, check_writable, state as dir_state};
pub use documents::{DocRow, NewDocRow};
pub use holders::{HolderRow, NewHolderRow, RekeyRow};
pub use lifecycle::{CaseFactsRow, ClosedCase, NewHoldEventRow, PurgeCounts};
pub use offices::{NewOfficeRow, OfficeRow};
pub use passkeys::PasskeyRow;
pub use private_file::write_private_file;
pub use sessions::{NewSessionRow, SessionRow};
pub use shares::{NewShareRow, ShareRow};
pub use snapshot::{KeyBearing, Snapshot};
pub use upload_links::{LinkRow, NewLinkRow};
pub use users::{NewUserRow, UserRow};

/// The storage layer's result.
type R<T> = Result<T, StoreError>;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// File-system error in the blob store or data directory.
    #[error("storage i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The database was written by a newer casevault.
    #[error(
        "the database schema is version {found}, newer than this casevault understands ({known}); run a newer casevault"
    )]
    TooNew {
        /// Version found in the database.
        found: i64,
        /// Newest version this binary knows.
        known: i64,
    },
    /// A uniqueness rule was broken (e.g. a username that exists).
    #[error("already exists")]
    Conflict,
}

impl StoreError {
    fn from_sqlite(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, _) = &e
            && f.code == rusqlite::ErrorCode::ConstraintViolation
            && (f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
        {
            return StoreError::Conflict;
        }
        StoreError::Sqlite(e)
    }
}

/// The migrations compiled into this binary, in order.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/0001_init.sql")),
    (2, "holds", include_str!("../../migrations/0002_holds.sql")),
    (
        3,
        "client_name_index",
        include_str!("../../migrations/0003_client_name_index.sql"),
    ),
    (
        4,
        "access_confirmation",
        include_str!("../../migrations/0004_access_confirmation.sql"),
    ),
    (
        5,
        "office_audit_from",
        include_str!("../../migrations/0005_office_audit_from.sql"),
    ),
    (
        6,
        "paging_and_trash",
        include_str!("../../migrations/0006_paging_and_trash.sql"),
    ),
    (
        7,
        "casework",
        include_str!("../../migrations/0007_casework.sql"),
    ),
    (
        8,
        "backup",
        include_str!("../../migrations/0008_backup.sql"),
    ),
    (
        9,
        "s3_targets",
        include_str!("../../migrations/0009_s3_targets.sql"),
    ),
    (
        10,
        "passkeys",
        include_str!("../../migrations/0010_passkeys.sql"),
    ),
    (
        11,
        "key_holders",
        include_str!("../../migrations/0011_key_holders.sql"),
    ),
    (
        12,
        "name_tokens",
        include_str!("../../migrations/0012_name_tokens.sql"),
    ),
    (
        13,
        "office_time_zone",
        include_str!("../../migrations/0013_office_time_zone.sql"),
    ),
    (
        14,
        "upload_links",
        include_str!("../../migrations/0014_upload_links.sql"),
    ),
    (
        15,
        "user_prefs",
        include_str!("../../migrations/0015_user_prefs.sql"),
    ),
    (
        16,
        "approvals",
        include_str!("../../migrations/0016_approvals.sql"),
    ),
];

/// The database: one writer connection behind a mutex (SQLite serialises writers
/// anyway, and every write is short: document bytes never pass through here) and a
/// pool of [`READERS`] query-only connections for snapshots.
pub struct Db {
    conn: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    reader_free: Condvar,
    path: PathBuf,
}

/// Read connections in the pool: enough for both cores and a few waiting on the disk.
pub const READERS: usize = 4;

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(128);
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    // Temporary tables and indices in memory: never a plaintext-adjacent temp file.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(conn)
}

/// A file `restore` keeps in a data directory until the restore is complete: a vault
/// holding it is refused (an interrupted restore must be redone, not served).
pub const RESTORE_MARKER: &str = "RESTORE-INCOMPLETE";

/// The file name of the database inside the data directory.
pub const DB_FILE: &str = "casevault.db";

impl Db {
    /// Opens (creating if needed) the database in `dir` and applies migrations.
    pub fn open(dir: &Path) -> Result<Db, StoreError> {
        let path = dir.join(DB_FILE);
        let conn = connect(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let mut db = Db {
            conn: Mutex::new(conn),
            readers: Mutex::new(Vec::new()),
            reader_free: Condvar::new(),
            path,
        };
        db.migrate()?;
        // Readers open after the migrations, so they see the current schema; a
        // query-only connection refuses any write, so a write can never slip into a
        // read outside the writer's transaction.
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r = connect(&db.path)?;
            r.pragma_update(None, "query_only", "ON")?;
            readers.push(r);
        }
        *db.readers.get_mut().unwrap_or_else(|p| p.into_inner()) = readers;
        Ok(db)
    }

    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let conn = self.conn.get_mut().unwrap_or_else(|p| p.into_inner());
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
        )?;
        let current: i64 = conn.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )?;
        let known = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
        if current > known {
            return Err(StoreError::TooNew {
                found: current,
                known,
            });
        }
        for (version, name, sql) in MIGRATIONS {
            if *version <= current {
                continue;
            }
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, datetime('now'))",
                rusqlite::params![version, name],
            )?;
            tx.commit()?;
        }
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A poisoned lock only means another thread panicked mid-call; SQLite's own
        // transaction rolled back, so the connection is still consistent.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` in one write transaction; it commits only if `f` returns `Ok`.
    pub fn write<T, E>(&self, f: impl FnOnce(&WriteTx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let out = f(&WriteTx::new(&tx))?;
        tx.commit().map_err(StoreError::from_sqlite)?;
        Ok(out)
    }

    /// Runs `f` in a read transaction (a consistent snapshot) on a pooled reader,
    /// waiting for one when all are busy; never on the writer.
    pub fn read<T, E>(&self, f: impl FnOnce(&ReadTx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut lease = self.lease();
        // Always Some until drop; the Option exists only so drop can move it back.
        let Some(conn) = lease.conn.as_mut() else {
            return Err(StoreError::Io(std::io::Error::other("reader pool")).into());
        };
        let tx = conn.transaction().map_err(StoreError::from)?;
        let out = f(&ReadTx(&tx))?;
        tx.finish().map_err(StoreError::from)?;
        Ok(out)
    }

    /// Takes a reader from the pool, waiting while all are in use.
    fn lease(&self) -> Lease<'_> {
        let mut idle = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(c) = idle.pop() {
                return Lease {
                    db: self,
                    conn: Some(c),
                };
            }
            idle = self
                .reader_free
                .wait(idle)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Moves every WAL page into the main file and truncates the WAL to zero bytes,
    /// so deleted pages do not survive in `-wal` (used after purges).
    /// An error when another connection (another process) kept it from completing.
    pub fn checkpoint_truncate(&self) -> Result<(), StoreError> {
        let conn = self.lock();
        let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        if busy != 0 {
            return Err(StoreError::Io(std::io::Error::other(
                "WAL checkpoint incomplete: another process is using the database",
            )));
        }
        Ok(())
    }

    /// Whether the database can be written now: the writer connection is not
    /// read-only (SQLite opens a file it may not write read-only, silently) and the
    /// data directory takes a new file (SQLite's `-wal` and `-shm` live there).
    ///
    /// Never opens the database file itself: closing any descriptor of it releases
    /// every POSIX lock this process holds on it, SQLite's included, and another
    /// process would then take the live WAL for a stale one and delete it.
    pub fn writable(&self) -> bool {
        let read_only = self
            .lock()
            .is_readonly(rusqlite::DatabaseName::Main)
            .unwrap_or(true);
        let dir_ok = self
            .path
            .parent()
            .is_some_and(|d| data_dir::probe(d).is_ok());
        !read_only && dir_ok
    }

    /// `PRAGMA integrity_check` == "ok".
    pub fn integrity_ok(&self) -> Result<bool, StoreError> {
        let conn = self.lock();
        let s: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(s == "ok")
    }
}

/// A reader on loan from the pool; it goes back when dropped, also on an early return
/// or a panic (the transaction on it has rolled back by then, so it is consistent).
struct Lease<'a> {
    db: &'a Db,
    conn: Option<Connection>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take() {
            self.db
                .readers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(c);
            self.db.reader_free.notify_one();
        }
    }
}

/// The read transaction [`Db::read`] hands its callback: lookups only. Every lookup
/// is a method on this type; an insert, update or delete called on it does not
/// compile.
#[derive(Clone, Copy)]
pub struct ReadTx<'a>(&'a rusqlite::Transaction<'a>);

/// The write transaction [`Db::write`] hands its callback: the lookups of
/// [`ReadTx`] (through `Deref`) and the inserts, updates and deletes, which exist
/// only on this type. It commits when the callback returns `Ok`.
pub struct WriteTx<'a>(&'a rusqlite::Transaction<'a>, ReadTx<'a>);

impl<'a> WriteTx<'a> {
    fn new(tx: &'a rusqlite::Transaction<'a>) -> Self {
        WriteTx(tx, ReadTx(tx))
    }
}

impl<'a> std::ops::Deref for WriteTx<'a> {
    type Target = ReadTx<'a>;
    fn deref(&self) -> &ReadTx<'a> {
        &self.1
    }
}

impl WriteTx<'_> {
    /// Test-only: runs raw SQL (to break things on purpose).
    #[cfg(test)]
    pub fn execute_raw(&self, sql: &str) -> R<()> {
        Ok(self.0.execute_batch(sql)?)
    }
}

/// Runs one statement in `tx`. Writes go through here so that a broken uniqueness
/// rule reaches the vault as [`StoreError::Conflict`], not as a raw SQLite error.
fn exec(tx: &WriteTx<'_>, sql: &str, p: impl rusqlite::Params) -> R<usize> {
    tx.0.prepare_cached(sql)
        .and_then(|mut st| st.execute(p))
        .map_err(StoreError::from_sqlite)
}

impl ReadTx<'_> {
    /// `query_row` through the connection's statement cache: parsing SQL cost more
    /// than running it for the vault's short lookups.
    fn q_row<T>(
        &self,
        sql: &str,
        p: impl rusqlite::Params,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.0.prepare_cached(sql)?.query_row(p, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_recorded_and_newer_database_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = Db::open(dir.path()).unwrap();
            let conn = db.lock();
            let v: i64 = conn
                .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(v, MIGRATIONS.last().unwrap().0);
            let mode: String = conn
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap();
            assert_eq!(mode, "wal");
            let sd: i64 = conn
                .query_row("PRAGMA secure_delete", [], |r| r.get(0))
                .unwrap();
            assert_eq!(sd, 1);
            let fk: i64 = conn
                .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
                .unwrap();
            assert_eq!(fk, 1);
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'x')",
                [],
            )
            .unwrap();
        }
        match Db::open(dir.path()) {
            Err(StoreError::TooNew { found: 999, .. }) => {}
            other => panic!("expected TooNew, got {:?}", other.err()),
        }
        // Re-opening an up-to-date database applies nothing twice.
        let dir2 = tempfile::tempdir().unwrap();
        Db::open(dir2.path()).unwrap();
        Db::open(dir2.path()).unwrap();
    }
}
