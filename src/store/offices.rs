//! Offices and office-wide legal holds.
//!
//! Invariant: an office's identity is stored only wrapped under its passphrase (or not
//! at all, in office-held mode); only its public recipient is stored in the clear.
use rusqlite::{OptionalExtension, params};

use super::{R, ReadTx, WriteTx, exec};

/// An office.
#[derive(Debug, Clone)]
pub struct OfficeRow {
    /// Short slug (`bronx`).
    pub slug: String,
    /// Office age recipient.
    pub recipient: String,
    /// The identity: scrypt-wrapped (custody `passphrase`), or one age file to every
    /// key holder (custody by holders); `None` in office-held mode.
    pub wrapped_identity: Option<Vec<u8>>,
    /// Whether the office's key holders keep its identity (see `holders.rs`).
    pub by_holders: bool,
    /// Whether a legal hold covers the whole office.
    pub held: bool,
}

/// A new office, as [`WriteTx::insert_office`] stores it.
pub struct NewOfficeRow<'a> {
    /// Short slug (`bronx`).
    pub slug: &'a str,
    /// Office age recipient.
    pub recipient: &'a str,
    /// Passphrase-wrapped identity; `None` in office-held mode.
    pub wrapped_identity: Option<&'a [u8]>,
    /// scrypt work factor the identity was wrapped with.
    pub kdf_log_n: Option<u8>,
    /// Whether `wrapped_identity` is the file to the key holders.
    pub by_holders: bool,
    /// RFC 3339.
    pub created_at: &'a str,
}

impl ReadTx<'_> {
    /// One office.
    pub fn office(&self, slug: &str) -> R<Option<OfficeRow>> {
        Ok(self
            .q_row(
                "SELECT o.slug, o.recipient, o.wrapped_identity, EXISTS(SELECT 1 FROM office_holds h WHERE h.office = o.slug),
                    o.custody = 'holders'
                 FROM offices o WHERE o.slug = ?1",
                [slug],
                |r| {
                    Ok(OfficeRow {
                        slug: r.get(0)?,
                        recipient: r.get(1)?,
                        wrapped_identity: r.get(2)?,
                        held: r.get(3)?,
                        by_holders: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    /// The first audit entry of the office's view: the one that created it; 0 when
    /// the office predates the record of it or does not exist.
    pub fn office_audit_from(&self, slug: &str) -> R<i64> {
        Ok(self
            .q_row(
                "SELECT COALESCE(audit_from, 0) FROM offices WHERE slug = ?1",
                [slug],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    /// The office's time zone (an IANA name; `UTC` unless set).
    pub fn office_time_zone(&self, slug: &str) -> R<Option<String>> {
        Ok(self
            .q_row(
                "SELECT time_zone FROM offices WHERE slug = ?1",
                [slug],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// All office slugs.
    pub fn office_slugs(&self) -> R<Vec<String>> {
        let mut st = self
            .0
            .prepare_cached("SELECT slug FROM offices ORDER BY slug")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl WriteTx<'_> {
    /// Inserts an office.
    pub fn insert_office(&self, o: &NewOfficeRow<'_>) -> R<()> {
        exec(
            self,
            "INSERT INTO offices (slug, recipient, wrapped_identity, kdf_log_n, created_at, custody)
             VALUES (?1,?2,?3,?4,?5,?6)",
            params![
                o.slug,
                o.recipient,
                o.wrapped_identity,
                o.kdf_log_n,
                o.created_at,
                if o.by_holders { "holders" } else { "passphrase" }
            ],
        )?;
        Ok(())
    }

    /// Sets the office's time zone (an IANA name the caller checked).
    pub fn set_office_time_zone(&self, slug: &str, zone: &str) -> R<bool> {
        Ok(exec(
            self,
            "UPDATE offices SET time_zone = ?2 WHERE slug = ?1",
            params![slug, zone],
        )? > 0)
    }

    /// Starts the office's audit view at entry `seq` (its creation entry).
    pub fn set_office_audit_from(&self, slug: &str, seq: i64) -> R<()> {
        exec(
            self,
            "UPDATE offices SET audit_from = ?2 WHERE slug = ?1",
            params![slug, seq],
        )?;
        Ok(())
    }

    /// Places (true) or lifts (false) an office-wide hold.
    pub fn set_office_hold(&self, slug: &str, held: bool, now: &str) -> R<()> {
        if held {
            exec(
                self,
                "INSERT OR IGNORE INTO office_holds (office, placed_at) VALUES (?1, ?2)",
                params![slug, now],
            )?;
        } else {
            exec(self, "DELETE FROM office_holds WHERE office = ?1", [slug])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Db, NewOfficeRow, StoreError};
    use crate::audit::{self, Entry};

    fn entry<'a>(action: &'a str, decision: &'a str) -> Entry<'a> {
        Entry {
            actor: "operator",
            role: "operator",
            action,
            target: "office:bronx",
            decision,
            outcome: "ok",
        }
    }

    /// A vault made by the previous version: its offices' views start at their
    /// latest creation entry once migration 5 has run.
    #[test]
    fn migration_starts_an_existing_offices_audit_view_at_its_latest_creation() {
        let dir = tempfile::tempdir().unwrap();
        let t = "2026-01-01T00:00:00Z";
        {
            let db = Db::open(dir.path()).unwrap();
            db.write(|tx| -> Result<(), StoreError> {
                // The first bronx, purged; the second bronx; a refused third attempt.
                audit::append(tx, t, &entry("create_office", "allow"))?;
                audit::append(tx, t, &entry("purge_office", "allow"))?;
                audit::append(tx, t, &entry("create_office", "allow"))?;
                audit::append(tx, t, &entry("create_office", "deny"))?;
                tx.insert_office(&NewOfficeRow {
                    slug: "bronx",
                    recipient: "age1example",
                    wrapped_identity: None,
                    kdf_log_n: None,
                    created_at: t,
                    by_holders: false,
                })?;
                // Back to schema 4, as the previous version left it.
                tx.0.execute_batch(
                    "DROP TABLE upload_links;
                     ALTER TABLE documents DROP COLUMN via_link;
                     ALTER TABLE cases DROP COLUMN client_files_new;
                     ALTER TABLE offices DROP COLUMN audit_from;
                     DROP TABLE blob_trash;
                     DROP INDEX cases_office_creator;
                     DROP INDEX case_assignments_user;
                     DROP TABLE case_versions;
                     DROP TABLE case_notes;
                     DROP TABLE case_events;
                     ALTER TABLE cases DROP COLUMN version;
                     ALTER TABLE cases DROP COLUMN updated_by;
                     ALTER TABLE cases DROP COLUMN updated_at;
                     ALTER TABLE shares DROP COLUMN notes;
                     DROP TABLE backup_runs;
                     DROP TABLE backup_targets;
                     DROP TABLE shred_keys;
                     DROP TABLE vault_identity;
                     DROP TABLE passkeys;
                     DROP TABLE office_holders;
                     ALTER TABLE offices DROP COLUMN custody;
                     ALTER TABLE offices DROP COLUMN time_zone;
                     DROP TABLE user_prefs;
                     ALTER TABLE users DROP COLUMN totp_enrol_session;
                     DROP TABLE case_name_tokens;
                     DROP TABLE approvals;
                     DELETE FROM schema_migrations WHERE version >= 5;",
                )?;
                Ok(())
            })
            .unwrap();
        }
        let db = Db::open(dir.path()).unwrap();
        let from = |slug: &str| db.read(|tx| tx.office_audit_from(slug)).unwrap();
        assert_eq!(from("bronx"), 3);
        assert_eq!(from("queens"), 0);
    }
}
