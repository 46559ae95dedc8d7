//! The shred ledger: the only copy, outside the live vault, of the keys a backup
//! needs. It holds every backup's snapshot identity and every live case's, document's
//! and office's shred key; it is encrypted to the target's backup recipient.
//!
//! Invariants: a purged or retention-deleted case has no entry in any ledger written
//! after its purge, and a restore drops whatever has no entry; the ledger is written
//! as two copies, the older one first, so a crash mid-write leaves the other intact
//! and a reader takes the newest copy that decrypts; both copies are overwritten in
//! place, never renamed over.
use age::secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::BackupError;
use super::target::Target;
use crate::crypto::{self, BackupIdentity, ShredKey};
use crate::store::ShredKind;

const MAGIC: &[u8] = b"CVLEDGER\x01";

/// One backup's entry.
pub struct LedgerBackup {
    /// The backup's id.
    pub id: String,
    /// The age identity its snapshot is encrypted to.
    pub identity: SecretString,
    /// SHA-256 of its manifest (a forged manifest does not match).
    pub manifest_sha256: [u8; 32],
}

/// One shred key.
pub struct LedgerKey {
    /// Whose.
    pub kind: ShredKind,
    /// Slug or id.
    pub owner: String,
    /// The key.
    pub key: ShredKey,
}

/// The ledger's content.
pub struct Ledger {
    /// The vault whose backups these are.
    pub vault: String,
    /// Grows by one at every write.
    pub generation: u64,
    /// Backups.
    pub backups: Vec<LedgerBackup>,
    /// Shred keys.
    pub keys: Vec<LedgerKey>,
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&s.as_bytes()[..usize::from(len)]);
}

/// A cursor over the decrypted bytes; every read is bounds-checked.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], BackupError> {
        if self.0.len() < n {
            return Err(BackupError::failed("the shred ledger is malformed"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u16(&mut self) -> Result<usize, BackupError> {
        let b = self.take(2)?;
        Ok(usize::from(u16::from_be_bytes([b[0], b[1]])))
    }
    fn u32(&mut self) -> Result<usize, BackupError> {
        let b = self.take(4)?;
        usize::try_from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .map_err(|_| BackupError::failed("the shred ledger is malformed"))
    }
    fn str(&mut self) -> Result<&'a str, BackupError> {
        let n = self.u16()?;
        std::str::from_utf8(self.take(n)?)
            .map_err(|_| BackupError::failed("the shred ledger is malformed"))
    }
    fn key(&mut self) -> Result<[u8; 32], BackupError> {
        let mut k = [0u8; 32];
        k.copy_from_slice(self.take(32)?);
        Ok(k)
    }
}

impl Ledger {
    /// The plaintext (in a buffer wiped on drop).
    fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(64 + self.keys.len() * 72));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.generation.to_be_bytes());
        put_str(&mut out, &self.vault);
        out.extend_from_slice(&u32::try_from(self.backups.len()).unwrap_or(0).to_be_bytes());
        for b in &self.backups {
            put_str(&mut out, &b.id);
            put_str(&mut out, b.identity.expose_secret());
            out.extend_from_slice(&b.manifest_sha256);
        }
        out.extend_from_slice(&u32::try_from(self.keys.len()).unwrap_or(0).to_be_bytes());
        for k in &self.keys {
            out.push(match k.kind {
                ShredKind::Office => 0,
                ShredKind::Case => 1,
                ShredKind::Document => 2,
                ShredKind::Holder => 3,
            });
            put_str(&mut out, &k.owner);
            out.extend_from_slice(k.key.as_bytes());
        }
        out
    }

    fn decode(b: &[u8]) -> Result<Ledger, BackupError> {
        let mut c = Cursor(b);
        if c.take(MAGIC.len())? != MAGIC {
            return Err(BackupError::failed("the shred ledger is malformed"));
        }
        let g = c.take(8)?;
        let generation = u64::from_be_bytes([g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]]);
        let vault = c.str()?.to_string();
        let n = c.u32()?;
        let mut backups = Vec::with_capacity(n.min(100_000));
        for _ in 0..n {
            backups.push(LedgerBackup {
                id: c.str()?.to_string(),
                identity: SecretString::from(c.str()?.to_string()),
                manifest_sha256: c.key()?,
            });
        }
        let n = c.u32()?;
        let mut keys = Vec::with_capacity(n.min(1_000_000));
        for _ in 0..n {
            let kind = match c.take(1)?[0] {
                0 => ShredKind::Office,
                1 => ShredKind::Case,
                2 => ShredKind::Document,
                3 => ShredKind::Holder,
                _ => return Err(BackupError::failed("the shred ledger is malformed")),
            };
            let owner = c.str()?.to_string();
            let key = ShredKey::from_bytes(&Zeroizing::new(c.key()?)[..])
                .map_err(|_| BackupError::failed("the shred ledger is malformed"))?;
            keys.push(LedgerKey { kind, owner, key });
        }
        Ok(Ledger {
            vault,
            generation,
            backups,
            keys,
        })
    }

    /// The key of an owner, if the ledger still holds it.
    pub fn key(&self, kind: ShredKind, owner: &str) -> Option<&ShredKey> {
        self.keys
            .iter()
            .find(|k| k.kind == kind && k.owner == owner)
            .map(|k| &k.key)
    }
}

/// Parses a stored copy's clear header, `casevault-ledger 1 gen=N len=L sha256=H\n`:
/// the generation, where the age file starts, its length, and whether its SHA-256
/// matches (what `verify` checks without the identity).
fn slot_header(bytes: &[u8]) -> Option<(u64, usize, usize, bool)> {
    let end = bytes.iter().take(192).position(|&b| b == b'\n')?;
    let line = std::str::from_utf8(&bytes[..end]).ok()?;
    let rest = line.strip_prefix("casevault-ledger 1 gen=")?;
    let (g, rest) = rest.split_once(" len=")?;
    let (l, h) = rest.split_once(" sha256=")?;
    let (gen_, len) = (g.parse().ok()?, l.parse::<usize>().ok()?);
    let body = bytes.get(end + 1..end + 1 + len)?;
    Some((
        gen_,
        end + 1,
        len,
        crate::crypto::hex(&crate::crypto::sha256(body)) == h,
    ))
}

/// The generation each stored copy claims (0 when absent or unreadable).
fn slot_generations(target: &dyn Target) -> Result<[u64; 2], BackupError> {
    let slots = target.ledger_slots()?;
    Ok([0, 1].map(|i| {
        slots[i]
            .as_deref()
            .and_then(slot_header)
            .map_or(0, |(g, _, _, _)| g)
    }))
}

/// Writes `ledger` to the target, sealed to `recipient`, as the next generation:
/// the older copy first, then the other.
pub fn write(target: &dyn Target, ledger: &mut Ledger, recipient: &str) -> Result<(), BackupError> {
    let gens = slot_generations(target)?;
    ledger.generation = gens[0].max(gens[1]) + 1;
    let sealed = crypto::seal_to(recipient, &ledger.encode())
        .map_err(|_| BackupError::failed("cannot encrypt the shred ledger"))?;
    let mut bytes = format!(
        "casevault-ledger 1 gen={} len={} sha256={}\n",
        ledger.generation,
        sealed.len(),
        crate::crypto::hex(&crate::crypto::sha256(&sealed))
    )
    .into_bytes();
    bytes.extend_from_slice(&sealed);
    let first = if gens[0] <= gens[1] { 0 } else { 1 };
    target.overwrite_ledger_slot(first, &bytes)?;
    target.overwrite_ledger_slot(1 - first, &bytes)
}

/// Reads the newest copy of the ledger that decrypts with `identity`.
pub fn read(target: &dyn Target, identity: &BackupIdentity) -> Result<Ledger, BackupError> {
    let mut best: Option<Ledger> = None;
    for bytes in target.ledger_slots()?.into_iter().flatten() {
        let Some((_, start, len, _)) = slot_header(&bytes) else {
            continue;
        };
        let Ok(plain) = identity.decrypt(&bytes[start..start + len]) else {
            continue;
        };
        if let Ok(l) = Ledger::decode(&plain)
            && best.as_ref().is_none_or(|b| l.generation > b.generation)
        {
            best = Some(l);
        }
    }
    best.ok_or_else(|| {
        BackupError::failed(format!(
            "the shred ledger at {} cannot be read with this identity (wrong key, or both copies damaged)",
            target.location()
        ))
    })
}

/// Whether each stored copy is intact (its clear header parses and the SHA-256 it
/// names matches the age file after it); what `verify` can tell without the
/// identity.
pub fn slots_well_formed(target: &dyn Target) -> Result<[bool; 2], BackupError> {
    let slots = target.ledger_slots()?;
    Ok([0, 1].map(|i| {
        slots[i].as_deref().is_some_and(|b| {
            slot_header(b).is_some_and(|(_, start, len, hash_ok)| {
                hash_ok && age::Decryptor::new_buffered(&b[start..start + len]).is_ok()
            })
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::target::DirTarget;

    fn ledger() -> Ledger {
        Ledger {
            vault: "vault-1".into(),
            generation: 0,
            backups: vec![LedgerBackup {
                id: "20261202T101010Z-000000".into(),
                identity: BackupIdentity::generate().to_secret_string(),
                manifest_sha256: [7; 32],
            }],
            keys: vec![LedgerKey {
                kind: ShredKind::Case,
                owner: "case-1".into(),
                key: ShredKey::generate(),
            }],
        }
    }

    #[test]
    fn written_twice_read_newest_and_one_torn_copy_is_survived() {
        let dir = tempfile::tempdir().unwrap();
        let t = DirTarget::create(dir.path()).unwrap();
        let id = BackupIdentity::generate();
        let mut l = ledger();
        write(&t, &mut l, &id.recipient()).unwrap();
        l.keys.clear();
        write(&t, &mut l, &id.recipient()).unwrap();
        let back = read(&t, &id).unwrap();
        assert_eq!(back.generation, 2);
        assert!(
            back.key(ShredKind::Case, "case-1").is_none(),
            "the newest copy wins"
        );
        assert_eq!(back.backups[0].manifest_sha256, [7; 32]);
        // Both copies hold the new generation: no copy keeps the old key.
        for b in t.ledger_slots().unwrap().into_iter().flatten() {
            assert_eq!(slot_header(&b).unwrap().0, 2);
        }
        // A torn copy: the other one is read.
        std::fs::write(
            dir.path().join("ledger.0"),
            b"casevault-ledger 1 gen=9 len=4\nxxxx",
        )
        .unwrap();
        assert_eq!(read(&t, &id).unwrap().generation, 2);
        assert_eq!(slots_well_formed(&t).unwrap(), [false, true]);
        // Another identity reads nothing.
        assert!(read(&t, &BackupIdentity::generate()).is_err());
    }

    #[test]
    fn a_shorter_ledger_overwrites_the_whole_old_length() {
        let dir = tempfile::tempdir().unwrap();
        let t = DirTarget::create(dir.path()).unwrap();
        let id = BackupIdentity::generate();
        let mut l = ledger();
        for i in 0..500 {
            l.keys.push(LedgerKey {
                kind: ShredKind::Document,
                owner: format!("doc-{i}"),
                key: ShredKey::generate(),
            });
        }
        write(&t, &mut l, &id.recipient()).unwrap();
        let long = std::fs::metadata(dir.path().join("ledger.1"))
            .unwrap()
            .len();
        l.keys.truncate(1);
        write(&t, &mut l, &id.recipient()).unwrap();
        assert_eq!(
            std::fs::metadata(dir.path().join("ledger.1"))
                .unwrap()
                .len(),
            long
        );
        assert_eq!(read(&t, &id).unwrap().keys.len(), 1);
    }
}
