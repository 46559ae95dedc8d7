//! Offices and their keys: creation, seal and unseal, the keyring of unsealed
//! offices, the cache of decrypted metadata, the machine operator's powers, and key
//! custody (custody*.rs: holders, invitations, unseal by passkey; rotate.rs;
//! recovery.rs) and the time zone its pages show (time_zone.rs).
//!
//! Invariant: an office identity and its case keys are in memory only while the
//! office is unsealed, in types that wipe on drop; sealing removes them all at once.
pub(super) mod custody;
pub(super) mod custody_invite;
pub(super) mod custody_passkey;
pub(super) mod keyring;
pub(super) mod offices;
pub mod operator;
pub(super) mod plain_cache;
pub(super) mod recovery;
pub(super) mod rotate;
pub(super) mod time_zone;
