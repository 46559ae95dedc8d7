//! Device cookies (OWASP's "device cookie" scheme against online guessing): a browser
//! that has signed in to an account gets a token that lets it be throttled on its own,
//! apart from the account's and the address's counts, which a flood may have locked.
//!
//! A token is `ISSUED.NONCE.TAG`: the issue time, 128 random bits, and an HMAC-SHA256
//! (a subkey of the server auth key) over both and over what the account is now — its
//! id, password hash and sealed authenticator seed. So it cannot be forged or moved to
//! another account, it expires, and a new password or authenticator revokes every
//! device of the account at once. Nothing about a token is stored: the server keeps
//! only throttle counts keyed by a hash of the nonce, in memory.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use crate::crypto::{AuthKey, hex, random_bytes, sha256};

/// How far in the future an issue time may lie (clock adjustments).
const SKEW: i64 = 60;

/// What a device token is bound to: the account and its current credentials.
pub struct DeviceBinding<'a> {
    /// The account's id.
    pub user_id: &'a str,
    /// Its argon2 PHC string (a new password changes it).
    pub password_hash: &'a str,
    /// Its sealed TOTP seed (a new authenticator changes it).
    pub totp_sealed: Option<&'a [u8]>,
}

/// A device recognised by a valid token: the throttle key it is counted under.
pub struct TrustedDevice {
    key: String,
}

impl TrustedDevice {
    /// The throttle (and hashing lane) key: `d:` and a hash of the token's nonce.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl std::fmt::Debug for TrustedDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TrustedDevice([redacted])")
    }
}

fn content(b: &DeviceBinding<'_>, issued: i64, nonce: &[u8]) -> Vec<u8> {
    let mut m = b"casevault device v1\0".to_vec();
    m.extend_from_slice(&(b.user_id.len() as u64).to_be_bytes());
    m.extend_from_slice(b.user_id.as_bytes());
    m.extend_from_slice(&sha256(b.password_hash.as_bytes()));
    match b.totp_sealed {
        Some(t) => {
            m.push(1);
            m.extend_from_slice(&sha256(t));
        }
        None => m.push(0),
    }
    m.extend_from_slice(&issued.to_be_bytes());
    m.extend_from_slice(nonce);
    m
}

/// A new token for this account, issued at `now` (the cookie's value).
pub fn issue(key: &AuthKey, binding: &DeviceBinding<'_>, now: i64) -> Zeroizing<String> {
    let nonce = random_bytes::<16>();
    let tag = key.device_tag(&content(binding, now, &nonce));
    Zeroizing::new(format!(
        "{now}.{}.{}",
        URL_SAFE_NO_PAD.encode(nonce),
        URL_SAFE_NO_PAD.encode(tag)
    ))
}

/// The device, when `token` is a token of this account as it is now, issued less
/// than `max_age` seconds before `now`; `None` for anything else (malformed, forged,
/// another account's, expired, or made before a password or authenticator reset).
pub fn verify(
    key: &AuthKey,
    token: &str,
    binding: &DeviceBinding<'_>,
    now: i64,
    max_age: i64,
) -> Option<TrustedDevice> {
    let mut parts = token.split('.');
    let (issued, nonce, tag) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || issued.len() > 12 || !issued.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let issued: i64 = issued.parse().ok()?;
    if issued > now + SKEW || now - issued >= max_age {
        return None;
    }
    let nonce = URL_SAFE_NO_PAD
        .decode(nonce)
        .ok()
        .filter(|n| n.len() == 16)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok().filter(|t| t.len() == 32)?;
    key.device_tag_ok(&content(binding, issued, &nonce), &tag)
        .then(|| TrustedDevice {
            key: format!("d:{}", hex(&sha256(&nonce)[..8])),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn alice() -> DeviceBinding<'static> {
        DeviceBinding {
            user_id: "u-alice",
            password_hash: "$argon2id$alice",
            totp_sealed: Some(b"sealed seed"),
        }
    }

    #[test]
    fn a_token_works_for_its_account_only_until_it_expires() {
        let k = AuthKey::generate();
        let t = issue(&k, &alice(), 1000);
        assert!(t.len() <= 128, "fits the cookie reader's limit");
        let d = verify(&k, &t, &alice(), 1000 + 89 * DAY, 90 * DAY).unwrap();
        assert!(d.key().starts_with("d:"));
        // The same device each time; another token is another device.
        let again = verify(&k, &t, &alice(), 1001, 90 * DAY).unwrap();
        assert_eq!(d.key(), again.key());
        let other = issue(&k, &alice(), 1000);
        assert_ne!(
            verify(&k, &other, &alice(), 1000, 90 * DAY).unwrap().key(),
            d.key()
        );
        // Expired, or issued in the future.
        assert!(verify(&k, &t, &alice(), 1000 + 90 * DAY, 90 * DAY).is_none());
        assert!(verify(&k, &t, &alice(), 1000 - SKEW - 1, 90 * DAY).is_none());
    }

    #[test]
    fn forged_moved_or_revoked_tokens_are_refused() {
        let k = AuthKey::generate();
        let t = issue(&k, &alice(), 1000);
        let ok = |s: &str, b: &DeviceBinding<'_>| verify(&k, s, b, 1000, 90 * DAY).is_some();
        assert!(ok(&t, &alice()));
        // Another account, a new password, a new authenticator.
        let bob = DeviceBinding {
            user_id: "u-bob",
            ..alice()
        };
        let new_pw = DeviceBinding {
            password_hash: "$argon2id$new",
            ..alice()
        };
        let new_totp = DeviceBinding {
            totp_sealed: None,
            ..alice()
        };
        for b in [&bob, &new_pw, &new_totp] {
            assert!(!ok(&t, b));
        }
        // Another server's key.
        assert!(verify(&AuthKey::generate(), &t, &alice(), 1000, 90 * DAY).is_none());
        // Tampering with any part: an older issue time, a new nonce, a flipped tag.
        let parts: Vec<&str> = t.split('.').collect();
        let nonce = URL_SAFE_NO_PAD.encode([7u8; 16]);
        let mut tag = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        tag[0] ^= 1;
        let tag = URL_SAFE_NO_PAD.encode(tag);
        for forged in [
            format!("999.{}.{}", parts[1], parts[2]),
            format!("{}.{nonce}.{}", parts[0], parts[2]),
            format!("{}.{}.{tag}", parts[0], parts[1]),
            format!("{}.x", t.as_str()),
            "1000..".to_string(),
            "-5.a.b".to_string(),
            String::new(),
            "garbage".to_string(),
        ] {
            assert!(!ok(&forged, &alice()), "{forged}");
        }
    }
}
