//! Where a vault's documents' bytes are: the data directory, or a bucket and prefix of
//! an S3-compatible store. The choice is recorded in `DATA/blob-store.json` the first
//! time it is made, so every later command (`purge`, `backup create`, `export`) finds
//! the same objects, and a vault cannot be pointed at another vault's prefix.
//!
//! Invariants: the record holds no secret (bucket, prefix, endpoint, region and the
//! path of a credentials file, never a key); the prefix carries a marker object naming
//! the vault that owns it, and a vault refuses a prefix another vault owns (its sweep
//! would delete that vault's documents).
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::BlobSettings;
use crate::store::BlobStore;
use crate::store::s3::{S3Blobs, S3Location, connect, region};
use crate::vault::VaultError;

/// The record's file name in the data directory.
pub const RECORD: &str = "blob-store.json";

#[derive(Serialize, Deserialize, PartialEq, Eq, Debug)]
struct Recorded {
    s3: S3Location,
    #[serde(default)]
    credentials: Option<PathBuf>,
}

fn read_record(dir: &Path) -> Result<Option<Recorded>, VaultError> {
    let path = dir.join(RECORD);
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|_| VaultError::Internal(format!("{} does not parse", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(VaultError::Internal(format!("{}: {e}", path.display()))),
    }
}

fn write_record(dir: &Path, r: &Recorded) -> Result<(), VaultError> {
    let path = dir.join(RECORD);
    let tmp = dir.join(format!("{RECORD}.tmp"));
    let text = serde_json::to_vec_pretty(r).map_err(|e| VaultError::Internal(e.to_string()))?;
    let io = |e: std::io::Error| VaultError::Internal(format!("{}: {e}", path.display()));
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)
}

/// Opens the blob store the settings (or the record) name for the vault in `dir`.
pub(in crate::vault) fn open(
    dir: &Path,
    settings: &BlobSettings,
    vault_id: &str,
) -> Result<BlobStore, VaultError> {
    let recorded = read_record(dir)?;
    let bad = |m: String| VaultError::Internal(m);
    let chosen = if !settings.location.is_empty() {
        let endpoint = if !settings.s3_endpoint.is_empty() {
            settings.s3_endpoint.clone()
        } else if let Some(r) = &recorded {
            r.s3.endpoint.clone()
        } else {
            return Err(bad(
                "--blobs s3://… needs --s3-endpoint URL (or blobs.s3_endpoint in settings.toml)"
                    .into(),
            ));
        };
        let loc = S3Location::parse(&settings.location, &endpoint, &region()).map_err(bad)?;
        if let Some(r) = &recorded
            && (r.s3.bucket != loc.bucket || r.s3.prefix != loc.prefix)
        {
            return Err(bad(format!(
                "this vault's documents are in {}, not {}: moving them is a backup and a restore",
                r.s3.url(),
                loc.url()
            )));
        }
        Some(Recorded {
            s3: loc,
            credentials: settings
                .s3_credentials
                .clone()
                .or_else(|| recorded.as_ref().and_then(|r| r.credentials.clone())),
        })
    } else {
        recorded.as_ref().map(|r| Recorded {
            s3: r.s3.clone(),
            credentials: settings.s3_credentials.clone().or(r.credentials.clone()),
        })
    };
    let Some(chosen) = chosen else {
        return BlobStore::open(&dir.join("blobs"))
            .map_err(|e| VaultError::Internal(format!("opening the blob directory: {e}")));
    };
    let local = dir.join("blobs");
    if recorded.is_none() && std::fs::read_dir(&local).is_ok_and(|mut d| d.next().is_some()) {
        return Err(bad(format!(
            "this vault's documents are in {}: moving them to {} is a backup and a restore, not a flag",
            local.display(),
            chosen.s3.url()
        )));
    }
    // The environment's keys win over a recorded file, and a named file over both.
    let env_keys = std::env::var_os("AWS_ACCESS_KEY_ID").is_some();
    let file = settings.s3_credentials.as_deref().or(if env_keys {
        None
    } else {
        chosen.credentials.as_deref()
    });
    let s3 = connect(chosen.s3.clone(), file, settings).map_err(bad)?;
    claim(&s3, vault_id)?;
    if recorded.as_ref() != Some(&chosen) {
        write_record(dir, &chosen)?;
    }
    Ok(BlobStore::S3(s3))
}

/// Puts this vault's marker under the prefix, or checks the one there is ours. An
/// unreachable store is logged, not fatal: the vault starts, uploads answer 503 until
/// the store answers, and nothing is swept before the claim holds (the store watch
/// tries it again).
fn claim(s3: &S3Blobs, vault_id: &str) -> Result<(), VaultError> {
    match s3.claim_for(vault_id) {
        Ok(()) => {
            if let Ok(Some(state)) = s3.versioning() {
                tracing::warn!(store = %s3.location().url(), versioning = %state,
                    "WARNING: this bucket keeps old versions: a purged document's object stays as an old version (ciphertext without its key); turn versioning off or expire noncurrent versions");
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            Err(VaultError::Internal(e.to_string()))
        }
        Err(e) => {
            tracing::warn!(store = %s3.location().url(), error = %e, "the blob store does not answer; uploads wait for it");
            Ok(())
        }
    }
}
