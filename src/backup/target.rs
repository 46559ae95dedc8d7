//! Where backups go: the [`Target`] trait every target implements (a directory,
//! [`DirTarget`], or a bucket prefix, [`super::s3target::S3Target`]), its lock, and
//! opening a target by location.
//!
//! Invariant: every target keeps the directory target's rules: a file appears whole
//! or not at all, and only the ledger is ever overwritten in place.
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::store::BlobName;

use super::BackupError;
pub use super::dir_target::DirTarget;

/// The target's lock, released on drop.
pub struct TargetLock {
    _held: Box<dyn Send>,
}

impl TargetLock {
    /// A lock that `held` releases when dropped.
    pub fn new(held: Box<dyn Send>) -> Self {
        TargetLock { _held: held }
    }
}

/// A file read back from a target.
pub type TargetReader = Box<dyn Read + Send>;

/// Where backups go: a directory ([`DirTarget`]) or a bucket prefix
/// ([`super::s3target::S3Target`]). Every method keeps the directory target's
/// invariants: a file appears whole or not at all, and only the ledger is ever
/// overwritten in place.
pub trait Target: Send + Sync {
    /// Where it is, as the operator wrote it (absolute).
    fn location(&self) -> String;
    /// The id of the vault whose backups these are, if any.
    fn vault_id(&self) -> Result<Option<String>, BackupError>;
    /// Makes this target `vault`'s, or checks that it is: one target holds one
    /// vault's backups, so two vaults never rewrite each other's ledger.
    fn claim(&self, vault: &str) -> Result<(), BackupError> {
        match self.vault_id()? {
            Some(v) if v == vault => Ok(()),
            Some(v) => Err(BackupError::failed(format!(
                "{} holds the backups of another vault (id {v}); a restored or new vault \
                 needs a target of its own",
                self.location()
            ))),
            None => self.put_marker(vault),
        }
    }
    /// Writes the marker that makes this target `vault`'s (see [`Target::claim`]).
    fn put_marker(&self, vault: &str) -> Result<(), BackupError>;
    /// Takes the target's lock, waiting for it (`wait`) or failing at once (`None`).
    fn lock(&self, wait: bool) -> Result<Option<TargetLock>, BackupError>;
    /// The size of the target's copy of a blob, if it has one.
    fn blob_size(&self, name: &BlobName) -> Option<u64>;
    /// Copies a blob in; returns its size and SHA-256.
    fn put_blob(
        &self,
        name: &BlobName,
        from: &mut dyn Read,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(u64, [u8; 32]), BackupError>;
    /// Opens the target's copy of a blob.
    fn open_blob(&self, name: &BlobName) -> Result<TargetReader, BackupError>;
    /// Every blob name the target holds.
    fn blob_names(&self) -> Result<Vec<BlobName>, BackupError>;
    /// Removes one blob (pruning).
    fn remove_blob(&self, name: &BlobName) -> Result<(), BackupError>;
    /// Writes a backup's snapshot through `fill`; returns its size and SHA-256.
    fn put_snapshot(
        &self,
        id: &str,
        fill: &mut dyn FnMut(&mut dyn Write) -> Result<(), BackupError>,
    ) -> Result<(u64, [u8; 32]), BackupError>;
    /// Opens a backup's snapshot.
    fn open_snapshot(&self, id: &str) -> Result<TargetReader, BackupError>;
    /// Publishes a backup: its manifest appears, atomically, last.
    fn put_manifest(&self, id: &str, bytes: &[u8]) -> Result<(), BackupError>;
    /// A backup's manifest bytes (None: no such complete backup).
    fn manifest(&self, id: &str) -> Result<Option<Vec<u8>>, BackupError>;
    /// The complete backups' ids, oldest first, and the incomplete ones'.
    fn backup_ids(&self) -> Result<(Vec<String>, Vec<String>), BackupError>;
    /// Removes a backup (its manifest first, so it is unlisted at once).
    fn remove_backup(&self, id: &str) -> Result<(), BackupError>;
    /// Removes temporary files an interrupted run left (only under the lock).
    fn sweep_temporary(&self) -> Result<usize, BackupError>;
    /// The two ledger copies as stored (None: absent).
    fn ledger_slots(&self) -> Result<[Option<Vec<u8>>; 2], BackupError>;
    /// Overwrites one ledger copy in place.
    fn overwrite_ledger_slot(&self, slot: usize, bytes: &[u8]) -> Result<(), BackupError>;
}

/// How to reach an S3 target: its endpoint and, optionally, a credentials file
/// (else `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`).
#[derive(Clone, Debug, Default)]
pub struct S3Access {
    /// The endpoint URL.
    pub endpoint: Option<String>,
    /// A 0600 credentials file.
    pub credentials: Option<PathBuf>,
}

/// Opens an existing target: `s3://BUCKET/PREFIX` or a directory.
pub fn open(location: &str, s3: &S3Access) -> Result<Box<dyn Target>, BackupError> {
    if location.starts_with("s3://") {
        Ok(Box::new(super::s3target::S3Target::open(location, s3)?))
    } else {
        Ok(Box::new(DirTarget::open(Path::new(location))?))
    }
}

/// Opens a target for a new backup, making it one if it is empty.
pub fn create(location: &str, s3: &S3Access) -> Result<Box<dyn Target>, BackupError> {
    if location.starts_with("s3://") {
        Ok(Box::new(super::s3target::S3Target::create(location, s3)?))
    } else {
        Ok(Box::new(DirTarget::create(Path::new(location))?))
    }
}

pub(super) fn io_err(what: &str, path: &Path, e: io::Error) -> BackupError {
    BackupError::failed(format!("{what} {}: {e}", path.display()))
}

/// A backup id: `YYYYMMDDTHHMMSSZ-` and 6 hex characters (time-sortable, safe as a
/// file name).
pub fn valid_backup_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 23
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'Z'
        && b[16] == b'-'
        && b[17..]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}
