//! argon2id password hashing with OWASP parameters, off the async executor, with a
//! bounded number of hashes at once so a login flood cannot exhaust memory.
use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

/// Why a new password was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordPolicyError {
    /// Fewer than 12 characters.
    #[error("a password needs at least 12 characters")]
    TooShort,
    /// Longer than 1024 bytes.
    #[error("a password may have at most 1024 characters")]
    TooLong,
    /// On the list of common passwords.
    #[error("that password is too common; choose another")]
    Common,
}

const COMMON: &str = include_str!("common_passwords.txt");

/// Checks a new password against length rules and the bundled list of common ones.
pub fn check_new_password(p: &str) -> Result<(), PasswordPolicyError> {
    if p.chars().count() < 12 {
        return Err(PasswordPolicyError::TooShort);
    }
    if p.len() > 1024 {
        return Err(PasswordPolicyError::TooLong);
    }
    let lower = p.to_lowercase();
    if COMMON.lines().any(|c| c == lower) {
        return Err(PasswordPolicyError::Common);
    }
    Ok(())
}

/// Hashes and verifies passwords.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    verifications: Arc<std::sync::atomic::AtomicU64>,
    dummy: Arc<String>,
    params: Params,
}

impl PasswordHasher {
    /// OWASP's argon2id recommendation: m = 19 MiB, t = 2, p = 1; at most
    /// `concurrent` hashes at once (each holds 19 MiB).
    pub fn new(concurrent: usize) -> Self {
        let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
        let mut h = PasswordHasher {
            permits: Arc::new(Semaphore::new(concurrent.max(1))),
            verifications: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            dummy: Arc::new(String::new()),
            params,
        };
        h.dummy = Arc::new(
            h.hash_blocking("dummy password for unknown users")
                .unwrap_or_default(),
        );
        h
    }

    fn argon(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hashes synchronously (CLI and set-up paths).
    pub fn hash_blocking(&self, password: &str) -> Result<String, String> {
        use argon2::PasswordHasher as _;
        let salt_bytes = crate::crypto::random_bytes::<16>();
        let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| e.to_string())?;
        self.argon()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    }

    /// Hashes off the executor, waiting for a permit.
    pub async fn hash(&self, password: Zeroizing<String>) -> Result<String, String> {
        let _permit = self.permits.acquire().await.map_err(|e| e.to_string())?;
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.hash_blocking(&password))
            .await
            .map_err(|e| e.to_string())?
    }

    /// Verifies off the executor. `stored` = `None` for an unknown user: a dummy hash
    /// is verified so that both paths take the same time; the answer is then false.
    pub async fn verify(&self, password: Zeroizing<String>, stored: Option<String>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.verify_blocking(&password, stored.as_deref()))
            .await
            .unwrap_or(false)
    }

    /// How many argon2 verifications have run (real or dummy): lets tests prove that
    /// an unknown user costs a full hash, without timing anything.
    pub fn verifications(&self) -> u64 {
        self.verifications
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Verifies synchronously.
    pub fn verify_blocking(&self, password: &str, stored: Option<&str>) -> bool {
        let known = stored.is_some();
        let phc = stored.unwrap_or(self.dummy.as_str());
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        let ok = self
            .argon()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        self.verifications
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ok && known
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = PasswordHasher::new(1);
        let phc = h.hash_blocking("a long enough passphrase").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(h.verify_blocking("a long enough passphrase", Some(&phc)));
        assert!(!h.verify_blocking("a long enough passphrasE", Some(&phc)));
        // The dummy is a real argon2id hash (so an unknown user costs a real
        // verification), and its own password does not let an unknown user in.
        assert!(h.dummy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let before = h.verifications();
        assert!(!h.verify_blocking("dummy password for unknown users", None));
        assert_eq!(h.verifications(), before + 1);
    }

    #[test]
    fn new_password_rules() {
        assert_eq!(
            check_new_password("short"),
            Err(PasswordPolicyError::TooShort)
        );
        assert_eq!(
            check_new_password("Password1234"),
            Err(PasswordPolicyError::Common)
        );
        assert!(check_new_password("violet-ferry-7-lantern").is_ok());
    }
}
