//! The server auth key: secrets that are not client data but must rest somewhere
//! (TOTP seeds, the session-token pepper) are sealed with it, so a copied database
//! alone yields none of them. The key lives in its own file (mode 0600).
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use ring::{hkdf, hmac};
use zeroize::Zeroizing;

use super::CryptoError;

/// Random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // SystemRandom only fails if the OS has no entropy source at all. Then no key or
    // token this program makes would be safe, so stop rather than return weak bytes.
    if SystemRandom::new().fill(&mut out).is_err() {
        eprintln!("casevault: the operating system's random number generator failed");
        std::process::abort();
    }
    out
}

/// Fills `dst` from the operating system's random source (as [`random_bytes`]).
pub(crate) fn fill_random(dst: &mut [u8]) {
    if SystemRandom::new().fill(dst).is_err() {
        eprintln!("casevault: the operating system's random number generator failed");
        std::process::abort();
    }
}

/// A 256-bit random token, URL-safe base64 (sessions, CSRF).
pub fn random_token() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// The server auth key.
pub struct AuthKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthKey([redacted])")
    }
}

impl AuthKey {
    /// A new random key.
    pub fn generate() -> Self {
        AuthKey(Zeroizing::new(random_bytes::<32>()))
    }

    /// From the 32 bytes of the key file.
    pub fn from_bytes(b: &[u8]) -> Result<Self, CryptoError> {
        let arr: [u8; 32] = b.try_into().map_err(|_| CryptoError::InvalidKey)?;
        Ok(AuthKey(Zeroizing::new(arr)))
    }

    /// The bytes to write to the key file.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0[..]
    }

    fn subkey(&self, label: &[u8]) -> Zeroizing<[u8; 32]> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"casevault auth key v1").extract(&self.0[..]);
        let mut out = Zeroizing::new([0u8; 32]);
        if let Ok(okm) = prk.expand(&[label], hkdf::HKDF_SHA256) {
            let _ = okm.fill(&mut out[..]);
        }
        out
    }

    /// Seals a small secret (ChaCha20-Poly1305, random nonce), bound to `context`
    /// (e.g. the user id) so a sealed value cannot be moved to another row.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        aead_seal(&self.subkey(b"totp seal"), context, plaintext)
    }

    /// Opens a value sealed with [`AuthKey::seal`].
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        aead_open(&self.subkey(b"totp seal"), context, sealed)
    }

    /// Keyed hash of a bearer token or recovery code (what the database stores).
    pub fn token_hash(&self, token: &[u8]) -> Vec<u8> {
        let k = self.subkey(b"token pepper");
        let key = hmac::Key::new(hmac::HMAC_SHA256, &k[..]);
        hmac::sign(&key, token).as_ref().to_vec()
    }

    /// Keyed hash of a client upload link's token (a subkey of its own: a link token
    /// can never be looked up as a session, nor a session token as a link).
    pub fn link_hash(&self, token: &[u8]) -> Vec<u8> {
        let k = self.subkey(b"upload link");
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &k[..]), token)
            .as_ref()
            .to_vec()
    }

    /// The CSRF token of a link's upload form: an HMAC of the link's token hash under
    /// a subkey of its own (nothing to store; only a page of that link shows it).
    pub fn link_form_token(&self, link_hash: &[u8]) -> Vec<u8> {
        hmac::sign(&self.link_form_key(), link_hash)
            .as_ref()
            .to_vec()
    }

    /// Whether `token` is the form token of the link with this hash (constant time).
    pub fn link_form_token_ok(&self, link_hash: &[u8], token: &[u8]) -> bool {
        hmac::verify(&self.link_form_key(), link_hash, token).is_ok()
    }

    fn link_form_key(&self) -> hmac::Key {
        let k = self.subkey(b"upload link form");
        hmac::Key::new(hmac::HMAC_SHA256, &k[..])
    }

    /// The HMAC-SHA256 tag of a device cookie's content (a subkey of its own, so a
    /// device tag can never pass for a token hash or the other way round).
    pub fn device_tag(&self, content: &[u8]) -> Vec<u8> {
        hmac::sign(&self.device_key(), content).as_ref().to_vec()
    }

    /// Whether `tag` is the device tag of `content` (compared in constant time).
    pub fn device_tag_ok(&self, content: &[u8], tag: &[u8]) -> bool {
        hmac::verify(&self.device_key(), content, tag).is_ok()
    }

    fn device_key(&self) -> hmac::Key {
        let k = self.subkey(b"device cookie");
        hmac::Key::new(hmac::HMAC_SHA256, &k[..])
    }
}

/// ChaCha20-Poly1305 with a random 96-bit nonce: `nonce || ciphertext || tag`, bound to
/// `context` as associated data.
fn aead_seal(key: &[u8; 32], context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let key = aead_key(key)?;
    let nonce_bytes = random_bytes::<12>();
    let mut buf = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce_bytes),
        Aad::from(context),
        &mut buf,
    )
    .map_err(|_| CryptoError::InvalidKey)?;
    let mut out = nonce_bytes.to_vec();
    out.extend_from_slice(&buf);
    Ok(out)
}

/// Opens what [`aead_seal`] sealed with the same key and context.
fn aead_open(
    key: &[u8; 32],
    context: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if sealed.len() < 12 + 16 {
        return Err(CryptoError::DecryptionFailed);
    }
    let key = aead_key(key)?;
    let (nonce, ct) = sealed.split_at(12);
    let nonce =
        Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::DecryptionFailed)?;
    let mut buf = Zeroizing::new(ct.to_vec());
    let plain_len = key
        .open_in_place(nonce, Aad::from(context), &mut buf)
        .map_err(|_| CryptoError::DecryptionFailed)?
        .len();
    buf.truncate(plain_len);
    Ok(buf)
}

fn aead_key(k: &[u8; 32]) -> Result<LessSafeKey, CryptoError> {
    let unbound =
        UnboundKey::new(&aead::CHACHA20_POLY1305, &k[..]).map_err(|_| CryptoError::InvalidKey)?;
    Ok(LessSafeKey::new(unbound))
}

/// A shred key: the random key a backup seals one case's, document's or office's
/// key-bearing values under. Its only copies are the live vault's row and the shred
/// ledgers at the backup targets, so deleting those makes every backup of it noise.
pub struct ShredKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for ShredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShredKey([redacted])")
    }
}

impl ShredKey {
    /// A new random key.
    pub fn generate() -> Self {
        ShredKey(Zeroizing::new(random_bytes::<32>()))
    }

    /// From its 32 bytes.
    pub fn from_bytes(b: &[u8]) -> Result<Self, CryptoError> {
        let arr: [u8; 32] = b.try_into().map_err(|_| CryptoError::InvalidKey)?;
        Ok(ShredKey(Zeroizing::new(arr)))
    }

    /// Its bytes (for the ledger and the auth-key-sealed live copy only).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Seals one stored value, bound to `context` (table, column and row).
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        aead_seal(&self.0, context, plaintext)
    }

    /// Opens a value sealed with [`ShredKey::seal`] under the same context.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        aead_open(&self.0, context, sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_context_binding() {
        let k = AuthKey::generate();
        let s = k.seal(b"user-1", b"JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(&k.open(b"user-1", &s).unwrap()[..], b"JBSWY3DPEHPK3PXP");
        assert!(k.open(b"user-2", &s).is_err());
        assert!(AuthKey::generate().open(b"user-1", &s).is_err());
        let mut t = s.clone();
        let last = t.len() - 1;
        t[last] ^= 1;
        assert!(k.open(b"user-1", &t).is_err());
    }

    #[test]
    fn token_hash_is_keyed() {
        let a = AuthKey::generate();
        let b = AuthKey::generate();
        assert_eq!(a.token_hash(b"t"), a.token_hash(b"t"));
        assert_ne!(a.token_hash(b"t"), b.token_hash(b"t"));
    }

    #[test]
    fn device_tags_are_keyed_and_separate_from_token_hashes() {
        let a = AuthKey::generate();
        let tag = a.device_tag(b"content");
        assert!(a.device_tag_ok(b"content", &tag));
        assert!(!a.device_tag_ok(b"contenT", &tag));
        assert!(!AuthKey::generate().device_tag_ok(b"content", &tag));
        assert!(!a.device_tag_ok(b"content", &tag[..16]));
        assert_ne!(tag, a.token_hash(b"content"));
    }

    #[test]
    fn link_hashes_and_form_tokens_are_keyed_and_separate() {
        let a = AuthKey::generate();
        let h = a.link_hash(b"tok");
        assert_eq!(h, a.link_hash(b"tok"));
        assert_ne!(h, a.token_hash(b"tok"));
        assert_ne!(h, AuthKey::generate().link_hash(b"tok"));
        let f = a.link_form_token(&h);
        assert!(a.link_form_token_ok(&h, &f));
        assert!(!a.link_form_token_ok(&a.link_hash(b"other"), &f));
        assert!(!AuthKey::generate().link_form_token_ok(&h, &f));
        assert!(!a.link_form_token_ok(&h, &f[..16]));
    }
}
