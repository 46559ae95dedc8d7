//! The blob store: a directory of age payloads behind a narrow put/get/delete
//! interface (so an object store can stand behind it).
//!
//! Invariants: names are random (never derived from content, case or filename) and
//! validated before use, so no path can be smuggled in; a blob becomes visible only by
//! an atomic rename after fsync, so a crash never leaves a partial document under a
//! real name. Only ciphertext ever passes through here.
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::crypto::{hex, random_bytes};

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

    fn random() -> Self {
        BlobName(hex(&random_bytes::<16>()))
    }

    /// The name as stored in the database.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The blob directory.
#[derive(Clone, Debug)]
pub struct BlobStore {
    dir: PathBuf,
}

const TMP_PREFIX: &str = ".tmp-";

impl BlobStore {
    /// Opens (creating) the blob directory.
    pub fn open(dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        Ok(BlobStore {
            dir: dir.to_path_buf(),
        })
    }

    /// Starts a new blob: writes go to a temporary file in the same directory.
    pub fn create(&self) -> io::Result<BlobWriter> {
        let tmp = self
            .dir
            .join(format!("{TMP_PREFIX}{}", hex(&random_bytes::<16>())));
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        Ok(BlobWriter {
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

    /// The directory (for tests and diagnostics).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// A blob being written. Dropped without [`BlobWriter::commit`], its temporary file
/// is removed.
pub struct BlobWriter {
    file: Option<io::BufWriter<File>>,
    tmp: PathBuf,
    dir: PathBuf,
}

impl BlobWriter {
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

impl Write for BlobWriter {
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

impl Drop for BlobWriter {
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
        let store = BlobStore::open(dir.path()).unwrap();
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
