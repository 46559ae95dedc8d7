//! Decrypted case and document metadata kept in the unsealed office's memory, so that a
//! page of cases or a document list costs no public-key operation once seen.
//!
//! Invariants: the cache lives inside the office's [`crate::vault::Unsealed`] keys, so sealing
//! (by hand, idle or at shutdown) drops it with them; every plaintext is `Zeroizing`;
//! an entry is served only for the very ciphertext it came from (its SHA-256 is the
//! entry's tag), so a changed row is decrypted afresh; a purge drops the case's
//! entries after its commit, and an entry cached by a read that raced the purge is
//! dropped by the read itself (the row is looked up again after the insert, as
//! `case_key` does). Bounded in entries (past [`MAX_ENTRIES`] an office's cache
//! starts over) and in bytes across the whole vault ([`MAX_BYTES`], counted on one
//! counter that every office's cache shares): a case with thousands of long notes
//! cannot make the cache hold more than that, whatever is read.
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use zeroize::Zeroizing;

use crate::store::CaseRow;
use crate::vault::{Vault, VaultError};

/// Entries (case metadata plus document metadata) kept per office at most.
pub(in crate::vault) const MAX_ENTRIES: usize = 20_000;

/// Plaintext bytes kept by the caches of all offices together, at most.
pub(in crate::vault) const MAX_BYTES: usize = 64 << 20;

/// The vault-wide count of bytes the office caches hold.
pub(in crate::vault) type ByteBudget = Arc<AtomicUsize>;

type Plain = Arc<Zeroizing<Vec<u8>>>;

/// Which sealed field of a case.
#[derive(Clone, Copy)]
pub(in crate::vault) enum Part<'a> {
    /// The case's metadata.
    Meta,
    /// A document's metadata (filename, type, size).
    Doc(&'a str),
    /// A note, an event or an earlier version of the case's details, by its id (the
    /// id of a version is `v` and its number). These go only with their case.
    Item(&'a str),
}

#[derive(Default)]
struct CaseEntry {
    meta: Option<([u8; 32], Plain)>,
    docs: HashMap<String, ([u8; 32], Plain)>,
}

/// The cache of one unsealed office.
#[derive(Default)]
pub(in crate::vault) struct PlainCache {
    cases: HashMap<String, CaseEntry>,
    entries: usize,
    /// Bytes this cache holds (also counted in `budget`).
    bytes: usize,
    budget: ByteBudget,
}

impl Drop for PlainCache {
    fn drop(&mut self) {
        self.budget.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

impl PlainCache {
    /// An empty cache counting its bytes on the vault's `budget`.
    pub(in crate::vault) fn new(budget: ByteBudget) -> Self {
        PlainCache {
            cases: HashMap::new(),
            entries: 0,
            bytes: 0,
            budget,
        }
    }

    fn clear(&mut self) {
        self.cases.clear();
        self.entries = 0;
        self.budget.fetch_sub(self.bytes, Ordering::Relaxed);
        self.bytes = 0;
    }

    /// Counts `n` more bytes held, or says there is no room for them.
    fn reserve(&mut self, n: usize) -> bool {
        let total = self.budget.fetch_add(n, Ordering::Relaxed) + n;
        if total > MAX_BYTES {
            self.budget.fetch_sub(n, Ordering::Relaxed);
            return false;
        }
        self.bytes += n;
        true
    }

    fn release(&mut self, n: usize) {
        self.bytes = self.bytes.saturating_sub(n);
        self.budget.fetch_sub(n, Ordering::Relaxed);
    }

    fn get(&self, case: &str, part: Part<'_>, tag: &[u8; 32]) -> Option<Plain> {
        let e = self.cases.get(case)?;
        let (t, p) = match part {
            Part::Meta => e.meta.as_ref()?,
            Part::Doc(d) | Part::Item(d) => e.docs.get(d)?,
        };
        (t == tag).then(|| p.clone())
    }

    fn put(&mut self, case: &str, part: Part<'_>, tag: [u8; 32], plain: Plain) {
        if self.entries >= MAX_ENTRIES {
            self.clear();
        }
        let size = plain.len();
        // Full: this office starts over; if the other offices' caches still fill the
        // budget, this plaintext is simply not kept (the next read decrypts again).
        if !self.reserve(size) {
            self.clear();
            if !self.reserve(size) {
                return;
            }
        }
        let e = self.cases.entry(case.to_owned()).or_default();
        let old = match part {
            Part::Meta => e.meta.replace((tag, plain)),
            Part::Doc(d) | Part::Item(d) => e.docs.insert(d.to_owned(), (tag, plain)),
        };
        match old {
            None => self.entries += 1,
            Some((_, p)) => self.release(p.len()),
        }
    }

    /// Drops a case's entries (or one document's).
    pub(in crate::vault) fn forget(&mut self, case: &str, doc: Option<&str>) {
        match doc {
            None => {
                if let Some(e) = self.cases.remove(case) {
                    self.entries = self
                        .entries
                        .saturating_sub(e.docs.len() + usize::from(e.meta.is_some()));
                    let freed = e.docs.values().map(|(_, p)| p.len()).sum::<usize>()
                        + e.meta.as_ref().map_or(0, |(_, p)| p.len());
                    self.release(freed);
                }
            }
            Some(d) => {
                if let Some(e) = self.cases.get_mut(case)
                    && let Some((_, p)) = e.docs.remove(d)
                {
                    self.entries = self.entries.saturating_sub(1);
                    let n = p.len();
                    self.release(n);
                }
            }
        }
    }

    /// Entries held (tests).
    #[cfg(test)]
    pub(in crate::vault) fn len(&self) -> usize {
        self.entries
    }

    /// Bytes held (tests).
    #[cfg(test)]
    fn held(&self) -> usize {
        self.bytes
    }
}

impl Vault {
    /// The plaintext of one of the case's sealed fields, from the office's cache or
    /// decrypted with the case key (and then cached). `OfficeSealed` when it is sealed.
    pub(in crate::vault) fn open_sealed(
        &self,
        case: &CaseRow,
        part: Part<'_>,
        ciphertext: &[u8],
    ) -> Result<Plain, VaultError> {
        let office = self
            .use_keys(&case.office)
            .ok_or_else(|| VaultError::OfficeSealed(case.office.clone()))?;
        let tag = crate::crypto::sha256(ciphertext);
        let lock = || office.plain.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = lock().get(&case.id, part, &tag) {
            return Ok(p);
        }
        let plain: Plain = Arc::new(self.case_key(case)?.open(ciphertext)?);
        lock().put(&case.id, part, tag, plain.clone());
        // A purge that committed while this read decrypted has already dropped the
        // case's entries; look again so that what this read just put back goes too.
        let still_there = self.db.read(|tx| match part {
            Part::Meta | Part::Item(_) => tx.case(&case.id).map(|c| c.is_some()),
            Part::Doc(d) => tx.document(&case.id, d).map(|c| c.is_some()),
        });
        match still_there {
            Ok(true) => Ok(plain),
            Ok(false) => {
                lock().forget(
                    &case.id,
                    match part {
                        Part::Meta | Part::Item(_) => None,
                        Part::Doc(d) => Some(d),
                    },
                );
                Err(VaultError::NotFound)
            }
            Err(e) => {
                lock().forget(&case.id, None);
                Err(e.into())
            }
        }
    }

    /// Drops what the office's cache holds of a case (or of one document), after a
    /// purge's commit. No use of the office's keys.
    pub(in crate::vault) fn forget_plain(&self, office: &str, case: &str, doc: Option<&str>) {
        if let Some(u) = self.keys_in_memory(office) {
            u.plain
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .forget(case, doc);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(b: &[u8]) -> Plain {
        Arc::new(Zeroizing::new(b.to_vec()))
    }

    #[test]
    fn a_changed_ciphertext_misses_and_forget_drops_entries() {
        let mut c = PlainCache::default();
        c.put("c1", Part::Meta, [1; 32], plain(b"m"));
        c.put("c1", Part::Doc("d1"), [2; 32], plain(b"d"));
        assert!(c.get("c1", Part::Meta, &[1; 32]).is_some());
        assert!(
            c.get("c1", Part::Meta, &[9; 32]).is_none(),
            "tag must match"
        );
        assert_eq!(c.len(), 2);
        c.forget("c1", Some("d1"));
        assert!(c.get("c1", Part::Doc("d1"), &[2; 32]).is_none());
        assert_eq!(c.len(), 1);
        c.forget("c1", None);
        assert!(c.get("c1", Part::Meta, &[1; 32]).is_none());
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn bounded() {
        let mut c = PlainCache::default();
        for i in 0..(MAX_ENTRIES + 10) {
            c.put(&format!("c{i}"), Part::Meta, [0; 32], plain(b"x"));
        }
        assert!(c.len() <= MAX_ENTRIES);
    }

    #[test]
    fn bounded_in_bytes_across_offices_and_given_back_when_dropped() {
        let budget = ByteBudget::default();
        let mut a = PlainCache::new(budget.clone());
        let mut b = PlainCache::new(budget.clone());
        let big = plain(&vec![7u8; 1 << 20]);
        for i in 0..100 {
            a.put("c", Part::Item(&format!("n{i}")), [0; 32], big.clone());
            b.put("c", Part::Item(&format!("n{i}")), [0; 32], big.clone());
            assert!(budget.load(Ordering::Relaxed) <= MAX_BYTES);
        }
        assert_eq!(budget.load(Ordering::Relaxed), a.held() + b.held());
        a.forget("c", None);
        assert_eq!(a.held(), 0);
        assert_eq!(budget.load(Ordering::Relaxed), b.held());
        drop(b);
        assert_eq!(budget.load(Ordering::Relaxed), 0);
    }
}
