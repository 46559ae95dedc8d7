//! Fixing a wrong upload: renaming a document (the new name sealed to the case key
//! like the old one) and deciding who may shred one (policy rule 22: a supervisor, or
//! its uploader within 24 hours; the shredding itself is `purge.rs`).
//!
//! Invariant: a rename rewrites only the document's sealed metadata row, in one
//! transaction with its audit entry (the earlier name is not kept, so a legal hold
//! refuses renames); the filename is validated as at upload and never reaches the log.
use std::sync::Arc;

use serde::Deserialize;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::crypto;
use crate::policy::{Action, CaseFacts, Ctx, DocFacts, Resource};
use crate::store::DocRow;
use crate::vault::document::documents::{DocMay, DocMeta};
use crate::vault::document::filename::{INVALID_FILENAME, valid_filename};
use crate::vault::guard::target::Target;
use crate::vault::office::plain_cache::Part;
use crate::vault::{Actor, Vault, VaultError, parse_id};

/// A rename.
#[derive(Debug, Clone, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct RenameInput {
    /// The new filename.
    pub filename: String,
}

impl Vault {
    /// What rule 22 is decided on for `doc`, asked by `actor` now.
    pub(in crate::vault) fn doc_facts(&self, actor: &Actor, doc: &DocRow) -> DocFacts {
        let age_minutes = crate::clock::parse_rfc3339(&doc.created_at)
            .map(|t| (self.clock.unix() - t.unix_timestamp()).max(0) / 60)
            .unwrap_or(i64::MAX);
        DocFacts {
            uploaded_by_principal: doc.created_by == actor.id,
            age_minutes,
        }
    }

    /// What a document row may offer the actor (no audit entry: nothing is done).
    pub(in crate::vault) fn doc_may(
        &self,
        actor: &Actor,
        facts: &CaseFacts,
        doc: &DocRow,
    ) -> DocMay {
        let Some(role) = actor.role() else {
            return DocMay::default();
        };
        let principal = actor.principal(role);
        let r = Resource::Case(facts);
        let rename = self.policy.decide(
            &principal,
            Action::RenameDocument,
            &r,
            &Ctx {
                fresh: true,
                ..Ctx::default()
            },
        );
        let purge = self.policy.decide(
            &principal,
            Action::PurgeDocument,
            &r,
            &Ctx {
                fresh: true,
                document: Some(self.doc_facts(actor, doc)),
                ..Ctx::default()
            },
        );
        DocMay { rename, purge }
    }

    /// Renames a document.
    pub async fn rename_document(
        self: &Arc<Self>,
        actor: &Actor,
        case_id: &str,
        doc_id: &str,
        input: &RenameInput,
    ) -> Result<(), VaultError> {
        let (actor, case_id, doc_id, input) = (
            actor.clone(),
            case_id.to_owned(),
            doc_id.to_owned(),
            input.clone(),
        );
        self.run(move |v| v.rename_document_blocking(&actor, &case_id, &doc_id, &input))
            .await
    }

    pub(in crate::vault) fn rename_document_blocking(
        &self,
        actor: &Actor,
        case_id: &str,
        doc_id: &str,
        input: &RenameInput,
    ) -> Result<(), VaultError> {
        let (case, allowed) = self.case_for(
            actor,
            Action::RenameDocument,
            case_id,
            Some(Target::doc(doc_id)),
        )?;
        let doc = match parse_id(doc_id) {
            Some(d) => self.db.read(|tx| tx.document(&case.id, &d))?,
            None => None,
        };
        let Some(doc) = doc else {
            self.record_now(&allowed, "not_found")?;
            return Err(VaultError::NotFound);
        };
        // A legal hold keeps every record as it is: a rename keeps no earlier name.
        if self.case_held(&case)? {
            self.record_now(&allowed, "legal_hold")?;
            return Err(VaultError::LegalHold);
        }
        if !self.is_unsealed(&case.office) {
            self.record_now(&allowed, "sealed")?;
            return Err(VaultError::OfficeSealed(case.office));
        }
        let name = input.filename.trim();
        if !valid_filename(name) {
            self.record_now(&allowed, "invalid_input")?;
            return Err(VaultError::bad("invalid_filename", INVALID_FILENAME));
        }
        let plain = self.open_sealed(&case, Part::Doc(&doc.id), &doc.meta)?;
        let mut meta: DocMeta = serde_json::from_slice(&plain)
            .map_err(|_| VaultError::Internal("document metadata does not parse".into()))?;
        meta.filename = name.to_owned();
        let json = Zeroizing::new(
            serde_json::to_vec(&meta).map_err(|e| VaultError::Internal(e.to_string()))?,
        );
        let ct = crypto::seal_to(&case.recipient, &json)?;
        let renamed = self.db.write(|tx| {
            // Checked again inside the transaction: a hold placed meanwhile wins.
            if Self::held_in(tx, &case)? {
                return Err(VaultError::LegalHold);
            }
            let renamed = tx.set_document_meta(&case.id, &doc.id, &ct)?;
            if renamed {
                self.record(tx, &allowed, "ok")?;
            }
            Ok::<_, VaultError>(renamed)
        });
        let renamed = match renamed {
            Err(VaultError::LegalHold) => {
                self.record_now(&allowed, "legal_hold")?;
                return Err(VaultError::LegalHold);
            }
            other => other?,
        };
        if !renamed {
            // Purged meanwhile.
            self.record_now(&allowed, "not_found")?;
            return Err(VaultError::NotFound);
        }
        Ok(())
    }
}
