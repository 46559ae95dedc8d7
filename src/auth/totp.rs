//! TOTP (RFC 6238: SHA-1, 6 digits, 30 s — what authenticator apps use) and recovery
//! codes. A code is accepted for the current step ±1; whether its step was already
//! used is decided atomically in the database (see `WriteTx::use_totp_step`).
use totp_rs::{Algorithm, Secret, TOTP};
use zeroize::Zeroizing;

use crate::crypto::random_bytes;

/// Seconds per time step.
pub const STEP: i64 = 30;

/// A TOTP seed (20 random bytes). Wiped on drop; never printed.
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

impl TotpSecret {
    /// A fresh random seed.
    pub fn generate() -> Self {
        TotpSecret(Zeroizing::new(random_bytes::<20>().to_vec()))
    }

    /// From stored bytes.
    pub fn from_bytes(b: &[u8]) -> Self {
        TotpSecret(Zeroizing::new(b.to_vec()))
    }

    /// From RFC 4648 base32 (what people type into `oathtool -b`).
    pub fn from_base32(s: &str) -> Option<Self> {
        let bytes = Secret::Encoded(s.trim().to_uppercase()).to_bytes().ok()?;
        Some(TotpSecret(Zeroizing::new(bytes)))
    }

    /// The raw bytes (to seal for storage).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// RFC 4648 base32 without padding.
    pub fn to_base32(&self) -> Zeroizing<String> {
        match Secret::Raw(self.0.to_vec()).to_encoded() {
            Secret::Encoded(s) => Zeroizing::new(s),
            Secret::Raw(_) => Zeroizing::new(String::new()),
        }
    }

    fn totp(&self, account: &str) -> Option<TOTP> {
        TOTP::new(
            Algorithm::SHA1,
            6,
            1,
            STEP as u64,
            self.0.to_vec(),
            Some("casevault".to_string()),
            account.to_string(),
        )
        .ok()
    }

    /// The `otpauth://` enrolment URI.
    pub fn otpauth_uri(&self, account: &str) -> Zeroizing<String> {
        Zeroizing::new(self.totp(account).map(|t| t.get_url()).unwrap_or_default())
    }

    /// The enrolment URI as an SVG QR code.
    pub fn qr_svg(&self, account: &str) -> Zeroizing<String> {
        let uri = self.otpauth_uri(account);
        match qrcode::QrCode::new(uri.as_bytes()) {
            Ok(code) => Zeroizing::new(
                code.render::<qrcode::render::svg::Color<'_>>()
                    .min_dimensions(200, 200)
                    .build(),
            ),
            Err(_) => Zeroizing::new(String::new()),
        }
    }

    /// The code for a time step (tests and the demo's own checks).
    pub fn code_at(&self, step: i64) -> String {
        self.totp("x")
            .map(|t| t.generate(step.max(0).saturating_mul(STEP) as u64))
            .unwrap_or_default()
    }
}

/// The time step of a Unix time.
pub fn current_step(unix: i64) -> i64 {
    unix.div_euclid(STEP)
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks a 6-digit code against steps now−1, now, now+1, skipping steps at or before
/// `last_used`. Returns the matching step; the caller records it atomically.
pub fn verify_code(
    secret: &TotpSecret,
    code: &str,
    unix: i64,
    last_used: Option<i64>,
) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = current_step(unix);
    let mut found = None;
    // Compare against every candidate (no early exit) so timing does not reveal which.
    for step in [now.saturating_sub(1), now, now.saturating_add(1)] {
        let fresh = last_used.is_none_or(|l| step > l);
        if ct_eq(secret.code_at(step).as_bytes(), code.as_bytes()) && fresh && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// Ten one-time recovery codes (`xxxxx-xxxxx`, 50 bits each), shown once.
pub fn generate_recovery_codes() -> Vec<Zeroizing<String>> {
    (0..10)
        .map(|_| {
            const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
            let b = random_bytes::<10>();
            let mut s = Zeroizing::new(String::with_capacity(11));
            for (i, x) in b.iter().enumerate() {
                if i == 5 {
                    s.push('-');
                }
                s.push(char::from(ALPHABET[usize::from(*x) % 32]));
            }
            s
        })
        .collect()
}

/// Normalises a typed recovery code before hashing.
pub fn normalise_recovery_code(s: &str) -> String {
    s.trim().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1 seed "12345678901234567890"; 6-digit truncations.
        let s = TotpSecret::from_bytes(b"12345678901234567890");
        for (t, code) in [
            (59i64, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(s.code_at(current_step(t)), code, "t={t}");
        }
    }

    #[test]
    fn skew_and_replay_window() {
        let s = TotpSecret::generate();
        let t = 1_700_000_000;
        let now = current_step(t);
        assert_eq!(verify_code(&s, &s.code_at(now), t, None), Some(now));
        assert_eq!(verify_code(&s, &s.code_at(now - 1), t, None), Some(now - 1));
        assert_eq!(verify_code(&s, &s.code_at(now + 1), t, None), Some(now + 1));
        assert_eq!(verify_code(&s, &s.code_at(now - 2), t, None), None);
        // A step at or before the last used one is refused.
        assert_eq!(verify_code(&s, &s.code_at(now), t, Some(now)), None);
        assert_eq!(verify_code(&s, "12345", t, None), None);
        assert_eq!(verify_code(&s, "abcdef", t, None), None);
    }

    #[test]
    fn base32_round_trip() {
        let s = TotpSecret::generate();
        let b = s.to_base32();
        assert_eq!(b.len(), 32);
        assert_eq!(
            TotpSecret::from_base32(&b).unwrap().as_bytes(),
            s.as_bytes()
        );
        assert!(
            s.otpauth_uri("alice")
                .starts_with("otpauth://totp/casevault:alice?")
        );
        assert!(s.qr_svg("alice").contains("<svg"));
    }

    #[test]
    fn recovery_codes_are_distinct() {
        let c = generate_recovery_codes();
        let set: std::collections::BTreeSet<&str> = c.iter().map(|s| s.as_str()).collect();
        assert_eq!(set.len(), 10);
        assert!(c.iter().all(|s| s.len() == 11));
    }
}
