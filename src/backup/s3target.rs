//! A backup target under a prefix of an S3 bucket, with the layout of the directory
//! target (`casevault-backup`, `lock`, `ledger.0`, `ledger.1`, `blobs/NAME`,
//! `backups/ID/vault.db.age`, `backups/ID/manifest`).
//!
//! Invariants: an object appears whole or not at all (a single PUT, or a multipart
//! upload completed last), so an interrupted run leaves no partial file under a real
//! name (an unfinished multipart upload is aborted when its writer is dropped); the
//! manifest is written last. The ledger copies are overwritten in place, which in an
//! unversioned bucket leaves no older copy reachable through the S3 interface; a
//! versioned bucket would keep every older ledger (and with it the keys of purged
//! cases), so a bucket with versioning on (or suspended) is refused.
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::path::Path as ObjPath;

use super::BackupError;
use super::hashing::HashingWriter;
use super::target::{S3Access, Target, TargetLock, TargetReader, valid_backup_id};
use crate::config::BlobSettings;
use crate::store::BlobName;
use crate::store::s3::{S3Blobs, S3Location, S3Writer};

const MARKER: &str = crate::store::s3::BACKUP_MARKER;
const MANIFEST: &str = "manifest";
const SNAPSHOT: &str = "vault.db.age";
/// A lock older than this was left by a run that died: it is taken over.
const STALE_LOCK: Duration = Duration::from_secs(6 * 3600);

/// A bucket-prefix target.
pub struct S3Target {
    s3: Arc<S3Blobs>,
}

fn s3_err(what: &str, e: io::Error) -> BackupError {
    BackupError::failed(format!("{what}: {e}"))
}

impl S3Target {
    fn connect(location: &str, access: &S3Access) -> Result<S3Target, BackupError> {
        let endpoint = access
            .endpoint
            .as_deref()
            .ok_or_else(|| BackupError::failed("an s3:// target needs --s3-endpoint URL"))?;
        let loc = S3Location::parse(location, endpoint, &crate::store::s3::region())
            .map_err(BackupError::failed)?;
        let s3 =
            crate::store::s3::connect(loc, access.credentials.as_deref(), &BlobSettings::default())
                .map_err(BackupError::failed)?;
        let t = S3Target { s3 };
        if t.get(crate::store::s3::OWNER_MARKER)?.is_some() {
            return Err(BackupError::failed(format!(
                "{} holds a vault's documents: backups need a prefix of their own",
                t.location()
            )));
        }
        t.refuse_versioning()?;
        Ok(t)
    }

    /// A versioned bucket keeps every overwritten ledger: refused. A store that
    /// cannot say is warned about, loudly, and used.
    fn refuse_versioning(&self) -> Result<(), BackupError> {
        match self.s3.versioning() {
            Ok(None) => Ok(()),
            Ok(Some(state)) => Err(BackupError::failed(format!(
                "bucket {} has versioning {state}: every overwritten shred ledger would stay \
                 readable as an old version, and with it the keys of purged cases. Use a bucket \
                 that never had versioning turned on",
                self.s3.location().bucket
            ))),
            // Said once, in the log (stderr for the command line, the journal for a
            // server's scheduled backup).
            Err(e) => {
                tracing::warn!(target_location = %self.location(), error = %e,
                    "WARNING: cannot tell whether this bucket keeps old versions; if it does, purged cases stay recoverable from its backups");
                Ok(())
            }
        }
    }

    /// An existing target; an error when the prefix holds no casevault backups.
    pub fn open(location: &str, access: &S3Access) -> Result<S3Target, BackupError> {
        let t = Self::connect(location, access)?;
        if t.vault_id()?.is_none() {
            return Err(BackupError::failed(format!(
                "{} holds no casevault backups",
                t.location()
            )));
        }
        Ok(t)
    }

    /// A target for a new backup: only an empty prefix (or one holding only what an
    /// interrupted first run left) becomes one.
    pub fn create(location: &str, access: &S3Access) -> Result<S3Target, BackupError> {
        let t = Self::connect(location, access)?;
        if t.vault_id()?.is_none() {
            let foreign = t
                .s3
                .list("")
                .map_err(|e| s3_err("listing the target", e))?
                .into_iter()
                .any(|(k, _, _)| {
                    let rest = k
                        .strip_prefix(&t.s3.location().prefix)
                        .unwrap_or(&k)
                        .trim_start_matches('/');
                    !(rest.starts_with("blobs/") || rest.starts_with("backups/") || rest == "lock")
                });
            if foreign {
                return Err(BackupError::failed(format!(
                    "{} is not empty and holds no casevault backups: give an empty or new prefix",
                    t.location()
                )));
            }
        }
        Ok(t)
    }

    fn key(&self, rest: &str) -> ObjPath {
        self.s3.location().key(rest)
    }

    fn get(&self, rest: &str) -> Result<Option<Bytes>, BackupError> {
        match self.s3.get_whole(self.key(rest)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(s3_err(&format!("reading {rest}"), e)),
        }
    }

    fn put(&self, rest: &str, bytes: &[u8]) -> Result<(), BackupError> {
        self.s3
            .put_whole(self.key(rest), Bytes::copy_from_slice(bytes))
            .map_err(|e| s3_err(&format!("writing {rest}"), e))
    }

    /// Streams `fill`'s bytes to `rest`, hashed; the object appears on commit.
    fn write(
        &self,
        rest: &str,
        fill: &mut dyn FnMut(&mut dyn Write) -> Result<(), BackupError>,
    ) -> Result<(u64, [u8; 32]), BackupError> {
        let mut w = HashingWriter::new(self.s3.writer(self.key(rest), None));
        fill(&mut w)?;
        let (size, digest) = (w.size(), w.digest());
        let inner: S3Writer = w.into_inner();
        inner
            .commit()
            .map_err(|e| s3_err(&format!("writing {rest}"), e))?;
        Ok((size, digest))
    }

    fn reader(&self, rest: &str) -> Result<TargetReader, BackupError> {
        Ok(Box::new(
            self.s3
                .reader(self.key(rest))
                .map_err(|e| s3_err(&format!("opening {rest}"), e))?,
        ))
    }

    fn delete(&self, rest: &str) -> Result<(), BackupError> {
        self.s3
            .delete_key(self.key(rest))
            .map_err(|e| s3_err(&format!("removing {rest}"), e))
    }

    /// Keys under `rest/`, relative to the prefix.
    fn names(&self, rest: &str) -> Result<Vec<String>, BackupError> {
        let prefix = self.s3.location().prefix.clone();
        Ok(self
            .s3
            .list(rest)
            .map_err(|e| s3_err(&format!("listing {rest}"), e))?
            .into_iter()
            .map(|(k, _, _)| {
                k.strip_prefix(&prefix)
                    .unwrap_or(&k)
                    .trim_start_matches('/')
                    .to_string()
            })
            .collect())
    }
}

/// The S3 lock: an object made only if absent, holding a random token; removed on
/// drop only while it still holds ours.
struct S3Lock {
    s3: Arc<S3Blobs>,
    key: ObjPath,
    token: String,
}

impl Drop for S3Lock {
    fn drop(&mut self) {
        let ours = self
            .s3
            .get_whole(self.key.clone())
            .is_ok_and(|b| b.as_ref() == self.token.as_bytes());
        if !ours {
            tracing::warn!("a backup target's lock was taken over while held");
            return;
        }
        if let Err(e) = self.s3.delete_key(self.key.clone()) {
            tracing::warn!(error = %e, "releasing a backup target's lock failed; it goes stale in 6 hours");
        }
    }
}

impl Target for S3Target {
    fn location(&self) -> String {
        self.s3.location().url()
    }

    fn vault_id(&self) -> Result<Option<String>, BackupError> {
        Ok(self.get(MARKER)?.and_then(|b| {
            String::from_utf8_lossy(&b)
                .lines()
                .find_map(|l| l.strip_prefix("vault "))
                .map(|v| v.trim().to_string())
        }))
    }

    fn put_marker(&self, vault: &str) -> Result<(), BackupError> {
        {
            let text = format!(
                "casevault backup target\nvault {vault}\n\
                     Everything here is encrypted. Restore with:\n  \
                     casevault restore --from s3://BUCKET/PREFIX --s3-endpoint URL --identity YOUR_BACKUP_KEY --data NEW_DIRECTORY\n"
            );
            self.put(MARKER, text.as_bytes())
        }
    }

    fn lock(&self, wait: bool) -> Result<Option<TargetLock>, BackupError> {
        let key = self.key("lock");
        let deadline = std::time::Instant::now() + Duration::from_secs(600);
        loop {
            let token = format!(
                "locked by casevault pid {} {}\n",
                std::process::id(),
                crate::crypto::hex(&crate::crypto::random_bytes::<16>())
            );
            let made = self
                .s3
                .put_new(key.clone(), Bytes::from(token.clone().into_bytes()))
                .map_err(|e| s3_err("taking the target's lock", e))?;
            let held = made
                && self
                    .s3
                    .get_whole(key.clone())
                    .is_ok_and(|b| b.as_ref() == token.as_bytes());
            if held {
                return Ok(Some(TargetLock::new(Box::new(S3Lock {
                    s3: self.s3.clone(),
                    key,
                    token,
                }))));
            }
            let stale = self
                .s3
                .age_of(key.clone())
                .is_ok_and(|age| age > STALE_LOCK);
            if stale {
                tracing::warn!(target_location = %self.location(), "taking over a backup lock older than 6 hours");
                let _ = self.s3.delete_key(key.clone());
                continue;
            }
            if !wait || std::time::Instant::now() > deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_secs(2));
        }
    }

    fn blob_size(&self, name: &BlobName) -> Option<u64> {
        self.s3
            .size_of(self.key(&format!("blobs/{}", name.as_str())))
            .ok()
    }

    fn put_blob(
        &self,
        name: &BlobName,
        from: &mut dyn Read,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(u64, [u8; 32]), BackupError> {
        let rest = format!("blobs/{}", name.as_str());
        self.write(&rest, &mut |w| {
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = from.read(&mut buf).map_err(|e| {
                    BackupError::failed(format!("reading blob {}: {e}", name.as_str()))
                })?;
                if n == 0 {
                    return Ok(());
                }
                w.write_all(&buf[..n])
                    .map_err(|e| s3_err(&format!("writing {rest}"), e))?;
                progress(n as u64);
            }
        })
    }

    fn open_blob(&self, name: &BlobName) -> Result<TargetReader, BackupError> {
        self.reader(&format!("blobs/{}", name.as_str()))
    }

    fn blob_names(&self) -> Result<Vec<BlobName>, BackupError> {
        Ok(self
            .names("blobs")?
            .iter()
            .filter_map(|k| k.strip_prefix("blobs/").and_then(BlobName::parse))
            .collect())
    }

    fn remove_blob(&self, name: &BlobName) -> Result<(), BackupError> {
        self.delete(&format!("blobs/{}", name.as_str()))
    }

    fn put_snapshot(
        &self,
        id: &str,
        fill: &mut dyn FnMut(&mut dyn Write) -> Result<(), BackupError>,
    ) -> Result<(u64, [u8; 32]), BackupError> {
        self.write(&format!("backups/{id}/{SNAPSHOT}"), fill)
    }

    fn open_snapshot(&self, id: &str) -> Result<TargetReader, BackupError> {
        self.reader(&format!("backups/{id}/{SNAPSHOT}"))
    }

    fn put_manifest(&self, id: &str, bytes: &[u8]) -> Result<(), BackupError> {
        self.put(&format!("backups/{id}/{MANIFEST}"), bytes)
    }

    fn manifest(&self, id: &str) -> Result<Option<Vec<u8>>, BackupError> {
        Ok(self
            .get(&format!("backups/{id}/{MANIFEST}"))?
            .map(|b| b.to_vec()))
    }

    fn backup_ids(&self) -> Result<(Vec<String>, Vec<String>), BackupError> {
        let mut seen = std::collections::BTreeMap::<String, bool>::new();
        for k in self.names("backups")? {
            let mut parts = k.split('/').skip(1);
            let (Some(id), Some(file)) = (parts.next(), parts.next()) else {
                continue;
            };
            if !valid_backup_id(id) {
                continue;
            }
            *seen.entry(id.to_string()).or_default() |= file == MANIFEST;
        }
        let (complete, partial): (Vec<_>, Vec<_>) = seen.into_iter().partition(|(_, m)| *m);
        Ok((
            complete.into_iter().map(|(id, _)| id).collect(),
            partial.into_iter().map(|(id, _)| id).collect(),
        ))
    }

    fn remove_backup(&self, id: &str) -> Result<(), BackupError> {
        self.delete(&format!("backups/{id}/{MANIFEST}"))?;
        for k in self.names(&format!("backups/{id}"))? {
            self.delete(&k)?;
        }
        Ok(())
    }

    fn sweep_temporary(&self) -> Result<usize, BackupError> {
        // Nothing in a bucket is temporary: an object is whole or absent.
        Ok(0)
    }

    fn ledger_slots(&self) -> Result<[Option<Vec<u8>>; 2], BackupError> {
        Ok([
            self.get("ledger.0")?.map(|b| b.to_vec()),
            self.get("ledger.1")?.map(|b| b.to_vec()),
        ])
    }

    fn overwrite_ledger_slot(&self, slot: usize, bytes: &[u8]) -> Result<(), BackupError> {
        self.put(&format!("ledger.{slot}"), bytes)
    }
}
