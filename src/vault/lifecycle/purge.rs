//! Crypto-shredding purge, legal holds and closing cases.
//!
//! A purge deletes key rows, never bytes: a document's age header (the only wrapped
//! copy of its file key), a case's wrapped identity, an office's wrapped identity.
//! Invariants: the deletes and the audit entry (counts only, no content) commit in one
//! SQLite transaction, so a crash leaves either the old state or nothing readable;
//! the WAL is then checkpointed with TRUNCATE so no deleted page survives in `-wal`
//! (`secure_delete` has zeroed the freed pages); blobs, already noise, are queued for
//! removal in the same transaction and removed after the answer (`trash.rs`), so the
//! answer time does not grow with the bytes purged. A held case or office is never
//! purged.
use std::sync::Arc;

use serde::Serialize;

use crate::policy::{Action, Resource};
use crate::store::{CaseRow, PurgeCounts, ReadTx, WriteTx};
use crate::vault::guard::target::Target;
use crate::vault::{Actor, Allowed, Decided, StepUp, Vault, VaultError, parse_id};

/// What a purge removed (the same counts go to the audit log).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PurgeReport {
    /// Cases removed.
    pub cases: u64,
    /// Documents removed.
    pub documents: u64,
    /// Stored (padded ciphertext) bytes made unreadable.
    pub bytes: u64,
}

/// Test-only: where a purge stops, to prove crash safety. Never used by the server.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeFault {
    /// Fail after the deletes and the audit entry, before the commit (rolls back).
    InTransaction,
    /// Stop after the commit, before the WAL checkpoint.
    BeforeCheckpoint,
    /// Stop after the checkpoint, before the blobs are unlinked.
    BeforeUnlink,
}

/// The longest hold reason accepted, in characters.
pub const MAX_REASON_CHARS: usize = 2000;

fn injected() -> VaultError {
    VaultError::Internal("injected purge fault".into())
}

fn legal_hold() -> VaultError {
    VaultError::LegalHold
}

pub(super) fn check_reason(reason: Option<&str>) -> Result<(), VaultError> {
    let Some(r) = reason else { return Ok(()) };
    let bad = r.chars().count() > MAX_REASON_CHARS
        || r.chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        || crate::text::has_invisible_format(r);
    if bad {
        return Err(VaultError::bad(
            "invalid_reason",
            format!(
                "a hold reason has at most {MAX_REASON_CHARS} characters, no control characters and no {}",
                crate::text::INVISIBLE_FORMAT
            ),
        ));
    }
    Ok(())
}

impl Vault {
    /// Whether a hold covers the case (its own or its office's).
    pub(in crate::vault) fn case_held(&self, case: &CaseRow) -> Result<bool, VaultError> {
        Ok(case.held
            || self
                .db
                .read(|tx| tx.office(&case.office))?
                .is_some_and(|o| o.held))
    }

    /// [`Self::case_held`] read again inside a write: a hold placed since wins.
    pub(in crate::vault) fn held_in(tx: &ReadTx<'_>, case: &CaseRow) -> Result<bool, VaultError> {
        Ok(tx.case(&case.id)?.is_some_and(|c| c.held)
            || tx.office(&case.office)?.is_some_and(|o| o.held))
    }

    /// The shredding itself, after the decision: one transaction (deletes + audit
    /// entry with counts), then checkpoint, then unlink.
    fn shred(
        &self,
        allowed: &Allowed,
        fault: Option<PurgeFault>,
        f: impl FnOnce(&WriteTx<'_>) -> Result<Option<PurgeCounts>, VaultError>,
    ) -> Result<PurgeReport, VaultError> {
        let counts = self.db.write(|tx| {
            let c = f(tx)?.ok_or(VaultError::NotFound)?;
            // The files go on the durable queue in this same transaction.
            tx.trash_blobs(&c.blobs, &self.now_str())?;
            let outcome = format!(
                "ok cases={} documents={} bytes={}",
                c.cases, c.documents, c.bytes
            );
            self.record(tx, allowed, &outcome)?;
            if fault == Some(PurgeFault::InTransaction) {
                return Err(injected());
            }
            Ok(c)
        });
        let counts = match counts {
            Ok(c) => c,
            // Lost a race (a hold placed, the row gone): the decision is still recorded.
            Err(e @ VaultError::LegalHold) => {
                self.record_now(allowed, "legal_hold")?;
                return Err(e);
            }
            Err(VaultError::NotFound) => {
                self.record_now(allowed, "not_found")?;
                return Err(VaultError::NotFound);
            }
            Err(e) => return Err(e),
        };
        if fault == Some(PurgeFault::BeforeCheckpoint) {
            return Err(injected());
        }
        // The rows are gone for good at this point; a failed checkpoint is retried at
        // the next start (Vault::open), so it is logged rather than reported as if
        // nothing had happened.
        if let Err(e) = self.db.checkpoint_truncate() {
            tracing::error!(error = %e, "WAL checkpoint after purge failed; retried at next start");
        }
        if fault == Some(PurgeFault::BeforeUnlink) {
            return Err(injected());
        }
        self.after_purge();
        Ok(PurgeReport {
            cases: counts.cases,
            documents: counts.documents,
            bytes: counts.bytes,
        })
    }

    /// Drops a case's cached key. Called only after the purge's commit: a read that
    /// caches the key later finds the row gone and drops it itself (`case_key`).
    fn forget_case_key(&self, office: &str, case: &str) {
        self.forget_plain(office, case, None);
        // Forgetting a key is no use of the office's keys.
        if let Some(u) = self.keys_in_memory(office) {
            u.cases
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(case);
        }
    }

    /// Crypto-shreds a case: its identity, every document header, its metadata,
    /// shares and hold history. Afterwards it answers exactly as one that never
    /// existed.
    pub async fn purge_case(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
        step: StepUp,
    ) -> Result<PurgeReport, VaultError> {
        let (actor, case_id) = (actor.clone(), case_id.to_owned());
        let actor = self.prove(actor, step).await?;
        self.run(move |v| v.purge_case_blocking(&actor, &case_id))
            .await
    }

    pub(in crate::vault) fn purge_case_blocking(
        &self,
        actor: &Actor,
        case_id: &str,
    ) -> Result<PurgeReport, VaultError> {
        self.purge_case_faulty_blocking(actor, case_id, None)
    }

    /// [`Vault::purge_case`] with a fault injected (crash-safety tests only).
    #[doc(hidden)]
    pub async fn purge_case_faulty(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
        fault: Option<PurgeFault>,
    ) -> Result<PurgeReport, VaultError> {
        let (actor, case_id) = (actor.clone(), case_id.to_owned());
        self.run(move |v| v.purge_case_faulty_blocking(&actor, &case_id, fault))
            .await
    }

    pub(in crate::vault) fn purge_case_faulty_blocking(
        &self,
        actor: &Actor,
        case_id: &str,
        fault: Option<PurgeFault>,
    ) -> Result<PurgeReport, VaultError> {
        let (case, allowed) = self.case_for(actor, Action::PurgeCase, case_id, None)?;
        if self.case_held(&case)? {
            self.record_now(&allowed, "legal_hold")?;
            return Err(legal_hold());
        }
        let out = self.shred(&allowed, fault, |tx| {
            // Checked again inside the transaction: a hold placed meanwhile wins.
            if Self::held_in(tx, &case)? {
                return Err(legal_hold());
            }
            Ok(Some(tx.purge_case(&case.id)?))
        });
        self.forget_case_key(&case.office, &case.id);
        out
    }

    /// Crypto-shreds one document (its header row); the case stays.
    pub async fn purge_document(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
        doc_id: &str,
        step: StepUp,
    ) -> Result<PurgeReport, VaultError> {
        let (actor, case_id, doc_id) = (actor.clone(), case_id.to_owned(), doc_id.to_owned());
        let actor = self.prove(actor, step).await?;
        self.run(move |v| v.purge_document_blocking(&actor, &case_id, &doc_id))
            .await
    }

    pub(in crate::vault) fn purge_document_blocking(
        &self,
        actor: &Actor,
        case_id: &str,
        doc_id: &str,
    ) -> Result<PurgeReport, VaultError> {
        let doc = parse_id(doc_id);
        // Who uploaded it and when is part of the decision (rule 22); the row is looked
        // up under the case id as sent, so a case the actor may not see tells nothing.
        let row = match (parse_id(case_id), &doc) {
            (Some(c), Some(d)) => self.db.read(|tx| tx.document(&c, d))?,
            _ => None,
        };
        let ctx = crate::policy::Ctx {
            document: row.as_ref().map(|r| self.doc_facts(actor, r)),
            ..Default::default()
        };
        let (case, _, allowed) = self.case_in(
            actor,
            Action::PurgeDocument,
            case_id,
            Some(Target::doc(doc_id)),
            ctx,
        )?;
        let exists = row.is_some_and(|r| r.case_id == case.id);
        let Some(doc) = doc.filter(|_| exists) else {
            self.record_now(&allowed, "not_found")?;
            return Err(VaultError::NotFound);
        };
        if self.case_held(&case)? {
            self.record_now(&allowed, "legal_hold")?;
            return Err(legal_hold());
        }
        let out = self.shred(&allowed, None, |tx| {
            if Self::held_in(tx, &case)? {
                return Err(legal_hold());
            }
            Ok(tx.purge_document(&case.id, &doc)?)
        });
        self.forget_plain(&case.office, &case.id, Some(&doc));
        out
    }

    /// Crypto-shreds an office: its identity, every case and document of it, its
    /// users and their sessions. Its keys leave memory at once. When the approvals
    /// policy lists office purge, a user's purge only opens a request
    /// ([`Decided::Pending`]) and nothing is done until it is approved.
    pub async fn purge_office(
        self: &Arc<Self>,
        actor: &Actor,
        office: &str,
        step: StepUp,
    ) -> Result<Decided<PurgeReport>, VaultError> {
        let (actor, office) = (actor.clone(), office.to_owned());
        let actor = self.prove(actor, step).await?;
        self.run(move |v| match v.approval_rule(&actor, "purge_office") {
            Some(rule) => v
                .ask_purge_office(&actor, &office, rule)
                .map(Decided::Pending),
            None => v.purge_office_blocking(&actor, &office).map(Decided::Done),
        })
        .await
    }

    pub(in crate::vault) fn purge_office_blocking(
        &self,
        actor: &Actor,
        office: &str,
    ) -> Result<PurgeReport, VaultError> {
        let target = self.office_target(office)?;
        let allowed = self.authorize(
            actor,
            Action::PurgeOffice,
            &Resource::Office(office),
            target,
        )?;
        let Some(row) = self.db.read(|tx| tx.office(office))? else {
            self.record_now(&allowed, "not_found")?;
            return Err(VaultError::NotFound);
        };
        if row.held || self.db.read(|tx| tx.office_has_held_case(office))? {
            self.record_now(&allowed, "legal_hold")?;
            return Err(legal_hold());
        }
        let skipped = self.skips_approval(actor, "purge_office");
        let out = self.shred(&allowed, None, |tx| {
            if tx.office(office)?.is_some_and(|o| o.held) || tx.office_has_held_case(office)? {
                return Err(legal_hold());
            }
            if skipped {
                // The operator's path is outside the web's approvals, and says so.
                self.record(tx, &allowed, "ok skipped_approval")?;
            }
            Ok(tx.purge_office(office)?)
        });
        if out.is_ok() {
            self.keyring
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(office);
        }
        out
    }
}

#[cfg(test)]
pub(in crate::vault) mod tests {
    use std::sync::Arc;

    use age::secrecy::ExposeSecret;

    use crate::clock::Clock;
    use crate::config::Settings;
    use crate::policy::Policy;
    use crate::vault::{CaseInput, OfficeMode, Vault, VaultError, VaultOptions, operator};

    pub(in crate::vault) fn vault(dir: &std::path::Path) -> Arc<Vault> {
        let mut settings = Settings::defaults();
        settings.kdf.passphrase_log_n = 10;
        settings.kdf.max_log_n = 12;
        let opts = VaultOptions {
            data_dir: dir.to_path_buf(),
            settings,
            clock: Clock::manual(1_790_000_000),
            auth_key_file: None,
        };
        Arc::new(Vault::open(opts, Policy::builtin().unwrap()).unwrap())
    }

    /// A read that loaded the case row just before a purge committed, and reaches
    /// for the key only after the purge dropped it, must not put the key back.
    #[test]
    fn a_read_that_loses_the_race_with_a_purge_caches_no_key() {
        let dir = tempfile::tempdir().unwrap();
        let v = vault(dir.path());
        let op = operator::actor();
        let creds = v
            .create_office_blocking(&op, "bronx", OfficeMode::Passphrase, None)
            .unwrap();
        let pass = creds.passphrase.unwrap().expose_secret().to_string();
        v.unseal_blocking(&op, "bronx", pass.into()).unwrap();
        let input: CaseInput = serde_json::from_value(serde_json::json!({
            "office": "bronx", "client_name": "Raced Reader"
        }))
        .unwrap();
        let id = v.create_case_blocking(&op, &input).unwrap();
        let cached = |v: &Vault| {
            v.keys_in_memory("bronx")
                .unwrap()
                .cases
                .lock()
                .unwrap()
                .contains_key(&id)
        };
        // The reader's view of the row, taken before the purge.
        let stale = v.db.read(|tx| tx.case(&id)).unwrap().unwrap();
        assert!(v.case_key(&stale).is_ok());
        assert!(cached(&v));
        v.purge_case_blocking(&op, &id).unwrap();
        assert!(!cached(&v), "the purge dropped the key");
        // The reader now asks for the key with its stale row.
        assert!(matches!(v.case_key(&stale), Err(VaultError::NotFound)));
        assert!(!cached(&v), "the key of a purged case came back");
    }
}
