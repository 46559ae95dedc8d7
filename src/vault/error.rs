//! The domain's errors, each meaning one thing to a client. The API's status and code
//! come from one function (`edge::status::of`) and the pages' words from one
//! (`web::error::words`); neither matches on a message.
//!
//! Invariant: a message is fixed text and never carries a value the client sent; a
//! storage or crypto fault becomes [`VaultError::Internal`], never "not found".
use crate::crypto::CryptoError;
use crate::store::StoreError;

/// Errors of the domain, each meaning one thing to a client. The API's status and
/// code come from one function (`status::of`), the pages' words from one
/// (`web::error`); neither ever matches on a message. Messages are fixed text and
/// never carry a value the client sent.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Missing, or not visible to the actor (the two are indistinguishable).
    #[error("not found")]
    NotFound,
    /// The actor may not do this (for things whose existence is not secret).
    #[error("not allowed")]
    Forbidden,
    /// Signed in, but the action needs a fresh second factor.
    #[error("this action needs a fresh authentication code")]
    StepUpRequired,
    /// A second-factor code (step-up or enrolment) was wrong or already used.
    #[error("that code is not valid (or was already used); codes change every 30 seconds")]
    InvalidCode,
    /// The passphrase (or identity) does not open the office.
    #[error("that passphrase (or identity) does not open this office")]
    WrongPassphrase,
    /// A legal hold covers what was to be destroyed.
    #[error("a legal hold covers this: it cannot be purged or renamed until the hold is lifted")]
    LegalHold,
    /// The office's keys are not in memory.
    #[error("office {0} is sealed")]
    OfficeSealed(String),
    /// The request was malformed or invalid.
    #[error("{message}")]
    BadInput {
        /// Machine-readable snake_case code.
        code: &'static str,
        /// What is wrong, in words (never a value the client sent).
        message: String,
    },
    /// A conflict with the current state.
    #[error("{message}")]
    Conflict {
        /// Machine-readable snake_case code.
        code: &'static str,
        /// What conflicts, in words.
        message: String,
    },
    /// Not signed in, or the session ended.
    #[error("not signed in")]
    Unauthenticated,
    /// Sign-in failed (whatever the reason).
    #[error("wrong username, password or code")]
    InvalidCredentials,
    /// Password was right; a code is needed.
    #[error("an authentication code is needed")]
    TotpRequired,
    /// The account's role signs in with a passkey (`[second_factor]`), and the
    /// account has one: a password and a code are not enough.
    #[error("this account signs in with its passkey")]
    PasskeyRequired,
    /// Too many failures; retry later.
    #[error("too many attempts; try again in {0} seconds")]
    Throttled(i64),
    /// Too many requests of one kind are waiting (passkey ceremonies); retry later.
    #[error("the server is busy; try again in {0} seconds")]
    Busy(i64),
    /// Too many failed sign-ins from the client's address (ten times an account's
    /// limit: a flood), whichever account is tried; retry later.
    #[error("too many failed sign-ins from this network; try again in {0} seconds")]
    NetworkThrottled(i64),
    /// The upload exceeded the limit.
    #[error("the document is larger than the limit of {0} bytes")]
    TooLarge(u64),
    /// The blob store cannot be reached right now (detail logged, never sent).
    #[error(
        "the document store cannot be reached right now; nothing was stored or changed. Try again in a minute"
    )]
    StoreUnavailable(String),
    /// A fault on our side (detail logged, never sent).
    #[error("internal error")]
    Internal(String),
}

impl VaultError {
    /// A 400 with a code and fixed words.
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        VaultError::BadInput {
            code,
            message: message.into(),
        }
    }

    /// A 409 with a code and fixed words.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        VaultError::Conflict {
            code,
            message: message.into(),
        }
    }
}

impl VaultError {
    /// The words for the operator at a terminal: an internal fault's detail too
    /// (never sent to a client; it names files and stores, never client data).
    pub fn for_operator(&self) -> String {
        match self {
            VaultError::Internal(d) | VaultError::StoreUnavailable(d) => d.clone(),
            other => other.to_string(),
        }
    }

    /// A blob store failure: unavailable (503) when the store said so, else internal.
    pub fn blob(what: &str, e: std::io::Error) -> Self {
        if crate::store::is_unavailable(&e) {
            VaultError::StoreUnavailable(format!("{what}: {e}"))
        } else {
            VaultError::Internal(format!("{what}: {e}"))
        }
    }
}

impl From<StoreError> for VaultError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => VaultError::conflict("exists", "that already exists"),
            other => VaultError::Internal(other.to_string()),
        }
    }
}

impl From<CryptoError> for VaultError {
    fn from(e: CryptoError) -> Self {
        VaultError::Internal(format!("crypto: {e}"))
    }
}

/// A vault failure during a backup run is the run's failure (`backup/` knows nothing
/// of the vault, so the conversion lives here).
impl From<VaultError> for crate::backup::BackupError {
    fn from(e: VaultError) -> Self {
        crate::backup::BackupError::Failed(e.to_string())
    }
}
