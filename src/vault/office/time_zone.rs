//! An office's time zone: how its pages show times and dates (stored times stay UTC).
//!
//! Invariant: only a name the compiled-in IANA database knows is stored, so a page
//! can always show it; reading it needs no decision (it is no client data), setting
//! it is the office administrator's (policy rule 7a) and audited.
use std::sync::Arc;

use crate::policy::Action;
use crate::vault::{Actor, OfficeCredentials, OfficeMode, Vault, VaultError};

/// The zone every office has until its administrator sets one.
pub const DEFAULT_TIME_ZONE: &str = "UTC";

/// Whether `name` is a time zone the pages can show (an IANA name such as
/// `America/Chicago`; `UTC`).
pub fn known_time_zone(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && jiff::tz::db().get(name).is_ok()
}

fn invalid_zone() -> VaultError {
    VaultError::bad(
        "invalid_time_zone",
        "give a time zone by its IANA name, such as America/New_York, America/Chicago, America/Los_Angeles or UTC",
    )
}

impl Vault {
    /// The office's time zone (`UTC` for an unknown office or none set).
    pub async fn office_time_zone(self: &Arc<Self>, office: &str) -> String {
        let office = office.to_owned();
        self.run(move |v| {
            Ok(v.db
                .read(|tx| tx.office_time_zone(&office))?
                .unwrap_or_else(|| DEFAULT_TIME_ZONE.to_string()))
        })
        .await
        .unwrap_or_else(|_: VaultError| DEFAULT_TIME_ZONE.to_string())
    }

    /// Creates an office (as [`Vault::create_office`]) that shows times in `zone`.
    pub async fn create_office_in_zone(
        self: &Arc<Self>,
        actor: &Actor,
        slug: &str,
        mode: OfficeMode,
        zone: &str,
    ) -> Result<OfficeCredentials, VaultError> {
        if !known_time_zone(zone) {
            return Err(invalid_zone());
        }
        let creds = self.create_office(actor, slug, mode, None).await?;
        let (slug, zone) = (slug.to_owned(), zone.to_owned());
        self.run(move |v| Ok(v.db.write(|tx| tx.set_office_time_zone(&slug, &zone))?))
            .await?;
        Ok(creds)
    }

    /// Sets the office's time zone.
    pub async fn set_office_time_zone(
        self: &Arc<Self>,
        actor: &Actor,
        office: &str,
        zone: &str,
    ) -> Result<(), VaultError> {
        let (actor, office, zone) = (actor.clone(), office.to_owned(), zone.trim().to_owned());
        self.run(move |v| {
            let allowed = v.office_decision(&actor, Action::SetOfficeTimeZone, &office)?;
            if !known_time_zone(&zone) {
                v.record_now(&allowed, "invalid_time_zone")?;
                return Err(invalid_zone());
            }
            v.db.write(|tx| {
                if !tx.set_office_time_zone(&office, &zone)? {
                    return Err(VaultError::NotFound);
                }
                v.record(tx, &allowed, "ok")
            })
        })
        .await
    }
}
