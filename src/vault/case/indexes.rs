//! The blind indexes of a case's details: its A-number, its full client name and each
//! word of the client name, all under the office's index key. Every writer of a case's
//! indexes (opening, editing, the unseal that indexes cases opened while sealed, a key
//! rotation) computes them here, so they never disagree about what is indexed. (Search
//! reads the A-number's and the words'; the full name's is still written and rotated,
//! though a search by a whole name now goes through its words.)
//!
//! Invariant: only keyed HMAC values leave this module; the name and its words stay in
//! memory.
use crate::crypto::{ANumber, BlindIndexKey};
use crate::store::CaseIndexes;
use crate::vault::case::cases::CaseMeta;

/// A case's blind indexes, computed.
pub(in crate::vault) struct Indexes {
    a_number: Option<Vec<u8>>,
    client_name: Vec<u8>,
    name_tokens: Vec<Vec<u8>>,
}

impl Indexes {
    /// The indexes of `meta` under `key`.
    pub(in crate::vault) fn of(meta: &CaseMeta, key: &BlindIndexKey) -> Self {
        Indexes {
            a_number: meta
                .a_number
                .as_deref()
                .and_then(ANumber::parse)
                .map(|a| key.a_number(&a)),
            client_name: key.client_name(&meta.client_name),
            name_tokens: key.name_tokens(&meta.client_name),
        }
    }

    /// As the store writes them.
    pub(in crate::vault) fn row(&self) -> CaseIndexes<'_> {
        CaseIndexes {
            a_number: self.a_number.as_deref(),
            client_name: &self.client_name,
            name_tokens: &self.name_tokens,
        }
    }
}
