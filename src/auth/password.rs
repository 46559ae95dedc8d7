//! argon2id password hashing with OWASP parameters, off the async executor, with a
//! bounded number of hashes at once so a login flood cannot exhaust memory, shared
//! fairly between lanes (client addresses, trusted devices; see `slots.rs`) so a flood
//! cannot starve anyone else's sign-in either. A slot is held by the blocking task that
//! hashes, so a caller that goes away does not free it while the hash still runs.
//!
//! The 19 MiB of argon2 working memory per hash comes from a small pool of buffers
//! that are allocated once, wiped after every use and reused: allocating and freeing
//! them per sign-in made the system allocator keep them resident anyway, in as many
//! arenas as there were threads (measured: 150 MiB idle RSS after a handful of
//! sign-ins). With the pool, memory is bounded by `concurrent` × 19 MiB.
use std::sync::{Arc, Mutex};

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use zeroize::Zeroizing;

use super::slots::{Busy, FairSlots};

/// Attempts one lane (an address, a device) may have waiting for a slot.
const PER_LANE: usize = 4;
/// Attempts all lanes together may have waiting.
const MAX_WAITING: usize = 64;

/// Why a new hash was not made.
#[derive(Debug)]
pub enum HashError {
    /// No slot for this lane now (the caller may retry shortly).
    Busy,
    /// The hash itself failed.
    Failed(String),
}

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
    slots: FairSlots,
    pool: Arc<Mutex<Vec<Vec<Block>>>>,
    pool_max: usize,
    verifications: Arc<std::sync::atomic::AtomicU64>,
    dummy: Arc<String>,
    params: Params,
}

impl PasswordHasher {
    /// OWASP's argon2id recommendation: m = 19 MiB, t = 2, p = 1; at most
    /// `concurrent` hashes at once (each holds 19 MiB), at most one per lane.
    pub fn new(concurrent: usize) -> Self {
        let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
        let mut h = PasswordHasher {
            slots: FairSlots::new(concurrent.max(1), PER_LANE, MAX_WAITING),
            pool: Arc::new(Mutex::new(Vec::new())),
            pool_max: concurrent.max(1),
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

    /// Runs `f` with argon2 working memory for `params`: a pooled buffer when the
    /// size is ours (wiped afterwards), a temporary one otherwise.
    fn with_memory<T>(&self, params: &Params, f: impl FnOnce(&mut [Block]) -> T) -> T {
        let n = params.block_count();
        let ours = n == self.params.block_count();
        let pooled = if ours {
            self.pool.lock().unwrap_or_else(|p| p.into_inner()).pop()
        } else {
            None
        };
        let mut buf = pooled.unwrap_or_else(|| vec![Block::default(); n]);
        let out = f(&mut buf);
        // The blocks are derived from the password: wipe them before reuse or free.
        buf.iter_mut().for_each(|b| *b = Block::default());
        if ours {
            let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < self.pool_max {
                pool.push(buf);
            }
        }
        out
    }

    /// Hashes synchronously (CLI and set-up paths): a PHC string
    /// `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`.
    pub fn hash_blocking(&self, password: &str) -> Result<String, String> {
        let salt_bytes = crate::crypto::random_bytes::<16>();
        let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| e.to_string())?;
        let mut out = Zeroizing::new([0u8; 32]);
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        self.with_memory(&self.params, |blocks| {
            argon.hash_password_into_with_memory(
                password.as_bytes(),
                &salt_bytes,
                &mut out[..],
                blocks,
            )
        })
        .map_err(|e| e.to_string())?;
        let output = Output::new(&out[..]).map_err(|e| e.to_string())?;
        Ok(format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            self.params.m_cost(),
            self.params.t_cost(),
            self.params.p_cost(),
            salt.as_str(),
            output
        ))
    }

    /// Hashes off the executor, after waiting for `lane`'s turn at a slot.
    pub async fn hash(&self, lane: &str, password: Zeroizing<String>) -> Result<String, HashError> {
        let slot = self
            .slots
            .acquire(lane)
            .await
            .map_err(|Busy| HashError::Busy)?;
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            me.hash_blocking(&password)
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))?
        .map_err(HashError::Failed)
    }

    /// Verifies off the executor, after waiting for `lane`'s turn at a slot; `Busy`
    /// (nothing hashed) when the lane's queue or every queue is full. `stored` =
    /// `None` for an unknown user: a dummy hash is verified so that both paths take
    /// the same time; the answer is then false.
    pub async fn verify(
        &self,
        lane: &str,
        password: Zeroizing<String>,
        stored: Option<String>,
    ) -> Result<bool, Busy> {
        let slot = self.slots.acquire(lane).await?;
        let me = self.clone();
        Ok(tokio::task::spawn_blocking(move || {
            let _slot = slot;
            me.verify_blocking(&password, stored.as_deref())
        })
        .await
        .unwrap_or(false))
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
        let ok = self.verify_phc(password, phc).unwrap_or(false);
        self.verifications
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ok && known
    }

    fn verify_phc(&self, password: &str, phc: &str) -> Option<bool> {
        let parsed = PasswordHash::new(phc).ok()?;
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = parsed
            .version
            .map(Version::try_from)
            .transpose()
            .ok()?
            .unwrap_or(Version::V0x13);
        let params = Params::try_from(&parsed).ok()?;
        let expected = parsed.hash?;
        let mut salt_buf = [0u8; 64];
        let salt = parsed.salt?.decode_b64(&mut salt_buf).ok()?;
        let mut out = Zeroizing::new(vec![0u8; expected.len()]);
        let argon = Argon2::new(algorithm, version, params.clone());
        self.with_memory(&params, |blocks| {
            argon.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, blocks)
        })
        .ok()?;
        // Output's equality is constant-time.
        Some(Output::new(&out).ok()? == expected)
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
        // The PHC string is standard: argon2's own verifier accepts it, and ours accepts
        // a hash made by argon2's own hasher (no private format).
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let parsed = PasswordHash::new(&phc).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"a long enough passphrase", &parsed)
                .is_ok()
        );
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = Argon2::default()
            .hash_password(b"another passphrase", &salt)
            .unwrap()
            .to_string();
        assert!(h.verify_blocking("another passphrase", Some(&theirs)));
        assert!(!h.verify_blocking("another passphrasE", Some(&theirs)));
        assert!(!h.verify_blocking("x", Some("not a phc string")));
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
