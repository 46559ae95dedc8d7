//! A backup's manifest: what it holds, file by file, with sizes and SHA-256.
//!
//! It carries no client data: ids, times, counts, random blob names and hashes of
//! ciphertext. Its last line is the SHA-256 of everything above it, so one changed
//! byte anywhere in it is caught; the ledger keeps that hash too, so a restore also
//! catches a manifest rewritten with a matching last line.
use serde::{Deserialize, Serialize};

use super::BackupError;
use crate::crypto::{hex, sha256};

/// One file of a backup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    /// Blob name, or `vault.db.age` for the snapshot.
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

/// The manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// `casevault-backup 1`.
    pub format: String,
    /// The backup's id.
    pub id: String,
    /// The vault's id.
    pub vault: String,
    /// RFC 3339 time of the snapshot.
    pub created_at: String,
    /// The database schema version.
    pub schema_version: i64,
    /// The audit chain's head in the snapshot, `SEQ:HASH`.
    pub audit_head: String,
    /// Offices in the snapshot.
    pub offices: u64,
    /// Cases.
    pub cases: u64,
    /// Documents.
    pub documents: u64,
    /// The database snapshot.
    pub snapshot: FileEntry,
    /// The document payloads.
    pub blobs: Vec<FileEntry>,
}

/// The format line.
pub const FORMAT: &str = "casevault-backup 1";
const TRAILER: &str = "\nsha256 ";

impl Manifest {
    /// Every byte the backup occupies (snapshot and blobs).
    pub fn total_bytes(&self) -> u64 {
        self.snapshot.size + self.blobs.iter().map(|b| b.size).sum::<u64>()
    }

    /// The stored form: pretty JSON, then the hash line.
    pub fn to_bytes(&self) -> Result<Vec<u8>, BackupError> {
        let body = serde_json::to_vec_pretty(self)
            .map_err(|e| BackupError::failed(format!("writing the manifest: {e}")))?;
        let mut out = body.clone();
        out.extend_from_slice(TRAILER.as_bytes());
        out.extend_from_slice(hex(&sha256(&body)).as_bytes());
        out.push(b'\n');
        Ok(out)
    }

    /// Parses and checks the stored form (the hash line must match the body).
    pub fn parse(bytes: &[u8]) -> Result<Manifest, BackupError> {
        let damaged = || BackupError::damaged("the manifest is damaged");
        let text = std::str::from_utf8(bytes).map_err(|_| damaged())?;
        let (body, hash) = text.rsplit_once(TRAILER).ok_or_else(damaged)?;
        if hash.trim_end() != hex(&sha256(body.as_bytes())) || !hash.ends_with('\n') {
            return Err(damaged());
        }
        let m: Manifest = serde_json::from_str(body).map_err(|_| damaged())?;
        if m.format != FORMAT {
            return Err(BackupError::failed(format!(
                "this backup's format is {:?}; this casevault reads {FORMAT:?}",
                m.format
            )));
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            format: FORMAT.into(),
            id: "20261202T101010Z-000000".into(),
            vault: "v".into(),
            created_at: "2026-12-02T10:10:10Z".into(),
            schema_version: 8,
            audit_head: "3:ab".into(),
            offices: 1,
            cases: 2,
            documents: 3,
            snapshot: FileEntry {
                name: "vault.db.age".into(),
                size: 10,
                sha256: "00".into(),
            },
            blobs: vec![],
        }
    }

    #[test]
    fn every_changed_byte_of_a_manifest_is_caught() {
        let b = sample().to_bytes().unwrap();
        assert_eq!(Manifest::parse(&b).unwrap().cases, 2);
        for i in 0..b.len() {
            let mut c = b.clone();
            c[i] ^= 0x01;
            assert!(Manifest::parse(&c).is_err(), "byte {i} changed unnoticed");
        }
    }
}
