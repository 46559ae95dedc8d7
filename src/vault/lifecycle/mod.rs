//! How records end and are kept: purge (crypto-shredding), the trash of files to
//! remove after commit, retention, backups and the shred ledger they honour.
//!
//! Invariant: a purge destroys keys in the same transaction as its rows and audit
//! entry, leaves no page in the WAL, and is refused while a legal hold stands; no
//! backup can give back what a purge destroyed once the ledger is rewritten.
mod approval_vote;
pub(super) mod approvals;
pub(super) mod backup;
pub(super) mod backup_ledger;
mod backup_make;
mod hold;
pub(super) mod purge;
pub(super) mod retention;
pub(super) mod trash;
