//! A backup target on a file system: a directory (a mounted USB disk, a NAS share).
//!
//! Layout:
//! ```text
//! TARGET/casevault-backup     which vault's backups these are (its id), in the clear
//! TARGET/lock                 held (flock) by whoever writes here
//! TARGET/ledger.0, ledger.1   the shred ledger, two copies, each overwritten in place
//! TARGET/blobs/NAME           document payloads (ciphertext), shared by every backup
//! TARGET/backups/ID/vault.db.age   the database snapshot
//! TARGET/backups/ID/manifest       written last: a backup exists once this does
//! ```
//! Invariants: every file but the ledger appears by an atomic rename after fsync, so
//! a crash leaves a temporary file (swept later) and never a partial file under a
//! real name; the ledger is never replaced by a rename, only overwritten in place over
//! at least its old length, so its old bytes are not left behind in a free block of
//! an ordinary file system.
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::crypto::{hex, random_bytes};
use crate::store::BlobName;

use super::target::{Target, TargetLock, TargetReader, io_err, valid_backup_id};
use super::{BackupError, hashing::HashingWriter};

const MARKER: &str = "casevault-backup";
const MANIFEST: &str = "manifest";
const SNAPSHOT: &str = "vault.db.age";
const TMP_PREFIX: &str = ".tmp-";

/// A directory target.
#[derive(Debug, Clone)]
pub struct DirTarget {
    root: PathBuf,
}

impl DirTarget {
    /// Creates the directory if needed (for `create`).
    pub fn create(root: &Path) -> Result<DirTarget, BackupError> {
        fs::create_dir_all(root).map_err(|e| io_err("cannot create", root, e))?;
        let root = fs::canonicalize(root).map_err(|e| io_err("cannot open", root, e))?;
        let t = DirTarget { root };
        if t.vault_id()?.is_none() {
            // Not a target yet: only an empty directory (or one an interrupted first
            // run left) becomes one, so a backup never mixes with, or prunes, files
            // that are not its own.
            let foreign = fs::read_dir(&t.root)
                .map_err(|e| io_err("cannot list", &t.root, e))?
                .flatten()
                .any(|e| {
                    let n = e.file_name();
                    !matches!(n.to_str(), Some("blobs" | "backups" | "lock"))
                        && !n.to_str().is_some_and(|n| n.starts_with(TMP_PREFIX))
                });
            if foreign {
                return Err(BackupError::failed(format!(
                    "{} is not empty and holds no casevault backups: give an empty or new directory",
                    t.root.display()
                )));
            }
        }
        for sub in ["blobs", "backups"] {
            let d = t.root.join(sub);
            fs::create_dir_all(&d).map_err(|e| io_err("cannot create", &d, e))?;
        }
        t.check_layout()?;
        Ok(t)
    }

    /// Refuses a target whose parts are symbolic links (or not what they should be):
    /// a backup writes, and prune deletes, only inside the target itself.
    fn check_layout(&self) -> Result<(), BackupError> {
        for (name, dir) in [
            ("blobs", true),
            ("backups", true),
            ("ledger.0", false),
            ("ledger.1", false),
            (MARKER, false),
            ("lock", false),
        ] {
            let p = self.root.join(name);
            match fs::symlink_metadata(&p) {
                Ok(m)
                    if m.file_type().is_symlink()
                        || (dir && !m.is_dir())
                        || (!dir && !m.is_file()) =>
                {
                    return Err(BackupError::failed(format!(
                        "{} is a symbolic link or not a plain {}: refused",
                        p.display(),
                        if dir { "directory" } else { "file" }
                    )));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// An existing target (for `list`, `verify`, `prune`, `restore` and the ledger
    /// refresh); an error when the directory holds no casevault backups.
    pub fn open(root: &Path) -> Result<DirTarget, BackupError> {
        let t = DirTarget {
            root: fs::canonicalize(root).map_err(|e| io_err("cannot open", root, e))?,
        };
        if t.vault_id()?.is_none() {
            return Err(BackupError::failed(format!(
                "{} holds no casevault backups",
                root.display()
            )));
        }
        t.check_layout()?;
        Ok(t)
    }

    /// Writes `bytes` to `rel` atomically (temporary file, fsync, rename, fsync dir).
    fn put_file(&self, rel: &Path, bytes: &[u8]) -> Result<(), BackupError> {
        let dest = self.root.join(rel);
        let mut w = self.new_file(&dest)?;
        w.write_all(bytes)
            .map_err(|e| io_err("cannot write", &dest, e))?;
        w.commit()?;
        Ok(())
    }

    /// Starts a file that appears at `dest` only on [`NewFile::commit`].
    fn new_file(&self, dest: &Path) -> Result<NewFile, BackupError> {
        let dir = dest.parent().unwrap_or(&self.root).to_path_buf();
        let tmp = dir.join(format!("{TMP_PREFIX}{}", hex(&random_bytes::<8>())));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| io_err("cannot create", &tmp, e))?;
        Ok(NewFile {
            w: HashingWriter::new(io::BufWriter::with_capacity(256 * 1024, file)),
            tmp,
            dest: dest.to_path_buf(),
            dir,
            done: false,
        })
    }

    fn blob_path(&self, name: &BlobName) -> PathBuf {
        self.root.join("blobs").join(name.as_str())
    }

    fn backup_dir(&self, id: &str) -> PathBuf {
        self.root.join("backups").join(id)
    }

    fn ledger_path(&self, slot: usize) -> PathBuf {
        self.root.join(format!("ledger.{slot}"))
    }
}

impl Target for DirTarget {
    /// The absolute directory.
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    /// The id of the vault whose backups these are, if any.
    fn vault_id(&self) -> Result<Option<String>, BackupError> {
        let p = self.root.join(MARKER);
        match fs::read_to_string(&p) {
            Ok(s) => Ok(s
                .lines()
                .find_map(|l| l.strip_prefix("vault "))
                .map(|v| v.trim().to_string())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("cannot read", &p, e)),
        }
    }

    fn put_marker(&self, vault: &str) -> Result<(), BackupError> {
        {
            let text = format!(
                "casevault backup target\nvault {vault}\n\
                     Everything here is encrypted. Restore with:\n  \
                     casevault restore --from THIS_DIRECTORY --identity YOUR_BACKUP_KEY --data NEW_DIRECTORY\n"
            );
            self.put_file(Path::new(MARKER), text.as_bytes())
        }
    }

    /// Takes the target's lock, waiting for it (`wait`) or failing at once.
    fn lock(&self, wait: bool) -> Result<Option<TargetLock>, BackupError> {
        let p = self.root.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .map_err(|e| io_err("cannot open", &p, e))?;
        let op = if wait {
            rustix::fs::FlockOperation::LockExclusive
        } else {
            rustix::fs::FlockOperation::NonBlockingLockExclusive
        };
        match rustix::fs::flock(&file, op) {
            Ok(()) => Ok(Some(TargetLock::new(Box::new(file)))),
            Err(rustix::io::Errno::WOULDBLOCK) if !wait => Ok(None),
            Err(e) => Err(io_err("cannot lock", &p, e.into())),
        }
    }

    /// The size of the target's copy of a blob, if it has one.
    fn blob_size(&self, name: &BlobName) -> Option<u64> {
        fs::metadata(self.blob_path(name)).ok().map(|m| m.len())
    }

    /// Copies a blob in; returns its size and SHA-256.
    fn put_blob(
        &self,
        name: &BlobName,
        from: &mut dyn Read,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(u64, [u8; 32]), BackupError> {
        let dest = self.blob_path(name);
        let mut w = self.new_file(&dest)?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = from
                .read(&mut buf)
                .map_err(|e| BackupError::failed(format!("reading blob {}: {e}", name.as_str())))?;
            if n == 0 {
                break;
            }
            w.write_all(&buf[..n])
                .map_err(|e| io_err("cannot write", &dest, e))?;
            progress(n as u64);
        }
        w.commit()
    }

    /// Opens the target's copy of a blob.
    fn open_blob(&self, name: &BlobName) -> Result<TargetReader, BackupError> {
        let p = self.blob_path(name);
        Ok(Box::new(
            File::open(&p).map_err(|e| io_err("cannot open", &p, e))?,
        ))
    }

    /// Every blob name the target holds.
    fn blob_names(&self) -> Result<Vec<BlobName>, BackupError> {
        let d = self.root.join("blobs");
        let mut out = Vec::new();
        for e in fs::read_dir(&d).map_err(|e| io_err("cannot list", &d, e))? {
            let e = e.map_err(|e| io_err("cannot list", &d, e))?;
            if let Some(n) = e.file_name().to_str().and_then(BlobName::parse) {
                out.push(n);
            }
        }
        Ok(out)
    }

    /// Removes one blob (pruning).
    fn remove_blob(&self, name: &BlobName) -> Result<(), BackupError> {
        let p = self.blob_path(name);
        match fs::remove_file(&p) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err("cannot remove", &p, e)),
            _ => Ok(()),
        }
    }

    /// Writes a backup's snapshot through `fill`, which gets the file to write the age
    /// stream into; returns its size and SHA-256. The backup is not listed yet.
    fn put_snapshot(
        &self,
        id: &str,
        fill: &mut dyn FnMut(&mut dyn Write) -> Result<(), BackupError>,
    ) -> Result<(u64, [u8; 32]), BackupError> {
        let dir = self.backup_dir(id);
        fs::create_dir_all(&dir).map_err(|e| io_err("cannot create", &dir, e))?;
        let mut w = self.new_file(&dir.join(SNAPSHOT))?;
        fill(&mut w)?;
        w.commit()
    }

    /// Opens a backup's snapshot.
    fn open_snapshot(&self, id: &str) -> Result<TargetReader, BackupError> {
        let p = self.backup_dir(id).join(SNAPSHOT);
        Ok(Box::new(
            File::open(&p).map_err(|e| io_err("cannot open", &p, e))?,
        ))
    }

    /// Publishes a backup: its manifest appears, atomically, last.
    fn put_manifest(&self, id: &str, bytes: &[u8]) -> Result<(), BackupError> {
        self.put_file(&Path::new("backups").join(id).join(MANIFEST), bytes)
    }

    /// A backup's manifest bytes (None: no such complete backup).
    fn manifest(&self, id: &str) -> Result<Option<Vec<u8>>, BackupError> {
        let p = self.backup_dir(id).join(MANIFEST);
        match fs::read(&p) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("cannot read", &p, e)),
        }
    }

    /// The ids of the complete backups (a manifest present), oldest first; and the
    /// ids of incomplete ones (interrupted runs).
    fn backup_ids(&self) -> Result<(Vec<String>, Vec<String>), BackupError> {
        let d = self.root.join("backups");
        let (mut complete, mut partial) = (Vec::new(), Vec::new());
        for e in fs::read_dir(&d).map_err(|e| io_err("cannot list", &d, e))? {
            let e = e.map_err(|e| io_err("cannot list", &d, e))?;
            let Some(id) = e.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if !valid_backup_id(&id) || e.file_type().map_or(true, |t| !t.is_dir()) {
                continue;
            }
            if e.path().join(MANIFEST).exists() {
                complete.push(id);
            } else {
                partial.push(id);
            }
        }
        complete.sort();
        partial.sort();
        Ok((complete, partial))
    }

    /// Removes a backup's directory (its manifest first, so it is unlisted at once).
    fn remove_backup(&self, id: &str) -> Result<(), BackupError> {
        let dir = self.backup_dir(id);
        let _ = fs::remove_file(dir.join(MANIFEST));
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err("cannot remove", &dir, e)),
            _ => Ok(()),
        }
    }

    /// Removes temporary files an interrupted run left (only under the lock).
    fn sweep_temporary(&self) -> Result<usize, BackupError> {
        let mut n = 0;
        for d in [self.root.clone(), self.root.join("blobs")] {
            for e in fs::read_dir(&d).map_err(|e| io_err("cannot list", &d, e))? {
                let e = e.map_err(|e| io_err("cannot list", &d, e))?;
                if e.file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with(TMP_PREFIX))
                {
                    let _ = fs::remove_file(e.path());
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    /// The two ledger copies as stored (None: absent).
    fn ledger_slots(&self) -> Result<[Option<Vec<u8>>; 2], BackupError> {
        let read = |slot| {
            let p = self.ledger_path(slot);
            match fs::read(&p) {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io_err("cannot read", &p, e)),
            }
        };
        Ok([read(0)?, read(1)?])
    }

    /// Overwrites one ledger copy in place: the new bytes go over the old ones from
    /// offset 0, and the file keeps at least its old length (the tail filled with
    /// random bytes), then fsync. Never a rename: the old blocks are the new ones.
    fn overwrite_ledger_slot(&self, slot: usize, bytes: &[u8]) -> Result<(), BackupError> {
        let p = self.ledger_path(slot);
        #[cfg(unix)]
        use std::os::unix::fs::OpenOptionsExt;
        let mut opts = OpenOptions::new();
        opts.read(true).write(true).create(true).truncate(false);
        // Never through a symbolic link: the overwrite stays inside the target.
        #[cfg(unix)]
        opts.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
        let mut f = opts.open(&p).map_err(|e| io_err("cannot open", &p, e))?;
        if !f.metadata().is_ok_and(|m| m.is_file()) {
            return Err(BackupError::failed(format!(
                "{} is not a plain file: refused",
                p.display()
            )));
        }
        let old = f.metadata().map(|m| m.len()).unwrap_or(0);
        let werr = |e| io_err("cannot write", &p, e);
        f.seek(SeekFrom::Start(0)).map_err(werr)?;
        f.write_all(bytes).map_err(werr)?;
        let mut at = bytes.len() as u64;
        while at < old {
            let fill = random_bytes::<4096>();
            let n = usize::try_from((old - at).min(4096)).unwrap_or(4096);
            f.write_all(&fill[..n]).map_err(werr)?;
            at += n as u64;
        }
        f.sync_all().map_err(werr)?;
        sync_dir(&self.root);
        Ok(())
    }
}

/// A file being written under a temporary name, hashed as it goes.
struct NewFile {
    w: HashingWriter<io::BufWriter<File>>,
    tmp: PathBuf,
    dest: PathBuf,
    dir: PathBuf,
    done: bool,
}

impl Write for NewFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.w.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

impl NewFile {
    /// fsync, rename into place, fsync the directory; returns size and SHA-256.
    fn commit(mut self) -> Result<(u64, [u8; 32]), BackupError> {
        self.w
            .flush()
            .map_err(|e| io_err("cannot write", &self.tmp, e))?;
        let (size, digest) = (self.w.size(), self.w.digest());
        self.w
            .get_ref()
            .get_ref()
            .sync_all()
            .map_err(|e| io_err("cannot write", &self.tmp, e))?;
        fs::rename(&self.tmp, &self.dest).map_err(|e| io_err("cannot rename", &self.dest, e))?;
        self.done = true;
        sync_dir(&self.dir);
        Ok((size, digest))
    }
}

impl Drop for NewFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}
