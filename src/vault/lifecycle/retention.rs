//! Retention: closed cases are purged `closed_case_days` after closing
//! (`policy/retention.toml`). Time comes from the vault's clock, so a run is tested
//! with a manual clock rather than by waiting.
//!
//! Invariants: a held case (or a case of a held office) is never purged, only
//! skipped and reported; every purge is the same crypto-shredding purge an
//! administrator would run, audited with actor `retention`; the run itself is
//! audited with its counts.
use std::sync::Arc;

use serde::Serialize;

use crate::clock::parse_rfc3339;
use crate::policy::{Action, Resource};
use crate::store::ClosedCase;
use crate::vault::guard::target::{Target, Word};
use crate::vault::{Actor, Vault, VaultError};

/// One case a retention run removed (or, in a dry run, would remove).
#[derive(Debug, Clone, Serialize)]
pub struct RetentionItem {
    /// Case id.
    pub case_id: String,
    /// Office slug.
    pub office: String,
    /// Documents.
    pub documents: u64,
    /// Stored bytes.
    pub bytes: u64,
}

/// What a retention run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RetentionReport {
    /// Nothing was changed.
    pub dry_run: bool,
    /// Purged (or due, in a dry run).
    pub purged: Vec<RetentionItem>,
    /// Due, but under a legal hold: kept.
    pub held: Vec<String>,
    /// Due, but the purge failed (ids; detail in the log).
    pub failed: Vec<String>,
}

impl Vault {
    /// Closed cases whose retention time has passed at the clock's current time.
    fn due_cases(&self) -> Result<Vec<ClosedCase>, VaultError> {
        let days = i64::from(self.settings.retention.closed_case_days);
        let cutoff = self.clock.now() - time::Duration::days(days);
        let closed = self.db.read(|tx| tx.closed_cases())?;
        // A case closed without a recorded time is kept: never guess towards deletion.
        Ok(closed
            .into_iter()
            .filter(|c| {
                c.closed_at
                    .as_deref()
                    .and_then(parse_rfc3339)
                    .is_some_and(|t| t <= cutoff)
            })
            .collect())
    }

    /// What a dry run reports for a due case: its counts, read without changing it.
    fn due_item(&self, c: ClosedCase) -> Result<RetentionItem, VaultError> {
        let docs = self.db.read(|tx| tx.documents(&c.id))?;
        Ok(RetentionItem {
            case_id: c.id,
            office: c.office,
            documents: docs.len() as u64,
            bytes: docs
                .iter()
                .map(|d| u64::try_from(d.stored_size).unwrap_or(0))
                .sum(),
        })
    }

    /// A dry run for one office, asked by its administrator (`run_retention` on the
    /// office, rule 7): what the next run would purge there, and what it would keep
    /// because of a legal hold. Nothing is changed; the preview is audited.
    pub async fn retention_preview(
        self: &Arc<Self>,
        actor: &Actor,
        office: &str,
    ) -> Result<RetentionReport, VaultError> {
        let (actor, office) = (actor.clone(), office.to_owned());
        self.run(move |v| v.retention_preview_blocking(&actor, &office))
            .await
    }

    pub(in crate::vault) fn retention_preview_blocking(
        &self,
        actor: &Actor,
        office: &str,
    ) -> Result<RetentionReport, VaultError> {
        let target = self.office_target(office)?.with(Word::Retention);
        let allowed = self.authorize(
            actor,
            Action::RunRetention,
            &Resource::Office(office),
            target,
        )?;
        let mut report = RetentionReport {
            dry_run: true,
            ..Default::default()
        };
        for c in self.due_cases()?.into_iter().filter(|c| c.office == office) {
            if c.held {
                report.held.push(c.id);
            } else {
                report.purged.push(self.due_item(c)?);
            }
        }
        let outcome = format!(
            "dry_run due={} held={}",
            report.purged.len(),
            report.held.len()
        );
        self.record_now(&allowed, &outcome)?;
        Ok(report)
    }

    /// Runs retention once at the clock's current time. In a dry run nothing is
    /// changed and the report lists what would go.
    pub async fn run_retention(
        self: &Arc<Self>,
        dry_run: bool,
    ) -> Result<RetentionReport, VaultError> {
        self.run(move |v| v.run_retention_blocking(dry_run)).await
    }

    pub(in crate::vault) fn run_retention_blocking(
        &self,
        dry_run: bool,
    ) -> Result<RetentionReport, VaultError> {
        let actor = crate::vault::office::operator::retention_actor();
        let allowed = self.authorize(
            &actor,
            Action::RunRetention,
            &Resource::System,
            Target::word(Word::Retention),
        )?;
        let mut report = RetentionReport {
            dry_run,
            ..Default::default()
        };
        for c in self.due_cases()? {
            if c.held {
                report.held.push(c.id);
                continue;
            }
            if dry_run {
                report.purged.push(self.due_item(c)?);
                continue;
            }
            match self.purge_case_blocking(&actor, &c.id) {
                Ok(r) => report.purged.push(RetentionItem {
                    case_id: c.id,
                    office: c.office,
                    documents: r.documents,
                    bytes: r.bytes,
                }),
                Err(VaultError::LegalHold) => report.held.push(c.id),
                Err(e) => {
                    tracing::error!(case = %c.id, error = %e, "retention purge failed");
                    report.failed.push(c.id);
                }
            }
        }
        let outcome = format!(
            "{} {}={} held={} failed={}",
            if dry_run { "dry_run" } else { "ok" },
            if dry_run { "due" } else { "purged" },
            report.purged.len(),
            report.held.len(),
            report.failed.len()
        );
        self.record_now(&allowed, &outcome)?;
        Ok(report)
    }
}
