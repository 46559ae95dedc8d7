//! Accounts: users and their confirmation, sign-in with password and second factor,
//! sessions and step-up, and TOTP enrolment and recovery codes.
//!
//! Invariant: a password, a TOTP secret or a recovery code never leaves this folder in
//! clear; a failed sign-in says nothing of which part was wrong.
pub(super) mod accounts;
mod confirm;
mod own;
mod passkey_use;
pub(super) mod passkeys;
pub(super) mod sessions;
pub(super) mod signin;
pub(super) mod totp;
