//! The blob store: age payloads behind a narrow put/get/delete/sweep interface, in a
//! directory (the default) or an S3-compatible object store ([`super::s3`]).
//!
//! Invariants: names are random (never derived from content, case or filename) and
//! validated before use, so no path can be smuggled in; a blob becomes visible only
//! whole (a rename after fsync; a completed upload), so a crash never leaves a partial
//! document under a real name. Only ciphertext ever passes through here.
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::s3::{S3Blobs, S3Writer};
use crate::crypto::{hex, random_bytes};

/// The store could not be reached (or kept failing past its retries): the request
/// may succeed later. Carried inside an [`io::Error`]; see [`is_unavailable`].
#[derive(Debug, thiserror::Error)]
#[error("the blob store is unavailable: {0}")]
pub struct Unavailable(String);

/// An [`io::Error`] that says the store is unavailable.
pub fn unavailable(detail: String) -> io::Error {
    io::Error::other(Unavailable(detail))
}

/// Whether `e` says the store is unavailable (rather than a fault of ours).
pub fn is_unavailable(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|i| i.is::<Unavailable>())
}

/// A blob being read.
pub type BlobReader = Box<dyn Read + Send>;

/// A validated blob name (32 lower-case hex characters).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BlobName(String);

impl BlobName {
    /// Validates a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| BlobName(s.to_string()))
    }

    pub(crate) fn random() -> Self {
        BlobName(hex(&random_bytes::<16>()))
    }

    /// The name as stored in the database.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where blobs live.
#[derive(Clone, Debug)]
pub enum BlobStore {
    /// A directory on this machine.
    Local(LocalBlobs),
    /// An S3-compatible object store.
    S3(Arc<S3Blobs>),
}

impl BlobStore {
    /// Opens (creating) a blob directory.
    pub fn open(dir: &Path) -> io::Result<Self> {
        LocalBlobs::open(dir).map(BlobStore::Local)
    }

    /// Starts a new blob.
    pub fn create(&self) -> io::Result<BlobWriter> {
        match self {
            BlobStore::Local(l) => l.create().map(BlobWriter::Local),
            BlobStore::S3(s) => {
                let (name, w) = s.create();
                Ok(BlobWriter::S3(w, name))
            }
        }
    }

    /// Opens a blob for reading.
    pub fn open_blob(&self, name: &BlobName) -> io::Result<BlobReader> {
        Ok(match self {
            BlobStore::Local(l) => Box::new(l.open_blob(name)?),
            BlobStore::S3(s) => Box::new(s.open(name)?),
        })
    }

    /// A blob's size in bytes.
    pub fn size(&self, name: &BlobName) -> io::Result<u64> {
        match self {
            BlobStore::Local(l) => Ok(l.open_blob(name)?.metadata()?.len()),
            BlobStore::S3(s) => s.size(name),
        }
    }

    /// Removes a blob; a missing one is not an error (deletion is idempotent).
    pub fn delete(&self, name: &BlobName) -> io::Result<()> {
        match self {
            BlobStore::Local(l) => l.delete(name),
            BlobStore::S3(s) => s.delete(name),
        }
    }

    /// Removes what a crash or an interrupted upload left and blobs no row names.
    /// The directory is swept only when the server starts (a temporary file there may
    /// be an upload under way); the object store any time, since it leaves alone
    /// whatever is younger than its grace period. Returns how many were removed.
    pub fn sweep(&self, is_referenced: impl Fn(&BlobName) -> bool) -> io::Result<usize> {
        match self {
            BlobStore::Local(l) => l.sweep(is_referenced),
            BlobStore::S3(s) => s.sweep(is_referenced),
        }
    }

    /// Whether [`BlobStore::sweep`] may run while uploads are under way.
    pub fn sweeps_while_serving(&self) -> bool {
        matches!(self, BlobStore::S3(_))
    }

    /// Where the blobs are, for messages (`DATA/blobs`, `s3://BUCKET/PREFIX`).
    pub fn describe(&self) -> String {
        match self {
            BlobStore::Local(l) => l.dir.display().to_string(),
            BlobStore::S3(s) => s.location().url(),
        }
    }
}

/// A blob being written. Dropped without [`BlobWriter::commit`], nothing of it stays.
pub enum BlobWriter {
    /// To a temporary file.
    Local(LocalWriter),
    /// To an object store, under the name it gets once complete.
    S3(S3Writer, BlobName),
}

impl BlobWriter {
    /// Makes the blob whole under a fresh random name.
    pub fn commit(self) -> io::Result<BlobName> {
        match self {
            BlobWriter::Local(w) => w.commit(),
            BlobWriter::S3(w, name) => w.commit().map(|()| name),
        }
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            BlobWriter::Local(w) => w.write(buf),
            BlobWriter::S3(w, _) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            BlobWriter::Local(w) => w.flush(),
            BlobWriter::S3(w, _) => w.flush(),
        }
    }
}

/// The blob directory.
#[derive(Clone, Debug)]
pub struct LocalBlobs {
    dir: PathBuf,
}

const TMP_PREFIX: &str = ".tmp-";

impl LocalBlobs {
    /// Opens (creating) the blob directory.
    pub fn open(dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        Ok(LocalBlobs {
            dir: dir.to_path_buf(),
        })
    }

    /// Starts a new blob: writes go to a temporary file in the same directory.
    pub fn create(&self) -> io::Result<LocalWriter> {
        let tmp = self
            .dir
            .join(format!("{TMP_PREFIX}{}", hex(&random_bytes::<16>())));
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        Ok(LocalWriter {
            file: Some(io::BufWriter::with_capacity(256 * 1024, file)),
            tmp,
            dir: self.dir.clone(),
        })
    }

    /// Opens a blob for reading.
    pub fn open_blob(&self, name: &BlobName) -> io::Result<File> {
        File::open(self.dir.join(&name.0))
    }

    /// Unlinks a blob; a missing one is not an error (deletion is idempotent).
    pub fn delete(&self, name: &BlobName) -> io::Result<()> {
        match fs::remove_file(self.dir.join(&name.0)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Removes temporary files left by a crash and blobs no row refers to. Returns
    /// how many files were removed.
    pub fn sweep(&self, is_referenced: impl Fn(&BlobName) -> bool) -> io::Result<usize> {
        let mut removed = 0;
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let orphan = if name.starts_with(TMP_PREFIX) {
                true
            } else if let Some(b) = BlobName::parse(name) {
                !is_referenced(&b)
            } else {
                false
            };
            if orphan {
                fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// A blob being written to the directory. Dropped without [`LocalWriter::commit`],
/// its temporary file is removed.
pub struct LocalWriter {
    file: Option<io::BufWriter<File>>,
    tmp: PathBuf,
    dir: PathBuf,
}

impl LocalWriter {
    /// fsyncs the data, renames it to a fresh random name and fsyncs the directory.
    pub fn commit(mut self) -> io::Result<BlobName> {
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("blob already committed"))?;
        let file = file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        let name = BlobName::random();
        fs::rename(&self.tmp, self.dir.join(&name.0))?;
        File::open(&self.dir)?.sync_all()?;
        Ok(name)
    }
}

impl Write for LocalWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("blob already committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for LocalWriter {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert!(BlobName::parse("0123456789abcdef0123456789abcdef").is_some());
        for bad in [
            "../etc/passwd",
            "0123456789ABCDEF0123456789abcdef",
            "",
            "abc",
        ] {
            assert!(BlobName::parse(bad).is_none());
        }
    }

    #[test]
    fn uncommitted_blob_leaves_nothing_and_sweep_removes_orphans() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobs::open(dir.path()).unwrap();
        {
            let mut w = store.create().unwrap();
            w.write_all(b"partial").unwrap();
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        let mut w = store.create().unwrap();
        w.write_all(b"kept").unwrap();
        let kept = w.commit().unwrap();
        let mut w = store.create().unwrap();
        w.write_all(b"orphan").unwrap();
        let orphan = w.commit().unwrap();
        let removed = store.sweep(|n| n == &kept).unwrap();
        assert_eq!(removed, 1);
        assert!(store.open_blob(&kept).is_ok());
        assert!(store.open_blob(&orphan).is_err());
    }
}
