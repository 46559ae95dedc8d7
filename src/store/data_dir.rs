//! The data directory as a whole: whether it can be used at all, and who serves it.
//!
//! Invariants: a server starts only on a data directory it can read and write (the
//! database, its WAL and the blob directory), and says plainly what is wrong
//! otherwise, never "holds no vault" for a directory it merely cannot read; and only
//! one server serves a data directory at a time (an exclusive `flock` on
//! `DATA/serve.lock`, held for the server's whole life and released by the kernel when
//! the process ends, however it ends), so a panic seal of one server can never leave
//! a second one serving the same vault unsealed. The command line's other commands do
//! not take this lock.
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use super::DB_FILE;

/// The lock file a server holds.
pub const SERVE_LOCK: &str = "serve.lock";

/// What a data directory holds, as far as can be told.
#[derive(Debug, PartialEq, Eq)]
pub enum DirState {
    /// The database file is there.
    HasVault,
    /// The directory does not exist, or exists without a database.
    NoVault,
}

/// Why a data directory cannot be used, in words for the person at the terminal.
fn cannot(what: &str, path: &Path, e: &io::Error) -> String {
    let why = match e.kind() {
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        io::ErrorKind::ReadOnlyFilesystem => "the file system is read-only".to_owned(),
        _ => e.to_string(),
    };
    format!(
        "cannot {what} {}: {why}. casevault needs to read and write its data directory: check its owner and permissions (and that the disk is mounted read-write)",
        path.display()
    )
}

/// Whether `dir` holds a vault; an error (in words) when it cannot be told because
/// the directory cannot be read.
pub fn state(dir: &Path) -> Result<DirState, String> {
    match std::fs::read_dir(dir) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(DirState::NoVault),
        Err(e) => return Err(cannot("read", dir, &e)),
    }
    let db = dir.join(DB_FILE);
    match std::fs::metadata(&db) {
        Ok(_) => Ok(DirState::HasVault),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(DirState::NoVault),
        Err(e) => Err(cannot("read", &db, &e)),
    }
}

/// Checks that the database, the directory (where SQLite makes `-wal` and `-shm`)
/// and `blobs` (a local blob directory, if any) can be written, by writing: the
/// permission bits do not tell (root, ACLs, a read-only mount).
///
/// Only before this process opens the database: it opens and closes the database file,
/// and closing a descriptor of it drops every POSIX lock the process holds on it
/// (SQLite's too).
pub fn check_writable(dir: &Path, blobs: Option<&Path>) -> Result<(), String> {
    let db = dir.join(DB_FILE);
    if db.exists() {
        OpenOptions::new()
            .read(true)
            .write(true)
            .open(&db)
            .map_err(|e| cannot("write to", &db, &e))?;
    }
    probe(dir)?;
    if let Some(b) = blobs.filter(|b| b.exists()) {
        probe(b)?;
    }
    Ok(())
}

/// Makes and removes a file in `dir` (never the database: see [`super::Db::writable`]).
pub(super) fn probe(dir: &Path) -> Result<(), String> {
    let p = dir.join(".casevault-write-check");
    let _ = std::fs::remove_file(&p);
    let r = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&p)
        .and_then(|mut f| f.write_all(b"ok").and_then(|()| f.sync_all()));
    let _ = std::fs::remove_file(&p);
    r.map_err(|e| cannot("write to", dir, &e))
}

/// The exclusive claim of one server on a data directory; released when dropped or
/// when the process ends.
#[derive(Debug)]
pub struct ServeLock {
    _file: File,
    path: PathBuf,
}

impl ServeLock {
    /// Takes the lock, or says who holds it: "this vault is already being served
    /// (pid N)".
    pub fn acquire(dir: &Path) -> Result<ServeLock, String> {
        let path = dir.join(SERVE_LOCK);
        let mut opts = OpenOptions::new();
        opts.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut file = opts
            .open(&path)
            .map_err(|e| cannot("write to", &path, &e))?;
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => {
                let mut held = String::new();
                let _ = file.read_to_string(&mut held);
                let pid = held.trim();
                return Err(if pid.is_empty() {
                    format!(
                        "this vault ({}) is already being served by another casevault",
                        dir.display()
                    )
                } else {
                    format!(
                        "this vault ({}) is already being served (pid {pid}); stop that server first, or give this one another --data",
                        dir.display()
                    )
                });
            }
            Err(e) => return Err(cannot("lock", &path, &e.into())),
        }
        // Ours: say who holds it (for the message above), nothing else.
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .and_then(|()| file.sync_all())
            .map_err(|e| cannot("write to", &path, &e))?;
        Ok(ServeLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_server_is_refused_with_the_first_ones_pid_and_may_start_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = ServeLock::acquire(dir.path()).unwrap();
        let err = ServeLock::acquire(dir.path()).unwrap_err();
        assert!(
            err.contains("already being served")
                && err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        ServeLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn a_missing_directory_holds_no_vault_and_an_empty_one_is_writable() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(state(&dir.path().join("nope")).unwrap(), DirState::NoVault);
        assert_eq!(state(dir.path()).unwrap(), DirState::NoVault);
        check_writable(dir.path(), None).unwrap();
        assert!(!dir.path().join(".casevault-write-check").exists());
    }
}
