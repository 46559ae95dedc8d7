//! What stands in front of every operation: the policy decision, refusals and their
//! throttled audit, the audit targets, the audit log and its group commit, and the
//! views of it.
//!
//! Invariant: an action whose audit entry cannot be written does not happen; a
//! decision is made once, here, before any work.
pub(super) mod audit_group;
pub(super) mod audit_log;
pub(super) mod audit_view;
pub(super) mod decide;
pub(super) mod refusals;
pub(super) mod target;
