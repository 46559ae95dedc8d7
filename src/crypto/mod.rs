//! The whole key hierarchy in one place: office identity → case identity → document.
//!
//! Everything is the age format (X25519 recipients, scrypt for the office passphrase).
//! Invariant: secret key material only lives in types that zeroize on drop and print
//! `[redacted]`; errors are coarse so that they never tell which check failed.
mod blind;
mod docstream;
mod holder;
mod name_fold;
mod pad;
mod secretbox;
mod shares;

use std::io::{Read, Write};
use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};
use age::x25519;
use zeroize::Zeroizing;

pub use blind::{ANumber, BlindIndexKey, normalise_name};
pub use docstream::{DocumentReader, DocumentWriter, split_header};
pub use holder::{HolderKey, prf_salt};
pub use name_fold::{MAX_NAME_TOKENS, count_name_tokens, fold_name, name_tokens};
pub use pad::padme;
pub(crate) use secretbox::fill_random;
pub use secretbox::{AuthKey, ShredKey, random_bytes, random_token};
pub use shares::{MAX_SHARES, RecoverySecret, Share, ShareError, set_name};

/// Errors of the crypto layer. Deliberately coarse.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The input did not decrypt with the key given (wrong key, wrong passphrase,
    /// tampered or mismatched header and payload).
    #[error("decryption failed")]
    DecryptionFailed,
    /// A key or recipient string was not valid.
    #[error("invalid key")]
    InvalidKey,
    /// Reading or writing the underlying storage failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// An office's age X25519 identity: the root of everything the office holds.
pub struct OfficeKey {
    identity: x25519::Identity,
}

impl std::fmt::Debug for OfficeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OfficeKey([redacted])")
    }
}

impl OfficeKey {
    /// A fresh random office identity.
    pub fn generate() -> Self {
        OfficeKey {
            identity: x25519::Identity::generate(),
        }
    }

    /// Parses an `AGE-SECRET-KEY-1…` string (the office-held mode's unseal input).
    pub fn parse(s: &SecretString) -> Result<Self, CryptoError> {
        let identity = x25519::Identity::from_str(s.expose_secret().trim())
            .map_err(|_| CryptoError::InvalidKey)?;
        Ok(OfficeKey { identity })
    }

    /// The public recipient (`age1…`).
    pub fn recipient(&self) -> String {
        self.identity.to_public().to_string()
    }

    /// The identity as an `AGE-SECRET-KEY-1…` string, for handing to the office once.
    pub fn to_secret_string(&self) -> SecretString {
        self.identity.to_string()
    }

    /// Wraps this identity under a passphrase (age scrypt) with a fixed work factor.
    pub fn wrap_with_passphrase(
        &self,
        passphrase: &SecretString,
        log_n: u8,
    ) -> Result<Vec<u8>, CryptoError> {
        wrap_identity(&self.identity, passphrase, log_n)
    }

    /// Unwraps an identity stored with [`OfficeKey::wrap_with_passphrase`], refusing
    /// any file that demands more than `max_log_n` of scrypt work.
    pub fn unwrap_with_passphrase(
        wrapped: &[u8],
        passphrase: &SecretString,
        max_log_n: u8,
    ) -> Result<Self, CryptoError> {
        Ok(OfficeKey {
            identity: unwrap_identity(wrapped, passphrase, max_log_n)?,
        })
    }

    /// Opens a case identity that was wrapped to this office.
    pub fn unwrap_case(&self, wrapped: &[u8]) -> Result<CaseKey, CryptoError> {
        let plain = decrypt_with(&self.identity, wrapped)?;
        let s = std::str::from_utf8(&plain).map_err(|_| CryptoError::DecryptionFailed)?;
        let identity =
            x25519::Identity::from_str(s.trim()).map_err(|_| CryptoError::DecryptionFailed)?;
        Ok(CaseKey { identity })
    }

    /// The office's blind-index key, derived with HKDF from the identity.
    pub fn index_key(&self) -> BlindIndexKey {
        let secret = self.identity.to_string();
        BlindIndexKey::derive(secret.expose_secret().as_bytes())
    }
}

/// A case's age X25519 identity. Held in memory only while its office is unsealed.
pub struct CaseKey {
    identity: x25519::Identity,
}

impl std::fmt::Debug for CaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CaseKey([redacted])")
    }
}

/// A newly made case key, wrapped for storage.
pub struct NewCase {
    /// The case identity, wrapped (age) to the office recipient.
    pub wrapped_identity: Vec<u8>,
    /// The case's public recipient.
    pub recipient: String,
}

impl CaseKey {
    /// Makes a case identity and wraps it to the office recipient; only public keys
    /// are needed, so this works while the office is sealed. The secret half is
    /// dropped (and wiped) at once.
    pub fn create(office_recipient: &str) -> Result<NewCase, CryptoError> {
        let office = parse_recipient(office_recipient)?;
        let identity = x25519::Identity::generate();
        let secret = identity.to_string();
        let wrapped_identity = encrypt_to(&office, secret.expose_secret().as_bytes())?;
        Ok(NewCase {
            wrapped_identity,
            recipient: identity.to_public().to_string(),
        })
    }

    /// Decrypts a small age file (case metadata, document metadata) to this case.
    pub fn open(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        decrypt_with(&self.identity, ciphertext)
    }

    /// The identity as seen by age, for streaming decryption.
    pub(crate) fn age_identity(&self) -> &x25519::Identity {
        &self.identity
    }
}

/// An age X25519 identity a backup is read with: the operator's (from an
/// `age-keygen` file) or one backup snapshot's own (kept only in the shred ledger).
pub struct BackupIdentity(x25519::Identity);

impl std::fmt::Debug for BackupIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackupIdentity([redacted])")
    }
}

impl BackupIdentity {
    /// A fresh random identity.
    pub fn generate() -> Self {
        BackupIdentity(x25519::Identity::generate())
    }

    /// The first `AGE-SECRET-KEY-1…` line of an identity file (comments and blank
    /// lines are skipped, as `age -i` does).
    pub fn from_file_text(text: &str) -> Result<Self, CryptoError> {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
            .and_then(|l| x25519::Identity::from_str(l).ok())
            .map(BackupIdentity)
            .ok_or(CryptoError::InvalidKey)
    }

    /// The public recipient (`age1…`).
    pub fn recipient(&self) -> String {
        self.0.to_public().to_string()
    }

    /// The secret as `AGE-SECRET-KEY-1…` (into the ledger only).
    pub fn to_secret_string(&self) -> SecretString {
        self.0.to_string()
    }

    /// Decrypts a whole (small) age file.
    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        decrypt_with(&self.0, ciphertext)
    }

    /// A streaming reader of an age file's plaintext.
    pub fn decrypt_stream<R: Read>(&self, input: R) -> Result<impl Read, CryptoError> {
        let decryptor = age::Decryptor::new(input).map_err(|_| CryptoError::DecryptionFailed)?;
        decryptor
            .decrypt(std::iter::once(&self.0 as &dyn age::Identity))
            .map_err(|_| CryptoError::DecryptionFailed)
    }
}

/// A streaming age writer to `recipient` (call `finish` on it).
pub fn encrypt_stream<W: Write>(
    recipient: &str,
    out: W,
) -> Result<age::stream::StreamWriter<W>, CryptoError> {
    let r = parse_recipient(recipient)?;
    let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
        .map_err(|_| CryptoError::InvalidKey)?;
    Ok(enc.wrap_output(out)?)
}

/// Parses an `age1…` recipient string.
pub fn parse_recipient(s: &str) -> Result<x25519::Recipient, CryptoError> {
    x25519::Recipient::from_str(s.trim()).map_err(|_| CryptoError::InvalidKey)
}

/// Encrypts a small value (metadata) to a recipient string, as a whole age file.
pub fn seal_to(recipient: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    encrypt_to(&parse_recipient(recipient)?, plaintext)
}

fn encrypt_to(recipient: &dyn age::Recipient, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let encryptor = age::Encryptor::with_recipients(std::iter::once(recipient))
        .map_err(|_| CryptoError::InvalidKey)?;
    let mut out = Vec::with_capacity(plaintext.len() + 256);
    let mut writer = encryptor.wrap_output(&mut out)?;
    writer.write_all(plaintext)?;
    writer.finish()?;
    Ok(out)
}

/// An X25519 identity wrapped under a passphrase (age scrypt, work factor `log_n`).
fn wrap_identity(
    identity: &x25519::Identity,
    passphrase: &SecretString,
    log_n: u8,
) -> Result<Vec<u8>, CryptoError> {
    let mut recipient = age::scrypt::Recipient::new(passphrase.clone());
    recipient.set_work_factor(log_n.clamp(1, 30));
    let secret = identity.to_string();
    encrypt_to(&recipient, secret.expose_secret().as_bytes())
}

/// The identity [`wrap_identity`] wrapped, refusing a file that demands more than
/// `max_log_n` of scrypt work.
fn unwrap_identity(
    wrapped: &[u8],
    passphrase: &SecretString,
    max_log_n: u8,
) -> Result<x25519::Identity, CryptoError> {
    let mut identity = age::scrypt::Identity::new(passphrase.clone());
    identity.set_max_work_factor(max_log_n);
    let plain = decrypt_with(&identity, wrapped)?;
    let s = std::str::from_utf8(&plain).map_err(|_| CryptoError::DecryptionFailed)?;
    x25519::Identity::from_str(s.trim()).map_err(|_| CryptoError::DecryptionFailed)
}

fn encrypt_to_many(
    recipients: &[x25519::Recipient],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|_| CryptoError::InvalidKey)?;
    let mut out = Vec::with_capacity(plaintext.len() + 256 * recipients.len());
    let mut writer = encryptor.wrap_output(&mut out)?;
    writer.write_all(plaintext)?;
    writer.finish()?;
    Ok(out)
}

fn decrypt_with(
    identity: &dyn age::Identity,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let decryptor =
        age::Decryptor::new_buffered(ciphertext).map_err(|_| CryptoError::DecryptionFailed)?;
    let mut reader = decryptor
        .decrypt(std::iter::once(identity))
        .map_err(|_| CryptoError::DecryptionFailed)?;
    let mut out = Zeroizing::new(Vec::new());
    reader
        .read_to_end(&mut out)
        .map_err(|_| CryptoError::DecryptionFailed)?;
    Ok(out)
}

/// Generates an office passphrase: 25 random base32 characters in groups (125 bits),
/// strong enough that an offline guessing attack on a seized database is hopeless.
pub fn generate_passphrase() -> SecretString {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let bytes = random_bytes::<25>();
    let mut s = String::with_capacity(32);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 5 == 0 {
            s.push('-');
        }
        s.push(char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]));
    }
    SecretString::from(s)
}

/// Refuses office passphrases too weak to stand an offline attack on a seized database.
pub fn passphrase_is_strong(p: &SecretString) -> bool {
    let p = p.expose_secret();
    let distinct: std::collections::BTreeSet<char> = p.chars().collect();
    p.chars().count() >= 20 && distinct.len() >= 8
}

/// SHA-256 of `data` (ring).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Opens a document as a plaintext reader: `header` from the database, `payload`
/// from the blob store, `size` the real (unpadded) length.
pub fn open_document<R: Read>(
    key: &CaseKey,
    header: &[u8],
    payload: R,
    size: u64,
) -> Result<DocumentReader<R>, CryptoError> {
    DocumentReader::new(key, header, payload, size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn office_passphrase_round_trip_and_wrong_passphrase() {
        let key = OfficeKey::generate();
        let pass = SecretString::from("correct horse battery staple xyz".to_string());
        let wrapped = key.wrap_with_passphrase(&pass, 10).unwrap();
        let back = OfficeKey::unwrap_with_passphrase(&wrapped, &pass, 12).unwrap();
        assert_eq!(back.recipient(), key.recipient());
        let wrong = SecretString::from("incorrect horse battery staple".to_string());
        assert!(OfficeKey::unwrap_with_passphrase(&wrapped, &wrong, 12).is_err());
        // A file demanding more work than allowed is refused.
        assert!(OfficeKey::unwrap_with_passphrase(&wrapped, &pass, 9).is_err());
    }

    #[test]
    fn case_key_wraps_to_office_only() {
        let office = OfficeKey::generate();
        let other = OfficeKey::generate();
        let nc = CaseKey::create(&office.recipient()).unwrap();
        let case = office.unwrap_case(&nc.wrapped_identity).unwrap();
        assert!(other.unwrap_case(&nc.wrapped_identity).is_err());
        let ct = seal_to(&nc.recipient, b"client").unwrap();
        assert_eq!(&case.open(&ct).unwrap()[..], b"client");
    }

    #[test]
    fn debug_is_redacted() {
        let office = OfficeKey::generate();
        assert_eq!(format!("{office:?}"), "OfficeKey([redacted])");
    }

    #[test]
    fn generated_passphrases_are_strong_and_distinct() {
        let a = generate_passphrase();
        let b = generate_passphrase();
        assert!(passphrase_is_strong(&a));
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(!passphrase_is_strong(&SecretString::from(
            "password123".to_string()
        )));
    }
}
