//! The domain: offices, cases, documents, shares, seal and unseal. It knows nothing of
//! HTTP. Every operation takes the acting user and decides first: one policy call,
//! one audit entry, then the work.
//!
//! Invariants: office identities and case keys live only in the keyring below, in
//! types that wipe on drop, and only while the office is unsealed; a case the actor may
//! not see is reported exactly like a missing one ([`VaultError::NotFound`]).
mod account;
mod case;
mod document;
mod error;
mod files;
mod guard;
mod lifecycle;
mod office;
#[cfg(test)]
mod parser_props;

pub use crate::store::write_private_file;
pub use document::blob_place;
use files::load_or_create_auth_key;
pub(crate) use guard::decide::Allowed;
use office::keyring::Unsealed;
pub use office::operator;
pub use office::time_zone::{DEFAULT_TIME_ZONE, known_time_zone};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use crate::auth::{PasswordHasher, Throttle};
use crate::clock::{Clock, rfc3339};
use crate::config::Settings;
use crate::crypto::AuthKey;
use crate::policy::{Policy, Principal, Role};
use crate::store::{BlobStore, Db, UserRow};

pub use account::accounts::{NewUser, UserView, expose};
pub use account::passkeys::{PasskeyChallenge, PasskeyView};
pub use account::sessions::{SessionInfo, StepUp};
pub use account::signin::{LoginInput, LoginOutcome};
pub use account::totp::Enrolment;
pub use case::admin_view::{AdminCaseView, OfficeCases};
pub use case::case_edit::{CasePatch, CaseVersionView, CaseVersions};
pub use case::case_list::{CasePage, CaseSummary, PAGE_BYTES, PAGE_DEFAULT, PAGE_MAX, PageQuery};
pub use case::cases::{CaseInput, CaseMay, CaseMeta, CaseView};
pub use case::casework::{MAX_NOTE_CHARS, NoteInput, NoteList, NoteView};
pub use case::events::{EVENT_KINDS, EventInput, EventList, EventView};
pub use case::export::{ExportSummary, export_case};
pub use case::shares::{ShareInput, ShareOutcome, ShareView};
pub use case::upcoming::{
    UPCOMING_DAYS_DEFAULT, UPCOMING_DAYS_MAX, Upcoming, UpcomingItem, UpcomingQuery,
};
pub use case::upload_links::{LinkInput, LinkMade, LinkView};
pub use document::doc_fix::RenameInput;
pub use document::documents::{DocMay, DocumentPage, DocumentView, OpenDocument, Upload};
pub use document::filename::client_filename;
pub use document::link_upload::{ClientLink, LinkReceipt, receipt_code};
pub use document::live::DocumentStream;
pub use document::upload_stream::UploadMeta;
pub use error::VaultError;
pub use guard::audit_log::{
    AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX, AuditEntryView, AuditPage, AuditQuery,
};
pub use guard::refusals::Refusal;
pub use lifecycle::approvals::{ApprovalList, ApprovalTicket, ApprovalView, Decided};
pub use lifecycle::backup::{BackupReport, BackupRequest};
pub use lifecycle::purge::{MAX_REASON_CHARS, PurgeFault, PurgeReport};
pub use lifecycle::retention::{RetentionItem, RetentionReport};
pub use office::custody::{HolderKeyIssued, HolderView};
pub use office::custody_passkey::HolderPasskeyChallenge;
pub use office::offices::{OfficeCredentials, OfficeMode};
pub use office::recovery::ShareProgress;
pub use office::rotate::Rotation;

/// Who an [`Actor`] is: a user of one of the five roles, or one of the vault's own
/// pseudo-actors. Only `vault::operator` and the vault's background jobs build the
/// latter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Who {
    /// A signed-in user.
    User(Role),
    /// The machine operator (CLI on the data directory, demo set-up): see [`operator`].
    Operator,
    /// The vault itself (idle auto-seal); never decided, only audited.
    System,
    /// Nobody signed in yet (a refused sign-in); only audited (see `refusals.rs`).
    Anonymous,
}

impl Who {
    /// The role column of an audit entry.
    fn audit_name(self) -> &'static str {
        match self {
            Who::User(r) => r.as_str(),
            Who::Operator => "operator",
            Who::System => "system",
            Who::Anonymous => "-",
        }
    }
}

/// The signed-in user acting (`Debug` prints the id and role only). Fields are private: an actor is made from a loaded user
/// row (its role parsed there) or by [`operator::actor`], never assembled by a caller.
#[derive(Clone)]
pub struct Actor {
    id: String,
    username: String,
    who: Who,
    office: Option<String>,
    supervisor: bool,
    second_factor: bool,
    fresh: bool,
    /// Not waiting for confirmation of its power to read (policy rule 16).
    access_confirmed: bool,
    /// The keyed hash of the session this actor acts in (users signed in through a
    /// session), so that a step-up code proved with an action refreshes that session.
    session: Option<Vec<u8>>,
}

impl std::fmt::Debug for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Actor")
            .field("id", &self.id)
            .field("who", &self.who)
            .field("fresh", &self.fresh)
            .finish_non_exhaustive()
    }
}

impl Actor {
    pub(crate) fn from_user(u: &UserRow, fresh: bool) -> Self {
        Actor {
            id: u.id.clone(),
            username: u.username.clone(),
            who: Who::User(u.role),
            office: u.office.clone(),
            supervisor: u.supervisor,
            second_factor: u.totp_confirmed,
            fresh,
            access_confirmed: !u.access_pending,
            session: None,
        }
    }

    /// A pseudo-actor of the vault's own (audited under `id`).
    fn internal(id: &str, who: Who) -> Self {
        Actor {
            id: id.into(),
            username: String::new(),
            who,
            office: None,
            supervisor: false,
            second_factor: false,
            fresh: false,
            access_confirmed: false,
            session: None,
        }
    }

    /// User id (or the pseudo-actor's name).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Username, for greeting the person (never written to the audit log).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The user's role; `None` for the operator and the vault's own jobs.
    pub fn role(&self) -> Option<Role> {
        match self.who {
            Who::User(r) => Some(r),
            _ => None,
        }
    }

    /// Whether the actor is a user of this role.
    pub fn is(&self, role: Role) -> bool {
        self.who == Who::User(role)
    }

    /// The user's office.
    pub fn office(&self) -> Option<&str> {
        self.office.as_deref()
    }

    /// A supervisor of their office.
    pub fn supervisor(&self) -> bool {
        self.supervisor
    }

    /// A caseworker account waiting for a supervisor (or the office passphrase) to
    /// confirm it: it may sign in but reads no client file yet (policy rule 16).
    pub fn waiting(&self) -> bool {
        self.is(Role::Caseworker) && !self.access_confirmed
    }

    /// A second factor was proved within the step-up window.
    pub fn fresh(&self) -> bool {
        self.fresh
    }

    fn principal(&self, role: Role) -> Principal {
        Principal {
            id: self.id.clone(),
            role,
            office: self.office.clone().unwrap_or_default(),
            supervisor: self.supervisor,
            second_factor: self.second_factor,
            access_confirmed: self.access_confirmed,
        }
    }
}

/// Whether the client of a long operation has gone (see [`Vault::run_cancellable`]).
#[derive(Clone, Default)]
pub(crate) struct Cancel(Arc<std::sync::atomic::AtomicBool>);

impl Cancel {
    /// The caller stopped waiting: stop working.
    pub(crate) fn gone(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Options for opening a vault.
#[derive(Clone)]
pub struct VaultOptions {
    /// The data directory.
    pub data_dir: PathBuf,
    /// Settings.
    pub settings: Settings,
    /// Clock.
    pub clock: Clock,
    /// Where the auth key file is (default `DATA/auth.key`).
    pub auth_key_file: Option<PathBuf>,
}

/// The vault.
pub struct Vault {
    db: Db,
    blobs: BlobStore,
    policy: Policy,
    settings: Settings,
    clock: Clock,
    auth_key: AuthKey,
    hasher: PasswordHasher,
    throttle: Throttle,
    /// The hourly request budget of each client address on the client upload pages.
    link_rate: crate::auth::RateLimit,
    refusals: guard::refusals::Refusals,
    audit_group: guard::audit_group::AuditGroup,
    trash: Arc<lifecycle::trash::Trash>,
    keyring: RwLock<HashMap<String, Arc<Unsealed>>>,
    unseal_lock: Mutex<()>,
    /// Raised (under the keyring's write lock) by every seal: an unseal or a rotation
    /// that began before a seal does not put keys back after it.
    seal_epoch: std::sync::atomic::AtomicU64,
    /// One change of recovery shares at a time.
    custody_lock: Mutex<()>,
    /// Unseals by recovery shares under way, per office (memory only).
    shares: Mutex<HashMap<String, office::recovery::Collecting>>,
    data_dir: PathBuf,
    /// The shred epoch every backup target's ledger was last rewritten at (-1: not
    /// yet in this process).
    shred_epoch: std::sync::atomic::AtomicI64,
    /// Bytes of decrypted metadata the offices' caches hold together.
    plain_bytes: office::plain_cache::ByteBudget,
    /// The passkey relying party and its waiting challenges.
    passkeys: crate::auth::Passkeys,
    /// Reads of long texts (notes, events, versions) at work at once: a flood of them
    /// queues here, without using a core, while other people's requests go ahead.
    heavy_reads: tokio::sync::Semaphore,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Opens (creating) the vault in `opts.data_dir`, with the given policy. Every
    /// office starts sealed.
    pub fn open(opts: VaultOptions, policy: Policy) -> Result<Vault, VaultError> {
        let dir = &opts.data_dir;
        std::fs::create_dir_all(dir)
            .map_err(|e| VaultError::Internal(format!("creating {}: {e}", dir.display())))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        if dir.join(crate::store::RESTORE_MARKER).exists() {
            return Err(VaultError::Internal(format!(
                "{} holds an interrupted restore: delete the directory and run `casevault restore` again",
                dir.display()
            )));
        }
        let db = Db::open(dir)?;
        // Finishes what a purge interrupted between commit and checkpoint: no deleted
        // page may linger in -wal. Another process using the database can keep it
        // from completing; that process checkpoints after its own purges.
        if let Err(e) = db.checkpoint_truncate() {
            tracing::warn!(error = %e, "WAL checkpoint at start incomplete");
        }
        let vault_id = db.read(|tx| tx.vault_id())?;
        let blobs = document::blob_place::open(dir, &opts.settings.blobs, &vault_id)?;
        let auth_key = load_or_create_auth_key(
            &opts
                .auth_key_file
                .clone()
                .unwrap_or_else(|| dir.join("auth.key")),
        )?;
        Ok(Vault {
            db,
            blobs,
            policy,
            throttle: Throttle::new(opts.settings.login.clone()),
            link_rate: crate::auth::RateLimit::new(
                opts.settings.upload_links.requests_per_address_per_hour,
            ),
            refusals: guard::refusals::Refusals::default(),
            audit_group: guard::audit_group::AuditGroup::default(),
            trash: Arc::default(),
            settings: opts.settings,
            clock: opts.clock,
            auth_key,
            hasher: PasswordHasher::new(2),
            keyring: RwLock::new(HashMap::new()),
            unseal_lock: Mutex::new(()),
            shares: Mutex::new(HashMap::new()),
            seal_epoch: std::sync::atomic::AtomicU64::new(0),
            custody_lock: Mutex::new(()),
            data_dir: opts.data_dir,
            shred_epoch: std::sync::atomic::AtomicI64::new(-1),
            plain_bytes: Arc::default(),
            passkeys: crate::auth::Passkeys::default(),
            heavy_reads: tokio::sync::Semaphore::new(HEAVY_READS),
        })
    }

    /// Removes temporary files left by a crash and blobs no document row names
    /// (an interrupted upload, a purge whose unlink did not finish). For the data
    /// directory, run when the server starts, before it accepts requests (never while
    /// another process may be uploading into the same directory); the object store
    /// leaves alone what is younger than its grace period, so it is swept any time.
    pub fn sweep_orphan_blobs(&self) -> Result<usize, VaultError> {
        // The names are read before the listing: a row written after this read
        // names an object younger than the grace period, which the sweep keeps.
        let referenced: std::collections::HashSet<String> =
            self.db.read(|tx| tx.blob_names())?.into_iter().collect();
        // A candidate is asked about again, live: a row written since the read counts.
        let swept = self
            .blobs
            .sweep(|b| {
                referenced.contains(b.as_str())
                    || self
                        .db
                        .read(|tx| tx.blob_in_use(b.as_str()))
                        .unwrap_or(true)
            })
            .map_err(|e| VaultError::blob("sweeping the blob store", e))?;
        if swept > 0 {
            tracing::info!(
                files = swept,
                store = %self.blobs.describe(),
                "removed leftover temporary and orphan blob files"
            );
        }
        Ok(swept)
    }

    /// The object store's grace period, or `None` for the data directory (swept only
    /// at start).
    pub fn blob_sweep_grace(&self) -> Option<std::time::Duration> {
        match &self.blobs {
            BlobStore::S3(s) if self.blobs.sweeps_while_serving() => Some(s.grace()),
            _ => None,
        }
    }

    /// One cheap request to the blob store: `Ok` when it answers.
    pub fn blob_probe(&self) -> Result<(), String> {
        match &self.blobs {
            BlobStore::S3(s) => s.probe().map_err(|e| e.to_string()),
            BlobStore::Local(_) => Ok(()),
        }
    }

    /// Where the blobs are (`s3://BUCKET/PREFIX` or the directory).
    pub fn blob_store_name(&self) -> String {
        self.blobs.describe()
    }

    /// Number of argon2 password verifications run so far (see
    /// [`PasswordHasher::verifications`]).
    pub fn password_verifications(&self) -> u64 {
        self.hasher.verifications()
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The database (CLI audit commands, tests).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Runs blocking work (SQLite, files, crypto) off the async executor: every public
    /// operation is `async` and calls this itself, so a handler makes one call.
    pub(super) async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Vault) -> Result<T, VaultError> + Send + 'static,
    ) -> Result<T, VaultError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || f(&me))
            .await
            .map_err(|e| VaultError::Internal(format!("task failed: {e}")))?
    }

    /// [`Vault::run`] for work that can stop early: `f` gets a [`Cancel`] that turns
    /// true when the caller stops waiting (the client went away and the request's
    /// future was dropped), and should check it between chunks of work.
    pub(super) async fn run_cancellable<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Vault, &Cancel) -> Result<T, VaultError> + Send + 'static,
    ) -> Result<T, VaultError> {
        /// Sets the flag when dropped: on completion (harmless) or when the request's
        /// future is dropped mid-wait.
        struct OnDrop(Cancel);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                self.0.0.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let cancel = Cancel::default();
        let _guard = OnDrop(cancel.clone());
        self.run(move |v| f(v, &cancel)).await
    }

    fn now_str(&self) -> String {
        rfc3339(self.clock.now())
    }
}

/// Reads of long texts that run at once (one per core of the machines casevault is
/// sized for); the rest wait their turn.
const HEAVY_READS: usize = 2;

impl Vault {
    /// Runs a read of long texts (a page of notes, events or versions) when its turn
    /// comes: at most [`HEAVY_READS`] at once, so that one person reading a huge case
    /// many times over cannot take every core from everyone else.
    pub(in crate::vault) async fn run_heavy<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Vault) -> Result<T, VaultError> + Send + 'static,
    ) -> Result<T, VaultError> {
        let _turn = self
            .heavy_reads
            .acquire()
            .await
            .map_err(|_| VaultError::Internal("the read queue is closed".into()))?;
        self.run(f).await
    }
}

/// Parses an id (UUID) from a path; anything else is "not found" (never a 500).
pub fn parse_id(s: &str) -> Option<String> {
    uuid::Uuid::parse_str(s)
        .ok()
        .map(|u| u.hyphenated().to_string())
}

pub(in crate::vault) fn new_id() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}
