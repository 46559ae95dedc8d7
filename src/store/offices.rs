//! Offices and office-wide legal holds.
//!
//! Invariant: an office's identity is stored only wrapped under its passphrase (or not
//! at all, in office-held mode); only its public recipient is stored in the clear.
use rusqlite::{OptionalExtension, params};

use super::{R, Tx, exec};

/// An office.
#[derive(Debug, Clone)]
pub struct OfficeRow {
    /// Short slug (`bronx`).
    pub slug: String,
    /// Office age recipient.
    pub recipient: String,
    /// Passphrase-wrapped identity; `None` in office-held mode.
    pub wrapped_identity: Option<Vec<u8>>,
    /// Whether a legal hold covers the whole office.
    pub held: bool,
}

/// A new office, as [`Tx::insert_office`] stores it.
pub struct NewOfficeRow<'a> {
    /// Short slug (`bronx`).
    pub slug: &'a str,
    /// Office age recipient.
    pub recipient: &'a str,
    /// Passphrase-wrapped identity; `None` in office-held mode.
    pub wrapped_identity: Option<&'a [u8]>,
    /// scrypt work factor the identity was wrapped with.
    pub kdf_log_n: Option<u8>,
    /// RFC 3339.
    pub created_at: &'a str,
}

impl Tx<'_> {
    /// Inserts an office.
    pub fn insert_office(&self, o: &NewOfficeRow<'_>) -> R<()> {
        exec(
            self,
            "INSERT INTO offices (slug, recipient, wrapped_identity, kdf_log_n, created_at) VALUES (?1,?2,?3,?4,?5)",
            params![
                o.slug,
                o.recipient,
                o.wrapped_identity,
                o.kdf_log_n,
                o.created_at
            ],
        )?;
        Ok(())
    }

    /// One office.
    pub fn office(&self, slug: &str) -> R<Option<OfficeRow>> {
        Ok(self
            .0
            .query_row(
                "SELECT o.slug, o.recipient, o.wrapped_identity, EXISTS(SELECT 1 FROM office_holds h WHERE h.office = o.slug)
                 FROM offices o WHERE o.slug = ?1",
                [slug],
                |r| {
                    Ok(OfficeRow {
                        slug: r.get(0)?,
                        recipient: r.get(1)?,
                        wrapped_identity: r.get(2)?,
                        held: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// All office slugs.
    pub fn office_slugs(&self) -> R<Vec<String>> {
        let mut st = self.0.prepare("SELECT slug FROM offices ORDER BY slug")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
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
