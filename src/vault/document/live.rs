//! Downloads that stop when their keys leave memory. A document opened for reading
//! keeps its own copy of the file key for as long as it streams; without this, a
//! seal (panic, idle or by hand), an office purge or a case purge would wipe the
//! keyring and still let every download already in flight run to its end.
//!
//! Invariant: a [`DocumentStream`] yields plaintext only while the exact office keys
//! and case key it was opened with are still in the keyring; it checks before every
//! read and, once they are gone, fails every read after. It holds only weak
//! references, so it keeps no key alive.
use crate::store::BlobReader;
use std::io::{self, BufReader, Read};
use std::sync::{Arc, Weak};

use crate::crypto::{CaseKey, DocumentReader};
use crate::vault::{Unsealed, Vault};

/// The keys an open document was opened with.
pub(in crate::vault) struct KeyLease {
    office: String,
    case: String,
    office_keys: Weak<Unsealed>,
    case_key: Weak<CaseKey>,
}

impl Vault {
    /// A lease on the office's keys as they are now and on `key`, the case's cached
    /// key; `None` when the office is sealed already. Reads the keyring without
    /// counting as a use of the keys.
    pub(in crate::vault) fn lease(
        &self,
        office: &str,
        case: &str,
        key: &Arc<CaseKey>,
    ) -> Option<KeyLease> {
        let ring = self.keyring.read().unwrap_or_else(|p| p.into_inner());
        let office_keys = Arc::downgrade(ring.get(office)?);
        Some(KeyLease {
            office: office.to_owned(),
            case: case.to_owned(),
            office_keys,
            case_key: Arc::downgrade(key),
        })
    }

    /// Whether the leased keys are still the ones in memory: the office unsealed with
    /// the same keys (a seal and a new unseal end the lease too) and the case key
    /// still cached (a case purge drops it). The weak references keep the allocations,
    /// so a pointer can never be reused by another key while the lease exists. A
    /// download that goes on decrypting is a use of the office's keys, for the idle
    /// auto-seal, like any other read.
    fn lease_holds(&self, lease: &KeyLease) -> bool {
        let ring = self.keyring.read().unwrap_or_else(|p| p.into_inner());
        let Some(keys) = ring.get(&lease.office) else {
            return false;
        };
        if !std::ptr::eq(Arc::as_ptr(keys), lease.office_keys.as_ptr()) {
            return false;
        }
        let held = keys
            .cases
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&lease.case)
            .is_some_and(|k| std::ptr::eq(Arc::as_ptr(k), lease.case_key.as_ptr()));
        if held {
            keys.last_used
                .store(self.clock.unix(), std::sync::atomic::Ordering::Relaxed);
        }
        held
    }
}

/// A document's plaintext as it streams out (see the module invariant).
pub struct DocumentStream {
    inner: Option<DocumentReader<BufReader<BlobReader>>>,
    vault: Arc<Vault>,
    lease: KeyLease,
}

impl DocumentStream {
    pub(in crate::vault) fn new(
        inner: DocumentReader<BufReader<BlobReader>>,
        vault: Arc<Vault>,
        lease: KeyLease,
    ) -> Self {
        DocumentStream {
            inner: Some(inner),
            vault,
            lease,
        }
    }
}

/// The error a stream answers once its keys are gone.
pub fn keys_gone() -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        "the office was sealed or the case purged while the document streamed",
    )
}

impl Read for DocumentStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.inner.is_some() && !self.vault.lease_holds(&self.lease) {
            // Drops the reader and its copy of the file key at once.
            self.inner = None;
        }
        match self.inner.as_mut() {
            Some(r) => r.read(buf),
            None => Err(keys_gone()),
        }
    }
}
