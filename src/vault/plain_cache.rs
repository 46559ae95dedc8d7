//! Decrypted case and document metadata kept in the unsealed office's memory, so that a
//! page of cases or a document list costs no public-key operation once seen.
//!
//! Invariants: the cache lives inside the office's [`super::Unsealed`] keys, so sealing
//! (by hand, idle or at shutdown) drops it with them; every plaintext is `Zeroizing`;
//! an entry is served only for the very ciphertext it came from (its SHA-256 is the
//! entry's tag), so a changed row is decrypted afresh; a purge drops the case's
//! entries after its commit, and an entry cached by a read that raced the purge is
//! dropped by the read itself (the row is looked up again after the insert, as
//! `case_key` does). Bounded: past [`MAX_ENTRIES`] the cache starts over.
use std::collections::HashMap;
use std::sync::Arc;

use zeroize::Zeroizing;

use super::{Vault, VaultError};
use crate::store::CaseRow;

/// Entries (case metadata plus document metadata) kept per office at most.
pub(super) const MAX_ENTRIES: usize = 20_000;

type Plain = Arc<Zeroizing<Vec<u8>>>;

/// Which sealed field of a case.
#[derive(Clone, Copy)]
pub(super) enum Part<'a> {
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
pub(super) struct PlainCache {
    cases: HashMap<String, CaseEntry>,
    entries: usize,
}

impl PlainCache {
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
            self.cases.clear();
            self.entries = 0;
        }
        let e = self.cases.entry(case.to_owned()).or_default();
        let old = match part {
            Part::Meta => e.meta.replace((tag, plain)),
            Part::Doc(d) | Part::Item(d) => e.docs.insert(d.to_owned(), (tag, plain)),
        };
        if old.is_none() {
            self.entries += 1;
        }
    }

    /// Drops a case's entries (or one document's).
    pub(super) fn forget(&mut self, case: &str, doc: Option<&str>) {
        match doc {
            None => {
                if let Some(e) = self.cases.remove(case) {
                    self.entries = self
                        .entries
                        .saturating_sub(e.docs.len() + usize::from(e.meta.is_some()));
                }
            }
            Some(d) => {
                if let Some(e) = self.cases.get_mut(case)
                    && e.docs.remove(d).is_some()
                {
                    self.entries = self.entries.saturating_sub(1);
                }
            }
        }
    }

    /// Entries held (tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries
    }
}

impl Vault {
    /// The plaintext of one of the case's sealed fields, from the office's cache or
    /// decrypted with the case key (and then cached). `OfficeSealed` when it is sealed.
    pub(super) fn open_sealed(
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
    pub(super) fn forget_plain(&self, office: &str, case: &str, doc: Option<&str>) {
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
}
