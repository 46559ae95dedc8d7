//! Backups at the storage layer: the live shred keys, the backup targets and runs.
//! The snapshot and its rewrite are in `snapshot.rs`.
//!
//! Invariant: a shred key is stored only while its owner exists (checked in the same
//! statement), and deleted with it (`lifecycle.rs`), bumping the shred epoch.
use rusqlite::{OptionalExtension, params};

use super::{R, ReadTx, WriteTx, exec};

/// What a shred key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ShredKind {
    /// An office: its wrapped identity and office-wide hold reasons.
    Office,
    /// A case: its wrapped identity, metadata, versions, notes, events, hold reasons.
    Case,
    /// A document: its header (the only wrapped file key) and its metadata.
    Document,
    /// An office key holder: their wrapped identity (so that removing a holder makes
    /// their copy in every earlier backup unreadable once the ledger is rewritten).
    Holder,
}

impl ShredKind {
    /// The name stored in `shred_keys.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            ShredKind::Office => "office",
            ShredKind::Case => "case",
            ShredKind::Document => "document",
            ShredKind::Holder => "holder",
        }
    }

    /// The stored name back.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "office" => Some(ShredKind::Office),
            "case" => Some(ShredKind::Case),
            "document" => Some(ShredKind::Document),
            "holder" => Some(ShredKind::Holder),
            _ => None,
        }
    }
}

/// Something a shred key can belong to, as it stands in a database.
#[derive(Debug, Clone)]
pub struct Owner {
    /// Kind.
    pub kind: ShredKind,
    /// Slug or id.
    pub id: String,
    /// A document's case (None for the others).
    pub case_id: Option<String>,
}

/// A shred key row as stored (the key sealed with the auth key).
#[derive(Debug, Clone)]
pub struct ShredKeyRow {
    /// Kind.
    pub kind: ShredKind,
    /// Slug or id.
    pub owner: String,
    /// The key, sealed with the server auth key.
    pub sealed: Vec<u8>,
}

/// A backup target as the vault knows it.
#[derive(Debug, Clone)]
pub struct BackupTargetRow {
    /// Opaque id.
    pub id: String,
    /// Absolute directory (or URL).
    pub location: String,
    /// The age recipient its ledger is sealed to.
    pub recipient: String,
    /// An S3 target's endpoint URL.
    pub s3_endpoint: Option<String>,
    /// An S3 target's credentials file (None: the environment's keys).
    pub s3_credentials: Option<String>,
}

/// One backup run.
#[derive(Debug, Clone)]
pub struct BackupRunRow {
    /// The backup's id.
    pub id: String,
    /// The target's location.
    pub location: String,
    /// Its snapshot identity, sealed with the auth key (None once pruned or failed).
    pub sealed: Option<Vec<u8>>,
    /// SHA-256 of its manifest.
    pub manifest_sha256: Option<Vec<u8>>,
    /// RFC 3339.
    pub started_at: String,
    /// RFC 3339.
    pub finished_at: Option<String>,
    /// `running`, `ok` or `failed: …`.
    pub outcome: String,
    /// Size of the backup.
    pub bytes: Option<i64>,
    /// Bytes this run wrote.
    pub copied: Option<i64>,
    /// Started by the server's schedule.
    pub scheduled: bool,
}

const RUN_COLS: &str = "r.id, r.location, r.sealed, r.manifest_sha256, r.started_at, \
     r.finished_at, r.outcome, r.bytes, r.copied, r.scheduled";

fn run_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BackupRunRow> {
    Ok(BackupRunRow {
        id: r.get(0)?,
        location: r.get(1)?,
        sealed: r.get(2)?,
        manifest_sha256: r.get(3)?,
        started_at: r.get(4)?,
        finished_at: r.get(5)?,
        outcome: r.get(6)?,
        bytes: r.get(7)?,
        copied: r.get(8)?,
        scheduled: r.get(9)?,
    })
}

fn target_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BackupTargetRow> {
    Ok(BackupTargetRow {
        id: r.get(0)?,
        location: r.get(1)?,
        recipient: r.get(2)?,
        s3_endpoint: r.get(3)?,
        s3_credentials: r.get(4)?,
    })
}

impl ReadTx<'_> {
    /// This vault's id.
    pub fn vault_id(&self) -> R<String> {
        Ok(self.q_row("SELECT id FROM vault_identity", [], |r| r.get(0))?)
    }

    /// Grows by one with every purge that deleted shred keys: a ledger written
    /// before it changed is out of date.
    pub fn shred_epoch(&self) -> R<i64> {
        Ok(self.q_row("SELECT shred_epoch FROM vault_identity", [], |r| r.get(0))?)
    }

    /// The newest schema version applied.
    pub fn schema_version(&self) -> R<i64> {
        Ok(self.q_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )?)
    }

    /// Everything in the database a shred key can belong to that has none yet.
    pub fn owners_without_shred_key(&self) -> R<Vec<Owner>> {
        self.owners(" WHERE NOT EXISTS (SELECT 1 FROM shred_keys k WHERE k.kind = o.kind AND k.owner = o.id)")
    }

    /// Every office, case and document in the database.
    pub fn all_owners(&self) -> R<Vec<Owner>> {
        self.owners("")
    }

    fn owners(&self, filter: &str) -> R<Vec<Owner>> {
        self.kinded(
            &format!(
                "SELECT o.kind, o.id, o.case_id FROM (
                    SELECT 'office' AS kind, slug AS id, NULL AS case_id FROM offices
                    UNION ALL SELECT 'case', id, NULL FROM cases
                    UNION ALL SELECT 'document', id, case_id FROM documents
                    UNION ALL SELECT 'holder', id, NULL FROM office_holders) o{filter}"
            ),
            |kind, id, case_id| Owner { kind, id, case_id },
        )
    }

    /// Rows of (kind, id, third column); a kind this binary does not know is skipped.
    fn kinded<A: rusqlite::types::FromSql, T>(
        &self,
        sql: &str,
        make: impl Fn(ShredKind, String, A) -> T,
    ) -> R<Vec<T>> {
        let mut st = self.0.prepare_cached(sql)?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, A>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (kind, id, third) = row?;
            if let Some(kind) = ShredKind::parse(&kind) {
                out.push(make(kind, id, third));
            }
        }
        Ok(out)
    }

    /// Every document as (case, id, blob name).
    pub fn document_blobs(&self) -> R<Vec<(String, String, String)>> {
        let mut st = self
            .0
            .prepare_cached("SELECT case_id, id, blob FROM documents")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every live shred key.
    pub fn shred_keys(&self) -> R<Vec<ShredKeyRow>> {
        self.kinded(
            "SELECT kind, owner, sealed FROM shred_keys ORDER BY kind, owner",
            |kind, owner, sealed| ShredKeyRow {
                kind,
                owner,
                sealed,
            },
        )
    }

    /// The target at `location`, if this vault has backed up there.
    pub fn backup_target(&self, location: &str) -> R<Option<BackupTargetRow>> {
        Ok(self
            .q_row(
                "SELECT id, location, recipient, s3_endpoint, s3_credentials FROM backup_targets WHERE location = ?1",
                [location],
                target_row,
            )
            .optional()?)
    }

    /// Every target this vault backs up to.
    pub fn backup_targets(&self) -> R<Vec<BackupTargetRow>> {
        let mut st = self.0.prepare_cached(
            "SELECT id, location, recipient, s3_endpoint, s3_credentials FROM backup_targets ORDER BY created_at",
        )?;
        let rows = st.query_map([], target_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A target's runs whose snapshot key is still held, oldest first.
    pub fn backup_runs_with_keys(&self, target: &str) -> R<Vec<BackupRunRow>> {
        let mut st = self.0.prepare_cached(&format!(
            "SELECT {RUN_COLS} FROM backup_runs r
             WHERE r.target = ?1 AND r.sealed IS NOT NULL ORDER BY r.started_at, r.id"
        ))?;
        let rows = st.query_map([target], run_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The newest runs of every target (the status page), newest first.
    pub fn recent_backup_runs(&self, limit: u32) -> R<Vec<BackupRunRow>> {
        let mut st = self.0.prepare_cached(&format!(
            "SELECT {RUN_COLS} FROM backup_runs r
             ORDER BY r.started_at DESC, r.id DESC LIMIT ?1"
        ))?;
        let rows = st.query_map([limit], run_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One sealed TOTP seed and its user id, to check an auth key against.
    pub fn any_sealed_totp(&self) -> R<Option<(String, Vec<u8>)>> {
        Ok(self
            .q_row(
                "SELECT id, totp_sealed FROM users WHERE totp_sealed IS NOT NULL LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }
}

impl WriteTx<'_> {
    /// Stores a new shred key, but only while its owner still exists (a purge that
    /// committed first wins: no key is ever made for what is gone). True when stored.
    pub fn insert_shred_key(&self, o: &Owner, sealed: &[u8], now: &str) -> R<bool> {
        let exists = match o.kind {
            ShredKind::Office => "SELECT 1 FROM offices WHERE slug = ?2",
            ShredKind::Case => "SELECT 1 FROM cases WHERE id = ?2",
            ShredKind::Document => "SELECT 1 FROM documents WHERE id = ?2",
            ShredKind::Holder => "SELECT 1 FROM office_holders WHERE id = ?2",
        };
        Ok(exec(
            self,
            &format!(
                "INSERT OR IGNORE INTO shred_keys (kind, owner, sealed, created_at)
                 SELECT ?1, ?2, ?3, ?4 WHERE EXISTS ({exists})"
            ),
            params![o.kind.as_str(), o.id, sealed, now],
        )? == 1)
    }

    /// Deletes the shred keys of what `owner {cond}` selects (bound to `arg`), inside
    /// the purge's own transaction.
    pub(super) fn forget_shred_keys(&self, kind: ShredKind, cond: &str, arg: &str) -> R<()> {
        exec(
            self,
            &format!("DELETE FROM shred_keys WHERE kind = ?1 AND owner {cond}"),
            params![kind.as_str(), arg],
        )?;
        exec(
            self,
            "UPDATE vault_identity SET shred_epoch = shred_epoch + 1",
            [],
        )?;
        Ok(())
    }

    /// Records a target (or its new recipient, after a rotation).
    pub fn upsert_backup_target(&self, t: &BackupTargetRow, now: &str) -> R<()> {
        exec(
            self,
            "INSERT INTO backup_targets (id, location, recipient, created_at, s3_endpoint, s3_credentials)
             VALUES (?1,?2,?3,?4,?5,?6)
             ON CONFLICT(location) DO UPDATE SET recipient = excluded.recipient,
                s3_endpoint = excluded.s3_endpoint, s3_credentials = excluded.s3_credentials",
            params![t.id, t.location, t.recipient, now, t.s3_endpoint, t.s3_credentials],
        )?;
        Ok(())
    }

    /// Records a run that is starting.
    pub fn insert_backup_run(
        &self,
        id: &str,
        target: &str,
        sealed: &[u8],
        now: &str,
        scheduled: bool,
    ) -> R<()> {
        exec(
            self,
            "INSERT INTO backup_runs (id, target, location, sealed, started_at, outcome, scheduled)
             SELECT ?1, ?2, location, ?3, ?4, 'running', ?5 FROM backup_targets WHERE id = ?2",
            params![id, target, sealed, now, scheduled],
        )?;
        Ok(())
    }

    /// Records a run that failed before its target could be used (not mounted, not
    /// writable, a bad recipient): it is shown, and it changes no target.
    pub fn insert_failed_run(
        &self,
        id: &str,
        location: &str,
        outcome: &str,
        now: &str,
        scheduled: bool,
    ) -> R<()> {
        exec(
            self,
            "INSERT INTO backup_runs (id, target, location, sealed, started_at, finished_at, outcome, scheduled)
             VALUES (?1, NULL, ?2, NULL, ?3, ?3, ?4, ?5)",
            params![id, location, now, outcome, scheduled],
        )?;
        Ok(())
    }

    /// Records a run's end. A failed run's snapshot key is dropped at once.
    pub fn finish_backup_run(
        &self,
        id: &str,
        outcome: &str,
        manifest_sha256: Option<&[u8]>,
        bytes: Option<u64>,
        copied: Option<u64>,
        now: &str,
    ) -> R<()> {
        let ok = outcome == "ok";
        exec(
            self,
            "UPDATE backup_runs SET outcome = ?2, manifest_sha256 = ?3, bytes = ?4, copied = ?5,
                    finished_at = ?6, sealed = CASE WHEN ?7 THEN sealed ELSE NULL END
             WHERE id = ?1",
            params![
                id,
                outcome,
                manifest_sha256,
                bytes.and_then(|b| i64::try_from(b).ok()),
                copied.and_then(|b| i64::try_from(b).ok()),
                now,
                ok
            ],
        )?;
        Ok(())
    }

    /// Shreds the snapshot key of a backup that no longer exists at its target.
    pub fn forget_backup_run_key(&self, id: &str) -> R<()> {
        exec(
            self,
            "UPDATE backup_runs SET sealed = NULL, outcome = CASE outcome WHEN 'ok' THEN 'pruned' ELSE outcome END WHERE id = ?1",
            [id],
        )?;
        Ok(())
    }

    /// A restored vault's second factors when the old auth key is not at hand: the
    /// sealed TOTP seeds and the recovery codes cannot be opened, so every account
    /// enrols again at its next sign-in. Returns how many accounts had one.
    pub fn reset_second_factors(&self) -> R<u64> {
        let n = exec(
            self,
            "UPDATE users SET totp_sealed = NULL, totp_confirmed = 0, totp_last_step = NULL
             WHERE totp_sealed IS NOT NULL",
            [],
        )?;
        exec(self, "DELETE FROM recovery_codes", [])?;
        Ok(n as u64)
    }

    /// Gives a restored vault an id of its own (it is a new vault: a target belongs
    /// to one).
    pub fn set_vault_id(&self, id: &str) -> R<()> {
        exec(self, "UPDATE vault_identity SET id = ?1", [id])?;
        Ok(())
    }
}
