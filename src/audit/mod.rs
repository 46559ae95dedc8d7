//! The tamper-evident audit log.
//!
//! Each entry is chained: `hash = SHA-256(prev_hash || canonical(entry))`, where the
//! canonical encoding is every field length-prefixed, so no two different entries
//! encode alike. Entries carry ids only — never names, A-numbers, filenames, codes or
//! addresses. Appends happen inside the caller's transaction: an action whose entry
//! cannot be written does not happen.
use crate::store::{AuditRow, Db, StoreError, WriteTx};

mod export;
pub use export::{ExportError, export_jsonl};

/// The hash that precedes entry 1.
pub const GENESIS: [u8; 32] = [0u8; 32];

/// What to record (the chain fields are added by [`append`]).
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// Actor id (user id, `-` for anonymous, `cli` for the command line).
    pub actor: &'a str,
    /// Actor role.
    pub role: &'a str,
    /// Action name (`case.read`, `login`, …).
    pub action: &'a str,
    /// Target ids, space separated `kind:id` tokens.
    pub target: &'a str,
    /// `allow` / `deny`.
    pub decision: &'a str,
    /// Outcome (`ok`, a reason code).
    pub outcome: &'a str,
}

fn canonical(prev: &[u8], seq: i64, time: &str, e: &Entry<'_>) -> [u8; 32] {
    let mut buf = Vec::with_capacity(256);
    buf.extend_from_slice(prev);
    buf.extend_from_slice(&seq.to_be_bytes());
    for field in [
        time, e.actor, e.role, e.action, e.target, e.decision, e.outcome,
    ] {
        buf.extend_from_slice(&(field.len() as u64).to_be_bytes());
        buf.extend_from_slice(field.as_bytes());
    }
    crate::crypto::sha256(&buf)
}

/// Appends an entry in the caller's transaction; returns its sequence number.
pub fn append(tx: &WriteTx<'_>, time: &str, e: &Entry<'_>) -> Result<i64, StoreError> {
    let (seq, prev) = match tx.audit_head()? {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_vec()),
    };
    let hash = canonical(&prev, seq, time, e);
    tx.audit_insert(&AuditRow {
        seq,
        time: time.to_string(),
        actor: e.actor.to_string(),
        role: e.role.to_string(),
        action: e.action.to_string(),
        target: e.target.to_string(),
        decision: e.decision.to_string(),
        outcome: e.outcome.to_string(),
        hash: hash.to_vec(),
    })?;
    Ok(seq)
}

/// Result of verifying the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every entry holds; `head` is the newest `(seq, hash)` (None for an empty log).
    Intact {
        /// Number of entries checked.
        entries: u64,
        /// Newest entry.
        head: Option<(i64, Vec<u8>)>,
    },
    /// The first entry that does not hold, and why.
    Broken {
        /// Sequence number of the first bad entry.
        seq: i64,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Recomputes the chain from the start, streaming (flat memory). When `expect` is
/// given, the chain must contain that exact `(seq, hash)`: a log rewritten or
/// truncated before that point is caught.
pub fn verify(db: &Db, expect: Option<(i64, Vec<u8>)>) -> Result<Verdict, StoreError> {
    db.read(|tx| {
        let mut prev = GENESIS.to_vec();
        let mut expected_seq = 1i64;
        let mut bad: Option<(i64, &'static str)> = None;
        let mut entries = 0u64;
        let mut last: Option<(i64, Vec<u8>)> = None;
        tx.audit_scan(0, |row| {
            if row.seq != expected_seq {
                // A gap (deleted row) or a jump: the first bad one is the missing seq.
                bad = Some((expected_seq, "missing or out-of-order entry"));
                return false;
            }
            let e = Entry {
                actor: &row.actor,
                role: &row.role,
                action: &row.action,
                target: &row.target,
                decision: &row.decision,
                outcome: &row.outcome,
            };
            let h = canonical(&prev, row.seq, &row.time, &e);
            if h[..] != row.hash[..] {
                bad = Some((row.seq, "hash does not match contents"));
                return false;
            }
            prev = row.hash.clone();
            entries += 1;
            expected_seq += 1;
            last = Some((row.seq, row.hash));
            true
        })?;
        if let Some((seq, reason)) = bad {
            return Ok(Verdict::Broken { seq, reason });
        }
        if let Some((eseq, ehash)) = expect {
            let ok = match &last {
                Some((lseq, _)) if *lseq < eseq => false,
                _ => {
                    // The expected entry must be present with that exact hash.
                    let mut found = None;
                    tx.audit_scan(eseq - 1, |row| {
                        found = Some(row.hash);
                        false
                    })?;
                    found.as_deref() == Some(&ehash[..])
                }
            };
            if !ok {
                let seq = match &last {
                    Some((lseq, _)) if *lseq < eseq => lseq + 1,
                    _ => eseq,
                };
                return Ok(Verdict::Broken {
                    seq,
                    reason: "does not match the expected head",
                });
            }
        }
        Ok(Verdict::Intact {
            entries,
            head: last,
        })
    })
}

/// Parses `SEQ:HASH` (hash in hex).
pub fn parse_head(s: &str) -> Option<(i64, Vec<u8>)> {
    let (seq, hash) = s.trim().split_once(':')?;
    let seq: i64 = seq.parse().ok()?;
    if hash.len() != 64 {
        return None;
    }
    let bytes = (0..32)
        .map(|i| u8::from_str_radix(hash.get(i * 2..i * 2 + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    Some((seq, bytes))
}

/// Formats `SEQ:HASH`.
pub fn format_head(seq: i64, hash: &[u8]) -> String {
    format!("{seq}:{}", crate::crypto::hex(hash))
}
