//! Office key custody: a key holder's own X25519 identity, wrapped under their secret,
//! and the office identity as one age file to every holder (age's multiple
//! recipients). Nothing here is new cryptography: it is age's scrypt and X25519
//! recipients put together.
use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};
use age::x25519;

use super::{CaseKey, CryptoError, OfficeKey, decrypt_with, encrypt_to_many, parse_recipient};

/// A key holder's identity. In memory only while it opens the office identity.
pub struct HolderKey {
    identity: x25519::Identity,
}

impl std::fmt::Debug for HolderKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HolderKey([redacted])")
    }
}

impl HolderKey {
    /// A fresh random holder identity.
    pub fn generate() -> Self {
        HolderKey {
            identity: x25519::Identity::generate(),
        }
    }

    /// The public recipient (`age1…`).
    pub fn recipient(&self) -> String {
        self.identity.to_public().to_string()
    }

    /// Wraps this identity under the holder's passphrase (age scrypt).
    pub fn wrap_with_passphrase(
        &self,
        passphrase: &SecretString,
        log_n: u8,
    ) -> Result<Vec<u8>, CryptoError> {
        super::wrap_identity(&self.identity, passphrase, log_n)
    }

    /// Unwraps an identity wrapped with [`HolderKey::wrap_with_passphrase`], refusing
    /// a file that demands more than `max_log_n` of scrypt work.
    pub fn unwrap_with_passphrase(
        wrapped: &[u8],
        passphrase: &SecretString,
        max_log_n: u8,
    ) -> Result<Self, CryptoError> {
        Ok(HolderKey {
            identity: super::unwrap_identity(wrapped, passphrase, max_log_n)?,
        })
    }

    /// The identity as text, to wrap it under a recovery secret.
    pub(super) fn secret_text(&self) -> SecretString {
        self.identity.to_string()
    }

    /// An identity from its text (see [`HolderKey::secret_text`]).
    pub(super) fn from_secret_text(text: &[u8]) -> Result<Self, CryptoError> {
        let s = std::str::from_utf8(text).map_err(|_| CryptoError::DecryptionFailed)?;
        let identity =
            x25519::Identity::from_str(s.trim()).map_err(|_| CryptoError::DecryptionFailed)?;
        Ok(HolderKey { identity })
    }

    /// Wraps this identity under a key derived (HKDF-SHA256) from a passkey's PRF
    /// output, bound to `context`; the PRF output itself is never kept.
    pub fn wrap_with_prf(&self, prf: &[u8], context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        prf_key(prf, context)?.seal(context, self.secret_text().expose_secret().as_bytes())
    }

    /// Opens an identity wrapped with [`HolderKey::wrap_with_prf`].
    pub fn unwrap_with_prf(
        wrapped: &[u8],
        prf: &[u8],
        context: &[u8],
    ) -> Result<Self, CryptoError> {
        let plain = prf_key(prf, context)?.open(context, wrapped)?;
        Self::from_secret_text(&plain)
    }

    /// Opens the office identity file (see [`OfficeKey::seal_to_holders`]).
    pub fn open_office(&self, file: &[u8]) -> Result<OfficeKey, CryptoError> {
        let plain = decrypt_with(&self.identity, file)?;
        let s = std::str::from_utf8(&plain).map_err(|_| CryptoError::DecryptionFailed)?;
        OfficeKey::parse(&SecretString::from(s.trim().to_string()))
            .map_err(|_| CryptoError::DecryptionFailed)
    }
}

/// The salt a holder's passkey evaluates its PRF with: one per office and holder.
pub fn prf_salt(office: &str, holder: &str) -> [u8; 32] {
    let mut msg = Vec::with_capacity(64);
    msg.extend_from_slice(b"casevault holder prf salt v1\0");
    msg.extend_from_slice(office.as_bytes());
    msg.push(0);
    msg.extend_from_slice(holder.as_bytes());
    super::sha256(&msg)
}

fn prf_key(prf: &[u8], context: &[u8]) -> Result<super::ShredKey, CryptoError> {
    struct Len32;
    impl ring::hkdf::KeyType for Len32 {
        fn len(&self) -> usize {
            32
        }
    }
    if prf.len() < 32 {
        return Err(CryptoError::InvalidKey);
    }
    let salt = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"casevault holder prf key v1");
    let prk = salt.extract(prf);
    let info = [context];
    let okm = prk
        .expand(&info, Len32)
        .map_err(|_| CryptoError::InvalidKey)?;
    let mut key = zeroize::Zeroizing::new([0u8; 32]);
    okm.fill(&mut key[..])
        .map_err(|_| CryptoError::InvalidKey)?;
    super::ShredKey::from_bytes(&key[..])
}

impl OfficeKey {
    /// The office identity as one age file that each of `recipients` opens alone.
    pub fn seal_to_holders(&self, recipients: &[String]) -> Result<Vec<u8>, CryptoError> {
        if recipients.is_empty() {
            return Err(CryptoError::InvalidKey);
        }
        let parsed = recipients
            .iter()
            .map(|r| parse_recipient(r))
            .collect::<Result<Vec<_>, _>>()?;
        let secret = self.to_secret_string();
        encrypt_to_many(&parsed, secret.expose_secret().as_bytes())
    }
}

impl OfficeKey {
    /// Opens a small value sealed to the office (an office-wide hold reason), to seal
    /// it again to a rotated office key.
    pub fn open(&self, ciphertext: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>, CryptoError> {
        decrypt_with(&self.identity, ciphertext)
    }
}

impl CaseKey {
    /// This case identity wrapped to an office recipient (a rotation of the office
    /// key re-wraps every case this way; the case key itself does not change).
    pub fn wrap_to(&self, office_recipient: &str) -> Result<Vec<u8>, CryptoError> {
        let office = parse_recipient(office_recipient)?;
        let secret = self.identity.to_string();
        super::encrypt_to(&office, secret.expose_secret().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_holder_opens_the_office_file_alone_and_a_stranger_does_not() {
        let office = OfficeKey::generate();
        let (a, b, c) = (
            HolderKey::generate(),
            HolderKey::generate(),
            HolderKey::generate(),
        );
        let file = office
            .seal_to_holders(&[a.recipient(), b.recipient()])
            .unwrap();
        assert_eq!(
            a.open_office(&file).unwrap().recipient(),
            office.recipient()
        );
        assert_eq!(
            b.open_office(&file).unwrap().recipient(),
            office.recipient()
        );
        assert!(c.open_office(&file).is_err());
        assert!(office.seal_to_holders(&[]).is_err());
    }

    #[test]
    fn a_prf_output_wraps_a_holder_key_and_another_opens_nothing() {
        let h = HolderKey::generate();
        let (prf, other) = ([7u8; 32], [8u8; 32]);
        let w = h.wrap_with_prf(&prf, b"office:holder").unwrap();
        let back = HolderKey::unwrap_with_prf(&w, &prf, b"office:holder").unwrap();
        assert_eq!(back.recipient(), h.recipient());
        assert!(HolderKey::unwrap_with_prf(&w, &other, b"office:holder").is_err());
        assert!(HolderKey::unwrap_with_prf(&w, &prf, b"office:other").is_err());
        assert!(h.wrap_with_prf(&[1u8; 16], b"x").is_err());
        assert_ne!(prf_salt("a", "b"), prf_salt("a", "c"));
    }

    #[test]
    fn a_holder_key_rests_under_its_passphrase() {
        let h = HolderKey::generate();
        let pass = SecretString::from("holder horse battery staple xyz".to_string());
        let wrapped = h.wrap_with_passphrase(&pass, 10).unwrap();
        let back = HolderKey::unwrap_with_passphrase(&wrapped, &pass, 12).unwrap();
        assert_eq!(back.recipient(), h.recipient());
        let wrong = SecretString::from("holder horse battery staple xyz!".to_string());
        assert!(HolderKey::unwrap_with_passphrase(&wrapped, &wrong, 12).is_err());
        assert!(!format!("{h:?}").contains("AGE-SECRET"));
    }
}
