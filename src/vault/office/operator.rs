//! **Danger: the machine operator's powers.** Whoever runs the `casevault` command on
//! the server holds the data directory, the auth key and (when they type it) the office
//! passphrase, so no policy can stop them; what they do is still audited, as actor
//! `operator`. Everything here skips the policy decision, which is why it lives in a
//! visibly named module (in the spirit of rustls's `danger`): a request handler that
//! reaches for `operator::` stands out in review.
//!
//! Invariant: this module is the only way to build an operator [`Actor`]; the HTTP and
//! page layers never call it.
use std::sync::Arc;

use age::secrecy::SecretString;

use crate::auth::TotpSecret;
use crate::vault::{Actor, Vault, VaultError, Who, parse_id};

/// The machine operator acting through the CLI or the demo set-up: no policy applies
/// (it holds the passphrase, which is the real authority), every action is audited.
pub fn actor() -> Actor {
    Actor {
        second_factor: true,
        fresh: true,
        access_confirmed: true,
        ..Actor::internal("operator", Who::Operator)
    }
}

/// The scheduled retention job: the operator's authority, audited under its own id.
pub(crate) fn retention_actor() -> Actor {
    Actor {
        id: "retention".into(),
        ..actor()
    }
}

/// The server's scheduled backups: the operator's authority, audited under its own id.
pub(crate) fn backup_actor() -> Actor {
    Actor {
        id: "backup".into(),
        ..actor()
    }
}

/// Unseals an office without a decision: the `demo` set-up and the CLI hold the
/// passphrase.
pub async fn unseal(
    vault: &Arc<Vault>,
    office: &str,
    secret: SecretString,
) -> Result<(), VaultError> {
    vault
        .unseal(&actor(), office, secret, crate::vault::StepUp::none())
        .await
}

/// The offices and whether each is sealed (no decision: CLI and set-up only).
pub fn offices(vault: &Vault) -> Result<Vec<(String, bool)>, VaultError> {
    vault.offices()
}

/// The case a document belongs to (existence is no secret to whoever holds the data
/// directory).
pub fn case_of_document(vault: &Vault, doc_id: &str) -> Result<Option<String>, VaultError> {
    match parse_id(doc_id) {
        Some(d) => Ok(vault.db.read(|tx| tx.document_case(&d))?),
        None => Ok(None),
    }
}

/// Sets a user's TOTP seed directly, already confirmed (demo set-up, CLI, tests).
pub fn set_totp_secret(
    vault: &Vault,
    user_id: &str,
    secret: &TotpSecret,
) -> Result<(), VaultError> {
    let sealed = vault.auth_key.seal(user_id.as_bytes(), secret.as_bytes())?;
    vault
        .db
        .write(|tx| tx.set_totp(user_id, Some(&sealed), true))?;
    Ok(())
}

/// Finds an account by username (CLI: the operator may name any account).
pub fn user_by_name(
    vault: &Vault,
    name: &str,
) -> Result<Option<crate::vault::UserView>, VaultError> {
    vault.user_by_name(name)
}

/// An office as `casevault office list` shows it.
pub struct OfficeSummary {
    /// The slug.
    pub slug: String,
    /// Its time zone.
    pub time_zone: String,
    /// Under an office-wide legal hold.
    pub held: bool,
    /// Key holders who can unseal it now.
    pub holders: usize,
}

/// Every office, for the operator's list (no secret).
pub fn office_summaries(vault: &Vault) -> Result<Vec<OfficeSummary>, VaultError> {
    vault.db.read(|tx| {
        let mut out = Vec::new();
        for slug in tx.office_slugs()? {
            let Some(row) = tx.office(&slug)? else {
                continue;
            };
            let holders = tx
                .holders(&slug)?
                .iter()
                .filter(|h| h.state == "active")
                .count();
            out.push(OfficeSummary {
                time_zone: tx
                    .office_time_zone(&slug)?
                    .unwrap_or_else(|| crate::vault::DEFAULT_TIME_ZONE.to_string()),
                held: row.held,
                holders,
                slug,
            });
        }
        Ok(out)
    })
}
