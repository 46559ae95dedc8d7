//! Authentication: argon2id passwords, TOTP second factor, sessions, throttling, device
//! cookies and the fair share of the argon2 slots.
//!
//! Invariants: unknown users cost the same as known ones (a dummy hash is verified);
//! wrong user, wrong password and wrong code answer identically; a TOTP time step is
//! accepted at most once per user; only keyed hashes of session tokens and recovery
//! codes are stored; TOTP seeds rest sealed under the server auth key.
mod device;
pub mod passkey;
mod password;
mod rate;
mod slots;
mod throttle;
mod totp;

pub use device::{DeviceBinding, TrustedDevice, issue as issue_device, verify as verify_device};
pub use passkey::{Ceremony, PasskeyError, Passkeys};
pub use password::{HashError, PasswordHasher, PasswordPolicyError, check_new_password};
pub use rate::RateLimit;
pub use slots::Busy;
pub use throttle::{ADDRESS_FACTOR, Attempt, Throttle, ThrottleVerdict};
pub use totp::{
    TotpSecret, current_step, generate_recovery_codes, normalise_recovery_code, verify_code,
};

/// A validated username: 3–64 characters of `a-z 0-9 . _ -`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Validates (and lower-cases) a username.
    pub fn parse(s: &str) -> Option<Self> {
        // Checked before trimming: `trim` would quietly drop a line separator.
        if crate::text::has_invisible_format(s) {
            return None;
        }
        let s = s.trim().to_ascii_lowercase();
        let ok = (3..=64).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
            });
        ok.then_some(Username(s))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(Username::parse("Alice").unwrap().as_str(), "alice");
        for bad in [
            "",
            "ab",
            "1abc",
            "al ice",
            "al/ice",
            "alice\u{0}",
            "alice\u{2028}",
            "\u{202E}alice",
            "alice\u{200B}",
            &"a".repeat(65),
        ] {
            assert!(Username::parse(bad).is_none(), "{bad:?}");
        }
    }
}
